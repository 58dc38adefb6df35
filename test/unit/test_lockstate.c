/*
 * test_lockstate.c — the per-lock table and the holder view's clocks
 * (preload/lockstate.c).
 *
 * Tests: get makes one entry per address (the same for the same address,
 * the kind of the first call kept) and find sees only what get made; a
 * tiny table refuses the lock that finds no room (NULL, refused counted)
 * while known locks are still found; init fails on an arena too small.
 * The clocks, with a fake clock: one waiter (arrive 100, charge at 250 ->
 * 150, depart at 260 -> 10 uncharged); three waiters (charges 270 then 150,
 * the uncharged rest at their departures); a seeded random walk of
 * arrivals, charges and departures on several locks, checked at every step
 * against a model (each charge is the waiting of the registered waiters
 * since their start, each departure the rest), with
 *     sum(charges) + sum(uncharged) == sum(t1 - t0)
 * per lock at the end and no residue left in the entries; the filter
 * (lockstate_maybe_waited) is set exactly while a waiter is registered.
 * Four threads arriving, charging and departing on one entry with a shared
 * counter as clock keep the identity exactly (each waiter's end read under
 * the entry's flag, its arrival's gap counted as uncharged).  lockstate_name keeps the first stack only
 * and its module epoch, cut at LC_LOCK_FIRST_FRAMES, one whole stack (with
 * its own epoch) when threads race;
 * lockstate_reset forgets everything (a new entry gets a new record).
 * The LOCK records (format 3.0, in a profile file: pfiletest.h): get makes
 * one, published, with the address, the first call's kind, zero counters
 * and room for every first frame; lockstate_count adds to its own counter
 * only, exactly from four threads; lockstate_count_used counts the entries
 * with a record; a file with no room keeps the entry (the holder view
 * works) without one, and counting or naming it does nothing; a reader
 * spinning on a record's nframes sees the frames and their epoch when it
 * sees nframes.
 *
 * The filter is a global array: each Criterion test runs in its own
 * process, and every test starts from lockstate_init on a fresh arena.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "lockstate.h"
#include "pfiletest.h"

static struct arena arena;
static struct pfile file = {.fd = -1};
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

TestSuite(lockstate, .fini = ls_unmap);

/* The fake clock lockstate_charge reads. */
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

/* Counters are added by any thread, without the entry's flag. */
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
 * without a record; counting and naming it are harmless no-ops. */
Test(lockstate, no_room_for_a_record_keeps_the_entry_without_one)
{
	uintptr_t l[3];
	distinct_locks(l, 3);
	/* room for the header and one record */
	ls_make_in(1 << 20, 16 + 8 + sizeof(struct lockrec), 64);
	struct lockent *a = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	struct lockent *b = lockstate_get(&ls, l[1], LC_KIND_MUTEX);
	cr_assert_not_null(rec(a));
	cr_assert_not_null(b, "a lock the file had no room for got no entry");
	cr_assert_null(rec(b));
	cr_assert_eq(lockstate_find(&ls, l[1]), b);
	lockstate_count(b, LOCKSTATE_TIMEOUTS, 1);
	lockstate_name(b, l, 2, 1);
	lockstate_arrive(b, 10);
	cr_assert_eq(charge_at(b, 30), 20, "the holder view needs no record");
	lockstate_depart(b, 10, 30);
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
		for (unsigned spins = 0; (got = atomic_load_explicit(n, memory_order_acquire)) == 0;)
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
	ls_make_in(8 << 20, 8 << 20, 65536);
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
	lockstate_arrive(e, 100);
	cr_assert_eq(charge_at(e, 250), 150);
	cr_assert_eq(lockstate_depart(e, 100, 260), 10);
	cr_assert_eq(charge_at(e, 300), 0, "charged after the waiter left");
}

Test(lockstate, three_waiters_two_charges)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	lockstate_arrive(e, 0);
	lockstate_arrive(e, 10);
	lockstate_arrive(e, 20);
	cr_assert_eq(charge_at(e, 100), 100 + 90 + 80);
	cr_assert_eq(charge_at(e, 150), 3 * 50, "the second charge counted time charged before");
	uint64_t u = lockstate_depart(e, 10, 155);
	u += lockstate_depart(e, 0, 160);
	u += lockstate_depart(e, 20, 175);
	cr_assert_eq(u, 5 + 10 + 25);
	/* 270 + 150 + 40 == (160 - 0) + (155 - 10) + (175 - 20) */
	cr_assert_eq(270 + 150 + u, 160 + 145 + 155);
}

/* The model of one lock's waiters for the random walk. */
#define PLOCKS 5
#define PWAITERS 6

struct pwaiter {
	uint64_t t0, start; /* start: max(t0, the last charge it was there for) */
};

