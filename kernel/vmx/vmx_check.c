/*
 * Naming what broke a VM entry. The CPU reports only a VM-instruction error number (VMfailValid:
 * 7 = a control field, 8 = a host-state field) or an exit reason with the entry-failure bit (33 =
 * guest state, 34 = MSR loading); hv reads the VMCS back, applies the rules the CPU applied and names
 * the VMCS field of the first one broken, as one sentence for exit->u.fail.what.
 *
 * Rules: Intel SDM vol. 3C, chapter 27 "VM Entries" (27.2.1 VMX controls, 27.2.2-27.2.4 host state,
 * 27.3.1 guest state, 27.8 failures during or after loading guest state) and 31.4 "VM Instruction
 * Error Numbers" (chapters 26 and 30 in editions before 2023). Each RULE below is one bullet of those
 * sections, in their order; features hv never turns on (SMM, CET, PT, TSC scaling, ...) are left out.
 */
#include <hv/fmt.h>
#include <hv/x86.h>
#include <stdarg.h>

#include "vmcs.h"
#include "vmx.h"

/* Capability MSR bits (SDM vol. 3D appendix A). */
#define CK_BASIC_TRUE_CONTROLS (1ull << 55)
#define CK_BASIC_ANY_ERRCODE (1ull << 56) /* hardware exceptions injected with or without error code */
#define CK_MISC_CR3_TARGETS(m) (((m) >> 16) & 0x1ff)
#define CK_MISC_ZERO_LEN_INJECT (1ull << 30)
#define CK_EPT_CAP_WALK4 (1ull << 6)
#define CK_EPT_CAP_WALK5 (1ull << 7)
#define CK_EPT_CAP_UC (1ull << 8)
#define CK_EPT_CAP_WB (1ull << 14)
#define CK_EPT_CAP_AD (1ull << 21)

/* Controls and fields hv does not use (so vmcs.h does not name them) but a mistake could set. */
#define CK_VMCS_PML_ADDR 0x200e
#define CK_VMCS_VIRTUAL_APIC_ADDR 0x2012
#define CK_VMCS_APIC_ACCESS_ADDR 0x2014
#define CK_PIN_PREEMPTION_TIMER (1u << 6)
#define CK_PIN_POSTED_INTERRUPTS (1u << 7)
#define CK_PROC_TPR_SHADOW (1u << 21)
#define CK_PROC2_VIRTUALIZE_APIC (1u << 0)
#define CK_PROC2_X2APIC_MODE (1u << 4)
#define CK_PROC2_APIC_REGISTER_VIRT (1u << 8)
#define CK_PROC2_VIRTUAL_INTR_DELIVERY (1u << 9)
#define CK_PROC2_PML (1u << 17)
#define CK_EXIT_SAVE_PREEMPTION_TIMER (1u << 22)
#define CK_ENTRY_TO_SMM (1u << 10)
#define CK_ENTRY_DEACTIVATE_DUAL_MONITOR (1u << 11)

#define CK_CR0_WP (1ull << 16)
#define CK_CR4_PCIDE (1ull << 17)
#define CK_CR4_CET (1ull << 23)
#define CK_RFLAGS_RESERVED 0xffffffffffc08028ull /* 63:22, 15, 5, 3 */
#define CK_RFLAGS_TF (1ull << 8)
#define CK_RFLAGS_VM (1ull << 17)
#define CK_DEBUGCTL_BTF (1ull << 1)
#define CK_DEBUGCTL_RESERVED 0xffffffffffff003cull /* 5:2, 63:16 */
#define CK_EFER_RESERVED (~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
#define CK_PENDING_DBG_RESERVED 0xfffffffffffeaff0ull /* 11:4, 13, 15, 63:17 */
#define CK_PENDING_DBG_BS (1ull << 14)
#define CK_INTERRUPTIBILITY_SMI (1u << 2)
#define CK_INTERRUPTIBILITY_RESERVED 0xffffffe0u
#define CK_PDPTE_RESERVED 0x1e6ull /* 2:1, 8:5, and the bits above MAXPHYADDR */

#define CK_AR_TYPE(ar) ((ar) & 0xf)
#define CK_AR_S (1u << 4)
#define CK_AR_DPL(ar) (((ar) >> 5) & 3)
#define CK_AR_RESERVED 0xfffe0f00u /* 11:8, 31:17 */

enum { ACTIVITY_ACTIVE, ACTIVITY_HLT, ACTIVITY_SHUTDOWN, ACTIVITY_WAIT_SIPI };
enum { EVENT_EXTINT = 0, EVENT_NMI = 2, EVENT_HWEXC = 3, EVENT_SWINT = 4, EVENT_PRIV_SWEXC = 5,
       EVENT_SWEXC = 6, EVENT_OTHER = 7 };
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

static const char *const seg_name[SEG_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };
static const char *const host_sel_name[] = { "ES", "CS", "SS", "DS", "FS", "GS", "TR" };

struct seg {
	uint16_t sel;
	uint64_t base;
	uint32_t limit, ar;
	bool usable;
};

/* The VMCS as the checks see it, read once; plus the capability MSRs the CPU checks against. */
struct view {
	uint64_t basic, misc, ept_cap, cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t pin_cap, proc_cap, proc2_cap, exit_cap, entry_cap;
	const char *pin_msr, *proc_msr, *exit_msr, *entry_msr;
	unsigned phys_bits, lin_bits;

	uint32_t pin, proc, proc2, exit, entry, cr3_targets, tpr_threshold;
	uint64_t io_a, io_b, msr_bitmap, eptp, virtual_apic, apic_access, pml;
	uint16_t vpid;
	uint32_t exit_store_count, exit_load_count, entry_load_count;
	uint64_t exit_store_addr, exit_load_addr, entry_load_addr;
	uint32_t event, event_error, event_len;

	uint64_t h_cr0, h_cr3, h_cr4, h_base_fs, h_base_gs, h_base_tr, h_base_gdtr, h_base_idtr;
	uint64_t h_sysenter_esp, h_sysenter_eip, h_pat, h_efer, h_rip;
	uint16_t h_sel[7]; /* ES CS SS DS FS GS TR */

	uint64_t g_cr0, g_cr3, g_cr4, g_dr7, g_debugctl, g_efer, g_pat, g_sysenter_esp, g_sysenter_eip;
	uint64_t g_rip, g_rflags, g_pending_dbg, g_link, g_pdpte[4];
	uint64_t g_gdtr_base, g_idtr_base;
	uint32_t g_gdtr_limit, g_idtr_limit, g_activity, g_interruptibility;
	struct seg g[SEG_COUNT];

	bool ug, ia32e, v86; /* unrestricted guest, IA-32e mode guest, RFLAGS.VM */
};

struct report {
	char text[104];
};

