/*
 * Virtual local APIC (Intel SDM vol. 3 chapter 11; section numbers below are that chapter's).
 * Pure logic: see include/hv/vlapic.h for the contract with the core.
 *
 * State kept minimal so it cannot go inconsistent: PPR and APR are computed from TPR/ISR/IRR on
 * every read, the x2APIC LDR from the x2APIC ID, the timer's current count from the time of its
 * next expiry. Every guest-written value is masked or checked before it is stored, every array
 * index is masked to the array, and no loop depends on a guest value.
 */
#include <hv/string.h>
#include <hv/vlapic.h>

/* xAPIC register offsets (table 11-1). */
#define REG_ID 0x020u
#define REG_VERSION 0x030u
#define REG_TPR 0x080u
#define REG_APR 0x090u
#define REG_PPR 0x0a0u
#define REG_EOI 0x0b0u
#define REG_RRD 0x0c0u
#define REG_LDR 0x0d0u
#define REG_DFR 0x0e0u
#define REG_SVR 0x0f0u
#define REG_ISR0 0x100u
#define REG_TMR0 0x180u
#define REG_IRR0 0x200u
#define REG_ESR 0x280u
#define REG_LVT_CMCI 0x2f0u
#define REG_ICR_LO 0x300u
#define REG_ICR_HI 0x310u
#define REG_LVT_TIMER 0x320u
#define REG_LVT_ERROR 0x370u
#define REG_TIMER_INITIAL 0x380u
#define REG_TIMER_CURRENT 0x390u
#define REG_TIMER_DCR 0x3e0u
#define REG_SELF_IPI 0x3f0u /* x2APIC only */

#define SVR_ENABLE (1u << 8)
#define SVR_SUPPRESS_EOI (1u << 12)
#define SVR_VALID 0x13ffu /* vector, enable, focus (bit 9, kept, no effect), EOI suppression */

#define LVT_VECTOR 0xffu
#define LVT_DM(l) (((l) >> 8) & 7u)
#define LVT_STATUS (1u << 12)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_LEVEL (1u << 15)
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE(l) (((l) >> 17) & 3u)
#define LVT_TIMER_MODE_MASK (3u << 17)

#define TIMER_ONESHOT 0u
#define TIMER_PERIODIC 1u
#define TIMER_DEADLINE 2u

#define DM_FIXED 0u
#define DM_LOWEST 1u
#define DM_SMI 2u
#define DM_NMI 4u
#define DM_INIT 5u
#define DM_SIPI 6u
#define DM_EXTINT 7u

#define ICR_DEST_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND(l) (((l) >> 18) & 3u)
#define ICR_LO_VALID 0x000ccfffu /* vector, mode, dest mode, level, trigger, shorthand (fig. 11-12) */
#define ICR_HI_VALID 0xff000000u
#define SH_NONE 0u
#define SH_SELF 1u
#define SH_ALL 2u
#define SH_OTHERS 3u

#define DCR_VALID 0xbu

#define BASE_LOW_RESERVED 0x2ffull /* bits 0-7 and 9 */

#define TSC_HZ_MIN 1000000ull
#define TSC_HZ_MAX 16000000000ull /* keeps r * NS_PER_SEC below 2^64 in the conversions */

#define TICK_NS (NS_PER_SEC / VLAPIC_BUS_HZ)
_Static_assert(VLAPIC_BUS_HZ <= NS_PER_SEC && NS_PER_SEC % VLAPIC_BUS_HZ == 0, "bus tick must be whole ns");

/* Writable bits of each LVT entry (fig. 11-8); delivery status and remote IRR are read-only. */
static const uint32_t lvt_writable[VLAPIC_LVT_COUNT] = {
	[VLAPIC_LVT_TIMER] = 0x700ffu,	 /* vector, mask, timer mode */
	[VLAPIC_LVT_THERMAL] = 0x107ffu, /* vector, delivery mode, mask */
	[VLAPIC_LVT_PERF] = 0x107ffu,
	[VLAPIC_LVT_LINT0] = 0x1a7ffu, /* + polarity, trigger mode */
	[VLAPIC_LVT_LINT1] = 0x1a7ffu,
	[VLAPIC_LVT_ERROR] = 0x100ffu,
	[VLAPIC_LVT_CMCI] = 0x107ffu,
};

/* ---- small helpers -------------------------------------------------------------------------- */

static bool vec_test(const uint32_t *a, unsigned v)
{
	return (a[(v >> 5) & 7] >> (v & 31)) & 1;
}

static void vec_set(uint32_t *a, unsigned v)
{
	a[(v >> 5) & 7] |= 1u << (v & 31);
}

static void vec_clear(uint32_t *a, unsigned v)
{
	a[(v >> 5) & 7] &= ~(1u << (v & 31));
}

static int vec_highest(const uint32_t *a)
{
	for (int i = 7; i >= 0; i--)
		if (a[i])
			return i * 32 + 31 - __builtin_clz(a[i]);
	return -1;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	/* VDEV_NEVER means "disarmed": a far deadline stays one below it. */
	return b >= VDEV_NEVER - 1 || a >= VDEV_NEVER - 1 - b ? VDEV_NEVER - 1 : a + b;
}

static uint64_t now_ns(const struct vlapic *vl)
{
	return vl->env && vl->env->now_ns ? vl->env->now_ns(vl->env->ctx) : 0;
}

static bool hw_enabled(const struct vlapic *vl)
{
	return vl->apic_base & VLAPIC_BASE_EN;
}

