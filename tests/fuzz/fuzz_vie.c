/*
 * libFuzzer target for kernel/vmm/vie.c: random instruction bytes in a random mode, decoded and
 * emulated against a random register file, random segments and a fake memory whose contents and
 * faults come from the input. Besides the sanitizers it checks the emulator's contract:
 * result codes, instruction length, RIP movement, access sizes and counts.
 *
 * Input: [ctl] [n] [n instruction bytes (n <= 20)] [the rest: register file, segments, memory seed]
 *   ctl bits 0-1 mode (16/32/64, 3 = 64), 2 CR0.PE, 3 RFLAGS.VM, 4 RFLAGS.DF, 5 CR4.LA57,
 *   6 memory faults enabled, 7 callbacks may fail with VIE_ERROR.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hv/vie.h>

#define CHECK(c)                                                                                       \
	do {                                                                                           \
		if (!(c))                                                                              \
			__builtin_trap();                                                              \
	} while (0)

struct fz {
	uint64_t regs[VM_REG_LAST];
	struct seg_desc segs[6];
	const uint8_t *mem; /* memory contents pattern */
	size_t memlen;
	uint64_t seed;
	bool faults, errors;
	unsigned accesses, reads, writes;
	const struct vie *vie;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t f_get_reg(void *ctx, enum vm_reg reg)
{
	struct fz *f = ctx;

	CHECK((unsigned)reg < VM_REG_LAST);
	return f->regs[reg];
}

static void f_set_reg(void *ctx, enum vm_reg reg, uint64_t val)
{
	struct fz *f = ctx;

	CHECK((unsigned)reg < VM_REG_LAST);
	/* the emulator writes GPRs, RIP, RFLAGS and the interrupt shadow only */
	CHECK(reg <= VM_REG_RFLAGS || reg == VM_REG_INTR_SHADOW);
	f->regs[reg] = val;
}

static void f_get_seg(void *ctx, enum vm_reg seg, struct seg_desc *d)
{
	struct fz *f = ctx;

	CHECK(seg >= VM_REG_ES && seg <= VM_REG_GS);
	*d = f->segs[seg - VM_REG_ES];
}

/* 0 ok, else an exception/error decided from the address and the seed */
static int f_fail(struct fz *f, uint64_t gla, bool write, struct vie_exc *exc)
{
	uint64_t h = mix(gla ^ f->seed ^ (write ? 0x5555 : 0));

	if (f->errors && (h & 0xff) == 0)
		return VIE_ERROR;
	if (f->faults && ((h >> 8) & 0x1f) == 0) {
		exc->vector = IDT_PF;
		exc->has_errcode = true;
		exc->errcode = write ? 2 : 0;
		exc->cr2 = gla;
		return VIE_EXCEPTION;
	}
	return VIE_OK;
}

static int f_read(void *ctx, uint64_t gla, uint64_t *val, unsigned size, struct vie_exc *exc)
{
	struct fz *f = ctx;
	uint64_t v = 0;
	int r;

	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	f->accesses++;
	f->reads++;
	r = f_fail(f, gla, false, exc);
	if (r)
		return r;
	for (unsigned i = 0; i < size; i++) {
		uint64_t a = gla + i;
		uint8_t b = f->memlen ? f->mem[a % f->memlen] : 0;

		v |= (uint64_t)(uint8_t)(b ^ (uint8_t)mix(a)) << (8 * i);
	}
	*val = v | (size < 8 ? 0xa5a5a5a5a5a5a5a5ull << (8 * size) : 0); /* junk above size */
	return VIE_OK;
}

static int f_write(void *ctx, uint64_t gla, uint64_t val, unsigned size, struct vie_exc *exc)
{
	struct fz *f = ctx;

	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	CHECK(size == 8 || (val >> (8 * size)) == 0);
	/* no write for instructions that only read memory */
	CHECK(f->vie->op != VIE_OP_CMP && f->vie->op != VIE_OP_TEST && f->vie->op != VIE_OP_BT);
	CHECK(!(f->vie->op == VIE_OP_MOV && f->vie->form == VIE_FORM_REG_MEM));
	CHECK(f->vie->op != VIE_OP_MOVZX && f->vie->op != VIE_OP_MOVSX);
	f->accesses++;
	f->writes++;
	return f_fail(f, gla, true, exc);
}

