/*
 * report_locks.c — the text report's lock table: one row per lock, most
 * waiting first (contentions, total / average / longest wait, timeouts,
 * trylock failures, average and longest sampled hold), then for each
 * listed lock the stack that waited on it most, the unlocking stack that
 * made others wait most, and the stack that held it longest, each on one
 * line: a few frames from the innermost that is the program's own (lock
 * wrappers and libc left out, as locknames.h names locks), names without
 * their parameter lists unless two functions would then read alike
 * (report_names.c).  Long lock names have their templates elided.
 *
 * Every value comes from the profile's samples of that lock (merged by
 * lock name, as profile.h keys the table) and its LOCK and LOCK_LOST
 * records: a lock's counts and delays include its events that lost their
 * stack, and its details say how much of each view has none, and why, so
 * that charged (with or without a stack) + not charged == waited.  A lock
 * only some views saw shows "-" for the others, and so does a longest wait
 * or hold when none of the lock's events in that view kept a stack (the
 * longest is known only from the stacks' buckets).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "report.h"

/* The preemption hint: at least this many sampled holds, and a wait this
 * long and this many times the average hold. */
#define HINT_HOLDS 5
#define HINT_WAIT_NS 1000000
#define HINT_RATIO 1000

/* A sample of a lock, ready to be grouped by (lock, view, stack). */
struct item {
	const char *lock;
	int view;
	char *key;
	size_t sample;
};

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->lock != y->lock)
		return (uintptr_t)x->lock < (uintptr_t)y->lock ? -1 : 1;
	if (x->view != y->view)
		return x->view < y->view ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int cmp_row_by_lock(const void *a, const void *b)
{
	const struct report_lockrow *x = a, *y = b;
	return (uintptr_t)x->lock->name < (uintptr_t)y->lock->name ? -1
	       : x->lock->name != y->lock->name                    ? 1
	                                                           : 0;
}

/* Most waiting first, then most caused, most held, then by name. */
static int cmp_row_by_wait(const void *a, const void *b)
{
	const struct report_lockrow *x = a, *y = b;
	static const int order[] = {LC_VIEW_WAIT, LC_VIEW_HOLDER, LC_VIEW_HOLD};
	for (size_t i = 0; i < 3; i++) {
		int64_t dx = x->v[order[i]][PROF_DELAY], dy = y->v[order[i]][PROF_DELAY];
		if (dx != dy)
			return dx < dy ? 1 : -1;
	}
	return strcmp(x->lock->name, y->lock->name);
}

/* A group of items with one stack: add it to its lock's row. */
static void add_group(const struct profile *p, struct report_lockrow *r, const struct item *it,
                      size_t n)
{
	struct report_best g = {.sample = it[0].sample, .set = true};
	for (size_t i = 0; i < n; i++) {
		const struct prof_sample *s = &p->samples[it[i].sample];
		for (int k = 0; k < PROF_NVALUES; k++)
			g.value[k] += s->value[k];
		g.max_ns = s->max_ns > g.max_ns ? s->max_ns : g.max_ns;
	}
	int v = it[0].view;
	for (int k = 0; k < PROF_NVALUES; k++)
		r->v[v][k] += g.value[k];
	r->max[v] = g.max_ns > r->max[v] ? g.max_ns : r->max[v];
	struct report_best *b = &r->top[v];
	bool better =
	    v == LC_VIEW_HOLD ? g.max_ns > b->max_ns : g.value[PROF_DELAY] > b->value[PROF_DELAY];
	if (!b->set || better)
		*b = g;
}

/* Walk the sorted items (by lock, view, stack) and the rows (by lock). */
static void fill_rows(const struct profile *p, struct report_lockrow *rows, struct item *it,
                      size_t n)
{
	size_t r = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && cmp_item(&it[i], &it[j]) == 0)
			j++;
		while (r < p->nlocks && rows[r].lock->name != it[i].lock)
			r++;
		if (r == p->nlocks)
			return; /* a sample's lock is always in the table (profile.h) */
		add_group(p, &rows[r], &it[i], j - i);
		i = j;
	}
}

/* What each lock lost (its LOCK_LOST records) is its too: all of its
 * events are in its row, and the details say how much has no stack. */
static void add_lost(const struct profile *p, struct report_lockrow *rows)
{
	for (size_t i = 0; i < p->nlocks; i++)
		for (int v = 0; v < LC_NVIEWS; v++)
			for (int k = 0; k < LC_LOST_NREASONS; k++) {
				const struct lc_lost_entry *e = &rows[i].lock->lost[v][k];
				rows[i].v[v][PROF_CONTENTIONS] += (int64_t)e->count;
				rows[i].v[v][PROF_DELAY] += (int64_t)e->delay_ns;
				rows[i].lost[v] += (int64_t)e->delay_ns;
			}
}

