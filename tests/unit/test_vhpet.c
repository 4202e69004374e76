/*
 * Unit tests of kernel/vmm/vhpet.c against the IA-PC HPET Specification 1.0a: every register's
 * reset value and writable bits, the main counter halted and running, one-shot, periodic, 32-bit
 * mode, level and edge interrupts, legacy replacement routing, status clearing, deadlines and the
 * coalescing of missed periods. A fake clock and fake interrupt lines stand in for the core.
 * Expected values are written out by hand (10 ns per tick).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <hv/vhpet.h>

/* ------------------------------------------------------------------------------------------------ */
/* Fake clock and interrupt lines                                                                   */

#define MAX_EVENTS 64

struct irq_event {
	uint32_t gsi;
	bool level;
};

static struct fake {
	uint64_t now;
	bool line[32];
	struct irq_event ev[MAX_EVENTS];
	unsigned nev;
} F;

static uint64_t fake_now(void *ctx)
{
	assert_ptr_equal(ctx, &F);
	return F.now;
}

static void fake_set_irq(void *ctx, uint32_t gsi, bool level)
{
	assert_ptr_equal(ctx, &F);
	assert_true(gsi < 24);
	/* The model never repeats a level: every call is an edge. */
	assert_int_not_equal(F.line[gsi], level);
	F.line[gsi] = level;
	assert_true(F.nev < MAX_EVENTS);
	F.ev[F.nev++] = (struct irq_event){ gsi, level };
}

static const struct vdev_env ENV = { .ctx = &F, .now_ns = fake_now, .set_irq = fake_set_irq };

static struct vhpet H;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	vhpet_init(&H, &ENV);
	return 0;
}

static uint64_t rd(uint64_t off, uint32_t size)
{
	uint64_t v = 0xdeadbeef;
	assert_true(vhpet_mmio_read(&H, off, size, &v));
	return v;
}

static uint64_t rd64(uint64_t off)
{
	return rd(off, 8);
}

static void wr(uint64_t off, uint32_t size, uint64_t v)
{
	assert_true(vhpet_mmio_write(&H, off, size, v));
}

static void wr64(uint64_t off, uint64_t v)
{
	wr(off, 8, v);
}

static void wr32(uint64_t off, uint32_t v)
{
	wr(off, 4, v);
}

/* Moves the fake clock to t and lets the model catch up, as the core does. */
static void at(uint64_t t)
{
	F.now = t;
	vhpet_advance(&H, t);
}

/* Exactly one edge pulse (true, false) on gsi since the last clear_events(). */
static void expect_pulse(uint32_t gsi)
{
	assert_int_equal(F.nev, 2);
	assert_int_equal(F.ev[0].gsi, gsi);
	assert_true(F.ev[0].level);
	assert_int_equal(F.ev[1].gsi, gsi);
	assert_false(F.ev[1].level);
}

static void clear_events(void)
{
	F.nev = 0;
}

#define GCAP 0x000
#define CONF 0x010
#define ISR 0x020
#define CNT 0x0f0
#define TCONF(n) (0x100 + 0x20 * (n))
#define TCMP(n) (0x108 + 0x20 * (n))
#define TFSB(n) (0x110 + 0x20 * (n))

#define ENABLE 0x1
#define LEG_RT 0x2
#define INT_LEVEL 0x2
#define INT_ENB 0x4
#define PERIODIC 0x8
#define VAL_SET 0x40
#define MODE32 0x100
#define ROUTE(g) ((uint64_t)(g) << 9)
#define TCAPS 0x00f0000000000030ull

/* ------------------------------------------------------------------------------------------------ */
/* Registers                                                                                        */

static void test_capabilities(void **state)
{
	(void)state;
	/* rev 1, 3 timers (NUM_TIM_CAP 2), 64-bit counter, legacy capable, vendor 8086, 10^7 fs */
	assert_int_equal(rd64(GCAP), 0x009896808086a201ull);
	assert_int_equal(rd(GCAP, 4), 0x8086a201);
	assert_int_equal(rd(GCAP + 4, 4), 10000000);
	assert_int_equal(rd(GCAP, 4), VHPET_BLOCK_ID);
	assert_int_equal(rd(GCAP + 4, 4), VHPET_PERIOD_FS);
	wr64(GCAP, 0); /* read-only */
	wr32(GCAP + 4, 0);
	assert_int_equal(rd64(GCAP), 0x009896808086a201ull);
}

