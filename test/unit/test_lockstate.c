/*
 * test_lockstate.c — the per-lock table and the holder view's clocks
 * (preload/lockstate.c).
 *
 * Tests: get makes one entry per address (the same for the same address,
 * the kind of the first call kept) and find sees only what get made; a
 * tiny table refuses the lock that finds no room (NULL, refused counted)
 * while known locks are still found; init fails on an arena too small.
 *
 * The clocks: a registered waiter holds a cell with its start, an unlock
 * at T charges T - s for every cell with 0 < s < T and moves it to T, and
 * a departure gives the cell back and returns what no charge counted.
 * With a fake clock, exact numbers: one waiter (arrive 100, charge at 250
 * -> 150, depart at 260 -> 10, the cell free again); three waiters (charges
 * 265 then 150, the uncharged rests at their departures); a charge whose
 * time is before a waiter's start (an unlock that read its clock before
 * the waiter registered, or before a later charge) charges it nothing; a
 * charge made between a waiter's t0 and its registration is not charged
 * to it (its cell holds its registration time; the recorder counts the gap
 * itself); a full entry (LOCKSTATE_CELLS waiters) refuses the next waiter
 * with 0 and changes nothing, and a freed cell is taken again; leave gives
 * a cell back counting nothing.  A seeded random walk of arrivals (past a
 * full entry), charges (some with a stale time), departures and leaves on
 * several locks, checked at every step against a model (each charge, each
 * uncharged rest, every cell's content, every filter counter), with
 *     sum(charges) + sum(uncharged) == sum(t1 - start) + charged-then-left
 * per lock at the end and every cell free.  The filter counts the
 * registered waiters of its hash exactly: up on arrive, down on depart and
 * leave, not moved by a charge or a refused arrival.
 * Threads (the assertions are exact whatever the interleaving): chargers
 * racing over one full entry, each with its own fixed clock, charge every
 * stretch once (each cell ends at max(start, latest charge), and the
 * charges add up to exactly that); four threads arriving (more waiters
 * than cells between them), charging and departing on one entry with a
 * shared counter as clock keep
 *     sum(charges) + sum(uncharged) == sum(t1 - start)
 * exactly, and leave every cell and the filter at 0.
 *
 * lockstate_name keeps the first stack only and its module epoch, cut at
 * LC_LOCK_FIRST_FRAMES, one whole stack (with its own epoch) when threads
 * race; lockstate_reset forgets everything (a new entry gets a new record
 * and free cells).
 * The LOCK records (format 3.0, in a profile file: pfiletest.h): get makes
 * one, published, with the address, the first call's kind, zero counters
 * and room for every first frame; lockstate_count adds to its own counter
 * only, exactly from four threads; lockstate_count_used counts the entries
 * with a record; a file with no room keeps the entry (the holder view
 * works) without one, and counting, naming or its losses do nothing, while
 * a lock with a LOCK record always has its LOCK_LOST (losses go to their
 * own lock, view and reason); a reader
 * spinning on a record's nframes sees the frames and their epoch when it
 * sees nframes.  A stuck LOCK_LOST claim makes a second record; a settled
 * wait's uncharged waiting reaches its LOCK record once, under the same
 * claim (the second one's when the first is stuck), aside while the record
 * is not there; a loss on an entry whose maker has not made its records
 * yet waits for them.
 *
 * The filter is a global array: each Criterion test runs in its own
 * process, and every test starts from lockstate_init on a fresh arena.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lockstate.h"
#include "pfiletest.h"
#include "step.h"

static struct arena arena;
static struct pfile file;
static struct lockstate ls;

/* nent entries carved from an arena of arena_bytes; records in a file of
 * at most file_cap bytes. */
static void ls_make_in(size_t arena_bytes, size_t file_cap, uint64_t nent)
{
	cr_assert_eq(arena_init(&arena, arena_bytes), 0, "arena_init(%zu)", arena_bytes);
	pft_open(&file, file_cap);
	cr_assert_eq(lockstate_init(&ls, &arena, &file, nent), 0, "lockstate_init(%llu)",
	             (unsigned long long)nent);
}

static void ls_make(size_t arena_bytes, uint64_t nent)
{
	ls_make_in(arena_bytes, 4u << 20, nent);
}

static void ls_unmap(void)
{
	if (arena.base)
		munmap(arena.base, arena.size);
	memset(&arena, 0, sizeof(arena));
	pft_close(&file);
}

/* The entry's LOCK record and its frames (NULL if it has none). */
static struct lockrec *rec(const struct lockent *e)
{
	return (struct lockrec *)atomic_load(&((struct lockent *)e)->pub);
}

static uint64_t lock_records(void)
{
	return pft_walk_file(&file, NULL, NULL).by_type[LC_REC_LOCK];
}

/* A lock's uncharged waiting as a reader adds it up: its LOCK record's
 * and every LOCK_UNCHARGED's of its address (3.11). */
struct unch_sum {
	uintptr_t addr;
	uint64_t ns;
};

static void unch_visit(const struct pft_rec *r, void *ctx)
{
	struct unch_sum *u = ctx;
	const struct lc_rec_lock_uncharged *l = r->payload;
	if (r->type == LC_REC_LOCK_UNCHARGED && l->addr == u->addr)
		u->ns += l->uncharged_ns;
}

static uint64_t lock_uncharged(const struct lockent *e)
{
	struct unch_sum u = {.addr = atomic_load(&e->addr), .ns = rec(e)->r.uncharged_ns};
	pft_walk_file(&file, unch_visit, &u);
	return u.ns;
}

/* Its waits that found no cell, as a reader adds them up: every
 * LOCK_NO_CELL of its address (3.12). */
struct no_cell_sum {
	uintptr_t addr;
	uint64_t count, ns;
};

static void no_cell_visit(const struct pft_rec *r, void *ctx)
{
	struct no_cell_sum *u = ctx;
	const struct lc_rec_lock_no_cell *l = r->payload;
	if (r->type == LC_REC_LOCK_NO_CELL && l->addr == u->addr) {
		u->count += l->count;
		u->ns += l->delay_ns;
	}
}

static struct no_cell_sum lock_no_cell(const struct lockent *e)
{
	struct no_cell_sum u = {.addr = atomic_load(&e->addr)};
	pft_walk_file(&file, no_cell_visit, &u);
	return u;
}

TestSuite(lockstate, .fini = ls_unmap);

/* The fake clock lockstate_charge and lockstate_depart read. */
static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	return fake_now;
}

static uint64_t charge_at(struct lockent *e, uint64_t t)
{
	fake_now = t;
	return lockstate_charge(e, fake_clock);
}

/* The waiter in `cell` leaves at t: the end it reads is t, and what it
 * returns is its uncharged rest. */
static uint64_t depart_at(struct lockent *e, int cell, uint64_t t)
{
	uint64_t t1 = 0;
	fake_now = t;
	uint64_t u = lockstate_depart(e, cell, fake_clock, &t1);
	cr_assert_eq(t1, t, "depart read %llu from a clock at %llu", (unsigned long long)t1,
	             (unsigned long long)t);
	return u;
}

/* What cell 1..LOCKSTATE_CELLS holds (a start, 0 when free). */
static uint64_t cell_at(const struct lockent *e, int cell)
{
	return atomic_load(&((struct lockent *)e)->cell[cell - 1]);
}

static void assert_cells_free(const struct lockent *e)
{
	for (int c = 1; c <= LOCKSTATE_CELLS; c++)
		cr_assert_eq(cell_at(e, c), 0, "cell %d still holds %llu", c,
		             (unsigned long long)cell_at(e, c));
}

/* The filter counter of lock's hash. */
static uint32_t filter_of(uintptr_t lock)
{
	return atomic_load(&lockstate_filter[lockstate_filter_index(lock)]);
}

/* A waiter registered at start: a cell in range, holding start. */
static int arrive_ok(struct lockent *e, uint64_t start)
{
	int c = lockstate_arrive(e, start);
	cr_assert(c >= 1 && c <= LOCKSTATE_CELLS, "arrive at %llu: cell %d",
	          (unsigned long long)start, c);
	cr_assert_eq(cell_at(e, c), start, "cell %d holds %llu, not the start %llu", c,
	             (unsigned long long)cell_at(e, c), (unsigned long long)start);
	return c;
}

/* n lock addresses whose filter counters are all different, so that
 * maybe_waited of one says nothing about the others. */
