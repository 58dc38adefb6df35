/*
 * report_text.c — the human report: a header per dump (what was profiled,
 * whether the file is complete, live or left by a writer that died, how,
 * what was lost and why, what was still in flight, how the holder view adds
 * up against the waiter view), then one section per view
 * shown — by default the waiters' and the holders' — each with the top
 * functions like `pprof -top` (flat: the frame that called the lock or the
 * unlock itself; cum: anywhere on the stack) and the top stacks with every
 * frame as function (file:line), long C++ names with their templates
 * elided (report_names.c); then the lock table (report_locks.c).
 *
 * The holder view's _NotChargedToHolder row and stack are printed even
 * when they rank below --top: without them the holder view would seem to
 * explain all the waiting when it does not.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "report.h"
#include "viewkind.h"

/* How each view's numbers read. */
struct view_words {
	const char *title;  /* the section's heading */
	const char *value;  /* "wait": "Top functions by wait" */
	const char *events; /* what count counts */
	const char *flat;   /* what flat means */
};

static const struct view_words words[LC_NVIEWS] = {
    [LC_VIEW_WAIT] = {"Waiters: who waited for a lock, and where", "wait", "contentions",
                      "it called the lock"},
    [LC_VIEW_HOLDER] = {"Holders: who made them wait (the unlocking stack, charged with the "
                        "waiting its unlock ended)",
                        "caused wait", "unlocks", "it called the unlock"},
    [LC_VIEW_HOLD] = {"Hold times: sampled critical sections of contended locks (the "
                      "unlocking stack)",
                      "hold time", "holds", "it called the unlock"},
};

/* ---- header ------------------------------------------------------------- */

/* "N events (time) charged to _LostContendedLock: why..." for one view. */
static void header_lost_view(const struct dump *d, enum lc_view v, const char *prefix, FILE *out)
{
	uint64_t lc, ld;
	char dur[32];
	dump_lost_sum(d, v, &lc, &ld);
	report_duration(dur, sizeof(dur), ld);
	fprintf(out, "  %s%" PRIu64 " %s (%s) charged to %s:", prefix, lc, words[v].events, dur,
	        LC_SENTINEL_NAME);
	const char *sep = " ";
	for (int r = 0; r < LC_LOST_NREASONS; r++) {
		if (!d->lost[v][r].count)
			continue;
		fprintf(out, "%s%" PRIu64 " %s", sep, d->lost[v][r].count, names_lost_why(r));
		sep = ", ";
	}
	fprintf(out, "\n");
}

static bool view_lost(const struct dump *d, enum lc_view v)
{
	uint64_t lc, ld;
	dump_lost_sum(d, v, &lc, &ld);
	return lc || ld;
}

/* What "not charged to a holder" holds, after its total: the waits that
 * found their lock's 16 waiter cells taken (LOCK_NO_CELL, 3.12), and the
 * rest: the wake-up latency after the charging unlock, and waiting whose
 * holder this profile does not see (in another process, a process-shared
 * lock; an unlock not seen) — the file does not tell those two apart. */
static void header_uncharged_split(const struct dump *d, FILE *out)
{
	char wake[32], crowd[32];
	if (!d->have_no_cell) {
		fprintf(out,
		        " (wake-up latency or unseen holders, and waits past 16 at once on one "
		        "lock: a file written before 3.12 does not say how much is which)");
		return;
	}
	if (!d->no_cell_count) {
		fprintf(out, " (wake-up latency or unseen holders; no wait past 16 at once on one "
		             "lock)");
		return;
	}
	uint64_t u = d->totals.uncharged_ns;
	report_duration(wake, sizeof(wake), u > d->no_cell_ns ? u - d->no_cell_ns : 0);
	report_duration(crowd, sizeof(crowd), d->no_cell_ns);
	fprintf(out,
	        ": %s wake-up latency or unseen holders, %s in %" PRIu64
	        " waits past 16 at once on one lock",
	        wake, crowd, d->no_cell_count);
}

