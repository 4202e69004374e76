/*
 * libFuzzer target for kernel/vmm/vhpet.c: random MMIO accesses (any offset, any size) and guest
 * time advances, with the core's deadline loop simulated. Checked after every step:
 *   - set_irq only on GSI 2, 8 or 20-23, and only with a level change (pulses are true, false);
 *   - the lines the fake sees are the lines the model holds, and each held line is justified by a
 *     level-triggered, enabled timer whose status bit is set and whose route is that GSI;
 *   - status bits only for level-triggered timers; capability and reserved registers constant;
 *   - after advance(now), next_deadline() > now (nothing due is left behind);
 *   - the main counter never goes backwards while it runs untouched.
 * Sanitizers catch the rest (built with -fsanitize=fuzzer,address,undefined).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/vhpet.h>

#define CHECK(c)                      \
	do {                          \
		if (!(c))             \
			__builtin_trap(); \
	} while (0)

static struct {
	uint64_t now;
	bool line[32];
} S;

static uint64_t f_now(void *ctx)
{
	(void)ctx;
	return S.now;
}

static void f_set_irq(void *ctx, uint32_t gsi, bool level)
{
	(void)ctx;
	CHECK(gsi == 2 || gsi == 8 || (gsi >= 20 && gsi <= 23));
	CHECK(S.line[gsi] != level);
	S.line[gsi] = level;
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

static const uint16_t interesting[] = { 0x000, 0x004, 0x010, 0x014, 0x020, 0x024, 0x0f0, 0x0f4, 0x100, 0x104,
					0x108, 0x10c, 0x110, 0x120, 0x124, 0x128, 0x12c, 0x140, 0x144, 0x148,
					0x14c, 0x150, 0x3f8, 0x3fc };
static const uint32_t sizes[] = { 4, 8, 4, 8, 1, 2, 3, 0, 16 };

static uint64_t pick_offset(struct in *in)
{
	uint64_t r = take(in, 2);
	if (r & 1)
		return interesting[(r >> 1) % (sizeof(interesting) / sizeof(interesting[0]))];
	return (r >> 1) % 0x440; /* some beyond the block */
}

static uint64_t reg64(struct vhpet *h, uint64_t off)
{
	uint64_t v;
	CHECK(vhpet_mmio_read(h, off, 8, &v));
	return v;
}

static void check_state(struct vhpet *h)
{
	uint32_t justified = 0;
	bool enabled = h->config & 1;

	CHECK((h->config & ~3ull) == 0);
	CHECK((h->isr & ~7ull) == 0);
	for (unsigned n = 0; n < VHPET_NUM_TIMERS; n++) {
		const struct vhpet_timer *t = &h->timer[n];
		uint32_t route = (uint32_t)(t->config >> 9) & 31;
		CHECK((t->config & ~0x3f4eull) == 0);
		CHECK(route == 0 || (VHPET_INT_ROUTE_CAP & (1u << route)));
		if (h->isr & (1ull << n))
			CHECK(t->config & 2); /* level-triggered */
		if (t->config & 0x100)
			CHECK(t->comparator <= 0xffffffffull && t->period <= 0xffffffffull);
		if (!enabled)
			CHECK(t->fire_tick == VDEV_NEVER);
		uint32_t gsi = (h->config & 2) && n < 2 ? (n ? 8 : 2) : route;
		if (enabled && (t->config & 6) == 6 && (h->isr & (1ull << n)) && (gsi != route || route))
			justified |= 1u << gsi;
	}
	CHECK(h->lines == justified);
	for (unsigned g = 0; g < 32; g++)
		CHECK(S.line[g] == !!(h->lines & (1u << g)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vhpet h;
	struct in in = { data, size };
	uint64_t last_cnt = 0;
	bool cnt_valid = false;
	unsigned steps = 0;

	memset(&S, 0, sizeof(S));
	vhpet_init(&h, &ENV);
	while (in.n && steps++ < 4096) {
		unsigned op = (unsigned)take(&in, 1) % 5;
		uint64_t off, v;
		uint32_t sz;

		switch (op) {
		case 0: /* write */
			off = pick_offset(&in);
			sz = sizes[take(&in, 1) % (sizeof(sizes) / sizeof(sizes[0]))];
			v = take(&in, 8);
			bool ok = vhpet_mmio_write(&h, off, sz, v);
			CHECK(ok == ((sz == 1 || sz == 2 || sz == 4 || sz == 8) && off + sz <= VHPET_SIZE));
			if ((off & ~7ull) == 0x010 || (off & ~7ull) == 0x0f0)
				cnt_valid = false;
			break;
		case 1: /* read */
			off = pick_offset(&in);
			sz = sizes[take(&in, 1) % (sizeof(sizes) / sizeof(sizes[0]))];
			v = 0x5555;
			ok = vhpet_mmio_read(&h, off, sz, &v);
			CHECK(ok || v == 0);
			if (ok && sz < 8)
				CHECK(v >> (8 * sz) == 0);
			break;
		case 2: /* guest time passes; the core catches up deadline by deadline, then to now */
		{
			uint64_t delta = take(&in, 8) >> (take(&in, 1) % 64);
			uint64_t target = S.now + (delta > (1ull << 62) ? (1ull << 62) : delta);
			if (target > (1ull << 63))
				target = 1ull << 63;
			for (unsigned i = 0; i < 16; i++) {
				uint64_t d = vhpet_next_deadline(&h);
				if (d > target)
					break;
				/* at most one tick behind: a comparator just written to the counter's value */
				CHECK(d + VHPET_NS_PER_TICK > S.now);
				if (d > S.now)
					S.now = d;
				vhpet_advance(&h, S.now);
				check_state(&h);
			}
			S.now = target;
			vhpet_advance(&h, S.now);
			CHECK(vhpet_next_deadline(&h) > S.now);
			break;
		}
		case 3: /* an advance at an old time does nothing harmful */
			vhpet_advance(&h, S.now - (S.now ? take(&in, 1) % (S.now + 1) : 0));
			break;
		default:
			if (take(&in, 1) == 0xff)
				vhpet_reset(&h);
			break;
		}
		check_state(&h);
		CHECK(reg64(&h, 0) == ((uint64_t)VHPET_PERIOD_FS << 32 | VHPET_BLOCK_ID));
		CHECK(reg64(&h, 0x008) == 0 && reg64(&h, 0x3f8) == 0);
		/* the counter runs forward */
		uint64_t cnt = reg64(&h, 0x0f0);
		if (h.config & 1) {
			if (cnt_valid)
				CHECK(cnt - last_cnt < (1ull << 63));
			last_cnt = cnt;
			cnt_valid = true;
		} else {
			cnt_valid = false;
		}
		vhpet_advance(&h, S.now);
		CHECK(vhpet_next_deadline(&h) > S.now);
	}
	vhpet_reset(&h);
	for (unsigned g = 0; g < 32; g++)
		CHECK(!S.line[g]);
	return 0;
}
