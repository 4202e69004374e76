#!/usr/bin/env bash
# tools/mkusb.sh OUT.img "CMDLINE" [FILE...]
# tools/mkusb.sh --config VMS.CFG OUT.img "CMDLINE"
#
# One disk image for a USB stick that boots hv on UEFI and on legacy BIOS, with the same files:
#
#   sector 0          MBR: GRUB's boot.img (first 440 bytes) + one partition, FAT32 (0x0c), active
#   sectors 1-2047    GRUB's i386-pc core.img (the gap before the partition, as grub-install uses)
#   partition 1       FAT32 from 1 MiB, label HV:
#     EFI/BOOT/BOOTX64.EFI   hv's EFI loader (hv inside); UEFI firmware starts it from removable media
#     boot/hv.elf            hv for GRUB (the same build as the one inside BOOTX64.EFI)
#     boot/grub/grub.cfg     multiboot2 /boot/hv.elf + one module2 per file found in /hv/ at boot
#     hv/cmdline.txt         hv's command line (first line), CMDLINE
#     hv/vms.cfg, hv/...     the VMs and their files
#
# Both paths read every file of /hv/ when they boot, so an operator edits or adds files in hv/ from
# any OS and nothing else: the EFI loader reads \hv\ itself, GRUB's script loops over /hv/*, and hv
# takes its command line from the module cmdline.txt on the GRUB path (boot/multiboot2/mb2.c).
# Plain MBR rather than GPT: OVMF, SeaBIOS and real firmware of both kinds boot it, and it needs no
# hybrid-MBR tricks. Built without root or loop devices: sfdisk, mkfs.fat and mtools on a file.
#
# With --config, VMS.CFG becomes hv/vms.cfg and the files its kernel/module lines name come from
# VMS.CFG's folder, $BUILD/guests or $BUILD/linux (first found). The hv build comes from $BUILD
# (default build/): $BUILD/hv.elf and $BUILD/esp/EFI/BOOT/BOOTX64.EFI.
set -euo pipefail
# sfdisk and mkfs.fat live in sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

