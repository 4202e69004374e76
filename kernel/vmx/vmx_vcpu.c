/* VMCS set-up and guest register access. */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/percpu.h>
#include <hv/string.h>
#include <hv/x86.h>

#include "vmcs.h"
#include "vmx.h"

#define GUEST_CR0_MASK (CR0_PE | CR0_NE | CR0_PG | CR0_CD | CR0_NW)
#define RFLAGS_FIXED 0x2ull
#define DR7_INIT 0x400ull
#define SEG_REGS 8 /* ES, CS, SS, DS, FS, GS, LDTR, TR in both vm_reg and VMCS order */

struct descriptor_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint32_t next_vpid = 1;

static void vmcs_host_state(void)
{
	struct percpu *c = this_cpu();
	struct descriptor_pointer idtr;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SELECTOR, GDT_KERNEL_CODE);
	vmwrite(VMCS_HOST_SS_SELECTOR, GDT_KERNEL_DATA);
	vmwrite(VMCS_HOST_DS_SELECTOR, GDT_KERNEL_DATA);
	vmwrite(VMCS_HOST_ES_SELECTOR, GDT_KERNEL_DATA);
	vmwrite(VMCS_HOST_FS_SELECTOR, 0);
	vmwrite(VMCS_HOST_GS_SELECTOR, 0);
	vmwrite(VMCS_HOST_TR_SELECTOR, GDT_TSS);
	vmwrite(VMCS_HOST_FS_BASE, 0);
	vmwrite(VMCS_HOST_GS_BASE, (uint64_t)c);
	vmwrite(VMCS_HOST_TR_BASE, (uint64_t)&c->tss);
	vmwrite(VMCS_HOST_GDTR_BASE, (uint64_t)c->gdt);
	vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmwrite(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_RIP, (uint64_t)vmx_exit_entry);
}

static void vmcs_controls(struct vmx_vcpu *vv)
{
	vmwrite(VMCS_PIN_BASED_CTLS, vmx_caps.pin);
	vmwrite(VMCS_PROC_BASED_CTLS, vmx_caps.proc);
	vmwrite(VMCS_PROC_BASED_CTLS2, vmx_caps.proc2);
	vmwrite(VMCS_EXIT_CTLS, vmx_caps.exit);
	vmwrite(VMCS_ENTRY_CTLS, vmx_caps.entry);
	vmwrite(VMCS_EXCEPTION_BITMAP, 0);
	vmwrite(VMCS_PF_ERROR_MASK, 0);
	vmwrite(VMCS_PF_ERROR_MATCH, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_IO_BITMAP_A, vv->vm->io_bitmaps);
	vmwrite(VMCS_IO_BITMAP_B, vv->vm->io_bitmaps + PAGE_SIZE);
	vmwrite(VMCS_MSR_BITMAP, vv->vm->msr_bitmap);
	vmwrite(VMCS_EPT_POINTER, vv->vm->eptp);
	vmwrite(VMCS_TSC_OFFSET, 0);
	if (vmx_caps.vpid)
		vmwrite(VMCS_VPID, __atomic_fetch_add(&next_vpid, 1, __ATOMIC_RELAXED));
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	/* CR0/CR4 bits VMX constrains (or hv hides) are owned by hv; the guest sees its shadow. */
	vmwrite(VMCS_CR0_MASK, GUEST_CR0_MASK | (vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG)) | ~vmx_caps.cr0_fixed1);
	vmwrite(VMCS_CR4_MASK, vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1);
}

/* Power-on state of a vcpu (SDM vol. 3 9.1.1), which the loaders then change. */
static void vmcs_guest_reset_state(struct vmx_vcpu *vv)
{
	struct seg_desc code = { 0xffff0000ull, 0xffff, 0x9b, 0xf000 };
	struct seg_desc data = { 0, 0xffff, 0x93, 0 };
	struct seg_desc ldtr = { 0, 0xffff, 0x82, 0 };
	struct seg_desc tr = { 0, 0xffff, 0x8b, 0 };

	for (int r = VM_REG_ES; r <= VM_REG_GS; r++)
		vmx_set_desc(vv, (enum vm_reg)r, r == VM_REG_CS ? &code : &data);
	vmx_set_desc(vv, VM_REG_LDTR, &ldtr);
	vmx_set_desc(vv, VM_REG_TR, &tr);
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_RIP, 0xfff0);
	vmwrite(VMCS_GUEST_RSP, 0);
	vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
	vmwrite(VMCS_GUEST_IA32_EFER, 0);
	vmwrite(VMCS_GUEST_IA32_PAT, 0x0007040600070406ull);
	vmwrite(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_DR7, DR7_INIT);
	vmwrite(VMCS_GUEST_CR3, 0);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	vmx_write_cr4(vv, 0);
	vmx_write_cr0(vv, CR0_ET | CR0_CD | CR0_NW);
}

