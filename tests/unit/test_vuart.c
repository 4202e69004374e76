/*
 * Unit tests of kernel/vmm/vuart.c, the guest's 16550: transmit into lines (CR dropped, non-printables
 * shown as '.', the line-length limit, flush), the divisor latches behind LCR.DLAB, IER/MCR masking,
 * the fixed LSR/IIR/MSR values, loopback, the receive FIFO (order, data-ready, its interrupt ahead of
 * THRE, overrun, FCR clear), the scratch register and 16/32-bit accesses reaching consecutive
 * registers. Register values are from the PC16550D data sheet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv/vuart.h>

#define COM1 0x3f8
#define THR 0
#define IER 1
#define IIR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

/* ------------------------------------------------------------------------------------------------ */
/* Captured output                                                                                   */

#define MAX_LINES 64

static struct {
	int count;
	char line[MAX_LINES][VUART_LINE_MAX + 1];
	size_t len[MAX_LINES];
	void *ctx;
} out;

static int ctx_token;

static void emit(void *ctx, const char *line, size_t len)
{
	assert_true(len <= VUART_LINE_MAX);
	assert_true(out.count < MAX_LINES);
	out.ctx = ctx;
	memcpy(out.line[out.count], line, len);
	out.line[out.count][len] = 0;
	out.len[out.count] = len;
	out.count++;
}

static struct vuart u;

static int setup(void **state)
{
	(void)state;
	memset(&out, 0, sizeof(out));
	memset(&u, 0xa5, sizeof(u));
	vuart_init(&u, emit, &ctx_token);
	return 0;
}

static void outb_(uint16_t reg, uint8_t v)
{
	uint32_t value = v;
	assert_true(vuart_io(&u, COM1 + reg, 1, false, &value));
}

static uint8_t inb_(uint16_t reg)
{
	uint32_t value = 0;
	assert_true(vuart_io(&u, COM1 + reg, 1, true, &value));
	assert_int_equal(value & ~0xffu, 0);
	return (uint8_t)value;
}

static void puts_(const char *s)
{
	for (; *s; s++)
		outb_(THR, (uint8_t)*s);
}

static void expect_line(int i, const char *want)
{
	assert_true(i < out.count);
	assert_string_equal(out.line[i], want);
	assert_int_equal(out.len[i], strlen(want));
}

/* ------------------------------------------------------------------------------------------------ */

static void test_reset_values(void **state)
{
	(void)state;
	assert_int_equal(inb_(IER), 0);
	assert_int_equal(inb_(IIR), 0xc1); /* no interrupt pending, FIFOs enabled */
	assert_int_equal(inb_(LCR), 0x03); /* 8N1 */
	assert_int_equal(inb_(MCR), 0);
	assert_int_equal(inb_(LSR), 0x60); /* THRE | TEMT, no data ready */
	assert_int_equal(inb_(MSR), 0xb0); /* DCD | DSR | CTS */
	assert_int_equal(inb_(SCR), 0);
	assert_int_equal(inb_(THR), 0); /* nothing received */
	outb_(LCR, 0x83);
	assert_int_equal(inb_(THR), 1); /* divisor 1: 115200 baud */
	assert_int_equal(inb_(IER), 0);
	assert_int_equal(out.count, 0);
}

static void test_transmit_lines(void **state)
{
	(void)state;
	puts_("hello\nworld\n");
	assert_int_equal(out.count, 2);
	expect_line(0, "hello");
	expect_line(1, "world");
	assert_ptr_equal(out.ctx, &ctx_token);
	/* a partial line waits for its newline */
	puts_("abc");
	assert_int_equal(out.count, 2);
	puts_("def\n");
	expect_line(2, "abcdef");
	/* an empty line is still a line */
	puts_("\n");
	assert_int_equal(out.count, 4);
	expect_line(3, "");
}

static void test_cr_dropped(void **state)
{
	(void)state;
	puts_("dos\r\nline\r\r\n\r\n");
	assert_int_equal(out.count, 3);
	expect_line(0, "dos");
	expect_line(1, "line");
	expect_line(2, "");
	/* a lone CR does not end a line */
	puts_("a\rb\n");
	expect_line(3, "ab");
}

