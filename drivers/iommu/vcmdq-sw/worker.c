// SPDX-License-Identifier: GPL-2.0
/*
 * The vcmdq-sw worker: a vhost_task of the VMM, woken by the guest's
 * doorbells, that runs the command engine against the physical SMMU.
 */
#include <linux/arm-smmu-v3-vsmmu.h>
#include <linux/delay.h>
#include <linux/eventfd.h>
#include <linux/fault-inject.h>
#include <linux/highmem.h>
#include <linux/kvm_host.h>
#include <linux/log2.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/vhost_task.h>
#include <linux/timekeeping.h>

#include <asm/cacheflush.h>
#include <asm/cpufeature.h>

#include "sw_queue.h"

#define CREATE_TRACE_POINTS
#include "vcmdq_sw_trace.h"

#define GERROR_CMDQ_ERR		BIT(0)
#define GERROR_MSI_CMDQ_ABT_ERR	BIT(4)	/* main CMDQ layout only */

static __le32 *vcmdq_sw_reg(struct vcmdq_sw_queue *q, u32 off)
{
	return q->regs + off;
}

/* ---- the engine's backend: guest memory, the SMMU, the shadow page ---- */

/* Copy @n entries at queue index @idx out of the pinned guest queue. */
static int vcmdq_sw_read(void *priv, u32 idx, struct vcmdq_cmd *dst, u32 n)
{
	struct vcmdq_sw_queue *q = priv;
	size_t off = q->pin_off + (size_t)idx * sizeof(*dst);
	u32 i;

	lockdep_assert_held(&q->lock);
	while (n) {
		size_t in_page = offset_in_page(off);
		u32 chunk = min_t(u32, n, (PAGE_SIZE - in_page) / sizeof(*dst));
		const __le64 *src;

		src = kmap_local_page(q->pages[off >> PAGE_SHIFT]) + in_page;
		for (i = 0; i < chunk; i++) {
			dst[i].w[0] = le64_to_cpu(READ_ONCE(src[2 * i]));
			dst[i].w[1] = le64_to_cpu(READ_ONCE(src[2 * i + 1]));
		}
		kunmap_local(src);
		dst += chunk;
		n -= chunk;
		off += (size_t)chunk * sizeof(*dst);
	}
	return 0;
}

/*
 * Fault injection (debugfs vcmdq_sw/fail_issue): a host issue fails with
 * -EIO as if the SMMU had refused it, for tests of what a host failure
 * leaves behind (FAULT, an owed host sync).
 */
DECLARE_FAULT_ATTR(vcmdq_sw_fail_issue);

/* Bounds of an inline stay; read-only module parameters (main.c) */
unsigned int vcmdq_sw_inline_entries = 256;
unsigned int vcmdq_sw_inline_us = 1000;

/* TEST ONLY knobs, module parameters (main.c); 0 in production */
unsigned int vcmdq_sw_test_unlock_delay_ms;
unsigned int vcmdq_sw_test_turn_delay_us;

static int vcmdq_sw_issue(void *priv, const struct vcmdq_cmd *cmds, u32 n,
			  bool sync)
{
	struct vcmdq_sw_queue *q = priv;
	int ret;

	if (should_fail(&vcmdq_sw_fail_issue, 1)) {
		trace_vcmdq_sw_batch(q->id, n, sync, n ? cmds[0].w[0] : 0, -EIO);
		return -EIO;
	}
	/*
	 * arm-smmu-v3 takes a u64 * but only reads it; the commands were
	 * validated and rewritten by the engine.
	 */
	ret = arm_vsmmu_issue_cmdlist(q->viommu, (u64 *)cmds, n, sync);
	trace_vcmdq_sw_batch(q->id, n, sync, n ? cmds[0].w[0] : 0, ret);
	return ret;
}

/*
 * Without FEAT_S2FWB the guest's Device mapping of the register page wins
 * over stage 2: it reads memory around the cache, so what the host wrote
 * must reach the point of coherency. The clean completes (DSB) before the
 * next register update, so the guest never sees a later update without an
 * earlier one.
 */
