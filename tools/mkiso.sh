#!/usr/bin/env bash
# tools/mkiso.sh HV_ELF OUT.iso [CMDLINE] [MODULE...]
# A GRUB rescue ISO that boots hv through multiboot2: BIOS always, UEFI too where grub-efi-amd64-bin
# is installed. Only the modules GRUB needs are embedded, which keeps boot fast under Bochs.
# HV_GRUB_PRELUDE: GRUB commands to run before loading hv, one per line, each command's module
# embedded too (tests use `wrmsr` to leave an MSR as a firmware would).
set -euo pipefail
elf=$1
out=$2
cmdline=${3:-}
prelude=${HV_GRUB_PRELUDE:-}
shift $(( $# < 3 ? $# : 3 ))

work=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$work" "$log"' EXIT
mkdir -p "$work/boot/grub"
cp "$elf" "$work/boot/hv.elf"
{
	echo "set timeout=0"
	echo "set default=0"
	echo "menuentry hv {"
	[ -z "$prelude" ] || sed 's/^/  /' <<<"$prelude"
	echo "  multiboot2 /boot/hv.elf $cmdline"
	for m in "$@"; do
		name=$(basename "$m")
		cp "$m" "$work/boot/$name"
		echo "  module2 /boot/$name $name"
	done
	echo "  boot"
	echo "}"
} > "$work/boot/grub/grub.cfg"

mods="normal multiboot2 iso9660 part_msdos part_gpt fat configfile"
[ -z "$prelude" ] || mods="$mods $(awk '{ print $1 }' <<<"$prelude" | sort -u | tr '\n' ' ')"
grub-mkrescue -o "$out" --install-modules="$mods" --locales= --fonts= --themes= "$work" \
	>/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
