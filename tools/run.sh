#!/usr/bin/env bash
# tools/run.sh qemu-uefi|qemu-bios|bochs: boot hv interactively, serial on this terminal.
# QEMU uses KVM when /dev/kvm offers nested VMX or SVM, else TCG with SVM (hv's AMD backend).
# The VMs come from tools/run.cfg (edit it, or set HV_CONFIG=path); their files from build/guests.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-qemu-uefi}
cfg=${HV_CONFIG:-tools/run.cfg}
cmdline=${HV_CMDLINE:-}
cpus=${HV_CPUS:-4}
work=build/run
mkdir -p "$work"
cp "$cfg" "$work/vms.cfg"
files=("$work/vms.cfg")
for k in $(sed -n 's/^[[:space:]]*\(kernel\|module\)[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\2/p' "$cfg" | sort -u); do
	files+=("build/guests/$k")
done

accel=(-accel tcg -cpu max)
if [ -w /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo &&
	grep -qsE '^(Y|1)$' /sys/module/kvm_intel/parameters/nested /sys/module/kvm_amd/parameters/nested; then
	accel=(-accel kvm -cpu host)
fi

case "$mode" in
qemu-uefi)
	bash tools/mkesp.sh "$work/esp.img" "$cmdline" "${files[@]}"
	exec qemu-system-x86_64 -machine pc "${accel[@]}" -smp "$cpus" -m 512 -nographic -no-reboot \
		-bios /usr/share/ovmf/OVMF.fd -drive format=raw,file="$work/esp.img",if=virtio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 ;;
qemu-bios)
	bash tools/mkiso.sh build/hv.elf "$work/hv.iso" "$cmdline" "${files[@]}"
	exec qemu-system-x86_64 -machine pc "${accel[@]}" -smp "$cpus" -m 512 -nographic -no-reboot \
		-cdrom "$work/hv.iso" -device isa-debug-exit,iobase=0xf4,iosize=4 ;;
bochs)
	bash tools/mkiso.sh build/hv.elf "$work/hv.iso" "$cmdline" "${files[@]}"
	bash tools/bochsrc.sh "$work/hv.iso" 2 /dev/stdout "$work/bochs.log" > "$work/bochsrc"
	printf 'c\nquit\n' > "$work/dbg.rc"
	exec bochs -q -f "$work/bochsrc" -rc "$work/dbg.rc" ;;
*)
	echo "usage: $0 qemu-uefi|qemu-bios|bochs" >&2
	exit 2 ;;
esac
