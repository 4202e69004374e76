/* The virtual machine control block: layout, intercepts, exit codes (AMD APM vol. 2 ch. 15 and
 * appendixes B and C). Field names follow the APM's tables B-1 and B-2; every field sits at its
 * natural alignment, so the structs need no packing (the asserts below pin the offsets). */
#ifndef HV_SVM_VMCB_H
#define HV_SVM_VMCB_H

#include <stdint.h>

/* A segment in the state-save area; attrib is the descriptor's attribute bits compressed:
 * type[3:0] S[4] DPL[6:5] P[7] AVL[8] L[9] D/B[10] G[11] (APM vol. 2 15.5.1 / table B-2). */
struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
};

#define VMCB_ATTRIB_P (1u << 7)

/* Control area, offsets 0x000-0x3ff (table B-1). */
struct vmcb_control {
	uint32_t intercept_cr;	       /* 0x000: [15:0] CR reads, [31:16] CR writes */
	uint32_t intercept_dr;	       /* 0x004: [15:0] DR reads, [31:16] DR writes */
	uint32_t intercept_exceptions; /* 0x008: one bit per vector */
	uint32_t intercept_misc1;      /* 0x00c: INTERCEPT_* below */
	uint32_t intercept_misc2;      /* 0x010: INTERCEPT2_* below */
	uint32_t intercept_misc3;      /* 0x014: INVLPGB, INVPCID, MCOMMIT, TLBSYNC, ... */
	uint8_t reserved_018[0x03c - 0x018];
	uint16_t pause_filter_threshold; /* 0x03c */
	uint16_t pause_filter_count;	 /* 0x03e */
	uint64_t iopm_base_pa;		 /* 0x040 */
	uint64_t msrpm_base_pa;		 /* 0x048 */
	uint64_t tsc_offset;		 /* 0x050 */
	uint32_t guest_asid;		 /* 0x058 */
	uint8_t tlb_control;		 /* 0x05c */
	uint8_t reserved_05d[3];
	uint64_t v_intr;	/* 0x060: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING, ... */
	uint64_t interrupt_shadow; /* 0x068: bit 0 INTERRUPT_SHADOW, bit 1 GUEST_INTERRUPT_MASK */
	uint64_t exitcode;	/* 0x070 */
	uint64_t exitinfo1;	/* 0x078 */
	uint64_t exitinfo2;	/* 0x080 */
	uint64_t exitintinfo;	/* 0x088: EVENTINJ layout, error code in [63:32] */
	uint64_t np_control;	/* 0x090: bit 0 NP_ENABLE */
	uint64_t avic_apic_bar; /* 0x098 */
	uint64_t ghcb_pa;	/* 0x0a0 */
	uint64_t eventinj;	/* 0x0a8: vector[7:0] type[10:8] EV[11] V[31], error code [63:32] */
	uint64_t n_cr3;		/* 0x0b0: nested page table root */
	uint64_t lbr_virt;	/* 0x0b8: bit 0 LBR virtualization, bit 1 virtual VMLOAD/VMSAVE */
	uint32_t vmcb_clean;	/* 0x0c0 */
	uint32_t reserved_0c4;
	uint64_t nrip;			 /* 0x0c8: next sequential RIP (NRIPS) */
	uint8_t guest_insn_bytes_count;	 /* 0x0d0 (decode assists) */
	uint8_t guest_insn_bytes[15];	 /* 0x0d1 */
	uint8_t reserved_0e0[0x400 - 0x0e0];
};

