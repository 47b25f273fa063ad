#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The real-guest rig: Linux 7.2 as the L2 guest under QEMU in L1, with the
# accelerated vSMMU (accel=on, iommufd), an assigned e1000e and an
# assigned NVMe whose disk holds a known pattern. One L0 boot, several L2
# runs in it (GUEST_RUNS, comma-separated):
#   trap        the patched QEMU (scripts/qemu.sh), the trap path
#   sw-main     the patched QEMU with cmdq=sw: the main CMDQ in vcmdq_sw.ko
#   sw-tegra241 the patched QEMU with cmdqv=on: a tegra241 CMDQV whose
#               VCMDQs run in vcmdq_sw.ko; the main CMDQ on the trap path
#   stock-11.1  Debian's QEMU 11.1.3 (sid, arm64), the reference row
# VCMDQ_QEMU_PATCHES=DIR: build the series in DIR instead of patches/qemu;
# VCMDQ_QEMU_BIN=FILE: use that arm64 binary as the patched QEMU.
#
#   scripts/guest.sh check   runs trap,sw-main,sw-tegra241; L0 and L1 QEMU
#                            trace the SMMU; results are TAP lines
#                            qemu_RUN_boot, _smmu_probe, _integrity,
#                            _dma_map_benchmark, _trace_vmid, _trace_count
#                            per run (sw-tegra241: _queues and _error for
#                            _trace_count), and qemu_RUN_no_module of the
#                            two sw runs
#   scripts/guest.sh bench   runs trap,sw-main,sw-tegra241,stock-11.1;
#                            tracing off;
#                            dma_map_benchmark over granules
#                            4K..256K and 1/2 threads in L2 and directly in
#                            L1 (the floor), NVMe 4K read latency, exits per
#                            unmap; writes build/bench-guest.json and prints
#                            the table
#   scripts/guest.sh multi   two physical SMMUs, two vSMMUs: L0 is sid's
#                            amd64 QEMU 11.1.3 (scripts/l1-qemu.sh amd64)
#                            with two emulated SMMUv3s on two pxb-pcie
#                            root complexes, the e1000e behind one and
#                            the NVMe behind the other; L2 gets two
#                            accelerated vSMMUs with cmdq=sw, one device
#                            each; results qemu_multi_vsmmu_boot,
#                            _integrity, _isolation, _teardown
#   scripts/guest.sh multi-bench
#                            the same boot: dma_map_benchmark on the
#                            e1000e and NVMe 4K reads, each alone and both
#                            at once (build/bench-multi.json)
#   scripts/guest.sh delivery
#                            how L1 gets QEMU 11.1, its libraries, the
#                            firmware and the L2 kernel (~100 MB): boots L1
#                            with each way (uncompressed and gzipped
#                            initramfs, 9p share, virtio disk) up to L2's
#                            /init and prints the times
#
# The same kernel image (scripts/kernel.sh base) is L1 and L2. Progress
# lines are "<step>: ..."; artefacts are in $VCMDQ_CACHE/guest-<mode>/.
set -euo pipefail

mode=${1:-check}
case "$mode" in check | bench | delivery | multi | multi-bench) ;; *) echo "usage: $0 check|bench|delivery|multi|multi-bench" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VCMDQ_CACHE:-$HOME/.cache/vcmdq-sw}
# The L2 runs of one L1 boot (tests/guest/l1-init.sh): the patched QEMU on
# the trap path and with the main CMDQ in vcmdq-sw; bench adds Debian's
# QEMU 11.1.3 as the reference row.
case "$mode" in
bench) RUNS=${GUEST_RUNS:-trap,sw-main,sw-tegra241,stock-11.1} ;;
check) RUNS=${GUEST_RUNS:-trap,sw-main,sw-tegra241} ;;
delivery) RUNS=${GUEST_RUNS:-trap} ;;
multi | multi-bench) RUNS=multi ;;
esac
# check: these runs' L2 reboot once ("+"-separated: qemu_RUN_reset)
RESET=
[ "$mode" = check ] && RESET=${GUEST_RESET-sw-main+sw-tegra241}
nruns=$(echo "$RUNS" | tr , '\n' | wc -l)
for r in $(echo "$RESET" | tr + ' '); do
	case ",$RUNS," in *",$r,"*) nruns=$((nruns + 1)) ;; esac
