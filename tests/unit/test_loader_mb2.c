/*
 * Unit tests of kernel/vmm/loader_mb2.c, the Multiboot2 loader: the real Multiboot2 test guest
 * (`make guests`: GUEST_ELF from build.mk, or $HV_GUEST_ELF), hv.elf itself when built (an ELF64
 * with an entry address tag; HV_ELF or $HV_ELF, skipped when absent), and images synthesized here:
 * ELF32/ELF64, the address tag, header placement and checksum, tags refused or ignored, relocation,
 * placement around holes of the memory map. The guest's view is read back from guest memory with
 * the layouts of the Multiboot2 Specification 2.0 written out here, never the loader's own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv/loader.h>
#include <hv/loader_linux.h>

#ifndef GUEST_ELF
#define GUEST_ELF "build/guests/mb2.elf"
#endif
#ifndef HV_ELF
#define HV_ELF "build/hv.elf"
#endif

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define RAM_SIZE (8 * MIB)
#define ACPI_BASE (RAM_SIZE - 64 * KIB)
#define PG 4096u

#define MB2_MAGIC 0xe85250d6u
#define MB2_BOOT_MAGIC 0x36d76289u
#define OPTIONAL 1

/* ------------------------------------------------------------------------------------------------ */
/* A fake VM: 8 MiB of RAM at 0, with the map a VM has and an ACPI RSDP at the start of its region   */

static struct vm vm;
static uint8_t *ram;
static struct linux_e820 map[8];
static uint32_t map_n;
static uint64_t rsdp_gpa;

static const uint8_t rsdp[36] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0, 'H', 'V', ' ', ' ', ' ', ' ', 2,
				  0, 0, 0, 0, 36, 0, 0, 0, 0x40, 0, 0x7f, 0, 0, 0, 0, 0 };

static void put_rsdp(uint64_t gpa)
{
	uint8_t r[36];
	uint8_t s = 0;

	memcpy(r, rsdp, sizeof(r));
	for (int i = 0; i < 20; i++)
		s += r[i];
	r[8] = (uint8_t)-s;
	s = 0;
	for (int i = 0; i < 36; i++)
		s += r[i];
	r[32] = (uint8_t)-s;
	memcpy(ram + gpa, r, sizeof(r));
}

static void make_vm(void)
{
	if (!ram)
		ram = malloc(RAM_SIZE);
	assert_non_null(ram);
	memset(ram, 0xcc, RAM_SIZE);
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, "mb2");
	vm.vcpu_count = 1;
	vm.vcpus[0].vm = &vm;
	vm.memsegs[0] = (struct vm_memseg){ .gpa = 0, .len = RAM_SIZE, .hpa = 0, .hva = ram };
	vm.memseg_count = 1;
	vm.mem_size = RAM_SIZE;
	vm.acpi_base = ACPI_BASE;
	map_n = 0;
	map[map_n++] = (struct linux_e820){ 0, 0x9fc00, 1 };
	map[map_n++] = (struct linux_e820){ 0x9fc00, 0x400, 2 };
	map[map_n++] = (struct linux_e820){ 0xe0000, 0x20000, 2 };
	map[map_n++] = (struct linux_e820){ MIB, ACPI_BASE - MIB, 1 };
	map[map_n++] = (struct linux_e820){ ACPI_BASE, RAM_SIZE - ACPI_BASE, 3 };
	rsdp_gpa = ACPI_BASE;
	put_rsdp(rsdp_gpa);
}

static int setup(void **state)
{
	(void)state;
	make_vm();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	ram = NULL;
	return 0;
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;
	assert_true(gpa + 4 <= RAM_SIZE);
	memcpy(&v, ram + gpa, 4);
	return v;
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;
	assert_true(gpa + 8 <= RAM_SIZE);
	memcpy(&v, ram + gpa, 8);
	return v;
}

/* ------------------------------------------------------------------------------------------------ */
/* Image building: a header with tags at a chosen offset of an ELF32, ELF64 or raw image             */

struct image {
	uint8_t *data;
	size_t size;
};

struct hdr {
	uint8_t b[512];
	uint32_t len;
};

static void hdr_start(struct hdr *h) { memset(h, 0, sizeof(*h)), h->len = 16; }

static void hdr_tag(struct hdr *h, uint16_t type, uint16_t flags, const uint32_t *body, uint32_t words)
{
	uint32_t size = 8 + 4 * words;

	assert_true(h->len + size + 8 <= sizeof(h->b));
	memcpy(h->b + h->len, &type, 2);
	memcpy(h->b + h->len + 2, &flags, 2);
	memcpy(h->b + h->len + 4, &size, 4);
	if (words)
		memcpy(h->b + h->len + 8, body, 4 * words);
	h->len += (size + 7) & ~7u;
}

