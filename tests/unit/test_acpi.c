/*
 * Unit tests of kernel/acpi.c: table sets built in memory by small builders, and real tables captured
 * from QEMU (tests/unit/fixtures/), served by a map() over fake physical memory. map() hands out a
 * fresh heap copy of exactly the bytes asked for, so any read past a mapping is an ASan error.
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

#include <hv/acpi.h>

#include "fixtures/qemu_pc_smp4.h"
#include "fixtures/qemu_q35_smp4_ovmf.h"

/* ------------------------------------------------------------------------------------------------ */
/* Fake physical memory                                                                             */

#define MAX_REGIONS 128

struct region {
	uint64_t phys;
	uint64_t size;
	uint8_t *buf;
};

struct fake {
	struct region r[MAX_REGIONS];
	int nr;
	void **copies; /* what map() handed out during one parse, freed after it */
	size_t ncopies, capcopies;
	unsigned map_calls;
	unsigned fail_call;  /* 1-based map() call that returns NULL; 0 = none */
	uint64_t fail_phys;  /* map() of this address with len >= fail_min_len returns NULL ... */
	uint64_t fail_min_len;
	bool fail_armed;     /* ... when armed */
	struct acpi_access access;
	struct acpi_info info;
	uint8_t rsdp[40];
	uint32_t rsdp_len;
};

static struct region *find_region(struct fake *f, uint64_t phys)
{
	for (int i = 0; i < f->nr; i++)
		if (f->r[i].phys == phys)
			return &f->r[i];
	return NULL;
}

static const void *fake_map(uint64_t phys, uint64_t len, void *ctx)
{
	struct fake *f = ctx;

	f->map_calls++;
	if (f->fail_call && f->map_calls == f->fail_call)
		return NULL;
	if (f->fail_armed && phys == f->fail_phys && len >= f->fail_min_len)
		return NULL;
	assert_true(len > 0);
	for (int i = 0; i < f->nr; i++) {
		struct region *r = &f->r[i];
		if (phys < r->phys || phys - r->phys > r->size || len > r->size - (phys - r->phys))
			continue;
		void *copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, r->buf + (phys - r->phys), len);
		if (f->ncopies == f->capcopies) {
			f->capcopies = f->capcopies ? f->capcopies * 2 : 64;
			f->copies = realloc(f->copies, f->capcopies * sizeof(void *));
			assert_non_null(f->copies);
		}
		f->copies[f->ncopies++] = copy;
		return copy;
	}
	return NULL;
}

static void release_copies(struct fake *f)
{
	for (size_t i = 0; i < f->ncopies; i++)
		free(f->copies[i]);
	f->ncopies = 0;
}

/* Place bytes at phys as one region of exactly that size (replacing a region at the same address). */
static uint8_t *put(struct fake *f, uint64_t phys, const void *data, uint64_t len)
{
	struct region *r = find_region(f, phys);
	if (!r) {
		assert_true(f->nr < MAX_REGIONS);
		r = &f->r[f->nr++];
	} else {
		free(r->buf);
	}
	r->phys = phys;
	r->size = len;
	r->buf = calloc(1, len ? len : 1);
	assert_non_null(r->buf);
	if (data)
		memcpy(r->buf, data, len);
	return r->buf;
}

static void drop(struct fake *f, uint64_t phys)
{
	struct region *r = find_region(f, phys);
	assert_non_null(r);
	free(r->buf);
	*r = f->r[--f->nr];
}

static uint8_t *at(struct fake *f, uint64_t phys)
{
	struct region *r = find_region(f, phys);
	assert_non_null(r);
	return r->buf;
}

static void clear_memory(struct fake *f)
{
	for (int i = 0; i < f->nr; i++)
		free(f->r[i].buf);
	f->nr = 0;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->access.map = fake_map;
	f->access.ctx = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	release_copies(f);
	free(f->copies);
	clear_memory(f);
	free(f);
	return 0;
}

static int parse(struct fake *f)
{
	f->map_calls = 0;
	int rc = acpi_parse(f->rsdp, f->rsdp_len, &f->access, &f->info);
	release_copies(f);
	/* invariants of every result */
	assert_non_null(memchr(f->info.error, '\0', sizeof(f->info.error)));
	assert_non_null(memchr(f->info.warning, '\0', sizeof(f->info.warning)));
	if (rc == 0) {
		assert_string_equal(f->info.error, "");
	} else {
		assert_true(rc < 0);
		assert_true(strncmp(f->info.error, "ACPI: ", 6) == 0);
		assert_null(strchr(f->info.error, '\n'));
	}
	assert_true(f->info.cpu_count <= ACPI_MAX_CPUS);
	assert_true(f->info.ioapic_count <= ACPI_MAX_IOAPICS);
	assert_true(f->info.iso_count <= ACPI_MAX_ISOS);
	assert_true(f->info.nmi_source_count <= ACPI_MAX_NMI_SOURCES);
	assert_true(f->info.lapic_nmi_count <= ACPI_MAX_LAPIC_NMIS);
	assert_true(f->info.table_count <= ACPI_MAX_TABLES);
	return rc;
}

#define assert_contains(hay, needle)                                                                  \
	do {                                                                                          \
		if (!strstr((hay), (needle)))                                                         \
			fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                  \
	} while (0)

/* ------------------------------------------------------------------------------------------------ */
/* Table builders                                                                                   */

#define TBL_MAX 8192

struct tbl {
	uint8_t b[TBL_MAX];
	uint32_t n;
};

static void w8(struct tbl *t, uint32_t off, uint8_t v)
{
	assert_true(off < TBL_MAX);
	t->b[off] = v;
	if (off + 1 > t->n)
		t->n = off + 1;
}

static void w16(struct tbl *t, uint32_t off, uint16_t v)
{
	w8(t, off, (uint8_t)v);
	w8(t, off + 1, (uint8_t)(v >> 8));
}

static void w32(struct tbl *t, uint32_t off, uint32_t v)
{
	w16(t, off, (uint16_t)v);
	w16(t, off + 2, (uint16_t)(v >> 16));
}

static void w64(struct tbl *t, uint32_t off, uint64_t v)
{
	w32(t, off, (uint32_t)v);
	w32(t, off + 4, (uint32_t)(v >> 32));
}

static void wgas(struct tbl *t, uint32_t off, uint8_t space, uint8_t width, uint8_t offset, uint8_t access,
		 uint64_t addr)
{
	w8(t, off, space);
	w8(t, off + 1, width);
	w8(t, off + 2, offset);
	w8(t, off + 3, access);
	w64(t, off + 4, addr);
}

/* append */
static void a8(struct tbl *t, uint8_t v) { w8(t, t->n, v); }
static void a16(struct tbl *t, uint16_t v) { w16(t, t->n, v); }
static void a32(struct tbl *t, uint32_t v) { w32(t, t->n, v); }
static void a64(struct tbl *t, uint64_t v) { w64(t, t->n, v); }

/* ACPI 6.5 5.2.6 header */
static void hdr(struct tbl *t, const char *sig, uint8_t rev)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->b, sig, 4);
	t->b[8] = rev;
	memcpy(t->b + 10, "HVTEST", 6);
	memcpy(t->b + 16, "HVTESTTB", 8);
	w32(t, 24, 1);
	memcpy(t->b + 28, "HVCR", 4);
	w32(t, 32, 0x20260101);
	t->n = 36;
}

static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Set length and checksum. */
static void fin(struct tbl *t)
{
	w32(t, 4, t->n);
	t->b[9] = 0;
	t->b[9] = (uint8_t)(0 - sum_bytes(t->b, t->n));
}

static void place(struct fake *f, uint64_t phys, struct tbl *t)
{
	fin(t);
	put(f, phys, t->b, t->n);
}

/* Recompute the checksum of the table in the region at phys (after a deliberate change). */
static void refix(struct fake *f, uint64_t phys)
{
	struct region *r = find_region(f, phys);
	assert_non_null(r);
	uint32_t len = (uint32_t)r->buf[4] | (uint32_t)r->buf[5] << 8 | (uint32_t)r->buf[6] << 16 |
		       (uint32_t)r->buf[7] << 24;
	if (len > r->size)
		len = (uint32_t)r->size;
	r->buf[9] = 0;
	r->buf[9] = (uint8_t)(0 - sum_bytes(r->buf, len));
}

static void set_len(struct fake *f, uint64_t phys, uint32_t len)
{
	uint8_t *p = at(f, phys);
	p[4] = (uint8_t)len;
	p[5] = (uint8_t)(len >> 8);
	p[6] = (uint8_t)(len >> 16);
	p[7] = (uint8_t)(len >> 24);
}

/* ACPI 6.5 5.2.5.3 RSDP */
static void rsdp(struct fake *f, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	uint8_t *r = f->rsdp;
	memset(r, 0, sizeof(f->rsdp));
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "HVTEST", 6);
	r[15] = rev;
	for (int i = 0; i < 4; i++)
		r[16 + i] = (uint8_t)(rsdt >> (8 * i));
	r[8] = (uint8_t)(0 - sum_bytes(r, 20));
	f->rsdp_len = 20;
	if (rev >= 2) {
		r[20] = 36;
		for (int i = 0; i < 8; i++)
			r[24 + i] = (uint8_t)(xsdt >> (8 * i));
		r[32] = (uint8_t)(0 - sum_bytes(r, 36));
		f->rsdp_len = 36;
	}
}

