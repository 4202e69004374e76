/* VMCB set-up and guest register access. */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/string.h>
#include <hv/x86.h>

#include "svm.h"

#define RFLAGS_FIXED 0x2ull
#define DR6_INIT 0xffff0ff0ull
#define DR7_INIT 0x400ull
#define PAT_POWER_ON 0x0007040600070406ull
/* EFER bits an AMD64 CPU defines: SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE. */
#define EFER_DEFINED 0xfd01ull
#define ATTRIB_L (1u << 9)
#define ATTRIB_DB (1u << 10)

static uint32_t next_asid = 1;

static void vmcb_controls(struct svm_vcpu *sv)
{
	struct vmcb_control *c = &sv->vmcb->control;
	uint32_t asid = __atomic_fetch_add(&next_asid, 1, __ATOMIC_RELAXED);

	/* Physical interrupts and NMIs exit to the host; V_INTR_MASKING keeps the guest's IF from
	 * masking them. HLT exits by default (VM_CAP_HALT_EXIT), PAUSE does not (VM_CAP_PAUSE_EXIT). */
	c->intercept_misc1 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_INIT | INTERCEPT_CPUID | INTERCEPT_INVD |
			     INTERCEPT_HLT | INTERCEPT_INVLPGA | INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT |
			     INTERCEPT_TASK_SWITCH | INTERCEPT_SHUTDOWN;
	c->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD | INTERCEPT2_VMSAVE |
			     INTERCEPT2_STGI | INTERCEPT2_CLGI | INTERCEPT2_SKINIT | INTERCEPT2_MONITOR |
			     INTERCEPT2_MWAIT | INTERCEPT2_XSETBV;
	c->iopm_base_pa = sv->vm->iopm;
	c->msrpm_base_pa = sv->vm->msrpm;
	c->tsc_offset = 0;
	/* ASIDs tag TLB entries per CPU; each vcpu gets its own while they last. Past that a vcpu
	 * shares one and flushes it on every VMRUN. */
	if (asid >= svm_caps.asids) {
		sv->always_flush = true;
		asid = 1 + (asid - 1) % (svm_caps.asids - 1);
	}
	sv->asid = asid;
	c->guest_asid = asid;
	c->v_intr = V_INTR_MASKING;
	c->np_control = NP_ENABLE;
	c->n_cr3 = sv->vm->npt_root;
	c->vmcb_clean = 0; /* nothing cached: the CPU reloads every field */
}

/* Power-on state of a vcpu (APM vol. 2 14.1.3, SDM vol. 3 9.1.1), which the loaders then change. */
static void vmcb_guest_reset_state(struct svm_vcpu *sv)
{
	struct vmcb_save *s = &sv->vmcb->save;
	struct seg_desc code = { 0xffff0000ull, 0xffff, 0x9b, 0xf000 };
	struct seg_desc data = { 0, 0xffff, 0x93, 0 };
	struct seg_desc ldtr = { 0, 0xffff, 0x82, 0 };
	struct seg_desc tr = { 0, 0xffff, 0x8b, 0 };
	struct seg_desc table = { 0, 0xffff, 0, 0 };

	for (int r = VM_REG_ES; r <= VM_REG_GS; r++)
		svm_set_desc(sv, (enum vm_reg)r, r == VM_REG_CS ? &code : &data);
	svm_set_desc(sv, VM_REG_LDTR, &ldtr);
	svm_set_desc(sv, VM_REG_TR, &tr);
	svm_set_desc(sv, VM_REG_GDTR, &table);
	svm_set_desc(sv, VM_REG_IDTR, &table);
	s->rip = 0xfff0;
	s->rsp = 0;
	s->rflags = RFLAGS_FIXED;
	s->efer = EFER_SVME;
	s->g_pat = PAT_POWER_ON;
	s->dr6 = DR6_INIT;
	s->dr7 = DR7_INIT;
	s->cr2 = 0;
	s->cr3 = 0;
	s->cr4 = 0;
	s->cr0 = CR0_ET | CR0_CD | CR0_NW;
	sv->vmcb->control.interrupt_shadow = 0;
}

