/*
 * profile.h — a symbolized contention profile in memory, shaped like pprof's
 * profile.proto, built by profile.c (profile_build) from one or more raw
 * dumps, with resolve.c's functions and lines and locknames.c's lock names,
 * and read by every report writer (report_text.c, report_locks.c,
 * report_folded.c, report_pprof.c).
 *
 * Tables are arrays indexed from 0; ids in pprof are index + 1.  Strings
 * are owned by the profile (interned: equal strings share one pointer).
 * A location is one distinct return address; its lines are the inline
 * chain at pc - 1 (dumpread.h's one pc rule), innermost first, the last
 * line being the real function.  The stacks of LOCK and LOCK_INIT records,
 * which name locks, are locations too, though no sample may use them.
 *
 * Every sample belongs to one view (enum lc_view) and, but for the
 * pseudo-samples, to one lock of one kind; a report shows one view at a
 * time.  Pseudo-samples sit on locations of their own with no mapping and
 * have no lock: the sentinel _LostContendedLock, one per dump and view
 * that lost something, and _NotChargedToHolder, exactly one, in the HOLDER
 * view: the waiting that no unlock was charged for (wake-up latency after
 * an unlock, and the whole wait of a waiter past the 16 a lock registers
 * at once), so that the holder view adds up to the waiter view.
 *
 * The lock table has one entry per lock name (a global has the same name
 * in every dump of one program, so its entries merge like its stacks do);
 * every sample's lock is in it.  With a kind filter (profile_build's
 * kinds) only samples and locks of those kinds are kept (futex-cond, a
 * kind read from the stacks: profile.c), and the sentinels, which have
 * no kind, are left out.
 */
#ifndef LOCKCONTEND_PROFILE_H
#define LOCKCONTEND_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lockcontend/dumpfmt.h"

struct prof_mapping {
	uint64_t start, limit; /* runtime address range (text segment) */
	uint64_t file_offset;  /* file offset that maps at start */
	const char *file;      /* path as recorded (or as found on disk) */
	const char *build_id;  /* hex, "" if none */
	bool has_functions;    /* symbols were found for it */
	uint64_t load_bias;    /* runtime - ELF address (not in pprof) */
};

struct prof_function {
	const char *name;        /* demangled (unless --no-demangle) */
	const char *system_name; /* linkage name as in the binary */
	const char *file;        /* source file, "" if unknown */
	int64_t start_line;      /* 0 if unknown */
	bool wrapper;            /* a lock wrapper of the program, as some dump's
	                          * stacks show it (locknames.h) */
};

struct prof_line {
	uint32_t function; /* index into functions */
	int64_t line;      /* 0 if unknown */
};

struct prof_location {
	uint64_t address;        /* the return address as recorded */
	int32_t mapping;         /* index into mappings, -1 if none (sentinel, unknown) */
	uint32_t nlines;         /* 0: unsymbolized (shown as module+0xoffset) */
	struct prof_line *lines; /* innermost first */
};

/* Sample value indexes, as Go writes a mutex profile (in the HOLD view:
 * critical sections and the time they held). */
enum { PROF_CONTENTIONS = 0, PROF_DELAY = 1, PROF_NVALUES = 2 };

#define PROF_KIND_NONE 0xff /* prof_sample.kind of a pseudo-sample */
#define PROF_UNCHARGED_NAME "_NotChargedToHolder"

struct prof_sample {
	uint32_t nlocs;
	uint32_t *locs; /* indexes into locations, innermost first */
	int64_t value[PROF_NVALUES];
	uint32_t flags;   /* LC_BUCKET_* (truncated, timed out) */
	uint8_t view;     /* enum lc_view */
	uint8_t kind;     /* enum lc_kind, NAMES_KIND_FUTEX_COND or PROF_KIND_NONE */
	const char *lock; /* the lock's name (locknames.h), NULL: no lock */
	uint64_t lock_addr;
	int64_t max_ns; /* the longest single event, not scaled */
	size_t dump;    /* the dump it came from (SIZE_MAX: _NotChargedToHolder) */
	int64_t bucket; /* its BUCKET's index in that dump; -1: a pseudo-sample */
};

struct prof_lock {
	const char *name; /* as in samples (the same pointer) */
	uint64_t addr;    /* where it was in the first dump that has it */
	uint32_t kinds;   /* bit per enum lc_kind it was used as */
	uint64_t trylock_failures, timeouts, uncharged_ns;      /* LOCK records' */
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS]; /* LOCK_LOST records' */
	/* of uncharged_ns, the waits that found no free waiter cell (more than
	 * 16 sampled waiters at once): LOCK_NO_CELL records' (3.12) */
	uint64_t no_cell_count, no_cell_ns;
};

/* A thread that had recorded contention, as its dump was read (a WAITING
 * record, dumpread.h), and the lock it was waiting for then, if any: the
 * text report's "Waiting now" and its deadlocks (report_waiting.c). */
struct prof_thread {
	uint32_t dump; /* index of its dump (tids mean something only there) */
	int32_t tid;
	const char *name; /* "" if not known */
	const char *lock; /* the lock it waited for (as in the lock table); NULL: none */
	uint64_t lock_addr;
	uint8_t kind;      /* enum lc_kind */
	uint64_t since_ns; /* CLOCK_MONOTONIC of its process, when the wait began */
	int32_t owner_tid; /* the owner it began behind; 0: unknown */
	uint32_t nlocs;
	uint32_t *locs; /* its waiting stack, innermost first; none if not sampled */
};

