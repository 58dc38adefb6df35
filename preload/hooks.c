/*
 * hooks.c — the interposed functions (pthread mutexes, dl_iterate_phdr).
 * Nothing else lives here.
 *
 * Fast path (every hook): try the lock without waiting — inline, as glibc's
 * own lock does, for plain mutexes (fast_acquire), with glibc's trylock for
 * every other kind; on success count the acquisition in TLS and return
 * (a plain mutex's is counted before the attempt and taken back if it
 * fails: between its CAS and its release nothing of ours is stored, since
 * one TLS add there made an empty section measurably longer).
 * No clock read, no table, no shared write of ours — the held count is
 * thread-local.
 *
 * Slow path: recorder_begin (sample? clock, settle the previous event,
 * publish the stash, stack) -> the real blocking call (for a busy normal
 * mutex, glibc's own waiter's loop: wait_normal) -> recorder_end (clock,
 * note the event).  An unlock looks at two words: the lock word (2:
 * someone may sleep on it — and then lockstate's filter) and the thread's
 * hold-time sample, and adds one to a TLS counter.  Only when either
 * says so does it call the recorder (the holder view, hold times), around
 * the release: a plain mutex's is made inline, as glibc makes it
 * (hooks_release_plain), every other kind's is the real unlock.
 *
 * Return values and errno are exactly glibc's: a trylock result other than
 * EBUSY is what the blocking call would have returned without blocking
 * (success, EOWNERDEAD, EDEADLK, EAGAIN, EINVAL), and after EBUSY the real
 * blocking call decides (for a normal mutex's pthread_mutex_lock, which
 * cannot fail, wait_normal takes it as glibc's waiter does, and leaves the
 * mutex as glibc leaves it).  The one place where that is not so, a
 * robust mutex whose owner died or that is not recoverable, is sent
 * straight to the real function (robust_special).  The recorder preserves errno.
 *
 * Inside the recursion guard (dlsym, dl_iterate_phdr, a signal handler
 * that interrupted our own work) a contended lock is timed and charged to
 * the sentinel; the held count is kept in step either way, since the guard
 * cannot change between a thread's lock and its unlock of the same mutex.
 */
#include <sys/single_threaded.h>
#include <unistd.h>

#include "attach.h"
#include "hooks.h"
#include "lifecycle.h"
#include "quiet.h"
#include "real.h"
#include "stackroom.h"
#include "sys.h"

/* glibc internals (stable ABI of pthread_mutex_t): the robust bit of
 * __kind, the "not recoverable" value of __owner; and the kernel's flag for
 * "the owner died" in the lock word of a robust mutex. */
#define GLIBC_MUTEX_KIND_ROBUST 16            /* PTHREAD_MUTEX_ROBUST_NORMAL_NP, in __kind */
#define GLIBC_MUTEX_NOTRECOVERABLE 0x7ffffffe /* INT_MAX - 1 */
#define KERNEL_FUTEX_OWNER_DIED 0x40000000

/* A robust mutex whose owner died, or that is not recoverable, is where
 * glibc's trylock and its blocking calls disagree: trylock takes a
 * not-recoverable mutex and leaves it held (returning ENOTRECOVERABLE),
 * and for a PI robust mutex trylock returns EOWNERDEAD where timedlock with
 * a bad timeout returns EINVAL (test/fixtures/retcodes.c shows both).  Such
 * a call is no contention anyway: it goes straight to the real function.
 * The kind word is read first and is in the cache line trylock touches. */
static inline bool robust_special(pthread_mutex_t *m)
{
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	if (likely(!(kind & GLIBC_MUTEX_KIND_ROBUST)))
		return false;
	return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) ==
	           GLIBC_MUTEX_NOTRECOVERABLE ||
	       (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) & KERNEL_FUTEX_OWNER_DIED);
}

