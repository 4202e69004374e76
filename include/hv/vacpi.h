/*
 * A VM's ACPI tables (ACPI 6.5 chapter 5), generated into a caller's buffer: pure logic, no
 * hardware access, no allocation. The core builds them once per VM into a host buffer, copies that
 * buffer into guest memory at buf_gpa, and tells the guest where the RSDP is (see "Exposing the
 * tables" below).
 *
 * Tables (every one 16-byte aligned in guest-physical space, the FACS 64-byte aligned, all
 * checksums and the RSDP's extended checksum correct), in buffer order:
 *   RSDP  revision 2, 36 bytes: RSDT (32-bit) and XSDT (64-bit) addresses, for old and new guests
 *   FACS  64 bytes, version 2, no S4BIOS, no waking vector (hv has no S3), reached from the FADT
 *   DSDT  revision 2, header + the AML of Name (\_S0, Package () {0, 0, 0, 0}) and
 *         Name (\_S5, Package () {5, 5, 0, 0}) (VACPI_DSDT_AML)
 *   FADT  revision 6.5 layout, 276 bytes: DSDT/X_DSDT, FIRMWARE_CTRL/X_FIRMWARE_CTRL, PM1a event
 *         block (pm_base, 4 bytes), PM1a control block (pm_base + 4, 2 bytes), PM timer
 *         (pm_base + 8, 4 bytes, TMR_VAL_EXT when 32-bit), both as 32-bit ports and X_ GAS; no
 *         GPE block; SCI_INT; SMI_CMD = 0 (the platform is always in ACPI mode, so the guest never
 *         writes ACPI_ENABLE); RESET_REG (I/O port, byte) + RESET_VALUE; CENTURY; IAPC_BOOT_ARCH
 *   MADT  revision 6: local APIC address 0xfee00000, PCAT_COMPAT; one enabled Processor Local APIC
 *         per vcpu (UID = APIC ID = vcpu index); one IOAPIC; ISOs ISA IRQ0 -> GSI base + 2 (edge,
 *         active high) and SCI IRQ -> GSI base + IRQ (level, active high); Local APIC NMI on LINT1
 *         of every processor (UID 0xff, edge, active high)
 *   HPET  56 bytes (only when hpet_present): block id, 64-bit system-memory GAS, number, min tick
 *   RSDT  FADT, MADT[, HPET] as 32-bit addresses
 *   XSDT  the same as 64-bit addresses
 *
 * Exposing the tables (what the core does):
 *   - copy the whole buffer to guest memory at buf_gpa and mark [buf_gpa, buf_gpa + size) as ACPI
 *     reclaimable (e820 type 3, "ACPI") in the guest's memory map; a page-aligned region at the top
 *     of guest RAM below 4 GiB is the usual place. All addresses must stay below 4 GiB (the RSDT,
 *     RSDP and FADT carry 32-bit copies), which vacpi_build checks.
 *   - copy the 36 RSDP bytes (layout.rsdp_offset) to a 16-byte boundary in the BIOS read-only area
 *     0xe0000-0xfffff (e.g. VACPI_RSDP_BIOS_GPA) for guests that scan for "RSD PTR " (ACPI 6.5
 *     5.2.5.1); that area is e820 reserved. The RSDP's content does not depend on where it lies.
 *   - also hand layout.rsdp to boot protocols that carry it (Linux boot_params.acpi_rsdp_addr,
 *     Multiboot2 ACPI tags).
 *   - emulate what the tables promise: PM1a_EVT (PM1_STS at pm_base, PM1_EN at pm_base + 2, 16-bit),
 *     PM1a_CNT (16-bit at pm_base + 4: SCI_EN reads 1; a write with SLP_EN set and
 *     SLP_TYP = VACPI_S5_SLP_TYP powers the VM off; Linux first writes SLP_TYP alone, then with
 *     SLP_EN), the PM timer, and a byte write of reset_value to reset_port resetting the VM.
 */
#ifndef HV_VACPI_H
#define HV_VACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes of vacpi_build. */
#define VACPI_OK 0
#define VACPI_E_INVAL (-1)   /* NULL argument or a configuration value out of range */
#define VACPI_E_NOSPACE (-2) /* buffer smaller than layout.size (which is then filled in) */
#define VACPI_E_RANGE (-3)   /* tables would not lie entirely below 4 GiB */

#define VACPI_MAX_VCPUS 255u /* xAPIC ids 0..254 (0xff is the broadcast/invalid id) */

/* Sizes of the fixed tables. */
#define VACPI_RSDP_LEN 36
#define VACPI_FACS_LEN 64
#define VACPI_FADT_LEN 276
#define VACPI_HPET_LEN 56
#define VACPI_HDR_LEN 36

/* Where PC firmware leaves the RSDP for a legacy scan (ACPI 6.5 5.2.5.1): 16-byte aligned in
 * 0xe0000-0xfffff. A suggested spot: the core may choose any 16-byte boundary there. */
