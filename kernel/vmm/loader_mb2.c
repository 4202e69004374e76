/* Multiboot2 kernel loader (Multiboot2 Specification 2.0: 3.1 header, 3.3 machine state, 3.6 boot
 * information). The image is hostile input: every field is checked before it is used. */
#include <hv/fmt.h>
#include <hv/loader.h>
#include <hv/loader_linux.h>
#include <hv/string.h>

#define MB2_HEADER_MAGIC 0xe85250d6u
#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define MB2_SEARCH 32768
#define MB2_HEADER_ALIGN 8
#define MB2_HEADER_SIZE 16 /* magic, architecture, header_length, checksum */
#define MB2_ARCHITECTURE_I386 0

#define MB2_HEADER_TAG_END 0
#define MB2_HEADER_TAG_INFORMATION_REQUEST 1
#define MB2_HEADER_TAG_ADDRESS 2
#define MB2_HEADER_TAG_ENTRY_ADDRESS 3
#define MB2_HEADER_TAG_CONSOLE_FLAGS 4
#define MB2_HEADER_TAG_FRAMEBUFFER 5
#define MB2_HEADER_TAG_MODULE_ALIGN 6
#define MB2_HEADER_TAG_EFI_BS 7
#define MB2_HEADER_TAG_ENTRY_ADDRESS_EFI32 8
#define MB2_HEADER_TAG_ENTRY_ADDRESS_EFI64 9
#define MB2_HEADER_TAG_RELOCATABLE 10
#define MB2_HEADER_TAG_OPTIONAL 1
#define MB2_CONSOLE_FLAGS_CONSOLE_REQUIRED 1
#define MB2_LOAD_ADDR_FILE_START 0xffffffffu /* address tag: load the file from its first byte */

#define MB2_TAG_ALIGN 8
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_BOOT_LOADER_NAME 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_NEW 15
#define MB2_TAG_LOAD_BASE_ADDR 21
#define MB2_MMAP_ENTRY_SIZE 24
#define MB2_MMAP_ENTRY_VERSION 0

#define ELF_CLASS32 1
#define ELF_CLASS64 2
#define ELF_DATA_LSB 1
#define ELF_ET_EXEC 2
#define ELF_EM_386 3
#define ELF_EM_X86_64 62
#define ELF_PT_LOAD 1

#define ACPI_RSDP_SIGNATURE "RSD PTR "
#define ACPI_RSDP_V2_SIZE 36
#define ACPI_RSDP_LENGTH_OFFSET 20
#define ACPI_RSDP_MAX 4096

#define KIB 1024u
#define HIGH_MEMORY 0x100000u
#define LOW_MEMORY_MAX (640u * KIB)
#define FOUR_GIB (1ull << 32)
#define PAGE_SIZE 4096u
#define MB2_MAX_MODULES 16

static char message[160];

static const char *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return message;
}

/* The image may sit at any alignment: read its fields byte-wise. */
static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof(v)); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, sizeof(v)); }

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ------------------------------------------------------------------------------------------------ */
/* The header                                                                                        */

/* Offset of the first header with a good checksum, 8-byte aligned, whole within the first 32 KiB
 * and the file; false when there is none. */
static bool find_header(const uint8_t *image, uint64_t size, uint64_t *offset)
{
	uint64_t limit = min_u64(size, MB2_SEARCH);

	for (uint64_t off = 0; off + MB2_HEADER_SIZE <= limit; off += MB2_HEADER_ALIGN) {
		const uint8_t *h = image + off;
		uint32_t magic = rd32(h), arch = rd32(h + 4), length = rd32(h + 8), checksum = rd32(h + 12);
		if (magic != MB2_HEADER_MAGIC || magic + arch + length + checksum != 0)
			continue;
		if (length < MB2_HEADER_SIZE || length > limit - off)
			continue;
		*offset = off;
		return true;
	}
	return false;
}