static void root(struct fake *f, uint64_t phys, bool xsdt, const uint64_t *entries, size_t n)
{
	static struct tbl t;
	hdr(&t, xsdt ? "XSDT" : "RSDT", 1);
	for (size_t i = 0; i < n; i++) {
		if (xsdt)
			a64(&t, entries[i]);
		else
			a32(&t, (uint32_t)entries[i]);
	}
	place(f, phys, &t);
}

/* MADT (5.2.12) entries */
static void madt_begin(struct tbl *t, uint8_t rev, uint32_t lapic, uint32_t flags)
{
	hdr(t, "APIC", rev);
	a32(t, lapic);
	a32(t, flags);
}

static void madt_lapic(struct tbl *t, uint8_t uid, uint8_t id, uint32_t flags)
{
	a8(t, 0); a8(t, 8); a8(t, uid); a8(t, id); a32(t, flags);
}

static void madt_ioapic(struct tbl *t, uint8_t id, uint32_t addr, uint32_t gsi)
{
	a8(t, 1); a8(t, 12); a8(t, id); a8(t, 0); a32(t, addr); a32(t, gsi);
}

static void madt_iso(struct tbl *t, uint8_t bus, uint8_t src, uint32_t gsi, uint16_t flags)
{
	a8(t, 2); a8(t, 10); a8(t, bus); a8(t, src); a32(t, gsi); a16(t, flags);
}

static void madt_nmi_src(struct tbl *t, uint16_t flags, uint32_t gsi)
{
	a8(t, 3); a8(t, 8); a16(t, flags); a32(t, gsi);
}

static void madt_lapic_nmi(struct tbl *t, uint8_t uid, uint16_t flags, uint8_t lint)
{
	a8(t, 4); a8(t, 6); a8(t, uid); a16(t, flags); a8(t, lint);
}

static void madt_override(struct tbl *t, uint64_t addr)
{
	a8(t, 5); a8(t, 12); a16(t, 0); a64(t, addr);
}

static void madt_x2apic(struct tbl *t, uint32_t id, uint32_t flags, uint32_t uid)
{
	a8(t, 9); a8(t, 16); a16(t, 0); a32(t, id); a32(t, flags); a32(t, uid);
}

static void madt_x2apic_nmi(struct tbl *t, uint16_t flags, uint32_t uid, uint8_t lint)
{
	a8(t, 0xa); a8(t, 12); a16(t, flags); a32(t, uid); a8(t, lint); a8(t, 0); a8(t, 0); a8(t, 0);
}

static void madt_raw(struct tbl *t, uint8_t type, uint8_t len)
{
	a8(t, type);
	a8(t, len);
	for (int i = 2; i < len; i++)
		a8(t, (uint8_t)(0xa0 + i));
}

/* HPET (IA-PC HPET 1.0a Table 3) */
static void hpet(struct fake *f, uint64_t phys, uint64_t base, uint16_t min_tick)
{
	static struct tbl t;
	hdr(&t, "HPET", 1);
	a32(&t, 0x8086a201);
	a8(&t, ACPI_GAS_MEMORY); a8(&t, 64); a8(&t, 0); a8(&t, 0); a64(&t, base);
	a8(&t, 0);
	a16(&t, min_tick);
	a8(&t, 0);
	place(f, phys, &t);
}

/* FADT (5.2.9), ACPI 6.5 layout (revision 6, 276 bytes). */
static void fadt6(struct tbl *t)
{
	hdr(t, "FACP", 6);
	w32(t, 36, 0x7fe5000);	       /* FIRMWARE_CTRL */
	w32(t, 40, 0x7fe4000);	       /* DSDT */
	w8(t, 45, 1);		       /* preferred PM profile: desktop */
	w16(t, 46, 9);		       /* SCI_INT */
	w32(t, 48, 0xb2);	       /* SMI_CMD */
	w8(t, 52, 0xf1);	       /* ACPI_ENABLE */
	w8(t, 53, 0xf0);	       /* ACPI_DISABLE */
	w32(t, 56, 0x600);	       /* PM1a_EVT_BLK */
	w32(t, 64, 0x604);	       /* PM1a_CNT_BLK */
	w32(t, 76, 0x608);	       /* PM_TMR_BLK */
	w32(t, 80, 0x620);	       /* GPE0_BLK */
	w8(t, 88, 4);		       /* PM1_EVT_LEN */
	w8(t, 89, 2);		       /* PM1_CNT_LEN */
	w8(t, 91, 4);		       /* PM_TMR_LEN */
	w8(t, 92, 16);		       /* GPE0_BLK_LEN */
	w8(t, 108, 0x32);	       /* CENTURY */
	w16(t, 109, ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042);
	w32(t, 112, ACPI_FADT_WBINVD | ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP);
	wgas(t, 116, ACPI_GAS_IO, 8, 0, 1, 0xcf9); /* RESET_REG */
	w8(t, 128, 0x06);			   /* RESET_VALUE */
	w8(t, 131, 5);				   /* minor version */
	w64(t, 132, 0);				   /* X_FIRMWARE_CTRL */
	w64(t, 140, 0x100004000ull);		   /* X_DSDT */
	wgas(t, 148, ACPI_GAS_IO, 32, 0, 3, 0x600); /* X_PM1a_EVT_BLK */
	wgas(t, 172, ACPI_GAS_IO, 16, 0, 2, 0x604); /* X_PM1a_CNT_BLK */
	wgas(t, 208, ACPI_GAS_IO, 32, 0, 3, 0x1608); /* X_PM_TMR_BLK: differs from PM_TMR_BLK on purpose */
	w64(t, 268, 0x4856);			     /* hypervisor vendor identity */
	t->n = 276;
}

/* ACPI 1.0 FADT: revision 1, 116 bytes. */
static void fadt1(struct tbl *t)
{
	hdr(t, "FACP", 1);
	w32(t, 36, 0xe0000);
	w32(t, 40, 0xe1000);
	w16(t, 46, 9);
	w32(t, 48, 0xb2);
	w8(t, 52, 0xf1);
	w8(t, 53, 0xf0);
	w32(t, 56, 0xb000);
	w32(t, 60, 0xb100);
	w32(t, 64, 0xb004);
	w32(t, 68, 0xb104);
	w32(t, 76, 0xb008);
	w8(t, 88, 4);
	w8(t, 89, 2);
	w8(t, 91, 4);
	w16(t, 109, 0xffff); /* reserved in 1.0: must be ignored */
	/* RESET_REG_SUP set but the table has no RESET_REG: must be ignored */
	w32(t, 112, ACPI_FADT_WBINVD | ACPI_FADT_RESET_REG_SUP);
	t->n = 116;
}

/* ------------------------------------------------------------------------------------------------ */
/* The standard synthetic platform                                                                  */

#define P_XSDT 0x7fe0000ull
#define P_RSDT 0x7fe0100ull
#define P_MADT 0x7fe1000ull
#define P_FADT 0x7fe2000ull
#define P_HPET 0x7fe3000ull
#define P_WAET 0x7fe6000ull
#define P_SSDT 0x123456000ull /* above 4 GiB: only the XSDT can list it */

static void std_madt(struct tbl *t)
{
	madt_begin(t, 5, 0xfee00000, ACPI_MADT_PCAT_COMPAT);
	madt_lapic(t, 0, 0, ACPI_LAPIC_ENABLED);
	madt_lapic(t, 1, 1, ACPI_LAPIC_ENABLED);
	madt_lapic(t, 2, 2, ACPI_LAPIC_ENABLED);
	madt_lapic(t, 3, 4, ACPI_LAPIC_ENABLED);	 /* APIC ids need not be dense */
	madt_lapic(t, 4, 5, 0);				 /* disabled: unusable */
	madt_lapic(t, 5, 6, ACPI_LAPIC_ONLINE_CAPABLE); /* hot-pluggable */
	madt_lapic(t, 6, 0xff, ACPI_LAPIC_ENABLED);	 /* invalid id */
	madt_x2apic(t, 0x100, ACPI_LAPIC_ENABLED, 0x20);
	madt_x2apic(t, 2, ACPI_LAPIC_ENABLED, 0x21); /* same CPU as the type 0 entry with id 2 */
	madt_ioapic(t, 8, 0xfec00000, 0);
	madt_ioapic(t, 9, 0xfec01000, 24);
	madt_iso(t, 0, 0, 2, 0);
	madt_iso(t, 0, 9, 9, 0xd);  /* active high, level */
	madt_iso(t, 0, 10, 20, 0xf); /* active low, level */
	madt_iso(t, 0, 4, 4, 0x3);   /* active low, edge */
	madt_nmi_src(t, 0x5, 23);
	madt_lapic_nmi(t, 0xff, 0x5, 1);
	madt_lapic_nmi(t, 3, 0, 0);
	madt_x2apic_nmi(t, 0xd, 0xffffffff, 1);
	madt_raw(t, 0xb, 80);  /* GICC: not ours, skipped */
	madt_raw(t, 0x7f, 2);  /* unknown type, minimal */
}

static void std_platform(struct fake *f)
{
	static struct tbl t;

	std_madt(&t);
	place(f, P_MADT, &t);
	fadt6(&t);
	place(f, P_FADT, &t);
	hpet(f, P_HPET, 0xfed00000, 0x80);
	hdr(&t, "SSDT", 2);
	for (int i = 0; i < 100; i++)
		a8(&t, (uint8_t)i);
	place(f, P_SSDT, &t);
	hdr(&t, "WAET", 1);
	a32(&t, 2);
	place(f, P_WAET, &t);
	const uint64_t xe[] = { P_FADT, P_MADT, P_HPET, P_SSDT, P_WAET };
	root(f, P_XSDT, true, xe, 5);
	const uint64_t re[] = { P_FADT, P_MADT, P_HPET, P_WAET };
	root(f, P_RSDT, false, re, 4);
	rsdp(f, 2, (uint32_t)P_RSDT, P_XSDT);
}

