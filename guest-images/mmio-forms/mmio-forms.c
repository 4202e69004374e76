/* Every instruction form hv's MMIO emulator decodes (include/hv/vie.h), executed on device registers
 * as a guest would: the local APIC's TPR (an 8-bit read/write register), timer initial count (32-bit
 * read/write, its LVT masked), ID and version (read-only) and spurious-vector register, and the
 * I/O APIC's 8-bit IOREGSEL for byte and word forms (sub-dword LAPIC accesses are model-specific;
 * IOREGSEL takes any width on every IOAPIC model and emulator). Each form also runs on a RAM cell
 * holding the same value: the register result, the defined flags and the value left in the
 * register must match what the CPU did in RAM. The table runs in protected mode without paging,
 * with 32-bit paging (identity), through a 4 MiB alias mapping at another linear address, and with
 * PAE paging; a read-only mapping must give #PF (write, RMW) without touching the register. A set of
 * REX, MOVSXD, SIB, 32-bit address-size and string forms runs in 64-bit mode (mmio64.S). */
#include "cpu.h"
#include "guest.h"
#include "ioapic.h"
#include "lapic.h"
#include "long_mode.h"
#include "paging.h"
#include "pic.h"
#include "trap.h"

const char guest_name[] = "mmio-forms";

#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_OF 0x800u
#define FL_ALL (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define FL_LOGIC (FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF) /* AF is undefined after AND/OR/XOR/TEST */
#define FL_BT FL_CF				 /* the others are undefined after BT */
#define FLAGS_IN 0x0c6u				 /* ZF SF PF set, CF clear: MOVs must keep them */
#define FLAGS_IN_CF 0x0c7u

/* Where the registers are in the current address space (identity or alias). */
static uint32_t lapic_va, ioapic_va;

struct io {
	uint32_t reg, flags;
};
typedef void (*form_fn)(uint32_t p, struct io *io);

#define FORM(name, insn)                                                                                     \
	static void name(uint32_t p, struct io *io)                                                          \
	{                                                                                                    \
		uint32_t r = io->reg, f = io->flags;                                                         \
		__asm__ volatile("pushl %[f]\n\tpopfl\n\t" insn "\n\tpushfl\n\tpopl %[f]"                     \
				 : [r] "+q"(r), [f] "+r"(f)                                                  \
				 : [m] "r"(p)                                                                \
				 : "memory", "cc");                                                          \
		io->reg = r;                                                                                 \
		io->flags = f;                                                                               \
	}

/* 32-bit forms. */
FORM(mov_store, "movl %[r], (%[m])")			 /* 89 */
FORM(mov_load, "movl (%[m]), %[r]")			 /* 8B */
FORM(mov_imm, "movl $0x5a, (%[m])")			 /* C7 /0 */
FORM(mov_load_disp8, "movl 0x10(%[m]), %[r]")		 /* 8B /r mod 01 (p = reg - 0x10) */
FORM(mov_store_sib, "movl %[r], 0x8(%[m],%[m],1)")	 /* 89 /r SIB, disp8 (p = (reg - 8) / 2) */
FORM(mov_load_es, "movl %%es:(%[m]), %[r]")		 /* 26 8B */
FORM(mov_load_ds, "movl %%ds:(%[m]), %[r]")		 /* 3E 8B */
FORM(or_imm8, "orl $0x0f, (%[m])")			 /* 83 /1 */
FORM(and_imm32, "andl $0xfffff0f0, (%[m])")		 /* 81 /4 */
FORM(xor_store, "xorl %[r], (%[m])")			 /* 31 */
FORM(add_imm8, "addl $0x10, (%[m])")			 /* 83 /0 */
FORM(add_imm32, "addl $0x7fffffff, (%[m])")		 /* 81 /0 */
FORM(sub_store, "subl %[r], (%[m])")			 /* 29 */
FORM(sub_imm8, "subl $1, (%[m])")			 /* 83 /5 */
FORM(adc_imm8, "adcl $1, (%[m])")			 /* 83 /2 */
FORM(sbb_store, "sbbl %[r], (%[m])")			 /* 19 */
FORM(add_load, "addl (%[m]), %[r]")			 /* 03 */
FORM(or_load, "orl (%[m]), %[r]")			 /* 0B */
FORM(and_load, "andl (%[m]), %[r]")			 /* 23 */
FORM(sub_load, "subl (%[m]), %[r]")			 /* 2B */
FORM(xor_load, "xorl (%[m]), %[r]")			 /* 33 */
FORM(adc_load, "adcl (%[m]), %[r]")			 /* 13 */
FORM(cmp_load, "cmpl (%[m]), %[r]")			 /* 3B */
FORM(cmp_store, "cmpl %[r], (%[m])")			 /* 39 */
FORM(cmp_imm8, "cmpl $0x30, (%[m])")			 /* 83 /7 */
FORM(cmp_imm32, "cmpl $0x12345678, (%[m])")		 /* 81 /7 */
FORM(test_reg, "testl %[r], (%[m])")			 /* 85 */
FORM(test_imm, "testl $0x80, (%[m])")			 /* F7 /0 */
FORM(bt_imm, "btl $5, (%[m])")				 /* 0F BA /4 */
FORM(bt_imm31, "btl $31, (%[m])")			 /* 0F BA /4 */
FORM(bt_reg, "btl %[r], (%[m])")			 /* 0F A3 */
FORM(xchg_reg, "xchgl %[r], (%[m])")			 /* 87 */
FORM(lock_or, "lock orl $0x100, (%[m])")		 /* F0 83 /1 */
FORM(lock_add, "lock addl %[r], (%[m])")		 /* F0 01 */
FORM(lock_xchg, "lock xchgl %[r], (%[m])")		 /* F0 87 */
FORM(push_mem, "pushl (%[m])\n\tpopl %[r]")		 /* FF /6 */
FORM(pop_mem, "pushl %[r]\n\tpopl (%[m])")		 /* 8F /0 */
FORM(push_mem_disp, "pushl 0x10(%[m])\n\tpopl %[r]")	 /* FF /6 mod 01 */

