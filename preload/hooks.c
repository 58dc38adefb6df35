/*
 * hooks.c — the interposed pthread mutex functions.  Nothing else lives here.
 *
 * Fast path (every hook): try the real lock without waiting; on success
 * bump this thread's held count and return.  No clock read, no table, no
 * shared write of ours — the held count is thread-local.
 *
 * Slow path: recorder_begin (sample? clock, stack) -> the real blocking
 * call -> recorder_end (measure, stash).  When the held count drops back to
 * zero at unlock and the stash holds an event, it is merged then: outside
 * every critical section of the thread.
 *
 * Return values and errno are exactly glibc's: a trylock result other than
 * EBUSY is what the blocking call would have returned without blocking
 * (success, EOWNERDEAD, EDEADLK, EAGAIN, EINVAL), and after EBUSY the real
 * blocking call decides.  The one place where that is not so, a robust
 * mutex whose owner died or that is not recoverable, is sent straight to
 * the real function (robust_special).  The recorder preserves errno.
 *
 * Inside the recursion guard (libunwind, dl_iterate_phdr, a signal handler
 * that interrupted our own work) a contended lock is timed and charged to
 * the sentinel; the held count is kept in step either way, since the guard
 * cannot change between a thread's lock and its unlock of the same mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "real.h"
#include "recorder.h"

#define EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)

static inline int acquired(int rc)
{
	return rc == 0 || rc == EOWNERDEAD;
}

/* glibc internals (stable ABI of pthread_mutex_t): the robust bit of
 * __kind, the "not recoverable" value of __owner; and the kernel's flag for
 * "the owner died" in the lock word of a robust mutex. */
#define GLIBC_MUTEX_KIND_ROBUST 16 /* PTHREAD_MUTEX_ROBUST_NORMAL_NP, in __kind */
#define GLIBC_MUTEX_NOTRECOVERABLE 0x7ffffffe /* INT_MAX - 1 */
#define KERNEL_FUTEX_OWNER_DIED 0x40000000

/* A robust mutex whose owner died, or that is not recoverable, is where
 * glibc's trylock and its blocking calls disagree: trylock takes a
 * not-recoverable mutex and leaves it held (returning ENOTRECOVERABLE),
 * and for a PI robust mutex trylock returns EOWNERDEAD where timedlock with
 * a bad timeout returns EINVAL (test/fixtures/retcodes.c shows both).  Such
 * a call is no contention anyway: it goes straight to the real function.
 * The kind word is read first and is in the cache line trylock touches. */
static inline bool robust_special(pthread_mutex_t *m)
{
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	if (likely(!(kind & GLIBC_MUTEX_KIND_ROBUST)))
		return false;
	return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) == GLIBC_MUTEX_NOTRECOVERABLE ||
	       (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) & KERNEL_FUTEX_OWNER_DIED);
}

/* Contention met inside lockcontend's own work: time it, charge the
 * sentinel, record no stack.  `wait` performs the real blocking call. */
static int hooks_guarded(struct lc_tls *t, int (*wait)(void *), void *arg)
{
	uint64_t t0 = recorder_now();
	int rc = wait(arg);
	if (acquired(rc) || rc == ETIMEDOUT)
		recorder_reentrant(t, recorder_now() - t0);
	return rc;
}

/* The slow path shared by every blocking variant. */
static int hooks_wait(struct lc_tls *t, int (*wait)(void *), void *arg)
{
	if (t->guard)
		return hooks_guarded(t, wait, arg);
	struct recorder_sample s;
	recorder_begin(t, &s);
	int rc = wait(arg);
	if (s.active)
		recorder_end(t, &s,
		             acquired(rc) ? RECORDER_ACQUIRED
		                          : (rc == ETIMEDOUT ? RECORDER_TIMEDOUT : RECORDER_DISCARD));
	if (!t->held && t->pending && !acquired(rc))
		recorder_flush(t); /* a timeout while holding nothing: safe now */
	return rc;
}

struct lock_args {
	pthread_mutex_t *m;
	clockid_t clock;
	const struct timespec *abstime;
};

static int wait_lock(void *p)
{
	return real.lock(((struct lock_args *)p)->m);
}

static int wait_timedlock(void *p)
{
	struct lock_args *a = p;
	return real_timedlock(a->m, a->abstime);
}

static int wait_clocklock(void *p)
{
	struct lock_args *a = p;
	return real_clocklock(a->m, a->clock, a->abstime);
}

/* Everything but the fast path, kept out of line so the fast path stays a
 * handful of instructions.  rc is the trylock's result; direct means
 * robust_special: skip the trylock's verdict and call the real function. */
static __attribute__((noinline)) int hooks_slow(int rc, bool direct, int (*wait)(void *),
                                                pthread_mutex_t *m, clockid_t clock,
                                                const struct timespec *abstime)
{
	struct lc_tls *t = &lc_tls;
	struct lock_args a = {.m = m, .clock = clock, .abstime = abstime};
	if (direct)
		rc = wait(&a);
	else if (rc == EBUSY)
		rc = hooks_wait(t, wait, &a);
	if (acquired(rc))
		t->held++;
	return rc;
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (likely(!robust_special(m))) {
		int rc = real.trylock(m);
		if (likely(rc == 0)) {
			lc_tls.held++;
			return 0;
		}
		return hooks_slow(rc, false, wait_lock, m, 0, NULL);
	}
	return hooks_slow(0, true, wait_lock, m, 0, NULL);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int rc = real.trylock(m);
	if (acquired(rc))
		lc_tls.held++;
	return rc;
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	if (likely(!robust_special(m))) {
		int rc = real.trylock(m);
		if (likely(rc == 0)) {
			lc_tls.held++;
			return 0;
		}
		return hooks_slow(rc, false, wait_timedlock, m, 0, abstime);
	}
	return hooks_slow(0, true, wait_timedlock, m, 0, abstime);
}

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                   const struct timespec *abstime)
{
	/* glibc refuses other clocks with EINVAL before looking at the mutex;
	 * a trylock first would take a free mutex instead. */
	if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME)
		return real_clocklock(m, clock, abstime);
	if (likely(!robust_special(m))) {
		int rc = real.trylock(m);
		if (likely(rc == 0)) {
			lc_tls.held++;
			return 0;
		}
		return hooks_slow(rc, false, wait_clocklock, m, clock, abstime);
	}
	return hooks_slow(0, true, wait_clocklock, m, clock, abstime);
}

static __attribute__((noinline)) void hooks_unlocked_last(struct lc_tls *t)
{
	if (!t->guard)
		recorder_flush(t);
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	int rc = real.unlock(m);
	struct lc_tls *t = &lc_tls;
	if (likely(rc == 0) && t->held && --t->held == 0 && t->pending)
		hooks_unlocked_last(t);
	return rc;
}

static __attribute__((constructor)) void hooks_init(void)
{
	real_resolve();
	recorder_init();
}

static __attribute__((destructor)) void hooks_fini(void)
{
	recorder_dump();
}
