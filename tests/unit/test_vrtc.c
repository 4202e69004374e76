/*
 * Unit tests of kernel/vmm/vrtc.c against the MC146818A data sheet and the PC's CMOS layout:
 * the calendar helpers against a naive day count, a known date in BCD and binary, 12-hour mode,
 * set mode, the divider reset, the update-in-progress window, periodic rates, update and alarm
 * interrupts through register C, date rollovers at month, leap-year, year and century ends, the
 * memory-size bytes and the port interface. A fake clock and a fake IRQ line stand in for the core.
 * Times in ns are written out by hand from the 32.768 kHz time base (cycle c at ceil(c * 10^9 / 32768)).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <hv/vrtc.h>

/* ------------------------------------------------------------------------------------------------ */
/* Fake clock and IRQ line                                                                          */

static struct fake {
	uint64_t now;
	bool line;
	unsigned edges; /* rising edges */
	unsigned calls;
} F;

static uint64_t fake_now(void *ctx)
{
	assert_ptr_equal(ctx, &F);
	return F.now;
}

static void fake_set_irq(void *ctx, uint32_t gsi, bool level)
{
	assert_ptr_equal(ctx, &F);
	assert_int_equal(gsi, 8);
	assert_int_not_equal(F.line, level); /* only edges */
	F.line = level;
	F.edges += level;
	F.calls++;
}

static const struct vdev_env ENV = { .ctx = &F, .now_ns = fake_now, .set_irq = fake_set_irq };

static struct vrtc R;

#define T1700000000 1700000000ull /* 2023-11-14 22:13:20 UTC, a Tuesday */
#define MiB (1024ull * 1024)
#define GiB (1024 * MiB)

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	vrtc_init(&R, &ENV, T1700000000, 256 * MiB, 0);
	return 0;
}

static uint8_t reg(uint8_t i)
{
	uint32_t v = i;
	assert_true(vrtc_io(&R, 0x70, 1, false, &v));
	v = 0x12345678;
	assert_true(vrtc_io(&R, 0x71, 1, true, &v));
	assert_int_equal(v & 0xffffff00, 0x12345600); /* other bytes kept */
	return (uint8_t)v;
}

static void setreg(uint8_t i, uint8_t val)
{
	uint32_t v = i;
	assert_true(vrtc_io(&R, 0x70, 1, false, &v));
	v = val;
	assert_true(vrtc_io(&R, 0x71, 1, false, &v));
}

static void at(uint64_t t)
{
	F.now = t;
	vrtc_advance(&R, t);
}

#define SEC 0x00
#define SEC_AL 0x01
#define MIN 0x02
#define MIN_AL 0x03
#define HOUR 0x04
#define HOUR_AL 0x05
#define DOW 0x06
#define DAY 0x07
#define MON 0x08
#define YEAR 0x09
#define RA 0x0a
#define RB 0x0b
#define RC 0x0c
#define RD 0x0d
#define CENT 0x32

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM 0x04
#define B_24H 0x02

/* All eight time registers at once: sec min hour dow day month year century. */
static void expect_time(uint8_t s, uint8_t m, uint8_t h, uint8_t w, uint8_t d, uint8_t mo, uint8_t y, uint8_t c)
{
	assert_int_equal(reg(SEC), s);
	assert_int_equal(reg(MIN), m);
	assert_int_equal(reg(HOUR), h);
	assert_int_equal(reg(DOW), w);
	assert_int_equal(reg(DAY), d);
	assert_int_equal(reg(MON), mo);
	assert_int_equal(reg(YEAR), y);
	assert_int_equal(reg(CENT), c);
}

/* Sets the clock through set mode (BCD, 24-hour), as a guest does. */
static void set_time(uint8_t s, uint8_t m, uint8_t h, uint8_t w, uint8_t d, uint8_t mo, uint8_t y, uint8_t c)
{
	uint8_t b = reg(RB);
	setreg(RB, b | B_SET);
	setreg(SEC, s);
	setreg(MIN, m);
	setreg(HOUR, h);
	setreg(DOW, w);
	setreg(DAY, d);
	setreg(MON, mo);
	setreg(YEAR, y);
	setreg(CENT, c);
	setreg(RB, b & ~B_SET);
}

/* ------------------------------------------------------------------------------------------------ */
/* Calendar                                                                                         */