/* glibc's uncontended lock of a plain mutex (PTHREAD_MUTEX_TIMED_NP or
 * _ADAPTIVE_NP, private or shared, elision not on) is one CAS of __lock
 * from 0 to 1 (a plain store while the process is single-threaded and the
 * mutex private), then __owner = tid and ++__nusers; its unlock does the
 * reverse and checks neither.  glibc's trylock does the same work but costs
 * twice glibc's lock (a jump table, five saved registers), which no LD_PRELOAD
 * fast path could hide.  So for these two kinds the hooks try the lock
 * without waiting exactly as glibc's lock does, and every other kind goes
 * through glibc's trylock.  The differential test (test/fixtures/retcodes.c)
 * holds both paths to glibc's results. */
#define GLIBC_MUTEX_KIND_TYPE_MASK 0x1ff /* type, robust, PI, PP, pshared, elision */
#define GLIBC_MUTEX_KIND_ADAPTIVE 3
#define GLIBC_MUTEX_KIND_PSHARED 128

enum fast { FAST_ACQUIRED, FAST_BUSY, FAST_NOT_PLAIN };

/* The kind of m if it is plain (TIMED or ADAPTIVE, maybe pshared), else -1. */
static inline int plain_kind(pthread_mutex_t *m)
{
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	int type = kind & GLIBC_MUTEX_KIND_TYPE_MASK & ~GLIBC_MUTEX_KIND_PSHARED;
	return type == PTHREAD_MUTEX_TIMED_NP || type == GLIBC_MUTEX_KIND_ADAPTIVE ? kind : -1;
}

/* Is m a normal mutex (PTHREAD_MUTEX_TIMED_NP, maybe pshared)? */
static inline bool normal_kind(pthread_mutex_t *m)
{
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	return (kind & GLIBC_MUTEX_KIND_TYPE_MASK & ~GLIBC_MUTEX_KIND_PSHARED) ==
	       PTHREAD_MUTEX_TIMED_NP;
}