bool mb2_has_header(const uint8_t *image, uint64_t size)
{
	uint64_t off;

	return find_header(image, size, &off);
}

/* What the header asks for. */
struct mb2_request {
	uint64_t header_off;
	bool has_address, has_entry, relocatable;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry;
	uint32_t min_addr, max_addr, align;
};

/* The boot information hv gives: the tags a required information request may name. */
static bool info_given(uint32_t type)
{
	switch (type) {
	case MB2_TAG_END:
	case MB2_TAG_CMDLINE:
	case MB2_TAG_BOOT_LOADER_NAME:
	case MB2_TAG_MODULE:
	case MB2_TAG_BASIC_MEMINFO:
	case MB2_TAG_MMAP:
	case MB2_TAG_ACPI_NEW:
	case MB2_TAG_LOAD_BASE_ADDR:
		return true;
	default:
		return false;
	}
}

static const char *info_request(const uint8_t *tag, uint32_t size, bool optional)
{
	if (optional)
		return NULL;
	for (uint32_t off = 8; off + 4 <= size; off += 4) {
		uint32_t type = rd32(tag + off);
		if (!info_given(type))
			return fail("the Multiboot2 header requires boot information tag %u, which hv does not give",
				    type);
	}
	return NULL;
}

/* Fixed size of each header tag hv reads, to refuse truncated ones. */
static uint32_t tag_min_size(uint16_t type)
{
	switch (type) {
	case MB2_HEADER_TAG_ADDRESS:
	case MB2_HEADER_TAG_RELOCATABLE:
		return 24;
	case MB2_HEADER_TAG_ENTRY_ADDRESS:
	case MB2_HEADER_TAG_CONSOLE_FLAGS:
		return 12;
	default:
		return 8;
	}
}

static const char *header_tag(struct mb2_request *r, const uint8_t *tag, uint16_t type, bool optional, uint32_t size)
{
	switch (type) {
	case MB2_HEADER_TAG_INFORMATION_REQUEST:
		return info_request(tag, size, optional);
	case MB2_HEADER_TAG_ADDRESS:
		r->has_address = true;
		r->header_addr = rd32(tag + 8);
		r->load_addr = rd32(tag + 12);
		r->load_end_addr = rd32(tag + 16);
		r->bss_end_addr = rd32(tag + 20);
		return NULL;
	case MB2_HEADER_TAG_ENTRY_ADDRESS:
		r->has_entry = true;
		r->entry = rd32(tag + 8);
		return NULL;
	case MB2_HEADER_TAG_CONSOLE_FLAGS:
		if (!optional && (rd32(tag + 8) & MB2_CONSOLE_FLAGS_CONSOLE_REQUIRED))
			return "the Multiboot2 header requires a console (EGA text or framebuffer); a VM has COM1 only";
		return NULL;
	case MB2_HEADER_TAG_FRAMEBUFFER:
		return optional ? NULL : "the Multiboot2 header requires a framebuffer, which a VM does not have";
	case MB2_HEADER_TAG_MODULE_ALIGN: /* hv page-aligns modules anyway */
	case MB2_HEADER_TAG_EFI_BS:	  /* these three apply when EFI boot services stay up: a VM has no EFI */
	case MB2_HEADER_TAG_ENTRY_ADDRESS_EFI32:
	case MB2_HEADER_TAG_ENTRY_ADDRESS_EFI64:
		return NULL;
	case MB2_HEADER_TAG_RELOCATABLE:
		r->relocatable = true;
		r->min_addr = rd32(tag + 8);
		r->max_addr = rd32(tag + 12);
		r->align = rd32(tag + 16) ? rd32(tag + 16) : 1;
		return NULL;
	default:
		return optional ? NULL : fail("the Multiboot2 header requires header tag %u, which hv does not know", type);
	}
}

