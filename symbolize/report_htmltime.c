/*
 * report_htmltime.c — the HTML report's threads and timeline: each thread's
 * own figures, and every placed series entry with the sample, lock and
 * thread it belongs to (report_html.h has the fields).
 *
 * The page recomputes its flame graphs and lock table for a range of time,
 * or groups the graphs by thread, from these entries alone, so each is
 * written as seven numbers: [cell, view, lock, sample, thread, count,
 * delay].  cell is the entry's place on its dump's grid (timeline.h: as
 * wide as the widest entry, so no entry is split and every figure is a
 * sum of whole entries); sample is the index of its stack's sample in
 * views[view].samples (-1: its stack has no bucket — events that lost
 * their stack: the page shows them as _LostContendedLock; -2: an OTHER
 * entry, the events of locks and stacks the series had no room to tell
 * apart); lock the lock table's row (-1: none, or a lock the table
 * lacks).
 *
 * thread: a series is one slot's, and a slot is used by its threads one
 * after the other (THREAD records, 3.7: when each took it and gave it
 * back).  An entry belongs to a thread when that thread is the only one
 * whose time on the slot meets the entry's interval: exact for a slot one
 * thread had (most threads: workers that live as long as the program);
 * for a slot handed from one thread to the next, the interval in which it
 * changed hands is -1, not told apart, as is every entry of a thread
 * whose figures are not known and of the shared overflow slot.
 *
 * Samples are found by (view, lock, stack id) as profile_window.c finds
 * them: each bucket's stack hashed with lc_stack_id.  Out of memory, the
 * fields are left out (the page then has no timeline and no threads).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "report_html.h"
#include "timeline.h"

/* A written sample of one dump, by what names it in a series. */
struct keyed {
	uint64_t lock, stack;
	uint8_t view;
	uint32_t index;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->view != y->view)
		return x->view < y->view ? -1 : 1;
	if (x->lock != y->lock)
		return x->lock < y->lock ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The written samples of dump i that have a bucket, sorted; NULL: none or
 * out of memory (*n 0). */
static struct keyed *keyed_samples(const struct htmltime *ht, size_t i, size_t *n)
{
	const struct dump *d = &ht->in->dumps[i];
	struct keyed *k = malloc((ht->nwritten ? ht->nwritten : 1) * sizeof(*k));
	*n = 0;
	for (size_t w = 0; k && w < ht->nwritten; w++) {
		const struct prof_sample *s = ht->written[w].s;
		if (s->dump != i || s->bucket < 0 || (size_t)s->bucket >= d->nbuckets)
			continue;
		const struct dump_bucket *bk = &d->buckets[s->bucket];
		k[(*n)++] = (struct keyed){
		    .lock = bk->lock,
		    .stack = lc_stack_id(bk->pcs, bk->nframes, bk->kind, bk->flags, bk->epoch),
		    .view = bk->view,
		    .index = ht->written[w].index};
	}
	if (k)
		qsort(k, *n, sizeof(*k), cmp_keyed);
	return k;
}

static int64_t sample_of(const struct keyed *k, size_t n, uint8_t view, uint64_t lock,
                         uint64_t stack)
{
	struct keyed want = {.lock = lock, .stack = stack, .view = view};
	const struct keyed *f = k ? bsearch(&want, k, n, sizeof(*k), cmp_keyed) : NULL;
	return f ? (int64_t)f->index : -1;
}

/* The lock table's row of dump i's lock at addr: a sample of that dump
 * names it; -1 if none does. */
static int64_t lock_row_of(const struct htmltime *ht, size_t i, uint64_t addr)
{
	uint32_t row;
	for (size_t w = 0; addr && w < ht->nwritten; w++) {
		const struct prof_sample *s = ht->written[w].s;
		if (s->dump == i && s->lock_addr == addr && s->lock &&
		    map64_get(ht->lock_index, (uintptr_t)s->lock, &row))
			return row;
	}
	return -1;
}

/* ---- threads ------------------------------------------------------------------- */

static bool thread_shown(const struct dump_thread *t)
{
	return t->state == DUMP_THREAD_OK;
}

static void write_thread(FILE *out, size_t dump, const struct dump_thread *t, bool first)
{
	fprintf(out, "%s{\"dump\":%zu,\"tid\":%" PRId32 ",\"name\":", first ? "\n" : ",\n", dump,
	        t->tid);
	jsonw_string(out, t->name);
	fprintf(out,
	        ",\"ended\":%s,\"count\":%" PRIu64 ",\"wait\":%" PRIu64 ",\"causedCount\":%" PRIu64
	        ",\"caused\":%" PRIu64 ",\"holds\":%" PRIu64 ",\"hold\":%" PRIu64 "}",
	        t->ended ? "true" : "false", t->count[LC_VIEW_WAIT], t->delay_ns[LC_VIEW_WAIT],
	        t->count[LC_VIEW_HOLDER], t->delay_ns[LC_VIEW_HOLDER], t->count[LC_VIEW_HOLD],
	        t->delay_ns[LC_VIEW_HOLD]);
}

/* "threads": every thread whose figures are known, in file order, dump by
 * dump (the page numbers them in this order); "threadsRest": per view,
 * [count, delay] no thread holds; "threadsKnown": a dump had THREAD
 * records. */
