// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the engine in user space: the shared vectors, the policy of
 * every opcode, the vSID table against a naive one, queue arithmetic, bad
 * configuration, and the stop/resume state machine.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/vectors/vectors.h"
#include "tests/lib/tap.h"

static void test_vectors(void)
{
	struct vcmdq_vector_fail f;
	unsigned int i;

	for (i = 0; i < vcmdq_nr_vectors; i++) {
		bool ok = vcmdq_vector_run(&vcmdq_vectors[i], &f);

		if (!ok)
			tap_diag("%s #%u: want 0x%llx got 0x%llx", f.what, f.i,
				 (unsigned long long)f.want,
				 (unsigned long long)f.got);
		tap_result(ok, "vector: %s", vcmdq_vectors[i].name);
	}
}

static void test_policy(void)
{
	struct vcmdq_vector_fail f;
	bool ok = vcmdq_policy_selftest(&f);

	if (!ok)
		tap_diag("%s: layout %u opcode 0x%02x: want 0x%llx got 0x%llx",
			 f.what, f.i >> 8, f.i & 0xff,
			 (unsigned long long)f.want, (unsigned long long)f.got);
	tap_result(ok, "policy of all 256 opcodes in both layouts matches DESIGN.md");
}

/* The vSID table against a plain array, through random inserts/removes. */
static void test_sidmap(void)
{
	enum { N = 64 };
	static struct vcmdq_sid_slot slots[1 << 7];
	struct vcmdq_sidmap map;
	u32 keys[N], vals[N], psid;
	bool used[N] = { false }, failed = false;
	unsigned int i, step, nused = 0;
	u64 s = 12345;

	vcmdq_sidmap_init(&map, slots, 7);
	for (i = 0; i < N; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		/* sparse 32-bit keys plus a run of consecutive SIDs */
		keys[i] = i < N / 2 ? (u32)(s >> 32) : 0x1000 + i;
		vals[i] = i;
	}
	for (step = 0; step < 20000 && !failed; step++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		i = (s >> 33) % N;
		if (used[i]) {
			CHECK(vcmdq_sidmap_remove(&map, keys[i]) == 0,
			      "remove 0x%x", keys[i]);
			used[i] = false;
			nused--;
		} else {
			int ret = vcmdq_sidmap_insert(&map, keys[i], vals[i]);

			CHECK(ret == 0, "insert 0x%x: %d", keys[i], ret);
			used[i] = true;
			nused++;
		}
		for (i = 0; i < N; i++) {
			bool hit = vcmdq_sidmap_lookup(&map, keys[i], &psid);

			CHECK(hit == used[i], "lookup 0x%x: %d, want %d",
			      keys[i], hit, used[i]);
			if (hit)
				CHECK(psid == vals[i], "0x%x -> %u", keys[i],
				      psid);
		}
		CHECK(map.count == nused, "count %u want %u", map.count, nused);
	}
	tap_result(!failed, "sidmap: 20000 random inserts/removes agree with a plain table");

	failed = false;
	CHECK(vcmdq_sidmap_insert(&map, 0x77777777, 1) == 0 ||
	      map.count == 64, "insert");
	CHECK(vcmdq_sidmap_insert(&map, keys[0], 1) == -EEXIST ||
	      !used[0], "duplicate insert");
	CHECK(vcmdq_sidmap_remove(&map, 0x76543210) == -ENOENT, "remove missing");
	vcmdq_sidmap_init(&map, slots, 2);
	CHECK(vcmdq_sidmap_insert(&map, 1, 1) == 0, "1 of 2");
	CHECK(vcmdq_sidmap_insert(&map, 2, 2) == 0, "2 of 2");
	CHECK(vcmdq_sidmap_insert(&map, 3, 3) == -ENOSPC, "over half full");
	vcmdq_sidmap_init(&map, NULL, 0);
	CHECK(!vcmdq_sidmap_lookup(&map, 1, &psid), "empty map lookup");
	CHECK(vcmdq_sidmap_insert(&map, 1, 1) == -ENOSPC, "no slots");
	tap_result(!failed, "sidmap: EEXIST, ENOENT, ENOSPC at half load, empty map");
}

