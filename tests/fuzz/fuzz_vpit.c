/*
 * libFuzzer target for kernel/vmm/vpit.c: random port accesses (0x40-0x43, 0x61, neighbours, wide
 * accesses, any value, likely control words), guest time moving by small and huge steps (and now and
 * then backwards, which the model must absorb), advance() calls and the core's deadline loop.
 * Checked after every step:
 *   - set_irq only on GSI 0 and only with a level change;
 *   - at most one rising edge per advance(), at most two per port access (a due edge and an OUT
 *     change made by a register write);
 *   - after advance(now), next_deadline() > now;
 *   - channel state stays in range (mode 0-5, access 1-3, latch bytes <= 2, a running count >= 1);
 *   - on a copy: a latched count in BCD mode has decimal digits, and every status byte's low six
 *     bits are the programmed control bits.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/vpit.h>

#define CHECK(c)                      \
	do {                          \
		if (!(c))             \
			__builtin_trap(); \
	} while (0)

static struct {
	uint64_t now;
	bool line;
	bool quiet; /* checks on a copy: its IRQ changes are not the real line's */
} S;

static uint64_t f_now(void *ctx)
{
	(void)ctx;
	return S.now;
}

static void f_set_irq(void *ctx, uint32_t gsi, bool level)
{
	(void)ctx;
	CHECK(gsi == 0);
	if (S.quiet)
		return;
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
	for (unsigned i = 0; i < bytes && i < 8 && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

static const uint16_t ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61, 0x43, 0x40, 0x42, 0x3f, 0x44, 0x60, 0x62 };
static const uint8_t control_words[] = { 0x34, 0x36, 0x30, 0x38, 0x32, 0x3a, 0x3c, 0x3e, 0x31, 0x35, 0x37,
					 0x14, 0x24, 0x54, 0x74, 0xb0, 0xb2, 0xb4, 0xb6, 0xb8, 0xba, 0xb1,
					 0x00, 0x40, 0x80, 0xc2, 0xc4, 0xc8, 0xce, 0xe2, 0xd2, 0xfe, 0xde };

static void check_state(const struct vpit *p)
{
	for (unsigned i = 0; i < 3; i++) {
		const struct vpit_channel *c = &p->ch[i];
		CHECK(c->mode <= 5);
		CHECK(c->access >= 1 && c->access <= 3);
		CHECK(c->latch_bytes <= 2);
		CHECK(c->state <= VPIT_RUN);
		if (c->state == VPIT_RUN)
			CHECK(c->n >= 1 && c->n <= 65536 && (!c->pending || c->pending_n >= 1));
	}
	CHECK((p->port61 & ~0x0f) == 0);
	CHECK(p->ch[0].gate && p->ch[1].gate);
}

static bool bcd_ok(uint16_t v)
{
	for (unsigned i = 0; i < 4; i++, v >>= 4)
		if ((v & 15) > 9)
			return false;
	return true;
}

static uint8_t io_read(struct vpit *p, uint16_t port)
{
	uint32_t v = 0;
	CHECK(vpit_io(p, port, 1, true, &v));
	CHECK(v <= 0xff);
	return (uint8_t)v;
}

static void io_write(struct vpit *p, uint16_t port, uint8_t value)
{
	uint32_t v = value;
	CHECK(vpit_io(p, port, 1, false, &v));
}

/* Reads every channel's status and latched count on a copy. */
static void check_reads(const struct vpit *p)
{
	static struct vpit c;

	memcpy(&c, p, sizeof(c));
	S.quiet = true;
	for (unsigned i = 0; i < 3; i++) {
		struct vpit_channel *ch = &c.ch[i];
		ch->status_latched = false;
		ch->latch_bytes = 0;
		io_write(&c, 0x43, (uint8_t)(0xc0 | 2u << i)); /* read-back: count and status */
		uint8_t st = io_read(&c, (uint16_t)(0x40 + i));
		CHECK((st & 0x3f) == ch->ctrl);
		uint16_t count = io_read(&c, (uint16_t)(0x40 + i));
		if (ch->access == 3)
			count |= (uint16_t)(io_read(&c, (uint16_t)(0x40 + i)) << 8);
		else if (ch->access == 2)
			count <<= 8;
		if (ch->bcd)
			CHECK(bcd_ok(count));
		CHECK(ch->latch_bytes == 0 && !ch->status_latched);
	}
	S.quiet = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vpit p;
	struct in in = { data, size };

	memset(&S, 0, sizeof(S));
	S.now = take(&in, 2);
	vpit_init(&p, &ENV);
	S.line = p.irq_level; /* the model starts with IRQ 0 considered high and sends nothing */

	for (unsigned step = 0; in.n && step < 4096; step++) {
		uint8_t op = (uint8_t)take(&in, 1);
		uint64_t edges = p.irq_edges;
		switch (op % 8) {
		case 0: { /* port write */
			uint16_t port = ports[take(&in, 1) % (sizeof(ports) / sizeof(ports[0]))];
			static const uint8_t widths[] = { 1, 1, 1, 2, 4, 3, 0 };
			uint8_t bytes = widths[take(&in, 1) % sizeof(widths)];
			uint32_t v = (uint32_t)take(&in, bytes ? bytes : 1);
			bool ok = vpit_io(&p, port, bytes, false, &v);
			CHECK(ok == (bytes == 1 || bytes == 2 || bytes == 4));
			CHECK(p.irq_edges - edges <= 2);
			break;
		}
		case 1: { /* port read */
			uint16_t port = ports[take(&in, 1) % (sizeof(ports) / sizeof(ports[0]))];
			uint8_t bytes = (uint8_t)(1u << (take(&in, 1) % 3));
			uint32_t v = 0;
			CHECK(vpit_io(&p, port, bytes, true, &v));
			if (bytes < 4)
				CHECK(v >> (8 * bytes) == 0);
			CHECK(p.irq_edges - edges <= 2);
			break;
		}
		case 2: /* a likely control word, then a count */
			io_write(&p, 0x43, control_words[take(&in, 1) % sizeof(control_words)]);
			if (op & 0x80) {
				unsigned ch = (op >> 4) & 3;
				uint16_t port = (uint16_t)(0x40 + (ch == 3 ? 0 : ch));
				io_write(&p, port, (uint8_t)take(&in, 1));
				io_write(&p, port, (uint8_t)take(&in, 1));
			}
			break;
		case 3: { /* time passes: a few clocks, or a lot (saturating: guest time never wraps) */
			uint64_t dt = op & 0x80 ? take(&in, 8) >> (take(&in, 1) % 64) : take(&in, 2);
			S.now = dt > UINT64_MAX - S.now ? UINT64_MAX : S.now + dt;
			break;
		}
		case 4: { /* advance */
			vpit_advance(&p, S.now);
			CHECK(p.irq_edges - edges <= 1);
			uint64_t d = vpit_next_deadline(&p);
			CHECK(d == VDEV_NEVER || d > S.now);
			break;
		}
		case 5: /* the core's deadline loop, bounded */
			for (unsigned i = 0; i < (op >> 3); i++) {
				uint64_t d = vpit_next_deadline(&p);
				if (d == VDEV_NEVER)
					break;
				if (d > S.now)
					S.now = d;
				edges = p.irq_edges;
				vpit_advance(&p, S.now);
				CHECK(p.irq_edges - edges <= 1);
				uint64_t next = vpit_next_deadline(&p);
				/* Near the end of time the next deadline saturates to "never". */
				CHECK(next == VDEV_NEVER || next > S.now);
			}
			break;
		case 6: /* gate 2 / speaker */
			io_write(&p, 0x61, (uint8_t)take(&in, 1));
			break;
		default:
			if (op & 0x80)
				S.now -= S.now > 1000000 ? take(&in, 2) : 0; /* a clock going back */
			else
				check_reads(&p);
			break;
		}
		check_state(&p);
	}
	return 0;
}
