/* Multiboot 0.6.96 kernel loader (the Multiboot Specification, sections 3.1-3.3). */
#include <hv/loader.h>
#include <hv/string.h>
#include <hv/x86.h>

#define MB1_HEADER_MAGIC 0x1badb002u
#define MB1_BOOTLOADER_MAGIC 0x2badb002u
#define MB1_SEARCH_BYTES 8192
#define MB1_FLAG_PAGE_ALIGN (1u << 0)  /* modules page aligned: hv always does */
#define MB1_FLAG_MEMORY_INFO (1u << 1) /* mem_* and mmap: hv always gives them */
#define MB1_FLAG_ADDRESSES (1u << 16)

#define MBI_MEMORY (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

#define LOW_MEMORY_END 0x9fc00u /* conventional memory below the EBDA */
#define BIOS_AREA 0xf0000u
#define HIGH_MEMORY 0x100000u
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3

#define ELF_PT_LOAD 1
#define ELF_EM_386 3
#define ELF_ET_EXEC 2

struct mb1_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct mb1_module {
	uint32_t mod_start, mod_end, string, reserved;
};

struct mb1_mmap_entry {
	uint32_t size;
	uint64_t base, length;
	uint32_t type;
} __attribute__((packed));

struct elf32_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

/* Where the next piece of boot data goes: after the kernel, page aligned. */
struct placement {
	struct vm *vm;
	uint64_t next;
	uint64_t limit; /* end of the RAM boot data may use */
};

/* RAM above 1 MiB ends where the platform's ACPI tables begin (all of it when there are none). */
static uint64_t usable_ram_end(const struct vm *vm) { return vm->acpi_base ? vm->acpi_base : vm->mem_size; }

static uint64_t align_page(uint64_t v) { return (v + 0xfff) & ~0xfffull; }

static const struct mb1_header *mb1_find_header(const uint8_t *image, uint64_t size, uint64_t *offset)
{
	/* The magic, flags and checksum must all lie in the first 8 KiB (spec 3.1.1). */
	for (uint64_t off = 0; off + sizeof(struct mb1_header) <= size && off + 12 <= MB1_SEARCH_BYTES; off += 4) {
		const struct mb1_header *h = (const void *)(image + off);
		if (h->magic == MB1_HEADER_MAGIC && h->magic + h->flags + h->checksum == 0) {
			*offset = off;
			return h;
		}
	}
	return NULL;
}

/* Copies filesz bytes and zeroes the rest of memsz at gpa; NULL or why not. */
static const char *load_segment(struct vm *vm, uint64_t gpa, const uint8_t *src, uint64_t filesz, uint64_t memsz)
{
	uint64_t ram_end = usable_ram_end(vm);

	if (filesz > memsz || gpa < HIGH_MEMORY / 256)
		return "a segment is larger than its memory size or below 4 KiB";
	uint8_t *dst = vm_gpa_to_hva(vm, gpa, memsz);
	if (!dst || memsz > ram_end || gpa > ram_end - memsz)
		return "a segment lies outside the VM's memory (give the VM more memory?)";
	memcpy(dst, src, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	return NULL;
}

static const char *load_elf32(struct vm *vm, const uint8_t *image, uint64_t size, uint32_t *entry, uint64_t *end)
{
	const struct elf32_ehdr *eh = (const void *)image;

	if (size < sizeof(*eh) || memcmp(eh->ident, "\x7f" "ELF", 4))
		return "not an ELF file and no Multiboot address fields";
	if (eh->ident[4] != 1 || eh->machine != ELF_EM_386 || eh->type != ELF_ET_EXEC)
		return "not a 32-bit x86 executable ELF (Multiboot kernels are ELF32)";
	if (eh->phentsize != sizeof(struct elf32_phdr) || eh->phoff > size ||
	    (uint64_t)eh->phnum * sizeof(struct elf32_phdr) > size - eh->phoff)
		return "the ELF program headers lie outside the file";
	*end = 0;
	for (uint32_t i = 0; i < eh->phnum; i++) {
		struct elf32_phdr phdr;
		const struct elf32_phdr *ph = &phdr;
		memcpy(&phdr, image + eh->phoff + i * sizeof(phdr), sizeof(phdr)); /* phoff may be unaligned */
		if (ph->type != ELF_PT_LOAD || ph->memsz == 0)
			continue;
		if (ph->offset > size || ph->filesz > size - ph->offset)
			return "an ELF segment lies outside the file (truncated image?)";
		const char *err = load_segment(vm, ph->paddr, image + ph->offset, ph->filesz, ph->memsz);
		if (err)
			return err;
		if ((uint64_t)ph->paddr + ph->memsz > *end)
			*end = (uint64_t)ph->paddr + ph->memsz;
	}
	if (*end == 0)
		return "the ELF has nothing to load";
	*entry = eh->entry;
	return NULL;
}

/* The a.out kludge: the header says where the file goes (Multiboot spec 3.1.3). */
static const char *load_by_address(struct vm *vm, const struct mb1_header *h, uint64_t header_off,
				   const uint8_t *image, uint64_t size, uint32_t *entry, uint64_t *end)
{
	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > header_off)
		return "bad Multiboot address fields (load_addr/header_addr)";
	uint64_t file_off = header_off - (h->header_addr - h->load_addr);
	uint64_t load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (size - file_off);
	if (load_end < h->load_addr || load_end - h->load_addr > size - file_off)
		return "the Multiboot load range is larger than the file";
	uint64_t bss_end = h->bss_end_addr > load_end ? h->bss_end_addr : load_end;
	const char *err = load_segment(vm, h->load_addr, image + file_off, load_end - h->load_addr,
				       bss_end - h->load_addr);
	if (err)
		return err;
	*entry = h->entry_addr;
	*end = bss_end;
	return NULL;
}

