/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vcmdq-sw: a guest SMMUv3 command queue run in the host kernel.
 *
 * The VMM opens /dev/vcmdq-sw (the queue's control file), then allocates the
 * queue with IOMMU_HW_QUEUE_ALLOC on an IOMMU_VIOMMU_TYPE_ARM_SMMUV3 vIOMMU:
 * type IOMMU_HW_QUEUE_TYPE_VCMDQ_SW, @nesting_parent_iova/@length the guest
 * queue, @data_uptr/@data_len a struct iommu_hw_queue_vcmdq_sw naming the
 * control file. From then on a kernel worker consumes the guest queue each
 * time the guest writes PROD. The control file reports what the worker
 * leaves to the VMM (read(), pollable), resumes the queue and reads its
 * counters (ioctls). The queue is destroyed with IOMMU_DESTROY; closing the
 * control file stops it for good (its iommufd object remains until
 * destroyed).
 */
#ifndef _UAPI_LINUX_VCMDQ_SW_H
#define _UAPI_LINUX_VCMDQ_SW_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * enum vcmdq_sw_layout - the registers the guest programs
 * @VCMDQ_SW_LAYOUT_SMMUV3: the SMMUv3 main command queue in page 0 of the
 *	vSMMU: CMDQ_PROD 0x98, CMDQ_CONS 0x9c, GERROR 0x60, GERRORN 0x64.
 *	Commands the host kernel must not run (CFGI_STE and other
 *	configuration, PRI_RESP, RESUME, ...) are left to the VMM.
 * @VCMDQ_SW_LAYOUT_TEGRA241: a tegra241 CMDQV logical VCMDQ: block of
 *	0x80 bytes at @index * 0x80 of its page 0 with CONS 0x0, PROD 0x4,
 *	GERROR 0x10, GERRORN 0x14. Only TLBI_NH_ASID, TLBI_NH_VA, ATC_INV and
 *	CMD_SYNC are legal, as on a guest-owned HW VCMDQ; nothing exits.
 */
enum vcmdq_sw_layout {
	VCMDQ_SW_LAYOUT_SMMUV3 = 0,
	VCMDQ_SW_LAYOUT_TEGRA241 = 1,
};

/* What the vSMMU advertises to the guest (struct iommu_hw_queue_vcmdq_sw) */
#define VCMDQ_SW_CAP_MSI	_BITUL(0)	/* IDR0.MSI */
#define VCMDQ_SW_CAP_SEV	_BITUL(1)	/* IDR0.SEV */

/**
 * struct iommu_hw_queue_vcmdq_sw - IOMMU_HW_QUEUE_TYPE_VCMDQ_SW parameters
 * @flags: must be 0
 * @layout: enum vcmdq_sw_layout
 * @ctl_fd: an open /dev/vcmdq-sw file not yet bound to a queue
 * @vm_fd: the KVM VM the guest runs in; IOMMU_HW_QUEUE_ALLOC must come from
 *	the process that created it (-EPERM otherwise)
 * @log2size: the guest queue has 1 << @log2size entries of 16 bytes
 *	(at most 19); the queue length of IOMMU_HW_QUEUE_ALLOC must be exactly
 *	16 << @log2size
 * @caps: VCMDQ_SW_CAP_* the vSMMU advertises: with VCMDQ_SW_CAP_MSI a
 *	CMD_SYNC with CS=IRQ writes its MSIDATA to MSIADDR in guest memory
 *	(through KVM, dirty-logged); without it, CS=IRQ signals @irq_eventfd.
 *	An MSIADDR outside guest memory is an MSI abort: the queue goes on,
 *	and with the main-CMDQ layout GERROR.MSI_CMDQ_ABT_ERR is activated (a
 *	tegra241 VCMDQ has no such bit: the write is dropped)
 * @irq_eventfd: eventfd of the queue's wired interrupt (an irqfd), or -1
 *	if the vSMMU has none (then a CMD_SYNC with CS=IRQ and no MSI is
 *	completed by CONS alone)
 * @gerror_eventfd: eventfd signalled when the kernel toggles a GERROR bit
 *	(an irqfd of the vSMMU's GERROR interrupt), or -1
 * @batch: most commands per host batch, 1..64; 0 for 64
 * @budget: most guest entries consumed per worker turn before it yields
 *	the CPU; 0 for the default (4096)
 * @reg_gpa: guest physical address of the page holding the queue's
 *	registers, page aligned. The VMM maps it to the guest as a read-only
 *	KVM memslot backed by the page at @reg_uaddr, so guest reads of CONS
 *	never exit; the kernel takes the guest's stores to PROD and GERRORN
 *	(and only those; other stores exit to the VMM as before)
 * @reg_uaddr: the VMM's address of that page, page aligned. The kernel
 *	writes CONS there and toggles GERROR.CMDQ_ERR (bit 0) and, main-CMDQ
 *	layout only, GERROR.MSI_CMDQ_ABT_ERR (bit 4) atomically; the VMM owns
 *	every other register and must update GERROR atomically.
 * @poll_us: after a turn that caught up with PROD, the worker keeps its
 *	CPU for up to this many microseconds (at most 1000) waiting for the
 *	next doorbell before it sleeps, trading CPU time for wake-up
 *	latency (as vhost-net's busyloop_timeout); 0 to sleep at once
 * @__reserved: 0
 *
 * The guest queue is at @nesting_parent_iova of IOMMU_HW_QUEUE_ALLOC in the
 * IOAS of the vIOMMU's nesting parent. Its pages are pinned while mapped;
 * unmapping any of them stops the queue: the guest sees CERROR_ABT (as an
 * SMMU does on a fetch abort) at the next command and the VMM gets
 * VCMDQ_SW_EVENT_UNMAPPED.
 */
struct iommu_hw_queue_vcmdq_sw {
	__u32 flags;
	__u32 layout;
	__s32 ctl_fd;
	__s32 vm_fd;
	__u32 log2size;
	__u32 caps;
	__s32 irq_eventfd;
	__s32 gerror_eventfd;
	__u32 batch;
	__u32 budget;
	__aligned_u64 reg_gpa;
	__aligned_u64 reg_uaddr;
	__u32 poll_us;
	__u32 __reserved;
};

/**
 * enum vcmdq_sw_event_type - why the worker needs the VMM
 * @VCMDQ_SW_EVENT_EXIT: the queue stopped before a command the VMM runs
 *	(main-CMDQ layout only). CONS points at it; answer with
 *	VCMDQ_SW_RESUME.
 * @VCMDQ_SW_EVENT_FAULT: the host failed (SMMU command queue error, an
 *	MSI write to a VM with a dirty ring, ...). The queue is halted for
 *	good.
 * @VCMDQ_SW_EVENT_UNMAPPED: the guest queue memory was unmapped from the
 *	IOAS; the guest sees CERROR_ABT from now on.
 */
enum vcmdq_sw_event_type {
	VCMDQ_SW_EVENT_EXIT = 1,
	VCMDQ_SW_EVENT_FAULT = 2,
	VCMDQ_SW_EVENT_UNMAPPED = 3,
};

/**
 * struct vcmdq_sw_event - one record read() from the control file
 * @type: enum vcmdq_sw_event_type
 * @index: queue pointer (wrap bit | index) of the entry concerned
 * @cmd: that entry as the worker read it from the guest (EXIT); the VMM
 *	must act on this copy, not re-read guest memory
 * @err: negative errno of a FAULT, else 0
 * @__reserved: 0
 *
 * read() returns whole records and blocks unless O_NONBLOCK; poll() reports
 * EPOLLIN while one is pending. There is at most one EXIT outstanding.
 */
struct vcmdq_sw_event {
	__u32 type;
	__u32 index;
	__aligned_u64 cmd[2];
	__s32 err;
	__u32 __reserved;
};

/*
 * ioctl code 0xB9, numbers 0x10-0x1f; kvm_shadow_doorbell.h has 0x00-0x0f.
 * 0xB9 has no entry in Linux 7.2's
 * Documentation/userspace-api/ioctl/ioctl-number.rst and no kernel header
 * uses it as an ioctl type (0xCD is reiserfs's, 0xB7 nsfs's and
 * remoteproc's).
 */
#define VCMDQ_SW_TYPE	0xB9

/**
 * struct vcmdq_sw_resume - VCMDQ_SW_RESUME argument
 * @size: sizeof(struct vcmdq_sw_resume)
 * @index: @index of the VCMDQ_SW_EVENT_EXIT being answered
 * @cerror: 0 if the VMM ran the command (the queue goes on after it), or
 *	the CONS.ERR code the guest must see at it (1 = CERROR_ILL)
 * @__reserved: 0
 *
 * Return: 0; -EINVAL if the queue is not stopped at @index for the VMM or
 * @cerror is not 0..3; -ENODEV if the queue is gone. An answer refused
 * changes nothing: the queue stays stopped, its EXIT event stays to read.
 */
struct vcmdq_sw_resume {
	__u32 size;
	__u32 index;
	__u32 cerror;
	__u32 __reserved;
};

#define VCMDQ_SW_RESUME		_IO(VCMDQ_SW_TYPE, 0x10)

#define VCMDQ_SW_LAT_BUCKETS	16

/**
 * struct vcmdq_sw_stats - VCMDQ_SW_GET_STATS: the queue's counters
 * @size: sizeof(struct vcmdq_sw_stats) on input; the kernel fills what
 *	both know
 * @__reserved: 0
 * @doorbells: guest stores to PROD taken by the kernel
 * @wakes: worker turns that found work
 * @cmds: guest commands consumed
 * @host_cmds: commands issued to the SMMU
 * @batches: host batches issued
 * @host_syncs: host batches ending in a CMD_SYNC
 * @guest_syncs: guest CMD_SYNCs completed
 * @exits: VCMDQ_SW_EVENT_EXIT stops
 * @errors: CERROR stops (the guest sees CONS.ERR)
 * @faults: VCMDQ_SW_EVENT_FAULT and _UNMAPPED
 * @max_batch: largest host batch
 * @__pad: 0
 * @latency: doorbell-to-CONS latency histogram: bucket i counts worker
 *	turns that caught up with PROD between 2^i and 2^(i+1) microseconds
 *	after the first doorbell they served (bucket 0: under 2 us; the last
 *	bucket: everything above)
 * @polled: doorbells that found the worker still polling (see @poll_us
 *	of struct iommu_hw_queue_vcmdq_sw), so no wake-up was needed
 * @msi_aborts: CMD_SYNC MSIs that could not be written (MSIADDR is not
 *	guest memory): GERROR.MSI_CMDQ_ABT_ERR on the main CMDQ, dropped on a
 *	tegra241 VCMDQ; the queue went on
 */
struct vcmdq_sw_stats {
	__u32 size;
	__u32 __reserved;
	__aligned_u64 doorbells;
	__aligned_u64 wakes;
	__aligned_u64 cmds;
	__aligned_u64 host_cmds;
	__aligned_u64 batches;
	__aligned_u64 host_syncs;
	__aligned_u64 guest_syncs;
	__aligned_u64 exits;
	__aligned_u64 errors;
	__aligned_u64 faults;
	__u32 max_batch;
	__u32 __pad;
	__aligned_u64 latency[VCMDQ_SW_LAT_BUCKETS];
	__aligned_u64 polled;
	__aligned_u64 msi_aborts;
};

#define VCMDQ_SW_GET_STATS	_IO(VCMDQ_SW_TYPE, 0x11)

#endif /* _UAPI_LINUX_VCMDQ_SW_H */
