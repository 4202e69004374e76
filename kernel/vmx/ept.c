/* Extended page tables (SDM vol. 3 28.3): guest-physical -> host-physical, write-back RAM. */
#include <hv/mm.h>
#include <hv/string.h>

#include "vmx.h"

#define EPT_READ (1ull << 0)
#define EPT_WRITE (1ull << 1)
#define EPT_EXECUTE (1ull << 2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXECUTE)
#define EPT_MEMTYPE_WB (6ull << 3)
#define EPT_LARGE (1ull << 7)
#define EPT_ADDR 0x000ffffffffff000ull
#define EPTP_WB 6ull
#define EPTP_WALK_4 (3ull << 3)

#define SIZE_2M 0x200000ull

static uint64_t *ept_table(uint64_t phys) { return phys_to_virt(phys); }

/* The entry for gpa at level 1 (4 KiB) or 2 (2 MiB), creating tables on the way. */
static uint64_t *ept_walk(struct vmx_vm *vv, uint64_t gpa, int level)
{
	uint64_t table = vv->ept_root;

	for (int l = 4; l > level; l--) {
		uint64_t *e = &ept_table(table)[(gpa >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & EPT_RWX)) {
			uint64_t page = page_alloc_zeroed();
			if (!page)
				return NULL;
			*e = page | EPT_RWX;
		} else if (*e & EPT_LARGE) {
			return NULL;
		}
		table = *e & EPT_ADDR;
	}
	return &ept_table(table)[(gpa >> (12 + 9 * (level - 1))) & 511];
}

bool ept_init(struct vmx_vm *vv)
{
	vv->ept_root = page_alloc_zeroed();
	if (!vv->ept_root)
		return false;
	vv->eptp = vv->ept_root | EPTP_WALK_4 | EPTP_WB;
	return true;
}

bool ept_map(struct vmx_vm *vv, uint64_t gpa, uint64_t hpa, uint64_t len)
{
	uint64_t end = gpa + len;

	while (gpa < end) {
		bool large = !(gpa & (SIZE_2M - 1)) && !(hpa & (SIZE_2M - 1)) && end - gpa >= SIZE_2M;
		uint64_t *e = ept_walk(vv, gpa, large ? 2 : 1);
		if (!e)
			return false;
		*e = hpa | EPT_RWX | EPT_MEMTYPE_WB | (large ? EPT_LARGE : 0);
		gpa += large ? SIZE_2M : PAGE_SIZE;
		hpa += large ? SIZE_2M : PAGE_SIZE;
	}
	return true;
}
