/* Per-physical-CPU state, reached through GS: %gs:0 holds the struct's own address. */
#ifndef HV_PERCPU_H
#define HV_PERCPU_H

#include <hv/layout.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_CPUS 64

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS 0x18
#define GDT_ENTRIES 5

#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3
#define IST_COUNT 3

enum cpu_state {
	CPU_OFFLINE = 0,
	CPU_STARTING,
	CPU_ONLINE,
	CPU_FAILED,
	CPU_STOPPED,
};

/* 64-bit TSS (SDM vol. 3 7.7). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct percpu {
	struct percpu *self; /* must stay first: this_cpu() reads %gs:0 */
	uint32_t index;
	uint32_t apic_id;
	uint64_t stack_top;
	volatile uint32_t state;
	bool vmm_ready;		   /* virtualization enabled on this CPU */
	struct vcpu *volatile vcpu; /* the vcpu pinned here, if any */
	volatile uint32_t nmi_kicks;	 /* NMIs other CPUs sent as kicks, not yet seen */
	volatile uint32_t stray_nmis;	 /* NMIs nobody announced (platform NMIs) */
	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
};

extern struct percpu cpus[MAX_CPUS];
extern uint32_t cpu_count; /* entries of cpus[] in use (enabled in the MADT, within maxcpus) */

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Loads this CPU's GDT, TSS (with IST stacks), the shared IDT and GS base. */
void cpu_tables_init(struct percpu *c, const uint64_t ist_tops[IST_COUNT]);
void idt_init(void);

#endif
