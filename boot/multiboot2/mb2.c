/* Multiboot2 information (spec 3.6) -> struct boot_info. Runs on the early identity map. */
#include <hv/boot_info.h>
#include <hv/layout.h>
#include <hv/options.h>
#include <hv/string.h>
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289

#define MB2_INFO_END 0
#define MB2_INFO_CMDLINE 1
#define MB2_INFO_MODULE 3
#define MB2_INFO_MMAP 6
#define MB2_INFO_ACPI_OLD 14
#define MB2_INFO_ACPI_NEW 15

#define MB2_MEMORY_AVAILABLE 1
#define MB2_MEMORY_ACPI_RECLAIMABLE 3
#define MB2_MEMORY_NVS 4
#define MB2_MEMORY_BADRAM 5

struct mb2_tag {
	uint32_t type;
	uint32_t size;
};

struct mb2_tag_module {
	struct mb2_tag tag;
	uint32_t mod_start;
	uint32_t mod_end;
	char string[];
};

struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size;
	uint32_t entry_version;
};

struct mb2_mmap_entry {
	uint64_t addr;
	uint64_t len;
	uint32_t type;
	uint32_t zero;
};

extern char __kernel_start[], __kernel_end[];
_Noreturn void kernel_main(const struct boot_info *bi);

static struct boot_info mb2_boot_info;

static uint32_t mb2_memory_kind(uint32_t type)
{
	switch (type) {
	case MB2_MEMORY_AVAILABLE:
		return BOOT_MEM_USABLE;
	case MB2_MEMORY_ACPI_RECLAIMABLE:
		return BOOT_MEM_ACPI_RECLAIM;
	case MB2_MEMORY_NVS:
		return BOOT_MEM_ACPI_NVS;
	case MB2_MEMORY_BADRAM:
		return BOOT_MEM_BAD;
	default:
		return BOOT_MEM_RESERVED;
	}
}

static void mb2_add_mmap(struct boot_info *bi, const struct mb2_tag_mmap *t)
{
	const uint8_t *p = (const uint8_t *)(t + 1);
	const uint8_t *end = (const uint8_t *)t + t->tag.size;

	if (t->entry_size < sizeof(struct mb2_mmap_entry))
		return;
	for (; p + t->entry_size <= end && bi->mmap_count < BOOT_MMAP_MAX; p += t->entry_size) {
		const struct mb2_mmap_entry *e = (const void *)p;
		struct boot_mem_range *r = &bi->mmap[bi->mmap_count++];

		r->base = e->addr;
		r->length = e->len;
		r->type = mb2_memory_kind(e->type);
	}
}

static void mb2_add_module(struct boot_info *bi, const struct mb2_tag_module *t)
{
	if (bi->module_count >= BOOT_MODULES_MAX || t->mod_end < t->mod_start)
		return;
	struct boot_module *m = &bi->modules[bi->module_count++];
	size_t max = t->tag.size > sizeof(*t) ? t->tag.size - sizeof(*t) : 0;

	m->base = t->mod_start;
	m->size = t->mod_end - t->mod_start;
	size_t n = strnlen(t->string, max);
	if (n >= sizeof(m->name))
		n = sizeof(m->name) - 1;
	memcpy(m->name, t->string, n);
	m->name[n] = 0;
}

static void mb2_copy_rsdp(struct boot_info *bi, const struct mb2_tag *t)
{
	uint32_t len = t->size - sizeof(*t);

	if (len > sizeof(bi->acpi_rsdp))
		len = sizeof(bi->acpi_rsdp);
	/* The new-RSDP tag wins over the old one whatever their order. */
	if (t->type == MB2_INFO_ACPI_OLD && bi->acpi_rsdp_len > 20)
		return;
	memcpy(bi->acpi_rsdp, t + 1, len);
	bi->acpi_rsdp_len = len;
}

static void mb2_parse(struct boot_info *bi, uint64_t info_phys)
{
	const uint8_t *info = (const uint8_t *)info_phys;
	uint32_t total = *(const uint32_t *)info;

	for (uint32_t off = 8; off + sizeof(struct mb2_tag) <= total;) {
		const struct mb2_tag *t = (const void *)(info + off);

		if (t->type == MB2_INFO_END || t->size < sizeof(*t))
			break;
		switch (t->type) {
		case MB2_INFO_CMDLINE:
			strlcpy(bi->cmdline, (const char *)(t + 1),
				t->size - sizeof(*t) < sizeof(bi->cmdline) ? t->size - sizeof(*t) : sizeof(bi->cmdline));
			break;
		case MB2_INFO_MODULE:
			mb2_add_module(bi, (const void *)t);
			break;
		case MB2_INFO_MMAP:
			mb2_add_mmap(bi, (const void *)t);
			break;
		case MB2_INFO_ACPI_OLD:
		case MB2_INFO_ACPI_NEW:
			mb2_copy_rsdp(bi, t);
			break;
		}
		off += (t->size + 7) & ~7u;
	}
}

/* FAT names are case-insensitive: CMDLINE.TXT is the command line too (as in boot/uefi/esp.c). */
static int is_cmdline_file(const char *name)
{
	static const char want[] = "cmdline.txt";

	for (size_t i = 0; i < sizeof(want); i++) {
		char c = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + 32) : name[i];

		if (c != want[i])
			return 0;
	}
	return 1;
}

/*
 * A module named cmdline.txt (the USB stick's GRUB loads every file of /hv/, see tools/mkusb.sh)
 * holds hv's command line, as \hv\cmdline.txt does for the EFI loader: its first line is added
 * after GRUB's own command line and the module is dropped, so hv sees the same modules either way.
 * Modules lie below 4 GiB, inside the early identity map.
 */
static void mb2_take_cmdline_file(struct boot_info *bi)
{
	for (uint32_t i = 0; i < bi->module_count; i++) {
		struct boot_module *m = &bi->modules[i];

		if (!is_cmdline_file(m->name))
			continue;
		/* A line that does not fit stays a module, which hv lists in its boot log. */
		if (!cmdline_append_line(bi->cmdline, sizeof(bi->cmdline), (const char *)m->base, m->size))
			return;
		memmove(m, m + 1, (bi->module_count - i - 1) * sizeof(*m));
		bi->module_count--;
		return;
	}
}

_Noreturn void mb2_boot(uint32_t magic, uint32_t info_phys)
{
	struct boot_info *bi = &mb2_boot_info;

	bi->magic = BOOT_INFO_MAGIC;
	bi->method = BOOT_METHOD_MULTIBOOT2;
	bi->kernel_phys_base = KERNEL_LINK_PHYS;
	bi->kernel_phys_end = KERNEL_LINK_PHYS + (uint64_t)(__kernel_end - __kernel_start);
	if (magic == MB2_BOOTLOADER_MAGIC) {
		mb2_parse(bi, info_phys);
		mb2_take_cmdline_file(bi);
	} else {
		bi->magic = 0; /* kernel_main reports the bad hand-off */
	}
	kernel_main(bi);
}