static void test_reset_values(void **state)
{
	(void)state;
	assert_int_equal(rd64(CONF), 0);
	assert_int_equal(rd64(ISR), 0);
	assert_int_equal(rd64(CNT), 0);
	for (unsigned n = 0; n < 3; n++) {
		assert_int_equal(rd64(TCONF(n)), TCAPS);
		assert_int_equal(rd(TCONF(n) + 4, 4), 0x00f00000);
		assert_int_equal(rd64(TCMP(n)), UINT64_MAX);
		assert_int_equal(rd64(TFSB(n)), 0);
	}
	/* reserved space reads 0, including what would be timers 3..31 */
	static const uint64_t reserved[] = { 0x008, 0x018, 0x028, 0x0e8, 0x0f8, 0x118, 0x160, 0x168, 0x300, 0x3f8 };
	for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		wr64(reserved[i], UINT64_MAX);
		assert_int_equal(rd64(reserved[i]), 0);
	}
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
	assert_int_equal(F.nev, 0);
}

static void test_general_config_bits(void **state)
{
	(void)state;
	wr64(CONF, UINT64_MAX);
	assert_int_equal(rd64(CONF), 3);
	assert_true(vhpet_legacy_replacement(&H));
	wr32(CONF, 0x1);
	assert_int_equal(rd64(CONF), 1);
	assert_false(vhpet_legacy_replacement(&H));
	wr32(CONF + 4, 0xffffffff); /* upper half reserved */
	assert_int_equal(rd64(CONF), 1);
	wr32(CONF, 0);
	assert_int_equal(rd64(CONF), 0);
}

