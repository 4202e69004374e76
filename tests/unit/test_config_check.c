/*
 * Unit tests of kernel/config_check.c, vms.cfg against the machine: missing guest files (the line of
 * the kernel/module key, the list of boot files, cut short when long), pins to CPUs that do not
 * exist, did not start, lack virtualization or are taken, automatic pins around explicit ones,
 * memory per VM (with the totals, and when free memory is in pieces), and that a refused VM leaves
 * its CPUs and memory to the VMs after it. Configurations go through the real parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <hv/config_check.h>

#define MIB (1ull << 20)
#define HOST_BYTES (512ull << 10)

static struct hv_config cfg;
static struct pmm memory;
static uint8_t cpu_state[8];
static const char *default_files[] = { "cpuid.elf", "modes.elf", "initrd.img" };
static struct config_machine machine;
static bool ok[CONFIG_MAX_VMS];
static char reports[CONFIG_MAX_VMS][CONFIG_CHECK_MESSAGE_MAX];
static uint32_t report_count;

static void collect(void *ctx, const char *message)
{
	(void)ctx;
	assert_true(report_count < CONFIG_MAX_VMS);
	assert_true(strlen(message) < CONFIG_CHECK_MESSAGE_MAX);
	strcpy(reports[report_count++], message);
}

/* cpus usable CPUs, the three default files, free memory [2 MiB, 2 MiB + free_mib). */
static void machine_with(uint32_t cpus, uint64_t free_mib)
{
	memset(cpu_state, CONFIG_CPU_USABLE, sizeof(cpu_state));
	pmm_init(&memory);
	pmm_add(&memory, 2 * MIB, (2 + free_mib) * MIB);
	machine = (struct config_machine){
		.files = default_files, .file_count = 3, .cpu_state = cpu_state, .cpu_count = cpus,
		.maxcpus = UINT32_MAX, .virt = "svm", .memory = &memory, .ram_align = 2 * MIB,
		.vm_host_bytes = HOST_BYTES,
	};
}

static int setup(void **state)
{
	(void)state;
	machine_with(4, 1024);
	return 0;
}

/* Parses text (which must be valid) and checks it; returns how many VMs were refused. */
static uint32_t check(const char *text)
{
	char err[256];

	if (config_parse(text, strlen(text), &cfg, err, sizeof(err)))
		fail_msg("config does not parse: %s", err);
	memset(ok, 0xa5, sizeof(ok));
	report_count = 0;
	uint32_t refused = config_check(&cfg, &machine, ok, collect, NULL);
	assert_int_equal(refused, report_count);
	return refused;
}

#define CHECK_REFUSED(text, message)                                                                            \
	do {                                                                                                    \
		assert_int_equal(check(text), 1);                                                               \
		assert_string_equal(reports[0], message);                                                       \
	} while (0)

static void everything_there(void **state)
{
	(void)state;
	assert_int_equal(check("[vm a]\nkernel = cpuid.elf\nmodule = initrd.img root=/dev/ram\n"
			       "[vm b]\ncpus = 2\nmemory = 64M\nkernel = modes.elf\n"),
			 0);
	assert_true(ok[0]);
	assert_true(ok[1]);
	assert_int_equal(cfg.vms[0].pin[0], 1);
	assert_int_equal(cfg.vms[1].pin[0], 2);
	assert_int_equal(cfg.vms[1].pin[1], 3);
}

static void kernel_not_among_boot_files(void **state)
{
	(void)state;
	CHECK_REFUSED("\n[vm lost]\nmemory = 16M\nkernel = nothere.elf\n",
		      "line 4: vm lost: file 'nothere.elf' not found among the boot files (have: cpuid.elf, "
		      "modes.elf, initrd.img)");
	assert_false(ok[0]);
}

static void module_not_among_boot_files(void **state)
{
	(void)state;
	/* The module's arguments are not part of its name. */
	CHECK_REFUSED("[vm m]\nkernel = cpuid.elf\nmodule = initrd.img\nmodule = data.bin size=4\n",
		      "line 4: vm m: file 'data.bin' not found among the boot files (have: cpuid.elf, modes.elf, "
		      "initrd.img)");
}

static void no_boot_files_at_all(void **state)
{
	(void)state;
	machine.file_count = 0;
	CHECK_REFUSED("[vm a]\nkernel = cpuid.elf\n",
		      "line 2: vm a: file 'cpuid.elf' not found among the boot files (have: none)");
}

