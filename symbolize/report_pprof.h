/*
 * report_pprof.h — write a symbolized profile as pprof's profile.proto,
 * gzip-compressed, the way Go's runtime/pprof writes a mutex profile.
 *
 * The output opens in `go tool pprof` and every other reader of
 * profile.proto.  One view per file: the waiter and holder views have Go's
 * sample types [contentions/count, delay/nanoseconds] and period type
 * contentions/count; the hold view [holds/count, hold/nanoseconds] and
 * holds/count; period p->period.  Every sample of a lock carries the string
 * labels lock=NAME and kind=mutex|rdlock|wrlock|spin (so -tagfocus=lock=...
 * and -tags work); buckets that timed out or were truncated carry
 * timedout=true, truncated=true.  With lock frames, each sample of a lock
 * has one more location, outermost: one per lock, with no mapping and
 * address 0, whose one line is a function named as the lock (so pprof's
 * flame graph and -peek split by lock); the pseudo-samples have none.
 *
 * Pure function of its input apart from writing to `out`: no global state,
 * safe to call from any thread on a profile nobody is changing.
 */
#ifndef LOCKCONTEND_REPORT_PPROF_H
#define LOCKCONTEND_REPORT_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "profile.h"

/*
 * Encode the samples of `view` (enum lc_view) of `p` and write them,
 * gzip-compressed, to `out` (which stays open and is flushed); with
 * lock_frames, each lock's name as its samples' root frame.  Returns 0,
 * or -1 with one line in err: an index in `p` that points outside its
 * table, no memory, a compression or write error.  On error some bytes may
 * already have been written.
 */
int report_pprof_write(const struct profile *p, int view, bool lock_frames, FILE *out, char *err,
                       size_t errlen);

/* The same for a comparison of two runs built into one profile, the base
 * run's dumps first (report_diff.h): the samples of dumps before nbase
 * (the base's) are written negated and labelled pprof::base=true, as `go
 * tool pprof -diff_base BASE NEW` merges two profiles, so that `go tool
 * pprof -top FILE` shows what changed.  nbase 0: report_pprof_write. */
int report_pprof_write_diff(const struct profile *p, size_t nbase, int view, bool lock_frames,
                            FILE *out, char *err, size_t errlen);

#endif
