/* Device access and interrupt costs as the guest sees them, in TSC ticks: the median of
 * MEDIAN_SAMPLES runs after MEDIAN_WARMUP runs. EOI through the xAPIC page and through the
 * x2APIC MSR (when CPUID offers x2APIC), a self IPI from the ICR write to its handler and back,
 * a LAPIC timer interrupt from the initial-count write of a 1-count one-shot to its handler,
 * and reads of the LAPIC timer's current count, an IOAPIC register, the HPET main counter, the
 * PM timer and the RTC seconds. Prints `BENCH <name> <ticks>` lines and always passes. */
#include "cpu.h"
#include "guest.h"
#include "hpet.h"
#include "io.h"
#include "median.h"
#include "ioapic.h"
#include "lapic.h"
#include "msr.h"
#include "pic.h"
#include "timing.h"
#include "trap.h"

#define VEC_IPI 0x50
#define VEC_TIMER 0x51
#define VEC_SPURIOUS 0xff
#define PM_TIMER_PORT 0x608

const char guest_name[] = "bench-devices";

static volatile uint64_t handler_tsc;
static volatile uint32_t handled;
static bool x2;

static void bench_interrupt(struct trap_frame *frame)
{
	(void)frame;
	handler_tsc = rdtsc_ordered();
	handled++;
	if (x2)
		wrmsr(X2APIC_MSR(LAPIC_EOI), 0);
	else
		*lapic_mmio(LAPIC_EOI) = 0;
}

static void spurious_interrupt(struct trap_frame *frame) { (void)frame; }

#define DEFINE_SAMPLE(fn, ...)                                                                               \
	static uint32_t fn(void)                                                                             \
	{                                                                                                    \
		uint64_t start = rdtsc_ordered();                                                            \
		__VA_ARGS__;                                                                                 \
		return (uint32_t)(rdtsc_ordered() - start);                                                  \
	}

DEFINE_SAMPLE(sample_rdtsc, (void)0)
DEFINE_SAMPLE(sample_eoi_mmio, *lapic_mmio(LAPIC_EOI) = 0)
DEFINE_SAMPLE(sample_eoi_msr, wrmsr(X2APIC_MSR(LAPIC_EOI), 0))
DEFINE_SAMPLE(sample_tpr_read, (void)*lapic_mmio(LAPIC_TPR))
DEFINE_SAMPLE(sample_ioapic_read, (void)*ioapic_mmio(IOAPIC_IOWIN))
DEFINE_SAMPLE(sample_hpet_read, (void)hpet_read(HPET_MAIN_COUNTER))
DEFINE_SAMPLE(sample_pmtmr_read, (void)inl(PM_TIMER_PORT))
DEFINE_SAMPLE(sample_rtc_read, outb(0x70, 0); (void)inb(0x71))

/* Self IPI: ICR write (xAPIC) or SELF IPI MSR (x2APIC) to the handler's first RDTSC. */
static uint64_t ipi_return_ticks;
static uint32_t sample_self_ipi(void)
{
	uint32_t before = handled;
	uint64_t start = rdtsc_ordered();
	if (x2)
		wrmsr(X2APIC_MSR(LAPIC_SELF_IPI), VEC_IPI);
	else
		*lapic_mmio(LAPIC_ICR_LO) = ICR_SH_SELF | ICR_DM_FIXED | VEC_IPI;
	sti();
	while (handled == before)
		cpu_pause();
	cli();
	ipi_return_ticks = rdtsc_ordered() - start;
	return (uint32_t)(handler_tsc - start);
}

static uint32_t sample_self_ipi_return(void)
{
	sample_self_ipi();
	return (uint32_t)ipi_return_ticks;
}

static uint32_t sample_timer(void)
{
	uint32_t before = handled;
	uint64_t start = rdtsc_ordered();
	if (x2)
		wrmsr(X2APIC_MSR(LAPIC_TIMER_INITIAL), 1);
	else
		*lapic_mmio(LAPIC_TIMER_INITIAL) = 1;
	sti();
	for (uint64_t end = start + 100 * tsc_per_ms(); handled == before && rdtsc() < end;)
		cpu_pause();
	cli();
	return handled == before ? 0 : (uint32_t)(handler_tsc - start);
}

static void bench_lapic(const char *suffix)
{
	printf("BENCH self-ipi%s %u\n", suffix, median_of(sample_self_ipi));
	printf("BENCH self-ipi-return%s %u\n", suffix, median_of(sample_self_ipi_return));
	lapic_write(LAPIC_TIMER_DCR, DCR_DIV1);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TIMER_ONESHOT);
	printf("BENCH timer-irq%s %u\n", suffix, median_of(sample_timer));
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
}

void test_main(void)
{
	trap_set_handler(VEC_IPI, bench_interrupt);
	trap_set_handler(VEC_TIMER, bench_interrupt);
	trap_set_handler(VEC_SPURIOUS, spurious_interrupt);
	pic_init();
	lapic_setup(VEC_SPURIOUS);
	hpet_write(HPET_GEN_CONF, HPET_CONF_ENABLE);
	*(volatile uint8_t *)ioapic_mmio(IOAPIC_IOREGSEL) = IOAPIC_REG_VER;
	printf("bench-devices: tsc %llu kHz\n", tsc_per_ms());

	printf("BENCH rdtsc %u\n", median_of(sample_rdtsc));
	printf("BENCH eoi-mmio %u\n", median_of(sample_eoi_mmio));
	printf("BENCH tpr-read-mmio %u\n", median_of(sample_tpr_read));
	printf("BENCH ioapic-read %u\n", median_of(sample_ioapic_read));
	printf("BENCH hpet-read %u\n", median_of(sample_hpet_read));
	printf("BENCH pmtimer-read %u\n", median_of(sample_pmtmr_read));
	printf("BENCH rtc-read %u\n", median_of(sample_rtc_read));
	bench_lapic("");
	if (cpuid(1, 0).ecx & CPUID_1_ECX_X2APIC) {
		lapic_enter_x2apic();
		x2 = true;
		printf("BENCH eoi-x2apic %u\n", median_of(sample_eoi_msr));
		bench_lapic("-x2apic");
	} else {
		printf("bench-devices: no x2APIC, x2APIC figures skipped\n");
	}
	hpet_write(HPET_GEN_CONF, 0);
}
