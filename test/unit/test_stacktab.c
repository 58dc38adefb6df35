/*
 * test_stacktab.c — the lock-free stack table (preload/stacktab.c).
 *
 * Tests: insert then add on one stack; the same frames under another event
 * key (lock, view, kind, flags or module epoch) or as a prefix get their own
 * bucket, even when two keys give the same hash; max_ns is kept as a max; a
 * full arena or a full profile file refuses new stacks (STACKTAB_FULL,
 * refused counted, nothing added, no record left) while known stacks still
 * add; every bucket is a published LC_REC_BUCKET record in the file
 * (pfiletest.h) with its key, frames and counters, updated in place, and
 * after the races below the file holds exactly one published record per
 * bucket (a lost insert race leaves its record PENDING); 4 chain heads and
 * a constructed full 64-bit hash collision still keep stacks apart; 8
 * threads racing to insert the same ~2000 stacks (plus their own) end with
 * exactly one bucket per stack and exact counts, delays and maxes, checked
 * with stacktab_foreach; 8 threads adding random maxes to the same stacks
 * under four keys end with one bucket per (stack, key) and each bucket's max
 * the largest any thread gave; two threads raising the max of each of
 * 200,000 buckets in lockstep never leave the smaller one.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lockcontend/dumpfmt.h"
#include "pfiletest.h"
#include "stacktab.h"

static struct arena arena;
static struct pfile file;
static struct stacktab tab;

#define FILE_CAP (64u << 20)

/* A table whose nodes come from an arena of arena_bytes and whose records
 * go to a file of at most file_cap bytes. */
static void tab_make_in(size_t arena_bytes, size_t file_cap, uint64_t nheads)
{
	cr_assert_eq(arena_init(&arena, arena_bytes), 0, "arena_init(%zu)", arena_bytes);
	pft_open(&file, file_cap);
	cr_assert_eq(stacktab_init(&tab, &arena, &file, nheads), 0);
}

static void tab_make(size_t arena_bytes, uint64_t nheads)
{
	tab_make_in(arena_bytes, FILE_CAP, nheads);
}

static void tab_unmap(void)
{
	if (arena.base)
		munmap(arena.base, arena.size);
	memset(&arena, 0, sizeof(arena));
	pft_close(&file);
}

TestSuite(stacktab, .fini = tab_unmap);

#define LOCK_A 0x7f0000001000u
#define LOCK_B 0x7f0000002040u

/* The key most tests use: a wait for LOCK_A, a mutex, these flags. */
static struct event_key fkey(uint32_t flags)
{
	return (struct event_key){
	    .lock = LOCK_A, .flags = flags, .view = LC_VIEW_WAIT, .kind = LC_KIND_MUTEX};
}

/* One wait per add: its max is its delay. */
static enum stacktab_result add(uint32_t flags, const uintptr_t *pcs, uint32_t n,
                                uint64_t count, uint64_t delay)
{
	struct event_key k = fkey(flags);
	return stacktab_add(&tab, &k, pcs, n, count, delay, delay);
}

/* Written out here rather than taken from event.h, so a key comparison
 * that forgets a field there is caught. */
static bool key_eq(const struct event_key *a, const struct event_key *b)
{
	return a->lock == b->lock && a->flags == b->flags && a->view == b->view &&
	       a->kind == b->kind && a->epoch == b->epoch;
}

/* A bucket's key, as its record in the file says. */
static struct event_key bucket_key(const struct stackbucket *b)
{
	return (struct event_key){.lock = b->pub->lock,
	                          .flags = b->pub->flags,
	                          .view = b->pub->view,
	                          .kind = b->pub->kind,
	                          .epoch = b->pub->epoch};
}

/* The bucket holding (key, pcs, n), found by walking every chain; fails
 * the test if there are two, but for buckets made apart from one whose
 * claim was stuck (claim.h: tab.apart): their sums are in the context. */
struct find_ctx {
	struct event_key key;
	uint32_t n;
	const uintptr_t *pcs;
	const struct stackbucket *found;
	int hits;
	uint64_t total;
	uint64_t count, delay, max;
};

static void find_visit(const struct stackbucket *b, void *arg)
{
	struct find_ctx *f = arg;
	struct event_key k = bucket_key(b);
	f->total++;
	if (key_eq(&k, &f->key) && b->pub->nframes == f->n &&
	    memcmp(stackbucket_pcs(b), f->pcs, f->n * sizeof(uintptr_t)) == 0) {
		f->found = b;
		f->hits++;
		f->count += stackbucket_count(b);
		f->delay += stackbucket_delay(b);
		f->max = stackbucket_max(b) > f->max ? stackbucket_max(b) : f->max;
	}
}