static inline enum fast fast_acquire(pthread_mutex_t *m)
{
	int kind = plain_kind(m);
	int32_t tid = lc_tls.tid;
	/* A thread's first lock goes the long way, which learns its tid: the
	 * fast path makes no call, so it saves no register. */
	if (kind < 0 || unlikely(!tid))
		return FAST_NOT_PLAIN;
	if (__libc_single_threaded && !(kind & GLIBC_MUTEX_KIND_PSHARED)) {
		/* As glibc: one thread, a private mutex, no atomic needed. */
		if (m->__data.__lock != 0)
			return FAST_BUSY;
		m->__data.__lock = 1;
	} else {
		/* Look before the CAS, as glibc's trylock does: a CAS that
		 * fails still takes the cache line away from the holder, and
		 * that would slow the very critical section being waited on. */
		int unlocked = 0;
		if (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) != 0 ||
		    !__atomic_compare_exchange_n(&m->__data.__lock, &unlocked, 1, false,
		                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return FAST_BUSY;
	}
	/* A store glibc makes plainly; relaxed atomic here (the same mov) for
	 * the waiters that read it to show whom they wait behind (waiting.h). */
	__atomic_store_n(&m->__data.__owner, tid, __ATOMIC_RELAXED);
	++m->__data.__nusers;
	return FAST_ACQUIRED;
}

/* The calling thread's id where glibc keeps it, which glibc sets in every
 * child and stores as a mutex's owner (a gettid system call instead made a
 * contended wait about 0.5 us longer here, and the empty-section busy
 * share 1.5x what it was). */
static int32_t hooks_glibc_tid(void)
{
	uint32_t off = __atomic_load_n(&real.tid_offset, __ATOMIC_RELAXED);
	if (off)
		return *(const int32_t *)((const char *)pthread_self() + off);
	return (int32_t)sys_call(SYS_gettid, 0, 0, 0, 0);
}

/* Outside the fast path: fast_acquire needs the thread's id. */
static void hooks_learn_tid(void)
{
	if (!lc_tls.tid)
		lc_tls.tid = hooks_glibc_tid();
}

/* The id glibc compares an owner with.  The cached one is its parent's in
 * the thread that made a child without fork's handlers by a raw system
 * call (the _Fork hook forgets it, as fork's child handler does), until
 * the child's profile starts in that thread or a contended wait puts it
 * right: meanwhile its inline locks store the parent's id as the owner (a
 * store glibc never checks for a plain mutex, but what a WAITING record
 * and top show), and an unlock of a mutex it took through glibc would not
 * be a release.  The cache is put right here too. */
int32_t hooks_tid(void)
{
	return lc_tls.tid = hooks_glibc_tid();
}

/* The new child of fork() is a new thread id. */
void hooks_fork_child(void)
{
	lc_tls.tid = 0;
}

/* Contention met inside lockcontend's own work: time it, charge the
 * sentinel, record no stack.  `wait` performs the real blocking call. */
static int hooks_guarded(struct lc_tls *t, int (*wait)(void *), void *arg)
{
	uint64_t t0 = recorder_now();
	int rc = wait(arg);
	if (acquired(rc) || rc == ETIMEDOUT) {
		uint64_t t1 = recorder_now();
		recorder_defer(t, LC_DEFERRED_REENTRANT, t1 - t0, t1);
	}
	return rc;
}

/* Too little stack for the books (stackroom_tight): time it (by syscall:
 * no interceptor's frame) and count it, nothing deeper. */
static __attribute__((noinline)) int hooks_tight(struct lc_tls *t, int (*wait)(void *), void *arg)
{
	uint64_t t0 = clock_mono_ns_raw();
	int rc = wait(arg);
	if (acquired(rc) || rc == ETIMEDOUT) {
		uint64_t t1 = clock_mono_ns_raw();
		recorder_defer(t, LC_DEFERRED_NO_ROOM, t1 - t0, t1);
	}
	return rc;
}

CANCELLABLE int hooks_wait(struct lc_tls *t, int (*wait)(void *), void *arg, const void *lock,
                           uint32_t kind)
{
	return hooks_wait_moved(t, wait, arg, lock, kind, NULL);
}

/* A lock call is no cancellation point, but a thread with asynchronous
 * cancellation (PTHREAD_CANCEL_ASYNCHRONOUS) is cancelled wherever it is,
 * most likely asleep in the real blocking call: the unwinding ends the
 * wait here, given up, its cell on the lock given back, as a jump out of
 * it does (hooks_jump.c).  Without this the wait stayed registered on the
 * lock for ever, and every later unlock or wake was charged its age. */
static void hooks_wait_cancelled(void *s)
{
	recorder_end_open(&lc_tls, s, RECORDER_TIMEDOUT);
}

/* The recorded wait, out of line: its sample and its cleanup buffer
 * (a 256-byte frame with the saved registers) are not in the frame that a thread with little stack
 * left passes through to hooks_tight (small_stack.c, 11 KiB used of 16,
 * died of SIGSEGV there once the buffer came). */
CANCELLABLE static __attribute__((noinline)) int hooks_wait_recorded(struct lc_tls *t,
                                                                     int (*wait)(void *), void *arg,
                                                                     const void *lock,
                                                                     uint32_t kind,
                                                                     const uintptr_t *ended_on)
{
	struct recorder_sample s;
	int rc;
	recorder_begin(t, &s, lock, kind);
	HOOKS_CANCEL_PUSH(t, hooks_wait_cancelled, &s);
	rc = wait(arg);
	HOOKS_CANCEL_POP(t);
	if (unlikely(ended_on && *ended_on))
		recorder_moved(t, &s, (const void *)*ended_on);
	if (s.active || s.shown || s.unfiled)
		recorder_end(t, &s,
		             acquired(rc)
		                 ? RECORDER_ACQUIRED
		                 : (rc == ETIMEDOUT ? RECORDER_TIMEDOUT : RECORDER_DISCARD));
	else if (unlikely(t->hold_look == (uintptr_t)lock))
		recorder_hold_unrecorded(t, lock);
	return rc;
}

CANCELLABLE int hooks_wait_moved(struct lc_tls *t, int (*wait)(void *), void *arg, const void *lock,
                                 uint32_t kind, const uintptr_t *ended_on)
{
	if (t->guard)
		return hooks_guarded(t, wait, arg);
	if (unlikely(stackroom_tight(t)))
		return hooks_tight(t, wait, arg);
	return hooks_wait_recorded(t, wait, arg, lock, kind, ended_on);
}

struct lock_args {
	pthread_mutex_t *m;
	clockid_t clock;
	const struct timespec *abstime;
};

static int wait_lock(void *p)
{
	return real.lock(((struct lock_args *)p)->m);
}

/* Asleep while *word is 2.  False where glibc's futex_wait gives up the
 * process (EINVAL: a misaligned word; EFAULT): the caller then leaves the
 * mutex to glibc's own lock, which does. */
static bool wait_normal_sleep(int *word, int op)
{
	long rc = sys_call(SYS_futex, (long)word, op, 2, 0);
	return rc != -EINVAL && rc != -EFAULT;
}

/* A busy normal mutex (PTHREAD_MUTEX_TIMED_NP, private or shared), taken
 * after the recorder's work as glibc's own waiter takes it
 * (__lll_lock_wait): the word exchanged for 2 until the exchange finds it
 * 0, asleep while it is 2, then the owner and the users set as glibc's
 * lock sets them.  glibc's own lock would begin with a compare-and-swap
 * from 0 to 1, and by the time the recorder is done (about a microsecond)
 * a short section's holder is often gone: taken with 1, the word no longer
 * says that a waiter came, the release wakes nobody, and the program's
 * threads meet differently (bench/README.md, test 3).  Marked 2, the word
 * is as glibc's waiter leaves it, and the release pays the wake it pays
 * without us.  Adaptive mutexes spin first in glibc: they keep the real
 * call, as do the timed variants (their deadline is checked first).
 * The owner is the thread's id as glibc keeps it (hooks_glibc_tid): the
 * cached one may be 0 (a fork child's profile forgets it when it starts,
 * inside recorder_begin) or the parent's (a child made by a raw fork or
 * clone system call, which runs no fork handler); the cache is put right
 * with it. */
static int wait_normal(void *p)
{
	pthread_mutex_t *m = ((struct lock_args *)p)->m;
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	int op = kind & GLIBC_MUTEX_KIND_PSHARED ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE;
	int *word = &m->__data.__lock;
	int32_t tid = hooks_glibc_tid();
	lc_tls.tid = tid;
	if (__atomic_load_n(word, __ATOMIC_RELAXED) == 2 && !wait_normal_sleep(word, op))
		return real.lock(m);
	while (__atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE) != 0)
		if (!wait_normal_sleep(word, op))
			return real.lock(m);
	__atomic_store_n(&m->__data.__owner, tid, __ATOMIC_RELAXED);
	++m->__data.__nusers;
	return 0;
}

