/* I/O APIC indirect register access. */
#include "ioapic.h"

uint32_t ioapic_read(uint8_t reg)
{
	*(volatile uint8_t *)ioapic_mmio(IOAPIC_IOREGSEL) = reg;
	return *ioapic_mmio(IOAPIC_IOWIN);
}

void ioapic_write(uint8_t reg, uint32_t value)
{
	*(volatile uint8_t *)ioapic_mmio(IOAPIC_IOREGSEL) = reg;
	*ioapic_mmio(IOAPIC_IOWIN) = value;
}

unsigned ioapic_pins(void) { return ((ioapic_read(IOAPIC_REG_VER) >> 16) & 0xff) + 1; }

uint32_t ioapic_rte_low(unsigned pin) { return ioapic_read(IOAPIC_REG_RTE(pin)); }

void ioapic_set_rte(unsigned pin, uint32_t low, uint8_t dest)
{
	ioapic_write(IOAPIC_REG_RTE(pin), RTE_MASKED);
	ioapic_write(IOAPIC_REG_RTE(pin) + 1, (uint32_t)dest << 24);
	ioapic_write(IOAPIC_REG_RTE(pin), low);
}

void ioapic_mask(unsigned pin) { ioapic_write(IOAPIC_REG_RTE(pin), ioapic_rte_low(pin) | RTE_MASKED); }

void ioapic_mask_all(void)
{
	unsigned pins = ioapic_pins();

	for (unsigned pin = 0; pin < pins && pin < 240; pin++)
		ioapic_write(IOAPIC_REG_RTE(pin), RTE_MASKED);
}
