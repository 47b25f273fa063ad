#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of L1 for the real-guest tests: the host a user runs, with
# Debian's QEMU 11.1 as the VMM. L0 (scripts/guest.sh) gave it an e1000e
# (00:01.0, StreamID 0x8) and an NVMe (00:02.0, StreamID 0x10) behind the
# emulated SMMUv3; their drivers are kept off by initcall_blacklist so that
# nothing in L1 does DMA behind the guest's back.
#
# bench mode first runs dma_map_benchmark here, directly on the SMMU (the
# "no virtualization" floor). Then both devices go to vfio-pci and QEMU
# boots the L2 guest (tests/guest/l2-init.sh) with the accelerated vSMMU.
# L2's serial console is read line by line: at each "MARK" line of L2 this
# script snapshots the VM's KVM exit counters (debugfs) and answers "go".
# Lines for L0 start with "VCMDQ-L1 " or are L2's "VCMDQ-L2 " lines as is.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp

say() { echo "VCMDQ-L1 $*"; }
res() { if [ "$1" = 0 ]; then say "ok - $2"; else say "not ok - $2"; fi; }
done_() { say DONE; poweroff -f; }

mode=check
payload=initramfs
runs=
reset_run=
# seconds one L2 run may take before its QEMU is killed (then the next run)
l2timeout=600
for a in $(cat /proc/cmdline); do
	case "$a" in
	vcmdq.mode=*) mode=${a#vcmdq.mode=} ;;
	vcmdq.payload=*) payload=${a#vcmdq.payload=} ;;
	vcmdq.runs=*) runs=${a#vcmdq.runs=} ;;
	vcmdq.reset=*) reset_run=${a#vcmdq.reset=} ;;
	vcmdq.l2timeout=*) l2timeout=${a#vcmdq.l2timeout=} ;;
	esac
done
# QEMU, its libraries, the firmware and the L2 kernel and initramfs are in
# this initramfs, or on a 9p share or a virtio disk mounted at /payload
# (/usr, /lib, /share and /l2 point there).
case "$payload" in
9p) mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,ro payload /payload ;;
disk) mount -t ext4 -o ro /dev/vda /payload ;;
esac || { say "not ok - l1_payload: mounting the $payload payload failed"; poweroff -f; }
say "# L1 up after $(cut -d' ' -f1 /proc/uptime)s, mode $mode, payload $payload, QEMU $(cat /share/qemu-version)"

E1000E=0000:00:01.0
NVME=0000:00:02.0
# L2's vCPUs; L2 checks it got them (l2_boot)
L2_CPUS=2
# LVCMDQs of the sw-tegra241 run's CMDQV: Linux picks one per CPU, so two
# carry L2's commands and the last one is free for the error test
L2_VCMDQS=4
# shellcheck source=tests/guest/bench-lib.sh
. /bin/bench-lib.sh
# two SMMUs, two vSMMUs (scripts/guest.sh multi): its own flow, no return
case "$mode" in multi*) . /bin/l1-multi.sh ;; esac

