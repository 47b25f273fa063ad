/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vcmdq-sw: a guest SMMUv3 command queue run in the host kernel.
 *
 * The queue is an iommufd HW queue object of type
 * IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW on an IOMMU_VIOMMU_TYPE_ARM_SMMUV3
 * vIOMMU, allocated with IOMMU_HW_QUEUE_ALLOC (@data_uptr/@data_len: a
 * struct iommu_hw_queue_arm_smmuv3_cmdq_sw) and destroyed with
 * IOMMU_DESTROY. The allocation returns two things:
 *
 * - the queue's register page, kernel memory the VMM maps with mmap() of
 *   the iommufd file at @out_reg_mmap_offset and hands to KVM as a
 *   read-only memslot at @reg_gpa: guest reads of CONS never exit, guest
 *   stores to PROD and GERRORN go to the kernel. The queues of a vIOMMU
 *   share one page (a tegra241 VINTF's logical VCMDQs sit in one page),
 *   each offering it at an offset of its own;
 * - an event file (@out_event_fd): read() returns what the kernel leaves to
 *   the VMM (struct vcmdq_sw_event), write() takes the VMM's answers
 *   (struct vcmdq_sw_response), ioctl()s read the counters and set how the
 *   queue is consumed. Closing it does not stop the queue; destroying the
 *   queue makes it report EPOLLHUP and -ENODEV. Its /proc/PID/fdinfo shows
 *   the queue to whoever may read the VMM's fdinfo, one "key:\tvalue" line
 *   each: vcmdq_id (the HW queue object ID), vcmdq_index, vcmdq_layout
 *   ("smmuv3" or "tegra241"), vcmdq_dead (1 once destroyed; then nothing
 *   follows), and while the queue lives vcmdq_paused (see VCMDQ_SW_PAUSE)
 *   and the counters vcmdq_doorbells, vcmdq_cmds, vcmdq_host_cmds,
 *   vcmdq_batches, vcmdq_guest_syncs, vcmdq_exits, vcmdq_errors and
 *   vcmdq_faults, the fields of struct vcmdq_sw_stats of those names as
 *   VCMDQ_SW_GET_STATS reads them (one snapshot).
 *
 * The queue memory itself is pinned through the vIOMMU's nesting parent
 * IOAS for the queue's life, as for any HW queue: IOMMU_IOAS_UNMAP of it
 * fails with -EBUSY until the queue is destroyed.
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
 *	The queue index must be 0. Commands the host kernel must not run
 *	(CFGI_STE and other configuration, PRI_RESP, RESUME, ...) are left to
 *	the VMM.
 * @VCMDQ_SW_LAYOUT_TEGRA241: a tegra241 CMDQV logical VCMDQ: block of
 *	0x80 bytes at index * 0x80 of its page 0 with CONS 0x0, PROD 0x4,
 *	GERROR 0x10, GERRORN 0x14 (index 0..31). Only TLBI_NH_ASID,
 *	TLBI_NH_VA, ATC_INV and CMD_SYNC are legal, as on a guest-owned HW
 *	VCMDQ; nothing exits.
 */
enum vcmdq_sw_layout {
	VCMDQ_SW_LAYOUT_SMMUV3 = 0,
	VCMDQ_SW_LAYOUT_TEGRA241 = 1,
};

/* What the vSMMU advertises to the guest */
#define VCMDQ_SW_CAP_MSI	_BITUL(0)	/* IDR0.MSI */
#define VCMDQ_SW_CAP_SEV	_BITUL(1)	/* IDR0.SEV */

/**
 * struct iommu_hw_queue_arm_smmuv3_cmdq_sw - IOMMU_HW_QUEUE_ALLOC data of a software CMDQ
 * @flags: VCMDQ_SW_ALLOC_PAUSED or 0
 * @layout: enum vcmdq_sw_layout, the same for all queues of a vIOMMU
 *	(-EINVAL otherwise); a vIOMMU has one queue per index
 *	(IOMMU_HW_QUEUE_ALLOC of a taken one fails with -EEXIST)
 * @vm_fd: the KVM VM the guest runs in (-EBADF if it is not a KVM VM file,
 *	as for a closed one). IOMMU_HW_QUEUE_ALLOC must come from the process
 *	that created it (-EPERM otherwise), as KVM's own ioctls
 * @log2size: the guest queue has 1 << @log2size entries of 16 bytes (at
 *	most 19). @length of IOMMU_HW_QUEUE_ALLOC must be exactly
 *	16 << @log2size and @nesting_parent_iova aligned to it (at least 32),
 *	as the architecture demands of CMDQ_BASE
 * @caps: VCMDQ_SW_CAP_* the vSMMU advertises: with VCMDQ_SW_CAP_MSI a
 *	CMD_SYNC with CS=IRQ writes its MSIDATA to MSIADDR in guest memory
 *	(through KVM, dirty-logged); without it, CS=IRQ signals @irq_eventfd.
 *	An MSIADDR outside guest memory is an MSI abort: the queue goes on,
 *	and with the main-CMDQ layout GERROR.MSI_CMDQ_ABT_ERR is activated (a
 *	tegra241 VCMDQ has no such bit: the write is dropped)
 * @irq_eventfd: eventfd of the queue's wired interrupt (an irqfd), or -1 if
 *	the vSMMU has none (then a CMD_SYNC with CS=IRQ and no MSI is
 *	completed by CONS alone)
 * @gerror_eventfd: eventfd signalled when the kernel activates a GERROR bit
 *	(an irqfd of the vSMMU's GERROR interrupt), or -1
 * @cons: the CONS register the guest has seen so far (pointer | ERR << 24),
 *	0 for a fresh queue. A VMM that hands over a running queue (from its
 *	own trap path, or restoring a migrated one) passes its value: the
 *	queue starts there, and with an ERR code it starts stopped at that
 *	command error, waiting for the guest's acknowledgment (GERRORN) as
 *	the stopped queue would have
 * @prod: the PROD register the guest has written, 0 for a fresh queue;
 *	entries between @cons and @prod are consumed at once
 * @gerror: initial GERROR register
 * @gerrorn: initial GERRORN register
 * @__reserved: 0
 * @reg_gpa: guest physical address of the register page, page aligned,
 *	the same for all queues of a vIOMMU (-EINVAL otherwise); the kernel
 *	takes the guest's stores to PROD and GERRORN there and writes the
 *	stored values into the page, where the guest reads them back
 * @out_event_fd: the event file, O_CLOEXEC
 * @__reserved2: 0
 * @out_reg_mmap_offset: mmap() offset of the register page in the iommufd
 *	file. Map it MAP_SHARED, PROT_READ | PROT_WRITE: the VMM writes the
 *	registers it emulates (IDRs, CR0, ...) there, the kernel writes CONS
 *	and toggles GERROR.CMDQ_ERR (bit 0) and, main-CMDQ layout only,
 *	GERROR.MSI_CMDQ_ABT_ERR (bit 4) with atomic instructions: a VMM that
 *	changes other GERROR bits must do so atomically too. A mapping holds
 *	the queue whose offset it used: IOMMU_DESTROY of that queue fails
 *	with -EBUSY until it is unmapped, so map the offset of the queue
 *	destroyed last (index 0, where queues are destroyed in descending
 *	order as tegra241 requires). The page is freed with the vIOMMU's last
 *	queue; a mapping keeps its memory, no longer updated
 * @out_reg_mmap_length: the page size
 */
struct iommu_hw_queue_arm_smmuv3_cmdq_sw {
	__u32 flags;
	__u32 layout;
	__s32 vm_fd;
	__u32 log2size;
	__u32 caps;
	__s32 irq_eventfd;
	__s32 gerror_eventfd;
	__u32 cons;
	__u32 prod;
	__u32 gerror;
	__u32 gerrorn;
	__u32 __reserved;
	__aligned_u64 reg_gpa;
	__s32 out_event_fd;
	__u32 __reserved2;
	__aligned_u64 out_reg_mmap_offset;
	__aligned_u64 out_reg_mmap_length;
};

/*
 * The queue starts paused (see VCMDQ_SW_PAUSE): a VMM restoring a migrated
 * queue sets its state with VCMDQ_SW_SET_STATE before VCMDQ_SW_UNPAUSE.
 */
#define VCMDQ_SW_ALLOC_PAUSED	_BITUL(0)

/**
 * enum vcmdq_sw_event_type - why the queue needs the VMM
 * @VCMDQ_SW_EVENT_EXIT: the queue stopped before a command the VMM runs
 *	(main-CMDQ layout only): CFGI_STE & co., and a CFGI_CD, CFGI_CD_ALL
 *	or ATC_INV whose vSID no vDEVICE has (a StreamID the VMM emulates).
 *	CONS points at it; answer with a struct vcmdq_sw_response.
 * @VCMDQ_SW_EVENT_FAULT: the host failed (SMMU command queue error, ...).
 *	The queue is halted for good; destroy it.
 */
enum vcmdq_sw_event_type {
	VCMDQ_SW_EVENT_EXIT = 1,
	VCMDQ_SW_EVENT_FAULT = 2,
};

/**
 * struct vcmdq_sw_event - one record read() from the event file
 * @type: enum vcmdq_sw_event_type
 * @index: queue pointer (wrap bit | index) of the entry concerned
 * @cmd: that entry as the kernel read it from the guest (EXIT); the VMM
 *	must act on this copy, not re-read guest memory
 * @err: negative errno of a FAULT, else 0
 * @__reserved: 0
 *
 * read() returns whole records (-EINVAL for a buffer smaller than one)
 * and blocks unless O_NONBLOCK; once the queue is destroyed it returns the
 * records left, then 0 (end of file). poll() reports EPOLLIN while one is
 * pending, EPOLLHUP once the queue is destroyed. There is at most one EXIT
 * outstanding.
 */
struct vcmdq_sw_event {
	__u32 type;
	__u32 index;
	__aligned_u64 cmd[2];
	__s32 err;
	__u32 __reserved;
};

/**
 * struct vcmdq_sw_response - the VMM's answer to an EXIT, written to the event file
 * @index: @index of the VCMDQ_SW_EVENT_EXIT being answered
 * @cerror: 0 if the VMM ran the command (the queue goes on after it), or
 *	the CONS.ERR code the guest must see at it (1 = CERROR_ILL, 2 =
 *	CERROR_ABT, 3 = CERROR_ATC_INV_SYNC)
 *
 * write() takes whole records, in order, and returns the bytes of those
 * taken. The first one refused fails the write if it is the first,
 * otherwise ends it: -EINVAL if the queue is not stopped at @index for the
 * VMM or @cerror is not 0..3, -ENODEV once the queue is destroyed. A
 * refused answer changes nothing: the queue stays stopped, its EXIT event
 * stays to read.
 */
struct vcmdq_sw_response {
	__u32 index;
	__u32 cerror;
};

/*
 * ioctl code 0xB9, numbers 0x10-0x1f; kvm_shadow_doorbell.h has 0x00-0x0f.
 * 0xB9 has no entry in Linux 7.2's
 * Documentation/userspace-api/ioctl/ioctl-number.rst and no kernel header
 * uses it as an ioctl type (0xCD is reiserfs's, 0xB7 nsfs's and
 * remoteproc's).
 */
#define VCMDQ_SW_TYPE	0xB9

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
 * @faults: VCMDQ_SW_EVENT_FAULT
 * @max_batch: largest host batch
 * @__pad: 0
 * @latency: doorbell-to-CONS latency histogram: bucket i counts consumer
 *	turns that caught up with PROD between 2^i and 2^(i+1) microseconds
 *	after the first doorbell they served (bucket 0: under 2 us; the last
 *	bucket: everything above)
 * @polled: doorbells that found the worker still polling
 *	(VCMDQ_SW_CONSUMER_WORKER_POLL), so no wake-up was needed
 * @msi_aborts: CMD_SYNC MSIs that could not be written (MSIADDR is not
 *	guest memory): GERROR.MSI_CMDQ_ABT_ERR on the main CMDQ, dropped on a
 *	tegra241 VCMDQ; the queue went on
 * @poc_cleans: register updates cleaned to the point of coherency because
 *	the CPU lacks FEAT_S2FWB (the guest maps the page as Device memory and
 *	reads around the cache); 0 where it has it
 * @inline_turns: turns run by a vCPU in its own doorbell
 *	(VCMDQ_SW_CONSUMER_INLINE)
 * @inline_busy: doorbells that found another consumer running and left
 *	their PROD to it
 * @handovers: inline stays that ended at their bound (the module's
 *	parameters inline_entries and inline_us, a pending reschedule or
 *	signal) and left the rest to the worker
 * @msi_defers: CMD_SYNC MSIs the worker could not write (a VM that logs
 *	dirty pages in a ring without the bitmap beside it is written only
 *	from its vCPUs): CONS stays before the CMD_SYNC until the next
 *	doorbell, whose vCPU completes it
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
	__aligned_u64 poc_cleans;
	__aligned_u64 inline_turns;
	__aligned_u64 inline_busy;
	__aligned_u64 handovers;
	__aligned_u64 msi_defers;
};