static void test_nonprintables(void **state)
{
	(void)state;
	static const uint8_t bytes[] = { 'a', 0x00, 0x01, 0x07, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, ' ', '~',
					 0x7f, 0x80, 0xc3, 0xa9, 0xff, '\t', 'z', '\n' };
	for (size_t i = 0; i < sizeof(bytes); i++)
		outb_(THR, bytes[i]);
	assert_int_equal(out.count, 1);
	expect_line(0, "a........ ~.....\tz");
	/* every printable ASCII character passes unchanged */
	char all[96];
	for (int c = 0x20; c < 0x7f; c++)
		all[c - 0x20] = (char)c;
	all[95] = 0;
	puts_(all);
	puts_("\n");
	expect_line(1, all);
}

static void test_line_limit(void **state)
{
	(void)state;
	char want[VUART_LINE_MAX + 1];

	/* 161 characters: the full line of 160 goes out when the 161st arrives, the rest with the newline */
	for (int i = 0; i < VUART_LINE_MAX; i++) {
		want[i] = (char)('a' + i % 26);
		outb_(THR, (uint8_t)want[i]);
		assert_int_equal(out.count, 0);
	}
	want[VUART_LINE_MAX] = 0;
	puts_("X");
	assert_int_equal(out.count, 1);
	expect_line(0, want);
	puts_("\n");
	assert_int_equal(out.count, 2);
	expect_line(1, "X");
	/* 159 characters and a newline: one line */
	memset(want, 'q', VUART_LINE_MAX - 1);
	want[VUART_LINE_MAX - 1] = 0;
	puts_(want);
	puts_("\n");
	assert_int_equal(out.count, 3);
	expect_line(2, want);
	/* a long stream: chunks of exactly 160 */
	for (int i = 0; i < 3 * VUART_LINE_MAX + 5; i++)
		outb_(THR, 'z');
	assert_int_equal(out.count, 6);
	for (int i = 3; i < 6; i++)
		assert_int_equal(out.len[i], VUART_LINE_MAX);
	vuart_flush(&u);
	assert_int_equal(out.count, 7);
	expect_line(6, "zzzzz");
}

static void test_flush(void **state)
{
	(void)state;
	/* nothing pending: nothing emitted */
	vuart_flush(&u);
	assert_int_equal(out.count, 0);
	puts_("partial");
	vuart_flush(&u);
	assert_int_equal(out.count, 1);
	expect_line(0, "partial");
	/* flushed text is not emitted again */
	vuart_flush(&u);
	assert_int_equal(out.count, 1);
	puts_("next\n");
	expect_line(1, "next");
	/* after a newline nothing is pending */
	vuart_flush(&u);
	assert_int_equal(out.count, 2);
}

static void test_dlab(void **state)
{
	(void)state;
	outb_(LCR, 0x80);
	outb_(THR, 0x0c); /* DLL: 9600 baud */
	outb_(IER, 0x00); /* DLM */
	assert_int_equal(inb_(THR), 0x0c);
	assert_int_equal(inb_(IER), 0x00);
	outb_(IER, 0xff); /* DLM is a full byte */
	assert_int_equal(inb_(IER), 0xff);
	assert_int_equal(inb_(LCR), 0x80);
	/* divisor writes are not output */
	vuart_flush(&u);
	assert_int_equal(out.count, 0);
	/* back to normal: THR transmits, IER is IER again and was not touched */
	outb_(LCR, 0x03);
	assert_int_equal(inb_(IER), 0x00);
	assert_int_equal(inb_(THR), 0x00);
	outb_(IER, 0x05);
	puts_("x\n");
	expect_line(0, "x");
	/* the latches kept their values */
	outb_(LCR, 0x83);
	assert_int_equal(inb_(THR), 0x0c);
	assert_int_equal(inb_(IER), 0xff);
	outb_(LCR, 0x03);
	assert_int_equal(inb_(IER), 0x05);
	/* LCR keeps all 8 bits as written */
	for (int v = 0; v < 256; v++) {
		outb_(LCR, (uint8_t)v);
		assert_int_equal(inb_(LCR), v);
	}
	/* the status registers read the same with DLAB set */
	outb_(LCR, 0x80);
	assert_int_equal(inb_(LSR), 0x60);
	assert_int_equal(inb_(IIR), 0xc1);
	assert_int_equal(inb_(MSR), 0xb0);
}

static void test_ier_mcr_masks(void **state)
{
	(void)state;
	for (int v = 0; v < 256; v++) {
		outb_(IER, (uint8_t)v);
		assert_int_equal(inb_(IER), v & 0x0f);
		outb_(MCR, (uint8_t)v);
		assert_int_equal(inb_(MCR), v & 0x1f);
	}
}

