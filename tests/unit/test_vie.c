/*
 * Unit tests of kernel/vmm/vie.c: decoding of real byte sequences (assembled with llvm-mc, or
 * emitted by clang for volatile MMIO accesses) in 16-, 32- and 64-bit code; emulation against a
 * fake machine (registers, segments, RAM and a logging MMIO device) checking registers, memory,
 * the exact device accesses and RFLAGS; flags of every ALU op compared with the host CPU running
 * the same operation; and negative cases (truncation, bad prefixes, unsupported opcodes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv/vie.h>

/* ------------------------------------------------------------------------------------------------ */
/* Fake machine                                                                                     */

#define RAM_SIZE 0x100000ull
#define DEV_SIZE 0x1000ull
#define MAX_LOG 64
#define READ_RMW 1u /* last_read_flags: the read was for an instruction with vie.rmw */

#define FL_CF 0x1ull
#define FL_PF 0x4ull
#define FL_AF 0x10ull
#define FL_ZF 0x40ull
#define FL_SF 0x80ull
#define FL_DF 0x400ull
#define FL_OF 0x800ull
#define FL_STATUS (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* VMX access rights of flat segments */
#define AR_DATA 0x93u		/* P, S, type 3 (data RW accessed) */
#define AR_CODE 0x9bu		/* P, S, type 11 (code RX accessed) */
#define AR_32 (SEG_ACCESS_DB | SEG_ACCESS_G)

struct access {
	bool write;
	uint64_t gla;
	unsigned size;
	uint64_t val;
};

struct machine {
	uint64_t regs[VM_REG_LAST];
	struct seg_desc segs[6]; /* VM_REG_ES .. VM_REG_GS */
	uint8_t *ram;		 /* linear [0, RAM_SIZE) */
	uint64_t dev_base;	 /* linear [dev_base, dev_base + DEV_SIZE) is the device */
	uint8_t dev[DEV_SIZE];
	struct access log[MAX_LOG];
	unsigned nlog;
	unsigned reads, writes; /* all accesses, RAM included */
	int fail_after;		/* > 0: the n-th access (1-based) returns VIE_ERROR */
	uint64_t fault_lo, fault_hi; /* accesses here raise #PF */
	unsigned get_seg_calls;
	uint32_t last_read_flags;
	const struct vie *cur; /* the instruction being emulated (read callbacks look at ->rmw) */
};

static struct machine *M;
static struct vie V;	  /* the instruction run() decoded */
static struct vie_exc X; /* the exception vie_emulate reported */

static uint64_t m_get_reg(void *ctx, enum vm_reg reg)
{
	struct machine *m = ctx;

	assert_ptr_equal(m, M);
	assert_true(reg < VM_REG_LAST);
	return m->regs[reg];
}

static void m_set_reg(void *ctx, enum vm_reg reg, uint64_t val)
{
	struct machine *m = ctx;

	assert_true(reg < VM_REG_LAST);
	m->regs[reg] = val;
}

static void m_get_seg(void *ctx, enum vm_reg seg, struct seg_desc *d)
{
	struct machine *m = ctx;

	assert_true(seg >= VM_REG_ES && seg <= VM_REG_GS);
	m->get_seg_calls++;
	*d = m->segs[seg - VM_REG_ES];
}

static int m_access(struct machine *m, bool write, uint64_t gla, uint64_t *val, unsigned size,
		    struct vie_exc *exc)
{
	assert_true(size == 1 || size == 2 || size == 4 || size == 8);
	if (write)
		m->writes++;
	else
		m->reads++;
	if (m->fail_after && m->reads + m->writes == (unsigned)m->fail_after)
		return VIE_ERROR;
	if (gla >= m->fault_lo && gla < m->fault_hi) {
		exc->vector = IDT_PF;
		exc->has_errcode = true;
		exc->errcode = write ? 2 : 0;
		exc->cr2 = gla;
		return VIE_EXCEPTION;
	}
	if (gla >= m->dev_base && gla + size <= m->dev_base + DEV_SIZE) {
		uint8_t *p = m->dev + (gla - m->dev_base);

		assert_true(m->nlog < MAX_LOG);
		m->log[m->nlog].write = write;
		m->log[m->nlog].gla = gla;
		m->log[m->nlog].size = size;
		if (write) {
			m->log[m->nlog].val = *val;
			memcpy(p, val, size);
		} else {
			*val = 0;
			memcpy(val, p, size);
			m->log[m->nlog].val = *val;
		}
		m->nlog++;
		return VIE_OK;
	}
	if (gla + size <= RAM_SIZE) {
		if (write) {
			memcpy(m->ram + gla, val, size);
		} else {
			*val = 0;
			memcpy(val, m->ram + gla, size);
		}
		return VIE_OK;
	}
	exc->vector = IDT_PF;
	exc->has_errcode = true;
	exc->errcode = write ? 2 : 0;
	exc->cr2 = gla;
	return VIE_EXCEPTION;
}

static int m_read(void *ctx, uint64_t gla, uint64_t *val, unsigned size, struct vie_exc *exc)
{
	struct machine *m = ctx;

	m->last_read_flags = m->cur && m->cur->rmw ? READ_RMW : 0;
	*val = 0xdeadbeefdeadbeefull; /* the emulator must use only the low size bytes */
	return m_access(ctx, false, gla, val, size, exc);
}

static int m_write(void *ctx, uint64_t gla, uint64_t val, unsigned size, struct vie_exc *exc)
{
	if (size < 8)
		assert_int_equal(val >> (8 * size), 0);
	return m_access(ctx, true, gla, &val, size, exc);
}

static const struct vie_ops OPS = { m_get_reg, m_set_reg, m_get_seg, m_read, m_write };

static void machine_mode(struct machine *m, enum vie_mode mode)
{
	for (int i = 0; i < 6; i++) {
		m->segs[i].base = 0;
		m->segs[i].limit = mode == VIE_MODE16 ? 0xffff : 0xffffffff;
		m->segs[i].access = AR_DATA | (mode == VIE_MODE16 ? 0 : AR_32);
		m->segs[i].selector = 0x10;
	}
	m->segs[VM_REG_CS - VM_REG_ES].access =
		AR_CODE | (mode == VIE_MODE64 ? SEG_ACCESS_L | SEG_ACCESS_G : mode == VIE_MODE32 ? AR_32 : 0);
	m->regs[VM_REG_CR0] = mode == VIE_MODE16 ? 0x10 : 0x80000011;
	m->regs[VM_REG_CR4] = mode == VIE_MODE64 ? 0x20 : 0;
	m->regs[VM_REG_EFER] = mode == VIE_MODE64 ? 0x500 : 0;
}

static int setup(void **state)
{
	(void)state;
	M = calloc(1, sizeof(*M));
	if (!M)
		return -1;
	M->ram = calloc(1, RAM_SIZE);
	if (!M->ram)
		return -1;
	M->dev_base = 0xfee00000ull;
	M->cur = &V;
	M->regs[VM_REG_RIP] = 0x1000;
	M->regs[VM_REG_RFLAGS] = 0x2;
	M->regs[VM_REG_INTR_SHADOW] = 1;
	machine_mode(M, VIE_MODE64);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(M->ram);
	free(M);
	M = NULL;
	return 0;
}

static unsigned unhex(const char *hex, uint8_t *out)
{
	unsigned n = 0;

	while (*hex) {
		unsigned v;

		if (*hex == ' ') {
			hex++;
			continue;
		}
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* decode hex in mode (must succeed) and emulate; returns vie_emulate's result */
static int run(enum vie_mode mode, const char *hex)
{
	uint8_t b[32];
	unsigned n = unhex(hex, b);
	int r = vie_decode(&V, b, n, mode);

	if (r != VIE_OK)
		fail_msg("decode of %s: %d", hex, r);
	M->nlog = 0;
	return vie_emulate(&V, &OPS, M, &X);
}

static void dev_put(uint64_t off, uint64_t val, unsigned size)
{
	memcpy(M->dev + off, &val, size);
}

static uint64_t dev_get(uint64_t off, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, M->dev + off, size);
	return v;
}

static uint64_t ram_get(uint64_t off, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, M->ram + off, size);
	return v;
}

#define DEV (M->dev_base)
#define LOG(i, w, g, s, v)                                                                             \
	do {                                                                                           \
		assert_true((i) < M->nlog);                                                            \
		assert_int_equal(M->log[i].write, (w));                                                \
		assert_int_equal(M->log[i].gla, (g));                                                  \
		assert_int_equal(M->log[i].size, (s));                                                 \
		assert_int_equal(M->log[i].val, (v));                                                  \
	} while (0)

/* ------------------------------------------------------------------------------------------------ */
/* Decoding: a table of real encodings                                                              */

#define NR VIE_NOREG
#define MR VIE_FORM_MEM_REG
#define RM VIE_FORM_REG_MEM
#define MI VIE_FORM_MEM_IMM
#define MM VIE_FORM_MEM
#define rAX VM_REG_RAX
#define rCX VM_REG_RCX
#define rDX VM_REG_RDX
#define rBX VM_REG_RBX
#define rSP VM_REG_RSP
#define rBP VM_REG_RBP
#define rSI VM_REG_RSI
#define rDI VM_REG_RDI
#define DS VM_REG_DS
#define SS VM_REG_SS
#define ES VM_REG_ES
#define FS VM_REG_FS
#define GS VM_REG_GS
#define CS VM_REG_CS

struct dcase {
	uint8_t mode;
	const char *hex;
	uint8_t len, op, form, opsize, memsize, addrsize, seg, base, index, scale;
	int64_t disp;
	bool rip_rel;
	uint8_t reg;
	bool high8, has_imm;
	int64_t imm;
};