static void distinct_locks(uintptr_t *out, int n)
{
	bool used[LOCKSTATE_FILTER] = {false};
	uintptr_t a = 0x7f3a12345000u;
	for (int i = 0; i < n; a += 0x40) {
		uint32_t f = lockstate_filter_index(a);
		if (!used[f]) {
			used[f] = true;
			out[i++] = a;
		}
	}
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- the table ------------------------------------------------------- */

struct visit {
	int n;
	uintptr_t addr[16];
};

static void visit_entry(const struct lockent *e, void *arg)
{
	struct visit *v = arg;
	if (v->n < 16)
		v->addr[v->n] = atomic_load(&e->addr);
	v->n++;
}

static bool visited(const struct visit *v, uintptr_t a)
{
	for (int i = 0; i < v->n && i < 16; i++)
		if (v->addr[i] == a)
			return true;
	return false;
}

Test(lockstate, get_and_find_one_entry_per_address)
{
	uintptr_t l[3];
	distinct_locks(l, 3);
	ls_make(1 << 20, 64);
	cr_assert_null(lockstate_find(&ls, l[0]), "found a lock never contended");
	struct lockent *a = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	cr_assert_not_null(a);
	cr_assert_eq(atomic_load(&a->addr), l[0]);
	cr_assert_eq(lockstate_get(&ls, l[0], LC_KIND_WRLOCK), a, "a second entry for one lock");
	cr_assert_eq(rec(a)->r.kind, LC_KIND_MUTEX, "kind %u: not the first call's",
	             rec(a)->r.kind);
	cr_assert_eq(lockstate_find(&ls, l[0]), a);
	cr_assert_null(lockstate_find(&ls, l[1]));
	struct lockent *b = lockstate_get(&ls, l[1], LC_KIND_RDLOCK);
	cr_assert_not_null(b);
	cr_assert_neq(b, a, "two locks share an entry");
	cr_assert_eq(rec(b)->r.kind, LC_KIND_RDLOCK);
	cr_assert_eq(lockstate_find(&ls, l[1]), b);
	cr_assert_eq(lockstate_find(&ls, l[0]), a);
	cr_assert_null(lockstate_find(&ls, l[2]));
	cr_assert_eq(atomic_load(&ls.refused), 0);
	struct visit v = {0};
	lockstate_foreach(&ls, visit_entry, &v);
	cr_assert_eq(v.n, 2, "foreach visited %d entries", v.n);
	cr_assert(visited(&v, l[0]) && visited(&v, l[1]));
}

/* Four entries carved from a one-page arena: the fifth lock is refused. */
Test(lockstate, tiny_table_full_refuses_and_counts)
{
	uintptr_t l[8];
	distinct_locks(l, 8);
	ls_make(4096, 4);
	struct lockent *e[4];
	for (int i = 0; i < 4; i++) {
		e[i] = lockstate_get(&ls, l[i], LC_KIND_MUTEX);
		cr_assert_not_null(e[i], "lock %d of 4 refused", i);
		for (int j = 0; j < i; j++)
			cr_assert_neq(e[i], e[j]);
	}
	for (int i = 4; i < 8; i++) {
		cr_assert_null(lockstate_get(&ls, l[i], LC_KIND_MUTEX), "lock %d got an entry", i);
		cr_assert_eq(atomic_load(&ls.refused), (uint64_t)(i - 3));
		cr_assert_null(lockstate_find(&ls, l[i]));
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(lockstate_get(&ls, l[i], LC_KIND_SPIN), e[i], "known lock %d lost", i);
		cr_assert_eq(lockstate_find(&ls, l[i]), e[i]);
	}
	cr_assert_eq(atomic_load(&ls.refused), 4, "a known lock was counted refused");
}

Test(lockstate, init_fails_on_a_small_arena)
{
	cr_assert_eq(arena_init(&arena, 4096), 0);
	pft_open(&file, 4u << 20);
	cr_assert_eq(lockstate_init(&ls, &arena, &file, 1024), -1, "1024 entries in 4 KB");
}

/* ---- the LOCK records ------------------------------------------------------ */

/* What a reader of the file needs of a lock is its record, made with the
 * entry: published, whole (room for every first frame), zero counters. */
Test(lockstate, get_makes_one_published_lock_record)
{
	uintptr_t l[3];
	distinct_locks(l, 3);
	ls_make(1 << 20, 64);
	cr_assert_null(lockstate_find(&ls, l[0]));
	cr_assert_eq(lock_records(), 0, "find made a record");
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_RDLOCK);
	struct lockrec *r = rec(e);
	cr_assert_not_null(r, "no record for a new entry");
	cr_assert(pfile_contains(&file, r));
	const struct lc_rec_head *h = (const struct lc_rec_head *)r - 1;
	cr_assert_eq(h->type, LC_REC_LOCK, "record type %u", h->type);
	cr_assert_eq(h->size, sizeof(struct lockrec), "no room for the first frames");
	cr_assert_eq(r->r.addr, l[0]);
	cr_assert_eq(r->r.kind, LC_KIND_RDLOCK);
	cr_assert(r->r.trylock_failures == 0 && r->r.timeouts == 0 && r->r.uncharged_ns == 0 &&
	          r->r.nframes == 0 && r->r.epoch == 0 && r->r.reserved == 0);
	cr_assert_eq(lockstate_get(&ls, l[0], LC_KIND_SPIN), e);
	cr_assert_eq(rec(e), r, "a second get made another record");
	cr_assert_eq(r->r.kind, LC_KIND_RDLOCK, "a second get changed the kind");
	lockstate_get(&ls, l[1], LC_KIND_WRLOCK);
	cr_assert_eq(lock_records(), 2);
	cr_assert_eq(lockstate_count_used(&ls), 2);
	const struct lc_rec_lock *second = pft_nth(&file, LC_REC_LOCK, 1);
	cr_assert(second && second->addr == l[1] && second->kind == LC_KIND_WRLOCK);
}

/* Each counter goes to its own field of the record, and adds. */
Test(lockstate, count_adds_to_one_counter_of_the_record)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	struct lc_rec_lock *r = &rec(e)->r;
	lockstate_count(e, LOCKSTATE_TRYLOCK_FAILURES, 3);
	cr_assert(r->trylock_failures == 3 && r->timeouts == 0 && r->uncharged_ns == 0);
	lockstate_count(e, LOCKSTATE_TIMEOUTS, 5);
	cr_assert(r->trylock_failures == 3 && r->timeouts == 5 && r->uncharged_ns == 0);
	lockstate_count(e, LOCKSTATE_UNCHARGED_NS, 700);
	lockstate_count(e, LOCKSTATE_TRYLOCK_FAILURES, 1);
	lockstate_count(e, LOCKSTATE_UNCHARGED_NS, 1);
	cr_assert_eq(r->trylock_failures, 4);
	cr_assert_eq(r->timeouts, 5);
	cr_assert_eq(r->uncharged_ns, 701);
	cr_assert(r->addr == l && r->nframes == 0, "a counter spilled into another field");
}

#define COUNT_THREADS 4
#define COUNT_ITERS 200000

static void *count_run(void *arg)
{
	struct lockent *e = arg;
	for (int i = 0; i < COUNT_ITERS; i++) {
		lockstate_count(e, LOCKSTATE_TRYLOCK_FAILURES, 1);
		lockstate_count(e, LOCKSTATE_UNCHARGED_NS, 3);
	}
	return NULL;
}

/* Counters are added by any thread, with no lock. */
Test(lockstate, counts_from_threads_add_exactly, .timeout = 30)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	pthread_t th[COUNT_THREADS];
	for (int t = 0; t < COUNT_THREADS; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, count_run, e), 0);
	for (int t = 0; t < COUNT_THREADS; t++)
		pthread_join(th[t], NULL);
	cr_assert_eq(rec(e)->r.trylock_failures, (uint64_t)COUNT_THREADS * COUNT_ITERS);
	cr_assert_eq(rec(e)->r.uncharged_ns, 3ull * COUNT_THREADS * COUNT_ITERS);
}

/* No room in the file: the entry is made (the holder view still works),
 * without a record; counting, naming it and its losses are harmless
 * no-ops.  A lock with a LOCK record always has its LOCK_LOST. */
