/*
 * Unit tests of kernel/config.c, the vms.cfg parser: every key and its default, sizes and their
 * rounding, every limit, the comment/whitespace/CRLF rules, each error message with its line number
 * and hostile inputs. The text is always handed over in a heap buffer of exactly its length (no
 * terminating NUL), so ASan catches any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv/config.h>

static struct hv_config cfg;
static char err[256];

/* Parses len bytes of text from an exact-size heap copy; returns config_parse's result. */
static int parse_len(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, text, len);
	memset(&cfg, 0xa5, sizeof(cfg));
	memset(err, 0, sizeof(err));
	int rc = config_parse(copy, len, &cfg, err, sizeof(err));
	free(copy);
	return rc;
}

static int parse(const char *text) { return parse_len(text, strlen(text)); }

#define PARSE_OK(text)                                                                                         \
	do {                                                                                                   \
		int rc_ = parse(text);                                                                         \
		if (rc_ != 0)                                                                                  \
			print_error("unexpected error: %s\n", err);                                            \
		assert_int_equal(rc_, 0);                                                                      \
	} while (0)

#define PARSE_ERR(text, want)                                                                                  \
	do {                                                                                                   \
		assert_int_equal(parse(text), -1);                                                             \
		assert_string_equal(err, want);                                                                \
	} while (0)

/* A string of n copies of c (static storage, reused by the next call). */
static const char *rep(char c, size_t n)
{
	static char buf[4][8192];
	static int which;
	char *b = buf[which++ & 3];

	assert_true(n < sizeof(buf[0]));
	memset(b, c, n);
	b[n] = 0;
	return b;
}

static void check_defaults(const struct vm_config *vm)
{
	assert_int_equal(vm->vcpus, 1);
	assert_int_equal(vm->memory, CONFIG_DEFAULT_MEMORY);
	assert_int_equal(vm->memory, 32ull << 20);
	for (int i = 0; i < CONFIG_MAX_VCPUS; i++)
		assert_int_equal(vm->pin[i], CONFIG_PIN_AUTO);
	assert_string_equal(vm->cmdline, "");
	assert_int_equal(vm->module_count, 0);
}

/* ------------------------------------------------------------------------------------------------ */

static void test_empty_inputs(void **state)
{
	(void)state;
	PARSE_OK("");
	assert_int_equal(cfg.vm_count, 0);
	PARSE_OK("\n");
	assert_int_equal(cfg.vm_count, 0);
	PARSE_OK("   \t  \n\t\n \r\n\r\n");
	assert_int_equal(cfg.vm_count, 0);
	PARSE_OK(" ");
	assert_int_equal(cfg.vm_count, 0);
	PARSE_OK("# only a comment");
	assert_int_equal(cfg.vm_count, 0);
	PARSE_OK("#\n   # indented\n\t#tab\n#[vm x]\n# kernel = y\n");
	assert_int_equal(cfg.vm_count, 0);
	/* a NULL text of length 0 is never dereferenced */
	assert_int_equal(config_parse(NULL, 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.vm_count, 0);
}

static void test_minimal_vm_defaults(void **state)
{
	(void)state;
	PARSE_OK("[vm a]\nkernel = k.elf\n");
	assert_int_equal(cfg.vm_count, 1);
	assert_string_equal(cfg.vms[0].name, "a");
	assert_string_equal(cfg.vms[0].kernel, "k.elf");
	assert_int_equal(cfg.vms[0].line, 1);
	check_defaults(&cfg.vms[0]);
}

static void test_every_key(void **state)
{
	(void)state;
	PARSE_OK("# two VMs\n"
		 "[vm linux-1.x_Y]\n"
		 "cpus = 2\n"
		 "pin = 3 5\n"
		 "memory = 256M\n"
		 "kernel = bzImage.elf\n"
		 "cmdline = console=ttyS0 root=/dev/ram0 quiet\n"
		 "module = initrd.img\n"
		 "module = extra.bin arg1 arg2=x\n"
		 "\n"
		 "[vm b]\n"
		 "kernel = other.elf\n");
	assert_int_equal(cfg.vm_count, 2);
	const struct vm_config *a = &cfg.vms[0], *b = &cfg.vms[1];
	assert_string_equal(a->name, "linux-1.x_Y");
	assert_int_equal(a->line, 2);
	assert_int_equal(a->vcpus, 2);
	assert_int_equal(a->pin[0], 3);
	assert_int_equal(a->pin[1], 5);
	for (int i = 2; i < CONFIG_MAX_VCPUS; i++)
		assert_int_equal(a->pin[i], CONFIG_PIN_AUTO);
	assert_int_equal(a->memory, 256ull << 20);
	assert_string_equal(a->kernel, "bzImage.elf");
	assert_string_equal(a->cmdline, "console=ttyS0 root=/dev/ram0 quiet");
	assert_int_equal(a->module_count, 2);
	assert_string_equal(a->modules[0], "initrd.img");
	assert_string_equal(a->modules[1], "extra.bin arg1 arg2=x");
	/* nothing of the first VM leaks into the second */
	assert_string_equal(b->name, "b");
	assert_int_equal(b->line, 11);
	assert_string_equal(b->kernel, "other.elf");
	check_defaults(b);
}

static void test_later_values_replace_earlier(void **state)
{
	(void)state;
	PARSE_OK("[vm a]\nkernel = one\nkernel = two\ncmdline = x\ncmdline = y\nmemory = 4M\nmemory = 6M\n"
		 "cpus = 3\ncpus = 2\n");
	assert_string_equal(cfg.vms[0].kernel, "two");
	assert_string_equal(cfg.vms[0].cmdline, "y");
	assert_int_equal(cfg.vms[0].memory, 6ull << 20);
	assert_int_equal(cfg.vms[0].vcpus, 2);
	/* a shorter value leaves nothing of the longer one behind */
	PARSE_OK("[vm a]\nkernel = a-very-long-name.elf\nkernel = k\n");
	assert_string_equal(cfg.vms[0].kernel, "k");
}

static void test_whitespace_and_tabs(void **state)
{
	(void)state;
	PARSE_OK("  [vm a]  \n\tkernel\t=\tk.elf\t\n   cpus=2\ncmdline=   a  b   \nmemory\t= 8M \n");
	assert_string_equal(cfg.vms[0].name, "a");
	assert_string_equal(cfg.vms[0].kernel, "k.elf");
	assert_int_equal(cfg.vms[0].vcpus, 2);
	/* inner spacing of a value is kept, the ends are trimmed */
	assert_string_equal(cfg.vms[0].cmdline, "a  b");
	assert_int_equal(cfg.vms[0].memory, 8ull << 20);
	/* a tab separates "vm" from the name; spaces around the name are trimmed */
	PARSE_OK("[vm\tb]\nkernel=k\n[vm   c   ]\nkernel=k\n[vm \t d\t]\nkernel=k\n");
	assert_int_equal(cfg.vm_count, 3);
	assert_string_equal(cfg.vms[0].name, "b");
	assert_string_equal(cfg.vms[1].name, "c");
	assert_string_equal(cfg.vms[2].name, "d");
}

static void test_crlf(void **state)
{
	(void)state;
	PARSE_OK("# dos\r\n[vm a]\r\nkernel = k.elf\r\ncpus = 2\r\npin = 1 2\r\nmemory = 64M\r\n"
		 "cmdline = quiet\r\nmodule = m arg\r\n\r\n[vm b]\r\nkernel = x\r\n");
	assert_int_equal(cfg.vm_count, 2);
	assert_string_equal(cfg.vms[0].name, "a");
	assert_int_equal(cfg.vms[0].line, 2);
	assert_string_equal(cfg.vms[0].kernel, "k.elf");
	assert_int_equal(cfg.vms[0].vcpus, 2);
	assert_int_equal(cfg.vms[0].pin[1], 2);
	assert_int_equal(cfg.vms[0].memory, 64ull << 20);
	assert_string_equal(cfg.vms[0].cmdline, "quiet");
	assert_string_equal(cfg.vms[0].modules[0], "m arg");
	assert_string_equal(cfg.vms[1].name, "b");
	assert_int_equal(cfg.vms[1].line, 10);
	/* CR before trailing blanks and several CRs */
	PARSE_OK("[vm a]\r\nkernel = k \r\r\n");
	assert_string_equal(cfg.vms[0].kernel, "k");
	/* errors on CRLF files still name the right line */
	PARSE_ERR("[vm a]\r\nkernel = k\r\nbogus = 1\r\n", "line 3: unknown key 'bogus'");
}

static void test_no_trailing_newline(void **state)
{
	(void)state;
	PARSE_OK("[vm a]\nkernel = k.elf");
	assert_string_equal(cfg.vms[0].kernel, "k.elf");
	PARSE_OK("[vm a]\nkernel = k.elf\ncmdline = last");
	assert_string_equal(cfg.vms[0].cmdline, "last");
	PARSE_ERR("[vm a]\nkernel = k\nfoo", "line 3: expected 'key = value', got 'foo'");
	PARSE_ERR("[vm a]", "line 1: no kernel given for vm 'a'");
	/* length, not the NUL, ends the text */
	assert_int_equal(parse_len("[vm a]\nkernel = k.elfGARBAGE", strlen("[vm a]\nkernel = k.elf")), 0);
	assert_string_equal(cfg.vms[0].kernel, "k.elf");
}

static void test_comments(void **state)
{
	(void)state;
	PARSE_OK("# header\n[vm a]\n# kernel = wrong\n   # indented comment\nkernel = right\n#\n");
	assert_string_equal(cfg.vms[0].kernel, "right");
	/* '#' only starts a comment at the start of a line: in a value it is data */
	PARSE_OK("[vm a]\nkernel = k\ncmdline = a # b\n");
	assert_string_equal(cfg.vms[0].cmdline, "a # b");
	/* a comment after a section header is not allowed */
	PARSE_ERR("[vm a] # the first\n", "line 1: expected a section like [vm NAME], got '[vm a] # the first'");
	PARSE_ERR("[vm a]\ncpus = 2 # two\nkernel = k\n", "line 2: cpus must be a number from 1 to 16, got '2 # two'");
}

static void test_memory_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t want;
	} ok[] = {
		{ "64M", 64ull << 20 },
		{ "64m", 64ull << 20 },
		{ "2M", 2ull << 20 },
		{ "3M", 4ull << 20 },
		{ "5m", 6ull << 20 },
		{ "2048K", 2ull << 20 },
		{ "2048k", 2ull << 20 },
		{ "2049K", 4ull << 20 },
		{ "4095k", 4ull << 20 },
		{ "1G", 1ull << 30 },
		{ "1g", 1ull << 30 },
		{ "3G", 3ull << 30 },
		{ "2097152", 2ull << 20 },
		{ "2097153", 4ull << 20 },
		{ "4194303", 4ull << 20 },
		{ "0064M", 64ull << 20 },
		{ "3072M", 3ull << 30 },
		{ "3145728K", 3ull << 30 },
		{ "3221225472", 3ull << 30 },
		{ "3221225471", 3ull << 30 }, /* rounds up to exactly the maximum */
	};
	char text[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[vm a]\nkernel = k\nmemory = %s\n", ok[i].text);
		PARSE_OK(text);
		if (cfg.vms[0].memory != ok[i].want)
			print_error("memory = %s\n", ok[i].text);
		assert_int_equal(cfg.vms[0].memory, ok[i].want);
	}

	static const char *const bad[] = {
		"",	     "0",	   "1M",       "1048575",  "2047K",	 "2047k",    "64MB", "64 M",
		"M",	     "-1M",	   "+64M",     "0x40M",	   "1.5G",	 "1T",	     "64Mi", "K",
		"4G",	     "3073M",	   "3221225473", "3145729K", "1024G",
		"99999999999999999999999", "18446744073709551615", "18446744073709551616",
		"17179869184G", /* 2^34 G: the shift would overflow */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[200];
		snprintf(text, sizeof(text), "[vm a]\nkernel = k\nmemory = %s\n", bad[i]);
		snprintf(want, sizeof(want), "line 3: memory must be a size like 64M, from 2M to 3G, got '%s'", bad[i]);
		if (parse(text) != -1)
			print_error("memory = %s accepted\n", bad[i]);
		assert_string_equal(err, want);
	}
}

/* Every accepted size is a multiple of 2 MiB, at least the size asked for and less than 2 MiB more. */
static void test_memory_rounding_property(void **state)
{
	(void)state;
	char text[128];

	for (uint64_t k = 2048; k < 2048 + 8 * 1024; k += 97) {
		snprintf(text, sizeof(text), "[vm a]\nkernel = k\nmemory = %luK\n", (unsigned long)k);
		PARSE_OK(text);
		uint64_t m = cfg.vms[0].memory;
		assert_int_equal(m % (2u << 20), 0);
		assert_true(m >= k * 1024);
		assert_true(m - k * 1024 < (2u << 20));
	}
}

static void test_cpus(void **state)
{
	(void)state;
	char text[128];

	for (int n = 1; n <= 16; n++) {
		snprintf(text, sizeof(text), "[vm a]\nkernel = k\ncpus = %d\n", n);
		PARSE_OK(text);
		assert_int_equal(cfg.vms[0].vcpus, n);
		for (int i = 0; i < CONFIG_MAX_VCPUS; i++)
			assert_int_equal(cfg.vms[0].pin[i], CONFIG_PIN_AUTO);
	}
	PARSE_OK("[vm a]\nkernel = k\ncpus = 007\n");
	assert_int_equal(cfg.vms[0].vcpus, 7);

	static const char *const bad[] = { "0",	 "17", "",	 "-1",	 "+2", "2x", "0x2", "1 2",
					   "1.0", "x",  "4294967297", "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[200];
		snprintf(text, sizeof(text), "[vm a]\nkernel = k\ncpus = %s\n", bad[i]);
		snprintf(want, sizeof(want), "line 3: cpus must be a number from 1 to 16, got '%s'", bad[i]);
		assert_int_equal(parse(text), -1);
		assert_string_equal(err, want);
	}
}

