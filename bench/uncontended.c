/*
 * uncontended.c — cost of an uncontended lock/unlock pair, one thread.
 *
 * usage: uncontended [PAIRS]          (default 20,000,000)
 * prints: uncontended pairs=N segments=S ns_per_pair=X ns_per_pair_mean=Y
 *
 * This is the path every program pays for on every lock once a profiler is
 * preloaded, so it is timed alone: the loop body is the two calls and a
 * counter increment, nothing that could hide their cost.  The calls go
 * through the PLT to whatever LD_PRELOAD put first.
 *
 * The pairs run in S equal segments, each timed.  ns_per_pair is the best
 * segment: on this shared machine a neighbour slows a 100 ms loop by 10-40%
 * for part of it, and only ever slows it, so the best segment is what the
 * code costs and repeats to ~1% between runs, where the mean (also printed)
 * wanders by 10%.
 */
#include <pthread.h>

#include "benchutil.h"

#define UNC_SEGMENTS 20

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t counter;

static void uncontended_loop(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
}

int main(int argc, char **argv)
{
	long pairs = bench_arg(argc, argv, 1, 20000000);
	long per = (pairs + UNC_SEGMENTS - 1) / UNC_SEGMENTS;
	uint64_t best = UINT64_MAX, total = 0;

	/* Warm up the PLT slots, the preload's lazy paths and the CPU's predictors. */
	uncontended_loop(per / 10);
	for (int s = 0; s < UNC_SEGMENTS; s++) {
		uint64_t t0 = bench_now_ns();
		uncontended_loop(per);
		uint64_t ns = bench_now_ns() - t0;
		total += ns;
		if (ns < best)
			best = ns;
	}
	printf("uncontended pairs=%ld segments=%d ns_per_pair=%.3f ns_per_pair_mean=%.3f\n",
	       per * UNC_SEGMENTS, UNC_SEGMENTS, (double)best / (double)per,
	       (double)total / (double)(per * UNC_SEGMENTS));
	return 0;
}
