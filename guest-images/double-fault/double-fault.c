/* A double fault delivered to the guest's #DF handler. The first exception's IDT gate is not
 * present, so delivering it raises #NP, and a #NP while delivering a #PF (`first=pf`, the default)
 * or a #DE (`first=de`) is a double fault (SDM vol. 3 table 6-5). */
#include "cmdline.h"
#include "cpu.h"
#include "guest.h"
#include "paging.h"
#include "trap.h"

#define NOT_PRESENT_LINEAR 0x80000000u

const char guest_name[] = "double-fault";

/* #DF is an abort: its saved EIP is undefined, so the guest ends here. */
static void double_fault(struct trap_frame *frame)
{
	check(frame->error_code == 0, "#DF error code %x, expected 0", frame->error_code);
	printf("double-fault: #DF delivered\n");
	pass();
}

static void page_fault_first(void)
{
	static struct paging32 tables;

	uint32_t cr3 = paging32_identity(&tables);
	tables.pd[NOT_PRESENT_LINEAR >> 22] = 0;
	paging_enable(cr3, CR4_PSE);
	idt_mark_not_present(VEC_PF);
	(void)*(volatile uint32_t *)NOT_PRESENT_LINEAR;
}

static void divide_error_first(void)
{
	uint32_t eax = 1, edx = 0;

	idt_mark_not_present(VEC_DE);
	__asm__ volatile("divl %2" : "+a"(eax), "+d"(edx) : "r"(0));
}

void test_main(void)
{
	char first[4] = "pf";

	cmdline_value("first", first, sizeof(first));
	trap_set_handler(VEC_DF, double_fault);
	if (first[0] == 'd' && first[1] == 'e')
		divide_error_first();
	else
		page_fault_first();
	fail("no #DF after the first exception");
}
