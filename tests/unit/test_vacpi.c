/*
 * Unit tests of kernel/vmm/vacpi.c: a VM's ACPI tables are built into a heap buffer of exactly the
 * size vacpi_build asks for (so any read past them is an ASan error), then read back twice: by
 * hv's own parser (kernel/acpi.c, through a map() over the buffer at its guest-physical address)
 * and byte by byte against ACPI 6.5 chapter 5 offsets.
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
#include <hv/vacpi.h>
#include <hv/vhpet.h>
#include <hv/vioapic.h>
#include <hv/vplatform.h>
#include <hv/vpmtmr.h>
#include <hv/vrtc.h>

#define GPA 0x0fff0000ull /* a typical spot: the top 64 KiB of a 256 MiB guest */

/* ------------------------------------------------------------------------------------------------ */
/* Helpers                                                                                          */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

struct built {
	struct vacpi_config cfg;
	struct vacpi_layout l;
	uint64_t gpa;
	uint8_t *buf; /* exactly l.size bytes */
	struct acpi_info info;
	unsigned maps;
};

/* Size query, then a build into a buffer of exactly that size. */
static struct built *build_at(const struct vacpi_config *cfg, uint64_t gpa)
{
	struct built *b = calloc(1, sizeof(*b));
	struct vacpi_layout q;

	assert_non_null(b);
	b->cfg = *cfg;
	b->gpa = gpa;
	assert_int_equal(vacpi_build(cfg, NULL, 0, gpa, &q), VACPI_E_NOSPACE);
	assert_true(q.size > 0);
	b->buf = malloc(q.size);
	assert_non_null(b->buf);
	memset(b->buf, 0xa5, q.size); /* padding must come out zero */
	assert_int_equal(vacpi_build(cfg, b->buf, q.size, gpa, &b->l), VACPI_OK);
	assert_memory_equal(&q, &b->l, sizeof(q)); /* the query told the truth */
	return b;
}

static struct built *build_n(uint32_t n)
{
	struct vacpi_config cfg;

	vacpi_default_config(&cfg, n);
	return build_at(&cfg, GPA);
}

static void release(struct built *b)
{
	free(b->buf);
	free(b);
}

/* The tables as the guest sees them: only [gpa, gpa + size) exists. */
static const void *buf_map(uint64_t phys, uint64_t len, void *ctx)
{
	struct built *b = ctx;

	b->maps++;
	if (phys < b->gpa || phys - b->gpa > b->l.size || len > b->l.size - (phys - b->gpa))
		return NULL;
	return b->buf + (phys - b->gpa);
}

static int parse(struct built *b, uint32_t rsdp_len)
{
	struct acpi_access mem = { buf_map, b };
	int rc = acpi_parse(b->buf + b->l.rsdp_offset, rsdp_len, &mem, &b->info);

	if (rc)
		fail_msg("acpi_parse: %d %s", rc, b->info.error);
	return rc;
}

static const uint8_t *tbl(const struct built *b, size_t offset) { return b->buf + offset; }

/* ------------------------------------------------------------------------------------------------ */
/* What hv's parser extracts                                                                        */

