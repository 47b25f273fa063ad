/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SMMUv3 queue arithmetic. A queue of 2^log2size entries is addressed by a
 * pointer value (wrap << log2size) | index; PROD == CONS is empty, equal
 * indexes with different wrap bits is full. CONS registers carry an error
 * code in bits 30:24.
 */
#ifndef VCMDQ_QUEUE_H
#define VCMDQ_QUEUE_H

#include "compat.h"

/* Architectural maximum of SMMU_IDR1.CMDQS and of a VCMDQ's LOG2SIZE. */
#define VCMDQ_MAX_LOG2SIZE		19

#define VCMDQ_CONS_ERR			VCMDQ_GENMASK(30, 24)

enum vcmdq_cerror {
	VCMDQ_CERROR_NONE		= 0,
	VCMDQ_CERROR_ILL		= 1,
	VCMDQ_CERROR_ABT		= 2,
	VCMDQ_CERROR_ATC_INV_SYNC	= 3,
};

/* Mask of the pointer bits: index plus wrap. */
static inline u32 vcmdq_q_ptr_mask(u32 log2size)
{
	return (2U << log2size) - 1;
}

static inline u32 vcmdq_q_idx(u32 log2size, u32 p)
{
	return p & ((1U << log2size) - 1);
}

static inline u32 vcmdq_q_wrap(u32 log2size, u32 p)
{
	return p & (1U << log2size);
}

/* A pointer value is well formed if no bit above the wrap bit is set. */
static inline bool vcmdq_q_ptr_valid(u32 log2size, u32 p)
{
	return !(p & ~vcmdq_q_ptr_mask(log2size));
}

/* Entries in [cons, prod); more than 2^log2size means PROD overran CONS. */
static inline u32 vcmdq_q_used(u32 log2size, u32 prod, u32 cons)
{
	return (prod - cons) & vcmdq_q_ptr_mask(log2size);
}

static inline bool vcmdq_q_empty(u32 prod, u32 cons)
{
	return prod == cons;
}

static inline bool vcmdq_q_full(u32 log2size, u32 prod, u32 cons)
{
	return vcmdq_q_used(log2size, prod, cons) == (1U << log2size);
}

static inline u32 vcmdq_q_inc(u32 log2size, u32 p, u32 n)
{
	return (p + n) & vcmdq_q_ptr_mask(log2size);
}

/* The value of a CONS register: pointer plus error code. */
static inline u32 vcmdq_cons_reg(u32 cons, enum vcmdq_cerror err)
{
	return cons | (u32)vcmdq_field_prep(VCMDQ_CONS_ERR, err);
}

#endif /* VCMDQ_QUEUE_H */
