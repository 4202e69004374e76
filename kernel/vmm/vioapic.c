/*
 * I/O APIC model. References: Intel 82093AA I/O APIC datasheet (order 290566) for the registers and
 * the redirection table; Intel ICH9/PCH datasheets (I/O APIC, version 0x20) for the EOI register.
 */
#include <hv/vioapic.h>

#define VERSION_VALUE ((uint32_t)(VIOAPIC_PINS - 1) << 16 | VIOAPIC_VERSION) /* max entry 23 */
#define ID_MASK 0x0f000000u						/* ID in bits 27:24 */

/* Writable redirection-entry bits: vector, delivery mode, destination mode, polarity, trigger mode
 * and mask in the low dword (delivery status and remote IRR are read-only); destination 63:56 and
 * the ICH's extended destination ID 55:48 (kept, unused: the 82093AA reserves it) in the high one. */
#define RTE_WRITABLE_LO (VIOAPIC_RTE_VECTOR | VIOAPIC_RTE_DELMODE | VIOAPIC_RTE_DESTMODE_LOGICAL | \
			 VIOAPIC_RTE_ACTIVE_LOW | VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_MASKED)
#define RTE_WRITABLE_HI 0xffff000000000000ull

#define DELMODE_FIXED 0
#define DELMODE_LOWEST 1
#define DELMODE_RESERVED3 3
#define DELMODE_RESERVED6 6

static unsigned rte_delmode(uint64_t rte) { return (unsigned)(rte >> VIOAPIC_RTE_DELMODE_SHIFT) & 7; }

/* 82093AA 3.2.4: SMI, NMI, INIT and ExtINT are always delivered as edge-triggered messages, whatever
 * the trigger mode bit says; only fixed and lowest-priority interrupts use level semantics. */
static bool rte_level(uint64_t rte)
{
	unsigned mode = rte_delmode(rte);

	return (rte & VIOAPIC_RTE_LEVEL) && (mode == DELMODE_FIXED || mode == DELMODE_LOWEST);
}

/* The reserved delivery-mode encodings send nothing (and so never set remote IRR). */
static bool rte_sends(uint64_t rte)
{
	unsigned mode = rte_delmode(rte);

	return mode != DELMODE_RESERVED3 && mode != DELMODE_RESERVED6;
}

static void deliver(struct vioapic *a, unsigned pin)
{
	uint64_t rte = a->rte[pin];
	unsigned mode = rte_delmode(rte);

	if (!rte_sends(rte))
		return;
	struct vdev_msi msi = {
		.dest = (uint32_t)(rte >> VIOAPIC_RTE_DEST_SHIFT),
		.dest_logical = (rte & VIOAPIC_RTE_DESTMODE_LOGICAL) != 0,
		.vector = (uint8_t)(rte & VIOAPIC_RTE_VECTOR),
		.delivery = (uint8_t)mode,
		.level_triggered = rte_level(rte),
	};
	a->delivered++;
	if (a->env && a->env->deliver_msi)
		a->env->deliver_msi(a->env->ctx, &msi);
}

/* Level semantics: a message goes out while the input is asserted, the pin unmasked and remote IRR
 * clear; remote IRR is set when the message is sent (the local APIC accepted it) and cleared by the
 * EOI for its vector. Remote IRR is set before calling out, so a re-entrant EOI sees a clean state. */
static void service_level(struct vioapic *a, unsigned pin)
{
	uint64_t rte = a->rte[pin];

	if (!rte_level(rte) || !(a->asserted & (1u << pin)) || (rte & (VIOAPIC_RTE_MASKED | VIOAPIC_RTE_REMOTE_IRR)))
		return;
	a->rte[pin] |= VIOAPIC_RTE_REMOTE_IRR;
	deliver(a, pin);
}

static void update_asserted(struct vioapic *a, unsigned pin)
{
	uint32_t bit = 1u << pin;
	bool level = (a->lines & bit) != 0;

	if (a->rte[pin] & VIOAPIC_RTE_ACTIVE_LOW)
		level = !level; /* polarity: an active-low input is asserted while its line is low */
	a->asserted = level ? a->asserted | bit : a->asserted & ~bit;
}

void vioapic_init(struct vioapic *a, const struct vdev_env *env, uint8_t id)
{
	*a = (struct vioapic){ .env = env, .id = (uint32_t)(id & 0xf) << 24 };
	a->arb = a->id;
	for (unsigned i = 0; i < VIOAPIC_PINS; i++)
		a->rte[i] = VIOAPIC_RTE_MASKED; /* 82093AA: entries reset masked */
}

void vioapic_set_irq(struct vioapic *a, uint32_t pin, bool level)
{
	if (pin >= VIOAPIC_PINS)
		return;
	uint32_t bit = 1u << pin;
	bool was = (a->asserted & bit) != 0;

	a->lines = level ? a->lines | bit : a->lines & ~bit;
	update_asserted(a, pin);
	if (rte_level(a->rte[pin])) {
		service_level(a, pin);
		return;
	}
	/* Edge: a rising edge of an unmasked input sends one message. An edge on a masked pin is lost
	 * (82093AA 3.2.4, mask bit: "edge-sensitive interrupts signaled on a masked interrupt pin are
	 * ignored (i.e., not delivered or held pending)"). */
	if (!was && (a->asserted & bit) && !(a->rte[pin] & VIOAPIC_RTE_MASKED))
		deliver(a, pin);
}

