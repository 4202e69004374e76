#ifndef SMP_ACPI_H
#define SMP_ACPI_H
#include <stdint.h>
/* Enabled processors in the MADT, or -1 when there are no ACPI tables to read. */
int acpi_count_cpus(void);
#endif