static const struct dcase dcases[] = {
	/* 64-bit: what clang emits for volatile MMIO */
	{ 8, "89 37", 2, VIE_OP_MOV, MR, 4, 4, 8, DS, rDI, NR, 1, 0, 0, rSI, 0, 0, 0 },
	{ 8, "8b 07", 2, VIE_OP_MOV, RM, 4, 4, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "8a 47 03", 3, VIE_OP_MOV, RM, 1, 1, 8, DS, rDI, NR, 1, 3, 0, rAX, 0, 0, 0 },
	{ 8, "66 89 77 0a", 4, VIE_OP_MOV, MR, 2, 2, 8, DS, rDI, NR, 1, 10, 0, rSI, 0, 0, 0 },
	{ 8, "48 8b 04 f7", 4, VIE_OP_MOV, RM, 8, 8, 8, DS, rDI, rSI, 8, 0, 0, rAX, 0, 0, 0 },
	{ 8, "81 0f 00 01 00 00", 6, VIE_OP_OR, MI, 4, 4, 8, DS, rDI, NR, 1, 0, 0, NR, 0, 1, 0x100 },
	{ 8, "c7 00 07 00 00 00", 6, VIE_OP_MOV, MI, 4, 4, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 7 },
	{ 8, "c6 07 00", 3, VIE_OP_MOV, MI, 1, 1, 8, DS, rDI, NR, 1, 0, 0, NR, 0, 1, 0 },
	{ 8, "8b 05 34 12 00 00", 6, VIE_OP_MOV, RM, 4, 4, 8, DS, NR, NR, 1, 0x1234, 1, rAX, 0, 0, 0 },
	{ 8, "f3 ab", 2, VIE_OP_STOS, MM, 4, 4, 8, ES, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	/* 64-bit: registers, REX, SIB */
	{ 8, "88 08", 2, VIE_OP_MOV, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "88 20", 2, VIE_OP_MOV, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rAX, 1, 0, 0 },
	{ 8, "40 88 30", 3, VIE_OP_MOV, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rSI, 0, 0, 0 },
	{ 8, "40 8a 20", 3, VIE_OP_MOV, RM, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rSP, 0, 0, 0 },
	{ 8, "40 8a 38", 3, VIE_OP_MOV, RM, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rDI, 0, 0, 0 },
	{ 8, "86 38", 2, VIE_OP_XCHG, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rBX, 1, 0, 0 },
	{ 8, "4f 89 7c c8 10", 5, VIE_OP_MOV, MR, 8, 8, 8, DS, 8, 9, 8, 0x10, 0, 15, 0, 0, 0 },
	{ 8, "66 44 8b 0c 24", 5, VIE_OP_MOV, RM, 2, 2, 8, SS, rSP, NR, 1, 0, 0, 9, 0, 0, 0 },
	{ 8, "8b 4d fc", 3, VIE_OP_MOV, RM, 4, 4, 8, SS, rBP, NR, 1, -4, 0, rCX, 0, 0, 0 },
	{ 8, "41 8b 04 24", 4, VIE_OP_MOV, RM, 4, 4, 8, DS, 12, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "41 8b 45 00", 4, VIE_OP_MOV, RM, 4, 4, 8, DS, 13, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "41 8b 45 40", 4, VIE_OP_MOV, RM, 4, 4, 8, DS, 13, NR, 1, 0x40, 0, rAX, 0, 0, 0 },
	{ 8, "8b 04 8d 00 10 00 00", 7, VIE_OP_MOV, RM, 4, 4, 8, DS, NR, rCX, 4, 0x1000, 0, rAX, 0, 0, 0 },
	{ 8, "42 8b 04 23", 4, VIE_OP_MOV, RM, 4, 4, 8, DS, rBX, 12, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "8b 04 6b", 3, VIE_OP_MOV, RM, 4, 4, 8, DS, rBX, rBP, 2, 0, 0, rAX, 0, 0, 0 },
	{ 8, "42 8b 44 a4 08", 5, VIE_OP_MOV, RM, 4, 4, 8, SS, rSP, 12, 4, 8, 0, rAX, 0, 0, 0 },
	{ 8, "8b 85 78 56 34 12", 6, VIE_OP_MOV, RM, 4, 4, 8, SS, rBP, NR, 1, 0x12345678, 0, rAX, 0, 0, 0 },
	{ 8, "43 8b 44 f5 80", 5, VIE_OP_MOV, RM, 4, 4, 8, DS, 13, 14, 8, -128, 0, rAX, 0, 0, 0 },
	/* SIB with index 4 and REX.X = R12 as index; base 5 with mod 0 and REX.B: no base */
	{ 8, "4a 8b 04 a5 10 00 00 00", 8, VIE_OP_MOV, RM, 8, 8, 8, DS, NR, 12, 4, 0x10, 0, rAX, 0, 0, 0 },
	{ 8, "41 8b 04 25 10 00 00 00", 8, VIE_OP_MOV, RM, 4, 4, 8, DS, NR, NR, 1, 0x10, 0, rAX, 0, 0, 0 },
	{ 8, "41 8b 05 f0 ff ff ff", 7, VIE_OP_MOV, RM, 4, 4, 8, DS, NR, NR, 1, -16, 1, rAX, 0, 0, 0 },
	{ 8, "3e 8b 04 25 78 56 34 12", 8, VIE_OP_MOV, RM, 4, 4, 8, DS, NR, NR, 1, 0x12345678, 0, rAX, 0, 0, 0 },
	/* moffs: 8-byte offsets in 64-bit mode */
	{ 8, "a1 88 77 66 55 44 33 22 11", 9, VIE_OP_MOV, RM, 4, 4, 8, DS, NR, NR, 1, 0x1122334455667788ll, 0,
	  rAX, 0, 0, 0 },
	{ 8, "48 a3 88 77 66 55 44 33 22 11", 10, VIE_OP_MOV, MR, 8, 8, 8, DS, NR, NR, 1, 0x1122334455667788ll,
	  0, rAX, 0, 0, 0 },
	{ 8, "a0 10 32 54 76 98 ba dc fe", 9, VIE_OP_MOV, RM, 1, 1, 8, DS, NR, NR, 1, (int64_t)0xfedcba9876543210ull,
	  0, rAX, 0, 0, 0 },
	{ 8, "67 a1 44 33 22 11", 6, VIE_OP_MOV, RM, 4, 4, 4, DS, NR, NR, 1, 0x11223344, 0, rAX, 0, 0, 0 },
	{ 8, "65 a2 00 00 00 00 00 00 00 00", 10, VIE_OP_MOV, MR, 1, 1, 8, GS, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	/* immediates */
	{ 8, "c7 80 ff ff ff 7f ef be ad de", 10, VIE_OP_MOV, MI, 4, 4, 8, DS, rAX, NR, 1, 0x7fffffff, 0, NR, 0, 1,
	  (int64_t)0xffffffffdeadbeefull },
	{ 8, "48 c7 00 ff ff ff ff", 7, VIE_OP_MOV, MI, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, -1 },
	{ 8, "48 c7 00 ff ff ff 7f", 7, VIE_OP_MOV, MI, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 0x7fffffff },
	{ 8, "c6 00 80", 3, VIE_OP_MOV, MI, 1, 1, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, -128 },
	{ 8, "66 c7 00 34 12", 5, VIE_OP_MOV, MI, 2, 2, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 0x1234 },
	{ 8, "c7 05 e0 ff ff ff 05 00 00 00", 10, VIE_OP_MOV, MI, 4, 4, 8, DS, NR, NR, 1, -32, 1, NR, 0, 1, 5 },
	/* MOVZX / MOVSX / MOVSXD */
	{ 8, "0f b6 07", 3, VIE_OP_MOVZX, RM, 4, 1, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "4c 0f b7 57 02", 5, VIE_OP_MOVZX, RM, 8, 2, 8, DS, rDI, NR, 1, 2, 0, 10, 0, 0, 0 },
	{ 8, "0f be 07", 3, VIE_OP_MOVSX, RM, 4, 1, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "48 0f bf 07", 4, VIE_OP_MOVSX, RM, 8, 2, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "66 0f b6 00", 4, VIE_OP_MOVZX, RM, 2, 1, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "66 0f be 00", 4, VIE_OP_MOVSX, RM, 2, 1, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "48 63 07", 3, VIE_OP_MOVSX, RM, 8, 4, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "63 07", 2, VIE_OP_MOVSX, RM, 4, 4, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "66 63 07", 3, VIE_OP_MOVSX, RM, 2, 2, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	/* ALU */
	{ 8, "01 08", 2, VIE_OP_ADD, MR, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "08 13", 2, VIE_OP_OR, MR, 1, 1, 8, DS, rBX, NR, 1, 0, 0, rDX, 0, 0, 0 },
	{ 8, "48 11 10", 3, VIE_OP_ADC, MR, 8, 8, 8, DS, rAX, NR, 1, 0, 0, rDX, 0, 0, 0 },
	{ 8, "66 19 10", 3, VIE_OP_SBB, MR, 2, 2, 8, DS, rAX, NR, 1, 0, 0, rDX, 0, 0, 0 },
	{ 8, "23 01", 2, VIE_OP_AND, RM, 4, 4, 8, DS, rCX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "2a 01", 2, VIE_OP_SUB, RM, 1, 1, 8, DS, rCX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "4c 33 19", 3, VIE_OP_XOR, RM, 8, 8, 8, DS, rCX, NR, 1, 0, 0, 11, 0, 0, 0 },
	{ 8, "39 37", 2, VIE_OP_CMP, MR, 4, 4, 8, DS, rDI, NR, 1, 0, 0, rSI, 0, 0, 0 },
	{ 8, "3b 37", 2, VIE_OP_CMP, RM, 4, 4, 8, DS, rDI, NR, 1, 0, 0, rSI, 0, 0, 0 },
	{ 8, "45 00 07", 3, VIE_OP_ADD, MR, 1, 1, 8, DS, 15, NR, 1, 0, 0, 8, 0, 0, 0 },
	{ 8, "45 02 07", 3, VIE_OP_ADD, RM, 1, 1, 8, DS, 15, NR, 1, 0, 0, 8, 0, 0, 0 },
	{ 8, "30 20", 2, VIE_OP_XOR, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rAX, 1, 0, 0 },
	{ 8, "3a 38", 2, VIE_OP_CMP, RM, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rBX, 1, 0, 0 },
	{ 8, "81 00 78 56 34 12", 6, VIE_OP_ADD, MI, 4, 4, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 0x12345678 },
	{ 8, "81 08 80 00 00 00", 6, VIE_OP_OR, MI, 4, 4, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 0x80 },
	{ 8, "80 20 fe", 3, VIE_OP_AND, MI, 1, 1, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, -2 },
	{ 8, "48 83 38 ff", 4, VIE_OP_CMP, MI, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, -1 },
	{ 8, "66 81 28 34 12", 5, VIE_OP_SUB, MI, 2, 2, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 0x1234 },
	{ 8, "48 81 00 ff ff ff 7f", 7, VIE_OP_ADD, MI, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 0x7fffffff },
	{ 8, "48 83 20 80", 4, VIE_OP_AND, MI, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, -128 },
	{ 8, "83 10 01", 3, VIE_OP_ADC, MI, 4, 4, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 1 },
	{ 8, "80 19 01", 3, VIE_OP_SBB, MI, 1, 1, 8, DS, rCX, NR, 1, 0, 0, NR, 0, 1, 1 },
	{ 8, "66 83 31 ff", 4, VIE_OP_XOR, MI, 2, 2, 8, DS, rCX, NR, 1, 0, 0, NR, 0, 1, -1 },
	{ 8, "f0 01 08", 3, VIE_OP_ADD, MR, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "f0 83 08 01", 4, VIE_OP_OR, MI, 4, 4, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 1 },
	/* XCHG, TEST, BT */
	{ 8, "f0 87 08", 3, VIE_OP_XCHG, MR, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "87 08", 2, VIE_OP_XCHG, MR, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "84 08", 2, VIE_OP_TEST, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "85 00", 2, VIE_OP_TEST, MR, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "f6 00 04", 3, VIE_OP_TEST, MI, 1, 1, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 4 },
	{ 8, "f7 00 00 00 00 80", 6, VIE_OP_TEST, MI, 4, 4, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1,
	  (int64_t)0xffffffff80000000ull },
	{ 8, "66 f7 00 00 80", 5, VIE_OP_TEST, MI, 2, 2, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, -32768 },
	{ 8, "0f a3 08", 3, VIE_OP_BT, MR, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "48 0f ba 20 3f", 5, VIE_OP_BT, MI, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 63 },
	{ 8, "66 0f ba 20 03", 5, VIE_OP_BT, MI, 2, 2, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 3 },
	{ 8, "0f ba 20 1f", 4, VIE_OP_BT, MI, 4, 4, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 31 },
	{ 8, "66 0f a3 08", 4, VIE_OP_BT, MR, 2, 2, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 8, "48 0f a3 08", 4, VIE_OP_BT, MR, 8, 8, 8, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	/* strings */
	{ 8, "f3 aa", 2, VIE_OP_STOS, MM, 1, 1, 8, ES, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "f3 48 ab", 3, VIE_OP_STOS, MM, 8, 8, 8, ES, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "66 ab", 2, VIE_OP_STOS, MM, 2, 2, 8, ES, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "f3 a4", 2, VIE_OP_MOVS, MM, 1, 1, 8, DS, NR, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "f3 a5", 2, VIE_OP_MOVS, MM, 4, 4, 8, DS, NR, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "48 a5", 2, VIE_OP_MOVS, MM, 8, 8, 8, DS, NR, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "64 f3 a4", 3, VIE_OP_MOVS, MM, 1, 1, 8, FS, NR, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "f3 67 a5", 3, VIE_OP_MOVS, MM, 4, 4, 4, DS, NR, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "65 aa", 2, VIE_OP_STOS, MM, 1, 1, 8, ES, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	/* push / pop */
	{ 8, "ff 30", 2, VIE_OP_PUSH, MM, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "66 ff 30", 3, VIE_OP_PUSH, MM, 2, 2, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "48 ff 30", 3, VIE_OP_PUSH, MM, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "8f 00", 2, VIE_OP_POP, MM, 8, 8, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "8f 44 24 08", 4, VIE_OP_POP, MM, 8, 8, 8, SS, rSP, NR, 1, 8, 0, NR, 0, 0, 0 },
	{ 8, "66 ff 34 24", 4, VIE_OP_PUSH, MM, 2, 2, 8, SS, rSP, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 8, "66 8f 00", 3, VIE_OP_POP, MM, 2, 2, 8, DS, rAX, NR, 1, 0, 0, NR, 0, 0, 0 },
	/* segment overrides and address size in 64-bit mode */
	{ 8, "64 8b 00", 3, VIE_OP_MOV, RM, 4, 4, 8, FS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "65 8b 04 25 10 00 00 00", 8, VIE_OP_MOV, RM, 4, 4, 8, GS, NR, NR, 1, 0x10, 0, rAX, 0, 0, 0 },
	{ 8, "26 8b 00", 3, VIE_OP_MOV, RM, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 }, /* ES ignored */
	{ 8, "36 8b 00", 3, VIE_OP_MOV, RM, 4, 4, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 }, /* SS ignored */
	{ 8, "2e 8b 45 00", 4, VIE_OP_MOV, RM, 4, 4, 8, SS, rBP, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "64 36 8b 00", 4, VIE_OP_MOV, RM, 4, 4, 8, FS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "67 8b 00", 3, VIE_OP_MOV, RM, 4, 4, 4, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "67 8b 05 10 00 00 00", 7, VIE_OP_MOV, RM, 4, 4, 4, DS, NR, NR, 1, 0x10, 1, rAX, 0, 0, 0 },
	/* REX rules: a legacy prefix after REX cancels it; the last REX counts; W beats 66 */
	{ 8, "48 66 89 00", 4, VIE_OP_MOV, MR, 2, 2, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "66 48 89 00", 4, VIE_OP_MOV, MR, 8, 8, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "41 48 89 00", 4, VIE_OP_MOV, MR, 8, 8, 8, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "48 41 89 00", 4, VIE_OP_MOV, MR, 4, 4, 8, DS, 8, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 8, "40 88 20", 3, VIE_OP_MOV, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rSP, 0, 0, 0 },
	{ 8, "40 66 88 20", 4, VIE_OP_MOV, MR, 1, 1, 8, DS, rAX, NR, 1, 0, 0, rAX, 1, 0, 0 },
	/* ignored REP on a non-string op */
	{ 8, "f3 89 07", 3, VIE_OP_MOV, MR, 4, 4, 8, DS, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },

	/* 32-bit code */
	{ 4, "89 08", 2, VIE_OP_MOV, MR, 4, 4, 4, DS, rAX, NR, 1, 0, 0, rCX, 0, 0, 0 },
	{ 4, "a1 78 56 34 12", 5, VIE_OP_MOV, RM, 4, 4, 4, DS, NR, NR, 1, 0x12345678, 0, rAX, 0, 0, 0 },
	{ 4, "8b 45 08", 3, VIE_OP_MOV, RM, 4, 4, 4, SS, rBP, NR, 1, 8, 0, rAX, 0, 0, 0 },
	{ 4, "8b 44 24 04", 4, VIE_OP_MOV, RM, 4, 4, 4, SS, rSP, NR, 1, 4, 0, rAX, 0, 0, 0 },
	{ 4, "8b 44 b3 f8", 4, VIE_OP_MOV, RM, 4, 4, 4, DS, rBX, rSI, 4, -8, 0, rAX, 0, 0, 0 },
	{ 4, "8b 04 fd 00 01 00 00", 7, VIE_OP_MOV, RM, 4, 4, 4, DS, NR, rDI, 8, 0x100, 0, rAX, 0, 0, 0 },
	{ 4, "8b 05 20 00 e0 fe", 6, VIE_OP_MOV, RM, 4, 4, 4, DS, NR, NR, 1, (int64_t)0xfffffffffee00020ull, 0,
	  rAX, 0, 0, 0 },
	{ 4, "66 8b 00", 3, VIE_OP_MOV, RM, 2, 2, 4, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 4, "8a 01", 2, VIE_OP_MOV, RM, 1, 1, 4, DS, rCX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 4, "8a 21", 2, VIE_OP_MOV, RM, 1, 1, 4, DS, rCX, NR, 1, 0, 0, rAX, 1, 0, 0 },
	{ 4, "67 8b 00", 3, VIE_OP_MOV, RM, 4, 4, 2, DS, rBX, rSI, 1, 0, 0, rAX, 0, 0, 0 },
	{ 4, "26 8b 07", 3, VIE_OP_MOV, RM, 4, 4, 4, ES, rDI, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 4, "3e a0 20 00 e0 fe", 6, VIE_OP_MOV, RM, 1, 1, 4, DS, NR, NR, 1, 0xfee00020ll, 0, rAX, 0, 0, 0 },
	{ 4, "3e a3 b0 00 e0 fe", 6, VIE_OP_MOV, MR, 4, 4, 4, DS, NR, NR, 1, 0xfee000b0ll, 0, rAX, 0, 0, 0 },
	{ 4, "f3 ab", 2, VIE_OP_STOS, MM, 4, 4, 4, ES, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 4, "f3 66 a5", 3, VIE_OP_MOVS, MM, 2, 2, 4, DS, NR, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 4, "ff 30", 2, VIE_OP_PUSH, MM, 4, 4, 4, DS, rAX, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 4, "8f 04 24", 3, VIE_OP_POP, MM, 4, 4, 4, SS, rSP, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 4, "83 03 01", 3, VIE_OP_ADD, MI, 4, 4, 4, DS, rBX, NR, 1, 0, 0, NR, 0, 1, 1 },
	{ 4, "0f a3 10", 3, VIE_OP_BT, MR, 4, 4, 4, DS, rAX, NR, 1, 0, 0, rDX, 0, 0, 0 },
	{ 4, "36 f6 45 ff 01", 5, VIE_OP_TEST, MI, 1, 1, 4, SS, rBP, NR, 1, -1, 0, NR, 0, 1, 1 },
	{ 4, "82 00 05", 3, VIE_OP_ADD, MI, 1, 1, 4, DS, rAX, NR, 1, 0, 0, NR, 0, 1, 5 },
	{ 4, "64 8b 00", 3, VIE_OP_MOV, RM, 4, 4, 4, FS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 4, "2e 8b 00", 3, VIE_OP_MOV, RM, 4, 4, 4, CS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 4, "3e 8b 45 00", 4, VIE_OP_MOV, RM, 4, 4, 4, DS, rBP, NR, 1, 0, 0, rAX, 0, 0, 0 },
	/* in 32-bit mode mod 0 rm 5 is absolute, not RIP-relative */
	{ 4, "8b 05 10 00 00 00", 6, VIE_OP_MOV, RM, 4, 4, 4, DS, NR, NR, 1, 0x10, 0, rAX, 0, 0, 0 },

	/* 16-bit code */
	{ 2, "89 00", 2, VIE_OP_MOV, MR, 2, 2, 2, DS, rBX, rSI, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "89 41 04", 3, VIE_OP_MOV, MR, 2, 2, 2, DS, rBX, rDI, 1, 4, 0, rAX, 0, 0, 0 },
	{ 2, "8b 02", 2, VIE_OP_MOV, RM, 2, 2, 2, SS, rBP, rSI, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "8b 43 fe", 3, VIE_OP_MOV, RM, 2, 2, 2, SS, rBP, rDI, 1, -2, 0, rAX, 0, 0, 0 },
	{ 2, "8b 04", 2, VIE_OP_MOV, RM, 2, 2, 2, DS, NR, rSI, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "8b 85 34 12", 4, VIE_OP_MOV, RM, 2, 2, 2, DS, NR, rDI, 1, 0x1234, 0, rAX, 0, 0, 0 },
	{ 2, "8b 46 00", 3, VIE_OP_MOV, RM, 2, 2, 2, SS, rBP, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "8b 07", 2, VIE_OP_MOV, RM, 2, 2, 2, DS, rBX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "8b 06 34 12", 4, VIE_OP_MOV, RM, 2, 2, 2, DS, NR, NR, 1, 0x1234, 0, rAX, 0, 0, 0 },
	{ 2, "8b 86 00 80", 4, VIE_OP_MOV, RM, 2, 2, 2, SS, rBP, NR, 1, -32768, 0, rAX, 0, 0, 0 },
	{ 2, "a1 34 12", 3, VIE_OP_MOV, RM, 2, 2, 2, DS, NR, NR, 1, 0x1234, 0, rAX, 0, 0, 0 },
	{ 2, "66 8b 07", 3, VIE_OP_MOV, RM, 4, 4, 2, DS, rBX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "67 8b 00", 3, VIE_OP_MOV, RM, 2, 2, 4, DS, rAX, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "67 8b 44 8d 00", 5, VIE_OP_MOV, RM, 2, 2, 4, SS, rBP, rCX, 4, 0, 0, rAX, 0, 0, 0 },
	{ 2, "67 8b 44 24 02", 5, VIE_OP_MOV, RM, 2, 2, 4, SS, rSP, NR, 1, 2, 0, rAX, 0, 0, 0 },
	{ 2, "3e a0 10 00", 4, VIE_OP_MOV, RM, 1, 1, 2, DS, NR, NR, 1, 0x10, 0, rAX, 0, 0, 0 },
	{ 2, "66 3e a1 10 00", 5, VIE_OP_MOV, RM, 4, 4, 2, DS, NR, NR, 1, 0x10, 0, rAX, 0, 0, 0 },
	{ 2, "67 a1 10 00 00 00", 6, VIE_OP_MOV, RM, 2, 2, 4, DS, NR, NR, 1, 0x10, 0, rAX, 0, 0, 0 },
	{ 2, "f3 aa", 2, VIE_OP_STOS, MM, 1, 1, 2, ES, NR, NR, 1, 0, 0, rAX, 0, 0, 0 },
	{ 2, "f3 66 a5", 3, VIE_OP_MOVS, MM, 4, 4, 2, DS, NR, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 2, "26 c6 05 41", 4, VIE_OP_MOV, MI, 1, 1, 2, ES, NR, rDI, 1, 0, 0, NR, 0, 1, 0x41 },
	{ 2, "ff 37", 2, VIE_OP_PUSH, MM, 2, 2, 2, DS, rBX, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 2, "8f 07", 2, VIE_OP_POP, MM, 2, 2, 2, DS, rBX, NR, 1, 0, 0, NR, 0, 0, 0 },
	{ 2, "83 46 02 05", 4, VIE_OP_ADD, MI, 2, 2, 2, SS, rBP, NR, 1, 2, 0, NR, 0, 1, 5 },
	{ 2, "66 81 07 00 00 00 80", 7, VIE_OP_ADD, MI, 4, 4, 2, DS, rBX, NR, 1, 0, 0, NR, 0, 1,
	  (int64_t)0xffffffff80000000ull },
	{ 2, "81 07 00 80", 4, VIE_OP_ADD, MI, 2, 2, 2, DS, rBX, NR, 1, 0, 0, NR, 0, 1, -32768 },
};

static void test_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		uint8_t b[32];
		unsigned n = unhex(c->hex, b);
		struct vie v;
		int r = vie_decode(&v, b, n, (enum vie_mode)c->mode);

		if (r != VIE_OK)
			fail_msg("case %zu (%d-bit) %s: decode %d", i, c->mode * 8, c->hex, r);
#define CHK(field, want)                                                                               \
	do {                                                                                           \
		if ((int64_t)(v.field) != (int64_t)(want))                                             \
			fail_msg("case %zu (%d-bit) %s: " #field " = %lld, want %lld", i, c->mode * 8,   \
				 c->hex, (long long)(v.field), (long long)(want));                     \
	} while (0)
		CHK(len, c->len);
		CHK(len, n);
		CHK(mode, c->mode);
		CHK(op, c->op);
		CHK(form, c->form);
		CHK(opsize, c->opsize);
		CHK(memsize, c->memsize);
		CHK(addrsize, c->addrsize);
		CHK(seg, c->seg);
		CHK(base, c->base);
		CHK(index, c->index);
		CHK(scale, c->scale);
		CHK(disp, c->disp);
		CHK(rip_rel, c->rip_rel);
		CHK(reg, c->reg);
		CHK(reg_high8, c->high8);
		CHK(has_imm, c->has_imm);
		if (c->has_imm)
			CHK(imm, c->imm);
#undef CHK
		/* any shorter prefix of the bytes is truncated */
		for (unsigned k = 0; k < n; k++) {
			struct vie t;
			r = vie_decode(&t, b, k, (enum vie_mode)c->mode);
			if (r != VIE_TRUNCATED)
				fail_msg("case %zu %s cut to %u bytes: %d", i, c->hex, k, r);
			assert_int_equal(vie_emulate(&t, &OPS, M, &X), VIE_UNSUPPORTED);
		}
		/* trailing bytes are not consumed */
		b[n] = 0x90;
		b[n + 1] = 0xcc;
		assert_int_equal(vie_decode(&v, b, n + 2, (enum vie_mode)c->mode), VIE_OK);
		assert_int_equal(v.len, n);
	}
}

static void test_decode_prefix_fields(void **state)
{
	(void)state;
	struct vie v;
	uint8_t b[16];

	memcpy(b, "\xf3\xab", 2);
	assert_int_equal(vie_decode(&v, b, 2, VIE_MODE64), VIE_OK);
	assert_true(v.rep);
	assert_false(v.repne);
	assert_false(v.lock);
	assert_int_equal(v.opcode, 0xab);
	assert_false(v.twobyte);
	assert_false(v.has_modrm);
	memcpy(b, "\xf2\xa4", 2);
	assert_int_equal(vie_decode(&v, b, 2, VIE_MODE64), VIE_OK);
	assert_true(v.repne);
	assert_false(v.rep);
	memcpy(b, "\xf2\xf3\xa4", 3); /* the last of F2/F3 wins */
	assert_int_equal(vie_decode(&v, b, 3, VIE_MODE64), VIE_OK);
	assert_true(v.rep);
	assert_false(v.repne);
	memcpy(b, "\xf0\x01\x08", 3);
	assert_int_equal(vie_decode(&v, b, 3, VIE_MODE64), VIE_OK);
	assert_true(v.lock);
	memcpy(b, "\x66\x67\x4c\x0f\xb7\x57\x02", 7);
	assert_int_equal(vie_decode(&v, b, 7, VIE_MODE64), VIE_OK);
	assert_true(v.opsize_prefix);
	assert_true(v.addrsize_prefix);
	assert_int_equal(v.rex, 0x4c);
	assert_true(v.twobyte);
	assert_int_equal(v.opcode, 0xb7);
	assert_true(v.has_modrm);
	assert_int_equal(v.modrm, 0x57);
	assert_int_equal(v.opsize, 8);
	assert_int_equal(v.addrsize, 4);
	memcpy(b, "\x42\x8b\x44\xa4\x08", 5);
	assert_int_equal(vie_decode(&v, b, 5, VIE_MODE64), VIE_OK);
	assert_true(v.has_sib);
	assert_int_equal(v.sib, 0xa4);
	memcpy(b, "\x64\x65\x8b\x00", 4); /* the last segment prefix wins */
	assert_int_equal(vie_decode(&v, b, 4, VIE_MODE64), VIE_OK);
	assert_int_equal(v.seg_prefix, VM_REG_GS);
	assert_int_equal(v.seg, VM_REG_GS);
	memcpy(b, "\x65\x26\x8b\x00", 4); /* 64-bit: ES prefix ignored, GS stays */
	assert_int_equal(vie_decode(&v, b, 4, VIE_MODE64), VIE_OK);
	assert_int_equal(v.seg, VM_REG_GS);
	assert_int_equal(vie_decode(&v, b, 4, VIE_MODE32), VIE_OK);
	assert_int_equal(v.seg, VM_REG_ES);
	memcpy(b, "\x26\xa5", 2); /* MOVS: the override applies to the source */
	assert_int_equal(vie_decode(&v, b, 2, VIE_MODE32), VIE_OK);
	assert_int_equal(v.seg, VM_REG_ES);
	memcpy(b, "\x2e\xab", 2); /* STOS: the destination is always ES */
	assert_int_equal(vie_decode(&v, b, 2, VIE_MODE32), VIE_OK);
	assert_int_equal(v.seg, VM_REG_ES);
	assert_int_equal(v.seg_prefix, VM_REG_CS);
	/* 14 prefixes + opcode + modrm = 16 bytes: too long */
	memset(b, 0x66, 14);
	b[14] = 0x89;
	b[15] = 0x00;
	assert_int_equal(vie_decode(&v, b, 16, VIE_MODE64), VIE_TOO_LONG);
	assert_int_equal(vie_decode(&v, b, 15, VIE_MODE64), VIE_TOO_LONG);
	assert_int_equal(vie_decode(&v, b, 14, VIE_MODE64), VIE_TRUNCATED);
	/* 13 prefixes + 89 00 = 15 bytes: fine */
	assert_int_equal(vie_decode(&v, b + 1, 15, VIE_MODE64), VIE_OK);
	assert_int_equal(v.len, 15);
	/* 15-byte limit with a long displacement + immediate */
	{
		static const uint8_t l[] = { 0x26, 0x26, 0x26, 0x26, 0x66, 0x26, 0x81, 0x80,
					     0x00, 0x00, 0x00, 0x00, 0x34, 0x12, 0x00 };
		assert_int_equal(vie_decode(&v, l, 15, VIE_MODE32), VIE_OK);
		assert_int_equal(v.len, 14);
		static const uint8_t l2[] = { 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x81, 0x80,
					      0x00, 0x00, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00 };
		assert_int_equal(vie_decode(&v, l2, 16, VIE_MODE32), VIE_TOO_LONG);
	}
	/* NULL bytes, bad mode */
	assert_int_equal(vie_decode(&v, NULL, 5, VIE_MODE64), VIE_TRUNCATED);
	assert_int_equal(vie_decode(&v, b, 2, (enum vie_mode)3), VIE_UNSUPPORTED);
	assert_int_equal(vie_emulate(&v, &OPS, M, &X), VIE_UNSUPPORTED);
}

static const struct {
	uint8_t mode;
	const char *hex;
	int want;
} bad[] = {
	/* not a memory-access instruction hv emulates */
	{ 8, "90", VIE_UNSUPPORTED },
	{ 8, "cc", VIE_UNSUPPORTED },
	{ 8, "0f 05", VIE_UNSUPPORTED },
	{ 8, "0f 0b", VIE_UNSUPPORTED },
	{ 8, "f4", VIE_UNSUPPORTED },
	{ 8, "c3", VIE_UNSUPPORTED },
	{ 8, "ac", VIE_UNSUPPORTED }, /* LODS */
	{ 8, "ae", VIE_UNSUPPORTED }, /* SCAS */
	{ 8, "a6", VIE_UNSUPPORTED }, /* CMPS */
	{ 8, "04 01", VIE_UNSUPPORTED }, /* ADD AL, Ib: no memory */
	{ 8, "05 01 00 00 00", VIE_UNSUPPORTED },
	{ 8, "3d 01 00 00 00", VIE_UNSUPPORTED },
	{ 8, "8d 00", VIE_UNSUPPORTED }, /* LEA */
	{ 8, "0f ab 08", VIE_UNSUPPORTED }, /* BTS */
	{ 8, "0f ba 28 01", VIE_UNSUPPORTED }, /* BTS imm */
	{ 8, "0f ba 00 01", VIE_UNSUPPORTED }, /* group 8 /0 */
	{ 8, "0f b0 08", VIE_UNSUPPORTED }, /* CMPXCHG */
	{ 8, "0f c1 08", VIE_UNSUPPORTED }, /* XADD */
	{ 8, "c5 f8 77", VIE_UNSUPPORTED }, /* VEX */
	{ 8, "62 f1 7c 48 10 00", VIE_UNSUPPORTED }, /* EVEX */
	{ 8, "0f 10 00", VIE_UNSUPPORTED }, /* MOVUPS */
	{ 8, "d8 00", VIE_UNSUPPORTED }, /* x87 */
	/* register-only ModRM where memory is required */
	{ 8, "89 c8", VIE_UNSUPPORTED },
	{ 8, "8b c1", VIE_UNSUPPORTED },
	{ 8, "01 c8", VIE_UNSUPPORTED },
	{ 8, "81 c0 01 00 00 00", VIE_UNSUPPORTED },
	{ 8, "c7 c0 01 00 00 00", VIE_UNSUPPORTED },
	{ 8, "0f b6 c0", VIE_UNSUPPORTED },
	{ 8, "ff f0", VIE_UNSUPPORTED },
	{ 8, "8f c0", VIE_UNSUPPORTED },
	{ 8, "87 c8", VIE_UNSUPPORTED },
	{ 8, "f7 c0 01 00 00 00", VIE_UNSUPPORTED },
	{ 8, "0f a3 c8", VIE_UNSUPPORTED },
	/* wrong group member */
	{ 8, "c6 08 01", VIE_UNSUPPORTED },
	{ 8, "c7 08 01 00 00 00", VIE_UNSUPPORTED },
	{ 8, "f6 08 01", VIE_UNSUPPORTED }, /* F6 /1 */
	{ 8, "f6 10", VIE_UNSUPPORTED },    /* NOT */
	{ 8, "f7 18", VIE_UNSUPPORTED },    /* NEG */
	{ 8, "f7 20", VIE_UNSUPPORTED },    /* MUL */
	{ 8, "ff 00", VIE_UNSUPPORTED },    /* INC */
	{ 8, "ff 10", VIE_UNSUPPORTED },    /* CALL */
	{ 8, "ff 20", VIE_UNSUPPORTED },    /* JMP */
	{ 8, "ff 38", VIE_UNSUPPORTED },
	{ 8, "8f 08", VIE_UNSUPPORTED },
	/* LOCK where the CPU gives #UD */
	{ 8, "f0 89 08", VIE_UNSUPPORTED }, /* MOV */
	{ 8, "f0 8b 08", VIE_UNSUPPORTED },
	{ 8, "f0 c7 00 01 00 00 00", VIE_UNSUPPORTED },
	{ 8, "f0 39 08", VIE_UNSUPPORTED }, /* CMP */
	{ 8, "f0 83 38 01", VIE_UNSUPPORTED }, /* CMP imm */
	{ 8, "f0 03 08", VIE_UNSUPPORTED }, /* ADD to register */
	{ 8, "f0 85 08", VIE_UNSUPPORTED }, /* TEST */
	{ 8, "f0 0f a3 08", VIE_UNSUPPORTED }, /* BT */
	{ 8, "f0 0f ba 20 01", VIE_UNSUPPORTED },
	{ 8, "f0 ab", VIE_UNSUPPORTED }, /* STOS */
	{ 8, "f0 a5", VIE_UNSUPPORTED }, /* MOVS */
	{ 8, "f0 ff 30", VIE_UNSUPPORTED }, /* PUSH */
	{ 8, "f0 0f b6 00", VIE_UNSUPPORTED }, /* MOVZX */
	{ 8, "f0 a1 00 00 00 00 00 00 00 00", VIE_UNSUPPORTED },
	/* mode-dependent opcodes */
	{ 4, "63 00", VIE_UNSUPPORTED }, /* ARPL */
	{ 2, "63 00", VIE_UNSUPPORTED },
	{ 8, "82 00 01", VIE_UNSUPPORTED },
	{ 4, "40", VIE_UNSUPPORTED }, /* INC EAX, not REX */
	{ 4, "48 89 00", VIE_UNSUPPORTED },
	/* truncated */
	{ 8, "", VIE_TRUNCATED },
	{ 8, "66", VIE_TRUNCATED },
	{ 8, "f3 48", VIE_TRUNCATED },
	{ 8, "0f", VIE_TRUNCATED },
	{ 8, "89", VIE_TRUNCATED },
	{ 8, "89 04", VIE_TRUNCATED },
	{ 8, "89 80 00 00", VIE_TRUNCATED },
	{ 8, "c7 00 01 00", VIE_TRUNCATED },
	{ 8, "a1 00 00 00 00", VIE_TRUNCATED },
	{ 2, "8b 06 34", VIE_TRUNCATED },
};

static void test_decode_negative(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[32];
		unsigned n = unhex(bad[i].hex, b);
		struct vie v;
		int r = vie_decode(&v, b, n, (enum vie_mode)bad[i].mode);

		if (r != bad[i].want)
			fail_msg("%d-bit %s: %d, want %d", bad[i].mode * 8, bad[i].hex, r, bad[i].want);
		assert_int_equal(vie_emulate(&v, &OPS, M, &X), VIE_UNSUPPORTED);
	}
}

static void test_mode_from_cs(void **state)
{
	(void)state;
	assert_int_equal(vie_mode_from_cs(AR_CODE | SEG_ACCESS_L, true), VIE_MODE64);
	assert_int_equal(vie_mode_from_cs(AR_CODE | SEG_ACCESS_L, false), VIE_MODE16);
	assert_int_equal(vie_mode_from_cs(AR_CODE | SEG_ACCESS_DB, true), VIE_MODE32);
	assert_int_equal(vie_mode_from_cs(AR_CODE | SEG_ACCESS_DB, false), VIE_MODE32);
	assert_int_equal(vie_mode_from_cs(AR_CODE, true), VIE_MODE16);
	assert_int_equal(vie_mode_from_cs(AR_CODE, false), VIE_MODE16);
}

/* ------------------------------------------------------------------------------------------------ */
/* Emulation: MOV family                                                                            */

static void test_emul_mov_store_load(void **state)
{
	(void)state;
	/* mov [rdi], esi */
	M->regs[VM_REG_RDI] = DEV + 0x10;
	M->regs[VM_REG_RSI] = 0x1122334455667788ull;
	assert_int_equal(run(VIE_MODE64, "89 37"), VIE_OK);
	assert_int_equal(M->nlog, 1);
	LOG(0, true, DEV + 0x10, 4, 0x55667788);
	assert_int_equal(dev_get(0x10, 4), 0x55667788);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1002);
	assert_int_equal(M->regs[VM_REG_INTR_SHADOW], 0);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2);
	/* mov eax, [rdi]: 32-bit load zero-extends */
	M->regs[VM_REG_RAX] = 0xffffffffffffffffull;
	dev_put(0x10, 0x80000001, 4);
	assert_int_equal(run(VIE_MODE64, "8b 07"), VIE_OK);
	LOG(0, false, DEV + 0x10, 4, 0x80000001);
	assert_int_equal(M->regs[VM_REG_RAX], 0x80000001);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1004);
	/* mov al, [rdi+3]: byte load keeps the rest */
	M->regs[VM_REG_RAX] = 0x1111111111111111ull;
	dev_put(0x13, 0xab, 1);
	assert_int_equal(run(VIE_MODE64, "8a 47 03"), VIE_OK);
	LOG(0, false, DEV + 0x13, 1, 0xab);
	assert_int_equal(M->regs[VM_REG_RAX], 0x11111111111111abull);
	/* mov ah, [rax]: high byte */
	M->regs[VM_REG_RAX] = DEV + 0x20;
	dev_put(0x20, 0x5a, 1);
	assert_int_equal(run(VIE_MODE64, "8a 20"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], (DEV + 0x20) | 0x5a00);
	/* mov [rax], ah */
	M->regs[VM_REG_RAX] = DEV + 0x0100 + 0x3000 - 0x3000;
	M->regs[VM_REG_RAX] = DEV | 0x0140;
	assert_int_equal(run(VIE_MODE64, "88 20"), VIE_OK);
	LOG(0, true, DEV + 0x140, 1, 0x01);
	/* mov [rax], sil (REX: 6 = SIL, not DH) */
	M->regs[VM_REG_RAX] = DEV + 0x30;
	M->regs[VM_REG_RSI] = 0x99;
	M->regs[VM_REG_RDX] = 0x7700;
	assert_int_equal(run(VIE_MODE64, "40 88 30"), VIE_OK);
	LOG(0, true, DEV + 0x30, 1, 0x99);
	/* mov [rax], dh (no REX) */
	assert_int_equal(run(VIE_MODE64, "88 30"), VIE_OK);
	LOG(0, true, DEV + 0x30, 1, 0x77);
	/* mov dil, [rax] */
	M->regs[VM_REG_RDI] = 0xffffffffffffff00ull;
	dev_put(0x30, 0x42, 1);
	assert_int_equal(run(VIE_MODE64, "40 8a 38"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RDI], 0xffffffffffffff42ull);
	/* mov [rdi+10], si: 16-bit store */
	M->regs[VM_REG_RDI] = DEV;
	M->regs[VM_REG_RSI] = 0xabcd1234;
	assert_int_equal(run(VIE_MODE64, "66 89 77 0a"), VIE_OK);
	LOG(0, true, DEV + 10, 2, 0x1234);
	/* mov r9w, [rsp]: 16-bit load keeps the upper 48 bits */
	M->regs[VM_REG_RSP] = DEV + 0x40;
	M->regs[VM_REG_R9] = 0x123456789abcdef0ull;
	dev_put(0x40, 0xbeef, 2);
	assert_int_equal(run(VIE_MODE64, "66 44 8b 0c 24"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_R9], 0x123456789abcbeefull);
	/* mov rax, [rdi + rsi*8] */
	M->regs[VM_REG_RDI] = DEV;
	M->regs[VM_REG_RSI] = 3;
	dev_put(0x18, 0x0102030405060708ull, 8);
	assert_int_equal(run(VIE_MODE64, "48 8b 04 f7"), VIE_OK);
	LOG(0, false, DEV + 0x18, 8, 0x0102030405060708ull);
	assert_int_equal(M->regs[VM_REG_RAX], 0x0102030405060708ull);
	/* mov [r8 + r9*8 + 0x10], r15 */
	M->regs[VM_REG_R8] = DEV + 0x100;
	M->regs[VM_REG_R9] = (uint64_t)-2;
	M->regs[VM_REG_R15] = 0xfedcba9876543210ull;
	assert_int_equal(run(VIE_MODE64, "4f 89 7c c8 10"), VIE_OK);
	LOG(0, true, DEV + 0x100, 8, 0xfedcba9876543210ull);
}

