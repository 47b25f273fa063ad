// SPDX-License-Identifier: GPL-2.0
/*
 * The event file of a vcmdq-sw queue, returned by IOMMU_HW_QUEUE_ALLOC:
 * read() gives the VMM what the queue leaves to it, write() takes its
 * answers, ioctl()s read the counters and set the consumer. Like iommufd's
 * vEVENTQ and fault queue files, it is only a channel: closing it does not
 * stop the queue, and it outlives the queue as a dead one.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/uio.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "sw_queue.h"

/* The longest poll a VMM may ask for; a read-only module parameter */
unsigned int vcmdq_sw_max_poll_us = 1000;

static void vcmdq_sw_queue_free(struct kref *ref)
{
	struct vcmdq_sw_queue *q = container_of(ref, struct vcmdq_sw_queue, ref);

	mutex_destroy(&q->lock);
	kfree(q);
}

void vcmdq_sw_queue_put(struct vcmdq_sw_queue *q)
{
	kref_put(&q->ref, vcmdq_sw_queue_free);
}

/**
 * vcmdq_sw_push_event - queue an event for the VMM and wake its readers
 * @q: the queue, @q->lock held
 * @ev: the event
 *
 * The ring cannot overflow: a queue stopped for the VMM stays stopped
 * until it answers (and an answer drops an EXIT it did not read), and a
 * FAULT halts the queue for good. That holds because every event comes
 * from a state change made under @q->lock.
 */
void vcmdq_sw_push_event(struct vcmdq_sw_queue *q,
			 const struct vcmdq_sw_event *ev)
{
	lockdep_assert_held(&q->lock);
	spin_lock(&q->ev_lock);
	if (WARN_ON_ONCE(q->ev_count == VCMDQ_SW_MAX_EVENTS)) {
		spin_unlock(&q->ev_lock);
		return;
	}
	q->events[(q->ev_head + q->ev_count) % VCMDQ_SW_MAX_EVENTS] = *ev;
	q->ev_count++;
	spin_unlock(&q->ev_lock);
	wake_up_interruptible_poll(&q->wait, EPOLLIN | EPOLLRDNORM);
}

/* Put back at the head, in order, events a reader took but could not copy. */
static void vcmdq_sw_unread(struct vcmdq_sw_queue *q,
			    const struct vcmdq_sw_event *evs, unsigned int n)
{
	spin_lock(&q->ev_lock);
	while (n-- && q->ev_count < VCMDQ_SW_MAX_EVENTS) {
		q->ev_head = (q->ev_head + VCMDQ_SW_MAX_EVENTS - 1) %
			     VCMDQ_SW_MAX_EVENTS;
		q->events[q->ev_head] = evs[n];
		q->ev_count++;
	}
	spin_unlock(&q->ev_lock);
}

static int vcmdq_sw_event_release(struct inode *inode, struct file *file)
{
	vcmdq_sw_queue_put(file->private_data);
	return 0;
}

/*
 * Events are read whole; a destroyed queue with none left reads as EOF.
 * Non-blocking reads (O_NONBLOCK, IOCB_NOWAIT from io_uring) return
 * -EAGAIN when there is none, so io_uring waits on poll. Only the ring's
 * spinlock is taken, never the engine's mutex: a read does not wait for
 * a worker turn. The events are copied out of the ring under it and to
 * user space after it (that may fault); what the copy misses goes back.
 */
static ssize_t vcmdq_sw_event_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	const size_t esz = sizeof(struct vcmdq_sw_event);
	struct vcmdq_sw_queue *q = iocb->ki_filp->private_data;
	bool nowait = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
		      (iocb->ki_flags & IOCB_NOWAIT);
	struct vcmdq_sw_event evs[VCMDQ_SW_MAX_EVENTS];
	unsigned int i, n;
	bool dead;
	size_t done;
	int ret;

	if (iov_iter_count(to) < esz)
		return -EINVAL;

	for (;;) {
		spin_lock(&q->ev_lock);
		n = min_t(size_t, q->ev_count, iov_iter_count(to) / esz);
		for (i = 0; i < n; i++)
			evs[i] = q->events[(q->ev_head + i) %
					   VCMDQ_SW_MAX_EVENTS];
		q->ev_head = (q->ev_head + n) % VCMDQ_SW_MAX_EVENTS;
		q->ev_count -= n;
		dead = q->dead;
		spin_unlock(&q->ev_lock);
		if (n || dead)
			break;
		if (nowait)
			return -EAGAIN;
		ret = wait_event_interruptible(q->wait,
					       READ_ONCE(q->ev_count) ||
					       READ_ONCE(q->dead));
		if (ret)
			return ret;
	}
	if (!n)
		return 0;

	done = copy_to_iter(evs, n * esz, to) / esz;
	if (done < n)
		vcmdq_sw_unread(q, evs + done, n - done);
	if (!done)
		return -EFAULT;
	return done * esz;
}

