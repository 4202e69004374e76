/* The local APIC as a guest OS drives it (Intel SDM vol. 3 chapter 11): xAPIC registers on the
 * MMIO page at IA32_APIC_BASE, or the same registers as MSRs 0x800 + offset/16 in x2APIC mode.
 * lapic_read/lapic_write go through whichever interface lapic_use_x2apic() selected. */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_DEFAULT_BASE 0xfee00000u

/* Register offsets (SDM table 11-1). */
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_APR 0x090
#define LAPIC_PPR 0x0a0
#define LAPIC_EOI 0x0b0
#define LAPIC_LDR 0x0d0
#define LAPIC_DFR 0x0e0
#define LAPIC_SVR 0x0f0
#define LAPIC_ISR0 0x100
#define LAPIC_TMR0 0x180
#define LAPIC_IRR0 0x200
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
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DCR 0x3e0
#define LAPIC_SELF_IPI 0x3f0 /* x2APIC only */

#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_SVR_EOI_SUPPRESS (1u << 12)
#define LAPIC_VERSION_EOI_SUPPRESS (1u << 24)

#define LVT_MASKED (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_PENDING (1u << 12)
#define LVT_TIMER_ONESHOT (0u << 17)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)
#define LVT_DM_FIXED (0u << 8)
#define LVT_DM_NMI (4u << 8)
#define LVT_DM_EXTINT (7u << 8)

/* Divide configuration register values (SDM figure 11-10). */
#define DCR_DIV1 0xb
#define DCR_DIV2 0x0
#define DCR_DIV4 0x1
#define DCR_DIV8 0x2
#define DCR_DIV16 0x3
#define DCR_DIV32 0x8
#define DCR_DIV64 0x9
#define DCR_DIV128 0xa

/* ICR fields (SDM figure 11-12). */
#define ICR_DM_FIXED (0u << 8)
#define ICR_DM_LOWEST (1u << 8)
#define ICR_DM_SMI (2u << 8)
#define ICR_DM_NMI (4u << 8)
#define ICR_DM_INIT (5u << 8)
#define ICR_DM_SIPI (6u << 8)
#define ICR_DEST_LOGICAL (1u << 11)
#define ICR_BUSY (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_SH_SELF (1u << 18)
#define ICR_SH_ALL (2u << 18)
#define ICR_SH_OTHERS (3u << 18)

/* MSRs. */
#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define X2APIC_MSR(reg) (0x800u + ((reg) >> 4))

#define CPUID_1_EDX_APIC (1u << 9)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

extern bool lapic_x2apic; /* lapic_read/lapic_write use the MSRs */

static inline volatile uint32_t *lapic_mmio(uint32_t reg)
{
	return (volatile uint32_t *)(LAPIC_DEFAULT_BASE + reg);
}

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);
void lapic_eoi(void);

/* Software-enables the APIC with the given spurious vector, TPR 0, every LVT masked, ESR clear. */
void lapic_setup(uint8_t spurious_vector);

/* Bit `vector` of the ISR, TMR or IRR (base LAPIC_ISR0, LAPIC_TMR0, LAPIC_IRR0). */
bool lapic_vector_bit(uint32_t base, uint8_t vector);

/* ICR write (xAPIC: high then low, then waits for delivery status idle; x2APIC: one MSR). */
void lapic_send_ipi(uint32_t dest, uint32_t icr_low);

/* Reads the ESR after the write that latches it (SDM 11.5.3). */
uint32_t lapic_esr(void);

/* Switches to x2APIC mode through IA32_APIC_BASE.EXTD (the APIC must be enabled). */
void lapic_enter_x2apic(void);

#endif
