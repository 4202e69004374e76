/*
 * A guest-visible MC146818 RTC and CMOS RAM at ports 0x70 (index, bit 7 = NMI disable) and 0x71
 * (data), as on every PC: time and date kept from a wall-clock epoch given at init plus guest
 * time, BCD or binary, 12- or 24-hour, set mode, the update cycle (UIP), periodic/alarm/update
 * interrupts on IRQ8 (GSI 8) through register C, the century byte at 0x32 (ACPI FADT CENTURY)
 * and the rest of the 128 bytes as CMOS RAM with the memory-size bytes SeaBIOS reads.
 *
 * The core registers vrtc_io for ports VRTC_PORT..VRTC_PORT_LAST and calls vrtc_advance(now)
 * whenever guest time passes vrtc_next_deadline() (vdev.h). Port accesses bring the model up to
 * env->now_ns() themselves.
 */
#ifndef HV_VRTC_H
#define HV_VRTC_H

#include <stdbool.h>
#include <stdint.h>

#include <hv/vdev.h>

#define VRTC_PORT 0x70
#define VRTC_PORT_LAST 0x71
#define VRTC_GSI 8		 /* ISA IRQ8 */
#define VRTC_CENTURY_INDEX 0x32 /* the FADT's CENTURY field */
#define VRTC_CMOS_SIZE 128

struct vrtc {
	const struct vdev_env *env;
	uint8_t cmos[VRTC_CMOS_SIZE]; /* RAM; registers A, B; the time bytes while frozen */
	uint8_t index;		      /* last index written to port 0x70, bits 6:0 */
	bool nmi_disabled;	      /* bit 7 of that write */
	uint8_t flags;		      /* register C: PF, AF, UF (IRQF is computed) */
	bool irq;		      /* level driven on VRTC_GSI */
	/* Divider chain, counted in cycles of the 32.768 kHz time base: cycle(t) = origin_cycle +
	 * cycles from origin_ns to t. A second boundary (update cycle start) is every 32768 cycles. */
	uint64_t origin_ns, origin_cycle;
	/* Clock: the time shown after second boundary number sec_idx_base is secs_base (seconds
	 * since 0000-03-01 of the calendar shifted by 400 years, see vrtc.c); dow_offset aligns the
	 * day-of-week register, which the chip counts independently of the date. */
	uint64_t secs_base, sec_idx_base;
	uint8_t dow_offset;
	/* Events (flags) are accounted up to this guest time / divider cycle. */
	uint64_t last_ns, last_cycle;
};

/*
 * Power-on: time = unix_secs (UTC seconds since 1970-01-01) at guest time 0, register A 0x26
 * (32.768 kHz, 1024 Hz periodic rate), B 0x02 (24-hour, BCD), D 0x80 (VRT). CMOS RAM as QEMU and
 * SeaBIOS lay it out: 0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31 KiB above 1 MiB
 * (at most 65535), 0x34/0x35 64 KiB units above 16 MiB below 4 GiB (at most 65535), 0x5b-0x5d
 * 64 KiB units above 4 GiB; 0x2e/0x2f the checksum of 0x10-0x2d. mem_below_4g is the RAM from
 * address 0 up to the 32-bit hole, mem_above_4g the RAM from 4 GiB.
 */
void vrtc_init(struct vrtc *r, const struct vdev_env *env, uint64_t unix_secs, uint64_t mem_below_4g,
	       uint64_t mem_above_4g);

/* ioport_handler_t for ports 0x70-0x71. A wider access reaches consecutive ports, one byte each;
 * bytes beyond 0x71 read 0xff. Reads of port 0x70 give 0xff (write-only on the PC). */
bool vrtc_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

/* One register of the chip by index (0-127), as ports 0x70/0x71 reach it; reading C clears it. */
uint8_t vrtc_read(struct vrtc *r, uint8_t index);
void vrtc_write(struct vrtc *r, uint8_t index, uint8_t value);

/* vdev.h timing. */
uint64_t vrtc_next_deadline(const struct vrtc *r);
void vrtc_advance(struct vrtc *r, uint64_t now_ns);

/* Bit 7 of the last index write: on a PC it masks NMIs. */
bool vrtc_nmi_disabled(const struct vrtc *r);

/* Proleptic Gregorian calendar, years 1 and later: days since 0000-03-01 and back. */
uint64_t vrtc_days_from_civil(uint32_t year, uint32_t month, uint32_t day);
void vrtc_civil_from_days(uint64_t days, uint32_t *year, uint32_t *month, uint32_t *day);

#endif
