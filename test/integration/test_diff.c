/*
 * test_diff.c — a comparison of two runs whose waits are known
 * (`lockcontend-symbolize --diff`, the wrapper's `lockcontend diff`, and
 * what `go tool pprof -diff_base` makes of it).
 *
 * known_wait measures its own blocking time (test/fixtures/known_wait.c):
 * the base run waits 10 times behind a 120 ms hold, the new run 10 times
 * behind a 5 ms hold, each measured by the program.  The comparison must
 * say the lock's wait went from the one measured figure to the other (5%),
 * with the change between them and 10 contentions on either side, and the
 * waiting stack (waiter_blocked) matched across the runs, not new and
 * vanished; pprof must read the same change, from our one-file comparison
 * and from two plain profiles with -diff_base alike; bad input is one line
 * and status 1 (the symbolizer) or 2 (the wrapper).
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integration/harness.h"

struct runs {
	char base[PATH_MAX], newr[PATH_MAX];
	uint64_t base_ns, new_ns; /* as the program measured them */
	uint64_t base_delayed, new_delayed; /* its run delay over them (delayed_ns) */
};

/* known_wait ROUNDS HOLD_MS profiled into dir as NAME.PID.raw. */
static uint64_t profile_known(const char *dir, const char *name, const char *hold_ms,
                              char dump[PATH_MAX], uint64_t *delayed)
{
	char env[PATH_MAX + 64], pat[PATH_MAX];
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/%s.%%p.raw", dir, name);
	const char *argv[] = {harness_fixture("known_wait"), "10", hold_ms, NULL};
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "known_wait: %s", r.err);
	uint64_t ns = harness_out_value(r.out, "measured_ns");
	*delayed = harness_out_value(r.out, "delayed_ns");
	harness_result_free(&r);
	snprintf(pat, sizeof(pat), "%s.*.raw", name);
	harness_one_file(dir, pat, dump);
	return ns;
}

static void two_runs(struct runs *r)
{
	const char *dir = harness_tmpdir();
	/* a wait is its holder's time: under ASan at load 5 ms holds made
	 * waits of 35 ms, so the base's holds are far longer */
	r->base_ns = profile_known(dir, "base", "120", r->base, &r->base_delayed);
	r->new_ns = profile_known(dir, "new", "5", r->newr, &r->new_delayed);
}

/* "12.34 ms" (or us, ns, s) read back into ns. */
static double ns_of(double v, const char *unit)
{
	return v * (strcmp(unit, "s") == 0 ? 1e9 : strcmp(unit, "ms") == 0 ? 1e6
	                                       : strcmp(unit, "us") == 0   ? 1e3
	                                                                   : 1);
}

/* The lock table's row of `lock` in a text comparison. */
static void lock_row(const char *text, const char *lock, double *base, double *newv,
                     double *change, long *bc, long *nc)
{
	char want[128];
	snprintf(want, sizeof(want), "  %s\n", lock);
	double b, n, c;
	char bu[8], nu[8], cu[8], pct[16];
	/* the heading ends in "  lock" too: the row is the one of numbers */
	for (const char *end = strstr(text, want); end; end = strstr(end + 1, want)) {
		const char *row = end;
		while (row > text && row[-1] != '\n')
			row--;
		if (sscanf(row, "%lf %7s %lf %7s %lf %7s %15s %ld %ld", &b, bu, &n, nu, &c, cu, pct,
		           bc, nc) == 9)
			break;
		cr_assert(strstr(end + 1, want), "no row of %s in:\n%s", lock, text);
	}
	*base = ns_of(b, bu);
	*newv = ns_of(n, nu);
	*change = ns_of(c, cu);
}

