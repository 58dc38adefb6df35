/*
 * strset.c — interned strings (see strset.h).
 */
#include "strset.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t strset_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool strset_grow(struct strset *set)
{
	size_t ncap = set->cap ? 2 * set->cap : 1024;
	char **n = calloc(ncap, sizeof(*n));
	if (!n)
		return false;
	for (size_t i = 0; i < set->cap; i++) {
		if (!set->slot[i])
			continue;
		size_t j = strset_hash(set->slot[i]) & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = set->slot[i];
	}
	free(set->slot);
	set->slot = n;
	set->cap = ncap;
	return true;
}

const char *strset_intern(struct strset *set, const char *s)
{
	if (!s)
		s = "";
	if ((set->n + 1) * 2 > set->cap && !strset_grow(set))
		return NULL;
	size_t j = strset_hash(s) & (set->cap - 1);
	while (set->slot[j] && strcmp(set->slot[j], s) != 0)
		j = (j + 1) & (set->cap - 1);
	if (!set->slot[j]) {
		if (!(set->slot[j] = strdup(s)))
			return NULL;
		set->n++;
	}
	return set->slot[j];
}

void strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
	memset(set, 0, sizeof(*set));
}
