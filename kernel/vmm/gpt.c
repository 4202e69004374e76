/*
 * Guest page-table walker (see include/hv/gpt.h). Pure logic: guest memory only through
 * struct gpt_access; entries are read whole and little-endian, so a table anywhere works.
 * References: SDM vol. 3 4.3 (32-bit), 4.4 (PAE), 4.5 (4/5-level), 4.6 (access rights),
 * 4.7 (page-fault error code), 4.8 (accessed and dirty flags).
 */
#include <hv/gpt.h>

#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)

#define PAGE_4K 0x1000ull
#define MAX_LEVELS 5

/* bits lo..hi inclusive */
static uint64_t bits(unsigned hi, unsigned lo)
{
	if (hi < lo)
		return 0;
	return ((hi >= 63) ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

static unsigned phys_width(const struct gpt_cpu *cpu)
{
	unsigned m = cpu->maxphyaddr ? cpu->maxphyaddr : 52;

	if (m < 32)
		m = 32;
	if (m > 52)
		m = 52;
	return m;
}

/* An entry is little-endian in guest memory, as it is in the (x86) host's: read in place. */
static bool read_entry(const struct gpt_access *mem, uint64_t gpa, unsigned size, uint64_t *val)
{
	*val = 0;
	return mem->read(gpa, val, size, mem->ctx);
}

static enum gpt_status pf(struct gpt_result *res, uint64_t gla, uint32_t err)
{
	res->status = GPT_PF;
	res->pf_error = err;
	res->cr2 = gla;
	res->gla = gla;
	return GPT_PF;
}

static enum gpt_status unreadable(struct gpt_result *res, uint64_t gpa)
{
	res->status = GPT_UNREADABLE;
	res->gpa = gpa;
	return GPT_UNREADABLE;
}

/* A walk under way: the entries it used (their A/D bits are set once it succeeds) and their bits
 * and-ed and or-ed together, which give the rights (R/W and U/S in all, XD in any). */
struct walk {
	uint64_t gla;
	uint32_t err_base; /* PF_W, PF_U, PF_I as the access has them */
	unsigned nent;
	uint64_t all, any;
	uint64_t ent_gpa[MAX_LEVELS], ent_val[MAX_LEVELS];
};

static void use_entry(struct walk *w, uint64_t gpa, uint64_t e)
{
	w->ent_gpa[w->nent] = gpa;
	w->ent_val[w->nent] = e;
	w->nent++;
	w->all &= e;
	w->any |= e;
}

/* 32-bit paging (SDM 4.3): a directory and a table of 4-byte entries, or a 4 MiB page with
 * CR4.PSE, whose PDE alone has reserved bits (SDM table 4-4). */
static enum gpt_status walk32(const struct gpt_cpu *cpu, const struct gpt_access *mem, unsigned m, struct walk *w,
			      struct gpt_result *res, uint64_t *gpa, uint64_t *page_size)
{
	uint64_t a = (cpu->cr3 & 0xfffff000ull) + ((w->gla >> 22) & 0x3ff) * 4, e;

	if (!read_entry(mem, a, 4, &e))
		return unreadable(res, a);
	if (!(e & PTE_P))
		return pf(res, w->gla, w->err_base);
	if ((cpu->cr4 & CR4_PSE) && (e & PTE_PS)) {
		unsigned mm = m < 40 ? m : 40;

		if (e & (bits(21, 21) | bits(20, mm - 19)))
			return pf(res, w->gla, w->err_base | PF_P | PF_RSVD);
		use_entry(w, a, e);
		*page_size = 0x400000;
		*gpa = (e & 0xffc00000ull) | ((e >> 13) & 0xffull) << 32 | (w->gla & 0x3fffff);
		return GPT_OK;
	}
	use_entry(w, a, e);
	a = (e & 0xfffff000ull) + ((w->gla >> 12) & 0x3ff) * 4;
	if (!read_entry(mem, a, 4, &e))
		return unreadable(res, a);
	if (!(e & PTE_P))
		return pf(res, w->gla, w->err_base);
	use_entry(w, a, e);
	*page_size = PAGE_4K;
	*gpa = (e & 0xfffff000ull) | (w->gla & 0xfff);
	return GPT_OK;
}

/* PAE and 4/5-level paging (SDM 4.4, 4.5): levels tables of 8-byte entries from table down, the
 * first indexed at bit shift. rsvd: the bits reserved in every entry; PS is reserved too above
 * the PDPT, and so are a large page's address bits below its size. */
static enum gpt_status walk64(const struct gpt_access *mem, uint64_t table, unsigned levels, unsigned shift,
			      uint64_t addr_mask, uint64_t rsvd, struct walk *w, struct gpt_result *res, uint64_t *gpa,
			      uint64_t *page_size)
{
	for (unsigned lvl = levels;; lvl--, shift -= 9) {
		uint64_t a = table + ((w->gla >> shift) & 0x1ff) * 8, e;

		if (!read_entry(mem, a, 8, &e))
			return unreadable(res, a);
		if (!(e & PTE_P))
			return pf(res, w->gla, w->err_base);
		bool leaf = lvl == 1 || (lvl <= 3 && (e & PTE_PS));
		uint64_t r = rsvd | (lvl >= 4 ? PTE_PS : 0);
		if (leaf && lvl == 2)
			r |= bits(20, 13);
		else if (leaf && lvl == 3)
			r |= bits(29, 13);
		if (e & r)
			return pf(res, w->gla, w->err_base | PF_P | PF_RSVD);
		use_entry(w, a, e);
		if (leaf) {
			*page_size = 1ull << shift;
			*gpa = (e & addr_mask & ~(*page_size - 1)) | (w->gla & (*page_size - 1));
			return GPT_OK;
		}
		table = e & addr_mask;
	}
}

/* Access rights (SDM 4.6.1) of the page the walk found; then the walk's A/D bits (SDM 4.8): A in
 * every entry used, D in the final one for a write. */
static enum gpt_status finish(const struct gpt_cpu *cpu, const struct gpt_access *mem, const struct walk *w,
			      bool write, bool fetch, bool implicit, bool user, bool nxe, struct gpt_result *res)
{
	const bool rw = w->all & PTE_RW, us = w->all & PTE_US, xd = nxe && (w->any & PTE_XD);

	if (user) {
		if (!us || (write && !rw) || (fetch && xd))
			return pf(res, w->gla, w->err_base | PF_P);
	} else if (fetch) {
		if (xd || (us && (cpu->cr4 & CR4_SMEP)))
			return pf(res, w->gla, w->err_base | PF_P);
	} else {
		/* explicit supervisor accesses happen only at CPL < 3, so AC alone decides */
		if (us && (cpu->cr4 & CR4_SMAP) && (implicit || !cpu->ac))
			return pf(res, w->gla, w->err_base | PF_P);
		if (write && !rw && (cpu->cr0 & CR0_WP))
			return pf(res, w->gla, w->err_base | PF_P);
	}
	/* Most walks find every A (and the page's D) set already: nothing to write. */
	if ((w->all & PTE_A) && (!write || (w->ent_val[w->nent - 1] & PTE_D)))
		return GPT_OK;
	for (unsigned i = 0; i < w->nent; i++) {
		uint64_t want = w->ent_val[i] | PTE_A;
		uint8_t b;

		if (i == w->nent - 1 && write)
			want |= PTE_D;
		if (want == w->ent_val[i])
			continue;
		b = (uint8_t)want;
		(void)mem->write(w->ent_gpa[i], &b, 1, mem->ctx);
	}
	return GPT_OK;
}

enum gpt_status gpt_translate(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			      uint32_t access, struct gpt_result *res)
{
	const bool write = access & GPT_WRITE;
	const bool fetch = (access & GPT_FETCH) && !write;
	const bool implicit = access & GPT_IMPLICIT;
	const bool user = cpu->cpl == 3 && !implicit;
	/* EFER.LMA implies PAE (a consistent guest never has one without the other) */
	const bool pae = (cpu->cr4 & CR4_PAE) || (cpu->efer & EFER_LMA);
	const bool nxe = pae && (cpu->efer & EFER_NXE);
	struct walk w;
	uint64_t gpa, page_size;
	enum gpt_status st;

	res->status = GPT_OK;
	res->gpa = 0;
	res->page_size = 0;
	res->pf_error = 0;
	res->cr2 = 0;
	res->gla = gla;

	if (!(cpu->cr0 & CR0_PG)) {
		res->gpa = gla & 0xffffffffull;
		res->page_size = PAGE_4K;
		return GPT_OK;
	}

	const unsigned m = phys_width(cpu);
	const uint64_t addr_mask = bits(m - 1, 12);
	const uint64_t xd_rsvd = nxe ? 0 : PTE_XD;

	w.err_base = (write ? PF_W : 0) | (user ? PF_U : 0) | (fetch && ((cpu->cr4 & CR4_SMEP) || nxe) ? PF_I : 0);
	w.nent = 0;
	w.all = ~0ull;
	w.any = 0;
	if (cpu->efer & EFER_LMA) {
		/* 4-level or 5-level paging: bits 51:M reserved (62:52 are ignored) */
		unsigned vbits = (cpu->cr4 & CR4_LA57) ? 57 : 48;
		int64_t sx = (int64_t)(gla << (64 - vbits)) >> (64 - vbits);

		if ((uint64_t)sx != gla) {
			res->status = GPT_GP;
			return GPT_GP;
		}
		w.gla = gla;
		st = walk64(mem, cpu->cr3 & addr_mask, vbits == 57 ? 5 : 4, vbits - 9, addr_mask, bits(51, m) | xd_rsvd,
			    &w, res, &gpa, &page_size);
	} else if (pae) {
		/* PAE paging: the PDPTE, then bits 62:M reserved */
		uint64_t pdpte;
		unsigned i;

		gla &= 0xffffffffull;
		res->gla = w.gla = gla;
		i = (unsigned)(gla >> 30) & 3;
		if (cpu->pdptes_valid) {
			pdpte = cpu->pdpte[i];
		} else {
			uint64_t a = (cpu->cr3 & 0xffffffe0ull) + 8ull * i;

			if (!read_entry(mem, a, 8, &pdpte))
				return unreadable(res, a);
		}
		if (!(pdpte & PTE_P))
			return pf(res, gla, w.err_base);
		if (pdpte & (bits(63, m) | bits(8, 5) | bits(2, 1)))
			return pf(res, gla, w.err_base | PF_P | PF_RSVD);
		st = walk64(mem, pdpte & addr_mask, 2, 21, addr_mask, bits(62, m) | xd_rsvd, &w, res, &gpa, &page_size);
	} else {
		gla &= 0xffffffffull;
		res->gla = w.gla = gla;
		st = walk32(cpu, mem, m, &w, res, &gpa, &page_size);
	}
	if (st == GPT_OK)
		st = finish(cpu, mem, &w, write, fetch, implicit, user, nxe, res);
	if (st != GPT_OK)
		return st;
	res->gpa = gpa;
	res->page_size = page_size;
	return GPT_OK;
}

static uint64_t wrap(const struct gpt_cpu *cpu, uint64_t gla)
{
	if ((cpu->cr0 & CR0_PG) && (cpu->efer & EFER_LMA))
		return gla;
	return gla & 0xffffffffull;
}

/* Within one page a single translation does for both passes of copy(). */
static enum gpt_status copy_one_page(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
				     uint8_t *in, const uint8_t *out, bool to_guest, size_t len, uint32_t access,
				     struct gpt_result *res)
{
	uint64_t a = wrap(cpu, gla);

	if (gpt_translate(cpu, mem, a, access, res) != GPT_OK)
		return res->status;
	bool ok = !to_guest ? mem->read(res->gpa, in, (uint32_t)len, mem->ctx)
			    : mem->write(res->gpa, out, (uint32_t)len, mem->ctx);
	if (!ok) {
		res->status = GPT_UNREADABLE;
		res->page_size = 0;
		res->gla = a;
		return GPT_UNREADABLE;
	}
	res->gla = gla;
	res->done = len;
	return GPT_OK;
}

static enum gpt_status copy(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			    uint8_t *in, const uint8_t *out, bool to_guest, size_t len,
			    uint32_t access, struct gpt_result *res)
{
	struct gpt_result r;
	size_t off, n;

	*res = (struct gpt_result){ .gla = gla };
	if (len && (wrap(cpu, gla) & (PAGE_4K - 1)) + len <= PAGE_4K)
		return copy_one_page(cpu, mem, gla, in, out, to_guest, len, access, res);
	/* pass 1: every page must translate before any byte moves */
	for (off = 0; off < len; off += n) {
		uint64_t a = wrap(cpu, gla + off);

		n = PAGE_4K - (a & (PAGE_4K - 1));
		if (n > len - off)
			n = len - off;
		if (gpt_translate(cpu, mem, a, access, &r) != GPT_OK) {
			r.done = 0;
			*res = r;
			return r.status;
		}
	}
	/* pass 2: translate again (A/D already set) and move the bytes */
	for (off = 0; off < len; off += n) {
		uint64_t a = wrap(cpu, gla + off);
		bool ok;

		n = PAGE_4K - (a & (PAGE_4K - 1));
		if (n > len - off)
			n = len - off;
		if (gpt_translate(cpu, mem, a, access, &r) != GPT_OK) {
			/* only if the tables changed under us (another vCPU) */
			r.done = off;
			*res = r;
			return r.status;
		}
		ok = !to_guest ? mem->read(r.gpa, in + off, (uint32_t)n, mem->ctx)
			: mem->write(r.gpa, out + off, (uint32_t)n, mem->ctx);
		if (!ok) {
			res->status = GPT_UNREADABLE;
			res->gpa = r.gpa;
			res->gla = a;
			res->done = off;
			return GPT_UNREADABLE;
		}
		if (off == 0) {
			res->gpa = r.gpa;
			res->page_size = r.page_size;
		}
	}
	res->status = GPT_OK;
	res->done = len;
	return GPT_OK;
}

enum gpt_status gpt_copy_in(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			    void *buf, size_t len, uint32_t access, struct gpt_result *res)
{
	return copy(cpu, mem, gla, buf, NULL, false, len, access & ~GPT_WRITE, res);
}

enum gpt_status gpt_copy_out(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			     const void *buf, size_t len, uint32_t access, struct gpt_result *res)
{
	return copy(cpu, mem, gla, NULL, buf, true, len, (access & ~GPT_FETCH) | GPT_WRITE, res);
}
