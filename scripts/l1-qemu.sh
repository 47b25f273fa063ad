#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's QEMU 11.1 for the L1 host of the real-guest tests: sid's arm64
# qemu-system-aarch64, every shared library it loads (found by walking the
# ELF NEEDED entries, not by trusting package dependencies), sid's arm64
# loader, and the UEFI firmware (qemu-efi-aarch64) the L2 guest boots with.
#
#   scripts/l1-qemu.sh        prints the root directory to copy into L1
#   scripts/l1-qemu.sh amd64  the same QEMU built for the x86_64 host, as
#                             L0 of the two-SMMU scenario (guest.sh multi):
#                             bookworm-backports' 10.0.2 cannot instantiate
#                             -device arm-smmuv3; run it through the
#                             loader, ROOT/lib/ld-linux-x86-64.so.2
#                             --library-path ROOT/lib ROOT/bin/...
#
# The binary cannot run on the x86_64 host and needs sid's glibc, which
# bookworm does not have: it is unpacked, never installed. Everything lives
# under $VCMDQ_CACHE/l1-qemu/<key>, the key being the package versions it
# was made from, so a new sid upload makes a new directory and an unchanged
# one is reused as it is.
set -euo pipefail

CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
ARCH=${1:-arm64}
case "$ARCH" in
arm64) TRIPLET=aarch64-linux-gnu LOADER=/lib/ld-linux-aarch64.so.1 ;;
amd64) TRIPLET=x86_64-linux-gnu LOADER=/lib64/ld-linux-x86-64.so.2 ;;
*) printf 'l1-qemu: ERROR: unknown architecture %s (arm64|amd64)\n' "$ARCH" >&2; exit 2 ;;
esac
APT=(-o APT::Default-Release=sid -o APT::Sandbox::User=root)

say() { printf 'l1-qemu: %s\n' "$*" >&2; }
die() { printf 'l1-qemu: ERROR: %s\n' "$*" >&2; exit 1; }

for tool in apt-cache apt-get dpkg-deb readelf; do
	command -v "$tool" >/dev/null || die "$tool not found (make check installs binutils)"
done
[ "$ARCH" != arm64 ] || dpkg --print-foreign-architectures | grep -qx arm64 ||
	die "arm64 is not a dpkg foreign architecture: run scripts/bootstrap.sh kernel"

ver() {
	apt-cache "${APT[@]}" policy "$1" 2>/dev/null |
		awk '/Candidate:/ { print $2; exit }'
}
qver=$(ver "qemu-system-arm:$ARCH")
# (L0 boots its kernel directly: no firmware for amd64)
ever=none
[ "$ARCH" != arm64 ] || ever=$(ver qemu-efi-aarch64)
case "$qver" in
1:11.1*) ;;
"" | "(none)") die "no qemu-system-arm:$ARCH in sid (apt-get update?)" ;;
*) say "warning: sid has QEMU $qver, the rig was written for 11.1" ;;
esac
key=$(printf '%s-%s' "$qver" "$ever" | tr ':~+' '___')
[ "$ARCH" = arm64 ] || key=$ARCH-$key
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
# (apt names foreign packages NAME:arm64, native ones NAME: on the host's
# own architecture only the libraries and the emulator are kept)
pkgs_of() {
	if [ "$ARCH" = arm64 ]; then
		grep -E '^[a-z0-9][^ <]*:arm64$' | grep -vE '^(systemd|qemu-system-data)'
	else
		grep -E '^(lib[^ <:]*|zlib1g|qemu-system-arm)$'
	fi
}
mapfile -t pkgs < <(apt-cache "${APT[@]}" depends --recurse --no-recommends \
	--no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
	"qemu-system-arm:$ARCH" 2>/dev/null | pkgs_of | sort -u)
[ ${#pkgs[@]} -gt 10 ] || die "could not resolve qemu-system-arm:$ARCH's dependencies"

TMP=$OUT.tmp
rm -rf "$TMP" "$OUT"
mkdir -p "$TMP/debs" "$TMP/unpacked" "$TMP/root/lib" "$TMP/root/bin" \
	"$TMP/root/share"
fw=()
[ "$ARCH" != arm64 ] || fw=("qemu-efi-aarch64=$ever")
t0=$(date +%s.%N)
say "downloading ${#pkgs[@]} $ARCH packages${fw:+ and the firmware} from sid"
if ! (cd "$TMP/debs" && apt-get download -qq "${APT[@]}" "${pkgs[@]}" "${fw[@]}"); then
	# Package lists older than the archive name files it no longer has:
	# refresh them and start again (with the new versions' key).
	say "download failed; apt-get update and retry"
	rm -rf "$TMP"
	[ -z "${VCMDQ_L1_QEMU_RETRY:-}" ] || die "apt-get download failed"
	apt-get update -qq || die "apt-get update failed"
	VCMDQ_L1_QEMU_RETRY=1 exec "$0" "$@"
fi
t1=$(date +%s.%N)
say "unpacking"
for deb in "$TMP"/debs/*.deb; do
	dpkg-deb -x "$deb" "$TMP/unpacked"
done

U=$TMP/unpacked
# Library search path of the unpacked tree, in the loader's order.
dirs=("$U/usr/lib/$TRIPLET" "$U/lib/$TRIPLET" "$U/usr/lib" "$U/lib")
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
[ "$interp" = "$LOADER" ] ||
	die "unexpected ELF interpreter '$interp'"
cp -L "$(find_lib "${LOADER##*/}")" "$TMP/root/lib/${LOADER##*/}"
cp "$U/usr/bin/qemu-system-aarch64" "$TMP/root/bin/"
if [ "$ARCH" = arm64 ]; then
	efi=$U/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
	[ -f "$efi" ] || die "no QEMU_EFI.fd in qemu-efi-aarch64 $ever"
	cp "$efi" "$TMP/root/share/"
fi
rm -rf "$U" "$TMP/debs"
echo "$qver" >"$TMP/root/share/qemu-version"
say "QEMU $qver ($ARCH): qemu-system-aarch64 + $nlib libraries + loader," \
	"firmware $ever: $(du -sh "$TMP/root" | cut -f1); download" \
	"$(echo "$t1 - $t0" | bc | cut -c1-5)s, unpack and NEEDED walk" \
	"$(echo "$(date +%s.%N) - $t1" | bc | cut -c1-5)s"
touch "$TMP/.done"
mv "$TMP" "$OUT"
echo "$OUT"
