/* The HPET event timer block at its PC address (IA-PC HPET specification 1.0a), driven with 32-bit
 * accesses as a 32-bit OS does (the 64-bit registers as two dwords, low first). */
#ifndef GUEST_HPET_H
#define GUEST_HPET_H

#include <stdint.h>

#define HPET_BASE 0xfed00000u
#define HPET_GCAP_ID 0x000
#define HPET_GEN_CONF 0x010
#define HPET_GINTR_STA 0x020
#define HPET_MAIN_COUNTER 0x0f0
#define HPET_TN_CONF(n) (0x100 + 0x20 * (n))
#define HPET_TN_COMPARATOR(n) (0x108 + 0x20 * (n))
#define HPET_TN_FSB(n) (0x110 + 0x20 * (n))

#define HPET_CAP_REV(cap) ((cap) & 0xff)
#define HPET_CAP_TIMERS(cap) ((((cap) >> 8) & 0x1f) + 1)
#define HPET_CAP_COUNT_SIZE (1u << 13)
#define HPET_CAP_LEG_RT (1u << 15)
#define HPET_CAP_VENDOR(cap) ((cap) >> 16)
#define HPET_MAX_PERIOD_FS 0x05f5e100u /* 100 ns */

#define HPET_CONF_ENABLE (1u << 0)
#define HPET_CONF_LEGACY (1u << 1)

#define HPET_TN_LEVEL (1u << 1)
#define HPET_TN_INT_ENB (1u << 2)
#define HPET_TN_PERIODIC (1u << 3)
#define HPET_TN_PER_CAP (1u << 4)
#define HPET_TN_SIZE_CAP (1u << 5)
#define HPET_TN_VAL_SET (1u << 6)
#define HPET_TN_32MODE (1u << 8)
#define HPET_TN_ROUTE_SHIFT 9
#define HPET_TN_ROUTE_MASK (0x1fu << 9)
#define HPET_TN_FSB_EN (1u << 14)

static inline volatile uint32_t *hpet_reg(uint32_t off) { return (volatile uint32_t *)(HPET_BASE + off); }
static inline uint32_t hpet_read(uint32_t off) { return *hpet_reg(off); }
static inline void hpet_write(uint32_t off, uint32_t v) { *hpet_reg(off) = v; }

/* The 64-bit main counter read as high, low, high until the high half is stable. */
uint64_t hpet_counter(void);
/* Main counter period in femtoseconds. */
uint32_t hpet_period_fs(void);
/* HPET ticks in ms milliseconds. */
uint64_t hpet_ticks_per_ms(void);
/* Tn_INT_ROUTE_CAP of a timer: bit n set when IOAPIC input n is allowed. */
uint32_t hpet_route_cap(unsigned timer);
/* Writes a 64-bit comparator as two dwords (low, then high). */
void hpet_set_comparator(unsigned timer, uint64_t value);
/* Everything off: counter halted, legacy replacement off, timers disabled, status cleared. */
void hpet_reset(void);

#endif
