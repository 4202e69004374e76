/*
 * Everything here runs in a vcpu's loop, where host interrupts are off, so the VM lock is taken
 * without saving flags.
 *
 * Interrupts and time for a vcpu: which event to inject before an entry (SDM vol. 3 6.9: NMI
 * before external interrupts; an exception being delivered first), timers that came due, the
 * host timer that brings the CPU back for the next deadline, HLT, and INIT/SIPI for APs.
 */
#include <hv/apic.h>
#include <hv/timer.h>
#include <hv/trap.h>
#include <hv/vplatform.h>
#include <hv/x86.h>

#define TIMER_MIN_TICKS 16 /* a deadline closer than this still takes a timer interrupt */

static bool vcpu_interruptible(struct vcpu *v)
{
	return (vcpu_get_reg(v, VM_REG_RFLAGS) & RFLAGS_IF) && !vcpu_get_reg(v, VM_REG_INTR_SHADOW);
}

/* ExtINT from the 8259 pair reaches this vcpu through LINT0 in virtual-wire mode or an IOAPIC pin
 * in ExtINT mode. */
static bool pic_interrupt_for(struct vplatform *p, struct vcpu *v)
{
	return vpic_intr(&p->pic) && (vlapic_pic_intr_allowed(v->vlapic) || vlapic_extint_pending(v->vlapic));
}

static bool pending_locked(struct vplatform *p, struct vcpu *v)
{
	struct vlapic *vl = v->vlapic;

	return vlapic_pending_intr(vl) >= 0 || vlapic_nmi_pending(vl) || vlapic_init_pending(vl) ||
	       vlapic_sipi_pending(vl) || pic_interrupt_for(p, v);
}

bool vcpu_interrupt_pending(struct vcpu *v)
{
	struct vplatform *p = v->vm->plat;
	spin_lock(&p->lock);
	bool pending = pending_locked(p, v);

	spin_unlock(&p->lock);
	return pending;
}

/* Runs the timers that are due and arms this CPU's LAPIC timer for the next deadline. */
static void vcpu_service_time(struct vplatform *p, struct vcpu *v)
{
	uint64_t now = vplatform_now_ns(p);
	uint64_t next = vplatform_next_deadline(p, v);

	if (next <= now) {
		vplatform_advance(p, v, now);
		next = vplatform_next_deadline(p, v);
	}
	v->deadline_tsc = vplatform_ns_to_tsc(p, next);
	if (next == VDEV_NEVER) {
		lapic_timer_stop();
		return;
	}
	uint64_t tsc_now = rdtsc();
	uint64_t delta = v->deadline_tsc > tsc_now ? v->deadline_tsc - tsc_now : 0;
	uint64_t ticks = (uint64_t)(((unsigned __int128)delta * lapic_ticks_per_tsc()) >> 32) + 1; /* round up */
	if (ticks < TIMER_MIN_TICKS)
		ticks = TIMER_MIN_TICKS;
	lapic_timer_oneshot(ticks > 0xffffffffull ? 0xffffffffu : (uint32_t)ticks, VECTOR_TIMER);
}

static void vcpu_inject_event(struct vcpu *v, uint32_t type, uint8_t vector)
{
	v->exc_pending = VM_INTINFO_VALID | type | vector;
}

/* Picks the event for the next entry, or asks for an exit when the guest can take one. */
static void vcpu_choose_event(struct vplatform *p, struct vcpu *v)
{
	struct vlapic *vl = v->vlapic;

	if (vlapic_init_pending(vl) && v->id != 0) {
		vlapic_take_init(vl);
		vlapic_reset(vl, true);
		v->wait_sipi = true;
		v->intr_hint = 1;
		return;
	}
	vlapic_take_init(vl); /* INIT to the BSP: no reset path for a running VM yet; dropped */
	bool nmi = vlapic_nmi_pending(vl);
	bool pic = pic_interrupt_for(p, v);
	int vector = pic ? -1 : vlapic_pending_intr(vl);

	if (!nmi && !pic && vector < 0)
		return;
	if (v->exc_pending) {
		vmm_ops->request_intr_window(v->backend, false);
		v->intr_hint = 1; /* look again once the exception is delivered */
		return;
	}
	if (nmi && !vcpu_get_reg(v, VM_REG_INTR_SHADOW) && !vcpu_get_reg(v, VM_REG_NMI_BLOCKED)) {
		vlapic_take_nmi(vl);
		vcpu_inject_event(v, VM_INTINFO_NMI, IDT_NMI);
		return;
	}
	if ((!pic && vector < 0) || !vcpu_interruptible(v)) {
		vmm_ops->request_intr_window(v->backend, nmi);
		v->intr_hint = 1;
		return;
	}
	if (pic) {
		vlapic_take_extint(vl);
		vcpu_inject_event(v, VM_INTINFO_HWINTR, vpic_ack(&p->pic));
	} else {
		vlapic_intr_accepted(vl, (uint8_t)vector);
		vcpu_inject_event(v, VM_INTINFO_HWINTR, (uint8_t)vector);
	}
}

void vintr_before_entry(struct vcpu *v)
{
	struct vplatform *p = v->vm->plat;
	spin_lock(&p->lock);

	bool timers = v->intr_hint != VINTR_HINT_EVENTS || rdtsc() >= v->deadline_tsc;
	v->intr_hint = 0;
	if (timers)
		vcpu_service_time(p, v);
	vcpu_choose_event(p, v);
	spin_unlock(&p->lock);
}

/* Sleeps on the host until this vcpu has something to do; timers keep running meanwhile. */
static void vcpu_sleep(struct vcpu *v, bool (*done)(struct vcpu *))
{
	struct vplatform *p = v->vm->plat;

	while (v->vm->suspended == VM_SUSPEND_NONE) {
		spin_lock(&p->lock);
		vcpu_service_time(p, v);
		bool ready = done(v);
		spin_unlock(&p->lock);
		if (ready)
			return;
		/* sti; hlt: the kick or timer that ends the wait cannot slip in between. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

static bool halt_done(struct vcpu *v) { return pending_locked(v->vm->plat, v); }

void vcpu_halt_until_event(struct vcpu *v)
{
	v->state = VCPU_HALTED;
	vcpu_sleep(v, halt_done);
	v->state = VCPU_RUNNING;
	v->intr_hint = 1;
}

static bool sipi_done(struct vcpu *v)
{
	uint8_t vector;

	if (vlapic_take_init(v->vlapic))
		vlapic_reset(v->vlapic, true);
	if (!vlapic_take_sipi(v->vlapic, &vector))
		return false;
	v->sipi_vector = vector;
	return true;
}

/* Wait-for-SIPI (SDM vol. 3 8.4.4): the startup IPI starts the AP in real mode at vector:0000. */
void vcpu_wait_for_sipi(struct vcpu *v)
{
	v->state = VCPU_HALTED;
	vcpu_sleep(v, sipi_done);
	if (v->vm->suspended != VM_SUSPEND_NONE)
		return;
	vcpu_reset_to_real_mode(v, (uint16_t)(v->sipi_vector << 8), 0);
	v->wait_sipi = false;
	v->state = VCPU_RUNNING;
	v->intr_hint = 1;
}