static bool x2apic_mode(const struct vlapic *vl)
{
	return (vl->apic_base & (VLAPIC_BASE_EN | VLAPIC_BASE_EXTD)) == (VLAPIC_BASE_EN | VLAPIC_BASE_EXTD);
}

static bool sw_enabled(const struct vlapic *vl)
{
	return hw_enabled(vl) && (vl->svr & SVR_ENABLE);
}

/* Logical x2APIC ID: cluster = ID[19:4] in bits 31:16, one bit for ID[3:0] (11.12.10.2). */
static uint32_t x2apic_ldr(const struct vlapic *vl)
{
	return (((vl->x2apic_id >> 4) & 0xffffu) << 16) | (1u << (vl->x2apic_id & 15));
}

/* PPR = TPR when TPR's class is at least the highest in-service class, else that class (11.8.3.1). */
static uint32_t compute_ppr(const struct vlapic *vl)
{
	int isrv = vec_highest(vl->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0u;

	return (vl->tpr & 0xf0u) >= isr_class ? vl->tpr : isr_class;
}

/* APR (11.6.2.4 / fig. 11-15). */
static uint32_t compute_apr(const struct vlapic *vl)
{
	int isrv = vec_highest(vl->isr), irrv = vec_highest(vl->irr);
	uint32_t tpr_c = vl->tpr >> 4, isr_c = isrv < 0 ? 0 : (uint32_t)isrv >> 4, irr_c = irrv < 0 ? 0 : (uint32_t)irrv >> 4;
	uint32_t m = tpr_c;

	if (tpr_c >= irr_c && tpr_c > isr_c)
		return vl->tpr;
	if (isr_c > m)
		m = isr_c;
	if (irr_c > m)
		m = irr_c;
	return m << 4;
}

/* ---- errors and local delivery -------------------------------------------------------------- */

static void lvt_fire(struct vlapic *vl, enum vlapic_lvt i);

/* Logs errors for the next ESR write and raises the error LVT (11.5.3). The guard stops an error
 * LVT with an illegal vector from recursing. */
static void set_error(struct vlapic *vl, uint32_t bits)
{
	vl->esr_pending |= bits;
	if (vl->in_error)
		return;
	vl->in_error = true;
	lvt_fire(vl, VLAPIC_LVT_ERROR);
	vl->in_error = false;
}

/* A fixed interrupt into IRR. Not accepted while software-disabled (11.4.7.2); vectors 0-15 are
 * illegal and never reach IRR (11.5.3). */
static bool deliver_fixed(struct vlapic *vl, uint8_t vector, bool level)
{
	if (!sw_enabled(vl))
		return false;
	if (vector < 16) {
		set_error(vl, VLAPIC_ESR_RECV_ILLEGAL_VECTOR);
		return false;
	}
	vec_set(vl->irr, vector);
	if (level)
		vec_set(vl->tmr, vector);
	else
		vec_clear(vl->tmr, vector);
	return true;
}

static void lvt_fire(struct vlapic *vl, enum vlapic_lvt i)
{
	uint32_t lvt = vl->lvt[i];

	if (!sw_enabled(vl) || (lvt & LVT_MASKED))
		return;
	if (i == VLAPIC_LVT_TIMER || i == VLAPIC_LVT_ERROR) { /* always fixed, edge */
		deliver_fixed(vl, (uint8_t)(lvt & LVT_VECTOR), false);
		return;
	}
	switch (LVT_DM(lvt)) {
	case DM_FIXED:
		if ((i == VLAPIC_LVT_LINT0 || i == VLAPIC_LVT_LINT1) && (lvt & LVT_LEVEL)) {
			/* Level-triggered LINT: remote IRR holds it until the EOI (11.5.1). */
			if (lvt & LVT_REMOTE_IRR)
				return;
			if (deliver_fixed(vl, (uint8_t)(lvt & LVT_VECTOR), true))
				vl->lvt[i] |= LVT_REMOTE_IRR;
			return;
		}
		deliver_fixed(vl, (uint8_t)(lvt & LVT_VECTOR), false);
		return;
	case DM_NMI:
		vl->nmi_pending = true;
		return;
	case DM_INIT:
		vl->init_pending = true;
		return;
	default: /* SMI: no SMM; ExtINT: vlapic_pic_intr_allowed(); reserved modes */
		return;
	}
}

/* A level-triggered fixed LINT whose pin is still asserted fires again once remote IRR clears. */
static void lint_recheck(struct vlapic *vl)
{
	for (unsigned pin = 0; pin < 2; pin++) {
		enum vlapic_lvt i = pin ? VLAPIC_LVT_LINT1 : VLAPIC_LVT_LINT0;
		uint32_t lvt = vl->lvt[i];
		if (vl->lint_level[pin] && LVT_DM(lvt) == DM_FIXED && (lvt & LVT_LEVEL) && !(lvt & LVT_REMOTE_IRR))
			lvt_fire(vl, i);
	}
}

/* ---- timer (11.5.4) -------------------------------------------------------------------------- */

static uint32_t timer_mode(const struct vlapic *vl)
{
	return LVT_TIMER_MODE(vl->lvt[VLAPIC_LVT_TIMER]);
}

/* Divide configuration: bits 3,1,0; 111b divides by 1, otherwise 2^(value+1) (fig. 11-10). */
static uint64_t timer_tick_ns(const struct vlapic *vl)
{
	uint32_t v = ((vl->timer_dcr >> 1) & 4u) | (vl->timer_dcr & 3u);

	return (1ull << ((v + 1) & 7)) * TICK_NS;
}

static uint64_t timer_period_ns(const struct vlapic *vl)
{
	uint64_t p = (uint64_t)vl->timer_initial * timer_tick_ns(vl);

	return p < VLAPIC_MIN_PERIOD_NS ? VLAPIC_MIN_PERIOD_NS : p;
}

static uint32_t timer_current(const struct vlapic *vl, uint64_t now)
{
	uint64_t left, tick = timer_tick_ns(vl), count;

	if (timer_mode(vl) == TIMER_DEADLINE || vl->timer_initial == 0 || vl->timer_expire_ns == VDEV_NEVER)
		return 0;
	if (now < vl->timer_expire_ns) {
		left = vl->timer_expire_ns - now;
	} else if (timer_mode(vl) == TIMER_PERIODIC) { /* reloads the core has not caught up with yet */
		uint64_t p = timer_period_ns(vl);
		left = p - (now - vl->timer_expire_ns) % p;
	} else {
		return 0;
	}
	count = left / tick + (left % tick != 0);
	return count > vl->timer_initial ? vl->timer_initial : (uint32_t)count;
}

static void timer_disarm(struct vlapic *vl)
{
	vl->timer_expire_ns = VDEV_NEVER;
	vl->tsc_deadline = 0;
}

uint64_t vlapic_next_deadline(const struct vlapic *vl)
{
	if (!sw_enabled(vl) || (vl->lvt[VLAPIC_LVT_TIMER] & LVT_MASKED))
		return VDEV_NEVER;
	return vl->timer_expire_ns;
}

void vlapic_advance(struct vlapic *vl, uint64_t now)
{
	if (vl->timer_expire_ns == VDEV_NEVER || now < vl->timer_expire_ns)
		return;
	if (timer_mode(vl) == TIMER_PERIODIC && vl->timer_initial) {
		/* One interrupt however many periods were missed (IRR coalesces them anyway). */
		uint64_t p = timer_period_ns(vl), late = now - vl->timer_expire_ns;
		vl->timer_expire_ns = sat_add(sat_add(vl->timer_expire_ns, late - late % p), p);
	} else {
		timer_disarm(vl); /* one-shot: count stays 0; deadline: the MSR clears (11.5.4.1) */
	}
	lvt_fire(vl, VLAPIC_LVT_TIMER); /* a masked timer counts but delivers nothing */
}

/* Guest TSC <-> ns at tsc_hz without 128-bit arithmetic (no libgcc in the kernel). */
static uint64_t ns_to_tsc(const struct vlapic *vl, uint64_t ns)
{
	uint64_t q = ns / NS_PER_SEC, r = ns % NS_PER_SEC;

	if (q >= UINT64_MAX / vl->tsc_hz)
		return UINT64_MAX;
	return q * vl->tsc_hz + r * vl->tsc_hz / NS_PER_SEC;
}

static uint64_t tsc_delta_to_ns_ceil(const struct vlapic *vl, uint64_t delta)
{
	uint64_t q = delta / vl->tsc_hz, r = delta % vl->tsc_hz;
	uint64_t frac = (r * NS_PER_SEC + vl->tsc_hz - 1) / vl->tsc_hz;

	if (q > (VDEV_NEVER - 1 - NS_PER_SEC) / NS_PER_SEC)
		return VDEV_NEVER - 1;
	return q * NS_PER_SEC + frac;
}

static uint64_t guest_tsc(const struct vlapic *vl, uint64_t now)
{
	if (vl->ops && vl->ops->guest_tsc)
		return vl->ops->guest_tsc(vl->ctx);
	return ns_to_tsc(vl, now);
}

uint64_t vlapic_get_tsc_deadline(struct vlapic *vl)
{
	if (timer_mode(vl) != TIMER_DEADLINE)
		return 0;
	vlapic_advance(vl, now_ns(vl)); /* a masked deadline that passed reads 0 */
	return vl->tsc_deadline;
}

void vlapic_set_tsc_deadline(struct vlapic *vl, uint64_t value)
{
	uint64_t now, tsc;

	if (timer_mode(vl) != TIMER_DEADLINE)
		return; /* ignored in the other modes (11.5.4.1) */
	now = now_ns(vl);
	vlapic_advance(vl, now);
	vl->tsc_deadline = value;
	if (!value) {
		vl->timer_expire_ns = VDEV_NEVER;
		return;
	}
	tsc = guest_tsc(vl, now);
	vl->timer_expire_ns = value <= tsc ? now : sat_add(now, tsc_delta_to_ns_ceil(vl, value - tsc));
	vlapic_advance(vl, now); /* a deadline already passed fires at once */
}

static void timer_write_lvt(struct vlapic *vl, uint32_t value)
{
	uint32_t old_mode = timer_mode(vl);

	vlapic_advance(vl, now_ns(vl)); /* what was due fires under the old setting */
	vl->lvt[VLAPIC_LVT_TIMER] = value;
	/* Entering or leaving TSC-deadline mode disarms the timer (11.5.4.1); one-shot <-> periodic
	 * keeps the count running and takes effect at its end. */
	if ((old_mode == TIMER_DEADLINE) != (timer_mode(vl) == TIMER_DEADLINE)) {
		vl->timer_initial = 0;
		timer_disarm(vl);
	}
}

static void timer_write_initial(struct vlapic *vl, uint32_t value)
{
	uint64_t now = now_ns(vl);

	if (timer_mode(vl) == TIMER_DEADLINE)
		return; /* ignored in TSC-deadline mode (11.5.4.1) */
	vlapic_advance(vl, now);
	vl->timer_initial = value;
	/* Writing the initial count (re)starts the count; 0 stops it (11.5.4). */
	vl->timer_expire_ns = value ? sat_add(now, (uint64_t)value * timer_tick_ns(vl)) : VDEV_NEVER;
}

static void timer_write_dcr(struct vlapic *vl, uint32_t value)
{
	uint64_t now = now_ns(vl);
	uint32_t count;

	vlapic_advance(vl, now);
	count = timer_current(vl, now);
	vl->timer_dcr = value & DCR_VALID;
	/* The remaining count goes on at the new rate. */
	if (timer_mode(vl) != TIMER_DEADLINE && vl->timer_expire_ns != VDEV_NEVER && count)
		vl->timer_expire_ns = sat_add(now, (uint64_t)count * timer_tick_ns(vl));
}

/* ---- register writes shared by both modes ---------------------------------------------------- */

static void lvt_write(struct vlapic *vl, enum vlapic_lvt i, uint32_t value)
{
	uint32_t v = value & lvt_writable[i];

	if (i == VLAPIC_LVT_TIMER && LVT_TIMER_MODE(v) == 3)
		v &= ~LVT_TIMER_MODE_MASK; /* reserved mode (xAPIC; x2APIC #GPs first): one-shot */
	if (!sw_enabled(vl))
		v |= LVT_MASKED; /* cannot be unmasked while software-disabled (11.4.7.2) */
	if (i == VLAPIC_LVT_LINT0 || i == VLAPIC_LVT_LINT1)
		v |= vl->lvt[i] & LVT_REMOTE_IRR;
	if (i == VLAPIC_LVT_TIMER) {
		timer_write_lvt(vl, v);
		return;
	}
	vl->lvt[i] = v;
	if (i == VLAPIC_LVT_LINT0 || i == VLAPIC_LVT_LINT1)
		lint_recheck(vl);
}

static void svr_write(struct vlapic *vl, uint32_t value)
{
	vlapic_advance(vl, now_ns(vl)); /* the timer's due interrupt fires before the LVTs mask */
	vl->svr = value & SVR_VALID;
	if (!(vl->svr & SVR_ENABLE))
		for (unsigned i = 0; i < VLAPIC_LVT_COUNT; i++)
			vl->lvt[i] |= LVT_MASKED;
}

/* EOI: the highest in-service vector retires; level-triggered ones are broadcast (11.8.5). */
static void do_eoi(struct vlapic *vl)
{
	int v = vec_highest(vl->isr);
	bool broadcast;

	if (v < 0)
		return;
	vec_clear(vl->isr, (unsigned)v);
	for (unsigned i = VLAPIC_LVT_LINT0; i <= VLAPIC_LVT_LINT1; i++)
		if ((vl->lvt[i] & LVT_REMOTE_IRR) && (vl->lvt[i] & LVT_VECTOR) == (uint32_t)v)
			vl->lvt[i] &= ~LVT_REMOTE_IRR;
	broadcast = vec_test(vl->tmr, (unsigned)v) && !(vl->svr & SVR_SUPPRESS_EOI);
	lint_recheck(vl);
	if (broadcast && vl->ops && vl->ops->eoi)
		vl->ops->eoi(vl->ctx, (uint8_t)v);
}

static void esr_write(struct vlapic *vl)
{
	/* Write-then-read: the write exposes the errors logged since the previous write (11.5.3). */
	vl->esr = vl->esr_pending;
	vl->esr_pending = 0;
}

/* ICR send (11.6.1). dest: ICR[63:56] in xAPIC mode, ICR[63:32] in x2APIC mode. */
static void send_ipi(struct vlapic *vl, uint32_t lo, uint32_t dest)
{
	uint32_t dm = LVT_DM(lo), sh = ICR_SHORTHAND(lo);
	bool x2 = x2apic_mode(vl), self;
	struct vlapic_ipi ipi = {
		.msg = { .dest = dest, .dest_logical = lo & ICR_DEST_LOGICAL, .vector = (uint8_t)lo,
			 .delivery = (uint8_t)dm, .level_triggered = false },
		.x2apic = x2,
		.all_but_self = false,
	};

	switch (dm) {
	case DM_FIXED:
	case DM_LOWEST:
		if (ipi.msg.vector < 16) {
			set_error(vl, VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
			return;
		}
		break;
	case DM_INIT:
		/* INIT level de-assert (level 0, trigger level): no effect on current CPUs (11.6.1). */
		if (!(lo & ICR_LEVEL_ASSERT) && (lo & ICR_TRIGGER_LEVEL))
			return;
		break;
	case DM_NMI:
	case DM_SIPI:
		break;
	default: /* SMI (no SMM in guests), reserved modes */
		return;
	}
	/* Self and all-including-self are valid only with fixed delivery (11.6.1, table "valid
	 * combinations for the local xAPIC ICR"); the other combinations are dropped. */
	switch (sh) {
	case SH_SELF:
		if (dm == DM_FIXED)
			vlapic_accept(vl, &ipi.msg);
		return;
	case SH_ALL:
		if (dm != DM_FIXED)
			return;
		vlapic_accept(vl, &ipi.msg);
		ipi.all_but_self = true;
		break;
	case SH_OTHERS:
		ipi.all_but_self = true;
		break;
	default:
		self = vlapic_match_dest(vl, dest, ipi.msg.dest_logical, x2);
		if (self)
			vlapic_accept(vl, &ipi.msg);
		if (self && dm == DM_LOWEST)
			return; /* one target for lowest priority: the sender itself */
		if (self && !ipi.msg.dest_logical && dest != (x2 ? 0xffffffffu : 0xffu))
			return; /* physical unicast to itself */
		break;
	}
	if (vl->ops && vl->ops->send_ipi)
		vl->ops->send_ipi(vl->ctx, vl, &ipi);
}

/* Registers that read the same in both modes (offset is the xAPIC offset). */
static bool read_common(struct vlapic *vl, uint32_t off, uint32_t *value)
{
	switch (off) {
	case REG_VERSION:
		*value = VLAPIC_VERSION;
		return true;
	case REG_TPR:
		*value = vl->tpr;
		return true;
	case REG_PPR:
		*value = compute_ppr(vl);
		return true;
	case REG_SVR:
		*value = vl->svr;
		return true;
	case REG_ESR:
		*value = vl->esr;
		return true;
	case REG_LVT_CMCI:
		*value = vl->lvt[VLAPIC_LVT_CMCI];
		return true;
	case REG_TIMER_INITIAL:
		*value = vl->timer_initial;
		return true;
	case REG_TIMER_CURRENT:
		*value = timer_current(vl, now_ns(vl));
		return true;
	case REG_TIMER_DCR:
		*value = vl->timer_dcr;
		return true;
	}
	if (off >= REG_ISR0 && off < REG_ISR0 + 0x80) {
		*value = vl->isr[((off - REG_ISR0) >> 4) & 7];
		return true;
	}
	if (off >= REG_TMR0 && off < REG_TMR0 + 0x80) {
		*value = vl->tmr[((off - REG_TMR0) >> 4) & 7];
		return true;
	}
	if (off >= REG_IRR0 && off < REG_IRR0 + 0x80) {
		*value = vl->irr[((off - REG_IRR0) >> 4) & 7];
		return true;
	}
	if (off >= REG_LVT_TIMER && off <= REG_LVT_ERROR) {
		*value = vl->lvt[((off - REG_LVT_TIMER) >> 4) % VLAPIC_LVT_COUNT];
		return true;
	}
	return false;
}

static enum vlapic_lvt lvt_index(uint32_t off)
{
	return off == REG_LVT_CMCI ? VLAPIC_LVT_CMCI : (enum vlapic_lvt)(((off - REG_LVT_TIMER) >> 4) % 6);
}

static bool is_lvt(uint32_t off)
{
	return off == REG_LVT_CMCI || (off >= REG_LVT_TIMER && off <= REG_LVT_ERROR);
}

/* ---- xAPIC MMIO ------------------------------------------------------------------------------ */

static bool mmio_decoded(const struct vlapic *vl)
{
	return hw_enabled(vl) && !x2apic_mode(vl);
}

uint64_t vlapic_mmio_base(const struct vlapic *vl)
{
	return mmio_decoded(vl) ? vl->apic_base & ~0xfffull : VLAPIC_NO_MMIO;
}

/* One register at a 16-byte aligned offset; false for reserved offsets. */
static bool xapic_read(struct vlapic *vl, uint32_t off, uint32_t *value)
{
	if (read_common(vl, off, value))
		return true;
	switch (off) {
	case REG_ID:
		*value = (uint32_t)vl->xapic_id << 24;
		return true;
	case REG_APR:
		*value = compute_apr(vl);
		return true;
	case REG_EOI: /* write-only */
	case REG_RRD: /* remote read: not supported, reads 0 */
		*value = 0;
		return true;
	case REG_LDR:
		*value = vl->ldr;
		return true;
	case REG_DFR:
		*value = vl->dfr | 0x0fffffffu;
		return true;
	case REG_ICR_LO:
		*value = vl->icr_lo; /* delivery status: always idle */
		return true;
	case REG_ICR_HI:
		*value = vl->icr_hi;
		return true;
	}
	*value = 0;
	return false;
}

static void xapic_write(struct vlapic *vl, uint32_t off, uint32_t value)
{
	if (is_lvt(off)) {
		lvt_write(vl, lvt_index(off), value);
		return;
	}
	switch (off) {
	case REG_ID:
		vl->xapic_id = (uint8_t)(value >> 24);
		return;
	case REG_TPR:
		vl->tpr = value & 0xffu;
		return;
	case REG_EOI:
		do_eoi(vl);
		return;
	case REG_LDR:
		vl->ldr = value & 0xff000000u;
		return;
	case REG_DFR:
		vl->dfr = (value & 0xf0000000u) | 0x0fffffffu;
		return;
	case REG_SVR:
		svr_write(vl, value);
		return;
	case REG_ESR:
		esr_write(vl);
		return;
	case REG_ICR_LO:
		vl->icr_lo = value & ICR_LO_VALID;
		send_ipi(vl, vl->icr_lo, vl->icr_hi >> 24);
		return;
	case REG_ICR_HI:
		vl->icr_hi = value & ICR_HI_VALID;
		return;
	case REG_TIMER_INITIAL:
		timer_write_initial(vl, value);
		return;
	case REG_TIMER_DCR:
		timer_write_dcr(vl, value);
		return;
	case REG_VERSION: /* read-only registers: writes ignored */
	case REG_APR:
	case REG_PPR:
	case REG_RRD:
	case REG_TIMER_CURRENT:
		return;
	}
	if (off >= REG_ISR0 && off < REG_IRR0 + 0x80)
		return; /* ISR, TMR, IRR: read-only */
	set_error(vl, VLAPIC_ESR_ILLEGAL_REGISTER);
}

bool vlapic_mmio_read(struct vlapic *vl, uint64_t offset, unsigned size, uint64_t *value)
{
	uint64_t result = 0;
	uint32_t reg = 0, slot = UINT32_MAX;
	bool reserved = false;

	if (!mmio_decoded(vl) || offset >= VLAPIC_PAGE_SIZE) {
		*value = ~0ull;
		return false;
	}
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		*value = 0;
		return true;
	}
	/* Byte by byte from the register image: registers in bytes 0-3 of their slot, zeros elsewhere. */
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = offset + i;
		if (o >= VLAPIC_PAGE_SIZE)
			break;
		if ((o & 0xf) >= 4)
			continue;
		if ((uint32_t)(o & ~0xfull) != slot) {
			slot = (uint32_t)(o & ~0xfull);
			if (!xapic_read(vl, slot, &reg))
				reserved = true;
		}
		result |= (uint64_t)((reg >> (8 * (o & 3))) & 0xffu) << (8 * i);
	}
	if (reserved)
		set_error(vl, VLAPIC_ESR_ILLEGAL_REGISTER);
	*value = result;
	return true;
}

