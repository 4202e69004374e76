#!/usr/bin/env bash
# Capture the ACPI tables QEMU's firmware builds, as C fixtures for tests/unit/test_acpi.c.
# Boots QEMU with no disk (the firmware builds its tables during POST and then waits for a boot
# device), dumps guest RAM through the monitor's pmemsave, and extracts the tables with
# tools/acpi_fixture.py. No root needed. Usage: bash tools/acpi-capture.sh [outdir]
set -euo pipefail

out=${1:-tests/unit/fixtures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
qver=$(qemu-system-x86_64 --version | head -1)

# name, seconds to let the firmware run, description, qemu arguments
capture() {
	local name=$1 wait=$2 desc=$3
	shift 3
	local dump=$tmp/$name.bin
	(sleep "$wait"; echo "pmemsave 0 0x10000000 \"$dump\""; sleep 3; echo quit) |
		timeout $((wait + 30)) qemu-system-x86_64 -m 256 -display none -monitor stdio \
			-serial none -net none "$@" >/dev/null 2>&1 || true
	[ -s "$dump" ] || { echo "acpi-capture: no dump for $name" >&2; exit 1; }
	python3 tools/acpi_fixture.py "$dump" "$name" "$desc ($qver, -m 256 -net none)" "$out/$name.h"
	echo "acpi-capture: wrote $out/$name.h"
}

capture qemu_pc_smp4 4 "qemu-system-x86_64 -machine pc -smp 4, SeaBIOS" -machine pc -smp 4
capture qemu_q35_smp4_ovmf 25 "qemu-system-x86_64 -machine q35 -smp 4, OVMF (/usr/share/ovmf/OVMF.fd)" \
	-machine q35 -smp 4 -bios /usr/share/ovmf/OVMF.fd
