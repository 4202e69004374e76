/* Guest memory as a vcpu sees it: linear addresses through the guest's own page tables. */
#include <hv/gpt.h>
#include <hv/string.h>
#include <hv/vmm.h>
#include <hv/x86.h>

bool guest_ram_read(uint64_t gpa, void *buf, uint32_t len, void *ctx)
{
	const void *src = vm_gpa_to_hva(ctx, gpa, len);

	if (!src)
		return false;
	/* A page-table entry, the walker's every read: one load, not a string copy. */
	if (len == 8)
		__builtin_memcpy(buf, src, 8);
	else if (len == 4)
		__builtin_memcpy(buf, src, 4);
	else
		memcpy(buf, src, len);
	return true;
}

bool guest_ram_write(uint64_t gpa, const void *buf, uint32_t len, void *ctx)
{
	void *dst = vm_gpa_to_hva(ctx, gpa, len);

	if (!dst)
		return false;
	memcpy(dst, buf, len);
	return true;
}

static uint8_t guest_maxphyaddr(void)
{
	static uint8_t width; /* the host's: guests see its CPUID leaf 0x80000008 */

	if (!width)
		width = cpuid(0x80000000, 0).eax < 0x80000008 ? 36 : (uint8_t)cpuid(0x80000008, 0).eax;
	return width;
}

void vcpu_paging_state(struct vcpu *v, struct gpt_cpu *cpu)
{
	struct seg_desc ss;
	uint64_t cr0 = vcpu_get_reg(v, VM_REG_CR0);

	/* Without paging a walk looks at CR0 alone: spare the other reads (EFER still says LMA). */
	if (!(cr0 & CR0_PG)) {
		*cpu = (struct gpt_cpu){ .cr0 = cr0, .efer = vcpu_get_reg(v, VM_REG_EFER),
					 .maxphyaddr = guest_maxphyaddr() };
		return;
	}
	vmm_ops->get_desc(v->backend, VM_REG_SS, &ss);
	*cpu = (struct gpt_cpu){
		.cr0 = cr0,
		.cr3 = vcpu_get_reg(v, VM_REG_CR3),
		.cr4 = vcpu_get_reg(v, VM_REG_CR4),
		.efer = vcpu_get_reg(v, VM_REG_EFER),
		.cpl = (uint8_t)SEG_DPL(ss.access), /* SS.DPL is the CPL (SDM vol. 3 5.5) */
		.ac = (vcpu_get_reg(v, VM_REG_RFLAGS) & (1u << 18)) != 0,
		.maxphyaddr = guest_maxphyaddr(),
	};
	if ((cpu->cr4 & CR4_PAE) && !(cpu->efer & EFER_LMA)) {
		cpu->pdptes_valid = true;
		for (int i = 0; i < 4; i++)
			cpu->pdpte[i] = vcpu_get_reg(v, (enum vm_reg)(VM_REG_PDPTE0 + i));
	}
}

bool gpt_fault_exception(const struct gpt_result *res, struct gpt_fault *fault)
{
	switch (res->status) {
	case GPT_OK:
		return false;
	case GPT_PF:
		*fault = (struct gpt_fault){ IDT_PF, res->pf_error, res->cr2 };
		return true;
	case GPT_GP:
		*fault = (struct gpt_fault){ IDT_GP, 0, 0 };
		return true;
	default:
		/* Paging structures outside RAM read as all ones on bare metal: a reserved-bit #PF. */
		*fault = (struct gpt_fault){ IDT_PF, PF_P | PF_RSVD, res->gla };
		return true;
	}
}

/* A failed walk becomes the exception the CPU would raise; false when the access faulted. */
static bool guest_access_result(struct vcpu *v, const struct gpt_result *res)
{
	struct gpt_fault f;

	if (!gpt_fault_exception(res, &f))
		return true;
	if (f.vector == IDT_PF)
		vcpu_set_reg(v, VM_REG_CR2, f.cr2);
	vcpu_inject_exception(v, f.vector, true, f.errcode);
	return false;
}

bool vcpu_copy_from_guest(struct vcpu *v, uint64_t gla, void *buf, size_t len, uint32_t access)
{
	struct gpt_cpu cpu;
	struct gpt_access mem = { guest_ram_read, guest_ram_write, v->vm };
	struct gpt_result res;

	vcpu_paging_state(v, &cpu);
	gpt_copy_in(&cpu, &mem, gla, buf, len, access, &res);
	return guest_access_result(v, &res);
}

bool vcpu_copy_to_guest(struct vcpu *v, uint64_t gla, const void *buf, size_t len)
{
	struct gpt_cpu cpu;
	struct gpt_access mem = { guest_ram_read, guest_ram_write, v->vm };
	struct gpt_result res;

	vcpu_paging_state(v, &cpu);
	gpt_copy_out(&cpu, &mem, gla, buf, len, GPT_WRITE, &res);
	return guest_access_result(v, &res);
}
