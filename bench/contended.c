/*
 * contended.c — throughput of THREADS threads sharing one mutex, and how often
 * a lock finds it busy.
 *
 * usage: contended MODE THREADS PAIRS [CS_STEPS] [OUT_STEPS]
 *   MODE lock:  each pair is lock(m); work; unlock(m)
 *   MODE probe: each pair is if (trylock(m)) { busy++; lock(m); }; work; unlock(m)
 *   PAIRS is the total over all threads; CS_STEPS (default 4; 0: an empty
 *   section) is the work inside the section, OUT_STEPS (default 16) the mean
 *   work between pairs, both in dependent multiply-adds (about 2 ns each on
 *   the bench's VM: 50 of them hold the lock about 0.1 us, 200 about 0.4 us).
 * prints: contended mode=M threads=N pairs=P ns=T ns_per_pair=X busy=B busy_frac=F
 *         sleeps=S preempted=Q
 *
 * The work between pairs is drawn uniformly from [0, 2*OUT_STEPS) by a
 * per-thread generator with a fixed seed.  With a fixed gap the threads fall
 * into lock-step patterns that differ from run to run (ns_per_pair moved by
 * +-30% and busy_frac by 10x between back-to-back runs here); random gaps
 * make arrivals independent.
 *
 * Thread i is pinned to the i-th CPU the process may use (round robin).
 * Unpinned, futex wake-ups pulled both threads onto one CPU now and then;
 * they then took turns instead of contending, and such a run was 40% faster
 * with no contention at all.  What remains is the machine: on a shared VM
 * some runs still come out 20-40% off, and the state of the host shifts
 * every few minutes, so run.sh makes many runs and compares only runs made
 * back to back.
 *
 * Time runs from the start barrier to the last join.  In probe mode the
 * program counts contention itself, by an observation that is the same with
 * or without a preload, so run.sh can compare how much a profiler changes
 * the contention it is measuring (a profiler that slows the waiter or the
 * holder shifts the interleaving).  busy_frac is busy / PAIRS.  sleeps and
 * preempted are the process's voluntary and involuntary context switches
 * (getrusage): a waiter that sleeps on the mutex's futex is a voluntary one,
 * so they show how a waiter waited, seen from outside the lock as well.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <string.h>

#include "benchutil.h"

struct contended_shared {
	pthread_mutex_t m;
	uint64_t counter; /* protected by m: checked at the end */
	uint64_t acc;     /* protected by m: the critical section's work */
} __attribute__((aligned(64)));

struct contended_thread {
	pthread_t tid;
	long pairs;
	uint64_t seed;
	uint64_t busy;
	uint64_t sink; /* outside work lands here so it is not dead code */
} __attribute__((aligned(64)));

static struct contended_shared shared = { .m = PTHREAD_MUTEX_INITIALIZER };
static pthread_barrier_t start;
static bool probe;
static unsigned cs_steps = 4, out_steps = 16;

static void *contended_run(void *arg)
{
	struct contended_thread *t = arg;
	uint64_t local = t->seed, rnd = t->seed, busy = 0;

	pthread_barrier_wait(&start);
	for (long i = 0; i < t->pairs; i++) {
		if (probe) {
			if (pthread_mutex_trylock(&shared.m)) {
				busy++;
				pthread_mutex_lock(&shared.m);
			}
		} else {
			pthread_mutex_lock(&shared.m);
		}
		shared.counter++;
		shared.acc = bench_work(shared.acc + (uint64_t)i, cs_steps);
		pthread_mutex_unlock(&shared.m);
		rnd ^= rnd << 13; /* xorshift64: cheap, and no lock inside like rand() */
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		local = bench_work(local, (unsigned)(rnd % (2 * out_steps)));
	}
	t->busy = busy;
	t->sink = local;
	return NULL;
}

/* Attributes that start thread i on the i-th allowed CPU, round robin. */
static void contended_pin(pthread_attr_t *attr, int i)
{
	cpu_set_t allowed, one;
	int n = 0;

	pthread_attr_init(attr);
	if (sched_getaffinity(0, sizeof allowed, &allowed))
		return;
	int want = i % CPU_COUNT(&allowed);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed) && n++ == want) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_attr_setaffinity_np(attr, sizeof one, &one);
			return;
		}
}

static void contended_usage(const char *argv0)
{
	fprintf(stderr, "usage: %s lock|probe THREADS PAIRS [CS_STEPS] [OUT_STEPS]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "lock") && strcmp(argv[1], "probe")))
		contended_usage(argv[0]);
	probe = !strcmp(argv[1], "probe");
	bench_attach(argv[0]);
	int nthreads = (int)bench_arg(argc, argv, 2, 2);
	long pairs = bench_arg(argc, argv, 3, 4000000);
	cs_steps = (unsigned)bench_arg_min(argc, argv, 4, cs_steps, 0);
	out_steps = (unsigned)bench_arg(argc, argv, 5, out_steps);

	struct contended_thread *th = calloc((size_t)nthreads, sizeof *th);
	if (!th || pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1))
		return 1;
	for (int i = 0; i < nthreads; i++) {
		th[i].pairs = pairs / nthreads + (i < pairs % nthreads);
		th[i].seed = 0x9e3779b97f4a7c15u * (uint64_t)(i + 1);
		pthread_attr_t attr;
		contended_pin(&attr, i);
		if (pthread_create(&th[i].tid, &attr, contended_run, &th[i]))
			return 1;
		pthread_attr_destroy(&attr);
	}
	pthread_barrier_wait(&start);
	uint64_t t0 = bench_now_ns(), busy = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i].tid, NULL);
		busy += th[i].busy;
	}
	uint64_t ns = bench_now_ns() - t0;
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return 1;

	if (shared.counter != (uint64_t)pairs) {
		fprintf(stderr, "contended: counter %llu != pairs %ld: the mutex did not exclude\n",
		        (unsigned long long)shared.counter, pairs);
		return 1;
	}
	printf("contended mode=%s threads=%d pairs=%ld ns=%llu ns_per_pair=%.3f busy=%llu "
	       "busy_frac=%.6f sleeps=%ld preempted=%ld\n",
	       argv[1], nthreads, pairs, (unsigned long long)ns, (double)ns / (double)pairs,
	       (unsigned long long)busy, (double)busy / (double)pairs, ru.ru_nvcsw, ru.ru_nivcsw);
	free(th);
	return 0;
}
