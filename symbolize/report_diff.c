/*
 * report_diff.c — the text comparison of two runs (report_diff.h).
 *
 *   the header   each dump of each run on two lines (what it is, how long
 *                it ran, its rates), then what makes the runs unlike: a
 *                length or a sampling rate that differs is said in words,
 *                never scaled away; each view's totals in both runs
 *   the locks    one row per lock (by name) in either run: base and new
 *                wait, the change and its percentage ("new", "vanished"),
 *                contentions, and the wait per second of each run
 *   the stacks   per view, the stacks whose value grew most and those that
 *                shrank most, each with both runs' figures and its frames
 *                (the new run's, if it has the stack)
 *
 * Every figure is a run's own, as its text report prints it (scaled by
 * its own rate); the per-second column is the only derived one, and says
 * so in its heading.
 */
#include "report_diff.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dumpstatus.h"

/* Runs whose lengths differ by more than this share are said to. */
#define LENGTH_SLACK 0.10

static const char *const SIDE_NAME[DIFF_NSIDES] = {"base", "new"};
static const struct {
	const char *title, *value, *events;
} WORDS[LC_NVIEWS] = {
    {"Waiters", "wait", "contentions"},
    {"Holders", "caused wait", "unlocks"},
    {"Hold times", "hold time", "holds"},
};

uint64_t report_diff_run_ns(const struct report_input *side)
{
	return side->profile->duration_nanos;
}

/* "+1.20 ms" or "-3.00 us". */
static void signed_duration(char *buf, size_t cap, int64_t ns)
{
	char d[24];
	report_duration(d, sizeof(d), (uint64_t)(ns < 0 ? -ns : ns));
	snprintf(buf, cap, "%s%s", ns < 0 ? "-" : ns > 0 ? "+" : "", d);
}

/* "+12.5%", "new", "vanished", "0.0%". */
static void change_word(char *buf, size_t cap, int64_t base, int64_t newv)
{
	if (!base && newv)
		snprintf(buf, cap, "new");
	else if (base && !newv)
		snprintf(buf, cap, "vanished");
	else
		snprintf(buf, cap, "%+.1f%%", diff_pct(base, newv));
}

/* ---- header ------------------------------------------------------------------ */

static void header_dump(const struct report_input *in, size_t i, const char *side, FILE *out)
{
	const struct dump *d = &in->dumps[i];
	char status[512], ran[32] = "a time not known", hold[32] = "off";
	dumpstatus_describe(d, in->status ? &in->status[i] : NULL, status, sizeof(status));
	if (d->meta.end_mono_ns > d->meta.start_mono_ns)
		report_duration(ran, sizeof(ran), d->meta.end_mono_ns - d->meta.start_mono_ns);
	if (d->meta.hold_rate)
		snprintf(hold, sizeof(hold), "1 in %u", d->meta.hold_rate);
	fprintf(out, "  %-5s %s (pid %" PRIu64 ") from %s\n", side, d->exe, d->meta.pid,
	        in->paths[i]);
	fprintf(out, "        %s; ran %s; rate %u; hold times %s\n", status, ran, d->meta.rate,
	        hold);
}

/* The rates of a run's dumps, if they are all one (else 0). */
static uint32_t run_rate(const struct report_input *in, bool hold)
{
	uint32_t r = 0;
	for (size_t i = 0; i < in->ndumps; i++) {
		uint32_t x = hold ? in->dumps[i].meta.hold_rate : in->dumps[i].meta.rate;
		if (i && x != r)
			return 0;
		r = x;
	}
	return r;
}

/* What makes the two runs unlike, said rather than scaled away. */
static void header_unlike(const struct diff_input *in, FILE *out)
{
	uint64_t b = report_diff_run_ns(&in->side[0]), n = report_diff_run_ns(&in->side[1]);
	char bd[32], nd[32];
	report_duration(bd, sizeof(bd), b);
	report_duration(nd, sizeof(nd), n);
	if (!b || !n)
		fprintf(out, "  the length of %s run is not known: wait/s is left out there\n",
		        !b && !n ? "either"
		        : !b     ? "the base"
		                 : "the new");
	else if ((double)(b > n ? b - n : n - b) > LENGTH_SLACK * (double)(b > n ? b : n))
		fprintf(out,
		        "  the runs differ in length (base %s, new %s): every figure is the run's "
		        "own, not scaled; wait/s is per second of each run\n",
		        bd, nd);
	for (int hold = 0; hold < 2; hold++) {
		uint32_t rb = run_rate(&in->side[0], hold), rn = run_rate(&in->side[1], hold);
		if (rb != rn || !rb)
			fprintf(out,
			        "  the runs were recorded at different %s (base %s%u, new %s%u): "
			        "each run's figures are estimates scaled by its own\n",
			        hold ? "hold-time rates" : "rates", rb ? "" : "mixed, first ",
			        rb ? rb : in->side[0].dumps[0].meta.rate, rn ? "" : "mixed, first ",
			        rn ? rn : in->side[1].dumps[0].meta.rate);
	}
}