static void test_queue_arith(void)
{
	bool failed = false;

	CHECK(vcmdq_q_ptr_mask(3) == 0xf, "mask");
	CHECK(vcmdq_q_idx(3, 0xb) == 3 && vcmdq_q_wrap(3, 0xb) == 8, "idx/wrap");
	CHECK(vcmdq_q_empty(5, 5), "empty");
	CHECK(vcmdq_q_full(3, 0xb, 0x3) && vcmdq_q_full(3, 0x3, 0xb), "full");
	CHECK(!vcmdq_q_full(3, 0x3, 0x3), "empty is not full");
	CHECK(vcmdq_q_used(3, 0x2, 0xe) == 4, "used across wrap");
	CHECK(vcmdq_q_inc(3, 0xf, 1) == 0, "inc wraps the wrap bit");
	CHECK(vcmdq_q_inc(3, 0x7, 1) == 0x8, "inc flips wrap");
	CHECK(!vcmdq_q_ptr_valid(3, 0x10) && vcmdq_q_ptr_valid(3, 0xf), "valid");
	CHECK(vcmdq_q_ptr_mask(VCMDQ_MAX_LOG2SIZE) == 0xfffff, "max size");
	CHECK(vcmdq_cons_reg(5, VCMDQ_CERROR_ATC_INV_SYNC) == (3u << 24 | 5),
	      "CONS.ERR");
	tap_result(!failed, "queue arithmetic: wrap, full, empty, ERR field");
}

/* A tiny backend for the state-machine tests. */
struct mini {
	struct vcmdq_cmd q[8];
	int read_ret, issue_ret, sync_ret;
	u32 cons_reg, issued, syncs;
};

static int mini_read(void *p, u32 idx, struct vcmdq_cmd *d, u32 n)
{
	struct mini *m = p;

	if (m->read_ret)
		return m->read_ret;
	memcpy(d, &m->q[idx], n * sizeof(*d));
	return 0;
}

static int mini_issue(void *p, const struct vcmdq_cmd *c, u32 n, bool sync)
{
	struct mini *m = p;

	(void)c;
	if (m->issue_ret)
		return m->issue_ret;
	m->issued += n;
	if (sync) {
		if (m->sync_ret) {
			int r = m->sync_ret;

			m->sync_ret = 0;
			return r;
		}
		m->syncs++;
	}
	return 0;
}

static void mini_publish(void *p, u32 v)
{
	((struct mini *)p)->cons_reg = v;
}

static int mini_complete(void *p, const struct vcmdq_sync_done *d)
{
	(void)p;
	(void)d;
	return 0;
}

static const struct vcmdq_ops mini_ops = {
	.read = mini_read, .issue = mini_issue,
	.publish = mini_publish, .complete = mini_complete,
};

static void test_bad_config(void)
{
	static struct vcmdq_engine e;
	struct vcmdq_sidmap map;
	struct vcmdq_config ok = { .log2size = 3, .batch = 8, .vmid = 1 };
	struct vcmdq_config c;
	bool failed = false;

	vcmdq_sidmap_init(&map, NULL, 0);
	CHECK(vcmdq_engine_init(&e, &ok, &mini_ops, NULL, &map) == 0, "ok");
	c = ok; c.log2size = VCMDQ_MAX_LOG2SIZE + 1;
	CHECK(vcmdq_engine_init(&e, &c, &mini_ops, NULL, &map) == -EINVAL,
	      "log2size 20");
	c = ok; c.log2size = 31;
	CHECK(vcmdq_engine_init(&e, &c, &mini_ops, NULL, &map) == -EINVAL,
	      "log2size 31");
	c = ok; c.batch = 0;
	CHECK(vcmdq_engine_init(&e, &c, &mini_ops, NULL, &map) == -EINVAL,
	      "batch 0");
	c = ok; c.batch = VCMDQ_BATCH_MAX + 1;
	CHECK(vcmdq_engine_init(&e, &c, &mini_ops, NULL, &map) == -EINVAL,
	      "batch 65");
	c = ok; c.layout = VCMDQ_NR_LAYOUTS;
	CHECK(vcmdq_engine_init(&e, &c, &mini_ops, NULL, &map) == -EINVAL,
	      "layout");
	c = ok; c.caps = 4;
	CHECK(vcmdq_engine_init(&e, &c, &mini_ops, NULL, &map) == -EINVAL,
	      "caps");
	CHECK(vcmdq_engine_init(&e, &ok, &mini_ops, NULL, NULL) == -EINVAL,
	      "no sidmap");
	tap_result(!failed, "bad configuration is -EINVAL: log2size, batch, layout, caps, ops");
}

