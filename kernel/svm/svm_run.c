/* Entering the guest and turning each #VMEXIT into a backend-neutral struct vm_exit. */
#include <hv/console.h>
#include <hv/gpt.h>
#include <hv/x86.h>

#include "svm.h"

#define IDT_OF 4
#define ATTRIB_L (1u << 9)
#define ATTRIB_DB (1u << 10)
#define SEG_NUM_DS (VM_REG_DS - VM_REG_ES)
#define MAX_INSN_LENGTH 15

/* VM_INTINFO types that SVM lacks (VMX: privileged software exception, software exception). */
#define INTINFO_TYPE_PRIV_SOFT_EXC 5u
#define INTINFO_TYPE_SOFT_EXC 6u

/* Bytes of the instructions that exit, for CPUs without next-RIP saving (QEMU TCG). */
#define LEN_CPUID 2
#define LEN_HLT 1
#define LEN_MSR 2
#define LEN_PAUSE 2
#define LEN_INVD 2
#define LEN_0F01 3 /* XSETBV, MONITOR, MWAIT, VMRUN, VMMCALL, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA */

static void svm_open_intr_window(struct vmcb *vmcb)
{
	vmcb->control.v_intr |= V_IRQ | V_IGN_TPR | (0xfull << V_INTR_PRIO_SHIFT);
	vmcb->control.intercept_misc1 |= INTERCEPT_VINTR;
}

static void svm_close_intr_window(struct vmcb *vmcb)
{
	vmcb->control.v_intr &= ~(V_IRQ | V_IGN_TPR | (0xfull << V_INTR_PRIO_SHIFT));
	vmcb->control.intercept_misc1 &= ~INTERCEPT_VINTR;
}

/*
 * NMI window. SVM (without vNMI) neither shows NMI blocking nor exits when it ends, so hv tracks
 * it: an injected NMI blocks NMIs until the guest's IRET, which is intercepted. The IRET exit comes
 * before the IRET executes; the window opens once the guest has moved past it (RIP changed). To
 * get an exit right after the IRET, hv opens the interrupt window under an interrupt shadow: the
 * VINTR exit follows the IRET at once when the guest's IF is set then, else when it sets IF.
 */
bool svm_nmi_blocked(struct svm_vcpu *sv)
{
	const struct vmcb *vmcb = sv->vmcb;

	if (sv->nmi_blocked && !(vmcb->control.intercept_misc1 & INTERCEPT_IRET) && vmcb->save.rip != sv->nmi_iret_rip)
		sv->nmi_blocked = false;
	return sv->nmi_blocked;
}

/* Exit right after the IRET the guest exited on (see above). */
static void svm_exit_after_iret(struct vmcb *vmcb)
{
	vmcb->control.interrupt_shadow |= VMCB_INTERRUPT_SHADOW;
	svm_open_intr_window(vmcb);
}

void svm_request_intr_window(void *vcpui, bool nmi)
{
	struct svm_vcpu *sv = vcpui;

	if (!nmi) {
		svm_open_intr_window(sv->vmcb);
		return;
	}
	/* Open now: the next run exits at once. Blocked: the IRET exit or the one after it. */
	sv->pending |= SVM_PENDING_NMI_WINDOW;
	if (svm_nmi_blocked(sv) && !(sv->vmcb->control.intercept_misc1 & INTERCEPT_IRET))
		svm_exit_after_iret(sv->vmcb);
}

/* The slow part of entering, when sv->pending says there is work; true: do not enter, *exit says why. */
static __attribute__((noinline)) bool svm_prepare(struct svm_vcpu *sv, struct vm_exit *exit)
{
	struct vmcb *vmcb = sv->vmcb;

	if ((sv->pending & SVM_PENDING_NMI_WINDOW) && !svm_nmi_blocked(sv) && !sv->vcpu->exc_pending) {
		sv->pending &= ~SVM_PENDING_NMI_WINDOW;
		exit->code = VM_EXITCODE_INTR_WINDOW; /* the NMI window is open */
		exit->rip = vmcb->save.rip;
		exit->inst_length = 0;
		return true;
	}
	/* What the last run used: injected (or, on VMEXIT_INVALID, refused) by now. */
	vmcb->control.eventinj = 0;
	vmcb->control.tlb_control = TLB_CONTROL_DO_NOTHING;
	if (sv->pending & SVM_PENDING_FLUSH)
		vmcb->control.tlb_control = svm_caps.flush_by_asid ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
	if (sv->pending & SVM_PENDING_CHECK)
		sv->state_problem = svm_check_state(sv);
	/* A flush is undone before the next run; a shared ASID flushes on every run. */
	sv->pending &= SVM_PENDING_NMI_WINDOW;
	sv->pending |= vmcb->control.tlb_control ? SVM_PENDING_RESET : 0;
	sv->pending |= sv->always_flush ? SVM_PENDING_FLUSH : 0;
	return false;
}

