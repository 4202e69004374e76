/*
 * libFuzzer target for kernel/vmm/vpic.c: random port accesses (both chips, the ELCRs, neighbours,
 * wide accesses, likely command words), IRQ line changes and interrupt-acknowledge cycles. Checked
 * after every step:
 *   - the INTR callback fires only on a change and agrees with vpic_intr();
 *   - at most one callback per byte of a port access (plus one for set_irq / ack);
 *   - ELCR bits outside the PIIX masks are never set; a level-sensitive input's request equals its
 *     line; the master's IR2 request equals the slave's INT;
 *   - with INTR low, an INTA (on a copy) gives the master's IR7 vector and changes no ISR;
 *     with INTR high, the master has an IR in service afterwards (unless in auto-EOI mode);
 *   - internal state in range (initialisation step, lowest-priority IR).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/vpic.h>

#define CHECK(c)                      \
	do {                          \
		if (!(c))             \
			__builtin_trap(); \
	} while (0)

static struct {
	bool intr;
	unsigned calls;
} S;

static void f_intr(void *ctx, bool level)
{
	if (ctx != &S)
		return; /* a copy */
	CHECK(level != S.intr);
	S.intr = level;
	S.calls++;
}

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

static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x20, 0x21,
				  0xa0, 0xa1, 0x1f,  0x22,  0x9f, 0xa2, 0x4cf, 0x4d2 };
/* ICW1s, OCW2s (EOIs, rotations, priority), OCW3s (IRR/ISR, poll, special mask) */
static const uint8_t commands[] = { 0x11, 0x13, 0x10, 0x19, 0x1f, 0x20, 0x60, 0x62, 0x67, 0xa0, 0xe3, 0xc5,
				    0x80, 0x00, 0x40, 0x0a, 0x0b, 0x0c, 0x0e, 0x68, 0x48, 0x6b };

static void check_state(const struct vpic *p)
{
	CHECK(vpic_intr(p) == S.intr);
	for (unsigned i = 0; i < 2; i++) {
		const struct vpic_chip *c = &p->chip[i];
		CHECK((c->elcr & ~c->elcr_mask) == 0);
		CHECK(c->init_step == 0 || (c->init_step >= 2 && c->init_step <= 4));
		CHECK(c->lowest <= 7);
		uint8_t level = (uint8_t)(c->elcr & (i == 0 ? ~0x04 : 0xff));
		CHECK((c->irr & level) == (c->lines & level));
	}
	CHECK(p->chip[0].elcr_mask == 0xf8 && p->chip[1].elcr_mask == 0xde);

	/* INTA on a copy */
	static struct vpic c;
	memcpy(&c, p, sizeof(c));
	c.ctx = NULL;
	uint8_t isr0 = c.chip[0].isr, isr1 = c.chip[1].isr;
	uint8_t v = vpic_ack(&c);
	if (!p->intr) {
		CHECK(v == ((p->chip[0].icw2 & 0xf8) | 7));
		CHECK(c.chip[0].isr == isr0 && c.chip[1].isr == isr1);
	} else {
		CHECK(c.chip[0].isr != 0 || c.chip[0].auto_eoi);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vpic p;
	struct in in = { data, size };

	memset(&S, 0, sizeof(S));
	vpic_init(&p, f_intr, &S);

	for (unsigned step = 0; in.n && step < 4096; step++) {
		uint8_t op = (uint8_t)take(&in, 1);
		unsigned calls = S.calls;
		switch (op % 6) {
		case 0: { /* port write, any value */
			uint16_t port = ports[take(&in, 1) % (sizeof(ports) / sizeof(ports[0]))];
			static const uint8_t widths[] = { 1, 1, 1, 2, 4, 3, 0 };
			uint8_t bytes = widths[(op >> 3) % sizeof(widths)];
			uint32_t v = (uint32_t)take(&in, bytes ? bytes : 1);
			bool ok = vpic_io(&p, port, bytes, false, &v);
			CHECK(ok == (bytes == 1 || bytes == 2 || bytes == 4));
			CHECK(S.calls - calls <= 4);
			break;
		}
		case 1: { /* port read */
			uint16_t port = ports[take(&in, 1) % (sizeof(ports) / sizeof(ports[0]))];
			uint8_t bytes = (uint8_t)(1u << ((op >> 3) % 3));
			uint32_t v = 0;
			CHECK(vpic_io(&p, port, bytes, true, &v));
			if (bytes < 4)
				CHECK(v >> (8 * bytes) == 0);
			CHECK(S.calls - calls <= 4);
			break;
		}
		case 2: { /* a likely command to either chip */
			uint32_t v = commands[take(&in, 1) % sizeof(commands)];
			CHECK(vpic_io(&p, op & 0x80 ? 0xa0 : 0x20, 1, false, &v));
			break;
		}
		case 3: /* an IRQ line (16+ and 2 are ignored) */
			vpic_set_irq(&p, (op >> 3) & 0x1f, op & 0x80);
			CHECK(S.calls - calls <= 1);
			break;
		case 4: { /* INTA */
			bool was = p.intr;
			uint8_t v = vpic_ack(&p);
			if (!was)
				CHECK(v == ((p.chip[0].icw2 & 0xf8) | 7));
			CHECK(S.calls - calls <= 1);
			break;
		}
		default: { /* the init sequence a guest would use, with fuzzed words */
			uint16_t base = op & 0x80 ? 0xa0 : 0x20;
			uint32_t v = 0x11;
			CHECK(vpic_io(&p, base, 1, false, &v));
			for (unsigned i = 0; i < 3; i++) {
				v = (uint32_t)take(&in, 1);
				CHECK(vpic_io(&p, (uint16_t)(base + 1), 1, false, &v));
			}
			break;
		}
		}
		check_state(&p);
	}
	return 0;
}
