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
/* Fills opts from cmdline; returns false and names the bad token in err for a malformed value. */
bool options_parse(const char *cmdline, struct hv_options *opts, char *err, size_t err_size);

#endif