void *vmx_vcpu_init(void *vmi, struct vcpu *vcpu)
{
	struct vmx_vcpu *vv = mm_zalloc(sizeof(*vv));

	if (!vv)
		return NULL;
	vv->vcpu = vcpu;
	vv->vm = vmi;
	vv->vmcs = page_alloc_zeroed();
	if (!vv->vmcs)
		return NULL;
	*(uint32_t *)phys_to_virt(vv->vmcs) = vmx_caps.revision;
	if (!vmclear(vv->vmcs) || !vmptrld(vv->vmcs)) {
		pr_err("vmx: cannot load a VMCS on cpu %u", this_cpu()->index);
		return NULL;
	}
	vmcs_host_state();
	vmcs_controls(vv);
	vmcs_guest_reset_state(vv);
	return vv;
}

static uint64_t guest_visible(uint64_t hw, uint64_t shadow, uint64_t mask) { return (hw & ~mask) | (shadow & mask); }

/* The guest's CR0/CR4: bits hv owns come from the shadow, the rest the guest writes directly. */
uint64_t vmx_guest_cr0(struct vmx_vcpu *vv)
{
	return guest_visible(vmread(VMCS_GUEST_CR0), vv->cr0_shadow, vmread(VMCS_CR0_MASK));
}

uint64_t vmx_guest_cr4(struct vmx_vcpu *vv)
{
	return guest_visible(vmread(VMCS_GUEST_CR4), vv->cr4_shadow, vmread(VMCS_CR4_MASK));
}

static bool guest_pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/* With EPT, entering a PAE-paging guest loads PDPTEs from the VMCS, not from memory (SDM vol. 3
 * 28.3.3.3): refresh them whenever hv completes a CR0/CR4 write that the guest made. */
static void vmx_load_pdptes(struct vmx_vcpu *vv)
{
	uint64_t cr3 = vmread(VMCS_GUEST_CR3) & 0xffffffe0ull;
	const uint64_t *pdpte = vm_gpa_to_hva(vv->vcpu->vm, cr3, 32);

	for (int i = 0; i < 4; i++)
		vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pdpte ? pdpte[i] : 0);
}

static void vmx_update_long_mode(struct vmx_vcpu *vv)
{
	uint64_t efer = vmread(VMCS_GUEST_IA32_EFER);
	uint64_t entry = vmread(VMCS_ENTRY_CTLS);
	bool lma = (efer & EFER_LME) && (vv->cr0_shadow & CR0_PG);

	efer = lma ? efer | EFER_LMA : efer & ~EFER_LMA;
	entry = lma ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST;
	vmwrite(VMCS_GUEST_IA32_EFER, efer);
	vmwrite(VMCS_ENTRY_CTLS, entry);
	if (guest_pae_paging(vv->cr0_shadow, vmx_guest_cr4(vv), efer))
		vmx_load_pdptes(vv);
}

void vmx_write_cr0(struct vmx_vcpu *vv, uint64_t value)
{
	/* Unrestricted guest lifts the fixed PE and PG bits (SDM vol. 3 26.3.1.1). */
	uint64_t fixed0 = vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);

	vv->cr0_shadow = value;
	vmwrite(VMCS_CR0_SHADOW, value);
	vmwrite(VMCS_GUEST_CR0, (value | fixed0) & vmx_caps.cr0_fixed1);
	vmx_update_long_mode(vv);
}