static struct find_ctx find_all(struct event_key key, const uintptr_t *pcs, uint32_t n)
{
	struct find_ctx f = {.key = key, .n = n, .pcs = pcs};
	stacktab_foreach(&tab, find_visit, &f);
	cr_assert_leq((uint64_t)f.hits, 1 + atomic_load(&tab.apart), "%d buckets for one stack",
	              f.hits);
	cr_assert_eq(f.total, atomic_load(&tab.nbuckets), "foreach and nbuckets disagree");
	return f;
}

static const struct stackbucket *find_key(struct event_key key, const uintptr_t *pcs,
                                          uint32_t n)
{
	return find_all(key, pcs, n).found;
}

static const struct stackbucket *find(uint32_t flags, const uintptr_t *pcs, uint32_t n)
{
	return find_key(fkey(flags), pcs, n);
}

static void assert_bucket_key(struct event_key key, const uintptr_t *pcs, uint32_t n,
                              uint64_t count, uint64_t delay, uint64_t max)
{
	struct find_ctx f = find_all(key, pcs, n);
	const struct stackbucket *b = f.found;
	cr_assert(b, "stack not found");
	uint64_t got_count = f.count, got_delay = f.delay, got_max = f.max;
	cr_assert_eq(got_count, count, "count %llu, expected %llu", (unsigned long long)got_count,
	             (unsigned long long)count);
	cr_assert_eq(got_delay, delay, "delay %llu, expected %llu", (unsigned long long)got_delay,
	             (unsigned long long)delay);
	cr_assert_eq(got_max, max, "max %llu, expected %llu", (unsigned long long)got_max,
	             (unsigned long long)max);
	cr_assert_eq(b->hash, stacktab_hash(&key, pcs, n));
	cr_assert(pfile_contains(&file, b->pub), "the bucket's record is not in the file");
	const struct lc_rec_head *h = (const struct lc_rec_head *)b->pub - 1;
	cr_assert_eq(h->type, LC_REC_BUCKET, "the bucket's record is not published (type %u)",
	             h->type);
	cr_assert_eq(h->size, sizeof(struct lc_rec_bucket) + n * sizeof(uint64_t),
	             "record size %u for %u frames", h->size, n);
}

/* For tables filled through add(): the max is checked apart, if at all. */
static void assert_bucket(uint32_t flags, const uintptr_t *pcs, uint32_t n, uint64_t count,
                          uint64_t delay)
{
	const struct stackbucket *b = find(flags, pcs, n);
	cr_assert(b, "stack not found");
	assert_bucket_key(fkey(flags), pcs, n, count, delay, stackbucket_max(b));
}

static const uintptr_t S1[] = {0x401000, 0x402000, 0x403000};

Test(stacktab, insert_then_add)
{
	tab_make(1 << 20, 64);
	cr_assert_null(find(0, S1, 3));
	cr_assert_eq(add(0, S1, 3, 1, 100), STACKTAB_INSERTED);
	assert_bucket(0, S1, 3, 1, 100);
	cr_assert_eq(add(0, S1, 3, 4, 900), STACKTAB_ADDED);
	assert_bucket(0, S1, 3, 5, 1000);
	cr_assert_eq(atomic_load(&tab.nbuckets), 1);
	cr_assert_eq(atomic_load(&tab.refused), 0);
}

Test(stacktab, flags_and_prefixes_get_their_own_buckets)
{
	tab_make(1 << 20, 64);
	cr_assert_eq(add(0, S1, 3, 1, 10), STACKTAB_INSERTED);
	cr_assert_eq(add(LC_BUCKET_TIMEDOUT, S1, 3, 2, 20), STACKTAB_INSERTED);
	cr_assert_eq(add(LC_BUCKET_TRUNCATED, S1, 3, 3, 30), STACKTAB_INSERTED);
	cr_assert_eq(add(0, S1, 2, 4, 40), STACKTAB_INSERTED);
	cr_assert_eq(add(0, S1 + 1, 2, 5, 50), STACKTAB_INSERTED);
	cr_assert_eq(add(LC_BUCKET_TIMEDOUT, S1, 3, 1, 1), STACKTAB_ADDED);
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
		enum stacktab_result r = add(0, pcs, 8, 1, 7);
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
		cr_assert_eq(add(0, pcs, 8, 1, 7), STACKTAB_FULL);
		cr_assert_eq(atomic_load(&tab.refused), r);
	}
	for (uint32_t i = 0; i < inserted; i++) {
		make_stack(pcs, i, 8);
		cr_assert_eq(add(0, pcs, 8, 2, 3), STACKTAB_ADDED, "stack %u", i);
		assert_bucket(0, pcs, 8, 3, 10);
	}
	cr_assert_eq(atomic_load(&tab.nbuckets), inserted);
	cr_assert_leq(arena_used(&arena), arena.size);
	struct pft_walk w = pft_walk_file(&file, NULL, NULL);
	cr_assert_eq(w.records, inserted, "a refused stack left a record in the file");
}

