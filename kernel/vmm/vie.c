/*
 * x86 instruction decoder and emulator for MMIO (see include/hv/vie.h). Pure logic: guest state
 * only through struct vie_ops. Encodings follow SDM vol. 2 chapter 2 (prefixes, REX, ModRM/SIB)
 * and the opcode map of appendix A; segmentation follows SDM vol. 3 chapter 5.
 */
#include <hv/vie.h>

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_PF (1ull << 2)
#define RFLAGS_AF (1ull << 4)
#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_SF (1ull << 7)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_OF (1ull << 11)
#define RFLAGS_VM (1ull << 17)
#define RFLAGS_STATUS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

#define CR0_PE (1ull << 0)
#define CR4_LA57 (1ull << 12)

#define REX_W 8
#define REX_R 4
#define REX_X 2
#define REX_B 1

/* segment type bits (access[3:0]) and S */
#define SEG_TYPE_CODE 8
#define SEG_TYPE_WR 2 /* data: writable; code: readable */
#define SEG_TYPE_DOWN 4
#define SEG_S (1u << 4)

enum vie_mode vie_mode_from_cs(uint32_t cs_access, bool efer_lma)
{
	if (efer_lma && (cs_access & SEG_ACCESS_L))
		return VIE_MODE64;
	return (cs_access & SEG_ACCESS_DB) ? VIE_MODE32 : VIE_MODE16;
}

/* ------------------------------------------------------------------------------------------------ */
/* Decoder                                                                                          */

struct dec {
	const uint8_t *b;
	unsigned n;
	unsigned i;
};

static int fetch8(struct dec *d, uint8_t *out)
{
	if (d->i >= VIE_INST_MAX)
		return VIE_TOO_LONG;
	if (d->i >= d->n)
		return VIE_TRUNCATED;
	*out = d->b[d->i++];
	return VIE_OK;
}

/* size bytes little-endian; sign-extended when sx. The bounds are checked once: the first byte
 * missing is past the 15th (too long) or past what was given (truncated), as with fetch8. */
