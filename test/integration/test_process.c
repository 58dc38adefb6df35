/*
 * test_process.c — exec, fork and signal handlers: every process image
 * writes a profile of its own, with its own waits and no other's
 * (test/fixtures/process.c).
 *
 * Each run's profiles are DIR/pr.<pid>.raw; exec keeps the pid, so the new
 * image's is pr.<pid>.raw.1.  The fixture measures its waits with
 * CLOCK_MONOTONIC and prints them; a function's contentions are read from
 * the file (harness_sum_function) and its delay from the symbolizer's
 * folded waiter view, within 10% of what was measured.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

/* Run `process ARGS...` under the preload, profiles in a fresh *dir; it
 * must end by itself with status 0. */
static void process_run(const char *const args[], int timeout_s, const char **dir,
                        struct run_result *r)
{
	static char env[PATH_MAX + 64];
	const char *argv[8] = {harness_fixture("process")};
	for (size_t i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	*dir = harness_tmpdir();
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/pr.%%p.raw", *dir);
	const char *envv[] = {env, NULL};
	cr_assert_eq(harness_run(argv, envv, *dir, true, timeout_s, r), 0);
	cr_assert(!r->timed_out, "process %s hung (killed after %d s):\n%s%s", args[0], timeout_s,
	          r->out, r->err);
	cr_assert_eq(r->exit_code, 0, "process %s: exit %d signal %d\n%s%s", args[0], r->exit_code,
	             r->signal, r->out, r->err);
}

static void load(const char *path, struct dump *d)
{
	char err[256];
	cr_assert_eq(dump_read_file(path, d, err, sizeof(err)), 0, "%s: %s", path, err);
}

/* Complete, in the LIVE state given, and every view adds up. */
static void assert_complete(const char *path, const struct dump *d, uint32_t state)
{
	cr_assert(d->complete, "%s: %s", path, d->warning);
	cr_assert_eq(d->live.state, state, "%s: LIVE state %u, want %u", path, d->live.state, state);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(d, (enum lc_view)v), "%s: view %d does not add up",
		          path, v);
}

static uint64_t contentions_in(const struct dump *d, const char *fn)
{
	uint64_t count, delay;
	if (d->nbuckets == 0)
		return 0; /* and the map may list no module: none was needed yet */
	harness_sum_function(d, harness_fixture("process"), fn, &count, &delay);
	return count;
}

/* fn has `rounds` contentions in the file, and the folded waiter view
 * charges it what was measured, within 10%, less at most the waiting
 * thread's run delay over those waits (`stem`_ns and `stem`_delayed_ns in
 * out): a preemption between its clock and the hook's is in its measure
 * only. */
static void assert_waits(const char *path, const struct dump *d, const char *fn, uint64_t rounds,
                         const char *out, const char *stem)
{
	char key[64];
	snprintf(key, sizeof(key), "%s_ns", stem);
	uint64_t measured = harness_out_value(out, key);
	snprintf(key, sizeof(key), "%s_delayed_ns", stem);
	uint64_t delayed = harness_out_value(out, key);
	uint64_t count = contentions_in(d, fn);
	cr_assert_eq(count, rounds, "%s: %" PRIu64 " contentions in %s, want %" PRIu64, path, count,
	             fn, rounds);
	char *folded = harness_folded(path, "waiter", NULL);
	harness_assert_wait(harness_folded_sum(folded, fn, NULL), measured, delayed, 0.10, fn);
	free(folded);
}