# --- the floor: the same benchmark, issued by L1 itself on the same SMMU
# L1 boots with iommu.passthrough=1: no L1 stage-1 domain, so every
# stage-1 invalidation L0 sees comes from L2. The floor device alone is
# switched to a DMA domain (its group has no driver yet).
if [ "$mode" = bench ]; then
	echo DMA >/sys/bus/pci/devices/$E1000E/iommu_group/type ||
		say "# could not give $E1000E a DMA domain"
	if bind $E1000E dma_map_benchmark; then
		for r in $BENCH_RUNS; do
			g=${r%:*} t=${r#*:}
			if bench_one "$g" "$t" 3 : :; then
				say "FLOOR g${g}t$t $bench_line"
			else
				say "# floor g${g}t$t failed: $(echo "$bench_out" | head -1)"
			fi
		done
	else
		say "# could not bind $E1000E to dma_map_benchmark: no L1 floor"
	fi
fi

for d in $E1000E $NVME; do
	bind $d vfio-pci || { res 1 "l2_boot: binding $d to vfio-pci failed"; done_; }
done
ls /dev/vfio/devices/ | sed 's/^/VCMDQ-L1 # vfio cdev: /'

# The VM's KVM debugfs directory, once QEMU created it.
kvmdir() { ls -d /sys/kernel/debug/kvm/*-* 2>/dev/null | head -1; }
# NAME begin|end: the user and kernel MMIO exit counters, "-" if unreadable
snap() {
	k=$(kvmdir)
	u=$(cat "$k/mmio_exit_user" 2>/dev/null)
	n=$(cat "$k/mmio_exit_kernel" 2>/dev/null)
	echo "${u:--} ${n:--}" >"/tmp/snap.$1.$2"
}
isnum() { case "$1" in '' | *[!0-9]*) return 1 ;; esac; }

# The L2 runs, one QEMU after the other on the same two assigned devices
# (vcmdq.runs=, comma-separated; without it the one run of Debian's QEMU):
#   stock-11.1  Debian's QEMU 11.1.3 (/usr/bin/qemu-system-aarch64), the
#               trap path: every command through QEMU's emulated CMDQ
#   trap        the patched QEMU (/usr/bin/qemu-vcmdq), the same trap path
#   sw-main     the patched QEMU with cmdq=sw: the main CMDQ runs in the
#               kernel (vcmdq_sw.ko), QEMU sees only exited commands
#   sw-tegra241 the patched QEMU with cmdqv=on: L2's tegra241 CMDQV driver
#               puts its invalidations on LVCMDQs the kernel runs; the
#               main CMDQ stays on the trap path
# Each run starts with "VCMDQ-L1 RUN NAME"; scripts/guest-report.py names
# its results qemu_NAME_... (l2_... for a log without RUN lines).
qemu_of() { # RUN: the binary and the SMMU's properties
	case "$1" in
	stock-11.1) echo "/usr/bin/qemu-system-aarch64 accel=on" ;;
	trap) echo "/usr/bin/qemu-vcmdq accel=on" ;;
	sw-main) echo "/usr/bin/qemu-vcmdq accel=on,cmdq=sw" ;;
	sw-tegra241) echo "/usr/bin/qemu-vcmdq accel=on,cmdqv=on,cmdqv-vcmdqs=$L2_VCMDQS" ;;
	*) return 1 ;;
	esac
}

mkfifo /tmp/l2.in
exec 3<>/tmp/l2.in
T=/sys/kernel/tracing
# What the run's commands did (check mode), since the last summary:
# TLBI_NH_VA and commands QEMU's CMDQ ran (its trace, from line
# /tmp/qfrom.RUN on), what vcmdq-sw sent to the SMMU (tracefs, then
# cleared), the commands that exited and the ones QEMU ran.
summary() { # RUN
	[ "$mode" = check ] || return 0
	qt=/tmp/l1-qemu-trace.$1.log
	from=$(cat "/tmp/qfrom.$1" 2>/dev/null || echo 1)
	tail -n +"$from" "$qt" >/tmp/qt.part 2>/dev/null
	echo $(( $(wc -l <"$qt") + 1 )) >"/tmp/qfrom.$1"
	say "L2TLBI $(grep -c 'smmuv3_cmdq_opcode <--- SMMU_CMD_TLBI_NH_VA' /tmp/qt.part)"
	say "L2CMDS $(grep -c 'smmuv3_cmdq_opcode' /tmp/qt.part)"
	[ -d $T/events/vcmdq_sw ] || return 0
	echo 0 >$T/tracing_on
	# commands vcmdq-sw sent to the SMMU, batches that failed, commands
	# that exited to QEMU, CERRORs the guest saw, and what the ring lost
	lost=$(cat $T/per_cpu/cpu*/stats |
		awk '/^overrun:/ { n += $2 } END { print n + 0 }')
	awk -v lost="$lost" '/vcmdq_sw_batch:/ {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^n=/) n += substr($i, 3)
			if ($i ~ /^ret=/ && $i != "ret=0") bad++
		}
		b++
	}
	/vcmdq_sw_exit:/ { x++ }
	/vcmdq_sw_error:/ { e++ }
	END {
		printf "VCMDQ-L1 KCMDS batches=%d cmds=%d failed=%d exits=%d errors=%d lost=%d\n",
			b, n, bad, x, e, lost
	}' $T/trace
	# the commands that exited, in ring order, and the ones QEMU ran
	# (all but CMD_SYNC): qemu_sw_main_exit_order
	echo "VCMDQ-L1 KEXITS $(sed -n 's/.*vcmdq_sw_exit:.* op=0x\([0-9a-f]*\).*/\1/p' $T/trace |
		tr '\n' ' ')"
	echo "VCMDQ-L1 QOPS $(sed -n 's/.*smmuv3_cmdq_opcode <--- SMMU_CMD_\([A-Z0-9_]*\).*/\1/p' \
		/tmp/qt.part | grep -v '^SYNC$' | tr '\n' ' ')"
	echo >$T/trace
	echo 1 >$T/tracing_on
}