usage() {
	echo "usage: $0 OUT.img \"CMDLINE\" [FILE...]" >&2
	echo "       $0 --config VMS.CFG OUT.img \"CMDLINE\"" >&2
	exit 2
}
die() {
	echo "mkusb: $*" >&2
	exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
elf=$build/hv.elf
app=$build/esp/EFI/BOOT/BOOTX64.EFI

config=
if [ "${1:-}" = --config ]; then
	[ $# -eq 4 ] || usage
	config=$2
	shift 2
fi
[ $# -ge 2 ] || usage
out=$1
cmdline=$2
shift 2
files=("$@")

for tool in sfdisk mkfs.fat mcopy mmd grub-mkimage; do
	command -v "$tool" >/dev/null || die "$tool is missing (run: bash tools/deps.sh)"
done
grubdir=/usr/lib/grub/i386-pc
[ -f "$grubdir/boot.img" ] || die "$grubdir/boot.img is missing (package grub-pc-bin)"
[ -f "$elf" ] || die "$elf is missing (run: make BUILD=$build)"
[ -f "$app" ] || die "$app is missing (run: make BUILD=$build)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --config: the config as vms.cfg plus every file named by a kernel or module line (first word).
if [ -n "$config" ]; then
	[ -f "$config" ] || die "$config: no such file"
	cp "$config" "$tmp/vms.cfg"
	files=("$tmp/vms.cfg")
	cfgdir=$(dirname "$config")
	while read -r name; do
		found=
		for dir in "$cfgdir" "$build/guests" "$build/linux"; do
			if [ -f "$dir/$name" ]; then
				found=$dir/$name
				break
			fi
		done
		[ -n "$found" ] || die "$config names $name, found in none of $cfgdir, $build/guests, $build/linux"
		files+=("$found")
	done < <(sed -n 's/^[[:space:]]*\(kernel\|module\)[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\2/p' \
		"$config" | sort -u)
fi

# Every file lands in hv/ under its base name: two with the same name (FAT ignores case) would clash.
declare -A seen=()
bytes=$(($(stat -c %s "$app") + $(stat -c %s "$elf")))
for f in "${files[@]}"; do
	[ -f "$f" ] || die "$f: not a regular file"
	name=$(basename "$f")
	if [ -n "${seen[${name,,}]:-}" ] || [ "${name,,}" = cmdline.txt ]; then
		die "two files named $name for hv/ (names are case-insensitive on FAT)"
	fi
	seen[${name,,}]=1
	bytes=$((bytes + $(stat -c %s "$f")))
done
printf '%s\n' "$cmdline" >"$tmp/cmdline.txt"

# GRUB for BIOS. The script globs /hv/* at boot (the regexp module provides the wildcards), so
# files added to the stick later are loaded too; each module's name is its file name, as on UEFI.
mkdir -p "$tmp/grub"
cat >"$tmp/grub/grub.cfg" <<'EOF'
# hv on a USB stick, legacy BIOS path (written by tools/mkusb.sh). UEFI firmware boots
# /EFI/BOOT/BOOTX64.EFI instead, which reads the same /hv/ folder. Every file in /hv/ becomes a
# module named after the file; hv takes its command line from the first line of /hv/cmdline.txt.
set timeout=0
set default=0
menuentry hv {
  echo "Loading hv and the files of /hv/ ..."
  multiboot2 /boot/hv.elf
  for f in /hv/*; do
    if [ -f "$f" ]; then
      regexp --set=1:name '([^/]+)$' "$f"
      module2 "$f" "$name"
    fi
  done
  boot
}
EOF
# Everything GRUB needs is inside core.img (it then loads no module from the stick); the prefix
# "(,msdos1)" means partition 1 of the disk the BIOS booted from, whatever its drive number.
grub-mkimage -O i386-pc -o "$tmp/core.img" -p '(,msdos1)/boot/grub' \
	biosdisk part_msdos fat normal configfile multiboot2 boot regexp test echo
core_bytes=$(stat -c %s "$tmp/core.img")
# The partition starts at sector 2048: core.img must fit in sectors 1-2047.
[ "$core_bytes" -le $((2047 * 512)) ] || die "GRUB core.img is $core_bytes bytes, more than the 1 MiB gap"

# 64 MiB, or the payload plus 25% and 8 MiB when it is bigger: FAT32 wants at least 65525
# clusters (33 MiB with 512-byte clusters), and a small image is quick to write to a stick.
mib=$(((bytes + bytes / 4) / 1048576 + 8))
[ "$mib" -lt 64 ] && mib=64
part_sectors=$(((mib - 1) * 2048))

rm -f "$out"
truncate -s "${mib}M" "$out"
# One partition from 1 MiB to the end, FAT32 with LBA (0x0c), active: BIOSes that look for an
# active partition boot the stick, UEFI firmware finds the FAT file system on it.
printf 'label: dos\nstart=2048, size=%d, type=c, bootable\n' "$part_sectors" |
	sfdisk --quiet --no-reread --no-tell-kernel "$out" >/dev/null
# GRUB's boot sector code only: bytes 440-511 hold the disk signature and the partition table.
dd if="$grubdir/boot.img" of="$out" bs=440 count=1 conv=notrunc status=none
# boot.img reads core.img from sector 1 and core.img's first sector reads the rest from sector 2:
# both are the images' defaults, so no grub-bios-setup (which wants a device) is needed.
dd if="$tmp/core.img" of="$out" bs=512 seek=1 conv=notrunc status=none
# FAT32 inside the partition; hidden sectors = the partition's start, as a formatted disk has.
mkfs.fat -F 32 -n HV -h 2048 --offset 2048 "$out" $((part_sectors / 2)) >/dev/null

export MTOOLS_SKIP_CHECK=1
fat="$out@@1M"
mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/boot ::/boot/grub ::/hv
mcopy -i "$fat" "$app" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$fat" "$elf" ::/boot/hv.elf
mcopy -i "$fat" "$tmp/grub/grub.cfg" ::/boot/grub/grub.cfg
mcopy -i "$fat" "$tmp/cmdline.txt" ${files[@]+"${files[@]}"} ::/hv/
