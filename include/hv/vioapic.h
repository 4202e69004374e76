/*
 * A guest-visible I/O APIC: 24 pins, version 0x20 (the ICH/PCH I/O APIC, which has the directed EOI
 * register at offset 0x40). Register layout from the Intel 82093AA I/O APIC datasheet; the EOI
 * register from the Intel ICH9/PCH datasheets. Pure logic: interrupts leave through env->deliver_msi.
 *
 * Inputs: vioapic_set_irq(pin, level) sets the electrical level of a pin (the env->set_irq GSI path
 * ends here). A pin programmed active-low (polarity 1) is asserted while its line is low. Lines are
 * low after vioapic_init: a source wired to an active-low pin idles high and must say so once.
 * EOIs: the core calls vioapic_eoi(vector) for each EOI a local APIC broadcasts for a level-triggered
 * vector; the guest may also write the EOI register (offset 0x40) itself.
 */
#ifndef HV_VIOAPIC_H
#define HV_VIOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include <hv/vdev.h>

#define VIOAPIC_PINS 24
#define VIOAPIC_VERSION 0x20
#define VIOAPIC_BASE 0xfec00000ull /* where PCs put it (and the MADT says) */
#define VIOAPIC_MMIO_SIZE 0x1000

/* MMIO offsets */
#define VIOAPIC_IOREGSEL 0x00
#define VIOAPIC_IOWIN 0x10
#define VIOAPIC_EOI 0x40

/* Indirect registers (IOREGSEL values) */
#define VIOAPIC_REG_ID 0x00
#define VIOAPIC_REG_VER 0x01
#define VIOAPIC_REG_ARB 0x02
#define VIOAPIC_REG_REDTBL 0x10 /* pin n: low dword 0x10 + 2n, high dword 0x11 + 2n */

/* Redirection table entry fields */
#define VIOAPIC_RTE_VECTOR 0xffull
#define VIOAPIC_RTE_DELMODE_SHIFT 8
#define VIOAPIC_RTE_DELMODE (7ull << 8)
#define VIOAPIC_RTE_DESTMODE_LOGICAL (1ull << 11)
#define VIOAPIC_RTE_DELIVS (1ull << 12) /* delivery status, read-only */
#define VIOAPIC_RTE_ACTIVE_LOW (1ull << 13)
#define VIOAPIC_RTE_REMOTE_IRR (1ull << 14) /* read-only */
#define VIOAPIC_RTE_LEVEL (1ull << 15)
#define VIOAPIC_RTE_MASKED (1ull << 16)
#define VIOAPIC_RTE_DEST_SHIFT 56

struct vioapic {
	const struct vdev_env *env;
	uint32_t id;	  /* the ID register: ID in bits 27:24 */
	uint32_t arb;	  /* the arbitration ID register: bits 27:24 */
	uint8_t regsel;	  /* IOREGSEL */
	uint32_t lines;	  /* electrical level of each pin's input line */
	uint32_t asserted; /* lines after polarity: the level the edge/level logic sees */
	uint64_t rte[VIOAPIC_PINS];
	uint64_t delivered; /* messages sent, for statistics and tests */
};

/* Reset state: every pin masked, lines low, ID as given (bits 3:0 are kept). */
void vioapic_init(struct vioapic *a, const struct vdev_env *env, uint8_t id);

/* The 4 KiB MMIO page at offset 0..0xfff. Any size 1-8 at any offset is accepted: each byte lane
 * reaches the register it overlaps (IOREGSEL is 8 bits, IOWIN 32, EOI 8); other bytes read as 0
 * and ignore writes. Offsets outside the page and other sizes are ignored (reads return 0). */
uint64_t vioapic_mmio_read(struct vioapic *a, uint64_t offset, uint8_t size);
void vioapic_mmio_write(struct vioapic *a, uint64_t offset, uint8_t size, uint64_t value);

/* Sets the electrical level of an input pin; pins >= VIOAPIC_PINS are ignored. */
void vioapic_set_irq(struct vioapic *a, uint32_t pin, bool level);

/* An EOI for vector: clears remote IRR on each level-triggered pin with that vector and delivers
 * again any of them still asserted (and unmasked). */
void vioapic_eoi(struct vioapic *a, uint8_t vector);

#endif
