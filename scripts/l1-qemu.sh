#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's QEMU 11.1 for the L1 host of the real-guest tests: sid's arm64
# qemu-system-aarch64, every shared library it loads (found by walking the
# ELF NEEDED entries, not by trusting package dependencies), sid's arm64
# loader, and the UEFI firmware (qemu-efi-aarch64) the L2 guest boots with.
#
#   scripts/l1-qemu.sh        prints the root directory to copy into L1
#
# The binary cannot run on the x86_64 host and needs sid's glibc, which
# bookworm does not have: it is unpacked, never installed. Everything lives
# under $VCMDQ_CACHE/l1-qemu/<key>, the key being the package versions it
# was made from, so a new sid upload makes a new directory and an unchanged
# one is reused as it is.
set -euo pipefail

CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
APT=(-o APT::Default-Release=sid -o APT::Sandbox::User=root)

say() { printf 'l1-qemu: %s\n' "$*" >&2; }
die() { printf 'l1-qemu: ERROR: %s\n' "$*" >&2; exit 1; }

for tool in apt-cache apt-get dpkg-deb readelf; do
	command -v "$tool" >/dev/null || die "$tool not found (make check installs binutils)"
done
dpkg --print-foreign-architectures | grep -qx arm64 ||
	die "arm64 is not a dpkg foreign architecture: run scripts/bootstrap.sh kernel"

ver() {
	apt-cache "${APT[@]}" policy "$1" 2>/dev/null |
		awk '/Candidate:/ { print $2; exit }'
}
qver=$(ver qemu-system-arm:arm64)
ever=$(ver qemu-efi-aarch64)
case "$qver" in
1:11.1*) ;;
"" | "(none)") die "no qemu-system-arm:arm64 in sid (apt-get update?)" ;;
*) say "warning: sid has QEMU $qver, the rig was written for 11.1" ;;
esac
key=$(printf '%s-%s' "$qver" "$ever" | tr ':~+' '___')
OUT=$CACHE/l1-qemu/$key
# scripts/guest.sh and scripts/qemu.sh may both ask at once
mkdir -p "$CACHE/l1-qemu"
exec 9>"$CACHE/l1-qemu/.lock"
flock 9
if [ -f "$OUT/.done" ]; then
	say "cached: QEMU $qver, firmware $ever ($OUT)"
	echo "$OUT"
	exit 0
fi

# Every arm64 package in qemu-system-arm's dependency closure (as sid has
# it) is a candidate provider; only the files the NEEDED walk reaches are
# kept. Architecture-independent data packages and systemd are not needed
# by the emulator binary.
mapfile -t pkgs < <(apt-cache "${APT[@]}" depends --recurse --no-recommends \
	--no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
	qemu-system-arm:arm64 2>/dev/null |
	grep -E '^[a-z0-9][^ <]*:arm64$' | grep -vE '^(systemd|qemu-system-data)' |
	sort -u)
[ ${#pkgs[@]} -gt 10 ] || die "could not resolve qemu-system-arm:arm64's dependencies"

TMP=$OUT.tmp
rm -rf "$TMP" "$OUT"
mkdir -p "$TMP/debs" "$TMP/unpacked" "$TMP/root/lib" "$TMP/root/bin" \
	"$TMP/root/share"
say "downloading ${#pkgs[@]} arm64 packages and the firmware from sid"
if ! (cd "$TMP/debs" && apt-get download -qq "${APT[@]}" "${pkgs[@]}" \
	"qemu-efi-aarch64=$ever"); then
	# Package lists older than the archive name files it no longer has:
	# refresh them and start again (with the new versions' key).
	say "download failed; apt-get update and retry"
	rm -rf "$TMP"
	[ -z "${VCMDQ_L1_QEMU_RETRY:-}" ] || die "apt-get download failed"
	apt-get update -qq || die "apt-get update failed"
	VCMDQ_L1_QEMU_RETRY=1 exec "$0" "$@"
fi
say "unpacking"
for deb in "$TMP"/debs/*.deb; do
	dpkg-deb -x "$deb" "$TMP/unpacked"
done

U=$TMP/unpacked
# Library search path of the unpacked tree, in the loader's order.
dirs=("$U/usr/lib/aarch64-linux-gnu" "$U/lib/aarch64-linux-gnu" "$U/usr/lib"
      "$U/lib")
find_lib() {
	local d
	for d in "${dirs[@]}"; do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}

# Breadth-first over NEEDED, starting at the emulator.
queue=("$U/usr/bin/qemu-system-aarch64")
declare -A seen=()
nlib=0
while [ ${#queue[@]} -gt 0 ]; do
	f=${queue[0]}
	queue=("${queue[@]:1}")
	while IFS= read -r so; do
		[ -n "${seen[$so]:-}" ] && continue
		seen[$so]=1
		lib=$(find_lib "$so") || die "no package in the closure provides $so"
		cp -L "$lib" "$TMP/root/lib/$so"
		nlib=$((nlib + 1))
		queue+=("$lib")
	done < <(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done
interp=$(readelf -l "$U/usr/bin/qemu-system-aarch64" |
	sed -n 's/.*interpreter: \(.*\)\]/\1/p')
[ "$interp" = /lib/ld-linux-aarch64.so.1 ] ||
	die "unexpected ELF interpreter '$interp'"
cp -L "$(find_lib ld-linux-aarch64.so.1)" "$TMP/root/lib/ld-linux-aarch64.so.1"
cp "$U/usr/bin/qemu-system-aarch64" "$TMP/root/bin/"
efi=$U/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
[ -f "$efi" ] || die "no QEMU_EFI.fd in qemu-efi-aarch64 $ever"
cp "$efi" "$TMP/root/share/"
rm -rf "$U" "$TMP/debs"
echo "$qver" >"$TMP/root/share/qemu-version"
say "QEMU $qver: qemu-system-aarch64 + $nlib libraries + loader," \
	"firmware $ever: $(du -sh "$TMP/root" | cut -f1)"
touch "$TMP/.done"
mv "$TMP" "$OUT"
echo "$OUT"