static void test_timer_config_bits(void **state)
{
	(void)state;
	/* Every writable bit; route 31 is not in the capability mask so the route stays 0. */
	wr64(TCONF(0), UINT64_MAX);
	assert_int_equal(rd64(TCONF(0)), 0x00f000000000017eull);
	/* Route 20 accepted, route 5 refused (reads back 20), 23 accepted. */
	wr64(TCONF(1), ROUTE(20));
	assert_int_equal(rd64(TCONF(1)), TCAPS | ROUTE(20));
	wr64(TCONF(1), ROUTE(5) | INT_ENB);
	assert_int_equal(rd64(TCONF(1)), TCAPS | ROUTE(20) | INT_ENB);
	wr64(TCONF(1), ROUTE(23));
	assert_int_equal(rd64(TCONF(1)), TCAPS | ROUTE(23));
	wr64(TCONF(1), ROUTE(2)); /* legacy pins are not routes */
	assert_int_equal(rd64(TCONF(1)), TCAPS | ROUTE(23));
	/* FSB enable (bit 14) and capability bits are read-only */
	wr64(TCONF(2), (1ull << 14) | (1ull << 15) | (1ull << 4) | (1ull << 5) | 0xffffffff00000000ull);
	assert_int_equal(rd64(TCONF(2)), TCAPS);
	/* writing the upper half alone changes nothing */
	wr32(TCONF(1) + 4, 0);
	assert_int_equal(rd64(TCONF(1)), TCAPS | ROUTE(23));
	/* FSB route register: no FSB capability */
	wr64(TFSB(0), 0x1234567812345678ull);
	assert_int_equal(rd64(TFSB(0)), 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Main counter                                                                                     */

static void test_counter_halted_and_running(void **state)
{
	(void)state;
	at(5000);
	assert_int_equal(rd64(CNT), 0); /* halted */
	wr32(CNT, 0x11223344);
	wr32(CNT + 4, 0x55667788);
	assert_int_equal(rd64(CNT), 0x5566778811223344ull);
	wr64(CNT, 1000);
	assert_int_equal(rd64(CNT), 1000);
	at(1000000);
	assert_int_equal(rd64(CNT), 1000);

	wr64(CONF, ENABLE); /* starts at t = 1,000,000 ns */
	assert_int_equal(rd64(CNT), 1000);
	F.now = 1000009;
	assert_int_equal(rd64(CNT), 1000);
	F.now = 1000010;
	assert_int_equal(rd64(CNT), 1001);
	F.now = 1000000 + NS_PER_SEC;
	assert_int_equal(rd64(CNT), 1000 + 100000000);
	assert_int_equal(rd(CNT, 4), 1000 + 100000000);
	assert_int_equal(rd(CNT + 4, 4), 0);

	wr64(CNT, 7); /* ignored while running */
	assert_int_equal(rd64(CNT), 1000 + 100000000);

	F.now += 12345; /* 1234 more ticks (and 5 ns) */
	wr64(CONF, 0);
	assert_int_equal(rd64(CNT), 100001000 + 1234);
	F.now += NS_PER_SEC;
	assert_int_equal(rd64(CNT), 100002234);
	wr64(CONF, ENABLE);
	F.now += 100;
	assert_int_equal(rd64(CNT), 100002244);
}

static void test_counter_wraps_64(void **state)
{
	(void)state;
	wr64(CNT, 0xfffffffffffffff0ull);
	wr64(CONF, ENABLE);
	F.now = 150;
	assert_int_equal(rd64(CNT), 0xffffffffffffffffull);
	F.now = 160;
	assert_int_equal(rd64(CNT), 0);
	F.now = 250;
	assert_int_equal(rd64(CNT), 9);
}

/* ------------------------------------------------------------------------------------------------ */
/* One-shot                                                                                         */

static void test_oneshot_edge(void **state)
{
	(void)state;
	wr64(TCONF(2), INT_ENB | ROUTE(21));
	wr64(TCMP(2), 1000);
	assert_int_equal(rd64(TCMP(2)), 1000);
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER); /* halted */
	F.now = 500;
	wr64(CONF, ENABLE); /* counter 0 at 500 ns: tick 1000 at 10,500 ns */
	assert_int_equal(vhpet_next_deadline(&H), 10500);
	at(10499);
	assert_int_equal(F.nev, 0);
	at(10500);
	expect_pulse(21);
	assert_int_equal(rd64(ISR), 0); /* edge: status always 0 */
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
	assert_int_equal(rd64(TCMP(2)), 1000);
	clear_events();
	at(100 * NS_PER_SEC);
	assert_int_equal(F.nev, 0);
	/* a new comparator arms again */
	wr64(TCMP(2), rd64(CNT) + 5);
	assert_int_equal(vhpet_next_deadline(&H), 100 * NS_PER_SEC + 50);
	at(100 * NS_PER_SEC + 60);
	expect_pulse(21);
}

static void test_oneshot_past_comparator_waits_for_wrap(void **state)
{
	(void)state;
	wr64(CNT, 100);
	wr64(TCONF(0), INT_ENB | ROUTE(20));
	wr64(TCMP(0), 50);
	wr64(CONF, ENABLE);
	/* 64-bit: the next equality is 2^64 - 50 ticks away */
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
	at(1000 * NS_PER_SEC);
	assert_int_equal(F.nev, 0);
}

static void test_oneshot_32bit_wrap(void **state)
{
	(void)state;
	wr64(CNT, 100);
	wr64(TCONF(0), INT_ENB | ROUTE(20) | MODE32);
	wr64(TCMP(0), 50);
	wr64(CONF, ENABLE);
	/* low half 100 -> 50 through the wrap: 2^32 - 50 ticks */
	uint64_t first = (0x100000000ull - 50) * 10;
	assert_int_equal(vhpet_next_deadline(&H), first);
	at(first - 1);
	assert_int_equal(F.nev, 0);
	at(first);
	expect_pulse(20);
	assert_int_equal(rd(CNT, 4), 50);
	assert_int_equal(rd64(CNT), 0x100000032ull);
	/* it matches again every 2^32 ticks */
	assert_int_equal(vhpet_next_deadline(&H), first + 0x100000000ull * 10);
	clear_events();
	/* five wraps missed: one interrupt, then the next wrap */
	at(first + 5 * 0x100000000ull * 10 + 7);
	expect_pulse(20);
	assert_int_equal(vhpet_next_deadline(&H), first + 6 * 0x100000000ull * 10);
}

static void test_32bit_mode_truncates(void **state)
{
	(void)state;
	wr64(TCMP(1), 0x123456789abcdef0ull);
	assert_int_equal(rd64(TCMP(1)), 0x123456789abcdef0ull);
	wr64(TCONF(1), MODE32);
	assert_int_equal(rd64(TCMP(1)), 0x9abcdef0ull);
	wr32(TCMP(1) + 4, 0xffffffff); /* no upper half in 32-bit mode */
	assert_int_equal(rd64(TCMP(1)), 0x9abcdef0ull);
	wr64(TCMP(1), 0xaaaaaaaa55555555ull);
	assert_int_equal(rd64(TCMP(1)), 0x55555555ull);
	wr32(TCMP(1), 0x11111111);
	assert_int_equal(rd64(TCMP(1)), 0x11111111ull);
	/* back to 64-bit: the upper half is writable again */
	wr64(TCONF(1), 0);
	wr32(TCMP(1) + 4, 0x22222222);
	assert_int_equal(rd64(TCMP(1)), 0x2222222211111111ull);
}

static void test_64bit_comparator_halves(void **state)
{
	(void)state;
	wr32(TCMP(0), 0x00000010);
	assert_int_equal(rd64(TCMP(0)), 0xffffffff00000010ull);
	wr32(TCMP(0) + 4, 0);
	assert_int_equal(rd64(TCMP(0)), 0x10);
	wr64(TCONF(0), INT_ENB | ROUTE(22));
	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), 160);
	at(160);
	expect_pulse(22);
}

