/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A reference SMMUv3 for the tests, written from the architecture and not
 * from the engine (it includes none of the engine's headers): a TLB keyed
 * by (VMID, ASID/global, VA, granule, level, leaf), an ATC keyed by (SID,
 * SSID, address) and a CD cache keyed by (SID, SSID). Host commands queue up
 * as on hardware and take effect, in order, at the next host CMD_SYNC.
 *
 * It also polices its input: every command that reaches it must be one a
 * guest may cause (see smmu_model_accepts()); violations are counted.
 */
#ifndef SMMU_MODEL_H
#define SMMU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define MODEL_MAX_TLB		512
#define MODEL_MAX_ATC		128
#define MODEL_MAX_CD		64
#define MODEL_MAX_PENDING	4096
#define MODEL_MAX_SIDS		16
#define MODEL_NO_SSID		0xffffffffu

struct model_tlb {
	uint16_t vmid, asid;
	bool global, leaf;
	uint8_t tg;		/* 1: 4K, 2: 16K, 3: 64K */
	uint8_t level;		/* 1..3 */
	uint64_t va;		/* aligned to the entry's size */
	bool valid;
	bool must_go;		/* a completed guest command covered it */
	unsigned int born;	/* serial, to tell entries apart */
};

struct model_atc {
	uint32_t sid, ssid;
	bool global;
	uint64_t addr;		/* 4K page */
	bool valid, must_go;
};

struct model_cd {
	uint32_t sid, ssid;
	bool valid, must_go;
};

struct smmu_model {
	/* what a guest may touch */
	uint16_t vmid;
	uint32_t psids[MODEL_MAX_SIDS];
	unsigned int nr_psids;

	struct model_tlb tlb[MODEL_MAX_TLB];
	struct model_atc atc[MODEL_MAX_ATC];
	struct model_cd cd[MODEL_MAX_CD];
	unsigned int nr_tlb, nr_atc, nr_cd;

	uint64_t pending[MODEL_MAX_PENDING][2];
	unsigned int nr_pending;

	/* every command received, in order (for exact comparison) */
	uint64_t (*log)[2];
	unsigned int nr_log, max_log;

	unsigned int violations;
	char why[160];		/* the first violation */
	unsigned long executed, syncs;
};

void smmu_model_init(struct smmu_model *m, uint16_t vmid,
		     const uint32_t *psids, unsigned int nr_psids,
		     uint64_t (*log)[2], unsigned int max_log);
bool smmu_model_accepts(const struct smmu_model *m, const uint64_t cmd[2],
			char *why, unsigned int len);
void smmu_model_issue(struct smmu_model *m, const uint64_t cmd[2]);
void smmu_model_sync(struct smmu_model *m);
/* Is @sid one of the StreamIDs the guest's devices own? */
bool smmu_model_owns_sid(const struct smmu_model *m, uint32_t sid);

/* The architectural effect of one command on one entry. */
bool model_tlbi_hits(const uint64_t cmd[2], const struct model_tlb *t);
bool model_atc_hits(const uint64_t cmd[2], const struct model_atc *a);
bool model_cd_hits(const uint64_t cmd[2], const struct model_cd *c);

uint64_t model_block_size(uint8_t tg, uint8_t level);

#endif /* SMMU_MODEL_H */
