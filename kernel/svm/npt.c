/* Nested page tables (AMD APM vol. 2 15.25): guest-physical -> host-physical in the ordinary
 * 4-level long-mode format. Nested walks are user-mode accesses, so every entry carries U/S.
 * PWT/PCD/PAT stay 0 (host PAT entry 0, write-back); the guest's PAT (VMCB G_PAT) combines with it. */
#include <hv/mm.h>
#include <hv/string.h>

#include "svm.h"

#define NPT_P (1ull << 0)
#define NPT_RW (1ull << 1)
#define NPT_US (1ull << 2)
#define NPT_PS (1ull << 7)
#define NPT_RWU (NPT_P | NPT_RW | NPT_US)
#define NPT_ADDR 0x000ffffffffff000ull

#define SIZE_2M 0x200000ull

static uint64_t *npt_table(uint64_t phys) { return phys_to_virt(phys); }

/* The entry for gpa at level 1 (4 KiB) or 2 (2 MiB), creating tables on the way. */
static uint64_t *npt_walk(struct svm_vm *sv, uint64_t gpa, int level)
{
	uint64_t table = sv->npt_root;

	for (int l = 4; l > level; l--) {
		uint64_t *e = &npt_table(table)[(gpa >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & NPT_P)) {
			uint64_t page = page_alloc_zeroed();
			if (!page)
				return NULL;
			*e = page | NPT_RWU;
		} else if (*e & NPT_PS) {
			return NULL;
		}
		table = *e & NPT_ADDR;
	}
	return &npt_table(table)[(gpa >> (12 + 9 * (level - 1))) & 511];
}

bool npt_init(struct svm_vm *sv)
{
	sv->npt_root = page_alloc_zeroed();
	return sv->npt_root != 0;
}

bool npt_map(struct svm_vm *sv, uint64_t gpa, uint64_t hpa, uint64_t len)
{
	uint64_t end = gpa + len;

	while (gpa < end) {
		bool large = !(gpa & (SIZE_2M - 1)) && !(hpa & (SIZE_2M - 1)) && end - gpa >= SIZE_2M;
		uint64_t *e = npt_walk(sv, gpa, large ? 2 : 1);
		if (!e)
			return false;
		*e = hpa | NPT_RWU | (large ? NPT_PS : 0);
		gpa += large ? SIZE_2M : PAGE_SIZE;
		hpa += large ? SIZE_2M : PAGE_SIZE;
	}
	return true;
}
