/*
 * Unit tests of kernel/vmm/vlapic.c: a fabric of fake vcpus' local APICs wired by a send_ipi that
 * follows the header's contract, a fake guest clock and guest TSC, and an IOAPIC stand-in that
 * records EOI broadcasts. Expected values are written out by hand from the Intel SDM vol. 3
 * chapter 11 (register layouts, reset values, divide table, priority rules), never computed with
 * the rules of the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv/vlapic.h>

/* ------------------------------------------------------------------------------------------------ */
/* Fake fabric, clock and IOAPIC                                                                    */

#define NCPU 8
#define MAX_EOIS 256

#define BASE_EN (1ull << 11)
#define BASE_EXTD (1ull << 10)
#define BASE_BSP (1ull << 8)
#define DEF_BASE 0xfee00000ull

/* xAPIC offsets (SDM table 11-1) */
#define ID 0x020
#define VER 0x030
#define TPR 0x080
#define APR 0x090
#define PPR 0x0a0
#define EOI 0x0b0
#define RRD 0x0c0
#define LDR 0x0d0
#define DFR 0x0e0
#define SVR 0x0f0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define LVT_CMCI 0x2f0
#define ICR_LO 0x300
#define ICR_HI 0x310
#define LVT_TIMER 0x320
#define LVT_THERMAL 0x330
#define LVT_PERF 0x340
#define LVT_LINT0 0x350
#define LVT_LINT1 0x360
#define LVT_ERROR 0x370
#define TIMER_INIT 0x380
#define TIMER_CUR 0x390
#define TIMER_DCR 0x3e0

#define MASKED (1u << 16)
#define PERIODIC (1u << 17)
#define DEADLINE (2u << 17)

/* ICR fields */
#define DM_FIXED (0u << 8)
#define DM_LOWEST (1u << 8)
#define DM_SMI (2u << 8)
#define DM_RSVD3 (3u << 8)
#define DM_NMI (4u << 8)
#define DM_INIT (5u << 8)
#define DM_SIPI (6u << 8)
#define DM_EXTINT (7u << 8)
#define LOGICAL (1u << 11)
#define ASSERT (1u << 14)
#define TRIG_LEVEL (1u << 15)
#define SH_SELF (1u << 18)
#define SH_ALL (2u << 18)
#define SH_OTHERS (3u << 18)

#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define X2(off) (0x800u + ((off) >> 4))

struct fabric {
	struct vlapic apic[NCPU];
	unsigned n;
	unsigned ipi_calls;
	struct vlapic_ipi last_ipi;
	struct vlapic *last_from;
	unsigned eois;
	uint8_t eoi_vec[MAX_EOIS];
	int reassert_vector; /* the fake IOAPIC re-delivers this level vector on its EOI (-1: off) */
	struct vlapic *reassert_to;
	uint64_t tsc_per_ns; /* guest TSC = now * tsc_per_ns + tsc_offset */
	uint64_t tsc_offset;
};

static struct fabric F;
static uint64_t fake_now;

static uint64_t env_now(void *ctx)
{
	assert_ptr_equal(ctx, &F);
	return fake_now;
}

static const struct vdev_env ENV = { .ctx = &F, .now_ns = env_now };

static void fabric_send(void *ctx, struct vlapic *from, const struct vlapic_ipi *ipi)
{
	struct fabric *f = ctx;

	assert_ptr_equal(f, &F);
	assert_true(from >= &f->apic[0] && from < &f->apic[f->n]);
	assert_false(ipi->msg.level_triggered);
	f->ipi_calls++;
	f->last_ipi = *ipi;
	f->last_from = from;
	for (unsigned i = 0; i < f->n; i++) {
		struct vlapic *t = &f->apic[i];
		if (t == from)
			continue;
		if (ipi->all_but_self || vlapic_match_dest(t, ipi->msg.dest, ipi->msg.dest_logical, ipi->x2apic)) {
			vlapic_accept(t, &ipi->msg);
			if (ipi->msg.delivery == 1)
				break; /* lowest priority: the first target */
		}
	}
}

static void fabric_eoi(void *ctx, uint8_t vector)
{
	struct fabric *f = ctx;

	assert_ptr_equal(f, &F);
	assert_true(f->eois < MAX_EOIS);
	f->eoi_vec[f->eois++] = vector;
	if (f->reassert_vector == vector) {
		/* Still asserted: the IOAPIC sends it again, from inside the EOI. */
		struct vdev_msi m = { .vector = vector, .delivery = 0, .level_triggered = true };
		vlapic_accept(f->reassert_to, &m);
	}
}

static uint64_t fabric_tsc(void *ctx)
{
	struct fabric *f = ctx;

	return fake_now * f->tsc_per_ns + f->tsc_offset;
}

static const struct vlapic_ops OPS = { .send_ipi = fabric_send, .eoi = fabric_eoi, .guest_tsc = fabric_tsc };

static void fabric_init(const uint32_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vlapic_init(&F.apic[i], &ENV, &OPS, &F, ids ? ids[i] : i, i == 0, 2000000000ull);
	F.n = n;
}

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.reassert_vector = -1;
	F.tsc_per_ns = 2;
	F.tsc_offset = 1000000;
	fake_now = 1000;
	fabric_init(NULL, NCPU);
	return 0;
}

static struct vlapic *A(unsigned i)
{
	return &F.apic[i];
}

/* ------------------------------------------------------------------------------------------------ */
/* Access helpers: through the MMIO page in xAPIC mode, the MSRs in x2APIC mode                     */

static uint32_t mr(struct vlapic *vl, uint32_t off)
{
	uint64_t v = 0;

	assert_true(vlapic_mmio_read(vl, off, 4, &v));
	assert_true(v <= UINT32_MAX);
	return (uint32_t)v;
}

static void mw(struct vlapic *vl, uint32_t off, uint32_t val)
{
	assert_true(vlapic_mmio_write(vl, off, 4, val));
}

static uint64_t xr(struct vlapic *vl, uint32_t msr)
{
	uint64_t v = 0x5a5a;

	assert_true(vlapic_msr_read(vl, msr, &v));
	return v;
}

static void xw(struct vlapic *vl, uint32_t msr, uint64_t val)
{
	assert_true(vlapic_msr_write(vl, msr, val));
}

static void xw_gp(struct vlapic *vl, uint32_t msr, uint64_t val)
{
	assert_false(vlapic_msr_write(vl, msr, val));
}

static void xr_gp(struct vlapic *vl, uint32_t msr)
{
	uint64_t v;

	assert_false(vlapic_msr_read(vl, msr, &v));
}

static uint32_t reg(struct vlapic *vl, uint32_t off)
{
	return vlapic_x2apic_mode(vl) ? (uint32_t)xr(vl, X2(off)) : mr(vl, off);
}

static void wreg(struct vlapic *vl, uint32_t off, uint32_t val)
{
	if (vlapic_x2apic_mode(vl))
		xw(vl, X2(off), val);
	else
		mw(vl, off, val);
}

static bool bit(struct vlapic *vl, uint32_t base, unsigned v)
{
	return (reg(vl, base + 0x10 * (v / 32)) >> (v % 32)) & 1;
}

static unsigned count_bits(struct vlapic *vl, uint32_t base)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 8; i++)
		n += (unsigned)__builtin_popcount(reg(vl, base + 0x10 * i));
	return n;
}

static void sw_enable(struct vlapic *vl)
{
	wreg(vl, SVR, 0x1ff);
}

static void to_x2apic(struct vlapic *vl)
{
	uint64_t base = vlapic_get_apic_base(vl);

	assert_true(vlapic_set_apic_base(vl, base | BASE_EN | BASE_EXTD));
	assert_true(vlapic_x2apic_mode(vl));
}

static struct vdev_msi msi(uint8_t vector, uint8_t delivery, bool level)
{
	struct vdev_msi m = { .dest = 0, .dest_logical = false, .vector = vector, .delivery = delivery,
			      .level_triggered = level };
	return m;
}

static bool fixed(struct vlapic *vl, uint8_t vector, bool level)
{
	struct vdev_msi m = msi(vector, 0, level);
	return vlapic_accept(vl, &m);
}

/* The core's injection of whatever is deliverable: returns the vector or -1. */
static int take(struct vlapic *vl)
{
	int v = vlapic_pending_intr(vl);

	if (v >= 0)
		vlapic_intr_accepted(vl, (uint8_t)v);
	return v;
}

static uint32_t esr(struct vlapic *vl)
{
	wreg(vl, ESR, 0);
	return reg(vl, ESR);
}

/* xAPIC ICR write: high then low, as software does. */
static void icr(struct vlapic *vl, uint8_t dest, uint32_t lo)
{
	mw(vl, ICR_HI, (uint32_t)dest << 24);
	mw(vl, ICR_LO, lo);
}

static void enable_all(void)
{
	for (unsigned i = 0; i < F.n; i++)
		sw_enable(A(i));
}

/* ------------------------------------------------------------------------------------------------ */
/* Reset values (SDM 11.4.7.1, 11.12.5.1)                                                            */

static void test_reset_values(void **state)
{
	(void)state;
	struct vlapic *vl = A(3);

	assert_int_equal(vlapic_get_apic_base(A(0)), DEF_BASE | BASE_EN | BASE_BSP);
	assert_int_equal(vlapic_get_apic_base(vl), DEF_BASE | BASE_EN);
	assert_true(vlapic_bsp(A(0)));
	assert_false(vlapic_bsp(vl));
	assert_int_equal(vlapic_mmio_base(vl), DEF_BASE);
	assert_true(vlapic_hw_enabled(vl));
	assert_false(vlapic_sw_enabled(vl));
	assert_false(vlapic_x2apic_mode(vl));
	assert_int_equal(vlapic_id(vl), 3);
	assert_int_equal(mr(vl, ID), 0x03000000);
	assert_int_equal(mr(vl, VER), 0x01060014);
	assert_int_equal(mr(vl, TPR), 0);
	assert_int_equal(mr(vl, APR), 0);
	assert_int_equal(mr(vl, PPR), 0);
	assert_int_equal(mr(vl, EOI), 0);
	assert_int_equal(mr(vl, RRD), 0);
	assert_int_equal(mr(vl, LDR), 0);
	assert_int_equal(mr(vl, DFR), 0xffffffff);
	assert_int_equal(mr(vl, SVR), 0xff);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(mr(vl, ISR + 0x10 * i), 0);
		assert_int_equal(mr(vl, TMR + 0x10 * i), 0);
		assert_int_equal(mr(vl, IRR + 0x10 * i), 0);
	}
	assert_int_equal(mr(vl, ESR), 0);
	assert_int_equal(mr(vl, ICR_LO), 0);
	assert_int_equal(mr(vl, ICR_HI), 0);
	assert_int_equal(mr(vl, LVT_CMCI), MASKED);
	for (uint32_t off = LVT_TIMER; off <= LVT_ERROR; off += 0x10)
		assert_int_equal(mr(vl, off), MASKED);
	assert_int_equal(mr(vl, TIMER_INIT), 0);
	assert_int_equal(mr(vl, TIMER_CUR), 0);
	assert_int_equal(mr(vl, TIMER_DCR), 0);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	assert_false(vlapic_nmi_pending(vl));
	assert_false(vlapic_init_pending(vl));
	assert_false(vlapic_sipi_pending(vl));
	assert_false(vlapic_extint_pending(vl));
	assert_false(vlapic_pic_intr_allowed(vl)); /* LINT0 masked */
	assert_int_equal(vlapic_ppr(vl), 0);
	assert_int_equal(vlapic_get_tpr(vl), 0);
}

static void test_big_apic_id(void **state)
{
	(void)state;
	struct vlapic vl;

	vlapic_init(&vl, &ENV, &OPS, &F, 0x1234, false, 1000000000ull);
	assert_int_equal(mr(&vl, ID), 0x34000000); /* xAPIC ID: low 8 bits of the initial ID */
	assert_int_equal(vlapic_id(&vl), 0x34);
	to_x2apic(&vl);
	assert_int_equal(xr(&vl, X2(ID)), 0x1234);
	assert_int_equal(vlapic_id(&vl), 0x1234);
	/* Logical x2APIC ID: cluster ID[19:4] = 0x123 in 31:16, 1 << ID[3:0] = 1 << 4 */
	assert_int_equal(xr(&vl, X2(LDR)), 0x01230010);
}

/* ------------------------------------------------------------------------------------------------ */
/* Simple registers in xAPIC mode                                                                   */

