/* The SVM backend as the core sees it: one table. */
#include <hv/mm.h>
#include <hv/string.h>

#include "svm.h"

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
	for (size_t i = 0; i < vmm_passthrough_msr_count; i++)
		msrpm_allow(phys_to_virt(sv->msrpm), vmm_passthrough_msrs[i]);
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
