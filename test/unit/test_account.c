/*
 * test_account.c — the recorder's books (preload/account.c): every event
 * lands in exactly one place.
 *
 * A slot (its record in plain memory) and a real stack table in a small
 * arena.  Tests: thousands of random events — three views, stacks or none
 * (no frames, no room), a few stacks under a few locks so that stashes
 * evict and buckets repeat, timeouts, uncharged waiting, publishing
 * skipped at random (a thread that holds a mutex) and a table that fills
 * up — end, per view, with sum(buckets) + sum(lost) == slot totals == what
 * was generated, in count and delay, and per lock with its LOCK record's
 * uncharged waiting == what was settled on it; stacks=0 sends everything to
 * no_stacks and nothing to the table; the loser of the keep-one draw is
 * charged to its own view; reentrant and no-slot events reach totals and
 * their reason at once; a note is settled once only; and a signal handler
 * that jumps out of any step of that work, which the owner then repairs
 * (account_repair), leaves the books as exact as if it had not.  Every test
 * keeps a series too (series.h, 512 entries, 1000 ns intervals): per view
 * it adds up to the totals exactly (after a jump too: the log undoes it),
 * its entries without a stack are the losses that had none, and the stack
 * ids of the others are the buckets' (lc_stack_id, as a reader computes
 * it) or the losses that had one.
 */
#include <criterion/criterion.h>
#include <link.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "account.h"
#include "step.h"
#include "pfiletest.h"

static struct arena arena, lock_arena; /* the table's can be tiny */
static struct pfile file;
static struct stacktab tab;
static struct lockstate locks;
static struct account_books books;
static struct slot sl;
static struct lc_rec_slot pub;
#define SERIES_N 512
static uint32_t series_n = SERIES_N; /* the room books_open gives the series */
static struct {
	struct lc_rec_series r;
	struct lc_series_entry e[SERIES_N];
} series, series_image;

#define NLOCKS 3 /* the locks events are on: lock_at(0..2) */

static uintptr_t lock_at(int i)
{
	return 0x1000 + (uintptr_t)i * 64;
}

static size_t file_bytes = 16u << 20;

static void books_open(size_t arena_bytes)
{
	cr_assert_eq(arena_init(&arena, arena_bytes), 0);
	cr_assert_eq(arena_init(&lock_arena, 1u << 20), 0);
	pft_open(&file, file_bytes);
	cr_assert_eq(lockstate_init(&locks, &lock_arena, &file, 64), 0);
	cr_assert_eq(stacktab_init(&tab, &arena, &file, 64), 0);
	for (int i = 0; i < NLOCKS; i++)
		cr_assert_not_null(lockstate_get(&locks, lock_at(i), LC_KIND_MUTEX));
	books = (struct account_books){.tab = &tab, .locks = &locks, .stacks = true};
	memset(&sl, 0, sizeof(sl));
	memset(&pub, 0, sizeof(pub));
	memset(&series, 0, sizeof(series));
	series.r.interval_ns = 1000;
	series.r.nentries = series_n;
	sl.series_image = &series_image.r;
	sl.pub = &pub;
	sl.series = &series.r;
}

static void books_close(void)
{
	if (arena.base)
		munmap(arena.base, arena.size);
	if (lock_arena.base)
		munmap(lock_arena.base, lock_arena.size);
	memset(&arena, 0, sizeof(arena));
	memset(&lock_arena, 0, sizeof(lock_arena));
	pft_close(&file);
}

TestSuite(account, .fini = books_close);

/* A jump out of the books' work (jumpy_run, below) at step jump_at; -1:
 * none. */
static jmp_buf jump_env;
static long jump_at = -1, steps;

/* What the test generated, per view, and per lock and view. */
struct truth {
	uint64_t count[LC_NVIEWS], delay[LC_NVIEWS];
	uint64_t timeouts, uncharged;
	uint64_t lock_count[NLOCKS][LC_NVIEWS], lock_delay[NLOCKS][LC_NVIEWS];
	uint64_t lock_uncharged[NLOCKS];
	uint64_t lock_no_cell[NLOCKS][2]; /* count, ns of the waits that found no cell */
};

struct sums {
	uint64_t count[LC_NVIEWS], delay[LC_NVIEWS];
	uint64_t lock_count[NLOCKS][LC_NVIEWS], lock_delay[NLOCKS][LC_NVIEWS];
	uint64_t buckets;
};

static int lock_index(uintptr_t lock)
{
	for (int i = 0; i < NLOCKS; i++)
		if (lock_at(i) == lock)
			return i;
	return -1;
}