static void test_xapic_id_version(void **state)
{
	(void)state;
	struct vlapic *vl = A(2);

	mw(vl, ID, 0xffffffff);
	assert_int_equal(mr(vl, ID), 0xff000000);
	mw(vl, ID, 0x42123456);
	assert_int_equal(mr(vl, ID), 0x42000000);
	assert_int_equal(vlapic_id(vl), 0x42);
	/* routing follows the new ID */
	assert_true(vlapic_match_dest(vl, 0x42, false, false));
	assert_false(vlapic_match_dest(vl, 0x02, false, false));
	/* version is read-only */
	mw(vl, VER, 0);
	assert_int_equal(mr(vl, VER), 0x01060014);
	/* other read-only registers ignore writes */
	mw(vl, PPR, 0xff);
	mw(vl, APR, 0xff);
	mw(vl, RRD, 0xff);
	mw(vl, ISR, 0xffffffff);
	mw(vl, TMR + 0x70, 0xffffffff);
	mw(vl, IRR + 0x30, 0xffffffff);
	mw(vl, TIMER_CUR, 0x1234);
	assert_int_equal(mr(vl, PPR), 0);
	assert_int_equal(mr(vl, APR), 0);
	assert_int_equal(mr(vl, RRD), 0);
	assert_int_equal(mr(vl, ISR), 0);
	assert_int_equal(mr(vl, TMR + 0x70), 0);
	assert_int_equal(mr(vl, IRR + 0x30), 0);
	assert_int_equal(mr(vl, TIMER_CUR), 0);
	assert_int_equal(esr(vl), 0); /* read-only is not "illegal register" */
}

static void test_xapic_masks(void **state)
{
	(void)state;
	struct vlapic *vl = A(1);

	sw_enable(vl);
	mw(vl, TPR, 0xffffffff);
	assert_int_equal(mr(vl, TPR), 0xff);
	mw(vl, LDR, 0xffffffff);
	assert_int_equal(mr(vl, LDR), 0xff000000);
	mw(vl, DFR, 0);
	assert_int_equal(mr(vl, DFR), 0x0fffffff);
	mw(vl, DFR, 0x5abcdef0);
	assert_int_equal(mr(vl, DFR), 0x5fffffff);
	mw(vl, DFR, 0xffffffff);
	assert_int_equal(mr(vl, DFR), 0xffffffff);
	mw(vl, SVR, 0xffffffff);
	assert_int_equal(mr(vl, SVR), 0x13ff);
	mw(vl, SVR, 0x1ff);
	assert_int_equal(mr(vl, SVR), 0x1ff);
	mw(vl, ICR_HI, 0xffffffff);
	assert_int_equal(mr(vl, ICR_HI), 0xff000000);
	mw(vl, TIMER_DCR, 0xffffffff);
	assert_int_equal(mr(vl, TIMER_DCR), 0xb);
	/* LVTs: only the fields of fig. 11-8 stick; delivery status and remote IRR read 0 */
	mw(vl, LVT_TIMER, 0xffffffff);
	assert_int_equal(mr(vl, LVT_TIMER), 0x000100ff); /* mode 11b is reserved: one-shot */
	mw(vl, LVT_TIMER, 0xfff9ffff);
	assert_int_equal(mr(vl, LVT_TIMER), 0x000100ff);
	mw(vl, LVT_TIMER, 0xfffcffff);
	assert_int_equal(mr(vl, LVT_TIMER), 0x000400ff);
	mw(vl, LVT_TIMER, 0x000bffff);
	assert_int_equal(mr(vl, LVT_TIMER), 0x000300ff);
	mw(vl, LVT_TIMER, 0x0005ffff);
	assert_int_equal(mr(vl, LVT_TIMER), 0x000500ff);
	mw(vl, LVT_THERMAL, 0xffffffff);
	assert_int_equal(mr(vl, LVT_THERMAL), 0x000107ff);
	mw(vl, LVT_PERF, 0xffffffff);
	assert_int_equal(mr(vl, LVT_PERF), 0x000107ff);
	mw(vl, LVT_LINT0, 0xffffffff);
	assert_int_equal(mr(vl, LVT_LINT0), 0x0001a7ff);
	mw(vl, LVT_LINT1, 0xffffffff);
	assert_int_equal(mr(vl, LVT_LINT1), 0x0001a7ff);
	mw(vl, LVT_ERROR, 0xffffffff);
	assert_int_equal(mr(vl, LVT_ERROR), 0x000100ff);
	mw(vl, LVT_CMCI, 0xffffffff);
	assert_int_equal(mr(vl, LVT_CMCI), 0x000107ff);
	mw(vl, LVT_CMCI, 0x000012f3);
	assert_int_equal(mr(vl, LVT_CMCI), 0x000002f3);
	mw(vl, LVT_LINT0, 0x0000a745);
	assert_int_equal(mr(vl, LVT_LINT0), 0x0000a745);
	mw(vl, LVT_ERROR, 0x0000f0fe);
	assert_int_equal(mr(vl, LVT_ERROR), 0x000000fe);
	assert_int_equal(esr(vl), 0);
}

static void test_tpr_cr8(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	vlapic_set_tpr(vl, 0x5c);
	assert_int_equal(mr(vl, TPR), 0x5c);
	assert_int_equal(vlapic_ppr(vl), 0x5c);
	mw(vl, TPR, 0x31);
	assert_int_equal(vlapic_get_tpr(vl), 0x31);
}

/* ------------------------------------------------------------------------------------------------ */
/* Priorities: PPR, APR, IRR -> ISR, EOI (SDM 11.8)                                                  */

static void test_ppr_rules(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	mw(vl, TPR, 0x45);
	assert_int_equal(mr(vl, PPR), 0x45);
	assert_true(fixed(vl, 0x61, false));
	assert_int_equal(take(vl), 0x61);
	/* ISRV class 6 > TPR class 4: PPR = 0x60 */
	assert_int_equal(mr(vl, PPR), 0x60);
	mw(vl, TPR, 0x6f);
	/* TPR class 6 >= ISRV class 6: PPR = TPR */
	assert_int_equal(mr(vl, PPR), 0x6f);
	mw(vl, TPR, 0x70);
	assert_int_equal(mr(vl, PPR), 0x70);
	mw(vl, TPR, 0x5f);
	assert_int_equal(mr(vl, PPR), 0x60);
	mw(vl, EOI, 0);
	assert_int_equal(mr(vl, PPR), 0x5f);
	mw(vl, TPR, 0);
	assert_int_equal(mr(vl, PPR), 0);
}

static void test_pending_above_ppr(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	/* software-disabled: fixed interrupts are not even accepted */
	assert_false(fixed(vl, 0x50, false));
	assert_int_equal(count_bits(vl, IRR), 0);
	sw_enable(vl);
	assert_true(fixed(vl, 0x50, false));
	assert_true(bit(vl, IRR, 0x50));
	mw(vl, TPR, 0x50);
	assert_int_equal(vlapic_pending_intr(vl), -1); /* same class as TPR: held */
	mw(vl, TPR, 0x4f);
	assert_int_equal(vlapic_pending_intr(vl), 0x50);
	mw(vl, TPR, 0x60);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	assert_true(fixed(vl, 0x71, false));
	assert_int_equal(vlapic_pending_intr(vl), 0x71);
	mw(vl, TPR, 0);
	assert_int_equal(vlapic_pending_intr(vl), 0x71); /* the highest first */
	/* software-disable holds IRR and delivers nothing */
	mw(vl, SVR, 0xff);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	assert_true(bit(vl, IRR, 0x71));
	mw(vl, SVR, 0x1ff);
	assert_int_equal(vlapic_pending_intr(vl), 0x71);
}

static void test_nested_interrupts(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	fixed(vl, 0x41, false);
	assert_int_equal(take(vl), 0x41);
	assert_false(bit(vl, IRR, 0x41));
	assert_true(bit(vl, ISR, 0x41));
	assert_int_equal(mr(vl, PPR), 0x40);
	/* same class while 0x41 is in service: held */
	fixed(vl, 0x4f, false);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	/* a higher class nests */
	fixed(vl, 0x90, false);
	assert_int_equal(take(vl), 0x90);
	assert_int_equal(mr(vl, PPR), 0x90);
	fixed(vl, 0xa0, false);
	assert_int_equal(take(vl), 0xa0);
	assert_int_equal(mr(vl, PPR), 0xa0);
	assert_int_equal(count_bits(vl, ISR), 3);
	/* lower and equal classes wait */
	fixed(vl, 0x95, false);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	/* EOI retires the highest in service first */
	mw(vl, EOI, 0);
	assert_false(bit(vl, ISR, 0xa0));
	assert_true(bit(vl, ISR, 0x90));
	assert_int_equal(mr(vl, PPR), 0x90);
	assert_int_equal(vlapic_pending_intr(vl), -1); /* 0x95 is class 9 = PPR class */
	mw(vl, EOI, 0);
	assert_int_equal(mr(vl, PPR), 0x40);
	assert_int_equal(take(vl), 0x95);
	mw(vl, EOI, 0);
	assert_int_equal(mr(vl, PPR), 0x40);
	assert_int_equal(vlapic_pending_intr(vl), -1); /* 0x4f still blocked by 0x41 */
	mw(vl, EOI, 0);
	assert_int_equal(mr(vl, PPR), 0);
	assert_int_equal(take(vl), 0x4f);
	mw(vl, EOI, 0);
	assert_int_equal(count_bits(vl, ISR), 0);
	assert_int_equal(count_bits(vl, IRR), 0);
	/* EOI with nothing in service: nothing happens */
	mw(vl, EOI, 0);
	assert_int_equal(F.eois, 0);
	assert_int_equal(mr(vl, PPR), 0);
}

static void test_accepted_requires_irr(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	vlapic_intr_accepted(vl, 0x80);
	assert_int_equal(count_bits(vl, ISR), 0);
	vlapic_intr_accepted(vl, 3);
	assert_int_equal(count_bits(vl, ISR), 0);
	fixed(vl, 0x80, false);
	fixed(vl, 0x81, false);
	vlapic_intr_accepted(vl, 0x80); /* the core may take a lower one (e.g. re-injection) */
	assert_true(bit(vl, ISR, 0x80));
	assert_true(bit(vl, IRR, 0x81));
	assert_false(bit(vl, IRR, 0x80));
}

static void test_apr(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	mw(vl, TPR, 0x35);
	assert_int_equal(mr(vl, APR), 0x35); /* nothing pending: TPR */
	fixed(vl, 0x52, false);
	assert_int_equal(mr(vl, APR), 0x50); /* IRRV class 5 > TPR class 3 */
	mw(vl, TPR, 0x57);
	assert_int_equal(mr(vl, APR), 0x57); /* TPR class >= IRRV class and > ISRV class */
	mw(vl, TPR, 0x27);
	take(vl);
	assert_int_equal(mr(vl, APR), 0x50); /* ISRV class 5 */
	mw(vl, TPR, 0x5a);
	assert_int_equal(mr(vl, APR), 0x50); /* TPR class not above ISRV class: max of classes */
	mw(vl, TPR, 0x6a);
	assert_int_equal(mr(vl, APR), 0x6a);
}

static void test_level_eoi_broadcast(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	assert_true(fixed(vl, 0x30, true));
	assert_true(bit(vl, TMR, 0x30));
	assert_int_equal(take(vl), 0x30);
	mw(vl, EOI, 0);
	assert_int_equal(F.eois, 1);
	assert_int_equal(F.eoi_vec[0], 0x30);
	/* edge: no broadcast, and an edge acceptance clears TMR */
	fixed(vl, 0x31, false);
	assert_false(bit(vl, TMR, 0x31));
	take(vl);
	mw(vl, EOI, 0);
	assert_int_equal(F.eois, 1);
	fixed(vl, 0x30, false);
	assert_false(bit(vl, TMR, 0x30));
	/* nested: only the level one broadcasts, when it is the one retired */
	fixed(vl, 0x40, true);
	take(vl);
	fixed(vl, 0x50, false);
	take(vl);
	mw(vl, EOI, 0); /* retires 0x50 (edge) */
	assert_int_equal(F.eois, 1);
	mw(vl, EOI, 0); /* retires 0x40 (level) */
	assert_int_equal(F.eois, 2);
	assert_int_equal(F.eoi_vec[1], 0x40);
	/* suppressed by SVR bit 12 (11.8.5) */
	mw(vl, SVR, 0x11ff);
	assert_int_equal(mr(vl, SVR), 0x11ff);
	fixed(vl, 0x40, true);
	assert_int_equal(take(vl), 0x40);
	mw(vl, EOI, 0);
	assert_int_equal(F.eois, 2);
	assert_int_equal(count_bits(vl, ISR), 0);
}

static void test_eoi_reentrant_redelivery(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	F.reassert_vector = 0x66;
	F.reassert_to = vl;
	fixed(vl, 0x66, true);
	assert_int_equal(take(vl), 0x66);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	mw(vl, EOI, 0);
	/* the IOAPIC re-delivered it from inside the EOI callback */
	assert_int_equal(F.eois, 1);
	assert_true(bit(vl, IRR, 0x66));
	assert_true(bit(vl, TMR, 0x66));
	assert_false(bit(vl, ISR, 0x66));
	assert_int_equal(vlapic_pending_intr(vl), 0x66);
}

