/*
 * Host stand-ins for the few kernel library routines glibc lacks (glibc 2.36 has no strlcpy).
 * Same semantics as kernel/lib/string.c: copies at most size-1 bytes, always NUL-terminates when
 * size > 0, returns strlen(src).
 */
#include <stddef.h>
#include <string.h>

size_t strlcpy(char *dst, const char *src, size_t size);

size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = 0;
	}
	return len;
}