Test(lockstate, no_room_for_a_record_keeps_the_entry_without_one)
{
	uintptr_t l[3];
	distinct_locks(l, 3);
	/* room for the header and one lock's four records (and the closing
	 * records' reserve) */
	ls_make_in(1 << 20,
	           PFILE_RESERVE + 16 + 8 + sizeof(struct lc_rec_lock_lost) + 8 +
	               sizeof(struct lc_rec_lock_uncharged) + 8 +
	               sizeof(struct lc_rec_lock_no_cell) + 8 + sizeof(struct lockrec),
	           64);
	struct lockent *a = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	struct lockent *b = lockstate_get(&ls, l[1], LC_KIND_MUTEX);
	cr_assert_not_null(rec(a));
	cr_assert_not_null(atomic_load(&a->lost), "a LOCK record without its LOCK_LOST");
	cr_assert_not_null(b, "a lock the file had no room for got no entry");
	cr_assert_null(rec(b));
	cr_assert_null(atomic_load(&b->lost));
	lockstate_lost(&ls, l[1], LC_VIEW_WAIT, LC_LOST_EVICTED, 1, 10);
	lockstate_lost(&ls, l[0], LC_VIEW_HOLDER, LC_LOST_NO_SLOT, 2, 20);
	cr_assert_eq(atomic_load(&a->lost)->rec->lost[LC_VIEW_HOLDER][LC_LOST_NO_SLOT].delay_ns,
	             20);
	cr_assert_eq(atomic_load(&a->lost)->rec->lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 0,
	             "another lock's loss was counted");
	cr_assert_eq(lockstate_find(&ls, l[1]), b);
	lockstate_count(b, LOCKSTATE_TIMEOUTS, 1);
	lockstate_name(b, l, 2, 1);
	int c = arrive_ok(b, 10);
	cr_assert_eq(charge_at(b, 30), 20, "the holder view needs no record");
	cr_assert_eq(depart_at(b, c, 30), 0);
	cr_assert_eq(lockstate_count_used(&ls), 1, "an entry without a record was counted");
	cr_assert_eq(lock_records(), 1);
	cr_assert_eq(rec(a)->r.timeouts, 0, "another lock's record was counted");
}

/* The first frames and their epoch are stored before nframes, which
 * publishes them: a reader of the live file that sees nframes sees that
 * many frames, and their epoch.  The writer names NAMED entries one after
 * the other, each once the reader is spinning on its record's nframes; the
 * reader then reads the frames and the epoch.  (With nframes stored
 * first, 20 runs of 20 failed on a 2-CPU machine.) */
#define NAMED 50000

static struct lockent *named[NAMED];
static _Atomic int named_at = -1; /* the entry the reader spins on */

static void *name_follow(void *arg)
{
	volatile int *bad = arg;
	for (int k = 0; k < NAMED && *bad < 0; k++) {
		struct lockrec *r = rec(named[k]);
		atomic_store(&named_at, k);
		const _Atomic uint32_t *n = (const _Atomic uint32_t *)&r->r.nframes;
		uint32_t got;
		for (unsigned spins = 0;
		     (got = atomic_load_explicit(n, memory_order_acquire)) == 0;)
			if (++spins % (1u << 16) == 0)
				sched_yield(); /* fewer CPUs than threads */
		for (uint32_t i = 0; i < got; i++)
			if (r->first[i] != 0x900000 + (uint64_t)k * 16 + i)
				*bad = k;
		if (r->r.epoch != (uint32_t)k + 1)
			*bad = k;
	}
	return NULL;
}

Test(lockstate, first_frames_are_published_by_nframes, .timeout = 60)
{
	ls_make_in(65536 * sizeof(struct lockent) + (2 << 20), 32 << 20, 65536);
	for (int k = 0; k < NAMED; k++) {
		named[k] = lockstate_get(&ls, 0x7f0000000000 + (uintptr_t)k * 64, LC_KIND_MUTEX);
		cr_assert(named[k] && rec(named[k]), "lock %d: no entry or no record", k);
	}
	volatile int bad = -1;
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, name_follow, (void *)&bad), 0);
	uintptr_t pcs[LC_LOCK_FIRST_FRAMES];
	for (int k = 0; k < NAMED && bad < 0; k++) {
		for (uint32_t i = 0; i < LC_LOCK_FIRST_FRAMES; i++)
			pcs[i] = 0x900000 + (uintptr_t)k * 16 + i;
		for (unsigned spins = 0; atomic_load(&named_at) < k && bad < 0;)
			if (++spins % (1u << 16) == 0)
				sched_yield();
		lockstate_name(named[k], pcs, LC_LOCK_FIRST_FRAMES, (uint32_t)k + 1);
	}
	pthread_join(th, NULL);
	cr_assert_eq(bad, -1, "lock %d: nframes was seen before its frames or epoch", bad);
}

/* ---- the holder view's clocks ------------------------------------------ */

Test(lockstate, one_waiter_charge_then_uncharged_rest)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	cr_assert_eq(charge_at(e, 50), 0, "charged with nobody waiting");
	int c = arrive_ok(e, 100);
	cr_assert_eq(charge_at(e, 250), 150);
	cr_assert_eq(cell_at(e, c), 250, "the charge did not move the waiter on to its time");
	cr_assert_eq(charge_at(e, 250), 0, "100..250 charged twice");
	cr_assert_eq(depart_at(e, c, 260), 10);
	assert_cells_free(e);
	cr_assert_eq(charge_at(e, 300), 0, "charged after the waiter left");
}

Test(lockstate, three_waiters_two_charges)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	int a = arrive_ok(e, 5);
	int b = arrive_ok(e, 10);
	int c = arrive_ok(e, 20);
	cr_assert(a != b && b != c && a != c, "two waiters in one cell: %d %d %d", a, b, c);
	cr_assert_eq(charge_at(e, 100), 95 + 90 + 80);
	cr_assert_eq(charge_at(e, 150), 3 * 50, "the second charge counted time charged before");
	uint64_t u = depart_at(e, b, 155);
	u += depart_at(e, a, 160);
	u += depart_at(e, c, 175);
	cr_assert_eq(u, 5 + 10 + 25);
	/* 265 + 150 + 40 == (160 - 5) + (155 - 10) + (175 - 20) */
	cr_assert_eq(265 + 150 + u, 155 + 145 + 155);
	assert_cells_free(e);
}

/* An unlock reads its clock, then goes over the cells: a waiter whose
 * start is after that time (it registered in between, or another unlock
 * charged it up to a later time first) is none of its business. */
Test(lockstate, a_charge_before_a_waiters_start_charges_it_nothing)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	int a = arrive_ok(e, 100);
	int b = arrive_ok(e, 200);
	cr_assert_eq(charge_at(e, 150), 50, "B, waiting from 200, was charged at 150");
	cr_assert(cell_at(e, a) == 150 && cell_at(e, b) == 200, "cells %llu %llu",
	          (unsigned long long)cell_at(e, a), (unsigned long long)cell_at(e, b));
	cr_assert_eq(charge_at(e, 120), 0, "a stale charge counted 120..150 or 120..200");
	cr_assert(cell_at(e, a) == 150 && cell_at(e, b) == 200, "a stale charge moved a cell back");
	cr_assert_eq(charge_at(e, 200), 50, "B's start is no waiting");
	cr_assert_eq(charge_at(e, 250), 50 + 50);
	uint64_t u = depart_at(e, a, 260) + depart_at(e, b, 270);
	cr_assert_eq(u, 10 + 20);
	/* 50 + 50 + 100 + 30 == (260 - 100) + (270 - 200) */
	cr_assert_eq(50 + 50 + 100 + u, 160 + 70);
}

/* A waiter that read its t0 before an unlock's charge but registered after
 * it (recorder_begin reads t0, gets the entry, then reads the start it
 * registers with).  Its cell holds the registration time, so neither that
 * charge nor a slower unlock whose clock read predates the registration
 * counts any of it; the gap start - t0 is the recorder's to count as
 * uncharged, and the waiter's charges and uncharged add up to t1 - t0. */
Test(lockstate, a_charge_between_t0_and_registration_is_not_the_waiters)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	int a = arrive_ok(e, 2);           /* A */
	uint64_t b_t0 = 5;                 /* B is about to wait */
	cr_assert_eq(charge_at(e, 10), 8); /* an unlock: A only */
	int b = arrive_ok(e, 12);          /* B registers */
	cr_assert_eq(charge_at(e, 10), 0, "an unlock that read 10 charged B, registered at 12");
	uint64_t b_rest = depart_at(e, b, 15);
	cr_assert_eq(b_rest, 3, "B's 12..15 was charged to nobody");
	cr_assert_eq((12 - b_t0) + b_rest, 15 - b_t0, "B's gap plus its rest is not its wait");
	cr_assert_eq(charge_at(e, 20), 10, "only A waited 10..20");
	cr_assert_eq(depart_at(e, a, 20), 0);
	assert_cells_free(e);
	cr_assert_eq(filter_of(l), 0);
}

/* Every cell taken: the next waiter is not registered (arrive says 0) and
 * nothing changes: not a cell, not the filter, not the next charge.  Its
 * whole wait is the recorder's to count as uncharged.  A cell given back
 * is the free one the next waiter gets. */
