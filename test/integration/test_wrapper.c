/*
 * test_wrapper.c — scripts/lockcontend, the one-command front end.
 *
 * `lockcontend [options] -- CMD ARGS...` runs CMD under the preload and
 * prints the symbolized report of every process it started.  These tests
 * run it on the fixtures and check: the exit status is CMD's (128+N for a
 * signal), the report names the waiting function in text and folded form,
 * --out/--keep leave readable dumps, a forking CMD gives one merged report,
 * -o writes a file, errors are one line, CMD is a program (never a
 * builtin or function of the wrapper's shell), and the temporary directory it
 * makes under $TMPDIR is always removed; --view and --kind reach the
 * symbolizer; Ctrl-C (SIGINT to its process group), SIGTERM and SIGHUP end
 * the command, not the report; -o writes into a FIFO or through a link and
 * refuses a directory, or a name in a directory that is not there, before
 * the command runs (docs/safety.md), and a report that cannot be made
 * after the run keeps the dumps and says where; --html FILE
 * writes the HTML report there (--format html alone is refused: the
 * command's own output would go into the page), --lock-frames reaches the
 * symbolizer; --version says the VERSION file's version, as the
 * symbolizer and lockcontend-rawdump do.  Each test gives the wrapper a
 * TMPDIR of its own, so leftovers can be seen.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integration/harness.h"

/* scripts/lockcontend, or $LOCKCONTEND_TEST_WRAPPER (another copy of it,
 * to check a change by hand). */
static const char *wrapper(void)
{
	static char path[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_WRAPPER");
	const char *want = over && *over ? over : "scripts/lockcontend";
	cr_assert(realpath(want, path) != NULL, "%s: %s", want, strerror(errno));
	return path;
}

/* Run `lockcontend ARGS...` (NULL-terminated) in tmp with TMPDIR=tmp. */
static void run_wrapper(const char *tmp, const char *const args[], struct run_result *r)
{
	char env[PATH_MAX + 16];
	const char *argv[32] = {wrapper()};
	for (size_t i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	snprintf(env, sizeof(env), "TMPDIR=%s", tmp);
	const char *envv[] = {env, NULL};
	cr_assert_eq(harness_run(argv, envv, tmp, false, 90, r), 0);
	cr_assert(!r->timed_out, "lockcontend hung");
}

/* Start `lockcontend ARGS...` (NULL-terminated) in tmp with TMPDIR=tmp, as
 * a shell starts a foreground job: in a process group of its own
 * (harness_start), which a signal to -pid reaches whole. */
static void start_wrapper(const char *tmp, const char *const args[], struct harness_child *c)
{
	static char env[PATH_MAX + 16];
	const char *argv[32] = {wrapper()};
	for (size_t i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	snprintf(env, sizeof(env), "TMPDIR=%s", tmp);
	const char *envv[] = {env, NULL};
	harness_start(argv, envv, tmp, false, 90, c);
}

/* Nothing in tmp but `allowed` (NULL: nothing at all). */
static void assert_tmp_clean(const char *tmp, const char *allowed)
{
	DIR *d = opendir(tmp);
	cr_assert(d != NULL, "%s: %s", tmp, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cr_assert(allowed && !strcmp(e->d_name, allowed), "left behind in TMPDIR: %s",
		          e->d_name);
	}
	closedir(d);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static size_t count_of(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

Test(wrapper, exit_status_is_the_commands_and_report_is_printed)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp, (const char *[]){"--", harness_fixture("scenarios"), "exit", "7", NULL}, &r);
	cr_assert_eq(r.exit_code, 7, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert(strstr(r.out, "Top functions by wait"), "no report:\n%s", r.out);
	cr_assert(strstr(r.out, "      exit_contend ("), "exit_contend not on a stack:\n%s", r.out);
	cr_assert_eq(count_of(r.out, ") from "), 1, "one dump:\n%s", r.out);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

Test(wrapper, format_folded)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp,
	            (const char *[]){"--format", "folded", "--", harness_fixture("scenarios"), "exit",
	                             "0", NULL},
	            &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(!strstr(r.out, "Top functions"), "a text report:\n%s", r.out);
	const char *p = strstr(r.out, ";main;run_exit;exit_contend ");
	cr_assert(p != NULL, "no ...;main;run_exit;exit_contend VALUE line:\n%s", r.out);
	char *end;
	long long v = strtoll(p + strlen(";main;run_exit;exit_contend "), &end, 10);
	cr_assert(v > 5000000 && *end == '\n', "value %lld ns (the holder keeps the lock 20 ms)", v);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

Test(wrapper, view_and_kind_reach_the_symbolizer)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp,
	            (const char *[]){"--view", "holder", "--kind=mutex", "--", harness_fixture("scenarios"),
	                             "exit", "0", NULL},
	            &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "Holders: who made them wait"), "no holder view:\n%s", r.out);
	cr_assert(!strstr(r.out, "Waiters: who waited"), "the waiter view too:\n%s", r.out);
	cr_assert(strstr(r.out, "only mutex locks (--kind)"), "--kind did not arrive:\n%s", r.out);
	harness_result_free(&r);

	run_wrapper(tmp, (const char *[]){"--view=nobody", "--", "true", NULL}, &r);
	cr_assert_eq(r.exit_code, 2);
	cr_assert_eq(count_lines(r.err), 1, "one line:\n%s", r.err);
	cr_assert(strstr(r.err, "--view"), "%s", r.err);
	harness_result_free(&r);
	assert_tmp_clean(tmp, NULL);
}

/* --kind naming cond records the condition waits too (cond=1): the
 * report has the fixture's waits on its condition variable. */
Test(wrapper, kind_cond_records_condition_waits)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp,
	            (const char *[]){"--kind=mutex,cond", "--", harness_fixture("cond"), "signal", "3",
	                             "20", NULL},
	            &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "on event (cond) in "), "no condition wait:\n%s", r.out);
	cr_assert(strstr(r.out, "wait_for_signal"), "not its waiter:\n%s", r.out);
	harness_result_free(&r);
	assert_tmp_clean(tmp, NULL);
}

