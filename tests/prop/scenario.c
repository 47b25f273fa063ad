// SPDX-License-Identifier: GPL-2.0
/*
 * Engine + reference model + oracle: see scenario.h.
 *
 * The oracle below is written from DESIGN.md's command policy and the
 * SMMUv3 command layouts, not from the engine's tables: the same facts,
 * stated a second time, so that a slip in either shows as a disagreement.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scenario.h"

enum o_kind { O_FAST, O_SYNC, O_EXIT, O_ILL };

static void fail(struct scenario *sc, const char *fmt, ...)
{
	va_list ap;

	if (sc->failed)
		return;
	sc->failed = true;
	va_start(ap, fmt);
	vsnprintf(sc->why, sizeof(sc->why), fmt, ap);
	va_end(ap);
}

static uint32_t qmask(const struct scenario *sc)
{
	return (2u << sc->cfg.log2size) - 1;
}

static uint32_t qsize(const struct scenario *sc)
{
	return 1u << sc->cfg.log2size;
}

static uint32_t qidx(const struct scenario *sc, uint32_t p)
{
	return p & (qsize(sc) - 1);
}

static bool map_vsid(const struct scenario *sc, uint32_t vsid, uint32_t *psid)
{
	unsigned int i;

	for (i = 0; i < SC_NR_VSIDS; i++) {
		if (sc->vsids[i] == vsid) {
			*psid = sc->psids[i];
			return true;
		}
	}
	return false;
}

/* Bits each command may have set: defined fields, per the architecture. */
static bool defined_bits(unsigned int op, uint64_t *d0, uint64_t *d1)
{
	const uint64_t vmid = 0xffffULL << 32, asid = 0xffffULL << 48;
	const uint64_t numscale = 0x1fULL << 12 | 0x1fULL << 20;
	const uint64_t sid = 0xffffffffULL << 32, ssid = 0xfffffULL << 12;

	*d1 = 0;
	switch (op) {
	case 0x10:
		*d0 = 0xff | vmid;
		return true;
	case 0x11:
		*d0 = 0xff | vmid | asid;
		return true;
	case 0x12:
		*d0 = 0xff | vmid | asid | numscale;
		break;
	case 0x13:
		*d0 = 0xff | vmid | numscale;
		break;
	case 0x30:
		*d0 = 0xff;
		return true;
	case 0x40:
		*d0 = 0xff | 1ULL << 9 | 1ULL << 11 | ssid | sid;
		*d1 = 0x3f | ~0xfffULL;
		return true;
	case 0x05:
		*d0 = 0xff | ssid | sid;
		*d1 = 1;
		return true;
	case 0x06:
		*d0 = 0xff | sid;
		return true;
	case 0x46:
		*d0 = 0xff | 3ULL << 12 | 3ULL << 22 | 0xfULL << 24 |
		      0xffffffffULL << 32;
		*d1 = ((1ULL << 52) - 1) & ~3ULL;
		return true;
	default:
		return false;
	}
	/* TLBI by VA: Leaf 0, TTL 9:8, TG 11:10, VA 63:12 */
	*d1 = 1 | 0xf00 | ~0xfffULL;
	return true;
}

/*
 * The policy of DESIGN.md. On FAST, @out is the host command; on SYNC,
 * *cs is the completion signal.
 */