static void test_days_from_civil_known(void **state)
{
	(void)state;
	assert_int_equal(vrtc_days_from_civil(0, 3, 1), 0);
	assert_int_equal(vrtc_days_from_civil(1, 1, 1), 306);
	assert_int_equal(vrtc_days_from_civil(1970, 1, 1), 719468);
	assert_int_equal(vrtc_days_from_civil(2000, 3, 1), 730485);
	assert_int_equal(vrtc_days_from_civil(2000, 2, 29), 730484);
	assert_int_equal(vrtc_days_from_civil(1900, 3, 1) - vrtc_days_from_civil(1900, 2, 28), 1);
	assert_int_equal(vrtc_days_from_civil(2100, 3, 1) - vrtc_days_from_civil(2100, 2, 28), 1);
	assert_int_equal(vrtc_days_from_civil(2400, 3, 1) - vrtc_days_from_civil(2400, 2, 28), 2);
	assert_int_equal(vrtc_days_from_civil(2024, 1, 1) - vrtc_days_from_civil(2023, 1, 1), 365);
	assert_int_equal(vrtc_days_from_civil(2025, 1, 1) - vrtc_days_from_civil(2024, 1, 1), 366);
	assert_int_equal(vrtc_days_from_civil(2400, 1, 1) - vrtc_days_from_civil(2000, 1, 1), 146097);
}

static bool naive_leap(uint32_t y)
{
	return y % 400 == 0 || (y % 4 == 0 && y % 100 != 0);
}

/* Every day of years 1 to 2800 in order, against a naive walk of the calendar. */
static void test_days_from_civil_walk(void **state)
{
	static const uint32_t mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	uint64_t n = vrtc_days_from_civil(1, 1, 1);

	(void)state;
	for (uint32_t y = 1; y <= 2800; y++) {
		for (uint32_t m = 1; m <= 12; m++) {
			uint32_t len = mdays[m - 1] + (m == 2 && naive_leap(y));
			for (uint32_t d = 1; d <= len; d++, n++) {
				uint32_t yy, mm, dd;
				if (vrtc_days_from_civil(y, m, d) != n)
					fail_msg("days_from_civil(%u-%u-%u) != %llu", y, m, d, (unsigned long long)n);
				vrtc_civil_from_days(n, &yy, &mm, &dd);
				if (yy != y || mm != m || dd != d)
					fail_msg("civil_from_days(%llu) = %u-%u-%u", (unsigned long long)n, yy, mm, dd);
			}
		}
	}
	/* garbage in: defined results, no crash */
	uint32_t yy, mm, dd;
	(void)vrtc_days_from_civil(0, 1, 1);
	(void)vrtc_days_from_civil(UINT32_MAX, 0, 0);
	vrtc_civil_from_days(UINT64_MAX, &yy, &mm, &dd);
	assert_true(mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31);
}

/* ------------------------------------------------------------------------------------------------ */
/* Reading the time                                                                                 */

static void test_known_date_bcd(void **state)
{
	(void)state;
	assert_int_equal(reg(RA), 0x26);
	assert_int_equal(reg(RB), 0x02);
	assert_int_equal(reg(RC), 0x00);
	assert_int_equal(reg(RD), 0x80);
	expect_time(0x20, 0x13, 0x22, 3, 0x14, 0x11, 0x23, 0x20);
	F.now = 999999999;
	assert_int_equal(reg(SEC), 0x20);
	F.now = NS_PER_SEC;
	assert_int_equal(reg(SEC), 0x21);
	F.now = 40 * NS_PER_SEC;
	expect_time(0x00, 0x14, 0x22, 3, 0x14, 0x11, 0x23, 0x20);
	/* 2 hours later: Wednesday the 15th */
	F.now = (2 * 3600 - 13 * 60 - 20) * NS_PER_SEC;
	expect_time(0x00, 0x00, 0x00, 4, 0x15, 0x11, 0x23, 0x20);
}

static void test_known_date_binary(void **state)
{
	(void)state;
	setreg(RB, B_24H | B_DM);
	expect_time(20, 13, 22, 3, 14, 11, 23, 20);
	setreg(RB, B_DM); /* 12-hour binary: 10 PM */
	assert_int_equal(reg(HOUR), 0x80 | 10);
}

