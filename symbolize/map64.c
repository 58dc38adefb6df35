/*
 * map64.c — a hash table from 64-bit keys to 32-bit values (see map64.h).
 */
#include "map64.h"

#include <stdlib.h>

uint64_t map64_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Slot for key: the one that holds it, or the empty one it would take. */
static size_t map64_slot(const struct map64 *m, uint64_t key)
{
	size_t j = map64_mix(key) & (m->cap - 1);
	while (m->vals[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	return j;
}

static bool map64_grow(struct map64 *m)
{
	struct map64 g = {.cap = m->cap ? m->cap * 2 : 256};
	g.keys = calloc(g.cap, sizeof(*g.keys));
	g.vals = calloc(g.cap, sizeof(*g.vals));
	if (!g.keys || !g.vals) {
		free(g.keys);
		free(g.vals);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->vals[i])
			continue;
		size_t j = map64_slot(&g, m->keys[i]);
		g.keys[j] = m->keys[i];
		g.vals[j] = m->vals[i];
	}
	g.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = g;
	return true;
}

bool map64_get(const struct map64 *m, uint64_t key, uint32_t *val)
{
	if (!m->cap)
		return false;
	size_t j = map64_slot(m, key);
	if (!m->vals[j])
		return false;
	*val = m->vals[j] - 1;
	return true;
}

bool map64_put(struct map64 *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap && !map64_grow(m))
		return false;
	size_t j = map64_slot(m, key);
	m->n += !m->vals[j];
	m->keys[j] = key;
	m->vals[j] = val + 1;
	return true;
}

void map64_free(struct map64 *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct map64){0};
}
