/* The Multiboot2 hand-over (Multiboot2 spec 3.3 and 3.6): the magic in EAX, entry through the entry
 * address tag, the machine state, and the boot information: well-formed tags up to the end tag, the
 * command line, basic memory information consistent with the memory map, the modules (cmdline
 * `modules=N`; the runner passes ELF files, page aligned as the header asks) and a copy of the ACPI
 * RSDP. Booted natively through GRUB too; with `expect-hv`: hv's boot loader name, an ACPI 2.0
 * RSDP whose XSDT lies in an ACPI region of the map, and nothing after the end tag. */
#include "cmdline.h"
#include "cpu.h"
#include "entry_state.h"
#include "guest.h"
#include "multiboot2.h"

#define MIB (1024u * 1024u)
#define KIB 1024u
#define PAGE 4096u
#define RSDP_V1_SIZE 20
#define RSDP_V2_SIZE 36

const char guest_name[] = "mb2";

extern char __image_start[], __image_end[];
extern uint32_t entered_by_tag;

static const struct multiboot2_info *mbi(void) { return (const struct multiboot2_info *)entry_state.ebx; }

static bool overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end)
{
	return a_start < b_end && b_start < a_end;
}

static bool overlaps_image_or_info(uint64_t start, uint64_t end)
{
	return overlaps(start, end, (uint32_t)__image_start, (uint32_t)__image_end) ||
	       overlaps(start, end, entry_state.ebx, entry_state.ebx + mbi()->total_size);
}

static void check_entry_state(void)
{
	check(multiboot2_booted(), "eax=%x, not the Multiboot2 magic %x", entry_state.eax,
	      MULTIBOOT2_BOOTLOADER_MAGIC);
	check(entered_by_tag == 1, "not entered through the entry address tag");
	check(entry_state.cr0 & CR0_PE, "CR0.PE clear at entry: cr0=%x", entry_state.cr0);
	check(!(entry_state.cr0 & CR0_PG), "CR0.PG set at entry: cr0=%x", entry_state.cr0);
	check(!(entry_state.eflags & (EFLAGS_IF | EFLAGS_VM)), "EFLAGS.IF or VM set at entry: %x", entry_state.eflags);
	check(!entry_state.bss_dirty, "loader left non-zero bytes in .bss");
	check(entry_state.ebx && entry_state.ebx % MULTIBOOT2_TAG_ALIGN == 0, "boot information at %x", entry_state.ebx);
	check(mbi()->total_size >= 16 && mbi()->total_size < 64 * KIB, "boot information total_size %u",
	      mbi()->total_size);
	check(!overlaps(entry_state.ebx, entry_state.ebx + mbi()->total_size, (uint32_t)__image_start,
			(uint32_t)__image_end),
	      "boot information at %x overlaps the image", entry_state.ebx);
	printf("mb2: booted by Multiboot2 through its entry address tag\n");
}

/* Every tag aligned and inside total_size, up to an end tag of size 8; returns where that ends. */
static uint32_t check_tag_layout(void)
{
	const char *base = (const char *)mbi();
	uint32_t off = sizeof(struct multiboot2_info), total = mbi()->total_size, tags = 0;

	for (;;) {
		check(off % MULTIBOOT2_TAG_ALIGN == 0 && total >= 8 && off <= total - 8, "tag at offset %u overruns %u",
		      off, total);
		const struct multiboot2_tag *t = (const void *)(base + off);
		if (t->type == MULTIBOOT2_TAG_END) {
			check(t->size == 8, "end tag of size %u", t->size);
			printf("mb2: %u tags in %u bytes\n", tags, total);
			return off + 8;
		}
		check(t->size >= 8 && t->size <= total - off, "tag %u at offset %u has size %u", t->type, off, t->size);
		off += (t->size + 7) & ~7u;
		tags++;
	}
}

static void check_cmdline(void)
{
	char answer[8];

	check(mb2_find(MULTIBOOT2_TAG_CMDLINE), "no command line tag");
	check(cmdline_has("flag"), "cmdline lacks the word `flag`");
	check(!cmdline_has("fla"), "cmdline matched a word prefix");
	check(cmdline_value("answer", answer, sizeof(answer)), "cmdline lacks answer=");
	check(answer[0] == '4' && answer[1] == '2' && !answer[2], "answer=%s, expected 42", answer);
}

static const struct multiboot2_tag_mmap *mmap_tag(void) { return (const void *)mb2_find(MULTIBOOT2_TAG_MMAP); }

static uint32_t mmap_count(void)
{
	const struct multiboot2_tag_mmap *m = mmap_tag();
	return (m->tag.size - sizeof(*m)) / m->entry_size;
}

static const struct multiboot2_mmap_entry *mmap_entry(uint32_t i)
{
	const struct multiboot2_tag_mmap *m = mmap_tag();
	return (const void *)((const char *)(m + 1) + i * m->entry_size);
}

/* [start, end) inside one region of the given type. */
static bool in_region(uint64_t start, uint64_t end, uint32_t type)
{
	for (uint32_t i = 0; i < mmap_count(); i++) {
		const struct multiboot2_mmap_entry *e = mmap_entry(i);
		if (e->type == type && e->addr <= start && end <= e->addr + e->len)
			return true;
	}
	return false;
}

static bool in_ram(uint64_t start, uint64_t end) { return in_region(start, end, MULTIBOOT2_MEMORY_AVAILABLE); }

