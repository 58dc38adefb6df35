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
 * gets one bucket (the lost allocation is abandoned in the arena, and its record stays PENDING in
 * the file, which readers skip: a few hundred bytes at worst).
 *
 * Adds to a bucket that is there are claimed adds (claim.h): its counters
 * are moved by one thread at a time, so that a thread that a signal
 * handler jumps out of anywhere in its add can finish it, exactly once
 * (account_repair).  The claim is held for a few dozen instructions; a
 * thread that finds it held past CLAIM_WAIT_NS (its holder stopped in the
 * middle) pushes a second bucket for the stack, first in the chain, and
 * later adds go there: readers add up buckets of one key.  So the table
 * never waits for long, never for good, and it may be used from any
 * thread, with any lock held, or from a signal handler.
 *
 * An add runs as a stacktab_op in memory the caller owns (its slot's log):
 * stacktab_publish, called again with the same op and arguments after a
 * jump out of it, takes it from where it stopped to the end.
 *
 * A reader that wants a consistent snapshot (the dump) must first stop the
 * writers (collect.c does).
 */
#ifndef LOCKCONTEND_STACKTAB_H
#define LOCKCONTEND_STACKTAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "claim.h"
#include "event.h"
#include "pfile.h"
#include "touched.h"

struct stackbucket {
	struct stackbucket *_Atomic next;
	uint64_t hash;
	struct lc_rec_bucket *pub; /* followed by uint64_t pc[pub->nframes] */
	_Atomic uintptr_t claim;   /* who is adding to pub's counters (claim.h) */
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
	_Atomic uint64_t nbuckets; /* as they are pushed: a jump may miss one (stacktab_count) */
	_Atomic uint64_t refused;  /* inserts refused because the arena was full */
	_Atomic uint64_t apart;    /* second buckets of a stack whose claim was stuck */
	struct touched touched;    /* pages of heads with a chain (stacktab_count) */
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
	STACKTAB_ABSENT,   /* only_existing, and no bucket: nothing added */
};

/* One add in progress, in memory its thread owns.  IDLE: none; ADD: a
 * claimed add to a bucket that is there (add); INSERT: nb, filled, is
 * being pushed on its chain (pushed if it is in the chain); DONE: made
 * (result), until stacktab_op_clear. */
enum { STACKTAB_OP_IDLE, STACKTAB_OP_ADD, STACKTAB_OP_INSERT, STACKTAB_OP_DONE };
struct stacktab_op {
	_Atomic uint32_t state;
	uint16_t result;
	uint16_t apart; /* nb stands apart from a bucket whose claim is stuck */
	struct stackbucket *nb;
	struct claim_add add;
};

/* Add (count, delay) to the bucket of (key, stack), raising its max to
 * max_ns; make the bucket if there is none (only_existing: do not, and
 * return ABSENT).  me: the caller's claim (claim.h), op its op (IDLE or
 * DONE to start; DONE says what was made, until stacktab_op_clear).  Called
 * again with the same op and arguments after a jump out of it, it finishes
 * that add: FULL and ABSENT only ever come from an op that had added
 * nothing. */
enum stacktab_result stacktab_publish(struct stacktab *t, struct stacktab_op *op, uintptr_t me,
                                      const struct event_key *key, const uintptr_t *pcs, uint32_t n,
                                      uint64_t count, uint64_t delay_ns, uint64_t max_ns,
                                      bool only_existing);

static inline void stacktab_op_clear(struct stacktab_op *op)
{
	atomic_store(&op->state, STACKTAB_OP_IDLE);
}

/* stacktab_publish with an op of its own, for callers that are not
 * jumped out of (tests, the dumper's own use). */
enum stacktab_result stacktab_add(struct stacktab *t, const struct event_key *key,
                                  const uintptr_t *pcs, uint32_t n, uint64_t count,
                                  uint64_t delay_ns, uint64_t max_ns);

/* Add to the bucket of (key, stack) only if there is one already (no
 * record made, nothing appended): true if there was. */
bool stacktab_add_existing(struct stacktab *t, const struct event_key *key, const uintptr_t *pcs,
                           uint32_t n, uint64_t count, uint64_t delay_ns, uint64_t max_ns);

/* Buckets in the table, counted (exact, unlike nbuckets). */
uint64_t stacktab_count(const struct stacktab *t);

/* Call fn for every bucket, in no particular order. */
void stacktab_foreach(const struct stacktab *t, void (*fn)(const struct stackbucket *, void *),
                      void *ctx);

uint64_t stacktab_hash(const struct event_key *key, const uintptr_t *pcs, uint32_t n);

#endif
