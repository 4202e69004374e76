/*
 * hv-efi: the GNU-EFI application that loads hv. One file per step; efi_main (main.c) runs them
 * in order and every step either succeeds or prints what failed and returns an error status.
 */
#ifndef HV_EFI_LOADER_H
#define HV_EFI_LOADER_H

#include <efi.h>
#include <efilib.h>

#include <hv/boot_info.h>
#include <hv/layout.h>

/* Firmware calls are made directly through the EFIAPI (ms_abi) prototypes, not efi_callN thunks. */
#ifndef HAVE_USE_MS_ABI
#error "build with -DGNU_EFI_USE_MS_ABI"
#endif

#define SIZE_2M 0x200000ull
#define SIZE_1G 0x40000000ull
#define SIZE_4G 0x100000000ull

/* Everything the kernel touches before it has its own page tables stays below 4 GiB. */
#define BELOW_4G 0xffffffffull

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* log.c: console lines all begin "hv-efi: ". */
EFI_STATUS efi_error(EFI_STATUS status, const CHAR16 *what);

/* memory.c */
EFI_STATUS pages_alloc(UINTN pages, uint64_t max_addr, uint64_t *out, const CHAR16 *what);
EFI_STATUS pages_alloc_zeroed(UINTN pages, uint64_t max_addr, uint64_t *out, const CHAR16 *what);

/* esp.c: \hv\cmdline.txt -> info->cmdline, every other file in \hv\ -> info->modules. */
EFI_STATUS esp_load(EFI_HANDLE image, struct boot_info *info);

/* acpi.c: copy the RSDP from the configuration table (not fatal when absent). */
void acpi_copy_rsdp(EFI_SYSTEM_TABLE *st, struct boot_info *info);

/* kernel.c: place the embedded hv.elf; *block_size is the 2 MiB multiple to map at KERNEL_LINK_VMA. */
EFI_STATUS kernel_load(struct boot_info *info, uint64_t *entry, uint64_t *block_size);

/* trampoline.c: a page below 0x9f000 for the kernel's AP start-up code, or 0. */
void trampoline_reserve(struct boot_info *info);

/* paging.c */
EFI_STATUS paging_build(uint64_t identity_top, uint64_t kernel_phys, uint64_t kernel_size,
			uint64_t *cr3);

/* mmap.c */
EFI_STATUS mmap_highest_address(uint64_t *top);
EFI_STATUS mmap_exit_boot_services(EFI_HANDLE image, struct boot_info *info);

/* enter.S */
__attribute__((noreturn)) void hv_efi_enter(uint64_t cr3, uint64_t boot_info, uint64_t stack_top,
					    uint64_t entry);

/* kernel_image.S: the embedded build/hv.elf. */
extern const uint8_t hv_kernel_image[];
extern const uint8_t hv_kernel_image_end[];

#endif