static void check_memory(void)
{
	const struct multiboot2_tag_mmap *m = mmap_tag();
	const struct multiboot2_tag_basic_meminfo *mem = (const void *)mb2_find(MULTIBOOT2_TAG_BASIC_MEMINFO);

	check(m, "no memory map tag");
	check(m->tag.size >= sizeof(*m) && m->entry_size >= sizeof(struct multiboot2_mmap_entry) && m->entry_size % 8 == 0,
	      "memory map tag of size %u, entries of %u", m->tag.size, m->entry_size);
	check(m->entry_version == 0, "memory map entry_version %u", m->entry_version);
	check(mmap_count() > 0, "empty memory map");
	for (uint32_t i = 0; i < mmap_count(); i++) {
		const struct multiboot2_mmap_entry *e = mmap_entry(i);
		printf("mb2: mmap %016llx-%016llx type %u\n", e->addr, e->addr + e->len - 1, e->type);
		if (expect_hv() && i)
			check(mmap_entry(i - 1)->addr + mmap_entry(i - 1)->len <= e->addr, "map entry %u out of order", i);
	}
	check(in_ram((uint32_t)__image_start, (uint32_t)__image_end), "image %p-%p not in available RAM", __image_start,
	      __image_end);
	check(in_ram(entry_state.ebx, entry_state.ebx + mbi()->total_size), "boot information not in available RAM");
	check(mem && mem->tag.size >= sizeof(*mem), "no basic memory information tag");
	check(mem->mem_lower > 0 && mem->mem_lower <= 640, "mem_lower %u KiB", mem->mem_lower);
	check(in_ram(0, mem->mem_lower * KIB), "mem_lower %u KiB not available in the map", mem->mem_lower);
	check(in_ram(MIB, MIB + (uint64_t)mem->mem_upper * KIB), "mem_upper %u KiB not available in the map",
	      mem->mem_upper);
	printf("mb2: mem_lower %u KiB mem_upper %u KiB\n", mem->mem_lower, mem->mem_upper);
}

static void check_module(unsigned i, const struct multiboot2_tag_module *m)
{
	const char *data = (const char *)m->mod_start;
	uint32_t string_len = m->tag.size - sizeof(*m);

	check(m->tag.size > sizeof(*m) && !m->string[string_len - 1], "module %u string not terminated", i);
	check(m->string[0], "module %u has an empty string", i);
	check(m->mod_start < m->mod_end, "module %u is empty (%x-%x)", i, m->mod_start, m->mod_end);
	check(m->mod_start % PAGE == 0, "module %u at %x not page aligned", i, m->mod_start);
	check(!overlaps_image_or_info(m->mod_start, m->mod_end), "module %u overlaps the image or the information", i);
	check(in_ram(m->mod_start, m->mod_end), "module %u not in available RAM", i);
	check(data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F', "module %u is not an ELF file", i);
	printf("mb2: module %u %x-%x \"%s\"\n", i, m->mod_start, m->mod_end, m->string);
}

static void check_modules(void)
{
	char count[4];
	unsigned n = 0;

	for (const struct multiboot2_tag *t = mb2_first(); t; t = mb2_next(t))
		if (t->type == MULTIBOOT2_TAG_MODULE)
			check_module(n++, (const void *)t);
	if (cmdline_value("modules", count, sizeof(count)))
		check(n == (unsigned)(count[0] - '0'), "%u modules, expected %s", n, count);
}

static bool bytes_equal(const uint8_t *a, const char *b, uint32_t n)
{
	while (n--)
		if (*a++ != (uint8_t)*b++)
			return false;
	return true;
}

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static void check_acpi(void)
{
	const struct multiboot2_tag *t = mb2_find(MULTIBOOT2_TAG_ACPI_NEW);
	bool v2 = t != 0;

	if (!t)
		t = mb2_find(MULTIBOOT2_TAG_ACPI_OLD);
	check(t, "no ACPI RSDP tag");
	const uint8_t *rsdp = (const uint8_t *)(t + 1);
	uint32_t len = t->size - sizeof(*t);
	check(len >= RSDP_V1_SIZE && bytes_equal(rsdp, "RSD PTR ", 8), "ACPI tag %u holds no RSDP", t->type);
	check(sum(rsdp, RSDP_V1_SIZE) == 0, "RSDP checksum wrong");
	if (v2) {
		uint32_t length = *(const uint32_t *)(rsdp + 20);
		check(length >= RSDP_V2_SIZE && length <= len && sum(rsdp, length) == 0,
		      "ACPI 2.0 RSDP length %u or extended checksum wrong", length);
	}
	printf("mb2: ACPI RSDP revision %u (tag %u)\n", rsdp[15], t->type);
	if (!expect_hv())
		return;
	check(v2 && rsdp[15] >= 2, "no ACPI 2.0 RSDP tag");
	uint64_t xsdt = *(const uint64_t *)(rsdp + 24);
	check(in_region(xsdt, xsdt + 36, MULTIBOOT2_MEMORY_ACPI_RECLAIMABLE), "XSDT at %llx outside the map's ACPI region",
	      xsdt);
}

static void check_hv(uint32_t end)
{
	const struct multiboot2_tag_string *name = (const void *)mb2_find(MULTIBOOT2_TAG_BOOT_LOADER_NAME);

	check(name && name->tag.size == sizeof(name->tag) + 3 && name->string[0] == 'h' && name->string[1] == 'v' &&
		      !name->string[2],
	      "boot loader name is not \"hv\"");
	check(end == mbi()->total_size, "the end tag ends at %u, total_size is %u", end, mbi()->total_size);
	printf("mb2: hv's boot loader name, memory map and ACPI 2.0 RSDP\n");
}

void test_main(void)
{
	check_entry_state();
	uint32_t end = check_tag_layout();
	check_cmdline();
	check_memory();
	check_modules();
	check_acpi();
	if (expect_hv())
		check_hv(end);
}
