/* The 64-bit MMIO forms of mmio-forms.c, run through call64(); results in struct results64. */
#define LAPIC 0xfee00000
#define IOAPIC 0xfec00000
#define TPR 0x80
#define TIMER 0x380

#define R_TPR_READ 0
#define R_MOVSXD 8
#define R_MOVZB_R11 16
#define R_MOVSBQ 24
#define R_ADD_FLAGS 32
#define R_TPR_AFTER_ADD 40
#define R_XCHG_OLD 48
#define R_COUNT_AFTER_XCHG 56
#define R_STOS_RCX 64
#define R_STOS_RDI 72
#define R_COUNT_AFTER_STOS 80
#define R_COUNT_AFTER_MOVS 88
#define R_BT_FLAGS 96
#define R_CMP_FLAGS 104
#define R_SIB_READ 112
#define R_ADDR32_READ 120
#define R_MOVS_SRC 128

	.text
	.code64
/* uint64_t mmio64_forms(struct results64 *r in EDI): returns 0x64. */
	.globl mmio64_forms
mmio64_forms:
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rdi, %rdx			/* results (RDX is free: no MUL/DIV/IN/OUT here) */
	mov $LAPIC, %ebx
	mov $IOAPIC, %r8d

	movl $0x11, TPR(%rbx)		/* C7 /0, disp32 */
	mov TPR(%rbx), %r9d		/* REX.R 8B */
	mov %r9, R_TPR_READ(%rdx)

	mov $0xdeadbeef, %r10d
	mov %r10d, TIMER(%rbx)		/* REX.R 89 */
	movslq TIMER(%rbx), %rax	/* REX.W 63: MOVSXD */
	mov %rax, R_MOVSXD(%rdx)

	movb $0x81, (%r8)		/* REX.B C6 */
	movzbl (%r8), %r11d		/* REX.RB 0F B6 */
	mov %r11, R_MOVZB_R11(%rdx)
	movsbq (%r8), %rax		/* REX.WB 0F BE */
	mov %rax, R_MOVSBQ(%rdx)

	addl $0x10, TPR(%rbx)		/* 83 /0 */
	pushfq
	popq R_ADD_FLAGS(%rdx)
	mov TPR(%rbx), %eax
	mov %rax, R_TPR_AFTER_ADD(%rdx)

	mov $0x0badcafe, %r12d
	xchg %r12d, TIMER(%rbx)		/* REX.R 87 */
	mov %r12, R_XCHG_OLD(%rdx)
	mov TIMER(%rbx), %eax
	mov %rax, R_COUNT_AFTER_XCHG(%rdx)

	lea TIMER(%rbx), %rdi
	mov $1, %ecx
	mov $0x5566aabb, %eax
	rep stosl			/* F3 AB, 64-bit addressing */
	mov %rcx, R_STOS_RCX(%rdx)
	mov %rdi, R_STOS_RDI(%rdx)
	mov TIMER(%rbx), %eax
	mov %rax, R_COUNT_AFTER_STOS(%rdx)

	lea R_MOVS_SRC(%rdx), %rsi
	lea TIMER(%rbx), %rdi
	movsl				/* A5 */
	mov TIMER(%rbx), %eax
	mov %rax, R_COUNT_AFTER_MOVS(%rdx)

	btl $0, TPR(%rbx)		/* 0F BA /4 */
	pushfq
	popq R_BT_FLAGS(%rdx)
	cmpl $0x21, TPR(%rbx)		/* 83 /7 */
	pushfq
	popq R_CMP_FLAGS(%rdx)

	mov %rbx, %r13
	mov $((TPR - 0x10) / 8), %r14d
	mov 0x10(%r13,%r14,8), %r15d	/* REX.RXB, SIB */
	mov %r15, R_SIB_READ(%rdx)

	lea TPR(%rbx), %ebx
	addr32 mov (%ebx), %ecx		/* 67 8B */
	mov %rcx, R_ADDR32_READ(%rdx)

	mov $0x64, %eax
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	ret
	.code32
