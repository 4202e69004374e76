/* The PC platform every VM gets, and how its devices are wired to each other and to the vcpus. */
#include <hv/apic.h>
#include <hv/console.h>
#include <hv/loader_linux.h>
#include <hv/mm.h>
#include <hv/percpu.h>
#include <hv/string.h>
#include <hv/timer.h>
#include <hv/trap.h>
#include <hv/vacpi.h>
#include <hv/vplatform.h>
#include <hv/x86.h>

#define COM1_BASE 0x3f8
#define COM1_LAST 0x3ff
#define COM1_IRQ 4
#define RTC_GSI 8
#define DEBUG_EXIT_PORT 0xf4
#define ISA_IRQ0_GSI 2 /* the IRQ0 -> GSI 2 override every PC (and hv's MADT) has */
#define LAPIC_PAGE_SIZE 0x1000
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_DM_EXTINT 0x700
#define LAPIC_DM_NMI 0x400
#define ACPI_REGION_SIZE 0x10000ull
#define ACPI_RSDP_BIOS_GPA 0xf0000ull
#define ACPI_RSDP_LEN 36
#define GUEST_EPOCH 1767225600ull /* 2026-01-01 00:00:00 UTC: the guest's RTC at power-on */

static struct vplatform *plat_of(void *ctx) { return ctx; }

uint64_t vplatform_now_ns(const struct vplatform *p)
{
	return (uint64_t)(((unsigned __int128)(rdtsc() - p->tsc_base) * p->ns_mult) >> 32);
}

uint64_t vplatform_ns_to_tsc(const struct vplatform *p, uint64_t ns)
{
	if (ns == VDEV_NEVER)
		return UINT64_MAX;
	unsigned __int128 t = ((unsigned __int128)ns * p->tsc_mult) >> 32;
	return t > UINT64_MAX - p->tsc_base ? UINT64_MAX : p->tsc_base + (uint64_t)t;
}

static uint64_t env_now_ns(void *ctx) { return vplatform_now_ns(plat_of(ctx)); }

static bool vcpu_needs_kick(const struct vcpu *v)
{
	return v->state != VCPU_IDLE && v->state != VCPU_STOPPED && v->host_cpu != this_cpu()->index;
}

/* Wakes the vcpu's CPU if it is in the guest or halted there. */
void vcpu_notify(struct vcpu *v)
{
	__atomic_store_n(&v->intr_hint, 1, __ATOMIC_RELEASE);
	if (vcpu_needs_kick(v))
		lapic_send_ipi(cpus[v->host_cpu].apic_id, APIC_DM_FIXED | VECTOR_KICK);
}

/*
 * For what the guest cannot mask with RFLAGS.IF (NMI, INIT, the VM stopping): an NMI exits the
 * guest whatever its IF. (Bochs does not exit on a host interrupt while the guest runs with
 * IF=0, so a fixed-vector kick would wait until the guest enables interrupts.)
 */
void vcpu_notify_urgent(struct vcpu *v)
{
	__atomic_store_n(&v->intr_hint, 1, __ATOMIC_RELEASE);
	if (!vcpu_needs_kick(v))
		return;
	__atomic_fetch_add(&cpus[v->host_cpu].nmi_kicks, 1, __ATOMIC_SEQ_CST);
	lapic_send_ipi(cpus[v->host_cpu].apic_id, APIC_DM_NMI);
}

static void deliver_to(struct vplatform *p, uint32_t i, const struct vdev_msi *msg)
{
	if (!vlapic_accept(&p->vlapics[i], msg))
		return;
	if (msg->delivery == VDEV_MSI_NMI || msg->delivery == VDEV_MSI_INIT)
		vcpu_notify_urgent(&p->vm->vcpus[i]);
	else
		vcpu_notify(&p->vm->vcpus[i]);
}

/* IOAPIC and MSI messages (8-bit xAPIC destinations; 0xff physical is a broadcast). */
static void env_deliver_msi(void *ctx, const struct vdev_msi *msg)
{
	struct vplatform *p = plat_of(ctx);

	for (uint32_t i = 0; i < p->vm->vcpu_count; i++) {
		if (!vlapic_match_dest(&p->vlapics[i], msg->dest, msg->dest_logical, false))
			continue;
		deliver_to(p, i, msg);
		if (msg->delivery == 1)
			return; /* lowest priority: one taker is enough */
	}
}

