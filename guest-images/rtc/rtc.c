/* The MC146818 RTC and CMOS RAM at ports 0x70/0x71 and the ACPI PM timer at port 0x608, as an OS
 * reads them: registers A, B and D at their power-on/firmware values (32.768 kHz divider, 1024 Hz
 * rate, 24-hour BCD, no interrupts, valid RAM and time; register C without IRQF), the time and date read when UIP is clear
 * and consistent across two reads, every field valid BCD in range, the seconds advancing once per
 * second of TSC time (itself calibrated on the PIT), binary mode, setting the clock with the SET bit
 * (frozen while set, running from the new time after, rolling over a year end), the NMI-disable bit
 * of the index port not changing the addressing, CMOS RAM bytes 0x70-0x77 (unused by QEMU, SeaBIOS
 * and hv) keeping what is written, and the PM timer counting up at 3.579545 MHz (24 or 32 bits). */
#include "cpu.h"
#include "guest.h"
#include "io.h"
#include "timing.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define NMI_DISABLE 0x80
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32
#define REG_A_UIP 0x80
#define REG_B_SET 0x80
#define REG_B_BINARY 0x04
#define REG_B_24H 0x02
#define REG_D_VRT 0x80
#define SCRATCH_FIRST 0x70
#define SCRATCH_COUNT 8
#define PM_TIMER_PORT 0x608
#define PM_TIMER_HZ 3579545u

const char guest_name[] = "rtc";

static uint8_t cmos_read(uint8_t index)
{
	outb(CMOS_INDEX, index);
	return inb(CMOS_DATA);
}

static void cmos_write(uint8_t index, uint8_t v)
{
	outb(CMOS_INDEX, index);
	outb(CMOS_DATA, v);
}

struct rtc_time {
	uint8_t sec, min, hour, dow, day, month, year, century;
};

static bool same_time(const struct rtc_time *a, const struct rtc_time *b)
{
	return a->sec == b->sec && a->min == b->min && a->hour == b->hour && a->dow == b->dow && a->day == b->day &&
	       a->month == b->month && a->year == b->year && a->century == b->century;
}

static void wait_uip_clear(void)
{
	uint64_t end = tsc_after_ms(20);

	while (cmos_read(RTC_REG_A) & REG_A_UIP)
		check(rdtsc() < end, "UIP set for more than 20 ms");
}

static void read_raw(struct rtc_time *t)
{
	t->sec = cmos_read(RTC_SECONDS);
	t->min = cmos_read(RTC_MINUTES);
	t->hour = cmos_read(RTC_HOURS);
	t->dow = cmos_read(RTC_DAY_OF_WEEK);
	t->day = cmos_read(RTC_DAY);
	t->month = cmos_read(RTC_MONTH);
	t->year = cmos_read(RTC_YEAR);
	t->century = cmos_read(RTC_CENTURY);
}

/* What an OS does: read with UIP clear until two reads agree. */
static void read_time(struct rtc_time *t)
{
	struct rtc_time again;

	for (int i = 0; i < 10; i++) {
		wait_uip_clear();
		read_raw(t);
		wait_uip_clear();
		read_raw(&again);
		if (same_time(t, &again))
			return;
	}
	fail("RTC time never read the same twice");
}

static bool bcd_ok(uint8_t v, unsigned lo, unsigned hi)
{
	unsigned bin = (v >> 4) * 10 + (v & 0xf);

	return (v & 0xf) <= 9 && (v >> 4) <= 9 && bin >= lo && bin <= hi;
}

static unsigned bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

static void check_bcd_time(const char *what, const struct rtc_time *t)
{
	check(bcd_ok(t->sec, 0, 59) && bcd_ok(t->min, 0, 59) && bcd_ok(t->hour, 0, 23) && bcd_ok(t->dow, 1, 7) &&
		      bcd_ok(t->day, 1, 31) && bcd_ok(t->month, 1, 12) && bcd_ok(t->year, 0, 99) &&
		      bcd_ok(t->century, 19, 29),
	      "%s: not a valid BCD time: %02x%02x-%02x-%02x %02x:%02x:%02x dow %x", what, t->century, t->year, t->month,
	      t->day, t->hour, t->min, t->sec, t->dow);
}

