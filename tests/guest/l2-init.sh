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
for a in $(cat /proc/cmdline); do
	case "$a" in
	vcmdq.mode=*) mode=${a#vcmdq.mode=} ;;
	vcmdq.corrupt=*) corrupt=${a#vcmdq.corrupt=} ;;
	vcmdq.kver=*) kver=${a#vcmdq.kver=} ;;
	vcmdq.cpus=*) cpus=${a#vcmdq.cpus=} ;;
	vcmdq.reset=*) reset=${a#vcmdq.reset=} ;;
	esac
done
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
dmesg | grep -m1 -i 'cmdqv' | sed 's/^/# /'

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