static void ipi_send(void *ctx, struct vlapic *from, const struct vlapic_ipi *ipi)
{
	struct vcpu *v = ctx;
	struct vplatform *p = v->vm->plat;

	for (uint32_t i = 0; i < v->vm->vcpu_count; i++) {
		struct vlapic *t = &p->vlapics[i];
		if (t == from || (!ipi->all_but_self && !vlapic_match_dest(t, ipi->msg.dest, ipi->msg.dest_logical, ipi->x2apic)))
			continue;
		deliver_to(p, i, &ipi->msg);
		if (ipi->msg.delivery == 1)
			return;
	}
}

static void ipi_eoi(void *ctx, uint8_t vector)
{
	struct vcpu *v = ctx;

	vioapic_eoi(&v->vm->plat->ioapic, vector);
}

static uint64_t vcpu_guest_tsc(void *ctx)
{
	struct vcpu *v = ctx;

	return rdtsc() + v->tsc_offset;
}

static const struct vlapic_ops vlapic_ops = { ipi_send, ipi_eoi, vcpu_guest_tsc };

/* Sources that count on a line: with HPET legacy replacement the PIT and RTC outputs are cut off
 * from IRQ0 and IRQ8 (IA-PC HPET 1.0a 2.4.3), the HPET driving them instead. */
static uint8_t line_mask(struct vplatform *p, uint32_t gsi)
{
	if ((gsi == ISA_IRQ0_GSI || gsi == RTC_GSI) && vhpet_legacy_replacement(&p->hpet))
		return (uint8_t) ~((1u << SOURCE_PIT) | (1u << SOURCE_RTC));
	return 0xff;
}

/* Brings the controllers' view of a GSI up to date: high while any connected source drives it
 * (wired-OR of shared ISA lines). */
static void refresh_line(struct vplatform *p, uint32_t gsi)
{
	bool level = p->line_sources[gsi] & line_mask(p, gsi);

	if (level == p->line_level[gsi])
		return;
	p->line_level[gsi] = level;
	vioapic_set_irq(&p->ioapic, gsi, level);
	/* ISA IRQ n reaches the 8259 pair too; GSI 2 is IRQ0's IOAPIC pin. */
	if (gsi == ISA_IRQ0_GSI)
		vpic_set_irq(&p->pic, 0, level);
	else if (gsi < 16)
		vpic_set_irq(&p->pic, gsi, level);
}

static void drive_line(struct vplatform *p, enum vplatform_source src, uint32_t gsi, bool level)
{
	if (gsi >= VIOAPIC_PINS)
		return;
	p->line_sources[gsi] = level ? p->line_sources[gsi] | (uint8_t)(1u << src)
				     : p->line_sources[gsi] & (uint8_t)~(1u << src);
	refresh_line(p, gsi);
}

static uint32_t isa_irq_to_gsi(uint32_t irq) { return irq == 0 ? ISA_IRQ0_GSI : irq; }

static void pit_set_irq(void *ctx, uint32_t irq, bool level)
{
	drive_line(plat_of(ctx), SOURCE_PIT, isa_irq_to_gsi(irq), level);
}

static void rtc_set_irq(void *ctx, uint32_t irq, bool level)
{
	drive_line(plat_of(ctx), SOURCE_RTC, isa_irq_to_gsi(irq), level);
}

static void hpet_set_irq(void *ctx, uint32_t gsi, bool level) { drive_line(plat_of(ctx), SOURCE_HPET, gsi, level); }

static void uart_set_irq(void *ctx, bool level) { drive_line(plat_of(ctx), SOURCE_UART, COM1_IRQ, level); }

static void pic_intr_changed(void *ctx, bool level)
{
	struct vplatform *p = plat_of(ctx);

	/* INTR goes to the LINT0 pins; only the vcpu in virtual-wire mode will take it. */
	for (uint32_t i = 0; i < p->vm->vcpu_count; i++)
		vlapic_set_lint(&p->vlapics[i], 0, level);
	if (level)
		for (uint32_t i = 0; i < p->vm->vcpu_count; i++)
			vcpu_notify(&p->vm->vcpus[i]);
}

