#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the arm64 test kernel: Debian's linux-source-7.2 + patches/ +
# tests/kconfig/<variant>.config, cross-compiled with ccache.
#
#   scripts/kernel.sh [base|debug]   prints the build directory on stdout
#
# Everything lives outside the repository, under $VCMDQ_CACHE
# (~/.cache/vcmdq-sw): the pristine tree, one patched copy per patch-series
# hash (hard links; patch(1) replaces the files it edits, so the pristine
# tree is never written), and one build directory per (source, config,
# patches) hash. A build directory that finished is reused as it is; a warm
# rerun rebuilds nothing.
set -euo pipefail

variant=${1:-base}
top=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
PRISTINE=$CACHE/linux-7.2
JOBS=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
MAKE=(make -s ARCH=arm64 "CROSS_COMPILE=ccache aarch64-linux-gnu-")

say() { printf 'kernel: %s\n' "$*" >&2; }
die() { printf 'kernel: ERROR: %s\n' "$*" >&2; exit 1; }

[ -f "$PRISTINE/.extracted" ] ||
	die "no kernel source in $PRISTINE: run scripts/bootstrap.sh kernel"

frags=("$top/tests/kconfig/base.config")
case "$variant" in
base) ;;
debug) frags+=("$top/tests/kconfig/debug.config") ;;
*) die "unknown variant '$variant' (base|debug)" ;;
esac
mapfile -t patches < <(find "$top/patches" -name '*.patch' 2>/dev/null | sort)

phash=$( { cat "$PRISTINE/.extracted"; [ ${#patches[@]} = 0 ] ||
	cat "${patches[@]}"; } | sha256sum | cut -c1-16)
key=$( { echo "$phash"; cat "${frags[@]}" "$0"; } | sha256sum | cut -c1-16)
SRC=$CACHE/src-$phash
OUT=$CACHE/build-$variant-$key

if [ -f "$OUT/.done" ]; then
	say "cached build $OUT"
	echo "$OUT"
	exit 0
fi

if [ ! -f "$SRC/.patched" ]; then
	say "patched tree $SRC (${#patches[@]} patches)"
	rm -rf "$SRC"
	cp -al "$PRISTINE" "$SRC"
	for p in "${patches[@]}"; do
		say "applying $(basename "$p")"
		patch -s -p1 -d "$SRC" --no-backup-if-mismatch --forward \
			<"$p" || die "patch $(basename "$p") does not apply"
	done
	touch "$SRC/.patched"
fi

mkdir -p "$OUT" "$CCACHE_DIR"
ccache -M 8G >/dev/null
say "configuring $variant in $OUT"
cat "${frags[@]}" >"$OUT/fragment.config"
"${MAKE[@]}" -C "$SRC" O="$OUT" KCONFIG_ALLCONFIG="$OUT/fragment.config" \
	allnoconfig >/dev/null 2>&1 || die "allnoconfig failed"
"${MAKE[@]}" -C "$SRC" O="$OUT" olddefconfig >/dev/null 2>&1 ||
	die "olddefconfig failed"

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

say "building Image + modules with -j$JOBS (cold: ~6 min; log $OUT/build.log)"
start=$(date +%s)
set +e
"${MAKE[@]}" -C "$SRC" O="$OUT" -j"$JOBS" Image modules >"$OUT/build.log" 2>&1 &
mk=$!
while kill -0 $mk 2>/dev/null; do
	sleep 30
	kill -0 $mk 2>/dev/null &&
		say "... $(( $(date +%s) - start ))s, $(find "$OUT" -name '*.o' | wc -l) objects"
done
wait $mk
rc=$?
set -e
if [ $rc != 0 ]; then
	tail -30 "$OUT/build.log" >&2
	die "kernel build failed (full log: $OUT/build.log)"
fi
say "built in $(( $(date +%s) - start ))s"
touch "$OUT/.done"
echo "$OUT"
