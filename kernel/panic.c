/* Panic and test-exit: stop every CPU with an NMI, say why, and end the run. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/fmt.h>
#include <hv/options.h>
#include <hv/panic.h>
#include <hv/percpu.h>
#include <hv/x86.h>
#include <stdarg.h>

#define QEMU_DEBUG_EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT 0x8900
#define PANIC_STOP_WAIT_LOOPS 10000000

static volatile uint32_t panicking;

bool panic_in_progress(void) { return panicking != 0; }

_Noreturn void test_exit(bool success)
{
	pr_info("test-exit %s", success ? "success" : "failure");
	/* QEMU isa-debug-exit: the process exits with (value << 1) | 1, so 1 = pass, 3 = fail. */
	outl(QEMU_DEBUG_EXIT_PORT, success ? 0 : 1);
	if (success) {
		/* Bochs magic breakpoint: the debugger's rc file quits with status 0. */
		__asm__ volatile("xchgw %%bx, %%bx" ::: "memory");
	} else {
		for (const char *s = "Shutdown"; *s; s++)
			outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
	}
	cpu_halt_forever();
}

static uint32_t other_cpus_running(void)
{
	uint32_t running = 0;

	for (uint32_t i = 0; i < cpu_count; i++)
		if (cpus[i].state == CPU_ONLINE && &cpus[i] != this_cpu())
			running++;
	return running;
}

/* One NMI per CPU hv runs: a broadcast would also reach CPUs that maxcpus= left out or that failed
 * to start, still parked by the firmware, where an NMI can reset the machine before hv's report. */
static void nmi_other_cpus(void)
{
	for (uint32_t i = 0; i < cpu_count; i++)
		if (cpus[i].state == CPU_ONLINE && &cpus[i] != this_cpu())
			lapic_send_ipi(cpus[i].apic_id, APIC_DM_NMI | APIC_LEVEL_ASSERT);
}

/* Returns how many other CPUs did not confirm they stopped. */
static uint32_t stop_other_cpus(void)
{
	if (!lapic_ready() || cpu_count <= 1)
		return 0;
	nmi_other_cpus();
	uint32_t running = other_cpus_running();
	for (uint32_t wait = 0; running && wait < PANIC_STOP_WAIT_LOOPS; wait++) {
		cpu_relax();
		running = other_cpus_running();
	}
	return running;
}

/* Claims the right to stop the machine; a second CPU arriving here just halts. */
static void stop_begin(void)
{
	irq_disable();
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST))
		cpu_halt_forever(); /* another CPU is already stopping the machine and will stop us */
	console_enter_panic_mode();
}

_Noreturn static void stop_end(void)
{
	uint32_t running = stop_other_cpus();

	if (running)
		pr_err("%u cpus did not stop", running);
	else
		pr_err("all cpus stopped");
	if (hv_options.test_exit)
		test_exit(false);
	cpu_halt_forever();
}

_Noreturn void boot_error(const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	stop_begin();
	va_start(ap, fmt);
	fmt_vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	pr_err("boot error: %s", reason);
	stop_end();
}

_Noreturn void panic(const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	stop_begin();
	va_start(ap, fmt);
	fmt_vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	pr_err("PANIC on cpu %u: %s", this_cpu()->index, reason);
	stop_end();
}
