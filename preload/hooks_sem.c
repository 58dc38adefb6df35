/*
 * hooks_sem.c — POSIX semaphores (kind SEM): sem_wait, sem_timedwait and
 * sem_clockwait are waits, sem_post the release charged with them.
 *
 * Python's threading.Lock is a semaphore, and many C programs use a binary
 * one as a mutex.  The fast path is glibc's sem_trywait, made inline
 * (sem_fast_take): a semaphore taken at once is no wait, and only a count
 * of 0 makes one; then the real call blocks, timed and recorded as every
 * lock's wait is (recorder.h), and its outcome is the real call's: 0, or
 * -1 with errno (the inline take sets none; the recorder preserves it).
 * A wait that gave up — ETIMEDOUT, or EINTR (a signal handler without
 * SA_RESTART ran) — is counted as a timed lock's that timed out: the
 * thread did wait that long, and posts meanwhile were charged with it
 * (counted, the semaphore's waiting and its charges still add up).
 *
 * A semaphore has no owner: nothing is counted in the thread's held
 * mutexes, and there are no hold-time samples of one.  The thread's `sems`
 * (tls.h's lc_holds_nothing) counts the takes less the posts, so that a
 * thread that may hold one never waits for the loader.  sem_trywait is
 * hooked for that count alone.
 *
 * The holder view: a sem_post made while sampled waiters are registered on
 * the semaphore (lockstate's filter) is charged, as an unlock is, with
 * every registered waiter's waiting since the previous charge — one post
 * lets one waiter in, but the waiting of all was going on until it came.
 *
 * Cancellation.  sem_wait and its timed variants are cancellation points,
 * and glibc's sem_wait and sem_timedwait act on a pending cancellation
 * even when the semaphore is free (POSIX: they "shall" be one): so do the
 * hooks, before their trylock (sem_clockwait does not, nor do we there).
 * A thread cancelled while it waits unwinds through the recorded wait: a
 * cleanup handler ends it there (a wait that gave up) and takes its cell
 * back, as a jump out of it does (hooks_jump.c).  These frames are
 * CANCELLABLE.
 *
 * A bad timeout or clock goes straight to glibc, which refuses it (EINVAL)
 * before it looks at the semaphore, or faults on a NULL one, as it would.
 */
#include <semaphore.h>
#include <stdatomic.h>

#include "clock.h"
#include "hooks.h"
#include "real.h"
#include "stackroom.h"

typedef int (*sem_fn)(sem_t *);
typedef int (*sem_timed_fn)(sem_t *, const struct timespec *);
typedef int (*sem_clock_fn)(sem_t *, clockid_t, const struct timespec *);

enum sem_how { SEM_WAIT, SEM_TIMED, SEM_CLOCK };

struct sem_args {
	sem_t *s;
	enum sem_how how;
	clockid_t clock;
	const struct timespec *abstime;
};

static int sem_nosys(void)
{
	errno = ENOSYS;
	return -1;
}

/* The real blocking call. */
CANCELLABLE static int sem_call(const struct sem_args *a)
{
	void *fn;
	switch (a->how) {
	case SEM_WAIT: fn = real_get(&real.sem_wait); return fn ? ((sem_fn)fn)(a->s) : sem_nosys();
	case SEM_TIMED:
		fn = real_get(&real.sem_timedwait);
		return fn ? ((sem_timed_fn)fn)(a->s, a->abstime) : sem_nosys();
	default:
		fn = real_get(&real.sem_clockwait);
		return fn ? ((sem_clock_fn)fn)(a->s, a->clock, a->abstime) : sem_nosys();
	}
}

/* The wait gave up without the semaphore (errno after a -1). */
static bool sem_gave_up(int e)
{
	return e == ETIMEDOUT || e == EINTR;
}

/* Met inside lockcontend's own work (a signal handler on top of it):
 * timed and charged to the sentinel, as hooks.c's guarded waits. */
CANCELLABLE static int sem_guarded(struct lc_tls *t, const struct sem_args *a)
{
	uint64_t t0 = recorder_now();
	int rc = sem_call(a);
	if (rc == 0 || sem_gave_up(errno)) {
		int saved = errno;
		uint64_t t1 = recorder_now();
		recorder_defer(t, LC_DEFERRED_REENTRANT, t1 - t0, t1);
		errno = saved;
	}
	return rc;
}

/* Too little stack for the books (stackroom_tight): timed by syscall and
 * counted, nothing deeper (hooks.c's hooks_tight). */
CANCELLABLE static __attribute__((noinline)) int sem_tight(struct lc_tls *t,
                                                           const struct sem_args *a)
{
	uint64_t t0 = clock_mono_ns_raw();
	int rc = sem_call(a);
	if (rc == 0 || sem_gave_up(errno)) {
		int saved = errno;
		uint64_t t1 = clock_mono_ns_raw();
		recorder_defer(t, LC_DEFERRED_NO_ROOM, t1 - t0, t1);
		errno = saved;
	}
	return rc;
}

/* A cancellation unwinds through the wait: it ends here, given up, its
 * cell on the semaphore given back — unless it was ended already
 * (recorder_end_open). */
static void sem_cancelled(void *p)
{
	recorder_end_open(&lc_tls, p, RECORDER_TIMEDOUT);
}

