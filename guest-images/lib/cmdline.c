/* Command line lookup, in the Multiboot (v1) information or the Multiboot2 command line tag. */
#include "cmdline.h"
#include "guest.h"
#include "multiboot2.h"

/* The command line tag's string, when it is NUL-terminated inside its tag. */
static const char *mb2_cmdline(void)
{
	const struct multiboot2_tag_string *t = (const void *)mb2_find(MULTIBOOT2_TAG_CMDLINE);

	if (!t || t->tag.size <= sizeof(t->tag) || t->string[t->tag.size - sizeof(t->tag) - 1])
		return "";
	return t->string;
}

static const char *cmdline(void)
{
	if (multiboot2_booted())
		return mb2_cmdline();
	if (!(boot_info->flags & MULTIBOOT_INFO_CMDLINE) || !boot_info->cmdline)
		return "";
	return (const char *)boot_info->cmdline;
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* Returns the first character after `name` when the word at w starts with it, else 0. */
static const char *match_word_prefix(const char *w, const char *name)
{
	while (*name)
		if (*w++ != *name++)
			return 0;
	return w;
}

/* Finds the word that is `name` followed by terminator ('\0': the word's end); returns what follows. */
static const char *find(const char *name, char terminator)
{
	const char *p = cmdline();

	while (*p) {
		while (is_space(*p))
			p++;
		const char *rest = match_word_prefix(p, name);
		if (rest && (*rest == terminator || (terminator == '\0' && is_space(*rest))))
			return rest;
		while (*p && !is_space(*p))
			p++;
	}
	return 0;
}

bool cmdline_has(const char *flag) { return find(flag, '\0') != 0; }

bool cmdline_value(const char *key, char *buf, unsigned size)
{
	const char *v = find(key, '=');
	unsigned n = 0;

	if (!v)
		return false;
	for (v++; *v && !is_space(*v) && n + 1 < size; v++)
		buf[n++] = *v;
	buf[n] = '\0';
	return true;
}

bool expect_hv(void) { return cmdline_has("expect-hv"); }
