// SPDX-License-Identifier: GPL-2.0
/*
 * The control file of a vcmdq-sw queue (/dev/vcmdq-sw): created before the
 * queue, named in IOMMU_HW_QUEUE_ALLOC, then read for the events the
 * worker leaves to the VMM, and used to resume the queue and read its
 * counters.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "sw_queue.h"

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
 * vcmdq_sw_queue_get_from_fd - the queue behind a control file descriptor
 * @fd: a file descriptor of the calling process
 *
 * Return: the queue with a new reference, ERR_PTR(-EBADF) if @fd is not
 * open, ERR_PTR(-EINVAL) if it is not a /dev/vcmdq-sw file.
 */
struct vcmdq_sw_queue *vcmdq_sw_queue_get_from_fd(int fd)
{
	CLASS(fd, f)(fd);
	struct vcmdq_sw_queue *q;

	if (fd_empty(f))
		return ERR_PTR(-EBADF);
	if (fd_file(f)->f_op != &vcmdq_sw_ctl_fops)
		return ERR_PTR(-EINVAL);
	q = fd_file(f)->private_data;
	kref_get(&q->ref);
	return q;
}

/**
 * vcmdq_sw_push_event - queue an event for the VMM and wake its readers
 * @q: the queue, @q->lock held
 * @ev: the event
 *
 * The ring cannot overflow: a queue stopped for the VMM stays stopped
 * until it answers (and VCMDQ_SW_RESUME drops an EXIT it did not read), a
 * FAULT halts the queue for good and UNMAPPED comes once. That holds
 * because every event comes from a state change made under @q->lock.
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

static int vcmdq_sw_ctl_open(struct inode *inode, struct file *file)
{
	struct vcmdq_sw_queue *q;

	q = kzalloc_obj(*q, GFP_KERNEL_ACCOUNT);
	if (!q)
		return -ENOMEM;
	kref_init(&q->ref);
	mutex_init(&q->lock);
	spin_lock_init(&q->ev_lock);
	init_waitqueue_head(&q->wait);
	file->private_data = q;
	file->f_mode |= FMODE_NOWAIT;
	return stream_open(inode, file);
}

static int vcmdq_sw_ctl_release(struct inode *inode, struct file *file)
{
	struct vcmdq_sw_queue *q = file->private_data;

	vcmdq_sw_stop(q);
	vcmdq_sw_queue_put(q);
	return 0;
}

/*
 * Events are read whole; a stopped queue with none left reads as EOF.
 * Non-blocking reads (O_NONBLOCK, IOCB_NOWAIT from io_uring) return
 * -EAGAIN when there is none, so io_uring waits on poll. Only the ring's
 * spinlock is taken, never the engine's mutex: a read does not wait for
 * a worker turn. The events are copied out of the ring under it and to
 * user space after it (that may fault); what the copy misses goes back.
 */
static ssize_t vcmdq_sw_ctl_read_iter(struct kiocb *iocb, struct iov_iter *to)
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

static __poll_t vcmdq_sw_ctl_poll(struct file *file, poll_table *wait)
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

/* Forget an EXIT at @index the VMM answered without reading it. */
static void vcmdq_sw_drop_exit(struct vcmdq_sw_queue *q, u32 index)
{
	struct vcmdq_sw_event keep[VCMDQ_SW_MAX_EVENTS];
	unsigned int i, n = 0, head;

	spin_lock(&q->ev_lock);
	head = q->ev_head;
	for (i = 0; i < q->ev_count; i++) {
		struct vcmdq_sw_event *ev =
			&q->events[(head + i) % VCMDQ_SW_MAX_EVENTS];

		if (ev->type != VCMDQ_SW_EVENT_EXIT || ev->index != index)
			keep[n++] = *ev;
	}
	for (i = 0; i < n; i++)
		q->events[i] = keep[i];
	q->ev_head = 0;
	q->ev_count = n;
	spin_unlock(&q->ev_lock);
}

static int vcmdq_sw_ctl_resume(struct vcmdq_sw_queue *q, void __user *uarg)
{
	struct vcmdq_sw_resume arg;
	u32 size;
	int ret;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < offsetofend(struct vcmdq_sw_resume, cerror))
		return -EINVAL;
	ret = copy_struct_from_user(&arg, sizeof(arg), uarg, size);
	if (ret)
		return ret;
	if (arg.__reserved)
		return -EINVAL;

	mutex_lock(&q->lock);
	if (!q->bound) {
		ret = -ENODEV;
	} else if (q->e.halt != VCMDQ_EXIT || q->e.stop.index != arg.index) {
		ret = -EINVAL;
	} else {
		/* The EXIT goes only with an answer the engine took */
		ret = vcmdq_exit_done(&q->e, arg.cerror);
		if (!ret) {
			vcmdq_sw_drop_exit(q, arg.index);
			vcmdq_sw_kick(q);
		}
	}
	mutex_unlock(&q->lock);
	return ret;
}

static int vcmdq_sw_ctl_stats(struct vcmdq_sw_queue *q, void __user *uarg)
{
	struct vcmdq_sw_stats st = {};
	u32 size;
	int i;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < offsetofend(struct vcmdq_sw_stats, max_batch))
		return -EINVAL;

	mutex_lock(&q->lock);
	st.doorbells = atomic64_read(&q->doorbells);
	st.wakes = q->wakes;
	st.cmds = q->e.stats.cmds;
	st.host_cmds = q->e.stats.host_cmds;
	st.batches = q->e.stats.batches;
	st.host_syncs = q->e.stats.host_syncs;
	st.guest_syncs = q->e.stats.guest_syncs;
	st.exits = q->e.stats.exits;
	st.errors = q->e.stats.errors;
	st.faults = q->faults;
	st.max_batch = q->e.stats.max_batch;
	for (i = 0; i < VCMDQ_SW_LAT_BUCKETS; i++)
		st.latency[i] = q->latency[i];
	st.polled = q->polled;
	st.msi_aborts = q->msi_aborts;
	mutex_unlock(&q->lock);

	st.size = min_t(u32, size, sizeof(st));
	if (copy_to_user(uarg, &st, st.size))
		return -EFAULT;
	return 0;
}

static long vcmdq_sw_ctl_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	struct vcmdq_sw_queue *q = file->private_data;

	switch (cmd) {
	case VCMDQ_SW_RESUME:
		return vcmdq_sw_ctl_resume(q, (void __user *)arg);
	case VCMDQ_SW_GET_STATS:
		return vcmdq_sw_ctl_stats(q, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

const struct file_operations vcmdq_sw_ctl_fops = {
	.owner = THIS_MODULE,
	.open = vcmdq_sw_ctl_open,
	.release = vcmdq_sw_ctl_release,
	.read_iter = vcmdq_sw_ctl_read_iter,
	.poll = vcmdq_sw_ctl_poll,
	.unlocked_ioctl = vcmdq_sw_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