static enum o_kind oracle_kind(const struct scenario *sc,
			       const struct vcmdq_cmd *c, uint64_t out[2],
			       unsigned int *cs)
{
	unsigned int op = c->w[0] & 0xff;
	bool vcmdq = sc->cfg.layout == VCMDQ_LAYOUT_TEGRA241;
	uint64_t d0 = 0, d1 = 0;
	uint32_t psid;

	switch (op) {
	case 0x01: case 0x02: case 0x03: case 0x04:
	case 0x41: case 0x44: case 0x45:
		return vcmdq ? O_ILL : O_EXIT;
	case 0x10: case 0x13: case 0x30: case 0x05: case 0x06:
		if (vcmdq)
			return O_ILL;
		break;
	case 0x11: case 0x12: case 0x40: case 0x46:
		break;
	default:
		return O_ILL;
	}
	defined_bits(op, &d0, &d1);
	if ((c->w[0] & ~d0) || (c->w[1] & ~d1))
		return O_ILL;

	out[0] = c->w[0];
	out[1] = c->w[1];
	switch (op) {
	case 0x46:
		*cs = (c->w[0] >> 12) & 3;
		return *cs == 3 ? O_ILL : O_SYNC;
	case 0x30:
		out[0] = 0x10 | (uint64_t)sc->cfg.vmid << 32;
		out[1] = 0;
		return O_FAST;
	case 0x40: case 0x05: case 0x06:
		/* no vDEVICE: the VMM decides on the main CMDQ */
		if (!map_vsid(sc, c->w[0] >> 32, &psid))
			return vcmdq ? O_ILL : O_EXIT;
		out[0] = (c->w[0] & 0xffffffffULL) | (uint64_t)psid << 32;
		return O_FAST;
	default:	/* stage-1 TLBI */
		out[0] = (c->w[0] & ~(0xffffULL << 32)) |
			 (uint64_t)sc->cfg.vmid << 32;
		return O_FAST;
	}
}

/* Mark what a completed @out must remove. */
static void oracle_mark(struct scenario *sc, const uint64_t out[2])
{
	struct smmu_model *m = &sc->model;
	unsigned int i;

	for (i = 0; i < m->nr_tlb; i++)
		if (model_tlbi_hits(out, &m->tlb[i]))
			m->tlb[i].must_go = true;
	for (i = 0; i < m->nr_atc; i++)
		if (model_atc_hits(out, &m->atc[i]))
			m->atc[i].must_go = true;
	for (i = 0; i < m->nr_cd; i++)
		if (model_cd_hits(out, &m->cd[i]))
			m->cd[i].must_go = true;
}

/* A guest CMD_SYNC completed: what it covers is gone, nothing else was hurt. */
static void oracle_check_sync(struct scenario *sc, uint32_t at)
{
	struct smmu_model *m = &sc->model;
	unsigned int i;

	sc->syncs_checked++;
	for (i = 0; i < m->nr_tlb; i++) {
		const struct model_tlb *t = &m->tlb[i];

		if (t->valid && t->must_go)
			fail(sc, "CMD_SYNC at 0x%x completed but TLB entry vmid %u asid %u va 0x%llx tg %u level %u leaf %d survived",
			     at, t->vmid, t->asid, (unsigned long long)t->va,
			     t->tg, t->level, t->leaf);
		if (!t->valid && t->vmid != sc->cfg.vmid)
			fail(sc, "TLB entry of foreign VMID %u was invalidated",
			     t->vmid);
	}
	for (i = 0; i < m->nr_atc; i++) {
		const struct model_atc *a = &m->atc[i];

		if (a->valid && a->must_go)
			fail(sc, "CMD_SYNC at 0x%x completed but ATC entry sid 0x%x addr 0x%llx survived",
			     at, a->sid, (unsigned long long)a->addr);
		if (!a->valid && !smmu_model_owns_sid(m, a->sid))
			fail(sc, "ATC entry of foreign SID 0x%x was invalidated",
			     a->sid);
	}
	for (i = 0; i < m->nr_cd; i++) {
		const struct model_cd *d = &m->cd[i];

		if (d->valid && d->must_go)
			fail(sc, "CMD_SYNC at 0x%x completed but CD sid 0x%x ssid %u survived",
			     at, d->sid, d->ssid);
		if (!d->valid && !smmu_model_owns_sid(m, d->sid))
			fail(sc, "CD of foreign SID 0x%x was invalidated",
			     d->sid);
	}
	if (m->violations)
		fail(sc, "forbidden command reached the SMMU: %s", m->why);
}