Test(wrapper, out_and_keep_leave_readable_dumps)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX], pat[PATH_MAX + 32], err[256];
	struct run_result r;
	glob_t g;
	snprintf(out, sizeof(out), "%s/dumps", tmp);
	run_wrapper(tmp,
	            (const char *[]){"--out", out, "--keep", "--", harness_fixture("scenarios"),
	                             "exit", "0", NULL},
	            &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "      exit_contend ("), "%s", r.out);
	cr_assert(strstr(r.err, out), "stderr does not say where the dumps are: %s", r.err);
	snprintf(pat, sizeof(pat), "%s/scenarios.*.raw", out);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no dump %s", pat);
	cr_assert_eq(g.gl_pathc, 1);
	struct dump d;
	cr_assert_eq(dump_read_file(g.gl_pathv[0], &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.complete && d.totals.contentions >= 1);
	dump_free(&d);
	globfree(&g);
	assert_tmp_clean(tmp, "dumps");
	harness_result_free(&r);
}

Test(wrapper, command_killed_by_a_signal_gives_128_plus_n)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp, (const char *[]){"--", "/bin/sh", "-c", "kill -TERM $$", NULL}, &r);
	cr_assert_eq(r.exit_code, 143, "exit %d (signal %d); stderr: %s", r.exit_code, r.signal,
	             r.err);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

/* The contentions of fn's row in the report's "Top functions by wait"
 * table; -1 if it has none. */
static long function_contentions(const char *out, const char *fn)
{
	char want[256];
	snprintf(want, sizeof(want), "  %s\n", fn);
	const char *top = strstr(out, "\nTop functions by wait");
	const char *p = top ? strstr(top, want) : NULL;
	if (!p)
		return -1;
	const char *num = p; /* back from the spaces before fn to its number */
	while (num > top && num[-1] != ' ')
		num--;
	return strtol(num, NULL, 10);
}