#define VCMDQ_SW_GET_STATS	_IO(VCMDQ_SW_TYPE, 0x10)

/**
 * enum vcmdq_sw_consumer - who consumes the queue after a doorbell
 * @VCMDQ_SW_CONSUMER_WORKER: a kernel worker thread of the VMM, woken by
 *	the doorbell
 * @VCMDQ_SW_CONSUMER_WORKER_POLL: the same worker, which after a turn that
 *	caught up with PROD keeps its CPU for up to @poll_us (bounded by the
 *	module's parameter max_poll_us) waiting for the next doorbell before
 *	it sleeps, trading CPU time for wake-up latency
 *	(as vhost-net's busyloop_timeout)
 * @VCMDQ_SW_CONSUMER_INLINE: the vCPU whose PROD store rang the doorbell
 *	consumes the queue itself, in its doorbell, before it returns to the
 *	guest (the default). One consumer at a time: a vCPU that finds one
 *	running leaves its PROD to it, and the running one looks at PROD again
 *	before it lets go, so no doorbell is lost. A store keeps its vCPU in
 *	the kernel for a number of entries and a time bounded by the
 *	module's parameters (inline_entries, inline_us), however many
 *	doorbells other vCPUs ring meanwhile, and less if the vCPU thread
 *	must reschedule or has a signal pending; the worker finishes what is
 *	left. CMD_SYNC MSIs are written
 *	through the vCPU, so a dirty ring logs them
 */
