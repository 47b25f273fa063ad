#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what vcmdq-sw needs on a Debian bookworm machine. Idempotent: a
# second run finds everything present and does nothing. Prints each step.
#
#   scripts/bootstrap.sh user    tools for the user-space build and tests
#   scripts/bootstrap.sh kernel  + arm64 cross toolchain, QEMU, kernel source
#
# Suites beyond bookworm are added by reusing the URIs of the machine's own
# Debian sources file; sid is pinned at priority 50 so nothing upgrades from
# it by accident. Nothing is fetched from anywhere but the Debian archive.
set -euo pipefail

what=${1:-user}
CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
KSRC_PKG=linux-source-7.2
SRC_LIST=/etc/apt/sources.list.d/vcmdq-sw.sources
PIN=/etc/apt/preferences.d/vcmdq-sw-pin

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get); run: sudo $0 $what"

updated=0
apt_update() {
	[ $updated = 1 ] && return 0
	say "apt-get update"
	apt-get update -qq || die "apt-get update failed"
	updated=1
}

# Install the named packages that are missing (dpkg-query name[:arch]).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	apt_update
	say "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

add_suites() {
	[ -f "$SRC_LIST" ] && return 0
	local main=/etc/apt/sources.list.d/debian.sources uris keyring
	[ -f "$main" ] || die "no $main to take the archive URIs from"
	uris=$(awk '/^URIs:/ && $2 !~ /security/ { print; exit }' "$main")
	keyring=$(awk '/^Signed-By:/ { print; exit }' "$main")
	[ -n "$uris" ] || die "no URIs line in $main"
	say "adding suites bookworm-backports, sid (pinned 50) to $SRC_LIST"
	{
		echo "Types: deb"
		echo "$uris"
		echo "Suites: bookworm-backports sid"
		echo "Components: main"
		[ -n "$keyring" ] && echo "$keyring"
	} >"$SRC_LIST"
	cat >"$PIN" <<-EOF
		Package: *
		Pin: release n=sid
		Pin-Priority: 50
	EOF
	updated=0
}

user_deps() {
	need_pkgs make gcc clang libclang-rt-14-dev liburing-dev valgrind bc \
		python3
}

# Fetch one Debian package for arm64 and unpack it into the sysroot.
arm64_into_sysroot() {
	local pkg=$1 stamp="$CACHE/sysroot/.$1"
	[ -f "$stamp" ] && return 0
	dpkg --print-foreign-architectures | grep -qx arm64 || {
		say "dpkg --add-architecture arm64"
		dpkg --add-architecture arm64
		updated=0
	}
	apt_update
	mkdir -p "$CACHE/sysroot" "$CACHE/debs"
	say "fetching $pkg:arm64 into $CACHE/sysroot"
	(cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg:arm64") ||
		die "apt-get download $pkg:arm64 failed"
	dpkg-deb -x "$(ls -t "$CACHE"/debs/"${pkg}"_*_arm64.deb | head -1)" \
		"$CACHE/sysroot"
	touch "$stamp"
}

kernel_source() {
	local dst="$CACHE/linux-7.2" deb tarball
	[ -f "$dst/.extracted" ] && return 0
	apt_update
	mkdir -p "$CACHE/debs"
	say "fetching $KSRC_PKG from sid (apt-get download)"
	(cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root -t sid "$KSRC_PKG") ||
		die "apt-get download $KSRC_PKG failed (is sid reachable?)"
	deb=$(ls -t "$CACHE"/debs/"${KSRC_PKG}"_*.deb | head -1)
	rm -rf "$CACHE/pkg" "$dst"
	dpkg-deb -x "$deb" "$CACHE/pkg"
	tarball=$(ls "$CACHE"/pkg/usr/src/linux-source-7.2*.tar.xz | head -1)
	[ -f "$tarball" ] || die "no source tarball inside $deb"
	say "extracting $(basename "$tarball") to $dst"
	mkdir -p "$dst"
	tar -xf "$tarball" -C "$dst" --strip-components=1
	basename "$deb" >"$dst/.extracted"
	rm -rf "$CACHE/pkg"
}

kernel_deps() {
	add_suites
	# ninja-build, pkgconf, python3-venv: scripts/qemu.sh cross-builds
	# the patched QEMU (its configure makes a venv from the tree's wheels);
	# gnuplot-nox draws build/bench.png
	need_pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross ccache rsync bc \
		bison flex cpio xz-utils kmod python3 libelf-dev libssl-dev \
		binutils e2fsprogs ninja-build pkgconf python3-venv gnuplot-nox
	if ! dpkg-query -W -f='${Status}' qemu-system-arm 2>/dev/null |
		grep -q 'install ok installed'; then
		apt_update
		say "installing qemu-system-arm from bookworm-backports"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends -t bookworm-backports \
			qemu-system-arm >/dev/null ||
			die "installing qemu-system-arm failed"
	fi
	arm64_into_sysroot busybox-static
	arm64_into_sysroot liburing-dev
	arm64_into_sysroot liburing2
	arm64_into_sysroot libcap-dev
	arm64_into_sysroot libcap2
	kernel_source
}

case "$what" in
user) user_deps ;;
kernel) user_deps; kernel_deps ;;
*) die "usage: $0 user|kernel" ;;
esac
