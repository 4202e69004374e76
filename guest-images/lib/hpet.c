/* HPET helpers. */
#include "hpet.h"

uint64_t hpet_counter(void)
{
	uint32_t hi, lo, hi2 = hpet_read(HPET_MAIN_COUNTER + 4);

	do {
		hi = hi2;
		lo = hpet_read(HPET_MAIN_COUNTER);
		hi2 = hpet_read(HPET_MAIN_COUNTER + 4);
	} while (hi != hi2);
	return (uint64_t)hi << 32 | lo;
}

uint32_t hpet_period_fs(void) { return hpet_read(HPET_GCAP_ID + 4); }

uint64_t hpet_ticks_per_ms(void)
{
	uint32_t p = hpet_period_fs();

	return p ? 1000000000000ull / p : 0;
}

uint32_t hpet_route_cap(unsigned timer) { return hpet_read(HPET_TN_CONF(timer) + 4); }

void hpet_set_comparator(unsigned timer, uint64_t value)
{
	hpet_write(HPET_TN_COMPARATOR(timer), (uint32_t)value);
	hpet_write(HPET_TN_COMPARATOR(timer) + 4, (uint32_t)(value >> 32));
}

void hpet_reset(void)
{
	uint32_t timers = HPET_CAP_TIMERS(hpet_read(HPET_GCAP_ID));

	hpet_write(HPET_GEN_CONF, 0);
	for (uint32_t t = 0; t < timers && t < 32; t++)
		hpet_write(HPET_TN_CONF(t), 0);
	hpet_write(HPET_GINTR_STA, 0xffffffffu);
}
