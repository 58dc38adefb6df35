/*
 * test_series.c — contention over time, in real profiles (docs/series.md).
 *
 * test/fixtures/timed_phases.c has known phases: busy but uncontended, then ten
 * 40 ms contentions on phase_lock in wait_in_phase_two() (it prints when
 * that phase began and ended, CLOCK_MONOTONIC, the clock of META's start),
 * then quiet again; optionally a churn of short contentions over hundreds
 * of milliseconds.  test/fixtures/crash.c is killed, or read live.
 *
 * Tests:
 *   - every series is placed and adds up to the totals exactly, every view
 *     (the reader's sums, and lockcontend-rawdump's checks): a complete
 *     file; a file whose writer was SIGKILLed; a live file, then the same
 *     file complete;
 *   - the second phase is where it happened: every wait on phase_lock is in
 *     an interval that overlaps the phase, all ten of them, and the text
 *     report's sparkline of phase_lock is blank before the phase and after;
 *   - at series=1ms over a churn of hundreds of intervals the records grow
 *     coarser (a level above 0) and still add up, the phase still placed;
 *   - --from/--to: folded output of a window before the phase has no wait in
 *     wait_in_phase_two, one that holds the phase has all of it (what the
 *     whole run shows, within 10% of what the program measured, less at
 *     most its run delay over those waits), one across
 *     part of it exactly what the series place there; pprof likewise (go
 *     tool pprof -top); the text report refuses a window.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

#define CELL_NS 100000000ull /* series=100ms */

struct phases {
	char dump[PATH_MAX];
	uint64_t start, end, measured, lock; /* phase 2, CLOCK_MONOTONIC; its lock */
	uint64_t delayed; /* the waiter's run delay over its measured waits: a preemption between
	                   * its clock and the hook's is in measured and in no profile */
	struct dump d;
};

static void phases_run(const char *cfg, const char *const args[], struct phases *p)
{
	struct run_result r;
	char err[256];
	harness_profile("timed_phases", args, cfg, 60, &r, p->dump);
	p->start = harness_out_value(r.out, "phase2_start_ns");
	p->end = harness_out_value(r.out, "phase2_end_ns");
	p->measured = harness_out_value(r.out, "measured_ns");
	p->delayed = harness_out_value(r.out, "delayed_ns");
	p->lock = harness_out_value(r.out, "phase_lock");
	harness_result_free(&r);
	cr_assert_eq(dump_read_file(p->dump, &p->d, err, sizeof(err)), 0, "%s", err);
}

/* Every series placed, and their sums the totals, every view. */
static void assert_series_exact(const struct dump *d, const char *what)
{
	cr_assert_gt(d->nseries, 0, "%s: no series", what);
	for (size_t i = 0; i < d->nseries; i++)
		cr_assert_eq(d->series[i].state, DUMP_SERIES_PLACED, "%s: series %zu is %s", what, i,
		             dump_series_state_name(d->series[i].state));
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t sc, sd, tc, td, uc, ud;
		dump_series_sum(d, (enum lc_view)v, &sc, &sd);
		dump_view_totals(d, (enum lc_view)v, &tc, &td);
		cr_assert(dump_series_unplaced(d, (enum lc_view)v, &uc, &ud), "%s", what);
		cr_assert(sc == tc && sd == td,
		          "%s: view %d: series %" PRIu64 "/%" PRIu64 ", totals %" PRIu64 "/%" PRIu64,
		          what, v, sc, sd, tc, td);
	}
}

/* lockcontend-rawdump's own checks of the series say the same. */
static void assert_rawdump_exact(const char *dump)
{
	char cmd[PATH_MAX + 128];
	snprintf(cmd, sizeof(cmd), "build/lockcontend-rawdump '%s' | grep -c '^check series .*: "
	                           "equal to the totals$'",
	         dump);
	FILE *f = popen(cmd, "r");
	int n = 0;
	cr_assert(f && fscanf(f, "%d", &n) == 1);
	pclose(f);
	cr_assert_eq(n, LC_NVIEWS, "rawdump: %d views' series equal to the totals", n);
}

/* Sum of the placed WAIT entries of `lock` within [from, to) (ns after the
 * start), and whether each of them lies within (lo, hi] of CLOCK_MONOTONIC:
 * its interval overlaps them. */
