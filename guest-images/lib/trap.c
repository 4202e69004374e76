/* Where every exception and interrupt lands. */
#include "trap.h"
#include "cpu.h"
#include "guest.h"

volatile uint32_t trap_insn_eip, trap_resume_eip;
static volatile struct trap_record trap_last = { .vector = TRAP_NONE };
static trap_handler handlers[256];

void trap_set_handler(uint8_t vector, trap_handler handler) { handlers[vector] = handler; }

void trap_dispatch(struct trap_frame *frame)
{
	if (handlers[frame->vector]) {
		handlers[frame->vector](frame);
		return;
	}
	if (!trap_resume_eip || trap_last.vector != TRAP_NONE)
		fail("unexpected exception %u error %x at eip %x (cr2 %x)", frame->vector, frame->error_code,
		     frame->eip, read_cr2());
	trap_last.vector = (int)frame->vector;
	trap_last.error_code = frame->error_code;
	trap_last.cr2 = frame->vector == VEC_PF ? read_cr2() : 0;
	trap_last.eip = frame->eip;
	frame->eip = trap_resume_eip;
	/* A single-step #DB must not step on through the rest of the test. */
	frame->eflags &= ~EFLAGS_TF;
}

int trap_end(struct trap_record *rec)
{
	int vector = trap_last.vector;

	if (rec) {
		rec->vector = trap_last.vector;
		rec->error_code = trap_last.error_code;
		rec->cr2 = trap_last.cr2;
		rec->eip = trap_last.eip;
		rec->guarded_eip = trap_insn_eip;
		rec->resume_eip = trap_resume_eip;
	}
	trap_last.vector = TRAP_NONE;
	trap_resume_eip = 0;
	return vector;
}