#define VACPI_BIOS_AREA_START 0xe0000ull
#define VACPI_BIOS_AREA_END 0x100000ull
#define VACPI_RSDP_BIOS_GPA 0xe0000ull

/* hv's platform (kernel/vmm/vplatform.c), as vacpi_default_config fills it in. */
#define VACPI_LAPIC_ADDRESS 0xfee00000u
#define VACPI_IOAPIC_ADDRESS 0xfec00000u /* VIOAPIC_BASE */
#define VACPI_HPET_ADDRESS 0xfed00000ull /* VHPET_BASE */
#define VACPI_HPET_BLOCK_ID 0x8086a201u	 /* VHPET_BLOCK_ID */
#define VACPI_HPET_MIN_TICK 10000u	 /* VHPET_MIN_TICK */
#define VACPI_PM_BASE 0x600u		 /* VPLATFORM_PM_BASE */
#define VACPI_SCI_IRQ 9u		 /* ISA IRQ 9, level, active high (as QEMU's PIIX4/ICH9) */
#define VACPI_CENTURY 0x32u		 /* VRTC_CENTURY_INDEX */
/* RESET_REG: the PC reset control register at I/O port 0xcf9 (PIIX4/ICH "RST_CNT"); 0x06 =
 * SYS_RST | RST_CPU, a hard reset, as QEMU's FADT says. Linux tries it first when rebooting
 * (reboot=acpi is its default), before the keyboard controller (port 0x64 <- 0xfe). */
#define VACPI_RESET_PORT 0xcf9u
#define VACPI_RESET_VALUE 0x06u

/* PM block layout relative to pm_base (ACPI 6.5 4.8.3). */
#define VACPI_PM1_EVT_OFF 0	/* PM1a_EVT_BLK: PM1_STS (16-bit) then PM1_EN (16-bit) */
#define VACPI_PM1_EVT_LEN 4
#define VACPI_PM1_CNT_OFF 4	/* PM1a_CNT_BLK: PM1_CNT (16-bit) */
#define VACPI_PM1_CNT_LEN 2
#define VACPI_PM_TMR_OFF 8	/* PM_TMR_BLK: 24/32-bit timer */
#define VACPI_PM_TMR_LEN 4
#define VACPI_PM_BLOCK_LEN 12	/* pm_base .. pm_base + 11 */

/* PM1_CNT bits (ACPI 6.5 4.8.4.2.1) and the sleep type the DSDT's \_S5 names. */
#define VACPI_PM1_SCI_EN (1u << 0)
#define VACPI_PM1_SLP_TYP_SHIFT 10
#define VACPI_PM1_SLP_TYP_MASK (7u << 10)
#define VACPI_PM1_SLP_EN (1u << 13)
#define VACPI_S5_SLP_TYP 5u /* soft off: PM1a_CNT <- (5 << 10) | SLP_EN = 0x3400 */

/* IA-PC boot architecture flags (ACPI 6.5 5.2.9.3). The default is LEGACY_DEVICES (ISA devices:
 * RTC, PIT, 8259s, COM1) | VGA_NOT_PRESENT (serial console only). 8042 is left clear: hv models no
 * keyboard controller, so a guest must not probe one (Linux then skips its i8042 driver); its
 * reset write to port 0x64 is independent of this flag. MSI_NOT_SUPPORTED is left clear: the
 * platform delivers MSIs (there is no PCI device yet to use them). */
#define VACPI_BOOT_LEGACY_DEVICES (1u << 0)
#define VACPI_BOOT_8042 (1u << 1)
#define VACPI_BOOT_VGA_NOT_PRESENT (1u << 2)
#define VACPI_BOOT_MSI_NOT_SUPPORTED (1u << 3)
#define VACPI_BOOT_PCIE_ASPM_CONTROLS (1u << 4)
#define VACPI_BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

/* FADT Flags (ACPI 6.5 5.2.9, Table 5.10). vacpi_build always sets WBINVD (WBINVD flushes caches
 * correctly), PROC_C1 (HLT works on every vcpu), PWR_BUTTON and SLP_BUTTON (no fixed-feature
 * buttons, none in the DSDT either) and FIX_RTC (no RTC wake status in PM1); it adds TMR_VAL_EXT
 * for a 32-bit PM timer and RESET_REG_SUP when a reset port is given. */
#define VACPI_FADT_WBINVD (1u << 0)
#define VACPI_FADT_PROC_C1 (1u << 2)
#define VACPI_FADT_PWR_BUTTON (1u << 4)
#define VACPI_FADT_SLP_BUTTON (1u << 5)
#define VACPI_FADT_FIX_RTC (1u << 6)
#define VACPI_FADT_TMR_VAL_EXT (1u << 8)
#define VACPI_FADT_RESET_REG_SUP (1u << 10)
#define VACPI_FADT_FIXED_FLAGS \
	(VACPI_FADT_WBINVD | VACPI_FADT_PROC_C1 | VACPI_FADT_PWR_BUTTON | VACPI_FADT_SLP_BUTTON | VACPI_FADT_FIX_RTC)