/* State-save area, offsets 0x400-0xfff (table B-2; offsets below are from the VMCB's start). */
struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs; /* 0x400..0x450 */
	struct vmcb_seg gdtr;			/* 0x460 */
	struct vmcb_seg ldtr;			/* 0x470 */
	struct vmcb_seg idtr;			/* 0x480 */
	struct vmcb_seg tr;			/* 0x490 */
	uint8_t reserved_4a0[0x4cb - 0x4a0];
	uint8_t cpl; /* 0x4cb */
	uint32_t reserved_4cc;
	uint64_t efer; /* 0x4d0 */
	uint8_t reserved_4d8[0x548 - 0x4d8];
	uint64_t cr4;	 /* 0x548 */
	uint64_t cr3;	 /* 0x550 */
	uint64_t cr0;	 /* 0x558 */
	uint64_t dr7;	 /* 0x560 */
	uint64_t dr6;	 /* 0x568 */
	uint64_t rflags; /* 0x570 */
	uint64_t rip;	 /* 0x578 */
	uint8_t reserved_580[0x5d8 - 0x580];
	uint64_t rsp;	    /* 0x5d8 */
	uint64_t s_cet;	    /* 0x5e0 */
	uint64_t ssp;	    /* 0x5e8 */
	uint64_t isst_addr; /* 0x5f0 */
	uint64_t rax;	    /* 0x5f8 */
	uint64_t star;	    /* 0x600 */
	uint64_t lstar;	    /* 0x608 */
	uint64_t cstar;	    /* 0x610 */
	uint64_t sfmask;    /* 0x618 */
	uint64_t kernel_gs_base; /* 0x620 */
	uint64_t sysenter_cs;	 /* 0x628 */
	uint64_t sysenter_esp;	 /* 0x630 */
	uint64_t sysenter_eip;	 /* 0x638 */
	uint64_t cr2;		 /* 0x640 */
	uint8_t reserved_648[0x668 - 0x648];
	uint64_t g_pat;		   /* 0x668 */
	uint64_t dbgctl;	   /* 0x670 */
	uint64_t br_from;	   /* 0x678 */
	uint64_t br_to;		   /* 0x680 */
	uint64_t last_excp_from;   /* 0x688 */
	uint64_t last_excp_to;	   /* 0x690 */
	uint8_t reserved_698[0x1000 - 0x698];
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};

_Static_assert(sizeof(struct vmcb) == 4096, "the VMCB is one page");
_Static_assert(__builtin_offsetof(struct vmcb, control.tlb_control) == 0x05c, "TLB_CONTROL");
_Static_assert(__builtin_offsetof(struct vmcb, control.eventinj) == 0x0a8, "EVENTINJ");
_Static_assert(__builtin_offsetof(struct vmcb, control.nrip) == 0x0c8, "nRIP");
_Static_assert(__builtin_offsetof(struct vmcb, save.tr) == 0x490, "TR");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "CPL");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "EFER");
_Static_assert(__builtin_offsetof(struct vmcb, save.rip) == 0x578, "RIP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rsp) == 0x5d8, "RSP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "RAX");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "CR2");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "G_PAT");

/* intercept_misc1 (VMCB 0x00c) */
#define INTERCEPT_INTR (1u << 0)
#define INTERCEPT_NMI (1u << 1)
#define INTERCEPT_SMI (1u << 2)
#define INTERCEPT_INIT (1u << 3)
#define INTERCEPT_VINTR (1u << 4)
#define INTERCEPT_CR0_SEL_WRITE (1u << 5)
#define INTERCEPT_RDTSC (1u << 14)
#define INTERCEPT_PUSHF (1u << 16)
#define INTERCEPT_POPF (1u << 17)
#define INTERCEPT_CPUID (1u << 18)
#define INTERCEPT_RSM (1u << 19)
#define INTERCEPT_IRET (1u << 20)
#define INTERCEPT_INTN (1u << 21)
#define INTERCEPT_INVD (1u << 22)
#define INTERCEPT_PAUSE (1u << 23)
#define INTERCEPT_HLT (1u << 24)
#define INTERCEPT_INVLPG (1u << 25)
#define INTERCEPT_INVLPGA (1u << 26)
#define INTERCEPT_IOIO_PROT (1u << 27)
#define INTERCEPT_MSR_PROT (1u << 28)
#define INTERCEPT_TASK_SWITCH (1u << 29)
#define INTERCEPT_FERR_FREEZE (1u << 30)
#define INTERCEPT_SHUTDOWN (1u << 31)

/* intercept_misc2 (VMCB 0x010) */
#define INTERCEPT2_VMRUN (1u << 0)
#define INTERCEPT2_VMMCALL (1u << 1)
#define INTERCEPT2_VMLOAD (1u << 2)
#define INTERCEPT2_VMSAVE (1u << 3)
#define INTERCEPT2_STGI (1u << 4)
#define INTERCEPT2_CLGI (1u << 5)
#define INTERCEPT2_SKINIT (1u << 6)
#define INTERCEPT2_RDTSCP (1u << 7)
#define INTERCEPT2_ICEBP (1u << 8)
#define INTERCEPT2_WBINVD (1u << 9)
#define INTERCEPT2_MONITOR (1u << 10)
#define INTERCEPT2_MWAIT (1u << 11)
#define INTERCEPT2_MWAIT_ARMED (1u << 12)
#define INTERCEPT2_XSETBV (1u << 13)

/* TLB_CONTROL (VMCB 0x05c) */
#define TLB_CONTROL_DO_NOTHING 0
#define TLB_CONTROL_FLUSH_ALL 1
#define TLB_CONTROL_FLUSH_ASID 3

