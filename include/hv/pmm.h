/*
 * Physical memory as a sorted list of free ranges. Pure logic (no memory is touched), so the same
 * code runs in host tests. Allocation is top-down under a caller's limit: low memory stays free
 * for what needs it (AP trampoline, page tables below 4 GiB).
 */
#ifndef HV_PMM_H
#define HV_PMM_H

#include <stdbool.h>
#include <stdint.h>

#define PMM_MAX_RANGES 512
#define PMM_NO_PAGE 0 /* page 0 is never handed out */

struct pmm_range {
	uint64_t base;
	uint64_t end; /* exclusive */
};

struct pmm {
	struct pmm_range free[PMM_MAX_RANGES];
	uint32_t count;
	uint32_t dropped; /* ranges lost because the table was full */
};

void pmm_init(struct pmm *p);
/* Adds [base, end) shrunk inward to page boundaries; merges with neighbours. */
void pmm_add(struct pmm *p, uint64_t base, uint64_t end);
/* Removes [base, end) grown outward to page boundaries. */
void pmm_reserve(struct pmm *p, uint64_t base, uint64_t end);
/* A block of size bytes (rounded up to pages), aligned to align (a power of two >= 4 KiB), ending at
 * or below limit; PMM_NO_PAGE when none fits. */
uint64_t pmm_alloc(struct pmm *p, uint64_t size, uint64_t align, uint64_t limit);
void pmm_free(struct pmm *p, uint64_t base, uint64_t size);
uint64_t pmm_free_bytes(const struct pmm *p);

#endif