static int wait_timedlock(void *p)
{
	struct lock_args *a = p;
	return real_timedlock(a->m, a->abstime);
}

static int wait_clocklock(void *p)
{
	struct lock_args *a = p;
	return real_clocklock(a->m, a->clock, a->abstime);
}

/* Everything but the fast path, kept out of line so the fast path stays a
 * handful of instructions.  rc is the trylock's result; direct means
 * robust_special: skip the trylock's verdict and call the real function. */
static __attribute__((noinline)) int hooks_slow(int rc, bool direct, int (*wait)(void *),
                                                pthread_mutex_t *m, clockid_t clock,
                                                const struct timespec *abstime)
{
	struct lc_tls *t = &lc_tls;
	struct lock_args a = {.m = m, .clock = clock, .abstime = abstime};
	if (direct)
		rc = wait(&a);
	else if (rc == EBUSY) {
		if (wait == wait_lock && normal_kind(m))
			wait = wait_normal;
		rc = hooks_wait(t, wait, &a, m, LC_KIND_MUTEX);
	}
	if (acquired(rc))
		recorder_acquired(t, m, LC_KIND_MUTEX);
	return rc;
}

/* Not acquired inline: a busy plain mutex, or another kind, which glibc's
 * trylock tries (robust_special ones go straight to the real call). */
