/*
 * test_futex.c — futex locks written by hand, through syscall(SYS_futex).
 *
 * futexlock (test/fixtures/futexlock.c) waits on Drepper's three-state
 * futex mutex and on a priority-inheritance lock, each round contended for
 * certain (the holder keeps the lock until the waiter is seen asleep in
 * the kernel), and measures its own waits: the waiter view (kind futex)
 * must agree within 5% and name the function that waited, the holder view
 * must charge the function whose FUTEX_WAKE (FUTEX_UNLOCK_PI) ended the
 * wait.  A FUTEX_WAIT that returns EAGAIN at once is no wait; one that
 * times out counts as a timeout.  syscall()'s results, errno included, are
 * the same with the preload as without, for futex operations good and bad
 * and for other calls.  And glibc's own mutexes, whose futex calls never
 * reach syscall(), give mutex waits and not one futex event.
 *
 * futex_waitv: a wait on a vector of two words, woken by each in turn, is
 * a futex wait on the word that woke it (its return value, which the
 * program sees unchanged), within 5% of the program's own measure, word by
 * word; one that times out counts as a timeout, on the vector's first
 * word.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

static void load(const char *path, struct dump *d)
{
	char err[256];
	if (dump_read_file(path, d, err, sizeof err) != 0)
		cr_assert_fail("%s: %s", path, err);
}

/* Count and delay of the buckets of one view and kind; *flags: their
 * flags or'ed. */
static void kind_sum(const struct dump *d, int view, int kind, uint64_t *count, uint64_t *delay,
                     uint32_t *flags)
{
	*count = *delay = 0;
	if (flags)
		*flags = 0;
	for (size_t i = 0; i < d->nbuckets; i++) {
		const struct dump_bucket *b = &d->buckets[i];
		if (b->view != view || b->kind != kind)
			continue;
		*count += b->count;
		*delay += b->delay_ns;
		if (flags)
			*flags |= b->flags;
	}
}

/* The rounds of a futex lock: waiter and holder views, by function. */
static void expect_rounds(const char *mode, uint64_t rounds)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("futexlock", (const char *[]){mode, "4", "30", NULL}, "", 60, &r, dump);
	uint64_t measured = harness_out_value(r.out, "measured_ns");
	uint64_t caused = harness_out_value(r.out, "caused_ns");
	cr_assert_eq(harness_out_value(r.out, "rounds"), rounds);

	char *waiter = harness_folded(dump, "waiter", (const char *[]){"--kind=futex", NULL});
	/* less at most the waiter's run delay: a preemption between its clock
	 * and the hook's (test_futexlangs saw 68 ms of 174 under ASan at load) */
	uint64_t delayed = harness_out_value(r.out, "delayed_ns");
	harness_assert_wait(harness_folded_sum(waiter, "waiter_blocked", NULL), measured, delayed,
	                    0.05, "--kind=futex, waiter_blocked");
	/* the function that called syscall() is the leaf */
	const char *leaf = strstr(waiter, ";futex ");
	cr_assert(leaf, "the waiting function, futex, is not the leaf:\n%s", waiter);
	char *counts = harness_folded(dump, "waiter",
	                              (const char *[]){"--kind=futex", "--value=contentions", NULL});
	cr_assert_eq(harness_folded_sum(counts, "waiter_blocked", NULL), rounds,
	             "one contention a round:\n%s", counts);
	char *holder = harness_folded(dump, "holder", (const char *[]){"--kind=futex", NULL});
	harness_assert_wait(harness_folded_sum(holder, "holder_release", NULL), caused, delayed,
	                    0.10, "holder view, holder_release");
	/* a lock's waits and wakes: no rule calls them condition waits */
	for (int v = 0; v < 2; v++) {
		char *cond = harness_folded(dump, v ? "holder" : "waiter",
		                            (const char *[]){"--kind=futex-cond", NULL});
		size_t lines = 0;
		harness_folded_sum(cond, v ? "holder_release" : "waiter_blocked", &lines);
		cr_assert_eq(lines, 0, "futex-cond:\n%s", cond);
		free(cond);
	}

	struct dump d;
	load(dump, &d);
	uint64_t n, ns;
	kind_sum(&d, LC_VIEW_WAIT, LC_KIND_MUTEX, &n, &ns, NULL);
	cr_assert_eq(n, 0, "%" PRIu64 " mutex waits in a program of futexes", n);
	cr_assert(dump_view_conserved(&d, LC_VIEW_WAIT) && dump_view_conserved(&d, LC_VIEW_HOLDER));
	cr_assert_eq(d.nlocks, 1, "one futex word, %zu locks", d.nlocks);
	cr_assert_eq(d.locks[0].kind, LC_KIND_FUTEX);

	/* the word is named, its kind said */
	struct run_result s;
	harness_symbolize((const char *[]){dump, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	cr_assert(strstr(s.out, "on word (futex)"), "the word and its kind:\n%s", s.out);
	harness_result_free(&s);
	dump_free(&d);
	free(waiter);
	free(counts);
	free(holder);
	harness_result_free(&r);
}

Test(futex, drepper_mutex_waits_and_wakes)
{
	expect_rounds("mutex", 4);
}

Test(futex, pi_lock_waits_and_unlocks)
{
	expect_rounds("pi", 4);
}

Test(futex, eagain_is_no_wait)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("futexlock", (const char *[]){"eagain", "200", NULL}, "", 60, &r, dump);
	cr_assert_eq(harness_out_value(r.out, "eagain"), 200, "%s", r.out);
	struct dump d;
	load(dump, &d);
	cr_assert_eq(d.totals.contentions, 0, "%" PRIu64 " contentions for 200 EAGAIN returns",
	             d.totals.contentions);
	cr_assert_eq(d.totals.delay_ns, 0);
	uint64_t n, ns;
	kind_sum(&d, LC_VIEW_WAIT, LC_KIND_FUTEX, &n, &ns, NULL);
	cr_assert_eq(n, 0);
	dump_free(&d);
	harness_result_free(&r);
}