/* ------------------------------------------------------------------------------------------------ */
/* Periodic                                                                                         */

static void test_periodic_val_set(void **state)
{
	(void)state;
	/* Linux's sequence: TYPE|VAL_SET, comparator = first match, then the period alone. */
	wr64(TCONF(0), INT_ENB | PERIODIC | VAL_SET | ROUTE(20));
	assert_int_equal(rd64(TCONF(0)), TCAPS | INT_ENB | PERIODIC | VAL_SET | ROUTE(20));
	wr64(TCMP(0), 1000);
	assert_int_equal(rd64(TCONF(0)), TCAPS | INT_ENB | PERIODIC | ROUTE(20)); /* VAL_SET clears */
	assert_int_equal(rd64(TCMP(0)), 1000);
	wr64(TCMP(0), 300); /* without VAL_SET: the period only */
	assert_int_equal(rd64(TCMP(0)), 1000);

	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), 10000);
	at(10000);
	expect_pulse(20);
	assert_int_equal(rd64(TCMP(0)), 1300); /* comparator advanced by the period */
	assert_int_equal(vhpet_next_deadline(&H), 13000);
	clear_events();
	at(12999);
	assert_int_equal(F.nev, 0);
	at(13000);
	expect_pulse(20);
	assert_int_equal(rd64(TCMP(0)), 1600);
	clear_events();
	at(16000);
	expect_pulse(20);
	assert_int_equal(rd64(TCMP(0)), 1900);
}

static void test_periodic_coalesces(void **state)
{
	(void)state;
	/* A 1-tick period: a second of guest time costs one advance and gives one interrupt. */
	wr64(TCONF(1), INT_ENB | PERIODIC | VAL_SET | ROUTE(23));
	wr64(TCMP(1), 1);
	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), 10);
	at(NS_PER_SEC + 5);
	expect_pulse(23);
	/* the comparator is the first match after now: tick 100,000,001 */
	assert_int_equal(rd64(TCMP(1)), 100000001);
	assert_int_equal(vhpet_next_deadline(&H), NS_PER_SEC + 10);
	clear_events();
	at(NS_PER_SEC + 10);
	expect_pulse(23);

	/* a huge period in 64-bit mode does not overflow the arithmetic */
	wr64(TCONF(2), INT_ENB | PERIODIC | VAL_SET | ROUTE(22));
	wr64(TCMP(2), rd64(CNT) + 1);
	wr64(TCMP(2), 0xfffffffffffffff0ull);
	clear_events();
	at(F.now + 10);
	assert_int_equal(F.nev, 4); /* timers 1 and 2 */
	assert_int_equal(vhpet_next_deadline(&H), F.now + 10);
	uint64_t t1 = vhpet_next_deadline(&H);
	wr64(TCONF(1), 0);
	assert_true(vhpet_next_deadline(&H) > t1); /* timer 2's match is ~2^64 ticks away */
}

