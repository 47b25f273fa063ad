/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One guest queue driven through the engine into the reference model, with
 * an independent oracle that interprets the same guest entries and checks,
 * every time CONS moves:
 *  - CONS never passes an illegal command or an unanswered exit;
 *  - at every completed CMD_SYNC, every cache entry a command before it
 *    covered is gone from the model, and no entry of another VMID or
 *    another device was touched;
 *  - no command the guest may not cause reached the model;
 *  - stops (EXIT, CERROR) happen exactly where the architecture says, with
 *    the right error code;
 * and at the end that the model received exactly the host commands the
 * oracle predicts, in order, and the MSI writes the guest asked for.
 *
 * Used by the property tests (random streams from a seed) and by the
 * libFuzzer target (raw queue contents).
 */
#ifndef VCMDQ_SCENARIO_H
#define VCMDQ_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/iommu/vcmdq-sw/engine.h"
#include "tests/model/smmu_model.h"

#define SC_MAX_LOG2SIZE		8
#define SC_MAX_LOG		8192
#define SC_MAX_DONE		1024
#define SC_NR_VSIDS		6

struct sc_rng {
	uint64_t s;
};

static inline uint64_t sc_rand(struct sc_rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static inline uint32_t sc_below(struct sc_rng *r, uint32_t n)
{
	return n ? (uint32_t)(sc_rand(r) % n) : 0;
}

struct scenario {
	/* parameters */
	struct vcmdq_config cfg;
	uint32_t vsids[SC_NR_VSIDS], psids[SC_NR_VSIDS];
	struct sc_rng rng;
	unsigned int abort_pct;		/* % of reads that fail once */
	unsigned int timeout_pct;	/* % of host syncs that time out */

	/* the guest's queue and registers */
	struct vcmdq_cmd q[1u << SC_MAX_LOG2SIZE];
	uint32_t prod, cons_reg;
	bool exit_acked;		/* VMM answered the exit at CONS */
	bool injected_abort, injected_timeout;

	/* the engine and what it drives */
	struct vcmdq_engine eng;
	struct vcmdq_sidmap map;
	struct vcmdq_sid_slot slots[32];
	struct smmu_model model;
	uint64_t log[SC_MAX_LOG][2];

	/* the oracle */
	uint32_t opos;			/* next entry it interprets */
	uint64_t expect[SC_MAX_LOG][2];
	unsigned int nr_expect;
	uint64_t done_want[SC_MAX_DONE][3], done_got[SC_MAX_DONE][3];
	unsigned int nr_done_want, nr_done_got;
	unsigned long syncs_checked;

	/* the first failure */
	bool failed;
	char why[256];
};

int sc_init(struct scenario *sc, const struct vcmdq_config *cfg, uint64_t seed);
void sc_populate(struct scenario *sc, unsigned int n);
void sc_post(struct scenario *sc, const struct vcmdq_cmd *cmds, unsigned int n);
void sc_run(struct scenario *sc, uint32_t budget, unsigned int max_calls);
void sc_finish(struct scenario *sc);
void sc_random_cmd(struct scenario *sc, struct vcmdq_cmd *c);
uint32_t sc_space(const struct scenario *sc);

#endif /* VCMDQ_SCENARIO_H */
