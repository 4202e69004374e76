/* The serial console and hv's log. Every hv line begins "hv: "; a VM's lines begin "[name] ". */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stddef.h>

enum log_level {
	LOG_ERR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

void console_init(void);
void console_set_level(int level);
/* Raw bytes to the serial line, under the console lock (used for VM output). */
void console_write(const char *s, size_t n);
/* Input: raise the receive interrupt, and take the bytes waiting (from its handler). */
void console_input_enable(void);
size_t console_read(char *buf, size_t max);
/* After a panic the lock owner may be stopped: print without waiting for it. */
void console_enter_panic_mode(void);

void hv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...) hv_log(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) hv_log(LOG_WARN, __VA_ARGS__)
#define pr_info(...) hv_log(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) hv_log(LOG_DEBUG, __VA_ARGS__)

#endif