static void test_pin(void **state)
{
	(void)state;
	PARSE_OK("[vm a]\nkernel = k\npin = 3\n");
	assert_int_equal(cfg.vms[0].vcpus, 1);
	assert_int_equal(cfg.vms[0].pin[0], 3);
	assert_int_equal(cfg.vms[0].pin[1], CONFIG_PIN_AUTO);

	/* pin alone sets the vcpu count */
	PARSE_OK("[vm a]\nkernel = k\npin = 1 2 3\n");
	assert_int_equal(cfg.vms[0].vcpus, 3);
	assert_int_equal(cfg.vms[0].pin[0], 1);
	assert_int_equal(cfg.vms[0].pin[1], 2);
	assert_int_equal(cfg.vms[0].pin[2], 3);
	assert_int_equal(cfg.vms[0].pin[3], CONFIG_PIN_AUTO);

	/* cpus before or after a matching pin */
	PARSE_OK("[vm a]\nkernel = k\ncpus = 2\npin = 4 5\n");
	assert_int_equal(cfg.vms[0].vcpus, 2);
	assert_int_equal(cfg.vms[0].pin[0], 4);
	assert_int_equal(cfg.vms[0].pin[1], 5);
	PARSE_OK("[vm a]\nkernel = k\npin = 4 5\ncpus = 2\n");
	assert_int_equal(cfg.vms[0].vcpus, 2);

	/* tabs and runs of blanks separate numbers; CPU 0 and 4095 are valid; leading zeros too */
	PARSE_OK("[vm a]\nkernel = k\npin = 0\t4095   07\n");
	assert_int_equal(cfg.vms[0].vcpus, 3);
	assert_int_equal(cfg.vms[0].pin[0], 0);
	assert_int_equal(cfg.vms[0].pin[1], 4095);
	assert_int_equal(cfg.vms[0].pin[2], 7);

	/* 16 is the limit */
	PARSE_OK("[vm a]\nkernel = k\npin = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
	assert_int_equal(cfg.vms[0].vcpus, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(cfg.vms[0].pin[i], i + 1);
	PARSE_ERR("[vm a]\nkernel = k\npin = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
		  "line 3: too many CPUs in pin (at most 16)");

	/* pins of one VM do not carry over to the next */
	PARSE_OK("[vm a]\nkernel = k\npin = 1 2\n[vm b]\nkernel = k\n");
	assert_int_equal(cfg.vms[1].vcpus, 1);
	assert_int_equal(cfg.vms[1].pin[0], CONFIG_PIN_AUTO);
}

static void test_pin_errors(void **state)
{
	(void)state;
	PARSE_ERR("[vm a]\nkernel = k\npin =\n", "line 3: pin needs at least one CPU number");
	PARSE_ERR("[vm a]\nkernel = k\npin =   \t \n", "line 3: pin needs at least one CPU number");
	PARSE_ERR("[vm a]\nkernel = k\npin = x\n", "line 3: pin takes physical CPU numbers (0-4095), got 'x'");
	PARSE_ERR("[vm a]\nkernel = k\npin = 1,2\n", "line 3: pin takes physical CPU numbers (0-4095), got '1,2'");
	PARSE_ERR("[vm a]\nkernel = k\npin = 1 x2\n", "line 3: pin takes physical CPU numbers (0-4095), got 'x2'");
	PARSE_ERR("[vm a]\nkernel = k\npin = 1 -2\n", "line 3: pin takes physical CPU numbers (0-4095), got '-2'");
	PARSE_ERR("[vm a]\nkernel = k\npin = 1x\n", "line 3: pin takes physical CPU numbers (0-4095), got '1x'");
	/* the number that is out of range was consumed: what is left of the line is quoted */
	PARSE_ERR("[vm a]\nkernel = k\npin = 4096\n", "line 3: pin takes physical CPU numbers (0-4095), got '4096'");
	PARSE_ERR("[vm a]\nkernel = k\npin = 4096 1\n", "line 3: pin takes physical CPU numbers (0-4095), got '4096'");
	PARSE_ERR("[vm a]\nkernel = k\npin = 99999999999999999999999\n",
		  "line 3: pin takes physical CPU numbers (0-4095), got '99999999999999999999999'");
}

static void test_cpus_pin_mismatch(void **state)
{
	(void)state;
	/* reported at the [vm] line, after the whole file was read */
	PARSE_ERR("# x\n[vm a]\nkernel = k\npin = 1 2\ncpus = 3\n", "line 2: vm a has 3 vcpus but pins 2 cpus");
	PARSE_ERR("[vm a]\nkernel = k\ncpus = 4\npin = 1 2\n", "line 1: vm a has 4 vcpus but pins 2 cpus");
	PARSE_ERR("[vm a]\nkernel = k\npin = 1 2\ncpus = 1\n", "line 1: vm a has 1 vcpus but pins 2 cpus");
	PARSE_ERR("[vm a]\nkernel = k\ncpus = 2\npin = 7\n", "line 1: vm a has 2 vcpus but pins 1 cpus");
	/* the second VM's line */
	PARSE_ERR("[vm a]\nkernel = k\n\n[vm b]\nkernel = k\ncpus = 3\npin = 1\n",
		  "line 4: vm b has 3 vcpus but pins 1 cpus");
}

static void test_string_values(void **state)
{
	(void)state;
	char text[1024];

	/* kernel: at most CONFIG_FILE_MAX - 1 characters */
	snprintf(text, sizeof(text), "[vm a]\nkernel = %s\n", rep('k', CONFIG_FILE_MAX - 1));
	PARSE_OK(text);
	assert_int_equal(strlen(cfg.vms[0].kernel), CONFIG_FILE_MAX - 1);
	snprintf(text, sizeof(text), "[vm a]\nkernel = %s\n", rep('k', CONFIG_FILE_MAX));
	PARSE_ERR(text, "line 2: value too long for 'kernel'");

	/* cmdline: at most CONFIG_CMDLINE_MAX - 1 characters, may be empty, keeps '=' */
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\ncmdline = %s\n", rep('c', CONFIG_CMDLINE_MAX - 1));
	PARSE_OK(text);
	assert_int_equal(strlen(cfg.vms[0].cmdline), CONFIG_CMDLINE_MAX - 1);
	assert_string_equal(cfg.vms[0].cmdline, rep('c', CONFIG_CMDLINE_MAX - 1));
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\ncmdline = %s\n", rep('c', CONFIG_CMDLINE_MAX));
	PARSE_ERR(text, "line 3: value too long for 'cmdline'");
	PARSE_OK("[vm a]\nkernel = k\ncmdline =\n");
	assert_string_equal(cfg.vms[0].cmdline, "");
	PARSE_OK("[vm a]\nkernel = k\ncmdline = a=b c==d =\n");
	assert_string_equal(cfg.vms[0].cmdline, "a=b c==d =");

	/* module: at most CONFIG_FILE_MAX - 1 characters including its arguments */
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\nmodule = %s\n", rep('m', CONFIG_FILE_MAX - 1));
	PARSE_OK(text);
	assert_int_equal(cfg.vms[0].module_count, 1);
	assert_int_equal(strlen(cfg.vms[0].modules[0]), CONFIG_FILE_MAX - 1);
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\nmodule = %s\n", rep('m', CONFIG_FILE_MAX));
	PARSE_ERR(text, "line 3: value too long for 'module'");

	/* empty file names */
	PARSE_ERR("[vm a]\nkernel =\n", "line 2: kernel needs a file name");
	PARSE_ERR("[vm a]\nkernel = \t \n", "line 2: kernel needs a file name");
	PARSE_ERR("[vm a]\nkernel = k\nmodule =\n", "line 3: module needs a file name");
}

static void test_modules_limit(void **state)
{
	(void)state;
	char text[1024];
	size_t n = (size_t)snprintf(text, sizeof(text), "[vm a]\nkernel = k\n");

	for (int i = 0; i < CONFIG_MAX_MODULES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "module = m%d arg%d\n", i, i);
	PARSE_OK(text);
	assert_int_equal(cfg.vms[0].module_count, 8);
	for (int i = 0; i < CONFIG_MAX_MODULES; i++) {
		char want[32];
		snprintf(want, sizeof(want), "m%d arg%d", i, i);
		assert_string_equal(cfg.vms[0].modules[i], want);
	}
	snprintf(text + n, sizeof(text) - n, "module = one-too-many\n");
	PARSE_ERR(text, "line 11: too many modules (at most 8)");
	/* module counts are per VM */
	PARSE_OK("[vm a]\nkernel = k\nmodule = x\n[vm b]\nkernel = k\nmodule = y\nmodule = z\n");
	assert_int_equal(cfg.vms[0].module_count, 1);
	assert_int_equal(cfg.vms[1].module_count, 2);
	assert_string_equal(cfg.vms[1].modules[0], "y");
}

static void test_names(void **state)
{
	(void)state;
	char text[256], want[256];

	PARSE_OK("[vm AZaz09_.-]\nkernel = k\n");
	assert_string_equal(cfg.vms[0].name, "AZaz09_.-");
	/* 31 characters fit, 32 do not */
	snprintf(text, sizeof(text), "[vm %s]\nkernel = k\n", rep('n', CONFIG_NAME_MAX - 1));
	PARSE_OK(text);
	assert_string_equal(cfg.vms[0].name, rep('n', CONFIG_NAME_MAX - 1));
	snprintf(text, sizeof(text), "[vm %s]\nkernel = k\n", rep('n', CONFIG_NAME_MAX));
	snprintf(want, sizeof(want), "line 1: bad VM name (letters, digits, '_', '-', '.'; at most 31) '%s'",
		 rep('n', CONFIG_NAME_MAX));
	PARSE_ERR(text, want);

	static const char *const bad[] = { "a b", "a/b", "a]b", "a[b", "a=b", "é", "a\tb", "a#", "a,b", "a\\b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[vm %s]\nkernel = k\n", bad[i]);
		snprintf(want, sizeof(want), "line 1: bad VM name (letters, digits, '_', '-', '.'; at most 31) '%s'",
			 bad[i]);
		assert_int_equal(parse(text), -1);
		assert_string_equal(err, want);
	}
	PARSE_ERR("[vm ]\n", "line 1: bad VM name (letters, digits, '_', '-', '.'; at most 31) ''");
	PARSE_ERR("[vm \t ]\n", "line 1: bad VM name (letters, digits, '_', '-', '.'; at most 31) ''");
	/* names are case-sensitive */
	PARSE_OK("[vm a]\nkernel = k\n[vm A]\nkernel = k\n");
	assert_int_equal(cfg.vm_count, 2);
}

static void test_bad_section_headers(void **state)
{
	(void)state;
	static const char *const bad[] = { "[",	     "[]",	 "[vm]",    "[vm",     "[vm a",	  "[vma]",
					   "[vmx a]", "[VM a]",	 "[ vm a]", "[vm a]]x", "[vm a] x", "[v a]",
					   "[vm a]#", "[[vm a]]", "[machine a]" };
	char text[64], want[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "\n%s\nkernel = k\n", bad[i]);
		snprintf(want, sizeof(want), "line 2: expected a section like [vm NAME], got '%s'", bad[i]);
		if (parse(text) != -1)
			print_error("accepted %s\n", bad[i]);
		assert_string_equal(err, want);
	}
	/* "]" alone is not a section start: it is a line without '=' */
	PARSE_ERR("]\n", "line 1: expected 'key = value', got ']'");
	/* "[vm a]]": the last ']' ends the header, "a]" is the name */
	PARSE_ERR("[vm a]]\n", "line 1: bad VM name (letters, digits, '_', '-', '.'; at most 31) 'a]'");
}

static void test_duplicate_names(void **state)
{
	(void)state;
	PARSE_ERR("[vm a]\nkernel = k\n[vm b]\nkernel = k\n[vm a]\nkernel = k\n",
		  "line 5: a VM with this name is already defined: 'a'");
	PARSE_ERR("[vm a]\nkernel = k\n[vm  a ]\n", "line 3: a VM with this name is already defined: 'a'");
}

static void test_vm_limit(void **state)
{
	(void)state;
	char text[2048];
	size_t n = 0;

	for (int i = 0; i < CONFIG_MAX_VMS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[vm vm%d]\nkernel = k%d\n", i, i);
	PARSE_OK(text);
	assert_int_equal(cfg.vm_count, 16);
	for (int i = 0; i < CONFIG_MAX_VMS; i++) {
		char want[16];
		snprintf(want, sizeof(want), "vm%d", i);
		assert_string_equal(cfg.vms[i].name, want);
		assert_int_equal(cfg.vms[i].line, 2 * i + 1);
	}
	snprintf(text + n, sizeof(text) - n, "[vm extra]\nkernel = k\n");
	PARSE_ERR(text, "line 33: too many VMs (at most 16)");
	/* a 17th VM that repeats a name reports the duplicate first */
	snprintf(text + n, sizeof(text) - n, "[vm vm3]\nkernel = k\n");
	PARSE_ERR(text, "line 33: a VM with this name is already defined: 'vm3'");
}

static void test_setting_outside_section(void **state)
{
	(void)state;
	PARSE_ERR("kernel = k\n[vm a]\n", "line 1: setting outside a [vm NAME] section: 'kernel'");
	PARSE_ERR("# c\n\nfoo = bar\n", "line 3: setting outside a [vm NAME] section: 'foo'");
	PARSE_ERR("= x\n", "line 1: setting outside a [vm NAME] section: ''");
	PARSE_ERR("=\n", "line 1: setting outside a [vm NAME] section: ''");
}

static void test_unknown_and_malformed_lines(void **state)
{
	(void)state;
	PARSE_ERR("[vm a]\nkernel = k\nmemroy = 64M\n", "line 3: unknown key 'memroy'");
	PARSE_ERR("[vm a]\nKernel = k\n", "line 2: unknown key 'Kernel'");
	PARSE_ERR("[vm a]\nkernel file = k\n", "line 2: unknown key 'kernel file'");
	PARSE_ERR("[vm a]\n= k\n", "line 2: unknown key ''");
	PARSE_ERR("[vm a]\n  =  \n", "line 2: unknown key ''");
	PARSE_ERR("[vm a]\nkernel k\n", "line 2: expected 'key = value', got 'kernel k'");
	PARSE_ERR("[vm a]\n\n\n   cpus\t\n", "line 4: expected 'key = value', got 'cpus'");
	/* the first '=' splits: the rest belongs to the value */
	PARSE_OK("[vm a]\nkernel == k\n");
	assert_string_equal(cfg.vms[0].kernel, "= k");
}

static void test_missing_kernel(void **state)
{
	(void)state;
	/* reported at the [vm] line, not at the end of the file */
	PARSE_ERR("# x\n\n[vm a]\ncpus = 2\n\n\n", "line 3: no kernel given for vm 'a'");
	PARSE_ERR("[vm a]\nkernel = k\n[vm b]\ncmdline = x\n[vm c]\nkernel = k\n", "line 3: no kernel given for vm 'b'");
	/* the first VM in file order is reported */
	PARSE_ERR("[vm a]\n[vm b]\n", "line 1: no kernel given for vm 'a'");
	/* a syntax error later in the file wins over a missing kernel earlier */
	PARSE_ERR("[vm a]\n[vm b]\nfoo\n", "line 3: expected 'key = value', got 'foo'");
	/* a missing kernel is reported before a pin mismatch of a later VM */
	PARSE_ERR("[vm a]\n[vm b]\nkernel = k\npin = 1 2\ncpus = 3\n", "line 1: no kernel given for vm 'a'");
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "[vm a]\nkernel = k\0x\n";

	assert_int_equal(parse_len(text, sizeof(text) - 1), -1);
	assert_string_equal(err, "line 2: NUL byte in the configuration");
	assert_int_equal(parse_len("\0", 1), -1);
	assert_string_equal(err, "line 1: NUL byte in the configuration");
	/* even in a comment */
	assert_int_equal(parse_len("# a\0b\n", 6), -1);
	assert_string_equal(err, "line 1: NUL byte in the configuration");
	/* a NUL after the given length is never looked at */
	assert_int_equal(parse_len("[vm a]\nkernel = k\n\0", 18), 0);
}

static void test_line_length(void **state)
{
	(void)state;
	static char text[200000];

	/* 511 characters fit in the 512-byte line buffer */
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n#%s\n", rep('c', 510));
	PARSE_OK(text);
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n#%s\n", rep('c', 511));
	PARSE_ERR(text, "line 3: line too long");
	/* the CR of a CRLF line counts */
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n#%s\r\n", rep('c', 509));
	PARSE_OK(text);
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n#%s\r\n", rep('c', 510));
	PARSE_ERR(text, "line 3: line too long");
	/* the same limit on the last line without a newline */
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n#%s", rep('c', 510));
	PARSE_OK(text);
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n#%s", rep('c', 511));
	PARSE_ERR(text, "line 3: line too long");
	/* a value with a lot of blank padding still counts the blanks */
	snprintf(text, sizeof(text), "[vm a]\nkernel = %sk\n", rep(' ', 600));
	PARSE_ERR(text, "line 2: line too long");

	/* a very long line, first and later in the file */
	memset(text, 'x', 150000);
	text[150000] = 0;
	PARSE_ERR(text, "line 1: line too long");
	memcpy(text, "\n\n\n\n", 4);
	PARSE_ERR(text, "line 5: line too long");
	/* many short lines are fine and counted */
	size_t n = 0;
	for (int i = 0; i < 10000; i++)
		text[n++] = '\n';
	snprintf(text + n, sizeof(text) - n, "[vm a]\nnope = 1\n");
	PARSE_ERR(text, "line 10002: unknown key 'nope'");
}

static void test_error_buffer(void **state)
{
	(void)state;
	char small[12];

	memset(small, 'Z', sizeof(small));
	assert_int_equal(config_parse("[vm a]\nbogus = 1\n", 17, &cfg, small, sizeof(small)), -1);
	assert_string_equal(small, "line 2: unk");
	/* no buffer at all */
	assert_int_equal(config_parse("[vm a]\nbogus = 1\n", 17, &cfg, NULL, 0), -1);
	assert_int_equal(config_parse("[vm a]\n", 7, &cfg, NULL, 0), -1);
	/* success leaves the error buffer alone */
	memset(small, 'Z', sizeof(small));
	small[sizeof(small) - 1] = 0;
	assert_int_equal(config_parse("[vm a]\nkernel=k\n", 16, &cfg, small, sizeof(small)), 0);
	assert_string_equal(small, "ZZZZZZZZZZZ");
}

static void test_reuse_resets_count(void **state)
{
	(void)state;
	PARSE_OK("[vm a]\nkernel = k\n[vm b]\nkernel = k\n");
	assert_int_equal(cfg.vm_count, 2);
	assert_int_equal(config_parse("", 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.vm_count, 0);
	assert_int_equal(config_parse("[vm c]\nkernel=k\n", 16, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.vm_count, 1);
	assert_string_equal(cfg.vms[0].name, "c");
}

/* Random bytes and random mixes of valid lines: never a crash or an out-of-bounds access, and on
 * success every VM obeys the documented invariants. */
static void test_random_inputs(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"[vm a]", "[vm b]", "[vm ", "]", "kernel = k", "kernel =", "cpus = 2", "cpus = 16", "pin = 1 2",
		"pin = 1", "pin = ", "memory = 3M", "memory = 1G", "cmdline = x=y", "module = m a", "#", "=", " ",
		"\t", "\r", "\n", "\n", "\n", "x", "0", "99999999999999999999",
	};
	char buf[1024];
	unsigned seed = 12345;

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		seed = seed * 1103515245u + 12345u;
		bool bytes = (seed >> 16) & 1;
		while (n < sizeof(buf) - 64) {
			seed = seed * 1103515245u + 12345u;
			unsigned r = seed >> 8;
			if (r % 13 == 0)
				break;
			if (bytes) {
				buf[n++] = (char)(r >> 4);
			} else {
				const char *s = pieces[r % (sizeof(pieces) / sizeof(pieces[0]))];
				memcpy(buf + n, s, strlen(s));
				n += strlen(s);
			}
		}
		if (parse_len(buf, n) == 0) {
			assert_true(cfg.vm_count <= CONFIG_MAX_VMS);
			for (uint32_t i = 0; i < cfg.vm_count; i++) {
				const struct vm_config *vm = &cfg.vms[i];
				assert_true(vm->vcpus >= 1 && vm->vcpus <= CONFIG_MAX_VCPUS);
				assert_true(vm->memory >= (2u << 20) && vm->memory % (2u << 20) == 0);
				assert_true(vm->kernel[0]);
				assert_true(vm->module_count <= CONFIG_MAX_MODULES);
				assert_true(strlen(vm->name) > 0 && strlen(vm->name) < CONFIG_NAME_MAX);
			}
		} else {
			assert_true(strncmp(err, "line ", 5) == 0);
		}
	}
}

/* ------------------------------------------------------------------------------------------------ */
/* Regressions: bugs these tests found in the kernel source, now fixed. */

/* A second pin line should replace the first one, not overwrite only its first entries. */
static void bug_repeated_pin_replaces(void **state)
{
	(void)state;
	/* today: pin becomes {4, 2, 3} and vcpus stays 3, and the parse succeeds */
	PARSE_OK("[vm a]\nkernel = k\npin = 1 2 3\npin = 4\n");
	assert_int_equal(cfg.vms[0].pin[0], 4);
	assert_int_equal(cfg.vms[0].pin[1], CONFIG_PIN_AUTO);
	assert_int_equal(cfg.vms[0].pin[2], CONFIG_PIN_AUTO);
}

/* An explicit "cpus = 1" contradicted by a two-CPU pin list should be a mismatch, as for cpus = 2. */
static void bug_explicit_cpus_1_with_longer_pin(void **state)
{
	(void)state;
	PARSE_ERR("[vm a]\nkernel = k\ncpus = 1\npin = 1 2\n", "line 1: vm a has 1 vcpus but pins 2 cpus");
}

/* An out-of-range CPU number should be quoted, not what follows it. */
static void bug_pin_error_quotes_number(void **state)
{
	(void)state;
	PARSE_ERR("[vm a]\nkernel = k\npin = 1 4096 2\n", "line 3: pin takes physical CPU numbers (0-4095), got '4096'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_minimal_vm_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_later_values_replace_earlier),
		cmocka_unit_test(test_whitespace_and_tabs),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_no_trailing_newline),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_memory_sizes),
		cmocka_unit_test(test_memory_rounding_property),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_pin_errors),
		cmocka_unit_test(test_cpus_pin_mismatch),
		cmocka_unit_test(test_string_values),
		cmocka_unit_test(test_modules_limit),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_section_headers),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_vm_limit),
		cmocka_unit_test(test_setting_outside_section),
		cmocka_unit_test(test_unknown_and_malformed_lines),
		cmocka_unit_test(test_missing_kernel),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_reuse_resets_count),
		cmocka_unit_test(test_random_inputs),
		cmocka_unit_test(bug_repeated_pin_replaces),
		cmocka_unit_test(bug_explicit_cpus_1_with_longer_pin),
		cmocka_unit_test(bug_pin_error_quotes_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
