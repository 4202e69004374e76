/*
 * UEFI entry (ELF e_entry). The loader's contract: 64-bit mode, interrupts off, paging on with an
 * identity map of low memory and the kernel at its link address, RDI = physical (identity-mapped)
 * pointer to struct boot_info.
 */
	.section .text.boot, "ax"
	.code64
	.globl hv_entry64
hv_entry64:
	cli
	cld
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	call kernel_main
	ud2

	/* The bootstrap CPU's stack; application processors get theirs from the allocator. */
	.section .bss
	.balign 16
	.globl boot_stack_top
boot_stack:
	.skip 16384
boot_stack_top:
