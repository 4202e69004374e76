/*
 * MC146818A real-time clock and CMOS RAM (Motorola MC146818A data sheet, "ds" below; the PC
 * conventions are QEMU's and SeaBIOS's).
 *
 * Time base: the divider chain is counted in cycles of the 32.768 kHz crystal, computed from
 * guest ns. Every 32768 cycles a second boundary starts an update cycle: UIP rises 8 cycles
 * (244 us) before it and falls when it ends 65 cycles (1984 us) after it (ds "update cycle");
 * the time registers show the new second from the boundary on, and UF (and AF when the alarm
 * matches) is set at the end. The periodic flag PF follows a tap of the same chain (ds table 5).
 *
 * Clock: while running, the time is secs_base plus the number of boundaries since sec_idx_base,
 * so reads compute it and nothing ticks. While "frozen" (SET, or the divider not running) the
 * time registers are plain RAM in cmos[], as on the chip; leaving that state reads them back
 * into the clock. Invalid values the guest writes (ds: "undefined results") are clamped into range.
 *
 * Calendar: years 0-9999 shown through the century byte. Internally a date is shifted by 400
 * years (the Gregorian cycle: the same weekdays and leap years) so every date is after 0000-03-01,
 * and the clock wraps from 9999-12-31 to 0000-01-01.
 *
 * Events: flags are accounted over (last_ns, now] at every port access and advance(), with the
 * registers constant in between, so a long gap costs O(1). A flag whose interrupt is disabled,
 * or that arrives while IRQF is already set, changes nothing the guest sees until it reads C,
 * which accounts for it then: next_deadline() reports only an edge of the IRQ line.
 */
#include <hv/vrtc.h>
#include <hv/string.h>

#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_DOW 0x06
#define REG_DAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define A_UIP 0x80
#define A_DV_MASK 0x70
#define A_DV_32K 0x20 /* 32.768 kHz time base, divider running */
#define A_RS_MASK 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define HOUR_PM 0x80
#define ALARM_ANY 0xc0 /* "don't care": both top bits set (ds "alarm") */

#define HZ 32768ull
#define UIP_LEAD 8ull	/* cycles: 244 us */
#define UPDATE_LEN 65ull /* cycles: 1984 us */
#define RESTART_CYCLE (HZ / 2) /* "the first update cycle begins one-half second later" */

#define SECS_PER_DAY 86400ull
#define YEAR_SHIFT 400u
#define SPAN_DAYS 3652425ull /* 10000 Gregorian years */
#define NEVER UINT64_MAX