/* Ends the tags and fills magic, architecture, length and checksum. */
static void hdr_end(struct hdr *h, uint32_t arch)
{
	hdr_tag(h, 0, 0, NULL, 0);
	uint32_t f[4] = { MB2_MAGIC, arch, h->len, 0 };
	f[3] = -(f[0] + f[1] + f[2]);
	memcpy(h->b, f, 16);
}

struct seg {
	uint64_t vaddr, paddr, filesz, memsz;
};

static void fill_pattern(struct image *im, size_t from)
{
	for (size_t i = from; i < im->size; i++)
		im->data[i] = (uint8_t)(i * 7 + 3);
}

/* ELF32 or ELF64: program headers after the ELF header, the Multiboot2 header at file offset hdr_off,
 * segment data page aligned from 0x2000 on. */
static struct image make_elf(bool elf64, const struct seg *segs, int n, uint64_t entry, const struct hdr *h,
			     size_t hdr_off)
{
	size_t off = 0x2000, offsets[8];

	assert_true(n <= 8);
	if (h && hdr_off + h->len > off)
		off = (hdr_off + h->len + 0xfff) & ~(size_t)0xfff;
	for (int i = 0; i < n; i++) {
		offsets[i] = off;
		off = (off + segs[i].filesz + 0xfff) & ~(size_t)0xfff;
	}
	struct image im = { calloc(1, off), off };
	assert_non_null(im.data);
	fill_pattern(&im, 0x800);
	if (elf64) {
		Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT, .e_entry = entry,
				  .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
				  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = (uint16_t)n };
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		memcpy(im.data, &eh, sizeof(eh));
		for (int i = 0; i < n; i++) {
			Elf64_Phdr ph = { PT_LOAD, PF_R | PF_X, offsets[i], segs[i].vaddr, segs[i].paddr,
					  segs[i].filesz, segs[i].memsz, PG };
			memcpy(im.data + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		}
	} else {
		Elf32_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
				  .e_entry = (uint32_t)entry, .e_phoff = sizeof(Elf32_Ehdr), .e_ehsize = sizeof(Elf32_Ehdr),
				  .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = (uint16_t)n };
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS32;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		memcpy(im.data, &eh, sizeof(eh));
		for (int i = 0; i < n; i++) {
			Elf32_Phdr ph = { PT_LOAD, (uint32_t)offsets[i], (uint32_t)segs[i].vaddr, (uint32_t)segs[i].paddr,
					  (uint32_t)segs[i].filesz, (uint32_t)segs[i].memsz, PF_R | PF_X, PG };
			memcpy(im.data + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		}
	}
	if (h)
		memcpy(im.data + hdr_off, h->b, h->len);
	return im;
}

/* A minimal ELF32 kernel: one segment at 1 MiB, the given header at file offset 0x800. */
static struct image simple_elf(const struct hdr *h)
{
	const struct seg s[] = { { 0x100000, 0x100000, 0x1800, 0x3000 } };
	return make_elf(false, s, 1, 0x100040, h, 0x800);
}

static struct hdr plain_header(void)
{
	struct hdr h;
	hdr_start(&h);
	hdr_end(&h, 0);
	return h;
}