static void test_all_vectors_roundtrip(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	for (unsigned v = 16; v < 256; v++)
		assert_true(fixed(vl, (uint8_t)v, (v & 1) != 0));
	assert_int_equal(count_bits(vl, IRR), 240);
	assert_int_equal(count_bits(vl, TMR), 120);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(mr(vl, IRR + 0x10 * i), i == 0 ? 0xffff0000 : 0xffffffff);
	/* highest first, one at a time with EOI between */
	for (int v = 255; v >= 16; v--) {
		assert_int_equal(take(vl), v);
		assert_int_equal(mr(vl, PPR), (uint32_t)v & 0xf0);
		mw(vl, EOI, 0);
	}
	assert_int_equal(F.eois, 120);
	assert_int_equal(count_bits(vl, IRR), 0);
	assert_int_equal(count_bits(vl, ISR), 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Software disable (SVR bit 8, SDM 11.4.7.2)                                                        */

static void test_sw_disable(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	/* while disabled, LVTs cannot be unmasked */
	mw(vl, LVT_LINT0, 0x700);
	assert_int_equal(mr(vl, LVT_LINT0), 0x10700);
	mw(vl, LVT_TIMER, 0x40);
	assert_int_equal(mr(vl, LVT_TIMER), 0x10040);
	sw_enable(vl);
	assert_int_equal(mr(vl, LVT_LINT0), 0x10700); /* enabling does not unmask */
	mw(vl, LVT_LINT0, 0x700);
	mw(vl, LVT_TIMER, 0x40);
	mw(vl, LVT_ERROR, 0x41);
	mw(vl, LVT_CMCI, 0x42);
	assert_int_equal(mr(vl, LVT_LINT0), 0x700);
	assert_true(vlapic_pic_intr_allowed(vl));
	fixed(vl, 0x80, false);
	/* disabling masks every LVT, keeps IRR/ISR, still accepts NMI/INIT/SIPI, no fixed */
	mw(vl, SVR, 0x0ff);
	for (uint32_t off = LVT_TIMER; off <= LVT_ERROR; off += 0x10)
		assert_true(mr(vl, off) & MASKED);
	assert_true(mr(vl, LVT_CMCI) & MASKED);
	assert_int_equal(mr(vl, LVT_LINT0), 0x10700);
	assert_false(vlapic_pic_intr_allowed(vl));
	assert_true(bit(vl, IRR, 0x80));
	assert_false(fixed(vl, 0x81, false));
	assert_false(bit(vl, IRR, 0x81));
	struct vdev_msi m = msi(0, 4, false);
	assert_true(vlapic_accept(vl, &m));
	m = msi(0, 5, false);
	assert_true(vlapic_accept(vl, &m));
	m = msi(0x9a, 6, false);
	assert_true(vlapic_accept(vl, &m));
	assert_true(vlapic_take_nmi(vl));
	assert_true(vlapic_take_init(vl));
	uint8_t sv = 0;
	assert_true(vlapic_take_sipi(vl, &sv));
	assert_int_equal(sv, 0x9a);
	/* IPIs can still be sent */
	sw_enable(A(1));
	icr(vl, 1, 0x55);
	assert_true(bit(A(1), IRR, 0x55));
}

/* ------------------------------------------------------------------------------------------------ */
/* ESR (SDM 11.5.3)                                                                                  */

static void test_esr_write_then_read(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	assert_false(fixed(vl, 7, false)); /* receive illegal vector */
	assert_int_equal(count_bits(vl, IRR), 0);
	assert_int_equal(mr(vl, ESR), 0); /* not visible before a write */
	mw(vl, ESR, 0xffffffff);	   /* the value written does not matter */
	assert_int_equal(mr(vl, ESR), 0x40);
	assert_int_equal(mr(vl, ESR), 0x40); /* reading does not clear */
	mw(vl, ESR, 0);
	assert_int_equal(mr(vl, ESR), 0);
	/* send illegal vector: ICR fixed and lowest priority with vectors 0-15 */
	icr(vl, 1, DM_FIXED | 0x0f);
	icr(vl, 1, DM_LOWEST | 0x01);
	assert_int_equal(F.ipi_calls, 0);
	assert_int_equal(count_bits(A(1), IRR), 0);
	assert_int_equal(esr(vl), 0x20);
	/* NMI/INIT/SIPI vectors are not checked */
	icr(vl, 1, DM_NMI | 0x02);
	assert_int_equal(esr(vl), 0);
	/* illegal register address: reserved offsets, read and write */
	uint64_t v;
	assert_true(vlapic_mmio_read(vl, 0x3f0, 4, &v));
	assert_int_equal(v, 0);
	assert_int_equal(esr(vl), 0x80);
	mw(vl, 0x400, 1);
	assert_int_equal(esr(vl), 0x80);
	assert_true(fixed(vl, 0x20, false) && !fixed(vl, 0, false));
	mw(vl, 0x010, 1);
	icr(vl, 2, 0x3);
	assert_int_equal(esr(vl), 0xe0);
	assert_int_equal(esr(vl), 0);
}

static void test_error_lvt(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	mw(vl, LVT_ERROR, 0x10033); /* masked: no interrupt */
	fixed(vl, 5, false);
	assert_int_equal(count_bits(vl, IRR), 0);
	mw(vl, LVT_ERROR, 0x33);
	fixed(vl, 5, false);
	assert_true(bit(vl, IRR, 0x33));
	assert_int_equal(count_bits(vl, IRR), 1);
	assert_int_equal(esr(vl), 0x40);
	/* each new error raises it again */
	assert_int_equal(take(vl), 0x33);
	mw(vl, EOI, 0);
	mw(vl, 0x050, 0);
	assert_int_equal(take(vl), 0x33);
	mw(vl, EOI, 0);
	assert_int_equal(esr(vl), 0x80);
	/* an error LVT with an illegal vector logs "receive illegal vector" once, no recursion */
	mw(vl, LVT_ERROR, 0x05);
	icr(vl, 1, 0x02);
	assert_int_equal(count_bits(vl, IRR), 0);
	assert_int_equal(esr(vl), 0x60);
	assert_int_equal(esr(vl), 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* MMIO access rules                                                                                */

static void test_mmio_sizes(void **state)
{
	(void)state;
	struct vlapic *vl = A(3);
	uint64_t v;

	sw_enable(vl);
	assert_true(vlapic_mmio_read(vl, ID + 3, 1, &v));
	assert_int_equal(v, 0x03);
	assert_true(vlapic_mmio_read(vl, ID, 1, &v));
	assert_int_equal(v, 0x00);
	assert_true(vlapic_mmio_read(vl, VER + 1, 2, &v));
	assert_int_equal(v, 0x0600);
	assert_true(vlapic_mmio_read(vl, VER + 2, 2, &v));
	assert_int_equal(v, 0x0106);
	assert_true(vlapic_mmio_read(vl, VER + 3, 2, &v)); /* byte 4 of the slot reads 0 */
	assert_int_equal(v, 0x01);
	assert_true(vlapic_mmio_read(vl, VER, 8, &v));
	assert_int_equal(v, 0x01060014);
	assert_true(vlapic_mmio_read(vl, VER - 4, 8, &v)); /* reserved bytes of ID, then version */
	assert_int_equal(v, 0x0106001400000000ull);
	assert_true(vlapic_mmio_read(vl, VER + 4, 4, &v));
	assert_int_equal(v, 0);
	assert_true(vlapic_mmio_read(vl, VER + 1, 4, &v));
	assert_int_equal(v, 0x00010600);
	assert_true(vlapic_mmio_read(vl, VER + 0xc, 8, &v)); /* bytes c-f of version, 0-3 of reserved 0x040 */
	assert_int_equal(v, 0);
	assert_int_equal(esr(vl), 0x80);
	assert_true(vlapic_mmio_read(vl, 0x07c, 8, &v)); /* last bytes of a reserved slot + TPR */
	assert_int_equal(v, 0);
	mw(vl, TPR, 0xa5);
	assert_true(vlapic_mmio_read(vl, 0x07c, 8, &v));
	assert_int_equal(v, 0xa500000000ull);
	assert_int_equal(esr(vl), 0); /* only bytes 4-15 of the reserved slot: no register touched */
	/* odd sizes read 0 */
	assert_true(vlapic_mmio_read(vl, VER, 3, &v));
	assert_int_equal(v, 0);
	assert_true(vlapic_mmio_read(vl, VER, 0, &v));
	assert_int_equal(v, 0);
	assert_true(vlapic_mmio_read(vl, VER, 16, &v));
	assert_int_equal(v, 0);
	/* the end of the page */
	assert_true(vlapic_mmio_read(vl, 0xffc, 8, &v));
	assert_int_equal(v, 0);
	assert_true(vlapic_mmio_read(vl, 0xfff, 8, &v));
	assert_int_equal(v, 0);
	v = 0;
	assert_false(vlapic_mmio_read(vl, 0x1000, 4, &v));
	assert_int_equal(v, UINT64_MAX);
	assert_false(vlapic_mmio_read(vl, UINT64_MAX, 8, &v));
	assert_false(vlapic_mmio_write(vl, 0x1000, 4, 0));
	assert_false(vlapic_mmio_write(vl, UINT64_MAX - 3, 4, 0));
}

static void test_mmio_partial_writes_ignored(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	mw(vl, TPR, 0x20);
	assert_true(vlapic_mmio_write(vl, TPR, 1, 0x77));
	assert_true(vlapic_mmio_write(vl, TPR, 2, 0x77));
	assert_true(vlapic_mmio_write(vl, TPR + 1, 4, 0x77));
	assert_true(vlapic_mmio_write(vl, TPR + 4, 4, 0x77));
	assert_true(vlapic_mmio_write(vl, TPR + 8, 8, 0x77));
	assert_true(vlapic_mmio_write(vl, TPR, 3, 0x77));
	assert_true(vlapic_mmio_write(vl, TPR, 0, 0x77));
	assert_int_equal(mr(vl, TPR), 0x20);
	/* 8-byte write at a register: the low half is the register */
	assert_true(vlapic_mmio_write(vl, TPR, 8, 0xdeadbeef00000042ull));
	assert_int_equal(mr(vl, TPR), 0x42);
	/* a partial ICR write sends nothing */
	sw_enable(A(1));
	mw(vl, ICR_HI, 1u << 24);
	assert_true(vlapic_mmio_write(vl, ICR_LO, 2, 0x60));
	assert_true(vlapic_mmio_write(vl, ICR_LO, 1, 0x60));
	assert_true(vlapic_mmio_write(vl, ICR_LO + 2, 4, 0x60));
	assert_int_equal(count_bits(A(1), IRR), 0);
	assert_int_equal(F.ipi_calls, 0);
	/* a partial EOI write retires nothing */
	fixed(vl, 0x70, false);
	take(vl);
	assert_true(vlapic_mmio_write(vl, EOI, 1, 0));
	assert_true(bit(vl, ISR, 0x70));
	assert_int_equal(esr(vl), 0);
}

static bool defined_xapic_offset(uint32_t off)
{
	static const uint32_t defined[] = { ID,	     VER,	  TPR,	       APR,	    PPR,	EOI,
					    RRD,     LDR,	  DFR,	       SVR,	    ESR,	LVT_CMCI,
					    ICR_LO,  ICR_HI,	  LVT_TIMER,   LVT_THERMAL, LVT_PERF,	LVT_LINT0,
					    LVT_LINT1, LVT_ERROR, TIMER_INIT, TIMER_CUR,   TIMER_DCR };

	if (off >= ISR && off < IRR + 0x80)
		return true;
	for (size_t i = 0; i < sizeof(defined) / sizeof(defined[0]); i++)
		if (defined[i] == off)
			return true;
	return false;
}

static void test_mmio_reserved_scan(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);
	unsigned reserved = 0;

	sw_enable(vl);
	for (uint32_t off = 0; off < 0x1000; off += 0x10) {
		uint64_t v = 0x1234;
		esr(vl);
		assert_true(vlapic_mmio_read(vl, off, 4, &v));
		if (defined_xapic_offset(off)) {
			assert_int_equal(esr(vl), 0);
			continue;
		}
		reserved++;
		assert_int_equal(v, 0);
		assert_int_equal(esr(vl), 0x80);
		mw(vl, off, 0xffffffff);
		assert_int_equal(esr(vl), 0x80);
		assert_true(vlapic_mmio_read(vl, off, 4, &v));
		assert_int_equal(v, 0);
	}
	/* 256 slots, 23 single registers + 24 ISR/TMR/IRR words defined */
	assert_int_equal(reserved, 256 - 23 - 24);
	assert_int_equal(mr(vl, SVR), 0x1ff);
}

/* ------------------------------------------------------------------------------------------------ */
/* Timer (SDM 11.5.4)                                                                                */

static void timer_setup(struct vlapic *vl, uint32_t lvt, uint32_t dcr, uint32_t count)
{
	sw_enable(vl);
	wreg(vl, LVT_TIMER, lvt);
	wreg(vl, TIMER_DCR, dcr);
	wreg(vl, TIMER_INIT, count);
}

static void test_timer_oneshot(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 1000;
	timer_setup(vl, 0x40, 0xb, 1000); /* divide by 1: one count per ns at 1 GHz */
	assert_int_equal(mr(vl, TIMER_INIT), 1000);
	assert_int_equal(mr(vl, TIMER_CUR), 1000);
	assert_int_equal(vlapic_next_deadline(vl), 2000);
	fake_now = 1500;
	assert_int_equal(mr(vl, TIMER_CUR), 500);
	fake_now = 1999;
	assert_int_equal(mr(vl, TIMER_CUR), 1);
	vlapic_advance(vl, 1999);
	assert_false(bit(vl, IRR, 0x40));
	fake_now = 2000;
	assert_int_equal(mr(vl, TIMER_CUR), 0);
	vlapic_advance(vl, 2000);
	assert_true(bit(vl, IRR, 0x40));
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	/* one-shot: stays at 0, initial count keeps its value */
	fake_now = 900000;
	assert_int_equal(mr(vl, TIMER_CUR), 0);
	assert_int_equal(mr(vl, TIMER_INIT), 1000);
	vlapic_advance(vl, 900000);
	assert_int_equal(take(vl), 0x40);
	mw(vl, EOI, 0);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	/* a new initial count re-arms */
	mw(vl, TIMER_INIT, 10);
	assert_int_equal(vlapic_next_deadline(vl), 900010);
	vlapic_advance(vl, 1000000);
	assert_true(bit(vl, IRR, 0x40));
}

static void test_timer_late_advance_fires_once(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 0;
	timer_setup(vl, 0x41, 0xb, 100);
	vlapic_advance(vl, 5000000);
	assert_int_equal(count_bits(vl, IRR), 1);
	assert_int_equal(take(vl), 0x41);
	vlapic_advance(vl, 6000000);
	assert_int_equal(vlapic_pending_intr(vl), -1);
}

static void test_timer_divide_values(void **state)
{
	(void)state;
	/* DCR bits 3,1,0 -> divisor (SDM fig. 11-10) */
	static const struct {
		uint32_t dcr;
		uint64_t div;
	} table[] = { { 0x0, 2 },  { 0x1, 4 },	{ 0x2, 8 },  { 0x3, 16 }, { 0x8, 32 },
		      { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 }, { 0x4, 2 },  { 0xf, 1 } };

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct vlapic *vl = A(i % NCPU);
		uint64_t t0 = 10000 * (i + 1), d = table[i].div;
		vlapic_reset(vl, false);
		fake_now = t0;
		timer_setup(vl, 0x50, table[i].dcr, 10);
		assert_int_equal(mr(vl, TIMER_DCR), table[i].dcr & 0xb);
		assert_int_equal(vlapic_next_deadline(vl), t0 + 10 * d);
		assert_int_equal(mr(vl, TIMER_CUR), 10);
		fake_now = t0 + 1;
		assert_int_equal(mr(vl, TIMER_CUR), d == 1 ? 9 : 10);
		fake_now = t0 + d;
		assert_int_equal(mr(vl, TIMER_CUR), 9);
		fake_now = t0 + 5 * d + d / 2;
		assert_int_equal(mr(vl, TIMER_CUR), 5);
		fake_now = t0 + 10 * d - 1;
		assert_int_equal(mr(vl, TIMER_CUR), 1);
		vlapic_advance(vl, fake_now);
		assert_false(bit(vl, IRR, 0x50));
		fake_now = t0 + 10 * d;
		assert_int_equal(mr(vl, TIMER_CUR), 0);
		vlapic_advance(vl, fake_now);
		assert_true(bit(vl, IRR, 0x50));
	}
}

static void test_timer_max_values(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 1;
	timer_setup(vl, 0x50, 0xa, 0xffffffff); /* /128, the longest one-shot: ~550 s */
	assert_int_equal(vlapic_next_deadline(vl), 1 + 0xffffffffull * 128);
	assert_int_equal(mr(vl, TIMER_CUR), 0xffffffff);
	fake_now = 1 + 128;
	assert_int_equal(mr(vl, TIMER_CUR), 0xfffffffe);
	fake_now = 0xffffffffull * 128;
	assert_int_equal(mr(vl, TIMER_CUR), 1);
	/* near the end of guest time: the deadline saturates below VDEV_NEVER */
	fake_now = UINT64_MAX - 100;
	mw(vl, TIMER_INIT, 0xffffffff);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER - 1);
	assert_true(mr(vl, TIMER_CUR) <= 0xffffffff);
}

static void test_timer_periodic(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 0;
	timer_setup(vl, PERIODIC | 0x42, 0xb, 200000); /* 200 us */
	assert_int_equal(mr(vl, LVT_TIMER), 0x20042);
	assert_int_equal(vlapic_next_deadline(vl), 200000);
	vlapic_advance(vl, 200000);
	assert_true(bit(vl, IRR, 0x42));
	assert_int_equal(vlapic_next_deadline(vl), 400000);
	fake_now = 200000;
	assert_int_equal(mr(vl, TIMER_CUR), 200000); /* reloaded */
	fake_now = 250000;
	assert_int_equal(mr(vl, TIMER_CUR), 150000);
	assert_int_equal(take(vl), 0x42);
	mw(vl, EOI, 0);
	/* three periods late: one interrupt, the next expiry stays on the period grid */
	vlapic_advance(vl, 1000000);
	assert_int_equal(count_bits(vl, IRR), 1);
	assert_int_equal(vlapic_next_deadline(vl), 1200000);
	fake_now = 1100000;
	assert_int_equal(mr(vl, TIMER_CUR), 100000);
	/* reads between expiries the core has not caught up with still follow the grid */
	fake_now = 1450000;
	assert_int_equal(mr(vl, TIMER_CUR), 150000);
	vlapic_advance(vl, 1450000);
	assert_int_equal(vlapic_next_deadline(vl), 1600000);
	/* initial count 0 stops it */
	mw(vl, TIMER_INIT, 0);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	assert_int_equal(mr(vl, TIMER_CUR), 0);
	/* rewriting the initial count restarts the period from now */
	fake_now = 2000000;
	mw(vl, TIMER_INIT, 300000);
	assert_int_equal(vlapic_next_deadline(vl), 2300000);
	fake_now = 2000001;
	mw(vl, TIMER_INIT, 300000);
	assert_int_equal(vlapic_next_deadline(vl), 2300001);
}

static void test_timer_periodic_min_period(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 1000;
	timer_setup(vl, PERIODIC | 0x43, 0xb, 10); /* 10 ns asked */
	assert_int_equal(vlapic_next_deadline(vl), 1010);
	vlapic_advance(vl, 1010);
	assert_true(bit(vl, IRR, 0x43));
	/* reloads are stretched to VLAPIC_MIN_PERIOD_NS */
	assert_int_equal(vlapic_next_deadline(vl), 1010 + VLAPIC_MIN_PERIOD_NS);
	fake_now = 1020;
	assert_true(mr(vl, TIMER_CUR) <= 10);
	vlapic_advance(vl, 5000000);
	assert_true(vlapic_next_deadline(vl) > 5000000);
	assert_true(vlapic_next_deadline(vl) <= 5000000 + VLAPIC_MIN_PERIOD_NS);
}

static void test_timer_masked_still_counts(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 0;
	timer_setup(vl, MASKED | 0x44, 0xb, 1000);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER); /* nothing to deliver */
	fake_now = 400;
	assert_int_equal(mr(vl, TIMER_CUR), 600);
	vlapic_advance(vl, 1000);
	assert_int_equal(count_bits(vl, IRR), 0);
	fake_now = 1000;
	assert_int_equal(mr(vl, TIMER_CUR), 0);
	/* unmasking after the expiry delivers nothing: the interrupt was lost */
	fake_now = 1500;
	mw(vl, LVT_TIMER, 0x44);
	assert_int_equal(count_bits(vl, IRR), 0);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	vlapic_advance(vl, 5000);
	assert_int_equal(count_bits(vl, IRR), 0);

	/* periodic and masked: counts and reloads; unmasking continues on the grid */
	fake_now = 0;
	timer_setup(vl, PERIODIC | MASKED | 0x45, 0xb, 200000);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	fake_now = 500000;
	assert_int_equal(mr(vl, TIMER_CUR), 100000);
	mw(vl, LVT_TIMER, PERIODIC | 0x45);
	assert_int_equal(count_bits(vl, IRR), 0);
	assert_int_equal(vlapic_next_deadline(vl), 600000);
	vlapic_advance(vl, 600000);
	assert_true(bit(vl, IRR, 0x45));
	/* masking with an expiry due but not yet advanced: it fires first (it was due) */
	take(vl);
	mw(vl, EOI, 0);
	fake_now = 800000;
	mw(vl, LVT_TIMER, PERIODIC | MASKED | 0x45);
	assert_true(bit(vl, IRR, 0x45));
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
}