bool vlapic_mmio_write(struct vlapic *vl, uint64_t offset, unsigned size, uint64_t value)
{
	if (!mmio_decoded(vl) || offset >= VLAPIC_PAGE_SIZE)
		return false;
	/* Only 32-bit accesses at a register's start are defined (11.4.1); others are dropped. */
	if ((size != 4 && size != 8) || (offset & 0xf))
		return true;
	xapic_write(vl, (uint32_t)offset, (uint32_t)value);
	return true;
}

/* ---- x2APIC MSRs (11.12.1) -------------------------------------------------------------------- */

static bool x2apic_read(struct vlapic *vl, uint32_t index, uint64_t *value)
{
	uint32_t off = index << 4, v;

	switch (off) {
	case REG_ID:
		*value = vl->x2apic_id;
		return true;
	case REG_LDR:
		*value = x2apic_ldr(vl);
		return true;
	case REG_ICR_LO:
		*value = ((uint64_t)vl->icr_hi << 32) | vl->icr_lo;
		return true;
	case REG_APR: /* no APR, RRD, DFR, ICR high in x2APIC mode; EOI and SELF IPI write-only */
	case REG_RRD:
	case REG_DFR:
	case REG_ICR_HI:
	case REG_EOI:
	case REG_SELF_IPI:
		return false;
	}
	if (!read_common(vl, off, &v))
		return false;
	*value = v;
	return true;
}

