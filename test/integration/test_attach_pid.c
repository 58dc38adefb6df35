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
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void touch(const char *dir, const char *name)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert(fd >= 0, "%s", path);
	close(fd);
}

/* The lines an attach_known printed, with the numbers taken out. */
static char *shape_of(const char *out)
{
	char *s = strdup(out);
	for (char *p = s; *p; p++)
		if (*p >= '0' && *p <= '9')
			*p = '#';
	return s;
}

/* attach_known alone, never attached to: what it prints (its shape). */
static char *attach_known_alone(void)
{
	struct harness_child c;
	struct run_result r;
	const char *dir = harness_tmpdir();
	const char *argv[] = {harness_fixture("attach_known"), NULL};
	harness_start(argv, NULL, dir, false, 60, &c);
	cr_assert(harness_wait_line(&c, "ready"));
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
	char settings[PATH_MAX + 64], dump[PATH_MAX + 32];
	const char *dir = harness_tmpdir();
	const char *argv[] = {harness_fixture("attach_known"), NULL};
	harness_start(argv, NULL, dir, false, 90, &c);
	cr_assert(harness_wait_line(&c, "ready"));

	snprintf(dump, sizeof(dump), "%s/attached.raw", dir);
	snprintf(settings, sizeof(settings), "out=%s", dump);
	attach_cmd("start", c.pid, settings, &r);
	expect_ok(&r, "attach");
	harness_result_free(&r);
	touch(dir, "go");
	cr_assert(harness_wait_line(&c, "phase done"));
	attach_cmd("stop", c.pid, NULL, &r);
	expect_ok(&r, "detach");
	harness_result_free(&r);
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
	char err[256];
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s", err);
	cr_expect(d.complete, "the profile of a detach is complete");
	uint64_t count, delay;
	const char *exe = harness_fixture("attach_known");
	harness_sum_function(&d, exe, "waiter_blocked", &count, &delay);
	cr_expect_eq(count, 10, "10 waits between attach and detach, not %llu",
	             (unsigned long long)count);
	harness_assert_near(delay, harness_out_value(r.out, "measured_ns"), 0.05,
	                    "waiter_blocked while attached");
	harness_sum_function(&d, exe, "before_blocked", &count, &delay);
	cr_expect_eq(count, 0, "waits before the attach counted");
	harness_sum_function(&d, exe, "blocked_across", &count, &delay);
	cr_expect_eq(count, 0, "a wait that began before the attach counted");
	dump_free(&d);
	harness_result_free(&r);
}
