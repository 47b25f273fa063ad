#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the L2 guest (Linux 7.2 under QEMU 11.1 in L1, UEFI + ACPI, the
# accelerated vSMMU, an assigned e1000e and NVMe). Proves the guest's own
# arm-smmu-v3 driver drives the vSMMU, checks real DMA, runs upstream's
# dma_map_benchmark. Every line meant for the host starts with "VCMDQ-L2 ";
# benchmark windows are framed by a handshake with the L1 init script so
# that L1 can read its KVM exit counters around each one:
#     L2: "VCMDQ-L2 MARK begin NAME"  ->  L1 snapshots, writes "go"
#     L2: runs, then "VCMDQ-L2 MARK end NAME"  ->  L1 snapshots, writes "go"
# The console does not echo, so L1's "go" does not come back as output.
say() { echo "VCMDQ-L2 $*"; }
res() { if [ "$1" = 0 ]; then say "ok - $2"; else say "not ok - $2"; fi; }

# What went wrong on the way to a usable L2, for l2_boot (empty: nothing).
why=
mnt() { # TYPE DIR
	mount -t "$1" "$1" "$2" || why="$why; mounting $1 on $2 failed"
}
mnt proc /proc
mnt sysfs /sys
mnt devtmpfs /dev
mnt debugfs /sys/kernel/debug
mnt tracefs /sys/kernel/tracing
stty -echo -icanon min 1 </dev/console 2>/dev/null

mode=check
corrupt=-1
kver=
cpus=
reset=0
cmdqv=
for a in $(cat /proc/cmdline); do
	case "$a" in
	vcmdq.mode=*) mode=${a#vcmdq.mode=} ;;
	vcmdq.corrupt=*) corrupt=${a#vcmdq.corrupt=} ;;
	vcmdq.kver=*) kver=${a#vcmdq.kver=} ;;
	vcmdq.cpus=*) cpus=${a#vcmdq.cpus=} ;;
	vcmdq.reset=*) reset=${a#vcmdq.reset=} ;;
	vcmdq.cmdqv=*) cmdqv=${a#vcmdq.cmdqv=} ;;
	esac
done
# (L1 passes vcmdq.cmdqv=0 to the runs without a CMDQV)
[ "$cmdqv" = 0 ] && cmdqv=
# l2_boot: this script runs as L2's /init (PID 1), on the kernel L1 was
# told to boot (vcmdq.kver, the build's kernel.release) with the vCPUs L1's
# QEMU was given (vcmdq.cpus), and the file systems the checks below read
# are mounted.
ncpu=$(grep -c ^processor /proc/cpuinfo)
[ $$ = 1 ] || why="$why; /init is PID $$, not 1"
if [ -z "$kver" ]; then
	why="$why; no vcmdq.kver= on the command line"
elif [ "$(uname -r)" != "$kver" ]; then
	why="$why; kernel $(uname -r), expected $kver"
fi
[ -n "$cpus" ] && [ "$ncpu" = "$cpus" ] ||
	why="$why; $ncpu vCPUs online, expected ${cpus:-(no vcmdq.cpus=)}"
[ -z "$why" ]
res $? "l2_boot: Linux $(uname -r) up after $(cut -d' ' -f1 /proc/uptime)s ($ncpu vCPUs, mode $mode)$why"
# two vSMMUs, one device behind each (scripts/guest.sh multi): its own flow
case "$mode" in multi*) . /bin/l2-multi.sh ;; esac

