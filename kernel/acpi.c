/*
 * ACPI table parser (see include/hv/acpi.h). Pure logic: reads tables only through acpi_access.map,
 * checks every table's signature, length and checksum before its body, and every field read against
 * the table's length, so corrupt or hostile firmware tables give an error sentence, never an
 * out-of-bounds read. All multi-byte fields are little-endian and may be unaligned: read bytewise.
 */
#include <hv/acpi.h>
#include <hv/fmt.h>
#include <hv/string.h>
#include <stdarg.h>

#define HDR_LEN 36	  /* ACPI 6.5 5.2.6 System Description Table Header */
#define RSDP_V1_LEN 20	  /* ACPI 6.5 5.2.5.3: checksum covers the first 20 bytes */
#define RSDP_V2_LEN 36	  /* ... extended checksum covers Length bytes (36 for 2.0+) */
#define MADT_FIXED_LEN 44 /* 5.2.12: header + local APIC address + flags */
#define HPET_LEN 56	  /* IA-PC HPET 1.0a Table 3 */
#define FADT_V1_LEN 116	  /* ACPI 1.0 FADT: header .. Flags */

/* MADT entry types, ACPI 6.5 5.2.12. */
enum {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_ISO = 2,
	MADT_NMI_SOURCE = 3,
	MADT_LAPIC_NMI = 4,
	MADT_LAPIC_OVERRIDE = 5,
	MADT_X2APIC = 9,
	MADT_X2APIC_NMI = 0xa,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* ACPI 6.5 5.2.3.2 Generic Address Structure: 12 bytes. */
static struct acpi_gas rd_gas(const uint8_t *p)
{
	struct acpi_gas g = { p[0], p[1], p[2], p[3], rd64(p + 4) };
	return g;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void sig_str(char dst[5], const uint8_t *src)
{
	for (int i = 0; i < 4; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[4] = '\0';
}

static int fail(struct acpi_info *out, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct acpi_info *out, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return code;
}

static void warn(struct acpi_info *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct acpi_info *out, const char *fmt, ...)
{
	va_list ap;

	if (out->warning_count++)
		return;
	va_start(ap, fmt);
	fmt_vsnprintf(out->warning, sizeof(out->warning), fmt, ap);
	va_end(ap);
}

/* Turn the error just set into a warning (for a table hv can do without), clearing the error. */
static void demote(struct acpi_info *out, const char *suffix)
{
	warn(out, "%s%s", out->error, suffix);
	out->error[0] = '\0';
}

static const void *map(const struct acpi_access *mem, uint64_t phys, uint64_t len)
{
	if (phys > UINT64_MAX - len)
		return NULL;
	return mem->map(phys, len, mem->ctx);
}

/*
 * Map the table at phys and validate it: signature (when sig is given), length within
 * [min_len, ACPI_TABLE_MAX_LEN], the whole length mappable, bytes summing to 0 (5.2.6).
 */
static int load_table(const struct acpi_access *mem, struct acpi_info *out, uint64_t phys, const char *name,
		      const char *sig, uint32_t min_len, const uint8_t **tbl, uint32_t *len)
{
	const uint8_t *h = map(mem, phys, HDR_LEN);
	if (!h)
		return fail(out, ACPI_E_MAP, "ACPI: cannot map the %s header (table at 0x%lx)", name,
			    (unsigned long)phys);
	if (sig && memcmp(h, sig, 4) != 0) {
		char got[5];
		sig_str(got, h);
		return fail(out, ACPI_E_SIGNATURE, "ACPI: %s at 0x%lx has signature \"%s\", expected \"%s\"", name,
			    (unsigned long)phys, got, sig);
	}
	uint32_t n = rd32(h + 4);
	if (n < min_len)
		return fail(out, ACPI_E_LENGTH, "ACPI: %s length %u is shorter than the %u bytes it needs (table at 0x%lx)",
			    name, n, min_len, (unsigned long)phys);
	if (n > ACPI_TABLE_MAX_LEN)
		return fail(out, ACPI_E_LENGTH, "ACPI: %s length %u exceeds the 1 MiB limit (table at 0x%lx)", name, n,
			    (unsigned long)phys);
	const uint8_t *t = map(mem, phys, n);
	if (!t)
		return fail(out, ACPI_E_MAP, "ACPI: cannot map %s (table at 0x%lx, length %u)", name,
			    (unsigned long)phys, n);
	uint8_t s = sum8(t, n);
	if (s)
		return fail(out, ACPI_E_CHECKSUM, "ACPI: %s checksum mismatch (table at 0x%lx, sum 0x%02x)", name,
			    (unsigned long)phys, s);
	*tbl = t;
	*len = n;
	return 0;
}

/* ---- MADT, ACPI 6.5 5.2.12 ---- */

/* Minimum entry lengths of the types hv reads (5.2.12.2 - 5.2.12.13). */
static uint8_t madt_min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC: return 8;
	case MADT_IOAPIC: return 12;
	case MADT_ISO: return 10;
	case MADT_NMI_SOURCE: return 8;
	case MADT_LAPIC_NMI: return 6;
	case MADT_LAPIC_OVERRIDE: return 12;
	case MADT_X2APIC: return 16;
	case MADT_X2APIC_NMI: return 12;
	default: return 2;
	}
}

static void add_cpu(struct acpi_info *out, uint8_t madt_rev, uint32_t apic_id, uint32_t uid, uint32_t flags,
		    bool x2apic)
{
	bool enabled = flags & ACPI_LAPIC_ENABLED;
	/* Online Capable exists from MADT revision 5 (ACPI 6.3); before that bit 1 was reserved. */
	bool online = !enabled && madt_rev >= 5 && (flags & ACPI_LAPIC_ONLINE_CAPABLE);
	uint32_t invalid = x2apic ? 0xffffffffu : 0xffu;

	if ((!enabled && !online) || apic_id == invalid) {
		out->cpus_unusable++;
		return;
	}
	for (uint32_t i = 0; i < out->cpu_count; i++) {
		if (out->cpus[i].apic_id == apic_id) {
			out->cpus_duplicate++;
			return;
		}
	}
	if (out->cpu_count == ACPI_MAX_CPUS) {
		out->cpus_dropped++;
		return;
	}
	struct acpi_cpu *c = &out->cpus[out->cpu_count++];
	c->apic_id = apic_id;
	c->uid = uid;
	c->flags = flags;
	c->enabled = enabled;
	c->online_capable = online;
	c->x2apic = x2apic;
}

static void add_lapic_nmi(struct acpi_info *out, uint32_t uid, bool all, bool x2apic, uint8_t lint, uint16_t flags)
{
	if (out->lapic_nmi_count == ACPI_MAX_LAPIC_NMIS) {
		out->lapic_nmis_dropped++;
		return;
	}
	struct acpi_lapic_nmi *n = &out->lapic_nmis[out->lapic_nmi_count++];
	n->uid = uid;
	n->all_cpus = all;
	n->x2apic = x2apic;
	n->lint = lint;
	n->flags = flags;
}

static int parse_madt(struct acpi_info *out, uint64_t phys, const uint8_t *t, uint32_t n)
{
	uint8_t rev = t[8];
	bool override = false;

	out->lapic_address = rd32(t + 36);
	out->madt_flags = rd32(t + 40);

	uint32_t elen;
	for (uint32_t off = MADT_FIXED_LEN; off < n; off += elen) {
		/* Every entry starts with type and length (5.2.12.1): both must be inside the table. */
		if (n - off < 2)
			return fail(out, ACPI_E_MADT,
				    "ACPI: truncated MADT entry at offset 0x%x: 1 byte left before the table end (table at 0x%lx)",
				    off, (unsigned long)phys);
		const uint8_t *e = t + off;
		uint8_t type = e[0];
		elen = e[1];
		if (elen == 0)
			return fail(out, ACPI_E_MADT, "ACPI: zero-length MADT entry (type %u at offset 0x%x, table at 0x%lx)",
				    type, off, (unsigned long)phys);
		if (elen < 2)
			return fail(out, ACPI_E_MADT,
				    "ACPI: MADT entry type %u at offset 0x%x has invalid length %u (table at 0x%lx)", type,
				    off, elen, (unsigned long)phys);
		if (elen > n - off)
			return fail(out, ACPI_E_MADT,
				    "ACPI: truncated MADT entry type %u at offset 0x%x: length %u runs past the table end at 0x%x (table at 0x%lx)",
				    type, off, elen, n, (unsigned long)phys);
		if (elen < madt_min_len(type))
			return fail(out, ACPI_E_MADT,
				    "ACPI: MADT entry type %u at offset 0x%x is %u bytes long, needs %u (table at 0x%lx)", type,
				    off, elen, madt_min_len(type), (unsigned long)phys);

		switch (type) {
		case MADT_LAPIC: /* 5.2.12.2: uid u8 @2, APIC id u8 @3, flags u32 @4 */
			add_cpu(out, rev, e[3], e[2], rd32(e + 4), false);
			break;
		case MADT_X2APIC: /* 5.2.12.12: x2APIC id u32 @4, flags u32 @8, uid u32 @12 */
			add_cpu(out, rev, rd32(e + 4), rd32(e + 12), rd32(e + 8), true);
			break;
		case MADT_IOAPIC: /* 5.2.12.3: id u8 @2, address u32 @4, GSI base u32 @8 */
			if (out->ioapic_count == ACPI_MAX_IOAPICS) {
				out->ioapics_dropped++;
				break;
			}
			out->ioapics[out->ioapic_count++] = (struct acpi_ioapic){ e[2], rd32(e + 4), rd32(e + 8) };
			break;
		case MADT_ISO: { /* 5.2.12.5: bus u8 @2, source u8 @3, GSI u32 @4, flags u16 @8 */
			if (out->iso_count == ACPI_MAX_ISOS) {
				out->isos_dropped++;
				break;
			}
			uint16_t f = rd16(e + 8);
			struct acpi_iso *o = &out->isos[out->iso_count++];
			o->bus = e[2];
			o->source = e[3];
			o->gsi = rd32(e + 4);
			o->flags = f;
			o->active_low = ACPI_POLARITY(f) == ACPI_POLARITY_LOW;
			o->level = ACPI_TRIGGER(f) == ACPI_TRIGGER_LEVEL;
			break;
		}
		case MADT_NMI_SOURCE: /* 5.2.12.6: flags u16 @2, GSI u32 @4 */
			if (out->nmi_source_count == ACPI_MAX_NMI_SOURCES) {
				out->nmi_sources_dropped++;
				break;
			}
			out->nmi_sources[out->nmi_source_count++] = (struct acpi_nmi_source){ rd16(e + 2), rd32(e + 4) };
			break;
		case MADT_LAPIC_NMI: /* 5.2.12.7: uid u8 @2 (0xff = all), flags u16 @3, LINT# u8 @5 */
			add_lapic_nmi(out, e[2], e[2] == 0xff, false, e[5], rd16(e + 3));
			break;
		case MADT_X2APIC_NMI: /* 5.2.12.13: flags u16 @2, uid u32 @4 (0xffffffff = all), LINT# u8 @8 */
			add_lapic_nmi(out, rd32(e + 4), rd32(e + 4) == 0xffffffffu, true, e[8], rd16(e + 2));
			break;
		case MADT_LAPIC_OVERRIDE: /* 5.2.12.8: 64-bit local APIC address @4; at most one */
			if (override) {
				warn(out, "ACPI: second local APIC address override in the MADT ignored (offset 0x%x)", off);
				break;
			}
			override = true;
			out->lapic_address = rd64(e + 4);
			break;
		default:
			out->madt_unknown_entries++;
			break;
		}
	}
	if (out->cpu_count == 0)
		return fail(out, ACPI_E_MADT, "ACPI: MADT lists no usable CPU (%u unusable entries, table at 0x%lx)",
			    out->cpus_unusable, (unsigned long)phys);
	return 0;
}

/* ---- HPET, IA-PC HPET Specification 1.0a 3.2.4 Table 3 ---- */

static void parse_hpet(struct acpi_info *out, const uint8_t *t)
{
	out->has_hpet = true;
	out->hpet.event_timer_block_id = rd32(t + 36);
	out->hpet.base = rd_gas(t + 40);
	out->hpet.number = t[52];
	out->hpet.min_tick = rd16(t + 53);
	out->hpet.page_protection = t[55];
}

/* ---- FADT, ACPI 6.5 5.2.9 ---- */

/* A register block: X_ GAS at x_off when inside the table and non-zero, else the 32-bit I/O port at
 * port_off with len_off's byte count (5.2.9: a non-zero X_ field supersedes the 32-bit one). */
static struct acpi_gas fadt_block(const uint8_t *t, uint32_t n, uint32_t port_off, uint32_t len_off, uint32_t x_off)
{
	struct acpi_gas g = { 0, 0, 0, 0, 0 };