Test(lockstate, a_full_entry_refuses_the_next_waiter_and_changes_nothing)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	int cell[LOCKSTATE_CELLS];
	bool taken[LOCKSTATE_CELLS + 1] = {false};
	uint64_t want = 0;
	for (int i = 0; i < LOCKSTATE_CELLS; i++) {
		cell[i] = arrive_ok(e, 100 + (uint64_t)i);
		cr_assert(!taken[cell[i]], "waiter %d got cell %d, taken already", i, cell[i]);
		taken[cell[i]] = true;
		want += 200 - (100 + (uint64_t)i);
	}
	cr_assert_eq(filter_of(l), LOCKSTATE_CELLS);
	uint64_t before[LOCKSTATE_CELLS + 1];
	for (int c = 1; c <= LOCKSTATE_CELLS; c++)
		before[c] = cell_at(e, c);
	cr_assert_eq(lockstate_arrive(e, 50), 0, "waiter %d of %d got a cell", LOCKSTATE_CELLS + 1,
	             LOCKSTATE_CELLS);
	for (int c = 1; c <= LOCKSTATE_CELLS; c++)
		cr_assert_eq(cell_at(e, c), before[c], "a refused waiter changed cell %d", c);
	cr_assert_eq(filter_of(l), LOCKSTATE_CELLS, "a refused waiter was counted in the filter");
	/* a waiter from 50 would have added 150 */
	uint64_t got = charge_at(e, 200);
	cr_assert_eq(got, want, "charged %llu, the %d registered waited %llu",
	             (unsigned long long)got, LOCKSTATE_CELLS, (unsigned long long)want);
	cr_assert_eq(depart_at(e, cell[5], 210), 10);
	cr_assert_eq(filter_of(l), LOCKSTATE_CELLS - 1);
	cr_assert_eq(lockstate_arrive(e, 220), cell[5], "not the one free cell");
	cr_assert_eq(cell_at(e, cell[5]), 220);
	cr_assert_eq(lockstate_arrive(e, 230), 0, "full again, yet a cell");
	cr_assert_eq(charge_at(e, 240), (LOCKSTATE_CELLS - 1) * 40 + 20);
	for (int i = 0; i < LOCKSTATE_CELLS; i++)
		cr_assert_eq(depart_at(e, cell[i], 250), 10);
	assert_cells_free(e);
	cr_assert_eq(filter_of(l), 0);
}

/* leave: a waiter whose wait is not recorded after all gives its cell
 * back; what was charged to it stays charged, nothing is returned, and
 * later charges do not count it. */
Test(lockstate, leave_gives_the_cell_back_counting_nothing)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	int a = arrive_ok(e, 100);
	int b = arrive_ok(e, 100);
	cr_assert_eq(charge_at(e, 150), 100);
	lockstate_leave(e, a);
	cr_assert_eq(cell_at(e, a), 0, "the cell was not given back");
	cr_assert_eq(cell_at(e, b), 150, "another waiter's cell moved");
	cr_assert_eq(filter_of(l), 1);
	cr_assert_eq(charge_at(e, 200), 50, "the waiter that left was charged");
	/* the cell is free: filling the entry takes it */
	bool got_a = false;
	int more[LOCKSTATE_CELLS - 1];
	for (int i = 0; i < LOCKSTATE_CELLS - 1; i++) {
		more[i] = arrive_ok(e, 300);
		got_a |= more[i] == a;
	}
	cr_assert(got_a, "the entry is full and cell %d was never given out again", a);
	cr_assert_eq(lockstate_arrive(e, 300), 0);
	cr_assert_eq(charge_at(e, 400), 200 + (LOCKSTATE_CELLS - 1) * 100);
	for (int i = 0; i < LOCKSTATE_CELLS - 1; i++)
		lockstate_leave(e, more[i]);
	cr_assert_eq(filter_of(l), 1);
	cr_assert_eq(charge_at(e, 450), 50, "the waiters that left were charged");
	cr_assert_eq(depart_at(e, b, 460), 10);
	assert_cells_free(e);
	cr_assert_eq(filter_of(l), 0);
	cr_assert_eq(charge_at(e, 500), 0);
}

/* The filter counts the waiters registered on the locks of its hash: up
 * on arrive, down on depart and leave; a charge or a refused arrival does
 * not move it.  Another hash's counter never moves; a lock sharing the
 * hash sees the other's waiters (maybe_waited is a "maybe"). */
Test(lockstate, filter_goes_up_and_down_with_the_registered_waiters)
{
	uintptr_t l[2];
	distinct_locks(l, 2);
	uintptr_t twin = l[0] + 0x40;
	while (lockstate_filter_index(twin) != lockstate_filter_index(l[0]))
		twin += 0x40;
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	cr_assert(!lockstate_maybe_waited(l[0]), "set before anyone waited");
	int a = arrive_ok(e, 10);
	cr_assert(lockstate_maybe_waited(l[0]));
	cr_assert_eq(filter_of(l[0]), 1);
	cr_assert(!lockstate_maybe_waited(l[1]), "another lock's counter moved");
	int b = arrive_ok(e, 20);
	cr_assert_eq(filter_of(l[0]), 2);
	charge_at(e, 30);
	cr_assert_eq(filter_of(l[0]), 2, "a charge moved the filter");
	cr_assert_eq(depart_at(e, a, 40), 10);
	cr_assert_eq(filter_of(l[0]), 1, "a departure did not take its waiter out");
	cr_assert(lockstate_maybe_waited(l[0]), "cleared with a waiter still there");
	int c = arrive_ok(e, 45);
	cr_assert_eq(filter_of(l[0]), 2);
	lockstate_leave(e, c);
	cr_assert_eq(filter_of(l[0]), 1, "leave did not take its waiter out");
	cr_assert_eq(depart_at(e, b, 50), 20);
	cr_assert(!lockstate_maybe_waited(l[0]), "still set after the last waiter left");
	cr_assert_eq(filter_of(l[0]), 0);
	/* a full entry, and one more that is refused */
	int cell[LOCKSTATE_CELLS];
	for (int i = 0; i < LOCKSTATE_CELLS; i++) {
		cell[i] = arrive_ok(e, 60);
		cr_assert_eq(filter_of(l[0]), (uint32_t)i + 1);
	}
	cr_assert_eq(lockstate_arrive(e, 60), 0);
	cr_assert_eq(filter_of(l[0]), LOCKSTATE_CELLS, "a refused waiter moved the filter");
	for (int i = 0; i < LOCKSTATE_CELLS; i++)
		lockstate_leave(e, cell[i]);
	cr_assert_eq(filter_of(l[0]), 0);
	/* a lock sharing the hash */
	struct lockent *t = lockstate_get(&ls, twin, LC_KIND_MUTEX);
	cr_assert(t && t != e);
	int d = arrive_ok(t, 70);
	cr_assert(lockstate_maybe_waited(l[0]), "the hash's counter missed the twin's waiter");
	cr_assert_eq(filter_of(l[0]), 1);
	cr_assert_eq(charge_at(e, 80), 0, "a lock was charged for its twin's waiter");
	cr_assert_eq(depart_at(t, d, 90), 20);
	cr_assert(!lockstate_maybe_waited(l[0]) && !lockstate_maybe_waited(twin));
	cr_assert_eq(filter_of(l[1]), 0, "another lock's counter moved");
}

/* The model of one lock's waiters for the random walk. */
#define PLOCKS 5

struct pwaiter {
	int cell;
	uint64_t t0;    /* its registered start */
	uint64_t start; /* what its cell holds: t0, or the latest charge after t0 */
};

struct plock {
	uintptr_t addr;
	struct lockent *e;
	int n;
	struct pwaiter w[LOCKSTATE_CELLS];
	/* left: what was charged to waiters that then left */
	uint64_t charged, uncharged, waited, left;
};

enum { P_ARRIVE, P_REFUSED, P_CHARGE, P_STALE, P_DEPART, P_LEAVE, P_OPS };

/* An unlock at t (maybe a stale t, read before the latest charge or
 * arrival): each waiter that started before t waited since its start. */
static void walk_charge(struct plock *p, uint64_t t)
{
	uint64_t want = 0;
	for (int i = 0; i < p->n; i++)
		if (p->w[i].start < t) {
			want += t - p->w[i].start;
			p->w[i].start = t;
		}
	uint64_t got = charge_at(p->e, t);
	cr_assert_eq(got, want, "charge at %llu: %llu, the %d waiters waited %llu",
	             (unsigned long long)t, (unsigned long long)got, p->n,
	             (unsigned long long)want);
	p->charged += got;
}

static void walk_depart(struct plock *p, int i, uint64_t now)
{
	struct pwaiter w = p->w[i];
	uint64_t got = depart_at(p->e, w.cell, now);
	cr_assert_eq(got, now - w.start, "depart at %llu (t0 %llu, start %llu): %llu uncharged",
	             (unsigned long long)now, (unsigned long long)w.t0, (unsigned long long)w.start,
	             (unsigned long long)got);
	p->uncharged += got;
	p->waited += now - w.t0;
	p->w[i] = p->w[--p->n];
}