static const uint8_t days_in_month_tab[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

/* ------------------------------------------------------------------------------------------------ */
/* Calendar (H. Hinnant's days_from_civil algorithm, unsigned form)                                */

uint64_t vrtc_days_from_civil(uint32_t year, uint32_t month, uint32_t day)
{
	uint64_t y = (uint64_t)year - (month <= 2);
	uint64_t era = y / 400;
	uint64_t yoe = y - era * 400;
	uint64_t doy = (153ull * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe;
}

void vrtc_civil_from_days(uint64_t days, uint32_t *year, uint32_t *month, uint32_t *day)
{
	uint64_t era = days / 146097;
	uint64_t doe = days - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	uint32_t m = (uint32_t)(mp < 10 ? mp + 3 : mp - 9);

	*day = (uint32_t)(doy - (153 * mp + 2) / 5 + 1);
	*month = m;
	*year = (uint32_t)(yoe + era * 400 + (m <= 2));
}

static bool leap(uint32_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static uint32_t days_in_month(uint32_t y, uint32_t m)
{
	return m == 2 && leap(y) ? 29 : days_in_month_tab[m - 1];
}

/* Seconds of 0000-01-01 00:00:00 (shifted), the first instant the registers can show. */
static uint64_t secs_min(void)
{
	return vrtc_days_from_civil(YEAR_SHIFT, 1, 1) * SECS_PER_DAY;
}

/* Any count of seconds, folded into 0000-01-01 .. 9999-12-31 23:59:59. */
static uint64_t secs_norm(uint64_t s)
{
	uint64_t lo = secs_min();
	return lo + (s - lo) % (SPAN_DAYS * SECS_PER_DAY);
}

struct tm_rtc {
	uint32_t sec, min, hour, day, month, year; /* year 0-9999 */
	uint64_t days;				    /* shifted day number */
};

static void secs_to_tm(uint64_t s, struct tm_rtc *tm)
{
	uint64_t tod = s % SECS_PER_DAY;

	tm->days = s / SECS_PER_DAY;
	vrtc_civil_from_days(tm->days, &tm->year, &tm->month, &tm->day);
	tm->year -= YEAR_SHIFT;
	tm->hour = (uint32_t)(tod / 3600);
	tm->min = (uint32_t)(tod / 60 % 60);
	tm->sec = (uint32_t)(tod % 60);
}

/* ------------------------------------------------------------------------------------------------ */
/* Register formats: BCD or binary (B.DM), 12 or 24 hours (B.24/12)                                 */

static bool binary(const struct vrtc *r)
{
	return r->cmos[REG_B] & B_DM_BINARY;
}

static uint8_t enc(const struct vrtc *r, uint32_t v)
{
	return binary(r) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static uint32_t dec(const struct vrtc *r, uint8_t b)
{
	return binary(r) ? b : (uint32_t)(b >> 4) * 10 + (b & 15);
}

static uint8_t enc_hour(const struct vrtc *r, uint32_t h)
{
	if (r->cmos[REG_B] & B_24H)
		return enc(r, h);
	return (uint8_t)(enc(r, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0));
}

/* 0-23, or a value above 23 for a byte no hour encodes to. */
static uint32_t dec_hour(const struct vrtc *r, uint8_t b)
{
	if (r->cmos[REG_B] & B_24H)
		return dec(r, b);
	uint32_t h12 = dec(r, b & 0x7f);
	if (h12 < 1 || h12 > 12)
		return 99;
	return h12 % 12 + (b & HOUR_PM ? 12 : 0);
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ------------------------------------------------------------------------------------------------ */
/* Divider chain                                                                                    */

static bool running(const struct vrtc *r)
{
	return (r->cmos[REG_A] & A_DV_MASK) == A_DV_32K;
}

static bool frozen(const struct vrtc *r)
{
	return (r->cmos[REG_B] & B_SET) || !running(r);
}

static uint64_t cycle_at(const struct vrtc *r, uint64_t now)
{
	if (now <= r->origin_ns)
		return r->origin_cycle;
	uint64_t d = now - r->origin_ns;
	return r->origin_cycle + d / NS_PER_SEC * HZ + d % NS_PER_SEC * HZ / NS_PER_SEC;
}

/* The first guest ns at which the chain has reached cycle c, or NEVER. */
static uint64_t ns_of_cycle(const struct vrtc *r, uint64_t c)
{
	if (c <= r->origin_cycle)
		return r->origin_ns;
	uint64_t x = c - r->origin_cycle, ns;
	uint64_t frac = (x % HZ * NS_PER_SEC + HZ - 1) / HZ;
	if (__builtin_mul_overflow(x / HZ, NS_PER_SEC, &ns) || __builtin_add_overflow(ns, frac, &ns) ||
	    __builtin_add_overflow(ns, r->origin_ns, &ns))
		return NEVER;
	return ns;
}

/* Periodic interrupt rate in cycles for RS3-RS0 (ds table 5, 32.768 kHz): 0 none, 1-2 the same
 * taps as 8-9 (256, 128 Hz), 3-15 from 8192 Hz down to 2 Hz. */
static uint64_t pf_period(const struct vrtc *r)
{
	unsigned rs = r->cmos[REG_A] & A_RS_MASK;

	if (rs == 0)
		return 0;
	return rs < 3 ? 1ull << (rs + 6) : 1ull << (rs - 1);
}

/* Update cycles completed at or before cycle c. Update j >= 1 starts at the boundary at cycle
 * j * HZ and ends UPDATE_LEN cycles later; boundary 0 is the chain's start (power-on, or the
 * half-second before the first update after a divider reset), which no update ends. */
static uint64_t updates_done(uint64_t c)
{
	return c >= HZ + UPDATE_LEN ? (c - UPDATE_LEN) / HZ : 0;
}

/* The time shown after second boundary k. */
static uint64_t secs_at_idx(const struct vrtc *r, uint64_t k)
{
	return secs_norm(r->secs_base + (k - r->sec_idx_base));
}

static uint64_t secs_now(const struct vrtc *r, uint64_t now)
{
	return secs_at_idx(r, cycle_at(r, now) / HZ);
}

/* ------------------------------------------------------------------------------------------------ */
/* Time registers                                                                                   */

static bool is_time_reg(uint8_t i)
{
	return i == REG_SEC || i == REG_MIN || i == REG_HOUR || i == REG_DOW || i == REG_DAY || i == REG_MONTH ||
	       i == REG_YEAR || i == VRTC_CENTURY_INDEX;
}

static uint8_t time_reg(const struct vrtc *r, uint8_t i, uint64_t secs)
{
	struct tm_rtc tm;

	secs_to_tm(secs, &tm);
	switch (i) {
	case REG_SEC:
		return enc(r, tm.sec);
	case REG_MIN:
		return enc(r, tm.min);
	case REG_HOUR:
		return enc_hour(r, tm.hour);
	case REG_DOW:
		return (uint8_t)((tm.days + r->dow_offset) % 7 + 1); /* 1-7: the same in BCD and binary */
	case REG_DAY:
		return enc(r, tm.day);
	case REG_MONTH:
		return enc(r, tm.month);
	case REG_YEAR:
		return enc(r, tm.year % 100);
	default:
		return enc(r, tm.year / 100);
	}
}

/* Time registers into RAM (entering the frozen state). */
static void snapshot(struct vrtc *r, uint64_t secs)
{
	static const uint8_t regs[] = { REG_SEC, REG_MIN, REG_HOUR, REG_DOW, REG_DAY, REG_MONTH, REG_YEAR,
					VRTC_CENTURY_INDEX };
	for (unsigned i = 0; i < sizeof(regs); i++)
		r->cmos[regs[i]] = time_reg(r, regs[i], secs);
}

/* RAM into the clock (leaving the frozen state at now): the written time is shown until the next
 * second boundary, which keeps the divider's phase. */
static void parse(struct vrtc *r, uint64_t now)
{
	uint32_t year = clamp(dec(r, r->cmos[VRTC_CENTURY_INDEX]), 0, 99) * 100 + clamp(dec(r, r->cmos[REG_YEAR]), 0, 99);
	uint32_t month = clamp(dec(r, r->cmos[REG_MONTH]), 1, 12);
	uint32_t day = clamp(dec(r, r->cmos[REG_DAY]), 1, days_in_month(year, month));
	uint32_t hour = clamp(dec_hour(r, r->cmos[REG_HOUR]), 0, 23);
	uint32_t min = clamp(dec(r, r->cmos[REG_MIN]), 0, 59);
	uint32_t sec = clamp(dec(r, r->cmos[REG_SEC]), 0, 59);
	uint32_t dow = clamp(dec(r, r->cmos[REG_DOW]), 1, 7);
	uint64_t days = vrtc_days_from_civil(year + YEAR_SHIFT, month, day);

	r->secs_base = days * SECS_PER_DAY + hour * 3600ull + min * 60ull + sec;
	r->sec_idx_base = cycle_at(r, now) / HZ;
	r->dow_offset = (uint8_t)((dow - 1 + 7 - days % 7) % 7);
}

/* ------------------------------------------------------------------------------------------------ */
/* Alarm                                                                                            */

#define AL_ANY 100u
#define AL_NONE 101u

/* An alarm byte: AL_ANY, AL_NONE (a byte the time register never holds), or the value. */
static uint32_t alarm_field(const struct vrtc *r, uint8_t b, bool hour, uint32_t max)
{
	if ((b & ALARM_ANY) == ALARM_ANY)
		return AL_ANY;
	uint32_t v = hour ? dec_hour(r, b) : dec(r, b);
	if (v > max || (hour ? enc_hour(r, v) : enc(r, v)) != b)
		return AL_NONE;
	return v;
}

/* Seconds from time-of-day tod to the first second at or after it that the alarm matches within
 * the same day, or NEVER. At most two minutes are looked at per hour. */
static uint64_t alarm_in_day(uint32_t h_al, uint32_t m_al, uint32_t s_al, uint32_t tod)
{
	uint32_t th = tod / 3600, tm = tod / 60 % 60, ts = tod % 60;

	for (uint32_t h = th; h < 24; h++) {
		if (h_al != AL_ANY && h != h_al)
			continue;
		uint32_t m0 = h == th ? tm : 0;
		for (uint32_t m = m_al == AL_ANY ? m0 : m_al; m >= m0 && m < 60; m++) {
			uint32_t s0 = h == th && m == tm ? ts : 0;
			uint32_t s = s_al == AL_ANY ? s0 : s_al;
			if (s >= s0)
				return h * 3600ull + m * 60ull + s - tod;
			if (m_al != AL_ANY)
				break;
		}
	}
	return NEVER;
}

/* Seconds from time secs to the first time at or after it that matches the alarm, or NEVER. */
static uint64_t alarm_delta(const struct vrtc *r, uint64_t secs)
{
	uint32_t s_al = alarm_field(r, r->cmos[REG_SEC_ALARM], false, 59);
	uint32_t m_al = alarm_field(r, r->cmos[REG_MIN_ALARM], false, 59);
	uint32_t h_al = alarm_field(r, r->cmos[REG_HOUR_ALARM], true, 23);
	uint32_t tod = (uint32_t)(secs % SECS_PER_DAY);
	uint64_t d;

	if (s_al == AL_NONE || m_al == AL_NONE || h_al == AL_NONE)
		return NEVER;
	d = alarm_in_day(h_al, m_al, s_al, tod);
	if (d != NEVER)
		return d;
	d = alarm_in_day(h_al, m_al, s_al, 0);
	return d == NEVER ? NEVER : SECS_PER_DAY - tod + d;
}

/* ------------------------------------------------------------------------------------------------ */
/* Events and the IRQ line                                                                          */

static void update_irq(struct vrtc *r)
{
	/* IRQF = PF.PIE + AF.AIE + UF.UIE; the IRQ pin is active while IRQF is 1 (ds register C). */
	bool want = r->flags & r->cmos[REG_B] & (C_PF | C_AF | C_UF);

	if (want != r->irq) {
		r->irq = want;
		r->env->set_irq(r->env->ctx, VRTC_GSI, want);
	}
}

void vrtc_advance(struct vrtc *r, uint64_t now_ns)
{
	if (now_ns <= r->last_ns)
		return;
	r->last_ns = now_ns;
	if (!running(r))
		return;
	uint64_t c0 = r->last_cycle, c1 = cycle_at(r, now_ns);
	uint64_t p = pf_period(r);

	if (c1 <= c0)
		return;
	r->last_cycle = c1;
	/* PF is set whatever PIE says (ds register C). */
	if (p && c1 / p > c0 / p)
		r->flags |= C_PF;
	if (!(r->cmos[REG_B] & B_SET)) {
		uint64_t u0 = updates_done(c0), u1 = updates_done(c1);
		if (u1 > u0) {
			/* updates u0 + 1 .. u1 ended: UF, and AF if one of them shows the alarm time */
			r->flags |= C_UF;
			if (alarm_delta(r, secs_at_idx(r, u0 + 1)) < u1 - u0)
				r->flags |= C_AF;
		}
	}
	update_irq(r);
}

uint64_t vrtc_next_deadline(const struct vrtc *r)
{
	uint8_t b = r->cmos[REG_B];
	uint64_t best = NEVER, p, c, d, j;

	if (r->irq || !running(r))
		return NEVER;
	p = pf_period(r);
	if ((b & B_PIE) && p) {
		c = (r->last_cycle / p + 1) * p;
		d = ns_of_cycle(r, c);
		best = d < best ? d : best;
	}
	if (b & B_SET)
		return best;
	j = updates_done(r->last_cycle) + 1; /* the next update cycle to end */
	if (b & B_UIE) {
		d = ns_of_cycle(r, j * HZ + UPDATE_LEN);
		best = d < best ? d : best;
	}
	if (b & B_AIE) {
		uint64_t delta = alarm_delta(r, secs_at_idx(r, j));
		if (delta != NEVER) {
			d = ns_of_cycle(r, (j + delta) * HZ + UPDATE_LEN);
			best = d < best ? d : best;
		}
	}
	return best;
}

/* ------------------------------------------------------------------------------------------------ */
/* Registers                                                                                        */

static uint64_t now_of(struct vrtc *r)
{
	uint64_t now = r->env->now_ns(r->env->ctx);

	vrtc_advance(r, now);
	return now;
}

uint8_t vrtc_read(struct vrtc *r, uint8_t index)
{
	uint64_t now = now_of(r);
	uint8_t i = index & 0x7f, v;

	if (is_time_reg(i))
		return frozen(r) ? r->cmos[i] : time_reg(r, i, secs_now(r, now));
	switch (i) {
	case REG_A: {
		/* UIP from UIP_LEAD cycles before an update (j >= 1) starts until it ends */
		uint64_t c = cycle_at(r, now) + UIP_LEAD;
		bool uip = !frozen(r) && c >= HZ && c % HZ < UIP_LEAD + UPDATE_LEN;
		return (uint8_t)((r->cmos[REG_A] & ~A_UIP) | (uip ? A_UIP : 0));
	}
	case REG_C:
		/* Reading C clears every flag and releases the IRQ pin (ds register C). */
		v = r->flags | (r->irq ? C_IRQF : 0);
		r->flags = 0;
		update_irq(r);
		return v;
	case REG_D:
		return D_VRT;
	default:
		return r->cmos[i];
	}
}

/* Register A or B changes: the clock enters or leaves its frozen state around the change. */
static void write_control(struct vrtc *r, uint8_t i, uint8_t v, uint64_t now)
{
	bool was_frozen = frozen(r), was_running = running(r);
	uint64_t secs = was_frozen ? 0 : secs_now(r, now);

	if (i == REG_A) {
		r->cmos[REG_A] = v & ~A_UIP;
		if (!was_running && running(r)) {
			r->origin_ns = now;
			r->origin_cycle = RESTART_CYCLE;
			r->last_cycle = RESTART_CYCLE;
		}
	} else {
		/* SET "aborts any update cycle in progress" and clears UIE (ds register B). */
		r->cmos[REG_B] = v & B_SET ? v & ~B_UIE : v;
	}
	if (!was_frozen && frozen(r))
		snapshot(r, secs);
	else if (was_frozen && !frozen(r))
		parse(r, now);
	update_irq(r);
}

void vrtc_write(struct vrtc *r, uint8_t index, uint8_t value)
{
	uint64_t now = now_of(r);
	uint8_t i = index & 0x7f;

	if (is_time_reg(i)) {
		if (frozen(r)) {
			r->cmos[i] = value;
			return;
		}
		/* A running clock takes the write at once and counts on from it (as QEMU does). */
		snapshot(r, secs_now(r, now));
		r->cmos[i] = value;
		parse(r, now);
		return;
	}
	switch (i) {
	case REG_A:
	case REG_B:
		write_control(r, i, value, now);
		return;
	case REG_C:
	case REG_D:
		return; /* read-only */
	default:
		r->cmos[i] = value;
	}
}

bool vrtc_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vrtc *r = dev;

	if (bytes != 1 && bytes != 2 && bytes != 4)
		return false;
	/* Wider accesses reach consecutive ports, one byte each, as on an ISA bus. */
	for (unsigned n = 0; n < bytes; n++) {
		unsigned p = port + n;
		uint8_t b = 0xff;
		if (!in)
			b = (uint8_t)(*value >> (8 * n));
		if (p == VRTC_PORT) {
			if (!in) {
				r->index = b & 0x7f;
				r->nmi_disabled = b & 0x80;
			}
		} else if (p == VRTC_PORT + 1) {
			if (in)
				b = vrtc_read(r, r->index);
			else
				vrtc_write(r, r->index, b);
		}
		if (in) {
			*value &= ~(0xffu << (8 * n));
			*value |= (uint32_t)b << (8 * n);
		}
	}
	return true;
}

bool vrtc_nmi_disabled(const struct vrtc *r)
{
	return r->nmi_disabled;
}

/* ------------------------------------------------------------------------------------------------ */
/* Power-on                                                                                         */

static void set16(struct vrtc *r, uint8_t i, uint64_t v, uint64_t max)
{
	v = v > max ? max : v;
	r->cmos[i] = (uint8_t)v;
	r->cmos[i + 1] = (uint8_t)(v >> 8);
}

void vrtc_init(struct vrtc *r, const struct vdev_env *env, uint64_t unix_secs, uint64_t mem_below_4g,
	       uint64_t mem_above_4g)
{
	const uint64_t KiB = 1024, MiB = 1024 * KiB;
	uint64_t unix0 = vrtc_days_from_civil(1970 + YEAR_SHIFT, 1, 1) * SECS_PER_DAY;
	uint64_t v;
	unsigned sum = 0;

	memset(r, 0, sizeof(*r));
	r->env = env;
	r->cmos[REG_A] = A_DV_32K | 0x06;
	r->cmos[REG_B] = B_24H;
	r->secs_base = secs_norm(unix0 + unix_secs % (SPAN_DAYS * SECS_PER_DAY));
	r->dow_offset = 3; /* (days + 3) % 7 == 0 on Sundays: 1970-01-01 (a Thursday) gives 5 */

	/* Memory sizes, as QEMU's pc_cmos_init writes them for SeaBIOS. */
	set16(r, 0x15, mem_below_4g / KiB, 640);
	v = mem_below_4g > MiB ? (mem_below_4g - MiB) / KiB : 0;
	set16(r, 0x17, v, 0xffff);
	set16(r, 0x30, v, 0xffff);
	v = mem_below_4g > 16 * MiB ? (mem_below_4g - 16 * MiB) / (64 * KiB) : 0;
	set16(r, 0x34, v, 0xffff);
	v = mem_above_4g / (64 * KiB);
	v = v > 0xffffff ? 0xffffff : v;
	r->cmos[0x5b] = (uint8_t)v;
	r->cmos[0x5c] = (uint8_t)(v >> 8);
	r->cmos[0x5d] = (uint8_t)(v >> 16);
	/* The standard checksum over 0x10-0x2d, big-endian at 0x2e. */
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = (uint8_t)(sum >> 8);
	r->cmos[0x2f] = (uint8_t)sum;
	snapshot(r, r->secs_base); /* the RAM copy, used only if the clock stops */
}
