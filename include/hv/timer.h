/* Time on the host: TSC and LAPIC timer rates, calibrated once against a fixed-rate reference. */
#ifndef HV_TIMER_H
#define HV_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct timer_reference {
	uint64_t hpet_phys;	/* 0 when the platform has no HPET */
	uint16_t pm_timer_port; /* 0 when there is no ACPI PM timer in I/O space */
	bool pm_timer_32bit;
};

void timer_calibrate(const struct timer_reference *ref);
uint64_t tsc_hz(void);
uint64_t lapic_timer_hz(void); /* after the divide-by-16 */
uint64_t lapic_ticks_per_tsc(void); /* LAPIC timer ticks per TSC tick, 32.32 fixed point */
void udelay(uint64_t us);

#endif
