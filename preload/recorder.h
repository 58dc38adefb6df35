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
 *                    it in the thread's totals, offer it to its view's stash
 *                    by the keep-one rule, or charge it to the sentinel),
 *                    publish what is due into the shared table (account.h),
 *                    and capture the stack into the spare buffer;
 *                    then, sampled or not, show the wait in the slot's
 *                    WAITING record (waiting.h) until recorder_end;
 *   recorder_end     after it, usually holding the lock: read the clock and
 *                    note the event in the thread's slot, nothing more;
 *   recorder_flush   at thread exit and dump time: settle and publish.
 *
 * Waits are the waiter view.  The holder view and hold times come from
 * unlocks, which call the recorder only when recorder_unlock_watched says
 * so: the lock is the one whose critical section this thread is timing
 * (a hold-time sample, started by 1 in `hold` acquisitions of a lock that
 * was ever contended: recorder_acquiring before the attempt,
 * recorder_acquired after it), or a sampled waiter may be waiting for it
 * (lockstate.h's filter).  Then
 *   recorder_release_begin  before the release: charge the waiting
 *                           (lockstate_charge), end the hold sample — or,
 *                           for a plain mutex the hooks release themselves,
 *                           only decide, and then
 *   recorder_release_held   right after the release, end the hold sample,
 *   recorder_release_charge and charge the waiting, before any wake;
 *   recorder_release_end    after it: unwind and note the events.
 * Everything else about an unlock is one TLS add.  The dumper settles the
 * events still noted in slots.
 *
 * Per-thread state is in TLS (initial-exec) and in an arena slot (slots.h).
 * Everything the recorder does runs inside lc_tls.guard, so pthread calls
 * made meanwhile (by dlsym, or a signal handler on top of us) go straight
 * to glibc; contention they meet is timed and charged to the sentinel
 * (LC_LOST_REENTRANT), never recorded as an application stack.
 */
#ifndef LOCKCONTEND_RECORDER_H
#define LOCKCONTEND_RECORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "lockstate.h"
#include "tls.h"

enum recorder_outcome {
	RECORDER_ACQUIRED, /* the lock was taken after a wait */
	RECORDER_TIMEDOUT, /* a timed/clock lock gave up: the time was lost */
	RECORDER_DISCARD,  /* an error, not a wait (EDEADLK, EINVAL...) */
};

struct recorder_sample {
	uint64_t t0;
	struct lockent *ent;           /* its lock's entry, if it has one */
	int cell;                      /* registered as a waiter there (holder view), 1..; 0: not */
	uint64_t before_cell;          /* waited before the cell was registered (uncharged) */
	struct recorder_sample *outer; /* the wait this one interrupted (a handler's) */
	uint32_t gen;   /* the profile it began in (core.gen): a fork (from a handler), or
	                 * a detach, during the wait forgets ent */
	uint32_t epoch; /* module epoch when the stack was taken */
	uintptr_t lock;
	uint32_t kind;
	uint32_t nframes;
	uint32_t flags; /* LC_BUCKET_TRUNCATED */
	uint32_t rate;
	uint8_t active;  /* recorder_begin chose to record this event */
	uint8_t shown;   /* the slot's WAITING record shows this wait (waiting.h) */
	uint8_t unfiled; /* not recorded: the file was not made in time (t0 only) */
	uint8_t moved;   /* ends on another lock than ent's (recorder_moved) */
	uint8_t no_cell; /* ent had no free waiter cell (holder view): not registered */
};

/* What an unlock found, between release_begin and release_end. */
struct recorder_release {
	uintptr_t lock;
	uint32_t kind;
	uint32_t rate;    /* of the charge */
	uint64_t caused;  /* waiting charged to this unlock, ns, not scaled */
	uint64_t held;    /* a hold-time sample ended here, ns */
	uint64_t hold_t0; /* ... timed from then, its end still to be read */
	uint64_t when;    /* when it ended (CLOCK_MONOTONIC), 0: not read */
	uint32_t gen;     /* attached: the profile it was charged in, or its sample began in */
	uint8_t active;
	uint8_t counted;     /* attached: in core.releasing until release_end */
	uint8_t hold_open;   /* the end is read by recorder_release_held */
	uint8_t charge_open; /* the charge is taken by recorder_release_charge */
};

/* Before and after dlclose() (module epochs: modmap.h); attached, after
 * dlopen() too (hooks_dlopen.c: a thread never refreshes the map on its
 * own then). */
void recorder_dlclose(struct lc_tls *t);

/* The slow path of every lock hook, around the real blocking call on
 * `lock` (of enum lc_kind `kind`).  s->active or s->shown tells whether
 * end must be called (a wait not sampled is still shown as in progress);
 * both preserve errno. */
void recorder_begin(struct lc_tls *t, struct recorder_sample *s, const void *lock, uint32_t kind);
void recorder_end(struct lc_tls *t, struct recorder_sample *s, enum recorder_outcome o);
/* A cleanup handler's end of a wait a cancellation unwinds through: s
 * is ended with o unless it was ended already — a handler that called
 * pthread_exit during the wait told the recorder (recorder_abandon), and
 * pthread_exit runs cleanup handlers too.  A recorded wait is then no
 * longer among the thread's waits, and one only shown is shown no more. */
void recorder_end_open(struct lc_tls *t, struct recorder_sample *s, enum recorder_outcome o);

/* Between begin and end: the wait ends on `lock`, not on the lock it began
 * on (a futex_waitv, woken by one word of its vector: hooks_futex.c).  Its
 * event and its uncharged waiting go to `lock`, whose entry (its LOCK
 * record) is made now if it has none; its registration as a waiter (the
 * holder view) stays where it began.  Preserves errno. */
void recorder_moved(struct lc_tls *t, struct recorder_sample *s, const void *lock);

/* Hold-time samples.  1 in `hold` acquisitions is looked at (hold_next
 * counts them down; it starts at 0, so a new thread's first acquisition
 * draws where its first look falls), and a look at a lock that was
 * contended times its critical section.  Everything a look costs — the
 * draw of the next distance, the lock's look-up, the clock — is done
 * before the attempt, outside any critical section (recorder_acquiring:
 * the section is timed from just before the lock is taken); after it,
 * inside the section, recorder_acquired only moves what was prepared into
 * place.  Every hook calls recorder_acquiring before it tries a lock and
 * recorder_acquired when it has it. */
void recorder_hold_prepare(struct lc_tls *t, const void *lock);
void recorder_hold_check(struct lc_tls *t, const void *lock, uint32_t kind);
/* The attempt waited for the lock without recording or showing the wait
 * (rate > 1, and no WAITING record to show it in; recorder_end does the
 * same for a wait it only showed): the section's start is read after it. */
void recorder_hold_unrecorded(struct lc_tls *t, const void *lock);
static inline void recorder_acquiring(struct lc_tls *t, const void *lock)
{
	if (__builtin_expect(t->hold_next <= 1, 0))
		recorder_hold_prepare(t, lock);
}
static inline void recorder_acquired(struct lc_tls *t, const void *lock, uint32_t kind)
{
	t->locks++;
	if (__builtin_expect(t->hold_next-- <= 1, 0))
		recorder_hold_check(t, lock, kind);
}

/* The same two for an attempt made inline (hooks.c's plain mutexes), with
 * the counting moved before it: recorder_attempt counts the acquisition
 * and the step toward the next look before the lock is tried, so that
 * nothing is stored between the lock's CAS and its release but what glibc
 * stores.  An empty critical section is a few nanoseconds long, and one
 * TLS add inside it raised the share of attempts that find the lock busy
 * by half (bench test 3, cs 0).  It returns whether the acquisition is
 * the one looked at; recorder_attempt_won puts the look in place,
 * recorder_attempt_lost takes the counting back (the slow path then counts
 * with recorder_acquired, as every other hook does).  The compiler may
 * not sink the counting past the attempt (the fence costs nothing at run
 * time); a signal handler in between sees one lock more held, which only
 * makes it more careful (lc_held). */
static inline bool recorder_attempt(struct lc_tls *t, const void *lock)
{
	recorder_acquiring(t, lock);
	bool look = __builtin_expect(t->hold_next <= 1, 0);
	t->locks++;
	t->hold_next--;
	atomic_signal_fence(memory_order_seq_cst);
	return look;
}
static inline void recorder_attempt_won(struct lc_tls *t, bool look, const void *lock,
                                        uint32_t kind)
{
	if (__builtin_expect(look, 0))
		recorder_hold_check(t, lock, kind);
}
static inline void recorder_attempt_lost(struct lc_tls *t)
{
	t->locks--;
	t->hold_next++;
}

/* Must this unlock call release_begin/end?  `maybe_waited` is the caller's
 * cheap first look at the lock itself (a mutex's lock word says whether
 * anyone may sleep on it), true where there is none. */
static inline bool recorder_unlock_watched(const struct lc_tls *t, const void *lock,
                                           bool maybe_waited)
{
	return t->hold_lock == (uintptr_t)lock ||
	       (maybe_waited && lockstate_maybe_waited((uintptr_t)lock));
}
/* `late`: the caller releases the lock itself and calls
 * recorder_release_held right after the release, which reads the end of a
 * hold-time sample then instead of before it (the clock is not read inside
 * the critical section). */
void recorder_release_begin(struct lc_tls *t, struct recorder_release *r, const void *lock,
                            uint32_t kind, bool late);
void recorder_release_held(struct recorder_release *r);
/* ... and, `late`, the holder view's charge after it, before any wake:
 * nothing of ours but the decision is left inside the section. */
void recorder_release_charge(struct lc_tls *t, struct recorder_release *r);
/* A plain mutex's unlock that found no sleeper (its word was not 2)
 * releases first and looks at the thread's hold sample after: then only
 * the sample's end is left (recorder_release_held reads it, right after
 * the release; recorder_release_end notes it).  `lock` is compared, never
 * read: it may be gone. */
void recorder_release_timed(struct lc_tls *t, struct recorder_release *r, const void *lock);
void recorder_release_end(struct lc_tls *t, struct recorder_release *r);

/* A trylock answered EBUSY: counted per lock (the lock is then known as
 * contended).  Never blocks. */
void recorder_trylock_failed(struct lc_tls *t, const void *lock, uint32_t kind);

/* A lock was made (the real init succeeded): note where, for its name
 * (initsite.h), unless init sites or stacks are off, the thread has no room
 * to unwind, or this is our own work.  Preserves errno; never blocks. */
void recorder_lock_made(struct lc_tls *t, const void *lock);
/* A lock was destroyed (the real destroy succeeded): forget where it was
 * made.  Preserves errno; never blocks. */
void recorder_lock_gone(struct lc_tls *t, const void *lock);

/* The thread leaves its recorded waits without returning from them: a
 * longjmp with this buffer out of a signal handler (`here`: an address in
 * the caller's frame), or (jmpbuf NULL) the thread exits. */
void recorder_abandon(struct lc_tls *t, const void *jmpbuf, const void *here);

/* Does that jump (or exit) leave the frame at `frame`, deeper on this
 * thread's stack than `here`?  A jmp_buf on this stack, above `here`, is
 * in the frame the jump returns to: the frames below it are left, those
 * above it are not; a jmp_buf anywhere else (a handler's alternate stack,
 * static or heap memory, none at an exit) leaves them all.  The one rule
 * for what a jump ends: our waits and work (recorder_abandon) and the
 * cancellation cleanups they registered (hooks_jump.c). */
static inline bool recorder_jump_leaves(const void *jmpbuf, const void *here, uintptr_t frame)
{
	bool on_stack = jmpbuf && (uintptr_t)jmpbuf >= (uintptr_t)here;
	return !(on_stack && (uintptr_t)jmpbuf < frame);
}

/* The thread named itself: the name its wait is shown with (waiting.h).
 * Preserves errno; never blocks. */
void recorder_named(struct lc_tls *t, const char *name);

/* Settle the thread's noted event and publish its stash: at thread exit and
 * at dump time. */
void recorder_flush(struct lc_tls *t);

/* The thread exits, its events flushed: its THREAD record's end, made
 * inside its slot (slots_thread_end); nothing if the slot was closed (the
 * profile has ended) or it has none. */
void recorder_thread_end(struct lc_tls *t);

/* A wait that could not be recorded where it happened (why: tls.h), timed
 * by the caller (it ended at when_ns): counted in TLS, and charged to the
 * sentinel with its reason when the thread next settles (its next event
 * with room and a file, or its exit).  Never blocks. */
void recorder_defer(struct lc_tls *t, enum lc_deferral why, uint64_t delay_ns, uint64_t when_ns);
bool recorder_deferred_pending(const struct lc_tls *t);
void recorder_forget_deferred(struct lc_tls *t); /* a fork child's, an attach's new profile */
extern char recorder_deferred_mark;              /* its key's value while it has no slot */
/* A thread's exit that could not settle its deferred waits (no slot: the
 * file not made in time) leaves them to the process; the end adopts them
 * into the ending thread's, to settle (recorder.c).  A new profile (start,
 * fork child, attach) forgets them. */
void recorder_leave_deferred(struct lc_tls *t);
void recorder_adopt_left(struct lc_tls *t);
void recorder_forget_left(void);

uint64_t recorder_now(void);

/* A thread is about to be made (hooks_thread.c): a profile not begun yet
 * (an armed process's, a fork child's) is begun first, while the process
 * has one thread (lifecycle.c says why). */
void recorder_thread_coming(struct lc_tls *t);

/* Around an application's dl_iterate_phdr (loader.h's phdr rule). */
void recorder_phdr_enter(struct lc_tls *t);
void recorder_phdr_leave(struct lc_tls *t);

#endif
