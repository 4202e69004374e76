/* COM1 16550 at 115200 8N1, polled. One lock so lines from different CPUs never interleave. */
#include <hv/console.h>
#include <hv/fmt.h>
#include <hv/string.h>
#include <hv/spinlock.h>
#include <hv/x86.h>
#include <stdarg.h>
#include <stdbool.h>

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_IER_RX 0x01
#define UART_MCR_OUT2 0x08 /* gates the interrupt line on PC serial ports */
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_BAUD_DIVISOR 1 /* 115200 = 1.8432 MHz / 16 / 1 */

static struct spinlock console_lock;
static int console_level = LOG_INFO;
static volatile bool console_panic_mode;

void console_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + 0, UART_BAUD_DIVISOR & 0xff);
	outb(COM1 + 1, UART_BAUD_DIVISOR >> 8);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	outb(COM1 + UART_FCR, 0xc7); /* enable and clear FIFOs */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

void console_set_level(int level) { console_level = level; }

static void uart_putc(char c)
{
	/* Bounded wait: a missing UART must not hang the hypervisor. */
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + UART_THR, (uint8_t)c);
}

static void uart_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

static uint64_t console_lock_acquire(void)
{
	uint64_t flags = read_rflags();

	irq_disable();
	if (console_panic_mode) {
		/* The owner may be stopped by the panic NMI: wait a bounded time, then go ahead. */
		for (int i = 0; i < 1000000 && !spin_trylock(&console_lock); i++)
			cpu_relax();
		return flags;
	}
	spin_lock(&console_lock);
	return flags;
}

static void console_lock_release(uint64_t flags) { spin_unlock_irqrestore(&console_lock, flags); }

void console_write(const char *s, size_t n)
{
	uint64_t flags = console_lock_acquire();

	uart_write(s, n);
	console_lock_release(flags);
}

void console_input_enable(void)
{
	uint64_t flags = console_lock_acquire();

	outb(COM1 + UART_MCR, 0x03 | UART_MCR_OUT2);
	outb(COM1 + UART_IER, UART_IER_RX);
	console_lock_release(flags);
}

/* Bounded: a stuck line status must not keep the caller in its interrupt handler. */
size_t console_read(char *buf, size_t max)
{
	uint64_t flags = console_lock_acquire();
	size_t n = 0;

	while (n < max && (inb(COM1 + UART_LSR) & UART_LSR_DR))
		buf[n++] = (char)inb(COM1 + UART_THR);
	console_lock_release(flags);
	return n;
}

void console_enter_panic_mode(void) { console_panic_mode = true; }

void hv_log(int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (level > console_level)
		return;
	memcpy(line, "hv: ", 4);
	va_start(ap, fmt);
	int n = fmt_vsnprintf(line + 4, sizeof(line) - 5, fmt, ap);
	va_end(ap);
	size_t len = 4 + ((size_t)n < sizeof(line) - 5 ? (size_t)n : sizeof(line) - 6);
	line[len++] = '\n';
	console_write(line, len);
}
