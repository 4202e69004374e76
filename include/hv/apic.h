/* The host's local APIC (xAPIC MMIO or x2APIC MSRs) and IOAPICs. */
#ifndef HV_APIC_H
#define HV_APIC_H

#include <stdbool.h>
#include <stdint.h>

/* ICR delivery modes and flags (SDM vol. 3 11.6.1). */
#define APIC_DM_FIXED 0x000
#define APIC_DM_NMI 0x400
#define APIC_DM_INIT 0x500
#define APIC_DM_STARTUP 0x600
#define APIC_LEVEL_ASSERT 0x4000
#define APIC_TRIGGER_LEVEL 0x8000

void lapic_init(uint64_t mmio_phys); /* bootstrap CPU: choose the mode, map the page */
void lapic_cpu_init(void);	     /* every CPU: enable, spurious vector, mask LVTs */
bool lapic_ready(void);
bool lapic_x2apic_mode(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
bool lapic_wait_icr_idle(void);

/* LAPIC timer, counting at the bus/core crystal rate divided by 16. */
void lapic_timer_oneshot(uint32_t count, uint8_t vector);
void lapic_timer_count_masked(uint32_t count); /* counts down without interrupting: calibration */
void lapic_timer_stop(void);
uint32_t lapic_timer_current(void);

struct acpi_info;
void ioapic_init(const struct acpi_info *acpi); /* maps every IOAPIC, masks every pin */
bool ioapic_route(uint32_t gsi, uint8_t vector, uint32_t dest_apic_id, bool level, bool active_low);
void ioapic_mask(uint32_t gsi);

#endif