static bool env_read_gpa(void *ctx, uint64_t gpa, void *buf, uint32_t len)
{
	const void *src = vm_gpa_to_hva(plat_of(ctx)->vm, gpa, len);

	if (!src)
		return false;
	memcpy(buf, src, len);
	return true;
}

static bool env_write_gpa(void *ctx, uint64_t gpa, const void *buf, uint32_t len)
{
	void *dst = vm_gpa_to_hva(plat_of(ctx)->vm, gpa, len);

	if (!dst)
		return false;
	memcpy(dst, buf, len);
	return true;
}

static void output_keep(struct vplatform *p, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		p->output[p->output_head++] = s[i];
		if (p->output_head == VPLATFORM_OUTPUT_RING) {
			p->output_head = 0;
			p->output_wrapped = true;
		}
	}
}

uint32_t vplatform_console_history(struct vm *vm, char *buf, uint32_t size)
{
	struct vplatform *p = vm->plat;
	uint32_t n = 0;

	spin_lock(&p->lock);
	if (p->output_wrapped)
		for (uint32_t i = p->output_head; i < VPLATFORM_OUTPUT_RING && n < size; i++)
			buf[n++] = p->output[i];
	for (uint32_t i = 0; i < p->output_head && n < size; i++)
		buf[n++] = p->output[i];
	spin_unlock(&p->lock);
	return n;
}

uint32_t vplatform_console_input(struct vm *vm, const char *buf, uint32_t len)
{
	struct vplatform *p = vm->plat;

	spin_lock(&p->lock);
	uint32_t n = vuart_receive(&p->uart, buf, len);
	spin_unlock(&p->lock);
	return n;
}

/* A VM's console line, prefixed with its name, in one console write so lines never interleave;
 * also kept in the VM's output ring for the operator's `log` command. */
static void vm_console_line(void *ctx, const char *line, size_t len)
{
	struct vm *vm = ctx;
	char buf[VM_NAME_MAX + VUART_LINE_MAX + 4];
	size_t n = 0;

	buf[n++] = '[';
	for (const char *s = vm->name; *s; s++)
		buf[n++] = *s;
	buf[n++] = ']';
	buf[n++] = ' ';
	memcpy(buf + n, line, len);
	n += len;
	buf[n++] = '\n';
	console_write(buf, n);
	output_keep(vm->plat, line, len);
	output_keep(vm->plat, "\n", 1);
}

/* Port 0xf4: a write of v stops the VM with status v (QEMU's isa-debug-exit, as seen by a guest). */
static bool debug_exit_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vm *vm = dev;

	(void)port;
	(void)bytes;
	if (in)
		return false;
	vm->exit_status = *value;
	vm_suspend(vm, VM_SUSPEND_EXIT, NULL);
	return true;
}

static bool ioapic_mmio(void *dev, uint64_t offset, unsigned size, bool write, uint64_t *value)
{
	struct vioapic *a = dev;

	if (write)
		vioapic_mmio_write(a, offset, (uint8_t)size, *value);
	else
		*value = vioapic_mmio_read(a, offset, (uint8_t)size);
	return true;
}

static bool hpet_mmio(void *dev, uint64_t offset, unsigned size, bool write, uint64_t *value)
{
	struct vplatform *p = dev;

	if (write) {
		vhpet_mmio_write(&p->hpet, offset, size, *value);
		/* Legacy replacement may have connected or cut off the PIT and RTC. */
		refresh_line(p, ISA_IRQ0_GSI);
		refresh_line(p, RTC_GSI);
	} else if (!vhpet_mmio_read(&p->hpet, offset, size, value))
		*value = ~0ull;
	return true;
}

/* What PC firmware leaves behind for a kernel it boots: the bootstrap LAPIC enabled in
 * virtual-wire mode (LINT0 ExtINT from the 8259s, LINT1 NMI; MP spec 3.6.2.2), which guests
 * booted without a BIOS (Multiboot, Linux's 64-bit entry) rely on. */