struct plock {
	uintptr_t addr;
	struct lockent *e;
	int n;
	struct pwaiter w[PWAITERS];
	uint64_t charged, uncharged, waited;
};

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void walk_charge(struct plock *p, uint64_t now)
{
	uint64_t want = 0;
	for (int i = 0; i < p->n; i++) {
		want += now - p->w[i].start;
		p->w[i].start = now;
	}
	uint64_t got = charge_at(p->e, now);
	cr_assert_eq(got, want, "charge at %llu: %llu, the %d waiters waited %llu",
	             (unsigned long long)now, (unsigned long long)got, p->n,
	             (unsigned long long)want);
	p->charged += got;
}

static void walk_depart(struct plock *p, int i, uint64_t now)
{
	struct pwaiter w = p->w[i];
	uint64_t got = lockstate_depart(p->e, w.t0, now);
	cr_assert_eq(got, now - w.start, "depart at %llu (t0 %llu, start %llu): %llu uncharged",
	             (unsigned long long)now, (unsigned long long)w.t0,
	             (unsigned long long)w.start, (unsigned long long)got);
	p->uncharged += got;
	p->waited += now - w.t0;
	p->w[i] = p->w[--p->n];
}

static void walk_check_filter(const struct plock *p)
{
	for (int k = 0; k < PLOCKS; k++)
		cr_assert_eq(lockstate_maybe_waited(p[k].addr), p[k].n > 0,
		             "lock %d with %d waiters: maybe_waited %d", k, p[k].n,
		             lockstate_maybe_waited(p[k].addr));
}

static void random_walk(uint64_t seed, int steps)
{
	struct plock p[PLOCKS];
	uintptr_t addr[PLOCKS];
	uint64_t now = 1000, rng = seed;
	int ops[3] = {0, 0, 0};
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
		int op = (int)(xorshift(&rng) % 3);
		if (op == 0 && q->n < PWAITERS) {
			lockstate_arrive(q->e, now);
			q->w[q->n++] = (struct pwaiter){now, now};
		} else if (op == 1) {
			walk_charge(q, now);
		} else if (op == 2 && q->n > 0) {
			walk_depart(q, (int)(xorshift(&rng) % (uint64_t)q->n), now);
		} else {
			continue;
		}
		ops[op]++;
		walk_check_filter(p);
	}
	for (int k = 0; k < PLOCKS; k++) {
		now += 3;
		while (p[k].n)
			walk_depart(&p[k], 0, now);
		cr_assert_eq(p[k].charged + p[k].uncharged, p[k].waited,
		             "lock %d: charged %llu + uncharged %llu != waited %llu", k,
		             (unsigned long long)p[k].charged, (unsigned long long)p[k].uncharged,
		             (unsigned long long)p[k].waited);
		cr_assert(p[k].e->nwait == 0 && p[k].e->sum == 0,
		          "lock %d: nobody waits, but nwait %u sum %llu are left", k, p[k].e->nwait,
		          (unsigned long long)p[k].e->sum);
		cr_assert_gt(p[k].charged, 0);
		cr_assert_gt(p[k].uncharged, 0);
	}
	walk_check_filter(p);
	cr_assert(ops[0] > steps / 10 && ops[1] > steps / 10 && ops[2] > steps / 10,
	          "arrive %d, charge %d, depart %d of %d steps", ops[0], ops[1], ops[2], steps);
}

Test(lockstate, random_walk_matches_the_model_and_conserves)
{
	static const uint64_t seeds[] = {1, 42, 0x9E3779B97F4A7C15ull, 0xDEADBEEFCAFEull};
	ls_make(1 << 20, 64);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		lockstate_reset(&ls);
		random_walk(seeds[i], 4000);
	}
}

Test(lockstate, filter_is_set_exactly_while_waiters_are_registered)
{
	uintptr_t l[2];
	distinct_locks(l, 2);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l[0], LC_KIND_MUTEX);
	cr_assert(!lockstate_maybe_waited(l[0]), "set before anyone waited");
	lockstate_arrive(e, 10);
	cr_assert(lockstate_maybe_waited(l[0]));
	cr_assert(!lockstate_maybe_waited(l[1]), "another lock's counter moved");
	lockstate_arrive(e, 20);
	charge_at(e, 30);
	cr_assert(lockstate_maybe_waited(l[0]), "a charge cleared the filter");
	lockstate_depart(e, 10, 40);
	cr_assert(lockstate_maybe_waited(l[0]), "cleared with a waiter still there");
	lockstate_depart(e, 20, 50);
	cr_assert(!lockstate_maybe_waited(l[0]), "still set after the last waiter left");
	cr_assert_eq(atomic_load(&lockstate_filter[lockstate_filter_index(l[0])]), 0);
}

