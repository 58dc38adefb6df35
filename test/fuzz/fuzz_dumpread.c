/*
 * fuzz_dumpread.c — libFuzzer target for the raw dump reader
 * (symbolize/dumpread.c) and the writer status's words (dumpstatus.c).
 *
 * dumpread.h promises that any byte string gives either a model or a
 * one-line error, never a crash.  This target holds it to that: it parses
 * the input, then touches every byte of the model (so AddressSanitizer sees
 * any read of freed or unallocated memory) and checks what the model must
 * say about itself — how its records ended, totals from the slots when
 * there is no TOTALS record, what was in flight, each frame in a module of
 * its epoch — and describes it as every writer status would (through a
 * fake system: no process is asked); a broken promise aborts, which
 * libFuzzer reports as a crash.  Built with -fsanitize=fuzzer,address,undefined by `make fuzz`,
 * which starts from the seeds in corpus/ (made by mkcorpus.sh); see
 * docs/testing.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "dumpstatus.h"

/* A failed invariant is a bug in the reader: say which, then crash. */
#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_dumpread: %s:%d: invariant failed: %s\n", \
			        __FILE__, __LINE__, #cond);                          \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* Folding every byte read into a volatile keeps the reads in the binary. */
static volatile uint64_t sink;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = sink;
	for (size_t i = 0; i < n; i++)
		h = h * 31 + b[i];
	sink = h;
}

/* A message the reader produced: terminated inside its buffer, one line. */
static void check_line(const char *s, size_t cap, bool want_empty)
{
	const char *nul = memchr(s, '\0', cap);
	CHECK(nul != NULL);
	CHECK(want_empty ? s[0] == '\0' : s[0] != '\0');
	CHECK(memchr(s, '\n', (size_t)(nul - s)) == NULL);
}

static bool contains(const struct dump_module *m, uint64_t pc)
{
	for (uint32_t s = 0; s < m->nsegments; s++) {
		uint64_t lo = m->load_bias + m->segments[s].vaddr;
		if (pc >= lo && pc - lo < m->segments[s].memsz)
			return true;
	}
	return false;
}

static void walk_module(const struct dump *d, const struct dump_module *m)
{
	CHECK(m->epoch_first <= m->epoch_last);
	CHECK(m->nsegments <= LC_DUMP_MAX_SEGMENTS);
	CHECK(m->build_id_len <= LC_DUMP_MAX_BUILD_ID);
	CHECK(m->path != NULL && strlen(m->path) <= LC_DUMP_MAX_PATH);
	CHECK(m->nsegments == 0 || m->segments != NULL);
	touch(m->build_id, m->build_id_len);
	touch(m->path, strlen(m->path) + 1);
	touch(m->segments, m->nsegments * sizeof(*m->segments));
	/* The first byte of every segment must map to some module (this one
	 * or another at the same address, loaded as late), and in this one's
	 * first epoch to one loaded then. */
	for (uint32_t s = 0; s < m->nsegments; s++) {
		if (m->segments[s].memsz == 0)
			continue;
		uint64_t a = m->load_bias + m->segments[s].vaddr;
		const struct dump_module *hit = dump_module_of(d, a);
		CHECK(hit >= d->modules && hit < d->modules + d->nmodules && contains(hit, a));
		CHECK(hit->epoch_last >= m->epoch_last);
		hit = dump_module_in_epoch(d, a, m->epoch_first);
		CHECK(hit >= d->modules && hit < d->modules + d->nmodules && contains(hit, a));
		CHECK(hit->epoch_first <= m->epoch_first && m->epoch_first <= hit->epoch_last);
	}
}

/* Each pc of a stack taken in `epoch` (a bucket's, a LOCK or a LOCK_INIT
 * record's) in the module dump_frame_module gives, if any: one that holds
 * its frame address (pc - 1, the one pc rule), and was
 * loaded in that epoch or found in the next (dumpread.c: a stack taken
 * between a dlclose() and the refresh after it). */
static void walk_pcs(const struct dump *d, const uint64_t *pcs, uint32_t n, uint32_t epoch)
{
	for (uint32_t k = 0; k < n; k++) {
		const struct dump_module *m = dump_frame_module(d, pcs[k], epoch);
		if (!m)
			continue;
		CHECK(m >= d->modules && m < d->modules + d->nmodules &&
		      contains(m, dump_frame_addr(pcs[k])));
		CHECK((m->epoch_first <= epoch && epoch <= m->epoch_last) ||
		      (epoch < UINT32_MAX && m->epoch_first == epoch + 1));
		touch(m->path, strlen(m->path) + 1);
	}
}

static void walk_bucket(const struct dump *d, const struct dump_bucket *b)
{
	CHECK(b->nframes >= 1 && b->nframes <= LC_DUMP_MAX_DEPTH);
	CHECK(b->view < LC_NVIEWS && b->kind < LC_NKINDS); /* consumers index arrays with them */
	CHECK(b->pcs != NULL);
	touch(b, sizeof(*b));
	touch(b->pcs, b->nframes * sizeof(*b->pcs));
	walk_pcs(d, b->pcs, b->nframes, b->epoch);
}

static void walk_lock(const struct dump *d, const struct dump_lock *l)
{
	CHECK(l->nframes <= LC_LOCK_FIRST_FRAMES && l->kind < LC_NKINDS);
	touch(l, sizeof(*l));
	walk_pcs(d, l->pcs, l->nframes, l->epoch);
	const struct dump_lock *found = dump_lock_of(d, l->addr);
	CHECK(found >= d->locks && found < d->locks + d->nlocks && found->addr == l->addr);
}

static void walk_lock_init(const struct dump *d, const struct dump_lock_init *l)
{
	CHECK(l->nframes >= 1 && l->nframes <= LC_LOCK_INIT_FRAMES);
	touch(l, sizeof(*l));
	walk_pcs(d, l->pcs, l->nframes, l->epoch);
	const struct dump_lock_init *found = dump_lock_init_of(d, l->addr);
	CHECK(found >= d->inits && found < d->inits + d->ninits && found->addr == l->addr);
}

/* dump_sum is a view's sentinel plus its buckets (wrapping, as unsigned),
 * and the buckets of a kind the reader skipped, and the views together are
 * every bucket and every lost entry. */
static void check_sums(const struct dump *d)
{
	uint64_t all_c = 0, all_t = 0, bc = 0, bt = 0;
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t c, t, lc, lt;
		dump_sum(d, (enum lc_view)v, &c, &t);
		dump_lost_sum(d, (enum lc_view)v, &lc, &lt);
		lc += d->unknown_kind[v].count;
		lt += d->unknown_kind[v].delay_ns;
		for (size_t i = 0; i < d->nbuckets; i++) {
			if (d->buckets[i].view == v) {
				lc += d->buckets[i].count;
				lt += d->buckets[i].delay_ns;
			}
		}
		CHECK(c == lc && t == lt);
		CHECK(!dump_view_conserved(d, (enum lc_view)v) || d->have_totals);
		uint64_t tc, tt, fc, ft;
		dump_view_totals(d, (enum lc_view)v, &tc, &tt);
		if (dump_view_in_flight(d, (enum lc_view)v, &fc, &ft))
			CHECK(d->have_totals && c + fc == tc && t + ft == tt);
		else
			CHECK(fc == 0 && ft == 0 && (!d->have_totals || c > tc || t > tt));
		all_c += c;
		all_t += t;
	}
	for (size_t i = 0; i < d->nbuckets; i++) {
		bc += d->buckets[i].count;
		bt += d->buckets[i].delay_ns;
	}
	for (int v = 0; v < LC_NVIEWS; v++) {
		bc += d->unknown_kind[v].count;
		bt += d->unknown_kind[v].delay_ns;
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			bc += d->lost[v][r].count;
			bt += d->lost[v][r].delay_ns;
		}
	}
	CHECK(all_c == bc && all_t == bt);
}

/* Totals from the slots are their sums and LIVE's counters. */
static void check_slots(const struct dump *d)
{
	touch(d->slots, d->nslots * sizeof(*d->slots));
	touch(&d->live, sizeof(d->live));
	if (!d->totals_from_slots)
		return;
	uint64_t c = 0, t = 0;
	for (size_t i = 0; i < d->nslots; i++) {
		c += d->slots[i].count[LC_VIEW_HOLDER];
		t += d->slots[i].delay_ns[LC_VIEW_HOLDER];
	}
	CHECK(!d->complete && d->have_totals && d->have_lost);
	CHECK(d->totals.caused_count == c && d->totals.caused_ns == t);
	CHECK(dump_records_counted(d) && d->totals.threads_unread == 0);
	CHECK(d->totals.trylock_failures == d->live.trylock_failures);
}

/* Series: each entry a place of its own, the states in range, and what
 * is placed plus what is not is the totals (or more is placed). */
static void check_series(const struct dump *d)
{
	CHECK(d->nseries == 0 || d->series != NULL);
	for (size_t i = 0; i < d->nseries; i++) {
		const struct dump_series *s = &d->series[i];
		CHECK(s->interval_ns > 0 && s->n <= s->nentries && s->state <= DUMP_SERIES_NO_SLOT);
		touch(s->entries, s->n * sizeof(*s->entries));
		for (size_t k = 0; k < s->n && s->state != DUMP_SERIES_BAD; k++) {
			const struct dump_series_entry *e = &s->entries[k];
			CHECK(e->start_ns < e->end_ns && e->view < LC_NVIEWS && e->level < 64);
			CHECK(!e->other || (!e->lock && !e->stack));
		}
	}
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t sc, sd, uc, ud, tc, td;
		dump_series_sum(d, (enum lc_view)v, &sc, &sd);
		dump_view_totals(d, (enum lc_view)v, &tc, &td);
		if (dump_series_unplaced(d, (enum lc_view)v, &uc, &ud))
			CHECK(sc + uc == tc && sd + ud == td);
		else
			CHECK(uc == 0 && ud == 0 && (!d->have_totals || sc > tc || sd > td));
	}
}

/* How the records ended, and where: a zero type, or a rest of zeros
 * shorter than a head, ends them as zeros. */
static void check_end(const struct dump *d, const uint8_t *data, size_t len)
{
	check_line(d->warning, sizeof(d->warning), d->complete);
	CHECK(d->complete == (d->end == DUMP_END_TRAILER));
	if (d->complete)
		CHECK(d->have_lost && d->have_totals && d->have_live && d->stop_offset == len);
	else /* records start at 16 and are padded to 8 */
		CHECK(d->stop_offset >= 16 && d->stop_offset <= len && d->stop_offset % 8 == 0);
	if (d->end == DUMP_END_EOF)
		CHECK(d->stop_offset == len);
	if (d->end == DUMP_END_ZEROS) {
		size_t n = len - d->stop_offset < 8 ? len - d->stop_offset : 4;
		CHECK(n > 0);
		for (size_t i = 0; i < n; i++)
			CHECK(data[d->stop_offset + i] == 0);
	}
	CHECK(d->have_totals && d->have_lost); /* from records or from the slots */
}