static void header_totals(const struct diff_input *in, FILE *out)
{
	const struct diff *d = in->diff;
	for (int v = 0; v < LC_NVIEWS; v++) {
		if (in->view >= 0 ? v != in->view : v == LC_VIEW_HOLD)
			continue;
		const int64_t *b = d->total[DIFF_BASE][v], *n = d->total[DIFF_NEW][v];
		char bd[32], nd[32], ch[40], pct[32];
		report_duration(bd, sizeof(bd), (uint64_t)b[PROF_DELAY]);
		report_duration(nd, sizeof(nd), (uint64_t)n[PROF_DELAY]);
		signed_duration(ch, sizeof(ch), n[PROF_DELAY] - b[PROF_DELAY]);
		change_word(pct, sizeof(pct), b[PROF_DELAY], n[PROF_DELAY]);
		fprintf(out, "  %s: %s in %" PRId64 " %s -> %s in %" PRId64 " %s (%s, %s)\n",
		        WORDS[v].value, bd, b[PROF_CONTENTIONS], WORDS[v].events, nd,
		        n[PROF_CONTENTIONS], WORDS[v].events, ch, pct);
	}
}

static void write_header(const struct diff_input *in, FILE *out)
{
	fprintf(out, "Comparison: base (%zu dump%s) -> new (%zu dump%s)\n", in->side[0].ndumps,
	        in->side[0].ndumps == 1 ? "" : "s", in->side[1].ndumps,
	        in->side[1].ndumps == 1 ? "" : "s");
	for (int side = 0; side < DIFF_NSIDES; side++)
		for (size_t i = 0; i < in->side[side].ndumps; i++)
			header_dump(&in->side[side], i, SIDE_NAME[side], out);
	header_unlike(in, out);
	fprintf(out, "  locks are matched by name, stacks by their %s\n",
	        in->match == DIFF_MATCH_LINE ? "functions and file:line"
	                                     : "function names (lines may differ)");
	header_totals(in, out);
}

/* ---- locks ---------------------------------------------------------------------- */

/* A wait per second of run: "1.94 s/s", or "-" if the length is unknown. */
static void per_second(char *buf, size_t cap, int64_t ns, uint64_t run_ns)
{
	char d[32];
	if (!run_ns) {
		snprintf(buf, cap, "-");
		return;
	}
	report_duration(d, sizeof(d), (uint64_t)((double)ns * 1e9 / (double)run_ns));
	snprintf(buf, cap, "%s/s", d);
}

static void write_lock_row(const struct diff_input *in, const struct diff_lock *l, FILE *out)
{
	const int64_t *b = l->v[DIFF_BASE][LC_VIEW_WAIT], *n = l->v[DIFF_NEW][LC_VIEW_WAIT];
	char bd[32], nd[32], ch[40], pct[32], bs[40], ns[40], name[256];
	report_duration(bd, sizeof(bd), (uint64_t)b[PROF_DELAY]);
	report_duration(nd, sizeof(nd), (uint64_t)n[PROF_DELAY]);
	signed_duration(ch, sizeof(ch), n[PROF_DELAY] - b[PROF_DELAY]);
	change_word(pct, sizeof(pct), b[PROF_DELAY], n[PROF_DELAY]);
	per_second(bs, sizeof(bs), b[PROF_DELAY], report_diff_run_ns(&in->side[0]));
	per_second(ns, sizeof(ns), n[PROF_DELAY], report_diff_run_ns(&in->side[1]));
	report_name_short(l->name, name, sizeof(name));
	fprintf(out, "  %11s %11s %12s %9s %10" PRId64 " %10" PRId64 " %13s %13s  %s\n", bd, nd, ch,
	        pct, b[PROF_CONTENTIONS], n[PROF_CONTENTIONS], bs, ns, name);
}

static void write_locks(const struct diff_input *in, FILE *out)
{
	const struct diff *d = in->diff;
	fprintf(out, "\nLocks by wait, in either run (the waiter view; wait/s: per second of "
	             "each run)\n");
	fprintf(out, "  %11s %11s %12s %9s %10s %10s %13s %13s  %s\n", "base wait", "new wait",
	        "change", "change%", "base cont", "new cont", "base wait/s", "new wait/s", "lock");
	size_t shown = 0;
	for (size_t i = 0; i < d->nlocks && shown < (size_t)in->top; i++) {
		write_lock_row(in, &d->locks[i], out);
		shown++;
	}
	if (!d->nlocks)
		fprintf(out, "  no lock was named in either run\n");
	else if (d->nlocks > shown)
		fprintf(out, "  ... %zu more (--top)\n", d->nlocks - shown);
}

