/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user-space half of drivers/iommu/vcmdq-sw/compat.h: kernel types and
 * the few kernel macros the portable engine uses, for builds outside the
 * kernel (tests, tools/vcmdq-bench).
 */
#ifndef VCMDQ_USER_H
#define VCMDQ_USER_H

#include <errno.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define EXPORT_SYMBOL_NS_GPL(sym, ns)

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

#endif /* VCMDQ_USER_H */
