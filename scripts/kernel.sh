#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the arm64 test kernel: Debian's linux-source-7.2 + patches/ +
# tests/kconfig/base.config + guest.config (base) or debug.config (debug),
# cross-compiled with ccache.
#
#   scripts/kernel.sh [base|debug]   prints the build directory on stdout
#   scripts/kernel.sh --config-only [base|debug]
#                                    only configure (in a scratch directory)
#                                    and check that every symbol stuck
#
# Everything lives outside the repository, under $VCMDQ_CACHE
# (~/.cache/vcmdq-sw):
#   linux-7.2/       the pristine tree, never written after unpacking
#   src/             the patched tree: hard links to the pristine one;
#                    patch(1) replaces the files it edits, so the pristine
#                    tree stays intact. .patched holds the series hash.
#   build-<variant>/ the O= directory, stamped with the hash of (source
#                    version, config fragments, patches, this script).
# A stamp that matches means nothing is rebuilt. A new stamp rebuilds
# incrementally in the same directory: a patch change costs the files it
# touches, a config change whatever the config reaches. Paths stay fixed
# so that make's own dependency tracking (and ccache) keep working.
set -euo pipefail

config_only=0
if [ "${1:-}" = --config-only ]; then
	config_only=1
	shift
fi
variant=${1:-base}
top=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
PRISTINE=$CACHE/linux-7.2
SRC=$CACHE/src
OUT=$CACHE/build-$variant
JOBS=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
MAKE=(make -s ARCH=arm64 "CROSS_COMPILE=ccache aarch64-linux-gnu-")

say() { printf 'kernel: %s\n' "$*" >&2; }
die() { printf 'kernel: ERROR: %s\n' "$*" >&2; exit 1; }

[ -f "$PRISTINE/.extracted" ] ||
	die "no kernel source in $PRISTINE: run scripts/bootstrap.sh kernel"

frags=("$top/tests/kconfig/base.config")
case "$variant" in
base) frags+=("$top/tests/kconfig/guest.config") ;;
debug) frags+=("$top/tests/kconfig/debug.config") ;;
*) die "unknown variant '$variant' (base|debug)" ;;
esac
# patches/*.patch only: patches/qemu/ is QEMU's series (scripts/qemu.sh)
mapfile -t patches < <(find "$top/patches" -maxdepth 1 -name '*.patch' 2>/dev/null | sort)

phash=$( { cat "$PRISTINE/.extracted"; [ ${#patches[@]} = 0 ] ||
	cat "${patches[@]}"; } | sha256sum | cut -c1-16)
key=$( { echo "$phash"; cat "${frags[@]}" "$0"; } | sha256sum | cut -c1-16)

[ $config_only = 1 ] && OUT=$CACHE/config-check-$variant

if [ $config_only = 0 ] && [ -f "$OUT/.done" ] &&
   [ "$(cat "$OUT/.done")" = "$key" ]; then
	say "cached build $OUT ($key)"
	echo "$OUT"
	exit 0
fi

if [ "$(cat "$SRC/.patched" 2>/dev/null | head -1)" != "$phash" ]; then
	# Files the old series touched must look new too, or make would keep
	# objects built from patched sources after the tree is reset.
	touched=$(tail -n +2 "$SRC/.patched" 2>/dev/null || true)
	say "patched tree $SRC (${#patches[@]} patches, $phash)"
	rm -rf "$SRC"
	cp -al "$PRISTINE" "$SRC"
	for p in "${patches[@]}"; do
		say "applying $(basename "$p")"
		patch -s -p1 -d "$SRC" --no-backup-if-mismatch --forward --fuzz=0 \
			<"$p" || die "patch $(basename "$p") does not apply"
		touched+=$'\n'$(sed -n 's|^+++ b/||p' "$p")
	done
	touched=$(printf '%s\n' "$touched" | sed '/^$/d' | sort -u)
	# Reset files get a fresh mtime (as a copy, so the pristine tree's
	# inode is left alone).
	while IFS= read -r f; do
		[ -f "$SRC/$f" ] || continue
		cp --remove-destination "$SRC/$f" "$SRC/$f.tmp" &&
			mv "$SRC/$f.tmp" "$SRC/$f"
	done <<<"$touched"
	{ echo "$phash"; printf '%s\n' "$touched"; } >"$SRC/.patched"
fi

mkdir -p "$OUT" "$CCACHE_DIR"
rm -f "$OUT/.done"
ccache -M 8G >/dev/null
say "configuring $variant in $OUT"
cat "${frags[@]}" >"$OUT/fragment.config"
"${MAKE[@]}" -C "$SRC" O="$OUT" KCONFIG_ALLCONFIG="$OUT/fragment.config" \
	allnoconfig >"$OUT/config.log" 2>&1 || die "allnoconfig failed ($OUT/config.log)"
"${MAKE[@]}" -C "$SRC" O="$OUT" olddefconfig >>"$OUT/config.log" 2>&1 ||
	die "olddefconfig failed ($OUT/config.log)"

# Every symbol the fragments ask for must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	grep -qxF "$want" "$OUT/.config" || {
		say "config: '$want' did not stick (missing dependency?)"
		bad=1
	}
done < <(cat "${frags[@]}")
[ $bad = 0 ] || die "kernel config does not match tests/kconfig/$variant"
if [ $config_only = 1 ]; then
	say "config $variant: every fragment symbol stuck ($OUT/.config)"
	exit 0
fi

say "building Image + modules with -j$JOBS (cold: ~12 min; log $OUT/build.log)"
start=$(date +%s)
set +e
"${MAKE[@]}" -C "$SRC" O="$OUT" -j"$JOBS" Image modules >"$OUT/build.log" 2>&1 &
mk=$!
while kill -0 $mk 2>/dev/null; do
	for _ in $(seq 30); do
		kill -0 $mk 2>/dev/null || break
		sleep 1
	done
	kill -0 $mk 2>/dev/null &&
		say "... $(( $(date +%s) - start ))s, $(find "$OUT" -name '*.o' -newer "$OUT/fragment.config" | wc -l) objects rebuilt"
done
wait $mk
rc=$?
set -e
if [ $rc != 0 ]; then
	tail -30 "$OUT/build.log" >&2
	die "kernel build failed (full log: $OUT/build.log)"
fi
say "built in $(( $(date +%s) - start ))s"
echo "$key" >"$OUT/.done"
echo "$OUT"
