/*
 * test_intervals.c — the interval files (lockcontend-intervals, the
 * wrapper's --interval-dir; docs/intervals.md), checked as a backend
 * would take them, since no backend runs here.
 *
 * timed_phases (test/fixtures/timed_phases.c) waits ten times 40 ms on
 * phase_lock between two quiet half-seconds; profiled with series=50ms
 * and cut into 200 ms intervals:
 *   - `go tool pprof -raw` reads every file;
 *   - per lock, the files' contentions and delay add up exactly to the
 *     whole run's (its profile read by go tool pprof from the symbolizer's
 *     pprof), and in all to the dump's TOTALS;
 *   - their time_nanos and duration_nanos (read from the protobuf itself:
 *     pprof -raw prints the duration cut to four characters) tile the run:
 *     the first starts at the profile's start, each where the last ended,
 *     the last at the run's end; the file names say the same;
 *   - every mapping of the program and of libc has its build-id, the one
 *     the dump recorded;
 *   - the waits land in the intervals of phase two (the series place
 *     them), not all in the last.
 * Retention: --interval-keep 3 leaves the newest three, which end the run;
 * --interval-max-size leaves at most that many bytes (and the newest).
 * A run killed with SIGKILL: the sidecar, following the profile by its
 * path, ends by itself with a last interval; every file is whole, and they
 * add up to what the dead writer's file holds.  The sidecar itself killed
 * with SIGKILL again and again: no file under a final name is ever short.
 * Bad options: one line, status 2, and the command never runs.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "integration/harness.h"

/* Paths here are a test directory under /tmp and a file name: short. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define MAX_FILES 256
#define MAX_LOCKS 16

static const char *wrapper(void)
{
	static char path[PATH_MAX];
	cr_assert(realpath("scripts/lockcontend", path) != NULL, "%s", strerror(errno));
	return path;
}

static const char *intervals_tool(void)
{
	static char path[PATH_MAX];
	cr_assert(realpath("build/lockcontend-intervals", path) != NULL, "%s", strerror(errno));
	return path;
}

/* ---- the files ----------------------------------------------------------- */

struct ivfile {
	char name[256];
	uint64_t start, end;           /* from the name */
	uint64_t time_nanos, duration; /* from the protobuf */
};

static int ivfile_cmp(const void *a, const void *b)
{
	const struct ivfile *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The interval files in dir (names EXE.PID.START-END.pb.gz), by start;
 * fails on any other file but a dot file. */
static size_t list_files(const char *dir, struct ivfile *v)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	cr_assert(d != NULL, "%s: %s", dir, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		const char *dot = strrchr(e->d_name, '-');
		cr_assert(n < MAX_FILES && strstr(e->d_name, ".pb.gz") && dot, "stray file %s",
		          e->d_name);
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
		const char *s = dot;
		while (s > e->d_name && s[-1] != '.')
			s--;
		v[n].start = strtoull(s, NULL, 10);
		v[n].end = strtoull(dot + 1, NULL, 10);
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), ivfile_cmp);
	return n;
}

static uint8_t *gunzip(const char *path, size_t *len)
{
	gzFile g = gzopen(path, "rb");
	cr_assert(g != NULL, "%s: cannot open", path);
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (int got; (got = gzread(g, buf + n, (unsigned)(cap - n))) > 0;) {
		n += (size_t)got;
		if (n == cap)
			cr_assert((buf = realloc(buf, cap *= 2)) != NULL);
	}
	int err;
	gzerror(g, &err);
	cr_assert(err == Z_OK || err == Z_STREAM_END, "%s: not whole gzip", path);
	gzclose(g);
	*len = n;
	return buf;
}

