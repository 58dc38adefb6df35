/*
 * fwd.c — the floor for any LD_PRELOAD mutex tool: interpose, forward, nothing else.
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
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FWD_EXPORT __attribute__((visibility("default")))

typedef int (*fwd_lock_fn)(pthread_mutex_t *);
typedef int (*fwd_timedlock_fn)(pthread_mutex_t *, const struct timespec *);
typedef int (*fwd_clocklock_fn)(pthread_mutex_t *, clockid_t, const struct timespec *);

static fwd_lock_fn real_lock, real_trylock, real_unlock;
static fwd_timedlock_fn real_timedlock;
static fwd_clocklock_fn real_clocklock;

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
}

/* Only before the constructor is the pointer NULL; the branch is never taken after. */
#define FWD_ENSURE(ptr)                                                                    \
	do {                                                                               \
		if (__builtin_expect(!(ptr), 0))                                           \
			fwd_init();                                                        \
	} while (0)

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
