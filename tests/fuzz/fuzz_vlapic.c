/*
 * libFuzzer target for kernel/vmm/vlapic.c: three vlapics on a fake fabric (IPIs routed by
 * vlapic_match_dest, an IOAPIC stand-in that re-delivers a level vector from inside the EOI
 * callback), driven by a random sequence of guest MMIO/MSR/APIC_BASE accesses, incoming
 * messages, LINT pin changes, the core's injection steps, INIT/RESET and time advances.
 * Besides the sanitizers it checks after every step, for every vlapic, invariants computed
 * independently of the code under test: no vector 0-15 in IRR/ISR/TMR, PPR = max(TPR, ISR
 * class) rule, the deliverable vector above PPR, every register free of reserved bits, LVTs
 * masked while software-disabled, timer counts within the initial count, deadlines in the future
 * after advance, and APIC_BASE never in the invalid state.
 *
 * Input: a sequence of [op] [args...] records; see step() for each op's arguments.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/vlapic.h>

#define CHECK(c)                                                                                       \
	do {                                                                                           \
		if (!(c))                                                                              \
			__builtin_trap();                                                              \
	} while (0)

#define N 3
#define MAX_STEPS 4096

struct fz {
	struct vlapic apic[N];
	uint64_t now;
	int reassert; /* level vector the fake IOAPIC re-delivers on EOI, -1 none */
	unsigned depth;
};

static struct fz F;

static uint64_t f_now(void *ctx)
{
	CHECK(ctx == &F);
	return F.now;
}

static const struct vdev_env ENV = { .ctx = &F, .now_ns = f_now };

static void f_send(void *ctx, struct vlapic *from, const struct vlapic_ipi *ipi)
{
	CHECK(ctx == &F);
	CHECK(from >= &F.apic[0] && from < &F.apic[N]);
	CHECK(!ipi->msg.level_triggered);
	CHECK(ipi->msg.delivery == 0 || ipi->msg.delivery == 1 || ipi->msg.delivery == 4 ||
	      ipi->msg.delivery == 5 || ipi->msg.delivery == 6);
	CHECK(++F.depth < 4);
	for (unsigned i = 0; i < N; i++) {
		struct vlapic *t = &F.apic[i];
		if (t == from)
			continue;
		if (ipi->all_but_self || vlapic_match_dest(t, ipi->msg.dest, ipi->msg.dest_logical, ipi->x2apic)) {
			vlapic_accept(t, &ipi->msg);
			if (ipi->msg.delivery == 1)
				break;
		}
	}
	F.depth--;
}

static void f_eoi(void *ctx, uint8_t vector)
{
	CHECK(ctx == &F);
	CHECK(vector >= 16);
	CHECK(++F.depth < 4);
	if (F.reassert == vector) {
		struct vdev_msi m = { .dest = 0xff, .vector = vector, .delivery = 0, .level_triggered = true };
		for (unsigned i = 0; i < N; i++)
			if (vlapic_match_dest(&F.apic[i], m.dest, false, false))
				vlapic_accept(&F.apic[i], &m);
	}
	F.depth--;
}

static uint64_t f_tsc(void *ctx)
{
	CHECK(ctx == &F);
	return F.now * 3 + 12345;
}

static const struct vlapic_ops OPS = { .send_ipi = f_send, .eoi = f_eoi, .guest_tsc = f_tsc };

/* ---- input ---------------------------------------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		uint8_t b = 0;
		if (in->n) {
			b = *in->p++;
			in->n--;
		}
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

/* ---- independent invariants ----------------------------------------------------------------- */

static int highest(const uint32_t *a)
{
	for (int v = 255; v >= 0; v--)
		if ((a[v / 32] >> (v % 32)) & 1)
			return v;
	return -1;
}

static const uint32_t lvt_ok[VLAPIC_LVT_COUNT] = { 0x700ff, 0x107ff, 0x107ff, 0x1e7ff, 0x1e7ff, 0x100ff, 0x107ff };

