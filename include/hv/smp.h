/* Bringing up the application processors and the loop every CPU ends in. */
#ifndef HV_SMP_H
#define HV_SMP_H

#include <stdint.h>

/* Sets up the bootstrap CPU as cpus[0] (its tables, GS base); runs before anything else. */
void smp_bsp_early_init(void);
/* Starts every enabled CPU of the MADT (at most maxcpus in all) with INIT-SIPI-SIPI. */
void smp_boot(const uint32_t *apic_ids, uint32_t count, uint32_t maxcpus);
uint32_t smp_online_count(void);

#endif
