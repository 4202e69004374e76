/* The local APIC timer as an OS drives it (Intel SDM vol. 3 11.5.4): its rate against the TSC (itself
 * calibrated on the PIT), the current count counting down, the divide configuration, one-shot and
 * periodic interrupts at the LVT's vector with ISR set until the EOI, HLT woken by the timer, a
 * masked LVT delivering nothing, initial-count writes restarting and stopping the count, the
 * TSC-deadline mode (CPUID.1:ECX[24]) and the same timer through the x2APIC MSRs
 * (CPUID.1:ECX[21]). Natively QEMU TCG has neither of the last two; under hv both are required. */
#include "cpu.h"
#include "guest.h"
#include "lapic.h"
#include "msr.h"
#include "pic.h"
#include "timing.h"
#include "trap.h"

#define VEC_TIMER 0x40
#define VEC_DEADLINE 0x41
#define VEC_SELF 0x42
#define VEC_SPURIOUS 0xff

const char guest_name[] = "lapic-timer";

static volatile uint32_t ticks, spurious, last_vector;
static volatile uint64_t last_tsc;
static volatile bool isr_in_handler, isr_after_eoi;
static uint64_t apic_per_ms; /* timer counts per ms at divide by 1 */

/* Reading the ISR around the EOI costs two more exits per interrupt under a hypervisor: only the
 * tests that check it ask for it, so that a periodic timer leaves the guest time to run (on an
 * emulator an exit can take milliseconds of guest time). */
static volatile bool probe_isr;

static void timer_interrupt(struct trap_frame *frame)
{
	last_tsc = rdtsc();
	last_vector = frame->vector;
	if (probe_isr)
		isr_in_handler = lapic_vector_bit(LAPIC_ISR0, (uint8_t)frame->vector);
	lapic_eoi();
	if (probe_isr)
		isr_after_eoi = lapic_vector_bit(LAPIC_ISR0, (uint8_t)frame->vector);
	ticks++;
}

static void spurious_interrupt(struct trap_frame *frame)
{
	(void)frame;
	spurious++;
}

/* Timer counts per ms with the given divide configuration, from the current count's descent over
 * 10 ms of TSC time (LVT masked, one-shot from the largest count). */
static uint64_t measure_rate(uint32_t dcr)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TIMER_DCR, dcr);
	check(lapic_read(LAPIC_TIMER_DCR) == dcr, "divide configuration reads %x, wrote %x",
	      lapic_read(LAPIC_TIMER_DCR), dcr);
	lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
	uint32_t c0 = lapic_read(LAPIC_TIMER_CURRENT);
	uint64_t t0 = rdtsc_ordered();
	delay_ms(10);
	uint32_t c1 = lapic_read(LAPIC_TIMER_CURRENT);
	uint64_t t1 = rdtsc_ordered();
	uint32_t c2 = lapic_read(LAPIC_TIMER_CURRENT);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	check(lapic_read(LAPIC_TIMER_INITIAL) == 0, "initial count reads %x after writing 0",
	      lapic_read(LAPIC_TIMER_INITIAL));
	check(c1 < c0 && c2 <= c1, "current count not counting down (dcr %x): %x, %x, %x", dcr, c0, c1, c2);
	check(lapic_read(LAPIC_TIMER_CURRENT) == 0, "current count %x after the initial count was set to 0",
	      lapic_read(LAPIC_TIMER_CURRENT));
	return (uint64_t)(c0 - c1) * tsc_per_ms() / (t1 - t0);
}

static void check_rates(void)
{
	uint64_t r1 = measure_rate(DCR_DIV1), r16 = measure_rate(DCR_DIV16), r128 = measure_rate(DCR_DIV128);
	uint64_t r2 = measure_rate(DCR_DIV2);

	printf("lapic-timer: timer counts %llu/ms at divide 1, %llu at 2, %llu at 16, %llu at 128\n", r1, r2, r16,
	       r128);
	check(r1 >= 1000 && r1 <= 10000000, "timer at divide 1 counts %llu per ms: not a plausible bus clock", r1);
	check(r16 * 8 <= r1 && r1 <= r16 * 32, "divide by 16 gives %llu/ms against %llu/ms at 1", r16, r1);
	check(r128 * 64 <= r1 && r1 <= r128 * 256, "divide by 128 gives %llu/ms against %llu/ms at 1", r128, r1);
	check(r2 * 3 / 2 <= r1 && r1 <= r2 * 3, "divide by 2 gives %llu/ms against %llu/ms at 1", r2, r1);
	apic_per_ms = r1;
}

