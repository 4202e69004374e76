#!/usr/bin/env bash
# Builds hv's Linux guest from Debian's packages into OUT (default build/linux):
#   OUT/vmlinuz            the bzImage of Debian's linux-image-*-amd64 (the kernel linux-image-amd64
#                          depends on; LINUX_PKG=linux-image-6.1.0-N-amd64 picks another)
#   OUT/initramfs.cpio.gz  busybox-static and ./init (prints HV-LINUX-* lines, then powers off)
#   OUT/debs/              the downloaded packages, kept so a rebuild needs no network
#   OUT/kernel-package     the kernel package name and version the image came from
# Needs apt-get/apt-cache (no root, except for an `apt-get update` when the package lists are
# empty), dpkg-deb and python3. Idempotent: downloads and extracts only what is missing or stale.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/linux}
debs=$out/debs
mkdir -p "$debs"
say() { echo "linux-guest: $*" >&2; }

apt_update() {
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	say "no package lists: apt-get update"
	$sudo apt-get update -qq
}

# The kernel package linux-image-amd64 points at today (e.g. linux-image-6.1.0-56-amd64).
kernel_package() {
	if [ -n "${LINUX_PKG:-}" ]; then
		echo "$LINUX_PKG"
		return
	fi
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1
}

# Newest .deb of package $1 in $debs, downloading it when absent (apt-get download checks the
# version apt would install; an older cached file of the same package is replaced).
fetch() {
	local pkg=$1 version file
	version=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$version" ] || [ "$version" = "(none)" ]; then
		# Offline or no lists: use what is cached.
		file=$(cached "$pkg")
		[ -n "$file" ] || { echo "linux-guest: package $pkg not found (apt-get update?)" >&2; exit 1; }
		echo "$file"
		return
	fi
	file=$debs/${pkg}_${version//:/%3a}_amd64.deb
	if [ ! -s "$file" ]; then
		say "downloading $pkg $version"
		rm -f "$debs/${pkg}"_*.deb
		[ "${pkg#linux-image-}" = "$pkg" ] || rm -f "$debs"/linux-image-*.deb
		(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$version" >/dev/null)
	fi
	[ -s "$file" ] || { echo "linux-guest: apt-get download $pkg=$version left no $file" >&2; exit 1; }
	echo "$file"
}

# Extracts member $2 (a tar path inside the package, wildcards allowed) of package file $1 to $3.
extract() {
	local deb=$1 member=$2 dest=$3 tmp
	tmp=$(mktemp -d)
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards "$member"
	# shellcheck disable=SC2086
	cp $tmp/$member "$dest.tmp"
	rm -rf "$tmp"
	mv "$dest.tmp" "$dest"
}

# Up to date: both outputs newer than the recipe (LINUX_REFRESH=1 looks for a newer kernel package).
up_to_date() {
	local f r
	for f in "$out/vmlinuz" "$cpio"; do
		[ -s "$f" ] || return 1
		for r in "$here/build.sh" "$here/init" "$here/mkcpio.py"; do
			[ "$f" -nt "$r" ] || return 1
		done
	done
	[ -z "${LINUX_REFRESH:-}" ] && [ -z "${LINUX_PKG:-}" ]
}
cpio=$out/initramfs.cpio.gz
if up_to_date; then
	say "$out/vmlinuz ($(cat "$out/kernel-package" 2>/dev/null)), $cpio up to date"
	exit 0
fi

# The packages downloaded before, unless asked to look again (a rebuild after a recipe change
# needs neither apt nor the network).
# shellcheck disable=SC2012,SC2086 # $1 is a glob
cached() { ls -t "$debs"/$1_*.deb 2>/dev/null | head -1 || true; }
kdeb="" bdeb=""
if [ -z "${LINUX_REFRESH:-}" ]; then
	kdeb=$(cached "${LINUX_PKG:-linux-image-[0-9]*-amd64}")
	bdeb=$(cached busybox-static)
fi
if [ -z "$kdeb" ] || [ -z "$bdeb" ]; then
	candidate=$(apt-cache policy busybox-static 2>/dev/null | sed -n 's/^ *Candidate: //p')
	{ [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; } || apt_update
	kpkg=$(kernel_package)
	[ -n "$kpkg" ] || { echo "linux-guest: cannot tell which linux-image-*-amd64 to use" >&2; exit 1; }
	kdeb=$(fetch "$kpkg")
	bdeb=$(fetch busybox-static)
fi

if [ ! -s "$out/vmlinuz" ] || [ "$kdeb" -nt "$out/vmlinuz" ]; then
	say "extracting the kernel from $(basename "$kdeb")"
	extract "$kdeb" './boot/vmlinuz-*' "$out/vmlinuz"
	touch "$out/vmlinuz"
fi
basename "$kdeb" .deb >"$out/kernel-package"

if [ ! -s "$out/busybox" ] || [ "$bdeb" -nt "$out/busybox" ]; then
	extract "$bdeb" './bin/busybox' "$out/busybox"
	touch "$out/busybox"
fi

if [ ! -s "$cpio" ] || [ "$out/busybox" -nt "$cpio" ] || [ "$here/init" -nt "$cpio" ] ||
	[ "$here/mkcpio.py" -nt "$cpio" ]; then
	say "writing $cpio"
	python3 "$here/mkcpio.py" "$cpio.tmp" \
		dir:/bin:755 dir:/sbin:755 dir:/usr:755 dir:/usr/bin:755 dir:/usr/sbin:755 \
		dir:/dev:755 dir:/proc:555 dir:/sys:555 dir:/tmp:1777 dir:/root:700 \
		char:/dev/console:600:5:1 char:/dev/null:666:1:3 char:/dev/ttyS0:660:4:64 \
		file:/bin/busybox:755:"$out/busybox" symlink:/bin/sh:busybox \
		file:/init:755:"$here/init"
	mv "$cpio.tmp" "$cpio"
fi
touch "$out/vmlinuz" "$cpio" # newer than the recipe: the next run (and make) sees them up to date
say "$out/vmlinuz ($(cat "$out/kernel-package")), $cpio ready"
