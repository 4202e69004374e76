/* Walking the Multiboot2 boot information, never past its total_size. */
#include "entry_state.h"
#include "multiboot2.h"

int multiboot2_booted(void) { return entry_state.eax == MULTIBOOT2_BOOTLOADER_MAGIC; }

static const struct multiboot2_info *info(void)
{
	return multiboot2_booted() ? (const struct multiboot2_info *)entry_state.ebx : 0;
}

/* The tag at offset off of the information, or null when there is no well-formed one. */
static const struct multiboot2_tag *tag_at(uint64_t off)
{
	const struct multiboot2_info *mbi = info();

	if (!mbi || off % MULTIBOOT2_TAG_ALIGN || off > mbi->total_size ||
	    mbi->total_size - off < sizeof(struct multiboot2_tag))
		return 0;
	const struct multiboot2_tag *t = (const void *)((const char *)mbi + off);
	if (t->type == MULTIBOOT2_TAG_END || t->size < sizeof(*t) || t->size > mbi->total_size - off)
		return 0;
	return t;
}

const struct multiboot2_tag *mb2_first(void) { return tag_at(sizeof(struct multiboot2_info)); }

const struct multiboot2_tag *mb2_next(const struct multiboot2_tag *t)
{
	uint64_t off = (uint64_t)((const char *)t - (const char *)info());

	return tag_at(off + (((uint64_t)t->size + MULTIBOOT2_TAG_ALIGN - 1) & ~(uint64_t)(MULTIBOOT2_TAG_ALIGN - 1)));
}

const struct multiboot2_tag *mb2_find(uint32_t type)
{
	for (const struct multiboot2_tag *t = mb2_first(); t; t = mb2_next(t))
		if (t->type == type)
			return t;
	return 0;
}
