/*
 * test_attach_pid.c — `lockcontend attach PID`, end to end: programs started
 * without the preload, attached to while they run, detached from, and
 * left as they were (docs/attach.md).
 *
 * attach_known (test/fixtures/attach_known.c) knows its own waits before, during
 * and after the attach, and holds locks, a recursive mutex, a condvar wait
 * and a blocked lock call across it: the profile counts the waits between
 * attach and detach only (within 5% of the program's own measure), none of
 * the others, ends complete, and the program prints and returns what it
 * does when no one attaches.  stress (test/fixtures/stress.c) checks every
 * return code and mutual exclusion itself while it is attached to and
 * detached from again and again.  The wrapper's refusals each print one
 * line and change nothing.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dumpread.h"
#include "integration/harness.h"

static const char *attach_tool(void)
{
	static char path[PATH_MAX];
	if (!path[0])
		cr_assert(realpath("build/lockcontend-attach", path), "build/lockcontend-attach");
	return path;
}

/* Run lockcontend-attach start|stop PID [settings]; its result in r. */
static void attach_cmd(const char *what, pid_t pid, const char *settings, struct run_result *r)
{
	char spid[32];
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	const char *start[] = {attach_tool(), what,      spid, "--lib", harness_preload(),
	                       "--settings",  settings, NULL};
	const char *stop[] = {attach_tool(), what, spid, NULL};
	cr_assert_eq(harness_run(settings ? start : stop, NULL, NULL, false, 60, r), 0);
}

static void expect_ok(const struct run_result *r, const char *what)
{
	cr_assert_eq(r->exit_code, 0, "%s: exit %d signal %d\n%s%s", what, r->exit_code, r->signal,
	             r->out, r->err);
}

/* lockcontend-attach start, recording into dump; it must succeed. */
static void attach_ok(pid_t pid, const char *dump)
{
	struct run_result r;
	char settings[PATH_MAX + 128];
	snprintf(settings, sizeof(settings), "out=%s", dump);
	attach_cmd("start", pid, settings, &r);
	expect_ok(&r, "attach");
	harness_result_free(&r);
}

/* lockcontend-attach stop; it must succeed. */
static void detach_ok(pid_t pid)
{
	struct run_result r;
	attach_cmd("stop", pid, NULL, &r);
	expect_ok(&r, "detach");
	harness_result_free(&r);
}

