/*
 * timeline.h — a dump's contention over time, from its placed series
 * (dumpread.h: DUMP_SERIES_PLACED, docs/series.md).
 *
 * A series entry covers [start, end) after the profile's start, at its own
 * level (a width of interval_ns << level); entries of one slot may be at
 * two levels while a record was being made coarser, and slots reach
 * different levels.  The widths are powers of two times one interval, and
 * every entry starts at a multiple of its width, so two entries either do
 * not overlap or one holds the other.  Nothing here ever splits an entry:
 *   - the grid (timeline_build) is made of cells as wide as the widest
 *     entry of the dump, so every entry falls in exactly one cell;
 *   - a window (timeline_widen) grows until no entry crosses its ends.
 * So every number is a sum of whole entries: exactly the events that
 * ended in the cell or the window, never an estimate.  Events of slots
 * whose series is not placed are in no cell and no window: the reports
 * say how many (dump_series_unplaced).
 *
 * Pure functions of a parsed dump; no symbols, no I/O.
 */
#ifndef LOCKCONTEND_TIMELINE_H
#define LOCKCONTEND_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpread.h"

/* One (cell, view, lock) of a grid: the sum of its entries. */
struct timeline_cell {
	uint64_t cell; /* [cell, cell + 1) x width after the start */
	uint64_t lock; /* 0 with other false: no lock (lockcontend's own work) */
	uint64_t count, delay_ns;
	uint8_t view;
	bool other; /* LC_SERIES_OTHER: locks there was no room to tell apart */
};

struct timeline {
	uint64_t width_ns;           /* of a cell; 0: no placed series */
	uint64_t ncells;             /* the cells up to the last event (or the run's end) */
	struct timeline_cell *cells; /* sorted by cell, view, other, lock */
	size_t n;
};

/* The grid of d's placed series.  0, or -1 out of memory. */
int timeline_build(struct timeline *t, const struct dump *d);
void timeline_free(struct timeline *t);

/* The run's length as the dump knows it: META's end for a closed file,
 * else the end of its last entry. */
uint64_t timeline_extent_ns(const struct dump *d);

/* Widen [*from, *to) (ns after d's start) until no placed entry crosses
 * either end; true if it had to. */
bool timeline_widen(const struct dump *d, uint64_t *from, uint64_t *to);

/* What d's placed entries inside [from, to) hold, per (view, lock, stack)
 * (OTHER entries: lock and stack 0, other set), into a malloc'd *out
 * sorted by (view, other, lock, stack).  0, or -1 out of memory. */
struct timeline_sum {
	uint64_t lock, stack, count, delay_ns;
	uint8_t view;
	bool other;
	bool used; /* for the caller: given to a bucket */
};
int timeline_sums(const struct dump *d, uint64_t from, uint64_t to, struct timeline_sum **out,
                  size_t *n);

/* The sum for (view, lock, stack) among n sorted sums, or NULL. */
struct timeline_sum *timeline_sum_find(struct timeline_sum *s, size_t n, uint8_t view,
                                       uint64_t lock, uint64_t stack);

#endif
