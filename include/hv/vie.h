/*
 * x86 instruction decoder and emulator for MMIO (the role of bhyve's "vie"). When a guest
 * instruction touches memory hv emulates (a device's MMIO range), the caller fetches up to 15
 * instruction bytes at CS:RIP (with gpt_copy_in), decodes them with vie_decode() and runs
 * vie_emulate(), which performs the instruction's memory accesses through the caller's callbacks
 * and updates registers, RFLAGS and RIP exactly as the CPU would. Pure logic, no hv internals:
 * shared by the kernel and host tests/fuzzers.
 *
 * Supported (anything else decodes as VIE_UNSUPPORTED: inject #UD):
 *   MOV        88 89 8A 8B, C6 /0, C7 /0, A0-A3 (moffs)
 *   MOVZX      0F B6, 0F B7        MOVSX 0F BE, 0F BF        MOVSXD 63 (64-bit mode)
 *   ALU        ADD OR ADC SBB AND SUB XOR CMP: opcodes 00-3B with a memory operand
 *              (forms Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev), and 80 81 83 (82 outside 64-bit mode)
 *   TEST       84 85, F6 /0, F7 /0
 *   BT         0F A3, 0F BA /4
 *   XCHG       86 87
 *   STOS       AA AB     MOVS A4 A5     (REP via F3, or F2 which acts as REP on these)
 *   PUSH       FF /6     POP 8F /0      (memory operand)
 * The memory operand must be memory (ModRM.mod != 3). LOCK is accepted only where the CPU accepts
 * it (ALU ops other than CMP with a memory destination, XCHG); elsewhere it is #UD.
 *
 * Memory accesses go through ops->read/ops->write with a guest LINEAR address: the emulator does
 * segmentation itself (base, limit, type checks in 16/32-bit modes, FS/GS base and the canonical
 * check in 64-bit mode, raising #GP(0) or #SS(0) as the CPU would) and the caller translates the
 * address (gpt_translate / gpt_copy_*) and routes it: to the MMIO device when the gpa is device
 * memory, to guest RAM otherwise. This covers the one MMIO operand of most instructions and the
 * other operand of MOVS (either side may be RAM or MMIO) and PUSH/POP (the stack). Each operand is
 * read at most once and written at most once per element, with the operand's size, in the CPU's
 * order (read-modify-write for ALU ops with a memory destination, no write for CMP/TEST/BT).
 *
 * RFLAGS: arithmetic ops set CF PF AF ZF SF OF like the CPU. Where the SDM leaves a flag undefined
 * the emulator picks what current Intel/AMD CPUs (and QEMU/Bochs) produce: AND/OR/XOR/TEST clear AF;
 * BT sets CF and leaves ZF, SF, OF, AF, PF unchanged. No other instruction here changes flags.
 * Not modelled: alignment checks (#AC), debug traps (RFLAGS.TF, DR7 breakpoints: the caller may
 * check TF after VIE_OK), 32-bit register writes in 16/32-bit modes zero the upper half as in
 * 64-bit mode (invisible to such a guest).
 */
#ifndef HV_VIE_H
#define HV_VIE_H

#include <stdbool.h>
#include <stdint.h>
#include <hv/vmm.h>

#define VIE_INST_MAX 15 /* longest legal x86 instruction */

/* Code size: CS.L (with EFER.LMA) gives 64-bit mode, else CS.D/B gives 32 or 16 (real and
 * virtual-8086 mode are 16). The value is the default address size in bytes. */
enum vie_mode {
	VIE_MODE16 = 2,
	VIE_MODE32 = 4,
	VIE_MODE64 = 8,
};

/* vie_mode from the cached CS descriptor (struct seg_desc access) and EFER.LMA. */
enum vie_mode vie_mode_from_cs(uint32_t cs_access, bool efer_lma);

/* Results. vie_decode returns VIE_OK or a negative code; vie_emulate any of them. */
#define VIE_OK 0	   /* decoded / emulated completely; RIP advanced */
#define VIE_RESTART 1	   /* REP string op partly done (VIE_REP_BATCH elements), RCX/RSI/RDI
			      updated, RIP unchanged: resume the guest, which re-executes it */
#define VIE_EXCEPTION 2	   /* inject *exc; RIP unchanged; a REP op keeps the completed elements */
#define VIE_UNSUPPORTED -1 /* not an instruction hv emulates, or an invalid encoding: #UD */
#define VIE_TRUNCATED -2   /* the bytes given end before the instruction does: fetch more (or
			      inject the #PF that stopped the fetch) */
#define VIE_TOO_LONG -3	   /* longer than 15 bytes: #GP(0) */
#define VIE_ERROR -4	   /* a callback failed for a reason that is not a guest exception */

#define VIE_REP_BATCH 4096 /* elements of a REP string op done per vie_emulate call */

/* Operations. */
enum vie_op {
	VIE_OP_NONE,
	VIE_OP_MOV,
	VIE_OP_MOVZX,
	VIE_OP_MOVSX, /* also MOVSXD */
	VIE_OP_ADD,
	VIE_OP_OR,
	VIE_OP_ADC,
	VIE_OP_SBB,
	VIE_OP_AND,
	VIE_OP_SUB,
	VIE_OP_XOR,
	VIE_OP_CMP,
	VIE_OP_TEST,
	VIE_OP_BT,
	VIE_OP_XCHG,
	VIE_OP_STOS,
	VIE_OP_MOVS,
	VIE_OP_PUSH,
	VIE_OP_POP,
};