static void test_12_hour_mode(void **state)
{
	(void)state;
	setreg(RB, 0); /* 12-hour BCD */
	assert_int_equal(reg(HOUR), 0x90); /* 10 PM */
	/* midnight, 1 AM, 11 AM, noon, 1 PM, 11 PM */
	static const struct {
		uint8_t h24, h12;
	} cases[] = { { 0x00, 0x12 }, { 0x01, 0x01 }, { 0x11, 0x11 }, { 0x12, 0x92 }, { 0x13, 0x81 }, { 0x23, 0x91 } };
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setreg(RB, B_24H);
		set_time(0, 0, cases[i].h24, 1, 1, 1, 0x24, 0x20);
		setreg(RB, 0);
		assert_int_equal(reg(HOUR), cases[i].h12);
	}
	/* setting in 12-hour mode: 0x92 is noon, 0x12 midnight */
	set_time(0x30, 0x59, 0x92, 1, 1, 1, 0x24, 0x20);
	setreg(RB, B_24H);
	assert_int_equal(reg(HOUR), 0x12);
	setreg(RB, 0);
	set_time(0x59, 0x59, 0x11, 1, 1, 1, 0x24, 0x20); /* 11:59:59 AM -> noon */
	F.now += NS_PER_SEC;
	assert_int_equal(reg(HOUR), 0x92);
	assert_int_equal(reg(MIN), 0x00);
	set_time(0x59, 0x59, 0x91, 1, 1, 1, 0x24, 0x20); /* 11:59:59 PM -> 12 AM next day */
	F.now += NS_PER_SEC;
	assert_int_equal(reg(HOUR), 0x12);
	assert_int_equal(reg(DAY), 0x02);
	assert_int_equal(reg(DOW), 2);
}

/* ------------------------------------------------------------------------------------------------ */
/* Set mode, writes, divider                                                                        */

static void test_set_mode(void **state)
{
	(void)state;
	F.now = 300 * 1000 * 1000; /* 0.3 s into a second */
	setreg(RB, B_24H | B_SET | B_UIE);
	assert_int_equal(reg(RB), B_24H | B_SET); /* SET clears UIE */
	F.now += 5 * NS_PER_SEC;
	expect_time(0x20, 0x13, 0x22, 3, 0x14, 0x11, 0x23, 0x20); /* frozen */
	assert_int_equal(reg(RA), 0x26);			   /* no UIP in set mode */
	setreg(SEC, 0x58);
	setreg(MIN, 0x59);
	setreg(HOUR, 0x23);
	setreg(DOW, 6);
	setreg(DAY, 0x31);
	setreg(MON, 0x12);
	setreg(YEAR, 0x99);
	setreg(CENT, 0x19);
	F.now += 3 * NS_PER_SEC;
	expect_time(0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19); /* RAM while SET */
	setreg(RB, B_24H);					   /* at 8.3 s */
	expect_time(0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19);
	/* the divider kept its phase: the next update at 9 s */
	F.now = 9 * NS_PER_SEC - 1;
	assert_int_equal(reg(SEC), 0x58);
	F.now = 9 * NS_PER_SEC;
	assert_int_equal(reg(SEC), 0x59);
	F.now = 10 * NS_PER_SEC;
	expect_time(0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20);
}

static void test_write_while_running(void **state)
{
	(void)state;
	F.now = NS_PER_SEC / 2;
	setreg(MIN, 0x45);
	expect_time(0x20, 0x45, 0x22, 3, 0x14, 0x11, 0x23, 0x20);
	F.now = NS_PER_SEC;
	assert_int_equal(reg(SEC), 0x21);
	assert_int_equal(reg(MIN), 0x45);
	/* the day of week counts on its own from what is written */
	setreg(DOW, 7);
	set_time(0x59, 0x59, 0x23, 7, 0x14, 0x11, 0x23, 0x20);
	F.now += NS_PER_SEC;
	assert_int_equal(reg(DOW), 1);
	assert_int_equal(reg(DAY), 0x15);
}

static void test_invalid_values_clamped(void **state)
{
	(void)state;
	set_time(0x7a, 0x99, 0x25, 9, 0x32, 0x13, 0xaa, 0x99);
	/* 9999-12-31 23:59:59, clamped field by field; day of week 7 */
	expect_time(0x59, 0x59, 0x23, 7, 0x31, 0x12, 0x99, 0x99);
	/* the clock wraps at the end of year 9999 */
	F.now += NS_PER_SEC;
	expect_time(0x00, 0x00, 0x00, 1, 0x01, 0x01, 0x00, 0x00);
	/* day 31 in a 30-day month */
	set_time(0, 0, 0, 1, 0x31, 0x04, 0x23, 0x20);
	assert_int_equal(reg(DAY), 0x30);
	set_time(0, 0, 0, 1, 0x00, 0x02, 0x24, 0x20);
	assert_int_equal(reg(DAY), 0x01);
	set_time(0, 0, 0, 1, 0x30, 0x02, 0x24, 0x20);
	assert_int_equal(reg(DAY), 0x29);
}

