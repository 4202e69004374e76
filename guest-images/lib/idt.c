/* The IDT: 32-bit interrupt gates (IF cleared on entry) to the stubs in isr.S. */
#include "segments.h"
#include "trap.h"

#define IDT_VECTORS 256
#define ISR_STUB_SIZE 16
#define GATE_PRESENT 0x80
#define GATE_INTERRUPT_32 0x0e

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attr;
	uint16_t offset_high;
} __attribute__((packed));

struct idt_pointer {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

extern const char isr_stubs[];

static struct idt_gate idt[IDT_VECTORS];

void idt_init(void)
{
	for (int v = 0; v < IDT_VECTORS; v++) {
		uint32_t handler = (uint32_t)&isr_stubs[v * ISR_STUB_SIZE];
		idt[v] = (struct idt_gate){
			.offset_low = handler & 0xffff,
			.selector = SEL_CODE32,
			.type_attr = GATE_PRESENT | GATE_INTERRUPT_32,
			.offset_high = handler >> 16,
		};
	}
	struct idt_pointer p = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" ::"m"(p));
}

void idt_mark_not_present(uint8_t vector) { idt[vector].type_attr &= ~GATE_PRESENT; }