static void check_parsed(struct built *b)
{
	const struct acpi_info *in = &b->info;
	uint32_t n = b->cfg.vcpu_count;

	assert_int_equal(parse(b, VACPI_RSDP_LEN), ACPI_OK);
	assert_int_equal(in->warning_count, 0);
	assert_string_equal(in->oem_id, "HV    ");
	assert_int_equal(in->rsdp_revision, 2);
	assert_true(in->root_is_xsdt);
	assert_int_equal(in->root_phys, b->l.xsdt);

	/* root table: FADT, MADT, HPET, all sound */
	assert_int_equal(in->table_count, 3);
	assert_int_equal(in->tables_dropped, 0);
	const char *sigs[3] = { "FACP", "APIC", "HPET" };
	uint64_t phys[3] = { b->l.fadt, b->l.madt, b->l.hpet };
	uint32_t lens[3] = { VACPI_FADT_LEN, b->l.madt_len, VACPI_HPET_LEN };
	for (int i = 0; i < 3; i++) {
		assert_string_equal(in->tables[i].signature, sigs[i]);
		assert_true(in->tables[i].valid);
		assert_int_equal(in->tables[i].phys, phys[i]);
		assert_int_equal(in->tables[i].length, lens[i]);
	}

	/* MADT */
	assert_int_equal(in->lapic_address, 0xfee00000u);
	assert_int_equal(in->madt_flags, ACPI_MADT_PCAT_COMPAT);
	assert_int_equal(in->cpu_count, n);
	assert_int_equal(in->cpus_dropped + in->cpus_unusable + in->cpus_duplicate, 0);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(in->cpus[i].apic_id, i);
		assert_int_equal(in->cpus[i].uid, i);
		assert_int_equal(in->cpus[i].flags, ACPI_LAPIC_ENABLED);
		assert_true(in->cpus[i].enabled);
		assert_false(in->cpus[i].online_capable);
		assert_false(in->cpus[i].x2apic);
	}
	assert_int_equal(in->ioapic_count, 1);
	assert_int_equal(in->ioapics[0].id, n);
	assert_int_equal(in->ioapics[0].address, VIOAPIC_BASE);
	assert_int_equal(in->ioapics[0].gsi_base, 0);
	assert_int_equal(in->iso_count, 2);
	assert_int_equal(in->isos[0].bus, 0);
	assert_int_equal(in->isos[0].source, 0);
	assert_int_equal(in->isos[0].gsi, 2);
	assert_int_equal(ACPI_POLARITY(in->isos[0].flags), ACPI_POLARITY_HIGH);
	assert_int_equal(ACPI_TRIGGER(in->isos[0].flags), ACPI_TRIGGER_EDGE);
	assert_false(in->isos[0].active_low);
	assert_false(in->isos[0].level);
	assert_int_equal(in->isos[1].bus, 0);
	assert_int_equal(in->isos[1].source, 9);
	assert_int_equal(in->isos[1].gsi, 9);
	assert_int_equal(ACPI_POLARITY(in->isos[1].flags), ACPI_POLARITY_HIGH);
	assert_int_equal(ACPI_TRIGGER(in->isos[1].flags), ACPI_TRIGGER_LEVEL);
	assert_false(in->isos[1].active_low);
	assert_true(in->isos[1].level);
	assert_int_equal(in->nmi_source_count, 0);
	assert_int_equal(in->lapic_nmi_count, 1);
	assert_int_equal(in->lapic_nmis[0].uid, 0xff);
	assert_true(in->lapic_nmis[0].all_cpus);
	assert_false(in->lapic_nmis[0].x2apic);
	assert_int_equal(in->lapic_nmis[0].lint, 1);
	assert_int_equal(ACPI_POLARITY(in->lapic_nmis[0].flags), ACPI_POLARITY_HIGH);
	assert_int_equal(ACPI_TRIGGER(in->lapic_nmis[0].flags), ACPI_TRIGGER_EDGE);
	assert_int_equal(in->madt_unknown_entries, 0);

	/* HPET */
	assert_true(in->has_hpet);
	assert_int_equal(in->hpet.event_timer_block_id, VHPET_BLOCK_ID);
	assert_int_equal(in->hpet.base.space_id, ACPI_GAS_MEMORY);
	assert_int_equal(in->hpet.base.bit_width, 64);
	assert_int_equal(in->hpet.base.bit_offset, 0);
	assert_int_equal(in->hpet.base.address, VHPET_BASE);
	assert_int_equal(in->hpet.number, VHPET_SEQUENCE);
	assert_int_equal(in->hpet.min_tick, VHPET_MIN_TICK);
	assert_int_equal(in->hpet.page_protection, 0);

	/* FADT */
	const struct acpi_fadt *f = &in->fadt;
	assert_true(in->has_fadt);
	assert_int_equal(f->revision, 6);
	assert_int_equal(f->minor_revision, 5);
	assert_int_equal(f->sci_int, 9);
	assert_int_equal(f->smi_cmd, 0);
	assert_int_equal(f->acpi_enable, 0);
	assert_int_equal(f->acpi_disable, 0);
	assert_int_equal(f->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm1a_evt.address, VPLATFORM_PM_BASE);
	assert_int_equal(f->pm1a_evt.bit_width, 32);
	assert_int_equal(f->pm1a_cnt.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm1a_cnt.address, VPLATFORM_PM_BASE + 4);
	assert_int_equal(f->pm1a_cnt.bit_width, 16);
	assert_int_equal(f->pm1b_evt.address, 0);
	assert_int_equal(f->pm1b_cnt.address, 0);
	assert_int_equal(f->pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(f->pm_timer.address, VPLATFORM_PM_TIMER);
	assert_int_equal(f->pm_timer.bit_width, VPMTMR_LEN * 8);
	assert_int_equal(f->pm_timer_bits, 32);
	assert_true(f->reset_supported);
	assert_int_equal(f->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(f->reset_reg.bit_width, 8);
	assert_int_equal(f->reset_reg.bit_offset, 0);
	assert_int_equal(f->reset_reg.access_size, 1);
	assert_int_equal(f->reset_reg.address, 0xcf9);
	assert_int_equal(f->reset_value, 0x06);
	assert_int_equal(f->iapc_boot_arch, ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_VGA_NOT_PRESENT);
	assert_int_equal(f->flags, ACPI_FADT_WBINVD | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 6) |
					   ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP);
	assert_false(f->flags & ACPI_FADT_HW_REDUCED_ACPI);
	assert_int_equal(f->dsdt, b->l.dsdt);
	assert_int_equal(f->firmware_ctrl, b->l.facs);
}

