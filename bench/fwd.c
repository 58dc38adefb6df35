/*
 * fwd.c — the floor for any LD_PRELOAD lock tool: interpose, forward, nothing else.
 *
 * It forwards the pthread mutex, rwlock and spin lock functions and the
 * semaphore waits and posts, and pthread_cond_signal and _broadcast (C11
 * mtx_* and the condition waits are not here: no bench test times them), so that each lock kind the bench times has
 * a floor of its own; and syscall(), variadic, its six long arguments read
 * with va_arg and passed on as lockcontend's futex hook passes them
 * (preload/hooks_futex.c).
 *
 * Built by bench/Makefile into bench/build/libfwd.so with the same code-generation
 * choices as build/liblockcontend.so (-fPIC, hidden visibility but for the hooks,
 * -z now), so "lockcontend / fwd" measures what lockcontend does, not what any
 * interposer pays: the extra PLT hop into this library and one indirect call
 * into libc.
 *
 * The real functions are resolved once, in the constructor.  A hook that runs
 * before it (another library's constructor locking a mutex) resolves lazily;
 * two threads doing that at once both store the same pointer, which is benign.
 * dlsym() takes only the loader's internal locks, never these hooks, so
 * resolving cannot recurse.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FWD_EXPORT __attribute__((visibility("default")))

typedef int (*fwd_lock_fn)(pthread_mutex_t *);
typedef int (*fwd_timedlock_fn)(pthread_mutex_t *, const struct timespec *);
typedef int (*fwd_clocklock_fn)(pthread_mutex_t *, clockid_t, const struct timespec *);
typedef int (*fwd_rw_fn)(pthread_rwlock_t *);
typedef int (*fwd_rw_timed_fn)(pthread_rwlock_t *, const struct timespec *);
typedef int (*fwd_rw_clock_fn)(pthread_rwlock_t *, clockid_t, const struct timespec *);
typedef int (*fwd_spin_fn)(pthread_spinlock_t *);
typedef int (*fwd_sem_fn)(sem_t *);
typedef int (*fwd_sem_timed_fn)(sem_t *, const struct timespec *);
typedef int (*fwd_sem_clock_fn)(sem_t *, clockid_t, const struct timespec *);

static fwd_lock_fn real_lock, real_trylock, real_unlock;
static fwd_timedlock_fn real_timedlock;
static fwd_clocklock_fn real_clocklock;
static fwd_rw_fn real_rdlock, real_wrlock, real_tryrdlock, real_trywrlock, real_rwunlock;
static fwd_rw_timed_fn real_timedrdlock, real_timedwrlock;
static fwd_rw_clock_fn real_clockrdlock, real_clockwrlock;
static fwd_spin_fn real_spin_lock, real_spin_trylock, real_spin_unlock;
static long (*real_syscall)(long, ...);
static fwd_sem_fn real_sem_wait, real_sem_trywait, real_sem_post;
typedef int (*fwd_cond_fn)(pthread_cond_t *);
static fwd_cond_fn real_cond_signal, real_cond_broadcast;
static fwd_sem_timed_fn real_sem_timedwait;
static fwd_sem_clock_fn real_sem_clockwait;

static void *fwd_resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, "libfwd: dlsym(RTLD_NEXT, %s) failed\n", name);
		abort();
	}
	return p;
}

__attribute__((constructor)) static void fwd_init(void)
{
	real_lock = (fwd_lock_fn)fwd_resolve("pthread_mutex_lock");
	real_trylock = (fwd_lock_fn)fwd_resolve("pthread_mutex_trylock");
	real_unlock = (fwd_lock_fn)fwd_resolve("pthread_mutex_unlock");
	real_timedlock = (fwd_timedlock_fn)fwd_resolve("pthread_mutex_timedlock");
	real_clocklock = (fwd_clocklock_fn)fwd_resolve("pthread_mutex_clocklock");
	real_rdlock = (fwd_rw_fn)fwd_resolve("pthread_rwlock_rdlock");
	real_wrlock = (fwd_rw_fn)fwd_resolve("pthread_rwlock_wrlock");
	real_tryrdlock = (fwd_rw_fn)fwd_resolve("pthread_rwlock_tryrdlock");
	real_trywrlock = (fwd_rw_fn)fwd_resolve("pthread_rwlock_trywrlock");
	real_rwunlock = (fwd_rw_fn)fwd_resolve("pthread_rwlock_unlock");
	real_timedrdlock = (fwd_rw_timed_fn)fwd_resolve("pthread_rwlock_timedrdlock");
	real_timedwrlock = (fwd_rw_timed_fn)fwd_resolve("pthread_rwlock_timedwrlock");
	real_clockrdlock = (fwd_rw_clock_fn)fwd_resolve("pthread_rwlock_clockrdlock");
	real_clockwrlock = (fwd_rw_clock_fn)fwd_resolve("pthread_rwlock_clockwrlock");
	real_spin_lock = (fwd_spin_fn)fwd_resolve("pthread_spin_lock");
	real_spin_trylock = (fwd_spin_fn)fwd_resolve("pthread_spin_trylock");
	real_spin_unlock = (fwd_spin_fn)fwd_resolve("pthread_spin_unlock");
	real_syscall = (long (*)(long, ...))fwd_resolve("syscall");
	real_cond_signal = (fwd_cond_fn)fwd_resolve("pthread_cond_signal");
	real_cond_broadcast = (fwd_cond_fn)fwd_resolve("pthread_cond_broadcast");
	real_sem_wait = (fwd_sem_fn)fwd_resolve("sem_wait");
	real_sem_trywait = (fwd_sem_fn)fwd_resolve("sem_trywait");
	real_sem_post = (fwd_sem_fn)fwd_resolve("sem_post");
	real_sem_timedwait = (fwd_sem_timed_fn)fwd_resolve("sem_timedwait");
	real_sem_clockwait = (fwd_sem_clock_fn)fwd_resolve("sem_clockwait");
}

/* Only before the constructor is the pointer NULL; the branch is never taken after. */
#define FWD_ENSURE(ptr)                                                                    \
	do {                                                                               \
		if (__builtin_expect(!(ptr), 0))                                           \
			fwd_init();                                                        \
	} while (0)

