#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the whole benchmark, the real guest first.
#   1. scripts/guest.sh bench: an L2 Linux under L1's QEMU on the trap path,
#      on sw-main (the main CMDQ in vcmdq-sw) and under Debian's QEMU
#      11.1.3 (build/bench-guest.json)
#   2. scripts/bench-vm.sh: the kernel fast path against the trap path with
#      the project's own VMM (build/bench-vm.json)
#   3. build/vcmdq-bench: the engine alone, in user space
# build/bench.json merges the three; build/bench.png draws the real
# guest's unmap latency per granule, one line per path and thread count
# (gnuplot). A step that fails stops here and writes neither: figures
# appear whole or not at all.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build
mkdir -p "$B"
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }

command -v gnuplot >/dev/null ||
	die "gnuplot not found: run scripts/bootstrap.sh kernel (make bench does)"
rm -f "$B/bench-guest.json" "$B/bench-vm.json" "$B/bench-engine.json"

say "1/3 the real guest (scripts/guest.sh bench)"
"$top/scripts/guest.sh" bench
[ -s "$B/bench-guest.json" ] ||
	die "the real-guest run gave no complete figures (see its results above)"

say "2/3 the VM micro-benchmark (scripts/bench-vm.sh)"
"$top/scripts/bench-vm.sh"
[ -s "$B/bench-vm.json" ] || die "bench-vm wrote no build/bench-vm.json"

say "3/3 the engine (build/vcmdq-bench)"
"$B/vcmdq-bench" --json "$B/bench-engine.json.tmp"
mv "$B/bench-engine.json.tmp" "$B/bench-engine.json"

python3 - "$B" <<'EOF'
import json, os, sys
b = sys.argv[1]
out = {k: json.load(open(os.path.join(b, f)))
       for k, f in (("real_guest", "bench-guest.json"), ("vm", "bench-vm.json"),
                    ("engine", "bench-engine.json"))}
with open(os.path.join(b, "bench.json.tmp"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
# one data block per path and thread count: granule (KiB), unmap avg, sd
with open(os.path.join(b, "bench-plot.dat"), "w") as f:
    for path, rows in out["real_guest"]["paths"].items():
        for t in sorted({r["threads"] for r in rows}):
            f.write(f'"{path}, {t} thread{"s" if t > 1 else ""}"\n')
            for r in sorted((r for r in rows if r["threads"] == t),
                            key=lambda r: r["granule_pages"]):
                f.write(f'{r["granule_pages"] * 4} {r["unmap_avg_us"]} {r["unmap_sd_us"]}\n')
            f.write("\n\n")
EOF
nblocks=$(grep -c '^"' "$B/bench-plot.dat")
gnuplot <<EOF || die "gnuplot failed"
set terminal pngcairo size 900,560 noenhanced
set output "$B/bench.png.tmp"
set title "dma_map_benchmark unmap in an L2 Linux guest (avg, us)"
set xlabel "granule (KiB)"
set ylabel "unmap latency (us)"
set logscale xy
set xrange [3:340]
set xtics (4, 16, 64, 256)
set key outside right
set grid
plot for [i=0:$((nblocks - 1))] "$B/bench-plot.dat" index i using 1:2 \
	with linespoints title columnheader(1)
EOF
mv "$B/bench.png.tmp" "$B/bench.png"
mv "$B/bench.json.tmp" "$B/bench.json"
say "figures in build/bench.json, the plot in build/bench.png"
