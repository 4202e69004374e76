/*
 * QEMU's firmware configuration device (fw_cfg, QEMU docs/specs/fw_cfg.rst) through its traditional
 * port interface: a 16-bit write of a selector key at 0x510 picks an item and rewinds it, each byte
 * read (at 0x510 or 0x511, as QEMU's combined port range answers) returns the item's next byte, 0
 * past its end or for a key hv does not have. Data writes are ignored (QEMU 2.4+). Other widths are
 * refused: the core then treats them as unclaimed. There is no DMA interface: FW_CFG_ID says so
 * (FW_CFG_VERSION only) and the DMA address port 0x514 stays unclaimed.
 *
 * Items: the signature "QEMU", FW_CFG_ID, FW_CFG_RAM_SIZE (64-bit LE), FW_CFG_NB_CPUS and
 * FW_CFG_MAX_CPUS (16-bit LE), the file directory FW_CFG_FILE_DIR (big-endian count, then one
 * struct fw_cfg_file per file) and the files added with vfwcfg_add_file, at keys FW_CFG_FILE_FIRST
 * and up in the order they were added. The write-channel bit of a key selects the same item, as in
 * QEMU; architecture-local keys (bit 15) select nothing.
 */
#ifndef HV_VFWCFG_H
#define HV_VFWCFG_H

#include <stdbool.h>
#include <stdint.h>

#define VFWCFG_PORT_SELECTOR 0x510
#define VFWCFG_PORT_DATA 0x511

/* Selector keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_ENTRY_MASK ((uint16_t)~(FW_CFG_WRITE_CHANNEL | FW_CFG_ARCH_LOCAL))

#define FW_CFG_VERSION 0x01 /* FW_CFG_ID: the traditional interface (FW_CFG_VERSION_DMA, 0x02, is not offered) */
#define FW_CFG_MAX_FILE_PATH 56
#define FW_CFG_FILE_ENTRY_SIZE 64 /* be32 size, be16 select, be16 reserved, char name[56] */

#define VFWCFG_FILES_MAX 8
#define VFWCFG_DATA_MAX 1024 /* bytes of all files together */

struct vfwcfg_file {
	char name[FW_CFG_MAX_FILE_PATH]; /* NUL-padded */
	uint32_t start, size;		 /* in data[] */
};

struct vfwcfg {
	uint16_t key;	 /* the selected item */
	uint32_t offset; /* its next byte; stops at the item's end */
	uint16_t cpus;
	uint64_t ram_size;
	uint32_t file_count;
	struct vfwcfg_file files[VFWCFG_FILES_MAX];
	uint32_t data_used;
	uint8_t data[VFWCFG_DATA_MAX];
};

/* Power-on: no files, the signature item selected. */
void vfwcfg_init(struct vfwcfg *f, uint16_t cpus, uint64_t ram_size);
/* Copies size bytes as the file `name` (1 to 55 characters, not already there); false when the name
 * is bad or the file does not fit. */
bool vfwcfg_add_file(struct vfwcfg *f, const char *name, const void *data, uint32_t size);
void vfwcfg_select(struct vfwcfg *f, uint16_t key);
/* The selected item's next byte (0 past its end). */
uint8_t vfwcfg_read(struct vfwcfg *f);
/* ioport_handler_t for VFWCFG_PORT_SELECTOR..VFWCFG_PORT_DATA. */
bool vfwcfg_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

#endif
