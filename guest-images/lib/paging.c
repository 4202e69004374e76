/* Page table construction and the CR0.PG switch. */
#include "paging.h"
#include "cpu.h"

uint32_t paging32_identity(struct paging32 *t)
{
	for (uint32_t i = 0; i < 1024; i++)
		t->pd[i] = i * PAGE_4M | PTE_PS | PTE_RW | PTE_P;
	return (uint32_t)t->pd;
}

static void map_low_4g_2m(struct paging_pae *t, uint64_t pdpte_flags)
{
	for (uint32_t i = 0; i < 4; i++) {
		t->pdpt[i] = (uint32_t)t->pd[i] | pdpte_flags;
		for (uint32_t j = 0; j < 512; j++)
			t->pd[i][j] = (uint64_t)(i * 512 + j) * PAGE_2M | PTE_PS | PTE_RW | PTE_P;
	}
}

uint32_t paging_pae_identity(struct paging_pae *t)
{
	/* PAE PDPTEs have no R/W bit: it is reserved there. */
	map_low_4g_2m(t, PTE_P);
	return (uint32_t)t->pdpt;
}

uint32_t paging_4level_identity(struct paging_pae *t)
{
	map_low_4g_2m(t, PTE_RW | PTE_P);
	t->pml4[0] = (uint32_t)t->pdpt | PTE_RW | PTE_P;
	return (uint32_t)t->pml4;
}

void paging_enable(uint32_t cr3, uint32_t cr4_bits)
{
	write_cr4(read_cr4() | cr4_bits);
	write_cr3(cr3);
	write_cr0(read_cr0() | CR0_PG);
}

void paging_disable(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~(CR4_PSE | CR4_PAE));
}
