/*
 * report_text.c — the human report: a header per dump (what was profiled,
 * how, what was lost and why, whether the file was complete), the top
 * functions by wait like `pprof -top` (flat: the function called the lock
 * itself; cum: it is anywhere on the waiting stack), and the top stacks
 * with every frame as function (file:line).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void report_duration(char *buf, size_t cap, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, cap, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, cap, "%.2f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, cap, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.2f s", (double)ns / 1e9);
}

static const char *const lost_why[LC_LOST_NREASONS] = {
    "lost the one-stack-per-thread draw", "arena full (raise arena=)",
    "inside lockcontend's own work", "stacks=0", "no stack could be unwound",
    "more live threads than slots",
};

static void header_lost(const struct dump *d, FILE *out)
{
	uint64_t lc, ld;
	char dur[32];
	dump_lost_sum(d, &lc, &ld);
	if (!lc) {
		fprintf(out, "  nothing lost: every contention is on a stack below\n");
		return;
	}
	report_duration(dur, sizeof(dur), ld);
	fprintf(out, "  %" PRIu64 " contentions (%s) charged to %s:", lc, dur, LC_SENTINEL_NAME);
	const char *sep = " ";
	for (int r = 0; r < LC_LOST_NREASONS; r++) {
		if (!d->lost[r].count)
			continue;
		fprintf(out, "%s%" PRIu64 " %s", sep, d->lost[r].count, lost_why[r]);
		sep = ", ";
	}
	fprintf(out, "\n");
	if (d->totals.stacks_refused)
		fprintf(out, "  %" PRIu64 " new stacks did not fit in the arena\n",
		        d->totals.stacks_refused);
}

static void header_dump(const struct dump *d, const char *path, FILE *out)
{
	char dur[32], wait[32];
	const struct lc_rec_meta *m = &d->meta;
	report_duration(dur, sizeof(dur), m->end_mono_ns - m->start_mono_ns);
	report_duration(wait, sizeof(wait), d->totals.delay_ns);
	fprintf(out, "%s (pid %" PRIu64 ") from %s\n", d->exe, m->pid, path);
	fprintf(out, "  ran %s; rate %u%s; stacks %s, depth %u\n", dur, m->rate,
	        m->rate == 1 ? " (every contention recorded)" : " (1 in rate recorded, scaled)",
	        m->flags & LC_META_STACKS ? "on" : "off", m->depth);
	if (!d->have_totals || !d->have_lost) {
		fprintf(out, "  totals and losses unknown: the dump ends before them\n");
		if (!d->complete)
			fprintf(out, "  WARNING: %s; this is a partial profile\n", d->warning);
		return;
	}
	fprintf(out, "  %" PRIu64 " contentions, %s total wait", d->totals.contentions, wait);
	if (d->totals.timeouts)
		fprintf(out, " (%" PRIu64 " timed out)", d->totals.timeouts);
	fprintf(out, "\n");
	header_lost(d, out);
	if (!d->complete)
		fprintf(out, "  WARNING: %s; this is a partial profile\n", d->warning);
	if (d->totals.threads_unread)
		fprintf(out, "  %" PRIu64 " threads could not be read at exit\n",
		        d->totals.threads_unread);
}

/* One row of the functions table.  Keyed by function index, or for an
 * unsymbolized frame by nfunctions + location index. */
struct row {
	int64_t flat[PROF_NVALUES], cum[PROF_NVALUES];
	size_t seen; /* last sample counted in cum, + 1 */
	uint32_t key;
};

static void row_name(const struct profile *p, uint32_t key, char *buf, size_t cap)
{
	if (key < p->nfunctions)
		snprintf(buf, cap, "%s", p->functions[key].name);
	else
		profile_location_label(p, &p->locations[key - p->nfunctions], buf, cap);
}

