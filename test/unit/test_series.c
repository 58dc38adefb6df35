/*
 * test_series.c — a slot's events over time (preload/series.c), as the
 * reader sees them (symbolize/dumpread.c, dumpseries.c).
 *
 * Each test writes a real profile file (pfiletest.h): a META record, a
 * SLOT record and its SERIES record, the slot's totals kept as account.c
 * keeps them (the series first, then the totals), and reads it back with
 * dump_parse.  Events are drawn from a seed, so what a series must say can
 * be worked out again: per view its sums equal the totals exactly, and at
 * the reader's grid (the coarsest level in the record) every (interval,
 * view, lock, stack) holds exactly the events that ended in it.
 *
 * Tests: 5000 events over 2000 intervals into 32 entries (the level goes
 * up, the sums stay, every cell is right); 200 locks in one interval (the
 * smallest fold into OTHER, per view, the sums stay); an event far past
 * 2^32 intervals; out-of-order events; a series that does not add up, or
 * names no slot, is not placed; one of the wrong size is corrupt; a writer
 * SIGKILLed at 150 random moments (every file reads, each series either
 * adds up and is right cell by cell, or is refused); a reader copying the
 * record word by word while a thread writes 300,000 events (the same).
 * The reader's grid and windows (timeline.c) on entries at two levels:
 * cells as wide as the widest entry, windows widened, never an entry
 * split; the times --from and --to take.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dumpread.h"
#include "duration.h"
#include "pfiletest.h"
#include "series.h"
#include "stash.h"

#define ORIGIN 1000000000000ull /* the profile's start, CLOCK_MONOTONIC */
#define WIDTH 1000000ull        /* interval_ns: 1 ms */

static struct pfile file;
static struct lc_rec_slot *slot;
static struct lc_rec_series *rec;

static void close_file(void)
{
	pft_close(&file);
}

TestSuite(series, .fini = close_file);

/* A file with META, one SLOT and its SERIES of n entries. */
static void open_file(uint32_t n)
{
	pft_open(&file, 8u << 20);
	struct lc_rec_meta *m = pfile_record(&file, sizeof(*m));
	cr_assert_not_null(m);
	m->pid = 1;
	m->start_mono_ns = ORIGIN;
	m->clock = LC_CLOCK_MONOTONIC;
	m->rate = 1;
	m->depth = 64;
	pfile_publish(m, LC_REC_META);
	slot = pfile_record(&file, sizeof(*slot));
	cr_assert_not_null(slot);
	pfile_publish(slot, LC_REC_SLOT);
	struct series_conf c = {.interval_ns = WIDTH, .nentries = n};
	rec = series_record(&file, slot, &c);
	cr_assert_not_null(rec);
}

/* Event i of a seeded run: nlocks locks, three views, two stacks each,
 * `per` events an interval on average; count 1 or 3, delay random. */
struct run {
	uint64_t seed;
	uint32_t nlocks, per;
};

static struct series_event event_of(const struct run *r, uint64_t i)
{
	uint64_t s = (r->seed + i) * 0x9E3779B97F4A7C15ull | 1;
	uint64_t x = stash_rand(&s), y = stash_rand(&s);
	return (struct series_event){
	    .when_ns = ORIGIN + i * WIDTH / r->per + x % (WIDTH / r->per),
	    .lock = 0x1000 + (x >> 16) % r->nlocks * 64,
	    .stack = (x >> 32) % 2 + 1,
	    .count = (y & 1) ? 3 : 1,
	    .delay_ns = 1 + (y >> 8) % 1000000,
	    .view = (uint8_t)((x >> 40) % LC_NVIEWS),
	};
}

/* The run the racing tests write: count 1 each, so the totals say how
 * many events were added. */
static struct series_event event_one(const struct run *r, uint64_t i)
{
	struct series_event e = event_of(r, i);
	e.count = 1;
	return e;
}

/* What account_total does: the series (its undo kept, as the slot's log
 * keeps it), then the slot's totals. */
