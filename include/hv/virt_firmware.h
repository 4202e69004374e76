/*
 * Whether the firmware lets hv turn on VMX or SVM: a verdict from the value of the control MSR the
 * firmware may have locked (IA32_FEATURE_CONTROL on Intel, VM_CR on AMD). Pure logic: the backends
 * pass the MSR they read on each CPU, and host tests pass every case.
 */
#ifndef HV_VIRT_FIRMWARE_H
#define HV_VIRT_FIRMWARE_H

#include <stdbool.h>
#include <stdint.h>

struct virt_firmware_verdict {
	const char *error; /* NULL, or why the CPU cannot be used and what the operator must do */
	bool write;	   /* hv must first write value to the MSR (the firmware left it unlocked) */
	uint64_t value;
};

struct virt_firmware_verdict vmx_feature_control_verdict(uint64_t feature_control);
struct virt_firmware_verdict svm_vm_cr_verdict(uint64_t vm_cr);

#endif
