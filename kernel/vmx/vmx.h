/* The Intel VMX backend's private interface between its files. */
#ifndef HV_VMX_VMX_H
#define HV_VMX_VMX_H

#include <hv/vmm.h>
#include <stdbool.h>
#include <stdint.h>

#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490

/* What the CPU allows, read once from the capability MSRs on the bootstrap CPU. */
struct vmx_caps {
	uint32_t revision;
	uint32_t pin, proc, proc2, exit, entry; /* the controls hv runs with */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool vpid;
};

extern struct vmx_caps vmx_caps;

struct vmx_vm {
	struct vm *vm;
	uint64_t eptp;
	uint64_t ept_root;
	uint64_t io_bitmaps;  /* two pages: ports 0-0x7fff, 0x8000-0xffff */
	uint64_t msr_bitmap;
};

struct vmx_vcpu {
	struct vcpu *vcpu;
	struct vmx_vm *vm;
	uint64_t vmcs;
	bool launched;
	uint64_t cr0_shadow, cr4_shadow; /* what the guest believes it wrote */
	char fail_what[128];		 /* exit->u.fail.what after a failed entry (vmx_check.c) */
};

const char *vmx_probe(void);
bool vmx_cpu_init(void);
bool ept_init(struct vmx_vm *vv);
bool ept_map(struct vmx_vm *vv, uint64_t gpa, uint64_t hpa, uint64_t len);
void *vmx_vcpu_init(void *vmi, struct vcpu *vcpu);
uint64_t vmx_get_reg(void *vcpui, enum vm_reg reg);
void vmx_set_reg(void *vcpui, enum vm_reg reg, uint64_t value);
void vmx_get_desc(void *vcpui, enum vm_reg seg, struct seg_desc *desc);
void vmx_set_desc(void *vcpui, enum vm_reg seg, const struct seg_desc *desc);
void vmx_run(void *vcpui, struct vm_exit *exit);
/* Guest CR0/CR4 writes: the guest's value goes to the shadow, the VMX-legal one to the VMCS. */
void vmx_write_cr0(struct vmx_vcpu *vv, uint64_t value);
void vmx_write_cr4(struct vmx_vcpu *vv, uint64_t value);
uint64_t vmx_guest_cr0(struct vmx_vcpu *vv);
uint64_t vmx_guest_cr4(struct vmx_vcpu *vv);

/* vmx_check.c: after VMLAUNCH/VMRESUME failed, or an exit with the entry-failure bit, one sentence
 * naming the error or exit reason and the VMCS field of the first broken rule (in fail_what). */
const char *vmx_explain_vmfail(struct vmx_vcpu *vv);
const char *vmx_explain_entry_failure(struct vmx_vcpu *vv, uint32_t reason);

/* vmx_entry.S: enters the guest; 0 after a VM exit, non-zero when VMLAUNCH/VMRESUME failed. */
int vmx_enter(uint64_t *gprs, int launched);
void vmx_exit_entry(void);

#endif