/* The holders' line and the check that they add up to the waiting. */
static void header_holder(const struct dump *d, FILE *out)
{
	const struct lc_rec_totals *t = &d->totals;
	char caused[32], unch[32], sum[32], wait[32];
	report_duration(caused, sizeof(caused), t->caused_ns);
	report_duration(unch, sizeof(unch), t->uncharged_ns);
	fprintf(out, "  holders: %" PRIu64 " unlocks charged %s of it; %s not charged to a holder",
	        t->caused_count, caused, unch);
	header_uncharged_split(d, out);
	fprintf(out, "\n");
	if (view_lost(d, LC_VIEW_HOLDER))
		header_lost_view(d, LC_VIEW_HOLDER, "holder view: ", out);
	uint64_t both = t->caused_ns + t->uncharged_ns;
	uint64_t diff = both > t->delay_ns ? both - t->delay_ns : t->delay_ns - both;
	if ((double)diff > 0.05 * (double)t->delay_ns) {
		report_duration(sum, sizeof(sum), both);
		report_duration(wait, sizeof(wait), t->delay_ns);
		fprintf(out,
		        "  WARNING: holders + not charged = %s, %.1f%% off the total wait %s "
		        "(waits still in progress at exit are in the wait only)\n",
		        sum, t->delay_ns ? report_pct((int64_t)diff, (int64_t)t->delay_ns) : 100.0,
		        wait);
	}
}

static void header_hold_and_locks(const struct dump *d, FILE *out)
{
	const struct lc_rec_totals *t = &d->totals;
	char held[32];
	if (d->meta.hold_rate || t->holds) {
		report_duration(held, sizeof(held), t->hold_ns);
		fprintf(out,
		        "  hold times: %" PRIu64 " critical sections, %s held (estimated from "
		        "1 in %u acquisitions)\n",
		        t->holds, held, d->meta.hold_rate);
	}
	if (view_lost(d, LC_VIEW_HOLD))
		header_lost_view(d, LC_VIEW_HOLD, "hold view: ", out);
	fprintf(out, "  locks contended: %" PRIu64 "; trylock failures: %" PRIu64 "\n", t->locks,
	        t->trylock_failures);
	if (t->locks_refused)
		fprintf(out,
		        "  %" PRIu64 " locks did not fit in the lock table (no name, no "
		        "per-lock counters)\n",
		        t->locks_refused);
	if (t->stacks_refused)
		fprintf(out, "  %" PRIu64 " new stacks did not fit in the arena\n",
		        t->stacks_refused);
}

/* "ran 2.00 s", or for a file without a clean end what is known of it. */
static void run_time(const struct dump *d, const struct dump_status *st, char *buf, size_t cap)
{
	const struct lc_rec_meta *m = &d->meta;
	char dur[32];
	uint64_t snap = d->live.snapshot_mono_ns;
	if (m->end_mono_ns && m->end_mono_ns >= m->start_mono_ns) {
		report_duration(dur, sizeof(dur), m->end_mono_ns - m->start_mono_ns);
		snprintf(buf, cap, "ran %s", dur);
	} else if (d->complete && d->live.state == LC_LIVE_SNAPSHOT && snap >= m->start_mono_ns) {
		report_duration(dur, sizeof(dur), snap - m->start_mono_ns);
		snprintf(buf, cap, "ran %s until the snapshot", dur);
	} else if (st && st->writer == DUMP_WRITER_LIVE &&
	           st->read_realtime_ns >= m->start_realtime_ns) {
		report_duration(dur, sizeof(dur), st->read_realtime_ns - m->start_realtime_ns);
		snprintf(buf, cap, "running for %s so far", dur);
	} else {
		snprintf(buf, cap, "ran for a time not known (no clean end)");
	}
}

/* The file, what became of its writer (one line), how it was recorded and
 * by which lockcontend (a file before 3.6 does not say). */