static void write_threads(const struct htmltime *ht)
{
	FILE *out = ht->out;
	bool first = true, known = false, fits = true;
	uint64_t rest[LC_NVIEWS][2] = {{0}};
	fputs(",\n\"threads\":[", out);
	for (size_t i = 0; i < ht->in->ndumps; i++) {
		const struct dump *d = &ht->in->dumps[i];
		known |= d->nthreads > 0;
		for (size_t k = 0; k < d->nthreads; k++)
			if (thread_shown(&d->threads[k])) {
				write_thread(out, i, &d->threads[k], first);
				first = false;
			}
		for (int v = 0; v < LC_NVIEWS; v++) {
			uint64_t c, dl;
			fits &= dump_threads_rest(d, (enum lc_view)v, &c, &dl);
			rest[v][0] += c;
			rest[v][1] += dl;
		}
	}
	fputs("],\n\"threadsRest\":[", out);
	for (int v = 0; v < LC_NVIEWS; v++)
		fprintf(out, "%s[%" PRIu64 ",%" PRIu64 "]", v ? "," : "", rest[v][0], rest[v][1]);
	fprintf(out, "],\"threadsKnown\":%s,\"threadsFit\":%s", known ? "true" : "false",
	        fits ? "true" : "false");
}

/* ---- the timeline ------------------------------------------------------------------ */

/* The page's index of dump i's thread k, or -1 (not written). */
static int64_t thread_index(const struct htmltime *ht, size_t i, size_t k)
{
	int64_t idx = 0;
	for (size_t j = 0; j <= i; j++) {
		const struct dump *d = &ht->in->dumps[j];
		for (size_t m = 0; m < d->nthreads; m++) {
			if (j == i && m == k)
				return thread_shown(&d->threads[m]) ? idx : -1;
			idx += thread_shown(&d->threads[m]);
		}
	}
	return -1;
}

/* The one thread of slot `slot` whose time on it meets [s, e) (ns after
 * the dump's start), or -1: none, or more than one. */
static int64_t entry_thread(const struct htmltime *ht, size_t i, uint64_t slot, uint64_t s,
                            uint64_t e)
{
	const struct dump *d = &ht->in->dumps[i];
	uint64_t origin = d->meta.start_mono_ns;
	int64_t found = -1;
	int met = 0;
	for (size_t k = 0; k < d->nthreads; k++) {
		const struct dump_thread *t = &d->threads[k];
		if (t->slot != slot)
			continue;
		uint64_t ts = t->start_ns > origin ? t->start_ns - origin : 0;
		uint64_t te = t->ended && t->end_ns > origin ? t->end_ns - origin : UINT64_MAX;
		if (ts >= e || te < s) /* an event ends in [s, e), the thread's in [ts, te] */
			continue;
		met++;
		found = thread_index(ht, i, k);
	}
	return met == 1 ? found : -1;
}

static void write_entries(const struct htmltime *ht, size_t i, uint64_t width,
                          const struct keyed *k, size_t nk)
{
	const struct dump *d = &ht->in->dumps[i];
	bool first = true;
	for (size_t si = 0; si < d->nseries; si++) {
		const struct dump_series *s = &d->series[si];
		if (s->state != DUMP_SERIES_PLACED)
			continue;
		for (size_t e = 0; e < s->n; e++) {
			const struct dump_series_entry *en = &s->entries[e];
			if (ht->in->view >= 0 && en->view != ht->in->view)
				continue;
			if (!en->count && !en->delay_ns)
				continue;
			int64_t sample =
			    en->other ? -2 : sample_of(k, nk, en->view, en->lock, en->stack);
			fprintf(ht->out,
			        "%s%" PRIu64 ",%u,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRIu64
			        ",%" PRIu64,
			        first ? "" : ",\n", en->start_ns / width, en->view,
			        en->other ? -1 : lock_row_of(ht, i, en->lock), sample,
			        entry_thread(ht, i, s->slot, en->start_ns, en->end_ns), en->count,
			        en->delay_ns);
			first = false;
		}
	}
}

/* One dump's timeline: {dump, width, ncells, unplaced: [count, delay] of
 * the waiter view, e: [entries]}; nothing if no series is placed. */
static bool write_dump_timeline(const struct htmltime *ht, size_t i, bool first)
{
	const struct dump *d = &ht->in->dumps[i];
	struct timeline t;
	if (!d->nseries || timeline_build(&t, d) != 0)
		return false;
	if (!t.width_ns) {
		timeline_free(&t);
		return false;
	}
	size_t nk;
	struct keyed *k = keyed_samples(ht, i, &nk);
	uint64_t uc = 0, ud = 0;
	(void)dump_series_unplaced(d, LC_VIEW_WAIT, &uc, &ud);
	fprintf(ht->out,
	        "%s{\"dump\":%zu,\"width\":%" PRIu64 ",\"ncells\":%" PRIu64
	        ",\"unplaced\":[%" PRIu64 ",%" PRIu64 "],\"e\":[",
	        first ? "\n" : ",\n", i, t.width_ns, t.ncells, uc, ud);
	write_entries(ht, i, t.width_ns, k, nk);
	fputs("]}", ht->out);
	free(k);
	timeline_free(&t);
	return true;
}

void report_htmltime_write(const struct htmltime *ht)
{
	write_threads(ht);
	fputs(",\n\"timeline\":[", ht->out);
	bool first = true;
	for (size_t i = 0; i < ht->in->ndumps; i++)
		if (write_dump_timeline(ht, i, first))
			first = false;
	fputs("]", ht->out);
}