/* ------------------------------------------------------------------------------------------------ */
/* Raw checks                                                                                       */

static void check_header(const struct built *b, size_t off, const char *sig, uint32_t len, uint8_t rev)
{
	const uint8_t *t = tbl(b, off);

	assert_memory_equal(t, sig, 4);
	assert_int_equal(rd32(t + 4), len);
	assert_int_equal(t[8], rev);
	assert_int_equal(sum8(t, len), 0);
	assert_memory_equal(t + 10, "HV    ", 6);
	assert_memory_equal(t + 16, "HVVM    ", 8);
	assert_int_equal(rd32(t + 24), 1);
	assert_memory_equal(t + 28, "HV  ", 4);
	assert_true(off + len <= b->l.size);
	assert_int_equal((b->gpa + off) % 16, 0);
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t width, uint8_t access, uint64_t addr)
{
	assert_int_equal(g[0], space);
	assert_int_equal(g[1], width);
	assert_int_equal(g[2], 0);
	assert_int_equal(g[3], access);
	assert_int_equal(rd64(g + 4), addr);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void check_raw(const struct built *b)
{
	const struct vacpi_layout *l = &b->l;
	uint32_t n = b->cfg.vcpu_count;

	/* addresses and offsets agree; FACS 64-aligned, everything else 16 */
	uint64_t gpas[8] = { l->rsdp, l->facs, l->dsdt, l->fadt, l->madt, l->hpet, l->rsdt, l->xsdt };
	size_t offs[8] = { l->rsdp_offset, l->facs_offset, l->dsdt_offset, l->fadt_offset,
			   l->madt_offset, l->hpet_offset, l->rsdt_offset, l->xsdt_offset };
	for (int i = 0; i < 8; i++) {
		assert_int_equal(gpas[i], b->gpa + offs[i]);
		assert_int_equal(gpas[i] % 16, 0);
	}
	assert_int_equal(l->facs % 64, 0);
	assert_true(l->xsdt + l->xsdt_len == b->gpa + l->size);

	/* RSDP: checksum over 20 bytes, extended checksum over 36 */
	const uint8_t *r = tbl(b, l->rsdp_offset);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum8(r, 20), 0);
	assert_int_equal(sum8(r, 36), 0);
	assert_memory_equal(r + 9, "HV    ", 6);
	assert_int_equal(r[15], 2);
	assert_int_equal(rd32(r + 16), l->rsdt);
	assert_int_equal(rd32(r + 20), 36);
	assert_int_equal(rd64(r + 24), l->xsdt);
	assert_true(all_zero(r + 33, 3));

	/* RSDT / XSDT */
	check_header(b, l->rsdt_offset, "RSDT", 36 + 3 * 4, 1);
	check_header(b, l->xsdt_offset, "XSDT", 36 + 3 * 8, 1);
	assert_int_equal(l->rsdt_len, 48);
	assert_int_equal(l->xsdt_len, 60);
	uint64_t entries[3] = { l->fadt, l->madt, l->hpet };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rd32(tbl(b, l->rsdt_offset) + 36 + 4 * i), entries[i]);
		assert_int_equal(rd64(tbl(b, l->xsdt_offset) + 36 + 8 * i), entries[i]);
	}

	/* FACS */
	const uint8_t *facs = tbl(b, l->facs_offset);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), 64);
	assert_true(all_zero(facs + 8, 24)); /* hw signature, waking vectors, global lock, flags */
	assert_int_equal(facs[32], 2);
	assert_true(all_zero(facs + 33, 31));

	/* DSDT: header + Name (_S0, Package () {0, 0, 0, 0}) + Name (_S5, Package () {5, 5, 0, 0}) */
	static const uint8_t aml[] = {
		0x08, '_', 'S', '0', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
		0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
	};
	check_header(b, l->dsdt_offset, "DSDT", 36 + sizeof(aml), 2);
	assert_int_equal(l->dsdt_len, 36 + sizeof(aml));
	assert_memory_equal(tbl(b, l->dsdt_offset) + 36, aml, sizeof(aml));
	/* each PkgLength counts itself to the package's end */
	assert_int_equal(aml[6], 12 - 6);
	assert_int_equal(aml[18], 26 - 18);

	/* FADT, field by field (ACPI 6.5 Table 5.9) */
	const uint8_t *f = tbl(b, l->fadt_offset);
	check_header(b, l->fadt_offset, "FACP", 276, 6);
	assert_int_equal(rd32(f + 36), l->facs);	/* FIRMWARE_CTRL */
	assert_int_equal(rd32(f + 40), l->dsdt);	/* DSDT */
	assert_int_equal(f[44], 0);
	assert_int_equal(f[45], 0);			/* Preferred_PM_Profile */
	assert_int_equal(rd16(f + 46), 9);		/* SCI_INT */
	assert_true(all_zero(f + 48, 8));		/* SMI_CMD, ACPI_ENABLE/DISABLE, S4BIOS_REQ, PSTATE_CNT */
	assert_int_equal(rd32(f + 56), 0x600);		/* PM1a_EVT_BLK */
	assert_int_equal(rd32(f + 60), 0);		/* PM1b_EVT_BLK */
	assert_int_equal(rd32(f + 64), 0x604);		/* PM1a_CNT_BLK */
	assert_true(all_zero(f + 68, 8));		/* PM1b_CNT_BLK, PM2_CNT_BLK */
	assert_int_equal(rd32(f + 76), 0x608);		/* PM_TMR_BLK */
	assert_true(all_zero(f + 80, 8));		/* GPE0_BLK, GPE1_BLK */
	assert_int_equal(f[88], 4);			/* PM1_EVT_LEN */
	assert_int_equal(f[89], 2);			/* PM1_CNT_LEN */
	assert_int_equal(f[90], 0);			/* PM2_CNT_LEN */
	assert_int_equal(f[91], 4);			/* PM_TMR_LEN */
	assert_true(all_zero(f + 92, 4));		/* GPE0/1_BLK_LEN, GPE1_BASE, CST_CNT */
	assert_true(rd16(f + 96) > 100);		/* P_LVL2_LAT: no C2 */
	assert_true(rd16(f + 98) > 1000);		/* P_LVL3_LAT: no C3 */
	assert_true(all_zero(f + 100, 8));		/* FLUSH_*, DUTY_*, DAY_ALRM, MON_ALRM */
	assert_int_equal(f[108], VRTC_CENTURY_INDEX);	/* CENTURY */
	assert_int_equal(rd16(f + 109), 0x0005);	/* IAPC_BOOT_ARCH */
	assert_int_equal(f[111], 0);
	assert_int_equal(rd32(f + 112), 0x575);		/* Flags */
	check_gas(f + 116, 1, 8, 1, 0xcf9);		/* RESET_REG */
	assert_int_equal(f[128], 0x06);			/* RESET_VALUE */
	assert_int_equal(rd16(f + 129), 0);		/* ARM_BOOT_ARCH */
	assert_int_equal(f[131], 5);			/* FADT Minor Version */
	assert_int_equal(rd64(f + 132), l->facs);	/* X_FIRMWARE_CTRL */
	assert_int_equal(rd64(f + 140), l->dsdt);	/* X_DSDT */
	check_gas(f + 148, 1, 32, 2, 0x600);		/* X_PM1a_EVT_BLK */
	assert_true(all_zero(f + 160, 12));		/* X_PM1b_EVT_BLK */
	check_gas(f + 172, 1, 16, 2, 0x604);		/* X_PM1a_CNT_BLK */
	assert_true(all_zero(f + 184, 24));		/* X_PM1b_CNT_BLK, X_PM2_CNT_BLK */
	check_gas(f + 208, 1, 32, 3, 0x608);		/* X_PM_TMR_BLK */
	assert_true(all_zero(f + 220, 56));		/* X_GPE0/1, SLEEP_CONTROL/STATUS, hypervisor id */

	/* MADT, entry by entry */
	const uint8_t *m = tbl(b, l->madt_offset);
	check_header(b, l->madt_offset, "APIC", 44 + 8 * n + 12 + 10 + 10 + 6, 6);
	assert_int_equal(rd32(m + 36), 0xfee00000u);
	assert_int_equal(rd32(m + 40), 1);
	const uint8_t *e = m + 44;
	for (uint32_t i = 0; i < n; i++, e += 8) {
		static const uint8_t lapic[2] = { 0, 8 };
		assert_memory_equal(e, lapic, 2);
		assert_int_equal(e[2], i);
		assert_int_equal(e[3], i);
		assert_int_equal(rd32(e + 4), 1);
	}
	const uint8_t ioapic[12] = { 1, 12, (uint8_t)n, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0 };
	const uint8_t iso0[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0x05, 0x00 };
	const uint8_t iso9[10] = { 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0x00 };
	const uint8_t nmi[6] = { 4, 6, 0xff, 0x05, 0x00, 1 };
	assert_memory_equal(e, ioapic, 12);
	assert_memory_equal(e + 12, iso0, 10);
	assert_memory_equal(e + 22, iso9, 10);
	assert_memory_equal(e + 32, nmi, 6);
	assert_true(e + 38 == m + l->madt_len);

	/* HPET */
	const uint8_t *h = tbl(b, l->hpet_offset);
	check_header(b, l->hpet_offset, "HPET", 56, 1);
	assert_int_equal(rd32(h + 36), VHPET_BLOCK_ID);
	check_gas(h + 40, 0, 64, 0, VHPET_BASE);
	assert_int_equal(h[52], 0);
	assert_int_equal(rd16(h + 53), VHPET_MIN_TICK);
	assert_int_equal(h[55], 0);

	/* Padding between tables is zero: count the bytes outside every table. */
	size_t ends[8] = { l->rsdp_offset + 36, l->facs_offset + 64, l->dsdt_offset + l->dsdt_len,
			   l->fadt_offset + 276, l->madt_offset + l->madt_len, l->hpet_offset + 56,
			   l->rsdt_offset + l->rsdt_len, l->xsdt_offset + l->xsdt_len };
	for (int i = 0; i < 7; i++) {
		assert_true(ends[i] <= offs[i + 1]);
		assert_true(all_zero(b->buf + ends[i], offs[i + 1] - ends[i]));
	}
	assert_true(all_zero(b->buf, l->rsdp_offset));
}

