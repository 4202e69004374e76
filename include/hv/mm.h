/* hv's memory: the physical allocator and its own page tables. */
#ifndef HV_MM_H
#define HV_MM_H

#include <hv/boot_info.h>
#include <hv/layout.h>
#include <stdbool.h>
#include <stdint.h>

#define LIMIT_4G 0x100000000ull
#define LIMIT_1M 0x100000ull

/* Physical allocator over the firmware map, with the kernel, modules and low 1 MiB kept out. */
void mm_init(const struct boot_info *bi);
uint64_t phys_alloc(uint64_t size, uint64_t align, uint64_t limit); /* 0 when out of memory */
void phys_free(uint64_t base, uint64_t size);
uint64_t phys_free_bytes(void);
/* A copy of the free ranges, for planning allocations without making them. */
struct pmm;
void phys_snapshot(struct pmm *out);
/* A page below 1 MiB for the AP start-up code (SIPI vectors address only there); 0 if none. */
uint64_t mm_trampoline_page(void);
/* A zeroed 4 KiB page below 4 GiB (page tables, control structures); 0 when out of memory. */
uint64_t page_alloc_zeroed(void);

/* Zeroed, direct-mapped memory rounded up to whole pages (hv's few long-lived objects). */
void *mm_zalloc(uint64_t size);

/* Builds and loads hv's page tables: the direct map of RAM, the kernel by section rights. */
void paging_init(const struct boot_info *bi);
void paging_cpu_init(void); /* CR0.WP, EFER.NXE on each CPU */
uint64_t paging_root(void);
void *phys_to_virt(uint64_t phys);
uint64_t virt_to_phys(const void *virt);
/* Device registers, mapped uncached in the MMIO window; NULL when out of memory. */
void *mmio_map(uint64_t phys, uint64_t size);
/* A write-back view of RAM outside the direct map (firmware tables in reserved memory). */
void *phys_map_ram(uint64_t phys, uint64_t size);
/* Maps (or unmaps) one identity page: AP start-up code runs there when it turns paging on. */
void paging_identity_page(uint64_t phys, bool present);

#endif