void vioapic_eoi(struct vioapic *a, uint8_t vector)
{
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
		uint64_t rte = a->rte[pin];
		if ((rte & VIOAPIC_RTE_VECTOR) != vector || !(rte & VIOAPIC_RTE_REMOTE_IRR))
			continue;
		a->rte[pin] = rte & ~VIOAPIC_RTE_REMOTE_IRR;
		service_level(a, pin); /* still asserted: deliver again */
	}
}

static uint32_t read_indirect(const struct vioapic *a)
{
	uint8_t reg = a->regsel;

	switch (reg) {
	case VIOAPIC_REG_ID:
		return a->id;
	case VIOAPIC_REG_VER:
		return VERSION_VALUE;
	case VIOAPIC_REG_ARB:
		return a->arb;
	default:
		break;
	}
	if (reg >= VIOAPIC_REG_REDTBL && reg < VIOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS) {
		uint64_t rte = a->rte[(reg - VIOAPIC_REG_REDTBL) / 2];
		return (uint32_t)(reg & 1 ? rte >> 32 : rte);
	}
	return 0; /* unimplemented registers read as 0 */
}

static void write_rte(struct vioapic *a, unsigned pin, bool high, uint32_t value)
{
	uint64_t rte = a->rte[pin];

	if (high) {
		rte = (rte & ~RTE_WRITABLE_HI) | ((uint64_t)value << 32 & RTE_WRITABLE_HI);
	} else {
		rte = (rte & ~RTE_WRITABLE_LO) | (value & RTE_WRITABLE_LO);
		/* Remote IRR means nothing for an edge entry; switching an entry to edge clears it, which
		 * is what Linux's EOI workaround for I/O APICs without an EOI register relies on. */
		if (!(rte & VIOAPIC_RTE_LEVEL))
			rte &= ~VIOAPIC_RTE_REMOTE_IRR;
	}
	a->rte[pin] = rte;
	update_asserted(a, pin);
	/* Reprogramming never makes an edge; a level input is sampled continuously, so an unmasked
	 * asserted level entry with remote IRR clear sends its message now. */
	service_level(a, pin);
}

static void write_indirect(struct vioapic *a, uint32_t value)
{
	uint8_t reg = a->regsel;

	if (reg == VIOAPIC_REG_ID) {
		a->id = value & ID_MASK;
		a->arb = a->id; /* 82093AA 3.2.3: the arbitration ID is loaded with the ID */
		return;
	}
	if (reg >= VIOAPIC_REG_REDTBL && reg < VIOAPIC_REG_REDTBL + 2 * VIOAPIC_PINS)
		write_rte(a, (reg - VIOAPIC_REG_REDTBL) / 2, reg & 1, value);
	/* version, arbitration and unimplemented registers are read-only */
}

uint64_t vioapic_mmio_read(struct vioapic *a, uint64_t offset, uint8_t size)
{
	uint64_t value = 0;

	if (size < 1 || size > 8 || offset >= VIOAPIC_MMIO_SIZE)
		return 0;
	uint32_t win = read_indirect(a);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t byte = 0;
		if (off == VIOAPIC_IOREGSEL)
			byte = a->regsel;
		else if (off >= VIOAPIC_IOWIN && off < VIOAPIC_IOWIN + 4)
			byte = (uint8_t)(win >> (8 * (off - VIOAPIC_IOWIN)));
		value |= (uint64_t)byte << (8 * i);
	}
	return value;
}

void vioapic_mmio_write(struct vioapic *a, uint64_t offset, uint8_t size, uint64_t value)
{
	uint32_t win_mask = 0, win_value = 0;
	bool eoi = false;
	uint8_t eoi_vector = 0;

	if (size < 1 || size > 8 || offset >= VIOAPIC_MMIO_SIZE)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t byte = (uint8_t)(value >> (8 * i));
		if (off == VIOAPIC_IOREGSEL) {
			a->regsel = byte;
		} else if (off >= VIOAPIC_IOWIN && off < VIOAPIC_IOWIN + 4) {
			unsigned shift = 8 * (unsigned)(off - VIOAPIC_IOWIN);
			win_mask |= 0xffu << shift;
			win_value |= (uint32_t)byte << shift;
		} else if (off == VIOAPIC_EOI) {
			eoi = true;
			eoi_vector = byte;
		}
	}
	/* IOWIN is a 32-bit register: a narrower write changes only its own bytes. */
	if (win_mask)
		write_indirect(a, (read_indirect(a) & ~win_mask) | win_value);
	if (eoi)
		vioapic_eoi(a, eoi_vector);
}