static struct series_undo undo;

static void add(struct lc_rec_slot *p, struct lc_rec_series *r, const struct series_event *e)
{
	series_undo_clear(&undo);
	series_add(r, NULL, ORIGIN, e, &undo);
	p->count[e->view] += e->count;
	p->delay_ns[e->view] += e->delay_ns;
}

/* The file as a reader finds it, image[0, len). */
static void read_image(const void *image, size_t len, struct dump *d)
{
	char err[256];
	cr_assert_eq(dump_parse(image, len, d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d->nseries, 1);
	cr_assert_eq(d->nslots, 1);
}

static void read_file(struct dump *d)
{
	read_image(file.base, pfile_used(&file), d);
}

/* The series adds up to the totals, every view. */
static void assert_sums(const struct dump *d)
{
	cr_assert_eq(d->series[0].state, DUMP_SERIES_PLACED, "%s",
	             dump_series_state_name(d->series[0].state));
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t sc, sd, uc, ud;
		dump_series_sum(d, (enum lc_view)v, &sc, &sd);
		cr_assert_eq(sc, d->slots[0].count[v], "view %d count", v);
		cr_assert_eq(sd, d->slots[0].delay_ns[v], "view %d delay", v);
		cr_assert(dump_series_unplaced(d, (enum lc_view)v, &uc, &ud));
		cr_assert_eq(uc + ud, 0, "view %d: %lu not placed", v, (unsigned long)uc);
	}
}

/* Cell by cell at the coarsest level in d's series, per (view, lock,
 * stack): the entries hold the first n events of run r (of count 1 if
 * `one`), exactly.  No OTHER entries here. */
#define CELLS 4096
struct cell {
	uint64_t key, count, delay;
};

static void cell_add(struct cell *t, uint64_t key, uint64_t count, uint64_t delay)
{
	size_t h = (key * 0x9E3779B97F4A7C15ull) >> 52;
	while (t[h].key && t[h].key != key)
		h = (h + 1) % CELLS;
	t[h].key = key;
	t[h].count += count;
	t[h].delay += delay;
}

static uint64_t cell_key(uint64_t cell, uint8_t view, uint64_t lock, uint64_t stack)
{
	return (cell << 24 | (uint64_t)view << 20 | (lock - 0x1000) / 64 << 4 | stack) + 1;
}

static void assert_cells(const struct dump *d, const struct run *r, uint64_t n, bool one)
{
	const struct dump_series *s = &d->series[0];
	uint8_t top = 0;
	for (size_t i = 0; i < s->n; i++)
		top = s->entries[i].level > top ? s->entries[i].level : top;
	uint64_t w = WIDTH << top;
	struct cell *got = calloc(CELLS, sizeof(*got)), *want = calloc(CELLS, sizeof(*want));
	for (size_t i = 0; i < s->n; i++) {
		const struct dump_series_entry *e = &s->entries[i];
		cr_assert(!e->other, "no fold expected here");
		cr_assert_eq(e->start_ns / w, (e->end_ns - 1) / w, "an entry across cells");
		cell_add(got, cell_key(e->start_ns / w, e->view, e->lock, e->stack), e->count,
		         e->delay_ns);
	}
	for (uint64_t i = 0; i < n; i++) {
		struct series_event e = one ? event_one(r, i) : event_of(r, i);
		cell_add(want, cell_key((e.when_ns - ORIGIN) / w, e.view, e.lock, e.stack), e.count,
		         e.delay_ns);
	}
	for (size_t i = 0; i < CELLS; i++) {
		if (!want[i].key)
			continue;
		size_t h = (want[i].key * 0x9E3779B97F4A7C15ull) >> 52;
		while (got[h].key && got[h].key != want[i].key)
			h = (h + 1) % CELLS;
		cr_assert_eq(got[h].key, want[i].key, "cell %#lx missing",
		             (unsigned long)want[i].key);
		cr_assert_eq(got[h].count, want[i].count, "cell %#lx count",
		             (unsigned long)want[i].key);
		cr_assert_eq(got[h].delay, want[i].delay, "cell %#lx delay",
		             (unsigned long)want[i].key);
		got[h].key = ~0ull; /* matched */
	}
	for (size_t i = 0; i < CELLS; i++)
		cr_assert(!got[i].key || got[i].key == ~0ull, "a cell no event was in");
	free(got);
	free(want);
}

