/*
 * Unit tests of kernel/vmm/vpmtmr.c (ACPI 6.5 4.8.3.3): the 3.579545 MHz rate, 24- and 32-bit
 * wrap, reads of every width through the port handler, ignored writes, the MSB-toggle instant.
 * Expected values are computed by hand: tick t is first reached at ceil(t * 10^9 / 3579545) ns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <hv/vpmtmr.h>

static uint64_t now;

static uint64_t fake_now(void *ctx)
{
	assert_ptr_equal(ctx, &now);
	return now;
}

static const struct vdev_env ENV = { .ctx = &now, .now_ns = fake_now };

#define BASE 0xb008

static struct vpmtmr T;

static int setup24(void **state)
{
	(void)state;
	now = 0;
	vpmtmr_init(&T, &ENV, BASE, false);
	return 0;
}

static int setup32(void **state)
{
	(void)state;
	now = 0;
	vpmtmr_init(&T, &ENV, BASE, true);
	return 0;
}

static uint32_t in(uint16_t port, uint8_t bytes)
{
	uint32_t v = 0xa5a5a5a5;
	assert_true(vpmtmr_io(&T, port, bytes, true, &v));
	if (bytes == 1)
		assert_int_equal(v & 0xffffff00, 0xa5a5a500);
	if (bytes == 2)
		assert_int_equal(v & 0xffff0000, 0xa5a50000);
	return bytes == 4 ? v : v & ((1u << (8 * bytes)) - 1);
}

static void test_rate(void **state)
{
	(void)state;
	assert_int_equal(in(BASE, 4), 0);
	now = 279;
	assert_int_equal(in(BASE, 4), 0);
	now = 280; /* one tick is 279.37 ns */
	assert_int_equal(in(BASE, 4), 1);
	now = NS_PER_SEC;
	assert_int_equal(in(BASE, 4), 3579545);
	now = 10 * NS_PER_SEC;
	assert_int_equal(vpmtmr_value(&T, now), 35795450 & 0xffffff);
	/* steady: 1 ms is 3579 or 3580 ticks */
	for (uint64_t t = 0; t < 5 * NS_PER_SEC; t += 999983) {
		uint32_t a = vpmtmr_value(&T, t), b = vpmtmr_value(&T, t + 1000000);
		uint32_t d = (b - a) & 0xffffff;
		assert_true(d == 3579 || d == 3580);
	}
}

static void test_wrap_24(void **state)
{
	(void)state;
	now = 4686968875 - 1;
	assert_int_equal(in(BASE, 4), 0xffffff);
	now = 4686968875; /* tick 2^24 */
	assert_int_equal(in(BASE, 4), 0);
	now = 123456789012;
	assert_int_equal(in(BASE, 4), 0x57269b);
	assert_int_equal(in(BASE + 3, 1), 0); /* the 24-bit timer's top byte */
}

static void test_wrap_32(void **state)
{
	(void)state;
	now = 4686968875;
	assert_int_equal(in(BASE, 4), 0x1000000);
	now = 123456789012;
	assert_int_equal(in(BASE, 4), 0x1a57269b);
	now = 1199864031882 - 1;
	assert_int_equal(in(BASE, 4), 0xffffffff);
	now = 1199864031882; /* tick 2^32 */
	assert_int_equal(in(BASE, 4), 0);
	now = UINT64_MAX;
	assert_int_equal(in(BASE, 4), 3047538368u);
}

static void test_narrow_reads_and_writes(void **state)
{
	(void)state;
	now = 123456789012; /* 0x1a57269b */
	assert_int_equal(in(BASE, 1), 0x9b);
	assert_int_equal(in(BASE + 1, 1), 0x26);
	assert_int_equal(in(BASE + 2, 1), 0x57);
	assert_int_equal(in(BASE + 3, 1), 0x1a);
	assert_int_equal(in(BASE, 2), 0x269b);
	assert_int_equal(in(BASE + 2, 2), 0x1a57);
	assert_int_equal(in(BASE + 3, 2), 0xff1a);
	assert_int_equal(in(BASE + 1, 4), 0xff1a5726);
	/* writes: accepted and ignored */
	uint32_t v = 0;
	assert_true(vpmtmr_io(&T, BASE, 4, false, &v));
	assert_int_equal(in(BASE, 4), 0x1a57269b);
	assert_false(vpmtmr_io(&T, BASE, 3, true, &v));
	assert_false(vpmtmr_io(&T, BASE, 0, true, &v));
}

static void test_next_carry(void **state)
{
	(void)state;
	/* 24-bit: the MSB toggles every 2^23 ticks */
	assert_int_equal(vpmtmr_next_carry(&T, 0), 2343484438);
	assert_int_equal(vpmtmr_next_carry(&T, 2343484437), 2343484438);
	assert_int_equal(vpmtmr_next_carry(&T, 2343484438), 4686968875);
	vpmtmr_init(&T, &ENV, BASE, true);
	assert_int_equal(vpmtmr_next_carry(&T, 0), 599932015941);
	assert_int_equal(vpmtmr_next_carry(&T, 599932015941), 1199864031882);
	assert_int_equal(vpmtmr_next_carry(&T, UINT64_MAX), VDEV_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rate, setup24),
		cmocka_unit_test_setup(test_wrap_24, setup24),
		cmocka_unit_test_setup(test_wrap_32, setup32),
		cmocka_unit_test_setup(test_narrow_reads_and_writes, setup32),
		cmocka_unit_test_setup(test_next_carry, setup24),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
