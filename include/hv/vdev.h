/*
 * What a virtual device model may use, and nothing more: guest time, interrupt lines, MSI/IPI
 * delivery and guest memory. Device models are pure logic (no hardware, no hv internals), so the
 * same file runs in the kernel, in host unit tests and in fuzzers.
 *
 * Time: models keep no timers of their own. Each model that has timers exposes
 *   uint64_t <model>_next_deadline(const struct <model> *)   absolute guest ns, or VDEV_NEVER
 *   void <model>_advance(struct <model> *, uint64_t now_ns)  fire everything due at or before now
 * and the core calls advance whenever guest time passes a deadline (before entering a vcpu, when
 * a halted vcpu wakes). Register reads compute counters from env->now_ns() directly.
 */
#ifndef HV_VDEV_H
#define HV_VDEV_H

#include <stdbool.h>
#include <stdint.h>

#define VDEV_NEVER UINT64_MAX
#define NS_PER_SEC 1000000000ull

/* MSI-style message to local APICs (Intel SDM vol. 3 11.11 address/data layout). */
#define VDEV_MSI_NMI 4
#define VDEV_MSI_INIT 5

struct vdev_msi {
	uint32_t dest;	     /* APIC ID, or logical destination with dest_logical */
	bool dest_logical;
	uint8_t vector;
	uint8_t delivery;    /* VDEV_MSI_*: 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 6 SIPI, 7 ExtINT */
	bool level_triggered;
};

struct vdev_env {
	void *ctx;
	/* Guest time in nanoseconds: monotonic, starts near 0 when the VM is created. */
	uint64_t (*now_ns)(void *ctx);
	/* Sets the level of an interrupt line: a GSI (0-23: IOAPIC pins; 0-15 are also the ISA IRQs of
	 * the 8259 pair, after the usual IRQ0->GSI2 override). Edge sources pulse: true then false. */
	void (*set_irq)(void *ctx, uint32_t gsi, bool level);
	/* Delivers a message to the local APIC(s) it addresses (IOAPIC redirection, MSI). */
	void (*deliver_msi)(void *ctx, const struct vdev_msi *msi);
	/* Guest-physical memory, for models that read or write it; false outside guest RAM. */
	bool (*read_gpa)(void *ctx, uint64_t gpa, void *buf, uint32_t len);
	bool (*write_gpa)(void *ctx, uint64_t gpa, const void *buf, uint32_t len);
};

#endif
