/*
 * Unit tests of kernel/vmm/loader_mb1.c, the Multiboot (v1) loader: a real test guest built by
 * `make guests` (its path comes from build.mk as GUEST_ELF, or from $HV_GUEST_ELF), and ELF32 /
 * a.out-kludge images synthesized here, valid and broken. The guest's view is checked from guest
 * memory with the layouts of the Multiboot Specification 0.6.96 written out here (never the loader's
 * own structures): info flags, mem_lower/upper, the memory map, command line, boot loader name,
 * modules and their strings, and the vcpu state of spec section 3.2.
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

#ifndef GUEST_ELF
#define GUEST_ELF "build/guests/cpuid.elf"
#endif

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define RAM_SIZE (8 * MIB)
#define PG 4096u

#define MB_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_AOUT_KLUDGE (1u << 16)

/* multiboot_info offsets (spec 3.3) */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_BOOT_LOADER_NAME 64
#define MBI_SIZE 68

/* ------------------------------------------------------------------------------------------------ */
/* A fake VM: one memory segment at guest-physical 0 backed by a heap buffer                         */

static struct vm vm;
static uint8_t *ram;

static uint64_t ram_size;

static void make_vm(uint64_t size)
{
	if (!ram || ram_size != size) {
		free(ram);
		ram = malloc(size);
		assert_non_null(ram);
		ram_size = size;
	}
	memset(ram, 0xcc, size); /* what the loader must overwrite shows */
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, "mb1");
	vm.vcpu_count = 1;
	vm.vcpus[0].vm = &vm;
	vm.memsegs[0] = (struct vm_memseg){ .gpa = 0, .len = size, .hpa = 0, .hva = ram };
	vm.memseg_count = 1;
	vm.mem_size = size;
}