static void oracle_advance(struct scenario *sc, uint32_t to)
{
	uint64_t out[2];
	unsigned int cs;

	while (sc->opos != to && !sc->failed) {
		const struct vcmdq_cmd *c = &sc->q[qidx(sc, sc->opos)];

		switch (oracle_kind(sc, c, out, &cs)) {
		case O_FAST:
			if (sc->nr_expect < SC_MAX_LOG) {
				sc->expect[sc->nr_expect][0] = out[0];
				sc->expect[sc->nr_expect][1] = out[1];
			}
			sc->nr_expect++;
			oracle_mark(sc, out);
			break;
		case O_SYNC:
			oracle_check_sync(sc, sc->opos);
			if (cs && sc->nr_done_want < SC_MAX_DONE) {
				uint64_t *w = sc->done_want[sc->nr_done_want++];

				w[0] = cs == 2 ? VCMDQ_DONE_SEV :
				       (sc->cfg.caps & VCMDQ_CAP_MSI) ?
				       VCMDQ_DONE_MSI : VCMDQ_DONE_IRQ;
				w[1] = w[0] == VCMDQ_DONE_MSI ?
				       c->w[1] & (((1ULL << 52) - 1) & ~3ULL) : 0;
				w[2] = w[0] == VCMDQ_DONE_MSI ? c->w[0] >> 32 : 0;
			}
			break;
		case O_EXIT:
			if (!sc->exit_acked)
				fail(sc, "CONS passed exit command 0x%02x at 0x%x before the VMM answered",
				     (unsigned int)(c->w[0] & 0xff), sc->opos);
			sc->exit_acked = false;
			break;
		case O_ILL:
			fail(sc, "CONS passed illegal command %016llx %016llx at 0x%x",
			     (unsigned long long)c->w[0],
			     (unsigned long long)c->w[1], sc->opos);
			break;
		}
		sc->opos = (sc->opos + 1) & qmask(sc);
	}
}

/* ---- the backend the engine drives ---- */

static int sc_read(void *priv, uint32_t idx, struct vcmdq_cmd *dst, uint32_t n)
{
	struct scenario *sc = priv;

	if (idx + n > qsize(sc))
		fail(sc, "read of %u entries at %u runs off the queue", n, idx);
	if (sc->abort_pct && sc_below(&sc->rng, 100) < sc->abort_pct) {
		sc->injected_abort = true;
		return -EFAULT;
	}
	memcpy(dst, &sc->q[idx], n * sizeof(*dst));
	return 0;
}

static int sc_issue(void *priv, const struct vcmdq_cmd *cmds, uint32_t n,
		    bool sync)
{
	struct scenario *sc = priv;
	uint32_t i;

	if (n > sc->cfg.batch)
		fail(sc, "host batch of %u over the limit %u", n,
		     sc->cfg.batch);
	for (i = 0; i < n; i++) {
		uint64_t w[2] = { cmds[i].w[0], cmds[i].w[1] };

		smmu_model_issue(&sc->model, w);
	}
	if (!sync)
		return 0;
	if (sc->timeout_pct && sc_below(&sc->rng, 100) < sc->timeout_pct) {
		sc->injected_timeout = true;
		return -ETIMEDOUT;
	}
	smmu_model_sync(&sc->model);
	return 0;
}

static void sc_publish(void *priv, uint32_t reg)
{
	struct scenario *sc = priv;
	uint32_t cons = reg & qmask(sc);
	unsigned int err = (reg >> 24) & 0x7f, cs;
	uint64_t out[2];

	if (reg & ~(qmask(sc) | 0x7fu << 24))
		fail(sc, "CONS 0x%x has bits outside pointer and ERR", reg);
	if (((sc->prod - sc->opos) & qmask(sc)) < ((cons - sc->opos) & qmask(sc)))
		fail(sc, "CONS 0x%x moved past PROD 0x%x", cons, sc->prod);
	sc->cons_reg = reg;
	oracle_advance(sc, cons);
	switch (err) {
	case VCMDQ_CERROR_NONE:
		break;
	case VCMDQ_CERROR_ILL:
		if (oracle_kind(sc, &sc->q[qidx(sc, cons)], out, &cs) != O_ILL)
			fail(sc, "CERROR_ILL at 0x%x on a legal command %016llx %016llx",
			     cons, (unsigned long long)sc->q[qidx(sc, cons)].w[0],
			     (unsigned long long)sc->q[qidx(sc, cons)].w[1]);
		break;
	case VCMDQ_CERROR_ABT:
		if (!sc->injected_abort)
			fail(sc, "CERROR_ABT at 0x%x with no read failure", cons);
		break;
	case VCMDQ_CERROR_ATC_INV_SYNC:
		if (!sc->injected_timeout ||
		    oracle_kind(sc, &sc->q[qidx(sc, cons)], out, &cs) != O_SYNC)
			fail(sc, "CERROR_ATC_INV_SYNC at 0x%x without a timed-out CMD_SYNC there",
			     cons);
		break;
	default:
		fail(sc, "CONS.ERR %u is not an SMMUv3 CERROR", err);
	}
}

static int sc_complete(void *priv, const struct vcmdq_sync_done *d)
{
	struct scenario *sc = priv;

	if (sc->nr_done_got < SC_MAX_DONE) {
		uint64_t *g = sc->done_got[sc->nr_done_got++];

		g[0] = d->kind;
		g[1] = d->addr;
		g[2] = d->data;
	}
	if (d->kind == VCMDQ_DONE_MSI) {
		/* the MSI is visible before CONS moves past its CMD_SYNC */
		if (((d->index - sc->opos) & qmask(sc)) >=
		    ((sc->prod - sc->opos) & qmask(sc)))
			fail(sc, "MSI of CMD_SYNC 0x%x after CONS 0x%x passed it",
			     d->index, sc->opos);
		return 0;
	}
	/* publish() ran just before: the oracle's last entry is this sync */
	if (d->index != ((sc->opos - 1) & qmask(sc)))
		fail(sc, "completion for CMD_SYNC 0x%x, CONS is 0x%x",
		     d->index, sc->opos);
	return 0;
}

static const struct vcmdq_ops sc_ops = {
	.read = sc_read,
	.issue = sc_issue,
	.publish = sc_publish,
	.complete = sc_complete,
};

/* ---- setting up, posting, running ---- */

int sc_init(struct scenario *sc, const struct vcmdq_config *cfg, uint64_t seed)
{
	unsigned int i;
	int ret;

	memset(sc, 0, sizeof(*sc));
	sc->cfg = *cfg;
	sc->rng.s = seed * 0x9e3779b97f4a7c15ULL + 1;
	if (cfg->log2size > SC_MAX_LOG2SIZE)
		return -EINVAL;
	vcmdq_sidmap_init(&sc->map, sc->slots, 5);
	for (i = 0; i < SC_NR_VSIDS; i++) {
		/* sparse 32-bit vSIDs; one device owns the last three */
		do {
			sc->vsids[i] = i < 3 ? (uint32_t)sc_rand(&sc->rng) :
				       sc->vsids[2] + (i - 2);
			sc->psids[i] = 0x100 + i * 8;
			ret = vcmdq_sidmap_insert(&sc->map, sc->vsids[i],
						  sc->psids[i]);
		} while (ret == -EEXIST);
		if (ret)
			return ret;
	}
	smmu_model_init(&sc->model, cfg->vmid, sc->psids, SC_NR_VSIDS,
			sc->log, SC_MAX_LOG);
	return vcmdq_engine_init(&sc->eng, cfg, &sc_ops, sc, &sc->map);
}

static const uint64_t regions[] = {
	0x0, 0x200000, 0x40000000, 0x7ff000000ULL, 0xffff0000000ULL,
};
static const uint16_t asids[] = { 1, 2, 3, 0x5a5 };

static uint64_t rand_va(struct scenario *sc)
{
	uint64_t base = regions[sc_below(&sc->rng, 5)];

	return base + ((uint64_t)sc_below(&sc->rng, 1024) << 12);
}

static void compact(struct smmu_model *m)
{
	unsigned int i, j;

	for (i = j = 0; i < m->nr_tlb; i++)
		if (m->tlb[i].valid)
			m->tlb[j++] = m->tlb[i];
	m->nr_tlb = j;
	for (i = j = 0; i < m->nr_atc; i++)
		if (m->atc[i].valid)
			m->atc[j++] = m->atc[i];
	m->nr_atc = j;
	for (i = j = 0; i < m->nr_cd; i++)
		if (m->cd[i].valid)
			m->cd[j++] = m->cd[i];
	m->nr_cd = j;
}

