/* Port I/O as a guest sees it: 8/16/32-bit IN/OUT and REP INS/OUTS in both directions (DF=0 and
 * DF=1) against COM1, a REP OUTSB line on the console, and all-ones from an unclaimed port. With
 * `paged` the string buffers straddle a page boundary whose two pages are not physically adjacent. */
#include "cmdline.h"
#include "cpu.h"
#include "guest.h"
#include "io.h"
#include "paging.h"
#include "serial.h"

#define COM1_MCR (COM1_BASE + UART_MCR)
#define COM1_MSR_SCR (COM1_BASE + UART_MSR) /* 16-bit view: modem status low, scratch high */
#define COM1_SCR (COM1_BASE + UART_SCR)

/* Nothing decodes ports 0x2c-0x2f on a QEMU pc nor in hv (4-aligned: QEMU reads 0 for a 32-bit
 * access that straddles into the next port block). */
#define UNCLAIMED_PORT 0x2c

#define WINDOW_SIZE 64
#define PAGED_WINDOW_LINEAR 0x40000000u

const char guest_name[] = "portio";

/* The buffer every string instruction uses; WINDOW_SIZE bytes. */
static volatile uint8_t *window;

static void check_byte_io(void)
{
	static const uint8_t patterns[] = { 0x00, 0xff, 0x5a, 0xa5 };

	for (unsigned i = 0; i < sizeof(patterns); i++) {
		outb(COM1_SCR, patterns[i]);
		uint8_t v = inb(COM1_SCR);
		check(v == patterns[i], "outb/inb scratch: wrote %x read %x", patterns[i], v);
	}
}

/* A wide access to the byte-wide UART covers consecutive registers, lowest byte first, as a PC's
 * LPC bridge splits it (Bochs's own UART model does not). */
static void check_word_io(void)
{
	outw(COM1_MSR_SCR, 0xa55a);
	check(inb(COM1_SCR) == 0xa5, "outw %x: scratch %x, expected a5", COM1_MSR_SCR, inb(COM1_SCR));
	check(inw(COM1_MSR_SCR) >> 8 == 0xa5, "inw %x: %x, scratch byte should be a5", COM1_MSR_SCR,
	      inw(COM1_MSR_SCR));
}

/* MCR is written back unchanged, LSR and MSR ignore writes. */
static void check_dword_io(void)
{
	uint8_t mcr = inb(COM1_MCR);

	outl(COM1_MCR, 0x3c000000u | mcr);
	uint32_t v = inl(COM1_MCR);
	check((v & 0xff) == mcr && v >> 24 == 0x3c, "outl/inl %x: read %x, expected MCR %x and scratch 3c",
	      COM1_MCR, v, mcr);
	check(inb(COM1_MCR) == mcr, "outl %x changed MCR %x to %x", COM1_MCR, mcr, inb(COM1_MCR));
}

static void check_unclaimed_port(void)
{
	outb(UNCLAIMED_PORT, 0x12);
	outw(UNCLAIMED_PORT, 0x1234);
	outl(UNCLAIMED_PORT, 0x12345678);
	check(inb(UNCLAIMED_PORT) == 0xff, "inb %x: %x", UNCLAIMED_PORT, inb(UNCLAIMED_PORT));
	check(inw(UNCLAIMED_PORT) == 0xffff, "inw %x: %x", UNCLAIMED_PORT, inw(UNCLAIMED_PORT));
	check(inl(UNCLAIMED_PORT) == 0xffffffff, "inl %x: %x", UNCLAIMED_PORT, inl(UNCLAIMED_PORT));
}

/* REP INS/OUTS from/to *buf, upwards or (DF=1) downwards; returns the final EDI/ESI. */
#define DEFINE_REP_STRING_IO(name, insn, ptr_reg)                                                            \
	static uint32_t name(uint16_t port, volatile const void *buf, uint32_t count, bool down)             \
	{                                                                                                    \
		uint32_t p = (uint32_t)buf, n = count;                                                       \
		__asm__ volatile("test %[down], %[down]\n\tjz 1f\n\tstd\n1:\trep " insn "\n\tcld"            \
				 : "+" ptr_reg(p), "+c"(n)                                                   \
				 : "d"(port), [down] "r"((uint32_t)down)                                     \
				 : "memory", "cc");                                                          \
		check(n == 0, "rep " insn " left ecx=%u", n);                                                \
		return p;                                                                                    \
	}

DEFINE_REP_STRING_IO(rep_insb, "insb", "D")
DEFINE_REP_STRING_IO(rep_insw, "insw", "D")
DEFINE_REP_STRING_IO(rep_outsb, "outsb", "S")
DEFINE_REP_STRING_IO(rep_outsw, "outsw", "S")

static void fill_window(uint8_t v)
{
	for (unsigned i = 0; i < WINDOW_SIZE; i++)
		window[i] = v;
}

static void check_window(unsigned from, unsigned to, uint8_t v, const char *what)
{
	for (unsigned i = from; i < to; i++)
		check(window[i] == v, "%s: byte %u is %x, expected %x", what, i, window[i], v);
}

