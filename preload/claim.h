/*
 * claim.h — adding to counters that other threads add to, so that a
 * thread that stops or jumps away at any instruction of it can still be
 * told whether its add was made.
 *
 * A plain atomic add cannot be told: a signal handler that siglongjmps out
 * between the add and the note that it was made leaves both stories
 * possible, and redoing the add counts it twice while giving it up may
 * count it never.  So a record's counters (a bucket's, a lock's LOCK_LOST
 * entry) are written by one thread at a time, the holder of the record's
 * claim word, and each add runs as a small state machine in memory the
 * thread owns (struct claim_add, in its slot's log: account.h):
 *
 *   TAKING   the add is wanted; the claim may be ours or not yet (a
 *            compare-and-swap from 0 to `me`: ours exactly when the word
 *            says so).  Nothing is written while TAKING.
 *   WRITING  ours, and old/new were read and computed under it: no other
 *            thread writes the counters until we let go, so each counter
 *            holds old (not written yet) or new (written); each is moved by
 *            a compare-and-swap from old to new, which a second try finds
 *            done.  Then the claim is let go (compare-and-swap from me).
 *   RELEASE  written; the claim let go or about to be.
 *
 * claim_add_run takes it from wherever it stands to the end, so the thread
 * itself, after a jump (account_repair), finishes an add it was in the
 * middle of: exactly once, whatever instruction it stopped at.  Every
 * counter only grows (a zero add writes nothing), so a stale old can never
 * match again.
 *
 * A claim is held for a few dozen instructions and never taken from its
 * holder: a thread that finds it held waits at most CLAIM_WAIT_NS (the
 * holder was preempted), then gives up and the caller adds into a second
 * record of the same key, which later adders find first (readers add up
 * records of one key: docs/format.md).  Only a holder stopped for longer
 * in the middle — a collector's suspend handler — makes one.
 *
 * No allocation, no system call but sched_yield while waiting; the
 * compiler's view of the order of the steps is what matters (a signal
 * handler on the same thread reads them), so each step is an atomic store.
 */
#ifndef LOCKCONTEND_CLAIM_H
#define LOCKCONTEND_CLAIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "step.h"

#define CLAIM_WAIT_NS (100 * 1000 * 1000ull) /* a holder preempted on a loaded machine */
#define CLAIM_SPINS 4096                     /* tries before the first yield */

enum { CLAIM_IDLE = 0, CLAIM_TAKING, CLAIM_WRITING, CLAIM_RELEASE };
enum { CLAIM_COUNT, CLAIM_DELAY, CLAIM_MAX, CLAIM_MORE, CLAIM_WORDS };

struct claim_add {
	_Atomic uint32_t state;
	_Atomic uintptr_t *claim;
	uintptr_t me;
	_Atomic uint64_t *word[CLAIM_WORDS]; /* count, delay, max, more (NULL: none) */
	uint64_t arg[CLAIM_WORDS];           /* added to count, delay and more; max raised to it */
	uint64_t old[CLAIM_WORDS], new[CLAIM_WORDS];
};

/* Wait (bounded) for the claim; true when it is ours. */
static inline bool claim_take(_Atomic uintptr_t *claim, uintptr_t me)
{
	uint64_t deadline = 0;
	for (int spins = 0;; spins++) {
		uintptr_t free = 0;
		if (atomic_load_explicit(claim, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(claim, &free, me))
			return true;
		if (spins >= CLAIM_SPINS && !clock_wait_turn(&deadline, CLAIM_WAIT_NS))
			return false;
	}
}

/* Ask for an add (count and delay added, max raised to max; and, with
 * claim_add_set_more, a fourth word `more` added to) to a record under
 * `claim`; nothing is done until claim_add_run.  The words are written in
 * their order (count first), so a reader between two sees the first
 * added and the next not yet. */
static inline void claim_add_set_more(struct claim_add *a, _Atomic uintptr_t *claim, uintptr_t me,
                                      uint64_t *count, uint64_t *delay, uint64_t *max,
                                      uint64_t *more, uint64_t c, uint64_t d, uint64_t m,
                                      uint64_t mo)
{
	a->claim = claim;
	a->me = me;
	a->word[CLAIM_COUNT] = (_Atomic uint64_t *)count;
	a->word[CLAIM_DELAY] = (_Atomic uint64_t *)delay;
	a->word[CLAIM_MAX] = (_Atomic uint64_t *)max;
	a->word[CLAIM_MORE] = (_Atomic uint64_t *)more;
	a->arg[CLAIM_COUNT] = c;
	a->arg[CLAIM_DELAY] = d;
	a->arg[CLAIM_MAX] = m;
	a->arg[CLAIM_MORE] = mo;
	atomic_store(&a->state, CLAIM_TAKING);
}

static inline void claim_add_set(struct claim_add *a, _Atomic uintptr_t *claim, uintptr_t me,
                                 uint64_t *count, uint64_t *delay, uint64_t *max, uint64_t c,
                                 uint64_t d, uint64_t m)
{
	claim_add_set_more(a, claim, me, count, delay, max, NULL, c, d, m, 0);
}

/* Take the add from where it stands to the end.  False: the claim stayed
 * with another thread past CLAIM_WAIT_NS (still TAKING, nothing written,
 * the claim not ours): the caller adds elsewhere, or gives up. */
static inline bool claim_add_run(struct claim_add *a)
{
	uint32_t st = atomic_load(&a->state);
	if (st == CLAIM_TAKING) {
		if (atomic_load(a->claim) != a->me && !claim_take(a->claim, a->me))
			return false;
		lc_step();
		for (int w = 0; w < CLAIM_WORDS; w++) {
			if (!a->word[w])
				continue;
			uint64_t o = atomic_load_explicit(a->word[w], memory_order_relaxed);
			a->old[w] = o;
			a->new[w] =
			    w == CLAIM_MAX ? (o > a->arg[w] ? o : a->arg[w]) : o + a->arg[w];
		}
		lc_step();
		atomic_store(&a->state, st = CLAIM_WRITING);
		lc_step();
	}
	if (st == CLAIM_WRITING) {
		/* Ours until RELEASE: nobody else moved the counters. */
		for (int w = 0; w < CLAIM_WORDS; w++) {
			uint64_t o = a->old[w];
			if (a->word[w] && a->new[w] != o)
				atomic_compare_exchange_strong_explicit(a->word[w], &o, a->new[w],
				                                        memory_order_relaxed,
				                                        memory_order_relaxed);
			lc_step();
		}
		atomic_store(&a->state, st = CLAIM_RELEASE);
		lc_step();
	}
	if (st == CLAIM_RELEASE) {
		uintptr_t me = a->me;
		atomic_compare_exchange_strong(a->claim, &me, 0);
		lc_step();
		atomic_store(&a->state, CLAIM_IDLE);
	}
	return true;
}

static inline bool claim_add_idle(const struct claim_add *a)
{
	return atomic_load(&a->state) == CLAIM_IDLE;
}

#endif
