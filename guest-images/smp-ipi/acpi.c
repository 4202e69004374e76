/* Counting the processors the firmware's ACPI MADT lists, as an OS does before starting them:
 * RSDP in the EBDA's first KiB or 0xe0000-0xfffff, then the RSDT's "APIC" table. */
#include "acpi.h"
#include <stdbool.h>

struct rsdp {
	char signature[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
} __attribute__((packed));

struct sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_revision, creator, creator_revision;
} __attribute__((packed));

static bool sum_ok(const void *p, uint32_t len)
{
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return sum == 0;
}

static bool sig(const char *a, const char *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static const struct rsdp *scan(uint32_t start, uint32_t len)
{
	for (uint32_t a = start; a + sizeof(struct rsdp) <= start + len; a += 16) {
		const struct rsdp *r = (const struct rsdp *)a;
		if (sig(r->signature, "RSD PTR ", 8) && sum_ok(r, 20))
			return r;
	}
	return 0;
}

int acpi_count_cpus(void)
{
	uint32_t ebda = (uint32_t)*(volatile uint16_t *)0x40e << 4;
	const struct rsdp *r = 0;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		r = scan(ebda, 1024);
	if (!r)
		r = scan(0xe0000, 0x20000);
	if (!r || !r->rsdt)
		return -1;
	const struct sdt_header *rsdt = (const struct sdt_header *)r->rsdt;
	if (!sig(rsdt->signature, "RSDT", 4) || rsdt->length < sizeof(*rsdt) || rsdt->length > 0x10000)
		return -1;
	const uint32_t *entries = (const uint32_t *)(rsdt + 1);
	for (uint32_t i = 0; i < (rsdt->length - sizeof(*rsdt)) / 4; i++) {
		const struct sdt_header *t = (const struct sdt_header *)entries[i];
		if (!sig(t->signature, "APIC", 4) || t->length > 0x10000)
			continue;
		const uint8_t *p = (const uint8_t *)t + sizeof(*t) + 8, *end = (const uint8_t *)t + t->length;
		int cpus = 0;
		while (p + 2 <= end && p[1] >= 2) {
			if (p[0] == 0 && p[1] >= 8 && (p[4] & 1)) /* processor local APIC, enabled */
				cpus++;
			p += p[1];
		}
		return cpus;
	}
	return -1;
}
