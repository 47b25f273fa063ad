/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Engine test vectors: a guest queue, what the engine must issue, and where
 * it must stop. Portable like the engine itself: the user-space unit tests
 * and the module's KUnit suite run this one table, not two copies.
 */
#ifndef VCMDQ_VECTORS_H
#define VCMDQ_VECTORS_H

#include "drivers/iommu/vcmdq-sw/engine.h"

#define VEC_MAX_IN	10
#define VEC_MAX_OUT	10
#define VEC_MAX_ISSUE	8
#define VEC_SYNC	0x80	/* in @issues: this issue() had sync set */

/**
 * struct vcmdq_vector - one engine test case
 * @name: what it shows
 * @layout: guest layout
 * @log2size: queue size
 * @batch: host batch limit (0 means VCMDQ_BATCH_MAX)
 * @caps: VCMDQ_CAP_*
 * @cons: CONS at start; entries are placed from here on
 * @prod: PROD handed to vcmdq_process()
 * @budget: budget handed to vcmdq_process() (0 means unlimited)
 * @nr_in: entries placed
 * @in: the guest entries
 * @nr_out: host commands expected
 * @out: host commands expected, in order
 * @nr_issues: issue() calls expected
 * @issues: each call's command count, | VEC_SYNC when it synced
 * @status: expected vcmdq_process() result
 * @cons_reg: expected CONS register value at the end
 * @nr_done: CMD_SYNC completions expected
 * @done: expected completions (kind, index, addr, data)
 */
struct vcmdq_vector {
	const char *name;
	u8 layout, log2size, batch, caps;
	u32 cons, prod, budget;
	u8 nr_in;
	struct vcmdq_cmd in[VEC_MAX_IN];
	u8 nr_out;
	struct vcmdq_cmd out[VEC_MAX_OUT];
	u8 nr_issues;
	u8 issues[VEC_MAX_ISSUE];
	u8 status;
	u32 cons_reg;
	u8 nr_done;
	struct vcmdq_sync_done done[2];
};

/* The vIOMMU every vector runs against. */
#define VEC_VMID	0x0001

/**
 * struct vcmdq_vector_fail - the first mismatch of a vector
 * @what: which check
 * @i: index of the element that differs
 * @want: expected value
 * @got: actual value
 */
struct vcmdq_vector_fail {
	const char *what;
	unsigned int i;
	u64 want, got;
};

extern const struct vcmdq_vector vcmdq_vectors[];
extern const unsigned int vcmdq_nr_vectors;

bool vcmdq_vector_run(const struct vcmdq_vector *v,
		      struct vcmdq_vector_fail *fail);
bool vcmdq_policy_selftest(struct vcmdq_vector_fail *fail);

#endif /* VCMDQ_VECTORS_H */
