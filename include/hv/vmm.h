/*
 * The VMM API: the shape of bhyve's vmm (vm, vcpu, memory segments, registers, capabilities,
 * vm_run and its exits, exception nesting), with the device models and loaders inside hv.
 * Backends implement struct vmm_ops; nothing above a backend knows a VMCS or a VMCB.
 */
#ifndef HV_VMM_H
#define HV_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_NAME_MAX 32
#define VM_MAX_VCPUS 16
#define VM_MAX_MEMSEGS 8
#define VM_MAX_VMS 16
#define GUEST_RAM_ALIGN 0x200000ull /* a VM's RAM is one host block, aligned for 2 MiB nested pages */

/* Guest registers. General-purpose registers come first in the hardware's encoding order
 * (ModRM reg/rm, SIB base/index), so the instruction emulator indexes them directly. */
enum vm_reg {
	VM_REG_RAX,
	VM_REG_RCX,
	VM_REG_RDX,
	VM_REG_RBX,
	VM_REG_RSP,
	VM_REG_RBP,
	VM_REG_RSI,
	VM_REG_RDI,
	VM_REG_R8,
	VM_REG_R9,
	VM_REG_R10,
	VM_REG_R11,
	VM_REG_R12,
	VM_REG_R13,
	VM_REG_R14,
	VM_REG_R15,
	VM_REG_RIP,
	VM_REG_RFLAGS,
	VM_REG_CR0,
	VM_REG_CR2,
	VM_REG_CR3,
	VM_REG_CR4,
	VM_REG_DR0,
	VM_REG_DR1,
	VM_REG_DR2,
	VM_REG_DR3,
	VM_REG_DR6,
	VM_REG_DR7,
	VM_REG_EFER,
	VM_REG_PAT,
	VM_REG_ES,
	VM_REG_CS,
	VM_REG_SS,
	VM_REG_DS,
	VM_REG_FS,
	VM_REG_GS,
	VM_REG_LDTR,
	VM_REG_TR,
	VM_REG_IDTR,
	VM_REG_GDTR,
	VM_REG_PDPTE0,
	VM_REG_PDPTE1,
	VM_REG_PDPTE2,
	VM_REG_PDPTE3,
	VM_REG_INTR_SHADOW, /* 1 while STI/MOV SS blocks interrupts for one instruction */
	VM_REG_NMI_BLOCKED, /* 1 from NMI delivery until the handler's IRET (read only) */
	VM_REG_LAST
};

#define VM_GPR_COUNT 16

/* A segment as the CPU caches it. access uses the VMX access-rights layout (SDM vol. 3 24.4.1):
 * type[3:0] S[4] DPL[6:5] P[7] AVL[12] L[13] D/B[14] G[15] unusable[16]. */
struct seg_desc {
	uint64_t base;
	uint32_t limit;
	uint32_t access;
	uint16_t selector;
};

#define SEG_ACCESS_P (1u << 7)
#define SEG_ACCESS_L (1u << 13)
#define SEG_ACCESS_DB (1u << 14)
#define SEG_ACCESS_G (1u << 15)
#define SEG_ACCESS_UNUSABLE (1u << 16)
#define SEG_DPL(access) (((access) >> 5) & 3)

enum vm_cap {
	VM_CAP_HALT_EXIT,
	VM_CAP_MTRAP_EXIT,
	VM_CAP_PAUSE_EXIT,
	VM_CAP_UNRESTRICTED_GUEST,
	VM_CAP_MAX
};

enum vm_suspend_how {
	VM_SUSPEND_NONE,
	VM_SUSPEND_RESET,
	VM_SUSPEND_POWEROFF,
	VM_SUSPEND_HALT,
	VM_SUSPEND_TRIPLEFAULT,
	VM_SUSPEND_EXIT,  /* the guest wrote its status to the debug-exit port */
	VM_SUSPEND_ERROR, /* hv could not go on running it (entry failure, emulation error) */
};

