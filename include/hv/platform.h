/* What hv learned about the machine from ACPI, once, at boot. */
#ifndef HV_PLATFORM_H
#define HV_PLATFORM_H

#include <hv/acpi.h>
#include <hv/boot_info.h>

/* Parses the firmware's ACPI tables; a missing or corrupt required table stops the boot with a
 * message naming it. */
const struct acpi_info *platform_acpi_init(const struct boot_info *bi);
/* Masks the legacy 8259 pair so only the IOAPICs deliver device interrupts. */
void platform_mask_8259(void);
/* Routes ISA IRQ irq (after the MADT's overrides) to vector on the bootstrap CPU. */
bool platform_route_isa_irq(const struct acpi_info *acpi, uint8_t irq, uint8_t vector);

#endif