/* The file full, the arena not: the same refusal. */
Test(stacktab, full_file_refuses_new_stacks_only)
{
	uintptr_t pcs[8];
	tab_make_in(1 << 20, 8192, 64);
	uint32_t inserted = 0;
	for (;; inserted++) {
		make_stack(pcs, inserted, 8);
		enum stacktab_result r = add(0, pcs, 8, 1, 7);
		if (r == STACKTAB_FULL)
			break;
		cr_assert_eq(r, STACKTAB_INSERTED);
		cr_assert_lt(inserted, 8192, "an 8 KB file never filled");
	}
	/* 8 KB less the header and the closing records' reserve, 8 + 48 + 64
	 * bytes a record */
	cr_assert_eq(inserted, (8192 - PFILE_RESERVE - 16) / 120);
	cr_assert_eq(atomic_load(&tab.refused), 1);
	cr_assert_null(find(0, pcs, 8), "a refused stack was stored");
	for (uint32_t i = 0; i < inserted; i++) {
		make_stack(pcs, i, 8);
		cr_assert_eq(add(0, pcs, 8, 2, 3), STACKTAB_ADDED, "stack %u", i);
		assert_bucket(0, pcs, 8, 3, 10);
	}
	cr_assert_eq(atomic_load(&tab.nbuckets), inserted);
	struct pft_walk w = pft_walk_file(&file, NULL, NULL);
	cr_assert_eq(w.by_type[LC_REC_BUCKET], inserted);
	cr_assert_eq(w.records, inserted);
}

/* The file holds one published BUCKET record per bucket (its `pub`) and
 * nothing else but PENDING records (lost insert races); their number. */
struct pubs {
	const void **p;
	size_t n, cap;
	uint64_t pending, matched;
};

static void pubs_collect(const struct stackbucket *b, void *ctx)
{
	struct pubs *s = ctx;
	cr_assert_lt(s->n, s->cap);
	s->p[s->n++] = b->pub;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(const void *const *)a;
	uintptr_t y = (uintptr_t)*(const void *const *)b;
	return x < y ? -1 : x > y;
}

static void pubs_visit(const struct pft_rec *r, void *ctx)
{
	struct pubs *s = ctx;
	if (r->type == LC_REC_PENDING) {
		s->pending++;
		return;
	}
	cr_assert_eq(r->type, LC_REC_BUCKET, "record type %u", r->type);
	cr_assert_not_null(bsearch(&r->payload, s->p, s->n, sizeof(*s->p), ptr_cmp),
	                   "a published BUCKET record at %zu is no bucket's", r->off);
	s->matched++;
}

static uint64_t assert_file_matches_table(void)
{
	uint64_t n = atomic_load(&tab.nbuckets);
	struct pubs s = {.p = calloc(n + 1, sizeof(void *)), .cap = n};
	cr_assert_not_null(s.p);
	stacktab_foreach(&tab, pubs_collect, &s);
	qsort(s.p, s.n, sizeof(*s.p), ptr_cmp);
	pft_walk_file(&file, pubs_visit, &s);
	free(s.p);
	cr_assert_eq(s.matched, n, "%llu BUCKET records for %llu buckets",
	             (unsigned long long)s.matched, (unsigned long long)n);
	return s.pending;
}

/* What a reader of the file sees: one published BUCKET record per bucket,
 * every field of it, its frames, the counters as they are now. */
struct rec_check {
	uint64_t n;
	int unknown; /* records that are no bucket's */
};

static void rec_check_visit(const struct pft_rec *r, void *ctx)
{
	struct rec_check *c = ctx;
	cr_assert_eq(r->type, LC_REC_BUCKET, "record type %u", r->type);
	const struct lc_rec_bucket *p = r->payload;
	cr_assert_eq(r->size, sizeof(*p) + p->nframes * sizeof(uint64_t));
	struct event_key k = {.lock = p->lock, .flags = p->flags, .view = p->view,
	                      .kind = p->kind, .epoch = p->epoch};
	const struct stackbucket *b = find_key(k, (const uintptr_t *)(p + 1), p->nframes);
	if (!b || b->pub != p)
		c->unknown++;
	cr_assert_eq(p->reserved0, 0);
	c->n++;
}

