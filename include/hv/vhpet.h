/*
 * A guest-visible HPET (IA-PC HPET Specification 1.0a): one event timer block of 1 KiB at
 * VHPET_BASE with a 64-bit main counter at 100 MHz and three 64-bit timers, all periodic-capable,
 * routable to IOAPIC pins 20-23, no FSB delivery, legacy replacement capable. Pure logic: time
 * comes from env->now_ns(), interrupts leave through env->set_irq() (GSI numbering of vdev.h).
 *
 * The core maps [VHPET_BASE, VHPET_BASE + VHPET_SIZE) and hands every guest access to
 * vhpet_mmio_read/vhpet_mmio_write with the offset inside the block; it calls vhpet_advance(now)
 * whenever guest time passes vhpet_next_deadline() (vdev.h). Register accesses bring the model up
 * to env->now_ns() themselves.
 */
#ifndef HV_VHPET_H
#define HV_VHPET_H

#include <stdbool.h>
#include <stdint.h>

#include <hv/vdev.h>

/* What the guest's ACPI HPET table says (HPET spec 3.2.4). */
#define VHPET_BASE 0xfed00000ull  /* Base Address, system memory space, 64-bit access width */
#define VHPET_SIZE 0x400u	  /* one event timer block */
#define VHPET_BLOCK_ID 0x8086a201u /* Event Timer Block ID = GCAP_ID[31:0]: vendor 8086h,
				    * LEG_RT_CAP, COUNT_SIZE_CAP, 3 timers, revision 1 */
#define VHPET_MIN_TICK 10000u	  /* Main Counter Minimum Clock Tick in periodic mode: 100 us */
#define VHPET_SEQUENCE 0	  /* HPET Number */

#define VHPET_NUM_TIMERS 3
/* Main counter period: 10 ns = 10^7 fs (100 MHz), as QEMU's HPET. Ticks are whole ns multiples,
 * so the counter is exact integer arithmetic on guest ns. */
#define VHPET_PERIOD_FS 10000000u
#define VHPET_NS_PER_TICK 10u
/* Tn_INT_ROUTE_CAP of every timer: IOAPIC pins 20-23 (bhyve's choice; pins nothing else drives). */
#define VHPET_INT_ROUTE_CAP 0x00f00000u
/* Legacy replacement (LEG_RT_CNF): timer 0 drives ISA IRQ0, which is GSI 2 after the usual
 * override, and timer 1 drives IRQ8 = GSI 8 (HPET spec 2.3.8, table 4). */
#define VHPET_LEGACY_GSI0 2u
#define VHPET_LEGACY_GSI1 8u

struct vhpet_timer {
	uint64_t config;     /* writable Tn_CONF bits as the guest left them */
	uint64_t comparator; /* Tn_COMPARATOR: the next match value */
	uint64_t period;     /* last value written to the comparator: the periodic increment */
	uint64_t fire_tick;  /* main-counter ticks after base_ns of the next match, or VDEV_NEVER */
};

struct vhpet {
	const struct vdev_env *env;
	uint64_t config;       /* GEN_CONF: ENABLE_CNF, LEG_RT_CNF */
	uint64_t isr;	       /* GINTR_STA */
	uint64_t counter_base; /* main counter at base_ns; the counter itself while halted */
	uint64_t base_ns;      /* guest ns when the counter last started */
	uint32_t lines;	       /* GSIs this HPET holds asserted, one bit each */
	struct vhpet_timer timer[VHPET_NUM_TIMERS];
};

/* Power-on state: counter halted at 0, timers disabled, comparators all ones. */
void vhpet_init(struct vhpet *h, const struct vdev_env *env);
/* Back to the power-on state, lowering any line the HPET holds. */
void vhpet_reset(struct vhpet *h);

/*
 * A guest access at offset (bytes from VHPET_BASE) of size 1, 2, 4 or 8 bytes. Registers take
 * aligned 4- and 8-byte accesses (HPET spec 2.3.1); other reads return the bytes they cover,
 * other writes are ignored. Returns false (reads give 0) only for a size other than 1/2/4/8 or a
 * range not inside the block.
 */
bool vhpet_mmio_read(struct vhpet *h, uint64_t offset, uint32_t size, uint64_t *value);
bool vhpet_mmio_write(struct vhpet *h, uint64_t offset, uint32_t size, uint64_t value);

/* vdev.h timing: the earliest guest ns at which something the guest can see happens, or VDEV_NEVER. */
uint64_t vhpet_next_deadline(const struct vhpet *h);
/* Fires every timer match at or before now_ns; O(1) work whatever the time gap (missed periods
 * coalesce into one interrupt, as a guest that was not scheduled would see them). */
void vhpet_advance(struct vhpet *h, uint64_t now_ns);

/* LEG_RT_CNF: while true the PIT's IRQ0 and the RTC's IRQ8 are disconnected on real hardware
 * (HPET spec 2.3.8): the core should stop delivering those devices' lines. */
bool vhpet_legacy_replacement(const struct vhpet *h);

#endif