static void test_mode_change_reformats(void **state)
{
	(void)state;
	/* As QEMU: a running clock keeps its time and shows it in the new format. */
	setreg(RB, B_24H | B_DM);
	assert_int_equal(reg(MIN), 13);
	setreg(RB, B_24H);
	assert_int_equal(reg(MIN), 0x13);
	/* in set mode the RAM holds what was there: a guest switching format there sets garbage */
	setreg(RB, B_24H | B_SET);
	setreg(RB, B_24H | B_SET | B_DM);
	assert_int_equal(reg(MIN), 0x13);
}

static void test_divider_reset(void **state)
{
	(void)state;
	F.now = 200 * 1000 * 1000;
	setreg(RA, 0x66); /* divider reset: the clock stops */
	assert_int_equal(reg(RA), 0x66);
	F.now = 10 * NS_PER_SEC;
	assert_int_equal(reg(SEC), 0x20);
	setreg(SEC, 0x05); /* RAM while stopped */
	F.now = 11 * NS_PER_SEC;
	setreg(RA, 0x26); /* first update half a second later */
	assert_int_equal(reg(SEC), 0x05);
	F.now = 11 * NS_PER_SEC + NS_PER_SEC / 2 - 1;
	assert_int_equal(reg(SEC), 0x05);
	F.now = 11 * NS_PER_SEC + NS_PER_SEC / 2;
	assert_int_equal(reg(SEC), 0x06);
	F.now = 12 * NS_PER_SEC + NS_PER_SEC / 2;
	assert_int_equal(reg(SEC), 0x07);
	/* other divider values stop it too */
	setreg(RA, 0x06);
	F.now += 5 * NS_PER_SEC;
	assert_int_equal(reg(SEC), 0x07);
}

/* ------------------------------------------------------------------------------------------------ */
/* Update cycle and interrupts                                                                      */

static void test_uip_window(void **state)
{
	(void)state;
	/* UIP from 8 cycles before the boundary (cycle 32760: 999,755,860 ns) to 65 after it */
	F.now = 999755859;
	assert_int_equal(reg(RA), 0x26);
	assert_int_equal(reg(SEC), 0x20);
	F.now = 999755860;
	assert_int_equal(reg(RA), 0xa6);
	assert_int_equal(reg(SEC), 0x20);
	F.now = NS_PER_SEC;
	assert_int_equal(reg(RA), 0xa6);
	assert_int_equal(reg(SEC), 0x21);
	F.now = NS_PER_SEC + 1983642;
	assert_int_equal(reg(RA), 0xa6);
	F.now = NS_PER_SEC + 1983643;
	assert_int_equal(reg(RA), 0x26);
	/* UIP is read-only */
	setreg(RA, 0xa6);
	F.now = NS_PER_SEC + NS_PER_SEC / 2;
	assert_int_equal(reg(RA), 0x26);
}

static void test_update_interrupt(void **state)
{
	(void)state;
	setreg(RA, 0x20); /* no periodic flag */
	F.now = NS_PER_SEC / 2;
	assert_int_equal(vrtc_next_deadline(&R), VDEV_NEVER);
	setreg(RB, B_24H | B_UIE);
	/* the update cycle of the boundary at 1 s ends at cycle 32768 + 65 */
	assert_int_equal(vrtc_next_deadline(&R), 1001983643);
	at(1001983642);
	assert_false(F.line);
	at(1001983643);
	assert_true(F.line);
	assert_int_equal(vrtc_next_deadline(&R), VDEV_NEVER); /* IRQF already set */
	assert_int_equal(reg(RC), 0x90);		       /* IRQF | UF */
	assert_false(F.line);
	assert_int_equal(reg(RC), 0x00);
	assert_int_equal(vrtc_next_deadline(&R), 2001983643);
	/* the UF of a long gap is one flag, one edge */
	at(100 * NS_PER_SEC);
	assert_int_equal(F.edges, 2);
	assert_int_equal(reg(RC), 0x90);
	assert_int_equal(reg(SEC), 0x00);
	assert_int_equal(reg(MIN), 0x15);
}