static void header_run(const struct dump *d, const char *path, const struct dump_status *st,
                       FILE *out)
{
	char ran[64], hold[32] = "off", status[512];
	const struct lc_rec_meta *m = &d->meta;
	run_time(d, st, ran, sizeof(ran));
	dumpstatus_describe(d, st, status, sizeof(status));
	if (m->hold_rate)
		snprintf(hold, sizeof(hold), "1 in %u", m->hold_rate);
	fprintf(out, "%s (pid %" PRIu64 ") from %s\n", d->exe, m->pid, path);
	fprintf(out, "  %s\n", status);
	fprintf(out, "  %s; rate %u%s; stacks %s, depth %u; holder view %s; hold times %s%s%s\n",
	        ran, m->rate,
	        m->rate == 1 ? " (every contention recorded)" : " (1 in rate recorded, scaled)",
	        m->flags & LC_META_STACKS ? "on" : "off", m->depth,
	        m->flags & LC_META_HOLDER ? "on" : "off", hold,
	        d->have_writer ? "; recorded by lockcontend " : "", d->writer);
}

/* A profile made by an attach: where its hooks were, what they could not
 * reach, and at the detach what became of them. */
static void header_attach(const struct dump *d, FILE *out)
{
	const struct lc_rec_attach *a = &d->attach;
	if (!(d->meta.flags & LC_META_ATTACHED))
		return;
	char later[40] = "";
	if (a->later)
		snprintf(later, sizeof(later), " (%u loaded since)", a->later);
	fprintf(out,
	        "  attached to the running program: %" PRIu64
	        " GOT slots in %u object%s%s; waits begun before the attach are not counted\n",
	        a->slots, a->objects, a->objects == 1 ? "" : "s", later);
	if (a->out_of_reach)
		fprintf(out,
		        "  %" PRIu64 " references to hooked functions stored in data were out of "
		        "reach: calls through them were not seen\n",
		        a->out_of_reach);
	if (a->failed)
		fprintf(out,
		        "  %" PRIu64 " slots could not be rewritten: calls through them were "
		        "not seen\n",
		        a->failed);
	if (d->live.state == LC_LIVE_DETACHED)
		fprintf(out,
		        "  at the detach: %" PRIu64 " slots given back, %" PRIu64
		        " changed since left as they were, %" PRIu64 " in objects unloaded\n",
		        a->restored, a->left, a->forgotten);
}

/* A file without trailer, or a snapshot: what its threads counted beyond
 * its stacks and sentinel, events still in their stashes (or, in a file
 * cut short, in records past the cut).  More in the stacks than in the totals is no event
 * in flight: the file changed while it was read (unless it was cut: the
 * warning about that says enough). */
static void header_in_flight(const struct dump *d, FILE *out)
{
	static const char *const prefix[LC_NVIEWS] = {"", "holder view: ", "hold view: "};
	bool cut = d->end == DUMP_END_CUT;
	char dur[32], dur2[32];
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t c, t, sc, sd;
		if (dump_view_in_flight(d, (enum lc_view)v, &c, &t)) {
			report_duration(dur, sizeof(dur), t);
			if (c || t)
				fprintf(out, "  %s%" PRIu64 " %s (%s) %s\n", prefix[v], c,
				        words[v].events, dur,
				        cut ? "are in no stack read (in flight, or past the cut)"
				            : "were in flight, not in any stack");
			continue;
		}
		if (cut)
			continue;
		dump_sum(d, (enum lc_view)v, &sc, &sd);
		dump_view_totals(d, (enum lc_view)v, &c, &t);
		report_duration(dur, sizeof(dur), sd);
		report_duration(dur2, sizeof(dur2), t);
		fprintf(out,
		        "  WARNING: %sthe stacks hold %" PRIu64
		        " %s (%s), the threads' totals %" PRIu64
		        " (%s): the file changed while it was read\n",
		        prefix[v], sc, words[v].events, dur, c, dur2);
	}
}