static bool broken(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool broken(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	return false;
}

/* One rule: when it does not hold, name the field and the rule; the check stops at the first. */
#define RULE(holds, ...)                                  \
	do {                                              \
		if (!(holds))                             \
			return broken(r, __VA_ARGS__);    \
	} while (0)

static unsigned low_bit(uint64_t v) { return (unsigned)__builtin_ctzll(v); }
static bool canonical(uint64_t a, unsigned bits)
{
	return (uint64_t)((int64_t)(a << (64 - bits)) >> (64 - bits)) == a;
}
/* Bits 63:bits all equal (the guest-RIP rule, one bit weaker than canonical). */
static bool upper_bits_same(uint64_t a, unsigned bits) { return bits >= 64 || canonical(a, bits + 1); }
static bool within_phys(uint64_t a, unsigned bits) { return bits >= 64 || !(a >> bits); }
static bool page_address_ok(uint64_t a, unsigned bits) { return !(a & 0xfff) && within_phys(a, bits); }

static const char *const cr0_bit[32] = { [0] = "PE", [1] = "MP", [2] = "EM", [3] = "TS", [4] = "ET", [5] = "NE",
					 [16] = "WP", [18] = "AM", [29] = "NW", [30] = "CD", [31] = "PG" };
static const char *const cr4_bit[32] = { "VME", "PVI", "TSD", "DE", "PSE", "PAE", "MCE", "PGE", "PCE", "OSFXSR",
					 "OSXMMEXCPT", "UMIP", "LA57", "VMXE", "SMXE", NULL, "FSGSBASE", "PCIDE",
					 "OSXSAVE", "KL", "SMEP", "SMAP", "PKE", "CET", "PKS", "UINTR" };

static const char *bit_name(const char *const *names, unsigned bit)
{
	return bit < 32 && names[bit] ? names[bit] : "reserved";
}

/* A CR0/CR4 value against IA32_VMX_CRn_FIXED0/1 (SDM vol. 3D A.7, A.8); exempt bits are not checked. */
static bool fixed_bits(struct report *r, const char *field, const char *const *names, uint64_t value,
		       uint64_t fixed0, uint64_t fixed1, uint64_t exempt)
{
	uint64_t must_be_1 = fixed0 & ~exempt & ~value, must_be_0 = value & ~fixed1;

	RULE(!must_be_1, "%s: bit %u (%s) must be 1 (is 0x%lx)", field, low_bit(must_be_1),
	     bit_name(names, low_bit(must_be_1)), value);
	RULE(!must_be_0, "%s: bit %u (%s) must be 0 (is 0x%lx)", field, low_bit(must_be_0),
	     bit_name(names, low_bit(must_be_0)), value);
	return true;
}

/* Each byte of IA32_PAT a valid memory type: UC 0, WC 1, WT 4, WP 5, WB 6, UC- 7. */
static bool pat_ok(struct report *r, const char *field, uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned type = (pat >> (8 * i)) & 0xff;
		RULE(type <= 7 && type != 2 && type != 3, "%s: entry %u has invalid memory type %u", field, i, type);
	}
	return true;
}

static uint32_t vmread32(uint64_t field) { return (uint32_t)vmread(field); }

static void read_view(struct view *s)
{
	uint32_t widths = cpuid(0x80000000, 0).eax >= 0x80000008 ? cpuid(0x80000008, 0).eax : 0;
	unsigned phys = widths & 0xff, lin = (widths >> 8) & 0xff;
	bool true_ctls;

	s->phys_bits = phys >= 32 && phys <= 64 ? phys : 36;
	s->lin_bits = lin >= 32 && lin <= 64 ? lin : 48;
	s->basic = rdmsr(MSR_IA32_VMX_BASIC);
	true_ctls = s->basic & CK_BASIC_TRUE_CONTROLS;
	s->misc = rdmsr(MSR_IA32_VMX_MISC);
	s->ept_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	s->cr0_fixed0 = vmx_caps.cr0_fixed0;
	s->cr0_fixed1 = vmx_caps.cr0_fixed1;
	s->cr4_fixed0 = vmx_caps.cr4_fixed0;
	s->cr4_fixed1 = vmx_caps.cr4_fixed1;
	s->pin_msr = true_ctls ? "TRUE_PINBASED_CTLS" : "PINBASED_CTLS";
	s->proc_msr = true_ctls ? "TRUE_PROCBASED_CTLS" : "PROCBASED_CTLS";
	s->exit_msr = true_ctls ? "TRUE_EXIT_CTLS" : "EXIT_CTLS";
	s->entry_msr = true_ctls ? "TRUE_ENTRY_CTLS" : "ENTRY_CTLS";
	s->pin_cap = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	s->proc_cap = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	s->exit_cap = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	s->entry_cap = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);

	s->pin = vmread32(VMCS_PIN_BASED_CTLS);
	s->proc = vmread32(VMCS_PROC_BASED_CTLS);
	/* Without "activate secondary controls" the CPU treats them as 0 (and the MSR may not exist). */
	s->proc2_cap = s->proc_cap >> 63 ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
	s->proc2 = s->proc & PROC_ACTIVATE_SECONDARY ? vmread32(VMCS_PROC_BASED_CTLS2) : 0;
	s->exit = vmread32(VMCS_EXIT_CTLS);
	s->entry = vmread32(VMCS_ENTRY_CTLS);
	s->cr3_targets = vmread32(VMCS_CR3_TARGET_COUNT);
	s->io_a = vmread(VMCS_IO_BITMAP_A);
	s->io_b = vmread(VMCS_IO_BITMAP_B);
	s->msr_bitmap = vmread(VMCS_MSR_BITMAP);
	if (s->proc & CK_PROC_TPR_SHADOW) {
		s->virtual_apic = vmread(CK_VMCS_VIRTUAL_APIC_ADDR);
		s->tpr_threshold = vmread32(VMCS_TPR_THRESHOLD);
	}
	if (s->proc2 & CK_PROC2_VIRTUALIZE_APIC)
		s->apic_access = vmread(CK_VMCS_APIC_ACCESS_ADDR);
	if (s->proc2 & CK_PROC2_PML)
		s->pml = vmread(CK_VMCS_PML_ADDR);
	if (s->proc2 & PROC2_ENABLE_EPT)
		s->eptp = vmread(VMCS_EPT_POINTER);
	if (s->proc2 & PROC2_ENABLE_VPID)
		s->vpid = (uint16_t)vmread(VMCS_VPID);
	s->exit_store_count = vmread32(VMCS_EXIT_MSR_STORE_COUNT);
	s->exit_load_count = vmread32(VMCS_EXIT_MSR_LOAD_COUNT);
	s->entry_load_count = vmread32(VMCS_ENTRY_MSR_LOAD_COUNT);
	s->exit_store_addr = vmread(VMCS_EXIT_MSR_STORE_ADDR);
	s->exit_load_addr = vmread(VMCS_EXIT_MSR_LOAD_ADDR);
	s->entry_load_addr = vmread(VMCS_ENTRY_MSR_LOAD_ADDR);
	s->event = vmread32(VMCS_ENTRY_INTR_INFO);
	s->event_error = vmread32(VMCS_ENTRY_EXCEPTION_ERROR);
	s->event_len = vmread32(VMCS_ENTRY_INST_LENGTH);

	s->h_cr0 = vmread(VMCS_HOST_CR0);
	s->h_cr3 = vmread(VMCS_HOST_CR3);
	s->h_cr4 = vmread(VMCS_HOST_CR4);
	for (unsigned i = 0; i < 7; i++)
		s->h_sel[i] = (uint16_t)vmread(VMCS_HOST_ES_SELECTOR + 2 * i);
	s->h_base_fs = vmread(VMCS_HOST_FS_BASE);
	s->h_base_gs = vmread(VMCS_HOST_GS_BASE);
	s->h_base_tr = vmread(VMCS_HOST_TR_BASE);
	s->h_base_gdtr = vmread(VMCS_HOST_GDTR_BASE);
	s->h_base_idtr = vmread(VMCS_HOST_IDTR_BASE);
	s->h_sysenter_esp = vmread(VMCS_HOST_SYSENTER_ESP);
	s->h_sysenter_eip = vmread(VMCS_HOST_SYSENTER_EIP);
	s->h_pat = s->exit & EXIT_LOAD_PAT ? vmread(VMCS_HOST_IA32_PAT) : 0;
	s->h_efer = s->exit & EXIT_LOAD_EFER ? vmread(VMCS_HOST_IA32_EFER) : 0;
	s->h_rip = vmread(VMCS_HOST_RIP);

	s->g_cr0 = vmread(VMCS_GUEST_CR0);
	s->g_cr3 = vmread(VMCS_GUEST_CR3);
	s->g_cr4 = vmread(VMCS_GUEST_CR4);
	s->g_dr7 = vmread(VMCS_GUEST_DR7);
	s->g_debugctl = vmread(VMCS_GUEST_IA32_DEBUGCTL);
	s->g_efer = s->entry & ENTRY_LOAD_EFER ? vmread(VMCS_GUEST_IA32_EFER) : 0;
	s->g_pat = s->entry & ENTRY_LOAD_PAT ? vmread(VMCS_GUEST_IA32_PAT) : 0;
	s->g_sysenter_esp = vmread(VMCS_GUEST_SYSENTER_ESP);
	s->g_sysenter_eip = vmread(VMCS_GUEST_SYSENTER_EIP);
	s->g_rip = vmread(VMCS_GUEST_RIP);
	s->g_rflags = vmread(VMCS_GUEST_RFLAGS);
	s->g_pending_dbg = vmread(VMCS_GUEST_PENDING_DBG);
	s->g_link = vmread(VMCS_LINK_POINTER);
	for (unsigned i = 0; i < 4; i++)
		s->g_pdpte[i] = s->proc2 & PROC2_ENABLE_EPT ? vmread(VMCS_GUEST_PDPTE0 + 2 * i) : 0;
	s->g_gdtr_base = vmread(VMCS_GUEST_GDTR_BASE);
	s->g_idtr_base = vmread(VMCS_GUEST_IDTR_BASE);
	s->g_gdtr_limit = vmread32(VMCS_GUEST_GDTR_LIMIT);
	s->g_idtr_limit = vmread32(VMCS_GUEST_IDTR_LIMIT);
	s->g_activity = vmread32(VMCS_GUEST_ACTIVITY);
	s->g_interruptibility = vmread32(VMCS_GUEST_INTERRUPTIBILITY);
	for (unsigned i = 0; i < SEG_COUNT; i++) {
		struct seg *g = &s->g[i];
		g->sel = (uint16_t)vmread(VMCS_GUEST_ES_SELECTOR + 2 * i);
		g->base = vmread(VMCS_GUEST_ES_BASE + 2 * i);
		g->limit = vmread32(VMCS_GUEST_ES_LIMIT + 2 * i);
		g->ar = vmread32(VMCS_GUEST_ES_ACCESS + 2 * i);
		g->usable = !(g->ar & SEG_ACCESS_UNUSABLE);
	}

	s->ug = s->proc2 & PROC2_UNRESTRICTED_GUEST;
	s->ia32e = s->entry & ENTRY_IA32E_MODE_GUEST;
	s->v86 = s->g_rflags & CK_RFLAGS_VM;
}

