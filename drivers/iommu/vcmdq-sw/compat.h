/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel headers the portable engine builds on, and the few helpers it
 * needs in a form the kernel does not offer. Kernel headers only: a
 * user-space build puts tools/vcmdq-sw/include first on its include path,
 * whose stand-ins provide what the engine uses of these headers (the
 * tools/virtio pattern). Nothing here allocates, locks or prints.
 */
#ifndef VCMDQ_COMPAT_H
#define VCMDQ_COMPAT_H

#include <linux/array_size.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/types.h>

/* GENMASK_ULL() and BIT_ULL(), without needing <linux/bits.h>. */
#define VCMDQ_GENMASK(h, l)	((~0ULL << (l)) & (~0ULL >> (63 - (h))))
#define VCMDQ_BIT(n)		(1ULL << (n))

/* FIELD_GET/FIELD_PREP for a contiguous mask; the mask need not be const. */
static inline u64 vcmdq_field_get(u64 mask, u64 v)
{
	return (v & mask) >> __builtin_ctzll(mask);
}

static inline u64 vcmdq_field_prep(u64 mask, u64 v)
{
	return (v << __builtin_ctzll(mask)) & mask;
}

#endif /* VCMDQ_COMPAT_H */
