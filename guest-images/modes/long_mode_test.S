/* The 64-bit part of the modes test: runs in 64-bit mode through call64(). */

#define MSR_EFER 0xc0000080
#define REPORT_CR0 0
#define REPORT_CR4 8
#define REPORT_EFER 16
#define REPORT_WIDE 24
#define REPORT_ALIAS_PROBE_PTR 32

	.text
	.code64
/* uint64_t long_mode_test(struct long_mode_report *report in EDI): returns 0x64. */
	.globl long_mode_test
long_mode_test:
	push %rbx
	mov %rdi, %rbx
	lea message(%rip), %rdi
	call serial64_puts

	mov %cr0, %rax
	mov %rax, REPORT_CR0(%rbx)
	mov %cr4, %rax
	mov %rax, REPORT_CR4(%rbx)
	mov $MSR_EFER, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, REPORT_EFER(%rbx)

	/* NOT and BSWAP of one 64-bit value: 0x1032547698badcfe only on a 64-bit ALU. */
	movabs $0x0123456789abcdef, %rax
	not %rax
	bswap %rax
	mov %rax, REPORT_WIDE(%rbx)

	mov REPORT_ALIAS_PROBE_PTR(%rbx), %rdx
	movl $0x64646464, (%rdx)

	mov $0x64, %eax
	pop %rbx
	ret

	.section .rodata
message:
	.asciz "modes: 64-bit code running\n"
