/* The physical allocator, fed from the boot memory map. */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/pmm.h>
#include <hv/spinlock.h>
#include <hv/string.h>

#define TRAMPOLINE_LIMIT 0x9f000 /* below the EBDA */

static struct pmm phys_mem;
static struct spinlock phys_lock;
static uint64_t trampoline_page;

uint64_t mm_trampoline_page(void) { return trampoline_page; }

static uint64_t range_end(uint64_t base, uint64_t length) { return length > UINT64_MAX - base ? UINT64_MAX : base + length; }

void mm_init(const struct boot_info *bi)
{
	pmm_init(&phys_mem);
	/* Entries are clamped so a bogus firmware length cannot wrap around the address space. */
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_range *r = &bi->mmap[i];
		if (r->type == BOOT_MEM_USABLE)
			pmm_add(&phys_mem, r->base, range_end(r->base, r->length));
	}
	/* Firmware maps may overlap: anything not usable wins over usable. */
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_range *r = &bi->mmap[i];
		if (r->type != BOOT_MEM_USABLE)
			pmm_reserve(&phys_mem, r->base, range_end(r->base, r->length));
	}
	pmm_reserve(&phys_mem, bi->kernel_phys_base, bi->kernel_phys_end);
	for (uint32_t i = 0; i < bi->module_count; i++)
		pmm_reserve(&phys_mem, bi->modules[i].base, range_end(bi->modules[i].base, bi->modules[i].size));
	trampoline_page = bi->ap_trampoline_page;
	if (!trampoline_page)
		trampoline_page = pmm_alloc(&phys_mem, PAGE_SIZE, PAGE_SIZE, TRAMPOLINE_LIMIT);
	/* Real-mode memory (BIOS data, EBDA, AP trampoline) is never general-purpose. */
	pmm_reserve(&phys_mem, 0, LIMIT_1M);
	if (phys_mem.dropped)
		pr_warn("memory: %u free ranges dropped (map too fragmented)", phys_mem.dropped);
}

uint64_t phys_alloc(uint64_t size, uint64_t align, uint64_t limit)
{
	uint64_t flags = spin_lock_irqsave(&phys_lock);
	uint64_t p = pmm_alloc(&phys_mem, size, align, limit);

	spin_unlock_irqrestore(&phys_lock, flags);
	return p;
}

void phys_free(uint64_t base, uint64_t size)
{
	uint64_t flags = spin_lock_irqsave(&phys_lock);

	pmm_free(&phys_mem, base, size);
	spin_unlock_irqrestore(&phys_lock, flags);
}

uint64_t phys_free_bytes(void)
{
	uint64_t flags = spin_lock_irqsave(&phys_lock);
	uint64_t n = pmm_free_bytes(&phys_mem);

	spin_unlock_irqrestore(&phys_lock, flags);
	return n;
}

void phys_snapshot(struct pmm *out)
{
	uint64_t flags = spin_lock_irqsave(&phys_lock);

	*out = phys_mem;
	spin_unlock_irqrestore(&phys_lock, flags);
}

uint64_t page_alloc_zeroed(void)
{
	uint64_t p = phys_alloc(PAGE_SIZE, PAGE_SIZE, LIMIT_4G);

	if (p)
		memset(phys_to_virt(p), 0, PAGE_SIZE);
	return p;
}

void *mm_zalloc(uint64_t size)
{
	uint64_t p = phys_alloc(size, PAGE_SIZE, UINT64_MAX);

	if (!p)
		return NULL;
	void *v = phys_to_virt(p);
	memset(v, 0, (size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1));
	return v;
}
