/*
 * Guest accesses to guest-physical addresses that are not RAM: the faulting instruction is
 * fetched, decoded and emulated (vie), its device-side access going to the device model that
 * claims the address. Nothing claims it: it behaves like an empty bus (reads all ones, writes
 * dropped), so a guest poking outside its memory reaches neither hv nor another VM.
 */
#include <hv/console.h>
#include <hv/fmt.h>
#include <hv/gpt.h>
#include <hv/string.h>
#include <hv/vie.h>
#include <hv/vmm.h>
#include <hv/vplatform.h>
#include <hv/x86.h>

#define PAGE_MASK 0xfffull
#define LAPIC_PAGE 0x1000ull

int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len, mmio_handler_t handler, void *dev)
{
	if (vm->mmio_count == VM_MAX_MMIO || len == 0 || base + len < base)
		return -1;
	vm->mmio[vm->mmio_count++] = (struct vm_mmio){ base, len, handler, dev };
	return 0;
}

static const struct vm_mmio *mmio_find(struct vm *vm, uint64_t gpa)
{
	for (uint32_t i = 0; i < vm->mmio_count; i++)
		if (gpa - vm->mmio[i].base < vm->mmio[i].len)
			return &vm->mmio[i];
	return NULL;
}

static uint64_t all_ones(unsigned size) { return size == 8 ? ~0ull : (1ull << (8 * size)) - 1; }

/* The device side, under the VM's lock: this vcpu's LAPIC page (wherever its APIC_BASE puts it),
 * a registered device, or nothing (reads all ones, writes dropped). */
static bool device_access(struct vcpu *v, uint64_t gpa, uint64_t *val, unsigned size, bool write)
{
	struct vm *vm = v->vm;
	uint64_t lapic = vlapic_mmio_base(v->vlapic);

	if (lapic != VLAPIC_NO_MMIO && gpa - lapic < LAPIC_PAGE) {
		bool decoded = write ? vlapic_mmio_write(v->vlapic, gpa - lapic, size, *val)
				     : vlapic_mmio_read(v->vlapic, gpa - lapic, size, val);
		if (!decoded && !write)
			*val = all_ones(size);
		return true;
	}
	const struct vm_mmio *m = mmio_find(vm, gpa);
	if (m)
		return m->handler(m->dev, gpa - m->base, size, write, val);
	if (!write)
		*val = all_ones(size);
	return true;
}

/* One access at a guest-physical address: RAM, a device, or nothing. */
static int mmio_access_gpa(struct vcpu *v, uint64_t gpa, uint64_t *val, unsigned size, bool write)
{
	uint8_t *ram = vm_gpa_to_hva(v->vm, gpa, size);

	if (ram) {
		if (write)
			memcpy(ram, val, size);
		else {
			*val = 0;
			memcpy(val, ram, size);
		}
		return VIE_OK;
	}
	struct vplatform *p = v->vm->plat;
	spin_lock(&p->lock);
	bool ok = device_access(v, gpa, val, size, write);
	spin_unlock(&p->lock);
	v->intr_hint = 1;
	return ok ? VIE_OK : VIE_ERROR;
}

static int gpt_status_to_vie(const struct gpt_result *res, struct vie_exc *exc)
{
	struct gpt_fault f;

	if (!gpt_fault_exception(res, &f))
		return VIE_OK;
	*exc = (struct vie_exc){ f.vector, true, f.errcode, f.cr2 };
	return VIE_EXCEPTION;
}

/* One operand access at a linear address. Within a page it goes to RAM, a device or nothing; an
 * operand straddling two pages can only be RAM (a stack slot, a MOVS source), moved as the CPU
 * would in two pieces. */
static int emul_access(struct vcpu *v, uint64_t gla, uint64_t *val, unsigned size, bool write, struct vie_exc *exc)
{
	struct gpt_cpu cpu;
	struct gpt_access mem = { guest_ram_read, guest_ram_write, v->vm };
	struct gpt_result res;

	vcpu_paging_state(v, &cpu);
	if ((gla & PAGE_MASK) + size > PAGE_MASK + 1) {
		if (!write)
			*val = 0;
		if (write)
			gpt_copy_out(&cpu, &mem, gla, val, size, GPT_WRITE, &res);
		else
			gpt_copy_in(&cpu, &mem, gla, val, size, 0, &res);
		if (res.status == GPT_UNREADABLE && res.done)
			return VIE_ERROR; /* half RAM, half device: no device takes split accesses */
		return gpt_status_to_vie(&res, exc);
	}
	gpt_translate(&cpu, &mem, gla, write ? GPT_WRITE : 0, &res);
	int r = gpt_status_to_vie(&res, exc);
	return r == VIE_OK ? mmio_access_gpa(v, res.gpa, val, size, write) : r;
}

