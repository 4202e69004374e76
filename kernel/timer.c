/* Calibrates the TSC and the LAPIC timer against the HPET, else the ACPI PM timer, else PIT channel 2. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/panic.h>
#include <hv/timer.h>
#include <hv/x86.h>

#define CALIBRATION_NS 10000000ull /* 10 ms */
#define NS_PER_S 1000000000ull

#define HPET_GCAP_ID 0x000
#define HPET_GEN_CONF 0x010
#define HPET_MAIN_COUNTER 0x0f0
#define HPET_ENABLE_CNF 0x1
#define FS_PER_NS 1000000ull

#define PM_TIMER_HZ 3579545ull

#define PIT_HZ 1193182ull
#define PIT_CH2_DATA 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_MODE0_LOHI 0xb0
#define PORT_SYSTEM_CONTROL_B 0x61
#define SCB_GATE2 0x01
#define SCB_SPEAKER 0x02
#define SCB_OUT2 0x20

static uint64_t tsc_rate;
static uint64_t lapic_rate;

static uint64_t lapic_per_tsc; /* 32.32 fixed point */

uint64_t tsc_hz(void) { return tsc_rate; }
uint64_t lapic_ticks_per_tsc(void) { return lapic_per_tsc; }
uint64_t lapic_timer_hz(void) { return lapic_rate; }

void udelay(uint64_t us)
{
	uint64_t end = rdtsc() + us * (tsc_rate / 1000000);

	while (rdtsc() < end)
		cpu_relax();
}

/* Busy-waits CALIBRATION_NS on the reference; returns the nanoseconds really waited. */
static uint64_t wait_hpet(volatile uint64_t *hpet)
{
	uint64_t period_fs = hpet[HPET_GCAP_ID / 8] >> 32;

	if (!period_fs || period_fs > 100000000ull) /* the spec caps the period at 100 ns */
		return 0;
	hpet[HPET_GEN_CONF / 8] |= HPET_ENABLE_CNF;
	uint64_t ticks = CALIBRATION_NS * FS_PER_NS / period_fs;
	uint64_t start = hpet[HPET_MAIN_COUNTER / 8];
	uint64_t now;
	while ((now = hpet[HPET_MAIN_COUNTER / 8]) - start < ticks)
		cpu_relax();
	return (now - start) * period_fs / FS_PER_NS;
}

static uint64_t wait_pm_timer(uint16_t port, bool wide)
{
	uint32_t mask = wide ? 0xffffffffu : 0xffffffu;
	uint64_t ticks = CALIBRATION_NS * PM_TIMER_HZ / NS_PER_S;
	uint32_t start = inl(port) & mask;
	uint32_t elapsed;

	while ((elapsed = ((inl(port) & mask) - start) & mask) < ticks)
		cpu_relax();
	return elapsed * NS_PER_S / PM_TIMER_HZ;
}

static uint64_t wait_pit(void)
{
	uint16_t count = (uint16_t)(CALIBRATION_NS * PIT_HZ / NS_PER_S);
	uint8_t scb = inb(PORT_SYSTEM_CONTROL_B);

	outb(PORT_SYSTEM_CONTROL_B, (uint8_t)((scb & ~SCB_SPEAKER) | SCB_GATE2));
	outb(PIT_COMMAND, PIT_CH2_MODE0_LOHI);
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	/* Mode 0: OUT2 goes high when the count reaches zero. Bounded so a missing PIT cannot hang us. */
	for (uint64_t i = 0; !(inb(PORT_SYSTEM_CONTROL_B) & SCB_OUT2); i++)
		if (i > 100000000ull)
			return 0;
	outb(PORT_SYSTEM_CONTROL_B, scb);
	return (uint64_t)count * NS_PER_S / PIT_HZ;
}

static uint64_t tsc_hz_from_cpuid(void)
{
	if (cpuid(0, 0).eax < 0x15)
		return 0;
	struct cpuid_regs r = cpuid(0x15, 0);
	/* TSC = crystal * EBX / EAX (SDM vol. 3 18.7.3); crystal 0 means "not enumerated". */
	if (!r.eax || !r.ebx || !r.ecx)
		return 0;
	return (uint64_t)r.ecx * r.ebx / r.eax;
}

void timer_calibrate(const struct timer_reference *ref)
{
	const char *source = "none";
	uint64_t flags = read_rflags();

	irq_disable();
	lapic_timer_count_masked(0xffffffffu);
	uint64_t tsc0 = rdtsc();
	uint32_t apic0 = lapic_timer_current();
	uint64_t ns = 0;

	if (ref->hpet_phys) {
		source = "hpet";
		ns = wait_hpet(mmio_map(ref->hpet_phys, 0x400));
	}
	if (!ns && ref->pm_timer_port) {
		source = "pm-timer";
		ns = wait_pm_timer(ref->pm_timer_port, ref->pm_timer_32bit);
	}
	if (!ns) {
		source = "pit";
		ns = wait_pit();
	}
	uint32_t apic1 = lapic_timer_current();
	uint64_t tsc1 = rdtsc();
	lapic_timer_stop();
	if (flags & RFLAGS_IF)
		irq_enable();
	if (!ns)
		panic("timer: no usable reference clock (no HPET, PM timer or PIT)");

	lapic_rate = (uint64_t)(apic0 - apic1) * NS_PER_S / ns;
	uint64_t cpuid_tsc = tsc_hz_from_cpuid();
	tsc_rate = cpuid_tsc ? cpuid_tsc : (tsc1 - tsc0) * NS_PER_S / ns;
	if (tsc_rate)
		lapic_per_tsc = (lapic_rate << 32) / tsc_rate;
	pr_info("timer: tsc %lu kHz (%s), lapic timer %lu kHz, calibrated against %s", tsc_rate / 1000,
		cpuid_tsc ? "cpuid 0x15" : "measured", lapic_rate / 1000, source);
}
