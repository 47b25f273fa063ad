/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vcmdq-sw: one guest command queue run in the host kernel.
 *
 * Objects and lifetimes:
 *
 * - struct vcmdq_sw_queue is created by opening /dev/vcmdq-sw (ctl.c) and
 *   is reference counted: one reference for the open file, one for the
 *   iommufd HW queue object while it is bound to it (hw_queue.c).
 * - IOMMU_HW_QUEUE_ALLOC binds it: it takes the VM, pins the register
 *   page and the guest queue (through an iommufd access on the vIOMMU's
 *   IOAS), starts the worker (a vhost_task of the VMM, worker.c) and puts
 *   the doorbells on the VM's MMIO bus.
 * - Whichever comes first of IOMMU_DESTROY of the queue (or the iommufd
 *   file going away) and the release of the control file stops it for
 *   good: vcmdq_sw_stop() undoes the binding in reverse order. The other
 *   one finds it stopped.
 *
 * The iommufd access holds a reference on the iommufd file. It belongs to
 * the binding, not to the HW queue object, so a VMM that exits without
 * destroying its queue does not keep its iommufd context alive: closing
 * the control file drops it.
 */
#ifndef VCMDQ_SW_QUEUE_H
#define VCMDQ_SW_QUEUE_H

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "include/uapi/linux/vcmdq_sw.h"
#include "engine.h"

struct eventfd_ctx;
struct iommufd_access;
struct iommufd_viommu;
struct kvm;
struct ksdb;
struct page;
struct vhost_task;

#define VCMDQ_SW_MAX_EVENTS	8
#define VCMDQ_SW_DEF_BUDGET	4096
#define VCMDQ_SW_MAX_POLL_US	1000

/* Bits of vcmdq_sw_queue.flags */
#define VCMDQ_SW_KICKED		0	/* the worker has something to look at */
#define VCMDQ_SW_POLLED		1	/* ... and saw it while polling */

/**
 * struct vcmdq_sw_queue - a software VCMDQ
 * @ref: see the lifetimes above
 * @lock: serializes the engine and the binding between the worker, the
 *	control file's ioctls, the iommufd callbacks and teardown. The worker
 *	holds it for a whole turn, CMD_SYNC waits on the SMMU included
 * @ev_lock: protects the event ring; taken alone or inside @lock, never
 *	held across anything that sleeps. read() and poll() of the control
 *	file take only it, so they never wait for a worker turn
 * @wait: readers and pollers of the control file
 * @flags: VCMDQ_SW_KICKED, VCMDQ_SW_POLLED; atomic bitops, no lock
 * @kick_ns: ktime of the first doorbell not yet served, 0 if none; atomic
 * @doorbells: PROD stores taken; atomic
 *
 * Set by vcmdq_sw_bind() while @binding, constant while @bound, cleared by
 * the unbinding once the worker and the doorbells are gone:
 *
 * @id: the HW queue object ID, for traces
 * @viommu: the vIOMMU the queue issues to
 * @kvm: the VM (a reference)
 * @worker: the worker; its kick reads it without @lock
 * @db_prod: the doorbell on PROD
 * @db_gerrorn: the doorbell on GERRORN
 * @reg_page: the register page (pinned)
 * @regs: its kernel mapping
 * @prod_off: offset of PROD in @regs; likewise @cons_off, @gerror_off,
 *	@gerrorn_off
 * @cons_off: see @prod_off
 * @gerror_off: see @prod_off
 * @gerrorn_off: see @prod_off
 * @irq: eventfd of the wired interrupt, or NULL
 * @gerror: eventfd of the GERROR interrupt, or NULL
 * @access: the iommufd access the queue pages are pinned through
 * @pages: the pinned queue pages, @npages of them, while @pinned
 * @npages: see @pages
 * @pin_iova: page-aligned IOVA of @pages[0]
 * @pin_off: offset of the queue base in @pages[0]
 * @budget: entries per worker turn
 * @poll_ns: how long the worker waits for a doorbell before sleeping
 *
 * Protected by @lock:
 *
 * @binding: vcmdq_sw_bind() is setting the queue up, outside @lock
 * @bound: bound and not stopped: the worker may run the engine
 * @dead: stopped, or the control file is gone: never binds again. Set
 *	under @ev_lock as well, for read() and poll()
 * @pinned: @pages are pinned (false after an IOAS unmap took them); set
 *	with @access alive
 * @e: the command engine
 * @wakes: worker turns that found work
 * @polled: turns that began while the worker was still polling
 * @faults: FAULT and UNMAPPED events
 * @msi_aborts: CMD_SYNC MSIs that hit no guest memory
 * @latency: doorbell-to-CONS histogram, see struct vcmdq_sw_stats
 *
 * Protected by @ev_lock; events are pushed with @lock held as well:
 *
 * @events: ring of events for the VMM, @ev_head first, @ev_count of them
 * @ev_head: see @events
 * @ev_count: see @events
 */