void *svm_vcpu_init(void *vmi, struct vcpu *vcpu)
{
	struct svm_vcpu *sv = mm_zalloc(sizeof(*sv));

	if (!sv)
		return NULL;
	sv->vcpu = vcpu;
	sv->vm = vmi;
	sv->host_vmcb_pa = svm_host_vmcb();
	sv->vmcb_pa = page_alloc_zeroed();
	if (!sv->vmcb_pa || !sv->host_vmcb_pa)
		return NULL;
	sv->vmcb = phys_to_virt(sv->vmcb_pa);
	vmcb_controls(sv);
	vmcb_guest_reset_state(sv);
	sv->pending = SVM_PENDING_FLUSH | SVM_PENDING_CHECK;
	return sv;
}

/* EFER.LMA follows LME and CR0.PG when hv writes them (the CPU updates it for the guest's own
 * writes); EFER.SVME is forced on in the VMCB and hidden from the guest. */
static void svm_update_efer(struct vmcb_save *s, uint64_t efer)
{
	efer |= EFER_SVME;
	s->efer = (efer & EFER_LME) && (s->cr0 & CR0_PG) ? efer | EFER_LMA : efer & ~EFER_LMA;
}

/* With NPT the CPU reads PAE PDPTEs from guest memory; report what it would load. QEMU TCG sets
 * the accessed bit (5) in the PDPTEs it walks, which the SDM and APM both reserve: hardware never
 * sets it, and QEMU's own walk ignores it, so it is dropped here rather than make hv's walker
 * see a reserved-bit fault that the CPU does not. */
#define PDPTE_QEMU_ACCESSED (1ull << 5)

static uint64_t guest_pdpte(struct svm_vcpu *sv, unsigned i)
{
	const struct vmcb_save *s = &sv->vmcb->save;

	if (!(s->cr0 & CR0_PG) || !(s->cr4 & CR4_PAE) || (s->efer & EFER_LMA))
		return 0;
	const uint64_t *pdpte = vm_gpa_to_hva(sv->vcpu->vm, s->cr3 & 0xffffffe0ull, 32);
	return pdpte ? pdpte[i] & ~PDPTE_QEMU_ACCESSED : 0;
}

/* DR0-DR3 are not part of the VMCB: the guest's values stay in the registers (hv never uses them). */
static uint64_t read_dr(unsigned n)
{
	uint64_t v = 0;

	switch (n) {
	case 0:
		__asm__ volatile("mov %%db0, %0" : "=r"(v));
		break;
	case 1:
		__asm__ volatile("mov %%db1, %0" : "=r"(v));
		break;
	case 2:
		__asm__ volatile("mov %%db2, %0" : "=r"(v));
		break;
	case 3:
		__asm__ volatile("mov %%db3, %0" : "=r"(v));
		break;
	}
	return v;
}

static void write_dr(unsigned n, uint64_t v)
{
	switch (n) {
	case 0:
		__asm__ volatile("mov %0, %%db0" ::"r"(v));
		break;
	case 1:
		__asm__ volatile("mov %0, %%db1" ::"r"(v));
		break;
	case 2:
		__asm__ volatile("mov %0, %%db2" ::"r"(v));
		break;
	case 3:
		__asm__ volatile("mov %0, %%db3" ::"r"(v));
		break;
	}
}

uint64_t svm_get_reg(void *vcpui, enum vm_reg reg)
{
	struct svm_vcpu *sv = vcpui;
	const struct vmcb_save *s = &sv->vmcb->save;

	if (reg < VM_GPR_COUNT && reg != VM_REG_RSP)
		return sv->vcpu->gpr[reg]; /* RAX too: svm_run keeps it in sync with the VMCB */
	switch (reg) {
	case VM_REG_RSP:
		return s->rsp;
	case VM_REG_RIP:
		return s->rip;
	case VM_REG_RFLAGS:
		return s->rflags;
	case VM_REG_CR0:
		return s->cr0;
	case VM_REG_CR2:
		return s->cr2;
	case VM_REG_CR3:
		return s->cr3;
	case VM_REG_CR4:
		return s->cr4;
	case VM_REG_DR0:
	case VM_REG_DR1:
	case VM_REG_DR2:
	case VM_REG_DR3:
		return read_dr(reg - VM_REG_DR0);
	case VM_REG_DR6:
		return s->dr6;
	case VM_REG_DR7:
		return s->dr7;
	case VM_REG_EFER:
		return s->efer & ~EFER_SVME;
	case VM_REG_PAT:
		return s->g_pat;
	case VM_REG_PDPTE0:
	case VM_REG_PDPTE1:
	case VM_REG_PDPTE2:
	case VM_REG_PDPTE3:
		return guest_pdpte(sv, reg - VM_REG_PDPTE0);
	case VM_REG_INTR_SHADOW:
		return sv->vmcb->control.interrupt_shadow & VMCB_INTERRUPT_SHADOW;
	case VM_REG_NMI_BLOCKED:
		return svm_nmi_blocked(sv);
	default:
		return 0;
	}
}