struct report_lockrow *report_lock_rows(const struct profile *p)
{
	struct report_lockrow *rows = calloc(p->nlocks ? p->nlocks : 1, sizeof(*rows));
	struct item *it = calloc(p->nsamples ? p->nsamples : 1, sizeof(*it));
	size_t n = 0;
	bool ok = rows && it;
	for (size_t i = 0; ok && i < p->nlocks; i++)
		rows[i].lock = &p->locks[i];
	for (size_t i = 0; ok && i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		if (!s->lock)
			continue;
		it[n] = (struct item){s->lock, s->view, report_stack_key(p, s), i};
		ok = it[n++].key != NULL;
	}
	if (ok) {
		qsort(rows, p->nlocks, sizeof(*rows), cmp_row_by_lock);
		qsort(it, n, sizeof(*it), cmp_item);
		fill_rows(p, rows, it, n);
		add_lost(p, rows);
		qsort(rows, p->nlocks, sizeof(*rows), cmp_row_by_wait);
	}
	for (size_t i = 0; it && i < n; i++)
		free(it[i].key);
	free(it);
	if (!ok) {
		free(rows);
		return NULL;
	}
	return rows;
}

/* ---- printing ---------------------------------------------------------------- */

/* A duration, or "-" when there is nothing to measure. */
static void dur_or_dash(char *buf, size_t cap, int64_t ns, bool have)
{
	if (have)
		report_duration(buf, cap, (uint64_t)ns);
	else
		snprintf(buf, cap, "-");
}

static void print_lock_row(const struct report_lockrow *r, int64_t total, FILE *out)
{
	char wait[32], avg[32], max[32], havg[32], hmax[32], name[1024];
	const int64_t *w = r->v[LC_VIEW_WAIT], *h = r->v[LC_VIEW_HOLD];
	dur_or_dash(wait, sizeof(wait), w[PROF_DELAY], true);
	dur_or_dash(avg, sizeof(avg), w[PROF_CONTENTIONS] ? w[PROF_DELAY] / w[PROF_CONTENTIONS] : 0,
	            w[PROF_CONTENTIONS] > 0);
	/* A longest wait or hold comes from the events with a stack: one
	 * without (stacks=0, no slot) has no length of its own in the dump, so
	 * a lock all of whose events lost their stack has no known longest
	 * ("-"), never "0 ns" beside a non-zero average. */
	dur_or_dash(max, sizeof(max), r->max[LC_VIEW_WAIT],
	            w[PROF_CONTENTIONS] > 0 && r->max[LC_VIEW_WAIT] > 0);
	dur_or_dash(havg, sizeof(havg),
	            h[PROF_CONTENTIONS] ? h[PROF_DELAY] / h[PROF_CONTENTIONS] : 0,
	            h[PROF_CONTENTIONS] > 0);
	dur_or_dash(hmax, sizeof(hmax), r->max[LC_VIEW_HOLD],
	            h[PROF_CONTENTIONS] > 0 && r->max[LC_VIEW_HOLD] > 0);
	report_name_short(r->lock->name, name, sizeof(name));
	fprintf(out,
	        "%12s %5.1f%% %11" PRId64 " %10s %10s %8" PRIu64 " %8" PRIu64
	        " %10s %10s  %-6s  %s\n",
	        wait, report_pct(w[PROF_DELAY], total), w[PROF_CONTENTIONS], avg, max,
	        r->lock->timeouts, r->lock->trylock_failures, havg, hmax,
	        report_kinds_label(r->lock->kinds), name);
}

/* "    top waiter     1.20 ms in 12 waits       frame (file:line) < frame < ..." */
static void print_best(const struct profile *p, const struct report_names *rn,
                       const struct report_best *b, const char *what, int64_t value,
                       const char *events, FILE *out)
{
	char dur[32], count[48];
	if (!b->set)
		return;
	report_duration(dur, sizeof(dur), (uint64_t)value);
	/* a hold's value is its longest: "of 30 holds"; the others sum: "in 12 waits" */
	snprintf(count, sizeof(count), "%s %" PRId64 " %s", strcmp(events, "holds") ? "in" : "of",
	         b->value[PROF_CONTENTIONS], events);
	fprintf(out, "    %-12s %10s %-18s  ", what, dur, count);
	const struct prof_sample *s = &p->samples[b->sample];
	report_stack_line(p, rn, s->locs, s->nlocs, out);
}

/* " (1.20 ms of it without a stack: evicted 1.00 ms, no_slot 200 us)", or
 * nothing when the view lost nothing of this lock. */
static void print_lost(const struct report_lockrow *r, int view, FILE *out)
{
	char d[32];
	if (!r->lost[view])
		return;
	report_duration(d, sizeof(d), (uint64_t)r->lost[view]);
	fprintf(out, " (%s of it without a stack:", d);
	const char *sep = " ";
	for (int k = 0; k < LC_LOST_NREASONS; k++) {
		uint64_t ns = r->lock->lost[view][k].delay_ns;
		if (!ns)
			continue;
		report_duration(d, sizeof(d), ns);
		fprintf(out, "%s%s %s", sep, names_lost((uint32_t)k), d);
		sep = ", ";
	}
	fprintf(out, ")");
}