# The counters of every vcmdq-sw queue of the running QEMU, as the kernel
# shows them in the fdinfo of the queues' event files: one "KQUEUE"
# line each (qemu_sw_tegra241_queues, _error)
kqueues() {
	n=0
	for pid in $(pidof qemu-vcmdq); do
		for fd in /proc/$pid/fd/*; do
			[ "$(readlink "$fd")" = "anon_inode:[vcmdq-sw]" ] || continue
			say "KQUEUE $(sed 's/:[[:space:]]*/=/' "/proc/$pid/fdinfo/${fd##*/}" | tr '\n' ' ')"
			n=$((n + 1))
		done
	done
	say "# $n vcmdq-sw queues in QEMU"
}

run_l2() { # RUN
	# shellcheck disable=SC2046 # two words: binary, properties
	set -- "$1" $(qemu_of "$1")
	run=$1 bin=$2 smmu=$3
	say "RUN $run"
	trace=
	[ "$mode" = check ] &&
		trace="-trace smmuv3_cmdq_opcode -D /tmp/l1-qemu-trace.$run.log"
	# the kernel's own record of what it sent to the SMMU for the guest
	if [ "$mode" = check ] && [ -d $T/events/vcmdq_sw ]; then
		echo 0 >$T/tracing_on
		echo 8192 >$T/buffer_size_kb
		echo >$T/trace
		echo 1 >$T/events/vcmdq_sw/vcmdq_sw_batch/enable
		echo 1 >$T/events/vcmdq_sw/vcmdq_sw_exit/enable
		echo 1 >$T/events/vcmdq_sw/vcmdq_sw_error/enable
		echo 1 >$T/tracing_on
	fi
	# the runs vcmdq.reset= names ("+"-separated) reboot their L2 once:
	# qemu_RUN_reset
	noreboot=-no-reboot reset=0
	case "+$reset_run+" in *"+$run+"*) noreboot='' reset=1 ;; esac
	# the CMDQV run: L2 checks its driver found that many LVCMDQs
	cmdqv=0
	[ "$run" = sw-tegra241 ] && cmdqv=$L2_VCMDQS
	# (two boots in one QEMU for the reset)
	t=$((l2timeout * (1 + reset)))
	rm -f "/tmp/qfrom.$run" "/tmp/reset.$run"
	start=$(cut -d' ' -f1 /proc/uptime)
	say "# starting L2 ($run: $bin, arm-smmuv3 $smmu) at ${start}s"
	# shellcheck disable=SC2086 # $trace is two options or none
	{ timeout "$t" $bin \
		-M virt,accel=kvm,gic-version=3 -cpu host -smp $L2_CPUS -m 256M \
		-bios /share/QEMU_EFI.fd -kernel /l2/Image -initrd /l2/initramfs.cpio \
		-append "console=ttyAMA0 quiet panic=-1 rdinit=/init iommu.strict=1 vcmdq.mode=$mode vcmdq.corrupt=$(cat /l2/corrupt-lba) vcmdq.kver=$(cat /l2/kernel-release) vcmdq.cpus=$L2_CPUS vcmdq.reset=$reset vcmdq.cmdqv=$cmdqv" \
		-display none -serial stdio -monitor none -nic none $noreboot \
		-object iommufd,id=iommufd0 \
		-device arm-smmuv3,primary-bus=pcie.0,id=smmuv3.0,$smmu \
		-device vfio-pci,host=$E1000E,bus=pcie.0,addr=0x3,iommufd=iommufd0 \
		-device vfio-pci,host=$NVME,bus=pcie.0,addr=0x4,iommufd=iommufd0 \
		-device pcie-root-port,id=rp0,bus=pcie.0,addr=0x5,chassis=1 \
		$trace </tmp/l2.in 2>/tmp/qemu.err; echo $? >/tmp/qemu.rc; } | tr -d '\r' |
	while IFS= read -r l; do
		case "$l" in
		*"VCMDQ-L2 MARK "*)
			# (UEFI leaves terminal escapes in front of L2's first line)
			l="VCMDQ-L2 ${l#*VCMDQ-L2 }"
			set -- $l
			snap "$4" "$3"
			if [ "$3" = end ]; then
				read -r u0 k0 <"/tmp/snap.$4.begin"
				read -r u1 k1 <"/tmp/snap.$4.end"
				# an unreadable counter is no count (guest-report.py
				# fails the run), never a difference of two defaults
				if isnum "$u0" && isnum "$u1" && isnum "$k0" && isnum "$k1"; then
					say "EXITS $4 user=$((u1 - u0)) kernel=$((k1 - k0))"
				else
					say "EXITS $4 user=unreadable kernel=unreadable"
					say "# $4: KVM exit counters unreadable (${k:-no VM directory in /sys/kernel/debug/kvm})"
				fi
			fi
			echo go >/tmp/l2.in
			;;
		*"VCMDQ-L2 ASK stats"*)
			kqueues
			echo go >/tmp/l2.in
			;;
		*"VCMDQ-L2 ASK reset"*)
			# first time: close the first boot's figures, and
			# everything after is the reset's; the guest reboots
			if [ ! -e "/tmp/reset.$run" ]; then
				touch "/tmp/reset.$run"
				summary "$run"
				say "RUN $run-reset"
				echo reboot >/tmp/l2.in
			else
				echo finish >/tmp/l2.in
			fi
			;;
		*"VCMDQ-L2 "*)
			echo "VCMDQ-L2 ${l#*VCMDQ-L2 }" ;;
		*)
			echo "L2| $l" ;;
		esac
	done
	rc=$(cat /tmp/qemu.rc 2>/dev/null)
	[ "$rc" = 0 ] || say "# $run: $bin exited $rc$([ "$rc" = 124 ] && echo ", killed after ${t}s")"
	say "# L2 ($run) ran $(awk -v s="$start" '{ printf "%.1f", $1 - s }' /proc/uptime)s"
	# QEMU warns once per BAR it cannot map through the IOAS (harmless,
	# RIG-NOTES); the rest is what a failed start has to say
	grep -v 'IOAS_MAP\|vfio_container_dma_map' /tmp/qemu.err |
		sed 's/^/VCMDQ-L1 # qemu: /' | head -40
	summary "$run"
	say "MODREF vcmdq_sw $(cat /sys/module/vcmdq_sw/refcnt 2>/dev/null || echo -)"
}