static int setup(void **state)
{
	(void)state;
	make_vm(RAM_SIZE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	ram = NULL;
	ram_size = 0;
	return 0;
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;
	assert_true(gpa + 4 <= vm.mem_size);
	memcpy(&v, ram + gpa, 4);
	return v;
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;
	assert_true(gpa + 8 <= vm.mem_size);
	memcpy(&v, ram + gpa, 8);
	return v;
}

/* A NUL-terminated string in guest RAM. */
static const char *gstr(uint32_t gpa)
{
	assert_true(gpa != 0 && gpa < vm.mem_size);
	assert_non_null(memchr(ram + gpa, 0, vm.mem_size - gpa));
	return (const char *)ram + gpa;
}

/* ------------------------------------------------------------------------------------------------ */
/* Image building                                                                                    */

struct image {
	uint8_t *data;
	size_t size;
};

struct seg {
	uint32_t type, paddr, filesz, memsz;
};

#define NO_HEADER ((size_t)-1)

static void put_mb_header(uint8_t *img, size_t off, uint32_t flags, const uint32_t *addr_fields)
{
	uint32_t h[8] = { MB_MAGIC, flags, (uint32_t)-(MB_MAGIC + flags) };
	if (addr_fields)
		memcpy(&h[3], addr_fields, 5 * sizeof(uint32_t));
	memcpy(img + off, h, addr_fields ? 32 : 12);
}

/* An ELF32 i386 executable: program headers after the ELF header, the Multiboot header at mb_off
 * (flags as given), segment data from file offset 0x1000 on, page aligned, filled with a pattern. */
static struct image make_elf(const struct seg *segs, int n, uint32_t entry, size_t mb_off, uint32_t mb_flags)
{
	size_t off = 0x1000;
	size_t offsets[16];

	assert_true(n <= 16);
	if (mb_off != NO_HEADER && mb_off + 32 > off)
		off = (mb_off + 32 + 0xfff) & ~(size_t)0xfff;
	for (int i = 0; i < n; i++) {
		offsets[i] = off;
		off = (off + segs[i].filesz + 0xfff) & ~(size_t)0xfff;
	}
	struct image im = { calloc(1, off), off };
	assert_non_null(im.data);
	for (size_t i = 0x34 + 32 * (size_t)n; i < off; i++)
		im.data[i] = (uint8_t)(i * 7 + 3);

	Elf32_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	eh.e_phnum = (uint16_t)n;
	memcpy(im.data, &eh, sizeof(eh));
	for (int i = 0; i < n; i++) {
		Elf32_Phdr ph = { .p_type = segs[i].type,
				  .p_offset = (uint32_t)offsets[i],
				  .p_vaddr = segs[i].paddr,
				  .p_paddr = segs[i].paddr,
				  .p_filesz = segs[i].filesz,
				  .p_memsz = segs[i].memsz,
				  .p_flags = PF_R | PF_X,
				  .p_align = PG };
		memcpy(im.data + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	if (mb_off != NO_HEADER)
		put_mb_header(im.data, mb_off, mb_flags, NULL);
	return im;
}

static Elf32_Phdr *phdr(struct image *im, int i)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)im->data;
	return (Elf32_Phdr *)(im->data + eh->e_phoff + (size_t)i * sizeof(Elf32_Phdr));
}

/* A simple two-segment kernel: text at 1 MiB, data + bss at 1 MiB + 64 KiB. */
static struct image simple_elf(void)
{
	const struct seg segs[] = {
		{ PT_LOAD, 0x100000, 0x1800, 0x1800 },
		{ PT_LOAD, 0x110000, 0x100, 0x3000 },
	};
	return make_elf(segs, 2, 0x100040, 0x80, 0x3);
}

static struct image read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		print_error("cannot open %s (run `make guests`, or set HV_GUEST_ELF)\n", path);
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	struct image im = { malloc((size_t)n), (size_t)n };
	assert_non_null(im.data);
	assert_int_equal(fread(im.data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return im;
}

static const char *guest_elf_path(void)
{
	const char *p = getenv("HV_GUEST_ELF");
	return p && *p ? p : GUEST_ELF;
}

/* ------------------------------------------------------------------------------------------------ */
/* Checks of what the guest sees                                                                     */

struct region {
	uint64_t start, end;
	const char *what;
};

static void check_no_overlap(const struct region *r, int n)
{
	for (int i = 0; i < n; i++) {
		assert_true(r[i].start <= r[i].end);
		assert_true(r[i].end <= vm.mem_size);
		for (int j = i + 1; j < n; j++) {
			bool apart = r[i].end <= r[j].start || r[j].end <= r[i].start;
			/* an empty region may sit where another begins */
			if (r[i].start == r[i].end || r[j].start == r[j].end)
				apart = apart || r[i].start == r[j].start;
			if (!apart)
				print_error("%s [%#llx, %#llx) overlaps %s [%#llx, %#llx)\n", r[i].what,
					    (unsigned long long)r[i].start, (unsigned long long)r[i].end, r[j].what,
					    (unsigned long long)r[j].start, (unsigned long long)r[j].end);
			assert_true(apart);
		}
	}
}

/* The vcpu state of spec 3.2, with the flat segments hv promises. */
static void check_boot_state(uint32_t entry)
{
	const struct vcpu_boot_state *b = &vm.vcpus[0].boot;

	assert_true(b->valid);
	assert_int_equal(b->rip, entry);
	assert_int_equal(b->gpr[VM_REG_RAX], MB_BOOT_MAGIC);
	assert_true(b->gpr[VM_REG_RBX] != 0);
	assert_int_equal(b->cr0 & 1, 1);		/* PE */
	assert_int_equal(b->cr0 & (1ull << 31), 0);	/* PG */
	assert_int_equal(b->rflags & (1u << 9), 0);	/* IF */
	assert_int_equal(b->rflags & (1u << 17), 0);	/* VM */
	assert_int_equal(b->rflags & 2, 2);		/* reserved bit 1 */
	assert_int_equal(b->efer, 0);
	assert_int_equal(b->cr4, 0);
	/* CS: 32-bit execute/read code, base 0, limit 4 GiB - 1 */
	assert_int_equal(b->code.base, 0);
	assert_int_equal(b->code.limit, 0xffffffffu);
	assert_int_equal(b->code.access & 0x1f, 0x1b);	/* code, readable, accessed, S */
	assert_int_equal(SEG_DPL(b->code.access), 0);
	assert_true(b->code.access & SEG_ACCESS_P);
	assert_true(b->code.access & SEG_ACCESS_DB);
	assert_true(b->code.access & SEG_ACCESS_G);
	assert_false(b->code.access & SEG_ACCESS_L);
	assert_false(b->code.access & SEG_ACCESS_UNUSABLE);
	assert_true(b->code.selector != 0 && (b->code.selector & 7) == 0);
	/* DS/ES/FS/GS/SS: 32-bit read/write data, base 0, limit 4 GiB - 1 */
	assert_int_equal(b->data.base, 0);
	assert_int_equal(b->data.limit, 0xffffffffu);
	assert_int_equal(b->data.access & 0x1f, 0x13);	/* data, writable, accessed, S */
	assert_int_equal(SEG_DPL(b->data.access), 0);
	assert_true(b->data.access & SEG_ACCESS_P);
	assert_true(b->data.access & SEG_ACCESS_DB);
	assert_true(b->data.access & SEG_ACCESS_G);
	assert_false(b->data.access & SEG_ACCESS_UNUSABLE);
	assert_true(b->data.selector != 0 && (b->data.selector & 7) == 0);
	assert_true(b->data.selector != b->code.selector);
	/* the rest of the general-purpose registers are zero */
	for (int r = 0; r < VM_GPR_COUNT; r++)
		if (r != VM_REG_RAX && r != VM_REG_RBX)
			assert_int_equal(b->gpr[r], 0);
}

struct expect_mod {
	const uint8_t *data;
	uint64_t size;
	const char *string;
};

/* Checks the Multiboot information and returns its address. kernel_end: the first byte after the
 * image; the boot data must come after it. */
static uint32_t check_mbi(uint64_t kernel_start, uint64_t kernel_end, const char *cmdline,
			  const struct expect_mod *mods, uint32_t nmods)
{
	const struct vcpu_boot_state *b = &vm.vcpus[0].boot;
	uint32_t mbi = (uint32_t)b->gpr[VM_REG_RBX];
	struct region r[64];
	int n = 0;

	assert_int_equal(b->gpr[VM_REG_RBX] >> 32, 0);
	assert_true(mbi >= kernel_end);
	assert_int_equal(mbi % 4, 0);
	assert_true(mbi + MBI_SIZE <= vm.mem_size);
	r[n++] = (struct region){ kernel_start, kernel_end, "kernel" };
	r[n++] = (struct region){ mbi, mbi + MBI_SIZE, "multiboot info" };

	uint32_t flags = rd32(mbi + MBI_FLAGS);
	/* mem_*, cmdline, mods, mmap, boot_loader_name; nothing else (no a.out/ELF symbols, drives,
	 * config table, APM, VBE) */
	assert_int_equal(flags, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));

	/* mem_lower: conventional memory below the EBDA; mem_upper: KiB from 1 MiB to the end of RAM */
	assert_int_equal(rd32(mbi + MBI_MEM_LOWER), 639);
	assert_int_equal(rd32(mbi + MBI_MEM_UPPER), (vm.mem_size - MIB) / KIB);

	/* the command line */
	uint32_t c = rd32(mbi + MBI_CMDLINE);
	assert_string_equal(gstr(c), cmdline);
	r[n++] = (struct region){ c, c + strlen(cmdline) + 1, "cmdline" };

	/* the boot loader's name */
	uint32_t name = rd32(mbi + MBI_BOOT_LOADER_NAME);
	assert_string_equal(gstr(name), "hv");
	r[n++] = (struct region){ name, name + 3, "boot loader name" };

	/* the memory map: RAM below the EBDA, the EBDA, the BIOS area, RAM from 1 MiB */
	uint32_t mlen = rd32(mbi + MBI_MMAP_LENGTH), maddr = rd32(mbi + MBI_MMAP_ADDR);
	static const struct {
		uint64_t base, len;
		uint32_t type;
	} want_map[] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x400, 2 },
		{ 0xf0000, 0x10000, 2 },
		{ 0x100000, 0, 1 }, /* length: RAM size - 1 MiB */
	};
	assert_int_equal(mlen, 4 * 24);
	r[n++] = (struct region){ maddr, maddr + mlen, "memory map" };
	uint64_t usable = 0;
	for (uint32_t i = 0, off = 0; off < mlen; i++) {
		uint32_t size = rd32(maddr + off);
		assert_int_equal(size, 20); /* the size field does not count itself */
		uint64_t base = rd64(maddr + off + 4), len = rd64(maddr + off + 12);
		uint32_t type = rd32(maddr + off + 20);
		assert_true(i < 4);
		assert_int_equal(base, want_map[i].base);
		assert_int_equal(len, want_map[i].len ? want_map[i].len : vm.mem_size - MIB);
		assert_int_equal(type, want_map[i].type);
		if (type == 1)
			usable += len;
		off += size + 4;
	}
	assert_int_equal(usable, 0x9fc00 + vm.mem_size - MIB);

	/* modules */
	assert_int_equal(rd32(mbi + MBI_MODS_COUNT), nmods);
	uint32_t maddr_list = rd32(mbi + MBI_MODS_ADDR);
	if (nmods) {
		r[n++] = (struct region){ maddr_list, maddr_list + 16 * nmods, "module list" };
		for (uint32_t i = 0; i < nmods; i++) {
			uint32_t e = maddr_list + 16 * i;
			uint32_t start = rd32(e), end = rd32(e + 4), str = rd32(e + 8), reserved = rd32(e + 12);
			assert_int_equal(start % PG, 0); /* header flag 0: page-aligned modules */
			assert_int_equal(end - start, mods[i].size);
			assert_true(start >= kernel_end);
			assert_memory_equal(ram + start, mods[i].data, mods[i].size);
			assert_string_equal(gstr(str), mods[i].string);
			assert_int_equal(reserved, 0);
			r[n++] = (struct region){ start, end, "module" };
			r[n++] = (struct region){ str, str + strlen(mods[i].string) + 1, "module string" };
		}
	}
	check_no_overlap(r, n);
	return mbi;
}

