/*
 * libFuzzer target for kernel/vmm/gpt.c: random control registers, a random linear address and
 * access kind, and random page-table memory. Guest RAM is a small buffer that every guest-physical
 * address aliases onto (so random entries keep the walk going), except addresses with bit 40 set,
 * which are "not RAM". Besides the sanitizers it checks the walker's contract: result fields,
 * the page offset, no memory written by a failing walk, a repeated walk giving the same answer
 * with nothing left to write, and the copy helpers' byte counts.
 *
 * Input: [ctl 4 bytes] [maxphyaddr] [gla 8] [cr3 8] [pdpte 4 x 8] [memory image...]
 *   ctl bits: 0 PG, 1 WP, 2 PSE, 3 PAE, 4 LA57, 5 SMEP, 6 SMAP, 7 LMA, 8 NXE, 9-10 CPL, 11 AC,
 *   12 PDPTEs cached, 13 write, 14 fetch, 15 implicit, 16 A/D write-back fails (ROM tables)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/gpt.h>

#define CHECK(c)                                                                                       \
	do {                                                                                           \
		if (!(c))                                                                              \
			__builtin_trap();                                                              \
	} while (0)

#define RAM 16384u
#define NOT_RAM (1ull << 40)

struct fz {
	uint8_t ram[RAM];
	bool rom;
	unsigned writes; /* successful writes */
};

static bool f_read(uint64_t gpa, void *buf, uint32_t len, void *ctx)
{
	struct fz *f = ctx;
	uint64_t off = gpa % RAM;

	CHECK(len > 0 && len <= 4096);
	if ((gpa & NOT_RAM) || off + len > RAM)
		return false;
	memcpy(buf, f->ram + off, len);
	return true;
}

static bool f_write(uint64_t gpa, const void *buf, uint32_t len, void *ctx)
{
	struct fz *f = ctx;
	uint64_t off = gpa % RAM;

	CHECK(len > 0 && len <= 4096);
	if ((gpa & NOT_RAM) || off + len > RAM || (f->rom && len == 1))
		return false;
	memcpy(f->ram + off, buf, len);
	f->writes++;
	return true;
}

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

static void check_result(const struct gpt_cpu *c, uint64_t gla, enum gpt_status st, const struct gpt_result *r)
{
	unsigned m = c->maxphyaddr ? c->maxphyaddr : 52;

	if (m < 32)
		m = 32;
	if (m > 52)
		m = 52;
	CHECK(st == r->status);
	switch (st) {
	case GPT_OK:
		CHECK(r->page_size == 0x1000 || r->page_size == 0x200000 || r->page_size == 0x400000 ||
		      r->page_size == 0x40000000);
		CHECK((r->gpa & (r->page_size - 1)) == (gla & (r->page_size - 1)));
		if (!(c->cr0 & (1u << 31)))
			CHECK(r->gpa == (gla & 0xffffffffull));
		else
			CHECK(r->gpa < (1ull << m));
		break;
	case GPT_PF:
		CHECK((r->pf_error & ~0x1fu) == 0);
		CHECK(r->cr2 == r->gla);
		/* RSVD faults are protection faults */
		if (r->pf_error & PF_RSVD)
			CHECK(r->pf_error & PF_P);
		break;
	case GPT_GP:
		CHECK(c->efer & (1u << 10));
		break;
	case GPT_UNREADABLE:
		CHECK(r->gpa & NOT_RAM);
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	const uint8_t *p = data;
	size_t n = size;
	struct gpt_cpu c;
	struct gpt_result r, r2;
	enum gpt_status st, st2;
	uint32_t ctl, acc = 0;
	uint64_t gla;
	unsigned w;
	uint8_t buf[64];

	if (size < 4)
		return 0;
	memset(&c, 0, sizeof(c));
	ctl = (uint32_t)take(&p, &n, 4);
	c.cr0 = 0x11 | ((ctl & 1) ? 1ull << 31 : 0) | ((ctl & 2) ? 1ull << 16 : 0);
	c.cr4 = ((ctl >> 2) & 1ull) << 4 | ((ctl >> 3) & 1ull) << 5 | ((ctl >> 4) & 1ull) << 12 |
		((ctl >> 5) & 1ull) << 20 | ((ctl >> 6) & 1ull) << 21;
	c.efer = ((ctl >> 7) & 1ull) << 10 | ((ctl >> 8) & 1ull) << 11;
	c.cpl = (ctl >> 9) & 3;
	c.ac = (ctl >> 11) & 1;
	c.pdptes_valid = (ctl >> 12) & 1;
	acc = ((ctl >> 13) & 1 ? GPT_WRITE : 0) | ((ctl >> 14) & 1 ? GPT_FETCH : 0) |
	      ((ctl >> 15) & 1 ? GPT_IMPLICIT : 0);
	f.rom = (ctl >> 16) & 1;
	c.maxphyaddr = (uint8_t)take(&p, &n, 1);
	gla = take(&p, &n, 8);
	c.cr3 = take(&p, &n, 8);
	for (int i = 0; i < 4; i++)
		c.pdpte[i] = take(&p, &n, 8);
	/* memory image: the rest of the input, repeated */
	if (!n) {
		memset(f.ram, 0, RAM);
	} else {
		for (size_t i = 0; i < RAM; i += n)
			memcpy(f.ram + i, p, RAM - i < n ? RAM - i : n);
	}
	f.writes = 0;

	memset(&r, 0xee, sizeof(r));
	st = gpt_translate(&c, &(struct gpt_access){ f_read, f_write, &f }, gla, acc, &r);
	check_result(&c, gla, st, &r);
	if (st != GPT_OK)
		CHECK(f.writes == 0); /* a failing walk writes nothing */

	/* again: the same answer, and nothing more to write when A/D stuck */
	w = f.writes;
	st2 = gpt_translate(&c, &(struct gpt_access){ f_read, f_write, &f }, gla, acc, &r2);
	check_result(&c, gla, st2, &r2);
	if (st == GPT_OK && st2 == GPT_OK) {
		CHECK(r.gpa == r2.gpa && r.page_size == r2.page_size);
		if (!f.rom)
			CHECK(f.writes == w);
	}

	/* copies across a page boundary */
	{
		uint64_t a = gla | 0xfe0;
		size_t len = 16 + (ctl >> 24) % 48;
		struct gpt_access mem = { f_read, f_write, &f };

		if (acc & GPT_WRITE) {
			memset(buf, 0x5a, sizeof(buf));
			st = gpt_copy_out(&c, &mem, a, buf, len, acc, &r);
		} else {
			st = gpt_copy_in(&c, &mem, a, buf, len, acc, &r);
		}
		CHECK(st == r.status);
		CHECK(r.done <= len);
		CHECK(st != GPT_OK || r.done == len);
		/* a fault is reported before any byte moves, unless setting A/D bits in the first
		 * pass changed the tables (aliased entries) */
		if (st == GPT_PF)
			CHECK((r.cr2 & 0xfff) == (a & 0xfff) || (r.cr2 & 0xfff) == 0);
	}
	return 0;
}