void report_dump_header_write(const struct dump *d, const char *path, const struct dump_status *st,
                              FILE *out)
{
	char wait[32];
	uint64_t fc = 0, ft = 0;
	/* cut short: slots past the cut are not read, so their sums are a floor */
	bool floor = d->totals_from_slots && d->end == DUMP_END_CUT;
	header_run(d, path, st, out);
	header_attach(d, out);
	report_duration(wait, sizeof(wait), d->totals.delay_ns);
	fprintf(out, "  %s%" PRIu64 " contentions, %s total wait", floor ? "at least " : "",
	        d->totals.contentions, wait);
	if (d->totals.timeouts)
		fprintf(out, " (%" PRIu64 " timed out)", d->totals.timeouts);
	fprintf(out, "%s\n",
	        floor                  ? " (the threads' slots read before the cut)"
	        : d->totals_from_slots ? " (the threads' running totals)"
	                               : "");
	if (dump_totals_while_running(d))
		dump_view_in_flight(d, LC_VIEW_WAIT, &fc, &ft);
	if (view_lost(d, LC_VIEW_WAIT))
		header_lost_view(d, LC_VIEW_WAIT, "", out);
	else if (!floor)
		fprintf(out, "  nothing lost%s\n",
		        fc || ft ? "" : ": every contention is on a stack below");
	if (dump_totals_while_running(d))
		header_in_flight(d, out);
	if (d->meta.flags & LC_META_HOLDER)
		header_holder(d, out);
	header_hold_and_locks(d, out);
	if (d->totals.threads_unread)
		fprintf(out, "  %" PRIu64 " threads could not be read at exit\n",
		        d->totals.threads_unread);
	char skipped[512];
	if (dump_skipped_kind_note(d, skipped, sizeof(skipped)))
		fprintf(out, "  %s\n", skipped);
}

/* ---- top functions -------------------------------------------------------- */

/* One row of the functions table.  Keyed by function index, or for an
 * unsymbolized frame by nfunctions + location index. */
struct row {
	int64_t flat[PROF_NVALUES], cum[PROF_NVALUES];
	size_t seen; /* last sample counted in cum, + 1 */
	uint32_t key;
	bool always; /* _NotChargedToHolder: printed whatever its rank */
};

static void row_name(const struct profile *p, const struct report_names *rn, uint32_t key,
                     char *buf, size_t cap)
{
	if (key < p->nfunctions)
		snprintf(buf, cap, "%s", rn->frame[key]);
	else
		profile_location_label(p, &p->locations[key - p->nfunctions], buf, cap);
}

static void rows_add_sample(const struct profile *p, struct row *rows, size_t si)
{
	const struct prof_sample *s = &p->samples[si];
	bool always = report_is_uncharged(p, s);
	for (uint32_t i = 0; i < s->nlocs; i++) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = 0; k < nl; k++) {
			uint32_t key = l->nlines ? l->lines[k].function
			                         : (uint32_t)(p->nfunctions + s->locs[i]);
			struct row *r = &rows[key];
			r->key = key;
			r->always |= always;
			for (int v = 0; v < PROF_NVALUES; v++) {
				if (i == 0 && k == 0)
					r->flat[v] += s->value[v];
				if (r->seen != si + 1)
					r->cum[v] += s->value[v];
			}
			r->seen = si + 1;
		}
	}
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->flat[PROF_DELAY] != y->flat[PROF_DELAY])
		return x->flat[PROF_DELAY] < y->flat[PROF_DELAY] ? 1 : -1;
	if (x->cum[PROF_DELAY] != y->cum[PROF_DELAY])
		return x->cum[PROF_DELAY] < y->cum[PROF_DELAY] ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static void print_row(const struct profile *p, const struct report_names *rn, const struct row *r,
                      int64_t sum, int64_t total, FILE *out)
{
	char name[1024], flat[32], cum[32];
	row_name(p, rn, r->key, name, sizeof(name));
	report_duration(flat, sizeof(flat), (uint64_t)r->flat[PROF_DELAY]);
	report_duration(cum, sizeof(cum), (uint64_t)r->cum[PROF_DELAY]);
	fprintf(out, "%12s %5.1f%% %5.1f%% %12s %5.1f%% %11" PRId64 "  %s\n", flat,
	        report_pct(r->flat[PROF_DELAY], total), report_pct(sum, total), cum,
	        report_pct(r->cum[PROF_DELAY], total), r->cum[PROF_CONTENTIONS], name);
}