static __poll_t vcmdq_sw_event_poll(struct file *file, poll_table *wait)
{
	struct vcmdq_sw_queue *q = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &q->wait, wait);
	spin_lock(&q->ev_lock);
	if (q->ev_count)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (q->dead)
		mask |= EPOLLHUP;
	spin_unlock(&q->ev_lock);
	return mask;
}

/*
 * Forget EXIT events not read yet: the one at @index the VMM answered
 * without reading it, or with @all every one (a restored state replaces
 * them).
 */
static void vcmdq_sw_drop_exit(struct vcmdq_sw_queue *q, bool all, u32 index)
{
	struct vcmdq_sw_event keep[VCMDQ_SW_MAX_EVENTS];
	unsigned int i, n = 0, head;

	spin_lock(&q->ev_lock);
	head = q->ev_head;
	for (i = 0; i < q->ev_count; i++) {
		struct vcmdq_sw_event *ev =
			&q->events[(head + i) % VCMDQ_SW_MAX_EVENTS];

		if (ev->type != VCMDQ_SW_EVENT_EXIT ||
		    (!all && ev->index != index))
			keep[n++] = *ev;
	}
	for (i = 0; i < n; i++)
		q->events[i] = keep[i];
	q->ev_head = 0;
	q->ev_count = n;
	spin_unlock(&q->ev_lock);
}

static int vcmdq_sw_answer(struct vcmdq_sw_queue *q,
			   const struct vcmdq_sw_response *resp)
{
	int ret;

	mutex_lock(&q->lock);
	if (q->dead) {
		ret = -ENODEV;
	} else if (q->e.halt != VCMDQ_EXIT || q->e.stop.index != resp->index) {
		ret = -EINVAL;
	} else {
		/* The EXIT goes only with an answer the engine took */
		ret = vcmdq_exit_done(&q->e, resp->cerror);
		if (!ret) {
			vcmdq_sw_drop_exit(q, false, resp->index);
			vcmdq_sw_kick(q);
		}
	}
	vcmdq_sw_unlock(q);
	return ret;
}

/*
 * Answers to EXIT events, whole records in order, as iommufd's fault queue
 * takes page responses. Returns the bytes of the answers taken; the first
 * one refused ends the write, or fails it if it is the first.
 */
static ssize_t vcmdq_sw_event_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	const size_t rsz = sizeof(struct vcmdq_sw_response);
	struct vcmdq_sw_queue *q = file->private_data;
	struct vcmdq_sw_response resp;
	size_t done = 0;
	int ret = 0;

	if (!count || count % rsz)
		return -EINVAL;
	while (done < count) {
		if (copy_from_user(&resp, buf + done, rsz)) {
			ret = -EFAULT;
			break;
		}
		ret = vcmdq_sw_answer(q, &resp);
		if (ret)
			break;
		done += rsz;
	}
	return done ? done : ret;
}

/*
 * The counters of VCMDQ_SW_GET_STATS and the event file's fdinfo, read
 * under @q->lock as one snapshot. Return: 0, or -ENODEV once the queue is
 * destroyed (@st is then left as it was).
 */
static int vcmdq_sw_read_stats(struct vcmdq_sw_queue *q,
			       struct vcmdq_sw_stats *st, bool *paused)
{
	int i;

