/* A small printf. 64-bit values are divided 16 bits at a time so no libgcc helper is needed. */
#include "printf.h"
#include "serial.h"
#include <stdbool.h>
#include <stdint.h>

/* Divides *v by base in place and returns the remainder. */
static unsigned divmod_u64(uint64_t *v, unsigned base)
{
	uint64_t q = 0;
	uint32_t rem = 0;

	for (int shift = 48; shift >= 0; shift -= 16) {
		uint32_t cur = (rem << 16) | (uint32_t)((*v >> shift) & 0xffff);
		q |= (uint64_t)(cur / base) << shift;
		rem = cur % base;
	}
	*v = q;
	return rem;
}

static void put_number(uint64_t v, unsigned base, bool negative, int width, char pad)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = "0123456789abcdef"[divmod_u64(&v, base)];
	while (v);
	if (negative && pad == '0')
		serial_putc('-');
	for (int i = n + negative; i < width; i++)
		serial_putc(pad);
	if (negative && pad != '0')
		serial_putc('-');
	while (n)
		serial_putc(digits[--n]);
}

static void put_string(const char *s, int width)
{
	int len = 0;

	if (!s)
		s = "(null)";
	while (s[len])
		len++;
	for (int i = len; i < width; i++)
		serial_putc(' ');
	serial_puts(s);
}

void vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, longs = 0;
		if (*fmt == '0')
			pad = *fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = longs == 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
			put_number(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = longs == 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			put_number(v, *fmt == 'u' ? 10 : 16, false, width, pad);
			break;
		}
		case 'p':
			serial_puts("0x");
			put_number((uintptr_t)va_arg(ap, void *), 16, false, 8, '0');
			break;
		case 's':
			put_string(va_arg(ap, const char *), width);
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case '%':
			serial_putc('%');
			break;
		case '\0':
			return;
		default:
			serial_putc('%');
			serial_putc(*fmt);
		}
	}
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}
