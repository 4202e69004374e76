/* Interrupts through the I/O APIC, 8259 pair masked, as an APIC-mode OS routes them: the IOAPIC's
 * ID, version and redirection entries; the PIT on GSI 2 (ISA IRQ0 after the usual override) at the
 * programmed vector, edge, ISR set until the EOI, nothing while the pin is masked; the HPET (its
 * capabilities, period, a counter that halts, resets and runs at its period against the TSC), timer
 * 0 routed to an IOAPIC input allowed by Tn_INT_ROUTE_CAP as a one-shot (64-bit comparator) and
 * periodic (32-bit mode, as Linux programs it), legacy replacement (HPET timer 0 on IRQ0, the PIT cut
 * off whether its output is toggling or parked high), and a level-triggered HPET interrupt (routed
 * through Tn_INT_ROUTE_CAP to an input above 15 when there is one, and timer 0 in legacy replacement):
 * remote IRR and the HPET status bit set, delivered again after an EOI while still asserted, quiet
 * once the status is cleared before the EOI; with directed EOI (LAPIC EOI-broadcast suppression and an
 * IOAPIC version 0x20 EOI register) the IOAPIC EOI register ends it instead. QEMU's HPET allows only
 * input 2 (IRQ0's), so natively the routed tests share GSI 2 with a PIT parked by a finished mode 0
 * count, and the level test runs in legacy replacement only. */
#include "cpu.h"
#include "guest.h"
#include "hpet.h"
#include "io.h"
#include "ioapic.h"
#include "lapic.h"
#include "pic.h"
#include "pit.h"
#include "timing.h"
#include "trap.h"

#define VEC_PIT 0x50
#define VEC_HPET 0x51
#define VEC_LEGACY 0x52
#define VEC_LEVEL 0x53
#define VEC_SPURIOUS 0xff
#define PIT_GSI 2
#define SCRATCH_PIN 10 /* written and read back, always masked */

const char guest_name[] = "ioapic-irq";

static uint8_t apic_id;
static volatile uint32_t count[256], last_vector;
static volatile uint64_t last_tsc;
static volatile bool isr_seen, tmr_seen, isr_after_eoi;
static volatile bool probe;

static void edge_interrupt(struct trap_frame *frame)
{
	uint8_t v = (uint8_t)frame->vector;

	last_tsc = rdtsc();
	last_vector = v;
	if (probe) {
		isr_seen = lapic_vector_bit(LAPIC_ISR0, v);
		tmr_seen = lapic_vector_bit(LAPIC_TMR0, v);
	}
	lapic_eoi();
	if (probe)
		isr_after_eoi = lapic_vector_bit(LAPIC_ISR0, v);
	count[v]++;
}

static void spurious_interrupt(struct trap_frame *frame) { count[frame->vector]++; }

static void check_ioapic_registers(void)
{
	uint32_t id = ioapic_read(IOAPIC_REG_ID), ver = ioapic_read(IOAPIC_REG_VER);
	unsigned pins = ioapic_pins();

	printf("ioapic-irq: ioapic id %u version %x, %u pins\n", (id >> 24) & 0xf, ver & 0xff, pins);
	check((ver & 0xff) >= 0x10 && (ver & 0xff) <= 0x2f, "IOAPIC version register %x", ver);
	check(pins >= 24, "IOAPIC has %u pins", pins);
	check(*(volatile uint8_t *)ioapic_mmio(IOAPIC_IOREGSEL) == IOAPIC_REG_VER, "IOREGSEL does not read back");

	uint32_t low = RTE_MASKED | RTE_LEVEL | RTE_ACTIVE_LOW | RTE_DEST_LOGICAL | RTE_DM_LOWEST | 0x5a;
	ioapic_write(IOAPIC_REG_RTE(SCRATCH_PIN) + 1, 0xa5000000u);
	ioapic_write(IOAPIC_REG_RTE(SCRATCH_PIN), low);
	uint32_t rl = ioapic_read(IOAPIC_REG_RTE(SCRATCH_PIN)), rh = ioapic_read(IOAPIC_REG_RTE(SCRATCH_PIN) + 1);
	check((rl & RTE_WRITABLE) == (low & RTE_WRITABLE) && (rl & RTE_MASKED), "RTE %u low reads %x, wrote %x",
	      SCRATCH_PIN, rl, low);
	check(rh >> 24 == 0xa5, "RTE %u high reads %x, wrote a5000000", SCRATCH_PIN, rh);
	ioapic_set_rte(SCRATCH_PIN, RTE_MASKED, 0);
	check(ioapic_rte_low(SCRATCH_PIN) == RTE_MASKED, "RTE %u reads %x after reset", SCRATCH_PIN,
	      ioapic_rte_low(SCRATCH_PIN));
}