/* The core's pending event (VM_INTINFO_*) into EVENTINJ. SVM has no instruction-length field:
 * for a software interrupt or exception the return address is next RIP (NRIPS) or RIP itself. */
static __attribute__((noinline)) void svm_inject_pending(struct svm_vcpu *sv)
{
	struct vcpu *v = sv->vcpu;
	struct vmcb *vmcb = sv->vmcb;
	uint32_t info = v->exc_pending;
	uint32_t type = EVENT_TYPE(info);
	uint64_t event;

	if (type == INTINFO_TYPE_PRIV_SOFT_EXC || type == INTINFO_TYPE_SOFT_EXC || type == EVENT_TYPE_SOFT_INT) {
		uint64_t next = vmcb->save.rip + v->exc_inst_length;
		if (svm_caps.nrips)
			vmcb->control.nrip = next;
		else
			vmcb->save.rip = next;
		if (type != EVENT_TYPE_SOFT_INT)
			type = EVENT_TYPE_EXCEPTION;
	}
	if (type == EVENT_TYPE_NMI) {
		sv->nmi_blocked = true;
		vmcb->control.intercept_misc1 |= INTERCEPT_IRET;
	}
	event = (info & (EVENT_V | EVENT_EV | 0xffu)) | (type << 8);
	if (info & EVENT_EV)
		event |= (uint64_t)v->exc_errcode << 32;
	vmcb->control.eventinj = event;
	sv->pending |= SVM_PENDING_RESET; /* clear EVENTINJ before the run after this one */
	v->exc_pending = 0;
}

/* An exit in the middle of delivering an event (EXITINTINFO, APM vol. 2 15.7.2): the event is
 * delivered again on the next entry, unless the core turns it into something else. A software
 * interrupt, INT3 or INTO is not: RIP still points at the instruction, which runs again. */
static void svm_save_exitintinfo(struct vcpu *v, uint64_t info)
{
	uint32_t type = EVENT_TYPE(info);
	uint32_t vector = info & 0xff;

	if (type == EVENT_TYPE_SOFT_INT || (type == EVENT_TYPE_EXCEPTION && (vector == IDT_BP || vector == IDT_OF)))
		return;
	v->exc_pending = (uint32_t)info & (EVENT_V | EVENT_EV | VM_INTINFO_TYPE_MASK | 0xffu);
	v->exc_errcode = (uint32_t)(info >> 32);
}

static uint32_t svm_insn_length(const struct vmcb *vmcb, uint32_t known)
{
	return svm_caps.nrips ? (uint32_t)(vmcb->control.nrip - vmcb->save.rip) : known;
}

static void svm_instruction_exit(const struct vmcb *vmcb, struct vm_exit *exit, enum vm_exitcode code, uint32_t len)
{
	exit->code = code;
	exit->inst_length = svm_insn_length(vmcb, len);
}

static bool svm_code64(const struct vmcb_save *s) { return (s->efer & EFER_LMA) && (s->cs.attrib & ATTRIB_L); }

/* Byte i of the guest instruction at CS:RIP. The CPU has just fetched it, so this does not fault
 * in practice; if it does, the fault is pending for the guest and the result is false. */
static bool svm_insn_byte(struct svm_vcpu *sv, int i, uint8_t *b)
{
	const struct vmcb_save *s = &sv->vmcb->save;
	uint64_t gla = svm_code64(s) ? s->rip + (uint64_t)i : (s->cs.base + s->rip + (uint64_t)i) & 0xffffffffull;

	return vcpu_copy_from_guest(sv->vcpu, gla, b, 1, GPT_FETCH);
}

struct insn_prefixes {
	uint8_t seg; /* segment override, VM_REG_ES-based; DS without one */
	bool addr_override;
	uint8_t rex;
	int opcode_at; /* index of the first opcode byte */
	uint8_t opcode;
};

