/* SVM capability checks and EFER.SVME on each CPU (AMD APM vol. 2 15.4, 15.30; CPUID 0x8000000A). */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/percpu.h>
#include <hv/virt_firmware.h>
#include <hv/x86.h>

#include "svm.h"

#define CPUID1_ECX_PCID (1u << 17)
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID7_EBX_FSGSBASE (1u << 0)
#define CPUID7_EBX_SMEP (1u << 7)
#define CPUID7_EBX_SMAP (1u << 20)
#define CPUID7_ECX_UMIP (1u << 2)
#define CPUID7_ECX_PKU (1u << 3)
#define CPUID7_ECX_CET_SS (1u << 7)
#define CPUID7_ECX_LA57 (1u << 16)
#define CPUID_EXT1_ECX_SVM (1u << 2)
#define SVM_EDX_NP (1u << 0)
#define SVM_EDX_NRIPS (1u << 3)
#define SVM_EDX_FLUSH_BY_ASID (1u << 6)
#define SVM_EDX_DECODE_ASSISTS (1u << 7)
#define SVM_EDX_VGIF (1u << 16)

/* CR4 bits every x86-64 CPU defines: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT. */
#define CR4_BASE_BITS 0x7ffull

struct svm_caps svm_caps;
static uint64_t host_vmcbs[MAX_CPUS];

static uint64_t cr4_valid_bits(void)
{
	struct cpuid_regs l1 = cpuid(1, 0);
	struct cpuid_regs l7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0) : (struct cpuid_regs){ 0, 0, 0, 0 };
	uint64_t v = CR4_BASE_BITS;

	v |= (l7.ecx & CPUID7_ECX_UMIP) ? 1ull << 11 : 0;
	v |= (l7.ecx & CPUID7_ECX_LA57) ? 1ull << 12 : 0;
	v |= (l7.ebx & CPUID7_EBX_FSGSBASE) ? 1ull << 16 : 0;
	v |= (l1.ecx & CPUID1_ECX_PCID) ? 1ull << 17 : 0;
	v |= (l1.ecx & CPUID1_ECX_XSAVE) ? 1ull << 18 : 0;
	v |= (l7.ebx & CPUID7_EBX_SMEP) ? 1ull << 20 : 0;
	v |= (l7.ebx & CPUID7_EBX_SMAP) ? 1ull << 21 : 0;
	v |= (l7.ecx & CPUID7_ECX_PKU) ? 1ull << 22 : 0;
	v |= (l7.ecx & CPUID7_ECX_CET_SS) ? 1ull << 23 : 0;
	return v;
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

const char *svm_probe(void)
{
	uint32_t max_ext = cpuid(0x80000000, 0).eax;

	if (max_ext < 0x8000000a || !(cpuid(0x80000001, 0).ecx & CPUID_EXT1_ECX_SVM))
		return "this AMD CPU has no SVM (AMD-V)";
	struct virt_firmware_verdict fw = svm_vm_cr_verdict(rdmsr(MSR_VM_CR));
	if (fw.error)
		return fw.error;
	if (fw.write)
		pr_info("svm: the firmware left VM_CR.SVMDIS set but unlocked: hv clears it");
	struct cpuid_regs svm = cpuid(0x8000000a, 0);
	if (!(svm.edx & SVM_EDX_NP))
		return "SVM lacks nested paging (NPT)";
	if (svm.ebx < 2)
		return "SVM offers no guest ASIDs";
	svm_caps.asids = svm.ebx;
	svm_caps.nrips = svm.edx & SVM_EDX_NRIPS;
	svm_caps.decode_assists = svm.edx & SVM_EDX_DECODE_ASSISTS;
	svm_caps.flush_by_asid = svm.edx & SVM_EDX_FLUSH_BY_ASID;
	svm_caps.vgif = svm.edx & SVM_EDX_VGIF;
	svm_caps.phys_bits = max_ext >= 0x80000008 ? (uint8_t)cpuid(0x80000008, 0).eax : 36;
	svm_caps.cr4_valid = cr4_valid_bits();
	pr_info("svm: npt, asids %u, nrips %s, decode assists %s, flush by asid %s, vgif %s", svm_caps.asids,
		yes_no(svm_caps.nrips), yes_no(svm_caps.decode_assists), yes_no(svm_caps.flush_by_asid),
		yes_no(svm_caps.vgif));
	return NULL;
}

bool svm_cpu_init(void)
{
	/* Each CPU has its own VM_CR; setting EFER.SVME would #GP on one the firmware left disabled. */
	struct virt_firmware_verdict fw = svm_vm_cr_verdict(rdmsr(MSR_VM_CR));

	if (fw.error) {
		pr_err("svm: %s", fw.error);
		return false;
	}
	if (fw.write)
		wrmsr(MSR_VM_CR, fw.value);
	/* XSETBV exits are completed on the host, which needs CR4.OSXSAVE for the instruction. */
	if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);

	/* VMRUN keeps part of the host state in the host save area; the rest (FS, GS with hv's
	 * per-CPU base, TR, LDTR, syscall MSRs) is VMSAVEd once here and VMLOADed after each exit. */
	uint64_t hsave = page_alloc_zeroed();
	uint64_t host = page_alloc_zeroed();
	if (!hsave || !host)
		return false;
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	__asm__ volatile("vmsave %%rax" ::"a"(host) : "memory");
	host_vmcbs[this_cpu()->index] = host;
	return true;
}

uint64_t svm_host_vmcb(void) { return host_vmcbs[this_cpu()->index]; }
