/*
 * A VM's ACPI tables (see include/hv/vacpi.h). Pure logic: plan the layout in guest-physical
 * space, check it fits, then write every table bytewise (little-endian, unaligned-safe) and fix
 * its checksum last. Field offsets are those of ACPI 6.5 chapter 5, named next to each write.
 */
#include <hv/string.h>
#include <hv/vacpi.h>

#define RSDP_V1_LEN 20	   /* 5.2.5.3: the checksum covers these */
#define MADT_FIXED_LEN 44  /* 5.2.12: header + Local Interrupt Controller Address + Flags */
#define MADT_LAPIC_LEN 8   /* 5.2.12.2 */
#define MADT_IOAPIC_LEN 12 /* 5.2.12.3 */
#define MADT_ISO_LEN 10	   /* 5.2.12.5 */
#define MADT_NMI_LEN 6	   /* 5.2.12.7 */
#define MADT_PCAT_COMPAT 1u
#define LAPIC_ENABLED 1u

/* Revisions: what ACPI 6.5 defines for each table. */
#define RSDP_REVISION 2	 /* ACPI 2.0+ RSDP with XSDT */
#define RSDT_REVISION 1
#define XSDT_REVISION 1
#define FADT_REVISION 6	 /* with FADT Minor Version 5: ACPI 6.5 */
#define FADT_MINOR 5
#define MADT_REVISION 6	 /* ACPI 6.5 */
#define HPET_REVISION 1	 /* IA-PC HPET 1.0a */
#define DSDT_REVISION 2	 /* 2+: AML integers are 64-bit */
#define FACS_VERSION 2

#define CREATOR_ID "HV  "
#define CREATOR_REVISION 1

/* MPS INTI flags (5.2.12.5, Table 5.26). */
#define INTI_HIGH 0x1u
#define INTI_EDGE (0x1u << 2)
#define INTI_LEVEL (0x3u << 2)

/* Generic Address Structure (5.2.3.2). */
#define GAS_MEMORY 0
#define GAS_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

#define ALIGN_TABLE 16 /* every table; the RSDP must be 16-byte aligned for the legacy scan */
#define ALIGN_FACS 64  /* 5.2.10: the FACS is 64-byte aligned */
#define LIMIT_4G 0x100000000ull

static const uint8_t dsdt_aml[VACPI_DSDT_AML_LEN] = VACPI_DSDT_AML;

static void wr8(uint8_t *p, uint8_t v) { p[0] = v; }

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr_gas(uint8_t *p, uint8_t space, uint8_t bit_width, uint8_t access, uint64_t address)
{
	p[0] = space;
	p[1] = bit_width;
	p[2] = 0; /* bit offset */
	p[3] = access;
	wr64(p + 4, address);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Copies a NUL-terminated string of at most n characters, padding with spaces to n bytes. */
static void wr_padded(uint8_t *p, const char *s, size_t n)
{
	size_t len = strnlen(s, n);

	memcpy(p, s, len);
	memset(p + len, ' ', n - len);
}

/* 5.2.6 System Description Table Header; the checksum is fixed by finish(). */
static void wr_header(uint8_t *t, const char *sig, uint32_t len, uint8_t revision, const struct vacpi_config *cfg)
{
	memcpy(t, sig, 4);		       /* Signature @0 */
	wr32(t + 4, len);		       /* Length @4 */
	wr8(t + 8, revision);		       /* Revision @8; Checksum @9 */
	wr_padded(t + 10, cfg->oem_id, 6);     /* OEMID @10 */
	wr_padded(t + 16, cfg->oem_table_id, 8); /* OEM Table ID @16 */
	wr32(t + 24, cfg->oem_revision);       /* OEM Revision @24 */
	memcpy(t + 28, CREATOR_ID, 4);	       /* Creator ID @28 */
	wr32(t + 32, CREATOR_REVISION);	       /* Creator Revision @32 */
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)-sum8(t, len);
}