static uint64_t varint(const uint8_t *b, size_t len, size_t *i)
{
	uint64_t v = 0;
	for (int shift = 0; *i < len && shift < 64; shift += 7) {
		uint8_t c = b[(*i)++];
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	cr_assert_fail("bad varint");
	return 0;
}

/* Profile.time_nanos (9) and duration_nanos (10), top-level fields. */
static void read_times(const char *path, struct ivfile *f)
{
	size_t len, i = 0;
	uint8_t *b = gunzip(path, &len);
	f->time_nanos = f->duration = 0;
	while (i < len) {
		uint64_t key = varint(b, len, &i);
		int field = (int)(key >> 3), wire = (int)(key & 7);
		if (wire == 0) {
			uint64_t v = varint(b, len, &i);
			if (field == 9)
				f->time_nanos = v;
			if (field == 10)
				f->duration = v;
		} else if (wire == 2) {
			i += varint(b, len, &i);
		} else {
			cr_assert_fail("%s: wire type %d", path, wire);
		}
	}
	cr_assert_eq(i, len, "%s: protobuf cut short", path);
	free(b);
}

/* ---- what go tool pprof -raw says ---------------------------------------- */

struct locksum {
	char name[64];
	uint64_t count, delay;
};

struct sums {
	struct locksum locks[MAX_LOCKS];
	size_t n;
	uint64_t count, delay;
};

static struct locksum *sums_lock(struct sums *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->locks[i].name, name) == 0)
			return &s->locks[i];
	cr_assert(s->n < MAX_LOCKS);
	snprintf(s->locks[s->n].name, sizeof(s->locks[s->n].name), "%s", name);
	return &s->locks[s->n++];
}

static void sums_add(struct sums *s, const char *lock, uint64_t c, uint64_t d)
{
	struct locksum *ls = sums_lock(s, lock);
	ls->count += c;
	ls->delay += d;
	s->count += c;
	s->delay += d;
}

/* Add the samples of `go tool pprof -raw FILE` to s, per lock label ("-"
 * for none); returns the raw text (malloc'd). */
static char *add_raw(const char *file, struct sums *s)
{
	char *raw = harness_go_pprof("-raw", file);
	char *p = strstr(raw, "\nSamples:\n");
	cr_assert(p != NULL, "go tool pprof -raw %s:\n%s", file, raw);
	p = strchr(p + 10, '\n'); /* past the sample types' line */
	unsigned long long c = 0, d = 0;
	char lock[64] = "-";
	bool pending = false;
	for (p = p ? p + 1 : NULL; p && *p == ' ';
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		unsigned long long c2, d2;
		const char *l = strstr(p, "lock:[");
		const char *nl = strchr(p, '\n');
		if (sscanf(p, " %llu %llu:", &c2, &d2) == 2) {
			if (pending)
				sums_add(s, lock, c, d);
			c = c2, d = d2, pending = true;
			snprintf(lock, sizeof(lock), "-");
		} else if (l && (!nl || l < nl)) {
			sscanf(l + 6, "%63[^]]", lock);
		}
	}
	if (pending)
		sums_add(s, lock, c, d);
	return raw;
}

/* ---- runs ---------------------------------------------------------------- */

/* `lockcontend --out TMP/dumps --interval-dir TMP/out --interval 200ms
 * EXTRA... -- timed_phases QUIET 10 40`, series=50ms. */
static void run_phases(const char *tmp, const char *quiet, const char *const extra[],
                       struct run_result *r)
{
	char env[PATH_MAX + 16], dumps[PATH_MAX], out[PATH_MAX];
	snprintf(env, sizeof(env), "TMPDIR=%s", tmp);
	snprintf(dumps, sizeof(dumps), "%s/dumps", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	const char *argv[32] = {wrapper(), "--out",      dumps,  "--interval-dir",
	                        out,       "--interval", "200ms"};
	size_t n = 7;
	for (size_t i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n++] = "--";
	argv[n++] = harness_fixture("timed_phases");
	argv[n++] = quiet;
	argv[n++] = "10";
	argv[n++] = "40";
	const char *envv[] = {env, "LOCKCONTEND=series=50ms", NULL};
	cr_assert_eq(harness_run(argv, envv, tmp, false, 90, r), 0);
	cr_assert(!r->timed_out && r->exit_code == 0, "lockcontend: status %d\n%s", r->exit_code,
	          r->err);
}

/* Every file read by go tool pprof and summed into s; their times read. */
static void read_all(const char *dir, struct ivfile *v, size_t n, struct sums *s)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i].name);
		free(add_raw(path, s));
		read_times(path, &v[i]);
	}
}