static void sum_bucket(const struct stackbucket *b, void *ctx)
{
	struct sums *s = ctx;
	int v = b->pub->view, l = lock_index(b->pub->lock);
	s->count[v] += stackbucket_count(b);
	s->delay[v] += stackbucket_delay(b);
	if (l >= 0) {
		s->lock_count[l][v] += stackbucket_count(b);
		s->lock_delay[l][v] += stackbucket_delay(b);
	}
	s->buckets++;
}

static void truth_add(struct truth *t, const struct account_event *e);

/* Note one event with n frames (from one of four stacks) and settle it. */
static void event_add(struct truth *t, const struct account_event *e, uint32_t n, int stack,
                      bool stacks, uint64_t *rng)
{
	uintptr_t *spare = stash_spare(&sl.stash[e->key.view]);
	for (uint32_t i = 0; i < n; i++)
		spare[i] = 0x400000 + (uintptr_t)stack * 0x1000 + i * 8;
	account_note(&sl, e, n);
	books.stacks = stacks;
	account_settle(&sl, &books, rng);
	t->count[e->key.view] += e->count;
	t->delay[e->key.view] += e->delay_ns;
	int l = lock_index(e->key.lock);
	if (l >= 0) {
		t->lock_count[l][e->key.view] += e->count;
		t->lock_delay[l][e->key.view] += e->delay_ns;
		t->lock_uncharged[l] += e->uncharged_ns;
		t->lock_no_cell[l][0] += e->no_cell ? e->count : 0;
		t->lock_no_cell[l][1] += e->no_cell ? e->uncharged_ns : 0;
	}
	t->uncharged += e->uncharged_ns;
	if (e->key.flags & LC_BUCKET_TIMEDOUT)
		t->timeouts += e->count;
}

static struct account_event event_random(uint64_t *rng)
{
	uint64_t r = stash_rand(rng);
	struct account_event e = {
	    .key = {.lock = lock_at((int)(r % NLOCKS)), .view = (uint8_t)(r >> 8) % LC_NVIEWS},
	    .count = 1 + (r >> 12) % 100,
	    .delay_ns = 1 + (r >> 20) % 1000000,
	};
	e.max_ns = e.delay_ns;
	static uint64_t now; /* events end in time order, as a thread's do */
	e.when_ns = now += stash_rand(rng) % 100;
	if ((r >> 40) % 5 == 0 && e.key.view == LC_VIEW_WAIT)
		e.key.flags |= LC_BUCKET_TIMEDOUT;
	if (e.key.view == LC_VIEW_WAIT)
		e.uncharged_ns = (r >> 44) % 1000;
	/* a wait that found no waiter cell: all of it uncharged (3.12) */
	if (e.key.view == LC_VIEW_WAIT && (r >> 54) % 4 == 0) {
		e.no_cell = true;
		e.uncharged_ns = e.delay_ns;
	}
	return e;
}

/* Per lock and view: its buckets + its LOCK_LOST record == truth; and its
 * uncharged waiting (its LOCK record's and its LOCK_UNCHARGED's, 3.11),
 * and of it the waits that found no cell (its LOCK_NO_CELL, 3.12), counted
 * as the events were settled. */
static void lock_books_check(const struct truth *t, const struct sums *s)
{
	for (int l = 0; l < NLOCKS; l++) {
		struct lockent *e = lockstate_find(&locks, lock_at(l));
		const struct lockstate_lost *w = atomic_load(&e->lost);
		const struct lc_rec_lock_lost *r = w->rec;
		const struct lc_rec_lock *rec = atomic_load(&e->pub);
		uint64_t unch = rec->uncharged_ns + w->unch->uncharged_ns;
		cr_assert_eq(unch, t->lock_uncharged[l],
		             "lock %d: uncharged %lu in its records, %lu settled (jumped out at step %ld)",
		             l, (unsigned long)unch, (unsigned long)t->lock_uncharged[l], jump_at);
		cr_assert(w->no_cell->count == t->lock_no_cell[l][0] &&
		              w->no_cell->delay_ns == t->lock_no_cell[l][1],
		          "lock %d: no cell %lu waits %lu ns in its record, %lu %lu settled "
		          "(jumped out at step %ld)",
		          l, (unsigned long)w->no_cell->count, (unsigned long)w->no_cell->delay_ns,
		          (unsigned long)t->lock_no_cell[l][0], (unsigned long)t->lock_no_cell[l][1],
		          jump_at);
		cr_assert_leq(w->no_cell->delay_ns, unch, "lock %d: no cell more than uncharged", l);
		for (int v = 0; v < LC_NVIEWS; v++) {
			uint64_t lc = 0, ld = 0;
			for (int k = 0; r && k < LC_LOST_NREASONS; k++) {
				lc += r->lost[v][k].count;
				ld += r->lost[v][k].delay_ns;
			}
			cr_assert_eq(
			    s->lock_count[l][v] + lc, t->lock_count[l][v],
			    "lock %d view %d: buckets %lu + lost %lu != %lu (jumped out at "
			    "step %ld)",
			    l, v, (unsigned long)s->lock_count[l][v], (unsigned long)lc,
			    (unsigned long)t->lock_count[l][v], jump_at);
			cr_assert_eq(s->lock_delay[l][v] + ld, t->lock_delay[l][v],
			             "lock %d view %d: delay not conserved", l, v);
		}
	}
}

