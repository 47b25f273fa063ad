// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target over raw guest queue contents and register values.
 *
 * Input: [0] layout (bit 0) and caps (bits 2:1); [1] log2size; [2] batch;
 * [3] budget; [4..7] CONS; [8..11] PROD, used as given, so malformed values
 * reach the engine; then 16-byte little-endian entries from CONS on.
 *
 * Runs the engine into the reference model under the oracle of
 * tests/prop/scenario.c, answering exits and errors as a guest would, and
 * aborts on any broken invariant: a crash or an abort is a finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/prop/scenario.h"

static struct scenario sc;

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vcmdq_config cfg;
	uint32_t mask, cons, prod, i, budget;

	if (size < 12)
		return 0;
	cfg.layout = data[0] & 1 ? VCMDQ_LAYOUT_TEGRA241 : VCMDQ_LAYOUT_SMMUV3;
	cfg.caps = (data[0] >> 1) & 3;
	cfg.log2size = data[1] % (SC_MAX_LOG2SIZE + 1);
	cfg.batch = 1 + data[2] % VCMDQ_BATCH_MAX;
	cfg.vmid = 0x77;
	budget = 1 + data[3];
	mask = (2u << cfg.log2size) - 1;
	cons = le32(data + 4) & mask;
	prod = le32(data + 8);
	data += 12;
	size -= 12;

	if (sc_init(&sc, &cfg, 1))
		abort();
	vcmdq_reset(&sc.eng, cons);
	sc.opos = sc.cons_reg = cons;
	for (i = 0; i < (1u << cfg.log2size); i++) {
		struct vcmdq_cmd *c = &sc.q[(cons + i) & (mask >> 1)];

		if (size >= 16) {
			c->w[0] = le64(data);
			c->w[1] = le64(data + 8);
			data += 16;
			size -= 16;
		}
	}
	sc.prod = prod;
	sc_run(&sc, budget, 4096);
	if (!sc.failed && !(prod & ~mask))
		sc_finish(&sc);
	if (sc.failed) {
		fprintf(stderr, "invariant broken: %s\n", sc.why);
		abort();
	}
	return 0;
}