enum vm_exitcode {
	VM_EXITCODE_NONE, /* handled inside the backend; just resume */
	VM_EXITCODE_INOUT,
	VM_EXITCODE_RDMSR,
	VM_EXITCODE_WRMSR,
	VM_EXITCODE_CPUID,
	VM_EXITCODE_HLT,
	VM_EXITCODE_PAUSE,
	VM_EXITCODE_MTRAP,
	VM_EXITCODE_PAGING,	  /* nested-paging fault on guest memory hv did not map */
	VM_EXITCODE_INST_EMUL,	  /* MMIO: decode and emulate at exit.u.paging.gpa */
	VM_EXITCODE_SPINUP_AP,
	VM_EXITCODE_SUSPENDED,
	VM_EXITCODE_TASK_SWITCH,
	VM_EXITCODE_MONITOR,
	VM_EXITCODE_MWAIT,
	VM_EXITCODE_DEBUG,
	VM_EXITCODE_VMINSN,	  /* a VMX or SVM instruction: the guest gets #UD */
	VM_EXITCODE_TRIPLE_FAULT,
	VM_EXITCODE_INIT,	  /* INIT signal arrived for this vcpu */
	VM_EXITCODE_XSETBV,
	VM_EXITCODE_INVD,	  /* INVD/WBINVD: nothing to do for a guest that does not share caches */
	VM_EXITCODE_ENTRY_FAILED, /* the backend could not enter the guest; details in u.fail */
	VM_EXITCODE_BOGUS,	  /* an exit the backend did not expect; details in u.fail */
	VM_EXITCODE_EXTINT,	  /* a host interrupt or NMI (a kick, a timer): the host took it */
	VM_EXITCODE_INTR_WINDOW,  /* the guest can now take the interrupt or NMI hv holds */
	VM_EXITCODE_MAX
};

struct vm_exit {
	enum vm_exitcode code;
	uint32_t inst_length; /* bytes to skip when the exit is handled; 0 = re-execute */
	uint64_t rip;
	union {
		struct {
			uint16_t port;
			uint8_t bytes; /* 1, 2 or 4 */
			bool in;
			bool string;
			bool rep;
			uint8_t addr_size; /* string I/O: 2, 4 or 8 */
			uint8_t seg;	   /* string OUTS: the source segment (VM_REG_ES.. order) */
		} inout;
		struct {
			uint32_t msr;
		} msr;
		struct {
			uint64_t gpa;
			uint64_t gla;
			bool write;
			bool fetch;
			bool gla_valid;
			bool final; /* gpa is where the access's linear address led, not a guest table entry */
		} paging;
		struct {
			uint32_t apic_id;
			uint64_t rip;
		} spinup_ap;
		struct {
			enum vm_suspend_how how;
		} suspended;
		struct {
			uint64_t reason; /* raw backend exit code (VMX basic reason / SVM exit code) */
			uint64_t qualification;
			uint64_t info;	 /* VM-instruction error / EXITINFO2 */
			const char *what;
		} fail;
	} u;
};

/* Event injection (SDM vol. 3 24.8.3 layout, which SVM's EVENTINJ shares). */
#define VM_INTINFO_VECTOR(info) ((info) & 0xff)
#define VM_INTINFO_TYPE_MASK 0x700
#define VM_INTINFO_HWINTR (0u << 8)
#define VM_INTINFO_NMI (2u << 8)
#define VM_INTINFO_HWEXCEPTION (3u << 8)
#define VM_INTINFO_SWINTR (4u << 8)
#define VM_INTINFO_DEL_ERRCODE 0x800
#define VM_INTINFO_VALID 0x80000000u

/* Exception vectors the core raises. */
#define IDT_DE 0
#define IDT_DB 1
#define IDT_NMI 2
#define IDT_BP 3
#define IDT_UD 6
#define IDT_DF 8
#define IDT_TS 10
#define IDT_NP 11
#define IDT_SS 12
#define IDT_GP 13
#define IDT_PF 14
#define IDT_AC 17
#define IDT_CP 21

struct vm;
struct vcpu;
struct vlapic;
struct vplatform;

#define VM_MAX_IOPORTS 16

/* A device's port range; the handler moves bytes (1, 2 or 4) in *value and returns false only when
 * the access is one the device refuses (the core then behaves as for an unclaimed port). */
