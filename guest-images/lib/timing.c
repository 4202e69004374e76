/* TSC calibration against the PIT. */
#include "timing.h"
#include "cpu.h"
#include "io.h"
#include "pit.h"

#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
#define CALIBRATION_PIT_TICKS 59659u /* 50 ms */

static uint64_t tsc_ms;

static void pit_start_free_running(void)
{
	outb(PIT_COMMAND, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(PIT_CHANNEL0, 0);	 /* reload 0 = 65536 */
	outb(PIT_CHANNEL0, 0);
}

static uint64_t calibrate(void)
{
	pit_start_free_running();
	uint16_t prev = pit_read_count();
	/* Wait for the first change: the count may not run before the first clock after the load. */
	for (int i = 0; i < 10000000 && pit_read_count() == prev; i++)
		;
	prev = pit_read_count();
	uint64_t start = rdtsc_ordered();
	uint32_t elapsed = 0;
	while (elapsed < CALIBRATION_PIT_TICKS) {
		uint16_t cur = pit_read_count();
		elapsed += (uint16_t)(prev - cur);
		prev = cur;
	}
	uint64_t ticks = rdtsc_ordered() - start;
	/* ticks per ms = ticks * PIT_HZ / (elapsed * 1000) */
	uint64_t r = ticks * (PIT_FREQUENCY_HZ / 1000) / elapsed;
	return r ? r : 1;
}

uint64_t tsc_per_ms(void)
{
	if (!tsc_ms)
		tsc_ms = calibrate();
	return tsc_ms;
}

uint64_t tsc_after_ms(uint32_t ms) { return rdtsc() + ms * tsc_per_ms(); }

uint64_t tsc_to_us(uint64_t ticks) { return ticks * 1000 / tsc_per_ms(); }

void delay_ms(uint32_t ms)
{
	uint64_t end = tsc_after_ms(ms);

	while (rdtsc() < end)
		cpu_pause();
}

void delay_ms_irq(uint32_t ms)
{
	uint64_t end = tsc_after_ms(ms);

	sti();
	while (rdtsc() < end)
		cpu_pause();
	cli();
}

bool wait_count(volatile uint32_t *counter, uint32_t target, uint32_t timeout_ms)
{
	uint64_t end = tsc_after_ms(timeout_ms);
	bool ok = true;

	sti();
	while (*counter < target) {
		if (rdtsc() >= end) {
			ok = false;
			break;
		}
		cpu_pause();
	}
	cli();
	return ok;
}