Test(wrapper, ctrl_c_ends_the_command_and_the_report_is_printed)
{
	/* A terminal's Ctrl-C is SIGINT to its foreground process group, the
	 * wrapper and the command alike.  The wrapper died of it too, and its
	 * exit trap deleted the dumps: no report of the run.  Now the command
	 * dies of it (its own default action) and the wrapper reports, with
	 * the command's status; the same for SIGTERM and SIGHUP to the group. */
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		const char *tmp = harness_tmpdir();
		struct harness_child c;
		struct run_result r;
		start_wrapper(tmp, (const char *[]){"--", harness_fixture("crash"), "kill", "2", "10",
		                                    NULL},
		              &c);
		cr_assert(harness_wait_line(&c, "ready"), "the command never got ready");
		cr_assert_eq(kill(-c.pid, sigs[i]), 0);
		harness_finish(&c, &r);
		cr_assert(!r.timed_out, "the wrapper hung after signal %d", sigs[i]);
		cr_assert_eq(r.signal, 0, "the wrapper died of signal %d; stdout:\n%s", r.signal, r.out);
		cr_assert_eq(r.exit_code, 128 + sigs[i], "signal %d: exit %d; stderr: %s", sigs[i],
		             r.exit_code, r.err);
		cr_assert(strstr(r.out, "\n  the writer died without a clean exit"), "signal %d:\n%s",
		          sigs[i], r.out);
		cr_assert_eq(function_contentions(r.out, "wait_before_kill"), 2, "signal %d:\n%s",
		             sigs[i], r.out);
		assert_tmp_clean(tmp, NULL);
		harness_result_free(&r);
	}
}

