/*
 * strset.h — a set of interned strings: equal strings share one pointer.
 *
 * Open addressing on the strings' contents, grown to keep it at most half
 * full; each string is a strdup'd copy the set owns until strset_free.
 * The profile (profile.c) and the resolver's cache (symcache.c) key their
 * tables by these pointers.
 */
#ifndef LOCKCONTEND_STRSET_H
#define LOCKCONTEND_STRSET_H

#include <stddef.h>

struct strset {
	char **slot; /* cap slots, NULL where empty */
	size_t cap, n;
};

/* The set's copy of s ("" for NULL), added if new; NULL out of memory. */
const char *strset_intern(struct strset *set, const char *s);

void strset_free(struct strset *set);

#endif