static void check_registers(void)
{
	uint8_t a = cmos_read(RTC_REG_A), b = cmos_read(RTC_REG_B), d = cmos_read(RTC_REG_D);

	printf("rtc: register A %x, B %x, D %x\n", a, b, d);
	check((a & 0x7f) == 0x26, "register A %x: expected divider 010 (32.768 kHz) and rate 0110 (1024 Hz)", a);
	check(b == REG_B_24H, "register B %x: expected 02 (24-hour, BCD, no interrupts, no daylight saving)", b);
	check(d == REG_D_VRT, "register D %x: expected 80 (valid RAM and time)", d);
	/* PF, AF and UF are set whether or not their interrupts are enabled; IRQF only when enabled. */
	uint8_t c = cmos_read(RTC_REG_C);
	check(!(c & 0x8f), "register C %x: IRQF or reserved bits set with no interrupt enabled", c);
}

/* TSC ticks from one seconds change to the next. */
static uint64_t second_edge(uint8_t *sec)
{
	uint8_t first = cmos_read(RTC_SECONDS), cur;
	uint64_t end = tsc_after_ms(3000);

	do {
		check(rdtsc() < end, "the RTC seconds stayed %x for 3 s", first);
		cur = cmos_read(RTC_SECONDS);
	} while (cur == first);
	*sec = cur;
	return rdtsc_ordered();
}

static void check_time_runs(void)
{
	struct rtc_time t;
	uint8_t s0, s1, s2;

	read_time(&t);
	check_bcd_time("power-on time", &t);
	printf("rtc: %02x%02x-%02x-%02x %02x:%02x:%02x (day of week %x)\n", t.century, t.year, t.month, t.day, t.hour,
	       t.min, t.sec, t.dow);

	uint64_t e0 = second_edge(&s0), e1 = second_edge(&s1), e2 = second_edge(&s2);
	uint64_t ms1 = (e1 - e0) / tsc_per_ms(), ms2 = (e2 - e1) / tsc_per_ms();
	printf("rtc: seconds %x -> %x -> %x, %llu and %llu ms apart\n", s0, s1, s2, ms1, ms2);
	check(bcd(s1) == (bcd(s0) + 1) % 60 && bcd(s2) == (bcd(s1) + 1) % 60, "seconds went %x -> %x -> %x", s0, s1,
	      s2);
	check(ms1 >= 500 && ms1 <= 1500 && ms2 >= 500 && ms2 <= 1500, "RTC seconds %llu and %llu ms long by the TSC", ms1,
	      ms2);
}

static void check_binary_mode(void)
{
	cmos_write(RTC_REG_B, REG_B_24H | REG_B_BINARY);
	wait_uip_clear();
	uint8_t sec = cmos_read(RTC_SECONDS), min = cmos_read(RTC_MINUTES), hour = cmos_read(RTC_HOURS);
	uint8_t month = cmos_read(RTC_MONTH), year = cmos_read(RTC_YEAR);
	cmos_write(RTC_REG_B, REG_B_24H);
	check(sec <= 59 && min <= 59 && hour <= 23 && month >= 1 && month <= 12 && year <= 99,
	      "binary mode time %u:%u:%u month %u year %u", hour, min, sec, month, year);
}

static void check_set_clock(void)
{
	/* Thursday 2026-12-31 23:59:58 (day of week 5, Sunday = 1). */
	cmos_write(RTC_REG_B, REG_B_24H | REG_B_SET);
	cmos_write(RTC_SECONDS, 0x58);
	cmos_write(RTC_MINUTES, 0x59);
	cmos_write(RTC_HOURS, 0x23);
	cmos_write(RTC_DAY_OF_WEEK, 0x05);
	cmos_write(RTC_DAY, 0x31);
	cmos_write(RTC_MONTH, 0x12);
	cmos_write(RTC_YEAR, 0x26);
	cmos_write(RTC_CENTURY, 0x20);
	delay_ms(1200);
	check(cmos_read(RTC_SECONDS) == 0x58, "seconds %x moved while SET was on", cmos_read(RTC_SECONDS));
	check(!(cmos_read(RTC_REG_A) & REG_A_UIP), "UIP set while SET is on");
	cmos_write(RTC_REG_B, REG_B_24H);

	struct rtc_time t;
	uint8_t s;
	second_edge(&s);
	second_edge(&s);
	read_time(&t);
	check_bcd_time("after the year end", &t);
	printf("rtc: set 2026-12-31 23:59:58, two seconds later %02x%02x-%02x-%02x %02x:%02x:%02x (day of week %x)\n",
	       t.century, t.year, t.month, t.day, t.hour, t.min, t.sec, t.dow);
	check(t.year == 0x27 && t.month == 0x01 && t.day == 0x01 && t.hour == 0 && t.min == 0 && t.sec <= 0x01 &&
		      t.dow == 0x06,
	      "the clock did not roll over into Friday 2027-01-01 00:00:00");
}

