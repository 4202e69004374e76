/* COM1 output through the transmit holding register, polling LSR.THRE. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#define COM1_BASE 0x3f8
#define UART_THR 0             /* transmit holding register (write) */
#define UART_FCR 2             /* FIFO control register (write) */
#define UART_LCR 3             /* line control register */
#define UART_MCR 4             /* modem control register */
#define UART_LSR 5             /* line status register */
#define UART_MSR 6             /* modem status register */
#define UART_SCR 7             /* scratch register */
#define UART_LSR_THRE (1 << 5) /* transmit holding register (or FIFO) empty */
#define UART_LSR_TEMT (1 << 6) /* ... and the shift register too: the line is idle */
#define UART_LCR_8N1 0x03
#define UART_FCR_ENABLE_FIFOS 0x07 /* enable, clear receive and transmit FIFOs */
#define UART_FIFO_SIZE 16

#ifndef __ASSEMBLER__
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);

/* Waits until every byte written has left the UART (LSR.TEMT). */
void serial_flush(void);
#endif

#endif
