/*
 * Unit tests of kernel/vmm/vpit.c with a fake guest clock: the reset state, the sequences our test
 * guest (guest-images/lib/pit.c), SeaBIOS, Linux and hv's own TSC calibration (kernel/timer.c
 * wait_pit) use; count read-back at exact clocks, the counter latch, the read-back command (count and
 * status, null count), BCD, every mode (0 one-shot, 1 gate-triggered one-shot, 2 rate generator, 3
 * square wave, 4 and 5 strobes), gate 2 through port 0x61, counts rewritten while counting, IRQ 0
 * edges and their deadlines, coalescing of short periods. Expected counts are worked out by hand
 * from the 8254 datasheet: a count written during clock k is loaded at clock k + 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <hv/vpit.h>

#define MAX_EVENTS 4096

static uint64_t now;
static struct {
	uint32_t gsi;
	bool level;
} events[MAX_EVENTS];
static unsigned nevents;
static struct vpit P;

static uint64_t fake_now(void *ctx)
{
	assert_ptr_equal(ctx, &P);
	return now;
}

static void fake_set_irq(void *ctx, uint32_t gsi, bool level)
{
	assert_ptr_equal(ctx, &P);
	assert_true(nevents < MAX_EVENTS);
	events[nevents].gsi = gsi;
	events[nevents].level = level;
	nevents++;
}

static const struct vdev_env env = { .ctx = &P, .now_ns = fake_now, .set_irq = fake_set_irq };

/* The first nanosecond of PIT clock `tick` (independent of the model's own arithmetic). */
static uint64_t ns_at(uint64_t tick)
{
	return (uint64_t)(((unsigned __int128)tick * 1000000000u + 1193182u - 1) / 1193182u);
}

static void at(uint64_t tick) { now = ns_at(tick); }

static int setup(void **state)
{
	(void)state;
	now = 0;
	nevents = 0;
	vpit_init(&P, &env);
	return 0;
}

static void outb(uint16_t port, uint8_t v)
{
	uint32_t value = v;

	assert_true(vpit_io(&P, port, 1, false, &value));
}

static uint8_t inb(uint16_t port)
{
	uint32_t value = 0x12345600;

	assert_true(vpit_io(&P, port, 1, true, &value));
	assert_int_equal(value >> 8, 0x123456);
	return (uint8_t)value;
}

/* Counter latch, then LSB and MSB (Linux's i8253 read, our test guest's pit_read_count). */
static uint16_t latched(unsigned ch)
{
	outb(0x43, (uint8_t)(ch << 6));
	uint8_t lo = inb((uint16_t)(0x40 + ch));
	return (uint16_t)(inb((uint16_t)(0x40 + ch)) << 8 | lo);
}

static uint8_t status(unsigned ch)
{
	outb(0x43, (uint8_t)(0xe0 | 2u << ch)); /* read-back, status only */
	return inb((uint16_t)(0x40 + ch));
}

static bool out_of(unsigned ch) { return status(ch) & 0x80; }

