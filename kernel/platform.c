/* Finding the firmware's ACPI tables and turning them into hv's view of the machine. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/panic.h>
#include <hv/percpu.h>
#include <hv/platform.h>
#include <hv/string.h>
#include <hv/x86.h>

#define RSDP_SIGNATURE "RSD PTR "
#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define BDA_EBDA_SEGMENT 0x40e
#define BIOS_ROM_START 0xe0000
#define BIOS_ROM_END 0x100000
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

static struct acpi_info acpi;

static const void *acpi_map(uint64_t phys, uint64_t len, void *ctx)
{
	(void)ctx;
	if (!len || phys + len < phys)
		return NULL;
	return phys_map_ram(phys, len);
}

/* ACPI 6.5 5.2.5.1: on legacy BIOS systems the RSDP is on a 16-byte boundary in the first KiB of
 * the EBDA or in 0xE0000-0xFFFFF. Used when the boot loader handed over no copy. */
static const uint8_t *rsdp_scan(uint64_t start, uint64_t end)
{
	const uint8_t *p = phys_map_ram(start, end - start);

	for (uint64_t off = 0; off + RSDP_V1_LEN <= end - start; off += 16)
		if (!memcmp(p + off, RSDP_SIGNATURE, 8))
			return p + off;
	return NULL;
}

static uint32_t rsdp_find(const struct boot_info *bi, const uint8_t **rsdp)
{
	if (bi->acpi_rsdp_len) {
		*rsdp = bi->acpi_rsdp;
		return bi->acpi_rsdp_len;
	}
	uint64_t ebda = (uint64_t)*(const uint16_t *)phys_map_ram(BDA_EBDA_SEGMENT, 2) << 4;
	const uint8_t *p = NULL;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		p = rsdp_scan(ebda, ebda + 1024);
	if (!p)
		p = rsdp_scan(BIOS_ROM_START, BIOS_ROM_END);
	if (!p)
		return 0;
	*rsdp = p;
	return p[15] >= 2 ? RSDP_V2_LEN : RSDP_V1_LEN; /* revision byte */
}

static void log_acpi_summary(void)
{
	char sigs[ACPI_MAX_TABLES * 5 + 1];
	size_t n = 0;

	for (uint32_t i = 0; i < acpi.table_count; i++) {
		memcpy(sigs + n, acpi.tables[i].signature, 4);
		sigs[n + 4] = ' ';
		n += 5;
	}
	sigs[n ? n - 1 : 0] = 0;
	pr_info("acpi: oem %s, %s, tables: %s", acpi.oem_id, acpi.root_is_xsdt ? "xsdt" : "rsdt", sigs);
	pr_info("acpi: %u cpus, %u ioapics, lapic at 0x%lx, hpet %s, pm timer %s", acpi.cpu_count,
		acpi.ioapic_count, acpi.lapic_address, acpi.has_hpet ? "yes" : "no",
		acpi.has_fadt && acpi.fadt.pm_timer.address ? "yes" : "no");
	if (acpi.warning_count)
		pr_warn("acpi: %s (%u warnings)", acpi.warning, acpi.warning_count);
}

const struct acpi_info *platform_acpi_init(const struct boot_info *bi)
{
	const uint8_t *rsdp = NULL;
	uint32_t len = rsdp_find(bi, &rsdp);
	struct acpi_access access = { acpi_map, NULL };

	if (!len)
		boot_error("ACPI: no RSDP from the boot loader or the BIOS areas; hv needs ACPI (MADT)");
	if (acpi_parse(rsdp, len, &access, &acpi) < 0)
		boot_error("%s", acpi.error);
	log_acpi_summary();
	return &acpi;
}

void platform_mask_8259(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

/* ISA IRQs are edge-triggered, active-high and identity-mapped to GSIs unless the MADT says
 * otherwise (ACPI 6.5 5.2.12.5). */
bool platform_route_isa_irq(const struct acpi_info *acpi, uint8_t irq, uint8_t vector)
{
	uint32_t gsi = irq;
	bool level = false, active_low = false;

	for (uint32_t i = 0; i < acpi->iso_count; i++) {
		const struct acpi_iso *o = &acpi->isos[i];
		if (o->bus == 0 && o->source == irq) {
			gsi = o->gsi;
			level = o->level;
			active_low = o->active_low;
		}
	}
	return ioapic_route(gsi, vector, cpus[0].apic_id, level, active_low);
}
