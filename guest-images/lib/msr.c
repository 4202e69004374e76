/* MSR accesses that may fault. */
#include "msr.h"
#include "trap.h"

int rdmsr_safe(uint32_t msr, uint64_t *v)
{
	uint32_t lo = 0, hi = 0;

	__asm__ volatile(TRAPPABLE("rdmsr") : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*v = ((uint64_t)hi << 32) | lo;
	return trap_end(0);
}

int wrmsr_safe(uint32_t msr, uint64_t v)
{
	__asm__ volatile(TRAPPABLE("wrmsr")::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	return trap_end(0);
}
