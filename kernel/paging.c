/* hv's own 4-level page tables (SDM vol. 3 4.5): RAM in the direct map, the kernel by section rights,
 * device registers uncached. */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/panic.h>
#include <hv/spinlock.h>
#include <hv/string.h>
#include <hv/x86.h>

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define SIZE_2M 0x200000ull
#define LEVEL_PT 1
#define LEVEL_PD 2

extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];

static uint64_t root_phys;
/* Page tables are reached through the identity map until hv's tables are live, then the direct map. */
static uint64_t table_offset;
static uint64_t kernel_phys_base;
static uint64_t mmio_next = MMIO_MAP_BASE;
static struct spinlock paging_lock;

static uint64_t *table_at(uint64_t phys) { return (uint64_t *)(phys + table_offset); }

static unsigned table_index(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }

/* The entry for va at level (LEVEL_PT or LEVEL_PD), creating tables on the way; NULL when out of
 * memory or when a large page already covers va above that level. */
static uint64_t *walk_create(uint64_t va, int level)
{
	uint64_t table = root_phys;

	for (int l = 4; l > level; l--) {
		uint64_t *e = &table_at(table)[table_index(va, l)];
		if (!(*e & PTE_P)) {
			uint64_t page = phys_alloc(PAGE_SIZE, PAGE_SIZE, LIMIT_4G);
			if (!page)
				return NULL;
			memset(table_at(page), 0, PAGE_SIZE);
			*e = page | PTE_P | PTE_RW;
		} else if (*e & PTE_PS) {
			return NULL;
		}
		table = *e & PTE_ADDR;
	}
	return &table_at(table)[table_index(va, level)];
}

static bool covered_by_large_page(uint64_t va)
{
	uint64_t table = root_phys;

	for (int l = 4; l >= LEVEL_PD; l--) {
		uint64_t e = table_at(table)[table_index(va, l)];
		if (!(e & PTE_P))
			return false;
		if (e & PTE_PS)
			return true;
		table = e & PTE_ADDR;
	}
	return false;
}

static void map_4k(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *e = walk_create(va, LEVEL_PT);

	if (!e) {
		if (covered_by_large_page(va))
			return; /* direct map: already mapped, same frame */
		panic("paging: out of memory mapping %016lx", va);
	}
	*e = pa | flags | PTE_P;
}

/* Maps [pa, pa+size) at va, with 2 MiB pages wherever both ends allow. */
static void map_range(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	uint64_t end = va + size;

	while (va < end) {
		if (!(va & (SIZE_2M - 1)) && !(pa & (SIZE_2M - 1)) && end - va >= SIZE_2M) {
			uint64_t *e = walk_create(va, LEVEL_PD);
			if (e && !(*e & PTE_P)) {
				*e = pa | flags | PTE_P | PTE_PS;
				va += SIZE_2M;
				pa += SIZE_2M;
				continue;
			}
		}
		map_4k(va, pa, flags);
		va += PAGE_SIZE;
		pa += PAGE_SIZE;
	}
}

static bool is_ram(uint32_t type)
{
	return type == BOOT_MEM_USABLE || type == BOOT_MEM_ACPI_RECLAIM || type == BOOT_MEM_ACPI_NVS ||
	       type == BOOT_MEM_LOADER;
}

static void map_direct(uint64_t base, uint64_t end)
{
	base &= ~(uint64_t)(PAGE_SIZE - 1);
	end = (end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	if (end > base)
		map_range(PHYS_MAP_BASE + base, base, end - base, PTE_RW | PTE_NX);
}

static void map_kernel_section(const char *start, const char *end, uint64_t flags)
{
	uint64_t va = (uint64_t)start;

	for (; va < (uint64_t)end; va += PAGE_SIZE)
		map_4k(va, va - KERNEL_LINK_VMA + kernel_phys_base, flags);
}

void paging_cpu_init(void)
{
	struct cpuid_regs r = cpuid(0x80000001, 0);

	if (!(r.edx & (1u << 20)))
		panic("this CPU has no NX (execute-disable) support");
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | CR0_WP);
}

void paging_init(const struct boot_info *bi)
{
	kernel_phys_base = bi->kernel_phys_base;
	root_phys = phys_alloc(PAGE_SIZE, PAGE_SIZE, LIMIT_4G);
	if (!root_phys)
		panic("paging: no memory for the page table root");
	memset(table_at(root_phys), 0, PAGE_SIZE);

	/* Real-mode area (BIOS data, EBDA, legacy ROM: RSDP search), then all RAM. Page 0 stays out. */
	map_direct(PAGE_SIZE, LIMIT_1M);
	for (uint32_t i = 0; i < bi->mmap_count; i++)
		if (is_ram(bi->mmap[i].type))
			map_direct(bi->mmap[i].base, bi->mmap[i].base + bi->mmap[i].length);
	for (uint32_t i = 0; i < bi->module_count; i++)
		map_direct(bi->modules[i].base, bi->modules[i].base + bi->modules[i].size);

	map_kernel_section(__kernel_start, __text_end, 0);
	map_kernel_section(__text_end, __rodata_end, PTE_NX);
	map_kernel_section(__rodata_end, __kernel_end, PTE_RW | PTE_NX);

	write_cr3(root_phys);
	table_offset = PHYS_MAP_BASE;
}

uint64_t paging_root(void) { return root_phys; }

void *phys_to_virt(uint64_t phys) { return (void *)(phys + table_offset); }

uint64_t virt_to_phys(const void *virt)
{
	uint64_t va = (uint64_t)virt;

	if (va >= KERNEL_LINK_VMA)
		return va - KERNEL_LINK_VMA + kernel_phys_base;
	return va - table_offset;
}

void *mmio_map(uint64_t phys, uint64_t size)
{
	uint64_t offset = phys & (PAGE_SIZE - 1);
	uint64_t pages = (offset + size + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t flags = spin_lock_irqsave(&paging_lock);
	uint64_t va = mmio_next;

	mmio_next += (pages + 1) * PAGE_SIZE; /* one unmapped guard page between mappings */
	for (uint64_t i = 0; i < pages; i++)
		map_4k(va + i * PAGE_SIZE, (phys - offset) + i * PAGE_SIZE, PTE_RW | PTE_NX | PTE_PCD | PTE_PWT);
	spin_unlock_irqrestore(&paging_lock, flags);
	return (void *)(va + offset);
}

void *phys_map_ram(uint64_t phys, uint64_t size)
{
	if (!table_offset)
		return (void *)phys; /* still on the boot path's identity map */
	uint64_t flags = spin_lock_irqsave(&paging_lock);

	map_direct(phys, phys + size);
	spin_unlock_irqrestore(&paging_lock, flags);
	for (uint64_t p = phys & ~(uint64_t)(PAGE_SIZE - 1); p < phys + size; p += PAGE_SIZE)
		invlpg(PHYS_MAP_BASE + p);
	return phys_to_virt(phys);
}

void paging_identity_page(uint64_t phys, bool present)
{
	uint64_t flags = spin_lock_irqsave(&paging_lock);
	uint64_t *e = walk_create(phys, LEVEL_PT);

	if (!e)
		panic("paging: cannot map identity page %016lx", phys);
	*e = present ? phys | PTE_P | PTE_RW : 0;
	spin_unlock_irqrestore(&paging_lock, flags);
	invlpg(phys);
}