static void test_read_only_registers(void **state)
{
	(void)state;
	outb_(LSR, 0x00);
	outb_(MSR, 0x00);
	outb_(IIR, 0x07); /* FCR: enable and reset the FIFOs */
	assert_int_equal(inb_(LSR), 0x60);
	assert_int_equal(inb_(MSR), 0xb0);
	assert_int_equal(inb_(IIR), 0xc1);
	outb_(IIR, 0x00);
	assert_int_equal(inb_(IIR), 0xc1);
	/* LSR never changes, whatever is sent */
	puts_("some text");
	assert_int_equal(inb_(LSR), 0x60);
	/* enabling the THRE interrupt with the transmitter empty raises it; reading IIR acknowledges it */
	outb_(IER, 0x02);
	assert_int_equal(inb_(IIR), 0xc2);
	assert_int_equal(inb_(IIR), 0xc1);
	/* each byte sent empties the holding register again */
	outb_(THR, 'x');
	assert_int_equal(inb_(IIR), 0xc2);
	assert_int_equal(inb_(IIR), 0xc1);
}

static bool irq_level;
static int irq_changes;

static void record_irq(void *ctx, bool level)
{
	(void)ctx;
	irq_level = level;
	irq_changes++;
}

/* The interrupt output follows IIR, gated by MCR.OUT2 as on PC serial ports. */
static void test_interrupt_line(void **state)
{
	(void)state;
	irq_changes = 0;
	vuart_connect_irq(&u, record_irq, NULL);
	outb_(IER, 0x02);
	assert_int_equal(irq_changes, 0); /* OUT2 is clear: the line stays low */
	outb_(MCR, 0x08);
	assert_true(irq_level);
	assert_int_equal(inb_(IIR), 0xc2);
	assert_false(irq_level);
	outb_(THR, 'y');
	assert_true(irq_level);
	outb_(IER, 0x00);
	assert_false(irq_level);
	assert_int_equal(irq_changes, 4);
}

/* Received bytes come out of RBR in order, with LSR.DR set while any are left. */
static void test_receive_fifo(void **state)
{
	(void)state;
	assert_int_equal(vuart_receive(&u, "abc", 3), 3);
	assert_int_equal(inb_(LSR), 0x61);
	assert_int_equal(inb_(THR), 'a');
	assert_int_equal(inb_(THR), 'b');
	assert_int_equal(inb_(THR), 'c');
	assert_int_equal(inb_(LSR), 0x60);
	assert_int_equal(inb_(THR), 'c'); /* empty: RBR keeps the last byte */
}

/* The received-data interrupt outranks THRE (PC16550D table 4) and ends when the FIFO is empty. */
static void test_receive_interrupt(void **state)
{
	(void)state;
	irq_changes = 0;
	vuart_connect_irq(&u, record_irq, NULL);
	outb_(MCR, 0x08);
	outb_(IER, 0x03);
	assert_int_equal(vuart_receive(&u, "xy", 2), 2);
	assert_true(irq_level);
	assert_int_equal(inb_(IIR), 0xc4);
	inb_(THR);
	assert_int_equal(inb_(IIR), 0xc4);
	inb_(THR);
	assert_int_equal(inb_(IIR), 0xc2); /* then the transmitter's */
	assert_int_equal(inb_(IIR), 0xc1);
	assert_false(irq_level);
}

/* A 17th byte is an overrun: dropped, LSR.OE set until LSR is read; FCR bit 1 empties the FIFO. */
static void test_receive_overrun_and_clear(void **state)
{
	(void)state;
	char buf[VUART_RX_FIFO + 4];
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(vuart_receive(&u, buf, sizeof(buf)), VUART_RX_FIFO);
	assert_int_equal(inb_(LSR), 0x63);
	assert_int_equal(inb_(LSR), 0x61);
	outb_(IIR, 0x03); /* FCR: enable FIFOs, clear the receiver */
	assert_int_equal(inb_(LSR), 0x60);
	assert_int_equal(vuart_receive(&u, "q", 1), 1);
	assert_int_equal(inb_(THR), 'q');
}

/* In loopback the receiver hears only the transmitter, not the line. */
static void test_receive_in_loopback(void **state)
{
	(void)state;
	outb_(MCR, 0x10);
	assert_int_equal(vuart_receive(&u, "a", 1), 0);
	assert_int_equal(inb_(LSR) & 1, 0);
}

