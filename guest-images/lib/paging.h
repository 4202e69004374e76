/* Identity-mapping page tables for 32-bit, PAE and 4-level paging (SDM vol. 3 ch. 4). Paging is
 * switched while running identity-mapped code, so no jump is needed around it. */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#define PAGE_SIZE 4096
#define PTE_P (1u << 0)
#define PTE_RW (1u << 1)
#define PTE_PS (1u << 7)

#define PAGE_4M (4u << 20)
#define PAGE_2M (2u << 20)

/* 32-bit paging: one page directory of 4 MiB pages (needs CR4.PSE). */
struct paging32 {
	uint32_t pd[1024];
} __attribute__((aligned(PAGE_SIZE)));

/* PAE or 4-level paging of the low 4 GiB with 2 MiB pages. */
struct paging_pae {
	uint64_t pml4[512]; /* 4-level only */
	uint64_t pdpt[512];
	uint64_t pd[4][512];
} __attribute__((aligned(PAGE_SIZE)));

/* Identity maps 4 GiB read/write; returns the CR3 value. */
uint32_t paging32_identity(struct paging32 *t);
uint32_t paging_pae_identity(struct paging_pae *t);
uint32_t paging_4level_identity(struct paging_pae *t);

/* Loads CR4 paging bits (CR4_PSE or CR4_PAE) and CR3, then sets CR0.PG. */
void paging_enable(uint32_t cr3, uint32_t cr4_bits);

/* Clears CR0.PG, then the CR4 paging bits. */
void paging_disable(void);

#endif