Test(diff, the_text_comparison_says_the_measured_waits_and_their_change)
{
	struct runs r;
	struct run_result out;
	two_runs(&r);
	const char *args[] = {"--diff", r.base, "--", r.newr, NULL};
	harness_symbolize(args, &out);
	cr_assert_eq(out.exit_code, 0, "exit %d: %s", out.exit_code, out.err);
	double base, newv, change;
	long bc, nc;
	lock_row(out.out, "lock", &base, &newv, &change, &bc, &nc);
	/* each less at most what a preemption between the program's clock and
	 * the hook's took (its run delay): ten 5 ms waits leave 2.5 ms at 5% */
	harness_assert_wait((uint64_t)base, r.base_ns, r.base_delayed, 0.05, "the base run's wait");
	harness_assert_wait((uint64_t)newv, r.new_ns, r.new_delayed, 0.05, "the new run's wait");
	uint64_t want = r.base_ns - r.new_ns;
	cr_assert(-change + (double)r.base_delayed >= want * 0.94 &&
	              -change <= want * 1.06 + (double)r.new_delayed,
	          "the change: %.0f ns, the program's %" PRIu64 " (runs kept from a CPU %" PRIu64
	          " and %" PRIu64 " ns)",
	          -change, want, r.base_delayed, r.new_delayed);
	cr_assert(change < 0);
	cr_assert_eq(bc, 10);
	cr_assert_eq(nc, 10);
	/* the waiting stack is one stack in both runs, and it shrank */
	cr_assert(strstr(out.out, "stacks: 1 in both runs, 0 new, 0 vanished"), "%s", out.out);
	const char *shrank = strstr(out.out, "shrank\n  #1  -");
	cr_assert(shrank, "%s", out.out);
	cr_assert(strstr(shrank, "on lock: ") && strstr(shrank, "10 -> 10 contentions") &&
	              strstr(shrank, "waiter_blocked (test/fixtures/known_wait.c:"),
	          "%s", shrank);
	harness_result_free(&out);
}

/* The flat delay of `fn` in `go tool pprof -top` output, in ms. */
static double top_flat_ms(const char *top, const char *fn)
{
	for (const char *l = top; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		double flat;
		char name[128];
		if (sscanf(l, "%lfms %*s %*s %*s %*s %127s", &flat, name) == 2 &&
		    strcmp(name, fn) == 0)
			return flat;
	}
	cr_assert_fail("no line of %s in:\n%s", fn, top);
	return 0;
}

Test(diff, pprof_diff_base_reads_the_change)
{
	struct runs r;
	struct run_result out;
	two_runs(&r);
	const char *dir = harness_tmpdir();
	char one[PATH_MAX], b[PATH_MAX], n[PATH_MAX], args[3 * PATH_MAX];
	snprintf(one, sizeof(one), "%s/diff.pb.gz", dir);
	snprintf(b, sizeof(b), "%s/base.pb.gz", dir);
	snprintf(n, sizeof(n), "%s/new.pb.gz", dir);
	const char *d[] = {"--diff", "--format=pprof", "-o", one, r.base, "--", r.newr, NULL};
	const char *bs[] = {"--format=pprof", "-o", b, r.base, NULL};
	const char *ns[] = {"--format=pprof", "-o", n, r.newr, NULL};
	const char *const *all[] = {d, bs, ns};
	for (int i = 0; i < 3; i++) {
		harness_symbolize(all[i], &out);
		cr_assert_eq(out.exit_code, 0, "exit %d: %s", out.exit_code, out.err);
		harness_result_free(&out);
	}
	double want = ((double)r.new_ns - (double)r.base_ns) / 1e6;
	/* less at most each run's run delay, as in the text comparison */
	double bd = (double)r.base_delayed / 1e6, nd = (double)r.new_delayed / 1e6;
	char *top = harness_go_pprof("-top -sample_index=delay -unit=ms", one);
	double got = top_flat_ms(top, "waiter_blocked");
	cr_assert(got < 0 && got > want * 1.06 - nd && got < want * 0.94 + bd,
	          "our comparison: waiter_blocked %.2f ms, measured %.2f ms (%.2f and %.2f ms kept"
	          " from a CPU)\n%s",
	          got, want, bd, nd, top);
	free(top);
	snprintf(args, sizeof(args), "-top -sample_index=delay -unit=ms -diff_base %s", b);
	top = harness_go_pprof(args, n);
	double two = top_flat_ms(top, "waiter_blocked");
	cr_assert(two > got - 0.01 && two < got + 0.01,
	          "-diff_base on two profiles: %.2f ms, ours %.2f ms\n%s", two, got, top);
	free(top);
}