static struct image read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct image im = { NULL, 0 };

	if (!f)
		return im;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	im.data = malloc((size_t)n);
	im.size = (size_t)n;
	assert_non_null(im.data);
	assert_int_equal(fread(im.data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return im;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *p = getenv(name);
	return p && *p ? p : fallback;
}

/* ------------------------------------------------------------------------------------------------ */
/* Reading the boot information back                                                                */

struct mbi_view {
	uint32_t base, total;
	uint32_t cmdline, name, meminfo, mmap, acpi_new, acpi_old, load_base;
	uint32_t modules[8];
	uint32_t module_count, tags;
};

/* Walks the tags from the spec's layout, checking their framing; fills where each tag is. */
static struct mbi_view read_mbi(void)
{
	const struct vcpu_boot_state *b = &vm.vcpus[0].boot;
	struct mbi_view v = { 0 };

	assert_true(b->valid);
	assert_int_equal(b->gpr[VM_REG_RAX], MB2_BOOT_MAGIC);
	v.base = (uint32_t)b->gpr[VM_REG_RBX];
	assert_int_equal(b->gpr[VM_REG_RBX] >> 32, 0);
	assert_int_equal(v.base % 8, 0);
	v.total = rd32(v.base);
	assert_true(v.total >= 16 && v.base + v.total <= RAM_SIZE);
	assert_int_equal(rd32(v.base + 4), 0);
	for (uint32_t off = 8;;) {
		assert_true(off % 8 == 0 && off + 8 <= v.total);
		uint32_t type = rd32(v.base + off), size = rd32(v.base + off + 4), at = v.base + off;
		if (type == 0) {
			assert_int_equal(size, 8);
			assert_int_equal(off + 8, v.total);
			return v;
		}
		assert_true(size >= 8 && size <= v.total - off);
		v.tags++;
		switch (type) {
		case 1: v.cmdline = at; break;
		case 2: v.name = at; break;
		case 3: assert_true(v.module_count < 8); v.modules[v.module_count++] = at; break;
		case 4: v.meminfo = at; break;
		case 6: v.mmap = at; break;
		case 14: v.acpi_old = at; break;
		case 15: v.acpi_new = at; break;
		case 21: v.load_base = at; break;
		default: fail_msg("unexpected tag %u", type);
		}
		off += (size + 7) & ~7u;
	}
}

static void check_string_tag(uint32_t at, const char *want)
{
	assert_true(at != 0);
	assert_int_equal(rd32(at + 4), 8 + strlen(want) + 1);
	assert_string_equal((const char *)ram + at + 8, want);
}

/* The information every load gives: command line, "hv", meminfo and map from the VM's map, RSDP. */
static struct mbi_view check_mbi(const char *cmdline)
{
	struct mbi_view v = read_mbi();

	check_string_tag(v.cmdline, cmdline);
	check_string_tag(v.name, "hv");
	assert_true(v.meminfo);
	assert_int_equal(rd32(v.meminfo + 4), 16);
	assert_int_equal(rd32(v.meminfo + 8), 639);
	assert_int_equal(rd32(v.meminfo + 12), (ACPI_BASE - MIB) / KIB);
	assert_true(v.mmap);
	assert_int_equal(rd32(v.mmap + 4), 16 + 24 * map_n);
	assert_int_equal(rd32(v.mmap + 8), 24);
	assert_int_equal(rd32(v.mmap + 12), 0);
	for (uint32_t i = 0; i < map_n; i++) {
		uint32_t e = v.mmap + 16 + 24 * i;
		assert_int_equal(rd64(e), map[i].addr);
		assert_int_equal(rd64(e + 8), map[i].size);
		assert_int_equal(rd32(e + 16), map[i].type);
		assert_int_equal(rd32(e + 20), 0);
	}
	assert_int_equal(v.acpi_old, 0);
	if (rsdp_gpa) {
		assert_true(v.acpi_new);
		assert_int_equal(rd32(v.acpi_new + 4), 8 + 36);
		assert_memory_equal(ram + v.acpi_new + 8, ram + rsdp_gpa, 36);
	} else {
		assert_int_equal(v.acpi_new, 0);
	}
	return v;
}

/* The machine state of spec 3.3 (the selectors are hv's choice). */
static void check_boot_state(uint32_t entry)
{
	const struct vcpu_boot_state *b = &vm.vcpus[0].boot;

	assert_true(b->valid);
	assert_int_equal(b->rip, entry);
	assert_int_equal(b->cr0 & 1, 1);
	assert_int_equal(b->cr0 & (1ull << 31), 0);
	assert_int_equal(b->rflags & ((1u << 9) | (1u << 17)), 0);
	assert_int_equal(b->efer, 0);
	assert_int_equal(b->code.base, 0);
	assert_int_equal(b->code.limit, 0xffffffffu);
	assert_int_equal(b->code.access & 0x1f, 0x1b);
	assert_true(b->code.access & SEG_ACCESS_DB);
	assert_int_equal(b->data.base, 0);
	assert_int_equal(b->data.limit, 0xffffffffu);
	assert_int_equal(b->data.access & 0x1f, 0x13);
	for (int r = 0; r < VM_GPR_COUNT; r++)
		if (r != VM_REG_RAX && r != VM_REG_RBX)
			assert_int_equal(b->gpr[r], 0);
}

static const char *load(struct image im, const char *cmdline, const struct loader_module *mods, uint32_t n)
{
	return mb2_load(&vm, im.data, im.size, cmdline, mods, n, map, map_n, rsdp_gpa);
}

#define LOAD_OK(im, cmdline, mods, n)                                                                        \
	do {                                                                                                 \
		const char *e_ = load(im, cmdline, mods, n);                                                 \
		if (e_)                                                                                      \
			print_error("mb2_load: %s\n", e_);                                                   \
		assert_null(e_);                                                                             \
	} while (0)

#define LOAD_ERR(im, want)                                                                                   \
	do {                                                                                                 \
		const char *e_ = load(im, "", NULL, 0);                                                      \
		assert_non_null(e_);                                                                         \
		assert_string_equal(e_, want);                                                               \
		assert_false(vm.vcpus[0].boot.valid);                                                        \
	} while (0)

/* ------------------------------------------------------------------------------------------------ */
/* Real images                                                                                       */

/* The entry address tag's value in a real image, found by this test's own walk of the header. */
static uint32_t header_entry_tag(const struct image *im)
{
	for (size_t off = 0; off + 16 <= im->size && off < 32768; off += 8) {
		uint32_t f[4];
		memcpy(f, im->data + off, 16);
		if (f[0] != MB2_MAGIC || f[0] + f[1] + f[2] + f[3] != 0)
			continue;
		for (size_t t = off + 16; t + 8 <= off + f[2];) {
			uint16_t type;
			uint32_t size, entry;
			memcpy(&type, im->data + t, 2);
			memcpy(&size, im->data + t + 4, 4);
			if (type == 3) {
				memcpy(&entry, im->data + t + 8, 4);
				return entry;
			}
			t += (size + 7) & ~7u;
		}
	}
	fail_msg("no entry address tag");
	return 0;
}

static void check_segments_loaded(const struct image *im)
{
	const Elf32_Ehdr *e32 = (const void *)im->data;
	bool elf64 = im->data[EI_CLASS] == ELFCLASS64;
	uint16_t phnum = elf64 ? ((const Elf64_Ehdr *)im->data)->e_phnum : e32->e_phnum;

	for (uint16_t i = 0; i < phnum; i++) {
		uint64_t type, off, paddr, filesz, memsz;
		if (elf64) {
			const Elf64_Phdr *p = (const Elf64_Phdr *)(im->data + ((const Elf64_Ehdr *)im->data)->e_phoff) + i;
			type = p->p_type, off = p->p_offset, paddr = p->p_paddr, filesz = p->p_filesz, memsz = p->p_memsz;
		} else {
			const Elf32_Phdr *p = (const Elf32_Phdr *)(im->data + e32->e_phoff) + i;
			type = p->p_type, off = p->p_offset, paddr = p->p_paddr, filesz = p->p_filesz, memsz = p->p_memsz;
		}
		if (type != PT_LOAD || !memsz)
			continue;
		assert_true(paddr + memsz <= RAM_SIZE);
		assert_memory_equal(ram + paddr, im->data + off, filesz);
		for (uint64_t j = filesz; j < memsz; j++)
			assert_int_equal(ram[paddr + j], 0);
	}
}

static void test_real_guest(void **state)
{
	struct image im = read_file(env_or("HV_GUEST_ELF", GUEST_ELF));
	uint8_t mod[5000];

	(void)state;
	if (!im.data)
		print_error("cannot open %s (run `make guests`, or set HV_GUEST_ELF)\n", GUEST_ELF);
	assert_non_null(im.data);
	assert_true(mb2_has_header(im.data, im.size));
	for (size_t i = 0; i < sizeof(mod); i++)
		mod[i] = (uint8_t)(i ^ 0x5a);
	const struct loader_module mods[] = { { mod, sizeof(mod), "boot.elf boot.elf" }, { mod, 1, "tiny" } };
	LOAD_OK(im, "flag answer=42 modules=2", mods, 2);
	check_segments_loaded(&im);
	check_boot_state(header_entry_tag(&im));
	assert_true(vm.vcpus[0].boot.rip != ((Elf32_Ehdr *)im.data)->e_entry); /* the tag, not e_entry */
	struct mbi_view v = check_mbi("flag answer=42 modules=2");
	assert_int_equal(v.module_count, 2);
	for (uint32_t i = 0; i < 2; i++) {
		uint32_t start = rd32(v.modules[i] + 8), end = rd32(v.modules[i] + 12);
		assert_int_equal(start % PG, 0);
		assert_int_equal(end - start, mods[i].size);
		assert_memory_equal(ram + start, mods[i].data, mods[i].size);
		assert_string_equal((const char *)ram + v.modules[i] + 16, mods[i].string);
	}
	free(im.data);
}

static void test_hv_elf(void **state)
{
	struct image im = read_file(env_or("HV_ELF", HV_ELF));

	(void)state;
	if (!im.data) {
		print_message("skipped: no %s (make builds it)\n", HV_ELF);
		skip();
	}
	/* hv itself: ELF64 linked in the higher half, loaded by physical address, entered at its
	 * 32-bit entry through the entry address tag; its information request is optional */
	assert_int_equal(im.data[EI_CLASS], ELFCLASS64);
	LOAD_OK(im, "loglevel=3", NULL, 0);
	check_segments_loaded(&im);
	check_boot_state(header_entry_tag(&im));
	check_mbi("loglevel=3");
	free(im.data);
}

/* ------------------------------------------------------------------------------------------------ */
/* Synthesized images                                                                                */

static void test_elf32_entry(void **state)
{
	struct hdr h = plain_header();
	/* linked at 3 GiB + 1 MiB, loaded at 1 MiB: the virtual entry is translated like GRUB does */
	const struct seg s[] = { { 0xc0100000, 0x100000, 0x100, 0x2000 }, { 0xc0200000, 0x200000, 0x10, 0x10 } };
	struct image im = make_elf(false, s, 2, 0xc0100010, &h, 0x100);

	(void)state;
	LOAD_OK(im, "a b", NULL, 0);
	check_segments_loaded(&im);
	check_boot_state(0x100010);
	struct mbi_view v = check_mbi("a b");
	assert_true(v.base >= 0x200010); /* after the highest segment */
	assert_int_equal(v.module_count, 0);
	assert_int_equal(v.load_base, 0);
	free(im.data);
}

static void test_elf64(void **state)
{
	struct hdr h;
	uint32_t entry[1] = { 0x300020 };
	const struct seg s[] = { { 0xffffffff80300000ull, 0x300000, 0x400, 0x1000 } };

	(void)state;
	/* no entry tag and an entry outside every segment above 4 GiB: refused */
	h = plain_header();
	struct image im = make_elf(true, s, 1, 0xffffffff90000000ull, &h, 0x200);
	LOAD_ERR(im, "the entry point is above 4 GiB (an ELF64 kernel needs an entry address tag)");
	free(im.data);
	/* inside a segment: translated */
	make_vm();
	im = make_elf(true, s, 1, 0xffffffff80300008ull, &h, 0x200);
	LOAD_OK(im, "", NULL, 0);
	check_boot_state(0x300008);
	free(im.data);
	/* the entry address tag wins */
	make_vm();
	hdr_start(&h);
	hdr_tag(&h, 3, 0, entry, 1);
	hdr_end(&h, 0);
	im = make_elf(true, s, 1, 0xffffffff80300008ull, &h, 0x200);
	LOAD_OK(im, "", NULL, 0);
	check_segments_loaded(&im);
	check_boot_state(0x300020);
	free(im.data);
}

static void test_header_placement(void **state)
{
	struct hdr h = plain_header();
	struct image im;

	(void)state;
	/* 8-byte aligned, whole within the first 32 KiB */
	im = simple_elf(&h);
	assert_true(mb2_has_header(im.data, im.size));
	free(im.data);
	im = make_elf(false, (struct seg[]){ { 0x100000, 0x100000, 0x10, 0x10 } }, 1, 0x100000, &h, 32768 - h.len);
	assert_true(mb2_has_header(im.data, im.size));
	LOAD_OK(im, "", NULL, 0);
	free(im.data);
	make_vm();
	im = make_elf(false, (struct seg[]){ { 0x100000, 0x100000, 0x10, 0x10 } }, 1, 0x100000, &h, 32768 - 8);
	assert_false(mb2_has_header(im.data, im.size));
	LOAD_ERR(im, "no Multiboot2 header in the first 32 KiB");
	free(im.data);
	im = make_elf(false, (struct seg[]){ { 0x100000, 0x100000, 0x10, 0x10 } }, 1, 0x100000, &h, 0x804);
	assert_false(mb2_has_header(im.data, im.size));
	free(im.data);
	/* a bad checksum is no header; the file ending inside the header neither */
	im = simple_elf(&h);
	im.data[0x800 + 12] ^= 1;
	assert_false(mb2_has_header(im.data, im.size));
	im.data[0x800 + 12] ^= 1;
	assert_false(mb2_has_header(im.data, 0x800 + h.len - 1));
	assert_true(mb2_has_header(im.data, 0x800 + h.len));
	free(im.data);
	/* another architecture */
	hdr_start(&h);
	hdr_end(&h, 4);
	im = simple_elf(&h);
	LOAD_ERR(im, "the Multiboot2 header is not for i386");
	free(im.data);
}

static void test_refused_tags(void **state)
{
	static const struct {
		uint16_t type, flags;
		uint32_t body[4], words;
		const char *err;
	} cases[] = {
		{ 5, 0, { 1024, 768, 32 }, 3, "the Multiboot2 header requires a framebuffer, which a VM does not have" },
		{ 4, 0, { 1 }, 1, "the Multiboot2 header requires a console (EGA text or framebuffer); a VM has COM1 only" },
		{ 4, 0, { 3 }, 1, "the Multiboot2 header requires a console (EGA text or framebuffer); a VM has COM1 only" },
		{ 1, 0, { 1, 14 }, 2, "the Multiboot2 header requires boot information tag 14, which hv does not give" },
		{ 1, 0, { 8 }, 1, "the Multiboot2 header requires boot information tag 8, which hv does not give" },
		{ 11, 0, { 0 }, 1, "the Multiboot2 header requires header tag 11, which hv does not know" },
		{ 2, 0, { 0x100000, 0x100000, 0, 0 }, 4, "the Multiboot2 address tag needs an entry address tag" },
		{ 3, 0, { 0 }, 0, "Multiboot2 header tag 3 at offset 16 is truncated or overruns the header" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdr h;
		make_vm();
		hdr_start(&h);
		hdr_tag(&h, cases[i].type, cases[i].flags, cases[i].body, cases[i].words);
		hdr_end(&h, 0);
		struct image im = simple_elf(&h);
		LOAD_ERR(im, cases[i].err);
		free(im.data);
	}
}

static void test_accepted_tags(void **state)
{
	static const struct {
		uint16_t type, flags;
		uint32_t body[8], words;
	} cases[] = {
		{ 5, OPTIONAL, { 1024, 768, 32 }, 3 },	/* an optional framebuffer: ignored */
		{ 4, OPTIONAL, { 3 }, 1 },		/* an optional console requirement */
		{ 4, 0, { 2 }, 1 },			/* EGA text supported, not required */
		{ 1, OPTIONAL, { 1, 3, 6, 14, 15 }, 5 }, /* hv.elf's own optional request */
		{ 1, 0, { 0, 1, 2, 3, 4, 6, 15, 21 }, 8 },
		{ 6, 0, { 0 }, 0 },			/* module alignment */
		{ 7, 0, { 0 }, 0 },			/* EFI boot services: no EFI in a VM */
		{ 8, 0, { 0x100000 }, 1 },
		{ 9, 0, { 0x100000 }, 1 },
		{ 11, OPTIONAL, { 0 }, 1 },		/* unknown but optional */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdr h;
		make_vm();
		hdr_start(&h);
		hdr_tag(&h, cases[i].type, cases[i].flags, cases[i].body, cases[i].words);
		hdr_end(&h, 0);
		struct image im = simple_elf(&h);
		LOAD_OK(im, "x", NULL, 0);
		check_boot_state(0x100040);
		check_mbi("x");
		free(im.data);
	}
}

static void test_malformed_headers(void **state)
{
	struct hdr h;
	struct image im;
	uint32_t big = 4096;

	(void)state;
	/* a tag whose size runs past header_length */
	hdr_start(&h);
	hdr_tag(&h, 6, 0, NULL, 0);
	hdr_end(&h, 0);
	im = simple_elf(&h);
	memcpy(im.data + 0x800 + 16 + 4, &big, 4);
	LOAD_ERR(im, "Multiboot2 header tag 6 at offset 16 is truncated or overruns the header");
	free(im.data);
	/* no end tag inside header_length */
	hdr_start(&h);
	hdr_tag(&h, 6, 0, NULL, 0);
	uint32_t f[4] = { MB2_MAGIC, 0, h.len, 0 };
	f[3] = -(f[0] + f[1] + f[2]);
	memcpy(h.b, f, 16);
	make_vm();
	im = simple_elf(&h);
	LOAD_ERR(im, "the Multiboot2 header has no end tag");
	free(im.data);
}

static void test_not_elf(void **state)
{
	struct hdr h = plain_header();
	struct image im = simple_elf(&h);

	(void)state;
	im.data[1] = 'X';
	LOAD_ERR(im, "not an ELF file and no Multiboot2 address tag");
	im.data[1] = 'E';
	im.data[EI_CLASS] = ELFCLASS64; /* an ELF64 ident on an i386 header */
	LOAD_ERR(im, "not an x86 executable ELF (ELF32 i386 or ELF64 x86-64)");
	im.data[EI_CLASS] = ELFCLASS32;
	((Elf32_Ehdr *)im.data)->e_phnum = 5000;
	LOAD_ERR(im, "the ELF program headers lie outside the file");
	((Elf32_Ehdr *)im.data)->e_phnum = 1;
	((Elf32_Phdr *)(im.data + sizeof(Elf32_Ehdr)))->p_offset = (uint32_t)im.size - 0x100;
	LOAD_ERR(im, "a segment lies outside the file (truncated image?)");
	((Elf32_Phdr *)(im.data + sizeof(Elf32_Ehdr)))->p_offset = 0x2000;
	((Elf32_Phdr *)(im.data + sizeof(Elf32_Ehdr)))->p_memsz = 0x1000; /* below filesz */
	LOAD_ERR(im, "a segment is larger than its memory size or does not fit below 4 GiB");
	((Elf32_Phdr *)(im.data + sizeof(Elf32_Ehdr)))->p_memsz = 0;
	LOAD_ERR(im, "the image has nothing to load");
	free(im.data);
}

static void test_segments_outside_ram(void **state)
{
	struct hdr h = plain_header();
	static const struct seg bad[] = {
		{ 0x9f000, 0x9f000, 0x100, 0x1000 },		       /* runs into the EBDA */
		{ 0xa0000, 0xa0000, 0x100, 0x100 },		       /* the VGA hole */
		{ ACPI_BASE - 0x100, ACPI_BASE - 0x100, 0x10, 0x200 }, /* into the ACPI tables */
		{ RAM_SIZE, RAM_SIZE, 0x10, 0x10 },		       /* past the end */
	};
	static const struct seg past_4g = { 0xfffff000, 0xfffff000, 0x10, 0x2000 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_vm();
		struct image im = make_elf(false, &bad[i], 1, (uint32_t)bad[i].paddr, &h, 0x800);
		LOAD_ERR(im, "the kernel does not lie in the VM's RAM (give the VM more memory?)");
		free(im.data);
	}
	struct image im = make_elf(false, &past_4g, 1, 0xfffff000, &h, 0x800);
	LOAD_ERR(im, "a segment is larger than its memory size or does not fit below 4 GiB");
	free(im.data);
}

static void test_address_tag(void **state)
{
	struct hdr h;
	uint32_t entry[1] = { 0x200010 };

	(void)state;
	/* header at file offset 0x800 loads at 0x200800: the file from offset 0 goes to 0x200000, 0x1000
	 * bytes of it, bss to 0x204000 */
	uint32_t addr[4] = { 0x200800, 0x200000, 0x201000, 0x204000 };
	hdr_start(&h);
	hdr_tag(&h, 2, 0, addr, 4);
	hdr_tag(&h, 3, 0, entry, 1);
	hdr_end(&h, 0);
	struct image im = { calloc(1, 0x3000), 0x3000 };
	fill_pattern(&im, 0);
	memcpy(im.data + 0x800, h.b, h.len);
	LOAD_OK(im, "raw", NULL, 0);
	check_boot_state(0x200010);
	assert_memory_equal(ram + 0x200000, im.data, 0x1000);
	for (uint32_t a = 0x201000; a < 0x204000; a++)
		assert_int_equal(ram[a], 0);
	assert_true(check_mbi("raw").base >= 0x204000);

	/* load_addr -1: from the file's start; load_end 0: the whole file; no bss */
	make_vm();
	uint32_t addr2[4] = { 0x200800, 0xffffffffu, 0, 0 };
	hdr_start(&h);
	hdr_tag(&h, 2, 0, addr2, 4);
	hdr_tag(&h, 3, 0, entry, 1);
	hdr_end(&h, 0);
	memcpy(im.data + 0x800, h.b, h.len);
	LOAD_OK(im, "", NULL, 0);
	assert_memory_equal(ram + 0x200000, im.data, 0x3000);

	/* bad fields */
	static const struct {
		uint32_t f[4];
		const char *err;
	} bad[] = {
		{ { 0x200800, 0x200900, 0, 0 }, "bad Multiboot2 address tag (load_addr/header_addr)" },
		{ { 0x200800, 0x1f0000, 0, 0 }, "bad Multiboot2 address tag (load_addr/header_addr)" },
		{ { 0x700, 0xffffffffu, 0, 0 }, "bad Multiboot2 address tag (header_addr below the header's file offset)" },
		{ { 0x200800, 0x200000, 0x1fffff, 0 }, "bad Multiboot2 address tag (load_end_addr below load_addr)" },
		{ { 0x200800, 0x200000, 0x204000, 0 }, "the Multiboot2 load range is larger than the file" },
		{ { 0x200800, 0x200000, 0x201000, 0x200800 },
		  "bad Multiboot2 address tag (bss_end_addr below the loaded data)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_vm();
		hdr_start(&h);
		hdr_tag(&h, 2, 0, bad[i].f, 4);
		hdr_tag(&h, 3, 0, entry, 1);
		hdr_end(&h, 0);
		memcpy(im.data + 0x800, h.b, h.len);
		LOAD_ERR(im, bad[i].err);
	}
	free(im.data);
}

static void test_relocatable(void **state)
{
	struct hdr h;
	const struct seg s[] = { { 0x100000, 0x100000, 0x1800, 0x3000 } };

	(void)state;
	/* allowed where it is linked: stays, and the load base tag says so */
	uint32_t rel[4] = { 0x100000, 0x400000, 0x1000, 0 };
	hdr_start(&h);
	hdr_tag(&h, 10, 0, rel, 4);
	hdr_end(&h, 0);
	struct image im = make_elf(false, s, 1, 0x100040, &h, 0x800);
	LOAD_OK(im, "", NULL, 0);
	check_boot_state(0x100040);
	struct mbi_view v = check_mbi("");
	assert_int_equal(rd32(v.load_base + 4), 12);
	assert_int_equal(rd32(v.load_base + 8), 0x100000);
	free(im.data);

	/* not allowed there: the lowest aligned place in RAM at or above min_addr; the entry moves along */
	make_vm();
	uint32_t rel2[4] = { 0x280000, 0x600000, 0x200000, 2 };
	hdr_start(&h);
	hdr_tag(&h, 10, 0, rel2, 4);
	hdr_end(&h, 0);
	im = make_elf(false, s, 1, 0x100040, &h, 0x800);
	LOAD_OK(im, "", NULL, 0);
	check_boot_state(0x400040);
	assert_memory_equal(ram + 0x400000, im.data + 0x2000, 0x1800);
	assert_int_equal(ram[0x100000], 0xcc);
	v = check_mbi("");
	assert_int_equal(rd32(v.load_base + 8), 0x400000);
	assert_true(v.base >= 0x403000);
	free(im.data);

	/* nowhere: refused */
	make_vm();
	uint32_t rel3[4] = { 0x7f0000, 0x7f2000, 0x1000, 0 };
	hdr_start(&h);
	hdr_tag(&h, 10, 0, rel3, 4);
	hdr_end(&h, 0);
	im = make_elf(false, s, 1, 0x100040, &h, 0x800);
	LOAD_ERR(im, "no place in the VM's RAM satisfies the Multiboot2 relocatable tag");
	free(im.data);
}

static void test_modules_and_placement(void **state)
{
	struct hdr h = plain_header();
	uint8_t big[0x3000], small[3] = { 1, 2, 3 };
	/* a low kernel ending just below the EBDA: what does not fit there goes above 1 MiB */
	const struct seg s[] = { { 0x8000, 0x8000, 0x100, 0x96000 } };
	struct image im = make_elf(false, s, 1, 0x8000, &h, 0x800);

	(void)state;
	memset(big, 0x77, sizeof(big));
	const struct loader_module mods[] = { { small, 3, "small a=1" }, { big, sizeof(big), "big" },
					      { small, 0, "empty" } };
	LOAD_OK(im, "low", mods, 3);
	struct mbi_view v = check_mbi("low");
	assert_int_equal(v.module_count, 3);
	uint32_t start[3];
	for (uint32_t i = 0; i < 3; i++) {
		start[i] = rd32(v.modules[i] + 8);
		uint32_t end = rd32(v.modules[i] + 12);
		assert_int_equal(start[i] % PG, 0);
		assert_int_equal(end - start[i], mods[i].size);
		assert_memory_equal(ram + start[i], mods[i].data, mods[i].size);
		assert_string_equal((const char *)ram + v.modules[i] + 16, mods[i].string);
		assert_int_equal(rd32(v.modules[i] + 4), 16 + strlen(mods[i].string) + 1);
	}
	assert_int_equal(start[0], 0x9e000); /* the page after the kernel */
	assert_int_equal(start[1], 0x100000); /* 0x9f000 + 0x3000 would run into the EBDA */
	assert_true(v.base >= 0x103000);

	/* too many, or too big */
	make_vm();
	struct loader_module many[17];
	for (int i = 0; i < 17; i++)
		many[i] = (struct loader_module){ small, 1, "m" };
	assert_string_equal(load(im, "", many, 17), "too many modules");
	make_vm();
	const struct loader_module huge[] = { { ram, RAM_SIZE, "huge" } };
	assert_string_equal(load(im, "", huge, 1), "the modules do not fit in the VM's memory");
	free(im.data);
}

static void test_no_acpi(void **state)
{
	struct hdr h = plain_header();
	struct image im = simple_elf(&h);

	(void)state;
	rsdp_gpa = 0;
	LOAD_OK(im, "", NULL, 0);
	check_mbi("");
	/* a broken RSDP where the VM says it is: hv's own bug, reported */
	make_vm();
	ram[rsdp_gpa] = 'X';
	LOAD_ERR(im, "the VM's ACPI RSDP is missing");
	make_vm();
	ram[rsdp_gpa + 20] = 200;
	ram[rsdp_gpa + 21] = 200;
	LOAD_ERR(im, "the VM's ACPI RSDP has a bad length");
	free(im.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_real_guest, setup),
		cmocka_unit_test_setup(test_hv_elf, setup),
		cmocka_unit_test_setup(test_elf32_entry, setup),
		cmocka_unit_test_setup(test_elf64, setup),
		cmocka_unit_test_setup(test_header_placement, setup),
		cmocka_unit_test_setup(test_refused_tags, setup),
		cmocka_unit_test_setup(test_accepted_tags, setup),
		cmocka_unit_test_setup(test_malformed_headers, setup),
		cmocka_unit_test_setup(test_not_elf, setup),
		cmocka_unit_test_setup(test_segments_outside_ram, setup),
		cmocka_unit_test_setup(test_address_tag, setup),
		cmocka_unit_test_setup(test_relocatable, setup),
		cmocka_unit_test_setup(test_modules_and_placement, setup),
		cmocka_unit_test_setup(test_no_acpi, setup),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
