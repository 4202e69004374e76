/*
 * Unit tests of kernel/vmm/exception.c: exception_nest against SDM vol. 3 table 6-5 ("Conditions
 * for Generating a Double Fault") for every pair of exception classes, interrupts/NMIs/software
 * events as either event, and vcpu_inject_exception's bookkeeping, #DF error code and triple fault
 * (through a fake vm_suspend). The expected table is written out by hand from the SDM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv/vmm.h>

/* ------------------------------------------------------------------------------------------------ */
/* Fake vm_suspend (the real one is in kernel/vmm/vm.c)                                              */

static struct {
	int calls;
	struct vm *vm;
	enum vm_suspend_how how;
	const char *why;
} suspend;

void vm_suspend(struct vm *vm, enum vm_suspend_how how, const char *why)
{
	suspend.calls++;
	suspend.vm = vm;
	suspend.how = how;
	suspend.why = why;
}

/* ------------------------------------------------------------------------------------------------ */

#define VALID VM_INTINFO_VALID
#define EXC(v) (VALID | VM_INTINFO_HWEXCEPTION | (uint32_t)(v))
#define EXC_EC(v) (EXC(v) | VM_INTINFO_DEL_ERRCODE)
#define INTR(v) (VALID | VM_INTINFO_HWINTR | (uint32_t)(v))
#define NMI (VALID | VM_INTINFO_NMI | IDT_NMI)
#define SWINTR(v) (VALID | VM_INTINFO_SWINTR | (uint32_t)(v))
#define DF_WORD 0x80000b08u /* valid, hardware exception, error code, vector 8 */

enum cls { BENIGN, CONTRIB, PF, DF };

/* Vectors by class (SDM vol. 3 table 6-4). */
/* (#CP, vector 21, is contributory in current SDMs when CET is supported: see the known bugs) */
static const uint8_t benign[] = { 1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19, 20, 31, 32, 255 };
static const uint8_t contributory[] = { 0, 10, 11, 12, 13 };

/* Table 6-5, by hand: 'S' handle serially (deliver the second), 'D' double fault, 'T' shutdown. */
static const char table[4][4] = {
	/*            second: benign contrib  PF   (DF as second is not in the table: serial) */
	[BENIGN] = { 'S', 'S', 'S', 'S' },
	[CONTRIB] = { 'S', 'D', 'S', 'S' },
	[PF] = { 'S', 'D', 'D', 'S' },
	[DF] = { 'S', 'T', 'T', 'S' },
};

static void for_class(enum cls c, void (*fn)(uint8_t vec, void *arg), void *arg)
{
	switch (c) {
	case BENIGN:
		for (size_t i = 0; i < sizeof(benign); i++)
			fn(benign[i], arg);
		break;
	case CONTRIB:
		for (size_t i = 0; i < sizeof(contributory); i++)
			fn(contributory[i], arg);
		break;
	case PF:
		fn(IDT_PF, arg);
		break;
	case DF:
		fn(IDT_DF, arg);
		break;
	}
}

struct pair {
	enum cls first, second;
	uint8_t first_vec;
};

static void check_pair(uint8_t second_vec, void *arg)
{
	struct pair *p = arg;
	/* the error-code bit must not matter to the classification */
	for (int ec = 0; ec < 4; ec++) {
		uint32_t prev = (ec & 1) ? EXC_EC(p->first_vec) : EXC(p->first_vec);
		uint32_t next = (ec & 2) ? EXC_EC(second_vec) : EXC(second_vec);
		bool triple = true;
		uint32_t got = exception_nest(prev, next, &triple);
		char want = table[p->first][p->second];

		if (want == 'S') {
			if (got != next || triple)
				print_error("first %u second %u: expected serial\n", p->first_vec, second_vec);
			assert_int_equal(got, next);
			assert_false(triple);
		} else if (want == 'D') {
			if (got != DF_WORD || triple)
				print_error("first %u second %u: expected #DF\n", p->first_vec, second_vec);
			assert_int_equal(got, DF_WORD);
			assert_false(triple);
		} else {
			if (!triple)
				print_error("first %u second %u: expected shutdown\n", p->first_vec, second_vec);
			assert_true(triple);
			assert_int_equal(got, 0);
		}
	}
}

static void check_first(uint8_t first_vec, void *arg)
{
	struct pair *p = arg;

	p->first_vec = first_vec;
	for_class(p->second, check_pair, p);
}

static void test_nest_table_6_5(void **state)
{
	(void)state;
	for (int f = BENIGN; f <= DF; f++)
		for (int s = BENIGN; s <= DF; s++) {
			struct pair p = { (enum cls)f, (enum cls)s, 0 };
			for_class(p.first, check_first, &p);
		}
}