/* ---- stacks ----------------------------------------------------------------------- */

static int64_t stack_change(const struct diff_stack *s)
{
	return s->v[DIFF_NEW][PROF_DELAY] - s->v[DIFF_BASE][PROF_DELAY];
}

static int cmp_grew(const void *a, const void *b)
{
	int64_t x = stack_change(*(const struct diff_stack *const *)a);
	int64_t y = stack_change(*(const struct diff_stack *const *)b);
	return x > y ? -1 : x < y;
}

static void write_stack(const struct diff_input *in, const struct report_names *rn,
                        const struct diff_stack *s, size_t rank, FILE *out)
{
	const int64_t *b = s->v[DIFF_BASE], *n = s->v[DIFF_NEW];
	char bd[32], nd[32], ch[40], pct[32], lock[256];
	report_duration(bd, sizeof(bd), (uint64_t)b[PROF_DELAY]);
	report_duration(nd, sizeof(nd), (uint64_t)n[PROF_DELAY]);
	signed_duration(ch, sizeof(ch), stack_change(s));
	change_word(pct, sizeof(pct), b[PROF_DELAY], n[PROF_DELAY]);
	if (s->lock)
		report_name_short(s->lock, lock, sizeof(lock));
	fprintf(out, "  #%zu  %s (%s)%s%s: %s -> %s; %" PRId64 " -> %" PRId64 " %s\n", rank, ch,
	        pct, s->lock ? " on " : "", s->lock ? lock : "", bd, nd, b[PROF_CONTENTIONS],
	        n[PROF_CONTENTIONS], WORDS[s->view].events);
	const struct report_names *names = &rn[s->p == in->side[DIFF_NEW].profile];
	report_stack_write(s->p, names, s->s->locs, s->s->nlocs, out);
}

/* The view's stacks that changed, most grown first; how many. */
static size_t changed_stacks(const struct diff *d, int view, const struct diff_stack **out)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nstacks; i++)
		if (d->stacks[i].view == view && stack_change(&d->stacks[i]))
			out[n++] = &d->stacks[i];
	qsort(out, n, sizeof(*out), cmp_grew);
	return n;
}

/* How many of the view's stacks only one run has, and how many both. */
static void stack_counts(const struct diff *d, int view, FILE *out)
{
	size_t only[DIFF_NSIDES] = {0, 0}, both = 0;
	for (size_t i = 0; i < d->nstacks; i++) {
		const struct diff_stack *s = &d->stacks[i];
		if (s->view != view || s->uncharged)
			continue;
		bool inb = s->v[DIFF_BASE][PROF_DELAY] || s->v[DIFF_BASE][PROF_CONTENTIONS];
		bool inn = s->v[DIFF_NEW][PROF_DELAY] || s->v[DIFF_NEW][PROF_CONTENTIONS];
		if (inb && inn)
			both++;
		else
			only[inn]++;
	}
	fprintf(out, "  stacks: %zu in both runs, %zu new, %zu vanished\n", both, only[DIFF_NEW],
	        only[DIFF_BASE]);
}

static void write_view(const struct diff_input *in, const struct report_names *rn, int view,
                       const struct diff_stack **list, FILE *out)
{
	size_t n = changed_stacks(in->diff, view, list), grew = 0, shrank = 0;
	fprintf(out, "\n%s: the stacks whose %s changed most\n", WORDS[view].title,
	        WORDS[view].value);
	stack_counts(in->diff, view, out);
	for (size_t i = 0; i < n && stack_change(list[i]) > 0 && grew < (size_t)in->top; i++) {
		if (!grew++)
			fprintf(out, "grew\n");
		write_stack(in, rn, list[i], grew, out);
	}
	for (size_t i = n; i-- > 0 && stack_change(list[i]) < 0 && shrank < (size_t)in->top;) {
		if (!shrank++)
			fprintf(out, "shrank\n");
		write_stack(in, rn, list[i], shrank, out);
	}
	if (!grew && !shrank)
		fprintf(out, "  no stack changed\n");
}

void report_diff_text_write(const struct diff_input *in, FILE *out)
{
	struct report_names rn[DIFF_NSIDES];
	const struct diff_stack **list = calloc(in->diff->nstacks + 1, sizeof(*list));
	if (!list || report_names_build(&rn[0], in->side[0].profile) != 0) {
		free(list);
		return;
	}
	if (report_names_build(&rn[1], in->side[1].profile) != 0) {
		report_names_free(&rn[0]);
		free(list);
		return;
	}
	write_header(in, out);
	write_locks(in, out);
	for (int v = 0; v < LC_NVIEWS; v++)
		if (in->view >= 0 ? v == in->view : v != LC_VIEW_HOLD)
			write_view(in, rn, v, list, out);
	report_names_free(&rn[0]);
	report_names_free(&rn[1]);
	free(list);
}