Test(series, many_intervals_coarsen_and_keep_every_event_in_its_cell)
{
	open_file(32);
	struct run r = {.seed = 7, .nlocks = 2, .per = 3};
	uint32_t levels = 0;
	for (uint64_t i = 0; i < 5000; i++) {
		struct series_event e = event_of(&r, i);
		add(slot, rec, &e);
		cr_assert_leq(rec->used, rec->nentries);
		levels = rec->level;
	}
	cr_assert_geq(levels, 5, "2000 intervals in 32 entries: level %u", levels);
	struct dump d;
	read_file(&d);
	assert_sums(&d);
	assert_cells(&d, &r, 5000, false);
	cr_assert_eq(d.series[0].level, levels);
	for (size_t i = 0; i < d.series[0].n; i++)
		cr_assert_eq(d.series[0].entries[i].level, levels, "every entry at the level");
	dump_free(&d);
}

/* 200 locks in one interval, in 32 entries: the smallest fold into OTHER
 * (one per view), the largest keep their own entry, the sums stay. */
Test(series, one_crowded_interval_folds_the_smallest_into_other)
{
	open_file(32);
	uint64_t big = 0;
	for (int i = 0; i < 200; i++) {
		struct series_event e = {.when_ns = ORIGIN + 10,
		                         .lock = 0x1000 + (uint64_t)i * 64,
		                         .count = 1,
		                         .delay_ns = i == 7 ? 1000000000 : 100 + (uint64_t)i,
		                         .view = (uint8_t)(i % LC_NVIEWS)};
		add(slot, rec, &e);
		big += i == 7;
	}
	struct dump d;
	read_file(&d);
	assert_sums(&d);
	const struct dump_series *s = &d.series[0];
	cr_assert_leq(s->n, 32);
	int others = 0;
	bool kept = false;
	for (size_t i = 0; i < s->n; i++) {
		others += s->entries[i].other;
		kept |= s->entries[i].lock == 0x1000 + 7 * 64 && s->entries[i].count == big;
		cr_assert_eq(s->entries[i].start_ns, 0, "all in the first interval");
	}
	cr_assert_eq(others, LC_NVIEWS, "one OTHER a view");
	cr_assert(kept, "the lock with the longest wait keeps its entry");
	dump_free(&d);
}

/* An event 2^40 intervals after the start: placed at a level where its
 * index fits, earlier events merged up with it, sums kept. */
Test(series, an_event_past_2_to_32_intervals_raises_the_level)
{
	open_file(32);
	struct series_event e = {.when_ns = ORIGIN + 5 * WIDTH, .lock = 0x1000, .count = 1,
	                         .delay_ns = 5};
	add(slot, rec, &e);
	e.when_ns = ORIGIN + (WIDTH << 40);
	add(slot, rec, &e);
	cr_assert_geq(rec->level, 9);
	struct dump d;
	read_file(&d);
	assert_sums(&d);
	cr_assert_geq(d.series[0].entries[d.series[0].n - 1].end_ns, WIDTH << 40);
	dump_free(&d);
}

/* Events that end out of order (the shared overflow slot) may get a second
 * entry for one place: the reader adds them; the sums stay. */
Test(series, out_of_order_events_are_all_counted)
{
	open_file(64);
	uint64_t rng = 99;
	for (int i = 0; i < 3000; i++) {
		uint64_t x = stash_rand(&rng);
		struct series_event e = {.when_ns = ORIGIN + (uint64_t)i * WIDTH / 4 + x % (WIDTH * 8),
		                         .lock = 0x1000 + x % 3 * 64,
		                         .count = 1,
		                         .delay_ns = x >> 40,
		                         .view = (uint8_t)(x >> 20) % 2};
		add(slot, rec, &e);
	}
	struct dump d;
	read_file(&d);
	assert_sums(&d);
	dump_free(&d);
}