/* The dump at path, which must read and be complete. */
static void dump_complete(const char *path, struct dump *d)
{
	char err[256];
	cr_assert_eq(dump_read_file(path, d, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_expect(d->complete, "%s is not complete: %s", path, d->warning);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void sleep_briefly(void)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

static void touch(const char *dir, const char *name)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert(fd >= 0, "%s", path);
	close(fd);
}

/* The lines an attach_known printed, each number made one #. */
static char *shape_of(const char *out)
{
	char *s = strdup(out), *w = s;
	for (const char *p = out; *p; p++) {
		bool digit = *p >= '0' && *p <= '9';
		if (!digit || w == s || w[-1] != '#')
			*w++ = digit ? '#' : *p;
	}
	*w = '\0';
	return s;
}

/* Start fixture attach_known (mode: NULL or "churn") in dir, without the
 * preload, but with the sanitizer runtime of a sanitized suite first (it
 * must come before the library an attach loads); wait for "ready". */
static void target_start(const char *mode, const char *dir, struct harness_child *c)
{
	const char *first = getenv("LOCKCONTEND_TEST_PRELOAD_FIRST");
	char preload[PATH_MAX + 16];
	const char *env[2] = {NULL, NULL};
	if (first && *first) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", first);
		env[0] = preload;
	}
	const char *argv[] = {harness_fixture("attach_known"), mode, NULL};
	harness_start(argv, env, dir, false, 180, c);
	if (!harness_wait_line(c, "ready")) {
		struct run_result r;
		kill(c->pid, SIGKILL);
		harness_finish(c, &r);
		cr_assert_fail("attach_known never got ready:\n%s%s", r.out, r.err);
	}
}

/* attach_known alone, never attached to: what it prints (its shape). */
static char *attach_known_alone(void)
{
	struct harness_child c;
	struct run_result r;
	const char *dir = harness_tmpdir();
	target_start(NULL, dir, &c);
	touch(dir, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	touch(dir, "after");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known alone");
	char *shape = shape_of(r.out);
	harness_result_free(&r);
	return shape;
}

Test(attach_pid, counts_the_waits_between_attach_and_detach_only)
{
	struct harness_child c;
	struct run_result r;
	char dump[PATH_MAX + 32];
	const char *dir = harness_tmpdir();
	target_start(NULL, dir, &c);
	snprintf(dump, sizeof(dump), "%s/attached.raw", dir);
	attach_ok(c.pid, dump);
	touch(dir, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	detach_ok(c.pid);
	touch(dir, "after");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known");

	/* the same lines as a run nobody attached to */
	char *shape = shape_of(r.out), *alone = attach_known_alone();
	cr_expect_str_eq(shape, alone);
	free(shape);
	free(alone);

	/* complete, and only the waits in between */
	struct dump d;
	dump_complete(dump, &d);
	uint64_t count, delay;
	const char *exe = harness_fixture("attach_known");
	harness_sum_function(&d, exe, "waiter_blocked", &count, &delay);
	cr_expect_eq(count, 10, "10 waits between attach and detach, not %llu",
	             (unsigned long long)count);
	/* less at most what a preemption between the program's clock and the
	 * hook's took, which its run delay over the waits bounds */
	harness_assert_wait(delay, harness_out_value(r.out, "measured_ns"),
	                    harness_out_value(r.out, "delayed_ns"), 0.05,
	                    "waiter_blocked while attached");
	harness_sum_function(&d, exe, "before_blocked", &count, &delay);
	cr_expect_eq(count, 0, "waits before the attach counted");
	harness_sum_function(&d, exe, "blocked_across", &count, &delay);
	cr_expect_eq(count, 0, "a wait that began before the attach counted");
	dump_free(&d);
	harness_result_free(&r);
}

/* The process ends while attached: its profile ends complete, as under the
 * preload, with the waits after the attach (both phases: no detach). */
Test(attach_pid, a_process_that_exits_while_attached_ends_its_profile)
{
	struct harness_child c;
	struct run_result r;
	char dump[PATH_MAX + 32];
	const char *dir = harness_tmpdir();
	target_start(NULL, dir, &c);
	snprintf(dump, sizeof(dump), "%s/exits.raw", dir);
	attach_ok(c.pid, dump);
	touch(dir, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	touch(dir, "after");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known");

	struct dump d;
	uint64_t count, delay;
	dump_complete(dump, &d);
	harness_sum_function(&d, harness_fixture("attach_known"), "waiter_blocked", &count, &delay);
	cr_expect_eq(count, 20, "both phases' waits: %llu", (unsigned long long)count);
	harness_assert_wait(delay,
	                    harness_out_value(r.out, "measured_ns") +
	                        harness_out_value(r.out, "after_ns"),
	                    harness_out_value(r.out, "delayed_ns") +
	                        harness_out_value(r.out, "after_delayed_ns"),
	                    0.05, "waiter_blocked after the attach");
	dump_free(&d);
	harness_result_free(&r);

	/* nothing is attached any more: stop says so, one line */
	attach_cmd("stop", c.pid, NULL, &r);
	cr_expect_neq(r.exit_code, 0);
	harness_result_free(&r);
}

/* 50 attaches and detaches in a row while six threads contend on a mutex,
 * a recursive mutex and a rwlock, checking every return code and every
 * exclusion themselves: no error, no crash, no hang; every profile
 * complete. */
Test(attach_pid, fifty_attaches_and_detaches_under_contention)
{
	struct harness_child c;
	struct run_result r;
	char dump[PATH_MAX + 32];
	const char *dir = harness_tmpdir();
	target_start("churn", dir, &c);
	for (int i = 0; i < 50; i++) {
		snprintf(dump, sizeof(dump), "%s/churn.%d.raw", dir, i);
		attach_ok(c.pid, dump);
		detach_ok(c.pid);
	}
	touch(dir, "stop");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known churn");
	cr_expect(strstr(r.out, " errors 0\n") != NULL, "%s", r.out);
	harness_result_free(&r);
	for (int i = 0; i < 50; i++) {
		struct dump d;
		snprintf(dump, sizeof(dump), "%s/churn.%d.raw", dir, i);
		dump_complete(dump, &d);
		dump_free(&d);
	}
}

/* The wrapper: `lockcontend attach --out DIR PID` records until Ctrl-C,
 * detaches and prints the report of what it saw; the program runs on. */
Test(attach_pid, the_wrapper_records_until_ctrl_c_and_reports)
{
	struct harness_child c, w;
	struct run_result r, wr;
	char wrapper[PATH_MAX], pid[32], out[PATH_MAX + 8];
	const char *dir = harness_tmpdir();
	target_start(NULL, dir, &c);
	cr_assert(realpath("scripts/lockcontend", wrapper));
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);
	snprintf(out, sizeof(out), "%s/out", dir);
	const char *argv[] = {wrapper, "attach", "--out", out, pid, NULL};
	harness_start(argv, NULL, dir, false, 120, &w);
	/* attached once the profile exists (the process made it) */
	char pattern[PATH_MAX + 64];
	snprintf(pattern, sizeof(pattern), "%s/attach.%s.*.raw", out, pid);
	for (int i = 0; i < 6000; i++) {
		glob_t g;
		int found = glob(pattern, 0, NULL, &g) == 0;
		globfree(&g);
		if (found)
			break;
		sleep_briefly();
	}
	touch(dir, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	kill(w.pid, SIGINT);
	harness_finish(&w, &wr);
	cr_expect_eq(wr.exit_code, 0, "wrapper: exit %d signal %d\n%s", wr.exit_code, wr.signal,
	             wr.err);
	cr_expect(strstr(wr.err, "attached to ") && strstr(wr.err, "detached from "), "%s",
	          wr.err);
	cr_expect(strstr(wr.out, "ended by a detach"), "%s", wr.out);
	cr_expect(strstr(wr.out, "waiter_blocked"), "%s", wr.out);
	cr_expect(!strstr(wr.out, "before_blocked"), "%s", wr.out);
	harness_result_free(&wr);
	touch(dir, "after");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known");
	harness_result_free(&r);
}

/* Refusals, one line each, and nothing changed: a process already
 * profiled (preloaded, or attached twice), and no process at all. */
Test(attach_pid, refusals_are_one_line_and_change_nothing)
{
	struct harness_child c;
	struct run_result r;
	char settings[PATH_MAX + 64], env[PATH_MAX + 64];
	const char *dir = harness_tmpdir();

	/* under the preload */
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/pre.%%p.raw", dir);
	const char *envv[] = {env, NULL};
	const char *argv[] = {harness_fixture("attach_known"), NULL};
	harness_start(argv, envv, dir, true, 120, &c);
	cr_assert(harness_wait_line(&c, "ready"));
	snprintf(settings, sizeof(settings), "out=%s/never.raw", dir);
	attach_cmd("start", c.pid, settings, &r);
	cr_expect_eq(r.exit_code, 2, "exit %d\n%s", r.exit_code, r.err);
	cr_expect(strstr(r.err, "already being profiled"), "%s", r.err);
	cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
	harness_result_free(&r);
	touch(dir, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	touch(dir, "after");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known under the preload");
	harness_result_free(&r);
	char never[PATH_MAX + 16];
	snprintf(never, sizeof(never), "%s/never.raw", dir);
	cr_expect(access(never, F_OK) != 0, "a refused attach made %s", never);

	/* attached twice */
	const char *dir2 = harness_tmpdir();
	target_start(NULL, dir2, &c);
	snprintf(settings, sizeof(settings), "%s/one.raw", dir2);
	attach_ok(c.pid, settings);
	snprintf(settings, sizeof(settings), "out=%s/two.raw", dir2);
	attach_cmd("start", c.pid, settings, &r);
	cr_expect_eq(r.exit_code, 2, "exit %d\n%s", r.exit_code, r.err);
	cr_expect(strstr(r.err, "already being profiled"), "%s", r.err);
	harness_result_free(&r);
	detach_ok(c.pid);
	touch(dir2, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	touch(dir2, "after");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known");
	harness_result_free(&r);

	/* no such process, through the wrapper */
	char wrapper[PATH_MAX];
	cr_assert(realpath("scripts/lockcontend", wrapper));
	const char *wargv[] = {wrapper, "attach", "999999999", NULL};
	cr_assert_eq(harness_run(wargv, NULL, NULL, false, 60, &r), 0);
	cr_expect_eq(r.exit_code, 2, "exit %d\n%s", r.exit_code, r.err);
	cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
	harness_result_free(&r);
}

/* Root attaching to another user's process: the profile is created by the
 * process, as its user.  An --out directory the wrapper makes is handed to
 * that user; one that was there and that user cannot write is refused in
 * one line before anything is loaded. */
Test(attach_pid, root_gives_its_out_directory_to_the_process_user_or_refuses)
{
	struct harness_child c;
	struct run_result r;
	char wrapper[PATH_MAX], pid[32], made[PATH_MAX + 8], there[PATH_MAX + 8];
	char uid[32];
	if (geteuid() != 0)
		cr_skip_test("needs root to run the program as nobody (setpriv)");
	const char *dir = harness_tmpdir();
	cr_assert_eq(chmod(dir, 0777), 0); /* nobody's working directory */
	snprintf(uid, sizeof(uid), "--reuid=%d", 65534);
	const char *argv[] = {"/usr/bin/setpriv", uid, "--regid=65534", "--clear-groups",
	                      harness_fixture("attach_known"), NULL};
	harness_start(argv, NULL, dir, false, 180, &c);
	cr_assert(harness_wait_line(&c, "ready"));
	cr_assert(realpath("scripts/lockcontend", wrapper));
	snprintf(pid, sizeof(pid), "%d", (int)c.pid);

	snprintf(there, sizeof(there), "%s/there", dir);
	cr_assert_eq(mkdir(there, 0755), 0);
	const char *refused[] = {wrapper, "attach", "--duration", "0.2s", "--out", there, pid, NULL};
	cr_assert_eq(harness_run(refused, NULL, NULL, false, 60, &r), 0);
	cr_expect_neq(r.exit_code, 0, "%s", r.err);
	cr_expect(strstr(r.err, "cannot create files in"), "%s", r.err);
	cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
	harness_result_free(&r);
	cr_expect(!harness_maps(c.pid, "liblockcontend"), "a refused attach loaded the library");

	snprintf(made, sizeof(made), "%s/made/here", dir);
	const char *given[] = {wrapper, "attach", "--duration", "0.2s", "--out", made, pid, NULL};
	cr_assert_eq(harness_run(given, NULL, NULL, false, 60, &r), 0);
	cr_expect_eq(r.exit_code, 0, "exit %d\n%s", r.exit_code, r.err);
	cr_expect(strstr(r.out, "ended by a detach"), "%s", r.out);
	harness_result_free(&r);
	struct stat st;
	cr_assert_eq(stat(made, &st), 0);
	cr_expect_eq(st.st_uid, 65534, "%s is not the process user's", made);

	touch(dir, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	touch(dir, "after");
	harness_finish(&c, &r);
	expect_ok(&r, "attach_known as nobody");
	harness_result_free(&r);
}
