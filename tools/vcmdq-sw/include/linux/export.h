/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-in for the kernel's <linux/export.h>: there is no module
 * to export to. The macro still expands to a declaration, as in
 * tools/virtio, so that it takes the semicolon after it and a misspelt
 * symbol fails to build.
 */
#ifndef VCMDQ_TOOLS_LINUX_EXPORT_H
#define VCMDQ_TOOLS_LINUX_EXPORT_H

#define EXPORT_SYMBOL_NS_GPL(sym, ns)	extern typeof(sym) sym

#endif /* VCMDQ_TOOLS_LINUX_EXPORT_H */