static void test_periodic_32bit_wraps_comparator(void **state)
{
	(void)state;
	wr64(CNT, 0xffffff00ull);
	wr64(TCONF(0), INT_ENB | PERIODIC | VAL_SET | MODE32 | ROUTE(20));
	wr64(TCMP(0), 0xffffff80ull);
	wr64(TCMP(0), 0x100);
	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), 0x80 * 10);
	at(0x80 * 10);
	expect_pulse(20);
	assert_int_equal(rd64(TCMP(0)), 0x80); /* 0xffffff80 + 0x100 wraps in 32 bits */
	assert_int_equal(vhpet_next_deadline(&H), 0x180 * 10);
	clear_events();
	at(0x180 * 10);
	expect_pulse(20);
	assert_int_equal(rd64(TCMP(0)), 0x180);
}

static void test_periodic_zero_period(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_ENB | PERIODIC | VAL_SET | ROUTE(20));
	wr64(TCMP(0), 10);
	wr64(TCMP(0), 0);
	wr64(CONF, ENABLE);
	at(100);
	expect_pulse(20);
	assert_int_equal(rd64(TCMP(0)), 10);
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
}

static void test_switch_to_periodic_uses_last_written(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_ENB | ROUTE(20));
	wr64(TCMP(0), 100);
	wr64(CONF, ENABLE);
	wr64(TCONF(0), INT_ENB | PERIODIC | ROUTE(20)); /* increment: the last value written, 100 */
	at(1000);
	expect_pulse(20);
	assert_int_equal(rd64(TCMP(0)), 200);
	assert_int_equal(vhpet_next_deadline(&H), 2000);
}

/* ------------------------------------------------------------------------------------------------ */
/* Level, edge, status, routing                                                                     */

static void test_level_status_and_clear(void **state)
{
	(void)state;
	wr64(TCONF(1), INT_LEVEL | INT_ENB | PERIODIC | VAL_SET | ROUTE(22));
	wr64(TCMP(1), 100);
	wr64(CONF, ENABLE);
	at(1000);
	assert_int_equal(F.nev, 1);
	assert_int_equal(F.ev[0].gsi, 22);
	assert_true(F.ev[0].level);
	assert_int_equal(rd64(ISR), 0x2);
	/* further matches keep it asserted; nothing to do until the guest clears the status */
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
	at(5000);
	assert_int_equal(F.nev, 1);
	assert_true(F.line[22]);
	assert_int_equal(rd64(TCMP(1)), 600); /* the comparator moved on meanwhile */
	wr64(ISR, 0x5); /* other bits: nothing */
	assert_true(F.line[22]);
	wr64(ISR, 0);
	assert_int_equal(rd64(ISR), 0x2);
	wr32(ISR, 0x2);
	assert_int_equal(rd64(ISR), 0);
	assert_false(F.line[22]);
	assert_int_equal(F.nev, 2);
	assert_int_equal(vhpet_next_deadline(&H), 6000);
	at(6000);
	assert_true(F.line[22]);
	assert_int_equal(rd64(ISR), 0x2);
}

static void test_level_status_without_int_enb(void **state)
{
	(void)state;
	/* "the timer will still operate and generate appropriate status bits" */
	wr64(TCONF(0), INT_LEVEL | ROUTE(20));
	wr64(TCMP(0), 5);
	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER); /* nothing to deliver */
	F.now = 100;
	assert_int_equal(rd64(ISR), 1);
	assert_int_equal(F.nev, 0);
	wr64(TCONF(0), INT_LEVEL | INT_ENB | ROUTE(20));
	assert_true(F.line[20]);
	wr64(TCONF(0), INT_LEVEL | ROUTE(20));
	assert_false(F.line[20]);
	assert_int_equal(rd64(ISR), 1);
	/* switching to edge clears the status */
	wr64(TCONF(0), ROUTE(20));
	assert_int_equal(rd64(ISR), 0);
}

static void test_edge_with_int_disabled(void **state)
{
	(void)state;
	wr64(TCONF(0), ROUTE(20));
	wr64(TCMP(0), 5);
	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
	at(1000);
	assert_int_equal(F.nev, 0);
	assert_int_equal(rd64(ISR), 0);
}

static void test_unrouted_timer(void **state)
{
	(void)state;
	/* route 0 (the reset value) is not a valid route: status but no line */
	wr64(TCONF(2), INT_LEVEL | INT_ENB);
	wr64(TCMP(2), 5);
	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
	F.now = 100;
	assert_int_equal(rd64(ISR), 4);
	assert_int_equal(F.nev, 0);
	wr64(TCONF(2), INT_LEVEL | INT_ENB | ROUTE(21));
	assert_true(F.line[21]);
}

