/*
 * The memory map: read from firmware, handed over with ExitBootServices, then folded into
 * boot_info.mmap. After ExitBootServices no boot service may be called, so the conversion below
 * uses plain loops only (no Print, no CopyMem, no allocation).
 */
#include "loader.h"

/*
 * Room for this many descriptors more than firmware asked for: the buffer is allocated once before
 * the final GetMemoryMap, and a failed ExitBootServices may only be followed by GetMemoryMap, so
 * the retry must fit whatever the map grew by meanwhile.
 */
#define MAP_SLACK_DESCS 32

static EFI_MEMORY_DESCRIPTOR *map;
static UINTN map_cap; /* bytes allocated */
static UINTN map_size, map_key, desc_size;
static UINT32 desc_version;

static EFI_MEMORY_DESCRIPTOR *desc_at(UINTN i)
{
	return (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
}

/*
 * The current map, growing the buffer as needed. Only used while allocation is still allowed;
 * when it returns success map_key matches the map in the buffer.
 */
static EFI_STATUS map_read(void)
{
	for (;;) {
		EFI_STATUS st;

		map_size = map_cap;
		st = BS->GetMemoryMap(&map_size, map, &map_key, &desc_size, &desc_version);
		if (st != EFI_BUFFER_TOO_SMALL) {
			if (EFI_ERROR(st))
				return efi_error(st, L"GetMemoryMap");
			return EFI_SUCCESS;
		}
		if (map) {
			st = BS->FreePool(map);
			if (EFI_ERROR(st))
				return efi_error(st, L"freeing the memory map buffer");
		}
		/* map_size now holds the size firmware needs; allocating adds descriptors too. */
		map_cap = map_size + MAP_SLACK_DESCS * (desc_size ? desc_size : 64);
		st = BS->AllocatePool(EfiLoaderData, map_cap, (void **)&map);
		if (EFI_ERROR(st)) {
			map = NULL;
			map_cap = 0;
			return efi_error(st, L"allocating the memory map buffer");
		}
	}
}

EFI_STATUS mmap_highest_address(uint64_t *top)
{
	EFI_STATUS st = map_read();
	uint64_t max = 0;

	if (EFI_ERROR(st))
		return st;
	for (UINTN i = 0; i < map_size / desc_size; i++) {
		EFI_MEMORY_DESCRIPTOR *d = desc_at(i);
		uint64_t end = d->PhysicalStart + d->NumberOfPages * EFI_PAGE_SIZE;

		if (end > max)
			max = end;
	}
	*top = max;
	return EFI_SUCCESS;
}

static uint32_t boot_type(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return BOOT_MEM_USABLE;
	/* This application, the kernel block, modules, page tables, boot_info, the stack. */
	case EfiLoaderCode:
	case EfiLoaderData:
		return BOOT_MEM_LOADER;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return BOOT_MEM_BAD;
	default: /* runtime services, MMIO, reserved, persistent, unaccepted, ... */
		return BOOT_MEM_RESERVED;
	}
}

/*
 * Overflow policy when more than BOOT_MMAP_MAX ranges remain after merging: drop the least useful
 * range, smallest first by kind: reserved (a hole means the same to the kernel: not usable), then
 * bad, then usable (RAM is lost, nothing breaks), then ACPI and loader ranges last.
 */
static int drop_rank(uint32_t type)
{
	switch (type) {
	case BOOT_MEM_RESERVED:
		return 0;
	case BOOT_MEM_BAD:
		return 1;
	case BOOT_MEM_USABLE:
		return 2;
	default:
		return 3;
	}
}

static int less_useful(uint32_t type_a, uint64_t len_a, uint32_t type_b, uint64_t len_b)
{
	if (drop_rank(type_a) != drop_rank(type_b))
		return drop_rank(type_a) < drop_rank(type_b);
	return len_a < len_b;
}