static __attribute__((noinline)) int hooks_try(enum fast f, int (*wait)(void *), pthread_mutex_t *m,
                                               clockid_t clock, const struct timespec *abstime)
{
	if (f == FAST_BUSY)
		return hooks_slow(EBUSY, false, wait, m, clock, abstime);
	hooks_learn_tid();
	if (robust_special(m))
		return hooks_slow(0, true, wait, m, clock, abstime);
	int rc = real.trylock(m);
	if (rc == 0) {
		recorder_acquired(&lc_tls, m, LC_KIND_MUTEX);
		return 0;
	}
	return hooks_slow(rc, false, wait, m, clock, abstime);
}

/* The fast path of the three blocking variants; the rest is a tail call. */
static inline __attribute__((always_inline)) int hooks_lock(pthread_mutex_t *m, int (*wait)(void *),
                                                            clockid_t clock,
                                                            const struct timespec *abstime)
{
	bool look = recorder_attempt(&lc_tls, m);
	enum fast f = fast_acquire(m);
	if (likely(f == FAST_ACQUIRED)) {
		recorder_attempt_won(&lc_tls, look, m, LC_KIND_MUTEX);
		return 0;
	}
	recorder_attempt_lost(&lc_tls);
	return hooks_try(f, wait, m, clock, abstime);
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	return hooks_lock(m, wait_lock, 0, NULL);
}

/* The same, for the C11 hooks (an alias would lose glibc's attributes). */
int hooks_mutex_lock(pthread_mutex_t *m)
{
	return hooks_lock(m, wait_lock, 0, NULL);
}

static __attribute__((noinline)) int hooks_trylock_busy(pthread_mutex_t *m)
{
	recorder_trylock_failed(&lc_tls, m, LC_KIND_MUTEX);
	return EBUSY;
}

static __attribute__((noinline)) int hooks_trylock_other(pthread_mutex_t *m)
{
	hooks_learn_tid();
	int rc = real.trylock(m);
	if (acquired(rc))
		recorder_acquired(&lc_tls, m, LC_KIND_MUTEX);
	else if (rc == EBUSY)
		recorder_trylock_failed(&lc_tls, m, LC_KIND_MUTEX);
	return rc;
}

/* For a plain mutex glibc's trylock is the same CAS as its lock, answering
 * EBUSY instead of waiting; done inline, the acquisition returns straight
 * to the caller (a trylock that succeeds is the start of a critical
 * section: every instruction after it would lengthen one). */
static inline __attribute__((always_inline)) int hooks_trylock(pthread_mutex_t *m)
{
	bool look = recorder_attempt(&lc_tls, m);
	enum fast f = fast_acquire(m);
	if (likely(f == FAST_ACQUIRED)) {
		recorder_attempt_won(&lc_tls, look, m, LC_KIND_MUTEX);
		return 0;
	}
	recorder_attempt_lost(&lc_tls);
	if (f == FAST_BUSY)
		return hooks_trylock_busy(m);
	return hooks_trylock_other(m);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	return hooks_trylock(m);
}

int hooks_mutex_trylock(pthread_mutex_t *m)
{
	return hooks_trylock(m);
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	return hooks_lock(m, wait_timedlock, 0, abstime);
}

int hooks_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	return hooks_lock(m, wait_timedlock, 0, abstime);
}

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                   const struct timespec *abstime)
{
	/* glibc refuses other clocks with EINVAL before looking at the mutex;
	 * a trylock first would take a free mutex instead. */
	if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME)
		return real_clocklock(m, clock, abstime);
	return hooks_lock(m, wait_clocklock, clock, abstime);
}

