/*
 * touched.h — which pages of a big, lazily touched table were ever written.
 *
 * The lock table and the stack table's chain heads are made at the
 * profile's start in the arena (anonymous memory the kernel gives a page
 * at its first touch) and are written only where locks and stacks land.
 * Their counts at the end (lockstate_count_used, stacktab_count) read
 * every entry, and each page never touched cost a fault there: about 600
 * with the default arena, a quarter of a short profiled program's run on
 * this VM.  So a writer marks an entry's page here before its first store
 * (a rare event: a lock's entry made, a chain begun), and a count reads
 * only marked pages.  A page marked but never written is read for nothing;
 * a page past the map's reach is always read.  Marks only grow until the
 * table is forgotten (touched_clear: a fork child's reset, a new start).
 */
#ifndef LOCKCONTEND_TOUCHED_H
#define LOCKCONTEND_TOUCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TOUCHED_PAGE 4096
#define TOUCHED_WORDS 512 /* 32768 pages: 128 MiB of table */

struct touched {
	uintptr_t base; /* the table's first page */
	_Atomic uint64_t bits[TOUCHED_WORDS];
};

/* A new table of `bytes` at `table`: nothing marked (only the words its
 * pages use are cleared: the rest of the map is never written). */
static inline void touched_clear(struct touched *t, const void *table, size_t bytes)
{
	t->base = (uintptr_t)table & ~(uintptr_t)(TOUCHED_PAGE - 1);
	size_t pages = ((uintptr_t)table - t->base + bytes) / TOUCHED_PAGE + 1;
	size_t words = (pages + 63) / 64;
	memset((void *)t->bits, 0,
	       (words < TOUCHED_WORDS ? words : TOUCHED_WORDS) * sizeof(t->bits[0]));
}

static inline size_t touched_page(const struct touched *t, const void *p)
{
	return ((uintptr_t)p - t->base) / TOUCHED_PAGE;
}

/* Before the first store to p's page. */
static inline void touched_mark(struct touched *t, const void *p)
{
	size_t pg = touched_page(t, p);
	if (pg / 64 < TOUCHED_WORDS)
		atomic_fetch_or_explicit(&t->bits[pg / 64], 1ull << (pg % 64),
		                         memory_order_release);
}

/* May p's page hold anything? */
static inline bool touched_maybe(const struct touched *t, const void *p)
{
	size_t pg = touched_page(t, p);
	return pg / 64 >= TOUCHED_WORDS ||
	       (atomic_load_explicit(&t->bits[pg / 64], memory_order_acquire) >> (pg % 64) & 1);
}

#endif