static void check(struct vlapic *vl, bool after_advance)
{
	uint64_t base = vl->apic_base, v;
	bool en = base & VLAPIC_BASE_EN, x2 = base & VLAPIC_BASE_EXTD;
	int isrv = highest(vl->isr), p;
	uint32_t ppr;

	CHECK(!(x2 && !en));
	CHECK((base & 0x2ffull) == 0);
	CHECK((base >> 36) == 0 || vl->maxphyaddr > 36);
	CHECK(((vl->irr[0] | vl->isr[0] | vl->tmr[0]) & 0xffffu) == 0);
	/* PPR (SDM 11.8.3.1) */
	ppr = isrv >= 0 && ((uint32_t)isrv & 0xf0) > (vl->tpr & 0xf0) ? (uint32_t)isrv & 0xf0 : vl->tpr;
	CHECK(vlapic_ppr(vl) == ppr);
	CHECK(vl->tpr <= 0xff);
	p = vlapic_pending_intr(vl);
	if (p >= 0) {
		CHECK(p >= 16 && p <= 255);
		CHECK((vl->irr[p / 32] >> (p % 32)) & 1);
		CHECK(((uint32_t)p & 0xf0) > (ppr & 0xf0));
		CHECK(p == highest(vl->irr));
		CHECK(en && (vl->svr & 0x100));
	} else if (en && (vl->svr & 0x100) && highest(vl->irr) >= 0) {
		CHECK(((uint32_t)highest(vl->irr) & 0xf0) <= (ppr & 0xf0));
	}
	/* registers free of reserved bits */
	CHECK((vl->svr & ~0x13ffu) == 0);
	CHECK((vl->timer_dcr & ~0xbu) == 0);
	CHECK((vl->ldr & 0x00ffffffu) == 0);
	CHECK((vl->dfr & 0x0fffffffu) == 0x0fffffffu);
	CHECK((vl->icr_lo & ~0x000ccfffu) == 0);
	CHECK((vl->esr | vl->esr_pending) <= 0xe0u && ((vl->esr | vl->esr_pending) & 0x1f) == 0);
	for (unsigned i = 0; i < VLAPIC_LVT_COUNT; i++) {
		CHECK((vl->lvt[i] & ~lvt_ok[i]) == 0);
		if (!(vl->svr & 0x100))
			CHECK(vl->lvt[i] & (1u << 16));
	}
	CHECK(((vl->lvt[VLAPIC_LVT_TIMER] >> 17) & 3) != 3);
	/* timer */
	if (((vl->lvt[VLAPIC_LVT_TIMER] >> 17) & 3) == 2) {
		CHECK(vl->timer_initial == 0);
		CHECK((vl->timer_expire_ns == VDEV_NEVER) == (vl->tsc_deadline == 0));
	} else {
		CHECK(vl->tsc_deadline == 0);
		CHECK(vl->timer_initial != 0 || vl->timer_expire_ns == VDEV_NEVER);
	}
	if (after_advance) {
		CHECK(vl->timer_expire_ns == VDEV_NEVER || vl->timer_expire_ns > F.now);
		CHECK(vlapic_next_deadline(vl) > F.now);
	}
	/* the guest's view through whichever interface is live */
	if (en && !x2) {
		CHECK(vlapic_mmio_base(vl) == (base & ~0xfffull));
		CHECK(vlapic_mmio_read(vl, 0x390, 4, &v) && v <= vl->timer_initial);
		CHECK(vlapic_mmio_read(vl, 0x0a0, 4, &v) && v == ppr);
	} else {
		CHECK(vlapic_mmio_base(vl) == VLAPIC_NO_MMIO);
		CHECK(!vlapic_mmio_read(vl, 0x0a0, 4, &v));
	}
	if (en && x2) {
		CHECK(vlapic_msr_read(vl, 0x839, &v) && v <= vl->timer_initial);
		CHECK(vlapic_msr_read(vl, 0x80a, &v) && v == ppr);
		CHECK(vlapic_msr_read(vl, 0x80d, &v) && v >> 16 == ((vl->x2apic_id >> 4) & 0xffff));
	} else {
		CHECK(!vlapic_msr_read(vl, 0x80a, &v));
	}
}

/* ---- steps ------------------------------------------------------------------------------------ */

static const uint32_t xapic_regs[] = { 0x020, 0x030, 0x080, 0x090, 0x0a0, 0x0b0, 0x0c0, 0x0d0, 0x0e0, 0x0f0,
				       0x100, 0x170, 0x180, 0x1f0, 0x200, 0x270, 0x280, 0x2f0, 0x300, 0x310,
				       0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3e0, 0x3f0 };

static void advance_all(void)
{
	for (unsigned i = 0; i < N; i++)
		vlapic_advance(&F.apic[i], F.now);
}

