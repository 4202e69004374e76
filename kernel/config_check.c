/* The configuration against the machine (include/hv/config_check.h). */
#include <hv/config_check.h>
#include <hv/fmt.h>
#include <hv/layout.h>
#include <hv/string.h>
#include <stdbool.h>

#define MIB ((uint64_t)1 << 20)
#define KIB ((uint64_t)1 << 10)

struct checker {
	struct hv_config *cfg;
	struct config_machine *m;
	const bool *ok;	  /* the verdicts of the VMs before the current one */
	uint32_t current; /* the VM being checked */
	char err[CONFIG_CHECK_MESSAGE_MAX];
};

#define ERR_SIZE CONFIG_CHECK_MESSAGE_MAX

static uint32_t line_or_vm(uint32_t line, const struct vm_config *vm) { return line ? line : vm->line; }

/* "line N: vm NAME: " at the start of err; returns its length (capped at the buffer). */
static size_t start_error(struct checker *c, uint32_t line, const struct vm_config *vm)
{
	int n = fmt_snprintf(c->err, ERR_SIZE, "line %u: vm %s: ", line, vm->name);

	return (size_t)n < ERR_SIZE ? (size_t)n : ERR_SIZE - 1;
}

static bool have_file(const struct config_machine *m, const char *name, size_t len)
{
	for (uint32_t i = 0; i < m->file_count; i++)
		if (strlen(m->files[i]) == len && !strncmp(m->files[i], name, len))
			return true;
	return false;
}

/* " (have: a, b, c)", ending in ", ...)" where the rest does not fit. */
static void append_file_list(struct checker *c, size_t pos)
{
	static const char more[] = ", ...)";

	if (!c->m->file_count) {
		strlcpy(c->err + pos, " (have: none)", ERR_SIZE - pos);
		return;
	}
	for (uint32_t i = 0; i < c->m->file_count; i++) {
		size_t room = ERR_SIZE - pos;
		int n = fmt_snprintf(c->err + pos, room, i ? ", %s" : " (have: %s", c->m->files[i]);
		if ((size_t)n + sizeof(more) > room) {
			strlcpy(c->err + pos, i ? more : " (have: ...)", room);
			return;
		}
		pos += (size_t)n;
	}
	strlcpy(c->err + pos, ")", ERR_SIZE - pos);
}

/* value is "FILE" or, for a module, "FILE ARGS". */
static int check_file(struct checker *c, const struct vm_config *vm, const char *value, uint32_t line)
{
	char name[CONFIG_FILE_MAX];
	size_t len = 0;

	while (value[len] && value[len] != ' ')
		len++;
	if (have_file(c->m, value, len))
		return 0;
	strlcpy(name, value, len + 1);
	size_t pos = start_error(c, line, vm);
	int n = fmt_snprintf(c->err + pos, ERR_SIZE - pos, "file '%s' not found among the boot files", name);
	pos += (size_t)n < ERR_SIZE - pos ? (size_t)n : ERR_SIZE - pos - 1;
	append_file_list(c, pos);
	return -1;
}

static int check_files(struct checker *c, const struct vm_config *vm)
{
	if (check_file(c, vm, vm->kernel, line_or_vm(vm->kernel_line, vm)))
		return -1;
	for (uint32_t i = 0; i < vm->module_count; i++)
		if (check_file(c, vm, vm->modules[i], line_or_vm(vm->module_lines[i], vm)))
			return -1;
	return 0;
}

/* The vcpu holding cpu: one of a VM before this one that passed, or an earlier one of this VM. */
static bool cpu_holder(const struct checker *c, uint32_t cpu, uint32_t vcpu, const struct vm_config **vm,
		       uint32_t *holder_vcpu)
{
	for (uint32_t v = 0; v <= c->current; v++) {
		const struct vm_config *h = &c->cfg->vms[v];
		uint32_t n = v < c->current ? h->vcpus : vcpu;
		if (v < c->current && !c->ok[v])
			continue;
		for (uint32_t i = 0; i < n; i++)
			if (h->pin[i] == cpu) {
				*vm = h;
				*holder_vcpu = i;
				return true;
			}
	}
	return false;
}

/* Whether a VM after this one names cpu in its pin list: automatic vcpus leave it to that VM. */
static bool pinned_later(const struct checker *c, uint32_t cpu)
{
	for (uint32_t v = c->current + 1; v < c->cfg->vm_count; v++)
		for (uint32_t i = 0; i < c->cfg->vms[v].vcpus; i++)
			if (c->cfg->vms[v].pin[i] == cpu)
				return true;
	return false;
}

static int pin_error(struct checker *c, const struct vm_config *vm, uint32_t vcpu, uint32_t cpu, const char *why)
{
	size_t pos = start_error(c, line_or_vm(vm->pin_line, vm), vm);

	fmt_snprintf(c->err + pos, ERR_SIZE - pos, "vcpu %u is pinned to cpu %u, %s", vcpu, cpu, why);
	return -1;
}