static void remove_at(struct boot_info *info, uint32_t i)
{
	for (uint32_t j = i; j + 1 < info->mmap_count; j++)
		info->mmap[j] = info->mmap[j + 1];
	info->mmap_count--;
}

/* Sorted insert that merges with touching neighbours of the same kind; returns 1 if it dropped one. */
static int add_range(struct boot_info *info, uint64_t base, uint64_t len, uint32_t type)
{
	struct boot_mem_range *m = info->mmap;
	uint32_t i = info->mmap_count;
	int dropped = 0;

	if (len == 0)
		return 0;
	while (i > 0 && m[i - 1].base > base)
		i--;
	if (i > 0 && m[i - 1].type == type && m[i - 1].base + m[i - 1].length == base) {
		m[i - 1].length += len;
		if (i < info->mmap_count && m[i].type == type &&
		    m[i - 1].base + m[i - 1].length == m[i].base) {
			m[i - 1].length += m[i].length;
			remove_at(info, i);
		}
		return 0;
	}
	if (i < info->mmap_count && m[i].type == type && base + len == m[i].base) {
		m[i].base = base;
		m[i].length += len;
		return 0;
	}
	if (info->mmap_count == BOOT_MMAP_MAX) {
		uint32_t v = 0;

		for (uint32_t j = 1; j < info->mmap_count; j++) {
			if (less_useful(m[j].type, m[j].length, m[v].type, m[v].length))
				v = j;
		}
		if (!less_useful(m[v].type, m[v].length, type, len))
			return 1; /* the new range is the least useful one */
		remove_at(info, v);
		if (v < i)
			i--;
		dropped = 1;
	}
	for (uint32_t j = info->mmap_count; j > i; j--)
		m[j] = m[j - 1];
	m[i].base = base;
	m[i].length = len;
	m[i].type = type;
	m[i].reserved = 0;
	info->mmap_count++;
	return dropped;
}

/* Firmware's map in the buffer -> info->mmap. Boot-service free; returns the number dropped. */
static unsigned convert(struct boot_info *info)
{
	unsigned dropped = 0;

	info->mmap_count = 0;
	for (UINTN i = 0; i < map_size / desc_size; i++) {
		EFI_MEMORY_DESCRIPTOR *d = desc_at(i);

		dropped += add_range(info, d->PhysicalStart, d->NumberOfPages * EFI_PAGE_SIZE,
				     boot_type(d->Type));
	}
	return dropped;
}

EFI_STATUS mmap_exit_boot_services(EFI_HANDLE image, struct boot_info *info)
{
	EFI_STATUS st;
	unsigned dropped;

	/*
	 * A trial conversion while the console still works: overflowing BOOT_MMAP_MAX is reported now,
	 * the final conversion after ExitBootServices applies the same policy silently.
	 */
	st = map_read();
	if (EFI_ERROR(st))
		return st;
	dropped = convert(info);
	if (dropped)
		Print(L"hv-efi: warning: memory map has more than %d ranges, dropped %d (reserved first)\n",
		      BOOT_MMAP_MAX, dropped);
	Print(L"hv-efi: memory map: %ld firmware entries, %d ranges; exiting boot services\n",
	      (UINT64)(map_size / desc_size), info->mmap_count);

	/* From here to ExitBootServices nothing may allocate: Print allocates pool. */
	st = map_read();
	if (EFI_ERROR(st))
		return st;
	for (int tries = 0;; tries++) {
		st = BS->ExitBootServices(image, map_key);
		if (!EFI_ERROR(st))
			break;
		/* EFI_INVALID_PARAMETER: the map changed (a timer event allocated); read it again. */
		if (st != EFI_INVALID_PARAMETER || tries == 8)
			return efi_error(st, L"ExitBootServices");
		map_size = map_cap;
		st = BS->GetMemoryMap(&map_size, map, &map_key, &desc_size, &desc_version);
		if (EFI_ERROR(st))
			return efi_error(st, L"GetMemoryMap after a failed ExitBootServices");
	}
	convert(info);
	return EFI_SUCCESS;
}
