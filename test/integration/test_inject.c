/*
 * test_inject.c — lockcontend-attach (`lockcontend attach PID`) on running
 * programs: it gets a library into them through one borrowed thread, calls
 * its entry points, and leaves them as they were.
 *
 * The library is test/fixtures/plugins/attachprobe.c, a stand-in with the
 * contract of liblockcontend.so's lockcontend_attach and lockcontend_detach:
 * it writes each call to the file its settings' out= names, and does what
 * ATTACHPROBE in the target's environment says (return a code, exit, crash,
 * raise a signal, clobber the vector registers and errno).  The targets
 * are test/fixtures/attachee.c: threads blocked in read, pthread_cond_wait,
 * nanosleep, epoll_wait, in malloc loops, spinning with every vector
 * register set, or blocked inside code that holds a libc lock.  Told to
 * quit (a line on its FIFO) a target prints what each thread saw, so the
 * whole output is compared with what it prints when nobody attaches, and
 * its exit status with 0.
 *
 * Two tests load the library itself (liblockcontend.so, the suite's build)
 * into a target that has left it exactly the static TLS it needs, and one
 * byte less (`attachee tls`): the bound that a library with initial-exec
 * TLS, loaded late, lives under.
 *
 * Nothing waits on time: a target says "ready" once its workers are about
 * to block; every run has the harness's watchdog; a target still running
 * when a test ends, passed or failed, is killed (atexit).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ATTACH_TIMEOUT 60
#define TARGET_TIMEOUT 120
#define EXIT_FAILED 1
#define EXIT_REFUSED 2

/* ---- targets ----------------------------------------------------------------- */

static pid_t running[64];
static size_t nrunning;

/* Whatever a test leaves running, passed or failed. */
static void targets_kill(void)
{
	for (size_t i = 0; i < nrunning; i++) {
		kill(-running[i], SIGKILL);
		kill(running[i], SIGKILL);
	}
}

static void targets_note(pid_t pid)
{
	if (nrunning == 0)
		atexit(targets_kill);
	if (nrunning < sizeof(running) / sizeof(running[0]))
		running[nrunning++] = pid;
}

struct target {
	struct harness_child child;
	char dir[PATH_MAX];
	pid_t pid; /* the attachee's own ("pid N"): not the harness child under strace */
	pid_t tid; /* its first worker's, 0 if it has none */
};

/* Start argv (an attachee, maybe under a wrapper) in a fresh directory
 * (open to every user when shared) and wait for "ready". */
static void target_run(struct target *t, const char *const argv[], const char *const env[],
                       bool shared)
{
	snprintf(t->dir, sizeof(t->dir), "%s", harness_tmpdir());
	if (shared)
		chmod(t->dir, 0777);
	harness_start(argv, env, t->dir, false, TARGET_TIMEOUT, &t->child);
	targets_note(t->child.pid);
	if (!harness_wait_line(&t->child, "ready")) {
		struct run_result r;
		kill(-t->child.pid, SIGKILL);
		harness_finish(&t->child, &r);
		cr_assert_fail("%s %s never got ready:\n%s%s", argv[0], argv[1], r.out, r.err);
	}
	char *out = harness_output(&t->child);
	t->pid = (pid_t)harness_out_value(out, "pid");
	const char *w = strstr(out, " tid ");
	t->tid = w ? (pid_t)atoi(w + 5) : 0;
	free(out);
}

/* `attachee MODE [ARG]`, with ATTACHPROBE=probe (NULL: none). */
static void target_start(struct target *t, const char *mode, const char *arg, const char *probe)
{
	char env[128];
	const char *argv[] = {harness_fixture("attachee"), mode, arg, NULL};
	const char *envv[] = {env, NULL};

	snprintf(env, sizeof(env), "ATTACHPROBE=%s", probe ? probe : "");
	target_run(t, argv, envv, false);
}

/* Write line (with its newline) on its FIFO, if it still runs. */
static void target_say(const struct target *t, const char *line)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/cmd", t->dir);
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		cr_log_warn("could not tell the target %s", line);
	if (fd >= 0)
		close(fd);
}

/* Tell it to quit (if it still runs) and collect what it printed. */
static void target_quit(struct target *t, struct run_result *r)
{
	target_say(t, "quit\n");
	harness_finish(&t->child, r);
	cr_assert(!r->timed_out, "the target hung; it printed:\n%s%s", r->out, r->err);
}

