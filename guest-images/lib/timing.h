/* Time for tests: the TSC calibrated once against the 8254 PIT (channel 0 counting at 1.193182 MHz
 * in mode 2, read through the latch command), delays, and waits for an interrupt counter. */
#ifndef GUEST_TIMING_H
#define GUEST_TIMING_H

#include <stdbool.h>
#include <stdint.h>

/* TSC ticks per millisecond (calibrates on first use; leaves PIT channel 0 in mode 2). */
uint64_t tsc_per_ms(void);
/* The TSC value ms milliseconds from now. */
uint64_t tsc_after_ms(uint32_t ms);
/* TSC ticks as microseconds (rounded down). */
uint64_t tsc_to_us(uint64_t ticks);
void delay_ms(uint32_t ms);
/* Busy-waits with interrupts enabled (sti ... cli) for ms milliseconds. */
void delay_ms_irq(uint32_t ms);
/* Enables interrupts until *counter reaches target or timeout_ms passes; true when it did. */
bool wait_count(volatile uint32_t *counter, uint32_t target, uint32_t timeout_ms);

static inline void cpu_pause(void) { __asm__ volatile("pause" ::: "memory"); }

#endif
