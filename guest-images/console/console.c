/* Serial input through the 16550's receive interrupt: COM1 raises IRQ4 through the 8259A for every
 * byte that arrives; the guest collects lines and answers each with "echo: <line>", until it gets
 * "quit". It shows which VM the operator's keystrokes reached. Nothing to read natively unless
 * something types on the serial line, so it is not in tests.txt: the operator-console case runs it. */
#include "cpu.h"
#include "guest.h"
#include "io.h"
#include "pic.h"
#include "serial.h"
#include "trap.h"

#define IRQ_COM1 4
#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_IER_RX 0x01
#define UART_LSR_DR 0x01
#define UART_MCR_DTR_RTS_OUT2 0x0b
#define LINE_MAX 64

const char guest_name[] = "console";

static char line[LINE_MAX];
static volatile uint32_t len;
static volatile bool line_ready;

static void com1_interrupt(struct trap_frame *frame)
{
	(void)frame;
	while (inb(COM1_BASE + UART_LSR) & UART_LSR_DR) {
		char c = (char)inb(COM1_BASE + UART_RBR);
		if (line_ready)
			continue; /* the main loop has not taken the last line yet: drop, as a slow reader would */
		if (c == '\r' || c == '\n')
			line_ready = len > 0;
		else if (len < LINE_MAX - 1)
			line[len++] = c;
	}
	pic_eoi(IRQ_COM1);
}

static void spurious_interrupt(struct trap_frame *frame) { (void)frame; }

static bool is(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

void test_main(void)
{
	trap_set_handler(IRQ_VECTOR(IRQ_COM1), com1_interrupt);
	trap_set_handler(IRQ_VECTOR(IRQ_SPURIOUS_MASTER), spurious_interrupt);
	pic_init();
	pic_unmask(IRQ_COM1);
	outb(COM1_BASE + UART_MCR, UART_MCR_DTR_RTS_OUT2);
	outb(COM1_BASE + UART_IER, UART_IER_RX);
	printf("console: waiting for input\n");
	for (;;) {
		sti_hlt();
		cli();
		if (!line_ready)
			continue;
		line[len] = 0;
		printf("echo: %s\n", line);
		bool quit = is(line, "quit");
		len = 0;
		line_ready = false;
		if (quit)
			return;
	}
}