/* Reserves len bytes of guest memory for boot data and copies src there (when given). */
static uint32_t place(struct placement *p, const void *src, uint64_t len, void **hva)
{
	uint64_t gpa = p->next;
	void *dst = vm_gpa_to_hva(p->vm, gpa, len ? len : 1);

	if (!dst || gpa + len > p->limit || gpa + len > 0xffffffffull)
		return 0;
	if (src)
		memcpy(dst, src, len);
	if (hva)
		*hva = dst;
	p->next = align_page(gpa + len);
	return (uint32_t)gpa;
}

static uint32_t place_string(struct placement *p, const char *s) { return place(p, s, strlen(s) + 1, NULL); }

static uint32_t place_mmap(struct placement *p, uint64_t ram_end, uint64_t mem_size, uint32_t *length)
{
	const struct mb1_mmap_entry map[] = {
		{ 20, 0, LOW_MEMORY_END, E820_RAM },
		{ 20, LOW_MEMORY_END, 0xa0000 - LOW_MEMORY_END, E820_RESERVED },
		{ 20, BIOS_AREA, HIGH_MEMORY - BIOS_AREA, E820_RESERVED },
		{ 20, HIGH_MEMORY, ram_end - HIGH_MEMORY, E820_RAM },
		{ 20, ram_end, mem_size - ram_end, E820_ACPI },
	};

	/* The ACPI entry only when the platform put tables there. */
	*length = ram_end < mem_size ? sizeof(map) : sizeof(map) - sizeof(map[0]);
	return place(p, map, sizeof(map), NULL);
}

static const char *place_modules(struct placement *p, struct mb1_info *mbi, const struct loader_module *modules,
				 uint32_t count)
{
	struct mb1_module list[16];

	if (count > 16)
		return "too many modules";
	for (uint32_t i = 0; i < count; i++) {
		list[i].mod_start = place(p, modules[i].data, modules[i].size, NULL);
		if (!list[i].mod_start)
			return "the modules do not fit in the VM's memory";
		list[i].mod_end = list[i].mod_start + (uint32_t)modules[i].size;
		list[i].string = place_string(p, modules[i].string);
		list[i].reserved = 0;
	}
	mbi->mods_count = count;
	mbi->mods_addr = count ? place(p, list, count * sizeof(list[0]), NULL) : 0;
	return NULL;
}

void multiboot_boot_state(struct vcpu *v, uint32_t magic, uint32_t entry, uint32_t info)
{
	struct vcpu_boot_state *b = &v->boot;

	memset(b, 0, sizeof(*b));
	b->valid = true;
	b->rip = entry;
	b->rflags = 0x2;
	b->cr0 = CR0_PE | CR0_ET;
	b->gpr[VM_REG_RAX] = magic;
	b->gpr[VM_REG_RBX] = info;
	/* Flat 32-bit segments; the selectors are hv's choice. */
	b->code = (struct seg_desc){ 0, 0xffffffffu, 0x9b | SEG_ACCESS_DB | SEG_ACCESS_G, 0x08 };
	b->data = (struct seg_desc){ 0, 0xffffffffu, 0x93 | SEG_ACCESS_DB | SEG_ACCESS_G, 0x10 };
	b->gdtr = (struct seg_desc){ 0, 0, 0, 0 };
	b->idtr = (struct seg_desc){ 0, 0x3ff, 0, 0 };
}

const char *mb1_load(struct vm *vm, const uint8_t *image, uint64_t size, const char *cmdline,
		     const struct loader_module *modules, uint32_t module_count)
{
	uint64_t header_off, end;
	uint32_t entry;
	const struct mb1_header *h = mb1_find_header(image, size, &header_off);

	if (!h)
		return "no Multiboot header in the first 8 KiB (not a Multiboot kernel)";
	/* Bits 0-15 are requirements: refuse what hv cannot honour (video modes, undefined bits). */
	if (h->flags & 0xffffu & ~(MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMORY_INFO))
		return "the Multiboot header requires features hv does not offer (video mode or unknown flags)";
	const char *err = h->flags & MB1_FLAG_ADDRESSES ? load_by_address(vm, h, header_off, image, size, &entry, &end)
							: load_elf32(vm, image, size, &entry, &end);
	if (err)
		return err;

	uint64_t ram_end = usable_ram_end(vm);
	struct placement p = { vm, align_page(end), ram_end };
	struct mb1_info *mbi;
	uint32_t mbi_gpa = place(&p, NULL, sizeof(*mbi), (void **)&mbi);
	if (!mbi_gpa)
		return "no room for the Multiboot information after the kernel";
	memset(mbi, 0, sizeof(*mbi));
	mbi->flags = MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
	mbi->mem_lower = LOW_MEMORY_END / 1024;
	mbi->mem_upper = (uint32_t)((ram_end - HIGH_MEMORY) / 1024);
	mbi->cmdline = place_string(&p, cmdline);
	mbi->boot_loader_name = place_string(&p, "hv");
	mbi->mmap_addr = place_mmap(&p, ram_end, vm->mem_size, &mbi->mmap_length);
	err = place_modules(&p, mbi, modules, module_count);
	if (err)
		return err;
	if (!mbi->cmdline || !mbi->boot_loader_name || !mbi->mmap_addr)
		return "the boot information does not fit in the VM's memory";
	multiboot_boot_state(&vm->vcpus[0], MB1_BOOTLOADER_MAGIC, entry, mbi_gpa);
	return NULL;
}