static void test_emul_mov_imm_rip_moffs(void **state)
{
	(void)state;
	/* mov dword [rax], 7 */
	M->regs[VM_REG_RAX] = DEV + 0x80;
	assert_int_equal(run(VIE_MODE64, "c7 00 07 00 00 00"), VIE_OK);
	LOG(0, true, DEV + 0x80, 4, 7);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1006);
	/* mov qword [rax], -1 (imm32 sign-extended) */
	assert_int_equal(run(VIE_MODE64, "48 c7 00 ff ff ff ff"), VIE_OK);
	LOG(0, true, DEV + 0x80, 8, 0xffffffffffffffffull);
	/* mov byte [rax], 0x80 */
	assert_int_equal(run(VIE_MODE64, "c6 00 80"), VIE_OK);
	LOG(0, true, DEV + 0x80, 1, 0x80);
	/* mov word [rax], 0x1234 */
	assert_int_equal(run(VIE_MODE64, "66 c7 00 34 12"), VIE_OK);
	LOG(0, true, DEV + 0x80, 2, 0x1234);
	/* mov dword [rax + 0x7fffffff], 0xdeadbeef */
	M->regs[VM_REG_RAX] = DEV + 0x10 - 0x7fffffff;
	assert_int_equal(run(VIE_MODE64, "c7 80 ff ff ff 7f ef be ad de"), VIE_OK);
	LOG(0, true, DEV + 0x10, 4, 0xdeadbeef);
	/* mov eax, [rip + 0x1234]: relative to the next instruction */
	M->regs[VM_REG_RIP] = DEV - 0x1234 - 6 + 0x200;
	dev_put(0x200, 0xcafef00d, 4);
	M->regs[VM_REG_RAX] = 0;
	assert_int_equal(run(VIE_MODE64, "8b 05 34 12 00 00"), VIE_OK);
	LOG(0, false, DEV + 0x200, 4, 0xcafef00d);
	assert_int_equal(M->regs[VM_REG_RAX], 0xcafef00d);
	assert_int_equal(M->regs[VM_REG_RIP], DEV - 0x1234 + 0x200);
	/* mov dword [rip - 0x20], 5: the immediate counts in the length */
	M->regs[VM_REG_RIP] = DEV + 0x300;
	assert_int_equal(run(VIE_MODE64, "c7 05 e0 ff ff ff 05 00 00 00"), VIE_OK);
	LOG(0, true, DEV + 0x300 + 10 - 0x20, 4, 5);
	/* mov eax, [eip + 0x10] with 67: the address wraps at 32 bits */
	M->regs[VM_REG_RIP] = 0x1fffffff0ull;
	M->dev_base = 0x0;
	memset(M->dev, 0, sizeof(M->dev));
	dev_put(0x7, 0x600d, 4);
	assert_int_equal(run(VIE_MODE64, "67 8b 05 10 00 00 00"), VIE_OK);
	LOG(0, false, 0x7, 4, 0x600d);
	M->dev_base = 0xfee00000ull;
	/* moffs: mov eax, [0xfee00020] (A1 with 8-byte offset) */
	M->regs[VM_REG_RIP] = 0x1000;
	dev_put(0x20, 0x11223344, 4);
	assert_int_equal(run(VIE_MODE64, "a1 20 00 e0 fe 00 00 00 00"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0x11223344);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1009);
	/* mov [0xfee00028], rax */
	M->regs[VM_REG_RAX] = 0x8877665544332211ull;
	assert_int_equal(run(VIE_MODE64, "48 a3 28 00 e0 fe 00 00 00 00"), VIE_OK);
	LOG(0, true, DEV + 0x28, 8, 0x8877665544332211ull);
	/* mov [moffs], al */
	assert_int_equal(run(VIE_MODE64, "a2 30 00 e0 fe 00 00 00 00"), VIE_OK);
	LOG(0, true, DEV + 0x30, 1, 0x11);
	/* 67 a1: 32-bit moffs */
	M->regs[VM_REG_RAX] = ~0ull;
	assert_int_equal(run(VIE_MODE64, "67 a1 20 00 e0 fe"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0x11223344);
	/* 32-bit code: mov [0xfee000b0], eax */
	machine_mode(M, VIE_MODE32);
	M->regs[VM_REG_RAX] = 0xabcdef01;
	assert_int_equal(run(VIE_MODE32, "3e a3 b0 00 e0 fe"), VIE_OK);
	LOG(0, true, DEV + 0xb0, 4, 0xabcdef01);
	/* 32-bit: mov al, ds:[0xfee00020] */
	assert_int_equal(run(VIE_MODE32, "3e a0 20 00 e0 fe"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xabcdef44);
}

static void test_emul_movzx_movsx(void **state)
{
	(void)state;
	M->regs[VM_REG_RDI] = DEV;
	dev_put(0, 0x80, 1);
	dev_put(2, 0x8001, 2);
	dev_put(4, 0x80000000, 4);
	M->regs[VM_REG_RAX] = ~0ull;
	assert_int_equal(run(VIE_MODE64, "0f b6 07"), VIE_OK);
	LOG(0, false, DEV, 1, 0x80);
	assert_int_equal(M->regs[VM_REG_RAX], 0x80);
	M->regs[VM_REG_RAX] = ~0ull;
	assert_int_equal(run(VIE_MODE64, "0f be 07"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xffffff80ull);
	assert_int_equal(run(VIE_MODE64, "48 0f be 07"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xffffffffffffff80ull);
	M->regs[VM_REG_R10] = 0x5555;
	assert_int_equal(run(VIE_MODE64, "4c 0f b7 57 02"), VIE_OK);
	LOG(0, false, DEV + 2, 2, 0x8001);
	assert_int_equal(M->regs[VM_REG_R10], 0x8001);
	M->regs[VM_REG_RAX] = 0;
	assert_int_equal(run(VIE_MODE64, "48 0f bf 47 02"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xffffffffffff8001ull);
	/* 16-bit destination keeps the upper bits */
	M->regs[VM_REG_RAX] = 0xaaaaaaaaaaaaaaaaull;
	assert_int_equal(run(VIE_MODE64, "66 0f be 07"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xaaaaaaaaaaaaff80ull);
	assert_int_equal(run(VIE_MODE64, "66 0f b6 07"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xaaaaaaaaaaaa0080ull);
	/* movsxd */
	assert_int_equal(run(VIE_MODE64, "48 63 47 04"), VIE_OK);
	LOG(0, false, DEV + 4, 4, 0x80000000);
	assert_int_equal(M->regs[VM_REG_RAX], 0xffffffff80000000ull);
	assert_int_equal(run(VIE_MODE64, "63 47 04"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0x80000000ull);
}

/* ------------------------------------------------------------------------------------------------ */
/* Emulation: ALU with hand-checked flags                                                           */

static void test_emul_alu_known(void **state)
{
	(void)state;
	M->regs[VM_REG_RAX] = DEV;
	/* add dword [rax], ecx: 0xffffffff + 1 = 0, CF ZF PF AF */
	dev_put(0, 0xffffffff, 4);
	M->regs[VM_REG_RCX] = 1;
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_SF | FL_OF | FL_DF;
	assert_int_equal(run(VIE_MODE64, "01 08"), VIE_OK);
	assert_int_equal(M->nlog, 2);
	LOG(0, false, DEV, 4, 0xffffffff);
	LOG(1, true, DEV, 4, 0);
	assert_int_equal(M->last_read_flags, READ_RMW);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_DF | FL_CF | FL_ZF | FL_PF | FL_AF);
	/* add: 0x7fffffff + 1: OF SF AF PF */
	dev_put(0, 0x7fffffff, 4);
	assert_int_equal(run(VIE_MODE64, "01 08"), VIE_OK);
	assert_int_equal(dev_get(0, 4), 0x80000000);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_DF | FL_OF | FL_SF | FL_AF | FL_PF);
	/* cmp dword [rdi], esi: no write */
	M->regs[VM_REG_RDI] = DEV;
	M->regs[VM_REG_RSI] = 0x80000001;
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE64, "39 37"), VIE_OK);
	assert_int_equal(M->nlog, 1);
	assert_int_equal(M->last_read_flags, 0); /* CMP does not write back */
	/* 0x80000000 - 0x80000001 = 0xffffffff: CF SF AF PF */
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF | FL_SF | FL_AF | FL_PF);
	assert_int_equal(dev_get(0, 4), 0x80000000);
	/* cmp esi, [rdi]: 0x80000001 - 0x80000000 = 1: nothing set */
	assert_int_equal(run(VIE_MODE64, "3b 37"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2);
	assert_int_equal(M->regs[VM_REG_RSI], 0x80000001);
	/* sub al, [rcx]: 0x00 - 0x01 */
	M->regs[VM_REG_RCX] = DEV + 8;
	dev_put(8, 0x01, 1);
	M->regs[VM_REG_RAX] = 0x1234567800ull;
	assert_int_equal(run(VIE_MODE64, "2a 01"), VIE_OK);
	assert_int_equal(M->last_read_flags, 0); /* register destination */
	assert_int_equal(M->regs[VM_REG_RAX], 0x12345678ffull);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF | FL_SF | FL_AF | FL_PF);
	/* sub: 0x80 - 0x01 = 0x7f: OF AF */
	M->regs[VM_REG_RAX] = 0x80;
	assert_int_equal(run(VIE_MODE64, "2a 01"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0x7f);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_OF | FL_AF);
	/* or dword [rdi], 0x100 (clang's *p |= 0x100) */
	M->regs[VM_REG_RDI] = DEV + 0x10;
	dev_put(0x10, 0x80000001, 4);
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_CF | FL_OF | FL_AF;
	assert_int_equal(run(VIE_MODE64, "81 0f 00 01 00 00"), VIE_OK);
	assert_int_equal(M->nlog, 2);
	LOG(0, false, DEV + 0x10, 4, 0x80000001);
	LOG(1, true, DEV + 0x10, 4, 0x80000101);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_SF);
	/* and byte [rax], 0xfe -> 0: ZF PF */
	M->regs[VM_REG_RAX] = DEV + 0x20;
	dev_put(0x20, 0x01, 1);
	assert_int_equal(run(VIE_MODE64, "80 20 fe"), VIE_OK);
	assert_int_equal(dev_get(0x20, 1), 0);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_ZF | FL_PF);
	/* xor word [rcx], -1 */
	M->regs[VM_REG_RCX] = DEV + 0x22;
	dev_put(0x22, 0x00ff, 2);
	assert_int_equal(run(VIE_MODE64, "66 83 31 ff"), VIE_OK);
	LOG(1, true, DEV + 0x22, 2, 0xff00);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_SF | FL_PF);
	/* adc dword [rax], 1 with CF=1: 0xfffffffe + 1 + 1 = 0: CF ZF PF AF */
	M->regs[VM_REG_RAX] = DEV + 0x30;
	dev_put(0x30, 0xfffffffe, 4);
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_CF;
	assert_int_equal(run(VIE_MODE64, "83 10 01"), VIE_OK);
	assert_int_equal(dev_get(0x30, 4), 0);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF | FL_ZF | FL_PF | FL_AF);
	/* sbb byte [rcx], 1 with CF=1: 1 - 1 - 1 = 0xff: CF SF PF AF */
	M->regs[VM_REG_RCX] = DEV + 0x31;
	dev_put(0x31, 1, 1);
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_CF;
	assert_int_equal(run(VIE_MODE64, "80 19 01"), VIE_OK);
	assert_int_equal(dev_get(0x31, 1), 0xff);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF | FL_SF | FL_PF | FL_AF);
	/* cmp qword [rax], -1 */
	M->regs[VM_REG_RAX] = DEV + 0x38;
	dev_put(0x38, 0xffffffffffffffffull, 8);
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE64, "48 83 38 ff"), VIE_OK);
	assert_int_equal(M->nlog, 1);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_ZF | FL_PF);
	/* xor r11, [rcx] */
	M->regs[VM_REG_RCX] = DEV + 0x38;
	M->regs[VM_REG_R11] = 0xfffffffffffffffeull;
	assert_int_equal(run(VIE_MODE64, "4c 33 19"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_R11], 1);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2);
	/* xor [rcx], ah */
	M->regs[VM_REG_RCX] = DEV + 0x40;
	M->regs[VM_REG_RAX] = 0xf000;
	dev_put(0x40, 0x0f, 1);
	assert_int_equal(run(VIE_MODE64, "30 21"), VIE_OK);
	LOG(1, true, DEV + 0x40, 1, 0xff);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_SF | FL_PF);
	/* lock add [rax], ecx */
	M->regs[VM_REG_RAX] = DEV + 0x50;
	M->regs[VM_REG_RCX] = 5;
	dev_put(0x50, 10, 4);
	assert_int_equal(run(VIE_MODE64, "f0 01 08"), VIE_OK);
	assert_int_equal(dev_get(0x50, 4), 15);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_PF);
	/* add [rax], ecx in 32-bit code and 16-bit code */
	machine_mode(M, VIE_MODE32);
	M->regs[VM_REG_RBX] = DEV + 0x60;
	dev_put(0x60, 0xffffffff, 4);
	assert_int_equal(run(VIE_MODE32, "83 03 01"), VIE_OK);
	assert_int_equal(dev_get(0x60, 4), 0);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF | FL_ZF | FL_PF | FL_AF);
}

