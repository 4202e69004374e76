/*
 * Application processor start-up (SDM vol. 3 8.4.4): the SIPI starts the AP in real mode at
 * vector << 12. This code is copied to a page below 1 MiB; the BSP patches the linear addresses
 * (GDT base, far-jump targets) and the parameters before each SIPI. The page is identity-mapped
 * in hv's page tables so execution continues there when paging turns on.
 */
#define CR0_PE 0x1
#define CR0_PG_WP_PE 0x80010001
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME_NXE 0x900
#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18
#define OFF(sym) ((sym) - ap_trampoline_start)

	.section .ap_trampoline, "a"
	.globl ap_trampoline_start, ap_tramp_gdtr, ap_tramp_pm_jump, ap_tramp_lm_jump, ap_tramp_params

	.code16
ap_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx
	movw %ax, %bx
	shll $4, %ebx			/* ebx = linear base of this page, kept through the mode switches */
	lgdtl OFF(ap_tramp_gdtr)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *OFF(ap_tramp_pm_jump)

	.code32
ap_tramp_pm32:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl OFF(ap_tramp_params)(%ebx), %eax	/* params.cr3 (below 4 GiB) */
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME_NXE, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG_WP_PE, %eax
	movl %eax, %cr0
	ljmp *OFF(ap_tramp_lm_jump)(%ebx)

	.code64
ap_tramp_lm64:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movq OFF(ap_tramp_params) + 8(%rbx), %rsp	/* params.stack_top */
	movq OFF(ap_tramp_params) + 16(%rbx), %rdi	/* params.percpu */
	movq OFF(ap_tramp_params) + 24(%rbx), %rax	/* params.entry */
	xorl %ebp, %ebp
	jmp *%rax

	.balign 16
ap_tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
ap_tramp_gdt_end:
ap_tramp_gdtr:
	.short ap_tramp_gdt_end - ap_tramp_gdt - 1
	.long OFF(ap_tramp_gdt)		/* patched: + base */
	.balign 8
ap_tramp_pm_jump:
	.long OFF(ap_tramp_pm32)	/* patched: + base */
	.short SEL_CODE32
	.balign 8
ap_tramp_lm_jump:
	.long OFF(ap_tramp_lm64)	/* patched: + base */
	.short SEL_CODE64
	.balign 8
ap_tramp_params:
	.quad 0				/* cr3 */
	.quad 0				/* stack_top */
	.quad 0				/* percpu */
	.quad 0				/* entry */
	.globl ap_trampoline_end
ap_trampoline_end:
