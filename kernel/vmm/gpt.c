/*
 * Guest page-table walker (see include/hv/gpt.h). Pure logic: guest memory only through
 * struct gpt_access; entries are read whole and little-endian, so a table anywhere works.
 * References: SDM vol. 3 4.3 (32-bit), 4.4 (PAE), 4.5 (4/5-level), 4.6 (access rights),
 * 4.7 (page-fault error code), 4.8 (accessed and dirty flags).
 */
#include <hv/gpt.h>
#include <hv/string.h>

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

static bool read_entry(const struct gpt_access *mem, uint64_t gpa, unsigned size, uint64_t *val)
{
	uint8_t b[8];

	if (!mem->read(gpa, b, size, mem->ctx))
		return false;
	*val = 0;
	for (unsigned i = 0; i < size; i++)
		*val |= (uint64_t)b[i] << (8 * i);
	return true;
}

static enum gpt_status pf(struct gpt_result *res, uint64_t gla, uint32_t err)
{
	res->status = GPT_PF;
	res->pf_error = err;
	res->cr2 = gla;
	res->gla = gla;
	return GPT_PF;
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
	const unsigned m = phys_width(cpu);
	const uint64_t addr_mask = bits(m - 1, 12);
	uint64_t ent_gpa[MAX_LEVELS], ent_val[MAX_LEVELS];
	unsigned nent = 0;
	uint32_t err_base;
	uint64_t table, page_size = 0, gpa = 0;
	unsigned levels, shift, idx_bits, esize;
	bool rw = true, us = true, xd = false, lm = false;

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

	err_base = (write ? PF_W : 0) | (user ? PF_U : 0) |
		   (fetch && ((cpu->cr4 & CR4_SMEP) || nxe) ? PF_I : 0);

	if (cpu->efer & EFER_LMA) {
		/* 4-level or 5-level paging (LMA implies PAE) */
		unsigned vbits = (cpu->cr4 & CR4_LA57) ? 57 : 48;
		int64_t sx = (int64_t)(gla << (64 - vbits)) >> (64 - vbits);

		if ((uint64_t)sx != gla) {
			res->status = GPT_GP;
			return GPT_GP;
		}
		lm = true;
		levels = vbits == 57 ? 5 : 4;
		shift = vbits - 9;
		idx_bits = 9;
		esize = 8;
		table = cpu->cr3 & addr_mask;
	} else if (pae) {
		uint64_t pdpte;
		unsigned i;

		gla &= 0xffffffffull;
		res->gla = gla;
		i = (unsigned)(gla >> 30) & 3;
		if (cpu->pdptes_valid) {
			pdpte = cpu->pdpte[i];
		} else {
			uint64_t a = (cpu->cr3 & 0xffffffe0ull) + 8ull * i;

			if (!read_entry(mem, a, 8, &pdpte)) {
				res->status = GPT_UNREADABLE;
				res->gpa = a;
				return GPT_UNREADABLE;
			}
		}
		if (!(pdpte & PTE_P))
			return pf(res, gla, err_base);
		if (pdpte & (bits(63, m) | bits(8, 5) | bits(2, 1)))
			return pf(res, gla, err_base | PF_P | PF_RSVD);
		levels = 2;
		shift = 21;
		idx_bits = 9;
		esize = 8;
		table = pdpte & addr_mask;
	} else {
		gla &= 0xffffffffull;
		res->gla = gla;
		levels = 2;
		shift = 22;
		idx_bits = 10;
		esize = 4;
		table = cpu->cr3 & 0xfffff000ull;
	}

	for (unsigned lvl = levels;; lvl--) {
		uint64_t idx = (gla >> shift) & ((1ull << idx_bits) - 1);
		uint64_t a = table + idx * esize, e, rsvd;
		bool leaf;

		if (!read_entry(mem, a, esize, &e)) {
			res->status = GPT_UNREADABLE;
			res->gpa = a;
			return GPT_UNREADABLE;
		}
		if (!(e & PTE_P))
			return pf(res, gla, err_base);

		if (esize == 4) {
			/* 32-bit paging: only a 4 MiB PDE has reserved bits (SDM table 4-4) */
			leaf = lvl == 1 || ((cpu->cr4 & CR4_PSE) && (e & PTE_PS));
			rsvd = 0;
			if (lvl == 2 && leaf) {
				unsigned mm = m < 40 ? m : 40;

				rsvd = bits(21, 21) | bits(20, mm - 19);
			}
		} else {
			/* PAE: bits 62:M reserved; 4/5-level: bits 51:M (62:52 are ignored) */
			rsvd = bits(lm ? 51 : 62, m);
			if (!nxe)
				rsvd |= PTE_XD;
			if (lvl >= 4)
				rsvd |= PTE_PS;
			leaf = lvl == 1 || ((lvl == 2 || lvl == 3) && (e & PTE_PS));
			if (leaf && lvl == 2)
				rsvd |= bits(20, 13);
			else if (leaf && lvl == 3)
				rsvd |= bits(29, 13);
		}
		if (e & rsvd)
			return pf(res, gla, err_base | PF_P | PF_RSVD);

		ent_gpa[nent] = a;
		ent_val[nent] = e;
		nent++;
		rw = rw && (e & PTE_RW);
		us = us && (e & PTE_US);
		xd = xd || (nxe && (e & PTE_XD));

		if (leaf) {
			page_size = 1ull << shift;
			if (esize == 4 && lvl == 2)
				gpa = (e & 0xffc00000ull) | ((e >> 13) & 0xffull) << 32;
			else if (esize == 4)
				gpa = e & 0xfffff000ull;
			else
				gpa = e & addr_mask & ~(page_size - 1);
			gpa |= gla & (page_size - 1);
			break;
		}
		table = esize == 4 ? (e & 0xfffff000ull) : (e & addr_mask);
		shift -= idx_bits;
	}

	/* Access rights, SDM 4.6.1 */
	if (user) {
		if (!us || (write && !rw) || (fetch && xd))
			return pf(res, gla, err_base | PF_P);
	} else if (fetch) {
		if (xd || (us && (cpu->cr4 & CR4_SMEP)))
			return pf(res, gla, err_base | PF_P);
	} else {
		/* explicit supervisor accesses happen only at CPL < 3, so AC alone decides */
		if (us && (cpu->cr4 & CR4_SMAP) && (implicit || !cpu->ac))
			return pf(res, gla, err_base | PF_P);
		if (write && !rw && (cpu->cr0 & CR0_WP))
			return pf(res, gla, err_base | PF_P);
	}

	/* Success: set A in every entry used, D in the final one for a write (SDM 4.8). */
	for (unsigned i = 0; i < nent; i++) {
		uint64_t want = ent_val[i] | PTE_A;
		uint8_t b;

		if (i == nent - 1 && write)
			want |= PTE_D;
		if (want == ent_val[i])
			continue;
		b = (uint8_t)want;
		(void)mem->write(ent_gpa[i], &b, 1, mem->ctx);
	}

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

static enum gpt_status copy(const struct gpt_cpu *cpu, const struct gpt_access *mem, uint64_t gla,
			    uint8_t *in, const uint8_t *out, bool to_guest, size_t len,
			    uint32_t access, struct gpt_result *res)
{
	struct gpt_result r;
	size_t off, n;

	memset(res, 0, sizeof(*res));
	res->gla = gla;
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
