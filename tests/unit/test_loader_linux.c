/*
 * Unit tests of kernel/vmm/loader_linux.c, the Linux bzImage loader (64-bit boot protocol): synthetic
 * bzImages built here, valid and broken, and Debian's real kernel and initramfs when
 * guest-images/linux/build.sh has put them in build/linux/ (LINUX_DIR from build.mk, or
 * $HV_LINUX_DIR). The guest's view is read back from guest memory with the offsets of
 * Documentation/arch/x86/boot.rst and zero-page.rst written out here (never the loader's own
 * constants): the zero page, the command line, the initrd, the e820 table, the page tables (walked
 * like the MMU does) and the GDT (decoded), and the vcpu state the protocol requires.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv/loader_linux.h>
#include <hv/x86.h>

#ifndef LINUX_DIR
#define LINUX_DIR "build/linux"
#endif

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define PG 4096ull

/* boot.rst / zero-page.rst */
#define O_ACPI_RSDP 0x070
#define O_EXT_RAMDISK_IMAGE 0x0c0
#define O_EXT_RAMDISK_SIZE 0x0c4
#define O_EXT_CMD_LINE_PTR 0x0c8
#define O_E820_ENTRIES 0x1e8
#define O_SENTINEL 0x1ef
#define O_SETUP_SECTS 0x1f1
#define O_SYSSIZE 0x1f4
#define O_VID_MODE 0x1fa
#define O_ROOT_DEV 0x1fc
#define O_BOOT_FLAG 0x1fe
#define O_JUMP 0x200
#define O_HEADER 0x202
#define O_VERSION 0x206
#define O_KERNEL_VERSION 0x20e
#define O_TYPE_OF_LOADER 0x210
#define O_LOADFLAGS 0x211
#define O_CODE32_START 0x214
#define O_RAMDISK_IMAGE 0x218
#define O_RAMDISK_SIZE 0x21c
#define O_HEAP_END_PTR 0x224
#define O_CMD_LINE_PTR 0x228
#define O_INITRD_ADDR_MAX 0x22c
#define O_KERNEL_ALIGNMENT 0x230
#define O_RELOCATABLE 0x234
#define O_XLOADFLAGS 0x236
#define O_CMDLINE_SIZE 0x238
#define O_PREF_ADDRESS 0x258
#define O_INIT_SIZE 0x260
#define O_E820_TABLE 0x2d0
#define HEADER_LEN 0x6a /* jump's second byte: the header ends at 0x202 + 0x6a = 0x26c */

/* ------------------------------------------------------------------------------------------------ */
/* A fake VM: one memory segment at guest-physical 0 backed by a heap buffer                         */

static struct vm vm;
static uint8_t *ram;

static uint64_t ram_capacity;

/* One buffer for every test, grown when a test wants a bigger VM (freed at the end of main). */
static void make_vm(uint64_t size)
{
	if (size > ram_capacity) {
		free(ram);
		ram = malloc(size);
		assert_non_null(ram);
		ram_capacity = size;
	}
	memset(ram, 0xcc, size); /* what the loader must overwrite shows */
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, "linux");
	vm.vcpu_count = 2;
	vm.vcpus[0].vm = &vm;
	vm.vcpus[1].vm = &vm;
	vm.memsegs[0] = (struct vm_memseg){ .gpa = 0, .len = size, .hpa = 0, .hva = ram };
	vm.memseg_count = 1;
	vm.mem_size = size;
}

static int setup(void **state)
{
	(void)state;
	make_vm(64 * MIB);
	return 0;
}

static uint8_t g8(uint64_t gpa)
{
	assert_true(gpa < vm.mem_size);
	return ram[gpa];
}

static uint16_t g16(uint64_t gpa)
{
	uint16_t v;
	assert_true(gpa + 2 <= vm.mem_size);
	memcpy(&v, ram + gpa, 2);
	return v;
}

static uint32_t g32(uint64_t gpa)
{
	uint32_t v;
	assert_true(gpa + 4 <= vm.mem_size);
	memcpy(&v, ram + gpa, 4);
	return v;
}

static uint64_t g64(uint64_t gpa)
{
	uint64_t v;
	assert_true(gpa + 8 <= vm.mem_size);
	memcpy(&v, ram + gpa, 8);
	return v;
}

/* The zero page is where RSI points. */
static uint64_t zp(void) { return vm.vcpus[0].boot.gpr[VM_REG_RSI]; }

/* ------------------------------------------------------------------------------------------------ */
/* Synthetic bzImages                                                                                */

struct bz {
	uint8_t setup_sects; /* as written in the header (0 means 4) */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t kernel_size; /* protected-mode bytes (a multiple of 16) */
	uint32_t trailer;     /* bytes after the kernel (a signature) */
};

static const struct bz bz_default = {
	.setup_sects = 6,
	.version = 0x020f,
	.loadflags = 0x01,
	.xloadflags = 0x7f,
	.relocatable = 1,
	.kernel_alignment = 0x200000,
	.pref_address = 0x1000000,
	.init_size = 4 * MIB,
	.initrd_addr_max = 0x7fffffff,
	.cmdline_size = 2047,
	.kernel_size = 96 * KIB,
};

struct image {
	uint8_t *data;
	uint64_t size;
	uint64_t setup_size;
};

