/* Two processors, as an SMP OS brings them up and makes them talk (Intel SDM vol. 3 8.4.4, 11.6):
 * the BSP starts the application processor with INIT-SIPI-SIPI (all excluding self) into a
 * real-mode trampoline below 1 MiB that enters protected mode; the AP reports in through memory
 * (its APIC ID, from the LAPIC and from CPUID), enables its LAPIC and waits in HLT. Then fixed IPIs
 * go BSP -> AP (physical destination), each answered by an IPI AP -> BSP, every delivery counted on
 * both sides; a logical-destination IPI (flat model), the all-excluding-self and all-including-self
 * shorthands, and NMIs both ways. With one processor (the MADT lists one, natively without -smp 2)
 * there is nothing to test and the guest says so; under hv a second vCPU is required. */
#include "acpi.h"
#include "cpu.h"
#include "guest.h"
#include "lapic.h"
#include "median.h"
#include "pic.h"
#include "timing.h"
#include "trampoline.h"
#include "trap.h"

#define VEC_PING 0x60	   /* BSP -> AP */
#define VEC_PONG 0x61	   /* AP -> BSP */
#define VEC_BROADCAST 0x62 /* all excluding self */
#define VEC_ALL 0x63	   /* all including self */
#define VEC_LOGICAL 0x64   /* logical destination */
#define VEC_SPURIOUS 0xff
#define VEC_NMI 2
#define PINGS 100
#define AP_STACK_SIZE 8192
#define MAX_CPUS 16

const char guest_name[] = "smp-ipi";

extern const char trampoline_start[], trampoline_end[];