/* Byte and word forms (IOREGSEL). */
FORM(movb_store, "movb %b[r], (%[m])")			 /* 88 */
FORM(movb_load, "movb (%[m]), %b[r]")			 /* 8A */
FORM(movb_imm, "movb $0x81, (%[m])")			 /* C6 /0 */
FORM(movw_imm, "movw $0x1234, (%[m])")			 /* 66 C7 /0 */
FORM(movw_store, "movw %w[r], (%[m])")			 /* 66 89 */
FORM(movzb, "movzbl (%[m]), %[r]")			 /* 0F B6 */
FORM(movsb_, "movsbl (%[m]), %[r]")			 /* 0F BE */
FORM(movzw, "movzwl (%[m]), %[r]")			 /* 0F B7 */
FORM(movsw_, "movswl (%[m]), %[r]")			 /* 0F BF */
FORM(movsbw, "movsbw (%[m]), %w[r]")			 /* 66 0F BE */
FORM(orb_imm, "orb $0x0f, (%[m])")			 /* 80 /1 */
FORM(andb_imm, "andb $0xf0, (%[m])")			 /* 80 /4 */
FORM(xorb_store, "xorb %b[r], (%[m])")			 /* 30 */
FORM(addb_load, "addb (%[m]), %b[r]")			 /* 02 */
FORM(addb_imm, "addb $0x90, (%[m])")			 /* 80 /0 */
FORM(subb_store, "subb %b[r], (%[m])")			 /* 28 */
FORM(sbbb_imm, "sbbb $0x10, (%[m])")			 /* 80 /3 */
FORM(cmpb_imm, "cmpb $0x40, (%[m])")			 /* 80 /7 */
FORM(cmpb_load, "cmpb (%[m]), %b[r]")			 /* 3A */
FORM(testb_imm, "testb $0x80, (%[m])")			 /* F6 /0 */
FORM(testb_reg, "testb %b[r], (%[m])")			 /* 84 */
FORM(xchgb, "xchgb %b[r], (%[m])")			 /* 86 */
FORM(btw_imm, "btw $1, (%[m])")				 /* 66 0F BA /4 */

enum target { TPR, TIMER, VERSION, ID, SVR, REGSEL };

static const char *const target_names[] = { "TPR", "timer initial count", "APIC version", "APIC ID", "SVR",
					     "IOREGSEL" };

static uint32_t target_addr(enum target t)
{
	switch (t) {
	case TPR:
		return lapic_va + LAPIC_TPR;
	case TIMER:
		return lapic_va + LAPIC_TIMER_INITIAL;
	case VERSION:
		return lapic_va + LAPIC_VERSION;
	case ID:
		return lapic_va + LAPIC_ID;
	case SVR:
		return lapic_va + LAPIC_SVR;
	default:
		return ioapic_va + IOAPIC_IOREGSEL;
	}
}

static bool read_only(enum target t) { return t == VERSION || t == ID; }

static uint32_t target_read(enum target t)
{
	uint32_t a = target_addr(t);

	return t == REGSEL ? *(volatile uint8_t *)a : *(volatile uint32_t *)a;
}

static void target_write(enum target t, uint32_t v)
{
	uint32_t a = target_addr(t);

	if (t == REGSEL)
		*(volatile uint8_t *)a = (uint8_t)v;
	else
		*(volatile uint32_t *)a = v;
}

struct form {
	const char *name;
	form_fn fn;
	enum target target;
	uint32_t init, reg, flags_in, flag_mask;
	int32_t offset; /* the pointer handed to the form: register address + offset (addressing tests) */
};

