/*
 * toprefresh.c — what a refresh of lockcontend-top costs, on a big profile.
 *
 * usage: toprefresh [-n REFRESHES] DUMP
 *
 * Does what lockcontend-top does at every read of a profile
 * (symbolize/top.c: snap_take, then screen_show): read and parse the file,
 * ask what became of its writer, build the profile through the session's
 * resolver cache (symcache.h), take the read (topview_take) and write the
 * screen against the previous read (topview_write), to /dev/null.  The
 * first read resolves every address with libdw; the REFRESHES (default
 * 20) after it find every answer in the cache.  Prints one line:
 *
 *   toprefresh stacks=N first_ms=F refresh_ms=M refresh_min_ms=A
 *              refresh_max_ms=B refresh_cpu_ms=C
 *
 * wall times of the first read and of the refreshes (median, min, max),
 * and the median CPU time of a refresh (this process's: on a busy machine
 * the wall time also holds the waits for a CPU).  Built against the
 * project's objects (../build/symbolize/), so it measures that code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "profile.h"
#include "report.h"
#include "resolve.h"
#include "symcache.h"
#include "topview.h"
#include "viewkind.h"

static double ms_of(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One read and its screen (against prev, then kept in *prev). */
static void refresh(const char *path, const struct resolve_opts *o, struct topview_read *prev,
                    FILE *out)
{
	struct dump d;
	struct dump_status st;
	struct profile p;
	struct topview_read r;
	char err[512];
	uint64_t at = (uint64_t)(ms_of(CLOCK_MONOTONIC) * 1e6);
	if (dump_read_file(path, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "toprefresh: %s: %s\n", path, err);
		exit(1);
	}
	dumpstatus_of(&d, path, NULL, &st);
	if (profile_build(&p, &d, 1, o, VIEWKIND_ALL_KINDS, stderr) != 0 ||
	    topview_take(&r, &p, &d, at) != 0) {
		fprintf(stderr, "toprefresh: out of memory\n");
		exit(1);
	}
	const char *paths[] = {path};
	struct report_input in = {&p, &d, paths, 1, 20, PROF_DELAY, -1, &st, 0, false, 0, NULL};
	struct topview_screen s = {&in, prev->locks ? prev : NULL, &r, NULL};
	topview_write(&s, out);
	fflush(out);
	topview_free(prev);
	*prev = r;
	profile_free(&p);
	dump_free(&d);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = 20, c;
	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n' || (n = atoi(optarg)) < 1) {
			fprintf(stderr, "usage: toprefresh [-n REFRESHES] DUMP\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: toprefresh [-n REFRESHES] DUMP\n");
		return 2;
	}
	const char *path = argv[optind];
	struct resolve_opts o = {.demangle = true, .cache = symcache_new()};
	struct topview_read prev = {0};
	FILE *out = fopen("/dev/null", "w");
	double *wall = calloc((size_t)n, sizeof(*wall)), *cpu = calloc((size_t)n, sizeof(*cpu));
	if (!o.cache || !out || !wall || !cpu)
		return 1;
	double t0 = ms_of(CLOCK_MONOTONIC);
	refresh(path, &o, &prev, out);
	double first = ms_of(CLOCK_MONOTONIC) - t0;
	for (int i = 0; i < n; i++) {
		double w = ms_of(CLOCK_MONOTONIC), u = ms_of(CLOCK_PROCESS_CPUTIME_ID);
		refresh(path, &o, &prev, out);
		wall[i] = ms_of(CLOCK_MONOTONIC) - w;
		cpu[i] = ms_of(CLOCK_PROCESS_CPUTIME_ID) - u;
	}
	qsort(wall, (size_t)n, sizeof(*wall), cmp_double);
	qsort(cpu, (size_t)n, sizeof(*cpu), cmp_double);
	struct dump d;
	char err[512];
	size_t stacks = dump_read_file(path, &d, err, sizeof(err)) == 0 ? d.nbuckets : 0;
	printf("toprefresh stacks=%zu first_ms=%.1f refresh_ms=%.1f refresh_min_ms=%.1f "
	       "refresh_max_ms=%.1f refresh_cpu_ms=%.1f\n",
	       stacks, first, wall[n / 2], wall[0], wall[n - 1], cpu[n / 2]);
	if (stacks)
		dump_free(&d);
	topview_free(&prev);
	symcache_free(o.cache);
	fclose(out);
	free(wall);
	free(cpu);
	return 0;
}
