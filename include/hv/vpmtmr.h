/*
 * The ACPI power-management timer (ACPI 6.5 section 4.8.3.3): a free-running counter at
 * 3.579545 MHz, 24 bits wide or 32 bits wide (FADT flag TMR_VAL_EXT), read at PM_TMR_BLK through
 * one I/O port handler. Computed from guest time on every read; nothing to advance.
 *
 * The core registers vpmtmr_io for [base, base + 3] (PM_TMR_LEN = 4) and puts base in the FADT's
 * PM_TMR_BLK / X_PM_TMR_BLK, with TMR_VAL_EXT set when the timer is 32 bits wide. The overflow
 * status TMR_STS and its SCI belong to the PM1 event block, not modelled here:
 * vpmtmr_next_carry() gives the instant its bit would be set.
 */
#ifndef HV_VPMTMR_H
#define HV_VPMTMR_H

#include <stdbool.h>
#include <stdint.h>

#include <hv/vdev.h>

#define VPMTMR_HZ 3579545ull
#define VPMTMR_LEN 4

struct vpmtmr {
	const struct vdev_env *env;
	uint16_t base;	/* PM_TMR_BLK */
	uint32_t mask;	/* 0xffffff or 0xffffffff */
};

void vpmtmr_init(struct vpmtmr *t, const struct vdev_env *env, uint16_t base, bool bits32);
/* The counter value at guest time now_ns. */
uint32_t vpmtmr_value(const struct vpmtmr *t, uint64_t now_ns);
/* ioport_handler_t for [base, base + 3]: reads give the bytes of the 32-bit register at their
 * offsets (a 32-bit read at base is the counter, the 24-bit timer's top byte reads 0); bytes
 * beyond base + 3 read 0xff; writes are ignored (the register is read-only). */
bool vpmtmr_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);
/* Guest ns of the first change of the counter's top bit after now_ns: when the hardware would set
 * TMR_STS (ACPI 6.5 4.8.3.3: "whenever the MSB toggles"), or VDEV_NEVER past the end of time. */
uint64_t vpmtmr_next_carry(const struct vpmtmr *t, uint64_t now_ns);

#endif