#define F(fn, t, init, reg, fl, mask) { #fn, fn, t, init, reg, fl, mask, 0 }
static const struct form forms[] = {
	F(mov_store, TPR, 0x20, 0x40, FLAGS_IN, FL_ALL),
	F(mov_load, TPR, 0x31, 0, FLAGS_IN, FL_ALL),
	F(mov_imm, TPR, 0x10, 0, FLAGS_IN, FL_ALL),
	{ "mov_load_disp8", mov_load_disp8, TPR, 0x42, 0, FLAGS_IN, FL_ALL, -0x10 },
	F(mov_load_es, TPR, 0x43, 0, FLAGS_IN, FL_ALL),
	F(mov_load_ds, VERSION, 0, 0, FLAGS_IN, FL_ALL),
	F(or_imm8, TPR, 0x30, 0, FLAGS_IN, FL_LOGIC),
	F(and_imm32, TPR, 0x3c, 0, FLAGS_IN, FL_LOGIC),
	F(xor_store, TPR, 0xa5, 0x5a, FLAGS_IN, FL_LOGIC),
	F(xor_store, TPR, 0x77, 0x77, FLAGS_IN, FL_LOGIC),
	F(add_imm8, TPR, 0x40, 0, FLAGS_IN, FL_ALL),
	F(add_imm8, TPR, 0xef, 0, FLAGS_IN, FL_ALL),
	F(sub_store, TPR, 0x50, 0x20, FLAGS_IN, FL_ALL),
	F(sub_store, TPR, 0x50, 0x50, FLAGS_IN, FL_ALL),
	F(adc_imm8, TPR, 0x40, 0, FLAGS_IN_CF, FL_ALL),
	F(sbb_store, TPR, 0x40, 0x10, FLAGS_IN_CF, FL_ALL),
	F(add_load, TPR, 0x20, 0x7fffffe0, FLAGS_IN, FL_ALL),
	F(or_load, TPR, 0x21, 0x100, FLAGS_IN, FL_LOGIC),
	F(and_load, TPR, 0x21, 0xfe, FLAGS_IN, FL_LOGIC),
	F(sub_load, TPR, 0x21, 0x20, FLAGS_IN, FL_ALL),
	F(xor_load, TPR, 0x21, 0x21, FLAGS_IN, FL_LOGIC),
	F(adc_load, TPR, 0x21, 0xffffffde, FLAGS_IN_CF, FL_ALL),
	F(cmp_load, TPR, 0x40, 0x30, FLAGS_IN, FL_ALL),
	F(cmp_load, TPR, 0x40, 0x40, FLAGS_IN, FL_ALL),
	F(cmp_store, TPR, 0x40, 0x41, FLAGS_IN, FL_ALL),
	F(cmp_imm8, TPR, 0x20, 0, FLAGS_IN, FL_ALL),
	F(cmp_imm8, TPR, 0x30, 0, FLAGS_IN, FL_ALL),
	F(test_reg, TPR, 0x81, 0x80, FLAGS_IN, FL_LOGIC),
	F(test_reg, TPR, 0x81, 0x40, FLAGS_IN, FL_LOGIC),
	F(test_imm, TPR, 0x80, 0, FLAGS_IN, FL_LOGIC),
	F(bt_imm, TPR, 0x20, 0, FLAGS_IN, FL_BT),
	F(bt_imm, TPR, 0x10, 0, FLAGS_IN_CF, FL_BT),
	F(bt_reg, TPR, 0x08, 3, FLAGS_IN, FL_BT),
	F(xchg_reg, TPR, 0x66, 0x99, FLAGS_IN, FL_ALL),
	F(lock_xchg, TPR, 0x12, 0x34, FLAGS_IN, FL_ALL),
	F(push_mem, TPR, 0x7e, 0, FLAGS_IN, FL_ALL),
	F(pop_mem, TPR, 0x11, 0x3c, FLAGS_IN, FL_ALL),
	/* Full 32-bit values: the timer's initial count. */
	F(mov_store, TIMER, 0, 0x89abcdef, FLAGS_IN, FL_ALL),
	F(mov_load, TIMER, 0x12345678, 0, FLAGS_IN, FL_ALL),
	F(add_imm8, TIMER, 0xfffffff0, 0, FLAGS_IN, FL_ALL),
	F(add_imm32, TIMER, 0x00000001, 0, FLAGS_IN, FL_ALL),
	F(sub_imm8, TIMER, 0, 0, FLAGS_IN, FL_ALL),
	F(sub_imm8, TIMER, 0x80000000, 0, FLAGS_IN, FL_ALL),
	F(adc_imm8, TIMER, 0xfffffffe, 0, FLAGS_IN_CF, FL_ALL),
	F(sbb_store, TIMER, 0x10, 0x10, FLAGS_IN_CF, FL_ALL),
	F(and_imm32, TIMER, 0xffffffff, 0, FLAGS_IN, FL_LOGIC),
	F(cmp_imm32, TIMER, 0x12345678, 0, FLAGS_IN, FL_ALL),
	F(cmp_imm32, TIMER, 0x02345678, 0, FLAGS_IN, FL_ALL),
	F(cmp_imm32, TIMER, 0x92345678, 0, FLAGS_IN, FL_ALL),
	F(bt_imm31, TIMER, 0x80000000, 0, FLAGS_IN, FL_BT),
	F(bt_reg, TIMER, 0x40000000, 30, FLAGS_IN, FL_BT),
	F(xchg_reg, TIMER, 0xcafebabe, 0x0badf00d, FLAGS_IN, FL_ALL),
	F(lock_or, TIMER, 0x0000f000, 0, FLAGS_IN, FL_LOGIC),
	F(lock_add, TIMER, 0x7fffffff, 1, FLAGS_IN, FL_ALL),
	F(push_mem, TIMER, 0xfeedface, 0, FLAGS_IN, FL_ALL),
	F(pop_mem, TIMER, 0, 0xdeadbeef, FLAGS_IN, FL_ALL),
	{ "push_mem_disp", push_mem_disp, TIMER, 0x01020304, 0, FLAGS_IN, FL_ALL, -0x10 },
	{ "mov_store_sib", mov_store_sib, TIMER, 0, 0x55aa55aa, FLAGS_IN, FL_ALL, 0 },
	/* Read-only registers. */
	F(mov_load, VERSION, 0, 0, FLAGS_IN, FL_ALL),
	F(cmp_load, VERSION, 0, 0x10, FLAGS_IN, FL_ALL),
	F(test_imm, VERSION, 0, 0, FLAGS_IN, FL_LOGIC),
	F(bt_imm, VERSION, 0, 0, FLAGS_IN, FL_BT),
	F(push_mem, ID, 0, 0, FLAGS_IN, FL_ALL),
	F(cmp_imm8, ID, 0, 0, FLAGS_IN, FL_ALL),
	F(or_load, ID, 0, 0x1, FLAGS_IN, FL_LOGIC),
	/* SVR keeps the APIC enabled (bit 8) in every value written. */
	F(mov_store, SVR, 0x1ff, 0x1f0, FLAGS_IN, FL_ALL),
	F(and_imm32, SVR, 0x1ff, 0, FLAGS_IN, FL_LOGIC),
	F(xchg_reg, SVR, 0x1ff, 0x1fe, FLAGS_IN, FL_ALL),
	/* Bytes and words. */
	F(movb_store, REGSEL, 0x10, 0x3c, FLAGS_IN, FL_ALL),
	F(movb_load, REGSEL, 0x3d, 0xffffff00, FLAGS_IN, FL_ALL),
	F(movb_imm, REGSEL, 0x10, 0, FLAGS_IN, FL_ALL),
	F(movw_imm, REGSEL, 0x10, 0, FLAGS_IN, FL_ALL),
	F(movw_store, REGSEL, 0x10, 0xbeef, FLAGS_IN, FL_ALL),
	F(movzb, REGSEL, 0x81, 0xffffffff, FLAGS_IN, FL_ALL),
	F(movsb_, REGSEL, 0x81, 0, FLAGS_IN, FL_ALL),
	F(movsb_, REGSEL, 0x71, 0, FLAGS_IN, FL_ALL),
	F(movzw, REGSEL, 0x92, 0xffffffff, FLAGS_IN, FL_ALL),
	F(movsw_, REGSEL, 0x92, 0, FLAGS_IN, FL_ALL),
	F(movsbw, REGSEL, 0x92, 0x12345678, FLAGS_IN, FL_ALL),
	F(orb_imm, REGSEL, 0x30, 0, FLAGS_IN, FL_LOGIC),
	F(andb_imm, REGSEL, 0x3c, 0, FLAGS_IN, FL_LOGIC),
	F(xorb_store, REGSEL, 0xa5, 0xa5, FLAGS_IN, FL_LOGIC),
	F(addb_load, REGSEL, 0x70, 0x10, FLAGS_IN, FL_ALL),
	F(addb_imm, REGSEL, 0x90, 0, FLAGS_IN, FL_ALL),
	F(subb_store, REGSEL, 0x10, 0x20, FLAGS_IN, FL_ALL),
	F(sbbb_imm, REGSEL, 0x10, 0, FLAGS_IN_CF, FL_ALL),
	F(cmpb_imm, REGSEL, 0x40, 0, FLAGS_IN, FL_ALL),
	F(cmpb_imm, REGSEL, 0x3f, 0, FLAGS_IN, FL_ALL),
	F(cmpb_load, REGSEL, 0x80, 0x7f, FLAGS_IN, FL_ALL),
	F(testb_imm, REGSEL, 0x80, 0, FLAGS_IN, FL_LOGIC),
	F(testb_reg, REGSEL, 0x0f, 0xf0, FLAGS_IN, FL_LOGIC),
	F(xchgb, REGSEL, 0x11, 0x22, FLAGS_IN, FL_ALL),
	F(btw_imm, REGSEL, 0x02, 0, FLAGS_IN, FL_BT),
};

