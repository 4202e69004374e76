/*
 * The parsed configuration against the machine it boots on, before any VM is created: each VM's guest
 * files are among the boot files, each of its vcpus gets a running CPU of its own, and it fits in the
 * memory the VMs before it left. Pure logic over facts the kernel gathers at boot, so host tests run
 * every case.
 */
#ifndef HV_CONFIG_CHECK_H
#define HV_CONFIG_CHECK_H

#include <hv/config.h>
#include <hv/pmm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_CHECK_MESSAGE_MAX 384

enum config_cpu_state {
	CONFIG_CPU_USABLE,  /* online, with VMX/SVM enabled */
	CONFIG_CPU_FAILED,  /* listed by the firmware but did not start */
	CONFIG_CPU_NO_VIRT, /* online, but VMX/SVM could not be enabled on it */
};

struct config_machine {
	const char *const *files; /* the boot files' names, the configuration file left out */
	uint32_t file_count;
	const uint8_t *cpu_state; /* enum config_cpu_state of hv's CPUs 0..cpu_count-1 (0 = bootstrap) */
	uint32_t cpu_count;
	uint32_t maxcpus;   /* the maxcpus= option, UINT32_MAX when not given */
	const char *virt;   /* "vmx" or "svm", for messages */
	struct pmm *memory; /* a copy of the free memory: the check allocates every VM from it */
	uint64_t ram_align; /* alignment of a VM's guest RAM block */
	uint64_t vm_host_bytes; /* hv's own memory per VM, beyond its guest RAM */
};

/* Called once per refused VM with "line N: vm NAME: what is wrong", N the line of the setting at fault. */
typedef void (*config_report_fn)(void *ctx, const char *message);

/*
 * Checks the VMs in order. A VM with a problem is refused alone (ok[i] false, one report) and holds
 * nothing, so the VMs after it may use its CPUs and memory. Fills in the automatic pins of the VMs that
 * pass: each gets the next usable CPU from 1 (then 0) that no earlier VM holds and no later VM names
 * in its pin list. Returns how many VMs were refused.
 */
uint32_t config_check(struct hv_config *cfg, struct config_machine *m, bool ok[CONFIG_MAX_VMS],
		      config_report_fn report, void *ctx);

#endif