static void check_model(const struct dump *d, const uint8_t *data, size_t len)
{
	CHECK(d->have_meta && d->exe != NULL && d->meta.exe_len <= LC_DUMP_MAX_PATH);
	touch(d->exe, (size_t)d->meta.exe_len + 1);
	CHECK(d->version_major == LC_DUMP_VERSION_MAJOR);
	CHECK(d->nmodules == 0 || d->modules != NULL);
	CHECK(d->nbuckets == 0 || d->buckets != NULL);
	CHECK(d->nlocks == 0 || d->locks != NULL);
	CHECK(d->ninits == 0 || d->inits != NULL);
	CHECK(d->nslots == 0 || d->slots != NULL);
	/* One LOST record per view at most. */
	CHECK(d->lost_views < 1u << LC_NVIEWS);
	/* Every record before the trailer is counted exactly once (1: meta). */
	CHECK(d->records == 1 + d->have_live + d->have_attach + d->have_writer + d->nmodules +
	                        d->nbuckets + d->nlocks + d->nlock_losts + d->ninits + d->nslots +
	                        d->nwaiting + d->nseries + d->nthreads +
	                        (size_t)__builtin_popcount(d->lost_views) +
	                        (d->have_totals && !d->totals_from_slots) + d->skipped + d->pending +
	                        d->skipped_kind);
	check_end(d, data, len);
	check_slots(d);
	for (size_t i = 0; i < d->nmodules; i++)
		walk_module(d, &d->modules[i]);
	for (size_t i = 0; i < d->nbuckets; i++)
		walk_bucket(d, &d->buckets[i]);
	for (size_t i = 0; i < d->nlocks; i++)
		walk_lock(d, &d->locks[i]);
	for (size_t i = 0; i < d->ninits; i++)
		walk_lock_init(d, &d->inits[i]);
	check_sums(d);
	check_series(d);
}

static FILE *no_maps(uint64_t pid)
{
	(void)pid;
	return NULL;
}

static bool alive_if_odd(uint64_t pid)
{
	return pid & 1;
}

static uint64_t fixed_now(void)
{
	return 1700000002500000000ull;
}

/* The status as every writer would give it: one line each. */
static void check_status(const struct dump *d)
{
	static const struct dumpstatus_sys fake = {no_maps, alive_if_odd, fixed_now};
	struct dump_status st;
	char line[512];
	memset(line, 0xa5, sizeof(line));
	dumpstatus_of(d, NULL, &fake, &st);
	CHECK(d->complete ? st.writer <= DUMP_WRITER_DETACHED : st.writer >= DUMP_WRITER_LIVE);
	dumpstatus_describe(d, &st, line, sizeof(line));
	check_line(line, sizeof(line), false);
	for (int w = DUMP_WRITER_EXITED; w <= DUMP_WRITER_UNCLOSED; w++) { /* every kind */
		st.writer = (enum dump_writer)w;
		st.at_realtime_ns = d->meta.end_realtime_ns;
		dumpstatus_describe(d, &st, line, sizeof(line));
		check_line(line, sizeof(line), false);
	}
	dumpstatus_describe(d, NULL, line, sizeof(line));
	check_line(line, sizeof(line), false);
}

/* A failed parse leaves nothing behind (dump_free zeroes the model). */
static void check_failure(const struct dump *d, const char *err, size_t errlen)
{
	static const struct dump zero;
	check_line(err, errlen, false);
	CHECK(memcmp(d, &zero, sizeof(zero)) == 0);
}

/* Parse len bytes; 1 if the result is a complete dump. */
static int parse_once(const uint8_t *data, size_t len)
{
	struct dump d;
	char err[256];
	memset(err, 0xa5, sizeof(err)); /* an unterminated message shows */
	int rc = dump_parse(data, len, &d, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		check_failure(&d, err, sizeof(err));
		return 0;
	}
	check_model(&d, data, len);
	check_status(&d);
	int complete = d.complete;
	dump_free(&d);
	return complete;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!parse_once(data, size))
		return 0;
	/* A complete dump (so more than a header) cut by one byte inside its
	 * trailer must never read as complete; zeros may follow the trailer,
	 * whose last byte is not zero.  The copy is exactly that long, so ASan
	 * catches a read past it. */
	size_t end = size;
	while (end > 0 && data[end - 1] == 0)
		end--;
	CHECK(end > 0);
	uint8_t *cut = malloc(end - 1);
	CHECK(cut != NULL);
	memcpy(cut, data, end - 1);
	CHECK(parse_once(cut, end - 1) == 0);
	free(cut);
	return 0;
}
