/* The 8254 PIT, channel 0 (IRQ0). */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#include <stdint.h>

#define PIT_FREQUENCY_HZ 1193182

/* Channel 0 as a rate generator (mode 2) interrupting hz times a second. */
void pit_start_periodic(unsigned hz);

/* Stops channel 0's interrupts: mode 0 with no count written keeps OUT low (8254 data sheet). */
void pit_stop(void);
/* Latched current count of channel 0. */
uint16_t pit_read_count(void);

#endif
