#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make stress: the long forms of the reliability tests (VCMDQ_STRESS=1 in
# the VM) on the debug kernel (KASAN, lockdep, kmemleak, hung-task and
# soft-lockup detection), then the table: per scenario the iterations or
# calls, failures, kernel reports and duration, printed as reStructuredText
# (what Documentation/reliability.rst holds) and written to
# build/reliability.json. Exits non-zero if anything failed.
#
#   STRESS_TESTS   the VM test list (scripts/vm.sh's VM_TESTS)
#   STRESS_TIMEOUT seconds the VM may run (default 3600)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
tests=${STRESS_TESTS:-fastpath_test:concurrent_vcpus_inline,fastpath_test:concurrent_vcpus_worker,fastpath_test:concurrent_vcpus_worker_poll,fastpath_test:concurrent_vcpus_trap,hostile_test,reliability_test}

echo "stress: debug kernel, long forms of: $tests" >&2
start=$(date +%s)
# progress (build, boot, each test as it ends) as it happens
VARIANT=debug VM_STRESS=1 VM_TIMEOUT=${STRESS_TIMEOUT:-3600} \
	VM_TESTS=$tests "$top/scripts/vm.sh" 2>&1 | tee "$log" |
	grep --line-buffered -E '^(kernel|module|selftests|initramfs|vm|trace|results): |^(not )?ok |reliability ' >&2
rc=${PIPESTATUS[0]}
echo "stress: VM run took $(( $(date +%s) - start )) s" >&2
mkdir -p "$top/build"
python3 "$top/scripts/reliability-table.py" "$top/build/reliability.json" <"$log" ||
	rc=1
if [ "$rc" != 0 ] || grep -q '^not ok' "$log"; then
	grep -E '^not ok|ERROR' "$log" >&2
	echo "stress: FAILED" >&2
	exit 1
fi