	if (x_off + 12 <= n) {
		g = rd_gas(t + x_off);
		if (g.address) {
			if (!g.bit_width)
				g.bit_width = (uint8_t)(t[len_off] * 8);
			return g;
		}
	}
	uint32_t port = rd32(t + port_off);
	if (port) {
		g.space_id = ACPI_GAS_IO;
		g.bit_width = (uint8_t)(t[len_off] * 8);
		g.bit_offset = 0;
		g.access_size = 0;
		g.address = port;
	}
	return g;
}

static void parse_fadt(struct acpi_info *out, const uint8_t *t, uint32_t n)
{
	struct acpi_fadt *f = &out->fadt;

	out->has_fadt = true;
	f->revision = t[8];
	f->minor_revision = n > 131 ? t[131] : 0;
	f->firmware_ctrl = rd32(t + 36);
	f->dsdt = rd32(t + 40);
	f->sci_int = rd16(t + 46);
	f->smi_cmd = rd32(t + 48);
	f->acpi_enable = t[52];
	f->acpi_disable = t[53];
	f->pm1a_evt = fadt_block(t, n, 56, 88, 148);
	f->pm1b_evt = fadt_block(t, n, 60, 88, 160);
	f->pm1a_cnt = fadt_block(t, n, 64, 89, 172);
	f->pm1b_cnt = fadt_block(t, n, 68, 89, 184);
	/* PM_TMR_LEN is 4 when the PM timer is supported, 0 when not (5.2.9) */
	if (t[91] == 4)
		f->pm_timer = fadt_block(t, n, 76, 91, 208);
	f->flags = rd32(t + 112);
	f->pm_timer_bits = f->pm_timer.address ? (f->flags & ACPI_FADT_TMR_VAL_EXT ? 32 : 24) : 0;
	/* IAPC_BOOT_ARCH (5.2.9.3) was reserved in the ACPI 1.0 (revision 1) FADT. */
	f->iapc_boot_arch = f->revision >= 2 ? rd16(t + 109) : 0;
	/* RESET_REG GAS @116 and RESET_VALUE @128 (5.2.9), valid only with RESET_REG_SUP. */
	if ((f->flags & ACPI_FADT_RESET_REG_SUP) && n >= 129) {
		f->reset_supported = true;
		f->reset_reg = rd_gas(t + 116);
		f->reset_value = t[128];
	}
	if (n >= 140 && rd64(t + 132))
		f->firmware_ctrl = rd64(t + 132); /* X_FIRMWARE_CTRL */
	if (n >= 148 && rd64(t + 140))
		f->dsdt = rd64(t + 140); /* X_DSDT */
}

/* ---- RSDP and root table ---- */

static const char *table_name(const char sig[5])
{
	if (!memcmp(sig, "APIC", 4))
		return "MADT";
	if (!memcmp(sig, "FACP", 4))
		return "FADT";
	return sig;
}

static struct acpi_table *record_table(struct acpi_info *out, const char sig[5], uint64_t phys, uint32_t length)
{
	if (out->table_count == ACPI_MAX_TABLES) {
		out->tables_dropped++;
		return NULL;
	}
	struct acpi_table *t = &out->tables[out->table_count++];
	memcpy(t->signature, sig, 5);
	t->phys = phys;
	t->length = length;
	t->valid = false;
	return t;
}

static int walk_root(const struct acpi_access *mem, struct acpi_info *out, const uint8_t *root, uint32_t len)
{
	const char *root_name = out->root_is_xsdt ? "XSDT" : "RSDT";
	uint32_t width = out->root_is_xsdt ? 8 : 4; /* 5.2.8 / 5.2.7: array of 64/32-bit addresses */
	uint32_t count = (len - HDR_LEN) / width;
	bool have_madt = false, have_fadt = false, have_hpet = false;

	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *p = root + HDR_LEN + i * width;
		uint64_t phys = width == 8 ? rd64(p) : rd32(p);
		if (!phys) {
			warn(out, "ACPI: %s entry %u is a null address, skipped", root_name, i);
			continue;
		}
		const uint8_t *h = map(mem, phys, HDR_LEN);
		if (!h)
			return fail(out, ACPI_E_MAP, "ACPI: cannot map the header of %s entry %u (table at 0x%lx)",
				    root_name, i, (unsigned long)phys);
		char sig[5];
		sig_str(sig, h);
		struct acpi_table *rec = record_table(out, sig, phys, rd32(h + 4));

		bool *seen = NULL;
		uint32_t min_len = HDR_LEN;
		if (!memcmp(sig, "APIC", 4)) {
			seen = &have_madt;
			min_len = MADT_FIXED_LEN;
		} else if (!memcmp(sig, "FACP", 4)) {
			seen = &have_fadt;
			min_len = FADT_V1_LEN;
		} else if (!memcmp(sig, "HPET", 4)) {
			seen = &have_hpet;
			min_len = HPET_LEN;
		}
		const char *name = table_name(sig);
		const uint8_t *t;
		uint32_t n;
		if (seen && *seen) { /* the first one is used; a later one is only checked */
			warn(out, "ACPI: second %s (table at 0x%lx) ignored", name, (unsigned long)phys);
			seen = NULL;
		}
		int rc = load_table(mem, out, phys, name, NULL, min_len, &t, &n);
		if (rc) {
			if (seen) /* a table hv reads must be sound */
				return rc;
			demote(out, " (table not used)");
			continue;
		}
		if (rec)
			rec->valid = true;
		if (!seen)
			continue;
		*seen = true;
		if (seen == &have_madt) {
			rc = parse_madt(out, phys, t, n);
			if (rc)
				return rc;
		} else if (seen == &have_fadt) {
			parse_fadt(out, t, n);
		} else {
			parse_hpet(out, t);
		}
	}

