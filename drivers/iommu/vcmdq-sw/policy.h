/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command policy: what the fast path does with each guest command, per guest
 * register layout. See Documentation/engine.rst for the table and its
 * reasoning.
 */
#ifndef VCMDQ_POLICY_H
#define VCMDQ_POLICY_H

#include "cmd.h"

/**
 * enum vcmdq_layout - the register layout the guest programs the queue with
 * @VCMDQ_LAYOUT_SMMUV3: SMMUv3 main CMDQ, unmodified guest SMMUv3 driver
 * @VCMDQ_LAYOUT_TEGRA241: tegra241 CMDQV logical VCMDQ; invalidations only
 */
enum vcmdq_layout {
	VCMDQ_LAYOUT_SMMUV3	= 0,
	VCMDQ_LAYOUT_TEGRA241	= 1,
	VCMDQ_NR_LAYOUTS,
};

/**
 * enum vcmdq_kind - the fast path's treatment of a guest command
 * @VCMDQ_K_ILL: never issued; CONS stops at it with CERROR_ILL
 * @VCMDQ_K_TLBI: stage-1 TLBI; VMID forced to the vIOMMU's VMID
 * @VCMDQ_K_NSNH: TLBI_NSNH_ALL; becomes TLBI_NH_ALL of the vIOMMU's VMID
 * @VCMDQ_K_SID: StreamID in word 0 bits 63:32 translated vSID -> pSID; a
 *	vSID without a vDEVICE is treated as vcmdq_unknown_sid[] says
 * @VCMDQ_K_SYNC: CMD_SYNC; the engine syncs the host and completes it
 * @VCMDQ_K_EXIT: handed to the VMM, in order
 */
enum vcmdq_kind {
	VCMDQ_K_ILL	= 0,
	VCMDQ_K_TLBI,
	VCMDQ_K_NSNH,
	VCMDQ_K_SID,
	VCMDQ_K_SYNC,
	VCMDQ_K_EXIT,
};

/**
 * struct vcmdq_op_fields - the defined fields of a fast-path command
 * @w0: bits of word 0 that may be set
 * @w1: bits of word 1 that may be set
 *
 * A fast-path command with any other bit set is CERROR_ILL: nothing the
 * host does not understand is ever issued on the guest's behalf.
 */
struct vcmdq_op_fields {
	u64 w0;
	u64 w1;
};

extern const u8 vcmdq_policy[VCMDQ_NR_LAYOUTS][256];
extern const struct vcmdq_op_fields vcmdq_fields[256];
extern const u8 vcmdq_unknown_sid[VCMDQ_NR_LAYOUTS];

const char *vcmdq_op_name(u8 op);

static inline enum vcmdq_kind vcmdq_classify(enum vcmdq_layout layout, u8 op)
{
	return (enum vcmdq_kind)vcmdq_policy[layout][op];
}

/* True if @c sets a bit outside the defined fields of its opcode. */
static inline bool vcmdq_reserved_set(const struct vcmdq_cmd *c)
{
	const struct vcmdq_op_fields *f = &vcmdq_fields[vcmdq_cmd_op(c)];

	return (c->w[0] & ~f->w0) | (c->w[1] & ~f->w1);
}

#endif /* VCMDQ_POLICY_H */