/* The contended wait, recorded. */
CANCELLABLE static int sem_waited(struct lc_tls *t, const struct sem_args *a)
{
	if (t->guard)
		return sem_guarded(t, a);
	if (unlikely(stackroom_tight(t)))
		return sem_tight(t, a);
	struct recorder_sample s;
	int rc;
	recorder_begin(t, &s, a->s, LC_KIND_SEM);
	HOOKS_CANCEL_PUSH(t, sem_cancelled, &s);
	rc = sem_call(a);
	HOOKS_CANCEL_POP(t);
	if (s.active || s.shown || s.unfiled)
		recorder_end(t, &s,
		             rc == 0              ? RECORDER_ACQUIRED
		             : sem_gave_up(errno) ? RECORDER_TIMEDOUT
		                                  : RECORDER_DISCARD);
	return rc;
}

/* The trylock found the count at 0: a wait. */
CANCELLABLE static __attribute__((noinline)) int sem_slow(sem_t *s, enum sem_how how,
                                                          clockid_t clock,
                                                          const struct timespec *abstime)
{
	struct lc_tls *t = &lc_tls;
	struct sem_args a = {.s = s, .how = how, .clock = clock, .abstime = abstime};
	int rc = sem_waited(t, &a);
	if (rc == 0)
		lc_sem_taken(t);
	return rc;
}

/* glibc's sem_trywait, inline (as hooks.c's fast_acquire is glibc's
 * mutex trylock): the semaphore's first word holds its count in the low
 * 32 bits (the waiters above), and a take is a compare-and-swap of it one
 * lower, retried until it works or finds the count at 0, as glibc's is
 * ("definitive": a trylock must not fail for a race it lost).  Made
 * inline, it sets no errno on failure, which the real one would (EAGAIN),
 * and which the hook would then have to save before every take and put
 * back: two calls into libc on a path that costs glibc a dozen
 * nanoseconds. */
#define GLIBC_SEM_VALUE_MASK 0xffffffffull
static inline bool sem_fast_take(sem_t *s)
{
	_Atomic uint64_t *data = (_Atomic uint64_t *)s;
	uint64_t d = atomic_load_explicit(data, memory_order_relaxed);
	while (d & GLIBC_SEM_VALUE_MASK)
		if (atomic_compare_exchange_weak_explicit(data, &d, d - 1, memory_order_acquire,
		                                          memory_order_relaxed))
			return true;
	return false;
}

/* Every blocking variant: the trylock, then the wait. */
CANCELLABLE static inline __attribute__((always_inline)) int sem_take(
    sem_t *s, enum sem_how how, clockid_t clock, const struct timespec *abstime)
{
	if (likely(sem_fast_take(s))) {
		lc_sem_taken(&lc_tls);
		return 0;
	}
	return sem_slow(s, how, clock, abstime);
}

/* What glibc refuses before it looks at the semaphore: a clock it does
 * not time by, a bad nanosecond count (or a NULL timeout, which it reads). */
static inline bool sem_timeout_valid(clockid_t clock, const struct timespec *abstime)
{
	return abstime && hooks_timeout_valid(clock, abstime);
}

CANCELLABLE EXPORT int sem_wait(sem_t *s)
{
	pthread_testcancel();
	return sem_take(s, SEM_WAIT, CLOCK_REALTIME, NULL);
}

CANCELLABLE EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
	if (!sem_timeout_valid(CLOCK_REALTIME, abstime))
		return sem_call(&(struct sem_args){.s = s, .how = SEM_TIMED, .abstime = abstime});
	pthread_testcancel();
	return sem_take(s, SEM_TIMED, CLOCK_REALTIME, abstime);
}

CANCELLABLE EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
	if (!sem_timeout_valid(clock, abstime))
		return sem_call(&(struct sem_args){
		    .s = s, .how = SEM_CLOCK, .clock = clock, .abstime = abstime});
	return sem_take(s, SEM_CLOCK, clock, abstime);
}

EXPORT int sem_trywait(sem_t *s)
{
	sem_fn try = real_get(&real.sem_trywait);
	int rc = try ? try(s) : sem_nosys();
	if (rc == 0)
		lc_sem_taken(&lc_tls);
	return rc;
}

/* The holder view: the post charged with the waiting before it. */
static __attribute__((noinline)) int sem_post_watched(sem_t *s, sem_fn post)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	recorder_release_begin(t, &r, s, LC_KIND_SEM, false);
	int rc = post(s);
	recorder_release_end(t, &r);
	return rc;
}

EXPORT int sem_post(sem_t *s)
{
	struct lc_tls *t = &lc_tls;
	sem_fn post = __atomic_load_n((sem_fn *)&real.sem_post, __ATOMIC_RELAXED);
	if (unlikely(!post) && !(post = real_get(&real.sem_post)))
		return sem_nosys();
	int rc =
	    unlikely(recorder_unlock_watched(t, s, true)) ? sem_post_watched(s, post) : post(s);
	if (rc == 0)
		lc_sem_posted(t);
	return rc;
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(sem_wait);
HOOK_ALIAS(sem_timedwait);
HOOK_ALIAS(sem_clockwait);
HOOK_ALIAS(sem_trywait);
HOOK_ALIAS(sem_post);
