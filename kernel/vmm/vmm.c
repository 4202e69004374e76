/* The VMM at boot: choose the backend, enable it on every CPU, create the configured VMs, and the
 * loop each CPU runs afterwards. */
#include <hv/apic.h>
#include <hv/config.h>
#include <hv/console.h>
#include <hv/fmt.h>
#include <hv/loader.h>
#include <hv/loader_linux.h>
#include <hv/mm.h>
#include <hv/options.h>
#include <hv/panic.h>
#include <hv/percpu.h>
#include <hv/smp.h>
#include <hv/string.h>
#include <hv/trap.h>
#include <hv/vmm.h>
#include <hv/vmm_boot.h>
#include <hv/vplatform.h>
#include <hv/x86.h>

#define CONFIG_FILE "vms.cfg"

/* Backends are linked in when built; the core knows only their tables. */
extern const struct vmm_ops vmm_ops_vmx __attribute__((weak));
extern const struct vmm_ops vmm_ops_svm __attribute__((weak));

static struct hv_config config;
static volatile uint32_t vms_running;
static uint32_t vms_refused; /* VMs of the config that could not be created: test-exit reports failure */

bool vmm_vms_running(void) { return vms_running != 0; }

static bool cpu_vendor_is(const char *vendor)
{
	struct cpuid_regs r = cpuid(0, 0);
	char v[13];

	memcpy(v, &r.ebx, 4);
	memcpy(v + 4, &r.edx, 4);
	memcpy(v + 8, &r.ecx, 4);
	v[12] = 0;
	return !strcmp(v, vendor);
}

void vmm_select_backend(void)
{
	const struct vmm_ops *candidate = NULL;

	if (cpu_vendor_is("GenuineIntel"))
		candidate = &vmm_ops_vmx;
	else if (cpu_vendor_is("AuthenticAMD"))
		candidate = &vmm_ops_svm;
	if (!candidate)
		boot_error("no hardware virtualization: hv supports Intel VMX and AMD SVM, and this CPU is neither "
			   "Intel nor AMD, or this build lacks its backend");
	const char *missing = candidate->probe();
	if (missing)
		boot_error("no hardware virtualization: %s", missing);
	vmm_ops = candidate;
}

bool vmm_cpu_init(void)
{
	struct percpu *c = this_cpu();

	c->vmm_ready = vmm_ops->cpu_init();
	if (!c->vmm_ready)
		pr_err("%s: could not enable virtualization on cpu %u", vmm_ops->name, c->index);
	return c->vmm_ready;
}

static const struct boot_module *find_file(const struct boot_info *bi, const char *name, size_t name_len)
{
	for (uint32_t i = 0; i < bi->module_count; i++)
		if (strlen(bi->modules[i].name) == name_len && !strncmp(bi->modules[i].name, name, name_len))
			return &bi->modules[i];
	return NULL;
}

static size_t first_word_length(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != ' ')
		n++;
	return n;
}

/* A Linux bzImage: the first module, if any, is its initrd. */
static const char *vm_load_linux(struct vm *vm, const struct vm_config *vc, const uint8_t *image, uint64_t size,
				 const struct loader_module *mods)
{
	static struct linux_e820 map[LINUX_E820_MAX];
	static char initrd_name[CONFIG_FILE_MAX];
	uint32_t n = linux_e820_default(vm, map, LINUX_E820_MAX);
	struct linux_file kernel = { image, size, vc->kernel }, initrd = { 0 };

	if (vc->module_count > 1)
		return "a Linux kernel takes one module, its initrd";
	if (vc->module_count) {
		strlcpy(initrd_name, vc->modules[0], first_word_length(vc->modules[0]) + 1);
		initrd = (struct linux_file){ mods[0].data, mods[0].size, initrd_name };
	}
	return linux_load(vm, &kernel, vc->module_count ? &initrd : NULL, vc->cmdline, map, n, vm->acpi_rsdp);
}

/* A Multiboot2 kernel gets the same memory map as a Linux guest: the VM's real layout. */
static const char *vm_load_mb2(struct vm *vm, const struct vm_config *vc, const uint8_t *image, uint64_t size,
			       const struct loader_module *mods)
{
	static struct linux_e820 map[LINUX_E820_MAX];
	uint32_t n = linux_e820_default(vm, map, LINUX_E820_MAX);

	return mb2_load(vm, image, size, vc->cmdline, mods, vc->module_count, map, n, vm->acpi_rsdp);
}

/* A loader's complaint, prefixed with the file it is about (VMs start one after another). */
static const char *named(const char *file, const char *err)
{
	static char msg[192];

	if (!err)
		return NULL;
	fmt_snprintf(msg, sizeof(msg), "%s: %s", file, err);
	return msg;
}

static const char *vm_load(struct vm *vm, const struct vm_config *vc, const struct boot_info *bi)
{
	struct loader_module mods[CONFIG_MAX_MODULES];
	const struct boot_module *k = find_file(bi, vc->kernel, strlen(vc->kernel));

	if (!k)
		return "kernel file not found among the boot files";
	for (uint32_t i = 0; i < vc->module_count; i++) {
		const struct boot_module *m = find_file(bi, vc->modules[i], first_word_length(vc->modules[i]));
		if (!m)
			return "module file not found among the boot files";
		mods[i] = (struct loader_module){ phys_to_virt(m->base), m->size, vc->modules[i] };
	}
	const uint8_t *image = phys_to_virt(k->base);
	if (linux_is_bzimage(image, k->size))
		return vm_load_linux(vm, vc, image, k->size, mods); /* its messages name the file */
	if (mb2_has_header(image, k->size))
		return named(vc->kernel, vm_load_mb2(vm, vc, image, k->size, mods));
	return named(vc->kernel, mb1_load(vm, image, k->size, vc->cmdline, mods, vc->module_count));
}