static uint32_t count_for_ms(uint32_t ms) { return (uint32_t)(apic_per_ms * ms); }

/* Starts a one-shot of ms milliseconds at divide 1; returns the TSC when it was written. */
static uint64_t start_timer(uint32_t lvt, uint32_t ms)
{
	lapic_write(LAPIC_TIMER_DCR, DCR_DIV1);
	lapic_write(LAPIC_LVT_TIMER, lvt);
	uint64_t t = rdtsc_ordered();
	lapic_write(LAPIC_TIMER_INITIAL, count_for_ms(ms));
	return t;
}

static void check_one_shot(void)
{
	uint32_t before = ticks, initial = count_for_ms(20);
	uint64_t start = start_timer(VEC_TIMER | LVT_TIMER_ONESHOT, 20);

	check(lapic_read(LAPIC_TIMER_INITIAL) == initial, "initial count reads %x, wrote %x",
	      lapic_read(LAPIC_TIMER_INITIAL), initial);
	uint32_t c0 = lapic_read(LAPIC_TIMER_CURRENT), c1 = lapic_read(LAPIC_TIMER_CURRENT);
	check(c0 > 0 && c0 <= initial && c1 <= c0, "one-shot current count %x then %x (initial %x)", c0, c1,
	      initial);
	check(wait_count(&ticks, before + 1, 2000), "one-shot timer interrupt never came");
	uint64_t us = tsc_to_us(last_tsc - start);
	check(last_vector == VEC_TIMER, "timer interrupt on vector %x, LVT says %x", last_vector, VEC_TIMER);
	check(isr_in_handler, "ISR bit of vector %x clear in its handler", VEC_TIMER);
	check(!isr_after_eoi, "ISR bit of vector %x still set after EOI", VEC_TIMER);
	check(us >= 10000, "20 ms one-shot fired after %llu us", us);
	check(lapic_read(LAPIC_TIMER_CURRENT) == 0, "current count %x after the one-shot expired",
	      lapic_read(LAPIC_TIMER_CURRENT));
	delay_ms_irq(60);
	check(ticks == before + 1, "one-shot timer fired %u times", ticks - before);
	printf("lapic-timer: one-shot 20 ms fired once after %llu us\n", us);

	/* HLT wakes on it. */
	before = ticks;
	start_timer(VEC_TIMER | LVT_TIMER_ONESHOT, 5);
	sti_hlt();
	cli();
	check(ticks == before + 1, "HLT returned with %u timer interrupts", ticks - before);
}

static void check_restart_and_stop(void)
{
	/* Rewriting the initial count restarts the count from the new value. */
	uint32_t before = ticks;
	uint64_t start = start_timer(VEC_TIMER | LVT_TIMER_ONESHOT, 20);
	delay_ms(10);
	lapic_write(LAPIC_TIMER_INITIAL, count_for_ms(20));
	check(wait_count(&ticks, before + 1, 2000), "restarted one-shot never fired");
	uint64_t us = tsc_to_us(last_tsc - start);
	check(us >= 22000, "one-shot restarted after 10 ms with 20 ms fired %llu us after the first start", us);

	/* Writing 0 stops it. */
	before = ticks;
	start_timer(VEC_TIMER | LVT_TIMER_ONESHOT, 10);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	delay_ms_irq(40);
	check(ticks == before, "a timer stopped by initial count 0 fired");
	check(lapic_read(LAPIC_TIMER_CURRENT) == 0, "stopped timer's current count %x",
	      lapic_read(LAPIC_TIMER_CURRENT));
}

