/*
 * demo_fixed.c — demo.c with its lock hotspot fixed: the comparison's "after".
 *
 * The same four workers, keys, requests and locks as examples/demo.c, and
 * the same functions, so that `lockcontend diff` matches their stacks by
 * name.  The one change is the fix the demo's profile points at: on a miss,
 * cache_lookup releases cache_lock before cache_fill computes the value,
 * and cache_fill takes the lock again only to store it (another worker may
 * have computed the same key meanwhile: the work is repeated, never the
 * store).  cache_lock is then held for a few loads and stores each time.
 *
 *   make demo-diff   profiles demo and this, then prints what changed
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

/* Called without cache_lock, on a miss: the slow work first, then the
 * lock only for the store. */
static __attribute__((noinline)) uint64_t cache_fill(unsigned key)
{
	uint64_t v = compute_value(key); /* no lock held: the fix */
	pthread_mutex_lock(&cache_lock);
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
		pthread_mutex_unlock(&cache_lock);
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
	printf("demo_fixed: %llu hits, %llu misses\n", (unsigned long long)hits,
	       (unsigned long long)misses);
	return 0;
}