done
# L1 kills an L2 run after L2_TIMEOUT s and goes on with the next one; L0
# is killed after TIMEOUT s
case "$mode" in bench) L2_TIMEOUT=${GUEST_L2_TIMEOUT:-600} ;; *) L2_TIMEOUT=${GUEST_L2_TIMEOUT:-240} ;; esac
TIMEOUT=${GUEST_TIMEOUT:-$((150 + (L2_TIMEOUT + 10) * nruns))}
CROSS=aarch64-linux-gnu-
SYSROOT=$CACHE/sysroot
# GUEST_DIR: this run's work directory (two runs at once, from two work
# trees, each need their own)
W=${GUEST_DIR:-$CACHE/guest-$mode}
# The planted one-byte corruption the integrity check must find (LBA).
CORRUPT_LBA=12345

step=setup
die() { printf '%s: ERROR: %s\n' "$step" "$*"; exit 1; }
say() { printf '%s: %s\n' "$step" "$*"; }
for tool in qemu-system-aarch64 ${CROSS}gcc gcc python3 cpio; do
	command -v "$tool" >/dev/null ||
		die "$tool not found: run scripts/bootstrap.sh kernel (make check does)"
done
mkdir -p "$W"

step=kernel
KOUT=$("$top/scripts/kernel.sh" base) || die "kernel build failed (see above)"
IMAGE=$KOUT/arch/arm64/boot/Image
[ -f "$IMAGE" ] || die "no Image in $KOUT"
say "using $KOUT"

step=l1-qemu
QROOT=$("$top/scripts/l1-qemu.sh")/root || die "could not get sid's QEMU"
say "using $QROOT"

# The patched QEMU (patches/qemu/ on QEMU's tree, scripts/qemu.sh), beside
# Debian's in L1 with the same libraries. VCMDQ_QEMU_PATCHES=DIR builds a
# series from elsewhere; VCMDQ_QEMU_BIN=FILE takes a binary built
# elsewhere (e.g. by scripts/qemu.sh --tree DIR).
step=qemu
if [ -n "${VCMDQ_QEMU_BIN:-}" ]; then
	QBIN=$VCMDQ_QEMU_BIN
	[ -x "$QBIN" ] || die "VCMDQ_QEMU_BIN=$QBIN is not an executable"
else
	QBIN=$("$top/scripts/qemu.sh") || die "building the patched QEMU failed (see above)"
fi
say "using $QBIN"

# vcmdq_sw.ko and kvm_shadow_doorbell.ko for L1 (the base kernel), built
# from this tree as scripts/vm.sh builds them, and cmdqv_test.ko for L2
# (the same kernel: tests/guest/cmdqv_test.c, the tegra241 CMDQV checks)
step=module
MO=$W/modules
rm -rf "$MO" && mkdir -p "$MO"
make -s -C "$KOUT" M="$top" MO="$MO" ARCH=arm64 \
	CROSS_COMPILE="ccache $CROSS" modules >"$W/module.log" 2>&1 || {
	cat "$W/module.log"
	die "module build failed"
}
for m in vcmdq_sw kvm_shadow_doorbell cmdqv_test; do
	[ -f "$MO/$m.ko" ] || die "no $m.ko in $MO"
done
say "built vcmdq_sw.ko, kvm_shadow_doorbell.ko, cmdqv_test.ko"

step=tools
HDR=$W/headers
make -s -C "$KOUT" ARCH=arm64 headers_install INSTALL_HDR_PATH="$HDR" \
	>"$W/headers.log" 2>&1 || { cat "$W/headers.log"; die "headers_install failed"; }
CC_T=("${CROSS}gcc" -static -O2 -Wall -Wextra -Werror -isystem "$HDR/include")
"${CC_T[@]}" -o "$W/dmacheck" "$top/tests/guest/dmacheck.c" ||
	die "cross-building dmacheck failed"
gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$W/dmacheck-host" \
	"$top/tests/guest/dmacheck.c" || die "building dmacheck for the host failed"
# upstream's tool, as it is in the 7.2 tree (warnings are upstream's)
${CROSS}gcc -static -O2 -D_GNU_SOURCE -isystem "$HDR/include" \
	-o "$W/dma_map_benchmark" "$CACHE/src/tools/dma/dma_map_benchmark.c" ||
	die "cross-building tools/dma/dma_map_benchmark failed"
