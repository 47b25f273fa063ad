// SPDX-License-Identifier: GPL-2.0
/*
 * Reference SMMUv3 model: see smmu_model.h. Field positions are written
 * out here from the SMMUv3 architecture's command layouts on purpose, so
 * that a wrong mask in the engine's cmd.h cannot hide behind a shared one.
 */
#include <stdio.h>
#include <string.h>

#include "smmu_model.h"

static uint64_t bits(uint64_t v, unsigned int hi, unsigned int lo)
{
	return (v >> lo) & (~0ULL >> (63 - (hi - lo)));
}

uint64_t model_block_size(uint8_t tg, uint8_t level)
{
	/* granule shift 12/14/16; each level resolves shift-3 bits */
	unsigned int gs = tg == 2 ? 14 : tg == 3 ? 16 : 12;
	unsigned int shift = gs + (3 - level) * (gs - 3);

	return shift >= 64 ? 0 : 1ULL << shift;
}

void smmu_model_init(struct smmu_model *m, uint16_t vmid,
		     const uint32_t *psids, unsigned int nr_psids,
		     uint64_t (*log)[2], unsigned int max_log)
{
	memset(m, 0, sizeof(*m));
	m->vmid = vmid;
	if (nr_psids > MODEL_MAX_SIDS)
		nr_psids = MODEL_MAX_SIDS;
	memcpy(m->psids, psids, nr_psids * sizeof(*psids));
	m->nr_psids = nr_psids;
	m->log = log;
	m->max_log = max_log;
}

bool smmu_model_owns_sid(const struct smmu_model *m, uint32_t sid)
{
	unsigned int i;

	for (i = 0; i < m->nr_psids; i++)
		if (m->psids[i] == sid)
			return true;
	return false;
}

/*
 * What may reach the SMMU on a guest's behalf: stage-1 invalidations of the
 * guest's own VMID, and ATC/CD invalidations of its own StreamIDs, with no
 * reserved bit set. Never a CMD_SYNC (the host adds its own), never a
 * stage-2, EL2 or configuration command.
 */
bool smmu_model_accepts(const struct smmu_model *m, const uint64_t c[2],
			char *why, unsigned int len)
{
	unsigned int op = c[0] & 0xff;
	uint64_t res0 = 0, res1 = 0;
	bool vmid = false, sid = false;

	switch (op) {
	case 0x10:	/* TLBI_NH_ALL: VMID 47:32 */
		res0 = c[0] & ~(0xffULL | 0xffffULL << 32);
		res1 = c[1];
		vmid = true;
		break;
	case 0x11:	/* TLBI_NH_ASID: VMID, ASID 63:48 */
		res0 = c[0] & ~(0xffULL | 0xffffffffULL << 32);
		res1 = c[1];
		vmid = true;
		break;
	case 0x12:	/* TLBI_NH_VA: NUM 16:12, SCALE 24:20, VMID, ASID */
	case 0x13:	/* TLBI_NH_VAA: same without ASID */
		res0 = c[0] & ~(0xffULL | 0x1fULL << 12 | 0x1fULL << 20 |
				(op == 0x12 ? 0xffffffffULL : 0xffffULL) << 32);
		res1 = c[1] & 0xfeULL;		/* bits 7:1 */
		vmid = true;
		break;
	case 0x40:	/* ATC_INV: Global 9, SSV 11, SSID 31:12, SID; Size 5:0 */
		res0 = c[0] & 0x5ULL << 8;		/* bits 8, 10 */
		res1 = c[1] & 0xfc0ULL;			/* bits 11:6 */
		sid = true;
		break;
	case 0x05:	/* CFGI_CD: SSID 31:12, SID 63:32; Leaf 0 */
		res0 = c[0] & 0xf00ULL;
		res1 = c[1] & ~1ULL;
		sid = true;
		break;
	case 0x06:	/* CFGI_CD_ALL: SID */
		res0 = c[0] & 0xffffff00ULL;
		res1 = c[1];
		sid = true;
		break;
	default:
		snprintf(why, len, "opcode 0x%02x must never be issued", op);
		return false;
	}
	if (res0 || res1) {
		snprintf(why, len, "op 0x%02x with reserved bits %016llx %016llx",
			 op, (unsigned long long)res0, (unsigned long long)res1);
		return false;
	}
	if (vmid && bits(c[0], 47, 32) != m->vmid) {
		snprintf(why, len, "op 0x%02x names VMID %llu, not %u", op,
			 (unsigned long long)bits(c[0], 47, 32), m->vmid);
		return false;
	}
	if (sid && !smmu_model_owns_sid(m, (uint32_t)bits(c[0], 63, 32))) {
		snprintf(why, len, "op 0x%02x names foreign SID 0x%llx", op,
			 (unsigned long long)bits(c[0], 63, 32));
		return false;
	}
	return true;
}

void smmu_model_issue(struct smmu_model *m, const uint64_t c[2])
{
	char why[sizeof(m->why)];

	if (!smmu_model_accepts(m, c, why, sizeof(why))) {
		if (!m->violations++)
			memcpy(m->why, why, sizeof(why));
	}
	if (m->nr_log < m->max_log) {
		m->log[m->nr_log][0] = c[0];
		m->log[m->nr_log][1] = c[1];
	}
	m->nr_log++;
	if (m->nr_pending == MODEL_MAX_PENDING) {
		/* A real queue would have back-pressured; drain in order. */
		smmu_model_sync(m);
	}
	m->pending[m->nr_pending][0] = c[0];
	m->pending[m->nr_pending][1] = c[1];
	m->nr_pending++;
}

/* Range of a TLBI_NH_VA(A): [*lo, *hi), and the level it is limited to. */
static void tlbi_range(const uint64_t c[2], uint64_t *lo, uint64_t *hi,
		       unsigned int *ttl)
{
	uint64_t va = c[1] & ~0xfffULL;
	unsigned int tg = bits(c[1], 11, 10);

	*ttl = 0;
	if (!tg) {
		/* one address, every level */
		*lo = va;
		*hi = va + 1;
		return;
	}
	{
		uint64_t gran = model_block_size(tg, 3);
		uint64_t num = bits(c[0], 16, 12), scale = bits(c[0], 24, 20);
		uint64_t len = (num + 1) << scale;

		*lo = va & ~(gran - 1);
		*hi = len > (~0ULL - *lo) / gran ? ~0ULL : *lo + len * gran;
		*ttl = bits(c[1], 9, 8);
	}
}

bool model_tlbi_hits(const uint64_t c[2], const struct model_tlb *t)
{
	unsigned int op = c[0] & 0xff, ttl;
	uint64_t lo, hi, size;

	if (!t->valid || bits(c[0], 47, 32) != t->vmid)
		return false;
	switch (op) {
	case 0x10:
		return true;
	case 0x11:
		return !t->global && bits(c[0], 63, 48) == t->asid;
	case 0x12:
		if (!t->global && bits(c[0], 63, 48) != t->asid)
			return false;
		break;
	case 0x13:
		break;
	default:
		return false;
	}
	/* leaf-only leaves the walk caches alone */
	if ((c[1] & 1) && !t->leaf)
		return false;
	tlbi_range(c, &lo, &hi, &ttl);
	/* a TTL hint limits the invalidation to that level (weakest HW) */
	if (ttl && ttl != t->level)
		return false;
	size = model_block_size(t->tg, t->level);
	return t->va < hi && lo < t->va + size;
}

bool model_atc_hits(const uint64_t c[2], const struct model_atc *a)
{
	uint64_t size, base;

	if (!a->valid || (c[0] & 0xff) != 0x40 || bits(c[0], 63, 32) != a->sid)
		return false;
	if (c[0] & (1ULL << 11)) {	/* SSV */
		if (a->ssid != bits(c[0], 31, 12) &&
		    !((c[0] & (1ULL << 9)) && a->global))
			return false;
	} else if (a->ssid != MODEL_NO_SSID) {
		return false;
	}
	/* 2^Size pages, naturally aligned */
	size = bits(c[1], 5, 0) >= 52 ? 0 : 4096ULL << bits(c[1], 5, 0);
	if (!size)
		return true;
	base = (c[1] & ~0xfffULL) & ~(size - 1);
	return a->addr >= base && a->addr - base < size;
}

bool model_cd_hits(const uint64_t c[2], const struct model_cd *d)
{
	if (!d->valid || bits(c[0], 63, 32) != d->sid)
		return false;
	if ((c[0] & 0xff) == 0x06)
		return true;
	return (c[0] & 0xff) == 0x05 && bits(c[0], 31, 12) == d->ssid;
}

static void execute(struct smmu_model *m, const uint64_t c[2])
{
	unsigned int i;

	for (i = 0; i < m->nr_tlb; i++)
		if (model_tlbi_hits(c, &m->tlb[i]))
			m->tlb[i].valid = false;
	for (i = 0; i < m->nr_atc; i++)
		if (model_atc_hits(c, &m->atc[i]))
			m->atc[i].valid = false;
	for (i = 0; i < m->nr_cd; i++)
		if (model_cd_hits(c, &m->cd[i]))
			m->cd[i].valid = false;
	m->executed++;
}

void smmu_model_sync(struct smmu_model *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_pending; i++)
		execute(m, m->pending[i]);
	m->nr_pending = 0;
	m->syncs++;
}