/* ---- 27.2.1 Checks on VMX controls (VM-instruction error 7) ---- */

/* Reserved control bits against the allowed-0 (bits 31:0) and allowed-1 (63:32) settings. */
static bool allowed(struct report *r, const char *field, uint32_t value, uint64_t cap, const char *msr)
{
	uint32_t must_be_1 = (uint32_t)cap & ~value, must_be_0 = value & ~(uint32_t)(cap >> 32);

	RULE(!must_be_1, "%s: bit %u must be 1 (IA32_VMX_%s)", field, low_bit(must_be_1), msr);
	RULE(!must_be_0, "%s: bit %u must be 0 (IA32_VMX_%s)", field, low_bit(must_be_0), msr);
	return true;
}

static bool eptp_ok(const struct view *s, struct report *r)
{
	uint64_t eptp = s->eptp;
	unsigned type = eptp & 7, walk = ((eptp >> 3) & 7) + 1;

	RULE((type == 0 && (s->ept_cap & CK_EPT_CAP_UC)) || (type == 6 && (s->ept_cap & CK_EPT_CAP_WB)),
	     "EPT pointer: memory type %u not supported (0x%lx)", type, eptp);
	RULE((walk == 4 && (s->ept_cap & CK_EPT_CAP_WALK4)) || (walk == 5 && (s->ept_cap & CK_EPT_CAP_WALK5)),
	     "EPT pointer: page-walk length %u not supported (0x%lx)", walk, eptp);
	RULE(!(eptp & (1u << 6)) || (s->ept_cap & CK_EPT_CAP_AD),
	     "EPT pointer: accessed/dirty flags not supported (0x%lx)", eptp);
	RULE(!(eptp & 0xf80), "EPT pointer: reserved bits 11:7 must be 0 (0x%lx)", eptp);
	RULE(within_phys(eptp, s->phys_bits), "EPT pointer: beyond the %u-bit physical width (0x%lx)", s->phys_bits,
	     eptp);
	return true;
}

