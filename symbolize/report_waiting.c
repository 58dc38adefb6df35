/*
 * report_waiting.c — "Waiting now": the threads that were blocked on a lock
 * as a profile was read, the deadlocks among them first.
 *
 * A profile records a wait when it ends, so a program that hangs has none
 * of its hanging waits in its stacks.  Each recorded thread's WAITING
 * record (dumpfmt.h; profile.h's prof_thread) says instead what it waits
 * for right now: the lock, since when, the owner it began behind (glibc's
 * owner of a mutex, the writer of a rwlock) and its waiting stack.  A
 * thread waits for one lock behind one owner, so the wait-for graph of a
 * process (thread -> owner thread; tids mean something only within one
 * dump) has at most one edge out of each thread: walking from each thread
 * finds every cycle, and a cycle is a deadlock — each thread in it waits
 * for a lock the next one holds.
 *
 * The owner is the one seen as the wait began.  If the lock changed hands
 * since, that edge is stale; but a thread stuck in a true deadlock never
 * moves again, and one behind a stale edge is woken as soon as the real
 * owner lets go: so the report gives every wait's length, and a cycle
 * whose waits all last is a deadlock beyond doubt.
 *
 * How long a wait has lasted needs the time the file was read in the
 * writer's clock: the exit, the snapshot, or for a live profile the
 * reader's own CLOCK_MONOTONIC (the same clock on the same machine).  For a
 * file whose writer died the end is not known: waits are given by when
 * they began.  A wait at least stuck_ns long is STUCK, with what its
 * owner was doing: waiting itself (for what), or not on any lock we saw
 * (for a live process, with its state from /proc).
 *
 * In brief (lockcontend-top's screen) each waiting thread is one line and
 * its stack one more, its program's innermost frames (report_stack_line),
 * and a deadlock is its threads' lines without their stacks, which follow
 * in the list of waits.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "report.h"

/* When the dump's waits are measured to, in its writer's CLOCK_MONOTONIC,
 * and how to say it; false: not known (the writer died). */
static bool waits_end(const struct report_input *in, uint32_t i, uint64_t *now, const char **when)
{
	const struct dump *d = &in->dumps[i];
	enum dump_writer w = in->status ? in->status[i].writer : DUMP_WRITER_DIED;
	if (d->complete && d->live.state == LC_LIVE_SNAPSHOT) {
		*now = d->live.snapshot_mono_ns;
		*when = "at the snapshot";
	} else if (d->complete && d->meta.end_mono_ns) {
		*now = d->meta.end_mono_ns;
		*when = d->live.state == LC_LIVE_EXEC       ? "at exec()"
		        : d->live.state == LC_LIVE_DETACHED ? "at the detach"
		                                            : "at exit";
	} else if (w == DUMP_WRITER_LIVE) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		*now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		*when = "now";
	} else {
		*when = "when the writer died";
		return false;
	}
	return true;
}