/* A minimal valid set: RSDP v1 -> RSDT -> one MADT with one CPU. */
static void min_platform(struct fake *f)
{
	static struct tbl t;
	madt_begin(&t, 1, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
	place(f, P_MADT, &t);
	const uint64_t re[] = { P_MADT };
	root(f, P_RSDT, false, re, 1);
	rsdp(f, 0, (uint32_t)P_RSDT, 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Success paths                                                                                    */

static void test_std_platform_xsdt(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	assert_int_equal(parse(f), 0);
	struct acpi_info *a = &f->info;

	assert_string_equal(a->oem_id, "HVTEST");
	assert_int_equal(a->rsdp_revision, 2);
	assert_true(a->root_is_xsdt);
	assert_int_equal(a->root_phys, P_XSDT);
	assert_string_equal(a->warning, "");
	assert_int_equal(a->warning_count, 0);

	/* tables, in XSDT order */
	assert_int_equal(a->table_count, 5);
	assert_int_equal(a->tables_dropped, 0);
	const char *sigs[] = { "FACP", "APIC", "HPET", "SSDT", "WAET" };
	const uint64_t phys[] = { P_FADT, P_MADT, P_HPET, P_SSDT, P_WAET };
	const uint32_t lens[] = { 276, 0, 56, 136, 40 };
	for (int i = 0; i < 5; i++) {
		assert_string_equal(a->tables[i].signature, sigs[i]);
		assert_int_equal(a->tables[i].phys, phys[i]);
		assert_true(a->tables[i].valid);
		if (lens[i])
			assert_int_equal(a->tables[i].length, lens[i]);
	}

	/* MADT */
	assert_int_equal(a->lapic_address, 0xfee00000);
	assert_int_equal(a->madt_flags, ACPI_MADT_PCAT_COMPAT);
	assert_int_equal(a->cpu_count, 6);
	assert_int_equal(a->cpus_unusable, 2);
	assert_int_equal(a->cpus_duplicate, 1);
	assert_int_equal(a->cpus_dropped, 0);
	const uint32_t ids[] = { 0, 1, 2, 4, 6, 0x100 };
	const uint32_t uids[] = { 0, 1, 2, 3, 5, 0x20 };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(a->cpus[i].apic_id, ids[i]);
		assert_int_equal(a->cpus[i].uid, uids[i]);
		assert_int_equal(a->cpus[i].x2apic, i == 5);
		assert_int_equal(a->cpus[i].enabled, i != 4);
		assert_int_equal(a->cpus[i].online_capable, i == 4);
	}
	assert_int_equal(a->cpus[4].flags, ACPI_LAPIC_ONLINE_CAPABLE);
	assert_int_equal(a->cpus[0].flags, ACPI_LAPIC_ENABLED);

	assert_int_equal(a->ioapic_count, 2);
	assert_int_equal(a->ioapics[0].id, 8);
	assert_int_equal(a->ioapics[0].address, 0xfec00000);
	assert_int_equal(a->ioapics[0].gsi_base, 0);
	assert_int_equal(a->ioapics[1].id, 9);
	assert_int_equal(a->ioapics[1].address, 0xfec01000);
	assert_int_equal(a->ioapics[1].gsi_base, 24);

	assert_int_equal(a->iso_count, 4);
	assert_int_equal(a->isos[0].bus, 0);
	assert_int_equal(a->isos[0].source, 0);
	assert_int_equal(a->isos[0].gsi, 2);
	assert_int_equal(a->isos[0].flags, 0);
	assert_false(a->isos[0].active_low);
	assert_false(a->isos[0].level);
	assert_int_equal(a->isos[1].source, 9);
	assert_int_equal(a->isos[1].gsi, 9);
	assert_int_equal(ACPI_POLARITY(a->isos[1].flags), ACPI_POLARITY_HIGH);
	assert_int_equal(ACPI_TRIGGER(a->isos[1].flags), ACPI_TRIGGER_LEVEL);
	assert_false(a->isos[1].active_low);
	assert_true(a->isos[1].level);
	assert_int_equal(a->isos[2].source, 10);
	assert_int_equal(a->isos[2].gsi, 20);
	assert_true(a->isos[2].active_low);
	assert_true(a->isos[2].level);
	assert_int_equal(a->isos[3].source, 4);
	assert_true(a->isos[3].active_low);
	assert_false(a->isos[3].level);
	assert_int_equal(ACPI_TRIGGER(a->isos[3].flags), ACPI_TRIGGER_CONFORMS);

	assert_int_equal(a->nmi_source_count, 1);
	assert_int_equal(a->nmi_sources[0].flags, 0x5);
	assert_int_equal(a->nmi_sources[0].gsi, 23);

	assert_int_equal(a->lapic_nmi_count, 3);
	assert_true(a->lapic_nmis[0].all_cpus);
	assert_int_equal(a->lapic_nmis[0].uid, 0xff);
	assert_int_equal(a->lapic_nmis[0].lint, 1);
	assert_int_equal(a->lapic_nmis[0].flags, 0x5);
	assert_false(a->lapic_nmis[0].x2apic);
	assert_false(a->lapic_nmis[1].all_cpus);
	assert_int_equal(a->lapic_nmis[1].uid, 3);
	assert_int_equal(a->lapic_nmis[1].lint, 0);
	assert_true(a->lapic_nmis[2].x2apic);
	assert_true(a->lapic_nmis[2].all_cpus);
	assert_int_equal(a->lapic_nmis[2].uid, 0xffffffff);
	assert_int_equal(a->lapic_nmis[2].lint, 1);
	assert_int_equal(a->lapic_nmis[2].flags, 0xd);
	assert_int_equal(a->madt_unknown_entries, 2);

	/* HPET */
	assert_true(a->has_hpet);
	assert_int_equal(a->hpet.event_timer_block_id, 0x8086a201);
	assert_int_equal(a->hpet.base.space_id, ACPI_GAS_MEMORY);
	assert_int_equal(a->hpet.base.bit_width, 64);
	assert_int_equal(a->hpet.base.address, 0xfed00000);
	assert_int_equal(a->hpet.number, 0);
	assert_int_equal(a->hpet.min_tick, 0x80);
	assert_int_equal(a->hpet.page_protection, 0);

	/* FADT */
	struct acpi_fadt *fa = &a->fadt;
	assert_true(a->has_fadt);
	assert_int_equal(fa->revision, 6);
	assert_int_equal(fa->minor_revision, 5);
	assert_int_equal(fa->sci_int, 9);
	assert_int_equal(fa->smi_cmd, 0xb2);
	assert_int_equal(fa->acpi_enable, 0xf1);
	assert_int_equal(fa->acpi_disable, 0xf0);
	assert_int_equal(fa->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm1a_evt.address, 0x600);
	assert_int_equal(fa->pm1a_evt.bit_width, 32);
	assert_int_equal(fa->pm1a_evt.access_size, 3);
	assert_int_equal(fa->pm1b_evt.address, 0);
	assert_int_equal(fa->pm1a_cnt.address, 0x604);
	assert_int_equal(fa->pm1a_cnt.bit_width, 16);
	assert_int_equal(fa->pm1b_cnt.address, 0);
	/* X_PM_TMR_BLK (0x1608) wins over PM_TMR_BLK (0x608) */
	assert_int_equal(fa->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm_timer.address, 0x1608);
	assert_int_equal(fa->pm_timer.bit_width, 32);
	assert_int_equal(fa->pm_timer_bits, 32);
	assert_true(fa->reset_supported);
	assert_int_equal(fa->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->reset_reg.bit_width, 8);
	assert_int_equal(fa->reset_reg.access_size, 1);
	assert_int_equal(fa->reset_reg.address, 0xcf9);
	assert_int_equal(fa->reset_value, 6);
	assert_int_equal(fa->iapc_boot_arch, ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042);
	assert_int_equal(fa->flags, ACPI_FADT_WBINVD | ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP);
	assert_int_equal(fa->dsdt, 0x100004000ull); /* X_DSDT wins */
	assert_int_equal(fa->firmware_ctrl, 0x7fe5000); /* X_FIRMWARE_CTRL is 0 */
}

static void test_v1_rsdp_rsdt_old_fadt(void **state)
{
	struct fake *f = *state;
	static struct tbl t;

	std_madt(&t);
	place(f, P_MADT, &t);
	fadt1(&t);
	place(f, P_FADT, &t);
	const uint64_t re[] = { P_MADT, P_FADT };
	root(f, P_RSDT, false, re, 2);
	rsdp(f, 0, (uint32_t)P_RSDT, 0);
	assert_int_equal(f->rsdp_len, 20);

	assert_int_equal(parse(f), 0);
	struct acpi_info *a = &f->info;
	assert_int_equal(a->rsdp_revision, 0);
	assert_false(a->root_is_xsdt);
	assert_int_equal(a->root_phys, P_RSDT);
	assert_int_equal(a->table_count, 2);
	assert_string_equal(a->tables[0].signature, "APIC");
	assert_string_equal(a->tables[1].signature, "FACP");
	assert_int_equal(a->cpu_count, 6);
	assert_false(a->has_hpet);
	assert_true(a->has_fadt);

	struct acpi_fadt *fa = &a->fadt;
	assert_int_equal(fa->revision, 1);
	assert_int_equal(fa->minor_revision, 0);
	assert_int_equal(fa->sci_int, 9);
	assert_int_equal(fa->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm1a_evt.address, 0xb000);
	assert_int_equal(fa->pm1a_evt.bit_width, 32);
	assert_int_equal(fa->pm1b_evt.address, 0xb100);
	assert_int_equal(fa->pm1b_evt.bit_width, 32);
	assert_int_equal(fa->pm1a_cnt.address, 0xb004);
	assert_int_equal(fa->pm1a_cnt.bit_width, 16);
	assert_int_equal(fa->pm1b_cnt.address, 0xb104);
	assert_int_equal(fa->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm_timer.address, 0xb008);
	assert_int_equal(fa->pm_timer.bit_width, 32);
	assert_int_equal(fa->pm_timer_bits, 24); /* no TMR_VAL_EXT */
	assert_false(fa->reset_supported);	  /* flag set, but no RESET_REG in a 116-byte FADT */
	assert_int_equal(fa->reset_reg.address, 0);
	assert_int_equal(fa->iapc_boot_arch, 0); /* reserved in revision 1 */
	assert_int_equal(fa->dsdt, 0xe1000);
	assert_int_equal(fa->firmware_ctrl, 0xe0000);
}

static void test_minimal_platform(void **state)
{
	struct fake *f = *state;
	min_platform(f);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.cpu_count, 1);
	assert_int_equal(f->info.cpus[0].apic_id, 0);
	assert_true(f->info.cpus[0].enabled);
	assert_false(f->info.has_fadt);
	assert_false(f->info.has_hpet);
	assert_int_equal(f->info.ioapic_count, 0);
	assert_int_equal(f->info.iso_count, 0);
	assert_int_equal(f->info.madt_flags, 0);
	assert_int_equal(f->info.table_count, 1);
	assert_string_equal(f->info.warning, "");
	/* 3 maps: RSDT header+body, MADT header (walk) + header + body */
	assert_true(f->map_calls >= 3);
}

static void test_xsdt_preferred_over_rsdt(void **state)
{
	struct fake *f = *state;
	static struct tbl t;

	std_platform(f);
	/* the RSDT points at a different MADT with one CPU */
	madt_begin(&t, 1, 0xfee00000, 0);
	madt_lapic(&t, 0, 7, ACPI_LAPIC_ENABLED);
	place(f, 0x7fe7000, &t);
	const uint64_t re[] = { 0x7fe7000 };
	root(f, P_RSDT, false, re, 1);
	assert_int_equal(parse(f), 0);
	assert_true(f->info.root_is_xsdt);
	assert_int_equal(f->info.cpu_count, 6);

	/* without an XSDT address the RSDT is used */
	rsdp(f, 2, (uint32_t)P_RSDT, 0);
	assert_int_equal(parse(f), 0);
	assert_false(f->info.root_is_xsdt);
	assert_int_equal(f->info.cpu_count, 1);
	assert_int_equal(f->info.cpus[0].apic_id, 7);
}

static void test_xsdt_corrupt_falls_back_to_rsdt(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	at(f, P_XSDT)[40] ^= 0x01; /* break the XSDT checksum */
	assert_int_equal(parse(f), 0);
	assert_false(f->info.root_is_xsdt);
	assert_int_equal(f->info.root_phys, P_RSDT);
	assert_int_equal(f->info.warning_count, 1);
	assert_contains(f->info.warning, "XSDT checksum mismatch (table at 0x7fe0000");
	assert_contains(f->info.warning, "using the RSDT");
	assert_int_equal(f->info.table_count, 4);
	assert_int_equal(f->info.cpu_count, 6);
	assert_true(f->info.has_hpet);
}

static void test_xsdt_bad_signature_falls_back(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	memcpy(at(f, P_XSDT), "XSDX", 4);
	refix(f, P_XSDT);
	assert_int_equal(parse(f), 0);
	assert_false(f->info.root_is_xsdt);
	assert_contains(f->info.warning, "XSDT at 0x7fe0000 has signature \"XSDX\", expected \"XSDT\"");
}

static void test_rsdp_v2_given_short(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	f->rsdp_len = 20; /* boot path copied only the ACPI 1.0 part */
	assert_int_equal(parse(f), 0);
	assert_false(f->info.root_is_xsdt);
	assert_int_equal(f->info.rsdp_revision, 2);
	assert_contains(f->info.warning, "RSDP revision 2 but only 20 bytes given");
}

static void test_rsdp_longer_buffer(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	f->rsdp_len = 40; /* boot_info.acpi_rsdp is 40 bytes; the RSDP says 36 */
	assert_int_equal(parse(f), 0);
	assert_true(f->info.root_is_xsdt);
}

static void test_oem_id(void **state)
{
	struct fake *f = *state;
	min_platform(f);
	memcpy(f->rsdp + 9, "AB\0\0\0\0", 6);
	f->rsdp[8] = 0;
	f->rsdp[8] = (uint8_t)(0 - sum_bytes(f->rsdp, 20));
	assert_int_equal(parse(f), 0);
	assert_string_equal(f->info.oem_id, "AB");

	memcpy(f->rsdp + 9, "A\x01" "BCDE", 6);
	f->rsdp[8] = 0;
	f->rsdp[8] = (uint8_t)(0 - sum_bytes(f->rsdp, 20));
	assert_int_equal(parse(f), 0);
	assert_string_equal(f->info.oem_id, "A?BCDE");
}

static void test_no_fadt_no_hpet(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	const uint64_t xe[] = { P_MADT, P_WAET };
	root(f, P_XSDT, true, xe, 2);
	assert_int_equal(parse(f), 0);
	assert_false(f->info.has_fadt);
	assert_false(f->info.has_hpet);
	assert_int_equal(f->info.fadt.pm_timer.address, 0);
	assert_int_equal(f->info.hpet.base.address, 0);
	assert_int_equal(f->info.cpu_count, 6);
}

static void test_fadt_x_pm_timer_zero_uses_port(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	fadt6(&t);
	wgas(&t, 208, 0, 0, 0, 0, 0);	/* X_PM_TMR_BLK empty */
	wgas(&t, 148, ACPI_GAS_IO, 0, 0, 0, 0x1600); /* X_PM1a_EVT_BLK without a width */
	w32(&t, 112, 0);		/* no TMR_VAL_EXT, no reset */
	w64(&t, 140, 0);		/* no X_DSDT */
	w64(&t, 132, 0x100005000ull);	/* X_FIRMWARE_CTRL */
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), 0);
	struct acpi_fadt *fa = &f->info.fadt;
	assert_int_equal(fa->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm_timer.address, 0x608);
	assert_int_equal(fa->pm_timer.bit_width, 32);
	assert_int_equal(fa->pm_timer_bits, 24);
	assert_int_equal(fa->pm1a_evt.address, 0x1600);
	assert_int_equal(fa->pm1a_evt.bit_width, 32); /* taken from PM1_EVT_LEN */
	assert_false(fa->reset_supported);
	assert_int_equal(fa->reset_reg.address, 0);
	assert_int_equal(fa->reset_value, 0);
	assert_int_equal(fa->dsdt, 0x7fe4000);
	assert_int_equal(fa->firmware_ctrl, 0x100005000ull);
}

