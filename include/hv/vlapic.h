/*
 * The virtual local APIC: one per vcpu, xAPIC (MMIO page) and x2APIC (MSRs 0x800-0x8ff), with
 * IA32_APIC_BASE, IA32_TSC_DEADLINE, the LVT, the timer in its three modes, the ICR and the
 * IRR/ISR/TMR priority machinery of Intel SDM vol. 3 chapter 11. Pure logic (vdev.h rules): time
 * comes from env->now_ns(), everything that leaves the APIC goes through struct vlapic_ops.
 *
 * Timer clock: the APIC timer counts at VLAPIC_BUS_HZ (1 GHz, one tick per ns, as KVM) divided by
 * the divide configuration register. A guest that wants the rate calibrates it (PIT/HPET) as on
 * hardware. Periodic reloads shorter than VLAPIC_MIN_PERIOD_NS are stretched to it (a hostile guest
 * cannot make the core spin), so the guest sees at most 10000 periodic interrupts per second.
 *
 * Concurrency: a vlapic is not thread-safe. The core serialises every call on one vlapic (its own
 * vcpu's exits, and vlapic_accept() from other CPUs). Callbacks are made only at points where the
 * vlapic's state is consistent, and a callback may call back into the same vlapic (e.g. the IOAPIC
 * re-delivering a still-asserted level interrupt from inside eoi()): a core lock held around a
 * vlapic call must allow that (or the core defers the delivery).
 */
#ifndef HV_VLAPIC_H
#define HV_VLAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include <hv/vdev.h>

#define VLAPIC_BUS_HZ 1000000000ull
#define VLAPIC_MIN_PERIOD_NS 100000ull
/* Version 0x14 (integrated APIC), max LVT entry 6 (7 LVTs including CMCI), bit 24: EOI-broadcast
 * suppression supported (SDM 11.4.8, 11.8.5). */
#define VLAPIC_VERSION 0x01060014u
#define VLAPIC_DEFAULT_BASE 0xfee00000ull
#define VLAPIC_NO_MMIO UINT64_MAX
#define VLAPIC_PAGE_SIZE 4096u

/* MSRs the vlapic owns (vlapic_msr_read/write take all of them). */
#define VLAPIC_MSR_APIC_BASE 0x1bu
#define VLAPIC_MSR_TSC_DEADLINE 0x6e0u
#define VLAPIC_MSR_X2APIC_FIRST 0x800u
#define VLAPIC_MSR_X2APIC_LAST 0x8ffu

/* IA32_APIC_BASE bits (SDM 11.4.4, 11.12.1). */
#define VLAPIC_BASE_BSP (1ull << 8)
#define VLAPIC_BASE_EXTD (1ull << 10)
#define VLAPIC_BASE_EN (1ull << 11)

/* ESR bits (SDM 11.5.3). */
#define VLAPIC_ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define VLAPIC_ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define VLAPIC_ESR_ILLEGAL_REGISTER (1u << 7)

/* LVT entries, in register order; CMCI (offset 0x2f0) last. */
enum vlapic_lvt {
	VLAPIC_LVT_TIMER,   /* 0x320 */
	VLAPIC_LVT_THERMAL, /* 0x330 */
	VLAPIC_LVT_PERF,    /* 0x340 */
	VLAPIC_LVT_LINT0,   /* 0x350 */
	VLAPIC_LVT_LINT1,   /* 0x360 */
	VLAPIC_LVT_ERROR,   /* 0x370 */
	VLAPIC_LVT_CMCI,    /* 0x2f0 */
	VLAPIC_LVT_COUNT
};

struct vlapic;