/* What the series holds of one view: in all, with no stack, and under the
 * stack id of each bucket. */
struct series_sums {
	uint64_t count, delay, nostack_count, nostack_delay, stack_count;
	int view;
	bool short_of_bucket; /* a bucket with more than its id holds */
};

static uint64_t series_of(int view, uint64_t lock, uint64_t id)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < series.r.used; i++)
		if (series.e[i].view == view && series.e[i].lock == lock &&
		    series.e[i].stack == id && !(series.e[i].flags & LC_SERIES_OTHER))
			n += series.e[i].count;
	return n;
}

static void series_bucket(const struct stackbucket *b, void *ctx)
{
	struct series_sums *s = ctx;
	const struct lc_rec_bucket *r = b->pub;
	if (r->view != s->view)
		return;
	uint64_t id =
	    lc_stack_id((const uint64_t *)(r + 1), r->nframes, r->kind, r->flags, r->epoch);
	s->short_of_bucket |= series_of(r->view, r->lock, id) < stackbucket_count(b);
}

static void series_check(int v)
{
	struct series_sums s = {.view = v};
	bool folded = false;
	cr_assert_leq(series.r.used, series.r.nentries);
	for (uint32_t i = 0; i < series.r.used; i++) {
		const struct lc_series_entry *e = &series.e[i];
		if (e->view != v)
			continue;
		s.count += e->count;
		s.delay += e->delay_ns;
		if (!e->stack) {
			s.nostack_count += e->count;
			s.nostack_delay += e->delay_ns;
		}
		folded |= (e->flags & LC_SERIES_OTHER) != 0;
	}
	cr_assert_eq(s.count, pub.count[v],
	             "view %d: series %lu, totals %lu (jumped out at step %ld)", v,
	             (unsigned long)s.count, (unsigned long)pub.count[v], jump_at);
	cr_assert_eq(s.delay, pub.delay_ns[v], "view %d: series delay (jumped out at step %ld)", v,
	             jump_at);
	cr_assert(!folded || series.r.nentries < SERIES_N, "three locks fit: no OTHER");
	if (folded)
		return; /* OTHER entries have no stack to tell */
	uint64_t lc = 0, ld = 0;
	for (int r = 0; r < LC_LOST_NREASONS; r++)
		if (r != LC_LOST_EVICTED && r != LC_LOST_ARENA_FULL) {
			lc += pub.lost[v][r].count;
			ld += pub.lost[v][r].delay_ns;
		}
	cr_assert_eq(s.nostack_count, lc, "view %d: series without a stack %lu, lost so %lu", v,
	             (unsigned long)s.nostack_count, (unsigned long)lc);
	cr_assert_eq(s.nostack_delay, ld, "view %d", v);
	stacktab_foreach(&tab, series_bucket, &s);
	cr_assert(!s.short_of_bucket, "view %d: a bucket's stack id is not the series'", v);
}

/* Per view: buckets + lost == totals == truth == the series. */
static void books_check(const struct truth *t)
{
	struct sums s = {0};
	stacktab_foreach(&tab, sum_bucket, &s);
	for (int v = 0; v < LC_NVIEWS; v++)
		series_check(v);
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t lc = 0, ld = 0;
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			lc += pub.lost[v][r].count;
			ld += pub.lost[v][r].delay_ns;
		}
		cr_assert_eq(pub.count[v], t->count[v],
		             "view %d: totals %lu, generated %lu (jumped out at step %ld)", v,
		             (unsigned long)pub.count[v], (unsigned long)t->count[v], jump_at);
		cr_assert_eq(pub.delay_ns[v], t->delay[v], "view %d: delay", v);
		cr_assert_eq(s.count[v] + lc, pub.count[v],
		             "view %d: buckets %lu + lost %lu != %lu (jumped out at step %ld)", v,
		             (unsigned long)s.count[v], (unsigned long)lc,
		             (unsigned long)pub.count[v], jump_at);
		cr_assert_eq(s.delay[v] + ld, pub.delay_ns[v], "view %d: delay not conserved", v);
	}
	cr_assert_eq(pub.timeouts, t->timeouts);
	cr_assert_eq(pub.uncharged_ns, t->uncharged);
	lock_books_check(t, &s);
}