Test(wrapper, ctrl_c_the_command_handles_gives_its_status_and_a_complete_report)
{
	/* A server that stops cleanly on Ctrl-C: exit 0, its complete
	 * profile, and --keep keeps the dumps. */
	const char *tmp = harness_tmpdir();
	struct harness_child c;
	struct run_result r;
	start_wrapper(tmp, (const char *[]){"--keep", "--", harness_fixture("crash"), "sigint", "2",
	                                    "10", NULL},
	              &c);
	cr_assert(harness_wait_line(&c, "ready"), "the command never got ready");
	cr_assert_eq(kill(-c.pid, SIGINT), 0);
	harness_finish(&c, &r);
	cr_assert(!r.timed_out && r.signal == 0, "the wrapper hung or died (signal %d)", r.signal);
	cr_assert_eq(r.exit_code, 0, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert(strstr(r.out, "\n  complete: written when the program exited\n"), "%s", r.out);
	cr_assert_eq(function_contentions(r.out, "wait_before_sigint"), 2, "%s", r.out);
	const char *kept = strstr(r.err, "dumps kept in ");
	cr_assert(kept != NULL, "%s", r.err);
	char pat[PATH_MAX + 32];
	glob_t g;
	snprintf(pat, sizeof(pat), "%.*s/crash.*.raw", (int)strcspn(kept + 14, "\n"), kept + 14);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no dump kept: %s", pat);
	globfree(&g);
	harness_result_free(&r);
}

Test(wrapper, forking_command_gives_one_merged_report)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp, (const char *[]){"--", harness_fixture("scenarios"), "fork", "3", NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	/* one header: the processes' table, no paragraph per dump (each
	 * child contends for certain; the parent's spinners almost surely) */
	cr_assert(strstr(r.out, " processes contended: "), "no tree header:\n%s", r.out);
	cr_assert(strstr(r.out, "\nProcesses by wait ("), "no process table:\n%s", r.out);
	cr_assert_geq(count_of(r.out, "  exited "), 3, "not 3 children:\n%s", r.out);
	cr_assert_eq(count_of(r.out, ") from "), 0, "a header per dump:\n%s", r.out);
	cr_assert(strstr(r.out, "child_contend"), "no child stack:\n%s", r.out);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

/* A process tree where two processes of 23 contend: exactly their two
 * files, one report whose header is the table of those two; and with
 * --per-process a report each, and nothing for the others. */
Test(wrapper, a_process_tree_reports_only_the_processes_that_contended)
{
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX + 16], script[3 * PATH_MAX];
	struct run_result r;
	const char *kw = harness_fixture("known_wait");
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(script, sizeof(script),
	         "for i in $(seq 20); do /bin/true; done; %s 2 50 & %s 2 50; wait", kw, kw);
	run_wrapper(tmp, (const char *[]){"--out", out, "--", "bash", "-c", script, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(harness_count_files(out, "*"), 2, "not the two contending processes' files");
	cr_assert_eq(harness_count_files(out, "known_wait.*.raw"), 2);
	cr_assert(strstr(r.out, "2 processes contended: 4 contentions, "), "%s", r.out);
	cr_assert(strstr(r.out, "\nProcesses by wait (2;"), "%s", r.out);
	cr_assert_eq(count_of(r.out, "  exited  "), 2, "%s", r.out);
	cr_assert_eq(count_of(r.out, ") from "), 0, "a header per dump:\n%s", r.out);
	cr_assert_eq(function_contentions(r.out, "waiter_blocked"), 4, "%s", r.out);
	harness_result_free(&r);

	run_wrapper(tmp, (const char *[]){"--per-process", "--", "bash", "-c", script, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(count_of(r.out, "/known_wait (pid "), 2, "not a report each:\n%s", r.out);
	cr_assert_eq(count_of(r.out, "\nWaiters: "), 2, "%s", r.out);
	cr_assert(!strstr(r.out, "processes contended"), "%s", r.out);
	cr_assert(!strstr(r.out, "/bash (pid "), "%s", r.out);
	harness_result_free(&r);

	/* nothing contends: no file, no report, one line */
	run_wrapper(tmp, (const char *[]){"--", "bash", "-c", "for i in $(seq 20); do /bin/true; done", NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, "no lock contention was recorded"), "%s", r.err);
	assert_tmp_clean(tmp, "out");
	harness_result_free(&r);
}

Test(wrapper, output_file_instead_of_stdout)
{
	const char *tmp = harness_tmpdir();
	char file[PATH_MAX + 16];
	struct run_result r;
	snprintf(file, sizeof(file), "%s/report.pb.gz", tmp);
	run_wrapper(tmp,
	            (const char *[]){"--format", "pprof", "-o", file, "--",
	                             harness_fixture("scenarios"), "exit", "3", NULL},
	            &r);
	cr_assert_eq(r.exit_code, 3, "%s", r.err);
	cr_assert_str_empty(r.out);
	FILE *f = fopen(file, "rb");
	cr_assert(f != NULL, "no %s", file);
	int b0 = fgetc(f), b1 = fgetc(f);
	fclose(f);
	cr_assert(b0 == 0x1f && b1 == 0x8b, "not gzip");
	assert_tmp_clean(tmp, "report.pb.gz");
	harness_result_free(&r);
}

Test(wrapper, html_option_writes_one_page)
{
	const char *tmp = harness_tmpdir();
	char file[PATH_MAX + 16];
	struct run_result r;
	snprintf(file, sizeof(file), "%s/report.html", tmp);
	run_wrapper(tmp,
	            (const char *[]){"--html", file, "--", harness_fixture("scenarios"), "exit", "0",
	                             NULL},
	            &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_empty(r.out);
	FILE *f = fopen(file, "r");
	cr_assert(f != NULL, "no %s", file);
	static char page[4 << 20];
	size_t n = fread(page, 1, sizeof(page) - 1, f);
	fclose(f);
	page[n] = '\0';
	cr_assert(strncmp(page, "<!DOCTYPE html>", 15) == 0, "%.80s", page);
	cr_assert(strstr(page, "id=\"lc-data\"") && strstr(page, "\"exit_contend\""),
	          "no data, or no exit_contend in it");
	assert_tmp_clean(tmp, "report.html");
	harness_result_free(&r);
	/* without a file: one line, and the command is not run */
	run_wrapper(tmp,
	            (const char *[]){"--format", "html", "--", harness_fixture("scenarios"), "exit",
	                             "5", NULL},
	            &r);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "--format html needs -o FILE"), "%s", r.err);
	harness_result_free(&r);
}

Test(wrapper, lock_frames_reach_the_symbolizer)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp,
	            (const char *[]){"--format", "folded", "--lock-frames", "--",
	                             harness_fixture("scenarios"), "exit", "0", NULL},
	            &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, ";main;run_exit;exit_contend ") && strncmp(r.out, "_start;", 7) != 0,
	          "no lock as the root frame:\n%s", r.out);
	cr_assert(strchr(r.out, ';') < strstr(r.out, "_start;"), "%s", r.out);
	harness_result_free(&r);
	run_wrapper(tmp, (const char *[]){"--lock-frames", "--", "true", NULL}, &r);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "--lock-frames is for --format folded, pprof or html"), "%s", r.err);
	harness_result_free(&r);
}