/* A refused VM leaves the CPUs of its first n vcpus to the VMs after it. */
static void vm_release_cpus(struct vm *vm, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		cpus[vm->vcpus[i].host_cpu].vcpu = NULL;
}

/* The CPU of each vcpu: its pin, automatic ones filled in by vmm_check_config. */
static bool vm_assign_cpus(struct vm *vm, const struct vm_config *vc, const char **err)
{
	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		uint32_t cpu = vc->pin[i];
		if (cpu >= cpu_count || cpus[cpu].state != CPU_ONLINE || !cpus[cpu].vmm_ready) {
			*err = "pinned to a CPU that does not exist or is not running";
			vm_release_cpus(vm, i);
			return false;
		}
		if (cpus[cpu].vcpu) {
			*err = "pinned to a CPU that already runs a vcpu";
			vm_release_cpus(vm, i);
			return false;
		}
		vm->vcpus[i].host_cpu = cpu;
		cpus[cpu].vcpu = &vm->vcpus[i];
	}
	return true;
}

static bool vm_start(const struct vm_config *vc, const struct boot_info *bi)
{
	const char *err = NULL;
	struct vm *vm = vm_create(vc->name, vc->memory, vc->vcpus, &err);

	if (vm && !vplatform_init(vm))
		err = "out of memory for its devices";
	if (vm && !err)
		err = vm_load(vm, vc, bi);
	if (vm && !err)
		vm_assign_cpus(vm, vc, &err);
	if (err) {
		pr_err("config " CONFIG_FILE " line %u: vm %s: %s", vc->line, vc->name, err);
		return false;
	}
	__atomic_fetch_add(&vms_running, 1, __ATOMIC_SEQ_CST);
	vm_publish(vm);
	pr_info("vm %s: %u vcpu, %lu MiB, kernel %s", vm->name, vm->vcpu_count, vm->mem_size >> 20, vc->kernel);
	return true;
}

/* A kick only needs to end a HLT or a guest run: the sender already flagged what changed. */
static void kick_handler(struct trap_frame *f) { (void)f; }

/*
 * The host timer may fire a little before the vcpu's deadline (tick rounding, calibration error);
 * the run loop must then still look at its timers, or the guest is re-entered with none armed.
 */
static void timer_handler(struct trap_frame *f)
{
	struct vcpu *v = this_cpu()->vcpu;

	(void)f;
	if (v)
		v->intr_hint = 1;
}

void vmm_start_vms(const struct boot_info *bi)
{
	uint32_t ready = 0;
	char err[128];

	for (uint32_t i = 0; i < cpu_count; i++)
		ready += cpus[i].state == CPU_ONLINE && cpus[i].vmm_ready;
	pr_info("%s ready on %u/%u cpus", vmm_ops->name, ready, smp_online_count());
	irq_register(VECTOR_KICK, kick_handler);
	irq_register(VECTOR_TIMER, timer_handler);

	const struct boot_module *cfg = find_file(bi, CONFIG_FILE, strlen(CONFIG_FILE));
	if (!cfg) {
		pr_info("no " CONFIG_FILE " among the boot files: no VMs to run");
		return;
	}
	if (config_parse(phys_to_virt(cfg->base), cfg->size, &config, err, sizeof(err)))
		boot_error("config " CONFIG_FILE " %s", err);
	/* A config that does not parse says nothing reliable about any VM: nothing runs. A VM that
	 * cannot be created (bad image, no memory, bad pin) is refused alone; the others run. */
	bool ok[CONFIG_MAX_VMS];
	vmm_check_config(&config, bi, CONFIG_FILE, ok);
	uint32_t started = 0;
	for (uint32_t i = 0; i < config.vm_count; i++)
		started += ok[i] && vm_start(&config.vms[i], bi);
	vms_refused = config.vm_count - started;
	if (vms_refused && !started)
		boot_error("config " CONFIG_FILE ": %u of %u VMs could not be created", vms_refused, config.vm_count);
	if (vms_refused)
		pr_warn("config " CONFIG_FILE ": %u of %u VMs refused, the others run", vms_refused, config.vm_count);
	for (uint32_t i = 1; i < cpu_count; i++)
		if (cpus[i].vcpu)
			lapic_send_ipi(cpus[i].apic_id, APIC_DM_FIXED | VECTOR_KICK);
}

static void vm_vcpu_done(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (__atomic_sub_fetch(&vm->vcpus_running, 1, __ATOMIC_SEQ_CST))
		return;
	vplatform_stop(vm);
	vm_print_exit_stats(vm);
	if (__atomic_sub_fetch(&vms_running, 1, __ATOMIC_SEQ_CST))
		return;
	pr_info("all vms stopped");
	if (hv_options.test_exit)
		test_exit(!vms_refused);
}

_Noreturn void vmm_cpu_loop(void)
{
	struct percpu *c = this_cpu();

	for (;;) {
		irq_disable();
		struct vcpu *v = c->vcpu;
		if (v && v->state == VCPU_IDLE) {
			__atomic_fetch_add(&v->vm->vcpus_running, 1, __ATOMIC_SEQ_CST);
			vcpu_run(v);
			vm_vcpu_done(v);
			continue;
		}
		/* sti; hlt: a kick between the check and the halt still wakes us. */
		__asm__ volatile("sti; hlt" ::: "memory");
	}
}