void vacpi_default_config(struct vacpi_config *cfg, uint32_t vcpu_count)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vcpu_count = vcpu_count;
	cfg->ioapic_id = (uint8_t)vcpu_count;
	cfg->ioapic_address = VACPI_IOAPIC_ADDRESS;
	cfg->ioapic_gsi_base = 0;
	cfg->hpet_present = true;
	cfg->hpet_base = VACPI_HPET_ADDRESS;
	cfg->hpet_block_id = VACPI_HPET_BLOCK_ID;
	cfg->hpet_min_tick = VACPI_HPET_MIN_TICK;
	cfg->hpet_number = 0;
	cfg->pm_base = VACPI_PM_BASE;
	cfg->pm_timer_32bit = true;
	cfg->sci_irq = VACPI_SCI_IRQ;
	cfg->reset_port = VACPI_RESET_PORT;
	cfg->reset_value = VACPI_RESET_VALUE;
	cfg->century = VACPI_CENTURY;
	cfg->iapc_boot_arch = VACPI_BOOT_LEGACY_DEVICES | VACPI_BOOT_VGA_NOT_PRESENT;
	memcpy(cfg->oem_id, "HV", 3); /* with the NUL */
	memcpy(cfg->oem_table_id, "HVVM", 5);
	cfg->oem_revision = 1;
}

static bool config_valid(const struct vacpi_config *cfg)
{
	return cfg->vcpu_count >= 1 && cfg->vcpu_count <= VACPI_MAX_VCPUS && cfg->pm_base != 0 &&
	       cfg->pm_base <= 0x10000u - VACPI_PM_BLOCK_LEN && cfg->sci_irq >= 1 && cfg->sci_irq < 16 &&
	       cfg->sci_irq != 2 && (!cfg->hpet_present || cfg->hpet_base != 0) &&
	       strnlen(cfg->oem_id, sizeof(cfg->oem_id)) < sizeof(cfg->oem_id) &&
	       strnlen(cfg->oem_table_id, sizeof(cfg->oem_table_id)) < sizeof(cfg->oem_table_id);
}

/* Places len bytes at the next multiple of align (in guest-physical terms) after *cursor. */
static uint64_t place(uint64_t *cursor, uint64_t align, uint64_t len, size_t *offset, uint64_t base)
{
	uint64_t at = (*cursor + align - 1) & ~(align - 1);

	*cursor = at + len;
	*offset = (size_t)(at - base);
	return at;
}

/* The layout: where each table lands, and how many bytes it all takes. */
static int plan(const struct vacpi_config *cfg, uint64_t gpa, struct vacpi_layout *l)
{
	uint32_t tables = cfg->hpet_present ? 3 : 2;
	uint64_t cur = gpa;

	/* Everything ends below 4 GiB, so nothing here can overflow once gpa itself is below it. */
	if (gpa >= LIMIT_4G)
		return VACPI_E_RANGE;
	memset(l, 0, sizeof(*l));
	l->dsdt_len = VACPI_HDR_LEN + VACPI_DSDT_AML_LEN;
	l->madt_len = MADT_FIXED_LEN + cfg->vcpu_count * MADT_LAPIC_LEN + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN +
		      MADT_NMI_LEN;
	l->rsdt_len = VACPI_HDR_LEN + 4 * tables;
	l->xsdt_len = VACPI_HDR_LEN + 8 * tables;

	l->rsdp = place(&cur, ALIGN_TABLE, VACPI_RSDP_LEN, &l->rsdp_offset, gpa);
	l->facs = place(&cur, ALIGN_FACS, VACPI_FACS_LEN, &l->facs_offset, gpa);
	l->dsdt = place(&cur, ALIGN_TABLE, l->dsdt_len, &l->dsdt_offset, gpa);
	l->fadt = place(&cur, ALIGN_TABLE, VACPI_FADT_LEN, &l->fadt_offset, gpa);
	l->madt = place(&cur, ALIGN_TABLE, l->madt_len, &l->madt_offset, gpa);
	if (cfg->hpet_present)
		l->hpet = place(&cur, ALIGN_TABLE, VACPI_HPET_LEN, &l->hpet_offset, gpa);
	l->rsdt = place(&cur, ALIGN_TABLE, l->rsdt_len, &l->rsdt_offset, gpa);
	l->xsdt = place(&cur, ALIGN_TABLE, l->xsdt_len, &l->xsdt_offset, gpa);
	l->size = (size_t)(cur - gpa);
	return cur > LIMIT_4G ? VACPI_E_RANGE : VACPI_OK;
}

