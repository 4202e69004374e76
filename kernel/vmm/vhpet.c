/*
 * HPET model (IA-PC HPET Specification 1.0a, "spec" below).
 *
 * Time: while ENABLE_CNF is set the main counter is counter_base + (now - base_ns) / 10. Each
 * timer keeps the tick (counted from base_ns) of its next comparator match, so advance() is a
 * comparison per timer, and a match far in the past is handled in one step.
 *
 * Matching is by equality, as the comparator hardware does (spec 2.3.9.2): a comparator written
 * behind the counter matches only after the counter wraps - every 2^32 ticks in 32-bit mode (the
 * "another interrupt when the main counter wraps" of Intel's HPET datasheets), after 2^64 ticks
 * (never, in practice) in 64-bit mode. QEMU instead fires such comparators at once, and fires a
 * 32-bit one-shot timer when the counter's low half passes zero.
 *
 * Lazy state: status bits, periodic comparators and 32-bit re-matches are brought up to date by
 * every register access (which runs advance(now) first), so next_deadline() only reports a match
 * the guest would notice without reading a register: an interrupt it would receive.
 */
#include <hv/vhpet.h>

/* Register offsets (spec 2.3.1, table 3). */
#define REG_GCAP_ID 0x000
#define REG_GEN_CONF 0x010
#define REG_GINTR_STA 0x020
#define REG_MAIN_CNT 0x0f0
#define REG_TIMER0 0x100
#define TIMER_STRIDE 0x20
#define TIMER_CONF 0x00
#define TIMER_COMPARATOR 0x08
#define TIMER_FSB_ROUTE 0x10

/* GEN_CONF (spec 2.3.5). */
#define CONF_ENABLE (1ull << 0)
#define CONF_LEG_RT (1ull << 1)

/* GCAP_ID (spec 2.3.4): revision 1, NUM_TIM_CAP = timers - 1, COUNT_SIZE_CAP, LEG_RT_CAP, vendor. */
#define GCAP_REV_ID 0x01ull
#define GCAP_NUM_TIM_SHIFT 8
#define GCAP_COUNT_SIZE_CAP (1ull << 13)
#define GCAP_LEG_RT_CAP (1ull << 15)
#define GCAP_VENDOR_SHIFT 16
#define GCAP_VENDOR_INTEL 0x8086ull
#define GCAP_PERIOD_SHIFT 32
#define GCAP_VALUE                                                                                   \
	(GCAP_REV_ID | ((uint64_t)(VHPET_NUM_TIMERS - 1) << GCAP_NUM_TIM_SHIFT) | GCAP_COUNT_SIZE_CAP | \
	 GCAP_LEG_RT_CAP | (GCAP_VENDOR_INTEL << GCAP_VENDOR_SHIFT) |                                  \
	 ((uint64_t)VHPET_PERIOD_FS << GCAP_PERIOD_SHIFT))

/* Tn_CONF (spec 2.3.8). */
#define TN_INT_TYPE (1ull << 1) /* 1: level-triggered */
#define TN_INT_ENB (1ull << 2)
#define TN_TYPE (1ull << 3)	/* 1: periodic */
#define TN_PER_INT_CAP (1ull << 4)
#define TN_SIZE_CAP (1ull << 5) /* 1: 64-bit comparator */
#define TN_VAL_SET (1ull << 6)
#define TN_32MODE (1ull << 8)
#define TN_ROUTE_SHIFT 9
#define TN_ROUTE_MASK (0x1full << TN_ROUTE_SHIFT)
#define TN_FSB_EN (1ull << 14)	     /* read-only 0: no FSB delivery */
#define TN_FSB_INT_DEL_CAP (1ull << 15) /* 0 */
#define TN_ROUTE_CAP_SHIFT 32
#define TN_WRITABLE (TN_INT_TYPE | TN_INT_ENB | TN_TYPE | TN_VAL_SET | TN_32MODE | TN_ROUTE_MASK)
#define TN_CAPS (TN_PER_INT_CAP | TN_SIZE_CAP | ((uint64_t)VHPET_INT_ROUTE_CAP << TN_ROUTE_CAP_SHIFT))

#define LOW32 0x00000000ffffffffull
#define HIGH32 0xffffffff00000000ull
#define WRAP32 (1ull << 32)
#define NO_GSI UINT32_MAX

static bool hpet_enabled(const struct vhpet *h)
{
	return h->config & CONF_ENABLE;
}

/* Ticks since base_ns at now (0 for a clock read before the counter started). */
static uint64_t ticks_at(const struct vhpet *h, uint64_t now)
{
	return now > h->base_ns ? (now - h->base_ns) / VHPET_NS_PER_TICK : 0;
}

static uint64_t counter_at(const struct vhpet *h, uint64_t now)
{
	return hpet_enabled(h) ? h->counter_base + ticks_at(h, now) : h->counter_base;
}

/* The comparator's width: 32 bits in 32-bit mode (spec 2.3.8 Tn_32MODE_CNF). */
static uint64_t timer_mask(const struct vhpet_timer *t)
{
	return t->config & TN_32MODE ? LOW32 : UINT64_MAX;
}

static bool timer_level(const struct vhpet_timer *t)
{
	return t->config & TN_INT_TYPE;
}

/* The GSI timer n drives, or NO_GSI (route not in Tn_INT_ROUTE_CAP, e.g. the reset value 0). */
static uint32_t timer_gsi(const struct vhpet *h, unsigned n)
{
	if (h->config & CONF_LEG_RT) {
		if (n == 0)
			return VHPET_LEGACY_GSI0;
		if (n == 1)
			return VHPET_LEGACY_GSI1;
	}
	uint32_t route = (uint32_t)((h->timer[n].config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT);
	return VHPET_INT_ROUTE_CAP & (1u << route) ? route : NO_GSI;
}

/* Level lines: asserted while the timer is level-triggered, enabled and its status bit is set
 * (spec 2.3.6: the status bit stays set until written with 1). Several timers on one GSI share it. */
static void update_lines(struct vhpet *h)
{
	uint32_t want = 0;

	if (hpet_enabled(h)) {
		for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++) {
			const struct vhpet_timer *t = &h->timer[n];
			uint32_t gsi = timer_gsi(h, n);
			if (timer_level(t) && (t->config & TN_INT_ENB) && (h->isr & (1ull << n)) && gsi != NO_GSI)
				want |= 1u << gsi;
		}
	}
	uint32_t changed = want ^ h->lines;
	h->lines = want;
	for (uint32_t gsi = 0; changed; gsi++, changed >>= 1)
		if (changed & 1)
			h->env->set_irq(h->env->ctx, gsi, want & (1u << gsi));
}

/* A comparator match of timer n. The status bit is set in level mode even with Tn_INT_ENB clear
 * ("the timer will still operate and generate appropriate status bits", spec 2.3.8); in edge mode
 * it stays 0. Returns true when an edge-triggered timer is to pulse its line. */
static bool timer_fire(struct vhpet *h, unsigned n)
{
	const struct vhpet_timer *t = &h->timer[n];

	if (timer_level(t)) {
		h->isr |= 1ull << n;
		return false;
	}
	return (t->config & TN_INT_ENB) && timer_gsi(h, n) != NO_GSI;
}

static void timer_pulse(struct vhpet *h, unsigned n)
{
	uint32_t gsi = timer_gsi(h, n);

	if (h->lines & (1u << gsi))
		return; /* no edge on a line a level-triggered timer holds high */
	h->env->set_irq(h->env->ctx, gsi, true);
	h->env->set_irq(h->env->ctx, gsi, false);
}

/* Points fire_tick at the comparator's next match at or after now (counter running). */
static void timer_arm(struct vhpet *h, unsigned n, uint64_t now)
{
	struct vhpet_timer *t = &h->timer[n];
	uint64_t k = ticks_at(h, now);
	uint64_t diff = (t->comparator - (h->counter_base + k)) & timer_mask(t);

	if (!hpet_enabled(h) || __builtin_add_overflow(k, diff, &t->fire_tick))
		t->fire_tick = VDEV_NEVER;
}

/* After a match at fire_tick <= k: the next match after k. Periodic mode adds the period to the
 * comparator (spec 2.3.9.2.2) once per elapsed period, so missed periods coalesce. */
static void timer_rearm(struct vhpet_timer *t, uint64_t k)
{
	uint64_t mask = timer_mask(t);
	uint64_t step, steps, adv;

	if ((t->config & TN_TYPE) && (t->period & mask)) {
		step = t->period & mask;
		steps = (k - t->fire_tick) / step + 1;
		adv = step * steps; /* mod 2^64, which is also right mod 2^32 for the comparator */
		t->comparator = (t->comparator + adv) & mask;
		if (__builtin_mul_overflow(step, steps, &adv) || __builtin_add_overflow(t->fire_tick, adv, &t->fire_tick))
			t->fire_tick = VDEV_NEVER;
	} else if (mask == LOW32) {
		/* One-shot (or period 0) in 32-bit mode: the same low half matches 2^32 ticks on. */
		steps = (k - t->fire_tick) / WRAP32 + 1;
		if (steps > (UINT64_MAX >> 32) || __builtin_add_overflow(t->fire_tick, steps << 32, &t->fire_tick))
			t->fire_tick = VDEV_NEVER;
	} else {
		t->fire_tick = VDEV_NEVER; /* next match after 2^64 ticks: 5849 years */
	}
}

