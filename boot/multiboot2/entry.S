/*
 * Multiboot2 entry: GRUB leaves us in 32-bit protected mode, paging off, EAX = magic, EBX = info
 * (Multiboot2 spec 3.3). Build a temporary identity map of the low 4 GiB plus the higher-half
 * kernel mapping, switch to long mode and continue in C at mb2_boot(magic, info).
 */
#include <hv/layout.h>

#define PHYS(sym) ((sym) - KERNEL_VMA)
#define PTE_PRESENT_RW 0x3
#define PDE_LARGE_RW 0x83
#define CR0_PG_WP_PE 0x80010001
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define EFER_NXE 0x800

	.section .text.boot, "ax"
	.code32
	.globl mb2_entry32
mb2_entry32:
	cli
	cld
	movl %eax, %edi
	movl %ebx, %esi
	movl $PHYS(boot_stack_top), %esp

	/* Long mode is required: CPUID 0x80000001 EDX bit 29. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode
	movl %edx, %ebp		/* keep NX support (bit 20) for EFER below */

	/* PML4[0] -> identity PDPT, PML4[511] -> high PDPT */
	movl $PHYS(early_pdpt_low) + PTE_PRESENT_RW, PHYS(early_pml4)
	movl $PHYS(early_pdpt_high) + PTE_PRESENT_RW, PHYS(early_pml4) + 511 * 8

	/* identity: 4 page directories of 2 MiB pages cover 0..4 GiB */
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $PHYS(early_pd_low) + PTE_PRESENT_RW, %eax
	movl %eax, PHYS(early_pdpt_low)(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b

	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $PDE_LARGE_RW, %eax
	movl %eax, PHYS(early_pd_low)(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	/* high: KERNEL_VMA (PML4 511, PDPT 510) -> physical 0, 1 GiB of 2 MiB pages */
	movl $PHYS(early_pd_high) + PTE_PRESENT_RW, PHYS(early_pdpt_high) + 510 * 8
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $21, %eax
	orl $PDE_LARGE_RW, %eax
	movl %eax, PHYS(early_pd_high)(, %ecx, 8)
	incl %ecx
	cmpl $512, %ecx
	jne 3b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $PHYS(early_pml4), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	btl $20, %ebp
	jnc 4f
	orl $EFER_NXE, %eax
4:	wrmsr
	movl %cr0, %eax
	orl $CR0_PG_WP_PE, %eax
	movl %eax, %cr0

	lgdt PHYS(early_gdt_desc)
	ljmp $0x08, $PHYS(mb2_entry64_low)

no_long_mode:
	/* No console yet: say it on COM1 directly, then stop. */
	movl $PHYS(no_long_mode_msg), %esi
	movw $0x3f8, %dx
5:	lodsb
	testb %al, %al
	jz 6f
	outb %al, %dx
	jmp 5b
6:	cli
	hlt
	jmp 6b

	.code64
mb2_entry64_low:
	movabsq $mb2_entry64_high, %rax
	jmp *%rax
mb2_entry64_high:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	/* edi = magic, esi = info physical address (upper halves are zero) */
	call mb2_boot
	ud2

	.section .rodata
no_long_mode_msg:
	.asciz "hv: boot error: this CPU has no long mode (x86-64); hv cannot run here\r\n"

	.section .data
	.balign 16
early_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
early_gdt_end:
early_gdt_desc:
	.short early_gdt_end - early_gdt - 1
	.long PHYS(early_gdt)

	.section .bss
	.balign 4096
early_pml4: .skip 4096
early_pdpt_low: .skip 4096
early_pdpt_high: .skip 4096
early_pd_low: .skip 4 * 4096
early_pd_high: .skip 4096
