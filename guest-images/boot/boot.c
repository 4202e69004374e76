/* The Multiboot hand-over: entry state, memory fields and map, command line, modules, A20 and a
 * zeroed .bss. Expects cmdline words `flag answer=42`, and with `modules=N` N modules that are ELF
 * files (the runner passes guest images). */
#include "cmdline.h"
#include "cpu.h"
#include "entry_state.h"
#include "guest.h"
#include "memory_map.h"

#define MIB (1024u * 1024u)
#define KIB 1024u
#define A20_BIT (1u << 20)

const char guest_name[] = "boot";

extern char __image_start[], __image_end[];

static bool overlaps(uint32_t a_start, uint32_t a_end, uint32_t b_start, uint32_t b_end)
{
	return a_start < b_end && b_start < a_end;
}

static bool overlaps_image(uint32_t start, uint32_t end)
{
	return overlaps(start, end, (uint32_t)__image_start, (uint32_t)__image_end);
}

static void check_entry_state(void)
{
	check(entry_state.cr0 & CR0_PE, "CR0.PE clear at entry: cr0=%x", entry_state.cr0);
	check(!(entry_state.cr0 & CR0_PG), "CR0.PG set at entry: cr0=%x", entry_state.cr0);
	check(!(entry_state.eflags & (EFLAGS_IF | EFLAGS_VM)), "EFLAGS.IF or VM set at entry: %x",
	      entry_state.eflags);
	check(!entry_state.bss_dirty, "loader left non-zero bytes in .bss");
	check(!overlaps_image(entry_state.ebx, entry_state.ebx + sizeof(struct multiboot_info)),
	      "multiboot info at %x overlaps the image", entry_state.ebx);
	printf("boot: cr0=%x cr4=%x eflags=%x cs=%x ds=%x ss=%x\n", entry_state.cr0, entry_state.cr4,
	       entry_state.eflags, entry_state.cs, entry_state.ds, entry_state.ss);
}

/* Whether [start, end) lies inside one available region of the memory map. */
static bool in_available_ram(uint64_t start, uint64_t end)
{
	for (const struct multiboot_mmap_entry *e = mmap_first(); e; e = mmap_next(e))
		if (e->type == MULTIBOOT_MEMORY_AVAILABLE && e->addr <= start && end <= e->addr + e->len)
			return true;
	return false;
}

static void check_memory_map(void)
{
	check(boot_info->flags & MULTIBOOT_INFO_MEM_MAP, "no memory map (flags %x)", boot_info->flags);
	check(mmap_first(), "empty memory map");
	for (const struct multiboot_mmap_entry *e = mmap_first(); e; e = mmap_next(e)) {
		check(e->size >= sizeof(*e) - sizeof(e->size), "memory map entry at %p has size %u",
		      (const void *)e, e->size);
		printf("boot: mmap %016llx-%016llx type %u\n", e->addr, e->addr + e->len - 1, e->type);
	}
	check(in_available_ram((uint32_t)__image_start, (uint32_t)__image_end),
	      "image %p-%p not inside available RAM", __image_start, __image_end);
	check(in_available_ram(0, boot_info->mem_lower * KIB), "mem_lower %u KiB not available in the map",
	      boot_info->mem_lower);
	check(in_available_ram(MIB, MIB + boot_info->mem_upper * KIB),
	      "mem_upper %u KiB not available in the map", boot_info->mem_upper);
}

static void check_memory_fields(void)
{
	check(boot_info->flags & MULTIBOOT_INFO_MEMORY, "no mem_lower/mem_upper (flags %x)",
	      boot_info->flags);
	check(boot_info->mem_lower > 0 && boot_info->mem_lower <= 640, "mem_lower %u KiB",
	      boot_info->mem_lower);
	check(MIB + boot_info->mem_upper * KIB >= (uint32_t)__image_end,
	      "mem_upper %u KiB ends inside the image", boot_info->mem_upper);
	printf("boot: mem_lower %u KiB mem_upper %u KiB\n", boot_info->mem_lower, boot_info->mem_upper);
}

static void check_cmdline(void)
{
	char answer[8];

	check(boot_info->flags & MULTIBOOT_INFO_CMDLINE, "no cmdline (flags %x)", boot_info->flags);
	check(!overlaps_image(boot_info->cmdline, boot_info->cmdline + 1), "cmdline at %x inside the image",
	      boot_info->cmdline);
	printf("boot: cmdline \"%s\"\n", (const char *)boot_info->cmdline);
	check(cmdline_has("flag"), "cmdline lacks the word `flag`");
	check(!cmdline_has("fla"), "cmdline matched a word prefix");
	check(cmdline_value("answer", answer, sizeof(answer)), "cmdline lacks answer=");
	check(answer[0] == '4' && answer[1] == '2' && !answer[2], "answer=%s, expected 42", answer);
}

static void check_module(unsigned i, const struct multiboot_module *m)
{
	const char *data = (const char *)m->mod_start;

	check(m->mod_start < m->mod_end, "module %u is empty (%x-%x)", i, m->mod_start, m->mod_end);
	check(m->mod_start % 4096 == 0, "module %u at %x not page aligned", i, m->mod_start);
	check(!overlaps_image(m->mod_start, m->mod_end), "module %u overlaps the image", i);
	check(in_available_ram(m->mod_start, m->mod_end), "module %u not inside available RAM", i);
	check(data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F',
	      "module %u does not start with an ELF header", i);
	printf("boot: module %u %x-%x \"%s\"\n", i, m->mod_start, m->mod_end,
	       m->string ? (const char *)m->string : "");
}

static void check_modules(void)
{
	char count[4];

	if (!cmdline_value("modules", count, sizeof(count)))
		return;
	unsigned expected = (unsigned)(count[0] - '0');
	check(boot_info->flags & MULTIBOOT_INFO_MODS, "no modules (flags %x)", boot_info->flags);
	check(boot_info->mods_count == expected, "%u modules, expected %u", boot_info->mods_count, expected);
	const struct multiboot_module *mods = (const void *)boot_info->mods_addr;
	for (unsigned i = 0; i < expected; i++)
		check_module(i, &mods[i]);
}

/* With A20 masked, an address with bit 20 set would alias the one without. Only reads the alias. */
static void check_a20(void)
{
	static volatile uint32_t probe;
	volatile uint32_t *alias = (volatile uint32_t *)((uint32_t)&probe & ~A20_BIT);

	probe = 0x5a5aa5a5;
	uint32_t first = *alias;
	probe = 0xa5a55a5a;
	uint32_t second = *alias;
	check(first != 0x5a5aa5a5 || second != 0xa5a55a5a, "A20 masked: %p aliases %p", (void *)&probe,
	      (void *)alias);
}

void test_main(void)
{
	check_entry_state();
	check_memory_fields();
	check_memory_map();
	check_cmdline();
	check_modules();
	check_a20();
}