/* Interrupts on vector v while interrupts are enabled for ms. */
static uint32_t count_during(uint8_t v, uint32_t ms)
{
	uint32_t before = count[v];

	delay_ms_irq(ms);
	return count[v] - before;
}

static void check_pit(void)
{
	pit_start_periodic(50); /* 20 ms */
	ioapic_set_rte(PIT_GSI, VEC_PIT, apic_id);
	probe = true;
	check(wait_count(&count[VEC_PIT], 1, 1000), "no PIT interrupt through IOAPIC pin %u", PIT_GSI);
	check(last_vector == VEC_PIT, "PIT interrupt on vector %x, RTE says %x", last_vector, VEC_PIT);
	check(isr_seen && !tmr_seen, "PIT vector in ISR %d, TMR %d in its handler (edge)", isr_seen, tmr_seen);
	check(!isr_after_eoi, "PIT vector still in ISR after the EOI");
	probe = false;
	uint32_t n = count_during(VEC_PIT, 400);
	printf("ioapic-irq: PIT through GSI %u: %u interrupts in 400 ms at 50 Hz\n", PIT_GSI, n);
	check(n >= 8 && n <= 30, "PIT at 50 Hz gave %u interrupts in 400 ms", n);
	check(!(ioapic_rte_low(PIT_GSI) & RTE_REMOTE_IRR), "remote IRR set on an edge pin");

	ioapic_mask(PIT_GSI);
	delay_ms_irq(5);
	n = count_during(VEC_PIT, 100);
	check(n == 0, "masked IOAPIC pin delivered %u PIT interrupts", n);
	uint16_t c0 = pit_read_count();
	delay_ms(2);
	check(pit_read_count() != c0, "PIT stopped counting");
	ioapic_write(IOAPIC_REG_RTE(PIT_GSI), VEC_PIT);
	check(count_during(VEC_PIT, 100) > 0, "unmasked IOAPIC pin delivers no PIT interrupts");
	ioapic_mask(PIT_GSI);
	delay_ms_irq(5);
}

/* Channel 0 in mode 0 with a count of 2: OUT goes high at terminal count and stays there, no
 * more edges (what an OS does to retire the PIT). */
static void pit_park(void)
{
	outb(0x43, 0x30);
	outb(0x40, 2);
	outb(0x40, 0);
	delay_ms(2);
}

static unsigned pick_route(uint32_t cap)
{
	for (unsigned pin = 16; pin < 32; pin++)
		if (cap & (1u << pin))
			return pin;
	for (unsigned pin = 1; pin < 16; pin++)
		if (pin != PIT_GSI && pin != 8 && (cap & (1u << pin)))
			return pin;
	return 32;
}

static uint64_t hpet_per_ms;

