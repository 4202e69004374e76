/* hv's command line (GRUB's, or \hv\cmdline.txt on the ESP). */
#ifndef HV_OPTIONS_H
#define HV_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_options {
	int loglevel;	  /* loglevel=0..3: errors, warnings, info (default), debug */
	uint32_t maxcpus; /* maxcpus=N: bring up at most N CPUs, the bootstrap CPU included */
	bool test_exit;	  /* test-exit: end the emulator with a pass/fail code when the run is complete */
	bool panic_test;  /* panic-test: fault on purpose after boot */
};

extern struct hv_options hv_options;

/* Pure parsing, shared with host tests. Tokens are separated by spaces; "key" or "key=value". */
bool cmdline_has(const char *cmdline, const char *key);
bool cmdline_get(const char *cmdline, const char *key, char *value, size_t size);
bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *value);
/*
 * The first line of a cmdline.txt file (text, len bytes, not NUL-terminated), without a UTF-8 byte
 * order mark and leading or trailing blanks, appended to the NUL-terminated cmdline (size bytes)
 * after a space. The multiboot2 path uses it for a GRUB module named cmdline.txt, so a USB stick's
 * hv/cmdline.txt means the same through GRUB as through the EFI loader. Returns false, cmdline
 * unchanged, when the result would not fit.
 */
bool cmdline_append_line(char *cmdline, size_t size, const char *text, size_t len);
/* Fills opts from cmdline; returns false and names the bad token in err for a malformed value. */
bool options_parse(const char *cmdline, struct hv_options *opts, char *err, size_t err_size);

#endif
