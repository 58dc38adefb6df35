/*
 * test_top.c — lockcontend-top (`lockcontend top PID|PROFILE`) on running
 * programs, seen with --once as a script sees it.
 *
 * test/fixtures/phases.c contends only in its second phase, on the test's
 * SIGUSR1: read in phase 1 the screen shows no wait at all; in phase 2,
 * table_lock with wait in the interval; in phase 3, table_lock again with
 * its total but nothing in the interval.  The fixture says when every
 * worker has entered a phase, so phases 1 and 3 are exact, and phase 2
 * only needs some contention within an interval (read until there is,
 * bounded).  The deadlock fixtures (test/fixtures/deadlock.c: two threads,
 * a ring of three, a rwlock write wait) give the banner (exit 3), live and
 * after SIGKILL, and one a stuck wait; a PID is
 * found through the wrapper from its maps; the view without --once ends by
 * itself when its writer dies, and at SIGINT with status 0; bad input is
 * one line and status 1, never a hang.  Nothing here depends on timing
 * but for the watchdog's bounds.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TOP_DEADLOCK 3

/* build/lockcontend-top or $LOCKCONTEND_TEST_TOP (an ASan build). */
static const char *top_path(void)
{
	static char path[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_TOP");
	const char *want = over && *over ? over : "build/lockcontend-top";
	cr_assert(realpath(want, path) != NULL, "%s: %s (run make all)", want, strerror(errno));
	return path;
}

/* scripts/lockcontend, or $LOCKCONTEND_TEST_WRAPPER. */
static const char *wrapper_path(void)
{
	static char path[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_WRAPPER");
	const char *want = over && *over ? over : "scripts/lockcontend";
	cr_assert(realpath(want, path) != NULL, "%s: %s", want, strerror(errno));
	return path;
}

/* Run argv (NULL-terminated, argv[0] a path); it must end by itself. */
static void run(const char *const argv[], struct run_result *r)
{
	cr_assert_eq(harness_run(argv, NULL, NULL, false, 60, r), 0);
	cr_assert(!r->timed_out, "%s hung", argv[0]);
	cr_assert_eq(r->signal, 0, "%s died of signal %d; stderr: %s", argv[0], r->signal, r->err);
}

/* `lockcontend-top --once --interval=300ms [extra] target`. */
static void top_once(const char *target, const char *extra, struct run_result *r)
{
	const char *argv[] = {top_path(), "--once", "--interval=300ms", extra ? extra : target,
	                      extra ? target : NULL, NULL};
	run(argv, r);
}

static void expect_has(const char *text, const char *what)
{
	cr_expect(strstr(text, what) != NULL, "no '%s' in:\n%s", what, text);
}

/* A running fixture and its profile. */
struct live {
	struct harness_child child;
	char dir[PATH_MAX];
	char dump[PATH_MAX];
	char pattern[64];
};

/* The live fixture's profile: made at its first contention. */
static void live_dump(struct live *l)
{
	harness_await_one_file(l->dir, l->pattern, l->dump, 60);
}

/* Start fixture `name` with arg under the preload; wait for `line`. */
static void live_start(struct live *l, const char *name, const char *arg, const char *line)
{
	char env[PATH_MAX + 64];
	snprintf(l->dir, sizeof(l->dir), "%s", harness_tmpdir());
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/%s.%%p.raw", l->dir, name);
	const char *argv[] = {harness_fixture(name), arg, NULL};
	const char *envv[] = {env, NULL};
	harness_start(argv, envv, l->dir, true, 120, &l->child);
	cr_assert(harness_wait_line(&l->child, line), "%s %s never said '%s'", name, arg, line);
	snprintf(l->pattern, sizeof(l->pattern), "%s.*.raw", name);
	l->dump[0] = '\0';
	if (strcmp(name, "phases") != 0) /* its phase 1 contends on nothing */
		live_dump(l);
}

static void live_kill(struct live *l)
{
	struct run_result r;
	kill(l->child.pid, SIGKILL);
	harness_finish(&l->child, &r);
	cr_assert_eq(r.signal, SIGKILL, "the fixture ended otherwise: exit %d\n%s", r.exit_code,
	             r.err);
	harness_result_free(&r);
}

/* ---- reading a row of the lock table ------------------------------------------ */

/* "812.40 ms" (or "ms/s") at *s in ns; *s moves past it. */
static double duration_at(const char **s)
{
	double v;
	char unit[8];
	int n = 0;
	cr_assert_eq(sscanf(*s, " %lf %7s%n", &v, unit, &n), 2, "no duration at '%s'", *s);
	*s += n;
	double scale = !strncmp(unit, "ns", 2)   ? 1
	               : !strncmp(unit, "us", 2) ? 1e3
	               : !strncmp(unit, "ms", 2) ? 1e6
	                                         : 1e9;
	return v * scale;
}

struct row {
	double wait_ns, wait_per_s, conts_per_s, total_ns, contentions;
};

/* The row of lock `name` in screen `out` (it must have an interval). */
static bool row_of(const char *out, const char *name, struct row *r)
{
	char tail[128];
	snprintf(tail, sizeof(tail), "  %s\n", name);
	const char *end = strstr(out, tail);
	if (!end)
		return false;
	const char *s = end;
	while (s > out && s[-1] != '\n')
		s--;
	int n = 0;
	r->wait_ns = duration_at(&s);
	r->wait_per_s = duration_at(&s);
	cr_assert_eq(sscanf(s, " %lf%n", &r->conts_per_s, &n), 1, "no contentions/s in '%s'", s);
	s += n;
	r->total_ns = duration_at(&s);
	cr_assert_eq(sscanf(s, " %lf", &r->contentions), 1, "no contentions in '%s'", s);
	return true;
}

/* ---- phases ------------------------------------------------------------------- */

/* Phase 2: read until table_lock waited in an interval (the workers
 * contend as soon as the machine runs two of them at once). */
static void expect_phase_two(const struct live *l)
{
	struct run_result r;
	struct row row = {0};
	for (int i = 0; i < 100; i++) {
		top_once(l->dump, NULL, &r);
		cr_assert_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
		bool seen = row_of(r.out, "table_lock", &row) && row.wait_ns > 0;
		if (seen) {
			cr_expect_gt(row.conts_per_s, 0, "%s", r.out);
			cr_expect_gt(row.wait_per_s, 0, "%s", r.out);
			cr_expect_geq(row.total_ns, row.wait_ns, "%s", r.out);
			expect_has(r.out, "Locks by wait in the last ");
			expect_has(r.out, "  mutex   table_lock\n");
			harness_result_free(&r);
			return;
		}
		harness_result_free(&r);
	}
	cr_assert_fail("table_lock never waited in an interval of phase 2");
}

Test(top, a_program_with_phases_shows_each_phase)
{
	struct live l;
	struct run_result r;
	struct row row;
	char pid[32], want[128];
	live_start(&l, "phases", "4", "phase 1");
	/* Phase 1 contends on nothing: no file yet, and that is no error. */
	snprintf(pid, sizeof(pid), "%d", (int)l.child.pid);
	top_once(pid, NULL, &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	snprintf(want, sizeof(want), "process %s: no contention recorded yet", pid);
	expect_has(r.out, want);
	cr_expect_str_empty(r.err);
	cr_expect_eq(harness_count_files(l.dir, l.pattern), 0, "a file before any contention");
	harness_result_free(&r);

	kill(l.child.pid, SIGUSR1);
	cr_assert(harness_wait_line(&l.child, "phase 2"));
	live_dump(&l);
	expect_phase_two(&l);

	kill(l.child.pid, SIGUSR1);
	cr_assert(harness_wait_line(&l.child, "phase 3"));
	top_once(l.dump, NULL, &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	cr_assert(row_of(r.out, "table_lock", &row), "no table_lock row:\n%s", r.out);
	cr_expect_eq(row.wait_ns, 0, "phase 3 waited:\n%s", r.out);
	cr_expect_eq(row.conts_per_s, 0, "phase 3 contended:\n%s", r.out);
	cr_expect_gt(row.total_ns, 0, "phase 2's wait is gone:\n%s", r.out);
	cr_expect_gt(row.contentions, 0, "%s", r.out);
	harness_result_free(&r);
	live_kill(&l);
}

/* Killed in phase 2: the file is read at once, totals only; exit 0. */
Test(top, a_profile_whose_writer_died_shows_its_totals)
{
	struct live l;
	struct run_result r;
	live_start(&l, "phases", "4", "phase 1");
	kill(l.child.pid, SIGUSR1);
	cr_assert(harness_wait_line(&l.child, "phase 2"));
	live_dump(&l);
	expect_phase_two(&l);
	live_kill(&l);
	top_once(l.dump, NULL, &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	expect_has(r.out, ": died without a clean exit (killed, or crashed)\n");
	expect_has(r.out, "  not running: its totals only\n");
	expect_has(r.out, "Locks by wait in all (no interval yet)\n");
	expect_has(r.out, "           -             -             -  ");
	expect_has(r.out, "  mutex   table_lock\n");
	cr_expect(!strstr(r.out, " in the last "), "an interval of a dead writer:\n%s", r.out);
	harness_result_free(&r);
}

/* A program that exited: its complete profile, totals only. */
Test(top, a_complete_profile_shows_its_totals)
{
	struct run_result r, t;
	char dump[PATH_MAX];
	const char *args[] = {"3", "20", NULL};
	harness_profile("known_wait", args, "", 60, &r, dump);
	top_once(dump, NULL, &t);
	cr_expect_eq(t.exit_code, 0, "exit %d\n%s", t.exit_code, t.err);
	expect_has(t.out, ": exited after ");
	expect_has(t.out, "  not running: its totals only\n");
	expect_has(t.out, "Waiting now: no thread waits for a lock\n");
	harness_result_free(&t);
	harness_result_free(&r);
}

/* ---- deadlocks and stuck waits -------------------------------------------------- */

/* Read until the screen says `says` (the threads block when the machine
 * lets them). */
static void top_until(const struct live *l, const char *extra, const char *says,
                      struct run_result *r)
{
	for (int i = 0; i < 200; i++) {
		top_once(l->dump, extra, r);
		if (strstr(r->out, says))
			return;
		harness_result_free(r);
	}
	top_once(l->dump, extra, r);
	cr_assert_fail("the screen never said '%s':\n%s%s", says, r->out, r->err);
}

/* The banner, and the n threads of `deadlock mode` each with its wait and
 * its stack, which has `frame`; exit 3. */
static void expect_deadlock(const struct run_result *r, const char *mode, int n,
                            const char *frame)
{
	char what[128];
	cr_expect_eq(r->exit_code, TOP_DEADLOCK, "exit %d\n%s", r->exit_code, r->err);
	expect_has(r->out, "\n*** DEADLOCK: threads wait for each other (Waiting now, below) ***\n");
	snprintf(what, sizeof(what), ": %d threads wait for each other\n", n);
	expect_has(r->out, what);
	for (int i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "\"dl-%s-%d\" has waited ", mode, i);
		expect_has(r->out, what);
	}
	snprintf(what, sizeof(what), "  [DEADLOCK]\n      at %s (deadlock.c:", frame);
	expect_has(r->out, what);
}

static void deadlock_live_and_killed(const char *mode, int n, const char *frame)
{
	struct live l;
	struct run_result r;
	char threads[64];
	live_start(&l, "deadlock", mode, "ready");
	top_until(&l, NULL, "*** DEADLOCK", &r);
	expect_deadlock(&r, mode, n, frame);
	expect_has(r.out, ": live, ");
	snprintf(threads, sizeof(threads), " now: %d threads\n", n);
	expect_has(r.out, threads);
	harness_result_free(&r);
	live_kill(&l);
	top_once(l.dump, NULL, &r);
	expect_deadlock(&r, mode, n, frame);
	expect_has(r.out, ": died without a clean exit (killed, or crashed)\n");
	snprintf(threads, sizeof(threads), " when the writer died: %d threads\n", n);
	expect_has(r.out, threads);
	harness_result_free(&r);
}

Test(top, a_deadlock_shows_its_banner_live_and_after_sigkill)
{
	deadlock_live_and_killed("abba2", 2, "take_second_lock");
}

Test(top, a_ring_of_three_threads)
{
	deadlock_live_and_killed("abba3", 3, "take_second_lock");
}

Test(top, a_rwlock_write_wait_in_the_cycle)
{
	deadlock_live_and_killed("rwlock", 2, "write_table");
}

Test(top, a_stuck_wait_is_flagged_with_its_owner)
{
	struct live l;
	struct run_result r;
	live_start(&l, "deadlock", "sleep", "ready");
	top_until(&l, "--stuck=200ms", "[STUCK]", &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	cr_expect(!strstr(r.out, "DEADLOCK"), "%s", r.out);
	expect_has(r.out, "\"dl-sleep-1\" has waited ");
	expect_has(r.out, "is not waiting for any lock we saw (/proc: sleeping)");
	expect_has(r.out, "      at take_second_lock (deadlock.c:");
	harness_result_free(&r);
	live_kill(&l);
}

/* ---- a pid ------------------------------------------------------------------------- */

/* `lockcontend top --once PID`: the wrapper runs lockcontend-top, which
 * finds the file in PID's maps. */
Test(top, a_pid_is_found_from_its_maps_through_the_wrapper)
{
	struct live l;
	struct run_result r;
	char pid[32], header[64], profile[PATH_MAX + 16];
	live_start(&l, "phases", "2", "phase 1");
	kill(l.child.pid, SIGUSR1);
	cr_assert(harness_wait_line(&l.child, "phase 2"));
	live_dump(&l);
	snprintf(pid, sizeof(pid), "%d", (int)l.child.pid);
	const char *argv[] = {wrapper_path(), "top", "--once", "--interval=100ms", pid, NULL};
	run(argv, &r);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	snprintf(header, sizeof(header), "lockcontend top: pid %s ", pid);
	expect_has(r.out, header);
	snprintf(profile, sizeof(profile), "/%s, read at ", strrchr(l.dump, '/') + 1);
	expect_has(r.out, profile);
	expect_has(r.out, ": live, ");
	cr_expect_str_empty(r.err);
	harness_result_free(&r);
	live_kill(&l);
}

/* ---- the view without --once ---------------------------------------------------- */

/* Screens one after another, a blank line apart, until the writer is gone:
 * the last says so, and the view ends by itself. */
Test(top, the_view_ends_by_itself_when_its_writer_dies)
{
	struct live l;
	struct harness_child top;
	struct run_result r;
	char pid[32], said[160];
	live_start(&l, "phases", "2", "phase 1");
	/* Given the pid before the first contention, the view waits for the
	 * profile file, then shows it. */
	snprintf(pid, sizeof(pid), "%d", (int)l.child.pid);
	const char *argv[] = {top_path(), "--interval=50ms", pid, NULL};
	harness_start(argv, NULL, NULL, false, 60, &top);
	snprintf(said, sizeof(said),
	         "lockcontend-top: process %s: no contention recorded yet (its profile file is "
	         "made at its first contention)",
	         pid);
	cr_assert(harness_wait_line(&top, said), "'%s' not said before the file", said);
	kill(l.child.pid, SIGUSR1);
	cr_assert(harness_wait_line(&l.child, "phase 2"));
	for (int i = 0; i < 3000; i++) { /* three screens, within the watchdog */
		char *out = harness_output(&top);
		size_t n = 0;
		for (const char *s = out; (s = strstr(s, "lockcontend top: pid ")); s++)
			n++;
		free(out);
		if (n >= 3)
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	live_kill(&l);
	harness_finish(&top, &r);
	cr_expect(!r.timed_out, "the view did not end with its writer");
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	expect_has(r.out, "  rates from the next read, in 50.00 ms\n");
	expect_has(r.out, "\n\nlockcontend top: pid ");
	expect_has(r.out, "  the writer is gone: its last screen\n");
	harness_result_free(&r);
}

Test(top, ctrl_c_ends_the_view_with_status_0)
{
	struct live l;
	struct harness_child top;
	struct run_result r;
	live_start(&l, "deadlock", "abba2", "ready");
	const char *argv[] = {top_path(), "--interval=50ms", l.dump, NULL};
	harness_start(argv, NULL, NULL, false, 60, &top);
	cr_assert(harness_wait_line(&top, "Locks by wait in all (no interval yet)"), "no screen");
	kill(top.pid, SIGINT);
	harness_finish(&top, &r);
	cr_expect(!r.timed_out, "SIGINT did not end the view");
	cr_expect_eq(r.signal, 0, "died of signal %d", r.signal);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	harness_result_free(&r);
	live_kill(&l);
}

/* ---- bad input ------------------------------------------------------------------- */

/* `lockcontend-top --once ARG` (through the wrapper: `lockcontend top`):
 * one line on stderr, nothing on stdout, status 1, and no hang. */
static void expect_refused(const char *arg, bool wrapper, const char *says)
{
	struct run_result r;
	const char *direct[] = {top_path(), "--once", arg, NULL};
	const char *wrapped[] = {wrapper_path(), "top", "--once", arg, NULL};
	run(wrapper ? wrapped : direct, &r);
	cr_expect_eq(r.exit_code, 1, "%s: exit %d\n%s", arg, r.exit_code, r.err);
	cr_expect_str_empty(r.out, "%s: %s", arg, r.out);
	const char *nl = strchr(r.err, '\n');
	cr_expect(nl && !nl[1], "%s: not one line: '%s'", arg, r.err);
	expect_has(r.err, says);
	harness_result_free(&r);
}

Test(top, bad_input_is_one_line_and_status_1)
{
	char self[32], text[PATH_MAX], fifo[PATH_MAX];
	const char *dir = harness_tmpdir();
	snprintf(self, sizeof(self), "%d", (int)getpid());
	snprintf(text, sizeof(text), "%s/notes.txt", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	FILE *f = fopen(text, "w");
	cr_assert(f && fputs("not a profile at all\n", f) >= 0 && fclose(f) == 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));

	expect_refused("2147483647", false, "lockcontend-top: no process 2147483647\n");
	expect_refused(self, false, " has no lockcontend profile ");
	expect_refused(self, true, " has no lockcontend profile ");
	expect_refused(text, false, "not a lockcontend dump");
	expect_refused(fifo, false, "a FIFO");
	expect_refused(dir, false, "a directory");
	expect_refused("no-such-file", false, "no such file, and not a process id");

	struct run_result r;
	const char *argv[] = {top_path(), "--interval=0", text, NULL};
	run(argv, &r);
	cr_expect_eq(r.exit_code, 1);
	expect_has(r.err, "--interval needs a duration");
	harness_result_free(&r);
}