/* ------------------------------------------------------------------------------------------------ */
/* Flags against the host CPU                                                                       */

#if defined(__x86_64__)
#define HOST_ASM(insn, mod)                                                                            \
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\t"                                                  \
			 "push %[fin]\n\t"                                                             \
			 "popfq\n\t" insn " %" mod "[b], %" mod "[a]\n\t"                               \
			 "pushfq\n\t"                                                                  \
			 "pop %[fout]\n\t"                                                             \
			 "lea 128(%%rsp), %%rsp"                                                       \
			 : [a] "+q"(a), [fout] "=&r"(fout)                                             \
			 : [b] "q"(b), [fin] "r"(fin)                                                  \
			 : "cc", "memory")

#define HOST_SIZES(name)                                                                               \
	switch (size) {                                                                                \
	case 1:                                                                                        \
		HOST_ASM(name "b", "b");                                                               \
		break;                                                                                 \
	case 2:                                                                                        \
		HOST_ASM(name "w", "w");                                                               \
		break;                                                                                 \
	case 4:                                                                                        \
		HOST_ASM(name "l", "k");                                                               \
		break;                                                                                 \
	default:                                                                                       \
		HOST_ASM(name "q", "q");                                                               \
		break;                                                                                 \
	}

/* a = a OP b on the host; returns RFLAGS after */
static uint64_t host_alu(uint8_t op, unsigned size, uint64_t *pa, uint64_t b, uint64_t fin)
{
	uint64_t a = *pa, fout = 0;

	switch (op) {
	case VIE_OP_ADD:
		HOST_SIZES("add");
		break;
	case VIE_OP_OR:
		HOST_SIZES("or");
		break;
	case VIE_OP_ADC:
		HOST_SIZES("adc");
		break;
	case VIE_OP_SBB:
		HOST_SIZES("sbb");
		break;
	case VIE_OP_AND:
		HOST_SIZES("and");
		break;
	case VIE_OP_SUB:
		HOST_SIZES("sub");
		break;
	case VIE_OP_XOR:
		HOST_SIZES("xor");
		break;
	case VIE_OP_CMP:
		HOST_SIZES("cmp");
		break;
	case VIE_OP_TEST:
		HOST_SIZES("test");
		break;
	}
	*pa = a;
	return fout;
}
#endif

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static uint64_t interesting(unsigned size)
{
	static const uint64_t v[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
				      0x80000000, 0xffffffff, 0x7fffffffffffffffull,
				      0x8000000000000000ull, 0xffffffffffffffffull, 0x0f, 0x10, 0xf0 };
	uint64_t r = rnd();

	if (r & 1)
		return rnd() & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1);
	return v[(r >> 1) % (sizeof(v) / sizeof(v[0]))] & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1);
}