/* Non-reserved bits of each writable x2APIC register: a 1 elsewhere is #GP (11.12.1.3). */
static bool x2apic_write(struct vlapic *vl, uint32_t index, uint64_t value)
{
	uint32_t off = index << 4, lo = (uint32_t)value;

	if (off == REG_ICR_LO) {
		/* One 64-bit register; delivery status (bit 12) is reserved in x2APIC mode. */
		if (lo & ~ICR_LO_VALID)
			return false;
		vl->icr_lo = lo;
		vl->icr_hi = (uint32_t)(value >> 32);
		send_ipi(vl, lo, vl->icr_hi);
		return true;
	}
	if (value >> 32)
		return false;
	if (is_lvt(off)) {
		enum vlapic_lvt i = lvt_index(off);
		uint32_t ok = lvt_writable[i] | LVT_STATUS;
		if (i == VLAPIC_LVT_LINT0 || i == VLAPIC_LVT_LINT1)
			ok |= LVT_REMOTE_IRR;
		if ((lo & ~ok) || (i == VLAPIC_LVT_TIMER && LVT_TIMER_MODE(lo) == 3))
			return false;
		lvt_write(vl, i, lo);
		return true;
	}
	switch (off) {
	case REG_TPR:
		if (lo & ~0xffu)
			return false;
		vl->tpr = lo;
		return true;
	case REG_EOI:
		if (lo)
			return false;
		do_eoi(vl);
		return true;
	case REG_SVR:
		if (lo & ~SVR_VALID)
			return false;
		svr_write(vl, lo);
		return true;
	case REG_ESR:
		if (lo)
			return false;
		esr_write(vl);
		return true;
	case REG_TIMER_INITIAL:
		timer_write_initial(vl, lo);
		return true;
	case REG_TIMER_DCR:
		if (lo & ~DCR_VALID)
			return false;
		timer_write_dcr(vl, lo);
		return true;
	case REG_SELF_IPI:
		/* SELF IPI (11.12.11): fixed, edge, to this APIC only. */
		if (lo & ~0xffu)
			return false;
		if (lo < 16) {
			set_error(vl, VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
			return true;
		}
		deliver_fixed(vl, (uint8_t)lo, false);
		return true;
	}
	return false; /* read-only (ID, version, LDR, PPR, ISR/TMR/IRR, current count) or reserved */
}

/* ---- MSR entry points ------------------------------------------------------------------------- */

bool vlapic_owns_msr(uint32_t msr)
{
	return msr == VLAPIC_MSR_APIC_BASE || msr == VLAPIC_MSR_TSC_DEADLINE ||
	       (msr >= VLAPIC_MSR_X2APIC_FIRST && msr <= VLAPIC_MSR_X2APIC_LAST);
}

bool vlapic_msr_read(struct vlapic *vl, uint32_t msr, uint64_t *value)
{
	*value = 0;
	if (msr == VLAPIC_MSR_APIC_BASE) {
		*value = vl->apic_base;
		return true;
	}
	if (msr == VLAPIC_MSR_TSC_DEADLINE) {
		*value = vlapic_get_tsc_deadline(vl);
		return true;
	}
	if (msr < VLAPIC_MSR_X2APIC_FIRST || msr > VLAPIC_MSR_X2APIC_LAST || !x2apic_mode(vl))
		return false;
	return x2apic_read(vl, msr - VLAPIC_MSR_X2APIC_FIRST, value);
}

bool vlapic_msr_write(struct vlapic *vl, uint32_t msr, uint64_t value)
{
	if (msr == VLAPIC_MSR_APIC_BASE)
		return vlapic_set_apic_base(vl, value);
	if (msr == VLAPIC_MSR_TSC_DEADLINE) {
		vlapic_set_tsc_deadline(vl, value);
		return true;
	}
	if (msr < VLAPIC_MSR_X2APIC_FIRST || msr > VLAPIC_MSR_X2APIC_LAST || !x2apic_mode(vl))
		return false;
	return x2apic_write(vl, msr - VLAPIC_MSR_X2APIC_FIRST, value);
}

/* ---- IA32_APIC_BASE (11.4.4, 11.12.5) ---------------------------------------------------------- */

/* Power-up values of everything but the IDs, IA32_APIC_BASE, the latches and the LINT pins
 * (11.4.7.1, 11.12.5.1). */
static void reset_registers(struct vlapic *vl)
{
	vl->tpr = 0;
	vl->svr = 0xff;
	vl->ldr = 0;
	vl->dfr = 0xffffffffu;
	vl->esr = vl->esr_pending = 0;
	vl->icr_lo = vl->icr_hi = 0;
	for (unsigned i = 0; i < VLAPIC_LVT_COUNT; i++)
		vl->lvt[i] = LVT_MASKED;
	memset(vl->irr, 0, sizeof(vl->irr));
	memset(vl->isr, 0, sizeof(vl->isr));
	memset(vl->tmr, 0, sizeof(vl->tmr));
	vl->timer_initial = 0;
	vl->timer_dcr = 0;
	timer_disarm(vl);
	vl->in_error = false;
}

uint64_t vlapic_get_apic_base(const struct vlapic *vl)
{
	return vl->apic_base;
}

bool vlapic_set_apic_base(struct vlapic *vl, uint64_t value)
{
	uint64_t reserved = BASE_LOW_RESERVED | ~((1ull << vl->maxphyaddr) - 1);
	bool en = value & VLAPIC_BASE_EN, extd = value & VLAPIC_BASE_EXTD;
	bool was_en = hw_enabled(vl), was_x2 = x2apic_mode(vl);

	if (!vl->x2apic_cap)
		reserved |= VLAPIC_BASE_EXTD;
	if (value & reserved)
		return false;
	if (!en && extd)
		return false; /* the invalid state */
	if (was_x2 && en && !extd)
		return false; /* x2APIC -> xAPIC only through disabled */
	if (!was_en && en && extd)
		return false; /* disabled -> x2APIC only through xAPIC */
	if (was_en && !en)
		reset_registers(vl); /* registers lost; re-enabling starts from power-up values */
	vl->apic_base = value;
	return true;
}

/* ---- messages in -------------------------------------------------------------------------------- */

bool vlapic_match_dest(const struct vlapic *vl, uint32_t dest, bool logical, bool x2apic)
{
	uint8_t d, l;

	if (!hw_enabled(vl))
		return false;
	if (!x2apic)
		dest &= 0xffu;
	if (dest == (x2apic ? 0xffffffffu : 0xffu))
		return true; /* broadcast, physical or logical */
	if (x2apic_mode(vl)) {
		uint32_t ldr = x2apic_ldr(vl);
		if (!logical)
			return dest == vl->x2apic_id;
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffffu) != 0;
	}
	if (dest > 0xffu)
		return false; /* an x2APIC destination no xAPIC can have */
	d = (uint8_t)dest;
	if (!logical)
		return d == vl->xapic_id;
	l = (uint8_t)(vl->ldr >> 24);
	switch (vl->dfr >> 28) {
	case 0xf: /* flat: one bit per APIC (11.6.2.2) */
		return (d & l) != 0;
	case 0x0: /* cluster: 4-bit cluster, 4 member bits */
		return (d >> 4) == (l >> 4) && (d & l & 0xfu) != 0;
	default:
		return false;
	}
}

