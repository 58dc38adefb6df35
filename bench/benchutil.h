/*
 * benchutil.h — the few helpers every bench program shares (header-only).
 *
 * Each program prints exactly one result line on stdout, "NAME key=value ...",
 * which run.sh reads by key; everything else goes to stderr.  Nothing here
 * touches a mutex, so the helpers cost the same with and without a preload.
 */
#ifndef LOCKCONTEND_BENCHUTIL_H
#define LOCKCONTEND_BENCHUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* `steps` dependent multiply-adds (~1 ns each): a short, fixed amount of
 * work that the compiler cannot fold away, because the result is stored. */
static inline uint64_t bench_work(uint64_t x, unsigned steps)
{
	for (unsigned i = 0; i < steps; i++)
		x = x * 6364136223846793005u + 1442695040888963407u;
	return x;
}

/* argv[i] as a positive integer, or `def` when absent; exits on garbage. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
	char *end;
	long v;

	if (i >= argc)
		return def;
	v = strtol(argv[i], &end, 10);
	if (*end || v <= 0) {
		fprintf(stderr, "%s: argument %d must be a positive integer, not '%s'\n",
		        argv[0], i, argv[i]);
		exit(2);
	}
	return v;
}

/* A "Vm...:" field of /proc/self/status in kB, or -1 if it is missing. */
static inline long bench_status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = strlen(field);
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

#endif