"${CC_T[@]}" -o "$W/multicheck" "$top/tests/guest/multicheck.c" ||
	die "cross-building multicheck failed"
say "built dmacheck, dma_map_benchmark, multicheck"

step=initramfs
[ -x "$SYSROOT/bin/busybox" ] || die "no arm64 busybox in $SYSROOT (run scripts/bootstrap.sh kernel)"
newroot() { # DIR
	rm -rf "$1" && mkdir -p "$1"/{bin,dev,proc,sys,tmp}
	cp "$SYSROOT/bin/busybox" "$1/bin/"
	local a
	for a in sh mount cat echo poweroff sleep ls grep sed dmesg tr awk cut \
		head mkfifo readlink basename stty wc uname timeout insmod rmmod \
		reboot; do
		ln -sf busybox "$1/bin/$a"
	done
	cp "$W/dma_map_benchmark" "$W/dmacheck" "$top/tests/guest/bench-lib.sh" "$1/bin/"
}
pack() { (cd "$1" && find . | cpio -o -H newc --quiet) >"$2"; }
# the two-vSMMU scenario's scripts (sourced by the init scripts) and helper
newroot_multi() { # DIR
	cp "$W/multicheck" "$top/tests/guest/l1-multi.sh" "$top/tests/guest/l2-multi.sh" "$1/bin/"
	ln -sf busybox "$1/bin/dirname"
}
L2R=$W/l2root
newroot "$L2R"
newroot_multi "$L2R"
cp "$top/tests/guest/l2-init.sh" "$L2R/init"
chmod +x "$L2R/init"
mkdir -p "$L2R/modules"
cp "$MO/cmdqv_test.ko" "$L2R/modules/"
# The payload: what L1 needs to run the L2 guest.
P=$W/payload
rm -rf "$P" && mkdir -p "$P"/{l2,usr/bin,lib,share,modules}
pack "$L2R" "$P/l2/initramfs.cpio"
cp "$IMAGE" "$P/l2/Image"
echo $CORRUPT_LBA >"$P/l2/corrupt-lba"
# the release L2 must report (l2_boot)
cp "$KOUT/include/config/kernel.release" "$P/l2/kernel-release"
cp "$QROOT/bin/qemu-system-aarch64" "$P/usr/bin/"
cp "$QROOT"/lib/* "$P/lib/"
cp "$QROOT"/share/* "$P/share/"
cp "$QBIN" "$P/usr/bin/qemu-vcmdq"
cp "$MO/vcmdq_sw.ko" "$MO/kvm_shadow_doorbell.ko" "$P/modules/"
L1R=$W/l1root
newroot "$L1R"
newroot_multi "$L1R"
cp "$top/tests/guest/l1-init.sh" "$L1R/init"
chmod +x "$L1R/init"
say "payload $(du -sh "$P" | cut -f1): L2 kernel and initramfs, QEMU $(cat "$QROOT/share/qemu-version") and the patched QEMU + libraries, UEFI, modules"

# How the payload reaches L1. initramfs (the default): in L1's initramfs,
# uncompressed: as fast as a gzipped one or a virtio disk to L2's /init
# (within the noise), 3x faster than 9p, and the quickest to make and the
# simplest (Documentation/rig.rst; "scripts/guest.sh delivery" measures,
# GUEST_PAYLOADS="..." picks which and in what order).
# Sets l1_initrd and l1_dev (extra L0 QEMU options).
payload() { # initramfs|initramfs-gz|9p|disk
	local t0 r=$W/l1root-$1
	t0=$(date +%s.%N)
	rm -rf "$r" && cp -a "$L1R" "$r"
	l1_dev=()
	case "$1" in
	initramfs | initramfs-gz)
		cp -a "$P"/. "$r"/ ;;
	9p | disk)
		mkdir -p "$r/payload"
		for d in l2 usr lib share modules; do ln -s "payload/$d" "$r/$d"; done ;;
	esac
	case "$1" in
	initramfs) pack "$r" "$W/l1.cpio"; l1_initrd=$W/l1.cpio ;;
	initramfs-gz)
		pack "$r" /dev/stdout | gzip -1 >"$W/l1.cpio.gz"
		l1_initrd=$W/l1.cpio.gz ;;
	9p)
		pack "$r" "$W/l1.cpio"; l1_initrd=$W/l1.cpio
		l1_dev=(-fsdev "local,id=payload,path=$P,security_model=none,readonly=on"
			-device "virtio-9p-pci,fsdev=payload,mount_tag=payload,bus=pcie.0,addr=0x5") ;;
	disk)
		pack "$r" "$W/l1.cpio"; l1_initrd=$W/l1.cpio
		rm -f "$W/payload.img"
		mke2fs -q -F -t ext4 -d "$P" "$W/payload.img" \
			$(( $(du -sm "$P" | cut -f1) * 12 / 10 + 16 ))M ||
			die "mke2fs -d failed"
		l1_dev=(-drive "file=$W/payload.img,if=none,id=payload,format=raw,readonly=on"
			-device "virtio-blk-pci,drive=payload,bus=pcie.0,addr=0x5") ;;
	*) die "unknown payload '$1'" ;;
	esac
	rm -rf "$r"
	say "$1: L1 initramfs $(du -h "$l1_initrd" | cut -f1), made in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-4)s"
}

step=disk
IMG=$W/nvme.img
"$W/dmacheck-host" fill "$IMG" 32 $CORRUPT_LBA || die "writing the NVMe image failed"
say "32 MiB NVMe image, pattern + one corrupted byte at LBA $CORRUPT_LBA"

LOG=$W/serial.log
TRACE=$W/smmu-trace.log
# L0: bookworm-backports' QEMU 10.0.2 with the machine's one SMMUv3 on pcie.0,
# the e1000e (00:01.0, StreamID 0x8) and the NVMe (00:02.0, 0x10) behind it
L0_QEMU=(qemu-system-aarch64)
# shellcheck disable=SC2054 # (QEMU's options have commas)
L0_MACHINE=(-M virt,iommu=smmuv3,virtualization=on,gic-version=3)
# shellcheck disable=SC2054
L0_DEVS=(-device e1000e,romfile=,bus=pcie.0,addr=0x1
	-drive file="$IMG",if=none,id=nvm,format=raw,readonly=on
	-device nvme,serial=vcmdq-sw,drive=nvm,bus=pcie.0,addr=0x2)
# multi: two SMMUv3s as devices (-device arm-smmuv3, stage=nested), one per
# pxb-pcie root complex, each with a root port: the e1000e at 11:00.0
# behind the first, the NVMe at 21:00.0 behind the second. 10.0.2 refuses
# -device arm-smmuv3, so L0 is sid's 11.1.3 for x86_64, unpacked (not
# installed) and started through its own loader, without the host's QEMU
# modules (a different build). An SMMUv3 off pcie.0 is described only in
# ACPI (IORT): L0 boots L1 through UEFI.
l0_multi() {
	local r t0
	t0=$(date +%s.%N)
	r=$("$top/scripts/l1-qemu.sh" amd64)/root || die "could not get sid's amd64 QEMU"
	say "L0 QEMU $(cat "$r/share/qemu-version") (amd64, $r) ready in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5)s"
	mkdir -p "$W/no-modules"
	L0_QEMU=(env QEMU_MODULE_DIR="$W/no-modules" "$r/lib/ld-linux-x86-64.so.2"
		--library-path "$r/lib" "$r/bin/qemu-system-aarch64")
	# shellcheck disable=SC2054 # (QEMU's options have commas)
	L0_MACHINE=(-M virt,virtualization=on,gic-version=3 -bios "$QROOT/share/QEMU_EFI.fd")
	# shellcheck disable=SC2054
	L0_DEVS=(-device pxb-pcie,id=pcie.1,bus_nr=0x10,bus=pcie.0
		-device arm-smmuv3,primary-bus=pcie.1,id=psmmu1,stage=nested
		-device pcie-root-port,id=rp1,bus=pcie.1,chassis=1
		-device e1000e,romfile=,bus=rp1
		-device pxb-pcie,id=pcie.2,bus_nr=0x20,bus=pcie.0
		-device arm-smmuv3,primary-bus=pcie.2,id=psmmu2,stage=nested
		-device pcie-root-port,id=rp2,bus=pcie.2,chassis=2
		-drive file="$IMG",if=none,id=nvm,format=raw,readonly=on
		-device nvme,serial=vcmdq-sw,drive=nvm,bus=rp2)
}
case "$mode" in multi*) step=l0-qemu; l0_multi ;; esac
boot() { # MODE PAYLOAD
	local trace=() rc start
	rm -f "$LOG" "$TRACE"
	case "$1" in check | multi) ;; *) false ;; esac && trace=(-trace 'smmuv3_cmdq*' -trace 'smmu_iotlb_inv*'
		-trace smmuv3_range_inval -D "$TRACE" -msg timestamp=on)
	say "booting L0 (TCG, timeout ${TIMEOUT}s): L1 -> QEMU -> L2 ($1, runs $RUNS, payload $2)"
	start=$(date +%s.%N)
	echo "$start L0-START" >"$LOG"
	set +e
	# Serial output is stamped with the host's wall clock as it arrives,
	# so that markers can be placed among QEMU's trace lines.
	timeout --foreground -k 5 "$TIMEOUT" "${L0_QEMU[@]}" "${L0_MACHINE[@]}" -cpu max \
		-smp 2 -m 2G -nographic -no-reboot -nic none "${L0_DEVS[@]}" \
		"${l1_dev[@]}" -kernel "$IMAGE" -initrd "$l1_initrd" \
		-append "console=ttyAMA0 loglevel=4 printk.time=1 panic=-1 rdinit=/init iommu.passthrough=1 arm_smmu_v3.test_viommu_without_s2fwb=1 initcall_blacklist=e1000_init_module,nvme_init vcmdq.mode=$1 vcmdq.payload=$2 vcmdq.runs=$RUNS vcmdq.reset=$RESET vcmdq.l2timeout=$L2_TIMEOUT" \
		"${trace[@]}" </dev/null 2>&1 |
		python3 -u -c 'import re, sys, time
# progress on stderr: what L1 and L2 report as they go
show = re.compile(r"VCMDQ-L1 # (L1 up|starting)|VCMDQ-L2 ((not )?ok - \w+|# pass \d|RUN )")
for l in sys.stdin:
    sys.stdout.write("%.6f %s" % (time.time(), l))
    sys.stdout.flush()
    if show.search(l):
        sys.stderr.write("vm: ... " + l[l.index("VCMDQ-"):].rstrip()[:110] + "\n")
        sys.stderr.flush()' >>"$LOG"
	rc=${PIPESTATUS[0]}
	set -e
	say "QEMU exited $rc after $(echo "$(date +%s.%N) - $start" | bc | cut -d. -f1)s; serial log $LOG"
	# L1's own end (an L2's DONE is forwarded too, after each run). A
	# boot that did not get there still has its results read (what is
	# missing fails by name), then the script fails.
	boot_failed=
	if [ "$rc" = 124 ]; then
		tail -20 "$LOG"
		boot_failed="timed out after ${TIMEOUT}s"
	elif ! grep -q '^[0-9.]* VCMDQ-L1 DONE' "$LOG"; then
		tail -30 "$LOG"
		boot_failed="L1 did not reach the end (boot failure, hang or panic)"
	fi
	[ -z "$boot_failed" ] || say "ERROR: $boot_failed"
	[ "$mode" != delivery ] || [ -z "$boot_failed" ] || die "$boot_failed"
}

if [ "$mode" = delivery ]; then
	step=delivery
	rows=()
	for p in ${GUEST_PAYLOADS:-initramfs initramfs-gz 9p disk}; do
		payload $p
		boot boot $p
		rows+=("$(awk -v p=$p '
			$2 == "L0-START" { t0 = $1 }
			/VCMDQ-L1 # L1 up/ && !l1 { l1 = $1 }
			/VCMDQ-L1 # starting L2/ && !s { s = $1 }
			/VCMDQ-L2 ok - l2_boot/ && !l2 { l2 = $1 }
			END { printf "%-13s %8.1f %10.1f %10.1f\n", p, l1 - t0, s - t0, l2 - t0 }' "$LOG")")
	done
	echo "payload       L1 /init  L2 started  L2 /init   (seconds from L0 QEMU start)"
	printf '%s\n' "${rows[@]}"
	exit 0
fi

step=initramfs
payload "${L1_PAYLOAD:-initramfs}"
step=vm
boot "$mode" "${L1_PAYLOAD:-initramfs}"

step=results
mkdir -p "$top/build"
out=$top/build/bench-guest.json
case "$mode" in multi*) out=$top/build/bench-multi.json; rm -f "$out" ;; esac
python3 "$top/scripts/guest-report.py" "$mode" "$LOG" "$TRACE" "$out" "$RUNS"
[ -z "$boot_failed" ] || die "$boot_failed"
