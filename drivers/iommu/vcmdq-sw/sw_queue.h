/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vcmdq-sw: one guest command queue run in the host kernel.
 *
 * Objects and lifetimes:
 *
 * - The iommufd HW queue object (struct vcmdq_sw_hw_queue, hw_queue.c) is
 *   the one owner of a queue: IOMMU_HW_QUEUE_ALLOC sets everything up
 *   before the object becomes visible, and its destroy, called once by the
 *   iommufd core (IOMMU_DESTROY, or the iommufd file going away), tears it
 *   all down before it returns.
 * - The iommufd core pins the guest queue memory for the object's life;
 *   IOAS_UNMAP of it fails with -EBUSY meanwhile.
 * - struct vcmdq_sw_queue is reference counted: one reference for the HW
 *   queue object, one for the event file (event.c), which the VMM may keep
 *   open after the queue is destroyed: it then finds @dead set.
 * - The register page is allocated here, one per vIOMMU for all its
 *   queues, and offered to the VMM through iommufd's mmap; a mapping holds
 *   the HW queue object whose offset it used.
 * - The worker is a vhost_task of the VMM (worker.c); the doorbells sit on
 *   the VM's MMIO bus. Both are gone when destroy returns.
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
struct fault_attr;
struct iommufd_viommu;
struct kvm;
struct ksdb;
struct page;
struct vhost_task;

#define VCMDQ_SW_MAX_EVENTS	8
/* Guest entries consumed per worker turn before it yields the CPU */
#define VCMDQ_SW_BUDGET		4096
/*
 * Entries a turn consumes between checks of its bounds and of a pause
 * request: a host batch
 */
#define VCMDQ_SW_CHUNK		64

/* Bits of vcmdq_sw_queue.flags */
#define VCMDQ_SW_KICKED		0	/* the worker has something to look at */
#define VCMDQ_SW_POLLED		1	/* ... and saw it while polling */
#define VCMDQ_SW_PAUSE_REQ	2	/* a pause waits for the lock */
#define VCMDQ_SW_DEFERRED	3	/* a CMD_SYNC MSI waits for a vCPU */

