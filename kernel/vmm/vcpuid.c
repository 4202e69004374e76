/* The CPUID a guest sees: the host's, minus what hv does not virtualize, plus hv's own leaves. */
#include <hv/vlapic.h>
#include <hv/vmm.h>
#include <hv/x86.h>

#define HV_LEAF_BASE 0x40000000u
#define HV_LEAF_MAX 0x40000000u
#define HV_SIGNATURE_EBX 0x00007668u /* "hv\0\0" */

#define CPUID1_ECX_MONITOR (1u << 3)
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_SMX (1u << 6)
#define CPUID1_ECX_EST (1u << 7)
#define CPUID1_ECX_TM2 (1u << 8)
#define CPUID1_ECX_PDCM (1u << 15)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_APIC (1u << 9)
#define CPUID1_EDX_ACPI (1u << 22)
#define CPUID1_EDX_TM (1u << 29)
#define CPUID1_EDX_HTT (1u << 28)
#define CPUID7_EBX_SGX (1u << 2)
#define CPUID7_EBX_HLE (1u << 4)
#define CPUID7_EBX_RTM (1u << 11)
#define CPUID7_EBX_INVPCID (1u << 10)
#define CPUID7_EBX_PT (1u << 25)
#define CPUID7_ECX_WAITPKG (1u << 5)
#define CPUID7_ECX_SGX_LC (1u << 30)
#define CPUID_EXT1_ECX_SVM (1u << 2)

static void cpuid_leaf1(struct vcpu *v, struct cpuid_regs *r)
{
	uint32_t vcpus = v->vm->vcpu_count;

	/* EBX: initial APIC ID = vcpu id, logical processor count = the VM's vcpus. */
	r->ebx = (r->ebx & 0xffffu) | ((vcpus & 0xffu) << 16) | (v->id << 24);
	r->ecx &= ~(CPUID1_ECX_MONITOR | CPUID1_ECX_VMX | CPUID1_ECX_SMX | CPUID1_ECX_EST | CPUID1_ECX_TM2 |
		    CPUID1_ECX_PDCM | CPUID1_ECX_OSXSAVE);
	/* The virtual LAPIC offers x2APIC and the TSC-deadline timer whatever the host has. */
	r->ecx |= CPUID1_ECX_HYPERVISOR | CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE;
	r->edx = vlapic_hw_enabled(v->vlapic) ? r->edx | CPUID1_EDX_APIC : r->edx & ~CPUID1_EDX_APIC;
	/* OSXSAVE mirrors the guest's CR4, as the hardware computes it. */
	if (vcpu_get_reg(v, VM_REG_CR4) & CR4_OSXSAVE)
		r->ecx |= CPUID1_ECX_OSXSAVE;
	r->edx &= ~(CPUID1_EDX_ACPI | CPUID1_EDX_TM);
	r->edx = vcpus > 1 ? r->edx | CPUID1_EDX_HTT : r->edx & ~CPUID1_EDX_HTT;
}

/* Extended topology (leaf 0xB): one thread per core, every vcpu a core of one package. */
static void cpuid_topology(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	uint32_t vcpus = v->vm->vcpu_count;
	uint32_t core_bits = 0;

	while ((1u << core_bits) < vcpus)
		core_bits++;
	r->edx = v->id;
	r->ecx = subleaf & 0xff;
	if (subleaf == 0) {
		r->eax = 0;
		r->ebx = 1;
		r->ecx |= 1u << 8; /* SMT level */
	} else if (subleaf == 1) {
		r->eax = core_bits;
		r->ebx = vcpus;
		r->ecx |= 2u << 8; /* core level */
	} else {
		r->eax = r->ebx = 0;
	}
}

/* Basic leaves hv changes; every other basic leaf is the host's as it is (the hot path). */
#define ADJUSTED_BASIC_LEAVES ((1u << 1) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 0xa) | \
			       (1u << 0xb) | (1u << 0x1f))

static void __attribute__((noinline)) vcpuid_adjusted(struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	if ((leaf & 0xf0000000u) == HV_LEAF_BASE) {
		if (leaf == HV_LEAF_BASE) {
			r.eax = HV_LEAF_MAX;
			r.ebx = HV_SIGNATURE_EBX;
		}
	} else {
		r = cpuid(leaf, subleaf);
		switch (leaf) {
		case 1:
			cpuid_leaf1(v, &r);
			break;
		case 4:
			r.eax &= 0x3ffu; /* cache descriptors only; cores per package come from leaf 0xB */
			break;
		case 5: /* MONITOR/MWAIT: hidden */
		case 6: /* thermal and power management */
		case 0xa: /* performance monitoring */
			r.eax = r.ebx = r.ecx = r.edx = 0;
			break;
		case 7:
			if (subleaf == 0) {
				r.ebx &= ~(CPUID7_EBX_SGX | CPUID7_EBX_HLE | CPUID7_EBX_RTM | CPUID7_EBX_INVPCID |
					   CPUID7_EBX_PT);
				r.ecx &= ~(CPUID7_ECX_WAITPKG | CPUID7_ECX_SGX_LC);
			}
			break;
		case 0xb:
		case 0x1f:
			cpuid_topology(v, subleaf, &r);
			break;
		case 0x80000001:
			r.ecx &= ~CPUID_EXT1_ECX_SVM;
			break;
		case 0x8000000a: /* SVM features */
			r.eax = r.ebx = r.ecx = r.edx = 0;
			break;
		}
	}
	v->gpr[VM_REG_RAX] = r.eax;
	v->gpr[VM_REG_RBX] = r.ebx;
	v->gpr[VM_REG_RCX] = r.ecx;
	v->gpr[VM_REG_RDX] = r.edx;
}

void vcpuid_emulate(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->gpr[VM_REG_RAX];
	uint32_t subleaf = (uint32_t)v->gpr[VM_REG_RCX];

	if (leaf >= 32 || (ADJUSTED_BASIC_LEAVES >> leaf) & 1) {
		vcpuid_adjusted(v, leaf, subleaf);
		return;
	}
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(subleaf));
	v->gpr[VM_REG_RAX] = a;
	v->gpr[VM_REG_RBX] = b;
	v->gpr[VM_REG_RCX] = c;
	v->gpr[VM_REG_RDX] = d;
}