/* 27.2.1.1 VM-execution control fields */
static bool execution_controls_ok(const struct view *s, struct report *r)
{
	if (!allowed(r, "pin-based controls", s->pin, s->pin_cap, s->pin_msr) ||
	    !allowed(r, "processor-based controls", s->proc, s->proc_cap, s->proc_msr) ||
	    !allowed(r, "secondary controls", s->proc2, s->proc2_cap, "PROCBASED_CTLS2"))
		return false;
	RULE(s->cr3_targets <= CK_MISC_CR3_TARGETS(s->misc), "CR3-target count: %u is above the %u supported",
	     s->cr3_targets, (unsigned)CK_MISC_CR3_TARGETS(s->misc));
	if (s->proc & PROC_USE_IO_BITMAPS) {
		RULE(page_address_ok(s->io_a, s->phys_bits),
		     "I/O bitmap A address: not 4K-aligned within the physical width (0x%lx)", s->io_a);
		RULE(page_address_ok(s->io_b, s->phys_bits),
		     "I/O bitmap B address: not 4K-aligned within the physical width (0x%lx)", s->io_b);
	}
	if (s->proc & PROC_USE_MSR_BITMAPS)
		RULE(page_address_ok(s->msr_bitmap, s->phys_bits),
		     "MSR bitmap address: not 4K-aligned within the physical width (0x%lx)", s->msr_bitmap);
	if (s->proc & CK_PROC_TPR_SHADOW) {
		RULE(page_address_ok(s->virtual_apic, s->phys_bits),
		     "virtual-APIC address: not 4K-aligned within the physical width (0x%lx)", s->virtual_apic);
		RULE((s->proc2 & CK_PROC2_VIRTUAL_INTR_DELIVERY) || !(s->tpr_threshold >> 4),
		     "TPR threshold: bits 31:4 must be 0 (is 0x%x)", s->tpr_threshold);
	} else {
		uint32_t apic_virt =
			CK_PROC2_X2APIC_MODE | CK_PROC2_APIC_REGISTER_VIRT | CK_PROC2_VIRTUAL_INTR_DELIVERY;
		RULE(!(s->proc2 & apic_virt), "secondary controls: bit %u (APIC virtualization) needs TPR shadow",
		     low_bit(s->proc2 & apic_virt));
	}
	RULE((s->pin & PIN_NMI_EXITING) || !(s->pin & PIN_VIRTUAL_NMIS),
	     "pin-based controls: virtual NMIs need NMI exiting");
	RULE((s->pin & PIN_VIRTUAL_NMIS) || !(s->proc & PROC_NMI_WINDOW_EXITING),
	     "processor-based controls: NMI-window exiting needs virtual NMIs");
	if (s->proc2 & CK_PROC2_VIRTUALIZE_APIC)
		RULE(page_address_ok(s->apic_access, s->phys_bits),
		     "APIC-access address: not 4K-aligned within the physical width (0x%lx)", s->apic_access);
	RULE(!(s->proc2 & CK_PROC2_X2APIC_MODE) || !(s->proc2 & CK_PROC2_VIRTUALIZE_APIC),
	     "secondary controls: virtualize x2APIC mode excludes virtualize APIC accesses");
	RULE(!(s->proc2 & CK_PROC2_VIRTUAL_INTR_DELIVERY) || (s->pin & PIN_EXTERNAL_INTERRUPT_EXITING),
	     "secondary controls: virtual-interrupt delivery needs external-interrupt exiting");
	RULE(!(s->pin & CK_PIN_POSTED_INTERRUPTS) ||
		     ((s->proc2 & CK_PROC2_VIRTUAL_INTR_DELIVERY) && (s->exit & EXIT_ACK_INTERRUPT)),
	     "pin-based controls: posted interrupts need virtual-interrupt delivery and ack on exit");
	RULE(!(s->proc2 & PROC2_ENABLE_VPID) || s->vpid, "VPID: must not be 0 when VPID is enabled");
	if ((s->proc2 & PROC2_ENABLE_EPT) && !eptp_ok(s, r))
		return false;
	if (s->proc2 & CK_PROC2_PML) {
		RULE(s->proc2 & PROC2_ENABLE_EPT, "secondary controls: PML needs EPT");
		RULE(page_address_ok(s->pml, s->phys_bits),
		     "PML address: not 4K-aligned within the physical width (0x%lx)", s->pml);
	}
	RULE(!(s->proc2 & PROC2_UNRESTRICTED_GUEST) || (s->proc2 & PROC2_ENABLE_EPT),
	     "secondary controls: unrestricted guest needs EPT");
	return true;
}

/* An MSR-load/store area: 16-byte aligned, every byte of it within the physical width. */
static bool msr_area_ok(struct report *r, const char *field, uint64_t addr, uint32_t count, unsigned phys_bits)
{
	if (!count)
		return true;
	RULE(!(addr & 0xf), "%s: must be 16-byte aligned (0x%lx)", field, addr);
	RULE(within_phys(addr + 16ull * count - 1, phys_bits),
	     "%s: %u entries end beyond the physical width (0x%lx)", field, count, addr);
	return true;
}

/* 27.2.1.2 VM-exit control fields */
static bool exit_controls_ok(const struct view *s, struct report *r)
{
	if (!allowed(r, "VM-exit controls", s->exit, s->exit_cap, s->exit_msr))
		return false;
	RULE((s->pin & CK_PIN_PREEMPTION_TIMER) || !(s->exit & CK_EXIT_SAVE_PREEMPTION_TIMER),
	     "VM-exit controls: save preemption timer needs the preemption timer");
	return msr_area_ok(r, "VM-exit MSR-store address", s->exit_store_addr, s->exit_store_count, s->phys_bits) &&
	       msr_area_ok(r, "VM-exit MSR-load address", s->exit_load_addr, s->exit_load_count, s->phys_bits);
}

/* Exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP. */
static bool pushes_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

/* 27.2.1.3 VM-entry control fields, event injection included */
static bool entry_controls_ok(const struct view *s, struct report *r)
{
	uint32_t info = s->event, type = (info >> 8) & 7, vector = info & 0xff;
	bool errcode = info & VM_INTINFO_DEL_ERRCODE, real_mode = s->ug && !(s->g_cr0 & CR0_PE);

	if (!allowed(r, "VM-entry controls", s->entry, s->entry_cap, s->entry_msr))
		return false;
	if (info & VM_INTINFO_VALID) {
		RULE(type != 1 && (type != EVENT_OTHER || ((s->proc_cap >> 32) & PROC_MONITOR_TRAP_FLAG)),
		     "VM-entry interruption info: type %u is reserved (0x%x)", type, info);
		RULE(type != EVENT_NMI || vector == 2, "VM-entry interruption info: an NMI has vector 2 (is %u)",
		     vector);
		RULE(type != EVENT_HWEXC || vector <= 31,
		     "VM-entry interruption info: exception vector must be at most 31 (is %u)", vector);
		RULE(type != EVENT_OTHER || vector == 0, "VM-entry interruption info: other event has vector 0 (is %u)",
		     vector);
		RULE(!errcode || !real_mode, "VM-entry interruption info: no error code in real mode (CR0.PE=0)");
		RULE(!errcode || type == EVENT_HWEXC, "VM-entry interruption info: type %u has no error code", type);
		if (type == EVENT_HWEXC && !real_mode && !(s->basic & CK_BASIC_ANY_ERRCODE))
			RULE(errcode == pushes_error_code(vector),
			     "VM-entry interruption info: vector %u %s an error code", vector,
			     errcode ? "does not push" : "pushes");
		RULE(!(info & 0x7ffff000), "VM-entry interruption info: reserved bits 30:12 must be 0 (0x%x)", info);
		RULE(!errcode || !(s->event_error >> 16), "VM-entry exception error code: bits 31:16 must be 0 (0x%x)",
		     s->event_error);
		if (type == EVENT_SWINT || type == EVENT_PRIV_SWEXC || type == EVENT_SWEXC)
			RULE((s->event_len >= 1 && s->event_len <= 15) ||
				     (s->event_len == 0 && (s->misc & CK_MISC_ZERO_LEN_INJECT)),
			     "VM-entry instruction length: must be 1-15 for a software event (is %u)", s->event_len);
	}
	if (!msr_area_ok(r, "VM-entry MSR-load address", s->entry_load_addr, s->entry_load_count, s->phys_bits))
		return false;
	RULE(!(s->entry & (CK_ENTRY_TO_SMM | CK_ENTRY_DEACTIVATE_DUAL_MONITOR)),
	     "VM-entry controls: entry to SMM/deactivate dual-monitor outside SMM");
	return true;
}