static void check_periodic(void)
{
	uint32_t initial = count_for_ms(20), before = ticks;

	probe_isr = false;
	start_timer(VEC_TIMER | LVT_TIMER_PERIODIC, 20);
	/* The count reloads: over three periods a read exceeds the one before it. */
	uint32_t prev = lapic_read(LAPIC_TIMER_CURRENT), reloads = 0;
	uint64_t end = tsc_after_ms(60);
	sti();
	while (rdtsc() < end) {
		uint32_t cur = lapic_read(LAPIC_TIMER_CURRENT);
		check(cur <= initial, "periodic current count %x above initial %x", cur, initial);
		if (cur > prev)
			reloads++;
		prev = cur;
	}
	cli();
	check(reloads > 0, "periodic current count never reloaded");
	before = ticks;
	delay_ms_irq(400);
	uint32_t n = ticks - before;
	printf("lapic-timer: periodic 20 ms: %u interrupts in 400 ms\n", n);
	check(n >= 8 && n <= 30, "periodic 20 ms timer gave %u interrupts in 400 ms", n);
	check(last_vector == VEC_TIMER, "periodic interrupt on vector %x", last_vector);
	probe_isr = true;

	/* Masked: no more interrupts, but the count goes on. */
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TIMER_PERIODIC | LVT_MASKED);
	check(lapic_read(LAPIC_LVT_TIMER) == (VEC_TIMER | LVT_TIMER_PERIODIC | LVT_MASKED), "LVT timer reads %x",
	      lapic_read(LAPIC_LVT_TIMER));
	/* A period that ended before the mask took effect may still be in IRR: let it in first. */
	delay_ms_irq(5);
	before = ticks;
	uint32_t c0 = lapic_read(LAPIC_TIMER_CURRENT);
	delay_ms_irq(50);
	uint32_t c1 = lapic_read(LAPIC_TIMER_CURRENT);
	check(ticks == before, "masked periodic timer delivered %u interrupts", ticks - before);
	check(c0 != c1, "masked periodic timer stopped counting (%x)", c0);
	check(!lapic_vector_bit(LAPIC_IRR0, VEC_TIMER), "masked timer left vector %x in IRR", VEC_TIMER);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
}

static void check_masked_one_shot(void)
{
	uint32_t before = ticks;

	start_timer(VEC_TIMER | LVT_TIMER_ONESHOT | LVT_MASKED, 2);
	delay_ms_irq(20);
	check(ticks == before, "masked one-shot delivered an interrupt");
	check(lapic_read(LAPIC_TIMER_CURRENT) == 0, "masked one-shot's count %x after it expired",
	      lapic_read(LAPIC_TIMER_CURRENT));
	check(!lapic_vector_bit(LAPIC_IRR0, VEC_TIMER), "masked one-shot left vector %x in IRR", VEC_TIMER);
	/* Unmasking afterwards does not bring the lost interrupt back. */
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TIMER_ONESHOT);
	delay_ms_irq(20);
	check(ticks == before, "unmasking an expired one-shot delivered an interrupt");
}

static void check_tsc_deadline(void)
{
	bool have = cpuid(1, 0).ecx & CPUID_1_ECX_TSC_DEADLINE;

	if (!have) {
		check(!expect_hv(), "no TSC-deadline timer (CPUID.1:ECX[24] clear)");
		printf("lapic-timer: no TSC-deadline timer (CPUID.1:ECX[24] clear), skipped\n");
		return;
	}
	lapic_write(LAPIC_LVT_TIMER, VEC_DEADLINE | LVT_TIMER_TSC_DEADLINE);
	check(lapic_read(LAPIC_LVT_TIMER) == (VEC_DEADLINE | LVT_TIMER_TSC_DEADLINE), "LVT timer reads %x",
	      lapic_read(LAPIC_LVT_TIMER));
	lapic_write(LAPIC_TIMER_INITIAL, 12345678);
	check(lapic_read(LAPIC_TIMER_CURRENT) == 0, "current count %x in TSC-deadline mode",
	      lapic_read(LAPIC_TIMER_CURRENT));

	uint32_t before = ticks;
	uint64_t deadline = tsc_after_ms(10);
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	uint64_t armed = rdmsr(MSR_IA32_TSC_DEADLINE);
	check(armed == deadline, "IA32_TSC_DEADLINE reads %llx, wrote %llx", armed, deadline);
	check(wait_count(&ticks, before + 1, 2000), "TSC-deadline interrupt never came");
	check(last_vector == VEC_DEADLINE && isr_in_handler && !isr_after_eoi, "deadline interrupt vector %x ISR %d/%d",
	      last_vector, isr_in_handler, isr_after_eoi);
	check(last_tsc >= deadline, "TSC-deadline interrupt %llu ticks before the deadline", deadline - last_tsc);
	check(rdmsr(MSR_IA32_TSC_DEADLINE) == 0, "IA32_TSC_DEADLINE reads %llx after firing",
	      rdmsr(MSR_IA32_TSC_DEADLINE));
	printf("lapic-timer: TSC deadline fired %llu us late\n", tsc_to_us(last_tsc - deadline));

	/* A deadline already passed fires at once. */
	before = ticks;
	uint64_t t0 = rdtsc();
	wrmsr(MSR_IA32_TSC_DEADLINE, t0 - 1000);
	check(wait_count(&ticks, before + 1, 50), "a TSC deadline in the past did not fire within 50 ms");
	printf("lapic-timer: TSC deadline in the past fired after %llu us\n", tsc_to_us(last_tsc - t0));

	/* Writing 0 disarms. */
	before = ticks;
	wrmsr(MSR_IA32_TSC_DEADLINE, tsc_after_ms(10));
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	delay_ms_irq(40);
	check(ticks == before, "a disarmed TSC deadline fired");

	/* Leaving TSC-deadline mode disarms too. */
	wrmsr(MSR_IA32_TSC_DEADLINE, tsc_after_ms(10));
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TIMER_ONESHOT);
	delay_ms_irq(40);
	check(ticks == before, "a TSC deadline armed before leaving deadline mode fired");
	check(rdmsr(MSR_IA32_TSC_DEADLINE) == 0, "IA32_TSC_DEADLINE reads %llx outside deadline mode",
	      rdmsr(MSR_IA32_TSC_DEADLINE));
	printf("lapic-timer: TSC-deadline mode works\n");
}