/* Fill the caches with fresh entries of this VM, other VMs, other devices. */
void sc_populate(struct scenario *sc, unsigned int n)
{
	struct smmu_model *m = &sc->model;
	static const uint32_t foreign_sids[] = { 0x8, 0x101, 0xffffffff };
	unsigned int i;

	compact(m);
	for (i = 0; i < n; i++) {
		unsigned int kind = sc_below(&sc->rng, 4);
		bool foreign = sc_below(&sc->rng, 4) == 0;

		if (kind < 2 && m->nr_tlb < MODEL_MAX_TLB) {
			struct model_tlb *t = &m->tlb[m->nr_tlb++];
			uint64_t size;

			t->vmid = foreign ? (uint16_t)(sc->cfg.vmid + 1 +
					    sc_below(&sc->rng, 3)) : sc->cfg.vmid;
			t->asid = asids[sc_below(&sc->rng, 4)];
			t->global = sc_below(&sc->rng, 8) == 0;
			t->tg = 1 + sc_below(&sc->rng, 3);
			t->level = 1 + sc_below(&sc->rng, 3);
			t->leaf = t->level == 3 || sc_below(&sc->rng, 2);
			size = model_block_size(t->tg, t->level);
			t->va = size ? rand_va(sc) & ~(size - 1) : 0;
			t->valid = true;
			t->must_go = false;
		} else if (kind == 2 && m->nr_atc < MODEL_MAX_ATC) {
			struct model_atc *a = &m->atc[m->nr_atc++];

			a->sid = foreign ? foreign_sids[sc_below(&sc->rng, 3)] :
				 sc->psids[sc_below(&sc->rng, SC_NR_VSIDS)];
			a->ssid = sc_below(&sc->rng, 3) ? MODEL_NO_SSID :
				  sc_below(&sc->rng, 4);
			a->global = sc_below(&sc->rng, 4) == 0;
			a->addr = rand_va(sc);
			a->valid = true;
			a->must_go = false;
		} else if (kind == 3 && m->nr_cd < MODEL_MAX_CD) {
			struct model_cd *d = &m->cd[m->nr_cd++];

			d->sid = foreign ? foreign_sids[sc_below(&sc->rng, 3)] :
				 sc->psids[sc_below(&sc->rng, SC_NR_VSIDS)];
			d->ssid = sc_below(&sc->rng, 4);
			d->valid = true;
			d->must_go = false;
		}
	}
}

static uint32_t rand_vsid(struct scenario *sc)
{
	/* mostly mapped, sometimes a stranger */
	if (sc_below(&sc->rng, 8) == 0)
		return (uint32_t)sc_rand(&sc->rng);
	return sc->vsids[sc_below(&sc->rng, SC_NR_VSIDS)];
}

