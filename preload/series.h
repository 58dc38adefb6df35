/*
 * series.h — contention over time: each slot's events, per interval.
 *
 * Every event a slot's totals count (account.c's account_total: waits,
 * charges to unlocks, hold samples; with a stack or lost) is added, at the
 * same moment and in the same place, to the slot's SERIES record
 * (dumpfmt.h): one entry per (interval, view, lock, stack id), where the
 * interval is the one the event ended in, from the profile's start.  So,
 * per view, a slot's series adds up to its totals exactly, by
 * construction, and a reader can check it does (docs/series.md).
 *
 * The record is bounded (nentries, fixed when it is made).  When it is
 * full the intervals are made twice as wide, every entry at once (the
 * level goes up by one and equal entries merge), until a quarter of the
 * room is free again; when the run so far is a single interval and it
 * still has too many entries, the smallest of the view that has most are
 * folded into that view's OTHER entry.  Merging and folding only add, so
 * the sums stay exact; the record keeps every event however long the run.
 *
 * Rules.  One writer at a time: the slot's owner inside its BUSY state, or
 * the dumper once it closed the slot (slots.h); a slot reused by a later
 * thread goes on with the same series.  A signal handler may jump out of
 * an add at any instruction: what it changes is kept in a series_undo
 * first (account.c's log), so the owner can put it back (series_undo)
 * with the rest of the books.  No lock, no allocation, no system
 * call: stores into the file's mapping only.  A reader in another process
 * may read the record while it changes, or after its writer died between
 * two stores: every change is made so that a state caught between two
 * stores either is true (an entry's place is one 8-byte store: it never
 * names a place it does not hold) or counts some event twice (an entry is
 * added to its new place before it leaves its old one), which the reader's
 * check against the slot's totals refuses; and the totals, updated after
 * the series, are short by the event being added meanwhile, which the
 * check refuses too.
 */
#ifndef LOCKCONTEND_SERIES_H
#define LOCKCONTEND_SERIES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lockcontend/dumpfmt.h"
#include "pfile.h"

#define SERIES_MIN_NS (1000 * 1000ull)               /* series=1ms */
#define SERIES_MAX_NS (3600ull * 1000 * 1000 * 1000) /* series=1h */
#define SERIES_DEFAULT_NS (1000 * 1000 * 1000ull)    /* series=1s */

/* What a slot's series is made with: the level-0 interval (0: no series)
 * and the room, in entries. */
struct series_conf {
	uint64_t interval_ns;
	uint32_t nentries;
};

/* Entries a slot's series has room for: 1 per 256 KiB of arena (128 for
 * the default 32M, 5 KiB of the file per slot), 32 to 1024. */
uint32_t series_entries_for(uint64_t arena_bytes);

/* One event, as its slot's totals count it. */
struct series_event {
	uint64_t when_ns; /* CLOCK_MONOTONIC when it ended */
	uint64_t lock;
	uint64_t stack; /* lc_stack_id, 0: none */
	uint64_t count;
	uint64_t delay_ns;
	uint8_t view;
};

/* What one series_add changed, for its undo (account.c keeps it in the
 * slot's log): NONE, nothing yet; ENTRY, entry `at` held count and
 * delay_ns and the record `used` entries; WHOLE, the record was as its
 * image (a private copy, made before it made room) holds it. */
enum { SERIES_UNDO_NONE, SERIES_UNDO_ENTRY, SERIES_UNDO_WHOLE };
struct series_undo {
	_Atomic uint32_t state;
	uint32_t at, used;
	uint64_t count, delay_ns;
};

/* Room for a copy of a series of n entries (series_add's image). */
static inline size_t series_bytes(uint32_t nentries)
{
	return sizeof(struct lc_rec_series) + (size_t)nentries * sizeof(struct lc_series_entry);
}

/* A new SERIES record for the SLOT record whose payload is `slot`, in f;
 * NULL if the file has no room (the slot's events are then in no series,
 * and a reader says so). */
struct lc_rec_series *series_record(struct pfile *f, const void *slot, const struct series_conf *c);

/* Add one event, ended at ev->when_ns, to the interval it falls in after
 * origin_ns (the profile's start); what it changes into u first (u's state
 * NONE when it begins), a copy of the whole record into image (series_bytes
 * of room; NULL: none) before it makes room.  The slot's writer only. */
void series_add(struct lc_rec_series *r, struct lc_rec_series *image, uint64_t origin_ns,
                const struct series_event *ev, struct series_undo *u);

/* Put back what the add that kept u changed, and clear u. */
void series_undo(struct lc_rec_series *r, const struct lc_rec_series *image, struct series_undo *u);

static inline void series_undo_clear(struct series_undo *u)
{
	atomic_store_explicit(&u->state, SERIES_UNDO_NONE, memory_order_relaxed);
}

#endif
