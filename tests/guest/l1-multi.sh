#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2154 # mode, l2timeout, corrupt...: the sourcing init script's
# L1 side of the two-vSMMU scenario (scripts/guest.sh multi|multi-bench),
# sourced by tests/guest/l1-init.sh; it does not return.
#
# L0 gave this L1 two emulated SMMUv3s, each on its own pxb-pcie root
# complex: the e1000e at 11:00.0 behind the first, the NVMe at 21:00.0
# behind the second (StreamIDs 0x1100 and 0x2100, each in its own SMMU's
# StreamID space). The patched QEMU gives the L2 guest the same shape: two
# accelerated vSMMUs (accel=on, cmdq=sw), each on a pxb-pcie with a root
# port and one of the devices, so each vSMMU has its own vIOMMU on its own
# physical SMMU and its main CMDQ is its own vcmdq-sw queue.
#
# L2 asks with "VCMDQ-L2 ASK WHAT" and gets one line back:
#   queues      the queues alive (QEMU's smmuv3_accel_cmdq_alloc/free trace)
#   gone        the same, once one queue was freed (waits up to 30 s)
#   summary N   prints what each queue sent to its SMMU since the last
#               summary (vcmdq_sw_batch), then "go"
# Lines for scripts/guest-report.py:
#   VCMDQ-L1 QALLOC q=ID viommu=ID gpa=REG_GPA / VCMDQ-L1 QFREE q=ID
#   VCMDQ-L1 QUEUES live=N refcnt=R
#   VCMDQ-L1 QCMDS NAME q=ID cmds=N batches=N failed=N errors=N vmids=V,...
#            tlbi=N unknown=N lost=N   (TLBI_NH_* in one-command batches;
#            commands of longer batches after their first, not known)
E1K=0000:11:00.0
NVM=0000:21:00.0
mtrace=/tmp/l1-qemu-trace.multi.log

# L0's trace does not name the SMMU a command went to: scripts/
# guest-report.py tells the two apart by their command queue indices,
# which each SMMU advances on its own. They start out equal (the same
# probe on both); dma_map_benchmark on the e1000e, directly in L1, moves
# the first SMMU's index (each unmap a TLBI + CMD_SYNC) ~10^5-10^6 entries
# ahead, wrapping its 2^18-entry queue: from then on an index both reach
# at the same time is unlikely (guest-report.py reports any it meets).
# (multi-bench traces nothing: no need)
if [ "$mode" != multi ]; then
	:
elif echo DMA >/sys/bus/pci/devices/$E1K/iommu_group/type &&
	bind $E1K dma_map_benchmark; then
	/bin/dma_map_benchmark -s 2 -t 1 -g 1 -d 1 | tail -1 | sed 's/^/VCMDQ-L1 # offset: /'
	echo $E1K >/sys/bus/pci/devices/$E1K/driver/unbind
	# (its stage-1 domain goes now, not when vfio takes the device: L0
	# sees no TLBI of L1's own from L2's start on)
	echo identity >/sys/bus/pci/devices/$E1K/iommu_group/type
else
	say "# could not bind $E1K to dma_map_benchmark"
fi
for d in $E1K $NVM; do
	bind "$d" vfio-pci || { res 1 "l2_boot: binding $d to vfio-pci failed"; done_; }
done
say "# L1 SMMUs: $(ls /sys/class/iommu | tr '\n' ' '); e1000e on" \
	"$(basename "$(readlink /sys/bus/pci/devices/$E1K/iommu)"), nvme on" \
	"$(basename "$(readlink /sys/bus/pci/devices/$NVM/iommu)")"
for m in kvm_shadow_doorbell vcmdq_sw; do
	insmod /modules/$m.ko || say "# insmod $m.ko failed"
done

T=/sys/kernel/tracing
if [ "$mode" = multi ]; then
	echo 0 >$T/tracing_on
	echo 8192 >$T/buffer_size_kb
	echo >$T/trace
	for e in vcmdq_sw_batch vcmdq_sw_exit vcmdq_sw_error; do
		echo 1 >$T/events/vcmdq_sw/$e/enable
	done
	echo 1 >$T/tracing_on
fi

