/* Multiboot2 boot information (Multiboot2 Specification 2.0, section 3.6), for guests with a
 * Multiboot2 header of their own: a fixed part, then 8-byte aligned tags up to an end tag. */
#ifndef GUEST_MULTIBOOT2_H
#define GUEST_MULTIBOOT2_H

#define MULTIBOOT2_HEADER_MAGIC 0xE85250D6
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36D76289
#define MULTIBOOT2_ARCHITECTURE_I386 0

#define MULTIBOOT2_HEADER_TAG_END 0
#define MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST 1
#define MULTIBOOT2_HEADER_TAG_ENTRY_ADDRESS 3
#define MULTIBOOT2_HEADER_TAG_CONSOLE_FLAGS 4
#define MULTIBOOT2_HEADER_TAG_FRAMEBUFFER 5
#define MULTIBOOT2_HEADER_TAG_MODULE_ALIGN 6
#define MULTIBOOT2_HEADER_TAG_OPTIONAL 1
#define MULTIBOOT2_CONSOLE_FLAGS_CONSOLE_REQUIRED 1
#define MULTIBOOT2_CONSOLE_FLAGS_EGA_TEXT_SUPPORTED 2

#define MULTIBOOT2_TAG_ALIGN 8
#define MULTIBOOT2_TAG_END 0
#define MULTIBOOT2_TAG_CMDLINE 1
#define MULTIBOOT2_TAG_BOOT_LOADER_NAME 2
#define MULTIBOOT2_TAG_MODULE 3
#define MULTIBOOT2_TAG_BASIC_MEMINFO 4
#define MULTIBOOT2_TAG_MMAP 6
#define MULTIBOOT2_TAG_ACPI_OLD 14
#define MULTIBOOT2_TAG_ACPI_NEW 15

#define MULTIBOOT2_MEMORY_AVAILABLE 1
#define MULTIBOOT2_MEMORY_ACPI_RECLAIMABLE 3

#ifndef __ASSEMBLER__
#include <stdint.h>

struct multiboot2_info {
	uint32_t total_size;
	uint32_t reserved;
};

struct multiboot2_tag {
	uint32_t type;
	uint32_t size; /* without the padding to the next tag */
};

struct multiboot2_tag_string {
	struct multiboot2_tag tag;
	char string[];
};

struct multiboot2_tag_module {
	struct multiboot2_tag tag;
	uint32_t mod_start, mod_end;
	char string[];
};

struct multiboot2_tag_basic_meminfo {
	struct multiboot2_tag tag;
	uint32_t mem_lower, mem_upper; /* KiB */
};

struct multiboot2_mmap_entry {
	uint64_t addr, len;
	uint32_t type, zero;
};

struct multiboot2_tag_mmap {
	struct multiboot2_tag tag;
	uint32_t entry_size, entry_version;
};

/* Booted through Multiboot2: the information is at entry_state.ebx. */
int multiboot2_booted(void);
/* The tags in order, the end tag excluded, stopping at the first that is malformed (misaligned, too
 * short, or overrunning total_size): for (t = mb2_first(); t; t = mb2_next(t)). */
const struct multiboot2_tag *mb2_first(void);
const struct multiboot2_tag *mb2_next(const struct multiboot2_tag *t);
/* The first tag of a type, or null. */
const struct multiboot2_tag *mb2_find(uint32_t type);
#endif
#endif
