/*
 * test_stacktab.c — the lock-free stack table (preload/stacktab.c).
 *
 * Tests: insert then add on one stack; the same frames with other flags or
 * as a prefix get their own bucket; a full arena refuses new stacks
 * (STACKTAB_FULL, refused counted, nothing added) while known stacks still
 * add; 4 chain heads and a constructed full 64-bit hash collision still keep
 * stacks apart; 8 threads racing to insert the same ~2000 stacks (plus
 * their own) end with exactly one bucket per stack and exact counts and
 * delays, checked with stacktab_foreach.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lockcontend/dumpfmt.h"
#include "stacktab.h"

static struct arena arena;
static struct stacktab tab;

static void tab_make(size_t arena_bytes, uint64_t nheads)
{
	cr_assert_eq(arena_init(&arena, arena_bytes), 0, "arena_init(%zu)", arena_bytes);
	cr_assert_eq(stacktab_init(&tab, &arena, nheads), 0);
}

static void tab_unmap(void)
{
	if (arena.base)
		munmap(arena.base, arena.size);
	memset(&arena, 0, sizeof(arena));
}

TestSuite(stacktab, .fini = tab_unmap);

/* The bucket holding (flags, pcs, n), found by walking every chain;
 * fails the test if there are two. */
struct find_ctx {
	uint32_t flags, n;
	const uintptr_t *pcs;
	const struct stackbucket *found;
	int hits;
	uint64_t total;
};

static void find_visit(const struct stackbucket *b, void *arg)
{
	struct find_ctx *f = arg;
	f->total++;
	if (b->flags == f->flags && b->nframes == f->n &&
	    memcmp(b->pcs, f->pcs, f->n * sizeof(uintptr_t)) == 0) {
		f->found = b;
		f->hits++;
	}
}

static const struct stackbucket *find(uint32_t flags, const uintptr_t *pcs, uint32_t n)
{
	struct find_ctx f = {.flags = flags, .n = n, .pcs = pcs};
	stacktab_foreach(&tab, find_visit, &f);
	cr_assert_leq(f.hits, 1, "%d buckets for one stack", f.hits);
	cr_assert_eq(f.total, atomic_load(&tab.nbuckets), "foreach and nbuckets disagree");
	return f.found;
}

static void assert_bucket(uint32_t flags, const uintptr_t *pcs, uint32_t n, uint64_t count,
                          uint64_t delay)
{
	const struct stackbucket *b = find(flags, pcs, n);
	cr_assert(b, "stack not found");
	cr_assert_eq(b->count, count, "count %llu, expected %llu", (unsigned long long)b->count,
	             (unsigned long long)count);
	cr_assert_eq(b->delay_ns, delay);
	cr_assert_eq(b->hash, stacktab_hash(flags, pcs, n));
}

static const uintptr_t S1[] = {0x401000, 0x402000, 0x403000};

Test(stacktab, insert_then_add)
{
	tab_make(1 << 20, 64);
	cr_assert_null(find(0, S1, 3));
	cr_assert_eq(stacktab_add(&tab, 0, S1, 3, 1, 100), STACKTAB_INSERTED);
	assert_bucket(0, S1, 3, 1, 100);
	cr_assert_eq(stacktab_add(&tab, 0, S1, 3, 4, 900), STACKTAB_ADDED);
	assert_bucket(0, S1, 3, 5, 1000);
	cr_assert_eq(atomic_load(&tab.nbuckets), 1);
	cr_assert_eq(atomic_load(&tab.refused), 0);
}

Test(stacktab, flags_and_prefixes_get_their_own_buckets)
{
	tab_make(1 << 20, 64);
	cr_assert_eq(stacktab_add(&tab, 0, S1, 3, 1, 10), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, LC_BUCKET_TIMEDOUT, S1, 3, 2, 20), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, LC_BUCKET_TRUNCATED, S1, 3, 3, 30), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, 0, S1, 2, 4, 40), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, 0, S1 + 1, 2, 5, 50), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, LC_BUCKET_TIMEDOUT, S1, 3, 1, 1), STACKTAB_ADDED);
	assert_bucket(0, S1, 3, 1, 10);
	assert_bucket(LC_BUCKET_TIMEDOUT, S1, 3, 3, 21);
	assert_bucket(LC_BUCKET_TRUNCATED, S1, 3, 3, 30);
	assert_bucket(0, S1, 2, 4, 40);
	assert_bucket(0, S1 + 1, 2, 5, 50);
	cr_assert_eq(atomic_load(&tab.nbuckets), 5);
}

/* Stack number i: n frames, distinct for every (i, n). */
static void make_stack(uintptr_t *pcs, uint32_t i, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		pcs[k] = 0x400000 + (uintptr_t)i * 0x1000 + k * 8;
}

Test(stacktab, full_arena_refuses_new_stacks_only)
{
	uintptr_t pcs[8];
	tab_make(4096, 4);
	uint32_t inserted = 0;
	for (;; inserted++) {
		make_stack(pcs, inserted, 8);
		enum stacktab_result r = stacktab_add(&tab, 0, pcs, 8, 1, 7);
		if (r == STACKTAB_FULL)
			break;
		cr_assert_eq(r, STACKTAB_INSERTED);
		cr_assert_lt(inserted, 4096, "a 4 KB arena never filled");
	}
	cr_assert_gt(inserted, 10, "only %u stacks fit in 4 KB", inserted);
	cr_assert_eq(atomic_load(&tab.refused), 1);
	cr_assert_null(find(0, pcs, 8), "a refused stack was stored");
	for (uint32_t r = 2; r <= 5; r++) {
		make_stack(pcs, inserted + r, 8);
		cr_assert_eq(stacktab_add(&tab, 0, pcs, 8, 1, 7), STACKTAB_FULL);
		cr_assert_eq(atomic_load(&tab.refused), r);
	}
	for (uint32_t i = 0; i < inserted; i++) {
		make_stack(pcs, i, 8);
		cr_assert_eq(stacktab_add(&tab, 0, pcs, 8, 2, 3), STACKTAB_ADDED, "stack %u", i);
		assert_bucket(0, pcs, 8, 3, 10);
	}
	cr_assert_eq(atomic_load(&tab.nbuckets), inserted);
	cr_assert_leq(arena_used(&arena), arena.size);
}

/* Many stacks through 4 chain heads: long chains, every stack kept apart. */
Test(stacktab, few_heads_long_chains)
{
	uintptr_t pcs[4];
	tab_make(4 << 20, 4);
	for (int round = 1; round <= 3; round++)
		for (uint32_t i = 0; i < 1000; i++) {
			make_stack(pcs, i, 1 + i % 4);
			enum stacktab_result r = stacktab_add(&tab, i % 3 == 0, pcs, 1 + i % 4, 1, i);
			cr_assert_eq(r, round == 1 ? STACKTAB_INSERTED : STACKTAB_ADDED);
		}
	for (uint32_t i = 0; i < 1000; i++) {
		make_stack(pcs, i, 1 + i % 4);
		assert_bucket(i % 3 == 0, pcs, 1 + i % 4, 3, 3ull * i);
	}
	cr_assert_eq(atomic_load(&tab.nbuckets), 1000);
}

/* One round of stacktab_hash's mixing, copied from stacktab.c to build a
 * collision; the test checks that the result really collides. */
static uint64_t mix(uint64_t h, uint64_t pc)
{
	h ^= pc;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 32;
	return h;
}

Test(stacktab, full_hash_collision_keeps_stacks_apart)
{
	uint64_t seed = 0x9E3779B97F4A7C15ull ^ (2ull << 32);
	uintptr_t a[2] = {0x401000, 0x401234}, b[2] = {0x405000, 0};
	b[1] = (uintptr_t)(mix(seed, a[0]) ^ a[1] ^ mix(seed, b[0])); /* same state after 2 */
	cr_assert_eq(stacktab_hash(0, a, 2), stacktab_hash(0, b, 2),
	             "the collision construction no longer matches stacktab_hash: update mix()");
	tab_make(1 << 20, 1024);
	cr_assert_eq(stacktab_add(&tab, 0, a, 2, 1, 11), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, 0, b, 2, 2, 22), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, 0, a, 2, 1, 11), STACKTAB_ADDED);
	cr_assert_eq(stacktab_add(&tab, 0, b, 2, 2, 22), STACKTAB_ADDED);
	assert_bucket(0, a, 2, 2, 22);
	assert_bucket(0, b, 2, 4, 44);
}

/* ---- concurrency ------------------------------------------------------- */

#define NTHREADS 8
#define NSHARED 2000
#define NUNIQUE 200
#define ROUNDS 20

struct worker {
	int id;
	pthread_barrier_t *start;
	uint64_t inserted; /* STACKTAB_INSERTED results */
	uint64_t full;
};