/* A sleeper on a mutex has set its lock word to 2 (glibc's "locked,
 * maybe waiters"), for every kind but robust and PI ones, whose word holds
 * the owner's tid and a waiters bit: for those, ask the filter alone. */
#define GLIBC_MUTEX_KIND_PI 32
static inline bool hooks_maybe_waited(pthread_mutex_t *m)
{
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	return (kind & (GLIBC_MUTEX_KIND_PI | GLIBC_MUTEX_KIND_ROBUST)) ||
	       __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) == 2;
}

/* Out of line: the fast path of an unlock saves no register for it. */
static __attribute__((noinline)) void hooks_wake(pthread_mutex_t *m, int kind)
{
	sys_futex_wake_one(&m->__data.__lock, kind & GLIBC_MUTEX_KIND_PSHARED);
}

/* glibc's release of a plain mutex (its lock is taken inline too:
 * fast_acquire): the owner cleared, one user less, the word exchanged for
 * 0 with release order — a plain store while single-threaded, for a
 * private mutex: nobody can sleep on it.  It cannot fail.  Returns the
 * word it held: above 1, a sleeper may wait, and the caller wakes one
 * (hooks_wake), as glibc does.  The owner is cleared with a relaxed atomic
 * store (the same mov as glibc's plain one), as fast_acquire sets it: a
 * waiter reads it to show whom it waits behind (waiting.h).  Nothing of
 * the mutex may be read after the exchange: it may be gone. */
static inline __attribute__((always_inline)) int hooks_release_plain(pthread_mutex_t *m, int kind)
{
	__atomic_store_n(&m->__data.__owner, 0, __ATOMIC_RELAXED);
	--m->__data.__nusers;
	if (__libc_single_threaded && !(kind & GLIBC_MUTEX_KIND_PSHARED)) {
		m->__data.__lock = 0;
		return 0;
	}
	return __atomic_exchange_n(&m->__data.__lock, 0, __ATOMIC_RELEASE);
}

/* The holder view or a hold-time sample: around the release (`kind` >= 0:
 * a plain mutex, released here, and a hold sample's end read between the
 * release and the wake; else the real unlock). */
static __attribute__((noinline)) int hooks_unlock_watched(pthread_mutex_t *m, int kind)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	int rc = 0;
	recorder_release_begin(t, &r, m, LC_KIND_MUTEX, kind >= 0);
	if (kind >= 0) {
		int was = hooks_release_plain(m, kind);
		recorder_release_held(&r);
		recorder_release_charge(t, &r);
		if (was > 1)
			hooks_wake(m, kind);
	} else
		rc = real.unlock(m);
	if (rc == 0)
		t->unlocks++;
	recorder_release_end(t, &r);
	return rc;
}

/* A plain mutex released by hooks_unlock, which found no sleeper on it,
 * was the one whose section the thread times: the sample's end, read
 * right after the release (`was`: the word the release exchanged). */
static __attribute__((noinline)) int hooks_unlock_timed(pthread_mutex_t *m, int kind, int was)
{
	struct lc_tls *t = &lc_tls;
	struct recorder_release r;
	recorder_release_timed(t, &r, m);
	recorder_release_held(&r);
	if (was > 1)
		hooks_wake(m, kind);
	t->unlocks++;
	recorder_release_end(t, &r);
	return 0;
}

/* Will this unlock release the mutex?  An error-checking, robust or PI
 * mutex refuses (EPERM) an unlock by another thread than its owner, and a
 * recursive one held more than once only counts down: neither is a
 * release, to be charged or to end a hold sample. */
