/* VMs, their guest-physical memory and the run loop of one vcpu. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/percpu.h>
#include <hv/string.h>
#include <hv/vmm.h>
#include <hv/vplatform.h>
#include <hv/x86.h>

const struct vmm_ops *vmm_ops;
static uint32_t vm_next_id;
static struct vm *published[VM_MAX_VMS];
static volatile uint32_t published_count;

static const char *const suspend_names[] = {
	[VM_SUSPEND_NONE] = "running",	    [VM_SUSPEND_RESET] = "reset",
	[VM_SUSPEND_POWEROFF] = "poweroff", [VM_SUSPEND_HALT] = "halt",
	[VM_SUSPEND_TRIPLEFAULT] = "triple fault", [VM_SUSPEND_EXIT] = "exit",
	[VM_SUSPEND_ERROR] = "error",
};

const char *vm_suspend_name(enum vm_suspend_how how)
{
	return how <= VM_SUSPEND_ERROR ? suspend_names[how] : "unknown";
}

void vm_publish(struct vm *vm)
{
	if (published_count < VM_MAX_VMS)
		published[published_count++] = vm;
}

uint32_t vm_published_count(void) { return published_count; }

struct vm *vm_published(uint32_t index) { return index < published_count ? published[index] : NULL; }

struct vm *vm_create(const char *name, uint64_t mem_size, uint32_t vcpu_count, const char **err)
{
	if (vcpu_count == 0 || vcpu_count > VM_MAX_VCPUS) {
		*err = "vcpu count out of range";
		return NULL;
	}
	struct vm *vm = mm_zalloc(sizeof(*vm));
	if (!vm) {
		*err = "out of memory for the VM structure";
		return NULL;
	}
	strlcpy(vm->name, name, sizeof(vm->name));
	vm->start_tsc = rdtsc();
	vm->id = vm_next_id++;
	vm->vcpu_count = vcpu_count;
	for (uint32_t i = 0; i < vcpu_count; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
	}

	uint64_t hpa = phys_alloc(mem_size, GUEST_RAM_ALIGN, UINT64_MAX);
	if (!hpa) {
		*err = "not enough free host memory for the guest RAM";
		return NULL;
	}
	struct vm_memseg *seg = &vm->memsegs[vm->memseg_count++];
	seg->gpa = 0;
	seg->len = mem_size;
	seg->hpa = hpa;
	seg->hva = phys_to_virt(hpa);
	/* A guest never sees what the memory held before. */
	void *dst = seg->hva;
	uint64_t quads = mem_size / 8;
	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(quads) : "a"(0ull) : "memory");
	vm->mem_size = seg->len;

	vm->backend = vmm_ops->vm_init(vm);
	if (!vm->backend || !vmm_ops->map(vm->backend, seg->gpa, seg->hpa, seg->len)) {
		*err = "the backend could not set up the VM (nested page tables)";
		return NULL;
	}
	return vm;
}