bool vlapic_accept(struct vlapic *vl, const struct vdev_msi *msg)
{
	if (!hw_enabled(vl))
		return false;
	switch (msg->delivery) {
	case DM_FIXED:
	case DM_LOWEST:
		return deliver_fixed(vl, msg->vector, msg->level_triggered);
	case DM_NMI:
		vl->nmi_pending = true;
		return true;
	case DM_INIT:
		vl->init_pending = true;
		return true;
	case DM_SIPI:
		vl->sipi_pending = true;
		vl->sipi_vector = msg->vector;
		return true;
	case DM_EXTINT:
		vl->extint_pending = true;
		return true;
	default:
		return false;
	}
}

void vlapic_set_lint(struct vlapic *vl, unsigned pin, bool level)
{
	bool was;
	uint32_t lvt;

	if (pin > 1)
		return;
	was = vl->lint_level[pin];
	vl->lint_level[pin] = level;
	if (!level)
		return;
	if (!hw_enabled(vl)) {
		if (pin == 1 && !was)
			vl->nmi_pending = true; /* no APIC: LINT1 is the NMI pin */
		return;
	}
	lvt = vl->lvt[pin ? VLAPIC_LVT_LINT1 : VLAPIC_LVT_LINT0];
	if (!was || (LVT_DM(lvt) == DM_FIXED && (lvt & LVT_LEVEL)))
		lvt_fire(vl, pin ? VLAPIC_LVT_LINT1 : VLAPIC_LVT_LINT0);
}

