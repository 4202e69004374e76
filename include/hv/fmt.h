/* printf-style formatting into a buffer; pure logic, shared by the kernel and host tests. */
#ifndef HV_FMT_H
#define HV_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Supports %d %i %u %x %X %p %s %c %% with flags '-', '0', width, and length modifiers l, ll, z.
 * Always NUL-terminates when size > 0; returns the length the full output would have had.
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