static volatile uint32_t ram_cell[2];

/* Runs a form on the device register and on RAM and compares. */
static void run_form(const char *mode, const struct form *f)
{
	uint32_t addr = target_addr(f->target);
	uint32_t init = f->init;

	if (read_only(f->target))
		init = target_read(f->target);
	else
		target_write(f->target, init);
	ram_cell[0] = init;
	ram_cell[1] = 0;
	uint32_t mmio_p = addr + f->offset, ram_p = (uint32_t)&ram_cell[0] + f->offset;
	if (f->fn == mov_store_sib) { /* base = index = p: address = 2p + 8 */
		mmio_p = (addr - 8) / 2;
		ram_p = ((uint32_t)&ram_cell[0] - 8) / 2;
		if (((addr - 8) & 1) || (((uint32_t)&ram_cell[0] - 8) & 1))
			fail("sib test misaligned");
	}
	struct io dev = { f->reg, f->flags_in }, ram = { f->reg, f->flags_in };
	f->fn(mmio_p, &dev);
	f->fn(ram_p, &ram);
	uint32_t dev_after = target_read(f->target), ram_after = ram_cell[0];
	if (f->target == REGSEL)
		ram_after &= 0xff; /* the register is 8 bits: wider writes keep their low byte */
	else if (f->target == TPR)
		ram_after &= 0xff;
	else if (read_only(f->target))
		ram_after = init;

	check(dev.reg == ram.reg, "%s: %s on %s: register %x, in RAM %x", mode, f->name, target_names[f->target], dev.reg,
	      ram.reg);
	check((dev.flags & f->flag_mask) == (ram.flags & f->flag_mask), "%s: %s on %s: flags %x, in RAM %x (mask %x)",
	      mode, f->name, target_names[f->target], dev.flags & FL_ALL, ram.flags & FL_ALL, f->flag_mask);
	check(dev_after == ram_after, "%s: %s on %s: register left %x, in RAM %x", mode, f->name,
	      target_names[f->target], dev_after, ram_after);
}

