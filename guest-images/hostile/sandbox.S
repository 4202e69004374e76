/* Ring 3 excursions for the hostile guest: sandbox_run() enters ring 3 at a given EIP with given
 * registers and returns once sandbox_recover is reached (the trap handler points the interrupted
 * frame there). */
#include "segments.h"

#define SEL_USER_CODE 0x2b /* GDT entry 5, RPL 3 */
#define SEL_USER_DATA 0x33 /* GDT entry 6, RPL 3 */

	.data
	.balign 4
saved_esp:
	.long 0

	.text
	.code32
/* void sandbox_run(uint32_t eip, uint32_t esp, const uint32_t regs[6]): eax ebx ecx edx esi edi */
	.globl sandbox_run
sandbox_run:
	push %ebp
	mov %esp, %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, saved_esp
	mov 16(%ebp), %eax		/* regs */
	pushl $SEL_USER_DATA		/* SS */
	pushl 12(%ebp)			/* ESP */
	pushl $0x202			/* EFLAGS: IF, IOPL 0 */
	pushl $SEL_USER_CODE		/* CS */
	pushl 8(%ebp)			/* EIP */
	mov 4(%eax), %ebx
	mov 8(%eax), %ecx
	mov 12(%eax), %edx
	mov 16(%eax), %esi
	mov 20(%eax), %edi
	mov (%eax), %eax
	xor %ebp, %ebp
	push %eax
	mov $SEL_USER_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	pop %eax
	iret

	.globl sandbox_recover
sandbox_recover:
	mov $SEL_DATA32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov saved_esp, %esp
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret
