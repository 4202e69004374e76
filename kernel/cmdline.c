/* Command-line parsing: pure string logic, unit-tested on the host. */
#include <hv/fmt.h>
#include <hv/options.h>
#include <hv/string.h>

/* Finds the token "key" or "key=..." and returns a pointer just past the key, or NULL. */
static const char *cmdline_find(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		const char *tok = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - tok) >= klen && !strncmp(tok, key, klen) && (tok[klen] == ' ' || tok[klen] == '=' || !tok[klen]))
			return tok + klen;
	}
	return NULL;
}

bool cmdline_has(const char *cmdline, const char *key) { return cmdline_find(cmdline, key) != NULL; }

bool cmdline_get(const char *cmdline, const char *key, char *value, size_t size)
{
	const char *p = cmdline_find(cmdline, key);

	if (!p || *p != '=' || size == 0)
		return false;
	p++;
	size_t n = 0;
	while (p[n] && p[n] != ' ')
		n++;
	if (n >= size)
		return false;
	memcpy(value, p, n);
	value[n] = 0;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool cmdline_append_line(char *cmdline, size_t size, const char *text, size_t len)
{
	size_t start = 0, end, have = strnlen(cmdline, size);

	/* Editors on other systems add a UTF-8 byte order mark; it is not part of the line. */
	if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
	    (unsigned char)text[2] == 0xbf)
		start = 3;
	for (end = start; end < len && text[end] != '\r' && text[end] != '\n' && text[end]; end++)
		;
	while (start < end && is_blank(text[start]))
		start++;
	while (end > start && is_blank(text[end - 1]))
		end--;
	if (start == end)
		return have < size;
	size_t sep = have ? 1 : 0;
	if (have >= size || have + sep + (end - start) >= size)
		return false;
	if (sep)
		cmdline[have] = ' ';
	memcpy(cmdline + have + sep, text + start, end - start);
	cmdline[have + sep + (end - start)] = 0;
	return true;
}

bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *value)
{
	char buf[24];

	return cmdline_get(cmdline, key, buf, sizeof(buf)) && parse_u64(buf, value);
}

static bool option_u64(const char *cmdline, const char *key, uint64_t min, uint64_t max, uint64_t *value,
		       char *err, size_t err_size)
{
	if (!cmdline_has(cmdline, key))
		return true;
	if (cmdline_get_u64(cmdline, key, value) && *value >= min && *value <= max)
		return true;
	fmt_snprintf(err, err_size, "bad value for %s= (expected a number from %lu to %lu)", key,
		     (unsigned long)min, (unsigned long)max);
	return false;
}

bool options_parse(const char *cmdline, struct hv_options *opts, char *err, size_t err_size)
{
	uint64_t v;

	opts->loglevel = 2;
	opts->maxcpus = UINT32_MAX;
	opts->test_exit = cmdline_has(cmdline, "test-exit");
	opts->panic_test = cmdline_has(cmdline, "panic-test");

	v = (uint64_t)opts->loglevel;
	if (!option_u64(cmdline, "loglevel", 0, 3, &v, err, err_size))
		return false;
	opts->loglevel = (int)v;
	v = opts->maxcpus;
	if (!option_u64(cmdline, "maxcpus", 1, 4096, &v, err, err_size))
		return false;
	opts->maxcpus = (uint32_t)v;
	return true;
}
