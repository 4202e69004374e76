/* Entering the guest and turning each VM exit into a backend-neutral struct vm_exit. */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/string.h>
#include <hv/x86.h>

#include "vmcs.h"
#include "vmx.h"

/* Exit qualification for control-register accesses (SDM vol. 3 table 27-3). */
#define CR_QUAL_NUMBER(q) ((q) & 0xf)
#define CR_QUAL_TYPE(q) (((q) >> 4) & 3)
#define CR_QUAL_GPR(q) (((q) >> 8) & 0xf)
#define CR_QUAL_LMSW_DATA(q) (((q) >> 16) & 0xffff)
#define CR_ACCESS_MOV_TO 0
#define CR_ACCESS_LMSW 3

/* Exit qualification for I/O instructions (table 27-5) and VM-exit instruction info (27.2.5). */
#define IO_QUAL_SIZE(q) (((q) & 7) + 1)
#define IO_QUAL_IN (1u << 3)
#define IO_QUAL_STRING (1u << 4)
#define IO_QUAL_REP (1u << 5)
#define IO_QUAL_PORT(q) (((q) >> 16) & 0xffff)
#define INST_INFO_ADDR_SIZE(i) (((i) >> 7) & 7)
#define INST_INFO_SEG(i) (((i) >> 15) & 7)

/* EPT violation qualification (table 27-7). */
#define EPT_QUAL_WRITE (1u << 1)
#define EPT_QUAL_FETCH (1u << 2)
#define EPT_QUAL_GLA_VALID (1u << 7)
#define EPT_QUAL_GLA_TRANSLATED (1u << 8) /* with GLA_VALID: the access itself, not a guest table's */

#define INTR_INFO_TYPE(i) (((i) >> 8) & 7)
#define INTR_TYPE_NMI 2
#define INTR_TYPE_SOFT_INTR 4
#define INTR_TYPE_PRIV_SOFT_EXC 5
#define INTR_TYPE_SOFT_EXC 6

#define CR4_RESERVED_FOR_GUEST CR4_VMXE

static bool soft_event(uint32_t info)
{
	uint32_t type = INTR_INFO_TYPE(info);

	return type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_PRIV_SOFT_EXC || type == INTR_TYPE_SOFT_EXC;
}

static void vmx_inject_pending(struct vcpu *v)
{
	vmwrite(VMCS_ENTRY_INTR_INFO, v->exc_pending);
	if (v->exc_pending & VM_INTINFO_DEL_ERRCODE)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, v->exc_errcode);
	if (soft_event(v->exc_pending))
		vmwrite(VMCS_ENTRY_INST_LENGTH, v->exc_inst_length);
	v->exc_pending = 0;
}

/* An exit in the middle of delivering an event (IDT vectoring, SDM vol. 3 27.2.4): the event
 * must be delivered again on the next entry, unless the core turns it into something else. */
static void vmx_save_vectoring(struct vcpu *v)
{
	uint32_t info = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);

	if (!(info & VM_INTINFO_VALID))
		return;
	v->exc_pending = info & ~0x1000u; /* bit 12 is undefined here */
	if (info & VM_INTINFO_DEL_ERRCODE)
		v->exc_errcode = (uint32_t)vmread(VMCS_IDT_VECTORING_ERROR);
	if (soft_event(info))
		v->exc_inst_length = (uint32_t)vmread(VMCS_EXIT_INST_LENGTH);
}

static uint64_t *gpr_ref(struct vmx_vcpu *vv, unsigned n, uint64_t *rsp_copy)
{
	if (n != VM_REG_RSP)
		return &vv->vcpu->gpr[n];
	*rsp_copy = vmread(VMCS_GUEST_RSP);
	return rsp_copy;
}

static bool cr0_write_faults(struct vmx_vcpu *vv, uint64_t cr0)
{
	uint64_t efer = vmread(VMCS_GUEST_IA32_EFER);

	/* SDM vol. 3 2.5 and MOV CR: reserved bits, PG without PE, NW without CD, long-mode paging
	 * without PAE. */
	return (cr0 >> 32) || ((cr0 & CR0_PG) && !(cr0 & CR0_PE)) || ((cr0 & CR0_NW) && !(cr0 & CR0_CD)) ||
	       ((cr0 & CR0_PG) && !(vv->cr0_shadow & CR0_PG) && (efer & EFER_LME) && !(vmx_guest_cr4(vv) & CR4_PAE));
}

static bool cr4_write_faults(uint64_t cr4)
{
	uint64_t allowed = vmx_caps.cr4_fixed1 & ~(uint64_t)CR4_RESERVED_FOR_GUEST;

	return (cr4 & ~allowed) || ((vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA) && !(cr4 & CR4_PAE));
}