/* Shared stack i (1..8 frames); thread t adds count t+1, delay i*7+t. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uintptr_t pcs[8];
	pthread_barrier_wait(w->start);
	for (int r = 0; r < ROUNDS; r++) {
		for (uint32_t i = 0; i < NSHARED; i++) {
			uint32_t k = (i + (uint32_t)r * 7) % NSHARED; /* all start together at 0 */
			make_stack(pcs, k, 1 + k % 8);
			enum stacktab_result res = stacktab_add(&tab, k % 2, pcs, 1 + k % 8,
			                                        (uint64_t)w->id + 1, k * 7ull + (uint64_t)w->id);
			w->inserted += res == STACKTAB_INSERTED;
			w->full += res == STACKTAB_FULL;
		}
		for (uint32_t u = 0; u < NUNIQUE; u++) {
			make_stack(pcs, 100000 + (uint32_t)w->id * NUNIQUE + u, 3);
			enum stacktab_result res = stacktab_add(&tab, 0, pcs, 3, 1, 1);
			w->inserted += res == STACKTAB_INSERTED;
			w->full += res == STACKTAB_FULL;
		}
	}
	return NULL;
}

static void race(uint64_t nheads)
{
	pthread_t th[NTHREADS];
	struct worker w[NTHREADS];
	pthread_barrier_t start;
	tab_make(64 << 20, nheads);
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){.id = t, .start = &start};
		cr_assert_eq(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
	}
	uint64_t inserted = 0;
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		inserted += w[t].inserted;
		cr_assert_eq(w[t].full, 0, "64 MB arena full");
	}
	pthread_barrier_destroy(&start);
	uint64_t distinct = NSHARED + NTHREADS * NUNIQUE;
	cr_assert_eq(inserted, distinct, "%llu INSERTED results for %llu stacks",
	             (unsigned long long)inserted, (unsigned long long)distinct);
	cr_assert_eq(atomic_load(&tab.nbuckets), distinct);
}

static void check_race_counts(void)
{
	uintptr_t pcs[8];
	/* sum over t of (t+1) and of (7k+t), each ROUNDS times */
	uint64_t count = ROUNDS * (NTHREADS * (NTHREADS + 1) / 2);
	for (uint32_t k = 0; k < NSHARED; k++) {
		make_stack(pcs, k, 1 + k % 8);
		uint64_t delay = ROUNDS * (NTHREADS * 7ull * k + NTHREADS * (NTHREADS - 1) / 2);
		assert_bucket(k % 2, pcs, 1 + k % 8, count, delay);
	}
	for (uint32_t t = 0; t < NTHREADS; t++)
		for (uint32_t u = 0; u < NUNIQUE; u += 17) {
			make_stack(pcs, 100000 + t * NUNIQUE + u, 3);
			assert_bucket(0, pcs, 3, ROUNDS, ROUNDS);
		}
}

Test(stacktab, concurrent_inserts_one_bucket_per_stack, .timeout = 30)
{
	race(1024);
	check_race_counts();
}

Test(stacktab, concurrent_inserts_on_few_heads, .timeout = 30)
{
	race(4);
	check_race_counts();
}

/* Fresh tables, one racing round each: many lost compare-and-swaps. */
static void *first_round_only(void *arg)
{
	struct worker *w = arg;
	uintptr_t pcs[2];
	pthread_barrier_wait(w->start);
	for (uint32_t k = 0; k < 64; k++) {
		make_stack(pcs, k, 2);
		w->inserted += stacktab_add(&tab, 0, pcs, 2, 1, k) == STACKTAB_INSERTED;
	}
	return NULL;
}

Test(stacktab, repeated_insert_races, .timeout = 30)
{
	for (int iter = 0; iter < 200; iter++) {
		pthread_t th[NTHREADS];
		struct worker w[NTHREADS];
		pthread_barrier_t start;
		tab_make(1 << 20, 2);
		pthread_barrier_init(&start, NULL, NTHREADS);
		for (int t = 0; t < NTHREADS; t++) {
			w[t] = (struct worker){.id = t, .start = &start};
			pthread_create(&th[t], NULL, first_round_only, &w[t]);
		}
		uint64_t inserted = 0;
		for (int t = 0; t < NTHREADS; t++) {
			pthread_join(th[t], NULL);
			inserted += w[t].inserted;
		}
		pthread_barrier_destroy(&start);
		cr_assert_eq(inserted, 64, "iteration %d: %llu inserts for 64 stacks", iter,
		             (unsigned long long)inserted);
		uintptr_t pcs[2];
		for (uint32_t k = 0; k < 64; k++) {
			make_stack(pcs, k, 2);
			assert_bucket(0, pcs, 2, NTHREADS, NTHREADS * (uint64_t)k);
		}
		tab_unmap();
	}
}