/* A command a guest driver (or a hostile guest) might write. */
void sc_random_cmd(struct scenario *sc, struct vcmdq_cmd *c)
{
	struct sc_rng *r = &sc->rng;
	uint64_t guest_vmid = sc_below(r, 4) ? 0 : sc_rand(r) & 0xffff;
	uint64_t asid = asids[sc_below(r, 4)];
	unsigned int pick = sc_below(r, 100);
	unsigned int tg = sc_below(r, 4);

	c->w[0] = 0;
	c->w[1] = 0;
	if (pick < 30) {		/* TLBI_NH_VA, the vSVA munmap staple */
		c->w[0] = 0x12 | guest_vmid << 32 | asid << 48;
		if (tg)
			c->w[0] |= (uint64_t)sc_below(r, 32) << 12 |
				   (uint64_t)sc_below(r, 6) << 20;
		c->w[1] = (rand_va(sc) & ~0xfffULL) | (uint64_t)tg << 10 |
			  (uint64_t)(tg ? sc_below(r, 4) : 0) << 8 |
			  sc_below(r, 2);
	} else if (pick < 36) {
		c->w[0] = 0x13 | guest_vmid << 32;
		c->w[1] = (rand_va(sc) & ~0xfffULL) | sc_below(r, 2);
	} else if (pick < 44) {
		c->w[0] = 0x11 | guest_vmid << 32 | asid << 48;
	} else if (pick < 47) {
		c->w[0] = 0x10 | guest_vmid << 32;
	} else if (pick < 49) {
		c->w[0] = 0x30;
	} else if (pick < 57) {		/* ATC_INV */
		c->w[0] = 0x40 | (uint64_t)rand_vsid(sc) << 32;
		if (sc_below(r, 3) == 0)
			c->w[0] |= 1ULL << 11 | (uint64_t)sc_below(r, 4) << 12 |
				   (uint64_t)sc_below(r, 2) << 9;
		c->w[1] = (rand_va(sc) & ~0xfffULL) | sc_below(r, 12);
	} else if (pick < 62) {		/* CFGI_CD(_ALL) */
		c->w[0] = (sc_below(r, 3) ? 0x05 | (uint64_t)sc_below(r, 4) << 12 :
			   0x06) | (uint64_t)rand_vsid(sc) << 32;
		c->w[1] = c->w[0] & 1 ? sc_below(r, 2) : 0;
	} else if (pick < 84) {		/* CMD_SYNC, as Linux writes it */
		unsigned int cs = sc_below(r, 10) < 6 ? 0 : sc_below(r, 3);

		c->w[0] = 0x46 | (uint64_t)cs << 12 | 3ULL << 22 | 0xfULL << 24;
		if (cs == 1) {
			c->w[0] |= (uint64_t)(uint32_t)sc_rand(r) << 32;
			c->w[1] = sc_rand(r) & (((1ULL << 52) - 1) & ~3ULL);
		}
	} else if (pick < 90) {		/* for the VMM */
		static const uint8_t exits[] = { 0x01, 0x02, 0x03, 0x04,
						 0x41, 0x44, 0x45 };

		c->w[0] = exits[sc_below(r, 7)] | (uint64_t)rand_vsid(sc) << 32;
		c->w[1] = sc_rand(r) & 0x1f;
	} else if (pick < 95) {		/* stage-2, EL2, EL3 or unknown */
		static const uint8_t bad[] = { 0x07, 0x18, 0x1a, 0x20, 0x21,
					       0x22, 0x23, 0x28, 0x2a, 0x00,
					       0x47, 0xff };

		c->w[0] = (sc_below(r, 2) ? bad[sc_below(r, 12)] :
			   (uint8_t)sc_rand(r)) | (sc_rand(r) & ~0xffULL);
		c->w[1] = sc_rand(r);
	} else {			/* a legal command with a reserved bit */
		c->w[0] = 0x11 | asid << 48;
		c->w[sc_below(r, 2)] |= 1ULL << (8 + sc_below(r, 4));
		if (sc_below(r, 2))
			c->w[0] = 0x46 | 3ULL << 12;	/* CS=3 */
	}
}

uint32_t sc_space(const struct scenario *sc)
{
	return qsize(sc) - ((sc->prod - sc->opos) & qmask(sc));
}

void sc_post(struct scenario *sc, const struct vcmdq_cmd *cmds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		sc->q[qidx(sc, sc->prod)] = cmds[i];
		sc->prod = (sc->prod + 1) & qmask(sc);
	}
}

