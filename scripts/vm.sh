#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test kernel and modules, pack an initramfs with the modules and
# the cross-built test programs, boot qemu-system-aarch64 (virt, SMMUv3,
# virtualization=on, KVM inside), run KUnit and the in-VM tests, and print
# the results as flat TAP ("ok - vm: ...", "not ok - vm: ...").
#
# Every step prints "<step>: ..." progress lines; a failure names its step.
# Artefacts: $VCMDQ_CACHE/vm-<variant>/, or $VM_DIR (serial log, QEMU SMMU
# trace).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
VARIANT=${VARIANT:-base}
TIMEOUT=${VM_TIMEOUT:-300}
CROSS=aarch64-linux-gnu-
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
SYSROOT=$CACHE/sysroot

step=setup
die() { printf '%s: ERROR: %s\n' "$step" "$*"; exit 1; }
say() { printf '%s: %s\n' "$step" "$*"; }

step=setup
for tool in qemu-system-aarch64 ${CROSS}gcc python3 cpio gzip; do
	command -v "$tool" >/dev/null ||
		die "$tool not found: run scripts/bootstrap.sh kernel (make check does)"
done
# Which in-VM tests to run; the debug kernel runs the ones about object
# lifetimes (KASAN, lockdep, kmemleak watch them), not upstream's suite.
case "$VARIANT" in
base) TESTS=${VM_TESTS:-all}; DEBUG=0 ;;
debug) TESTS=${VM_TESTS:-kunit,kvm_exits_test,doorbell_test,fastpath_test,migrate_test,hostile_test,reliability_test}; DEBUG=1 ;;
*) die "unknown VARIANT '$VARIANT' (base|debug)" ;;
esac
# VM_DIR: where this run's modules, initramfs and logs go (two runs at
# once, from two work trees, each need their own)
W=${VM_DIR:-$CACHE/vm-$VARIANT}
mkdir -p "$W"
# VM_STRESS=1: the reliability tests run their long forms (make stress)
STRESS=${VM_STRESS:-0}

step=kernel
KOUT=$(scripts_dir=$top/scripts; "$scripts_dir/kernel.sh" "$VARIANT") ||
	die "kernel build failed (see messages above)"
[ -f "$KOUT/arch/arm64/boot/Image" ] || die "no Image in $KOUT"
say "using $KOUT"

step=module
MO=$W/modules
rm -rf "$MO" && mkdir -p "$MO"
make -s -C "$KOUT" M="$top" MO="$MO" ARCH=arm64 \
	CROSS_COMPILE="ccache $CROSS" modules >"$W.module.log" 2>&1 || {
	cat "$W.module.log"
	die "module build failed"
}
say "built $(cd "$MO" && ls ./*.ko | xargs -n1 basename | tr '\n' ' ')"

step=selftests
SRC=$CACHE/src
HDR=$W/headers
T=$W/tests
rm -rf "$T" "$HDR" && mkdir -p "$T/upstream"
make -s -C "$KOUT" ARCH=arm64 headers_install INSTALL_HDR_PATH="$HDR" \
	>"$W.headers.log" 2>&1 || { cat "$W.headers.log"; die "headers_install failed"; }
CC_T=(${CROSS}gcc -static -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror
      -isystem "$HDR/include" -I"$top/include/uapi" -I"$top/tests")
