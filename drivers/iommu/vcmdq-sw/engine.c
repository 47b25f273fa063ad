// SPDX-License-Identifier: GPL-2.0
/*
 * The vcmdq-sw command engine: see engine.h and Documentation/engine.rst.
 *
 * Every entry is read once into a private buffer (the host batch it is then
 * rewritten in) and only that copy is validated and issued, so a guest
 * rewriting its queue concurrently cannot get an unchecked command past the
 * engine.
 */
#include "engine.h"

static const char *const vcmdq_status_names[] = {
	[VCMDQ_IDLE]	 = "IDLE",
	[VCMDQ_MORE]	 = "MORE",
	[VCMDQ_EXIT]	 = "EXIT",
	[VCMDQ_CERROR]	 = "CERROR",
	[VCMDQ_BAD_PROD] = "BAD_PROD",
	[VCMDQ_FAULT]	 = "FAULT",
	[VCMDQ_DEFER]	 = "DEFER",
};

/**
 * vcmdq_status_name() - a printable name of a status
 * @s: status
 *
 * Return: the name, or "?" for a value out of range.
 */
const char *vcmdq_status_name(enum vcmdq_status s)
{
	if ((unsigned int)s >= ARRAY_SIZE(vcmdq_status_names))
		return "?";
	return vcmdq_status_names[s];
}
EXPORT_SYMBOL_NS_GPL(vcmdq_status_name, "VCMDQ_SW");

/* See struct vcmdq_fast_masks. */
static void vcmdq_fast_init(struct vcmdq_engine *e)
{
	unsigned int op;

	for (op = 0; op < 256; op++) {
		if (e->policy[op] == VCMDQ_K_TLBI) {
			e->reject.w0[op] = ~vcmdq_fields[op].w0;
			e->reject.w1[op] = ~vcmdq_fields[op].w1;
		} else {
			e->reject.w0[op] = ~0ULL;
			e->reject.w1[op] = ~0ULL;
		}
	}
}

/*
 * True if an entry is a stage-1 TLBI the layout issues and sets no bit
 * outside its defined fields. @w0v is word 0 with the VMID field set to all
 * ones (see struct vcmdq_fast_masks), @w1 word 1.
 */
static inline bool vcmdq_fast_ok(const struct vcmdq_engine *e, u64 w0v,
				 u64 w1)
{
	u8 op = (u8)w0v;

	return !((w0v & e->reject.w0[op]) | (w1 & e->reject.w1[op]));
}

/**
 * vcmdq_engine_init() - set up an engine for one queue
 * @e: engine, caller's memory
 * @cfg: parameters; copied
 * @ops: backend; read, issue, publish and complete are required
 * @priv: passed to every backend call
 * @sids: vSID -> pSID table the queue translates through; NULL if and only
 *	if @ops->sid does it
 *
 * The queue starts empty with CONS 0; vcmdq_reset() sets another CONS.
 *
 * Return: 0, or -EINVAL for a parameter out of range.
 */