/* Forms with implicit operands: STOS, MOVS and the moffs MOVs (eax/al and an absolute address). */
static void check_strings(const char *mode)
{
	uint32_t timer = lapic_va + LAPIC_TIMER_INITIAL, regsel = ioapic_va + IOAPIC_IOREGSEL;
	uint32_t di, si, cx;
	static volatile uint32_t src = 0x13572468, dst;
	static volatile uint8_t src8 = 0x5c, dst8;

	*(volatile uint32_t *)timer = 0;
	di = timer;
	cx = 1;
	__asm__ volatile("rep stosl" : "+D"(di), "+c"(cx) : "a"(0xa1b2c3d4u) : "memory");
	check(*(volatile uint32_t *)timer == 0xa1b2c3d4u && di == timer + 4 && cx == 0,
	      "%s: rep stosl of one dword: register %x, edi +%d, ecx %u", mode, *(volatile uint32_t *)timer, di - timer, cx);
	di = timer;
	__asm__ volatile("std\n\tstosl\n\tcld" : "+D"(di) : "a"(0x11223344u) : "memory", "cc");
	check(*(volatile uint32_t *)timer == 0x11223344u && di == timer - 4, "%s: stosl with DF=1: register %x, edi %d",
	      mode, *(volatile uint32_t *)timer, di - timer);
	di = timer;
	cx = 0;
	__asm__ volatile("rep stosl" : "+D"(di), "+c"(cx) : "a"(0u) : "memory");
	check(*(volatile uint32_t *)timer == 0x11223344u && di == timer, "%s: rep stosl with ecx 0 stored", mode);
	di = regsel;
	__asm__ volatile("stosb" : "+D"(di) : "a"(0x2bu) : "memory");
	check(*(volatile uint8_t *)regsel == 0x2b && di == regsel + 1, "%s: stosb: IOREGSEL %x", mode,
	      *(volatile uint8_t *)regsel);

	/* MOVS RAM -> MMIO and MMIO -> RAM. */
	si = (uint32_t)&src;
	di = timer;
	__asm__ volatile("movsl" : "+S"(si), "+D"(di)::"memory");
	check(*(volatile uint32_t *)timer == src && si == (uint32_t)&src + 4 && di == timer + 4,
	      "%s: movsl RAM to MMIO: register %x", mode, *(volatile uint32_t *)timer);
	*(volatile uint32_t *)timer = 0x600df00d;
	si = timer;
	di = (uint32_t)&dst;
	cx = 1;
	__asm__ volatile("rep movsl" : "+S"(si), "+D"(di), "+c"(cx)::"memory");
	check(dst == 0x600df00d && si == timer + 4 && di == (uint32_t)&dst + 4 && cx == 0,
	      "%s: rep movsl MMIO to RAM: %x", mode, dst);
	si = (uint32_t)&src8;
	di = regsel;
	__asm__ volatile("movsb" : "+S"(si), "+D"(di)::"memory");
	check(*(volatile uint8_t *)regsel == 0x5c, "%s: movsb RAM to IOREGSEL: %x", mode, *(volatile uint8_t *)regsel);
	si = regsel;
	di = (uint32_t)&dst8;
	__asm__ volatile("std\n\tmovsb\n\tcld" : "+S"(si), "+D"(di)::"memory", "cc");
	check(dst8 == 0x5c && si == regsel - 1 && di == (uint32_t)&dst8 - 1, "%s: movsb IOREGSEL to RAM with DF=1: %x",
	      mode, dst8);

	/* MMIO -> MMIO: the version register into the timer count. */
	si = lapic_va + LAPIC_VERSION;
	di = timer;
	__asm__ volatile("movsl" : "+S"(si), "+D"(di)::"memory");
	check(*(volatile uint32_t *)timer == *(volatile uint32_t *)(lapic_va + LAPIC_VERSION),
	      "%s: movsl LAPIC version to timer count: %x", mode, *(volatile uint32_t *)timer);

	/* Several elements over one register slot: every dword of it gets the same value. */
	di = timer;
	cx = 4;
	__asm__ volatile("rep stosl" : "+D"(di), "+c"(cx) : "a"(0x0f1e2d3cu) : "memory");
	check(*(volatile uint32_t *)timer == 0x0f1e2d3cu && di == timer + 16 && cx == 0,
	      "%s: rep stosl of 4 dwords: register %x, edi +%d, ecx %u", mode, *(volatile uint32_t *)timer, di - timer,
	      cx);
}

