/* INS and OUTS, with and without REP: guest memory on one side, a port on the other. */
#include <hv/gpt.h>
#include <hv/vmm.h>
#include <hv/x86.h>

#define STRING_IO_CHUNK 256 /* bytes per exit: long REPs are resumed, bounding time per exit */
#define RFLAGS_DF (1ull << 10)

static uint64_t address_mask(uint8_t addr_size)
{
	return addr_size == 8 ? ~0ull : (1ull << (8 * addr_size)) - 1;
}

/* Linear address of seg:offset; in 64-bit mode only FS and GS have bases (SDM vol. 3 3.4.4). */
static uint64_t segment_base(struct vcpu *v, enum vm_reg seg)
{
	struct seg_desc d;

	if ((vcpu_get_reg(v, VM_REG_EFER) & EFER_LMA) && seg != VM_REG_FS && seg != VM_REG_GS) {
		vmm_ops->get_desc(v->backend, VM_REG_CS, &d);
		if (d.access & SEG_ACCESS_L)
			return 0;
	}
	vmm_ops->get_desc(v->backend, seg, &d);
	return d.base;
}

static void set_index(struct vcpu *v, enum vm_reg reg, uint64_t mask, uint64_t value)
{
	v->gpr[reg] = (v->gpr[reg] & ~mask) | (value & mask);
}

void ioport_string(struct vcpu *v, struct vm_exit *exit)
{
	uint8_t bytes = exit->u.inout.bytes;
	uint64_t mask = address_mask(exit->u.inout.addr_size);
	bool in = exit->u.inout.in;
	enum vm_reg index = in ? VM_REG_RDI : VM_REG_RSI;
	enum vm_reg seg = in ? VM_REG_ES : (enum vm_reg)(VM_REG_ES + exit->u.inout.seg);
	uint64_t count = exit->u.inout.rep ? v->gpr[VM_REG_RCX] & mask : 1;
	bool down = vcpu_get_reg(v, VM_REG_RFLAGS) & RFLAGS_DF;
	uint8_t buf[STRING_IO_CHUNK];

	if (count == 0)
		return; /* REP with RCX = 0 does nothing */
	uint64_t n = count < STRING_IO_CHUNK / bytes ? count : STRING_IO_CHUNK / bytes;
	/* Going down, the chunk's lowest address is (n - 1) elements below the index. */
	uint64_t offset = v->gpr[index] & mask;
	uint64_t first = down ? (offset - (n - 1) * bytes) & mask : offset;
	uint64_t gla = segment_base(v, seg) + first;

	if (in) {
		for (uint64_t i = 0; i < n; i++) {
			uint32_t value = 0;
			ioport_access(v, exit->u.inout.port, bytes, true, &value);
			uint64_t slot = down ? n - 1 - i : i;
			for (uint8_t b = 0; b < bytes; b++)
				buf[slot * bytes + b] = (uint8_t)(value >> (8 * b));
		}
		if (!vcpu_copy_to_guest(v, gla, buf, n * bytes)) {
			exit->inst_length = 0;
			return;
		}
	} else {
		if (!vcpu_copy_from_guest(v, gla, buf, n * bytes, 0)) {
			exit->inst_length = 0;
			return;
		}
		for (uint64_t i = 0; i < n; i++) {
			uint64_t slot = down ? n - 1 - i : i;
			uint32_t value = 0;
			for (uint8_t b = 0; b < bytes; b++)
				value |= (uint32_t)buf[slot * bytes + b] << (8 * b);
			ioport_access(v, exit->u.inout.port, bytes, false, &value);
		}
	}
	set_index(v, index, mask, down ? offset - n * bytes : offset + n * bytes);
	if (exit->u.inout.rep) {
		set_index(v, VM_REG_RCX, mask, count - n);
		if (count > n)
			exit->inst_length = 0; /* more to do: execute the instruction again */
	}
}
