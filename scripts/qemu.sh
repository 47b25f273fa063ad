#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The patched QEMU for the L1 host of the real-guest tests: QEMU's tree at
# ece408818d27 + patches/qemu/*.patch, cross-built for arm64 as a KVM-only
# qemu-system-aarch64 against a sysroot of Debian sid's arm64 libraries
# (the same glibc and glib as sid's QEMU 11.1 that scripts/l1-qemu.sh puts
# into L1, so both binaries share one library closure there).
#
#   scripts/qemu.sh             build (or reuse) and print the binary's path
#   scripts/qemu.sh --tree DIR  development: configure DIR (once) and build
#                               it in DIR/build-arm64 with the same sysroot,
#                               wrappers and devices file; prints the path
#
# The series: patches/qemu/*.patch, or the *.patch files of the directory
# $VCMDQ_QEMU_PATCHES names (a series being written elsewhere).
# Source: $VCMDQ_QEMU_SRC (a tarball of that tree) or
# ../shared/qemu/qemu-ece408818d27.tar.xz checked against its SHA256SUMS.
# Results live under $VCMDQ_CACHE (~/.cache/vcmdq-sw):
#   qemu-sysroot/        the unpacked .debs (never installed), the gcc and
#                        pkg-config wrappers
#   qemu/<key>/          the binary and its build log; key = hash of the
#                        tarball's sha256, the patches, the devices file and
#                        this script, so the build runs once per key
# Progress on stderr ("qemu: ..."), the binary's path on stdout.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
SHARED=$top/../shared/qemu
TARBALL_NAME=qemu-ece408818d27.tar.xz
DEVNAME=vcmdq-l1
JOBS=${JOBS:-$(nproc)}
SR=$CACHE/qemu-sysroot
APT=(-o APT::Default-Release=sid -o APT::Sandbox::User=root)
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}

say() { printf 'qemu: %s\n' "$*" >&2; }
die() { printf 'qemu: ERROR: %s\n' "$*" >&2; exit 1; }
since() { echo "$(( $(date +%s) - $1 ))s"; }

tree=
case "${1:-}" in
--tree)
	[ -n "${2:-}" ] || die "usage: $0 [--tree DIR]"
	tree=$(cd "$2" && pwd) || die "no directory $2"
	{ [ -f "$tree/configure" ] && [ -d "$tree/hw/arm" ]; } ||
		die "$tree is not a QEMU source tree"
	;;
"") ;;
*) die "usage: $0 [--tree DIR]" ;;
esac

# The devices the L1 VMM needs: the virt board (UEFI + ACPI, which
# accel=on requires), vfio-pci on iommufd, the SMMUv3 with its accelerated
# (iommufd-nested) mode, PCIe root ports and expander bridges (an SMMU per
# bus), CXL because pxb-cxl is part of the PXB code.
devices_mak() {
	cat <<-'EOF'
		# vcmdq-sw: the L1 VMM of the real-guest tests (written by scripts/qemu.sh)
		CONFIG_ARM_VIRT=y
		CONFIG_VFIO_PCI=y
		CONFIG_IOMMUFD=y
		CONFIG_ARM_SMMUV3=y
		CONFIG_PCIE_PORT=y
		CONFIG_PXB=y
		CONFIG_CXL=y
		CONFIG_CXL_MEM_DEVICE=y
	EOF
	# the accelerated vSMMU has its own symbol in newer trees
	[ -z "${1:-}" ] || ! grep -qs '^config ARM_SMMUV3_ACCEL' "$1/hw/arm/Kconfig" ||
		echo CONFIG_ARM_SMMUV3_ACCEL=y
}

for tool in aarch64-linux-gnu-gcc ninja pkg-config apt-get apt-cache \
	dpkg-deb readelf sha256sum flock; do
	command -v "$tool" >/dev/null ||
		die "$tool not found: run scripts/bootstrap.sh kernel (make check does)"
done
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3)

# --- the sysroot: sid's arm64 dev packages, unpacked with dpkg-deb -x
# linux-libc-dev is architecture-independent in sid; the others are arm64.
SR_PKGS=(libc6 libc6-dev libgcc-s1 libatomic1 libcrypt1 libcrypt-dev
	zlib1g zlib1g-dev libfdt1 libfdt-dev
	libglib2.0-0t64 libglib2.0-dev libgio-2.0-dev libsysprof-capture-4-dev
	libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libpcre2-dev
	libffi8 libffi-dev libmount1 libmount-dev libblkid1 libblkid-dev
	libselinux1 libselinux1-dev libsepol2 libsepol-dev)