static void step(struct in *in)
{
	uint8_t op = (uint8_t)take(in, 1);
	struct vlapic *vl = &F.apic[take(in, 1) % N];
	uint64_t a, b, v;
	unsigned size;

	switch (op % 14) {
	case 0: /* MMIO write: [reg or raw offset 2] [size 1] [value 8] */
		a = take(in, 2);
		size = 1u << (take(in, 1) & 3);
		b = take(in, 8);
		if (a & 0x8000)
			a = xapic_regs[(a & 0xff) % (sizeof(xapic_regs) / sizeof(xapic_regs[0]))];
		vlapic_mmio_write(vl, a & 0x1fff, size, b);
		break;
	case 1: /* MMIO read: [offset 2] [size 1] */
		a = take(in, 2);
		size = (unsigned)take(in, 1) % 10;
		if (vlapic_mmio_read(vl, a & 0x1fff, size, &v)) {
			CHECK(size >= 8 || v >> (8 * size) == 0);
		} else {
			CHECK(v == UINT64_MAX);
		}
		break;
	case 2: /* x2APIC MSR write: [index 1] [value 8] */
		a = take(in, 1);
		vlapic_msr_write(vl, 0x800 + (uint32_t)a, take(in, 8));
		break;
	case 3: /* x2APIC MSR read: [index 1] */
		a = take(in, 1);
		if (vlapic_msr_read(vl, 0x800 + (uint32_t)a, &v) && a != 0x30)
			CHECK(v <= UINT32_MAX);
		break;
	case 4: { /* APIC_BASE write: [kind 1] [value 8] */
		static const uint64_t kinds[] = { 0xfee00000ull, 0xfee00800ull, 0xfee00c00ull, 0xfee00400ull };
		a = take(in, 1);
		b = take(in, 8);
		v = a & 4 ? b : kinds[a & 3] | (b & 0x100);
		bool ok = vlapic_msr_write(vl, VLAPIC_MSR_APIC_BASE, v);
		if (ok)
			CHECK(vl->apic_base == v);
		break;
	}
	case 5: /* time: [delta 3] */
		F.now += take(in, 3);
		advance_all();
		for (unsigned i = 0; i < N; i++)
			check(&F.apic[i], true);
		break;
	case 6: { /* message in: [vector] [delivery] [flags] */
		struct vdev_msi m = { .vector = (uint8_t)take(in, 1) };
		m.delivery = (uint8_t)(take(in, 1) & 7);
		a = take(in, 1);
		m.level_triggered = a & 1;
		m.dest_logical = a & 2;
		m.dest = a & 4 ? 0xff : (uint32_t)(a >> 3);
		for (unsigned i = 0; i < N; i++)
			if (vlapic_match_dest(&F.apic[i], m.dest, m.dest_logical, false))
				vlapic_accept(&F.apic[i], &m);
		break;
	}
	case 7: { /* the core injects what is deliverable; [flags]: bit 0 then EOI */
		int p = vlapic_pending_intr(vl);
		a = take(in, 1);
		if (p >= 0)
			vlapic_intr_accepted(vl, (uint8_t)p);
		if (a & 1) {
			if (vlapic_x2apic_mode(vl))
				vlapic_msr_write(vl, 0x80b, 0);
			else
				vlapic_mmio_write(vl, 0xb0, 4, 0);
		}
		break;
	}
	case 8: { /* latches */
		uint8_t sv;
		vlapic_take_nmi(vl);
		vlapic_take_init(vl);
		vlapic_take_sipi(vl, &sv);
		vlapic_take_extint(vl);
		vlapic_pic_intr_allowed(vl);
		break;
	}
	case 9: /* [init?] */
		vlapic_reset(vl, take(in, 1) & 1);
		break;
	case 10: /* LINT: [pin/level] */
		a = take(in, 1);
		vlapic_set_lint(vl, (unsigned)(a >> 1) & 3, a & 1);
		break;
	case 11: /* TSC deadline: [delta 3] [mode 1] */
		a = take(in, 3);
		b = take(in, 1);
		v = b & 1 ? a : b & 2 ? F.now * 3 + 12345 - a : F.now * 3 + 12345 + a;
		vlapic_msr_write(vl, VLAPIC_MSR_TSC_DEADLINE, v);
		CHECK(vlapic_msr_read(vl, VLAPIC_MSR_TSC_DEADLINE, &v));
		break;
	case 12: /* CR8 / TPR: [tpr] */
		vlapic_set_tpr(vl, (uint8_t)take(in, 1));
		break;
	case 13: /* the fake IOAPIC's asserted level vector: [vector] */
		a = take(in, 1);
		F.reassert = a < 16 ? -1 : (int)a;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	static const uint32_t ids[N] = { 0, 1, 0x21 };

	memset(&F, 0, sizeof(F));
	F.reassert = -1;
	F.now = 1000;
	for (unsigned i = 0; i < N; i++) {
		vlapic_init(&F.apic[i], &ENV, &OPS, &F, ids[i], i == 0, 2500000000ull);
		if (i == 2)
			vlapic_set_caps(&F.apic[i], 40, true);
	}
	for (unsigned s = 0; s < MAX_STEPS && in.n; s++) {
		step(&in);
		CHECK(F.depth == 0);
		for (unsigned i = 0; i < N; i++)
			check(&F.apic[i], false);
	}
	return 0;
}
