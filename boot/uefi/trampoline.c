/*
 * AP start-up page: INIT-SIPI-SIPI starts application processors in real mode at a page-aligned
 * address below 1 MiB. Firmware owns low memory until ExitBootServices, so the page is reserved
 * now; 0x9f000 and up is the EBDA region on PC-compatible machines and is avoided.
 */
#include "loader.h"

#define TRAMPOLINE_LIMIT 0x9f000ull

void trampoline_reserve(struct boot_info *info)
{
	/* AllocateMaxAddress bounds the last byte of the allocation. */
	EFI_PHYSICAL_ADDRESS page = TRAMPOLINE_LIMIT - 1;
	EFI_STATUS st = BS->AllocatePages(AllocateMaxAddress, EfiLoaderData, 1, &page);

	if (EFI_ERROR(st)) {
		Print(L"hv-efi: warning: no page below 0x%lx for AP start-up: %r\n", TRAMPOLINE_LIMIT, st);
		return;
	}
	/* 0 means "none" in boot_info; page 0 would only arise if nothing else below it is free. */
	if (page == 0) {
		st = BS->FreePages(page, 1);
		if (EFI_ERROR(st))
			efi_error(st, L"returning page 0");
		Print(L"hv-efi: warning: only page 0 is free below 0x%lx: no AP start-up page\n",
		      TRAMPOLINE_LIMIT);
		return;
	}
	info->ap_trampoline_page = page;
}