static void test_timer_sw_disabled(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 0;
	timer_setup(vl, 0x46, 0xb, 1000);
	mw(vl, SVR, 0xff);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	fake_now = 300;
	assert_int_equal(mr(vl, TIMER_CUR), 700); /* still counting */
	vlapic_advance(vl, 2000);
	sw_enable(vl);
	assert_int_equal(count_bits(vl, IRR), 0);
}

static void test_timer_divide_change(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 0;
	timer_setup(vl, 0x47, 0xb, 1000);
	fake_now = 400;
	assert_int_equal(mr(vl, TIMER_CUR), 600);
	mw(vl, TIMER_DCR, 0x0); /* divide by 2 from now: 600 counts left take 1200 ns */
	assert_int_equal(mr(vl, TIMER_CUR), 600);
	assert_int_equal(vlapic_next_deadline(vl), 1600);
	fake_now = 1000;
	assert_int_equal(mr(vl, TIMER_CUR), 300);
	vlapic_advance(vl, 1599);
	assert_int_equal(count_bits(vl, IRR), 0);
	vlapic_advance(vl, 1600);
	assert_true(bit(vl, IRR, 0x47));
}

static void test_timer_mode_switch_oneshot_periodic(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	fake_now = 0;
	timer_setup(vl, 0x48, 0xb, 200000);
	fake_now = 50000;
	mw(vl, LVT_TIMER, PERIODIC | 0x48); /* the running count continues, then reloads */
	assert_int_equal(mr(vl, TIMER_CUR), 150000);
	assert_int_equal(vlapic_next_deadline(vl), 200000);
	vlapic_advance(vl, 200000);
	assert_int_equal(vlapic_next_deadline(vl), 400000);
	fake_now = 300000;
	mw(vl, LVT_TIMER, 0x48); /* back to one-shot: ends at the next zero */
	assert_int_equal(vlapic_next_deadline(vl), 400000);
	vlapic_advance(vl, 400000);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	fake_now = 500000;
	assert_int_equal(mr(vl, TIMER_CUR), 0);
}