static int fetchn(struct dec *d, unsigned size, bool sx, int64_t *out)
{
	const uint8_t *p = d->b + d->i;
	uint64_t v;

	if (d->i + size > VIE_INST_MAX || d->i + size > d->n)
		return d->n < VIE_INST_MAX ? VIE_TRUNCATED : VIE_TOO_LONG;
	/* each a single load on a little-endian host */
	switch (size) {
	case 1:
		v = p[0];
		break;
	case 2:
		v = (uint64_t)p[0] | (uint64_t)p[1] << 8;
		break;
	case 4:
		v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
		break;
	default: /* 8: a 64-bit moffs */
		v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
		    (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
		break;
	}
	d->i += size;
	if (sx && size < 8 && (v & (1ull << (8 * size - 1))))
		v |= ~0ull << (8 * size);
	*out = (int64_t)v;
	return VIE_OK;
}

static const uint8_t alu_ops[8] = {
	VIE_OP_ADD, VIE_OP_OR, VIE_OP_ADC, VIE_OP_SBB, VIE_OP_AND, VIE_OP_SUB, VIE_OP_XOR, VIE_OP_CMP,
};

/* the ModRM memory operand; mod != 3 */
static int decode_mem(struct vie *v, struct dec *d, uint8_t mod, uint8_t rm)
{
	int64_t disp = 0;
	int r;

	if (v->addrsize == 2) {
		static const uint8_t base16[8] = { VM_REG_RBX, VM_REG_RBX, VM_REG_RBP, VM_REG_RBP,
						   VIE_NOREG,  VIE_NOREG,  VM_REG_RBP, VM_REG_RBX };
		static const uint8_t index16[8] = { VM_REG_RSI, VM_REG_RDI, VM_REG_RSI, VM_REG_RDI,
						    VM_REG_RSI, VM_REG_RDI, VIE_NOREG,	VIE_NOREG };

		if (mod == 0 && rm == 6) {
			r = fetchn(d, 2, true, &disp);
		} else {
			v->base = base16[rm];
			v->index = index16[rm];
			if (v->base == VM_REG_RBP)
				v->seg = VM_REG_SS;
			r = mod == 1 ? fetchn(d, 1, true, &disp) : mod == 2 ? fetchn(d, 2, true, &disp) : 0;
		}
		v->disp = disp;
		return r;
	}

	if (rm == 4) {
		uint8_t sib, idx, b;

		r = fetch8(d, &sib);
		if (r)
			return r;
		v->has_sib = true;
		v->sib = sib;
		v->scale = (uint8_t)(1u << (sib >> 6));
		idx = (uint8_t)(((sib >> 3) & 7) | ((v->rex & REX_X) ? 8 : 0));
		v->index = idx == 4 ? VIE_NOREG : idx;
		b = sib & 7;
		if (b == 5 && mod == 0) {
			r = fetchn(d, 4, true, &disp);
			if (r)
				return r;
		} else {
			v->base = (uint8_t)(b | ((v->rex & REX_B) ? 8 : 0));
		}
	} else if (rm == 5 && mod == 0) {
		r = fetchn(d, 4, true, &disp);
		if (r)
			return r;
		v->rip_rel = v->mode == VIE_MODE64;
	} else {
		v->base = (uint8_t)(rm | ((v->rex & REX_B) ? 8 : 0));
	}
	if (v->base == VM_REG_RSP || v->base == VM_REG_RBP)
		v->seg = VM_REG_SS;
	if (mod == 1)
		r = fetchn(d, 1, true, &disp);
	else if (mod == 2)
		r = fetchn(d, 4, true, &disp);
	else
		r = VIE_OK;
	v->disp = disp;
	return r;
}

int vie_decode(struct vie *v, const uint8_t *bytes, unsigned n, enum vie_mode mode)
{
	struct dec d = { bytes, bytes ? n : 0, 0 };
	bool modrm = false, byteop = false, lockable = false, need_reg = false;
	unsigned immsz = 0; /* 1, 2, 4; 5 = Iz (2 or 4 by operand size) */
	uint8_t c, mod, regf, rm;
	int r;

	*v = (struct vie){ .mode = (uint8_t)mode, .seg_prefix = VIE_NOREG, .seg = VM_REG_DS, .base = VIE_NOREG,
			   .index = VIE_NOREG, .reg = VIE_NOREG, .scale = 1 };
	if (mode != VIE_MODE16 && mode != VIE_MODE32 && mode != VIE_MODE64)
		return VIE_UNSUPPORTED;

	/* prefixes; a REX counts only right before the opcode */
	for (;;) {
		uint8_t seg = VIE_NOREG;

		r = fetch8(&d, &c);
		if (r)
			return r;
		switch (c) {
		case 0x66:
			v->opsize_prefix = true;
			break;
		case 0x67:
			v->addrsize_prefix = true;
			break;
		case 0xf0:
			v->lock = true;
			break;
		case 0xf2:
			v->repne = true;
			v->rep = false;
			break;
		case 0xf3:
			v->rep = true;
			v->repne = false;
			break;
		case 0x26:
			seg = VM_REG_ES;
			break;
		case 0x2e:
			seg = VM_REG_CS;
			break;
		case 0x36:
			seg = VM_REG_SS;
			break;
		case 0x3e:
			seg = VM_REG_DS;
			break;
		case 0x64:
			seg = VM_REG_FS;
			break;
		case 0x65:
			seg = VM_REG_GS;
			break;
		default:
			if (mode == VIE_MODE64 && (c & 0xf0) == 0x40) {
				v->rex = c;
				continue;
			}
			goto opcode;
		}
		/* 64-bit mode ignores the ES, CS, SS and DS overrides */
		if (seg != VIE_NOREG && (mode != VIE_MODE64 || seg == VM_REG_FS || seg == VM_REG_GS))
			v->seg_prefix = seg;
		v->rex = 0;
	}

opcode:
	if (mode == VIE_MODE64) {
		v->addrsize = v->addrsize_prefix ? 4 : 8;
		v->opsize = (v->rex & REX_W) ? 8 : v->opsize_prefix ? 2 : 4;
	} else {
		bool big = (mode == VIE_MODE32) != v->addrsize_prefix;

		v->addrsize = big ? 4 : 2;
		v->opsize = ((mode == VIE_MODE32) != v->opsize_prefix) ? 4 : 2;
	}
	v->opcode = c;

	if (c == 0x0f) {
		r = fetch8(&d, &c);
		if (r)
			return r;
		v->twobyte = true;
		v->opcode = c;
		switch (c) {
		case 0xa3: /* BT Ev, Gv */
			v->op = VIE_OP_BT;
			v->form = VIE_FORM_MEM_REG;
			modrm = need_reg = true;
			break;
		case 0xba: /* group 8: /4 BT Ev, Ib */
			v->op = VIE_OP_BT;
			v->form = VIE_FORM_MEM_IMM;
			modrm = true;
			immsz = 1;
			break;
		case 0xb6: /* MOVZX Gv, Eb */
		case 0xb7: /* MOVZX Gv, Ew */
		case 0xbe: /* MOVSX Gv, Eb */
		case 0xbf: /* MOVSX Gv, Ew */
			v->op = (c & 8) ? VIE_OP_MOVSX : VIE_OP_MOVZX;
			v->form = VIE_FORM_REG_MEM;
			v->memsize = (c & 1) ? 2 : 1;
			modrm = need_reg = true;
			break;
		default:
			return VIE_UNSUPPORTED;
		}
	} else if (c < 0x40 && (c & 7) < 4) {
		/* 00-3B: ALU Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev */
		v->op = alu_ops[c >> 3];
		v->form = (c & 2) ? VIE_FORM_REG_MEM : VIE_FORM_MEM_REG;
		byteop = !(c & 1);
		modrm = need_reg = true;
		lockable = !(c & 2) && v->op != VIE_OP_CMP;
	} else {
		switch (c) {
		case 0x63: /* MOVSXD Gv, Ed (ARPL outside 64-bit mode) */
			if (mode != VIE_MODE64)
				return VIE_UNSUPPORTED;
			v->op = VIE_OP_MOVSX;
			v->form = VIE_FORM_REG_MEM;
			v->memsize = v->opsize == 8 ? 4 : v->opsize;
			modrm = need_reg = true;
			break;
		case 0x82: /* alias of 80, invalid in 64-bit mode */
			if (mode == VIE_MODE64)
				return VIE_UNSUPPORTED;
			/* fall through */
		case 0x80: /* group 1 Eb, Ib */
		case 0x81: /* group 1 Ev, Iz */
		case 0x83: /* group 1 Ev, Ib */
			v->form = VIE_FORM_MEM_IMM;
			byteop = c != 0x81 && c != 0x83;
			immsz = c == 0x81 ? 5 : 1;
			modrm = true;
			break;
		case 0x84: /* TEST Eb, Gb */
		case 0x85: /* TEST Ev, Gv */
			v->op = VIE_OP_TEST;
			v->form = VIE_FORM_MEM_REG;
			byteop = c == 0x84;
			modrm = need_reg = true;
			break;
		case 0x86: /* XCHG Eb, Gb */
		case 0x87: /* XCHG Ev, Gv */
			v->op = VIE_OP_XCHG;
			v->form = VIE_FORM_MEM_REG;
			byteop = c == 0x86;
			modrm = need_reg = lockable = true;
			break;
		case 0x88: /* MOV Eb, Gb */
		case 0x89: /* MOV Ev, Gv */
		case 0x8a: /* MOV Gb, Eb */
		case 0x8b: /* MOV Gv, Ev */
			v->op = VIE_OP_MOV;
			v->form = (c & 2) ? VIE_FORM_REG_MEM : VIE_FORM_MEM_REG;
			byteop = !(c & 1);
			modrm = need_reg = true;
			break;
		case 0x8f: /* group 1A: /0 POP Ev */
			v->op = VIE_OP_POP;
			v->form = VIE_FORM_MEM;
			modrm = true;
			break;
		case 0xa0: /* MOV AL, moffs */
		case 0xa1: /* MOV rAX, moffs */
		case 0xa2: /* MOV moffs, AL */
		case 0xa3: /* MOV moffs, rAX */
			v->op = VIE_OP_MOV;
			v->form = (c & 2) ? VIE_FORM_MEM_REG : VIE_FORM_REG_MEM;
			byteop = !(c & 1);
			v->reg = VM_REG_RAX;
			r = fetchn(&d, v->addrsize, false, &v->disp);
			if (r)
				return r;
			break;
		case 0xa4: /* MOVSB */
		case 0xa5: /* MOVSW/D/Q */
			v->op = VIE_OP_MOVS;
			v->form = VIE_FORM_MEM;
			byteop = c == 0xa4;
			break;
		case 0xaa: /* STOSB */
		case 0xab: /* STOSW/D/Q */
			v->op = VIE_OP_STOS;
			v->form = VIE_FORM_MEM;
			byteop = c == 0xaa;
			v->reg = VM_REG_RAX;
			break;
		case 0xc6: /* group 11: /0 MOV Eb, Ib */
		case 0xc7: /* group 11: /0 MOV Ev, Iz */
			v->op = VIE_OP_MOV;
			v->form = VIE_FORM_MEM_IMM;
			byteop = c == 0xc6;
			immsz = byteop ? 1 : 5;
			modrm = true;
			break;
		case 0xf6: /* group 3: /0 TEST Eb, Ib */
		case 0xf7: /* group 3: /0 TEST Ev, Iz */
			v->op = VIE_OP_TEST;
			v->form = VIE_FORM_MEM_IMM;
			byteop = c == 0xf6;
			immsz = byteop ? 1 : 5;
			modrm = true;
			break;
		case 0xff: /* group 5: /6 PUSH Ev */
			v->op = VIE_OP_PUSH;
			v->form = VIE_FORM_MEM;
			modrm = true;
			break;
		default:
			return VIE_UNSUPPORTED;
		}
	}

	if (byteop)
		v->opsize = 1;
	if (v->op == VIE_OP_PUSH || v->op == VIE_OP_POP) {
		/* 64-bit mode: 64-bit operands by default, 16 with 66, never 32 */
		if (mode == VIE_MODE64)
			v->opsize = ((v->rex & REX_W) || !v->opsize_prefix) ? 8 : 2;
	}
	if (!v->memsize)
		v->memsize = v->opsize;

	if (modrm) {
		r = fetch8(&d, &c);
		if (r)
			return r;
		v->has_modrm = true;
		v->modrm = c;
		mod = c >> 6;
		regf = (c >> 3) & 7;
		rm = c & 7;
		if (mod == 3)
			return VIE_UNSUPPORTED; /* a memory operand is required */
		switch (v->opcode) {
		case 0x80:
		case 0x81:
		case 0x82:
		case 0x83:
			if (v->twobyte)
				break;
			v->op = alu_ops[regf];
			lockable = v->op != VIE_OP_CMP;
			break;
		case 0x8f:
		case 0xc6:
		case 0xc7:
		case 0xf6:
		case 0xf7:
			if (!v->twobyte && regf != 0)
				return VIE_UNSUPPORTED;
			break;
		case 0xff:
			if (regf != 6)
				return VIE_UNSUPPORTED;
			break;
		case 0xba:
			if (v->twobyte && regf != 4)
				return VIE_UNSUPPORTED;
			break;
		}
		if (need_reg) {
			uint8_t reg = (uint8_t)(regf | ((v->rex & REX_R) ? 8 : 0));

			if (v->opsize == 1 && !v->rex && regf >= 4) {
				v->reg_high8 = true;
				reg = (uint8_t)(regf - 4);
			}
			v->reg = reg;
		}
		r = decode_mem(v, &d, mod, rm);
		if (r)
			return r;
	}

	if (immsz) {
		unsigned sz = immsz == 5 ? (v->opsize == 2 ? 2 : 4) : immsz;

		r = fetchn(&d, sz, true, &v->imm);
		if (r)
			return r;
		v->has_imm = true;
	}

	if (v->lock && !lockable)
		return VIE_UNSUPPORTED;
	/* the lockable forms are exactly the read-modify-write ones */
	v->rmw = lockable;
	if (v->seg_prefix != VIE_NOREG)
		v->seg = v->seg_prefix;
	if (v->op == VIE_OP_STOS)
		v->seg = VM_REG_ES;
	v->len = (uint8_t)d.i;
	return VIE_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Emulator                                                                                         */

struct emu {
	const struct vie *v;
	const struct vie_ops *ops;
	void *ctx;
	struct vie_exc *exc;
};

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t sext(uint64_t v, unsigned size)
{
	if (size >= 8)
		return v;
	v &= mask_of(size);
	if (v & (1ull << (8 * size - 1)))
		v |= ~mask_of(size);
	return v;
}

/* a register written with size bytes of address/stack width: 16 keeps the upper bits, 32 zeroes */
static uint64_t merge(uint64_t old, uint64_t val, unsigned size)
{
	if (size == 2)
		return (old & ~0xffffull) | (val & 0xffff);
	if (size == 4)
		return val & 0xffffffffull;
	return val;
}

static uint64_t get(struct emu *e, enum vm_reg reg)
{
	return e->ops->get_reg(e->ctx, reg);
}

static void set(struct emu *e, enum vm_reg reg, uint64_t val)
{
	e->ops->set_reg(e->ctx, reg, val);
}

static uint64_t read_gpr(struct emu *e, uint8_t reg, bool high8, unsigned size)
{
	uint64_t v = get(e, (enum vm_reg)reg);

	if (high8)
		v >>= 8;
	return v & mask_of(size);
}

static void write_gpr(struct emu *e, uint8_t reg, bool high8, unsigned size, uint64_t val)
{
	uint64_t old = get(e, (enum vm_reg)reg), v;

	switch (size) {
	case 1:
		v = high8 ? (old & ~0xff00ull) | (val & 0xff) << 8 : (old & ~0xffull) | (val & 0xff);
		break;
	case 2:
		v = (old & ~0xffffull) | (val & 0xffff);
		break;
	case 4:
		v = val & 0xffffffffull;
		break;
	default:
		v = val;
		break;
	}
	set(e, (enum vm_reg)reg, v);
}

/* the memory operand's offset; rsp is the value to use for a RSP base */
static uint64_t ea_rsp(struct emu *e, uint64_t rsp)
{
	const struct vie *v = e->v;
	uint64_t a = (uint64_t)v->disp;

	if (v->rip_rel)
		a += get(e, VM_REG_RIP) + v->len;
	if (v->base != VIE_NOREG)
		a += v->base == VM_REG_RSP ? rsp : get(e, (enum vm_reg)v->base);
	if (v->index != VIE_NOREG)
		a += get(e, (enum vm_reg)v->index) * v->scale;
	return a & mask_of(v->addrsize);
}

/* the memory operand's offset with RSP as it is (read only when it is the base) */
static uint64_t ea(struct emu *e)
{
	return ea_rsp(e, e->v->base == VM_REG_RSP ? get(e, VM_REG_RSP) : 0);
}

static int seg_fault(struct emu *e, uint8_t seg)
{
	e->exc->vector = seg == VM_REG_SS ? IDT_SS : IDT_GP;
	e->exc->has_errcode = true;
	e->exc->errcode = 0;
	e->exc->cr2 = 0;
	return VIE_EXCEPTION;
}

/* seg:off -> linear address for an access of size bytes, with the CPU's segmentation checks */
static int linear(struct emu *e, uint8_t seg, uint64_t off, unsigned size, bool write, uint64_t *gla)
{
	struct seg_desc sd = { 0 };

	if (e->v->mode == VIE_MODE64) {
		unsigned vbits = (get(e, VM_REG_CR4) & CR4_LA57) ? 57 : 48;
		uint64_t la = off, last;

		if (seg == VM_REG_FS || seg == VM_REG_GS) {
			e->ops->get_seg(e->ctx, (enum vm_reg)seg, &sd);
			la += sd.base;
		}
		last = la + size - 1;
		if (last < la ||
		    (uint64_t)((int64_t)(la << (64 - vbits)) >> (64 - vbits)) != la ||
		    (uint64_t)((int64_t)(last << (64 - vbits)) >> (64 - vbits)) != last)
			return seg_fault(e, seg);
		*gla = la;
		return VIE_OK;
	}

	e->ops->get_seg(e->ctx, (enum vm_reg)seg, &sd);
	if ((get(e, VM_REG_CR0) & CR0_PE) && !(get(e, VM_REG_RFLAGS) & RFLAGS_VM)) {
		unsigned type = sd.access & 0xf;

		if ((sd.access & SEG_ACCESS_UNUSABLE) || !(sd.access & SEG_S))
			return seg_fault(e, seg);
		if (type & SEG_TYPE_CODE) {
			if (write || !(type & SEG_TYPE_WR))
				return seg_fault(e, seg);
		} else if (write && !(type & SEG_TYPE_WR)) {
			return seg_fault(e, seg);
		}
	}
	if (!(sd.access & SEG_TYPE_CODE) && (sd.access & SEG_TYPE_DOWN)) {
		uint64_t upper = (sd.access & SEG_ACCESS_DB) ? 0xffffffffull : 0xffffull;

		if (off <= sd.limit || off + size - 1 > upper)
			return seg_fault(e, seg);
	} else if (off + size - 1 > sd.limit) {
		return seg_fault(e, seg);
	}
	*gla = (sd.base + off) & 0xffffffffull;
	return VIE_OK;
}

static int cb_result(int r)
{
	return r == VIE_OK ? VIE_OK : r == VIE_EXCEPTION ? VIE_EXCEPTION : VIE_ERROR;
}

/* rmw: the value will be written back, so the write checks apply before the read */
static int mread(struct emu *e, uint8_t seg, uint64_t off, unsigned size, bool rmw, uint64_t *val)
{
	uint64_t gla, v = 0;
	int r = linear(e, seg, off, size, rmw, &gla);

	if (r)
		return r;
	r = cb_result(e->ops->read(e->ctx, gla, &v, size, e->exc));
	*val = v & mask_of(size);
	return r;
}

static int mwrite(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint64_t val)
{
	uint64_t gla;
	int r = linear(e, seg, off, size, true, &gla);

	if (r)
		return r;
	return cb_result(e->ops->write(e->ctx, gla, val & mask_of(size), size, e->exc));
}

static bool parity_even(uint64_t v)
{
	uint8_t x = (uint8_t)v;

	x ^= x >> 4;
	x ^= x >> 2;
	x ^= x >> 1;
	return !(x & 1);
}

/* a OP b on size bytes; returns the result and updates the status flags in *rflags */
static uint64_t alu(uint8_t op, unsigned size, uint64_t a, uint64_t b, uint64_t *rflags)
{
	const uint64_t m = mask_of(size), sign = 1ull << (8 * size - 1);
	const bool cf_in = *rflags & RFLAGS_CF;
	uint64_t res, fl = 0;
	bool cf = false, of = false, af = false;

	a &= m;
	b &= m;
	switch (op) {
	case VIE_OP_ADD:
	case VIE_OP_ADC:
		res = (a + b + (op == VIE_OP_ADC && cf_in)) & m;
		cf = (op == VIE_OP_ADC && cf_in) ? res <= a : res < a;
		of = (a ^ res) & (b ^ res) & sign;
		af = (a ^ b ^ res) & 0x10;
		break;
	case VIE_OP_SUB:
	case VIE_OP_CMP:
	case VIE_OP_SBB:
		res = (a - b - (op == VIE_OP_SBB && cf_in)) & m;
		cf = (op == VIE_OP_SBB && cf_in) ? a <= b : a < b;
		of = (a ^ b) & (a ^ res) & sign;
		af = (a ^ b ^ res) & 0x10;
		break;
	case VIE_OP_AND:
	case VIE_OP_TEST:
		res = a & b;
		break;
	case VIE_OP_OR:
		res = a | b;
		break;
	default: /* XOR */
		res = a ^ b;
		break;
	}
	if (cf)
		fl |= RFLAGS_CF;
	if (parity_even(res))
		fl |= RFLAGS_PF;
	if (af)
		fl |= RFLAGS_AF;
	if (res == 0)
		fl |= RFLAGS_ZF;
	if (res & sign)
		fl |= RFLAGS_SF;
	if (of)
		fl |= RFLAGS_OF;
	*rflags = (*rflags & ~RFLAGS_STATUS) | fl;
	return res;
}

static int done(struct emu *e)
{
	uint64_t rip = get(e, VM_REG_RIP) + e->v->len;

	set(e, VM_REG_RIP, rip & mask_of(e->v->mode));
	set(e, VM_REG_INTR_SHADOW, 0);
	return VIE_OK;
}

static unsigned stack_size(struct emu *e)
{
	struct seg_desc ss = { 0 };

	if (e->v->mode == VIE_MODE64)
		return 8;
	e->ops->get_seg(e->ctx, VM_REG_SS, &ss);
	return (ss.access & SEG_ACCESS_DB) ? 4 : 2;
}

static int emulate_string(struct emu *e)
{
	const struct vie *v = e->v;
	const unsigned as = v->addrsize, size = v->opsize;
	const uint64_t am = mask_of(as);
	const bool rep = v->rep || v->repne;
	uint64_t rcx = get(e, VM_REG_RCX), rsi = 0, rdi = get(e, VM_REG_RDI), val = 0;
	uint64_t count = rep ? (rcx & am) : 1, step, n;
	int r = VIE_OK;

	step = (get(e, VM_REG_RFLAGS) & RFLAGS_DF) ? (uint64_t)0 - size : size;
	if (v->op == VIE_OP_MOVS)
		rsi = get(e, VM_REG_RSI);
	else
		val = read_gpr(e, VM_REG_RAX, false, size);

	for (n = 0; n < count && n < VIE_REP_BATCH; n++) {
		if (v->op == VIE_OP_MOVS) {
			r = mread(e, v->seg, rsi & am, size, false, &val);
			if (r)
				break;
		}
		r = mwrite(e, VM_REG_ES, rdi & am, size, val);
		if (r)
			break;
		rdi = merge(rdi, rdi + step, as);
		if (v->op == VIE_OP_MOVS)
			rsi = merge(rsi, rsi + step, as);
		if (rep)
			rcx = merge(rcx, rcx - 1, as);
	}
	if (n) {
		set(e, VM_REG_RDI, rdi);
		if (v->op == VIE_OP_MOVS)
			set(e, VM_REG_RSI, rsi);
		if (rep)
			set(e, VM_REG_RCX, rcx);
	}
	if (r)
		return r;
	if (rep && (rcx & am))
		return VIE_RESTART;
	return done(e);
}

int vie_emulate(const struct vie *v, const struct vie_ops *ops, void *ctx, struct vie_exc *exc)
{
	struct emu e = { v, ops, ctx, exc };
	const unsigned size = v->opsize;
	uint64_t a, b, res, rflags, off;
	int r;

	*exc = (struct vie_exc){ 0 };
	if (v->op == VIE_OP_NONE || v->len == 0)
		return VIE_UNSUPPORTED;

	switch (v->op) {
	case VIE_OP_MOV:
		off = ea(&e);
		if (v->form == VIE_FORM_REG_MEM) {
			r = mread(&e, v->seg, off, size, false, &a);
			if (r)
				return r;
			write_gpr(&e, v->reg, v->reg_high8, size, a);
		} else {
			a = v->form == VIE_FORM_MEM_IMM ? (uint64_t)v->imm
							: read_gpr(&e, v->reg, v->reg_high8, size);
			r = mwrite(&e, v->seg, off, size, a);
			if (r)
				return r;
		}
		return done(&e);

	case VIE_OP_MOVZX:
	case VIE_OP_MOVSX:
		off = ea(&e);
		r = mread(&e, v->seg, off, v->memsize, false, &a);
		if (r)
			return r;
		if (v->op == VIE_OP_MOVSX)
			a = sext(a, v->memsize);
		write_gpr(&e, v->reg, v->reg_high8, size, a);
		return done(&e);

	case VIE_OP_ADD:
	case VIE_OP_OR:
	case VIE_OP_ADC:
	case VIE_OP_SBB:
	case VIE_OP_AND:
	case VIE_OP_SUB:
	case VIE_OP_XOR:
	case VIE_OP_CMP:
	case VIE_OP_TEST:
		off = ea(&e);
		r = mread(&e, v->seg, off, size, v->rmw, &b);
		if (r)
			return r;
		rflags = get(&e, VM_REG_RFLAGS);
		if (v->form == VIE_FORM_REG_MEM) {
			a = read_gpr(&e, v->reg, v->reg_high8, size);
			res = alu(v->op, size, a, b, &rflags);
			if (v->op != VIE_OP_CMP)
				write_gpr(&e, v->reg, v->reg_high8, size, res);
		} else {
			a = b;
			b = v->form == VIE_FORM_MEM_IMM ? (uint64_t)v->imm
							: read_gpr(&e, v->reg, v->reg_high8, size);
			res = alu(v->op, size, a, b, &rflags);
			if (v->op != VIE_OP_CMP && v->op != VIE_OP_TEST) {
				r = mwrite(&e, v->seg, off, size, res);
				if (r)
					return r;
			}
		}
		set(&e, VM_REG_RFLAGS, rflags);
		return done(&e);

	case VIE_OP_BT: {
		const unsigned bits = 8 * size;
		uint64_t bit;

		off = ea(&e);
		if (v->form == VIE_FORM_MEM_IMM) {
			bit = (uint64_t)v->imm & (bits - 1);
		} else {
			/* a register bit offset is signed and may select another operand-sized
			 * unit: offset + (bitoff >> log2(bits)) * size */
			int64_t bo = (int64_t)sext(read_gpr(&e, v->reg, false, size), size);
			int64_t unit = bo >= 0 ? bo / (int64_t)bits : -((-(bo + 1)) / (int64_t)bits) - 1;

			bit = (uint64_t)bo & (bits - 1);
			off = (off + (uint64_t)unit * size) & mask_of(v->addrsize);
		}
		r = mread(&e, v->seg, off, size, false, &a);
		if (r)
			return r;
		rflags = get(&e, VM_REG_RFLAGS);
		rflags = (rflags & ~RFLAGS_CF) | ((a >> bit) & 1);
		set(&e, VM_REG_RFLAGS, rflags);
		return done(&e);
	}

	case VIE_OP_XCHG:
		off = ea(&e);
		r = mread(&e, v->seg, off, size, true, &a);
		if (r)
			return r;
		r = mwrite(&e, v->seg, off, size, read_gpr(&e, v->reg, v->reg_high8, size));
		if (r)
			return r;
		write_gpr(&e, v->reg, v->reg_high8, size, a);
		return done(&e);

	case VIE_OP_STOS:
	case VIE_OP_MOVS:
		return emulate_string(&e);

	case VIE_OP_PUSH: {
		const unsigned ss = stack_size(&e);
		uint64_t rsp = get(&e, VM_REG_RSP), sp;

		off = ea_rsp(&e, rsp); /* address computed before RSP moves */
		r = mread(&e, v->seg, off, size, false, &a);
		if (r)
			return r;
		sp = (rsp - size) & mask_of(ss);
		r = mwrite(&e, VM_REG_SS, sp, size, a);
		if (r)
			return r;
		set(&e, VM_REG_RSP, merge(rsp, sp, ss));
		return done(&e);
	}

	case VIE_OP_POP: {
		const unsigned ss = stack_size(&e);
		uint64_t rsp = get(&e, VM_REG_RSP), nrsp;

		r = mread(&e, VM_REG_SS, rsp & mask_of(ss), size, false, &a);
		if (r)
			return r;
		nrsp = merge(rsp, rsp + size, ss);
		off = ea_rsp(&e, nrsp); /* an RSP base sees the value after the pop */
		r = mwrite(&e, v->seg, off, size, a);
		if (r)
			return r;
		set(&e, VM_REG_RSP, nrsp);
		return done(&e);
	}
	}
	return VIE_UNSUPPORTED;
}
