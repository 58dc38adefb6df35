/*
 * manystacks.c — PATHS distinct call stacks, each ending in a contended lock,
 * to measure what a profiler's stack table costs in memory.
 *
 * usage: manystacks [PATHS] [DEPTH]     (defaults 10,000 and 14; 2^DEPTH >= PATHS)
 * prints: manystacks paths=N depth=D contended=C ns=T rss_start_kb=A rss_end_kb=B
 *         rss_anon_end_kb=R hwm_kb=H
 *
 * The main thread (the locker) reaches the lock through DEPTH nested calls of
 * manystacks_f0 / manystacks_f1 chosen by the bits of the path number, so the
 * return addresses on the stack spell the path in binary and every path is a
 * stack of its own.  A holder thread takes the lock before each path and
 * keeps it until the locker is really asleep on it, so every path contends:
 * with glibc it watches the mutex word turn to 2 ("locked, waiters"), with
 * a timeout so a changed libc costs time, not a hang.  `contended` counts
 * the paths where the holder saw the waiter; it should equal `paths`.
 *
 * RSS is read from /proc/self/status after the threads exist (start) and
 * after the last path (end), before any exit-time dump is written.  VmRSS
 * counts the library code a run touches too; RssAnon only anonymous memory
 * (heap, stacks, a profiler's mmap'd tables).
 */
#include <pthread.h>
#include <sched.h>

#include "benchutil.h"

#define MS_WAITER_TIMEOUT_NS 10000000 /* 10 ms: far above a futex round trip */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned held_seq, done_seq; /* last path held by the holder / finished by the locker */
static long npaths;
static long contended;

static void manystacks_spin_until(const unsigned *seq, unsigned want)
{
	for (unsigned spins = 0; __atomic_load_n(seq, __ATOMIC_ACQUIRE) != want; spins++)
		if (spins % 64 == 63)
			sched_yield(); /* two cores, maybe busy: let the other side run */
}

/* True once another thread sleeps on the mutex we hold. */
static int manystacks_has_waiter(void)
{
#ifdef __GLIBC__
	return __atomic_load_n(&lock.__data.__lock, __ATOMIC_RELAXED) > 1;
#else
	return 0; /* unknown libc: hold for the whole timeout */
#endif
}

static void *manystacks_holder(void *arg)
{
	(void)arg;
	for (unsigned p = 1; p <= (unsigned)npaths; p++) {
		pthread_mutex_lock(&lock);
		__atomic_store_n(&held_seq, p, __ATOMIC_RELEASE);
		uint64_t t0 = bench_now_ns();
		/* Yield while waiting: on a busy machine the locker may share our core. */
		while (!manystacks_has_waiter() && bench_now_ns() - t0 < MS_WAITER_TIMEOUT_NS)
			sched_yield();
		contended += manystacks_has_waiter();
		pthread_mutex_unlock(&lock);
		manystacks_spin_until(&done_seq, p);
	}
	return NULL;
}

__attribute__((noipa)) static int manystacks_leaf(void)
{
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
	return 1;
}

static int manystacks_f1(unsigned path, int depth);

/* f0 and f1 differ in their constants so identical-code folding cannot merge
 * them; the empty asm after each call keeps it out of tail position, so no
 * frame is replaced by a jump or a loop. */
__attribute__((noipa)) static int manystacks_f0(unsigned path, int depth)
{
	int r;

	if (depth == 0)
		r = manystacks_leaf();
	else if (path & 1)
		r = manystacks_f1(path >> 1, depth - 1);
	else
		r = manystacks_f0(path >> 1, depth - 1);
	__asm__ volatile("" : "+r"(r));
	return r + 1;
}

__attribute__((noipa)) static int manystacks_f1(unsigned path, int depth)
{
	int r;

	if (depth == 0)
		r = manystacks_leaf();
	else if (path & 1)
		r = manystacks_f1(path >> 1, depth - 1);
	else
		r = manystacks_f0(path >> 1, depth - 1);
	__asm__ volatile("" : "+r"(r));
	return r + 2;
}

int main(int argc, char **argv)
{
	npaths = bench_arg(argc, argv, 1, 10000);
	int depth = (int)bench_arg(argc, argv, 2, 14);
	pthread_t holder;

	if (depth > 30 || (1L << depth) < npaths) {
		fprintf(stderr, "manystacks: 2^%d paths cannot hold %ld distinct ones\n", depth, npaths);
		return 2;
	}
	if (pthread_create(&holder, NULL, manystacks_holder, NULL))
		return 1;
	long rss_start = bench_status_kb("VmRSS");
	uint64_t t0 = bench_now_ns();
	for (unsigned p = 1; p <= (unsigned)npaths; p++) {
		manystacks_spin_until(&held_seq, p);
		manystacks_f0(p - 1, depth);
		__atomic_store_n(&done_seq, p, __ATOMIC_RELEASE);
	}
	pthread_join(holder, NULL);
	uint64_t ns = bench_now_ns() - t0;
	printf("manystacks paths=%ld depth=%d contended=%ld ns=%llu rss_start_kb=%ld "
	       "rss_end_kb=%ld rss_anon_end_kb=%ld hwm_kb=%ld\n",
	       npaths, depth, contended, (unsigned long long)ns, rss_start,
	       bench_status_kb("VmRSS"), bench_status_kb("RssAnon"), bench_status_kb("VmHWM"));
	return 0;
}