static bool controls_ok(const struct view *s, struct report *r)
{
	return execution_controls_ok(s, r) && exit_controls_ok(s, r) && entry_controls_ok(s, r);
}

/* ---- 27.2.2-27.2.4 Checks on host state (VM-instruction error 8) ---- */

static bool host_ok(const struct view *s, struct report *r)
{
	bool host64 = s->exit & EXIT_HOST_ADDRESS_SPACE_SIZE;
	bool efer_lma = rdmsr(MSR_EFER) & EFER_LMA; /* the CPU executing VMLAUNCH/VMRESUME */

	/* 27.2.4 address-space size first: a wrong control also breaks the EFER and CR4 rules below */
	RULE(!efer_lma || host64, "VM-exit controls: host address-space size must be 1 on a 64-bit host");
	RULE(efer_lma || (!host64 && !s->ia32e), "VM-exit/entry controls: 64-bit host or guest on a 32-bit host");
	/* 27.2.2 host control registers and MSRs */
	if (!fixed_bits(r, "host CR0", cr0_bit, s->h_cr0, s->cr0_fixed0, s->cr0_fixed1, 0) ||
	    !fixed_bits(r, "host CR4", cr4_bit, s->h_cr4, s->cr4_fixed0, s->cr4_fixed1, 0))
		return false;
	RULE(within_phys(s->h_cr3, s->phys_bits), "host CR3: bits above the %u-bit physical width (0x%lx)",
	     s->phys_bits, s->h_cr3);
	RULE(canonical(s->h_sysenter_esp, s->lin_bits), "host IA32_SYSENTER_ESP: not canonical (0x%lx)",
	     s->h_sysenter_esp);
	RULE(canonical(s->h_sysenter_eip, s->lin_bits), "host IA32_SYSENTER_EIP: not canonical (0x%lx)",
	     s->h_sysenter_eip);
	if ((s->exit & EXIT_LOAD_PAT) && !pat_ok(r, "host IA32_PAT", s->h_pat))
		return false;
	if (s->exit & EXIT_LOAD_EFER) {
		RULE(!(s->h_efer & CK_EFER_RESERVED), "host IA32_EFER: reserved bit %u set (0x%lx)",
		     low_bit(s->h_efer & CK_EFER_RESERVED), s->h_efer);
		RULE(!(s->h_efer & EFER_LMA) == !host64, "host IA32_EFER: LMA must equal host address-space size (%u)",
		     host64);
		RULE(!(s->h_efer & EFER_LME) == !host64, "host IA32_EFER: LME must equal host address-space size (%u)",
		     host64);
	}
	/* 27.2.3 host segment and descriptor-table registers */
	for (unsigned i = 0; i < 7; i++)
		RULE(!(s->h_sel[i] & 7), "host %s selector: RPL and TI must be 0 (is 0x%x)", host_sel_name[i],
		     s->h_sel[i]);
	RULE(s->h_sel[1], "host CS selector: must not be 0");
	RULE(s->h_sel[6], "host TR selector: must not be 0");
	RULE(host64 || s->h_sel[2], "host SS selector: must not be 0 without host address-space size");
	RULE(canonical(s->h_base_fs, s->lin_bits), "host FS base: not canonical (0x%lx)", s->h_base_fs);
	RULE(canonical(s->h_base_gs, s->lin_bits), "host GS base: not canonical (0x%lx)", s->h_base_gs);
	RULE(canonical(s->h_base_gdtr, s->lin_bits), "host GDTR base: not canonical (0x%lx)", s->h_base_gdtr);
	RULE(canonical(s->h_base_idtr, s->lin_bits), "host IDTR base: not canonical (0x%lx)", s->h_base_idtr);
	RULE(canonical(s->h_base_tr, s->lin_bits), "host TR base: not canonical (0x%lx)", s->h_base_tr);
	/* 27.2.4 what the address-space size implies */
	if (host64) {
		RULE(s->h_cr4 & CR4_PAE, "host CR4: PAE must be 1 with host address-space size");
		RULE(canonical(s->h_rip, s->lin_bits), "host RIP: not canonical (0x%lx)", s->h_rip);
	} else {
		RULE(!s->ia32e, "VM-entry controls: IA-32e mode guest needs host address-space size");
		RULE(!(s->h_cr4 & CK_CR4_PCIDE), "host CR4: PCIDE must be 0 without host address-space size");
		RULE(!(s->h_rip >> 32), "host RIP: bits 63:32 must be 0 on a 32-bit host (0x%lx)", s->h_rip);
	}
	return true;
}

/* ---- 27.3.1 Checks on the guest-state area (exit reason 33) ---- */