static void vcmdq_sw_clean(struct vcmdq_sw_queue *q, u32 off)
{
	unsigned long addr = (unsigned long)vcmdq_sw_reg(q, off);

	if (!q->clean_poc)
		return;
	dcache_clean_poc(addr, addr + sizeof(__le32));
	atomic64_inc(&q->poc_cleans);
}

/**
 * vcmdq_sw_set_reg - set a register of a queue being set up or paused
 * @q: the queue: not yet visible, or paused with @q->lock held
 * @off: the register's offset in the page
 * @val: its value
 */
void vcmdq_sw_set_reg(struct vcmdq_sw_queue *q, u32 off, u32 val)
{
	WRITE_ONCE(*vcmdq_sw_reg(q, off), cpu_to_le32(val));
	vcmdq_sw_clean(q, off);
}

static void vcmdq_sw_publish(void *priv, u32 cons_reg)
{
	struct vcmdq_sw_queue *q = priv;

	/* Release: the guest sees CONS only after what it covers is done */
	smp_store_release(vcmdq_sw_reg(q, q->cons_off), cpu_to_le32(cons_reg));
	vcmdq_sw_clean(q, q->cons_off);
}

/*
 * Toggle a GERROR bit and raise the GERROR interrupt. The toggle has
 * release order: a guest that sees it also sees what it reports, stored
 * before it (CONS.ERR of a command error; for an aborted CMD_SYNC MSI, the
 * CONS before that CMD_SYNC: the abort is raised from the MSI write, which
 * comes before CONS moves past its CMD_SYNC). The store-release of CONS
 * alone does not give that: it orders the accesses before it, not itself
 * before later stores, so a relaxed atomic could become visible first.
 */
static void vcmdq_sw_gerror_toggle(struct vcmdq_sw_queue *q, u32 bit)
{
	atomic_fetch_xor_release((__force int)cpu_to_le32(bit),
				 (atomic_t *)vcmdq_sw_reg(q, q->gerror_off));
	vcmdq_sw_clean(q, q->gerror_off);
	if (q->gerror)
		eventfd_signal(q->gerror);
}

/*
 * The MSIADDR of a CMD_SYNC is not guest memory, so the guest cannot own
 * it. An SMMU whose CMD_SYNC MSI write aborts activates
 * GERROR.MSI_CMDQ_ABT_ERR (toggles it unless it is active already) and goes
 * on: the CMD_SYNC itself completed and CONS covers it. A tegra241 VCMDQ
 * has neither MSIs (its driver completes CMD_SYNC by polling CONS) nor
 * that GERROR bit, so there the write is only dropped. Either way the
 * guest, not the host, is at fault: nothing for the VMM.
 */
static void vcmdq_sw_msi_abort(struct vcmdq_sw_queue *q,
			       const struct vcmdq_sync_done *done)
{
	bool raised = false;
	u32 gerror, gerrorn;

	q->msi_aborts++;
	if (q->e.cfg.layout == VCMDQ_LAYOUT_SMMUV3) {
		gerror = le32_to_cpu(READ_ONCE(*vcmdq_sw_reg(q, q->gerror_off)));
		gerrorn = le32_to_cpu(READ_ONCE(*vcmdq_sw_reg(q, q->gerrorn_off)));
		if (!((gerror ^ gerrorn) & GERROR_MSI_CMDQ_ABT_ERR)) {
			vcmdq_sw_gerror_toggle(q, GERROR_MSI_CMDQ_ABT_ERR);
			raised = true;
		}
	}
	trace_vcmdq_sw_msi_abort(q->id, done->index, done->addr, raised);
}