static void firmware_lapic_setup(struct vlapic *vl)
{
	vlapic_mmio_write(vl, LAPIC_SVR, 4, LAPIC_SVR_ENABLE | 0xff);
	vlapic_mmio_write(vl, LAPIC_LVT_LINT0, 4, LAPIC_DM_EXTINT);
	vlapic_mmio_write(vl, LAPIC_LVT_LINT1, 4, LAPIC_DM_NMI);
}

static void platform_time_init(struct vplatform *p)
{
	uint64_t hz = tsc_hz() ? tsc_hz() : 1000000000ull;

	p->tsc_base = rdtsc();
	/* 32.32 fixed point without 128-bit division: 1e9 << 32 fits in 64 bits, and hz is split. */
	p->ns_mult = (NS_PER_SEC << 32) / hz;
	p->tsc_mult = ((hz / NS_PER_SEC) << 32) + (((hz % NS_PER_SEC) << 32) / NS_PER_SEC);
}

static bool platform_register(struct vm *vm, struct vplatform *p)
{
	return !vm_register_ioport(vm, COM1_BASE, COM1_LAST, vuart_io, &p->uart, false) &&
	       !vm_register_ioport(vm, DEBUG_EXIT_PORT, DEBUG_EXIT_PORT + 3, debug_exit_io, vm, false) &&
	       !vm_register_ioport(vm, VPIC_MASTER_CMD, VPIC_MASTER_DATA, vpic_io, &p->pic, true) &&
	       !vm_register_ioport(vm, VPIC_SLAVE_CMD, VPIC_SLAVE_DATA, vpic_io, &p->pic, true) &&
	       !vm_register_ioport(vm, VPIC_ELCR_MASTER, VPIC_ELCR_SLAVE, vpic_io, &p->pic, true) &&
	       !vm_register_ioport(vm, VPIT_PORT_CH0, VPIT_PORT_CMD, vpit_io, &p->pit, true) &&
	       !vm_register_ioport(vm, VPIT_PORT_NMI_SC, VPIT_PORT_NMI_SC, vpit_io, &p->pit, true) &&
	       !vm_register_ioport(vm, VRTC_PORT, VRTC_PORT_LAST, vrtc_io, &p->rtc, true) &&
	       !vm_register_ioport(vm, VPLATFORM_PM_TIMER, VPLATFORM_PM_TIMER + 3, vpmtmr_io, &p->pmtmr, false) &&
	       !vm_register_ioport(vm, VPLATFORM_PM_BASE, VPLATFORM_PM_BASE + 5, vpower_pm1_io, &p->power, false) &&
	       !vm_register_ioport(vm, 0xcf9, 0xcf9, vpower_reset_io, &p->power, false) &&
	       !vm_register_ioport(vm, 0x64, 0x64, vpower_reset_io, &p->power, false) &&
	       !vm_register_mmio(vm, VIOAPIC_BASE, VIOAPIC_MMIO_SIZE, ioapic_mmio, &p->ioapic, false) &&
	       !vm_register_mmio(vm, VHPET_BASE, VHPET_SIZE, hpet_mmio, p, true);
}

/* The guest's ACPI tables go in the top 64 KiB of its RAM, with a copy of the RSDP in the BIOS
 * area where legacy kernels scan for it (ACPI 6.5 5.2.5.1). */
static bool platform_acpi_tables(struct vm *vm)
{
	struct vacpi_config cfg;
	struct vacpi_layout layout;
	uint64_t base = vm->mem_size - ACPI_REGION_SIZE;
	uint8_t *tables = vm_gpa_to_hva(vm, base, ACPI_REGION_SIZE);
	uint8_t *bios_rsdp = vm_gpa_to_hva(vm, ACPI_RSDP_BIOS_GPA, ACPI_RSDP_LEN);

	vacpi_default_config(&cfg, vm->vcpu_count);
	if (!tables || !bios_rsdp || vacpi_build(&cfg, tables, ACPI_REGION_SIZE, base, &layout) != VACPI_OK)
		return false;
	memcpy(bios_rsdp, tables + layout.rsdp_offset, ACPI_RSDP_LEN);
	vm->acpi_base = base;
	vm->acpi_rsdp = layout.rsdp;
	return true;
}