static void walk_arrive(struct plock *p, uint64_t now, int *ops)
{
	int c = lockstate_arrive(p->e, now);
	if (p->n == LOCKSTATE_CELLS) {
		cr_assert_eq(c, 0, "cell %d for waiter %d of %d", c, p->n + 1, LOCKSTATE_CELLS);
		ops[P_REFUSED]++;
		return;
	}
	cr_assert(c >= 1 && c <= LOCKSTATE_CELLS, "%d waiters: cell %d", p->n, c);
	for (int i = 0; i < p->n; i++)
		cr_assert_neq(p->w[i].cell, c, "cell %d given to two waiters", c);
	p->w[p->n++] = (struct pwaiter){c, now, now};
	ops[P_ARRIVE]++;
}

/* Every cell of every entry holds what the model says, and every filter
 * counter counts its lock's waiters (the locks' hashes differ). */
static void walk_check(const struct plock *p)
{
	for (int k = 0; k < PLOCKS; k++) {
		uint64_t want[LOCKSTATE_CELLS + 1] = {0};
		for (int i = 0; i < p[k].n; i++)
			want[p[k].w[i].cell] = p[k].w[i].start;
		for (int c = 1; c <= LOCKSTATE_CELLS; c++)
			cr_assert_eq(
			    cell_at(p[k].e, c), want[c], "lock %d cell %d: %llu, model %llu", k, c,
			    (unsigned long long)cell_at(p[k].e, c), (unsigned long long)want[c]);
		cr_assert_eq(filter_of(p[k].addr), (uint32_t)p[k].n,
		             "lock %d with %d waiters: filter %u", k, p[k].n, filter_of(p[k].addr));
		cr_assert_eq(lockstate_maybe_waited(p[k].addr), p[k].n > 0);
	}
}

/* Phases of 500 steps fill the entries (arrivals past full) then drain
 * them (down to empty), so both ends are walked. */
static void random_walk(uint64_t seed, int steps)
{
	struct plock p[PLOCKS];
	uintptr_t addr[PLOCKS];
	uint64_t now = 1000, rng = seed;
	int ops[P_OPS] = {0};
	memset(p, 0, sizeof(p));
	distinct_locks(addr, PLOCKS);
	for (int k = 0; k < PLOCKS; k++) {
		p[k].addr = addr[k];
		p[k].e = lockstate_get(&ls, addr[k], LC_KIND_MUTEX);
		cr_assert_not_null(p[k].e);
	}
	for (int s = 0; s < steps; s++) {
		now += xorshift(&rng) % 16; /* equal times too */
		struct plock *q = &p[xorshift(&rng) % PLOCKS];
		/* filling: arrive 6, charge 3, depart 2, leave 1 in 12;
		 * draining: arrive 1, charge 3, depart 6, leave 2 */
		bool fill = (s / 500) % 2 == 0;
		uint64_t r = xorshift(&rng) % 12;
		if (r < (fill ? 6u : 1u)) {
			walk_arrive(q, now, ops);
		} else if (r < (fill ? 9u : 4u)) {
			if (xorshift(&rng) % 4 == 0) {
				/* an unlock that read its clock a little while ago */
				walk_charge(q, now - xorshift(&rng) % 40);
				ops[P_STALE]++;
			} else {
				walk_charge(q, now);
				ops[P_CHARGE]++;
			}
		} else if (q->n == 0) {
			continue;
		} else if (r < (fill ? 11u : 10u)) {
			walk_depart(q, (int)(xorshift(&rng) % (uint64_t)q->n), now);
			ops[P_DEPART]++;
		} else {
			int i = (int)(xorshift(&rng) % (uint64_t)q->n);
			lockstate_leave(q->e, q->w[i].cell);
			q->left += q->w[i].start - q->w[i].t0;
			q->w[i] = q->w[--q->n];
			ops[P_LEAVE]++;
		}
		walk_check(p);
	}
	for (int k = 0; k < PLOCKS; k++) {
		now += 3;
		while (p[k].n)
			walk_depart(&p[k], 0, now);
		cr_assert_eq(p[k].charged + p[k].uncharged, p[k].waited + p[k].left,
		             "lock %d: charged %llu + uncharged %llu != waited %llu + left %llu", k,
		             (unsigned long long)p[k].charged, (unsigned long long)p[k].uncharged,
		             (unsigned long long)p[k].waited, (unsigned long long)p[k].left);
		assert_cells_free(p[k].e);
		cr_assert_gt(p[k].charged, 0);
		cr_assert_gt(p[k].uncharged, 0);
	}
	walk_check(p);
	for (int o = 0; o < P_OPS; o++)
		cr_assert_gt(ops[o], steps / 100, "op %d: %d times in %d steps", o, ops[o], steps);
}

Test(lockstate, random_walk_matches_the_model_and_conserves)
{
	static const uint64_t seeds[] = {1, 42, 0x9E3779B97F4A7C15ull, 0xDEADBEEFCAFEull};
	ls_make(1 << 20, 64);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		lockstate_reset(&ls);
		random_walk(seeds[i], 6000);
	}
}

/* ---- threads -------------------------------------------------------------- */

/* Chargers racing over one entry, all cells taken.  Each charger reads its
 * own fixed clock (RACE_TIMES readings a round, in no order), so whatever the
 * interleaving of their compare-and-swaps, each cell must end at
 * max(start, the latest of their times) and the charges of the round add
 * up to exactly that movement: a stretch charged twice (a charger writing
 * over another's move) makes the sum too big, or moves a cell back.  The
 * main thread is one of the chargers; the other spins on the round number,
 * so both go over the cells at the same moment.  (With the charge's
 * compare-and-swap made a plain store, 9 runs of 10 failed on a 2-CPU
 * machine.) */
#define RACE_ROUNDS 200000
#define RACE_TIMES 8

static struct lockent *race_ent;
static _Atomic int race_round;    /* -1: stop */
static _Atomic int race_finished; /* the helper's last round */
static uint64_t race_time[2][RACE_TIMES];
static uint64_t race_got[2];
static _Thread_local uint64_t race_now;

static uint64_t race_clock(void)
{
	return race_now;
}

static void race_charge(int k)
{
	uint64_t got = 0;
	for (int j = 0; j < RACE_TIMES; j++) {
		race_now = race_time[k][j];
		got += lockstate_charge(race_ent, race_clock);
	}
	race_got[k] = got;
}

static void *race_run(void *arg)
{
	(void)arg;
	for (int done = 0;;) {
		int r;
		for (unsigned spins = 0; (r = atomic_load(&race_round)) == done;)
			if (++spins % (1u << 12) == 0)
				sched_yield(); /* fewer CPUs than threads */
		if (r < 0)
			return NULL;
		race_charge(1);
		atomic_store(&race_finished, r);
		done = r;
	}
}

Test(lockstate, racing_chargers_never_charge_a_stretch_twice, .timeout = 60)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	race_ent = lockstate_get(&ls, l, LC_KIND_MUTEX);
	atomic_store(&race_round, 0);
	atomic_store(&race_finished, 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, race_run, NULL), 0);
	uint64_t rng = 0x5DEECE66Dull, charged = 0, uncharged = 0, waited = 0;
	for (int round = 1; round <= RACE_ROUNDS; round++) {
		uint64_t start[LOCKSTATE_CELLS], tmax = 0, want = 0;
		int cell[LOCKSTATE_CELLS];
		for (int i = 0; i < LOCKSTATE_CELLS; i++) {
			start[i] = 1000 + xorshift(&rng) % 100;
			cell[i] = lockstate_arrive(race_ent, start[i]);
		}
		for (int k = 0; k < 2; k++)
			for (int j = 0; j < RACE_TIMES; j++) {
				race_time[k][j] = 1000 + xorshift(&rng) % 120;
				if (race_time[k][j] > tmax)
					tmax = race_time[k][j];
			}
		atomic_store(&race_round, round);
		race_charge(0);
		for (unsigned spins = 0; atomic_load(&race_finished) != round;)
			if (++spins % (1u << 12) == 0)
				sched_yield();
		uint64_t got = race_got[0] + race_got[1];
		for (int i = 0; i < LOCKSTATE_CELLS; i++) {
			cr_assert(cell[i] >= 1 && cell[i] <= LOCKSTATE_CELLS, "round %d: cell %d",
			          round, cell[i]);
			uint64_t end = start[i] > tmax ? start[i] : tmax;
			cr_assert_eq(
			    cell_at(race_ent, cell[i]), end,
			    "round %d: a waiter from %llu, charges up to %llu: cell at %llu", round,
			    (unsigned long long)start[i], (unsigned long long)tmax,
			    (unsigned long long)cell_at(race_ent, cell[i]));
			want += end - start[i];
		}
		cr_assert_eq(got, want, "round %d: charged %llu + %llu, waited %llu", round,
		             (unsigned long long)race_got[0], (unsigned long long)race_got[1],
		             (unsigned long long)want);
		charged += got;
		for (int i = 0; i < LOCKSTATE_CELLS; i++) {
			uncharged += depart_at(race_ent, cell[i], 2000);
			waited += 2000 - start[i];
		}
	}
	atomic_store(&race_round, -1);
	pthread_join(th, NULL);
	cr_assert_eq(charged + uncharged, waited);
	assert_cells_free(race_ent);
	cr_assert_eq(filter_of(l), 0);
}