static int check_explicit_pin(struct checker *c, const struct vm_config *vm, uint32_t vcpu)
{
	const struct config_machine *m = c->m;
	uint32_t cpu = vm->pin[vcpu];
	const struct vm_config *holder;
	uint32_t holder_vcpu;
	char why[96];

	if (cpu >= m->cpu_count) {
		int n = m->cpu_count == 1 ? fmt_snprintf(why, sizeof(why), "but hv runs on 1 cpu (0")
					  : fmt_snprintf(why, sizeof(why), "but hv runs on %u cpus (0-%u", m->cpu_count,
							 m->cpu_count - 1);
		fmt_snprintf(why + n, sizeof(why) - (size_t)n, m->maxcpus == m->cpu_count ? ", maxcpus=%u)" : ")",
			     m->maxcpus);
		return pin_error(c, vm, vcpu, cpu, why);
	}
	if (m->cpu_state[cpu] == CONFIG_CPU_FAILED)
		return pin_error(c, vm, vcpu, cpu, "which failed to start; pin another cpu");
	if (m->cpu_state[cpu] == CONFIG_CPU_NO_VIRT) {
		fmt_snprintf(why, sizeof(why), "which could not enable %s; pin another cpu", m->virt);
		return pin_error(c, vm, vcpu, cpu, why);
	}
	if (cpu_holder(c, cpu, vcpu, &holder, &holder_vcpu)) {
		fmt_snprintf(why, sizeof(why), "which already runs vm %s vcpu %u (one vcpu per cpu)", holder->name,
			     holder_vcpu);
		return pin_error(c, vm, vcpu, cpu, why);
	}
	return 0;
}

static bool cpu_free(const struct checker *c, uint32_t cpu, uint32_t vcpu)
{
	const struct vm_config *vm;
	uint32_t holder_vcpu;

	return c->m->cpu_state[cpu] == CONFIG_CPU_USABLE && !cpu_holder(c, cpu, vcpu, &vm, &holder_vcpu) &&
	       !pinned_later(c, cpu);
}

/* The next free CPU from 1, the bootstrap CPU last (it also does hv's own work). */
static bool next_free_cpu(const struct checker *c, uint32_t vcpu, uint32_t *cpu)
{
	for (uint32_t i = 1; i <= c->m->cpu_count; i++) {
		uint32_t candidate = i % c->m->cpu_count;
		if (cpu_free(c, candidate, vcpu)) {
			*cpu = candidate;
			return true;
		}
	}
	return false;
}

static uint32_t usable_cpus(const struct config_machine *m)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->cpu_count; i++)
		n += m->cpu_state[i] == CONFIG_CPU_USABLE;
	return n;
}

/* A VM's pins are all explicit or all automatic (config_parse makes sure). */
static int check_cpus(struct checker *c, struct vm_config *vm)
{
	for (uint32_t i = 0; i < vm->vcpus; i++) {
		if (vm->pin[i] != CONFIG_PIN_AUTO) {
			if (check_explicit_pin(c, vm, i))
				return -1;
			continue;
		}
		if (!next_free_cpu(c, i, &vm->pin[i])) {
			size_t pos = start_error(c, vm->line, vm);
			fmt_snprintf(c->err + pos, ERR_SIZE - pos,
				     "no cpu left for vcpu %u: the %u usable cpus are taken by other vcpus "
				     "(one vcpu per cpu)",
				     i, usable_cpus(c->m));
			return -1;
		}
	}
	return 0;
}

static uint64_t vm_total_bytes(const struct hv_config *cfg, uint64_t host_bytes)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < cfg->vm_count; i++)
		total += cfg->vms[i].memory + host_bytes;
	return total;
}

static int memory_error(struct checker *c, const struct vm_config *vm, uint64_t free_at_start)
{
	const struct config_machine *m = c->m;
	uint64_t left = pmm_free_bytes(m->memory), need = vm->memory + m->vm_host_bytes;
	size_t pos = start_error(c, line_or_vm(vm->memory_line, vm), vm);

	pos += (size_t)fmt_snprintf(c->err + pos, ERR_SIZE - pos,
				    "not enough memory: it needs %lu MiB + %lu KiB for hv", vm->memory / MIB,
				    m->vm_host_bytes / KIB);
	if (pos >= ERR_SIZE)
		return -1;
	if (left >= need)
		fmt_snprintf(c->err + pos, ERR_SIZE - pos, " in one block, and the %lu MiB left are in smaller pieces",
			     left / MIB);
	else
		fmt_snprintf(c->err + pos, ERR_SIZE - pos, ", %lu MiB is left (all VMs: %lu MiB needed, %lu MiB free)",
			     left / MIB, (vm_total_bytes(c->cfg, m->vm_host_bytes) + MIB - 1) / MIB,
			     free_at_start / MIB);
	return -1;
}

/* Takes the VM's memory from the copy of free memory, as vm_create will. */
static int check_memory(struct checker *c, const struct vm_config *vm, uint64_t free_at_start)
{
	struct config_machine *m = c->m;
	uint64_t ram = pmm_alloc(m->memory, vm->memory, m->ram_align, UINT64_MAX);

	if (ram == PMM_NO_PAGE)
		return memory_error(c, vm, free_at_start);
	if (pmm_alloc(m->memory, m->vm_host_bytes, PAGE_SIZE, UINT64_MAX) == PMM_NO_PAGE) {
		pmm_free(m->memory, ram, vm->memory);
		return memory_error(c, vm, free_at_start);
	}
	return 0;
}

uint32_t config_check(struct hv_config *cfg, struct config_machine *m, bool ok[CONFIG_MAX_VMS],
		      config_report_fn report, void *ctx)
{
	struct checker c = { .cfg = cfg, .m = m, .ok = ok };
	uint64_t free_at_start = pmm_free_bytes(m->memory);
	uint32_t refused = 0;

	for (uint32_t v = 0; v < cfg->vm_count; v++) {
		struct vm_config *vm = &cfg->vms[v];
		c.current = v;
		ok[v] = !check_files(&c, vm) && !check_cpus(&c, vm) && !check_memory(&c, vm, free_at_start);
		if (!ok[v]) {
			report(ctx, c.err);
			refused++;
		}
	}
	return refused;
}