static const char *parse_header(const uint8_t *image, uint64_t size, struct mb2_request *r)
{
	uint64_t off;

	memset(r, 0, sizeof(*r));
	if (!find_header(image, size, &off))
		return "no Multiboot2 header in the first 32 KiB";
	const uint8_t *h = image + off;
	if (rd32(h + 4) != MB2_ARCHITECTURE_I386)
		return "the Multiboot2 header is not for i386";
	r->header_off = off;
	uint32_t length = rd32(h + 8);
	for (uint32_t t = MB2_HEADER_SIZE; t + 8 <= length;) {
		uint16_t type = rd16(h + t), flags = rd16(h + t + 2);
		uint32_t tag_size = rd32(h + t + 4);
		if (tag_size < tag_min_size(type) || tag_size > length - t)
			return fail("Multiboot2 header tag %u at offset %u is truncated or overruns the header", type, t);
		if (type == MB2_HEADER_TAG_END)
			return r->has_address && !r->has_entry ? "the Multiboot2 address tag needs an entry address tag"
							       : NULL;
		const char *err = header_tag(r, h + t, type, flags & MB2_HEADER_TAG_OPTIONAL, tag_size);
		if (err)
			return err;
		if (align_up(tag_size, MB2_TAG_ALIGN) > length - t)
			break;
		t += (uint32_t)align_up(tag_size, MB2_TAG_ALIGN);
	}
	return "the Multiboot2 header has no end tag";
}

/* ------------------------------------------------------------------------------------------------ */
/* The image: one or more segments copied from the file into guest RAM                              */