static void p16(uint8_t *p, uint32_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void p32(uint8_t *p, uint32_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void p64(uint8_t *p, uint32_t off, uint64_t v) { memcpy(p + off, &v, 8); }

static struct image make_bz(const struct bz *b)
{
	uint64_t sects = b->setup_sects ? b->setup_sects : 4;
	struct image im;

	im.setup_size = (sects + 1) * 512;
	im.size = im.setup_size + b->kernel_size + b->trailer;
	im.data = malloc(im.size);
	assert_non_null(im.data);
	/* the setup code and whatever follows the header: bytes the zero page must not get */
	memset(im.data, 0xee, im.setup_size);
	for (uint64_t i = 0; i < b->kernel_size + b->trailer; i++)
		im.data[im.setup_size + i] = (uint8_t)(i * 7 + i / 251);
	memset(im.data + O_SETUP_SECTS, 0, 0x202 + HEADER_LEN - O_SETUP_SECTS);
	im.data[O_SETUP_SECTS] = b->setup_sects;
	p32(im.data, O_SYSSIZE, b->kernel_size / 16);
	p16(im.data, O_VID_MODE, 0xffff);
	p16(im.data, O_ROOT_DEV, 0x0801);
	p16(im.data, O_BOOT_FLAG, 0xaa55);
	im.data[O_JUMP] = 0xeb;
	im.data[O_JUMP + 1] = HEADER_LEN;
	memcpy(im.data + O_HEADER, "HdrS", 4);
	p16(im.data, O_VERSION, b->version);
	p16(im.data, O_KERNEL_VERSION, 0x3a0);
	im.data[O_LOADFLAGS] = b->loadflags;
	p32(im.data, O_CODE32_START, 0x100000);
	p16(im.data, O_HEAP_END_PTR, 0x5be0);
	p32(im.data, O_INITRD_ADDR_MAX, b->initrd_addr_max);
	p32(im.data, O_KERNEL_ALIGNMENT, b->kernel_alignment);
	im.data[O_RELOCATABLE] = b->relocatable;
	im.data[O_RELOCATABLE + 1] = 0x15; /* min_alignment */
	p16(im.data, O_XLOADFLAGS, b->xloadflags);
	p32(im.data, O_CMDLINE_SIZE, b->cmdline_size);
	p64(im.data, O_PREF_ADDRESS, b->pref_address);
	p32(im.data, O_INIT_SIZE, b->init_size);
	p32(im.data, 0x264, 0x190); /* handover_offset */
	p32(im.data, 0x268, 0x12345); /* kernel_info_offset */
	return im;
}

/* The VM's memory map as the core would give it, from the loader's own helper. */
static uint32_t default_map(struct linux_e820 *map)
{
	return linux_e820_default(&vm, map, LINUX_E820_MAX);
}

/* The loader with the file names of a VM's configuration: vmlinuz and initrd.img. */
static const char *load_bytes(struct vm *v, const uint8_t *image, uint64_t size, const char *cmdline,
			      const uint8_t *initrd, uint64_t initrd_size, const struct linux_e820 *map, uint32_t n,
			      uint64_t rsdp)
{
	struct linux_file k = { image, size, "vmlinuz" }, i = { initrd, initrd_size, "initrd.img" };
	return linux_load(v, &k, initrd_size ? &i : NULL, cmdline, map, n, rsdp);
}

static const char *load(const struct image *im, const char *cmdline, const uint8_t *initrd, uint64_t initrd_size)
{
	struct linux_e820 map[LINUX_E820_MAX];
	uint32_t n = default_map(map);
	vm.vcpus[0].boot.valid = false;
	return load_bytes(&vm, im->data, im->size, cmdline, initrd, initrd_size, map, n, 0xf0000);
}

static void expect_error(const char *err, const char *want)
{
	if (!err || !strstr(err, want))
		print_error("got \"%s\", want a message with \"%s\"\n", err ? err : "(null)", want);
	assert_non_null(err);
	assert_non_null(strstr(err, want));
	assert_false(vm.vcpus[0].boot.valid);
}

/* ------------------------------------------------------------------------------------------------ */
/* Checks of what the guest sees                                                                     */

/* The MMU's 4-level walk from CR3; returns the physical address or ~0 for not present. Requires
 * writable, supervisor pages, and that no level has reserved bits (no NX: EFER.NXE is clear). */
static uint64_t walk(uint64_t cr3, uint64_t va)
{
	uint64_t table = cr3 & ~0xfffull;
	for (int level = 3; level >= 0; level--) {
		uint64_t e = g64(table + ((va >> (12 + 9 * level)) & 511) * 8);
		if (!(e & 1))
			return ~0ull;
		assert_true(e & 2);			    /* writable */
		assert_int_equal(e >> 52, 0);		    /* no NX or reserved high bits */
		if (level == 3)
			assert_int_equal(e & 0x80, 0);	    /* PML4E has no PS */
		if (level == 2 && (e & 0x80))
			return (e & 0x000fffffc0000000ull) | (va & (GIB - 1));
		if (level == 1 && (e & 0x80)) {
			assert_int_equal(e & 0x1fe000, 0); /* 2 MiB page: reserved bits 20:13 */
			return (e & 0x000fffffffe00000ull) | (va & (2 * MIB - 1));
		}
		table = e & 0x000ffffffffff000ull;
	}
	return table | (va & 0xfff);
}

static void check_identity_map(uint64_t cr3)
{
	for (uint64_t va = 0; va < 4 * GIB; va += 2 * MIB) {
		uint64_t pa = walk(cr3, va);
		if (pa != va)
			print_error("VA %#llx maps to %#llx\n", (unsigned long long)va, (unsigned long long)pa);
		assert_true(pa == va);
		assert_true(walk(cr3, va + 0x1ff123) == va + 0x1ff123);
	}
}

/* A GDT entry decoded into the VMX access-rights layout struct seg_desc uses. */
static struct seg_desc gdt_entry(uint64_t gdt_base, uint16_t sel)
{
	uint64_t d = g64(gdt_base + (sel & ~7u));
	struct seg_desc s;
	s.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s.limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
	s.access = (uint32_t)((d >> 40) & 0xff) | (uint32_t)(((d >> 52) & 0xf) << 12);
	if (s.access & SEG_ACCESS_G)
		s.limit = (s.limit << 12) | 0xfff;
	s.selector = sel;
	return s;
}

static void check_cpu_state(uint64_t load)
{
	const struct vcpu_boot_state *b = &vm.vcpus[0].boot;

	assert_true(b->valid);
	assert_false(vm.vcpus[1].boot.valid); /* APs wait for INIT-SIPI */
	assert_int_equal(b->rip, load + 0x200);
	assert_int_equal(b->rflags & RFLAGS_IF, 0);
	assert_true(b->rflags & 2);
	/* long mode with paging */
	assert_int_equal(b->cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
	assert_int_equal(b->cr0 & (CR0_CD | CR0_NW), 0);
	assert_true(b->cr4 & CR4_PAE);
	assert_int_equal(b->efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	assert_int_equal(b->cr3 & 0xfff, 0);
	check_identity_map(b->cr3);
	/* RSI: the zero page, page-aligned in RAM; the other GPRs zero */
	assert_int_equal(zp() & 0xfff, 0);
	for (int r = 0; r < VM_GPR_COUNT; r++)
		if (r != VM_REG_RSI)
			assert_int_equal(b->gpr[r], 0);
	/* a stack in RAM, away from everything else the loader wrote */
	assert_true(b->rsp >= PG && b->rsp <= 640 * KIB);
	/* CS = __BOOT_CS, DS/ES/SS = __BOOT_DS, flat, and the GDT in memory says the same */
	assert_int_equal(b->code.selector, 0x10);
	assert_int_equal(b->data.selector, 0x18);
	assert_true(b->gdtr.limit >= 0x1f);
	assert_true((b->gdtr.limit + 1) % 8 == 0);
	struct seg_desc cs = gdt_entry(b->gdtr.base, 0x10), ds = gdt_entry(b->gdtr.base, 0x18);
	const struct seg_desc *cached[2] = { &b->code, &b->data }, *mem[2] = { &cs, &ds };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mem[i]->base, 0);
		assert_int_equal(mem[i]->limit, 0xffffffffu);
		assert_int_equal(cached[i]->base, 0);
		assert_int_equal(cached[i]->limit, 0xffffffffu);
		assert_int_equal(cached[i]->access, mem[i]->access);
		assert_true(mem[i]->access & SEG_ACCESS_P);
		assert_true(mem[i]->access & (1u << 4)); /* code or data, not system */
		assert_int_equal(SEG_DPL(mem[i]->access), 0);
	}
	assert_int_equal(cs.access & 0xa, 0xa);	 /* code, readable */
	assert_true(cs.access & SEG_ACCESS_L);
	assert_int_equal(cs.access & SEG_ACCESS_DB, 0); /* L with D clear: 64-bit */
	assert_int_equal(ds.access & 0xa, 0x2);	 /* data, writable */
	assert_int_equal(g64(b->gdtr.base), 0);	 /* the null descriptor */
	assert_int_equal(b->idtr.limit, 0);
}

/* Zero page bytes: the image's setup header with the loader's fields, the e820 table, the RSDP
 * address; every other byte zero. */
static void check_zero_page(const struct image *im, uint64_t load, const char *cmdline, const uint8_t *initrd,
			    uint64_t initrd_size, const struct linux_e820 *map, uint32_t entries, uint64_t rsdp)
{
	uint64_t z = zp();
	uint32_t hdr_end = 0x202 + im->data[O_JUMP + 1];

	assert_int_equal(g8(z + O_TYPE_OF_LOADER), 0xff);
	assert_int_equal(g8(z + O_LOADFLAGS), im->data[O_LOADFLAGS] | 0x81); /* LOADED_HIGH, CAN_USE_HEAP */
	assert_int_equal(g16(z + O_HEAP_END_PTR), 0xde00);
	assert_int_equal(g32(z + O_CODE32_START), load);
	assert_int_equal(g8(z + O_SENTINEL), 0);
	/* the command line */
	uint32_t cl = g32(z + O_CMD_LINE_PTR);
	assert_true(cl >= PG && cl + strlen(cmdline) + 1 <= 640 * KIB);
	assert_string_equal((const char *)ram + cl, cmdline);
	assert_true(strlen(cmdline) <= g32(z + O_CMDLINE_SIZE));
	/* the initrd */
	uint32_t rd = g32(z + O_RAMDISK_IMAGE);
	assert_int_equal(g32(z + O_RAMDISK_SIZE), initrd_size);
	if (initrd_size) {
		assert_int_equal(rd % PG, 0);
		assert_true(rd >= MIB && rd + initrd_size <= vm.mem_size);
		assert_true((uint64_t)rd + initrd_size - 1 <= g32(z + O_INITRD_ADDR_MAX));
		assert_true(rd + initrd_size <= load || rd >= load + g32(z + O_INIT_SIZE)); /* clear of the kernel */
		assert_memory_equal(ram + rd, initrd, initrd_size);
	} else {
		assert_int_equal(rd, 0);
	}
	/* the map */
	assert_int_equal(g8(z + O_E820_ENTRIES), entries);
	assert_memory_equal(ram + z + O_E820_TABLE, map, entries * 20);
	assert_int_equal(g64(z + O_ACPI_RSDP), rsdp);
	/* everything else */
	for (uint32_t off = 0; off < 0x1000; off++) {
		if (off >= O_SETUP_SECTS && off < hdr_end) {
			bool filled = off == O_TYPE_OF_LOADER || off == O_LOADFLAGS ||
				      (off >= O_CODE32_START && off < O_RAMDISK_IMAGE + 8) ||
				      (off >= O_HEAP_END_PTR && off < O_HEAP_END_PTR + 2) ||
				      (off >= O_CMD_LINE_PTR && off < O_CMD_LINE_PTR + 4);
			if (!filled && g8(z + off) != im->data[off])
				print_error("zero page %#x: %#x, the image has %#x\n", off, g8(z + off), im->data[off]);
			assert_true(filled || g8(z + off) == im->data[off]);
		} else if (!(off >= O_E820_TABLE && off < O_E820_TABLE + entries * 20) && off != O_E820_ENTRIES &&
			   !(off >= O_ACPI_RSDP && off < O_ACPI_RSDP + 8)) {
			if (g8(z + off) != 0)
				print_error("zero page %#x: %#x, want 0\n", off, g8(z + off));
			assert_int_equal(g8(z + off), 0);
		}
	}
	assert_int_equal(g32(z + O_EXT_RAMDISK_IMAGE), 0);
	assert_int_equal(g32(z + O_EXT_RAMDISK_SIZE), 0);
	assert_int_equal(g32(z + O_EXT_CMD_LINE_PTR), 0);
}

/* The boot data below 1 MiB must not overlap each other (the GDT, zero page, command line, page
 * tables, stack). */
static void check_low_layout(const char *cmdline)
{
	const struct vcpu_boot_state *b = &vm.vcpus[0].boot;
	struct {
		uint64_t start, end;
	} r[] = {
		{ b->gdtr.base, b->gdtr.base + b->gdtr.limit + 1 },
		{ zp(), zp() + PG },
		{ g32(zp() + O_CMD_LINE_PTR), g32(zp() + O_CMD_LINE_PTR) + strlen(cmdline) + 1 },
		{ b->cr3, b->cr3 + 6 * PG }, /* PML4, PDPT, 4 PDs for 4 GiB */
		{ b->rsp - 512, b->rsp },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		assert_true(r[i].start >= PG && r[i].end <= 0x9fc00);
		for (size_t j = i + 1; j < sizeof(r) / sizeof(r[0]); j++)
			assert_true(r[i].end <= r[j].start || r[j].end <= r[i].start);
	}
}

static uint8_t *make_initrd(uint64_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	assert_non_null(p);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (uint64_t i = 0; i < size; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(p + i, &x, size - i < 8 ? size - i : 8);
	}
	return p;
}

/* ------------------------------------------------------------------------------------------------ */
/* Synthetic images                                                                                  */

static void test_valid(void **state)
{
	(void)state;
	struct image im = make_bz(&bz_default);
	uint64_t initrd_size = 3 * MIB + 123;
	uint8_t *initrd = make_initrd(initrd_size);
	const char *cmdline = "console=ttyS0 panic=-1 root=/dev/ram0";
	struct linux_e820 map[LINUX_E820_MAX];
	uint32_t n = default_map(map);

	assert_null(load_bytes(&vm, im.data, im.size, cmdline, initrd, initrd_size, map, n, 0xf0000));
	/* the protected-mode kernel at pref_address (aligned already) */
	assert_memory_equal(ram + 0x1000000, im.data + im.setup_size, bz_default.kernel_size);
	check_cpu_state(0x1000000);
	check_zero_page(&im, 0x1000000, cmdline, initrd, initrd_size, map, n, 0xf0000);
	check_low_layout(cmdline);
	/* the initrd as high as it goes: the top of RAM, page-aligned */
	assert_int_equal(g32(zp() + O_RAMDISK_IMAGE), (64 * MIB - initrd_size) & ~(PG - 1));
	free(initrd);
	free(im.data);
}

static void test_e820_default(void **state)
{
	(void)state;
	struct linux_e820 map[LINUX_E820_MAX];
	uint32_t n = default_map(map);

	assert_int_equal(n, 4);
	const struct linux_e820 want[] = {
		{ 0, 0x9fc00, LINUX_E820_RAM },
		{ 0x9fc00, 0x400, LINUX_E820_RESERVED },
		{ 0xe0000, 0x20000, LINUX_E820_RESERVED },
		{ 0x100000, 63 * MIB, LINUX_E820_RAM },
	};
	assert_memory_equal(map, want, sizeof(want));
	assert_int_equal(sizeof(struct linux_e820), 20);
	/* a second segment above 4 GiB, and a map too small to hold it all */
	vm.memsegs[1] = (struct vm_memseg){ .gpa = 4 * GIB, .len = 2 * GIB, .hva = NULL };
	vm.memseg_count = 2;
	n = default_map(map);
	assert_int_equal(n, 5);
	assert_int_equal(map[4].addr, 4 * GIB);
	assert_int_equal(map[4].size, 2 * GIB);
	assert_int_equal(map[4].type, LINUX_E820_RAM);
	assert_int_equal(linux_e820_default(&vm, map, 3), 3);
	for (uint32_t i = 1; i < 3; i++)
		assert_true(map[i - 1].addr + map[i - 1].size <= map[i].addr);
}

/* The platform's ACPI tables at the top of RAM (vm->acpi_base) are an ACPI region the loader keeps
 * clear of, and the RSDP address reaches the zero page. */
static void test_e820_acpi_region(void **state)
{
	(void)state;
	struct linux_e820 map[LINUX_E820_MAX];
	vm.acpi_base = 64 * MIB - 64 * KIB;
	vm.acpi_rsdp = vm.acpi_base + 0x40;
	uint32_t n = default_map(map);

	const struct linux_e820 want[] = {
		{ 0, 0x9fc00, LINUX_E820_RAM },
		{ 0x9fc00, 0x400, LINUX_E820_RESERVED },
		{ 0xe0000, 0x20000, LINUX_E820_RESERVED },
		{ 0x100000, 63 * MIB - 64 * KIB, LINUX_E820_RAM },
		{ 64 * MIB - 64 * KIB, 64 * KIB, LINUX_E820_ACPI },
	};
	assert_int_equal(n, 5);
	assert_memory_equal(map, want, sizeof(want));

	struct image im = make_bz(&bz_default);
	uint64_t size = 2 * MIB;
	uint8_t *initrd = make_initrd(size);
	memset(ram + vm.acpi_base, 0xac, 64 * KIB); /* the tables */
	assert_null(load_bytes(&vm, im.data, im.size, "acpi", initrd, size, map, n, vm.acpi_rsdp));
	check_zero_page(&im, 0x1000000, "acpi", initrd, size, map, n, vm.acpi_rsdp);
	assert_int_equal(g32(zp() + O_RAMDISK_IMAGE), 62 * MIB - 64 * KIB);
	for (uint64_t i = 0; i < 64 * KIB; i++)
		assert_int_equal(ram[vm.acpi_base + i], 0xac);
	free(initrd);
	free(im.data);
}

/* The map the caller gives is what the kernel gets, and the initrd keeps out of what is not RAM. */
static void test_caller_map(void **state)
{
	(void)state;
	struct image im = make_bz(&bz_default);
	uint64_t initrd_size = 2 * MIB;
	uint8_t *initrd = make_initrd(initrd_size);
	const struct linux_e820 map[] = {
		{ 0, 0x9fc00, LINUX_E820_RAM },
		{ 0x9fc00, 0x400, LINUX_E820_RESERVED },
		{ 0xf0000, 0x10000, LINUX_E820_RESERVED },
		{ 0x100000, 60 * MIB, LINUX_E820_RAM },
		{ 61 * MIB, 3 * MIB, LINUX_E820_ACPI }, /* tables at the top of RAM */
		{ 0xfec00000, 0x1000, LINUX_E820_RESERVED },
	};

	assert_null(load_bytes(&vm, im.data, im.size, "", initrd, initrd_size, map, 6, 0));
	check_zero_page(&im, 0x1000000, "", initrd, initrd_size, map, 6, 0);
	assert_int_equal(g32(zp() + O_RAMDISK_IMAGE), 59 * MIB);
	/* 128 entries fit; 0 or 129 do not */
	struct linux_e820 big[LINUX_E820_MAX + 1];
	for (uint32_t i = 0; i <= LINUX_E820_MAX; i++)
		big[i] = (struct linux_e820){ i < 2 ? (i ? MIB : 0) : 64 * MIB + i * PG, i < 2 ? (i ? 63 * MIB : 0x9f000) : PG,
					      i < 2 ? LINUX_E820_RAM : LINUX_E820_RESERVED };
	assert_null(load_bytes(&vm, im.data, im.size, "", NULL, 0, big, LINUX_E820_MAX, 0));
	assert_int_equal(g8(zp() + O_E820_ENTRIES), LINUX_E820_MAX);
	assert_memory_equal(ram + zp() + O_E820_TABLE, big, LINUX_E820_MAX * 20);
	vm.vcpus[0].boot.valid = false;
	expect_error(load_bytes(&vm, im.data, im.size, "", NULL, 0, big, LINUX_E820_MAX + 1, 0), "memory map");
	expect_error(load_bytes(&vm, im.data, im.size, "", NULL, 0, big, 0, 0), "memory map");
	/* the kernel's range must be RAM in the map, not just in the VM */
	const struct linux_e820 holed[] = {
		{ 0, 0x9fc00, LINUX_E820_RAM },
		{ 0x100000, 17 * MIB, LINUX_E820_RAM },
		{ 18 * MIB, MIB, LINUX_E820_RESERVED },
		{ 19 * MIB, 45 * MIB, LINUX_E820_RAM },
	};
	expect_error(load_bytes(&vm, im.data, im.size, "", NULL, 0, holed, 4, 0), "give it more memory");
	free(initrd);
	free(im.data);
}

static void test_no_initrd_and_null_cmdline(void **state)
{
	(void)state;
	struct image im = make_bz(&bz_default);
	struct linux_e820 map[LINUX_E820_MAX];
	uint32_t n = default_map(map);

	assert_null(load_bytes(&vm, im.data, im.size, NULL, NULL, 0, map, n, 0));
	check_zero_page(&im, 0x1000000, "", NULL, 0, map, n, 0);
	check_cpu_state(0x1000000);
	free(im.data);
}

static void test_old_protocol(void **state)
{
	(void)state;
	struct bz b = bz_default;
	b.version = 0x0205;
	struct image im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0),
		     "vmlinuz: unsupported boot protocol version 2.05 (hv needs 2.12 or later, for the 64-bit entry point)");
	free(im.data);
	b.version = 0x0100;
	im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0), "unsupported boot protocol version 1.00");
	free(im.data);
	/* 2.06-2.11 load in 32-bit mode only: no xloadflags */
	b.version = 0x020b;
	im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0), "vmlinuz: unsupported boot protocol version 2.11");
	free(im.data);
	/* 2.12 with a setup header that ends before the fields hv reads */
	b.version = 0x020c;
	im = make_bz(&b);
	im.data[O_JUMP + 1] = 0x5e; /* ends at 0x260 */
	expect_error(load(&im, "", NULL, 0), "vmlinuz: bad bzImage header: it ends at offset 0x260, before init_size");
	free(im.data);
}

