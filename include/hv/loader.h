/* Guest kernel loaders: they fill guest memory and the bootstrap vcpu's starting state. */
#ifndef HV_LOADER_H
#define HV_LOADER_H

#include <hv/vmm.h>
#include <stddef.h>
#include <stdint.h>

struct loader_module {
	const uint8_t *data;
	uint64_t size;
	const char *string; /* the module's command line as the guest sees it */
};

/* Multiboot (v1) kernel, as QEMU's -kernel loads one: an ELF32, or an image with the header's
 * address fields. Returns NULL or a sentence saying why the image cannot be loaded. */
const char *mb1_load(struct vm *vm, const uint8_t *image, uint64_t size, const char *cmdline,
		     const struct loader_module *modules, uint32_t module_count);

#endif