/* Four threads on one entry, the clock a shared counter that every read
 * advances.  Each thread keeps up to MT_OPEN waits open at once (more
 * waiters than cells between them, so some arrivals are refused), and at
 * random registers a waiter (start = a clock read, as the recorder does),
 * charges (an unlock), or lets one of its waiters depart.  A departure
 * reads its t1 after the last charge that moved its cell, so with every
 * charge and every uncharged rest added up
 *     sum(charges) + sum(uncharged) == sum(t1 - start)
 * exactly, whatever the interleaving: a stretch charged twice, a charge
 * lost, a cell handed to two waiters, or a t1 read before a charge that
 * still counted the waiter breaks it.  At the end every cell is free and
 * the filter is 0.  (On a 2-CPU machine, each of these failed every run
 * of 11: depart reading t1 once before its exchange, depart taking the
 * cell with a plain exchange after reading t1, arrive claiming a cell with
 * a load and a store, charge moving a cell with a plain store.) */
#define MT_THREADS 4
#define MT_OPEN 5
#define MT_ITERS 4000000

static _Atomic uint64_t mt_clock_ns;
static struct lockent *mt_ent;

static uint64_t mt_now(void)
{
	return atomic_fetch_add(&mt_clock_ns, 1);
}

struct mt_worker {
	int id;
	pthread_barrier_t *start;
	uint64_t charged, uncharged, waited;
	uint64_t registered, refused, bad; /* bad: a cell out of range, a t1 before its start */
};

struct mt_wait {
	int cell;
	uint64_t start;
};

static void mt_depart(struct mt_worker *w, struct mt_wait *open, int *n, int i)
{
	uint64_t t1;
	uint64_t u = lockstate_depart(mt_ent, open[i].cell, mt_now, &t1);
	w->bad += t1 < open[i].start || u > t1 - open[i].start;
	w->uncharged += u;
	w->waited += t1 - open[i].start;
	open[i] = open[--*n];
}

static void *mt_run(void *arg)
{
	struct mt_worker *w = arg;
	uint64_t rng = 0x2545F4914F6CDD1Dull * (uint64_t)(w->id + 1);
	struct mt_wait open[MT_OPEN];
	int n = 0;
	pthread_barrier_wait(w->start);
	for (int i = 0; i < MT_ITERS; i++) {
		uint64_t r = xorshift(&rng) % 8;
		if (r < 3 && n < MT_OPEN) {
			uint64_t start = mt_now();
			int c = lockstate_arrive(mt_ent, start);
			if (c == 0) {
				w->refused++; /* its whole wait would be uncharged */
			} else {
				w->bad += c < 0 || c > LOCKSTATE_CELLS;
				open[n++] = (struct mt_wait){c, start};
				w->registered++;
			}
		} else if (r < 5) {
			w->charged += lockstate_charge(mt_ent, mt_now); /* an unlock */
		} else if (n > 0) {
			mt_depart(w, open, &n, (int)(xorshift(&rng) % (uint64_t)n));
		}
		if (xorshift(&rng) % 64 == 0)
			sched_yield(); /* let the others charge these */
	}
	while (n)
		mt_depart(w, open, &n, 0);
	return NULL;
}

Test(lockstate, four_threads_on_one_entry_conserve, .timeout = 60)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	mt_ent = lockstate_get(&ls, l, LC_KIND_MUTEX);
	atomic_store(&mt_clock_ns, 1000);
	pthread_t th[MT_THREADS];
	struct mt_worker w[MT_THREADS];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, MT_THREADS);
	for (int t = 0; t < MT_THREADS; t++) {
		w[t] = (struct mt_worker){.id = t, .start = &start};
		cr_assert_eq(pthread_create(&th[t], NULL, mt_run, &w[t]), 0);
	}
	struct mt_worker all = {0};
	for (int t = 0; t < MT_THREADS; t++) {
		pthread_join(th[t], NULL);
		all.charged += w[t].charged;
		all.uncharged += w[t].uncharged;
		all.waited += w[t].waited;
		all.registered += w[t].registered;
		all.refused += w[t].refused;
		all.bad += w[t].bad;
	}
	pthread_barrier_destroy(&start);
	cr_assert_eq(all.bad, 0, "%llu cells out of range or ends before starts",
	             (unsigned long long)all.bad);
	assert_cells_free(mt_ent);
	cr_assert_eq(filter_of(l), 0, "%u waiters left in the filter", filter_of(l));
	uint64_t total = all.charged + all.uncharged;
	cr_assert_eq(total, all.waited, "charged %llu + uncharged %llu = %llu, waited %llu",
	             (unsigned long long)all.charged, (unsigned long long)all.uncharged,
	             (unsigned long long)total, (unsigned long long)all.waited);
	cr_assert_gt(all.registered, MT_THREADS * (MT_ITERS / 16));
	cr_assert_gt(all.charged, all.waited / 10, "hardly anything charged: the test is idle");
}

/* ---- first contended stack, reset ------------------------------------- */

Test(lockstate, name_keeps_the_first_stack_cut_at_the_limit)
{
	uintptr_t l[2], pcs[LC_LOCK_FIRST_FRAMES + 4], other[3] = {0xa1, 0xa2, 0xa3};
	for (int i = 0; i < LC_LOCK_FIRST_FRAMES + 4; i++)
		pcs[i] = 0x401000 + 0x10 * (uintptr_t)i;
	distinct_locks(l, 2);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	lockstate_name(e, pcs, 0, 1);
	cr_assert_eq(atomic_load(&e->first_state), 0, "an empty stack was kept");
	cr_assert(rec(e)->r.nframes == 0 && rec(e)->r.epoch == 0, "an empty stack's epoch kept");
	lockstate_name(e, pcs, LC_LOCK_FIRST_FRAMES + 4, 2);
	cr_assert_eq(atomic_load(&e->first_state), 2);
	cr_assert_eq(rec(e)->r.nframes, LC_LOCK_FIRST_FRAMES);
	cr_assert_eq(rec(e)->r.epoch, 2);
	cr_assert_arr_eq(rec(e)->first, pcs, LC_LOCK_FIRST_FRAMES * sizeof(uintptr_t));
	lockstate_name(e, other, 3, 5);
	cr_assert_eq(rec(e)->r.nframes, LC_LOCK_FIRST_FRAMES, "a later stack replaced the first");
	cr_assert_eq(rec(e)->r.epoch, 2, "a later stack's epoch replaced the first's");
	cr_assert_arr_eq(rec(e)->first, pcs, LC_LOCK_FIRST_FRAMES * sizeof(uintptr_t));
	struct lockent *f = lockstate_get(&ls, l[1], LC_KIND_MUTEX);
	lockstate_name(f, other, 3, 7);
	cr_assert_eq(rec(f)->r.nframes, 3);
	cr_assert_eq(rec(f)->r.epoch, 7);
	cr_assert_arr_eq(rec(f)->first, other, sizeof(other));
	uint64_t zero[LC_LOCK_FIRST_FRAMES - 3] = {0};
	cr_assert_arr_eq(rec(f)->first + 3, zero, sizeof(zero), "frames past nframes");
	cr_assert_eq(rec(e)->r.addr, l[0], "the frames overwrote the record's head");
	cr_assert_eq(rec(f)->r.addr, l[1]);
	cr_assert(rec(e)->r.reserved == 0 && rec(f)->r.reserved == 0);
}

#define NAME_THREADS 8

struct namer {
	struct lockent *e;
	pthread_barrier_t *start;
	uintptr_t pcs[LC_LOCK_FIRST_FRAMES];
	uint32_t n, epoch;
};

static void *name_run(void *arg)
{
	struct namer *nm = arg;
	pthread_barrier_wait(nm->start);
	lockstate_name(nm->e, nm->pcs, nm->n, nm->epoch);
	return NULL;
}