static void random_run(bool stacks, int n, struct truth *t)
{
	uint64_t rng = 12345;
	for (int i = 0; i < n; i++) {
		struct account_event e = event_random(&rng);
		uint64_t r = stash_rand(&rng);
		uint32_t frames = r % 7 == 0 ? 0 : 1 + (uint32_t)(r >> 8) % 4;
		if (!frames && (r >> 16) % 2)
			e.key.flags |= EVENT_NO_ROOM;
		event_add(t, &e, frames, (int)(r >> 24) % 4, stacks, &rng);
		if ((r >> 32) % 2) /* published before the next event, or not yet */
			account_publish(&sl, &books);
	}
	account_publish_all(&sl, &books, &rng);
	cr_assert(!account_stashed(&sl), "every stash is empty at the end");
}

Test(account, every_event_lands_in_exactly_one_place)
{
	books_open(1u << 20);
	struct truth t = {0};
	random_run(true, 20000, &t);
	books_check(&t);
	cr_assert_gt(pub.lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 0, "stashes evicted");
	cr_assert_gt(pub.lost[LC_VIEW_WAIT][LC_LOST_NO_STACK].count, 0);
	cr_assert_gt(pub.lost[LC_VIEW_HOLD][LC_LOST_NO_ROOM].count, 0);
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_ARENA_FULL].count, 0, "room for every stack");
}

Test(account, a_full_table_sends_new_stacks_to_arena_full)
{
	books_open(4096); /* the chain heads and hardly a bucket more */
	struct truth t = {0};
	random_run(true, 5000, &t);
	books_check(&t);
	uint64_t full = 0;
	for (int v = 0; v < LC_NVIEWS; v++)
		full += pub.lost[v][LC_LOST_ARENA_FULL].count;
	cr_assert_gt(full, 0, "the table refused stacks");
	cr_assert_gt(atomic_load(&tab.refused), 0);
}

Test(account, without_stacks_everything_goes_to_no_stacks)
{
	books_open(1u << 20);
	struct truth t = {0};
	random_run(false, 2000, &t);
	books_check(&t);
	cr_assert_eq(atomic_load(&tab.nbuckets), 0, "no bucket without stacks");
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert_eq(pub.lost[v][LC_LOST_NO_STACKS].count, t.count[v], "view %d", v);
}

/* Each view has a stash of its own: a wait and a hold settled with no
 * publish in between both stay (a thread's waits and its charged unlocks
 * alternate); two stacks of one view compete, and the loser is charged to
 * its own view and lock. */
Test(account, only_one_views_stacks_compete_and_the_loser_is_its_own)
{
	books_open(1u << 20);
	struct truth t = {0};
	uint64_t rng = 7;
	struct account_event small = {.key = {.lock = lock_at(0), .view = LC_VIEW_WAIT},
	                              .count = 1,
	                              .delay_ns = 1,
	                              .max_ns = 1};
	struct account_event big = {.key = {.lock = lock_at(1), .view = LC_VIEW_HOLD},
	                            .count = 3,
	                            .delay_ns = 1000000000,
	                            .max_ns = 1000000000};
	event_add(&t, &small, 2, 0, true, &rng);
	event_add(&t, &big, 2, 1, true, &rng);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert_eq(pub.lost[v][LC_LOST_EVICTED].count, 0, "view %d: nothing lost", v);
	cr_assert(stash_full(&sl.stash[LC_VIEW_WAIT]) && stash_full(&sl.stash[LC_VIEW_HOLD]));
	struct account_event other = big;
	other.key.lock = lock_at(2);
	event_add(&t, &other, 2, 2, true, &rng);
	uint64_t eh = pub.lost[LC_VIEW_HOLD][LC_LOST_EVICTED].count;
	cr_assert_eq(eh, 3, "one of the two holds lost: %lu", (unsigned long)eh);
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 0, "no wait lost");
	/* and to its own lock: books_check's per-lock sums say so */
	account_publish_all(&sl, &books, &rng);
	books_check(&t);
}

/* Note event e (frames of stack `stack`) as the recorder does: the
 * thread's publish before it, at its start (account_publish_due). */
static void event_due(struct truth *t, const struct account_event *e, int stack, uint64_t *rng)
{
	(void)account_publish_due(&sl, &books, rng, false, e->when_ns);
	uintptr_t *spare = stash_spare(&sl.stash[e->key.view]);
	for (uint32_t i = 0; i < 2; i++)
		spare[i] = 0x400000 + (uintptr_t)stack * 0x1000 + i * 8;
	account_note(&sl, e, 2);
	truth_add(t, e);
}

static uint64_t bucket_total(void)
{
	struct sums s = {0};
	stacktab_foreach(&tab, sum_bucket, &s);
	return s.count[LC_VIEW_WAIT] + s.count[LC_VIEW_HOLDER] + s.count[LC_VIEW_HOLD];
}

/* A thread that repeats one wait adds it up in its stash: the table takes
 * it when the bound has passed since the view's last publish, or when
 * another stack comes; events further apart than the bound go at once;
 * nothing is lost, and all of it is in the table at the end. */
