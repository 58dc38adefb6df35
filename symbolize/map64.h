/*
 * map64.h — a hash table from 64-bit keys to 32-bit values.
 *
 * Open addressing with linear probing, kept at most half full, doubled as
 * it fills; a value is stored plus one, so 0 marks an empty slot.  The
 * profile (profile.c) maps addresses and interned names to table indexes
 * with it, the resolver's cache (symcache.c) pcs and data addresses.  A
 * zeroed struct is an empty map.
 */
#ifndef LOCKCONTEND_MAP64_H
#define LOCKCONTEND_MAP64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct map64 {
	uint64_t *keys;
	uint32_t *vals; /* value + 1; 0 = empty */
	size_t cap, n;
};

/* True, with *val set, if key is in m. */
bool map64_get(const struct map64 *m, uint64_t key, uint32_t *val);

/* key -> val, added or replaced; false (m unchanged) out of memory. */
bool map64_put(struct map64 *m, uint64_t key, uint32_t val);

void map64_free(struct map64 *m);

/* The table's hash of a key: also for keys made of several words. */
uint64_t map64_mix(uint64_t x);

#endif