/* Threads racing to name one lock: one of them wins, wholly. */
Test(lockstate, racing_names_leave_one_whole_stack)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	for (int round = 0; round < 100; round++) {
		lockstate_reset(&ls);
		struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
		pthread_t th[NAME_THREADS];
		struct namer nm[NAME_THREADS];
		pthread_barrier_t start;
		pthread_barrier_init(&start, NULL, NAME_THREADS);
		for (int t = 0; t < NAME_THREADS; t++) {
			nm[t] = (struct namer){.e = e,
			                       .start = &start,
			                       .n = 1 + (uint32_t)t % 8,
			                       .epoch = 100 + (uint32_t)t};
			for (int i = 0; i < LC_LOCK_FIRST_FRAMES; i++)
				nm[t].pcs[i] = 0x500000 + 0x1000 * (uintptr_t)t + (uintptr_t)i;
			cr_assert_eq(pthread_create(&th[t], NULL, name_run, &nm[t]), 0);
		}
		for (int t = 0; t < NAME_THREADS; t++)
			pthread_join(th[t], NULL);
		pthread_barrier_destroy(&start);
		cr_assert_eq(atomic_load(&e->first_state), 2);
		const struct lockrec *r = rec(e);
		int t = (int)((r->first[0] - 0x500000) / 0x1000);
		cr_assert(t >= 0 && t < NAME_THREADS, "frame %#lx from nobody",
		          (unsigned long)r->first[0]);
		cr_assert_eq(r->r.nframes, nm[t].n, "thread %d's frames, another's count", t);
		cr_assert_eq(r->r.epoch, nm[t].epoch, "thread %d's frames, another's epoch", t);
		cr_assert_arr_eq(r->first, nm[t].pcs, nm[t].n * sizeof(uintptr_t),
		                 "round %d: frames of several threads", round);
	}
}

Test(lockstate, reset_forgets_everything)
{
	uintptr_t l[6];
	distinct_locks(l, 6);
	ls_make(1 << 20, 4);
	for (int i = 0; i < 6; i++)
		lockstate_get(&ls, l[i], LC_KIND_WRLOCK); /* the last two refused */
	struct lockent *e = lockstate_find(&ls, l[0]);
	arrive_ok(e, 100);
	lockstate_name(e, l, 2, 1);
	lockstate_count(e, LOCKSTATE_TRYLOCK_FAILURES, 3);
	uint64_t records = lock_records();
	cr_assert(lockstate_maybe_waited(l[0]));
	cr_assert_eq(atomic_load(&ls.refused), 2);
	lockstate_reset(&ls);
	for (int i = 0; i < 6; i++)
		cr_assert_null(lockstate_find(&ls, l[i]), "lock %d survived the reset", i);
	struct visit v = {0};
	lockstate_foreach(&ls, visit_entry, &v);
	cr_assert_eq(v.n, 0);
	cr_assert_eq(atomic_load(&ls.refused), 0);
	cr_assert(!lockstate_maybe_waited(l[0]), "the filter survived the reset");
	for (uint32_t i = 0; i < LOCKSTATE_FILTER; i++)
		cr_assert_eq(atomic_load(&lockstate_filter[i]), 0);
	struct lockent *f = lockstate_get(&ls, l[5], LC_KIND_SPIN);
	cr_assert_not_null(f, "no room after the reset");
	cr_assert_eq(f->first_state, 0, "a fresh entry carries an old name");
	for (uint64_t i = 0; i <= ls.mask; i++)
		assert_cells_free(&ls.ent[i]); /* l[0]'s waiter held a cell */
	/* a new record (in a fork child's new file), not the old one's counters */
	cr_assert_eq(lock_records(), records + 1);
	cr_assert(rec(f)->r.trylock_failures == 0 && rec(f)->r.nframes == 0,
	          "a fresh record carries old counters");
	cr_assert_eq(rec(f)->r.kind, LC_KIND_SPIN);
	cr_assert_eq(lockstate_count_used(&ls), 1);
	cr_assert_eq(charge_at(f, 500), 0, "charged for a waiter from before the reset");
}

/* A LOCK_LOST whose claim is held by a thread stopped in the middle of
 * its add (set by hand): the next add waits CLAIM_WAIT_NS, then goes to a
 * second LOCK_LOST of the lock, which later adds find; a reader adds up
 * both (dumpread.c), so nothing is lost. */