static void test_flags_vs_host(void **state)
{
	(void)state;
#if defined(__x86_64__)
	/* op [rax], ecx  (MEM_REG) and op ecx, [rax] (REG_MEM), per size */
	static const uint8_t ops[] = { VIE_OP_ADD, VIE_OP_OR, VIE_OP_ADC, VIE_OP_SBB, VIE_OP_AND,
				       VIE_OP_SUB, VIE_OP_XOR, VIE_OP_CMP, VIE_OP_TEST };
	static const uint8_t base_opc[] = { 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x84 };
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned checked = 0;

	for (size_t o = 0; o < sizeof(ops); o++) {
		for (size_t s = 0; s < 4; s++) {
			const unsigned size = sizes[s];
			const uint64_t m = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;

			for (int iter = 0; iter < 300; iter++) {
				uint64_t a = interesting(size), b = interesting(size), ha = a;
				uint64_t fin = 0x202 | (rnd() & FL_STATUS);
				uint64_t fout, want_res;
				bool reg_mem = ops[o] != VIE_OP_TEST && (iter & 1);
				uint8_t bytes[4];
				unsigned n = 0;
				struct vie v;
				uint64_t got;

				fout = host_alu(ops[o], size, &ha, b, fin);
				want_res = ha & m;
				/* encode op [rax], rcx or op rcx, [rax] */
				if (size == 2)
					bytes[n++] = 0x66;
				if (size == 8)
					bytes[n++] = 0x48;
				bytes[n++] = (uint8_t)(base_opc[o] + (size == 1 ? 0 : 1) + (reg_mem ? 2 : 0));
				bytes[n++] = 0x08; /* mod 0, reg rcx, rm rax */
				assert_int_equal(vie_decode(&v, bytes, n, VIE_MODE64), VIE_OK);
				assert_int_equal(v.op, ops[o]);
				M->regs[VM_REG_RAX] = DEV + 0x100;
				M->regs[VM_REG_RFLAGS] = fin;
				M->regs[VM_REG_RIP] = 0x1000;
				if (reg_mem) {
					/* rcx = rcx OP [rax]: a in the register, b in memory */
					M->regs[VM_REG_RCX] = a | (0x5a5a5a5a5a5a5a5aull & ~m);
					dev_put(0x100, b, 8);
				} else {
					M->regs[VM_REG_RCX] = b | (0x5a5a5a5a5a5a5a5aull & ~m);
					dev_put(0x100, a, size);
				}
				M->nlog = 0;
				assert_int_equal(vie_emulate(&v, &OPS, M, &X), VIE_OK);
				if ((M->regs[VM_REG_RFLAGS] & FL_STATUS) != (fout & FL_STATUS) ||
				    (M->regs[VM_REG_RFLAGS] & ~FL_STATUS) != (fin & ~FL_STATUS))
					fail_msg("op %u size %u a %#llx b %#llx fin %#llx: flags %#llx, host %#llx",
						 ops[o], size, (unsigned long long)a, (unsigned long long)b,
						 (unsigned long long)fin,
						 (unsigned long long)M->regs[VM_REG_RFLAGS],
						 (unsigned long long)fout);
				if (reg_mem) {
					got = M->regs[VM_REG_RCX];
					if (ops[o] == VIE_OP_CMP)
						assert_int_equal(got, a | (0x5a5a5a5a5a5a5a5aull & ~m));
					else if (size == 4)
						assert_int_equal(got, want_res);
					else
						assert_int_equal(got, want_res | (0x5a5a5a5a5a5a5a5aull & ~m));
					assert_int_equal(M->nlog, 1);
				} else {
					got = dev_get(0x100, size);
					if (ops[o] == VIE_OP_CMP || ops[o] == VIE_OP_TEST) {
						assert_int_equal(got, a);
						assert_int_equal(M->nlog, 1);
					} else {
						assert_int_equal(got, want_res);
						assert_int_equal(M->nlog, 2);
					}
				}
				checked++;
			}
		}
	}
	/* group 1 with immediates: 83 /op [rax], imm8 and 81 /op [rax], imm32 */
	for (unsigned sub = 0; sub < 8; sub++) {
		static const uint8_t g1[] = { VIE_OP_ADD, VIE_OP_OR,  VIE_OP_ADC, VIE_OP_SBB,
					      VIE_OP_AND, VIE_OP_SUB, VIE_OP_XOR, VIE_OP_CMP };
		for (size_t s = 0; s < 4; s++) {
			const unsigned size = sizes[s];
			const uint64_t m = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;

			for (int iter = 0; iter < 100; iter++) {
				uint64_t a = interesting(size), ha = a, imm = rnd(), b;
				uint64_t fin = 0x202 | (rnd() & FL_STATUS), fout;
				uint8_t bytes[12];
				unsigned n = 0, isz;
				struct vie v;

				if (size == 2)
					bytes[n++] = 0x66;
				if (size == 8)
					bytes[n++] = 0x48;
				if (size == 1) {
					bytes[n++] = 0x80;
					isz = 1;
				} else if (iter & 1) {
					bytes[n++] = 0x83;
					isz = 1;
				} else {
					bytes[n++] = 0x81;
					isz = size == 2 ? 2 : 4;
				}
				bytes[n++] = (uint8_t)(sub << 3);
				for (unsigned k = 0; k < isz; k++)
					bytes[n++] = (uint8_t)(imm >> (8 * k));
				/* the CPU's view of the immediate: sign-extended */
				b = imm & ((1ull << (8 * isz)) - 1);
				if (b & (1ull << (8 * isz - 1)))
					b |= ~0ull << (8 * isz);
				b &= m;
				fout = host_alu(g1[sub], size, &ha, b, fin);
				assert_int_equal(vie_decode(&v, bytes, n, VIE_MODE64), VIE_OK);
				M->regs[VM_REG_RAX] = DEV + 0x100;
				M->regs[VM_REG_RFLAGS] = fin;
				dev_put(0x100, a, size);
				M->nlog = 0;
				assert_int_equal(vie_emulate(&v, &OPS, M, &X), VIE_OK);
				assert_int_equal(M->regs[VM_REG_RFLAGS], (fout & FL_STATUS) | (fin & ~FL_STATUS));
				assert_int_equal(dev_get(0x100, size), g1[sub] == VIE_OP_CMP ? a : ha & m);
				checked++;
			}
		}
	}
	/* TEST with immediates */
	for (size_t s = 0; s < 4; s++) {
		const unsigned size = sizes[s];
		const uint64_t m = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;

		for (int iter = 0; iter < 100; iter++) {
			uint64_t a = interesting(size), ha = a, imm = interesting(4), b;
			uint64_t fin = 0x202 | (rnd() & FL_STATUS), fout;
			uint8_t bytes[12];
			unsigned n = 0, isz = size == 1 ? 1 : size == 2 ? 2 : 4;
			struct vie v;

			if (size == 2)
				bytes[n++] = 0x66;
			if (size == 8)
				bytes[n++] = 0x48;
			bytes[n++] = size == 1 ? 0xf6 : 0xf7;
			bytes[n++] = 0x00;
			for (unsigned k = 0; k < isz; k++)
				bytes[n++] = (uint8_t)(imm >> (8 * k));
			b = imm & ((1ull << (8 * isz)) - 1);
			if (b & (1ull << (8 * isz - 1)))
				b |= ~0ull << (8 * isz);
			fout = host_alu(VIE_OP_TEST, size, &ha, b & m, fin);
			assert_int_equal(vie_decode(&v, bytes, n, VIE_MODE64), VIE_OK);
			M->regs[VM_REG_RAX] = DEV + 0x100;
			M->regs[VM_REG_RFLAGS] = fin;
			dev_put(0x100, a, size);
			M->nlog = 0;
			assert_int_equal(vie_emulate(&v, &OPS, M, &X), VIE_OK);
			assert_int_equal(M->regs[VM_REG_RFLAGS], (fout & FL_STATUS) | (fin & ~FL_STATUS));
			assert_int_equal(M->nlog, 1);
			checked++;
		}
	}
	assert_true(checked > 10000);
#else
	skip();
#endif
}