enum vcmdq_sw_consumer {
	VCMDQ_SW_CONSUMER_WORKER = 0,
	VCMDQ_SW_CONSUMER_WORKER_POLL = 1,
	VCMDQ_SW_CONSUMER_INLINE = 2,
};

/**
 * struct vcmdq_sw_consumer_mode - VCMDQ_SW_SET_CONSUMER argument
 * @size: sizeof(struct vcmdq_sw_consumer_mode)
 * @mode: enum vcmdq_sw_consumer
 * @poll_us: VCMDQ_SW_CONSUMER_WORKER_POLL: 1 up to the module's parameter
 *	max_poll_us; otherwise 0
 * @__reserved: 0
 *
 * Takes effect at the next doorbell. Return: 0; -EINVAL for a mode or
 * @poll_us out of range; -ENODEV once the queue is destroyed.
 */
struct vcmdq_sw_consumer_mode {
	__u32 size;
	__u32 mode;
	__u32 poll_us;
	__u32 __reserved;
};

#define VCMDQ_SW_SET_CONSUMER	_IO(VCMDQ_SW_TYPE, 0x11)

/*
 * VCMDQ_SW_PAUSE: stop consuming. The consumer finishes the host batch it
 * is on (at most 64 entries), completes on the host what the queue has
 * issued (a host CMD_SYNC) and parks; MSI writes are done by then. Guest
 * stores to PROD and GERRORN still land in the register page, unconsumed.
 * Returns once nothing is in flight: 0; -ENODEV once the queue is
 * destroyed; -EIO if the host failed the final sync (the queue stays
 * paused with that sync owed: pause again to retry, or destroy it).
 * Pausing a paused queue only retries an owed sync.
 *
 * VCMDQ_SW_UNPAUSE: consume again, from CONS to whatever PROD is now.
 */