/* 5.2.5.3 Root System Description Pointer, revision 2. */
static void build_rsdp(uint8_t *p, const struct vacpi_config *cfg, const struct vacpi_layout *l)
{
	memcpy(p, "RSD PTR ", 8);	    /* Signature @0; Checksum @8 */
	wr_padded(p + 9, cfg->oem_id, 6);   /* OEMID @9 */
	wr8(p + 15, RSDP_REVISION);	    /* Revision @15 */
	wr32(p + 16, (uint32_t)l->rsdt);    /* RsdtAddress @16 */
	wr32(p + 20, VACPI_RSDP_LEN);	    /* Length @20 */
	wr64(p + 24, l->xsdt);		    /* XsdtAddress @24; Extended Checksum @32; Reserved @33 */
	p[8] = (uint8_t)-sum8(p, RSDP_V1_LEN);
	p[32] = (uint8_t)-sum8(p, VACPI_RSDP_LEN);
}

/* 5.2.10 Firmware ACPI Control Structure: no checksum; everything but these is zero. */
static void build_facs(uint8_t *p)
{
	memcpy(p, "FACS", 4);		/* Signature @0 */
	wr32(p + 4, VACPI_FACS_LEN);	/* Length @4 */
	/* Hardware Signature @8 = 0 (never changes: no S4), Firmware Waking Vector @12 = 0 (no S3),
	 * Global Lock @16 = 0, Flags @20 = 0 (no S4BIOS, no 64-bit wake), X_Firmware Waking Vector
	 * @24 = 0, OSPM Flags @36 = 0. */
	wr8(p + 32, FACS_VERSION);	/* Version @32 */
}

