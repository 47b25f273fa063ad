#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The fast path against the trap path, in the arm64 VM (base kernel):
# user-space exits per batch and guest-measured latency per stream, from
# tests/fastpath's trap_vs_fast; one and two guest vCPUs posting to one
# queue, from its vcpus2. Prints the figures and issue 10's targets
# (PASS/MISS: figures, they do not fail the run); writes
# build/bench-vm.json only from a run that passed, exits non-zero if it
# failed. Needs what `make check-vm` needs (scripts/bootstrap.sh kernel).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# progress (kernel build, boot) as it happens, the figures at the end
VARIANT=base VM_TESTS=fastpath_test:trap_vs_fast,fastpath_test:vcpus2 "$top/scripts/vm.sh" 2>&1 |
	tee "$log" |
	grep --line-buffered -E '^(kernel|module|selftests|initramfs|vm|trace): ' >&2
rc=${PIPESTATUS[0]}
sed -n 's/^# vm fastpath_test: bench: //p' "$log"
# The figures as JSON, for tools and for comparing runs, and issue 10's
# targets as PASS/MISS lines; only from a run that passed
mkdir -p "$top/build"
python3 "$top/scripts/bench-vm-json.py" "$log" "$rc" "$top/build/bench-vm.json"
json=$?
if [ "$rc" != 0 ] || [ $json != 0 ] || grep -q '^not ok' "$log"; then
	grep -E '^not ok|ERROR' "$log" >&2
	echo "bench-vm: FAILED (log above)" >&2
	exit 1
fi