static void test_not_bzimage(void **state)
{
	(void)state;
	struct image im = make_bz(&bz_default);
	memcpy(im.data + O_HEADER, "HdrT", 4);
	assert_false(linux_is_bzimage(im.data, im.size));
	expect_error(load(&im, "", NULL, 0), "not a bzImage");
	memcpy(im.data + O_HEADER, "HdrS", 4);
	assert_true(linux_is_bzimage(im.data, im.size));
	p16(im.data, O_BOOT_FLAG, 0x55aa);
	assert_false(linux_is_bzimage(im.data, im.size));
	expect_error(load(&im, "", NULL, 0), "not a bzImage");
	free(im.data);
	/* a zImage (not loaded high) */
	struct bz b = bz_default;
	b.loadflags = 0;
	im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0), "zImage");
	free(im.data);
}

static void test_not_64bit(void **state)
{
	(void)state;
	struct bz b = bz_default;
	b.xloadflags = 0x7e;
	struct image im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0), "vmlinuz: the kernel has no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags)");
	free(im.data);
}

static void test_truncated(void **state)
{
	(void)state;
	struct image im = make_bz(&bz_default);

	/* every cut inside the header and the setup code, and a few inside the kernel */
	for (uint64_t size = 0; size < im.size; size += size < im.setup_size + 64 ? 1 : 4093) {
		const char *err = load_bytes(&vm, im.data, size, "", NULL, 0, (struct linux_e820[]){ { 0, 64 * MIB, 1 } },
					     1, 0);
		if (!err)
			print_error("a %llu-byte cut of a %llu-byte image loaded\n", (unsigned long long)size,
				    (unsigned long long)im.size);
		assert_non_null(err);
		assert_false(vm.vcpus[0].boot.valid);
		if (size >= 0x26c)
			assert_non_null(strstr(err, "truncated"));
	}
	free(im.data);
}