/* ---- the core's questions -------------------------------------------------------------------- */

int vlapic_pending_intr(const struct vlapic *vl)
{
	int v;

	if (!sw_enabled(vl))
		return -1;
	v = vec_highest(vl->irr);
	if (v < 0 || ((uint32_t)v & 0xf0u) <= (compute_ppr(vl) & 0xf0u))
		return -1;
	return v;
}

void vlapic_intr_accepted(struct vlapic *vl, uint8_t vector)
{
	if (!vec_test(vl->irr, vector))
		return;
	vec_clear(vl->irr, vector);
	vec_set(vl->isr, vector);
}

bool vlapic_pic_intr_allowed(const struct vlapic *vl)
{
	uint32_t lvt = vl->lvt[VLAPIC_LVT_LINT0];

	if (!hw_enabled(vl))
		return true;
	return sw_enabled(vl) && !(lvt & LVT_MASKED) && LVT_DM(lvt) == DM_EXTINT;
}

bool vlapic_nmi_pending(const struct vlapic *vl)
{
	return vl->nmi_pending;
}

bool vlapic_take_nmi(struct vlapic *vl)
{
	bool p = vl->nmi_pending;

	vl->nmi_pending = false;
	return p;
}

bool vlapic_init_pending(const struct vlapic *vl)
{
	return vl->init_pending;
}

