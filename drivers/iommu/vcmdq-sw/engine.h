/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vcmdq-sw command engine: consumes a guest SMMUv3 command queue
 * [CONS, PROD), validates and rewrites every command, issues host batches
 * through a backend and completes CMD_SYNC the way the guest asked.
 *
 * Portable: built unchanged into the kernel module and into user space.
 * The engine never allocates and never sleeps on its own; the backend may.
 *
 * Locking: none inside. One caller at a time per engine (the kernel worker
 * holds the queue's mutex; user-space harnesses own it from one thread).
 */
#ifndef VCMDQ_ENGINE_H
#define VCMDQ_ENGINE_H

#include "cmd.h"
#include "policy.h"
#include "queue.h"
#include "sidmap.h"

/* Largest host batch, as arm-smmu-v3's CMDQ_BATCH_ENTRIES on 64-bit. */
#define VCMDQ_BATCH_MAX		64

/*
 * Capabilities the vSMMU advertises to the guest: IDR0.MSI (CS=IRQ is an
 * MSI write) and IDR0.SEV (CS=SEV sends an event).
 */
#define VCMDQ_CAP_MSI		VCMDQ_BIT(0)
#define VCMDQ_CAP_SEV		VCMDQ_BIT(1)

/**
 * enum vcmdq_status - why vcmdq_process() returned
 * @VCMDQ_IDLE: CONS caught up with PROD
 * @VCMDQ_MORE: the budget ran out with work left; call again
 * @VCMDQ_EXIT: stopped before a command the VMM must handle; see
 *	vcmdq_exit_done()
 * @VCMDQ_CERROR: stopped at a failing command with CONS.ERR set; see
 *	vcmdq_error_ack()
 * @VCMDQ_BAD_PROD: the PROD value is malformed (bits above the wrap bit) or
 *	overruns CONS; nothing was consumed. Not sticky: a later valid PROD
 *	is processed normally
 * @VCMDQ_FAULT: the backend failed to issue; halted until vcmdq_reset()
 * @VCMDQ_DEFER: stopped before a CMD_SYNC whose MSI write the backend
 *	cannot do in this context (@complete returned -EAGAIN); its host sync
 *	is done and CONS points at it. Not sticky: the next vcmdq_process()
 *	call, from a context that can write, completes it
 */
enum vcmdq_status {
	VCMDQ_IDLE = 0,
	VCMDQ_MORE,
	VCMDQ_EXIT,
	VCMDQ_CERROR,
	VCMDQ_BAD_PROD,
	VCMDQ_FAULT,
	VCMDQ_DEFER,
};

/**
 * enum vcmdq_done_kind - how a CMD_SYNC is signalled beyond CONS
 * @VCMDQ_DONE_MSI: write @data to guest physical @addr (CS=IRQ, MSI cap)
 * @VCMDQ_DONE_IRQ: raise the queue's wired interrupt (CS=IRQ, no MSI cap)
 * @VCMDQ_DONE_SEV: send an event (CS=SEV)
 */
enum vcmdq_done_kind {
	VCMDQ_DONE_MSI = 1,
	VCMDQ_DONE_IRQ,
	VCMDQ_DONE_SEV,
};

/**
 * struct vcmdq_sync_done - a completed guest CMD_SYNC that needs signalling
 * @kind: see enum vcmdq_done_kind
 * @index: queue pointer (wrap | index) of the CMD_SYNC
 * @addr: MSI address (bits 51:2), @kind == VCMDQ_DONE_MSI only
 * @data: MSI data, @kind == VCMDQ_DONE_MSI only
 */
struct vcmdq_sync_done {
	enum vcmdq_done_kind kind;
	u32 index;
	u64 addr;
	u32 data;
};

/**
 * struct vcmdq_stop_info - why and where the engine stopped
 * @status: VCMDQ_EXIT, VCMDQ_CERROR, VCMDQ_BAD_PROD or VCMDQ_FAULT
 * @index: queue pointer of the entry it stopped at (BAD_PROD: the PROD)
 * @cmd: that entry as read from the guest (EXIT, CERROR with ILL)
 * @cerror: the CONS.ERR code (VCMDQ_CERROR)
 * @err: the backend's negative errno (VCMDQ_FAULT, CERROR_ABT)
 */
struct vcmdq_stop_info {
	enum vcmdq_status status;
	u32 index;
	struct vcmdq_cmd cmd;
	enum vcmdq_cerror cerror;
	int err;
};

/**
 * struct vcmdq_ops - what the engine needs from its environment
 * @read: copy @n entries starting at queue index @idx (never wrapping) to
 *	@dst in CPU byte order. Return 0, or a negative errno: the engine
 *	stops at @idx with CERROR_ABT, as the SMMU does on a fetch abort.
 * @issue: issue @n (0..VCMDQ_BATCH_MAX) host commands in order; with @sync,
 *	follow them with a host CMD_SYNC and wait for it. Return 0;
 *	-ETIMEDOUT for a sync that timed out on an ATC invalidation (the
 *	guest sees CERROR_ATC_INV_SYNC at its CMD_SYNC); any other negative
 *	errno halts the queue (VCMDQ_FAULT).
 * @publish: store a new CONS register value (pointer | ERR << 24) where
 *	the guest reads it. Called after every completed CMD_SYNC, at every
 *	stop, and at the end of each vcmdq_process() call that consumed.
 * @complete: signal a completed CMD_SYNC (MSI write, IRQ, SEV), after the
 *	CONS that covers it was published (an MSI write: before). Return 0 or
 *	a negative errno (the queue halts with VCMDQ_FAULT); -EAGAIN for an
 *	MSI write this context cannot do: the queue stops before the CMD_SYNC
 *	with VCMDQ_DEFER, to complete it on a later call.
 * @stopped: optional; told once per stop, before vcmdq_process() returns
 *	it.
 * @sid: optional; translate a vSID to the physical SID, returning 0 or a
 *	negative errno (the command is CERROR_ILL). When set it replaces the
 *	engine's vcmdq_sidmap, for a backend whose map lives elsewhere (the
 *	kernel asks the vIOMMU's vDEVICEs at each command).
 */
struct vcmdq_ops {
	int (*read)(void *priv, u32 idx, struct vcmdq_cmd *dst, u32 n);
	int (*issue)(void *priv, const struct vcmdq_cmd *cmds, u32 n, bool sync);
	void (*publish)(void *priv, u32 cons_reg);
	int (*complete)(void *priv, const struct vcmdq_sync_done *done);
	void (*stopped)(void *priv, const struct vcmdq_stop_info *stop);
	int (*sid)(void *priv, u32 vsid, u32 *psid);
};

/**
 * struct vcmdq_config - a queue's fixed parameters
 * @layout: guest register layout
 * @log2size: queue size, 0..VCMDQ_MAX_LOG2SIZE
 * @vmid: the vIOMMU's VMID, forced into every TLBI
 * @batch: host batch limit, 1..VCMDQ_BATCH_MAX
 * @caps: VCMDQ_CAP_* the vSMMU advertises
 */
struct vcmdq_config {
	enum vcmdq_layout layout;
	u32 log2size;
	u16 vmid;
	u32 batch;
	u32 caps;
};

/**
 * struct vcmdq_stats - counters, only ever incremented
 * @cmds: guest entries consumed
 * @host_cmds: commands issued to the host
 * @batches: backend issue() calls
 * @host_syncs: issue() calls with a host CMD_SYNC
 * @guest_syncs: guest CMD_SYNCs completed
 * @exits: stops for the VMM
 * @errors: CERROR stops
 * @max_batch: largest host batch issued
 */
struct vcmdq_stats {
	u64 cmds;
	u64 host_cmds;
	u64 batches;
	u64 host_syncs;
	u64 guest_syncs;
	u64 exits;
	u64 errors;
	u32 max_batch;
};

/**
 * struct vcmdq_fast_masks - the fast path's whole check, per opcode
 * @w0: bits of word 0 that send an entry of the opcode to the slow path
 * @w1: bits of word 1 that do
 *
 * For an opcode the layout issues as a stage-1 TLBI, the complement of its
 * defined fields (vcmdq_fields); for every other opcode, all bits. Word 0
 * is checked with its VMID field set to all ones: every TLBI defines that
 * field, so a TLBI's mask clears it, while the all-ones mask of any other
 * opcode keeps it and even an all-zero entry (opcode 0) fails.
 */
struct vcmdq_fast_masks {
	u64 w0[256];
	u64 w1[256];
};

/**
 * struct vcmdq_engine - one guest command queue
 * @ops: backend
 * @priv: backend's context
 * @sids: vSID -> pSID table, owned by the caller; may be shared by queues;
 *	NULL when @ops->sid translates
 * @policy: vcmdq_policy row of the layout
 * @vmid_w0: the VMID, already placed in TLBI word 0
 * @cfg: the parameters the queue was set up with
 * @cons: CONS pointer: entries before it are done (issued or completed)
 * @cerror: CONS.ERR while stopped at an error
 * @pub: the CONS register value last published
 * @halt: VCMDQ_IDLE while running, else the sticky stop being waited on
 * @unsynced: host commands were issued since the last host CMD_SYNC
 * @nb: commands in @hbuf, during vcmdq_process()
 * @stop: the last stop
 * @stats: counters
 * @hbuf: the host batch being built. Guest entries are read into it, behind
 *	the commands already there, as private copies (never re-read), and
 *	each becomes its host command in place or further forward
 * @reject: the fast path's check, built from @policy and vcmdq_fields by
 *	vcmdq_engine_init(): one load per word instead of a policy lookup, a
 *	field lookup and a compare. Per engine (4 KiB) rather than per layout
 *	so that it is derived from the policy, never written out by hand
 */
struct vcmdq_engine {
	const struct vcmdq_ops *ops;
	void *priv;
	const struct vcmdq_sidmap *sids;
	const u8 *policy;
	u64 vmid_w0;
	struct vcmdq_config cfg;
	u32 cons;
	enum vcmdq_cerror cerror;
	u32 pub;
	enum vcmdq_status halt;
	bool unsynced;
	u32 nb;
	struct vcmdq_stop_info stop;
	struct vcmdq_stats stats;
	struct vcmdq_cmd hbuf[VCMDQ_BATCH_MAX];
	struct vcmdq_fast_masks reject;
};

int vcmdq_engine_init(struct vcmdq_engine *e, const struct vcmdq_config *cfg,
		      const struct vcmdq_ops *ops, void *priv,
		      const struct vcmdq_sidmap *sids);
void vcmdq_reset(struct vcmdq_engine *e, u32 cons);
void vcmdq_restore(struct vcmdq_engine *e, u32 cons_reg);
void vcmdq_restore_exit(struct vcmdq_engine *e, u32 cons,
			const struct vcmdq_cmd *cmd);
int vcmdq_quiesce(struct vcmdq_engine *e);
enum vcmdq_status vcmdq_process(struct vcmdq_engine *e, u32 prod, u32 budget);
int vcmdq_exit_done(struct vcmdq_engine *e, enum vcmdq_cerror cerror);
int vcmdq_error_ack(struct vcmdq_engine *e);
const char *vcmdq_status_name(enum vcmdq_status s);

static inline u32 vcmdq_cons_value(const struct vcmdq_engine *e)
{
	return vcmdq_cons_reg(e->cons, e->cerror);
}

#endif /* VCMDQ_ENGINE_H */