static void rows_add_sample(const struct profile *p, struct row *rows, size_t si)
{
	const struct prof_sample *s = &p->samples[si];
	for (uint32_t i = 0; i < s->nlocs; i++) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = 0; k < nl; k++) {
			uint32_t key = l->nlines ? l->lines[k].function
			                         : (uint32_t)(p->nfunctions + s->locs[i]);
			struct row *r = &rows[key];
			r->key = key;
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

static double pct(int64_t v, int64_t total)
{
	return total > 0 ? 100.0 * (double)v / (double)total : 0;
}

static void top_functions(const struct profile *p, int top, int64_t total, FILE *out)
{
	size_t nrows = p->nfunctions + p->nlocations;
	struct row *rows = calloc(nrows ? nrows : 1, sizeof(*rows));
	if (!rows)
		return;
	for (size_t i = 0; i < p->nsamples; i++)
		rows_add_sample(p, rows, i);
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	fprintf(out, "\nTop functions by wait (flat: it called the lock; cum: anywhere on the stack)\n");
	fprintf(out, "%12s %6s %6s %12s %6s %11s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
	        "contentions", "function");
	int64_t sum = 0;
	char name[512], flat[32], cum[32];
	for (size_t i = 0; i < nrows && (int)i < top; i++) {
		const struct row *r = &rows[i];
		if (!r->cum[PROF_CONTENTIONS] && !r->cum[PROF_DELAY])
			break;
		sum += r->flat[PROF_DELAY];
		row_name(p, r->key, name, sizeof(name));
		report_duration(flat, sizeof(flat), (uint64_t)r->flat[PROF_DELAY]);
		report_duration(cum, sizeof(cum), (uint64_t)r->cum[PROF_DELAY]);
		fprintf(out, "%12s %5.1f%% %5.1f%% %12s %5.1f%% %11" PRId64 "  %s\n", flat,
		        pct(r->flat[PROF_DELAY], total), pct(sum, total), cum,
		        pct(r->cum[PROF_DELAY], total), r->cum[PROF_CONTENTIONS], name);
	}
	free(rows);
}

/* A sample as listed: identical symbolized stacks (e.g. from several
 * processes) are one entry with their values summed. */
struct entry {
	char *key;
	size_t sample;
	int64_t value[PROF_NVALUES];
};

static char *stack_key(const struct profile *p, const struct prof_sample *s)
{
	char *buf = NULL, label[512];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "%x", s->flags);
	for (uint32_t i = 0; i < s->nlocs; i++) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		if (!l->nlines) {
			profile_location_label(p, l, label, sizeof(label));
			fprintf(f, ";%s", label);
		}
		for (uint32_t k = 0; k < l->nlines; k++)
			fprintf(f, ";%u:%" PRId64, l->lines[k].function, l->lines[k].line);
	}
	fclose(f);
	return buf;
}

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

static void print_stack(const struct profile *p, const struct prof_sample *s, FILE *out)
{
	char label[512];
	for (uint32_t i = 0; i < s->nlocs; i++) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		if (!l->nlines) {
			profile_location_label(p, l, label, sizeof(label));
			fprintf(out, "      %s\n", label);
		}
		for (uint32_t k = 0; k < l->nlines; k++) {
			const struct prof_function *f = &p->functions[l->lines[k].function];
			if (f->file[0])
				fprintf(out, "      %s (%s:%" PRId64 ")%s\n", f->name, f->file,
				        l->lines[k].line, k + 1 < l->nlines ? " [inlined]" : "");
			else
				fprintf(out, "      %s%s\n", f->name, k + 1 < l->nlines ? " [inlined]" : "");
		}
	}
	if (s->flags & LC_BUCKET_TRUNCATED)
		fprintf(out, "      ... (deeper frames cut at depth=)\n");
}

static void top_stacks(const struct profile *p, int top, int64_t total, FILE *out)
{
	struct entry *e = calloc(p->nsamples ? p->nsamples : 1, sizeof(*e));
	size_t n = 0;
	if (!e)
		return;
	for (size_t i = 0; i < p->nsamples; i++) {
		e[i] = (struct entry){stack_key(p, &p->samples[i]), i,
		                      {p->samples[i].value[0], p->samples[i].value[1]}};
		if (!e[i].key)
			e[i].key = strdup("");
	}
	qsort(e, p->nsamples, sizeof(*e), cmp_key);
	for (size_t i = 0; i < p->nsamples; i++) {
		if (n && strcmp(e[n - 1].key, e[i].key) == 0) {
			for (int v = 0; v < PROF_NVALUES; v++)
				e[n - 1].value[v] += e[i].value[v];
			free(e[i].key);
			continue;
		}
		e[n++] = e[i];
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	fprintf(out, "\nTop stacks by wait\n");
	char dur[32];
	for (size_t i = 0; i < n && (int)i < top; i++) {
		const struct prof_sample *s = &p->samples[e[i].sample];
		report_duration(dur, sizeof(dur), (uint64_t)e[i].value[PROF_DELAY]);
		fprintf(out, "  #%zu  %s (%.1f%%) in %" PRId64 " contentions%s\n", i + 1, dur,
		        pct(e[i].value[PROF_DELAY], total), e[i].value[PROF_CONTENTIONS],
		        s->flags & LC_BUCKET_TIMEDOUT ? ", timed out" : "");
		print_stack(p, s, out);
	}
	for (size_t i = 0; i < n; i++)
		free(e[i].key);
	free(e);
}

void report_text_write(const struct report_input *in, FILE *out)
{
	const struct profile *p = in->profile;
	int64_t total = 0, count = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		total += p->samples[i].value[PROF_DELAY];
		count += p->samples[i].value[PROF_CONTENTIONS];
	}
	for (size_t i = 0; i < in->ndumps; i++)
		header_dump(&in->dumps[i], in->paths[i], out);
	if (in->ndumps > 1) {
		char wait[32];
		report_duration(wait, sizeof(wait), (uint64_t)total);
		fprintf(out, "all %zu dumps: %" PRId64 " contentions, %s total wait\n", in->ndumps,
		        count, wait);
	}
	if (!p->nsamples) {
		fprintf(out, "\nno lock contention was recorded\n");
		return;
	}
	top_functions(p, in->top, total, out);
	top_stacks(p, in->top, total, out);
}