static void test_tsc_deadline(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);
	uint64_t tsc;

	sw_enable(vl);
	/* not in deadline mode: reads 0, writes ignored */
	xw(vl, MSR_TSC_DEADLINE, 123456789);
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 0);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	mw(vl, LVT_TIMER, DEADLINE | 0x49);
	assert_int_equal(mr(vl, LVT_TIMER), 0x40049);
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 0);
	/* guest TSC = 2 * now + 1000000 (fabric_tsc) */
	fake_now = 1000;
	tsc = 2 * 1000 + 1000000;
	xw(vl, MSR_TSC_DEADLINE, tsc + 3001);
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), tsc + 3001);
	/* 3001 ticks at 2 GHz = 1500.5 ns: never early, so 1501 */
	assert_int_equal(vlapic_next_deadline(vl), 2501);
	/* the initial count is ignored, the current count reads 0 */
	mw(vl, TIMER_INIT, 5);
	assert_int_equal(mr(vl, TIMER_INIT), 0);
	assert_int_equal(mr(vl, TIMER_CUR), 0);
	vlapic_advance(vl, 2500);
	assert_int_equal(count_bits(vl, IRR), 0);
	vlapic_advance(vl, 2501);
	assert_true(bit(vl, IRR, 0x49));
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 0); /* fired: disarmed and cleared */
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	assert_int_equal(take(vl), 0x49);
	mw(vl, EOI, 0);
	/* a deadline in the past (or now) fires at once, inside the WRMSR */
	fake_now = 5000;
	tsc = 2 * 5000 + 1000000;
	xw(vl, MSR_TSC_DEADLINE, tsc - 5);
	assert_true(bit(vl, IRR, 0x49));
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 0);
	take(vl);
	mw(vl, EOI, 0);
	xw(vl, MSR_TSC_DEADLINE, tsc);
	assert_true(bit(vl, IRR, 0x49));
	take(vl);
	mw(vl, EOI, 0);
	xw(vl, MSR_TSC_DEADLINE, 1);
	assert_true(bit(vl, IRR, 0x49));
	take(vl);
	mw(vl, EOI, 0);
	/* writing 0 disarms */
	xw(vl, MSR_TSC_DEADLINE, tsc + 1000);
	assert_int_equal(vlapic_next_deadline(vl), 5500);
	xw(vl, MSR_TSC_DEADLINE, 0);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	vlapic_advance(vl, 1000000);
	assert_int_equal(count_bits(vl, IRR), 0);
	/* re-arming replaces the previous deadline */
	xw(vl, MSR_TSC_DEADLINE, tsc + 1000);
	xw(vl, MSR_TSC_DEADLINE, tsc + 4000);
	assert_int_equal(vlapic_next_deadline(vl), 7000);
	/* leaving deadline mode disarms and clears the MSR */
	mw(vl, LVT_TIMER, 0x49);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	mw(vl, LVT_TIMER, DEADLINE | 0x49);
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 0);
	/* entering deadline mode stops a running count */
	mw(vl, LVT_TIMER, 0x49);
	mw(vl, TIMER_INIT, 1000); /* DCR 0 at reset: divide by 2 */
	assert_int_equal(vlapic_next_deadline(vl), 7000);
	mw(vl, LVT_TIMER, DEADLINE | 0x49);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	assert_int_equal(mr(vl, TIMER_INIT), 0);
	/* the far future saturates below VDEV_NEVER */
	xw(vl, MSR_TSC_DEADLINE, UINT64_MAX);
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), UINT64_MAX);
	assert_true(vlapic_next_deadline(vl) < VDEV_NEVER);
	assert_true(vlapic_next_deadline(vl) > 1000000000ull * 1000000000ull);
}

static void test_tsc_deadline_masked(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	fake_now = 1000;
	mw(vl, LVT_TIMER, MASKED | DEADLINE | 0x4a);
	xw(vl, MSR_TSC_DEADLINE, 2 * 2000 + 1000000);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	fake_now = 1999;
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 2 * 2000 + 1000000);
	fake_now = 2000;
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 0); /* passed: disarmed even though masked */
	assert_int_equal(count_bits(vl, IRR), 0);
	mw(vl, LVT_TIMER, DEADLINE | 0x4a);
	assert_int_equal(count_bits(vl, IRR), 0);
}

