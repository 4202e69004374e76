/*
 * libFuzzer target for kernel/vmm/vfwcfg.c: a configuration (CPU count, RAM size, files with any
 * names and sizes), then any sequence of port accesses (either port, any width, either direction,
 * any value) and direct selects and reads. Every byte the guest reads is compared with a reference
 * built here from QEMU's fw_cfg specification: each item as a flat byte array, zeros past its end
 * and for keys without an item. Also checked: a port access is accepted exactly when it is a byte
 * access or a 16-bit selector write, a refused or write access changes nothing the guest can read,
 * and the model's offset never passes the selected item's end.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hv/vfwcfg.h>

#define CHECK(c)                      \
	do {                          \
		if (!(c))             \
			__builtin_trap(); \
	} while (0)

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

/* The reference: every item the device has, as bytes. */
#define DIR_MAX (4 + VFWCFG_FILES_MAX * FW_CFG_FILE_ENTRY_SIZE)

static struct {
	uint8_t sig[4], id[4], ram[8], cpus[2];
	uint8_t dir[DIR_MAX];
	uint32_t dir_len;
	uint8_t file[VFWCFG_FILES_MAX][VFWCFG_DATA_MAX];
	uint32_t file_len[VFWCFG_FILES_MAX];
	char names[VFWCFG_FILES_MAX][FW_CFG_MAX_FILE_PATH];
	uint32_t files, used;
	uint16_t key;
	uint32_t offset;
} R;

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void ref_init(uint16_t cpus, uint64_t ram)
{
	memset(&R, 0, sizeof(R));
	memcpy(R.sig, "QEMU", 4);
	put_le(R.id, 1, 4);
	put_le(R.ram, ram, 8);
	put_le(R.cpus, cpus, 2);
	R.dir_len = 4;
}

/* What a correct add_file does, from the specification's side. */
static bool ref_add(const char *name, size_t name_len, const uint8_t *data, uint32_t size)
{
	if (name_len == 0 || name_len >= FW_CFG_MAX_FILE_PATH || R.files == VFWCFG_FILES_MAX ||
	    size > VFWCFG_DATA_MAX - R.used)
		return false;
	for (uint32_t i = 0; i < R.files; i++)
		if (strlen(R.names[i]) == name_len && !memcmp(R.names[i], name, name_len))
			return false;
	uint32_t i = R.files++;
	memcpy(R.names[i], name, name_len);
	memcpy(R.file[i], data, size);
	R.file_len[i] = size;
	R.used += size;
	put_be(R.dir, R.files, 4);
	uint8_t *e = R.dir + 4 + i * FW_CFG_FILE_ENTRY_SIZE;
	put_be(e, size, 4);
	put_be(e + 4, FW_CFG_FILE_FIRST + i, 2);
	memcpy(e + 8, R.names[i], FW_CFG_MAX_FILE_PATH);
	R.dir_len += FW_CFG_FILE_ENTRY_SIZE;
	return true;
}

static void ref_item(uint16_t key, const uint8_t **p, uint32_t *len)
{
	uint16_t k = key & FW_CFG_ENTRY_MASK;

	*p = NULL;
	*len = 0;
	if (key & FW_CFG_ARCH_LOCAL)
		return;
	if (k == FW_CFG_SIGNATURE)
		*p = R.sig, *len = 4;
	else if (k == FW_CFG_ID)
		*p = R.id, *len = 4;
	else if (k == FW_CFG_RAM_SIZE)
		*p = R.ram, *len = 8;
	else if (k == FW_CFG_NB_CPUS || k == FW_CFG_MAX_CPUS)
		*p = R.cpus, *len = 2;
	else if (k == FW_CFG_FILE_DIR)
		*p = R.dir, *len = R.dir_len;
	else if (k >= FW_CFG_FILE_FIRST && k - FW_CFG_FILE_FIRST < R.files)
		*p = R.file[k - FW_CFG_FILE_FIRST], *len = R.file_len[k - FW_CFG_FILE_FIRST];
}

