/* Guest MSRs hv emulates. Anything else raises #GP, as an unimplemented MSR does on hardware. */
#include <hv/console.h>
#include <hv/vmm.h>
#include <hv/vplatform.h>
#include <hv/x86.h>

#define MSR_IA32_TSC 0x10
#define MSR_IA32_PLATFORM_ID 0x17
#define MSR_IA32_BIOS_SIGN_ID 0x8b
#define MSR_IA32_MTRRCAP 0xfe
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MCG_CAP 0x179
#define MSR_IA32_MCG_STATUS 0x17a
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MTRR_PHYSBASE0 0x200
#define MSR_IA32_MTRR_PHYSMASK7 0x20f
#define MSR_IA32_MTRR_FIX64K 0x250
#define MSR_IA32_MTRR_FIX16K_80000 0x258
#define MSR_IA32_MTRR_FIX16K_A0000 0x259
#define MSR_IA32_MTRR_FIX4K_C0000 0x268
#define MSR_IA32_MTRR_FIX4K_F8000 0x26f
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define MSR_AMD_SYSCFG 0xc0010010
#define MSR_AMD_HWCR 0xc0010015
#define MSR_AMD_DE_CFG 0xc0011029

#define FEATURE_CONTROL_LOCKED 1ull
#define MISC_ENABLE_FAST_STRINGS 1ull
#define MTRRCAP_VCNT8_FIX_WC 0x508ull
#define EFER_GUEST_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)
#define MTRR_DEF_TYPE_VALID 0xcffull

/* MSRs the guest owns outright, read and written without an exit: their state is in the VMCS or
 * VMCB, or in registers hv itself never uses while a vcpu is pinned to its CPU (the syscall MSRs,
 * KERNEL_GS_BASE, TSC_AUX for RDTSCP). Each backend opens its MSR bitmap for exactly these. */
const uint32_t vmm_passthrough_msrs[] = {
	0x174, 0x175, 0x176,		    /* SYSENTER_CS/ESP/EIP */
	0xc0000081, 0xc0000082, 0xc0000083, /* STAR, LSTAR, CSTAR */
	0xc0000084,			    /* SFMASK */
	0xc0000100, 0xc0000101,		    /* FS_BASE, GS_BASE */
	0xc0000102,			    /* KERNEL_GS_BASE */
	0xc0000103,			    /* TSC_AUX */
};
const uint32_t vmm_passthrough_msr_count = sizeof(vmm_passthrough_msrs) / sizeof(vmm_passthrough_msrs[0]);

/* PAT entries may hold only the defined memory types (SDM vol. 3 11.12.2). */
static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t type = (uint8_t)(pat >> (8 * i));
		if (type == 2 || type == 3 || type > 7)
			return false;
	}
	return true;
}

static bool mtrr_msr(uint32_t msr)
{
	return (msr >= MSR_IA32_MTRR_PHYSBASE0 && msr <= MSR_IA32_MTRR_PHYSMASK7) || msr == MSR_IA32_MTRR_FIX64K ||
	       msr == MSR_IA32_MTRR_FIX16K_80000 || msr == MSR_IA32_MTRR_FIX16K_A0000 ||
	       (msr >= MSR_IA32_MTRR_FIX4K_C0000 && msr <= MSR_IA32_MTRR_FIX4K_F8000) || msr == MSR_IA32_MTRR_DEF_TYPE;
}

static bool vmsr_read_value(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_IA32_TSC:
		*value = rdtsc() + v->tsc_offset;
		return true;
	case MSR_IA32_FEATURE_CONTROL:
		*value = FEATURE_CONTROL_LOCKED; /* locked, VMX off: there is no VMX in the guest */
		return true;
	case MSR_IA32_PLATFORM_ID:
	case MSR_IA32_BIOS_SIGN_ID:
	case MSR_IA32_MCG_CAP:
	case MSR_IA32_MCG_STATUS:
	case MSR_AMD_SYSCFG:
	case MSR_AMD_HWCR:
	case MSR_AMD_DE_CFG:
		*value = 0; /* nothing to report: no microcode, no machine checks, AMD defaults */
		return true;
	case MSR_IA32_MISC_ENABLE:
		*value = MISC_ENABLE_FAST_STRINGS;
		return true;
	case MSR_IA32_MTRRCAP:
		*value = MTRRCAP_VCNT8_FIX_WC;
		return true;
	case MSR_IA32_PAT:
		*value = vcpu_get_reg(v, VM_REG_PAT);
		return true;
	case MSR_EFER:
		*value = vcpu_get_reg(v, VM_REG_EFER);
		return true;
	default:
		if (mtrr_msr(msr)) {
			*value = msr == MSR_IA32_MTRR_DEF_TYPE ? v->mtrr_def_type : 0;
			return true;
		}
		return false;
	}
}

