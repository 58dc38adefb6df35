/*
 * hooks_cond.c — condition variables: not contention, but a release.
 *
 * The time a thread sleeps in pthread_cond_wait is not lock contention and
 * is never recorded as such; glibc takes the mutex back internally, without
 * the interposable pthread_mutex_* symbols, and the held count is the same
 * before and after the call.  But the wait releases the mutex: when the
 * recorder wants that release (someone waits for the mutex, or the thread
 * is timing its critical section), it is treated as an unlock — charged and
 * the hold sample ended before the real call, the events noted after it.
 * A condition wait is a cancellation point: these frames are CANCELLABLE,
 * and a release charged before a wait that is cancelled is noted as the
 * cancellation unwinds (or charges + uncharged would fall short of the
 * waits).
 */
#include "hooks.h"
#include "real.h"

int hooks_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int hooks_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime);

typedef int (*cond_wait_fn)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cond_timed_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*cond_clock_fn)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                             const struct timespec *);

struct cond_args {
	pthread_cond_t *c;
	pthread_mutex_t *m;
	clockid_t clock;
	const struct timespec *abstime;
};

CANCELLABLE static int cond_call_wait(const struct cond_args *a)
{
	cond_wait_fn fn = real_get(&real.cond_wait);
	return fn ? fn(a->c, a->m) : ENOSYS;
}

CANCELLABLE static int cond_call_timed(const struct cond_args *a)
{
	cond_timed_fn fn = real_get(&real.cond_timedwait);
	return fn ? fn(a->c, a->m, a->abstime) : ENOSYS;
}

CANCELLABLE static int cond_call_clock(const struct cond_args *a)
{
	cond_clock_fn fn = real_get(&real.cond_clockwait);
	return fn ? fn(a->c, a->m, a->clock, a->abstime) : ENOSYS;
}

/* A thread cancelled in the wait still released the mutex: what its
 * release was charged is noted as the cancellation unwinds. */
static void cond_cancelled(void *r)
{
	recorder_release_end(&lc_tls, r);
}

CANCELLABLE static __attribute__((noinline)) int cond_watched(int (*call)(const struct cond_args *),
                                                              const struct cond_args *a)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	int rc;
	recorder_release_begin(t, &r, a->m, LC_KIND_MUTEX, false);
	pthread_cleanup_push(cond_cancelled, &r);
	rc = call(a);
	pthread_cleanup_pop(0);
	recorder_release_end(t, &r);
	return rc;
}

CANCELLABLE static inline int cond_hook(int (*call)(const struct cond_args *),
                                        const struct cond_args *a)
{
	if (likely(!recorder_unlock_watched(&lc_tls, a->m, true)) || !hooks_unlock_releases(a->m))
		return call(a);
	return cond_watched(call, a);
}

CANCELLABLE EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return cond_hook(cond_call_wait, &(struct cond_args){.c = c, .m = m});
}

CANCELLABLE int hooks_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return cond_hook(cond_call_wait, &(struct cond_args){.c = c, .m = m});
}

CANCELLABLE EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                              const struct timespec *abstime)
{
	struct cond_args a = {.c = c, .m = m, .abstime = abstime};
	/* glibc refuses a bad timeout before it releases anything */
	if (!hooks_timeout_valid(CLOCK_REALTIME, abstime))
		return cond_call_timed(&a);
	return cond_hook(cond_call_timed, &a);
}

/* The same as pthread_cond_timedwait, for the C11 hooks: no detour
 * through the PLT. */
CANCELLABLE int hooks_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abstime)
{
	struct cond_args a = {.c = c, .m = m, .abstime = abstime};
	if (!hooks_timeout_valid(CLOCK_REALTIME, abstime))
		return cond_call_timed(&a);
	return cond_hook(cond_call_timed, &a);
}

CANCELLABLE EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m,
                                              clockid_t clock, const struct timespec *abstime)
{
	struct cond_args a = {.c = c, .m = m, .clock = clock, .abstime = abstime};
	if (!hooks_timeout_valid(clock, abstime))
		return cond_call_clock(&a);
	return cond_hook(cond_call_clock, &a);
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(pthread_cond_wait);
HOOK_ALIAS(pthread_cond_timedwait);
HOOK_ALIAS(pthread_cond_clockwait);
