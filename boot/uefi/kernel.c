/*
 * The kernel image: hv.elf is embedded in this application (kernel_image.S). It is linked in the
 * higher half at KERNEL_VMA + p_paddr; the loader copies it into one 2 MiB-aligned physical block so
 * paging.c can map the block at KERNEL_LINK_VMA with 2 MiB pages.
 */
#include "loader.h"

/* Only the ELF64 fields the loader reads; <elf.h> is a hosted header. */
struct elf64_ehdr {
	uint8_t e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1

/* The kernel is built with -mcmodel=kernel: it must fit in the top 2 GiB; 1 GiB is plenty. */
#define KERNEL_MAX_SIZE SIZE_1G

static EFI_STATUS reject(const CHAR16 *why)
{
	Print(L"hv-efi: error: embedded hv.elf: %s\n", why);
	return EFI_LOAD_ERROR;
}

static EFI_STATUS check_header(const struct elf64_ehdr *eh, uint64_t size)
{
	if (size < sizeof(*eh))
		return reject(L"shorter than an ELF header");
	if (eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E' || eh->e_ident[2] != 'L' ||
	    eh->e_ident[3] != 'F')
		return reject(L"not an ELF file");
	if (eh->e_ident[4] != ELFCLASS64 || eh->e_ident[5] != ELFDATA2LSB)
		return reject(L"not a little-endian ELF64 file");
	if (eh->e_machine != EM_X86_64)
		return reject(L"not an x86-64 image");
	if (eh->e_type != ET_EXEC)
		return reject(L"not an executable (ET_EXEC)");
	if (eh->e_phentsize != sizeof(struct elf64_phdr) || eh->e_phnum == 0 ||
	    eh->e_phoff > size || (size - eh->e_phoff) / sizeof(struct elf64_phdr) < eh->e_phnum)
		return reject(L"bad program header table");
	return EFI_SUCCESS;
}

/*
 * Every PT_LOAD must lie in the file, sit at or above KERNEL_LINK_PHYS and keep the fixed
 * virtual-physical offset KERNEL_VMA, because the block is mapped as one linear range.
 * *span is the image size from KERNEL_LINK_PHYS to the end of the highest segment.
 */
static EFI_STATUS check_segments(const struct elf64_ehdr *eh, uint64_t size, uint64_t *span)
{
	const struct elf64_phdr *ph = (const void *)((const uint8_t *)eh + eh->e_phoff);
	uint64_t end = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > size ||
		    size - ph[i].p_offset < ph[i].p_filesz)
			return reject(L"a PT_LOAD segment lies outside the file");
		if (ph[i].p_paddr < KERNEL_LINK_PHYS || ph[i].p_memsz > KERNEL_MAX_SIZE ||
		    ph[i].p_paddr - KERNEL_LINK_PHYS > KERNEL_MAX_SIZE - ph[i].p_memsz)
			return reject(L"a PT_LOAD segment is outside [KERNEL_LINK_PHYS, +1 GiB)");
		if (ph[i].p_vaddr != ph[i].p_paddr + KERNEL_VMA)
			return reject(L"a PT_LOAD segment's vaddr is not KERNEL_VMA + paddr");
		if (ph[i].p_paddr + ph[i].p_memsz > end)
			end = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (end == 0)
		return reject(L"no PT_LOAD segment");
	if (eh->e_entry < KERNEL_LINK_VMA || eh->e_entry >= KERNEL_VMA + end)
		return reject(L"entry point outside the loaded image");
	*span = end - KERNEL_LINK_PHYS;
	return EFI_SUCCESS;
}

/*
 * UEFI has no aligned allocation: take 2 MiB more than needed below 4 GiB, keep the aligned middle
 * and give the head and tail back.
 */
static EFI_STATUS alloc_block(uint64_t size, uint64_t *phys)
{
	uint64_t raw, base;
	UINTN raw_pages = EFI_SIZE_TO_PAGES(size + SIZE_2M);
	EFI_STATUS st;

	st = pages_alloc(raw_pages, BELOW_4G, &raw, L"the kernel image");
	if (EFI_ERROR(st))
		return st;
	base = align_up(raw, SIZE_2M);
	if (base > raw) {
		st = BS->FreePages(raw, EFI_SIZE_TO_PAGES(base - raw));
		if (EFI_ERROR(st))
			efi_error(st, L"returning pages below the kernel block (kept)");
	}
	if (raw + raw_pages * EFI_PAGE_SIZE > base + size) {
		st = BS->FreePages(base + size, EFI_SIZE_TO_PAGES(raw + raw_pages * EFI_PAGE_SIZE -
								  (base + size)));
		if (EFI_ERROR(st))
			efi_error(st, L"returning pages above the kernel block (kept)");
	}
	*phys = base;
	return EFI_SUCCESS;
}

EFI_STATUS kernel_load(struct boot_info *info, uint64_t *entry, uint64_t *block_size)
{
	const struct elf64_ehdr *eh = (const void *)hv_kernel_image;
	uint64_t size = (uint64_t)(hv_kernel_image_end - hv_kernel_image);
	const struct elf64_phdr *ph;
	uint64_t span, block, phys;
	EFI_STATUS st;

	st = check_header(eh, size);
	if (EFI_ERROR(st))
		return st;
	st = check_segments(eh, size, &span);
	if (EFI_ERROR(st))
		return st;
	block = align_up(span, SIZE_2M);
	st = alloc_block(block, &phys);
	if (EFI_ERROR(st))
		return st;

	/* Zeroing the whole block covers .bss (memsz beyond filesz) and any gap between segments. */
	ZeroMem((void *)(UINTN)phys, block);
	ph = (const void *)(hv_kernel_image + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		CopyMem((void *)(UINTN)(phys + ph[i].p_paddr - KERNEL_LINK_PHYS),
			(void *)(hv_kernel_image + ph[i].p_offset), ph[i].p_filesz);
	}

	info->kernel_phys_base = phys;
	info->kernel_phys_end = phys + align_up(span, EFI_PAGE_SIZE);
	*entry = eh->e_entry;
	*block_size = block;
	Print(L"hv-efi: kernel: %ld KiB at 0x%lx, entry 0x%lx\n", span / 1024, phys, eh->e_entry);
	return EFI_SUCCESS;
}