static size_t files_matching(const char *dir, const char *pattern)
{
	char pat[PATH_MAX];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/%s", dir, pattern);
	size_t n = glob(pat, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
	if (n)
		globfree(&g);
	return n;
}

/* ---- exec ------------------------------------------------------------------ */

/* exec() ends the profile first (LIVE state EXEC, complete); the new image,
 * same pid, writes the next free name, with only its own waits. */
static void assert_exec_splits(const char *how)
{
	const char *dir;
	struct run_result r;
	process_run((const char *[]){"exec", how, NULL}, 30, &dir, &r);
	char first[PATH_MAX], second[PATH_MAX + 8];
	harness_one_file(dir, "pr.*.raw", first);
	snprintf(second, sizeof(second), "%s.1", first);
	cr_assert_eq(files_matching(dir, "pr.*"), 2, "%s: want the profile before and after exec",
	             how);

	struct dump d1, d2;
	load(first, &d1);
	assert_complete(first, &d1, LC_LIVE_EXEC);
	assert_waits(first, &d1, "before_exec", 4, r.out, "before");
	cr_assert_eq(contentions_in(&d1, "after_exec"), 0, "%s: after_exec before the exec", how);
	load(second, &d2);
	assert_complete(second, &d2, LC_LIVE_EXITED);
	assert_waits(second, &d2, "after_exec", 4, r.out, "after");
	cr_assert_eq(contentions_in(&d2, "before_exec"), 0, "%s: the new image has the old waits",
	             how);
	cr_assert_eq(d1.meta.pid, d2.meta.pid);

	struct run_result s;
	harness_symbolize((const char *[]){first, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	const char *waiters = strstr(s.out, "\nWaiters");
	const char *said = strstr(s.out, "exec");
	cr_assert(said && (!waiters || said < waiters), "the header does not say exec:\n%s", s.out);
	harness_result_free(&s);
	dump_free(&d1);
	dump_free(&d2);
	harness_result_free(&r);
}

Test(exec, execve_ends_the_profile_and_the_new_image_has_its_own)
{
	assert_exec_splits("execve");
}

Test(exec, execl_ends_the_profile_and_the_new_image_has_its_own)
{
	assert_exec_splits("execl");
}

Test(exec, execvp_ends_the_profile_and_the_new_image_has_its_own)
{
	assert_exec_splits("execvp");
}

/* An exec that fails: the profile was ended before it (complete, LIVE exec,
 * the waits before it); the program runs on unprofiled and exits as it
 * would; no second profile. */
Test(exec, failed_exec_leaves_the_profile_complete_and_the_program_runs_on)
{
	const char *dir;
	struct run_result r;
	process_run((const char *[]){"exec_fails", NULL}, 30, &dir, &r);
	cr_assert(strstr(r.out, "exec -1 No such file or directory") != NULL, "%s", r.out);
	harness_out_value(r.out, "after_ns");
	char path[PATH_MAX];
	harness_one_file(dir, "pr.*", path);
	struct dump d;
	load(path, &d);
	assert_complete(path, &d, LC_LIVE_EXEC);
	assert_waits(path, &d, "before_exec", 4, r.out, "before");
	cr_assert_eq(contentions_in(&d, "after_failed_exec"), 0, "waits after the profile ended");
	dump_free(&d);
	harness_result_free(&r);
}

/* ---- fork ------------------------------------------------------------------ */

/* Forked while another thread holds one mutex and the forking thread
 * another: the child (which unlocks and then waits on the latter) and the
 * parent each have a complete profile with their own waits only. */
Test(fork, locks_held_at_fork_each_process_its_own_waits)
{
	const char *dir;
	struct run_result r;
	process_run((const char *[]){"fork_held", NULL}, 30, &dir, &r);
	char parent[PATH_MAX], child[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s/pr.%" PRIu64 ".raw", dir,
	         harness_out_value(r.out, "parent_pid"));
	snprintf(child, sizeof(child), "%s/pr.%" PRIu64 ".raw", dir,
	         harness_out_value(r.out, "child_pid"));
	cr_assert_eq(files_matching(dir, "pr.*"), 2);

	struct dump p, c;
	load(parent, &p);
	assert_complete(parent, &p, LC_LIVE_EXITED);
	assert_waits(parent, &p, "before_fork", 3, r.out, "before");
	assert_waits(parent, &p, "parent_work", 3, r.out, "parent");
	cr_assert_eq(contentions_in(&p, "child_work"), 0,
	             "the child's waits in the parent's profile");
	load(child, &c);
	assert_complete(child, &c, LC_LIVE_EXITED);
	assert_waits(child, &c, "child_work", 3, r.out, "child");
	cr_assert_eq(contentions_in(&c, "before_fork"), 0, "the child's profile starts with the "
	             "parent's waits");
	cr_assert_eq(contentions_in(&c, "parent_work"), 0, "the parent's waits in the child's");
	cr_assert_eq(c.totals.contentions, 3, "the child had 3 contentions, its profile %" PRIu64,
	             c.totals.contentions);
	dump_free(&p);
	dump_free(&c);
	harness_result_free(&r);
}

/* The symbolizer reads paths[0..n) as one profile; it must exit 0. */
static void assert_symbolizes(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i += 24) {
		const char *args[26];
		size_t k = 0;
		args[k++] = "--format=folded";
		for (size_t j = i; j < n && j < i + 24; j++)
			args[k++] = paths[j];
		args[k] = NULL;
		struct run_result s;
		harness_symbolize(args, &s);
		cr_assert_eq(s.exit_code, 0, "lockcontend-symbolize on %s...: exit %d\n%s", paths[i],
		             s.exit_code, s.err);
		harness_result_free(&s);
	}
}

/* Forks from four threads during contention, sometimes with a mutex held;
 * each child contends once on a lock of its own and ends by exit or _exit.
 * No hang (the fixture kills a child stuck for 5 s and fails; the harness
 * kills all after 60 s), no crash, and every profile reads, complete and
 * adding up: the parent's, and every child's, whether it ended by exit()
 * or _exit(); a child's stacks are its own (it starts empty). */
Test(fork, random_forks_during_contention_every_profile_reads)
{
	const char *dir;
	struct run_result r;
	process_run((const char *[]){"fork_storm", "4", "1500", NULL}, 60, &dir, &r);
	uint64_t forks = harness_out_value(r.out, "forks");
	uint64_t exits = harness_out_value(r.out, "exits");
	uint64_t quick = harness_out_value(r.out, "quick_exits");
	cr_assert(forks > 0 && exits + quick == forks, "%s", r.out);
	char pat[PATH_MAX];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/pr.*", dir);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0);
	cr_assert_eq(g.gl_pathc, forks + 1, "%zu profiles for %" PRIu64 " forks", g.gl_pathc, forks);

	uint64_t complete = 0, died = 0, parents = 0, children_with_wait = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		struct dump d;
		load(path, &d);
		cr_assert(d.end != DUMP_END_CUT, "%s: cut short: %s", path, d.warning);
		if (d.complete) {
			assert_complete(path, &d, LC_LIVE_EXITED);
			complete++;
		} else {
			cr_assert_eq(d.live.state, LC_LIVE_RUNNING, "%s", path);
			died++;
		}
		bool parent = contentions_in(&d, "storm_thread") > 0 &&
		              contentions_in(&d, "storm_fork") == 0;
		if (parent) {
			parents++;
			cr_assert(d.complete, "the parent's profile %s: %s", path, d.warning);
		} else {
			/* Every stack is the child's own wait; besides it, only
			 * lockcontend's own contention (two threads unwinding at
			 * once), in the sentinel. */
			uint64_t own = contentions_in(&d, "storm_child_work");
			uint64_t all, all_ns, lost, lost_ns;
			dump_sum(&d, LC_VIEW_WAIT, &all, &all_ns);
			dump_lost_sum(&d, LC_VIEW_WAIT, &lost, &lost_ns);
			uint64_t reent = d.lost[LC_VIEW_WAIT][LC_LOST_REENTRANT].count;
			cr_assert(own <= 1 && own == all - lost,
			          "child %s: %" PRIu64 " contentions on stacks, %" PRIu64
			          " of them its own", path, all - lost, own);
			cr_assert(lost == reent && d.totals.contentions <= 1 + reent,
			          "child %s: %" PRIu64 " contentions, %" PRIu64 " lost, %" PRIu64
			          " of them our own", path, (uint64_t)d.totals.contentions, lost, reent);
			children_with_wait += own;
		}
		dump_free(&d);
	}
	cr_assert_eq(parents, 1);
	/* _exit() ends a profile as exit() does */
	cr_assert_eq(complete, 1 + exits + quick,
	             "%" PRIu64 " complete profiles, %" PRIu64 " exit()s, %" PRIu64 " _exit()s",
	             complete, exits, quick);
	cr_assert_eq(died, 0);
	cr_assert(children_with_wait >= exits / 2, "only %" PRIu64 " of %" PRIu64 " children have "
	          "their wait", children_with_wait, forks);
	assert_symbolizes(g.gl_pathv, g.gl_pathc);
	globfree(&g);
	harness_result_free(&r);
}

/* A fork while another thread unwinds with a mutex held: the child must
 * be able to call dl_iterate_phdr (C++ exceptions and backtrace() do).
 * A few children in 300 hung before the fix: recorder.c's
 * locked_unwinders counts the threads unwinding with a mutex held; the
 * child inherited the count of a thread that does not exist there, and
 * recorder_phdr_enter waited for it to reach 0 forever.  The child's
 * atfork handler now starts both counts afresh. */
Test(fork, child_of_a_fork_during_a_locked_unwind_can_iterate_phdr)
{
	const char *dir;
	struct run_result r;
	process_run((const char *[]){"fork_phdr", "300", NULL}, 120, &dir, &r);
	cr_assert_eq(harness_out_value(r.out, "hung"), 0, "%s", r.out);
	harness_result_free(&r);
}

/* Regression: fork() from a SIGALRM handler while the thread waits in
 * pthread_mutex_timedlock; in the child the wait times out, and the child
 * then contends on that lock (made anew) for 50 ms.  The holder view must
 * charge hold_in_child() that wait: it charged nothing (or 1.8e19 ns) when
 * the timed-out wait departed from the child's reset lock table.  All of
 * it but the waiter's wake-up after the unlock, which the fixture measures
 * (child_woken_ns): on a loaded machine that was 5 ms of the 50, and a
 * bound of 10% of the wait failed at 0.899. */
Test(fork, fork_in_signal_handler_then_contention_in_the_child_is_charged_sanely)
{
	const char *dir;
	struct run_result r;
	process_run((const char *[]){"handler_fork", NULL}, 30, &dir, &r);
	uint64_t waited = harness_out_value(r.out, "child_wait_ns");
	char child[PATH_MAX];
	snprintf(child, sizeof(child), "%s/pr.%" PRIu64 ".raw", dir,
	         harness_out_value(r.out, "child_pid"));

	struct dump d;
	load(child, &d);
	assert_complete(child, &d, LC_LIVE_EXITED);
	assert_waits(child, &d, "wait_in_child", 1, r.out, "child_wait");
	cr_assert_leq(d.totals.caused_ns, d.totals.delay_ns, "caused %" PRIu64 " ns of %" PRIu64
	              " ns waited", (uint64_t)d.totals.caused_ns, (uint64_t)d.totals.delay_ns);
	cr_assert_eq(d.totals.caused_ns + d.totals.uncharged_ns, d.totals.delay_ns);
	dump_free(&d);
	uint64_t woken = harness_out_value(r.out, "child_woken_ns");
	char *holder = harness_folded(child, "holder", NULL);
	uint64_t charged = harness_folded_sum(holder, "hold_in_child", NULL);
	cr_assert(woken < waited, "woken %" PRIu64 " ns of %" PRIu64 " waited", woken, waited);
	/* less at most what a preemption of the waiter between its clock and
	 * the hook's took: in waited, in no charge */
	harness_assert_wait(charged, waited - woken, harness_out_value(r.out, "child_wait_delayed_ns"),
	                    0.10, "hold_in_child (holder view)");
	free(holder);
	harness_result_free(&r);
}

/* ---- a signal handler that takes a mutex ------------------------------------- */

/* The handler's waits during the thread's own (sampled) wait cannot be
 * given a stack: they are in the sentinel.  No deadlock, and everything
 * adds up. */
Test(signal, handler_taking_a_mutex_during_a_wait)
{
	const char *dir;
	struct run_result r;
	process_run((const char *[]){"handler_lock", NULL}, 30, &dir, &r);
	uint64_t in_wait = harness_out_value(r.out, "handler_waits_in_wait");
	uint64_t in_wait_ns = harness_out_value(r.out, "handler_ns_in_wait");
	cr_assert(in_wait > 0, "no handler waited during the outer wait:\n%s", r.out);
	char path[PATH_MAX];
	harness_one_file(dir, "pr.*.raw", path);
	struct dump d;
	load(path, &d);
	assert_complete(path, &d, LC_LIVE_EXITED);
	assert_waits(path, &d, "wait_with_signals", 3, r.out, "outer");
	/* in_wait counts the handler's waits well inside the outer one; one
	 * in ten may have come just after that wait returned (and have a
	 * stack). */
	struct lc_lost_entry *nostack = &d.lost[LC_VIEW_WAIT][LC_LOST_NO_STACK];
	struct lc_lost_entry *reent = &d.lost[LC_VIEW_WAIT][LC_LOST_REENTRANT];
	uint64_t lost = nostack->count + reent->count;
	uint64_t lost_ns = nostack->delay_ns + reent->delay_ns;
	cr_assert_geq(lost * 10, in_wait * 9, "%" PRIu64 " handler waits in the sentinel, %" PRIu64
	              " measured during the outer wait", lost, in_wait);
	cr_assert_geq(lost_ns * 10, in_wait_ns * 9, "%" PRIu64 " ns in the sentinel, %" PRIu64
	              " ns measured", lost_ns, in_wait_ns);
	dump_free(&d);
	harness_result_free(&r);
}