static void test_fadt_pm_timer_in_memory(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	fadt6(&t);
	w32(&t, 76, 0); /* no I/O timer */
	wgas(&t, 208, ACPI_GAS_MEMORY, 32, 0, 3, 0xfe000808ull);
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.fadt.pm_timer.space_id, ACPI_GAS_MEMORY);
	assert_int_equal(f->info.fadt.pm_timer.address, 0xfe000808ull);
	assert_int_equal(f->info.fadt.pm_timer_bits, 32);
}

static void test_fadt_pm_timer_len_not_4(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	fadt6(&t);
	w8(&t, 91, 0); /* PM_TMR_LEN 0: no PM timer, whatever the block fields say */
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.fadt.pm_timer.address, 0);
	assert_int_equal(f->info.fadt.pm_timer_bits, 0);
	assert_int_equal(f->info.fadt.pm1a_evt.address, 0x600);
}

static void test_fadt_hw_reduced(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	hdr(&t, "FACP", 6);
	w32(&t, 112, ACPI_FADT_HW_REDUCED_ACPI);
	w64(&t, 140, 0x7fe4000);
	t.n = 276;
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), 0);
	assert_true(f->info.has_fadt);
	assert_true(f->info.fadt.flags & ACPI_FADT_HW_REDUCED_ACPI);
	assert_int_equal(f->info.fadt.pm_timer.address, 0);
	assert_int_equal(f->info.fadt.pm_timer_bits, 0);
	assert_int_equal(f->info.fadt.pm1a_evt.address, 0);
	assert_int_equal(f->info.fadt.sci_int, 0);
	assert_int_equal(f->info.fadt.dsdt, 0x7fe4000);
}

