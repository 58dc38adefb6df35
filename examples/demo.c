/*
 * demo.c — a small multi-threaded program with a lock hotspot, to profile.
 *
 * Four workers look keys up in a shared cache.  A miss computes the value
 * while still holding cache_lock (the bug a profiler should point at:
 * cache_fill does slow work inside the critical section), so the other
 * workers queue up behind it in cache_lookup: the waiter view shows where
 * they wait (cache_lookup), the holder view whose critical section made
 * them wait (cache_fill's unlock).  A second lock, stats_lock, is taken
 * briefly for every request and is contended far less.
 *
 *   make demo     builds this, runs it under liblockcontend.so, prints the profile
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NKEYS 512
#define NWORKERS 4
#define REQUESTS 20000

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cache[NKEYS];
static int cached[NKEYS];
static uint64_t hits, misses;

/* Deliberately slow: ~20-50 us of arithmetic. */
static __attribute__((noinline)) uint64_t compute_value(unsigned key)
{
	uint64_t v = key * 2654435761u;
	for (int i = 0; i < 20000; i++)
		v = v * 6364136223846793005ull + 1442695040888963407ull;
	return v;
}

/* Called with cache_lock held, on a miss: computes the value inside the
 * critical section, then releases the lock.  The holder view charges this
 * unlock with the waiting it made the other workers do. */
static __attribute__((noinline)) uint64_t cache_fill(unsigned key)
{
	uint64_t v = compute_value(key); /* slow work with cache_lock held */
	cache[key] = v;
	cached[key] = 1;
	pthread_mutex_unlock(&cache_lock);
	return v;
}

static __attribute__((noinline)) void count_request(int hit)
{
	pthread_mutex_lock(&stats_lock);
	if (hit)
		hits++;
	else
		misses++;
	pthread_mutex_unlock(&stats_lock);
}

static __attribute__((noinline)) uint64_t cache_lookup(unsigned key)
{
	pthread_mutex_lock(&cache_lock);
	if (!cached[key]) {
		uint64_t v = cache_fill(key);
		count_request(0);
		return v;
	}
	uint64_t v = cache[key];
	/* Entries expire, so misses keep happening. */
	if (v % 7 == 0)
		cached[key] = 0;
	pthread_mutex_unlock(&cache_lock);
	count_request(1);
	return v;
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	uint64_t sum = 0;
	for (int i = 0; i < REQUESTS; i++)
		sum += cache_lookup((unsigned)rand_r(&seed) % NKEYS);
	return (void *)(uintptr_t)sum;
}

int main(void)
{
	pthread_t th[NWORKERS];
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	printf("demo: %llu hits, %llu misses\n", (unsigned long long)hits,
	       (unsigned long long)misses);
	return 0;
}