Test(stacktab, every_bucket_is_a_published_record_in_the_file)
{
	static const uintptr_t S2[] = {0x7f0000400010, 0x7f0000400020, 0x7f0000400030,
	                               0x7f0000400040, 0x7f0000400050};
	struct event_key k = fkey(LC_BUCKET_TRUNCATED);
	k.view = LC_VIEW_HOLD;
	k.kind = LC_KIND_SPIN;
	k.epoch = 7;
	tab_make(1 << 20, 64);
	cr_assert_eq(stacktab_add(&tab, &k, S2, 5, 3, 300, 250), STACKTAB_INSERTED);
	cr_assert_eq(add(0, S1, 3, 1, 40), STACKTAB_INSERTED);
	cr_assert_eq(add(0, S1, 1, 1, 41), STACKTAB_INSERTED);
	const struct lc_rec_bucket *p = pft_nth(&file, LC_REC_BUCKET, 0);
	cr_assert_not_null(p, "no BUCKET record in the file");
	cr_assert_eq(p->count, 3);
	cr_assert_eq(p->delay_ns, 300);
	cr_assert_eq(p->max_ns, 250);
	cr_assert_eq(p->lock, LOCK_A);
	cr_assert_eq(p->flags, LC_BUCKET_TRUNCATED);
	cr_assert_eq(p->view, LC_VIEW_HOLD);
	cr_assert_eq(p->kind, LC_KIND_SPIN);
	cr_assert_eq(p->epoch, 7);
	cr_assert_eq(p->nframes, 5);
	cr_assert_arr_eq(p + 1, S2, sizeof(S2));
	/* counters are updated in the record itself */
	cr_assert_eq(stacktab_add(&tab, &k, S2, 5, 2, 20, 900), STACKTAB_ADDED);
	cr_assert(p->count == 5 && p->delay_ns == 320 && p->max_ns == 900,
	          "record: count %llu delay %llu max %llu", (unsigned long long)p->count,
	          (unsigned long long)p->delay_ns, (unsigned long long)p->max_ns);
	struct rec_check c = {0};
	struct pft_walk w = pft_walk_file(&file, rec_check_visit, &c);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.unknown, 0, "%d records are no bucket's", c.unknown);
	cr_assert_eq(w.by_type[LC_REC_BUCKET], atomic_load(&tab.nbuckets));
}