static void test_fadt_acpi2_length_244(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	fadt6(&t);
	t.b[8] = 3;
	t.n = 244; /* ACPI 2.0/3.0 layout: up to X_GPE1_BLK, so X_PM_TMR_BLK is present */
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.fadt.revision, 3);
	assert_int_equal(f->info.fadt.pm_timer.address, 0x1608);
	assert_int_equal(f->info.fadt.iapc_boot_arch, ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042);

	/* cut just before X_PM_TMR_BLK ends: the X field is out of bounds, the port is used */
	fadt6(&t);
	t.n = 219;
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.fadt.pm_timer.address, 0x608);
	assert_int_equal(f->info.fadt.pm1a_cnt.address, 0x604);
	assert_int_equal(f->info.fadt.dsdt, 0x100004000ull);

	/* 128 bytes: RESET_REG is there but RESET_VALUE is not */
	fadt6(&t);
	t.n = 128;
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), 0);
	assert_false(f->info.fadt.reset_supported);
	assert_int_equal(f->info.fadt.minor_revision, 0);
	assert_int_equal(f->info.fadt.dsdt, 0x7fe4000);
	assert_int_equal(f->info.fadt.pm_timer.address, 0x608);
}

static void test_lapic_override(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	std_madt(&t);
	madt_override(&t, 0x1fee00000ull);
	madt_override(&t, 0x2fee00000ull); /* a second one is ignored with a warning */
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.lapic_address, 0x1fee00000ull);
	assert_contains(f->info.warning, "second local APIC address override");
}

static void test_online_capable_needs_madt_rev5(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 4, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
	madt_lapic(&t, 1, 1, ACPI_LAPIC_ONLINE_CAPABLE); /* reserved bit before revision 5 */
	madt_x2apic(&t, 0x200, ACPI_LAPIC_ONLINE_CAPABLE, 9);
	madt_x2apic(&t, 0xffffffff, ACPI_LAPIC_ENABLED, 10); /* invalid x2APIC id */
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.cpu_count, 1);
	assert_int_equal(f->info.cpus_unusable, 3);

	t.b[8] = 5;
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.cpu_count, 3);
	assert_int_equal(f->info.cpus_unusable, 1);
	assert_true(f->info.cpus[1].online_capable);
	assert_false(f->info.cpus[1].enabled);
	assert_true(f->info.cpus[2].x2apic);
	assert_true(f->info.cpus[2].online_capable);
	assert_int_equal(f->info.cpus[2].apic_id, 0x200);
	assert_int_equal(f->info.cpus[2].uid, 9);
}

static void test_x2apic_only_cpus(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	for (uint32_t i = 0; i < 8; i++)
		madt_x2apic(&t, 0x1000 + i * 2, ACPI_LAPIC_ENABLED, 100 + i);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.cpu_count, 8);
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(f->info.cpus[i].apic_id, 0x1000 + i * 2);
		assert_int_equal(f->info.cpus[i].uid, 100 + i);
		assert_true(f->info.cpus[i].x2apic);
	}
}

static void test_madt_longer_entries_accepted(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	/* a future revision may grow an entry: read the known part, skip the rest */
	a8(&t, 0); a8(&t, 12); a8(&t, 3); a8(&t, 9); a32(&t, 1); a32(&t, 0xdeadbeef);
	madt_ioapic(&t, 2, 0xfec00000, 0);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.cpu_count, 1);
	assert_int_equal(f->info.cpus[0].apic_id, 9);
	assert_int_equal(f->info.cpus[0].uid, 3);
	assert_int_equal(f->info.ioapic_count, 1);
	assert_int_equal(f->info.ioapics[0].id, 2);
}

static void test_cpu_overflow_counted(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	for (uint32_t i = 0; i < 300; i++)
		madt_x2apic(&t, i, ACPI_LAPIC_ENABLED, i);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.cpu_count, ACPI_MAX_CPUS);
	assert_int_equal(f->info.cpus_dropped, 300 - ACPI_MAX_CPUS);
	assert_int_equal(f->info.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
}

static void test_other_overflows_counted(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
	for (uint32_t i = 0; i < ACPI_MAX_IOAPICS + 4; i++)
		madt_ioapic(&t, (uint8_t)i, 0xfec00000 + i * 0x1000, i * 24);
	for (uint32_t i = 0; i < ACPI_MAX_ISOS + 8; i++)
		madt_iso(&t, 0, (uint8_t)i, i, 0);
	for (uint32_t i = 0; i < ACPI_MAX_NMI_SOURCES + 1; i++)
		madt_nmi_src(&t, 0, i);
	for (uint32_t i = 0; i < ACPI_MAX_LAPIC_NMIS + 3; i++)
		madt_lapic_nmi(&t, (uint8_t)i, 0, 1);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.ioapic_count, ACPI_MAX_IOAPICS);
	assert_int_equal(f->info.ioapics_dropped, 4);
	assert_int_equal(f->info.ioapics[ACPI_MAX_IOAPICS - 1].gsi_base, (ACPI_MAX_IOAPICS - 1) * 24);
	assert_int_equal(f->info.iso_count, ACPI_MAX_ISOS);
	assert_int_equal(f->info.isos_dropped, 8);
	assert_int_equal(f->info.nmi_source_count, ACPI_MAX_NMI_SOURCES);
	assert_int_equal(f->info.nmi_sources_dropped, 1);
	assert_int_equal(f->info.lapic_nmi_count, ACPI_MAX_LAPIC_NMIS);
	assert_int_equal(f->info.lapic_nmis_dropped, 3);
}

static void test_table_list_overflow(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	uint64_t e[70];
	std_platform(f);
	e[0] = P_MADT;
	for (int i = 1; i < 70; i++) {
		char sig[5];
		snprintf(sig, sizeof(sig), "T%03d", i);
		hdr(&t, sig, 1);
		e[i] = 0x200000000ull + (uint64_t)i * 0x100;
		place(f, e[i], &t);
	}
	root(f, P_XSDT, true, e, 70);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.table_count, ACPI_MAX_TABLES);
	assert_int_equal(f->info.tables_dropped, 70 - ACPI_MAX_TABLES);
	assert_string_equal(f->info.tables[0].signature, "APIC");
	assert_string_equal(f->info.tables[1].signature, "T001");
	assert_string_equal(f->info.tables[63].signature, "T063");
	assert_int_equal(f->info.tables[63].phys, 0x200000000ull + 63 * 0x100);
}

static void test_unused_table_corrupt_is_warning(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	at(f, P_SSDT)[50] ^= 0x10;
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.table_count, 5);
	assert_false(f->info.tables[3].valid);
	assert_true(f->info.tables[4].valid);
	assert_string_equal(f->info.warning,
			    "ACPI: SSDT checksum mismatch (table at 0x123456000, sum 0x10) (table not used)");
	assert_int_equal(f->info.warning_count, 1);

	/* a non-printable signature is shown as '?' */
	memcpy(at(f, P_SSDT), "S\x01" "D\xff", 4);
	assert_int_equal(parse(f), 0);
	assert_string_equal(f->info.tables[3].signature, "S?D?");
}

static void test_null_entry_skipped(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	const uint64_t xe[] = { P_FADT, 0, P_MADT };
	root(f, P_XSDT, true, xe, 3);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.table_count, 2);
	assert_contains(f->info.warning, "XSDT entry 1 is a null address");
}

static void test_duplicate_madt_first_wins(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 1, 0xfee00000, 0);
	madt_lapic(&t, 0, 0x33, ACPI_LAPIC_ENABLED);
	place(f, 0x7fe8000, &t);
	const uint64_t xe[] = { P_MADT, 0x7fe8000 };
	root(f, P_XSDT, true, xe, 2);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.cpu_count, 6);
	assert_int_equal(f->info.table_count, 2);
	assert_true(f->info.tables[1].valid);
	assert_string_equal(f->info.warning, "ACPI: second MADT (table at 0x7fe8000) ignored");
}

static void test_root_trailing_bytes_ignored(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	hdr(&t, "XSDT", 1);
	a64(&t, P_MADT);
	a32(&t, (uint32_t)P_FADT); /* half an entry: not read */
	place(f, P_XSDT, &t);
	assert_int_equal(parse(f), 0);
	assert_int_equal(f->info.table_count, 1);
	assert_false(f->info.has_fadt);
}

/* ------------------------------------------------------------------------------------------------ */
/* Corruption and failure paths                                                                     */

static void test_bad_arguments(void **state)
{
	struct fake *f = *state;
	min_platform(f);
	assert_int_equal(acpi_parse(f->rsdp, f->rsdp_len, &f->access, NULL), ACPI_E_INVAL);
	assert_int_equal(acpi_parse(f->rsdp, f->rsdp_len, NULL, &f->info), ACPI_E_INVAL);
	assert_contains(f->info.error, "no memory access callback");
	struct acpi_access none = { NULL, NULL };
	assert_int_equal(acpi_parse(f->rsdp, f->rsdp_len, &none, &f->info), ACPI_E_INVAL);
}

