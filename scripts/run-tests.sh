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
# this run's scratch files (check-user may run in several worktrees at once)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

# A TAP program: it must print a plan (1..N) and exactly N results, and
# exit 0, or non-zero having reported a failure of its own. A signal, or
# results short of the plan (a crash part way), is a failure even after
# the program's own "not ok": the verdicts compare against this
# program's results only.
run_tap() {
	local name=$1 out rc p0=$pass f0=$fail s0=$skip problem
	shift
	echo "== $name: $*"
	out=$tmp/run_tap.out
	# (the shell's own "Segmentation fault" note is replaced by the
	# verdict below)
	{ "$@" >"$out" 2>&1; } 2>/dev/null
	rc=$?
	count <"$out"
	if [ $rc -gt 128 ]; then
		echo "not ok - $name killed by signal $((rc - 128))"
		fail=$((fail + 1))
	elif [ $rc != 0 ] && [ $fail = "$f0" ]; then
		echo "not ok - $name exited $rc without reporting a failure"
		fail=$((fail + 1))
	fi
	if [ $((pass + fail + skip)) = $((p0 + f0 + s0)) ]; then
		echo "not ok - $name reported no results"
		fail=$((fail + 1))
		return
	fi
	while IFS= read -r problem; do
		echo "not ok - $name: ${problem#program: }"
		fail=$((fail + 1))
	done < <(python3 scripts/tap-plan.py --require-plan "$out")
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

	# run_tap's own verdicts (in a subshell: they do not count here) on
	# small fake programs, and the VM's plan check on a fixed serial log
	echo "== run-tests.sh: crash, exit status and plan verdicts on fake TAP programs"
	f=tests/tools/run-tests
	{
		(
			pass=0 fail=0 skip=0
			for t in good fail crash-after-fail exit-after-fail short-plan \
				long-plan no-plan trailing-plan exit-clean silent; do
				run_tap "$t" sh $f/$t.sh
			done
			echo "$pass passed, $fail failed"
		)
		echo "== tap-plan.py --serial $f/serial.log: exit $(
			python3 scripts/tap-plan.py --serial $f/serial.log \
				>$tmp/serial.out; echo $?)"
		cat $tmp/serial.out
	} 2>&1 | diff -u $f/expected - >$tmp/run-tests.diff
	result $? "run-tests.sh and tap-plan.py verdicts match $f/expected" || true
	[ -s $tmp/run-tests.diff ] && cat $tmp/run-tests.diff

	echo "== trace-check: expect, forbid, order verdicts on a fixed trace"
	python3 scripts/trace-check.py tests/tools/trace-check.log \
		tests/tools/trace-check.trace selftest 2>&1 |
		diff -u tests/tools/trace-check.expected - >$tmp/trace-check.diff
	result $? "trace-check.py verdicts match tests/tools/trace-check.expected" || true
	[ -s $tmp/trace-check.diff ] && cat $tmp/trace-check.diff

	echo "== guest-report: real-guest verdicts and figures on fixed logs"
	f=tests/tools/guest-report
	# good, bad: trace verdicts; missing: L2 died after l2_boot, the
	# results it never printed must fail; bench-unreadable, bench-nonull:
	# exit counters L1 could not read give no exits per unmap
	{
		for log in good bad missing; do
			echo "# fixture $log.log"
			t=$f/$log.trace
			[ -e "$t" ] || t=$f/good.trace
			python3 scripts/guest-report.py check $f/$log.log "$t" /dev/null
		done
		python3 scripts/guest-report.py bench $f/bench.log /dev/null \
			$B/guest-report-selftest.json && cat $B/guest-report-selftest.json
		for log in bench-unreadable bench-nonull; do
			echo "# fixture $log.log"
			python3 scripts/guest-report.py bench $f/$log.log /dev/null /dev/null |
				grep -E '^(not )?ok '
		done
		# runs: one L1 boot, L2 runs trap and sw-main (results per
		# run, trace windows per run); bench-runs: stock-11.1 asked
		# for but never ran, so its results fail and no figures
		echo "# fixture runs.log (trap,sw-main)"
		python3 scripts/guest-report.py check $f/runs.log $f/runs.trace \
			/dev/null trap,sw-main
		# sw-main whose commands all went through QEMU (a silent fall
		# back to the trap path) must fail its trace count
		echo "# fixture runs-fallback.log (trap,sw-main)"
		python3 scripts/guest-report.py check $f/runs-fallback.log \
			$f/runs.trace /dev/null trap,sw-main | grep sw_main_trace_count
		# QEMU ran the exited commands in another order than the ring's
		echo "# fixture runs-reorder.log (trap,sw-main)"
		python3 scripts/guest-report.py check $f/runs-reorder.log \
			$f/runs.trace /dev/null trap,sw-main | grep sw_main_exit_order
		# sw-main's L2 rebooted: its second boot's checks, and the
		# module's references once QEMU exited (leak: one left)
		for log in runs-reset runs-reset-leak; do
			echo "# fixture $log.log (trap,sw-main)"
			python3 scripts/guest-report.py check $f/$log.log \
				$f/runs-reset.trace /dev/null trap,sw-main |
				grep -E 'sw_main_reset'
		done
		echo "# fixture bench-runs.log (trap,sw-main,stock-11.1)"
		python3 scripts/guest-report.py bench $f/bench-runs.log /dev/null \
			/dev/null trap,sw-main,stock-11.1
		# sw-tegra241: the CMDQV run and six ways it can go wrong
		# (one LVCMDQ for both CPUs, TLBIs on the trap path, no CMDQV
		# interrupt, an error on the wrong LVCMDQ, no driver probe, an
		# invalidation issued that L0 never executed)
		for log in runs-tegra runs-tegra-onequeue runs-tegra-fallback \
			runs-tegra-noirq runs-tegra-wrongq runs-tegra-noprobe \
			runs-tegra-lost; do
			echo "# fixture $log.log (sw-tegra241)"
			python3 scripts/guest-report.py check $f/$log.log \
				$f/runs-tegra.trace /dev/null sw-tegra241 |
				grep -E '^(not )?ok .*tegra241_(boot|queues|error|no_module)'
		done
	} 2>&1 | diff -u $f/expected - >$tmp/guest-report.diff
	result $? "guest-report.py verdicts and figures match $f/expected" || true
	[ -s $tmp/guest-report.diff ] && cat $tmp/guest-report.diff

	# the two-vSMMU run (guest.sh multi): good, each way isolation fails
	# (a command on the other SMMU, a VMID not the vIOMMU's, queue indices
	# that coincide so that commands cannot be told apart), the queue not
	# freed at the unplug, L2 dead after its boot; multi-bench's figures,
	# and none from an incomplete run
	echo "== guest-report multi: two-vSMMU verdicts and figures on fixed logs"
	fm=tests/tools/guest-report-multi
	{
		for log in good crossed vmid coincide not-freed missing; do
			echo "# fixture $log.log"
			t=$fm/$log.trace
			[ -e "$t" ] || t=$fm/good.trace
			python3 scripts/guest-report.py multi $fm/$log.log "$t" /dev/null multi
		done
		rm -f $B/guest-report-multi.json
		python3 scripts/guest-report.py multi-bench $fm/bench.log /dev/null \
			$B/guest-report-multi.json multi && cat $B/guest-report-multi.json
		echo "# fixture bench-incomplete.log"
		rm -f $B/guest-report-multi.json
		python3 scripts/guest-report.py multi-bench $fm/bench-incomplete.log \
			/dev/null $B/guest-report-multi.json multi
		if [ -e $B/guest-report-multi.json ]; then
			echo "figures written from an incomplete run"
		fi
	} 2>&1 | diff -u $fm/expected - >$tmp/guest-report-multi.diff
	result $? "guest-report.py multi verdicts and figures match $fm/expected" || true
	[ -s $tmp/guest-report-multi.diff ] && cat $tmp/guest-report-multi.diff

	# dmacheck on an image file: each way a read can fail ends in one
	# result line with the reason (the real guest reads an NVMe this way)
	echo "== dmacheck: integrity verdicts and failure lines on image files"
	{
		gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o $B/dmacheck-host \
			tests/guest/dmacheck.c &&
		rm -f $B/dmacheck*.img &&
		$B/dmacheck-host fill $B/dmacheck.img 2 100 &&
		head -c 1536K $B/dmacheck.img >$B/dmacheck-short.img &&
		head -c 1K $B/dmacheck.img >$B/dmacheck-tiny.img &&
		dd if=$B/dmacheck.img of=$B/dmacheck-shifted.img bs=4K skip=1 \
			count=256 status=none &&
		for c in "verify $B/dmacheck.img 3 100" "verify $B/dmacheck.img 2 -1" \
			"verify $B/dmacheck.img 1 101" "verify $B/dmacheck-none.img 1" \
			"verify $B/dmacheck-short.img 1 100" "verify $B/dmacheck-tiny.img 1" \
			"verify $B/dmacheck-shifted.img 1" \
			"latency $B/dmacheck.img 200 100" "latency $B/dmacheck-shifted.img 20" \
			"latency $B/dmacheck-tiny.img 5"; do
			# shellcheck disable=SC2086 # $c is the arguments
			echo "# dmacheck $c: exit $($B/dmacheck-host $c >$B/dmacheck.out; echo $?)"
			grep -E '^(not )?ok ' $B/dmacheck.out
		done
	} 2>&1 | sed "s|$B/||g" | diff -u $f/dmacheck.expected - >$tmp/dmacheck.diff
	result $? "dmacheck results match $f/dmacheck.expected" || true
	[ -s $tmp/dmacheck.diff ] && cat $tmp/dmacheck.diff

	# bench-vm's JSON and targets: written from a run that passed only
	echo "== bench-vm-json: figures, targets, no JSON from a failed run"
	f=tests/tools/bench-vm
	{
		for c in "pass 0" "stream-exits 0" "pass 1" "failed 0" "cut 0"; do
			set -- $c
			echo "# bench-vm-json.py $1.log $2: exit $(python3 \
				scripts/bench-vm-json.py $f/$1.log "$2" $B/bench-vm-selftest.json \
				>$tmp/bench-vm.out; echo $?)"
			cat $tmp/bench-vm.out
			[ "$1" = stream-exits ] && python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print({s: m["trap"] for s, m in d["streams"].items()})' $B/bench-vm-selftest.json
			[ "$1" = pass ] && [ "$2" = 0 ] && cat $B/bench-vm-selftest.json
			[ -e $B/bench-vm-selftest.json ] || echo "# no JSON"
		done
	} 2>&1 | sed "s|$B/||g" | diff -u $f/expected - >$tmp/bench-vm.diff
	result $? "bench-vm-json.py figures and targets match $f/expected" || true
	[ -s $tmp/bench-vm.diff ] && cat $tmp/bench-vm.diff

	# the reliability table: from a log, into a document, and the one in
	# Documentation/reliability.rst is what its JSON gives
	echo "== reliability-table: the table from a log, from JSON, in the doc"
	f=tests/tools/reliability
	{
		echo "# from $f/stress.log: exit $(python3 scripts/reliability-table.py \
			$tmp/rel.json <$f/stress.log >$tmp/rel.out 2>&1; echo $?)"
		cat $tmp/rel.out $tmp/rel.json
		cp $f/doc.rst $tmp/doc.rst
		echo "# --rst into doc.rst: exit $(python3 scripts/reliability-table.py \
			--rst $tmp/rel.json $tmp/doc.rst 2>&1; echo $?)"
		cat $tmp/doc.rst
		cp $f/nomarkers.rst $tmp/nomarkers.rst
		echo "# --rst into nomarkers.rst: exit $(python3 scripts/reliability-table.py \
			--rst $tmp/rel.json $tmp/nomarkers.rst 2>&1; echo $?)"
	} 2>&1 | sed "s|$tmp/||g" | diff -u $f/expected - >$tmp/rel.diff
	result $? "reliability-table.py tables match $f/expected" || true
	[ -s $tmp/rel.diff ] && cat $tmp/rel.diff
	python3 scripts/reliability-table.py --rst Documentation/reliability.json |
		diff -u - <(sed -n '/^\.\. reliability-table: begin$/,/^\.\. reliability-table: end$/p' \
			Documentation/reliability.rst) >$tmp/rel-doc.diff
	result $? "Documentation/reliability.rst's table is reliability-table.py --rst Documentation/reliability.json" || true
	[ -s $tmp/rel-doc.diff ] && cat $tmp/rel-doc.diff

	echo "== replay goldens"
	for f in tests/replay/*.q; do
		$B/vcmdq-bench replay "$f" 2>&1 | diff -u "${f%.q}.out" - >$tmp/replay.diff
		result $? "replay $(basename "$f")" || true
		[ -s $tmp/replay.diff ] && cat $tmp/replay.diff
	done

	# every seed once, on its own verdict: the reproducers kept there
	# (msi-order-defect-reproducer: the engine published CONS past a
	# CMD_SYNC before its MSI) must keep passing
	echo "== fuzz seeds: replay tests/fuzz/seeds"
	$B/fuzz_engine tests/fuzz/seeds/* >$tmp/seeds.log 2>&1
	f=$?
	[ $f != 0 ] && grep -E "^Running:|invariant broken|ERROR:" $tmp/seeds.log
	result $f "fuzz_engine replays the $(find tests/fuzz/seeds -type f | wc -l) inputs of tests/fuzz/seeds"

	# The corpus starts from the seeds too (libFuzzer runs them first); a
	# crash's reproducer lands in $B/ (crash-*, leak-*, timeout-*)
	echo "== fuzz: ${FUZZ_SECONDS}s over raw queue contents"
	log=$(mktemp)
	mkdir -p $B/corpus
	$B/fuzz_engine -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix=$B/ $B/corpus tests/fuzz/seeds >"$log" 2>&1
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
	guest_multi_run
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
	streamed guest-check '^(kernel|l1-qemu|qemu|module|tools|initramfs|disk|vm):' \
		'^(not )?ok |^# ' scripts/guest.sh check
}

# Two physical SMMUs, two vSMMUs, each main CMDQ on its own vcmdq-sw queue
# (its own L0 boot, with sid's amd64 QEMU 11.1.3 as L0; scripts/guest.sh).
guest_multi_run() {
	echo "== real guest, two SMMUs: L0 with two SMMUv3s, L2 with two vSMMUs (cmdq=sw)"
	streamed guest-multi '^(kernel|l1-qemu|l0-qemu|qemu|module|tools|initramfs|disk|vm):' \
		'^(not )?ok |^# ' scripts/guest.sh multi
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
