/* printf to the serial console: %d %i %u %x %p %s %c %%, optional '0' and width, 'l' and 'll'. */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include <stdarg.h>

void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
