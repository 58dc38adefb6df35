/*
 * real.c — resolve the functions the hooks forward to (see real.h).
 *
 * dlsym runs inside the recursion guard: whatever it locks internally goes
 * straight to glibc.  Preloaded, RTLD_NEXT; attached, RTLD_DEFAULT first
 * (real.h says why).  Pointers are stored with relaxed atomics; any thread
 * that sees the old value calls glibc directly, which is the same function
 * unless another interposer follows us.
 */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>

#include "tls.h"

/* glibc exports these aliases of its own mutex functions (GLIBC_2.2.5). */
extern int __pthread_mutex_lock(pthread_mutex_t *);
extern int __pthread_mutex_trylock(pthread_mutex_t *);
extern int __pthread_mutex_unlock(pthread_mutex_t *);
extern int __pthread_rwlock_rdlock(pthread_rwlock_t *);
extern int __pthread_rwlock_wrlock(pthread_rwlock_t *);
extern int __pthread_rwlock_tryrdlock(pthread_rwlock_t *);
extern int __pthread_rwlock_trywrlock(pthread_rwlock_t *);
extern int __pthread_rwlock_unlock(pthread_rwlock_t *);
extern int __pthread_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *);
extern int __pthread_mutex_destroy(pthread_mutex_t *);
extern int __pthread_rwlock_init(pthread_rwlock_t *, const pthread_rwlockattr_t *);
extern int __pthread_rwlock_destroy(pthread_rwlock_t *);

struct real_fns real = {
    .lock = __pthread_mutex_lock,
    .trylock = __pthread_mutex_trylock,
    .unlock = __pthread_mutex_unlock,
    .rdlock = __pthread_rwlock_rdlock,
    .wrlock = __pthread_rwlock_wrlock,
    .tryrdlock = __pthread_rwlock_tryrdlock,
    .trywrlock = __pthread_rwlock_trywrlock,
    .rwunlock = __pthread_rwlock_unlock,
    .mutex_init = __pthread_mutex_init,
    .mutex_destroy = __pthread_mutex_destroy,
    .rwlock_init = __pthread_rwlock_init,
    .rwlock_destroy = __pthread_rwlock_destroy,
};

/* attached: is it one of our hooks?  In .data, beside `real`, whose page
 * the loader's relocations wrote already: read at every start-up, alone
 * in .bss it cost a page fault there. */
static bool (*real_ours)(const void *) __attribute__((section(".data")));

static void *real_sym(const char *name)
{
	void *p = NULL;
	lc_tls.guard++;
	if (real_ours) {
		p = dlsym(RTLD_DEFAULT, name);
		if (p && real_ours(p))
			p = NULL;
	}
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	lc_tls.guard--;
	return p;
}

/* The GLIBC_2.34 version of a semaphore function (real.h), or, under an
 * older glibc, the default one. */
