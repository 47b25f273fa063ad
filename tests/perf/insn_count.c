// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction count of the engine's fast path, for callgrind:
 *   valgrind --tool=callgrind --toggle-collect=vcmdq_process build/insn_count
 * Runs ROUNDS batches of 64 TLBI_NH_VA (no CMD_SYNC) through one
 * vcmdq_process() call each, with a backend that copies the entries (a
 * memcpy() from the queue) and issues nothing; prints the command count to
 * divide the Ir total by.
 */
#include <stdio.h>
#include <string.h>

#include "drivers/iommu/vcmdq-sw/engine.h"

#define ROUNDS	2000
#define BATCH	64

static struct vcmdq_cmd q[BATCH];

static int n_read(void *p, u32 idx, struct vcmdq_cmd *d, u32 n)
{
	(void)p;
	memcpy(d, &q[idx], n * sizeof(*d));
	return 0;
}

static int n_issue(void *p, const struct vcmdq_cmd *c, u32 n, bool sync)
{
	(void)p; (void)c; (void)n; (void)sync;
	return 0;
}

static void n_publish(void *p, u32 v)
{
	(void)p; (void)v;
}

static int n_complete(void *p, const struct vcmdq_sync_done *d)
{
	(void)p; (void)d;
	return 0;
}

static const struct vcmdq_ops ops = {
	.read = n_read, .issue = n_issue,
	.publish = n_publish, .complete = n_complete,
};

int main(void)
{
	struct vcmdq_config cfg = {
		.layout = VCMDQ_LAYOUT_SMMUV3, .log2size = 6, .vmid = 1,
		.batch = BATCH,
	};
	static struct vcmdq_engine e;
	struct vcmdq_sidmap map;
	u32 prod = 0, i;

	vcmdq_sidmap_init(&map, NULL, 0);
	for (i = 0; i < BATCH; i++) {
		q[i].w[0] = 0x12 | 0x77ULL << 32 | (u64)(i + 1) << 48;
		q[i].w[1] = ((u64)i << 12) | 1ULL << 10 | 1;
	}
	if (vcmdq_engine_init(&e, &cfg, &ops, NULL, &map))
		return 1;
	for (i = 0; i < ROUNDS; i++) {
		prod = vcmdq_q_inc(cfg.log2size, prod, BATCH);
		if (vcmdq_process(&e, prod, ~0U) != VCMDQ_IDLE)
			return 1;
	}
	printf("%llu commands\n", (unsigned long long)e.stats.cmds);
	return e.stats.host_cmds == (u64)ROUNDS * BATCH ? 0 : 1;
}