static void test_garbage(void **state)
{
	(void)state;
	uint64_t size = 256 * KIB;
	uint8_t *junk = malloc(size);
	assert_non_null(junk);
	uint64_t x = 6;
	for (int round = 0; round < 256; round++) {
		for (uint64_t i = 0; i < size; i += 8) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(junk + i, &x, 8);
		}
		if (round & 1) { /* plausible magic, random fields */
			p16(junk, O_BOOT_FLAG, 0xaa55);
			memcpy(junk + O_HEADER, "HdrS", 4);
		}
		struct image im = { junk, size, 0 };
		const char *err = load(&im, "", NULL, 0);
		/* a random header may describe a loadable kernel; it must never crash or escape RAM */
		if (err)
			assert_false(vm.vcpus[0].boot.valid);
		vm.vcpus[0].boot.valid = false;
	}
	struct image im = { junk, 100, 0 };
	expect_error(load(&im, "", NULL, 0), "not a bzImage");
	assert_false(linux_is_bzimage(junk, 0));
	expect_error(load_bytes(&vm, NULL, 0, "", NULL, 0, (struct linux_e820[]){ { 0, 64 * MIB, 1 } }, 1, 0),
		     "not a bzImage");
	free(junk);
}

static void test_setup_sects_zero(void **state)
{
	(void)state;
	struct bz b = bz_default;
	b.setup_sects = 0; /* means 4 */
	struct image im = make_bz(&b);
	assert_int_equal(im.setup_size, 5 * 512);
	assert_null(load(&im, "x", NULL, 0));
	assert_memory_equal(ram + 0x1000000, im.data + 5 * 512, b.kernel_size);
	assert_int_equal(g8(zp() + O_SETUP_SECTS), 0); /* the header as the image has it */
	free(im.data);
}

