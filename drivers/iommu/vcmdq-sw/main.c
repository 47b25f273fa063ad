// SPDX-License-Identifier: GPL-2.0
/*
 * vcmdq-sw: a software VCMDQ. For now the module carries the portable
 * engine (engine.c, policy.c, sidmap.c, exported in the VCMDQ_SW
 * namespace) for its KUnit suite; the fast path will live here.
 */
#include <linux/module.h>

MODULE_DESCRIPTION("vcmdq-sw: SMMUv3 command queue fast path (engine)");
MODULE_LICENSE("GPL");
