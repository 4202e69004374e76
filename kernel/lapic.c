/* The host local APIC, in x2APIC mode when the CPU offers it, else xAPIC through its MMIO page. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/trap.h>
#include <hv/x86.h>

/* Register offsets in the xAPIC page; x2APIC MSR = 0x800 + offset / 16 (SDM vol. 3 11.12.1.2). */
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ESR 0x280
#define LAPIC_LVT_CMCI 0x2f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define X2APIC_MSR_BASE 0x800
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define SVR_APIC_ENABLE 0x100
#define LVT_MASKED 0x10000
#define ICR_DELIVERY_PENDING 0x1000
#define TIMER_DIVIDE_BY_16 0x3
#define CPUID1_ECX_X2APIC (1u << 21)
#define ICR_IDLE_WAIT_LOOPS 1000000

static volatile uint32_t *xapic_regs;
static bool x2apic;
static bool ready;

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
	return xapic_regs[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(X2APIC_MSR_BASE + (reg >> 4), v);
	else
		xapic_regs[reg / 4] = v;
}

bool lapic_ready(void) { return ready; }
bool lapic_x2apic_mode(void) { return x2apic; }

uint32_t lapic_id(void) { return x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24; }

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

void lapic_init(uint64_t mmio_phys)
{
	/* xAPIC -> x2APIC is a legal transition without a global disable, which QEMU's APIC could not
	 * undo (SDM vol. 3 11.12.5). */
	x2apic = (cpuid(1, 0).ecx & CPUID1_ECX_X2APIC) != 0;
	if (!x2apic)
		xapic_regs = mmio_map(mmio_phys, PAGE_SIZE);
	lapic_cpu_init();
	ready = true;
	pr_info("lapic: %s mode, bsp apic id %u", x2apic ? "x2apic" : "xapic", lapic_id());
}

void lapic_cpu_init(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	if (!(base & APIC_BASE_EN))
		base |= APIC_BASE_EN;
	if (x2apic)
		base |= APIC_BASE_EXTD;
	wrmsr(MSR_IA32_APIC_BASE, base);

	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, APIC_DM_NMI); /* LINT1 is the NMI pin on PC platforms */
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_SVR, SVR_APIC_ENABLE | VECTOR_SPURIOUS);
	lapic_eoi();
}

bool lapic_wait_icr_idle(void)
{
	if (x2apic)
		return true; /* x2APIC ICR writes complete synchronously */
	for (int i = 0; i < ICR_IDLE_WAIT_LOOPS; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING))
			return true;
		cpu_relax();
	}
	return false;
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	if (x2apic) {
		wrmsr(X2APIC_MSR_BASE + (LAPIC_ICR_LO >> 4), ((uint64_t)apic_id << 32) | icr_low);
		return;
	}
	lapic_wait_icr_idle();
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
}

void lapic_timer_oneshot(uint32_t count, uint8_t vector)
{
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIVIDE_BY_16);
	lapic_write(LAPIC_LVT_TIMER, vector);
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_timer_count_masked(uint32_t count)
{
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIVIDE_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0);
}

uint32_t lapic_timer_current(void) { return lapic_read(LAPIC_TIMER_CUR); }
