#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test VM: load the modules, run KUnit and the in-VM tests,
# forward their TAP over the serial console, power off. Every forwarded
# line is "VCMDQ-TAP <source>: <line>"; scripts/vm.sh parses them.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp

tap() {
	while IFS= read -r l; do echo "VCMDQ-TAP $1: $l"; done
}

# vcmdq.tests=all or a comma-separated list of test names (kunit included);
# NAME:CASE runs only that case of a kselftest_harness program (-t CASE)
tests=all
debug=0
for a in $(cat /proc/cmdline); do
	case "$a" in
	vcmdq.tests=*) tests=${a#vcmdq.tests=} ;;
	vcmdq.debug=1) debug=1 ;;
	vcmdq.stress=1) export VCMDQ_STRESS=1 ;;
	esac
done
wanted() {
	[ "$tests" = all ] && return 0
	case ",$tests," in *",$1,"*|*",$1:"*) return 0 ;; esac
	return 1
}
cases() {
	for w in $(echo "$tests" | tr , ' '); do
		case "$w" in "$1":*) printf -- '-t %s ' "${w#*:}" ;; esac
	done
}

for m in kvm_shadow_doorbell vcmdq_sw vcmdq_sw_test; do
	insmod /lib/modules/$m.ko || echo "VCMDQ-FAIL insmod $m.ko"
done
# The CPU's FEAT_S2FWB (ID_AA64MMFR2_EL1.FWB) as the kernel's cpufeature
# code read it on every CPU: without it vcmdq_sw cleans each register
# update to the point of coherency (Documentation/upstream.rst, 0009)
fwb=$(dmesg | grep -m1 'Stage-2 Force Write-Back')
echo "VCMDQ-TAP cpu: # ID_AA64MMFR2_EL1.FWB: ${fwb:-not implemented (no Stage-2 Force Write-Back capability)}"
r=/sys/kernel/debug/kunit/vcmdq_engine/results
if ! wanted kunit; then
	:
elif [ -f $r ]; then
	tap kunit <$r
else
	echo "VCMDQ-FAIL kunit: no $r (suite did not run)"
fi

s2fwb=/sys/module/vcmdq_sw/parameters/test_without_s2fwb
# What counts as a kernel report: per program (printed after each) and for
# the whole run (the kernel-log result at the end)
splat='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|refcount_t:|unreferenced object|blocked for more than|soft lockup'
reports() { dmesg | grep -cE "$splat"; }
for t in /tests/*_test /tests/upstream/iommufd /tests/upstream/iommufd_fail_nth; do
	[ -x "$t" ] || { echo "VCMDQ-FAIL missing test program $t"; continue; }
	n=${t##*/}
	case "$t" in /tests/upstream/*) n=upstream-$n ;; esac
	wanted "$n" || continue
	echo "VCMDQ-RUN $n"
	before=$(reports)
	# Forwarded as it runs, so a hang shows where it is.
	# shellcheck disable=SC2046 # one word per -t and case
	{ "$t" $(cases "$n") 2>&1; echo $? >/tmp/$n.rc; } | tee /tmp/$n.out |
		tap "$n"
	rc=$(cat /tmp/$n.rc)
	echo "VCMDQ-TAP $n: # kernel-reports: $(( $(reports) - before ))"
	if [ $rc != 0 ] && ! grep -q '^not ok' /tmp/$n.out; then
		echo "VCMDQ-FAIL $n exited $rc without reporting a failure"
	fi
	# vcmdq_sw's test-only switch applies to every queue allocated while
	# it is set; a program that died with it set must not change the next
	if [ "$(cat $s2fwb 2>/dev/null)" = Y ]; then
		echo "VCMDQ-FAIL $n left $s2fwb set"
		echo 0 >$s2fwb
	fi
done
# Every queue, doorbell and reference the tests made is gone: the modules
# unload (a leaked reference keeps one loaded), and kmemleak's scan below
# sees what they would have left.
mods="vcmdq_sw_test vcmdq_sw kvm_shadow_doorbell"
failed=
for m in $mods; do
	rmmod "$m" 2>/tmp/rmmod.err || failed="$failed $m ($(cat /tmp/rmmod.err))"
done
if [ -z "$failed" ]; then
	echo "VCMDQ-TAP modules: ok 1 - chaos_rmmod: $mods unloaded after every test"
else
	echo "VCMDQ-TAP modules: not ok 1 - chaos_rmmod: would not unload:$failed"
fi
# Nothing the tests did may have left a splat in the kernel log (on the
# debug kernel, kmemleak is asked for a scan first).
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >>/dev/kmsg
fi
if [ $debug = 1 ]; then
	# a clean log means something only if the checkers were running
	missing=
	dmesg | grep -q 'KernelAddressSanitizer initialized' || missing="$missing KASAN"
	[ -e /proc/lockdep ] || missing="$missing lockdep"
	[ -e /sys/kernel/debug/kmemleak ] || missing="$missing kmemleak"
	if [ -z "$missing" ]; then
		echo "VCMDQ-TAP kernel-log: ok 1 - debug checkers active: KASAN, lockdep, kmemleak"
	else
		echo "VCMDQ-TAP kernel-log: not ok 1 - debug checkers missing:$missing"
	fi
fi
dmesg >/tmp/dmesg.txt
if grep -qE "$splat" /tmp/dmesg.txt; then
	grep -E -A20 "$splat" /tmp/dmesg.txt | head -60 | sed 's/^/# /' |
		tap kernel-log
	echo "VCMDQ-TAP kernel-log: not ok 1 - kernel log has a BUG/WARNING/KASAN/lockdep splat"
else
	echo "VCMDQ-TAP kernel-log: ok 1 - kernel log clean (no BUG/WARNING/KASAN/lockdep splat)"
fi
echo VCMDQ-DONE
poweroff -f
