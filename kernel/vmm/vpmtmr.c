/* ACPI PM timer (ACPI 6.5 4.8.3.3): 3.579545 MHz, 24 or 32 bits, read-only. */
#include <hv/vpmtmr.h>

void vpmtmr_init(struct vpmtmr *t, const struct vdev_env *env, uint16_t base, bool bits32)
{
	t->env = env;
	t->base = base;
	t->mask = bits32 ? 0xffffffffu : 0x00ffffffu;
}

/* Ticks since guest time 0, exact: whole seconds and the fraction apart, so nothing overflows. */
static uint64_t ticks(uint64_t ns)
{
	return ns / NS_PER_SEC * VPMTMR_HZ + ns % NS_PER_SEC * VPMTMR_HZ / NS_PER_SEC;
}

uint32_t vpmtmr_value(const struct vpmtmr *t, uint64_t now_ns)
{
	return (uint32_t)ticks(now_ns) & t->mask;
}

bool vpmtmr_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vpmtmr *t = dev;

	if (bytes != 1 && bytes != 2 && bytes != 4)
		return false;
	if (!in)
		return true; /* writes have no effect */
	uint32_t v = vpmtmr_value(t, t->env->now_ns(t->env->ctx));
	for (unsigned n = 0; n < bytes; n++) {
		/* port below base cannot reach us; unsigned wrap makes it "beyond" anyway */
		uint32_t off = (uint32_t)(uint16_t)(port + n - t->base);
		uint32_t b = off < VPMTMR_LEN ? (v >> (8 * off)) & 0xff : 0xff;
		*value &= ~(0xffu << (8 * n));
		*value |= b << (8 * n);
	}
	return true;
}

uint64_t vpmtmr_next_carry(const struct vpmtmr *t, uint64_t now_ns)
{
	/* The top bit changes every 2^(width-1) ticks: at tick k * half for the first k past now. */
	uint64_t half = ((uint64_t)t->mask + 1) / 2;
	uint64_t k = ticks(now_ns) / half + 1;
	uint64_t tick, sec, ns;

	if (__builtin_mul_overflow(k, half, &tick))
		return VDEV_NEVER;
	/* First ns with ticks(ns) >= tick: whole seconds, then the ceiling of the fraction. */
	sec = tick / VPMTMR_HZ;
	if (__builtin_mul_overflow(sec, NS_PER_SEC, &ns) ||
	    __builtin_add_overflow(ns, (tick % VPMTMR_HZ * NS_PER_SEC + VPMTMR_HZ - 1) / VPMTMR_HZ, &ns))
		return VDEV_NEVER;
	return ns;
}