Test(account, a_repeated_event_adds_up_and_goes_once_a_bound)
{
	books_open(1u << 20);
	struct truth t = {0};
	uint64_t rng = 3, step = ACCOUNT_COALESCE_NS / 100, start = 5 * ACCOUNT_COALESCE_NS;
	struct stash *st = &sl.stash[LC_VIEW_WAIT];
	struct account_event e = {.key = {.lock = lock_at(0), .view = LC_VIEW_WAIT},
	                          .count = 1,
	                          .delay_ns = 10,
	                          .max_ns = 10};
	for (int i = 0; i < 150; i++) {
		e.when_ns = start + (uint64_t)i * step;
		event_due(&t, &e, 0, &rng);
	}
	/* The first went at once; the next 100 added up until the publish
	 * before the 102nd found a bound passed since; the rest wait. */
	cr_assert_eq(bucket_total(), 101, "in the table: %lu", (unsigned long)bucket_total());
	cr_assert_eq(atomic_load(&tab.nbuckets), 1);
	cr_assert_eq(st->count, 48);
	e.when_ns += step;
	event_due(&t, &e, 1, &rng); /* the 150th joins the stash */
	cr_assert_eq(bucket_total(), 101);
	cr_assert_eq(st->count, 49);
	e.when_ns += step;
	event_due(&t, &e, 1, &rng); /* another stack: the stash goes first */
	cr_assert_eq(bucket_total(), 150, "in the table: %lu", (unsigned long)bucket_total());
	cr_assert_eq(st->count, 1);
	for (int i = 0; i < 5; i++) { /* a bound apart: each goes at the next */
		e.when_ns += ACCOUNT_COALESCE_NS;
		event_due(&t, &e, 1, &rng);
		cr_assert_eq(bucket_total(), 152 + (uint64_t)i);
	}
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 0);
	account_publish_all(&sl, &books, &rng); /* the exit */
	cr_assert_eq(bucket_total(), 157);
	books_check(&t);
}

Test(account, reentrant_and_slotless_events_reach_totals_and_their_reason)
{
	books_open(1u << 20);
	struct account_event re = {
	    .key = {.view = LC_VIEW_WAIT}, .count = 2, .delay_ns = 500, .uncharged_ns = 500};
	struct account_event ns = {.key = {.view = LC_VIEW_HOLDER}, .count = 5, .delay_ns = 70};
	struct account_event to = {
	    .key = {.lock = lock_at(1), .view = LC_VIEW_WAIT, .flags = LC_BUCKET_TIMEDOUT},
	    .count = 4,
	    .delay_ns = 9,
	    .uncharged_ns = 9};
	account_lost_event(&sl, &books, &re, LC_LOST_REENTRANT);
	account_lost_event(&sl, &books, &ns, LC_LOST_NO_SLOT);
	account_lost_event(&sl, &books, &to, LC_LOST_NO_SLOT);
	struct truth t = {.count = {[LC_VIEW_WAIT] = 6, [LC_VIEW_HOLDER] = 5},
	                  .delay = {[LC_VIEW_WAIT] = 509, [LC_VIEW_HOLDER] = 70},
	                  .timeouts = 4,
	                  .uncharged = 509};
	t.lock_count[1][LC_VIEW_WAIT] = 4;
	t.lock_delay[1][LC_VIEW_WAIT] = 9;
	t.lock_uncharged[1] = 9; /* a slotless wait's uncharged part reaches its lock */
	books_check(&t);
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_REENTRANT].delay_ns, 500);
	cr_assert_eq(pub.lost[LC_VIEW_HOLDER][LC_LOST_NO_SLOT].count, 5);
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_NO_SLOT].count, 4);
}

Test(account, a_note_is_settled_once)
{
	books_open(1u << 20);
	uint64_t rng = 3;
	struct account_event e = {
	    .key = {.lock = 9, .view = LC_VIEW_WAIT}, .count = 1, .delay_ns = 10, .max_ns = 10};
	account_note(&sl, &e, 0);
	account_settle(&sl, &books, &rng);
	account_settle(&sl, &books, &rng); /* the dumper after the owner */
	account_publish_all(&sl, &books, &rng);
	struct truth t = {.count = {[LC_VIEW_WAIT] = 1}, .delay = {[LC_VIEW_WAIT] = 10}};
	books_check(&t);
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_NO_STACK].count, 1);
}

/* A thread that holds a mutex at every event (nested waits) publishes
 * before each next one: no event is lost to the draw. */
