/*
 * topview.h — lockcontend-top's screen: what a live profile gained between
 * two reads, and the screen that shows it.
 *
 * A read (topview_take) keeps, per lock address, the waiter view's
 * contentions and wait — the lock's buckets and what it lost (profile.h's
 * WAIT samples and prof_lock.lost), as the text report's lock table counts
 * them — and the process's running totals (the SLOT records' sums in a
 * live file), with the reader's CLOCK_MONOTONIC time of the read.  Two
 * reads of one file make an interval: what each lock waited in between,
 * per second.  Locks are matched by address, not by name: a heap lock's
 * name may change as new stacks show a wrapper.
 *
 * A wait reaches its lock's buckets when its thread publishes it, at its
 * next lock event or, for a wait it repeats, 10 ms after its last publish
 * (docs/format.md, "in flight"), so the interval holds
 * what the file gained between the reads: a thread blocked for good shows
 * under "Waiting now", not in the table.
 *
 * The screen (topview_write): a header (pid, program, what became of the
 * writer, run time, totals and their rates), a banner when threads are
 * deadlocked, the locks by wait in the interval (with rates and totals),
 * then "Waiting now" in brief (report_waiting_brief).  Pure functions of
 * their arguments but for the clock, and /proc for a live owner's state.
 */
#ifndef LOCKCONTEND_TOPVIEW_H
#define LOCKCONTEND_TOPVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dumpread.h"
#include "profile.h"
#include "report.h"

struct topview_lock {
	uint64_t addr;
	uint64_t count, delay_ns; /* waiter view: stacks + lost */
};

struct topview_read {
	uint64_t mono_ns;               /* the reader's CLOCK_MONOTONIC at the read */
	uint64_t contentions, delay_ns; /* the dump's totals */
	struct topview_lock *locks;     /* by address */
	size_t nlocks;
};

/* What profile p (of the one dump d) says, read at mono_ns.  0, or -1 out
 * of memory.  topview_free frees it. */
int topview_take(struct topview_read *r, const struct profile *p, const struct dump *d,
                 uint64_t mono_ns);
void topview_free(struct topview_read *r);

struct topview_screen {
	const struct report_input *in;   /* the profile of one dump (ndumps 1), its path,
	                                  * status, stuck_ns, and rows (top) */
	const struct topview_read *prev; /* the read an interval ago; NULL: none */
	const struct topview_read *cur;  /* the read of in->profile */
	const char *note;                /* said under the header, or NULL */
};

/* One screen, each line ending in a newline. */
void topview_write(const struct topview_screen *s, FILE *out);

#endif
