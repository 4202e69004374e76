/* SMP bring-up with INIT-SIPI-SIPI (SDM vol. 3 8.4.4.1), one AP at a time. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/panic.h>
#include <hv/percpu.h>
#include <hv/smp.h>
#include <hv/string.h>
#include <hv/timer.h>
#include <hv/vmm_boot.h>
#include <hv/x86.h>

#define INIT_DEASSERT_DELAY_US 10000
#define SIPI_DELAY_US 200
#define AP_ONLINE_TIMEOUT_US 1000000

extern char boot_stack_top[];
extern const char ap_trampoline_start[], ap_trampoline_end[];
extern const char ap_tramp_gdtr[], ap_tramp_pm_jump[], ap_tramp_lm_jump[], ap_tramp_params[];

struct ap_params {
	uint64_t cr3;
	uint64_t stack_top;
	uint64_t percpu;
	uint64_t entry;
};

static uint8_t bsp_ist_stacks[IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

static uint64_t tramp_offset(const char *sym) { return (uint64_t)(sym - ap_trampoline_start); }

static void bsp_ist_tops(uint64_t tops[IST_COUNT])
{
	for (int i = 0; i < IST_COUNT; i++)
		tops[i] = (uint64_t)bsp_ist_stacks[i] + IST_STACK_SIZE;
}

void smp_bsp_early_init(void)
{
	struct percpu *c = &cpus[0];
	uint64_t ist[IST_COUNT];

	c->index = 0;
	c->stack_top = (uint64_t)boot_stack_top;
	bsp_ist_tops(ist);
	idt_init();
	cpu_tables_init(c, ist);
	c->state = CPU_ONLINE;
	cpu_count = 1;
}

_Noreturn static void ap_main(struct percpu *c)
{
	uint64_t ist[IST_COUNT];

	for (int i = 0; i < IST_COUNT; i++)
		ist[i] = c->stack_top + (uint64_t)(i + 1) * IST_STACK_SIZE;
	cpu_tables_init(c, ist);
	paging_cpu_init();
	lapic_cpu_init();
	vmm_cpu_init();
	__atomic_store_n(&c->state, CPU_ONLINE, __ATOMIC_RELEASE);
	vmm_cpu_loop();
}

/* One block per AP: the kernel stack, then its IST stacks above it. */
static bool ap_alloc_stacks(struct percpu *c)
{
	uint64_t size = KERNEL_STACK_SIZE + IST_COUNT * IST_STACK_SIZE;
	uint64_t phys = phys_alloc(size, PAGE_SIZE, UINT64_MAX);

	if (!phys)
		return false;
	c->stack_top = (uint64_t)phys_to_virt(phys) + KERNEL_STACK_SIZE;
	return true;
}

static void trampoline_install(uint64_t page)
{
	uint8_t *t = phys_to_virt(page);
	uint32_t base = (uint32_t)page;

	memcpy(t, ap_trampoline_start, (size_t)(ap_trampoline_end - ap_trampoline_start));
	*(uint32_t *)(t + tramp_offset(ap_tramp_gdtr) + 2) += base;
	*(uint32_t *)(t + tramp_offset(ap_tramp_pm_jump)) += base;
	*(uint32_t *)(t + tramp_offset(ap_tramp_lm_jump)) += base;
	paging_identity_page(page, true);
}

static bool ap_start(uint64_t page, struct percpu *c)
{
	struct ap_params *params = (struct ap_params *)((uint8_t *)phys_to_virt(page) + tramp_offset(ap_tramp_params));

	params->cr3 = paging_root();
	params->stack_top = c->stack_top;
	params->percpu = (uint64_t)c;
	params->entry = (uint64_t)ap_main;
	c->state = CPU_STARTING;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	lapic_send_ipi(c->apic_id, APIC_DM_INIT | APIC_LEVEL_ASSERT);
	udelay(INIT_DEASSERT_DELAY_US);
	for (int sipi = 0; sipi < 2 && c->state == CPU_STARTING; sipi++) {
		lapic_send_ipi(c->apic_id, APIC_DM_STARTUP | (uint32_t)(page >> 12));
		udelay(SIPI_DELAY_US);
	}
	uint64_t tsc_per_us = tsc_hz() / 1000000;
	uint64_t deadline = rdtsc() + AP_ONLINE_TIMEOUT_US * tsc_per_us;
	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CPU_ONLINE && rdtsc() < deadline)
		cpu_relax();
	return c->state == CPU_ONLINE;
}

void smp_boot(const uint32_t *apic_ids, uint32_t count, uint32_t maxcpus)
{
	uint32_t bsp_id = lapic_id();
	uint64_t page = mm_trampoline_page();
	uint32_t wanted = count < maxcpus ? count : maxcpus;

	cpus[0].apic_id = bsp_id;
	if (wanted > MAX_CPUS) {
		pr_warn("smp: %u cpus in the MADT, hv supports %u", count, MAX_CPUS);
		wanted = MAX_CPUS;
	}
	if (wanted > 1 && !page) {
		pr_err("smp: no free page below 1 MiB for the AP trampoline: running on the bootstrap cpu only");
		wanted = 1;
	}
	if (wanted > 1)
		trampoline_install(page);

	for (uint32_t i = 0; i < count && cpu_count < wanted; i++) {
		if (apic_ids[i] == bsp_id)
			continue;
		struct percpu *c = &cpus[cpu_count];
		c->index = cpu_count;
		c->apic_id = apic_ids[i];
		cpu_count++;
		if (!ap_alloc_stacks(c) || !ap_start(page, c)) {
			c->state = CPU_FAILED;
			pr_err("smp: cpu %u (apic id %u) failed to start", c->index, c->apic_id);
		}
	}
	if (wanted > 1)
		paging_identity_page(page, false);

	uint32_t online = smp_online_count();
	if (maxcpus < count)
		pr_info("cpus online %u/%u (maxcpus=%u)", online, count, maxcpus);
	else
		pr_info("cpus online %u/%u", online, count);
}

uint32_t smp_online_count(void)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < cpu_count; i++)
		n += cpus[i].state == CPU_ONLINE;
	return n;
}