/* Every PT_LOAD segment of im is in guest RAM at its physical address, its bss zeroed. */
static void check_segments_loaded(struct image *im)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)im->data;
	for (int i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr *ph = phdr(im, i);
		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		assert_true((uint64_t)ph->p_paddr + ph->p_memsz <= vm.mem_size);
		assert_memory_equal(ram + ph->p_paddr, im->data + ph->p_offset, ph->p_filesz);
		for (uint32_t j = ph->p_filesz; j < ph->p_memsz; j++)
			if (ram[ph->p_paddr + j] != 0) {
				print_error("segment %d byte %#x not zeroed\n", i, j);
				fail();
			}
	}
}

static uint64_t elf_end(struct image *im, uint64_t *start)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)im->data;
	uint64_t end = 0, lo = UINT64_MAX;
	for (int i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr *ph = phdr(im, i);
		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		if ((uint64_t)ph->p_paddr + ph->p_memsz > end)
			end = (uint64_t)ph->p_paddr + ph->p_memsz;
		if (ph->p_paddr < lo)
			lo = ph->p_paddr;
	}
	*start = lo;
	return end;
}

#define LOAD_OK(im, cmdline, mods, n)                                                                         \
	do {                                                                                                  \
		const char *e_ = mb1_load(&vm, (im).data, (im).size, cmdline, mods, n);                       \
		if (e_)                                                                                       \
			print_error("mb1_load: %s\n", e_);                                                    \
		assert_null(e_);                                                                              \
	} while (0)

#define LOAD_ERR(im, want)                                                                                    \
	do {                                                                                                  \
		const char *e_ = mb1_load(&vm, (im).data, (im).size, "", NULL, 0);                           \
		assert_non_null(e_);                                                                          \
		assert_string_equal(e_, want);                                                                \
		assert_false(vm.vcpus[0].boot.valid);                                                         \
	} while (0)

#define ERR_NO_HEADER "no Multiboot header in the first 8 KiB (not a Multiboot kernel)"
#define ERR_NOT_ELF "not an ELF file and no Multiboot address fields"
#define ERR_NOT_ELF32 "not a 32-bit x86 executable ELF (Multiboot kernels are ELF32)"
#define ERR_PHDRS "the ELF program headers lie outside the file"
#define ERR_SEG_FILE "an ELF segment lies outside the file (truncated image?)"
#define ERR_SEG_SIZE "a segment is larger than its memory size or below 4 KiB"
#define ERR_SEG_RAM "a segment lies outside the VM's memory (give the VM more memory?)"
#define ERR_NOTHING "the ELF has nothing to load"
#define ERR_ADDR "bad Multiboot address fields (load_addr/header_addr)"
#define ERR_LOAD_RANGE "the Multiboot load range is larger than the file"
#define ERR_NO_ROOM_MBI "no room for the Multiboot information after the kernel"
#define ERR_NO_ROOM "the boot information does not fit in the VM's memory"
#define ERR_MODS_FIT "the modules do not fit in the VM's memory"

