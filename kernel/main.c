/* kernel_main: both boot paths end here with one struct boot_info. */
#include <hv/apic.h>
#include <hv/boot_info.h>
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/operator.h>
#include <hv/options.h>
#include <hv/panic.h>
#include <hv/percpu.h>
#include <hv/platform.h>
#include <hv/smp.h>
#include <hv/string.h>
#include <hv/timer.h>
#include <hv/vmm_boot.h>
#include <hv/version.h>
#include <hv/x86.h>

#define PANIC_TEST_ADDRESS ((uint64_t)0xdead000) /* outside every mapping hv makes */

struct hv_options hv_options;
static struct boot_info boot_info;

static const char *boot_method_name(uint32_t method)
{
	switch (method) {
	case BOOT_METHOD_UEFI:
		return "uefi";
	case BOOT_METHOD_MULTIBOOT2:
		return "multiboot2";
	default:
		return "unknown";
	}
}

static void log_memory(const struct boot_info *bi)
{
	uint64_t usable = 0;

	for (uint32_t i = 0; i < bi->mmap_count; i++)
		if (bi->mmap[i].type == BOOT_MEM_USABLE)
			usable += bi->mmap[i].length;
	pr_info("memory: %lu MiB usable in the firmware map (%u ranges), %lu MiB free for hv and guests",
		usable >> 20, bi->mmap_count, phys_free_bytes() >> 20);
	pr_info("kernel at 0x%lx-0x%lx, %u boot modules", bi->kernel_phys_base, bi->kernel_phys_end,
		bi->module_count);
	for (uint32_t i = 0; i < bi->module_count; i++)
		pr_info("module %u: %s (%lu bytes at 0x%lx)", i, bi->modules[i].name, bi->modules[i].size,
			bi->modules[i].base);
}

static void parse_options(const struct boot_info *bi)
{
	char err[128];

	if (!options_parse(bi->cmdline, &hv_options, err, sizeof(err))) {
		pr_err("command line: %s", err);
		options_parse("", &hv_options, err, sizeof(err));
		hv_options.test_exit = cmdline_has(bi->cmdline, "test-exit");
	}
	console_set_level(hv_options.loglevel);
}

static void start_cpus(const struct acpi_info *acpi)
{
	static uint32_t apic_ids[ACPI_MAX_CPUS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < acpi->cpu_count; i++)
		if (acpi->cpus[i].enabled)
			apic_ids[n++] = acpi->cpus[i].apic_id;
	smp_boot(apic_ids, n, hv_options.maxcpus);
}

static void start_timers(const struct acpi_info *acpi)
{
	struct timer_reference ref = { 0 };

	if (acpi->has_hpet && acpi->hpet.base.space_id == ACPI_GAS_MEMORY)
		ref.hpet_phys = acpi->hpet.base.address;
	if (acpi->has_fadt && acpi->fadt.pm_timer.space_id == ACPI_GAS_IO) {
		ref.pm_timer_port = (uint16_t)acpi->fadt.pm_timer.address;
		ref.pm_timer_32bit = acpi->fadt.pm_timer_bits == 32;
	}
	timer_calibrate(&ref);
}

_Noreturn void kernel_main(const struct boot_info *bi)
{
	/* GS must point at cpus[0] before anything can fault and ask this_cpu(). */
	cpus[0].self = &cpus[0];
	wrmsr(MSR_GS_BASE, (uint64_t)&cpus[0]);
	if (bi != &boot_info)
		memcpy(&boot_info, bi, sizeof(boot_info));
	bi = &boot_info;

	console_init();
	smp_bsp_early_init();
	parse_options(bi);
	pr_info("hv %s starting", HV_VERSION);
	if (bi->magic != BOOT_INFO_MAGIC)
		boot_error("the boot loader's hand-off is not valid (bad magic); boot hv with GRUB multiboot2 or its EFI loader");
	pr_info("boot=%s cmdline \"%s\"", boot_method_name(bi->method), bi->cmdline);

	paging_cpu_init();
	mm_init(bi);
	paging_init(bi);
	log_memory(bi);

	const struct acpi_info *acpi = platform_acpi_init(bi);
	if (acpi->madt_flags & ACPI_MADT_PCAT_COMPAT)
		platform_mask_8259();
	lapic_init(acpi->lapic_address);
	ioapic_init(acpi);
	start_timers(acpi);
	vmm_select_backend();
	vmm_cpu_init();
	start_cpus(acpi);

	if (hv_options.panic_test) {
		pr_info("panic-test: writing to unmapped address 0x%lx", PANIC_TEST_ADDRESS);
		*(volatile uint64_t *)PANIC_TEST_ADDRESS = 1;
	}
	pr_info("boot complete");
	vmm_start_vms(bi);
	operator_start(acpi);
	if (hv_options.test_exit && !vmm_vms_running())
		test_exit(true);
	vmm_cpu_loop();
}
