/*
 * Guest page-table walker: translates a guest linear address to a guest-physical address the way
 * the CPU would (SDM vol. 3 chapter 4), for the instruction emulator, guest loaders and anything
 * else that must follow a guest pointer. Pure logic, shared by the kernel and host tests/fuzzers:
 * guest-physical memory is reached only through struct gpt_access.
 *
 * Modes, chosen from the control registers given in struct gpt_cpu:
 *   CR0.PG = 0                     flat: gpa = gla truncated to 32 bits, no checks.
 *   CR0.PG = 1, CR4.PAE = 0        32-bit paging; 4 MiB pages when CR4.PSE (PSE-36 high bits up to
 *                                  min(maxphyaddr, 40)).
 *   CR0.PG = 1, CR4.PAE = 1, !LMA  PAE paging; the 4 PDPTEs come from cpu->pdpte[] when
 *                                  cpu->pdptes_valid (the CPU's cached copies, VM_REG_PDPTE0..3),
 *                                  else they are read from memory at CR3[31:5].
 *   CR0.PG = 1, EFER.LMA = 1       4-level paging, or 5-level when CR4.LA57; 2 MiB and 1 GiB pages.
 *                                  The address must be canonical (48 or 57 bits) or GPT_GP.
 *
 * Checks follow SDM 4.6: R/W (with CR0.WP for supervisor writes), U/S, SMEP, SMAP (with EFLAGS.AC
 * for explicit supervisor accesses; implicit accesses are never overridden), XD with EFER.NXE, and
 * the reserved bits of each level (bits at or above maxphyaddr, XD when NXE=0, PS where it is not
 * allowed, the low bits of a large-page address, PAE PDPTE bits 2:1, 8:5 and 63).
 *
 * Accessed/dirty bits: when, and only when, the translation succeeds, A is set in every entry used
 * (PAE PDPTEs have none) and D in the final entry for a write. Each update writes the entry's low
 * byte only (A and D both live there) through gpt_access.write, so a concurrent change to the
 * other bytes of the entry by another vCPU is not lost. A failed write-back (the table sits in
 * memory that is not writable RAM) is ignored, as a CPU's write to ROM would be.
 *
 * Table entries outside guest RAM: the walk stops with GPT_UNREADABLE and res->gpa = the entry's
 * address. Real hardware would read all-ones there (P=1 with reserved bits set: a #PF with RSVD)
 * or, under EPT/NPT, take a nested fault; hv reports it distinctly so the caller chooses (inject
 * #PF with PF_P|PF_RSVD to mimic bare metal, or stop the VM as an emulation failure).
 */
#ifndef HV_GPT_H
#define HV_GPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest-physical memory. read/write return false when [gpa, gpa+len) is not (entirely) guest RAM.
 * The walker reads table entries with len 4 or 8 (naturally aligned) and writes A/D with len 1;
 * gpt_copy_* read/write data in pieces that never cross a 4 KiB guest-physical page. */
struct gpt_access {
	bool (*read)(uint64_t gpa, void *buf, uint32_t len, void *ctx);
	bool (*write)(uint64_t gpa, const void *buf, uint32_t len, void *ctx);
	void *ctx;
};

/* The guest state that governs translation. */
struct gpt_cpu {
	uint64_t cr0, cr3, cr4, efer;
	uint8_t cpl;	    /* 0..3: CPL 3 makes explicit accesses user-mode accesses */
	bool ac;	    /* RFLAGS.AC: lifts SMAP for explicit supervisor data accesses */
	uint8_t maxphyaddr; /* guest physical-address width (CPUID 0x80000008 EAX[7:0]); 0 = 52;
			       values outside 32..52 are clamped */
	bool pdptes_valid;  /* PAE only: use pdpte[] instead of reading them at CR3 */
	uint64_t pdpte[4];
};

/* Access kind: a data read is 0; at most one of GPT_WRITE / GPT_FETCH. */
#define GPT_WRITE (1u << 0)
#define GPT_FETCH (1u << 1)
/* An implicit supervisor-mode access (GDT/LDT/IDT/TSS reads, ...): supervisor whatever the CPL,
 * and SMAP is not lifted by EFLAGS.AC. */
#define GPT_IMPLICIT (1u << 2)

/* Page-fault error code bits (SDM vol. 3 4.7). */
#define PF_P (1u << 0)	  /* 0: not-present page; 1: protection violation (or RSVD) */
#define PF_W (1u << 1)	  /* the access was a write */
#define PF_U (1u << 2)	  /* the access was a user-mode access */
#define PF_RSVD (1u << 3) /* a reserved bit was set in a paging-structure entry */
#define PF_I (1u << 4)	  /* instruction fetch, reported only when SMEP or (PAE and NXE) */

enum gpt_status {
	GPT_OK,		/* res->gpa, res->page_size */
	GPT_PF,		/* page fault: res->pf_error, res->cr2 (the faulting linear address) */
	GPT_GP,		/* non-canonical address in long mode: #GP(0) (#SS(0) for SS-relative
			   accesses: the caller knows the segment) */
	GPT_UNREADABLE, /* a table entry (or, for gpt_copy_*, a data page) is outside guest RAM:
			   res->gpa is where */
};

struct gpt_result {
	enum gpt_status status;
	uint64_t gpa;	    /* GPT_OK: the translation (gpt_copy_*: of the first byte);
			       GPT_UNREADABLE: the address not in RAM */
	uint64_t page_size; /* GPT_OK: 4 KiB, 4 MiB, 2 MiB or 1 GiB (paging off: 4 KiB) */
	uint32_t pf_error;  /* GPT_PF: PF_* bits */
	uint64_t cr2;	    /* GPT_PF: value for CR2 */
	uint64_t gla;	    /* the linear address that failed (GPT_PF/GP/UNREADABLE) */
	size_t done;	    /* gpt_copy_*: bytes copied before the failure (all of them on OK) */
};

/* Translate one linear address for one access kind (GPT_* flags). Returns res->status. */
enum gpt_status gpt_translate(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			      uint32_t access, struct gpt_result *res);

/*
 * Copy between a guest linear range and a buffer; each 4 KiB piece is translated separately, and
 * the linear address wraps at 4 GiB outside long mode. Every page of the range is translated (and
 * its A/D bits set) before any byte moves, so a fault on a later page leaves guest memory and the
 * buffer untouched (res->done = 0) - an instruction's access faults as a whole. A data page outside
 * guest RAM (e.g. MMIO) stops the copy with GPT_UNREADABLE after res->done bytes.
 * On a fault CR2 is the first byte of the access within the faulting page.
 * gpt_copy_in: access is 0 (read), GPT_FETCH, optionally | GPT_IMPLICIT; gpt_copy_out writes.
 */
enum gpt_status gpt_copy_in(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			    void *buf, size_t len, uint32_t access, struct gpt_result *res);
enum gpt_status gpt_copy_out(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			     const void *buf, size_t len, uint32_t access, struct gpt_result *res);

#endif
