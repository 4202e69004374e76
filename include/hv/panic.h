/* Stop the machine with a reason: every CPU halts, the test harness sees a failure code. */
#ifndef HV_PANIC_H
#define HV_PANIC_H

#include <stdbool.h>

_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool panic_in_progress(void);
/* A configuration or firmware problem found while booting: one clear line, then stop. */
_Noreturn void boot_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* End an emulator run (test-exit): QEMU through isa-debug-exit, Bochs through its magic/shutdown ports. */
_Noreturn void test_exit(bool success);

#endif
