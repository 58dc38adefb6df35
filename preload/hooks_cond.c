/*
 * hooks_cond.c — condition variables: a release of the mutex, and (with
 * LOCKCONTEND=cond=1) a wait of its own kind, COND.
 *
 * The release.  A condition wait releases the mutex; glibc takes it back
 * internally, without the interposable pthread_mutex_* symbols, and the
 * held count is the same before and after the call.  When the recorder
 * wants that release (someone waits for the mutex, or the thread is timing
 * its critical section), it is treated as an unlock — charged and the hold
 * sample ended before the real call, the events noted after it.
 *
 * The wait.  A thread in a condition wait waits for an event, not for a
 * lock: an idle worker's sleep is no contention, and the reports leave
 * kind COND out unless asked (--kind=cond).  It is recorded only when
 * LOCKCONTEND says cond=1: the dump's totals are every recorded kind's,
 * and a default run's totals stay the lock waits alone.  Then every
 * condition wait is a recorded wait (recorder.h) on the pthread_cond_t,
 * from the call to its return — the mutex taken back inside glibc is part
 * of it; ETIMEDOUT is a wait that gave up (flagged as a timed lock's), an
 * error (EINVAL, EPERM) no wait.  The holder view: a pthread_cond_signal
 * or pthread_cond_broadcast made while sampled waiters are registered on
 * the condition variable (lockstate's filter) is charged with their
 * waiting, as a sem_post is (hooks_sem.c); with none registered, it costs
 * what sem_post's look costs: one compare and the filter.  CPython's GIL
 * is a mutex and a condition variable: its waits are condition waits,
 * named the GIL by the symbolizer (symbolize/locknames.c).
 *
 * A condition wait met inside lockcontend's own work (the guard is up) or
 * with too little stack for the books is not recorded, nor charged to the
 * sentinel: the sentinel holds lock waits only.  So is one that began
 * before the profile's file was made (unfiled).
 *
 * The return code is glibc's, errno untouched (the recorder preserves
 * it).  A condition wait is a cancellation point: these frames are
 * CANCELLABLE, and a cancellation unwinds through one cleanup handler that
 * ends the recorded wait (given up) and notes the release charged before
 * it (or charges + uncharged would fall short of the waits).
 */
#include "core.h"
#include "hooks.h"
#include "real.h"
#include "stackroom.h"

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

/* The release alone (the wait not recorded). */
CANCELLABLE static __attribute__((noinline)) int cond_watched(int (*call)(const struct cond_args *),
                                                              const struct cond_args *a)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	int rc;
	recorder_release_begin(t, &r, a->m, LC_KIND_MUTEX, false);
	HOOKS_CANCEL_PUSH(t, cond_cancelled, &r);
	rc = call(a);
	HOOKS_CANCEL_POP(t);
	recorder_release_end(t, &r);
	return rc;
}

/* A recorded wait, and the release it began with if the recorder wants
 * that (`release`). */
struct cond_wait {
	struct recorder_sample s;
	struct recorder_release r;
	bool release;
};

static enum recorder_outcome cond_outcome(const struct recorder_sample *s, int rc)
{
	if (s->unfiled)
		return RECORDER_DISCARD; /* not deferred to the sentinel: no lock wait */
	return rc == 0 || rc == EOWNERDEAD ? RECORDER_ACQUIRED /* woken, the mutex back */
	       : rc == ETIMEDOUT           ? RECORDER_TIMEDOUT
	                                   : RECORDER_DISCARD;
}

/* A cancellation unwinds through the wait: it ends given up (unless it
 * was ended already: recorder_end_open), the release is noted. */
static void cond_wait_cancelled(void *p)
{
	struct lc_tls *t = &lc_tls;
	struct cond_wait *w = p;
	recorder_end_open(t, &w->s, cond_outcome(&w->s, ETIMEDOUT));
	if (w->release)
		recorder_release_end(t, &w->r);
}

CANCELLABLE static __attribute__((noinline)) int cond_recorded(
    int (*call)(const struct cond_args *), const struct cond_args *a, bool release)
{
	struct lc_tls *t = &lc_tls;
	if (t->guard || unlikely(stackroom_tight(t)))
		return release ? cond_watched(call, a) : call(a);
	struct cond_wait w = {.release = release};
	int rc;
	if (release)
		recorder_release_begin(t, &w.r, a->m, LC_KIND_MUTEX, false);
	recorder_begin(t, &w.s, a->c, LC_KIND_COND);
	HOOKS_CANCEL_PUSH(t, cond_wait_cancelled, &w);
	rc = call(a);
	HOOKS_CANCEL_POP(t);
	if (w.s.active || w.s.shown || w.s.unfiled)
		recorder_end(t, &w.s, cond_outcome(&w.s, rc));
	if (release)
		recorder_release_end(t, &w.r);
	return rc;
}

CANCELLABLE static inline int cond_hook(int (*call)(const struct cond_args *),
                                        const struct cond_args *a)
{
	bool release =
	    unlikely(recorder_unlock_watched(&lc_tls, a->m, true)) && hooks_unlock_releases(a->m);
	if (unlikely(core.cfg.cond))
		return cond_recorded(call, a, release);
	return release ? cond_watched(call, a) : call(a);
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

typedef int (*cond_signal_fn)(pthread_cond_t *);

/* The holder view: the signal charged with the waiting before it. */
static __attribute__((noinline)) int cond_signal_watched(pthread_cond_t *c, cond_signal_fn fn)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	recorder_release_begin(t, &r, c, LC_KIND_COND, false);
	int rc = fn(c);
	recorder_release_end(t, &r);
	return rc;
}

/* Loaded inline, as sem_post's is: a signal with nobody recorded waiting
 * costs the forwarding and one look at the filter (a condition variable
 * is never held: no hold-time sample can be timing it, and
 * recorder_unlock_watched's first look is left out). */
static __attribute__((noinline)) int cond_signal_unresolved(pthread_cond_t *c, cond_signal_fn *slot)
{
	cond_signal_fn fn = real_get(slot);
	if (!fn)
		return ENOSYS;
	return lockstate_maybe_waited((uintptr_t)c) ? cond_signal_watched(c, fn) : fn(c);
}

static inline int cond_signal_hook(pthread_cond_t *c, cond_signal_fn *slot)
{
	cond_signal_fn fn = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (unlikely(!fn))
		return cond_signal_unresolved(c, slot);
	if (unlikely(lockstate_maybe_waited((uintptr_t)c)))
		return cond_signal_watched(c, fn);
	return fn(c);
}

EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
	return cond_signal_hook(c, &real.cond_signal);
}

EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
	return cond_signal_hook(c, &real.cond_broadcast);
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(pthread_cond_wait);
HOOK_ALIAS(pthread_cond_timedwait);
HOOK_ALIAS(pthread_cond_clockwait);
HOOK_ALIAS(pthread_cond_signal);
HOOK_ALIAS(pthread_cond_broadcast);
