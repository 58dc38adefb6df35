/*
 * test_unwind.c — taking stacks makes nobody wait (test/fixtures/churn.cpp).
 *
 * A stack is taken before the thread sleeps on its lock, so a lock the
 * unwinder takes is a wait lockcontend adds to the program, and the
 * profile can only charge it to _LostContendedLock ("reentrant").  churn
 * contends on two mutexes from four threads at once while other threads
 * dlopen and dlclose libraries and throw C++ exceptions, and the main
 * thread waits 40 known rounds; once more after registering a frame as a
 * JIT does (libgcc's unwinder then takes its object mutex for every frame
 * of every throw).  No reentrant wait at all, the known waits on their
 * stacks, every view adds up.  With libunwind (Debian's 1.6: one
 * process-wide mutex in every unwind, held across dl_iterate_phdr) the
 * profile had reentrant waits every run.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <limits.h>

#include "integration/harness.h"

static void assert_no_wait_of_ours(const char *const args[])
{
	struct run_result r;
	char path[PATH_MAX];
	harness_profile("churn", args, NULL, 60, &r, path);
	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_assert(d.complete, "%s: %s", path, d.warning);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(&d, (enum lc_view)v), "view %d does not add up", v);

	const struct lc_lost_entry *lw = d.lost[LC_VIEW_WAIT];
	cr_assert(lw[LC_LOST_REENTRANT].count == 0 && lw[LC_LOST_REENTRANT].delay_ns == 0,
	          "%" PRIu64 " waits (%" PRIu64 " ns) inside lockcontend's own work, of %" PRIu64
	          " contentions (%" PRIu64 " ns)\n%s",
	          lw[LC_LOST_REENTRANT].count, lw[LC_LOST_REENTRANT].delay_ns,
	          (uint64_t)d.totals.contentions, (uint64_t)d.totals.delay_ns, r.out);
	cr_assert_eq(lw[LC_LOST_NO_STACK].count, 0, "%" PRIu64 " waits refused a stack",
	             lw[LC_LOST_NO_STACK].count);

	const char *exe = harness_fixture("churn");
	uint64_t c, n;
	harness_sum_function(&d, exe, "wait_known", &c, &n);
	cr_assert_eq(c, harness_out_value(r.out, "known_rounds"),
	             "%" PRIu64 " contentions on wait_known's stack\n%s", c, r.out);
	/* less at most what a preemption between the program's clock and the
	 * hook's took (the contenders, throwers and loader keep both CPUs
	 * busy), which its run delay over the waits bounds */
	harness_assert_wait(n, harness_out_value(r.out, "known_ns"),
	                    harness_out_value(r.out, "known_delayed_ns"), 0.1, "wait_known");
	harness_sum_function(&d, exe, "contend_pair", &c, &n);
	cr_assert_gt(c, 0, "no contention on contend_pair's stack, of %" PRIu64 "\n%s",
	             (uint64_t)d.totals.contentions, r.out);
	cr_assert_gt(harness_out_value(r.out, "throws"), 0);
	cr_assert_gt(harness_out_value(r.out, "loads"), 0);
	dump_free(&d);
	harness_result_free(&r);
}

Test(unwind, no_wait_of_ours_while_libraries_load_and_exceptions_fly)
{
	assert_no_wait_of_ours(NULL);
}

Test(unwind, no_wait_of_ours_with_frames_registered_as_by_a_jit)
{
	assert_no_wait_of_ours((const char *[]){"jit", NULL});
}
