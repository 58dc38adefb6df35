/*
 * rawdump.c — lockcontend-rawdump: print a raw dump as text, unsymbolized.
 *
 *   lockcontend-rawdump [--] FILE...   (a name starting with - after -- only)
 *   lockcontend-rawdump --version
 *
 * A debugging aid and the tests' window into a dump until (and beside) the
 * symbolizer: every record (LIVE, SLOT, LOCK_INIT and the count of PENDING
 * ones too), each frame as its return address and module+0xoffset (in the
 * modules of its record's epoch; the offset of pc - 1, the one pc rule of
 * dumpread.h, as the symbolizer prints it), what became of the writer
 * (dumpstatus.h), and a
 * conservation check per view of buckets + that view's sentinel against the
 * independent totals (dump_view_conserved), plus the record counts.  A
 * file without trailer has totals built from its SLOT records, and a
 * snapshot's are their sums as they were: there the buckets may fall short
 * by what was still in flight (dump_view_in_flight), which is printed, not
 * an error.
 * The series (SERIES records, each with its entries) are checked too:
 * placed ones against the totals per view, with what is not placed in time
 * printed (a live file's, or a snapshot's, may hold some).
 * Exit status: 0 all files read whole (complete, live or died) and adding
 * up, 1 bad usage or a file could not be read (one line on stderr), 2 a file was cut
 * short inside a record or did not add up.
 * The across-view relation (caused + uncharged == delay) is printed but not
 * checked: waits still in progress at dump time may break it.
 * Every view, kind, lost reason and state is printed by its names.h name
 * (a view by the format's word: "wait", not the command line's "waiter").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "names.h"

/* A frame of a stack taken in module epoch `epoch`. */
static void print_frame(const struct dump *d, uint64_t pc, uint32_t epoch)
{
	const struct dump_module *m = dump_frame_module(d, pc, epoch);
	if (m)
		printf(" %#" PRIx64 "(%s+%#" PRIx64 ")", pc, m->path,
		       dump_frame_addr(pc) - m->load_bias);
	else
		printf(" %#" PRIx64 "(?)", pc);
}

static void print_modules(const struct dump *d)
{
	for (size_t i = 0; i < d->nmodules; i++) {
		const struct dump_module *m = &d->modules[i];
		printf("module %u bias %#" PRIx64 " build-id ", m->id, m->load_bias);
		for (uint32_t k = 0; k < m->build_id_len; k++)
			printf("%02x", m->build_id[k]);
		printf("%s %s segments %u epochs %u-", m->build_id_len ? "" : "-", m->path,
		       m->nsegments, m->epoch_first);
		if (m->epoch_last == UINT32_MAX)
			printf("loaded\n");
		else
			printf("%u\n", m->epoch_last);
	}
}

static void print_buckets(const struct dump *d)
{
	for (size_t i = 0; i < d->nbuckets; i++) {
		const struct dump_bucket *b = &d->buckets[i];
		printf("bucket %s %s lock %#" PRIx64 " count %" PRIu64 " delay_ns %" PRIu64
		       " max_ns %" PRIu64 " flags%s%s%s epoch %u frames %u:",
		       names_view(b->view), names_kind(b->kind), b->lock, b->count, b->delay_ns,
		       b->max_ns, b->flags ? "" : " -",
		       b->flags & LC_BUCKET_TRUNCATED ? " truncated" : "",
		       b->flags & LC_BUCKET_TIMEDOUT ? " timedout" : "", b->epoch, b->nframes);
		for (uint32_t k = 0; k < b->nframes; k++)
			print_frame(d, b->pcs[k], b->epoch);
		printf("\n");
	}
}

static void print_locks(const struct dump *d)
{
	for (size_t i = 0; i < d->nlocks; i++) {
		const struct dump_lock *l = &d->locks[i];
		printf("lock %#" PRIx64 " %s trylock_failures %" PRIu64 " timeouts %" PRIu64
		       " uncharged_ns %" PRIu64 " epoch %u first frames %u:",
		       l->addr, names_kind(l->kind), l->trylock_failures, l->timeouts,
		       l->uncharged_ns, l->epoch, l->nframes);
		for (uint32_t k = 0; k < l->nframes; k++)
			print_frame(d, l->pcs[k], l->epoch);
		printf("\n");
	}
	for (size_t i = 0; i < d->ninits; i++) {
		const struct dump_lock_init *l = &d->inits[i];
		printf("lock_init %#" PRIx64 " epoch %u frames %u:", l->addr, l->epoch, l->nframes);
		for (uint32_t k = 0; k < l->nframes; k++)
			print_frame(d, l->pcs[k], l->epoch);
		printf("\n");
	}
}

/* WAITING records, one line each, in file order. */
static void print_waiting(const struct dump *d)
{
	for (size_t i = 0; i < d->nwaiting; i++) {
		const struct dump_waiting *w = &d->waiting[i];
		if (w->torn) {
			printf("waiting torn\n");
			continue;
		}
		printf("waiting tid %d name \"%s\" lock %#" PRIx64 " %s since_ns %" PRIu64
		       " owner %d epoch %u frames %u:",
		       w->tid, w->name, w->lock, names_kind(w->kind), w->since_ns, w->owner_tid,
		       w->epoch, w->nframes);
		for (uint32_t k = 0; k < w->nframes; k++)
			print_frame(d, w->pcs[k], w->epoch);
		printf("\n");
	}
}

/* THREAD records (3.7), one line each, in file order: who, which slot, and
 * its own figures per view (count/delay_ns), or why they are unknown. */
static void print_threads(const struct dump *d)
{
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct dump_thread *t = &d->threads[i];
		printf("thread tid %d name \"%s\" slot_at %" PRIu64 " start_ns %" PRIu64
		       " end_ns %" PRIu64 " %s %s",
		       t->tid, t->name, t->slot, t->start_ns, t->end_ns,
		       t->ended ? "ended" : "running", dump_thread_state_name(t->state));
		for (int v = 0; v < LC_NVIEWS; v++)
			printf(" %s %" PRIu64 "/%" PRIu64, names_view(v), t->count[v],
			       t->delay_ns[v]);
		printf("\n");
	}
}

/* LOCK_LOST, LOCK_UNCHARGED and LOCK_NO_CELL records (by address), their
 * non-zero entries. */
static void print_lock_losts(const struct dump *d)
{
	for (size_t i = 0; i < d->nlock_losts; i++) {
		const struct dump_lock_lost *l = &d->lock_losts[i];
		if (l->uncharged_ns)
			printf("lock_uncharged %#" PRIx64 " uncharged_ns %" PRIu64 "\n", l->addr,
			       l->uncharged_ns);
		if (l->no_cell_count || l->no_cell_ns)
			printf("lock_no_cell %#" PRIx64 " count %" PRIu64 " delay_ns %" PRIu64 "\n",
			       l->addr, l->no_cell_count, l->no_cell_ns);
		for (int v = 0; v < LC_NVIEWS; v++)
			for (int r = 0; r < LC_LOST_NREASONS; r++)
				if (l->lost[v][r].count || l->lost[v][r].delay_ns)
					printf("lock_lost %#" PRIx64 " %s %s count %" PRIu64
					       " delay_ns %" PRIu64 "\n",
					       l->addr, names_view(v), names_lost(r),
					       l->lost[v][r].count, l->lost[v][r].delay_ns);
	}
}

