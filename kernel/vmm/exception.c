/* Exception injection and the double-fault rules (SDM vol. 3 6.15, table 6-5). */
#include <hv/console.h>
#include <hv/vmm.h>

enum exception_class {
	EXC_BENIGN,
	EXC_CONTRIBUTORY,
	EXC_PAGE_FAULT,
	EXC_DOUBLE_FAULT,
};

static enum exception_class exception_class_of(uint32_t info)
{
	if ((info & VM_INTINFO_TYPE_MASK) != VM_INTINFO_HWEXCEPTION)
		return EXC_BENIGN; /* interrupts, NMIs and software events */
	switch (VM_INTINFO_VECTOR(info)) {
	case IDT_DE:
	case IDT_TS:
	case IDT_NP:
	case IDT_SS:
	case IDT_GP:
	case IDT_CP:
		return EXC_CONTRIBUTORY;
	case IDT_PF:
		return EXC_PAGE_FAULT;
	case IDT_DF:
		return EXC_DOUBLE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

uint32_t exception_nest(uint32_t prev, uint32_t next, bool *triple_fault)
{
	enum exception_class first = exception_class_of(prev);
	enum exception_class second = exception_class_of(next);
	bool serious = second == EXC_CONTRIBUTORY || second == EXC_PAGE_FAULT;

	*triple_fault = false;
	if (!(prev & VM_INTINFO_VALID) || !serious)
		return next;
	if (first == EXC_DOUBLE_FAULT) {
		*triple_fault = true;
		return 0;
	}
	if ((first == EXC_CONTRIBUTORY && second == EXC_CONTRIBUTORY) || first == EXC_PAGE_FAULT)
		return VM_INTINFO_VALID | VM_INTINFO_HWEXCEPTION | VM_INTINFO_DEL_ERRCODE | IDT_DF;
	return next;
}

/* Exceptions that push an error code (SDM vol. 3 6.13). */
static bool exception_has_errcode(uint8_t vector)
{
	return vector == IDT_DF || vector == IDT_TS || vector == IDT_NP || vector == IDT_SS || vector == IDT_GP ||
	       vector == IDT_PF || vector == IDT_AC || vector == IDT_CP;
}

void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_errcode, uint32_t errcode)
{
	uint32_t next = VM_INTINFO_VALID | VM_INTINFO_HWEXCEPTION | vector;
	bool triple;

	if (has_errcode && exception_has_errcode(vector))
		next |= VM_INTINFO_DEL_ERRCODE;
	next = exception_nest(v->exc_pending, next, &triple);
	if (triple) {
		v->exc_pending = 0;
		vm_suspend(v->vm, VM_SUSPEND_TRIPLEFAULT, "fault while delivering a double fault");
		return;
	}
	if (VM_INTINFO_VECTOR(next) == IDT_DF && vector != IDT_DF)
		errcode = 0;
	v->exc_pending = next;
	v->exc_errcode = errcode;
}
