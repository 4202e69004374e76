/*
 * 8259A pair model. References: Intel 8259A Programmable Interrupt Controller datasheet (order
 * 231468) for ICW1-4, OCW1-3, priorities, EOI and rotation, poll, special mask and the spurious IR7
 * rule; Intel PIIX4/ICH datasheets for the ELCR at 0x4d0/0x4d1 and for what a PC's 8259s ignore
 * (ICW1 LTIM: sensing is per input through the ELCR; 8086 mode only).
 */
#include <hv/vpic.h>

#define MASTER 0
#define SLAVE 1
#define CASCADE_BIT (1u << VPIC_CASCADE_IRQ)

#define ICW1_IC4 0x01
#define ICW1_SNGL 0x02
#define ICW1_SEL 0x10 /* command-port write with bit 4 set: ICW1 */
#define OCW3_SEL 0x08 /* else with bit 3 set: OCW3, else OCW2 */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10

#define OCW3_RIS 0x01
#define OCW3_RR 0x02
#define OCW3_P 0x04
#define OCW3_SMM 0x20
#define OCW3_ESMM 0x40

#define POLL_INT 0x80

static unsigned highest(const struct vpic_chip *c, uint8_t mask)
{
	/* Priority order: lowest+1 (highest) ... lowest. Returns 8 when mask is empty. */
	for (unsigned k = 0; k < 8; k++) {
		unsigned ir = (c->lowest + 1 + k) & 7;
		if (mask & (1u << ir))
			return ir;
	}
	return 8;
}

static unsigned rank(const struct vpic_chip *c, unsigned ir) { return (ir - c->lowest - 1) & 7; }

/* The IR this chip would raise INT for, or 8. */
static unsigned chip_request(const struct vpic_chip *c, bool master)
{
	if (c->init_step)
		return 8; /* no interrupt until the initialisation sequence is complete */
	unsigned ir = highest(c, c->irr & ~c->imr);
	if (ir == 8)
		return 8;
	uint8_t serviced = c->isr;
	/* Special mask mode: "enables interrupts from all other levels (lower as well as higher) that
	 * are not masked": the ISR no longer blocks anything. */
	if (c->special_mask)
		serviced = 0;
	/* Special fully nested mode: a slave's in-service cascade input does not block its slave. */
	if (master && c->sfnm)
		serviced &= ~c->icw3;
	unsigned cur = highest(c, serviced);
	if (cur != 8 && rank(c, ir) >= rank(c, cur))
		return 8;
	return ir;
}

static bool master_cascades(const struct vpic *p)
{
	const struct vpic_chip *m = &p->chip[MASTER];

	return !m->single && (m->icw3 & CASCADE_BIT);
}

/* Recomputes the slave INT -> master IR2 wire and the master's INT output. The cascade input follows
 * the slave's INT level: a slave request withdrawn before the master's INTA gives the master's IR7. */
static void update(struct vpic *p)
{
	struct vpic_chip *m = &p->chip[MASTER];
	bool slave_int = chip_request(&p->chip[SLAVE], false) != 8;

	m->lines = slave_int ? m->lines | CASCADE_BIT : m->lines & ~CASCADE_BIT;
	m->irr = slave_int ? m->irr | CASCADE_BIT : m->irr & ~CASCADE_BIT;
	bool intr = chip_request(m, true) != 8;
	if (intr != p->intr) {
		p->intr = intr;
		if (p->intr_changed)
			p->intr_changed(p->ctx, intr);
	}
}

static void chip_input(struct vpic_chip *c, unsigned ir, bool level)
{
	uint8_t bit = (uint8_t)(1u << ir);
	bool was = (c->lines & bit) != 0;

	c->lines = level ? c->lines | bit : c->lines & ~bit;
	if (c->elcr & bit)
		c->irr = level ? c->irr | bit : c->irr & ~bit; /* level: the request follows the input */
	else if (level && !was)
		c->irr |= bit; /* edge: latched on the rising edge, held until acknowledged */
}

