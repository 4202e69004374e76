/* Exit costs as the guest sees them, in TSC ticks: the median of MEDIAN_SAMPLES runs after
 * MEDIAN_WARMUP runs of an empty measurement (the RDTSC pair itself), CPUID leaf 0, an OUT and
 * an IN on the COM1 scratch register, and a calibration loop of LOOP_ITERATIONS x (dec; jnz)
 * with no exits. Prints `BENCH <name> <ticks>` lines and always passes. */
#include "cpu.h"
#include "guest.h"
#include "io.h"
#include "median.h"
#include "serial.h"

#define LOOP_ITERATIONS 1000

const char guest_name[] = "bench";

#define DEFINE_SAMPLE(fn, ...)                                                                               \
	static uint32_t fn(void)                                                                             \
	{                                                                                                    \
		uint64_t start = rdtsc_ordered();                                                            \
		__VA_ARGS__;                                                                                 \
		return (uint32_t)(rdtsc_ordered() - start);                                                  \
	}

DEFINE_SAMPLE(sample_rdtsc, (void)0)
DEFINE_SAMPLE(sample_cpuid, cpuid(0, 0))
DEFINE_SAMPLE(sample_out, outb(COM1_BASE + UART_SCR, 0))
DEFINE_SAMPLE(sample_in, inb(COM1_BASE + UART_SCR))
DEFINE_SAMPLE(sample_loop, uint32_t n = LOOP_ITERATIONS; __asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n)))

void test_main(void)
{
	printf("BENCH rdtsc %u\n", median_of(sample_rdtsc));
	printf("BENCH cpuid %u\n", median_of(sample_cpuid));
	printf("BENCH out %u\n", median_of(sample_out));
	printf("BENCH in %u\n", median_of(sample_in));
	printf("BENCH loop %u\n", median_of(sample_loop));
}
