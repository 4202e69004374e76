/* Linux guest kernels: the x86 boot protocol's 64-bit entry (Documentation/arch/x86/boot.rst). */
#ifndef HV_LOADER_LINUX_H
#define HV_LOADER_LINUX_H

#include <hv/vmm.h>
#include <stdbool.h>
#include <stdint.h>

/* One BIOS e820 memory-map entry, laid out as the zero page's e820_table holds it. */
struct linux_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

#define LINUX_E820_RAM 1
#define LINUX_E820_RESERVED 2
#define LINUX_E820_ACPI 3 /* ACPI tables: reclaimable once the kernel has read them */
#define LINUX_E820_NVS 4
#define LINUX_E820_MAX 128 /* entries the zero page holds */

/* Guest-physical pages the loader fills below 64 KiB (every PC memory map has RAM there; Linux copies
 * what it keeps and builds its own tables, so they need no reservation in the map). */
#define LINUX_GDT_GPA 0x1000u
#define LINUX_ZERO_PAGE_GPA 0x2000u  /* struct boot_params */
#define LINUX_CMDLINE_GPA 0x3000u    /* NUL-terminated, at most 4095 characters */
#define LINUX_PML4_GPA 0x4000u	     /* then the PDPT at 0x5000 and four PDs at 0x6000-0x9fff */
#define LINUX_STACK_TOP 0xb000u	     /* one page of stack below it */
#define LINUX_IDENTITY_MAP (4ull << 30) /* [0, 4 GiB) identity mapped with 2 MiB pages */

#define LINUX_BOOT_CS 0x10 /* __BOOT_CS */
#define LINUX_BOOT_DS 0x18 /* __BOOT_DS */

/* True when image starts like a bzImage (boot sector signature and the "HdrS" setup header): the
 * caller then uses linux_load, which says what else is wrong with it. */
bool linux_is_bzimage(const uint8_t *image, uint64_t size);

/*
 * The memory map of a VM with no firmware of its own: RAM below the EBDA (640 KiB - 1 KiB), the
 * EBDA and the BIOS area 0xe0000-0xfffff reserved (where the RSDP copy for scanning kernels goes),
 * each memory segment above 1 MiB as RAM, except the platform's ACPI tables [vm->acpi_base,
 * vm->mem_size), which are an ACPI region. Sorted by address. Returns the number of entries written
 * (at most max).
 */
uint32_t linux_e820_default(const struct vm *vm, struct linux_e820 *map, uint32_t max);

/* A boot file: its bytes and its name, which every message about it begins with. */
struct linux_file {
	const uint8_t *data;
	uint64_t size;
	const char *name;
};

/*
 * Loads a bzImage (boot protocol 2.12 or later with the 64-bit entry point) into vm and sets vcpu 0
 * to start at it: the protected-mode kernel at its preferred address, the zero page with the setup
 * header, command line, initrd (placed as high as it may go in RAM of map), the e820 map and the ACPI
 * RSDP address (0: the kernel scans the BIOS area), identity-mapping page tables and a GDT with
 * __BOOT_CS/__BOOT_DS. initrd may be NULL. Every header field is checked before anything is written.
 * Returns NULL or a sentence saying why not, beginning with the initrd's name when it is about the
 * initrd and with the kernel's otherwise; it lives in a static buffer until the next call.
 */
const char *linux_load(struct vm *vm, const struct linux_file *kernel, const struct linux_file *initrd,
		       const char *cmdline, const struct linux_e820 *map, uint32_t map_entries, uint64_t acpi_rsdp_gpa);

#endif