static void check_hpet_counter(void)
{
	uint32_t cap = hpet_read(HPET_GCAP_ID), period = hpet_period_fs();

	printf("ioapic-irq: hpet rev %u, %u timers, vendor %x, period %u fs, %s counter%s\n", HPET_CAP_REV(cap),
	       HPET_CAP_TIMERS(cap), HPET_CAP_VENDOR(cap), period, cap & HPET_CAP_COUNT_SIZE ? "64-bit" : "32-bit",
	       cap & HPET_CAP_LEG_RT ? ", legacy replacement" : "");
	check(HPET_CAP_REV(cap) != 0, "HPET revision 0");
	check(HPET_CAP_TIMERS(cap) >= 3, "HPET with %u timers", HPET_CAP_TIMERS(cap));
	check(period > 0 && period <= HPET_MAX_PERIOD_FS, "HPET period %u fs", period);
	hpet_per_ms = hpet_ticks_per_ms();

	/* Halted, the counter holds what was written; running, it counts at its period. */
	hpet_reset();
	hpet_write(HPET_MAIN_COUNTER, 0x12345);
	hpet_write(HPET_MAIN_COUNTER + 4, 0);
	delay_ms(2);
	check(hpet_counter() == 0x12345, "halted HPET counter reads %llx, wrote 12345", hpet_counter());
	hpet_write(HPET_MAIN_COUNTER, 0);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE);
	uint64_t c0 = hpet_counter(), t0 = rdtsc_ordered();
	delay_ms(20);
	uint64_t c1 = hpet_counter(), t1 = rdtsc_ordered();
	uint64_t c2 = hpet_counter();
	check(c1 > c0 && c2 >= c1, "HPET counter not increasing: %llx %llx %llx", c0, c1, c2);
	uint64_t ms = (t1 - t0) / tsc_per_ms(), expected = ms * hpet_per_ms;
	check((c1 - c0) * 2 >= expected && (c1 - c0) <= expected * 2, "HPET counted %llu in %llu ms, expected %llu",
	      c1 - c0, ms, expected);
	hpet_write(HPET_GEN_CONF, 0);
	uint64_t h0 = hpet_counter();
	delay_ms(2);
	check(hpet_counter() == h0, "HPET counter runs while halted");
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE);
}

