#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2154 # mode, l2timeout, corrupt...: the sourcing init script's
# L2 side of the two-vSMMU scenario (scripts/guest.sh multi|multi-bench),
# sourced by tests/guest/l2-init.sh once l2_boot has been reported. L1's
# QEMU gave this guest two accelerated vSMMUs, each on its own pxb-pcie
# root complex with a root port and one assigned device: the e1000e behind
# one (00:03.0 of L1's QEMU... here 11:00.0), the NVMe behind the other
# (21:00.0). Each vSMMU's main CMDQ is its own vcmdq-sw queue in L1.
#
# (QEMU's e1000e fails the driver's loopback self-test, result 13, even
# with a peer and even in L1 with no vSMMU: the e1000e side is
# dma_map_benchmark, whose data is not checked.)
# Lines for scripts/guest-report.py (which turns them into the
# qemu_multi_vsmmu_* results together with L1's and L0's records):
#   VCMDQ-L2 MULTI smmus=N e1000e=BDF@SMMU:TYPE nvme=BDF@SMMU:TYPE
#   VCMDQ-L2 MULTI-DMA nvme=ok|fail e1000e_bench=ok|fail  (both at once)
#   VCMDQ-L2 MULTI-UNPLUG ...   VCMDQ-L2 MULTI-AFTER nvme=ok|fail
#   VCMDQ-L2 MULTI-BENCH {json}                    (multi-bench)
# L1 is asked with "VCMDQ-L2 ASK WHAT" and answers one line on the console.
ask() { # WHAT: L1's one-line answer in $answer
	say "ASK $*"
	read -r answer </dev/console
}
pcidev() { # VENDOR:DEVICE or a class prefix: the first BDF that matches
	for d in /sys/bus/pci/devices/*; do
		case "$(cat "$d/vendor"):$(cat "$d/device") $(cat "$d/class")" in
		"$1 "* | *" $1"*) echo "${d##*/}"; return 0 ;;
		esac
	done
	return 1
}
where() { # BDF: BDF@SMMU:DOMAIN_TYPE
	d=/sys/bus/pci/devices/$1
	echo "$1@$(basename "$(readlink "$d/iommu" 2>/dev/null)"):$(cat "$d/iommu_group/type" 2>/dev/null)"
}
e1k=$(pcidev 0x8086:0x10d3)
nvb=$(pcidev 0x010802)
nsmmu=0
for s in /sys/class/iommu/smmu3.*; do
	[ -e "$s" ] && nsmmu=$((nsmmu + 1))
done
say "MULTI smmus=$nsmmu e1000e=$(where "${e1k:-none}") nvme=$(where "${nvb:-none}")"
dmesg | grep 'arm-smmu-v3.*features' | sed 's/^/VCMDQ-L2 # /'
nvme=/dev/nvme0n1
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -b $nvme ] && break
	sleep 0.5
done
ask queues
say "# L1: $answer"

if [ "$mode" = multi ]; then
	# --- both devices at once: the NVMe read and checked through fresh
	# buffers (dmacheck), while dma_map_benchmark maps and unmaps on the
	# e1000e (each unmap a TLBI on the other vSMMU's queue)
	# shellcheck source=tests/guest/bench-lib.sh
	. /bin/bench-lib.sh
	bind "$e1k" dma_map_benchmark || say "# could not bind $e1k to dma_map_benchmark"
	/bin/dmacheck verify $nvme 4 "$corrupt" >/tmp/dma.out 2>&1 &
	dpid=$!
	bench_one 1 1 6 : :
	brc=$?
	wait $dpid
	drc=$?
	sed 's/^/VCMDQ-L2 # /' /tmp/dma.out
	say "# e1000e: $bench_line"
	v() { if [ "$1" = 0 ]; then echo ok; else echo fail; fi; }
	say "MULTI-DMA nvme=$(v $drc) e1000e_bench=$(v $brc) $bench_line"
	ask summary dma

	# --- teardown: the e1000e leaves L2 (driver unbound, device
	# removed, its slot powered off as pciehp would): L1's QEMU unplugs it,
	# the last device of its vSMMU's vIOMMU, and that vSMMU's queue goes.
	# The NVMe's queue must keep running.
	rp=$(basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$e1k")")")
	echo "$e1k" >"/sys/bus/pci/devices/$e1k/driver/unbind"
	echo 1 >"/sys/bus/pci/devices/$e1k/remove"
	/bin/multicheck slot-off "$rp"
	src=$?
	ask gone
	say "MULTI-UNPLUG port=$rp slot_off=$src l1=$answer"
	ask summary unplug
	/bin/dmacheck verify $nvme 2 "$corrupt" >/tmp/dma2.out 2>&1
	arc=$?
	sed 's/^/VCMDQ-L2 # /' /tmp/dma2.out
	say "MULTI-AFTER nvme=$(v $arc)"
	ask summary after
else
	# --- multi-bench: the e1000e under dma_map_benchmark (4K, 1 thread),
	# the NVMe under 4K O_DIRECT reads (strict mode: each read is a map
	# and an unmap with its TLBI on the NVMe's queue), each alone, then
	# both at once: the benchmark's 5 s lie within the ~5-7 s of the
	# reads. (dma_map_benchmark serves one device per kernel: its debugfs
	# file has a fixed name.)
	# shellcheck source=tests/guest/bench-lib.sh
	. /bin/bench-lib.sh
	bind "$e1k" dma_map_benchmark || say "# could not bind $e1k to dma_map_benchmark"
	j=
	if bench_one 1 1 5 : :; then
		j="\"e1000e_alone\": {$(echo "$bench_line" | sed 's/ /, /g; s/\([a-z_]*\)=\([0-9.]*\)/"\1": \2/g')}"
	fi
	/bin/dmacheck latency $nvme 3000 "$corrupt" >/tmp/lat1.out 2>&1
	sed 's/^/VCMDQ-L2 # /' /tmp/lat1.out
	l1=$(sed -n 's/^VCMDQ-BENCH //p' /tmp/lat1.out)
	/bin/dmacheck latency $nvme 3000 "$corrupt" >/tmp/lat2.out 2>&1 &
	lpid=$!
	if bench_one 1 1 5 : :; then
		j="$j, \"e1000e_both\": {$(echo "$bench_line" | sed 's/ /, /g; s/\([a-z_]*\)=\([0-9.]*\)/"\1": \2/g')}"
	fi
	wait $lpid
	sed 's/^/VCMDQ-L2 # /' /tmp/lat2.out
	l2=$(sed -n 's/^VCMDQ-BENCH //p' /tmp/lat2.out)
	# control: the benchmark beside a busy loop that does no DMA (the
	# other vCPU's share of the host's two cores, and nothing else)
	(while :; do :; done) &
	spin=$!
	if bench_one 1 1 5 : :; then
		j="$j, \"e1000e_beside_cpu_loop\": {$(echo "$bench_line" | sed 's/ /, /g; s/\([a-z_]*\)=\([0-9.]*\)/"\1": \2/g')}"
	fi
	kill $spin
	say "MULTI-BENCH {$j, \"nvme_alone\": ${l1:-null}, \"nvme_both\": ${l2:-null}}"
fi
say DONE
poweroff -f