# qemu_RUN_no_module (sw-main: cmdq=sw, sw-tegra241: cmdqv=on) on a host
# without vcmdq_sw.ko must refuse to start, with an error naming what is
# missing (no silent trap path).
no_module() { # RUN
	name=qemu_$(echo "$1" | tr -- '-.' '__')_no_module
	# shellcheck disable=SC2046 # two words: binary, properties
	set -- "$1" $(qemu_of "$1")
	timeout 60 "$2" \
		-M virt,accel=kvm,gic-version=3 -cpu host -smp 1 -m 256M \
		-bios /share/QEMU_EFI.fd -kernel /l2/Image -initrd /l2/initramfs.cpio \
		-append "console=ttyAMA0 quiet panic=-1 rdinit=/init vcmdq.mode=boot" \
		-display none -serial none -monitor none -nic none -no-reboot \
		-object iommufd,id=iommufd0 \
		-device arm-smmuv3,primary-bus=pcie.0,id=smmuv3.0,"$3" \
		-device vfio-pci,host=$E1000E,bus=pcie.0,addr=0x3,iommufd=iommufd0 \
		</dev/null >/tmp/nomod.out 2>&1
	rc=$?
	# (every message starts with the program's name, qemu-vcmdq: not it)
	msg=$(sed 's/^[^ ]*qemu-vcmdq: //' /tmp/nomod.out | grep -m1 -i 'vcmdq')
	if [ $rc = 124 ] || [ $rc = 0 ]; then
		res 1 "$name: QEMU ran (exit $rc) with $3 and no vcmdq_sw.ko"
	elif [ -z "$msg" ]; then
		res 1 "$name: exit $rc but no error naming vcmdq: $(head -1 /tmp/nomod.out)"
	else
		res 0 "$name: exit $rc, \"$msg\""
	fi
}

runs=$(echo "${runs:-stock-11.1}" | tr , ' ')
for r in $runs; do
	qemu_of "$r" >/dev/null || { say "# unknown run '$r'"; done_; }
done
case " $runs " in
*" sw-main "* | *" sw-tegra241 "*)
	if [ "$mode" = check ]; then
		for r in $runs; do
			case "$r" in sw-main | sw-tegra241) no_module "$r" ;; esac
		done
	fi
	for m in kvm_shadow_doorbell vcmdq_sw; do
		insmod /modules/$m.ko || say "# insmod $m.ko failed"
	done
	;;
esac
for r in $runs; do
	run_l2 "$r"
done
done_