static void check_hpet_timer0(void)
{
	uint32_t conf = hpet_read(HPET_TN_CONF(0)), cap = hpet_route_cap(0);
	unsigned pin = pick_route(cap);

	if (pin >= 32 && (cap & (1u << PIT_GSI)))
		pin = PIT_GSI; /* shared with the PIT, parked */
	check(pin < 32, "HPET timer 0 allows no usable IOAPIC input (cap %x)", cap);
	printf("ioapic-irq: hpet timer 0 conf %x route cap %x: using IOAPIC pin %u\n", conf, cap, pin);
	pit_park();
	if (pin == PIT_GSI) {
		/* A PIT edge the emulator delivers late lands on the PIT's vector, not the HPET's. */
		ioapic_set_rte(PIT_GSI, VEC_PIT, apic_id);
		delay_ms_irq(20);
	}

	/* One-shot, 64-bit comparator, edge. */
	/* The comparator first, then the interrupt enable (QEMU fires at once on INT_ENB while the
	 * comparator still holds its reset value of all ones). */
	ioapic_set_rte(pin, VEC_HPET, apic_id);
	hpet_write(HPET_TN_CONF(0), pin << HPET_TN_ROUTE_SHIFT);
	check(((hpet_read(HPET_TN_CONF(0)) & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT) == pin,
	      "timer 0 route reads %x", hpet_read(HPET_TN_CONF(0)));
	uint64_t start = rdtsc_ordered(), cmp = hpet_counter() + 20 * hpet_per_ms;
	hpet_set_comparator(0, cmp);
	check(hpet_read(HPET_TN_COMPARATOR(0)) == (uint32_t)cmp && hpet_read(HPET_TN_COMPARATOR(0) + 4) == cmp >> 32,
	      "timer 0 comparator reads %x%08x, wrote %llx", hpet_read(HPET_TN_COMPARATOR(0) + 4),
	      hpet_read(HPET_TN_COMPARATOR(0)), cmp);
	hpet_write(HPET_TN_CONF(0), HPET_TN_INT_ENB | pin << HPET_TN_ROUTE_SHIFT);
	probe = true;
	check(wait_count(&count[VEC_HPET], 1, 1000), "HPET timer 0 one-shot never interrupted on pin %u", pin);
	uint64_t us = tsc_to_us(last_tsc - start);
	check(last_vector == VEC_HPET && isr_seen && !tmr_seen && !isr_after_eoi,
	      "HPET interrupt vector %x ISR %d TMR %d after EOI %d", last_vector, isr_seen, tmr_seen, isr_after_eoi);
	check(us >= 10000, "20 ms HPET one-shot fired after %llu us", us);
	check(hpet_counter() >= cmp, "HPET interrupt before the counter reached the comparator");
	check(count_during(VEC_HPET, 50) == 0, "HPET one-shot fired again");
	printf("ioapic-irq: hpet one-shot 20 ms fired after %llu us\n", us);
	probe = false;

	/* Periodic, 32-bit mode: comparator = counter + period with VAL_SET, then the period. */
	conf = hpet_read(HPET_TN_CONF(0));
	if (!(conf & HPET_TN_PER_CAP)) {
		printf("ioapic-irq: hpet timer 0 not periodic-capable, periodic mode skipped\n");
	} else {
		uint32_t period = (uint32_t)(20 * hpet_per_ms);
		uint32_t mode = HPET_TN_PERIODIC | HPET_TN_32MODE | pin << HPET_TN_ROUTE_SHIFT;
		hpet_write(HPET_TN_CONF(0), mode | HPET_TN_VAL_SET);
		hpet_write(HPET_TN_COMPARATOR(0), (uint32_t)hpet_counter() + period);
		hpet_write(HPET_TN_COMPARATOR(0), period);
		hpet_write(HPET_TN_CONF(0), mode | HPET_TN_INT_ENB);
		uint32_t n = count_during(VEC_HPET, 400);
		hpet_write(HPET_TN_CONF(0), pin << HPET_TN_ROUTE_SHIFT);
		printf("ioapic-irq: hpet periodic 20 ms: %u interrupts in 400 ms\n", n);
		check(n >= 8 && n <= 30, "HPET periodic 20 ms gave %u interrupts in 400 ms", n);
		delay_ms_irq(5);
		check(count_during(VEC_HPET, 60) == 0, "HPET timer 0 interrupts after INT_ENB was cleared");
	}
	ioapic_mask(pin);
}

static void check_legacy_replacement(void)
{
	if (!(hpet_read(HPET_GCAP_ID) & HPET_CAP_LEG_RT)) {
		printf("ioapic-irq: no HPET legacy replacement, skipped\n");
		return;
	}
	pit_start_periodic(100);
	ioapic_set_rte(PIT_GSI, VEC_LEGACY, apic_id);
	uint32_t n = count_during(VEC_LEGACY, 100);
	check(n >= 3, "PIT gave %u interrupts in 100 ms before legacy replacement", n);

	/* Timer 0 takes IRQ0 (GSI 2); the running PIT is cut off. */
	hpet_write(HPET_TN_CONF(0), 0);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	delay_ms_irq(15);
	hpet_set_comparator(0, hpet_counter() + 50 * hpet_per_ms);
	hpet_write(HPET_TN_CONF(0), HPET_TN_INT_ENB);
	n = count_during(VEC_LEGACY, 150);
	check(n == 1, "legacy replacement with the PIT running: %u interrupts on IRQ0 in 150 ms (a 50 ms HPET "
		      "one-shot, the PIT cut off)", n);
	hpet_write(HPET_TN_CONF(0), 0);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE);
	n = count_during(VEC_LEGACY, 100);
	check(n >= 3, "PIT gave %u interrupts in 100 ms after legacy replacement ended", n);

	/* The same with the PIT parked, its OUT high: the HPET alone drives IRQ0. */
	pit_park();
	delay_ms_irq(5);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEGACY);
	hpet_set_comparator(0, hpet_counter() + 20 * hpet_per_ms);
	hpet_write(HPET_TN_CONF(0), HPET_TN_INT_ENB);
	n = count_during(VEC_LEGACY, 100);
	check(n == 1, "legacy replacement with the PIT parked high (mode 0 done): %u interrupts on IRQ0 from a 20 ms "
		      "HPET one-shot",
	      n);
	ioapic_mask(PIT_GSI);
	hpet_write(HPET_TN_CONF(0), 0);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE);
	delay_ms_irq(5);
	printf("ioapic-irq: legacy replacement routes HPET timer 0 to IRQ0 and cuts off the PIT\n");
}

