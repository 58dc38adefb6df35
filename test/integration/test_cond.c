/*
 * test_cond.c — condition waits (kind cond, LOCKCONTEND=cond=1) against
 * programs that know the truth: fixtures/cond.c, and CPython
 * (fixtures/python/gil.py under Debian's /usr/bin/python3).
 *
 * A waiter that waits for a signal made D ms after it waits: the waiter
 * view of --kind=cond is within 5% of the program's own time in
 * pthread_cond_wait, the holder view charges the signalling function
 * (send_signal), the default report shows no condition wait (and says how
 * many it left out), and without cond=1 nothing is recorded of them.
 * pthread_cond_timedwait and pthread_cond_clockwait that time out are
 * timeouts; a thread cancelled in pthread_cond_wait leaves a profile whose
 * views add up and a program that prints what it prints alone; every
 * return code and errno is glibc's.
 *
 * CPython: four CPU-bound threads' waits for the GIL are named "the GIL
 * (CPython)" and match what the threads' own clocks say they were not
 * running; a threading.Lock (a semaphore in CPython 3.11) contended in
 * Python code is kind sem, its wait within 10% of the Python-level one.
 * The GIL's bound is the programs' own measurements, never the wall clock
 * of the test: see python_gil_waits_are_named_and_measured.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

#define PYTHON "/usr/bin/python3" /* Debian's: its debug symbols are installed (make deps) */

static char *kind_view(const char *dump, const char *view, const char *kind)
{
	char opt[64];
	snprintf(opt, sizeof(opt), "--kind=%s", kind);
	return harness_folded(dump, view, (const char *[]){opt, NULL});
}

static uint64_t sum_of(const char *folded, const char *frame)
{
	return harness_folded_sum(folded, frame, NULL);
}

/* The fixture in `mode` without the preload: what it prints by itself. */
static char *plain_output(const char *const args[])
{
	struct run_result r;
	const char *argv[8] = {harness_fixture("cond")};
	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	cr_assert_eq(harness_run(argv, NULL, NULL, false, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "cond %s without the preload: %s", args[0], r.err);
	char *out = strdup(r.out);
	harness_result_free(&r);
	return out;
}

static void load(const char *dump, struct dump *d)
{
	char err[256];
	cr_assert_eq(dump_read_file(dump, d, err, sizeof(err)), 0, "%s", err);
}

/* Every view adds up, and every condition variable's holder charges and
 * uncharged waiting add up to its waits: a wait that left its cell behind
 * would be charged again. */
static void expect_conds_add_up(const struct dump *d)
{
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(d, (enum lc_view)v), "view %d does not add up", v);
	for (size_t i = 0; i < d->nlocks; i++) {
		const struct dump_lock *l = &d->locks[i];
		uint64_t waited = 0, caused = 0;
		for (size_t k = 0; l->kind == LC_KIND_COND && k < d->nbuckets; k++) {
			const struct dump_bucket *b = &d->buckets[k];
			if (b->lock == l->addr && b->view == LC_VIEW_WAIT)
				waited += b->delay_ns;
			else if (b->lock == l->addr && b->view == LC_VIEW_HOLDER)
				caused += b->delay_ns;
		}
		cr_assert(l->kind != LC_KIND_COND || caused + l->uncharged_ns == waited,
		          "cond %#" PRIx64 ": %" PRIu64 " charged + %" PRIu64 " uncharged, %" PRIu64
		          " waited",
		          l->addr, caused, l->uncharged_ns, waited);
	}
}

/* ---- a waiter and its signaller -------------------------------------------------------- */

