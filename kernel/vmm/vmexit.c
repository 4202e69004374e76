/* The core's side of a VM exit: one switch, each case completed here or in a device. */
#include <hv/console.h>
#include <hv/fmt.h>
#include <hv/vmm.h>
#include <hv/x86.h>

#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)

static void inject_ud(struct vcpu *v, struct vm_exit *exit)
{
	vcpu_inject_exception(v, IDT_UD, false, 0);
	exit->inst_length = 0;
}

/* HLT: the vcpu sleeps until something can wake it. A lone vcpu halted with interrupts off has
 * nobody left to send it an NMI or INIT: that VM has halted for good. */
static void vcpu_halt(struct vcpu *v, struct vm_exit *exit)
{
	vcpu_set_reg(v, VM_REG_INTR_SHADOW, 0);
	if (v->vm->vcpu_count == 1 && !(vcpu_get_reg(v, VM_REG_RFLAGS) & RFLAGS_IF)) {
		char why[64];
		fmt_snprintf(why, sizeof(why), "hlt with interrupts disabled at rip 0x%lx", exit->rip);
		vm_suspend(v->vm, VM_SUSPEND_HALT, why);
		return;
	}
	vcpu_halt_until_event(v);
}

static void vcpu_xsetbv(struct vcpu *v, struct vm_exit *exit)
{
	uint64_t xcr0 = (v->gpr[VM_REG_RDX] << 32) | (uint32_t)v->gpr[VM_REG_RAX];
	struct cpuid_regs leaf_d = cpuid(0xd, 0);
	uint64_t supported = ((uint64_t)leaf_d.edx << 32) | leaf_d.eax;

	/* SDM vol. 1 13.3: XCR0 only, x87 always on, AVX needs SSE, no unsupported bits. */
	if ((uint32_t)v->gpr[VM_REG_RCX] != 0 || !(xcr0 & XCR0_X87) || ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE)) ||
	    (xcr0 & ~supported)) {
		vcpu_inject_exception(v, IDT_GP, true, 0);
		exit->inst_length = 0;
		return;
	}
	__asm__ volatile("xsetbv" ::"c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
}

static void vm_fail(struct vcpu *v, struct vm_exit *exit)
{
	char why[320];

	fmt_snprintf(why, sizeof(why), "%s (reason 0x%lx, qualification 0x%lx, info 0x%lx) at rip 0x%lx",
		     exit->u.fail.what, exit->u.fail.reason, exit->u.fail.qualification, exit->u.fail.info, exit->rip);
	vm_suspend(v->vm, VM_SUSPEND_ERROR, why);
}

void vmm_handle_exit_slow(struct vcpu *v, struct vm_exit *exit)
{
	char why[96];

	switch (exit->code) {
	case VM_EXITCODE_NONE:
	case VM_EXITCODE_EXTINT:
	case VM_EXITCODE_INTR_WINDOW:
	case VM_EXITCODE_PAUSE:
	case VM_EXITCODE_MTRAP:
	case VM_EXITCODE_INVD:
		return;
	case VM_EXITCODE_CPUID:
		vcpuid_emulate(v);
		return;
	case VM_EXITCODE_INOUT:
		ioport_exit(v, exit);
		return;
	case VM_EXITCODE_RDMSR:
		vmsr_rdmsr(v, exit);
		return;
	case VM_EXITCODE_WRMSR:
		vmsr_wrmsr(v, exit);
		return;
	case VM_EXITCODE_HLT:
		vcpu_halt(v, exit);
		return;
	case VM_EXITCODE_PAGING:
	case VM_EXITCODE_INST_EMUL:
		if (v->exc_pending) {
			/* The guest's IDT, GDT or stack lies on device memory: the access was the event
			 * delivery's, not an instruction's, and there is nothing to emulate. */
			fmt_snprintf(why, sizeof(why), "event delivery touched device memory at 0x%lx", exit->u.paging.gpa);
			vm_suspend(v->vm, VM_SUSPEND_ERROR, why);
			return;
		}
		mmio_exit(v, exit);
		return;
	case VM_EXITCODE_XSETBV:
		vcpu_xsetbv(v, exit);
		return;
	case VM_EXITCODE_VMINSN:
	case VM_EXITCODE_MONITOR:
	case VM_EXITCODE_MWAIT:
		inject_ud(v, exit); /* CPUID hides VMX, SVM and MONITOR: the instructions do not exist */
		return;
	case VM_EXITCODE_TRIPLE_FAULT:
		fmt_snprintf(why, sizeof(why), "vcpu %u at rip 0x%lx", v->id, exit->rip);
		vm_suspend(v->vm, VM_SUSPEND_TRIPLEFAULT, why);
		return;
	case VM_EXITCODE_TASK_SWITCH:
		vm_suspend(v->vm, VM_SUSPEND_ERROR, "hardware task switch (not supported)");
		return;
	case VM_EXITCODE_INIT:
		vm_suspend(v->vm, VM_SUSPEND_RESET, "INIT signal");
		return;
	case VM_EXITCODE_ENTRY_FAILED:
	case VM_EXITCODE_BOGUS:
		vm_fail(v, exit);
		return;
	default:
		fmt_snprintf(why, sizeof(why), "unexpected exit code %u", exit->code);
		vm_suspend(v->vm, VM_SUSPEND_ERROR, why);
		return;
	}
}