void vhpet_advance(struct vhpet *h, uint64_t now_ns)
{
	unsigned pulses = 0;

	if (!hpet_enabled(h) || now_ns < h->base_ns)
		return;
	uint64_t k = ticks_at(h, now_ns);
	for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++) {
		struct vhpet_timer *t = &h->timer[n];
		if (t->fire_tick > k)
			continue;
		if (timer_fire(h, n))
			pulses |= 1u << n;
		timer_rearm(t, k);
	}
	update_lines(h);
	for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++)
		if (pulses & (1u << n))
			timer_pulse(h, n);
}

uint64_t vhpet_next_deadline(const struct vhpet *h)
{
	uint64_t best = VDEV_NEVER;

	if (!hpet_enabled(h))
		return best;
	for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++) {
		const struct vhpet_timer *t = &h->timer[n];
		uint64_t ns;
		/* A match the guest cannot notice without a register read waits for that read. */
		if (!(t->config & TN_INT_ENB) || timer_gsi(h, n) == NO_GSI)
			continue;
		if (timer_level(t) && (h->isr & (1ull << n)))
			continue;
		if (t->fire_tick == VDEV_NEVER || __builtin_mul_overflow(t->fire_tick, VHPET_NS_PER_TICK, &ns) ||
		    __builtin_add_overflow(ns, h->base_ns, &ns))
			continue;
		if (ns < best)
			best = ns;
	}
	return best;
}

bool vhpet_legacy_replacement(const struct vhpet *h)
{
	return h->config & CONF_LEG_RT;
}

void vhpet_reset(struct vhpet *h)
{
	const struct vdev_env *env = h->env;
	uint32_t lines = h->lines;

	*h = (struct vhpet){ .env = env };
	for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++) {
		h->timer[n].comparator = UINT64_MAX;
		h->timer[n].period = 0;
		h->timer[n].fire_tick = VDEV_NEVER;
	}
	for (uint32_t gsi = 0; lines; gsi++, lines >>= 1)
		if (lines & 1)
			env->set_irq(env->ctx, gsi, false);
}

void vhpet_init(struct vhpet *h, const struct vdev_env *env)
{
	*h = (struct vhpet){ .env = env };
	vhpet_reset(h);
}

/* ------------------------------------------------------------------------------------------------ */
/* Registers                                                                                        */

/* Timer index for a timer register offset, or -1. */
static int timer_of(uint64_t qoff, uint64_t *reg)
{
	if (qoff < REG_TIMER0 || qoff >= REG_TIMER0 + VHPET_NUM_TIMERS * TIMER_STRIDE)
		return -1;
	*reg = (qoff - REG_TIMER0) % TIMER_STRIDE;
	return (int)((qoff - REG_TIMER0) / TIMER_STRIDE);
}

/* The 64-bit register at the 8-byte aligned offset qoff; reserved space reads 0 (spec 2.3.1). */
static uint64_t reg_read(struct vhpet *h, uint64_t qoff, uint64_t now)
{
	uint64_t reg;
	int n;

	switch (qoff) {
	case REG_GCAP_ID:
		return GCAP_VALUE;
	case REG_GEN_CONF:
		return h->config;
	case REG_GINTR_STA:
		return h->isr;
	case REG_MAIN_CNT:
		return counter_at(h, now);
	}
	n = timer_of(qoff, &reg);
	if (n < 0)
		return 0;
	switch (reg) {
	case TIMER_CONF:
		return h->timer[n].config | TN_CAPS;
	case TIMER_COMPARATOR:
		return h->timer[n].comparator;
	default: /* FSB route: no FSB capability */
		return 0;
	}
}

static void write_gen_conf(struct vhpet *h, uint64_t v, uint64_t now)
{
	uint64_t old = h->config;

	h->config = v & (CONF_ENABLE | CONF_LEG_RT);
	if (!(old & CONF_ENABLE) && (h->config & CONF_ENABLE)) {
		/* The counter runs on from where it halted; comparators match from now on. */
		h->base_ns = now;
		for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++)
			timer_arm(h, n, now);
	} else if ((old & CONF_ENABLE) && !(h->config & CONF_ENABLE)) {
		/* Halt: the counter stops and no timer interrupts (spec 2.3.5 ENABLE_CNF). */
		h->counter_base += ticks_at(h, now);
		for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++)
			h->timer[n].fire_tick = VDEV_NEVER;
	}
	update_lines(h);
}