Test(wrapper, output_fifo_or_link_is_written_into_and_a_directory_refused_first)
{
	/* -o as the symbolizer takes it (docs/safety.md): a FIFO is written
	 * into, not replaced; a link is followed, not replaced; a directory
	 * is refused, and before the command runs, not after. */
	const char *tmp = harness_tmpdir();
	char fifo[PATH_MAX + 16], link[PATH_MAX + 16], target[PATH_MAX + 16], ran[PATH_MAX + 16];
	struct harness_child reader;
	struct run_result r, rr;
	struct stat st;
	snprintf(fifo, sizeof(fifo), "%s/report.fifo", tmp);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	harness_start((const char *[]){"/bin/cat", fifo, NULL}, NULL, NULL, false, 30, &reader);
	run_wrapper(tmp, (const char *[]){"-o", fifo, "--", harness_fixture("scenarios"), "exit", "0",
	                                  NULL},
	            &r);
	harness_finish(&reader, &rr);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(!rr.timed_out && strstr(rr.out, "      exit_contend ("), "no report came through "
	          "the FIFO; stderr: %s", r.err);
	cr_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
	harness_result_free(&r);
	harness_result_free(&rr);

	snprintf(link, sizeof(link), "%s/link.txt", tmp);
	snprintf(target, sizeof(target), "%s/target.txt", tmp);
	FILE *f = fopen(target, "w");
	cr_assert(f && fputs("old\n", f) >= 0 && fclose(f) == 0);
	cr_assert_eq(symlink("target.txt", link), 0);
	run_wrapper(tmp, (const char *[]){"-o", link, "--", harness_fixture("scenarios"), "exit", "0",
	                                  NULL},
	            &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
	cr_assert(stat(target, &st) == 0 && st.st_size > 100, "the report is not in its file");
	harness_result_free(&r);

	snprintf(ran, sizeof(ran), "%s/ran", tmp);
	run_wrapper(tmp, (const char *[]){"-o", tmp, "--", "/bin/touch", ran, NULL}, &r);
	cr_assert_eq(r.exit_code, 2, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert(count_lines(r.err) == 1 && strstr(r.err, tmp), "%s", r.err);
	cr_assert(access(ran, F_OK) != 0, "the command ran, for no report");
	harness_result_free(&r);
}

/* The directory named in "...; the dumps are kept in DIR" (one line), which
 * must hold a dump; then removed. */
static void assert_dumps_kept(const char *err)
{
	const char *say = "the dumps are kept in ";
	const char *at = strstr(err, say);
	cr_assert(at != NULL, "where the dumps are is not said:\n%s", err);
	char dir[PATH_MAX], pat[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(at + strlen(say), "\n"), at + strlen(say));
	snprintf(pat, sizeof(pat), "%s/*.raw", dir);
	glob_t g;
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no dump kept in %s", dir);
	for (size_t i = 0; i < g.gl_pathc; i++)
		unlink(g.gl_pathv[i]);
	globfree(&g);
	cr_assert_eq(rmdir(dir), 0, "%s: %s", dir, strerror(errno));
}

Test(wrapper, report_failure_is_the_status_when_the_command_succeeded)
{
	/* The script's rule: CMD's status, unless CMD succeeded and no report
	 * could be made: here -o's directory was there when the run began (it
	 * is checked then) and CMD removed it.  The run's dumps are kept, and
	 * where said (before, the temporary directory went with them). */
	const char *tmp = harness_tmpdir();
	char dir[PATH_MAX], file[PATH_MAX + 16], script[3 * PATH_MAX];
	struct run_result r;
	snprintf(dir, sizeof(dir), "%s/reports", tmp);
	snprintf(file, sizeof(file), "%s/r.txt", dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(script, sizeof(script), "'%s' exit 0 && rmdir '%s'", harness_fixture("scenarios"),
	         dir);
	run_wrapper(tmp, (const char *[]){"-o", file, "--", "/bin/sh", "-c", script, NULL}, &r);
	cr_assert_eq(r.exit_code, 1, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert(access(dir, F_OK) != 0, "the command did not remove %s", dir);
	cr_assert(strstr(r.err, file), "%s", r.err);
	assert_dumps_kept(r.err);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

/* The pid of `parent`'s child named `comm` (/proc: its comm, 15 bytes at
 * most), or 0. */
static pid_t child_named(pid_t parent, const char *comm)
{
	char path[64], buf[256], name[32];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	pid_t found = 0;
	for (int pid; !found && fscanf(f, "%d", &pid) == 1;) {
		snprintf(buf, sizeof(buf), "/proc/%d/comm", pid);
		FILE *c = fopen(buf, "r");
		if (c && fgets(name, sizeof(name), c) && !strncmp(name, comm, strcspn(name, "\n")))
			found = pid;
		if (c)
			fclose(c);
	}
	fclose(f);
	return found;
}

/* Ctrl-C while the report is made (here: the symbolizer waits for a reader
 * of its -o FIFO) stops the report, never the run: the dumps are kept and
 * where said, and the wrapper ends of SIGINT (before: its exit trap removed
 * them with the temporary directory). */
Test(wrapper, ctrl_c_during_the_report_keeps_the_dumps)
{
	const char *tmp = harness_tmpdir();
	char fifo[PATH_MAX + 16];
	struct harness_child c;
	struct run_result r;
	snprintf(fifo, sizeof(fifo), "%s/report.fifo", tmp);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	start_wrapper(tmp, (const char *[]){"-o", fifo, "--", harness_fixture("scenarios"), "exit",
	                                    "0", NULL},
	              &c);
	pid_t sym = 0;
	for (int i = 0; i < 6000 && !sym; i++) { /* 60 s at most, never a guess */
		sym = child_named(c.pid, "lockcontend-sym");
		if (!sym)
			usleep(10000);
	}
	cr_assert(sym != 0, "the report never began");
	cr_assert_eq(kill(-c.pid, SIGINT), 0);
	harness_finish(&c, &r);
	cr_assert(!r.timed_out, "the wrapper hung");
	cr_assert_eq(r.signal, SIGINT, "exit %d, signal %d; stderr: %s", r.exit_code, r.signal,
	             r.err);
	cr_assert(strstr(r.err, "the report was stopped"), "%s", r.err);
	assert_dumps_kept(r.err);
	assert_tmp_clean(tmp, "report.fifo");
	harness_result_free(&r);
}

/* -o FILE in a directory that is not there: one line, before the command
 * runs (before, the whole run, then no report, and its dumps removed). */
Test(wrapper, output_in_no_directory_is_refused_before_the_command)
{
	const char *tmp = harness_tmpdir();
	char file[PATH_MAX + 16], ran[PATH_MAX + 8];
	struct run_result r;
	snprintf(file, sizeof(file), "%s/no/such/dir/r.txt", tmp);
	snprintf(ran, sizeof(ran), "%s/ran", tmp);
	for (int per_process = 0; per_process < 2; per_process++) {
		const char *opt = per_process ? "--per-process" : "--keep";
		run_wrapper(tmp, (const char *[]){opt, "-o", file, "--", "/bin/touch", ran, NULL}, &r);
		cr_assert_eq(r.exit_code, 2, "exit %d; stderr: %s", r.exit_code, r.err);
		cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
		cr_assert(strstr(r.err, file), "%s", r.err);
		cr_assert(access(ran, F_OK) != 0, "the command ran, for no report");
		assert_tmp_clean(tmp, NULL);
		harness_result_free(&r);
	}
}

/* --out FILE (a file, not a directory) and an option without its value:
 * one line each (before: mkdir's line and ours; the whole usage). */
Test(wrapper, out_not_a_directory_and_a_missing_value_are_one_line)
{
	const char *tmp = harness_tmpdir();
	char file[PATH_MAX + 16];
	struct run_result r;
	snprintf(file, sizeof(file), "%s/afile", tmp);
	FILE *f = fopen(file, "w");
	cr_assert(f && fclose(f) == 0);
	run_wrapper(tmp, (const char *[]){"--out", file, "--", "/bin/true", NULL}, &r);
	cr_assert_eq(r.exit_code, 2, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
	cr_assert(strstr(r.err, "not a directory"), "%s", r.err);
	harness_result_free(&r);
	for (const char *const *opt = (const char *const[]){"--out", "-o", "--rate", NULL}; *opt;
	     opt++) {
		run_wrapper(tmp, (const char *[]){*opt, NULL}, &r);
		cr_assert_eq(r.exit_code, 2, "%s: exit %d; stderr: %s", *opt, r.exit_code, r.err);
		cr_assert_eq(count_lines(r.err), 1, "%s: one line, got:\n%s", *opt, r.err);
		cr_assert(strstr(r.err, "needs a value"), "%s", r.err);
		cr_assert_str_empty(r.out);
		harness_result_free(&r);
	}
	run_wrapper(tmp, (const char *[]){"diff", "--top", NULL}, &r);
	cr_assert_eq(r.exit_code, 2, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
	harness_result_free(&r);
	assert_tmp_clean(tmp, "afile");
}

Test(wrapper, missing_command_is_one_line)
{
	const char *tmp = harness_tmpdir();
	char cmd[PATH_MAX + 16];
	struct run_result r;
	snprintf(cmd, sizeof(cmd), "%s/no-such-command", tmp);
	run_wrapper(tmp, (const char *[]){"--", cmd, NULL}, &r);
	cr_assert_neq(r.exit_code, 0);
	cr_assert_eq(r.signal, 0);
	cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
	cr_assert(strstr(r.err, "no-such-command"), "%s", r.err);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

/* CMD is a program, found as exec finds it: a name that is only one of the
 * wrapper's own functions (usage) or a bash builtin (exit) is not found,
 * never run inside the wrapper's shell, where `usage` printed the
 * wrapper's help and `exit 7` ended the wrapper with status 7, unprofiled. */
Test(wrapper, command_is_a_program_never_the_wrappers_shell)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp, (const char *[]){"--", "usage", NULL}, &r);
	cr_assert_eq(r.exit_code, 127, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert_str_eq(r.out, "", "the wrapper's usage was run:\n%s", r.out);
	cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
	cr_assert(strstr(r.err, "usage: command not found"), "%s", r.err);
	harness_result_free(&r);
	run_wrapper(tmp, (const char *[]){"--", "exit", "7", NULL}, &r);
	cr_assert_eq(r.exit_code, 127, "exit %d; stderr: %s", r.exit_code, r.err);
	cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

/* The one version string, VERSION (the Makefile builds it into the tools). */
static void read_version(char *buf, size_t cap)
{
	FILE *f = fopen("VERSION", "r");
	cr_assert(f != NULL, "VERSION: %s", strerror(errno));
	cr_assert(fgets(buf, (int)cap, f) != NULL, "VERSION is empty");
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	cr_assert(buf[0], "VERSION is empty");
}

Test(wrapper, version_is_the_version_files_in_every_tool)
{
	const char *tmp = harness_tmpdir();
	char version[64], want[128], exe[PATH_MAX];
	struct run_result r;
	read_version(version, sizeof(version));
	run_wrapper(tmp, (const char *[]){"--version", NULL}, &r);
	snprintf(want, sizeof(want), "lockcontend %s\n", version);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, want);
	harness_result_free(&r);
	for (const char *const *tool = (const char *const[]){"lockcontend-symbolize",
	                                                     "lockcontend-rawdump", NULL};
	     *tool; tool++) {
		snprintf(exe, sizeof(exe), "build/%s", *tool);
		cr_assert_eq(harness_run((const char *[]){exe, "--version", NULL}, NULL, NULL, false,
		                         30, &r),
		             0);
		snprintf(want, sizeof(want), "%s %s\n", *tool, version);
		cr_assert_eq(r.exit_code, 0, "%s: %s", exe, r.err);
		cr_assert_str_eq(r.out, want);
		harness_result_free(&r);
	}
}

Test(wrapper, no_command_is_one_line)
{
	const char *tmp = harness_tmpdir();
	struct run_result r;
	run_wrapper(tmp, (const char *[]){"--", NULL}, &r);
	cr_assert_neq(r.exit_code, 0);
	cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
	assert_tmp_clean(tmp, NULL);
	harness_result_free(&r);
}

Test(wrapper, reused_out_dir_reports_only_this_run)
{
	/* A second run into the same --out DIR must not merge the first
	 * run's dumps into its report. */
	const char *tmp = harness_tmpdir();
	char out[PATH_MAX];
	struct run_result r;
	snprintf(out, sizeof(out), "%s/dumps", tmp);
	for (int run = 0; run < 2; run++) {
		run_wrapper(tmp, (const char *[]){"--out", out, "--", harness_fixture("scenarios"),
		                                  "exit", "0", NULL},
		            &r);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert_eq(count_of(r.out, ") from "), 1, "run %d reports:\n%s", run + 1, r.out);
		harness_result_free(&r);
	}
}
