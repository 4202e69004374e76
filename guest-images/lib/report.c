/* PASS/FAIL lines, the only verdict a runner reads besides the exit status. */
#include "guest.h"
#include "serial.h"

void pass(void)
{
	printf("PASS %s\n", guest_name);
	guest_exit(EXIT_PASS);
}

void fail(const char *fmt, ...)
{
	static bool failing;
	va_list ap;

	/* A fault while reporting must not loop through here again. */
	if (failing)
		guest_exit(EXIT_FAIL);
	failing = true;
	printf("FAIL %s: ", guest_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
	guest_exit(EXIT_FAIL);
}
