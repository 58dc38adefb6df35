/*
 * stacktab.c — the lock-free contention table (see stacktab.h).
 */
#include "stacktab.h"

#include <string.h>

int stacktab_init(struct stacktab *t, struct arena *a, uint64_t nheads)
{
	t->arena = a;
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

static bool bucket_matches(const struct stackbucket *b, uint64_t hash,
                           const struct event_key *key, const uintptr_t *pcs, uint32_t n)
{
	return b->hash == hash && event_key_equal(&b->key, key) && b->nframes == n &&
	       memcmp(b->pcs, pcs, n * sizeof(uintptr_t)) == 0;
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

static void bucket_add(struct stackbucket *b, uint64_t count, uint64_t delay_ns,
                       uint64_t max_ns)
{
	atomic_fetch_add_explicit(&b->count, count, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->delay_ns, delay_ns, memory_order_relaxed);
	uint64_t cur = atomic_load_explicit(&b->max_ns, memory_order_relaxed);
	while (cur < max_ns && !atomic_compare_exchange_weak_explicit(
	                           &b->max_ns, &cur, max_ns, memory_order_relaxed,
	                           memory_order_relaxed))
		;
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
	struct stackbucket *nb = arena_alloc(t->arena, sizeof(*nb) + n * sizeof(uintptr_t));
	if (!nb) {
		atomic_fetch_add_explicit(&t->refused, 1, memory_order_relaxed);
		return STACKTAB_FULL;
	}
	nb->hash = hash;
	nb->key = *key;
	nb->nframes = n;
	memcpy(nb->pcs, pcs, n * sizeof(uintptr_t));
	atomic_store_explicit(&nb->count, count, memory_order_relaxed);
	atomic_store_explicit(&nb->delay_ns, delay_ns, memory_order_relaxed);
	atomic_store_explicit(&nb->max_ns, max_ns, memory_order_relaxed);
	for (;;) {
		atomic_store_explicit(&nb->next, first, memory_order_relaxed);
		struct stackbucket *seen = first;
		if (atomic_compare_exchange_weak_explicit(head, &first, nb, memory_order_release,
		                                          memory_order_acquire)) {
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

void stacktab_foreach(const struct stacktab *t, void (*fn)(const struct stackbucket *, void *),
                      void *ctx)
{
	for (uint64_t i = 0; i <= t->mask; i++)
		for (struct stackbucket *b = atomic_load_explicit(&t->heads[i], memory_order_acquire); b;
		     b = atomic_load_explicit(&b->next, memory_order_acquire))
			fn(b, ctx);
}
