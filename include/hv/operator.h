/*
 * The operator's console on hv's serial line. Typed bytes go to the COM1 of the VM that has the
 * focus; Ctrl-] (0x1d) opens hv's command line instead (`help` lists the commands, an empty line
 * or Ctrl-] again returns to the VM).
 */
#ifndef HV_OPERATOR_H
#define HV_OPERATOR_H

#include <hv/acpi.h>

#define OPERATOR_ESCAPE 0x1d /* Ctrl-], the telnet escape */

/* Takes the serial line's input; call once the VMs are published. */
void operator_start(const struct acpi_info *acpi);

#endif
