/* QEMU's firmware configuration interface (QEMU docs/specs/fw_cfg.rst) read the way a boot loader
 * reads it: a 16-bit selector write at 0x510, byte reads at 0x511 (single INs and REP INSB). Checks
 * the signature, the ID, the CPU count and RAM size, zeros for a key without an item, ignored data
 * writes, and the file directory with etc/e820. With `expect-hv`: no DMA interface, the CPU count
 * and RAM size the command line gives (`cpus=N mem=SIZE`, as configured in vms.cfg), and etc/e820
 * whose RAM entries are the Multiboot memory map's available ones, ending at the top of RAM. */
#include "cmdline.h"
#include "guest.h"
#include "io.h"
#include "memory_map.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_VERSION 0x01
#define FW_CFG_VERSION_DMA 0x02
#define FW_CFG_MAX_FILE_PATH 56
#define FW_CFG_NO_ITEM 0x3fff /* beyond any file slot QEMU has */

#define E820_ENTRY_SIZE 20
#define E820_RAM 1
#define E820_MAX 32
#define MIB (1024u * 1024u)

const char guest_name[] = "fwcfg";

struct fw_cfg_file {
	uint8_t size[4]; /* big-endian */
	uint8_t select[2];
	uint8_t reserved[2];
	char name[FW_CFG_MAX_FILE_PATH];
};

struct e820_entry {
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

static void select_item(uint16_t key) { outw(FW_CFG_PORT_SEL, key); }

static void read_bytes(void *buf, uint32_t n)
{
	__asm__ volatile("cld; rep insb" : "+D"(buf), "+c"(n) : "d"(FW_CFG_PORT_DATA) : "memory");
}

static uint64_t read_le(uint16_t key, unsigned bytes)
{
	uint64_t v = 0;

	select_item(key);
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)inb(FW_CFG_PORT_DATA) << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3]; }

static bool name_is(const char *name, const char *want)
{
	for (unsigned i = 0; i < FW_CFG_MAX_FILE_PATH; i++) {
		if (name[i] != want[i])
			return false;
		if (!want[i])
			return true;
	}
	return false;
}

static void check_signature(void)
{
	char sig[5];

	select_item(FW_CFG_SIGNATURE);
	for (int i = 0; i < 5; i++)
		sig[i] = (char)inb(FW_CFG_PORT_DATA);
	check(sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U', "signature %x %x %x %x", sig[0], sig[1],
	      sig[2], sig[3]);
	check(sig[4] == 0, "byte past the signature's end reads %x", sig[4]);
	/* Data writes change nothing (QEMU 2.4+), and reselecting rewinds. */
	select_item(FW_CFG_SIGNATURE);
	outb(FW_CFG_PORT_DATA, 'X');
	outb(FW_CFG_PORT_DATA, 'Y');
	read_bytes(sig, 4);
	check(sig[0] == 'Q' && sig[3] == 'U', "a data write changed the signature");
	check(read_le(FW_CFG_NO_ITEM, 8) == 0, "key %x without an item does not read zeros", FW_CFG_NO_ITEM);
	printf("fwcfg: signature QEMU\n");
}

/* A number with an optional K, M or G suffix; 0 when absent or malformed. */
static uint64_t cmdline_number(const char *key)
{
	char buf[16];
	uint64_t v = 0;
	const char *p = buf;

	if (!cmdline_value(key, buf, sizeof(buf)))
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (*p == 'K')
		v <<= 10, p++;
	else if (*p == 'M')
		v <<= 20, p++;
	else if (*p == 'G')
		v <<= 30, p++;
	return *p ? 0 : v;
}