static bool vmsr_write_value(struct vcpu *v, uint32_t msr, uint64_t value)
{
	switch (msr) {
	case MSR_IA32_TSC:
		v->tsc_offset = value - rdtsc();
		vmm_ops->set_tsc_offset(v->backend, v->tsc_offset);
		return true;
	case MSR_IA32_BIOS_SIGN_ID:
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_MISC_ENABLE:
		return true; /* accepted and ignored */
	case MSR_IA32_PAT:
		if (!pat_valid(value))
			return false;
		vcpu_set_reg(v, VM_REG_PAT, value);
		return true;
	case MSR_EFER: {
		uint64_t old = vcpu_get_reg(v, VM_REG_EFER);
		if (value & ~(EFER_GUEST_WRITABLE | EFER_LMA))
			return false;
		/* LME cannot change while paging is on; LMA is read-only (SDM vol. 3 9.8.5). */
		if ((vcpu_get_reg(v, VM_REG_CR0) & CR0_PG) && ((value ^ old) & EFER_LME))
			return false;
		vcpu_set_reg(v, VM_REG_EFER, (value & ~EFER_LMA) | (old & EFER_LMA));
		return true;
	}
	default:
		if (msr == MSR_IA32_MTRR_DEF_TYPE) {
			if (value & ~MTRR_DEF_TYPE_VALID)
				return false;
			v->mtrr_def_type = value;
			return true;
		}
		return mtrr_msr(msr);
	}
}

/* APIC_BASE, TSC_DEADLINE and the x2APIC range belong to the vcpu's local APIC. */
static bool vlapic_msr(struct vcpu *v, uint32_t msr, uint64_t *value, bool write)
{
	struct vplatform *p = v->vm->plat;
	spin_lock(&p->lock);
	uint64_t deadline = vlapic_next_deadline(v->vlapic);
	bool ok = write ? vlapic_msr_write(v->vlapic, msr, *value) : vlapic_msr_read(v->vlapic, msr, value);
	/* An EOI, ICR or TPR write leaves the timer: then only the pending events need a look. */
	uint32_t hint = vlapic_next_deadline(v->vlapic) == deadline ? VINTR_HINT_EVENTS : VINTR_HINT_ALL;

	spin_unlock(&p->lock);
	__atomic_fetch_or(&v->intr_hint, hint, __ATOMIC_RELAXED); /* never lowers another's hint */
	return ok;
}

void vmsr_rdmsr(struct vcpu *v, struct vm_exit *exit)
{
	uint32_t msr = exit->u.msr.msr;
	uint64_t value;
	bool ok = vlapic_owns_msr(msr) ? vlapic_msr(v, msr, &value, false) : vmsr_read_value(v, msr, &value);

	if (!ok) {
		pr_debug("vm %s: rdmsr 0x%x unimplemented: #GP", v->vm->name, exit->u.msr.msr);
		vcpu_inject_exception(v, IDT_GP, true, 0);
		exit->inst_length = 0;
		return;
	}
	v->gpr[VM_REG_RAX] = (uint32_t)value;
	v->gpr[VM_REG_RDX] = value >> 32;
}

void vmsr_wrmsr(struct vcpu *v, struct vm_exit *exit)
{
	uint32_t msr = exit->u.msr.msr;
	uint64_t value = (v->gpr[VM_REG_RDX] << 32) | (uint32_t)v->gpr[VM_REG_RAX];
	bool ok = vlapic_owns_msr(msr) ? vlapic_msr(v, msr, &value, true) : vmsr_write_value(v, msr, value);

	if (!ok) {
		pr_debug("vm %s: wrmsr 0x%x <- 0x%lx refused: #GP", v->vm->name, exit->u.msr.msr, value);
		vcpu_inject_exception(v, IDT_GP, true, 0);
		exit->inst_length = 0;
	}
}