/* The whole run's sums, from the symbolizer's pprof of the dump. */
static void whole_sums(const char *tmp, const char *dump, struct sums *s)
{
	char pb[PATH_MAX];
	struct run_result r;
	snprintf(pb, sizeof(pb), "%s/whole.pb.gz", tmp);
	const char *args[] = {"--format=pprof", "-o", pb, dump, NULL};
	harness_symbolize(args, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	harness_result_free(&r);
	free(add_raw(pb, s));
}

static void assert_sums_equal(const struct sums *got, const struct sums *want)
{
	cr_assert_eq(got->count, want->count, "contentions: intervals %llu, run %llu",
	             (unsigned long long)got->count, (unsigned long long)want->count);
	cr_assert_eq(got->delay, want->delay, "delay: intervals %llu, run %llu",
	             (unsigned long long)got->delay, (unsigned long long)want->delay);
	for (size_t i = 0; i < want->n; i++) {
		const struct locksum *w = &want->locks[i], *g = NULL;
		for (size_t j = 0; j < got->n; j++)
			if (strcmp(got->locks[j].name, w->name) == 0)
				g = &got->locks[j];
		cr_assert(g != NULL || (w->count == 0 && w->delay == 0), "lock %s in no interval",
		          w->name);
		cr_assert(g && g->count == w->count && g->delay == w->delay,
		          "lock %s: intervals %llu in %llu, run %llu in %llu", w->name,
		          (unsigned long long)g->delay, (unsigned long long)g->count,
		          (unsigned long long)w->delay, (unsigned long long)w->count);
	}
	cr_assert_eq(got->n, want->n, "the intervals name %zu locks, the run %zu", got->n, want->n);
}

/* The files tile [start, end) of the run, in Unix ns, and say so in their
 * names too. */
static void assert_tiled(const struct ivfile *v, size_t n, uint64_t start, uint64_t end)
{
	cr_assert(n > 0, "no interval file");
	cr_assert_eq(v[0].time_nanos, start, "the first interval starts at %llu, the run at %llu",
	             (unsigned long long)v[0].time_nanos, (unsigned long long)start);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(v[i].time_nanos, v[i].start, "%s: time_nanos %llu", v[i].name,
		             (unsigned long long)v[i].time_nanos);
		cr_assert_eq(v[i].time_nanos + v[i].duration, v[i].end, "%s: duration %llu",
		             v[i].name, (unsigned long long)v[i].duration);
		if (i + 1 < n)
			cr_assert_eq(v[i + 1].time_nanos, v[i].end,
			             "a gap or overlap after %s (next %s)", v[i].name,
			             v[i + 1].name);
	}
	cr_assert_eq(v[n - 1].end, end, "the last interval ends at %llu, the run at %llu",
	             (unsigned long long)v[n - 1].end, (unsigned long long)end);
}

/* The run's end in Unix ns, as the sidecar reckons it (the start's wall
 * clock plus the monotonic run time). */
static uint64_t run_end(const struct dump *d)
{
	return d->meta.start_realtime_ns + (d->meta.end_mono_ns - d->meta.start_mono_ns);
}

/* Each module with a build-id that a stack used has it in the mappings. */
static void assert_build_ids(const char *raw, const struct dump *d)
{
	char hex[2 * LC_DUMP_MAX_BUILD_ID + 1];
	int found = 0;
	for (size_t i = 0; i < d->nmodules; i++) {
		const struct dump_module *m = &d->modules[i];
		if (!m->build_id_len || !strstr(raw, m->path))
			continue;
		for (uint32_t j = 0; j < m->build_id_len; j++)
			sprintf(hex + 2 * j, "%02x", m->build_id[j]);
		char *line = strstr(raw, m->path);
		char *nl = strchr(line, '\n');
		char *id = strstr(line, hex);
		cr_assert(id && (!nl || id < nl), "mapping %s lacks build-id %s:\n%s", m->path, hex,
		          raw);
		found++;
	}
	cr_assert(found >= 2, "the program's and libc's mappings with build-ids:\n%s", raw);
}

static void load_only_dump(const char *tmp, struct dump *d, char path[PATH_MAX])
{
	char dumps[PATH_MAX];
	snprintf(dumps, sizeof(dumps), "%s/dumps", tmp);
	harness_one_file(dumps, "timed_phases.*.raw", path);
	harness_load_dump(dumps, "timed_phases.*.raw", d);
}

/* ---- tests --------------------------------------------------------------- */