static int vcmdq_sw_complete(void *priv, const struct vcmdq_sync_done *done)
{
	struct vcmdq_sw_queue *q = priv;
	__le32 data = cpu_to_le32(done->data);
	int ret = 0;

	switch (done->kind) {
	case VCMDQ_DONE_MSI:
		/*
		 * Through KVM, so the page is dirty-logged for migration. A VM
		 * that logs in a dirty ring without the bitmap beside it can
		 * only be written from one of its vCPUs (-EOPNOTSUPP from the
		 * worker): the CMD_SYNC waits for the next doorbell.
		 */
		ret = kvm_write_guest_external(q->kvm, done->addr, &data,
					       sizeof(data));
		if (ret == -EOPNOTSUPP)
			ret = -EAGAIN;
		break;
	case VCMDQ_DONE_IRQ:
		if (q->irq)
			eventfd_signal(q->irq);
		break;
	case VCMDQ_DONE_SEV:
		/*
		 * An event only wakes a vCPU from WFE, which the guest's
		 * timer event stream does as well; CONS is already published.
		 */
		break;
	}
	trace_vcmdq_sw_complete(q->id, done->index, done->kind, ret);
	if (ret == -EFAULT && done->kind == VCMDQ_DONE_MSI) {
		vcmdq_sw_msi_abort(q, done);
		ret = 0;
	}
	return ret;
}

static void vcmdq_sw_stopped(void *priv, const struct vcmdq_stop_info *stop)
{
	struct vcmdq_sw_queue *q = priv;
	struct vcmdq_sw_event ev = { .index = stop->index };

	switch (stop->status) {
	case VCMDQ_EXIT:
		trace_vcmdq_sw_exit(q->id, stop->index, vcmdq_cmd_op(&stop->cmd));
		ev.type = VCMDQ_SW_EVENT_EXIT;
		ev.cmd[0] = stop->cmd.w[0];
		ev.cmd[1] = stop->cmd.w[1];
		vcmdq_sw_push_event(q, &ev);
		break;
	case VCMDQ_CERROR:
		trace_vcmdq_sw_error(q->id, stop->index, stop->cerror,
				     vcmdq_cmd_op(&stop->cmd));
		/* CONS.ERR is published; now GERROR.CMDQ_ERR and its IRQ */
		vcmdq_sw_gerror_toggle(q, GERROR_CMDQ_ERR);
		break;
	case VCMDQ_FAULT:
		trace_vcmdq_sw_fault(q->id, stop->index, VCMDQ_SW_EVENT_FAULT,
				     stop->err);
		q->faults++;
		ev.type = VCMDQ_SW_EVENT_FAULT;
		ev.err = stop->err;
		vcmdq_sw_push_event(q, &ev);
		break;
	case VCMDQ_BAD_PROD:
		/* The guest's bug; nothing consumed, nothing to tell */
		trace_vcmdq_sw_fault(q->id, stop->index, 4, stop->err);
		break;
	case VCMDQ_DEFER:
		/* A vCPU's doorbell completes it; the queue is not halted */
		q->msi_defers++;
		set_bit(VCMDQ_SW_DEFERRED, &q->flags);
		trace_vcmdq_sw_fault(q->id, stop->index, 5, stop->err);
		break;
	default:
		break;
	}
}

/* Asks the vIOMMU's vDEVICEs at each command: never a stale copy. */
static int vcmdq_sw_sid(void *priv, u32 vsid, u32 *psid)
{
	struct vcmdq_sw_queue *q = priv;

	return arm_vsmmu_vsid_to_psid(q->viommu, vsid, psid);
}

const struct vcmdq_ops vcmdq_sw_engine_ops = {
	.read = vcmdq_sw_read,
	.issue = vcmdq_sw_issue,
	.publish = vcmdq_sw_publish,
	.complete = vcmdq_sw_complete,
	.stopped = vcmdq_sw_stopped,
	.sid = vcmdq_sw_sid,
};

/* ---- who consumes the queue ---- */

/*
 * One consumer at a time, the holder of q->lock: the worker, or a vCPU in
 * its own doorbell (VCMDQ_SW_CONSUMER_INLINE). No doorbell is lost:
 *
 *   doorbell (vCPU B)                   a holder of q->lock (A)
 *   PROD stored in the page (ksdb)      test_and_clear_bit(KICKED)
 *   set_bit(KICKED)                     read PROD, consume
 *   smp_mb__after_atomic()              mutex_unlock()
 *   mutex_trylock() fails: return       smp_mb()
 *                                       test_bit(KICKED): look again
 *
 * Both sides store, then load what the other stores, with a full barrier
 * between: if B's trylock saw A still holding the lock, A's test_bit sees
 * B's KICKED. A consumer (the worker, an inline vCPU) then takes another
 * turn; any other holder (the event file's ioctls, setup) hands the kick
 * to the worker (vcmdq_sw_unlock()). A's test_and_clear_bit() is ordered
 * before its read of PROD, so a store it did not see sets KICKED again.
 */

