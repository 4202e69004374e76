/* Host IOAPICs: every pin masked at boot; a pin is routed only when something in hv asks for it. */
#include <hv/acpi.h>
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/layout.h>
#include <hv/mm.h>
#include <hv/spinlock.h>

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_REDIR(pin) (0x10 + 2 * (pin))
#define REDIR_MASKED (1u << 16)
#define REDIR_LEVEL (1u << 15)
#define REDIR_ACTIVE_LOW (1u << 13)

struct ioapic {
	volatile uint32_t *regs;
	uint32_t gsi_base;
	uint32_t pins;
	struct spinlock lock; /* REGSEL/WINDOW is a two-step access */
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static uint32_t ioapic_count;

static uint32_t ioapic_read(struct ioapic *io, uint32_t reg)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	return io->regs[IOAPIC_WINDOW / 4];
}

static void ioapic_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	io->regs[IOAPIC_WINDOW / 4] = v;
}

void ioapic_init(const struct acpi_info *acpi)
{
	for (uint32_t i = 0; i < acpi->ioapic_count; i++) {
		struct ioapic *io = &ioapics[ioapic_count];

		io->regs = mmio_map(acpi->ioapics[i].address, PAGE_SIZE);
		io->gsi_base = acpi->ioapics[i].gsi_base;
		io->pins = ((ioapic_read(io, IOAPIC_REG_VERSION) >> 16) & 0xff) + 1;
		for (uint32_t pin = 0; pin < io->pins; pin++) {
			ioapic_write(io, IOAPIC_REG_REDIR(pin) + 1, 0);
			ioapic_write(io, IOAPIC_REG_REDIR(pin), REDIR_MASKED);
		}
		ioapic_count++;
		pr_info("ioapic: id %u at 0x%x, gsi %u-%u, all pins masked", acpi->ioapics[i].id,
			acpi->ioapics[i].address, io->gsi_base, io->gsi_base + io->pins - 1);
	}
}

static struct ioapic *ioapic_for_gsi(uint32_t gsi)
{
	for (uint32_t i = 0; i < ioapic_count; i++)
		if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].pins)
			return &ioapics[i];
	return NULL;
}

bool ioapic_route(uint32_t gsi, uint8_t vector, uint32_t dest_apic_id, bool level, bool active_low)
{
	struct ioapic *io = ioapic_for_gsi(gsi);

	if (!io)
		return false;
	uint32_t pin = gsi - io->gsi_base;
	uint32_t low = vector | (level ? REDIR_LEVEL : 0) | (active_low ? REDIR_ACTIVE_LOW : 0);
	uint64_t flags = spin_lock_irqsave(&io->lock);

	ioapic_write(io, IOAPIC_REG_REDIR(pin), REDIR_MASKED);
	ioapic_write(io, IOAPIC_REG_REDIR(pin) + 1, dest_apic_id << 24);
	ioapic_write(io, IOAPIC_REG_REDIR(pin), low);
	spin_unlock_irqrestore(&io->lock, flags);
	return true;
}

void ioapic_mask(uint32_t gsi)
{
	struct ioapic *io = ioapic_for_gsi(gsi);

	if (!io)
		return;
	uint64_t flags = spin_lock_irqsave(&io->lock);
	uint32_t reg = IOAPIC_REG_REDIR(gsi - io->gsi_base);

	ioapic_write(io, reg, ioapic_read(io, reg) | REDIR_MASKED);
	spin_unlock_irqrestore(&io->lock, flags);
}
