/*
 * A VM's built-in platform: per-vcpu local APICs, the IOAPIC, the 8259 pair, PIT, HPET, RTC, PM
 * timer, COM1 and the debug-exit port, wired together the way a PC wires them. One lock per VM
 * serialises every model (they are not thread-safe and vcpus of a VM run on several CPUs).
 */
#ifndef HV_VPLATFORM_H
#define HV_VPLATFORM_H

#include <hv/spinlock.h>
#include <hv/vdev.h>
#include <hv/vfwcfg.h>
#include <hv/vhpet.h>
#include <hv/vioapic.h>
#include <hv/vlapic.h>
#include <hv/vmm.h>
#include <hv/vpic.h>
#include <hv/vpit.h>
#include <hv/vpmtmr.h>
#include <hv/vrtc.h>
#include <hv/vuart.h>

#define VPLATFORM_PM_BASE 0x600 /* PIIX4 PM block, as on QEMU's pc machine */
#define VPLATFORM_PM_TIMER (VPLATFORM_PM_BASE + 8)
#define VPLATFORM_IOAPIC_ID 0 /* after the vcpus' APIC IDs in a small VM: id = vcpu count */
#define VPLATFORM_OUTPUT_RING 4096 /* bytes of a VM's recent console output kept for the operator */

/* Sources sharing the ISA interrupt lines (wired-OR per line). */
enum vplatform_source {
	SOURCE_PIT,
	SOURCE_RTC,
	SOURCE_HPET,
	SOURCE_UART,
	SOURCE_COUNT,
};

/* ACPI PM1 registers and the reset ports (vpower.c). */
struct vpower {
	struct vm *vm;
	uint16_t pm_base;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint8_t reset_control;
};

bool vpower_pm1_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);
bool vpower_reset_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

struct vplatform {
	struct spinlock lock;
	struct vm *vm;
	struct vdev_env env;
	struct vdev_env pit_env, rtc_env, hpet_env; /* same context, their own line conventions */
	struct vlapic vlapics[VM_MAX_VCPUS];
	struct vioapic ioapic;
	struct vpic pic;
	struct vpit pit;
	struct vhpet hpet;
	struct vrtc rtc;
	struct vpmtmr pmtmr;
	struct vuart uart;
	struct vpower power;
	struct vfwcfg fwcfg;
	uint8_t line_sources[VIOAPIC_PINS];    /* bit per vplatform_source driving each GSI high */
	bool line_level[VIOAPIC_PINS];	       /* the level the interrupt controllers see */
	uint64_t tsc_base;		    /* host TSC at guest time 0 */
	uint64_t ns_mult, tsc_mult;	    /* 32.32 fixed point: ns per TSC tick, TSC ticks per ns */
	char output[VPLATFORM_OUTPUT_RING]; /* the console's recent lines, oldest overwritten */
	uint32_t output_head;
	bool output_wrapped;
};

bool vplatform_init(struct vm *vm);
/* The operator's keystrokes for the VM's COM1; returns how many it took (the rest overran). */
uint32_t vplatform_console_input(struct vm *vm, const char *buf, uint32_t len);
/* Copies the VM's recent console output, oldest first; returns its length. */
uint32_t vplatform_console_history(struct vm *vm, char *buf, uint32_t size);
void vplatform_stop(struct vm *vm);
uint64_t vplatform_now_ns(const struct vplatform *p);
/* Guest ns deadline -> host TSC value. */
uint64_t vplatform_ns_to_tsc(const struct vplatform *p, uint64_t ns);

/* Called with the lock held. */
uint64_t vplatform_next_deadline(struct vplatform *p, struct vcpu *v); /* guest ns, VDEV_NEVER */
void vplatform_advance(struct vplatform *p, struct vcpu *v, uint64_t now_ns);

/* A vcpu may have something to take: re-evaluate before its next entry, waking it if needed. */
void vcpu_notify(struct vcpu *v);
/* The same for events the guest cannot hold off with RFLAGS.IF: NMI, INIT, stopping the VM. */
void vcpu_notify_urgent(struct vcpu *v);

#endif