static void program(unsigned ch, uint8_t cw, uint16_t count)
{
	outb(0x43, cw);
	outb((uint16_t)(0x40 + ch), (uint8_t)count);
	outb((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static void expect_event(unsigned i, bool level)
{
	assert_true(i < nevents);
	assert_int_equal(events[i].gsi, 0);
	assert_int_equal(events[i].level, level);
}

/* ---- reset state ------------------------------------------------------------------------------------- */

static void test_reset_state(void **state)
{
	(void)state;
	/* channel 0: mode 3, 65536, loaded at clock 1; first rising edge after 65536 clocks */
	assert_int_equal(vpit_next_deadline(&P), ns_at(1 + 65536));
	at(5);
	assert_int_equal(status(0), 0xb6);
	assert_int_equal(latched(0), (uint16_t)(65536 - 2 * 4));
	assert_int_equal(status(1), 0x94); /* mode 2, LSB only, OUT high */
	assert_int_equal(status(2), 0xb6);
	assert_int_equal(inb(0x61), 0x20); /* gate 2 low, OUT2 high (mode 3 not counting) */
	at(18);
	assert_int_equal(inb(0x61), 0x30); /* refresh toggle */
	assert_int_equal(nevents, 0);
	/* 18.2 Hz until someone reprograms it; the line follows OUT into the low half */
	vpit_advance(&P, ns_at(1 + 65536) - 1);
	assert_int_equal(nevents, 1);
	vpit_advance(&P, ns_at(1 + 65536));
	assert_int_equal(nevents, 2);
	expect_event(0, false);
	expect_event(1, true);
	assert_int_equal(P.irq_edges, 1);
	assert_int_equal(vpit_next_deadline(&P), ns_at(1 + 2 * 65536));
}

static void test_init_reads_time(void **state)
{
	(void)state;
	now = ns_at(1000);
	vpit_init(&P, &env);
	assert_int_equal(vpit_next_deadline(&P), ns_at(1001 + 65536));
	struct vpit q;
	vpit_init(&q, NULL); /* no environment: time stands at 0, nothing is sent */
	assert_int_equal(vpit_next_deadline(&q), ns_at(1 + 65536));
	uint32_t v = 0;
	assert_true(vpit_io(&q, 0x40, 1, true, &v));
	vpit_advance(&q, ns_at(1 + 65536));
	assert_int_equal(q.irq_edges, 1);
}

/* ---- guest sequences --------------------------------------------------------------------------------- */

static void test_test_guest_periodic(void **state)
{
	(void)state;
	/* pit_start_periodic(100): mode 2, LSB then MSB, divisor 11931, written during clock 1000 */
	at(1000);
	program(0, 0x34, 11931);
	assert_int_equal(nevents, 0); /* OUT stays high */
	/* pit_read_count() right away and later: never above the divisor, counting down */
	assert_int_equal(latched(0), 11931);
	at(1001);
	assert_int_equal(latched(0), 11931);
	at(1002);
	assert_int_equal(latched(0), 11930);
	at(1001 + 11930);
	assert_int_equal(latched(0), 1);
	assert_false(out_of(0)); /* low for the clock at count 1 */
	at(1001 + 11931);
	assert_int_equal(latched(0), 11931);
	assert_true(out_of(0));
	/* the register reads presented the first edge; then one per period, at the deadlines */
	assert_int_equal(P.irq_edges, 1);
	for (unsigned k = 2; k <= 6; k++) {
		uint64_t deadline = vpit_next_deadline(&P);
		assert_int_equal(deadline, ns_at(1001 + k * 11931ull));
		vpit_advance(&P, deadline - 1);
		vpit_advance(&P, deadline);
	}
	assert_int_equal(P.irq_edges, 6);
	/* each edge as low then high; the first low came from the register read at count 1 */
	for (unsigned i = 0; i < nevents; i++)
		expect_event(i, i % 2);
	assert_int_equal(nevents, 12);
}

static void test_seabios_and_linux_timer(void **state)
{
	(void)state;
	/* SeaBIOS: mode 3, count 0 = 65536 */
	at(10);
	program(0, 0x36, 0);
	assert_int_equal(vpit_next_deadline(&P), ns_at(11 + 65536));
	/* Linux i8253 periodic: 0x34, LATCH = 1193182 / 250 rounded = 4773 */
	at(20);
	program(0, 0x34, 4773);
	/* written while a mode 3 period was running: mode set restarts the channel */
	assert_int_equal(vpit_next_deadline(&P), ns_at(21 + 4773));
	/* i8253 clocksource read: latch, LSB, MSB */
	at(21 + 1000);
	assert_int_equal(latched(0), 4773 - 1000);
	/* Linux one-shot: mode 4 (0x38), count written per event; edge after the strobe */
	at(30000);
	program(0, 0x38, 50);
	assert_int_equal(vpit_next_deadline(&P), ns_at(30001 + 51));
	at(30001 + 50);
	assert_false(out_of(0));
	assert_int_equal(latched(0), 0);
	unsigned before = (unsigned)P.irq_edges;
	vpit_advance(&P, ns_at(30001 + 51));
	assert_int_equal(P.irq_edges, before + 1);
	at(30001 + 51);
	assert_true(out_of(0));
	assert_int_equal(latched(0), 0xffff);
	assert_int_equal(vpit_next_deadline(&P), VDEV_NEVER);
	/* Linux shutdown: mode 0, count 0 (65536): OUT low now, one edge 65537 clocks later */
	at(40000);
	program(0, 0x30, 0);
	assert_false(out_of(0));
	assert_false(events[nevents - 1].level);
	assert_int_equal(vpit_next_deadline(&P), ns_at(40000 + 65537));
}

/* kernel/timer.c wait_pit() and Linux's pit_calibrate_tsc(): gate 2 on, speaker off, mode 0 on
 * channel 2, poll OUT2 in port 0x61. */
static void test_gate2_calibration_loop(void **state)
{
	(void)state;
	at(500);
	uint8_t scb = inb(0x61);
	outb(0x61, (uint8_t)((scb & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, 11931 & 0xff);
	outb(0x42, 11931 >> 8);
	uint64_t tick = 500, seen = 0;
	for (unsigned i = 0; i < 20000 && !seen; i++, tick++) {
		at(tick);
		if (inb(0x61) & 0x20)
			seen = tick;
	}
	assert_int_equal(seen, 500 + 11931 + 1); /* N + 1 clocks after the count was written */
	outb(0x61, scb);
	assert_int_equal(inb(0x61) & 0x0f, 0x00);
	assert_int_equal(nevents, 0); /* channel 2 is no interrupt */
}

/* Linux quick_pit_calibrate(): mode 0 with 0xffff on channel 2, then LSB/MSB reads watching the
 * MSB go down. */
static void test_quick_pit_calibrate(void **state)
{
	(void)state;
	at(100);
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	inb(0x42);
	inb(0x42);
	/* loaded at 101 with 0xffff: the MSB is 0xff until clock 101 + 255 */
	at(101 + 255);
	assert_int_equal(inb(0x42), 0x00);
	assert_int_equal(inb(0x42), 0xff);
	at(101 + 256);
	assert_int_equal(inb(0x42), 0xff);
	assert_int_equal(inb(0x42), 0xfe);
	/* LSB and MSB of a live read come from different moments */
	at(101 + 300);
	uint8_t lo = inb(0x42);
	at(101 + 600);
	uint8_t hi = inb(0x42);
	assert_int_equal(lo, (0xffff - 300) & 0xff);
	assert_int_equal(hi, (0xffff - 600) >> 8);
}

/* ---- latches ------------------------------------------------------------------------------------------- */

static void test_counter_latch(void **state)
{
	(void)state;
	at(1000);
	program(0, 0x34, 11931);
	at(2000);
	outb(0x43, 0x00);
	at(2500);
	outb(0x43, 0x00); /* ignored: the first latch was not read */
	at(3000);
	assert_int_equal(inb(0x40), 10932 & 0xff);
	assert_int_equal(inb(0x40), 10932 >> 8);
	/* unlatched: the next reads are live */
	assert_int_equal(inb(0x40), (11931 - 1999) & 0xff);
	assert_int_equal(inb(0x40), (11931 - 1999) >> 8);
	assert_int_equal(latched(0), 11931 - 1999);
	/* a latched count is dropped by a new control word */
	outb(0x43, 0x00);
	program(0, 0x34, 100);
	at(3001);
	assert_int_equal(inb(0x40), 100);
	assert_int_equal(inb(0x40), 0);
	/* LSB-only and MSB-only channels latch one byte */
	at(4000);
	outb(0x43, 0x50); /* channel 1, LSB only, mode 0 */
	outb(0x41, 0x80);
	at(4011);
	outb(0x43, 0x40);
	assert_int_equal(inb(0x41), 0x80 - 10);
	assert_int_equal(inb(0x41), 0x80 - 10);
	outb(0x43, 0x60); /* MSB only, mode 0 */
	outb(0x41, 0x02);
	at(4012);
	outb(0x43, 0x40);
	assert_int_equal(inb(0x41), 0x02);
	at(4013);
	assert_int_equal(inb(0x41), 0x01); /* 0x1ff */
}

static void test_read_back(void **state)
{
	(void)state;
	at(1000);
	program(0, 0x34, 200);
	/* null count until the CE is loaded at the next clock */
	assert_int_equal(status(0), 0xf4);
	at(1001);
	assert_int_equal(status(0), 0xb4);
	/* count and status together: status first, then the count */
	at(1051);
	outb(0x43, 0xc2);
	assert_int_equal(inb(0x40), 0xb4);
	assert_int_equal(inb(0x40), 150);
	assert_int_equal(inb(0x40), 0);
	/* latch count with the counter-latch command, then status by read-back: status still first */
	at(1061);
	outb(0x43, 0x00);
	outb(0x43, 0xe2);
	assert_int_equal(inb(0x40), 0xb4);
	assert_int_equal(inb(0x40), 140);
	assert_int_equal(inb(0x40), 0);
	/* a second status latch before reading is ignored */
	at(1070);
	outb(0x43, 0xe2);
	at(1200);
	outb(0x43, 0xe2);
	assert_int_equal(inb(0x40), 0xb4); /* the status of clock 1070, not 1200 (OUT low, count 1) */
	at(1201);
	assert_int_equal(status(0), 0xb4);
	/* all three channels at once */
	outb(0x61, 0x01);
	program(2, 0xb0, 1000); /* channel 2 mode 0, written during 1201 */
	at(1301);
	outb(0x43, 0xce);
	assert_int_equal(inb(0x40), 0xb4);
	assert_int_equal(inb(0x40), 100);
	assert_int_equal(inb(0x40), 0);
	assert_int_equal(inb(0x41), 0x94); /* channel 1: mode 2, LSB only, 1300 % 18 = 4 clocks in */
	assert_int_equal(inb(0x41), 14);
	assert_int_equal(inb(0x42), 0x30); /* mode 0, OUT low, loaded */
	assert_int_equal(inb(0x42), (1000 - 99) & 0xff);
	assert_int_equal(inb(0x42), (1000 - 99) >> 8);
}

/* ---- BCD ---------------------------------------------------------------------------------------------- */

static void test_bcd(void **state)
{
	(void)state;
	at(100);
	program(0, 0x31, 0x1234); /* mode 0, BCD */
	at(101);
	assert_int_equal(latched(0), 0x1234);
	at(101 + 35);
	assert_int_equal(latched(0), 0x1199);
	at(101 + 1234);
	assert_int_equal(latched(0), 0x0000);
	assert_true(out_of(0));
	at(101 + 1235);
	assert_int_equal(latched(0), 0x9999);
	assert_int_equal(status(0), 0xb1);
	/* 0 is 10000 in BCD */
	at(20000);
	program(0, 0x31, 0);
	at(20001);
	assert_int_equal(latched(0), 0x0000);
	at(20002);
	assert_int_equal(latched(0), 0x9999);
	assert_int_equal(vpit_next_deadline(&P), ns_at(20001 + 10000));
	/* mode 2 in BCD: period 100 clocks for 0x0100 */
	at(30000);
	program(0, 0x35, 0x0100);
	assert_int_equal(vpit_next_deadline(&P), ns_at(30001 + 100));
	at(30001 + 1);
	assert_int_equal(latched(0), 0x0099);
}

/* ---- modes -------------------------------------------------------------------------------------------- */

static void test_mode0_one_shot(void **state)
{
	(void)state;
	at(1000);
	program(0, 0x30, 100);
	/* control word: OUT low at once, seen by IRQ 0 */
	assert_int_equal(nevents, 1);
	expect_event(0, false);
	assert_int_equal(vpit_next_deadline(&P), ns_at(1000 + 101));
	at(1000 + 100);
	assert_false(out_of(0));
	assert_int_equal(latched(0), 1);
	vpit_advance(&P, ns_at(1000 + 100));
	assert_int_equal(P.irq_edges, 0);
	at(1000 + 101);
	assert_true(out_of(0)); /* the register read presented the edge already */
	assert_int_equal(P.irq_edges, 1);
	expect_event(1, true);
	assert_int_equal(latched(0), 0);
	at(1000 + 102);
	assert_int_equal(latched(0), 0xffff); /* counting goes on, OUT stays high */
	assert_int_equal(vpit_next_deadline(&P), VDEV_NEVER);
	vpit_advance(&P, ns_at(1000 + 200000));
	assert_int_equal(P.irq_edges, 1);
	assert_true(out_of(0));
	/* writing the first byte of a new count stops counting and sets OUT low */
	at(300000);
	program(0, 0x30, 100);
	at(300050);
	assert_int_equal(latched(0), 51);
	outb(0x40, 200 & 0xff);
	assert_false(out_of(0));
	at(300080);
	assert_int_equal(latched(0), 51);
	assert_int_equal(status(0) & 0x40, 0x40); /* null count: the CR was written */
	outb(0x40, 0);
	at(300081);
	assert_int_equal(latched(0), 200);
	assert_int_equal(vpit_next_deadline(&P), ns_at(300080 + 201));
	/* a new complete count restarts the one-shot; OUT goes low again if it was high */
	at(400000);
	assert_true(out_of(0));
	outb(0x40, 10);
	outb(0x40, 0);
	assert_false(out_of(0));
	assert_int_equal(vpit_next_deadline(&P), ns_at(400000 + 11));
}

static void test_mode1_gate_triggered(void **state)
{
	(void)state;
	at(100);
	program(2, 0xb2, 100); /* channel 2, mode 1, gate low */
	assert_int_equal(status(2), 0xf2); /* OUT high, null count: waiting for a trigger */
	at(200);
	assert_int_equal(status(2), 0xf2);
	outb(0x61, 0x01); /* trigger */
	assert_true(inb(0x61) & 0x20);
	at(201);
	assert_int_equal(status(2), 0x32); /* OUT low, loaded */
	assert_int_equal(latched(2), 100);
	at(250);
	assert_int_equal(latched(2), 51);
	/* the gate level does not matter, only rising edges */
	outb(0x61, 0x00);
	at(260);
	assert_int_equal(latched(2), 41);
	outb(0x61, 0x01); /* retrigger during the pulse: reload, OUT stays low */
	at(261);
	assert_int_equal(latched(2), 100);
	at(260 + 100);
	assert_false(inb(0x61) & 0x20);
	at(261 + 100);
	assert_true(inb(0x61) & 0x20);
	/* channel 0's gate is tied high: mode 1 there never starts */
	at(1000);
	program(0, 0x32, 10);
	at(5000);
	assert_true(out_of(0));
	assert_int_equal(status(0), 0xf2);
	assert_int_equal(vpit_next_deadline(&P), VDEV_NEVER);
}

static void test_mode2_gate(void **state)
{
	(void)state;
	at(100);
	outb(0x61, 0x01);
	program(2, 0xb4, 10);
	at(101 + 9);
	assert_int_equal(latched(2), 1);
	assert_false(inb(0x61) & 0x20);
	/* gate low during the pulse: OUT high at once, counting stops */
	outb(0x61, 0x00);
	assert_true(inb(0x61) & 0x20);
	at(120);
	assert_int_equal(latched(2), 1);
	/* rising gate: reload on the next clock */
	outb(0x61, 0x01);
	at(121);
	assert_int_equal(latched(2), 10);
	at(122);
	assert_int_equal(latched(2), 9);
	at(121 + 9);
	assert_false(inb(0x61) & 0x20);
	at(121 + 10);
	assert_true(inb(0x61) & 0x20);
	assert_int_equal(latched(2), 10);
	/* count written while the gate is low: waits for the gate */
	outb(0x61, 0x00);
	program(2, 0xb4, 20);
	at(200);
	assert_int_equal(latched(2), 20);
	outb(0x61, 0x01);
	at(205);
	assert_int_equal(latched(2), 16);
}

static void test_mode0_gate_suspends(void **state)
{
	(void)state;
	at(100);
	outb(0x61, 0x01);
	program(2, 0xb0, 100);
	at(111);
	assert_int_equal(latched(2), 90);
	outb(0x61, 0x00);
	at(150);
	assert_int_equal(latched(2), 90);
	assert_false(inb(0x61) & 0x20);
	outb(0x61, 0x01);
	at(151);
	assert_int_equal(latched(2), 89);
	at(150 + 89);
	assert_false(inb(0x61) & 0x20);
	at(150 + 90);
	assert_true(inb(0x61) & 0x20);
	/* mode 0 count written with the gate low: loaded, not counting */
	outb(0x61, 0x00);
	program(2, 0xb0, 30);
	at(300);
	assert_int_equal(latched(2), 30);
	assert_false(inb(0x61) & 0x20);
	outb(0x61, 0x01);
	at(301);
	assert_int_equal(latched(2), 29);
	at(330);
	assert_true(inb(0x61) & 0x20);
	/* mode 4 suspends the same way */
	outb(0x43, 0xb8);
	outb(0x42, 10);
	outb(0x42, 0);
	at(331 + 4);
	outb(0x61, 0x00);
	at(400);
	assert_int_equal(latched(2), 6);
	outb(0x61, 0x01);
	at(406);
	assert_false(inb(0x61) & 0x20);
	at(407);
	assert_true(inb(0x61) & 0x20);
}

static void test_mode3_square_wave(void **state)
{
	(void)state;
	static const uint16_t even[10] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2 };
	static const uint16_t odd[9] = { 8, 6, 4, 2, 0, 8, 6, 4, 2 };

	at(100);
	program(0, 0x36, 10);
	for (unsigned e = 0; e < 20; e++) {
		at(101 + e);
		assert_int_equal(latched(0), even[e % 10]);
		assert_int_equal(out_of(0), e % 10 < 5);
	}
	assert_int_equal(P.irq_edges, 1); /* the register reads presented the edge at e = 10 */
	at(1000);
	program(0, 0x36, 9); /* odd: high for 5 clocks, low for 4 */
	for (unsigned e = 0; e < 18; e++) {
		at(1001 + e);
		assert_int_equal(latched(0), odd[e % 9]);
		assert_int_equal(out_of(0), e % 9 < 5);
	}
	/* deadlines are the rising edges */
	at(2000);
	program(0, 0x36, 1000);
	assert_int_equal(vpit_next_deadline(&P), ns_at(2001 + 1000));
	vpit_advance(&P, ns_at(2001 + 1000));
	assert_int_equal(vpit_next_deadline(&P), ns_at(2001 + 2000));
	/* an advance during the low half leaves the line low */
	vpit_advance(&P, ns_at(2001 + 1700));
	assert_false(events[nevents - 1].level);
	/* modes 6 and 7 are 2 and 3; the status shows the bits as written */
	at(5000);
	program(0, 0x3e, 10);
	assert_int_equal(status(0) & 0x3f, 0x3e);
	at(5001 + 5);
	assert_false(out_of(0));
	assert_int_equal(latched(0), 10);
	program(0, 0x3c, 10);
	at(5007 + 9);
	assert_false(out_of(0));
	assert_int_equal(latched(0), 1);
}

static void test_mode5_strobe(void **state)
{
	(void)state;
	at(100);
	program(2, 0xba, 20);
	at(150);
	assert_true(inb(0x61) & 0x20);
	outb(0x61, 0x01);
	at(151 + 20);
	assert_false(inb(0x61) & 0x20);
	at(151 + 21);
	assert_true(inb(0x61) & 0x20);
	assert_int_equal(latched(2), 0xffff);
}

/* ---- new counts while counting -------------------------------------------------------------------------- */

static void test_mode2_new_count_at_period_end(void **state)
{
	(void)state;
	at(1000);
	program(0, 0x34, 100);
	at(1031);
	outb(0x40, 50);
	outb(0x40, 0);
	assert_int_equal(status(0), 0xf4); /* null count until the period ends */
	assert_int_equal(latched(0), 70);
	at(1100);
	assert_int_equal(latched(0), 1);
	at(1101);
	assert_int_equal(status(0), 0xb4);
	assert_int_equal(latched(0), 50);
	assert_int_equal(vpit_next_deadline(&P), ns_at(1151));
	/* the edges: the old period's end, then every 50 */
	vpit_advance(&P, ns_at(1151));
	assert_int_equal(vpit_next_deadline(&P), ns_at(1201));
	/* a count written before the load clock replaces the one being loaded */
	at(5000);
	outb(0x43, 0x34);
	outb(0x40, 10);
	outb(0x40, 0);
	outb(0x40, 20);
	outb(0x40, 0);
	assert_int_equal(vpit_next_deadline(&P), ns_at(5001 + 20));
}

static void test_mode3_new_count_at_half_cycle(void **state)
{
	(void)state;
	at(1000);
	program(0, 0x36, 100);
	at(1021);
	outb(0x40, 40);
	outb(0x40, 0);
	at(1050);
	assert_true(out_of(0));
	assert_int_equal(latched(0), 2);
	/* the high half of 100 ends at 1051: the new count starts with its low half */
	at(1051);
	assert_false(out_of(0));
	assert_int_equal(latched(0), 40);
	at(1052);
	assert_int_equal(latched(0), 38);
	assert_int_equal(vpit_next_deadline(&P), ns_at(1071));
	at(1071);
	assert_true(out_of(0));
	assert_int_equal(latched(0), 40);
	at(1091);
	assert_false(out_of(0));
	assert_int_equal(vpit_next_deadline(&P), ns_at(1111));
	/* a count written in the low half waits for the next rising edge */
	at(1095);
	outb(0x40, 10);
	outb(0x40, 0);
	assert_int_equal(vpit_next_deadline(&P), ns_at(1111));
	vpit_advance(&P, ns_at(1111));
	assert_int_equal(vpit_next_deadline(&P), ns_at(1121));
}

static void test_pending_rewrites(void **state)
{
	(void)state;
	/* a second count before the period ends replaces the first; the boundary stays */
	at(1000);
	program(0, 0x34, 100);
	at(1031);
	outb(0x40, 50);
	outb(0x40, 0);
	at(1041);
	outb(0x40, 60);
	outb(0x40, 0);
	assert_int_equal(status(0), 0xf4);
	at(1101);
	assert_int_equal(latched(0), 60);
	assert_int_equal(vpit_next_deadline(&P), ns_at(1161));
	/* from a count of 1 (a period of one clock) the new count starts at the next clock */
	at(2000);
	program(0, 0x34, 1);
	at(2010);
	outb(0x40, 5);
	outb(0x40, 0);
	vpit_advance(&P, ns_at(2011));
	assert_int_equal(latched(0), 5);
	assert_int_equal(vpit_next_deadline(&P), ns_at(2016));
	/* gate 2 low drops a pending count; the rising gate loads the latest CR */
	at(3000);
	outb(0x61, 0x01);
	program(2, 0xb4, 100);
	at(3011);
	outb(0x42, 50);
	outb(0x42, 0);
	at(3020);
	outb(0x61, 0x00);
	assert_int_equal(status(2), 0xf4); /* OUT high (gate low), null count */
	assert_int_equal(latched(2), 81);
	at(3030);
	outb(0x61, 0x01);
	at(3031);
	assert_int_equal(status(2), 0xb4);
	assert_int_equal(latched(2), 50);
}

/* ---- IRQ 0 ---------------------------------------------------------------------------------------------- */

static void test_mode_change_edge(void **state)
{
	(void)state;
	at(100);
	program(0, 0x30, 1000); /* OUT low */
	assert_int_equal(nevents, 1);
	at(200);
	outb(0x43, 0x34); /* mode 2: OUT high at once, a rising edge as on hardware */
	assert_int_equal(nevents, 2);
	expect_event(1, true);
	assert_int_equal(P.irq_edges, 1);
	assert_int_equal(vpit_next_deadline(&P), VDEV_NEVER); /* no count yet */
}

static void test_tiny_periods_are_bounded(void **state)
{
	(void)state;
	at(100);
	program(0, 0x34, 1); /* count 1: illegal in mode 2, an edge every clock */
	assert_int_equal(vpit_next_deadline(&P), ns_at(102));
	for (uint64_t t = 102; t < 1102; t++) {
		uint64_t d = vpit_next_deadline(&P);
		assert_int_equal(d, ns_at(t));
		vpit_advance(&P, d);
	}
	assert_int_equal(P.irq_edges, 1000);
	/* far later: the missed periods are one edge */
	vpit_advance(&P, ns_at(50000000));
	assert_int_equal(P.irq_edges, 1001);
	assert_true(vpit_next_deadline(&P) > ns_at(50000000));
	assert_int_equal(vpit_next_deadline(&P), ns_at(50000001));
	/* the same for a long period overrun: one edge, then the next period boundary */
	at(60000000);
	program(0, 0x34, 2);
	assert_int_equal(P.irq_edges, 1002); /* the port write presented the count-1 stream's edge */
	vpit_advance(&P, ns_at(60000001 + 1000001));
	assert_int_equal(P.irq_edges, 1003);
	assert_int_equal(vpit_next_deadline(&P), ns_at(60000001 + 1000002));
	/* mode 3 count 1 as well */
	at(70000000);
	program(0, 0x36, 1);
	/* the count-2 stream's edge, then OUT low (odd clock) going high with the mode 3 control word */
	assert_int_equal(P.irq_edges, 1005);
	vpit_advance(&P, ns_at(70000001 + 5));
	assert_int_equal(P.irq_edges, 1006);
	assert_int_equal(vpit_next_deadline(&P), ns_at(70000001 + 6));
	/* the line alternates low/high, never twice the same level */
	for (unsigned i = 1; i < nevents; i++)
		assert_true(events[i].level != events[i - 1].level);
}

static void test_time_never_goes_back(void **state)
{
	(void)state;
	at(1000);
	program(0, 0x34, 100);
	at(1051);
	assert_int_equal(latched(0), 50);
	at(900); /* a time source going back is held at the latest time seen */
	assert_int_equal(latched(0), 50);
	vpit_advance(&P, 0);
	assert_int_equal(latched(0), 50);
	vpit_advance(&P, UINT64_MAX);
	assert_int_equal(P.irq_edges, 1);
	uint64_t d = vpit_next_deadline(&P);
	assert_true(d == VDEV_NEVER || d > ns_at(1000));
}

/* ---- ports ----------------------------------------------------------------------------------------------- */

static void test_ports(void **state)
{
	(void)state;
	uint32_t v;

	at(10);
	assert_int_equal(inb(0x43), 0xff); /* write-only */
	outb(0x61, 0xff);
	assert_int_equal(inb(0x61), 0x2f); /* bits 7:4 read-only: refresh 0, OUT2 high */
	outb(0x61, 0x00);
	/* flip-flops: reads and writes of one channel may interleave (8254 datasheet) */
	at(100);
	outb(0x43, 0x34);
	outb(0x40, 0x00);
	outb(0x40, 0x10); /* 0x1000, loaded at 101 */
	at(101 + 0x10);
	assert_int_equal(inb(0x40), 0xf0); /* read LSB */
	outb(0x40, 0x00);		    /* write LSB */
	assert_int_equal(inb(0x40), 0x0f); /* read MSB */
	outb(0x40, 0x20);		    /* write MSB: 0x2000 at the period's end */
	assert_int_equal(vpit_next_deadline(&P), ns_at(101 + 0x1000));
	assert_int_equal(P.ch[0].pending_n, 0x2000);
	/* word and dword accesses reach consecutive ports, as an ISA bus splits them */
	at(200);
	outb(0x43, 0x34);
	v = 0x0a0a;
	assert_true(vpit_io(&P, 0x40, 2, false, &v)); /* channel 0 LSB, channel 1 count 10 */
	outb(0x40, 0x00);
	at(201);
	v = 0;
	assert_true(vpit_io(&P, 0x40, 2, true, &v));
	/* channel 1's new count waits for its period's end (clock 217); it reads 18 - 200 % 18 */
	assert_int_equal(v, 16 << 8 | 10);
	v = 0;
	assert_true(vpit_io(&P, 0x42, 4, true, &v));
	assert_int_equal(v & 0xffffff00, 0xffffff00); /* 0x43, 0x44, 0x45 */
	v = 0;
	assert_true(vpit_io(&P, 0x60, 2, true, &v));
	assert_int_equal(v & 0xff, 0xff);
	assert_false(vpit_io(&P, 0x40, 3, true, &v));
	assert_false(vpit_io(&P, 0x40, 0, false, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_init_reads_time, setup),
		cmocka_unit_test_setup(test_test_guest_periodic, setup),
		cmocka_unit_test_setup(test_seabios_and_linux_timer, setup),
		cmocka_unit_test_setup(test_gate2_calibration_loop, setup),
		cmocka_unit_test_setup(test_quick_pit_calibrate, setup),
		cmocka_unit_test_setup(test_counter_latch, setup),
		cmocka_unit_test_setup(test_read_back, setup),
		cmocka_unit_test_setup(test_bcd, setup),
		cmocka_unit_test_setup(test_mode0_one_shot, setup),
		cmocka_unit_test_setup(test_mode1_gate_triggered, setup),
		cmocka_unit_test_setup(test_mode2_gate, setup),
		cmocka_unit_test_setup(test_mode0_gate_suspends, setup),
		cmocka_unit_test_setup(test_mode3_square_wave, setup),
		cmocka_unit_test_setup(test_mode5_strobe, setup),
		cmocka_unit_test_setup(test_mode2_new_count_at_period_end, setup),
		cmocka_unit_test_setup(test_mode3_new_count_at_half_cycle, setup),
		cmocka_unit_test_setup(test_pending_rewrites, setup),
		cmocka_unit_test_setup(test_mode_change_edge, setup),
		cmocka_unit_test_setup(test_tiny_periods_are_bounded, setup),
		cmocka_unit_test_setup(test_time_never_goes_back, setup),
		cmocka_unit_test_setup(test_ports, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