int vcmdq_engine_init(struct vcmdq_engine *e, const struct vcmdq_config *cfg,
		      const struct vcmdq_ops *ops, void *priv,
		      const struct vcmdq_sidmap *sids)
{
	if (!ops || !ops->read || !ops->issue || !ops->publish ||
	    !ops->complete || !ops->sid == !sids)
		return -EINVAL;
	if ((unsigned int)cfg->layout >= VCMDQ_NR_LAYOUTS ||
	    cfg->log2size > VCMDQ_MAX_LOG2SIZE ||
	    cfg->batch < 1 || cfg->batch > VCMDQ_BATCH_MAX ||
	    (cfg->caps & ~(VCMDQ_CAP_MSI | VCMDQ_CAP_SEV)))
		return -EINVAL;

	e->ops = ops;
	e->priv = priv;
	e->sids = sids;
	e->cfg = *cfg;
	e->policy = vcmdq_policy[cfg->layout];
	e->vmid_w0 = vcmdq_field_prep(VCMDQ_TLBI_0_VMID, cfg->vmid);
	vcmdq_fast_init(e);
	e->stats = (struct vcmdq_stats){};
	vcmdq_reset(e, 0);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(vcmdq_engine_init, "VCMDQ_SW");

/**
 * vcmdq_reset() - (re)start the queue at @cons, as on CMDQ enable
 * @e: engine
 * @cons: CONS pointer; bits above the wrap bit are ignored, as in the
 *	SMMU_CMDQ_CONS register
 *
 * Clears any stop, pending exit or error. Does not publish.
 */
void vcmdq_reset(struct vcmdq_engine *e, u32 cons)
{
	e->cons = cons & vcmdq_q_ptr_mask(e->cfg.log2size);
	e->cerror = VCMDQ_CERROR_NONE;
	e->halt = VCMDQ_IDLE;
	e->unsynced = false;
	e->stop.status = VCMDQ_IDLE;
	e->pub = vcmdq_cons_value(e);
}
EXPORT_SYMBOL_NS_GPL(vcmdq_reset, "VCMDQ_SW");

/**
 * vcmdq_restore() - take over a queue where another consumer left it
 * @e: engine
 * @cons_reg: the CONS register the guest has seen: pointer and ERR code
 *	(checked by the caller: no other bits, a code of enum vcmdq_cerror)
 *
 * Like vcmdq_reset(), but an ERR code is kept: the queue starts stopped at
 * that command error (VCMDQ_CERROR), so the failed command does not run
 * again and no second error is raised; vcmdq_error_ack() resumes it when
 * the guest acknowledges the error it already saw. Does not publish.
 */
void vcmdq_restore(struct vcmdq_engine *e, u32 cons_reg)
{
	u32 cerror = vcmdq_field_get(VCMDQ_CONS_ERR, cons_reg);

	vcmdq_reset(e, cons_reg);
	if (cerror == VCMDQ_CERROR_NONE)
		return;
	e->cerror = cerror;
	e->halt = VCMDQ_CERROR;
	e->stop.status = VCMDQ_CERROR;
	e->stop.index = e->cons;
	e->stop.cerror = cerror;
	e->pub = vcmdq_cons_value(e);
}
EXPORT_SYMBOL_NS_GPL(vcmdq_restore, "VCMDQ_SW");

/**
 * vcmdq_restore_exit() - take over a queue stopped for the VMM
 * @e: engine (main-CMDQ layout)
 * @cons: CONS pointer, at the entry the queue stopped before
 * @cmd: that entry as the previous consumer read it
 *
 * The queue starts stopped with VCMDQ_EXIT at @cons, as if it had just
 * read @cmd there; vcmdq_exit_done() answers it. Does not publish.
 */
void vcmdq_restore_exit(struct vcmdq_engine *e, u32 cons,
			const struct vcmdq_cmd *cmd)
{
	vcmdq_reset(e, cons);
	e->halt = VCMDQ_EXIT;
	e->stop.status = VCMDQ_EXIT;
	e->stop.index = e->cons;
	e->stop.cmd = *cmd;
	e->stop.cerror = VCMDQ_CERROR_NONE;
	e->stop.err = 0;
}
EXPORT_SYMBOL_NS_GPL(vcmdq_restore_exit, "VCMDQ_SW");

static void vcmdq_publish(struct vcmdq_engine *e)
{
	e->pub = vcmdq_cons_value(e);
	e->ops->publish(e->priv, e->pub);
}

static enum vcmdq_status vcmdq_stop(struct vcmdq_engine *e,
				    enum vcmdq_status why, u32 index,
				    const struct vcmdq_cmd *cmd,
				    enum vcmdq_cerror cerror, int err)
{
	e->stop.status = why;
	e->stop.index = index;
	e->stop.cmd.w[0] = cmd ? cmd->w[0] : 0;
	e->stop.cmd.w[1] = cmd ? cmd->w[1] : 0;
	e->stop.cerror = cerror;
	e->stop.err = err;
	if (why == VCMDQ_CERROR) {
		e->cerror = cerror;
		e->stats.errors++;
	} else if (why == VCMDQ_EXIT) {
		e->stats.exits++;
	}
	if (why != VCMDQ_BAD_PROD && why != VCMDQ_DEFER)
		e->halt = why;
	if (why != VCMDQ_BAD_PROD && e->pub != vcmdq_cons_value(e))
		vcmdq_publish(e);
	if (e->ops->stopped)
		e->ops->stopped(e->priv, &e->stop);
	return why;
}

/* Issue the host batch (and a host CMD_SYNC with @sync if anything needs it). */
static int vcmdq_flush(struct vcmdq_engine *e, bool sync)
{
	u32 n = e->nb;
	int ret;

	if (!n && !(sync && e->unsynced))
		return 0;
	ret = e->ops->issue(e->priv, e->hbuf, n, sync);
	e->nb = 0;
	if (ret) {
		/* Whatever the host took still wants a sync. */
		e->unsynced = true;
		return ret;
	}
	e->unsynced = !sync;
	e->stats.batches++;
	e->stats.host_cmds += n;
	e->stats.host_syncs += sync;
	if (n > e->stats.max_batch)
		e->stats.max_batch = n;
	return 0;
}

/*
 * Everything but the stage-1 TLBI fast case. Returns VCMDQ_IDLE to go on,
 * or the status the queue stopped with at @rd. @c may be the very slot of
 * e->hbuf its host command goes to: it is read before that is written.
 */
static enum vcmdq_status vcmdq_slow_cmd(struct vcmdq_engine *e,
					const struct vcmdq_cmd *c, u32 rd)
{
	enum vcmdq_kind kind = (enum vcmdq_kind)e->policy[vcmdq_cmd_op(c)];
	struct vcmdq_sync_done done;
	struct vcmdq_cmd *h;
	u32 psid, vsid, cs;
	int ret;

	switch (kind) {
	case VCMDQ_K_TLBI:
		/*
		 * The fast path takes every TLBI of the layout without a
		 * reserved bit (vcmdq_policy_selftest() checks that every one
		 * defines the VMID field); what is left here is CERROR_ILL.
		 */
		break;
	case VCMDQ_K_NSNH:
		if (vcmdq_reserved_set(c))
			goto ill;
		h = &e->hbuf[e->nb++];
		h->w[0] = VCMDQ_OP_TLBI_NH_ALL | e->vmid_w0;
		h->w[1] = 0;
		return VCMDQ_IDLE;
	case VCMDQ_K_SID:
		if (vcmdq_reserved_set(c))
			goto ill;
		vsid = (u32)vcmdq_field_get(VCMDQ_CFGI_0_SID, c->w[0]);
		if (e->ops->sid ? e->ops->sid(e->priv, vsid, &psid) :
				  !vcmdq_sidmap_lookup(e->sids, vsid, &psid)) {
			if (vcmdq_unknown_sid[e->cfg.layout] == VCMDQ_K_EXIT)
				goto to_vmm;
			goto ill;
		}
		h = &e->hbuf[e->nb++];
		h->w[0] = (c->w[0] & ~VCMDQ_CFGI_0_SID) |
			  vcmdq_field_prep(VCMDQ_CFGI_0_SID, psid);
		h->w[1] = c->w[1];
		return VCMDQ_IDLE;
	case VCMDQ_K_SYNC:
		cs = (u32)vcmdq_field_get(VCMDQ_SYNC_0_CS, c->w[0]);
		if (vcmdq_reserved_set(c) || cs > VCMDQ_SYNC_CS_SEV)
			goto ill;
		ret = vcmdq_flush(e, true);
		if (ret == -ETIMEDOUT) {
			e->cons = rd;
			return vcmdq_stop(e, VCMDQ_CERROR, rd, c,
				    VCMDQ_CERROR_ATC_INV_SYNC, ret);
		}
		if (ret)
			goto fault;
		done.index = rd;
		done.addr = 0;
		done.data = 0;
		if (cs == VCMDQ_SYNC_CS_SEV) {
			done.kind = VCMDQ_DONE_SEV;
		} else if (e->cfg.caps & VCMDQ_CAP_MSI) {
			done.kind = VCMDQ_DONE_MSI;
			done.addr = c->w[1] & VCMDQ_SYNC_1_MSIADDR;
			done.data = (u32)vcmdq_field_get(VCMDQ_SYNC_0_MSIDATA,
						      c->w[0]);
		} else {
			done.kind = VCMDQ_DONE_IRQ;
		}
		/*
		 * The MSI write is visible before CONS moves past its
		 * CMD_SYNC, as the SMMU orders them: a guest that polls CONS
		 * and then reads what the MSI wrote sees the data. An
		 * interrupt or an event comes after CONS: its handler reads
		 * CONS.
		 */
		if (cs != VCMDQ_SYNC_CS_NONE && done.kind == VCMDQ_DONE_MSI) {
			ret = e->ops->complete(e->priv, &done);
			if (ret) {
				/* The host sync is done: a retry only writes */
				e->cons = rd;
				return vcmdq_stop(e, ret == -EAGAIN ?
						  VCMDQ_DEFER : VCMDQ_FAULT,
						  rd, c, VCMDQ_CERROR_NONE, ret);
			}
		}
		/* Counted once it completes: a deferred one comes again */
		e->stats.guest_syncs++;
		e->cons = vcmdq_q_inc(e->cfg.log2size, rd, 1);
		vcmdq_publish(e);
		if (cs == VCMDQ_SYNC_CS_NONE || done.kind == VCMDQ_DONE_MSI)
			return VCMDQ_IDLE;
		ret = e->ops->complete(e->priv, &done);
		if (ret)
			return vcmdq_stop(e, VCMDQ_FAULT, rd, c, VCMDQ_CERROR_NONE,
				    ret);
		return VCMDQ_IDLE;
	case VCMDQ_K_EXIT:
to_vmm:
		ret = vcmdq_flush(e, false);
		if (ret)
			goto fault;
		e->cons = rd;
		return vcmdq_stop(e, VCMDQ_EXIT, rd, c, VCMDQ_CERROR_NONE, 0);
	case VCMDQ_K_ILL:
		goto ill;
	}
ill:
	ret = vcmdq_flush(e, false);
	if (ret)
		goto fault;
	e->cons = rd;
	return vcmdq_stop(e, VCMDQ_CERROR, rd, c, VCMDQ_CERROR_ILL, 0);
fault:
	return vcmdq_stop(e, VCMDQ_FAULT, rd, c, VCMDQ_CERROR_NONE, ret);
}

/**
 * vcmdq_process() - consume the guest queue up to @prod
 * @e: engine
 * @prod: the guest's PROD register value (wrap | index)
 * @budget: most entries to consume in this call; the caller reschedules on
 *	VCMDQ_MORE so that a flooding guest cannot pin the worker
 *
 * Host batches end at a guest CMD_SYNC, at the batch limit, before an exit
 * and at an error; whatever was issued is covered by a host CMD_SYNC before
 * the next guest CMD_SYNC completes. CONS is published after each completed
 * CMD_SYNC, at every stop and before returning.
 *
 * Return: why it returned; see enum vcmdq_status.
 */
enum vcmdq_status vcmdq_process(struct vcmdq_engine *e, u32 prod, u32 budget)
{
	const u32 l2 = e->cfg.log2size, size = 1U << l2, bmax = e->cfg.batch;
	/* Turns the all-ones VMID field of a checked word 0 into ours. */
	const u64 vmid_x = VCMDQ_TLBI_0_VMID ^ e->vmid_w0;
	const u32 start = e->cons;
	enum vcmdq_status st = VCMDQ_IDLE;
	struct vcmdq_cmd *c, *end, *out;
	u32 rd = start, left, idx, n;
	int ret;

	if (e->halt != VCMDQ_IDLE)
		return e->halt;
	if (!vcmdq_q_ptr_valid(l2, prod) ||
	    vcmdq_q_used(l2, prod, start) > size)
		return vcmdq_stop(e, VCMDQ_BAD_PROD, prod, NULL,
				  VCMDQ_CERROR_NONE, -EINVAL);

	left = vcmdq_q_used(l2, prod, start);
	if (left > budget)
		left = budget;

	e->nb = 0;
	while (left) {
		/*
		 * A chunk never wraps and never overfills the host batch: it
		 * is read straight into the batch, behind the commands already
		 * there, and rewritten in place. An entry yields at most one
		 * host command, so the write position never passes the read
		 * position and the loops need no bounds checks.
		 */
		out = &e->hbuf[e->nb];
		idx = vcmdq_q_idx(l2, rd);
		n = size - idx;
		if (n > left)
			n = left;
		if (n > bmax - e->nb)
			n = bmax - e->nb;
		ret = e->ops->read(e->priv, idx, out, n);
		if (ret) {
			int fret = vcmdq_flush(e, false);

			e->cons = rd;
			st = fret ? vcmdq_stop(e, VCMDQ_FAULT, rd, NULL,
					       VCMDQ_CERROR_NONE, fret) :
				    vcmdq_stop(e, VCMDQ_CERROR, rd, NULL,
					       VCMDQ_CERROR_ABT, ret);
			goto out;
		}
		left -= n;
		end = out + n;
		/*
		 * The common case, a run of stage-1 TLBIs: each becomes its
		 * host command where it was read; only word 0 changes.
		 */
		for (c = out; c < end; c++) {
			u64 w0v = c->w[0] | VCMDQ_TLBI_0_VMID;

			if (unlikely(!vcmdq_fast_ok(e, w0v, c->w[1])))
				break;
			c->w[0] = w0v ^ vmid_x;
		}
		/*
		 * From the first other command on, host commands may trail
		 * the entries they come from (a CMD_SYNC yields none, and
		 * restarts the batch).
		 */
		for (out = c; c < end; c++) {
			u64 w0v = c->w[0] | VCMDQ_TLBI_0_VMID, w1 = c->w[1];

			if (likely(vcmdq_fast_ok(e, w0v, w1))) {
				out->w[0] = w0v ^ vmid_x;
				out->w[1] = w1;
				out++;
				continue;
			}
			e->nb = out - e->hbuf;
			st = vcmdq_slow_cmd(e, c,
					    vcmdq_q_inc(l2, rd, n - (end - c)));
			if (st != VCMDQ_IDLE)
				goto out;
			out = &e->hbuf[e->nb];
		}
		e->nb = out - e->hbuf;
		rd = vcmdq_q_inc(l2, rd, n);
		if (e->nb == bmax) {
			ret = vcmdq_flush(e, false);
			if (ret) {
				st = vcmdq_stop(e, VCMDQ_FAULT, rd, NULL,
						VCMDQ_CERROR_NONE, ret);
				goto out;
			}
			e->cons = rd;
		}
	}

	ret = vcmdq_flush(e, false);
	if (ret) {
		st = vcmdq_stop(e, VCMDQ_FAULT, rd, NULL, VCMDQ_CERROR_NONE,
				ret);
		goto out;
	}
	e->cons = rd;
	if (e->pub != vcmdq_cons_value(e))
		vcmdq_publish(e);
	st = vcmdq_q_used(l2, prod, rd) ? VCMDQ_MORE : VCMDQ_IDLE;
out:
	e->stats.cmds += vcmdq_q_used(l2, e->cons, start);
	return st;
}
EXPORT_SYMBOL_NS_GPL(vcmdq_process, "VCMDQ_SW");

/**
 * vcmdq_quiesce() - complete on the host what the queue has issued
 * @e: engine, between vcmdq_process() calls
 *
 * vcmdq_process() may return (budget spent, a stop) with host commands
 * issued but no host CMD_SYNC after them, as an SMMU's CONS may pass
 * commands it has not completed. Issue that CMD_SYNC and wait for it, so
 * nothing the queue took is still in flight on the host.
 *
 * Return: 0, or the backend's error (the commands still want a sync).
 */
int vcmdq_quiesce(struct vcmdq_engine *e)
{
	if (!e->unsynced)
		return 0;
	return vcmdq_flush(e, true);
}
EXPORT_SYMBOL_NS_GPL(vcmdq_quiesce, "VCMDQ_SW");

/**
 * vcmdq_exit_done() - the VMM finished the command the queue stopped at
 * @e: engine stopped with VCMDQ_EXIT
 * @cerror: VCMDQ_CERROR_NONE to consume the command and go on, or the error
 *	the VMM found in it (CONS stays at it with that CONS.ERR)
 *
 * Publishes the new CONS. The caller runs vcmdq_process() again.
 *
 * Return: 0, or -EINVAL if no exit is pending or @cerror is not a CERROR.
 */
int vcmdq_exit_done(struct vcmdq_engine *e, enum vcmdq_cerror cerror)
{
	struct vcmdq_cmd cmd = e->stop.cmd;

	if (e->halt != VCMDQ_EXIT ||
	    (unsigned int)cerror > VCMDQ_CERROR_ATC_INV_SYNC)
		return -EINVAL;
	if (cerror != VCMDQ_CERROR_NONE) {
		vcmdq_stop(e, VCMDQ_CERROR, e->cons, &cmd, cerror, 0);
		return 0;
	}
	e->cons = vcmdq_q_inc(e->cfg.log2size, e->cons, 1);
	e->stats.cmds++;
	e->halt = VCMDQ_IDLE;
	vcmdq_publish(e);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(vcmdq_exit_done, "VCMDQ_SW");

/**
 * vcmdq_error_ack() - the guest acknowledged CMDQ_ERR (GERRORN)
 * @e: engine stopped with VCMDQ_CERROR
 *
 * Clears CONS.ERR and publishes; processing resumes at CONS, re-reading
 * the entry the guest has fixed.
 *
 * Return: 0, or -EINVAL if the queue is not stopped at an error.
 */
int vcmdq_error_ack(struct vcmdq_engine *e)
{
	if (e->halt != VCMDQ_CERROR)
		return -EINVAL;
	e->cerror = VCMDQ_CERROR_NONE;
	e->halt = VCMDQ_IDLE;
	vcmdq_publish(e);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(vcmdq_error_ack, "VCMDQ_SW");
