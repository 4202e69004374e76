/* Exceptions are fatal to hv and reported in full; interrupts go to their registered handler. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/panic.h>
#include <hv/percpu.h>
#include <hv/trap.h>
#include <hv/x86.h>

#define BACKTRACE_MAX_FRAMES 16

extern char boot_stack_top[];

static irq_handler_t irq_handlers[256];

static const char *const exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
	"#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

void irq_register(uint8_t vector, irq_handler_t handler) { irq_handlers[vector] = handler; }

static bool on_kernel_stack(uint64_t top, uint64_t addr)
{
	return addr >= top - KERNEL_STACK_SIZE && addr + 16 <= top && !(addr & 7);
}

/* Follows saved frame pointers while they stay on this CPU's stack: never faults while reporting. */
static void print_backtrace(uint64_t rip, uint64_t rbp)
{
	struct percpu *c = this_cpu();
	uint64_t top = c && c->stack_top ? c->stack_top : (uint64_t)boot_stack_top;

	pr_err("  backtrace: %p", (void *)rip);
	for (int i = 0; i < BACKTRACE_MAX_FRAMES && on_kernel_stack(top, rbp); i++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		if (!frame[1])
			break;
		pr_err("             %p", (void *)frame[1]);
		rbp = frame[0];
	}
}

static void report_exception(const struct trap_frame *f)
{
	struct percpu *c = this_cpu();

	pr_err("exception %s (vector %lu) error code 0x%lx on cpu %u (apic %u)", exception_names[f->vector],
	       f->vector, f->error_code, c ? c->index : 0, c ? c->apic_id : 0);
	pr_err("  rip %016lx  cs %04lx  rflags %016lx", f->rip, f->cs, f->rflags);
	pr_err("  rsp %016lx  ss %04lx", f->rsp, f->ss);
	pr_err("  cr0 %016lx  cr2 %016lx", read_cr0(), read_cr2());
	pr_err("  cr3 %016lx  cr4 %016lx", read_cr3(), read_cr4());
	pr_err("  rax %016lx  rbx %016lx  rcx %016lx", f->rax, f->rbx, f->rcx);
	pr_err("  rdx %016lx  rsi %016lx  rdi %016lx", f->rdx, f->rsi, f->rdi);
	pr_err("  rbp %016lx  r8  %016lx  r9  %016lx", f->rbp, f->r8, f->r9);
	pr_err("  r10 %016lx  r11 %016lx  r12 %016lx", f->r10, f->r11, f->r12);
	pr_err("  r13 %016lx  r14 %016lx  r15 %016lx", f->r13, f->r14, f->r15);
	print_backtrace(f->rip, f->rbp);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == 2) {
		struct percpu *c = this_cpu();

		if (panic_in_progress()) {
			c->state = CPU_STOPPED;
			cpu_halt_forever();
		}
		/* A kick (vcpu_notify_urgent) only had to interrupt: the sender flagged the work.
		 * Nothing else here may take a lock the interrupted code could hold. */
		if (!__atomic_exchange_n(&c->nmi_kicks, 0, __ATOMIC_SEQ_CST))
			c->stray_nmis++;
		return;
	}
	if (f->vector < 32) {
		report_exception(f);
		panic("unhandled exception %s at rip %016lx", exception_names[f->vector], f->rip);
	}
	irq_handler_t h = irq_handlers[f->vector];
	if (h)
		h(f);
	else if (f->vector != VECTOR_SPURIOUS)
		pr_warn("unexpected interrupt vector %lu on cpu %u", f->vector, this_cpu()->index);
	if (f->vector != VECTOR_SPURIOUS)
		lapic_eoi();
}