static void test_rsdp_missing(void **state)
{
	struct fake *f = *state;
	min_platform(f);
	assert_int_equal(acpi_parse(NULL, 20, &f->access, &f->info), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: no RSDP given by the boot path");
	f->rsdp_len = 0;
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: no RSDP given by the boot path");
	f->rsdp_len = 19;
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: RSDP too short (19 bytes given, need 20)");
}

static void test_rsdp_signature(void **state)
{
	struct fake *f = *state;
	min_platform(f);
	f->rsdp[3] = 'X';
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_contains(f->info.error, "RSDP signature is not \"RSD PTR \"");
}

static void test_rsdp_checksum(void **state)
{
	struct fake *f = *state;
	min_platform(f);
	f->rsdp[8] += 3;
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: RSDP checksum mismatch (sum 0x03 over the first 20 bytes)");
	assert_int_equal(f->info.cpu_count, 0);
}

static void test_rsdp_extended_checksum(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	f->rsdp[33] = 0x42; /* reserved byte after the extended checksum */
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: RSDP extended checksum mismatch (sum 0x42 over 36 bytes)");
	f->rsdp[33] = 0;
	f->rsdp[24] ^= 0x80; /* XSDT address changed, extended checksum not updated */
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_contains(f->info.error, "extended checksum mismatch");
}

static void test_rsdp_bad_length(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	f->rsdp[20] = 20;
	f->rsdp[32] = 0;
	f->rsdp[32] = (uint8_t)(0 - sum_bytes(f->rsdp, 36));
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: RSDP length 20 invalid (revision 2, 36 bytes given)");
	f->rsdp[20] = 48; /* longer than what the boot path gave */
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: RSDP length 48 invalid (revision 2, 36 bytes given)");
}

static void test_rsdp_no_root(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	rsdp(f, 2, 0, 0);
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_string_equal(f->info.error, "ACPI: RSDP gives no RSDT or XSDT address");
	rsdp(f, 0, 0, 0);
	assert_int_equal(parse(f), ACPI_E_RSDP);
}

static void test_xsdt_checksum(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	rsdp(f, 2, 0, P_XSDT); /* no RSDT to fall back to */
	at(f, P_XSDT)[40] ^= 0x01;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	assert_string_equal(f->info.error, "ACPI: XSDT checksum mismatch (table at 0x7fe0000, sum 0x01)");
}

static void test_xsdt_and_rsdt_both_bad(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	at(f, P_XSDT)[40] ^= 0x01;
	at(f, P_RSDT)[40] ^= 0x02;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	assert_string_equal(f->info.error, "ACPI: RSDT checksum mismatch (table at 0x7fe0100, sum 0x02)");
	assert_contains(f->info.warning, "XSDT checksum mismatch");
}

static void test_xsdt_wrong_signature(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	rsdp(f, 2, 0, P_RSDT); /* XSDT address pointing at the RSDT */
	assert_int_equal(parse(f), ACPI_E_SIGNATURE);
	assert_string_equal(f->info.error,
			    "ACPI: XSDT at 0x7fe0100 has signature \"RSDT\", expected \"XSDT\"");
}

static void test_rsdt_checksum(void **state)
{
	struct fake *f = *state;
	min_platform(f);
	at(f, P_RSDT)[36] ^= 0xff;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	assert_contains(f->info.error, "RSDT checksum mismatch (table at 0x7fe0100, sum 0x");
}

static void test_madt_checksum(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	at(f, P_MADT)[50] += 0x3c;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	assert_string_equal(f->info.error, "ACPI: MADT checksum mismatch (table at 0x7fe1000, sum 0x3c)");
}

static void test_fadt_checksum(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	at(f, P_FADT)[200] ^= 0x04;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	assert_contains(f->info.error, "ACPI: FADT checksum mismatch (table at 0x7fe2000, sum 0x");
}

static void test_hpet_checksum(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	at(f, P_HPET)[45] += 1;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	assert_string_equal(f->info.error, "ACPI: HPET checksum mismatch (table at 0x7fe3000, sum 0x01)");
}

static void test_madt_truncated_entry(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
	madt_ioapic(&t, 1, 0xfec00000, 0);
	t.n -= 4; /* the IOAPIC entry claims 12 bytes, the table ends 8 bytes into it */
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), ACPI_E_MADT);
	assert_string_equal(f->info.error, "ACPI: truncated MADT entry type 1 at offset 0x34: length 12 runs past the "
					   "table end at 0x3c (table at 0x7fe1000)");
}

static void test_madt_one_trailing_byte(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
	a8(&t, 0);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), ACPI_E_MADT);
	assert_contains(f->info.error, "truncated MADT entry at offset 0x34: 1 byte left");
}

static void test_madt_zero_length_entry(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
	a8(&t, 0);
	a8(&t, 0); /* would loop forever if taken as a length */
	a32(&t, 0);
	a16(&t, 0);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), ACPI_E_MADT);
	assert_string_equal(f->info.error, "ACPI: zero-length MADT entry (type 0 at offset 0x34, table at 0x7fe1000)");
}

static void test_madt_length_one_entry(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
	a8(&t, 0x7f);
	a8(&t, 1);
	a8(&t, 0);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), ACPI_E_MADT);
	assert_contains(f->info.error, "MADT entry type 127 at offset 0x34 has invalid length 1");
}

static void test_madt_entry_too_short_for_type(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	static const struct { uint8_t type, need; } cases[] = {
		{ 0, 8 }, { 1, 12 }, { 2, 10 }, { 3, 8 }, { 4, 6 }, { 5, 12 }, { 9, 16 }, { 0xa, 12 },
	};
	std_platform(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		madt_begin(&t, 5, 0xfee00000, 0);
		madt_lapic(&t, 0, 0, ACPI_LAPIC_ENABLED);
		madt_raw(&t, cases[i].type, (uint8_t)(cases[i].need - 1));
		place(f, P_MADT, &t);
		assert_int_equal(parse(f), ACPI_E_MADT);
		char want[128];
		snprintf(want, sizeof(want),
			 "ACPI: MADT entry type %u at offset 0x34 is %u bytes long, needs %u (table at 0x7fe1000)",
			 cases[i].type, cases[i].need - 1, cases[i].need);
		assert_string_equal(f->info.error, want);
	}
}

static void test_madt_too_short(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	hdr(&t, "APIC", 5);
	a32(&t, 0xfee00000);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
	assert_string_equal(f->info.error,
			    "ACPI: MADT length 40 is shorter than the 44 bytes it needs (table at 0x7fe1000)");
}

static void test_madt_no_usable_cpu(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	madt_begin(&t, 5, 0xfee00000, 0);
	madt_lapic(&t, 0, 0, 0);
	madt_lapic(&t, 1, 0xff, ACPI_LAPIC_ENABLED);
	madt_ioapic(&t, 1, 0xfec00000, 0);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), ACPI_E_MADT);
	assert_string_equal(f->info.error, "ACPI: MADT lists no usable CPU (2 unusable entries, table at 0x7fe1000)");

	/* a MADT with no entries at all */
	madt_begin(&t, 5, 0xfee00000, 0);
	place(f, P_MADT, &t);
	assert_int_equal(parse(f), ACPI_E_MADT);
	assert_contains(f->info.error, "MADT lists no usable CPU (0 unusable");
}

static void test_fadt_too_short(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	fadt1(&t);
	t.n = 100;
	place(f, P_FADT, &t);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
	assert_string_equal(f->info.error,
			    "ACPI: FADT length 100 is shorter than the 116 bytes it needs (table at 0x7fe2000)");
}

static void test_hpet_too_short(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	set_len(f, P_HPET, 52);
	refix(f, P_HPET);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
	assert_string_equal(f->info.error,
			    "ACPI: HPET length 52 is shorter than the 56 bytes it needs (table at 0x7fe3000)");
}

static void test_table_shorter_than_header(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	set_len(f, P_XSDT, 35);
	rsdp(f, 2, 0, P_XSDT);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
	assert_string_equal(f->info.error,
			    "ACPI: XSDT length 35 is shorter than the 36 bytes it needs (table at 0x7fe0000)");
	set_len(f, P_XSDT, 0);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
}

static void test_table_length_huge(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	set_len(f, P_MADT, 0x80000000u);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
	assert_string_equal(f->info.error,
			    "ACPI: MADT length 2147483648 exceeds the 1 MiB limit (table at 0x7fe1000)");
	set_len(f, P_MADT, ACPI_TABLE_MAX_LEN + 1);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
	set_len(f, P_MADT, 0xffffffffu);
	assert_int_equal(parse(f), ACPI_E_LENGTH);
}

static void test_table_length_beyond_map(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	uint32_t real = at(f, P_MADT)[4] | (uint32_t)at(f, P_MADT)[5] << 8;
	set_len(f, P_MADT, real + 1); /* one byte more than memory holds */
	assert_int_equal(parse(f), ACPI_E_MAP);
	char want[128];
	snprintf(want, sizeof(want), "ACPI: cannot map MADT (table at 0x7fe1000, length %u)", real + 1);
	assert_string_equal(f->info.error, want);

	set_len(f, P_MADT, 4096);
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_string_equal(f->info.error, "ACPI: cannot map MADT (table at 0x7fe1000, length 4096)");
}

static void test_missing_madt(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	const uint64_t xe[] = { P_FADT, P_HPET, P_WAET };
	root(f, P_XSDT, true, xe, 3);
	assert_int_equal(parse(f), ACPI_E_NO_MADT);
	assert_string_equal(f->info.error, "ACPI: no MADT in XSDT (tables: FACP HPET WAET)");
	assert_true(f->info.has_fadt);	/* what was found is still reported */
	assert_true(f->info.has_hpet);

	root(f, P_RSDT, false, NULL, 0);
	rsdp(f, 0, (uint32_t)P_RSDT, 0);
	assert_int_equal(parse(f), ACPI_E_NO_MADT);
	assert_string_equal(f->info.error, "ACPI: no MADT in RSDT (tables: none)");
}

static void test_missing_madt_long_list(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	uint64_t e[60];
	std_platform(f);
	for (int i = 0; i < 60; i++) {
		char sig[5];
		snprintf(sig, sizeof(sig), "S%03d", i);
		hdr(&t, sig, 1);
		e[i] = 0x300000000ull + (uint64_t)i * 0x100;
		place(f, e[i], &t);
	}
	root(f, P_XSDT, true, e, 60);
	assert_int_equal(parse(f), ACPI_E_NO_MADT);
	assert_contains(f->info.error, "ACPI: no MADT in XSDT (tables: S000 S001 S002");
	assert_true(strlen(f->info.error) < ACPI_MSG_MAX); /* truncated, terminated */
}

