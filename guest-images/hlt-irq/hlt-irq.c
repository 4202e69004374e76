/* HLT woken by the PIT through the 8259A: with IF=1 each HLT returns only after the IRQ0 handler
 * ran; an IRQ0 already pending in the PIC while IF=0 is delivered by "sti; hlt" instead of being
 * lost; the PIT counts down between interrupts. */
#include "cpu.h"
#include "guest.h"
#include "pic.h"
#include "pit.h"
#include "trap.h"

#define TICK_HZ 100
#define HALTS 10
#define POLL_LIMIT 100000000u /* IRR polls before giving up on the PIT: seconds at any speed */

const char guest_name[] = "hlt-irq";

static volatile uint32_t ticks;

static void timer_interrupt(struct trap_frame *frame)
{
	(void)frame;
	ticks++;
	pic_eoi(IRQ_PIT);
}

/* A spurious IRQ needs no EOI. */
static void spurious_interrupt(struct trap_frame *frame) { (void)frame; }

static void check_halts_wake_on_ticks(void)
{
	sti();
	for (int i = 0; i < HALTS; i++) {
		uint32_t before = ticks;
		hlt();
		check(ticks != before, "HLT %d returned before the IRQ0 handler ran", i);
	}
	cli();
	printf("hlt-irq: %d halts woke on %u ticks\n", HALTS, ticks);
}

static void wait_for_pending_irq0(void)
{
	for (uint32_t i = 0; i < POLL_LIMIT; i++)
		if (pic_irr() & (1u << IRQ_PIT))
			return;
	fail("IRQ0 never became pending in the PIC IRR");
}

static void check_pending_interrupt_wakes_hlt(void)
{
	wait_for_pending_irq0();
	/* No further tick may come: on a slow emulator the next one could otherwise fall inside the
	 * handler and look like a second delivery. */
	pit_stop();
	uint32_t before = ticks;
	sti_hlt();
	cli();
	check(ticks == before + 1, "sti; hlt with IRQ0 pending: %u ticks, expected %u", ticks, before + 1);
	printf("hlt-irq: pending IRQ0 woke sti+hlt\n");
}

static void check_pit_counts_down(void)
{
	uint16_t divisor = PIT_FREQUENCY_HZ / TICK_HZ;
	uint16_t first = pit_read_count(), second = first;

	for (int i = 0; i < 1000 && second == first; i++)
		second = pit_read_count();
	check(first <= divisor && second <= divisor, "PIT count %u/%u above divisor %u", first, second,
	      divisor);
	check(second != first, "PIT count stuck at %u", first);
}

void test_main(void)
{
	trap_set_handler(IRQ_VECTOR(IRQ_PIT), timer_interrupt);
	trap_set_handler(IRQ_VECTOR(IRQ_SPURIOUS_MASTER), spurious_interrupt);
	trap_set_handler(IRQ_VECTOR(IRQ_SPURIOUS_SLAVE), spurious_interrupt);
	pic_init();
	pit_start_periodic(TICK_HZ);
	pic_unmask(IRQ_PIT);

	check_pit_counts_down();
	check_halts_wake_on_ticks();
	check_pending_interrupt_wakes_hlt();
	pic_mask_all();
}
