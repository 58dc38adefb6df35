/*
 * hooks_c11.c — C11 threads: mtx_* and cnd_*.
 *
 * glibc's mtx_lock and friends call its mutex functions internally, not
 * through the interposable pthread_mutex_* symbols, so a C11 program would
 * show nothing.  A mtx_t is a pthread_mutex_t (glibc's mtx_init makes it
 * one), so these hooks run the mutex hooks and map the result the way
 * glibc's own mtx_* do (thrd_err_map): 0 success, EBUSY busy, ETIMEDOUT
 * timed out, ENOMEM no memory, anything else error.
 */
#include <threads.h>

#include "hooks.h"

int hooks_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int hooks_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime);

static int c11_result(int rc)
{
	switch (rc) {
	case 0: return thrd_success;
	case EBUSY: return thrd_busy;
	case ETIMEDOUT: return thrd_timedout;
	case ENOMEM: return thrd_nomem;
	default: return thrd_error;
	}
}

EXPORT int mtx_lock(mtx_t *m)
{
	return c11_result(hooks_mutex_lock((pthread_mutex_t *)m));
}

EXPORT int mtx_trylock(mtx_t *m)
{
	return c11_result(hooks_mutex_trylock((pthread_mutex_t *)m));
}

EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict abstime)
{
	return c11_result(hooks_mutex_timedlock((pthread_mutex_t *)m, abstime));
}

EXPORT int mtx_unlock(mtx_t *m)
{
	return c11_result(hooks_mutex_unlock((pthread_mutex_t *)m));
}

EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
	return c11_result(hooks_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
                         const struct timespec *restrict abstime)
{
	return c11_result(hooks_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, abstime));
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(mtx_lock);
HOOK_ALIAS(mtx_trylock);
HOOK_ALIAS(mtx_timedlock);
HOOK_ALIAS(mtx_unlock);
HOOK_ALIAS(cnd_wait);
HOOK_ALIAS(cnd_timedwait);