/* A record whose slot's totals lack an event it has (a writer stopped
 * between the two), or with an entry out of range, is refused, and what
 * it holds is counted as not placed. */
Test(series, a_series_that_does_not_add_up_is_not_placed)
{
	open_file(32);
	struct series_event e = {.when_ns = ORIGIN, .lock = 0x1000, .count = 1, .delay_ns = 9};
	add(slot, rec, &e);
	series_undo_clear(&undo);
	series_add(rec, NULL, ORIGIN, &e, &undo); /* the totals never hear of it */
	struct dump d;
	read_file(&d);
	cr_assert_eq(d.series[0].state, DUMP_SERIES_UNEQUAL);
	uint64_t c, dl;
	dump_series_sum(&d, LC_VIEW_WAIT, &c, &dl);
	cr_assert_eq(c + dl, 0, "a refused series adds nothing");
	cr_assert(dump_series_unplaced(&d, LC_VIEW_WAIT, &c, &dl));
	cr_assert_eq(c, 1);
	cr_assert_eq(dl, 9);
	dump_free(&d);
	slot->count[0]++;
	slot->delay_ns[0] += 9;
	((struct lc_series_entry *)(rec + 1))[0].view = 7;
	read_file(&d);
	cr_assert_eq(d.series[0].state, DUMP_SERIES_BAD);
	dump_free(&d);
}

/* A series naming no SLOT record is not placed; one whose room does not
 * fill its record, or whose interval is 0, makes the file corrupt. */
Test(series, a_series_without_its_slot_or_with_a_wrong_size)
{
	open_file(32);
	struct series_event e = {.when_ns = ORIGIN, .lock = 0x1000, .count = 1, .delay_ns = 9};
	add(slot, rec, &e);
	uint64_t at = rec->slot;
	rec->slot = at + 8;
	struct dump d;
	read_file(&d);
	cr_assert_eq(d.series[0].state, DUMP_SERIES_NO_SLOT);
	dump_free(&d);
	rec->slot = at;
	char err[256];
	rec->nentries = 33;
	cr_assert_eq(dump_parse((const uint8_t *)file.base, pfile_used(&file), &d, err, sizeof(err)),
	             -1);
	cr_assert(strstr(err, "corrupt series record"), "%s", err);
	rec->nentries = 32;
	rec->interval_ns = 0;
	cr_assert_eq(dump_parse((const uint8_t *)file.base, pfile_used(&file), &d, err, sizeof(err)),
	             -1);
	rec->interval_ns = WIDTH;
	rec->used = 33;
	cr_assert_eq(dump_parse((const uint8_t *)file.base, pfile_used(&file), &d, err, sizeof(err)),
	             -1);
}

/* The undo of an add (a signal handler jumped out of it: account.c's
 * log): an add to an entry, an append, and one that made room (the whole
 * record back from its image) each leave the record as it was. */