/* v_intr (VMCB 0x060) */
#define V_TPR_MASK 0xffull
#define V_IRQ (1ull << 8)
#define V_INTR_PRIO_SHIFT 16
#define V_IGN_TPR (1ull << 20)
#define V_INTR_MASKING (1ull << 24)

/* interrupt_shadow (VMCB 0x068) */
#define VMCB_INTERRUPT_SHADOW (1ull << 0)

/* np_control (VMCB 0x090) */
#define NP_ENABLE (1ull << 0)

/* EVENTINJ / EXITINTINFO (APM vol. 2 15.20): the VMX interruption-information layout for the
 * types SVM has (0 INTR, 2 NMI, 3 exception, 4 software interrupt), error code in [63:32]. */
#define EVENT_TYPE_INTR 0u
#define EVENT_TYPE_NMI 2u
#define EVENT_TYPE_EXCEPTION 3u
#define EVENT_TYPE_SOFT_INT 4u
#define EVENT_TYPE(e) (((e) >> 8) & 7)
#define EVENT_EV (1u << 11)
#define EVENT_V (1u << 31)

/* IOIO intercept EXITINFO1 (APM vol. 2 15.10.2, figure 15-2) */
#define IOIO_TYPE_IN (1u << 0)
#define IOIO_STR (1u << 2)
#define IOIO_REP (1u << 3)
#define IOIO_SZ8 (1u << 4)
#define IOIO_SZ16 (1u << 5)
#define IOIO_SZ32 (1u << 6)
#define IOIO_A16 (1u << 7)
#define IOIO_A32 (1u << 8)
#define IOIO_A64 (1u << 9)
#define IOIO_SEG(i) (((i) >> 10) & 7)
#define IOIO_PORT(i) (((i) >> 16) & 0xffff)

/* Nested page fault EXITINFO1: a #PF error code (APM vol. 2 15.25.6) */
#define NPF_P (1ull << 0)
#define NPF_RW (1ull << 1)
#define NPF_US (1ull << 2)
#define NPF_RSV (1ull << 3)
#define NPF_ID (1ull << 4)
#define NPF_FINAL (1ull << 32)
#define NPF_TABLE (1ull << 33)

/* Exit codes (APM vol. 2 appendix C) */
#define VMEXIT_EXCP_BASE 0x040
#define VMEXIT_INTR 0x060
#define VMEXIT_NMI 0x061
#define VMEXIT_SMI 0x062
#define VMEXIT_INIT 0x063
#define VMEXIT_VINTR 0x064
#define VMEXIT_CR0_SEL_WRITE 0x065
#define VMEXIT_RDTSC 0x06e
#define VMEXIT_CPUID 0x072
#define VMEXIT_IRET 0x074
#define VMEXIT_INVD 0x076
#define VMEXIT_PAUSE 0x077
#define VMEXIT_HLT 0x078
#define VMEXIT_INVLPG 0x079
#define VMEXIT_INVLPGA 0x07a
#define VMEXIT_IOIO 0x07b
#define VMEXIT_MSR 0x07c
#define VMEXIT_TASK_SWITCH 0x07d
#define VMEXIT_FERR_FREEZE 0x07e
#define VMEXIT_SHUTDOWN 0x07f
#define VMEXIT_VMRUN 0x080
#define VMEXIT_VMMCALL 0x081
#define VMEXIT_VMLOAD 0x082
#define VMEXIT_VMSAVE 0x083
#define VMEXIT_STGI 0x084
#define VMEXIT_CLGI 0x085
#define VMEXIT_SKINIT 0x086
#define VMEXIT_RDTSCP 0x087
#define VMEXIT_ICEBP 0x088
#define VMEXIT_WBINVD 0x089
#define VMEXIT_MONITOR 0x08a
#define VMEXIT_MWAIT 0x08b
#define VMEXIT_MWAIT_CONDITIONAL 0x08c
#define VMEXIT_XSETBV 0x08d
#define VMEXIT_NPF 0x400
#define VMEXIT_INVALID 0xffffffffu /* -1: the VMCB state is invalid (compare the low 32 bits) */
#define VMEXIT_BUSY 0xfffffffeu

/* Permission maps (APM vol. 2 15.10.1 and 15.11): the IOPM is 12 KiB (one bit per port, plus
 * the bits an access starting at 0xffff reaches), the MSRPM 8 KiB (two bits per MSR, read then
 * write, for MSRs 0-0x1fff, 0xc0000000-0xc0001fff and 0xc0010000-0xc0011fff). */
#define IOPM_SIZE 0x3000
#define MSRPM_SIZE 0x2000

#endif
