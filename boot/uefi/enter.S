/*
 * Hand-off to the kernel. The whole contract between a boot path and hv:
 *
 *   hv_entry64 (the ELF entry point) is entered in 64-bit mode, interrupts off, paging on with an
 *   identity map of low memory and the kernel mapped at its link address, RDI = physical pointer
 *   to struct boot_info.
 *
 * What this loader provides in detail (the kernel may rely on no more than the contract, but these
 * make early failures easy to read):
 *   - CR3: tables from paging.c (identity map of [0, max(4 GiB, top of the memory map)) and the
 *     kernel block at KERNEL_LINK_VMA, 2 MiB pages, no NX bits); EFER/CR0/CR4 as firmware left them.
 *   - RSP: top of a 16 KiB EfiLoaderData stack below 4 GiB, 16-byte aligned (not a call frame:
 *     no return address is pushed). The kernel switches stacks at once.
 *   - GDT: this image's own (0x08 64-bit code, 0x10 data), because firmware's GDT is in boot
 *     services memory that is now usable RAM. CS = 0x08, DS/ES/SS/FS/GS = 0x10.
 *   - IDT: limit 0, so an exception before the kernel loads its IDT is a triple fault (a reset, or
 *     QEMU exit with -no-reboot) instead of a jump into reclaimed firmware memory.
 *
 * void hv_efi_enter(uint64_t cr3, uint64_t boot_info, uint64_t stack_top, uint64_t entry)
 * Called after ExitBootServices; runs from this image, which is identity mapped both by firmware's
 * tables and by ours, so the CR3 switch does not move the code under our feet.
 */
	.text
	.globl hv_efi_enter
hv_efi_enter:
	cli
	cld
	mov	%rdi, %cr3
	mov	%rdx, %rsp

	lea	gdt(%rip), %rax
	mov	%rax, gdtr_base(%rip)
	lgdt	gdtr(%rip)
	lidt	idtr_null(%rip)
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	/* Reload CS with a far return to the next instruction. */
	pushq	$0x08
	lea	1f(%rip), %rax
	pushq	%rax
	lretq
1:
	mov	%rsi, %rdi
	xor	%ebp, %ebp
	jmp	*%rcx

	.data
	.balign 16
gdt:
	.quad	0			/* null */
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad	0x00cf92000000ffff	/* 0x10: data, DPL 0 */
gdt_end:

	.balign 16
	.word	0			/* puts the 8-byte base at an aligned address */
gdtr:
	.word	gdt_end - gdt - 1
gdtr_base:
	.quad	0

	.balign 16
	.word	0
idtr_null:
	.word	0
	.quad	0

	.section .note.GNU-stack, "", @progbits