static void print_live(const struct dump *d)
{
	const struct lc_rec_live *l = &d->live;
	if (!d->have_live) {
		printf("live none\n");
		return;
	}
	printf("live state %s epoch %u snapshots %" PRIu64 " snapshot_mono_ns %" PRIu64
	       " trylock_failures %" PRIu64 " stacks_refused %" PRIu64 " locks_refused %" PRIu64
	       " threads_seen %" PRIu64 " modules_dropped %" PRIu64 "\n",
	       names_live_state(l->state), l->epoch, l->snapshots, l->snapshot_mono_ns,
	       l->trylock_failures, l->stacks_refused, l->locks_refused, l->threads_seen,
	       l->modules_dropped);
}

/* A profile made by an attach: what it reached. */
static void print_attach(const struct dump *d)
{
	const struct lc_rec_attach *a = &d->attach;
	if (!d->have_attach)
		return;
	printf("attach objects %u later %u slots %" PRIu64 " out_of_reach %" PRIu64
	       " failed %" PRIu64 " restored %" PRIu64 " left %" PRIu64 " forgotten %" PRIu64
	       " dlopen %s signal %s\n",
	       a->objects, a->later, a->slots, a->out_of_reach, a->failed, a->restored, a->left,
	       a->forgotten, a->flags & LC_ATTACH_DLOPEN ? "followed" : "not followed",
	       a->flags & LC_ATTACH_SIGNAL ? "installed" : "not installed");
}

/* A slot: per view count/delay, then its non-zero losses. */
static void print_slots(const struct dump *d)
{
	for (size_t i = 0; i < d->nslots; i++) {
		const struct lc_rec_slot *s = &d->slots[i];
		printf("slot %zu", i);
		for (int v = 0; v < LC_NVIEWS; v++)
			printf(" %s %" PRIu64 "/%" PRIu64, names_view(v), s->count[v],
			       s->delay_ns[v]);
		printf(" timeouts %" PRIu64 " uncharged_ns %" PRIu64 " lost", s->timeouts,
		       s->uncharged_ns);
		const char *none = " -";
		for (int v = 0; v < LC_NVIEWS; v++) {
			for (int r = 0; r < LC_LOST_NREASONS; r++) {
				if (!s->lost[v][r].count && !s->lost[v][r].delay_ns)
					continue;
				printf(" %s:%s %" PRIu64 "/%" PRIu64, names_view(v), names_lost(r),
				       s->lost[v][r].count, s->lost[v][r].delay_ns);
				none = "";
			}
		}
		printf("%s\n", none);
	}
	printf("records pending %zu skipped %zu skipped_kind %zu waiting_unknown_kind %zu\n",
	       d->pending, d->skipped, d->skipped_kind, d->waiting_unknown_kind);
	for (int v = 0; v < LC_NVIEWS; v++)
		if (d->unknown_kind[v].count || d->unknown_kind[v].delay_ns)
			printf("unknown_kind %s count %" PRIu64 " delay_ns %" PRIu64 "\n",
			       names_view(v), d->unknown_kind[v].count,
			       d->unknown_kind[v].delay_ns);
}

/* SERIES records: each with its state (dumpread.h), then its entries. */
static void print_series(const struct dump *d)
{
	for (size_t i = 0; i < d->nseries; i++) {
		const struct dump_series *s = &d->series[i];
		printf("series %zu slot_at %" PRIu64 " interval_ns %" PRIu64
		       " level %u used %zu of %u: "
		       "%s\n",
		       i, s->slot, s->interval_ns, s->level, s->n, s->nentries,
		       dump_series_state_name(s->state));
		for (size_t k = 0; k < s->n; k++) {
			const struct dump_series_entry *e = &s->entries[k];
			printf("  at_ns %" PRIu64 "-%" PRIu64 " level %u %s ", e->start_ns,
			       e->end_ns, e->level, names_view(e->view));
			if (e->other)
				printf("other");
			else
				printf("lock %#" PRIx64 " stack %#" PRIx64, e->lock, e->stack);
			printf(" count %" PRIu64 " delay_ns %" PRIu64 "\n", e->count, e->delay_ns);
		}
	}
}