struct idt_pointer {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static uint8_t ap_stack[AP_STACK_SIZE] __attribute__((aligned(16)));
static struct idt_pointer idtr;
static volatile uint32_t ap_online, ap_apic_id, ap_cpuid_id, ap_ready;
static volatile uint32_t counts[MAX_CPUS][256]; /* [APIC ID][vector] */
static uint32_t bsp_id;

static uint32_t my_id(void) { return (*lapic_mmio(LAPIC_ID) >> 24) % MAX_CPUS; }

static volatile uint64_t pong_tsc;

static void ipi_interrupt(struct trap_frame *frame)
{
	uint32_t me = my_id();

	if (frame->vector == VEC_PONG)
		pong_tsc = rdtsc();
	counts[me][frame->vector]++;
	*lapic_mmio(LAPIC_EOI) = 0;
	if (frame->vector == VEC_PING)
		lapic_send_ipi(bsp_id, ICR_DM_FIXED | VEC_PONG);
}

static volatile uint32_t nmi_release;

static void nmi(struct trap_frame *frame)
{
	uint32_t me = my_id();
	uint32_t n = ++counts[me][frame->vector];

	if (me == bsp_id)
		return;
	if (n == 2)
		lapic_send_ipi(bsp_id, ICR_DM_NMI);
	/* The third stays in its handler until the BSP, having sent a fourth, lets it return. */
	while (n == 3 && !nmi_release)
		cpu_pause();
}

static void spurious_interrupt(struct trap_frame *frame) { counts[my_id()][frame->vector]++; }

/* The AP, from the trampoline: protected mode, flat segments, its own stack, interrupts off. */
static void __attribute__((noreturn, used)) ap_main(void)
{
	__asm__ volatile("lidt %0" ::"m"(idtr));
	ap_apic_id = *lapic_mmio(LAPIC_ID) >> 24;
	ap_cpuid_id = cpuid(1, 0).ebx >> 24;
	__atomic_add_fetch(&ap_online, 1, __ATOMIC_SEQ_CST);
	/* The BSP says when the AP may set itself up (after it checked the report). */
	while (!ap_ready)
		cpu_pause();
	*lapic_mmio(LAPIC_SVR) = LAPIC_SVR_ENABLE | VEC_SPURIOUS;
	*lapic_mmio(LAPIC_TPR) = 0;
	*lapic_mmio(LAPIC_DFR) = 0xffffffffu;	  /* flat model */
	*lapic_mmio(LAPIC_LDR) = 1u << (24 + 1); /* logical ID bit 1 */
	ap_ready = 2;
	for (;;)
		sti_hlt();
}

static void start_ap(void)
{
	uint8_t *page = (uint8_t *)TRAMPOLINE_BASE;
	uint32_t len = (uint32_t)(trampoline_end - trampoline_start);

	for (uint32_t i = 0; i < len; i++)
		page[i] = (uint8_t)trampoline_start[i];
	__asm__ volatile("sgdt %0" : "=m"(*(uint8_t(*)[6])(page + TRAMP_GDTR)));
	*(uint32_t *)(page + TRAMP_STACK) = (uint32_t)(ap_stack + AP_STACK_SIZE);
	*(uint32_t *)(page + TRAMP_ENTRY) = (uint32_t)ap_main;
	__asm__ volatile("sidt %0" : "=m"(idtr));

	/* INIT, 10 ms, SIPI, 200 us, SIPI (SDM 8.4.4.1). */
	lapic_send_ipi(0, ICR_SH_OTHERS | ICR_DM_INIT | ICR_ASSERT | ICR_LEVEL);
	lapic_send_ipi(0, ICR_SH_OTHERS | ICR_DM_INIT | ICR_LEVEL); /* de-assert, for older processors */
	delay_ms(10);
	for (int i = 0; i < 2 && !ap_online; i++) {
		lapic_send_ipi(0, ICR_SH_OTHERS | ICR_DM_SIPI | (TRAMPOLINE_BASE >> 12));
		delay_ms(1);
	}
}

static bool wait_for(volatile uint32_t *v, uint32_t target, uint32_t ms)
{
	uint64_t end = tsc_after_ms(ms);

	/* PAUSE as a spin-wait should: QEMU's round-robin TCG (icount) switches vCPUs on it. */
	while (*v < target) {
		if (rdtsc() >= end)
			return false;
		cpu_pause();
	}
	return true;
}

static void check_ping_pong(uint32_t ap)
{
	static uint32_t ticks[PINGS];

	for (uint32_t i = 0; i < PINGS; i++) {
		uint64_t start = rdtsc();
		lapic_send_ipi(ap, ICR_DM_FIXED | VEC_PING);
		check(wait_count(&counts[bsp_id][VEC_PONG], i + 1, 1000),
		      "IPI %u: the AP took %u pings, the BSP got %u pongs", i, counts[ap][VEC_PING],
		      counts[bsp_id][VEC_PONG]);
		ticks[i] = (uint32_t)(pong_tsc - start);
	}
	/* The round trip in TSC ticks, from the ICR write to the pong's handler: `make bench` reads it. */
	printf("BENCH ipi-round-trip %u\n", median_sort(ticks, PINGS));
	delay_ms_irq(20);
	check(counts[ap][VEC_PING] == PINGS && counts[bsp_id][VEC_PONG] == PINGS,
	      "%u pings: the AP counted %u, the BSP %u pongs", PINGS, counts[ap][VEC_PING], counts[bsp_id][VEC_PONG]);
	printf("smp-ipi: %u fixed IPIs to the AP, each answered by a fixed IPI back\n", PINGS);
}

static void check_shorthands_and_logical(uint32_t ap)
{
	lapic_send_ipi(0, ICR_SH_OTHERS | ICR_DM_FIXED | VEC_BROADCAST);
	check(wait_for(&counts[ap][VEC_BROADCAST], 1, 1000), "all-excluding-self IPI did not reach the AP");
	delay_ms_irq(10);
	check(counts[bsp_id][VEC_BROADCAST] == 0, "all-excluding-self IPI reached the sender");

	lapic_send_ipi(0, ICR_SH_ALL | ICR_DM_FIXED | VEC_ALL);
	check(wait_for(&counts[ap][VEC_ALL], 1, 1000), "all-including-self IPI did not reach the AP");
	check(wait_count(&counts[bsp_id][VEC_ALL], 1, 1000), "all-including-self IPI did not reach the sender");

	*lapic_mmio(LAPIC_DFR) = 0xffffffffu;
	*lapic_mmio(LAPIC_LDR) = 1u << 24; /* logical ID bit 0 */
	lapic_send_ipi(0x02, ICR_DEST_LOGICAL | ICR_DM_FIXED | VEC_LOGICAL);
	check(wait_for(&counts[ap][VEC_LOGICAL], 1, 1000), "logical IPI to 0x02 did not reach the AP");
	lapic_send_ipi(0x03, ICR_DEST_LOGICAL | ICR_DM_FIXED | VEC_LOGICAL);
	check(wait_for(&counts[ap][VEC_LOGICAL], 2, 1000), "logical IPI to 0x03 did not reach the AP");
	check(wait_count(&counts[bsp_id][VEC_LOGICAL], 1, 1000), "logical IPI to 0x03 did not reach the BSP");
	delay_ms_irq(10);
	check(counts[ap][VEC_LOGICAL] == 2 && counts[bsp_id][VEC_LOGICAL] == 1, "logical IPIs: AP %u, BSP %u",
	      counts[ap][VEC_LOGICAL], counts[bsp_id][VEC_LOGICAL]);
	printf("smp-ipi: shorthand and logical-destination IPIs reach the right processors\n");
}

static void check_nmi(uint32_t ap)
{
	lapic_send_ipi(ap, ICR_DM_NMI);
	check(wait_for(&counts[ap][VEC_NMI], 1, 1000), "NMI IPI did not reach the AP");
	check(counts[bsp_id][VEC_NMI] == 0, "an NMI to the AP reached the BSP");
	/* The AP answers its second NMI with one to the BSP (sent from its NMI handler). */
	lapic_send_ipi(0, ICR_SH_OTHERS | ICR_DM_NMI);
	check(wait_for(&counts[ap][VEC_NMI], 2, 1000), "NMI by the all-excluding-self shorthand did not reach the AP");
	check(wait_for(&counts[bsp_id][VEC_NMI], 1, 1000), "the AP's NMI IPI did not reach the BSP");
	delay_ms(10);
	check(counts[ap][VEC_NMI] == 2 && counts[bsp_id][VEC_NMI] == 1, "NMIs: AP %u, BSP %u", counts[ap][VEC_NMI],
	      counts[bsp_id][VEC_NMI]);
	printf("smp-ipi: NMI IPIs delivered both ways\n");

	/* An NMI arriving while the handler of the last one runs waits for its IRET (SDM vol. 3 6.7.1). */
	lapic_send_ipi(ap, ICR_DM_NMI);
	check(wait_for(&counts[ap][VEC_NMI], 3, 1000), "third NMI did not reach the AP");
	lapic_send_ipi(ap, ICR_DM_NMI);
	delay_ms(10);
	check(counts[ap][VEC_NMI] == 3, "an NMI nested inside the NMI handler (count %u)", counts[ap][VEC_NMI]);
	nmi_release = 1;
	check(wait_for(&counts[ap][VEC_NMI], 4, 1000), "the NMI held during the handler was lost");
	delay_ms(10);
	check(counts[ap][VEC_NMI] == 4, "NMIs after the held one: %u, expected 4", counts[ap][VEC_NMI]);
	printf("smp-ipi: an NMI during the NMI handler waits for its IRET\n");
}

void test_main(void)
{
	trap_set_handler(VEC_PING, ipi_interrupt);
	trap_set_handler(VEC_PONG, ipi_interrupt);
	trap_set_handler(VEC_BROADCAST, ipi_interrupt);
	trap_set_handler(VEC_ALL, ipi_interrupt);
	trap_set_handler(VEC_LOGICAL, ipi_interrupt);
	trap_set_handler(VEC_NMI, nmi);
	trap_set_handler(VEC_SPURIOUS, spurious_interrupt);
	pic_init();
	lapic_setup(VEC_SPURIOUS);
	bsp_id = my_id();
	tsc_per_ms();

	start_ap();
	if (!wait_for(&ap_online, 1, 500)) {
		int cpus = acpi_count_cpus();
		check(!expect_hv() && cpus == 1, "no application processor came up (the MADT lists %d processors)", cpus);
		printf("smp-ipi: the MADT lists one processor: nothing to test (run with -smp 2)\n");
		return;
	}
	delay_ms(20);
	check(ap_online == 1, "%u processors answered the startup IPI, expected 1", ap_online);
	uint32_t ap = ap_apic_id;
	printf("smp-ipi: AP online: APIC ID %u (CPUID says %u), BSP %u\n", ap, ap_cpuid_id, bsp_id);
	check(ap != bsp_id && ap < MAX_CPUS, "AP APIC ID %u (BSP %u)", ap, bsp_id);
	check(ap == ap_cpuid_id, "AP APIC ID %u, its CPUID.1:EBX[31:24] %u", ap, ap_cpuid_id);
	ap_ready = 1;
	check(wait_for(&ap_ready, 2, 1000), "AP never enabled its LAPIC");

	check_ping_pong(ap);
	check_shorthands_and_logical(ap);
	check_nmi(ap);
	check(counts[bsp_id][VEC_SPURIOUS] == 0 && counts[ap][VEC_SPURIOUS] == 0, "spurious interrupts: BSP %u, AP %u",
	      counts[bsp_id][VEC_SPURIOUS], counts[ap][VEC_SPURIOUS]);
	check(lapic_esr() == 0, "BSP ESR %x", lapic_esr());
}
