/*
 * topview.c — lockcontend-top's screen (see topview.h).
 *
 * A read is an array of locks sorted by address, so the previous read's
 * entry of a lock is one binary search away; the screen's rows are the
 * profile's locks, each with its totals now and what it gained since the
 * previous read.  Rates are per second of the reader's clock between the
 * two reads (the writer's clock is the same CLOCK_MONOTONIC on the same
 * machine, but a read takes its own time).
 */
#include "topview.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- reads ------------------------------------------------------------------ */

static int cmp_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct topview_lock *)a)->addr;
	uint64_t y = ((const struct topview_lock *)b)->addr;
	return x < y ? -1 : x > y;
}

static struct topview_lock *lock_of(const struct topview_read *r, uint64_t addr)
{
	struct topview_lock key = {.addr = addr};
	return r ? bsearch(&key, r->locks, r->nlocks, sizeof(key), cmp_addr) : NULL;
}

int topview_take(struct topview_read *r, const struct profile *p, const struct dump *d,
                 uint64_t mono_ns)
{
	memset(r, 0, sizeof(*r));
	r->mono_ns = mono_ns;
	r->contentions = d->totals.contentions;
	r->delay_ns = d->totals.delay_ns;
	if (!(r->locks = calloc(p->nlocks + 1, sizeof(*r->locks))))
		return -1;
	r->nlocks = p->nlocks;
	for (size_t i = 0; i < p->nlocks; i++) {
		struct topview_lock *l = &r->locks[i];
		l->addr = p->locks[i].addr;
		for (int k = 0; k < LC_LOST_NREASONS; k++) {
			l->count += p->locks[i].lost[LC_VIEW_WAIT][k].count;
			l->delay_ns += p->locks[i].lost[LC_VIEW_WAIT][k].delay_ns;
		}
	}
	qsort(r->locks, r->nlocks, sizeof(*r->locks), cmp_addr);
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		struct topview_lock *l =
		    s->view == LC_VIEW_WAIT && s->lock ? lock_of(r, s->lock_addr) : NULL;
		if (l) {
			l->count += (uint64_t)s->value[PROF_CONTENTIONS];
			l->delay_ns += (uint64_t)s->value[PROF_DELAY];
		}
	}
	return 0;
}

void topview_free(struct topview_read *r)
{
	free(r->locks);
	memset(r, 0, sizeof(*r));
}

/* ---- the header --------------------------------------------------------------- */

static uint64_t since(uint64_t from, uint64_t to)
{
	return to > from ? to - from : 0;
}

/* What became of the writer, and how long it ran: "live, 12.31 s so far". */
static void writer_words(const struct topview_screen *s, char *buf, size_t cap)
{
	const struct dump *d = &s->in->dumps[0];
	const struct lc_rec_meta *m = &d->meta;
	char t[32];
	enum dump_writer w = s->in->status ? s->in->status[0].writer : DUMP_WRITER_DIED;
	report_duration(t, sizeof(t), since(m->start_mono_ns, m->end_mono_ns));
	switch (w) {
	case DUMP_WRITER_LIVE:
		report_duration(t, sizeof(t), since(m->start_mono_ns, s->cur->mono_ns));
		snprintf(buf, cap, "live, %s so far", t);
		break;
	case DUMP_WRITER_EXITED: snprintf(buf, cap, "exited after %s", t); break;
	case DUMP_WRITER_EXEC: snprintf(buf, cap, "ended by exec() after %s", t); break;
	case DUMP_WRITER_DETACHED: snprintf(buf, cap, "detached after %s", t); break;
	case DUMP_WRITER_SNAPSHOT:
		report_duration(t, sizeof(t), since(m->start_mono_ns, d->live.snapshot_mono_ns));
		snprintf(buf, cap, "a snapshot, %s after start", t);
		break;
	case DUMP_WRITER_DIED:
		snprintf(buf, cap, "died without a clean exit (killed, or crashed)");
		break;
	case DUMP_WRITER_UNCLOSED:
		snprintf(buf, cap, "ended, but its closing records are missing");
		break;
	}
	if (d->end == DUMP_END_CUT)
		snprintf(buf, cap, "a partial profile: %s", d->warning);
}

static void header_write(const struct topview_screen *s, FILE *out)
{
	const struct dump *d = &s->in->dumps[0];
	const struct topview_read *c = s->cur, *p = s->prev;
	char words[320], when[32] = "", total[32], rate[32], span[32];
	time_t secs =
	    (time_t)((s->in->status ? s->in->status[0].read_realtime_ns : 0) / 1000000000u);
	struct tm tm;
	if (secs && localtime_r(&secs, &tm))
		strftime(when, sizeof(when), ", read at %H:%M:%S", &tm);
	writer_words(s, words, sizeof(words));
	fprintf(out, "lockcontend top: pid %" PRIu64 " %s: %s\n", d->meta.pid, d->exe, words);
	fprintf(out, "  profile %s%s\n", s->in->paths[0], when);
	report_duration(total, sizeof(total), c->delay_ns);
	fprintf(out, "  %" PRIu64 " contentions, %s waited in all", c->contentions, total);
	uint64_t dt = p ? since(p->mono_ns, c->mono_ns) : 0;
	if (dt) {
		double per_s = 1e9 / (double)dt;
		report_duration(span, sizeof(span), dt);
		report_duration(rate, sizeof(rate),
		                (uint64_t)((double)since(p->delay_ns, c->delay_ns) * per_s));
		fprintf(out, "; in the last %s: %.1f contentions/s, %s waited per second", span,
		        (double)since(p->contentions, c->contentions) * per_s, rate);
	}
	fprintf(out, "\n");
	if (s->note)
		fprintf(out, "  %s\n", s->note);
	char skipped[512];
	if (dump_skipped_kind_note(d, skipped, sizeof(skipped)))
		fprintf(out, "  %s\n", skipped);
	size_t deadlocks = report_deadlocks(s->in->profile);
	if (deadlocks == 1)
		fprintf(out,
		        "\n*** DEADLOCK: threads wait for each other (Waiting now, below) ***\n");
	else if (deadlocks)
		fprintf(
		    out,
		    "\n*** %zu DEADLOCKS: threads wait for each other (Waiting now, below) ***\n",
		    deadlocks);
}

