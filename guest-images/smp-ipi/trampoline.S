/* The application processor's way in: the startup IPI starts it in real mode at TRAMPOLINE_BASE
 * (vector TRAMPOLINE_BASE >> 12), where smp-ipi.c copied the bytes between trampoline_start and
 * trampoline_end. It loads the BSP's GDT, enters protected mode, takes its stack and jumps to
 * the C entry the BSP left in the parameter slots. */
#include "segments.h"
#include "trampoline.h"

#define REL(x) (TRAMPOLINE_BASE + (x) - trampoline_start)

	.section .rodata
	.globl trampoline_start, trampoline_end
	.balign 16
	.code16
trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (TRAMP_GDTR)		/* DS = CS = TRAMPOLINE_BASE >> 4: offsets within the page */
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_CODE32, $REL(1f)
	.code32
1:	mov $SEL_DATA32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov REL(trampoline_start) + TRAMP_STACK, %esp
	jmp *REL(trampoline_start) + TRAMP_ENTRY
	.balign 8
	.skip TRAMP_PARAMS - (. - trampoline_start)
trampoline_params:
	.skip TRAMP_PARAMS_SIZE
trampoline_end:
