/*
 * stacktab.c — the lock-free contention table (see stacktab.h).
 */
#include "stacktab.h"

#include <string.h>

int stacktab_init(struct stacktab *t, struct arena *a, struct pfile *f, uint64_t nheads)
{
	t->arena = a;
	t->file = f;
	t->mask = nheads - 1;
	t->heads = arena_alloc(a, nheads * sizeof(*t->heads));
	atomic_store(&t->nbuckets, 0);
	atomic_store(&t->refused, 0);
	return t->heads ? 0 : -1;
}

void stacktab_reset(struct stacktab *t)
{
	memset((void *)t->heads, 0, (t->mask + 1) * sizeof(*t->heads));
	atomic_store(&t->nbuckets, 0);
	atomic_store(&t->refused, 0);
}

uint64_t stacktab_hash(const struct event_key *key, const uintptr_t *pcs, uint32_t n)
{
	uint64_t h = event_key_seed(key) ^ ((uint64_t)n << 32);
	for (uint32_t i = 0; i < n; i++) {
		h ^= pcs[i];
		h *= 0xFF51AFD7ED558CCDull;
		h ^= h >> 32;
	}
	return h;
}

static bool bucket_matches(const struct stackbucket *b, uint64_t hash, const struct event_key *key,
                           const uintptr_t *pcs, uint32_t n)
{
	const struct lc_rec_bucket *r = b->pub;
	_Static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "pcs are stored as they are");
	return b->hash == hash && r->lock == key->lock && r->flags == key->flags &&
	       r->view == key->view && r->kind == key->kind && r->epoch == key->epoch &&
	       r->nframes == n && memcmp(stackbucket_pcs(b), pcs, n * sizeof(uintptr_t)) == 0;
}

/* Search the chain from `from` up to (not including) `stop`. */
static struct stackbucket *chain_find(struct stackbucket *from, struct stackbucket *stop,
                                      uint64_t hash, const struct event_key *key,
                                      const uintptr_t *pcs, uint32_t n)
{
	for (struct stackbucket *b = from; b && b != stop;
	     b = atomic_load_explicit(&b->next, memory_order_acquire))
		if (bucket_matches(b, hash, key, pcs, n))
			return b;
	return NULL;
}

static void bucket_add(struct stackbucket *b, uint64_t count, uint64_t delay_ns, uint64_t max_ns)
{
	_Atomic uint64_t *max = (_Atomic uint64_t *)&b->pub->max_ns;
	atomic_fetch_add_explicit((_Atomic uint64_t *)&b->pub->count, count, memory_order_relaxed);
	atomic_fetch_add_explicit((_Atomic uint64_t *)&b->pub->delay_ns, delay_ns,
	                          memory_order_relaxed);
	uint64_t cur = atomic_load_explicit(max, memory_order_relaxed);
	while (cur < max_ns && !atomic_compare_exchange_weak_explicit(
	                           max, &cur, max_ns, memory_order_relaxed, memory_order_relaxed))
		;
}

/* A new bucket: its node in the arena, its record (still PENDING) in the
 * file.  NULL when either is full. */
static struct stackbucket *bucket_make(struct stacktab *t, uint64_t hash,
                                       const struct event_key *key, const uintptr_t *pcs,
                                       uint32_t n, uint64_t count, uint64_t delay_ns,
                                       uint64_t max_ns)
{
	struct stackbucket *nb = arena_alloc(t->arena, sizeof(*nb));
	struct lc_rec_bucket *r =
	    nb ? pfile_record(t->file, sizeof(*r) + n * sizeof(uint64_t)) : NULL;
	if (!r)
		return NULL;
	nb->hash = hash;
	nb->pub = r;
	r->count = count;
	r->delay_ns = delay_ns;
	r->max_ns = max_ns;
	r->lock = key->lock;
	r->flags = key->flags;
	r->nframes = n;
	r->view = key->view;
	r->kind = key->kind;
	r->epoch = key->epoch;
	memcpy(r + 1, pcs, n * sizeof(uint64_t));
	return nb;
}

enum stacktab_result stacktab_add(struct stacktab *t, const struct event_key *key,
                                  const uintptr_t *pcs, uint32_t n, uint64_t count,
                                  uint64_t delay_ns, uint64_t max_ns)
{
	uint64_t hash = stacktab_hash(key, pcs, n);
	struct stackbucket *_Atomic *head = &t->heads[hash & t->mask];
	struct stackbucket *first = atomic_load_explicit(head, memory_order_acquire);
	struct stackbucket *b = chain_find(first, NULL, hash, key, pcs, n);
	if (b) {
		bucket_add(b, count, delay_ns, max_ns);
		return STACKTAB_ADDED;
	}
	struct stackbucket *nb = bucket_make(t, hash, key, pcs, n, count, delay_ns, max_ns);
	if (!nb) {
		atomic_fetch_add_explicit(&t->refused, 1, memory_order_relaxed);
		return STACKTAB_FULL;
	}
	for (;;) {
		atomic_store_explicit(&nb->next, first, memory_order_relaxed);
		struct stackbucket *seen = first;
		if (atomic_compare_exchange_weak_explicit(head, &first, nb, memory_order_release,
		                                          memory_order_acquire)) {
			pfile_publish(nb->pub, LC_REC_BUCKET);
			atomic_fetch_add_explicit(&t->nbuckets, 1, memory_order_relaxed);
			return STACKTAB_INSERTED;
		}
		/* Someone pushed first: did they push our stack? (nb is abandoned.) */
		b = chain_find(first, seen, hash, key, pcs, n);
		if (b) {
			bucket_add(b, count, delay_ns, max_ns);
			return STACKTAB_ADDED;
		}
	}
}

bool stacktab_add_existing(struct stacktab *t, const struct event_key *key, const uintptr_t *pcs,
                           uint32_t n, uint64_t count, uint64_t delay_ns, uint64_t max_ns)
{
	uint64_t hash = stacktab_hash(key, pcs, n);
	struct stackbucket *first =
	    atomic_load_explicit(&t->heads[hash & t->mask], memory_order_acquire);
	struct stackbucket *b = chain_find(first, NULL, hash, key, pcs, n);
	if (b)
		bucket_add(b, count, delay_ns, max_ns);
	return b != NULL;
}

void stacktab_foreach(const struct stacktab *t, void (*fn)(const struct stackbucket *, void *),
                      void *ctx)
{
	for (uint64_t i = 0; i <= t->mask; i++)
		for (struct stackbucket *b =
		         atomic_load_explicit(&t->heads[i], memory_order_acquire);
		     b; b = atomic_load_explicit(&b->next, memory_order_acquire))
			fn(b, ctx);
}
