/*
 * hooks_futex.c — syscall(): a program's own futex waits and wakes (kind
 * FUTEX; the lock is the futex word's address).
 *
 * Much native code waits on futexes directly, through glibc's syscall()
 * (Rust's std Mutex and RwLock since 1.62, parking_lot, Abseil, C futex
 * locks written by hand).  This file interposes syscall() for them.
 *
 * Every call but SYS_futex and SYS_futex_waitv is forwarded at once: the
 * six long arguments are read with va_arg (as glibc's syscall reads six
 * registers and a stack slot, whatever the caller passed) and handed, unchanged, to the next
 * syscall() (real.h: resolved at start-up, never by dlsym here — a signal
 * handler may call this; before start-up, the instruction itself, with
 * syscall()'s convention).  Return value and errno are the real call's.
 * What a non-futex call costs on top of the forwarding floor
 * (bench/fwd.c's syscall) is two compares.
 *
 * Waits: FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI and FUTEX_LOCK_PI2,
 * private or not, on either clock.  Whether a call was a wait is known only
 * after it: woken (0) is a contention with its delay; ETIMEDOUT one that
 * gave up (flagged TIMEDOUT and counted as a timed lock's); EAGAIN (the
 * word had changed: it never slept), EINTR and every other error are no
 * wait and discarded.  The slow path is the mutexes' (hooks_wait):
 * recorder_begin before the call — sample, clock, register as a waiter on
 * the word (the holder view), unwind, show the wait — and recorder_end
 * after it, which decides.  Why unwind before a call that may return at
 * once: a waiter must be registered before it sleeps, or the wake that
 * lets it go finds nobody to charge; a hung wait's WAITING record must
 * show its stack; and the unwind overlaps a wait that does block.  An
 * EAGAIN return pays it for nothing: a sampled one cost 0.46 us more than
 * the forwarding floor, on a system call of about 1 us (bench test 1, the
 * EAGAIN row).  Such a return is rare where it matters: the word changed
 * between the program's look and its call.  Unwinding after the call
 * instead would cost nothing on EAGAIN but put the unwind inside the
 * critical section of a lock taken by the call (FUTEX_LOCK_PI), and leave
 * a hung wait without its stack.  The word cannot be looked at first (to
 * predict EAGAIN): a bad address is the kernel's EFAULT, our crash.  A discarded wait
 * still made its word's LOCK record if it was the word's first (a lock
 * with no contention in the table).
 *
 * The phdr rule (loader.h): a refresh of the module map waits for the
 * loader's lock, so it never runs while the thread holds a lock another
 * thread may wait for inside the loader.  Which futex locks a thread holds
 * is unknown; so while its futex call is recorded it counts as holding
 * one (lc_held): it publishes only stacks the map covers, and the rest
 * waits for its next other event, its exit, or the end.  (A signal
 * handler that jumps out of the call leaves the count one up: the thread
 * is only more careful from then on.)
 *
 * futex_waitv (Linux 5.16) waits on a vector of words and returns the
 * index of the one that woke it: that word is the lock, the truth of
 * which word ended the wait; a wait that timed out (ETIMEDOUT, flagged as
 * FUTEX_WAIT_BITSET's) is on the vector's first word; EAGAIN, EINTR and
 * the errors are no wait.  The vector is read only after the call, and
 * only when the kernel has read it whole (an index, or ETIMEDOUT): before
 * it, it may be a bad address.  So the wait begins on the vector's own
 * address — the thread's WAITING record shows that while it waits, and it
 * is registered there as a waiter — and ends on the word
 * (recorder_moved).  No wake is ever charged with it (a wake is on a
 * word, not on the vector): its whole waiting is uncharged
 * (_NotChargedToHolder), and the vector has a LOCK record of its own,
 * with no contention.
 *
 * Wakes: FUTEX_WAKE, FUTEX_WAKE_BITSET and FUTEX_UNLOCK_PI on a word with
 * registered waiters (lockstate's filter: one load) are charged with their
 * waiting, as an unlock is (recorder_release_*), before the call.  There
 * is no hold view of a futex: no acquisition is seen.
 *
 * Not seen: glibc's own futexes (its locks, condition variables and
 * semaphores make the syscall inline), Go's runtime, anything else that
 * issues the instruction itself; FUTEX_WAIT_REQUEUE_PI (a condition
 * variable's wait), forwarded untouched; FUTEX_REQUEUE,
 * FUTEX_CMP_REQUEUE and FUTEX_WAKE_OP charge nothing (a waiter moved to
 * another word stays registered on the first: its waiting is uncharged).
 */
#include <linux/futex.h>
#include <stdarg.h>
#include <unistd.h>

#include "hooks.h"
#include "real.h"
#include "sys.h"

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449 /* x86-64, Linux 5.16 */
#endif

typedef long (*syscall_fn)(long, ...);

/* Before start-up found the next syscall(): the instruction, and
 * syscall()'s convention for its result. */
