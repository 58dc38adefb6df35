/*
 * stash.h — one thread's pending contention record, and the keep-one rule.
 *
 * As in Go's runtime (m.mLockProfile), each thread keeps at most one stack
 * with its count and delay until it is safe to publish it into the shared
 * table — one stash per view, so a thread's waits and its charged unlocks
 * do not compete (account.h says when: before a later event brings
 * another stack, a bound after the view's last publish, at exit).
 * When a second event arrives while the stash is still full:
 *   - the same stack and event key (event.h) just adds to the stash;
 *   - otherwise one of the two survives, drawn at random weighted by delay
 *     (score_old = r1 % old_delay, score_new = r2 % new_delay; the new one
 *     loses if score_old > score_new), so the larger usually survives, and
 *     the loser's count and delay are returned as lost: nothing vanishes.
 *
 * A stash has two frame buffers: the incoming stack is unwound into the
 * spare one before the wait, and keeping it is a flip of an index, not a
 * copy.  Pure code: owned by one thread, no locking, no allocation.
 */
#ifndef LOCKCONTEND_STASH_H
#define LOCKCONTEND_STASH_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "lockcontend/dumpfmt.h"

#define STASH_SLACK 16 /* extra room for our own frames, skipped later */

struct stash {
	uint64_t count; /* 0: empty */
	uint64_t delay_ns;
	uint64_t max_ns;            /* longest single event added */
	struct event_key key;       /* of the kept event */
	struct event_key spare_key; /* of the incoming event */
	uint32_t nframes;
	uint32_t cur;          /* index of the buffer holding the kept stack */
	uint32_t spare_n;      /* frames of the incoming stack in the spare buffer */
	uint32_t known;        /* the kept stack's objects are in the module map
	                        * (account.c looks once a stack) */
	uint64_t published_ns; /* when its view's stash last went to the table
	                        * (account.c: the coalescing bound); kept by
	                        * stash_clear */
	uintptr_t frames[2][LC_DUMP_MAX_DEPTH + STASH_SLACK];
};

/* The buffer to unwind the next incoming stack into. */
static inline uintptr_t *stash_spare(struct stash *s)
{
	return s->frames[s->cur ^ 1];
}

static inline const uintptr_t *stash_frames(const struct stash *s)
{
	return s->frames[s->cur];
}

static inline bool stash_full(const struct stash *s)
{
	return s->count != 0;
}

/* Offer the incoming event (its stack already in the spare buffer:
 * spare_n frames, spare_key); max_ns is its longest single wait (delay_ns
 * may be scaled by a sampling rate).  rng points at the thread's PRNG state.
 * On return, *lost_count and *lost_delay hold what was charged to the sentinel
 * (zero if nothing was).  True when the stash now holds the incoming stack
 * alone (it was empty, or the incoming event won the draw). */
bool stash_offer(struct stash *s, uint64_t count, uint64_t delay_ns, uint64_t max_ns, uint64_t *rng,
                 uint64_t *lost_count, uint64_t *lost_delay);

/* Does the incoming event (spare_key, spare_n frames in the spare buffer)
 * have the kept one's key and stack?  Only meaningful while it is full. */
bool stash_same(const struct stash *s);

/* Empty the stash (after its content was published). */
void stash_clear(struct stash *s);

/* xorshift64*: a small, fast per-thread PRNG; *state must be non-zero. */
uint64_t stash_rand(uint64_t *state);

#endif
