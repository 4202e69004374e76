/* Multiboot header and the 32-bit entry point: record the entry state, zero .bss, load our GDT and
 * call guest_main(). */
#include "entry_state.h"
#include "multiboot.h"

#define MULTIBOOT_FLAGS (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)
#define STACK_SIZE 16384

	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_FLAGS)

	.section .stack, "aw", @nobits
	.balign 16
stack:
	.skip STACK_SIZE
stack_top:

	.data
	.globl entry_state
	.balign 4
entry_state:
	.skip ES_BSS_DIRTY + 4

	.text
	.globl _start
_start:
	mov %eax, entry_state + ES_EAX
	mov %ebx, entry_state + ES_EBX
	mov %cr0, %eax
	mov %eax, entry_state + ES_CR0
	mov %cr4, %eax
	mov %eax, entry_state + ES_CR4
	mov %cs, %eax
	mov %eax, entry_state + ES_CS
	mov %ds, %eax
	mov %eax, entry_state + ES_DS
	mov %ss, %eax
	mov %eax, entry_state + ES_SS
	/* ESP is undefined at entry: the stack lives outside .bss so it needs no zeroing first. */
	mov $stack_top, %esp
	pushfl
	popl entry_state + ES_EFLAGS
	cld

	/* The loader must zero the ELF's bss; note whether it did, then make sure. */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	repe scasb
	setne %al
	mov %eax, entry_state + ES_BSS_DIRTY
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb

	call gdt_load
	call guest_main
1:	cli
	hlt
	jmp 1b