/* Level-triggered HPET interrupt: the handler leaves the status set the first time (the IOAPIC must
 * deliver again after the EOI) and clears it before the EOI the second time. */
static unsigned level_timer, level_pin;
static volatile uint32_t level_remote_irr, level_status, level_tmr;
static volatile bool directed_eoi;

static void level_interrupt(struct trap_frame *frame)
{
	uint32_t n = count[VEC_LEVEL]++;

	(void)frame;
	if (n >= 50) {
		ioapic_mask(level_pin);
		fail("level-triggered pin %u: %u deliveries, the line stays asserted after the HPET status was cleared",
		     level_pin, n + 1);
	}
	if (n < 2) {
		level_remote_irr |= ((ioapic_rte_low(level_pin) & RTE_REMOTE_IRR) != 0) << n;
		level_status |= ((hpet_read(HPET_GINTR_STA) >> level_timer) & 1) << n;
		level_tmr |= lapic_vector_bit(LAPIC_TMR0, VEC_LEVEL) << n;
	}
	if (n >= 1)
		hpet_write(HPET_GINTR_STA, 1u << level_timer);
	lapic_eoi();
	if (directed_eoi)
		*ioapic_mmio(IOAPIC_EOI) = VEC_LEVEL;
}

static bool level_legacy;

static void level_arm(void)
{
	/* Legacy replacement first: until it cuts the PIT off, GSI 2 carries the parked PIT's OUT,
	 * which is high, and a level-triggered entry would deliver it. */
	uint32_t conf = HPET_TN_LEVEL | (level_legacy ? 0 : level_pin << HPET_TN_ROUTE_SHIFT);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE | (level_legacy ? HPET_CONF_LEGACY : 0));
	ioapic_set_rte(level_pin, VEC_LEVEL | RTE_LEVEL, apic_id);
	hpet_write(HPET_TN_CONF(level_timer), conf);
	hpet_set_comparator(level_timer, hpet_counter() + 10 * hpet_per_ms);
	hpet_write(HPET_TN_CONF(level_timer), conf | HPET_TN_INT_ENB);
}

static void level_disarm(void)
{
	/* Mask first: ending legacy replacement gives GSI 2 back to the parked PIT, whose OUT is high. */
	ioapic_mask(level_pin);
	hpet_write(HPET_TN_CONF(level_timer), 0);
	hpet_write(HPET_GINTR_STA, 1u << level_timer);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE);
}

static void run_level(const char *how)
{
	count[VEC_LEVEL] = level_remote_irr = level_status = level_tmr = 0;
	level_arm();
	check(wait_count(&count[VEC_LEVEL], 2, 1000), "%s: level-triggered HPET interrupt delivered %u times, expected 2",
	      how, count[VEC_LEVEL]);
	delay_ms_irq(50);
	check(count[VEC_LEVEL] == 2, "%s: level interrupt delivered %u times (status cleared before the second EOI)", how,
	      count[VEC_LEVEL]);
	check(level_remote_irr == 3, "%s: remote IRR in the handler: %x (bit per delivery)", how, level_remote_irr);
	check(level_status == 3, "%s: HPET status in the handler: %x (bit per delivery)", how, level_status);
	check(level_tmr == 3, "%s: LAPIC TMR in the handler: %x (bit per delivery)", how, level_tmr);
	check(!(ioapic_rte_low(level_pin) & RTE_REMOTE_IRR), "%s: remote IRR still set after the last EOI", how);
	check(!(hpet_read(HPET_GINTR_STA) & (1u << level_timer)), "%s: HPET status still set", how);
	level_disarm();
}

