/* What an interrupt or exception stub saved, and the hooks for device interrupts. */
#ifndef HV_TRAP_H
#define HV_TRAP_H

#include <stdint.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Host interrupt vectors hv uses. */
#define VECTOR_TIMER 0xf0
#define VECTOR_KICK 0xf1 /* cross-CPU mailbox doorbell */
#define VECTOR_CONSOLE 0xf2 /* the serial line's receive interrupt (operator input) */
#define VECTOR_SPURIOUS 0xff

typedef void (*irq_handler_t)(struct trap_frame *frame);
void irq_register(uint8_t vector, irq_handler_t handler);

void trap_dispatch(struct trap_frame *frame);

#endif
