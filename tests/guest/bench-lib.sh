#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the L1 and L2 init scripts of the real-guest tests (sourced
# from /bin/bench-lib.sh): device binding and one dma_map_benchmark run
# with its unmaps counted.
# shellcheck disable=SC2034 # BENCH_RUNS, bench_out, bench_line are for them

# The granule:threads matrix of the bench mode (4K to 256K, 1 and 2).
BENCH_RUNS="1:1 4:1 16:1 64:1 1:2 4:2 16:2 64:2"

bind() { # DEV DRIVER: (re)bind a PCI device, true if DRIVER holds it
	[ -e "/sys/bus/pci/devices/$1/driver" ] &&
		echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")" = "$2" ]
}

# Unmaps are counted with the iommu:unmap tracepoint: per-CPU ring buffer
# entries + overruns, so nothing reads the buffer itself.
BENCH_T=/sys/kernel/tracing
unmaps_reset() {
	echo 0 >$BENCH_T/tracing_on
	echo >$BENCH_T/trace
	echo 1 >$BENCH_T/events/iommu/unmap/enable
	echo 1 >$BENCH_T/tracing_on
}
unmaps_count() {
	echo 0 >$BENCH_T/tracing_on
	cat $BENCH_T/per_cpu/cpu*/stats |
		awk '/^entries:/ { n += $2 } /^overrun:/ { n += $2 } END { print n + 0 }'
}

# bench_one GRANULE THREADS SECONDS BEFORE AFTER: one dma_map_benchmark
# run; BEFORE and AFTER are commands run right around it (":" for none).
# Sets bench_out (the tool's output) and bench_line ("granule=... unmaps=N");
# false if the run failed or counted no unmap.
bench_one() {
	unmaps_reset
	$4
	bench_out=$(/bin/dma_map_benchmark -s "$3" -t "$2" -g "$1" -d 1 2>&1)
	bench_rc=$?
	$5
	bench_n=$(unmaps_count)
	bench_map=$(echo "$bench_out" | sed -n 's/.*average map latency(us):\([0-9.]*\) standard deviation:\([0-9.]*\).*/map_avg=\1 map_sd=\2/p')
	bench_unmap=$(echo "$bench_out" | sed -n 's/.*average unmap latency(us):\([0-9.]*\) standard deviation:\([0-9.]*\).*/unmap_avg=\1 unmap_sd=\2/p')
	bench_line="granule=$1 threads=$2 $bench_map $bench_unmap unmaps=$bench_n"
	[ "$bench_rc" = 0 ] && [ -n "$bench_map" ] && [ -n "$bench_unmap" ] &&
		[ "$bench_n" -gt 0 ]
}
