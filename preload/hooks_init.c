/*
 * hooks_init.c — where locks are made and destroyed: pthread_mutex_init,
 * pthread_rwlock_init, pthread_spin_init, C11 mtx_init and their destroy
 * functions.
 *
 * Each forwards first and returns exactly what the real function returned,
 * errno untouched (the recorder preserves it).  A lock made (the real init
 * succeeded) has its stack noted in the init-site table (initsite.h:
 * recorder_lock_made, which unwinds through loader.h's rules after the
 * stack-room check, allocates nothing and never blocks); a lock destroyed
 * (the real destroy succeeded: one still held, EBUSY, is still that lock)
 * is forgotten there.  The init site names a heap lock in the report;
 * nothing reaches the profile unless the lock is contended later.
 *
 * glibc's mtx_init reaches its mutex without the pthread_mutex_init
 * symbol, so it needs a hook of its own; the mutex and rwlock functions
 * have glibc aliases to start from (real.h), the spin and C11 ones are
 * resolved at start-up (or here on first use).
 */
#include <threads.h>

#include "hooks.h"
#include "real.h"

typedef int (*spin_init_fn)(pthread_spinlock_t *, int);
typedef int (*spin_destroy_fn)(pthread_spinlock_t *);
typedef int (*mtx_init_fn)(mtx_t *, int);
typedef void (*mtx_destroy_fn)(mtx_t *);

EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	int rc = real.mutex_init(m, attr);
	if (rc == 0)
		recorder_lock_made(&lc_tls, m);
	return rc;
}

EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
	int rc = real.mutex_destroy(m);
	if (rc == 0)
		recorder_lock_gone(&lc_tls, m);
	return rc;
}

EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
	int rc = real.rwlock_init(l, attr);
	if (rc == 0)
		recorder_lock_made(&lc_tls, l);
	return rc;
}

EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	int rc = real.rwlock_destroy(l);
	if (rc == 0)
		recorder_lock_gone(&lc_tls, l);
	return rc;
}

EXPORT int pthread_spin_init(pthread_spinlock_t *l, int pshared)
{
	spin_init_fn fn = real_get(&real.spin_init);
	if (!fn)
		return ENOSYS;
	int rc = fn(l, pshared);
	if (rc == 0)
		recorder_lock_made(&lc_tls, (const void *)l);
	return rc;
}

EXPORT int pthread_spin_destroy(pthread_spinlock_t *l)
{
	spin_destroy_fn fn = real_get(&real.spin_destroy);
	if (!fn)
		return ENOSYS;
	int rc = fn(l);
	if (rc == 0)
		recorder_lock_gone(&lc_tls, (const void *)l);
	return rc;
}

EXPORT int mtx_init(mtx_t *m, int type)
{
	mtx_init_fn fn = real_get(&real.mtx_init);
	if (!fn)
		return thrd_error;
	int rc = fn(m, type);
	if (rc == thrd_success)
		recorder_lock_made(&lc_tls, m);
	return rc;
}

EXPORT void mtx_destroy(mtx_t *m)
{
	mtx_destroy_fn fn = real_get(&real.mtx_destroy);
	if (!fn)
		return;
	fn(m);
	recorder_lock_gone(&lc_tls, m);
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(pthread_mutex_init);
HOOK_ALIAS(pthread_mutex_destroy);
HOOK_ALIAS(pthread_rwlock_init);
HOOK_ALIAS(pthread_rwlock_destroy);
HOOK_ALIAS(pthread_spin_init);
HOOK_ALIAS(pthread_spin_destroy);
HOOK_ALIAS(mtx_init);
HOOK_ALIAS(mtx_destroy);
