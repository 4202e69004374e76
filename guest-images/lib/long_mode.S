/* call64: a far jump from compatibility mode into the 64-bit code segment and a far return back. */
#include "segments.h"

	.text
	.code32
/* uint64_t call64(uint64_t (*fn)(uint32_t), uint32_t arg) */
	.globl call64
call64:
	push %ebp
	mov %esp, %ebp
	push %ebx
	push %esi
	push %edi
	ljmp $SEL_CODE64, $1f

	.code64
	/* The upper halves of registers are undefined after a mode switch: zero-extend what we use. */
1:	mov %ebp, %ebp
	mov %esp, %esp
	mov 8(%rbp), %eax
	mov 12(%rbp), %edi
	and $-16, %rsp
	call *%rax
	mov %rax, %rdx
	shr $32, %rdx
	pushq $SEL_CODE32
	pushq $2f
	lretq

	.code32
2:	lea -12(%ebp), %esp
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret
