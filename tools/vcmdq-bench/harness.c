// SPDX-License-Identifier: GPL-2.0
/*
 * User-space vcmdq-sw harness: see harness.h.
 */
#include <endian.h>
#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "harness.h"

static int h_read(void *priv, uint32_t idx, struct vcmdq_cmd *dst, uint32_t n)
{
	struct vq_harness *h = priv;
	uint32_t i;

	/* one copy, then only the copy is looked at */
	for (i = 0; i < n; i++) {
		dst[i].w[0] = le64toh(__atomic_load_n(&h->q[idx + i].w[0],
						      __ATOMIC_RELAXED));
		dst[i].w[1] = le64toh(__atomic_load_n(&h->q[idx + i].w[1],
						      __ATOMIC_RELAXED));
	}
	return 0;
}

static int h_issue(void *priv, const struct vcmdq_cmd *cmds, uint32_t n,
		   bool sync)
{
	struct vq_harness *h = priv;

	return h->sink.issue(h->sink.priv, cmds, n, sync);
}

static void h_publish(void *priv, uint32_t cons)
{
	struct vq_harness *h = priv;

	atomic_store_explicit(&h->regs.cons, cons, memory_order_release);
}

static int h_complete(void *priv, const struct vcmdq_sync_done *d)
{
	struct vq_harness *h = priv;
	uint32_t data = htole32(d->data);

	switch (d->kind) {
	case VCMDQ_DONE_MSI:
		/* guest memory window: an address outside it is an abort */
		if (d->addr > h->guest_mem_size - sizeof(data))
			return -EFAULT;
		__atomic_store((uint32_t *)(h->guest_mem + d->addr), &data,
			       __ATOMIC_RELEASE);
		return 0;
	case VCMDQ_DONE_IRQ:
	case VCMDQ_DONE_SEV:
		return eventfd_write(h->irq_fd, 1) ? -errno : 0;
	}
	return -EINVAL;
}

static void h_stopped(void *priv, const struct vcmdq_stop_info *s)
{
	struct vq_harness *h = priv;

	if (s->status == VCMDQ_CERROR) {
		atomic_fetch_xor(&h->regs.gerror, 1);
		eventfd_write(h->irq_fd, 1);
	}
}

static const struct vcmdq_ops h_ops = {
	.read = h_read,
	.issue = h_issue,
	.publish = h_publish,
	.complete = h_complete,
	.stopped = h_stopped,
};

int vq_harness_init(struct vq_harness *h, const struct vcmdq_config *cfg,
		    const struct vq_sink *sink, size_t guest_mem_size)
{
	size_t qbytes = sizeof(struct vcmdq_cmd) << cfg->log2size;
	int ret;

	memset(h, 0, sizeof(*h));
	h->doorbell_fd = h->irq_fd = -1;
	h->cfg = *cfg;
	h->sink = *sink;
	h->budget = 1024;
	vcmdq_sidmap_init(&h->sids, h->slots, 8);
	ret = vcmdq_engine_init(&h->eng, cfg, &h_ops, h, &h->sids);
	if (ret)
		return ret;
	h->q = aligned_alloc(4096, qbytes < 4096 ? 4096 : qbytes);
	h->guest_mem_size = guest_mem_size;
	h->guest_mem = calloc(1, guest_mem_size ? guest_mem_size : 1);
	h->doorbell_fd = eventfd(0, EFD_CLOEXEC);
	h->irq_fd = eventfd(0, EFD_CLOEXEC);
	if (!h->q || !h->guest_mem || h->doorbell_fd < 0 || h->irq_fd < 0) {
		ret = h->doorbell_fd < 0 || h->irq_fd < 0 ? -errno : -ENOMEM;
		vq_harness_destroy(h);
		return ret;
	}
	memset(h->q, 0, qbytes);
	return 0;
}

int vq_harness_add_sid(struct vq_harness *h, uint32_t vsid, uint32_t psid)
{
	return vcmdq_sidmap_insert(&h->sids, vsid, psid);
}

