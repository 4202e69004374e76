/* QEMU fw_cfg, traditional port interface (QEMU docs/specs/fw_cfg.rst). */
#include <hv/string.h>
#include <hv/vfwcfg.h>

static const char signature[4] = { 'Q', 'E', 'M', 'U' };

void vfwcfg_init(struct vfwcfg *f, uint16_t cpus, uint64_t ram_size)
{
	memset(f, 0, sizeof(*f));
	f->cpus = cpus;
	f->ram_size = ram_size;
}

static bool has_file(const struct vfwcfg *f, const char *name)
{
	for (uint32_t i = 0; i < f->file_count; i++)
		if (!strncmp(f->files[i].name, name, FW_CFG_MAX_FILE_PATH))
			return true;
	return false;
}

bool vfwcfg_add_file(struct vfwcfg *f, const char *name, const void *data, uint32_t size)
{
	size_t len = strnlen(name, FW_CFG_MAX_FILE_PATH);

	if (len == 0 || len == FW_CFG_MAX_FILE_PATH || f->file_count == VFWCFG_FILES_MAX ||
	    size > VFWCFG_DATA_MAX - f->data_used || has_file(f, name))
		return false;
	struct vfwcfg_file *file = &f->files[f->file_count++];
	memset(file->name, 0, sizeof(file->name));
	memcpy(file->name, name, len);
	file->start = f->data_used;
	file->size = size;
	if (size)
		memcpy(f->data + f->data_used, data, size);
	f->data_used += size;
	return true;
}

void vfwcfg_select(struct vfwcfg *f, uint16_t key)
{
	f->key = key;
	f->offset = 0;
}

/* Byte off of a little-endian integer of `bytes` bytes; false past its end. */
static bool le_byte(uint64_t v, uint32_t bytes, uint32_t off, uint8_t *b)
{
	if (off >= bytes)
		return false;
	*b = (uint8_t)(v >> (8 * off));
	return true;
}

static bool be_byte(uint64_t v, uint32_t bytes, uint32_t off, uint8_t *b)
{
	return off < bytes && le_byte(v, bytes, bytes - 1 - off, b);
}

/* The directory: be32 count, then per file be32 size, be16 select, be16 reserved, name[56]. */
static bool dir_byte(const struct vfwcfg *f, uint32_t off, uint8_t *b)
{
	if (off < 4)
		return be_byte(f->file_count, 4, off, b);
	uint32_t index = (off - 4) / FW_CFG_FILE_ENTRY_SIZE, pos = (off - 4) % FW_CFG_FILE_ENTRY_SIZE;
	if (index >= f->file_count)
		return false;
	const struct vfwcfg_file *file = &f->files[index];
	if (pos < 4)
		return be_byte(file->size, 4, pos, b);
	if (pos < 6)
		return be_byte(FW_CFG_FILE_FIRST + index, 2, pos - 4, b);
	*b = pos < 8 ? 0 : (uint8_t)file->name[pos - 8];
	return true;
}

static bool file_byte(const struct vfwcfg *f, uint32_t index, uint32_t off, uint8_t *b)
{
	if (index >= f->file_count || off >= f->files[index].size)
		return false;
	*b = f->data[f->files[index].start + off];
	return true;
}

/* Byte off of the item at key; false past its end or when there is no such item. */
static bool item_byte(const struct vfwcfg *f, uint16_t key, uint32_t off, uint8_t *b)
{
	if (key & FW_CFG_ARCH_LOCAL)
		return false;
	key &= FW_CFG_ENTRY_MASK;
	switch (key) {
	case FW_CFG_SIGNATURE:
		if (off >= sizeof(signature))
			return false;
		*b = (uint8_t)signature[off];
		return true;
	case FW_CFG_ID:
		return le_byte(FW_CFG_VERSION, 4, off, b);
	case FW_CFG_RAM_SIZE:
		return le_byte(f->ram_size, 8, off, b);
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		return le_byte(f->cpus, 2, off, b);
	case FW_CFG_FILE_DIR:
		return dir_byte(f, off, b);
	default:
		return key >= FW_CFG_FILE_FIRST && file_byte(f, key - FW_CFG_FILE_FIRST, off, b);
	}
}

uint8_t vfwcfg_read(struct vfwcfg *f)
{
	uint8_t b;

	/* The offset stays at the item's end, so it cannot wrap however often the guest reads. */
	if (!item_byte(f, f->key, f->offset, &b))
		return 0;
	f->offset++;
	return b;
}

bool vfwcfg_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vfwcfg *f = dev;

	if (bytes == 2 && !in && port == VFWCFG_PORT_SELECTOR) {
		vfwcfg_select(f, (uint16_t)*value);
		return true;
	}
	if (bytes != 1)
		return false;
	if (in)
		*value = (*value & ~0xffu) | vfwcfg_read(f);
	return true;
}
