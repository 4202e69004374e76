/* Interrupt and exception entry: one stub per vector builds a struct trap_frame, then trap_dispatch. */

	.section .text
	.code64


	.macro isr_stub vector
	.balign 16
isr_stub_\vector:
	/* Vectors with a CPU-pushed error code (SDM vol. 3 6.13) get none from us. */
	.if !((\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30))
	pushq $0
	.endif
	pushq $\vector
	jmp isr_common
	.endm

	.altmacro
	.set v, 0
	.rept 256
	isr_stub %v
	.set v, v + 1
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.macro isr_addr vector
	.quad isr_stub_\vector
	.endm

	.section .rodata
	.balign 8
	.globl isr_stubs
isr_stubs:
	.set v, 0
	.rept 256
	isr_addr %v
	.set v, v + 1
	.endr
