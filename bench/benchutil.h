/*
 * benchutil.h — the few helpers every bench program shares (header-only).
 *
 * Each program prints exactly one result line on stdout, "NAME key=value ...",
 * which run.sh reads by key; everything else goes to stderr.  Nothing here
 * touches a mutex (but bench_attach's dlopen, once, before timing), so the
 * helpers cost the same with and without a preload.
 */
#ifndef LOCKCONTEND_BENCHUTIL_H
#define LOCKCONTEND_BENCHUTIL_H

#include <dlfcn.h>
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

/* argv[i] as an integer >= min, or `def` when absent; exits on garbage. */
static inline long bench_arg_min(int argc, char **argv, int i, long def, long min)
{
	char *end;
	long v;

	if (i >= argc)
		return def;
	v = strtol(argv[i], &end, 10);
	if (!*argv[i] || *end || v < min) {
		fprintf(stderr, "%s: argument %d must be an integer >= %ld, not '%s'\n", argv[0], i,
		        min, argv[i]);
		exit(2);
	}
	return v;
}

/* argv[i] as a positive integer, or `def` when absent; exits on garbage. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
	return bench_arg_min(argc, argv, i, def, 1);
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

/* The "attached" configurations (run.sh: lca, lca1): with BENCH_ATTACH=LIB
 * set, load LIB with dlopen and start it with lockcontend_attach(settings
 * from BENCH_ATTACH_SETTINGS), before anything is timed.  That is the call
 * lockcontend-attach makes in a thread it borrows, made here from inside:
 * the calls that follow go through GOT slots the library rewrote, as in a
 * process attached to from outside.  The program exits attached, which
 * completes the profile.  Exits 2 when that fails. */
static inline void bench_attach(const char *argv0)
{
	const char *lib = getenv("BENCH_ATTACH");
	const char *settings = getenv("BENCH_ATTACH_SETTINGS");
	void *h;
	int (*start)(const char *);
	int err = -1;

	if (!lib)
		return;
	if ((h = dlopen(lib, RTLD_NOW | RTLD_LOCAL)) &&
	    (start = (int (*)(const char *))dlsym(h, "lockcontend_attach")))
		err = start(settings ? settings : "");
	if (err != 0) {
		const char *why = err > 0 ? strerror(err) : dlerror();
		fprintf(stderr, "%s: attaching %s failed: %s\n", argv0, lib, why ? why : "?");
		exit(2);
	}
}

#endif
