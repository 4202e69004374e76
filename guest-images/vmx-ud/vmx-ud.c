/* Virtualization instructions raise #UD in a guest: VMX instructions because CPUID offers no VMX
 * and the guest never entered VMX operation, SVM instructions because EFER.SVME is clear, VMCALL
 * and VMMCALL because nothing intercepts them for the guest. All of that is architectural, so it
 * holds natively too; `expect-hv` adds that VMX and SVM are hidden and cannot be switched on. */
#include "cpu.h"
#include "guest.h"
#include "msr.h"
#include "trap.h"

const char guest_name[] = "vmx-ud";

/* An operand for instructions that take a physical/linear region, in case one did execute. */
static uint8_t region[4096] __attribute__((aligned(4096)));

struct probe {
	const char *name;
	void (*run)(void);
};

#define PROBE(fn, asm_text)                                                                                  \
	static void fn(void)                                                                                 \
	{                                                                                                    \
		__asm__ volatile(TRAPPABLE(asm_text)::"a"(region), "b"(0), "c"(0) : "memory");               \
	}

PROBE(do_vmxon, "vmxon (%%eax)")
PROBE(do_vmxoff, "vmxoff")
PROBE(do_vmclear, "vmclear (%%eax)")
PROBE(do_vmptrld, "vmptrld (%%eax)")
PROBE(do_vmptrst, "vmptrst (%%eax)")
PROBE(do_vmread, "vmread %%ebx, %%ecx")
PROBE(do_vmwrite, "vmwrite %%ebx, %%ecx")
PROBE(do_vmlaunch, "vmlaunch")
PROBE(do_vmresume, "vmresume")
PROBE(do_vmcall, "vmcall")
PROBE(do_invept, "invept (%%eax), %%ebx")
PROBE(do_invvpid, "invvpid (%%eax), %%ebx")
PROBE(do_vmfunc, "vmfunc")
PROBE(do_vmmcall, "vmmcall")
PROBE(do_vmrun, "vmrun %%eax")
PROBE(do_vmload, "vmload %%eax")
PROBE(do_vmsave, "vmsave %%eax")
PROBE(do_clgi, "clgi")
PROBE(do_invlpga, "invlpga %%eax, %%ecx")
PROBE(do_stgi, "stgi")
PROBE(do_skinit, "skinit %%eax")

static const struct probe vmx_probes[] = {
	{ "vmxon", do_vmxon },     { "vmxoff", do_vmxoff },     { "vmclear", do_vmclear },
	{ "vmptrld", do_vmptrld }, { "vmptrst", do_vmptrst },   { "vmread", do_vmread },
	{ "vmwrite", do_vmwrite }, { "vmlaunch", do_vmlaunch }, { "vmresume", do_vmresume },
	{ "invept", do_invept },   { "invvpid", do_invvpid },   { "vmfunc", do_vmfunc },
};

/* #UD with EFER.SVME=0 (AMD APM vol. 3). */
static const struct probe svm_probes[] = {
	{ "vmrun", do_vmrun }, { "vmload", do_vmload },   { "vmsave", do_vmsave },
	{ "clgi", do_clgi },   { "invlpga", do_invlpga },
};

/* With SKINIT in CPUID these run even with EFER.SVME=0. */
static const struct probe skinit_probes[] = {
	{ "stgi", do_stgi },
	{ "skinit", do_skinit },
};

/* Not intercepted, hence #UD, in any guest of a hypervisor that offers no hypercalls through them. */
static const struct probe call_probes[] = {
	{ "vmcall", do_vmcall },
	{ "vmmcall", do_vmmcall },
};

static void expect_ud(const struct probe *probes, unsigned count)
{
	struct trap_record r;

	for (unsigned i = 0; i < count; i++) {
		probes[i].run();
		trap_end(&r);
		check(r.vector == VEC_UD, "%s: vector %d, expected #UD", probes[i].name, r.vector);
		check(r.eip == r.guarded_eip, "%s: #UD saved EIP %x, expected %x", probes[i].name, r.eip,
		      r.guarded_eip);
	}
}

#define EXPECT_UD(probes) expect_ud(probes, sizeof(probes) / sizeof(probes[0]))

/* CR4.VMXE is reserved without VMX, EFER.SVME without SVM: setting them raises #GP. */
static void check_cannot_enable(void)
{
	uint32_t cr4 = read_cr4();

	__asm__ volatile(TRAPPABLE("mov %0, %%cr4")::"r"(cr4 | CR4_VMXE) : "memory");
	check(trap_end(0) == VEC_GP, "setting CR4.VMXE without VMX did not raise #GP");
	check(!(read_cr4() & CR4_VMXE), "CR4.VMXE set without VMX");
	check(wrmsr_safe(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME) == VEC_GP,
	      "setting EFER.SVME without SVM did not raise #GP");
	check(!(rdmsr(MSR_EFER) & EFER_SVME), "EFER.SVME set without SVM");
}

void test_main(void)
{
	bool vmx = cpuid(1, 0).ecx & CPUID_1_ECX_VMX;
	uint32_t ext_ecx = cpuid(0x80000001, 0).ecx;
	bool svm = ext_ecx & CPUID_80000001_ECX_SVM;

	check(!(rdmsr(MSR_EFER) & EFER_SVME), "EFER.SVME set at boot");
	if (expect_hv()) {
		check(!vmx && !svm, "CPUID offers VMX=%d SVM=%d", vmx, svm);
		/* QEMU 7.2 TCG loops on a reserved CR4 bit instead of raising #GP: only under hv. */
		check_cannot_enable();
	}
	EXPECT_UD(vmx_probes);
	EXPECT_UD(svm_probes);
	if (!(ext_ecx & CPUID_80000001_ECX_SKINIT))
		EXPECT_UD(skinit_probes);
	EXPECT_UD(call_probes);
	printf("vmx-ud: VMX, SVM, VMCALL and VMMCALL instructions raise #UD\n");
}