/* ------------------------------------------------------------------------------------------------ */
/* Tests                                                                                            */

static void check_vm(uint32_t n)
{
	struct built *b = build_n(n);

	check_parsed(b);
	check_raw(b);
	release(b);
}

static void test_vcpus_1(void **state)
{
	(void)state;
	check_vm(1);
}

static void test_vcpus_2(void **state)
{
	(void)state;
	check_vm(2);
}

static void test_vcpus_16(void **state)
{
	(void)state;
	check_vm(16);
}

static void test_vcpus_max(void **state)
{
	(void)state;
	check_vm(VACPI_MAX_VCPUS);
}

/* Expected layout for the default 2-vcpu VM at a page-aligned address. */
static void test_layout(void **state)
{
	(void)state;
	struct built *b = build_n(2);
	const struct vacpi_layout *l = &b->l;

	assert_int_equal(l->rsdp_offset, 0x000);
	assert_int_equal(l->facs_offset, 0x040);
	assert_int_equal(l->dsdt_offset, 0x080);
	assert_int_equal(l->fadt_offset, 0x0c0);
	assert_int_equal(l->madt_offset, 0x1e0);
	assert_int_equal(l->madt_len, 44 + 16 + 38);
	assert_int_equal(l->hpet_offset, 0x250);
	assert_int_equal(l->rsdt_offset, 0x290);
	assert_int_equal(l->xsdt_offset, 0x2c0);
	assert_int_equal(l->size, 0x2c0 + 60);
	assert_int_equal(l->rsdp, GPA);
	assert_int_equal(l->xsdt, GPA + 0x2c0);
	release(b);
}

