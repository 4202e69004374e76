/* The AMD SVM backend's private interface between its files. */
#ifndef HV_SVM_SVM_H
#define HV_SVM_SVM_H

#include <hv/vmm.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmcb.h"

#define MSR_VM_CR 0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117

/* What the CPU offers, read once on the bootstrap CPU (CPUID 0x8000000A and friends). */
struct svm_caps {
	uint32_t asids;	      /* ASIDs 1..asids-1 are usable */
	bool nrips;	      /* next RIP saved on instruction intercepts */
	bool decode_assists;  /* EXITINFO1 names the segment of string I/O, ... */
	bool flush_by_asid;   /* TLB_CONTROL 3 */
	bool vgif;
	uint8_t phys_bits;    /* MAXPHYADDR */
	uint64_t cr4_valid;   /* CR4 bits this CPU defines (the rest make VMRUN fail) */
};

extern struct svm_caps svm_caps;

struct svm_vm {
	struct vm *vm;
	uint64_t npt_root; /* nested PML4, the VMCB's N_CR3 */
	uint64_t iopm;	   /* IOPM_SIZE bytes, physically contiguous */
	uint64_t msrpm;	   /* MSRPM_SIZE bytes */
};

/* Work the next run must do before VMRUN (rare; one test on the hot path covers them all). */
#define SVM_PENDING_FLUSH (1u << 0)	 /* TLB: first run, or hv changed the guest's paging state */
#define SVM_PENDING_CHECK (1u << 1)	 /* hv wrote guest state: re-check it (for a VMRUN failure) */
#define SVM_PENDING_NMI_WINDOW (1u << 2) /* the core waits for the guest to accept an NMI */
#define SVM_PENDING_RESET (1u << 3)	 /* the last run set TLB_CONTROL or EVENTINJ: clear them */

struct svm_vcpu {
	struct vcpu *vcpu;
	struct svm_vm *vm;
	struct vmcb *vmcb;	/* direct-mapped view of vmcb_pa */
	uint64_t vmcb_pa;
	uint64_t host_vmcb_pa;	/* this CPU's host state for VMLOAD after each exit */
	uint32_t asid;
	uint32_t pending;	/* SVM_PENDING_* */
	bool always_flush;	/* ASIDs ran out: this vcpu's ASID is shared, flush on each run */
	bool nmi_blocked;	/* an NMI was injected and the guest has not executed IRET since */
	uint64_t nmi_iret_rip;	/* where the guest's IRET exited (IRET intercept cleared since) */
	const char *state_problem; /* what svm_check_state found in the last state hv wrote */
};

/* svm_cpu.c */
const char *svm_probe(void);
bool svm_cpu_init(void);
uint64_t svm_host_vmcb(void); /* the calling CPU's host-state VMCB (physical) */

/* npt.c */
bool npt_init(struct svm_vm *sv);
bool npt_map(struct svm_vm *sv, uint64_t gpa, uint64_t hpa, uint64_t len);

/* svm_vcpu.c */
void *svm_vcpu_init(void *vmi, struct vcpu *vcpu);
uint64_t svm_get_reg(void *vcpui, enum vm_reg reg);
void svm_set_reg(void *vcpui, enum vm_reg reg, uint64_t value);
void svm_get_desc(void *vcpui, enum vm_reg seg, struct seg_desc *desc);
void svm_set_desc(void *vcpui, enum vm_reg seg, const struct seg_desc *desc);
/* NULL, or the VMCB field that makes VMRUN refuse the state (APM vol. 2 15.5.1). */
const char *svm_check_state(const struct svm_vcpu *sv);

/* svm_run.c */
void svm_run(void *vcpui, struct vm_exit *exit);
void svm_request_intr_window(void *vcpui, bool nmi);
/* NMIs blocked from an injected NMI to its handler's IRET (hv tracks it: SVM has no such flag). */
bool svm_nmi_blocked(struct svm_vcpu *sv);

/* svm_entry.S: loads the guest GPRs from gprs[] (vm_reg order; RAX and RSP live in the VMCB),
 * VMLOADs and VMRUNs vmcb_pa with the host's interrupts held by GIF, and after the exit stores
 * the guest GPRs, VMSAVEs the guest and VMLOADs host_vmcb_pa before host interrupts open. */
void svm_enter(uint64_t *gprs, uint64_t vmcb_pa, uint64_t host_vmcb_pa);

#endif