static void test_stops(void)
{
	static struct vcmdq_sid_slot slots4[4];
	static struct vcmdq_engine e;
	struct vcmdq_config cfg = { .log2size = 3, .batch = 8, .vmid = 1 };
	struct vcmdq_sidmap map;
	struct mini m = { 0 };
	bool failed = false;

	vcmdq_sidmap_init(&map, NULL, 0);
	vcmdq_engine_init(&e, &cfg, &mini_ops, &m, &map);
	m.q[0].w[0] = 0x11;		/* NH_ASID */
	m.q[1].w[0] = 0x03;		/* CFGI_STE: exit */
	m.q[2].w[0] = 0x46;		/* SYNC */

	CHECK(vcmdq_exit_done(&e, VCMDQ_CERROR_NONE) == -EINVAL,
	      "exit_done with no exit");
	CHECK(vcmdq_error_ack(&e) == -EINVAL, "ack with no error");
	CHECK(vcmdq_process(&e, 3, ~0U) == VCMDQ_EXIT && m.cons_reg == 1,
	      "exit at 1, CONS 0x%x", m.cons_reg);
	CHECK(vcmdq_process(&e, 3, ~0U) == VCMDQ_EXIT, "exit is sticky");
	CHECK(vcmdq_exit_done(&e, VCMDQ_CERROR_NONE) == 0 && m.cons_reg == 2,
	      "exit done moves CONS to 2: 0x%x", m.cons_reg);
	CHECK(vcmdq_process(&e, 3, ~0U) == VCMDQ_IDLE && m.cons_reg == 3 &&
	      m.syncs == 1, "resumes to the end: 0x%x", m.cons_reg);

	/* the VMM rejects an exit command: CERROR there */
	m.q[3].w[0] = 0x03;
	CHECK(vcmdq_process(&e, 4, ~0U) == VCMDQ_EXIT, "second exit");
	CHECK(vcmdq_exit_done(&e, 7) == -EINVAL, "bad CERROR");
	CHECK(vcmdq_exit_done(&e, VCMDQ_CERROR_ILL) == 0 &&
	      m.cons_reg == (3 | 1u << 24), "VMM says ILL: 0x%x", m.cons_reg);
	CHECK(vcmdq_process(&e, 4, ~0U) == VCMDQ_CERROR, "error is sticky");
	m.q[3].w[0] = 0x46;		/* the guest fixes it */
	CHECK(vcmdq_error_ack(&e) == 0 && m.cons_reg == 3, "ack clears ERR");
	CHECK(vcmdq_process(&e, 4, ~0U) == VCMDQ_IDLE && m.cons_reg == 4,
	      "fixed entry runs");
	tap_result(!failed, "EXIT and CERROR stop, stay stopped, resume on exit_done/ack");

	failed = false;
	vcmdq_engine_init(&e, &cfg, &mini_ops, &m, &map);
	m = (struct mini){ .read_ret = -EFAULT };
	m.q[0].w[0] = 0x11;
	m.q[1].w[0] = 0x46;
	CHECK(vcmdq_process(&e, 2, ~0U) == VCMDQ_CERROR &&
	      m.cons_reg == 2u << 24 && e.stop.err == -EFAULT,
	      "read fault is CERROR_ABT at CONS: 0x%x", m.cons_reg);
	m.read_ret = 0;
	CHECK(vcmdq_error_ack(&e) == 0 && vcmdq_process(&e, 2, ~0U) == VCMDQ_IDLE,
	      "recovers after ack");
	tap_result(!failed, "guest memory read failure: CERROR_ABT, recovers");

	failed = false;
	vcmdq_engine_init(&e, &cfg, &mini_ops, &m, &map);
	m = (struct mini){ .sync_ret = -ETIMEDOUT };
	m.q[0].w[0] = 0x40 | 0x42ULL << 32;
	m.q[1].w[0] = 0x46;
	vcmdq_sidmap_init(&map, slots4, 2);
	vcmdq_sidmap_insert(&map, 0x42, 0x8);
	CHECK(vcmdq_process(&e, 2, ~0U) == VCMDQ_CERROR &&
	      m.cons_reg == (1 | 3u << 24),
	      "timed-out sync: ATC_INV_SYNC at the CMD_SYNC: 0x%x", m.cons_reg);
	CHECK(vcmdq_error_ack(&e) == 0 && vcmdq_process(&e, 2, ~0U) == VCMDQ_IDLE &&
	      m.syncs == 1 && m.cons_reg == 2,
	      "retry issues a host sync again: syncs %u", m.syncs);
	tap_result(!failed, "ATC invalidation timeout: CERROR_ATC_INV_SYNC, retried sync");

	failed = false;
	vcmdq_engine_init(&e, &cfg, &mini_ops, &m, &map);
	m = (struct mini){ .issue_ret = -EIO };
	m.q[0].w[0] = 0x11;
	CHECK(vcmdq_process(&e, 1, ~0U) == VCMDQ_FAULT && e.stop.err == -EIO &&
	      m.cons_reg == 0, "host failure halts, CONS stays: 0x%x",
	      m.cons_reg);
	m.issue_ret = 0;
	CHECK(vcmdq_process(&e, 1, ~0U) == VCMDQ_FAULT, "fault is sticky");
	CHECK(vcmdq_error_ack(&e) == -EINVAL, "ack does not clear a fault");
	vcmdq_reset(&e, 0);
	CHECK(vcmdq_process(&e, 1, ~0U) == VCMDQ_IDLE, "reset clears it");
	tap_result(!failed, "host issue failure: FAULT until reset");

	/*
	 * Taking over a queue stopped at a command error (defect 4 of the
	 * review: a new consumer restarted from CONS and ran the failed
	 * command again, raising a second error).
	 */
	failed = false;
	vcmdq_engine_init(&e, &cfg, &mini_ops, &m, &map);
	m = (struct mini){ 0 };
	m.q[5].w[0] = 0x7f;		/* illegal: the guest has not fixed it */
	m.q[6].w[0] = 0x46;
	vcmdq_restore(&e, 5 | 1u << 24);
	CHECK(vcmdq_cons_value(&e) == (5 | 1u << 24) &&
	      e.halt == VCMDQ_CERROR && e.stop.index == 5,
	      "restored stopped at 5 with ILL: 0x%x", vcmdq_cons_value(&e));
	CHECK(vcmdq_process(&e, 7, ~0U) == VCMDQ_CERROR && e.stats.cmds == 0 &&
	      e.stats.errors == 0 && m.cons_reg == 0,
	      "nothing runs, no second error, nothing published: cmds %llu errors %llu",
	      (unsigned long long)e.stats.cmds,
	      (unsigned long long)e.stats.errors);
	m.q[5].w[0] = 0x11;		/* the guest fixes it, then acks */
	CHECK(vcmdq_error_ack(&e) == 0 && m.cons_reg == 5 &&
	      vcmdq_process(&e, 7, ~0U) == VCMDQ_IDLE && m.cons_reg == 7 &&
	      e.stats.cmds == 2, "ack resumes at the fixed entry: 0x%x",
	      m.cons_reg);
	vcmdq_restore(&e, 0x9);		/* wrap bit, index 1, no error */
	CHECK(e.halt == VCMDQ_IDLE && vcmdq_cons_value(&e) == 0x9,
	      "restore without ERR is a reset: 0x%x", vcmdq_cons_value(&e));
	tap_result(!failed, "restore keeps an error stop: no re-run, no second CMDQ_ERR");

	/* A queue paused for migration, and taken over with an exit pending */
	failed = false;
	vcmdq_engine_init(&e, &cfg, &mini_ops, &m, &map);
	m = (struct mini){ 0 };
	m.q[0].w[0] = 0x11;
	m.q[1].w[0] = 0x11;
	CHECK(vcmdq_process(&e, 1, 1) == VCMDQ_IDLE && m.issued == 1 &&
	      m.syncs == 0 && e.unsynced, "a TLBI without a sync leaves it unsynced");
	CHECK(vcmdq_quiesce(&e) == 0 && m.syncs == 1 && !e.unsynced,
	      "quiesce issues the host sync: syncs %u", m.syncs);
	CHECK(vcmdq_quiesce(&e) == 0 && m.syncs == 1, "nothing more to sync");
	{
		const struct vcmdq_cmd ste = { .w = { 0x03 | 0x42ULL << 32, 0 } };

		m.q[3] = ste;
		m.q[4].w[0] = 0x46;
		vcmdq_restore_exit(&e, 3, &ste);
		CHECK(e.halt == VCMDQ_EXIT && e.stop.index == 3 &&
		      e.stop.cmd.w[0] == ste.w[0] &&
		      vcmdq_process(&e, 5, ~0U) == VCMDQ_EXIT && e.stats.cmds == 1,
		      "restored exit is pending at 3, nothing runs");
		CHECK(vcmdq_exit_done(&e, VCMDQ_CERROR_NONE) == 0 &&
		      m.cons_reg == 4 && vcmdq_process(&e, 5, ~0U) == VCMDQ_IDLE &&
		      m.cons_reg == 5, "answered, it goes on: 0x%x", m.cons_reg);
	}
	tap_result(!failed, "quiesce syncs what was issued; restore of a pending exit");
}

static u32 sid_calls;

static int mini_sid(void *p, u32 vsid, u32 *psid)
{
	(void)p;
	sid_calls++;
	if (vsid != 0x42)
		return -EIO;
	*psid = 0x8;
	return 0;
}

static int sid_issue(void *p, const struct vcmdq_cmd *c, u32 n, bool sync)
{
	struct mini *m = p;

	if (n)
		m->q[7] = c[n - 1];	/* the last command issued */
	return mini_issue(p, c, n, sync);
}

/* A backend that translates SIDs itself (the kernel's vDEVICE lookup). */
static void test_sid_callback(void)
{
	static const struct vcmdq_ops ops = {
		.read = mini_read, .issue = sid_issue, .publish = mini_publish,
		.complete = mini_complete, .sid = mini_sid,
	};
	static struct vcmdq_engine e;
	struct vcmdq_config cfg = { .log2size = 3, .batch = 8, .vmid = 1 };
	struct vcmdq_sidmap map;
	struct mini m = { 0 };
	bool failed = false;

	vcmdq_sidmap_init(&map, NULL, 0);
	CHECK(vcmdq_engine_init(&e, &cfg, &ops, &m, &map) == -EINVAL,
	      "both a callback and a map");
	CHECK(vcmdq_engine_init(&e, &cfg, &ops, &m, NULL) == 0, "callback only");
	m.q[0].w[0] = 0x05 | 0x42ULL << 32;	/* CFGI_CD vSID 0x42 */
	m.q[1].w[0] = 0x46;
	m.q[2].w[0] = 0x40 | 0x43ULL << 32;	/* ATC_INV unknown vSID */
	CHECK(vcmdq_process(&e, 2, ~0U) == VCMDQ_IDLE && sid_calls == 1 &&
	      m.q[7].w[0] == (0x05 | 0x8ULL << 32),
	      "vSID 0x42 -> 0x8 by the callback: 0x%llx",
	      (unsigned long long)m.q[7].w[0]);
	CHECK(vcmdq_process(&e, 3, ~0U) == VCMDQ_EXIT && m.cons_reg == 2 &&
	      sid_calls == 2 && e.stop.cmd.w[0] == (0x40 | 0x43ULL << 32),
	      "callback error on the main CMDQ: exit at 2: 0x%x", m.cons_reg);
	cfg.layout = VCMDQ_LAYOUT_TEGRA241;
	CHECK(vcmdq_engine_init(&e, &cfg, &ops, &m, NULL) == 0, "VCMDQ layout");
	vcmdq_reset(&e, 2);
	CHECK(vcmdq_process(&e, 3, ~0U) == VCMDQ_CERROR &&
	      m.cons_reg == (2 | 1u << 24) && sid_calls == 3,
	      "callback error on a VCMDQ: CERROR_ILL at 2: 0x%x", m.cons_reg);
	tap_result(!failed, "SID translation through ops->sid: rewrite; unknown exits (main CMDQ) or is ILL (VCMDQ)");
}

/* Records every host command and the stops, for the exit round trips. */
struct usid {
	struct mini m;
	struct vcmdq_cmd out[8];
	u32 nr_out;
};

static int usid_issue(void *p, const struct vcmdq_cmd *c, u32 n, bool sync)
{
	struct usid *u = p;
	u32 i;

	for (i = 0; i < n && u->nr_out < ARRAY_SIZE(u->out); i++)
		u->out[u->nr_out++] = c[i];
	return mini_issue(&u->m, c, n, sync);
}

static int usid_read(void *p, u32 idx, struct vcmdq_cmd *d, u32 n)
{
	return mini_read(&((struct usid *)p)->m, idx, d, n);
}

static void usid_publish(void *p, u32 v)
{
	mini_publish(&((struct usid *)p)->m, v);
}

/*
 * Issue 19 item 2: a Linux guest on the main CMDQ sends CFGI_CD,
 * CFGI_CD_ALL and ATC_INV for StreamIDs the VMM emulates without a vDEVICE
 * (root ports, bridges). Each goes to the VMM as the guest wrote it, in
 * queue order, with the work before it issued and nothing after it run
 * until the VMM answers; the VMM's answer decides (QEMU skips it, so NONE).
 */
static void test_unknown_sid_exits(void)
{
	static const struct vcmdq_ops ops = {
		.read = usid_read, .issue = usid_issue,
		.publish = usid_publish, .complete = mini_complete,
	};
	static const u64 unknown[] = {
		0x05 | 0x44ULL << 32 | 3ULL << 12,	/* CFGI_CD SSID 3 */
		0x06 | 0x44ULL << 32,			/* CFGI_CD_ALL */
		0x40 | 0x45ULL << 32,			/* ATC_INV */
	};
	static struct vcmdq_sid_slot slots[4];
	static struct vcmdq_engine e;
	struct vcmdq_config cfg = { .log2size = 3, .batch = 8, .vmid = 1 };
	struct vcmdq_sidmap map;
	static struct usid u;
	bool failed = false;
	unsigned int i;

	vcmdq_sidmap_init(&map, slots, 2);
	vcmdq_sidmap_insert(&map, 0x42, 0x8);
	u = (struct usid){ 0 };
	vcmdq_engine_init(&e, &cfg, &ops, &u, &map);
	u.m.q[0].w[0] = 0x11 | 1ULL << 48;		/* NH_ASID 1 */
	u.m.q[1].w[0] = unknown[0];
	u.m.q[1].w[1] = 1;				/* Leaf */
	u.m.q[2].w[0] = 0x40 | 0x42ULL << 32;		/* ATC_INV, known */
	u.m.q[3].w[0] = unknown[1];
	u.m.q[4].w[0] = unknown[2];
	u.m.q[5].w[0] = 0x11 | 2ULL << 48;		/* NH_ASID 2 */
	u.m.q[6].w[0] = 0x46;				/* CMD_SYNC */

	CHECK(vcmdq_process(&e, 7, ~0U) == VCMDQ_EXIT && u.m.cons_reg == 1 &&
	      e.stop.index == 1 && e.stop.cmd.w[0] == unknown[0] &&
	      e.stop.cmd.w[1] == 1 && u.nr_out == 1 &&
	      u.out[0].w[0] == (0x11 | 1ULL << 32 | 1ULL << 48),
	      "CFGI_CD exits at 1 as written, NH_ASID before it issued: "
	      "CONS 0x%x cmd 0x%llx out %u", u.m.cons_reg,
	      (unsigned long long)e.stop.cmd.w[0], u.nr_out);
	CHECK(vcmdq_process(&e, 7, ~0U) == VCMDQ_EXIT && u.nr_out == 1,
	      "nothing runs until the VMM answers");
	CHECK(vcmdq_exit_done(&e, VCMDQ_CERROR_NONE) == 0 && u.m.cons_reg == 2,
	      "answered NONE: CONS 0x%x", u.m.cons_reg);
	CHECK(vcmdq_process(&e, 7, ~0U) == VCMDQ_EXIT && e.stop.index == 3 &&
	      e.stop.cmd.w[0] == unknown[1] && u.nr_out == 2 &&
	      u.out[1].w[0] == (0x40 | 0x8ULL << 32),
	      "known ATC_INV rewritten and issued, CFGI_CD_ALL exits at 3: "
	      "index %u", e.stop.index);
	CHECK(vcmdq_exit_done(&e, VCMDQ_CERROR_NONE) == 0 &&
	      vcmdq_process(&e, 7, ~0U) == VCMDQ_EXIT && e.stop.index == 4 &&
	      e.stop.cmd.w[0] == unknown[2] && u.nr_out == 2,
	      "ATC_INV exits at 4: index %u", e.stop.index);
	CHECK(vcmdq_exit_done(&e, VCMDQ_CERROR_NONE) == 0 &&
	      vcmdq_process(&e, 7, ~0U) == VCMDQ_IDLE && u.m.cons_reg == 7 &&
	      u.nr_out == 3 && u.m.syncs == 1 && e.stats.exits == 3 &&
	      e.stats.errors == 0,
	      "the rest runs to the CMD_SYNC: CONS 0x%x out %u exits %llu",
	      u.m.cons_reg, u.nr_out, (unsigned long long)e.stats.exits);
	for (i = 0; i < u.nr_out; i++)
		CHECK((u32)(u.out[i].w[0] >> 32) != 0x44 &&
		      (u32)(u.out[i].w[0] >> 32) != 0x45,
		      "an unknown vSID reached the host: 0x%llx",
		      (unsigned long long)u.out[i].w[0]);
	tap_result(!failed, "unknown_sid_exits_main_cmdq: CFGI_CD, CFGI_CD_ALL, ATC_INV exit in order, never issued, the queue goes on");

	/* Same queue on the tegra241 layout: no exit, CERROR_ILL at ATC_INV. */
	failed = false;
	cfg.layout = VCMDQ_LAYOUT_TEGRA241;
	u = (struct usid){ 0 };
	vcmdq_engine_init(&e, &cfg, &ops, &u, &map);
	u.m.q[0].w[0] = 0x11 | 1ULL << 48;
	u.m.q[1].w[0] = unknown[2];
	u.m.q[2].w[0] = 0x46;
	CHECK(vcmdq_process(&e, 3, ~0U) == VCMDQ_CERROR &&
	      u.m.cons_reg == (1 | 1u << 24) && e.stats.exits == 0 &&
	      u.nr_out == 1 && vcmdq_exit_done(&e, VCMDQ_CERROR_NONE) == -EINVAL,
	      "CERROR_ILL at 1, no exit: CONS 0x%x", u.m.cons_reg);
	u.m.q[1].w[0] = 0x40 | 0x42ULL << 32;	/* the guest fixes the vSID */
	CHECK(vcmdq_error_ack(&e) == 0 && vcmdq_process(&e, 3, ~0U) == VCMDQ_IDLE &&
	      u.m.cons_reg == 3 && u.nr_out == 2,
	      "fixed and acknowledged, it runs: CONS 0x%x", u.m.cons_reg);
	tap_result(!failed, "unknown_sid_ill_tegra241: ATC_INV of an unknown vSID is CERROR_ILL on a VCMDQ, as a HW VCMDQ");
}