/* futexlock MODE 2 30 timed out twice: two futex waits, flagged, their
 * time the program's, counted in the totals and the lock's; the time
 * waited goes to *ns. */
static void expect_two_timeouts(const char *mode, char dump[PATH_MAX], uint64_t *ns)
{
	struct run_result r;
	harness_profile("futexlock", (const char *[]){mode, "2", "30", NULL}, "", 60, &r, dump);
	cr_assert_eq(harness_out_value(r.out, "timedout"), 2, "%s", r.out);
	struct dump d;
	load(dump, &d);
	uint64_t n;
	uint32_t flags;
	kind_sum(&d, LC_VIEW_WAIT, LC_KIND_FUTEX, &n, ns, &flags);
	cr_assert_eq(n, 2, "%s: two timed-out waits, %" PRIu64, mode, n);
	cr_assert(flags & LC_BUCKET_TIMEDOUT, "%s: flagged as timed out", mode);
	/* Within 10% of the program's own time in the loop, less what a
	 * preemption outside the waits took of it (once 10 ms of 60 at load 8:
	 * the kernel's run delay, not a guess, allows for it). */
	uint64_t own = harness_out_value(r.out, "timeout_ns"),
	         delayed = harness_out_value(r.out, "delayed_ns");
	cr_assert(*ns <= own + own / 10 && *ns + delayed + own / 10 >= own,
	          "%s: timed-out waits %" PRIu64 " ns, the program's %" PRIu64 " ns, %" PRIu64
	          " ns of them kept from a CPU",
	          mode, *ns, own, delayed);
	cr_assert_eq(d.totals.timeouts, 2);
	uint64_t lock_timeouts = 0;
	for (size_t i = 0; i < d.nlocks; i++)
		lock_timeouts += d.locks[i].timeouts;
	cr_assert_eq(lock_timeouts, 2);
	dump_free(&d);
	harness_result_free(&r);
}

Test(futex, timeout_counts_as_timeout)
{
	char dump[PATH_MAX];
	uint64_t ns;
	expect_two_timeouts("timeout", dump, &ns);
}

/* futex_waitv's waits, each on the word that woke it (--lock-frames: the
 * word's name is the root frame). */