/*
 * Wake the worker. Teardown clears @q->worker and waits for an RCU grace
 * period before it stops the worker, so a caller that no longer holds
 * @q->lock (and is no doorbell, which teardown unregisters first) may
 * still wake it here.
 */
static void vcmdq_sw_wake(struct vcmdq_sw_queue *q)
{
	struct vhost_task *worker;

	rcu_read_lock();
	worker = rcu_dereference(q->worker);
	if (worker)
		vhost_task_wake(worker);
	rcu_read_unlock();
}

static void __vcmdq_sw_kick(struct vcmdq_sw_queue *q)
{
	set_bit(VCMDQ_SW_KICKED, &q->flags);
	vcmdq_sw_wake(q);
}

/**
 * vcmdq_sw_kick - make the worker look at the queue
 * @q: the queue, with @q->lock held (so the worker cannot be stopped
 *	meanwhile; doorbells are unregistered before it is)
 *
 * The worker re-reads PROD and GERRORN after it sees the kick:
 * test_and_clear_bit() there orders those reads after this.
 */
void vcmdq_sw_kick(struct vcmdq_sw_queue *q)
{
	lockdep_assert_held(&q->lock);
	if (!q->dead)
		__vcmdq_sw_kick(q);
}

/**
 * vcmdq_sw_unlock - release @q->lock taken by anything but a consumer
 * @q: the queue; the caller holds a reference (the event file's, the HW
 *	queue object's)
 *
 * A doorbell may have found the lock taken and left its PROD to the
 * holder (see above): the worker takes it. Once the lock is released the
 * queue may be destroyed: nothing but the flags and, under RCU, the worker
 * pointer is read after it.
 */
void vcmdq_sw_unlock(struct vcmdq_sw_queue *q)
{
	unsigned int delay = READ_ONCE(vcmdq_sw_test_unlock_delay_ms);

	if (unlikely(delay))
		msleep(delay);
	rcu_read_lock();
	mutex_unlock(&q->lock);
	if (unlikely(delay))
		mdelay(delay);
	smp_mb();	/* the unlock before the test; see above */
	if (test_bit(VCMDQ_SW_KICKED, &q->flags)) {
		struct vhost_task *worker = rcu_dereference(q->worker);

		if (worker)
			vhost_task_wake(worker);
	}
	rcu_read_unlock();
}

static void vcmdq_sw_account(struct vcmdq_sw_queue *q, u64 since)
{
	u64 us = (ktime_get_ns() - since) / NSEC_PER_USEC;
	unsigned int b = us < 2 ? 0 : ilog2(us);

	q->latency[min_t(unsigned int, b, VCMDQ_SW_LAT_BUCKETS - 1)]++;
}

/*
 * Consume at most @budget entries. Return VCMDQ_MORE if the budget ran
 * out with work left (the caller goes on or hands over), else why the
 * engine stopped (VCMDQ_IDLE: caught up with PROD).
 */
static enum vcmdq_status vcmdq_sw_turn(struct vcmdq_sw_queue *q, u32 budget)
{
	u64 since = atomic64_xchg(&q->kick_ns, 0);
	enum vcmdq_status st;
	u32 gerror, gerrorn;

	lockdep_assert_held(&q->lock);
	if (q->dead || q->paused)
		return VCMDQ_IDLE;
	if (unlikely(READ_ONCE(vcmdq_sw_test_turn_delay_us)))
		fsleep(READ_ONCE(vcmdq_sw_test_turn_delay_us));

	/* GERRORN caught up with GERROR: the guest acknowledged CMDQ_ERR */
	gerror = le32_to_cpu(READ_ONCE(*vcmdq_sw_reg(q, q->gerror_off)));
	gerrorn = le32_to_cpu(READ_ONCE(*vcmdq_sw_reg(q, q->gerrorn_off)));
	if (q->e.halt == VCMDQ_CERROR && !((gerror ^ gerrorn) & GERROR_CMDQ_ERR))
		vcmdq_error_ack(&q->e);

