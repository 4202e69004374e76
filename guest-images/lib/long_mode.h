/* IA-32e mode for tests that need 64-bit code. long_mode_enter() leaves the CPU in compatibility
 * mode, where this 32-bit C code keeps running; call64() runs 64-bit code from there. Between
 * enter and exit no exception may happen: the IDT holds 32-bit gates. */
#ifndef GUEST_LONG_MODE_H
#define GUEST_LONG_MODE_H

#include <stdint.h>

/* Sets CR4.PAE, CR3 (4-level tables from paging_4level_identity()), EFER.LME, then CR0.PG. */
void long_mode_enter(uint32_t cr3);

/* Clears CR0.PG (leaving IA-32e mode), then EFER.LME and CR4.PAE. */
void long_mode_exit(void);

/* Runs fn(arg), a System V x86-64 function, in 64-bit mode and returns its RAX. */
uint64_t call64(uint64_t (*fn)(uint32_t arg), uint32_t arg);

#endif
