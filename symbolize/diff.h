/*
 * diff.h — what changed between two runs: two symbolized profiles (a base
 * and a new one, each of one or more dumps) matched lock by lock and stack
 * by stack (`lockcontend-symbolize --diff BASE... -- NEW...`, docs/diff.md).
 *
 * Nothing of a run's addresses is compared: they differ between runs (ASLR,
 * heap, a rebuilt binary).  A lock is matched by its name (locknames.h),
 * with the address a heap lock's name starts with left out ("0x55d0c2a4e2c0
 * (made in Shard::Shard(int))" is "(made in Shard::Shard(int))" in either
 * run, and all heap locks made there are one).  A stack is matched by its
 * view, its lock and its symbolized frames: by function name (the default,
 * DIFF_MATCH_FUNCTION: an edit that moves lines, or a fix in a copy of the
 * file, keeps its stacks matched) or by function and file:line
 * (DIFF_MATCH_LINE); an unsymbolized frame is its module+0xoffset label,
 * the same in both runs of one binary.  Flags (timed out, truncated) are
 * not part of a stack here.  Nothing is scaled or normalised: the values
 * are each run's own (scaled by its own sampling rate, as every report's).
 *
 * Pure functions of the two profiles; the result points into them (the
 * representative samples), so it must not outlive them.
 */
#ifndef LOCKCONTEND_DIFF_H
#define LOCKCONTEND_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

enum diff_side { DIFF_BASE = 0, DIFF_NEW = 1, DIFF_NSIDES = 2 };
enum diff_match { DIFF_MATCH_FUNCTION, DIFF_MATCH_LINE };

/* One stack of one view, in either run or both. */
struct diff_stack {
	int view;                             /* enum lc_view */
	char *lock;                           /* its lock's key (diff_lock_key), NULL: none */
	char *key;                            /* the match key: view, lock, frames */
	int64_t v[DIFF_NSIDES][PROF_NVALUES]; /* each run's count and delay */
	const struct profile *p;              /* a sample of it, the new run's if */
	const struct prof_sample *s;          /* it has one, for its frames */
	bool uncharged;                       /* the _NotChargedToHolder pseudo-stack */
};

/* One lock (by name) in either run or both: each run's report_lockrow
 * figures (stacks and what lost its stack alike). */
struct diff_lock {
	char *name;                                      /* the match key */
	uint32_t kinds[DIFF_NSIDES];                     /* bit per enum lc_kind */
	int64_t v[DIFF_NSIDES][LC_NVIEWS][PROF_NVALUES]; /* count, delay */
};

struct diff {
	struct diff_stack *stacks; /* sorted by view, then key */
	size_t nstacks;
	struct diff_lock *locks; /* most waiting in either run first */
	size_t nlocks;
	int64_t total[DIFF_NSIDES][LC_NVIEWS][PROF_NVALUES]; /* every sample of each view */
};

/* A lock's match key: its name, without the address of a heap lock's
 * "0x... (made in f)" or "0x... (first contended in f)"; malloc'd, NULL
 * out of memory. */
char *diff_lock_key(const char *name);

/* A sample's match key: its view, its lock's key, then each frame, the
 * outermost first (function name, with "@file:line" under
 * DIFF_MATCH_LINE); malloc'd, NULL out of memory. */
char *diff_stack_key(const struct profile *p, const struct prof_sample *s, enum diff_match m);

/* Match base's and new's samples and locks into d (zeroed first).  0, or
 * -1 out of memory (d then empty). */
int diff_build(struct diff *d, const struct profile *base, const struct profile *newp,
               enum diff_match m);
void diff_free(struct diff *d);

/* Both runs' dumps built into one profile (the base's nbase first) have
 * one _NotChargedToHolder sample of both runs, of no dump: make it two,
 * base's and new's values from their own profiles, dumps 0 and nbase, so
 * that every sample's run is known by its dump.  0, or -1 out of memory. */
int diff_split_uncharged(struct profile *all, size_t nbase, const struct profile *base,
                         const struct profile *newp);

/* (new - base) as a percentage of base; 0 when base is 0 (the caller
 * says "new" instead). */
double diff_pct(int64_t base, int64_t newv);

#endif
