#!/usr/bin/env bash
# tools/run.sh qemu-uefi|qemu-bios|bochs: boot hv interactively, serial on this terminal.
# QEMU uses KVM when /dev/kvm offers nested VMX or SVM, else TCG with SVM (hv's AMD backend).
# The VMs come from tools/run.cfg (edit it, or set HV_CONFIG=path); their files from $BUILD/guests
# or $BUILD/linux, the first that has them (BUILD: the build tree, default build).
# HV_DEBUG=1 (make debug): QEMU starts halted with its gdbstub on TCP port 1234 and the gdb command
# to attach is printed; Bochs stops at its debugger prompt before the first instruction, with hv's
# symbols loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-qemu-uefi}
# Bochs emulates 2 CPUs at about 1 MIPS, where Linux takes many minutes: it boots two test guests.
default_cfg=tools/run.cfg
[ "$mode" != bochs ] || default_cfg=tools/run-bochs.cfg
cfg=${HV_CONFIG:-$default_cfg}
cmdline=${HV_CMDLINE:-}
cpus=${HV_CPUS:-4}
build=${BUILD:-build}
work=$build/run
mkdir -p "$work"
cp "$cfg" "$work/vms.cfg"
files=("$work/vms.cfg")
for k in $(sed -n 's/^[[:space:]]*\(kernel\|module\)[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\2/p' "$cfg" | sort -u); do
	for dir in "$build/guests" "$build/linux"; do
		[ -e "$dir/$k" ] && { files+=("$dir/$k"); break; }
	done
done

accel=(-accel tcg -cpu max)
if [ -w /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo &&
	grep -qsE '^(Y|1)$' /sys/module/kvm_intel/parameters/nested /sys/module/kvm_amd/parameters/nested; then
	accel=(-accel kvm -cpu host)
fi

# -S: every CPU waits for gdb's "continue"; -s: gdbstub on tcp::1234. hv.elf is linked at its
# run-time virtual addresses on both boot paths, so its symbols apply as they are. Until hv has
# paged itself in those addresses are not mapped: under KVM a software breakpoint (an int3 written
# to guest memory) cannot be set there; a hardware one (hbreak) works under TCG and KVM alike.
gdb=()
if [ "${HV_DEBUG:-}" = 1 ] && [ "$mode" != bochs ]; then
	gdb=(-s -S)
	echo "QEMU waits for gdb on tcp::1234. In another terminal:"
	echo "  gdb $build/hv.elf -ex 'target remote :1234' -ex 'hbreak kernel_main' -ex continue"
	echo "(QEMU exits with Ctrl-A X)"
fi

case "$mode" in
qemu-uefi)
	ESP_DIR=$build/esp bash tools/mkesp.sh "$work/esp.img" "$cmdline" "${files[@]}"
	exec qemu-system-x86_64 -machine pc "${accel[@]}" ${gdb[@]+"${gdb[@]}"} -smp "$cpus" -m 512 -nographic -no-reboot \
		-bios /usr/share/ovmf/OVMF.fd -drive format=raw,file="$work/esp.img",if=virtio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 ;;
qemu-bios)
	bash tools/mkiso.sh "$build/hv.elf" "$work/hv.iso" "$cmdline" "${files[@]}"
	exec qemu-system-x86_64 -machine pc "${accel[@]}" ${gdb[@]+"${gdb[@]}"} -smp "$cpus" -m 512 -nographic -no-reboot \
		-cdrom "$work/hv.iso" -device isa-debug-exit,iobase=0xf4,iosize=4 ;;
bochs)
	bash tools/mkiso.sh "$build/hv.elf" "$work/hv.iso" "$cmdline" "${files[@]}"
	bash tools/bochsrc.sh "$work/hv.iso" 2 /dev/stdout "$work/bochs.log" > "$work/bochsrc"
	printf 'c\nquit\n' > "$work/dbg.rc"
	if [ "${HV_DEBUG:-}" = 1 ]; then
		# Bochs's debugger takes "address name" lines; its breakpoints take addresses (lb ADDR).
		nm "$build/hv.elf" | awk '$2 ~ /^[tT]$/ {print $1, $3}' > "$build/hv.sym"
		printf 'ldsym global "%s"\n' "$build/hv.sym" > "$work/dbg.rc"
		echo "Bochs debugger: hv's symbols from $build/hv.sym; e.g. lb 0x$(nm "$build/hv.elf" |
			awk '$3 == "kernel_main" {print $1}') (kernel_main), then c; docs/debugging.md"
	fi
	exec bochs -q -f "$work/bochsrc" -rc "$work/dbg.rc" ;;
*)
	echo "usage: $0 qemu-uefi|qemu-bios|bochs" >&2
	exit 2 ;;
esac
