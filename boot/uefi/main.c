/*
 * hv-efi: BOOTX64.EFI. Gathers what hv needs into one struct boot_info (files from \hv\ on the ESP,
 * the ACPI RSDP, the memory map), places the embedded kernel, builds its first page tables, exits
 * boot services and enters hv_entry64. Any failure before ExitBootServices prints a line and returns
 * the error to firmware, which then tries the next boot option.
 */
#include "loader.h"

#define HANDOFF_STACK_PAGES 4

/* Identity-mapping more than 64 TiB would reach the kernel's half of the address space. */
#define IDENTITY_LIMIT (1ull << 46)

static EFI_STATUS alloc_boot_info(struct boot_info **out)
{
	uint64_t addr;
	EFI_STATUS st = pages_alloc_zeroed(EFI_SIZE_TO_PAGES(sizeof(struct boot_info)), BELOW_4G,
					   &addr, L"boot_info");

	if (EFI_ERROR(st))
		return st;
	*out = (struct boot_info *)(UINTN)addr;
	(*out)->magic = BOOT_INFO_MAGIC;
	(*out)->method = BOOT_METHOD_UEFI;
	return EFI_SUCCESS;
}

/* The identity map covers all of the memory map and never less than the 32-bit space (MMIO). */
static EFI_STATUS identity_top(uint64_t *top)
{
	EFI_STATUS st = mmap_highest_address(top);

	if (EFI_ERROR(st))
		return st;
	if (*top < SIZE_4G)
		*top = SIZE_4G;
	if (*top > IDENTITY_LIMIT) {
		Print(L"hv-efi: warning: memory map reaches 0x%lx, identity map stops at 0x%lx\n", *top,
		      IDENTITY_LIMIT);
		*top = IDENTITY_LIMIT;
	}
	return EFI_SUCCESS;
}

static void print_summary(const struct boot_info *info, uint64_t top)
{
	Print(L"hv-efi: cmdline \"%a\", %d modules, ACPI RSDP %d bytes, AP page 0x%lx\n", info->cmdline,
	      info->module_count, info->acpi_rsdp_len, info->ap_trampoline_page);
	Print(L"hv-efi: boot_info at 0x%lx, identity map to 0x%lx\n", (UINT64)(UINTN)info, top);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct boot_info *info;
	uint64_t entry, kernel_size, top, cr3, stack;
	EFI_STATUS st;

	InitializeLib(image, systab);
	Print(L"hv-efi: loading hv\n");

	st = alloc_boot_info(&info);
	if (EFI_ERROR(st))
		return st;
	st = esp_load(image, info);
	if (EFI_ERROR(st))
		return st;
	acpi_copy_rsdp(systab, info);
	st = kernel_load(info, &entry, &kernel_size);
	if (EFI_ERROR(st))
		return st;
	trampoline_reserve(info);
	st = pages_alloc(HANDOFF_STACK_PAGES, BELOW_4G, &stack, L"the hand-off stack");
	if (EFI_ERROR(st))
		return st;
	st = identity_top(&top);
	if (EFI_ERROR(st))
		return st;
	st = paging_build(top, info->kernel_phys_base, kernel_size, &cr3);
	if (EFI_ERROR(st))
		return st;
	print_summary(info, top);

	st = mmap_exit_boot_services(image, info);
	if (EFI_ERROR(st))
		return st;
	hv_efi_enter(cr3, (uint64_t)(UINTN)info, stack + HANDOFF_STACK_PAGES * EFI_PAGE_SIZE, entry);
}