static void check_rep_outsb(void)
{
	for (unsigned i = 0; i < WINDOW_SIZE; i++)
		window[i] = (uint8_t)(0x80 + i);
	uint32_t end = rep_outsb(COM1_SCR, window, WINDOW_SIZE, false);
	check(inb(COM1_SCR) == 0x80 + WINDOW_SIZE - 1, "rep outsb up: scratch %x", inb(COM1_SCR));
	check(end == (uint32_t)window + WINDOW_SIZE, "rep outsb up: esi %x", end);

	end = rep_outsb(COM1_SCR, &window[WINDOW_SIZE - 1], WINDOW_SIZE, true);
	check(inb(COM1_SCR) == 0x80, "rep outsb down: scratch %x", inb(COM1_SCR));
	check(end == (uint32_t)window - 1, "rep outsb down: esi %x", end);
}

/* Leaves byte 0 and the last byte as guards. */
static void check_rep_insb(void)
{
	const unsigned n = WINDOW_SIZE - 2;

	fill_window(0);
	outb(COM1_SCR, 0x5c);
	uint32_t end = rep_insb(COM1_SCR, &window[1], n, false);
	check_window(1, 1 + n, 0x5c, "rep insb up");
	check_window(1 + n, WINDOW_SIZE, 0, "rep insb up guard");
	check_window(0, 1, 0, "rep insb up guard");
	check(end == (uint32_t)&window[1 + n], "rep insb up: edi %x", end);

	fill_window(0);
	outb(COM1_SCR, 0xc5);
	end = rep_insb(COM1_SCR, &window[n], n, true);
	check_window(1, 1 + n, 0xc5, "rep insb down");
	check_window(0, 1, 0, "rep insb down guard");
	check_window(1 + n, WINDOW_SIZE, 0, "rep insb down guard");
	check(end == (uint32_t)window, "rep insb down: edi %x", end);
}

/* Words go to 0x3fe: their high bytes land in the scratch register. */
static void check_rep_word_io(void)
{
	for (unsigned i = 0; i < WINDOW_SIZE; i += 2) {
		window[i] = 0;
		window[i + 1] = (uint8_t)(0x40 + i);
	}
	uint32_t end = rep_outsw(COM1_MSR_SCR, window, WINDOW_SIZE / 2, false);
	check(inb(COM1_SCR) == 0x40 + WINDOW_SIZE - 2, "rep outsw: scratch %x", inb(COM1_SCR));
	check(end == (uint32_t)window + WINDOW_SIZE, "rep outsw: esi %x", end);

	fill_window(0);
	outb(COM1_SCR, 0x3d);
	end = rep_insw(COM1_MSR_SCR, &window[WINDOW_SIZE - 2], WINDOW_SIZE / 2, true);
	for (unsigned i = 1; i < WINDOW_SIZE; i += 2)
		check(window[i] == 0x3d, "rep insw down: byte %u is %x, expected 3d", i, window[i]);
	check(end == (uint32_t)window - 2, "rep insw down: edi %x", end);
}

/* THR takes one byte at a time and the 16550 FIFO sixteen: stream the line in FIFO-sized REP OUTSBs,
 * each once the FIFO has drained, so a UART that models transmit time loses nothing. */
static void print_line_with_rep_outsb(void)
{
	static const char line[] = "portio: this line came through rep outsb\n";
	const unsigned len = sizeof(line) - 1;

	for (unsigned i = 0; i < len; i++)
		window[i] = (uint8_t)line[i];
	outb(COM1_BASE + UART_FCR, UART_FCR_ENABLE_FIFOS);
	for (unsigned i = 0; i < len; i += UART_FIFO_SIZE) {
		while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE))
			;
		rep_outsb(COM1_BASE + UART_THR, &window[i],
			  len - i < UART_FIFO_SIZE ? len - i : UART_FIFO_SIZE, false);
	}
}

/* Maps the window's two pages onto frames[1] then frames[0]; frames[2] is what a walker that
 * wrongly assumes contiguity would touch. */
static uint8_t frames[3][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void map_window_across_pages(void)
{
	static struct paging32 tables;
	static uint32_t pt[1024] __attribute__((aligned(PAGE_SIZE)));

	uint32_t cr3 = paging32_identity(&tables);
	pt[0] = (uint32_t)frames[1] | PTE_RW | PTE_P;
	pt[1] = (uint32_t)frames[0] | PTE_RW | PTE_P;
	tables.pd[PAGED_WINDOW_LINEAR >> 22] = (uint32_t)pt | PTE_RW | PTE_P;
	paging_enable(cr3, CR4_PSE);
	window = (volatile uint8_t *)(PAGED_WINDOW_LINEAR + PAGE_SIZE - WINDOW_SIZE / 2);
}

static void check_frames_after_insb(uint8_t v)
{
	fill_window(0);
	outb(COM1_SCR, v);
	rep_insb(COM1_SCR, window, WINDOW_SIZE, false);
	for (unsigned i = 0; i < WINDOW_SIZE / 2; i++) {
		check(frames[1][PAGE_SIZE - WINDOW_SIZE / 2 + i] == v, "paged rep insb: first page byte %u",
		      i);
		check(frames[0][i] == v, "paged rep insb: second page byte %u", i);
		check(frames[2][i] == 0, "paged rep insb wrote the frame after the first page");
	}
}

void test_main(void)
{
	static uint8_t flat_window[WINDOW_SIZE];
	bool paged = cmdline_has("paged");

	window = flat_window;
	if (paged)
		map_window_across_pages();
	check_byte_io();
	check_word_io();
	check_dword_io();
	check_unclaimed_port();
	check_rep_outsb();
	check_rep_insb();
	check_rep_word_io();
	if (paged)
		check_frames_after_insb(0xe7);
	print_line_with_rep_outsb();
	if (paged)
		paging_disable();
}