/* The series against the totals, per view: true unless they cannot be
 * right — more in them than in the totals, or a complete file (closed
 * with every slot closed) with a series that does not add up. */
static bool print_series_check(const struct dump *d)
{
	bool whole = d->complete && !dump_totals_while_running(d) && !d->totals.threads_unread;
	bool ok = true;
	for (size_t i = 0; i < d->nseries; i++)
		ok &= !whole || d->series[i].state == DUMP_SERIES_PLACED;
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t sc, sd, uc, ud;
		dump_series_sum(d, (enum lc_view)v, &sc, &sd);
		bool fits = dump_series_unplaced(d, (enum lc_view)v, &uc, &ud);
		printf("check series %s count %" PRIu64 " delay_ns %" PRIu64 ": ", names_view(v),
		       sc, sd);
		if (!fits)
			printf("MISMATCH (more than the totals)\n");
		else if (uc || ud)
			printf("not placed count %" PRIu64 " delay_ns %" PRIu64 "\n", uc, ud);
		else
			printf("equal to the totals\n");
		ok &= fits;
	}
	return ok;
}

static void print_totals(const struct dump *d, const struct lc_rec_totals *t)
{
	if (d->totals_from_slots)
		printf("totals from %zu slots and the live record (no TOTALS record)\n", d->nslots);
	printf("totals contentions %" PRIu64 " delay_ns %" PRIu64 " timeouts %" PRIu64
	       " buckets %" PRIu64 " modules %" PRIu64 " stacks_refused %" PRIu64
	       " threads_unread %" PRIu64 " threads_seen %" PRIu64 "\n",
	       t->contentions, t->delay_ns, t->timeouts, t->buckets, t->modules, t->stacks_refused,
	       t->threads_unread, t->threads_seen);
	printf("totals caused_count %" PRIu64 " caused_ns %" PRIu64 " uncharged_ns %" PRIu64
	       " holds %" PRIu64 " hold_ns %" PRIu64 " trylock_failures %" PRIu64 " locks %" PRIu64
	       " locks_refused %" PRIu64 "\n",
	       t->caused_count, t->caused_ns, t->uncharged_ns, t->holds, t->hold_ns,
	       t->trylock_failures, t->locks, t->locks_refused);
	printf("across views caused_ns + uncharged_ns %" PRIu64 " delay_ns %" PRIu64 "\n",
	       t->caused_ns + t->uncharged_ns, t->delay_ns);
	if (d->have_no_cell) /* the LOCK_NO_CELL records' sum (3.12) */
		printf("uncharged no_cell count %" PRIu64 " delay_ns %" PRIu64 "\n",
		       d->no_cell_count, d->no_cell_ns);
	else
		printf("uncharged no_cell not recorded (a file before 3.12)\n");
}

/* One view's sentinel and its check; true if conserved (or, from the
 * slots, short of them only by what was in flight). */
static bool print_view(const struct dump *d, enum lc_view v)
{
	uint64_t lc, ld, sc, sd;
	dump_lost_sum(d, v, &lc, &ld);
	printf("sentinel %s %s count %" PRIu64 " delay_ns %" PRIu64 "%s\n", names_view(v),
	       LC_SENTINEL_NAME, lc, ld, d->lost_views & 1u << v ? "" : " (no lost record)");
	for (int r = 0; r < LC_LOST_NREASONS; r++)
		printf("lost %s %s count %" PRIu64 " delay_ns %" PRIu64 "\n", names_view(v),
		       names_lost(r), d->lost[v][r].count, d->lost[v][r].delay_ns);
	dump_sum(d, v, &sc, &sd);
	bool ok = dump_view_conserved(d, v);
	printf("check %s buckets+sentinel count %" PRIu64 " delay_ns %" PRIu64 ": %s",
	       names_view(v), sc, sd, ok ? "conserved" : "MISMATCH");
	if (!ok && dump_totals_while_running(d) && dump_view_in_flight(d, v, &lc, &ld)) {
		printf(" -> in flight count %" PRIu64 " delay_ns %" PRIu64, lc, ld);
		ok = true;
	}
	printf("\n");
	return ok;
}