static void test_legacy_routing(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_ENB | ROUTE(20));
	wr64(TCONF(1), INT_ENB | ROUTE(21));
	wr64(TCONF(2), INT_ENB | ROUTE(22));
	wr64(TCMP(0), 10);
	wr64(TCMP(1), 20);
	wr64(TCMP(2), 30);
	wr64(CONF, ENABLE | LEG_RT);
	at(100);
	expect_pulse(VHPET_LEGACY_GSI0); /* timer 0: IRQ0 = GSI 2 */
	assert_int_equal(VHPET_LEGACY_GSI0, 2);
	clear_events();
	at(200);
	expect_pulse(VHPET_LEGACY_GSI1); /* timer 1: IRQ8 = GSI 8 */
	assert_int_equal(VHPET_LEGACY_GSI1, 8);
	clear_events();
	at(300);
	expect_pulse(22); /* timer 2 keeps its route */
	/* the route fields are kept and used again without legacy replacement */
	clear_events();
	wr64(CONF, ENABLE);
	wr64(TCMP(0), rd64(CNT) + 1);
	at(F.now + 10);
	expect_pulse(20);
}

static void test_legacy_level_moves_line(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_LEVEL | INT_ENB | ROUTE(23));
	wr64(TCMP(0), 1);
	wr64(CONF, ENABLE | LEG_RT);
	at(10);
	assert_true(F.line[2]);
	wr64(CONF, ENABLE);
	assert_false(F.line[2]);
	assert_true(F.line[23]);
	/* halting drops the line but keeps the status; enabling raises it again */
	wr64(CONF, 0);
	assert_false(F.line[23]);
	assert_int_equal(rd64(ISR), 1);
	wr64(CONF, ENABLE);
	assert_true(F.line[23]);
	vhpet_reset(&H);
	assert_false(F.line[23]);
	assert_int_equal(rd64(ISR), 0);
	assert_int_equal(rd64(CONF), 0);
}

static void test_shared_level_line(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_LEVEL | INT_ENB | ROUTE(21));
	wr64(TCONF(1), INT_LEVEL | INT_ENB | ROUTE(21));
	wr64(TCONF(2), INT_ENB | ROUTE(21)); /* edge on the same pin */
	wr64(TCMP(0), 1);
	wr64(TCMP(1), 2);
	wr64(TCMP(2), 3);
	wr64(CONF, ENABLE);
	at(100);
	assert_int_equal(F.nev, 1); /* one rising edge; the edge timer's pulse is swallowed */
	assert_int_equal(rd64(ISR), 3);
	wr64(ISR, 1);
	assert_true(F.line[21]); /* timer 1 still holds it */
	wr64(ISR, 2);
	assert_false(F.line[21]);
}

static void test_deadline_is_earliest(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_ENB | ROUTE(20));
	wr64(TCONF(1), INT_ENB | ROUTE(21));
	wr64(TCONF(2), INT_ENB | ROUTE(22));
	wr64(TCMP(0), 300);
	wr64(TCMP(1), 100);
	wr64(TCMP(2), 200);
	F.now = 7;
	wr64(CONF, ENABLE);
	assert_int_equal(vhpet_next_deadline(&H), 1007);
	at(1007);
	expect_pulse(21);
	assert_int_equal(vhpet_next_deadline(&H), 2007);
	clear_events();
	at(5000); /* two due at once */
	assert_int_equal(F.nev, 4);
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
}

static void test_disable_stops_timers(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_ENB | ROUTE(20));
	wr64(TCMP(0), 100);
	wr64(CONF, ENABLE);
	F.now = 500;
	wr64(CONF, 0);
	assert_int_equal(vhpet_next_deadline(&H), VDEV_NEVER);
	at(10000);
	assert_int_equal(F.nev, 0);
	F.now = 20000;
	wr64(CONF, ENABLE); /* counter 50 at 20,000: 50 more ticks */
	assert_int_equal(vhpet_next_deadline(&H), 20500);
	at(20500);
	expect_pulse(20);
}

/* ------------------------------------------------------------------------------------------------ */
/* Access sizes and offsets                                                                         */