	if (!have_madt) {
		char list[ACPI_MSG_MAX];
		size_t used = 0;
		list[0] = '\0';
		for (uint32_t i = 0; i < out->table_count && used + 6 < sizeof(list); i++)
			used += (size_t)fmt_snprintf(list + used, sizeof(list) - used, "%s%s", i ? " " : "",
						     out->tables[i].signature);
		return fail(out, ACPI_E_NO_MADT, "ACPI: no MADT in %s (tables: %s)", root_name,
			    out->table_count ? list : "none");
	}
	return 0;
}

int acpi_parse(const uint8_t *rsdp, uint32_t rsdp_len, const struct acpi_access *mem, struct acpi_info *out)
{
	if (!out)
		return ACPI_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (!mem || !mem->map)
		return fail(out, ACPI_E_INVAL, "ACPI: no memory access callback given");

	/* RSDP, ACPI 6.5 5.2.5.3 */
	if (!rsdp || rsdp_len == 0)
		return fail(out, ACPI_E_RSDP, "ACPI: no RSDP given by the boot path");
	if (rsdp_len < RSDP_V1_LEN)
		return fail(out, ACPI_E_RSDP, "ACPI: RSDP too short (%u bytes given, need 20)", rsdp_len);
	if (memcmp(rsdp, "RSD PTR ", 8) != 0)
		return fail(out, ACPI_E_RSDP, "ACPI: RSDP signature is not \"RSD PTR \"");
	uint8_t s = sum8(rsdp, RSDP_V1_LEN);
	if (s)
		return fail(out, ACPI_E_RSDP, "ACPI: RSDP checksum mismatch (sum 0x%02x over the first 20 bytes)", s);

	uint8_t rev = rsdp[15];
	uint64_t rsdt = rd32(rsdp + 16), xsdt = 0;
	out->rsdp_revision = rev;
	for (int i = 0; i < 6 && rsdp[9 + i]; i++)
		out->oem_id[i] = rsdp[9 + i] >= 0x20 && rsdp[9 + i] < 0x7f ? (char)rsdp[9 + i] : '?';

	if (rev >= 2) {
		if (rsdp_len < RSDP_V2_LEN) {
			warn(out, "ACPI: RSDP revision %u but only %u bytes given: using the RSDT", rev, rsdp_len);
		} else {
			uint32_t n = rd32(rsdp + 20);
			if (n < RSDP_V2_LEN || n > rsdp_len)
				return fail(out, ACPI_E_RSDP, "ACPI: RSDP length %u invalid (revision %u, %u bytes given)", n,
					    rev, rsdp_len);
			s = sum8(rsdp, n);
			if (s)
				return fail(out, ACPI_E_RSDP,
					    "ACPI: RSDP extended checksum mismatch (sum 0x%02x over %u bytes)", s, n);
			xsdt = rd64(rsdp + 24);
		}
	}

	/* Root table: the XSDT when present and sound (5.2.5.3: OSPM uses the XSDT when there is one), else the RSDT. */
	const uint8_t *root = NULL;
	uint32_t root_len = 0;
	int rc;
	if (xsdt) {
		rc = load_table(mem, out, xsdt, "XSDT", "XSDT", HDR_LEN, &root, &root_len);
		if (rc == 0) {
			out->root_is_xsdt = true;
			out->root_phys = xsdt;
		} else if (rsdt) {
			demote(out, "; using the RSDT");
		} else {
			return rc;
		}
	}
	if (!out->root_is_xsdt) {
		if (!rsdt)
			return fail(out, ACPI_E_RSDP, "ACPI: RSDP gives no RSDT or XSDT address");
		rc = load_table(mem, out, rsdt, "RSDT", "RSDT", HDR_LEN, &root, &root_len);
		if (rc)
			return rc;
		out->root_phys = rsdt;
	}
	return walk_root(mem, out, root, root_len);
}