# The guest's SMMUv3 driver bound the vSMMU (from IORT), and both assigned
# devices sit behind it in translated (DMA) domains.
probe=$(dmesg | grep -m1 'arm-smmu-v3.*features')
ndev=0
for d in /sys/bus/pci/devices/*; do
	[ -e "$d/iommu_group" ] || continue
	t=$(cat "$d/iommu_group/type" 2>/dev/null)
	case "$t" in DMA*) ndev=$((ndev + 1)) ;; esac
done
[ -n "$probe" ] && [ $ndev -ge 2 ]
res $? "l2_smmu_probe: ${probe#*] } ; $ndev devices in DMA domains"
dmesg | grep -m1 'companion CMDQV' | sed 's/^/# /'

# vcmdq.cmdqv=N (the sw-tegra241 run): QEMU offers a tegra241 CMDQV with N
# logical VCMDQs in VINTF0, vcmdq-sw queues in L1. /modules/cmdqv_test.ko
# (tests/guest/cmdqv_test.c) looks at it beside the guest's own driver.
#   l2_cmdqv probe   result l2_cmdqv_probe: the driver took the CMDQV (no
#                    fallback to the SMMU's CMDQ) and cmdqv_test's status
#                    checks pass with N LVCMDQs
#   l2_cmdqv error   result l2_error: an illegal command on LVCMDQ N-1 (the
#                    driver's CPUs use 0..ncpu-1): the driver's error path
#                    recovers it, logging one "CMDQ error", and the queue
#                    goes on
#   l2_cmdqv stats   "ASK stats", then waits for L1's line: L1 reads the
#                    queues' counters (their event files' fdinfo) meanwhile
cmdqv_out=
# cmdqv_test.ko loaded once: the kernel's lines since in cmdqv_new, the
# module's in cmdqv_out. When a load fails, busybox's insmod loads it again
# (init_module() after finit_module()): only the lines of the first run,
# from its "cmdqv_test: action=" to the second's, are kept.
cmdqv_insmod() { # ARGS...
	cmdqv_n0=$(dmesg | wc -l)
	insmod /modules/cmdqv_test.ko "$@"
	cmdqv_rc=$?
	[ $cmdqv_rc = 0 ] && rmmod cmdqv_test
	cmdqv_new=$(dmesg | tail -n +$((cmdqv_n0 + 1)) |
		awk '/cmdqv_test: action=/ { n++ } n == 1')
	cmdqv_out=$(echo "$cmdqv_new" | grep 'cmdqv_test: ' | sed 's/^\[[^]]*\] //')
	echo "$cmdqv_out" | while IFS= read -r l; do say "# $l"; done
	return $cmdqv_rc
}
l2_cmdqv() { # probe|error|stats
	case "$1" in
	probe)
		cmdqv_insmod action=status
		cmdqv_rc=$?
		cmdqv_n=$(echo "$cmdqv_out" | sed -n 's/.*status [a-z]*: N=\([0-9]*\) .*/\1/p')
		cmdqv_found=$(dmesg | grep -c 'found companion CMDQV device')
		cmdqv_fallback=$(dmesg | grep -c 'Falling back to standard SMMU CMDQ')
		[ $cmdqv_rc = 0 ] && [ "$cmdqv_found" -gt 0 ] &&
			[ "$cmdqv_fallback" = 0 ] && [ "$cmdqv_n" = "$cmdqv" ]
		res $? "l2_cmdqv_probe: cmdqv_test status rc $cmdqv_rc, N=${cmdqv_n:-?} LVCMDQs (vcmdq.cmdqv=$cmdqv), companion CMDQV found $cmdqv_found, fallbacks to the SMMU CMDQ $cmdqv_fallback"
		;;
	error)
		cmdqv_insmod action=inject lidx=$((cmdqv - 1))
		cmdqv_rc=$?
		cmdqv_cerr=$(echo "$cmdqv_new" | grep -c 'CMDQ error')
		cmdqv_what=$(echo "$cmdqv_out" | grep -m1 'slot opcode' | sed 's/^cmdqv_test: inject: //')
		[ -n "$cmdqv_what" ] ||
			cmdqv_what=$(echo "$cmdqv_out" | tail -1 | sed 's/^cmdqv_test: //')
		[ $cmdqv_rc = 0 ] && [ "$cmdqv_cerr" = 1 ]
		res $? "l2_error: cmdqv_test inject lidx=$((cmdqv - 1)) rc $cmdqv_rc: ${cmdqv_what:-no report}; $cmdqv_cerr CMDQ error lines from the driver"
		;;
	stats)
		say "ASK stats"
		read -r _ </dev/console
		;;
	esac
}
[ -n "$cmdqv" ] && l2_cmdqv probe

# boot: only how long it took to get here (scripts/guest.sh delivery)
[ "$mode" = boot ] && { say DONE; poweroff -f; }

