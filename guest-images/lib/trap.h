/* Exceptions and interrupts in the guest: a 32-bit IDT whose 256 vectors all reach trap_dispatch(),
 * per-vector handlers, and guarded instructions whose fault is recorded instead of being fatal. */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_OF 4
#define VEC_UD 6
#define VEC_DF 8
#define VEC_NP 11
#define VEC_GP 13
#define VEC_PF 14

/* #PF error code bits. */
#define PF_P (1u << 0)
#define PF_W (1u << 1)

#define TRAP_NONE (-1)

/* What isr.S pushes: pushal's registers, then vector and error code (0 when the CPU pushes none),
 * then the CPU's own frame (no stack switch: everything runs at ring 0). */
struct trap_frame {
	uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
};

typedef void (*trap_handler)(struct trap_frame *frame);

void idt_init(void);
/* Clears the gate's P bit: delivering through it raises #NP. */
void idt_mark_not_present(uint8_t vector);

/* A handler owns its vector from now on: it runs instead of the guarded/unexpected logic. */
void trap_set_handler(uint8_t vector, trap_handler handler);

/* The guarded instruction machinery: wrap the asm text with TRAPPABLE() (the asm statement must
 * clobber "memory"), then call trap_end(). An exception raised by the wrapped code is recorded and
 * execution resumes right after it; a second exception, or one elsewhere, fails the test. */
struct trap_record {
	int vector;
	uint32_t error_code;
	uint32_t cr2;
	uint32_t eip;         /* the CPU's saved EIP: the faulting instruction, or the next one for traps */
	uint32_t guarded_eip; /* where the guarded code starts */
	uint32_t resume_eip;  /* where it ends */
};

extern volatile uint32_t trap_insn_eip, trap_resume_eip;

#define TRAPPABLE(insn)                                                                                      \
	"movl $.Ltrap_insn%=, trap_insn_eip\n\t"                                                             \
	"movl $.Ltrap_resume%=, trap_resume_eip\n"                                                           \
	".Ltrap_insn%=:\n\t" insn "\n"                                                                       \
	".Ltrap_resume%=:\n\t"

/* Ends a guarded section: returns the vector it raised (details in *rec if non-null) or TRAP_NONE. */
int trap_end(struct trap_record *rec);

#endif
