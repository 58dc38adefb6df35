/*
 * stacktab.h — the contention table: stack -> {count, delay}, mprof-style.
 *
 *   heads[hash & mask] -> bucket -> bucket -> ... (singly linked, push-front)
 *   bucket = {next, hash, pub}   (private memory, the arena)
 *   pub    = an LC_REC_BUCKET record in the profile file (pfile.h):
 *            {count, delay_ns, max_ns, lock, flags, nframes, view, kind,
 *             epoch, pc[nframes]}, its counters updated in place
 *
 * A bucket is keyed by its stack and its event key (event.h: view, kind,
 * lock address, flags), so the waits for two locks at one call site, or a
 * wait and a charge from one stack, stay apart.
 *
 * A bucket's node and record are allocated once and never freed or moved.  Lookup takes no lock.
 * Insert takes no lock either: the new bucket is filled, then published with a compare-and-swap on
 * its chain's head; a thread that loses the race re-checks the entries pushed meanwhile, so a stack
 * never gets two buckets (the lost allocation is abandoned in the arena, and its record stays
 * PENDING in the file, which readers skip: a few hundred bytes at worst).  So the table never
 * blocks and never contends with itself, and it may be used from any thread, with any lock held, or
 * from a signal handler.
 *
 * Counters are added with relaxed atomics; a reader that wants a consistent
 * snapshot (the dump) must first stop the writers (collect.c does).
 */
#ifndef LOCKCONTEND_STACKTAB_H
#define LOCKCONTEND_STACKTAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "event.h"
#include "pfile.h"

struct stackbucket {
	struct stackbucket *_Atomic next;
	uint64_t hash;
	struct lc_rec_bucket *pub; /* followed by uint64_t pc[pub->nframes] */
};

static inline const uint64_t *stackbucket_pcs(const struct stackbucket *b)
{
	return (const uint64_t *)(b->pub + 1);
}

static inline uint64_t stackbucket_count(const struct stackbucket *b)
{
	return atomic_load_explicit((_Atomic uint64_t *)&b->pub->count, memory_order_relaxed);
}

static inline uint64_t stackbucket_delay(const struct stackbucket *b)
{
	return atomic_load_explicit((_Atomic uint64_t *)&b->pub->delay_ns, memory_order_relaxed);
}

static inline uint64_t stackbucket_max(const struct stackbucket *b)
{
	return atomic_load_explicit((_Atomic uint64_t *)&b->pub->max_ns, memory_order_relaxed);
}

struct stacktab {
	struct stackbucket *_Atomic *heads;
	uint64_t mask;
	struct arena *arena;
	struct pfile *file;
	_Atomic uint64_t nbuckets;
	_Atomic uint64_t refused; /* inserts refused because the arena was full */
};

/* Allocate nheads (a power of two) chain heads from the arena; buckets'
 * records go to f. */
int stacktab_init(struct stacktab *t, struct arena *a, struct pfile *f, uint64_t nheads);

/* Forget every bucket (the arena is reset separately). */
void stacktab_reset(struct stacktab *t);

enum stacktab_result {
	STACKTAB_ADDED,    /* added to an existing bucket */
	STACKTAB_INSERTED, /* a new bucket was made for this stack */
	STACKTAB_FULL,     /* new stack, no room: nothing added, refused++ */
};

/* Add (count, delay) to the bucket of (key, stack), raising its max to
 * max_ns; make the bucket if there is none. */
enum stacktab_result stacktab_add(struct stacktab *t, const struct event_key *key,
                                  const uintptr_t *pcs, uint32_t n, uint64_t count,
                                  uint64_t delay_ns, uint64_t max_ns);

/* Add to the bucket of (key, stack) only if there is one already (no
 * record made, nothing appended): true if there was. */
bool stacktab_add_existing(struct stacktab *t, const struct event_key *key, const uintptr_t *pcs,
                           uint32_t n, uint64_t count, uint64_t delay_ns, uint64_t max_ns);

/* Call fn for every bucket, in no particular order. */
void stacktab_foreach(const struct stacktab *t, void (*fn)(const struct stackbucket *, void *),
                      void *ctx);

uint64_t stacktab_hash(const struct event_key *key, const uintptr_t *pcs, uint32_t n);

#endif