Test(account, a_lock_holder_publishes_and_loses_nothing)
{
	books_open(1u << 20);
	struct truth t = {0};
	uint64_t rng = 11;
	for (int i = 0; i < 5000; i++) {
		struct account_event e = event_random(&rng);
		uint64_t r = stash_rand(&rng);
		uintptr_t *spare = stash_spare(&sl.stash[e.key.view]);
		for (uint32_t k = 0; k < 3; k++)
			spare[k] = 0x400000 + (r % 4) * 0x1000 + k * 8;
		cr_assert(!account_publish_held(&sl, &books, &rng), "nothing stays");
		account_note(&sl, &e, 3);
		t.count[e.key.view] += e.count;
		t.delay[e.key.view] += e.delay_ns;
		t.uncharged += e.uncharged_ns;
		t.timeouts += e.key.flags & LC_BUCKET_TIMEDOUT ? e.count : 0;
		int l = lock_index(e.key.lock);
		t.lock_count[l][e.key.view] += e.count;
		t.lock_delay[l][e.key.view] += e.delay_ns;
		t.lock_uncharged[l] += e.uncharged_ns;
		t.lock_no_cell[l][0] += e.no_cell ? e.count : 0;
		t.lock_no_cell[l][1] += e.no_cell ? e.uncharged_ns : 0;
	}
	account_publish_held(&sl, &books, &rng);
	books_check(&t);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert_eq(pub.lost[v][LC_LOST_EVICTED].count, 0, "view %d lost to the draw", v);
}

/* An object at [0x400000, 0x500000), which the map finds only once it is
 * "loaded": the stacks of event_add are all in it. */
static bool fake_loaded;

static int fake_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg)
{
	static const ElfW(Phdr)
	    ph = {.p_type = PT_LOAD, .p_vaddr = 0, .p_memsz = 0x100000, .p_filesz = 0x100000};
	struct dl_phdr_info info = {.dlpi_addr = 0x400000,
	                            .dlpi_name = "/fake/libfake.so",
	                            .dlpi_phdr = &ph,
	                            .dlpi_phnum = 1};
	return fake_loaded ? cb(&info, sizeof(info), arg) : 0;
}

/* A holder's stash that waited for an unknown object is published as soon
 * as the map knows it, before the next event is settled: the two never
 * compete for the one place. */
Test(account, a_stash_the_map_learns_is_published_before_the_next_event)
{
	books_open(1u << 20);
	struct modmap map;
	_Atomic uint32_t epoch = 0;
	cr_assert_eq(modmap_init(&map, fake_iterate, &arena, &file, &epoch, "/fake/exe"), 0);
	books.map = &map;
	struct truth t = {0};
	uint64_t rng = 9;
	struct account_event a = {.key = {.lock = lock_at(0), .view = LC_VIEW_WAIT},
	                          .count = 1,
	                          .delay_ns = 100,
	                          .max_ns = 100};
	struct account_event b = a;
	b.key.lock = lock_at(1);
	fake_loaded = false;
	event_add(&t, &a, 2, 0, true, &rng);
	cr_assert(account_publish_held(&sl, &books, &rng), "unknown yet: it stays");
	fake_loaded = true;
	cr_assert(modmap_refresh(&map));
	struct stash *st = &sl.stash[LC_VIEW_WAIT];
	cr_assert(modmap_covers(&map, stash_frames(st), st->nframes));
	uintptr_t *spare = stash_spare(st);
	for (uint32_t i = 0; i < 2; i++)
		spare[i] = 0x400000 + 0x1000 + i * 8;
	account_note(&sl, &b, 2); /* noted, not yet settled */
	t.count[LC_VIEW_WAIT] += 1;
	t.delay[LC_VIEW_WAIT] += 100;
	t.lock_count[1][LC_VIEW_WAIT] += 1;
	t.lock_delay[1][LC_VIEW_WAIT] += 100;
	cr_assert(!account_publish_held(&sl, &books, &rng), "both published");
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 0, "none lost to the draw");
	cr_assert_eq(atomic_load(&tab.nbuckets), 2);
	books_check(&t);
	fake_loaded = false;
}

/* A stack into an object the map does not know must not be published by
 * a lock holder (its MODULE record would come after its BUCKET): it stays
 * in the stash, and only there can the draw lose an event. */
Test(account, a_lock_holder_keeps_a_stack_the_map_does_not_know)
{
	books_open(1u << 20);
	struct modmap map;
	_Atomic uint32_t epoch = 0;
	cr_assert_eq(modmap_init(&map, NULL, &arena, &file, &epoch, ""), 0); /* knows nothing */
	books.map = &map;
	struct truth t = {0};
	uint64_t rng = 5;
	struct account_event a = {.key = {.lock = lock_at(0), .view = LC_VIEW_WAIT},
	                          .count = 1,
	                          .delay_ns = 100,
	                          .max_ns = 100};
	struct account_event b = a;
	b.key.lock = lock_at(1);
	event_add(&t, &a, 2, 0, true, &rng);
	cr_assert(account_publish_held(&sl, &books, &rng), "the unknown stack stays");
	cr_assert_eq(atomic_load(&tab.nbuckets), 0, "and is not in the table");
	event_add(&t, &b, 2, 1, true, &rng); /* two stacks for one place: one loses */
	cr_assert_eq(pub.lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 1);
	books.map = NULL;
	account_publish_all(&sl, &books, &rng);
	books_check(&t);
}