bool vlapic_take_init(struct vlapic *vl)
{
	bool p = vl->init_pending;

	vl->init_pending = false;
	return p;
}

bool vlapic_sipi_pending(const struct vlapic *vl)
{
	return vl->sipi_pending;
}

bool vlapic_take_sipi(struct vlapic *vl, uint8_t *vector)
{
	bool p = vl->sipi_pending;

	*vector = vl->sipi_vector;
	vl->sipi_pending = false;
	return p;
}

bool vlapic_extint_pending(const struct vlapic *vl)
{
	return vl->extint_pending;
}

bool vlapic_take_extint(struct vlapic *vl)
{
	bool p = vl->extint_pending;

	vl->extint_pending = false;
	return p;
}

uint8_t vlapic_get_tpr(const struct vlapic *vl)
{
	return (uint8_t)vl->tpr;
}

void vlapic_set_tpr(struct vlapic *vl, uint8_t tpr)
{
	vl->tpr = tpr;
}

bool vlapic_hw_enabled(const struct vlapic *vl)
{
	return hw_enabled(vl);
}

bool vlapic_sw_enabled(const struct vlapic *vl)
{
	return sw_enabled(vl);
}

bool vlapic_x2apic_mode(const struct vlapic *vl)
{
	return x2apic_mode(vl);
}

