/* The guest's Multiboot2 header (Multiboot2 spec 3.1), ahead of the library's Multiboot (v1) one,
 * and the entry its entry address tag names: it notes that it ran, then joins the library's entry,
 * which records EAX and EBX before anything changes them. */
#include "multiboot2.h"

	.section .multiboot, "a"
	.balign 8
mb2_header:
	.long MULTIBOOT2_HEADER_MAGIC
	.long MULTIBOOT2_ARCHITECTURE_I386
	.long mb2_header_end - mb2_header
	.long -(MULTIBOOT2_HEADER_MAGIC + MULTIBOOT2_ARCHITECTURE_I386 + (mb2_header_end - mb2_header))

	/* Required: the information the test reads. */
	.balign 8
1:	.short MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST, 0
	.long 2f - 1b
	.long MULTIBOOT2_TAG_CMDLINE, MULTIBOOT2_TAG_BOOT_LOADER_NAME, MULTIBOOT2_TAG_MODULE
	.long MULTIBOOT2_TAG_BASIC_MEMINFO, MULTIBOOT2_TAG_MMAP, MULTIBOOT2_TAG_ACPI_NEW
2:
	/* ELF e_entry is the library's _start: entering here shows the loader honoured the tag. */
	.balign 8
	.short MULTIBOOT2_HEADER_TAG_ENTRY_ADDRESS, 0
	.long 12
	.long mb2_entry

	/* Optional: a loader without a console (hv) may ignore this one. */
	.balign 8
	.short MULTIBOOT2_HEADER_TAG_CONSOLE_FLAGS, MULTIBOOT2_HEADER_TAG_OPTIONAL
	.long 12
	.long MULTIBOOT2_CONSOLE_FLAGS_CONSOLE_REQUIRED | MULTIBOOT2_CONSOLE_FLAGS_EGA_TEXT_SUPPORTED

	.balign 8
	.short MULTIBOOT2_HEADER_TAG_MODULE_ALIGN, 0
	.long 8

	.balign 8
	.short MULTIBOOT2_HEADER_TAG_END, 0
	.long 8
mb2_header_end:

	/* In .data, which the entry does not zero as it does .bss. */
	.data
	.globl entered_by_tag
	.balign 4
entered_by_tag:
	.long 0

	.text
	.globl mb2_entry
mb2_entry:
	movl $1, entered_by_tag
	jmp _start