static void test_flags_without_enables(void **state)
{
	(void)state;
	/* PF and UF set whatever the enables say; no IRQ */
	at(2 * NS_PER_SEC);
	assert_int_equal(F.calls, 0);
	assert_int_equal(reg(RC), 0x50);
	assert_int_equal(reg(RC), 0x00);
	/* enabling PIE with PF pending raises IRQF at once */
	F.now += NS_PER_SEC / 100;
	setreg(RB, B_24H | B_PIE);
	assert_true(F.line);
	/* ... and disabling it releases the line (IRQF is combinational) */
	setreg(RB, B_24H);
	assert_false(F.line);
	assert_int_equal(reg(RC), 0x50); /* PF, and UF of the update that ended at 2.002 s */
}

static uint64_t pf_first_deadline(uint8_t rs)
{
	setup(NULL);
	setreg(RA, 0x20 | rs);
	setreg(RB, B_24H | B_PIE);
	return vrtc_next_deadline(&R);
}

static void test_periodic_rates(void **state)
{
	(void)state;
	assert_int_equal(pf_first_deadline(0), VDEV_NEVER);
	assert_int_equal(pf_first_deadline(1), 3906250);   /* 256 Hz */
	assert_int_equal(pf_first_deadline(2), 7812500);   /* 128 Hz */
	assert_int_equal(pf_first_deadline(3), 122071);    /* 8192 Hz: 4 cycles */
	assert_int_equal(pf_first_deadline(4), 244141);    /* 4096 Hz */
	assert_int_equal(pf_first_deadline(6), 976563);    /* 1024 Hz */
	assert_int_equal(pf_first_deadline(8), 3906250);   /* 256 Hz */
	assert_int_equal(pf_first_deadline(13), 125000000); /* 8 Hz */
	assert_int_equal(pf_first_deadline(15), 500000000); /* 2 Hz */
}

static void test_periodic_interrupt(void **state)
{
	(void)state;
	setreg(RB, B_24H | B_PIE); /* 1024 Hz */
	assert_int_equal(vrtc_next_deadline(&R), 976563);
	at(976563);
	assert_true(F.line);
	assert_int_equal(reg(RC), 0xc0);
	assert_false(F.line);
	assert_int_equal(vrtc_next_deadline(&R), 1953125);
	at(1953125);
	assert_true(F.line);
	/* a guest that never reads C gets no more edges */
	at(NS_PER_SEC);
	assert_int_equal(F.edges, 2);
	assert_int_equal(vrtc_next_deadline(&R), VDEV_NEVER);
	assert_int_equal(reg(RC), 0xc0); /* the first update ends at 1.002 s */
	/* rate change takes effect on the chain's phase: 2 Hz -> next at 1.5 s */
	setreg(RA, 0x2f);
	assert_int_equal(vrtc_next_deadline(&R), 1500000000);
	/* the periodic flag keeps running in set mode */
	setreg(RB, B_24H | B_PIE | B_SET);
	assert_int_equal(vrtc_next_deadline(&R), 1500000000);
	/* and stops with the divider */
	setreg(RA, 0x6f);
	assert_int_equal(vrtc_next_deadline(&R), VDEV_NEVER);
	at(10 * NS_PER_SEC);
	assert_int_equal(reg(RC), 0x00);
}