static void *real_sym_newest(const char *name)
{
	void *p = NULL;
	lc_tls.guard++;
	if (real_ours) {
		p = dlvsym(RTLD_DEFAULT, name, "GLIBC_2.34");
		if (p && real_ours(p))
			p = NULL;
	}
	if (!p)
		p = dlvsym(RTLD_NEXT, name, "GLIBC_2.34");
	lc_tls.guard--;
	return p ? p : real_sym(name);
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
	real_store(&real.rdlock, real_sym("pthread_rwlock_rdlock"));
	real_store(&real.wrlock, real_sym("pthread_rwlock_wrlock"));
	real_store(&real.tryrdlock, real_sym("pthread_rwlock_tryrdlock"));
	real_store(&real.trywrlock, real_sym("pthread_rwlock_trywrlock"));
	real_store(&real.rwunlock, real_sym("pthread_rwlock_unlock"));
	real_store(&real.timedrdlock, real_sym("pthread_rwlock_timedrdlock"));
	real_store(&real.timedwrlock, real_sym("pthread_rwlock_timedwrlock"));
	real_store(&real.clockrdlock, real_sym("pthread_rwlock_clockrdlock"));
	real_store(&real.clockwrlock, real_sym("pthread_rwlock_clockwrlock"));
	real_store(&real.spin_lock, real_sym("pthread_spin_lock"));
	real_store(&real.spin_trylock, real_sym("pthread_spin_trylock"));
	real_store(&real.spin_unlock, real_sym("pthread_spin_unlock"));
	real_store(&real.cond_wait, real_sym("pthread_cond_wait"));
	real_store(&real.cond_timedwait, real_sym("pthread_cond_timedwait"));
	real_store(&real.cond_clockwait, real_sym("pthread_cond_clockwait"));
	real_store(&real.cond_signal, real_sym("pthread_cond_signal"));
	real_store(&real.cond_broadcast, real_sym("pthread_cond_broadcast"));
	real_store(&real.mutex_init, real_sym("pthread_mutex_init"));
	real_store(&real.mutex_destroy, real_sym("pthread_mutex_destroy"));
	real_store(&real.rwlock_init, real_sym("pthread_rwlock_init"));
	real_store(&real.rwlock_destroy, real_sym("pthread_rwlock_destroy"));
	real_store(&real.spin_init, real_sym("pthread_spin_init"));
	real_store(&real.spin_destroy, real_sym("pthread_spin_destroy"));
	real_store(&real.mtx_init, real_sym("mtx_init"));
	real_store(&real.mtx_destroy, real_sym("mtx_destroy"));
	real_store(&real.longjmp, real_sym("longjmp"));
	real_store(&real.siglongjmp, real_sym("siglongjmp"));
	real_store(&real._longjmp, real_sym("_longjmp"));
	real_store(&real.longjmp_chk, real_sym("__longjmp_chk"));
	real_store(&real.pthread_exit, real_sym("pthread_exit"));
	real_store(&real._exit, real_sym("_exit"));
	real_store(&real._Exit, real_sym("_Exit"));
	real_store(&real._Fork, real_sym("_Fork"));
	real_store(&real.syscall, real_sym("syscall"));
	real_store(&real.sem_wait, real_sym_newest("sem_wait"));
	real_store(&real.sem_timedwait, real_sym_newest("sem_timedwait"));
	real_store(&real.sem_clockwait, real_sym_newest("sem_clockwait"));
	real_store(&real.sem_trywait, real_sym_newest("sem_trywait"));
	real_store(&real.sem_post, real_sym_newest("sem_post"));
	real_store(&real.execve, real_sym("execve"));
	real_store(&real.execvpe, real_sym("execvpe"));
	const uint32_t *tid = real_sym("_thread_db_pthread_tid");
	if (tid && tid[0] == 32 && tid[1] == 1)
		__atomic_store_n(&real.tid_offset, tid[2], __ATOMIC_RELAXED);
}

void *real_get(void *slot)
{
	void *fn = __atomic_load_n((void **)slot, __ATOMIC_RELAXED);
	if (!fn) {
		real_resolve();
		fn = __atomic_load_n((void **)slot, __ATOMIC_RELAXED);
	}
	return fn;
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

void *real_sym_lazy(void **slot, const char *name)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (!fn) {
		fn = real_sym(name);
		real_store(slot, fn);
	}
	return fn;
}

void real_resolve_attached(bool (*ours)(const void *))
{
	real_ours = ours;
	real_resolve();
	real_store(&real.dlclose, real_sym("dlclose"));
	real_store(&real.execve, real_sym("execve"));
	real_store(&real.execvpe, real_sym("execvpe"));
	real_store(&real.fexecve, real_sym("fexecve"));
	real_store(&real.execveat, real_sym("execveat"));
	real_store(&real.pthread_create, real_sym("pthread_create"));
	real_store(&real.thrd_create, real_sym("thrd_create"));
	real_store(&real.setname, real_sym("pthread_setname_np"));
	real_store(&real.dlopen, real_sym("dlopen"));
	real_store(&real.dlmopen, real_sym("dlmopen"));
}
