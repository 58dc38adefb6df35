/*
 * hooklist.h — every function the library interposes, by name: the list
 * the table of hooks (hooks_table.c) is made from, for an attach to put
 * in the program's GOT slots (gotpatch.h).  exports.map exports the same
 * names and test_attach holds the two to each other.
 *
 * HOOKLIST(X) calls X(name) once per exported hook.  A hook named here
 * whose hidden alias (hooks.h's HOOK_ALIAS, beside its definition in a
 * hooks*.c) is missing fails the link.  No include, so that a test can
 * expand it too.
 */
#ifndef LOCKCONTEND_HOOKLIST_H
#define LOCKCONTEND_HOOKLIST_H

#define HOOKLIST(X)                   \
	X(pthread_mutex_lock)         \
	X(pthread_mutex_trylock)      \
	X(pthread_mutex_timedlock)    \
	X(pthread_mutex_clocklock)    \
	X(pthread_mutex_unlock)       \
	X(pthread_mutex_init)         \
	X(pthread_mutex_destroy)      \
	X(pthread_rwlock_rdlock)      \
	X(pthread_rwlock_wrlock)      \
	X(pthread_rwlock_timedrdlock) \
	X(pthread_rwlock_timedwrlock) \
	X(pthread_rwlock_clockrdlock) \
	X(pthread_rwlock_clockwrlock) \
	X(pthread_rwlock_tryrdlock)   \
	X(pthread_rwlock_trywrlock)   \
	X(pthread_rwlock_unlock)      \
	X(pthread_rwlock_init)        \
	X(pthread_rwlock_destroy)     \
	X(pthread_spin_lock)          \
	X(pthread_spin_trylock)       \
	X(pthread_spin_unlock)        \
	X(pthread_spin_init)          \
	X(pthread_spin_destroy)       \
	X(pthread_cond_wait)          \
	X(pthread_cond_timedwait)     \
	X(pthread_cond_clockwait)     \
	X(pthread_cond_signal)        \
	X(pthread_cond_broadcast)     \
	X(mtx_lock)                   \
	X(mtx_trylock)                \
	X(mtx_timedlock)              \
	X(mtx_unlock)                 \
	X(mtx_init)                   \
	X(mtx_destroy)                \
	X(cnd_wait)                   \
	X(cnd_timedwait)              \
	X(sem_wait)                   \
	X(sem_timedwait)              \
	X(sem_clockwait)              \
	X(sem_trywait)                \
	X(sem_post)                   \
	X(dl_iterate_phdr)            \
	X(dlclose)                    \
	X(execve)                     \
	X(execv)                      \
	X(execvp)                     \
	X(execvpe)                    \
	X(fexecve)                    \
	X(execl)                      \
	X(execlp)                     \
	X(execle)                     \
	X(execveat)                   \
	X(_exit)                      \
	X(_Exit)                      \
	X(_Fork)                      \
	X(longjmp)                    \
	X(siglongjmp)                 \
	X(_longjmp)                   \
	X(__longjmp_chk)              \
	X(pthread_exit)               \
	X(pthread_create)             \
	X(thrd_create)                \
	X(pthread_setname_np)         \
	X(syscall)

#endif