static void top_functions(const struct profile *p, const struct report_names *rn, int view, int top,
                          int64_t total, FILE *out)
{
	size_t nrows = p->nfunctions + p->nlocations;
	struct row *rows = calloc(nrows ? nrows : 1, sizeof(*rows));
	if (!rows)
		return;
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].view == view)
			rows_add_sample(p, rows, i);
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	fprintf(out, "\nTop functions by %s (flat: %s; cum: anywhere on the stack)\n",
	        words[view].value, words[view].flat);
	fprintf(out, "%12s %6s %6s %12s %6s %11s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
	        words[view].events, "function");
	int64_t sum = 0;
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		bool listed = (int)i < top && (r->cum[PROF_CONTENTIONS] || r->cum[PROF_DELAY]);
		if (!listed && !r->always)
			continue;
		sum += r->flat[PROF_DELAY];
		print_row(p, rn, r, sum, total, out);
	}
	free(rows);
}

/* ---- top stacks ------------------------------------------------------------ */

/* A sample as listed: identical symbolized stacks (e.g. from several
 * processes) are one entry with their values summed. */
struct entry {
	char *key;
	size_t sample;
	int64_t value[PROF_NVALUES];
	int64_t max_ns;
	const char *lock; /* the locks' name if they all have one, else NULL */
	bool mixed;       /* several locks */
	uint8_t kind;     /* the samples' kind, PROF_KIND_NONE if they differ */
};

static int cmp_key(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : x->sample < y->sample ? -1 : 1;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->value[PROF_DELAY] != y->value[PROF_DELAY])
		return x->value[PROF_DELAY] < y->value[PROF_DELAY] ? 1 : -1;
	return x->sample < y->sample ? -1 : 1;
}

static void print_stack(const struct profile *p, const struct report_names *rn,
                        const struct prof_sample *s, FILE *out)
{
	report_stack_write(p, rn, s->locs, s->nlocs, out);
	if (s->flags & LC_BUCKET_TRUNCATED)
		fprintf(out, "      ... (deeper frames cut at depth=)\n");
}

/* The view's samples as entries, identical stacks merged; *n gets how many. */
static struct entry *stack_entries(const struct profile *p, int view, size_t *n)
{
	struct entry *e = calloc(p->nsamples ? p->nsamples : 1, sizeof(*e));
	size_t m = 0;
	*n = 0;
	if (!e)
		return NULL;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		if (s->view != view)
			continue;
		e[m] = (struct entry){report_stack_key(p, s),
		                      i,
		                      {s->value[0], s->value[1]},
		                      s->max_ns,
		                      s->lock,
		                      false,
		                      s->kind};
		if (!e[m].key)
			e[m].key = strdup("");
		m++;
	}
	qsort(e, m, sizeof(*e), cmp_key);
	for (size_t i = 0; i < m; i++) {
		struct entry *last = *n ? &e[*n - 1] : NULL;
		if (last && last->key && e[i].key && strcmp(last->key, e[i].key) == 0) {
			for (int v = 0; v < PROF_NVALUES; v++)
				last->value[v] += e[i].value[v];
			last->max_ns = e[i].max_ns > last->max_ns ? e[i].max_ns : last->max_ns;
			last->mixed |= e[i].lock != last->lock;
			if (e[i].kind != last->kind)
				last->kind = PROF_KIND_NONE;
			free(e[i].key);
			continue;
		}
		e[(*n)++] = e[i];
	}
	qsort(e, *n, sizeof(*e), cmp_entry);
	return e;
}

/* The _NotChargedToHolder entry's text: its two parts (profile.h's
 * no_cell_*), that it is all the first (wake-up latency, or a holder the
 * profile does not see), or that a file before 3.12 does not tell them
 * apart. */
