/* Multiboot2 header (Multiboot2 spec 3.1): GRUB finds it in the first 32 KiB of hv.elf. */
#include <hv/layout.h>

#define MB2_HEADER_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define MB2_TAG_END 0
#define MB2_TAG_INFO_REQUEST 1
#define MB2_TAG_ENTRY_ADDRESS 3
#define MB2_TAG_MODULE_ALIGN 6
#define MB2_TAG_OPTIONAL 1

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	/* Ask for: command line, modules, memory map, ACPI old and new RSDP. */
	.balign 8
1:	.short MB2_TAG_INFO_REQUEST, MB2_TAG_OPTIONAL
	.long 2f - 1b
	.long 1, 3, 6, 14, 15
2:
	/* ELF e_entry is the 64-bit UEFI entry; GRUB enters the 32-bit one given here. */
	.balign 8
	.short MB2_TAG_ENTRY_ADDRESS, 0
	.long 12
	.long mb2_entry32 - KERNEL_VMA

	.balign 8
	.short MB2_TAG_MODULE_ALIGN, 0
	.long 8

	.balign 8
	.short MB2_TAG_END, 0
	.long 8
mb2_header_end:
