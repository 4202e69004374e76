/*
 * Unit tests of kernel/vmm/vfwcfg.c, QEMU's fw_cfg through its ports (QEMU docs/specs/fw_cfg.rst):
 * the signature, ID, RAM size and CPU items, the big-endian file directory and its files, zeros
 * past an item's end and for keys without an item, the write-channel and architecture-local key
 * bits, ignored data writes, refused access widths and the limits of vfwcfg_add_file. Expected
 * bytes are written out here from the specification, never taken from the model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <hv/vfwcfg.h>

#define SEL VFWCFG_PORT_SELECTOR
#define DATA VFWCFG_PORT_DATA

static struct vfwcfg F;

static int setup(void **state)
{
	(void)state;
	vfwcfg_init(&F, 3, 0x123456789abcdef0ull);
	return 0;
}

static void select_key(uint16_t key)
{
	uint32_t v = key;
	assert_true(vfwcfg_io(&F, SEL, 2, false, &v));
}

static uint8_t in8(uint16_t port)
{
	uint32_t v = 0xa5a5a5a5;
	assert_true(vfwcfg_io(&F, port, 1, true, &v));
	assert_int_equal(v & 0xffffff00, 0xa5a5a500); /* only the low byte is the device's */
	return (uint8_t)v;
}

static void read_item(uint16_t key, uint8_t *buf, size_t n)
{
	select_key(key);
	for (size_t i = 0; i < n; i++)
		buf[i] = in8(DATA);
}

static void test_signature(void **state)
{
	uint8_t b[8];

	(void)state;
	read_item(FW_CFG_SIGNATURE, b, 8);
	assert_memory_equal(b, "QEMU\0\0\0\0", 8);
	/* power-on: the signature is selected */
	setup(NULL);
	assert_int_equal(in8(DATA), 'Q');
	/* reselecting rewinds */
	read_item(FW_CFG_SIGNATURE, b, 2);
	read_item(FW_CFG_SIGNATURE, b, 4);
	assert_memory_equal(b, "QEMU", 4);
}

static void test_id_and_numbers(void **state)
{
	uint8_t b[12];

	(void)state;
	/* traditional interface only: bit 0 set, DMA bit 1 clear */
	read_item(FW_CFG_ID, b, 6);
	assert_memory_equal(b, "\x01\0\0\0\0\0", 6);
	read_item(FW_CFG_RAM_SIZE, b, 10);
	assert_memory_equal(b, "\xf0\xde\xbc\x9a\x78\x56\x34\x12\0\0", 10);
	read_item(FW_CFG_NB_CPUS, b, 3);
	assert_memory_equal(b, "\x03\0\0", 3);
	read_item(FW_CFG_MAX_CPUS, b, 3);
	assert_memory_equal(b, "\x03\0\0", 3);
}

static void test_byte_reads_at_both_ports(void **state)
{
	(void)state;
	/* QEMU's ports 0x510-0x511 are one range: a byte read at either one reads data */
	select_key(FW_CFG_SIGNATURE);
	assert_int_equal(in8(SEL), 'Q');
	assert_int_equal(in8(DATA), 'E');
	assert_int_equal(in8(SEL), 'M');
	assert_int_equal(in8(DATA), 'U');
}

static void test_unknown_keys_read_zero(void **state)
{
	static const uint16_t keys[] = { 0x02, 0x04, 0x06, 0x07, 0x0e, 0x10, 0x18, 0x1f, 0x20, 0x21, 0x3fff,
					 0x8000, 0x8003, 0xffff };
	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		select_key(keys[k]);
		for (int i = 0; i < 70; i++)
			assert_int_equal(in8(DATA), 0);
	}
}

static void test_key_bits(void **state)
{
	uint8_t b[4];

	(void)state;
	/* the write-channel bit selects the same item (QEMU masks it) */
	read_item(FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	read_item(FW_CFG_WRITE_CHANNEL | FW_CFG_NB_CPUS, b, 2);
	assert_memory_equal(b, "\x03\0", 2);
	/* architecture-local keys are other items: x86's (ACPI tables, e820, ...) are not modelled */
	read_item(FW_CFG_ARCH_LOCAL | FW_CFG_SIGNATURE, b, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
	read_item(FW_CFG_ARCH_LOCAL | FW_CFG_WRITE_CHANNEL | FW_CFG_NB_CPUS, b, 2);
	assert_memory_equal(b, "\0\0", 2);
}

static void test_writes_ignored(void **state)
{
	uint8_t b[4];

	(void)state;
	select_key(FW_CFG_SIGNATURE);
	for (uint16_t port = SEL; port <= DATA; port++) {
		uint32_t v = 'X';
		assert_true(vfwcfg_io(&F, port, 1, false, &v));
	}
	/* a data write neither changes the item nor moves the offset */
	for (int i = 0; i < 4; i++)
		b[i] = in8(DATA);
	assert_memory_equal(b, "QEMU", 4);
	/* the selector's write-channel bit does not make the item writable */
	select_key(FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE);
	uint32_t v = 'Z';
	assert_true(vfwcfg_io(&F, DATA, 1, false, &v));
	read_item(FW_CFG_SIGNATURE, b, 4);
	assert_memory_equal(b, "QEMU", 4);
}

static void test_refused_widths(void **state)
{
	uint32_t v;

	(void)state;
	select_key(FW_CFG_SIGNATURE);
	/* reads wider than a byte, selector writes elsewhere or wider: refused (the core reads all
	 * ones), and none of them moves the offset or the selection */
	v = 0;
	assert_false(vfwcfg_io(&F, SEL, 2, true, &v));
	assert_false(vfwcfg_io(&F, DATA, 2, true, &v));
	assert_false(vfwcfg_io(&F, SEL, 4, true, &v));
	v = FW_CFG_NB_CPUS;
	assert_false(vfwcfg_io(&F, DATA, 2, false, &v));
	assert_false(vfwcfg_io(&F, SEL, 4, false, &v));
	assert_false(vfwcfg_io(&F, SEL, 3, false, &v));
	assert_false(vfwcfg_io(&F, SEL, 0, true, &v));
	assert_int_equal(in8(DATA), 'Q');
	/* a selector write uses the low 16 bits of the value */
	v = 0xabcd0000u | FW_CFG_NB_CPUS;
	assert_true(vfwcfg_io(&F, SEL, 2, false, &v));
	assert_int_equal(in8(DATA), 3);
}

static const uint8_t e820[40] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
				  21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40 };

static void check_dir_entry(const uint8_t *e, uint32_t size, uint16_t select, const char *name)
{
	char want[FW_CFG_MAX_FILE_PATH] = { 0 };

	assert_int_equal(((uint32_t)e[0] << 24) | ((uint32_t)e[1] << 16) | ((uint32_t)e[2] << 8) | e[3], size);
	assert_int_equal((e[4] << 8) | e[5], select);
	assert_int_equal(e[6], 0);
	assert_int_equal(e[7], 0);
	strcpy(want, name);
	assert_memory_equal(e + 8, want, FW_CFG_MAX_FILE_PATH); /* NUL-padded */
}

static void test_empty_directory(void **state)
{
	uint8_t b[8];

	(void)state;
	read_item(FW_CFG_FILE_DIR, b, 8);
	assert_memory_equal(b, "\0\0\0\0\0\0\0\0", 8);
}

static void test_directory_and_files(void **state)
{
	char longest[FW_CFG_MAX_FILE_PATH];
	uint8_t dir[4 + 3 * 64 + 8], b[64];

	(void)state;
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = 0;
	assert_true(vfwcfg_add_file(&F, "etc/e820", e820, sizeof(e820)));
	assert_true(vfwcfg_add_file(&F, "etc/hv/empty", NULL, 0));
	assert_true(vfwcfg_add_file(&F, longest, "x", 1));

	read_item(FW_CFG_FILE_DIR, dir, sizeof(dir));
	assert_memory_equal(dir, "\0\0\0\3", 4);
	check_dir_entry(dir + 4, sizeof(e820), FW_CFG_FILE_FIRST, "etc/e820");
	check_dir_entry(dir + 4 + 64, 0, FW_CFG_FILE_FIRST + 1, "etc/hv/empty");
	check_dir_entry(dir + 4 + 128, 1, FW_CFG_FILE_FIRST + 2, longest);
	assert_memory_equal(dir + 4 + 192, "\0\0\0\0\0\0\0\0", 8); /* past the end */

	read_item(FW_CFG_FILE_FIRST, b, 48);
	assert_memory_equal(b, e820, sizeof(e820));
	for (size_t i = sizeof(e820); i < 48; i++)
		assert_int_equal(b[i], 0);
	read_item(FW_CFG_FILE_FIRST + 1, b, 2);
	assert_memory_equal(b, "\0\0", 2);
	read_item(FW_CFG_FILE_FIRST + 2, b, 2);
	assert_memory_equal(b, "x\0", 2);
	read_item(FW_CFG_FILE_FIRST + 3, b, 2); /* no fourth file */
	assert_memory_equal(b, "\0\0", 2);
	/* through the write-channel bit: the same file */
	read_item(FW_CFG_WRITE_CHANNEL | FW_CFG_FILE_FIRST, b, 4);
	assert_memory_equal(b, e820, 4);
}

static void test_add_file_limits(void **state)
{
	static uint8_t big[VFWCFG_DATA_MAX + 1];
	char name[FW_CFG_MAX_FILE_PATH + 1];

	(void)state;
	/* names: empty or 56 characters (no room for the NUL) are refused, duplicates too */
	assert_false(vfwcfg_add_file(&F, "", "a", 1));
	memset(name, 'n', FW_CFG_MAX_FILE_PATH);
	name[FW_CFG_MAX_FILE_PATH] = 0;
	assert_false(vfwcfg_add_file(&F, name, "a", 1));
	assert_true(vfwcfg_add_file(&F, "a", "a", 1));
	assert_false(vfwcfg_add_file(&F, "a", "b", 1));
	/* data: everything together fits in VFWCFG_DATA_MAX */
	assert_false(vfwcfg_add_file(&F, "big", big, VFWCFG_DATA_MAX));
	assert_false(vfwcfg_add_file(&F, "huge", big, UINT32_MAX));
	assert_true(vfwcfg_add_file(&F, "rest", big, VFWCFG_DATA_MAX - 1));
	assert_false(vfwcfg_add_file(&F, "one", "c", 1));
	assert_true(vfwcfg_add_file(&F, "none", NULL, 0));
	/* count */
	for (int i = 3; i < VFWCFG_FILES_MAX; i++) {
		char n[4] = { 'f', (char)('0' + i), 0, 0 };
		assert_true(vfwcfg_add_file(&F, n, NULL, 0));
	}
	assert_false(vfwcfg_add_file(&F, "over", NULL, 0));
	uint8_t b[4];
	read_item(FW_CFG_FILE_DIR, b, 4);
	assert_int_equal(b[3], VFWCFG_FILES_MAX);
}

static void test_long_reads_stay_at_end(void **state)
{
	(void)state;
	/* many reads past the end: zeros, and a reselect still starts from the first byte */
	select_key(FW_CFG_NB_CPUS);
	assert_int_equal(in8(DATA), 3);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(in8(DATA), 0);
	assert_true(F.offset <= 2);
	select_key(FW_CFG_NB_CPUS);
	assert_int_equal(in8(DATA), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_signature, setup),
		cmocka_unit_test_setup(test_id_and_numbers, setup),
		cmocka_unit_test_setup(test_byte_reads_at_both_ports, setup),
		cmocka_unit_test_setup(test_unknown_keys_read_zero, setup),
		cmocka_unit_test_setup(test_key_bits, setup),
		cmocka_unit_test_setup(test_writes_ignored, setup),
		cmocka_unit_test_setup(test_refused_widths, setup),
		cmocka_unit_test_setup(test_empty_directory, setup),
		cmocka_unit_test_setup(test_directory_and_files, setup),
		cmocka_unit_test_setup(test_add_file_limits, setup),
		cmocka_unit_test_setup(test_long_reads_stay_at_end, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