# Find the devices: the e1000e goes to dma_map_benchmark, the NVMe keeps
# its driver.
bench_dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x8086:0x10d3 ] && bench_dev=${d##*/}
done
nvme=/dev/nvme0n1
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -b $nvme ] && break
	sleep 0.5
done

# --- real DMA: every word of the disk, many times, through fresh buffers
if [ -b $nvme ]; then
	passes=6
	/bin/dmacheck verify $nvme $passes "$corrupt" 2>&1 | while IFS= read -r l; do
		say "$l"
	done
else
	say "not ok - l2_dma_integrity: no $nvme (NVMe not assigned or driver did not probe)"
fi

# --- dma_map_benchmark, framed by marks so that L1 reads its exit counters
# around each run (and divides them by the unmaps counted here)
# shellcheck source=tests/guest/bench-lib.sh
. /bin/bench-lib.sh
mark() {
	say "MARK $1 $2"
	read -r _ </dev/console
}

if [ -n "$bench_dev" ]; then
	echo "$bench_dev" >/sys/bus/pci/devices/$bench_dev/driver/unbind 2>/dev/null
	echo dma_map_benchmark >/sys/bus/pci/devices/$bench_dev/driver_override
	echo "$bench_dev" >/sys/bus/pci/drivers_probe
fi
runs="1:1"
[ "$mode" = bench ] && runs=$BENCH_RUNS
# two threads on two CPUs: each CPU's LVCMDQ carries commands
[ "$mode" = check ] && [ -n "$cmdqv" ] && runs="1:1 1:2"
secs=1
[ "$mode" = bench ] && secs=3
bench_ok=1
if [ ! -e /sys/kernel/debug/dma_map_benchmark ]; then
	bench_ok=0
	say "# no /sys/kernel/debug/dma_map_benchmark (device $bench_dev not bound?)"
else
	# a window with nothing in it: what the markers themselves cost
	mark begin null
	sleep 1
	mark end null
	for r in $runs; do
		g=${r%:*} t=${r#*:}
		name=g${g}t$t
		if ! bench_one "$g" "$t" $secs "mark begin $name" "mark end $name"; then
			bench_ok=0
			say "# $name failed: $(echo "$bench_out" | head -1)"
			continue
		fi
		echo "$bench_out" | sed 's/^/# /' | while IFS= read -r l; do say "$l"; done
		say "RUN $name $bench_line"
	done
fi
res $((1 - bench_ok)) "l2_dma_map_benchmark: $(echo $runs | wc -w) runs of ${secs}s on $bench_dev, unmaps counted"

if [ "$mode" = bench ] && [ -b $nvme ]; then
	mark begin nvme4k
	/bin/dmacheck latency $nvme 2000 "$corrupt" 2>&1 | while IFS= read -r l; do say "$l"; done
	mark end nvme4k
fi
# l2_unknown_sid: L1's QEMU gives L2 a PCIe root port (00:05.0, vSID 0x28)
# that it emulates itself: no vDEVICE in the host kernel, yet Linux sends
# commands for its StreamID (CFGI_STE, CFGI_CD). They must not stop the
# command queue: the port is bound to pcieport, the SMMU driver logged no
# command queue error, and the checks above ran.
rp=/sys/bus/pci/devices/0000:00:05.0
rpdrv=
[ -e $rp/driver ] && rpdrv=$(basename "$(readlink $rp/driver)")
cerr=$(dmesg | grep -ciE 'CMDQ error|CMD_SYNC timeout')
[ "$rpdrv" = pcieport ] && [ "$cerr" = 0 ]
res $? "l2_unknown_sid: root port 00:05.0 (vSID 0x28, emulated, no vDEVICE) driver ${rpdrv:-none}, $cerr command queue errors in dmesg"

if [ -n "$cmdqv" ]; then
	l2_cmdqv error
	l2_cmdqv stats
fi

# vcmdq.reset=1: after the first boot's checks, reboot once (QEMU resets
# the machine: the vSMMU and its queue are torn down and made again) and
# run them all again; L1 answers "reboot" the first time only.
if [ "$reset" = 1 ]; then
	say "ASK reset"
	read -r ans </dev/console
	[ "$ans" = reboot ] && reboot -f
fi
say DONE
poweroff -f
