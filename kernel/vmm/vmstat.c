/* Exit statistics: how often each vcpu left the guest and why, printed per VM like kvm_stat. */
#include <hv/console.h>
#include <hv/fmt.h>
#include <hv/timer.h>
#include <hv/vmm.h>
#include <hv/x86.h>

static const char *const exitcode_names[VM_EXITCODE_MAX] = {
	[VM_EXITCODE_NONE] = "backend",		[VM_EXITCODE_INOUT] = "io",
	[VM_EXITCODE_RDMSR] = "rdmsr",		[VM_EXITCODE_WRMSR] = "wrmsr",
	[VM_EXITCODE_CPUID] = "cpuid",		[VM_EXITCODE_HLT] = "hlt",
	[VM_EXITCODE_PAUSE] = "pause",		[VM_EXITCODE_MTRAP] = "mtrap",
	[VM_EXITCODE_PAGING] = "mmio",	[VM_EXITCODE_INST_EMUL] = "inst-emul",
	[VM_EXITCODE_SPINUP_AP] = "spinup-ap",	[VM_EXITCODE_SUSPENDED] = "suspended",
	[VM_EXITCODE_TASK_SWITCH] = "task-switch", [VM_EXITCODE_MONITOR] = "monitor",
	[VM_EXITCODE_MWAIT] = "mwait",		[VM_EXITCODE_DEBUG] = "debug",
	[VM_EXITCODE_VMINSN] = "vm-insn",	[VM_EXITCODE_TRIPLE_FAULT] = "triple-fault",
	[VM_EXITCODE_INIT] = "init",		[VM_EXITCODE_XSETBV] = "xsetbv",
	[VM_EXITCODE_INVD] = "invd",		[VM_EXITCODE_ENTRY_FAILED] = "entry-failed",
	[VM_EXITCODE_BOGUS] = "bogus",		[VM_EXITCODE_EXTINT] = "host-intr",
	[VM_EXITCODE_INTR_WINDOW] = "intr-window",
};

const char *vm_exitcode_name(enum vm_exitcode code)
{
	return code < VM_EXITCODE_MAX && exitcode_names[code] ? exitcode_names[code] : "unknown";
}

uint64_t vm_uptime_ms(const struct vm *vm)
{
	uint64_t end = vm->stop_tsc ? vm->stop_tsc : rdtsc();
	uint64_t khz = tsc_hz() / 1000;

	return khz ? (end - vm->start_tsc) / khz : 0;
}

static uint64_t exits_of(const struct vm *vm, uint32_t code)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < vm->vcpu_count; i++)
		n += vm->vcpus[i].exit_counts[code];
	return n;
}

/* One line per vcpu count, "vcpu0 12 vcpu1 7", for VMs with more than one vcpu. */
static void per_vcpu(const struct vm *vm, uint32_t code, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	if (vm->vcpu_count < 2)
		return;
	for (uint32_t i = 0; i < vm->vcpu_count && n < size; i++)
		n += (size_t)fmt_snprintf(buf + n, size - n, "%svcpu%u %lu", i ? ", " : "  (", i,
					  vm->vcpus[i].exit_counts[code]);
	if (n < size)
		fmt_snprintf(buf + n, size - n, ")");
}

/* Reasons in falling order of count; the counters are read while the vcpus may still run. */
void vm_print_exit_stats(const struct vm *vm)
{
	uint64_t counts[VM_EXITCODE_MAX], total = 0;
	bool shown[VM_EXITCODE_MAX] = { 0 };
	char vcpus[160];

	for (uint32_t c = 0; c < VM_EXITCODE_MAX; c++)
		total += counts[c] = exits_of(vm, c);
	pr_info("vm %s exit statistics: %lu exits in %lu ms", vm->name, total, vm_uptime_ms(vm));
	for (;;) {
		uint32_t best = VM_EXITCODE_MAX;
		for (uint32_t c = 0; c < VM_EXITCODE_MAX; c++)
			if (!shown[c] && counts[c] && (best == VM_EXITCODE_MAX || counts[c] > counts[best]))
				best = c;
		if (best == VM_EXITCODE_MAX)
			return;
		shown[best] = true;
		per_vcpu(vm, best, vcpus, sizeof(vcpus));
		pr_info("  %-12s %10lu %3lu%%%s", vm_exitcode_name(best), counts[best], counts[best] * 100 / total, vcpus);
	}
}
