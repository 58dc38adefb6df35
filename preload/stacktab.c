/*
 * stacktab.c — the lock-free contention table (see stacktab.h).
 */
#include "stacktab.h"

#include <string.h>

#include "step.h"

int stacktab_init(struct stacktab *t, struct arena *a, struct pfile *f, uint64_t nheads)
{
	t->arena = a;
	t->file = f;
	t->mask = nheads - 1;
	t->heads = arena_alloc(a, nheads * sizeof(*t->heads));
	touched_clear(&t->touched, (const void *)t->heads, (t->mask + 1) * sizeof(*t->heads));
	atomic_store(&t->nbuckets, 0);
	atomic_store(&t->refused, 0);
	atomic_store(&t->apart, 0);
	return t->heads ? 0 : -1;
}

void stacktab_reset(struct stacktab *t)
{
	/* whole pages given back, not written: a fork child of a process
	 * that never contended touched none of them (512 KiB by default: a
	 * memset here was most of a preloaded shell's fork) */
	arena_zero((void *)t->heads, (t->mask + 1) * sizeof(*t->heads));
	touched_clear(&t->touched, (const void *)t->heads, (t->mask + 1) * sizeof(*t->heads));
	atomic_store(&t->nbuckets, 0);
	atomic_store(&t->refused, 0);
	atomic_store(&t->apart, 0);
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

/* Does the chain from `from` hold nb? */
static bool chain_holds(struct stackbucket *from, const struct stackbucket *nb)
{
	for (struct stackbucket *b = from; b;
	     b = atomic_load_explicit(&b->next, memory_order_acquire))
		if (b == nb)
			return true;
	return false;
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
	atomic_store_explicit(&nb->claim, 0, memory_order_relaxed);
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

static enum stacktab_result op_done(struct stacktab_op *op, enum stacktab_result r)
{
	op->result = r;
	atomic_store(&op->state, STACKTAB_OP_DONE);
	return r;
}

static void op_add_to(struct stacktab_op *op, struct stackbucket *b, uintptr_t me, uint64_t count,
                      uint64_t delay_ns, uint64_t max_ns)
{
	claim_add_set(&op->add, &b->claim, me, &b->pub->count, &b->pub->delay_ns, &b->pub->max_ns,
	              count, delay_ns, max_ns);
	atomic_store(&op->state, STACKTAB_OP_ADD);
}

/* INSERT: push op->nb (unless a jump came after it was pushed).  A bucket
 * for the stack pushed meanwhile by another thread takes the add instead
 * (ADD; nb is abandoned), unless nb is to stand apart from a bucket whose
 * claim is stuck. */
static enum stacktab_result op_insert(struct stacktab *t, struct stacktab_op *op, uintptr_t me,
                                      const struct event_key *key, const uintptr_t *pcs, uint32_t n)
{
	struct stackbucket *nb = op->nb;
	struct stackbucket *_Atomic *head = &t->heads[nb->hash & t->mask];
	struct stackbucket *first = atomic_load_explicit(head, memory_order_acquire);
	if (!chain_holds(first, nb)) {
		struct stackbucket *stop = NULL; /* all of it, the first time: we may have jumped */
		for (;;) {
			struct stackbucket *b =
			    op->apart ? NULL : chain_find(first, stop, nb->hash, key, pcs, n);
			if (b) {
				op_add_to(op, b, me, nb->pub->count, nb->pub->delay_ns,
				          nb->pub->max_ns);
				if (claim_add_run(&op->add))
					return op_done(op, STACKTAB_ADDED);
				op->apart = 1; /* stuck: nb after all, nothing added to b */
				atomic_fetch_add_explicit(&t->apart, 1, memory_order_relaxed);
				atomic_store(&op->state, STACKTAB_OP_INSERT);
				continue;
			}
			atomic_store_explicit(&nb->next, first, memory_order_relaxed);
			stop = first;
			if (!first)
				touched_mark(&t->touched, (const void *)head);
			if (atomic_compare_exchange_weak_explicit(
			        head, &first, nb, memory_order_release, memory_order_acquire))
				break;
		}
	}
	pfile_publish(nb->pub, LC_REC_BUCKET);
	atomic_fetch_add_explicit(&t->nbuckets, 1, memory_order_relaxed);
	return op_done(op, STACKTAB_INSERTED);
}

/* A new bucket for the op to push; FULL (the op idle again) if no room. */
static enum stacktab_result op_make(struct stacktab *t, struct stacktab_op *op, uintptr_t me,
                                    uint64_t hash, const struct event_key *key,
                                    const uintptr_t *pcs, uint32_t n, uint64_t count,
                                    uint64_t delay_ns, uint64_t max_ns, bool apart)
{
	struct stackbucket *nb = bucket_make(t, hash, key, pcs, n, count, delay_ns, max_ns);
	if (!nb) {
		atomic_fetch_add_explicit(&t->refused, 1, memory_order_relaxed);
		atomic_store(&op->state, STACKTAB_OP_IDLE);
		return STACKTAB_FULL;
	}
	if (apart)
		atomic_fetch_add_explicit(&t->apart, 1, memory_order_relaxed);
	op->nb = nb;
	op->apart = apart;
	lc_step();
	atomic_store(&op->state, STACKTAB_OP_INSERT);
	lc_step();
	return op_insert(t, op, me, key, pcs, n);
}

enum stacktab_result stacktab_publish(struct stacktab *t, struct stacktab_op *op, uintptr_t me,
                                      const struct event_key *key, const uintptr_t *pcs, uint32_t n,
                                      uint64_t count, uint64_t delay_ns, uint64_t max_ns,
                                      bool only_existing)
{
	uint64_t hash = stacktab_hash(key, pcs, n);
	switch (atomic_load(&op->state)) {
	case STACKTAB_OP_DONE: return (enum stacktab_result)op->result;
	case STACKTAB_OP_INSERT: return op_insert(t, op, me, key, pcs, n);
	case STACKTAB_OP_IDLE: {
		struct stackbucket *first =
		    atomic_load_explicit(&t->heads[hash & t->mask], memory_order_acquire);
		struct stackbucket *b = chain_find(first, NULL, hash, key, pcs, n);
		if (!b && only_existing)
			return STACKTAB_ABSENT;
		if (!b)
			return op_make(t, op, me, hash, key, pcs, n, count, delay_ns, max_ns,
			               false);
		op_add_to(op, b, me, count, delay_ns, max_ns);
	}
		/* fall through */
	default: /* ADD */
		if (claim_add_run(&op->add))
			return op_done(op, STACKTAB_ADDED);
		/* its claim is stuck, nothing added: a second bucket */
		return op_make(t, op, me, hash, key, pcs, n, count, delay_ns, max_ns, true);
	}
}

enum stacktab_result stacktab_add(struct stacktab *t, const struct event_key *key,
                                  const uintptr_t *pcs, uint32_t n, uint64_t count,
                                  uint64_t delay_ns, uint64_t max_ns)
{
	struct stacktab_op op = {0};
	return stacktab_publish(t, &op, (uintptr_t)&op, key, pcs, n, count, delay_ns, max_ns,
	                        false);
}

bool stacktab_add_existing(struct stacktab *t, const struct event_key *key, const uintptr_t *pcs,
                           uint32_t n, uint64_t count, uint64_t delay_ns, uint64_t max_ns)
{
	struct stacktab_op op = {0};
	return stacktab_publish(t, &op, (uintptr_t)&op, key, pcs, n, count, delay_ns, max_ns,
	                        true) != STACKTAB_ABSENT;
}

uint64_t stacktab_count(const struct stacktab *t)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i <= t->mask; i++)
		for (struct stackbucket *b =
		         touched_maybe(&t->touched, (const void *)&t->heads[i])
		             ? atomic_load_explicit(&t->heads[i], memory_order_acquire)
		             : NULL;
		     b; b = atomic_load_explicit(&b->next, memory_order_acquire))
			n++;
	return n;
}

void stacktab_foreach(const struct stacktab *t, void (*fn)(const struct stackbucket *, void *),
                      void *ctx)
{
	for (uint64_t i = 0; i <= t->mask; i++)
		for (struct stackbucket *b =
		         touched_maybe(&t->touched, (const void *)&t->heads[i])
		             ? atomic_load_explicit(&t->heads[i], memory_order_acquire)
		             : NULL;
		     b; b = atomic_load_explicit(&b->next, memory_order_acquire))
			fn(b, ctx);
}
