/*
 * intervals.h — delta profiles, one per interval of a running profile, cut
 * from reads of its file (lockcontend-intervals, docs/intervals.md).
 *
 * A profile file is written in place while its program runs; its buckets
 * only grow.  So what happened between two reads is the second read's
 * profile minus the first's, bucket by bucket, and the deltas of all the
 * reads of a run add up to its last read — its totals — exactly, however
 * the reads fell.  The series (docs/series.md) add the when: an event that
 * ended after the interval's end (but was settled before the read) is held
 * back to the next interval, so an interval holds the events that ended in
 * it, but for one settled only after its read (a thread's last event is in
 * flight until its next one): that one is in the interval of the read that
 * first saw it, never lost and never twice.
 *
 * The cut, per key (view, lock address, stack id; the sentinel and the
 * uncharged waiting have keys of their own), count and delay each:
 *   have  = whole-run value in this read - what the series place at or
 *           after the cut (the held back), at least 0;
 *   delta = have - shipped, at least 0;  shipped += delta.
 * Every value a read shows is at most the run's final value (buckets only
 * grow; a torn read of a live file shows less, never more), so shipped
 * never passes the final value, and the last cut — of the file once its
 * writer is gone, nothing held back and nothing clamped — gives each key
 * exactly final - shipped: the deltas of a run sum to its totals per key,
 * so per lock and in all.  Clamping only moves an event to a later
 * interval.
 *
 * Single-threaded; the state is the caller's (one per profile followed).
 */
#ifndef LOCKCONTEND_INTERVALS_H
#define LOCKCONTEND_INTERVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpread.h"
#include "profile.h"

struct ivl_slot; /* one key's shipped values (intervals_cut.c) */

struct ivl_state {
	struct ivl_slot *slots; /* open addressing, cap a power of two */
	size_t n, cap;
	uint64_t cut_ns;  /* end of the last interval written, after the start */
	uint64_t cuts;    /* ivl_cut calls so far */
	uint64_t clamped; /* keys the last cut found with less than was shipped */
};

void ivl_state_free(struct ivl_state *s);

/*
 * Cut the next interval out of `whole`, the profile of read d (one dump,
 * profile_build), keeping the samples of `view` only: each gets what its
 * key gained since the last cut, less what `held` (the same read cut to
 * the window after the interval's end, profile_build_window; NULL: nothing
 * held back, as for the last cut) places later; samples left with nothing
 * are removed.  Returns 0, or -1 out of memory (s is then unchanged
 * only in part: give up on this profile).
 */
int ivl_cut(struct ivl_state *s, struct profile *whole, const struct dump *d,
            const struct profile *held, int view);

#endif