/* A signed kernel: bytes after syssize * 16 are not the kernel and are not loaded. */
static void test_trailer_not_loaded(void **state)
{
	(void)state;
	struct bz b = bz_default;
	b.trailer = 1472;
	struct image im = make_bz(&b);
	assert_null(load(&im, "", NULL, 0));
	assert_memory_equal(ram + 0x1000000, im.data + im.setup_size, b.kernel_size);
	assert_int_equal(g8(0x1000000 + b.kernel_size), 0xcc);
	free(im.data);
	/* and a syssize larger than the file is a truncated image */
	b.trailer = 0;
	im = make_bz(&b);
	p32(im.data, O_SYSSIZE, b.kernel_size / 16 + 1);
	expect_error(load(&im, "", NULL, 0), "truncated");
	free(im.data);
}

static void test_initrd_too_large(void **state)
{
	(void)state;
	struct image im = make_bz(&bz_default);
	uint64_t size = 45 * MIB; /* 44 MiB above the kernel, 15 below */
	uint8_t *initrd = make_initrd(size);
	expect_error(load(&im, "", initrd, size),
		     "initrd.img: initrd of 45 MiB is larger than the VM's free memory (64 MiB VM, the kernel takes 4 MiB)");
	expect_error(load(&im, "", initrd, 5 * GIB), "initrd.img: initrd of 5120 MiB is larger than the VM's free memory");
	/* 44 MiB still fits above the kernel */
	assert_null(load(&im, "", initrd, 44 * MIB));
	assert_int_equal(g32(zp() + O_RAMDISK_IMAGE), 20 * MIB);
	free(initrd);
	free(im.data);
}

