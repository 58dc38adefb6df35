/*
 * report_procs.c — the text report's header for a process tree: several
 * dumps, one report.
 *
 * A build or a shell script runs many processes; each that contended
 * wrote a dump (the others wrote none: preload/filing.c).  Their stacks are
 * merged into one report (profile.h adds them up by function names, so the
 * same code waits in one row whatever process it ran in); what stays per
 * process is this table: pid, state, contentions and wait of each, by wait,
 * and its executable.  A dump whose paragraph has more to say than its
 * row — its writer died or still runs, something was lost, threads were
 * unread, an attach — gets that paragraph too (report_dump_header_write),
 * after the table; the rest need none.
 *
 * Reads the dumps only; writes to out.  One dump: not used (its paragraph
 * is the header).
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One word for what became of the dump's writer. */
static const char *procs_state(const struct dump *d, const struct dump_status *st)
{
	if (st) {
		static const char *const words[] = {
		    [DUMP_WRITER_EXITED] = "exited",     [DUMP_WRITER_EXEC] = "exec",
		    [DUMP_WRITER_SNAPSHOT] = "snapshot", [DUMP_WRITER_DETACHED] = "detached",
		    [DUMP_WRITER_LIVE] = "running",      [DUMP_WRITER_DIED] = "died",
		    [DUMP_WRITER_UNCLOSED] = "unclosed",
		};
		return words[st->writer];
	}
	return d->complete ? "complete" : "no end";
}

/* Has its paragraph more to say than its row? */
static bool procs_noteworthy(const struct dump *d, const struct dump_status *st)
{
	uint64_t lost = 0, lc, ld;
	for (int v = 0; v < LC_NVIEWS; v++) {
		dump_lost_sum(d, (enum lc_view)v, &lc, &ld);
		lost += lc + ld;
	}
	return !d->complete || lost || d->totals.threads_unread || d->warning[0] ||
	       (d->meta.flags & LC_META_ATTACHED) || (st && st->writer > DUMP_WRITER_EXEC);
}

static const struct report_input *procs_sort_in;

static int procs_by_wait(const void *a, const void *b)
{
	const struct dump *da = &procs_sort_in->dumps[*(const size_t *)a];
	const struct dump *db = &procs_sort_in->dumps[*(const size_t *)b];
	if (da->totals.delay_ns != db->totals.delay_ns)
		return da->totals.delay_ns < db->totals.delay_ns ? 1 : -1;
	return da->meta.pid < db->meta.pid ? -1 : da->meta.pid > db->meta.pid;
}

/* How it was recorded: the first dump's settings (one LOCKCONTEND for the
 * whole tree, as the wrapper gives it). */
static void procs_settings(const struct dump *d, FILE *out)
{
	const struct lc_rec_meta *m = &d->meta;
	char hold[32] = "off";
	if (m->hold_rate)
		snprintf(hold, sizeof(hold), "1 in %u", m->hold_rate);
	fprintf(out, "  rate %u%s; stacks %s, depth %u; holder view %s; hold times %s%s%s\n",
	        m->rate,
	        m->rate == 1 ? " (every contention recorded)" : " (1 in rate recorded, scaled)",
	        m->flags & LC_META_STACKS ? "on" : "off", m->depth,
	        m->flags & LC_META_HOLDER ? "on" : "off", hold,
	        d->have_writer ? "; recorded by lockcontend " : "", d->writer);
}

static void procs_table(const struct report_input *in, const size_t *order, uint64_t all, FILE *out)
{
	char wait[32];
	fprintf(out, "\nProcesses by wait (%zu; processes that never contended wrote no profile)\n",
	        in->ndumps);
	fprintf(out, "%10s  %-8s %11s %12s %6s  %s\n", "pid", "state", "contentions", "wait",
	        "wait%", "executable");
	for (size_t k = 0; k < in->ndumps; k++) {
		const struct dump *d = &in->dumps[order[k]];
		const struct dump_status *st = in->status ? &in->status[order[k]] : NULL;
		report_duration(wait, sizeof(wait), d->totals.delay_ns);
		fprintf(out, "%10" PRIu64 "  %-8s %11" PRIu64 " %12s %5.1f%%  %s\n", d->meta.pid,
		        procs_state(d, st), d->totals.contentions, wait,
		        all ? 100.0 * (double)d->totals.delay_ns / (double)all : 0.0, d->exe);
	}
}

void report_procs_write(const struct report_input *in, FILE *out)
{
	size_t *order = malloc(in->ndumps * sizeof(*order));
	uint64_t count = 0, all = 0;
	char wait[32];
	if (!order)
		return;
	for (size_t i = 0; i < in->ndumps; i++) {
		order[i] = i;
		count += in->dumps[i].totals.contentions;
		all += in->dumps[i].totals.delay_ns;
	}
	procs_sort_in = in;
	qsort(order, in->ndumps, sizeof(*order), procs_by_wait);
	report_duration(wait, sizeof(wait), all);
	fprintf(out, "%zu processes contended: %" PRIu64 " contentions, %s total wait\n",
	        in->ndumps, count, wait);
	procs_settings(&in->dumps[0], out);
	procs_table(in, order, all, out);
	bool first = true;
	for (size_t k = 0; k < in->ndumps; k++) {
		const struct dump_status *st = in->status ? &in->status[order[k]] : NULL;
		if (!procs_noteworthy(&in->dumps[order[k]], st))
			continue;
		fprintf(out, first ? "\nProcesses with more to say\n" : "");
		first = false;
		report_dump_header_write(&in->dumps[order[k]], in->paths[order[k]], st, out);
	}
	free(order);
}