Test(diff, bad_input_is_one_line_and_a_failure)
{
	struct runs r;
	struct run_result out;
	two_runs(&r);
	char cut[PATH_MAX];
	snprintf(cut, sizeof(cut), "%s/cut.raw", harness_tmpdir());
	FILE *f = fopen(cut, "w");
	cr_assert(f && fwrite("LCKCONTD", 1, 8, f) == 8 && fclose(f) == 0);
	const char *no_dash[] = {"--diff", r.base, r.newr, NULL};
	const char *no_new[] = {"--diff", r.base, "--", NULL};
	const char *missing[] = {"--diff", r.base, "--", "/nonexistent/x.raw", NULL};
	const char *corrupt[] = {"--diff", cut, "--", r.newr, NULL};
	const char *folded[] = {"--diff", "--format=folded", r.base, "--", r.newr, NULL};
	const char *const *cases[] = {no_dash, no_new, missing, corrupt, folded};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		harness_symbolize(cases[i], &out);
		cr_assert_eq(out.exit_code, 1, "case %zu: exit %d: %s", i, out.exit_code, out.err);
		cr_assert_str_empty(out.out, "case %zu: %s", i, out.out);
		char *nl = strchr(out.err, '\n');
		cr_assert(nl && nl[1] == '\0' && strstr(out.err, "lockcontend-symbolize: "),
		          "case %zu: not one line: %s", i, out.err);
		harness_result_free(&out);
	}
}

Test(diff, the_wrapper_diffs_dumps_or_directories_and_refuses_bad_input)
{
	struct runs r;
	struct run_result out;
	two_runs(&r);
	char dir[PATH_MAX], b[PATH_MAX + 4], n[PATH_MAX + 4], wrapper[PATH_MAX];
	cr_assert(realpath("scripts/lockcontend", wrapper));
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(n, sizeof(n), "%s/n", dir);
	char lb[PATH_MAX + 16], ln[PATH_MAX + 16];
	snprintf(lb, sizeof(lb), "%s/x.raw", b);
	snprintf(ln, sizeof(ln), "%s/x.raw", n);
	cr_assert(mkdir(b, 0700) == 0 && mkdir(n, 0700) == 0 && link(r.base, lb) == 0 &&
	          link(r.newr, ln) == 0);
	const char *files[] = {wrapper, "diff", r.base, r.newr, NULL};
	const char *dirs[] = {wrapper, "diff", b, n, NULL};
	const char *const *good[] = {files, dirs};
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(harness_run(good[i], NULL, dir, false, 60, &out), 0);
		cr_assert_eq(out.exit_code, 0, "case %zu: %s", i, out.err);
		cr_assert(strstr(out.out, "Comparison: base (1 dump) -> new (1 dump)") &&
		              strstr(out.out, "stacks: 1 in both runs"),
		          "case %zu: %s", i, out.out);
		harness_result_free(&out);
	}
	const char *missing[] = {wrapper, "diff", r.base, "/nonexistent", NULL};
	const char *three[] = {wrapper, "diff", r.base, r.newr, r.newr, NULL};
	const char *empty[] = {wrapper, "diff", r.base, "--", NULL};
	const char *const *bad[] = {missing, three, empty};
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(harness_run(bad[i], NULL, dir, false, 60, &out), 0);
		cr_assert_eq(out.exit_code, 2, "case %zu: exit %d: %s", i, out.exit_code, out.err);
		char *nl = strchr(out.err, '\n');
		cr_assert(strstr(out.err, "lockcontend: diff: ") && nl && !nl[1], "case %zu: %s", i,
		          out.err);
		harness_result_free(&out);
	}
}