static bool svm_insn_prefixes(struct svm_vcpu *sv, struct insn_prefixes *p)
{
	bool code64 = svm_code64(&sv->vmcb->save);

	*p = (struct insn_prefixes){ SEG_NUM_DS, false, 0, 0, 0 };
	for (int i = 0; i < MAX_INSN_LENGTH; i++) {
		uint8_t b;
		if (!svm_insn_byte(sv, i, &b))
			return false;
		if (code64 && (b & 0xf0) == 0x40) {
			p->rex = b; /* counts only right before the opcode */
			continue;
		}
		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e)
			p->seg = (uint8_t)((b >> 3) & 3); /* ES, CS, SS, DS */
		else if (b == 0x64 || b == 0x65)
			p->seg = (uint8_t)(b - 0x60); /* FS, GS */
		else if (b == 0x67)
			p->addr_override = true;
		else if (b != 0x66 && b != 0xf0 && b != 0xf2 && b != 0xf3) {
			p->opcode_at = i;
			p->opcode = b;
			return true;
		}
		p->rex = 0;
	}
	return false;
}

/* String I/O: the address size and (OUTS) segment. EXITINFO1 has the address size on hardware and
 * the segment with decode assists; QEMU TCG gives neither, so read the instruction's prefixes. */
static __attribute__((noinline)) bool svm_string_io_operands(struct svm_vcpu *sv, uint64_t info, struct vm_exit *exit)
{
	const struct vmcb_save *s = &sv->vmcb->save;
	uint8_t addr_size = info & IOIO_A64 ? 8 : info & IOIO_A32 ? 4 : info & IOIO_A16 ? 2 : 0;
	uint8_t seg = (uint8_t)IOIO_SEG(info);

	if (!addr_size || !svm_caps.decode_assists) {
		struct insn_prefixes p;
		bool code64 = svm_code64(s), code32 = !code64 && (s->cs.attrib & ATTRIB_DB);
		if (!svm_insn_prefixes(sv, &p))
			return false;
		seg = p.seg;
		if (!addr_size && code64)
			addr_size = p.addr_override ? 4 : 8;
		else if (!addr_size)
			addr_size = code32 != p.addr_override ? 4 : 2; /* 0x67 toggles 16 and 32 bits */
	}
	exit->u.inout.addr_size = addr_size;
	exit->u.inout.seg = exit->u.inout.in ? (uint8_t)(VM_REG_ES - VM_REG_ES) : seg;
	return true;
}

static void svm_decode_io(struct svm_vcpu *sv, struct vm_exit *exit)
{
	const struct vmcb *vmcb = sv->vmcb;
	uint64_t info = vmcb->control.exitinfo1;

	exit->code = VM_EXITCODE_INOUT;
	exit->inst_length = (uint32_t)(vmcb->control.exitinfo2 - vmcb->save.rip); /* EXITINFO2: next RIP */
	exit->u.inout.port = (uint16_t)IOIO_PORT(info);
	exit->u.inout.bytes = info & IOIO_SZ32 ? 4 : info & IOIO_SZ16 ? 2 : 1;
	exit->u.inout.in = (info & IOIO_TYPE_IN) != 0;
	exit->u.inout.string = (info & IOIO_STR) != 0;
	exit->u.inout.rep = (info & IOIO_REP) != 0;
	if (exit->u.inout.string && !svm_string_io_operands(sv, info, exit)) {
		exit->code = VM_EXITCODE_NONE; /* the fetch faulted: the guest takes that exception */
		exit->inst_length = 0;
	}
}

static void svm_decode_npf(const struct vmcb *vmcb, struct vm_exit *exit)
{
	uint64_t info = vmcb->control.exitinfo1;

	exit->code = VM_EXITCODE_PAGING;
	exit->u.paging.gpa = vmcb->control.exitinfo2;
	exit->u.paging.write = (info & NPF_RW) != 0;
	exit->u.paging.fetch = (info & NPF_ID) != 0;
	exit->u.paging.final = (info & NPF_FINAL) != 0;
	exit->u.paging.gla_valid = false; /* SVM does not report the linear address */
	exit->u.paging.gla = 0;
}

static void svm_fail(const struct vmcb *vmcb, struct vm_exit *exit, enum vm_exitcode code, const char *what)
{
	exit->code = code;
	exit->u.fail.reason = vmcb->control.exitcode;
	exit->u.fail.qualification = vmcb->control.exitinfo1;
	exit->u.fail.info = vmcb->control.exitinfo2;
	exit->u.fail.what = what;
}