/* ---- a signal handler that jumps out of the books' work ---- */

/* lc_step_hook counts the steps of the work and, at step `jump_at`,
 * jumps out of it as a handler's siglongjmp would: back into the test,
 * which then does what the recorder does after such a jump. */

static void jump_out(void)
{
	if (steps++ == jump_at)
		longjmp(jump_env, 1);
}

/* Contention inside our own work, as the thread's running sums, and
 * what the books took of them. */
static uint64_t reent_count, reent_delay, reent_taken[2];

/* What a thread does in its slot, any step of which may be jumped out of:
 * op 0 publish (as a thread holding nothing, or a mutex), 1 settle the
 * noted event, 2 a slotless event, 3 take the reentrant sums, 4 the
 * thread's own publish at due_now (account_publish_due).  After a
 * jump the owner repairs the books before it leaves the slot
 * (recorder_repair); the event of op 2 was the recorder's, gone with its
 * frame, unless the books took it. */
static uint64_t due_now;

static void slot_work(int op, bool held, const struct account_event *e, uint64_t *rng)
{
	if (setjmp(jump_env) == 0) {
		if (op == 4)
			(void)account_publish_due(&sl, &books, rng, held, due_now);
		else if (op == 0 && held)
			account_publish_held(&sl, &books, rng);
		else if (op == 0)
			account_publish_all(&sl, &books, rng);
		else if (op == 1)
			account_settle(&sl, &books, rng);
		else if (op == 2)
			account_lost_event(&sl, &books, e, LC_LOST_NO_SLOT);
		else
			account_deferred(&sl, &books, LC_LOST_REENTRANT, reent_count, reent_delay,
			                 reent_taken, 0);
	} else {
		account_repair(&sl, &books);
	}
}

static void truth_add(struct truth *t, const struct account_event *e)
{
	t->count[e->key.view] += e->count;
	t->delay[e->key.view] += e->delay_ns;
	t->uncharged += e->uncharged_ns;
	t->timeouts += e->key.flags & LC_BUCKET_TIMEDOUT ? e->count : 0;
	int l = lock_index(e->key.lock);
	if (l >= 0) {
		t->lock_count[l][e->key.view] += e->count;
		t->lock_delay[l][e->key.view] += e->delay_ns;
		t->lock_uncharged[l] += e->uncharged_ns;
		t->lock_no_cell[l][0] += e->no_cell ? e->count : 0;
		t->lock_no_cell[l][1] += e->no_cell ? e->uncharged_ns : 0;
	}
}

/* n events as a recorder makes them (publish what is pending, note the
 * next event once the last one is settled, now and then a slotless or
 * reentrant one), jumping out at step jump_at; the total of steps in
 * *nsteps. */
static void jumpy_run(int n, struct truth *t, long *nsteps)
{
	uint64_t rng = 99, clock = 0;
	steps = 0;
	reent_count = reent_delay = reent_taken[0] = reent_taken[1] = 0;
	lc_step_hook = jump_out;
	for (int i = 0; i < n; i++) {
		struct account_event e = event_random(&rng);
		uint64_t r = stash_rand(&rng);
		/* the thread's own publish (coalescing: events 50 ns apart,
		 * one in 8 a bound after the last), or an exit's; the same
		 * times in every run, which must take the same steps */
		clock += (r >> 50) % 8 ? 50 : ACCOUNT_COALESCE_NS;
		due_now = clock;
		slot_work((r >> 47) % 4 ? 4 : 0, (r >> 4) % 3 == 0, NULL, &rng);
		if ((r >> 6) % 8 == 0 && (r >> 9) % 2) {
			truth_add(t, &e);
			slot_work(2, false, &e, &rng);
			continue;
		}
		if ((r >> 6) % 8 == 0) { /* reentrant: no lock, no stack, all uncharged */
			e.key = (struct event_key){.view = LC_VIEW_WAIT};
			e.uncharged_ns = e.delay_ns;
			truth_add(t, &e);
			reent_count += e.count;
			reent_delay += e.delay_ns;
			slot_work(3, false, NULL, &rng);
			continue;
		}
		if (account_noted(&sl, e.key.view)) /* recorder_note: settle a leftover first */
			slot_work(1, false, NULL, &rng);
		uint32_t frames = r % 5 == 0 ? 0 : 1 + (uint32_t)(r >> 8) % 3;
		uintptr_t *spare = stash_spare(&sl.stash[e.key.view]);
		for (uint32_t k = 0; k < frames; k++)
			spare[k] = 0x400000 + (r >> 16) % 6 * 0x1000 + k * 8;
		account_note(&sl, &e, frames);
		truth_add(t, &e);
		if ((r >> 12) % 2)
			slot_work(1, false, NULL, &rng);
	}
	lc_step_hook = NULL;
	account_deferred(&sl, &books, LC_LOST_REENTRANT, reent_count, reent_delay, reent_taken,
	                 0); /* at its exit */
	account_publish_all(&sl, &books, &rng);
	*nsteps = steps;
}

