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

int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len, mmio_handler_t handler, void *dev, bool timers)
{
	if (vm->mmio_count == VM_MAX_MMIO || len == 0 || base + len < base)
		return -1;
	vm->mmio[vm->mmio_count++] = (struct vm_mmio){ base, len, handler, dev, timers };
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
 * a registered device, or nothing (reads all ones, writes dropped). *hint: what the vcpu must look
 * at again before its next entry (VINTR_HINT_*, 0 for nothing). */
static bool device_access(struct vcpu *v, uint64_t gpa, uint64_t *val, unsigned size, bool write, uint32_t *hint)
{
	struct vm *vm = v->vm;
	uint64_t lapic = vlapic_mmio_base(v->vlapic);

	if (lapic != VLAPIC_NO_MMIO && gpa - lapic < LAPIC_PAGE) {
		uint64_t deadline = vlapic_next_deadline(v->vlapic);
		bool decoded = write ? vlapic_mmio_write(v->vlapic, gpa - lapic, size, *val)
				     : vlapic_mmio_read(v->vlapic, gpa - lapic, size, val);
		if (!decoded && !write)
			*val = all_ones(size);
		/* The LAPIC has no timer but its own: an EOI, a TPR or ICR write leave the deadlines. */
		*hint = vlapic_next_deadline(v->vlapic) == deadline ? VINTR_HINT_EVENTS : VINTR_HINT_ALL;
		return true;
	}
	const struct vm_mmio *m = mmio_find(vm, gpa);
	if (m) {
		*hint = write && m->timers ? VINTR_HINT_ALL : VINTR_HINT_EVENTS;
		return m->handler(m->dev, gpa - m->base, size, write, val);
	}
	*hint = 0;
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
	uint32_t hint;
	spin_lock(&p->lock);
	bool ok = device_access(v, gpa, val, size, write, &hint);
	spin_unlock(&p->lock);
	if (hint)
		__atomic_fetch_or(&v->intr_hint, hint, __ATOMIC_RELAXED); /* never lowers another's hint */
	return ok ? VIE_OK : VIE_ERROR;
}

/* One MMIO exit being emulated: the guest state every step needs, read from the backend once. */
struct mmio_ctx {
	struct vcpu *v;
	const struct vm_exit *exit;
	uint64_t rip, rflags;
	bool rflags_read; /* rflags holds RFLAGS (64-bit MOVs never need it) */
	struct gpt_cpu cpu;
	struct gpt_access mem;
	bool exit_gpa_usable; /* the instruction makes one data access: the one that exited */
	bool rmw;	      /* ... which it writes back (its read is translated for write) */
};

static int gpt_status_to_vie(const struct gpt_result *res, struct vie_exc *exc)
{
	struct gpt_fault f;

	if (!gpt_fault_exception(res, &f))
		return VIE_OK;
	*exc = (struct vie_exc){ f.vector, true, f.errcode, f.cr2 };
	return VIE_EXCEPTION;
}

/* String and stack forms make a second access (or many): only the others have a single one. */
static bool single_data_access(const struct vie *vie)
{
	return vie->op != VIE_OP_STOS && vie->op != VIE_OP_MOVS && vie->op != VIE_OP_PUSH && vie->op != VIE_OP_POP;
}

/*
 * Whether the exit's guest-physical address is the translation of gla for this access. The CPU
 * walked the guest's tables for this very access (its checks passed and it set the A/D bits)
 * before the nested fault on the result, so the walk need not be done again, as in KVM - unless
 * the CPU translated for a read what is written (QEMU TCG reads first for read-modify-write).
 * VMX names the linear address; SVM does not, and the offset in the page must match.
 */
static bool exit_gpa_translates(const struct mmio_ctx *c, uint64_t gla, bool write)
{
	const struct vm_exit *e = c->exit;

	if (!c->exit_gpa_usable || ((write || c->rmw) && !e->u.paging.write))
		return false;
	if (e->u.paging.gla_valid)
		return gla == e->u.paging.gla;
	return (gla & PAGE_MASK) == (e->u.paging.gpa & PAGE_MASK);
}

/* One operand access at a linear address. Within a page it goes to RAM, a device or nothing; an
 * operand straddling two pages can only be RAM (a stack slot, a MOVS source), moved as the CPU
 * would in two pieces. */
static int emul_access(struct mmio_ctx *c, uint64_t gla, uint64_t *val, unsigned size, bool write,
		       struct vie_exc *exc)
{
	struct gpt_result res;

	if ((gla & PAGE_MASK) + size > PAGE_MASK + 1) {
		if (!write)
			*val = 0;
		if (write)
			gpt_copy_out(&c->cpu, &c->mem, gla, val, size, GPT_WRITE, &res);
		else
			gpt_copy_in(&c->cpu, &c->mem, gla, val, size, 0, &res);
		if (res.status == GPT_UNREADABLE && res.done)
			return VIE_ERROR; /* half RAM, half device: no device takes split accesses */
		return gpt_status_to_vie(&res, exc);
	}
	if (exit_gpa_translates(c, gla, write))
		return mmio_access_gpa(c->v, c->exit->u.paging.gpa, val, size, write);
	gpt_translate(&c->cpu, &c->mem, gla, write ? GPT_WRITE : 0, &res);
	int r = gpt_status_to_vie(&res, exc);
	return r == VIE_OK ? mmio_access_gpa(c->v, res.gpa, val, size, write) : r;
}

/* RIP, RFLAGS, CR0 and CR4 are read from the backend once per exit (the emulator changes only RIP
 * and RFLAGS, through emul_set_reg); the rest come from the vcpu. */
static uint64_t emul_get_reg(void *ctx, enum vm_reg reg)
{
	struct mmio_ctx *c = ctx;

	switch (reg) {
	case VM_REG_RIP:
		return c->rip;
	case VM_REG_RFLAGS:
		if (!c->rflags_read) {
			c->rflags = vcpu_get_reg(c->v, VM_REG_RFLAGS);
			c->rflags_read = true;
		}
		return c->rflags;
	case VM_REG_CR0:
		return c->cpu.cr0;
	case VM_REG_CR4:
		return c->cpu.cr4;
	default:
		return vcpu_get_reg(c->v, reg);
	}
}

static void emul_set_reg(void *ctx, enum vm_reg reg, uint64_t val)
{
	struct mmio_ctx *c = ctx;

	if (reg == VM_REG_RIP)
		c->rip = val;
	else if (reg == VM_REG_RFLAGS) {
		c->rflags = val;
		c->rflags_read = true;
	}
	vcpu_set_reg(c->v, reg, val);
}

static void emul_get_seg(void *ctx, enum vm_reg seg, struct seg_desc *desc)
{
	struct mmio_ctx *c = ctx;

	vmm_ops->get_desc(c->v->backend, seg, desc);
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

/* n instruction bytes at gla, all in one page: one translation and a load from guest RAM. */
static int fetch_bytes(struct mmio_ctx *c, uint64_t gla, uint8_t *buf, unsigned n, struct vie_exc *exc)
{
	struct gpt_result res;
	const uint8_t *src = NULL;

	if (gpt_translate(&c->cpu, &c->mem, gla, GPT_FETCH, &res) == GPT_OK)
		src = vm_gpa_to_hva(c->v->vm, res.gpa, n);
	if (!src) {
		/* A fault, or code outside RAM: gpt_copy_in says how, as for any guest copy. */
		gpt_copy_in(&c->cpu, &c->mem, gla, buf, n, GPT_FETCH, &res);
		return gpt_status_to_vie(&res, exc);
	}
	if (n == VIE_INST_MAX)
		__builtin_memcpy(buf, src, VIE_INST_MAX); /* a few loads, not a string copy */
	else
		memcpy(buf, src, n);
	return VIE_OK;
}

/* Fetches and decodes the instruction at CS:RIP without crossing into a page it does not need;
 * VIE_EXCEPTION when a fetch faulted (*exc says how). */
static int fetch_instruction(struct mmio_ctx *c, uint64_t cs_base, enum vie_mode mode, struct vie *vie,
			     struct vie_exc *exc)
{
	uint8_t bytes[VIE_INST_MAX];
	uint64_t gla = (mode == VIE_MODE64 ? 0 : cs_base) + c->rip;
	unsigned n = (unsigned)(PAGE_MASK + 1 - (gla & PAGE_MASK));

	if (n > VIE_INST_MAX)
		n = VIE_INST_MAX;
	if (fetch_bytes(c, gla, bytes, n, exc) != VIE_OK)
		return VIE_EXCEPTION;
	int r = vie_decode(vie, bytes, n, mode);
	if (r == VIE_TRUNCATED && n < VIE_INST_MAX) {
		if (fetch_bytes(c, gla + n, bytes + n, VIE_INST_MAX - n, exc) != VIE_OK)
			return VIE_EXCEPTION;
		r = vie_decode(vie, bytes, VIE_INST_MAX, mode);
	}
	return r;
}

static void inject(struct vcpu *v, const struct vie_exc *exc)
{
	if (exc->vector == IDT_PF)
		vcpu_set_reg(v, VM_REG_CR2, exc->cr2);
	vcpu_inject_exception(v, exc->vector, exc->has_errcode, exc->errcode);
}

void mmio_exit(struct vcpu *v, struct vm_exit *exit)
{
	struct mmio_ctx c;
	struct seg_desc cs;
	struct vie vie;
	struct vie_exc exc;

	exit->inst_length = 0; /* the emulator moves RIP itself */
	c.v = v;
	c.exit = exit;
	c.rip = exit->rip;
	c.rflags_read = false;
	c.mem = (struct gpt_access){ guest_ram_read, guest_ram_write, v->vm };
	vcpu_paging_state(v, &c.cpu);
	vmm_ops->get_desc(v->backend, VM_REG_CS, &cs);
	enum vie_mode mode = vie_mode_from_cs(cs.access, c.cpu.efer & EFER_LMA);
	int r = fetch_instruction(&c, cs.base, mode, &vie, &exc);
	if (r == VIE_EXCEPTION) {
		inject(v, &exc);
		return;
	}
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
	c.exit_gpa_usable = exit->u.paging.final && !exit->u.paging.fetch && single_data_access(&vie);
	c.rmw = vie.rmw;
	r = vie_emulate(&vie, &emul_ops, &c, &exc);
	if (r == VIE_EXCEPTION) {
		inject(v, &exc);
	} else if (r != VIE_OK && r != VIE_RESTART) {
		char why[128];
		fmt_snprintf(why, sizeof(why), "device access emulation failed at rip 0x%lx, gpa 0x%lx", exit->rip,
			     exit->u.paging.gpa);
		vm_suspend(v->vm, VM_SUSPEND_ERROR, why);
	}
}
