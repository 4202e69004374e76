/* The Multiboot command line: whitespace-separated words, either `flag` or `key=value`. Loaders may
 * put the image path first (QEMU and GRUB do); it is just another word. */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdbool.h>

bool cmdline_has(const char *flag);

/* Value of `key=value` copied into buf (truncated to size), or false when key is absent. */
bool cmdline_value(const char *key, char *buf, unsigned size);

#endif