#define VCMDQ_SW_PAUSE		_IO(VCMDQ_SW_TYPE, 0x12)
#define VCMDQ_SW_UNPAUSE	_IO(VCMDQ_SW_TYPE, 0x13)

/**
 * enum vcmdq_sw_halt - why a paused queue was stopped before it paused
 * @VCMDQ_SW_HALT_NONE: it was not: it goes on at CONS
 * @VCMDQ_SW_HALT_EXIT: at CONS, before a command the VMM runs (main-CMDQ
 *	layout): an EXIT was pending; @exit_cmd of struct vcmdq_sw_state is
 *	the entry as read
 * @VCMDQ_SW_HALT_CERROR: at CONS with the CONS.ERR code of @cons, waiting
 *	for the guest to acknowledge GERROR.CMDQ_ERR through GERRORN
 * @VCMDQ_SW_HALT_FAULT: halted for good by a host failure; such a queue
 *	is not restored (VCMDQ_SW_SET_STATE refuses it)
 */
enum vcmdq_sw_halt {
	VCMDQ_SW_HALT_NONE = 0,
	VCMDQ_SW_HALT_EXIT = 1,
	VCMDQ_SW_HALT_CERROR = 2,
	VCMDQ_SW_HALT_FAULT = 3,
};

#define VCMDQ_SW_STATE_VERSION	1