/* The parser given only the 20-byte ACPI 1.0 part of the RSDP takes the RSDT: same result. */
static void test_rsdt_path(void **state)
{
	(void)state;
	struct built *b = build_n(2);
	struct acpi_info xsdt_info;

	assert_int_equal(parse(b, VACPI_RSDP_LEN), ACPI_OK);
	xsdt_info = b->info;
	assert_int_equal(parse(b, 20), ACPI_OK);
	assert_false(b->info.root_is_xsdt);
	assert_int_equal(b->info.root_phys, b->l.rsdt);
	assert_int_equal(b->info.table_count, 3);
	assert_int_equal(b->info.cpu_count, 2);
	assert_memory_equal(&b->info.fadt, &xsdt_info.fadt, sizeof(xsdt_info.fadt));
	assert_memory_equal(&b->info.hpet, &xsdt_info.hpet, sizeof(xsdt_info.hpet));
	assert_memory_equal(b->info.isos, xsdt_info.isos, sizeof(xsdt_info.isos));
	release(b);
}

/* Every size below the needed one: VACPI_E_NOSPACE, the size needed reported, the buffer untouched. */
static void test_too_small(void **state)
{
	(void)state;
	uint32_t counts[] = { 1, 2, 16 };

	for (unsigned c = 0; c < 3; c++) {
		struct vacpi_config cfg;
		struct vacpi_layout q, l;
		vacpi_default_config(&cfg, counts[c]);
		assert_int_equal(vacpi_build(&cfg, NULL, 0, GPA, &q), VACPI_E_NOSPACE);
		uint8_t *buf = malloc(q.size);
		assert_non_null(buf);
		for (size_t size = 0; size < q.size; size++) {
			memset(buf, 0x5a, q.size);
			memset(&l, 0, sizeof(l));
			assert_int_equal(vacpi_build(&cfg, buf, size, GPA, &l), VACPI_E_NOSPACE);
			assert_int_equal(l.size, q.size);
			for (size_t i = 0; i < q.size; i++)
				if (buf[i] != 0x5a)
					fail_msg("size %zu: byte %zu written", size, i);
		}
		/* and exactly enough, or more, works; bytes past size are left alone */
		uint8_t *big = malloc(q.size + 64);
		assert_non_null(big);
		memset(big, 0x5a, q.size + 64);
		assert_int_equal(vacpi_build(&cfg, big, q.size + 64, GPA, &l), VACPI_OK);
		assert_int_equal(l.size, q.size);
		for (size_t i = q.size; i < q.size + 64; i++)
			assert_int_equal(big[i], 0x5a);
		assert_int_equal(vacpi_build(&cfg, buf, q.size, GPA, &l), VACPI_OK);
		assert_memory_equal(buf, big, q.size);
		free(big);
		free(buf);
	}
}