static void test_loopback(void **state)
{
	(void)state;
	puts_("before");
	outb_(MCR, 0x10);
	/* in loopback, output goes nowhere */
	puts_("hidden\n");
	assert_int_equal(out.count, 0);
	/* the modem inputs follow the outputs: none set, or all set */
	assert_int_equal(inb_(MSR), 0x00);
	outb_(MCR, 0x1f);
	assert_int_equal(inb_(MSR), 0xf0);
	/* what was sent is received back, once, through the FIFO */
	for (const char *s = "hidden\n"; *s; s++) {
		assert_int_equal(inb_(LSR) & 1, 1);
		assert_int_equal(inb_(THR), *s);
	}
	assert_int_equal(inb_(LSR) & 1, 0);
	/* leaving loopback: the pending partial line is intact */
	outb_(MCR, 0x03);
	assert_int_equal(inb_(MSR), 0xb0);
	puts_("-after\n");
	assert_int_equal(out.count, 1);
	expect_line(0, "before-after");
}

static void test_scratch(void **state)
{
	(void)state;
	for (int v = 0; v < 256; v += 17) {
		outb_(SCR, (uint8_t)v);
		assert_int_equal(inb_(SCR), v);
	}
	/* DLAB does not hide it */
	outb_(SCR, 0x5a);
	outb_(LCR, 0x83);
	assert_int_equal(inb_(SCR), 0x5a);
	outb_(SCR, 0xa5);
	outb_(LCR, 0x03);
	assert_int_equal(inb_(SCR), 0xa5);
}

static void test_port_decoding(void **state)
{
	(void)state;
	uint32_t v;

	/* only port & 7 selects the register */
	v = 0x42;
	assert_true(vuart_io(&u, 0x2f8 + SCR, 1, false, &v));
	v = 0;
	assert_true(vuart_io(&u, 0x3f8 + SCR, 1, true, &v));
	assert_int_equal(v, 0x42);
	v = 0;
	assert_true(vuart_io(&u, 0x3ff, 1, true, &v));
	assert_int_equal(v, 0x42);
}

static void test_wide_accesses(void **state)
{
	(void)state;
	uint32_t v;

	/* 16-bit write at THR: 'A' transmitted, then IER */
	v = 0x0f41;
	assert_true(vuart_io(&u, COM1 + THR, 2, false, &v));
	assert_int_equal(inb_(IER), 0x0f);
	puts_("\n");
	expect_line(0, "A");
	/* 16-bit read of LSR and MSR */
	v = 0;
	assert_true(vuart_io(&u, COM1 + LSR, 2, true, &v));
	assert_int_equal(v, 0xb060);
	/* 32-bit write at MCR: MCR, (LSR), (MSR), SCR */
	v = 0x77665503;
	assert_true(vuart_io(&u, COM1 + MCR, 4, false, &v));
	assert_int_equal(inb_(MCR), 0x03);
	assert_int_equal(inb_(SCR), 0x77);
	assert_int_equal(inb_(LSR), 0x60);
	/* 32-bit read at MCR */
	v = 0xffffffff;
	assert_true(vuart_io(&u, COM1 + MCR, 4, true, &v));
	assert_int_equal(v, 0x77b06003);
	/* 32-bit read at THR: RBR, IER, IIR, LCR */
	v = 0;
	assert_true(vuart_io(&u, COM1 + THR, 4, true, &v));
	assert_int_equal(v, 0x03c20f00); /* IER 0x0f with THR empty: a THRE interrupt in IIR */
	/* one more character for the line checked below */
	outb_(IER, 0);
	outb_(LCR, 0x03);
	v = 'w';
	assert_true(vuart_io(&u, COM1 + THR, 1, false, &v));
	/* 16-bit write at LCR: LCR then MCR */
	v = 0x1083;
	assert_true(vuart_io(&u, COM1 + LCR, 2, false, &v));
	assert_int_equal(inb_(LCR), 0x83);
	assert_int_equal(inb_(MCR), 0x10);
	/* a wide divisor write with DLAB: DLL and DLM at once */
	v = 0x0201;
	assert_true(vuart_io(&u, COM1 + THR, 2, false, &v));
	v = 0;
	assert_true(vuart_io(&u, COM1 + THR, 2, true, &v));
	assert_int_equal(v, 0x0201);
	/* the access at the last register continues at register 0 (port & 7) */
	outb_(LCR, 0x03);
	outb_(MCR, 0x00);
	v = 0x2199;
	assert_true(vuart_io(&u, COM1 + SCR, 2, false, &v));
	assert_int_equal(inb_(SCR), 0x99);
	puts_("\n");
	assert_int_equal(out.count, 2);
	expect_line(1, "w!");
}