/* Run the engine until the queue is idle, answering stops as guest and VMM. */
void sc_run(struct scenario *sc, uint32_t budget, unsigned int max_calls)
{
	struct vcmdq_engine *e = &sc->eng;
	unsigned int calls, cs;
	uint64_t out[2];

	for (calls = 0; calls < max_calls && !sc->failed; calls++) {
		enum vcmdq_status st = vcmdq_process(e, sc->prod, budget);
		const struct vcmdq_stop_info *s = &e->stop;
		uint32_t at = s->index;

		switch (st) {
		case VCMDQ_IDLE:
			if ((sc->cons_reg & qmask(sc)) != sc->prod ||
			    sc->opos != sc->prod)
				fail(sc, "IDLE with CONS 0x%x, PROD 0x%x",
				     sc->cons_reg, sc->prod);
			return;
		case VCMDQ_MORE:
			continue;
		case VCMDQ_EXIT:
			if (at != e->cons || at != (sc->cons_reg & qmask(sc)) ||
			    oracle_kind(sc, &sc->q[qidx(sc, at)], out, &cs) != O_EXIT)
				fail(sc, "EXIT at 0x%x (CONS 0x%x) is not an exit command",
				     at, sc->cons_reg);
			sc->exit_acked = true;
			if (vcmdq_exit_done(e, VCMDQ_CERROR_NONE))
				fail(sc, "exit_done refused");
			continue;
		case VCMDQ_CERROR:
			if (at != (sc->cons_reg & qmask(sc)) ||
			    s->cerror != ((sc->cons_reg >> 24) & 0x7f))
				fail(sc, "CERROR stop at 0x%x does not match CONS 0x%x",
				     at, sc->cons_reg);
			if (s->cerror == VCMDQ_CERROR_ILL) {
				/* what Linux does: overwrite with a CMD_SYNC */
				sc->q[qidx(sc, at)].w[0] = 0x46;
				sc->q[qidx(sc, at)].w[1] = 0;
			}
			sc->injected_abort = false;
			sc->injected_timeout = false;
			if (vcmdq_error_ack(e))
				fail(sc, "error_ack refused");
			continue;
		case VCMDQ_BAD_PROD:
			if (((sc->prod & ~qmask(sc)) == 0) &&
			    ((sc->prod - e->cons) & qmask(sc)) <= qsize(sc))
				fail(sc, "BAD_PROD for a valid PROD 0x%x (CONS 0x%x)",
				     sc->prod, e->cons);
			return;
		case VCMDQ_FAULT:
			fail(sc, "backend fault %d at 0x%x", s->err, at);
			return;
		case VCMDQ_DEFER:
			/* this backend completes every MSI where it stands */
			fail(sc, "CMD_SYNC at 0x%x deferred", at);
			return;
		}
	}
	if (!sc->failed && calls == max_calls)
		fail(sc, "queue not idle after %u calls", max_calls);
}

/* Final comparisons: exactly the predicted host commands and completions. */
void sc_finish(struct scenario *sc)
{
	unsigned int i, n = sc->model.nr_log;

	if (sc->failed)
		return;
	if (sc->model.violations)
		fail(sc, "forbidden command reached the SMMU: %s",
		     sc->model.why);
	if (n != sc->nr_expect)
		fail(sc, "SMMU received %u commands, oracle expects %u", n,
		     sc->nr_expect);
	for (i = 0; i < n && i < SC_MAX_LOG && !sc->failed; i++)
		if (memcmp(sc->log[i], sc->expect[i], sizeof(sc->log[i])))
			fail(sc, "host command %u is %016llx %016llx, expected %016llx %016llx",
			     i, (unsigned long long)sc->log[i][0],
			     (unsigned long long)sc->log[i][1],
			     (unsigned long long)sc->expect[i][0],
			     (unsigned long long)sc->expect[i][1]);
	if (sc->nr_done_got != sc->nr_done_want)
		fail(sc, "%u CMD_SYNC completions signalled, %u expected",
		     sc->nr_done_got, sc->nr_done_want);
	for (i = 0; i < sc->nr_done_got && !sc->failed; i++)
		if (memcmp(sc->done_got[i], sc->done_want[i],
			   sizeof(sc->done_got[i])))
			fail(sc, "completion %u: kind %llu addr 0x%llx data 0x%llx, expected %llu 0x%llx 0x%llx",
			     i, (unsigned long long)sc->done_got[i][0],
			     (unsigned long long)sc->done_got[i][1],
			     (unsigned long long)sc->done_got[i][2],
			     (unsigned long long)sc->done_want[i][0],
			     (unsigned long long)sc->done_want[i][1],
			     (unsigned long long)sc->done_want[i][2]);
}