static void long_file_list_is_cut_short(void **state)
{
	static char names[40][40];
	static const char *files[40];

	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "a-rather-long-guest-file-name-%02d.elf", i);
		files[i] = names[i];
	}
	machine.files = files;
	machine.file_count = 40;
	assert_int_equal(check("[vm a]\nkernel = missing.elf\n"), 1);
	const char *head = "line 2: vm a: file 'missing.elf' not found among the boot files (have: "
			   "a-rather-long-guest-file-name-00.elf, ";
	assert_memory_equal(reports[0], head, strlen(head));
	size_t len = strlen(reports[0]);
	assert_string_equal(reports[0] + len - strlen(".elf, ...)"), ".elf, ...)");
}

static void pin_to_a_cpu_that_does_not_exist(void **state)
{
	(void)state;
	CHECK_REFUSED("[vm a]\npin = 7\nkernel = cpuid.elf\n",
		      "line 2: vm a: vcpu 0 is pinned to cpu 7, but hv runs on 4 cpus (0-3)");
	/* The second vcpu of a pin list. */
	CHECK_REFUSED("[vm a]\nkernel = cpuid.elf\npin = 1 4\n",
		      "line 3: vm a: vcpu 1 is pinned to cpu 4, but hv runs on 4 cpus (0-3)");
}

static void pin_beyond_maxcpus_or_a_single_cpu(void **state)
{
	(void)state;
	machine_with(2, 1024);
	machine.maxcpus = 2;
	CHECK_REFUSED("[vm a]\npin = 3\nkernel = cpuid.elf\n",
		      "line 2: vm a: vcpu 0 is pinned to cpu 3, but hv runs on 2 cpus (0-1, maxcpus=2)");
	machine_with(1, 1024);
	CHECK_REFUSED("[vm a]\npin = 1\nkernel = cpuid.elf\n",
		      "line 2: vm a: vcpu 0 is pinned to cpu 1, but hv runs on 1 cpu (0)");
}

static void pin_to_a_cpu_that_failed_or_lacks_virtualization(void **state)
{
	(void)state;
	cpu_state[2] = CONFIG_CPU_FAILED;
	cpu_state[3] = CONFIG_CPU_NO_VIRT;
	CHECK_REFUSED("[vm a]\npin = 2\nkernel = cpuid.elf\n",
		      "line 2: vm a: vcpu 0 is pinned to cpu 2, which failed to start; pin another cpu");
	CHECK_REFUSED("[vm a]\npin = 3\nkernel = cpuid.elf\n",
		      "line 2: vm a: vcpu 0 is pinned to cpu 3, which could not enable svm; pin another cpu");
}

static void pin_to_a_cpu_already_taken(void **state)
{
	(void)state;
	assert_int_equal(check("[vm a]\npin = 1\nkernel = cpuid.elf\n[vm b]\nkernel = cpuid.elf\npin = 2 1\n"), 1);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_string_equal(reports[0], "line 6: vm b: vcpu 1 is pinned to cpu 1, which already runs vm a vcpu 0 "
					"(one vcpu per cpu)");
	/* Twice in one VM. */
	CHECK_REFUSED("[vm a]\npin = 2 2\nkernel = cpuid.elf\n",
		      "line 2: vm a: vcpu 1 is pinned to cpu 2, which already runs vm a vcpu 0 (one vcpu per cpu)");
}

static void automatic_pins_leave_explicit_ones_alone(void **state)
{
	(void)state;
	cpu_state[2] = CONFIG_CPU_FAILED;
	/* a comes first but cpu 1 is named by c's pin list and cpu 2 did not start: a gets 3, b gets 0. */
	assert_int_equal(check("[vm a]\nkernel = cpuid.elf\n[vm b]\nkernel = cpuid.elf\n"
			       "[vm c]\npin = 1\nkernel = cpuid.elf\n"),
			 0);
	assert_int_equal(cfg.vms[0].pin[0], 3);
	assert_int_equal(cfg.vms[1].pin[0], 0);
	assert_int_equal(cfg.vms[2].pin[0], 1);
}

static void no_cpu_left_for_an_automatic_vcpu(void **state)
{
	(void)state;
	machine_with(2, 1024);
	assert_int_equal(check("[vm a]\npin = 0\nkernel = cpuid.elf\n[vm b]\ncpus = 2\nkernel = cpuid.elf\n"), 1);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_string_equal(reports[0], "line 4: vm b: no cpu left for vcpu 1: the 2 usable cpus are taken by "
					"other vcpus (one vcpu per cpu)");
}