/* One doorbell: run the queue until it is idle or stopped. */
static void run_queue(struct vq_harness *h)
{
	enum vcmdq_status st;
	uint32_t prod;

	if (h->eng.halt == VCMDQ_CERROR &&
	    atomic_load(&h->regs.gerrorn) == atomic_load(&h->regs.gerror))
		vcmdq_error_ack(&h->eng);
	do {
		prod = atomic_load_explicit(&h->regs.prod,
					    memory_order_acquire);
		st = vcmdq_process(&h->eng, prod, h->budget);
		if (st == VCMDQ_EXIT) {
			/* this harness is its own VMM: exits are counted */
			atomic_fetch_add(&h->exits, 1);
			vcmdq_exit_done(&h->eng, VCMDQ_CERROR_NONE);
			st = VCMDQ_MORE;
		}
	} while (st == VCMDQ_MORE);
	if (st == VCMDQ_FAULT)
		h->error = h->eng.stop.err;
}

static void *worker(void *arg)
{
	struct vq_harness *h = arg;
	struct io_uring ring;
	uint64_t count;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret) {
		h->error = ret;
		return NULL;
	}
	while (!atomic_load(&h->stop)) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;

		io_uring_prep_read(sqe, h->doorbell_fd, &count, sizeof(count),
				   0);
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret) {
			h->error = ret;
			break;
		}
		ret = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (ret != sizeof(count)) {
			h->error = ret < 0 ? ret : -EIO;
			break;
		}
		if (atomic_load(&h->stop))
			break;
		atomic_fetch_add(&h->wakeups, 1);
		run_queue(h);
	}
	io_uring_queue_exit(&ring);
	return NULL;
}

int vq_harness_start(struct vq_harness *h)
{
	return -pthread_create(&h->worker, NULL, worker, h);
}

void vq_harness_destroy(struct vq_harness *h)
{
	if (h->worker) {
		atomic_store(&h->stop, 1);
		eventfd_write(h->doorbell_fd, 1);
		pthread_join(h->worker, NULL);
		h->worker = 0;
	}
	if (h->doorbell_fd >= 0)
		close(h->doorbell_fd);
	if (h->irq_fd >= 0)
		close(h->irq_fd);
	free(h->q);
	free(h->guest_mem);
	h->q = NULL;
	h->guest_mem = NULL;
	h->doorbell_fd = h->irq_fd = -1;
}

uint32_t vq_guest_space(const struct vq_harness *h, uint32_t prod)
{
	uint32_t cons = atomic_load(&h->regs.cons) &
			vcmdq_q_ptr_mask(h->cfg.log2size);

	return (1u << h->cfg.log2size) -
	       vcmdq_q_used(h->cfg.log2size, prod, cons);
}

uint32_t vq_guest_write(struct vq_harness *h, uint32_t prod,
			const struct vcmdq_cmd *cmds, uint32_t n)
{
	uint32_t l2 = h->cfg.log2size, i;

	for (i = 0; i < n; i++) {
		struct vcmdq_cmd *e = &h->q[vcmdq_q_idx(l2, prod)];

		__atomic_store_n(&e->w[0], htole64(cmds[i].w[0]),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&e->w[1], htole64(cmds[i].w[1]),
				 __ATOMIC_RELAXED);
		prod = vcmdq_q_inc(l2, prod, 1);
	}
	return prod;
}

int vq_guest_doorbell(struct vq_harness *h, uint32_t prod)
{
	/* entries before PROD, PROD before the wake-up */
	atomic_store_explicit(&h->regs.prod, prod, memory_order_release);
	return eventfd_write(h->doorbell_fd, 1) ? -errno : 0;
}

/* Poll CONS until it reaches @target or carries an error; returns CONS. */
uint32_t vq_guest_wait_cons(struct vq_harness *h, uint32_t target)
{
	uint32_t mask = vcmdq_q_ptr_mask(h->cfg.log2size), cons;
	unsigned int spins = 0;

	for (;;) {
		cons = atomic_load_explicit(&h->regs.cons,
					    memory_order_acquire);
		if ((cons & mask) == target || (cons & VCMDQ_CONS_ERR) ||
		    h->error)
			return cons;
		if (++spins > 64)
			sched_yield();
	}
}
