/*
 * test_filing.c — a wait that comes while the profile's file is being made
 * is counted, not dropped.
 *
 * The profile moves into its file at the process's first contention
 * (preload/filing.c), and a thread that contends meanwhile waits for the
 * move 100 ms at most.  The fixture `filing stall` holds the move still
 * from outside (a tracer stops the mover at the file's creation) until the
 * other thread has given up on it and sleeps on the lock: that wait can
 * have no stack, but it must be in the profile, under the lost reason
 * no_file, and the totals must still add up to what the program measured.
 * (Before, such a wait was dropped without a trace.)
 *
 * `filing late` holds the move still until the lock is let go and the
 * other thread has exited: its exit waits for the move 100 ms at most,
 * and the wait it could not settle then is the process's to settle at
 * the end, still under no_file (before, it vanished: what a loaded
 * machine did to `stall` 2 runs in 8, the mover not scheduled for the
 * 150 ms that took).
 *
 * `filing end` holds the move still for good: the program ends while the
 * file is still being made.  The end must not write a profile that is not
 * in its file; it says, in one line, that the profile is missing (before,
 * not a word: the wrapper then said that no lock was contended).
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

/* Run `filing mode` and check its wait under no_file and the mover's. */
static void filing_check(const char *mode)
{
	struct run_result r;
	char path[PATH_MAX];
	const char *args[] = {mode, NULL};
	harness_profile("filing", args, "", 60, &r, path);
	uint64_t mover = harness_out_value(r.out, "mover_ns");
	uint64_t waiter = harness_out_value(r.out, "waiter_ns");
	uint64_t md = harness_out_value(r.out, "mover_delayed_ns");
	uint64_t wd = harness_out_value(r.out, "waiter_delayed_ns");
	harness_result_free(&r);

	struct dump d;
	char err[512];
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.complete, "dump incomplete: %s", d.warning);
	const struct lc_lost_entry *nf = &d.lost[LC_VIEW_WAIT][LC_LOST_NO_FILE];
	cr_assert_eq(nf->count, 1, "no_file count %" PRIu64, nf->count);
	/* A wait of 100-200 ms, of which a preemption between the program's
	 * clock and the hook's was 9 ms at load 60 (0.943 at 5%): each thread
	 * measures its run delay over its wait, and that is allowed for */
	harness_assert_wait(nf->delay_ns, waiter, wd, 0.10, "no_file delay vs the waiter's own");

	uint64_t count, delay;
	harness_sum_function(&d, harness_fixture("filing"), "mover_waits", &count, &delay);
	cr_assert_eq(count, 1, "contentions in mover_waits: %" PRIu64, count);
	harness_assert_wait(delay, mover, md, 0.10, "mover_waits delay vs the mover's own");

	cr_assert_eq(d.totals.contentions, 2);
	harness_assert_wait(d.totals.delay_ns, mover + waiter, md + wd, 0.10, "total wait");
	uint64_t sc, sd;
	dump_sum(&d, LC_VIEW_WAIT, &sc, &sd);
	cr_assert_eq(sc, d.totals.contentions);
	cr_assert_eq(sd, d.totals.delay_ns);
	dump_free(&d);

	const char *sargs[] = {path, NULL};
	harness_symbolize(sargs, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "1 the profile's file was still being made"), "report: %s", r.out);
	harness_result_free(&r);
}

Test(filing, a_wait_during_a_slow_move_is_counted_as_no_file)
{
	filing_check("stall");
}

Test(filing, a_wait_whose_thread_exits_during_the_move_is_counted_as_no_file)
{
	filing_check("late");
}

Test(filing, a_move_still_under_way_at_the_end_is_said)
{
	const char *dir = harness_tmpdir();
	const char *argv[] = {harness_fixture("filing"), "end", NULL};
	char env[PATH_MAX + 64], pat[PATH_MAX];
	snprintf(env, sizeof env, "LOCKCONTEND=out=%s/end.%%p.raw", dir);
	snprintf(pat, sizeof pat, "end.*.raw");
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, &r), 0);
	cr_assert(!r.timed_out, "filing end hung");
	cr_assert_eq(r.exit_code, 0, "exit %d (signal %d): %s", r.exit_code, r.signal, r.err);
	cr_assert(harness_out_value(r.out, "waiter_ns") > 0, "%s", r.out);
	cr_assert(strstr(r.err, "was still being moved into its file when the program ended"),
	          "stderr: %s", r.err);
	cr_assert_eq(harness_count_files(dir, pat), 0, "a profile was written");
	harness_result_free(&r);
}
