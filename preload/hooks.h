/*
 * hooks.h — what the interposed functions share (hooks*.c).
 *
 * hooks.c holds the pthread mutex hooks and the shared slow path;
 * hooks_rwlock.c, hooks_spin.c, hooks_cond.c, hooks_c11.c and hooks_sem.c
 * the other lock kinds (semaphores have their own slow path: a wait there
 * is a cancellation point, and reports in errno).  Every hook has the same
 * shape: try without waiting, count an acquisition in TLS
 * (recorder_acquired; a plain mutex, whose attempt is inline, counts it
 * before the attempt: recorder_attempt); if that fails, hooks_wait around
 * the real blocking call; an unlock looks at recorder_unlock_watched
 * before the real release (a plain mutex's looks at the lock word before
 * it, and at the thread's hold sample after it).
 */
#ifndef LOCKCONTEND_HOOKS_H
#define LOCKCONTEND_HOOKS_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <time.h>

#include "recorder.h"

#define EXPORT __attribute__((visibility("default")))
/* An exported hook's own address, for the table of hooks (hooks_table.c,
 * hooklist.h): a hidden alias, beside its definition.  Taken by its
 * exported name, the address would be what the loader binds that name
 * to, which is glibc's when the library was loaded by dlopen.  The alias
 * leaves out the attributes of glibc's declaration (nothrow, nonnull),
 * which matter only to callers: the files turn -Wmissing-attributes off
 * where their aliases start. */
#define HOOK_ALIAS(name) \
	extern __typeof(name) hook_##name __attribute__((alias(#name), visibility("hidden")))
/* A frame a thread can be cancelled through (a condition wait) carries no
 * AddressSanitizer redzones: a cancellation's unwinding would leave them
 * poisoned below the stack pointer, and the cleanup handlers' frames would
 * trip over them (ASan unpoisons for exceptions and longjmp, not for
 * pthread_cancel).  Nothing at all without ASan. */
#define CANCELLABLE __attribute__((no_sanitize_address))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* A blocking call's result that means "now held". */
static inline int acquired(int rc)
{
	return rc == 0 || rc == EOWNERDEAD;
}

/* glibc's timed lock functions refuse a bad clock or timeout (EINVAL)
 * before they look at the lock; a hook that tried the lock first would
 * take a free one instead.  Such a call goes straight to the real one. */
static inline bool hooks_timeout_valid(clockid_t clock, const struct timespec *abstime)
{
	return (clock == CLOCK_MONOTONIC || clock == CLOCK_REALTIME) &&
	       (!abstime || (abstime->tv_nsec >= 0 && abstime->tv_nsec < 1000000000));
}

/* pthread_cleanup_push, in C without -fexceptions, registers its buffer
 * with the thread until pthread_cleanup_pop: a siglongjmp out of the wait
 * (hooks_jump.c) would leave it registered, and a later cancellation would
 * unwind into the dead frame (SIGSEGV).  So every cleanup a wait of ours
 * pushes is noted in lc_tls.cancel_note for the wait's length, and
 * hooks_jump unregisters those it jumps over.  `__cancel_buf` is the
 * buffer glibc's macro declares. */
struct hooks_cancel_note {
	void *buf; /* the __pthread_unwind_buf_t registered */
	struct hooks_cancel_note *outer;
};
#define HOOKS_CANCEL_PUSH(t, fn, arg)                                                    \
	pthread_cleanup_push(fn, arg);                                                   \
	struct hooks_cancel_note hooks_cancel_note_ = {&__cancel_buf, (t)->cancel_note}; \
	(t)->cancel_note = &hooks_cancel_note_
#define HOOKS_CANCEL_POP(t)                          \
	(t)->cancel_note = hooks_cancel_note_.outer; \
	pthread_cleanup_pop(0)

/* The slow path shared by every blocking variant: `wait(arg)` performs the
 * real blocking call on `lock` (enum lc_kind `kind`), timed and recorded. */
int hooks_wait(struct lc_tls *t, int (*wait)(void *), void *arg, const void *lock, uint32_t kind);

/* hooks_wait, but the wait ends on *ended_on if `wait` set it (non-zero):
 * a futex_waitv begins on its vector and ends on the word that woke it
 * (hooks_futex.c, recorder_moved). */
int hooks_wait_moved(struct lc_tls *t, int (*wait)(void *), void *arg, const void *lock,
                     uint32_t kind, const uintptr_t *ended_on);

/* What _FORTIFY_SOURCE builds call instead of longjmp (glibc declares it
 * only for them). */
void __longjmp_chk(jmp_buf env, int val) __attribute__((noreturn));

/* The hooked mutex functions, for the C11 and condition-variable hooks. */
int hooks_mutex_lock(pthread_mutex_t *m);
int hooks_mutex_trylock(pthread_mutex_t *m);
int hooks_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime);
int hooks_mutex_unlock(pthread_mutex_t *m);

/* Will unlocking m (or a condition wait on it) release it?  Not when the
 * caller does not own an error-checking, robust or PI mutex (EPERM), nor
 * for a recursive one held more than once. */
bool hooks_unlock_releases(pthread_mutex_t *m);

/* The calling thread's id as glibc keeps it, the one it stores as a
 * mutex's owner and a rwlock's writer (and the TLS cache put right). */
int32_t hooks_tid(void);

/* fork()'s child handler: the thread's id is new. */
void hooks_fork_child(void);

/* For an attach (attach.c): the table of hooks to store in the program's
 * GOT slots, every exported hook and the wrappers of dlopen and dlmopen,
 * sorted by name (hooks_table.c); whether p is one of them. */
struct gotpatch_hook;
const struct gotpatch_hook *hooks_table(size_t *n);
bool hooks_table_has(const void *p);

/* dlopen and dlmopen, followed while attached (hooks_dlopen.c): never
 * exported, only stored in the GOT slots by an attach.  Not when the
 * kernel keeps a shadow stack for the process (hooks_dlopen_followed
 * false: its return-address trick would fault there). */
void *hook_dlopen(const char *file, int mode);
void *hook_dlmopen(Lmid_t lmid, const char *file, int mode);
bool hooks_dlopen_followed(void);

#endif