static uint8_t ref_read(void)
{
	const uint8_t *p;
	uint32_t len;

	ref_item(R.key, &p, &len);
	if (R.offset >= len)
		return 0;
	return p[R.offset++];
}

static void check_offset(const struct vfwcfg *f)
{
	const uint8_t *p;
	uint32_t len;

	ref_item(R.key, &p, &len);
	CHECK(f->key == R.key);
	CHECK(f->offset == R.offset);
	CHECK(f->offset <= len);
}

static void add_files(struct vfwcfg *f, struct in *in)
{
	static uint8_t data[VFWCFG_DATA_MAX + 64];
	unsigned n = (unsigned)take(in, 1) % (VFWCFG_FILES_MAX + 3);

	for (unsigned i = 0; i < n; i++) {
		char name[FW_CFG_MAX_FILE_PATH + 8];
		size_t name_len = (size_t)take(in, 1) % (sizeof(name) - 1);
		for (size_t j = 0; j < name_len; j++) {
			char c = (char)take(in, 1);
			name[j] = c ? c : 'z'; /* a NUL would end the name early: keep the lengths exact */
		}
		name[name_len] = 0;
		uint32_t size = (uint32_t)take(in, 2) % (VFWCFG_DATA_MAX + 64);
		for (uint32_t j = 0; j < size; j++)
			data[j] = (uint8_t)(j * 31 + i);
		bool want = ref_add(name, name_len, data, size);
		CHECK(vfwcfg_add_file(f, name, data, size) == want);
	}
}

static void port_access(struct vfwcfg *f, struct in *in)
{
	static const uint8_t widths[] = { 1, 2, 4, 1, 2, 0, 3 };
	uint16_t port = (uint16_t)(VFWCFG_PORT_SELECTOR + take(in, 1) % 2);
	uint8_t bytes = widths[take(in, 1) % sizeof(widths)];
	bool is_in = take(in, 1) & 1;
	uint32_t value = (uint32_t)take(in, 4), before = value;
	bool ok = vfwcfg_io(f, port, bytes, is_in, &value);

	if (bytes == 2 && !is_in && port == VFWCFG_PORT_SELECTOR) {
		CHECK(ok);
		R.key = (uint16_t)before;
		R.offset = 0;
	} else if (bytes == 1 && is_in) {
		CHECK(ok);
		CHECK((value & ~0xffu) == (before & ~0xffu));
		CHECK((value & 0xff) == ref_read());
	} else {
		CHECK(ok == (bytes == 1)); /* byte writes are data writes: taken and ignored */
		CHECK(value == before);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vfwcfg f;
	struct in in = { data, size };
	unsigned steps = 0;

	uint16_t cpus = (uint16_t)take(&in, 2);
	uint64_t ram = take(&in, 8);
	vfwcfg_init(&f, cpus, ram);
	ref_init(cpus, ram);
	add_files(&f, &in);
	while (in.n && steps++ < 4096) {
		switch (take(&in, 1) % 4) {
		case 0:
			port_access(&f, &in);
			break;
		case 1: /* select a key near the interesting ones */
		{
			static const uint16_t base[] = { 0, FW_CFG_FILE_DIR, FW_CFG_FILE_FIRST, FW_CFG_WRITE_CHANNEL,
							 FW_CFG_ARCH_LOCAL };
			R.key = (uint16_t)(base[take(&in, 1) % 5] + take(&in, 1) % 16);
			R.offset = 0;
			vfwcfg_select(&f, R.key);
			break;
		}
		case 2: /* a run of reads, as rep insb does */
		{
			unsigned n = (unsigned)take(&in, 2) % 1024;
			for (unsigned i = 0; i < n; i++)
				CHECK(vfwcfg_read(&f) == ref_read());
			break;
		}
		default:
			R.key = (uint16_t)take(&in, 2);
			R.offset = 0;
			vfwcfg_select(&f, R.key);
			break;
		}
		check_offset(&f);
	}
	return 0;
}