/* fw_cfg: the VM's CPU count and RAM size, and its memory map as etc/e820, the file SeaBIOS and OVMF
 * build their own map from (QEMU's layout: le64 address, le64 length, le32 type). */
static bool platform_fwcfg(struct vm *vm, struct vplatform *p)
{
	struct linux_e820 map[3 + 2 * VM_MAX_MEMSEGS]; /* two reserved ranges, ACPI, two RAM ranges a segment */
	uint32_t n = linux_e820_default(vm, map, sizeof(map) / sizeof(map[0]));

	vfwcfg_init(&p->fwcfg, (uint16_t)vm->vcpu_count, vm->mem_size);
	return vfwcfg_add_file(&p->fwcfg, "etc/e820", map, n * (uint32_t)sizeof(map[0])) &&
	       !vm_register_ioport(vm, VFWCFG_PORT_SELECTOR, VFWCFG_PORT_DATA, vfwcfg_io, &p->fwcfg, false);
}

bool vplatform_init(struct vm *vm)
{
	struct vplatform *p = mm_zalloc(sizeof(*p));

	if (!p)
		return false;
	vm->plat = p;
	p->vm = vm;
	platform_time_init(p);
	p->env = (struct vdev_env){ p, env_now_ns, hpet_set_irq, env_deliver_msi, env_read_gpa, env_write_gpa };
	p->pit_env = p->env;
	p->pit_env.set_irq = pit_set_irq;
	p->rtc_env = p->env;
	p->rtc_env.set_irq = rtc_set_irq;
	p->hpet_env = p->env;

	for (uint32_t i = 0; i < vm->vcpu_count; i++) {
		vlapic_init(&p->vlapics[i], &p->env, &vlapic_ops, &vm->vcpus[i], i, i == 0, tsc_hz());
		vm->vcpus[i].vlapic = &p->vlapics[i];
	}
	firmware_lapic_setup(&p->vlapics[0]);
	vioapic_init(&p->ioapic, &p->env, (uint8_t)vm->vcpu_count);
	vpic_init(&p->pic, pic_intr_changed, p);
	vpit_init(&p->pit, &p->pit_env);
	vhpet_init(&p->hpet, &p->hpet_env);
	vrtc_init(&p->rtc, &p->rtc_env, GUEST_EPOCH, vm->mem_size, 0);
	vpmtmr_init(&p->pmtmr, &p->env, VPLATFORM_PM_TIMER, true);
	vuart_init(&p->uart, vm_console_line, vm);
	vuart_connect_irq(&p->uart, uart_set_irq, p);
	p->power = (struct vpower){ .vm = vm, .pm_base = VPLATFORM_PM_BASE };
	return platform_acpi_tables(vm) && platform_fwcfg(vm, p) && platform_register(vm, p);
}

void vplatform_stop(struct vm *vm)
{
	if (vm->plat)
		vuart_flush(&vm->plat->uart);
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* The VM-wide timers are served by vcpu 0's CPU; each vcpu serves its own LAPIC timer. */
uint64_t vplatform_next_deadline(struct vplatform *p, struct vcpu *v)
{
	uint64_t d = vlapic_next_deadline(v->vlapic);

	if (v->id == 0)
		d = min_u64(d, min_u64(vpit_next_deadline(&p->pit),
				       min_u64(vhpet_next_deadline(&p->hpet), vrtc_next_deadline(&p->rtc))));
	return d;
}

void vplatform_advance(struct vplatform *p, struct vcpu *v, uint64_t now_ns)
{
	if (vlapic_next_deadline(v->vlapic) <= now_ns)
		vlapic_advance(v->vlapic, now_ns);
	if (v->id != 0)
		return;
	if (vpit_next_deadline(&p->pit) <= now_ns)
		vpit_advance(&p->pit, now_ns);
	if (vhpet_next_deadline(&p->hpet) <= now_ns)
		vhpet_advance(&p->hpet, now_ns);
	if (vrtc_next_deadline(&p->rtc) <= now_ns)
		vrtc_advance(&p->rtc, now_ns);
}