/* VMEXIT_INVALID carries no detail: name the field from what hv put in the VMCB. */
static const char *svm_invalid_reason(const struct svm_vcpu *sv)
{
	const struct vmcb_control *c = &sv->vmcb->control;
	/* QEMU moves an event it did not inject to EXITINTINFO; hardware leaves it in EVENTINJ. */
	uint64_t event = c->eventinj & EVENT_V ? c->eventinj : c->exitintinfo;

	if (sv->state_problem)
		return sv->state_problem;
	if (event & EVENT_V) {
		uint32_t type = EVENT_TYPE(event);
		if (type != EVENT_TYPE_INTR && type != EVENT_TYPE_NMI && type != EVENT_TYPE_EXCEPTION &&
		    type != EVENT_TYPE_SOFT_INT)
			return "EVENTINJ has a reserved event type";
		if (type == EVENT_TYPE_EXCEPTION && ((event & 0xff) == IDT_NMI || (event & 0xff) > 31))
			return "EVENTINJ injects exception vector 2 or above 31";
	}
	return "VMRUN refused the VMCB (VMEXIT_INVALID) for a reason hv does not check";
}

/* QEMU 7.2 TCG turns a guest's MOV to CR3/CR4 with reserved bits into VMEXIT_INVALID (its
 * helper_write_crN calls cpu_vmexit(SVM_EXIT_ERR)) where hardware raises #GP in the guest. The
 * guest state is intact then: recognise the instruction and its operand, and raise the #GP. */
static bool svm_qemu_reserved_cr_write(struct svm_vcpu *sv)
{
	const struct vmcb_save *s = &sv->vmcb->save;
	struct insn_prefixes p;
	uint8_t op, modrm;

	if (sv->state_problem || !svm_insn_prefixes(sv, &p) || p.opcode != 0x0f ||
	    !svm_insn_byte(sv, p.opcode_at + 1, &op) || op != 0x22 || !svm_insn_byte(sv, p.opcode_at + 2, &modrm))
		return false;
	unsigned cr = (modrm >> 3) & 7;
	unsigned reg = (modrm & 7) | (p.rex & 1 ? 8 : 0);
	uint64_t value = reg == VM_REG_RSP ? s->rsp : sv->vcpu->gpr[reg];
	if (!svm_code64(s))
		value = (uint32_t)value;
	if (cr == 4)
		return (value & ~svm_caps.cr4_valid) != 0;
	if (cr == 3)
		return (s->efer & EFER_LMA) && (value & (~0ull << svm_caps.phys_bits));
	return false;
}

static void svm_invalid_exit(struct svm_vcpu *sv, struct vm_exit *exit)
{
	if (svm_qemu_reserved_cr_write(sv)) {
		vcpu_inject_exception(sv->vcpu, IDT_GP, true, 0);
		exit->code = VM_EXITCODE_NONE;
		return;
	}
	svm_fail(sv->vmcb, exit, VM_EXITCODE_ENTRY_FAILED, svm_invalid_reason(sv));
}

static void svm_iret_exit(struct svm_vcpu *sv, struct vm_exit *exit)
{
	struct vmcb *vmcb = sv->vmcb;

	vmcb->control.intercept_misc1 &= ~INTERCEPT_IRET;
	sv->nmi_iret_rip = vmcb->save.rip;
	if (sv->pending & SVM_PENDING_NMI_WINDOW)
		svm_exit_after_iret(vmcb);
	exit->code = VM_EXITCODE_NONE;
}