static void test_narrow_read_keeps_other_bytes(void **state)
{
	(void)state;
	uint32_t v = 0xaabbccdd;

	/* a 1-byte read replaces only the low byte of *value (the caller masks) */
	assert_true(vuart_io(&u, COM1 + LSR, 1, true, &v));
	assert_int_equal(v, 0xaabbcc60);
	v = 0xaabbccdd;
	assert_true(vuart_io(&u, COM1 + LSR, 2, true, &v));
	assert_int_equal(v, 0xaabbb060);
	/* a write uses only the low bytes */
	v = 0xffffff31;
	assert_true(vuart_io(&u, COM1 + SCR, 1, false, &v));
	assert_int_equal(inb_(SCR), 0x31);
	assert_int_equal(inb_(THR), 0);
	assert_int_equal(out.count, 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Regressions: bugs these tests found in the kernel source, now fixed. */

/* In loopback, MSR[7:4] = DCD, RI, DSR, CTS follow MCR's OUT2, OUT1, DTR, RTS (PC16550D data sheet,
 * MCR bit 4). Linux's 8250 probe writes MCR = LOOP | OUT2 | RTS and expects MSR & 0xf0 == 0x90
 * (DCD | CTS). */
static void bug_loopback_msr_mapping(void **state)
{
	(void)state;
	outb_(MCR, 0x10 | 0x0a); /* OUT2 | RTS */
	assert_int_equal(inb_(MSR) & 0xf0, 0x90);
	outb_(MCR, 0x10 | 0x01); /* DTR -> DSR */
	assert_int_equal(inb_(MSR) & 0xf0, 0x20);
	outb_(MCR, 0x10 | 0x02); /* RTS -> CTS */
	assert_int_equal(inb_(MSR) & 0xf0, 0x10);
	outb_(MCR, 0x10 | 0x04); /* OUT1 -> RI */
	assert_int_equal(inb_(MSR) & 0xf0, 0x40);
}

/* In loopback, a byte written to THR is received in RBR (LSR.DR set until it is read). The serial
 * probe of the OSDev wiki, copied into many small kernels, depends on it: MCR = 0x1e, THR = 0xae,
 * and the port is declared faulty unless RBR reads back 0xae. */
static void bug_loopback_echo(void **state)
{
	(void)state;
	outb_(MCR, 0x1e);
	outb_(THR, 0xae);
	assert_int_equal(inb_(LSR) & 1, 1);
	assert_int_equal(inb_(THR), 0xae);
	assert_int_equal(inb_(LSR) & 1, 0);
}

/* A line of exactly VUART_LINE_MAX characters and its newline should be one line, not the line and
 * an empty one. */
static void bug_full_line_then_newline(void **state)
{
	(void)state;
	for (int i = 0; i < VUART_LINE_MAX; i++)
		outb_(THR, 'x');
	puts_("\n");
	assert_int_equal(out.count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_values, setup),
		cmocka_unit_test_setup(test_transmit_lines, setup),
		cmocka_unit_test_setup(test_cr_dropped, setup),
		cmocka_unit_test_setup(test_nonprintables, setup),
		cmocka_unit_test_setup(test_line_limit, setup),
		cmocka_unit_test_setup(test_flush, setup),
		cmocka_unit_test_setup(test_dlab, setup),
		cmocka_unit_test_setup(test_ier_mcr_masks, setup),
		cmocka_unit_test_setup(test_interrupt_line, setup),
		cmocka_unit_test_setup(test_read_only_registers, setup),
		cmocka_unit_test_setup(test_loopback, setup),
		cmocka_unit_test_setup(test_receive_fifo, setup),
		cmocka_unit_test_setup(test_receive_interrupt, setup),
		cmocka_unit_test_setup(test_receive_overrun_and_clear, setup),
		cmocka_unit_test_setup(test_receive_in_loopback, setup),
		cmocka_unit_test_setup(test_scratch, setup),
		cmocka_unit_test_setup(test_port_decoding, setup),
		cmocka_unit_test_setup(test_wide_accesses, setup),
		cmocka_unit_test_setup(test_narrow_read_keeps_other_bytes, setup),
		cmocka_unit_test_setup(bug_loopback_msr_mapping, setup),
		cmocka_unit_test_setup(bug_loopback_echo, setup),
		cmocka_unit_test_setup(bug_full_line_then_newline, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