/* 5.2.11.1 Differentiated System Description Table: header + AML (see VACPI_DSDT_AML). */
static void build_dsdt(uint8_t *t, const struct vacpi_config *cfg, const struct vacpi_layout *l)
{
	wr_header(t, "DSDT", l->dsdt_len, DSDT_REVISION, cfg);
	memcpy(t + VACPI_HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	finish(t, l->dsdt_len);
}

/* A PM register block as its 32-bit port (+ length byte) and as its X_ GAS. */
static void fadt_block(uint8_t *t, uint32_t port_off, uint32_t len_off, uint32_t x_off, uint16_t port, uint8_t len,
		       uint8_t access)
{
	wr32(t + port_off, port);
	wr8(t + len_off, len);
	wr_gas(t + x_off, GAS_IO, (uint8_t)(len * 8), access, port);
}

/* 5.2.9 Fixed ACPI Description Table, the 276-byte layout of revision 6. */
static void build_fadt(uint8_t *t, const struct vacpi_config *cfg, const struct vacpi_layout *l)
{
	uint32_t flags = VACPI_FADT_FIXED_FLAGS;

	if (cfg->pm_timer_32bit)
		flags |= VACPI_FADT_TMR_VAL_EXT;
	if (cfg->reset_port)
		flags |= VACPI_FADT_RESET_REG_SUP;

	wr_header(t, "FACP", VACPI_FADT_LEN, FADT_REVISION, cfg);
	/* Both the 32-bit and the X_ copies hold the same address (ACPICA takes that without warning). */
	wr32(t + 36, (uint32_t)l->facs); /* FIRMWARE_CTRL */
	wr32(t + 40, (uint32_t)l->dsdt); /* DSDT; @44 reserved; Preferred_PM_Profile @45 = 0 unspecified */
	wr16(t + 46, cfg->sci_irq);	 /* SCI_INT */
	/* SMI_CMD @48 = 0, ACPI_ENABLE @52 = ACPI_DISABLE @53 = 0: no SMM, the hardware is always in
	 * ACPI mode (SCI_EN reads 1); S4BIOS_REQ @54 = PSTATE_CNT @55 = 0. */
	fadt_block(t, 56, 88, 148, (uint16_t)(cfg->pm_base + VACPI_PM1_EVT_OFF), VACPI_PM1_EVT_LEN,
		   GAS_ACCESS_WORD); /* PM1a_EVT_BLK, PM1_EVT_LEN, X_PM1a_EVT_BLK */
	fadt_block(t, 64, 89, 172, (uint16_t)(cfg->pm_base + VACPI_PM1_CNT_OFF), VACPI_PM1_CNT_LEN,
		   GAS_ACCESS_WORD); /* PM1a_CNT_BLK, PM1_CNT_LEN, X_PM1a_CNT_BLK */
	fadt_block(t, 76, 91, 208, (uint16_t)(cfg->pm_base + VACPI_PM_TMR_OFF), VACPI_PM_TMR_LEN,
		   GAS_ACCESS_DWORD); /* PM_TMR_BLK, PM_TMR_LEN, X_PM_TMR_BLK */
	/* No PM1b, PM2 or GPE blocks: their ports, lengths and GAS stay 0. CST_CNT @95 = 0. */
	wr16(t + 96, 0x0fff);  /* P_LVL2_LAT > 100: no C2 */
	wr16(t + 98, 0xffff);  /* P_LVL3_LAT > 1000: no C3; FLUSH_SIZE/STRIDE, DUTY_*: 0 */
	/* DAY_ALRM @106 = MON_ALRM @107 = 0: the RTC alarm has no day/month fields. */
	wr8(t + 108, cfg->century);	       /* CENTURY */
	wr16(t + 109, cfg->iapc_boot_arch);    /* IAPC_BOOT_ARCH; @111 reserved */
	wr32(t + 112, flags);		       /* Flags */
	if (cfg->reset_port) {
		wr_gas(t + 116, GAS_IO, 8, GAS_ACCESS_BYTE, cfg->reset_port); /* RESET_REG: 8 bits, offset 0 */
		wr8(t + 128, cfg->reset_value);				      /* RESET_VALUE */
	}
	/* ARM_BOOT_ARCH @129 = 0 */
	wr8(t + 131, FADT_MINOR);		/* FADT Minor Version */
	wr64(t + 132, l->facs);			/* X_FIRMWARE_CTRL */
	wr64(t + 140, l->dsdt);			/* X_DSDT */
	/* SLEEP_CONTROL_REG @244, SLEEP_STATUS_REG @256 = 0 (not hardware-reduced);
	 * Hypervisor Vendor Identity @268 = 0. */
	finish(t, VACPI_FADT_LEN);
}

static uint8_t *madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	wr8(e, 2);		/* Type: Interrupt Source Override */
	wr8(e + 1, MADT_ISO_LEN);
	wr8(e + 2, 0);		/* Bus: ISA */
	wr8(e + 3, irq);	/* Source */
	wr32(e + 4, gsi);	/* Global System Interrupt */
	wr16(e + 8, flags);	/* MPS INTI flags */
	return e + MADT_ISO_LEN;
}

