/*
 * arena.h — the one block of memory lockcontend uses, reserved at start-up.
 *
 * One anonymous mmap, sized by LOCKCONTEND's arena= key.  Allocation is a
 * lock-free bump of an atomic offset; nothing is ever freed (buckets and
 * module records live as long as the process, as in Go's persistentalloc).
 * Pages the kernel never sees touched cost no memory.  arena_alloc may be
 * called from any thread, in hooks, with or without locks held, and from a
 * signal handler: it never blocks and returns NULL when the arena is full.
 */
#ifndef LOCKCONTEND_ARENA_H
#define LOCKCONTEND_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

struct arena {
	char *base;
	size_t size;
	_Atomic size_t used;
};

/* Map `size` bytes.  Returns 0, or -1 with errno set (mmap failed). */
int arena_init(struct arena *a, size_t size);

/* n bytes, 16-byte aligned and zeroed (fresh pages), or NULL when full. */
void *arena_alloc(struct arena *a, size_t n);

/* The same, aligned to `align` (a power of two): for tables whose entries
 * keep what other threads write on cache lines of their own. */
void *arena_alloc_aligned(struct arena *a, size_t n, size_t align);

/* Forget every allocation after the first `keep` bytes and zero them again
 * (used by a fork child to start empty).  Only while no other thread runs. */
void arena_reset(struct arena *a, size_t keep);

size_t arena_used(const struct arena *a);

/* Zero n bytes at p (inside the arena): whole pages are given back to the
 * kernel, which hands out zero pages again when they are next touched, so
 * a large table nobody used is reset without touching it. */
void arena_zero(void *p, size_t n);

#endif
