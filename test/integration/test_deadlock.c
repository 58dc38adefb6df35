/*
 * test_deadlock.c — "Waiting now": programs that hang on their locks
 * (test/fixtures/deadlock.c), seen live and after SIGKILL.
 *
 * A profile records a wait when it ends; a hung program's waits never end.
 * Each test starts a fixture that hangs for certain (a barrier makes every
 * thread hold its first lock before any asks for its second), reads its
 * live profile with the symbolizer until the hang shows (the threads may
 * take a while to block on a loaded machine: bounded by the watchdog),
 * kills it with SIGKILL and reads the file the dead writer left.  The
 * symbolizer must name the deadlock — the threads by tid and name, the
 * lock each waits for and the one it holds — and exit with status 3, or
 * for a wait behind a thread that is not waiting, flag it as stuck.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define SYMBOLIZE_DEADLOCK 3

struct hang {
	struct harness_child child;
	char dir[PATH_MAX];
	char dump[PATH_MAX];
	char pid[32];
};

/* Start `deadlock MODE` under the preload (cfg: more LOCKCONTEND keys) and
 * wait for it to be ready. */
static void hang_start(struct hang *h, const char *mode, const char *cfg)
{
	char env[PATH_MAX + 64];
	snprintf(h->dir, sizeof(h->dir), "%s", harness_tmpdir());
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/dl.%%p.raw%s%s", h->dir, cfg ? "," : "",
	         cfg ? cfg : "");
	const char *argv[] = {harness_fixture("deadlock"), mode, NULL};
	const char *envv[] = {env, NULL};
	harness_start(argv, envv, h->dir, true, 90, &h->child);
	if (!harness_wait_line(&h->child, "ready")) {
		struct run_result r;
		kill(h->child.pid, SIGKILL); /* a hung program is not left behind */
		harness_finish(&h->child, &r);
		cr_assert_fail("deadlock %s never got ready:\n%s%s", mode, r.out, r.err);
	}
	/* made at the first contention, which may come after "ready" */
	harness_await_one_file(h->dir, "dl.*.raw", h->dump, 60);
}

/* The text report of the dump (extra: one more option, may be NULL). */
static void report(const struct hang *h, const char *extra, struct run_result *r)
{
	const char *args[] = {extra ? extra : h->dump, extra ? h->dump : NULL, NULL};
	harness_symbolize(args, r);
}

/* Read the live profile until its report says `says` (10 ms apart, up to
 * 60 s: the threads block when the machine lets them). */
static void report_until(struct hang *h, const char *extra, const char *says,
                         struct run_result *r)
{
	for (int i = 0; i < 6000; i++) {
		report(h, extra, r);
		if (strstr(r->out, says))
			return;
		harness_result_free(r);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	report(h, extra, r);
	struct run_result end;
	kill(h->child.pid, SIGKILL); /* a hung program is not left behind */
	harness_finish(&h->child, &end);
	cr_assert_fail("the live report never said '%s':\n%s%s", says, r->out, r->err);
}

static void hang_kill(struct hang *h)
{
	struct run_result r;
	kill(h->child.pid, SIGKILL);
	harness_finish(&h->child, &r);
	cr_assert_eq(r.signal, SIGKILL, "the fixture ended otherwise: exit %d signal %d\n%s",
	             r.exit_code, r.signal, r.err);
	harness_result_free(&r);
}

static void expect_has(const char *text, const char *what)
{
	cr_expect(strstr(text, what) != NULL, "no '%s' in:\n%s", what, text);
}

/* The report names a cycle of n threads, each with its name, the lock it
 * waits for and its waiting stack, and exits 3. */
static void expect_deadlock(const struct run_result *r, const char *mode, int n)
{
	char line[128], name[32];
	cr_expect_eq(r->exit_code, SYMBOLIZE_DEADLOCK, "exit %d\n%s", r->exit_code, r->err);
	snprintf(line, sizeof(line), ": %d threads wait for each other", n);
	expect_has(r->out, "\nDEADLOCK in pid ");
	expect_has(r->out, line);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "\"dl-%s-%d\" has waited ", mode, i);
		expect_has(r->out, name);
		snprintf(name, sizeof(name), "\"dl-%s-%d\" holds ", mode, i);
		expect_has(r->out, name);
	}
	expect_has(r->out, "[DEADLOCK]");
}

static void deadlock_live_and_killed(const char *mode, int n, const char *waits_for,
                                     const char *stack)
{
	struct hang h;
	struct run_result r;
	hang_start(&h, mode, NULL);
	report_until(&h, NULL, "\nDEADLOCK in pid ", &r);
	expect_deadlock(&r, mode, n);
	expect_has(r.out, "Waiting in pid ");
	expect_has(r.out, " now: ");
	expect_has(r.out, waits_for);
	expect_has(r.out, stack);
	harness_result_free(&r);

	hang_kill(&h);
	report(&h, NULL, &r);
	expect_deadlock(&r, mode, n);
	expect_has(r.out, " when the writer died: ");
	expect_has(r.out, waits_for);
	expect_has(r.out, stack);
	harness_result_free(&r);
}

