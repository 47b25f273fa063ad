#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the tests and print one summary line: "N passed, N failed[, N skipped]".
#   scripts/run-tests.sh user|vm|all
# Every test program speaks TAP ("ok N - name", "not ok N - name", "# SKIP");
# the VM runner turns the KTAP it streams back into the same. Exit status is
# non-zero if anything failed or a test program died without reporting.
set -uo pipefail

what=${1:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
B=build
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
pass=0 fail=0 skip=0

# Count one TAP stream read from stdin; echo it for the log.
count() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"not ok "*) fail=$((fail + 1)) ;;
		"ok "*"# SKIP"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		esac
	done
}

# A program that must exit 0 and print at least one result.
run_tap() {
	local name=$1 out rc before=$((pass + fail + skip))
	shift
	echo "== $name: $*"
	out=$(mktemp)
	"$@" >"$out" 2>&1
	rc=$?
	count <"$out"
	rm -f "$out"
	if [ $rc != 0 ] && [ $fail = 0 ]; then
		echo "not ok - $name exited $rc without reporting a failure"
		fail=$((fail + 1))
	elif [ $((pass + fail + skip)) = "$before" ]; then
		echo "not ok - $name reported no results"
		fail=$((fail + 1))
	fi
}

result() {
	if [ "$1" = 0 ]; then
		echo "ok - $2"
		pass=$((pass + 1))
	else
		echo "not ok - $2"
		fail=$((fail + 1))
	fi
}

user_tests() {
	local f log
	run_tap unit $B/unit_test
	run_tap prop $B/prop_test
	run_tap harness $B/harness_test

	echo "== trace-check: expect, forbid, order verdicts on a fixed trace"
	python3 scripts/trace-check.py tests/tools/trace-check.log \
		tests/tools/trace-check.trace selftest 2>&1 |
		diff -u tests/tools/trace-check.expected - >/tmp/trace-check.diff
	result $? "trace-check.py verdicts match tests/tools/trace-check.expected" || true
	[ -s /tmp/trace-check.diff ] && cat /tmp/trace-check.diff

	echo "== guest-report: real-guest verdicts and figures on fixed logs"
	f=tests/tools/guest-report
	{
		for log in good bad; do
			python3 scripts/guest-report.py check $f/$log.log $f/$log.trace /dev/null
		done
		python3 scripts/guest-report.py bench $f/bench.log /dev/null \
			$B/guest-report-selftest.json && cat $B/guest-report-selftest.json
	} 2>&1 | diff -u $f/expected - >/tmp/guest-report.diff
	result $? "guest-report.py verdicts and figures match $f/expected" || true
	[ -s /tmp/guest-report.diff ] && cat /tmp/guest-report.diff

	echo "== replay goldens"
	for f in tests/replay/*.q; do
		$B/vcmdq-bench replay "$f" 2>&1 | diff -u "${f%.q}.out" - >/tmp/replay.diff
		result $? "replay $(basename "$f")" || true
		[ -s /tmp/replay.diff ] && cat /tmp/replay.diff
	done

	echo "== fuzz: ${FUZZ_SECONDS}s over raw queue contents"
	log=$(mktemp)
	mkdir -p $B/corpus
	$B/fuzz_engine -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		$B/corpus tests/fuzz/seeds >"$log" 2>&1
	f=$?
	grep -E "^stat::number_of_executed_units|invariant broken|ERROR:" "$log"
	[ $f != 0 ] && tail -40 "$log"
	result $f "fuzz_engine ${FUZZ_SECONDS}s: no crash, no broken invariant"
	rm -f "$log"

	# make mutate's list parser, and its mutants still apply (not their runs)
	run_tap mutate-selftest scripts/mutate.sh --selftest
}

vm_tests() {
	local variant
	for variant in base debug; do
		vm_run "$variant"
	done
	guest_run
}

# Run a long step in the background with its progress lines streamed as
# they come, then count its results; the whole log is kept in $B.
#   streamed NAME PROGRESS_RE RESULT_RE CMD...
streamed() {
	local name=$1 progress=$2 results=$3 log rc pid
	shift 3
	log=$(mktemp)
	"$@" >"$log" 2>&1 &
	pid=$!
	tail -f --pid=$pid -n +1 "$log" | grep --line-buffered -E "$progress" &
	wait $pid
	rc=$?
	sleep 0.2
	count < <(grep -E "$results" "$log")
	# the fast path's figures (trap vs fast) are worth seeing in every run
	grep -E '^# vm fastpath_test: bench: ' "$log" || true
	if [ $rc != 0 ]; then
		grep -E 'ERROR' "$log" | tail -5
		echo "not ok - $name failed (exit $rc); log kept in $B/$name.log"
		fail=$((fail + 1))
	fi
	cp "$log" "$B/$name.log"
	rm -f "$log"
}

# The real guest: Linux 7.2 in L2 under Debian's QEMU 11.1 in L1 (base
# kernel; scripts/guest.sh).
guest_run() {
	echo "== real guest: L2 Linux under QEMU 11.1 (accel vSMMU), e1000e + NVMe assigned"
	streamed guest-check '^(kernel|l1-qemu|tools|initramfs|disk|vm):' \
		'^(not )?ok |^# ' scripts/guest.sh check
}

vm_run() {
	echo "== VM ($1 kernel): build kernel and modules, boot arm64 under QEMU, run KUnit + kselftests"
	streamed "vm-$1" '^(kernel|vm|initramfs|module|selftests):' '^(not )?ok ' \
		env VARIANT="$1" scripts/vm.sh
}

case "$what" in
user) user_tests ;;
vm) vm_tests ;;
all) user_tests; vm_tests ;;
*) echo "usage: $0 user|vm|all" >&2; exit 2 ;;
esac

if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail = 0 ]