/* The moffs forms take a constant address: one copy per mapping. */
#define MOFFS_CHECK(mode, base_lapic, base_ioapic)                                                           \
	do {                                                                                                 \
		uint32_t a;                                                                                  \
		uint8_t b;                                                                                   \
		__asm__ volatile("movl %0, %c1" ::"a"(0x6du), "i"((base_lapic) + LAPIC_TPR) : "memory");      \
		__asm__ volatile("movl %c1, %0" : "=a"(a) : "i"((base_lapic) + LAPIC_TPR) : "memory");        \
		check(a == 0x6d, "%s: moffs mov (A1/A3) with TPR: %x", mode, a);                             \
		__asm__ volatile("movb %b0, %c1" ::"a"(0x4eu), "i"((base_ioapic) + IOAPIC_IOREGSEL) : "memory"); \
		__asm__ volatile("movb %c1, %0" : "=a"(b) : "i"((base_ioapic) + IOAPIC_IOREGSEL) : "memory"); \
		check(b == 0x4e, "%s: moffs movb (A0/A2) with IOREGSEL: %x", mode, b);                       \
	} while (0)

static void run_table(const char *mode)
{
	for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		run_form(mode, &forms[i]);
	check_strings(mode);
	*lapic_mmio(LAPIC_TPR) = 0;
	*lapic_mmio(LAPIC_SVR) = LAPIC_SVR_ENABLE | 0xff;
	*lapic_mmio(LAPIC_TIMER_INITIAL) = 0;
	printf("mmio-forms: %s: %u forms and the string forms match RAM\n", mode,
	       (unsigned)(sizeof(forms) / sizeof(forms[0])));
}

/* 4 MiB page holding the IOAPIC (0xfec00000) and the LAPIC (0xfee00000). */
#define DEVICE_4M 0xfec00000u
#define ALIAS_4M 0x80000000u
#define RO_ALIAS_4M 0x80400000u

static void check_read_only_mapping(const char *mode)
{
	struct trap_record rec;
	uint32_t tpr = lapic_va - ALIAS_4M + RO_ALIAS_4M + LAPIC_TPR, v;

	*lapic_mmio(LAPIC_TPR) = 0x20;
	__asm__ volatile(TRAPPABLE("movl %1, (%0)")::"r"(tpr), "r"(0x70u) : "memory");
	check(trap_end(&rec) == VEC_PF && rec.error_code == (PF_P | PF_W) && rec.cr2 == tpr,
	      "%s: MMIO write through a read-only mapping: vector %d error %x cr2 %x", mode, rec.vector, rec.error_code,
	      rec.cr2);
	__asm__ volatile(TRAPPABLE("orl $0x40, (%0)")::"r"(tpr) : "memory", "cc");
	check(trap_end(&rec) == VEC_PF && rec.error_code == (PF_P | PF_W) && rec.cr2 == tpr,
	      "%s: MMIO read-modify-write through a read-only mapping: vector %d error %x cr2 %x", mode, rec.vector,
	      rec.error_code, rec.cr2);
	__asm__ volatile(TRAPPABLE("movl (%1), %0") : "=r"(v) : "r"(tpr) : "memory");
	check(trap_end(0) == TRAP_NONE && v == 0x20, "%s: MMIO read through a read-only mapping: %x", mode, v);
	check(*lapic_mmio(LAPIC_TPR) == 0x20, "%s: TPR %x after faulting writes", mode, *lapic_mmio(LAPIC_TPR));
	*lapic_mmio(LAPIC_TPR) = 0;
}

