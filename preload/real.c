/*
 * real.c — resolve the functions the hooks forward to (see real.h).
 *
 * dlsym runs inside the recursion guard: whatever it locks internally goes
 * straight to glibc.  Pointers are stored with relaxed atomics; any thread
 * that sees the old value calls glibc directly, which is the same function
 * unless another interposer follows us.
 */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>

#include "recorder.h"

/* glibc exports these aliases of its own mutex functions (GLIBC_2.2.5). */
extern int __pthread_mutex_lock(pthread_mutex_t *);
extern int __pthread_mutex_trylock(pthread_mutex_t *);
extern int __pthread_mutex_unlock(pthread_mutex_t *);

struct real_fns real = {
	.lock = __pthread_mutex_lock,
	.trylock = __pthread_mutex_trylock,
	.unlock = __pthread_mutex_unlock,
};

static void *real_sym(const char *name)
{
	lc_tls.guard++;
	void *p = dlsym(RTLD_NEXT, name);
	lc_tls.guard--;
	return p;
}

static void real_store(void *slot, void *p)
{
	if (p)
		__atomic_store_n((void **)slot, p, __ATOMIC_RELAXED);
}

void real_resolve(void)
{
	real_store(&real.lock, real_sym("pthread_mutex_lock"));
	real_store(&real.trylock, real_sym("pthread_mutex_trylock"));
	real_store(&real.unlock, real_sym("pthread_mutex_unlock"));
	real_store(&real.timedlock, real_sym("pthread_mutex_timedlock"));
	real_store(&real.clocklock, real_sym("pthread_mutex_clocklock"));
	real_store(&real.iterate_phdr, real_sym("dl_iterate_phdr"));
}

int real_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	int (*fn)(pthread_mutex_t *, const struct timespec *) =
	    __atomic_load_n(&real.timedlock, __ATOMIC_RELAXED);
	if (!fn) {
		real_resolve();
		fn = __atomic_load_n(&real.timedlock, __ATOMIC_RELAXED);
	}
	return fn ? fn(m, abstime) : ENOSYS;
}

int real_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
	int (*fn)(pthread_mutex_t *, clockid_t, const struct timespec *) =
	    __atomic_load_n(&real.clocklock, __ATOMIC_RELAXED);
	if (!fn) {
		real_resolve();
		fn = __atomic_load_n(&real.clocklock, __ATOMIC_RELAXED);
	}
	return fn ? fn(m, clock, abstime) : ENOSYS;
}

int real_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	int (*fn)(int (*)(struct dl_phdr_info *, size_t, void *), void *) =
	    __atomic_load_n(&real.iterate_phdr, __ATOMIC_RELAXED);
	if (!fn) {
		real_resolve();
		fn = __atomic_load_n(&real.iterate_phdr, __ATOMIC_RELAXED);
	}
	return fn ? fn(cb, data) : 0;
}