/* An IPI leaving a vlapic through its ICR (or SELF IPI), after the sender took its own share. */
struct vlapic_ipi {
	/* dest/dest_logical/vector as written; delivery 0 fixed, 1 lowest priority, 4 NMI, 5 INIT,
	 * 6 SIPI; level_triggered always false (IPIs are edge: SDM 11.6.1, table of valid ICR combinations). */
	struct vdev_msi msg;
	/* Destination format: true = 32-bit x2APIC (sender in x2APIC mode; broadcast 0xffffffff),
	 * false = 8-bit xAPIC (broadcast 0xff). Pass it to vlapic_match_dest(). */
	bool x2apic;
	/* Shorthand "all excluding self" (or "all including self", the sender having taken its copy):
	 * the message goes to every other vlapic of the VM and msg.dest is meaningless. */
	bool all_but_self;
};

struct vlapic_ops {
	/* Deliver ipi to every vlapic of the VM OTHER than from for which
	 * vlapic_match_dest(target, msg.dest, msg.dest_logical, x2apic) holds (or to every other
	 * vlapic with all_but_self), by vlapic_accept(target, &ipi->msg), kicking each target vcpu.
	 * Lowest priority (delivery 1): deliver to one target only (the first match is fine); the
	 * sender already kept it when it matched itself, and then send_ipi is not called. */
	void (*send_ipi)(void *ctx, struct vlapic *from, const struct vlapic_ipi *ipi);
	/* A level-triggered vector (TMR set) was EOIed and EOI broadcast is not suppressed: tell the
	 * IOAPIC(s) (clear remote IRR of the pins with that vector). May be NULL. */
	void (*eoi)(void *ctx, uint8_t vector);
	/* This vcpu's guest TSC now (host TSC + offset), for IA32_TSC_DEADLINE. NULL: the guest TSC is
	 * taken as env->now_ns() scaled by tsc_hz. */
	uint64_t (*guest_tsc)(void *ctx);
};

/* Everything below is private to vlapic.c; it is here so the core can embed a vlapic in its vcpu. */
struct vlapic {
	const struct vdev_env *env;
	const struct vlapic_ops *ops;
	void *ctx;
	uint32_t x2apic_id; /* initial APIC ID: x2APIC ID, low 8 bits the xAPIC ID after RESET */
	bool bsp_at_reset;
	bool x2apic_cap;
	uint8_t maxphyaddr;
	uint64_t tsc_hz;

	uint64_t apic_base; /* IA32_APIC_BASE as the guest reads it */
	uint8_t xapic_id;   /* xAPIC ID register bits 31:24 (writable, kept across INIT) */
	uint32_t tpr, svr, ldr, dfr;
	uint32_t esr, esr_pending; /* visible ESR, errors since the last ESR write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[VLAPIC_LVT_COUNT];
	uint32_t irr[8], isr[8], tmr[8];

	uint32_t timer_initial, timer_dcr;
	uint64_t timer_expire_ns; /* next time the count reaches 0 / the deadline; VDEV_NEVER = disarmed */
	uint64_t tsc_deadline;	  /* IA32_TSC_DEADLINE, 0 = disarmed */

	bool nmi_pending, init_pending, sipi_pending, extint_pending;
	uint8_t sipi_vector;
	bool lint_level[2];
	bool in_error; /* recursion guard for the error LVT */
};

/* ---- Life cycle ---------------------------------------------------------------------------- */

/* RESET state: xAPIC mode at VLAPIC_DEFAULT_BASE, enabled, BSP flag from bsp. tsc_hz (guest TSC
 * rate) is clamped to [1 MHz, 16 GHz]. ops/ctx are the core's; ops may be NULL in tests. */
void vlapic_init(struct vlapic *vl, const struct vdev_env *env, const struct vlapic_ops *ops, void *ctx,
		 uint32_t apic_id, bool bsp, uint64_t tsc_hz);
/* Optional, after init: the guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]; default 36; clamped
 * to 36..52) - base bits at and above it are reserved - and whether CPUID.1:ECX.x2APIC is offered
 * (default true; when false, APIC_BASE.EXTD is reserved and the x2APIC MSRs #GP). */
