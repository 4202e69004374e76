/*
 * The VM configuration: a text file (vms.cfg: a GRUB module, or \hv\vms.cfg on the ESP).
 *
 *   # comment
 *   [vm NAME]                   one section per VM; NAME is [A-Za-z0-9_.-], at most 31 chars
 *   cpus = 1                    vCPUs (default 1)
 *   pin = 1 2                   the physical CPU (index, 0 = bootstrap) of each vCPU, in order;
 *                               default: the next CPUs no pin names, from 1, then 0
 *   memory = 64M                guest RAM, K/M/G suffix, 2M to 3G (default 32M; rounded up to 2 MiB)
 *   kernel = FILE               Multiboot kernel image (a boot file's name); required
 *   cmdline = TEXT              the guest's command line (the rest of the line)
 *   module = FILE [ARGS]        a file handed to the guest as a Multiboot module; repeatable
 *
 * Pure parsing: every error names its line, and each setting keeps its line for the checks against
 * the machine (config_check.h).
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_VMS 16
#define CONFIG_MAX_VCPUS 16
#define CONFIG_MAX_MODULES 8
#define CONFIG_NAME_MAX 32
#define CONFIG_FILE_MAX 128
#define CONFIG_CMDLINE_MAX 256
#define CONFIG_DEFAULT_MEMORY (32ull << 20)
#define CONFIG_PIN_AUTO 0xffffffffu

struct vm_config {
	char name[CONFIG_NAME_MAX];
	uint32_t line; /* the [vm] line, for messages about the whole VM */
	uint32_t pin_line, memory_line, kernel_line; /* 0 where the key is not given */
	uint32_t module_lines[CONFIG_MAX_MODULES];
	uint32_t vcpus;
	uint32_t pin[CONFIG_MAX_VCPUS]; /* CONFIG_PIN_AUTO where not given */
	uint64_t memory;
	char kernel[CONFIG_FILE_MAX];
	char cmdline[CONFIG_CMDLINE_MAX];
	char modules[CONFIG_MAX_MODULES][CONFIG_FILE_MAX];
	uint32_t module_count;
};

struct hv_config {
	struct vm_config vms[CONFIG_MAX_VMS];
	uint32_t vm_count;
};

/* 0 on success; otherwise -1 and err holds "line N: what is wrong". */
int config_parse(const char *text, size_t len, struct hv_config *out, char *err, size_t err_size);

#endif
