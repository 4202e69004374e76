/* Guest accesses to guest-physical addresses that are not RAM. */
#include <hv/fmt.h>
#include <hv/vmm.h>

bool vcpu_interrupt_pending(struct vcpu *v)
{
	(void)v;
	return false; /* no virtual interrupt controller yet */
}

void mmio_exit(struct vcpu *v, struct vm_exit *exit)
{
	char why[128];

	fmt_snprintf(why, sizeof(why), "%s of guest-physical 0x%lx, where the VM has no memory or device, at rip 0x%lx",
		     exit->u.paging.fetch ? "fetch" : exit->u.paging.write ? "write" : "read", exit->u.paging.gpa,
		     exit->rip);
	vm_suspend(v->vm, VM_SUSPEND_ERROR, why);
}
