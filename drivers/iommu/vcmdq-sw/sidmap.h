/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vSID -> pSID translation for one vIOMMU: an open-addressed hash table
 * (linear probing, backward-shift deletion) over caller-provided slots, so
 * that sparse 32-bit vSIDs and devices with several StreamIDs all cost one
 * expected probe. Load is kept at or under 1/2.
 *
 * Locking: none inside. The owner serializes updates against lookups (the
 * kernel queue holds its lock; user space is single threaded).
 */
#ifndef VCMDQ_SIDMAP_H
#define VCMDQ_SIDMAP_H

#include "compat.h"

/**
 * struct vcmdq_sid_slot - one hash slot
 * @key: (1 << 32) | vSID when used, 0 when empty
 * @psid: the physical StreamID @key maps to
 */
struct vcmdq_sid_slot {
	u64 key;
	u32 psid;
};

/**
 * struct vcmdq_sidmap - a vSID -> pSID table
 * @slots: 2^@order slots, owned by the caller
 * @order: log2 of the number of slots
 * @count: used slots
 */
struct vcmdq_sidmap {
	struct vcmdq_sid_slot *slots;
	u32 order;
	u32 count;
};

void vcmdq_sidmap_init(struct vcmdq_sidmap *map, struct vcmdq_sid_slot *slots,
		       u32 order);
int vcmdq_sidmap_insert(struct vcmdq_sidmap *map, u32 vsid, u32 psid);
int vcmdq_sidmap_remove(struct vcmdq_sidmap *map, u32 vsid);

static inline u32 vcmdq_sidmap_hash(u32 vsid, u32 order)
{
	/* Fibonacci hashing: the top bits of a multiplicative hash. */
	return (u32)((vsid * 0x9e3779b97f4a7c15ULL) >> (64 - order));
}

/**
 * vcmdq_sidmap_lookup() - translate a vSID
 * @map: the table
 * @vsid: the guest's StreamID
 * @psid: set to the physical StreamID on success
 *
 * Return: true if @vsid is mapped.
 */
static inline bool vcmdq_sidmap_lookup(const struct vcmdq_sidmap *map,
				       u32 vsid, u32 *psid)
{
	u32 mask = (1U << map->order) - 1;
	u64 key = (1ULL << 32) | vsid;
	u32 i;

	if (!map->order)
		return false;
	for (i = vcmdq_sidmap_hash(vsid, map->order);; i = (i + 1) & mask) {
		const struct vcmdq_sid_slot *s = &map->slots[i];

		if (s->key == key) {
			*psid = s->psid;
			return true;
		}
		if (!s->key)
			return false;
	}
}

#endif /* VCMDQ_SIDMAP_H */
