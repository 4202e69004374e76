/*
 * libFuzzer target for kernel/vmm/loader_mb2.c: the input is a kernel image (the header goes at file
 * offset 0, where the fuzzer finds it fastest; the first input byte picks one of a few module sets).
 * Every image must be loaded or refused without touching anything outside the VM's RAM (ASan); a
 * loaded one must leave vcpu 0 at the Multiboot2 entry state with its information, aligned and
 * whole, inside RAM the memory map calls available and ending in an end tag.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hv/loader.h>
#include <hv/loader_linux.h>

#define CHECK(c)                      \
	do {                          \
		if (!(c))             \
			__builtin_trap(); \
	} while (0)

#define RAM_SIZE (8u << 20)
#define ACPI_BASE (RAM_SIZE - 0x10000)

static const struct linux_e820 map[] = {
	{ 0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0xe0000, 0x20000, 2 },
	{ 0x100000, ACPI_BASE - 0x100000, 1 },
	{ ACPI_BASE, RAM_SIZE - ACPI_BASE, 3 },
};

static struct vm vm;
static uint8_t *ram;

static void make_vm(void)
{
	if (!ram)
		ram = calloc(1, RAM_SIZE);
	memset(&vm, 0, sizeof(vm));
	vm.vcpu_count = 1;
	vm.vcpus[0].vm = &vm;
	vm.memsegs[0] = (struct vm_memseg){ .gpa = 0, .len = RAM_SIZE, .hpa = 0, .hva = ram };
	vm.memseg_count = 1;
	vm.mem_size = RAM_SIZE;
	vm.acpi_base = ACPI_BASE;
	/* an ACPI 2.0 RSDP (checksums are not the loader's business) */
	memcpy(ram + ACPI_BASE, "RSD PTR ", 8);
	ram[ACPI_BASE + 15] = 2;
	ram[ACPI_BASE + 20] = 36;
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;
	CHECK(gpa + 4 <= RAM_SIZE);
	memcpy(&v, ram + gpa, 4);
	return v;
}

static bool in_available(uint64_t gpa, uint64_t len)
{
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].type == 1 && gpa >= map[i].addr && gpa + len <= map[i].addr + map[i].size)
			return true;
	return false;
}

static void check_loaded(void)
{
	const struct vcpu_boot_state *b = &vm.vcpus[0].boot;
	uint64_t mbi = b->gpr[VM_REG_RBX];

	CHECK(b->valid && b->gpr[VM_REG_RAX] == 0x36d76289u && b->rip < (1ull << 32));
	CHECK(mbi % 8 == 0 && mbi < RAM_SIZE);
	uint32_t total = rd32(mbi);
	CHECK(total >= 16 && in_available(mbi, total));
	for (uint32_t off = 8;;) {
		CHECK(off % 8 == 0 && off + 8 <= total);
		uint32_t type = rd32(mbi + off), size = rd32(mbi + off + 4);
		if (type == 0) {
			CHECK(size == 8 && off + 8 == total);
			return;
		}
		CHECK(size >= 8 && size <= total - off);
		off += (size + 7) & ~7u;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t blob[3] = { 1, 2, 3 };
	static const struct loader_module mods[] = { { blob, 3, "a" }, { blob, 0, "empty x=1" },
						     { blob, 1, "b" } };

	if (size < 1)
		return 0;
	make_vm();
	uint32_t n = data[0] % 4;
	const char *err = mb2_load(&vm, data + 1, size - 1, "console=ttyS0", mods, n, map,
				   sizeof(map) / sizeof(map[0]), ACPI_BASE);
	if (err)
		CHECK(!vm.vcpus[0].boot.valid && err[0]);
	else
		check_loaded();
	return 0;
}