static void test_alarm(void **state)
{
	(void)state;
	/* 22:13:20 now; alarm at 22:13:25 */
	setreg(RA, 0x20);
	setreg(SEC_AL, 0x25);
	setreg(MIN_AL, 0x13);
	setreg(HOUR_AL, 0x22);
	setreg(RB, B_24H | B_AIE);
	assert_int_equal(vrtc_next_deadline(&R), 5 * NS_PER_SEC + 1983643);
	at(5 * NS_PER_SEC + 1983642);
	assert_false(F.line);
	at(5 * NS_PER_SEC + 1983643);
	assert_true(F.line);
	assert_int_equal(reg(RC), 0xb0); /* IRQF | AF | UF */
	/* next: the same time tomorrow */
	assert_int_equal(vrtc_next_deadline(&R), (5 + 86400) * NS_PER_SEC + 1983643);
	/* don't-care seconds: every second of 22:14 */
	setreg(SEC_AL, 0xc0);
	setreg(MIN_AL, 0x14);
	assert_int_equal(vrtc_next_deadline(&R), 40 * NS_PER_SEC + 1983643);
	/* all don't-care: every second */
	setreg(MIN_AL, 0xff);
	setreg(HOUR_AL, 0xc5);
	assert_int_equal(vrtc_next_deadline(&R), 6 * NS_PER_SEC + 1983643);
	/* an alarm byte no time has: never */
	setreg(SEC_AL, 0x60);
	assert_int_equal(vrtc_next_deadline(&R), VDEV_NEVER);
	setreg(SEC_AL, 0x1a); /* not BCD */
	assert_int_equal(vrtc_next_deadline(&R), VDEV_NEVER);
	/* hour alarm in 12-hour mode: 10 PM is 0x90 */
	setreg(SEC_AL, 0x00);
	setreg(MIN_AL, 0x00);
	setreg(HOUR_AL, 0x90);
	setreg(RB, B_AIE);
	/* 22:13:20 -> 22:00:00 tomorrow */
	uint64_t d = (86400 - 13 * 60 - 20);
	assert_int_equal(vrtc_next_deadline(&R), d * NS_PER_SEC + 1983643);
	setreg(HOUR_AL, 0x22); /* 24-hour value, no PM bit: 10 AM? no - 0x22 is not a 12-hour byte */
	assert_int_equal(vrtc_next_deadline(&R), VDEV_NEVER);
}

static void test_alarm_in_long_gap(void **state)
{
	(void)state;
	setreg(SEC_AL, 0x00);
	setreg(MIN_AL, 0x00);
	setreg(HOUR_AL, 0x03); /* 03:00:00 */
	at(3600 * NS_PER_SEC); /* 23:13:20: not yet */
	assert_int_equal(reg(RC), 0x50);
	at(6 * 3600 * NS_PER_SEC); /* 04:13:20: passed 03:00:00 */
	assert_int_equal(reg(RC), 0x70);
	at(7 * 3600 * NS_PER_SEC);
	assert_int_equal(reg(RC), 0x50);
	at(400ull * 86400 * NS_PER_SEC); /* a year and more */
	assert_int_equal(reg(RC), 0x70);
	/* 2023-11-14 + 400 days = 2024-12-18, a Wednesday */
	expect_time(0x20, 0x13, 0x22, 4, 0x18, 0x12, 0x24, 0x20);
}

/* ------------------------------------------------------------------------------------------------ */
/* Rollovers                                                                                        */

static void rollover(uint8_t d0, uint8_t m0, uint8_t y0, uint8_t c0, uint8_t w0, uint8_t d1, uint8_t m1, uint8_t y1,
		     uint8_t c1, uint8_t w1)
{
	set_time(0x59, 0x59, 0x23, w0, d0, m0, y0, c0);
	F.now += NS_PER_SEC;
	expect_time(0x00, 0x00, 0x00, w1, d1, m1, y1, c1);
}

static void test_rollovers(void **state)
{
	(void)state;
	F.now = 0;
	rollover(0x30, 0x04, 0x23, 0x20, 1, 0x01, 0x05, 0x23, 0x20, 2); /* 30-day month */
	rollover(0x31, 0x05, 0x23, 0x20, 1, 0x01, 0x06, 0x23, 0x20, 2); /* 31-day month */
	rollover(0x30, 0x05, 0x23, 0x20, 1, 0x31, 0x05, 0x23, 0x20, 2);
	rollover(0x28, 0x02, 0x23, 0x20, 3, 0x01, 0x03, 0x23, 0x20, 4); /* not leap */
	rollover(0x28, 0x02, 0x24, 0x20, 4, 0x29, 0x02, 0x24, 0x20, 5); /* leap */
	rollover(0x29, 0x02, 0x24, 0x20, 5, 0x01, 0x03, 0x24, 0x20, 6);
	rollover(0x28, 0x02, 0x00, 0x21, 1, 0x01, 0x03, 0x00, 0x21, 2); /* 2100: not leap */
	rollover(0x28, 0x02, 0x00, 0x20, 1, 0x29, 0x02, 0x00, 0x20, 2); /* 2000: leap */
	rollover(0x28, 0x02, 0x00, 0x19, 1, 0x01, 0x03, 0x00, 0x19, 2); /* 1900: not leap */
	rollover(0x31, 0x12, 0x23, 0x20, 1, 0x01, 0x01, 0x24, 0x20, 2); /* year */
	rollover(0x31, 0x12, 0x99, 0x20, 5, 0x01, 0x01, 0x00, 0x21, 6); /* century */
	rollover(0x31, 0x12, 0x99, 0x19, 6, 0x01, 0x01, 0x00, 0x20, 7);
	rollover(0x31, 0x12, 0x99, 0x99, 7, 0x01, 0x01, 0x00, 0x00, 1); /* 9999 -> 0000 */
	/* minute and hour carries in binary mode */
	setreg(RB, B_24H | B_DM);
	set_time(59, 59, 9, 1, 10, 10, 30, 20);
	F.now += NS_PER_SEC;
	expect_time(0, 0, 10, 1, 10, 10, 30, 20);
	setreg(RB, B_24H);
}

static void test_weekday_of_known_dates(void **state)
{
	(void)state;
	/* at power-on the day of week follows the date: 2000-01-01 was a Saturday (7) */
	vrtc_init(&R, &ENV, 946684800, 0, 0);
	expect_time(0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20);
	vrtc_init(&R, &ENV, 0, 0, 0); /* 1970-01-01, a Thursday */
	expect_time(0x00, 0x00, 0x00, 5, 0x01, 0x01, 0x70, 0x19);
	vrtc_init(&R, &ENV, 1709164798, 0, 0); /* 2024-02-28 23:59:58, a Wednesday */
	expect_time(0x58, 0x59, 0x23, 4, 0x28, 0x02, 0x24, 0x20);
	F.now = 2 * NS_PER_SEC;
	expect_time(0x00, 0x00, 0x00, 5, 0x29, 0x02, 0x24, 0x20);
	/* a huge epoch folds into 0000-9999 without trouble */
	vrtc_init(&R, &ENV, UINT64_MAX, 0, 0);
	assert_true(reg(MON) >= 1 && reg(MON) <= 0x12);
}

/* ------------------------------------------------------------------------------------------------ */
/* CMOS RAM and ports                                                                               */

static void test_cmos_memory_fields(void **state)
{
	(void)state;
	/* 256 MiB: base 640 KiB, extended capped at 65535 KiB, 3840 x 64 KiB above 16 MiB */
	assert_int_equal(reg(0x15), 0x80);
	assert_int_equal(reg(0x16), 0x02);
	assert_int_equal(reg(0x17), 0xff);
	assert_int_equal(reg(0x18), 0xff);
	assert_int_equal(reg(0x30), 0xff);
	assert_int_equal(reg(0x31), 0xff);
	assert_int_equal(reg(0x34), 0x00);
	assert_int_equal(reg(0x35), 0x0f);
	assert_int_equal(reg(0x5b), 0);
	assert_int_equal(reg(0x5c), 0);
	assert_int_equal(reg(0x5d), 0);
	/* checksum of 0x10-0x2d: 0x80 + 0x02 + 0xff + 0xff = 0x280 */
	assert_int_equal(reg(0x2e), 0x02);
	assert_int_equal(reg(0x2f), 0x80);

	/* 8 MiB: 7168 KiB extended, nothing above 16 MiB */
	vrtc_init(&R, &ENV, 0, 8 * MiB, 0);
	assert_int_equal(reg(0x17), 0x00);
	assert_int_equal(reg(0x18), 0x1c);
	assert_int_equal(reg(0x30), 0x00);
	assert_int_equal(reg(0x31), 0x1c);
	assert_int_equal(reg(0x34), 0);
	assert_int_equal(reg(0x35), 0);

	/* 3 GiB below, 5 GiB above: (3 GiB - 16 MiB) / 64 KiB = 48896 = 0xbf00; 81920 = 0x014000 */
	vrtc_init(&R, &ENV, 0, 3 * GiB, 5 * GiB);
	assert_int_equal(reg(0x34), 0x00);
	assert_int_equal(reg(0x35), 0xbf);
	assert_int_equal(reg(0x5b), 0x00);
	assert_int_equal(reg(0x5c), 0x40);
	assert_int_equal(reg(0x5d), 0x01);

	/* 512 KiB: base memory is what there is */
	vrtc_init(&R, &ENV, 0, 512 * 1024, 0);
	assert_int_equal(reg(0x15), 0x00);
	assert_int_equal(reg(0x16), 0x02);
	assert_int_equal(reg(0x17), 0);

	/* absurd sizes saturate */
	vrtc_init(&R, &ENV, 0, UINT64_MAX, UINT64_MAX);
	assert_int_equal(reg(0x34), 0xff);
	assert_int_equal(reg(0x35), 0xff);
	assert_int_equal(reg(0x5d), 0xff);
}