void vmx_write_cr4(struct vmx_vcpu *vv, uint64_t value)
{
	vv->cr4_shadow = value;
	vmwrite(VMCS_CR4_SHADOW, value);
	vmwrite(VMCS_GUEST_CR4, (value | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
	vmx_update_long_mode(vv);
}


uint64_t vmx_get_reg(void *vcpui, enum vm_reg reg)
{
	struct vmx_vcpu *vv = vcpui;

	if (reg < VM_GPR_COUNT && reg != VM_REG_RSP)
		return vv->vcpu->gpr[reg];
	switch (reg) {
	case VM_REG_RSP:
		return vmread(VMCS_GUEST_RSP);
	case VM_REG_RIP:
		return vmread(VMCS_GUEST_RIP);
	case VM_REG_RFLAGS:
		return vmread(VMCS_GUEST_RFLAGS);
	case VM_REG_CR0:
		return vmx_guest_cr0(vv);
	case VM_REG_CR2:
		return read_cr2(); /* VMX does not switch CR2; hv itself never takes page faults */
	case VM_REG_CR3:
		return vmread(VMCS_GUEST_CR3);
	case VM_REG_CR4:
		return vmx_guest_cr4(vv);
	case VM_REG_DR7:
		return vmread(VMCS_GUEST_DR7);
	case VM_REG_EFER:
		return vmread(VMCS_GUEST_IA32_EFER);
	case VM_REG_PAT:
		return vmread(VMCS_GUEST_IA32_PAT);
	case VM_REG_PDPTE0:
	case VM_REG_PDPTE1:
	case VM_REG_PDPTE2:
	case VM_REG_PDPTE3:
		return vmread(VMCS_GUEST_PDPTE0 + 2 * (reg - VM_REG_PDPTE0));
	case VM_REG_INTR_SHADOW:
		return vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS) ? 1 : 0;
	case VM_REG_NMI_BLOCKED: /* with virtual NMIs, an entry injecting an NMI here fails (26.3.1.5) */
		return vmread(VMCS_GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_NMI ? 1 : 0;
	default:
		return 0;
	}
}

void vmx_set_reg(void *vcpui, enum vm_reg reg, uint64_t value)
{
	struct vmx_vcpu *vv = vcpui;

	if (reg < VM_GPR_COUNT && reg != VM_REG_RSP) {
		vv->vcpu->gpr[reg] = value;
		return;
	}
	switch (reg) {
	case VM_REG_RSP:
		vmwrite(VMCS_GUEST_RSP, value);
		break;
	case VM_REG_RIP:
		vmwrite(VMCS_GUEST_RIP, value);
		break;
	case VM_REG_RFLAGS:
		vmwrite(VMCS_GUEST_RFLAGS, value | RFLAGS_FIXED);
		break;
	case VM_REG_CR0:
		vmx_write_cr0(vv, value);
		break;
	case VM_REG_CR2:
		write_cr2(value);
		break;
	case VM_REG_CR3:
		vmwrite(VMCS_GUEST_CR3, value);
		if (guest_pae_paging(vv->cr0_shadow, vmx_guest_cr4(vv), vmread(VMCS_GUEST_IA32_EFER)))
			vmx_load_pdptes(vv);
		break;
	case VM_REG_CR4:
		vmx_write_cr4(vv, value);
		break;
	case VM_REG_DR7:
		vmwrite(VMCS_GUEST_DR7, value);
		break;
	case VM_REG_EFER:
		vmwrite(VMCS_GUEST_IA32_EFER, value);
		vmx_update_long_mode(vv);
		break;
	case VM_REG_PAT:
		vmwrite(VMCS_GUEST_IA32_PAT, value);
		break;
	case VM_REG_INTR_SHADOW: {
		uint64_t s = vmread(VMCS_GUEST_INTERRUPTIBILITY) & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s | (value ? INTERRUPTIBILITY_STI : 0));
		break;
	}
	default:
		break;
	}
}

static uint64_t seg_field(enum vm_reg seg, uint64_t first) { return first + 2 * (uint64_t)(seg - VM_REG_ES); }

void vmx_get_desc(void *vcpui, enum vm_reg seg, struct seg_desc *d)
{
	(void)vcpui;
	if (seg == VM_REG_GDTR || seg == VM_REG_IDTR) {
		bool g = seg == VM_REG_GDTR;
		d->base = vmread(g ? VMCS_GUEST_GDTR_BASE : VMCS_GUEST_IDTR_BASE);
		d->limit = (uint32_t)vmread(g ? VMCS_GUEST_GDTR_LIMIT : VMCS_GUEST_IDTR_LIMIT);
		d->access = 0;
		d->selector = 0;
		return;
	}
	d->base = vmread(seg_field(seg, VMCS_GUEST_ES_BASE));
	d->limit = (uint32_t)vmread(seg_field(seg, VMCS_GUEST_ES_LIMIT));
	d->access = (uint32_t)vmread(seg_field(seg, VMCS_GUEST_ES_ACCESS));
	d->selector = (uint16_t)vmread(seg_field(seg, VMCS_GUEST_ES_SELECTOR));
}

void vmx_set_desc(void *vcpui, enum vm_reg seg, const struct seg_desc *d)
{
	(void)vcpui;
	if (seg == VM_REG_GDTR || seg == VM_REG_IDTR) {
		bool g = seg == VM_REG_GDTR;
		vmwrite(g ? VMCS_GUEST_GDTR_BASE : VMCS_GUEST_IDTR_BASE, d->base);
		vmwrite(g ? VMCS_GUEST_GDTR_LIMIT : VMCS_GUEST_IDTR_LIMIT, d->limit);
		return;
	}
	vmwrite(seg_field(seg, VMCS_GUEST_ES_BASE), d->base);
	vmwrite(seg_field(seg, VMCS_GUEST_ES_LIMIT), d->limit);
	vmwrite(seg_field(seg, VMCS_GUEST_ES_ACCESS), d->access);
	vmwrite(seg_field(seg, VMCS_GUEST_ES_SELECTOR), d->selector);
}