Test(deadlock, abba_two_threads_live_and_after_sigkill)
{
	deadlock_live_and_killed("abba2", 2, "for locks", "take_second_lock");
}

Test(deadlock, a_ring_of_three_threads)
{
	deadlock_live_and_killed("abba3", 3, "for locks", "ring_member");
}

Test(deadlock, a_rwlock_write_wait_in_the_cycle)
{
	deadlock_live_and_killed("rwlock", 2, "for table_lock (wrlock)", "write_table");
}

/* With rate=1000 the hanging waits are (almost surely) not sampled: no
 * stack, but the cycle is found all the same. */
Test(deadlock, waits_not_sampled_still_show)
{
	struct hang h;
	struct run_result r;
	hang_start(&h, "abba2", "rate=1000");
	report_until(&h, NULL, "\nDEADLOCK in pid ", &r);
	expect_deadlock(&r, "abba2", 2);
	harness_result_free(&r);
	hang_kill(&h);
}

/* Folded and pprof output name no deadlock, but the status and one line on
 * stderr still tell a CI job. */
Test(deadlock, every_format_exits_3)
{
	struct hang h;
	struct run_result r;
	hang_start(&h, "abba2", NULL);
	report_until(&h, NULL, "\nDEADLOCK in pid ", &r);
	harness_result_free(&r);
	report(&h, "--format=folded", &r);
	cr_expect_eq(r.exit_code, SYMBOLIZE_DEADLOCK, "exit %d\n%s", r.exit_code, r.err);
	expect_has(r.err, "1 deadlock: threads wait for each other");
	harness_result_free(&r);
	hang_kill(&h);
}

/* A lock held for ever by a thread that sleeps: no cycle, a stuck wait
 * whose owner waits for no lock.  Exit 0: stuck is not deadlocked. */
Test(deadlock, a_lock_held_by_a_sleeping_thread_is_stuck)
{
	struct hang h;
	struct run_result r;
	hang_start(&h, "sleep", NULL);
	report_until(&h, "--stuck=200ms", "[STUCK]", &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	cr_expect(!strstr(r.out, "DEADLOCK"), "%s", r.out);
	expect_has(r.out, "\"dl-sleep-1\" has waited ");
	expect_has(r.out, "is not waiting for any lock we saw (/proc: sleeping)");
	expect_has(r.out, "take_second_lock");
	harness_result_free(&r);

	hang_kill(&h);
	report(&h, NULL, &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	expect_has(r.out, "\"dl-sleep-1\" has waited since ");
	harness_result_free(&r);
}

/* A thread that renames itself after it has recorded contention: the
 * report shows the new name (pthread_setname_np is interposed). */
Test(deadlock, a_name_set_later_is_shown)
{
	struct hang h;
	struct run_result r;
	hang_start(&h, "rename", NULL);
	report_until(&h, NULL, "\"renamed-late\" has waited ", &r);
	expect_has(r.out, "for locks (mutex), behind thread ");
	harness_result_free(&r);
	hang_kill(&h);
}

/* waiting=0: nothing is written before a thread blocks, so a hung program
 * shows no wait (and no WAITING record is made). */
Test(deadlock, waiting_off_shows_nothing)
{
	struct hang h;
	struct run_result r;
	struct dump d;
	char err[256];
	hang_start(&h, "abba2", "waiting=0");
	struct timespec ts = {0, 300 * 1000 * 1000};
	nanosleep(&ts, NULL);
	hang_kill(&h);
	cr_assert_eq(dump_read_file(h.dump, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(d.nwaiting, 0, "%zu WAITING records with waiting=0", d.nwaiting);
	dump_free(&d);
	report(&h, NULL, &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	cr_expect(!strstr(r.out, "Waiting in pid"), "%s", r.out);
	harness_result_free(&r);
}

/* A snapshot (signal=USR2) taken while the threads hang is a complete copy
 * whose report names the deadlock, its waits measured to the snapshot. */
Test(deadlock, a_snapshot_names_the_deadlock)
{
	struct hang h;
	struct run_result r;
	char snap[PATH_MAX + 16];
	hang_start(&h, "abba2", "signal=USR2");
	report_until(&h, NULL, "\nDEADLOCK in pid ", &r);
	harness_result_free(&r);
	snprintf(snap, sizeof(snap), "%s.snap1", h.dump);
	kill(h.child.pid, SIGUSR2);
	cr_assert(harness_wait_file(snap, 30), "no snapshot %s", snap);
	/* the copy is renamed into place whole */
	const char *args[] = {snap, NULL};
	harness_symbolize(args, &r);
	expect_deadlock(&r, "abba2", 2);
	expect_has(r.out, "a snapshot taken while it ran");
	expect_has(r.out, " at the snapshot: 2 threads");
	harness_result_free(&r);
	hang_kill(&h);
}
