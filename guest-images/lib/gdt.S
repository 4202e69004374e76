/* The guest's own flat GDT: the Multiboot loader's GDTR may point anywhere, so load ours first. */
#include "segments.h"

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* SEL_CODE32: base 0, 4 GiB, 32-bit execute/read */
	.quad 0x00cf92000000ffff /* SEL_DATA32: base 0, 4 GiB, read/write */
	.quad 0x00af9a000000ffff /* SEL_CODE64: L=1 */
	.quad 0x00cf12000000ffff /* SEL_NOT_PRESENT: SEL_DATA32 with P=0 */
gdt_end:

gdtr:
	.word gdt_end - gdt - 1
	.long gdt

	.text
/* void gdt_load(void): switches every segment register to our descriptors. */
	.globl gdt_load
gdt_load:
	lgdt gdtr
	ljmp $SEL_CODE32, $1f
1:	mov $SEL_DATA32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	ret