static void print_uncharged_head(const struct profile *p, int64_t delay, FILE *out)
{
	char wake[32], crowd[32];
	fprintf(out, " not charged to any unlock");
	if (p->no_cell_unknown) {
		fprintf(out,
		        " (wake-up latency after an unlock or unseen holders, and waits past 16 "
		        "at once on one lock: a file before 3.12 does not say how much is "
		        "which)\n");
		return;
	}
	if (!p->no_cell_count) {
		fprintf(out,
		        " (wake-up latency after an unlock or unseen holders; no wait past 16 at "
		        "once on one lock)\n");
		return;
	}
	uint64_t u = delay > 0 ? (uint64_t)delay : 0;
	report_duration(wake, sizeof(wake), u > p->no_cell_ns ? u - p->no_cell_ns : 0);
	report_duration(crowd, sizeof(crowd), p->no_cell_ns);
	fprintf(out,
	        ": %s wake-up latency after an unlock or unseen holders, %s in %" PRIu64
	        " waits past 16 at once on one lock (not registered as waiters)\n",
	        wake, crowd, p->no_cell_count);
}

static void print_entry_head(const struct profile *p, const struct entry *e, int view, size_t rank,
                             int64_t total, FILE *out)
{
	const struct prof_sample *s = &p->samples[e->sample];
	char dur[32], longest[32], lock[1024];
	report_duration(dur, sizeof(dur), (uint64_t)e->value[PROF_DELAY]);
	fprintf(out, "  #%zu  %s (%.1f%%)", rank, dur, report_pct(e->value[PROF_DELAY], total));
	if (report_is_uncharged(p, s)) {
		print_uncharged_head(p, e->value[PROF_DELAY], out);
		return;
	}
	if (e->mixed)
		fprintf(out, " on several locks");
	else if (e->lock) {
		report_name_short(e->lock, lock, sizeof(lock));
		fprintf(out, " on %s", lock);
	}
	if (e->kind != LC_KIND_MUTEX && e->kind != PROF_KIND_NONE) /* a mutex is what one expects */
		fprintf(out, " (%s)", names_kind(e->kind));
	fprintf(out, " in %" PRId64 " %s", e->value[PROF_CONTENTIONS], words[view].events);
	if (view == LC_VIEW_HOLD && e->max_ns) {
		report_duration(longest, sizeof(longest), (uint64_t)e->max_ns);
		fprintf(out, ", longest %s", longest);
	}
	fprintf(out, "%s\n", s->flags & LC_BUCKET_TIMEDOUT ? ", timed out" : "");
}

static void top_stacks(const struct profile *p, const struct report_names *rn, int view, int top,
                       int64_t total, FILE *out)
{
	size_t n;
	struct entry *e = stack_entries(p, view, &n);
	if (!e)
		return;
	fprintf(out, "\nTop stacks by %s\n", words[view].value);
	for (size_t i = 0; i < n; i++) {
		const struct prof_sample *s = &p->samples[e[i].sample];
		if ((int)i >= top && !report_is_uncharged(p, s))
			continue;
		print_entry_head(p, &e[i], view, i + 1, total, out);
		print_stack(p, rn, s, out);
	}
	for (size_t i = 0; i < n; i++)
		free(e[i].key);
	free(e);
}

/* ---- the report ------------------------------------------------------------- */

static void view_totals(const struct profile *p, int view, int64_t *count, int64_t *delay)
{
	*count = *delay = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (p->samples[i].view != view)
			continue;
		*count += p->samples[i].value[PROF_CONTENTIONS];
		*delay += p->samples[i].value[PROF_DELAY];
	}
}

static void view_section(const struct report_input *in, const struct report_names *rn, int view,
                         FILE *out)
{
	const struct profile *p = in->profile;
	int64_t count, total;
	view_totals(p, view, &count, &total);
	fprintf(out, "\n%s\n", words[view].title);
	if (view == LC_VIEW_HOLDER && !p->holder_recorded)
		fprintf(out, "  (the holder view was not recorded: holder=0)\n");
	if (!count && !total && !(view == LC_VIEW_HOLDER && p->holder_recorded)) {
		fprintf(out, "  nothing was recorded in this view\n");
		return;
	}
	top_functions(p, rn, view, in->top, total, out);
	top_stacks(p, rn, view, in->top, total, out);
}

