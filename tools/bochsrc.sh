#!/usr/bin/env bash
# tools/bochsrc.sh ISO CPUS SERIAL_LOG BOCHS_LOG [CPU_MODEL] [MEGS] [BIOS] > bochsrc
# A headless Bochs configuration (see DESIGN.md "Intel VMX + EPT on Bochs"): rfb display that never
# waits for a viewer, the deterministic clock, COM1 to a file, magic breakpoint for test exits.
# BIOS: Bochs's own (the default; it locks IA32_FEATURE_CONTROL with VMX on) or another image, such
# as SeaBIOS's, which leaves IA32_FEATURE_CONTROL to the boot loader and hv.
set -euo pipefail
iso=$1 cpus=$2 serial=$3 log=$4 model=${5:-corei7_skylake_x} megs=${6:-256}
bios=${7:-/usr/share/bochs/BIOS-bochs-latest}
cat <<CFG
display_library: rfb, options="timeout=0"
megs: $megs
romimage: file=$bios, options=fastboot
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=$model, count=$cpus, ips=1000000, reset_on_triple_fault=0, ignore_bad_msrs=1
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$serial
mouse: enabled=0
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
clock: sync=none, time0=946681200
magic_break: enabled=1
log: $log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
CFG