static void test_invalid(void **state)
{
	(void)state;
	struct vacpi_config cfg, bad;
	struct vacpi_layout l;
	uint8_t buf[4096];

	vacpi_default_config(&cfg, 2);
	assert_int_equal(vacpi_build(NULL, buf, sizeof(buf), GPA, &l), VACPI_E_INVAL);
	assert_int_equal(vacpi_build(&cfg, buf, sizeof(buf), GPA, NULL), VACPI_E_INVAL);
	assert_int_equal(vacpi_build(&cfg, NULL, 16, GPA, &l), VACPI_E_INVAL);

#define EXPECT_INVALID(field, value)                                                               \
	do {                                                                                       \
		bad = cfg;                                                                         \
		bad.field = value;                                                                 \
		assert_int_equal(vacpi_build(&bad, buf, sizeof(buf), GPA, &l), VACPI_E_INVAL);    \
	} while (0)
	EXPECT_INVALID(vcpu_count, 0);
	EXPECT_INVALID(vcpu_count, VACPI_MAX_VCPUS + 1);
	EXPECT_INVALID(pm_base, 0);
	EXPECT_INVALID(pm_base, 0xfff5);
	EXPECT_INVALID(sci_irq, 0);
	EXPECT_INVALID(sci_irq, 2);
	EXPECT_INVALID(sci_irq, 16);
	EXPECT_INVALID(hpet_base, 0);
#undef EXPECT_INVALID
	bad = cfg;
	memcpy(bad.oem_id, "TOOLONG", 7); /* no NUL in 7 bytes */
	assert_int_equal(vacpi_build(&bad, buf, sizeof(buf), GPA, &l), VACPI_E_INVAL);
	bad = cfg;
	memcpy(bad.oem_table_id, "TOOLONGID", 9);
	assert_int_equal(vacpi_build(&bad, buf, sizeof(buf), GPA, &l), VACPI_E_INVAL);
	/* edge values that are fine */
	bad = cfg;
	bad.pm_base = 0xfff4;
	bad.sci_irq = 15;
	bad.hpet_present = false;
	bad.hpet_base = 0;
	assert_int_equal(vacpi_build(&bad, buf, sizeof(buf), GPA, &l), VACPI_OK);
}