Test(series, an_add_is_undone_whole)
{
	open_file(8);
	static struct {
		struct lc_rec_series r;
		struct lc_series_entry e[8];
	} before, image;
	struct run r = {.seed = 11, .nlocks = 2, .per = 1};
	int kinds[3] = {0};
	for (uint64_t i = 0; i < 400; i++) {
		struct series_event e = event_of(&r, i);
		memcpy(&before, rec, series_bytes(8));
		series_undo_clear(&undo);
		series_add(rec, &image.r, ORIGIN, &e, &undo);
		uint32_t kind = atomic_load(&undo.state);
		cr_assert(kind != SERIES_UNDO_NONE, "an add keeps its undo");
		kinds[kind == SERIES_UNDO_WHOLE ? 2 : undo.at < before.r.used ? 0 : 1]++;
		if (i % 3)
			continue; /* kept: the record goes on */
		series_undo(rec, &image.r, &undo);
		cr_assert_eq(atomic_load(&undo.state), SERIES_UNDO_NONE);
		cr_assert(memcmp(&before, rec, series_bytes(before.r.used)) == 0,
		          "event %lu: the record is not as it was (%s)", (unsigned long)i,
		          kind == SERIES_UNDO_WHOLE ? "whole" : "entry");
		series_undo_clear(&undo);
		series_add(rec, &image.r, ORIGIN, &e, &undo); /* done again, as the recorder does */
	}
	cr_assert(kinds[0] && kinds[1] && kinds[2], "adds %d, appends %d, room made %d", kinds[0],
	          kinds[1], kinds[2]);
}

/* ---- a writer killed anywhere, a reader racing a writer -------------- */

Test(series, a_writer_killed_at_any_moment_leaves_a_true_or_refused_series)
{
	int placed = 0, refused = 0;
	uint64_t rng = (uint64_t)time(NULL) | 1;
	for (int k = 0; k < 150; k++) {
		open_file(32);
		struct run r = {.seed = (uint64_t)k, .nlocks = 2, .per = 3};
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			for (uint64_t i = 0; i < 200000; i++) {
				struct series_event e = event_one(&r, i);
				add(slot, rec, &e);
			}
			pause();
		}
		struct timespec ts = {0, (long)(stash_rand(&rng) % 3000000)};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		struct dump d;
		read_file(&d);
		bool ok = d.series[0].state == DUMP_SERIES_PLACED;
		if (ok) {
			uint64_t n = 0;
			for (int v = 0; v < LC_NVIEWS; v++)
				n += d.slots[0].count[v];
			assert_cells(&d, &r, n, true);
		} else {
			cr_assert_eq(d.series[0].state, DUMP_SERIES_UNEQUAL);
		}
		dump_free(&d);
		placed += ok;
		refused += !ok;
		pft_close(&file);
	}
	cr_log_info("killed writers: %d series placed, %d refused", placed, refused);
	cr_assert_geq(placed, 75, "most kills land between events: %d of 150", placed);
}

/* A reader copying the records word by word while a thread writes them:
 * every copy reads, and each series is true or refused. */
struct racer {
	struct run r;
	_Atomic int stop;
};

static void *racer_write(void *arg)
{
	struct racer *x = arg;
	for (uint64_t i = 0; i < 300000; i++) {
		struct series_event e = event_one(&x->r, i);
		add(slot, rec, &e);
	}
	atomic_store(&x->stop, 1);
	return NULL;
}

Test(series, a_reader_racing_the_writer_finds_true_or_refused_series)
{
	open_file(32);
	struct racer x = {.r = {.seed = 3, .nlocks = 2, .per = 3}};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, racer_write, &x), 0);
	size_t len = pfile_used(&file);
	uint64_t *copy = malloc(len);
	int placed = 0, k = 0;
	for (; !atomic_load(&x.stop); k++) {
		const volatile uint64_t *src = (const volatile uint64_t *)(void *)file.base;
		for (size_t i = 0; i < len / 8; i++)
			copy[i] = src[i];
		struct dump d;
		read_image(copy, len, &d);
		bool ok = d.series[0].state == DUMP_SERIES_PLACED;
		if (ok) {
			uint64_t n = 0;
			for (int v = 0; v < LC_NVIEWS; v++)
				n += d.slots[0].count[v];
			assert_cells(&d, &x.r, n, true);
		}
		placed += ok;
		dump_free(&d);
	}
	pthread_join(th, NULL);
	free(copy);
	cr_log_info("racing reader: %d of %d copies placed", placed, k);
}

/* ---- the reader's grid and windows (symbolize/timeline.c) ------------- */

#include "timeline.h"

/* A dump whose one placed series holds entries at the given (level,
 * interval) places, 1 ms wide at level 0, each one WAIT event of lock
 * 0x1000, delay its index + 1. */
