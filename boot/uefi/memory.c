/* Page allocation for everything the loader hands to the kernel. */
#include "loader.h"

/*
 * EfiLoaderData below max_addr: the kernel's memory map reports it as BOOT_MEM_LOADER, so nothing
 * the loader leaves behind (module images, page tables, boot_info) is handed out as free memory.
 */
EFI_STATUS pages_alloc(UINTN pages, uint64_t max_addr, uint64_t *out, const CHAR16 *what)
{
	EFI_PHYSICAL_ADDRESS addr = max_addr;
	EFI_STATUS st = BS->AllocatePages(AllocateMaxAddress, EfiLoaderData, pages, &addr);

	if (EFI_ERROR(st)) {
		Print(L"hv-efi: error: cannot allocate %ld pages for %s: %r\n", (UINT64)pages, what, st);
		return st;
	}
	*out = addr;
	return EFI_SUCCESS;
}

EFI_STATUS pages_alloc_zeroed(UINTN pages, uint64_t max_addr, uint64_t *out, const CHAR16 *what)
{
	EFI_STATUS st = pages_alloc(pages, max_addr, out, what);

	if (!EFI_ERROR(st))
		ZeroMem((void *)(UINTN)*out, pages * EFI_PAGE_SIZE);
	return st;
}