static void test_tsc_deadline_no_tsc_callback(void **state)
{
	(void)state;
	struct vlapic vl;
	static const struct vlapic_ops no_tsc = { 0 };

	/* 3 GHz guest TSC taken as now_ns * 3 */
	vlapic_init(&vl, &ENV, &no_tsc, NULL, 0, true, 3000000000ull);
	sw_enable(&vl);
	mw(&vl, LVT_TIMER, DEADLINE | 0x4b);
	fake_now = 10 * NS_PER_SEC + 7; /* TSC = 30000000021 */
	xw(&vl, MSR_TSC_DEADLINE, 30000000021ull + 30);
	assert_int_equal(vlapic_next_deadline(&vl), 10 * NS_PER_SEC + 17);
	xw(&vl, MSR_TSC_DEADLINE, 30000000021ull + 31);
	assert_int_equal(vlapic_next_deadline(&vl), 10 * NS_PER_SEC + 18); /* 10.33 ns -> 11 */
	xw(&vl, MSR_TSC_DEADLINE, 30000000021ull);
	assert_true(bit(&vl, IRR, 0x4b));
	/* and with no ops at all */
	vlapic_init(&vl, &ENV, NULL, NULL, 0, true, 0); /* rate clamped to 1 MHz */
	sw_enable(&vl);
	mw(&vl, LVT_TIMER, DEADLINE | 0x4c);
	fake_now = 5 * NS_PER_SEC; /* TSC = 5000000 */
	xw(&vl, MSR_TSC_DEADLINE, 5000001);
	assert_int_equal(vlapic_next_deadline(&vl), 5 * NS_PER_SEC + 1000);
	icr(&vl, 0, SH_OTHERS | 0x50); /* no send_ipi: nothing happens */
	fixed(&vl, 0x60, true);
	take(&vl);
	mw(&vl, EOI, 0); /* no eoi callback */
	assert_int_equal(count_bits(&vl, ISR), 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* ICR and destinations (SDM 11.6)                                                                  */

static uint32_t receivers(uint8_t vector)
{
	uint32_t mask = 0;

	for (unsigned i = 0; i < F.n; i++)
		if (bit(A(i), IRR, vector))
			mask |= 1u << i;
	return mask;
}

static void test_icr_physical(void **state)
{
	(void)state;

	enable_all();
	icr(A(0), 3, DM_FIXED | 0x50);
	assert_int_equal(receivers(0x50), 1u << 3);
	assert_int_equal(F.ipi_calls, 1);
	assert_ptr_equal(F.last_from, A(0));
	assert_int_equal(F.last_ipi.msg.dest, 3);
	assert_false(F.last_ipi.msg.dest_logical);
	assert_false(F.last_ipi.x2apic);
	assert_false(F.last_ipi.all_but_self);
	assert_int_equal(F.last_ipi.msg.vector, 0x50);
	assert_int_equal(F.last_ipi.msg.delivery, 0);
	/* delivery status always reads idle; the ICR reads back as written */
	assert_int_equal(mr(A(0), ICR_LO), 0x50);
	assert_int_equal(mr(A(0), ICR_HI), 0x03000000);
	mw(A(0), ICR_LO, (1u << 12) | 0x51 | 0xfff00000u | (1u << 13) | (3u << 16) | SH_ALL);
	assert_int_equal(mr(A(0), ICR_LO), 0x00080051); /* reserved and status bits gone */
	assert_int_equal(receivers(0x51), 0xff);
	/* to itself */
	icr(A(5), 5, 0x52);
	assert_int_equal(receivers(0x52), 1u << 5);
	/* nobody */
	icr(A(0), 0x77, 0x53);
	assert_int_equal(receivers(0x53), 0);
	/* broadcast 0xff */
	icr(A(2), 0xff, 0x54);
	assert_int_equal(receivers(0x54), 0xff);
	/* level-triggered IPIs are delivered as edge */
	icr(A(1), 4, TRIG_LEVEL | ASSERT | 0x55);
	assert_int_equal(receivers(0x55), 1u << 4);
	assert_false(bit(A(4), TMR, 0x55));
}

static void test_icr_logical_flat(void **state)
{
	(void)state;

	enable_all();
	for (unsigned i = 0; i < NCPU; i++)
		mw(A(i), LDR, 1u << (24 + i));
	icr(A(0), 0x05, LOGICAL | 0x60);
	assert_int_equal(receivers(0x60), 0x05);
	icr(A(7), 0xa0, LOGICAL | 0x61);
	assert_int_equal(receivers(0x61), 0xa0);
	icr(A(0), 0xff, LOGICAL | 0x62);
	assert_int_equal(receivers(0x62), 0xff);
	icr(A(0), 0x00, LOGICAL | 0x63);
	assert_int_equal(receivers(0x63), 0);
	/* an APIC with LDR 0 is reached only by broadcast */
	mw(A(3), LDR, 0);
	icr(A(0), 0x7f, LOGICAL | 0x64);
	assert_int_equal(receivers(0x64), 0x77);
	assert_true(F.last_ipi.msg.dest_logical);
	assert_int_equal(F.last_ipi.msg.dest, 0x7f);
}

static void test_icr_logical_cluster(void **state)
{
	(void)state;

	enable_all();
	/* clusters 1 and 2 of four members each */
	for (unsigned i = 0; i < NCPU; i++) {
		mw(A(i), DFR, 0x0fffffff);
		mw(A(i), LDR, ((i / 4 + 1) << 28) | (1u << (24 + i % 4)));
	}
	assert_int_equal(mr(A(5), LDR), 0x22000000);
	icr(A(0), 0x23, LOGICAL | 0x70);
	assert_int_equal(receivers(0x70), 0x30);
	icr(A(0), 0x1f, LOGICAL | 0x71);
	assert_int_equal(receivers(0x71), 0x0f);
	icr(A(0), 0x30, LOGICAL | 0x72); /* cluster 3 is empty; no member bits anyway */
	assert_int_equal(receivers(0x72), 0);
	icr(A(0), 0x34, LOGICAL | 0x73);
	assert_int_equal(receivers(0x73), 0);
	icr(A(4), 0xff, LOGICAL | 0x74);
	assert_int_equal(receivers(0x74), 0xff);
	/* flat and cluster APICs judge by their own DFR */
	mw(A(1), DFR, 0xffffffff); /* flat, LDR bits 0x02 */
	icr(A(0), 0x22, LOGICAL | 0x75); /* cluster 2 member 1 = A(5); flat 0x12 & 0x22 = A(1) */
	assert_int_equal(receivers(0x75), (1u << 5) | (1u << 1));
	/* a DFR model that is neither flat nor cluster matches nothing but broadcast */
	mw(A(6), DFR, 0x5fffffff);
	icr(A(0), 0x24, LOGICAL | 0x76);
	assert_int_equal(receivers(0x76), 0);
}

static void test_icr_shorthands(void **state)
{
	(void)state;

	enable_all();
	icr(A(2), 0x05, SH_SELF | 0x80);
	assert_int_equal(receivers(0x80), 1u << 2);
	assert_int_equal(F.ipi_calls, 0);
	icr(A(2), 0x05, SH_ALL | 0x81);
	assert_int_equal(receivers(0x81), 0xff);
	assert_int_equal(F.ipi_calls, 1);
	assert_true(F.last_ipi.all_but_self);
	icr(A(2), 0x05, SH_OTHERS | 0x82);
	assert_int_equal(receivers(0x82), 0xff & ~(1u << 2));
	assert_true(F.last_ipi.all_but_self);
	/* NMI/INIT/SIPI to all others */
	icr(A(0), 0, SH_OTHERS | DM_NMI);
	icr(A(0), 0, SH_OTHERS | DM_INIT | ASSERT);
	icr(A(0), 0, SH_OTHERS | DM_SIPI | 0x9f);
	assert_false(vlapic_nmi_pending(A(0)));
	assert_false(vlapic_init_pending(A(0)));
	assert_false(vlapic_sipi_pending(A(0)));
	for (unsigned i = 1; i < NCPU; i++) {
		uint8_t v = 0;
		assert_true(vlapic_take_nmi(A(i)));
		assert_false(vlapic_take_nmi(A(i)));
		assert_true(vlapic_take_init(A(i)));
		assert_false(vlapic_init_pending(A(i)));
		assert_true(vlapic_sipi_pending(A(i)));
		assert_true(vlapic_take_sipi(A(i), &v));
		assert_int_equal(v, 0x9f);
		assert_false(vlapic_take_sipi(A(i), &v));
	}
	/* invalid combinations are dropped (11.6.1): self/all-including-self need fixed */
	unsigned calls = F.ipi_calls;
	icr(A(0), 0, SH_SELF | DM_NMI);
	icr(A(0), 0, SH_SELF | DM_LOWEST | 0x83);
	icr(A(0), 0, SH_ALL | DM_INIT | ASSERT);
	icr(A(0), 0, SH_ALL | DM_NMI);
	icr(A(0), 0, SH_ALL | DM_SIPI | 0x10);
	icr(A(0), 0, SH_ALL | DM_LOWEST | 0x84);
	assert_int_equal(F.ipi_calls, calls);
	for (unsigned i = 0; i < NCPU; i++) {
		assert_false(vlapic_nmi_pending(A(i)));
		assert_false(vlapic_init_pending(A(i)));
		assert_false(vlapic_sipi_pending(A(i)));
	}
	assert_int_equal(receivers(0x83) | receivers(0x84), 0);
}

static void test_icr_nmi_init_sipi(void **state)
{
	(void)state;
	uint8_t v;

	/* INIT, NMI and SIPI are accepted by software-disabled APICs */
	icr(A(0), 2, DM_NMI);
	assert_true(vlapic_nmi_pending(A(2)));
	assert_int_equal(count_bits(A(2), IRR), 0);
	icr(A(0), 3, DM_INIT | ASSERT);
	assert_true(vlapic_init_pending(A(3)));
	icr(A(0), 3, DM_SIPI | 0x08);
	assert_true(vlapic_take_sipi(A(3), &v));
	assert_int_equal(v, 0x08);
	/* INIT level de-assert: no effect */
	unsigned calls = F.ipi_calls;
	icr(A(0), 4, DM_INIT | TRIG_LEVEL);
	icr(A(0), 0, SH_OTHERS | DM_INIT | TRIG_LEVEL);
	assert_int_equal(F.ipi_calls, calls);
	assert_false(vlapic_init_pending(A(4)));
	/* INIT with level 0 but edge trigger is still an INIT */
	icr(A(0), 4, DM_INIT);
	assert_true(vlapic_init_pending(A(4)));
	/* SMI and reserved delivery modes are dropped */
	calls = F.ipi_calls;
	icr(A(0), 5, DM_SMI);
	icr(A(0), 5, DM_RSVD3 | 0x40);
	icr(A(0), 5, DM_EXTINT | 0x40);
	assert_int_equal(F.ipi_calls, calls);
	assert_false(vlapic_nmi_pending(A(5)) || vlapic_init_pending(A(5)) || vlapic_extint_pending(A(5)));
	/* NMI to itself by its own ID */
	icr(A(6), 6, DM_NMI);
	assert_true(vlapic_take_nmi(A(6)));
}

static void test_icr_lowest_priority(void **state)
{
	(void)state;

	enable_all();
	/* one target only: the first match */
	icr(A(0), 0xff, DM_LOWEST | 0x90);
	assert_int_equal(receivers(0x90), 1u << 0); /* the sender matched itself and kept it */
	assert_int_equal(F.ipi_calls, 0);
	icr(A(0), 5, DM_LOWEST | 0x91);
	assert_int_equal(receivers(0x91), 1u << 5);
	assert_int_equal(F.last_ipi.msg.delivery, 1);
	icr(A(3), 0, SH_OTHERS | DM_LOWEST | 0x92);
	assert_int_equal(receivers(0x92), 1u << 0);
	for (unsigned i = 0; i < NCPU; i++)
		mw(A(i), LDR, 1u << (24 + i));
	icr(A(0), 0xc0, LOGICAL | DM_LOWEST | 0x93);
	assert_int_equal(receivers(0x93), 1u << 6);
}

static void test_icr_x2apic(void **state)
{
	(void)state;
	static const uint32_t ids[NCPU] = { 0, 1, 0x10, 0x11, 0x23, 0x2f, 0x100, 0xff };

	fabric_init(ids, NCPU);
	for (unsigned i = 0; i < NCPU; i++) {
		to_x2apic(A(i));
		sw_enable(A(i));
	}
	assert_int_equal(xr(A(4), X2(LDR)), 0x00020008);
	assert_int_equal(xr(A(5), X2(LDR)), 0x00028000);
	assert_int_equal(xr(A(6), X2(LDR)), 0x00100001);
	assert_int_equal(xr(A(7), X2(LDR)), 0x000f8000);
	/* physical */
	xw(A(0), X2(ICR_LO), (0x23ull << 32) | 0xa0);
	assert_int_equal(receivers(0xa0), 1u << 4);
	assert_true(F.last_ipi.x2apic);
	assert_int_equal(F.last_ipi.msg.dest, 0x23);
	assert_int_equal(xr(A(0), X2(ICR_LO)), (0x23ull << 32) | 0xa0);
	xw(A(0), X2(ICR_LO), (0x100ull << 32) | 0xa1);
	assert_int_equal(receivers(0xa1), 1u << 6);
	/* 0xff is an ID like any other in x2APIC mode, not a broadcast */
	xw(A(0), X2(ICR_LO), (0xffull << 32) | 0xa2);
	assert_int_equal(receivers(0xa2), 1u << 7);
	xw(A(0), X2(ICR_LO), (0xffffffffull << 32) | 0xa3);
	assert_int_equal(receivers(0xa3), 0xff);
	/* logical: cluster 1, members 0 and 1 -> IDs 0x10 and 0x11 */
	xw(A(0), X2(ICR_LO), (0x00010003ull << 32) | LOGICAL | 0xa4);
	assert_int_equal(receivers(0xa4), (1u << 2) | (1u << 3));
	xw(A(0), X2(ICR_LO), (0x00028008ull << 32) | LOGICAL | 0xa5);
	assert_int_equal(receivers(0xa5), (1u << 4) | (1u << 5));
	xw(A(0), X2(ICR_LO), (0x00000003ull << 32) | LOGICAL | 0xa6);
	assert_int_equal(receivers(0xa6), 0x03);
	xw(A(0), X2(ICR_LO), (0x00030003ull << 32) | LOGICAL | 0xa7);
	assert_int_equal(receivers(0xa7), 0);
	xw(A(1), X2(ICR_LO), (0xffffffffull << 32) | LOGICAL | 0xa8);
	assert_int_equal(receivers(0xa8), 0xff);
	/* shorthands */
	xw(A(3), X2(ICR_LO), SH_SELF | 0xa9);
	assert_int_equal(receivers(0xa9), 1u << 3);
	xw(A(3), X2(ICR_LO), SH_OTHERS | 0xaa);
	assert_int_equal(receivers(0xaa), 0xff & ~(1u << 3));
	/* SELF IPI MSR */
	xw(A(2), 0x83f, 0xab);
	assert_int_equal(receivers(0xab), 1u << 2);
	xw(A(2), 0x83f, 0x0f);
	assert_int_equal(esr(A(2)), 0x20);
	/* IOAPIC/MSI messages use the 8-bit format: 0xff broadcasts to x2APIC targets too */
	assert_true(vlapic_match_dest(A(6), 0xff, false, false));
	assert_true(vlapic_match_dest(A(7), 0xff, false, false));
	assert_true(vlapic_match_dest(A(7), 0xff, true, false));
	assert_true(vlapic_match_dest(A(4), 0x23, false, false));
	assert_true(vlapic_match_dest(A(1), 0x02, true, false)); /* cluster 0, member 1 */
	assert_false(vlapic_match_dest(A(1), 0x01, true, false));
	assert_false(vlapic_match_dest(A(6), 0x00, false, false));
}

static void test_match_mixed_modes(void **state)
{
	(void)state;

	/* x2APIC-format destination (x2APIC sender) to an xAPIC-mode target */
	assert_true(vlapic_match_dest(A(3), 3, false, true));
	assert_true(vlapic_match_dest(A(3), 0xffffffff, false, true));
	assert_true(vlapic_match_dest(A(3), 0xffffffff, true, true));
	assert_false(vlapic_match_dest(A(3), 0x103, false, true));
	assert_false(vlapic_match_dest(A(3), 0xff, false, true)); /* only 0xffffffff broadcasts */
	/* 8-bit format: high bits of a wider dest are not part of it */
	assert_true(vlapic_match_dest(A(3), 0x703, false, false));
	/* a globally disabled APIC matches nothing, broadcast included */
	assert_true(vlapic_set_apic_base(A(3), DEF_BASE));
	assert_false(vlapic_match_dest(A(3), 0xff, false, false));
	assert_false(vlapic_match_dest(A(3), 3, false, false));
	assert_false(vlapic_match_dest(A(3), 0xffffffff, true, true));
}

/* ------------------------------------------------------------------------------------------------ */
/* Messages in                                                                                      */

static void test_accept_messages(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);
	struct vdev_msi m;
	uint8_t v = 0xee;

	sw_enable(vl);
	assert_false(vlapic_take_sipi(vl, &v));
	m = msi(0x33, 1, true); /* lowest priority arrives like fixed */
	assert_true(vlapic_accept(vl, &m));
	assert_true(bit(vl, IRR, 0x33));
	assert_true(bit(vl, TMR, 0x33));
	m = msi(0x33, 0, false);
	assert_true(vlapic_accept(vl, &m));
	assert_false(bit(vl, TMR, 0x33));
	m = msi(0x10, 0, false); /* 16 is the lowest legal vector */
	assert_true(vlapic_accept(vl, &m));
	assert_true(bit(vl, IRR, 0x10));
	m = msi(0xff, 0, true);
	assert_true(vlapic_accept(vl, &m));
	assert_true(bit(vl, IRR, 0xff));
	m = msi(0, 2, false); /* SMI: no SMM */
	assert_false(vlapic_accept(vl, &m));
	m = msi(0, 3, false);
	assert_false(vlapic_accept(vl, &m));
	m = msi(0x12, 200, false);
	assert_false(vlapic_accept(vl, &m));
	m = msi(0, 7, false); /* ExtINT through an IOAPIC pin */
	assert_true(vlapic_accept(vl, &m));
	assert_true(vlapic_extint_pending(vl));
	assert_true(vlapic_take_extint(vl));
	assert_false(vlapic_take_extint(vl));
	m = msi(0x44, 6, false);
	vlapic_accept(vl, &m);
	m = msi(0x45, 6, false); /* a second SIPI replaces the vector */
	vlapic_accept(vl, &m);
	assert_true(vlapic_take_sipi(vl, &v));
	assert_int_equal(v, 0x45);
	assert_int_equal(esr(vl), 0);
}

static void test_lint_pins(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	/* LINT0 as ExtINT: the PIC's INTR reaches the CPU */
	mw(vl, LVT_LINT0, 0x700);
	assert_true(vlapic_pic_intr_allowed(vl));
	mw(vl, LVT_LINT0, MASKED | 0x700);
	assert_false(vlapic_pic_intr_allowed(vl));
	mw(vl, LVT_LINT0, 0x030);
	assert_false(vlapic_pic_intr_allowed(vl));
	/* LINT1 as NMI: a rising edge */
	mw(vl, LVT_LINT1, 0x400);
	vlapic_set_lint(vl, 1, true);
	assert_true(vlapic_take_nmi(vl));
	vlapic_set_lint(vl, 1, true); /* no new edge */
	assert_false(vlapic_take_nmi(vl));
	vlapic_set_lint(vl, 1, false);
	vlapic_set_lint(vl, 1, true);
	assert_true(vlapic_take_nmi(vl));
	vlapic_set_lint(vl, 1, false);
	mw(vl, LVT_LINT1, MASKED | 0x400);
	vlapic_set_lint(vl, 1, true);
	assert_false(vlapic_take_nmi(vl));
	vlapic_set_lint(vl, 1, false);
	/* LINT0 fixed edge */
	vlapic_set_lint(vl, 0, true);
	assert_true(bit(vl, IRR, 0x30));
	assert_false(bit(vl, TMR, 0x30));
	vlapic_set_lint(vl, 0, false);
	take(vl);
	mw(vl, EOI, 0);
	assert_int_equal(F.eois, 0); /* edge: no EOI broadcast */
}

static void test_lint_level_remote_irr(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	sw_enable(vl);
	mw(vl, LVT_LINT0, TRIG_LEVEL | 0x38);
	vlapic_set_lint(vl, 0, true);
	assert_true(bit(vl, IRR, 0x38));
	assert_true(bit(vl, TMR, 0x38));
	assert_int_equal(mr(vl, LVT_LINT0), 0xc038); /* remote IRR set */
	/* remote IRR is read-only */
	mw(vl, LVT_LINT0, TRIG_LEVEL | 0x38);
	assert_int_equal(mr(vl, LVT_LINT0), 0xc038);
	assert_int_equal(take(vl), 0x38);
	vlapic_set_lint(vl, 0, true); /* still asserted: held by remote IRR */
	assert_false(bit(vl, IRR, 0x38));
	F.eois = 0;
	mw(vl, EOI, 0);
	/* EOI clears remote IRR; the pin is still high, so it is delivered again */
	assert_true(bit(vl, IRR, 0x38));
	assert_int_equal(mr(vl, LVT_LINT0), 0xc038);
	take(vl);
	vlapic_set_lint(vl, 0, false);
	mw(vl, EOI, 0);
	assert_int_equal(mr(vl, LVT_LINT0), 0x8038);
	assert_int_equal(count_bits(vl, IRR), 0);
	/* LINT as INIT */
	mw(vl, LVT_LINT1, DM_INIT);
	vlapic_set_lint(vl, 1, true);
	assert_true(vlapic_take_init(vl));
	vlapic_set_lint(vl, 7, true); /* no such pin */
}

/* ------------------------------------------------------------------------------------------------ */
/* x2APIC MSRs (SDM 11.12.1)                                                                        */

static void test_x2apic_msrs_need_x2apic_mode(void **state)
{
	(void)state;
	struct vlapic *vl = A(1);

	xr_gp(vl, X2(ID));
	xr_gp(vl, X2(TPR));
	xw_gp(vl, X2(TPR), 0);
	xw_gp(vl, X2(EOI), 0);
	xw_gp(vl, 0x83f, 0x40);
	assert_true(vlapic_owns_msr(0x1b));
	assert_true(vlapic_owns_msr(0x6e0));
	assert_true(vlapic_owns_msr(0x800));
	assert_true(vlapic_owns_msr(0x8ff));
	assert_false(vlapic_owns_msr(0x7ff));
	assert_false(vlapic_owns_msr(0x900));
	assert_false(vlapic_owns_msr(0x10));
	xr_gp(vl, 0x900);
	xw_gp(vl, 0x10, 0);
	to_x2apic(vl);
	assert_int_equal(vlapic_mmio_base(vl), VLAPIC_NO_MMIO);
	uint64_t v = 0;
	assert_false(vlapic_mmio_read(vl, ID, 4, &v));
	assert_int_equal(v, UINT64_MAX);
	assert_false(vlapic_mmio_write(vl, TPR, 4, 0x10));
	assert_int_equal(xr(vl, X2(ID)), 1);
	assert_int_equal(xr(vl, X2(VER)), 0x01060014);
	assert_int_equal(xr(vl, X2(LDR)), 0x00000002);
}

static bool x2_readable(uint32_t msr)
{
	return msr == 0x802 || msr == 0x803 || msr == 0x808 || msr == 0x80a || msr == 0x80d || msr == 0x80f ||
	       (msr >= 0x810 && msr <= 0x828) || msr == 0x82f || msr == 0x830 || (msr >= 0x832 && msr <= 0x839) ||
	       msr == 0x83e;
}

static bool x2_writable(uint32_t msr)
{
	return msr == 0x808 || msr == 0x80b || msr == 0x80f || msr == 0x828 || msr == 0x82f || msr == 0x830 ||
	       (msr >= 0x832 && msr <= 0x838) || msr == 0x83e || msr == 0x83f;
}

static void test_x2apic_msr_map(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);
	unsigned readable = 0, writable = 0;

	to_x2apic(vl);
	sw_enable(vl);
	for (uint32_t msr = 0x800; msr <= 0x8ff; msr++) {
		uint64_t v = 0x5a5a;
		bool r = vlapic_msr_read(vl, msr, &v);
		assert_int_equal(r, x2_readable(msr));
		if (r) {
			readable++;
			if (msr != 0x830)
				assert_true(v <= UINT32_MAX);
		}
		/* zero is valid for every writable register (ICR 0: vector 0, an error, no #GP) */
		bool w = vlapic_msr_write(vl, msr, msr == 0x80f ? 0x1ff : 0);
		assert_int_equal(w, x2_writable(msr));
		writable += w;
	}
	assert_int_equal(readable, 6 + 25 + 1 + 1 + 8 + 1);
	assert_int_equal(writable, 7 + 7 + 1);
	/* specifically: */
	xr_gp(vl, 0x809); /* APR */
	xr_gp(vl, 0x80c); /* RRD */
	xr_gp(vl, 0x80e); /* DFR */
	xw_gp(vl, 0x80e, 0xffffffff);
	xr_gp(vl, 0x831); /* ICR high */
	xw_gp(vl, 0x831, 0);
	xr_gp(vl, 0x80b); /* EOI: write-only */
	xr_gp(vl, 0x83f); /* SELF IPI: write-only */
	xw_gp(vl, 0x802, 0);  /* ID read-only */
	xw_gp(vl, 0x803, 0);  /* version */
	xw_gp(vl, 0x80d, 0);  /* LDR read-only in x2APIC mode */
	xw_gp(vl, 0x80a, 0);  /* PPR */
	xw_gp(vl, 0x839, 0);  /* current count */
	xw_gp(vl, 0x810, 0);  /* ISR */
	xw_gp(vl, 0x827, 0);  /* IRR */
}

