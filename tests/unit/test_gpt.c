/*
 * Unit tests of kernel/vmm/gpt.c: page tables built in a fake guest RAM buffer for every paging mode,
 * translations, large pages, each access-rights rule of SDM vol. 3 4.6, reserved bits per level,
 * accessed/dirty updates, canonical checks and the cross-page copy helpers. Expected values are
 * written out by hand from the SDM, never computed by the code under test's rules.
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

#include <hv/gpt.h>

/* ------------------------------------------------------------------------------------------------ */
/* Fake guest RAM                                                                                   */

#define RAM_SIZE (8u << 20)

#define P (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define A (1ull << 5)
#define D (1ull << 6)
#define PS (1ull << 7)
#define XD (1ull << 63)

#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

struct ram {
	uint8_t *mem;
	uint64_t next; /* page allocator */
	unsigned reads, writes;
	uint64_t ro_lo, ro_hi; /* writes to [ro_lo, ro_hi) fail (ROM) */
	struct gpt_access acc;
};

static struct ram R;

static bool ram_read(uint64_t gpa, void *buf, uint32_t len, void *ctx)
{
	struct ram *r = ctx;

	assert_ptr_equal(r, &R);
	assert_true(len > 0);
	r->reads++;
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return false;
	memcpy(buf, r->mem + gpa, len);
	return true;
}

static bool ram_write(uint64_t gpa, const void *buf, uint32_t len, void *ctx)
{
	struct ram *r = ctx;

	assert_true(len > 0);
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return false;
	if (gpa < r->ro_hi && gpa + len > r->ro_lo)
		return false;
	r->writes++;
	memcpy(r->mem + gpa, buf, len);
	return true;
}

static int setup(void **state)
{
	(void)state;
	memset(&R, 0, sizeof(R));
	R.mem = calloc(1, RAM_SIZE);
	if (!R.mem)
		return -1;
	R.next = 0x100000; /* tables from 1 MiB up; data pages below */
	R.acc.read = ram_read;
	R.acc.write = ram_write;
	R.acc.ctx = &R;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(R.mem);
	R.mem = NULL;
	return 0;
}

static uint64_t alloc_page(void)
{
	uint64_t p = R.next;

	R.next += 0x1000;
	assert_true(R.next <= RAM_SIZE);
	memset(R.mem + p, 0, 0x1000);
	return p;
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, R.mem + gpa, 8);
	return v;
}

static void wr64(uint64_t gpa, uint64_t v)
{
	memcpy(R.mem + gpa, &v, 8);
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, R.mem + gpa, 4);
	return v;
}

static void wr32(uint64_t gpa, uint32_t v)
{
	memcpy(R.mem + gpa, &v, 4);
}

/* ------------------------------------------------------------------------------------------------ */
/* Page-table builders                                                                              */

enum mode { M32, MPAE, M4, M5 };

static int mode_levels(enum mode m)
{
	return m == M32 ? 2 : m == MPAE ? 3 : m == M4 ? 4 : 5;
}

static unsigned level_shift(enum mode m, int lvl)
{
	return m == M32 ? 12 + 10 * (lvl - 1) : 12 + 9 * (lvl - 1);
}

/* Set entry bits, 4 or 8 bytes wide. */
static uint64_t ent_get(enum mode m, uint64_t a)
{
	return m == M32 ? rd32(a) : rd64(a);
}

static void ent_set(enum mode m, uint64_t a, uint64_t v)
{
	if (m == M32)
		wr32(a, (uint32_t)v);
	else
		wr64(a, v);
}

/*
 * Map gla -> gpa in the tables at root with the final entry at level leaf (1 = 4 KiB page,
 * 2 = 2/4 MiB, 3 = 1 GiB) carrying leaf_flags (PS is added for large pages). Intermediate entries
 * get P|RW|US (PAE PDPTEs: P only). ent[lvl] receives each entry's address.
 */
static void map(enum mode m, uint64_t root, uint64_t gla, uint64_t gpa, int leaf, uint64_t leaf_flags,
		uint64_t ent[6])
{
	uint64_t table = root;
	unsigned esize = m == M32 ? 4 : 8;

	for (int lvl = mode_levels(m); lvl >= leaf; lvl--) {
		unsigned sh = level_shift(m, lvl);
		uint64_t mask = m == M32 ? 0x3ff : (m == MPAE && lvl == 3) ? 3 : 0x1ff;
		uint64_t a = table + ((gla >> sh) & mask) * esize, e;

		if (ent)
			ent[lvl] = a;
		if (lvl == leaf) {
			e = (gpa & ~((1ull << sh) - 1)) | leaf_flags | (leaf > 1 ? PS : 0);
			if (m == M32 && leaf == 2) /* PSE-36: PA bits 39:32 in PDE bits 20:13 */
				e = (gpa & 0xffc00000ull) | ((gpa >> 32) & 0xff) << 13 | leaf_flags | PS;
			ent_set(m, a, e);
			return;
		}
		e = ent_get(m, a);
		if (!(e & P)) {
			uint64_t t = alloc_page();
			e = t | ((m == MPAE && lvl == 3) ? P : (P | RW | US));
			ent_set(m, a, e);
		}
		table = e & 0x000ffffffffff000ull;
	}
}

static uint64_t new_root(enum mode m)
{
	if (m == MPAE) {
		/* a 32-byte aligned PDPT not at a page start, to check CR3[31:5] */
		uint64_t p = alloc_page();
		return p + 0x40;
	}
	return alloc_page();
}

static struct gpt_cpu cpu_for(enum mode m, uint64_t root)
{
	struct gpt_cpu c;

	memset(&c, 0, sizeof(c));
	c.cr0 = CR0_PE | CR0_PG | CR0_WP;
	c.cr3 = root;
	switch (m) {
	case M32:
		c.cr4 = CR4_PSE;
		break;
	case MPAE:
		c.cr4 = CR4_PAE;
		c.efer = EFER_NXE;
		break;
	case M4:
		c.cr4 = CR4_PAE;
		c.efer = EFER_LME | EFER_LMA | EFER_NXE;
		break;
	case M5:
		c.cr4 = CR4_PAE | CR4_LA57;
		c.efer = EFER_LME | EFER_LMA | EFER_NXE;
		break;
	}
	return c;
}

static enum gpt_status tr(const struct gpt_cpu *c, uint64_t gla, uint32_t acc, struct gpt_result *res)
{
	return gpt_translate(c, &R.acc, gla, acc, res);
}

/* expect a successful translation to gpa */
#define OK(c, gla, acc, want_gpa)                                                                      \
	do {                                                                                           \
		struct gpt_result r_;                                                                  \
		assert_int_equal(tr((c), (gla), (acc), &r_), GPT_OK);                                  \
		assert_int_equal(r_.status, GPT_OK);                                                   \
		assert_int_equal(r_.gpa, (want_gpa));                                                  \
	} while (0)

/* expect a page fault with the given error code; CR2 = gla */
#define PF(c, gla, acc, want_err)                                                                      \
	do {                                                                                           \
		struct gpt_result r_;                                                                  \
		assert_int_equal(tr((c), (gla), (acc), &r_), GPT_PF);                                  \
		assert_int_equal(r_.status, GPT_PF);                                                   \
		assert_int_equal(r_.pf_error, (want_err));                                             \
		assert_int_equal(r_.cr2, (gla));                                                       \
	} while (0)

/* ------------------------------------------------------------------------------------------------ */
/* Paging off                                                                                       */