/* Only the CR0/CR4 bits hv owns exit; complete the write or fault as the CPU would. */
static bool vmx_cr_access(struct vmx_vcpu *vv, struct vm_exit *exit)
{
	uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
	unsigned cr = CR_QUAL_NUMBER(q);
	uint64_t rsp, value;

	if (CR_QUAL_TYPE(q) == CR_ACCESS_LMSW) {
		/* LMSW loads PE, MP, EM, TS and cannot clear PE. */
		value = (vmx_guest_cr0(vv) & ~0xeull) | (CR_QUAL_LMSW_DATA(q) & 0xf);
	} else if (CR_QUAL_TYPE(q) == CR_ACCESS_MOV_TO && (cr == 0 || cr == 4)) {
		value = *gpr_ref(vv, CR_QUAL_GPR(q), &rsp);
	} else {
		return false;
	}
	if (cr == 4 ? cr4_write_faults(value) : cr0_write_faults(vv, value)) {
		vcpu_inject_exception(vv->vcpu, IDT_GP, true, 0);
		return true;
	}
	if (cr == 4)
		vmx_write_cr4(vv, value);
	else
		vmx_write_cr0(vv, value);
	exit->inst_length = (uint32_t)vmread(VMCS_EXIT_INST_LENGTH);
	return true;
}

static void vmx_decode_io(struct vm_exit *exit)
{
	uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);

	exit->code = VM_EXITCODE_INOUT;
	exit->u.inout.port = (uint16_t)IO_QUAL_PORT(q);
	exit->u.inout.bytes = (uint8_t)IO_QUAL_SIZE(q);
	exit->u.inout.in = (q & IO_QUAL_IN) != 0;
	exit->u.inout.string = (q & IO_QUAL_STRING) != 0;
	exit->u.inout.rep = (q & IO_QUAL_REP) != 0;
	if (exit->u.inout.string) {
		uint32_t info = (uint32_t)vmread(VMCS_EXIT_INST_INFO);
		exit->u.inout.addr_size = (uint8_t)(2u << INST_INFO_ADDR_SIZE(info));
		exit->u.inout.seg = exit->u.inout.in ? (uint8_t)(VM_REG_ES - VM_REG_ES) : (uint8_t)INST_INFO_SEG(info);
	}
}

static void vmx_decode_ept_violation(struct vcpu *v, struct vm_exit *exit)
{
	uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);

	vmx_save_vectoring(v);
	exit->code = VM_EXITCODE_PAGING;
	exit->u.paging.gpa = vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
	exit->u.paging.write = (q & EPT_QUAL_WRITE) != 0;
	exit->u.paging.fetch = (q & EPT_QUAL_FETCH) != 0;
	exit->u.paging.gla_valid = (q & EPT_QUAL_GLA_VALID) != 0;
	exit->u.paging.final = exit->u.paging.gla_valid && (q & EPT_QUAL_GLA_TRANSLATED);
	exit->u.paging.gla = exit->u.paging.gla_valid ? vmread(VMCS_GUEST_LINEAR_ADDRESS) : 0;
}

static void vmx_fail(struct vm_exit *exit, enum vm_exitcode code, uint64_t reason, const char *what)
{
	exit->code = code;
	exit->u.fail.reason = reason;
	exit->u.fail.qualification = vmread(VMCS_EXIT_QUALIFICATION);
	exit->u.fail.info = vmread(VMCS_INSTRUCTION_ERROR);
	exit->u.fail.what = what;
}

static void vmx_host_nmi_or_exception(struct vcpu *v, struct vm_exit *exit)
{
	uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);

	if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
		vmx_save_vectoring(v);
		__asm__ volatile("int $2"); /* the host's NMI: a kick, or a panic stopping this CPU */
		exit->code = VM_EXITCODE_EXTINT;
		return;
	}
	vmx_fail(exit, VM_EXITCODE_BOGUS, EXIT_REASON_EXCEPTION_NMI, "unexpected guest exception exit");
}

static void vmx_instruction_exit(struct vm_exit *exit, enum vm_exitcode code)
{
	exit->code = code;
	exit->inst_length = (uint32_t)vmread(VMCS_EXIT_INST_LENGTH);
}

