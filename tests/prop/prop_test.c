// SPDX-License-Identifier: GPL-2.0
/*
 * Property tests: random guest command streams, from a fixed list of seeds
 * and one fresh seed per run, through the engine into the reference model,
 * checked by the oracle (scenario.h). A failure prints the seed; rerun one
 * with: prop_test SEED
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"
#include "tests/lib/tap.h"

#define FIXED_SEEDS	300
#define ROUNDS		40

struct variant {
	const char *name;
	enum vcmdq_layout layout;
	unsigned int abort_pct, timeout_pct;
};

static const struct variant variants[] = {
	{ "smmuv3",			VCMDQ_LAYOUT_SMMUV3,	0, 0 },
	{ "tegra241",			VCMDQ_LAYOUT_TEGRA241,	0, 0 },
	{ "smmuv3+fetch-aborts",	VCMDQ_LAYOUT_SMMUV3,	3, 0 },
	{ "smmuv3+sync-timeouts",	VCMDQ_LAYOUT_SMMUV3,	0, 10 },
};

static struct scenario sc;

/* One seed: the queue shape, the stream and the budgets all derive from it. */
static bool run_seed(const struct variant *v, uint64_t seed, char *why,
		     size_t len)
{
	struct sc_rng r = { seed * 0x100000001b3ULL + 7 };
	struct vcmdq_config cfg = {
		.layout = v->layout,
		.log2size = 1 + sc_below(&r, SC_MAX_LOG2SIZE),
		.vmid = (uint16_t)(1 + sc_below(&r, 0xfffe)),
		.batch = 1 + sc_below(&r, VCMDQ_BATCH_MAX),
		.caps = sc_below(&r, 4),
	};
	struct vcmdq_cmd cmds[1u << SC_MAX_LOG2SIZE];
	unsigned int round, i, n;

	if (sc_init(&sc, &cfg, seed)) {
		snprintf(why, len, "sc_init failed");
		return false;
	}
	sc.abort_pct = v->abort_pct;
	sc.timeout_pct = v->timeout_pct;
	/* start anywhere in the queue, wrap bit included */
	sc.prod = sc.opos = sc.cons_reg = (uint32_t)sc_rand(&r) &
					  ((2u << cfg.log2size) - 1);
	vcmdq_reset(&sc.eng, sc.prod);
	sc_populate(&sc, 200);

	for (round = 0; round < ROUNDS && !sc.failed; round++) {
		n = sc_below(&r, sc_space(&sc) + 1);
		for (i = 0; i < n; i++)
			sc_random_cmd(&sc, &cmds[i]);
		sc_post(&sc, cmds, n);
		sc_run(&sc, 1 + sc_below(&r, 3u << cfg.log2size), 100000);
		sc_populate(&sc, 40);
	}
	sc_finish(&sc);
	if (sc.failed)
		snprintf(why, len, "%s (layout %s log2size %u batch %u caps %u)",
			 sc.why, v->name, cfg.log2size, cfg.batch, cfg.caps);
	return !sc.failed;
}

static uint64_t fresh_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^
	       (uint64_t)getpid() << 40;
}

int main(int argc, char **argv)
{
	unsigned long syncs = 0, cmds = 0;
	char why[512];
	unsigned int v, s;

	if (argc > 1) {
		/* reproduce one seed in every variant */
		uint64_t seed = strtoull(argv[1], NULL, 0);

		for (v = 0; v < ARRAY_SIZE(variants); v++) {
			bool ok = run_seed(&variants[v], seed, why, sizeof(why));

			tap_result(ok, "prop %s seed 0x%llx%s%s", variants[v].name,
				   (unsigned long long)seed, ok ? "" : ": ",
				   ok ? "" : why);
		}
		return tap_done();
	}

	for (v = 0; v < ARRAY_SIZE(variants); v++) {
		unsigned int bad = 0;

		for (s = 1; s <= FIXED_SEEDS; s++) {
			if (!run_seed(&variants[v], s, why, sizeof(why))) {
				if (!bad++)
					tap_diag("seed %u: %s", s, why);
			}
			syncs += sc.syncs_checked;
			cmds += sc.model.nr_log;
		}
		tap_result(!bad, "prop %s: %u fixed seeds, %u failed",
			   variants[v].name, FIXED_SEEDS, bad);
	}
	for (v = 0; v < ARRAY_SIZE(variants); v++) {
		uint64_t seed = fresh_seed() + v;
		bool ok = run_seed(&variants[v], seed, why, sizeof(why));

		if (!ok)
			tap_diag("rerun with: prop_test 0x%llx",
				 (unsigned long long)seed);
		tap_result(ok, "prop %s random seed 0x%llx%s%s",
			   variants[v].name, (unsigned long long)seed,
			   ok ? "" : ": ", ok ? "" : why);
	}
	tap_diag("%lu CMD_SYNC checks, %lu host commands compared", syncs, cmds);
	return tap_done();
}