static void test_paging_off(void **state)
{
	(void)state;
	struct gpt_cpu c;
	struct gpt_result r;

	memset(&c, 0, sizeof(c));
	c.cr0 = CR0_PE;
	OK(&c, 0x1234, 0, 0x1234);
	OK(&c, 0x1234, GPT_WRITE, 0x1234);
	OK(&c, 0xfffff, GPT_FETCH, 0xfffff);
	OK(&c, 0x123456789ull, 0, 0x23456789);
	OK(&c, 0xffffffffffffffffull, 0, 0xffffffff);
	/* CR4/EFER bits are irrelevant without CR0.PG */
	c.cr4 = CR4_PAE | CR4_LA57;
	c.efer = EFER_LMA | EFER_LME;
	c.cpl = 3;
	OK(&c, 0x8000000000001000ull, GPT_WRITE, 0x1000);
	R.reads = 0;
	assert_int_equal(tr(&c, 0x5000, 0, &r), GPT_OK);
	assert_int_equal(r.page_size, 0x1000);
	assert_int_equal(R.reads, 0); /* no memory touched */
	assert_int_equal(R.writes, 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* 32-bit paging                                                                                    */

static void test_32bit_4k(void **state)
{
	(void)state;
	uint64_t root = new_root(M32), e[6];
	struct gpt_cpu c = cpu_for(M32, root);
	struct gpt_result r;

	map(M32, root, 0x00401000, 0x7000, 1, P | RW, e);
	assert_int_equal(e[2], root + 4); /* PDE index 1 */
	OK(&c, 0x00401000, 0, 0x7000);
	OK(&c, 0x00401abc, 0, 0x7abc);
	OK(&c, 0x00401fff, GPT_WRITE, 0x7fff);
	assert_int_equal(tr(&c, 0x00401234, 0, &r), GPT_OK);
	assert_int_equal(r.page_size, 0x1000);
	/* neighbours are not present: error code 0 / W / U */
	PF(&c, 0x00402000, 0, 0);
	PF(&c, 0x00400fff, GPT_WRITE, PF_W);
	PF(&c, 0x00800000, 0, 0); /* PDE not present */
	c.cpl = 3;
	PF(&c, 0x00800000, GPT_WRITE, PF_W | PF_U);
	PF(&c, 0x00402000, GPT_FETCH, PF_U); /* no I/D bit: 32-bit paging without SMEP */
	c.cr4 |= CR4_SMEP;
	PF(&c, 0x00402000, GPT_FETCH, PF_U | PF_I);
	/* the high 32 bits of a linear address are dropped */
	c.cpl = 0;
	OK(&c, 0xabcd00000401010ull, 0, 0x7010);
	/* CR3 low bits (PCD/PWT) ignored */
	c.cr3 = root | 0x18;
	OK(&c, 0x00401010, 0, 0x7010);
}

static void test_32bit_4m_pse(void **state)
{
	(void)state;
	uint64_t root = new_root(M32), e[6];
	struct gpt_cpu c = cpu_for(M32, root);
	struct gpt_result r;

	map(M32, root, 0xc0000000, 0x00400000, 2, P | RW, e);
	assert_int_equal(e[2], root + 0x300 * 4);
	OK(&c, 0xc0000000, 0, 0x00400000);
	OK(&c, 0xc0123456, GPT_WRITE, 0x00523456);
	OK(&c, 0xc03fffff, 0, 0x007fffff);
	assert_int_equal(tr(&c, 0xc0000000, 0, &r), GPT_OK);
	assert_int_equal(r.page_size, 0x400000);
	/* PAT bit (12) of a 4 MiB PDE is not an address bit */
	ent_set(M32, e[2], ent_get(M32, e[2]) | (1u << 12));
	OK(&c, 0xc0001000, 0, 0x00401000);
	/* PSE-36 with MAXPHYADDR 40: PDE bits 20:13 are PA bits 39:32 */
	c.maxphyaddr = 40;
	map(M32, root, 0x80000000, 0xab00c00000ull, 2, P | RW, e);
	OK(&c, 0x80000004, 0, 0xab00c00004ull);
	OK(&c, 0x803ffffc, 0, 0xab00fffffcull);
	/* MAXPHYADDR 36: only PDE bits 16:13 are address bits, 20:17 reserved */
	c.maxphyaddr = 36;
	PF(&c, 0x80000004, 0, PF_P | PF_RSVD);
	map(M32, root, 0x80000000, 0xb00c00000ull, 2, P | RW, e);
	OK(&c, 0x80000004, 0, 0xb00c00004ull);
	/* MAXPHYADDR 52: PSE-36 still stops at 40 bits; bit 21 is always reserved */
	c.maxphyaddr = 0;
	map(M32, root, 0x80000000, 0xff00000000ull, 2, P | RW, e);
	OK(&c, 0x80000000, 0, 0xff00000000ull);
	ent_set(M32, e[2], ent_get(M32, e[2]) | (1u << 21));
	PF(&c, 0x80000000, 0, PF_P | PF_RSVD);
	PF(&c, 0x80000000, GPT_WRITE, PF_P | PF_RSVD | PF_W);
	c.cpl = 3;
	PF(&c, 0x80000000, GPT_FETCH, PF_P | PF_RSVD | PF_U);
	/* MAXPHYADDR 32: all of 20:13 reserved */
	c.cpl = 0;
	c.maxphyaddr = 32;
	map(M32, root, 0x80000000, 0x100000000ull, 2, P | RW, e);
	PF(&c, 0x80000000, 0, PF_P | PF_RSVD);
	map(M32, root, 0x80000000, 0x80000000ull, 2, P | RW, e);
	OK(&c, 0x80000000, 0, 0x80000000ull);
}

static void test_32bit_ps_without_pse(void **state)
{
	(void)state;
	uint64_t root = new_root(M32), pt = 0x200000, pt2 = 0x402000;
	struct gpt_cpu c = cpu_for(M32, root);

	/* with CR4.PSE = 0 the PS bit is ignored: the PDE points to a page table (bit 21 is then
	 * an address bit) */
	memset(R.mem + pt, 0, 0x1000);
	wr32(root + 4 * 2, (uint32_t)(pt | P | RW | PS));
	wr32(pt + 4 * 3, 0x9000 | P | RW);
	c.cr4 &= ~CR4_PSE;
	OK(&c, 0x00803010, 0, 0x9010);
	c.cr4 |= CR4_PSE;
	PF(&c, 0x00803010, 0, PF_P | PF_RSVD); /* now a 4 MiB PDE with bit 21 set */
	/* PS in a 32-bit PTE is PAT: no reserved bits in a PTE at all */
	c.cr4 &= ~CR4_PSE;
	wr32(pt + 4 * 3, 0x9000 | P | RW | PS | (1u << 21));
	OK(&c, 0x00803010, 0, 0x209010);
	c.cr4 |= CR4_PSE;
	wr32(root + 4 * 2, (uint32_t)(pt | P | RW));
	OK(&c, 0x00803010, 0, 0x209010);
	/* the same PDE read as a 4 MiB page: bits 20:13 of 0x402000 give PA bit 32 */
	memset(R.mem + pt2, 0, 0x1000);
	wr32(root + 4 * 2, (uint32_t)(pt2 | P | RW | PS));
	wr32(pt2 + 4 * 3, 0x9000 | P | RW);
	OK(&c, 0x00803010, 0, 0x100403010ull);
	c.cr4 &= ~CR4_PSE;
	OK(&c, 0x00803010, 0, 0x9010);
}

static void test_32bit_ignores_xd_and_nxe(void **state)
{
	(void)state;
	uint64_t root = new_root(M32), e[6];
	struct gpt_cpu c = cpu_for(M32, root);

	map(M32, root, 0x1000, 0x2000, 1, P | RW | US, e);
	c.efer = EFER_NXE; /* NXE has no meaning without PAE */
	OK(&c, 0x1000, GPT_FETCH, 0x2000);
	c.cpl = 3;
	OK(&c, 0x1000, GPT_FETCH, 0x2000);
	ent_set(M32, e[1], 0x2000 | P | RW); /* supervisor page */
	PF(&c, 0x1000, GPT_FETCH, PF_P | PF_U); /* no I/D bit: PAE=0 and SMEP=0 */
}

/* ------------------------------------------------------------------------------------------------ */
/* PAE paging                                                                                       */

static void test_pae_basic(void **state)
{
	(void)state;
	uint64_t root = new_root(MPAE), e[6];
	struct gpt_cpu c = cpu_for(MPAE, root);
	struct gpt_result r;

	map(MPAE, root, 0x00001000, 0x5000, 1, P | RW, e);
	assert_int_equal(e[3], root);
	map(MPAE, root, 0xc0201000, 0x7f6000, 1, P | RW, e);
	assert_int_equal(e[3], root + 24);
	map(MPAE, root, 0x80400000, 0x600000, 2, P | RW, e);
	assert_int_equal(e[3], root + 16);
	OK(&c, 0x00001234, 0, 0x5234);
	OK(&c, 0xc0201ff8, GPT_WRITE, 0x7f6ff8);
	OK(&c, 0x80400000, 0, 0x600000);
	OK(&c, 0x805fffff, 0, 0x7fffff);
	assert_int_equal(tr(&c, 0x80412345, 0, &r), GPT_OK);
	assert_int_equal(r.gpa, 0x612345);
	assert_int_equal(r.page_size, 0x200000);
	/* PS honoured in PAE whatever CR4.PSE */
	c.cr4 |= CR4_PSE;
	OK(&c, 0x80412345, 0, 0x612345);
	/* PDPTE 1 not present */
	PF(&c, 0x40000000, 0, 0);
	PF(&c, 0x7fffffff, GPT_WRITE, PF_W);
	/* high linear bits dropped */
	OK(&c, 0xffffffff00001234ull, 0, 0x5234);
	/* PAE PDPTEs have no A bit: only PDE and PTE get it */
	assert_int_equal(rd64(root) & A, 0);
	/* a physical address above 4 GiB in a PAE PTE */
	map(MPAE, root, 0x00002000, 0xfedcb000ull << 4, 1, P | RW, e);
	c.maxphyaddr = 40;
	OK(&c, 0x00002008, 0, (0xfedcb000ull << 4) | 8);
	c.maxphyaddr = 35;
	PF(&c, 0x00002008, 0, PF_P | PF_RSVD);
}

static void test_pae_pdpte_reserved(void **state)
{
	(void)state;
	uint64_t root = new_root(MPAE), e[6], good;
	struct gpt_cpu c = cpu_for(MPAE, root);
	static const unsigned rsvd_bits[] = { 1, 2, 5, 6, 7, 8, 63, 62, 52, 51, 40 };

	c.maxphyaddr = 40;
	map(MPAE, root, 0x00001000, 0x5000, 1, P | RW, e);
	good = rd64(root);
	OK(&c, 0x1000, 0, 0x5000);
	/* bits 4:3 (PWT/PCD), 11:9 (ignored) are allowed */
	wr64(root, good | (1ull << 3) | (1ull << 4) | (7ull << 9));
	OK(&c, 0x1000, 0, 0x5000);
	for (size_t i = 0; i < sizeof(rsvd_bits) / sizeof(rsvd_bits[0]); i++) {
		wr64(root, good | (1ull << rsvd_bits[i]));
		PF(&c, 0x1000, 0, PF_P | PF_RSVD);
		PF(&c, 0x1000, GPT_WRITE, PF_P | PF_RSVD | PF_W);
		PF(&c, 0x1000, GPT_FETCH, PF_P | PF_RSVD | PF_I); /* PAE + NXE: I/D reported */
	}
	/* bit 39 is an address bit with MAXPHYADDR 40, reserved with 36 */
	wr64(root, good | (1ull << 39));
	/* the PD address is now outside RAM: unreadable */
	{
		struct gpt_result r;
		assert_int_equal(tr(&c, 0x1000, 0, &r), GPT_UNREADABLE);
		assert_int_equal(r.gpa, (good & ~0xfffull) + (1ull << 39));
	}
	c.maxphyaddr = 36;
	PF(&c, 0x1000, 0, PF_P | PF_RSVD);
	/* a not-present PDPTE is not checked for reserved bits */
	wr64(root, 0xffffffffffffff00ull);
	PF(&c, 0x1000, 0, 0);
	wr64(root, good);
	OK(&c, 0x1000, 0, 0x5000);
}

static void test_pae_cached_pdptes(void **state)
{
	(void)state;
	uint64_t root = new_root(MPAE), e[6], pd;
	struct gpt_cpu c = cpu_for(MPAE, root);
	struct gpt_result r;

	map(MPAE, root, 0x00001000, 0x5000, 1, P | RW, e);
	pd = rd64(root) & ~0xfffull;
	/* PDPTEs given by the caller: memory at CR3 is not read */
	c.pdptes_valid = true;
	c.pdpte[0] = pd | P;
	c.cr3 = 0xfffff000; /* outside RAM: must not matter */
	OK(&c, 0x1000, 0, 0x5000);
	PF(&c, 0x40001000, 0, 0); /* pdpte[1] = 0 */
	c.pdpte[1] = pd | P | (1ull << 5);
	PF(&c, 0x40001000, 0, PF_P | PF_RSVD);
	c.pdpte[1] = pd | P;
	OK(&c, 0x40001000, 0, 0x5000); /* same PD as PDPTE 0 */
	/* without the cache, reading the PDPT outside RAM is unreadable */
	c.pdptes_valid = false;
	assert_int_equal(tr(&c, 0x1000, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.gpa, 0xfffff000);
	assert_int_equal(tr(&c, 0xc0001000, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.gpa, 0xfffff018);
	/* CR3 bits 4:0 and 63:32 are ignored in PAE mode */
	c.cr3 = root | 0x1f | (0x5ull << 32);
	OK(&c, 0x1000, 0, 0x5000);
}

static void test_pae_reserved_entries(void **state)
{
	(void)state;
	uint64_t root = new_root(MPAE), e[6], pte, pde;
	struct gpt_cpu c = cpu_for(MPAE, root);

	c.maxphyaddr = 36;
	map(MPAE, root, 0x00001000, 0x5000, 1, P | RW, e);
	pte = rd64(e[1]);
	pde = rd64(e[2]);
	/* PAE: bits 62:M are reserved (unlike 4-level paging where 62:52 are ignored) */
	wr64(e[1], pte | (1ull << 52));
	PF(&c, 0x1000, 0, PF_P | PF_RSVD);
	wr64(e[1], pte | (1ull << 62));
	PF(&c, 0x1000, 0, PF_P | PF_RSVD);
	wr64(e[1], pte | (1ull << 36));
	PF(&c, 0x1000, 0, PF_P | PF_RSVD);
	wr64(e[1], pte | (1ull << 35)); /* an address bit: RAM read fails */
	{
		struct gpt_result r;
		assert_int_equal(tr(&c, 0x1000, 0, &r), GPT_OK);
		assert_int_equal(r.gpa, 0x800005000ull);
	}
	wr64(e[1], pte);
	wr64(e[2], pde | (1ull << 40));
	PF(&c, 0x1000, GPT_WRITE, PF_P | PF_RSVD | PF_W);
	wr64(e[2], pde);
	/* XD: allowed with NXE, reserved without */
	wr64(e[1], pte | XD);
	OK(&c, 0x1000, 0, 0x5000);
	PF(&c, 0x1000, GPT_FETCH, PF_P | PF_I);
	c.efer &= ~EFER_NXE;
	PF(&c, 0x1000, 0, PF_P | PF_RSVD);
	PF(&c, 0x1000, GPT_FETCH, PF_P | PF_RSVD); /* no I/D: NXE=0, SMEP=0 */
	c.cr4 |= CR4_SMEP;
	PF(&c, 0x1000, GPT_FETCH, PF_P | PF_RSVD | PF_I);
	c.cr4 &= ~CR4_SMEP;
	wr64(e[1], pte);
	wr64(e[2], pde | XD);
	PF(&c, 0x1000, 0, PF_P | PF_RSVD);
	wr64(e[2], pde);
	OK(&c, 0x1000, GPT_FETCH, 0x5000);
	/* 2 MiB PDE: bits 20:13 reserved, 12 is PAT */
	c.efer |= EFER_NXE;
	map(MPAE, root, 0x00200000, 0x400000, 2, P | RW, e);
	pde = rd64(e[2]);
	OK(&c, 0x00201000, 0, 0x401000);
	wr64(e[2], pde | (1ull << 12));
	OK(&c, 0x00201000, 0, 0x401000);
	for (unsigned b = 13; b <= 20; b++) {
		wr64(e[2], pde | (1ull << b));
		PF(&c, 0x00201000, 0, PF_P | PF_RSVD);
	}
	/* a not-present entry is never checked for reserved bits */
	wr64(e[2], ~1ull);
	PF(&c, 0x00201000, 0, 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* 4-level and 5-level paging                                                                       */

static void test_long_4level(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6];
	struct gpt_cpu c = cpu_for(M4, root);
	struct gpt_result r;

	map(M4, root, 0x00007f0000001000ull, 0x3000, 1, P | RW, e);
	assert_int_equal(e[4], root + 0xfe * 8);
	map(M4, root, 0xffffffff80200000ull, 0x600000, 2, P | RW, e);
	assert_int_equal(e[4], root + 0x1ff * 8);
	assert_int_equal(e[3], (rd64(e[4]) & ~0xfffull) + 0x1fe * 8);
	map(M4, root, 0xffff800040000000ull, 0x1c0000000ull, 3, P | RW, e);
	OK(&c, 0x00007f0000001008ull, 0, 0x3008);
	OK(&c, 0xffffffff80200000ull, 0, 0x600000);
	OK(&c, 0xffffffff803fffffull, GPT_WRITE, 0x7fffff);
	assert_int_equal(tr(&c, 0xffffffff80212345ull, 0, &r), GPT_OK);
	assert_int_equal(r.page_size, 0x200000);
	assert_int_equal(r.gpa, 0x612345);
	assert_int_equal(tr(&c, 0xffff800040000000ull + 0x12345678, 0, &r), GPT_OK);
	assert_int_equal(r.page_size, 0x40000000);
	assert_int_equal(r.gpa, 0x1c0000000ull + 0x12345678);
	assert_int_equal(tr(&c, 0x00007f0000001000ull, 0, &r), GPT_OK);
	assert_int_equal(r.page_size, 0x1000);
	/* not present at each level */
	PF(&c, 0x00007e0000000000ull, 0, 0);		/* PML4E */
	PF(&c, 0x00007f0040000000ull, 0, 0);		/* PDPTE */
	PF(&c, 0x00007f0000200000ull, 0, 0);		/* PDE */
	PF(&c, 0x00007f0000002000ull, GPT_WRITE, PF_W); /* PTE */
	PF(&c, 0x00007f0000002000ull, GPT_FETCH, PF_I);
	c.cpl = 3;
	PF(&c, 0x00007f0000002000ull, GPT_FETCH, PF_I | PF_U);
	PF(&c, 0x00007f0000002000ull, GPT_FETCH | GPT_IMPLICIT, PF_I); /* implicit = supervisor */
	/* CR3 flags and PCID bits ignored */
	c.cpl = 0;
	c.cr3 = root | 0xfff | (1ull << 63);
	OK(&c, 0x00007f0000001008ull, 0, 0x3008);
	/* addresses above 4 GiB in entries; bits 62:52 ignored in 4-level paging */
	map(M4, root, 0x1000, 0x000ffffffffff000ull, 1, P | RW | (0x7ffull << 52), e);
	OK(&c, 0x1ffc, 0, 0x000ffffffffffffcull);
}

static void test_long_reserved(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6], v[6];
	struct gpt_cpu c = cpu_for(M4, root);

	c.maxphyaddr = 39;
	map(M4, root, 0x1000, 0x5000, 1, P | RW, e);
	for (int l = 1; l <= 4; l++)
		v[l] = rd64(e[l]);
	OK(&c, 0x1000, 0, 0x5000);
	for (int l = 1; l <= 4; l++) {
		/* bits M..51 reserved at every level */
		static const unsigned bad[] = { 39, 45, 51 };
		for (size_t i = 0; i < 3; i++) {
			wr64(e[l], v[l] | (1ull << bad[i]));
			PF(&c, 0x1000, 0, PF_P | PF_RSVD);
			PF(&c, 0x1000, GPT_WRITE, PF_P | PF_RSVD | PF_W);
		}
		/* ignored bits 62:52 and 11:9 */
		wr64(e[l], v[l] | (1ull << 52) | (1ull << 62) | (7ull << 9));
		OK(&c, 0x1000, 0, 0x5000);
		/* XD reserved without NXE */
		wr64(e[l], v[l] | XD);
		OK(&c, 0x1000, 0, 0x5000);
		c.efer &= ~EFER_NXE;
		PF(&c, 0x1000, 0, PF_P | PF_RSVD);
		c.efer |= EFER_NXE;
		wr64(e[l], v[l]);
	}
	/* PS in a PML4E is reserved */
	wr64(e[4], v[4] | PS);
	PF(&c, 0x1000, 0, PF_P | PF_RSVD);
	wr64(e[4], v[4]);
	/* the PS bit of a PTE is PAT */
	wr64(e[1], v[1] | PS);
	OK(&c, 0x1000, 0, 0x5000);
	wr64(e[1], v[1]);
	/* 2 MiB page: bits 20:13 reserved */
	map(M4, root, 0x40000000, 0x200000, 2, P | RW, e);
	OK(&c, 0x40000010, 0, 0x200010);
	v[2] = rd64(e[2]);
	for (unsigned b = 13; b <= 20; b++) {
		wr64(e[2], v[2] | (1ull << b));
		PF(&c, 0x40000010, 0, PF_P | PF_RSVD);
	}
	wr64(e[2], v[2] | (1ull << 12));
	OK(&c, 0x40000010, 0, 0x200010);
	/* 1 GiB page: bits 29:13 reserved */
	map(M4, root, 0x8000000000ull, 0x40000000, 3, P | RW, e);
	OK(&c, 0x8000000010ull, 0, 0x40000010);
	v[3] = rd64(e[3]);
	for (unsigned b = 13; b <= 29; b++) {
		wr64(e[3], v[3] | (1ull << b));
		PF(&c, 0x8000000010ull, 0, PF_P | PF_RSVD);
	}
	wr64(e[3], v[3] | (1ull << 12));
	OK(&c, 0x8000000010ull, 0, 0x40000010);
	/* 1 GiB page above MAXPHYADDR */
	wr64(e[3], (1ull << 39) | P | RW | PS);
	PF(&c, 0x8000000010ull, 0, PF_P | PF_RSVD);
	c.maxphyaddr = 0; /* 52 */
	OK(&c, 0x8000000010ull, 0, (1ull << 39) | 0x10);
	c.maxphyaddr = 200; /* clamped to 52 */
	OK(&c, 0x8000000010ull, 0, (1ull << 39) | 0x10);
	c.maxphyaddr = 12; /* clamped to 32 */
	PF(&c, 0x8000000010ull, 0, PF_P | PF_RSVD);
	wr64(e[3], (1ull << 31) | P | RW | PS);
	OK(&c, 0x8000000010ull, 0, (1ull << 31) | 0x10);
	wr64(e[3], (1ull << 32) | P | RW | PS);
	PF(&c, 0x8000000010ull, 0, PF_P | PF_RSVD);
}

static void test_canonical(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6];
	struct gpt_cpu c = cpu_for(M4, root);
	struct gpt_result r;
	static const uint64_t bad48[] = {
		0x0000800000000000ull, 0xffff7fffffffffffull, 0x8000000000000000ull,
		0x0001000000000000ull, 0x7fffffffffffffffull, 0xfffe800000000000ull,
	};

	map(M4, root, 0x00007ffffffff000ull, 0x4000, 1, P | RW, e);
	map(M4, root, 0xffff800000000000ull, 0x6000, 1, P | RW, e);
	OK(&c, 0x00007fffffffffffull, 0, 0x4fff);
	OK(&c, 0xffff800000000000ull, 0, 0x6000);
	for (size_t i = 0; i < sizeof(bad48) / sizeof(bad48[0]); i++) {
		R.reads = 0;
		assert_int_equal(tr(&c, bad48[i], 0, &r), GPT_GP);
		assert_int_equal(r.status, GPT_GP);
		assert_int_equal(r.gla, bad48[i]);
		assert_int_equal(R.reads, 0);
		assert_int_equal(tr(&c, bad48[i], GPT_WRITE, &r), GPT_GP);
		c.cpl = 3;
		assert_int_equal(tr(&c, bad48[i], GPT_FETCH, &r), GPT_GP);
		c.cpl = 0;
	}
	/* not canonical beats not present */
	assert_int_equal(tr(&c, 0x0000900000000000ull, 0, &r), GPT_GP);
	/* canonical but not mapped: #PF */
	PF(&c, 0xffff900000000000ull, 0, 0);
}

static void test_long_5level(void **state)
{
	(void)state;
	uint64_t root = new_root(M5), e[6];
	struct gpt_cpu c = cpu_for(M5, root);
	struct gpt_result r;

	map(M5, root, 0x00ff000000001000ull, 0x8000, 1, P | RW, e);
	assert_int_equal(e[5], root + 0xff * 8);
	map(M5, root, 0xff00000000000000ull, 0x9000, 1, P | RW, e);
	assert_int_equal(e[5], root + 0x100 * 8);
	map(M5, root, 0x0000800000000000ull, 0x40000000, 3, P | RW, e);
	map(M5, root, 0x0000800040000000ull, 0x200000, 2, P | RW, e);
	OK(&c, 0x00ff000000001abcull, 0, 0x8abc);
	OK(&c, 0xff00000000000010ull, GPT_WRITE, 0x9010);
	OK(&c, 0x0000800000000010ull, 0, 0x40000010); /* not canonical with 48 bits */
	assert_int_equal(tr(&c, 0x0000800040001000ull, 0, &r), GPT_OK);
	assert_int_equal(r.gpa, 0x201000);
	assert_int_equal(r.page_size, 0x200000);
	/* 57-bit canonical */
	assert_int_equal(tr(&c, 0x0100000000000000ull, 0, &r), GPT_GP);
	assert_int_equal(tr(&c, 0xfeffffffffffffffull, 0, &r), GPT_GP);
	assert_int_equal(tr(&c, 0x00ffffffffffffffull, 0, &r), GPT_PF);
	assert_int_equal(tr(&c, 0xff00000000001000ull, 0, &r), GPT_PF);
	/* PS in a PML5E is reserved */
	wr64(e[5], rd64(e[5]) | PS);
	PF(&c, 0x0000800000000010ull, 0, PF_P | PF_RSVD);
	wr64(e[5], rd64(e[5]) & ~PS);
	/* the same tables read as 4-level: the top address is now a GP */
	c.cr4 &= ~CR4_LA57;
	assert_int_equal(tr(&c, 0x0000800000000010ull, 0, &r), GPT_GP);
	/* A bits: all 5 levels of the 4 KiB mapping */
	c.cr4 |= CR4_LA57;
	map(M5, root, 0x00ff000000003000ull, 0xa000, 1, P | RW, e);
	for (int l = 1; l <= 5; l++)
		wr64(e[l], rd64(e[l]) & ~(A | D));
	OK(&c, 0x00ff000000003000ull, GPT_WRITE, 0xa000);
	for (int l = 1; l <= 5; l++)
		assert_true(rd64(e[l]) & A);
	assert_true(rd64(e[1]) & D);
	for (int l = 2; l <= 5; l++)
		assert_false(rd64(e[l]) & D);
}

/* ------------------------------------------------------------------------------------------------ */
/* Access rights (SDM 4.6), table-driven, 4-level paging                                            */

struct perm_case {
	const char *what;
	uint64_t leaf;	     /* flags of the PTE besides P */
	int level;	     /* an upper level whose entry gets upper_clear/upper_set (0 = none) */
	uint64_t upper_clear;
	uint64_t upper_set;
	uint8_t cpl;
	bool wp, smep, smap, ac, nxe;
	uint32_t access;
	int ok;		     /* 1 = translation, 0 = #PF with err */
	uint32_t err;
};

#define S 0
#define U US
static const struct perm_case perm_cases[] = {
	/* supervisor data reads */
	{ "sup read sup ro", 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0 },
	{ "sup read user ro", U, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0 },
	{ "sup read user smap", U, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, PF_P },
	{ "sup read user smap ac", U, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0 },
	{ "sup read user smap ac implicit", U, 0, 0, 0, 0, 1, 0, 1, 1, 1, GPT_IMPLICIT, 0, PF_P },
	{ "sup read sup smap", 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0 },
	{ "sup read user-only-leaf smap", U, 3, US, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0 },
	{ "sup read xd page", XD, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0 },
	/* supervisor data writes */
	{ "sup write sup rw", RW, 0, 0, 0, 0, 1, 0, 0, 0, 1, GPT_WRITE, 1, 0 },
	{ "sup write sup ro wp", 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "sup write sup ro !wp", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, GPT_WRITE, 1, 0 },
	{ "sup write user ro !wp", U, 0, 0, 0, 0, 0, 0, 0, 0, 1, GPT_WRITE, 1, 0 },
	{ "sup write user ro wp", U, 0, 0, 0, 0, 1, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "sup write user rw smap", U | RW, 0, 0, 0, 0, 1, 0, 1, 0, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "sup write user rw smap ac", U | RW, 0, 0, 0, 0, 1, 0, 1, 1, 1, GPT_WRITE, 1, 0 },
	{ "sup write user ro smap ac !wp", U, 0, 0, 0, 0, 0, 0, 1, 1, 1, GPT_WRITE, 1, 0 },
	{ "sup write user ro smap !ac !wp", U, 0, 0, 0, 0, 0, 0, 1, 0, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "sup write user ro smap ac wp", U, 0, 0, 0, 0, 1, 0, 1, 1, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "sup write pdpte ro wp", RW, 3, RW, 0, 0, 1, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "sup write pml4e ro !wp", RW, 4, RW, 0, 0, 0, 0, 0, 0, 1, GPT_WRITE, 1, 0 },
	{ "sup write pde ro wp", RW, 2, RW, 0, 0, 1, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "sup read pde ro wp", RW, 2, RW, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0 },
	/* supervisor fetches */
	{ "sup fetch sup", 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, GPT_FETCH, 1, 0 },
	{ "sup fetch user", U, 0, 0, 0, 0, 1, 0, 0, 0, 1, GPT_FETCH, 1, 0 },
	{ "sup fetch user smep", U, 0, 0, 0, 0, 1, 1, 0, 0, 1, GPT_FETCH, 0, PF_P | PF_I },
	{ "sup fetch user smep nxe0", U, 0, 0, 0, 0, 1, 1, 0, 0, 0, GPT_FETCH, 0, PF_P | PF_I },
	{ "sup fetch sup smep", 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, GPT_FETCH, 1, 0 },
	{ "sup fetch user smap", U, 0, 0, 0, 0, 1, 0, 1, 0, 1, GPT_FETCH, 1, 0 },
	{ "sup fetch xd", XD, 0, 0, 0, 0, 1, 0, 0, 0, 1, GPT_FETCH, 0, PF_P | PF_I },
	{ "sup fetch xd in pml4e", 0, 4, 0, XD, 0, 1, 0, 0, 0, 1, GPT_FETCH, 0, PF_P | PF_I },
	{ "sup fetch xd in pdpte", 0, 3, 0, XD, 0, 1, 0, 0, 0, 1, GPT_FETCH, 0, PF_P | PF_I },
	{ "sup fetch xd nxe0 rsvd", XD, 0, 0, 0, 0, 1, 0, 0, 0, 0, GPT_FETCH, 0, PF_P | PF_RSVD },
	{ "sup fetch ro page", 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, GPT_FETCH, 1, 0 },
	/* user accesses */
	{ "user read user", U, 0, 0, 0, 3, 1, 0, 0, 0, 1, 0, 1, 0 },
	{ "user read sup", 0, 0, 0, 0, 3, 1, 0, 0, 0, 1, 0, 0, PF_P | PF_U },
	{ "user read sup pde", U, 2, US, 0, 3, 1, 0, 0, 0, 1, 0, 0, PF_P | PF_U },
	{ "user read sup pml4e", U, 4, US, 0, 3, 1, 0, 0, 0, 1, 0, 0, PF_P | PF_U },
	{ "user write user ro", U, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W | PF_U },
	{ "user write user ro !wp", U, 0, 0, 0, 3, 0, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W | PF_U },
	{ "user write user rw", U | RW, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_WRITE, 1, 0 },
	{ "user write ro pdpte", U | RW, 3, RW, 0, 3, 0, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W | PF_U },
	{ "user write sup rw", RW, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W | PF_U },
	{ "user fetch user", U, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_FETCH, 1, 0 },
	{ "user fetch user smep", U, 0, 0, 0, 3, 1, 1, 0, 0, 1, GPT_FETCH, 1, 0 },
	{ "user fetch user xd", U | XD, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_FETCH, 0, PF_P | PF_U | PF_I },
	{ "user fetch sup", 0, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_FETCH, 0, PF_P | PF_U | PF_I },
	{ "user read user smap", U, 0, 0, 0, 3, 1, 0, 1, 0, 1, 0, 1, 0 },
	{ "user write user rw smap", U | RW, 0, 0, 0, 3, 1, 0, 1, 0, 1, GPT_WRITE, 1, 0 },
	{ "user read xd page", U | XD, 0, 0, 0, 3, 1, 0, 0, 0, 1, 0, 1, 0 },
	/* implicit supervisor accesses at CPL 3 */
	{ "implicit read sup cpl3", 0, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_IMPLICIT, 1, 0 },
	{ "implicit write sup ro cpl3 wp", 0, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_IMPLICIT | GPT_WRITE, 0,
	  PF_P | PF_W },
	{ "implicit write sup ro cpl3 !wp", 0, 0, 0, 0, 3, 0, 0, 0, 0, 1, GPT_IMPLICIT | GPT_WRITE, 1, 0 },
	{ "implicit read user cpl3", U, 0, 0, 0, 3, 1, 0, 0, 0, 1, GPT_IMPLICIT, 1, 0 },
	{ "implicit read user cpl3 smap", U, 0, 0, 0, 3, 1, 0, 1, 0, 1, GPT_IMPLICIT, 0, PF_P },
	{ "implicit read user cpl3 smap ac", U, 0, 0, 0, 3, 1, 0, 1, 1, 1, GPT_IMPLICIT, 0, PF_P },
	{ "implicit write user cpl3 smap ac", U | RW, 0, 0, 0, 3, 1, 0, 1, 1, 1, GPT_IMPLICIT | GPT_WRITE, 0,
	  PF_P | PF_W },
	/* CPL 1 and 2 are supervisor */
	{ "cpl1 read sup", 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0 },
	{ "cpl2 write sup ro wp", 0, 0, 0, 0, 2, 1, 0, 0, 0, 1, GPT_WRITE, 0, PF_P | PF_W },
	{ "cpl2 read user smap ac", U, 0, 0, 0, 2, 1, 0, 1, 1, 1, 0, 1, 0 },
};

static void test_permissions(void **state)
{
	(void)state;
	const uint64_t gla = 0x00007f1234567000ull, gpa = 0x6000;

	for (size_t i = 0; i < sizeof(perm_cases) / sizeof(perm_cases[0]); i++) {
		const struct perm_case *pc = &perm_cases[i];
		uint64_t root = new_root(M4), e[6], before[6];
		struct gpt_cpu c = cpu_for(M4, root);
		struct gpt_result r;
		enum gpt_status st;
		unsigned writes;

		map(M4, root, gla, gpa, 1, P | pc->leaf, e);
		if (pc->level) {
			uint64_t v = rd64(e[pc->level]);
			wr64(e[pc->level], (v & ~pc->upper_clear) | pc->upper_set);
		}
		c.cpl = pc->cpl;
		c.ac = pc->ac;
		if (!pc->wp)
			c.cr0 &= ~CR0_WP;
		if (pc->smep)
			c.cr4 |= CR4_SMEP;
		if (pc->smap)
			c.cr4 |= CR4_SMAP;
		if (!pc->nxe)
			c.efer &= ~EFER_NXE;
		for (int l = 1; l <= 4; l++)
			before[l] = rd64(e[l]);
		writes = R.writes;
		st = tr(&c, gla + 0x10, pc->access, &r);
		if (pc->ok) {
			if (st != GPT_OK)
				fail_msg("%s: status %d err %#x", pc->what, st, r.pf_error);
			assert_int_equal(r.gpa, gpa + 0x10);
			for (int l = 1; l <= 4; l++)
				assert_true(rd64(e[l]) & A);
			assert_int_equal(!!(rd64(e[1]) & D), !!(pc->access & GPT_WRITE));
		} else {
			if (st != GPT_PF || r.pf_error != pc->err)
				fail_msg("%s: status %d err %#x, want #PF %#x", pc->what, st, r.pf_error, pc->err);
			assert_int_equal(r.cr2, gla + 0x10);
			/* nothing written on a faulting walk */
			assert_int_equal(R.writes, writes);
			for (int l = 1; l <= 4; l++)
				assert_int_equal(rd64(e[l]), before[l]);
		}
	}
}

/* The same rules through 32-bit and PAE tables (U/S and R/W from the PDE too). */
static void test_permissions_32_pae(void **state)
{
	(void)state;
	uint64_t root, e[6];
	struct gpt_cpu c;

	/* 32-bit */
	root = new_root(M32);
	c = cpu_for(M32, root);
	map(M32, root, 0x10000000, 0x3000, 1, P | RW | US, e);
	map(M32, root, 0x20000000, 0x400000, 2, P | US, NULL);
	c.cpl = 3;
	OK(&c, 0x10000000, GPT_WRITE, 0x3000);
	PF(&c, 0x20000000, GPT_WRITE, PF_P | PF_W | PF_U);
	OK(&c, 0x20000000, GPT_FETCH, 0x400000);
	ent_set(M32, e[2], ent_get(M32, e[2]) & ~RW);
	PF(&c, 0x10000000, GPT_WRITE, PF_P | PF_W | PF_U);
	c.cpl = 0;
	PF(&c, 0x10000000, GPT_WRITE, PF_P | PF_W);
	c.cr0 &= ~CR0_WP;
	OK(&c, 0x10000000, GPT_WRITE, 0x3000);
	c.cr4 |= CR4_SMAP;
	PF(&c, 0x10000000, GPT_WRITE, PF_P | PF_W);
	PF(&c, 0x20000004, 0, PF_P);
	c.ac = true;
	OK(&c, 0x20000004, 0, 0x400004);
	PF(&c, 0x20000004, GPT_IMPLICIT, PF_P);
	c.cr4 |= CR4_SMEP;
	PF(&c, 0x20000004, GPT_FETCH, PF_P | PF_I);
	ent_set(M32, e[2], ent_get(M32, e[2]) & ~US);
	c.cpl = 3;
	PF(&c, 0x10000000, 0, PF_P | PF_U);

	/* PAE */
	root = new_root(MPAE);
	c = cpu_for(MPAE, root);
	map(MPAE, root, 0x10000000, 0x3000, 1, P | RW | US | XD, e);
	c.cpl = 3;
	OK(&c, 0x10000000, GPT_WRITE, 0x3000);
	PF(&c, 0x10000000, GPT_FETCH, PF_P | PF_U | PF_I);
	c.efer &= ~EFER_NXE;
	PF(&c, 0x10000000, 0, PF_P | PF_U | PF_RSVD);
	c.efer |= EFER_NXE;
	wr64(e[1], rd64(e[1]) & ~XD);
	OK(&c, 0x10000000, GPT_FETCH, 0x3000);
	wr64(e[2], rd64(e[2]) | XD);
	PF(&c, 0x10000000, GPT_FETCH, PF_P | PF_U | PF_I);
	wr64(e[2], rd64(e[2]) & ~(XD | US));
	PF(&c, 0x10000000, 0, PF_P | PF_U);
	c.cpl = 0;
	OK(&c, 0x10000000, GPT_FETCH, 0x3000); /* supervisor page now */
	c.cr4 |= CR4_SMAP;
	OK(&c, 0x10000000, 0, 0x3000);
}

/* ------------------------------------------------------------------------------------------------ */
/* Accessed and dirty bits                                                                          */

static void test_accessed_dirty(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6], v[6];
	struct gpt_cpu c = cpu_for(M4, root);
	unsigned w;

	map(M4, root, 0x200000000ull, 0x7000, 1, P | RW, e);
	for (int l = 1; l <= 4; l++) {
		v[l] = rd64(e[l]);
		assert_false(v[l] & (A | D));
	}
	/* a read sets A everywhere, D nowhere */
	w = R.writes;
	OK(&c, 0x200000000ull, 0, 0x7000);
	assert_int_equal(R.writes, w + 4);
	for (int l = 1; l <= 4; l++)
		assert_int_equal(rd64(e[l]), v[l] | A);
	/* again: nothing to write */
	w = R.writes;
	OK(&c, 0x200000000ull, GPT_FETCH, 0x7000);
	assert_int_equal(R.writes, w);
	/* a write sets D on the PTE only, with one write */
	OK(&c, 0x200000000ull, GPT_WRITE, 0x7000);
	assert_int_equal(R.writes, w + 1);
	assert_int_equal(rd64(e[1]), v[1] | A | D);
	for (int l = 2; l <= 4; l++)
		assert_int_equal(rd64(e[l]), v[l] | A);
	w = R.writes;
	OK(&c, 0x200000000ull, GPT_WRITE, 0x7000);
	assert_int_equal(R.writes, w);
	/* the write-back touches byte 0 only: the other bytes are left as they are in memory */
	for (int l = 1; l <= 4; l++)
		wr64(e[l], v[l]);
	OK(&c, 0x200000000ull, GPT_WRITE, 0x7000);
	assert_int_equal(rd64(e[1]), v[1] | A | D);
	/* large pages: D on the PDE / PDPTE that maps the page */
	map(M4, root, 0x40000000, 0x200000, 2, P | RW, e);
	OK(&c, 0x40000000, GPT_WRITE, 0x200000);
	assert_int_equal(rd64(e[2]) & (A | D), A | D);
	assert_int_equal(rd64(e[3]) & (A | D), A);
	map(M4, root, 0x80000000, 0x40000000, 3, P | RW, e);
	OK(&c, 0x80000000, 0, 0x40000000);
	assert_int_equal(rd64(e[3]) & (A | D), A);
	OK(&c, 0x80000000, GPT_WRITE, 0x40000000);
	assert_int_equal(rd64(e[3]) & (A | D), A | D);
	/* a faulting walk writes nothing: not present at the PTE */
	map(M4, root, 0x300000000ull, 0x7000, 1, 0, e);
	for (int l = 1; l <= 4; l++)
		wr64(e[l], rd64(e[l]) & ~A);
	w = R.writes;
	PF(&c, 0x300000000ull, 0, 0);
	assert_int_equal(R.writes, w);
	for (int l = 2; l <= 4; l++)
		assert_false(rd64(e[l]) & A);
	/* ... a protection fault */
	wr64(e[1], 0x7000 | P);
	PF(&c, 0x300000000ull, GPT_WRITE, PF_P | PF_W);
	assert_int_equal(R.writes, w);
	assert_int_equal(rd64(e[1]), 0x7000 | P);
	/* ... a reserved-bit fault */
	wr64(e[1], 0x7000 | P | RW | (1ull << 51));
	c.maxphyaddr = 48;
	PF(&c, 0x300000000ull, GPT_WRITE, PF_P | PF_W | PF_RSVD);
	assert_int_equal(R.writes, w);
	/* 32-bit entries: A/D in byte 0 of a 4-byte entry */
	root = new_root(M32);
	c = cpu_for(M32, root);
	map(M32, root, 0x1000, 0x2000, 1, P | RW, e);
	OK(&c, 0x1000, GPT_WRITE, 0x2000);
	assert_int_equal(rd32(e[1]), 0x2000 | P | RW | A | D);
	assert_int_equal(rd32(e[2]) & (A | D), A);
	/* PAE: PDE and PTE, not the PDPTE */
	root = new_root(MPAE);
	c = cpu_for(MPAE, root);
	map(MPAE, root, 0x1000, 0x2000, 1, P | RW, e);
	OK(&c, 0x1000, GPT_WRITE, 0x2000);
	assert_int_equal(rd64(e[1]), 0x2000 | P | RW | A | D);
	assert_int_equal(rd64(e[2]) & (A | D), A);
	assert_int_equal(rd64(e[3]) & (A | D), 0);
}

static void test_write_back_failure_ignored(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6];
	struct gpt_cpu c = cpu_for(M4, root);

	map(M4, root, 0x1000, 0x2000, 1, P | RW, e);
	R.ro_lo = 0;
	R.ro_hi = RAM_SIZE; /* all of RAM is ROM now */
	OK(&c, 0x1000, GPT_WRITE, 0x2000);
	assert_false(rd64(e[1]) & A);
	R.ro_hi = 0;
}

static void test_unreadable_tables(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6];
	struct gpt_cpu c = cpu_for(M4, root);
	struct gpt_result r;
	unsigned w;

	map(M4, root, 0x1000, 0x2000, 1, P | RW, e);
	/* PDE points outside RAM */
	wr64(e[2], 0x40000000ull | P | RW);
	w = R.writes;
	assert_int_equal(tr(&c, 0x1000, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.gpa, 0x40000008ull);
	assert_int_equal(r.gla, 0x1000);
	assert_int_equal(R.writes, w); /* no A bit for the entries above */
	assert_false(rd64(e[3]) & A);
	/* CR3 outside RAM */
	c.cr3 = 0x80000000ull;
	assert_int_equal(tr(&c, 0x1000, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.gpa, 0x80000000ull);
	/* 32-bit paging: last entry of a PD that straddles the end of RAM */
	root = RAM_SIZE - 0x1000;
	memset(R.mem + root, 0, 0x1000);
	c = cpu_for(M32, root);
	wr32(root + 0xffc, 0xfffff000u | P);
	assert_int_equal(tr(&c, 0xfff00000, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.gpa, 0xfffffc00u);
	/* the data page itself is not read by a translation */
	wr32(root + 0xffc, (uint32_t)(RAM_SIZE - 0x2000) | P);
	memset(R.mem + RAM_SIZE - 0x2000, 0, 0x1000);
	wr32(RAM_SIZE - 0x2000 + 0xffc, 0xfffff000u | P);
	OK(&c, 0xfffff123, 0, 0xfffff123);
}

/* ------------------------------------------------------------------------------------------------ */
/* Copies across pages                                                                              */

static void test_copy_cross_page(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6];
	struct gpt_cpu c = cpu_for(M4, root);
	struct gpt_result r;
	uint8_t buf[64], want[64];
	const uint64_t gla = 0x00007f0000001ff0ull;

	/* two adjacent linear pages on non-adjacent physical pages */
	map(M4, root, 0x00007f0000001000ull, 0x9000, 1, P | RW, e);
	map(M4, root, 0x00007f0000002000ull, 0x3000, 1, P | RW, e);
	for (int i = 0; i < 16; i++)
		R.mem[0x9ff0 + i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 16; i++)
		R.mem[0x3000 + i] = (uint8_t)(0xb0 + i);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gpt_copy_in(&c, &R.acc, gla, buf, 32, 0, &r), GPT_OK);
	assert_int_equal(r.done, 32);
	assert_int_equal(r.gpa, 0x9ff0);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(buf[i], 0xa0 + i);
		assert_int_equal(buf[16 + i], 0xb0 + i);
	}
	/* write across the boundary */
	for (int i = 0; i < 32; i++)
		want[i] = (uint8_t)(0x40 + i);
	assert_int_equal(gpt_copy_out(&c, &R.acc, gla + 8, want, 32, 0, &r), GPT_OK);
	assert_int_equal(r.done, 32);
	assert_int_equal(memcmp(R.mem + 0x9ff8, want, 8), 0);
	assert_int_equal(memcmp(R.mem + 0x3000, want + 8, 24), 0);
	assert_true(rd64(e[1]) & D);
	/* a zero-length copy does nothing and succeeds */
	assert_int_equal(gpt_copy_in(&c, &R.acc, 0xdead000000000000ull, buf, 0, 0, &r), GPT_OK);
	assert_int_equal(r.done, 0);
	/* exactly one page, aligned */
	assert_int_equal(gpt_copy_in(&c, &R.acc, 0x00007f0000002000ull, buf, 16, GPT_FETCH, &r), GPT_OK);
	assert_int_equal(buf[0], 0x48);
	/* a long copy over several pages */
	{
		static uint8_t big[3 * 4096];
		map(M4, root, 0x00007f0000003000ull, 0xb000, 1, P | RW, e);
		memset(R.mem + 0xb000, 0x77, 0x1000);
		assert_int_equal(gpt_copy_in(&c, &R.acc, 0x00007f0000001000ull, big, sizeof(big), 0, &r),
				 GPT_OK);
		assert_int_equal(big[0], R.mem[0x9000]);
		assert_int_equal(big[4096], 0x48);
		assert_int_equal(big[4096 + 8], 0x50);
		assert_int_equal(big[2 * 4096 + 100], 0x77);
	}
}