	mutex_lock(&q->lock);
	if (q->dead) {
		vcmdq_sw_unlock(q);
		return -ENODEV;
	}
	st->doorbells = atomic64_read(&q->doorbells);
	st->wakes = q->wakes;
	st->cmds = q->e.stats.cmds;
	st->host_cmds = q->e.stats.host_cmds;
	st->batches = q->e.stats.batches;
	st->host_syncs = q->e.stats.host_syncs;
	st->guest_syncs = q->e.stats.guest_syncs;
	st->exits = q->e.stats.exits;
	st->errors = q->e.stats.errors;
	st->faults = q->faults;
	st->max_batch = q->e.stats.max_batch;
	for (i = 0; i < VCMDQ_SW_LAT_BUCKETS; i++)
		st->latency[i] = q->latency[i];
	st->polled = q->polled;
	st->msi_aborts = q->msi_aborts;
	st->msi_defers = q->msi_defers;
	st->poc_cleans = atomic64_read(&q->poc_cleans);
	st->inline_turns = q->inline_turns;
	st->inline_busy = atomic64_read(&q->inline_busy);
	st->handovers = q->handovers;
	if (paused)
		*paused = q->paused;
	vcmdq_sw_unlock(q);
	return 0;
}

static int vcmdq_sw_event_stats(struct vcmdq_sw_queue *q, void __user *uarg)
{
	struct vcmdq_sw_stats st = {};
	u32 size;
	int ret;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < offsetofend(struct vcmdq_sw_stats, max_batch))
		return -EINVAL;

	ret = vcmdq_sw_read_stats(q, &st, NULL);
	if (ret)
		return ret;

	st.size = min_t(u32, size, sizeof(st));
	if (copy_to_user(uarg, &st, st.size))
		return -EFAULT;
	return 0;
}

/*
 * Copy in a size-extensible ioctl argument that starts with its __u32
 * size: at least @min bytes, the kernel's @dsize of them, and any longer
 * tail the kernel does not know must be zero.
 */
static int vcmdq_sw_copy_arg(void *dst, size_t dsize, size_t min,
			     void __user *uarg)
{
	u32 size;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < min)
		return -EINVAL;
	return copy_struct_from_user(dst, dsize, uarg, size);
}

static int vcmdq_sw_event_set_consumer(struct vcmdq_sw_queue *q,
				       void __user *uarg)
{
	struct vcmdq_sw_consumer_mode arg;
	int ret;

	ret = vcmdq_sw_copy_arg(&arg, sizeof(arg),
				offsetofend(struct vcmdq_sw_consumer_mode,
					    poll_us), uarg);
	if (ret)
		return ret;
	if (arg.__reserved)
		return -EINVAL;
	switch (arg.mode) {
	case VCMDQ_SW_CONSUMER_WORKER:
	case VCMDQ_SW_CONSUMER_INLINE:
		if (arg.poll_us)
			return -EINVAL;
		break;
	case VCMDQ_SW_CONSUMER_WORKER_POLL:
		if (!arg.poll_us || arg.poll_us > vcmdq_sw_max_poll_us)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	mutex_lock(&q->lock);
	if (q->dead) {
		ret = -ENODEV;
	} else {
		WRITE_ONCE(q->poll_ns, (u64)arg.poll_us * NSEC_PER_USEC);
		WRITE_ONCE(q->consumer, arg.mode);
	}
	vcmdq_sw_unlock(q);
	return ret;
}

static int vcmdq_sw_event_pause(struct vcmdq_sw_queue *q)
{
	int ret = 0;

	/* The running turn stops at its next host batch */
	set_bit(VCMDQ_SW_PAUSE_REQ, &q->flags);
	mutex_lock(&q->lock);
	if (q->dead) {
		ret = -ENODEV;
	} else {
		q->paused = true;
		if (vcmdq_quiesce(&q->e))
			ret = -EIO;
	}
	clear_bit(VCMDQ_SW_PAUSE_REQ, &q->flags);
	mutex_unlock(&q->lock);
	return ret;
}

static int vcmdq_sw_event_unpause(struct vcmdq_sw_queue *q)
{
	int ret = 0;

	mutex_lock(&q->lock);
	if (q->dead) {
		ret = -ENODEV;
	} else {
		q->paused = false;
		vcmdq_sw_kick(q);
	}
	vcmdq_sw_unlock(q);
	return ret;
}

static u32 vcmdq_sw_reg_read(struct vcmdq_sw_queue *q, u32 off)
{
	return le32_to_cpu(READ_ONCE(*(__le32 *)(q->regs + off)));
}

static int vcmdq_sw_event_get_state(struct vcmdq_sw_queue *q,
				    void __user *uarg)
{
	struct vcmdq_sw_state st = {};
	u32 size;
	int ret = 0;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < offsetofend(struct vcmdq_sw_state, exit_cmd))
		return -EINVAL;

	mutex_lock(&q->lock);
	if (q->dead) {
		ret = -ENODEV;
	} else if (!q->paused) {
		ret = -EBUSY;
	} else {
		st.version = VCMDQ_SW_STATE_VERSION;
		st.cons = vcmdq_cons_value(&q->e);
		st.prod = vcmdq_sw_reg_read(q, q->prod_off);
		st.gerror = vcmdq_sw_reg_read(q, q->gerror_off);
		st.gerrorn = vcmdq_sw_reg_read(q, q->gerrorn_off);
		switch (q->e.halt) {
		case VCMDQ_EXIT:
			st.halt = VCMDQ_SW_HALT_EXIT;
			st.exit_cmd[0] = q->e.stop.cmd.w[0];
			st.exit_cmd[1] = q->e.stop.cmd.w[1];
			break;
		case VCMDQ_CERROR:
			st.halt = VCMDQ_SW_HALT_CERROR;
			break;
		case VCMDQ_FAULT:
			st.halt = VCMDQ_SW_HALT_FAULT;
			break;
		default:
			st.halt = VCMDQ_SW_HALT_NONE;
			break;
		}
	}
	mutex_unlock(&q->lock);
	if (ret)
		return ret;

	st.size = min_t(u32, size, sizeof(st));
	if (copy_to_user(uarg, &st, st.size))
		return -EFAULT;
	return 0;
}