static void refused_vm_leaves_its_cpus_and_memory(void **state)
{
	(void)state;
	machine_with(4, 100);
	/* a is refused for its file, b for its memory: c gets a's cpu and the memory b did not take. */
	assert_int_equal(check("[vm a]\npin = 1\nkernel = gone.elf\n"
			       "[vm b]\npin = 2\nmemory = 128M\nkernel = cpuid.elf\n"
			       "[vm c]\npin = 1\nmemory = 96M\nkernel = cpuid.elf\n"),
			 2);
	assert_false(ok[0]);
	assert_false(ok[1]);
	assert_true(ok[2]);
}

static void not_enough_memory_names_the_vm_and_the_totals(void **state)
{
	(void)state;
	machine_with(4, 200);
	assert_int_equal(check("[vm a]\nmemory = 128M\nkernel = cpuid.elf\n"
			       "[vm b]\nkernel = cpuid.elf\nmemory = 128M\n"
			       "[vm c]\nmemory = 64M\nkernel = cpuid.elf\n"),
			 1);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_true(ok[2]);
	/* 200 - 128.5 MiB left; all three need 128 + 128 + 64 + 3 * 0.5 MiB. */
	assert_string_equal(reports[0], "line 6: vm b: not enough memory: it needs 128 MiB + 512 KiB for hv, "
					"71 MiB is left (all VMs: 322 MiB needed, 200 MiB free)");
}

static void default_memory_names_the_vm_line(void **state)
{
	(void)state;
	machine_with(4, 16);
	CHECK_REFUSED("\n[vm a]\nkernel = cpuid.elf\n",
		      "line 2: vm a: not enough memory: it needs 32 MiB + 512 KiB for hv, 16 MiB is left (all VMs: "
		      "33 MiB needed, 16 MiB free)");
}

static void memory_in_pieces(void **state)
{
	(void)state;
	machine_with(4, 40);
	pmm_add(&memory, 64 * MIB, 104 * MIB);
	CHECK_REFUSED("[vm a]\nmemory = 64M\nkernel = cpuid.elf\n",
		      "line 2: vm a: not enough memory: it needs 64 MiB + 512 KiB for hv in one block, and the 80 MiB "
		      "left are in smaller pieces");
}

static void guest_ram_is_aligned_like_vm_create(void **state)
{
	(void)state;
	/* 3 MiB free from an odd MiB: no aligned 2 MiB block inside, although the size would fit. */
	pmm_init(&memory);
	pmm_add(&memory, 3 * MIB, 6 * MIB - 4096);
	assert_int_equal(check("[vm a]\nmemory = 2M\nkernel = cpuid.elf\n"), 1);
	pmm_init(&memory);
	pmm_add(&memory, 4 * MIB, 7 * MIB);
	assert_int_equal(check("[vm a]\nmemory = 2M\nkernel = cpuid.elf\n"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(everything_there, setup),
		cmocka_unit_test_setup(kernel_not_among_boot_files, setup),
		cmocka_unit_test_setup(module_not_among_boot_files, setup),
		cmocka_unit_test_setup(no_boot_files_at_all, setup),
		cmocka_unit_test_setup(long_file_list_is_cut_short, setup),
		cmocka_unit_test_setup(pin_to_a_cpu_that_does_not_exist, setup),
		cmocka_unit_test_setup(pin_beyond_maxcpus_or_a_single_cpu, setup),
		cmocka_unit_test_setup(pin_to_a_cpu_that_failed_or_lacks_virtualization, setup),
		cmocka_unit_test_setup(pin_to_a_cpu_already_taken, setup),
		cmocka_unit_test_setup(automatic_pins_leave_explicit_ones_alone, setup),
		cmocka_unit_test_setup(no_cpu_left_for_an_automatic_vcpu, setup),
		cmocka_unit_test_setup(refused_vm_leaves_its_cpus_and_memory, setup),
		cmocka_unit_test_setup(not_enough_memory_names_the_vm_and_the_totals, setup),
		cmocka_unit_test_setup(default_memory_names_the_vm_line, setup),
		cmocka_unit_test_setup(memory_in_pieces, setup),
		cmocka_unit_test_setup(guest_ram_is_aligned_like_vm_create, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
