// SPDX-License-Identifier: GPL-2.0
/*
 * vSID -> pSID hash table: see sidmap.h.
 */
#include "sidmap.h"

/**
 * vcmdq_sidmap_init() - set up an empty table
 * @map: the table
 * @slots: 2^@order slots; zeroed here
 * @order: log2 of the slot count, 0 (no slots) to 31
 */
void vcmdq_sidmap_init(struct vcmdq_sidmap *map, struct vcmdq_sid_slot *slots,
		       u32 order)
{
	u32 i;

	map->slots = slots;
	map->order = order;
	map->count = 0;
	for (i = 0; order && i < (1U << order); i++) {
		slots[i].key = 0;
		slots[i].psid = 0;
	}
}
EXPORT_SYMBOL_NS_GPL(vcmdq_sidmap_init, "VCMDQ_SW");

/**
 * vcmdq_sidmap_insert() - map @vsid to @psid
 * @map: the table
 * @vsid: guest StreamID, any 32-bit value
 * @psid: physical StreamID
 *
 * Return: 0, -EEXIST if @vsid is already mapped, -ENOSPC if the table would
 * be more than half full.
 */
int vcmdq_sidmap_insert(struct vcmdq_sidmap *map, u32 vsid, u32 psid)
{
	u32 mask = (1U << map->order) - 1;
	u64 key = (1ULL << 32) | vsid;
	u32 i;

	if (!map->order || map->count + 1 > (1U << map->order) / 2)
		return -ENOSPC;
	for (i = vcmdq_sidmap_hash(vsid, map->order); map->slots[i].key;
	     i = (i + 1) & mask) {
		if (map->slots[i].key == key)
			return -EEXIST;
	}
	map->slots[i].key = key;
	map->slots[i].psid = psid;
	map->count++;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(vcmdq_sidmap_insert, "VCMDQ_SW");

/**
 * vcmdq_sidmap_remove() - unmap @vsid
 * @map: the table
 * @vsid: guest StreamID
 *
 * Deletion shifts later members of the probe run back, so lookups never
 * need tombstones and stay one expected probe.
 *
 * Return: 0, or -ENOENT if @vsid was not mapped.
 */
int vcmdq_sidmap_remove(struct vcmdq_sidmap *map, u32 vsid)
{
	u32 mask = (1U << map->order) - 1;
	u64 key = (1ULL << 32) | vsid;
	u32 i, j, home;

	if (!map->order)
		return -ENOENT;
	for (i = vcmdq_sidmap_hash(vsid, map->order); map->slots[i].key != key;
	     i = (i + 1) & mask) {
		if (!map->slots[i].key)
			return -ENOENT;
	}
	/* i is the hole; pull back any later entry whose home is not in (i, j]. */
	for (j = (i + 1) & mask; map->slots[j].key; j = (j + 1) & mask) {
		home = vcmdq_sidmap_hash((u32)map->slots[j].key, map->order);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			map->slots[i] = map->slots[j];
			i = j;
		}
	}
	map->slots[i].key = 0;
	map->slots[i].psid = 0;
	map->count--;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(vcmdq_sidmap_remove, "VCMDQ_SW");