/* ------------------------------------------------------------------------------------------------ */
/* The real test guest                                                                               */

static void test_real_guest(void **state)
{
	(void)state;
	struct image im = read_file(guest_elf_path());
	Elf32_Ehdr *eh = (Elf32_Ehdr *)im.data;
	uint64_t start, end;

	/* what `make guests` promises: an ELF32 i386 executable loaded at 1 MiB */
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS32);
	assert_int_equal(eh->e_machine, EM_386);
	end = elf_end(&im, &start);
	assert_int_equal(start, 0x100000);

	LOAD_OK(im, "console=ttyS0 verbose", NULL, 0);
	check_segments_loaded(&im);
	check_boot_state(eh->e_entry);
	check_mbi(start, end, "console=ttyS0 verbose", NULL, 0);
	/* the Multiboot header is in the loaded text */
	assert_int_equal(rd32(0x100000), MB_MAGIC);
	/* nothing below the kernel was touched */
	for (uint64_t a = 0; a < 0x100000; a++)
		if (ram[a] != 0xcc)
			fail_msg("byte %#llx below the kernel written", (unsigned long long)a);
	free(im.data);
}

static void test_real_guest_with_modules(void **state)
{
	(void)state;
	struct image im = read_file(guest_elf_path());
	uint8_t m1[5000], m2[1] = { 0x5a };
	uint64_t start, end = elf_end(&im, &start);

	for (size_t i = 0; i < sizeof(m1); i++)
		m1[i] = (uint8_t)(i ^ 0x3c);
	const struct loader_module mods[] = {
		{ m1, sizeof(m1), "initrd.img root=/dev/ram0" },
		{ m2, sizeof(m2), "tiny" },
		{ m1, 0, "empty" },
	};
	const struct expect_mod want[] = {
		{ m1, sizeof(m1), "initrd.img root=/dev/ram0" },
		{ m2, 1, "tiny" },
		{ m1, 0, "empty" },
	};
	LOAD_OK(im, "", mods, 3);
	check_segments_loaded(&im);
	check_boot_state(((Elf32_Ehdr *)im.data)->e_entry);
	check_mbi(start, end, "", want, 3);
	free(im.data);
}

static void test_real_guest_truncated(void **state)
{
	(void)state;
	struct image im = read_file(guest_elf_path());

	/* cut inside the first segment: the header is still found, the segment is not in the file */
	im.size = 0x1800;
	LOAD_ERR(im, ERR_SEG_FILE);
	/* cut before the Multiboot header (at file offset 0x1000) */
	im.size = 0x1000;
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
}

/* ------------------------------------------------------------------------------------------------ */
/* Synthesized ELF images                                                                            */

static void test_elf_valid(void **state)
{
	(void)state;
	struct image im = simple_elf();
	uint64_t start, end = elf_end(&im, &start);

	LOAD_OK(im, "a b c", NULL, 0);
	check_segments_loaded(&im);
	check_boot_state(0x100040);
	uint32_t mbi = check_mbi(start, end, "a b c", NULL, 0);
	/* the boot data starts at the first page after the kernel */
	assert_int_equal(mbi, 0x113000);
	/* the gap between the segments is untouched */
	assert_int_equal(ram[0x101800], 0xcc);
	assert_int_equal(ram[0x10ffff], 0xcc);
	free(im.data);
}

static void test_elf_segment_kinds(void **state)
{
	(void)state;
	/* non-LOAD headers and empty LOAD segments are skipped; a LOAD with filesz 0 is all bss */
	const struct seg segs[] = {
		{ PT_NOTE, 0x300000, 0x10, 0x10 },
		{ PT_LOAD, 0x100000, 0x200, 0x200 },
		{ PT_LOAD, 0x500000, 0, 0 },
		{ PT_LOAD, 0x200000, 0, 0x2000 },
		{ PT_GNU_STACK, 0, 0, 0 },
		{ PT_LOAD, 0x180000, 0x10, 0x10 },
	};
	struct image im = make_elf(segs, 6, 0x100000, 0x40 + 6 * 32, 0);

	LOAD_OK(im, "", NULL, 0);
	check_segments_loaded(&im);
	assert_int_equal(ram[0x300000], 0xcc);
	assert_int_equal(ram[0x500000], 0xcc);
	/* the boot data follows the highest segment, whatever the order */
	assert_true(vm.vcpus[0].boot.gpr[VM_REG_RBX] >= 0x202000);
	check_mbi(0x100000, 0x202000, "", NULL, 0);
	free(im.data);
}

static void test_elf_header_position(void **state)
{
	(void)state;
	const struct seg segs[] = { { PT_LOAD, 0x100000, 0x100, 0x100 } };
	struct image im;

	/* anywhere 4-byte aligned in the first 8 KiB */
	im = make_elf(segs, 1, 0x100000, 0x1000, 0);
	LOAD_OK(im, "", NULL, 0);
	free(im.data);
	make_vm(RAM_SIZE);
	im = make_elf(segs, 1, 0x100000, 8192 - 12, 0); /* the last place where all 12 bytes fit */
	LOAD_OK(im, "", NULL, 0);
	free(im.data);
	/* at 8 KiB: too far */
	make_vm(RAM_SIZE);
	im = make_elf(segs, 1, 0x100000, 8192, 0);
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
	/* beyond */
	im = make_elf(segs, 1, 0x100000, 0x3000, 0);
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
	/* not 4-byte aligned */
	im = make_elf(segs, 1, 0x100000, 0x102, 0);
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
	/* no header at all */
	im = make_elf(segs, 1, 0x100000, NO_HEADER, 0);
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
	/* the first valid header wins: a bad-checksum one before it is skipped */
	im = make_elf(segs, 1, 0x100000, 0x200, 0);
	put_mb_header(im.data, 0x100, 0, NULL);
	memset(im.data + 0x108, 0x11, 4);
	LOAD_OK(im, "", NULL, 0);
	free(im.data);
}

