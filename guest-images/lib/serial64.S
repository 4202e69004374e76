/* Serial output for 64-bit code (the same THR/LSR protocol as serial.c). */
#include "serial.h"

	.text
	.code64
/* void serial64_puts(const char *s in RDI); clobbers RAX, RDX, RDI. */
	.globl serial64_puts
serial64_puts:
	mov $COM1_BASE + UART_LSR, %dx
1:	in %dx, %al
	test $UART_LSR_THRE, %al
	jz 1b
	mov (%rdi), %al
	test %al, %al
	jz 2f
	mov $COM1_BASE + UART_THR, %dx
	out %al, %dx
	inc %rdi
	jmp serial64_puts
2:	ret
	.code32
