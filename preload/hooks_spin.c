/*
 * hooks_spin.c — pthread spin locks.  Spinning is waiting (kind SPIN).
 *
 * glibc's trylock first; on EBUSY the real pthread_spin_lock spins, timed
 * and recorded by hooks_wait.  glibc's spin lock and unlock cannot fail, so
 * the unlock counts the release first and is a tail call unless the
 * recorder wants it.  No bootstrap alias: resolved on first use.
 */
#include "hooks.h"
#include "real.h"

typedef int (*spin_fn)(pthread_spinlock_t *);

static int wait_spin(void *p)
{
	spin_fn fn = real_get(&real.spin_lock);
	return fn ? fn(p) : ENOSYS;
}

static __attribute__((noinline)) int spin_slow(pthread_spinlock_t *l, int rc)
{
	struct lc_tls *t = &lc_tls;
	if (rc == EBUSY)
		rc = hooks_wait(t, wait_spin, (void *)l, (const void *)l, LC_KIND_SPIN);
	if (rc == 0)
		recorder_acquired(t, (const void *)l, LC_KIND_SPIN);
	return rc;
}

EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
	recorder_acquiring(&lc_tls, (const void *)l);
	spin_fn try = real_get(&real.spin_trylock);
	int rc = try ? try(l) : ENOSYS;
	if (likely(rc == 0)) {
		recorder_acquired(&lc_tls, (const void *)l, LC_KIND_SPIN);
		return 0;
	}
	return spin_slow(l, rc);
}

EXPORT int pthread_spin_trylock(pthread_spinlock_t *l)
{
	recorder_acquiring(&lc_tls, (const void *)l);
	spin_fn try = real_get(&real.spin_trylock);
	int rc = try ? try(l) : ENOSYS;
	if (likely(rc == 0))
		recorder_acquired(&lc_tls, (const void *)l, LC_KIND_SPIN);
	else if (rc == EBUSY)
		recorder_trylock_failed(&lc_tls, (const void *)l, LC_KIND_SPIN);
	return rc;
}

static __attribute__((noinline)) int spin_unlock_watched(pthread_spinlock_t *l, spin_fn unlock)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	recorder_release_begin(t, &r, (const void *)l, LC_KIND_SPIN, false);
	int rc = unlock(l);
	recorder_release_end(t, &r);
	return rc;
}

EXPORT int pthread_spin_unlock(pthread_spinlock_t *l)
{
	struct lc_tls *t = &lc_tls;
	spin_fn unlock = real_get(&real.spin_unlock);
	if (!unlock)
		return ENOSYS;
	t->unlocks++;
	if (unlikely(recorder_unlock_watched(t, (const void *)l, true)))
		return spin_unlock_watched(l, unlock);
	return unlock(l);
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(pthread_spin_lock);
HOOK_ALIAS(pthread_spin_trylock);
HOOK_ALIAS(pthread_spin_unlock);