static void check_level(void)
{
	bool routed = false, legacy = hpet_read(HPET_GCAP_ID) & HPET_CAP_LEG_RT;

	trap_set_handler(VEC_LEVEL, level_interrupt);
	pit_park();
	static const unsigned timers[] = { 1, 0 };
	for (unsigned i = 0; i < 2 && !routed; i++) {
		level_timer = timers[i];
		unsigned t = level_timer;
		level_pin = pick_route(hpet_route_cap(t) & 0xffff0000u);
		if (level_pin < 32) {
			routed = true;
			level_legacy = false;
			run_level("routed");
			printf("ioapic-irq: level-triggered HPET timer %u routed to pin %u: remote IRR, redelivery and "
			       "status clearing work\n",
			       level_timer, level_pin);
		}
	}
	if (legacy) {
		level_timer = 0;
		level_pin = PIT_GSI;
		level_legacy = true;
		run_level("legacy replacement");
		printf("ioapic-irq: level-triggered HPET timer 0 in legacy replacement on GSI 2: remote IRR, redelivery "
		       "and status clearing work\n");
	}
	check(routed || legacy, "no way to drive a level-triggered IOAPIC input from the HPET");
	check(routed || !expect_hv(), "hv's HPET should route to IOAPIC inputs 20-23");

	bool suppress = lapic_read(LAPIC_VERSION) & LAPIC_VERSION_EOI_SUPPRESS;
	if (!suppress || (ioapic_read(IOAPIC_REG_VER) & 0xff) < 0x20) {
		printf("ioapic-irq: no directed EOI (LAPIC version %x, IOAPIC version %x), skipped\n",
		       lapic_read(LAPIC_VERSION), ioapic_read(IOAPIC_REG_VER) & 0xff);
		check(!expect_hv(), "hv offers EOI-broadcast suppression with an IOAPIC EOI register");
		return;
	}
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | LAPIC_SVR_EOI_SUPPRESS);
	directed_eoi = true;
	run_level("directed EOI");
	/* Without the IOAPIC EOI, suppressed broadcast leaves remote IRR set and nothing comes again. */
	directed_eoi = false;
	count[VEC_LEVEL] = 0;
	level_arm();
	check(wait_count(&count[VEC_LEVEL], 1, 1000), "level interrupt with EOI broadcast suppressed never came");
	delay_ms_irq(50);
	check(count[VEC_LEVEL] == 1, "suppressed EOI broadcast: delivered %u times", count[VEC_LEVEL]);
	check(ioapic_rte_low(level_pin) & RTE_REMOTE_IRR, "suppressed EOI broadcast cleared remote IRR");
	*ioapic_mmio(IOAPIC_EOI) = VEC_LEVEL;
	check(wait_count(&count[VEC_LEVEL], 2, 100), "IOAPIC EOI register did not redeliver the asserted level");
	delay_ms_irq(20);
	check(count[VEC_LEVEL] == 2, "directed EOI: %u deliveries after the status was cleared", count[VEC_LEVEL]);
	check(ioapic_rte_low(level_pin) & RTE_REMOTE_IRR, "remote IRR clear before the IOAPIC EOI");
	*ioapic_mmio(IOAPIC_EOI) = VEC_LEVEL;
	check(!(ioapic_rte_low(level_pin) & RTE_REMOTE_IRR), "IOAPIC EOI register left remote IRR set");
	level_disarm();
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) & ~LAPIC_SVR_EOI_SUPPRESS);
	printf("ioapic-irq: directed EOI through the IOAPIC EOI register works\n");
}

void test_main(void)
{
	for (int v = 0x50; v < 0x53; v++)
		trap_set_handler((uint8_t)v, edge_interrupt);
	trap_set_handler(VEC_SPURIOUS, spurious_interrupt);
	trap_set_handler(IRQ_VECTOR(IRQ_SPURIOUS_MASTER), spurious_interrupt);
	trap_set_handler(IRQ_VECTOR(IRQ_SPURIOUS_SLAVE), spurious_interrupt);
	pic_init();
	lapic_setup(VEC_SPURIOUS);
	apic_id = (uint8_t)(lapic_read(LAPIC_ID) >> 24);
	tsc_per_ms();
	ioapic_mask_all();

	check_ioapic_registers();
	check_pit();
	check_hpet_counter();
	check_hpet_timer0();
	check_legacy_replacement();
	check_level();
	hpet_reset();
	ioapic_mask_all();
	check(count[VEC_SPURIOUS] == 0, "%u spurious LAPIC interrupts", count[VEC_SPURIOUS]);
	check(lapic_esr() == 0, "ESR %x", lapic_esr());
}
