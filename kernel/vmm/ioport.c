/* Guest port I/O: each VM's devices claim port ranges; unclaimed ports behave like an empty ISA
 * bus (reads all ones, writes dropped). */
#include <hv/console.h>
#include <hv/vmm.h>
#include <hv/vplatform.h>

int vm_register_ioport(struct vm *vm, uint16_t first, uint16_t last, ioport_handler_t handler, void *dev,
		       bool interrupts)
{
	if (vm->ioport_count == VM_MAX_IOPORTS || last < first)
		return -1;
	struct vm_ioport *p = &vm->ioports[vm->ioport_count++];

	p->first = first;
	p->last = last;
	p->handler = handler;
	p->dev = dev;
	p->interrupts = interrupts;
	return 0;
}

static uint32_t width_mask(uint8_t bytes) { return bytes == 4 ? 0xffffffffu : (1u << (8 * bytes)) - 1; }

/* One access of `bytes` at port; *value in/out. Device models run under the VM's lock. */
void ioport_access(struct vcpu *v, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vm *vm = v->vm;

	for (uint32_t i = 0; i < vm->ioport_count; i++) {
		struct vm_ioport *p = &vm->ioports[i];
		if (port < p->first || port > p->last)
			continue;
		spin_lock(&vm->plat->lock);
		bool done = p->handler(p->dev, port, bytes, in, value);
		spin_unlock(&vm->plat->lock);
		if (p->interrupts)
			v->intr_hint = 1;
		if (done)
			return;
		break;
	}
	if (in)
		*value = width_mask(bytes);
}

void ioport_exit(struct vcpu *v, struct vm_exit *exit)
{
	uint8_t bytes = exit->u.inout.bytes;
	uint32_t mask = width_mask(bytes);

	if (exit->u.inout.string) {
		ioport_string(v, exit);
		return;
	}
	if (exit->u.inout.in) {
		uint32_t value = 0;
		ioport_access(v, exit->u.inout.port, bytes, true, &value);
		/* A 32-bit IN zero-extends into RAX; 8/16-bit INs keep the upper bits. */
		if (bytes == 4)
			v->gpr[VM_REG_RAX] = value;
		else
			v->gpr[VM_REG_RAX] = (v->gpr[VM_REG_RAX] & ~(uint64_t)mask) | (value & mask);
	} else {
		uint32_t value = (uint32_t)v->gpr[VM_REG_RAX] & mask;
		ioport_access(v, exit->u.inout.port, bytes, false, &value);
	}
}