Test(intervals, files_sum_to_the_run_and_tile_it)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX], dump[PATH_MAX], path[PATH_MAX];
	struct run_result r;
	struct ivfile v[MAX_FILES];
	struct sums got = {0}, want = {0};
	struct dump d;
	run_phases(tmp, "500", NULL, &r);
	snprintf(out, sizeof(out), "%s/out", tmp);
	size_t n = list_files(out, v);
	/* 8 when every read is on time; a late read (the first symbolizes
	 * everything: a second or more on a loaded machine) covers the
	 * intervals it missed in one file. */
	cr_assert(n >= 2, "%zu files for a run of 1.4 s in 200 ms intervals", n);
	read_all(out, v, n, &got);
	load_only_dump(tmp, &d, dump);
	whole_sums(tmp, dump, &want);
	assert_sums_equal(&got, &want);
	cr_assert_eq(got.count, d.totals.contentions);
	cr_assert_eq(got.delay, d.totals.delay_ns);
	assert_tiled(v, n, d.meta.start_realtime_ns, run_end(&d));
	/* Never placed before it happened: a file that ends before phase two
	 * began has no wait.  And phase two's waits are in the files that
	 * overlap it (however late reads lumped intervals together), but for
	 * the last, in flight until the thread's exit, so in the last file. */
	uint64_t p2s = harness_out_value(r.out, "phase2_start_ns");
	uint64_t p2e = harness_out_value(r.out, "phase2_end_ns");
	struct sums phase = {0};
	uint64_t most = 0;
	size_t busiest = 0;
	for (size_t i = 0; i < n; i++) {
		struct sums one = {0};
		uint64_t s_mono = v[i].start - d.meta.start_realtime_ns + d.meta.start_mono_ns;
		uint64_t e_mono = v[i].end - d.meta.start_realtime_ns + d.meta.start_mono_ns;
		snprintf(path, sizeof(path), "%s/%s", out, v[i].name);
		free(add_raw(path, &one));
		cr_assert(e_mono > p2s || one.count == 0,
		          "%s ends before phase two began but has %llu waits", v[i].name,
		          (unsigned long long)one.count);
		if (s_mono < p2e && e_mono > p2s)
			phase.count += one.count;
		if (one.count > most) {
			most = one.count;
			busiest = i;
		}
	}
	/* build-ids: in a file with samples (pprof drops unused mappings) */
	snprintf(path, sizeof(path), "%s/%s", out, v[busiest].name);
	char *raw = harness_go_pprof("-raw", path);
	assert_build_ids(raw, &d);
	free(raw);
	cr_assert_geq(phase.count, 8, "%llu of 10 waits in files that overlap phase two",
	              (unsigned long long)phase.count);
	struct stat st;
	cr_assert_eq(stat(out, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "the directory made is 0%o",
	             (unsigned)(st.st_mode & 0777));
	snprintf(path, sizeof(path), "%s/%s", out, v[0].name);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "a file is 0%o", (unsigned)(st.st_mode & 0777));
	dump_free(&d);
	harness_result_free(&r);
}

Test(intervals, keep_removes_the_oldest)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX], dump[PATH_MAX];
	struct run_result r;
	struct ivfile v[MAX_FILES];
	struct dump d;
	const char *extra[] = {"--interval-keep", "3", NULL};
	run_phases(tmp, "1500", extra, &r); /* 3.4 s: 17 intervals, 3 kept */
	snprintf(out, sizeof(out), "%s/out", tmp);
	size_t n = list_files(out, v);
	cr_assert_eq(n, 3, "%zu files kept with --interval-keep 3", n);
	struct sums s = {0};
	read_all(out, v, n, &s);
	load_only_dump(tmp, &d, dump);
	/* the newest three: consecutive, the last ending the run */
	for (size_t i = 0; i + 1 < n; i++)
		cr_assert_eq(v[i + 1].time_nanos, v[i].end);
	cr_assert_eq(v[n - 1].end, run_end(&d));
	cr_assert_gt(v[0].start, d.meta.start_realtime_ns + 2000000000ull, "an old file was kept");
	dump_free(&d);
	harness_result_free(&r);
}

