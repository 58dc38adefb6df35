/*
 * dumpthreads.c — each thread's own events, from its THREAD record and its
 * slot (dumpread.h; the format: dumpfmt.h's LC_REC_THREAD).
 *
 * A slot's totals only grow, and the threads that use it one after the
 * other each keep the totals as they were when they took it (base) and
 * when they gave it back (end).  So a thread's own events are end - base;
 * one that still runs (a live file, a snapshot, a thread alive at exit)
 * has no end: the next thread's base on the same slot stands in for it
 * (a thread whose end was never written, its writer killed mid-exit), and
 * for the last one, the slot's totals now.  A thread whose figures would
 * go down is BAD (a damaged file), one whose SLOT record is missing
 * NO_SLOT: both count as unknown, in the rest of the totals, never as 0
 * waited.  The rest (dump_threads_rest) also holds the threads that had
 * no record: the shared overflow slot's, past the writer's cap, or all of
 * a file written before 3.7.
 */
#include "dumpread.h"

/* The THREAD record after i on the same slot, or NULL. */
static const struct dump_thread *thread_next_on_slot(const struct dump *d, size_t i)
{
	for (size_t k = i + 1; k < d->nthreads; k++)
		if (d->threads[k].slot == d->threads[i].slot)
			return &d->threads[k];
	return NULL;
}

/* Thread i's own figures: false when they would go down. */
static bool thread_figures(const struct dump *d, size_t i, const struct lc_rec_slot *slot)
{
	struct dump_thread *t = &d->threads[i];
	const struct dump_thread *next = t->ended ? NULL : thread_next_on_slot(d, i);
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t ec = t->ended ? t->end_count[v]
		              : next   ? next->base_count[v]
		                       : slot->count[v];
		uint64_t ed = t->ended ? t->end_delay_ns[v]
		              : next   ? next->base_delay_ns[v]
		                       : slot->delay_ns[v];
		if (ec < t->base_count[v] || ed < t->base_delay_ns[v])
			return false;
		t->count[v] = ec - t->base_count[v];
		t->delay_ns[v] = ed - t->base_delay_ns[v];
	}
	return true;
}

void dump_threads_check(struct dump *d)
{
	for (size_t i = 0; i < d->nthreads; i++) {
		struct dump_thread *t = &d->threads[i];
		long k = dump_slot_at(d, t->slot);
		if (k < 0)
			t->state = DUMP_THREAD_NO_SLOT;
		else if (!thread_figures(d, i, &d->slots[k]))
			t->state = DUMP_THREAD_BAD;
		else
			t->state = DUMP_THREAD_OK;
		if (t->state != DUMP_THREAD_OK)
			for (int v = 0; v < LC_NVIEWS; v++)
				t->count[v] = t->delay_ns[v] = 0;
	}
}

bool dump_threads_rest(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns)
{
	uint64_t sc = 0, sd = 0, tc, td;
	for (size_t i = 0; i < d->nthreads; i++) {
		sc += d->threads[i].count[view];
		sd += d->threads[i].delay_ns[view];
	}
	dump_view_totals(d, view, &tc, &td);
	*count = *delay_ns = 0;
	if (!d->have_totals || sc > tc || sd > td)
		return false;
	*count = tc - sc;
	*delay_ns = td - sd;
	return true;
}

const char *dump_thread_state_name(enum dump_thread_state s)
{
	static const char *const names[] = {
	    [DUMP_THREAD_OK] = "ok",
	    [DUMP_THREAD_NO_SLOT] = "no_slot",
	    [DUMP_THREAD_BAD] = "bad",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