static const struct vie_ops OPS = { f_get_reg, f_set_reg, f_get_seg, f_read, f_write };

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum vie_mode modes[4] = { VIE_MODE16, VIE_MODE32, VIE_MODE64, VIE_MODE64 };
	struct fz f;
	struct vie v, v2;
	struct vie_exc exc;
	const uint8_t *p = data;
	size_t n = size;
	uint8_t ctl, len, insn[32];
	enum vie_mode mode;
	uint64_t rip0, regs0[VM_REG_LAST];
	int r, r2;

	if (size < 2)
		return 0;
	ctl = (uint8_t)take(&p, &n, 1);
	len = (uint8_t)take(&p, &n, 1) % 21;
	if (len > n)
		len = (uint8_t)n;
	memset(insn, 0xcc, sizeof(insn));
	memcpy(insn, p, len);
	p += len;
	n -= len;
	mode = modes[ctl & 3];

	/* decode: contract */
	r = vie_decode(&v, insn, len, mode);
	CHECK(r == VIE_OK || r == VIE_UNSUPPORTED || r == VIE_TRUNCATED || r == VIE_TOO_LONG);
	if (r == VIE_TRUNCATED)
		CHECK(len < VIE_INST_MAX);
	if (r != VIE_OK) {
		memset(&exc, 0, sizeof(exc));
		CHECK(vie_emulate(&v, &OPS, NULL, &exc) == VIE_UNSUPPORTED);
		return 0;
	}
	CHECK(v.len >= 1 && v.len <= VIE_INST_MAX && v.len <= len);
	CHECK(v.opsize == 1 || v.opsize == 2 || v.opsize == 4 || v.opsize == 8);
	CHECK(v.memsize == 1 || v.memsize == 2 || v.memsize == 4 || v.memsize == 8);
	CHECK(v.memsize <= v.opsize);
	CHECK(v.addrsize == 2 || v.addrsize == 4 || v.addrsize == 8);
	CHECK(v.addrsize != 8 || mode == VIE_MODE64);
	CHECK(v.op != VIE_OP_NONE && v.op <= VIE_OP_POP);
	CHECK(v.seg >= VM_REG_ES && v.seg <= VM_REG_GS);
	CHECK(v.base == VIE_NOREG || v.base < 16);
	CHECK(v.index == VIE_NOREG || v.index < 16);
	CHECK(v.reg == VIE_NOREG || v.reg < 16);
	CHECK(!v.reg_high8 || v.reg < 4);
	CHECK(v.scale == 1 || v.scale == 2 || v.scale == 4 || v.scale == 8);
	CHECK(!v.rip_rel || mode == VIE_MODE64);
	CHECK(!v.lock || v.rmw);
	/* the same bytes, cut to the length or extended by junk, decode the same */
	r2 = vie_decode(&v2, insn, v.len, mode);
	CHECK(r2 == VIE_OK && memcmp(&v, &v2, sizeof(v)) == 0);
	if (v.len > 1)
		CHECK(vie_decode(&v2, insn, v.len - 1u, mode) == VIE_TRUNCATED);

	/* machine state from the rest of the input */
	memset(&f, 0, sizeof(f));
	for (int i = 0; i < VM_REG_LAST; i++)
		f.regs[i] = take(&p, &n, 8);
	for (int i = 0; i < 6; i++) {
		f.segs[i].base = take(&p, &n, 4);
		f.segs[i].limit = (uint32_t)take(&p, &n, 4);
		f.segs[i].access = (uint32_t)take(&p, &n, 3);
	}
	f.regs[VM_REG_CR0] = (f.regs[VM_REG_CR0] & ~1ull) | ((ctl >> 2) & 1);
	f.regs[VM_REG_RFLAGS] &= ~((1ull << 17) | (1ull << 10));
	f.regs[VM_REG_RFLAGS] |= ((ctl >> 3) & 1ull) << 17 | ((ctl >> 4) & 1ull) << 10;
	f.regs[VM_REG_CR4] = ((ctl >> 5) & 1ull) << 12;
	f.faults = (ctl >> 6) & 1;
	f.errors = (ctl >> 7) & 1;
	f.seed = take(&p, &n, 8);
	f.mem = p;
	f.memlen = n;
	f.vie = &v;
	rip0 = f.regs[VM_REG_RIP];
	memcpy(regs0, f.regs, sizeof(regs0));

	memset(&exc, 0xee, sizeof(exc));
	r = vie_emulate(&v, &OPS, &f, &exc);
	CHECK(r == VIE_OK || r == VIE_RESTART || r == VIE_EXCEPTION || r == VIE_ERROR);
	if (r == VIE_OK) {
		uint64_t m = mode == VIE_MODE64 ? ~0ull : mode == VIE_MODE32 ? 0xffffffffull : 0xffffull;
		CHECK(f.regs[VM_REG_RIP] == ((rip0 + v.len) & m));
		CHECK(f.regs[VM_REG_INTR_SHADOW] == 0);
	} else {
		CHECK(f.regs[VM_REG_RIP] == rip0);
	}
	if (r == VIE_EXCEPTION) {
		CHECK(exc.vector == IDT_PF || exc.vector == IDT_GP || exc.vector == IDT_SS);
		CHECK(exc.has_errcode);
	}
	if (r == VIE_RESTART)
		CHECK(v.op == VIE_OP_STOS || v.op == VIE_OP_MOVS);
	/* bounded work; one element per access pair */
	if (v.op == VIE_OP_STOS || v.op == VIE_OP_MOVS) {
		CHECK(f.writes <= VIE_REP_BATCH && f.reads <= VIE_REP_BATCH);
	} else {
		CHECK(f.reads <= 1 && f.writes <= 1);
		/* no REP op: RCX untouched unless it is the destination register */
		if (v.reg != VM_REG_RCX)
			CHECK(f.regs[VM_REG_RCX] == regs0[VM_REG_RCX]);
	}
	/* status flags change only for ALU/TEST/BT */
	if (v.op == VIE_OP_MOV || v.op == VIE_OP_MOVZX || v.op == VIE_OP_MOVSX || v.op == VIE_OP_XCHG ||
	    v.op == VIE_OP_STOS || v.op == VIE_OP_MOVS || v.op == VIE_OP_PUSH || v.op == VIE_OP_POP)
		CHECK(f.regs[VM_REG_RFLAGS] == regs0[VM_REG_RFLAGS]);
	/* RFLAGS bits other than the 6 status flags never change */
	CHECK((f.regs[VM_REG_RFLAGS] & ~0x8d5ull) == (regs0[VM_REG_RFLAGS] & ~0x8d5ull));
	return 0;
}
