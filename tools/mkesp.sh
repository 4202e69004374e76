#!/usr/bin/env bash
# tools/mkesp.sh OUT.img "CMDLINE" [FILE...]
#
# A FAT disk image that OVMF boots: EFI/BOOT/BOOTX64.EFI from the ESP tree (build/esp, or $ESP_DIR),
# hv/cmdline.txt holding CMDLINE, and each FILE as hv/<its base name> (a module for hv).
# The image is a partitionless FAT "superfloppy": OVMF's FAT driver mounts the whole disk and its
# boot manager finds \EFI\BOOT\BOOTX64.EFI on it, so no partition table is needed. Built with
# mtools only (no root, no loop device); it runs once per test case, so it stays a handful of calls.
#
# Boot it with e.g.
#   qemu-system-x86_64 -machine pc -cpu max -m 256 -bios /usr/share/ovmf/OVMF.fd \
#     -drive format=raw,file=OUT.img -serial stdio -display none -no-reboot
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 OUT.img \"CMDLINE\" [FILE...]" >&2
	exit 2
fi
out=$1
cmdline=$2
shift 2

root=$(cd "$(dirname "$0")/.." && pwd)
esp=${ESP_DIR:-$root/build/esp}
app=$esp/EFI/BOOT/BOOTX64.EFI
if [ ! -f "$app" ]; then
	echo "mkesp: $app is missing (run: make build/esp/EFI/BOOT/BOOTX64.EFI)" >&2
	exit 1
fi

# Modules land in one directory: two files with the same base name would silently clash.
declare -A seen=()
bytes=$(stat -c %s "$app")
for f in "$@"; do
	if [ ! -f "$f" ]; then
		echo "mkesp: $f: not a regular file" >&2
		exit 1
	fi
	name=$(basename "$f")
	if [ -n "${seen[${name,,}]:-}" ] || [ "${name,,}" = cmdline.txt ]; then
		echo "mkesp: two modules named $name (names are case-insensitive on FAT)" >&2
		exit 1
	fi
	seen[${name,,}]=1
	bytes=$((bytes + $(stat -c %s "$f")))
done

# 32 MiB, or the payload plus 25% and 4 MiB for FAT overhead when the modules are bigger.
mib=$(((bytes + bytes / 4) / 1048576 + 4))
[ "$mib" -lt 32 ] && mib=32

export MTOOLS_SKIP_CHECK=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$cmdline" >"$tmp/cmdline.txt"

rm -f "$out"
truncate -s "${mib}M" "$out"
# 64 heads x 32 sectors x 512 bytes = 1 MiB per cylinder.
mformat -i "$out" -t "$mib" -h 64 -s 32 -v HVESP ::
mmd -i "$out" ::/EFI ::/EFI/BOOT ::/hv
mcopy -i "$out" "$app" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out" "$tmp/cmdline.txt" "$@" ::/hv/