/* Returns true if every view and the record counts add up. */
static bool print_summary(const struct dump *d)
{
	bool ok = true;
	for (int v = 0; v < LC_NVIEWS; v++)
		ok &= print_view(d, (enum lc_view)v);
	print_totals(d, &d->totals);
	bool counted = dump_records_counted(d);
	printf("check records buckets %zu modules %zu locks %zu: %s\n", d->nbuckets, d->nmodules,
	       d->nlocks, counted ? "counted" : "MISMATCH");
	ok &= print_series_check(d);
	return ok && counted;
}

static int rawdump_file(const char *path)
{
	struct dump d;
	struct dump_status st;
	char err[512], status[512];
	if (dump_read_file(path, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "lockcontend-rawdump: %s: %s\n", path, err);
		return 1;
	}
	dumpstatus_of(&d, path, NULL, &st);
	dumpstatus_describe(&d, &st, status, sizeof(status));
	const struct lc_rec_meta *m = &d.meta;
	printf("file %s\nversion %u.%u %s end %s at %" PRIu64 "\n", path, d.version_major,
	       d.version_minor, d.complete ? "complete" : "INCOMPLETE", dump_end_name(d.end),
	       d.stop_offset);
	printf("status %s\n", status);
	printf("writer %s\n", d.have_writer ? d.writer : "unknown (no WRITER record: before 3.6)");
	if (!d.complete)
		printf("warning %s\n", d.warning);
	printf("pid %" PRIu64 " exe %s\n", m->pid, d.exe);
	/* A file without a clean end has no end time (0): say so, no wrap. */
	if (m->end_mono_ns >= m->start_mono_ns)
		printf("duration_ns %" PRIu64, m->end_mono_ns - m->start_mono_ns);
	else
		printf("duration_ns unknown");
	printf(" rate %u depth %u stacks %s holder %s hold_rate %u clock %s%s\n", m->rate, m->depth,
	       m->flags & LC_META_STACKS ? "on" : "off", m->flags & LC_META_HOLDER ? "on" : "off",
	       m->hold_rate, names_clock(m->clock), m->flags & LC_META_ATTACHED ? " attached" : "");
	printf("arena used %" PRIu64 " of %" PRIu64 "\n", m->arena_used, m->arena_bytes);
	print_live(&d);
	print_attach(&d);
	print_modules(&d);
	print_buckets(&d);
	print_locks(&d);
	print_lock_losts(&d);
	print_waiting(&d);
	print_threads(&d);
	print_slots(&d);
	print_series(&d);
	bool ok = print_summary(&d) && d.end != DUMP_END_CUT;
	dump_free(&d);
	return ok ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "lockcontend-rawdump: no dump given (see --help)\n");
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("usage: lockcontend-rawdump [--] FILE...\n"
		       "       lockcontend-rawdump --version\n");
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("lockcontend-rawdump " LOCKCONTEND_VERSION "\n");
		return 0;
	}
	/* An option it does not have is bad usage, one line, not a file that
	 * cannot be opened ("./-name" or "--" first for a file named so). */
	int first = strcmp(argv[1], "--") == 0 ? 2 : 1;
	for (int i = first; first == 1 && i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "lockcontend-rawdump: unknown option %s (see --help)\n",
			        argv[i]);
			return 1;
		}
	}
	if (first == argc) {
		fprintf(stderr, "lockcontend-rawdump: no dump given (see --help)\n");
		return 1;
	}
	int worst = 0;
	for (int i = first; i < argc; i++) {
		int rc = rawdump_file(argv[i]);
		if (rc == 1 || (rc == 2 && worst == 0))
			worst = rc;
	}
	return worst;
}
