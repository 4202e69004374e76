/* Control registers, CPUID, flags and the TSC; bit names from the Intel SDM vol. 3 and AMD APM vol. 2. */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdint.h>

#define CR0_PE (1u << 0)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)

#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_VMXE (1u << 13)

#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_VM (1u << 17)

#define DR6_BS (1u << 14)

#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_PSE (1u << 3)
#define CPUID_1_EDX_TSC (1u << 4)
#define CPUID_1_EDX_MSR (1u << 5)
#define CPUID_1_EDX_PAE (1u << 6)
#define CPUID_1_EDX_SEP (1u << 11)
#define CPUID_1_EDX_PAT (1u << 16)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_80000001_ECX_SKINIT (1u << 12)
#define CPUID_80000001_EDX_SYSCALL (1u << 11)
#define CPUID_80000001_EDX_NX (1u << 20)
#define CPUID_80000001_EDX_LM (1u << 29)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

#define DEFINE_CR_ACCESSORS(n)                                                                               \
	static inline uint32_t read_cr##n(void)                                                              \
	{                                                                                                    \
		uint32_t v;                                                                                  \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                            \
		return v;                                                                                    \
	}                                                                                                    \
	static inline void write_cr##n(uint32_t v)                                                           \
	{                                                                                                    \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");                                     \
	}

DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)

static inline uint32_t read_dr6(void)
{
	uint32_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static inline void write_dr6(uint32_t v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }

static inline uint32_t read_eflags(void)
{
	uint32_t v;
	__asm__ volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }

/* STI's one-instruction interrupt shadow makes "sti; hlt" wake on an interrupt already pending. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* RDTSC ordered after all earlier instructions (LFENCE is in every x86-64 CPU's SSE2). */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

#endif