/* Operand forms (vie.form). */
enum vie_form {
	VIE_FORM_MEM_REG, /* memory is the destination (or first operand), register the source */
	VIE_FORM_REG_MEM, /* register is the destination (or first operand), memory the source */
	VIE_FORM_MEM_IMM, /* memory destination (or first operand), immediate source */
	VIE_FORM_MEM,	  /* PUSH/POP: memory alone; STOS/MOVS: implicit operands */
};

#define VIE_NOREG 0xff

/* A decoded instruction. Register numbers are enum vm_reg (RAX..R15). */
struct vie {
	uint8_t mode;	  /* enum vie_mode */
	uint8_t len;	  /* instruction length in bytes */
	uint8_t op;	  /* enum vie_op */
	uint8_t form;	  /* enum vie_form */
	uint8_t opsize;	  /* operand size: 1, 2, 4 or 8 (MOVZX/MOVSX: the destination) */
	uint8_t memsize;  /* size of each memory access (MOVZX/MOVSX: the source) */
	uint8_t addrsize; /* 2, 4 or 8 */

	/* prefixes */
	bool opsize_prefix, addrsize_prefix, lock, rep, repne;
	uint8_t rex;	     /* the REX byte in effect, 0 if none */
	uint8_t seg_prefix;  /* VM_REG_ES..VM_REG_GS, or VIE_NOREG */

	/* opcode and ModRM */
	uint8_t opcode;	     /* the (last) opcode byte */
	bool twobyte;	     /* 0F escape */
	bool has_modrm, has_sib;
	uint8_t modrm, sib;

	/* the memory operand: seg:[base + index * scale + disp] masked to addrsize; when rip_rel,
	 * base is RIP at the end of the instruction; moffs has neither base nor index */
	uint8_t seg;	     /* effective segment (MOVS: of the source; the destination is ES) */
	uint8_t base, index; /* vm_reg or VIE_NOREG */
	uint8_t scale;	     /* 1, 2, 4, 8 */
	bool rip_rel;
	int64_t disp;

	/* the other operand */
	uint8_t reg;	     /* register operand (vm_reg), VIE_NOREG if none */
	bool reg_high8;	     /* reg names AH/CH/DH/BH: bits 15:8 of reg */
	bool has_imm;
	int64_t imm;	     /* sign-extended immediate */

	bool rmw;	     /* reads the memory operand and writes it back (ALU ops other than
				CMP/TEST with a memory destination, XCHG): its only read should be
				translated for write */
};

/*
 * Decode one instruction from bytes[0..n) (n may exceed 15; only 15 are looked at) for the given
 * code size. Fills *vie (always, even on failure) and returns VIE_OK, VIE_UNSUPPORTED,
 * VIE_TRUNCATED or VIE_TOO_LONG.
 */
int vie_decode(struct vie *vie, const uint8_t *bytes, unsigned n, enum vie_mode mode);

/* An exception for the caller to inject. */
struct vie_exc {
	uint8_t vector;	  /* IDT_GP, IDT_SS, IDT_PF, ... */
	bool has_errcode;
	uint32_t errcode;
	uint64_t cr2;	  /* for IDT_PF */
};

/*
 * The caller's side. get_reg/set_reg take vm_reg numbers: the GPRs, RIP, RFLAGS, CR0 (read to
 * tell real from protected mode) and VM_REG_INTR_SHADOW (cleared when an instruction completes).
 * get_seg is called for segment registers (VM_REG_ES..GS) in 16/32-bit modes, and for FS/GS
 * in 64-bit mode.
 * read/write: one access of size 1, 2, 4 or 8 bytes at a linear address (little-endian value in
 * the low bytes of *val / val). Return VIE_OK, VIE_EXCEPTION after filling *exc (a #PF from the
 * translation, a #GP from a device...), or VIE_ERROR.
 * When vie->rmw is set, the instruction's one read is of a value it writes back: translate that
 * read for write (GPT_WRITE) so that a read-only page faults before the device sees the read, as
 * on the CPU (segment write checks are applied to it by the emulator).
 */
struct vie_ops {
	uint64_t (*get_reg)(void *ctx, enum vm_reg reg);
	void (*set_reg)(void *ctx, enum vm_reg reg, uint64_t val);
	void (*get_seg)(void *ctx, enum vm_reg seg, struct seg_desc *desc);
	int (*read)(void *ctx, uint64_t gla, uint64_t *val, unsigned size, struct vie_exc *exc);
	int (*write)(void *ctx, uint64_t gla, uint64_t val, unsigned size, struct vie_exc *exc);
};

/*
 * Emulate a decoded instruction. Returns VIE_OK (done, RIP += len, interrupt shadow cleared),
 * VIE_RESTART, VIE_EXCEPTION (*exc filled; no register or memory changed by this element),
 * VIE_ERROR, or VIE_UNSUPPORTED when vie was not successfully decoded.
 */
int vie_emulate(const struct vie *vie, const struct vie_ops *ops, void *ctx, struct vie_exc *exc);

#endif
