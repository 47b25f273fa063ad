/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-in for the kernel's <linux/types.h>: the system's uapi
 * header of the same name (the __u32 family), plus the kernel's own names
 * for them, bool and NULL, as the kernel header provides them.
 */
#ifndef VCMDQ_TOOLS_LINUX_TYPES_H
#define VCMDQ_TOOLS_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#endif /* VCMDQ_TOOLS_LINUX_TYPES_H */
