/*
 * report_threads.c — the text report's "Threads" table: which threads
 * waited and which made others wait, by name (part of the text report).
 *
 * From each dump's THREAD records (3.7; dumpthreads.c): a thread's own
 * figures are its share of its slot's totals, so they are exact, for the
 * waiter view (waited, contentions) and the holder view (caused, unlocks
 * charged), but there are no stacks per thread: the recorder keeps stacks
 * in one table for all threads (docs/html.md says why).  The rows are the
 * threads with most waited + caused, --top of them; then what no thread
 * row holds — threads that shared the overflow slot, or past the writer's
 * cap, or whose record was damaged — so the column sums plus that line
 * are the totals.  A dump without THREAD records (before 3.7) prints
 * nothing.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "report.h"

static uint64_t thread_weight(const struct dump_thread *t)
{
	return t->delay_ns[LC_VIEW_WAIT] + t->delay_ns[LC_VIEW_HOLDER];
}

static int cmp_thread(const void *a, const void *b)
{
	const struct dump_thread *x = *(const struct dump_thread *const *)a;
	const struct dump_thread *y = *(const struct dump_thread *const *)b;
	uint64_t wx = thread_weight(x), wy = thread_weight(y);
	if (wx != wy)
		return wx < wy ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void thread_row(const struct dump_thread *t, FILE *out)
{
	char waited[32], caused[32];
	report_duration(waited, sizeof(waited), t->delay_ns[LC_VIEW_WAIT]);
	report_duration(caused, sizeof(caused), t->delay_ns[LC_VIEW_HOLDER]);
	fprintf(out, "  %12s %11" PRIu64 " %12s %9" PRIu64 " %8d  %s%s\n", waited,
	        t->count[LC_VIEW_WAIT], caused, t->count[LC_VIEW_HOLDER], t->tid,
	        t->name[0] ? t->name : "(no name)", t->ended ? "" : " (running)");
}

/* What no row holds: the totals' rest, per view. */
static void threads_rest(const struct dump *d, size_t unknown, FILE *out)
{
	uint64_t wc, wd, hc, hd;
	char waited[32], caused[32];
	if (!dump_threads_rest(d, LC_VIEW_WAIT, &wc, &wd) ||
	    !dump_threads_rest(d, LC_VIEW_HOLDER, &hc, &hd)) {
		fprintf(out, "  (the threads hold more than the totals: the file changed while it "
		             "was read)\n");
		return;
	}
	if (!wc && !wd && !hc && !hd && !unknown) {
		fprintf(out, "  every contention and charge is in a thread above\n");
		return;
	}
	report_duration(waited, sizeof(waited), wd);
	report_duration(caused, sizeof(caused), hd);
	fprintf(out,
	        "  %12s %11" PRIu64 " %12s %9" PRIu64 " %8s  threads not told apart: no slot of "
	        "their own (more threads than slots), past 4096 threads",
	        waited, wc, caused, hc, "-");
	if (unknown)
		fprintf(out, ", or one of the %zu whose record was damaged", unknown);
	fprintf(out, "\n");
}

static void threads_dump(const struct report_input *in, const struct dump *d, FILE *out)
{
	const struct dump_thread **t = malloc(d->nthreads * sizeof(*t));
	size_t n = 0, unknown = 0;
	if (!t)
		return;
	for (size_t i = 0; i < d->nthreads; i++) {
		if (d->threads[i].state != DUMP_THREAD_OK)
			unknown++;
		else if (thread_weight(&d->threads[i]) || d->threads[i].count[LC_VIEW_WAIT] ||
		         d->threads[i].count[LC_VIEW_HOLDER])
			t[n++] = &d->threads[i];
	}
	qsort(t, n, sizeof(*t), cmp_thread);
	size_t shown = in->top > 0 && (size_t)in->top < n ? (size_t)in->top : n;
	fprintf(out,
	        "\nThreads (pid %" PRIu64 "): who waited (waiter view) and whose unlocks made "
	        "others wait (holder view)\n",
	        d->meta.pid);
	fprintf(out, "  %12s %11s %12s %9s %8s  %s\n", "waited", "contentions", "caused", "unlocks",
	        "tid", "thread");
	for (size_t i = 0; i < shown; i++)
		thread_row(t[i], out);
	if (shown < n)
		fprintf(out, "  ... %zu more threads (--top)\n", n - shown);
	threads_rest(d, unknown, out);
	free(t);
}

void report_threads_write(const struct report_input *in, FILE *out)
{
	for (size_t i = 0; i < in->ndumps; i++)
		if (in->dumps[i].nthreads)
			threads_dump(in, &in->dumps[i], out);
}
