/* Bringing the VMM up at boot: backend choice, per-CPU enable, the VMs of the configuration. */
#ifndef HV_VMM_BOOT_H
#define HV_VMM_BOOT_H

#include <hv/boot_info.h>
#include <hv/config.h>
#include <stdbool.h>

/* Picks VMX or SVM by vendor and features; a clear boot error when there is none. */
void vmm_select_backend(void);
/* On each CPU before it runs vcpus; false when virtualization could not be enabled there. */
bool vmm_cpu_init(void);
/* After SMP: reports readiness, creates the configured VMs and hands their vcpus to their CPUs. */
void vmm_start_vms(const struct boot_info *bi);
bool vmm_vms_running(void);
/* Before any VM is created, each VM against the machine: its guest files there, a running CPU for
 * each vcpu (automatic pins filled in), memory. ok[i] false for a refused VM, whose problem and line
 * are logged. */
void vmm_check_config(struct hv_config *cfg, const struct boot_info *bi, const char *config_file,
			  bool ok[CONFIG_MAX_VMS]);
/* The per-CPU loop: runs the vcpu pinned here, else sleeps. */
_Noreturn void vmm_cpu_loop(void);

#endif