/* mutexes */

FWD_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	FWD_ENSURE(real_lock);
	return real_lock(m);
}

FWD_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	FWD_ENSURE(real_trylock);
	return real_trylock(m);
}

FWD_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	FWD_ENSURE(real_unlock);
	return real_unlock(m);
}

FWD_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *restrict m,
                                       const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_timedlock);
	return real_timedlock(m, abstime);
}

FWD_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *restrict m, clockid_t clock,
                                       const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_clocklock);
	return real_clocklock(m, clock, abstime);
}

/* rwlocks */

FWD_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
	FWD_ENSURE(real_rdlock);
	return real_rdlock(rw);
}

FWD_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
	FWD_ENSURE(real_wrlock);
	return real_wrlock(rw);
}

FWD_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
	FWD_ENSURE(real_tryrdlock);
	return real_tryrdlock(rw);
}

FWD_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
	FWD_ENSURE(real_trywrlock);
	return real_trywrlock(rw);
}

FWD_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
	FWD_ENSURE(real_rwunlock);
	return real_rwunlock(rw);
}

FWD_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *restrict rw,
                                          const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_timedrdlock);
	return real_timedrdlock(rw, abstime);
}

FWD_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *restrict rw,
                                          const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_timedwrlock);
	return real_timedwrlock(rw, abstime);
}

FWD_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *restrict rw, clockid_t clock,
                                          const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_clockrdlock);
	return real_clockrdlock(rw, clock, abstime);
}

FWD_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *restrict rw, clockid_t clock,
                                          const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_clockwrlock);
	return real_clockwrlock(rw, clock, abstime);
}

/* spin locks */

FWD_EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
	FWD_ENSURE(real_spin_lock);
	return real_spin_lock(s);
}

FWD_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
	FWD_ENSURE(real_spin_trylock);
	return real_spin_trylock(s);
}

FWD_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
	FWD_ENSURE(real_spin_unlock);
	return real_spin_unlock(s);
}

/* syscall() */

FWD_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	FWD_ENSURE(real_syscall);
	return real_syscall(nr, a, b, c, d, e, f);
}

/* condition variables' signals */

FWD_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
	FWD_ENSURE(real_cond_signal);
	return real_cond_signal(c);
}

FWD_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
	FWD_ENSURE(real_cond_broadcast);
	return real_cond_broadcast(c);
}

/* semaphores */

FWD_EXPORT int sem_wait(sem_t *s)
{
	FWD_ENSURE(real_sem_wait);
	return real_sem_wait(s);
}

FWD_EXPORT int sem_trywait(sem_t *s)
{
	FWD_ENSURE(real_sem_trywait);
	return real_sem_trywait(s);
}

FWD_EXPORT int sem_post(sem_t *s)
{
	FWD_ENSURE(real_sem_post);
	return real_sem_post(s);
}

FWD_EXPORT int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_sem_timedwait);
	return real_sem_timedwait(s, abstime);
}

FWD_EXPORT int sem_clockwait(sem_t *restrict s, clockid_t clock,
                             const struct timespec *restrict abstime)
{
	FWD_ENSURE(real_sem_clockwait);
	return real_sem_clockwait(s, clock, abstime);
}
