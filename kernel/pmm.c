/* Free-range bookkeeping for physical memory. */
#include <hv/layout.h>
#include <hv/pmm.h>
#include <hv/string.h>

#define PAGE_MASK ((uint64_t)PAGE_SIZE - 1)

static uint64_t align_up(uint64_t v, uint64_t a) { return v + ((a - v % a) % a); }
static uint64_t align_down(uint64_t v, uint64_t a) { return v - v % a; }

void pmm_init(struct pmm *p)
{
	p->count = 0;
	p->dropped = 0;
}

static void remove_at(struct pmm *p, uint32_t i)
{
	memmove(&p->free[i], &p->free[i + 1], (p->count - i - 1) * sizeof(p->free[0]));
	p->count--;
}

static void insert_at(struct pmm *p, uint32_t i, uint64_t base, uint64_t end)
{
	if (p->count == PMM_MAX_RANGES) {
		p->dropped++;
		return;
	}
	memmove(&p->free[i + 1], &p->free[i], (p->count - i) * sizeof(p->free[0]));
	p->free[i].base = base;
	p->free[i].end = end;
	p->count++;
}

static void add_aligned(struct pmm *p, uint64_t base, uint64_t end)
{
	uint32_t i = 0;

	if (base < PAGE_SIZE)
		base = PAGE_SIZE; /* PMM_NO_PAGE must stay unambiguous */
	if (base >= end)
		return;
	while (i < p->count && p->free[i].end < base)
		i++;
	/* Absorb every range that overlaps or touches [base, end). */
	while (i < p->count && p->free[i].base <= end) {
		if (p->free[i].base < base)
			base = p->free[i].base;
		if (p->free[i].end > end)
			end = p->free[i].end;
		remove_at(p, i);
	}
	insert_at(p, i, base, end);
}

void pmm_add(struct pmm *p, uint64_t base, uint64_t end)
{
	if (end <= base || base > UINT64_MAX - PAGE_MASK)
		return;
	add_aligned(p, align_up(base, PAGE_SIZE), align_down(end, PAGE_SIZE));
}

void pmm_reserve(struct pmm *p, uint64_t base, uint64_t end)
{
	base = align_down(base, PAGE_SIZE);
	end = end > UINT64_MAX - PAGE_MASK ? UINT64_MAX & ~PAGE_MASK : align_up(end, PAGE_SIZE);
	if (base >= end)
		return;
	for (uint32_t i = 0; i < p->count;) {
		struct pmm_range r = p->free[i];

		if (r.end <= base || r.base >= end) {
			i++;
			continue;
		}
		remove_at(p, i);
		if (r.base < base)
			insert_at(p, i++, r.base, base);
		if (r.end > end)
			insert_at(p, i++, end, r.end);
	}
}

uint64_t pmm_alloc(struct pmm *p, uint64_t size, uint64_t align, uint64_t limit)
{
	if (size == 0 || align < PAGE_SIZE || (align & (align - 1)) || size > UINT64_MAX - PAGE_MASK)
		return PMM_NO_PAGE;
	size = align_up(size, PAGE_SIZE);
	for (uint32_t i = p->count; i-- > 0;) {
		uint64_t top = p->free[i].end < limit ? p->free[i].end : limit;

		if (top < p->free[i].base || top - p->free[i].base < size)
			continue;
		uint64_t base = align_down(top - size, align);
		if (base < p->free[i].base)
			continue;
		pmm_reserve(p, base, base + size);
		return base;
	}
	return PMM_NO_PAGE;
}

void pmm_free(struct pmm *p, uint64_t base, uint64_t size)
{
	/* Same rounding as pmm_alloc, so a block goes back whole. */
	if (size > UINT64_MAX - PAGE_MASK || base > UINT64_MAX - align_up(size, PAGE_SIZE))
		return;
	pmm_add(p, base, base + align_up(size, PAGE_SIZE));
}

uint64_t pmm_free_bytes(const struct pmm *p)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < p->count; i++)
		total += p->free[i].end - p->free[i].base;
	return total;
}