/* Many stacks through 4 chain heads: long chains, every stack kept apart. */
Test(stacktab, few_heads_long_chains)
{
	uintptr_t pcs[4];
	tab_make(4 << 20, 4);
	for (int round = 1; round <= 3; round++)
		for (uint32_t i = 0; i < 1000; i++) {
			make_stack(pcs, i, 1 + i % 4);
			enum stacktab_result r = add(i % 3 == 0, pcs, 1 + i % 4, 1, i);
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
	struct event_key k = fkey(0);
	uint64_t seed = event_key_seed(&k) ^ (2ull << 32);
	uintptr_t a[2] = {0x401000, 0x401234}, b[2] = {0x405000, 0};
	b[1] = (uintptr_t)(mix(seed, a[0]) ^ a[1] ^ mix(seed, b[0])); /* same state after 2 */
	cr_assert_eq(stacktab_hash(&k, a, 2), stacktab_hash(&k, b, 2),
	             "the collision construction no longer matches stacktab_hash: update mix()");
	tab_make(1 << 20, 1024);
	cr_assert_eq(add(0, a, 2, 1, 11), STACKTAB_INSERTED);
	cr_assert_eq(add(0, b, 2, 2, 22), STACKTAB_INSERTED);
	cr_assert_eq(add(0, a, 2, 1, 11), STACKTAB_ADDED);
	cr_assert_eq(add(0, b, 2, 2, 22), STACKTAB_ADDED);
	assert_bucket(0, a, 2, 2, 22);
	assert_bucket(0, b, 2, 4, 44);
}

/* The same frames under keys that differ in one field each. */
Test(stacktab, every_key_field_gets_its_own_bucket)
{
	struct event_key k[7];
	for (int i = 0; i < 7; i++)
		k[i] = fkey(0);
	k[1].lock = LOCK_B;
	k[2].view = LC_VIEW_HOLDER;
	k[3].view = LC_VIEW_HOLD;
	k[4].kind = LC_KIND_RDLOCK;
	k[5].flags = LC_BUCKET_TIMEDOUT;
	k[6].epoch = 1; /* the same frames after a dlclose may be another object's */
	tab_make(1 << 20, 64);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(stacktab_add(&tab, &k[i], S1, 3, 1, 10u * (i + 1), 5u * (i + 1)),
		             STACKTAB_INSERTED, "key %d merged with an earlier one", i);
	for (int i = 0; i < 7; i++) {
		struct event_key again = k[i]; /* equal, not the same object */
		cr_assert_eq(stacktab_add(&tab, &again, S1, 3, 2, 1, 1), STACKTAB_ADDED, "key %d",
		             i);
	}
	for (int i = 0; i < 7; i++)
		assert_bucket_key(k[i], S1, 3, 3, 10u * (i + 1) + 1, 5u * (i + 1));
	cr_assert_eq(atomic_load(&tab.nbuckets), 7);
}

/* The inverse of an odd number modulo 2^64 (Newton's iteration). */
static uint64_t inverse_odd(uint64_t a)
{
	uint64_t x = a;
	for (int i = 0; i < 6; i++)
		x *= 2 - a * x;
	return x;
}

/* Two keys whose seeds are equal hash every stack alike: a wait for one
 * lock and a charge for another.  Only the key comparison tells them apart. */
Test(stacktab, keys_with_equal_hashes_stay_apart)
{
	const uint64_t golden = 0x9E3779B97F4A7C15ull; /* event_key_seed's multiplier */
	struct event_key wait = fkey(0), charge = fkey(0);
	charge.view = LC_VIEW_HOLDER;
	wait.lock = (uintptr_t)((charge.lock * golden ^ ((uint64_t)LC_VIEW_HOLDER << 40)) *
	                        inverse_odd(golden));
	cr_assert_neq(wait.lock, charge.lock);
	cr_assert_eq(stacktab_hash(&wait, S1, 3), stacktab_hash(&charge, S1, 3),
	             "the construction no longer matches event_key_seed: update it");
	tab_make(1 << 20, 64);
	cr_assert_eq(stacktab_add(&tab, &wait, S1, 3, 1, 100, 100), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, &charge, S1, 3, 7, 700, 400), STACKTAB_INSERTED);
	cr_assert_eq(stacktab_add(&tab, &wait, S1, 3, 1, 50, 50), STACKTAB_ADDED);
	assert_bucket_key(wait, S1, 3, 2, 150, 100);
	assert_bucket_key(charge, S1, 3, 7, 700, 400);
}

/* max_ns: a max over the adds, not a sum and not the last one. */
Test(stacktab, max_is_kept_as_a_max)
{
	static const uint64_t mx[] = {100, 50, 300, 0, 299};
	struct event_key k = fkey(0);
	tab_make(1 << 20, 64);
	cr_assert_eq(stacktab_add(&tab, &k, S1, 3, 1, 1000, mx[0]), STACKTAB_INSERTED);
	assert_bucket_key(k, S1, 3, 1, 1000, 100);
	uint64_t want = 100;
	for (size_t i = 1; i < sizeof(mx) / sizeof(mx[0]); i++) {
		cr_assert_eq(stacktab_add(&tab, &k, S1, 3, 1, 1000, mx[i]), STACKTAB_ADDED);
		want = mx[i] > want ? mx[i] : want;
		assert_bucket_key(k, S1, 3, 1 + i, 1000 * (1 + i), want);
	}
	cr_assert_eq(want, 300);
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
			enum stacktab_result res = add(k % 2, pcs, 1 + k % 8,
			                                        (uint64_t)w->id + 1, k * 7ull + (uint64_t)w->id);
			w->inserted += res == STACKTAB_INSERTED;
			w->full += res == STACKTAB_FULL;
		}
		for (uint32_t u = 0; u < NUNIQUE; u++) {
			make_stack(pcs, 100000 + (uint32_t)w->id * NUNIQUE + u, 3);
			enum stacktab_result res = add(0, pcs, 3, 1, 1);
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
	/* and one more for each claim found stuck (a holder preempted for
	 * CLAIM_WAIT_NS on this loaded machine) */
	uint64_t distinct = NSHARED + NTHREADS * NUNIQUE + atomic_load(&tab.apart);
	cr_assert_eq(inserted, distinct, "%llu INSERTED results for %llu stacks",
	             (unsigned long long)inserted, (unsigned long long)distinct);
	cr_assert_eq(atomic_load(&tab.nbuckets), distinct);
	assert_file_matches_table();
}