static void write_timer_conf(struct vhpet *h, unsigned n, uint64_t v, uint64_t now)
{
	struct vhpet_timer *t = &h->timer[n];
	uint64_t old = t->config;
	uint64_t route = v & TN_ROUTE_MASK;

	/* A route outside Tn_INT_ROUTE_CAP is not taken: the field reads back its old value (spec 2.3.8). */
	if (!(VHPET_INT_ROUTE_CAP & (1u << (route >> TN_ROUTE_SHIFT))))
		route = old & TN_ROUTE_MASK;
	t->config = (v & TN_WRITABLE & ~TN_ROUTE_MASK) | route;
	if ((t->config & TN_32MODE) && !(old & TN_32MODE)) {
		t->comparator &= LOW32;
		t->period &= LOW32;
	}
	if (!(t->config & TN_INT_TYPE))
		h->isr &= ~(1ull << n); /* edge mode: the status bit is always 0 (spec 2.3.6) */
	if ((t->config ^ old) & (TN_TYPE | TN_32MODE))
		timer_arm(h, n, now);
	update_lines(h);
}

/* lanes: which half (or both) of the register the guest wrote. */
static void write_comparator(struct vhpet *h, unsigned n, uint64_t v, uint64_t lanes, uint64_t now)
{
	struct vhpet_timer *t = &h->timer[n];

	if (t->config & TN_32MODE)
		lanes &= LOW32; /* the upper half is not there in 32-bit mode */
	v &= lanes;
	/* Periodic mode: a write sets the increment; it sets the comparator itself only with
	 * Tn_VAL_SET_CNF, which then clears (spec 2.3.8, 2.3.9.2.2). One-shot: the comparator. The
	 * increment is "the last value written" (Intel ICH datasheets) in both modes. */
	if (!(t->config & TN_TYPE) || (t->config & TN_VAL_SET))
		t->comparator = (t->comparator & ~lanes) | v;
	t->period = (t->period & ~lanes) | v;
	t->config &= ~TN_VAL_SET;
	timer_arm(h, n, now);
}

static void reg_write(struct vhpet *h, uint64_t qoff, uint64_t v, uint64_t lanes, uint64_t now)
{
	uint64_t reg;
	int n;

	switch (qoff) {
	case REG_GEN_CONF:
		if (lanes & LOW32)
			write_gen_conf(h, v, now);
		return;
	case REG_GINTR_STA:
		/* Write 1 to clear; the line drops with the bit (spec 2.3.6). */
		h->isr &= ~(v & lanes & ((1ull << VHPET_NUM_TIMERS) - 1));
		update_lines(h);
		return;
	case REG_MAIN_CNT:
		/* Software writes the counter only while halted (spec 2.3.7); ignored while running. */
		if (!hpet_enabled(h))
			h->counter_base = (h->counter_base & ~lanes) | (v & lanes);
		return;
	}
	n = timer_of(qoff, &reg);
	if (n < 0)
		return; /* GCAP_ID and reserved space are read-only */
	if (reg == TIMER_CONF && (lanes & LOW32))
		write_timer_conf(h, (unsigned)n, v & LOW32, now);
	else if (reg == TIMER_COMPARATOR)
		write_comparator(h, (unsigned)n, v, lanes, now);
}

static bool access_ok(uint64_t offset, uint32_t size)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) && offset < VHPET_SIZE &&
	       size <= VHPET_SIZE - offset;
}

bool vhpet_mmio_read(struct vhpet *h, uint64_t offset, uint32_t size, uint64_t *value)
{
	*value = 0;
	if (!access_ok(offset, size))
		return false;
	uint64_t now = h->env->now_ns(h->env->ctx);
	vhpet_advance(h, now);

	uint64_t qoff = offset & ~7ull;
	unsigned shift = (unsigned)(offset & 7) * 8;
	uint64_t v = reg_read(h, qoff, now) >> shift;
	if (shift && (offset & 7) + size > 8) /* straddles two registers: its bytes of both */
		v |= reg_read(h, qoff + 8, now) << (64 - shift);
	*value = size == 8 ? v : v & ((1ull << (size * 8)) - 1);
	return true;
}

bool vhpet_mmio_write(struct vhpet *h, uint64_t offset, uint32_t size, uint64_t value)
{
	if (!access_ok(offset, size))
		return false;
	if (!((size == 4 && !(offset & 3)) || (size == 8 && !(offset & 7))))
		return true; /* not a register access the HPET decodes: dropped */
	uint64_t now = h->env->now_ns(h->env->ctx);
	vhpet_advance(h, now);

	uint64_t lanes = UINT64_MAX;
	if (size == 4) {
		value &= LOW32;
		lanes = LOW32;
		if (offset & 4) {
			value <<= 32;
			lanes = HIGH32;
		}
	}
	reg_write(h, offset & ~7ull, value, lanes, now);
	return true;
}