static void check_x2apic(uint32_t xapic_id, uint32_t version)
{
	bool have = cpuid(1, 0).ecx & CPUID_1_ECX_X2APIC;

	if (!have) {
		check(!expect_hv(), "no x2APIC (CPUID.1:ECX[21] clear)");
		printf("lapic-timer: no x2APIC (CPUID.1:ECX[21] clear), skipped\n");
		return;
	}
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	lapic_enter_x2apic();
	check(rdmsr(MSR_IA32_APIC_BASE) == (base | APIC_BASE_EXTD), "IA32_APIC_BASE %llx after setting EXTD",
	      rdmsr(MSR_IA32_APIC_BASE));
	uint32_t id = lapic_read(LAPIC_ID);
	check(id == xapic_id, "x2APIC ID %x, xAPIC ID was %x", id, xapic_id);
	check(lapic_read(LAPIC_VERSION) == version, "x2APIC version %x, xAPIC version %x", lapic_read(LAPIC_VERSION),
	      version);
	uint32_t ldr = ((id >> 4) << 16) | (1u << (id & 15));
	check(lapic_read(LAPIC_LDR) == ldr, "x2APIC LDR %x, expected %x", lapic_read(LAPIC_LDR), ldr);
	check(lapic_read(LAPIC_SVR) & LAPIC_SVR_ENABLE, "SVR %x lost its enable bit in x2APIC mode",
	      lapic_read(LAPIC_SVR));
	check(rdmsr_safe(X2APIC_MSR(LAPIC_EOI), &(uint64_t){ 0 }) == VEC_GP, "RDMSR of the x2APIC EOI did not #GP");
	check(wrmsr_safe(X2APIC_MSR(LAPIC_EOI), 1) == VEC_GP, "a non-zero x2APIC EOI write did not #GP");
	check(rdmsr_safe(0x809, &(uint64_t){ 0 }) == VEC_GP, "RDMSR of x2APIC APR (reserved) did not #GP");

	/* The timer through the MSRs, EOI through the EOI MSR (the handler uses lapic_eoi). */
	uint32_t before = ticks;
	start_timer(VEC_TIMER | LVT_TIMER_ONESHOT, 20);
	uint32_t c0 = lapic_read(LAPIC_TIMER_CURRENT);
	delay_ms(2);
	uint32_t c1 = lapic_read(LAPIC_TIMER_CURRENT);
	check(c1 < c0, "x2APIC current count not counting down: %x then %x", c0, c1);
	check(wait_count(&ticks, before + 1, 2000), "x2APIC timer interrupt never came");
	check(last_vector == VEC_TIMER && isr_in_handler && !isr_after_eoi, "x2APIC timer vector %x ISR %d/%d",
	      last_vector, isr_in_handler, isr_after_eoi);
	before = ticks;
	probe_isr = false;
	start_timer(VEC_TIMER | LVT_TIMER_PERIODIC, 20);
	delay_ms_irq(200);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	probe_isr = true;
	check(ticks - before >= 4 && ticks - before <= 15, "x2APIC periodic 20 ms: %u interrupts in 200 ms",
	      ticks - before);
	delay_ms_irq(5); /* a tick already pending when the timer stopped is taken here, not below */

	/* SELF IPI register and ICR with the self shorthand. */
	before = ticks;
	wrmsr(X2APIC_MSR(LAPIC_SELF_IPI), VEC_SELF);
	check(wait_count(&ticks, before + 1, 100) && last_vector == VEC_SELF, "x2APIC SELF IPI not delivered");
	lapic_send_ipi(0, ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF);
	check(wait_count(&ticks, before + 2, 100) && last_vector == VEC_SELF, "x2APIC ICR self IPI not delivered");
	lapic_send_ipi(id, ICR_DM_FIXED | VEC_SELF);
	check(wait_count(&ticks, before + 3, 100) && last_vector == VEC_SELF, "x2APIC ICR IPI to own ID not delivered");

	/* Back to xAPIC: only through the disabled state. */
	lapic_x2apic = false;
	check(wrmsr_safe(MSR_IA32_APIC_BASE, (base | APIC_BASE_EN | APIC_BASE_EXTD)) == TRAP_NONE,
	      "rewriting the x2APIC-mode IA32_APIC_BASE faulted");
	check(wrmsr_safe(MSR_IA32_APIC_BASE, base & ~APIC_BASE_EXTD) == VEC_GP,
	      "x2APIC -> xAPIC directly did not #GP");
	check(wrmsr_safe(MSR_IA32_APIC_BASE, base & ~(APIC_BASE_EXTD | APIC_BASE_EN)) == TRAP_NONE,
	      "disabling the x2APIC faulted");
	check(wrmsr_safe(MSR_IA32_APIC_BASE, base) == TRAP_NONE, "re-enabling the xAPIC faulted");
	check(lapic_read(LAPIC_VERSION) == version, "xAPIC version %x after the round trip",
	      lapic_read(LAPIC_VERSION));
	check(!(lapic_read(LAPIC_SVR) & LAPIC_SVR_ENABLE), "SVR %x kept its enable bit through a global disable",
	      lapic_read(LAPIC_SVR));
	lapic_setup(VEC_SPURIOUS);
	printf("lapic-timer: x2APIC timer, EOI and self IPIs through MSRs work\n");
}