void vpic_set_irq(struct vpic *p, uint32_t irq, bool level)
{
	if (irq >= 16 || irq == VPIC_CASCADE_IRQ)
		return;
	chip_input(&p->chip[irq >> 3], irq & 7, level);
	update(p);
}

bool vpic_intr(const struct vpic *p) { return p->intr; }

/* The chip accepts ir (INTA or poll): ISR set unless auto-EOI, edge requests consumed. */
static void chip_accept(struct vpic_chip *c, unsigned ir, bool master)
{
	uint8_t bit = (uint8_t)(1u << ir);

	if (!(c->elcr & bit) && !(master && bit == CASCADE_BIT))
		c->irr &= (uint8_t)~bit;
	if (!c->auto_eoi)
		c->isr |= bit;
	else if (c->rotate_aeoi)
		c->lowest = (uint8_t)ir; /* rotate in auto-EOI mode */
}

/* The vector a chip puts on the bus (8086 mode: ICW2 bits 7:3, IR in bits 2:0); a chip with no
 * request answers with IR7 without touching its ISR (8259A "default IR7"). */
static uint8_t chip_ack(struct vpic_chip *c, bool master, unsigned *ir_out)
{
	unsigned ir = chip_request(c, master);

	if (ir == 8) {
		*ir_out = 8;
		return (uint8_t)((c->icw2 & 0xf8) | 7);
	}
	chip_accept(c, ir, master);
	*ir_out = ir;
	return (uint8_t)((c->icw2 & 0xf8) | ir);
}

uint8_t vpic_ack(struct vpic *p)
{
	struct vpic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	unsigned ir;
	uint8_t vector = chip_ack(m, true, &ir);

	if (ir == VPIC_CASCADE_IRQ && master_cascades(p)) {
		if ((s->icw3 & 7) == VPIC_CASCADE_IRQ) {
			unsigned sir;
			vector = chip_ack(s, false, &sir); /* spurious: IR15's vector, master ISR2 set */
		} else {
			vector = 0xff; /* no slave answers to this cascade address: the bus floats */
		}
	}
	update(p);
	return vector;
}

static void icw1(struct vpic_chip *c, uint8_t v)
{
	/* 8259A "Initialization Command Words": the edge sense circuit is reset (an edge input must go
	 * low and high again), the IMR is cleared, IR7 gets the lowest priority, special mask mode is
	 * cleared and status read is set to IRR; without IC4 the ICW4 functions are zero. The ISR is
	 * cleared too (the datasheet is silent; QEMU's model does the same): nothing stays in service
	 * across a re-initialisation. */
	c->irr &= c->elcr;
	c->isr = 0;
	c->imr = 0;
	c->lowest = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_aeoi = false;
	c->icw4_expected = v & ICW1_IC4;
	c->single = v & ICW1_SNGL;
	c->icw4 = 0;
	c->auto_eoi = false;
	c->sfnm = false;
	c->init_step = 2;
}

static void data_write(struct vpic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->icw2 = v & 0xf8;
		c->init_step = c->single ? (c->icw4_expected ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = v;
		c->init_step = c->icw4_expected ? 4 : 0;
		break;
	case 4:
		c->icw4 = v;
		c->auto_eoi = v & ICW4_AEOI;
		c->sfnm = v & ICW4_SFNM;
		c->init_step = 0;
		break;
	default:
		c->imr = v; /* OCW1 */
		break;
	}
}