sysroot() {
	local want t0 p names=() cc=/usr/bin/aarch64-linux-gnu-gcc
	want=$( { printf '%s\n' "${SR_PKGS[@]}"; sed -n '/^sysroot()/,/^}/p' "$0"; } |
		sha256sum | cut -c1-16)
	[ "$(cat "$SR/.done" 2>/dev/null)" = "$want" ] && return 0
	dpkg --print-foreign-architectures | grep -qx arm64 ||
		die "arm64 is not a dpkg foreign architecture: run scripts/bootstrap.sh kernel"
	t0=$(date +%s)
	for p in "${SR_PKGS[@]}"; do names+=("$p:arm64"); done
	names+=(linux-libc-dev)
	rm -rf "$SR.tmp" && mkdir -p "$SR.tmp/debs" "$SR.tmp/root" "$SR.tmp/bin"
	say "sysroot: downloading ${#names[@]} packages from sid (arm64)"
	if ! (cd "$SR.tmp/debs" && apt-get download -qq "${APT[@]}" "${names[@]}"); then
		say "download failed; apt-get update and retry once"
		apt-get update -qq || die "apt-get update failed"
		(cd "$SR.tmp/debs" && apt-get download -qq "${APT[@]}" "${names[@]}") ||
			die "apt-get download of the sysroot packages failed"
	fi
	for p in "$SR.tmp"/debs/*.deb; do dpkg-deb -x "$p" "$SR.tmp/root"; done
	ls "$SR.tmp/debs" >"$SR.tmp/packages"
	rm -rf "$SR.tmp/debs"
	# libc.so and the .pc files name /lib/... and /usr/lib/... paths
	[ -e "$SR.tmp/root/lib" ] || ln -s usr/lib "$SR.tmp/root/lib"
	local S=$SR/root M=aarch64-linux-gnu
	# Without -B/-L/-rpath-link into the sysroot, ld takes the cross
	# toolchain's own (older) glibc and fails on sid's libraries.
	cat >"$SR.tmp/bin/$M-gcc" <<-EOF
		#!/bin/sh
		exec \${VCMDQ_QEMU_CCACHE:-} $cc --sysroot=$S -B $S/usr/lib/$M \\
		    -L $S/usr/lib/$M -L $S/lib/$M \\
		    -Wl,-rpath-link,$S/usr/lib/$M -Wl,-rpath-link,$S/lib/$M "\$@"
	EOF
	cat >"$SR.tmp/bin/$M-pkg-config" <<-EOF
		#!/bin/sh
		PKG_CONFIG_SYSROOT_DIR=$S
		PKG_CONFIG_LIBDIR=$S/usr/lib/$M/pkgconfig:$S/usr/share/pkgconfig
		export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
		exec pkg-config "\$@"
	EOF
	chmod +x "$SR.tmp/bin"/*
	rm -rf "$SR" && mv "$SR.tmp" "$SR"
	echo "$want" >"$SR/.done"
	say "sysroot: $(du -sh "$SR/root" | cut -f1) in $SR ($(since "$t0"))"
}

# configure + ninja in SRC/build-arm64; SRC already has the devices file.
build() { # SRC LOG
	local src=$1 log=$2 b=$1/build-arm64 t0
	export PATH=$SR/bin:$PATH
	command -v ccache >/dev/null && export VCMDQ_QEMU_CCACHE=ccache \
		CCACHE_BASEDIR=$src CCACHE_NOHASHDIR=1
	if [ ! -f "$b/build.ninja" ]; then
		t0=$(date +%s)
		say "configure (aarch64-softmmu, KVM only, devices $DEVNAME) in $b"
		rm -rf "$b" && mkdir -p "$b"
		(cd "$b" && nice -n 10 ../configure --python="$PY" \
			--cross-prefix=aarch64-linux-gnu- \
			--target-list=aarch64-softmmu --without-default-features \
			--without-default-devices --with-devices-aarch64=$DEVNAME \
			--enable-kvm --disable-tcg --disable-download --disable-docs \
			--enable-fdt=system) >"$log" 2>&1 || {
			tail -25 "$log" >&2
			rm -f "$b/build.ninja"
			die "configure failed (log $log)"
		}
		say "configured in $(since "$t0")"
	fi
	t0=$(date +%s)
	say "ninja qemu-system-aarch64 ($JOBS jobs, nice 10)"
	# ninja's [N/M] status, one progress line per 100 steps and the last
	NINJA_STATUS='[%f/%t] ' nice -n 10 ninja -C "$b" -j "$JOBS" \
		qemu-system-aarch64 2>&1 | tee -a "$log" |
		awk '/^\[[0-9]+\/[0-9]+\]/ {
			split(substr($1, 2), a, "[/\\]]")
			if (a[1] - last >= 100 || a[1] == a[2]) {
				printf "qemu: ... %d/%d steps\n", a[1], a[2] > "/dev/stderr"
				fflush("/dev/stderr")
				last = a[1]
			}
		}'
	[ "${PIPESTATUS[0]}" = 0 ] || {
		grep -E 'error|FAILED' "$log" | head -20 >&2
		die "ninja failed (log $log)"
	}
	[ -x "$b/qemu-system-aarch64" ] || die "no $b/qemu-system-aarch64"
	say "built in $(since "$t0")"
}

# Every library the binary needs must be in L1's closure of sid's QEMU.
check_needed() { # BINARY
	local root so missing=()
	root=$("$top/scripts/l1-qemu.sh")/root || die "scripts/l1-qemu.sh failed"
	while IFS= read -r so; do
		[ -e "$root/lib/$so" ] || missing+=("$so")
	done < <(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	[ ${#missing[@]} = 0 ] ||
		die "$1 needs ${missing[*]}, not in L1's library closure ($root/lib)"
	say "NEEDED: $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
		tr '\n' ' ')(all in L1's closure)"
}

# One build in the cache's work tree at a time; a --tree build holds the
# lock only while the sysroot is made (each tree has its own build dir).
mkdir -p "$CACHE"
exec 9>"$CACHE/.qemu.lock"
flock 9

if [ -n "$tree" ]; then
	sysroot
	flock -u 9
	devices_mak "$tree" >"$tree/configs/devices/aarch64-softmmu/$DEVNAME.mak.new"
	# rewrite only on change, or ninja would reconfigure every time
	if cmp -s "$tree/configs/devices/aarch64-softmmu/$DEVNAME.mak.new" \
		"$tree/configs/devices/aarch64-softmmu/$DEVNAME.mak"; then
		rm "$tree/configs/devices/aarch64-softmmu/$DEVNAME.mak.new"
	else
		mv "$tree/configs/devices/aarch64-softmmu/$DEVNAME.mak.new" \
			"$tree/configs/devices/aarch64-softmmu/$DEVNAME.mak"
	fi
	build "$tree" "$tree/build-arm64.log"
	check_needed "$tree/build-arm64/qemu-system-aarch64"
	echo "$tree/build-arm64/qemu-system-aarch64"
	exit 0
fi

# --- the source
if [ -n "${VCMDQ_QEMU_SRC:-}" ]; then
	TARBALL=$VCMDQ_QEMU_SRC
	[ -f "$TARBALL" ] || die "VCMDQ_QEMU_SRC=$TARBALL: no such file"
	sha=$(sha256sum "$TARBALL" | cut -d' ' -f1)
	say "source $TARBALL (VCMDQ_QEMU_SRC, sha256 ${sha:0:16})"
elif [ -f "$SHARED/$TARBALL_NAME" ]; then
	TARBALL=$SHARED/$TARBALL_NAME
	sha=$(sha256sum "$TARBALL" | cut -d' ' -f1)
	grep -qE "^$sha  $TARBALL_NAME\$" "$SHARED/SHA256SUMS" 2>/dev/null ||
		die "$TARBALL does not match $SHARED/SHA256SUMS"
	say "source $TARBALL (sha256 matches SHA256SUMS)"
else
	die "no QEMU source: set VCMDQ_QEMU_SRC to a tarball of QEMU's tree at ece408818d27 (plus subprojects/keycodemapdb), or put $TARBALL_NAME and its SHA256SUMS in $SHARED"
fi

PATCHDIR=${VCMDQ_QEMU_PATCHES:-$top/patches/qemu}
[ -z "${VCMDQ_QEMU_PATCHES:-}" ] || [ -d "$PATCHDIR" ] ||
	die "VCMDQ_QEMU_PATCHES=$PATCHDIR: no such directory"
mapfile -t patches < <(find "$PATCHDIR" -maxdepth 1 -name '*.patch' 2>/dev/null | sort)
key=$( { echo "$sha"; devices_mak /nonexistent
	[ ${#patches[@]} = 0 ] || cat "${patches[@]}"; cat "$0"; } |
	sha256sum | cut -c1-16)
OUT=$CACHE/qemu/$key
if [ -x "$OUT/qemu-system-aarch64" ] && [ -f "$OUT/.done" ]; then
	say "cached build $OUT (${#patches[@]} patches)"
	echo "$OUT/qemu-system-aarch64"
	exit 0
fi

t_all=$(date +%s)
sysroot
W=$CACHE/qemu/work
rm -rf "$W" "$OUT.tmp" && mkdir -p "$W" "$OUT.tmp"
say "unpacking $(basename "$TARBALL")"
tar -xf "$TARBALL" -C "$W" --strip-components=1 ||
	die "unpacking $TARBALL failed"
{ [ -f "$W/configure" ] && [ -f "$W/hw/arm/Kconfig" ]; } ||
	die "$TARBALL does not hold a QEMU tree"
for p in "${patches[@]}"; do
	say "applying $(basename "$p")"
	patch -s -p1 -d "$W" --no-backup-if-mismatch --forward --fuzz=0 <"$p" ||
		die "$p does not apply"
done
devices_mak "$W" >"$W/configs/devices/aarch64-softmmu/$DEVNAME.mak"
build "$W" "$OUT.tmp/build.log"
check_needed "$W/build-arm64/qemu-system-aarch64"
cp "$W/build-arm64/qemu-system-aarch64" "$OUT.tmp/"
{
	echo "source: $(basename "$TARBALL") sha256 $sha"
	for p in "${patches[@]}"; do echo "patch: $(basename "$p")"; done
	cat "$SR/packages"
} >"$OUT.tmp/manifest"
touch "$OUT.tmp/.done"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
# the tree is 1 GB with objects; ccache keeps what a rebuild needs
rm -rf "$W"
say "$(du -h "$OUT/qemu-system-aarch64" | cut -f1) binary in $(since "$t_all") ($OUT)"
echo "$OUT/qemu-system-aarch64"