/* A few rows spelled out, so a failure reads directly. */
static void test_nest_spelled_out(void **state)
{
	(void)state;
	bool t;

	/* #GP while delivering #NP: double fault */
	assert_int_equal(exception_nest(EXC_EC(IDT_NP), EXC_EC(IDT_GP), &t), DF_WORD);
	assert_false(t);
	/* #DE while delivering #DE */
	assert_int_equal(exception_nest(EXC(IDT_DE), EXC(IDT_DE), &t), DF_WORD);
	/* #PF while delivering #GP: serial */
	assert_int_equal(exception_nest(EXC_EC(IDT_GP), EXC_EC(IDT_PF), &t), EXC_EC(IDT_PF));
	assert_false(t);
	/* #PF while delivering #PF, #GP while delivering #PF: double fault */
	assert_int_equal(exception_nest(EXC_EC(IDT_PF), EXC_EC(IDT_PF), &t), DF_WORD);
	assert_int_equal(exception_nest(EXC_EC(IDT_PF), EXC_EC(IDT_GP), &t), DF_WORD);
	/* #UD while delivering #PF: serial */
	assert_int_equal(exception_nest(EXC_EC(IDT_PF), EXC(IDT_UD), &t), EXC(IDT_UD));
	/* #PF / #GP / #TS while delivering #DF: shutdown */
	assert_int_equal(exception_nest(EXC_EC(IDT_DF), EXC_EC(IDT_PF), &t), 0);
	assert_true(t);
	assert_int_equal(exception_nest(EXC_EC(IDT_DF), EXC_EC(IDT_GP), &t), 0);
	assert_true(t);
	assert_int_equal(exception_nest(EXC_EC(IDT_DF), EXC_EC(IDT_TS), &t), 0);
	assert_true(t);
	/* #DB while delivering #DF: serial */
	assert_int_equal(exception_nest(EXC_EC(IDT_DF), EXC(IDT_DB), &t), EXC(IDT_DB));
	assert_false(t);
	/* the result of a double fault: vector 8, hardware exception, error code, valid */
	assert_int_equal(DF_WORD, VM_INTINFO_VALID | VM_INTINFO_HWEXCEPTION | VM_INTINFO_DEL_ERRCODE | IDT_DF);
}

static void test_nest_nothing_pending(void **state)
{
	(void)state;
	static const uint32_t invalid_prev[] = {
		0,
		IDT_DF | VM_INTINFO_HWEXCEPTION | VM_INTINFO_DEL_ERRCODE, /* a #DF word without VALID */
		IDT_PF | VM_INTINFO_HWEXCEPTION,
		IDT_GP | VM_INTINFO_HWEXCEPTION,
	};
	static const uint32_t nexts[] = { EXC(IDT_DE), EXC_EC(IDT_GP), EXC_EC(IDT_PF), EXC_EC(IDT_DF), EXC(IDT_UD),
					  INTR(0x20), NMI };

	for (size_t i = 0; i < sizeof(invalid_prev) / sizeof(invalid_prev[0]); i++)
		for (size_t j = 0; j < sizeof(nexts) / sizeof(nexts[0]); j++) {
			bool t = true;
			assert_int_equal(exception_nest(invalid_prev[i], nexts[j], &t), nexts[j]);
			assert_false(t);
		}
}

/* External interrupts, NMIs and software interrupts count as benign first events: whatever arises
 * while delivering them is handled serially, even with a vector number of a contributory exception
 * or #PF/#DF. */
static void test_nest_interrupts_first(void **state)
{
	(void)state;
	static const uint32_t firsts[] = { INTR(IDT_DE), INTR(IDT_GP),	 INTR(IDT_PF), INTR(IDT_DF), INTR(0x30),
					   NMI,		 SWINTR(IDT_GP), SWINTR(IDT_DF), SWINTR(0x80),
					   /* an NMI-typed word never counts as a #DF, whatever its vector */
					   VALID | VM_INTINFO_NMI | IDT_DF,
					   /* software exception type (INT3/INTO): 6 << 8 */
					   VALID | (6u << 8) | IDT_BP,
					   /* privileged software exception (INT1): 5 << 8 */
					   VALID | (5u << 8) | IDT_DB };
	static const uint32_t seconds[] = { EXC(IDT_DE), EXC_EC(IDT_TS), EXC_EC(IDT_NP), EXC_EC(IDT_SS),
					    EXC_EC(IDT_GP), EXC_EC(IDT_PF) };

	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++)
		for (size_t j = 0; j < sizeof(seconds) / sizeof(seconds[0]); j++) {
			bool t = true;
			assert_int_equal(exception_nest(firsts[i], seconds[j], &t), seconds[j]);
			assert_false(t);
		}
}

