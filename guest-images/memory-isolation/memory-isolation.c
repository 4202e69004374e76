/* Guest-physical addresses the memory map does not list hold no memory: a pattern written there
 * does not read back (reads give all-ones or zeros), the writes do not land in the guest's own RAM
 * at a wrapped or truncated address, and the guest keeps running. Probes: just past the end of
 * RAM, 16 MiB further, 3 GiB, and above 4 GiB through PAE paging. */
#include "cpu.h"
#include "guest.h"
#include "memory_map.h"
#include "paging.h"

#define MIB (1024u * 1024u)
#define ABOVE_4G_PROBE 0x104000000ull /* 4 GiB + 64 MiB */
#define THREE_GIB 0xc0000000u
#define WINDOW_LINEAR 0x80000000u /* a 2 MiB PAE page mapping the probe above 4 GiB */
#define PATTERN 0x5aa5c33cu

const char guest_name[] = "memory-isolation";

static bool listed_in_memory_map(uint64_t addr)
{
	for (const struct multiboot_mmap_entry *e = mmap_first(); e; e = mmap_next(e))
		if (addr >= e->addr && addr < e->addr + e->len)
			return true;
	return false;
}

/* End of the memory-map entries that start below 3 GiB: RAM and the firmware tables next to it. */
static uint64_t end_of_low_memory(void)
{
	uint64_t top = 0;

	for (const struct multiboot_mmap_entry *e = mmap_first(); e; e = mmap_next(e))
		if (e->addr < THREE_GIB && e->addr + e->len > top)
			top = e->addr + e->len;
	return top;
}

/* Where a hypervisor that wraps or truncates guest-physical addresses would put a write to phys:
 * phys modulo each power of two from 4 GiB down to the RAM size, where that is guest RAM. */
#define MAX_ALIASES 32

struct aliases {
	unsigned count;
	volatile uint32_t *addr[MAX_ALIASES];
	uint32_t before[MAX_ALIASES];
};

static void snapshot_aliases(struct aliases *a, uint64_t phys, uint32_t ram_end)
{
	a->count = 0;
	for (uint64_t size = 1ull << 32; size >= ram_end; size >>= 1) {
		uint32_t alias = (uint32_t)(phys & (size - 1));
		if (alias + sizeof(uint32_t) <= ram_end) {
			a->addr[a->count] = (volatile uint32_t *)alias;
			a->before[a->count++] = *(volatile uint32_t *)alias;
		}
	}
}

static void check_aliases(const struct aliases *a, uint64_t phys)
{
	for (unsigned i = 0; i < a->count; i++)
		check(*a->addr[i] == a->before[i], "writing %llx changed guest RAM at %p", phys,
		      (void *)a->addr[i]);
}

/* p is the linear address through which guest-physical `phys` is reached. */
static void probe(volatile uint32_t *p, uint64_t phys, uint32_t ram_end)
{
	struct aliases aliases;

	check(!listed_in_memory_map(phys), "probe %llx is in the memory map", phys);
	snapshot_aliases(&aliases, phys, ram_end);
	p[0] = PATTERN;
	p[1] = ~PATTERN;
	uint32_t v0 = p[0], v1 = p[1];
	check(v0 != PATTERN && v1 != ~PATTERN, "%llx holds what was written (%x %x)", phys, v0, v1);
	check((v0 == 0 || v0 == 0xffffffff) && (v1 == 0 || v1 == 0xffffffff),
	      "%llx reads %x %x, expected all-ones or zeros", phys, v0, v1);
	check_aliases(&aliases, phys);
	printf("memory-isolation: %llx unbacked, reads %x\n", phys, v0);
}

static void probe_above_4g(uint32_t ram_end)
{
	static struct paging_pae tables;

	uint32_t cr3 = paging_pae_identity(&tables);
	tables.pd[WINDOW_LINEAR >> 30][(WINDOW_LINEAR >> 21) & 511] =
		ABOVE_4G_PROBE | PTE_PS | PTE_RW | PTE_P;
	paging_enable(cr3, CR4_PAE);
	probe((volatile uint32_t *)WINDOW_LINEAR, ABOVE_4G_PROBE, ram_end);
	paging_disable();
}

void test_main(void)
{
	check(mmap_first(), "no memory map");
	uint64_t low_end = end_of_low_memory();
	check(low_end >= 2 * MIB && low_end + 16 * MIB <= THREE_GIB,
	      "memory below 3 GiB ends at %llx: give the guest 2 MiB to 3 GiB - 16 MiB of RAM", low_end);
	uint32_t ram_end = (uint32_t)low_end;

	probe((volatile uint32_t *)ram_end, ram_end, ram_end);
	probe((volatile uint32_t *)(ram_end + 16 * MIB), ram_end + 16 * MIB, ram_end);
	probe((volatile uint32_t *)THREE_GIB, THREE_GIB, ram_end);
	probe_above_4g(ram_end);
}
