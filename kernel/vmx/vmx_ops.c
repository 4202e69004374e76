/* The VMX backend as the core sees it: one table. */
#include <hv/mm.h>
#include <hv/string.h>

#include "vmcs.h"
#include "vmx.h"

/* MSR bitmap (SDM vol. 3 24.6.9): read-low, read-high, write-low, write-high, 1 KiB each. */
static void msr_bitmap_allow(uint8_t *bitmap, uint32_t msr)
{
	uint32_t base = msr >= 0xc0000000u ? 1024 : 0;
	uint32_t bit = msr & 0x1fff;

	bitmap[base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
	bitmap[2048 + base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static void *vmx_vm_init(struct vm *vm)
{
	struct vmx_vm *vv = mm_zalloc(sizeof(*vv));

	if (!vv || !ept_init(vv))
		return NULL;
	vv->vm = vm;
	vv->io_bitmaps = phys_alloc(2 * PAGE_SIZE, PAGE_SIZE, UINT64_MAX);
	vv->msr_bitmap = phys_alloc(PAGE_SIZE, PAGE_SIZE, UINT64_MAX);
	if (!vv->io_bitmaps || !vv->msr_bitmap)
		return NULL;
	/* Every port and MSR exits unless listed above. */
	memset(phys_to_virt(vv->io_bitmaps), 0xff, 2 * PAGE_SIZE);
	memset(phys_to_virt(vv->msr_bitmap), 0xff, PAGE_SIZE);
	for (size_t i = 0; i < vmm_passthrough_msr_count; i++)
		msr_bitmap_allow(phys_to_virt(vv->msr_bitmap), vmm_passthrough_msrs[i]);
	return vv;
}

static bool vmx_map(void *vmi, uint64_t gpa, uint64_t hpa, uint64_t len) { return ept_map(vmi, gpa, hpa, len); }

static bool vmx_set_cap(void *vcpui, enum vm_cap cap, bool on)
{
	uint32_t bit;

	(void)vcpui;
	switch (cap) {
	case VM_CAP_HALT_EXIT:
		bit = PROC_HLT_EXITING;
		break;
	case VM_CAP_MTRAP_EXIT:
		bit = PROC_MONITOR_TRAP_FLAG;
		break;
	case VM_CAP_PAUSE_EXIT:
		bit = PROC_PAUSE_EXITING;
		break;
	case VM_CAP_UNRESTRICTED_GUEST:
		return on; /* always on: hv requires it */
	default:
		return false;
	}
	uint64_t proc = vmread(VMCS_PROC_BASED_CTLS);
	vmwrite(VMCS_PROC_BASED_CTLS, on ? proc | bit : proc & ~(uint64_t)bit);
	return true;
}

static void vmx_request_intr_window(void *vcpui, bool nmi)
{
	(void)vcpui;
	vmwrite(VMCS_PROC_BASED_CTLS,
		vmread(VMCS_PROC_BASED_CTLS) | (nmi ? PROC_NMI_WINDOW_EXITING : PROC_INTERRUPT_WINDOW_EXITING));
}

static void vmx_set_tsc_offset(void *vcpui, uint64_t offset)
{
	(void)vcpui;
	vmwrite(VMCS_TSC_OFFSET, offset);
}

const struct vmm_ops vmm_ops_vmx = {
	.name = "vmx",
	.probe = vmx_probe,
	.cpu_init = vmx_cpu_init,
	.vm_init = vmx_vm_init,
	.map = vmx_map,
	.vcpu_init = vmx_vcpu_init,
	.run = vmx_run,
	.get_reg = vmx_get_reg,
	.set_reg = vmx_set_reg,
	.get_desc = vmx_get_desc,
	.set_desc = vmx_set_desc,
	.set_cap = vmx_set_cap,
	.request_intr_window = vmx_request_intr_window,
	.set_tsc_offset = vmx_set_tsc_offset,
};