void svm_set_reg(void *vcpui, enum vm_reg reg, uint64_t value)
{
	struct svm_vcpu *sv = vcpui;
	struct vmcb_save *s = &sv->vmcb->save;

	if (reg < VM_GPR_COUNT && reg != VM_REG_RSP) {
		sv->vcpu->gpr[reg] = value;
		return;
	}
	switch (reg) {
	case VM_REG_RSP:
		s->rsp = value;
		return;
	case VM_REG_RIP:
		s->rip = value;
		return;
	case VM_REG_CR2:
		s->cr2 = value;
		return;
	case VM_REG_INTR_SHADOW:
		sv->vmcb->control.interrupt_shadow = (sv->vmcb->control.interrupt_shadow & ~VMCB_INTERRUPT_SHADOW) |
						     (value ? VMCB_INTERRUPT_SHADOW : 0);
		return;
	case VM_REG_RFLAGS:
		s->rflags = value | RFLAGS_FIXED;
		return;
	case VM_REG_DR0:
	case VM_REG_DR1:
	case VM_REG_DR2:
	case VM_REG_DR3:
		write_dr(reg - VM_REG_DR0, value);
		return;
	/* State VMRUN checks: re-checked before the next run (see svm_check_state). */
	case VM_REG_DR6:
		s->dr6 = value;
		break;
	case VM_REG_DR7:
		s->dr7 = value;
		break;
	case VM_REG_PAT:
		s->g_pat = value;
		break;
	/* Paging state: cached translations of this ASID may no longer hold. */
	case VM_REG_CR0:
		s->cr0 = value;
		svm_update_efer(s, s->efer);
		sv->pending |= SVM_PENDING_FLUSH;
		break;
	case VM_REG_CR3:
		s->cr3 = value;
		sv->pending |= SVM_PENDING_FLUSH;
		break;
	case VM_REG_CR4:
		s->cr4 = value;
		sv->pending |= SVM_PENDING_FLUSH;
		break;
	case VM_REG_EFER:
		svm_update_efer(s, value);
		sv->pending |= SVM_PENDING_FLUSH;
		break;
	default:
		return;
	}
	sv->pending |= SVM_PENDING_CHECK;
}

static struct vmcb_seg *vmcb_seg(struct vmcb *vmcb, enum vm_reg seg)
{
	switch (seg) {
	case VM_REG_ES:
		return &vmcb->save.es;
	case VM_REG_CS:
		return &vmcb->save.cs;
	case VM_REG_SS:
		return &vmcb->save.ss;
	case VM_REG_DS:
		return &vmcb->save.ds;
	case VM_REG_FS:
		return &vmcb->save.fs;
	case VM_REG_GS:
		return &vmcb->save.gs;
	case VM_REG_LDTR:
		return &vmcb->save.ldtr;
	case VM_REG_TR:
		return &vmcb->save.tr;
	case VM_REG_GDTR:
		return &vmcb->save.gdtr;
	case VM_REG_IDTR:
		return &vmcb->save.idtr;
	default:
		return NULL;
	}
}

/* VMX access rights (struct seg_desc) <-> VMCB attrib: the high nibble moves from bits 15:12 to
 * 11:8; a segment that is not present is what VMX calls unusable. */
static uint32_t access_from_attrib(uint16_t attrib)
{
	uint32_t access = (attrib & 0xffu) | ((attrib & 0xf00u) << 4);

	return attrib & VMCB_ATTRIB_P ? access : access | SEG_ACCESS_UNUSABLE;
}

