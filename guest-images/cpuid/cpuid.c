/* CPUID as a guest sees it: sane basic and extended leaves, the hypervisor bit, no VMX; under hv
 * also hv's signature leaf and no SVM. */
#include "cpu.h"
#include "guest.h"

#define HV_LEAF_BASE 0x40000000
#define EXT_LEAF_BASE 0x80000000

/* Features every other guest in this directory relies on. */
#define REQUIRED_1_EDX (CPUID_1_EDX_PSE | CPUID_1_EDX_TSC | CPUID_1_EDX_MSR | CPUID_1_EDX_PAE)

const char guest_name[] = "cpuid";

static void check_vendor(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	uint32_t words[3] = { r.ebx, r.edx, r.ecx };
	char vendor[13];

	for (int i = 0; i < 12; i++) {
		vendor[i] = (char)(words[i / 4] >> (8 * (i % 4)));
		check(vendor[i] >= 0x20 && vendor[i] < 0x7f, "vendor byte %d is %x", i, (uint8_t)vendor[i]);
	}
	vendor[12] = '\0';
	check(r.eax >= 1, "leaf 0 max %x < 1", r.eax);
	printf("cpuid: vendor \"%s\" max basic leaf %x\n", vendor, r.eax);
}

static void check_leaf_1(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	check(r.ecx & CPUID_1_ECX_HYPERVISOR, "hypervisor bit (1.ecx[31]) clear: ecx=%x", r.ecx);
	check(!(r.ecx & CPUID_1_ECX_VMX), "VMX bit (1.ecx[5]) set: ecx=%x", r.ecx);
	check((r.edx & REQUIRED_1_EDX) == REQUIRED_1_EDX, "1.edx=%x lacks PSE/TSC/MSR/PAE", r.edx);
}

static void check_extended_leaves(void)
{
	uint32_t max = cpuid(EXT_LEAF_BASE, 0).eax;
	check(max >= EXT_LEAF_BASE + 1 && max < EXT_LEAF_BASE + 0x100, "max extended leaf %x", max);

	struct cpuid_regs r = cpuid(EXT_LEAF_BASE + 1, 0);
	check(r.edx & CPUID_80000001_EDX_LM, "long mode bit (80000001.edx[29]) clear: edx=%x", r.edx);
	if (expect_hv())
		check(!(r.ecx & CPUID_80000001_ECX_SVM), "SVM bit (80000001.ecx[2]) set: ecx=%x", r.ecx);
	printf("cpuid: max extended leaf %x, 80000001 ecx=%x edx=%x\n", max, r.ecx, r.edx);
}

/* hv's leaf: EBX,ECX,EDX = "hv\0\0", 0, 0; EAX = highest hypervisor leaf. */
static void check_hv_signature(void)
{
	struct cpuid_regs r = cpuid(HV_LEAF_BASE, 0);
	const uint32_t hv = 'h' | 'v' << 8;

	check(r.ebx == hv && r.ecx == 0 && r.edx == 0, "leaf 40000000 signature ebx=%x ecx=%x edx=%x", r.ebx,
	      r.ecx, r.edx);
	check(r.eax >= HV_LEAF_BASE && r.eax < HV_LEAF_BASE + 0x100, "leaf 40000000 max leaf %x", r.eax);
	printf("cpuid: hv signature, max hypervisor leaf %x\n", r.eax);
}

void test_main(void)
{
	check_vendor();
	check_leaf_1();
	check_extended_leaves();
	if (expect_hv())
		check_hv_signature();
}