static void test_initrd_below_kernel_and_addr_max(void **state)
{
	(void)state;
	struct bz b = bz_default;
	b.init_size = 14 * MIB; /* the kernel: 16-30 MiB */
	struct image im = make_bz(&b);
	make_vm(32 * MIB);
	uint64_t size = 12 * MIB + 1;
	uint8_t *initrd = make_initrd(size);
	assert_null(load(&im, "", initrd, size));
	/* no room above the kernel: below it */
	assert_int_equal(g32(zp() + O_RAMDISK_IMAGE), (16 * MIB - size) & ~(PG - 1));
	check_zero_page(&im, 0x1000000, "", initrd, size, (struct linux_e820[]){ { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 },
									    { 0xe0000, 0x20000, 2 }, { MIB, 31 * MIB, 1 } },
			4, 0xf0000);
	free(im.data);
	/* initrd_addr_max limits the initrd's last byte */
	make_vm(64 * MIB);
	b = bz_default;
	b.initrd_addr_max = 48 * MIB - 1;
	im = make_bz(&b);
	assert_null(load(&im, "", initrd, MIB));
	assert_int_equal(g32(zp() + O_RAMDISK_IMAGE), 47 * MIB);
	/* 0 means the old default 0x37ffffff: above this VM's RAM, so the top of RAM */
	p32(im.data, O_INITRD_ADDR_MAX, 0);
	assert_null(load(&im, "", initrd, MIB));
	assert_int_equal(g32(zp() + O_RAMDISK_IMAGE), 63 * MIB);
	free(initrd);
	free(im.data);
}

static void test_cmdline_too_long(void **state)
{
	(void)state;
	struct bz b = bz_default;
	b.cmdline_size = 255;
	struct image im = make_bz(&b);
	char line[5000];
	memset(line, 'a', sizeof(line));
	line[255] = 0;
	assert_null(load(&im, line, NULL, 0));
	assert_string_equal((const char *)ram + g32(zp() + O_CMD_LINE_PTR), line);
	vm.vcpus[0].boot.valid = false;
	line[255] = 'b';
	line[256] = 0;
	expect_error(load(&im, line, NULL, 0), "command line is too long (256 bytes, the kernel takes at most 255)");
	free(im.data);
	/* a kernel that takes more than hv's page for it: hv's limit (4095) applies */
	b.cmdline_size = 100000;
	im = make_bz(&b);
	line[4095] = 0;
	memset(line, 'c', 4095);
	assert_null(load(&im, line, NULL, 0));
	check_low_layout(line);
	vm.vcpus[0].boot.valid = false;
	line[4095] = 'c';
	line[4096] = 0;
	expect_error(load(&im, line, NULL, 0), "at most 4095");
	free(im.data);
}

static void test_load_address(void **state)
{
	(void)state;
	struct bz b = bz_default;
	/* relocatable: pref_address rounded up to kernel_alignment */
	b.pref_address = 0x1100000;
	b.kernel_alignment = 0x1000000;
	struct image im = make_bz(&b);
	assert_null(load(&im, "", NULL, 0));
	assert_int_equal(vm.vcpus[0].boot.rip, 0x2000200);
	assert_memory_equal(ram + 0x2000000, im.data + im.setup_size, b.kernel_size);
	assert_int_equal(g32(zp() + O_CODE32_START), 0x2000000);
	free(im.data);
	/* pref_address 0: 16 MiB */
	b.pref_address = 0;
	b.kernel_alignment = 0x200000;
	im = make_bz(&b);
	assert_null(load(&im, "", NULL, 0));
	assert_int_equal(vm.vcpus[0].boot.rip, 0x1000200);
	free(im.data);
	/* a bad alignment */
	b.kernel_alignment = 0x300000;
	im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0), "kernel_alignment");
	free(im.data);
	/* not relocatable: exactly pref_address */
	b = bz_default;
	b.relocatable = 0;
	b.pref_address = 0x300000;
	im = make_bz(&b);
	assert_null(load(&im, "", NULL, 0));
	assert_int_equal(vm.vcpus[0].boot.rip, 0x300200);
	check_cpu_state(0x300000);
	free(im.data);
	/* init_size smaller than the kernel is a broken header */
	b = bz_default;
	b.init_size = 4096;
	im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0), "init_size");
	free(im.data);
}

static void test_kernel_does_not_fit(void **state)
{
	(void)state;
	struct bz b = bz_default;
	struct image im = make_bz(&b);
	make_vm(16 * MIB);
	expect_error(load(&im, "", NULL, 0), "the kernel needs 4 MiB of RAM from 16 MiB on and the VM has 16 MiB");
	make_vm(20 * MIB); /* exactly enough */
	assert_null(load(&im, "", NULL, 0));
	free(im.data);
	/* the kernel must lie inside the 4 GiB identity map */
	b.relocatable = 0;
	b.pref_address = 4 * GIB - 2 * MIB;
	im = make_bz(&b);
	expect_error(load(&im, "", NULL, 0), "give it more memory");
	free(im.data);
	/* a VM with no RAM below 64 KiB cannot take the boot data */
	make_vm(64 * MIB);
	vm.memsegs[0] = (struct vm_memseg){ .gpa = MIB, .len = 63 * MIB, .hva = ram };
	im = make_bz(&bz_default);
	const struct linux_e820 map[] = { { MIB, 63 * MIB, LINUX_E820_RAM } };
	expect_error(load_bytes(&vm, im.data, im.size, "", NULL, 0, map, 1, 0), "below 64 KiB");
	free(im.data);
}