void test_main(void)
{
	struct cpuid_regs id1 = cpuid(1, 0);

	check(id1.edx & CPUID_1_EDX_APIC, "CPUID.1:EDX.APIC clear");
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	check((base & ~0xfffull) == LAPIC_DEFAULT_BASE && (base & APIC_BASE_EN) && (base & APIC_BASE_BSP) &&
		      !(base & APIC_BASE_EXTD),
	      "IA32_APIC_BASE %llx", base);

	probe_isr = true;
	trap_set_handler(VEC_TIMER, timer_interrupt);
	trap_set_handler(VEC_DEADLINE, timer_interrupt);
	trap_set_handler(VEC_SELF, timer_interrupt);
	trap_set_handler(VEC_SPURIOUS, spurious_interrupt);
	pic_init();
	lapic_setup(VEC_SPURIOUS);

	uint32_t apic_id = lapic_read(LAPIC_ID) >> 24, version = lapic_read(LAPIC_VERSION);
	check(apic_id == id1.ebx >> 24, "APIC ID %x, CPUID.1:EBX says %x", apic_id, id1.ebx >> 24);
	check((version & 0xff) >= 0x10 && (version & 0xff) <= 0x15 && ((version >> 16) & 0xff) >= 3,
	      "APIC version register %x", version);
	printf("lapic-timer: apic id %u version %x, tsc %llu kHz\n", apic_id, version, tsc_per_ms());

	check_rates();
	check_one_shot();
	check_restart_and_stop();
	check_periodic();
	check_masked_one_shot();
	check_tsc_deadline();
	check_x2apic(apic_id, version);
	check(spurious == 0, "%u spurious interrupts", spurious);
	check(lapic_esr() == 0, "ESR %x", lapic_esr());
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
}
