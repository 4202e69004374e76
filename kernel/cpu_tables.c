/* GDT, TSS and IDT. One IDT for all CPUs; each CPU its own GDT and TSS (the TSS holds its IST stacks). */
#include <hv/percpu.h>
#include <hv/string.h>
#include <hv/x86.h>

#define IDT_VECTORS 256
#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define TSS_TYPE_AVAILABLE 0x89

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct descriptor_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct percpu cpus[MAX_CPUS];
uint32_t cpu_count;

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
extern const uint64_t isr_stubs[IDT_VECTORS];

static void idt_set_gate(uint8_t vector, uint64_t handler, uint8_t ist)
{
	struct idt_gate *g = &idt[vector];

	g->offset_lo = (uint16_t)handler;
	g->selector = GDT_KERNEL_CODE;
	g->ist = ist;
	g->type = GATE_INTERRUPT;
	g->offset_mid = (uint16_t)(handler >> 16);
	g->offset_hi = (uint32_t)(handler >> 32);
	g->reserved = 0;
}

void idt_init(void)
{
	for (int v = 0; v < IDT_VECTORS; v++)
		idt_set_gate((uint8_t)v, isr_stubs[v], 0);
	idt_set_gate(2, isr_stubs[2], IST_NMI);
	idt_set_gate(8, isr_stubs[8], IST_DOUBLE_FAULT);
	idt_set_gate(18, isr_stubs[18], IST_MACHINE_CHECK);
}

static void gdt_set_tss(struct percpu *c)
{
	uint64_t base = (uint64_t)&c->tss;
	uint64_t limit = sizeof(c->tss) - 1;

	c->gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | ((uint64_t)TSS_TYPE_AVAILABLE << 40) |
		    (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	c->gdt[4] = base >> 32;
}

void cpu_tables_init(struct percpu *c, const uint64_t ist_tops[IST_COUNT])
{
	c->self = c;
	c->gdt[0] = 0;
	c->gdt[1] = 0x00af9a000000ffffull; /* 64-bit code, DPL 0 */
	c->gdt[2] = 0x00cf92000000ffffull; /* data */
	memset(&c->tss, 0, sizeof(c->tss));
	for (int i = 0; i < IST_COUNT; i++)
		c->tss.ist[i] = ist_tops[i];
	c->tss.iomap_base = sizeof(c->tss); /* no I/O permission bitmap */
	gdt_set_tss(c);

	struct descriptor_pointer gdtr = { sizeof(c->gdt) - 1, (uint64_t)c->gdt };
	struct descriptor_pointer idtr = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %2, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 "ltr %w3\n\t"
			 "lidt %4"
			 :
			 : "m"(gdtr), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA), "r"(GDT_TSS), "m"(idtr)
			 : "rax", "memory");
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}
