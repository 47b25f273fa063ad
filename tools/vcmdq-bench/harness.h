/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space vcmdq-sw: the engine in a worker thread, woken through an
 * eventfd doorbell it waits on with io_uring, reading a guest queue in
 * shared memory and publishing CONS to a shared register page. The shape
 * of the kernel fast path, without KVM: a guest thread (or a VMM that
 * learns PROD some other way) writes entries, stores PROD and rings the
 * doorbell.
 *
 * The host side is a sink: the tests plug in the reference model, the
 * benchmark a null SMMU, a VMM the IOMMU_HWPT_INVALIDATE ioctl.
 */
#ifndef VCMDQ_HARNESS_H
#define VCMDQ_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "drivers/iommu/vcmdq-sw/engine.h"

/**
 * struct vq_regs - the shared register page (what the guest reads)
 * @prod: PROD as the guest last wrote it
 * @cons: CONS as the engine last published it (pointer | ERR << 24)
 * @gerror: GERROR; bit 0 CMDQ_ERR toggles on a CERROR stop
 * @gerrorn: GERRORN; the guest acknowledges by matching GERROR
 */
struct vq_regs {
	_Atomic uint32_t prod;
	_Atomic uint32_t cons;
	_Atomic uint32_t gerror;
	_Atomic uint32_t gerrorn;
};

/**
 * struct vq_sink - where host commands go
 * @issue: same contract as vcmdq_ops.issue
 * @priv: passed to @issue
 */
struct vq_sink {
	int (*issue)(void *priv, const struct vcmdq_cmd *cmds, uint32_t n,
		     bool sync);
	void *priv;
};

/**
 * struct vq_harness - one user-space queue
 * @cfg: engine configuration
 * @q: the guest queue, 2^log2size entries, little-endian
 * @regs: the register page
 * @guest_mem: a window of "guest memory" for MSI writes (@guest_mem_size)
 * @guest_mem_size: its size in bytes
 * @doorbell_fd: eventfd the guest writes to after storing PROD
 * @irq_fd: eventfd signalled for CS=IRQ without MSI, and for CERROR stops
 * @sink: host side
 * @budget: engine budget per call
 * @sids: vSID table (caller fills through vq_harness_add_sid())
 * @exits: exits taken; this harness is its own VMM and answers them
 * @wakeups: doorbell wake-ups the worker handled
 * @stop: set to end the worker
 */
struct vq_harness {
	struct vcmdq_config cfg;
	struct vcmdq_cmd *q;
	struct vq_regs regs;
	uint8_t *guest_mem;
	size_t guest_mem_size;
	int doorbell_fd, irq_fd;
	struct vq_sink sink;
	uint32_t budget;

	struct vcmdq_sidmap sids;
	struct vcmdq_sid_slot slots[256];

	/* worker-only state (engine lock: the worker thread owns it) */
	struct vcmdq_engine eng;
	pthread_t worker;
	_Atomic unsigned long exits, wakeups;
	_Atomic int stop;
	int error;
};

int vq_harness_init(struct vq_harness *h, const struct vcmdq_config *cfg,
		    const struct vq_sink *sink, size_t guest_mem_size);
int vq_harness_add_sid(struct vq_harness *h, uint32_t vsid, uint32_t psid);
int vq_harness_start(struct vq_harness *h);
void vq_harness_destroy(struct vq_harness *h);

/* guest side */
uint32_t vq_guest_space(const struct vq_harness *h, uint32_t prod);
uint32_t vq_guest_write(struct vq_harness *h, uint32_t prod,
			const struct vcmdq_cmd *cmds, uint32_t n);
int vq_guest_doorbell(struct vq_harness *h, uint32_t prod);
uint32_t vq_guest_wait_cons(struct vq_harness *h, uint32_t target);

#endif /* VCMDQ_HARNESS_H */