static void test_copy_fault_second_page(void **state)
{
	(void)state;
	uint64_t root = new_root(M4), e[6], e2[6];
	struct gpt_cpu c = cpu_for(M4, root);
	struct gpt_result r;
	uint8_t buf[32], data[32];
	const uint64_t gla = 0x00007f0000001ff8ull;

	map(M4, root, 0x00007f0000001000ull, 0x9000, 1, P | RW | US, e);
	memset(R.mem + 0x9000, 0x11, 0x1000);
	/* second page not present */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(gpt_copy_in(&c, &R.acc, gla, buf, 16, 0, &r), GPT_PF);
	assert_int_equal(r.pf_error, 0);
	assert_int_equal(r.cr2, 0x00007f0000002000ull);
	assert_int_equal(r.done, 0);
	assert_int_equal(buf[0], 0xee); /* nothing copied */
	memset(data, 0x55, sizeof(data));
	c.cpl = 3;
	assert_int_equal(gpt_copy_out(&c, &R.acc, gla, data, 16, 0, &r), GPT_PF);
	assert_int_equal(r.pf_error, PF_W | PF_U);
	assert_int_equal(r.cr2, 0x00007f0000002000ull);
	assert_int_equal(r.done, 0);
	assert_int_equal(R.mem[0x9ff8], 0x11); /* first page untouched */
	/* second page read-only, user */
	map(M4, root, 0x00007f0000002000ull, 0x3000, 1, P | US, e2);
	assert_int_equal(gpt_copy_out(&c, &R.acc, gla, data, 16, 0, &r), GPT_PF);
	assert_int_equal(r.pf_error, PF_P | PF_W | PF_U);
	assert_int_equal(r.cr2, 0x00007f0000002000ull);
	assert_int_equal(R.mem[0x9ff8], 0x11);
	/* reads are fine */
	assert_int_equal(gpt_copy_in(&c, &R.acc, gla, buf, 16, 0, &r), GPT_OK);
	assert_int_equal(buf[0], 0x11);
	/* second page supervisor-only, fetch at CPL 3 */
	wr64(e2[1], 0x3000 | P);
	assert_int_equal(gpt_copy_in(&c, &R.acc, gla, buf, 16, GPT_FETCH, &r), GPT_PF);
	assert_int_equal(r.pf_error, PF_P | PF_U | PF_I);
	/* implicit access at CPL 3 is supervisor: allowed */
	assert_int_equal(gpt_copy_in(&c, &R.acc, gla, buf, 16, GPT_IMPLICIT, &r), GPT_OK);
	/* second page is not RAM (MMIO): unreadable after 8 bytes */
	wr64(e2[1], 0x10000000ull | P | RW | US);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gpt_copy_in(&c, &R.acc, gla, buf, 16, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.done, 8);
	assert_int_equal(r.gpa, 0x10000000ull);
	assert_int_equal(r.gla, 0x00007f0000002000ull);
	assert_int_equal(buf[7], 0x11);
	/* crossing out of the canonical range */
	c.cpl = 0;
	map(M4, root, 0x00007ffffffff000ull, 0x4000, 1, P | RW, e);
	assert_int_equal(gpt_copy_in(&c, &R.acc, 0x00007ffffffffffcull, buf, 8, 0, &r), GPT_GP);
	assert_int_equal(r.gla, 0x0000800000000000ull);
	assert_int_equal(r.done, 0);
}

