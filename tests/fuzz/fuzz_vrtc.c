/*
 * libFuzzer target for kernel/vmm/vrtc.c: random port and register accesses (index, data, wide
 * accesses, any register value) and guest time advances with the core's deadline loop simulated.
 * Checked after every step:
 *   - set_irq only on GSI 8 and only with a level change; the line equals IRQF, which equals
 *     (flags & enables) != 0, and register C's low nibble is 0;
 *   - register D reads 0x80; UIP only while the clock runs and is not in set mode;
 *   - while the clock runs, every time register decodes to a valid date and time in the current
 *     BCD/binary and 12/24-hour format (the day within its month's length, leap years included);
 *   - after advance(now), next_deadline() > now.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/vrtc.h>

#define CHECK(c)                      \
	do {                          \
		if (!(c))             \
			__builtin_trap(); \
	} while (0)

static struct {
	uint64_t now;
	bool line;
} S;

static uint64_t f_now(void *ctx)
{
	(void)ctx;
	return S.now;
}

static void f_set_irq(void *ctx, uint32_t gsi, bool level)
{
	(void)ctx;
	CHECK(gsi == VRTC_GSI);
	CHECK(S.line != level);
	S.line = level;
}

static const struct vdev_env ENV = { .now_ns = f_now, .set_irq = f_set_irq };

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

static const uint8_t interesting[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
				       0x0a, 0x0b, 0x0c, 0x0d, 0x32, 0x0a, 0x0b, 0x0c };
static const uint8_t reg_a[] = { 0x26, 0x20, 0x2f, 0x23, 0x21, 0x66, 0x76, 0x06, 0x2a };

static uint32_t decode(bool bin, uint8_t b, bool *ok)
{
	if (bin)
		return b;
	if ((b & 15) > 9 || (b >> 4) > 9)
		*ok = false;
	return (uint32_t)(b >> 4) * 10 + (b & 15);
}

static void check_time(struct vrtc *r)
{
	uint8_t b = vrtc_read(r, 0x0b);
	bool bin = b & 4, h24 = b & 2, ok = true;
	uint32_t sec = decode(bin, vrtc_read(r, 0x00), &ok);
	uint32_t min = decode(bin, vrtc_read(r, 0x02), &ok);
	uint8_t hb = vrtc_read(r, 0x04);
	uint32_t dow = vrtc_read(r, 0x06);
	uint32_t day = decode(bin, vrtc_read(r, 0x07), &ok);
	uint32_t mon = decode(bin, vrtc_read(r, 0x08), &ok);
	uint32_t year = decode(bin, vrtc_read(r, 0x09), &ok) + 100 * decode(bin, vrtc_read(r, 0x32), &ok);
	static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (h24) {
		CHECK(decode(bin, hb, &ok) <= 23);
	} else {
		uint32_t h = decode(bin, hb & 0x7f, &ok);
		CHECK(h >= 1 && h <= 12);
	}
	CHECK(ok);
	CHECK(sec <= 59 && min <= 59);
	CHECK(dow >= 1 && dow <= 7);
	CHECK(mon >= 1 && mon <= 12);
	CHECK(year <= 9999);
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	CHECK(day >= 1 && day <= mdays[mon - 1] + (mon == 2 && leap));
}

static void check_state(struct vrtc *r)
{
	CHECK((r->flags & ~0x70) == 0);
	CHECK(r->irq == ((r->flags & r->cmos[0x0b] & 0x70) != 0));
	CHECK(S.line == r->irq);
	CHECK(r->index < 0x80);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vrtc r;
	struct in in = { data, size };
	unsigned steps = 0;

	memset(&S, 0, sizeof(S));
	vrtc_init(&r, &ENV, take(&in, 8), take(&in, 8), take(&in, 8));
	while (in.n && steps++ < 2048) {
		unsigned op = (unsigned)take(&in, 1) % 6;
		uint32_t v;
		uint8_t i;

		switch (op) {
		case 0: /* index, then data write of a chosen register */
			i = (uint8_t)take(&in, 1);
			if (i & 1)
				i = interesting[(i >> 1) % sizeof(interesting)];
			v = (uint32_t)take(&in, 1) | (i & 0x80);
			CHECK(vrtc_io(&r, 0x70, 1, false, &(uint32_t){ i }));
			if (i == 0x0a && (v & 1))
				v = reg_a[(v >> 1) % sizeof(reg_a)];
			CHECK(vrtc_io(&r, 0x71, 1, false, &v));
			break;
		case 1: /* read the indexed register */
		{
			bool line = S.line;
			v = 0;
			CHECK(vrtc_io(&r, 0x71, 1, true, &v));
			CHECK(v <= 0xff);
			if (r.index == 0x0c) {
				CHECK((v & 0x0f) == 0);
				CHECK(!!(v & 0x80) == line || !line); /* IRQF may rise with the catch-up */
				CHECK(!S.line);
			}
			if (r.index == 0x0d)
				CHECK(v == 0x80);
			break;
		}
		case 2: /* wide or odd port accesses */
		{
			static const uint8_t widths[] = { 1, 2, 4, 3, 0 };
			uint8_t w = widths[take(&in, 1) % sizeof(widths)];
			uint16_t port = (uint16_t)(0x6f + take(&in, 1) % 4);
			bool in_dir = take(&in, 1) & 1;
			v = (uint32_t)take(&in, 4);
			CHECK(vrtc_io(&r, port, w, in_dir, &v) == (w == 1 || w == 2 || w == 4));
			break;
		}
		case 3: /* guest time passes; the core catches up deadline by deadline */
		{
			uint64_t delta = take(&in, 8) >> (take(&in, 1) % 64);
			uint64_t target = S.now + (delta > (1ull << 62) ? (1ull << 62) : delta);
			if (target > (1ull << 63))
				target = 1ull << 63;
			for (unsigned k = 0; k < 16; k++) {
				uint64_t d = vrtc_next_deadline(&r);
				if (d > target)
					break;
				CHECK(d > S.now);
				S.now = d;
				vrtc_advance(&r, d);
				check_state(&r);
			}
			S.now = target;
			vrtc_advance(&r, S.now);
			break;
		}
		case 4: /* direct register interface, any index */
			i = (uint8_t)take(&in, 1);
			if (take(&in, 1) & 1)
				vrtc_write(&r, i, (uint8_t)take(&in, 1));
			else
				(void)vrtc_read(&r, i);
			break;
		default: /* an old time */
			vrtc_advance(&r, S.now ? S.now - take(&in, 2) % S.now : 0);
			break;
		}
		check_state(&r);
		CHECK(vrtc_next_deadline(&r) > S.now);
		uint8_t a = vrtc_read(&r, 0x0a), b = vrtc_read(&r, 0x0b);
		bool runs = (a & 0x70) == 0x20 && !(b & 0x80);
		if (!runs)
			CHECK(!(a & 0x80));
		else
			check_time(&r);
		check_state(&r);
	}
	return 0;
}
