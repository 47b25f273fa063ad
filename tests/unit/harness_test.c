// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space harness end to end: a guest thread (this one) posts into
 * the shared queue and rings the eventfd doorbell; the io_uring worker runs
 * the engine into a recording sink. Checks CONS, MSI writes into guest
 * memory, exits, CERROR with GERROR/GERRORN recovery, and a long stream.
 */
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tools/vcmdq-bench/harness.h"
#include "tests/lib/tap.h"

struct rec {
	struct vcmdq_cmd cmds[4096];
	_Atomic unsigned int n, syncs;
};

static int rec_issue(void *priv, const struct vcmdq_cmd *c, uint32_t n,
		     bool sync)
{
	struct rec *r = priv;
	unsigned int i, at = atomic_load(&r->n);

	for (i = 0; i < n && at + i < 4096; i++)
		r->cmds[at + i] = c[i];
	atomic_fetch_add(&r->n, n);
	atomic_fetch_add(&r->syncs, sync);
	return 0;
}

static struct vcmdq_cmd C(uint64_t w0, uint64_t w1)
{
	return (struct vcmdq_cmd){ { w0, w1 } };
}

static struct vq_harness h;
static struct rec rec;

int main(void)
{
	struct vcmdq_config cfg = {
		.layout = VCMDQ_LAYOUT_SMMUV3, .log2size = 4, .vmid = 9,
		.batch = 16, .caps = VCMDQ_CAP_MSI,
	};
	struct vq_sink sink = { rec_issue, &rec };
	struct vcmdq_cmd cmds[8];
	uint32_t prod = 0, cons, msi;
	bool failed = false;
	unsigned int i;

	if (vq_harness_init(&h, &cfg, &sink, 8192) ||
	    vq_harness_add_sid(&h, 0x42, 0x8) || vq_harness_start(&h)) {
		tap_result(false, "harness starts");
		return tap_done();
	}

	cmds[0] = C(0x12 | 0x77ULL << 32 | 5ULL << 48, 0x1000);
	cmds[1] = C(0x40 | 0x42ULL << 32, 0x2000);
	cmds[2] = C(0x46 | 1ULL << 12 | 0xabcdULL << 32, 0x100);	/* MSI */
	prod = vq_guest_write(&h, prod, cmds, 3);
	vq_guest_doorbell(&h, prod);
	cons = vq_guest_wait_cons(&h, prod);
	memcpy(&msi, h.guest_mem + 0x100, 4);
	CHECK(cons == 3, "CONS 0x%x", cons);
	CHECK(msi == 0xabcd, "MSI data 0x%x in guest memory", msi);
	CHECK(atomic_load(&rec.n) == 2 && atomic_load(&rec.syncs) == 1,
	      "%u host cmds, %u syncs", atomic_load(&rec.n),
	      atomic_load(&rec.syncs));
	CHECK(rec.cmds[0].w[0] == (0x12 | 9ULL << 32 | 5ULL << 48) &&
	      rec.cmds[1].w[0] == (0x40 | 0x8ULL << 32), "rewritten");
	tap_result(!failed, "harness: doorbell, rewrite, CMD_SYNC with MSI into guest memory");

	failed = false;
	cmds[0] = C(0x03 | 0x42ULL << 32, 1);		/* CFGI_STE: exit */
	cmds[1] = C(0x11 | 6ULL << 48, 0);
	cmds[2] = C(0x2a, 0);				/* S2_IPA: ILL */
	cmds[3] = C(0x46, 0);
	prod = vq_guest_write(&h, prod, cmds, 4);
	vq_guest_doorbell(&h, prod);
	cons = vq_guest_wait_cons(&h, prod);
	CHECK(cons == (5 | 1u << 24), "stops at ILL: CONS 0x%x", cons);
	CHECK(atomic_load(&h.exits) == 1, "exits %lu", atomic_load(&h.exits));
	CHECK(atomic_load(&h.regs.gerror) == 1, "GERROR.CMDQ_ERR toggled");
	{
		struct pollfd p = { .fd = h.irq_fd, .events = POLLIN };

		CHECK(poll(&p, 1, 1000) == 1, "GERROR interrupt");
		eventfd_read(h.irq_fd, &(eventfd_t){ 0 });
	}
	/* the guest fixes the entry and acknowledges, as Linux does */
	h.q[5] = C(0x46, 0);
	atomic_store(&h.regs.gerrorn, atomic_load(&h.regs.gerror));
	vq_guest_doorbell(&h, prod);
	/* until the worker has seen the ack (bounded: 10 s) */
	for (i = 0; i < 10000000 && (cons & VCMDQ_CONS_ERR); i++) {
		usleep(1);
		cons = atomic_load(&h.regs.cons);
	}
	cons = vq_guest_wait_cons(&h, prod);
	CHECK(cons == 7, "recovered: CONS 0x%x", cons);
	tap_result(!failed, "harness: exit in order, CERROR_ILL, GERROR, recovery via GERRORN");

	failed = false;
	atomic_store(&rec.n, 0);
	for (i = 0; i < 2000; i++) {
		cmds[0] = C(0x12 | (uint64_t)(i & 0xff) << 48, (uint64_t)i << 12);
		cmds[1] = C(0x46, 0);
		while (vq_guest_space(&h, prod) < 2)
			;
		prod = vq_guest_write(&h, prod, cmds, 2);
		vq_guest_doorbell(&h, prod);
	}
	cons = vq_guest_wait_cons(&h, prod);
	CHECK(cons == prod, "CONS 0x%x PROD 0x%x", cons, prod);
	CHECK(atomic_load(&rec.n) == 2000, "host cmds %u", atomic_load(&rec.n));
	CHECK(!h.error, "worker error %d", h.error);
	tap_result(!failed, "harness: 2000 doorbells through a 16-entry queue, nothing lost");

	vq_harness_destroy(&h);
	return tap_done();
}