static void test_x2apic_reserved_bits(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	to_x2apic(vl);
	xw(vl, X2(SVR), 0x13ff);
	assert_int_equal(xr(vl, X2(SVR)), 0x13ff);
	xw_gp(vl, X2(SVR), 0x2000);
	xw_gp(vl, X2(SVR), 0x0400);
	xw_gp(vl, X2(SVR), 0x1ull << 32);
	xw(vl, X2(SVR), 0x1ff);
	xw(vl, X2(TPR), 0xff);
	xw_gp(vl, X2(TPR), 0x100);
	xw_gp(vl, X2(TPR), 0x1ull << 40);
	assert_int_equal(xr(vl, X2(TPR)), 0xff);
	xw(vl, X2(TPR), 0);
	xw_gp(vl, X2(EOI), 1);
	xw_gp(vl, X2(EOI), 1ull << 63);
	xw_gp(vl, X2(ESR), 1);
	xw(vl, X2(ESR), 0);
	xw_gp(vl, X2(TIMER_DCR), 0x4);
	xw_gp(vl, X2(TIMER_DCR), 0x10);
	xw(vl, X2(TIMER_DCR), 0xb);
	assert_int_equal(xr(vl, X2(TIMER_DCR)), 0xb);
	xw_gp(vl, X2(TIMER_INIT), 1ull << 32);
	xw(vl, X2(TIMER_INIT), 0xffffffff);
	xw(vl, X2(TIMER_INIT), 0);
	xw_gp(vl, 0x83f, 0x100);
	xw_gp(vl, 0x83f, 1ull << 32);
	/* LVTs: fig. 11-8 fields; delivery status/remote IRR are read-only, not reserved */
	xw(vl, X2(LVT_TIMER), 0x100ff | (1u << 12));
	assert_int_equal(xr(vl, X2(LVT_TIMER)), 0x100ff);
	xw_gp(vl, X2(LVT_TIMER), 0x70000 | 0xff); /* mode 11b reserved */
	xw_gp(vl, X2(LVT_TIMER), 0x100);
	xw_gp(vl, X2(LVT_TIMER), 0x80000);
	xw(vl, X2(LVT_THERMAL), 0x117ff);
	xw_gp(vl, X2(LVT_THERMAL), 0x800);
	xw_gp(vl, X2(LVT_THERMAL), 0x2000);
	xw_gp(vl, X2(LVT_PERF), 0x20000);
	xw(vl, X2(LVT_PERF), 0x400);
	xw(vl, X2(LVT_LINT0), 0x1f7ff);
	assert_int_equal(xr(vl, X2(LVT_LINT0)), 0x1a7ff);
	xw_gp(vl, X2(LVT_LINT0), 0x800);
	xw_gp(vl, X2(LVT_LINT1), 0x20000);
	xw(vl, X2(LVT_ERROR), 0x110ff);
	xw_gp(vl, X2(LVT_ERROR), 0x100);
	xw_gp(vl, X2(LVT_ERROR), 0x8000);
	xw(vl, X2(LVT_CMCI), 0x117ff);
	xw_gp(vl, X2(LVT_CMCI), 0x4000);
	xw_gp(vl, X2(LVT_CMCI), 1ull << 32);
	/* ICR: bits 12, 13, 16-17, 20-31 reserved; the destination is the whole high half */
	xw_gp(vl, X2(ICR_LO), 1u << 12);
	xw_gp(vl, X2(ICR_LO), 1u << 13);
	xw_gp(vl, X2(ICR_LO), 1u << 16);
	xw_gp(vl, X2(ICR_LO), 1u << 17);
	xw_gp(vl, X2(ICR_LO), 1u << 20);
	xw_gp(vl, X2(ICR_LO), 1u << 31);
	xw(vl, X2(ICR_LO), 0xffffffff00000000ull | DM_NMI | 0xff);
	assert_int_equal(xr(vl, X2(ICR_LO)), 0xffffffff00000000ull | DM_NMI | 0xff);
}

static void test_x2apic_operation(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);

	to_x2apic(vl);
	xw(vl, X2(SVR), 0x1ff);
	fixed(vl, 0x61, true);
	assert_true(bit(vl, IRR, 0x61));
	assert_true(bit(vl, TMR, 0x61));
	xw(vl, X2(TPR), 0x50);
	assert_int_equal(xr(vl, X2(PPR)), 0x50);
	assert_int_equal(take(vl), 0x61);
	assert_int_equal(xr(vl, X2(PPR)), 0x60);
	assert_true(bit(vl, ISR, 0x61));
	xw(vl, X2(EOI), 0);
	assert_int_equal(F.eois, 1);
	assert_int_equal(xr(vl, X2(PPR)), 0x50);
	/* ESR in x2APIC mode: write 0, then read */
	fixed(vl, 1, false);
	xw(vl, X2(ESR), 0);
	assert_int_equal(xr(vl, X2(ESR)), 0x40);
	/* no MMIO side door: illegal register address is an xAPIC-only error */
	xr_gp(vl, 0x8f0);
	xw(vl, X2(ESR), 0);
	assert_int_equal(xr(vl, X2(ESR)), 0);
	/* timer through MSRs */
	fake_now = 100;
	xw(vl, X2(LVT_TIMER), 0x62);
	xw(vl, X2(TIMER_DCR), 0x3);
	xw(vl, X2(TIMER_INIT), 100);
	assert_int_equal(vlapic_next_deadline(vl), 100 + 1600);
	fake_now = 100 + 800;
	assert_int_equal(xr(vl, X2(TIMER_CUR)), 50);
	vlapic_advance(vl, 1700);
	assert_true(bit(vl, IRR, 0x62));
}

/* ------------------------------------------------------------------------------------------------ */
/* IA32_APIC_BASE (SDM 11.4.4, 11.12.5)                                                              */

static void test_apic_base_transitions(void **state)
{
	(void)state;
	struct vlapic *vl = A(1);
	const uint64_t xapic = DEF_BASE | BASE_EN, x2apic = DEF_BASE | BASE_EN | BASE_EXTD, off = DEF_BASE;

	assert_int_equal(xr(vl, MSR_APIC_BASE), xapic);
	xw_gp(vl, MSR_APIC_BASE, DEF_BASE | BASE_EXTD); /* invalid state EN=0 EXTD=1 */
	xw(vl, MSR_APIC_BASE, x2apic);			/* xAPIC -> x2APIC */
	assert_true(vlapic_x2apic_mode(vl));
	xw_gp(vl, MSR_APIC_BASE, xapic);		/* x2APIC -> xAPIC */
	xw_gp(vl, MSR_APIC_BASE, DEF_BASE | BASE_EXTD); /* -> invalid */
	xw(vl, MSR_APIC_BASE, x2apic);			/* same state: fine */
	xw(vl, MSR_APIC_BASE, off);			/* x2APIC -> disabled */
	assert_false(vlapic_hw_enabled(vl));
	assert_false(vlapic_x2apic_mode(vl));
	assert_int_equal(vlapic_mmio_base(vl), VLAPIC_NO_MMIO);
	xw_gp(vl, MSR_APIC_BASE, x2apic);		/* disabled -> x2APIC */
	xw_gp(vl, MSR_APIC_BASE, DEF_BASE | BASE_EXTD);
	xw(vl, MSR_APIC_BASE, off);			/* disabled -> disabled */
	xw(vl, MSR_APIC_BASE, xapic);			/* disabled -> xAPIC */
	assert_true(vlapic_hw_enabled(vl));
	assert_int_equal(vlapic_mmio_base(vl), DEF_BASE);
	xw(vl, MSR_APIC_BASE, off);			/* xAPIC -> disabled */
	xw(vl, MSR_APIC_BASE, xapic);
	assert_int_equal(xr(vl, MSR_APIC_BASE), xapic);
	/* x2APIC IDs preserved across disable */
	xw(vl, MSR_APIC_BASE, x2apic);
	assert_int_equal(xr(vl, X2(ID)), 1);
	xw(vl, MSR_APIC_BASE, off);
	xw(vl, MSR_APIC_BASE, xapic);
	assert_int_equal(mr(vl, ID), 0x01000000);
}

static void test_apic_base_reserved_and_relocation(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);
	const uint64_t flags = BASE_EN | BASE_BSP;

	for (unsigned b = 0; b < 8; b++)
		xw_gp(vl, MSR_APIC_BASE, DEF_BASE | flags | (1ull << b));
	xw_gp(vl, MSR_APIC_BASE, DEF_BASE | flags | (1ull << 9));
	xw_gp(vl, MSR_APIC_BASE, DEF_BASE | flags | (1ull << 36)); /* default MAXPHYADDR 36 */
	xw_gp(vl, MSR_APIC_BASE, DEF_BASE | flags | (1ull << 63));
	assert_int_equal(xr(vl, MSR_APIC_BASE), DEF_BASE | flags);
	/* relocation: the MMIO page follows */
	xw(vl, MSR_APIC_BASE, 0xfed00000ull | flags);
	assert_int_equal(vlapic_mmio_base(vl), 0xfed00000ull);
	xw(vl, MSR_APIC_BASE, 0x800000000ull | 0x12345000ull | flags);
	assert_int_equal(vlapic_mmio_base(vl), 0x812345000ull);
	assert_int_equal(xr(vl, MSR_APIC_BASE), 0x812345000ull | flags);
	/* the BSP flag is read/write */
	xw(vl, MSR_APIC_BASE, DEF_BASE | BASE_EN);
	assert_false(vlapic_bsp(vl));
	xw(vl, MSR_APIC_BASE, DEF_BASE | flags);
	assert_true(vlapic_bsp(vl));
	/* relocating while disabled is allowed; the page is not decoded */
	xw(vl, MSR_APIC_BASE, 0xfec00000ull);
	assert_int_equal(vlapic_mmio_base(vl), VLAPIC_NO_MMIO);
	xw(vl, MSR_APIC_BASE, 0xfec00000ull | BASE_EN);
	assert_int_equal(vlapic_mmio_base(vl), 0xfec00000ull);
	/* a wider guest physical address space */
	vlapic_set_caps(vl, 40, true);
	xw(vl, MSR_APIC_BASE, (1ull << 39) | BASE_EN);
	xw_gp(vl, MSR_APIC_BASE, (1ull << 40) | BASE_EN);
	vlapic_set_caps(vl, 60, true); /* clamped to 52 */
	xw(vl, MSR_APIC_BASE, (1ull << 51) | BASE_EN);
	xw_gp(vl, MSR_APIC_BASE, (1ull << 52) | BASE_EN);
	vlapic_set_caps(vl, 20, true); /* clamped to 36 */
	xw_gp(vl, MSR_APIC_BASE, (1ull << 36) | BASE_EN);
	xw(vl, MSR_APIC_BASE, (1ull << 35) | BASE_EN);
	/* without x2APIC in CPUID, EXTD is reserved */
	vlapic_set_caps(vl, 36, false);
	xw_gp(vl, MSR_APIC_BASE, DEF_BASE | BASE_EN | BASE_EXTD);
	assert_false(vlapic_x2apic_mode(vl));
}

