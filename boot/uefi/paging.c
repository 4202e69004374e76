/*
 * The kernel's first page tables: an identity map of [0, identity_top) so boot_info, modules and the
 * hand-off stack stay reachable at their physical addresses, and the kernel block at KERNEL_LINK_VMA.
 * 2 MiB pages, writable, executable (EFER.NXE may be off, so bit 63 must stay clear), write-back
 * by default (MTRRs still make MMIO uncached). The kernel replaces these tables early; they live in
 * EfiLoaderData pages (BOOT_MEM_LOADER) below 4 GiB.
 */
#include "loader.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

/* Table pages come from one zeroed block sized up front, so no allocation happens while mapping. */
struct pt_pool {
	uint64_t next;
	uint64_t end;
};

static uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(UINTN)(entry & PTE_ADDR);
}

/* The next-level table behind *entry, taken from the pool when not present yet. */
static uint64_t *next_table(uint64_t *entry, struct pt_pool *pool)
{
	if (!(*entry & PTE_P)) {
		if (pool->next >= pool->end)
			return NULL;
		*entry = pool->next | PTE_P | PTE_W;
		pool->next += EFI_PAGE_SIZE;
	}
	return table_at(*entry);
}

static EFI_STATUS map_2m(uint64_t *pml4, uint64_t va, uint64_t pa, struct pt_pool *pool)
{
	uint64_t *pdpt = next_table(&pml4[(va >> 39) & 511], pool);
	uint64_t *pd = pdpt ? next_table(&pdpt[(va >> 30) & 511], pool) : NULL;

	if (!pd) {
		Print(L"hv-efi: error: page table pool exhausted (loader bug)\n");
		return EFI_OUT_OF_RESOURCES;
	}
	pd[(va >> 21) & 511] = pa | PTE_P | PTE_W | PTE_PS;
	return EFI_SUCCESS;
}

EFI_STATUS paging_build(uint64_t identity_top, uint64_t kernel_phys, uint64_t kernel_size,
			uint64_t *cr3)
{
	/* Whole page directories: identity_top is rounded to 1 GiB (one PD maps 1 GiB). */
	uint64_t top = align_up(identity_top, SIZE_1G);
	uint64_t ident_pds = top / SIZE_1G;
	uint64_t ident_pdpts = (ident_pds + 511) / 512;
	/* KERNEL_LINK_VMA is 2 MiB into a 1 GiB region; a kernel over ~1 GiB would need a second PD. */
	uint64_t kernel_pds = (KERNEL_LINK_PHYS + kernel_size + SIZE_1G - 1) / SIZE_1G;
	uint64_t pages = 1 + ident_pdpts + ident_pds + 1 + kernel_pds;
	struct pt_pool pool;
	uint64_t *pml4, base;
	EFI_STATUS st;

	st = pages_alloc_zeroed(pages, BELOW_4G, &base, L"page tables");
	if (EFI_ERROR(st))
		return st;
	pml4 = (uint64_t *)(UINTN)base;
	pool.next = base + EFI_PAGE_SIZE;
	pool.end = base + pages * EFI_PAGE_SIZE;

	for (uint64_t a = 0; a < top; a += SIZE_2M) {
		st = map_2m(pml4, a, a, &pool);
		if (EFI_ERROR(st))
			return st;
	}
	for (uint64_t off = 0; off < kernel_size; off += SIZE_2M) {
		st = map_2m(pml4, KERNEL_LINK_VMA + off, kernel_phys + off, &pool);
		if (EFI_ERROR(st))
			return st;
	}
	*cr3 = base;
	return EFI_SUCCESS;
}
