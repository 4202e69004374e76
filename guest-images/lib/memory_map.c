/* Memory map iteration; an entry's size field does not count itself. */
#include "memory_map.h"
#include "guest.h"

static const struct multiboot_mmap_entry *entry_at(uint32_t p)
{
	if (p >= boot_info->mmap_addr + boot_info->mmap_length)
		return 0;
	return (const struct multiboot_mmap_entry *)p;
}

const struct multiboot_mmap_entry *mmap_first(void)
{
	if (!(boot_info->flags & MULTIBOOT_INFO_MEM_MAP))
		return 0;
	return entry_at(boot_info->mmap_addr);
}

const struct multiboot_mmap_entry *mmap_next(const struct multiboot_mmap_entry *e)
{
	return entry_at((uint32_t)e + sizeof(e->size) + e->size);
}