/* 27.3.1.1 guest control registers, debug registers and MSRs */
static bool guest_registers_ok(const struct view *s, struct report *r)
{
	uint64_t pe_pg = s->ug ? CR0_PE | CR0_PG : 0; /* unrestricted guest lifts the fixed PE and PG */

	if (!fixed_bits(r, "guest CR0", cr0_bit, s->g_cr0, s->cr0_fixed0, s->cr0_fixed1, pe_pg))
		return false;
	RULE(!(s->g_cr0 & CR0_PG) || (s->g_cr0 & CR0_PE), "guest CR0: PG set without PE (0x%lx)", s->g_cr0);
	if (!fixed_bits(r, "guest CR4", cr4_bit, s->g_cr4, s->cr4_fixed0, s->cr4_fixed1, 0))
		return false;
	RULE(!(s->g_cr4 & CK_CR4_CET) || (s->g_cr0 & CK_CR0_WP), "guest CR4: CET needs CR0.WP");
	if (s->entry & ENTRY_LOAD_DEBUG_CONTROLS)
		RULE(!(s->g_debugctl & CK_DEBUGCTL_RESERVED), "guest IA32_DEBUGCTL: reserved bit %u set (0x%lx)",
		     low_bit(s->g_debugctl & CK_DEBUGCTL_RESERVED), s->g_debugctl);
	if (s->ia32e) {
		RULE(s->g_cr0 & CR0_PG, "VM-entry controls: IA-32e mode guest needs guest CR0.PG (0x%lx)",
		     s->g_cr0);
		RULE(s->g_cr4 & CR4_PAE, "VM-entry controls: IA-32e mode guest needs guest CR4.PAE (0x%lx)",
		     s->g_cr4);
	} else {
		RULE(!(s->g_cr4 & CK_CR4_PCIDE), "guest CR4: PCIDE needs IA-32e mode guest (0x%lx)", s->g_cr4);
	}
	RULE(within_phys(s->g_cr3, s->phys_bits), "guest CR3: bits above the %u-bit physical width (0x%lx)",
	     s->phys_bits, s->g_cr3);
	if (s->entry & ENTRY_LOAD_DEBUG_CONTROLS)
		RULE(!(s->g_dr7 >> 32), "guest DR7: bits 63:32 must be 0 (0x%lx)", s->g_dr7);
	RULE(canonical(s->g_sysenter_esp, s->lin_bits), "guest IA32_SYSENTER_ESP: not canonical (0x%lx)",
	     s->g_sysenter_esp);
	RULE(canonical(s->g_sysenter_eip, s->lin_bits), "guest IA32_SYSENTER_EIP: not canonical (0x%lx)",
	     s->g_sysenter_eip);
	if ((s->entry & ENTRY_LOAD_PAT) && !pat_ok(r, "guest IA32_PAT", s->g_pat))
		return false;
	if (s->entry & ENTRY_LOAD_EFER) {
		RULE(!(s->g_efer & CK_EFER_RESERVED), "guest IA32_EFER: reserved bit %u set (0x%lx)",
		     low_bit(s->g_efer & CK_EFER_RESERVED), s->g_efer);
		RULE(!(s->g_efer & EFER_LMA) == !s->ia32e,
		     "guest IA32_EFER: LMA must equal IA-32e mode guest (%u; 0x%lx)", s->ia32e, s->g_efer);
		RULE(!(s->g_cr0 & CR0_PG) || !(s->g_efer & EFER_LME) == !(s->g_efer & EFER_LMA),
		     "guest IA32_EFER: LME must equal LMA when CR0.PG=1 (0x%lx)", s->g_efer);
	}
	return true;
}

/* G flag against the limit: limit[11:0] not all ones needs G=0, limit[31:20] not zero needs G=1. */
static bool granularity_ok(struct report *r, const char *name, const struct seg *g)
{
	RULE((g->limit & 0xfff) == 0xfff || !(g->ar & SEG_ACCESS_G),
	     "guest %s access rights: G must be 0 with limit 0x%x", name, g->limit);
	RULE(!(g->limit & 0xfff00000) || (g->ar & SEG_ACCESS_G),
	     "guest %s access rights: G must be 1 with limit 0x%x", name, g->limit);
	return true;
}

/* ES, CS, SS, DS, FS, GS outside virtual-8086 mode */
static bool code_data_segment_ok(const struct view *s, struct report *r, unsigned i)
{
	const struct seg *g = &s->g[i], *cs = &s->g[SEG_CS], *ss = &s->g[SEG_SS];
	const char *name = seg_name[i];
	unsigned type = CK_AR_TYPE(g->ar), dpl = CK_AR_DPL(g->ar), rpl = g->sel & 3;

	if (i == SEG_FS || i == SEG_GS)
		RULE(canonical(g->base, s->lin_bits), "guest %s base: not canonical (0x%lx)", name, g->base);
	if (i == SEG_CS || (g->usable && (i == SEG_SS || i == SEG_DS || i == SEG_ES)))
		RULE(!(g->base >> 32), "guest %s base: bits 63:32 must be 0 (0x%lx)", name, g->base);
	if (i == SEG_SS) { /* SS.DPL is the CPL: these hold even for an unusable SS */
		RULE(s->ug || rpl == (cs->sel & 3u), "guest SS selector: RPL must equal CS.RPL (SS 0x%x, CS 0x%x)",
		     g->sel, cs->sel);
		RULE(s->ug || dpl == rpl, "guest SS access rights: DPL %u must equal SS.RPL %u", dpl, rpl);
		RULE((CK_AR_TYPE(cs->ar) != 3 && (s->g_cr0 & CR0_PE)) || dpl == 0,
		     "guest SS access rights: DPL must be 0 in real mode or with CS type 3 (is %u)", dpl);
	}
	if (i != SEG_CS && !g->usable)
		return true;
	if (i == SEG_CS) {
		RULE(type == 9 || type == 11 || type == 13 || type == 15 || (s->ug && type == 3),
		     "guest CS access rights: type must be %s (is %u)",
		     s->ug ? "3, 9, 11, 13 or 15" : "9, 11, 13 or 15", type);
	} else if (i == SEG_SS) {
		RULE(type == 3 || type == 7, "guest SS access rights: type must be 3 or 7 (is %u)", type);
	} else {
		RULE(type & 1, "guest %s access rights: type must be accessed (bit 0; is %u)", name, type);
		RULE(!(type & 8) || (type & 2), "guest %s access rights: a code segment must be readable (type %u)",
		     name, type);
	}
	RULE(g->ar & CK_AR_S, "guest %s access rights: S must be 1 (code/data; 0x%x)", name, g->ar);
	if (i == SEG_CS) {
		unsigned ss_dpl = CK_AR_DPL(ss->ar);
		RULE(type != 3 || dpl == 0, "guest CS access rights: DPL must be 0 with type 3 (is %u)", dpl);
		RULE((type != 9 && type != 11) || dpl == ss_dpl,
		     "guest CS access rights: DPL %u must equal SS.DPL %u (non-conforming)", dpl, ss_dpl);
		RULE((type != 13 && type != 15) || dpl <= ss_dpl,
		     "guest CS access rights: DPL %u must be <= SS.DPL %u (conforming)", dpl, ss_dpl);
	} else if (i != SEG_SS && !s->ug && type <= 11) {
		RULE(dpl >= rpl, "guest %s access rights: DPL %u must be >= RPL %u", name, dpl, rpl);
	}
	RULE(g->ar & SEG_ACCESS_P, "guest %s access rights: P must be 1 (0x%x)", name, g->ar);
	RULE(!(g->ar & CK_AR_RESERVED), "guest %s access rights: reserved bits 11:8, 31:17 set (0x%x)", name, g->ar);
	if (i == SEG_CS && s->ia32e)
		RULE(!(g->ar & SEG_ACCESS_L) || !(g->ar & SEG_ACCESS_DB),
		     "guest CS access rights: D/B must be 0 with L=1 (0x%x)", g->ar);
	return granularity_ok(r, name, g);
}

/* Virtual-8086 mode: base = selector * 16, limit 0xffff, access rights 0xf3 */
static bool v86_segment_ok(struct report *r, unsigned i, const struct seg *g)
{
	RULE(g->base == (uint64_t)g->sel << 4, "guest %s base: must be selector*16 in virtual-8086 mode (0x%lx)",
	     seg_name[i], g->base);
	RULE(g->limit == 0xffff, "guest %s limit: must be 0xffff in virtual-8086 mode (0x%x)", seg_name[i], g->limit);
	RULE(g->ar == 0xf3, "guest %s access rights: must be 0xf3 in virtual-8086 mode (0x%x)", seg_name[i], g->ar);
	return true;
}