/**
 * struct vcmdq_sw_queue - a software VCMDQ
 * @ref: see the lifetimes above
 * @lock: serializes the engine between its consumers (the worker, a vCPU
 *	in its doorbell), the event file's write() and ioctls, and destroy.
 *	A consumer holds it for a whole turn, CMD_SYNC waits on the SMMU
 *	included. Holders other than consumers release it with
 *	vcmdq_sw_unlock() (see worker.c for why)
 * @ev_lock: protects the event ring; taken alone or inside @lock, never
 *	held across anything that sleeps. read() and poll() of the event file
 *	take only it, so they never wait for a worker turn
 * @wait: readers and pollers of the event file
 * @flags: VCMDQ_SW_KICKED, VCMDQ_SW_POLLED, VCMDQ_SW_PAUSE_REQ,
 *	VCMDQ_SW_DEFERRED; atomic bitops, no lock
 * @kick_ns: ktime of the first doorbell not yet served, 0 if none; atomic
 * @doorbells: PROD stores taken; atomic
 * @poc_cleans: register updates cleaned to the point of coherency; atomic
 * @inline_busy: doorbells that left their PROD to a running consumer;
 *	atomic
 * @consumer: enum vcmdq_sw_consumer; written under @lock, read by the
 *	doorbells with READ_ONCE()
 * @poll_ns: how long the worker waits for a doorbell before sleeping;
 *	written under @lock, read by the worker with READ_ONCE()
 *
 * Set up by vcmdq_sw_setup() before the queue is visible, constant until
 * vcmdq_sw_teardown() releases them (after setting @dead):
 *
 * @id: the HW queue object ID, for traces and fdinfo
 * @index: the queue index on its vIOMMU, for fdinfo
 * @viommu: the vIOMMU the queue issues to
 * @kvm: the VM (a reference)
 * @worker: the worker. RCU: teardown clears it and waits for a grace
 *	period before it stops the worker, so whoever no longer holds @lock
 *	(vcmdq_sw_unlock() after releasing it) reads it under rcu_read_lock()
 * @db_prod: the doorbell on PROD
 * @db_gerrorn: the doorbell on GERRORN
 * @reg_page: the register page, shared with the vIOMMU's other queues
 * @regs: its kernel address
 * @prod_off: offset of PROD in @regs; likewise @cons_off, @gerror_off,
 *	@gerrorn_off
 * @cons_off: see @prod_off
 * @gerror_off: see @prod_off
 * @gerrorn_off: see @prod_off
 * @irq: eventfd of the wired interrupt, or NULL
 * @gerror: eventfd of the GERROR interrupt, or NULL
 * @pages: the guest queue's pages, pinned by the iommufd core
 * @pin_off: offset of the queue base in @pages[0]
 * @clean_poc: the guest reads the register page around the cache (no
 *	FEAT_S2FWB): clean each update to the point of coherency
 *
 * Protected by @lock:
 *
 * @dead: destroyed: nothing above may be used. Set under @ev_lock as well,
 *	for read() and poll()
 * @paused: VCMDQ_SW_PAUSE: no turn consumes anything
 * @e: the command engine
 * @wakes: worker turns that found work
 * @inline_turns: turns run by a vCPU in its doorbell
 * @handovers: inline turns that left the rest to the worker
 * @polled: turns that began while the worker was still polling
 * @faults: FAULT events
 * @msi_aborts: CMD_SYNC MSIs that hit no guest memory
 * @msi_defers: CMD_SYNC MSIs the worker left to a vCPU (VCMDQ_DEFER)
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
	atomic64_t poc_cleans;
	atomic64_t inline_busy;
	u32 consumer;
	u64 poll_ns;

	u32 id;
	u32 index;
	struct iommufd_viommu *viommu;
	struct kvm *kvm;
	struct vhost_task __rcu *worker;
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
	struct page **pages;
	u32 pin_off;
	bool clean_poc;

	bool dead;
	bool paused;
	struct vcmdq_engine e;
	u64 wakes;
	u64 inline_turns;
	u64 handovers;
	u64 polled;
	u64 faults;
	u64 msi_aborts;
	u64 msi_defers;
	u64 latency[VCMDQ_SW_LAT_BUCKETS];

	struct vcmdq_sw_event events[VCMDQ_SW_MAX_EVENTS];
	unsigned int ev_head;
	unsigned int ev_count;
};

/* event.c */
extern unsigned int vcmdq_sw_max_poll_us;
struct file *vcmdq_sw_event_file(struct vcmdq_sw_queue *q);
void vcmdq_sw_queue_put(struct vcmdq_sw_queue *q);
void vcmdq_sw_push_event(struct vcmdq_sw_queue *q,
			 const struct vcmdq_sw_event *ev);

/* hw_queue.c */
extern bool vcmdq_sw_test_without_s2fwb;
/* worker.c: test only, see main.c */
extern unsigned int vcmdq_sw_test_unlock_delay_ms;
extern unsigned int vcmdq_sw_test_turn_delay_us;
extern struct fault_attr vcmdq_sw_fail_issue;
extern const struct arm_vsmmu_sw_cmdq_ops vcmdq_sw_cmdq_ops;

/* worker.c */
extern unsigned int vcmdq_sw_inline_entries;
extern unsigned int vcmdq_sw_inline_us;
extern const struct vcmdq_ops vcmdq_sw_engine_ops;
void vcmdq_sw_kick(struct vcmdq_sw_queue *q);
void vcmdq_sw_unlock(struct vcmdq_sw_queue *q);
void vcmdq_sw_set_reg(struct vcmdq_sw_queue *q, u32 off, u32 val);
void vcmdq_sw_doorbell_prod(void *data);
void vcmdq_sw_doorbell_gerrorn(void *data);
bool vcmdq_sw_work(void *data);
void vcmdq_sw_worker_killed(void *data);

#endif /* VCMDQ_SW_QUEUE_H */