/* The target's output from "ready" on must be exactly want's lines. */
static void expect_output(const struct run_result *r, const char *want)
{
	const char *ready = strstr(r->out, "ready\n");

	cr_assert(ready, "no ready line:\n%s", r->out);
	cr_expect_str_eq(ready + 6, want, "the target's output changed:\n%s%s", r->out, r->err);
	cr_expect_eq(r->exit_code, 0, "the target exited %d (signal %d):\n%s", r->exit_code,
	             r->signal, r->err);
}

/* What the probe wrote: its calls, one per line ("" if none). */
static char *probe_log(const struct target *t)
{
	char path[PATH_MAX + 16], *buf = calloc(1, 4096);
	snprintf(path, sizeof(path), "%s/probe.log", t->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, 4095) : 0;
	if (fd >= 0)
		close(fd);
	cr_assert(buf && n >= 0);
	return buf;
}

/* ---- lockcontend-attach ------------------------------------------------------------ */

/* build/lockcontend-attach, or $LOCKCONTEND_TEST_ATTACH. */
static const char *attach_path(void)
{
	static char path[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_ATTACH");
	const char *want = over && *over ? over : "build/lockcontend-attach";
	cr_assert(realpath(want, path) != NULL, "%s: %s (run make all)", want, strerror(errno));
	return path;
}

/* Run argv (NULL-terminated, argv[0] a path); it must end by itself, and
 * print at most one line on stderr. */
static void run(const char *const argv[], struct run_result *r)
{
	cr_assert_eq(harness_run(argv, NULL, NULL, false, ATTACH_TIMEOUT, r), 0);
	cr_assert(!r->timed_out, "%s %s hung", argv[0], argv[1]);
	cr_assert_eq(r->signal, 0, "%s died of signal %d; stderr: %s", argv[0], r->signal, r->err);
	const char *nl = strchr(r->err, '\n');
	cr_expect(!nl || nl[1] == '\0', "more than one line on stderr:\n%s", r->err);
}

/* `lockcontend-attach CMD PID [--lib LIB --settings out=DIR/OUT] --verbose`,
 * as user (NULL: as we are); lib NULL for stop. */
static void attach_out(const struct target *t, const char *cmd, const char *lib, const char *out,
                       const char *user, struct run_result *r)
{
	char pid[16], settings[PATH_MAX + 64];
	const char *argv[16];
	size_t n = 0;

	snprintf(pid, sizeof(pid), "%d", t->pid);
	snprintf(settings, sizeof(settings), "out=%s/%s", t->dir, out);
	if (user) {
		argv[n++] = "/usr/bin/setpriv";
		argv[n++] = user;
		argv[n++] = "--regid=nogroup";
		argv[n++] = "--clear-groups";
	}
	argv[n++] = attach_path();
	argv[n++] = cmd;
	argv[n++] = pid;
	if (lib) {
		argv[n++] = "--lib";
		argv[n++] = lib;
		argv[n++] = "--settings";
		argv[n++] = settings;
	}
	argv[n++] = "--verbose";
	argv[n] = NULL;
	run(argv, r);
}

/* The probe's calls logged to DIR/probe.log. */
static void attach_as(const struct target *t, const char *cmd, const char *lib, const char *user,
                      struct run_result *r)
{
	attach_out(t, cmd, lib, "probe.log", user, r);
}

static void attach_start(const struct target *t, struct run_result *r)
{
	attach_as(t, "start", harness_fixture("attachprobe.so"), NULL, r);
}

static void attach_stop(const struct target *t, struct run_result *r)
{
	attach_as(t, "stop", NULL, NULL, r);
}

/* A success: exit 0 and the --verbose line; the thread it borrowed. */
static pid_t expect_borrowed(const struct target *t, const struct run_result *r, unsigned *tries)
{
	int pid = 0, tid = 0;
	unsigned n = 0;
	double ms = 0;

	cr_assert_eq(r->exit_code, 0, "lockcontend-attach exited %d: %s", r->exit_code, r->err);
	cr_assert_eq(sscanf(r->err, "lockcontend-attach: %d stopped %lf ms (thread %d, %u tries)",
	                    &pid, &ms, &tid, &n),
	             4, "no --verbose line: %s", r->err);
	cr_expect_eq(pid, t->pid);
	cr_expect(n >= 1 && ms >= 0, "%s", r->err);
	if (tries)
		*tries = n;
	return tid;
}

/* A failure: status and one line that says `says`. */
static void expect_refused(const struct run_result *r, int status, const char *says)
{
	cr_expect_eq(r->exit_code, status, "exit %d, not %d: %s", r->exit_code, status, r->err);
	cr_expect(strncmp(r->err, "lockcontend-attach: ", 20) == 0, "%s", r->err);
	cr_expect(strstr(r->err, says) != NULL, "no '%s' in: %s", says, r->err);
}

static void expect_probe(const struct target *t, const char *want)
{
	char *log = probe_log(t);
	cr_expect_str_eq(log, want, "the probe was called otherwise");
	free(log);
}

/* "attach out=DIR/probe.log\n" and "detach\n", as the probe writes them. */
static void probe_calls(const struct target *t, const char *calls, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (const char *c = calls; *c && len < cap; c++) {
		if (*c == 'a')
			len += (size_t)snprintf(buf + len, cap - len, "attach out=%s/probe.log\n",
			                        t->dir);
		else
			len += (size_t)snprintf(buf + len, cap - len, "detach\n");
	}
}

/* ---- a thread borrowed, and given back ----------------------------------------------- */

/* start and stop on `attachee mode`; the worker must be the thread
 * borrowed; the target's output after quit must be want. */
static void borrow_worker(const char *mode, const char *probe, const char *want)
{
	struct target t;
	struct run_result r;
	char calls[2 * PATH_MAX];

	target_start(&t, mode, NULL, probe);
	attach_start(&t, &r);
	cr_expect_eq(expect_borrowed(&t, &r, NULL), t.tid, "not the %s worker: %s", mode, r.err);
	harness_result_free(&r);
	cr_expect(harness_maps(t.pid, "/attachprobe.so"), "the library is not loaded");
	attach_stop(&t, &r);
	cr_expect_eq(expect_borrowed(&t, &r, NULL), t.tid, "not the %s worker: %s", mode, r.err);
	harness_result_free(&r);
	probe_calls(&t, "ad", calls, sizeof(calls));
	expect_probe(&t, calls);
	target_quit(&t, &r);
	expect_output(&r, want);
	harness_result_free(&r);
}

Test(inject, a_blocked_read_gets_the_data_written_after)
{
	borrow_worker("read", NULL, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
}

Test(inject, a_condition_wait_is_woken_as_before)
{
	borrow_worker("cond", NULL, "cond woke errno ok\nusr1 0\neintr 0\ndone\n");
}

Test(inject, a_nanosleep_sleeps_its_whole_time_without_error)
{
	borrow_worker("sleep", NULL, "slept ok errno ok\nusr1 0\neintr 0\ndone\n");
}

/* The only thread waits in epoll_wait: a stop ends that with EINTR, as
 * any stop (SIGSTOP, a debugger) does; the program retries and runs on. */
Test(inject, an_epoll_wait_ends_with_eintr_once_per_borrow_and_the_loop_goes_on)
{
	struct target t;
	struct run_result r;

	target_start(&t, "epoll", NULL, NULL);
	attach_start(&t, &r);
	cr_expect_eq(expect_borrowed(&t, &r, NULL), t.pid);
	harness_result_free(&r);
	attach_stop(&t, &r);
	cr_expect_eq(expect_borrowed(&t, &r, NULL), t.pid);
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "usr1 0\neintr 2\ndone\n");
	harness_result_free(&r);
}

/* The probe sets every ymm (xmm) register it can, MXCSR and errno; the
 * spinning thread checks its own after, the reader its errno. */
Test(inject, vector_registers_mxcsr_and_errno_are_put_back)
{
	borrow_worker("spin", "clobber", "spin registers ok\nusr1 0\neintr 0\ndone\n");
	borrow_worker("read", "clobber", "read hello errno ok\nusr1 0\neintr 0\ndone\n");
}

/* A signal that reaches the thread during the call is its own: passed on,
 * handled (SA_RESTART), and the call goes on. */
Test(inject, a_signal_during_the_call_is_passed_on)
{
	borrow_worker("read", "signal", "read hello errno ok\nusr1 2\neintr 0\ndone\n");
}

/* 100 threads in pthread_cond_wait, 50 libraries loaded: one thread is
 * stopped, once, and not for long (the goal is well under 50 ms; the
 * bound here is for a loaded machine). */
Test(inject, a_hundred_threads_and_fifty_libraries_cost_one_short_stop)
{
	struct target t;
	struct run_result r;
	unsigned tries;
	double ms = 0;
	char calls[2 * PATH_MAX];
	const char *argv[] = {harness_fixture("attachee"), "many", "100", "50", NULL};

	target_run(&t, argv, NULL, false);
	cr_assert(harness_maps(t.pid, "attachfill-49.so"));
	attach_start(&t, &r);
	expect_borrowed(&t, &r, &tries);
	cr_expect_eq(tries, 1, "other threads were stopped: %s", r.err);
	sscanf(r.err, "%*s %*d stopped %lf", &ms);
	cr_log_info("100 threads, 50 libraries: %s", r.err);
	cr_expect_lt(ms, 1000, "%s", r.err);
	harness_result_free(&r);
	attach_stop(&t, &r);
	expect_borrowed(&t, &r, &tries);
	cr_expect_eq(tries, 1, "%s", r.err);
	harness_result_free(&r);
	probe_calls(&t, "ad", calls, sizeof(calls));
	expect_probe(&t, calls);
	target_quit(&t, &r);
	cr_expect(strstr(r.out, "cond woke errno ok\nusr1 0\neintr 0\ndone\n"), "%s", r.out);
	harness_result_free(&r);
}

/* ---- the safe-point rule ---------------------------------------------------------------- */

/* Three threads spend their time in malloc and free; the main thread
 * waits in epoll_wait (taken last).  Borrowing one inside malloc would
 * hang the target or corrupt its heap: every run must end, with every
 * block intact, and many runs need more than one stop to find a thread
 * outside the allocator. */
Test(inject, a_malloc_heavy_target_never_hangs, .timeout = 600)
{
	unsigned total = 0, most = 0;
	const int runs = 12;

	for (int i = 0; i < runs; i++) {
		struct target t;
		struct run_result r;
		unsigned tries;
		target_start(&t, "malloc", "3", NULL);
		attach_start(&t, &r);
		expect_borrowed(&t, &r, &tries);
		harness_result_free(&r);
		total += tries;
		most = tries > most ? tries : most;
		attach_stop(&t, &r);
		expect_borrowed(&t, &r, &tries);
		harness_result_free(&r);
		target_quit(&t, &r);
		cr_expect(strstr(r.out, "malloc ok\nmalloc ok\nmalloc ok\nusr1 0\n"), "%s", r.out);
		cr_expect_eq(r.exit_code, 0, "%s", r.err);
		harness_result_free(&r);
	}
	cr_log_info("malloc-heavy target: %u stops for %d starts (at most %u)", total, runs, most);
}

/* A thread blocked where it holds a lock that dlopen takes: never borrowed,
 * and no other thread either (its dlopen would wait for the lock, held
 * until the target's main thread acts).  Refused, with nothing changed. */
static void refused_while_blocked_inside(const char *mode, const char *inside)
{
	struct target t;
	struct run_result r;
	char says[128];

	target_start(&t, mode, NULL, NULL);
	attach_start(&t, &r);
	snprintf(says, sizeof(says), "thread %d is blocked inside %s", t.tid, inside);
	expect_refused(&r, EXIT_REFUSED, says);
	expect_refused(&r, EXIT_REFUSED, "nothing was changed");
	harness_result_free(&r);
	cr_expect(!harness_maps(t.pid, "/attachprobe.so"), "the library was loaded");
	expect_probe(&t, "");
	target_quit(&t, &r);
	cr_expect_eq(r.exit_code, 0, "%s", r.err);
	cr_expect(strstr(r.out, "errno ok\nusr1 0\neintr 0\ndone\n"), "%s", r.out);
	harness_result_free(&r);
}

Test(inject, a_thread_in_a_dl_iterate_phdr_callback_holds_the_loader)
{
	refused_while_blocked_inside("iterate", "dl_iterate_phdr");
}

Test(inject, a_thread_in_a_fork_handler_holds_the_atfork_lock)
{
	refused_while_blocked_inside("atfork", "fork");
}

/* The thread runs a signal handler on its sigaltstack, blocked; the
 * frames of dl_iterate_phdr are on its own stack, which the signal frame
 * leads to. */
Test(inject, a_handler_on_a_sigaltstack_is_followed_to_the_stack_it_interrupted)
{
	refused_while_blocked_inside("altstack", "dl_iterate_phdr");
}

/* tailalloc.so's aligned_alloc jumps to its slow path: no return address
 * of aligned_alloc is left on the stack, only the jump tells. */
Test(inject, code_an_allocator_jumps_to_counts_as_the_allocator)
{
	refused_while_blocked_inside("tailcall", "code that aligned_alloc jumps to");
}

/* ---- what the library says ----------------------------------------------------------------- */

/* A second start finds the library loaded (no second dlopen), and its
 * lockcontend_attach says EALREADY; a second stop, ENOENT. */
Test(inject, started_twice_is_already_profiled_and_stopped_twice_is_not_attached)
{
	struct target t;
	struct run_result r;
	char calls[2 * PATH_MAX];

	target_start(&t, "read", NULL, NULL);
	attach_start(&t, &r);
	expect_borrowed(&t, &r, NULL);
	harness_result_free(&r);
	attach_start(&t, &r);
	expect_refused(&r, EXIT_REFUSED, "is already being profiled by lockcontend");
	harness_result_free(&r);
	attach_stop(&t, &r);
	expect_borrowed(&t, &r, NULL);
	harness_result_free(&r);
	attach_stop(&t, &r);
	expect_refused(&r, EXIT_REFUSED, "lockcontend is not attached to");
	harness_result_free(&r);
	probe_calls(&t, "aadd", calls, sizeof(calls));
	expect_probe(&t, calls);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

/* Started under the preload (here the probe, preloaded and saying
 * EALREADY): its entry point is called where it is, nothing is loaded. */
Test(inject, a_preloaded_library_is_used_where_it_is)
{
	struct target t;
	struct run_result r;
	char env[PATH_MAX + 16], calls[2 * PATH_MAX];
	const char *argv[] = {harness_fixture("attachee"), "read", NULL};
	const char *envv[] = {env, "ATTACHPROBE=ret=114", NULL};

	snprintf(env, sizeof(env), "LD_PRELOAD=%s", harness_fixture("attachprobe.so"));
	target_run(&t, argv, envv, false);
	attach_as(&t, "start", harness_fixture("attachfill.so"), NULL, &r);
	expect_refused(&r, EXIT_REFUSED, "is already being profiled by lockcontend");
	harness_result_free(&r);
	cr_expect(!harness_maps(t.pid, "attachfill.so"), "--lib was loaded beside the preload");
	probe_calls(&t, "a", calls, sizeof(calls));
	expect_probe(&t, calls);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

Test(inject, the_library_failing_to_create_its_profile_is_reported)
{
	struct target t;
	struct run_result r;

	target_start(&t, "read", NULL, "ret=13");
	attach_start(&t, &r);
	expect_refused(&r, EXIT_FAILED, "could not create its profile: Permission denied");
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

Test(inject, a_library_that_does_not_load_is_reported_with_dlerror)
{
	struct target t;
	struct run_result r;

	target_start(&t, "read", NULL, NULL);
	attach_as(&t, "start", harness_fixture("attachbroken.so"), NULL, &r);
	expect_refused(&r, EXIT_FAILED, "undefined symbol: attachbroken_missing");
	harness_result_free(&r);
	attach_as(&t, "start", harness_fixture("attachfill.so"), NULL, &r);
	expect_refused(&r, EXIT_FAILED, "has no lockcontend_attach");
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

/* The target exits inside the call: one line, status 1, no hang. */
Test(inject, a_target_that_exits_during_the_call)
{
	struct target t;
	struct run_result r;

	target_start(&t, "read", NULL, "exit=3");
	attach_start(&t, &r);
	expect_refused(&r, EXIT_FAILED, "exited while running lockcontend_attach");
	harness_result_free(&r);
	target_quit(&t, &r);
	cr_expect_eq(r.exit_code, 3, "exit %d, signal %d", r.exit_code, r.signal);
	harness_result_free(&r);
}

/* A fault inside the call is the target's: delivered, not hidden. */
Test(inject, a_crash_during_the_call_is_delivered)
{
	struct target t;
	struct run_result r;

	target_start(&t, "read", NULL, "crash");
	attach_start(&t, &r);
	expect_refused(&r, EXIT_FAILED, "crashed in lockcontend_attach: SIGSEGV at address 0x10");
	harness_result_free(&r);
	target_quit(&t, &r);
	cr_expect_eq(r.signal, SIGSEGV, "exit %d, signal %d", r.exit_code, r.signal);
	harness_result_free(&r);
}

/* ---- refusals: one line, status 2, nothing changed ------------------------------------------ */

/* The state letter in /proc/PID/stat ('T': stopped), 0 if unreadable. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	const char *paren = n > 0 ? strrchr(buf, ')') : NULL;
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* `lockcontend-attach start PID` with the probe and good settings. */
static void start_pid(pid_t pid, const char *settings, struct run_result *r)
{
	char p[16];
	const char *argv[] = {
	    attach_path(), "start",  p,   "--lib", harness_fixture("attachprobe.so"),
	    "--settings",  settings, NULL};
	snprintf(p, sizeof(p), "%d", pid);
	run(argv, r);
}

Test(inject, no_such_process)
{
	struct run_result r;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	start_pid(pid, "out=/tmp/never.raw", &r);
	expect_refused(&r, EXIT_REFUSED, "no process");
	harness_result_free(&r);
}

Test(inject, a_zombie)
{
	struct target t;
	struct run_result r;

	target_start(&t, "zombie", NULL, NULL);
	char *out = harness_output(&t.child);
	pid_t zombie = (pid_t)harness_out_value(out, "zombie");
	free(out);
	start_pid(zombie, "out=/tmp/never.raw", &r);
	expect_refused(&r, EXIT_REFUSED, "is a zombie");
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "usr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

Test(inject, a_statically_linked_program)
{
	struct target t;
	struct run_result r;
	const char *argv[] = {harness_fixture("attachee_static"), "read", NULL};

	target_run(&t, argv, NULL, false);
	attach_start(&t, &r);
	expect_refused(&r, EXIT_REFUSED, "is statically linked");
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

Test(inject, a_thread_id_a_stopped_process_bad_settings_and_libraries)
{
	struct target t;
	struct run_result r;
	char settings[PATH_MAX + 32];

	target_start(&t, "read", NULL, NULL);
	snprintf(settings, sizeof(settings), "out=%s/probe.log", t.dir);
	start_pid(t.tid, settings, &r);
	expect_refused(&r, EXIT_REFUSED, "is a thread of process");
	harness_result_free(&r);
	start_pid(t.pid, "bogus=1", &r);
	expect_refused(&r, EXIT_REFUSED, "bad --settings: unknown key 'bogus'");
	harness_result_free(&r);
	start_pid(t.pid, "rate=10", &r);
	expect_refused(&r, EXIT_REFUSED, "--settings needs out=/absolute/path");
	harness_result_free(&r);
	attach_as(&t, "start", "/etc/passwd", NULL, &r);
	expect_refused(&r, EXIT_REFUSED, "is not an ELF file");
	harness_result_free(&r);
	attach_as(&t, "start", harness_fixture("attachee"), NULL, &r);
	expect_refused(&r, EXIT_REFUSED, "is a program, not a shared library");
	harness_result_free(&r);
	attach_as(&t, "start", "/nonexistent/liblockcontend.so", NULL, &r);
	expect_refused(&r, EXIT_REFUSED, "No such file or directory");
	harness_result_free(&r);
	attach_stop(&t, &r);
	expect_refused(&r, EXIT_REFUSED, "has no lockcontend library loaded");
	harness_result_free(&r);
	kill(t.pid, SIGSTOP);
	for (int i = 0; i < 10000 && proc_state(t.pid) != 'T'; i++)
		usleep(1000); /* until the kernel has stopped every thread */
	attach_start(&t, &r);
	expect_refused(&r, EXIT_REFUSED, "is stopped (SIGSTOP, Ctrl-Z)");
	harness_result_free(&r);
	kill(t.pid, SIGCONT);
	cr_expect(!harness_maps(t.pid, "/attachprobe.so"), "the library was loaded");
	expect_probe(&t, "");
	target_quit(&t, &r);
	cr_expect(strstr(r.out, "read hello errno ok\nusr1 0\n"), "%s", r.out);
	harness_result_free(&r);
}

/* Under `strace -f`: every thread has its tracer. */
Test(inject, an_already_traced_process)
{
	struct target t;
	struct run_result r;
	const char *argv[] = {"/usr/bin/strace",           "-f",   "-o", "/dev/null",
	                      harness_fixture("attachee"), "read", NULL};

	cr_assert(access(argv[0], X_OK) == 0, "strace is not installed (make deps)");
	target_run(&t, argv, NULL, false);
	attach_start(&t, &r);
	expect_refused(&r, EXIT_REFUSED, "is already traced by strace (pid");
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

/* A copy of the target owned by nobody, set-user-ID, started by root:
 * real uid 0, effective 65534. */
Test(inject, a_set_user_id_program)
{
	struct target t;
	struct run_result r;
	char copy[PATH_MAX + 16], cmd[3 * PATH_MAX];
	struct passwd *nobody = getpwnam("nobody");
	const char *dir = harness_tmpdir();

	cr_assert(nobody, "no user nobody");
	chmod(dir, 0755);
	snprintf(copy, sizeof(copy), "%s/attachee", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", harness_fixture("attachee"), copy);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(chown(copy, nobody->pw_uid, 0), 0);
	cr_assert_eq(chmod(copy, 04755), 0);
	const char *argv[] = {copy, "read", NULL};
	target_run(&t, argv, NULL, true);
	attach_start(&t, &r);
	expect_refused(&r, EXIT_REFUSED, "runs a set-user-ID program (real uid 0, effective 65534");
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}

/* nobody may not trace root's process; root's library in a directory only
 * root may enter cannot be loaded by nobody's process. */
Test(inject, another_users_process_and_a_library_its_user_cannot_read)
{
	struct target t, u;
	struct run_result r;
	char hidden[PATH_MAX + 32], cmd[3 * PATH_MAX];

	target_start(&t, "read", NULL, NULL);
	attach_as(&t, "start", harness_fixture("attachprobe.so"), "--reuid=nobody", &r);
	expect_refused(&r, EXIT_REFUSED, "not permitted to trace");
	expect_refused(&r, EXIT_REFUSED, "it belongs to root (uid 0) and you are nobody");
	harness_result_free(&r);
	target_quit(&t, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);

	const char *argv[] = {"/usr/bin/setpriv",
	                      "--reuid=nobody",
	                      "--regid=nogroup",
	                      "--clear-groups",
	                      harness_fixture("attachee"),
	                      "read",
	                      NULL};
	target_run(&u, argv, NULL, true);
	snprintf(hidden, sizeof(hidden), "%s/attachprobe.so", harness_tmpdir()); /* 0700 root */
	snprintf(cmd, sizeof(cmd), "cp %s %s", harness_fixture("attachprobe.so"), hidden);
	cr_assert_eq(system(cmd), 0);
	attach_as(&u, "start", hidden, NULL, &r);
	expect_refused(&r, EXIT_REFUSED,
	               "the target runs as nobody (uid 65534), which cannot search");
	harness_result_free(&r);
	attach_start(&u, &r); /* the shared one: loaded as nobody */
	expect_borrowed(&u, &r, NULL);
	harness_result_free(&r);
	target_quit(&u, &r);
	expect_output(&r, "read hello errno ok\nusr1 0\neintr 0\ndone\n");
	harness_result_free(&r);
}
/* ---- glibc's static TLS surplus ---------------------------------------------------------- */

/* The library the suite tests (liblockcontend.so; its ASan build under make
 * sanitize, whose runtime is then preloaded first, as it must be) has
 * initial-exec TLS: loaded by dlopen, it gets its block from glibc's small
 * static TLS surplus or does not load.  `attachee tls LIB D` loads 50
 * libraries, then libraries with initial-exec TLS of their own until the
 * room left is the least in which LIB loads (its need, bisected in forked
 * children) plus d bytes, measured again. */
static void target_tls(struct target *t, int d, uint64_t *need)
{
	char dd[16], preload[PATH_MAX + 16];
	const char *first = getenv("LOCKCONTEND_TEST_PRELOAD_FIRST");
	const char *envv[] = {NULL, NULL};
	const char *argv[] = {harness_fixture("attachee"), "tls", harness_preload(), dd, NULL};

	if (first && *first) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", first);
		envv[0] = preload;
	}
	snprintf(dd, sizeof(dd), "%d", d);
	target_run(t, argv, envv, false);
	char *out = harness_output(&t->child);
	uint64_t room = harness_out_value(out, "tls room"), left = harness_out_value(out, "tls left");
	*need = harness_out_value(out, "tls need");
	free(out);
	cr_log_info("static TLS: %llu bytes of room, the library needs %llu, %llu left",
	            (unsigned long long)room, (unsigned long long)*need, (unsigned long long)left);
	cr_assert_eq(left, *need + (uint64_t)(int64_t)d);
	cr_assert(*need > 0 && *need < room, "need %llu of %llu", (unsigned long long)*need,
	          (unsigned long long)room);
	cr_assert(harness_maps(t->pid, "/attachfill-49.so") && harness_maps(t->pid, "/attachtls-512-00.so"));
}

/* Exactly the room the library needs: it loads, records (the contenders,
 * threads made before it was loaded, go through its hooks and its TLS in
 * their static blocks; "contend" makes one of them wait, whatever the
 * load), detaches, and the program's results are its own. */
Test(inject, the_library_attaches_in_exactly_the_static_tls_it_needs)
{
	struct target t;
	struct run_result r;
	struct dump d;
	uint64_t need, count, delay;
	char path[PATH_MAX + 16], err[256];

	target_tls(&t, 0, &need);
	attach_out(&t, "start", harness_preload(), "tls.raw", NULL, &r);
	expect_borrowed(&t, &r, NULL);
	harness_result_free(&r);
	cr_expect(harness_maps(t.pid, "/liblockcontend.so"), "the library is not loaded");
	target_say(&t, "contend\n");
	cr_expect(harness_wait_line(&t.child, "contended"), "no contender waited");
	attach_stop(&t, &r);
	expect_borrowed(&t, &r, NULL);
	harness_result_free(&r);
	target_quit(&t, &r);
	cr_expect(strstr(r.out, "ready\ncontended\ncontend ok errno ok\ncontend ok errno ok\n"
	                        "usr1 0\neintr ") &&
	              strstr(r.out, "\ndone\n"),
	          "%s", r.out);
	cr_expect_eq(r.exit_code, 0, "%s", r.err);
	harness_result_free(&r);

	snprintf(path, sizeof(path), "%s/tls.raw", t.dir);
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_expect(d.complete, "%s is not complete: %s", path, d.warning);
	cr_assert(d.have_attach, "no ATTACH record");
	cr_expect_gt(d.attach.slots, 0);
	cr_expect_eq(d.attach.restored + d.attach.left + d.attach.forgotten, d.attach.slots);
	harness_sum_function(&d, harness_fixture("attachee"), "contender", &count, &delay);
	cr_log_info("in %llu bytes of static TLS: %llu slots patched, %llu waits of the "
	            "contenders recorded",
	            (unsigned long long)need, (unsigned long long)d.attach.slots,
	            (unsigned long long)count);
	cr_expect_gt(count, 0, "not even the wait 'contend' made was recorded");
	dump_free(&d);
}

/* One byte less: dlopen fails and takes nothing.  Refused, with a line
 * that says it is static TLS and what to do; the program runs on as if
 * nobody had come. */
Test(inject, one_byte_less_of_static_tls_is_refused_and_says_what_to_do)
{
	struct target t;
	struct run_result r;
	uint64_t need;
	char path[PATH_MAX + 16];

	target_tls(&t, -1, &need);
	attach_out(&t, "start", harness_preload(), "tls.raw", NULL, &r);
	cr_log_info("in %llu bytes of static TLS: %s", (unsigned long long)need - 1, r.err);
	expect_refused(&r, EXIT_REFUSED, "static TLS");
	expect_refused(&r, EXIT_REFUSED, "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=");
	expect_refused(&r, EXIT_REFUSED, "nothing was changed");
	harness_result_free(&r);
	cr_expect(!harness_maps(t.pid, "/liblockcontend.so"), "the library stayed loaded");
	snprintf(path, sizeof(path), "%s/tls.raw", t.dir);
	cr_expect(access(path, F_OK) != 0, "a profile was made: %s", path);
	target_quit(&t, &r);
	cr_expect(strstr(r.out, "ready\ncontend ok errno ok\ncontend ok errno ok\nusr1 0\neintr ") &&
	              strstr(r.out, "\ndone\n"),
	          "%s", r.out);
	cr_expect_eq(r.exit_code, 0, "%s", r.err);
	harness_result_free(&r);
}