static void check_cmos_ram(void)
{
	uint8_t saved[SCRATCH_COUNT];

	for (int i = 0; i < SCRATCH_COUNT; i++)
		saved[i] = cmos_read(SCRATCH_FIRST + i);
	for (int i = 0; i < SCRATCH_COUNT; i++)
		cmos_write(SCRATCH_FIRST + i, (uint8_t)(0xa5 ^ (i * 0x11)));
	for (int i = 0; i < SCRATCH_COUNT; i++) {
		uint8_t v = cmos_read(SCRATCH_FIRST + i), want = (uint8_t)(0xa5 ^ (i * 0x11));
		check(v == want, "CMOS byte %x reads %x, wrote %x", SCRATCH_FIRST + i, v, want);
	}
	/* Bit 7 of the index is the NMI mask, not an address bit. */
	outb(CMOS_INDEX, NMI_DISABLE | (SCRATCH_FIRST + 1));
	check(inb(CMOS_DATA) == (uint8_t)(0xa5 ^ 0x11), "CMOS read with the NMI-disable bit set got another byte");
	outb(CMOS_INDEX, NMI_DISABLE | (SCRATCH_FIRST + 2));
	outb(CMOS_DATA, 0x3c);
	outb(CMOS_INDEX, SCRATCH_FIRST + 2); /* NMIs enabled again */
	check(inb(CMOS_DATA) == 0x3c, "CMOS write with the NMI-disable bit set went elsewhere");
	for (int i = 0; i < SCRATCH_COUNT; i++)
		cmos_write(SCRATCH_FIRST + i, saved[i]);
	printf("rtc: CMOS RAM bytes %x-%x keep what is written\n", SCRATCH_FIRST, SCRATCH_FIRST + SCRATCH_COUNT - 1);
}

static void check_pm_timer(void)
{
	uint32_t prev = inl(PM_TIMER_PORT), high = 0;
	uint64_t total = 0;

	for (int i = 0; i < 1000; i++) {
		uint32_t cur = inl(PM_TIMER_PORT);
		high |= cur >> 24;
		uint32_t delta = (cur - prev) & 0xffffff; /* the low 24 bits count the same at either width */
		check(delta < 0x800000, "PM timer went back: %x then %x", prev, cur);
		total += delta;
		prev = cur;
	}
	check(total > 0, "PM timer stuck at %x", prev);

	uint32_t c0 = inl(PM_TIMER_PORT);
	uint64_t t0 = rdtsc_ordered();
	delay_ms(50);
	uint32_t c1 = inl(PM_TIMER_PORT);
	uint64_t t1 = rdtsc_ordered();
	uint64_t ticks = (c1 - c0) & 0xffffff, us = tsc_to_us(t1 - t0), expected = us * PM_TIMER_HZ / 1000000;
	printf("rtc: PM timer %s, %llu ticks in %llu us (expected %llu)\n", high ? "32-bit" : "24-bit (or not yet past 2^24)",
	       ticks, us, expected);
	check(ticks * 2 >= expected && ticks <= expected * 2, "PM timer counted %llu in %llu us", ticks, us);
}

void test_main(void)
{
	printf("rtc: tsc %llu kHz\n", tsc_per_ms());
	check_registers();
	check_time_runs();
	check_binary_mode();
	check_cmos_ram();
	check_pm_timer();
	check_set_clock();
	check_registers();
}