static void vmx_decode_exit(struct vmx_vcpu *vv, uint32_t reason, struct vm_exit *exit)
{
	struct vcpu *v = vv->vcpu;

	switch (reason) {
	case EXIT_REASON_CPUID:
		vmx_instruction_exit(exit, VM_EXITCODE_CPUID);
		return;
	case EXIT_REASON_IO:
		vmx_instruction_exit(exit, VM_EXITCODE_INOUT);
		vmx_decode_io(exit);
		return;
	case EXIT_REASON_RDMSR:
	case EXIT_REASON_WRMSR:
		vmx_instruction_exit(exit, reason == EXIT_REASON_RDMSR ? VM_EXITCODE_RDMSR : VM_EXITCODE_WRMSR);
		exit->u.msr.msr = (uint32_t)v->gpr[VM_REG_RCX];
		return;
	case EXIT_REASON_HLT:
		vmx_instruction_exit(exit, VM_EXITCODE_HLT);
		return;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		/* It may have arrived while an event was being delivered to the guest: deliver that
		 * again. Not acknowledged on exit: opening the window lets the host IDT take it. */
		vmx_save_vectoring(v);
		__asm__ volatile("sti; nop; cli" ::: "memory");
		exit->code = VM_EXITCODE_EXTINT;
		return;
	case EXIT_REASON_EXCEPTION_NMI:
		vmx_host_nmi_or_exception(v, exit);
		return;
	case EXIT_REASON_CR_ACCESS:
		exit->code = VM_EXITCODE_NONE;
		if (!vmx_cr_access(vv, exit))
			vmx_fail(exit, VM_EXITCODE_BOGUS, reason, "unexpected control-register access exit");
		return;
	case EXIT_REASON_EPT_VIOLATION:
		vmx_save_vectoring(v); /* the core refuses to emulate an event's delivery */
		vmx_decode_ept_violation(v, exit);
		return;
	case EXIT_REASON_TRIPLE_FAULT:
		exit->code = VM_EXITCODE_TRIPLE_FAULT;
		return;
	case EXIT_REASON_INIT:
		exit->code = VM_EXITCODE_INIT;
		return;
	case EXIT_REASON_INTERRUPT_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
		vmwrite(VMCS_PROC_BASED_CTLS,
			vmread(VMCS_PROC_BASED_CTLS) & ~(uint64_t)(PROC_INTERRUPT_WINDOW_EXITING | PROC_NMI_WINDOW_EXITING));
		exit->code = VM_EXITCODE_INTR_WINDOW;
		return;
	case EXIT_REASON_PAUSE:
		vmx_instruction_exit(exit, VM_EXITCODE_PAUSE);
		return;
	case EXIT_REASON_MTF:
		exit->code = VM_EXITCODE_MTRAP;
		return;
	case EXIT_REASON_XSETBV:
		vmx_instruction_exit(exit, VM_EXITCODE_XSETBV);
		return;
	case EXIT_REASON_INVD:
	case EXIT_REASON_WBINVD:
		vmx_instruction_exit(exit, VM_EXITCODE_INVD);
		return;
	case EXIT_REASON_MONITOR:
		vmx_instruction_exit(exit, VM_EXITCODE_MONITOR);
		return;
	case EXIT_REASON_MWAIT:
		vmx_instruction_exit(exit, VM_EXITCODE_MWAIT);
		return;
	case EXIT_REASON_TASK_SWITCH:
		vmx_save_vectoring(v);
		exit->code = VM_EXITCODE_TASK_SWITCH;
		return;
	case EXIT_REASON_GETSEC:
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
		exit->code = VM_EXITCODE_VMINSN;
		return;
	case EXIT_REASON_EPT_MISCONFIG:
		vmx_fail(exit, VM_EXITCODE_BOGUS, reason, "EPT misconfiguration");
		return;
	default:
		vmx_fail(exit, VM_EXITCODE_BOGUS, reason, "unhandled VM exit reason");
		return;
	}
}

void vmx_run(void *vcpui, struct vm_exit *exit)
{
	struct vmx_vcpu *vv = vcpui;
	struct vcpu *v = vv->vcpu;

	if (exit->inst_length)
		vmwrite(VMCS_GUEST_RIP, exit->rip + exit->inst_length);
	if (v->exc_pending)
		vmx_inject_pending(v);
	if (vmx_enter(v->gpr, vv->launched)) {
		vmx_fail(exit, VM_EXITCODE_ENTRY_FAILED, 0, vmx_explain_vmfail(vv));
		exit->inst_length = 0;
		return;
	}
	vv->launched = true;
	uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
	exit->rip = vmread(VMCS_GUEST_RIP);
	if (reason == EXIT_REASON_CPUID) {
		exit->code = VM_EXITCODE_CPUID;
		exit->inst_length = (uint32_t)vmread(VMCS_EXIT_INST_LENGTH);
		return;
	}
	exit->inst_length = 0;
	if (reason & EXIT_REASON_ENTRY_FAILED) {
		vmx_fail(exit, VM_EXITCODE_ENTRY_FAILED, reason & 0xffff, vmx_explain_entry_failure(vv, reason));
		return;
	}
	vmx_decode_exit(vv, reason & 0xffff, exit);
}
