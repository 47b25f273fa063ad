/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-in for the kernel's <linux/compiler.h>: the branch
 * hints the engine uses.
 */
#ifndef VCMDQ_TOOLS_LINUX_COMPILER_H
#define VCMDQ_TOOLS_LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#endif /* VCMDQ_TOOLS_LINUX_COMPILER_H */
