/* Entering and leaving IA-32e mode (SDM vol. 3 9.8.5 and 9.8.5.4). */
#include "long_mode.h"
#include "cpu.h"
#include "msr.h"
#include "paging.h"

void long_mode_enter(uint32_t cr3)
{
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3(cr3);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_LME);
	write_cr0(read_cr0() | CR0_PG);
}

void long_mode_exit(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_LME);
	write_cr4(read_cr4() & ~CR4_PAE);
}