static bool system_segment_ok(const struct view *s, struct report *r, unsigned i)
{
	const struct seg *g = &s->g[i];
	const char *name = seg_name[i];
	unsigned type = CK_AR_TYPE(g->ar);

	if (i == SEG_LDTR && !g->usable)
		return true;
	RULE(!(g->sel & 4), "guest %s selector: TI must be 0 (is 0x%x)", name, g->sel);
	RULE(canonical(g->base, s->lin_bits), "guest %s base: not canonical (0x%lx)", name, g->base);
	if (i == SEG_TR) {
		RULE(type == 11 || (type == 3 && !s->ia32e), "guest TR access rights: type must be %s (is %u)",
		     s->ia32e ? "11 in IA-32e mode" : "3 or 11", type);
	} else {
		RULE(type == 2, "guest LDTR access rights: type must be 2 (is %u)", type);
	}
	RULE(!(g->ar & CK_AR_S), "guest %s access rights: S must be 0 (system; 0x%x)", name, g->ar);
	RULE(g->ar & SEG_ACCESS_P, "guest %s access rights: P must be 1 (0x%x)", name, g->ar);
	RULE(!(g->ar & CK_AR_RESERVED), "guest %s access rights: reserved bits 11:8, 31:17 set (0x%x)", name, g->ar);
	if (!granularity_ok(r, name, g))
		return false;
	RULE(g->usable, "guest TR access rights: must be usable (0x%x)", g->ar);
	return true;
}

/* 27.3.1.2 segment registers, 27.3.1.3 GDTR and IDTR */
static bool guest_segments_ok(const struct view *s, struct report *r)
{
	for (unsigned i = SEG_ES; i <= SEG_GS; i++) {
		if (s->v86 ? !v86_segment_ok(r, i, &s->g[i]) : !code_data_segment_ok(s, r, i))
			return false;
	}
	if (!system_segment_ok(s, r, SEG_TR) || !system_segment_ok(s, r, SEG_LDTR))
		return false;
	RULE(canonical(s->g_gdtr_base, s->lin_bits), "guest GDTR base: not canonical (0x%lx)", s->g_gdtr_base);
	RULE(canonical(s->g_idtr_base, s->lin_bits), "guest IDTR base: not canonical (0x%lx)", s->g_idtr_base);
	RULE(s->g_gdtr_limit <= 0xffff, "guest GDTR limit: bits 31:16 must be 0 (0x%x)", s->g_gdtr_limit);
	RULE(s->g_idtr_limit <= 0xffff, "guest IDTR limit: bits 31:16 must be 0 (0x%x)", s->g_idtr_limit);
	return true;
}

/* 27.3.1.4 RIP and RFLAGS */
static bool guest_rip_rflags_ok(const struct view *s, struct report *r)
{
	bool code64 = s->ia32e && (s->g[SEG_CS].ar & SEG_ACCESS_L);
	uint64_t fl = s->g_rflags;
	uint32_t event_type = (s->event >> 8) & 7;

	if (code64)
		RULE(upper_bits_same(s->g_rip, s->lin_bits), "guest RIP: bits 63:%u must be all equal (0x%lx)",
		     s->lin_bits, s->g_rip);
	else
		RULE(!(s->g_rip >> 32), "guest RIP: bits 63:32 must be 0 outside 64-bit code (0x%lx)", s->g_rip);
	RULE(!(fl & CK_RFLAGS_RESERVED), "guest RFLAGS: reserved bit %u set (0x%lx)", low_bit(fl & CK_RFLAGS_RESERVED),
	     fl);
	RULE(fl & 2, "guest RFLAGS: bit 1 must be 1 (0x%lx)", fl);
	RULE(!(fl & CK_RFLAGS_VM) || (!s->ia32e && (s->g_cr0 & CR0_PE)),
	     "guest RFLAGS: VM must be 0 in IA-32e mode or with CR0.PE=0 (0x%lx)", fl);
	RULE(!(s->event & VM_INTINFO_VALID) || event_type != EVENT_EXTINT || (fl & RFLAGS_IF),
	     "guest RFLAGS: IF must be 1 to inject an external interrupt (0x%lx)", fl);
	return true;
}

/* Which injected events each activity state accepts (27.3.1.5). */
static bool event_allowed_in(uint32_t activity, uint32_t type, uint32_t vector)
{
	switch (activity) {
	case ACTIVITY_ACTIVE:
		return true;
	case ACTIVITY_HLT:
		return type == EVENT_EXTINT || type == EVENT_NMI || type == EVENT_OTHER ||
		       (type == EVENT_HWEXC && (vector == IDT_DB || vector == 18));
	case ACTIVITY_SHUTDOWN:
		return type == EVENT_NMI || (type == EVENT_HWEXC && vector == 18);
	default:
		return false;
	}
}

/* hv uses no shadow VMCS: anything but ~0 is a stale or clobbered field (exit qualification 4) */
static bool link_pointer_ok(const struct view *s, struct report *r)
{
	RULE(s->g_link == ~0ull, "VMCS link pointer: must be ~0 without a shadow VMCS (is 0x%lx)", s->g_link);
	return true;
}

/* 27.3.1.5 non-register state */
static bool guest_non_register_ok(const struct view *s, struct report *r, uint64_t qualification)
{
	uint32_t act = s->g_activity, intr = s->g_interruptibility, type = (s->event >> 8) & 7;
	bool inject = s->event & VM_INTINFO_VALID;
	bool sti = intr & INTERRUPTIBILITY_STI, mov_ss = intr & INTERRUPTIBILITY_MOV_SS;

	RULE(act <= ACTIVITY_WAIT_SIPI && (act == ACTIVITY_ACTIVE || (s->misc >> (5 + act)) & 1),
	     "guest activity state: %u is not supported (IA32_VMX_MISC)", act);
	RULE(act != ACTIVITY_HLT || CK_AR_DPL(s->g[SEG_SS].ar) == 0, "guest activity state: HLT needs SS.DPL=0");
	RULE(act == ACTIVITY_ACTIVE || !(sti || mov_ss),
	     "guest activity state: must be active with blocking by STI/MOV SS (state %u)", act);
	RULE(!inject || event_allowed_in(act, type, s->event & 0xff),
	     "guest activity state: %u does not accept the injected event (0x%x)", act, s->event);
	RULE(!(intr & CK_INTERRUPTIBILITY_RESERVED), "guest interruptibility: reserved bits 31:5 set (0x%x)", intr);
	RULE(!(sti && mov_ss), "guest interruptibility: blocking by STI and by MOV SS both set");
	RULE(!sti || (s->g_rflags & RFLAGS_IF), "guest interruptibility: blocking by STI needs RFLAGS.IF=1");
	RULE(!inject || type != EVENT_EXTINT || !(sti || mov_ss),
	     "guest interruptibility: STI/MOV SS blocking while injecting an external interrupt");
	RULE(!inject || type != EVENT_NMI || !mov_ss, "guest interruptibility: MOV SS blocking while injecting an NMI");
	RULE(!(inject && type == EVENT_NMI && sti && qualification == 3),
	     "guest interruptibility: this CPU refuses an NMI under blocking by STI");
	RULE(!(intr & CK_INTERRUPTIBILITY_SMI), "guest interruptibility: blocking by SMI outside SMM");
	RULE(!inject || type != EVENT_NMI || !(s->pin & PIN_VIRTUAL_NMIS) || !(intr & INTERRUPTIBILITY_NMI),
	     "guest interruptibility: NMI blocking while injecting an NMI with virtual NMIs");
	RULE(!(s->g_pending_dbg & CK_PENDING_DBG_RESERVED),
	     "guest pending debug exceptions: reserved bit %u set (0x%lx)",
	     low_bit(s->g_pending_dbg & CK_PENDING_DBG_RESERVED), s->g_pending_dbg);
	if (sti || mov_ss || act == ACTIVITY_HLT) {
		bool single_step = (s->g_rflags & CK_RFLAGS_TF) && !(s->g_debugctl & CK_DEBUGCTL_BTF);
		RULE(!(s->g_pending_dbg & CK_PENDING_DBG_BS) == !single_step,
		     "guest pending debug exceptions: BS must be %u (RFLAGS.TF, DEBUGCTL.BTF)", single_step);
	}
	return link_pointer_ok(s, r);
}

