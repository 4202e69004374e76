/*
 * ACPI table parser: pure logic, no hardware access. Shared by the kernel (which maps tables through
 * its direct map) and host unit tests (which serve a buffer). Layouts follow ACPI 6.5 chapter 5.
 *
 * acpi_parse() validates the RSDP, the XSDT (preferred) or RSDT, and the MADT, FADT and HPET tables
 * (signature, sane length, checksum) before reading them, reads every field bounded by the table's
 * length, and copies what hv needs into struct acpi_info. It keeps no pointer into the tables.
 */
#ifndef HV_ACPI_H
#define HV_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed maxima: entries past these are counted in the matching *_dropped field, never overflowed. */
#define ACPI_MAX_CPUS 256
#define ACPI_MAX_IOAPICS 16
#define ACPI_MAX_ISOS 32
#define ACPI_MAX_NMI_SOURCES 16
#define ACPI_MAX_LAPIC_NMIS 64
#define ACPI_MAX_TABLES 64
#define ACPI_MSG_MAX 192
#define ACPI_TABLE_MAX_LEN (1u << 20) /* a longer table is taken as corrupt */

/* Return codes of acpi_parse (0 = success). */
#define ACPI_OK 0
#define ACPI_E_INVAL (-1)     /* NULL argument or no map callback */
#define ACPI_E_RSDP (-2)      /* RSDP missing, bad signature, checksum, length */
#define ACPI_E_MAP (-3)       /* map() returned NULL, or an address + length overflows */
#define ACPI_E_SIGNATURE (-4) /* RSDT/XSDT does not carry its signature */
#define ACPI_E_LENGTH (-5)    /* table length below its header/minimum or above ACPI_TABLE_MAX_LEN */
#define ACPI_E_CHECKSUM (-6)  /* table bytes do not sum to 0 */
#define ACPI_E_NO_MADT (-7)   /* root table lists no MADT ("APIC") */
#define ACPI_E_MADT (-8)      /* malformed MADT entry, or no usable CPU */

/* ACPI 6.5 5.2.3.2 Generic Address Structure. */
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1
#define ACPI_GAS_PCI_CONFIG 2
struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 0 undefined, 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;    /* 0 = not present */
};

/* MPS INTI flags (ACPI 6.5 5.2.12.5), used by ISOs and NMI entries. */
#define ACPI_POLARITY(flags) ((flags) & 3u)	  /* one of: */
#define ACPI_POLARITY_CONFORMS 0
#define ACPI_POLARITY_HIGH 1
#define ACPI_POLARITY_LOW 3
#define ACPI_TRIGGER(flags) (((flags) >> 2) & 3u) /* one of: */
#define ACPI_TRIGGER_CONFORMS 0
#define ACPI_TRIGGER_EDGE 1
#define ACPI_TRIGGER_LEVEL 3

/* MADT flags (5.2.12) and local APIC flags. */
#define ACPI_MADT_PCAT_COMPAT (1u << 0) /* dual 8259s present: mask them */
#define ACPI_LAPIC_ENABLED (1u << 0)
#define ACPI_LAPIC_ONLINE_CAPABLE (1u << 1)

/* FADT flags (5.2.9) and IA-PC boot architecture flags (5.2.9.3). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_TMR_VAL_EXT (1u << 8)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED_ACPI (1u << 20)
#define ACPI_BOOT_LEGACY_DEVICES (1u << 0)
#define ACPI_BOOT_8042 (1u << 1)
#define ACPI_BOOT_VGA_NOT_PRESENT (1u << 2)
#define ACPI_BOOT_MSI_NOT_SUPPORTED (1u << 3)
#define ACPI_BOOT_PCIE_ASPM_CONTROLS (1u << 4)
#define ACPI_BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

/* A processor from a MADT type 0 (local APIC) or type 9 (local x2APIC) entry. Entries that are
 * neither enabled nor online-capable, or carry the invalid id 0xff / 0xffffffff, are not listed. */
struct acpi_cpu {
	uint32_t apic_id; /* xAPIC id (type 0) or x2APIC id (type 9) */
	uint32_t uid;	  /* ACPI processor UID */
	uint32_t flags;	  /* raw ACPI_LAPIC_* flags */
	bool enabled;	  /* usable now */
	bool online_capable; /* disabled now, may be brought online later */
	bool x2apic;	     /* came from a type 9 entry */
};

struct acpi_ioapic { /* MADT type 1 */
	uint8_t id;
	uint32_t address;
	uint32_t gsi_base;
};

struct acpi_iso { /* MADT type 2: interrupt source override */
	uint8_t bus;	/* 0 = ISA */
	uint8_t source; /* bus-relative IRQ */
	uint32_t gsi;
	uint16_t flags;	  /* raw MPS INTI flags */
	bool active_low;  /* resolved: "conforms" means ISA's active high */
	bool level;	  /* resolved: "conforms" means ISA's edge */
};

struct acpi_nmi_source { /* MADT type 3 */
	uint16_t flags;
	uint32_t gsi;
};