static uint64_t waits_of(const struct dump *d, uint64_t lock, uint64_t from, uint64_t to,
                         uint64_t lo, uint64_t hi, uint64_t *delay)
{
	uint64_t count = 0;
	*delay = 0;
	for (size_t i = 0; i < d->nseries; i++)
		for (size_t k = 0; k < d->series[i].n; k++) {
			const struct dump_series_entry *e = &d->series[i].entries[k];
			if (e->view != LC_VIEW_WAIT || e->lock != lock || e->start_ns < from ||
			    e->end_ns > to)
				continue;
			uint64_t s = d->meta.start_mono_ns + e->start_ns;
			uint64_t t = d->meta.start_mono_ns + e->end_ns;
			cr_assert(t > lo && s <= hi,
			          "a wait on phase_lock in [%" PRIu64 ", %" PRIu64 ") ms, the phase "
			          "was [%" PRIu64 ", %" PRIu64 "] ms",
			          e->start_ns / 1000000, e->end_ns / 1000000,
			          (lo - d->meta.start_mono_ns) / 1000000,
			          (hi - d->meta.start_mono_ns) / 1000000);
			count += e->count;
			*delay += e->delay_ns;
		}
	return count;
}

Test(series, a_complete_file_adds_up_and_the_second_phase_is_where_it_was)
{
	struct phases p;
	phases_run("series=100ms", (const char *[]){"500", "10", "40", NULL}, &p);
	assert_series_exact(&p.d, "complete");
	assert_rawdump_exact(p.dump);
	uint64_t delay, count = waits_of(&p.d, p.lock, 0, UINT64_MAX, p.start, p.end, &delay);
	cr_assert_eq(count, 10, "%" PRIu64 " waits on phase_lock in the series", count);
	harness_assert_wait(delay, p.measured, p.delayed, 0.10, "phase 2 in the series");
	dump_free(&p.d);
}

/* The sparkline row of `name` in the text report: its columns, one byte
 * each (' ' or '#'). */
static void sparkline_of(const char *report, const char *name, char *cols, size_t cap)
{
	const char *row = strstr(report, "\nContention over time");
	cr_assert_not_null(row, "no series section:\n%s", report);
	row = strstr(row, name);
	cr_assert_not_null(row, "no row for %s", name);
	const char *bar = strchr(row, '|');
	cr_assert_not_null(bar);
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)bar + 1; *c != '|' && n + 1 < cap;) {
		cols[n++] = *c == ' ' ? ' ' : '#';
		c += *c == ' ' ? 1 : 3; /* the marks are three bytes of UTF-8 */
	}
	cols[n] = '\0';
}

Test(series, the_text_report_draws_the_second_phase_at_its_time)
{
	struct phases p;
	phases_run("series=100ms", (const char *[]){"500", "10", "40", NULL}, &p);
	struct run_result r;
	harness_symbolize((const char *[]){p.dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "wait per 100 ms"), "%s", r.out);
	cr_assert(strstr(r.out, "every contention is placed in time"), "%s", r.out);
	char cols[128];
	sparkline_of(r.out, "phase_lock", cols, sizeof(cols));
	size_t first = strcspn(cols, "#"), last = strrchr(cols, '#') - cols;
	uint64_t at = p.d.meta.start_mono_ns;
	cr_assert_geq(first, (p.start - at) / CELL_NS, "'%s': marks before the phase", cols);
	cr_assert_leq(last, (p.end - at) / CELL_NS, "'%s': marks after the phase", cols);
	cr_assert_gt(strlen(cols), last + 2, "'%s': the quiet third phase has columns", cols);
	harness_result_free(&r);
	dump_free(&p.d);
}

Test(series, many_intervals_make_the_records_coarser_and_keep_the_sums)
{
	struct phases p;
	phases_run("series=1ms", (const char *[]){"200", "5", "20", "700", NULL}, &p);
	assert_series_exact(&p.d, "series=1ms");
	assert_rawdump_exact(p.dump);
	uint32_t level = 0;
	for (size_t i = 0; i < p.d.nseries; i++)
		level = p.d.series[i].level > level ? p.d.series[i].level : level;
	cr_assert_geq(level, 1, "700 ms of churn in 1 ms intervals: no record grew coarser");
	uint64_t delay, count = waits_of(&p.d, p.lock, 0, UINT64_MAX, p.start, p.end, &delay);
	cr_assert_eq(count, 5, "%" PRIu64 " waits on phase_lock", count);
	dump_free(&p.d);
}

/* ---- files whose writer died, or runs ---------------------------------- */

static void crash_start(const char *mode, const char *dir, struct harness_child *c)
{
	static char env[PATH_MAX + 64];
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/crash.%%p.raw", dir);
	const char *argv[] = {harness_fixture("crash"), mode, NULL};
	const char *envv[] = {env, NULL};
	harness_start(argv, envv, dir, true, 60, c);
	cr_assert(harness_wait_line(c, "ready"), "crash %s never got ready", mode);
}

static void load_crash(const char *dir, struct dump *d, char path[PATH_MAX])
{
	char err[256];
	harness_one_file(dir, "crash.*.raw", path);
	cr_assert_eq(dump_read_file(path, d, err, sizeof(err)), 0, "%s", err);
}