static void test_elf_bad_checksum(void **state)
{
	(void)state;
	struct image im = simple_elf();
	uint32_t sum;

	memcpy(&sum, im.data + 0x88, 4);
	sum += 1;
	memcpy(im.data + 0x88, &sum, 4);
	LOAD_ERR(im, ERR_NO_HEADER);
	/* a checksum that fits other flags */
	sum -= 1;
	memcpy(im.data + 0x88, &sum, 4);
	uint32_t flags = 0x7;
	memcpy(im.data + 0x84, &flags, 4);
	LOAD_ERR(im, ERR_NO_HEADER);
	/* the wrong magic */
	flags = 0x3;
	memcpy(im.data + 0x84, &flags, 4);
	im.data[0x80] ^= 1;
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
}

static void test_elf_not_elf32_x86(void **state)
{
	(void)state;
	struct image im = simple_elf();
	Elf32_Ehdr *eh = (Elf32_Ehdr *)im.data;

	eh->e_ident[EI_CLASS] = ELFCLASS64;
	LOAD_ERR(im, ERR_NOT_ELF32);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_machine = EM_X86_64;
	LOAD_ERR(im, ERR_NOT_ELF32);
	eh->e_machine = EM_386;
	eh->e_type = ET_DYN;
	LOAD_ERR(im, ERR_NOT_ELF32);
	eh->e_type = ET_REL;
	LOAD_ERR(im, ERR_NOT_ELF32);
	eh->e_type = ET_EXEC;
	/* not ELF at all */
	im.data[1] = 'X';
	LOAD_ERR(im, ERR_NOT_ELF);
	free(im.data);

	/* a real ELF64 header (the 64-bit layout), with a Multiboot header */
	im.size = 0x2000;
	im.data = calloc(1, im.size);
	assert_non_null(im.data);
	Elf64_Ehdr e64 = { 0 };
	memcpy(e64.e_ident, ELFMAG, SELFMAG);
	e64.e_ident[EI_CLASS] = ELFCLASS64;
	e64.e_ident[EI_DATA] = ELFDATA2LSB;
	e64.e_type = ET_EXEC;
	e64.e_machine = EM_X86_64;
	e64.e_entry = 0x100000;
	e64.e_phoff = sizeof(e64);
	e64.e_phentsize = sizeof(Elf64_Phdr);
	e64.e_phnum = 1;
	memcpy(im.data, &e64, sizeof(e64));
	Elf64_Phdr p64 = { .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = 0x100000, .p_filesz = 0x100,
			   .p_memsz = 0x100 };
	memcpy(im.data + sizeof(e64), &p64, sizeof(p64));
	put_mb_header(im.data, 0x1000, 0, NULL);
	LOAD_ERR(im, ERR_NOT_ELF32);
	free(im.data);

	/* too short for an ELF header (52 bytes), long enough for the Multiboot header */
	im.size = 48;
	im.data = calloc(1, im.size);
	assert_non_null(im.data);
	memcpy(im.data, ELFMAG, SELFMAG);
	put_mb_header(im.data, 8, 0, NULL);
	LOAD_ERR(im, ERR_NOT_ELF);
	free(im.data);
}

static void test_elf_program_headers_outside(void **state)
{
	(void)state;
	struct image im = simple_elf();
	Elf32_Ehdr *eh = (Elf32_Ehdr *)im.data;

	eh->e_phoff = (uint32_t)im.size;
	LOAD_ERR(im, ERR_PHDRS);
	eh->e_phoff = (uint32_t)im.size + 4;
	LOAD_ERR(im, ERR_PHDRS);
	eh->e_phoff = (uint32_t)im.size - 32; /* one header fits, two do not */
	LOAD_ERR(im, ERR_PHDRS);
	eh->e_phoff = 0xfffffff0u;
	LOAD_ERR(im, ERR_PHDRS);
	eh->e_phoff = sizeof(Elf32_Ehdr);
	eh->e_phnum = 0xffff;
	LOAD_ERR(im, ERR_PHDRS);
	eh->e_phnum = 2;
	eh->e_phentsize = 56; /* an ELF64 program header size */
	LOAD_ERR(im, ERR_PHDRS);
	eh->e_phentsize = 32;
	/* no program headers: nothing to load */
	eh->e_phnum = 0;
	LOAD_ERR(im, ERR_NOTHING);
	free(im.data);
}

static void test_elf_segment_outside_file(void **state)
{
	(void)state;
	struct image im = simple_elf();

	phdr(&im, 1)->p_offset = (uint32_t)im.size;
	phdr(&im, 1)->p_filesz = 1;
	LOAD_ERR(im, ERR_SEG_FILE);
	phdr(&im, 1)->p_offset = (uint32_t)im.size + 1;
	phdr(&im, 1)->p_filesz = 0;
	LOAD_ERR(im, ERR_SEG_FILE);
	phdr(&im, 1)->p_offset = 0x2000;
	phdr(&im, 1)->p_filesz = 0xffffffffu; /* offset + filesz wraps in 32 bits */
	phdr(&im, 1)->p_memsz = 0xffffffffu;
	LOAD_ERR(im, ERR_SEG_FILE);
	/* exactly to the end of the file is fine */
	phdr(&im, 1)->p_offset = (uint32_t)im.size - 0x100;
	phdr(&im, 1)->p_filesz = 0x100;
	phdr(&im, 1)->p_memsz = 0x100;
	LOAD_OK(im, "", NULL, 0);
	free(im.data);
}