/* ---- the lock table ------------------------------------------------------------ */

struct row {
	const struct prof_lock *lock;
	uint64_t count, delay_ns;   /* in all */
	uint64_t dcount, ddelay_ns; /* since the previous read */
};

/* Most waiting in the interval first, then most contended in it, then
 * most waiting in all, then by name. */
static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->ddelay_ns != y->ddelay_ns)
		return x->ddelay_ns < y->ddelay_ns ? 1 : -1;
	if (x->dcount != y->dcount)
		return x->dcount < y->dcount ? 1 : -1;
	if (x->delay_ns != y->delay_ns)
		return x->delay_ns < y->delay_ns ? 1 : -1;
	return strcmp(x->lock->name, y->lock->name);
}

/* The rows, sorted; NULL if out of memory. */
static struct row *rows_of(const struct topview_screen *s)
{
	const struct profile *p = s->in->profile;
	struct row *rows = calloc(p->nlocks + 1, sizeof(*rows));
	for (size_t i = 0; rows && i < p->nlocks; i++) {
		const struct topview_lock *now = lock_of(s->cur, p->locks[i].addr);
		const struct topview_lock *then = lock_of(s->prev, p->locks[i].addr);
		struct row *r = &rows[i];
		r->lock = &p->locks[i];
		r->count = now ? now->count : 0;
		r->delay_ns = now ? now->delay_ns : 0;
		r->dcount = since(then ? then->count : 0, r->count);
		r->ddelay_ns = since(then ? then->delay_ns : 0, r->delay_ns);
	}
	if (rows)
		qsort(rows, p->nlocks, sizeof(*rows), cmp_row);
	return rows;
}

static void row_write(const struct row *r, uint64_t dt, FILE *out)
{
	char wait[32] = "-", rate[40] = "-", conts[32] = "-", total[32], name[1024];
	if (dt) {
		report_duration(wait, sizeof(wait), r->ddelay_ns);
		report_duration(rate, sizeof(rate),
		                (uint64_t)((double)r->ddelay_ns * 1e9 / (double)dt));
		strcat(rate, "/s");
		snprintf(conts, sizeof(conts), "%.1f", (double)r->dcount * 1e9 / (double)dt);
	}
	report_duration(total, sizeof(total), r->delay_ns);
	report_name_short(r->lock->name, name, sizeof(name));
	fprintf(out, "%12s %13s %13s %12s %12" PRIu64 "  %-6s  %s\n", wait, rate, conts, total,
	        r->count, report_kinds_label(r->lock->kinds), name);
}

static void table_write(const struct topview_screen *s, FILE *out)
{
	const struct profile *p = s->in->profile;
	uint64_t dt = s->prev ? since(s->prev->mono_ns, s->cur->mono_ns) : 0;
	size_t n = p->nlocks < (size_t)s->in->top ? p->nlocks : (size_t)s->in->top;
	char span[32];
	struct row *rows = rows_of(s);
	report_duration(span, sizeof(span), dt);
	if (dt)
		fprintf(out, "\nLocks by wait in the last %s\n", span);
	else
		fprintf(out, "\nLocks by wait in all (no interval yet)\n");
	if (!p->nlocks || !rows) {
		fprintf(out, "  %s\n", rows ? "no lock has been contended yet" : "out of memory");
		free(rows);
		return;
	}
	fprintf(out, "%12s %13s %13s %12s %12s  %-6s  %s\n", "wait", "wait/s", "contentions/s",
	        "total wait", "contentions", "kind", "lock");
	for (size_t i = 0; i < n; i++)
		row_write(&rows[i], dt, out);
	if (n < p->nlocks)
		fprintf(out, "  ... %zu more locks (--rows)\n", p->nlocks - n);
	free(rows);
}

/* ---- the screen -------------------------------------------------------------- */

static void waiting_write(const struct topview_screen *s, FILE *out)
{
	const struct profile *p = s->in->profile;
	struct report_names rn;
	bool waits = false;
	for (size_t i = 0; i < p->nthreads; i++)
		waits |= p->threads[i].lock != NULL;
	if (!waits) {
		fprintf(out, "\nWaiting now: no thread waits for a lock\n");
		return;
	}
	if (report_names_build(&rn, p) != 0) {
		fprintf(out, "\nWaiting now: out of memory\n");
		return;
	}
	report_waiting_brief(s->in, &rn, out);
	report_names_free(&rn);
}

void topview_write(const struct topview_screen *s, FILE *out)
{
	header_write(s, out);
	table_write(s, out);
	waiting_write(s, out);
}