void vlapic_set_caps(struct vlapic *vl, unsigned maxphyaddr, bool x2apic);
/* init = false: RESET (power-up, everything including IA32_APIC_BASE and the IDs, message latches
 * cleared). init = true: INIT (SDM 11.4.7.3, 11.12.5.1): every register to its power-up value but
 * the APIC ID, IA32_APIC_BASE (mode, base, BSP) and the NMI/INIT/SIPI latches, which the core owns;
 * a globally disabled APIC stays disabled. */
void vlapic_reset(struct vlapic *vl, bool init);

/* ---- Guest accesses ------------------------------------------------------------------------ */

/* Guest-physical base of the MMIO page the core must route to this vlapic, or VLAPIC_NO_MMIO when
 * the page is not decoded (x2APIC mode or globally disabled). Re-read after every APIC_BASE write. */
uint64_t vlapic_mmio_base(const struct vlapic *vl);
/* xAPIC MMIO, offset within the page, size 1/2/4/8. Registers are the first 4 bytes of each
 * 16-byte slot (SDM 11.4.1). Reads of any size/alignment return the bytes of that image (bytes
 * 4-15 of a slot and reserved registers read 0; any other size reads 0). Writes take effect only
 * as 32-bit writes at a 16-byte-aligned offset (size 4, or size 8 whose high half is dropped);
 * others are ignored. A reserved register sets ESR "illegal register address". Returns false, with
 * *value all ones for reads, when the page is not decoded (x2APIC mode, disabled, offset outside
 * the page): the core then treats the access as unclaimed. */
bool vlapic_mmio_read(struct vlapic *vl, uint64_t offset, unsigned size, uint64_t *value);
bool vlapic_mmio_write(struct vlapic *vl, uint64_t offset, unsigned size, uint64_t value);

/* True for the MSRs vlapic_msr_read/write own (APIC_BASE, TSC_DEADLINE, 0x800-0x8ff). */
bool vlapic_owns_msr(uint32_t msr);
/* RDMSR/WRMSR of an owned MSR; false means the CPU raises #GP(0) (x2APIC rules of SDM 11.12.1:
 * x2APIC MSRs outside x2APIC mode, reserved addresses, reads of write-only and writes of read-only
 * registers, non-zero reserved bits; APIC_BASE rules of vlapic_set_apic_base). */
bool vlapic_msr_read(struct vlapic *vl, uint32_t msr, uint64_t *value);
bool vlapic_msr_write(struct vlapic *vl, uint32_t msr, uint64_t value);

uint64_t vlapic_get_apic_base(const struct vlapic *vl);
/* WRMSR IA32_APIC_BASE (SDM 11.4.4, 11.12.5): false (#GP) for reserved bits, EXTD without x2APIC
 * support, EN=0/EXTD=1, x2APIC -> xAPIC and disabled -> x2APIC. Disabling resets every register
 * but the IDs and latches; re-enabling comes back in xAPIC mode. The base may move in any state. */
bool vlapic_set_apic_base(struct vlapic *vl, uint64_t value);

/* IA32_TSC_DEADLINE (SDM 11.5.4.1): reads 0 and ignores writes outside TSC-deadline mode; a
 * deadline at or before the current guest TSC fires at once; firing clears it. Never #GP. */
uint64_t vlapic_get_tsc_deadline(struct vlapic *vl);
void vlapic_set_tsc_deadline(struct vlapic *vl, uint64_t value);

/* CR8 is TPR[7:4]: the core's MOV CR8 emulation or TPR shadow sync uses these (full TPR byte). */
uint8_t vlapic_get_tpr(const struct vlapic *vl);
void vlapic_set_tpr(struct vlapic *vl, uint8_t tpr);

/* ---- Time (vdev.h) ------------------------------------------------------------------------- */

/* Absolute guest ns of the next timer event that delivers something, or VDEV_NEVER (disarmed,
 * masked, APIC disabled). A masked timer still counts: reads and later unmasking see it. */
uint64_t vlapic_next_deadline(const struct vlapic *vl);
/* Fires the timer if due at or before now_ns (periodic: reloads, at most one interrupt however
 * late; one-shot and deadline: disarm). */
