/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few definitions the portable engine needs, mapped onto the kernel's
 * headers in a kernel build and onto freestanding C headers in user space
 * (the tools/virtio pattern). Nothing here allocates, locks or prints.
 */
#ifndef VCMDQ_COMPAT_H
#define VCMDQ_COMPAT_H

#ifdef __KERNEL__
#include <linux/array_size.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/types.h>
#else
#include "../../../tools/include/vcmdq_user.h"
#endif /* __KERNEL__ */

/* GENMASK_ULL without the kernel's compile-time checks, usable in both. */
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
