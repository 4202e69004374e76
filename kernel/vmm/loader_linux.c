/*
 * Linux bzImage loader: the x86 boot protocol's 64-bit entry (Documentation/arch/x86/boot.rst, "64-bit
 * boot protocol"; the zero page layout of Documentation/arch/x86/zero-page.rst).
 *
 * Guest memory after loading:
 *   0x1000  GDT: null, null, __BOOT_CS (0x10) flat 64-bit code, __BOOT_DS (0x18) flat data
 *   0x2000  zero page (struct boot_params): the image's setup header plus what the loader fills
 *   0x3000  command line
 *   0x4000  PML4, 0x5000 PDPT, 0x6000-0x9fff four PDs: [0, 4 GiB) identity mapped with 2 MiB pages
 *   0xa000  stack page (the kernel sets its own before using one)
 *   pref_address (16 MiB for Debian's kernels): the protected-mode kernel, init_size bytes reserved
 *   below min(initrd_addr_max, top of RAM): the initrd, as high as it fits
 */
#include <hv/fmt.h>
#include <hv/loader_linux.h>
#include <hv/string.h>
#include <hv/x86.h>
#include <stdarg.h>

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define PAGE 4096ull

/* Setup header fields: offsets in the image's first sector and in the zero page alike (boot.rst). */
#define HDR_SETUP_SECTS 0x1f1 /* u8: 0 means 4 */
#define HDR_SYSSIZE 0x1f4     /* u32: protected-mode code size in 16-byte units (2.04+) */
#define HDR_BOOT_FLAG 0x1fe   /* u16: 0xaa55 */
#define HDR_JUMP 0x200	      /* u16: jump; its second byte is the header's length past 0x202 */
#define HDR_HEADER 0x202      /* u32: "HdrS" */
#define HDR_VERSION 0x206     /* u16: protocol version, major in the high byte */
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE_KERNEL 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_FIELDS_END 0x264 /* hv reads fields up to init_size */

/* Zero page fields outside the setup header */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 0x1000

#define BOOT_FLAG 0xaa55
#define HDRS_MAGIC 0x53726448u /* "HdrS" */
#define MIN_VERSION 0x020c      /* 2.12: xloadflags and the 64-bit entry */
#define SECTOR 512
#define SETUP_SECTS_DEFAULT 4   /* setup_sects 0 means 4 */
#define LOADED_HIGH (1u << 0)
#define CAN_USE_HEAP (1u << 7)
#define XLF_KERNEL_64 (1u << 0)
#define TYPE_OF_LOADER_UNDEFINED 0xff
#define HEAP_END_PTR 0xde00 /* boot.rst: heap_end = 0xe000, heap_end_ptr = heap_end - 0x200 */
#define DEFAULT_INITRD_ADDR_MAX 0x37ffffffu /* boot.rst, for kernels before 2.03 */
#define DEFAULT_LOAD_ADDRESS (16 * MIB)
#define ENTRY_64_OFFSET 0x200 /* the 64-bit entry: load address + 0x200 */

#define CMDLINE_MAX (LINUX_PML4_GPA - LINUX_CMDLINE_GPA - 1)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)

#define LOW_RAM_END 0x9fc00ull /* the EBDA's 1 KiB below 640 KiB */
#define BIOS_AREA 0xe0000ull
#define HIGH_MEMORY 0x100000ull

/* A file name (CONFIG_FILE_MAX) and a sentence with numbers. */
static char message[320];

static uint8_t rd8(const uint8_t *p, uint32_t off) { return p[off]; }

static uint16_t rd16(const uint8_t *p, uint32_t off)
{
	uint16_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, uint32_t off)
{
	uint32_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, uint32_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void wr8(uint8_t *p, uint32_t off, uint8_t v) { p[off] = v; }
static void wr16(uint8_t *p, uint32_t off, uint16_t v) { memcpy(p + off, &v, sizeof(v)); }
static void wr32(uint8_t *p, uint32_t off, uint32_t v) { memcpy(p + off, &v, sizeof(v)); }
static void wr64(uint8_t *p, uint32_t off, uint64_t v) { memcpy(p + off, &v, sizeof(v)); }

static uint64_t mib_up(uint64_t bytes) { return (bytes + MIB - 1) / MIB; }

bool linux_is_bzimage(const uint8_t *image, uint64_t size)
{
	return size >= HDR_HEADER + 4 && rd16(image, HDR_BOOT_FLAG) == BOOT_FLAG &&
	       rd32(image, HDR_HEADER) == HDRS_MAGIC;
}

/* ------------------------------------------------------------------------------------------------ */
/* The memory map                                                                                    */

static uint32_t e820_add(struct linux_e820 *map, uint32_t n, uint32_t max, uint64_t addr, uint64_t size,
			 uint32_t type)
{
	if (size == 0 || n >= max)
		return n;
	/* Keep the map sorted by address (it is short). */
	uint32_t i = n;
	while (i > 0 && map[i - 1].addr > addr) {
		map[i] = map[i - 1];
		i--;
	}
	map[i] = (struct linux_e820){ addr, size, type };
	return n + 1;
}

uint32_t linux_e820_default(const struct vm *vm, struct linux_e820 *map, uint32_t max)
{
	/* The platform's ACPI tables, [acpi_base, mem_size), are an ACPI region, not RAM. */
	uint64_t acpi = vm->acpi_base && vm->acpi_base < vm->mem_size ? vm->acpi_base : UINT64_MAX;
	uint32_t n = 0;

	n = e820_add(map, n, max, LOW_RAM_END, 0xa0000 - LOW_RAM_END, LINUX_E820_RESERVED);
	n = e820_add(map, n, max, BIOS_AREA, HIGH_MEMORY - BIOS_AREA, LINUX_E820_RESERVED);
	if (acpi != UINT64_MAX)
		n = e820_add(map, n, max, acpi, vm->mem_size - acpi, LINUX_E820_ACPI);
	for (uint32_t i = 0; i < vm->memseg_count; i++) {
		uint64_t start = vm->memsegs[i].gpa, end = start + vm->memsegs[i].len;
		if (start < acpi && end > acpi)
			end = acpi;
		else if (start >= acpi && start < vm->mem_size)
			continue;
		if (start < LOW_RAM_END)
			n = e820_add(map, n, max, start, (end < LOW_RAM_END ? end : LOW_RAM_END) - start,
				     LINUX_E820_RAM);
		if (end > HIGH_MEMORY) {
			uint64_t s = start > HIGH_MEMORY ? start : HIGH_MEMORY;
			n = e820_add(map, n, max, s, end - s, LINUX_E820_RAM);
		}
	}
	return n;
}

/* True when [addr, addr + len) is guest RAM and inside one RAM entry of the map. */
static bool is_ram(struct vm *vm, const struct linux_e820 *map, uint32_t entries, uint64_t addr, uint64_t len)
{
	if (addr + len < addr || !vm_gpa_to_hva(vm, addr, len))
		return false;
	for (uint32_t i = 0; i < entries; i++)
		if (map[i].type == LINUX_E820_RAM && addr >= map[i].addr && addr + len <= map[i].addr + map[i].size)
			return true;
	return false;
}

/* ------------------------------------------------------------------------------------------------ */
/* The image                                                                                         */

struct bzimage {
	uint32_t version;
	uint32_t header_end;   /* the setup header is [0x1f1, header_end) */
	uint64_t setup_size;   /* bytes before the protected-mode kernel */
	uint64_t kernel_size;  /* protected-mode kernel bytes to load */
	uint64_t init_size;    /* memory the kernel needs from its load address on */
	uint64_t load;	       /* where the protected-mode kernel goes */
};

/* The message about file: "NAME: what is wrong", in the static buffer. */
static const char *fail(const struct linux_file *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *fail(const struct linux_file *file, const char *fmt, ...)
{
	va_list ap;
	int n = fmt_snprintf(message, sizeof(message), "%s: ", file->name ? file->name : "image");

	if (n < 0 || (size_t)n >= sizeof(message))
		return message;
	va_start(ap, fmt);
	fmt_vsnprintf(message + n, sizeof(message) - (size_t)n, fmt, ap);
	va_end(ap);
	return message;
}

static const char *check_image(const struct linux_file *k, struct bzimage *bz)
{
	const uint8_t *image = k->data;
	uint64_t size = k->size;

	if (!image || size < HDR_HEADER + 4)
		return fail(k, "not a bzImage: the file is too small to hold a Linux setup header");
	if (rd16(image, HDR_BOOT_FLAG) != BOOT_FLAG)
		return fail(k, "not a bzImage: no boot sector signature 0xaa55 at offset 0x1fe");
	if (rd32(image, HDR_HEADER) != HDRS_MAGIC)
		return fail(k, "not a bzImage: no \"HdrS\" setup header at offset 0x202");
	if (size < HDR_VERSION + 2)
		return fail(k, "truncated bzImage: the file ends inside its setup header");
	/* The 64-bit entry (xloadflags) came with 2.12, pref_address and init_size with 2.10. */
	bz->version = rd16(image, HDR_VERSION);
	if (bz->version < MIN_VERSION)
		return fail(k, "unsupported boot protocol version %u.%02u (hv needs 2.12 or later, for the 64-bit entry point)",
			    bz->version >> 8, bz->version & 0xff);
	bz->header_end = HDR_HEADER + rd8(image, HDR_JUMP + 1);
	if (bz->header_end > size)
		return fail(k, "truncated bzImage: the file ends inside its setup header");
	if (bz->header_end < HDR_FIELDS_END)
		return fail(k, "bad bzImage header: it ends at offset 0x%x, before init_size", bz->header_end);
	if (!(rd16(image, HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return fail(k, "the kernel has no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags)");
	if (!(rd8(image, HDR_LOADFLAGS) & LOADED_HIGH))
		return fail(k, "a zImage (loaded low), not a bzImage: hv loads only bzImage kernels");

	uint32_t sects = rd8(image, HDR_SETUP_SECTS);
	bz->setup_size = (uint64_t)((sects ? sects : SETUP_SECTS_DEFAULT) + 1) * SECTOR;
	uint64_t syssize = (uint64_t)rd32(image, HDR_SYSSIZE) * 16;
	if (bz->setup_size >= size)
		return fail(k, "truncated bzImage: the file ends inside its real-mode setup code (%u sectors)",
			    sects ? sects : SETUP_SECTS_DEFAULT);
	/* A signed kernel carries its signature after the syssize bytes: load only the kernel. */
	bz->kernel_size = size - bz->setup_size;
	if (syssize) {
		if (syssize > bz->kernel_size)
			return fail(k, "truncated bzImage: the header says %llu KiB of kernel, the file holds %llu KiB",
				    (unsigned long long)(syssize >> 10), (unsigned long long)(bz->kernel_size >> 10));
		bz->kernel_size = syssize;
	}
	bz->init_size = rd32(image, HDR_INIT_SIZE);
	if (bz->init_size < bz->kernel_size)
		return fail(k, "bad bzImage header: init_size is smaller than the kernel");

	/* Where it goes: its preferred address; a relocatable kernel's aligned to kernel_alignment. */
	uint64_t pref = rd64(image, HDR_PREF_ADDRESS);
	if (rd8(image, HDR_RELOCATABLE_KERNEL)) {
		uint64_t align = rd32(image, HDR_KERNEL_ALIGNMENT);
		if (align == 0 || (align & (align - 1)))
			return fail(k, "bad bzImage header: kernel_alignment 0x%llx is not a power of two",
				    (unsigned long long)align);
		if (!pref)
			pref = DEFAULT_LOAD_ADDRESS;
		bz->load = (pref + align - 1) & ~(align - 1);
	} else {
		bz->load = pref ? pref : HIGH_MEMORY;
	}
	return NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* Placement                                                                                         */

/* The highest page-aligned address for len bytes in RAM below limit, above 1 MiB and clear of the
 * kernel's [kstart, kend); 0 when there is none. */
static uint64_t place_high(struct vm *vm, const struct linux_e820 *map, uint32_t entries, uint64_t len,
			   uint64_t limit, uint64_t kstart, uint64_t kend)
{
	uint64_t best = 0;

	for (uint32_t i = 0; i < entries; i++) {
		if (map[i].type != LINUX_E820_RAM)
			continue;
		uint64_t start = map[i].addr > HIGH_MEMORY ? map[i].addr : HIGH_MEMORY;
		uint64_t end = map[i].addr + map[i].size;
		if (end > limit)
			end = limit;
		/* Below the entry's top, or below the kernel when that is in the way. */
		for (int tries = 0; tries < 2 && end > start && end - start >= len; tries++) {
			uint64_t at = (end - len) & ~(PAGE - 1);
			if (at < start)
				break;
			if (at < kend && at + len > kstart) {
				end = kstart;
				continue;
			}
			if (at > best && is_ram(vm, map, entries, at, len))
				best = at;
			break;
		}
	}
	return best;
}

/* ------------------------------------------------------------------------------------------------ */
/* The CPU's starting state                                                                          */

static const char *build_gdt(struct vm *vm)
{
	uint64_t *gdt = vm_gpa_to_hva(vm, LINUX_GDT_GPA, 4 * sizeof(uint64_t));

	if (!gdt)
		return "the VM has no RAM at 4 KiB for the boot GDT";
	gdt[0] = 0;
	gdt[1] = 0;
	/* base 0, limit 0xfffff pages; present, DPL 0, S, type: code execute/read accessed; L, G */
	gdt[LINUX_BOOT_CS / 8] = 0x00af9b000000ffffull;
	/* ... type: data read/write accessed; D/B, G */
	gdt[LINUX_BOOT_DS / 8] = 0x00cf93000000ffffull;
	return NULL;
}

static const char *build_page_tables(struct vm *vm)
{
	uint64_t pds = LINUX_IDENTITY_MAP / GIB;
	uint64_t *pml4 = vm_gpa_to_hva(vm, LINUX_PML4_GPA, (2 + pds) * PAGE);

	if (!pml4)
		return "the VM has no RAM at 16 KiB for the boot page tables";
	uint64_t *pdpt = pml4 + 512, *pd = pdpt + 512;
	memset(pml4, 0, (2 + pds) * PAGE);
	pml4[0] = (LINUX_PML4_GPA + PAGE) | PTE_P | PTE_RW | PTE_A;
	for (uint64_t i = 0; i < pds; i++)
		pdpt[i] = (LINUX_PML4_GPA + (2 + i) * PAGE) | PTE_P | PTE_RW | PTE_A;
	for (uint64_t i = 0; i < pds * 512; i++)
		pd[i] = (i * 2 * MIB) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS;
	return NULL;
}

static void set_boot_state(struct vcpu *v, uint64_t entry, uint64_t zero_page)
{
	struct vcpu_boot_state *b = &v->boot;

	memset(b, 0, sizeof(*b));
	b->valid = true;
	b->rip = entry;
	b->rsp = LINUX_STACK_TOP;
	b->rflags = 0x2; /* interrupts off */
	b->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	b->cr3 = LINUX_PML4_GPA;
	b->cr4 = CR4_PAE;
	b->efer = EFER_LME | EFER_LMA;
	b->gpr[VM_REG_RSI] = zero_page;
	b->code = (struct seg_desc){ 0, 0xffffffffu, 0x9b | SEG_ACCESS_L | SEG_ACCESS_G, LINUX_BOOT_CS };
	b->data = (struct seg_desc){ 0, 0xffffffffu, 0x93 | SEG_ACCESS_DB | SEG_ACCESS_G, LINUX_BOOT_DS };
	b->gdtr = (struct seg_desc){ LINUX_GDT_GPA, 4 * 8 - 1, 0, 0 };
	b->idtr = (struct seg_desc){ 0, 0, 0, 0 };
}

/* ------------------------------------------------------------------------------------------------ */

const char *linux_load(struct vm *vm, const struct linux_file *kernel, const struct linux_file *initrd,
		       const char *cmdline, const struct linux_e820 *map, uint32_t map_entries, uint64_t acpi_rsdp_gpa)
{
	struct bzimage bz;
	const char *err = check_image(kernel, &bz);
	const uint8_t *image = kernel->data;

	if (err)
		return err;
	if (map_entries == 0 || map_entries > LINUX_E820_MAX)
		return fail(kernel, "the memory map for the kernel is empty or has more than 128 entries");

	/* The kernel: [load, load + init_size) must be RAM, inside the identity map. */
	if (bz.load < HIGH_MEMORY || bz.load + bz.init_size > LINUX_IDENTITY_MAP ||
	    !is_ram(vm, map, map_entries, bz.load, bz.init_size))
		return fail(kernel,
			    "the kernel needs %llu MiB of RAM from %llu MiB on and the VM has %llu MiB: give it more memory",
			    (unsigned long long)mib_up(bz.init_size), (unsigned long long)(bz.load / MIB),
			    (unsigned long long)(vm->mem_size / MIB));

	/* The command line, checked before anything is written. */
	if (!cmdline)
		cmdline = "";
	uint64_t cmdline_len = strlen(cmdline);
	uint64_t cmdline_max = rd32(image, HDR_CMDLINE_SIZE);
	if (cmdline_max > CMDLINE_MAX)
		cmdline_max = CMDLINE_MAX;
	if (cmdline_len > cmdline_max)
		return fail(kernel, "the kernel command line is too long (%llu bytes, the kernel takes at most %llu)",
			    (unsigned long long)cmdline_len, (unsigned long long)cmdline_max);

	/* The initrd: as high as it may go, below initrd_addr_max and clear of the kernel. */
	uint64_t initrd_gpa = 0, initrd_size = initrd ? initrd->size : 0;
	if (initrd_size) {
		uint64_t addr_max = rd32(image, HDR_INITRD_ADDR_MAX);
		if (!addr_max)
			addr_max = DEFAULT_INITRD_ADDR_MAX;
		initrd_gpa = initrd_size < 4 * GIB ? place_high(vm, map, map_entries, initrd_size, addr_max + 1, bz.load,
								bz.load + bz.init_size)
						   : 0;
		if (!initrd_gpa)
			return fail(initrd,
				    "initrd of %llu MiB is larger than the VM's free memory (%llu MiB VM, the kernel takes %llu MiB)",
				    (unsigned long long)mib_up(initrd_size), (unsigned long long)(vm->mem_size / MIB),
				    (unsigned long long)mib_up(bz.init_size));
	}

	uint8_t *bp = vm_gpa_to_hva(vm, LINUX_ZERO_PAGE_GPA, BP_SIZE);
	char *cl = vm_gpa_to_hva(vm, LINUX_CMDLINE_GPA, cmdline_len + 1);
	uint8_t *stack = vm_gpa_to_hva(vm, LINUX_STACK_TOP - PAGE, PAGE);
	if (!bp || !cl || !stack)
		return fail(kernel, "the VM has no RAM below 64 KiB for the kernel's boot data");
	if ((err = build_gdt(vm)) || (err = build_page_tables(vm)))
		return fail(kernel, "%s", err);

	/* The protected-mode kernel, and the initrd. */
	memcpy(vm_gpa_to_hva(vm, bz.load, bz.kernel_size), image + bz.setup_size, bz.kernel_size);
	if (initrd_size)
		memcpy(vm_gpa_to_hva(vm, initrd_gpa, initrd_size), initrd->data, initrd_size);
	memcpy(cl, cmdline, cmdline_len + 1);
	memset(stack, 0, PAGE);

	/* The zero page: zeroed, the setup header as the image has it, then what a boot loader fills. */
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_SETUP_SECTS, image + HDR_SETUP_SECTS, bz.header_end - HDR_SETUP_SECTS);
	wr8(bp, HDR_TYPE_OF_LOADER, TYPE_OF_LOADER_UNDEFINED);
	wr8(bp, HDR_LOADFLAGS, rd8(bp, HDR_LOADFLAGS) | LOADED_HIGH | CAN_USE_HEAP);
	wr16(bp, HDR_HEAP_END_PTR, HEAP_END_PTR);
	wr32(bp, HDR_CODE32_START, (uint32_t)bz.load);
	wr32(bp, HDR_CMD_LINE_PTR, LINUX_CMDLINE_GPA);
	wr32(bp, BP_EXT_CMD_LINE_PTR, 0);
	wr32(bp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
	wr32(bp, HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	wr32(bp, BP_EXT_RAMDISK_IMAGE, 0);
	wr32(bp, BP_EXT_RAMDISK_SIZE, 0);
	wr64(bp, BP_ACPI_RSDP_ADDR, acpi_rsdp_gpa);
	wr8(bp, BP_E820_ENTRIES, (uint8_t)map_entries);
	memcpy(bp + BP_E820_TABLE, map, map_entries * sizeof(*map));

	set_boot_state(&vm->vcpus[0], bz.load + ENTRY_64_OFFSET, LINUX_ZERO_PAGE_GPA);
	return NULL;
}