/* All of it must lie below 4 GiB (32-bit RSDT, RSDP and FADT fields). */
static void test_range(void **state)
{
	(void)state;
	struct vacpi_config cfg;
	struct vacpi_layout q, l;
	uint8_t buf[4096];

	vacpi_default_config(&cfg, 4);
	assert_int_equal(vacpi_build(&cfg, NULL, 0, GPA, &q), VACPI_E_NOSPACE);
	/* 64-aligned like GPA, so the layout (and size) is the same as there */
	uint64_t top = (0x100000000ull - q.size) & ~63ull;
	assert_int_equal(vacpi_build(&cfg, buf, sizeof(buf), top, &l), VACPI_OK);
	assert_int_equal(l.xsdt + l.xsdt_len <= 0x100000000ull, true);
	assert_int_equal(l.size, q.size);
	assert_int_equal(vacpi_build(&cfg, buf, sizeof(buf), top + 64, &l), VACPI_E_RANGE);
	assert_int_equal(vacpi_build(&cfg, buf, sizeof(buf), 0x100000000ull, &l), VACPI_E_RANGE);
	assert_int_equal(vacpi_build(&cfg, buf, sizeof(buf), UINT64_MAX - 8, &l), VACPI_E_RANGE);
}

/* Any guest-physical base: padding keeps every table aligned where the guest sees it. */
static void test_unaligned_base(void **state)
{
	(void)state;
	uint64_t bases[] = { 0x1001, 0x9fc08, 0x7ffff3f, 0xe0000 };

	for (unsigned i = 0; i < 4; i++) {
		struct vacpi_config cfg;
		vacpi_default_config(&cfg, 3);
		struct built *b = build_at(&cfg, bases[i]);
		check_parsed(b);
		check_raw(b);
		release(b);
	}
}

/* The tables do not depend on where they lie, except for the addresses they hold. */
static void test_position_independent(void **state)
{
	(void)state;
	struct vacpi_config cfg;

	vacpi_default_config(&cfg, 4);
	struct built *a = build_at(&cfg, 0x1000);
	struct built *b = build_at(&cfg, 0x7000000);
	assert_int_equal(a->l.size, b->l.size);
	assert_int_equal(a->l.madt_len, b->l.madt_len);
	assert_memory_equal(a->buf + a->l.madt_offset, b->buf + b->l.madt_offset, a->l.madt_len);
	assert_memory_equal(a->buf + a->l.hpet_offset, b->buf + b->l.hpet_offset, VACPI_HPET_LEN);
	assert_memory_equal(a->buf + a->l.dsdt_offset, b->buf + b->l.dsdt_offset, a->l.dsdt_len);
	assert_memory_equal(a->buf + a->l.facs_offset, b->buf + b->l.facs_offset, VACPI_FACS_LEN);
	release(a);
	release(b);
}

/* No HPET, no reset register, 24-bit PM timer, other SCI and IOAPIC settings, other OEM ids. */
static void test_variants(void **state)
{
	(void)state;
	struct vacpi_config cfg;

	vacpi_default_config(&cfg, 2);
	cfg.hpet_present = false;
	cfg.reset_port = 0;
	cfg.pm_timer_32bit = false;
	cfg.pm_base = 0xb000;
	cfg.sci_irq = 11;
	cfg.ioapic_id = 9;
	cfg.ioapic_gsi_base = 0;
	cfg.century = 0;
	cfg.iapc_boot_arch = VACPI_BOOT_LEGACY_DEVICES | VACPI_BOOT_8042;
	strcpy(cfg.oem_id, "ABCDEF");
	strcpy(cfg.oem_table_id, "X");
	struct built *b = build_at(&cfg, GPA);
	const struct acpi_info *in = &b->info;

	assert_int_equal(parse(b, VACPI_RSDP_LEN), ACPI_OK);
	assert_string_equal(in->oem_id, "ABCDEF");
	assert_int_equal(in->table_count, 2);
	assert_false(in->has_hpet);
	assert_int_equal(b->l.hpet, 0);
	assert_int_equal(b->l.rsdt_len, 44);
	assert_int_equal(b->l.xsdt_len, 52);
	assert_int_equal(in->ioapics[0].id, 9);
	assert_int_equal(in->isos[1].source, 11);
	assert_int_equal(in->isos[1].gsi, 11);
	assert_true(in->isos[1].level);
	assert_int_equal(in->fadt.sci_int, 11);
	assert_int_equal(in->fadt.pm1a_evt.address, 0xb000);
	assert_int_equal(in->fadt.pm1a_cnt.address, 0xb004);
	assert_int_equal(in->fadt.pm_timer.address, 0xb008);
	assert_int_equal(in->fadt.pm_timer_bits, 24);
	assert_false(in->fadt.reset_supported);
	assert_false(in->fadt.flags & ACPI_FADT_RESET_REG_SUP);
	assert_false(in->fadt.flags & ACPI_FADT_TMR_VAL_EXT);
	assert_int_equal(in->fadt.iapc_boot_arch, ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042);
	const uint8_t *f = tbl(b, b->l.fadt_offset);
	assert_true(all_zero(f + 116, 13)); /* RESET_REG and RESET_VALUE */
	assert_int_equal(f[108], 0);
	assert_memory_equal(f + 16, "X       ", 8);
	release(b);
}

