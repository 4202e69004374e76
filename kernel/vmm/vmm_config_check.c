/* vms.cfg against this machine, before any VM is created: the facts config_check() needs (boot
 * files, which CPUs run with virtualization on, free memory), and one error line per refused VM. */
#include <hv/config_check.h>
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/options.h>
#include <hv/percpu.h>
#include <hv/string.h>
#include <hv/vmm.h>
#include <hv/vmm_boot.h>

/*
 * hv's own memory per VM beyond its guest RAM: the VM and device structures, nested page tables and
 * the vcpus' control pages. Measured: 64 KiB for a 16 MiB VM on both backends before its vcpus run,
 * then two pages per vcpu and a page table per GiB of RAM; 512 KiB covers 16 vcpus and 3 GiB with room.
 */
#define VM_HOST_BYTES (512ull << 10)

static enum config_cpu_state cpu_state(const struct percpu *c)
{
	if (c->state != CPU_ONLINE)
		return CONFIG_CPU_FAILED;
	return c->vmm_ready ? CONFIG_CPU_USABLE : CONFIG_CPU_NO_VIRT;
}

static void report(void *config_file, const char *message)
{
	pr_err("config %s %s", (const char *)config_file, message);
}

void vmm_check_config(struct hv_config *cfg, const struct boot_info *bi, const char *config_file,
			  bool ok[CONFIG_MAX_VMS])
{
	static const char *files[BOOT_MODULES_MAX];
	static uint8_t states[MAX_CPUS];
	static struct pmm memory; /* 8 KiB: too big for a kernel stack */
	struct config_machine m = {
		.files = files, .cpu_state = states, .cpu_count = cpu_count, .maxcpus = hv_options.maxcpus,
		.virt = vmm_ops->name, .memory = &memory, .ram_align = GUEST_RAM_ALIGN, .vm_host_bytes = VM_HOST_BYTES,
	};

	for (uint32_t i = 0; i < bi->module_count; i++)
		if (strcmp(bi->modules[i].name, config_file))
			files[m.file_count++] = bi->modules[i].name;
	for (uint32_t i = 0; i < cpu_count; i++)
		states[i] = (uint8_t)cpu_state(&cpus[i]);
	phys_snapshot(&memory);
	config_check(cfg, &m, ok, report, (void *)config_file);
}