static void test_map_null_root(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	rsdp(f, 2, 0, 0x9990000);
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_string_equal(f->info.error, "ACPI: cannot map the XSDT header (table at 0x9990000)");
	rsdp(f, 0, 0x9990000, 0);
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_string_equal(f->info.error, "ACPI: cannot map the RSDT header (table at 0x9990000)");
}

static void test_map_null_entry_header(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	const uint64_t xe[] = { P_FADT, 0xdead0000ull, P_MADT };
	root(f, P_XSDT, true, xe, 3);
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_string_equal(f->info.error, "ACPI: cannot map the header of XSDT entry 1 (table at 0xdead0000)");
}

static void test_map_null_madt_body(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	f->fail_armed = true;
	f->fail_phys = P_MADT;
	f->fail_min_len = 37; /* header maps, the whole table does not */
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_contains(f->info.error, "ACPI: cannot map MADT (table at 0x7fe1000, length ");

	f->fail_min_len = 1; /* not even the header */
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_string_equal(f->info.error, "ACPI: cannot map the header of XSDT entry 1 (table at 0x7fe1000)");
}

static void test_map_null_every_call(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	assert_int_equal(parse(f), 0);
	unsigned calls = f->map_calls;
	assert_true(calls >= 11);
	for (unsigned k = 1; k <= calls; k++) {
		f->fail_call = k;
		int rc = parse(f);
		if (rc == 0) {
			/* only the unused tables (SSDT, WAET) or the XSDT (the RSDT takes over) may fail
			 * to map without failing the parse */
			assert_contains(f->info.warning, "cannot map");
			if (!strstr(f->info.warning, "(table not used)")) {
				assert_contains(f->info.warning, "XSDT");
				assert_contains(f->info.warning, "(table at 0x7fe0000");
				assert_contains(f->info.warning, "; using the RSDT");
				assert_false(f->info.root_is_xsdt);
			}
		} else {
			assert_int_equal(rc, ACPI_E_MAP);
			assert_contains(f->info.error, "cannot map");
		}
	}
	f->fail_call = 0;
}

static void test_address_overflow(void **state)
{
	struct fake *f = *state;
	std_platform(f);
	const uint64_t xe[] = { P_MADT, 0xfffffffffffffff0ull };
	root(f, P_XSDT, true, xe, 2);
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_string_equal(f->info.error,
			    "ACPI: cannot map the header of XSDT entry 1 (table at 0xfffffffffffffff0)");
}

/* Cut the MADT's length at every value, with a correct checksum: never an out-of-bounds read. */
static void test_madt_every_length(void **state)
{
	struct fake *f = *state;
	static struct tbl t;
	std_platform(f);
	std_madt(&t);
	fin(&t);
	uint32_t full = t.n;
	int ok = 0, bad_len = 0, bad_madt = 0;
	for (uint32_t len = 0; len <= full; len++) {
		put(f, P_MADT, t.b, len > 36 ? len : 36);
		set_len(f, P_MADT, len);
		refix(f, P_MADT);
		int rc = parse(f);
		if (len < 44)
			assert_int_equal(rc, ACPI_E_LENGTH);
		else
			assert_true(rc == 0 || rc == ACPI_E_MADT);
		ok += rc == 0;
		bad_len += rc == ACPI_E_LENGTH;
		bad_madt += rc == ACPI_E_MADT;
	}
	/* success exactly at the end of each of the 21 entries (the first one is a CPU) */
	assert_int_equal(ok, 21);
	assert_int_equal(bad_len, 44);
	assert_int_equal(bad_madt, (int)full + 1 - 44 - 21);
}