queues() { # the QALLOC/QFREE lines not yet printed, then QUEUES
	grep -h 'smmuv3_accel_cmdq_\(alloc\|free\)' $mtrace 2>/dev/null |
		sed -n 's/.*smmuv3_accel_cmdq_alloc viommu_id=\([0-9]*\) hw_queue_id=\([0-9]*\) .*reg_gpa=\(0x[0-9a-f]*\).*/QALLOC q=\2 viommu=\1 gpa=\3/p
			s/.*smmuv3_accel_cmdq_free hw_queue_id=\([0-9]*\) .*/QFREE q=\1/p' >/tmp/q.now
	tail -n +$(($(wc -l </tmp/q.seen) + 1)) /tmp/q.now | sed 's/^/VCMDQ-L1 /'
	cp /tmp/q.now /tmp/q.seen
	live=$(($(grep -c QALLOC /tmp/q.now) - $(grep -c QFREE /tmp/q.now)))
	say "QUEUES live=$live refcnt=$(cat /sys/module/vcmdq_sw/refcnt 2>/dev/null || echo -)"
}
: >/tmp/q.seen
qcmds() { # NAME: per queue, what vcmdq-sw sent since the last call
	[ -d $T/events/vcmdq_sw ] || return 0
	echo 0 >$T/tracing_on
	lost=$(cat $T/per_cpu/cpu*/stats |
		awk '/^overrun:/ { n += $2 } END { print n + 0 }')
	# VMID of a TLBI is bits 47:32 of its first word; its opcode 7:0
	awk -v name="$1" -v lost="$lost" '/vcmdq_sw_batch:/ {
		q = n = f = r = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^q=/) q = substr($i, 3)
			if ($i ~ /^n=/) n = substr($i, 3)
			if ($i ~ /^first=/) f = substr($i, 9)
			if ($i ~ /^ret=/) r = substr($i, 5)
		}
		cmds[q] += n; b[q]++
		if (r != "0") bad[q]++
		op = substr(f, 15, 2)
		if (op ~ /^1[0-3]$/) vm[q, substr(f, 5, 4)] = 1
		# a batch of one command is known whole: count its TLBIs; a
		# longer one only by its first command
		if (n == 1 && op ~ /^1[0-3]$/) tl[q]++
		if (n > 1) xtra[q] += n - 1
		qs[q] = 1
	}
	/vcmdq_sw_error:/ { for (i = 1; i <= NF; i++) if ($i ~ /^q=/) err[substr($i, 3)]++ }
	END {
		for (q in qs) {
			v = ""
			for (k in vm) { split(k, p, SUBSEP); if (p[1] == q) v = v (v ? "," : "") "0x" p[2] }
			printf "VCMDQ-L1 QCMDS %s q=%s cmds=%d batches=%d failed=%d errors=%d vmids=%s tlbi=%d unknown=%d lost=%d\n",
				name, q, cmds[q], b[q], bad[q] + 0, err[q] + 0, v ? v : "-", tl[q] + 0, xtra[q] + 0, lost
		}
		printf "VCMDQ-L1 QCMDS-END %s lost=%d\n", name, lost
	}' $T/trace
	echo >$T/trace
	echo 1 >$T/tracing_on
}

trace=
[ "$mode" = multi ] &&
	trace="-trace smmuv3_accel_cmdq_alloc -trace smmuv3_accel_cmdq_free -trace smmuv3_cmdq_opcode -D $mtrace"
say "RUN multi"
mkfifo /tmp/l2.in
exec 3<>/tmp/l2.in
start=$(cut -d' ' -f1 /proc/uptime)
say "# starting L2 (multi: /usr/bin/qemu-vcmdq, two arm-smmuv3 accel=on,cmdq=sw) at ${start}s"
# shellcheck disable=SC2086 # $trace is options or none
{ timeout "$l2timeout" /usr/bin/qemu-vcmdq \
	-M virt,accel=kvm,gic-version=3 -cpu host -smp $L2_CPUS -m 256M \
	-bios /share/QEMU_EFI.fd -kernel /l2/Image -initrd /l2/initramfs.cpio \
	-append "console=ttyAMA0 quiet panic=-1 rdinit=/init iommu.strict=1 vcmdq.mode=$mode vcmdq.corrupt=$(cat /l2/corrupt-lba) vcmdq.kver=$(cat /l2/kernel-release) vcmdq.cpus=$L2_CPUS" \
	-display none -serial stdio -monitor none -nic none -no-reboot \
	-object iommufd,id=iommufd0 \
	-device pxb-pcie,id=pcie.1,bus_nr=0x10,bus=pcie.0 \
	-device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.1,accel=on,cmdq=sw \
	-device pcie-root-port,id=rp1,bus=pcie.1,chassis=1 \
	-device vfio-pci,host=$E1K,bus=rp1,iommufd=iommufd0 \
	-device pxb-pcie,id=pcie.2,bus_nr=0x20,bus=pcie.0 \
	-device arm-smmuv3,primary-bus=pcie.2,id=smmuv3.2,accel=on,cmdq=sw \
	-device pcie-root-port,id=rp2,bus=pcie.2,chassis=2 \
	-device vfio-pci,host=$NVM,bus=rp2,iommufd=iommufd0 \
	$trace </tmp/l2.in 2>/tmp/qemu.err; echo $? >/tmp/qemu.rc; } | tr -d '\r' |
while IFS= read -r l; do
	case "$l" in
	*"VCMDQ-L2 ASK "*)
		set -- ${l#*VCMDQ-L2 ASK }
		case "$1" in
		queues) queues; qcmds boot; echo "live=$live" >/tmp/l2.in ;;
		gone)
			i=0
			while [ $i -lt 60 ] && ! grep -q smmuv3_accel_cmdq_free $mtrace 2>/dev/null; do
				sleep 0.5
				i=$((i + 1))
			done
			queues; echo "live=$live" >/tmp/l2.in ;;
		summary) qcmds "$2"; echo go >/tmp/l2.in ;;
		*) echo "unknown" >/tmp/l2.in ;;
		esac
		;;
	*"VCMDQ-L2 "*) echo "VCMDQ-L2 ${l#*VCMDQ-L2 }" ;;
	*) echo "L2| $l" ;;
	esac
done
rc=$(cat /tmp/qemu.rc 2>/dev/null)
[ "$rc" = 0 ] || say "# multi: qemu-vcmdq exited $rc$([ "$rc" = 124 ] && echo ", killed after ${l2timeout}s")"
say "# L2 (multi) ran $(awk -v s="$start" '{ printf "%.1f", $1 - s }' /proc/uptime)s"
grep -v 'IOAS_MAP\|vfio_container_dma_map' /tmp/qemu.err | sed 's/^/VCMDQ-L1 # qemu: /' | head -40
queues
say "MODREF vcmdq_sw $(cat /sys/module/vcmdq_sw/refcnt 2>/dev/null || echo -)"
done_