static void test_elf_segment_outside_ram(void **state)
{
	(void)state;
	struct image im = simple_elf();

	/* above RAM */
	phdr(&im, 1)->p_paddr = RAM_SIZE;
	LOAD_ERR(im, ERR_SEG_RAM);
	/* crossing the end of RAM (by its bss) */
	phdr(&im, 1)->p_paddr = RAM_SIZE - 0x1000;
	LOAD_ERR(im, ERR_SEG_RAM);
	/* near 4 GiB: paddr + memsz must not wrap */
	phdr(&im, 1)->p_paddr = 0xfffff000u;
	LOAD_ERR(im, ERR_SEG_RAM);
	/* more than all of RAM */
	phdr(&im, 1)->p_paddr = 0x110000;
	phdr(&im, 1)->p_memsz = RAM_SIZE + 1;
	LOAD_ERR(im, ERR_SEG_RAM);
	/* page 0 */
	phdr(&im, 1)->p_memsz = 0x3000;
	phdr(&im, 1)->p_paddr = 0;
	LOAD_ERR(im, ERR_SEG_SIZE);
	phdr(&im, 1)->p_paddr = 0xfff;
	LOAD_ERR(im, ERR_SEG_SIZE);
	/* filesz larger than memsz */
	phdr(&im, 1)->p_paddr = 0x110000;
	phdr(&im, 1)->p_filesz = 0x3001;
	LOAD_ERR(im, ERR_SEG_FILE); /* 0x3001 bytes from offset 0x3000 are not in the 0x4000-byte file */
	phdr(&im, 1)->p_filesz = 0x101;
	phdr(&im, 1)->p_memsz = 0x100;
	LOAD_ERR(im, ERR_SEG_SIZE);
	/* at 4 KiB: accepted */
	phdr(&im, 1)->p_filesz = 0x100;
	phdr(&im, 1)->p_paddr = 0x1000;
	LOAD_OK(im, "", NULL, 0);
	free(im.data);
}

static void test_elf_fills_ram(void **state)
{
	(void)state;
	/* a kernel up to the last byte of RAM: no room for the boot information */
	const struct seg segs[] = { { PT_LOAD, 0x100000, 0x100, RAM_SIZE - 0x100000 } };
	struct image im = make_elf(segs, 1, 0x100000, 0x80, 0);
	LOAD_ERR(im, ERR_NO_ROOM_MBI);
	free(im.data);

	/* room for the information structure (one page) but not for what it points to */
	make_vm(RAM_SIZE);
	const struct seg segs2[] = { { PT_LOAD, 0x100000, 0x100, RAM_SIZE - 0x100000 - PG } };
	im = make_elf(segs2, 1, 0x100000, 0x80, 0);
	LOAD_ERR(im, ERR_NO_ROOM);
	free(im.data);

	/* just enough: the structure, the command line, the name and the memory map, a page each */
	make_vm(RAM_SIZE);
	const struct seg segs3[] = { { PT_LOAD, 0x100000, 0x100, RAM_SIZE - 0x100000 - 4 * PG } };
	im = make_elf(segs3, 1, 0x100000, 0x80, 0);
	LOAD_OK(im, "x", NULL, 0);
	check_mbi(0x100000, RAM_SIZE - 4 * PG, "x", NULL, 0);
	free(im.data);
}

static void test_small_and_large_ram(void **state)
{
	(void)state;
	/* the smallest VM the configuration allows */
	make_vm(2 * MIB);
	struct image im = simple_elf();
	uint64_t start, end = elf_end(&im, &start);
	LOAD_OK(im, "small", NULL, 0);
	check_mbi(start, end, "small", NULL, 0);
	assert_int_equal(rd32((uint32_t)vm.vcpus[0].boot.gpr[VM_REG_RBX] + MBI_MEM_UPPER), 1024);
	/* 64 MiB */
	make_vm(64 * MIB);
	LOAD_OK(im, "large", NULL, 0);
	check_mbi(start, end, "large", NULL, 0);
	assert_int_equal(rd32((uint32_t)vm.vcpus[0].boot.gpr[VM_REG_RBX] + MBI_MEM_UPPER), 63 * 1024);
	free(im.data);
}