static int vcmdq_sw_state_check(const struct vcmdq_sw_queue *q,
				const struct vcmdq_sw_state *st)
{
	u32 ptr_mask = (2U << q->e.cfg.log2size) - 1;
	u32 err = vcmdq_field_get(VCMDQ_CONS_ERR, st->cons);

	if (st->version != VCMDQ_SW_STATE_VERSION || st->__reserved)
		return -EINVAL;
	if ((st->prod & ~ptr_mask) || (st->cons & ~(ptr_mask | VCMDQ_CONS_ERR)))
		return -EINVAL;
	switch (st->halt) {
	case VCMDQ_SW_HALT_NONE:
		return err ? -EINVAL : 0;
	case VCMDQ_SW_HALT_CERROR:
		return err && err <= VCMDQ_CERROR_ATC_INV_SYNC ? 0 : -EINVAL;
	case VCMDQ_SW_HALT_EXIT:
		return err || q->e.cfg.layout != VCMDQ_LAYOUT_SMMUV3 ?
		       -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

static int vcmdq_sw_event_set_state(struct vcmdq_sw_queue *q,
				    void __user *uarg)
{
	struct vcmdq_sw_event ev = { .type = VCMDQ_SW_EVENT_EXIT };
	struct vcmdq_cmd cmd;
	struct vcmdq_sw_state st;
	int ret;

	ret = vcmdq_sw_copy_arg(&st, sizeof(st),
				offsetofend(struct vcmdq_sw_state, exit_cmd),
				uarg);
	if (ret)
		return ret;

	mutex_lock(&q->lock);
	if (q->dead)
		ret = -ENODEV;
	else if (!q->paused)
		ret = -EBUSY;
	else
		ret = vcmdq_sw_state_check(q, &st);
	if (ret)
		goto out;
	/*
	 * A queue the host failed is halted for good: a new state would run
	 * it into the same failure, a FAULT event each time. And what it
	 * issued before a PAUSE that returned -EIO still wants its host sync:
	 * try it again, and take no state until it is done.
	 */
	if (q->e.halt == VCMDQ_FAULT || vcmdq_quiesce(&q->e)) {
		ret = -EIO;
		goto out;
	}

	vcmdq_sw_set_reg(q, q->gerror_off, st.gerror);
	vcmdq_sw_set_reg(q, q->gerrorn_off, st.gerrorn);
	vcmdq_sw_set_reg(q, q->prod_off, st.prod);
	vcmdq_sw_drop_exit(q, true, 0);
	if (st.halt == VCMDQ_SW_HALT_EXIT) {
		cmd.w[0] = st.exit_cmd[0];
		cmd.w[1] = st.exit_cmd[1];
		vcmdq_restore_exit(&q->e, st.cons, &cmd);
		ev.index = q->e.cons;
		ev.cmd[0] = cmd.w[0];
		ev.cmd[1] = cmd.w[1];
		vcmdq_sw_push_event(q, &ev);
	} else {
		vcmdq_restore(&q->e, st.cons);
	}
	vcmdq_sw_set_reg(q, q->cons_off, vcmdq_cons_value(&q->e));
out:
	mutex_unlock(&q->lock);
	return ret;
}

static long vcmdq_sw_event_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	struct vcmdq_sw_queue *q = file->private_data;

	switch (cmd) {
	case VCMDQ_SW_GET_STATS:
		return vcmdq_sw_event_stats(q, (void __user *)arg);
	case VCMDQ_SW_SET_CONSUMER:
		return vcmdq_sw_event_set_consumer(q, (void __user *)arg);
	case VCMDQ_SW_PAUSE:
		return vcmdq_sw_event_pause(q);
	case VCMDQ_SW_UNPAUSE:
		return vcmdq_sw_event_unpause(q);
	case VCMDQ_SW_GET_STATE:
		return vcmdq_sw_event_get_state(q, (void __user *)arg);
	case VCMDQ_SW_SET_STATE:
		return vcmdq_sw_event_set_state(q, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

/*
 * /proc/PID/fdinfo of the event file: what an operator reads of a running
 * VMM's queues without asking the VMM. The queue's identity always; the
 * counters as VCMDQ_SW_GET_STATS reads them (one snapshot under the
 * queue's lock) while the queue lives, none once it is destroyed.
 */
static void vcmdq_sw_event_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct vcmdq_sw_queue *q = file->private_data;
	struct vcmdq_sw_stats st = {};
	bool paused = false;
	int ret;

	seq_printf(m, "vcmdq_id:\t%u\n", q->id);
	seq_printf(m, "vcmdq_index:\t%u\n", q->index);
	seq_printf(m, "vcmdq_layout:\t%s\n",
		   q->e.cfg.layout == VCMDQ_LAYOUT_SMMUV3 ? "smmuv3" :
		   "tegra241");
	ret = vcmdq_sw_read_stats(q, &st, &paused);
	seq_printf(m, "vcmdq_dead:\t%d\n", ret == -ENODEV);
	if (ret)
		return;
	seq_printf(m, "vcmdq_paused:\t%d\n", paused);
	seq_printf(m, "vcmdq_doorbells:\t%llu\n", st.doorbells);
	seq_printf(m, "vcmdq_cmds:\t%llu\n", st.cmds);
	seq_printf(m, "vcmdq_host_cmds:\t%llu\n", st.host_cmds);
	seq_printf(m, "vcmdq_batches:\t%llu\n", st.batches);
	seq_printf(m, "vcmdq_guest_syncs:\t%llu\n", st.guest_syncs);
	seq_printf(m, "vcmdq_exits:\t%llu\n", st.exits);
	seq_printf(m, "vcmdq_errors:\t%llu\n", st.errors);
	seq_printf(m, "vcmdq_faults:\t%llu\n", st.faults);
}

static const struct file_operations vcmdq_sw_event_fops = {
	.owner = THIS_MODULE,
	.release = vcmdq_sw_event_release,
	.read_iter = vcmdq_sw_event_read_iter,
	.write = vcmdq_sw_event_write,
	.poll = vcmdq_sw_event_poll,
	.unlocked_ioctl = vcmdq_sw_event_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.show_fdinfo = vcmdq_sw_event_show_fdinfo,
};

/**
 * vcmdq_sw_event_file - a new event file of a queue
 * @q: the queue; the file takes a reference on it
 *
 * Return: the file, or an ERR_PTR().
 */
struct file *vcmdq_sw_event_file(struct vcmdq_sw_queue *q)
{
	struct file *file;

	kref_get(&q->ref);
	file = anon_inode_getfile("[vcmdq-sw]", &vcmdq_sw_event_fops, q,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		vcmdq_sw_queue_put(q);
		return file;
	}
	file->f_mode |= FMODE_NOWAIT;
	return file;
}