static void test_cmos_ram(void **state)
{
	(void)state;
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i == CENT)
			continue;
		setreg((uint8_t)i, (uint8_t)(i ^ 0xa5));
	}
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i == CENT)
			continue;
		assert_int_equal(reg((uint8_t)i), i ^ 0xa5);
	}
	/* C and D are read-only */
	setreg(RC, 0xff);
	setreg(RD, 0x00);
	assert_int_equal(reg(RC), 0x00);
	assert_int_equal(reg(RD), 0x80);
	/* alarm bytes are RAM */
	setreg(SEC_AL, 0x12);
	assert_int_equal(reg(SEC_AL), 0x12);
}

static void test_ports(void **state)
{
	(void)state;
	uint32_t v;

	/* index with the NMI-disable bit */
	v = 0x80 | 0x40;
	assert_true(vrtc_io(&R, 0x70, 1, false, &v));
	assert_true(vrtc_nmi_disabled(&R));
	v = 0x5a;
	assert_true(vrtc_io(&R, 0x71, 1, false, &v));
	v = 0x40;
	assert_true(vrtc_io(&R, 0x70, 1, false, &v));
	assert_false(vrtc_nmi_disabled(&R));
	v = 0;
	assert_true(vrtc_io(&R, 0x71, 1, true, &v));
	assert_int_equal(v, 0x5a);
	/* the index port reads 0xff */
	v = 0;
	assert_true(vrtc_io(&R, 0x70, 1, true, &v));
	assert_int_equal(v, 0xff);
	/* a 16-bit out writes index then data; a 16-bit in reads 0x71 and 0x72 (nothing: 0xff) */
	v = 0x7741;
	assert_true(vrtc_io(&R, 0x70, 2, false, &v));
	assert_int_equal(reg(0x41), 0x77);
	v = 0x41;
	assert_true(vrtc_io(&R, 0x70, 1, false, &v));
	v = 0;
	assert_true(vrtc_io(&R, 0x71, 2, true, &v));
	assert_int_equal(v, 0xff77);
	v = 0;
	assert_true(vrtc_io(&R, 0x70, 4, true, &v));
	assert_int_equal(v, 0xffff77ff);
	assert_false(vrtc_io(&R, 0x70, 3, true, &v));
	assert_false(vrtc_io(&R, 0x70, 0, true, &v));
	/* the direct interface */
	vrtc_write(&R, 0xc1, 0x99); /* index bit 7 ignored */
	assert_int_equal(vrtc_read(&R, 0x41), 0x99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_days_from_civil_known, setup),
		cmocka_unit_test_setup(test_days_from_civil_walk, setup),
		cmocka_unit_test_setup(test_known_date_bcd, setup),
		cmocka_unit_test_setup(test_known_date_binary, setup),
		cmocka_unit_test_setup(test_12_hour_mode, setup),
		cmocka_unit_test_setup(test_set_mode, setup),
		cmocka_unit_test_setup(test_write_while_running, setup),
		cmocka_unit_test_setup(test_invalid_values_clamped, setup),
		cmocka_unit_test_setup(test_mode_change_reformats, setup),
		cmocka_unit_test_setup(test_divider_reset, setup),
		cmocka_unit_test_setup(test_uip_window, setup),
		cmocka_unit_test_setup(test_update_interrupt, setup),
		cmocka_unit_test_setup(test_flags_without_enables, setup),
		cmocka_unit_test_setup(test_periodic_rates, setup),
		cmocka_unit_test_setup(test_periodic_interrupt, setup),
		cmocka_unit_test_setup(test_alarm, setup),
		cmocka_unit_test_setup(test_alarm_in_long_gap, setup),
		cmocka_unit_test_setup(test_rollovers, setup),
		cmocka_unit_test_setup(test_weekday_of_known_dates, setup),
		cmocka_unit_test_setup(test_cmos_memory_fields, setup),
		cmocka_unit_test_setup(test_cmos_ram, setup),
		cmocka_unit_test_setup(test_ports, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
