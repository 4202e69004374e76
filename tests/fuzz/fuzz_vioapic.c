/*
 * libFuzzer target for kernel/vmm/vioapic.c: random MMIO accesses (any offset, including past the
 * page, any size 0-9, likely register selections and entry values), pin level changes on valid and
 * invalid pins, and EOIs (broadcast and through the EOI register). Checked after every step:
 *   - messages only with a delivery mode the 82093AA sends (not 3 or 6), level_triggered only for
 *     fixed and lowest priority; at most one message per set_irq, per pin per EOI;
 *   - every entry keeps its read-only and reserved bits clear (delivery status, 31:17 of the low
 *     dword, 47:32), remote IRR only with the level trigger bit;
 *   - level invariant: an unmasked level entry (fixed/lowest) whose input is asserted has remote IRR
 *     set (it was delivered and awaits its EOI);
 *   - the ID keeps only bits 27:24; the version register always reads 0x00170020.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/vioapic.h>

#define CHECK(c)                      \
	do {                          \
		if (!(c))             \
			__builtin_trap(); \
	} while (0)

static unsigned msgs;

static void f_msi(void *ctx, const struct vdev_msi *m)
{
	(void)ctx;
	CHECK(m->delivery != 3 && m->delivery != 6 && m->delivery <= 7);
	CHECK(!m->level_triggered || m->delivery <= 1);
	CHECK(m->dest <= 0xff);
	msgs++;
}

static const struct vdev_env ENV = { .deliver_msi = f_msi };

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

static const uint64_t offsets[] = { 0x00, 0x10, 0x40, 0x00, 0x10, 0x01, 0x03, 0x0c, 0x0f, 0x11,
				    0x13, 0x14, 0x20, 0x3f, 0x41, 0xff8, 0xfff, 0x1000, UINT64_MAX };

#define NOFFSETS (sizeof(offsets) / sizeof(offsets[0]))

static void check_state(const struct vioapic *a)
{
	CHECK((a->id & ~0x0f000000u) == 0);
	CHECK(a->arb == a->id); /* loaded with every ID write */
	CHECK(a->asserted >> VIOAPIC_PINS == 0 && a->lines >> VIOAPIC_PINS == 0);
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
		uint64_t r = a->rte[pin];
		CHECK((r & VIOAPIC_RTE_DELIVS) == 0);
		CHECK((r & 0x0000fffffffe0000ull) == 0);
		if (r & VIOAPIC_RTE_REMOTE_IRR)
			CHECK(r & VIOAPIC_RTE_LEVEL);
		bool line = (a->lines >> pin) & 1;
		bool asserted = (r & VIOAPIC_RTE_ACTIVE_LOW) ? !line : line;
		CHECK(((a->asserted >> pin) & 1) == asserted);
		unsigned mode = (unsigned)(r >> 8) & 7;
		if ((r & VIOAPIC_RTE_LEVEL) && mode <= 1 && asserted && !(r & VIOAPIC_RTE_MASKED))
			CHECK(r & VIOAPIC_RTE_REMOTE_IRR);
	}
	/* the version through the window, on a copy */
	static struct vioapic c;
	memcpy(&c, a, sizeof(c));
	vioapic_mmio_write(&c, 0, 1, 1);
	CHECK(vioapic_mmio_read(&c, 0x10, 4) == 0x00170020);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vioapic a;
	struct in in = { data, size };

	msgs = 0;
	vioapic_init(&a, &ENV, (uint8_t)take(&in, 1));

	for (unsigned step = 0; in.n && step < 4096; step++) {
		uint8_t op = (uint8_t)take(&in, 1);
		unsigned before = msgs;
		switch (op % 6) {
		case 0: { /* MMIO write anywhere */
			uint64_t off = op & 0x80 ? take(&in, 2) : offsets[take(&in, 1) % NOFFSETS];
			uint8_t sz = (uint8_t)(take(&in, 1) % 10);
			vioapic_mmio_write(&a, off, sz, take(&in, sz ? sz : 1));
			CHECK(msgs - before <= VIOAPIC_PINS);
			break;
		}
		case 1: { /* MMIO read anywhere */
			uint64_t off = op & 0x80 ? take(&in, 2) : offsets[take(&in, 1) % NOFFSETS];
			uint8_t sz = (uint8_t)(take(&in, 1) % 10);
			uint64_t v = vioapic_mmio_read(&a, off, sz);
			if (sz == 0 || sz > 8 || off >= VIOAPIC_MMIO_SIZE)
				CHECK(v == 0);
			else if (sz < 8)
				CHECK(v >> (8 * sz) == 0);
			CHECK(msgs == before);
			break;
		}
		case 2: { /* program a redirection entry the way guests do: high dword, then low */
			unsigned pin = (op >> 3) % VIOAPIC_PINS;
			vioapic_mmio_write(&a, 0, 4, 0x11 + 2 * pin);
			vioapic_mmio_write(&a, 0x10, 4, take(&in, 4));
			vioapic_mmio_write(&a, 0, 4, 0x10 + 2 * pin);
			vioapic_mmio_write(&a, 0x10, 4, take(&in, 4));
			CHECK(msgs - before <= 1);
			break;
		}
		case 3: /* a pin's line (invalid pins too) */
			vioapic_set_irq(&a, (op >> 2) & 0x1f, op & 0x80);
			CHECK(msgs - before <= 1);
			break;
		case 4: /* EOI broadcast */
			vioapic_eoi(&a, (uint8_t)take(&in, 1));
			CHECK(msgs - before <= VIOAPIC_PINS);
			break;
		default: /* EOI register */
			vioapic_mmio_write(&a, VIOAPIC_EOI, 4, take(&in, 1));
			CHECK(msgs - before <= VIOAPIC_PINS);
			break;
		}
		check_state(&a);
	}
	return 0;
}
