/*
 * report.h — the report writers of lockcontend-symbolize.
 *
 * Each takes the symbolized profile (profile.h) and writes one format to a
 * stdio stream; the caller owns the stream and checks ferror.  The dumps
 * are passed too for what only they know (pid, rate, what was lost, whether
 * a file was complete), with what became of their writers (dumpstatus.h:
 * exited, live, died...).  Folded and pprof output show one view; the text
 * report shows the waiter and holder views by default (view < 0) or the
 * one asked for, then the lock table (report_locks.c).  What the writers
 * share (durations, percentages, the stack key, the _NotChargedToHolder
 * test) is defined in report.c, so no report file depends on another's.
 */
#ifndef LOCKCONTEND_REPORT_H
#define LOCKCONTEND_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "profile.h"

struct diff;

struct report_input {
	const struct profile *profile;
	const struct dump *dumps;
	const char *const *paths; /* file of each dump */
	size_t ndumps;
	int top;                          /* rows per table (text) */
	int value;                        /* PROF_DELAY or PROF_CONTENTIONS (folded) */
	int view;                         /* enum lc_view; < 0: text's default (waiter, holder) */
	const struct dump_status *status; /* of each dump; NULL: not asked (a file
	                                   * without trailer is "live or died") */
	uint64_t stuck_ns;                /* a wait in progress this long is stuck;
	                                   * 0: REPORT_STUCK_NS */
	bool lock_frames;                 /* folded: the lock's name as the root frame;
	                                   * html: the graphs split by lock at first */
	/* A comparison (--diff, report_diff.h): the dumps before nbase are the
	 * base run's, the rest the new run's; diff matches them.  nbase 0: not
	 * a comparison. */
	size_t nbase;
	const struct diff *diff;
};

void report_text_write(const struct report_input *in, FILE *out);
void report_folded_write(const struct report_input *in, FILE *out);

/* One self-contained HTML page (report_html.c): the header, flame graphs
 * of the views, the lock table; no network at view time. */
void report_html_write(const struct report_input *in, FILE *out);

/* The text report's header of one dump (report_text.c): what was
 * profiled, what the file is (complete, live, died...), run time, rate and
 * settings, totals, what was lost and why.  st may be NULL. */
/* The header of a report of several dumps (report_procs.c): their totals,
 * the settings, one row per process (pid, state, contentions, wait,
 * executable), and the paragraph of each dump that has more to say. */
void report_procs_write(const struct report_input *in, FILE *out);

void report_dump_header_write(const struct dump *d, const char *path, const struct dump_status *st,
                              FILE *out);

/* The lock table and each listed lock's top stacks (part of the text
 * report). */
void report_locks_write(const struct report_input *in, FILE *out);

/* One lock's row of that table (report_locks.c): every value comes from
 * the profile's samples of that lock (merged by lock name) and its LOCK
 * and LOCK_LOST records, so that charged (with or without a stack) + not
 * charged == waited. */
struct report_best {   /* the best merged stack of one lock in one view */
	size_t sample; /* a sample with that stack */
	int64_t value[PROF_NVALUES];
	int64_t max_ns;
	bool set;
};
struct report_lockrow {
	const struct prof_lock *lock;
	int64_t v[LC_NVIEWS][PROF_NVALUES]; /* per view: count, delay (stacks + lost) */
	int64_t lost[LC_NVIEWS];            /* per view: delay without a stack */
	int64_t max[LC_NVIEWS];             /* per view: longest event */
	struct report_best top[LC_NVIEWS];  /* WAIT, HOLDER: most delay; HOLD: longest */
};

/* p's p->nlocks rows, most waiting first (then most caused, most held, by
 * name); malloc'd, NULL if out of memory. */
struct report_lockrow *report_lock_rows(const struct profile *p);

/* Which threads waited and which made others wait, by name, from each
 * dump's THREAD records (part of the text report: report_threads.c). */
void report_threads_write(const struct report_input *in, FILE *out);

/* Contention over time, from each dump's series (part of the text report:
 * report_series.c). */
void report_series_write(const struct report_input *in, FILE *out);

/* What the text report prints for each function of a profile
 * (report_names.c): frames in full, but templates elided past
 * REPORT_NAME_MAX characters; one-line stacks without parameters, templates
 * elided, at most REPORT_BRIEF_MAX characters; where two distinct
 * functions would print alike, more of both.  Indexed by function. */
#define REPORT_NAME_MAX 100
#define REPORT_BRIEF_MAX 48
struct report_names {
	char **frame; /* top functions and top stacks */
	char **brief; /* the lock details' one-line stacks */
	size_t n;
};

/* 0, or -1 out of memory (rn then empty). */
int report_names_build(struct report_names *rn, const struct profile *p);
void report_names_free(struct report_names *rn);

/* A stack's frames, one a line, indented under its heading: each inlined
 * frame marked, an unsymbolized one as module+0xoffset. */
void report_stack_write(const struct profile *p, const struct report_names *rn,
                        const uint32_t *locs, uint32_t nlocs, FILE *out);

/* A stack on the rest of one line: up to three frames from the innermost
 * that is the program's own (lock wrappers and libc frames below it left
 * out, as locknames.h names locks), the first with file:line, brief names
 * (rn->brief); then a newline. */
void report_stack_line(const struct profile *p, const struct report_names *rn, const uint32_t *locs,
                       uint32_t nlocs, FILE *out);

/* A lock's details as the text report prints them under the table: its
 * totals, what of them has no stack, the preemption hint, its top waiting,
 * unlocking and longest-holding stacks on one line each. */
void report_lock_details_write(const struct profile *p, const struct report_names *rn,
                               const struct report_lockrow *r, FILE *out);

/* What was waiting as each dump was read ("Waiting now"), deadlocks first
 * (report_waiting.c); nothing when no thread was. */
#define REPORT_STUCK_NS 1000000000ull
void report_waiting_write(const struct report_input *in, const struct report_names *rn, FILE *out);

/* The same in brief (lockcontend-top's screen): a line per waiting thread
 * and one for its stack (report_stack_line); a deadlock's threads without
 * their stacks, which follow in the list of waits. */
void report_waiting_brief(const struct report_input *in, const struct report_names *rn, FILE *out);

/* The deadlocks (wait-for cycles) among p's waiters: what
 * report_waiting_write names first, and what makes lockcontend-symbolize
 * exit with its own status. */
size_t report_deadlocks(const struct profile *p);

/* A name the text report prints whole (a lock's): templates elided when it
 * is longer than REPORT_NAME_MAX. */
void report_name_short(const char *name, char *buf, size_t cap);

/* A duration in human units: "812 ns", "3.25 us", "1.50 ms", "2.01 s". */
void report_duration(char *buf, size_t cap, uint64_t ns);

/* A malloc'd string equal for two samples exactly when their symbolized
 * stacks and flags are equal (to merge identical stacks); NULL if out of
 * memory. */
char *report_stack_key(const struct profile *p, const struct prof_sample *s);

/* Is s the _NotChargedToHolder pseudo-sample (shown whatever its rank)? */
bool report_is_uncharged(const struct profile *p, const struct prof_sample *s);

/* A lock's kinds (bit per enum lc_kind) in one word: "mutex", "rdlock",
 * "wrlock", "spin", "sem", "rwlock" (read and write), "mixed", or "-" (none). */
const char *report_kinds_label(uint32_t kinds);

/* 100 * v / total, 0 when total is not positive. */
double report_pct(int64_t v, int64_t total);

#endif