static void test_copy_wrap_32bit(void **state)
{
	(void)state;
	uint64_t root = new_root(M32), e[6];
	struct gpt_cpu c = cpu_for(M32, root);
	struct gpt_result r;
	uint8_t buf[8];

	map(M32, root, 0xfffff000, 0x5000, 1, P | RW, e);
	map(M32, root, 0x00000000, 0x6000, 1, P | RW, e);
	memcpy(R.mem + 0x5ffc, "\x01\x02\x03\x04", 4);
	memcpy(R.mem + 0x6000, "\x05\x06\x07\x08", 4);
	assert_int_equal(gpt_copy_in(&c, &R.acc, 0xfffffffc, buf, 8, 0, &r), GPT_OK);
	assert_int_equal(memcmp(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0);
	/* paging off: flat, wraps too */
	c.cr0 = CR0_PE;
	memcpy(R.mem + 0, "\x09\x0a", 2);
	R.mem[0x10] = 0x42;
	assert_int_equal(gpt_copy_in(&c, &R.acc, 0x700000010ull, buf, 3, 0, &r), GPT_OK);
	assert_int_equal(buf[0], 0x42);
	R.mem[RAM_SIZE - 1] = 0x43;
	assert_int_equal(gpt_copy_in(&c, &R.acc, RAM_SIZE - 1, buf, 3, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.done, 1);
	assert_int_equal(buf[0], 0x43);
	assert_int_equal(r.gpa, RAM_SIZE);
	assert_int_equal(gpt_copy_in(&c, &R.acc, 0xffffffff, buf, 3, 0, &r), GPT_UNREADABLE);
	assert_int_equal(r.done, 0);
	assert_int_equal(r.gpa, 0xffffffff);
	assert_int_equal(gpt_copy_out(&c, &R.acc, 0x100000000ull, "\xaa\xbb", 2, 0, &r), GPT_OK);
	assert_int_equal(R.mem[0], 0xaa);
	assert_int_equal(R.mem[1], 0xbb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_4m_pse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_ps_without_pse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_ignores_xd_and_nxe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pae_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pae_pdpte_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pae_cached_pdptes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pae_reserved_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_4level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_5level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions_32_pae, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accessed_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_back_failure_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_cross_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_fault_second_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_wrap_32bit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
