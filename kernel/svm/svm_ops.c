/* The SVM backend as the core sees it: one table. */
#include <hv/mm.h>
#include <hv/string.h>

#include "svm.h"

/* MSRs the guest owns outright, as on VMX: their state is in the VMCB (SYSENTER_*, the syscall
 * MSRs, FS/GS base and KERNEL_GS_BASE all travel with VMLOAD/VMSAVE, see svm_entry.S). */
static const uint32_t passthrough_msrs[] = {
	0x174, 0x175, 0x176,		    /* SYSENTER_CS/ESP/EIP */
	0xc0000081, 0xc0000082, 0xc0000083, /* STAR, LSTAR, CSTAR */
	0xc0000084,			    /* SFMASK */
	0xc0000100, 0xc0000101,		    /* FS_BASE, GS_BASE */
	0xc0000102,			    /* KERNEL_GS_BASE */
};

/* MSR permission map (APM vol. 2 15.11): 2 KiB per range of 8K MSRs, two bits each (read, write). */
static void msrpm_allow(uint8_t *msrpm, uint32_t msr)
{
	uint32_t base = msr >= 0xc0010000u ? 0x1000 : msr >= 0xc0000000u ? 0x800 : 0;
	uint32_t bit = (msr & 0x1fff) * 2;

	msrpm[base + bit / 8] &= (uint8_t)~(3u << (bit % 8));
}

static void *svm_vm_init(struct vm *vm)
{
	struct svm_vm *sv = mm_zalloc(sizeof(*sv));

	if (!sv || !npt_init(sv))
		return NULL;
	sv->vm = vm;
	sv->iopm = phys_alloc(IOPM_SIZE, PAGE_SIZE, LIMIT_4G);
	sv->msrpm = phys_alloc(MSRPM_SIZE, PAGE_SIZE, LIMIT_4G);
	if (!sv->iopm || !sv->msrpm)
		return NULL;
	/* Every port and MSR exits unless listed above. */
	memset(phys_to_virt(sv->iopm), 0xff, IOPM_SIZE);
	memset(phys_to_virt(sv->msrpm), 0xff, MSRPM_SIZE);
	for (size_t i = 0; i < sizeof(passthrough_msrs) / sizeof(passthrough_msrs[0]); i++)
		msrpm_allow(phys_to_virt(sv->msrpm), passthrough_msrs[i]);
	return sv;
}

static bool svm_map(void *vmi, uint64_t gpa, uint64_t hpa, uint64_t len) { return npt_map(vmi, gpa, hpa, len); }

static bool svm_set_cap(void *vcpui, enum vm_cap cap, bool on)
{
	struct svm_vcpu *sv = vcpui;
	uint32_t bit;

	switch (cap) {
	case VM_CAP_HALT_EXIT:
		bit = INTERCEPT_HLT;
		break;
	case VM_CAP_PAUSE_EXIT:
		bit = INTERCEPT_PAUSE;
		break;
	case VM_CAP_UNRESTRICTED_GUEST:
		return on; /* SVM runs real and protected mode without paging as they are */
	case VM_CAP_MTRAP_EXIT: /* SVM has no monitor trap */
	default:
		return false;
	}
	if (on)
		sv->vmcb->control.intercept_misc1 |= bit;
	else
		sv->vmcb->control.intercept_misc1 &= ~bit;
	return true;
}

static void svm_set_tsc_offset(void *vcpui, uint64_t offset)
{
	struct svm_vcpu *sv = vcpui;

	sv->vmcb->control.tsc_offset = offset;
}

const struct vmm_ops vmm_ops_svm = {
	.name = "svm",
	.probe = svm_probe,
	.cpu_init = svm_cpu_init,
	.vm_init = svm_vm_init,
	.map = svm_map,
	.vcpu_init = svm_vcpu_init,
	.run = svm_run,
	.get_reg = svm_get_reg,
	.set_reg = svm_set_reg,
	.get_desc = svm_get_desc,
	.set_desc = svm_set_desc,
	.set_cap = svm_set_cap,
	.request_intr_window = svm_request_intr_window,
	.set_tsc_offset = svm_set_tsc_offset,
};
