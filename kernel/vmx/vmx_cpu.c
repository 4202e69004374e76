/* VMX capability checks and VMXON on each CPU (SDM vol. 3 ch. 23, appendix A). */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/string.h>
#include <hv/virt_firmware.h>
#include <hv/x86.h>

#include "vmcs.h"
#include "vmx.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_XSAVE (1u << 26)
#define VMX_BASIC_TRUE_CONTROLS (1ull << 55)
#define EPT_CAP_WALK_4 (1ull << 6)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)
#define VPID_CAP_INVVPID (1ull << 32)

struct vmx_caps vmx_caps;

/* A control word from its capability MSR: allowed-0 bits forced on, allowed-1 bits the limit. */
static bool vmx_adjust(uint32_t msr, uint32_t want, uint32_t optional, uint32_t *out)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);

	*out = (must | want | (optional & may)) & may;
	return (*out & want) == want;
}

static const char *vmx_choose_controls(void)
{
	bool true_ctls = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CONTROLS;
	uint32_t pin_msr = true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS;
	uint32_t proc_msr = true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS;
	uint32_t exit_msr = true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS;
	uint32_t entry_msr = true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS;

	if (!vmx_adjust(pin_msr, PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, 0,
			&vmx_caps.pin))
		return "VMX lacks external-interrupt/NMI exiting or virtual NMIs";
	if (!vmx_adjust(proc_msr,
			PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_MWAIT_EXITING |
				PROC_MONITOR_EXITING | PROC_USE_TSC_OFFSETTING | PROC_ACTIVATE_SECONDARY,
			0, &vmx_caps.proc))
		return "VMX lacks HLT/MWAIT exiting, I/O or MSR bitmaps, TSC offsetting or secondary controls";
	/* With EPT, CR3 accesses need no exits; the TRUE controls let us clear them. */
	vmx_caps.proc &= ~(PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING) | (uint32_t)rdmsr(proc_msr);
	if (!vmx_adjust(MSR_IA32_VMX_PROCBASED_CTLS2, PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST,
			PROC2_ENABLE_VPID | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES,
			&vmx_caps.proc2))
		return "VMX lacks EPT or unrestricted guest (needed to start guests in real/protected mode)";
	if (!vmx_adjust(exit_msr,
			EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT,
			EXIT_SAVE_DEBUG_CONTROLS, &vmx_caps.exit))
		return "VMX lacks 64-bit host or EFER/PAT save and load on exit";
	if (!vmx_adjust(entry_msr, ENTRY_LOAD_EFER | ENTRY_LOAD_PAT, ENTRY_LOAD_DEBUG_CONTROLS, &vmx_caps.entry))
		return "VMX lacks EFER/PAT load on entry";
	vmx_caps.entry &= ~ENTRY_IA32E_MODE_GUEST; /* per vcpu, follows the guest's EFER.LMA */

	uint64_t ept = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(ept & EPT_CAP_WALK_4) || !(ept & EPT_CAP_WB) || !(ept & EPT_CAP_2M))
		return "EPT lacks 4-level walks, write-back memory or 2 MiB pages";
	vmx_caps.vpid = (vmx_caps.proc2 & PROC2_ENABLE_VPID) && (ept & VPID_CAP_INVVPID);
	if (!vmx_caps.vpid)
		vmx_caps.proc2 &= ~PROC2_ENABLE_VPID;
	return NULL;
}

const char *vmx_probe(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX))
		return "this Intel CPU has no VMX";
	struct virt_firmware_verdict fw = vmx_feature_control_verdict(rdmsr(MSR_IA32_FEATURE_CONTROL));
	if (fw.error)
		return fw.error;
	if (fw.write)
		pr_info("vmx: the firmware left IA32_FEATURE_CONTROL unlocked: hv enables VMX and locks it");
	vmx_caps.revision = (uint32_t)rdmsr(MSR_IA32_VMX_BASIC) & 0x7fffffff;
	vmx_caps.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	vmx_caps.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	vmx_caps.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	vmx_caps.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	const char *missing = vmx_choose_controls();
	if (missing)
		return missing;
	pr_info("vmx: vmcs revision 0x%x, ept, unrestricted guest%s", vmx_caps.revision,
		vmx_caps.vpid ? ", vpid" : "");
	return NULL;
}

bool vmx_cpu_init(void)
{
	/* Each CPU has its own copy of the MSR; VMXON would #GP on one the firmware left disabled. */
	struct virt_firmware_verdict fw = vmx_feature_control_verdict(rdmsr(MSR_IA32_FEATURE_CONTROL));

	if (fw.error) {
		pr_err("vmx: %s", fw.error);
		return false;
	}
	if (fw.write)
		wrmsr(MSR_IA32_FEATURE_CONTROL, fw.value);
	/* XSETBV exits are completed on the host, which needs CR4.OSXSAVE for the instruction. */
	if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);
	write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	write_cr4((read_cr4() | vmx_caps.cr4_fixed0 | CR4_VMXE) & vmx_caps.cr4_fixed1);

	uint64_t region = page_alloc_zeroed();
	if (!region)
		return false;
	*(uint32_t *)phys_to_virt(region) = vmx_caps.revision;
	return vmxon(region);
}