Test(intervals, max_size_removes_the_oldest)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX], dump[PATH_MAX], path[PATH_MAX];
	struct run_result r;
	struct ivfile v[MAX_FILES];
	struct dump d;
	const char *extra[] = {"--interval-max-size", "2K", NULL};
	run_phases(tmp, "1500", extra, &r);
	snprintf(out, sizeof(out), "%s/out", tmp);
	size_t n = list_files(out, v);
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", out, v[i].name);
		cr_assert_eq(stat(path, &st), 0);
		bytes += (uint64_t)st.st_size;
	}
	cr_assert(n >= 1 && n < 6 && bytes <= 2048, "%zu files, %llu bytes kept under 2K", n,
	          (unsigned long long)bytes);
	load_only_dump(tmp, &d, dump);
	cr_assert_eq(v[n - 1].end, run_end(&d), "the newest was removed");
	dump_free(&d);
	harness_result_free(&r);
}

/* Start timed_phases QUIET 30 40 under the preload, its profile in
 * TMP/dumps; the profile's path once it exists. */
static void start_phases(const char *tmp, const char *quiet, struct harness_child *c,
                         char path[PATH_MAX])
{
	static char cfg[PATH_MAX + 64];
	char dumps[PATH_MAX];
	snprintf(dumps, sizeof(dumps), "%s/dumps", tmp);
	cr_assert_eq(mkdir(dumps, 0700), 0);
	snprintf(cfg, sizeof(cfg), "LOCKCONTEND=series=50ms,out=%s/tp.%%p.raw", dumps);
	const char *argv[] = {harness_fixture("timed_phases"), quiet, "30", "40", NULL};
	const char *env[] = {cfg, NULL};
	harness_start(argv, env, tmp, true, 60, c);
	snprintf(path, PATH_MAX, "%s/tp.%d.raw", dumps, (int)c->pid);
	cr_assert(harness_wait_file(path, 10), "no profile %s", path);
}

static void start_sidecar(const char *tmp, const char *interval, const char *profile,
                          struct harness_child *c)
{
	static char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/out", tmp);
	const char *argv[] = {intervals_tool(), "--dir", out, "--interval",
	                      interval,         profile, NULL};
	harness_start(argv, NULL, tmp, false, 60, c);
}

Test(intervals, a_run_killed_leaves_whole_files_that_add_up)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX], profile[PATH_MAX];
	struct harness_child c, sc;
	struct run_result r, rs;
	struct ivfile v[MAX_FILES];
	struct sums got = {0}, want = {0};
	start_phases(tmp, "300", &c, profile);
	start_sidecar(tmp, "100ms", profile, &sc);
	usleep(1000000); /* into phase two: 0.3 s, then 30 waits of 40 ms */
	cr_assert_eq(kill(c.pid, SIGKILL), 0);
	harness_finish(&c, &r);
	cr_assert_eq(r.signal, SIGKILL);
	harness_finish(&sc, &rs); /* it ends by itself: the writer is gone */
	cr_assert(!rs.timed_out && rs.exit_code == 0, "lockcontend-intervals: %d\n%s", rs.exit_code,
	          rs.err);
	snprintf(out, sizeof(out), "%s/out", tmp);
	size_t n = list_files(out, v); /* 10 with every read on time */
	cr_assert(n >= 1, "no file");
	read_all(out, v, n, &got);
	whole_sums(tmp, profile, &want);
	assert_sums_equal(&got, &want);
	cr_assert_gt(got.count, 0, "only %llu waits recorded before the kill",
	             (unsigned long long)got.count);
	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(profile, &d, err, sizeof(err)), 0, "%s", err);
	assert_tiled(v, n, d.meta.start_realtime_ns, v[n - 1].end);
	dump_free(&d);
	harness_result_free(&r);
	harness_result_free(&rs);
}

Test(intervals, the_sidecar_killed_never_leaves_a_short_file)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX], profile[PATH_MAX], path[PATH_MAX];
	struct harness_child c, sc;
	struct run_result r, rs;
	struct ivfile v[MAX_FILES];
	start_phases(tmp, "2000", &c, profile);
	srand((unsigned)time(NULL));
	for (int i = 0; i < 12; i++) {
		start_sidecar(tmp, "10ms", profile, &sc);
		usleep(100000 + (useconds_t)(rand() % 400000));
		kill(sc.pid, SIGKILL);
		harness_finish(&sc, &rs);
		harness_result_free(&rs);
	}
	kill(c.pid, SIGKILL);
	harness_finish(&c, &r);
	snprintf(out, sizeof(out), "%s/out", tmp);
	size_t n = list_files(out, v);
	/* a sidecar killed before its first read (which symbolizes: slow on a
	 * loaded machine) wrote none */
	cr_assert(n >= 1, "no file from 12 sidecars");
	cr_log_info("%zu files from 12 sidecars", n);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", out, v[i].name);
		read_times(path, &v[i]); /* whole gzip, whole protobuf */
		cr_assert_eq(v[i].time_nanos + v[i].duration, v[i].end, "%s", v[i].name);
	}
	harness_result_free(&r);
}

