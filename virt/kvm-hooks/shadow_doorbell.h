/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-kernel API of the KVM shadow doorbell (for vcmdq-sw's worker).
 */
#ifndef KVM_SHADOW_DOORBELL_H
#define KVM_SHADOW_DOORBELL_H

#include <linux/kvm_types.h>

struct kvm;
struct page;
struct ksdb;

struct ksdb *ksdb_register(struct kvm *kvm, gpa_t gpa, unsigned int len,
			   struct page *shadow, unsigned int offset,
			   void (*kick)(void *data), void *data);
void ksdb_unregister(struct ksdb *db);

#endif /* KVM_SHADOW_DOORBELL_H */