/* ------------------------------------------------------------------------------------------------ */
/* TEST, BT, XCHG                                                                                   */

static void test_emul_test_bt_xchg(void **state)
{
	(void)state;
	M->regs[VM_REG_RAX] = DEV;
	/* test byte [rax], 4 */
	dev_put(0, 0x04, 1);
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_CF | FL_OF | FL_AF | FL_ZF;
	assert_int_equal(run(VIE_MODE64, "f6 00 04"), VIE_OK);
	assert_int_equal(M->last_read_flags, 0);
	assert_int_equal(M->nlog, 1);
	LOG(0, false, DEV, 1, 4);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2);
	dev_put(0, 0x03, 1);
	assert_int_equal(run(VIE_MODE64, "f6 00 04"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_ZF | FL_PF);
	/* test dword [rax], 0x80000000 */
	dev_put(0, 0x80000000, 4);
	assert_int_equal(run(VIE_MODE64, "f7 00 00 00 00 80"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_SF | FL_PF);
	/* test qword [rax], imm32 (sign-extended to 64 bits) */
	dev_put(0, 0x8000000000000000ull, 8);
	assert_int_equal(run(VIE_MODE64, "48 f7 00 00 00 00 80"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_SF | FL_PF);
	/* bt dword [rax], 31 / 30 */
	dev_put(0, 0x80000000, 8);
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_ZF | FL_SF | FL_OF | FL_PF | FL_AF;
	assert_int_equal(run(VIE_MODE64, "0f ba 20 1f"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_ZF | FL_SF | FL_OF | FL_PF | FL_AF | FL_CF);
	LOG(0, false, DEV, 4, 0x80000000);
	assert_int_equal(run(VIE_MODE64, "0f ba 20 1e"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_ZF | FL_SF | FL_OF | FL_PF | FL_AF);
	/* the immediate is taken modulo the operand size: bt dword [rax], 63 -> bit 31 */
	assert_int_equal(run(VIE_MODE64, "0f ba 20 3f"), VIE_OK);
	assert_true(M->regs[VM_REG_RFLAGS] & FL_CF);
	/* bt word [rax], 15 */
	dev_put(0, 0x8000, 2);
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE64, "66 0f ba 20 0f"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF);
	LOG(0, false, DEV, 2, 0x8000);
	/* bt dword [rax], ecx with a bit offset beyond the dword: address moves */
	memset(M->dev, 0, 0x100);
	dev_put(0x10, 1u << 5, 4);
	M->regs[VM_REG_RAX] = DEV + 0x8;
	M->regs[VM_REG_RCX] = 64 + 5; /* dword 2 after rax, bit 5 */
	assert_int_equal(run(VIE_MODE64, "0f a3 08"), VIE_OK);
	LOG(0, false, DEV + 0x10, 4, 32);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF);
	/* negative bit offset: -27 = dword -1, bit 5 */
	dev_put(0x4, 1u << 5, 4);
	M->regs[VM_REG_RCX] = (uint64_t)-27;
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE64, "0f a3 08"), VIE_OK);
	LOG(0, false, DEV + 0x4, 4, 32);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF);
	/* only the low 32 bits of RCX count for a 32-bit operand */
	M->regs[VM_REG_RCX] = 0xffffffff00000045ull; /* 69 = dword 2, bit 5 */
	M->regs[VM_REG_RAX] = DEV + 0x8;
	assert_int_equal(run(VIE_MODE64, "0f a3 08"), VIE_OK);
	LOG(0, false, DEV + 0x10, 4, 32);
	/* 16-bit operand, offset -1 = word -1, bit 15 */
	M->regs[VM_REG_RCX] = 0xffff;
	dev_put(0x6, 0x8000, 2);
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE64, "66 0f a3 08"), VIE_OK);
	LOG(0, false, DEV + 0x6, 2, 0x8000);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF);
	/* 64-bit operand, offset 64*3 + 63 */
	dev_put(0x20, 0x8000000000000000ull, 8);
	M->regs[VM_REG_RCX] = 64 * 3 + 63;
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE64, "48 0f a3 08"), VIE_OK);
	LOG(0, false, DEV + 0x20, 8, 0x8000000000000000ull);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF);
	/* xchg [rax], ecx */
	M->regs[VM_REG_RAX] = DEV + 0x40;
	M->regs[VM_REG_RCX] = 0xffffffff11111111ull;
	dev_put(0x40, 0x22222222, 4);
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_CF;
	assert_int_equal(run(VIE_MODE64, "87 08"), VIE_OK);
	assert_int_equal(M->last_read_flags, READ_RMW);
	assert_int_equal(M->nlog, 2);
	LOG(0, false, DEV + 0x40, 4, 0x22222222);
	LOG(1, true, DEV + 0x40, 4, 0x11111111);
	assert_int_equal(M->regs[VM_REG_RCX], 0x22222222);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_CF);
	/* xchg [rax], bh */
	M->regs[VM_REG_RBX] = 0xaabb;
	dev_put(0x40, 0x33, 1);
	assert_int_equal(run(VIE_MODE64, "86 38"), VIE_OK);
	LOG(1, true, DEV + 0x40, 1, 0xaa);
	assert_int_equal(M->regs[VM_REG_RBX], 0x33bb);
}

/* ------------------------------------------------------------------------------------------------ */
/* String instructions                                                                              */

static void test_emul_stos(void **state)
{
	(void)state;
	/* rep stosd to the device */
	M->regs[VM_REG_RDI] = DEV + 0x100;
	M->regs[VM_REG_RCX] = 4;
	M->regs[VM_REG_RAX] = 0x1122334455667788ull;
	assert_int_equal(run(VIE_MODE64, "f3 ab"), VIE_OK);
	assert_int_equal(M->nlog, 4);
	for (unsigned i = 0; i < 4; i++)
		LOG(i, true, DEV + 0x100 + 4 * i, 4, 0x55667788);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x110);
	assert_int_equal(M->regs[VM_REG_RCX], 0);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1002);
	/* backwards with DF */
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_DF;
	M->regs[VM_REG_RCX] = 3;
	M->regs[VM_REG_RDI] = DEV + 0x20;
	assert_int_equal(run(VIE_MODE64, "f3 aa"), VIE_OK);
	LOG(0, true, DEV + 0x20, 1, 0x88);
	LOG(1, true, DEV + 0x1f, 1, 0x88);
	LOG(2, true, DEV + 0x1e, 1, 0x88);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x1d);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_DF);
	/* RCX = 0: nothing written, RIP advances */
	M->regs[VM_REG_RFLAGS] = 0x2;
	M->regs[VM_REG_RCX] = 0;
	M->regs[VM_REG_RIP] = 0x2000;
	assert_int_equal(run(VIE_MODE64, "f3 48 ab"), VIE_OK);
	assert_int_equal(M->nlog, 0);
	assert_int_equal(M->regs[VM_REG_RIP], 0x2003);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x1d);
	/* no REP: one element, RCX untouched */
	M->regs[VM_REG_RCX] = 77;
	M->regs[VM_REG_RDI] = DEV + 0x40;
	assert_int_equal(run(VIE_MODE64, "48 ab"), VIE_OK);
	assert_int_equal(M->nlog, 1);
	LOG(0, true, DEV + 0x40, 8, 0x1122334455667788ull);
	assert_int_equal(M->regs[VM_REG_RCX], 77);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x48);
	/* stosw */
	assert_int_equal(run(VIE_MODE64, "66 ab"), VIE_OK);
	LOG(0, true, DEV + 0x48, 2, 0x7788);
	/* REPNE acts as REP */
	M->regs[VM_REG_RCX] = 2;
	assert_int_equal(run(VIE_MODE64, "f2 aa"), VIE_OK);
	assert_int_equal(M->nlog, 2);
	assert_int_equal(M->regs[VM_REG_RCX], 0);
	/* 32-bit address size in 64-bit mode: ECX counts, RDI/RCX upper halves cleared */
	M->regs[VM_REG_RCX] = 0xffffffff00000002ull;
	M->regs[VM_REG_RDI] = 0xabcdef0000000000ull | (DEV + 0x60);
	assert_int_equal(run(VIE_MODE64, "f3 67 ab"), VIE_OK);
	assert_int_equal(M->nlog, 2);
	LOG(0, true, DEV + 0x60, 4, 0x55667788);
	assert_int_equal(M->regs[VM_REG_RCX], 0);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x68);
}

