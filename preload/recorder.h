/*
 * recorder.h — the profiler's core, behind a small C API the hooks call.
 *
 * The hooks (hooks.c) own the fast path: they try the lock without
 * waiting and, when that works, only count the acquisition in TLS.  When it
 * fails they call into the recorder:
 *
 *   recorder_begin   before the real blocking call, overlapping the wait:
 *                    decide whether this event is sampled (1 in rate), read
 *                    the clock, settle the thread's previous event (count
 *                    it in the thread's totals, offer it to its stash by the
 *                    keep-one rule, or charge it to the sentinel), merge the
 *                    stash into the shared table if the thread holds no
 *                    mutex, and capture the stack into the spare buffer;
 *   recorder_end     after it, usually holding the lock: read the clock and
 *                    note the event in the thread's slot, nothing more;
 *   recorder_flush   at thread exit and dump time: settle and merge.
 *
 * Unlocks never call the recorder: no bookkeeping lengthens or follows a
 * critical section.  The dumper settles the events still noted in slots.
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
	uint8_t sampling;   /* between recorder_begin and recorder_end */
	uint8_t overflow;   /* slot is the shared overflow slot (no stash) */
	uint8_t in_phdr;    /* inside an application's dl_iterate_phdr */
	struct slot *slot;
	uint64_t rng;
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

/* Settle the thread's noted event and merge its stash: at thread exit and
 * at dump time. */
void recorder_flush(struct lc_tls *t);

/* Contention met inside the guard (our own work, or a signal handler that
 * interrupted it): charged to the sentinel. */
void recorder_reentrant(struct lc_tls *t, uint64_t delay_ns);

uint64_t recorder_now(void);

/* Around an application's dl_iterate_phdr (see recorder.c). */
void recorder_phdr_enter(struct lc_tls *t);
void recorder_phdr_leave(struct lc_tls *t);

#endif