/* Exits that are an instruction's: nothing was being delivered (EXITINTINFO is clear). */
static bool svm_decode_instruction_exit(struct svm_vcpu *sv, uint32_t code, struct vm_exit *exit)
{
	struct vmcb *vmcb = sv->vmcb;

	switch (code) {
	case VMEXIT_MSR:
		svm_instruction_exit(vmcb, exit, vmcb->control.exitinfo1 ? VM_EXITCODE_WRMSR : VM_EXITCODE_RDMSR, LEN_MSR);
		exit->u.msr.msr = (uint32_t)sv->vcpu->gpr[VM_REG_RCX];
		return true;
	case VMEXIT_HLT:
		svm_instruction_exit(vmcb, exit, VM_EXITCODE_HLT, LEN_HLT);
		return true;
	case VMEXIT_PAUSE:
		svm_instruction_exit(vmcb, exit, VM_EXITCODE_PAUSE, LEN_PAUSE);
		return true;
	case VMEXIT_XSETBV:
		svm_instruction_exit(vmcb, exit, VM_EXITCODE_XSETBV, LEN_0F01);
		return true;
	case VMEXIT_INVD:
	case VMEXIT_WBINVD:
		svm_instruction_exit(vmcb, exit, VM_EXITCODE_INVD, LEN_INVD);
		return true;
	case VMEXIT_MONITOR:
		svm_instruction_exit(vmcb, exit, VM_EXITCODE_MONITOR, LEN_0F01);
		return true;
	case VMEXIT_MWAIT:
	case VMEXIT_MWAIT_CONDITIONAL:
		svm_instruction_exit(vmcb, exit, VM_EXITCODE_MWAIT, LEN_0F01);
		return true;
	case VMEXIT_VMRUN:
	case VMEXIT_VMMCALL:
	case VMEXIT_VMLOAD:
	case VMEXIT_VMSAVE:
	case VMEXIT_STGI:
	case VMEXIT_CLGI:
	case VMEXIT_SKINIT:
	case VMEXIT_INVLPGA:
		svm_instruction_exit(vmcb, exit, VM_EXITCODE_VMINSN, LEN_0F01);
		return true;
	case VMEXIT_IRET:
		svm_iret_exit(sv, exit);
		return true;
	default:
		return false;
	}
}

/* Every exit but CPUID and port I/O (svm_run decodes those itself). */
static __attribute__((noinline)) void svm_decode_exit(struct svm_vcpu *sv, uint32_t code, struct vm_exit *exit)
{
	struct vmcb *vmcb = sv->vmcb;

	exit->inst_length = 0;
	if (svm_decode_instruction_exit(sv, code, exit))
		return;
	if (vmcb->control.exitintinfo & EVENT_V)
		svm_save_exitintinfo(sv->vcpu, vmcb->control.exitintinfo);
	switch (code) {
	case VMEXIT_INTR:
	case VMEXIT_NMI:
		/* Held while GIF was clear; the host's IDT took it at STGI in svm_enter. */
		exit->code = VM_EXITCODE_EXTINT;
		return;
	case VMEXIT_VINTR:
		svm_close_intr_window(vmcb);
		exit->code = VM_EXITCODE_INTR_WINDOW;
		return;
	case VMEXIT_NPF:
		svm_decode_npf(vmcb, exit);
		return;
	case VMEXIT_SHUTDOWN:
		exit->code = VM_EXITCODE_TRIPLE_FAULT;
		return;
	case VMEXIT_INIT:
		exit->code = VM_EXITCODE_INIT;
		return;
	case VMEXIT_TASK_SWITCH:
		exit->code = VM_EXITCODE_TASK_SWITCH;
		return;
	case VMEXIT_INVALID:
		svm_invalid_exit(sv, exit);
		return;
	default:
		svm_fail(vmcb, exit, VM_EXITCODE_BOGUS, "unhandled SVM exit code");
		return;
	}
}

void svm_run(void *vcpui, struct vm_exit *exit)
{
	struct svm_vcpu *sv = vcpui;

	if (exit->inst_length) {
		struct vmcb *vmcb = sv->vmcb;
		vmcb->save.rip = exit->rip + exit->inst_length;
		vmcb->control.interrupt_shadow &= ~VMCB_INTERRUPT_SHADOW; /* the instruction completed */
	}
	if (sv->pending && svm_prepare(sv, exit))
		return;
	if (sv->vcpu->exc_pending)
		svm_inject_pending(sv);
	struct vcpu *v = sv->vcpu;
	sv->vmcb->save.rax = v->gpr[VM_REG_RAX];
	svm_enter(v->gpr, sv->vmcb_pa, sv->host_vmcb_pa);

	/* Only sv and exit live across the world switch: everything else is reloaded (cheaper than
	 * keeping it in callee-saved registers). */
	struct vmcb *vmcb = sv->vmcb;
	/* QEMU stores 32-bit exit codes (VMEXIT_INVALID as 0xffffffff); hardware's fit in 32 bits too. */
	uint32_t code = (uint32_t)vmcb->control.exitcode;

	sv->vcpu->gpr[VM_REG_RAX] = vmcb->save.rax;
	exit->rip = vmcb->save.rip;
	if (code == VMEXIT_CPUID) {
		exit->code = VM_EXITCODE_CPUID;
		exit->inst_length = svm_insn_length(vmcb, LEN_CPUID);
	} else if (code == VMEXIT_IOIO) {
		svm_decode_io(sv, exit);
	} else {
		svm_decode_exit(sv, code, exit);
	}
}
