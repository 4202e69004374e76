/* Guest kernel loaders: they fill guest memory and the bootstrap vcpu's starting state. */
#ifndef HV_LOADER_H
#define HV_LOADER_H

#include <hv/vmm.h>
#include <stdbool.h>
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

/* The entry state both Multiboot versions give (Multiboot 3.2, Multiboot2 3.3): vcpu 0 at entry in
 * 32-bit protected mode with paging off, flat CS and data segments, IF clear, EAX = magic, EBX = the
 * boot information's address. */
void multiboot_boot_state(struct vcpu *v, uint32_t magic, uint32_t entry, uint32_t info);

struct linux_e820;

/* True when image has a Multiboot2 header (magic and checksum) where the specification puts one:
 * 8-byte aligned within the first 32 KiB. */
bool mb2_has_header(const uint8_t *image, uint64_t size);

/*
 * Multiboot2 kernel (Multiboot2 Specification 2.0): an ELF32 or ELF64 loaded by its program headers'
 * physical addresses, or the range its address tag gives; the entry address tag wins over the ELF
 * entry; a relocatable image stays at its linked address when the tag allows it, else goes as low
 * as the tag and the map allow. Modules and the boot information follow the kernel in RAM of map
 * (the VM's memory map, given to the guest as is); the ACPI tag carries a copy of the RSDP at
 * acpi_rsdp_gpa (0: no ACPI tag). Header tags hv cannot honour (a required console, framebuffer,
 * boot information it does not give, unknown tags) are refused unless marked optional. Returns NULL
 * or a sentence saying why not, in a static buffer until the next call when it has numbers.
 */
const char *mb2_load(struct vm *vm, const uint8_t *image, uint64_t size, const char *cmdline,
		     const struct loader_module *modules, uint32_t module_count, const struct linux_e820 *map,
		     uint32_t map_entries, uint64_t acpi_rsdp_gpa);

#endif
