/*
 * recorder.h — the profiler's core, behind a small C API the hooks call.
 *
 * The hooks (hooks.c) own the fast path: they try the real lock without
 * waiting and, when that works, only bump the thread's held count.  When it
 * fails they call into the recorder:
 *
 *   recorder_begin   before the real blocking call: decide whether this
 *                    event is sampled (1 in rate), read the clock, capture
 *                    the stack into the thread's spare stash buffer;
 *   recorder_end     after it, usually holding the lock: measure the wait
 *                    and note it in TLS, nothing more;
 *   recorder_flush   when the thread holds no mutex any more (and at thread
 *                    exit and dump time): settle the noted event (count it
 *                    in the thread's totals, offer it to the thread's stash
 *                    by the keep-one rule, or charge it to the sentinel) and
 *                    merge the stash into the shared table — outside every
 *                    critical section.  An event noted while the thread
 *                    still holds other mutexes is settled before its next
 *                    wait instead.
 *
 * Per-thread state is in TLS (initial-exec) and in an arena slot (slots.h).
 * Everything the recorder does runs inside lc_tls.guard, so pthread calls
 * made by libunwind, the loader or a signal handler meanwhile go straight to
 * glibc; contention they meet is timed and charged to the sentinel
 * (LC_LOST_REENTRANT), never recorded as an application stack.
 */
#ifndef LOCKCONTEND_RECORDER_H
#define LOCKCONTEND_RECORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct slot;

struct lc_tls {
	uint32_t locks;     /* interposed mutexes acquired by this thread ... */
	uint32_t unlocks;   /* ... and released: held = locks - unlocks */
	int32_t tid;        /* gettid(), cached for the inline fast path; 0: not yet */
	uint32_t guard;     /* > 0 while inside lockcontend */
	uint8_t pending;    /* an event to settle or a stash to merge */
	uint8_t raw;        /* the raw_* event is measured, not yet settled */
	uint8_t sampling;   /* between recorder_begin and recorder_end */
	uint8_t overflow;   /* slot is the shared overflow slot (no stash) */
	struct slot *slot;
	uint64_t rng;
	uint64_t raw_count;   /* the last measured event (see recorder_end) */
	uint64_t raw_delay;
	uint32_t raw_flags;
	uint32_t raw_nframes; /* its frames are in the stash's spare buffer */
	_Atomic uint64_t reent_count; /* contention inside our own work, */
	_Atomic uint64_t reent_delay; /* folded into the slot later */
};

extern __thread struct lc_tls lc_tls __attribute__((tls_model("initial-exec")));

/* Mutexes the thread holds.  Two counters rather than one: lock and unlock
 * each add to their own, so an uncontended lock/unlock loop carries no
 * read-modify-write chain through one memory word (that chain alone cost
 * more than glibc's whole single-threaded lock).  A mutex unlocked by a
 * thread other than its locker makes a count negative: <= 0 means "holds
 * nothing we know of". */
static inline int32_t lc_held(const struct lc_tls *t)
{
	return (int32_t)(t->locks - t->unlocks);
}

enum recorder_outcome {
	RECORDER_ACQUIRED, /* the lock was taken after a wait */
	RECORDER_TIMEDOUT, /* a timed/clock lock gave up: the time was lost */
	RECORDER_DISCARD,  /* an error, not a wait (EDEADLK, EINVAL...) */
};

struct recorder_sample {
	uint64_t t0;
	uint32_t nframes;
	uint32_t flags; /* LC_BUCKET_TRUNCATED */
	uint32_t rate;
	uint8_t active; /* recorder_begin chose to record this event */
};

/* Constructor-time set-up; also run lazily by the first contention. */
void recorder_init(void);

/* Exit-time dump (library destructor).  Idempotent. */
void recorder_dump(void);

/* The slow path of every lock hook.  s->active tells whether end must be
 * called; begin preserves errno, end touches only TLS. */
void recorder_begin(struct lc_tls *t, struct recorder_sample *s);
void recorder_end(struct lc_tls *t, struct recorder_sample *s, enum recorder_outcome o);

/* Merge the thread's stash; call when lc_held drops to 0 with pending set. */
void recorder_flush(struct lc_tls *t);

/* Contention met inside the guard (our own work, or a signal handler that
 * interrupted it): charged to the sentinel. */
void recorder_reentrant(struct lc_tls *t, uint64_t delay_ns);

uint64_t recorder_now(void);

#endif