Test(cond, a_signalled_wait_is_measured_and_charged_to_the_signaller)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("cond", (const char *[]){"signal", "10", "30", NULL}, "cond=1", 60, &r, dump);
	uint64_t waited = harness_out_value(r.out, "waited_ns");

	char *w = kind_view(dump, "waiter", "cond");
	/* less at most what a preemption between the waiter's clock and the
	 * hook's took, which its run delay over the waits bounds */
	harness_assert_wait(sum_of(w, "wait_for_signal"), waited, harness_out_value(r.out, "delayed_ns"),
	                    0.05, "--kind=cond, wait_for_signal");
	cr_assert_eq(sum_of(w, NULL), sum_of(w, "wait_for_signal"), "other waits:\n%s", w);
	/* Signal and broadcast alike are charged with the wait up to them; the
	 * rest is the waiter's wake-up, which the program measures (woken_ns,
	 * from just before the call): the part left uncharged lies inside it.
	 * Not a share of the wait: at load 8 on 2 cores wake-ups took 9 ms of
	 * each 43 ms wait: 78% was charged, not the 90% asked.  5%: the
	 * waiter view's margin. */
	char *h = kind_view(dump, "holder", "cond");
	uint64_t sent = sum_of(h, "send_signal"), woken = harness_out_value(r.out, "woken_ns");
	cr_assert(sent + woken + waited / 20 >= waited && sent <= waited,
	          "send_signal charged %" PRIu64 " of %" PRIu64 " (%" PRIu64 " after the signals):\n%s",
	          sent, waited, woken, h);
	cr_assert_eq(sum_of(h, NULL), sent + sum_of(h, "_NotChargedToHolder"), "%s", h);

	/* The default leaves condition waits out, and says so. */
	char *def = harness_folded(dump, "waiter", NULL);
	cr_assert_eq(sum_of(def, "wait_for_signal"), 0, "a condition wait by default:\n%s", def);
	struct run_result s;
	harness_symbolize((const char *[]){dump, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	cr_assert(!strstr(s.out, "(cond)") && strstr(s.out, "condition waits (kind cond) are left out"),
	          "the default report:\n%s", s.out);
	harness_result_free(&s);
	harness_symbolize((const char *[]){"--kind=cond", dump, NULL}, &s);
	cr_assert(strstr(s.out, "on event (cond) in "), "--kind=cond:\n%s", s.out);
	harness_result_free(&s);

	struct dump d;
	load(dump, &d);
	expect_conds_add_up(&d);
	dump_free(&d);
	free(w);
	free(h);
	free(def);
	harness_result_free(&r);
}

/* cond=0, the default: a condition wait is no event at all.  The fixture's
 * mutex may be contended now and then (the signaller looks whether the
 * waiter waits under it): a profile, if one was made, holds those and no
 * condition wait. */
Test(cond, without_cond_1_nothing_is_recorded)
{
	const char *dir = harness_tmpdir();
	char env[PATH_MAX + 64], dump[PATH_MAX];
	struct run_result r;
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/cond.%%p.raw", dir);
	const char *argv[] = {harness_fixture("cond"), "signal", "3", "10", NULL};
	cr_assert_eq(harness_run(argv, (const char *[]){env, NULL}, NULL, true, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(harness_out_value(r.out, "waits"), 3);
	if (harness_count_files(dir, "cond.*.raw") == 0) {
		harness_result_free(&r);
		return;
	}
	harness_one_file(dir, "cond.*.raw", dump);
	struct dump d;
	load(dump, &d);
	for (size_t i = 0; i < d.nbuckets; i++)
		cr_assert_neq(d.buckets[i].kind, LC_KIND_COND, "a condition wait without cond=1");
	for (size_t i = 0; i < d.nlocks; i++)
		cr_assert_neq(d.locks[i].kind, LC_KIND_COND, "a condition variable without cond=1");
	dump_free(&d);
	harness_result_free(&r);
}

/* ---- giving up ------------------------------------------------------------------------- */

Test(cond, timed_and_clock_waits_that_time_out_are_timeouts)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("cond", (const char *[]){"timeout", "200", NULL}, "cond=1", 60, &r, dump);
	cr_assert(strstr(r.out, "timedwait Connection timed out\nclockwait Connection timed out\n"),
	          "%s", r.out);
	struct dump d;
	load(dump, &d);
	uint64_t timedout = harness_gave_up(&d, LC_KIND_COND);
	cr_assert_eq(timedout, 2, "two timed-out cond waits, %" PRIu64 " in buckets", timedout);
	cr_assert(d.nlocks == 1 && d.locks[0].timeouts == 2 && d.locks[0].kind == LC_KIND_COND);
	expect_conds_add_up(&d);
	dump_free(&d);
	char *w = kind_view(dump, "waiter", "cond");
	/* Each waited its 50 ms, less what a preemption before the wait took
	 * of them (the deadline is read first): once 14 ms at load 8, so the
	 * kernel's count of the thread's time kept from a CPU is added. */
	uint64_t timed = harness_out_value(r.out, "timedwait_delayed_ns"),
	         clocked = harness_out_value(r.out, "clockwait_delayed_ns");
	cr_assert(sum_of(w, "wait_timed") + timed >= 45000000 &&
	              sum_of(w, "wait_clocked") + clocked >= 45000000,
	          "each waited its 50 ms (%" PRIu64 " and %" PRIu64 " ns kept from a CPU):\n%s",
	          timed, clocked, w);
	free(w);
	harness_result_free(&r);
}

/* pthread_cancel in pthread_cond_wait: the program prints what it prints
 * alone, the wait gave up once, and the next round is measured right. */
Test(cond, a_cancelled_wait_leaves_nothing_behind)
{
	const char *args[] = {"cancel", NULL};
	char *plain = plain_output(args);
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("cond", args, "cond=1", 60, &r, dump);
	cr_assert(strstr(r.out, "cancelled yes\n") && strstr(plain, "cancelled yes\n"),
	          "with the preload:\n%s\nwithout:\n%s", r.out, plain);
	struct dump d;
	load(dump, &d);
	uint64_t timedout = harness_gave_up(&d, LC_KIND_COND);
	cr_assert_eq(timedout, 1, "the cancelled wait gave up once: %" PRIu64, timedout);
	expect_conds_add_up(&d);
	dump_free(&d);
	char *w = kind_view(dump, "waiter", "cond");
	/* 10% of 160 ms, less at most what a preemption between the
	 * program's clock and the hook's took (its run delay over the waits
	 * bounds it); a cell left behind would show in the sums above */
	harness_assert_wait(sum_of(w, "wait_for_signal"), harness_out_value(r.out, "after_waited_ns"),
	                    harness_out_value(r.out, "after_delayed_ns"), 0.10,
	                    "the round after the cancel");
	free(w);
	free(plain);
	harness_result_free(&r);
}

/* Return codes and errno, call by call, as glibc's. */
Test(cond, return_codes_and_errno_are_glibcs)
{
	const char *args[] = {"retcodes", NULL};
	char *plain = plain_output(args);
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("cond", args, "cond=1", 60, &r, dump);
	cr_assert_str_eq(r.out, plain, "with the preload:\n%s\nwithout:\n%s", r.out, plain);
	cr_assert(strstr(plain, "timedwait, bad timeout rc 22 ") &&
	              strstr(plain, "timedwait, mutex not held rc 1 ") &&
	              strstr(plain, "timedwait, 5 ms rc 110 "),
	          "the premise (EINVAL, EPERM, ETIMEDOUT):\n%s", plain);
	free(plain);
	harness_result_free(&r);
}

/* ---- CPython ----------------------------------------------------------------------------- */

/* gil.py under the preload with LOCKCONTEND=cfg; its one dump. */
static void profile_python(const char *const args[], const char *cfg, struct run_result *r,
                           char dump[PATH_MAX])
{
	const char *dir = harness_tmpdir();
	char env[PATH_MAX + 64], pat[PATH_MAX];
	const char *argv[8] = {PYTHON, "test/fixtures/python/gil.py"};
	for (int i = 0; args[i] && i < 5; i++)
		argv[i + 2] = args[i];
	snprintf(env, sizeof(env), "LOCKCONTEND=%s%sout=%s/py.%%p.raw", cfg, *cfg ? "," : "", dir);
	cr_assert_eq(harness_run(argv, (const char *[]){env, NULL}, NULL, true, 120, r), 0);
	cr_assert(!r->timed_out && r->exit_code == 0, "gil.py %s: exit %d\n%s%s", args[0],
	          r->exit_code, r->out, r->err);
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/py.*.raw", dir);
	cr_assert(glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1, "no one dump %s", pat);
	snprintf(dump, PATH_MAX, "%s", g.gl_pathv[0]);
	globfree(&g);
}

/* Four threads that only compute: at any time one holds the GIL and three
 * wait for it.  Each thread measures its wall time less its CPU time: the
 * time it was not running.  That is its GIL wait, but on a busy machine
 * also the time it was runnable and waited for a CPU — while it held the
 * GIL, or after it was woken to take it (which is inside the condition
 * wait, and the GIL's).  The kernel counts the second for each thread
 * (/proc/thread-self/schedstat's run delay), so the GIL's recorded wait
 * lies between offcpu - rundelay and offcpu; on an idle machine the run
 * delay is next to nothing and the two meet.  10% either side of that
 * interval, for what the threads do besides (their first take of the GIL
 * after the barrier, which is outside their measure, the interval between
 * a timed-out wait and the next). */
Test(cond, python_gil_waits_are_named_and_measured, .timeout = 300)
{
	char dump[PATH_MAX];
	struct run_result r;
	profile_python((const char *[]){"spin", "4", "400", NULL}, "cond=1", &r, dump);
	uint64_t offcpu = harness_out_value(r.out, "offcpu_ns");
	uint64_t rundelay = harness_out_value(r.out, "rundelay_ns");
	char *w = harness_folded(dump, "waiter", (const char *[]){"--kind=cond", "--lock-frames", NULL});
	uint64_t gil = sum_of(w, "the GIL (CPython)");
	uint64_t low = rundelay < offcpu ? offcpu - rundelay : 0;
	cr_assert(gil >= low * 9 / 10 && gil <= offcpu + offcpu / 10,
	          "the GIL's wait %" PRIu64 " ns, the threads off CPU %" PRIu64
	          " ns of which %" PRIu64 " runnable:\n%s",
	          gil, offcpu, rundelay, r.out);
	/* most of the waiting: three threads of four at any time */
	cr_assert(gil > sum_of(w, NULL) * 9 / 10, "%s", w);

	struct run_result s;
	harness_symbolize((const char *[]){"--kind=cond", dump, NULL}, &s);
	cr_assert(strstr(s.out, "on the GIL (CPython) (cond) in "), "%s", s.out);
	harness_result_free(&s);
	harness_symbolize((const char *[]){dump, NULL}, &s);
	cr_assert(!strstr(s.out, "the GIL (CPython)"), "the GIL in the default report:\n%s", s.out);
	harness_result_free(&s);
	free(w);
	harness_result_free(&r);
}

/* threading.Lock is a semaphore in CPython 3.11 (sem_wait under
 * PyThread_acquire_lock_timed): kind sem, with or without cond=1.  The
 * Python-level wait adds the GIL's retake after the semaphore, which the
 * holder, asleep, does not hold: within 10%.  Python's own handshakes
 * (Thread.start, join) wait on other locks, and the GIL's mutex is a
 * pthread mutex: the lock is the semaphore with the most waiting, ten
 * waits. */
Test(cond, a_python_lock_is_a_semaphore)
{
	char dump[PATH_MAX];
	struct run_result r;
	profile_python((const char *[]){"lock", "10", "50", NULL}, "", &r, dump);
	struct dump d;
	load(dump, &d);
	uint64_t best = 0, best_count = 0;
	for (size_t i = 0; i < d.nlocks; i++) {
		uint64_t delay = 0, count = 0;
		for (size_t k = 0; k < d.nbuckets; k++) {
			const struct dump_bucket *b = &d.buckets[k];
			if (b->lock == d.locks[i].addr && b->view == LC_VIEW_WAIT &&
			    b->kind == LC_KIND_SEM) {
				delay += b->delay_ns;
				count += b->count;
			}
		}
		if (delay > best) {
			best = delay;
			best_count = count;
		}
	}
	cr_assert_eq(best_count, 10, "the lock waited for %" PRIu64 " times", best_count);
	/* less at most what a preemption between the worker's clock and the
	 * hook's took, which its run delay over the waits bounds */
	harness_assert_wait(best, harness_out_value(r.out, "lock_waited_ns"),
	                    harness_out_value(r.out, "lock_delayed_ns"), 0.10, "threading.Lock's wait");
	dump_free(&d);
	harness_result_free(&r);
}