typedef bool (*ioport_handler_t)(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

struct vm_ioport {
	uint16_t first, last;
	ioport_handler_t handler;
	void *dev;
	bool interrupts; /* an access may change interrupt lines or timers: re-evaluate after it */
};

#define VM_MAX_MMIO 8

/* A device's guest-physical range; offset is from its base, size 1/2/4/8. false: the device
 * failed the access in a way hv cannot complete (the VM stops). */
typedef bool (*mmio_handler_t)(void *dev, uint64_t offset, unsigned size, bool write, uint64_t *value);

struct vm_mmio {
	uint64_t base, len;
	mmio_handler_t handler;
	void *dev;
	bool timers; /* a write may bring a timer deadline forward (a read at most runs due timers,
			which only moves deadlines later); other accesses change only what is pending */
};

/* One backend (VMX or SVM). Per-VM and per-vCPU state is the backend's own, behind a void *. */
struct vmm_ops {
	const char *name;
	/* Whole-machine checks on the bootstrap CPU; NULL or a sentence saying what is missing. */
	const char *(*probe)(void);
	/* Enable virtualization on the calling CPU (VMXON / EFER.SVME); false on failure. */
	bool (*cpu_init)(void);
	void *(*vm_init)(struct vm *vm);
	/* Map guest-physical [gpa, gpa+len) to host-physical hpa (all 4 KiB aligned). */
	bool (*map)(void *vmi, uint64_t gpa, uint64_t hpa, uint64_t len);
	/* Called on the physical CPU that will run the vcpu. */
	void *(*vcpu_init)(void *vmi, struct vcpu *vcpu);
	/* Enter the guest until one exit the core must see; fills *exit. */
	void (*run)(void *vcpui, struct vm_exit *exit);
	uint64_t (*get_reg)(void *vcpui, enum vm_reg reg);
	void (*set_reg)(void *vcpui, enum vm_reg reg, uint64_t value);
	void (*get_desc)(void *vcpui, enum vm_reg seg, struct seg_desc *desc);
	void (*set_desc)(void *vcpui, enum vm_reg seg, const struct seg_desc *desc);
	bool (*set_cap)(void *vcpui, enum vm_cap cap, bool on);
	/* Ask for an exit as soon as the guest can take an external interrupt / NMI. */
	void (*request_intr_window)(void *vcpui, bool nmi);
	void (*set_tsc_offset)(void *vcpui, uint64_t offset);
};

/* A guest-physical range backed by host memory. */
struct vm_memseg {
	uint64_t gpa;
	uint64_t len;
	uint64_t hpa;
	void *hva;
};

/* Where a loader wants the vcpu to start; applied on the vcpu's own CPU when it first runs. */
struct vcpu_boot_state {
	bool valid;
	uint64_t rip, rsp, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gpr[VM_GPR_COUNT];
	struct seg_desc code, data; /* CS, and DS/ES/FS/GS/SS */
	struct seg_desc gdtr, idtr;
};

enum vcpu_state {
	VCPU_IDLE,	/* not started (an AP waiting for INIT-SIPI) */
	VCPU_RUNNING,
	VCPU_HALTED,
	VCPU_STOPPED,
};

/* vcpu.intr_hint values, or-ed together: a device access that cannot have moved a timer deadline
 * asks only for the pending events to be looked at again. */
#define VINTR_HINT_ALL 1u
#define VINTR_HINT_EVENTS 2u

struct vcpu {
	/* Written by the backend's entry stub on every exit: keep first and in vm_reg order. */
	uint64_t gpr[VM_GPR_COUNT];
	struct vm *vm;
	void *backend;
	uint32_t id;
	uint32_t host_cpu; /* index in cpus[] this vcpu is pinned to */
	enum vcpu_state state;
	uint32_t exc_pending; /* an event to deliver on the next entry: VM_INTINFO_* or 0 */
	uint32_t exc_errcode;
	uint32_t exc_inst_length; /* for software interrupts/exceptions being re-delivered */
	uint64_t tsc_offset;
	uint64_t mtrr_def_type;
	struct vlapic *vlapic;
	volatile uint32_t intr_hint; /* something may be deliverable: look before the next entry
					(VINTR_HINT_EVENTS alone: no timer deadline moved) */
	uint64_t deadline_tsc;	     /* host TSC of this vcpu's next timer deadline */
	bool wait_sipi;		     /* an AP before its startup IPI (or after INIT) */
	uint8_t sipi_vector;
	struct vcpu_boot_state boot;
	uint64_t exit_counts[VM_EXITCODE_MAX];
	struct vm_exit exit;
};

struct vm {
	char name[VM_NAME_MAX];
	uint32_t id;
	void *backend;
	struct vm_memseg memsegs[VM_MAX_MEMSEGS];
	uint32_t memseg_count;
	uint64_t mem_size;
	struct vcpu vcpus[VM_MAX_VCPUS];
	uint32_t vcpu_count;
	volatile enum vm_suspend_how suspended;
	uint32_t exit_status; /* with VM_SUSPEND_EXIT */
	volatile uint32_t vcpus_running;
	struct vm_ioport ioports[VM_MAX_IOPORTS];
	uint32_t ioport_count;
	struct vm_mmio mmio[VM_MAX_MMIO];
	uint32_t mmio_count;
	struct vplatform *plat;
	uint64_t acpi_base; /* guest ACPI tables: [acpi_base, mem_size), an ACPI region of the memory map */
	uint64_t acpi_rsdp; /* where the RSDP is (a copy also sits in the BIOS area for scanning) */
	uint64_t start_tsc, stop_tsc; /* host TSC at creation and when it stopped (0: running) */
};

extern const struct vmm_ops *vmm_ops;

/* vm.c: VMs and their memory */
struct vm *vm_create(const char *name, uint64_t mem_size, uint32_t vcpu_count, const char **err);
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len); /* NULL unless all of it is RAM */
void vm_suspend(struct vm *vm, enum vm_suspend_how how, const char *why);
/* The VMs that started, for the operator: vm_publish() once a VM is ready to run. */
void vm_publish(struct vm *vm);
uint32_t vm_published_count(void);
struct vm *vm_published(uint32_t index);
const char *vm_suspend_name(enum vm_suspend_how how);
/* vmstat.c: exits per reason, like kvm_stat */
const char *vm_exitcode_name(enum vm_exitcode code);
uint64_t vm_uptime_ms(const struct vm *vm);
void vm_print_exit_stats(const struct vm *vm);
/* Runs the vcpu on the calling CPU until its VM stops. */
void vcpu_run(struct vcpu *v);
uint64_t vcpu_get_reg(struct vcpu *v, enum vm_reg reg);
void vcpu_set_reg(struct vcpu *v, enum vm_reg reg, uint64_t value);