/* An MMIO instruction whose bytes straddle two 4 KiB pages mapped to non-adjacent frames: the
 * emulator must fetch the second part through the guest page tables. */
#define SPLIT_LINEAR 0x40000000u
static uint8_t frames[3][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint32_t split_pt[1024] __attribute__((aligned(PAGE_SIZE)));

static void map_split_pages(struct paging32 *t)
{
	/* Linear page 0 -> frames[2], page 1 -> frames[0]. */
	split_pt[0] = (uint32_t)frames[2] | PTE_RW | PTE_P;
	split_pt[1] = (uint32_t)frames[0] | PTE_RW | PTE_P;
	t->pd[SPLIT_LINEAR >> 22] = (uint32_t)split_pt | PTE_RW | PTE_P;
}

/* Copies code so that it starts `before` bytes ahead of the page boundary, and runs it. */
static uint32_t run_split(const uint8_t *code, unsigned len, unsigned before)
{
	for (unsigned i = 0; i < len; i++) {
		uint32_t off = PAGE_SIZE - before + i;
		if (off < PAGE_SIZE)
			frames[2][off] = code[i];
		else
			frames[0][off - PAGE_SIZE] = code[i];
	}
	uint32_t (*fn)(void) = (uint32_t(*)(void))(SPLIT_LINEAR + PAGE_SIZE - before);
	return fn();
}

static void check_split_fetch(void)
{
	static const uint8_t load[] = { 0xa1, 0x80, 0x00, 0xe0, 0xfe, 0xc3 }; /* mov 0xfee00080, %eax; ret */
	static const uint8_t store[] = { 0xc7, 0x05, 0x80, 0x00, 0xe0, 0xfe, 0x55, 0x00, 0x00, 0x00, /* movl $0x55 */
					 0x31, 0xc0, 0xc3 };			     /* xor %eax, %eax; ret */

	for (unsigned before = 1; before < sizeof(load); before++) {
		*lapic_mmio(LAPIC_TPR) = 0x30 + before;
		uint32_t v = run_split(load, sizeof(load), before);
		check(v == 0x30 + before, "moffs load split %u/%u across non-adjacent pages read %x", before,
		      (unsigned)sizeof(load) - before, v);
	}
	for (unsigned before = 1; before < 10; before++) {
		*lapic_mmio(LAPIC_TPR) = 0;
		run_split(store, sizeof(store), before);
		check(*lapic_mmio(LAPIC_TPR) == 0x55, "movl $imm split %u/%u across non-adjacent pages left TPR %x",
		      before, (unsigned)sizeof(store) - before, *lapic_mmio(LAPIC_TPR));
	}
	*lapic_mmio(LAPIC_TPR) = 0;
	printf("mmio-forms: instructions split across non-adjacent pages work\n");
}

static void check_paging32(void)
{
	static struct paging32 t;
	uint32_t cr3 = paging32_identity(&t);

	t.pd[ALIAS_4M >> 22] = DEVICE_4M | PTE_PS | PTE_RW | PTE_P;
	t.pd[RO_ALIAS_4M >> 22] = DEVICE_4M | PTE_PS | PTE_P;
	map_split_pages(&t);
	paging_enable(cr3, CR4_PSE);
	check_split_fetch();
	write_cr0(read_cr0() | CR0_WP);
	run_table("32-bit paging");
	MOFFS_CHECK("32-bit paging", LAPIC_DEFAULT_BASE, IOAPIC_BASE);
	lapic_va = ALIAS_4M + (LAPIC_DEFAULT_BASE - DEVICE_4M);
	ioapic_va = ALIAS_4M + (IOAPIC_BASE - DEVICE_4M);
	run_table("32-bit paging, alias");
	MOFFS_CHECK("32-bit paging, alias", ALIAS_4M + (LAPIC_DEFAULT_BASE - DEVICE_4M), ALIAS_4M);
	check_read_only_mapping("32-bit paging");
	lapic_va = LAPIC_DEFAULT_BASE;
	ioapic_va = IOAPIC_BASE;
	write_cr0(read_cr0() & ~CR0_WP);
	paging_disable();
}

static void check_pae(void)
{
	static struct paging_pae t;
	uint32_t cr3 = paging_pae_identity(&t);

	/* 2 MiB pages: the alias at 0x80000000 maps the LAPIC's 2 MiB page (0xfee00000). */
	t.pd[ALIAS_4M >> 30][(ALIAS_4M >> 21) & 511] = LAPIC_DEFAULT_BASE | PTE_PS | PTE_RW | PTE_P;
	t.pd[ALIAS_4M >> 30][((ALIAS_4M >> 21) & 511) + 1] = DEVICE_4M | PTE_PS | PTE_RW | PTE_P;
	paging_enable(cr3, CR4_PAE);
	run_table("PAE paging");
	lapic_va = ALIAS_4M;
	ioapic_va = ALIAS_4M + PAGE_2M;
	run_table("PAE paging, alias");
	lapic_va = LAPIC_DEFAULT_BASE;
	ioapic_va = IOAPIC_BASE;
	paging_disable();
}

/* The 64-bit part (mmio64.S). */
struct results64 {
	uint64_t tpr_read;     /* mov 0x80(%rbx), %r9d after movl $0x11 */
	uint64_t movsxd;       /* movslq of the timer count 0xdeadbeef */
	uint64_t movzb_r11;    /* movzbl (%r8), %r11d, IOREGSEL 0x81 */
	uint64_t movsbq;       /* movsbq (%r8), %rax */
	uint64_t add_flags;    /* rflags after addl $0x10 to TPR 0x11 */
	uint64_t tpr_after_add;
	uint64_t xchg_old;     /* r12d after xchg with the count (was 0x0badcafe) */
	uint64_t count_after_xchg;
	uint64_t stos_rcx, stos_rdi, count_after_stos;
	uint64_t count_after_movs;
	uint64_t bt_flags;     /* after btl $0 of TPR 0x21 */
	uint64_t cmp_flags;    /* after cmpl $0x21 of TPR */
	uint64_t sib_read;     /* movl 0x10(%r13,%r14,8), %r15d */
	uint64_t addr32_read;  /* 67 8B: movl (%ebx), %ecx */
	uint64_t movs_src;     /* in: the dword movsl copies */
};

uint64_t mmio64_forms(uint32_t results);

static void check_long_mode(void)
{
	static struct paging_pae t;
	static struct results64 r;

	r.movs_src = 0x76543210;
	long_mode_enter(paging_4level_identity(&t));
	uint64_t status = call64(mmio64_forms, (uint32_t)&r);
	long_mode_exit();
	check(status == 0x64, "64-bit forms returned %llx", status);
	check(r.tpr_read == 0x11, "64-bit: mov 0x80(%%rbx), %%r9d read %llx", r.tpr_read);
	check(r.movsxd == 0xffffffffdeadbeefull, "64-bit: movslq of the timer count gave %llx", r.movsxd);
	check(r.movzb_r11 == 0x81, "64-bit: movzbl (%%r8), %%r11d gave %llx", r.movzb_r11);
	check(r.movsbq == 0xffffffffffffff81ull, "64-bit: movsbq (%%r8), %%rax gave %llx", r.movsbq);
	check(r.tpr_after_add == 0x21 && (r.add_flags & FL_ALL) == FL_PF, "64-bit: addl $0x10 to TPR: %llx flags %llx",
	      r.tpr_after_add, r.add_flags & FL_ALL);
	check(r.xchg_old == 0xdeadbeef && r.count_after_xchg == 0x0badcafe, "64-bit: xchg gave %llx, left %llx",
	      r.xchg_old, r.count_after_xchg);
	check(r.stos_rcx == 0 && r.stos_rdi == LAPIC_DEFAULT_BASE + LAPIC_TIMER_INITIAL + 4 &&
		      r.count_after_stos == 0x5566aabb,
	      "64-bit: rep stosl rcx %llx rdi %llx count %llx", r.stos_rcx, r.stos_rdi, r.count_after_stos);
	check(r.count_after_movs == 0x76543210, "64-bit: movsl RAM to MMIO left %llx", r.count_after_movs);
	check((r.bt_flags & FL_CF) == FL_CF, "64-bit: btl $0 of TPR 0x21: flags %llx", r.bt_flags);
	check((r.cmp_flags & (FL_ZF | FL_CF)) == FL_ZF, "64-bit: cmpl $0x21 of TPR 0x21: flags %llx", r.cmp_flags);
	check(r.sib_read == 0x21, "64-bit: SIB read of TPR gave %llx", r.sib_read);
	check(r.addr32_read == 0x21, "64-bit: addr32 read of TPR gave %llx", r.addr32_read);
	*lapic_mmio(LAPIC_TPR) = 0;
	*lapic_mmio(LAPIC_TIMER_INITIAL) = 0;
	printf("mmio-forms: 64-bit mode: REX, MOVSXD, SIB, addr32 and string forms work\n");
}

void test_main(void)
{
	pic_init();
	lapic_setup(0xff);
	*lapic_mmio(LAPIC_LVT_TIMER) = LVT_MASKED | 0x40;
	*lapic_mmio(LAPIC_TIMER_DCR) = DCR_DIV1;
	lapic_va = LAPIC_DEFAULT_BASE;
	ioapic_va = IOAPIC_BASE;

	run_table("protected mode");
	MOFFS_CHECK("protected mode", LAPIC_DEFAULT_BASE, IOAPIC_BASE);
	check_paging32();
	check_pae();
	check_long_mode();
	*lapic_mmio(LAPIC_TIMER_INITIAL) = 0;
	check(lapic_esr() == 0, "ESR %x after the accesses", lapic_esr());
}