/* The waiting thread of dump `dump` whose tid is tid, or NULL. */
static const struct prof_thread *thread_of(const struct profile *p, uint32_t dump, int32_t tid)
{
	for (size_t i = 0; tid && i < p->nthreads; i++)
		if (p->threads[i].dump == dump && p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

static bool thread_waits(const struct prof_thread *t)
{
	return t && t->lock;
}

/* The thread t waits behind, if it waits too. */
static const struct prof_thread *next_of(const struct profile *p, const struct prof_thread *t)
{
	const struct prof_thread *o = thread_waits(t) ? thread_of(p, t->dump, t->owner_tid) : NULL;
	return thread_waits(o) ? o : NULL;
}

/* mark[i]: 0 not walked yet; the walk's start + 1 while walking; and for a
 * thread on a cycle, the cycle's number + 1 with the top bit set. */
#define ON_CYCLE 0x80000000u

/* Walk from every thread; each thread on a cycle gets its cycle's number.
 * Returns the number of cycles. */
static size_t find_cycles(const struct profile *p, uint32_t *mark)
{
	size_t cycles = 0;
	for (size_t s = 0; s < p->nthreads; s++) {
		const struct prof_thread *t = &p->threads[s];
		while (t && !mark[t - p->threads]) {
			mark[t - p->threads] = (uint32_t)s + 1;
			t = next_of(p, t);
		}
		if (!t || mark[t - p->threads] != (uint32_t)s + 1)
			continue; /* the walk ended, or met an earlier walk */
		/* t is on a new cycle: go round it once */
		const struct prof_thread *c = t;
		do {
			mark[c - p->threads] = ON_CYCLE | (uint32_t)cycles;
			c = next_of(p, c);
		} while (c != t);
		cycles++;
	}
	return cycles;
}

size_t report_deadlocks(const struct profile *p)
{
	uint32_t *mark = calloc(p->nthreads + 1, sizeof(*mark));
	size_t n = mark ? find_cycles(p, mark) : 0;
	free(mark);
	return n;
}

static void thread_label(const struct prof_thread *t, char *buf, size_t cap)
{
	if (t->name[0])
		snprintf(buf, cap, "thread %d \"%s\"", t->tid, t->name);
	else
		snprintf(buf, cap, "thread %d", t->tid);
}

/* The owner of t's lock as "thread 42 \"name\"": its name from its own
 * record, or for a live process from /proc (an owner that never contended
 * has no record). */
static void owner_label(const struct report_input *in, const struct prof_thread *t, char *buf,
                        size_t cap)
{
	const struct prof_thread *o = thread_of(in->profile, t->dump, t->owner_tid);
	char path[96], name[32] = "";
	if (o) {
		thread_label(o, buf, cap);
		return;
	}
	if (!t->owner_tid) {
		snprintf(buf, cap, "an owner not known");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%" PRIu64 "/task/%d/comm", in->dumps[t->dump].meta.pid,
	         t->owner_tid);
	bool live = in->status && in->status[t->dump].writer == DUMP_WRITER_LIVE;
	FILE *f = live ? fopen(path, "r") : NULL;
	if (f) {
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
	}
	if (name[0])
		snprintf(buf, cap, "thread %d \"%s\"", t->owner_tid, name);
	else
		snprintf(buf, cap, "thread %d", t->owner_tid);
}

/* "2.01 s" with the end known, else "since 1.20 s into the run". */
static void wait_length(const struct report_input *in, const struct prof_thread *t, char *buf,
                        size_t cap)
{
	uint64_t now, start = in->dumps[t->dump].meta.start_mono_ns;
	const char *when;
	char d[32];
	if (waits_end(in, t->dump, &now, &when) && now >= t->since_ns) {
		report_duration(buf, cap, now - t->since_ns);
	} else {
		report_duration(d, sizeof(d), t->since_ns > start ? t->since_ns - start : 0);
		snprintf(buf, cap, "since %s into the run", d);
	}
}

/* One deadlock: each thread, the lock it waits for and the one it holds
 * that the next thread waits for, then each waiting stack. */
static void deadlock_write(const struct report_input *in, const struct report_names *rn,
                           const uint32_t *mark, uint32_t cycle, bool brief, FILE *out)
{
	const struct profile *p = in->profile;
	const struct prof_thread *first = NULL;
	size_t n = 0;
	for (size_t i = 0; i < p->nthreads; i++)
		if (mark[i] == (ON_CYCLE | cycle) && !n++)
			first = &p->threads[i];
	fprintf(out, "\nDEADLOCK in pid %" PRIu64 ": %zu threads wait for each other\n",
	        in->dumps[first->dump].meta.pid, n);
	const struct prof_thread *t = first;
	char me[64], next[64], len[64];
	do {
		const struct prof_thread *o = next_of(p, t);
		thread_label(t, me, sizeof(me));
		thread_label(o, next, sizeof(next));
		wait_length(in, t, len, sizeof(len));
		fprintf(out, "  %s has waited %s for %s (%s), held by %s\n", me, len, t->lock,
		        names_kind(t->kind), next);
		t = o;
	} while (t != first);
	if (brief)
		return; /* the stacks are under each wait, below */
	do {
		const struct prof_thread *prev = t;
		t = next_of(p, t);
		thread_label(t, me, sizeof(me));
		fprintf(out, "  %s holds %s; its waiting stack:\n", me, prev->lock);
		if (!t->nlocs)
			fprintf(out, "      (not taken: the wait was not sampled)\n");
		report_stack_write(p, rn, t->locs, t->nlocs, out);
	} while (t != first);
}

/* What the owner of a stuck wait was doing. */
static void owner_state(const struct report_input *in, const struct prof_thread *t, FILE *out)
{
	const struct profile *p = in->profile;
	const struct prof_thread *o = thread_of(p, t->dump, t->owner_tid);
	char who[64], len[64];
	if (!t->owner_tid) {
		fprintf(out, "      its owner is not known (%s)\n",
		        t->kind == LC_KIND_SPIN  ? "a spin lock keeps none"
		        : t->kind == LC_KIND_SEM ? "a semaphore has none"
		        : t->kind == LC_KIND_FUTEX || t->kind == NAMES_KIND_FUTEX_COND
		            ? "a futex word keeps none lockcontend can read"
		        : t->kind == LC_KIND_COND ? "a condition variable has none"
		                                  : "readers hold it, or the lock keeps no owner");
		return;
	}
	owner_label(in, t, who, sizeof(who));
	if (thread_waits(o)) {
		wait_length(in, o, len, sizeof(len));
		fprintf(out, "      its owner, %s, has itself waited %s for %s\n", who, len,
		        o->lock);
		return;
	}
	char path[96], line[512], state = 0;
	enum dump_writer w = in->status ? in->status[t->dump].writer : DUMP_WRITER_DIED;
	snprintf(path, sizeof(path), "/proc/%" PRIu64 "/task/%d/stat", in->dumps[t->dump].meta.pid,
	         t->owner_tid);
	FILE *f = w == DUMP_WRITER_LIVE ? fopen(path, "r") : NULL;
	if (f) {
		const char *paren = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
		if (paren && paren[1] == ' ')
			state = paren[2];
		fclose(f);
	}
	fprintf(out, "      its owner, %s, is not waiting for any lock we saw", who);
	if (state)
		fprintf(out, " (/proc: %s)\n",
		        state == 'R'   ? "running"
		        : state == 'S' ? "sleeping"
		        : state == 'D' ? "in uninterruptible sleep"
		        : state == 'T' ? "stopped"
		        : state == 'Z' ? "a zombie"
		                       : "another state");
	else
		fprintf(out, "%s\n", w == DUMP_WRITER_LIVE ? " (it has exited)" : "");
}

static int by_since(const void *a, const void *b)
{
	const struct prof_thread *x = *(const struct prof_thread *const *)a;
	const struct prof_thread *y = *(const struct prof_thread *const *)b;
	return x->since_ns < y->since_ns ? -1 : x->since_ns > y->since_ns ? 1 : x->tid - y->tid;
}

/* One waiting thread: its wait, and unless a deadlock above showed it,
 * its owner's state when it is stuck, and its stack (brief: on one line,
 * deadlocked or not). */
static void wait_write(const struct report_input *in, const struct report_names *rn,
                       const uint32_t *mark, const struct prof_thread *t, bool stuck, bool brief,
                       FILE *out)
{
	const struct profile *p = in->profile;
	char me[64], len[64], owner[64];
	thread_label(t, me, sizeof(me));
	wait_length(in, t, len, sizeof(len));
	owner_label(in, t, owner, sizeof(owner));
	bool cycle = mark[t - p->threads] & ON_CYCLE;
	fprintf(out, "  %s has waited %s for %s (%s), behind %s%s\n", me, len, t->lock,
	        names_kind(t->kind), owner,
	        cycle   ? "  [DEADLOCK]"
	        : stuck ? "  [STUCK]"
	                : "");
	if (cycle && !brief)
		return; /* its stack is in the deadlock above */
	if (stuck && !cycle)
		owner_state(in, t, out);
	if (!brief) {
		report_stack_write(p, rn, t->locs, t->nlocs, out);
	} else if (t->nlocs) {
		fprintf(out, "      at ");
		report_stack_line(p, rn, t->locs, t->nlocs, out);
	} else {
		fprintf(out, "      (no stack: the wait was not sampled)\n");
	}
}

/* Every waiting thread of one dump, longest wait first. */
static void dump_waits_write(const struct report_input *in, const struct report_names *rn,
                             const uint32_t *mark, uint32_t dump, bool brief, FILE *out)
{
	const struct profile *p = in->profile;
	uint64_t now = 0, stuck = in->stuck_ns ? in->stuck_ns : REPORT_STUCK_NS;
	const char *when;
	bool known = waits_end(in, dump, &now, &when);
	const struct prof_thread **w = calloc(p->nthreads + 1, sizeof(*w));
	size_t n = 0;
	for (size_t i = 0; w && i < p->nthreads; i++)
		if (p->threads[i].dump == dump && thread_waits(&p->threads[i]))
			w[n++] = &p->threads[i];
	if (n) {
		qsort(w, n, sizeof(*w), by_since);
		fprintf(out, "\nWaiting in pid %" PRIu64 " %s: %zu thread%s\n",
		        in->dumps[dump].meta.pid, when, n, n == 1 ? "" : "s");
	}
	for (size_t k = 0; k < n; k++)
		wait_write(in, rn, mark, w[k],
		           known && now >= w[k]->since_ns && now - w[k]->since_ns >= stuck, brief,
		           out);
	free(w);
}

static void waiting_write(const struct report_input *in, const struct report_names *rn, bool brief,
                          FILE *out)
{
	const struct profile *p = in->profile;
	uint32_t *mark = calloc(p->nthreads + 1, sizeof(*mark));
	if (!mark)
		return;
	size_t cycles = find_cycles(p, mark);
	for (uint32_t c = 0; c < cycles; c++)
		deadlock_write(in, rn, mark, c, brief, out);
	for (uint32_t d = 0; d < in->ndumps; d++)
		dump_waits_write(in, rn, mark, d, brief, out);
	if (p->threads_torn)
		fprintf(out, "\n(%zu thread%s changing as the file was read: read it again)\n",
		        p->threads_torn, p->threads_torn == 1 ? "'s state was" : "s' states were");
	free(mark);
}

void report_waiting_write(const struct report_input *in, const struct report_names *rn, FILE *out)
{
	waiting_write(in, rn, false, out);
}

void report_waiting_brief(const struct report_input *in, const struct report_names *rn, FILE *out)
{
	waiting_write(in, rn, true, out);
}