Test(futex, waitv_waits_on_the_word_that_woke_it)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("futexlock", (const char *[]){"waitv", "4", "30", NULL}, "", 60, &r, dump);
	cr_assert_eq(harness_out_value(r.out, "rounds"), 4, "%s", r.out);
	/* the return values the program saw: each word woke it twice */
	cr_assert(harness_out_value(r.out, "woken0") == 2 && harness_out_value(r.out, "woken1") == 2,
	          "%s", r.out);
	char *waiter = harness_folded(dump, "waiter", (const char *[]){"--lock-frames", NULL});
	/* less at most what a preemption between the program's clock and the
	 * hook's took, which its run delay over the waits bounds */
	harness_assert_wait(harness_folded_sum(waiter, "waitv_blocked", NULL),
	                    harness_out_value(r.out, "measured_ns"),
	                    harness_out_value(r.out, "delayed_ns"), 0.05, "waitv_blocked");
	harness_assert_wait(harness_folded_sum(waiter, "vword0", NULL),
	                    harness_out_value(r.out, "measured0_ns"),
	                    harness_out_value(r.out, "delayed0_ns"), 0.05, "word 0's waits");
	harness_assert_wait(harness_folded_sum(waiter, "vword1", NULL),
	                    harness_out_value(r.out, "measured1_ns"),
	                    harness_out_value(r.out, "delayed1_ns"), 0.05, "word 1's waits");
	char *counts = harness_folded(dump, "waiter", (const char *[]){"--value=contentions", NULL});
	cr_assert_eq(harness_folded_sum(counts, "waitv_blocked", NULL), 4, "%s", counts);
	struct dump d;
	load(dump, &d);
	uint64_t n, ns;
	kind_sum(&d, LC_VIEW_WAIT, LC_KIND_FUTEX, &n, &ns, NULL);
	cr_assert_eq(n, 4, "four futex waits, %" PRIu64, n);
	cr_assert(dump_view_conserved(&d, LC_VIEW_WAIT) && dump_view_conserved(&d, LC_VIEW_HOLDER));
	dump_free(&d);
	free(waiter);
	free(counts);
	harness_result_free(&r);
}

Test(futex, waitv_timeout_counts_as_timeout)
{
	char dump[PATH_MAX];
	uint64_t ns;
	expect_two_timeouts("waitv_timeout", dump, &ns);
	char *waiter = harness_folded(dump, "waiter", (const char *[]){"--lock-frames", NULL});
	harness_assert_near(harness_folded_sum(waiter, "vword0", NULL), ns, 0.0, "on word 0");
	free(waiter);
}

/* The same lines, "name rc R errno E" and kin, with and without us. */
Test(futex, return_values_and_errno_are_the_kernels)
{
	const char *dir = harness_tmpdir();
	char env[PATH_MAX + 64];
	snprintf(env, sizeof env, "LOCKCONTEND=out=%s/rc.%%p.raw", dir);
	const char *argv[] = {harness_fixture("futexlock"), "retcodes", NULL};
	const char *envv[] = {env, NULL};
	struct run_result plain, ours;
	cr_assert_eq(harness_run(argv, envv, dir, false, 30, &plain), 0);
	cr_assert_eq(harness_run(argv, envv, dir, true, 30, &ours), 0);
	cr_assert_eq(plain.exit_code, 0, "%s", plain.err);
	cr_assert_eq(ours.exit_code, 0, "%s", ours.err);
	cr_assert(strstr(plain.out, "futex_bad_op rc -1 errno 38\n") &&
	              strstr(plain.out, "mmap_offset_1 rc -1 errno 22\n") &&
	              strstr(plain.out, "getpid same errno_kept 4321\n") &&
	              strstr(plain.out, "waitv_past_timeout rc -1 errno 110\n") &&
	              strstr(plain.out, "waitv_eagain rc -1 errno 11\n"),
	          "the fixture's own lines:\n%s", plain.out);
	cr_assert_str_eq(ours.out, plain.out);
	harness_result_free(&plain);
	harness_result_free(&ours);
}

/* glibc's mutexes make their futex calls inline: mutex waits, no futex. */
Test(futex, glibc_mutex_futexes_are_not_seen)
{
	const char *dir = harness_tmpdir();
	char env[PATH_MAX + 64];
	snprintf(env, sizeof env, "LOCKCONTEND=out=%s/kw.%%p.raw", dir);
	const char *argv[] = {harness_fixture("known_wait"), "6", "30", NULL};
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	struct dump d;
	harness_load_dump(dir, "kw.*.raw", &d);
	uint64_t n, ns;
	harness_sum_function(&d, harness_fixture("known_wait"), "waiter_blocked", &n, &ns);
	cr_assert_eq(n, 6, "mutex waits in waiter_blocked: %" PRIu64, n);
	for (int v = 0; v < LC_NVIEWS; v++) {
		kind_sum(&d, v, LC_KIND_FUTEX, &n, &ns, NULL);
		cr_assert_eq(n, 0, "%" PRIu64 " futex events in view %d", n, v);
	}
	kind_sum(&d, LC_VIEW_WAIT, LC_KIND_MUTEX, &n, &ns, NULL);
	cr_assert_eq(n, d.totals.contentions, "every wait is a mutex's");
	for (size_t i = 0; i < d.nlocks; i++)
		cr_assert_neq(d.locks[i].kind, LC_KIND_FUTEX);
	dump_free(&d);
	harness_result_free(&r);
}