static __attribute__((noinline)) long futex_raw(long nr, long a, long b, long c, long d, long e,
                                                long f)
{
	long rc = sys_raw(nr, a, b, c, d, e, f);
	if ((unsigned long)rc > -4096ul) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

static inline long futex_forward(long nr, long a, long b, long c, long d, long e, long f)
{
	syscall_fn fn = __atomic_load_n(&real.syscall, __ATOMIC_RELAXED);
	if (unlikely(!fn))
		return futex_raw(nr, a, b, c, d, e, f);
	return fn(nr, a, b, c, d, e, f);
}

/* One futex call's arguments and what it returned. */
struct futex_call {
	long a[6];
	long rc;
	int err;
};

static inline long futex_do(struct futex_call *c)
{
	c->rc = futex_forward(SYS_futex, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
	c->err = c->rc == -1 ? errno : 0;
	return c->rc;
}

/* hooks_wait's wait: 0 woken (or, PI, acquired), ETIMEDOUT, or EAGAIN for
 * everything that was no wait (recorder_end discards it). */
static int futex_wait_call(void *p)
{
	struct futex_call *c = p;
	if (futex_do(c) == 0)
		return 0;
	return c->err == ETIMEDOUT ? ETIMEDOUT : EAGAIN;
}

static long futex_wait(struct futex_call *c)
{
	struct lc_tls *t = &lc_tls;
	t->locks++; /* the phdr rule, above */
	hooks_wait(t, futex_wait_call, c, (const void *)c->a[0], LC_KIND_FUTEX);
	t->locks--;
	if (c->rc == -1)
		errno = c->err;
	return c->rc;
}

/* A wake on a word sampled waiters are registered on: charged with their
 * waiting, as an unlock is.  Anything else is forwarded as it is. */
static long futex_wake(struct futex_call *c)
{
	struct lc_tls *t = &lc_tls;
	const void *word = (const void *)c->a[0];
	if (likely(!lockstate_maybe_waited((uintptr_t)word)))
		return futex_do(c);
	struct recorder_release r;
	t->locks++; /* the phdr rule, above */
	recorder_release_begin(t, &r, word, LC_KIND_FUTEX, false);
	futex_do(c);
	recorder_release_end(t, &r);
	t->locks--;
	if (c->rc == -1)
		errno = c->err;
	return c->rc;
}

/* ---- futex_waitv ---------------------------------------------------------- */

/* One futex_waitv and the word its wait ends on (0: none). */
struct waitv_call {
	struct futex_call c;
	uintptr_t word;
};

/* The vector's i-th word.  Read only after the kernel has read the whole
 * vector (it returned an index, or ETIMEDOUT): before the call the vector
 * may be a bad address, the kernel's EFAULT, and our crash. */
static uintptr_t waitv_word(const struct waitv_call *w, long i)
{
	const struct futex_waitv *v = (const struct futex_waitv *)w->c.a[0];
	return (uintptr_t)v[i].uaddr;
}

/* hooks_wait's wait: woken (the index of the word that woke it: that
 * word), ETIMEDOUT (the first word), or EAGAIN for the rest (no wait). */
static int waitv_wait_call(void *p)
{
	struct waitv_call *w = p;
	struct futex_call *c = &w->c;
	c->rc =
	    futex_forward(SYS_futex_waitv, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
	c->err = c->rc == -1 ? errno : 0;
	if (c->rc >= 0 && c->rc < (long)(unsigned int)c->a[1]) {
		w->word = waitv_word(w, c->rc);
		return 0;
	}
	if (c->rc == -1 && c->err == ETIMEDOUT && (unsigned int)c->a[1] > 0) {
		w->word = waitv_word(w, 0);
		return ETIMEDOUT;
	}
	return EAGAIN;
}

static __attribute__((noinline)) long futex_waitv_call(long a, long b, long c, long d, long e,
                                                       long f)
{
	struct lc_tls *t = &lc_tls;
	struct waitv_call w = {.c = {.a = {a, b, c, d, e, f}}};
	t->locks++; /* the phdr rule, above */
	hooks_wait_moved(t, waitv_wait_call, &w, (const void *)a, LC_KIND_FUTEX, &w.word);
	t->locks--;
	if (w.c.rc == -1)
		errno = w.c.err;
	return w.c.rc;
}

/* ---- the entry --------------------------------------------------------------- */

static __attribute__((noinline)) long futex_call(long a, long b, long c, long d, long e, long f)
{
	struct futex_call fc = {.a = {a, b, c, d, e, f}};
	switch (b & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2: return futex_wait(&fc);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
	case FUTEX_UNLOCK_PI: return futex_wake(&fc);
	default: return futex_do(&fc);
	}
}

EXPORT long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (unlikely(nr == SYS_futex))
		return futex_call(a, b, c, d, e, f);
	if (unlikely(nr == SYS_futex_waitv))
		return futex_waitv_call(a, b, c, d, e, f);
	return futex_forward(nr, a, b, c, d, e, f);
}

/* The hook's own address, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(syscall);
