/* The hostile guest's own IDT stubs: like lib/isr.S, but they also save the interrupted data
 * segment and load the kernel's, since the guest runs code in ring 3 with its own data segment. */
#include "segments.h"

#define HAS_ERROR_CODE(v) \
	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.balign 16
	.globl hostile_stubs
hostile_stubs:
	.set vector, 0
	.rept 256
	.if !HAS_ERROR_CODE(vector)
	pushl $0
	.endif
	pushl $vector
	jmp hostile_common
	.balign 16, 0xcc
	.set vector, vector + 1
	.endr

hostile_common:
	pushal
	mov %ds, %eax
	push %eax
	mov $SEL_DATA32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	cld
	lea 4(%esp), %eax
	push %eax
	call trap_dispatch
	add $4, %esp
	pop %eax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	popal
	add $8, %esp
	iret
