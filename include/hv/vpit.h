/*
 * A guest-visible 8254 programmable interval timer (ports 0x40-0x43) and the PC's NMI status and
 * control port 0x61 (gate of channel 2, speaker enable, refresh toggle, OUT2). Pure logic: counters
 * are computed from guest time at 1.193182 MHz, never ticked; channel 0's OUT drives ISA IRQ 0
 * through env->set_irq(ctx, 0, level), channel 1's OUT is unconnected (the refresh toggle of port
 * 0x61 is the ICH's fixed 15.085 us one), channel 2's OUT is bit 5 of port 0x61.
 *
 * Time (vdev.h): the core calls vpit_advance(now) when guest time passes vpit_next_deadline(), the
 * next rising edge of channel 0's OUT. One call presents at most one rising edge to IRQ 0: periods
 * that went by unobserved (a late advance, a period shorter than the time between two calls) are
 * coalesced into one edge, as an interrupt controller loses edges that arrive while the previous one
 * is still pending. The line then settles at OUT's current level.
 */
#ifndef HV_VPIT_H
#define HV_VPIT_H

#include <stdbool.h>
#include <stdint.h>

#include <hv/vdev.h>

#define VPIT_HZ 1193182u
#define VPIT_PORT_CH0 0x40
#define VPIT_PORT_CH1 0x41
#define VPIT_PORT_CH2 0x42
#define VPIT_PORT_CMD 0x43
#define VPIT_PORT_NMI_SC 0x61

/* Port 0x61 bits */
#define VPIT_61_GATE2 0x01
#define VPIT_61_SPEAKER 0x02
#define VPIT_61_REFRESH 0x10
#define VPIT_61_OUT2 0x20

enum vpit_state {
	VPIT_IDLE,	   /* control word written, no count yet (or mode 0 between the two bytes) */
	VPIT_WAIT_TRIGGER, /* modes 1 and 5: count written, waiting for a gate rising edge */
	VPIT_RUN,	   /* counting from load_tick (unless suspended by the gate) */
};

struct vpit_channel {
	uint8_t ctrl;	/* RW1 RW0 M2 M1 M0 BCD as last programmed (read-back status bits 5:0) */
	uint8_t mode;	/* 0-5 (6 and 7 are 2 and 3) */
	uint8_t access; /* 1 LSB only, 2 MSB only, 3 LSB then MSB */
	bool bcd;
	bool gate;
	uint16_t cr; /* count register as written */
	uint8_t cr_lsb;
	bool write_msb, read_msb; /* the write and read flip-flops */
	uint8_t latch_bytes;	  /* latched count bytes still to read (0: none latched) */
	bool latch_msb;
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	uint64_t null_until; /* null count reads 1 before this tick (VDEV_NEVER: until a load) */
	uint8_t state;	     /* enum vpit_state */
	bool suspended;	     /* VPIT_RUN with counting disabled by a low gate */
	uint32_t n;	     /* initial count in clocks: 1..65536 (BCD: 1..10000, or more for non-digits) */
	uint64_t load_tick;  /* clock at which the counting element holds n */
	bool phase_low;	     /* mode 3: this stretch starts with the low half-cycle */
	bool pending;	     /* modes 2 and 3: a new count waits for the end of the (half-)cycle */
	bool pending_phase_low;
	uint32_t pending_n;
	uint64_t pending_tick;
	uint32_t held_count; /* counting element and OUT while not counting */
	bool held_out;
	uint64_t held_e; /* modes 0 and 4: clocks counted before the gate suspended counting */
};

struct vpit {
	const struct vdev_env *env;
	struct vpit_channel ch[3];
	uint8_t port61;	    /* bits 3:0 as written */
	uint64_t last_tick; /* guest time in PIT clocks, never going back */
	bool irq_level;	    /* IRQ 0 as last presented */
	uint64_t irq_tick;  /* channel 0 edges up to this clock have been presented */
	uint64_t irq_edges; /* rising edges presented, for statistics and tests */
};

/* The state a PC BIOS leaves: channel 0 in mode 3 with count 65536 (18.2 Hz), channel 1 in mode 2
 * with count 18 (DRAM refresh), channel 2 in mode 3 with count 65536 and its gate low. Reads the
 * time from env->now_ns; sends nothing. */
void vpit_init(struct vpit *p, const struct vdev_env *env);

/* ioport_handler_t for 0x40-0x43 and 0x61 (register both ranges with it). A wider access reaches
 * consecutive ports, one byte each; ports not listed read 0xff. */
bool vpit_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

/* Absolute guest ns of the next rising edge of channel 0's OUT, or VDEV_NEVER. */
uint64_t vpit_next_deadline(const struct vpit *p);
/* Presents IRQ 0 up to now: at most one rising edge (see above). */
void vpit_advance(struct vpit *p, uint64_t now_ns);

#endif
