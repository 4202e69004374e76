/* ACPI: the kernel finds every table from the RSDP, which firmware publishes in its config table. */
#include "loader.h"

static const EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static const EFI_GUID acpi10_guid = ACPI_TABLE_GUID;

static int guid_equal(const EFI_GUID *a, const EFI_GUID *b)
{
	return CompareMem((void *)a, (void *)b, sizeof(*a)) == 0;
}

static const uint8_t *find_table(EFI_SYSTEM_TABLE *st, const EFI_GUID *guid)
{
	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		if (guid_equal(&st->ConfigurationTable[i].VendorGuid, guid))
			return st->ConfigurationTable[i].VendorTable;
	}
	return NULL;
}

/* "RSD PTR " and a valid checksum over the ACPI 1.0 part: a bad pointer is treated as absent. */
static int rsdp_valid(const uint8_t *p)
{
	static const char sig[8] = "RSD PTR ";
	uint8_t sum = 0;

	for (int i = 0; i < 8; i++) {
		if (p[i] != (uint8_t)sig[i])
			return 0;
	}
	for (int i = 0; i < 20; i++)
		sum += p[i];
	return sum == 0;
}

void acpi_copy_rsdp(EFI_SYSTEM_TABLE *st, struct boot_info *info)
{
	/* ACPI 2.0 first: only its RSDP carries the 64-bit XSDT address. */
	const uint8_t *rsdp = find_table(st, &acpi20_guid);

	if (!rsdp || !rsdp_valid(rsdp))
		rsdp = find_table(st, &acpi10_guid);
	if (!rsdp || !rsdp_valid(rsdp)) {
		Print(L"hv-efi: warning: no ACPI RSDP in the firmware configuration table\n");
		return;
	}
	/* Offset 15 is the revision: 2 and later have the 36-byte extended structure. */
	info->acpi_rsdp_len = rsdp[15] >= 2 ? 36 : 20;
	CopyMem(info->acpi_rsdp, (void *)rsdp, info->acpi_rsdp_len);
}