static void test_odd_accesses(void **state)
{
	(void)state;
	uint64_t v;

	assert_int_equal(rd(GCAP, 1), 0x01);
	assert_int_equal(rd(GCAP + 1, 1), 0xa2);
	assert_int_equal(rd(GCAP + 2, 2), 0x8086);
	assert_int_equal(rd(GCAP + 6, 2), 0x0098);
	/* straddling two registers: bytes 4..11 are GCAP's high half and reserved 0x008 */
	assert_int_equal(rd(GCAP + 4, 8), 0x00989680ull);
	assert_int_equal(rd(TCONF(0) + 4, 8), 0x00f00000ull | (0xffffffffull << 32));
	/* writes other than aligned 4/8 bytes are dropped */
	wr(CONF, 1, 1);
	wr(CONF, 2, 1);
	wr(CONF + 2, 4, 0x10000);
	wr(CONF + 4, 8, 1);
	assert_int_equal(rd64(CONF), 0);
	/* outside the block, or a size the bus never makes */
	v = 5;
	assert_false(vhpet_mmio_read(&H, 0x400, 4, &v));
	assert_int_equal(v, 0);
	assert_false(vhpet_mmio_read(&H, 0x3fc, 8, &v));
	assert_false(vhpet_mmio_read(&H, UINT64_MAX - 3, 8, &v));
	assert_false(vhpet_mmio_read(&H, 0, 3, &v));
	assert_false(vhpet_mmio_read(&H, 0, 16, &v));
	assert_false(vhpet_mmio_write(&H, 0x400, 4, 1));
	assert_false(vhpet_mmio_write(&H, 0x010, 0, 1));
	assert_true(vhpet_mmio_read(&H, 0x3f8, 8, &v));
	assert_true(vhpet_mmio_read(&H, 0x3ff, 1, &v));
}

static void test_advance_before_start(void **state)
{
	(void)state;
	wr64(TCONF(0), INT_ENB | ROUTE(20));
	wr64(TCMP(0), 0);
	F.now = 1000;
	wr64(CONF, ENABLE);
	/* comparator == counter at enable: matches at once */
	assert_int_equal(vhpet_next_deadline(&H), 1000);
	vhpet_advance(&H, 10); /* a time before the counter started: nothing */
	assert_int_equal(F.nev, 0);
	at(1000);
	expect_pulse(20);
	vhpet_advance(&H, UINT64_MAX);
	assert_int_equal(F.nev, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_capabilities, setup),
		cmocka_unit_test_setup(test_reset_values, setup),
		cmocka_unit_test_setup(test_general_config_bits, setup),
		cmocka_unit_test_setup(test_timer_config_bits, setup),
		cmocka_unit_test_setup(test_counter_halted_and_running, setup),
		cmocka_unit_test_setup(test_counter_wraps_64, setup),
		cmocka_unit_test_setup(test_oneshot_edge, setup),
		cmocka_unit_test_setup(test_oneshot_past_comparator_waits_for_wrap, setup),
		cmocka_unit_test_setup(test_oneshot_32bit_wrap, setup),
		cmocka_unit_test_setup(test_32bit_mode_truncates, setup),
		cmocka_unit_test_setup(test_64bit_comparator_halves, setup),
		cmocka_unit_test_setup(test_periodic_val_set, setup),
		cmocka_unit_test_setup(test_periodic_coalesces, setup),
		cmocka_unit_test_setup(test_periodic_32bit_wraps_comparator, setup),
		cmocka_unit_test_setup(test_periodic_zero_period, setup),
		cmocka_unit_test_setup(test_switch_to_periodic_uses_last_written, setup),
		cmocka_unit_test_setup(test_level_status_and_clear, setup),
		cmocka_unit_test_setup(test_level_status_without_int_enb, setup),
		cmocka_unit_test_setup(test_edge_with_int_disabled, setup),
		cmocka_unit_test_setup(test_unrouted_timer, setup),
		cmocka_unit_test_setup(test_legacy_routing, setup),
		cmocka_unit_test_setup(test_legacy_level_moves_line, setup),
		cmocka_unit_test_setup(test_shared_level_line, setup),
		cmocka_unit_test_setup(test_deadline_is_earliest, setup),
		cmocka_unit_test_setup(test_disable_stops_timers, setup),
		cmocka_unit_test_setup(test_odd_accesses, setup),
		cmocka_unit_test_setup(test_advance_before_start, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