Test(lockstate, a_stuck_claim_makes_a_second_lock_lost)
{
	uintptr_t l[1];
	distinct_locks(l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	struct lockstate_lost *first = atomic_load(&e->lost);
	lockstate_lost(&ls, l[0], LC_VIEW_WAIT, LC_LOST_NO_STACK, 1, 10);
	atomic_store(&first->claim, 12345);
	lockstate_lost(&ls, l[0], LC_VIEW_WAIT, LC_LOST_NO_STACK, 2, 20);
	struct lockstate_lost *second = atomic_load(&e->lost);
	cr_assert_neq(second, first, "a second record");
	lockstate_lost(&ls, l[0], LC_VIEW_WAIT, LC_LOST_NO_STACK, 4, 40);
	cr_assert_eq(first->rec->lost[LC_VIEW_WAIT][LC_LOST_NO_STACK].count, 1);
	cr_assert_eq(second->rec->lost[LC_VIEW_WAIT][LC_LOST_NO_STACK].count, 6);
	cr_assert_eq(second->rec->lost[LC_VIEW_WAIT][LC_LOST_NO_STACK].delay_ns, 60);
	cr_assert_eq(second->rec->addr, l[0]);
}

/* A settled wait's uncharged waiting goes to its lock's LOCK_LOST by a
 * claimed op (the books run it after their commit, and again after a
 * jump): once, however often it is run; a stuck claim moves it to the
 * second record and its claim, and the lock still gets it; a lock without
 * an entry gets nothing.  An unclaimed count goes to the LOCK record, or
 * aside while that is not there. */
Test(lockstate, an_uncharged_op_adds_once_under_the_locks_claim)
{
	uintptr_t l[2];
	distinct_locks(l, 2);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	struct lockstate_op op = {0};
	lockstate_uncharged_set(&op, l[0], 700, 0, 0);
	lockstate_lost_run(&ls, &op, 1);
	lockstate_lost_run(&ls, &op, 1);
	cr_assert_eq(lock_uncharged(e), 700);
	cr_assert_eq(atomic_load(&op.state), LOCKSTATE_OP_IDLE);
	cr_assert_eq(atomic_load(&atomic_load(&e->lost)->claim), 0, "the claim was let go");
	struct lockstate_lost *first = atomic_load(&e->lost);
	atomic_store(&first->claim, 12345);
	lockstate_uncharged_set(&op, l[0], 20, 0, 0);
	lockstate_lost_run(&ls, &op, 1);
	cr_assert_neq(atomic_load(&e->lost), first, "a second LOCK_LOST, with its claim");
	cr_assert_eq(lock_uncharged(e), 720);
	lockstate_count(e, LOCKSTATE_UNCHARGED_NS, 3); /* to the LOCK record */
	cr_assert_eq(lock_uncharged(e), 723);
	lockstate_uncharged_set(&op, l[1], 5, 0, 0); /* no entry */
	lockstate_lost_run(&ls, &op, 1);
	cr_assert_eq(atomic_load(&op.state), LOCKSTATE_OP_IDLE);
	cr_assert_eq(lock_uncharged(e), 723);
	struct lc_rec_lock *pub = atomic_load(&e->pub);
	atomic_store(&e->pub, NULL); /* as while another thread makes it */
	uint64_t in_lost = atomic_load(&e->lost)->unch->uncharged_ns;
	lockstate_uncharged_set(&op, l[0], 9, 0, 0);
	lockstate_lost_run(&ls, &op, 1);
	cr_assert_eq(atomic_load(&e->lost)->unch->uncharged_ns, in_lost + 9,
	             "a claimed add needs only the LOCK_LOST");
	lockstate_count(e, LOCKSTATE_UNCHARGED_NS, 4);
	cr_assert_eq(atomic_load(&e->early[LOCKSTATE_UNCHARGED_NS]), 4, "counted aside");
	atomic_store(&e->pub, pub);
}

/* The waits that found no cell (3.12) go with their uncharged waiting, in
 * the same claimed add, to the LOCK_NO_CELL made with the lock's
 * LOCK_LOST: once, however often the op is run, and to the second set
 * when the first's claim is stuck; never more than the uncharged. */
Test(lockstate, a_wait_that_found_no_cell_is_counted_with_its_uncharged_waiting)
{
	uintptr_t l[1];
	distinct_locks(l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	struct lockstate_op op = {0};
	lockstate_uncharged_set(&op, l[0], 300, 0, 0); /* a registered waiter's */
	lockstate_lost_run(&ls, &op, 1);
	lockstate_uncharged_set(&op, l[0], 700, 2, 700); /* one that found none, rate 2 */
	lockstate_lost_run(&ls, &op, 1);
	lockstate_lost_run(&ls, &op, 1);
	struct no_cell_sum n = lock_no_cell(e);
	cr_assert_eq(lock_uncharged(e), 1000);
	cr_assert(n.count == 2 && n.ns == 700, "no cell: %llu waits, %llu ns",
	          (unsigned long long)n.count, (unsigned long long)n.ns);
	struct lockstate_lost *first = atomic_load(&e->lost);
	atomic_store(&first->claim, 12345);
	lockstate_uncharged_set(&op, l[0], 50, 1, 50);
	lockstate_lost_run(&ls, &op, 1);
	cr_assert_neq(atomic_load(&e->lost), first, "a second set, with its claim");
	n = lock_no_cell(e);
	cr_assert_eq(lock_uncharged(e), 1050);
	cr_assert(n.count == 3 && n.ns == 750, "no cell: %llu waits, %llu ns",
	          (unsigned long long)n.count, (unsigned long long)n.ns);
	cr_assert_eq(atomic_load(&e->lost)->no_cell->delay_ns, 50, "in the second LOCK_NO_CELL");
}

/* A thread stopped in the middle of its uncharged add (WRITING: it read
 * the counter under the lock's claim, and has not written it yet), while
 * another thread's add, after CLAIM_WAIT_NS, goes through the second
 * LOCK_LOST's claim: once the first resumes, both adds are there.  Until
 * 3.10 both went to the LOCK record's one counter, and the first one's
 * compare-and-swap from what it read failed: "uncharged 20 of 5 + 20"
 * (test_stress, under a load of 40 on 2 CPUs: "the locks' uncharged_ns add
 * up to 14157130299, + 0 ns reentrant, totals 17991202133"). */
Test(lockstate, a_stuck_uncharged_add_and_the_next_both_count, .timeout = 30)
{
	uintptr_t l[1];
	distinct_locks(l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	struct lockstate_lost *first = atomic_load(&e->lost);
	_Atomic uint64_t *unch = (_Atomic uint64_t *)&first->unch->uncharged_ns;
	/* the stopped thread's op, as it stands after reading under the claim */
	uintptr_t me = 777;
	struct lockstate_op stuck = {0};
	lockstate_uncharged_set(&stuck, l[0], 5, 0, 0);
	claim_add_set(&stuck.add, &first->claim, me, (uint64_t *)unch, NULL, NULL, 5, 0, 0);
	atomic_store(&first->claim, me);
	stuck.add.old[CLAIM_COUNT] = atomic_load(unch);
	stuck.add.new[CLAIM_COUNT] = atomic_load(unch) + 5;
	atomic_store(&stuck.add.state, CLAIM_WRITING);
	atomic_store(&stuck.state, LOCKSTATE_OP_ADD);
	/* another thread's add meanwhile */
	struct lockstate_op op = {0};
	lockstate_uncharged_set(&op, l[0], 20, 0, 0);
	lockstate_lost_run(&ls, &op, 1);
	cr_assert_neq(atomic_load(&e->lost), first, "a second LOCK_LOST, with its claim");
	/* the stopped thread resumes */
	lockstate_lost_run(&ls, &stuck, me);
	cr_assert_eq(atomic_load(&stuck.state), LOCKSTATE_OP_IDLE);
	cr_assert_eq(lock_uncharged(e), 25, "uncharged %llu of 5 + 20",
	             (unsigned long long)lock_uncharged(e));
}

/* A lock's entry whose maker has claimed its address but not yet made its
 * records (stopped between the two): a loss or uncharged waiting settled
 * on it meanwhile waits for them, and lands there.  Before, the loss was
 * given up (test_nested's stacks=0 run: a lock's charges + uncharged short
 * of its waits, 1 run in 50 under ASan). */
struct maker_late {
	struct lockent *e;
	struct lockstate_lost *lost;
	struct lc_rec_lock *pub;
};

static void *maker_finishes_late(void *arg)
{
	struct maker_late *m = arg;
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	atomic_store(&m->e->lost, m->lost);
	atomic_store(&m->e->pub, m->pub);
	atomic_store(&m->e->made, 1);
	return NULL;
}

Test(lockstate, a_loss_on_a_lock_still_being_made_waits_for_its_records, .timeout = 30)
{
	uintptr_t l[1];
	distinct_locks(l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	cr_assert_eq(atomic_load(&e->made), 1, "the maker is done");
	struct maker_late m = {e, atomic_load(&e->lost), atomic_load(&e->pub)};
	atomic_store(&e->made, 0); /* as between the address's claim and the records */
	atomic_store(&e->lost, NULL);
	atomic_store(&e->pub, NULL);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, maker_finishes_late, &m), 0);
	lockstate_lost(&ls, l[0], LC_VIEW_WAIT, LC_LOST_NO_STACKS, 1, 10);
	struct lockstate_op op = {0};
	lockstate_uncharged_set(&op, l[0], 7, 0, 0);
	lockstate_lost_run(&ls, &op, 1);
	pthread_join(th, NULL);
	cr_assert_eq(m.lost->rec->lost[LC_VIEW_WAIT][LC_LOST_NO_STACKS].count, 1,
	             "the loss was given up");
	cr_assert_eq(m.lost->rec->lost[LC_VIEW_WAIT][LC_LOST_NO_STACKS].delay_ns, 10);
	cr_assert_eq(m.lost->unch->uncharged_ns, 7, "in the lock's LOCK_UNCHARGED (3.11)");
}

/* Pages of the table from p, n bytes, that are mapped (mincore). */
static size_t resident_pages(const void *p, size_t n)
{
	uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095, hi = ((uintptr_t)p + n + 4095) & ~(uintptr_t)4095;
	size_t pages = (hi - lo) / 4096, got = 0;
	unsigned char *v = malloc(pages);
	cr_assert(v && mincore((void *)lo, hi - lo, v) == 0);
	for (size_t i = 0; i < pages; i++)
		got += v[i] & 1;
	free(v);
	return got;
}

/* The end's counts read only the pages entries were made on: the table is
 * 8192 entries (1.5 MiB, the default), and a read of each page never
 * touched mapped it, a fault each (about 600 with the stack table's heads,
 * a quarter of a short profiled program's run).  Still exact: every entry
 * with a record counted, and visited. */
static void count_visit(const struct lockent *e, void *ctx)
{
	(void)e;
	++*(int *)ctx;
}

Test(lockstate, the_count_reads_only_the_pages_entries_are_on)
{
	ls_make(8u << 20, 8192);
	size_t bytes = 8192 * sizeof(struct lockent);
	uintptr_t locks[] = {0x7f0000001000, 0x7f0000abc040, 0x55550000f0f0};
	for (int i = 0; i < 3; i++)
		cr_assert_not_null(lockstate_get(&ls, locks[i], LC_KIND_MUTEX));
	size_t before = resident_pages(ls.ent, bytes);
	cr_assert_eq(lockstate_count_used(&ls), 3);
	int visited = 0;
	lockstate_foreach(&ls, count_visit, &visited);
	cr_assert_eq(visited, 3);
	size_t after = resident_pages(ls.ent, bytes);
	cr_assert(before <= 6 && after == before,
	          "%zu of %zu pages mapped before the count, %zu after", before, bytes / 4096, after);
	lockstate_reset(&ls);
	cr_assert_eq(lockstate_count_used(&ls), 0);
	cr_assert_not_null(lockstate_get(&ls, locks[1], LC_KIND_MUTEX));
	cr_assert_eq(lockstate_count_used(&ls), 1, "after a reset");
}

/* A handler that jumps out of the making of an entry, at each step in
 * turn: the end's count of locks is still the number of LOCK records in
 * the file.  Before, a jump after the record was published and before the
 * entry pointed at it left a record the count missed (a reader's check
 * then said the totals did not match). */
static jmp_buf make_env;
static int make_steps, make_jump_at;

static void make_jump(void)
{
	if (make_steps++ == make_jump_at)
		longjmp(make_env, 1);
}

Test(lockstate, a_jump_out_of_making_an_entry_leaves_the_count_exact)
{
	ls_make(1u << 20, 256);
	bool jumped = true;
	for (make_jump_at = 0; jumped && make_jump_at < 64; make_jump_at++) {
		make_steps = 0;
		jumped = false;
		lc_step_hook = make_jump;
		if (setjmp(make_env) == 0)
			lockstate_get(&ls, 0x10000 + (uintptr_t)make_jump_at * 64, LC_KIND_MUTEX);
		else
			jumped = true;
		lc_step_hook = NULL;
		cr_assert_eq(lockstate_count_used(&ls), lock_records(),
		             "a jump at step %d: %llu locks counted, %llu LOCK records", make_jump_at,
		             (unsigned long long)lockstate_count_used(&ls),
		             (unsigned long long)lock_records());
	}
	cr_assert_gt(make_jump_at, 1, "no step to jump at");
	cr_assert(!jumped, "still jumping at step %d", make_jump_at);
}