/* 27.3.1.6 PDPTEs, loaded from the VMCS with EPT when the guest uses PAE paging outside IA-32e mode */
static bool guest_pdptes_ok(const struct view *s, struct report *r)
{
	uint64_t reserved = CK_PDPTE_RESERVED | (~0ull << s->phys_bits);

	if (!(s->g_cr0 & CR0_PG) || !(s->g_cr4 & CR4_PAE) || s->ia32e || !(s->proc2 & PROC2_ENABLE_EPT))
		return true;
	for (unsigned i = 0; i < 4; i++)
		RULE(!(s->g_pdpte[i] & 1) || !(s->g_pdpte[i] & reserved), "guest PDPTE%u: reserved bits set (0x%lx)", i,
		     s->g_pdpte[i]);
	return true;
}

static bool guest_ok(const struct view *s, struct report *r, uint64_t qualification)
{
	return guest_registers_ok(s, r) && guest_segments_ok(s, r) && guest_rip_rflags_ok(s, r) &&
	       guest_non_register_ok(s, r, qualification) && guest_pdptes_ok(s, r);
}

/* ---- The two reports ---- */

/* SDM vol. 3C 31.4: the VM-instruction errors VMLAUNCH and VMRESUME can give. */
static const char *vm_instruction_error(uint64_t error)
{
	switch (error) {
	case 4: return "VMLAUNCH with non-clear VMCS";
	case 5: return "VMRESUME with non-launched VMCS";
	case 6: return "VMRESUME after VMXOFF";
	case 7: return "invalid control field";
	case 8: return "invalid host-state field";
	case 16: return "invalid executive-VMCS pointer";
	case 17: return "non-launched executive VMCS";
	case 18: return "executive-VMCS pointer not VMXON pointer";
	case 25: return "invalid controls in executive VMCS";
	case 26: return "events blocked by MOV SS";
	default: return "not an entry error";
	}
}

static bool vmread_checked(uint64_t field, uint64_t *value)
{
	uint8_t cf, zf;

	__asm__ volatile("vmread %3, %0; setc %1; setz %2" : "=r"(*value), "=r"(cf), "=r"(zf) : "r"(field) : "cc");
	return !cf && !zf;
}

const char *vmx_explain_vmfail(struct vmx_vcpu *vv)
{
	const char *insn = vv->launched ? "VMRESUME" : "VMLAUNCH";
	uint64_t error, current = 0;
	struct view s;
	struct report r = { "" };

	__asm__ volatile("vmptrst %0" : "=m"(current));
	if (current != vv->vmcs || !vmread_checked(VMCS_INSTRUCTION_ERROR, &error)) {
		fmt_snprintf(vv->fail_what, sizeof(vv->fail_what),
			     "%s failed (VMfailInvalid): current VMCS is 0x%lx, not the vcpu's 0x%lx", insn, current,
			     vv->vmcs);
		return vv->fail_what;
	}
	read_view(&s);
	if (error == 7 && controls_ok(&s, &r))
		fmt_snprintf(r.text, sizeof(r.text), "no broken control rule found by hv");
	else if (error == 8 && host_ok(&s, &r))
		fmt_snprintf(r.text, sizeof(r.text), "no broken host-state rule found by hv");
	fmt_snprintf(vv->fail_what, sizeof(vv->fail_what), "%s failed (error %lu: %s)%s%s", insn, error,
		     vm_instruction_error(error), r.text[0] ? ": " : "", r.text);
	return vv->fail_what;
}

/* 27.8: exit qualification of an invalid-guest-state failure */
static const char *guest_state_qualification(uint64_t q)
{
	switch (q) {
	case 2: return "loading the PDPTEs failed";
	case 3: return "NMI injection under blocking by STI";
	case 4: return "invalid VMCS link pointer";
	default: return NULL;
	}
}

const char *vmx_explain_entry_failure(struct vmx_vcpu *vv, uint32_t reason)
{
	uint32_t basic = reason & 0xffff;
	uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
	struct view s;
	struct report r = { "" };
	bool found;

	if (basic == EXIT_REASON_ENTRY_MSR_LOAD) {
		fmt_snprintf(vv->fail_what, sizeof(vv->fail_what),
			     "VM entry failed loading MSRs: VM-entry MSR-load area entry %lu (of %u at 0x%lx)", q,
			     vmread32(VMCS_ENTRY_MSR_LOAD_COUNT), vmread(VMCS_ENTRY_MSR_LOAD_ADDR));
		return vv->fail_what;
	}
	if (basic == EXIT_REASON_ENTRY_MACHINE_CHECK) {
		fmt_snprintf(vv->fail_what, sizeof(vv->fail_what), "VM entry failed: machine check during VM entry");
		return vv->fail_what;
	}
	/* 33, or any other reason with the failure bit (some Bochs versions give 8 for a bad guest CR4). */
	read_view(&s);
	/* Qualifications 2 and 4 name the failed check: look there first. */
	found = (q == 2 && !guest_pdptes_ok(&s, &r)) || (q == 4 && !link_pointer_ok(&s, &r)) || !guest_ok(&s, &r, q);
	if (!found) {
		const char *meaning = guest_state_qualification(q);
		fmt_snprintf(r.text, sizeof(r.text), "%s",
			     meaning ? meaning : "no broken guest-state rule found by hv");
	}
	if (basic == EXIT_REASON_ENTRY_GUEST_STATE)
		fmt_snprintf(vv->fail_what, sizeof(vv->fail_what), "VM entry failed on guest state: %s", r.text);
	else
		fmt_snprintf(vv->fail_what, sizeof(vv->fail_what), "VM entry failed (exit reason %u): %s", basic,
			     r.text);
	return vv->fail_what;
}