void vlapic_advance(struct vlapic *vl, uint64_t now_ns);

/* ---- Messages in --------------------------------------------------------------------------- */

/* Whether this vlapic is a target of dest. x2apic: dest is a 32-bit x2APIC destination (IPI from
 * an x2APIC-mode sender); false: 8-bit xAPIC format (xAPIC-mode sender, IOAPIC, MSI), where 0xff is
 * broadcast whatever the target's mode. Physical: ID match or broadcast; logical: flat or cluster
 * DFR model in xAPIC mode, cluster<<16 | 1<<(id&15) in x2APIC mode (SDM 11.6.2, 11.12.10).
 * A globally disabled APIC matches nothing. */
bool vlapic_match_dest(const struct vlapic *vl, uint32_t dest, bool logical, bool x2apic);
/* A message addressed to this vlapic (IPI, IOAPIC, MSI). Fixed/lowest priority: sets IRR (and TMR
 * for level, clears it for edge); dropped while software-disabled, vector 0-15 sets ESR "receive
 * illegal vector" instead. NMI, INIT, SIPI(vector), ExtINT: latched for the core. SMI: dropped.
 * Everything is dropped while globally disabled. Returns true when something became pending (the
 * core kicks the vcpu). */
bool vlapic_accept(struct vlapic *vl, const struct vdev_msi *msg);
/* The level of the LINT0/LINT1 pin (pin 0 or 1). A rising edge (or a level with a level-triggered
 * fixed LVT, until its EOI clears remote IRR) delivers through the LVT entry: fixed, NMI, INIT;
 * ExtINT is vlapic_pic_intr_allowed(). While globally disabled LINT1 is the NMI pin. */
void vlapic_set_lint(struct vlapic *vl, unsigned pin, bool level);

/* ---- The core's delivery questions --------------------------------------------------------- */

/* The highest IRR vector whose priority class is above PPR (SDM 11.8.3.1), when the APIC is
 * enabled (globally and by SVR); -1 when none. */
int vlapic_pending_intr(const struct vlapic *vl);
/* The vcpu took vector (the core injected it): IRR -> ISR, PPR follows. Ignored unless the vector
 * is in IRR. */
void vlapic_intr_accepted(struct vlapic *vl, uint8_t vector);
/* The PIC's INTR reaches this CPU: LINT0 unmasked with delivery ExtINT and the APIC software-
 * enabled, or the APIC globally disabled (no APIC: INTR is the CPU pin). The core then asks the
 * vpic for its vector; ExtINT bypasses TPR/PPR. */
bool vlapic_pic_intr_allowed(const struct vlapic *vl);

/* Latched messages: peek, and take (clears). The SIPI vector is the start page (CS = vector<<8). */
bool vlapic_nmi_pending(const struct vlapic *vl);
bool vlapic_take_nmi(struct vlapic *vl);
bool vlapic_init_pending(const struct vlapic *vl);
bool vlapic_take_init(struct vlapic *vl);
bool vlapic_sipi_pending(const struct vlapic *vl);
bool vlapic_take_sipi(struct vlapic *vl, uint8_t *vector);
bool vlapic_extint_pending(const struct vlapic *vl); /* an ExtINT message (IOAPIC pin in ExtINT mode) */
bool vlapic_take_extint(struct vlapic *vl);

/* ---- State queries ------------------------------------------------------------------------- */

bool vlapic_hw_enabled(const struct vlapic *vl); /* IA32_APIC_BASE.EN (CPUID.1:EDX.APIC follows it) */
bool vlapic_sw_enabled(const struct vlapic *vl); /* hw enabled and SVR bit 8 */
bool vlapic_x2apic_mode(const struct vlapic *vl);
uint32_t vlapic_id(const struct vlapic *vl); /* x2APIC ID in x2APIC mode, else the xAPIC ID */
uint8_t vlapic_ppr(const struct vlapic *vl);
bool vlapic_bsp(const struct vlapic *vl);

#endif