static void ocw2(struct vpic_chip *c, uint8_t v)
{
	unsigned level = v & 7;
	unsigned ir;

	switch (v >> 5) {
	case 0: /* rotate in auto-EOI mode (clear) */
		c->rotate_aeoi = false;
		break;
	case 4: /* rotate in auto-EOI mode (set) */
		c->rotate_aeoi = true;
		break;
	case 1: /* non-specific EOI: the highest-priority bit in service */
	case 5: /* rotate on non-specific EOI */
		ir = highest(c, c->isr);
		if (ir == 8)
			break;
		c->isr &= (uint8_t)~(1u << ir);
		if (v >> 5 == 5)
			c->lowest = (uint8_t)ir;
		break;
	case 3: /* specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		c->lowest = (uint8_t)level;
		break;
	case 6: /* set priority */
		c->lowest = (uint8_t)level;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void ocw3(struct vpic_chip *c, uint8_t v)
{
	if (v & OCW3_ESMM)
		c->special_mask = v & OCW3_SMM;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
	if (v & OCW3_P)
		c->poll = true;
}

/* Poll: the read acts as an INTA for this chip alone: bit 7 set and the IR in bits 2:0 when a
 * request was pending, else 0. */
static uint8_t poll_read(struct vpic_chip *c, bool master)
{
	unsigned ir = chip_request(c, master);

	c->poll = false;
	if (ir == 8)
		return 0;
	chip_accept(c, ir, master);
	return (uint8_t)(POLL_INT | ir);
}

static uint8_t port_read(struct vpic *p, uint16_t port)
{
	struct vpic_chip *c;

	switch (port) {
	case VPIC_MASTER_CMD:
	case VPIC_MASTER_DATA:
	case VPIC_SLAVE_CMD:
	case VPIC_SLAVE_DATA:
		c = &p->chip[port >= VPIC_SLAVE_CMD];
		if (c->poll)
			return poll_read(c, c == &p->chip[MASTER]);
		if (port & 1)
			return c->imr;
		return c->read_isr ? c->isr : c->irr;
	case VPIC_ELCR_MASTER:
	case VPIC_ELCR_SLAVE:
		return p->chip[port & 1].elcr;
	default:
		return 0xff;
	}
}

static void port_write(struct vpic *p, uint16_t port, uint8_t v)
{
	struct vpic_chip *c;

	switch (port) {
	case VPIC_MASTER_CMD:
	case VPIC_SLAVE_CMD:
		c = &p->chip[port == VPIC_SLAVE_CMD];
		if (v & ICW1_SEL)
			icw1(c, v);
		else if (v & OCW3_SEL)
			ocw3(c, v);
		else
			ocw2(c, v);
		break;
	case VPIC_MASTER_DATA:
	case VPIC_SLAVE_DATA:
		data_write(&p->chip[port == VPIC_SLAVE_DATA], v);
		break;
	case VPIC_ELCR_MASTER:
	case VPIC_ELCR_SLAVE:
		c = &p->chip[port & 1];
		c->elcr = v & c->elcr_mask;
		/* A level input's request follows its line from now on; an edge input keeps its latch. */
		c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr));
		break;
	default:
		break;
	}
}

bool vpic_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vpic *p = dev;

	if (bytes != 1 && bytes != 2 && bytes != 4)
		return false;
	for (unsigned i = 0; i < bytes; i++) {
		uint16_t port_i = (uint16_t)(port + i);
		if (in) {
			*value &= ~(0xffu << (8 * i));
			*value |= (uint32_t)port_read(p, port_i) << (8 * i);
		} else {
			port_write(p, port_i, (uint8_t)(*value >> (8 * i)));
		}
		update(p);
	}
	return true;
}

void vpic_init(struct vpic *p, vpic_intr_cb intr_changed, void *ctx)
{
	*p = (struct vpic){ .intr_changed = intr_changed, .ctx = ctx };
	struct vpic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];

	/* PIIX4/ICH ELCR: IRQ0, 1, 2, 8 and 13 are always edge-triggered (their bits are reserved). */
	m->elcr_mask = 0xf8;
	s->elcr_mask = 0xde;
	m->icw2 = 0x08;
	s->icw2 = 0x70;
	m->icw3 = CASCADE_BIT;
	s->icw3 = VPIC_CASCADE_IRQ;
	for (unsigned i = 0; i < 2; i++) {
		p->chip[i].icw4 = 0x01; /* 8086 mode */
		p->chip[i].icw4_expected = true;
		p->chip[i].lowest = 7;
	}
	m->imr = (uint8_t)~CASCADE_BIT;
	s->imr = 0xff;
}
