/*
 * uncontended.c — cost of an uncontended lock/unlock pair, one thread.
 *
 * usage: uncontended mutex|rdlock|sem|signal|init|syscall|eagain [PAIRS]  (default 20,000,000)
 *   mutex:  pthread_mutex_lock + pthread_mutex_unlock
 *   rdlock: pthread_rwlock_rdlock + pthread_rwlock_unlock (a read lock)
 *   sem:    sem_wait + sem_post on a semaphore of count 1 (a binary one
 *           used as a mutex)
 *   signal: pthread_cond_signal on a condition variable nobody waits on,
 *           one call a "pair" (a producer that signals every item: what
 *           lockcontend's holder-view look costs when no wait is recorded)
 *   init:   pthread_mutex_init + pthread_mutex_destroy (what a program pays
 *           for making locks: lockcontend notes each init's stack; run it
 *           with fewer pairs, an unwind is microseconds)
 *   syscall: syscall(SYS_getpid), one call a "pair": what a call that is
 *           not a futex pays for lockcontend's syscall() (run it with fewer
 *           pairs: a system call is ~100 ns)
 *   eagain: syscall(SYS_futex, FUTEX_WAIT) on a word that does not hold
 *           the value: EAGAIN at once, no wait; lockcontend learns that
 *           only after the call, having unwound before it (hooks_futex.c)
 * prints: uncontended kind=K pairs=N segments=S ns_per_pair=X ns_per_pair_mean=Y
 *
 * This is the path every program pays for on every lock once a profiler is
 * preloaded, so it is timed alone: the loop body is the two calls and a
 * counter increment, nothing that could hide their cost.  The calls go
 * through the PLT to whatever LD_PRELOAD put first.  Each kind has its own
 * loop, so the measured code has no branch or indirect call on the kind.
 * No other thread ever exists, so __libc_single_threaded stays true: glibc
 * 2.36's mutex lock then takes a private mutex with a plain store instead of
 * a CAS, and so may a preload's inline fast path; its rwlock read lock is a
 * lock xadd either way.
 *
 * The pairs run in S equal segments, each timed.  ns_per_pair is the best
 * segment: on this shared machine a neighbour slows a 100 ms loop by 10-40%
 * for part of it, and only ever slows it, so the best segment is what the
 * code costs and repeats to ~1% between runs, where the mean (also printed)
 * wanders by 10%.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <semaphore.h>

#include "benchutil.h"

#define UNC_SEGMENTS 20

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static volatile uint64_t counter;

static void uncontended_mutex(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
}

static pthread_mutex_t made;

static void uncontended_init(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_init(&made, NULL);
		counter++;
		pthread_mutex_destroy(&made);
	}
}

static sem_t sem;

static void uncontended_sem(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		sem_wait(&sem);
		counter++;
		sem_post(&sem);
	}
}

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void uncontended_signal(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		pthread_cond_signal(&cond);
		counter++;
	}
}

static void uncontended_rdlock(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		pthread_rwlock_rdlock(&rwlock);
		counter++;
		pthread_rwlock_unlock(&rwlock);
	}
}

static void uncontended_syscall(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		syscall(SYS_getpid);
		counter++;
	}
}

static int changed;

static void uncontended_eagain(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		syscall(SYS_futex, &changed, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
		counter++;
	}
}

static const struct {
	const char *name;
	void (*loop)(long);
} loops[] = {
    {"mutex", uncontended_mutex},     {"rdlock", uncontended_rdlock},
    {"sem", uncontended_sem},         {"signal", uncontended_signal},
    {"init", uncontended_init},
    {"syscall", uncontended_syscall}, {"eagain", uncontended_eagain},
};

int main(int argc, char **argv)
{
	void (*loop)(long) = NULL;
	for (size_t i = 0; argc > 1 && i < sizeof(loops) / sizeof(loops[0]); i++)
		if (!strcmp(argv[1], loops[i].name))
			loop = loops[i].loop;
	if (!loop) {
		fprintf(stderr, "usage: %s mutex|rdlock|sem|signal|init|syscall|eagain [PAIRS]\n", argv[0]);
		return 2;
	}
	sem_init(&sem, 0, 1);
	long pairs = bench_arg(argc, argv, 2, 20000000);
	bench_attach(argv[0]);
	long per = (pairs + UNC_SEGMENTS - 1) / UNC_SEGMENTS;
	uint64_t best = UINT64_MAX, total = 0;

	/* Warm up the PLT slots, the preload's lazy paths and the CPU's predictors. */
	loop(per / 10);
	for (int s = 0; s < UNC_SEGMENTS; s++) {
		uint64_t t0 = bench_now_ns();
		loop(per);
		uint64_t ns = bench_now_ns() - t0;
		total += ns;
		if (ns < best)
			best = ns;
	}
	printf("uncontended kind=%s pairs=%ld segments=%d ns_per_pair=%.3f ns_per_pair_mean=%.3f\n",
	       argv[1], per * UNC_SEGMENTS, UNC_SEGMENTS, (double)best / (double)per,
	       (double)total / (double)(per * UNC_SEGMENTS));
	return 0;
}
