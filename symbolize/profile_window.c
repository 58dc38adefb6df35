/*
 * profile_window.c — a profile cut to a window of the run (--from, --to;
 * profile.h's profile_build_window).
 *
 * Buckets carry no time: a bucket is a stack's events over the whole run.
 * What happened in a window is known only from the series (timeline.h),
 * whose entries name a stack by its id (lc_stack_id, dumpfmt.h).  So the
 * profile is first built whole — its locations, functions and lock names
 * are the whole run's, a window changes no name — and then each sample is
 * given what the window holds:
 *   - a bucket's sample: the window's events of its view, lock and stack
 *     id, or nothing (it is removed);
 *   - the dump's sentinel of each view: what the window holds under no
 *     bucket — events that had no stack, events whose stack the profile
 *     kept no bucket of (lost to the keep-one draw or a full arena, or
 *     still in a thread's stash in a live file), and OTHER entries;
 *   - max_ns is 0: the series keep no longest wait.
 * An event that lost the keep-one draw but whose stack has a bucket from
 * other events is shown on that stack: the series says where it waited,
 * which is more than the whole-run profile can.  Events not placed in
 * time (dump_series_unplaced) are in no window: main.c says how many.
 */
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "profile.h"
#include "timeline.h"

static uint64_t sub_or_zero(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Dump i's window, after its own start, widened; what is not placed. */
static void window_of(const struct dump *d, uint64_t delta, const struct prof_window *w,
                      struct prof_window_dump *wd)
{
	wd->from_ns = sub_or_zero(w->from_ns, delta);
	wd->to_ns = w->to_ns == UINT64_MAX ? UINT64_MAX : sub_or_zero(w->to_ns, delta);
	wd->widened = timeline_widen(d, &wd->from_ns, &wd->to_ns);
	wd->has_series = d->nseries > 0;
	for (int v = 0; v < LC_NVIEWS; v++)
		dump_series_unplaced(d, (enum lc_view)v, &wd->unplaced_count[v],
		                     &wd->unplaced_delay[v]);
}

/* Dump i's samples get the window's sums: buckets by stack id, then the
 * sentinels what no bucket took. */
static void window_values(struct profile *p, size_t i, const struct dump *d, struct timeline_sum *s,
                          size_t n)
{
	for (size_t k = 0; k < p->nsamples; k++) {
		struct prof_sample *ps = &p->samples[k];
		if (ps->dump != i || ps->bucket < 0)
			continue;
		const struct dump_bucket *bk = &d->buckets[ps->bucket];
		uint64_t id = lc_stack_id(bk->pcs, bk->nframes, bk->kind, bk->flags, bk->epoch);
		struct timeline_sum *f = timeline_sum_find(s, n, bk->view, bk->lock, id);
		bool take = f && !f->used;
		ps->value[PROF_CONTENTIONS] = take ? (int64_t)f->count : 0;
		ps->value[PROF_DELAY] = take ? (int64_t)f->delay_ns : 0;
		ps->max_ns = 0;
		if (take)
			f->used = true;
	}
	uint64_t left[LC_NVIEWS][PROF_NVALUES] = {{0}};
	for (size_t k = 0; k < n; k++) {
		if (s[k].used)
			continue;
		left[s[k].view][PROF_CONTENTIONS] += s[k].count;
		left[s[k].view][PROF_DELAY] += s[k].delay_ns;
	}
	for (size_t k = 0; k < p->nsamples; k++) {
		struct prof_sample *ps = &p->samples[k];
		if (ps->dump != i || ps->bucket >= 0)
			continue;
		ps->value[PROF_CONTENTIONS] = (int64_t)left[ps->view][PROF_CONTENTIONS];
		ps->value[PROF_DELAY] = (int64_t)left[ps->view][PROF_DELAY];
	}
}

/* Samples with nothing in the window go. */
static void window_compact(struct profile *p)
{
	size_t kept = 0;
	for (size_t k = 0; k < p->nsamples; k++) {
		struct prof_sample *ps = &p->samples[k];
		if (!ps->value[PROF_CONTENTIONS] && !ps->value[PROF_DELAY]) {
			free(ps->locs);
			continue;
		}
		p->samples[kept++] = *ps;
	}
	p->nsamples = kept;
}

int profile_window_apply(struct profile *p, const struct dump *dumps, const struct prof_window *w)
{
	uint64_t earliest = p->time_nanos, lo = UINT64_MAX, hi = 0;
	p->window = w;
	if (!(p->window_dumps = calloc(p->ndumps ? p->ndumps : 1, sizeof(*p->window_dumps))))
		return -1;
	for (size_t i = 0; i < p->ndumps; i++) {
		const struct dump *d = &dumps[i];
		struct prof_window_dump *wd = &p->window_dumps[i];
		uint64_t delta = sub_or_zero(d->meta.start_realtime_ns, earliest);
		window_of(d, delta, w, wd);
		struct timeline_sum *s;
		size_t n;
		if (timeline_sums(d, wd->from_ns, wd->to_ns, &s, &n) != 0)
			return -1;
		window_values(p, i, d, s, n);
		free(s);
		uint64_t extent = timeline_extent_ns(d);
		uint64_t to = wd->to_ns < extent ? wd->to_ns : extent;
		lo = wd->from_ns + delta < lo ? wd->from_ns + delta : lo;
		hi = to + delta > hi ? to + delta : hi;
	}
	window_compact(p);
	p->time_nanos = earliest + (lo == UINT64_MAX ? 0 : lo);
	p->duration_nanos = hi > lo && lo != UINT64_MAX ? hi - lo : 0;
	return 0;
}