/* A lock held for a moment on average whose waits still last long: its
 * holders did not work long with it, they lost their CPU while holding
 * it.  (MariaDB's table cache: 286 ns average hold, a 219 ms wait.) */
static void print_hint(const struct report_lockrow *r, FILE *out)
{
	const int64_t *h = r->v[LC_VIEW_HOLD];
	int64_t max_wait = r->max[LC_VIEW_WAIT];
	if (h[PROF_CONTENTIONS] < HINT_HOLDS || max_wait < HINT_WAIT_NS ||
	    max_wait / HINT_RATIO < h[PROF_DELAY] / h[PROF_CONTENTIONS])
		return;
	char hold[32], wait[32];
	report_duration(hold, sizeof(hold), (uint64_t)(h[PROF_DELAY] / h[PROF_CONTENTIONS]));
	report_duration(wait, sizeof(wait), (uint64_t)max_wait);
	fprintf(out,
	        "    hint: held %s on average, yet a wait lasted %s: a holder that lost its CPU "
	        "while holding it (preempted; more runnable threads than CPUs) is the likely "
	        "cause, not the work done under it\n",
	        hold, wait);
}

/* "  name, mutex: 94.0 ms waited in 512 contentions; unlocks charged
 * 54.5 ms, 39.5 ms not charged" — with what of each has no stack, and of
 * the last, what found no waiter cell ("(30.1 ms of it in 12 waits past 16
 * at once)", when any did). */
void report_lock_details_write(const struct profile *p, const struct report_names *rn,
                               const struct report_lockrow *r, FILE *out)
{
	char wait[32], caused[32], unch[32], name[1024];
	report_duration(wait, sizeof(wait), (uint64_t)r->v[LC_VIEW_WAIT][PROF_DELAY]);
	report_duration(caused, sizeof(caused), (uint64_t)r->v[LC_VIEW_HOLDER][PROF_DELAY]);
	report_duration(unch, sizeof(unch), r->lock->uncharged_ns);
	report_name_short(r->lock->name, name, sizeof(name));
	fprintf(out, "  %s, %s: %s waited in %" PRId64 " contentions", name,
	        report_kinds_label(r->lock->kinds), wait, r->v[LC_VIEW_WAIT][PROF_CONTENTIONS]);
	print_lost(r, LC_VIEW_WAIT, out);
	if (p->holder_recorded) {
		fprintf(out, "; unlocks charged %s", caused);
		print_lost(r, LC_VIEW_HOLDER, out);
		fprintf(out, ", %s not charged", unch);
		if (r->lock->no_cell_count) {
			char crowd[32];
			report_duration(crowd, sizeof(crowd), r->lock->no_cell_ns);
			fprintf(out, " (%s of it in %" PRIu64 " waits past 16 at once)", crowd,
			        r->lock->no_cell_count);
		}
	}
	fprintf(out, "\n");
	print_hint(r, out);
	const struct report_best *t = r->top;
	print_best(p, rn, &t[LC_VIEW_WAIT], "top waiter", t[LC_VIEW_WAIT].value[PROF_DELAY],
	           "waits", out);
	print_best(p, rn, &t[LC_VIEW_HOLDER], "top holder", t[LC_VIEW_HOLDER].value[PROF_DELAY],
	           "unlocks", out);
	print_best(p, rn, &t[LC_VIEW_HOLD], "longest hold", t[LC_VIEW_HOLD].max_ns, "holds", out);
}

void report_locks_write(const struct report_input *in, FILE *out)
{
	const struct profile *p = in->profile;
	struct report_names rn;
	if (report_names_build(&rn, p) != 0)
		return;
	struct report_lockrow *rows = report_lock_rows(p);
	if (!rows) {
		report_names_free(&rn);
		return;
	}
	int64_t total = 0;
	for (size_t i = 0; i < p->nlocks; i++)
		total += rows[i].v[LC_VIEW_WAIT][PROF_DELAY];
	size_t n = p->nlocks < (size_t)in->top ? p->nlocks : (size_t)in->top;
	fprintf(out, "\nLocks by wait (wait: the waiter view; hold: sampled critical sections)\n");
	if (!n)
		fprintf(out, "  no lock was named in any dump\n");
	else
		fprintf(out, "%12s %6s %11s %10s %10s %8s %8s %10s %10s  %-6s  %s\n", "wait",
		        "wait%", "contentions", "avg wait", "max wait", "timeouts", "trylock",
		        "avg hold", "max hold", "kind", "lock");
	for (size_t i = 0; i < n; i++)
		print_lock_row(&rows[i], total, out);
	if (n)
		fprintf(out,
		        "\nLock details (top stacks of each lock: the program's innermost frames, "
		        "lock wrappers left out)\n");
	for (size_t i = 0; i < n; i++)
		report_lock_details_write(p, &rn, &rows[i], out);
	if (n < p->nlocks)
		fprintf(out, "  ... %zu more locks (--top)\n", p->nlocks - n);
	free(rows);
	report_names_free(&rn);
}
