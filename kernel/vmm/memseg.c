/* Guest-physical to host: the VM's memory segments. Pure, so loaders' host tests use it too. */
#include <hv/vmm.h>

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (uint32_t i = 0; i < vm->memseg_count; i++) {
		struct vm_memseg *s = &vm->memsegs[i];
		if (gpa >= s->gpa && len <= s->len && gpa - s->gpa <= s->len - len)
			return (uint8_t *)s->hva + (gpa - s->gpa);
	}
	return NULL;
}