/* 5.2.12 Multiple APIC Description Table. */
static void build_madt(uint8_t *t, const struct vacpi_config *cfg, const struct vacpi_layout *l)
{
	uint8_t *e = t + MADT_FIXED_LEN;

	wr_header(t, "APIC", l->madt_len, MADT_REVISION, cfg);
	wr32(t + 36, VACPI_LAPIC_ADDRESS); /* Local Interrupt Controller Address */
	wr32(t + 40, MADT_PCAT_COMPAT);	   /* Flags: the 8259 pair is there */
	for (uint32_t i = 0; i < cfg->vcpu_count; i++, e += MADT_LAPIC_LEN) {
		wr8(e, 0); /* Type: Processor Local APIC */
		wr8(e + 1, MADT_LAPIC_LEN);
		wr8(e + 2, (uint8_t)i);	   /* ACPI Processor UID */
		wr8(e + 3, (uint8_t)i);	   /* APIC ID */
		wr32(e + 4, LAPIC_ENABLED); /* Flags */
	}
	wr8(e, 1); /* Type: I/O APIC */
	wr8(e + 1, MADT_IOAPIC_LEN);
	wr8(e + 2, cfg->ioapic_id);	       /* I/O APIC ID; @3 reserved */
	wr32(e + 4, cfg->ioapic_address);      /* I/O APIC Address */
	wr32(e + 8, cfg->ioapic_gsi_base);     /* Global System Interrupt Base */
	e += MADT_IOAPIC_LEN;
	e = madt_iso(e, 0, cfg->ioapic_gsi_base + 2, INTI_EDGE | INTI_HIGH);
	e = madt_iso(e, cfg->sci_irq, cfg->ioapic_gsi_base + cfg->sci_irq, INTI_LEVEL | INTI_HIGH);
	wr8(e, 4); /* Type: Local APIC NMI */
	wr8(e + 1, MADT_NMI_LEN);
	wr8(e + 2, 0xff);		    /* ACPI Processor UID: all processors */
	wr16(e + 3, INTI_EDGE | INTI_HIGH); /* Flags */
	wr8(e + 5, 1);			    /* Local APIC LINT#: LINT1 */
	finish(t, l->madt_len);
}

/* IA-PC HPET Specification 1.0a, 3.2.4 Table 3. */
static void build_hpet(uint8_t *t, const struct vacpi_config *cfg)
{
	wr_header(t, "HPET", VACPI_HPET_LEN, HPET_REVISION, cfg);
	wr32(t + 36, cfg->hpet_block_id);		     /* Event Timer Block ID */
	wr_gas(t + 40, GAS_MEMORY, 64, 0, cfg->hpet_base);    /* Base Address */
	wr8(t + 52, cfg->hpet_number);			     /* HPET Number */
	wr16(t + 53, cfg->hpet_min_tick);		     /* Main Counter Minimum Clock Tick */
	wr8(t + 55, 0);					     /* Page Protection: none */
	finish(t, VACPI_HPET_LEN);
}

/* 5.2.7 RSDT and 5.2.8 XSDT: the FADT first (by convention), then the MADT and the HPET. */
static void build_root(uint8_t *t, const char *sig, uint32_t len, uint32_t width, const struct vacpi_config *cfg,
		       const struct vacpi_layout *l)
{
	uint64_t entries[3] = { l->fadt, l->madt, l->hpet };
	uint32_t n = (len - VACPI_HDR_LEN) / width;

	wr_header(t, sig, len, width == 8 ? XSDT_REVISION : RSDT_REVISION, cfg);
	for (uint32_t i = 0; i < n; i++) {
		if (width == 8)
			wr64(t + VACPI_HDR_LEN + 8 * i, entries[i]);
		else
			wr32(t + VACPI_HDR_LEN + 4 * i, (uint32_t)entries[i]);
	}
	finish(t, len);
}

int vacpi_build(const struct vacpi_config *cfg, uint8_t *buf, size_t size, uint64_t buf_gpa,
		struct vacpi_layout *out)
{
	struct vacpi_layout l;

	if (!cfg || !out || (!buf && size) || !config_valid(cfg))
		return VACPI_E_INVAL;
	int rc = plan(cfg, buf_gpa, &l);
	if (rc)
		return rc;
	*out = l;
	if (size < l.size)
		return VACPI_E_NOSPACE;

	memset(buf, 0, l.size);
	build_facs(buf + l.facs_offset);
	build_dsdt(buf + l.dsdt_offset, cfg, &l);
	build_fadt(buf + l.fadt_offset, cfg, &l);
	build_madt(buf + l.madt_offset, cfg, &l);
	if (cfg->hpet_present)
		build_hpet(buf + l.hpet_offset, cfg);
	build_root(buf + l.rsdt_offset, "RSDT", l.rsdt_len, 4, cfg, &l);
	build_root(buf + l.xsdt_offset, "XSDT", l.xsdt_len, 8, cfg, &l);
	build_rsdp(buf + l.rsdp_offset, cfg, &l);
	return VACPI_OK;
}
