/*
 * The operator's console (see operator.h). The serial receive interrupt is routed to the bootstrap
 * CPU only, so the input handler never runs twice at once and owns the state below.
 */
#include <hv/console.h>
#include <hv/fmt.h>
#include <hv/operator.h>
#include <hv/percpu.h>
#include <hv/platform.h>
#include <hv/string.h>
#include <hv/trap.h>
#include <hv/version.h>
#include <hv/vmm.h>
#include <hv/vplatform.h>

#define COM1_IRQ 4
#define LINE_MAX 80
#define ASCII_BS 0x08
#define ASCII_DEL 0x7f

static struct {
	uint32_t focus; /* published index of the VM that gets the keystrokes */
	bool command_mode;
	char line[LINE_MAX];
	uint32_t len;
	char history[VPLATFORM_OUTPUT_RING];
} op;

static void say(const char *s) { console_write(s, strlen(s)); }

/* The published index of the VM called name, or vm_published_count() after saying there is none. */
static uint32_t vm_index(const char *name)
{
	uint32_t i = 0;

	while (i < vm_published_count() && strcmp(vm_published(i)->name, name))
		i++;
	if (i == vm_published_count())
		pr_info("no vm named '%s' (`list` shows them)", name);
	return i;
}

static struct vm *vm_named(const char *name) { return vm_published(vm_index(name)); }

static const char *vm_state(const struct vm *vm)
{
	if (vm->suspended != VM_SUSPEND_NONE)
		return vm_suspend_name(vm->suspended);
	return vm->vcpus_running ? "running" : "starting";
}

static void cmd_list(void)
{
	pr_info("%-16s %-12s %5s %-12s %8s %12s", "vm", "state", "vcpus", "cpus", "memory", "uptime");
	for (uint32_t i = 0; i < vm_published_count(); i++) {
		const struct vm *vm = vm_published(i);
		char pins[48];
		size_t n = 0;
		for (uint32_t c = 0; c < vm->vcpu_count && n < sizeof(pins); c++)
			n += (size_t)fmt_snprintf(pins + n, sizeof(pins) - n, "%s%u", c ? "," : "", vm->vcpus[c].host_cpu);
		uint64_t ms = vm_uptime_ms(vm);
		pr_info("%-16s %-12s %5u %-12s %7luM %8lu.%03lu s%s", vm->name, vm_state(vm), vm->vcpu_count, pins,
			vm->mem_size >> 20, ms / 1000, ms % 1000, i == op.focus ? "  <- input" : "");
	}
}

static void cmd_stats(const char *name)
{
	if (*name) {
		const struct vm *vm = vm_named(name);
		if (vm)
			vm_print_exit_stats(vm);
		return;
	}
	for (uint32_t i = 0; i < vm_published_count(); i++)
		vm_print_exit_stats(vm_published(i));
}

static void cmd_focus(const char *name)
{
	uint32_t i = vm_index(name);

	if (i == vm_published_count())
		return;
	op.focus = i;
	pr_info("console input goes to vm %s", name);
}

static void cmd_stop(const char *name)
{
	struct vm *vm = vm_named(name);

	if (!vm)
		return;
	if (vm->suspended != VM_SUSPEND_NONE) {
		pr_info("vm %s is already stopped (%s)", name, vm_suspend_name(vm->suspended));
		return;
	}
	vm_suspend(vm, VM_SUSPEND_HALT, "by the operator");
}

/* The VM's recent output, line by line, marked so it is not taken for new output. */
static void cmd_log(const char *name)
{
	struct vm *vm = vm_named(name);

	if (!vm)
		return;
	uint32_t n = vplatform_console_history(vm, op.history, sizeof(op.history));
	uint32_t start = 0;
	pr_info("recent output of vm %s:", vm->name);
	for (uint32_t i = 0; i < n; i++) {
		if (op.history[i] != '\n')
			continue;
		op.history[i] = 0;
		pr_info("| %s", op.history + start);
		start = i + 1;
	}
}

static void cmd_help(void)
{
	pr_info("commands: list | stats [VM] | focus VM | log VM | stop VM | version | help");
	pr_info("an empty line or Ctrl-] returns to the console of vm %s",
		vm_published_count() ? vm_published(op.focus)->name : "(none)");
}

static void run_command(char *line)
{
	char *arg = line;

	while (*arg && *arg != ' ')
		arg++;
	if (*arg)
		*arg++ = 0;
	while (*arg == ' ')
		arg++;
	if (!strcmp(line, "list"))
		cmd_list();
	else if (!strcmp(line, "stats"))
		cmd_stats(arg);
	else if (!strcmp(line, "focus"))
		cmd_focus(arg);
	else if (!strcmp(line, "log"))
		cmd_log(arg);
	else if (!strcmp(line, "stop"))
		cmd_stop(arg);
	else if (!strcmp(line, "version"))
		pr_info("hv %s (%s), %s backend, %u cpus", HV_VERSION, HV_BUILD_INFO, vmm_ops->name, cpu_count);
	else if (!strcmp(line, "help"))
		cmd_help();
	else
		pr_info("unknown command '%s' (`help` lists them)", line);
}

static void leave_command_mode(void)
{
	op.command_mode = false;
	if (vm_published_count())
		pr_info("console input goes to vm %s", vm_published(op.focus)->name);
}

static void command_key(char c)
{
	if (c == OPERATOR_ESCAPE) {
		say("\n");
		leave_command_mode();
		return;
	}
	if (c == '\r' || c == '\n') {
		say("\n");
		op.line[op.len] = 0;
		if (!op.len) {
			leave_command_mode();
			return;
		}
		op.len = 0;
		run_command(op.line);
		say("hv> ");
		return;
	}
	if ((c == ASCII_BS || c == ASCII_DEL) && op.len) {
		op.len--;
		say("\b \b");
		return;
	}
	if (c < 0x20 || c >= 0x7f || op.len == LINE_MAX - 1)
		return;
	op.line[op.len++] = c;
	console_write(&c, 1);
}

static void operator_input(struct trap_frame *f)
{
	char buf[32];
	uint32_t n;

	(void)f;
	while ((n = (uint32_t)console_read(buf, sizeof(buf)))) {
		for (uint32_t i = 0; i < n; i++) {
			if (op.command_mode) {
				command_key(buf[i]);
				continue;
			}
			if (buf[i] == OPERATOR_ESCAPE) {
				op.command_mode = true;
				say("\nhv> ");
				continue;
			}
			struct vm *vm = vm_published(op.focus);
			if (vm && vm->suspended == VM_SUSPEND_NONE)
				vplatform_console_input(vm, &buf[i], 1);
		}
	}
}

void operator_start(const struct acpi_info *acpi)
{
	irq_register(VECTOR_CONSOLE, operator_input);
	if (!platform_route_isa_irq(acpi, COM1_IRQ, VECTOR_CONSOLE)) {
		pr_warn("operator console: no IOAPIC input for COM1's IRQ %u; console input is off", COM1_IRQ);
		return;
	}
	console_input_enable();
	if (vm_published_count())
		pr_info("console input goes to vm %s; Ctrl-] for hv's commands", vm_published(0)->name);
}