void vm_suspend(struct vm *vm, enum vm_suspend_how how, const char *why)
{
	enum vm_suspend_how none = VM_SUSPEND_NONE;

	if (!__atomic_compare_exchange_n(&vm->suspended, &none, how, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	vm->stop_tsc = rdtsc();
	/* Said first: the vcpus' CPUs print the VM's exit statistics once they have stopped. */
	if (how == VM_SUSPEND_EXIT)
		pr_info("vm %s exit %u", vm->name, vm->exit_status);
	else
		pr_info("vm %s stopped: %s%s%s", vm->name, vm_suspend_name(how), why ? ": " : "", why ? why : "");
	/* The VM's other vcpus may be in the guest or asleep on their CPUs: make them look. */
	for (uint32_t i = 0; i < vm->vcpu_count; i++)
		vcpu_notify_urgent(&vm->vcpus[i]);
}

uint64_t vcpu_get_reg(struct vcpu *v, enum vm_reg reg)
{
	if (reg < VM_GPR_COUNT && reg != VM_REG_RSP)
		return v->gpr[reg];
	return vmm_ops->get_reg(v->backend, reg);
}

void vcpu_set_reg(struct vcpu *v, enum vm_reg reg, uint64_t value)
{
	if (reg < VM_GPR_COUNT && reg != VM_REG_RSP)
		v->gpr[reg] = value;
	else
		vmm_ops->set_reg(v->backend, reg, value);
}

static void vcpu_apply_boot_state(struct vcpu *v)
{
	const struct vcpu_boot_state *b = &v->boot;

	if (!b->valid)
		return;
	memcpy(v->gpr, b->gpr, sizeof(v->gpr));
	vmm_ops->set_reg(v->backend, VM_REG_EFER, b->efer);
	vmm_ops->set_reg(v->backend, VM_REG_CR4, b->cr4);
	vmm_ops->set_reg(v->backend, VM_REG_CR3, b->cr3);
	vmm_ops->set_reg(v->backend, VM_REG_CR0, b->cr0);
	vmm_ops->set_desc(v->backend, VM_REG_CS, &b->code);
	for (enum vm_reg r = VM_REG_ES; r <= VM_REG_GS; r++)
		if (r != VM_REG_CS)
			vmm_ops->set_desc(v->backend, r, &b->data);
	vmm_ops->set_desc(v->backend, VM_REG_GDTR, &b->gdtr);
	vmm_ops->set_desc(v->backend, VM_REG_IDTR, &b->idtr);
	vmm_ops->set_reg(v->backend, VM_REG_RSP, b->rsp);
	vmm_ops->set_reg(v->backend, VM_REG_RFLAGS, b->rflags);
	vmm_ops->set_reg(v->backend, VM_REG_RIP, b->rip);
}

void vcpu_reset_to_real_mode(struct vcpu *v, uint16_t cs, uint16_t ip)
{
	struct seg_desc code = { (uint64_t)cs << 4, 0xffff, 0x9b, cs };
	struct seg_desc data = { 0, 0xffff, 0x93, 0 };
	struct seg_desc table = { 0, 0xffff, 0, 0 };

	memset(v->gpr, 0, sizeof(v->gpr));
	vmm_ops->set_reg(v->backend, VM_REG_EFER, 0);
	vmm_ops->set_reg(v->backend, VM_REG_CR4, 0);
	vmm_ops->set_reg(v->backend, VM_REG_CR3, 0);
	vmm_ops->set_reg(v->backend, VM_REG_CR0, CR0_CD | CR0_NW | CR0_ET);
	vmm_ops->set_reg(v->backend, VM_REG_DR7, 0x400);
	vmm_ops->set_desc(v->backend, VM_REG_CS, &code);
	for (enum vm_reg r = VM_REG_ES; r <= VM_REG_GS; r++)
		if (r != VM_REG_CS)
			vmm_ops->set_desc(v->backend, r, &data);
	vmm_ops->set_desc(v->backend, VM_REG_GDTR, &table);
	vmm_ops->set_desc(v->backend, VM_REG_IDTR, &table);
	vmm_ops->set_reg(v->backend, VM_REG_RSP, 0);
	vmm_ops->set_reg(v->backend, VM_REG_RFLAGS, 0x2);
	vmm_ops->set_reg(v->backend, VM_REG_RIP, ip);
	v->exc_pending = 0;
}

void vcpu_run(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct vm_exit *exit = &v->exit;

	v->backend = vmm_ops->vcpu_init(vm->backend, v);
	if (!v->backend) {
		vm_suspend(vm, VM_SUSPEND_ERROR, "cannot initialise the vcpu");
		return;
	}
	vcpu_apply_boot_state(v);
	/* Application processors wait for INIT-SIPI from the guest, as on hardware. */
	v->wait_sipi = !v->boot.valid;
	v->state = VCPU_RUNNING;
	v->intr_hint = 1;
	exit->inst_length = 0;
	irq_disable();
	void (*run)(void *, struct vm_exit *) = vmm_ops->run;
	void *backend = v->backend;
	while (vm->suspended == VM_SUSPEND_NONE) {
		/* One test on the hot path: an AP waiting for SIPI keeps intr_hint set. */
		if (v->intr_hint || rdtsc() >= v->deadline_tsc) {
			if (v->wait_sipi) {
				vcpu_wait_for_sipi(v);
				exit->inst_length = 0;
				continue;
			}
			vintr_before_entry(v);
		}
		run(backend, exit);
		v->exit_counts[exit->code]++;
		/* The exits a guest makes most often go straight to their handler. */
		if (exit->code == VM_EXITCODE_CPUID)
			vcpuid_emulate(v);
		else if (exit->code == VM_EXITCODE_INOUT && !exit->u.inout.string)
			ioport_exit(v, exit);
		else
			vmm_handle_exit_slow(v, exit);
	}
	lapic_timer_stop();
	irq_enable();
	v->state = VCPU_STOPPED;
}
