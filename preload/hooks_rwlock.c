/*
 * hooks_rwlock.c — pthread read-write locks (std::shared_mutex too).
 *
 * Same shape as the mutex hooks: glibc's tryrdlock/trywrlock first; on
 * EBUSY the real blocking call, timed and recorded by hooks_wait.  Read
 * waits are kind RDLOCK, write waits WRLOCK.  Any other trylock result is
 * what the blocking call would have returned without blocking (EAGAIN: too
 * many readers); the blocking call's own errors (EDEADLK for a writer that
 * asks again) come from the real call after EBUSY.  Timed variants with a
 * bad clock or timeout go straight to glibc, which refuses them first.
 *
 * glibc's unlock cannot fail (it returns 0 whatever the state), so the
 * release is counted first and the real unlock is a tail call unless the
 * recorder wants it (the holder view, a hold-time sample).  The release's
 * kind is WRLOCK when this thread is the lock's writer.
 */
#include "hooks.h"
#include "real.h"

struct rw_args {
	pthread_rwlock_t *l;
	clockid_t clock;
	const struct timespec *abstime;
};

typedef int (*rw_timed_fn)(pthread_rwlock_t *, const struct timespec *);
typedef int (*rw_clock_fn)(pthread_rwlock_t *, clockid_t, const struct timespec *);

static int wait_rdlock(void *p)
{
	return real.rdlock(((struct rw_args *)p)->l);
}

static int wait_wrlock(void *p)
{
	return real.wrlock(((struct rw_args *)p)->l);
}

static int wait_timed(void *slot, struct rw_args *a)
{
	rw_timed_fn fn = real_get(slot);
	return fn ? fn(a->l, a->abstime) : ENOSYS;
}

static int wait_clock(void *slot, struct rw_args *a)
{
	rw_clock_fn fn = real_get(slot);
	return fn ? fn(a->l, a->clock, a->abstime) : ENOSYS;
}

static int wait_timedrdlock(void *p)
{
	return wait_timed(&real.timedrdlock, p);
}

static int wait_timedwrlock(void *p)
{
	return wait_timed(&real.timedwrlock, p);
}

static int wait_clockrdlock(void *p)
{
	return wait_clock(&real.clockrdlock, p);
}

static int wait_clockwrlock(void *p)
{
	return wait_clock(&real.clockwrlock, p);
}

static __attribute__((noinline)) int rw_slow(int rc, int (*wait)(void *), pthread_rwlock_t *l,
                                             uint32_t kind, clockid_t clock,
                                             const struct timespec *abstime)
{
	struct lc_tls *t = &lc_tls;
	struct rw_args a = {.l = l, .clock = clock, .abstime = abstime};
	if (rc == EBUSY)
		rc = hooks_wait(t, wait, &a, l, kind);
	if (rc == 0)
		recorder_acquired(t, l, kind);
	return rc;
}

static inline __attribute__((always_inline)) int rw_lock(pthread_rwlock_t *l, uint32_t kind,
                                                         int (*wait)(void *), clockid_t clock,
                                                         const struct timespec *abstime)
{
	recorder_acquiring(&lc_tls, l);
	int rc = kind == LC_KIND_RDLOCK ? real.tryrdlock(l) : real.trywrlock(l);
	if (likely(rc == 0)) {
		recorder_acquired(&lc_tls, l, kind);
		return 0;
	}
	return rw_slow(rc, wait, l, kind, clock, abstime);
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	return rw_lock(l, LC_KIND_RDLOCK, wait_rdlock, CLOCK_REALTIME, NULL);
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	return rw_lock(l, LC_KIND_WRLOCK, wait_wrlock, CLOCK_REALTIME, NULL);
}

EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
	if (!hooks_timeout_valid(CLOCK_REALTIME, abstime))
		return wait_timed(&real.timedrdlock, &(struct rw_args){.l = l, .abstime = abstime});
	return rw_lock(l, LC_KIND_RDLOCK, wait_timedrdlock, CLOCK_REALTIME, abstime);
}

EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
	if (!hooks_timeout_valid(CLOCK_REALTIME, abstime))
		return wait_timed(&real.timedwrlock, &(struct rw_args){.l = l, .abstime = abstime});
	return rw_lock(l, LC_KIND_WRLOCK, wait_timedwrlock, CLOCK_REALTIME, abstime);
}

EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock,
                                      const struct timespec *abstime)
{
	if (!hooks_timeout_valid(clock, abstime))
		return wait_clock(&real.clockrdlock,
		                  &(struct rw_args){.l = l, .clock = clock, .abstime = abstime});
	return rw_lock(l, LC_KIND_RDLOCK, wait_clockrdlock, clock, abstime);
}

EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock,
                                      const struct timespec *abstime)
{
	if (!hooks_timeout_valid(clock, abstime))
		return wait_clock(&real.clockwrlock,
		                  &(struct rw_args){.l = l, .clock = clock, .abstime = abstime});
	return rw_lock(l, LC_KIND_WRLOCK, wait_clockwrlock, clock, abstime);
}

static __attribute__((noinline)) int rw_try_failed(pthread_rwlock_t *l, int rc, uint32_t kind)
{
	if (rc == EBUSY)
		recorder_trylock_failed(&lc_tls, l, kind);
	return rc;
}

EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	recorder_acquiring(&lc_tls, l);
	int rc = real.tryrdlock(l);
	if (likely(rc == 0)) {
		recorder_acquired(&lc_tls, l, LC_KIND_RDLOCK);
		return 0;
	}
	return rw_try_failed(l, rc, LC_KIND_RDLOCK);
}

EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	recorder_acquiring(&lc_tls, l);
	int rc = real.trywrlock(l);
	if (likely(rc == 0)) {
		recorder_acquired(&lc_tls, l, LC_KIND_WRLOCK);
		return 0;
	}
	return rw_try_failed(l, rc, LC_KIND_WRLOCK);
}

static __attribute__((noinline)) int rw_unlock_watched(pthread_rwlock_t *l)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	uint32_t kind = __atomic_load_n(&l->__data.__cur_writer, __ATOMIC_RELAXED) == hooks_tid()
	                    ? LC_KIND_WRLOCK
	                    : LC_KIND_RDLOCK;
	recorder_release_begin(t, &r, l, kind, false);
	int rc = real.rwunlock(l);
	recorder_release_end(t, &r);
	return rc;
}

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	struct lc_tls *t = &lc_tls;
	t->unlocks++;
	if (unlikely(recorder_unlock_watched(t, l, true)))
		return rw_unlock_watched(l);
	return real.rwunlock(l);
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(pthread_rwlock_rdlock);
HOOK_ALIAS(pthread_rwlock_wrlock);
HOOK_ALIAS(pthread_rwlock_timedrdlock);
HOOK_ALIAS(pthread_rwlock_timedwrlock);
HOOK_ALIAS(pthread_rwlock_clockrdlock);
HOOK_ALIAS(pthread_rwlock_clockwrlock);
HOOK_ALIAS(pthread_rwlock_tryrdlock);
HOOK_ALIAS(pthread_rwlock_trywrlock);
HOOK_ALIAS(pthread_rwlock_unlock);