/* Interrupts and NMIs as the second event are never serious: they are delivered as they are. */
static void test_nest_interrupts_second(void **state)
{
	(void)state;
	static const uint32_t firsts[] = { EXC(IDT_DE), EXC_EC(IDT_GP), EXC_EC(IDT_PF), EXC_EC(IDT_DF) };
	static const uint32_t seconds[] = { INTR(0x20), INTR(IDT_GP), INTR(IDT_PF), NMI, SWINTR(IDT_GP),
					    VALID | VM_INTINFO_NMI | IDT_PF };

	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++)
		for (size_t j = 0; j < sizeof(seconds) / sizeof(seconds[0]); j++) {
			bool t = true;
			assert_int_equal(exception_nest(firsts[i], seconds[j], &t), seconds[j]);
			assert_false(t);
		}
}

/* ------------------------------------------------------------------------------------------------ */
/* vcpu_inject_exception                                                                              */

static struct vm vm;

static int setup_vm(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, "test");
	vm.vcpu_count = 2;
	for (uint32_t i = 0; i < 2; i++) {
		vm.vcpus[i].vm = &vm;
		vm.vcpus[i].id = i;
	}
	memset(&suspend, 0, sizeof(suspend));
	return 0;
}

static void test_inject_simple(void **state)
{
	(void)state;
	struct vcpu *v = &vm.vcpus[0];

	vcpu_inject_exception(v, IDT_GP, true, 0x1234);
	assert_int_equal(v->exc_pending, EXC_EC(IDT_GP));
	assert_int_equal(v->exc_errcode, 0x1234);
	assert_int_equal(suspend.calls, 0);
	/* the other vcpu is untouched */
	assert_int_equal(vm.vcpus[1].exc_pending, 0);
}

static void test_inject_errcode_bit(void **state)
{
	(void)state;
	/* vectors that push an error code (SDM vol. 3 table 6-1) get DEL_ERRCODE when asked for */
	static const uint8_t with_ec[] = { IDT_DF, IDT_TS, IDT_NP, IDT_SS, IDT_GP, IDT_PF, IDT_AC };

	for (size_t i = 0; i < sizeof(with_ec); i++) {
		struct vcpu *v = &vm.vcpus[0];
		v->exc_pending = 0;
		vcpu_inject_exception(v, with_ec[i], true, 0x10);
		assert_int_equal(v->exc_pending, EXC_EC(with_ec[i]));
		assert_int_equal(v->exc_errcode, 0x10);
		/* not asked for: no error code */
		v->exc_pending = 0;
		vcpu_inject_exception(v, with_ec[i], false, 0);
		assert_int_equal(v->exc_pending, EXC(with_ec[i]));
	}
	/* the others never get one, even when the caller passes one */
	static const uint8_t without_ec[] = { IDT_DE, IDT_DB, IDT_NMI, IDT_BP, 4, 5, IDT_UD, 7, 9, 16, 18, 19, 20 };
	for (size_t i = 0; i < sizeof(without_ec); i++) {
		struct vcpu *v = &vm.vcpus[0];
		v->exc_pending = 0;
		vcpu_inject_exception(v, without_ec[i], true, 0x10);
		assert_int_equal(v->exc_pending, EXC(without_ec[i]));
	}
	assert_int_equal(suspend.calls, 0);
}

static void test_inject_double_fault(void **state)
{
	(void)state;
	struct vcpu *v = &vm.vcpus[0];

	/* #PF pending, #GP arises: #DF with error code 0 */
	vcpu_inject_exception(v, IDT_PF, true, 0x2);
	assert_int_equal(v->exc_pending, EXC_EC(IDT_PF));
	assert_int_equal(v->exc_errcode, 2);
	vcpu_inject_exception(v, IDT_GP, true, 0xdead);
	assert_int_equal(v->exc_pending, DF_WORD);
	assert_int_equal(v->exc_errcode, 0);
	assert_int_equal(suspend.calls, 0);

	/* contributory on contributory, without error codes */
	v->exc_pending = 0;
	vcpu_inject_exception(v, IDT_DE, false, 0);
	vcpu_inject_exception(v, IDT_DE, false, 77);
	assert_int_equal(v->exc_pending, DF_WORD);
	assert_int_equal(v->exc_errcode, 0);

	/* #PF while #GP: serial, the #PF and its error code replace the #GP */
	v->exc_pending = 0;
	vcpu_inject_exception(v, IDT_GP, true, 0x18);
	vcpu_inject_exception(v, IDT_PF, true, 0x5);
	assert_int_equal(v->exc_pending, EXC_EC(IDT_PF));
	assert_int_equal(v->exc_errcode, 5);

	/* a #DF injected directly keeps the caller's error code */
	v->exc_pending = 0;
	vcpu_inject_exception(v, IDT_DF, true, 0x42);
	assert_int_equal(v->exc_pending, DF_WORD);
	assert_int_equal(v->exc_errcode, 0x42);
	assert_int_equal(suspend.calls, 0);
}

