/* Unit tests of kernel/lib/fmt.c: every conversion, flags, width, length modifiers, truncation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <hv/fmt.h>

/* Calls fmt_vsnprintf without the printf format attribute, for formats the compiler would reject
 * or that fmt deliberately handles differently from libc. */
static int raw_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Formats into a large buffer and checks both the text and the returned length. */
#define EXPECT(want, ...)                                                   \
	do {                                                                \
		char b_[256];                                               \
		memset(b_, 'Z', sizeof(b_));                                \
		int n_ = fmt_snprintf(b_, sizeof(b_), __VA_ARGS__);         \
		assert_string_equal(b_, want);                              \
		assert_int_equal(n_, (int)strlen(want));                    \
	} while (0)

#define EXPECT_RAW(want, ...)                                               \
	do {                                                                \
		char b_[256];                                               \
		memset(b_, 'Z', sizeof(b_));                                \
		int n_ = raw_fmt(b_, sizeof(b_), __VA_ARGS__);              \
		assert_string_equal(b_, want);                              \
		assert_int_equal(n_, (int)strlen(want));                    \
	} while (0)

/* fmt must agree with the C library for the conversions both implement the same way. */
#define SAME_AS_LIBC(...)                                                   \
	do {                                                                \
		char a_[128], l_[128];                                      \
		int na_ = fmt_snprintf(a_, sizeof(a_), __VA_ARGS__);        \
		int nl_ = snprintf(l_, sizeof(l_), __VA_ARGS__);            \
		assert_string_equal(a_, l_);                                \
		assert_int_equal(na_, nl_);                                 \
	} while (0)

static void test_plain_text(void **state)
{
	(void)state;
	EXPECT("", "%s", "");
	EXPECT("hello", "hello");
	EXPECT("a%b", "a%%b");
	EXPECT("%", "%%");
	EXPECT("100%", "100%%");
	EXPECT_RAW("", "");
	EXPECT_RAW("line\nnext\ttab", "line\nnext\ttab");
}

static void test_signed_decimal(void **state)
{
	(void)state;
	EXPECT("0", "%d", 0);
	EXPECT("42", "%d", 42);
	EXPECT("-42", "%d", -42);
	EXPECT("7", "%i", 7);
	EXPECT("-7", "%i", -7);
	EXPECT("2147483647", "%d", INT_MAX);
	EXPECT("-2147483648", "%d", INT_MIN);
	EXPECT("9223372036854775807", "%ld", (long)INT64_MAX);
	EXPECT("-9223372036854775808", "%ld", (long)INT64_MIN);
	EXPECT("-9223372036854775808", "%lld", (long long)INT64_MIN);
	EXPECT("-1", "%lld", -1LL);
	EXPECT("-1", "%zd", (ssize_t)-1);
	EXPECT("123456789012", "%zd", (ssize_t)123456789012LL);
	EXPECT("-5", "%li", -5L);
}

static void test_unsigned_and_hex(void **state)
{
	(void)state;
	EXPECT("0", "%u", 0u);
	EXPECT("4294967295", "%u", UINT_MAX);
	EXPECT("4294967295", "%u", (unsigned)-1);
	EXPECT("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	EXPECT("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	EXPECT("18446744073709551615", "%zu", SIZE_MAX);
	EXPECT("0", "%x", 0u);
	EXPECT("deadbeef", "%x", 0xdeadbeefu);
	EXPECT("DEADBEEF", "%X", 0xdeadbeefu);
	EXPECT("abcdef0123", "%lx", 0xabcdef0123ul);
	EXPECT("ABCDEF0123", "%lX", 0xabcdef0123ul);
	EXPECT("ffffffffffffffff", "%llx", (unsigned long long)UINT64_MAX);
	EXPECT("fed00000", "%zx", (size_t)0xfed00000u);
	EXPECT("10", "%x", 16u);
	EXPECT("a", "%x", 10u);
	/* without l, only 32 bits are taken */
	EXPECT("ffffffff", "%x", 0xffffffffu);
}

static void test_width_and_flags(void **state)
{
	(void)state;
	EXPECT("   42", "%5d", 42);
	EXPECT("42   ", "%-5d", 42);
	EXPECT("00042", "%05d", 42);
	EXPECT("  -42", "%5d", -42);
	EXPECT("-0042", "%05d", -42);
	EXPECT("-42  |", "%-5d|", -42);
	EXPECT("42", "%1d", 42);  /* width below the length: no truncation */
	EXPECT("12345", "%3d", 12345);
	EXPECT("0000beef", "%08x", 0xbeefu);
	EXPECT("    BEEF", "%8X", 0xbeefu);
	EXPECT("beef    |", "%-8x|", 0xbeefu);
	EXPECT("00000000000000000001", "%020lu", 1ul);
	EXPECT("                   1", "%20lu", 1ul);
	EXPECT("0x0000fee00000", "0x%012lx", 0xfee00000ul);
	EXPECT("      abc", "%9s", "abc");
	EXPECT("abc      |", "%-9s|", "abc");
	EXPECT("abcdef", "%3s", "abcdef");
	EXPECT("  x", "%3c", 'x');
	EXPECT("x  |", "%-3c|", 'x');
	/* '-' wins over '0' */
	EXPECT_RAW("42   |", "%-05d|", 42);
	EXPECT_RAW("42   |", "%0-5d|", 42);
	/* '0' on strings and chars pads with spaces */
	EXPECT_RAW("  abc", "%05s", "abc");
	EXPECT_RAW("    q", "%05c", 'q');
	/* multi-digit width */
	EXPECT("                                       7", "%40d", 7);
}

static void test_strings_and_chars(void **state)
{
	(void)state;
	EXPECT("hello world", "%s %s", "hello", "world");
	EXPECT("(null)", "%s", (char *)NULL);
	EXPECT("    (null)", "%10s", (char *)NULL);
	EXPECT("A", "%c", 'A');
	EXPECT("ab", "%c%c", 'a', 'b');
	EXPECT("[RSD PTR ]", "[%s]", "RSD PTR ");
	EXPECT("APIC FACP", "%s %s", "APIC", "FACP");
}

static void test_pointer(void **state)
{
	(void)state;
	/* %p: always 0x and 16 zero-padded hex digits (unlike glibc) */
	EXPECT("0x0000000000001234", "%p", (void *)0x1234);
	EXPECT("0x0000000000000000", "%p", (void *)0);
	EXPECT("0xffffffff80000000", "%p", (void *)0xffffffff80000000ul);
	EXPECT("p=0x00007fffdeadbeef!", "p=%p!", (void *)0x7fffdeadbeeful);
}

static void test_mixed_arguments(void **state)
{
	(void)state;
	EXPECT("ACPI: MADT checksum mismatch (table at 0x7fe1234, sum 0x3c)",
	       "ACPI: %s checksum mismatch (table at 0x%lx, sum 0x%02x)", "MADT", 0x7fe1234ul, 0x3c);
	EXPECT("cpu 3 apic 0x3 lapic 0xfee00000 ok", "cpu %u apic 0x%x lapic 0x%lx %s", 3u, 3u, 0xfee00000ul, "ok");
	EXPECT("1 -2 3 -4 5", "%d %ld %lld %zd %u", 1, -2L, 3LL, (ssize_t)-4, 5u);
	EXPECT("a1b2c3", "%c%d%c%x%c%u", 'a', 1, 'b', 2u, 'c', 3u);
	/* a 32-bit argument after a 64-bit one, and vice versa, keep their slots */
	EXPECT("ffffffffffffffff 1 ffffffffffffffff", "%lx %u %lx", ~0ul, 1u, ~0ul);
}

static void test_unknown_and_trailing(void **state)
{
	(void)state;
	/* unknown conversions are printed as they are */
	EXPECT_RAW("%q", "%q");
	EXPECT_RAW("a%yb", "a%yb");
	EXPECT_RAW("%hd", "%hd", 5); /* h is not supported */
	/* a lone '%' at the end prints nothing and does not read past the NUL */
	EXPECT_RAW("abc", "abc%");
	EXPECT_RAW("abc", "abc%-05");
	EXPECT_RAW("abc", "abc%l");
}

static void test_truncation(void **state)
{
	(void)state;
	char b[16];

	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 6, "hello world"), 11);
	assert_string_equal(b, "hello");
	assert_int_equal(b[6], 'Z'); /* nothing written past size */

	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 1, "hello"), 5);
	assert_int_equal(b[0], '\0');
	assert_int_equal(b[1], 'Z');

	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 0, "hello"), 5);
	assert_int_equal(b[0], 'Z'); /* size 0: untouched */
	assert_int_equal(fmt_snprintf(NULL, 0, "%d-%s", 12345, "abc"), 9);

	/* exactly fitting, and one short */
	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 6, "%5d", 42), 5);
	assert_string_equal(b, "   42");
	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 5, "%5d", 42), 5);
	assert_string_equal(b, "   4");
	assert_int_equal(b[5], 'Z');

	/* truncation inside padding, numbers, strings, hex */
	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 4, "%-10s|", "ab"), 11);
	assert_string_equal(b, "ab ");
	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 8, "%lx", 0x123456789abcdeful), 15);
	assert_string_equal(b, "1234567");
	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 3, "%%%%%%"), 3);
	assert_string_equal(b, "%%");
	memset(b, 'Z', sizeof(b));
	assert_int_equal(fmt_snprintf(b, 10, "%p", (void *)1), 18);
	assert_string_equal(b, "0x0000000");
}

static void test_truncation_every_size(void **state)
{
	(void)state;
	const char *want = "ACPI: no MADT in XSDT (tables: FACP HPET WAET) -17 0xfed00000";
	size_t len = strlen(want);

	for (size_t size = 0; size <= len + 2; size++) {
		char b[128];
		memset(b, 'Z', sizeof(b));
		int n = fmt_snprintf(b, size, "ACPI: no %s in %s (tables: %s) %d 0x%lx", "MADT", "XSDT",
				     "FACP HPET WAET", -17, 0xfed00000ul);
		assert_int_equal(n, (int)len);
		if (size == 0) {
			assert_int_equal(b[0], 'Z');
			continue;
		}
		size_t got = size - 1 < len ? size - 1 : len;
		assert_int_equal(strlen(b), got);
		assert_memory_equal(b, want, got);
		assert_int_equal(b[got], '\0');
		assert_int_equal(b[got + 1], 'Z');
	}
}

static void test_matches_libc(void **state)
{
	(void)state;
	static const int ints[] = { 0, 1, -1, 9, 10, -10, 255, 4096, -99999, INT_MAX, INT_MIN };
	static const long longs[] = { 0, 1, -1, 0x7fffffffl, -0x80000000l, 0x123456789l, (long)INT64_MAX, (long)INT64_MIN };

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int v = ints[i];
		unsigned u = (unsigned)v;
		SAME_AS_LIBC("%d", v);
		SAME_AS_LIBC("%i", v);
		SAME_AS_LIBC("%8d|", v);
		SAME_AS_LIBC("%-8d|", v);
		SAME_AS_LIBC("%08d", v);
		SAME_AS_LIBC("%012d", v);
		SAME_AS_LIBC("%u", u);
		SAME_AS_LIBC("%10u", u);
		SAME_AS_LIBC("%x", u);
		SAME_AS_LIBC("%X", u);
		SAME_AS_LIBC("%08x", u);
		SAME_AS_LIBC("%-10X|", u);
		SAME_AS_LIBC("%c", 'a' + (v & 15));
	}
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		long v = longs[i];
		unsigned long u = (unsigned long)v;
		SAME_AS_LIBC("%ld", v);
		SAME_AS_LIBC("%lld", (long long)v);
		SAME_AS_LIBC("%25ld|", v);
		SAME_AS_LIBC("%-25lld|", (long long)v);
		SAME_AS_LIBC("%025ld", v);
		SAME_AS_LIBC("%lu", u);
		SAME_AS_LIBC("%llu", (unsigned long long)u);
		SAME_AS_LIBC("%lx", u);
		SAME_AS_LIBC("%llX", (unsigned long long)u);
		SAME_AS_LIBC("%016lx", u);
		SAME_AS_LIBC("%zu", (size_t)u);
		SAME_AS_LIBC("%zx", (size_t)u);
		SAME_AS_LIBC("%zd", (ssize_t)v);
	}
	static const char *strs[] = { "", "a", "hello", "a longer string of text" };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		SAME_AS_LIBC("%s", strs[i]);
		SAME_AS_LIBC("[%10s]", strs[i]);
		SAME_AS_LIBC("[%-10s]", strs[i]);
	}
}

static void test_vsnprintf_entry(void **state)
{
	(void)state;
	char b[32];
	assert_int_equal(raw_fmt(b, sizeof(b), "%s=%d", "x", 5), 3);
	assert_string_equal(b, "x=5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_signed_decimal),
		cmocka_unit_test(test_unsigned_and_hex),
		cmocka_unit_test(test_width_and_flags),
		cmocka_unit_test(test_strings_and_chars),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_mixed_arguments),
		cmocka_unit_test(test_unknown_and_trailing),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_truncation_every_size),
		cmocka_unit_test(test_matches_libc),
		cmocka_unit_test(test_vsnprintf_entry),
	};
	return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
