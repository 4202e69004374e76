/* Exceptions and software interrupts reach the guest's own IDT with the right vector, error code,
 * saved EIP (the faulting instruction for faults, the next one for traps) and CR2, and execution
 * continues afterwards. */
#include "cpu.h"
#include "guest.h"
#include "paging.h"
#include "segments.h"
#include "trap.h"

#define VEC_SOFTWARE 0x80 /* INT n to a vector the CPU never raises itself */
#define VEC_SERVICE 0x81  /* INT n whose handler returns a result in EAX */

/* Linear 4 MiB pages for the #PF checks: one not present, one read-only. */
#define NOT_PRESENT_LINEAR 0x80000000u
#define READ_ONLY_LINEAR 0x80400000u

#define SEL_BEYOND_GDT 0x1000

const char guest_name[] = "exceptions";

static void expect(const char *what, const struct trap_record *r, int vector, uint32_t error_code,
		   bool is_trap)
{
	uint32_t eip = is_trap ? r->resume_eip : r->guarded_eip;

	check(r->vector == vector, "%s: vector %d, expected %d", what, r->vector, vector);
	check(r->error_code == error_code, "%s: error code %x, expected %x", what, r->error_code, error_code);
	check(r->eip == eip, "%s: saved EIP %x, expected %x", what, r->eip, eip);
	printf("exceptions: %s -> vector %d error %x\n", what, vector, error_code);
}

/* Runs one guarded asm statement and records its outcome in *r. */
#define RUN(r, code, ...)                                                                                    \
	do {                                                                                                 \
		__asm__ volatile(TRAPPABLE(code) __VA_ARGS__);                                               \
		trap_end(r);                                                                                 \
	} while (0)

static void check_divide_error(void)
{
	struct trap_record o;
	uint32_t eax = 1, edx = 0;

	RUN(&o, "divl %2", : "+a"(eax), "+d"(edx) : "r"(0) : "memory");
	expect("div by zero", &o, VEC_DE, 0, false);
}

static void check_single_step(void)
{
	struct trap_record o;

	write_dr6(0);
	RUN(&o, "pushfl\n\torl $0x100, (%%esp)\n\tpopfl\n\tnop", ::: "memory");
	expect("single step", &o, VEC_DB, 0, true);
	check(read_dr6() & DR6_BS, "single step: DR6 %x lacks BS", read_dr6());
}

static void check_traps(void)
{
	struct trap_record o;

	RUN(&o, "int3", ::: "memory");
	expect("int3", &o, VEC_BP, 0, true);
	RUN(&o, "movl $0x7fffffff, %%eax\n\taddl $1, %%eax\n\tinto", ::: "eax", "memory");
	expect("into with OF", &o, VEC_OF, 0, true);
	RUN(&o, "int $0x80", ::: "memory");
	expect("int 0x80", &o, VEC_SOFTWARE, 0, true);
}

static void check_invalid_opcode(void)
{
	struct trap_record o;

	RUN(&o, "ud2", ::: "memory");
	expect("ud2", &o, VEC_UD, 0, false);
}

/* Segment loads fault before DS changes. */
static void check_segment_faults(void)
{
	struct trap_record o;

	RUN(&o, "movw %w0, %%ds", ::"r"(SEL_BEYOND_GDT) : "memory");
	expect("load selector beyond the GDT", &o, VEC_GP, SEL_BEYOND_GDT, false);
	RUN(&o, "movw %w0, %%ds", ::"r"(SEL_NOT_PRESENT) : "memory");
	expect("load not-present segment", &o, VEC_NP, SEL_NOT_PRESENT, false);
}

static void check_page_faults(void)
{
	static struct paging32 tables;
	struct trap_record o;
	uint32_t v = 0;

	uint32_t cr3 = paging32_identity(&tables);
	tables.pd[NOT_PRESENT_LINEAR >> 22] = 0;
	tables.pd[READ_ONLY_LINEAR >> 22] = PTE_PS | PTE_P;
	write_cr0(read_cr0() | CR0_WP);
	paging_enable(cr3, CR4_PSE);

	RUN(&o, "movl (%1), %0", : "=r"(v) : "r"(NOT_PRESENT_LINEAR + 0x123) : "memory");
	expect("read not-present page", &o, VEC_PF, 0, false);
	check(o.cr2 == NOT_PRESENT_LINEAR + 0x123, "read #PF: CR2 %x", o.cr2);

	RUN(&o, "movl %0, (%1)", ::"r"(v), "r"(NOT_PRESENT_LINEAR + 0x456) : "memory");
	expect("write not-present page", &o, VEC_PF, PF_W, false);
	check(o.cr2 == NOT_PRESENT_LINEAR + 0x456, "write #PF: CR2 %x", o.cr2);

	RUN(&o, "movl %0, (%1)", ::"r"(v), "r"(READ_ONLY_LINEAR + 0x789) : "memory");
	expect("write read-only page", &o, VEC_PF, PF_W | PF_P, false);
	check(o.cr2 == READ_ONLY_LINEAR + 0x789, "write-protect #PF: CR2 %x", o.cr2);

	paging_disable();
	write_cr0(read_cr0() & ~CR0_WP);
}

/* A handler that acts like a system call: EAX = EBX * 2, visible to the interrupted code. */
static void double_ebx(struct trap_frame *frame) { frame->eax = frame->ebx * 2; }

static void check_int_n_handler(void)
{
	uint32_t eax = 0;

	trap_set_handler(VEC_SERVICE, double_ebx);
	__asm__ volatile("int $0x81" : "=a"(eax) : "b"(21) : "memory");
	check(eax == 42, "int 0x81 handler: eax %u, expected 42", eax);
}

void test_main(void)
{
	check_divide_error();
	check_single_step();
	check_traps();
	check_invalid_opcode();
	check_segment_faults();
	check_page_faults();
	check_int_n_handler();
}