static void test_emul_stos_16bit_wrap(void **state)
{
	(void)state;
	machine_mode(M, VIE_MODE16);
	M->dev_base = 0x1f000;
	M->segs[0].base = 0x10000; /* ES */
	M->regs[VM_REG_RDI] = 0x12340000ull | 0xfffe;
	M->regs[VM_REG_RCX] = 0x55550003ull;
	M->regs[VM_REG_RAX] = 0x41;
	M->regs[VM_REG_RIP] = 0xfffe;
	assert_int_equal(run(VIE_MODE16, "f3 aa"), VIE_OK);
	assert_int_equal(M->nlog, 2);
	LOG(0, true, 0x1fffe, 1, 0x41);
	LOG(1, true, 0x1ffff, 1, 0x41);
	assert_int_equal(M->ram[0x10000], 0x41); /* DI wrapped to 0 */
	assert_int_equal(M->regs[VM_REG_RDI], 0x12340001ull);
	assert_int_equal(M->regs[VM_REG_RCX], 0x55550000ull);
	assert_int_equal(M->regs[VM_REG_RIP], 0x0000); /* IP wraps at 16 bits */
	/* a word store at DI = 0xffff crosses the 64 KiB limit: #GP */
	M->regs[VM_REG_RDI] = 0xffff;
	M->regs[VM_REG_RCX] = 1;
	assert_int_equal(run(VIE_MODE16, "f3 ab"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	assert_true(X.has_errcode);
	assert_int_equal(X.errcode, 0);
	assert_int_equal(M->regs[VM_REG_RDI], 0xffff);
	assert_int_equal(M->regs[VM_REG_RCX], 1);
	/* with 67 the address size is 32: ECX/EDI */
	M->regs[VM_REG_RDI] = 0x0;
	M->regs[VM_REG_RCX] = 0xffff0000ull | 0; /* ECX != 0 but CX = 0 */
	M->segs[0].limit = 0xffffffff;
	M->regs[VM_REG_RCX] = 2;
	M->ram[0x10000] = 0;
	assert_int_equal(run(VIE_MODE16, "67 f3 66 ab"), VIE_OK);
	assert_int_equal(ram_get(0x10000, 4), 0x41);
	assert_int_equal(ram_get(0x10004, 4), 0x41);
	assert_int_equal(M->regs[VM_REG_RDI], 8);
}

static void test_emul_rep_batch_and_fault(void **state)
{
	(void)state;
	/* more than VIE_REP_BATCH elements into RAM: restart, then finish */
	M->regs[VM_REG_RDI] = 0x1000;
	M->regs[VM_REG_RCX] = VIE_REP_BATCH + 10;
	M->regs[VM_REG_RAX] = 0x5a;
	M->regs[VM_REG_RIP] = 0x500;
	assert_int_equal(run(VIE_MODE64, "f3 aa"), VIE_RESTART);
	assert_int_equal(M->regs[VM_REG_RCX], 10);
	assert_int_equal(M->regs[VM_REG_RDI], 0x1000 + VIE_REP_BATCH);
	assert_int_equal(M->regs[VM_REG_RIP], 0x500);
	assert_int_equal(M->regs[VM_REG_INTR_SHADOW], 1);
	assert_int_equal(run(VIE_MODE64, "f3 aa"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RCX], 0);
	assert_int_equal(M->regs[VM_REG_RIP], 0x502);
	for (unsigned i = 0; i < VIE_REP_BATCH + 10; i++)
		assert_int_equal(M->ram[0x1000 + i], 0x5a);
	assert_int_equal(M->ram[0x1000 + VIE_REP_BATCH + 10], 0);
	/* exactly VIE_REP_BATCH: done in one call */
	M->regs[VM_REG_RCX] = VIE_REP_BATCH;
	assert_int_equal(run(VIE_MODE64, "f3 aa"), VIE_OK);
	/* a #PF on the 3rd element: 2 done, registers show it, RIP stays */
	M->regs[VM_REG_RIP] = 0x500;
	M->regs[VM_REG_RDI] = DEV + 0x10;
	M->regs[VM_REG_RCX] = 5;
	M->fault_lo = DEV + 0x18;
	M->fault_hi = DEV + 0x1c;
	assert_int_equal(run(VIE_MODE64, "f3 ab"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF);
	assert_int_equal(X.errcode, 2);
	assert_int_equal(X.cr2, DEV + 0x18);
	assert_int_equal(M->nlog, 2);
	assert_int_equal(M->regs[VM_REG_RCX], 3);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x18);
	assert_int_equal(M->regs[VM_REG_RIP], 0x500);
	/* the fault is gone: resume finishes the rest */
	M->fault_hi = 0;
	assert_int_equal(run(VIE_MODE64, "f3 ab"), VIE_OK);
	assert_int_equal(M->nlog, 3);
	LOG(0, true, DEV + 0x18, 4, 0x5a);
	assert_int_equal(M->regs[VM_REG_RIP], 0x502);
	/* a callback error is VIE_ERROR */
	M->regs[VM_REG_RCX] = 5;
	M->reads = M->writes = 0;
	M->fail_after = 2;
	assert_int_equal(run(VIE_MODE64, "f3 ab"), VIE_ERROR);
	assert_int_equal(M->regs[VM_REG_RCX], 4);
	M->fail_after = 0;
}

static void test_emul_movs(void **state)
{
	(void)state;
	/* RAM -> MMIO: rep movsd */
	for (int i = 0; i < 16; i++)
		M->ram[0x2000 + i] = (uint8_t)(0x10 + i);
	M->regs[VM_REG_RSI] = 0x2000;
	M->regs[VM_REG_RDI] = DEV + 0x100;
	M->regs[VM_REG_RCX] = 4;
	assert_int_equal(run(VIE_MODE64, "f3 a5"), VIE_OK);
	assert_int_equal(M->nlog, 4);
	LOG(0, true, DEV + 0x100, 4, 0x13121110);
	LOG(3, true, DEV + 0x10c, 4, 0x1f1e1d1c);
	assert_int_equal(M->regs[VM_REG_RSI], 0x2010);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x110);
	assert_int_equal(M->regs[VM_REG_RCX], 0);
	/* MMIO -> RAM: movsq, no REP */
	dev_put(0x200, 0x0123456789abcdefull, 8);
	M->regs[VM_REG_RSI] = DEV + 0x200;
	M->regs[VM_REG_RDI] = 0x3000;
	M->regs[VM_REG_RCX] = 9;
	assert_int_equal(run(VIE_MODE64, "48 a5"), VIE_OK);
	assert_int_equal(M->nlog, 1);
	LOG(0, false, DEV + 0x200, 8, 0x0123456789abcdefull);
	assert_int_equal(ram_get(0x3000, 8), 0x0123456789abcdefull);
	assert_int_equal(M->regs[VM_REG_RCX], 9);
	/* MMIO -> MMIO backwards, bytes */
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_DF;
	dev_put(0x300, 0x030201, 3);
	M->regs[VM_REG_RSI] = DEV + 0x302;
	M->regs[VM_REG_RDI] = DEV + 0x402;
	M->regs[VM_REG_RCX] = 3;
	assert_int_equal(run(VIE_MODE64, "f3 a4"), VIE_OK);
	assert_int_equal(M->nlog, 6);
	LOG(0, false, DEV + 0x302, 1, 3);
	LOG(1, true, DEV + 0x402, 1, 3);
	LOG(4, false, DEV + 0x300, 1, 1);
	LOG(5, true, DEV + 0x400, 1, 1);
	assert_int_equal(M->regs[VM_REG_RSI], DEV + 0x2ff);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x3ff);
	/* a source segment override in 64-bit mode: FS base added to RSI only */
	M->regs[VM_REG_RFLAGS] = 0x2;
	M->segs[VM_REG_FS - VM_REG_ES].base = DEV;
	M->segs[VM_REG_ES - VM_REG_ES].base = 0x12345678; /* ignored in 64-bit mode */
	M->regs[VM_REG_RSI] = 0x500;
	M->regs[VM_REG_RDI] = 0x4000;
	dev_put(0x500, 0xee, 1);
	assert_int_equal(run(VIE_MODE64, "64 a4"), VIE_OK);
	LOG(0, false, DEV + 0x500, 1, 0xee);
	assert_int_equal(M->ram[0x4000], 0xee);
	/* a fault on the destination of the 2nd element: 1 done */
	M->regs[VM_REG_RSI] = 0x2000;
	M->regs[VM_REG_RDI] = DEV + 0x800;
	M->regs[VM_REG_RCX] = 4;
	M->fault_lo = DEV + 0x804;
	M->fault_hi = DEV + 0x808;
	assert_int_equal(run(VIE_MODE64, "f3 a5"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF);
	assert_int_equal(X.cr2, DEV + 0x804);
	assert_int_equal(M->regs[VM_REG_RCX], 3);
	assert_int_equal(M->regs[VM_REG_RSI], 0x2004);
	assert_int_equal(M->regs[VM_REG_RDI], DEV + 0x804);
	M->fault_hi = 0;
	/* 32-bit code with segment bases: DS:ESI -> ES:EDI */
	machine_mode(M, VIE_MODE32);
	M->segs[VM_REG_DS - VM_REG_ES].base = 0x1000;
	M->segs[VM_REG_ES - VM_REG_ES].base = DEV - 0x100;
	M->ram[0x1000 + 0x20] = 0x77;
	M->ram[0x1000 + 0x21] = 0x66;
	M->regs[VM_REG_RSI] = 0x20;
	M->regs[VM_REG_RDI] = 0x100;
	M->regs[VM_REG_RCX] = 1;
	assert_int_equal(run(VIE_MODE32, "f3 66 a5"), VIE_OK);
	LOG(0, true, DEV, 2, 0x6677);
	assert_int_equal(M->regs[VM_REG_RSI], 0x22);
	assert_int_equal(M->regs[VM_REG_RDI], 0x102);
}

/* ------------------------------------------------------------------------------------------------ */
/* PUSH / POP                                                                                       */

static void test_emul_push_pop(void **state)
{
	(void)state;
	/* push qword [rax]: MMIO -> stack */
	M->regs[VM_REG_RAX] = DEV + 0x10;
	M->regs[VM_REG_RSP] = 0x8000;
	dev_put(0x10, 0x1122334455667788ull, 8);
	assert_int_equal(run(VIE_MODE64, "ff 30"), VIE_OK);
	assert_int_equal(M->nlog, 1);
	LOG(0, false, DEV + 0x10, 8, 0x1122334455667788ull);
	assert_int_equal(M->regs[VM_REG_RSP], 0x7ff8);
	assert_int_equal(ram_get(0x7ff8, 8), 0x1122334455667788ull);
	/* pop qword [rax]: stack -> MMIO */
	M->regs[VM_REG_RAX] = DEV + 0x20;
	assert_int_equal(run(VIE_MODE64, "8f 00"), VIE_OK);
	LOG(0, true, DEV + 0x20, 8, 0x1122334455667788ull);
	assert_int_equal(M->regs[VM_REG_RSP], 0x8000);
	/* push word [rax] */
	assert_int_equal(run(VIE_MODE64, "66 ff 30"), VIE_OK);
	LOG(0, false, DEV + 0x20, 2, 0x7788);
	assert_int_equal(M->regs[VM_REG_RSP], 0x7ffe);
	assert_int_equal(ram_get(0x7ffe, 2), 0x7788);
	/* pop word [rax] */
	M->regs[VM_REG_RAX] = DEV + 0x30;
	assert_int_equal(run(VIE_MODE64, "66 8f 00"), VIE_OK);
	LOG(0, true, DEV + 0x30, 2, 0x7788);
	assert_int_equal(M->regs[VM_REG_RSP], 0x8000);
	/* pop [rsp + 8]: the address uses RSP after the pop */
	M->dev_base = 0x7000;
	memset(M->dev, 0, sizeof(M->dev));
	M->regs[VM_REG_RSP] = 0x7100;
	dev_put(0x100, 0xabcdef, 8);
	assert_int_equal(run(VIE_MODE64, "8f 44 24 08"), VIE_OK);
	assert_int_equal(M->nlog, 2);
	LOG(0, false, 0x7100, 8, 0xabcdef);
	LOG(1, true, 0x7110, 8, 0xabcdef);
	assert_int_equal(M->regs[VM_REG_RSP], 0x7108);
	/* push [rsp]: the address uses RSP before the push */
	M->regs[VM_REG_RSP] = 0x7110;
	assert_int_equal(run(VIE_MODE64, "66 ff 34 24"), VIE_OK);
	LOG(0, false, 0x7110, 2, 0xcdef);
	LOG(1, true, 0x710e, 2, 0xcdef);
	assert_int_equal(M->regs[VM_REG_RSP], 0x710e);
	M->dev_base = 0xfee00000ull;
	/* push with a faulting stack: RSP unchanged */
	M->regs[VM_REG_RSP] = 0x200000; /* outside RAM */
	M->regs[VM_REG_RAX] = DEV + 0x10;
	M->regs[VM_REG_RIP] = 0x1000;
	assert_int_equal(run(VIE_MODE64, "ff 30"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF);
	assert_int_equal(X.cr2, 0x1ffff8);
	assert_int_equal(M->regs[VM_REG_RSP], 0x200000);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1000);
	/* pop to a faulting destination: RSP unchanged */
	M->regs[VM_REG_RSP] = 0x8000;
	M->fault_lo = DEV;
	M->fault_hi = DEV + 0x100;
	assert_int_equal(run(VIE_MODE64, "8f 00"), VIE_EXCEPTION);
	assert_int_equal(X.cr2, DEV + 0x10);
	assert_int_equal(X.errcode, 2);
	assert_int_equal(M->regs[VM_REG_RSP], 0x8000);
	M->fault_hi = 0;
	/* 32-bit code, 32-bit stack with a base */
	machine_mode(M, VIE_MODE32);
	M->segs[VM_REG_SS - VM_REG_ES].base = 0x10000;
	M->regs[VM_REG_RSP] = 0x100;
	M->regs[VM_REG_RAX] = DEV + 0x40;
	dev_put(0x40, 0xaabbccdd, 4);
	assert_int_equal(run(VIE_MODE32, "ff 30"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RSP], 0xfc);
	assert_int_equal(ram_get(0x100fc, 4), 0xaabbccdd);
	/* 16-bit stack (SS.B = 0) in 32-bit code: SP wraps, upper ESP bits kept */
	M->segs[VM_REG_SS - VM_REG_ES].access = AR_DATA;
	M->segs[VM_REG_SS - VM_REG_ES].limit = 0xffff;
	M->regs[VM_REG_RSP] = 0xabcd0000;
	assert_int_equal(run(VIE_MODE32, "ff 30"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RSP], 0xabcdfffc);
	assert_int_equal(ram_get(0x1fffc, 4), 0xaabbccdd);
	/* push 4 bytes at SP 2: the new SP 0xfffe + 3 is beyond the 64 KiB limit: #SS */
	M->regs[VM_REG_RSP] = 0xabcd0002;
	assert_int_equal(run(VIE_MODE32, "ff 30"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_SS);
	assert_int_equal(M->regs[VM_REG_RSP], 0xabcd0002);
	/* pop from SP 0xfffe with 4 bytes: #SS */
	M->regs[VM_REG_RSP] = 0xabcdfffe;
	M->regs[VM_REG_RAX] = DEV + 0x50;
	assert_int_equal(run(VIE_MODE32, "8f 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_SS);
	assert_int_equal(M->regs[VM_REG_RSP], 0xabcdfffe);
	/* 16-bit code push word [bx] */
	machine_mode(M, VIE_MODE16);
	M->segs[VM_REG_DS - VM_REG_ES].base = DEV - 0x1000;
	M->segs[VM_REG_SS - VM_REG_ES].base = 0x20000;
	M->regs[VM_REG_RBX] = 0x1008;
	M->regs[VM_REG_RSP] = 0;
	dev_put(0x8, 0x4321, 2);
	assert_int_equal(run(VIE_MODE16, "ff 37"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RSP], 0xfffe);
	assert_int_equal(ram_get(0x2fffe, 2), 0x4321);
	assert_int_equal(run(VIE_MODE16, "8f 07"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RSP], 0);
	LOG(0, true, DEV + 8, 2, 0x4321);
}

/* ------------------------------------------------------------------------------------------------ */
/* Segmentation and canonical addresses                                                             */

static void test_emul_segments_32(void **state)
{
	(void)state;
	machine_mode(M, VIE_MODE32);
	/* base added, wraps at 4 GiB */
	M->segs[VM_REG_DS - VM_REG_ES].base = 0xfee00000 + 0x100 + 0x10;
	M->regs[VM_REG_RAX] = 0xfffffff0; /* base + 0xfffffff0 = DEV + 0x100 (mod 2^32) */
	M->regs[VM_REG_RCX] = 0x99;
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_OK);
	LOG(0, true, DEV + 0x100, 4, 0x99);
	/* limit: last byte must be <= limit */
	M->segs[VM_REG_DS - VM_REG_ES].base = DEV;
	M->segs[VM_REG_DS - VM_REG_ES].limit = 0x103;
	M->regs[VM_REG_RAX] = 0x100;
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_OK);
	M->regs[VM_REG_RAX] = 0x101;
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	assert_int_equal(X.errcode, 0);
	assert_int_equal(M->nlog, 0);
	assert_int_equal(run(VIE_MODE32, "88 08"), VIE_OK); /* a byte at 0x101 is fine */
	/* SS-relative ([ebp]) beyond the SS limit: #SS */
	M->segs[VM_REG_SS - VM_REG_ES].limit = 0xff;
	M->regs[VM_REG_RBP] = 0x100;
	assert_int_equal(run(VIE_MODE32, "8b 45 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_SS);
	/* ... with a DS override the DS limit applies */
	M->segs[VM_REG_DS - VM_REG_ES].limit = 0xffffffff;
	memset(M->dev, 0, sizeof(M->dev));
	assert_int_equal(run(VIE_MODE32, "3e 8b 45 00"), VIE_OK);
	LOG(0, false, DEV + 0x100, 4, 0);
	/* read-only data segment: reads fine, writes #GP */
	M->segs[VM_REG_DS - VM_REG_ES].access = 0x91 | AR_32;
	M->regs[VM_REG_RAX] = 0x10;
	assert_int_equal(run(VIE_MODE32, "8b 00"), VIE_OK);
	assert_int_equal(run(VIE_MODE32, "89 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	assert_int_equal(run(VIE_MODE32, "01 00"), VIE_EXCEPTION); /* RMW: fails before the read */
	assert_int_equal(M->nlog, 0);
	assert_int_equal(run(VIE_MODE32, "39 00"), VIE_OK); /* CMP only reads */
	/* code segment through CS override: readable code reads, never writes */
	M->segs[VM_REG_CS - VM_REG_ES].base = DEV;
	M->regs[VM_REG_RAX] = 0x10; /* the loads above replaced EAX */
	assert_int_equal(run(VIE_MODE32, "2e 8b 00"), VIE_OK);
	LOG(0, false, DEV + 0x10, 4, 0);
	assert_int_equal(run(VIE_MODE32, "2e 89 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	M->segs[VM_REG_CS - VM_REG_ES].access = 0x99 | AR_32; /* execute-only */
	assert_int_equal(run(VIE_MODE32, "2e 8b 00"), VIE_EXCEPTION);
	/* unusable (null) segment */
	M->segs[VM_REG_ES - VM_REG_ES].access = SEG_ACCESS_UNUSABLE;
	M->regs[VM_REG_RDI] = 0;
	M->regs[VM_REG_RCX] = 1;
	assert_int_equal(run(VIE_MODE32, "f3 ab"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	assert_int_equal(M->regs[VM_REG_RCX], 1);
	/* expand-down data segment: valid offsets are limit+1 .. 0xffffffff */
	M->segs[VM_REG_DS - VM_REG_ES].access = 0x97 | AR_32;
	M->segs[VM_REG_DS - VM_REG_ES].base = DEV - 0x1000;
	M->segs[VM_REG_DS - VM_REG_ES].limit = 0xfff;
	M->regs[VM_REG_RAX] = 0x1000;
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_OK);
	LOG(0, true, DEV, 4, 1);
	M->regs[VM_REG_RAX] = 0xfff;
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_EXCEPTION);
	M->regs[VM_REG_RAX] = 0xfffffffe; /* last byte beyond 4 GiB */
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_EXCEPTION);
	/* expand-down 16-bit (B = 0): upper bound 0xffff */
	M->segs[VM_REG_DS - VM_REG_ES].access = 0x97;
	M->segs[VM_REG_DS - VM_REG_ES].base = DEV - 0xf000;
	M->regs[VM_REG_RAX] = 0xfffc;
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_OK);
	M->regs[VM_REG_RAX] = 0xfffd;
	assert_int_equal(run(VIE_MODE32, "89 08"), VIE_EXCEPTION);
	/* real mode (CR0.PE = 0): no type checks, limits still apply */
	machine_mode(M, VIE_MODE16);
	M->segs[VM_REG_CS - VM_REG_ES].base = DEV;
	M->segs[VM_REG_CS - VM_REG_ES].access = 0x9b; /* code */
	M->regs[VM_REG_RBX] = 0x20;
	M->regs[VM_REG_RAX] = 0x1234;
	assert_int_equal(run(VIE_MODE16, "2e 89 07"), VIE_OK); /* writes through CS are fine */
	LOG(0, true, DEV + 0x20, 2, 0x1234);
	M->regs[VM_REG_RBX] = 0xffff;
	assert_int_equal(run(VIE_MODE16, "2e 89 07"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	/* unreal mode: a big limit lets a 32-bit address through */
	M->segs[VM_REG_DS - VM_REG_ES].limit = 0xffffffff;
	M->regs[VM_REG_RAX] = DEV + 0x40;
	M->regs[VM_REG_RCX] = 0x55;
	assert_int_equal(run(VIE_MODE16, "67 66 89 08"), VIE_OK);
	LOG(0, true, DEV + 0x40, 4, 0x55);
	/* virtual-8086 mode: PE = 1 but no type checks */
	M->regs[VM_REG_CR0] = 0x11;
	M->regs[VM_REG_RFLAGS] = 0x2 | (1u << 17);
	M->regs[VM_REG_RBX] = 0x20;
	assert_int_equal(run(VIE_MODE16, "2e 89 07"), VIE_OK);
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE16, "2e 89 07"), VIE_EXCEPTION);
}

static void test_emul_segments_64(void **state)
{
	(void)state;
	/* FS and GS bases count in 64-bit mode, DS/ES/SS/CS bases do not */
	M->segs[VM_REG_FS - VM_REG_ES].base = DEV - 0x1000;
	M->segs[VM_REG_GS - VM_REG_ES].base = DEV + 0x800;
	M->segs[VM_REG_DS - VM_REG_ES].base = 0x1234;
	M->segs[VM_REG_DS - VM_REG_ES].limit = 0;
	M->segs[VM_REG_DS - VM_REG_ES].access = SEG_ACCESS_UNUSABLE;
	M->regs[VM_REG_RAX] = 0x1010;
	dev_put(0x10, 0xfeed, 4);
	assert_int_equal(run(VIE_MODE64, "64 8b 00"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xfeed);
	dev_put(0x810, 0xbeef, 4);
	assert_int_equal(run(VIE_MODE64, "65 8b 04 25 10 00 00 00"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xbeef);
	M->regs[VM_REG_RAX] = DEV + 0x10;
	M->get_seg_calls = 0;
	assert_int_equal(run(VIE_MODE64, "8b 00"), VIE_OK); /* unusable DS does not matter */
	assert_int_equal(M->regs[VM_REG_RAX], 0xfeed);
	assert_int_equal(M->get_seg_calls, 0);
	/* non-canonical: #GP, or #SS for stack references */
	M->reads = M->writes = 0;
	M->regs[VM_REG_RAX] = 0x0000800000000000ull;
	assert_int_equal(run(VIE_MODE64, "89 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	assert_true(X.has_errcode);
	assert_int_equal(X.errcode, 0);
	assert_int_equal(M->reads + M->writes, 0);
	M->regs[VM_REG_RBP] = 0x0000800000000000ull;
	assert_int_equal(run(VIE_MODE64, "8b 45 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_SS);
	M->regs[VM_REG_RSP] = 0xffff7ffffffffff0ull;
	assert_int_equal(run(VIE_MODE64, "8f 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_SS);
	/* an access whose last byte leaves the canonical range */
	M->regs[VM_REG_RAX] = 0x00007ffffffffffdull;
	assert_int_equal(run(VIE_MODE64, "89 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	assert_int_equal(run(VIE_MODE64, "66 89 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF); /* 2 bytes fit: canonical, the fake memory faults it */
	M->regs[VM_REG_RAX] = 0x00007ffffffffffcull;
	assert_int_equal(run(VIE_MODE64, "89 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF); /* canonical: the fake memory faults it */
	/* wrap at the top of the address space */
	M->regs[VM_REG_RAX] = 0xffffffffffffffffull;
	assert_int_equal(run(VIE_MODE64, "66 89 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	/* FS base + offset non-canonical */
	M->segs[VM_REG_FS - VM_REG_ES].base = 0x00007ffffffff000ull;
	M->regs[VM_REG_RAX] = 0x1000;
	assert_int_equal(run(VIE_MODE64, "64 8b 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
	/* LA57: 57-bit canonical */
	M->regs[VM_REG_CR4] |= 1u << 12;
	assert_int_equal(run(VIE_MODE64, "64 8b 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF);
	M->regs[VM_REG_RAX] = 0x0100000000000000ull;
	assert_int_equal(run(VIE_MODE64, "8b 00"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_GP);
}

/* vie.rmw: set exactly for the read-modify-write forms */
static void test_decode_rmw(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		bool rmw;
	} c[] = {
		{ "01 08", 1 },		/* add [rax], ecx */
		{ "f0 01 08", 1 },	/* lock add */
		{ "08 13", 1 },		/* or [rbx], dl */
		{ "11 10", 1 },		/* adc */
		{ "19 10", 1 },		/* sbb */
		{ "21 10", 1 },		/* and */
		{ "29 10", 1 },		/* sub */
		{ "31 10", 1 },		/* xor */
		{ "39 10", 0 },		/* cmp [rax], edx */
		{ "03 08", 0 },		/* add ecx, [rax] */
		{ "3b 08", 0 },		/* cmp ecx, [rax] */
		{ "81 0f 00 01 00 00", 1 }, /* or [rdi], imm */
		{ "83 38 01", 0 },	/* cmp [rax], imm */
		{ "80 30 01", 1 },	/* xor byte [rax], imm */
		{ "87 08", 1 },		/* xchg */
		{ "86 38", 1 },
		{ "85 08", 0 },		/* test */
		{ "f6 00 01", 0 },
		{ "0f a3 08", 0 },	/* bt */
		{ "89 08", 0 },		/* mov */
		{ "8b 08", 0 },
		{ "c7 00 01 00 00 00", 0 },
		{ "0f b6 08", 0 },
		{ "f3 ab", 0 },
		{ "f3 a5", 0 },
		{ "ff 30", 0 },
		{ "8f 00", 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t b[16];
		unsigned n = unhex(c[i].hex, b);
		struct vie v;

		assert_int_equal(vie_decode(&v, b, n, VIE_MODE64), VIE_OK);
		if (v.rmw != c[i].rmw)
			fail_msg("%s: rmw %d", c[i].hex, v.rmw);
	}
}

static void test_emul_fault_propagation(void **state)
{
	(void)state;
	/* a fault on a load leaves the register and RIP alone */
	M->fault_lo = DEV;
	M->fault_hi = DEV + DEV_SIZE;
	M->regs[VM_REG_RAX] = DEV + 4;
	M->regs[VM_REG_RCX] = 0x1111;
	assert_int_equal(run(VIE_MODE64, "8b 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF);
	assert_int_equal(X.cr2, DEV + 4);
	assert_int_equal(X.errcode, 0);
	assert_int_equal(M->regs[VM_REG_RCX], 0x1111);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1000);
	assert_int_equal(M->regs[VM_REG_INTR_SHADOW], 1);
	/* ALU: flags not touched */
	M->regs[VM_REG_RFLAGS] = 0x2 | FL_ZF;
	assert_int_equal(run(VIE_MODE64, "01 08"), VIE_EXCEPTION);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_ZF);
	assert_int_equal(run(VIE_MODE64, "03 08"), VIE_EXCEPTION);
	assert_int_equal(M->regs[VM_REG_RCX], 0x1111);
	/* a fault on the write of a read-modify-write: flags untouched, device unchanged */
	M->fault_hi = 0;
	M->reads = M->writes = 0;
	M->fail_after = 2;
	dev_put(4, 5, 4);
	assert_int_equal(run(VIE_MODE64, "01 08"), VIE_ERROR);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_ZF);
	assert_int_equal(dev_get(4, 4), 5);
	assert_int_equal(M->regs[VM_REG_RIP], 0x1000);
	/* xchg: the register keeps its value when the write fails */
	M->reads = M->writes = 0;
	assert_int_equal(run(VIE_MODE64, "87 08"), VIE_ERROR);
	assert_int_equal(M->regs[VM_REG_RCX], 0x1111);
	M->fail_after = 0;
	/* the callback's exception is passed through as is */
	M->fault_lo = DEV;
	M->fault_hi = DEV + DEV_SIZE;
	assert_int_equal(run(VIE_MODE64, "87 08"), VIE_EXCEPTION);
	assert_int_equal(X.vector, IDT_PF);
	assert_true(X.has_errcode);
}

static void test_emul_32bit_and_16bit_forms(void **state)
{
	(void)state;
	/* 32-bit: mov eax, [ebx + esi*4 - 8] */
	machine_mode(M, VIE_MODE32);
	M->regs[VM_REG_RBX] = DEV + 0x18;
	M->regs[VM_REG_RSI] = 2;
	dev_put(0x18, 0x31323334, 4);
	M->regs[VM_REG_RAX] = 0xffffffffffffffffull;
	M->regs[VM_REG_RIP] = 0x8000;
	assert_int_equal(run(VIE_MODE32, "8b 44 b3 f8"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0x31323334);
	assert_int_equal(M->regs[VM_REG_RIP], 0x8004);
	/* EIP wraps at 4 GiB */
	M->regs[VM_REG_RIP] = 0xfffffffe;
	assert_int_equal(run(VIE_MODE32, "8b 44 b3 f8"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RIP], 2);
	/* 32-bit effective addresses wrap at 4 GiB: ebx + esi*4 + disp */
	M->regs[VM_REG_RBX] = 0xffffff00;
	M->regs[VM_REG_RSI] = (DEV + 0x100 + 8) / 4;
	assert_int_equal(run(VIE_MODE32, "8b 44 b3 f8"), VIE_OK);
	LOG(0, false, DEV + 0x100 + 0xffffff00 - 0x100000000ull, 4, 0);
	/* 16-bit address in 32-bit code: [bx+si] wraps at 64 KiB */
	M->segs[VM_REG_DS - VM_REG_ES].base = DEV;
	M->regs[VM_REG_RBX] = 0xfff0;
	M->regs[VM_REG_RSI] = 0x20;
	dev_put(0x10, 0xa5a5a5a5, 4);
	assert_int_equal(run(VIE_MODE32, "67 8b 00"), VIE_OK);
	LOG(0, false, DEV + 0x10, 4, 0xa5a5a5a5);
	/* 16-bit code: mov ax, [bp+di-2] through SS */
	machine_mode(M, VIE_MODE16);
	M->segs[VM_REG_SS - VM_REG_ES].base = DEV;
	M->regs[VM_REG_RBP] = 0x100;
	M->regs[VM_REG_RDI] = 0x12;
	dev_put(0x110, 0x6789, 2);
	M->regs[VM_REG_RAX] = 0xaaaa0000ull;
	M->regs[VM_REG_RIP] = 0x7c00;
	assert_int_equal(run(VIE_MODE16, "8b 43 fe"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0xaaaa6789ull);
	assert_int_equal(M->regs[VM_REG_RIP], 0x7c03);
	/* mov eax, [bx] with 66 */
	M->segs[VM_REG_DS - VM_REG_ES].base = DEV;
	M->regs[VM_REG_RBX] = 0x110;
	dev_put(0x110, 0x12346789, 4);
	assert_int_equal(run(VIE_MODE16, "66 8b 07"), VIE_OK);
	assert_int_equal(M->regs[VM_REG_RAX], 0x12346789);
	/* add word [bp+2], 5 */
	M->regs[VM_REG_RBP] = 0x10e;
	M->regs[VM_REG_RFLAGS] = 0x2;
	assert_int_equal(run(VIE_MODE16, "83 46 02 05"), VIE_OK);
	assert_int_equal(dev_get(0x110, 2), 0x678e);
	assert_int_equal(M->regs[VM_REG_RFLAGS], 0x2 | FL_PF);
	/* mov [0x1234], ax (moffs16) */
	M->regs[VM_REG_RAX] = 0xbeef;
	assert_int_equal(run(VIE_MODE16, "a3 34 02"), VIE_OK);
	LOG(0, true, DEV + 0x234, 2, 0xbeef);
	/* bx+si+disp16 wraps */
	M->regs[VM_REG_RBX] = 0xffff;
	M->regs[VM_REG_RSI] = 0xffff;
	assert_int_equal(run(VIE_MODE16, "89 80 02 00"), VIE_OK); /* 0xffff+0xffff+2 = 0x10000 -> 0 */
	LOG(0, true, DEV + 0, 2, 0xbeef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_decode_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_prefix_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_negative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_from_cs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_mov_store_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_mov_imm_rip_moffs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_movzx_movsx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_alu_known, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_vs_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_test_bt_xchg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_stos, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_stos_16bit_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_rep_batch_and_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_movs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_push_pop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_segments_32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_segments_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_rmw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_fault_propagation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emul_32bit_and_16bit_forms, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