/* vacpi's defaults are the devices vplatform.c wires up. */
static void test_defaults_match_platform(void **state)
{
	(void)state;
	struct vacpi_config cfg;

	vacpi_default_config(&cfg, 5);
	assert_int_equal(cfg.vcpu_count, 5);
	assert_int_equal(cfg.ioapic_id, 5); /* vioapic_init(..., vcpu_count) */
	assert_int_equal(cfg.ioapic_address, VIOAPIC_BASE);
	assert_int_equal(cfg.ioapic_gsi_base, 0);
	assert_true(cfg.hpet_present);
	assert_int_equal(cfg.hpet_base, VHPET_BASE);
	assert_int_equal(cfg.hpet_block_id, VHPET_BLOCK_ID);
	assert_int_equal(cfg.hpet_min_tick, VHPET_MIN_TICK);
	assert_int_equal(cfg.hpet_number, VHPET_SEQUENCE);
	assert_int_equal(cfg.pm_base, VPLATFORM_PM_BASE);
	assert_int_equal(cfg.pm_base + VACPI_PM_TMR_OFF, VPLATFORM_PM_TIMER);
	assert_int_equal(VACPI_PM_TMR_LEN, VPMTMR_LEN);
	assert_true(cfg.pm_timer_32bit); /* vpmtmr_init(..., true) */
	assert_int_equal(cfg.century, VRTC_CENTURY_INDEX);
	assert_int_equal(cfg.sci_irq, 9);
	assert_int_equal(cfg.reset_port, 0xcf9);
	assert_int_equal(cfg.reset_value, 0x06);
	assert_string_equal(cfg.oem_id, "HV");
	assert_string_equal(cfg.oem_table_id, "HVVM");
	/* the poweroff write the DSDT's \_S5 leads to */
	assert_int_equal((VACPI_S5_SLP_TYP << VACPI_PM1_SLP_TYP_SHIFT) | VACPI_PM1_SLP_EN, 0x3400);
	/* the HPET's legacy IRQ0 route matches the MADT's IRQ0 override */
	assert_int_equal(VHPET_LEGACY_GSI0, 2);
}

/* A corrupted byte anywhere in a table the parser reads is caught by its checksum. */
static void test_checksums_matter(void **state)
{
	(void)state;
	struct built *b = build_n(2);
	size_t offs[4] = { b->l.fadt_offset, b->l.madt_offset, b->l.hpet_offset, b->l.xsdt_offset };
	uint32_t lens[4] = { VACPI_FADT_LEN, b->l.madt_len, VACPI_HPET_LEN, b->l.xsdt_len };

	for (int t = 0; t < 4; t++) {
		for (uint32_t i = 0; i < lens[t]; i += 7) {
			struct acpi_access mem = { buf_map, b };
			b->buf[offs[t] + i] ^= 0x40;
			int rc = acpi_parse(b->buf + b->l.rsdp_offset, VACPI_RSDP_LEN, &mem, &b->info);
			b->buf[offs[t] + i] ^= 0x40;
			/* Never silently accepted. A bad XSDT falls back to the RSDT (with a warning), as
			 * does an FADT or HPET whose signature is broken (then just an unknown table); any
			 * other corruption of a table hv reads is an error. */
			assert_true(rc < 0 || b->info.warning_count > 0);
			if (t != 3 && i >= 4)
				assert_true(rc < 0);
		}
	}
	assert_int_equal(parse(b, VACPI_RSDP_LEN), ACPI_OK);
	release(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpus_1),
		cmocka_unit_test(test_vcpus_2),
		cmocka_unit_test(test_vcpus_16),
		cmocka_unit_test(test_vcpus_max),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_rsdt_path),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_unaligned_base),
		cmocka_unit_test(test_position_independent),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_defaults_match_platform),
		cmocka_unit_test(test_checksums_matter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