static uint16_t attrib_from_access(uint32_t access)
{
	uint16_t attrib = (uint16_t)((access & 0xffu) | ((access >> 4) & 0xf00u));

	return access & SEG_ACCESS_UNUSABLE ? attrib & (uint16_t)~VMCB_ATTRIB_P : attrib;
}

void svm_get_desc(void *vcpui, enum vm_reg seg, struct seg_desc *d)
{
	struct svm_vcpu *sv = vcpui;
	const struct vmcb_seg *s = vmcb_seg(sv->vmcb, seg);

	if (!s) {
		*d = (struct seg_desc){ 0, 0, SEG_ACCESS_UNUSABLE, 0 };
		return;
	}
	d->base = s->base;
	d->limit = s->limit;
	if (seg == VM_REG_GDTR || seg == VM_REG_IDTR) {
		d->access = 0;
		d->selector = 0;
		return;
	}
	d->access = access_from_attrib(s->attrib);
	d->selector = s->selector;
}

void svm_set_desc(void *vcpui, enum vm_reg seg, const struct seg_desc *d)
{
	struct svm_vcpu *sv = vcpui;
	struct vmcb_seg *s = vmcb_seg(sv->vmcb, seg);

	if (!s)
		return;
	s->base = d->base;
	s->limit = d->limit;
	if (seg == VM_REG_GDTR || seg == VM_REG_IDTR) {
		s->attrib = 0;
		s->selector = 0;
	} else {
		s->attrib = attrib_from_access(d->access);
		s->selector = d->selector;
	}
	if (seg == VM_REG_SS)
		sv->vmcb->save.cpl = (uint8_t)SEG_DPL(d->access); /* the CPL is SS.DPL */
	sv->pending |= SVM_PENDING_CHECK;
}

static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t type = (uint8_t)(pat >> (8 * i));
		if (type == 2 || type == 3 || type > 7)
			return false;
	}
	return true;
}

/* The VMRUN consistency checks on state hv controls (APM vol. 2 15.5.1), naming the field.
 * QEMU overwrites the guest state after a failed VMRUN, so this runs on the state before it. */
const char *svm_check_state(const struct svm_vcpu *sv)
{
	const struct vmcb_control *c = &sv->vmcb->control;
	const struct vmcb_save *s = &sv->vmcb->save;
	uint64_t above_phys = ~0ull << svm_caps.phys_bits;
	bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);

	if (!(c->intercept_misc2 & INTERCEPT2_VMRUN))
		return "VMRUN intercept clear (it is mandatory)";
	if (c->guest_asid == 0)
		return "guest ASID 0 (reserved for the host)";
	if ((c->msrpm_base_pa + MSRPM_SIZE - 1) & above_phys)
		return "MSRPM_BASE_PA beyond the physical address width";
	if ((c->iopm_base_pa + IOPM_SIZE - 1) & above_phys)
		return "IOPM_BASE_PA beyond the physical address width";
	if (!(s->efer & EFER_SVME))
		return "EFER.SVME clear";
	if (s->efer & ~EFER_DEFINED)
		return "reserved EFER bits set";
	if (s->cr0 >> 32)
		return "CR0[63:32] set";
	if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
		return "CR0.NW set without CR0.CD";
	if (s->cr3 & ((s->efer & EFER_LMA) ? above_phys : ~0xffffffffull))
		return "reserved CR3 bits set (beyond the physical address width)";
	if (s->cr4 & ~svm_caps.cr4_valid)
		return "reserved CR4 bits set";
	if (s->dr6 >> 32)
		return "DR6[63:32] set";
	if (s->dr7 >> 32)
		return "DR7[63:32] set";
	if (lme_pg && !(s->cr4 & CR4_PAE))
		return "EFER.LME and CR0.PG set without CR4.PAE";
	if (lme_pg && !(s->cr0 & CR0_PE))
		return "EFER.LME and CR0.PG set without CR0.PE";
	if (lme_pg && (s->cs.attrib & ATTRIB_L) && (s->cs.attrib & ATTRIB_DB))
		return "long mode with CS.L and CS.D both set";
	if (!pat_valid(s->g_pat))
		return "G_PAT holds an undefined memory type";
	return NULL;
}