static void check_numbers(void)
{
	uint32_t id = (uint32_t)read_le(FW_CFG_ID, 4);
	uint32_t cpus = (uint32_t)read_le(FW_CFG_NB_CPUS, 2), max = (uint32_t)read_le(FW_CFG_MAX_CPUS, 2);
	uint64_t ram = read_le(FW_CFG_RAM_SIZE, 8);

	check(id & FW_CFG_VERSION, "ID %x lacks the traditional interface", id);
	check(cpus >= 1 && max >= cpus, "%u cpus, max %u", cpus, max);
	check(ram >= MIB, "RAM size %llu", ram);
	printf("fwcfg: %u cpus (max %u), %llu MiB of RAM, ID %x\n", cpus, max, ram / MIB, id);
	if (!expect_hv())
		return;
	uint64_t want_cpus = cmdline_number("cpus"), want_ram = cmdline_number("mem");
	check(id == FW_CFG_VERSION, "ID %x: hv offers no DMA interface", id);
	check(want_cpus && want_ram, "expect-hv needs cpus=N and mem=SIZE on the command line");
	check(cpus == want_cpus && max == want_cpus, "%u cpus (max %u), configured %llu", cpus, max, want_cpus);
	check(ram == want_ram, "%llu bytes of RAM, configured %llu", ram, want_ram);
	printf("fwcfg: %u cpus and %llu MiB, as configured\n", cpus, ram / MIB);
}

/* The directory; returns the selector of etc/e820 (0: none) and its size. */
static uint16_t read_directory(uint32_t *e820_size)
{
	uint8_t count_be[4];
	uint16_t e820 = 0;

	select_item(FW_CFG_FILE_DIR);
	read_bytes(count_be, 4);
	uint32_t count = be32(count_be);
	check(count >= 1 && count < 4096, "%u files in the directory", count);
	for (uint32_t i = 0; i < count; i++) {
		struct fw_cfg_file f;
		read_bytes(&f, sizeof(f));
		uint16_t select = (uint16_t)(f.select[0] << 8 | f.select[1]);
		check(f.name[FW_CFG_MAX_FILE_PATH - 1] == 0, "file %u's name is not terminated", i);
		check(select >= 0x20, "file %s at selector %x", f.name, select);
		printf("fwcfg: file %x %s, %u bytes\n", select, f.name, be32(f.size));
		if (name_is(f.name, "etc/e820")) {
			e820 = select;
			*e820_size = be32(f.size);
		}
	}
	return e820;
}

/* The available entries of the Multiboot map, in order, are the RAM entries of etc/e820. */
static void compare_with_multiboot(const struct e820_entry *map, uint32_t n)
{
	const struct multiboot_mmap_entry *m = mmap_first();

	for (uint32_t i = 0; i < n; i++) {
		if (map[i].type != E820_RAM)
			continue;
		while (m && m->type != MULTIBOOT_MEMORY_AVAILABLE)
			m = mmap_next(m);
		check(m && m->addr == map[i].addr && m->len == map[i].len,
		      "etc/e820 RAM %llx+%llx is not the Multiboot map's next available entry", map[i].addr, map[i].len);
		m = mmap_next(m);
	}
	while (m && m->type != MULTIBOOT_MEMORY_AVAILABLE)
		m = mmap_next(m);
	check(!m, "the Multiboot map has available RAM etc/e820 does not list");
}

static void check_e820(uint16_t select, uint32_t size)
{
	static struct e820_entry map[E820_MAX];
	uint32_t n = size / E820_ENTRY_SIZE;
	uint64_t top = 0;

	check(select, "no etc/e820 file");
	check(size % E820_ENTRY_SIZE == 0 && n >= 1 && n <= E820_MAX, "etc/e820 of %u bytes", size);
	select_item(select);
	read_bytes(map, size);
	for (uint32_t i = 0; i < n; i++) {
		printf("fwcfg: e820 %016llx-%016llx type %u\n", map[i].addr, map[i].addr + map[i].len - 1, map[i].type);
		if (map[i].addr + map[i].len > top)
			top = map[i].addr + map[i].len;
	}
	if (!expect_hv())
		return;
	compare_with_multiboot(map, n);
	check(top == read_le(FW_CFG_RAM_SIZE, 8), "etc/e820 ends at %llx, not at the top of RAM", top);
	printf("fwcfg: etc/e820 matches the Multiboot memory map\n");
}

void test_main(void)
{
	uint32_t e820_size = 0;

	check_signature();
	check_numbers();
	uint16_t e820 = read_directory(&e820_size);
	check_e820(e820, e820_size);
}