/* exception.c: event injection with the architectural nesting rules (SDM vol. 3 table 6-5) */
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_errcode, uint32_t errcode);
/* Pure: what to deliver when next arises while delivering prev (both VM_INTINFO words); 0 and
 * *triple_fault = true when the combination shuts the processor down. */
uint32_t exception_nest(uint32_t prev, uint32_t next, bool *triple_fault);

/* ioport.c */
int vm_register_ioport(struct vm *vm, uint16_t first, uint16_t last, ioport_handler_t handler, void *dev,
		       bool interrupts);


/* The exit handlers of the core; vm.c dispatches the frequent exits itself. */
void vmm_handle_exit_slow(struct vcpu *v, struct vm_exit *exit);
void vcpuid_emulate(struct vcpu *v);
extern const uint32_t vmm_passthrough_msrs[];
extern const uint32_t vmm_passthrough_msr_count;
void vmsr_rdmsr(struct vcpu *v, struct vm_exit *exit);
void vmsr_wrmsr(struct vcpu *v, struct vm_exit *exit);
void ioport_exit(struct vcpu *v, struct vm_exit *exit);
void ioport_string(struct vcpu *v, struct vm_exit *exit);
/* One access of `bytes` at port to whichever device claims it; *value in/out. */
void ioport_access(struct vcpu *v, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

/* guest_mem.c: a vcpu's view of its memory. A fault injects the exception the CPU would raise
 * and returns false. access: 0 for reads, or GPT_FETCH. */
bool vcpu_copy_from_guest(struct vcpu *v, uint64_t gla, void *buf, size_t len, uint32_t access);
bool vcpu_copy_to_guest(struct vcpu *v, uint64_t gla, const void *buf, size_t len);
struct gpt_cpu;
struct gpt_result;
/* What a guest page walk needs (with paging off: CR0 and EFER, the rest zero). */
void vcpu_paging_state(struct vcpu *v, struct gpt_cpu *cpu);
/* struct gpt_access callbacks over a VM's RAM (ctx = struct vm *). */
bool guest_ram_read(uint64_t gpa, void *buf, uint32_t len, void *ctx);
bool guest_ram_write(uint64_t gpa, const void *buf, uint32_t len, void *ctx);
/* The exception a failed guest page walk raises (#PF with CR2, or #GP); false when it did not fail. */
struct gpt_fault {
	uint8_t vector;
	uint32_t errcode;
	uint64_t cr2;
};
bool gpt_fault_exception(const struct gpt_result *res, struct gpt_fault *fault);
void mmio_exit(struct vcpu *v, struct vm_exit *exit);
int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len, mmio_handler_t handler, void *dev, bool timers);
/* vintr.c: events and time for a vcpu */
bool vcpu_interrupt_pending(struct vcpu *v);
void vintr_before_entry(struct vcpu *v);
void vcpu_halt_until_event(struct vcpu *v);
void vcpu_wait_for_sipi(struct vcpu *v);
/* vm.c: the state INIT-SIPI leaves an AP in, starting at cs:ip in real mode */
void vcpu_reset_to_real_mode(struct vcpu *v, uint16_t cs, uint16_t ip);

#endif