	st = vcmdq_process(&q->e,
			   le32_to_cpu(READ_ONCE(*vcmdq_sw_reg(q, q->prod_off))),
			   budget);
	if (st == VCMDQ_MORE) {
		/* The latency runs from the same doorbell */
		if (since)
			atomic64_cmpxchg(&q->kick_ns, 0, since);
		return st;
	}
	if (since && st == VCMDQ_IDLE)
		vcmdq_sw_account(q, since);
	return st;
}

/*
 * The bound of one vCPU's stay in its doorbell, over all the turns it
 * takes there (other vCPUs' doorbells may leave it theirs): at most
 * vcmdq_sw_inline_entries entries, at most vcmdq_sw_inline_us, and not
 * past a pending reschedule or signal of its thread. Its first turn
 * always consumes a host batch, as a store's doorbell did before there
 * was a stay to bound.
 */
struct vcmdq_sw_stay {
	u64 end;
	u32 left;
	u32 turns;
};

static bool vcmdq_sw_stay_over(const struct vcmdq_sw_stay *stay)
{
	return !stay->left || ktime_get_ns() >= stay->end || need_resched() ||
	       signal_pending(current);
}

/*
 * An inline turn: the vCPU consumes until PROD, within what is left of
 * its stay. Return true if it stopped at that bound with work left, or
 * (not the stay's first turn) found the stay over before it began: the
 * worker is to go on.
 */
static bool vcmdq_sw_turn_inline(struct vcmdq_sw_queue *q,
				 struct vcmdq_sw_stay *stay)
{
	enum vcmdq_status st;
	u64 cmds;
	u32 chunk;

	lockdep_assert_held(&q->lock);
	if (q->dead || q->paused)
		return false;
	if (stay->turns++ && vcmdq_sw_stay_over(stay))
		goto handover;
	q->inline_turns++;
	for (;;) {
		chunk = min_t(u32, stay->left, VCMDQ_SW_CHUNK);
		cmds = q->e.stats.cmds;
		st = vcmdq_sw_turn(q, chunk);
		stay->left -= min_t(u64, q->e.stats.cmds - cmds, stay->left);
		if (st != VCMDQ_MORE)
			return false;
		/* The pause resumes nothing: VCMDQ_SW_UNPAUSE kicks */
		if (test_bit(VCMDQ_SW_PAUSE_REQ, &q->flags))
			return false;
		if (vcmdq_sw_stay_over(stay))
			goto handover;
	}
handover:
	q->handovers++;
	trace_vcmdq_sw_handover(q->id, q->e.cons);
	return true;
}

/*
 * The vCPU that rang the doorbell consumes the queue, unless a consumer
 * is running: then it only leaves its PROD (KICKED) to it.
 */
static void vcmdq_sw_consume_inline(struct vcmdq_sw_queue *q)
{
	struct vcmdq_sw_stay stay = {
		.end = ktime_get_ns() + (u64)vcmdq_sw_inline_us * NSEC_PER_USEC,
		.left = vcmdq_sw_inline_entries,
	};
	bool handover;

	for (;;) {
		/* Pairs with the holder's smp_mb() after unlocking */
		smp_mb__after_atomic();
		if (!mutex_trylock(&q->lock)) {
			atomic64_inc(&q->inline_busy);
			return;
		}
		clear_bit(VCMDQ_SW_KICKED, &q->flags);
		clear_bit(VCMDQ_SW_DEFERRED, &q->flags);
		smp_mb__after_atomic();	/* before reading PROD */
		handover = vcmdq_sw_turn_inline(q, &stay);
		if (handover)
			set_bit(VCMDQ_SW_KICKED, &q->flags);
		mutex_unlock(&q->lock);
		if (handover) {
			vcmdq_sw_wake(q);
			return;
		}
		smp_mb();	/* the unlock before the test; see above */
		if (!test_bit(VCMDQ_SW_KICKED, &q->flags))
			return;
	}
}

