/* The machine state the Multiboot loader handed over, recorded by entry.S before anything changes it. */
#ifndef GUEST_ENTRY_STATE_H
#define GUEST_ENTRY_STATE_H

#define ES_EAX 0
#define ES_EBX 4
#define ES_CR0 8
#define ES_CR4 12
#define ES_EFLAGS 16
#define ES_CS 20
#define ES_DS 24
#define ES_SS 28
#define ES_BSS_DIRTY 32

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct entry_state {
	uint32_t eax, ebx, cr0, cr4, eflags;
	uint32_t cs, ds, ss;
	uint32_t bss_dirty; /* non-zero: the loader left a non-zero byte in .bss */
};

_Static_assert(offsetof(struct entry_state, eflags) == ES_EFLAGS, "entry.S offsets");
_Static_assert(offsetof(struct entry_state, bss_dirty) == ES_BSS_DIRTY, "entry.S offsets");

extern struct entry_state entry_state;
#endif
#endif