/* Every step of the work, jumped out of in turn (a run each), in a table
 * with room and in one that fills up.  Before account_repair put the
 * books right, a jump between a settle's totals and its stash counted the
 * event twice in the totals, and one between a publish's add and the
 * stash's clear twice in a bucket (hostile siglongjmp_at_any_moment, 3 in
 * 50 runs under ASan and load). */
#define JUMPY_EVENTS 120

static void jump_at_every_step(size_t arena_bytes)
{
	long total = 0;
	struct truth t = {0};
	file_bytes = 4u << 20; /* a run for each step: small files are quick */
	books_open(arena_bytes);
	jump_at = -1;
	jumpy_run(JUMPY_EVENTS, &t, &total);
	books_check(&t);
	books_close();
	cr_assert_gt(total, JUMPY_EVENTS, "steps seen: %ld", total);
	for (jump_at = 0; jump_at < total; jump_at++) {
		long n;
		memset(&t, 0, sizeof(t));
		books_open(arena_bytes);
		jumpy_run(JUMPY_EVENTS, &t, &n);
		cr_assert_gt(steps, jump_at, "the jump at step %ld was made", jump_at);
		books_check(&t);
		books_close();
	}
}

Test(account, a_jump_out_of_any_step_leaves_the_books_exact)
{
	jump_at_every_step(1u << 20);
}

Test(account, a_jump_out_of_any_step_of_a_full_table_leaves_the_books_exact)
{
	jump_at_every_step(4096);
}

/* A series with room for 8 entries makes room (and folds) again and again:
 * a jump out of any step of that leaves it adding up to the totals (the
 * log's copy of the whole record puts it back). */
Test(account, a_jump_out_of_any_step_of_a_full_series_leaves_it_exact)
{
	series_n = 8;
	jump_at_every_step(1u << 20);
	series_n = SERIES_N;
}

/* A stack into an object the map does not know yet (taken while the
 * thread held a lock: no refresh then), settled by a thread that holds
 * nothing, is published at once, not coalesced: the publish says the map
 * needs a refresh, which the recorder makes.  Coalesced, it waited for the
 * bound, and the thread's next event with another stack, made while it
 * held a mutex, could not send it (account_publish_known): one of the two
 * was charged to EVICTED (found by a review, which wrote this test).  As
 * the recorder calls it: the publish at the start of each event settles
 * the one noted before. */
Test(account, a_stack_stashed_unheld_does_not_lose_the_draw_to_a_held_event)
{
	books_open(1u << 20);
	struct modmap map;
	_Atomic uint32_t epoch = 0;
	fake_loaded = false;
	cr_assert_eq(modmap_init(&map, fake_iterate, &arena, &file, &epoch, "/fake/exe"), 0);
	books.map = &map;
	struct truth t = {0};
	uint64_t rng = 11, t0 = 5 * ACCOUNT_COALESCE_NS, ms = 1000 * 1000;
	struct account_event e = {.key = {.lock = lock_at(0), .view = LC_VIEW_WAIT},
	                          .count = 1,
	                          .delay_ns = 100,
	                          .max_ns = 100};
	uintptr_t *spare;
	for (int i = 0; i < 3; i++) { /* events A, B, C: stacks 0, 1, 2 */
		/* the start of event i: holds nothing */
		(void)account_publish_due(&sl, &books, &rng, false, t0 + (uint64_t)i * ms);
		e.when_ns = t0 + (uint64_t)i * ms + 1;
		e.key.lock = lock_at(i);
		spare = stash_spare(&sl.stash[LC_VIEW_WAIT]);
		for (uint32_t k = 0; k < 2; k++)
			spare[k] = 0x400000 + (uintptr_t)i * 0x1000 + k * 8;
		account_note(&sl, &e, 2);
		truth_add(&t, &e);
	}
	/* the start of event D, nested in a critical section */
	(void)account_publish_due(&sl, &books, &rng, true, t0 + 3 * ms);
	uint64_t lost = pub.lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count;
	books.map = NULL;
	account_publish_all(&sl, &books, &rng);
	books_check(&t);
	cr_assert_eq(lost, 0, "%lu lost to the draw", (unsigned long)lost);
}