static void vcmdq_sw_doorbell(struct vcmdq_sw_queue *q)
{
	/* A CMD_SYNC MSI the worker could not write is this vCPU's to do */
	if (READ_ONCE(q->consumer) != VCMDQ_SW_CONSUMER_INLINE &&
	    !test_bit(VCMDQ_SW_DEFERRED, &q->flags)) {
		__vcmdq_sw_kick(q);
		return;
	}
	set_bit(VCMDQ_SW_KICKED, &q->flags);
	vcmdq_sw_consume_inline(q);
}

/* The guest stored PROD (vCPU context, see ksdb_register()). */
void vcmdq_sw_doorbell_prod(void *data)
{
	struct vcmdq_sw_queue *q = data;

	atomic64_inc(&q->doorbells);
	/* The doorbell wrote PROD into the page; the guest may read it back */
	vcmdq_sw_clean(q, q->prod_off);
	atomic64_cmpxchg(&q->kick_ns, 0, ktime_get_ns());
	trace_vcmdq_sw_doorbell(q->id,
				le32_to_cpu(READ_ONCE(*vcmdq_sw_reg(q, q->prod_off))));
	vcmdq_sw_doorbell(q);
}

/* The guest stored GERRORN: it may have acknowledged a command error. */
void vcmdq_sw_doorbell_gerrorn(void *data)
{
	struct vcmdq_sw_queue *q = data;

	vcmdq_sw_clean(q, q->gerrorn_off);
	vcmdq_sw_doorbell(q);
}

/* ---- the worker ---- */

/*
 * A worker turn: at most VCMDQ_SW_BUDGET entries, a host batch at a time,
 * stopping early for a pause. Return true if it stopped with work left.
 */
static bool vcmdq_sw_turn_worker(struct vcmdq_sw_queue *q)
{
	u32 left = VCMDQ_SW_BUDGET;

	for (;;) {
		if (vcmdq_sw_turn(q, VCMDQ_SW_CHUNK) != VCMDQ_MORE)
			return false;
		left -= VCMDQ_SW_CHUNK;
		if (!left || test_bit(VCMDQ_SW_PAUSE_REQ, &q->flags))
			return true;
	}
}

/*
 * Keep the CPU a little for the guest's next doorbell: it then finds the
 * worker running instead of paying for a wake-up. Bounded by poll_ns, and
 * gives way to anything else that wants the CPU.
 */
static void vcmdq_sw_poll(struct vcmdq_sw_queue *q)
{
	u64 end = ktime_get_ns() + READ_ONCE(q->poll_ns);

	while (!test_bit(VCMDQ_SW_KICKED, &q->flags)) {
		if (need_resched() || signal_pending(current) ||
		    ktime_get_ns() >= end)
			return;
		cpu_relax();
	}
	/* Counted by the turn this doorbell starts, which holds the lock */
	set_bit(VCMDQ_SW_POLLED, &q->flags);
}

/**
 * vcmdq_sw_work - one turn of the worker (its vhost_task function)
 * @data: the queue
 *
 * Return: true if it did work (it is called again), false to sleep until
 * the next kick.
 */
bool vcmdq_sw_work(void *data)
{
	struct vcmdq_sw_queue *q = data;

	/* Leave the lock to a pause; VCMDQ_SW_UNPAUSE kicks again */
	if (test_bit(VCMDQ_SW_PAUSE_REQ, &q->flags) ||
	    !test_and_clear_bit(VCMDQ_SW_KICKED, &q->flags))
		return false;
	__set_current_state(TASK_RUNNING);

	mutex_lock(&q->lock);
	if (!q->dead && !q->paused) {
		q->wakes++;
		if (test_and_clear_bit(VCMDQ_SW_POLLED, &q->flags))
			q->polled++;
		/* Yield after the budget, then go on */
		if (vcmdq_sw_turn_worker(q))
			set_bit(VCMDQ_SW_KICKED, &q->flags);
	}
	mutex_unlock(&q->lock);
	cond_resched();
	if (READ_ONCE(q->poll_ns))
		vcmdq_sw_poll(q);
	return true;
}

/**
 * vcmdq_sw_worker_killed - the VMM got SIGKILL
 * @data: the queue
 *
 * The worker is gone; the queue stays, silent, until the VMM's iommufd
 * file is closed as it exits, which destroys it.
 */
void vcmdq_sw_worker_killed(void *data)
{
}
