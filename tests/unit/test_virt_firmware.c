/*
 * Unit tests of kernel/virt_firmware.c: every IA32_FEATURE_CONTROL and VM_CR case the firmware can
 * leave, the verdict (use as is, write first, or refuse) and the exact message an operator reads.
 * The emulators of the bench cannot set VM_CR at all (QEMU TCG reads it as 0, Bochs 2.7 does not
 * implement it), so these tests are the SVM side's only coverage; the VMX refusal is also booted in
 * Bochs (tests/integration/cases.py, vmx-disabled-by-firmware).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <hv/virt_firmware.h>

/* IA32_FEATURE_CONTROL bits (SDM vol. 3 23.7) */
#define FC_LOCK 0x1ull
#define FC_VMX_INSIDE_SMX 0x2ull
#define FC_VMX_OUTSIDE_SMX 0x4ull
#define FC_SENTER_ENABLE 0x8000ull
/* VM_CR bits (APM vol. 2 15.30.1) */
#define VM_CR_DPD 0x1ull
#define VM_CR_R_INIT 0x2ull
#define VM_CR_DIS_A20M 0x4ull
#define VM_CR_LOCK 0x8ull
#define VM_CR_SVMDIS 0x10ull

#define VMX_DISABLED                                                                                            \
	"VMX is disabled by the firmware (IA32_FEATURE_CONTROL locked without VMX): enable Intel VT-x in the "  \
	"firmware setup"
#define SVM_DISABLED                                                                                            \
	"SVM is disabled by the firmware (VM_CR.SVMDIS set and locked): enable AMD-V (SVM) in the firmware "    \
	"setup"

static void assert_usable(struct virt_firmware_verdict v)
{
	assert_null(v.error);
	assert_false(v.write);
}

static void assert_write(struct virt_firmware_verdict v, uint64_t value)
{
	assert_null(v.error);
	assert_true(v.write);
	assert_int_equal(v.value, value);
}

static void assert_refused(struct virt_firmware_verdict v, const char *message)
{
	assert_non_null(v.error);
	assert_string_equal(v.error, message);
	assert_false(v.write);
}

static void vmx_locked_with_vmx_is_used_as_is(void **state)
{
	(void)state;
	assert_usable(vmx_feature_control_verdict(FC_LOCK | FC_VMX_OUTSIDE_SMX));
	assert_usable(vmx_feature_control_verdict(FC_LOCK | FC_VMX_OUTSIDE_SMX | FC_VMX_INSIDE_SMX | FC_SENTER_ENABLE));
}

static void vmx_locked_without_vmx_is_refused(void **state)
{
	(void)state;
	assert_refused(vmx_feature_control_verdict(FC_LOCK), VMX_DISABLED);
	/* VMX only inside SMX (TXT) does not help: hv runs outside SMX. */
	assert_refused(vmx_feature_control_verdict(FC_LOCK | FC_VMX_INSIDE_SMX), VMX_DISABLED);
}

static void vmx_unlocked_is_enabled_and_locked(void **state)
{
	(void)state;
	assert_write(vmx_feature_control_verdict(0), FC_LOCK | FC_VMX_OUTSIDE_SMX);
	assert_write(vmx_feature_control_verdict(FC_VMX_OUTSIDE_SMX), FC_LOCK | FC_VMX_OUTSIDE_SMX);
	/* Whatever else the firmware set is kept. */
	assert_write(vmx_feature_control_verdict(FC_VMX_INSIDE_SMX | FC_SENTER_ENABLE),
		     FC_LOCK | FC_VMX_OUTSIDE_SMX | FC_VMX_INSIDE_SMX | FC_SENTER_ENABLE);
}

static void svm_enabled_is_used_as_is(void **state)
{
	(void)state;
	assert_usable(svm_vm_cr_verdict(0));
	/* Locked with SVM allowed: still usable. */
	assert_usable(svm_vm_cr_verdict(VM_CR_LOCK));
	assert_usable(svm_vm_cr_verdict(VM_CR_LOCK | VM_CR_DPD | VM_CR_R_INIT | VM_CR_DIS_A20M));
}

static void svm_disabled_and_locked_is_refused(void **state)
{
	(void)state;
	assert_refused(svm_vm_cr_verdict(VM_CR_SVMDIS | VM_CR_LOCK), SVM_DISABLED);
	assert_refused(svm_vm_cr_verdict(VM_CR_SVMDIS | VM_CR_LOCK | VM_CR_DPD), SVM_DISABLED);
}

static void svm_disabled_unlocked_is_cleared(void **state)
{
	(void)state;
	assert_write(svm_vm_cr_verdict(VM_CR_SVMDIS), 0);
	/* Only SVMDIS changes. */
	assert_write(svm_vm_cr_verdict(VM_CR_SVMDIS | VM_CR_DPD | VM_CR_R_INIT), VM_CR_DPD | VM_CR_R_INIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vmx_locked_with_vmx_is_used_as_is),
		cmocka_unit_test(vmx_locked_without_vmx_is_refused),
		cmocka_unit_test(vmx_unlocked_is_enabled_and_locked),
		cmocka_unit_test(svm_enabled_is_used_as_is),
		cmocka_unit_test(svm_disabled_and_locked_is_refused),
		cmocka_unit_test(svm_disabled_unlocked_is_cleared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