/**
 * struct vcmdq_sw_state - what a paused queue carries to its next life
 * @size: sizeof(struct vcmdq_sw_state) on input; GET fills what both
 *	know, SET takes a shorter struct with the rest 0 and refuses a longer
 *	one with non-zero bytes the kernel does not know
 * @version: VCMDQ_SW_STATE_VERSION; a kernel refuses a version it does not
 *	know (-EINVAL)
 * @cons: the CONS register: pointer and CONS.ERR
 * @prod: the PROD register the guest wrote last
 * @gerror: the GERROR register
 * @gerrorn: the GERRORN register (the guest's acknowledgments)
 * @halt: enum vcmdq_sw_halt
 * @__reserved: 0
 * @exit_cmd: with VCMDQ_SW_HALT_EXIT, the entry at CONS as the queue read
 *	it; else 0
 *
 * VCMDQ_SW_GET_STATE reads it from a paused queue, VCMDQ_SW_SET_STATE
 * gives it to a paused one (a queue allocated with VCMDQ_SW_ALLOC_PAUSED
 * in another VMM, on another host) and writes the four registers into the
 * register page. A pending EXIT is delivered again on the new queue's
 * event file: a command the old VMM ran without answering runs twice
 * (CFGI and the other commands that exit are idempotent). Nothing else
 * runs twice: a paused queue has completed on the host every entry before
 * CONS. Both return -EBUSY unless the queue is paused, -ENODEV once it is
 * destroyed; SET returns -EINVAL for pointers out of the queue's size, an
 * ERR code that disagrees with @halt, an EXIT on a tegra241 VCMDQ, or
 * VCMDQ_SW_HALT_FAULT, and -EIO, taking nothing, if the queue itself was
 * halted by a host failure (a FAULT event) or owes a host sync (a
 * VCMDQ_SW_PAUSE returned -EIO) that fails again when SET retries it.
 *
 * The state of a tegra241 HW VCMDQ maps onto it: its CONS (with ERR),
 * PROD, GERROR and GERRORN registers, @halt CERROR if CONS.ERR is set,
 * else NONE (a HW VCMDQ has no exits).
 */
struct vcmdq_sw_state {
	__u32 size;
	__u32 version;
	__u32 cons;
	__u32 prod;
	__u32 gerror;
	__u32 gerrorn;
	__u32 halt;
	__u32 __reserved;
	__aligned_u64 exit_cmd[2];
};

#define VCMDQ_SW_GET_STATE	_IO(VCMDQ_SW_TYPE, 0x14)
#define VCMDQ_SW_SET_STATE	_IO(VCMDQ_SW_TYPE, 0x15)

#endif /* _UAPI_LINUX_VCMDQ_SW_H */
