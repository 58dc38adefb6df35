/*
 * grow.h — room in a growing array.
 *
 * The profile (profile.c) and the resolver's cache (symcache.c) keep their
 * tables as plain arrays with a capacity beside them, doubled from 64 as
 * they fill, so adding is amortised O(1) and nothing else is needed.
 */
#ifndef LOCKCONTEND_GROW_H
#define LOCKCONTEND_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* Room in *arr (of *cap elements of elem bytes) for want elements: keeps
 * it, or reallocates to the next doubling and updates *cap.  False, with
 * *arr and *cap unchanged, out of memory or past SIZE_MAX. */
bool grow_to(void **arr, size_t *cap, size_t want, size_t elem);

#endif