static void test_inject_triple_fault(void **state)
{
	(void)state;
	struct vcpu *v = &vm.vcpus[1];

	/* #DE, #DE -> #DF; then #GP -> shutdown */
	vcpu_inject_exception(v, IDT_DE, false, 0);
	vcpu_inject_exception(v, IDT_DE, false, 0);
	assert_int_equal(v->exc_pending, DF_WORD);
	assert_int_equal(suspend.calls, 0);
	vcpu_inject_exception(v, IDT_GP, true, 0);
	assert_int_equal(suspend.calls, 1);
	assert_ptr_equal(suspend.vm, &vm);
	assert_int_equal(suspend.how, VM_SUSPEND_TRIPLEFAULT);
	assert_non_null(suspend.why);
	assert_int_equal(v->exc_pending, 0);
	/* nothing is pending after the shutdown: a new exception starts afresh */
	vcpu_inject_exception(v, IDT_GP, true, 3);
	assert_int_equal(v->exc_pending, EXC_EC(IDT_GP));
	assert_int_equal(suspend.calls, 1);

	/* #PF while #DF -> shutdown too */
	v->exc_pending = DF_WORD;
	vcpu_inject_exception(v, IDT_PF, true, 0);
	assert_int_equal(suspend.calls, 2);
	assert_int_equal(suspend.how, VM_SUSPEND_TRIPLEFAULT);
	assert_int_equal(v->exc_pending, 0);

	/* a benign exception while #DF: serial, no shutdown */
	v->exc_pending = DF_WORD;
	vcpu_inject_exception(v, IDT_UD, false, 0);
	assert_int_equal(v->exc_pending, EXC(IDT_UD));
	assert_int_equal(suspend.calls, 2);
}

static void test_inject_over_interrupt(void **state)
{
	(void)state;
	struct vcpu *v = &vm.vcpus[0];

	/* an exception raised while an external interrupt or NMI was being delivered: serial */
	v->exc_pending = INTR(0x30);
	vcpu_inject_exception(v, IDT_GP, true, 8);
	assert_int_equal(v->exc_pending, EXC_EC(IDT_GP));
	assert_int_equal(v->exc_errcode, 8);
	v->exc_pending = NMI;
	vcpu_inject_exception(v, IDT_PF, true, 0);
	assert_int_equal(v->exc_pending, EXC_EC(IDT_PF));
	assert_int_equal(suspend.calls, 0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Regressions: bugs these tests found in the kernel source, now fixed. */

/* #CP (vector 21, CET) is a contributory exception and pushes an error code (SDM vol. 3 tables 6-1
 * and 6-4); hv does not hide CET from the guest's CPUID leaf 7. */
static void bug_cp_is_contributory_with_errcode(void **state)
{
	(void)state;
	bool t;

	assert_int_equal(exception_nest(EXC_EC(IDT_GP), EXC_EC(21), &t), DF_WORD);
	assert_int_equal(exception_nest(EXC_EC(21), EXC_EC(IDT_GP), &t), DF_WORD);
	assert_int_equal(exception_nest(EXC_EC(IDT_DF), EXC_EC(21), &t), 0);
	assert_true(t);
	setup_vm(NULL);
	vcpu_inject_exception(&vm.vcpus[0], 21, true, 1);
	assert_int_equal(vm.vcpus[0].exc_pending, EXC_EC(21));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nest_table_6_5),
		cmocka_unit_test(test_nest_spelled_out),
		cmocka_unit_test(test_nest_nothing_pending),
		cmocka_unit_test(test_nest_interrupts_first),
		cmocka_unit_test(test_nest_interrupts_second),
		cmocka_unit_test_setup(test_inject_simple, setup_vm),
		cmocka_unit_test_setup(test_inject_errcode_bit, setup_vm),
		cmocka_unit_test_setup(test_inject_double_fault, setup_vm),
		cmocka_unit_test_setup(test_inject_triple_fault, setup_vm),
		cmocka_unit_test_setup(test_inject_over_interrupt, setup_vm),
		cmocka_unit_test(bug_cp_is_contributory_with_errcode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