static void check_race_counts(void)
{
	uintptr_t pcs[8];
	/* sum over t of (t+1) and of (7k+t), each ROUNDS times */
	uint64_t count = ROUNDS * (NTHREADS * (NTHREADS + 1) / 2);
	for (uint32_t k = 0; k < NSHARED; k++) {
		make_stack(pcs, k, 1 + k % 8);
		uint64_t delay = ROUNDS * (NTHREADS * 7ull * k + NTHREADS * (NTHREADS - 1) / 2);
		/* add() gives each add its delay as max: thread NTHREADS-1's is largest */
		uint64_t max = 7ull * k + NTHREADS - 1;
		assert_bucket_key(fkey(k % 2), pcs, 1 + k % 8, count, delay, max);
	}
	for (uint32_t t = 0; t < NTHREADS; t++)
		for (uint32_t u = 0; u < NUNIQUE; u += 17) {
			make_stack(pcs, 100000 + t * NUNIQUE + u, 3);
			assert_bucket_key(fkey(0), pcs, 3, ROUNDS, ROUNDS, 1);
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
	struct event_key key = fkey(0);
	for (uint32_t k = 0; k < 64; k++) {
		make_stack(pcs, k, 2);
		/* each thread its own max: a lost insert race must still raise it */
		uint64_t max = k * NTHREADS + (uint64_t)w->id;
		w->inserted += stacktab_add(&tab, &key, pcs, 2, 1, k, max) == STACKTAB_INSERTED;
	}
	return NULL;
}

Test(stacktab, repeated_insert_races, .timeout = 30)
{
	uint64_t lost_races = 0; /* records a lost race left PENDING */
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
		/* A claim whose holder stayed preempted past CLAIM_WAIT_NS (a
		 * loaded machine) sends the add to a bucket of its own. */
		uint64_t apart = atomic_load(&tab.apart);
		cr_assert_eq(inserted, 64 + apart,
		             "iteration %d: %llu inserts for 64 stacks, %llu apart", iter,
		             (unsigned long long)inserted, (unsigned long long)apart);
		lost_races += assert_file_matches_table();
		uintptr_t pcs[2];
		for (uint32_t k = 0; k < 64; k++) {
			make_stack(pcs, k, 2);
			assert_bucket_key(fkey(0), pcs, 2, NTHREADS, NTHREADS * (uint64_t)k,
			                  k * NTHREADS + NTHREADS - 1);
		}
		tab_unmap();
	}
	cr_assert_gt(lost_races, 0, "200 rounds of 8 threads never lost an insert race");
}

/* Four keys on each of NMAXSTACKS stacks, every thread adding to all of
 * them in its own order with random maxes: the CAS loop that raises max_ns
 * runs against the other threads' raises and against fresh inserts.  Each
 * thread keeps what it gave; the table must end with the sums and the
 * largest max over all threads. */
#define NMAXSTACKS 32
#define NKEYS 4
#define MAXROUNDS 400

struct max_worker {
	int id;
	pthread_barrier_t *start;
	uint64_t full; /* STACKTAB_FULL results (asserted on the main thread) */
	uint64_t delay[NMAXSTACKS][NKEYS];
	uint64_t max[NMAXSTACKS][NKEYS];
};

static struct event_key max_key(int j)
{
	struct event_key k = fkey(0);
	if (j == 1)
		k.lock = LOCK_B;
	else if (j == 2)
		k.view = LC_VIEW_HOLDER;
	else if (j == 3)
		k.kind = LC_KIND_WRLOCK;
	return k;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *max_worker_run(void *arg)
{
	struct max_worker *w = arg;
	uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(w->id + 1);
	uintptr_t pcs[4];
	pthread_barrier_wait(w->start);
	for (int r = 0; r < MAXROUNDS; r++)
		for (int i = 0; i < NMAXSTACKS * NKEYS; i++) {
			int slot = (i + w->id * 13) % (NMAXSTACKS * NKEYS);
			int sidx = slot / NKEYS, j = slot % NKEYS;
			uint64_t v = xorshift(&rng) % 1000000;
			struct event_key k = max_key(j);
			make_stack(pcs, (uint32_t)sidx, 4);
			enum stacktab_result res = stacktab_add(&tab, &k, pcs, 4, 1, v / 2, v);
			w->full += res == STACKTAB_FULL;
			w->delay[sidx][j] += v / 2;
			if (v > w->max[sidx][j])
				w->max[sidx][j] = v;
		}
	return NULL;
}

Test(stacktab, concurrent_adds_keep_keys_apart_and_max_a_max, .timeout = 30)
{
	static struct max_worker w[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t start;
	tab_make(16 << 20, 8);
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].id = t;
		w[t].start = &start;
		cr_assert_eq(pthread_create(&th[t], NULL, max_worker_run, &w[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		cr_assert_eq(w[t].full, 0, "16 MB arena full");
	}
	pthread_barrier_destroy(&start);
	/* plus any made apart: a claim holder preempted past CLAIM_WAIT_NS */
	cr_assert_eq(atomic_load(&tab.nbuckets), NMAXSTACKS * NKEYS + atomic_load(&tab.apart));
	uintptr_t pcs[4];
	for (int sidx = 0; sidx < NMAXSTACKS; sidx++)
		for (int j = 0; j < NKEYS; j++) {
			uint64_t delay = 0, max = 0;
			for (int t = 0; t < NTHREADS; t++) {
				delay += w[t].delay[sidx][j];
				max = w[t].max[sidx][j] > max ? w[t].max[sidx][j] : max;
			}
			make_stack(pcs, (uint32_t)sidx, 4);
			assert_bucket_key(max_key(j), pcs, 4, NTHREADS * MAXROUNDS, delay, max);
		}
}

/* Lockstep: two threads raise the max of one bucket at the same moment,
 * bucket after bucket (a spin barrier between them), so a raise that
 * is a load and a store, not a compare-and-swap, lets a smaller max
 * overwrite a larger one (in ~4% of the buckets on a 2-CPU machine, when
 * tried).  Two threads: a spin barrier needs each on its own CPU. */
#define LOCKSTEP_THREADS 2
#define LOCKSTEP_BUCKETS 200000

static _Atomic uint32_t lockstep_arrived;
static uint64_t lockstep_given[LOCKSTEP_BUCKETS][LOCKSTEP_THREADS];

static void lockstep_wait(uint32_t round)
{
	atomic_fetch_add(&lockstep_arrived, 1);
	for (unsigned spins = 0; atomic_load(&lockstep_arrived) < (round + 1) * LOCKSTEP_THREADS;)
		if (++spins % 1024 == 0)
			sched_yield(); /* fewer CPUs than threads */
}

static void *lockstep_run(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t rng = 0xD1B54A32D192ED03ull * (uint64_t)(id + 1);
	uintptr_t pcs[1];
	struct event_key k = fkey(0);
	for (uint32_t i = 0; i < LOCKSTEP_BUCKETS; i++) {
		uint64_t v = 1 + xorshift(&rng) % 1000;
		lockstep_given[i][id] = v;
		make_stack(pcs, i, 1);
		lockstep_wait(i);
		stacktab_add(&tab, &k, pcs, 1, 1, 0, v);
	}
	return NULL;
}

/* Per stack, summed over its buckets: a claim whose holder stayed
 * preempted past CLAIM_WAIT_NS (a loaded machine) sends the add to a
 * bucket of its own (tab.apart). */
static uint64_t lockstep_count[LOCKSTEP_BUCKETS], lockstep_max[LOCKSTEP_BUCKETS];

static void lockstep_visit(const struct stackbucket *b, void *arg)
{
	uint32_t *seen = arg;
	uint32_t i = (uint32_t)((stackbucket_pcs(b)[0] - 0x400000) / 0x1000);
	(*seen)++;
	lockstep_count[i] += stackbucket_count(b);
	if (stackbucket_max(b) > lockstep_max[i])
		lockstep_max[i] = stackbucket_max(b);
}

Test(stacktab, lockstep_raises_keep_the_largest_max, .timeout = 60)
{
	pthread_t th[LOCKSTEP_THREADS];
	tab_make(64 << 20, 1 << 16);
	atomic_store(&lockstep_arrived, 0);
	/* Every bucket made beforehand (count 0, max 0): the threads only raise. */
	struct event_key k = fkey(0);
	uintptr_t pcs[1];
	for (uint32_t i = 0; i < LOCKSTEP_BUCKETS; i++) {
		make_stack(pcs, i, 1);
		cr_assert_eq(stacktab_add(&tab, &k, pcs, 1, 0, 0, 0), STACKTAB_INSERTED);
	}
	uint64_t apart_before = atomic_load(&tab.apart);
	for (int t = 0; t < LOCKSTEP_THREADS; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, lockstep_run, (void *)(intptr_t)t), 0);
	for (int t = 0; t < LOCKSTEP_THREADS; t++)
		pthread_join(th[t], NULL);
	uint32_t seen = 0, wrong = 0, first_wrong = 0;
	memset(lockstep_count, 0, sizeof(lockstep_count));
	memset(lockstep_max, 0, sizeof(lockstep_max));
	stacktab_foreach(&tab, lockstep_visit, &seen);
	cr_assert_eq(seen, LOCKSTEP_BUCKETS + atomic_load(&tab.apart) - apart_before);
	for (uint32_t i = 0; i < LOCKSTEP_BUCKETS; i++) {
		uint64_t want = 0;
		for (int t = 0; t < LOCKSTEP_THREADS; t++)
			want = lockstep_given[i][t] > want ? lockstep_given[i][t] : want;
		if ((lockstep_max[i] != want || lockstep_count[i] != LOCKSTEP_THREADS) && !wrong++)
			first_wrong = i;
	}
	cr_assert_eq(
	    wrong, 0, "%u stacks wrong; stack %u: max %llu count %llu, the threads gave up to %llu",
	    wrong, first_wrong, (unsigned long long)lockstep_max[first_wrong],
	    (unsigned long long)lockstep_count[first_wrong],
	    (unsigned long long)(lockstep_given[first_wrong][0] > lockstep_given[first_wrong][1]
	                             ? lockstep_given[first_wrong][0]
	                             : lockstep_given[first_wrong][1]));
}

/* A claim held by a thread stopped in the middle of its add (set by hand
 * here): the next adder waits CLAIM_WAIT_NS, then makes a second bucket
 * for the stack, first in its chain, and later adds go there at once; the
 * stuck bucket keeps what it had.  Nothing is lost or counted twice. */
Test(stacktab, a_stuck_claim_makes_a_second_bucket_for_the_stack)
{
	struct event_key k = fkey(0);
	tab_make(1 << 20, 64);
	cr_assert_eq(stacktab_add(&tab, &k, S1, 3, 1, 10, 10), STACKTAB_INSERTED);
	const struct stackbucket *stuck = find_key(k, S1, 3);
	atomic_store((_Atomic uintptr_t *)&stuck->claim, 12345);
	uint64_t t0 = clock_mono_ns();
	cr_assert_eq(stacktab_add(&tab, &k, S1, 3, 2, 20, 20), STACKTAB_INSERTED);
	cr_assert_geq(clock_mono_ns() - t0, CLAIM_WAIT_NS, "it waited for the claim first");
	cr_assert_eq(atomic_load(&tab.apart), 1);
	t0 = clock_mono_ns();
	cr_assert_eq(stacktab_add(&tab, &k, S1, 3, 4, 40, 40), STACKTAB_ADDED);
	cr_assert_lt(clock_mono_ns() - t0, CLAIM_WAIT_NS, "the second bucket is found first");
	cr_assert_eq(stackbucket_count(stuck), 1, "the stuck bucket keeps what it had");
	assert_bucket_key(k, S1, 3, 7, 70, 40); /* the sums of both */
	cr_assert_eq(assert_file_matches_table(), 0);
}

/* The end's count reads only the pages of heads a chain began on (65536
 * heads, 512 KiB, the default: a read of each page never touched mapped
 * it, a fault each), and still counts every bucket. */
Test(stacktab, the_count_reads_only_the_pages_chains_are_on)
{
	tab_make(8u << 20, 65536);
	size_t bytes = 65536 * sizeof(*tab.heads);
	for (uint32_t i = 0; i < 3; i++) {
		uintptr_t pcs[4];
		make_stack(pcs, i, 4);
		cr_assert_eq(add(0, pcs, 4, 1, 10), STACKTAB_INSERTED);
	}
	uintptr_t lo = (uintptr_t)tab.heads & ~(uintptr_t)4095,
	          hi = ((uintptr_t)tab.heads + bytes + 4095) & ~(uintptr_t)4095;
	unsigned char v[(512u << 10) / 4096 + 1];
	size_t mapped[2] = {0, 0};
	for (int k = 0; k < 2; k++) {
		if (k == 1)
			cr_assert_eq(stacktab_count(&tab), 3);
		cr_assert_eq(mincore((void *)lo, hi - lo, v), 0);
		for (size_t i = 0; i < (hi - lo) / 4096; i++)
			mapped[k] += v[i] & 1;
	}
	cr_assert(mapped[0] <= 3 && mapped[1] == mapped[0],
	          "%zu pages of heads mapped before the count, %zu after", mapped[0], mapped[1]);
	stacktab_reset(&tab);
	cr_assert_eq(stacktab_count(&tab), 0);
}