uint32_t vlapic_id(const struct vlapic *vl)
{
	return x2apic_mode(vl) ? vl->x2apic_id : vl->xapic_id;
}

uint8_t vlapic_ppr(const struct vlapic *vl)
{
	return (uint8_t)compute_ppr(vl);
}

bool vlapic_bsp(const struct vlapic *vl)
{
	return vl->apic_base & VLAPIC_BASE_BSP;
}

/* ---- life cycle -------------------------------------------------------------------------------- */

void vlapic_reset(struct vlapic *vl, bool init)
{
	if (!init) {
		vl->apic_base = VLAPIC_DEFAULT_BASE | VLAPIC_BASE_EN | (vl->bsp_at_reset ? VLAPIC_BASE_BSP : 0);
		vl->xapic_id = (uint8_t)vl->x2apic_id;
		vl->nmi_pending = vl->init_pending = vl->sipi_pending = vl->extint_pending = false;
		vl->sipi_vector = 0;
		vl->lint_level[0] = vl->lint_level[1] = false;
	}
	reset_registers(vl);
}

void vlapic_set_caps(struct vlapic *vl, unsigned maxphyaddr, bool x2apic)
{
	vl->maxphyaddr = (uint8_t)(maxphyaddr < 36 ? 36 : maxphyaddr > 52 ? 52 : maxphyaddr);
	vl->x2apic_cap = x2apic;
}

void vlapic_init(struct vlapic *vl, const struct vdev_env *env, const struct vlapic_ops *ops, void *ctx,
		 uint32_t apic_id, bool bsp, uint64_t tsc_hz)
{
	memset(vl, 0, sizeof(*vl));
	vl->env = env;
	vl->ops = ops;
	vl->ctx = ctx;
	vl->x2apic_id = apic_id;
	vl->bsp_at_reset = bsp;
	vl->x2apic_cap = true;
	vl->maxphyaddr = 36;
	vl->tsc_hz = tsc_hz < TSC_HZ_MIN ? TSC_HZ_MIN : tsc_hz > TSC_HZ_MAX ? TSC_HZ_MAX : tsc_hz;
	vlapic_reset(vl, false);
}
