/* The one hand-off from a boot path (UEFI loader or Multiboot2 entry) to kernel_main. */
#ifndef HV_BOOT_INFO_H
#define HV_BOOT_INFO_H

#include <stdint.h>

#define BOOT_INFO_MAGIC 0x4876426f6f74496eull /* "HvBootIn" */

#define BOOT_METHOD_MULTIBOOT2 1
#define BOOT_METHOD_UEFI 2

/* Memory kinds, already folded from E820/Multiboot2/UEFI types by the boot path. */
#define BOOT_MEM_USABLE 1
#define BOOT_MEM_RESERVED 2
#define BOOT_MEM_ACPI_RECLAIM 3
#define BOOT_MEM_ACPI_NVS 4
#define BOOT_MEM_BAD 5
#define BOOT_MEM_LOADER 6 /* held by the boot path (its page tables, this struct): never allocated */

#define BOOT_MMAP_MAX 512
#define BOOT_MODULES_MAX 32
#define BOOT_MODULE_NAME_MAX 128
#define BOOT_CMDLINE_MAX 1024

struct boot_mem_range {
	uint64_t base;
	uint64_t length;
	uint32_t type;
	uint32_t reserved;
};

/* A file handed to hv: a GRUB module or a file the UEFI loader read from the ESP. */
struct boot_module {
	uint64_t base; /* physical, page aligned */
	uint64_t size;
	char name[BOOT_MODULE_NAME_MAX]; /* GRUB's module string, or the file name on the ESP */
};

/*
 * Filled by the boot path. All addresses are physical. The kernel copies it before it allocates
 * anything, so it may live in memory the map reports as usable only if marked BOOT_MEM_LOADER.
 */
struct boot_info {
	uint64_t magic;
	uint32_t method;
	uint32_t mmap_count;
	uint64_t kernel_phys_base; /* where the image's first byte (link address KERNEL_LINK_PHYS) lives */
	uint64_t kernel_phys_end;
	uint64_t ap_trampoline_page; /* a reserved 4 KiB page below 1 MiB for AP start-up, or 0 */
	uint32_t module_count;
	uint32_t acpi_rsdp_len; /* bytes valid in acpi_rsdp: 20 (ACPI 1.0), 36 (2.0+), 0 = none given */
	uint8_t acpi_rsdp[40];	/* a copy of the firmware's RSDP structure */
	struct boot_mem_range mmap[BOOT_MMAP_MAX];
	struct boot_module modules[BOOT_MODULES_MAX];
	char cmdline[BOOT_CMDLINE_MAX];
};

#endif