static void timeline_dump(struct dump *d, struct dump_series *s, struct dump_series_entry *e,
                          const uint8_t (*place)[2], size_t n)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		uint64_t w = WIDTH << place[i][0];
		e[i] = (struct dump_series_entry){.start_ns = w * place[i][1],
		                                  .end_ns = w * (place[i][1] + 1),
		                                  .lock = 0x1000,
		                                  .count = 1,
		                                  .delay_ns = i + 1,
		                                  .level = place[i][0]};
	}
	*s = (struct dump_series){.interval_ns = WIDTH, .entries = e, .n = n,
	                          .state = DUMP_SERIES_PLACED};
	d->series = s;
	d->nseries = 1;
}

/* Entries at two levels (a record caught growing coarser, or two slots):
 * the grid's cell is the widest entry, no entry is split, every event is
 * in one cell; a window grows until no entry crosses its ends. */
Test(timeline, the_grid_and_windows_never_split_an_entry)
{
	static const uint8_t place[][2] = {{0, 0}, {0, 1}, {1, 1}, {0, 5}, {2, 2}};
	struct dump d;
	struct dump_series s;
	struct dump_series_entry e[5];
	timeline_dump(&d, &s, e, place, 5);
	struct timeline t;
	cr_assert_eq(timeline_build(&t, &d), 0);
	cr_assert_eq(t.width_ns, 4 * WIDTH);
	cr_assert_eq(t.ncells, 3, "to the end of the last entry, [8, 12) ms");
	uint64_t in_cell[3] = {0};
	for (size_t i = 0; i < t.n; i++)
		in_cell[t.cells[i].cell] += t.cells[i].delay_ns;
	cr_assert(in_cell[0] == 1 + 2 + 3 && in_cell[1] == 4 && in_cell[2] == 5);
	timeline_free(&t);
	uint64_t from = 1 * WIDTH, to = 3 * WIDTH; /* [1, 3) ms: crosses [2, 4) */
	cr_assert(timeline_widen(&d, &from, &to));
	cr_assert_eq(from, 1 * WIDTH);
	cr_assert_eq(to, 4 * WIDTH);
	from = 9 * WIDTH, to = 10 * WIDTH; /* inside [8, 12) */
	cr_assert(timeline_widen(&d, &from, &to));
	cr_assert(from == 8 * WIDTH && to == 12 * WIDTH);
	from = 5 * WIDTH, to = 6 * WIDTH; /* exactly an entry */
	cr_assert(!timeline_widen(&d, &from, &to));
	struct timeline_sum *sum;
	size_t n;
	cr_assert_eq(timeline_sums(&d, 1 * WIDTH, 4 * WIDTH, &sum, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert(sum[0].count == 2 && sum[0].delay_ns == 2 + 3, "[1, 2) and [2, 4) ms");
	free(sum);
}

/* --from, --to, --stuck and top's --interval: one parser (duration.h). */
Test(duration, times_on_the_command_line)
{
	uint64_t ns;
	cr_assert(duration_parse("90s", &ns) == 0 && ns == 90000000000ull);
	cr_assert(duration_parse("1.5m", &ns) == 0 && ns == 90000000000ull);
	cr_assert(duration_parse("250ms", &ns) == 0 && ns == 250000000ull);
	cr_assert(duration_parse("0.3s", &ns) == 0 && ns == 300000000ull, "%llu",
	          (unsigned long long)ns);
	cr_assert(duration_parse("2", &ns) == 0 && ns == 2000000000ull);
	cr_assert(duration_parse("10us", &ns) == 0 && ns == 10000ull);
	cr_assert(duration_parse("1h", &ns) == 0 && ns == 3600000000000ull);
	const char *bad[] = {"", "s", "-1s", "+1s", " 1s", "1 s", "1sec", "nan", "inf", "1e30s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(duration_parse(bad[i], &ns) != 0, "'%s'", bad[i]);
}