struct acpi_lapic_nmi { /* MADT type 4 (xAPIC) or 0xA (x2APIC) */
	uint32_t uid;	/* raw UID: 0xff (type 4) / 0xffffffff (type 0xA) means every processor */
	bool all_cpus;
	bool x2apic;
	uint8_t lint; /* 0 = LINT0, 1 = LINT1 */
	uint16_t flags;
};

struct acpi_hpet { /* IA-PC HPET Specification 1.0a, 3.2.4 */
	uint32_t event_timer_block_id;
	struct acpi_gas base;
	uint8_t number;
	uint16_t min_tick;
	uint8_t page_protection;
};

struct acpi_fadt { /* ACPI 6.5 5.2.9 */
	uint8_t revision; /* header revision: 1 = ACPI 1.0 (116 bytes), 3+ = 64-bit X_ fields */
	uint8_t minor_revision; /* 0 when the table is too short to hold it */
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable;
	/* Each block: the X_ GAS when present and non-zero, else the 32-bit I/O port as an I/O GAS of
	 * the given *_LEN bytes. address 0 = absent. */
	struct acpi_gas pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt;
	struct acpi_gas pm_timer; /* absent unless PM_TMR_LEN is 4 */
	uint8_t pm_timer_bits; /* 24, or 32 with TMR_VAL_EXT; 0 when no PM timer */
	struct acpi_gas reset_reg; /* only when flags has RESET_REG_SUP, else all zero */
	uint8_t reset_value;
	bool reset_supported;
	uint16_t iapc_boot_arch; /* ACPI_BOOT_*; 0 for a revision-1 FADT, where it was reserved */
	uint32_t flags;		 /* ACPI_FADT_* */
	uint64_t dsdt;		 /* X_DSDT when present and non-zero, else DSDT */
	uint64_t firmware_ctrl;	 /* FACS: X_FIRMWARE_CTRL when present and non-zero, else FIRMWARE_CTRL */
};

/* A table the root table lists, valid or not. */
struct acpi_table {
	char signature[5]; /* NUL-terminated; non-printable bytes shown as '?' */
	bool valid;	   /* length sane, mappable and checksum 0 */
	uint32_t length;
	uint64_t phys;
};

struct acpi_info {
	/* RSDP (5.2.5.3) and root table (5.2.7 RSDT / 5.2.8 XSDT) */
	char oem_id[7];
	uint8_t rsdp_revision; /* 0 = ACPI 1.0, 2 = ACPI 2.0+ */
	bool root_is_xsdt;
	uint64_t root_phys;

	struct acpi_table tables[ACPI_MAX_TABLES]; /* in root-table order */
	uint32_t table_count, tables_dropped;

	/* MADT (5.2.12): always present after success */
	uint64_t lapic_address; /* type 5 override when present, else the 32-bit field */
	uint32_t madt_flags;	/* ACPI_MADT_PCAT_COMPAT */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	uint32_t cpu_count, cpus_dropped;
	uint32_t cpus_unusable;	 /* entries neither enabled nor online-capable, or with id 0xff */
	uint32_t cpus_duplicate; /* entries repeating an APIC id already listed (first one kept) */
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t ioapic_count, ioapics_dropped;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	uint32_t iso_count, isos_dropped;
	struct acpi_nmi_source nmi_sources[ACPI_MAX_NMI_SOURCES];
	uint32_t nmi_source_count, nmi_sources_dropped;
	struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];
	uint32_t lapic_nmi_count, lapic_nmis_dropped;
	uint32_t madt_unknown_entries; /* entry types hv does not use (GIC, RINTC, ...): skipped */

	bool has_hpet;
	struct acpi_hpet hpet;
	bool has_fadt;
	struct acpi_fadt fadt;

	/* Non-fatal findings (XSDT rejected in favour of the RSDT, an unused table with a bad checksum,
	 * a duplicate MADT...): the first one's sentence, and how many there were. */
	char warning[ACPI_MSG_MAX];
	uint32_t warning_count;
	/* On failure: one sentence naming what is missing or corrupt and where. "" on success. */
	char error[ACPI_MSG_MAX];
};

/*
 * How the parser reads physical memory: map() returns a readable pointer to len bytes at phys, or
 * NULL if that range cannot be read. Every pointer returned must stay valid until acpi_parse
 * returns (several are held at once: the root table while each listed table is read).
 */
struct acpi_access {
	const void *(*map)(uint64_t phys, uint64_t len, void *ctx);
	void *ctx;
};

/*
 * Parse the ACPI tables reached from an RSDP. rsdp/rsdp_len: a copy of the RSDP structure (20 bytes
 * for ACPI 1.0, 36 for 2.0+; see boot_info.acpi_rsdp). Fills *out (zeroed first) and returns 0, or
 * returns a negative ACPI_E_* with out->error set. A missing MADT is an error; a missing FADT or HPET
 * is not (has_fadt / has_hpet), but a present one that is corrupt is.
 */
int acpi_parse(const uint8_t *rsdp, uint32_t rsdp_len, const struct acpi_access *mem, struct acpi_info *out);

#endif