/* A dump's lock addresses and the names the profile gave them, sorted by
 * address (only those of a kept kind). */
struct prof_addr_name {
	uint64_t addr;
	const char *name;
};
struct prof_dump_names {
	struct prof_addr_name *v;
	size_t n;
};

/* A window of the run (--from, --to): [from_ns, to_ns) after the earliest
 * dump's start, wall clock; to_ns UINT64_MAX: to the end. */
struct prof_window {
	uint64_t from_ns, to_ns;
};

/* What a window is in one dump (timeline.h): [from_ns, to_ns) after that
 * dump's own start, widened until no entry of its series crosses an end;
 * and, per view, what its totals hold that is not placed in time (in no
 * window). */
struct prof_window_dump {
	uint64_t from_ns, to_ns;
	bool widened;    /* it had to be */
	bool has_series; /* the dump has SERIES records (3.4, series= on) */
	uint64_t unplaced_count[LC_NVIEWS], unplaced_delay[LC_NVIEWS];
};

struct profile {
	struct prof_mapping *mappings;
	size_t nmappings;
	struct prof_function *functions;
	size_t nfunctions;
	struct prof_location *locations;
	size_t nlocations;
	struct prof_sample *samples;
	size_t nsamples;
	struct prof_lock *locks;
	size_t nlocks;
	struct prof_thread *threads; /* in dump order, then file order */
	size_t nthreads;
	size_t threads_torn;    /* WAITING records copied while being written */
	uint32_t kinds;         /* the lock kinds kept (bit per enum lc_kind) */
	uint64_t futexcond_out; /* WAIT events of futex-cond the kinds leave out */
	uint64_t cond_left_out; /* WAIT events of condition waits the kinds leave out */
	bool holder_recorded;   /* some dump recorded the HOLDER view */
	/* Of _NotChargedToHolder's waiting, the waits that found no free
	 * waiter cell on their lock (LOCK_NO_CELL, 3.12), as it sums the
	 * dumps; no_cell_unknown: a dump that recorded the holder view was
	 * written before 3.12, and does not say. */
	uint64_t no_cell_count, no_cell_ns;
	bool no_cell_unknown;
	uint64_t time_nanos;     /* start of the earliest dump (wall clock) */
	uint64_t duration_nanos; /* from the earliest start to the latest end */
	int64_t period;          /* 1: values are already scaled by rate */
	char **strings;          /* every string above, owned (a hash set: */
	size_t nstrings_cap;     /* nstrings_cap slots, NULL where empty) */

	struct prof_dump_names *dump_names; /* per dump (ndumps) */
	size_t ndumps;
	/* With a window: the samples hold only what its series place in it
	 * (profile_build_window), and window_dumps says what it was in each
	 * dump.  NULL: the whole run. */
	const struct prof_window *window;
	struct prof_window_dump *window_dumps;
};

struct dump;
struct resolve_opts;

/* Symbolize and merge ndumps dumps into p (zeroed first), keeping the lock
 * kinds in `kinds` (bit per enum lc_kind).  Each distinct return address
 * and each lock address of a dump is resolved once.  Warnings (one line
 * each) go to warn.  Returns 0, or -1 on allocation failure. */
int profile_build(struct profile *p, const struct dump *dumps, size_t ndumps,
                  const struct resolve_opts *o, uint32_t kinds, FILE *warn);

/* The same, cut to a window of the run (w; NULL: the whole run).  Buckets
 * carry no time, so the values come from the dumps' placed series
 * (timeline.h): each bucket gets the events its stack (lc_stack_id) had in
 * the window, and is left out without any; what the window holds under no
 * bucket's stack (no stack, one the profile kept no bucket of, or OTHER) is
 * its dump's sentinel; events that are not placed in time are in no
 * window, and neither is the uncharged waiting (_NotChargedToHolder is
 * left out) nor a longest wait (max_ns 0).  Lock names are the whole
 * run's. */
int profile_build_window(struct profile *p, const struct dump *dumps, size_t ndumps,
                         const struct resolve_opts *o, uint32_t kinds, const struct prof_window *w,
                         FILE *warn);
void profile_free(struct profile *p);

/* profile_window.c, for profile_build_window: the samples of a profile
 * built whole (a sentinel sample per dump and view, no uncharged one) get
 * their values in window w; those left with none are removed.  0, or -1
 * out of memory. */
int profile_window_apply(struct profile *p, const struct dump *dumps, const struct prof_window *w);

/* The name of lock `addr` of dump `dump`, or NULL (not a kept kind, or an
 * address the dump's buckets and LOCK records do not have). */
const char *profile_lock_name(const struct profile *p, size_t dump, uint64_t addr);

/* "module+0xoffset" for an unsymbolized location, or "0xaddress" without a
 * mapping: of pc - 1, the address it was looked up at (dumpread.h's one pc
 * rule; the ELF address eu-addr2line -e module takes). */
void profile_location_label(const struct profile *p, const struct prof_location *l, char *buf,
                            size_t cap);

#endif
