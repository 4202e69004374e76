/* Parser for vms.cfg (format in include/hv/config.h). */
#include <hv/config.h>
#include <hv/fmt.h>
#include <hv/string.h>
#include <stdbool.h>

#define LINE_MAX 512
#define MEMORY_MIN (2ull << 20)
#define MEMORY_MAX (3ull << 30) /* guest RAM stays below the 32-bit device window for now */
#define SIZE_2M (2ull << 20)

struct parser {
	struct hv_config *cfg;
	struct vm_config *vm;
	uint32_t line;
	bool cpus_given;
	char *err;
	size_t err_size;
};

static int fail(struct parser *p, const char *what, const char *detail)
{
	fmt_snprintf(p->err, p->err_size, "line %u: %s%s%s%s", p->line, what, detail ? " '" : "", detail ? detail : "",
		     detail ? "'" : "");
	return -1;
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

static char *trim(char *s)
{
	while (is_space(*s))
		s++;
	size_t n = strlen(s);
	while (n && (is_space(s[n - 1]) || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CONFIG_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

static bool parse_number(const char **s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return true;
}

static bool parse_size(const char *s, uint64_t *out)
{
	uint64_t v, shift = 0;

	if (!parse_number(&s, &v))
		return false;
	if (*s == 'K' || *s == 'k')
		shift = 10;
	else if (*s == 'M' || *s == 'm')
		shift = 20;
	else if (*s == 'G' || *s == 'g')
		shift = 30;
	if (shift)
		s++;
	if (*s || v > (MEMORY_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

static int section(struct parser *p, char *s)
{
	size_t n = strlen(s);

	if (s[n - 1] != ']' || strncmp(s, "[vm", 3) || !is_space(s[3]))
		return fail(p, "expected a section like [vm NAME], got", s);
	s[n - 1] = 0;
	char *name = trim(s + 3);
	if (!valid_name(name))
		return fail(p, "bad VM name (letters, digits, '_', '-', '.'; at most 31)", name);
	for (uint32_t i = 0; i < p->cfg->vm_count; i++)
		if (!strcmp(p->cfg->vms[i].name, name))
			return fail(p, "a VM with this name is already defined:", name);
	if (p->cfg->vm_count == CONFIG_MAX_VMS)
		return fail(p, "too many VMs (at most 16)", NULL);
	p->vm = &p->cfg->vms[p->cfg->vm_count++];
	memset(p->vm, 0, sizeof(*p->vm));
	strlcpy(p->vm->name, name, sizeof(p->vm->name));
	p->vm->line = p->line;
	p->vm->vcpus = 1;
	p->vm->memory = CONFIG_DEFAULT_MEMORY;
	for (int i = 0; i < CONFIG_MAX_VCPUS; i++)
		p->vm->pin[i] = CONFIG_PIN_AUTO;
	p->cpus_given = false;
	return 0;
}

static int key_pin(struct parser *p, const char *value)
{
	uint32_t n = 0;

	for (int i = 0; i < CONFIG_MAX_VCPUS; i++)
		p->vm->pin[i] = CONFIG_PIN_AUTO;
	while (*value) {
		uint64_t cpu;
		const char *start = value;
		if (!parse_number(&value, &cpu) || cpu > 4095 || (*value && !is_space(*value))) {
			char token[24];
			size_t n = 0;
			while (start[n] && !is_space(start[n]) && n + 1 < sizeof(token))
				n++;
			memcpy(token, start, n);
			token[n] = 0;
			return fail(p, "pin takes physical CPU numbers (0-4095), got", token);
		}
		if (n == CONFIG_MAX_VCPUS)
			return fail(p, "too many CPUs in pin (at most 16)", NULL);
		p->vm->pin[n++] = (uint32_t)cpu;
		while (is_space(*value))
			value++;
	}
	if (n == 0)
		return fail(p, "pin needs at least one CPU number", NULL);
	p->vm->pin_line = p->line;
	/* Without an explicit cpus line, the pin list says how many vcpus there are. */
	if (!p->cpus_given)
		p->vm->vcpus = n;
	return 0;
}

static int copy_value(struct parser *p, char *dst, size_t size, const char *value, const char *key)
{
	if (strlen(value) >= size)
		return fail(p, "value too long for", key);
	strlcpy(dst, value, size);
	return 0;
}

static int key_value(struct parser *p, char *key, char *value)
{
	struct vm_config *vm = p->vm;
	uint64_t n;

	if (!vm)
		return fail(p, "setting outside a [vm NAME] section:", key);
	if (!strcmp(key, "cpus")) {
		const char *s = value;
		if (!parse_number(&s, &n) || *s || n == 0 || n > CONFIG_MAX_VCPUS)
			return fail(p, "cpus must be a number from 1 to 16, got", value);
		vm->vcpus = (uint32_t)n;
		p->cpus_given = true;
		return 0;
	}
	if (!strcmp(key, "pin"))
		return key_pin(p, value);
	if (!strcmp(key, "memory")) {
		if (!parse_size(value, &n) || n < MEMORY_MIN || n > MEMORY_MAX)
			return fail(p, "memory must be a size like 64M, from 2M to 3G, got", value);
		vm->memory = (n + SIZE_2M - 1) & ~(SIZE_2M - 1);
		vm->memory_line = p->line;
		return 0;
	}
	if (!strcmp(key, "kernel")) {
		if (!*value)
			return fail(p, "kernel needs a file name", NULL);
		vm->kernel_line = p->line;
		return copy_value(p, vm->kernel, sizeof(vm->kernel), value, key);
	}
	if (!strcmp(key, "cmdline"))
		return copy_value(p, vm->cmdline, sizeof(vm->cmdline), value, key);
	if (!strcmp(key, "module")) {
		if (vm->module_count == CONFIG_MAX_MODULES)
			return fail(p, "too many modules (at most 8)", NULL);
		if (!*value)
			return fail(p, "module needs a file name", NULL);
		vm->module_lines[vm->module_count] = p->line;
		return copy_value(p, vm->modules[vm->module_count++], CONFIG_FILE_MAX, value, key);
	}
	return fail(p, "unknown key", key);
}

static int parse_line(struct parser *p, char *s)
{
	s = trim(s);
	if (!*s || *s == '#')
		return 0;
	if (*s == '[')
		return section(p, s);
	char *eq = s;
	while (*eq && *eq != '=')
		eq++;
	if (!*eq)
		return fail(p, "expected 'key = value', got", s);
	*eq = 0;
	return key_value(p, trim(s), trim(eq + 1));
}

static int finish_vm(struct parser *p, struct vm_config *vm)
{
	p->line = vm->line;
	if (!vm->kernel[0])
		return fail(p, "no kernel given for vm", vm->name);
	uint32_t pins = 0;
	while (pins < CONFIG_MAX_VCPUS && vm->pin[pins] != CONFIG_PIN_AUTO)
		pins++;
	if (pins && pins != vm->vcpus) {
		fmt_snprintf(p->err, p->err_size, "line %u: vm %s has %u vcpus but pins %u cpus", vm->line, vm->name,
			     vm->vcpus, pins);
		return -1;
	}
	return 0;
}

int config_parse(const char *text, size_t len, struct hv_config *out, char *err, size_t err_size)
{
	struct parser p = { .cfg = out, .err = err, .err_size = err_size };
	char line[LINE_MAX];
	size_t pos = 0;

	out->vm_count = 0;
	while (pos < len) {
		size_t n = 0;
		p.line++;
		while (pos < len && text[pos] != '\n') {
			if (n + 1 >= sizeof(line))
				return fail(&p, "line too long", NULL);
			if (text[pos] == '\0')
				return fail(&p, "NUL byte in the configuration", NULL);
			line[n++] = text[pos++];
		}
		pos++;
		line[n] = 0;
		if (parse_line(&p, line))
			return -1;
	}
	for (uint32_t i = 0; i < out->vm_count; i++)
		if (finish_vm(&p, &out->vms[i]))
			return -1;
	return 0;
}