struct vcmdq_sw_queue {
	struct kref ref;
	struct mutex lock;	/* see the comment above */
	spinlock_t ev_lock;	/* see the comment above */
	wait_queue_head_t wait;
	unsigned long flags;
	atomic64_t kick_ns;
	atomic64_t doorbells;

	u32 id;
	struct iommufd_viommu *viommu;
	struct kvm *kvm;
	struct vhost_task *worker;
	struct ksdb *db_prod;
	struct ksdb *db_gerrorn;
	struct page *reg_page;
	void *regs;
	u32 prod_off;
	u32 cons_off;
	u32 gerror_off;
	u32 gerrorn_off;
	struct eventfd_ctx *irq;
	struct eventfd_ctx *gerror;
	struct iommufd_access *access;
	struct page **pages;
	unsigned long npages;
	unsigned long pin_iova;
	u32 pin_off;
	u32 budget;
	u64 poll_ns;

	bool binding;
	bool bound;
	bool dead;
	bool pinned;
	struct vcmdq_engine e;
	u64 wakes;
	u64 polled;
	u64 faults;
	u64 msi_aborts;
	u64 latency[VCMDQ_SW_LAT_BUCKETS];

	struct vcmdq_sw_event events[VCMDQ_SW_MAX_EVENTS];
	unsigned int ev_head;
	unsigned int ev_count;
};

/**
 * vcmdq_sw_unmap_hits - does an unmapped IOVA range take pinned queue pages
 * @pin_iova: first IOVA of the pinned pages
 * @pin_len: their length in bytes, not 0
 * @iova: first IOVA of the unmapped range
 * @length: its length in bytes, not 0
 *
 * Compares last addresses, as iommufd does: a range may end at ULONG_MAX,
 * where its first address plus its length wraps to 0.
 */
static inline bool vcmdq_sw_unmap_hits(unsigned long pin_iova,
				       unsigned long pin_len,
				       unsigned long iova, unsigned long length)
{
	return iova <= pin_iova + (pin_len - 1) &&
	       pin_iova <= iova + (length - 1);
}

/* ctl.c */
extern const struct file_operations vcmdq_sw_ctl_fops;
struct vcmdq_sw_queue *vcmdq_sw_queue_get_from_fd(int fd);
void vcmdq_sw_queue_put(struct vcmdq_sw_queue *q);
void vcmdq_sw_push_event(struct vcmdq_sw_queue *q,
			 const struct vcmdq_sw_event *ev);

/* hw_queue.c */
int vcmdq_sw_bind(struct vcmdq_sw_queue *q, struct iommufd_viommu *viommu,
		  u32 id, u32 index, u32 ioas_id, u64 base, u64 length,
		  const struct iommu_hw_queue_vcmdq_sw *data);
void vcmdq_sw_stop(struct vcmdq_sw_queue *q);
extern const struct iommufd_sw_queue_ops vcmdq_sw_hw_queue_ops;

/* worker.c */
extern const struct vcmdq_ops vcmdq_sw_engine_ops;
void vcmdq_sw_kick(struct vcmdq_sw_queue *q);
void vcmdq_sw_doorbell_prod(void *data);
void vcmdq_sw_doorbell_gerrorn(void *data);
bool vcmdq_sw_work(void *data);
void vcmdq_sw_worker_killed(void *data);

#endif /* VCMDQ_SW_QUEUE_H */