for src in "$top"/tests/kvm/*_test.c; do
	name=$(basename "$src" .c)
	"${CC_T[@]}" -o "$T/$name" "$src" "$top"/tests/kvm/kvm_util.c \
		"$top"/tests/kvm/guest_*.S || die "cross-building $name failed"
done
for src in "$top"/tests/iommufd/*_test.c; do
	name=$(basename "$src" .c)
	"${CC_T[@]}" -I"$SRC/tools/testing/selftests" -o "$T/$name" "$src" ||
		die "cross-building $name failed"
done
# The fast path end to end: the reference VMM, its guest, the KVM harness.
for src in "$top"/tests/fastpath/*_test.c; do
	name=$(basename "$src" .c)
	"${CC_T[@]}" -I"$SRC/tools/testing/selftests" \
		-idirafter "$SYSROOT/usr/include" -o "$T/$name" "$src" \
		"$top"/tests/fastpath/vmm.c "$top"/tests/kvm/kvm_util.c \
		"$top"/tests/fastpath/guest_*.S \
		-L"$SYSROOT/usr/lib/aarch64-linux-gnu" -luring -lpthread ||
		die "cross-building $name failed"
done
# Upstream's iommufd selftests, against the IOMMUFD_TEST mock driver.
CFLAGS="-static -I$SYSROOT/usr/include" \
LDFLAGS="-static -L$SYSROOT/usr/lib/aarch64-linux-gnu" \
make -s -C "$SRC/tools/testing/selftests/iommu" ARCH=arm64 \
	CROSS_COMPILE="$CROSS" OUTPUT="$T/upstream" \
	KHDR_INCLUDES="-isystem $HDR/include" >"$W.upstream.log" 2>&1 || {
	tail -30 "$W.upstream.log"
	die "cross-building tools/testing/selftests/iommu failed"
}
find "$T/upstream" -type f ! -name iommufd ! -name iommufd_fail_nth -delete
say "built $(cd "$T" && find . -type f | sed 's|^\./||' | tr '\n' ' ')"

step=initramfs
R=$W/root
rm -rf "$R" && mkdir -p "$R"/{bin,dev,proc,sys,tmp,lib/modules,tests}
[ -x "$SYSROOT/bin/busybox" ] || die "no arm64 busybox in $SYSROOT (run scripts/bootstrap.sh kernel)"
cp "$SYSROOT/bin/busybox" "$R/bin/"
for a in sh mount insmod rmmod cat echo poweroff sleep ls grep sed dmesg tee tr; do
	ln -s busybox "$R/bin/$a"
done
cp "$MO"/*.ko "$R/lib/modules/"
cp -r "$T"/* "$R/tests/"
cp "$top/tests/vm-init.sh" "$R/init"
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initramfs.gz"
say "$(du -h "$W/initramfs.gz" | cut -f1) initramfs"

step=vm
LOG=$W/serial.log
TRACE=$W/smmu-trace.log
rm -f "$LOG" "$TRACE"
say "booting qemu-system-aarch64 (TCG, timeout ${TIMEOUT}s)"
start=$(date +%s)
# Progress while it runs: each test program as it starts, its failures
# and its "# progress:" lines as they come
: >"$LOG"
tail -n +1 -F "$LOG" 2>/dev/null > >(grep --line-buffered -a -E \
	'^VCMDQ-RUN |^VCMDQ-TAP [^:]+: (not ok [0-9]+ |# progress: )' |
	sed -u -E 's/\r$//; s/^VCMDQ-RUN (.*)/vm: running \1/; s/^VCMDQ-TAP ([^:]+): (# )?/vm: \1: /') &
progress=$!
set +e
timeout --foreground -k 5 "$TIMEOUT" qemu-system-aarch64 \
	-M virt,iommu=smmuv3,virtualization=on,gic-version=3 -cpu max \
	-smp 2 -m 1G -nographic -no-reboot -nic none \
	-device e1000e,romfile= \
	-kernel "$KOUT/arch/arm64/boot/Image" -initrd "$W/initramfs.gz" \
	-append "console=ttyAMA0 loglevel=4 printk.time=1 panic=-1 rdinit=/init hugepages=128 arm_smmu_v3.test_viommu_without_s2fwb=1 vcmdq.tests=$TESTS vcmdq.debug=$DEBUG vcmdq.stress=$STRESS" \
	-trace 'smmuv3_cmdq*' -trace 'smmu_iotlb_inv*' \
	-trace smmuv3_range_inval -D "$TRACE" \
	</dev/null >"$LOG" 2>&1
rc=$?
set -e
sleep 1
kill "$progress" 2>/dev/null || true
wait "$progress" 2>/dev/null || true
say "QEMU exited $rc after $(( $(date +%s) - start ))s; serial log $LOG"
[ $rc = 124 ] && { tail -20 "$LOG"; die "VM timed out after ${TIMEOUT}s"; }
grep -q '^VCMDQ-DONE' "$LOG" || {
	tail -30 "$LOG"
	die "VM did not reach the end of its tests (boot failure or panic)"
}

# Results: the init script prefixes every TAP line it forwards with
# "VCMDQ-TAP <source>: "; KUnit's per-case lines are indented.
step=results
n=0
tag=$([ "$VARIANT" = base ] || echo "-$VARIANT")
while IFS= read -r line; do
	src=${line#VCMDQ-TAP }
	src=${src%%: *}
	body=${line#*: }
	case "$body" in
	*"ok "[0-9]*)
		case "$body" in
		"    "*|"	"*)	# KUnit test case
			;;
		*)
			[ "${src#kunit}" != "$src" ] && continue	# suite line
			;;
		esac
		body=$(printf '%s' "$body" | sed -E 's/^[[:space:]]+//')
		if [ "${body#not ok}" != "$body" ]; then
			printf 'not ok - vm%s: %s %s\n' "$tag" "$src" "$(printf '%s' "$body" | sed -E 's/^not ok [0-9]+ (- )?//')"
		else
			printf 'ok - vm%s: %s %s\n' "$tag" "$src" "$(printf '%s' "$body" | sed -E 's/^ok [0-9]+ (- )?//')"
		fi
		n=$((n + 1))
		;;
	*"# "*)
		printf '# vm %s: %s\n' "$src" "${body#*# }"
		;;
	esac
done < <(grep -a '^VCMDQ-TAP ' "$LOG" | tr -d '\r')
grep -a '^VCMDQ-FAIL ' "$LOG" | sed "s/^VCMDQ-FAIL /not ok - vm$tag: /" || true
# a program (or KUnit suite) that died part way reports fewer results than
# it planned, whatever it reported before
python3 "$top/scripts/tap-plan.py" --serial "$LOG" | sed "s/^/not ok - vm$tag: /" || true
[ $n -gt 0 ] || die "the VM reported no test results"
say "$n results from the VM"

step=trace
[ -s "$TRACE" ] || die "QEMU wrote no SMMU trace to $TRACE"
python3 "$top/scripts/trace-check.py" "$LOG" "$TRACE" "vm$tag" ||
	die "trace check could not run"
say "$(grep -c . "$TRACE") SMMU trace lines in $TRACE"
