// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's test vectors and their runner: see vectors.h.
 * No libc here: this file is compiled into the kernel module's KUnit suite.
 */
#include "vectors.h"

#define C(w0, w1)	{ { (w0), (w1) } }
#define VMIDF(v)	((u64)(v) << 32)
#define ASIDF(a)	((u64)(a) << 48)
#define SIDF(s)		((u64)(s) << 32)

#define NH_ALL(vmid)		C(0x10 | VMIDF(vmid), 0)
#define NH_ASID(vmid, asid)	C(0x11 | VMIDF(vmid) | ASIDF(asid), 0)
#define NH_VA(vmid, asid, va)	C(0x12 | VMIDF(vmid) | ASIDF(asid), (va) | 1)
#define NH_VAA(vmid, va)	C(0x13 | VMIDF(vmid), (va))
#define NSNH_ALL		C(0x30, 0)
#define ATC_INV(sid, a, size)	C(0x40 | SIDF(sid), (a) | (size))
#define CFGI_CD(sid, ssid)	C(0x05 | SIDF(sid) | ((u64)(ssid) << 12), 1)
#define CFGI_CD_ALL(sid)	C(0x06 | SIDF(sid), 0)
#define CFGI_STE(sid)		C(0x03 | SIDF(sid), 1)
#define SYNC_NONE		C(0x46 | 3ULL << 22 | 0xfULL << 24, 0)
#define SYNC_IRQ(data, addr)	C(0x46 | 1ULL << 12 | (u64)(data) << 32, (addr))
#define SYNC_SEV		C(0x46 | 2ULL << 12, 0)
#define OP(op)			C((op), 0)

#define ERR(e)			((u32)(e) << 24)
#define S			VEC_SYNC

/* vSID -> pSID of the vectors' vIOMMU: a device with two SIDs, a sparse one */
static const u32 vec_vsid[] = { 0x42, 0x43, 0xdeadbeef };
static const u32 vec_psid[] = { 0x8, 0x9, 0x10 };

