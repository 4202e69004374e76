/* Serial console. Lines end in a bare '\n' so both runners read them unchanged. */
#include "serial.h"
#include "io.h"

/* 8-bit characters: a UART out of reset sends 5-bit ones (Bochs honours that, QEMU ignores it). The
 * baud rate does not matter to an emulated UART, so the divisor stays. */
void serial_init(void) { outb(COM1_BASE + UART_LCR, UART_LCR_8N1); }

void serial_putc(char c)
{
	while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE))
		;
	outb(COM1_BASE + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void serial_flush(void)
{
	while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_TEMT))
		;
}