static void test_cmdline(void **state)
{
	(void)state;
	struct image im = simple_elf();
	uint64_t start, end = elf_end(&im, &start);
	char longline[4000];

	LOAD_OK(im, "", NULL, 0);
	check_mbi(start, end, "", NULL, 0);
	/* a command line longer than a page */
	memset(longline, 'c', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	longline[100] = ' ';
	make_vm(RAM_SIZE);
	LOAD_OK(im, longline, NULL, 0);
	check_mbi(start, end, longline, NULL, 0);
	char longer[9000];
	memset(longer, 'd', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	make_vm(RAM_SIZE);
	LOAD_OK(im, longer, NULL, 0);
	check_mbi(start, end, longer, NULL, 0);
	free(im.data);
}

static void test_modules(void **state)
{
	(void)state;
	struct image im = simple_elf();
	uint64_t start, end = elf_end(&im, &start);
	static uint8_t data[16][3000];
	struct loader_module mods[16];
	struct expect_mod want[16];
	char strings[16][32];

	for (int i = 0; i < 16; i++) {
		for (size_t j = 0; j < sizeof(data[i]); j++)
			data[i][j] = (uint8_t)(i * 31 + j);
		snprintf(strings[i], sizeof(strings[i]), "mod%d arg=%d", i, i * i);
		mods[i] = (struct loader_module){ data[i], 1000 + (uint64_t)i * 100, strings[i] };
		want[i] = (struct expect_mod){ data[i], 1000 + (uint64_t)i * 100, strings[i] };
	}
	/* one */
	LOAD_OK(im, "k", mods, 1);
	check_mbi(start, end, "k", want, 1);
	/* the most the loader takes */
	make_vm(RAM_SIZE);
	LOAD_OK(im, "k", mods, 16);
	check_mbi(start, end, "k", want, 16);
	check_segments_loaded(&im);
	free(im.data);
}

static void test_modules_errors(void **state)
{
	(void)state;
	struct image im = simple_elf();
	static uint8_t big[RAM_SIZE];
	struct loader_module mods[17];

	for (int i = 0; i < 17; i++)
		mods[i] = (struct loader_module){ big, 16, "m" };
	assert_non_null(mb1_load(&vm, im.data, im.size, "", mods, 17));
	assert_string_equal(mb1_load(&vm, im.data, im.size, "", mods, 17), "too many modules");
	/* a module larger than what is left of RAM */
	make_vm(RAM_SIZE);
	mods[0] = (struct loader_module){ big, RAM_SIZE - 0x100000, "big" };
	assert_string_equal(mb1_load(&vm, im.data, im.size, "", mods, 1), ERR_MODS_FIT);
	assert_false(vm.vcpus[0].boot.valid);
	/* the second module does not fit */
	make_vm(RAM_SIZE);
	mods[0] = (struct loader_module){ big, 0x300000, "a" };
	mods[1] = (struct loader_module){ big, 0x400000, "b" };
	assert_string_equal(mb1_load(&vm, im.data, im.size, "", mods, 2), ERR_MODS_FIT);
	assert_false(vm.vcpus[0].boot.valid);
	free(im.data);
}

/* ------------------------------------------------------------------------------------------------ */
/* The a.out kludge (header flag 16: the header's address fields say where the file goes)            */

static struct image make_kludge(size_t size, size_t hdr_off, uint32_t header_addr, uint32_t load_addr,
				uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	struct image im = { malloc(size), size };
	assert_non_null(im.data);
	for (size_t i = 0; i < size; i++)
		im.data[i] = (uint8_t)(i * 13 + 1);
	const uint32_t fields[5] = { header_addr, load_addr, load_end, bss_end, entry };
	put_mb_header(im.data, hdr_off, MB_AOUT_KLUDGE | 0x3, fields);
	return im;
}

static void test_kludge_whole_file(void **state)
{
	(void)state;
	/* header 0x40 into the file, the file loaded at 1 MiB, bss to 1 MiB + 20 KiB */
	struct image im = make_kludge(0x1000, 0x40, 0x100040, 0x100000, 0, 0x105000, 0x100080);

	LOAD_OK(im, "aout", NULL, 0);
	assert_memory_equal(ram + 0x100000, im.data, 0x1000);
	for (uint32_t a = 0x101000; a < 0x105000; a++)
		assert_int_equal(ram[a], 0);
	check_boot_state(0x100080);
	check_mbi(0x100000, 0x105000, "aout", NULL, 0);
	free(im.data);
}

static void test_kludge_partial_load(void **state)
{
	(void)state;
	/* header at file offset 0x200 says it is at 0x200100 and the load starts at 0x200000: the file is
	 * loaded from offset 0x100; load_end_addr stops it after 0x800 bytes; no bss */
	struct image im = make_kludge(0x2000, 0x200, 0x200100, 0x200000, 0x200800, 0, 0x200100);

	LOAD_OK(im, "", NULL, 0);
	assert_memory_equal(ram + 0x200000, im.data + 0x100, 0x800);
	assert_int_equal(ram[0x200800], 0xcc);
	check_boot_state(0x200100);
	check_mbi(0x200000, 0x200800, "", NULL, 0);
	free(im.data);

	/* bss_end below load_end: no bss */
	make_vm(RAM_SIZE);
	im = make_kludge(0x1000, 0x0, 0x100000, 0x100000, 0x100800, 0x100400, 0x100000);
	LOAD_OK(im, "", NULL, 0);
	assert_memory_equal(ram + 0x100000, im.data, 0x800);
	assert_int_equal(ram[0x100800], 0xcc);
	check_mbi(0x100000, 0x100800, "", NULL, 0);
	free(im.data);
}

static void test_kludge_beats_elf(void **state)
{
	(void)state;
	/* an ELF whose Multiboot header sets flag 16: the address fields are used, not the ELF */
	struct image im = simple_elf();
	const uint32_t fields[5] = { 0x400080, 0x400000, 0, 0, 0x400100 };

	put_mb_header(im.data, 0x80, MB_AOUT_KLUDGE, fields);
	LOAD_OK(im, "", NULL, 0);
	assert_memory_equal(ram + 0x400000, im.data, im.size);
	assert_int_equal(ram[0x100000], 0xcc); /* the ELF segment address was not used */
	check_boot_state(0x400100);
	free(im.data);
}

static void test_kludge_errors(void **state)
{
	(void)state;
	struct image im;

	/* load_addr above header_addr */
	im = make_kludge(0x1000, 0x40, 0x100040, 0x100041, 0, 0, 0x100000);
	LOAD_ERR(im, ERR_ADDR);
	free(im.data);
	/* the header would be before the file's start */
	im = make_kludge(0x1000, 0x40, 0x100040, 0x100000 - 4, 0, 0, 0x100000);
	LOAD_ERR(im, ERR_ADDR);
	free(im.data);
	/* load_end beyond the file */
	im = make_kludge(0x1000, 0x40, 0x100040, 0x100000, 0x101001, 0, 0x100000);
	LOAD_ERR(im, ERR_LOAD_RANGE);
	free(im.data);
	/* load_end below load_addr */
	im = make_kludge(0x1000, 0x40, 0x100040, 0x100000, 0xfffff, 0, 0x100000);
	LOAD_ERR(im, ERR_LOAD_RANGE);
	free(im.data);
	/* loaded outside RAM */
	im = make_kludge(0x1000, 0x40, RAM_SIZE + 0x40, RAM_SIZE, 0, 0, RAM_SIZE);
	LOAD_ERR(im, ERR_SEG_RAM);
	free(im.data);
	/* bss beyond RAM */
	im = make_kludge(0x1000, 0x40, 0x100040, 0x100000, 0, RAM_SIZE + 1, 0x100000);
	LOAD_ERR(im, ERR_SEG_RAM);
	free(im.data);
	/* at address 0 */
	im = make_kludge(0x1000, 0x40, 0x40, 0, 0, 0, 0);
	LOAD_ERR(im, ERR_SEG_SIZE);
	free(im.data);
	/* a header at the end of a short file: the address fields must be in the file */
	im = make_kludge(0x1000, 0x40, 0x100040, 0x100000, 0, 0, 0x100000);
	im.size = 0x40 + 28;
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
}

/* ------------------------------------------------------------------------------------------------ */
/* Hostile inputs: never a crash, never a write outside guest RAM (ASan watches the heap buffer).    */

static void test_tiny_and_random_images(void **state)
{
	(void)state;
	uint8_t buf[64] = { 0 };

	assert_string_equal(mb1_load(&vm, buf, 0, "", NULL, 0), ERR_NO_HEADER);
	assert_string_equal(mb1_load(&vm, buf, 11, "", NULL, 0), ERR_NO_HEADER);
	assert_string_equal(mb1_load(&vm, buf, sizeof(buf), "", NULL, 0), ERR_NO_HEADER);

	/* random mutations of a valid image, in an exact-size heap buffer */
	struct image base = simple_elf();
	uint32_t seed = 1;
	int loaded = 0;
	for (int iter = 0; iter < 3000; iter++) {
		struct image im = { malloc(base.size), base.size };
		assert_non_null(im.data);
		memcpy(im.data, base.data, base.size);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1664525u + 1013904223u;
			/* aim at the ELF header, the program headers and the Multiboot header, 4-aligned */
			size_t pos = ((seed >> 8) % 0xa0) & ~(size_t)3;
			seed = seed * 1664525u + 1013904223u;
			uint32_t v = seed;
			if ((seed >> 28) & 1)
				v &= 0xfffff; /* small values are more interesting */
			memcpy(im.data + pos, &v, 4);
		}
		if ((seed >> 24) & 1)
			im.size = (seed >> 4) % base.size;
		/* keep e_phoff 4-aligned: an unaligned one is a known UB (misaligned struct access) */
		uint32_t phoff;
		memcpy(&phoff, im.data + offsetof(Elf32_Ehdr, e_phoff), 4);
		phoff &= ~3u;
		memcpy(im.data + offsetof(Elf32_Ehdr, e_phoff), &phoff, 4);
		make_vm(2 * MIB);
		const char *e = mb1_load(&vm, im.data, im.size, "x", NULL, 0);
		loaded += !e;
		if (!e) {
			assert_true(vm.vcpus[0].boot.valid);
			assert_true(vm.vcpus[0].boot.gpr[VM_REG_RBX] < vm.mem_size);
		} else {
			assert_false(vm.vcpus[0].boot.valid);
		}
		free(im.data);
	}
	free(base.data);
	/* both outcomes were exercised */
	assert_true(loaded > 0 && loaded < 3000);
}

/* ------------------------------------------------------------------------------------------------ */
/* Regressions: bugs these tests found in the kernel source, now fixed. */

/* Spec 3.1.1: "The Multiboot header must be contained completely within the first 8192 bytes". A
 * header whose magic starts at 8184 or 8188 has its checksum beyond byte 8192. */
static void bug_header_straddles_8k(void **state)
{
	(void)state;
	const struct seg segs[] = { { PT_LOAD, 0x100000, 0x100, 0x100 } };
	struct image im = make_elf(segs, 1, 0x100000, 8188, 0);
	LOAD_ERR(im, ERR_NO_HEADER);
	free(im.data);
}

/* Spec 3.1.2: bits 0-15 of the header flags are requirements; a loader that does not support one
 * (bit 2, video mode; bits 3-15, undefined) "must notify the user and fail to load the OS image". */
static void bug_unsupported_required_flags(void **state)
{
	(void)state;
	const struct seg segs[] = { { PT_LOAD, 0x100000, 0x100, 0x100 } };
	struct image im = make_elf(segs, 1, 0x100000, 0x80, (1u << 2) | 0x3);
	assert_non_null(mb1_load(&vm, im.data, im.size, "", NULL, 0));
	free(im.data);
	im = make_elf(segs, 1, 0x100000, 0x80, 1u << 7);
	assert_non_null(mb1_load(&vm, im.data, im.size, "", NULL, 0));
	free(im.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_real_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_guest_with_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_guest_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_segment_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_header_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_not_elf32_x86, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_program_headers_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_segment_outside_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_segment_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_fills_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_and_large_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modules_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kludge_whole_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kludge_partial_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kludge_beats_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kludge_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_and_random_images, setup, teardown),
		cmocka_unit_test_setup_teardown(bug_header_straddles_8k, setup, teardown),
		cmocka_unit_test_setup_teardown(bug_unsupported_required_flags, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