#define GLIBC_MUTEX_KIND_TYPE 3 /* PTHREAD_MUTEX_KIND_MASK_NP */
bool hooks_unlock_releases(pthread_mutex_t *m)
{
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	int type = kind & GLIBC_MUTEX_KIND_TYPE;
	bool owned = type == PTHREAD_MUTEX_ERRORCHECK_NP || type == PTHREAD_MUTEX_RECURSIVE_NP ||
	             (kind & (GLIBC_MUTEX_KIND_ROBUST | GLIBC_MUTEX_KIND_PI));
	if (owned &&
	    (__atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) & 0x3fffffff) != hooks_tid())
		return false;
	return type != PTHREAD_MUTEX_RECURSIVE_NP || m->__data.__count <= 1;
}

static __attribute__((noinline)) int hooks_unlock_other(pthread_mutex_t *m)
{
	if (recorder_unlock_watched(&lc_tls, m, hooks_maybe_waited(m)) && hooks_unlock_releases(m))
		return hooks_unlock_watched(m, -1);
	int rc = real.unlock(m);
	if (rc == 0)
		lc_tls.unlocks++;
	return rc;
}

/* A plain mutex is released here, as glibc releases it, and counted after
 * the release: the critical section ends no later than under glibc's own
 * unlock.  Before it, two looks: at the lock word (2: someone may sleep on
 * it — and then lockstate's filter) and at the lock whose section the
 * thread times; only when either says so is the recorder called, around
 * the release.  A tool preloaded after lockcontend sees neither these
 * releases nor the inline acquisitions.  Other kinds go through glibc and
 * count only a successful unlock. */
static inline __attribute__((always_inline)) int hooks_unlock(pthread_mutex_t *m)
{
	int kind = plain_kind(m);
	if (likely(kind >= 0)) {
		/* waiters set the word to 2 while we hold it: an atomic read */
		int word = __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
		if (unlikely(word == 2) && recorder_unlock_watched(&lc_tls, m, true))
			return hooks_unlock_watched(m, kind);
		int was = hooks_release_plain(m, kind);
		if (unlikely(lc_tls.hold_lock == (uintptr_t)m))
			return hooks_unlock_timed(m, kind, was);
		if (unlikely(was > 1))
			hooks_wake(m, kind);
		lc_tls.unlocks++;
		return 0;
	}
	return hooks_unlock_other(m);
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	return hooks_unlock(m);
}

int hooks_mutex_unlock(pthread_mutex_t *m)
{
	return hooks_unlock(m);
}

/* Not a lock, but it takes the loader's: a thread inside an application's
 * callback must not refresh the module map, and fork's drain is short
 * while one runs (loader.h, the phdr rule, the fork gate).
 * Calls from lockcontend's own work (the module map) are inside the guard
 * and go straight through, with signals blocked (quiet.h). */
EXPORT int dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	struct lc_tls *t = &lc_tls;
	if (t->guard) {
		/* ours (the module map's): no handler may stop us
		 * while we hold the loader's lock (quiet.h) */
		struct quiet q;
		quiet_enter(&q, true);
		int rc = real_dl_iterate_phdr(cb, data);
		quiet_leave(&q);
		return rc;
	}
	recorder_phdr_enter(t);
	int rc = real_dl_iterate_phdr(cb, data);
	recorder_phdr_leave(t);
	return rc;
}

/* Loaded by dlopen (an attach: attach.h), the hooks are reached by nobody
 * yet, and nothing starts until lockcontend_attach. */
static __attribute__((constructor)) void hooks_init(void)
{
	if (!attach_interposed()) {
		attach_mode();
		return;
	}
	pthread_atfork(NULL, NULL, hooks_fork_child);
	real_resolve();
	if (gettid() == getpid()) /* preloaded: the main thread runs us */
		stackroom_main(&lc_tls);
	lifecycle_init();
}

static __attribute__((destructor)) void hooks_fini(void)
{
	lifecycle_dump();
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(pthread_mutex_lock);
HOOK_ALIAS(pthread_mutex_trylock);
HOOK_ALIAS(pthread_mutex_timedlock);
HOOK_ALIAS(pthread_mutex_clocklock);
HOOK_ALIAS(pthread_mutex_unlock);
HOOK_ALIAS(dl_iterate_phdr);