/* A waiter that read its t0 before an unlock's charge but registered after
 * it (recorder_begin reads the clock, then lockstate_get, then arrives) and
 * leaves before the next charge.  Its start is max(t0, reset_at): arrive
 * hands the gap (reset_at - t0) back as uncharged, and the next charge, for
 * a lone waiter who waited 10, is 10, with nothing left in the entry.  (It
 * was 15, with the gap left in the sum, before arrive clamped.) */
Test(lockstate, waiter_registered_after_a_charge_it_predates)
{
	uintptr_t l;
	distinct_locks(&l, 1);
	ls_make(1 << 20, 64);
	struct lockent *e = lockstate_get(&ls, l, LC_KIND_MUTEX);
	lockstate_arrive(e, 0);              /* A */
	cr_assert_eq(charge_at(e, 10), 10); /* an unlock; B is about to wait */
	cr_assert_eq(lockstate_arrive(e, 5), 5, "B's 5..10 was charged to no unlock");
	cr_assert_eq(lockstate_depart(e, 5, 12), 2, "B's 10..12 neither");
	cr_assert_eq(charge_at(e, 20), 10, "only A waited 10..20");
	lockstate_depart(e, 0, 20);
	cr_assert(e->nwait == 0 && e->sum == 0, "residue: nwait %u sum %lld", e->nwait,
	          (long long)e->sum);
}

/* ---- threads -------------------------------------------------------------- */

/* Four threads on one entry, the clock a shared counter that every read
 * advances.  A waiter reads its t1 under the entry's flag
 * (lockstate_depart_now, as the recorder does), so no charge falls between
 * the end of its wait and its departure, and at the end
 *     charged + uncharged == waited
 * exactly.  A lost update of nwait or sum under the flag breaks that, or
 * leaves a residue in the entry (with the flag taken out, 19 of 20 runs of
 * a million rounds per thread failed on a 2-CPU machine).  With t1 read
 * outside the flag, a charge could count a few ns past a waiter's t1: the
 * identity held only within a slack, and this test was flaky. */
#define MT_THREADS 4
#define MT_ITERS 1000000

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
};

static void mt_wait_once(struct mt_worker *w, uint64_t *rng)
{
	uint64_t t0 = mt_now();
	w->uncharged += lockstate_arrive(mt_ent, t0); /* a charge since t0: the gap */
	if (xorshift(rng) % 64 == 0)
		sched_yield(); /* let the others charge this one */
	uint64_t t1;
	uint64_t u = lockstate_depart_now(mt_ent, t0, mt_now, &t1);
	w->uncharged += u;
	w->waited += t1 - t0;
}

static void *mt_run(void *arg)
{
	struct mt_worker *w = arg;
	uint64_t rng = 0x2545F4914F6CDD1Dull * (uint64_t)(w->id + 1);
	pthread_barrier_wait(w->start);
	for (int i = 0; i < MT_ITERS; i++) {
		if (xorshift(&rng) % 3 == 0)
			w->charged += lockstate_charge(mt_ent, mt_now); /* an unlock */
		else
			mt_wait_once(w, &rng);
	}
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
	}
	pthread_barrier_destroy(&start);
	cr_assert_eq(mt_ent->nwait, 0, "%u waiters left after every thread departed",
	             mt_ent->nwait);
	cr_assert(!lockstate_maybe_waited(l), "the filter is still set");
	/* One more waiter, alone, and a charge: whatever an unlock could not
	 * charge yet (none, unless a bug left some) is charged now. */
	uint64_t t0 = mt_now();
	all.uncharged += lockstate_arrive(mt_ent, t0);
	all.charged += lockstate_charge(mt_ent, mt_now);
	uint64_t t1 = mt_now();
	all.uncharged += lockstate_depart(mt_ent, t0, t1);
	all.waited += t1 - t0;
	cr_assert_eq(mt_ent->sum, 0, "residue %lld in the sum", (long long)mt_ent->sum);
	uint64_t total = all.charged + all.uncharged;
	cr_assert_eq(total, all.waited, "charged %llu + uncharged %llu = %llu, waited %llu",
	             (unsigned long long)all.charged, (unsigned long long)all.uncharged,
	             (unsigned long long)total, (unsigned long long)all.waited);
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
			nm[t] = (struct namer){.e = e, .start = &start, .n = 1 + (uint32_t)t % 8,
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
	lockstate_arrive(e, 100);
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
	cr_assert(f->nwait == 0 && f->sum == 0 && f->reset_at == 0 && f->first_state == 0,
	          "a fresh entry carries old state");
	/* a new record (in a fork child's new file), not the old one's counters */
	cr_assert_eq(lock_records(), records + 1);
	cr_assert(rec(f)->r.trylock_failures == 0 && rec(f)->r.nframes == 0,
	          "a fresh record carries old counters");
	cr_assert_eq(rec(f)->r.kind, LC_KIND_SPIN);
	cr_assert_eq(lockstate_count_used(&ls), 1);
	cr_assert_eq(charge_at(f, 500), 0, "charged for a waiter from before the reset");
}
