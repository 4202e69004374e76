/* Local APIC access in xAPIC (MMIO) or x2APIC (MSR) mode. */
#include "lapic.h"
#include "msr.h"

bool lapic_x2apic;

uint32_t lapic_read(uint32_t reg)
{
	if (lapic_x2apic)
		return (uint32_t)rdmsr(X2APIC_MSR(reg));
	return *lapic_mmio(reg);
}

void lapic_write(uint32_t reg, uint32_t value)
{
	if (lapic_x2apic)
		wrmsr(X2APIC_MSR(reg), value);
	else
		*lapic_mmio(reg) = value;
}

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

void lapic_setup(uint8_t spurious_vector)
{
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | spurious_vector);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_esr();
}

bool lapic_vector_bit(uint32_t base, uint8_t vector)
{
	return (lapic_read(base + (vector / 32) * 0x10) >> (vector % 32)) & 1;
}

void lapic_send_ipi(uint32_t dest, uint32_t icr_low)
{
	if (lapic_x2apic) {
		wrmsr(X2APIC_MSR(LAPIC_ICR_LO), (uint64_t)dest << 32 | icr_low);
		return;
	}
	*lapic_mmio(LAPIC_ICR_HI) = dest << 24;
	*lapic_mmio(LAPIC_ICR_LO) = icr_low;
	for (int i = 0; i < 1000000 && (*lapic_mmio(LAPIC_ICR_LO) & ICR_BUSY); i++)
		__asm__ volatile("pause");
}

uint32_t lapic_esr(void)
{
	lapic_write(LAPIC_ESR, 0);
	return lapic_read(LAPIC_ESR);
}

void lapic_enter_x2apic(void)
{
	wrmsr(MSR_IA32_APIC_BASE, rdmsr(MSR_IA32_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	lapic_x2apic = true;
}
