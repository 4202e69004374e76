/* What the firmware left in the VMX/SVM control MSRs, and what hv may do about it. */
#include <hv/virt_firmware.h>

/* IA32_FEATURE_CONTROL (MSR 0x3a, SDM vol. 3 23.7): VMXON #GPs unless the lock bit is set and, outside
 * SMX, the enable-outside-SMX bit too. Once locked, only a reset clears it. */
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

/* VM_CR (MSR 0xc0010114, APM vol. 2 15.30.1): SVMDIS makes EFER.SVME must-be-zero; LOCK makes SVMDIS
 * and LOCK read-only until reset (or SVM_KEY, which hv does not use). */
#define VM_CR_LOCK (1ull << 3)
#define VM_CR_SVMDIS (1ull << 4)

struct virt_firmware_verdict vmx_feature_control_verdict(uint64_t feature_control)
{
	bool locked = feature_control & FEATURE_CONTROL_LOCK;
	bool vmx = feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX;

	if (locked && vmx)
		return (struct virt_firmware_verdict){ 0 };
	if (locked)
		return (struct virt_firmware_verdict){
			.error = "VMX is disabled by the firmware (IA32_FEATURE_CONTROL locked without VMX): enable "
				 "Intel VT-x in the firmware setup",
		};
	/* Unlocked: hv owns the machine, so it enables VMX and locks the MSR as firmware would. */
	return (struct virt_firmware_verdict){
		.write = true,
		.value = feature_control | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK,
	};
}

struct virt_firmware_verdict svm_vm_cr_verdict(uint64_t vm_cr)
{
	if (!(vm_cr & VM_CR_SVMDIS))
		return (struct virt_firmware_verdict){ 0 };
	if (vm_cr & VM_CR_LOCK)
		return (struct virt_firmware_verdict){
			.error = "SVM is disabled by the firmware (VM_CR.SVMDIS set and locked): enable AMD-V (SVM) in "
				 "the firmware setup",
		};
	/* Disabled but not locked: the bit is writable (APM 15.30.1), so hv clears it. */
	return (struct virt_firmware_verdict){ .write = true, .value = vm_cr & ~VM_CR_SVMDIS };
}