static void test_global_disable_resets(void **state)
{
	(void)state;
	struct vlapic *vl = A(2);

	sw_enable(vl);
	mw(vl, ID, 0x0a000000);
	mw(vl, TPR, 0x40);
	mw(vl, LDR, 0x04000000);
	mw(vl, DFR, 0x0fffffff);
	mw(vl, LVT_LINT0, 0x700);
	mw(vl, LVT_TIMER, 0x40);
	mw(vl, TIMER_INIT, 1000);
	fixed(vl, 0x90, true);
	fixed(vl, 0x91, false);
	take(vl);
	assert_true(vlapic_set_apic_base(vl, DEF_BASE));
	/* disabled: no APIC; the PIC's INTR is the CPU's, LINT1 the NMI pin, nothing accepted */
	assert_true(vlapic_pic_intr_allowed(vl));
	assert_false(fixed(vl, 0x92, false));
	struct vdev_msi m = msi(0, 4, false);
	assert_false(vlapic_accept(vl, &m));
	m = msi(0, 5, false);
	assert_false(vlapic_accept(vl, &m));
	assert_false(vlapic_init_pending(vl));
	vlapic_set_lint(vl, 1, true);
	assert_true(vlapic_take_nmi(vl));
	vlapic_set_lint(vl, 1, false);
	assert_int_equal(vlapic_pending_intr(vl), -1);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	xw(vl, MSR_TSC_DEADLINE, 5); /* ignored: timer not in deadline mode */
	assert_int_equal(xr(vl, MSR_TSC_DEADLINE), 0);
	/* re-enabled: xAPIC mode at power-up values, the ID kept */
	assert_true(vlapic_set_apic_base(vl, DEF_BASE | BASE_EN));
	assert_int_equal(mr(vl, ID), 0x0a000000);
	assert_int_equal(mr(vl, TPR), 0);
	assert_int_equal(mr(vl, LDR), 0);
	assert_int_equal(mr(vl, DFR), 0xffffffff);
	assert_int_equal(mr(vl, SVR), 0xff);
	assert_int_equal(mr(vl, LVT_LINT0), MASKED);
	assert_int_equal(mr(vl, LVT_TIMER), MASKED);
	assert_int_equal(mr(vl, TIMER_INIT), 0);
	assert_int_equal(count_bits(vl, IRR) + count_bits(vl, ISR) + count_bits(vl, TMR), 0);
	assert_false(vlapic_pic_intr_allowed(vl));
}

/* ------------------------------------------------------------------------------------------------ */
/* INIT and RESET (SDM 11.4.7.3, 11.12.5.1)                                                          */

static void dirty(struct vlapic *vl)
{
	sw_enable(vl);
	wreg(vl, TPR, 0x33);
	wreg(vl, LVT_LINT1, 0x400);
	wreg(vl, LVT_TIMER, PERIODIC | 0x40);
	wreg(vl, TIMER_DCR, 0x3);
	wreg(vl, TIMER_INIT, 1000000);
	fixed(vl, 0x80, true);
	fixed(vl, 0x81, false);
	take(vl);
	if (!vlapic_x2apic_mode(vl)) {
		mw(vl, ID, 0x42000000);
		mw(vl, LDR, 0x01000000);
		mw(vl, DFR, 0x0fffffff);
		mw(vl, ICR_HI, 0x05000000);
	}
}

static void test_init_xapic(void **state)
{
	(void)state;
	struct vlapic *vl = A(1);
	struct vdev_msi m = msi(0x20, 6, false);

	vlapic_set_apic_base(vl, 0xfed00000ull | BASE_EN | BASE_BSP);
	dirty(vl);
	vlapic_accept(vl, &m); /* a SIPI may already be latched when the core handles INIT */
	vlapic_reset(vl, true);
	assert_int_equal(vlapic_get_apic_base(vl), 0xfed00000ull | BASE_EN | BASE_BSP);
	assert_int_equal(mr(vl, ID), 0x42000000); /* ID kept */
	assert_int_equal(mr(vl, TPR), 0);
	assert_int_equal(mr(vl, LDR), 0);
	assert_int_equal(mr(vl, DFR), 0xffffffff);
	assert_int_equal(mr(vl, SVR), 0xff);
	assert_int_equal(mr(vl, ICR_HI), 0);
	assert_int_equal(mr(vl, LVT_LINT1), MASKED);
	assert_int_equal(mr(vl, LVT_TIMER), MASKED);
	assert_int_equal(mr(vl, TIMER_INIT), 0);
	assert_int_equal(mr(vl, TIMER_DCR), 0);
	assert_int_equal(vlapic_next_deadline(vl), VDEV_NEVER);
	assert_int_equal(count_bits(vl, IRR) + count_bits(vl, ISR) + count_bits(vl, TMR), 0);
	assert_true(vlapic_sipi_pending(vl)); /* latches are the core's */
	/* RESET: everything */
	dirty(vl);
	vlapic_reset(vl, false);
	assert_int_equal(vlapic_get_apic_base(vl), DEF_BASE | BASE_EN);
	assert_int_equal(mr(vl, ID), 0x01000000);
	assert_false(vlapic_sipi_pending(vl));
	assert_int_equal(count_bits(vl, IRR) + count_bits(vl, ISR), 0);
}

static void test_init_x2apic_and_disabled(void **state)
{
	(void)state;
	struct vlapic *vl = A(4);

	to_x2apic(vl);
	dirty(vl);
	vlapic_reset(vl, true);
	assert_true(vlapic_x2apic_mode(vl)); /* INIT keeps x2APIC mode */
	assert_int_equal(xr(vl, X2(ID)), 4);
	assert_int_equal(xr(vl, X2(LDR)), 0x10);
	assert_int_equal(xr(vl, X2(TPR)), 0);
	assert_int_equal(xr(vl, X2(SVR)), 0xff);
	assert_int_equal(xr(vl, X2(LVT_TIMER)), MASKED);
	assert_int_equal(count_bits(vl, ISR), 0);
	/* INIT while disabled keeps it disabled */
	assert_true(vlapic_set_apic_base(vl, DEF_BASE));
	vlapic_reset(vl, true);
	assert_false(vlapic_hw_enabled(vl));
	/* RESET: xAPIC mode again */
	vlapic_reset(vl, false);
	assert_true(vlapic_hw_enabled(vl));
	assert_false(vlapic_x2apic_mode(vl));
	assert_int_equal(vlapic_mmio_base(vl), DEF_BASE);
}

/* ------------------------------------------------------------------------------------------------ */
/* Hostile sequences                                                                                */

static void test_hostile_registers_stay_bounded(void **state)
{
	(void)state;
	struct vlapic *vl = A(0);
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	sw_enable(vl);
	for (unsigned i = 0; i < 20000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t off = (uint32_t)(seed >> 20) & 0xfff;
		unsigned size = 1u << ((seed >> 40) & 3);
		uint64_t val = seed ^ (seed << 13), v;
		if ((off & ~0xfu) == SVR)
			continue; /* keep it software-enabled */
		if ((seed >> 50) & 1)
			vlapic_mmio_write(vl, off & ~0xfu, 4, val);
		else
			vlapic_mmio_write(vl, off, size, val);
		assert_true(vlapic_mmio_read(vl, off, size, &v));
		fake_now += (seed >> 33) & 0xffff;
		vlapic_advance(vl, fake_now);
		int p = vlapic_pending_intr(vl);
		if (p >= 0) {
			assert_true(p >= 16);
			assert_true(((unsigned)p & 0xf0) > (vlapic_ppr(vl) & 0xf0u));
			vlapic_intr_accepted(vl, (uint8_t)p);
		}
		assert_int_equal(mr(vl, IRR) & 0xffff, 0);
		assert_int_equal(mr(vl, ISR) & 0xffff, 0);
		assert_true(mr(vl, TIMER_CUR) <= mr(vl, TIMER_INIT));
		assert_true(vlapic_next_deadline(vl) > fake_now);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_values, setup),
		cmocka_unit_test_setup(test_big_apic_id, setup),
		cmocka_unit_test_setup(test_xapic_id_version, setup),
		cmocka_unit_test_setup(test_xapic_masks, setup),
		cmocka_unit_test_setup(test_tpr_cr8, setup),
		cmocka_unit_test_setup(test_ppr_rules, setup),
		cmocka_unit_test_setup(test_pending_above_ppr, setup),
		cmocka_unit_test_setup(test_nested_interrupts, setup),
		cmocka_unit_test_setup(test_accepted_requires_irr, setup),
		cmocka_unit_test_setup(test_apr, setup),
		cmocka_unit_test_setup(test_level_eoi_broadcast, setup),
		cmocka_unit_test_setup(test_eoi_reentrant_redelivery, setup),
		cmocka_unit_test_setup(test_all_vectors_roundtrip, setup),
		cmocka_unit_test_setup(test_sw_disable, setup),
		cmocka_unit_test_setup(test_esr_write_then_read, setup),
		cmocka_unit_test_setup(test_error_lvt, setup),
		cmocka_unit_test_setup(test_mmio_sizes, setup),
		cmocka_unit_test_setup(test_mmio_partial_writes_ignored, setup),
		cmocka_unit_test_setup(test_mmio_reserved_scan, setup),
		cmocka_unit_test_setup(test_timer_oneshot, setup),
		cmocka_unit_test_setup(test_timer_late_advance_fires_once, setup),
		cmocka_unit_test_setup(test_timer_divide_values, setup),
		cmocka_unit_test_setup(test_timer_max_values, setup),
		cmocka_unit_test_setup(test_timer_periodic, setup),
		cmocka_unit_test_setup(test_timer_periodic_min_period, setup),
		cmocka_unit_test_setup(test_timer_masked_still_counts, setup),
		cmocka_unit_test_setup(test_timer_sw_disabled, setup),
		cmocka_unit_test_setup(test_timer_divide_change, setup),
		cmocka_unit_test_setup(test_timer_mode_switch_oneshot_periodic, setup),
		cmocka_unit_test_setup(test_tsc_deadline, setup),
		cmocka_unit_test_setup(test_tsc_deadline_masked, setup),
		cmocka_unit_test_setup(test_tsc_deadline_no_tsc_callback, setup),
		cmocka_unit_test_setup(test_icr_physical, setup),
		cmocka_unit_test_setup(test_icr_logical_flat, setup),
		cmocka_unit_test_setup(test_icr_logical_cluster, setup),
		cmocka_unit_test_setup(test_icr_shorthands, setup),
		cmocka_unit_test_setup(test_icr_nmi_init_sipi, setup),
		cmocka_unit_test_setup(test_icr_lowest_priority, setup),
		cmocka_unit_test_setup(test_icr_x2apic, setup),
		cmocka_unit_test_setup(test_match_mixed_modes, setup),
		cmocka_unit_test_setup(test_accept_messages, setup),
		cmocka_unit_test_setup(test_lint_pins, setup),
		cmocka_unit_test_setup(test_lint_level_remote_irr, setup),
		cmocka_unit_test_setup(test_x2apic_msrs_need_x2apic_mode, setup),
		cmocka_unit_test_setup(test_x2apic_msr_map, setup),
		cmocka_unit_test_setup(test_x2apic_reserved_bits, setup),
		cmocka_unit_test_setup(test_x2apic_operation, setup),
		cmocka_unit_test_setup(test_apic_base_transitions, setup),
		cmocka_unit_test_setup(test_apic_base_reserved_and_relocation, setup),
		cmocka_unit_test_setup(test_global_disable_resets, setup),
		cmocka_unit_test_setup(test_init_xapic, setup),
		cmocka_unit_test_setup(test_init_x2apic_and_disabled, setup),
		cmocka_unit_test_setup(test_hostile_registers_stay_bounded, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