/* ------------------------------------------------------------------------------------------------ */
/* Debian's kernel and initramfs (guest-images/linux/build.sh)                                       */

static uint8_t *read_file(const char *path, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (uint64_t)n;
	return p;
}

static void test_debian_kernel(void **state)
{
	(void)state;
	const char *dir = getenv("HV_LINUX_DIR");
	char kpath[512], ipath[512];
	uint64_t ksize = 0, isize = 0;

	dir = dir && *dir ? dir : LINUX_DIR;
	snprintf(kpath, sizeof(kpath), "%s/vmlinuz", dir);
	snprintf(ipath, sizeof(ipath), "%s/initramfs.cpio.gz", dir);
	uint8_t *kernel = read_file(kpath, &ksize);
	if (!kernel) {
		print_message("skipped: no %s (build it with guest-images/linux/build.sh)\n", kpath);
		skip();
	}
	uint8_t *initrd = read_file(ipath, &isize);
	if (!initrd)
		print_message("no %s: loading the kernel alone\n", ipath);
	make_vm(256 * MIB);
	struct image im = { kernel, ksize, 0 };
	const char *cmdline = "console=ttyS0 panic=-1";
	struct linux_e820 map[LINUX_E820_MAX];
	uint32_t n = default_map(map);

	assert_true(linux_is_bzimage(kernel, ksize));
	const char *err = load_bytes(&vm, kernel, ksize, cmdline, initrd, isize, map, n, 0xf0000);
	if (err)
		print_error("%s: %s\n", kpath, err);
	assert_null(err);
	uint16_t version = g16(zp() + O_VERSION);
	uint64_t load = g64(zp() + O_PREF_ADDRESS);
	uint64_t setup = ((kernel[O_SETUP_SECTS] ? kernel[O_SETUP_SECTS] : 4) + 1) * 512ull;
	uint64_t pm = g32(zp() + O_SYSSIZE) * 16ull;
	print_message("%s: protocol %u.%02u, %llu KiB kernel at %#llx, init_size %u MiB, initrd %llu KiB at %#x\n",
		      kpath, version >> 8, version & 0xff, (unsigned long long)(pm >> 10), (unsigned long long)load,
		      g32(zp() + O_INIT_SIZE) >> 20, (unsigned long long)(isize >> 10), g32(zp() + O_RAMDISK_IMAGE));
	assert_true(version >= 0x020c);
	assert_true(g16(zp() + O_XLOADFLAGS) & 1);
	assert_int_equal(load % g32(zp() + O_KERNEL_ALIGNMENT), 0);
	assert_true(pm <= ksize - setup);
	assert_memory_equal(ram + load, kernel + setup, pm);
	check_cpu_state(load);
	check_zero_page(&im, load, cmdline, initrd, isize, map, n, 0xf0000);
	check_low_layout(cmdline);
	/* the 64-bit entry starts with cld; cli (fc fa) in every kernel since 2.6.24 */
	assert_int_equal(g8(load + 0x200), 0xfc);
	assert_int_equal(g8(load + 0x201), 0xfa);
	/* the kernel's own limits hold */
	if (isize)
		assert_true(g32(zp() + O_RAMDISK_IMAGE) + isize <= 256 * MIB);
	/* a 64 MiB VM is too small for its init_size at 16 MiB: a clear message, not a crash */
	make_vm(64 * MIB);
	n = default_map(map);
	err = load_bytes(&vm, kernel, ksize, cmdline, initrd, isize, map, n, 0xf0000);
	assert_non_null(err);
	print_message("in a 64 MiB VM: %s\n", err);
	/* and cut to half, truncated */
	make_vm(256 * MIB);
	n = default_map(map);
	err = load_bytes(&vm, kernel, ksize / 2, cmdline, initrd, isize, map, n, 0xf0000);
	assert_non_null(err);
	assert_non_null(strstr(err, "truncated"));
	free(initrd);
	free(kernel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_valid, setup),
		cmocka_unit_test_setup(test_e820_default, setup),
		cmocka_unit_test_setup(test_e820_acpi_region, setup),
		cmocka_unit_test_setup(test_caller_map, setup),
		cmocka_unit_test_setup(test_no_initrd_and_null_cmdline, setup),
		cmocka_unit_test_setup(test_old_protocol, setup),
		cmocka_unit_test_setup(test_not_bzimage, setup),
		cmocka_unit_test_setup(test_not_64bit, setup),
		cmocka_unit_test_setup(test_truncated, setup),
		cmocka_unit_test_setup(test_garbage, setup),
		cmocka_unit_test_setup(test_setup_sects_zero, setup),
		cmocka_unit_test_setup(test_trailer_not_loaded, setup),
		cmocka_unit_test_setup(test_initrd_too_large, setup),
		cmocka_unit_test_setup(test_initrd_below_kernel_and_addr_max, setup),
		cmocka_unit_test_setup(test_cmdline_too_long, setup),
		cmocka_unit_test_setup(test_load_address, setup),
		cmocka_unit_test_setup(test_kernel_does_not_fit, setup),
		cmocka_unit_test_setup(test_debian_kernel, setup),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(ram);
	return failed;
}
