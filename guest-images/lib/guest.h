/* What every test guest gets: its name, its boot information, PASS/FAIL reporting and the exit
 * device. A test defines guest_name and test_main(); returning from test_main() means PASS. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include "multiboot.h"
#include "printf.h"
#include <stdbool.h>
#include <stdint.h>

/* isa-debug-exit natively, hv's exit device otherwise: a 32-bit OUT of v ends the guest with v. */
#define EXIT_PORT 0xf4
#define EXIT_PASS 0
#define EXIT_FAIL 1

extern const char guest_name[];
void test_main(void);

extern const struct multiboot_info *boot_info;

__attribute__((noreturn)) void guest_exit(uint32_t status);

/* Prints "FAIL <guest>: <reason>" and exits with EXIT_FAIL. */
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);

/* Prints "PASS <guest>" and exits with EXIT_PASS. */
__attribute__((noreturn)) void pass(void);

#define check(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			fail(__VA_ARGS__);                                                                   \
	} while (0)

/* Whether the cmdline asks for the checks that only hold under hv. */
bool expect_hv(void);

#endif