/* `lockcontend ARGS... -- touch TMP/ran` must refuse with status 2 and one
 * line naming `want`, never running the command. */
static void expect_refused(const char *tmp, const char *const args[], const char *want)
{
	char env[PATH_MAX + 16], ran[PATH_MAX];
	const char *argv[32] = {wrapper()};
	size_t n = 1;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	snprintf(ran, sizeof(ran), "%s/ran", tmp);
	argv[n++] = "--";
	argv[n++] = "/usr/bin/touch";
	argv[n++] = ran;
	snprintf(env, sizeof(env), "TMPDIR=%s", tmp);
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, tmp, false, 30, &r), 0);
	cr_assert_eq(r.exit_code, 2, "%s: status %d", want, r.exit_code);
	cr_assert(strstr(r.err, want), "wanted '%s' in:\n%s", want, r.err);
	char *nl = strchr(r.err, '\n');
	cr_assert(nl && !nl[1], "more than one line:\n%s", r.err);
	cr_assert(access(ran, F_OK) != 0, "the command ran");
	harness_result_free(&r);
}

Test(intervals, bad_options_are_one_line_and_nothing_runs)
{
	const char *tmp = harness_tmpdir();
	char dir[PATH_MAX], open_dir[PATH_MAX], link[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/iv", tmp);
	snprintf(open_dir, sizeof(open_dir), "%s/open", tmp);
	snprintf(link, sizeof(link), "%s/link", tmp);
	cr_assert_eq(mkdir(open_dir, 0700), 0);
	cr_assert_eq(chmod(open_dir, 0777), 0);
	cr_assert_eq(symlink(dir, link), 0);
	const char *a1[] = {"--interval-dir", dir, "--interval", "0", NULL};
	expect_refused(tmp, a1, "lockcontend: --interval needs a duration of 10ms or more: 0");
	const char *a2[] = {"--interval-dir", dir, "--interval", "5x", NULL};
	expect_refused(tmp, a2, "--interval needs a duration");
	const char *a3[] = {"--interval-dir", dir, "--interval-keep", "0", NULL};
	expect_refused(tmp, a3, "lockcontend: --interval-keep needs a positive number: 0");
	const char *a4[] = {"--interval-dir", dir, "--interval-max-size", "-1", NULL};
	expect_refused(tmp, a4, "lockcontend: --interval-max-size needs a size");
	const char *a5[] = {"--interval-dir", open_dir, NULL};
	expect_refused(tmp, a5, "not ours alone");
	mkdir(dir, 0700);
	const char *a6[] = {"--interval-dir", link, NULL};
	expect_refused(tmp, a6, "a symbolic link");
	const char *a7[] = {"--interval", "1s", NULL};
	expect_refused(tmp, a7, "go with --interval-dir DIR");
}

/* A watched directory (a host's agent): a profile that ended before the
 * watch began is an earlier run's and gets no file; one that appears
 * while watching is followed, and SIGTERM ends the watch with its files
 * whole and adding up. */
Test(intervals, a_watched_directory_follows_new_profiles_only)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX], dumps[PATH_MAX], old[PATH_MAX], profile[PATH_MAX];
	struct harness_child c, sc;
	struct run_result r, rs;
	struct ivfile v[MAX_FILES];
	struct sums got = {0}, want = {0};
	start_phases(tmp, "0", &c, old); /* a short earlier run, ended */
	harness_finish(&c, &r);
	cr_assert_eq(r.exit_code, 0);
	harness_result_free(&r);
	snprintf(dumps, sizeof(dumps), "%s/dumps", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	const char *argv[] = {intervals_tool(), "--dir", out, "--interval", "200ms", dumps, NULL};
	harness_start(argv, NULL, tmp, false, 60, &sc);
	usleep(300000); /* it has seen the old profile ended */
	static char cfg[PATH_MAX + 64];
	snprintf(cfg, sizeof(cfg), "LOCKCONTEND=series=50ms,out=%s/tp.%%p.raw", dumps);
	const char *fx[] = {harness_fixture("timed_phases"), "300", "10", "40", NULL};
	const char *env[] = {cfg, NULL};
	harness_start(fx, env, tmp, true, 60, &c);
	pid_t new_pid = c.pid;
	harness_finish(&c, &r);
	cr_assert_eq(r.exit_code, 0);
	snprintf(profile, sizeof(profile), "%s/tp.%d.raw", dumps, (int)new_pid);
	usleep(1500000); /* the watcher sees it gone at its next read */
	kill(sc.pid, SIGTERM);
	harness_finish(&sc, &rs);
	cr_assert_eq(rs.exit_code, 0, "%s", rs.err);
	size_t n = list_files(out, v);
	char pid[32];
	snprintf(pid, sizeof(pid), ".%d.", (int)new_pid);
	for (size_t i = 0; i < n; i++)
		cr_assert(strstr(v[i].name, pid), "%s: not the new run's (%s)", v[i].name, old);
	cr_assert_geq(n, 1, "no file");
	read_all(out, v, n, &got);
	whole_sums(tmp, profile, &want);
	assert_sums_equal(&got, &want);
	harness_result_free(&r);
	harness_result_free(&rs);
}