const struct vcmdq_vector vcmdq_vectors[] = {
	{
		.name = "TLBI_NH_VA: guest VMID replaced, all else intact",
		.log2size = 4, .prod = 2, .nr_in = 2,
		.in = { C(0x12 | 0x1fULL << 12 | 0x3ULL << 20 | VMIDF(0x77) |
			  ASIDF(0x5a5), 0xffff00001000ULL | 2 << 10 | 3 << 8 | 1),
			SYNC_NONE },
		.nr_out = 1,
		.out = { C(0x12 | 0x1fULL << 12 | 0x3ULL << 20 | VMIDF(1) |
			   ASIDF(0x5a5), 0xffff00001000ULL | 2 << 10 | 3 << 8 | 1) },
		.nr_issues = 1, .issues = { 1 | S },
		.status = VCMDQ_IDLE, .cons_reg = 2,
	},
	{
		.name = "TLBI_NH_VAA, NH_ASID, NH_ALL: VMID forced",
		.log2size = 4, .prod = 4, .nr_in = 4,
		.in = { NH_VAA(0xffff, 0x7000), NH_ASID(0x42, 9),
			NH_ALL(0x1234), SYNC_NONE },
		.nr_out = 3,
		.out = { NH_VAA(1, 0x7000), NH_ASID(1, 9), NH_ALL(1) },
		.nr_issues = 1, .issues = { 3 | S },
		.status = VCMDQ_IDLE, .cons_reg = 4,
	},
	{
		.name = "TLBI_NSNH_ALL becomes TLBI_NH_ALL of this VMID",
		.log2size = 2, .prod = 2, .nr_in = 2,
		.in = { NSNH_ALL, SYNC_NONE },
		.nr_out = 1, .out = { NH_ALL(1) },
		.nr_issues = 1, .issues = { 1 | S },
		.status = VCMDQ_IDLE, .cons_reg = 2,
	},
	{
		.name = "ATC_INV, CFGI_CD, CFGI_CD_ALL: vSID -> pSID",
		.log2size = 4, .prod = 5, .nr_in = 5,
		.in = { ATC_INV(0x42, 0x5000, 3), CFGI_CD(0x43, 7),
			CFGI_CD_ALL(0xdeadbeef),
			C(0x40 | 1ULL << 11 | 1ULL << 9 | 5ULL << 12 | SIDF(0x43),
			  0x9000),
			SYNC_NONE },
		.nr_out = 4,
		.out = { ATC_INV(0x8, 0x5000, 3), CFGI_CD(0x9, 7),
			 CFGI_CD_ALL(0x10),
			 C(0x40 | 1ULL << 11 | 1ULL << 9 | 5ULL << 12 | SIDF(0x9),
			   0x9000) },
		.nr_issues = 1, .issues = { 4 | S },
		.status = VCMDQ_IDLE, .cons_reg = 5,
	},
	{
		.name = "unknown_sid_exits_main_cmdq: ATC_INV, CFGI_CD, "
			"CFGI_CD_ALL of a vSID without a vDEVICE exit, in order",
		.log2size = 3, .prod = 6, .nr_in = 6,
		.in = { NH_ASID(0, 1), ATC_INV(0x44, 0, 0), CFGI_CD(0x44, 0),
			CFGI_CD_ALL(0x44), NH_ASID(0, 2), SYNC_NONE },
		.nr_out = 1, .out = { NH_ASID(1, 1) },
		.nr_issues = 1, .issues = { 1 },
		.status = VCMDQ_EXIT, .cons_reg = 1,
	},
	{
		.name = "unknown_sid_exits_main_cmdq: CFGI_CD first in the queue",
		.log2size = 2, .cons = 3, .prod = 4, .nr_in = 1,
		.in = { CFGI_CD(0, 5) },
		.status = VCMDQ_EXIT, .cons_reg = 3,
	},
	{
		.name = "unknown_sid_ill_tegra241: ATC_INV of a vSID without a "
			"vDEVICE is CERROR_ILL, earlier work issued",
		.layout = VCMDQ_LAYOUT_TEGRA241, .log2size = 3, .prod = 3,
		.nr_in = 3, .in = { NH_ASID(0, 1), ATC_INV(0x44, 0, 0), SYNC_NONE },
		.nr_out = 1, .out = { NH_ASID(1, 1) },
		.nr_issues = 1, .issues = { 1 },
		.status = VCMDQ_CERROR, .cons_reg = 1 | ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "CMD_SYNC CS=IRQ with MSI: MSIDATA written to MSIADDR",
		.log2size = 2, .caps = VCMDQ_CAP_MSI, .prod = 2, .nr_in = 2,
		.in = { NH_ASID(0, 2), SYNC_IRQ(0xcafe, 0x8000f00cULL) },
		.nr_out = 1, .out = { NH_ASID(1, 2) },
		.nr_issues = 1, .issues = { 1 | S },
		.status = VCMDQ_IDLE, .cons_reg = 2,
		.nr_done = 1,
		.done = { { VCMDQ_DONE_MSI, 1, 0x8000f00cULL, 0xcafe } },
	},
	{
		.name = "CMD_SYNC CS=IRQ without MSI: wired IRQ; CS=SEV: event",
		.log2size = 2, .caps = VCMDQ_CAP_SEV, .prod = 2, .nr_in = 2,
		.in = { SYNC_IRQ(1, 0x1000), SYNC_SEV },
		.nr_issues = 0,
		.status = VCMDQ_IDLE, .cons_reg = 2,
		.nr_done = 2,
		.done = { { VCMDQ_DONE_IRQ, 0, 0, 0 },
			  { VCMDQ_DONE_SEV, 1, 0, 0 } },
	},
	{
		.name = "CMD_SYNC CS=3 (reserved) is CERROR_ILL",
		.log2size = 2, .prod = 1, .nr_in = 1,
		.in = { C(0x46 | 3ULL << 12, 0) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "back-to-back CMD_SYNCs need one host sync",
		.log2size = 3, .prod = 4, .nr_in = 4,
		.in = { NH_ASID(0, 3), SYNC_NONE, SYNC_NONE, SYNC_NONE },
		.nr_out = 1, .out = { NH_ASID(1, 3) },
		.nr_issues = 1, .issues = { 1 | S },
		.status = VCMDQ_IDLE, .cons_reg = 4,
	},
	{
		.name = "CFGI_STE on the SMMUv3 layout exits, in order",
		.log2size = 3, .prod = 4, .nr_in = 4,
		.in = { NH_ASID(0, 4), CFGI_STE(0x42), NH_ASID(0, 5), SYNC_NONE },
		.nr_out = 1, .out = { NH_ASID(1, 4) },
		.nr_issues = 1, .issues = { 1 },
		.status = VCMDQ_EXIT, .cons_reg = 1,
	},
	{
		.name = "PREFETCH, CFGI_ALL, PRI_RESP, RESUME, STALL_TERM exit",
		.log2size = 2, .prod = 1, .nr_in = 1,
		.in = { C(0x04, 31) },
		.status = VCMDQ_EXIT, .cons_reg = 0,
	},
	{
		.name = "VCMDQ layout: CFGI_STE is CERROR_ILL, not an exit",
		.layout = VCMDQ_LAYOUT_TEGRA241, .log2size = 2, .prod = 2,
		.nr_in = 2, .in = { NH_VA(0, 1, 0x2000), CFGI_STE(0x42) },
		.nr_out = 1, .out = { NH_VA(1, 1, 0x2000) },
		.nr_issues = 1, .issues = { 1 },
		.status = VCMDQ_CERROR, .cons_reg = 1 | ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "VCMDQ layout: TLBI_NH_ALL is CERROR_ILL",
		.layout = VCMDQ_LAYOUT_TEGRA241, .log2size = 2, .prod = 1,
		.nr_in = 1, .in = { NH_ALL(0) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "VCMDQ layout: NH_ASID, NH_VA, ATC_INV, CMD_SYNC run",
		.layout = VCMDQ_LAYOUT_TEGRA241, .log2size = 2, .prod = 4,
		.nr_in = 4, .in = { NH_ASID(3, 3), NH_VA(3, 3, 0x4000),
				    ATC_INV(0xdeadbeef, 0x1000, 0), SYNC_NONE },
		.nr_out = 3, .out = { NH_ASID(1, 3), NH_VA(1, 3, 0x4000),
				      ATC_INV(0x10, 0x1000, 0) },
		.nr_issues = 1, .issues = { 3 | S },
		.status = VCMDQ_IDLE, .cons_reg = 4,
	},
	{
		.name = "TLBI_S2_IPA is never issued",
		.log2size = 2, .prod = 1, .nr_in = 1, .in = { OP(0x2a) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "TLBI_S12_VMALL is never issued",
		.log2size = 2, .prod = 1, .nr_in = 1, .in = { OP(0x28) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "TLBI_EL2_ALL is never issued",
		.log2size = 2, .prod = 1, .nr_in = 1, .in = { OP(0x20) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "TLBI_EL3_ALL is never issued",
		.log2size = 2, .prod = 1, .nr_in = 1, .in = { OP(0x18) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "unknown opcode 0xff is CERROR_ILL",
		.log2size = 2, .prod = 1, .nr_in = 1, .in = { OP(0xff) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "reserved bit in TLBI_NH_ASID is CERROR_ILL",
		.log2size = 2, .prod = 2, .nr_in = 2,
		.in = { NH_ASID(0, 1), C(0x11 | 1ULL << 8, 0) },
		.nr_out = 1, .out = { NH_ASID(1, 1) },
		.nr_issues = 1, .issues = { 1 },
		.status = VCMDQ_CERROR, .cons_reg = 1 | ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "SSec=1 in CFGI_CD is CERROR_ILL",
		.log2size = 2, .prod = 1, .nr_in = 1,
		.in = { C(0x05 | 1ULL << 10 | SIDF(0x42), 0) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "an all-zero entry (opcode 0) is CERROR_ILL",
		.log2size = 2, .prod = 2, .nr_in = 2,
		.in = { NH_ALL(0), C(0, 0) },
		.nr_out = 1, .out = { NH_ALL(1) },
		.nr_issues = 1, .issues = { 1 },
		.status = VCMDQ_CERROR, .cons_reg = 1 | ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "reserved bit 1 of TLBI_NH_VA word 1 is CERROR_ILL",
		.log2size = 2, .prod = 1, .nr_in = 1,
		.in = { C(0x12 | ASIDF(1), 0x1000 | 1ULL << 1) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "an ASID in TLBI_NH_VAA is CERROR_ILL",
		.log2size = 2, .prod = 1, .nr_in = 1,
		.in = { C(0x13 | ASIDF(1), 0x1000) },
		.status = VCMDQ_CERROR, .cons_reg = ERR(VCMDQ_CERROR_ILL),
	},
	{
		.name = "after a CMD_SYNC the next batch restarts: rewrites intact",
		.log2size = 3, .prod = 6, .nr_in = 6,
		.in = { NH_ALL(5), SYNC_NONE, ATC_INV(0x43, 0x5000, 3),
			NH_VA(7, 2, 0x3000), NSNH_ALL, SYNC_NONE },
		.nr_out = 4,
		.out = { NH_ALL(1), ATC_INV(0x9, 0x5000, 3),
			 NH_VA(1, 2, 0x3000), NH_ALL(1) },
		.nr_issues = 2, .issues = { 1 | S, 3 | S },
		.status = VCMDQ_IDLE, .cons_reg = 6,
	},
	{
		.name = "PROD with a bit above the wrap bit: BAD_PROD, nothing consumed",
		.log2size = 2, .prod = 0x9, .nr_in = 1, .in = { NH_ASID(0, 1) },
		.status = VCMDQ_BAD_PROD, .cons_reg = 0,
	},
	{
		.name = "PROD overrunning CONS (wrong wrap): BAD_PROD",
		.log2size = 2, .cons = 1, .prod = 6, .nr_in = 1,
		.in = { NH_ASID(0, 1) },
		.status = VCMDQ_BAD_PROD, .cons_reg = 1,
	},
	{
		.name = "full queue (same index, other wrap) is consumed whole",
		.log2size = 1, .cons = 1, .prod = 3, .nr_in = 2,
		.in = { NH_ASID(0, 1), SYNC_NONE },
		.nr_out = 1, .out = { NH_ASID(1, 1) },
		.nr_issues = 1, .issues = { 1 | S },
		.status = VCMDQ_IDLE, .cons_reg = 3,
	},
	{
		.name = "wrap-around: entries read in two pieces, wrap bit flips",
		.log2size = 2, .cons = 3, .prod = 6, .nr_in = 3,
		.in = { NH_ASID(0, 1), NH_ASID(0, 2), SYNC_NONE },
		.nr_out = 2, .out = { NH_ASID(1, 1), NH_ASID(1, 2) },
		.nr_issues = 1, .issues = { 2 | S },
		.status = VCMDQ_IDLE, .cons_reg = 6,
	},
	{
		.name = "one-entry queue (log2size 0)",
		.log2size = 0, .prod = 1, .nr_in = 1, .in = { NH_ASID(0, 1) },
		.nr_out = 1, .out = { NH_ASID(1, 1) },
		.nr_issues = 1, .issues = { 1 },
		.status = VCMDQ_IDLE, .cons_reg = 1,
	},
	{
		.name = "batch limit 2: five TLBIs go out as 2+2+1",
		.log2size = 3, .batch = 2, .prod = 6, .nr_in = 6,
		.in = { NH_ASID(0, 1), NH_ASID(0, 2), NH_ASID(0, 3),
			NH_ASID(0, 4), NH_ASID(0, 5), SYNC_NONE },
		.nr_out = 5,
		.out = { NH_ASID(1, 1), NH_ASID(1, 2), NH_ASID(1, 3),
			 NH_ASID(1, 4), NH_ASID(1, 5) },
		.nr_issues = 3, .issues = { 2, 2, 1 | S },
		.status = VCMDQ_IDLE, .cons_reg = 6,
	},
	{
		.name = "budget 2 of 4: MORE, CONS moved by 2",
		.log2size = 3, .prod = 4, .budget = 2, .nr_in = 4,
		.in = { NH_ASID(0, 1), NH_ASID(0, 2), NH_ASID(0, 3), SYNC_NONE },
		.nr_out = 2, .out = { NH_ASID(1, 1), NH_ASID(1, 2) },
		.nr_issues = 1, .issues = { 2 },
		.status = VCMDQ_MORE, .cons_reg = 2,
	},
	{
		.name = "empty queue: IDLE, nothing issued",
		.log2size = 3, .cons = 5, .prod = 5,
		.status = VCMDQ_IDLE, .cons_reg = 5,
	},
};

const unsigned int vcmdq_nr_vectors = ARRAY_SIZE(vcmdq_vectors);

/* ---- the recording backend ---- */

struct vec_rec {
	const struct vcmdq_vector *v;
	struct vcmdq_cmd q[16];
	struct vcmdq_cmd out[VEC_MAX_OUT + 4];
	u8 issues[VEC_MAX_ISSUE + 4];
	struct vcmdq_sync_done done[4];
	unsigned int nr_out, nr_issues, nr_done;
	u32 cons_reg;
	bool bad_read;
};

static int rec_read(void *priv, u32 idx, struct vcmdq_cmd *dst, u32 n)
{
	struct vec_rec *r = priv;
	u32 i;

	if (idx + n > (1U << r->v->log2size)) {
		r->bad_read = true;
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		dst[i] = r->q[idx + i];
	return 0;
}

static int rec_issue(void *priv, const struct vcmdq_cmd *cmds, u32 n, bool sync)
{
	struct vec_rec *r = priv;
	u32 i;

	for (i = 0; i < n; i++)
		if (r->nr_out < VEC_MAX_OUT + 4)
			r->out[r->nr_out++] = cmds[i];
	if (r->nr_issues < VEC_MAX_ISSUE + 4)
		r->issues[r->nr_issues++] = (u8)(n | (sync ? VEC_SYNC : 0));
	return 0;
}

static void rec_publish(void *priv, u32 cons_reg)
{
	((struct vec_rec *)priv)->cons_reg = cons_reg;
}

static int rec_complete(void *priv, const struct vcmdq_sync_done *d)
{
	struct vec_rec *r = priv;

	if (r->nr_done < 4)
		r->done[r->nr_done] = *d;
	r->nr_done++;
	return 0;
}

static const struct vcmdq_ops rec_ops = {
	.read = rec_read,
	.issue = rec_issue,
	.publish = rec_publish,
	.complete = rec_complete,
};

static bool mismatch(struct vcmdq_vector_fail *f, const char *what,
		     unsigned int i, u64 want, u64 got)
{
	f->what = what;
	f->i = i;
	f->want = want;
	f->got = got;
	return false;
}

/* Engine and recorder are large; keep them off the (kernel) stack. */
static struct vcmdq_engine vec_engine;
static struct vec_rec vec_rec;

/**
 * vcmdq_vector_run() - run one vector
 * @v: the vector
 * @f: filled with the first mismatch
 *
 * Not reentrant (static state); the test runners call it serially.
 *
 * Return: true if the engine did exactly what @v says.
 */
bool vcmdq_vector_run(const struct vcmdq_vector *v,
		      struct vcmdq_vector_fail *f)
{
	struct vcmdq_config cfg = {
		.layout = (enum vcmdq_layout)v->layout,
		.log2size = v->log2size,
		.vmid = VEC_VMID,
		.batch = v->batch ? v->batch : VCMDQ_BATCH_MAX,
		.caps = v->caps,
	};
	struct vcmdq_sid_slot slots[8];
	struct vcmdq_sidmap map;
	struct vec_rec *r = &vec_rec;
	struct vcmdq_engine *e = &vec_engine;
	enum vcmdq_status st;
	u32 size = 1U << v->log2size, i;
	int ret;

	*r = (struct vec_rec){ .v = v };
	vcmdq_sidmap_init(&map, slots, 3);
	for (i = 0; i < 3; i++)
		if (vcmdq_sidmap_insert(&map, vec_vsid[i], vec_psid[i]))
			return mismatch(f, "sidmap insert", i, 0, 1);
	if (size > 16)
		return mismatch(f, "vector queue larger than 16", 0, 16, size);
	for (i = 0; i < v->nr_in; i++)
		r->q[(v->cons + i) & (size - 1)] = v->in[i];

	ret = vcmdq_engine_init(e, &cfg, &rec_ops, r, &map);
	if (ret)
		return mismatch(f, "engine init", 0, 0, (u64)(s64)ret);
	vcmdq_reset(e, v->cons);
	r->cons_reg = v->cons;
	st = vcmdq_process(e, v->prod, v->budget ? v->budget : ~0U);

	if (r->bad_read)
		return mismatch(f, "read past the end of the queue", 0, 0, 1);
	if (st != v->status)
		return mismatch(f, "status", 0, v->status, st);
	if (r->cons_reg != v->cons_reg)
		return mismatch(f, "CONS register", 0, v->cons_reg, r->cons_reg);
	if (r->nr_out != v->nr_out)
		return mismatch(f, "host command count", 0, v->nr_out,
				r->nr_out);
	for (i = 0; i < v->nr_out; i++) {
		if (r->out[i].w[0] != v->out[i].w[0])
			return mismatch(f, "host command word 0", i,
					v->out[i].w[0], r->out[i].w[0]);
		if (r->out[i].w[1] != v->out[i].w[1])
			return mismatch(f, "host command word 1", i,
					v->out[i].w[1], r->out[i].w[1]);
	}
	if (r->nr_issues != v->nr_issues)
		return mismatch(f, "issue() calls", 0, v->nr_issues,
				r->nr_issues);
	for (i = 0; i < v->nr_issues; i++)
		if (r->issues[i] != v->issues[i])
			return mismatch(f, "issue() size|sync", i, v->issues[i],
					r->issues[i]);
	if (r->nr_done != v->nr_done)
		return mismatch(f, "completions", 0, v->nr_done, r->nr_done);
	for (i = 0; i < v->nr_done; i++) {
		const struct vcmdq_sync_done *w = &v->done[i], *g = &r->done[i];

		if (w->kind != g->kind)
			return mismatch(f, "completion kind", i, w->kind,
					g->kind);
		if (w->index != g->index)
			return mismatch(f, "completion index", i, w->index,
					g->index);
		if (w->addr != g->addr)
			return mismatch(f, "MSI address", i, w->addr, g->addr);
		if (w->data != g->data)
			return mismatch(f, "MSI data", i, w->data, g->data);
	}
	return true;
}

/* DESIGN.md's policy table, stated opcode by opcode. */
static enum vcmdq_kind design_kind(enum vcmdq_layout layout, unsigned int op)
{
	if (layout == VCMDQ_LAYOUT_TEGRA241) {
		switch (op) {
		case 0x11: case 0x12: return VCMDQ_K_TLBI;
		case 0x40: return VCMDQ_K_SID;
		case 0x46: return VCMDQ_K_SYNC;
		default: return VCMDQ_K_ILL;
		}
	}
	switch (op) {
	case 0x10: case 0x11: case 0x12: case 0x13: return VCMDQ_K_TLBI;
	case 0x30: return VCMDQ_K_NSNH;
	case 0x40: case 0x05: case 0x06: return VCMDQ_K_SID;
	case 0x46: return VCMDQ_K_SYNC;
	case 0x01: case 0x02: case 0x03: case 0x04:
	case 0x41: case 0x44: case 0x45: return VCMDQ_K_EXIT;
	default: return VCMDQ_K_ILL;
	}
}

/**
 * vcmdq_policy_selftest() - every opcode of both layouts against DESIGN.md
 * @f: filled with the first mismatch (@i is layout << 8 | opcode)
 *
 * Also checks that every TLBI the fast path takes defines its opcode and
 * VMID fields, which the fast path's check relies on.
 *
 * Return: true if the engine's policy table matches.
 */
bool vcmdq_policy_selftest(struct vcmdq_vector_fail *f)
{
	const u64 tlbi_w0 = VCMDQ_0_OP | VCMDQ_TLBI_0_VMID;
	enum vcmdq_kind kind, want;
	unsigned int layout, op;

	for (layout = 0; layout < VCMDQ_NR_LAYOUTS; layout++) {
		for (op = 0; op < 256; op++) {
			kind = vcmdq_classify((enum vcmdq_layout)layout, (u8)op);
			want = design_kind((enum vcmdq_layout)layout, op);
			if (kind != want)
				return mismatch(f, "policy", layout << 8 | op,
						want, kind);
			/*
			 * The fast path checks word 0 of a TLBI with the VMID
			 * field set to all ones: a TLBI that did not define
			 * the field would never pass.
			 */
			if (kind == VCMDQ_K_TLBI &&
			    (vcmdq_fields[op].w0 & tlbi_w0) != tlbi_w0)
				return mismatch(f, "TLBI fields lack OP or VMID",
						layout << 8 | op, tlbi_w0,
						vcmdq_fields[op].w0);
		}
	}
	return true;
}
