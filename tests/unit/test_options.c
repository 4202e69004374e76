/*
 * Unit tests of kernel/cmdline.c: token matching (no prefix confusion), values, numbers in decimal
 * and hex with overflow, and options_parse's defaults, ranges and error messages. Command lines are
 * copied to exact-size heap buffers so ASan sees any read past the terminating NUL.
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

#include <hv/options.h>

/* The kernel defines this in kernel/main.c; options_parse never touches it. */
struct hv_options hv_options;

static char *heap(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static bool has(const char *cmdline, const char *key)
{
	char *c = heap(cmdline), *k = heap(key);
	bool r = cmdline_has(c, k);

	free(c);
	free(k);
	return r;
}

/* cmdline_get into a buffer of exactly size bytes (poisoned around by ASan). */
static bool get(const char *cmdline, const char *key, size_t size, char *out)
{
	char *c = heap(cmdline);
	char *v = malloc(size ? size : 1);
	assert_non_null(v);
	memset(v, 'Z', size ? size : 1);
	bool r = cmdline_get(c, key, v, size);

	if (r)
		strcpy(out, v);
	free(c);
	free(v);
	return r;
}

static bool get_u64(const char *cmdline, const char *key, uint64_t *v)
{
	char *c = heap(cmdline);
	bool r = cmdline_get_u64(c, key, v);

	free(c);
	return r;
}

static void test_has(void **state)
{
	(void)state;
	assert_true(has("test-exit", "test-exit"));
	assert_true(has("a test-exit b", "test-exit"));
	assert_true(has("  test-exit  ", "test-exit"));
	assert_true(has("a b test-exit", "test-exit"));
	assert_true(has("test-exit=1", "test-exit"));
	assert_true(has("test-exit=", "test-exit"));
	assert_false(has("", "test-exit"));
	assert_false(has("     ", "test-exit"));
	/* prefixes and suffixes of other tokens never match */
	assert_false(has("test-exit-now", "test-exit"));
	assert_false(has("test-exits", "test-exit"));
	assert_false(has("xtest-exit", "test-exit"));
	assert_false(has("test", "test-exit"));
	assert_false(has("test-exi", "test-exit"));
	assert_false(has("test-exit-now", "test"));
	assert_false(has("panic-testing", "panic-test"));
	assert_true(has("test-exit-now test-exit", "test-exit"));
	assert_true(has("test-exit-now test-exit", "test-exit-now"));
	/* a value that looks like the key is not the key */
	assert_false(has("foo=test-exit", "test-exit"));
	/* only spaces separate tokens: a tab is part of a token */
	assert_false(has("a\ttest-exit", "test-exit"));
	/* case matters */
	assert_false(has("Test-Exit", "test-exit"));
}

static void test_get(void **state)
{
	(void)state;
	char v[64];

	assert_true(get("loglevel=3", "loglevel", 16, v));
	assert_string_equal(v, "3");
	assert_true(get("a=1 b=two c", "b", 16, v));
	assert_string_equal(v, "two");
	assert_true(get("a=1 b=two c=x=y", "c", 16, v));
	assert_string_equal(v, "x=y");
	/* an empty value */
	assert_true(get("maxcpus= next", "maxcpus", 16, v));
	assert_string_equal(v, "");
	assert_true(get("maxcpus=", "maxcpus", 1, v));
	assert_string_equal(v, "");
	/* a key without '=' has no value */
	assert_false(get("maxcpus", "maxcpus", 16, v));
	assert_false(get("maxcpus next=1", "maxcpus", 16, v));
	/* no prefix confusion */
	assert_false(get("maxcpusx=4", "maxcpus", 16, v));
	assert_false(get("xmaxcpus=4", "maxcpus", 16, v));
	/* the first occurrence wins, even if it has no value */
	assert_true(get("k=1 k=2", "k", 16, v));
	assert_string_equal(v, "1");
	assert_false(get("k k=2", "k", 16, v));
	/* the value must fit with its NUL: a too-small buffer is a failure, not a truncation */
	assert_true(get("k=abcd", "k", 5, v));
	assert_string_equal(v, "abcd");
	assert_false(get("k=abcde", "k", 5, v));
	assert_false(get("k=a", "k", 0, v));
	assert_false(get("k=", "k", 0, v));
	assert_false(get("", "k", 16, v));
}

static void test_get_u64(void **state)
{
	(void)state;
	uint64_t v;
	static const struct {
		const char *text;
		uint64_t want;
	} ok[] = {
		{ "n=0", 0 },
		{ "n=1", 1 },
		{ "n=4096", 4096 },
		{ "n=007", 7 },
		{ "n=0x10", 16 },
		{ "n=0X10", 16 },
		{ "n=0xAbCdEf", 0xabcdef },
		{ "n=0x0", 0 },
		{ "n=0", 0 },
		{ "n=18446744073709551615", UINT64_MAX },
		{ "n=0xffffffffffffffff", UINT64_MAX },
		{ "n=0xFFFFFFFFFFFFFFFF", UINT64_MAX },
		{ "n=0x00000000000000000001", 1 },
		{ "x n=5 y", 5 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 0xdead;
		if (!get_u64(ok[i].text, "n", &v))
			print_error("rejected %s\n", ok[i].text);
		assert_true(get_u64(ok[i].text, "n", &v));
		assert_int_equal(v, ok[i].want);
	}
	static const char *const bad[] = {
		"n",
		"n=",
		"n=x",
		"n=0x",
		"n=0X",
		"n=-1",
		"n=+1",
		"n=1k",
		"n=12a",
		"n=0x1g",
		"n=1.0",
		"n=ab", /* hex digits need the 0x prefix */
		"n=18446744073709551616",
		"n=99999999999999999999",
		"n=0x10000000000000000",
		"n=000000000000000000000001", /* 24 characters do not fit the 24-byte value buffer */
		"",
		"m=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 0xdead;
		if (get_u64(bad[i], "n", &v))
			print_error("accepted %s\n", bad[i]);
		assert_false(get_u64(bad[i], "n", &v));
		assert_int_equal(v, 0xdead); /* untouched on failure */
	}
	/* 23 characters still fit */
	assert_true(get_u64("n=00000000000000000000001", "n", &v));
	assert_int_equal(v, 1);
}

static void test_options_defaults(void **state)
{
	(void)state;
	struct hv_options o;
	char err[128];
	static const char *const neutral[] = { "", " ", "quiet", "console=ttyS0 foo bar=baz", "test-exit-now",
					       "panic-testing loglevelx=9 maxcpusy=0" };

	for (size_t i = 0; i < sizeof(neutral) / sizeof(neutral[0]); i++) {
		char *c = heap(neutral[i]);
		memset(&o, 0x5a, sizeof(o));
		strcpy(err, "untouched");
		assert_true(options_parse(c, &o, err, sizeof(err)));
		assert_int_equal(o.loglevel, 2);
		assert_int_equal(o.maxcpus, UINT32_MAX);
		assert_false(o.test_exit);
		assert_false(o.panic_test);
		assert_string_equal(err, "untouched");
		free(c);
	}
}

static void test_options_values(void **state)
{
	(void)state;
	struct hv_options o;
	char err[128];
	char *c;

	c = heap("loglevel=0 maxcpus=1 test-exit panic-test");
	assert_true(options_parse(c, &o, err, sizeof(err)));
	free(c);
	assert_int_equal(o.loglevel, 0);
	assert_int_equal(o.maxcpus, 1);
	assert_true(o.test_exit);
	assert_true(o.panic_test);

	for (int l = 0; l <= 3; l++) {
		char text[32];
		snprintf(text, sizeof(text), "loglevel=%d", l);
		assert_true(options_parse(text, &o, err, sizeof(err)));
		assert_int_equal(o.loglevel, l);
	}
	assert_true(options_parse("maxcpus=4096", &o, err, sizeof(err)));
	assert_int_equal(o.maxcpus, 4096);
	assert_true(options_parse("maxcpus=0x10 loglevel=0x3", &o, err, sizeof(err)));
	assert_int_equal(o.maxcpus, 16);
	assert_int_equal(o.loglevel, 3);
	/* test-exit=... still counts as the flag */
	assert_true(options_parse("test-exit=1", &o, err, sizeof(err)));
	assert_true(o.test_exit);
	/* a second options_parse starts from the defaults again */
	assert_true(options_parse("", &o, err, sizeof(err)));
	assert_int_equal(o.loglevel, 2);
	assert_int_equal(o.maxcpus, UINT32_MAX);
	assert_false(o.test_exit);
}

static void test_options_errors(void **state)
{
	(void)state;
	static const struct {
		const char *cmdline;
		const char *err;
	} bad[] = {
		{ "loglevel=4", "bad value for loglevel= (expected a number from 0 to 3)" },
		{ "loglevel=", "bad value for loglevel= (expected a number from 0 to 3)" },
		{ "loglevel", "bad value for loglevel= (expected a number from 0 to 3)" },
		{ "loglevel=debug", "bad value for loglevel= (expected a number from 0 to 3)" },
		{ "loglevel=-1", "bad value for loglevel= (expected a number from 0 to 3)" },
		{ "loglevel=18446744073709551618", "bad value for loglevel= (expected a number from 0 to 3)" },
		{ "maxcpus=0", "bad value for maxcpus= (expected a number from 1 to 4096)" },
		{ "maxcpus=4097", "bad value for maxcpus= (expected a number from 1 to 4096)" },
		{ "maxcpus=", "bad value for maxcpus= (expected a number from 1 to 4096)" },
		{ "maxcpus", "bad value for maxcpus= (expected a number from 1 to 4096)" },
		{ "maxcpus=4294967297", "bad value for maxcpus= (expected a number from 1 to 4096)" },
		{ "maxcpus=0x", "bad value for maxcpus= (expected a number from 1 to 4096)" },
		{ "test-exit maxcpus=2x", "bad value for maxcpus= (expected a number from 1 to 4096)" },
		/* loglevel is checked first */
		{ "maxcpus=0 loglevel=9", "bad value for loglevel= (expected a number from 0 to 3)" },
		/* the first occurrence is the one that counts */
		{ "maxcpus maxcpus=2", "bad value for maxcpus= (expected a number from 1 to 4096)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hv_options o;
		char err[128];
		char *c = heap(bad[i].cmdline);

		strcpy(err, "untouched");
		assert_false(options_parse(c, &o, err, sizeof(err)));
		assert_string_equal(err, bad[i].err);
		free(c);
	}
	/* the error is truncated to the buffer */
	struct hv_options o;
	char small[8];
	assert_false(options_parse("loglevel=7", &o, small, sizeof(small)));
	assert_string_equal(small, "bad val");
	/* the flags were already filled when a value is bad: the kernel keeps test-exit */
	assert_false(options_parse("test-exit loglevel=7", &o, small, sizeof(small)));
	assert_true(o.test_exit);
	/* the first valid occurrence wins over a later bad one */
	assert_true(options_parse("maxcpus=2 maxcpus=0", &o, small, sizeof(small)));
	assert_int_equal(o.maxcpus, 2);
}

/* cmdline_append_line with the file text in an exact-size heap buffer (no NUL after it). */
static bool append(char *cmdline, size_t size, const char *text, size_t len)
{
	char *t = malloc(len ? len : 1);
	assert_non_null(t);
	memcpy(t, text, len);
	bool r = cmdline_append_line(cmdline, size, t, len);

	free(t);
	return r;
}

#define APPEND(c, size, lit) append(c, size, lit, sizeof(lit) - 1)

static void test_append_line(void **state)
{
	(void)state;
	char c[32];

	/* the first line only, blanks trimmed, CRLF and LF */
	c[0] = 0;
	assert_true(APPEND(c, sizeof(c), "  loglevel=3 test-exit \t\r\nmaxcpus=1\n"));
	assert_string_equal(c, "loglevel=3 test-exit");
	/* after an existing command line, one space between */
	strcpy(c, "maxcpus=2");
	assert_true(APPEND(c, sizeof(c), "loglevel=1\n"));
	assert_string_equal(c, "maxcpus=2 loglevel=1");
	/* a UTF-8 byte order mark is dropped; no line end at all is fine */
	c[0] = 0;
	assert_true(APPEND(c, sizeof(c), "\xef\xbb\xbftest-exit"));
	assert_string_equal(c, "test-exit");
	/* empty, blank or empty-first-line files add nothing (and no space) */
	strcpy(c, "a");
	assert_true(append(c, sizeof(c), "", 0));
	assert_true(APPEND(c, sizeof(c), " \t \n"));
	assert_true(APPEND(c, sizeof(c), "\r\nloglevel=3\n"));
	assert_true(APPEND(c, sizeof(c), "\xef\xbb\xbf\n"));
	assert_string_equal(c, "a");
	/* a NUL ends the line too */
	c[0] = 0;
	assert_true(append(c, sizeof(c), "ab\0cd", 5));
	assert_string_equal(c, "ab");
	/* exactly full fits; one more byte is refused and leaves the command line untouched */
	char s[8] = "ab";
	assert_true(APPEND(s, sizeof(s), "cdef"));
	assert_string_equal(s, "ab cdef");
	strcpy(s, "ab");
	assert_false(APPEND(s, sizeof(s), "cdefg"));
	assert_string_equal(s, "ab");
	s[0] = 0;
	assert_true(APPEND(s, sizeof(s), "1234567"));
	assert_string_equal(s, "1234567");
	s[0] = 0;
	assert_false(APPEND(s, sizeof(s), "12345678"));
	assert_string_equal(s, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_has),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_get_u64),
		cmocka_unit_test(test_options_defaults),
		cmocka_unit_test(test_options_values),
		cmocka_unit_test(test_options_errors),
		cmocka_unit_test(test_append_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
