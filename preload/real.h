/*
 * real.h — the real (next) pthread functions that the hooks forward to.
 *
 * The table starts out pointing at glibc's own entry points, so a hook that
 * runs before anything is resolved (another library's constructor, the
 * loader, a malloc that makes its mutexes as it starts) still works (for
 * the mutex and rwlock functions glibc exports aliases; the others are
 * resolved on first use).  real_resolve() switches it to dlsym(RTLD_NEXT)
 * results, so a tool preloaded after us keeps its place in the chain; it is
 * idempotent and safe to call again from any thread.  Functions glibc has no
 * alias for (timedlock, clocklock, dl_iterate_phdr) are resolved on first
 * use.
 *
 * Versioned symbols.  glibc 2.34 moved libpthread into libc and gave the
 * semaphore functions a second version: sem_wait@GLIBC_2.2.5 (x86-64;
 * 2.17 on aarch64), which programs built before it bind to, and the
 * default sem_wait@@GLIBC_2.34 (sem_clockwait@GLIBC_2.30 likewise).  The
 * hooks are exported without a version, which the loader binds either
 * reference to, so old and new programs alike reach them; they forward to
 * the GLIBC_2.34 version by name (dlvsym), the one every program built
 * today calls, and to what dlsym finds (the default) under a glibc older
 * than 2.34, which has no such version.  The two versions are one
 * function in every glibc since.
 */
#ifndef LOCKCONTEND_REAL_H
#define LOCKCONTEND_REAL_H

#include <link.h>
#include <stdbool.h>
#include <pthread.h>
#include <time.h>

struct real_fns {
	int (*lock)(pthread_mutex_t *);
	int (*trylock)(pthread_mutex_t *);
	int (*unlock)(pthread_mutex_t *);
	int (*timedlock)(pthread_mutex_t *, const struct timespec *);
	int (*clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
	int (*iterate_phdr)(int (*)(struct dl_phdr_info *, size_t, void *), void *);
	int (*rdlock)(pthread_rwlock_t *);
	int (*wrlock)(pthread_rwlock_t *);
	int (*tryrdlock)(pthread_rwlock_t *);
	int (*trywrlock)(pthread_rwlock_t *);
	int (*rwunlock)(pthread_rwlock_t *);
	int (*timedrdlock)(pthread_rwlock_t *, const struct timespec *);
	int (*timedwrlock)(pthread_rwlock_t *, const struct timespec *);
	int (*clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
	int (*clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
	int (*spin_lock)(pthread_spinlock_t *);
	int (*spin_trylock)(pthread_spinlock_t *);
	int (*spin_unlock)(pthread_spinlock_t *);
	int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
	int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
	int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
	                      const struct timespec *);
	/* on first use (hooks_cond.c) */
	int (*cond_signal)(pthread_cond_t *);
	int (*cond_broadcast)(pthread_cond_t *);
	/* where locks are made and destroyed (hooks_init.c); the spin lock's
	 * and mtx_t's, without a bootstrap alias, are resolved at start-up */
	int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
	int (*mutex_destroy)(pthread_mutex_t *);
	int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
	int (*rwlock_destroy)(pthread_rwlock_t *);
	void *spin_init, *spin_destroy, *mtx_init, *mtx_destroy;
	/* on first use (attached: by real_resolve_attached); execve and
	 * execvpe at start-up: a fork child that execs would otherwise call
	 * dlsym, in a copy of the process where the loader's pages it reads
	 * must all be faulted in again */
	void *dlclose, *execve, *execvpe, *fexecve, *execveat, *pthread_create, *thrd_create,
	    *setname;
	void *dlopen, *dlmopen; /* attached only (hooks_dlopen.c) */
	/* resolved at start-up: they run in signal handlers, where dlsym may not */
	void *longjmp, *siglongjmp, *_longjmp, *longjmp_chk, *pthread_exit, *_exit, *_Exit, *_Fork;
	/* resolved at start-up: before, the futex hook makes the call itself
	 * (hooks_futex.c) */
	long (*syscall)(long, ...);
	/* semaphores (hooks_sem.c), at start-up, by version (real_sym_newest) */
	void *sem_wait, *sem_timedwait, *sem_clockwait, *sem_trywait, *sem_post;
	/* where glibc keeps a thread's id in its thread block (pthread_self()),
	 * from the descriptor glibc exports for libthread_db
	 * (_thread_db_pthread_tid: bits, count, offset); 0: not known.  glibc
	 * sets it in a child of fork and of _Fork alike (hooks.c, wait_normal). */
	uint32_t tid_offset;
};

extern struct real_fns real;

void real_resolve(void);

/* Attached (the library loaded by dlopen: attach.c), the program's calls
 * were bound to the first definition in the global scope — glibc's, or an
 * interposer's before it — and dlsym(RTLD_NEXT) from a library loaded
 * later finds glibc's, past such an interposer.  So every function is
 * resolved with dlsym(RTLD_DEFAULT) from now on, falling back on RTLD_NEXT
 * when that finds nothing or one of our own hooks (`ours`: a hook never
 * forwards to itself); all of them now, the lazy ones too, so that no
 * hook calls dlsym in the program's threads.  Idempotent. */
void real_resolve_attached(bool (*ours)(const void *));

/* A function without a bootstrap alias: `*slot`, resolved now if need be,
 * or NULL if there is none (the caller answers ENOSYS). */
void *real_get(void *slot);

/* A function resolved only on first use (dlclose, exec*): *slot, set from
 * dlsym(RTLD_NEXT, name) if need be; NULL if there is none. */
void *real_sym_lazy(void **slot, const char *name);

/* For the three functions without a bootstrap alias: resolve now if needed
 * (none found: the mutex calls answer ENOSYS, dl_iterate_phdr visits
 * nothing). */
int real_timedlock(pthread_mutex_t *m, const struct timespec *abstime);
int real_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime);
int real_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);

#endif