/* A process tree under the wrapper: every process's profile has its
 * files, short-lived ones too (a shell's child that exec'd at once), and
 * each process's files add up to its own profile. */
Test(intervals, a_process_tree_has_each_process_files)
{
	const char *tmp = harness_tmpdir();
	char env[PATH_MAX + 16], dumps[PATH_MAX], out[PATH_MAX], script[3 * PATH_MAX],
	    path[PATH_MAX];
	struct run_result r;
	struct ivfile v[MAX_FILES], mine[MAX_FILES];
	snprintf(env, sizeof(env), "TMPDIR=%s", tmp);
	snprintf(dumps, sizeof(dumps), "%s/dumps", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	const char *fx = harness_fixture("timed_phases");
	snprintf(script, sizeof(script), "%s 200 5 40 >/dev/null & %s 300 5 40 >/dev/null; wait",
	         fx, fx);
	const char *argv[] = {wrapper(),   "--out",      dumps,   "--interval-dir",
	                      out,         "--interval", "200ms", "--",
	                      "/bin/bash", "-c",         script,  NULL};
	const char *envv[] = {env, "LOCKCONTEND=series=50ms", NULL};
	cr_assert_eq(harness_run(argv, envv, tmp, false, 90, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	size_t n = list_files(out, v), profiles = 0, phases = 0;
	DIR *d = opendir(dumps);
	cr_assert(d != NULL);
	for (struct dirent *e; (e = readdir(d));) {
		struct dump dp;
		char err[256], pid[64];
		if (!strstr(e->d_name, ".raw"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dumps, e->d_name);
		cr_assert_eq(dump_read_file(path, &dp, err, sizeof(err)), 0, "%s", err);
		const char *base = strrchr(dp.exe, '/') ? strrchr(dp.exe, '/') + 1 : dp.exe;
		snprintf(pid, sizeof(pid), "%s.%llu.", base, (unsigned long long)dp.meta.pid);
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (strncmp(v[i].name, pid, strlen(pid)) == 0)
				mine[m++] = v[i];
		cr_assert(m >= 1, "no interval file for %s (%s)", e->d_name, pid);
		struct sums got = {0}, want = {0};
		read_all(out, mine, m, &got);
		whole_sums(tmp, path, &want);
		assert_sums_equal(&got, &want);
		assert_tiled(mine, m, dp.meta.start_realtime_ns, run_end(&dp));
		phases += strcmp(base, "timed_phases") == 0 && got.count == 5;
		profiles++;
		dump_free(&dp);
	}
	closedir(d);
	/* the shell never contends: it leaves no profile (filing.c) */
	cr_assert(profiles == 2 && phases == 2, "%zu profiles, %zu with their 5 waits", profiles,
	          phases);
	harness_result_free(&r);
}