/*
 * The DSDT body, AML written by hand (ACPI 6.5 20.2; byte-identical to what iasl 20200925 makes of
 * the same ASL): at the root scope,
 *   Name (_S0, Package (0x04) {0, 0, 0, 0})  S0, working: the SLP_TYP ACPICA writes when waking
 *   Name (_S5, Package (0x04) {5, 5, 0, 0})  S5, soft off
 * each being
 *   08           NameOp
 *   5F 53 3x 5F  NameSeg "_S0_" / "_S5_"
 *   12           PackageOp
 *   06 / 08      PkgLength: bytes from this one to the package's end (itself, NumElements and
 *                the elements: 4 x ZeroOp = 4 bytes, or 2 x BytePrefix 5 + 2 x ZeroOp = 6 bytes)
 *   04           NumElements
 *   00 00 00 00  ZeroOp x 4                                       (\_S0)
 *   0A 05 0A 05  BytePrefix 5: PM1a_CNT.SLP_TYP, PM1b_CNT.SLP_TYP  (\_S5; no PM1b block: same value
 *   00 00        ZeroOp x 2: reserved                               by convention)
 */
#define VACPI_DSDT_AML                                                                                 \
	{ 0x08, 0x5f, 0x53, 0x30, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, /* _S0 */             \
	  0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08, 0x04, 0x0a, VACPI_S5_SLP_TYP, 0x0a, VACPI_S5_SLP_TYP, \
	  0x00, 0x00 /* _S5 */ }
#define VACPI_DSDT_AML_LEN 26

struct vacpi_config {
	uint32_t vcpu_count; /* 1..VACPI_MAX_VCPUS; APIC ID = ACPI UID = vcpu index */

	uint8_t ioapic_id;	  /* hv: the vcpu count */
	uint32_t ioapic_address;  /* VACPI_IOAPIC_ADDRESS */
	uint32_t ioapic_gsi_base; /* 0: ISA IRQ n is GSI n, but IRQ0 is GSI 2 */

	bool hpet_present;
	uint64_t hpet_base;	/* VACPI_HPET_ADDRESS */
	uint32_t hpet_block_id; /* the HPET's GCAP_ID[31:0] */
	uint16_t hpet_min_tick; /* main-counter ticks, periodic mode */
	uint8_t hpet_number;	/* HPET sequence number */

	uint16_t pm_base;     /* PM1a_EVT at +0, PM1a_CNT at +4, PM_TMR at +8; non-zero, below 0xfff4 */
	bool pm_timer_32bit;  /* TMR_VAL_EXT */
	uint8_t sci_irq;      /* ISA IRQ 1..15 other than 0 and 2 */
	uint16_t reset_port;  /* 0: no RESET_REG (RESET_REG_SUP clear) */
	uint8_t reset_value;
	uint8_t century;      /* RTC CMOS index of the century byte, 0 = none */
	uint16_t iapc_boot_arch; /* VACPI_BOOT_* */

	char oem_id[7];	       /* NUL-terminated, up to 6 characters, padded with spaces */
	char oem_table_id[9];  /* NUL-terminated, up to 8 characters, padded with spaces */
	uint32_t oem_revision;
};

/* Guest-physical address (and offset in the buffer) of everything vacpi_build wrote. */
struct vacpi_layout {
	uint64_t rsdp, facs, dsdt, fadt, madt, hpet, rsdt, xsdt; /* gpa; hpet = 0 when absent */
	size_t rsdp_offset, facs_offset, dsdt_offset, fadt_offset, madt_offset, hpet_offset, rsdt_offset,
		xsdt_offset;
	uint32_t dsdt_len, madt_len, rsdt_len, xsdt_len;
	size_t size; /* bytes of the buffer used (also set on VACPI_E_NOSPACE: the size needed) */
};

/* hv's platform for a VM of vcpu_count vcpus (the VACPI_* values above, HPET present, 32-bit PM
 * timer, IOAPIC id = vcpu_count, OEM "HV" / "HVVM"). */
void vacpi_default_config(struct vacpi_config *cfg, uint32_t vcpu_count);

/*
 * Writes the tables for cfg into buf[0, size) as they must appear at guest-physical buf_gpa (any
 * address; padding keeps the tables aligned in guest-physical space). On success returns VACPI_OK
 * and fills *out; unused padding bytes are zero. On error returns a negative VACPI_E_* and leaves
 * buf untouched; with VACPI_E_NOSPACE, out->size (and the rest of *out) says what would have been
 * used. buf may be NULL when size is 0 (a size query).
 */
int vacpi_build(const struct vacpi_config *cfg, uint8_t *buf, size_t size, uint64_t buf_gpa,
		struct vacpi_layout *out);

#endif
