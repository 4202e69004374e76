#!/usr/bin/env bash
# Install what hv needs to build and test, only what is missing. Idempotent; CI and new machines
# start bare, so `make`, `make test` and .ci/run all call this.
set -euo pipefail

pkgs=(
  clang lld llvm make binutils python3 libcmocka-dev libclang-rt-dev
  gnu-efi mtools dosfstools fdisk xorriso
  grub-common grub-pc-bin grub-efi-amd64-bin
  qemu-system-x86 ovmf seabios
  bochs bochsbios vgabios bochs-term
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
