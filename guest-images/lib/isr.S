/* One 16-byte stub per vector (entry = isr_stubs + 16 * vector) pushing a uniform frame. */

/* Vectors for which the CPU pushes an error code (SDM vol. 3 table 6-1; AMD #VC, #SX). */
#define HAS_ERROR_CODE(v) \
	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vector, 0
	.rept 256
	.if !HAS_ERROR_CODE(vector)
	pushl $0
	.endif
	pushl $vector
	jmp isr_common
	.balign 16, 0xcc
	.set vector, vector + 1
	.endr

isr_common:
	pushal
	cld
	push %esp
	call trap_dispatch
	add $4, %esp
	popal
	add $8, %esp
	iret