static uint64_t emul_get_reg(void *ctx, enum vm_reg reg) { return vcpu_get_reg(ctx, reg); }
static void emul_set_reg(void *ctx, enum vm_reg reg, uint64_t val) { vcpu_set_reg(ctx, reg, val); }

static void emul_get_seg(void *ctx, enum vm_reg seg, struct seg_desc *desc)
{
	struct vcpu *v = ctx;

	vmm_ops->get_desc(v->backend, seg, desc);
}

static int emul_read(void *ctx, uint64_t gla, uint64_t *val, unsigned size, struct vie_exc *exc)
{
	return emul_access(ctx, gla, val, size, false, exc);
}

static int emul_write(void *ctx, uint64_t gla, uint64_t val, unsigned size, struct vie_exc *exc)
{
	return emul_access(ctx, gla, &val, size, true, exc);
}

static const struct vie_ops emul_ops = { emul_get_reg, emul_set_reg, emul_get_seg, emul_read, emul_write };

/* Fetches the instruction at CS:RIP without crossing into a page it does not need. */
static bool fetch_instruction(struct vcpu *v, uint64_t rip, enum vie_mode mode, struct vie *vie, int *result)
{
	struct seg_desc cs;
	uint8_t bytes[VIE_INST_MAX];

	vmm_ops->get_desc(v->backend, VM_REG_CS, &cs);
	uint64_t gla = (mode == VIE_MODE64 ? 0 : cs.base) + rip;
	unsigned n = (unsigned)(PAGE_MASK + 1 - (gla & PAGE_MASK));
	if (n > VIE_INST_MAX)
		n = VIE_INST_MAX;
	if (!vcpu_copy_from_guest(v, gla, bytes, n, GPT_FETCH))
		return false;
	*result = vie_decode(vie, bytes, n, mode);
	if (*result == VIE_TRUNCATED && n < VIE_INST_MAX) {
		if (!vcpu_copy_from_guest(v, gla + n, bytes + n, VIE_INST_MAX - n, GPT_FETCH))
			return false;
		*result = vie_decode(vie, bytes, VIE_INST_MAX, mode);
	}
	return true;
}

void mmio_exit(struct vcpu *v, struct vm_exit *exit)
{
	struct seg_desc cs;
	struct vie vie;
	struct vie_exc exc;
	int r;

	exit->inst_length = 0; /* the emulator moves RIP itself */
	vmm_ops->get_desc(v->backend, VM_REG_CS, &cs);
	enum vie_mode mode = vie_mode_from_cs(cs.access, vcpu_get_reg(v, VM_REG_EFER) & EFER_LMA);
	if (!fetch_instruction(v, exit->rip, mode, &vie, &r))
		return; /* the fetch faulted: that exception is now pending */
	if (r == VIE_UNSUPPORTED || r == VIE_TRUNCATED) {
		pr_debug("vm %s: cannot emulate the instruction at rip 0x%lx touching gpa 0x%lx: #UD", v->vm->name,
			 exit->rip, exit->u.paging.gpa);
		vcpu_inject_exception(v, IDT_UD, false, 0);
		return;
	}
	if (r == VIE_TOO_LONG) {
		vcpu_inject_exception(v, IDT_GP, true, 0);
		return;
	}
	r = vie_emulate(&vie, &emul_ops, v, &exc);
	if (r == VIE_EXCEPTION) {
		if (exc.vector == IDT_PF)
			vcpu_set_reg(v, VM_REG_CR2, exc.cr2);
		vcpu_inject_exception(v, exc.vector, exc.has_errcode, exc.errcode);
	} else if (r != VIE_OK && r != VIE_RESTART) {
		char why[128];
		fmt_snprintf(why, sizeof(why), "device access emulation failed at rip 0x%lx, gpa 0x%lx", exit->rip,
			     exit->u.paging.gpa);
		vm_suspend(v->vm, VM_SUSPEND_ERROR, why);
	}
}
