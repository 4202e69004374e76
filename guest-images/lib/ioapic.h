/* The I/O APIC at its PC address (Intel 82093AA datasheet): IOREGSEL at +0, IOWIN at +0x10, and
 * the EOI register at +0x40 on version 0x20 parts (ICH/PCH). */
#ifndef GUEST_IOAPIC_H
#define GUEST_IOAPIC_H

#include <stdint.h>

#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40

#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_RTE(pin) (0x10 + 2 * (pin))

/* Redirection table entry, low dword. */
#define RTE_DM_FIXED (0u << 8)
#define RTE_DM_LOWEST (1u << 8)
#define RTE_DM_NMI (4u << 8)
#define RTE_DM_EXTINT (7u << 8)
#define RTE_DEST_LOGICAL (1u << 11)
#define RTE_DELIVS (1u << 12)
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)
#define RTE_WRITABLE 0x1affu /* vector, delivery mode, destination mode, polarity, trigger, mask */

static inline volatile uint32_t *ioapic_mmio(uint32_t off)
{
	return (volatile uint32_t *)(IOAPIC_BASE + off);
}

uint32_t ioapic_read(uint8_t reg);
void ioapic_write(uint8_t reg, uint32_t value);
/* Pins the IOAPIC has (maximum redirection entry + 1). */
unsigned ioapic_pins(void);
uint32_t ioapic_rte_low(unsigned pin);
/* Programs an entry: masks it first, writes the destination (APIC ID in bits 31:24), then low. */
void ioapic_set_rte(unsigned pin, uint32_t low, uint8_t dest);
void ioapic_mask(unsigned pin);
void ioapic_mask_all(void);

#endif
