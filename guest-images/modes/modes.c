/* Paging-mode transitions: protected mode as entered -> 32-bit paging -> PAE -> IA-32e (64-bit
 * code runs and prints) -> back to protected mode. At each step CR0/CR4/EFER read back as written
 * and a second mapping of the same memory (an alias) proves the page tables are really in use. */
#include "cpu.h"
#include "guest.h"
#include "long_mode.h"
#include "msr.h"
#include "paging.h"

/* Each mode maps an alias of physical 0..2 MiB at this linear address (IA-32e: ALIAS_LINEAR_64). */
#define ALIAS_LINEAR 0x40000000u

const char guest_name[] = "modes";

/* Written through the alias, read directly: below 2 MiB, so every alias covers it. */
static volatile uint32_t alias_probe;

/* What the 64-bit code (long_mode_test.S) reports. */
struct long_mode_report {
	uint64_t cr0, cr4, efer;
	uint64_t wide;            /* result of 64-bit arithmetic */
	uint64_t alias_probe_ptr; /* in: where alias_probe is visible above 4 GiB */
} __attribute__((packed));

uint64_t long_mode_test(uint32_t report);

static void check_regs(const char *mode, uint32_t cr0_set, uint32_t cr0_clear, uint32_t cr4_set,
		       uint32_t cr4_clear, uint64_t efer_set, uint64_t efer_clear)
{
	uint32_t cr0 = read_cr0(), cr4 = read_cr4();
	uint64_t efer = rdmsr(MSR_EFER);

	check((cr0 & cr0_set) == cr0_set && !(cr0 & cr0_clear), "%s: CR0 %x", mode, cr0);
	check((cr4 & cr4_set) == cr4_set && !(cr4 & cr4_clear), "%s: CR4 %x", mode, cr4);
	check((efer & efer_set) == efer_set && !(efer & efer_clear), "%s: EFER %llx", mode, efer);
	printf("modes: %s: cr0=%x cr4=%x efer=%llx\n", mode, cr0, cr4, efer);
}

static void check_alias(const char *mode, uint32_t value)
{
	*(volatile uint32_t *)(ALIAS_LINEAR + (uint32_t)&alias_probe) = value;
	check(alias_probe == value, "%s: write through the alias not seen (%x)", mode, alias_probe);
}

static void check_paging32(void)
{
	static struct paging32 t;
	uint32_t cr3 = paging32_identity(&t);

	t.pd[ALIAS_LINEAR >> 22] = 0 | PTE_PS | PTE_RW | PTE_P;
	paging_enable(cr3, CR4_PSE);
	check(read_cr3() == cr3, "32-bit paging: CR3 %x, wrote %x", read_cr3(), cr3);
	check_regs("32-bit paging", CR0_PE | CR0_PG, 0, CR4_PSE, CR4_PAE, 0, EFER_LME | EFER_LMA);
	check_alias("32-bit paging", 0x32323232);
	paging_disable();
	check_regs("protected mode again", CR0_PE, CR0_PG, 0, CR4_PSE | CR4_PAE, 0, EFER_LME | EFER_LMA);
}

static void check_pae(void)
{
	static struct paging_pae t;
	uint32_t cr3 = paging_pae_identity(&t);

	t.pd[ALIAS_LINEAR >> 30][0] = 0 | PTE_PS | PTE_RW | PTE_P;
	paging_enable(cr3, CR4_PAE);
	check(read_cr3() == cr3, "PAE paging: CR3 %x, wrote %x", read_cr3(), cr3);
	check_regs("PAE paging", CR0_PE | CR0_PG, 0, CR4_PAE, 0, 0, EFER_LME | EFER_LMA);
	check_alias("PAE paging", 0xaeaeaeae);
	paging_disable();
}

/* Above 4 GiB, a linear address only IA-32e paging can reach: PML4 entry 1 -> alias_pdpt. */
#define ALIAS_LINEAR_64 0x8000000000ull

static void check_long_mode(void)
{
	static struct paging_pae t;
	static uint64_t alias_pdpt[512] __attribute__((aligned(PAGE_SIZE)));
	static uint64_t alias_pd[512] __attribute__((aligned(PAGE_SIZE)));
	static struct long_mode_report report;

	uint32_t cr3 = paging_4level_identity(&t);
	alias_pd[0] = 0 | PTE_PS | PTE_RW | PTE_P;
	alias_pdpt[0] = (uint32_t)alias_pd | PTE_RW | PTE_P;
	t.pml4[ALIAS_LINEAR_64 >> 39] = (uint32_t)alias_pdpt | PTE_RW | PTE_P;
	report.alias_probe_ptr = ALIAS_LINEAR_64 + (uint32_t)&alias_probe;

	long_mode_enter(cr3);
	/* Compatibility mode: this is still 32-bit code, but EFER.LMA is set. */
	uint64_t efer = rdmsr(MSR_EFER);
	uint64_t status = call64(long_mode_test, (uint32_t)&report);
	long_mode_exit();

	check((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "compatibility mode: EFER %llx", efer);
	check(status == 0x64, "64-bit code returned %llx", status);
	check(report.wide == 0x1032547698badcfeull, "64-bit arithmetic gave %llx", report.wide);
	check(report.cr0 & CR0_PG && report.cr4 & CR4_PAE, "64-bit mode: CR0 %llx CR4 %llx", report.cr0,
	      report.cr4);
	check((report.efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "64-bit mode: EFER %llx",
	      report.efer);
	check(alias_probe == 0x64646464, "64-bit mode: write through the alias not seen (%x)", alias_probe);
	printf("modes: 64-bit mode: cr0=%llx cr4=%llx efer=%llx\n", report.cr0, report.cr4, report.efer);
	check_regs("protected mode after IA-32e", CR0_PE, CR0_PG, 0, CR4_PAE, 0, EFER_LME | EFER_LMA);
}

void test_main(void)
{
	check(cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_LM, "no long mode");
	check_regs("protected mode", CR0_PE, CR0_PG, 0, CR4_PSE | CR4_PAE, 0, EFER_LME | EFER_LMA);
	check_paging32();
	check_pae();
	check_long_mode();
}
