/* RDMSR/WRMSR as a guest sees them: read/write round trips of architectural MSRs, EFER, the APIC
 * base, a monotonic TSC, and #GP on reserved bits. QEMU 7.2 TCG lets unknown MSRs, reserved EFER
 * bits and invalid PAT types through and does not implement IA32_TIME_STAMP_COUNTER, so those
 * checks run only with `expect-hv`. */
#include "msr.h"
#include "cpu.h"
#include "guest.h"
#include "trap.h"

#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_PKRS 0x6e1
#define MSR_UNIMPLEMENTED 0x12345678

#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_DEFAULT 0xfee00000ull
#define CPUID_1_EDX_APIC (1u << 9)

#define PAT_DEFAULT 0x0007040600070406ull
#define PAT_ALL_WRITE_COMBINING 0x0101010101010101ull
#define PAT_RESERVED_TYPE_2 0x0007040600070402ull
#define EFER_RESERVED_BIT_1 (1ull << 1)

const char guest_name[] = "msr";

static void check_round_trip(uint32_t msr, uint64_t value)
{
	uint64_t old = rdmsr(msr);

	wrmsr(msr, value);
	uint64_t got = rdmsr(msr);
	check(got == value, "msr %x: wrote %llx read %llx", msr, value, got);
	wrmsr(msr, old);
}

static void check_faults(uint32_t msr, const char *why)
{
	uint64_t v;

	check(rdmsr_safe(msr, &v) == VEC_GP, "rdmsr %x (%s) did not raise #GP", msr, why);
	check(wrmsr_safe(msr, 0) == VEC_GP, "wrmsr %x (%s) did not raise #GP", msr, why);
}

static void check_write_faults(uint32_t msr, uint64_t value, const char *why)
{
	check(wrmsr_safe(msr, value) == VEC_GP, "wrmsr %x <- %llx (%s) did not raise #GP", msr, value, why);
}

/* SYSENTER MSRs: 32-bit values, which both vendors keep in full. */
static void check_sysenter(void)
{
	check(cpuid(1, 0).edx & CPUID_1_EDX_SEP, "no SYSENTER (CPUID.1:EDX[11])");
	check_round_trip(MSR_IA32_SYSENTER_CS, 0x0008);
	check_round_trip(MSR_IA32_SYSENTER_ESP, 0x89abcdef);
	check_round_trip(MSR_IA32_SYSENTER_EIP, 0x01234567);
}

static void check_pat(void)
{
	check(cpuid(1, 0).edx & CPUID_1_EDX_PAT, "no PAT (CPUID.1:EDX[16])");
	uint64_t pat = rdmsr(MSR_IA32_PAT);
	check(pat == PAT_DEFAULT, "IA32_PAT %llx, power-on default is %llx", pat, PAT_DEFAULT);
	check_round_trip(MSR_IA32_PAT, PAT_ALL_WRITE_COMBINING);
	if (expect_hv())
		check_write_faults(MSR_IA32_PAT, PAT_RESERVED_TYPE_2, "reserved memory type");
}

static void check_efer(void)
{
	uint32_t ext = cpuid(0x80000001, 0).edx;
	uint64_t efer = rdmsr(MSR_EFER);

	check(!(efer & (EFER_LME | EFER_LMA)), "EFER %llx has LME/LMA in protected mode", efer);
	if (ext & CPUID_80000001_EDX_SYSCALL)
		check_round_trip(MSR_EFER, efer | EFER_SCE);
	if (ext & CPUID_80000001_EDX_NX)
		check_round_trip(MSR_EFER, efer | EFER_NXE);
	if (expect_hv())
		check_write_faults(MSR_EFER, efer | EFER_RESERVED_BIT_1, "reserved bit");
	printf("msr: EFER %llx\n", efer);
}

static void check_apic_base(void)
{
	if (!(cpuid(1, 0).edx & CPUID_1_EDX_APIC))
		return;
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	check(base == (APIC_BASE_DEFAULT | APIC_BASE_ENABLE | APIC_BASE_BSP), "IA32_APIC_BASE %llx", base);
}

static void check_tsc_monotonic(void)
{
	uint64_t prev = rdtsc();

	for (int i = 0; i < 1000; i++) {
		uint64_t now = rdtsc();
		check(now >= prev, "TSC went back from %llx to %llx", prev, now);
		prev = now;
	}
}

/* IA32_TIME_STAMP_COUNTER reads the TSC, and writing it moves what RDTSC returns. */
static void check_tsc_msr(void)
{
	const uint64_t target = 1ull << 40;

	uint64_t before = rdtsc(), msr = rdmsr(MSR_IA32_TIME_STAMP_COUNTER), after = rdtsc();
	check(before <= msr && msr <= after, "IA32_TIME_STAMP_COUNTER %llx outside [%llx, %llx]", msr, before,
	      after);
	wrmsr(MSR_IA32_TIME_STAMP_COUNTER, target);
	uint64_t now = rdtsc();
	check(now >= target && now - target < (1ull << 32), "TSC %llx after writing %llx", now, target);
	check_tsc_monotonic();
}

void test_main(void)
{
	check(cpuid(1, 0).edx & CPUID_1_EDX_MSR, "no RDMSR/WRMSR (CPUID.1:EDX[5])");
	check_sysenter();
	check_pat();
	check_efer();
	check_apic_base();
	check_tsc_monotonic();
	/* Bits 63:32 of IA32_PKRS are reserved, and without PKS the MSR does not exist: #GP either way. */
	check_write_faults(MSR_IA32_PKRS, 1ull << 32, "reserved bits");
	if (expect_hv()) {
		check_faults(MSR_UNIMPLEMENTED, "unimplemented");
		check_tsc_msr();
	}
}