/*
 * The VMID is forced whatever the guest put there and whatever the vIOMMU's
 * is, the all-zeros and all-ones values included, and nothing else of a
 * TLBI with every defined field set changes.
 */
static void test_vmid_forced(void)
{
	static const struct vcmdq_ops ops = {
		.read = mini_read, .issue = sid_issue, .publish = mini_publish,
		.complete = mini_complete,
	};
	static const u16 vmids[] = { 0, 1, 0x5a5a, 0xffff };
	/* TLBI_NH_VA: NUM, SCALE, ASID; Leaf, TTL, TG, VA; bits 1-7 reserved */
	const u64 w0 = 0x12 | 0x1fULL << 12 | 0x1fULL << 20 | 0xffffULL << 48;
	const u64 w1 = ~0xfeULL;
	static struct vcmdq_engine e;
	struct vcmdq_sidmap map;
	bool failed = false;
	unsigned int i, j;

	vcmdq_sidmap_init(&map, NULL, 0);
	for (i = 0; i < ARRAY_SIZE(vmids); i++) {
		for (j = 0; j < ARRAY_SIZE(vmids); j++) {
			struct vcmdq_config cfg = {
				.log2size = 3, .batch = 8, .vmid = vmids[i],
			};
			struct mini m = { 0 };

			vcmdq_engine_init(&e, &cfg, &ops, &m, &map);
			m.q[0].w[0] = w0 | (u64)vmids[j] << 32;
			m.q[0].w[1] = w1;
			CHECK(vcmdq_process(&e, 1, ~0U) == VCMDQ_IDLE &&
			      m.q[7].w[0] == (w0 | (u64)vmids[i] << 32) &&
			      m.q[7].w[1] == w1,
			      "VMID 0x%x, guest's 0x%x: 0x%llx 0x%llx",
			      vmids[i], vmids[j],
			      (unsigned long long)m.q[7].w[0],
			      (unsigned long long)m.q[7].w[1]);
		}
	}
	tap_result(!failed, "VMID 0, 1, 0x5a5a, 0xffff forced over any guest VMID, rest intact");
}

int main(void)
{
	test_vectors();
	test_policy();
	test_sidmap();
	test_queue_arith();
	test_bad_config();
	test_stops();
	test_sid_callback();
	test_unknown_sid_exits();
	test_vmid_forced();
	return tap_done();
}