/* Random byte corruption of every table, with and without a fixed checksum. */
static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void test_random_corruption(void **state)
{
	struct fake *f = *state;
	const uint64_t targets[] = { P_MADT, P_FADT, P_HPET, P_XSDT, P_RSDT, P_SSDT };
	int ok = 0, failed = 0;
	for (int iter = 0; iter < 4000; iter++) {
		clear_memory(f);
		std_platform(f);
		uint64_t tp = targets[rnd() % 6];
		struct region *r = find_region(f, tp);
		int flips = 1 + (int)(rnd() % 4);
		for (int k = 0; k < flips; k++) {
			uint32_t off = rnd() % (uint32_t)r->size;
			if (rnd() % 4 == 0 && off >= 4 && off < 8)
				off = 8; /* keep the length mostly intact */
			r->buf[off] = (uint8_t)rnd();
		}
		if (rnd() % 2)
			refix(f, tp);
		if (rnd() % 8 == 0)
			f->rsdp[rnd() % 36] ^= (uint8_t)(1u << (rnd() % 8));
		int rc = parse(f);
		if (rc == 0)
			ok++;
		else
			failed++;
	}
	assert_true(ok > 0);
	assert_true(failed > 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Real tables captured from QEMU                                                                   */

static void load_fixture(struct fake *f, const struct acpi_fixture *fx)
{
	clear_memory(f);
	for (size_t i = 0; i < fx->nsegs; i++)
		put(f, fx->segs[i].phys, fx->segs[i].data, fx->segs[i].len);
	assert_true(fx->rsdp_len <= sizeof(f->rsdp));
	memcpy(f->rsdp, fx->rsdp, fx->rsdp_len);
	f->rsdp_len = fx->rsdp_len;
}

static uint64_t fixture_phys(const struct acpi_fixture *fx, const char *sig)
{
	for (size_t i = 0; i < fx->nsegs; i++)
		if (!strcmp(fx->segs[i].sig, sig))
			return fx->segs[i].phys;
	fail_msg("fixture %s has no %s", fx->name, sig);
	return 0;
}

/* What QEMU's MADT says for 4 CPUs on both machines. */
static void check_qemu_madt(const struct acpi_info *a)
{
	assert_int_equal(a->lapic_address, 0xfee00000);
	assert_int_equal(a->madt_flags, ACPI_MADT_PCAT_COMPAT);
	assert_int_equal(a->cpu_count, 4);
	assert_int_equal(a->cpus_unusable, 0);
	assert_int_equal(a->cpus_duplicate, 0);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(a->cpus[i].apic_id, i);
		assert_int_equal(a->cpus[i].uid, i);
		assert_true(a->cpus[i].enabled);
		assert_false(a->cpus[i].online_capable);
		assert_false(a->cpus[i].x2apic);
	}
	assert_int_equal(a->ioapic_count, 1);
	assert_int_equal(a->ioapics[0].id, 0);
	assert_int_equal(a->ioapics[0].address, 0xfec00000);
	assert_int_equal(a->ioapics[0].gsi_base, 0);

	assert_int_equal(a->iso_count, 5);
	assert_int_equal(a->isos[0].bus, 0);
	assert_int_equal(a->isos[0].source, 0);
	assert_int_equal(a->isos[0].gsi, 2);
	assert_int_equal(a->isos[0].flags, 0);
	assert_false(a->isos[0].level);
	assert_false(a->isos[0].active_low);
	const uint8_t pci_irqs[] = { 5, 9, 10, 11 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(a->isos[1 + i].source, pci_irqs[i]);
		assert_int_equal(a->isos[1 + i].gsi, pci_irqs[i]);
		assert_int_equal(a->isos[1 + i].flags, 0xd); /* PCI link: level, active high */
		assert_true(a->isos[1 + i].level);
		assert_false(a->isos[1 + i].active_low);
	}
	assert_int_equal(a->nmi_source_count, 0);
	assert_int_equal(a->lapic_nmi_count, 1);
	assert_true(a->lapic_nmis[0].all_cpus);
	assert_int_equal(a->lapic_nmis[0].lint, 1);
	assert_int_equal(a->lapic_nmis[0].flags, 0);
	assert_int_equal(a->madt_unknown_entries, 0);

	assert_true(a->has_hpet);
	assert_int_equal(a->hpet.event_timer_block_id, 0x8086a201);
	assert_int_equal(a->hpet.base.space_id, ACPI_GAS_MEMORY);
	assert_int_equal(a->hpet.base.address, 0xfed00000);
	assert_int_equal(a->hpet.number, 0);
}

static void test_qemu_pc_seabios(void **state)
{
	struct fake *f = *state;
	const struct acpi_fixture *fx = &qemu_pc_smp4;
	load_fixture(f, fx);
	assert_int_equal(parse(f), 0);
	struct acpi_info *a = &f->info;

	assert_string_equal(a->oem_id, "BOCHS ");
	assert_int_equal(a->rsdp_revision, 0);
	assert_false(a->root_is_xsdt);
	assert_int_equal(a->root_phys, fixture_phys(fx, "RSDT"));
	assert_string_equal(a->warning, "");
	assert_int_equal(a->table_count, 4);
	const char *sigs[] = { "FACP", "APIC", "HPET", "WAET" };
	for (int i = 0; i < 4; i++) {
		assert_string_equal(a->tables[i].signature, sigs[i]);
		assert_int_equal(a->tables[i].phys, fixture_phys(fx, sigs[i]));
		assert_true(a->tables[i].valid);
	}
	check_qemu_madt(a);

	struct acpi_fadt *fa = &a->fadt;
	assert_true(a->has_fadt);
	assert_int_equal(fa->revision, 1);
	assert_int_equal(fa->sci_int, 9);
	assert_int_equal(fa->smi_cmd, 0xb2);
	assert_int_equal(fa->acpi_enable, 0xf1);
	assert_int_equal(fa->acpi_disable, 0xf0);
	assert_int_equal(fa->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm1a_evt.address, 0x600);
	assert_int_equal(fa->pm1a_evt.bit_width, 32);
	assert_int_equal(fa->pm1b_evt.address, 0);
	assert_int_equal(fa->pm1a_cnt.address, 0x604);
	assert_int_equal(fa->pm1a_cnt.bit_width, 16);
	assert_int_equal(fa->pm1b_cnt.address, 0);
	assert_int_equal(fa->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm_timer.address, 0x608);
	assert_int_equal(fa->pm_timer_bits, 24);
	assert_false(fa->reset_supported);
	assert_int_equal(fa->iapc_boot_arch, 0);
	assert_int_equal(fa->flags, 0x80a5);
	assert_int_equal(fa->dsdt, fixture_phys(fx, "DSDT"));
	assert_int_equal(fa->firmware_ctrl, fixture_phys(fx, "FACS"));
}

static void test_qemu_q35_ovmf(void **state)
{
	struct fake *f = *state;
	const struct acpi_fixture *fx = &qemu_q35_smp4_ovmf;
	load_fixture(f, fx);
	assert_int_equal(parse(f), 0);
	struct acpi_info *a = &f->info;

	assert_string_equal(a->oem_id, "BOCHS ");
	assert_int_equal(a->rsdp_revision, 2);
	assert_true(a->root_is_xsdt);
	assert_int_equal(a->root_phys, fixture_phys(fx, "XSDT"));
	assert_string_equal(a->warning, "");
	assert_int_equal(a->table_count, 6);
	const char *sigs[] = { "FACP", "APIC", "HPET", "MCFG", "WAET", "BGRT" };
	for (int i = 0; i < 6; i++) {
		assert_string_equal(a->tables[i].signature, sigs[i]);
		assert_int_equal(a->tables[i].phys, fixture_phys(fx, sigs[i]));
		assert_true(a->tables[i].valid);
	}
	check_qemu_madt(a);

	struct acpi_fadt *fa = &a->fadt;
	assert_int_equal(fa->revision, 3);
	assert_int_equal(fa->sci_int, 9);
	assert_int_equal(fa->smi_cmd, 0xb2);
	assert_int_equal(fa->acpi_enable, 2);
	assert_int_equal(fa->acpi_disable, 3);
	assert_int_equal(fa->pm1a_evt.address, 0x600);
	assert_int_equal(fa->pm1a_evt.bit_width, 32);
	assert_int_equal(fa->pm1a_cnt.address, 0x604);
	assert_int_equal(fa->pm1a_cnt.bit_width, 16);
	assert_int_equal(fa->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->pm_timer.address, 0x608);
	assert_int_equal(fa->pm_timer.bit_width, 32);
	assert_int_equal(fa->pm_timer_bits, 24);
	assert_true(fa->reset_supported);
	assert_int_equal(fa->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(fa->reset_reg.bit_width, 8);
	assert_int_equal(fa->reset_reg.address, 0xcf9);
	assert_int_equal(fa->reset_value, 0x0f);
	assert_int_equal(fa->iapc_boot_arch, ACPI_BOOT_8042);
	assert_int_equal(fa->flags, 0x84a5);
	assert_int_equal(fa->dsdt, fixture_phys(fx, "DSDT"));
	assert_int_equal(fa->firmware_ctrl, fixture_phys(fx, "FACS"));
}

static void test_qemu_fixtures_corrupted(void **state)
{
	struct fake *f = *state;
	char want[160];

	/* pc: MADT byte changed */
	load_fixture(f, &qemu_pc_smp4);
	uint64_t madt = fixture_phys(&qemu_pc_smp4, "APIC");
	at(f, madt)[60] += 0x3c;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	snprintf(want, sizeof(want), "ACPI: MADT checksum mismatch (table at 0x%lx, sum 0x3c)", (unsigned long)madt);
	assert_string_equal(f->info.error, want);

	/* pc: RSDP checksum */
	load_fixture(f, &qemu_pc_smp4);
	f->rsdp[10] ^= 0x20;
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_contains(f->info.error, "RSDP checksum mismatch");

	/* pc: MADT memory shorter than its length */
	load_fixture(f, &qemu_pc_smp4);
	for (size_t i = 0; i < qemu_pc_smp4.nsegs; i++)
		if (qemu_pc_smp4.segs[i].phys == madt)
			put(f, madt, qemu_pc_smp4.segs[i].data, qemu_pc_smp4.segs[i].len - 8);
	assert_int_equal(parse(f), ACPI_E_MAP);
	snprintf(want, sizeof(want), "ACPI: cannot map MADT (table at 0x%lx, length 144)", (unsigned long)madt);
	assert_string_equal(f->info.error, want);

	/* pc: MADT gone from memory altogether */
	load_fixture(f, &qemu_pc_smp4);
	drop(f, madt);
	assert_int_equal(parse(f), ACPI_E_MAP);
	assert_contains(f->info.error, "cannot map the header of RSDT entry 1");

	/* q35: XSDT corrupt -> the RSDT is used, same result */
	load_fixture(f, &qemu_q35_smp4_ovmf);
	uint64_t xsdt = fixture_phys(&qemu_q35_smp4_ovmf, "XSDT");
	at(f, xsdt)[37] ^= 1;
	assert_int_equal(parse(f), 0);
	assert_false(f->info.root_is_xsdt);
	assert_int_equal(f->info.root_phys, fixture_phys(&qemu_q35_smp4_ovmf, "RSDT"));
	assert_int_equal(f->info.cpu_count, 4);
	assert_contains(f->info.warning, "XSDT checksum mismatch");

	/* q35: extended checksum */
	load_fixture(f, &qemu_q35_smp4_ovmf);
	f->rsdp[25] ^= 0x01;
	assert_int_equal(parse(f), ACPI_E_RSDP);
	assert_contains(f->info.error, "RSDP extended checksum mismatch");

	/* q35: FADT corrupt is an error even though the FADT is optional */
	load_fixture(f, &qemu_q35_smp4_ovmf);
	uint64_t fadt = fixture_phys(&qemu_q35_smp4_ovmf, "FACP");
	at(f, fadt)[100] ^= 0x40;
	assert_int_equal(parse(f), ACPI_E_CHECKSUM);
	snprintf(want, sizeof(want), "ACPI: FADT checksum mismatch (table at 0x%lx, sum 0x", (unsigned long)fadt);
	assert_contains(f->info.error, want);

	/* q35: a corrupt BGRT (not used by hv) is only a warning */
	load_fixture(f, &qemu_q35_smp4_ovmf);
	at(f, fixture_phys(&qemu_q35_smp4_ovmf, "BGRT"))[40] ^= 0x01;
	assert_int_equal(parse(f), 0);
	assert_contains(f->info.warning, "BGRT checksum mismatch");
	assert_false(f->info.tables[5].valid);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_std_platform_xsdt),
		T(test_v1_rsdp_rsdt_old_fadt),
		T(test_minimal_platform),
		T(test_xsdt_preferred_over_rsdt),
		T(test_xsdt_corrupt_falls_back_to_rsdt),
		T(test_xsdt_bad_signature_falls_back),
		T(test_rsdp_v2_given_short),
		T(test_rsdp_longer_buffer),
		T(test_oem_id),
		T(test_no_fadt_no_hpet),
		T(test_fadt_x_pm_timer_zero_uses_port),
		T(test_fadt_pm_timer_in_memory),
		T(test_fadt_pm_timer_len_not_4),
		T(test_fadt_hw_reduced),
		T(test_fadt_acpi2_length_244),
		T(test_lapic_override),
		T(test_online_capable_needs_madt_rev5),
		T(test_x2apic_only_cpus),
		T(test_madt_longer_entries_accepted),
		T(test_cpu_overflow_counted),
		T(test_other_overflows_counted),
		T(test_table_list_overflow),
		T(test_unused_table_corrupt_is_warning),
		T(test_null_entry_skipped),
		T(test_duplicate_madt_first_wins),
		T(test_root_trailing_bytes_ignored),
		T(test_bad_arguments),
		T(test_rsdp_missing),
		T(test_rsdp_signature),
		T(test_rsdp_checksum),
		T(test_rsdp_extended_checksum),
		T(test_rsdp_bad_length),
		T(test_rsdp_no_root),
		T(test_xsdt_checksum),
		T(test_xsdt_and_rsdt_both_bad),
		T(test_xsdt_wrong_signature),
		T(test_rsdt_checksum),
		T(test_madt_checksum),
		T(test_fadt_checksum),
		T(test_hpet_checksum),
		T(test_madt_truncated_entry),
		T(test_madt_one_trailing_byte),
		T(test_madt_zero_length_entry),
		T(test_madt_length_one_entry),
		T(test_madt_entry_too_short_for_type),
		T(test_madt_too_short),
		T(test_madt_no_usable_cpu),
		T(test_fadt_too_short),
		T(test_hpet_too_short),
		T(test_table_shorter_than_header),
		T(test_table_length_huge),
		T(test_table_length_beyond_map),
		T(test_missing_madt),
		T(test_missing_madt_long_list),
		T(test_map_null_root),
		T(test_map_null_entry_header),
		T(test_map_null_madt_body),
		T(test_map_null_every_call),
		T(test_address_overflow),
		T(test_madt_every_length),
		T(test_random_corruption),
		T(test_qemu_pc_seabios),
		T(test_qemu_q35_ovmf),
		T(test_qemu_fixtures_corrupted),
	};
#undef T
	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
