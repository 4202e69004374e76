/* Walking the Multiboot memory map: for (e = mmap_first(); e; e = mmap_next(e)). */
#ifndef GUEST_MEMORY_MAP_H
#define GUEST_MEMORY_MAP_H

#include "multiboot.h"

/* Null when the loader passed no map. */
const struct multiboot_mmap_entry *mmap_first(void);
const struct multiboot_mmap_entry *mmap_next(const struct multiboot_mmap_entry *e);

#endif