Test(series, a_sigkilled_writer_leaves_series_that_add_up)
{
	const char *dir = harness_tmpdir();
	struct harness_child c;
	struct run_result r;
	crash_start("kill", dir, &c);
	kill(c.pid, SIGKILL);
	harness_finish(&c, &r);
	harness_result_free(&r);
	struct dump d;
	char path[PATH_MAX];
	load_crash(dir, &d, path);
	cr_assert(!d.complete && d.totals_from_slots);
	assert_series_exact(&d, "killed");
	assert_rawdump_exact(path);
	dump_free(&d);
}

Test(series, a_live_file_adds_up_and_so_does_it_complete)
{
	const char *dir = harness_tmpdir();
	struct harness_child c;
	struct run_result r;
	struct dump d;
	char path[PATH_MAX];
	crash_start("live", dir, &c);
	load_crash(dir, &d, path);
	cr_assert(!d.complete);
	assert_series_exact(&d, "live");
	dump_free(&d);
	kill(c.pid, SIGUSR1);
	harness_finish(&c, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	harness_result_free(&r);
	load_crash(dir, &d, path);
	cr_assert(d.complete);
	assert_series_exact(&d, "live, then complete");
	dump_free(&d);
}

/* ---- windows ------------------------------------------------------------- */

/* wait_in_phase_two's value in the folded waiter view of a window. */
static uint64_t window_folded(const char *dump, uint64_t from, uint64_t to)
{
	char f[64], t[64];
	snprintf(f, sizeof(f), "--from=%" PRIu64 "ms", from / 1000000);
	snprintf(t, sizeof(t), "--to=%" PRIu64 "ms", to / 1000000);
	char *folded = harness_folded(dump, "waiter", (const char *[]){f, t, NULL});
	uint64_t v = harness_folded_sum(folded, "wait_in_phase_two", NULL);
	free(folded);
	return v;
}

Test(series, a_window_cuts_folded_and_pprof_output_to_its_time)
{
	struct phases p;
	phases_run("series=100ms", (const char *[]){"500", "10", "40", NULL}, &p);
	uint64_t at = p.d.meta.start_mono_ns;
	uint64_t before = (p.start - at) / CELL_NS * CELL_NS; /* a cell boundary */
	uint64_t after = ((p.end - at) / CELL_NS + 1) * CELL_NS;
	char *whole = harness_folded(p.dump, "waiter", NULL);
	uint64_t all = harness_folded_sum(whole, "wait_in_phase_two", NULL);
	free(whole);
	cr_assert_eq(window_folded(p.dump, 0, before), 0, "waits before the phase");
	cr_assert_eq(window_folded(p.dump, before, after), all, "the phase's window is the run's");
	harness_assert_wait(window_folded(p.dump, before, after), p.measured, p.delayed, 0.10,
	                    "the window");
	/* A window of two cells that holds part of the phase: the first such
	 * one, from the series themselves (on a loaded machine the phase's
	 * waits can bunch up late; ten waits of 40 ms end in four cells or
	 * more, so there is one). */
	uint64_t mid_from = before, delay = 0;
	for (; mid_from + CELL_NS < after; mid_from += CELL_NS) {
		waits_of(&p.d, p.lock, mid_from, mid_from + 2 * CELL_NS, p.start, p.end, &delay);
		if (delay > 0 && delay < all)
			break;
	}
	cr_assert(delay > 0 && delay < all, "no two cells of the phase hold part of it");
	cr_assert_eq(window_folded(p.dump, mid_from, mid_from + 2 * CELL_NS), delay,
	             "part of the phase");

	char pb[PATH_MAX + 16], f[64], t[64];
	struct run_result r;
	snprintf(pb, sizeof(pb), "%s.pb.gz", p.dump);
	snprintf(f, sizeof(f), "--from=%" PRIu64 "ms", before / 1000000);
	snprintf(t, sizeof(t), "--to=%" PRIu64 "ms", after / 1000000);
	harness_symbolize((const char *[]){"--format=pprof", "-o", pb, f, t, p.dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "window from"), "no line about the window: %s", r.err);
	harness_result_free(&r);
	char *top = harness_go_pprof("-top", pb);
	cr_assert(strstr(top, "wait_in_phase_two"), "%s", top);
	free(top);
	snprintf(f, sizeof(f), "--to=%" PRIu64 "ms", before / 1000000);
	harness_symbolize((const char *[]){"--format=pprof", "-o", pb, f, p.dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	harness_result_free(&r);
	top = harness_go_pprof("-top", pb);
	cr_assert(!strstr(top, "wait_in_phase_two"), "%s", top);
	free(top);

	harness_symbolize((const char *[]){"--from=1s", p.dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 1, "the text report takes no window");
	harness_result_free(&r);
	dump_free(&p.d);
}
