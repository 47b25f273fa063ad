/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-in for the kernel's <linux/array_size.h>. The kernel's
 * version also refuses a pointer; the module build of the same code checks
 * that.
 */
#ifndef VCMDQ_TOOLS_LINUX_ARRAY_SIZE_H
#define VCMDQ_TOOLS_LINUX_ARRAY_SIZE_H

#define ARRAY_SIZE(arr)	(sizeof(arr) / sizeof((arr)[0]))

#endif /* VCMDQ_TOOLS_LINUX_ARRAY_SIZE_H */