static void header_all(const struct report_input *in, FILE *out)
{
	const struct profile *p = in->profile;
	char kinds[64];
	if (in->ndumps == 1)
		report_dump_header_write(&in->dumps[0], in->paths[0], in->status, out);
	else if (in->ndumps > 1)
		report_procs_write(in, out); /* a process tree: one row each */
	if (!viewkind_all_locks(p->kinds)) {
		viewkind_kinds_format(p->kinds, kinds, sizeof(kinds));
		fprintf(out,
		        "only %s locks (--kind) below; the totals above are for every kind, and "
		        "%s, which has no kind, is left out\n",
		        kinds, LC_SENTINEL_NAME);
	}
	if (p->futexcond_out)
		fprintf(
		    out,
		    "%" PRIu64 " futex waits the rules call condition waits (kind futex-cond) are "
		    "left out below (--kind=futex-cond shows them); the totals above count them\n",
		    p->futexcond_out);
	if (p->cond_left_out)
		fprintf(out,
		        "%" PRIu64
		        " condition waits (kind cond) are left out below (--kind=cond shows "
		        "them); the totals above count them\n",
		        p->cond_left_out);
}

/* An object most of whose frames have no name (stripped: "module+0x..."):
 * say which, and how to get names.  The one with the most such frames. */
static void names_note(const struct profile *p, FILE *out)
{
	size_t *unnamed = calloc(p->nmappings ? 2 * p->nmappings : 1, sizeof(*unnamed));
	if (!unnamed)
		return;
	size_t *frames = unnamed + p->nmappings, worst = SIZE_MAX;
	for (size_t i = 0; i < p->nlocations; i++) {
		const struct prof_location *l = &p->locations[i];
		if (l->mapping < 0)
			continue;
		frames[l->mapping]++;
		unnamed[l->mapping] += !l->nlines;
	}
	for (size_t m = 0; m < p->nmappings; m++)
		if (unnamed[m] * 2 > frames[m] &&
		    (worst == SIZE_MAX || unnamed[m] > unnamed[worst]))
			worst = m;
	if (worst != SIZE_MAX) {
		const struct prof_mapping *m = &p->mappings[worst];
		char id[160] = "";
		if (m->build_id[0])
			snprintf(id, sizeof(id), "; build-id %s", m->build_id);
		fprintf(
		    out,
		    "\nNames: %zu of %zu frames in %s have no function name (stripped%s). To name "
		    "them, install its debug symbols (Debian: its -dbgsym package), or give "
		    "--debug-dir=DIR where DIR/.build-id/xx/rest.debug holds them, or build it "
		    "with -g.\n",
		    unnamed[worst], frames[worst], m->file, id);
	}
	free(unnamed);
}

void report_text_write(const struct report_input *in, FILE *out)
{
	const struct profile *p = in->profile;
	int64_t count, total;
	header_all(in, out);
	struct report_names rn;
	if (report_names_build(&rn, p) != 0)
		return;
	/* A hung program has recorded none of the waits it hangs in. */
	report_waiting_write(in, &rn, out);
	view_totals(p, LC_VIEW_WAIT, &count, &total);
	if (in->view < 0 && !count && !total) {
		fprintf(out, "\nno lock contention was recorded\n");
		report_names_free(&rn);
		return;
	}
	if (in->view < 0) {
		view_section(in, &rn, LC_VIEW_WAIT, out);
		view_section(in, &rn, LC_VIEW_HOLDER, out);
	} else {
		view_section(in, &rn, in->view, out);
	}
	report_names_free(&rn);
	report_locks_write(in, out);
	report_threads_write(in, out);
	report_series_write(in, out);
	names_note(p, out);
}