struct segment {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct mb2_image {
	const uint8_t *data;
	uint64_t size;
	bool elf, elf64;
	uint64_t phoff;
	uint32_t phnum;
	struct segment raw; /* without ELF: the range the address tag gives */
	uint64_t lo, hi;    /* the physical range the segments span, as linked */
	uint64_t entry;
};

static uint32_t phdr_size(const struct mb2_image *im) { return im->elf64 ? 56 : 32; }

/* Program header i (checked to lie in the file) in a class-neutral form. */
static void elf_segment(const struct mb2_image *im, uint32_t i, struct segment *s)
{
	const uint8_t *p = im->data + im->phoff + (uint64_t)i * phdr_size(im);
	uint32_t type = rd32(p);

	if (im->elf64)
		*s = (struct segment){ type, rd64(p + 8), rd64(p + 16), rd64(p + 24), rd64(p + 32), rd64(p + 40) };
	else
		*s = (struct segment){ type, rd32(p + 4), rd32(p + 8), rd32(p + 12), rd32(p + 16), rd32(p + 20) };
}

static uint32_t segment_count(const struct mb2_image *im) { return im->elf ? im->phnum : 1; }

/* Segment i, or false when it loads nothing. */
static bool image_segment(const struct mb2_image *im, uint32_t i, struct segment *s)
{
	if (!im->elf) {
		*s = im->raw;
		return s->memsz != 0;
	}
	elf_segment(im, i, s);
	return s->type == ELF_PT_LOAD && s->memsz != 0;
}

static const char *elf_header(struct mb2_image *im)
{
	const uint8_t *e = im->data;

	if (im->size < 64 || memcmp(e, "\x7f" "ELF", 4))
		return "not an ELF file and no Multiboot2 address tag";
	im->elf = true;
	im->elf64 = e[4] == ELF_CLASS64;
	uint16_t type = rd16(e + 16), machine = rd16(e + 18);
	if ((e[4] != ELF_CLASS32 && e[4] != ELF_CLASS64) || e[5] != ELF_DATA_LSB || type != ELF_ET_EXEC ||
	    machine != (im->elf64 ? ELF_EM_X86_64 : ELF_EM_386))
		return "not an x86 executable ELF (ELF32 i386 or ELF64 x86-64)";
	im->entry = im->elf64 ? rd64(e + 24) : rd32(e + 24);
	im->phoff = im->elf64 ? rd64(e + 32) : rd32(e + 28);
	uint16_t phentsize = rd16(e + (im->elf64 ? 54 : 42));
	im->phnum = rd16(e + (im->elf64 ? 56 : 44));
	if (phentsize != phdr_size(im) || im->phoff > im->size ||
	    (uint64_t)im->phnum * phentsize > im->size - im->phoff)
		return "the ELF program headers lie outside the file";
	return NULL;
}

/* The ELF entry is virtual; like GRUB, translate it through the segment that holds it. */
static uint64_t elf_physical_entry(const struct mb2_image *im)
{
	struct segment s;

	for (uint32_t i = 0; i < im->phnum; i++)
		if (image_segment(im, i, &s) && im->entry >= s.vaddr && im->entry - s.vaddr < s.memsz)
			return s.paddr + (im->entry - s.vaddr);
	return im->entry;
}

/* The a.out-style range of the address tag (spec 3.1.5). */
static const char *address_range(struct mb2_image *im, const struct mb2_request *r)
{
	uint64_t load = r->load_addr;

	if (load == MB2_LOAD_ADDR_FILE_START) {
		if (r->header_addr < r->header_off)
			return "bad Multiboot2 address tag (header_addr below the header's file offset)";
		load = r->header_addr - r->header_off;
	}
	if (load > r->header_addr || r->header_addr - load > r->header_off)
		return "bad Multiboot2 address tag (load_addr/header_addr)";
	if (r->load_end_addr && r->load_end_addr < load)
		return "bad Multiboot2 address tag (load_end_addr below load_addr)";
	uint64_t file_off = r->header_off - (r->header_addr - load);
	uint64_t filesz = r->load_end_addr ? r->load_end_addr - load : im->size - file_off;
	if (filesz > im->size - file_off)
		return "the Multiboot2 load range is larger than the file";
	if (r->bss_end_addr && r->bss_end_addr < load + filesz)
		return "bad Multiboot2 address tag (bss_end_addr below the loaded data)";
	uint64_t memsz = r->bss_end_addr ? r->bss_end_addr - load : filesz;
	im->raw = (struct segment){ ELF_PT_LOAD, file_off, load, load, filesz, memsz };
	return NULL;
}

/* Checks every segment against the file, and finds the range they span. */
static const char *scan_segments(struct mb2_image *im)
{
	struct segment s;

	im->lo = UINT64_MAX;
	im->hi = 0;
	for (uint32_t i = 0; i < segment_count(im); i++) {
		if (!image_segment(im, i, &s))
			continue;
		if (s.offset > im->size || s.filesz > im->size - s.offset)
			return "a segment lies outside the file (truncated image?)";
		if (s.filesz > s.memsz || s.paddr >= FOUR_GIB || s.memsz > FOUR_GIB - s.paddr)
			return "a segment is larger than its memory size or does not fit below 4 GiB";
		im->lo = min_u64(im->lo, s.paddr);
		im->hi = max_u64(im->hi, s.paddr + s.memsz);
	}
	return im->hi ? NULL : "the image has nothing to load";
}

/* ------------------------------------------------------------------------------------------------ */
/* Guest memory: the VM's map decides what is RAM                                                     */

struct ram {
	struct vm *vm;
	const struct linux_e820 *map;
	uint32_t entries;
};

static bool entry_end(const struct linux_e820 *e, uint64_t *end)
{
	return !__builtin_add_overflow(e->addr, e->size, end);
}

/* [gpa, gpa + len) lies in one RAM entry of the map and in the VM's memory. */
static bool in_ram(const struct ram *ram, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (len == 0 || __builtin_add_overflow(gpa, len, &end) || !vm_gpa_to_hva(ram->vm, gpa, len))
		return false;
	for (uint32_t i = 0; i < ram->entries; i++) {
		uint64_t e_end;
		const struct linux_e820 *e = &ram->map[i];
		if (e->type == LINUX_E820_RAM && entry_end(e, &e_end) && gpa >= e->addr && end <= e_end)
			return true;
	}
	return false;
}

static bool segments_fit(const struct mb2_image *im, const struct ram *ram, uint64_t delta)
{
	struct segment s;

	for (uint32_t i = 0; i < segment_count(im); i++)
		if (image_segment(im, i, &s) && !in_ram(ram, s.paddr + delta, s.memsz))
			return false;
	return true;
}

/* Where a relocatable image goes: its linked place when the tag allows it, else the lowest place the
 * tag allows whose segments all land in RAM. Returns the load base, or UINT64_MAX. */
static uint64_t relocate(const struct mb2_image *im, const struct mb2_request *r, const struct ram *ram)
{
	uint64_t span = im->hi - im->lo;

	if (span > r->max_addr)
		return UINT64_MAX;
	uint64_t top = (uint64_t)r->max_addr - span; /* the highest base the tag allows */
	if (im->lo >= r->min_addr && im->lo <= top && im->lo % r->align == 0 && segments_fit(im, ram, 0))
		return im->lo;
	for (uint32_t i = 0; i < ram->entries; i++) {
		const struct linux_e820 *e = &ram->map[i];
		uint64_t base = align_up(max_u64(max_u64(e->addr, r->min_addr), PAGE_SIZE), r->align);
		if (e->type != LINUX_E820_RAM || base > top)
			continue;
		if (segments_fit(im, ram, base - im->lo))
			return base;
	}
	return UINT64_MAX;
}

static void copy_segments(const struct mb2_image *im, struct vm *vm, uint64_t delta)
{
	struct segment s;

	for (uint32_t i = 0; i < segment_count(im); i++) {
		if (!image_segment(im, i, &s))
			continue;
		uint8_t *dst = vm_gpa_to_hva(vm, s.paddr + delta, s.memsz); /* checked by segments_fit */
		memcpy(dst, im->data + s.offset, s.filesz);
		memset(dst + s.filesz, 0, s.memsz - s.filesz);
	}
}

/* Boot data (modules, the information) go page by page upward from the kernel's end, in RAM below
 * 4 GiB. Returns the gpa, or 0 when it does not fit. */
struct placement {
	const struct ram *ram;
	uint64_t next;
};

static uint64_t place(struct placement *p, uint64_t len)
{
	uint64_t need = len ? len : 1;

	for (uint32_t i = 0; i < p->ram->entries; i++) {
		const struct linux_e820 *e = &p->ram->map[i];
		uint64_t gpa = align_up(max_u64(p->next, e->addr), PAGE_SIZE);
		if (e->type != LINUX_E820_RAM || gpa >= FOUR_GIB || need > FOUR_GIB - gpa || !in_ram(p->ram, gpa, need))
			continue;
		p->next = gpa + len;
		return gpa;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* The boot information (spec 3.6)                                                                   */

struct mbi_writer {
	uint8_t *buf; /* NULL: only measure */
	uint32_t len;
};

/* Starts a tag of size bytes (header included); returns where its body goes, or NULL when measuring. */
static uint8_t *tag(struct mbi_writer *w, uint32_t type, uint32_t size)
{
	uint8_t *t = w->buf ? w->buf + w->len : NULL;

	if (t) {
		memset(t, 0, align_up(size, MB2_TAG_ALIGN));
		wr32(t, type);
		wr32(t + 4, size);
	}
	w->len += (uint32_t)align_up(size, MB2_TAG_ALIGN);
	return t ? t + 8 : NULL;
}

static void string_tag(struct mbi_writer *w, uint32_t type, const char *s)
{
	uint32_t n = (uint32_t)strlen(s) + 1;
	uint8_t *body = tag(w, type, 8 + n);

	if (body)
		memcpy(body, s, n);
}

struct boot_data {
	const char *cmdline;
	const struct loader_module *modules;
	const uint32_t *module_gpa;
	uint32_t module_count;
	const struct linux_e820 *map;
	uint32_t map_entries;
	const uint8_t *rsdp;
	uint32_t rsdp_len;
	bool relocatable;
	uint64_t load_base;
};

/* mem_lower: the RAM from 0; mem_upper: the RAM from 1 MiB to the first hole (spec 3.6.3). */
static void basic_meminfo(struct mbi_writer *w, const struct boot_data *d)
{
	uint8_t *body = tag(w, MB2_TAG_BASIC_MEMINFO, 16);
	uint64_t lower = 0, upper = 0;

	for (uint32_t i = 0; i < d->map_entries; i++) {
		const struct linux_e820 *e = &d->map[i];
		if (e->type == LINUX_E820_RAM && e->addr == 0)
			lower = min_u64(e->size, LOW_MEMORY_MAX);
		if (e->type == LINUX_E820_RAM && e->addr <= HIGH_MEMORY && e->size > HIGH_MEMORY - e->addr)
			upper = min_u64(e->addr + e->size - HIGH_MEMORY, FOUR_GIB - HIGH_MEMORY);
	}
	if (!body)
		return;
	wr32(body, (uint32_t)(lower / KIB));
	wr32(body + 4, (uint32_t)(upper / KIB));
}

static void memory_map(struct mbi_writer *w, const struct boot_data *d)
{
	uint8_t *body = tag(w, MB2_TAG_MMAP, 16 + d->map_entries * MB2_MMAP_ENTRY_SIZE);

	if (!body)
		return;
	wr32(body, MB2_MMAP_ENTRY_SIZE);
	wr32(body + 4, MB2_MMAP_ENTRY_VERSION);
	for (uint32_t i = 0; i < d->map_entries; i++) {
		uint8_t *e = body + 8 + i * MB2_MMAP_ENTRY_SIZE;
		wr64(e, d->map[i].addr);
		wr64(e + 8, d->map[i].size);
		wr32(e + 16, d->map[i].type); /* e820 types are Multiboot2's: 1 RAM, 3 ACPI, 4 NVS */
	}
}

static void write_mbi(struct mbi_writer *w, const struct boot_data *d)
{
	uint8_t *body;

	w->len = 8; /* total_size, reserved */
	string_tag(w, MB2_TAG_CMDLINE, d->cmdline);
	string_tag(w, MB2_TAG_BOOT_LOADER_NAME, "hv");
	for (uint32_t i = 0; i < d->module_count; i++) {
		uint32_t n = (uint32_t)strlen(d->modules[i].string) + 1;
		body = tag(w, MB2_TAG_MODULE, 16 + n);
		if (!body)
			continue;
		wr32(body, d->module_gpa[i]);
		wr32(body + 4, d->module_gpa[i] + (uint32_t)d->modules[i].size);
		memcpy(body + 8, d->modules[i].string, n);
	}
	basic_meminfo(w, d);
	memory_map(w, d);
	if (d->rsdp_len && (body = tag(w, MB2_TAG_ACPI_NEW, 8 + d->rsdp_len)))
		memcpy(body, d->rsdp, d->rsdp_len);
	if (d->relocatable && (body = tag(w, MB2_TAG_LOAD_BASE_ADDR, 12)))
		wr32(body, (uint32_t)d->load_base);
	tag(w, MB2_TAG_END, 8);
	if (w->buf) {
		wr32(w->buf, w->len);
		wr32(w->buf + 4, 0);
	}
}

/* hv's own RSDP, as a copy for the ACPI tag: an ACPI 2.0+ RSDP whose length field covers it. */
static const char *find_rsdp(struct vm *vm, uint64_t gpa, struct boot_data *d)
{
	if (!gpa)
		return NULL;
	const uint8_t *rsdp = vm_gpa_to_hva(vm, gpa, ACPI_RSDP_V2_SIZE);
	if (!rsdp || memcmp(rsdp, ACPI_RSDP_SIGNATURE, 8))
		return "the VM's ACPI RSDP is missing";
	uint32_t len = rd32(rsdp + ACPI_RSDP_LENGTH_OFFSET);
	if (len < ACPI_RSDP_V2_SIZE || len > ACPI_RSDP_MAX || !vm_gpa_to_hva(vm, gpa, len))
		return "the VM's ACPI RSDP has a bad length";
	d->rsdp = rsdp;
	d->rsdp_len = len;
	return NULL;
}

/* ------------------------------------------------------------------------------------------------ */

static const char *load_image(struct mb2_image *im, const struct mb2_request *r, const struct ram *ram,
			      uint64_t *delta, uint32_t *entry)
{
	const char *err = r->has_address ? address_range(im, r) : elf_header(im);

	if (!err)
		err = scan_segments(im);
	if (err)
		return err;
	*delta = 0;
	if (r->relocatable) {
		uint64_t base = relocate(im, r, ram);
		if (base == UINT64_MAX)
			return "no place in the VM's RAM satisfies the Multiboot2 relocatable tag";
		*delta = base - im->lo;
	} else if (!segments_fit(im, ram, 0)) {
		return "the kernel does not lie in the VM's RAM (give the VM more memory?)";
	}
	/* parse_header made sure an address-tag image has an entry tag */
	uint64_t e = (r->has_entry ? r->entry : elf_physical_entry(im)) + *delta;
	if (e >= FOUR_GIB)
		return "the entry point is above 4 GiB (an ELF64 kernel needs an entry address tag)";
	copy_segments(im, ram->vm, *delta);
	*entry = (uint32_t)e;
	return NULL;
}

static const char *place_modules(struct placement *p, const struct loader_module *modules, uint32_t count,
				 uint32_t *gpa)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t at = place(p, modules[i].size);
		if (!at)
			return "the modules do not fit in the VM's memory";
		memcpy(vm_gpa_to_hva(p->ram->vm, at, modules[i].size ? modules[i].size : 1), modules[i].data,
		       modules[i].size);
		gpa[i] = (uint32_t)at;
	}
	return NULL;
}

const char *mb2_load(struct vm *vm, const uint8_t *image, uint64_t size, const char *cmdline,
		     const struct loader_module *modules, uint32_t module_count, const struct linux_e820 *map,
		     uint32_t map_entries, uint64_t acpi_rsdp_gpa)
{
	uint32_t module_gpa[MB2_MAX_MODULES];
	struct mb2_request r;
	struct mb2_image im = { .data = image, .size = size };
	struct ram ram = { vm, map, map_entries };
	struct boot_data d = { cmdline, modules, module_gpa, module_count, map, map_entries, NULL, 0, false, 0 };
	uint64_t delta;
	uint32_t entry;

	if (module_count > MB2_MAX_MODULES)
		return "too many modules";
	const char *err = parse_header(image, size, &r);
	if (!err)
		err = find_rsdp(vm, acpi_rsdp_gpa, &d);
	if (!err)
		err = load_image(&im, &r, &ram, &delta, &entry);
	if (err)
		return err;
	d.relocatable = r.relocatable;
	d.load_base = im.lo + delta;

	struct placement p = { &ram, im.hi + delta };
	err = place_modules(&p, modules, module_count, module_gpa);
	if (err)
		return err;
	struct mbi_writer w = { NULL, 0 };
	write_mbi(&w, &d);
	uint64_t mbi = place(&p, w.len);
	if (!mbi)
		return "the boot information does not fit in the VM's memory";
	w.buf = vm_gpa_to_hva(vm, mbi, w.len);
	write_mbi(&w, &d);
	multiboot_boot_state(&vm->vcpus[0], MB2_BOOTLOADER_MAGIC, entry, (uint32_t)mbi);
	return NULL;
}
