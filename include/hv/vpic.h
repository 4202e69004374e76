/*
 * The PC's pair of 8259A interrupt controllers (master at 0x20-0x21, slave at 0xa0-0xa1, the slave's
 * INT wired to the master's IR2) and the PIIX/ICH edge/level control registers (ELCR, 0x4d0-0x4d1).
 * Pure logic: the master's INT output is a level the core reads with vpic_intr() (and may be told
 * about through the callback); the CPU's interrupt-acknowledge cycle is vpic_ack().
 *
 * How the core uses it:
 *  - ISA interrupt sources end in vpic_set_irq(irq, level) (IRQ2 is the cascade and is ignored).
 *  - While vpic_intr() is true and the vcpu that takes ExtINT (LINT0 in virtual-wire mode, or an
 *    I/O APIC pin programmed ExtINT) can accept an external interrupt, call vpic_ack() and inject the
 *    vector it returns, whatever it is: a request withdrawn after INTR rose gives the spurious
 *    vector of IR7 (master) or IR15 (slave), as on hardware. If the vcpu cannot accept it yet, ask
 *    for an interrupt window and ack later; never ack without injecting.
 *  - The callback (optional) is called whenever INTR changes, from inside vpic_set_irq, vpic_ack or
 *    a port access: use it to kick a halted vcpu. It must not call back into the vpic.
 */
#ifndef HV_VPIC_H
#define HV_VPIC_H

#include <stdbool.h>
#include <stdint.h>

#define VPIC_MASTER_CMD 0x20
#define VPIC_MASTER_DATA 0x21
#define VPIC_SLAVE_CMD 0xa0
#define VPIC_SLAVE_DATA 0xa1
#define VPIC_ELCR_MASTER 0x4d0
#define VPIC_ELCR_SLAVE 0x4d1
#define VPIC_CASCADE_IRQ 2

typedef void (*vpic_intr_cb)(void *ctx, bool level);

struct vpic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;	  /* input levels as the sources set them */
	uint8_t elcr;	  /* 1 = level-sensitive input */
	uint8_t elcr_mask; /* ELCR bits that exist */
	uint8_t icw2;	  /* vector base: ICW2 bits 7:3 */
	uint8_t icw3;	  /* master: 1 per IR with a slave; slave: its ID in bits 2:0 */
	uint8_t icw4;
	uint8_t init_step; /* 0 ready, else the ICW expected next: 2, 3 or 4 */
	uint8_t lowest;	  /* IR with the lowest priority (7 after ICW1) */
	bool icw4_expected, single;
	bool auto_eoi, rotate_aeoi, sfnm, special_mask, read_isr, poll;
};

struct vpic {
	struct vpic_chip chip[2]; /* [0] master, [1] slave */
	bool intr;		  /* master INT output */
	vpic_intr_cb intr_changed;
	void *ctx;
};

/* The state a PC BIOS leaves: master vectors 0x08-0x0f, slave 0x70-0x77, cascade on IR2, 8086 mode,
 * normal EOI, every IRQ masked but the cascade, all inputs edge-sensitive. */
void vpic_init(struct vpic *p, vpic_intr_cb intr_changed, void *ctx);

/* ioport_handler_t for 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1 (register the three ranges with it).
 * A wider access reaches consecutive ports, one byte each; ports not listed read 0xff. */
bool vpic_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

/* Level of ISA IRQ 0-15 as its source drives it (edge sources pulse: true then false). */
void vpic_set_irq(struct vpic *p, uint32_t irq, bool level);

/* The master's INT output: an unmasked request outranks everything in service. */
bool vpic_intr(const struct vpic *p);

/* The interrupt-acknowledge cycle: the vector of the highest-priority request (its ISR bit set
 * unless in auto-EOI mode, its IRR bit cleared if edge-sensitive), through the slave for IR2. */
uint8_t vpic_ack(struct vpic *p);

#endif
