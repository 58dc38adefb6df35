/*
 * test_hostile.c — programs that are hard on what lives in their process:
 * a daemon that closes every descriptor it did not open, children made
 * without fork's handlers, a collector that stops the world with signals,
 * threads cancelled while they contend, a signal handler that siglongjmps
 * out of a lock call (test/fixtures/hostile.c).  Each was broken by the
 * preload before 8ca5dbb; each test fails there (see the comments).
 *
 * What a user needs, whatever the program does: it runs as it runs
 * without the preload — same stdout, same exit status, the same files
 * with the same bytes, never killed (SIGBUS) nor hung (every run has a
 * watchdog: the harness kills a run that outlives it and the test fails)
 * — and its profile reads, complete, every view adding up, with its own
 * waits and no other process's, on the stacks that waited, and the holder
 * view never charged more than was waited.
 *
 * Each run gets a fresh directory, its working directory, with its
 * profiles there as hostile.<pid>.raw.  A fixture's stdout is the same in
 * every run; what it measured (or pids) it prints on stderr.
 *
 * siglongjmp_at_any_moment_of_the_lock_call: a jump out of a lock call
 * while the preload is still at work on the wait (see there); 8ca5dbb to
 * 3ed97dd fail it nearly every run.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "integration/harness.h"

/* ---- running it ---- */

/* `hostile MODE` in a fresh *dir (its cwd), with the preload and
 * LOCKCONTEND=cfg,out=DIR/hostile.%p.raw, or without either. */
static void hostile_run(const char *mode, bool preload, const char *cfg, int timeout_s,
                        const char **dir, struct run_result *r)
{
	static char env[PATH_MAX + 256];
	const char *argv[] = {harness_fixture("hostile"), mode, NULL};
	*dir = harness_tmpdir();
	snprintf(env, sizeof(env), "LOCKCONTEND=%s%sout=%s/hostile.%%p.raw", cfg ? cfg : "",
	         cfg ? "," : "", *dir);
	const char *envv[] = {env, NULL};
	cr_assert_eq(harness_run(argv, preload ? envv : NULL, *dir, preload, timeout_s, r), 0,
	             "cannot run hostile %s", mode);
}

/* r ended by itself, as base did: not hung, not killed, the same exit
 * status and stdout. */
static void expect_same_run(const char *mode, const struct run_result *base,
                            const struct run_result *r)
{
	cr_assert(!base->timed_out && base->signal == 0 && base->exit_code == 0,
	          "hostile %s without the preload: exit %d signal %d%s\n%s%s", mode,
	          base->exit_code, base->signal, base->timed_out ? " (hung)" : "", base->out,
	          base->err);
	cr_assert(!r->timed_out, "hostile %s hung under the preload (the watchdog killed it); "
	          "stdout:\n%s\nstderr:\n%s", mode, r->out, r->err);
	cr_assert_eq(r->signal, 0, "hostile %s was killed by signal %d (%s); stderr:\n%s", mode,
	             r->signal, strsignal(r->signal), r->err);
	cr_assert_eq(r->exit_code, base->exit_code, "hostile %s: exit %d, %d without the preload\n%s%s",
	             mode, r->exit_code, base->exit_code, r->out, r->err);
	cr_assert_str_eq(r->out, base->out, "hostile %s: stdout differs from the run without the "
	                 "preload; stderr:\n%s", mode, r->err);
}

/* The run without the preload, then with it; both must end. */
static void run_both(const char *mode, const char *cfg, int timeout_s, const char **base_dir,
                     struct run_result *base, const char **dir, struct run_result *r)
{
	hostile_run(mode, false, NULL, timeout_s, base_dir, base);
	hostile_run(mode, true, cfg, timeout_s, dir, r);
	expect_same_run(mode, base, r);
}

/* ---- files ---- */

/* The whole of a file (malloc'd), its size in *len. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	cr_assert(buf != NULL);
	for (size_t k; (k = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += k;
		if (n == cap) {
			buf = realloc(buf, cap *= 2);
			cr_assert(buf != NULL);
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* dir/name has exactly the bytes of base_dir/name (the run without the
 * preload); a size that differs is reported with where the NULs start. */
static void expect_same_file(const char *base_dir, const char *dir, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	size_t na, nb;
	snprintf(a, sizeof(a), "%s/%s", base_dir, name);
	snprintf(b, sizeof(b), "%s/%s", dir, name);
	char *want = slurp(a, &na), *got = slurp(b, &nb);
	const char *nul = memchr(got, '\0', nb);
	cr_assert(nb == na && memcmp(got, want, na) == 0,
	          "%s: %zu bytes under the preload, %zu without%s; first NUL at %td", name, nb, na,
	          nb == na ? " (same size, other bytes)" : "", nul ? nul - got : (ptrdiff_t)-1);
	free(want);
	free(got);
}

/* The names in dir but the profiles (hostile.*), sorted, one a line. */
static char *program_files(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);
	cr_assert(n >= 0, "%s: %s", dir, strerror(errno));
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	cr_assert(out != NULL);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (strcmp(name, ".") && strcmp(name, "..") && strncmp(name, "hostile.", 8) &&
		    len + strlen(name) + 2 < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s\n", name);
		free(list[i]);
	}
	free(list);
	return out;
}

static void expect_same_files(const char *base_dir, const char *dir)
{
	char *want = program_files(base_dir), *got = program_files(dir);
	cr_assert_str_eq(got, want, "files made with the preload:\n%swithout:\n%s", got, want);
	free(want);
	free(got);
}

/* ---- profiles ---- */

static void load(const char *path, struct dump *d)
{
	char err[256];
	cr_assert_eq(dump_read_file(path, d, err, sizeof(err)), 0, "%s: %s", path, err);
}

/* Complete (a trailer; LIVE exited) and every view adds up: buckets plus
 * the sentinel are the totals. */
static void expect_complete(const char *path, const struct dump *d)
{
	cr_assert(d->complete, "%s is not complete: %s", path, d->warning);
	cr_assert_eq(d->live.state, LC_LIVE_EXITED, "%s: LIVE state %u", path, d->live.state);
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t c, n, wc, wn;
		dump_sum(d, (enum lc_view)v, &c, &n);
		dump_view_totals(d, (enum lc_view)v, &wc, &wn);
		cr_assert(dump_view_conserved(d, (enum lc_view)v),
		          "%s: view %d does not add up: stacks + sentinel %" PRIu64 " events, %" PRIu64
		          " ns; totals %" PRIu64 " events, %" PRIu64 " ns", path, v, c, n, wc, wn);
	}
}

/* The holder view is charged no more than was waited: every charge is
 * waiting some recorded waiter did; and, every wait having ended by the
 * clean exit, charges + uncharged == waits to the nanosecond. */
static void expect_charged_at_most_waited(const char *path, const struct dump *d)
{
	const struct lc_rec_totals *t = &d->totals;
	cr_assert(t->delay_ns > 0, "%s: no waiting recorded at all", path);
	cr_assert_leq(t->caused_ns, t->delay_ns,
	              "%s: the holder view charges %.3f s of waiting, but only %.3f s was waited "
	              "(%" PRIu64 " unlocks charged, %" PRIu64 " waits)", path, t->caused_ns / 1e9,
	              t->delay_ns / 1e9, t->caused_count, t->contentions);
	cr_assert_eq(t->caused_ns + t->uncharged_ns, t->delay_ns,
	             "%s: charged %" PRIu64 " + uncharged %" PRIu64 " ns != waited %" PRIu64 " ns",
	             path, t->caused_ns, t->uncharged_ns, t->delay_ns);
}

/* The only profile of a run that makes one process. */
static void only_profile(const char *dir, char path[PATH_MAX], struct dump *d)
{
	harness_one_file(dir, "hostile.*.raw", path);
	load(path, d);
}

static uint64_t count_in(const struct dump *d, const char *fn, uint64_t *delay)
{
	uint64_t count = 0, ns = 0;
	if (d->nbuckets)
		harness_sum_function(d, harness_fixture("hostile"), fn, &count, &ns);
	if (delay)
		*delay = ns;
	return count;
}

/* ---- 1. closefrom: no descriptor of ours to lose ---- */

/* A daemon closes every descriptor (close_range(3, ~0U, 0)) while its
 * threads append new stacks to the profile, then opens a log — fd 3 — and
 * writes 200,000 bytes while the profile keeps growing past 1 MiB steps.
 * The log is exactly what the program wrote, as without the preload, and
 * the profile grew on and closed.  (29d2462 kept the profile's descriptor,
 * 3, and fallocate'd the log instead: the profile, no longer growing,
 * raised SIGBUS; or the log had megabytes of zeros.) */
Test(hostile, closefrom_then_a_log_of_its_own)
{
	const char *base_dir, *dir;
	struct run_result base, r;
	char path[PATH_MAX];
	struct dump d;
	run_both("closefrom", "arena=64M", 30, &base_dir, &base, &dir, &r);
	cr_assert_eq(harness_out_value(base.out, "log_fd"), 3, "the log did not get fd 3");
	cr_assert_eq(harness_out_value(base.out, "log_bytes"), 200000);
	struct stat st;
	char log[PATH_MAX];
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	cr_assert_eq(stat(log, &st), 0, "%s: %s", log, strerror(errno));
	cr_assert_eq(st.st_size, 200000, "daemon.log has %lld bytes, the program wrote 200000",
	             (long long)st.st_size);
	expect_same_file(base_dir, dir, "daemon.log");
	expect_same_files(base_dir, dir);
	cr_assert_str_empty(r.err, "stderr under the preload:\n%s", r.err);
	only_profile(dir, path, &d);
	expect_complete(path, &d);
	/* it grew past 1 MiB steps while the log was open: the 300 rounds
	 * before close_range make some 250 KB, the 4000 after some 3 MB */
	cr_assert_gt(d.stop_offset, 2u << 20, "%s: only %" PRIu64 " bytes: the scenario did not "
	             "make the profile grow", path, d.stop_offset);
	dump_free(&d);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* A fork child closefrom(3)s, opens its output (fd 3), dup2()s it to
 * stdout, then execs echo, or printf()s and exit()s.  The output files
 * hold what was written, no NULs after it.  (29d2462's child cut "its"
 * profile, fd 3 — the output — to the profile's length at exec and at
 * exit.) */
Test(hostile, closefrom_in_a_fork_child_then_exec_or_exit)
{
	const char *base_dir, *dir;
	struct run_result base, r;
	run_both("closefrom_child", NULL, 30, &base_dir, &base, &dir, &r);
	cr_assert_eq(harness_out_value(base.out, "exec_child_status"), 0, "%s", base.out);
	cr_assert_eq(harness_out_value(base.out, "write_child_status"), 0, "%s", base.out);
	expect_same_file(base_dir, dir, "exec.out");
	expect_same_file(base_dir, dir, "write.out");
	expect_same_files(base_dir, dir);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* ---- 2. a child made without fork's handlers ---- */

static uint64_t err_value(const struct run_result *r, const char *key)
{
	return harness_out_value(r->err, key);
}

/* Of the run's profiles, the one whose META says pid. */
static bool profile_of(const char *dir, uint64_t pid, char path[PATH_MAX], struct dump *d)
{
	char pat[PATH_MAX];
	glob_t g;
	bool found = false;
	snprintf(pat, sizeof(pat), "%s/hostile.*.raw", dir);
	if (glob(pat, 0, NULL, &g) != 0)
		return false;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		struct dump x;
		char err[256];
		if (dump_read_file(g.gl_pathv[i], &x, err, sizeof(err)) != 0)
			continue;
		if (x.meta.pid == pid) {
			snprintf(path, PATH_MAX, "%s", g.gl_pathv[i]);
			*d = x;
			found = true;
		} else {
			dump_free(&x);
		}
	}
	globfree(&g);
	return found;
}

/* The parent keeps appending stacks while the child (syscall(SYS_fork),
 * _Fork() or a raw clone: no fork handler runs) waits 3 times in
 * raw_child_wait() and exit()s, and after.  The parent is not killed and
 * exits 0; its profile is complete, adds up and holds its own waits
 * (parent_after_child) and none of the child's; the child has a profile of
 * its own, complete, with its 3 waits.  (29d2462's child wrote into the
 * parent's file and, at exit, closed it and cut it short: the parent died
 * of SIGBUS at its next new stack, or its profile held raw_child_wait.) */
static void expect_child_apart(const char *mode)
{
	const char *base_dir, *dir;
	struct run_result base, r;
	char ppath[PATH_MAX], cpath[PATH_MAX];
	struct dump p, c;
	run_both(mode, NULL, 30, &base_dir, &base, &dir, &r);
	uint64_t parent = err_value(&r, "parent_pid"), child = err_value(&r, "child_pid");
	cr_assert(profile_of(dir, parent, ppath, &p), "no profile of the parent (pid %" PRIu64 ")",
	          parent);
	expect_complete(ppath, &p);
	uint64_t n = count_in(&p, "raw_child_wait", NULL);
	cr_assert_eq(n, 0, "%s: the parent's profile holds %" PRIu64 " of the child's waits "
	             "(raw_child_wait)", ppath, n);
	n = count_in(&p, "parent_after_child", NULL);
	cr_assert_eq(n, 3, "%s: %" PRIu64 " of the parent's 3 waits after the child "
	             "(parent_after_child; it measured %" PRIu64 " ns)", ppath, n,
	             err_value(&r, "parent_ns"));
	cr_assert(profile_of(dir, child, cpath, &c), "the child (pid %" PRIu64 ") has no profile "
	          "of its own", child);
	expect_complete(cpath, &c);
	n = count_in(&c, "raw_child_wait", NULL);
	cr_assert_eq(n, 3, "%s: %" PRIu64 " of the child's 3 waits in its profile", cpath, n);
	cr_assert_eq(count_in(&c, "parent_after_child", NULL), 0);
	dump_free(&p);
	dump_free(&c);
	harness_result_free(&base);
	harness_result_free(&r);
}

Test(hostile, syscall_fork_child_writes_its_own_profile)
{
	expect_child_apart("fork_syscall");
}

Test(hostile, underscore_fork_child_writes_its_own_profile)
{
	expect_child_apart("fork_underscore");
}

Test(hostile, raw_clone_child_writes_its_own_profile)
{
	expect_child_apart("fork_clone");
}

/* ---- 3. stop the world ---- */

/* Run MODE with and without the preload (60 s watchdog): the same; it
 * printed `key want`; its profile is complete, adds up, and the holder
 * view is charged no more than was waited. */
static void expect_runs_and_adds_up(const char *mode, const char *key, uint64_t want)
{
	const char *base_dir, *dir;
	struct run_result base, r;
	char path[PATH_MAX];
	struct dump d;
	run_both(mode, NULL, 60, &base_dir, &base, &dir, &r);
	cr_assert_eq(harness_out_value(r.out, key), want);
	only_profile(dir, path, &d);
	expect_complete(path, &d);
	expect_charged_at_most_waited(path, &d);
	dump_free(&d);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* 400 collections, Boehm-style: every mutator parked in a SIGPWR handler
 * (sigsuspend until SIGXCPU) wherever it was, possibly inside a lock call,
 * often one it waits in with another lock held; the collector then
 * trylocks their mutexes and calls dl_iterate_phdr.  It ends within the
 * watchdog (60 s; it takes about a second, as without the preload), and
 * its profile adds up.  (29d2462 hung every run: a mutator stopped while
 * unwinding with a lock held kept the collector's dl_iterate_phdr waiting
 * for ever; the preload's spin flags could stop it the same way.) */
Test(hostile, stop_the_world_collector_never_hangs)
{
	expect_runs_and_adds_up("stw", "collections", 400);
}

/* ---- 4. cancellation ---- */

/* 60 rounds of 4 workers cancelled (deferred) while they contend, nested
 * too, half of them before they have run; they may end only at their
 * pthread_testcancel(), where they hold no lock.  No hang, same output, a
 * profile that adds up, the holder view charged no more than was waited.
 * (29d2462's own syscalls were cancellation points — libunwind's read()
 * when a thread first unwinds, growing the file: a worker died inside its
 * lock call of lock 1 with lock 0 held, and the next round hung, every
 * run.) */
Test(hostile, cancelled_while_contending)
{
	expect_runs_and_adds_up("cancel", "cancelled", 240);
}

/* Threads asleep in pthread_cond_wait (a cleanup handler unlocks the
 * mutex) cancelled while others contend on that mutex, 60 rounds, half of
 * them cancelled before their first contended lock call.  No hang, and the
 * holder view is charged no more than was waited.  (29d2462: a sleeper
 * whose cancellation struck inside its contended lock call — libunwind's
 * read() — stayed registered as a waiter for ever, and every later unlock
 * was charged its age: 27 to 55 s charged for 2.3 to 3 s waited.) */
Test(hostile, cancelled_in_cond_wait_charges_no_more_than_waited)
{
	expect_runs_and_adds_up("cancel_cond", "cancelled", 180);
}

/* 40 rounds of 2 threads with asynchronous cancellation cancelled while
 * they sleep, one in pthread_mutex_lock, one in a raw FUTEX_WAIT, then 10
 * honest waits on the same lock and word.  No hang, same output, and the
 * holder view is charged no more than was waited.  (Before 60dc82c
 * the cancelled waits stayed registered on their lock and word: each
 * later unlock and wake was charged their age, and the profile had no
 * wait for it — 4 s charged for 0.4 s waited, every run.) */
Test(hostile, cancelled_asynchronously_charges_no_more_than_waited)
{
	expect_runs_and_adds_up("cancel_async", "cancelled", 80);
}

/* ---- 5. siglongjmp out of a lock call ---- */

/* Threads with a cleanup handler siglongjmp out of a contended sem_wait
 * and pthread_mutex_lock (jmp_buf on the stack, and in TLS), and are then
 * cancelled at a usleep: each is cancelled, its own handler runs, and the
 * program runs as without the preload.  (Before 96d8688 the
 * preload's cleanup buffer, registered with the thread by
 * pthread_cleanup_push, stayed registered after the jump, and the
 * cancellation unwound into the dead frame: SIGSEGV, every run.) */
Test(hostile, jump_out_of_a_wait_then_cancelled)
{
	const char *base_dir, *dir;
	struct run_result base, r;
	run_both("jump_then_cancel", NULL, 30, &base_dir, &base, &dir, &r);
	cr_assert_eq(harness_out_value(r.out, "cancelled"), 4);
	cr_assert_eq(harness_out_value(r.out, "cleanups"), 4);
	harness_result_free(&base);
	harness_result_free(&r);
}


/* `hostile MODE` jumps `jumps` times out of lock calls, then J waits 5 x
 * 20 ms in jump_later_wait() while two threads take the abandoned locks
 * 800 times, contended.  (a) The holder view is charged no more than was
 * waited; (b) J's later waits are on their stack: 5, within 10% of what J
 * measured, less at most J's run delay over them (a preemption between
 * J's clock and the hook's, by the spinning threads or any other, is in
 * J's measure only), in the file and in the symbolizer's report; and the
 * program runs as without the preload. */
static void expect_jumps_left_cleanly(const char *mode, int jumps)
{
	const char *base_dir, *dir;
	struct run_result base, r;
	char path[PATH_MAX];
	struct dump d;
	run_both(mode, NULL, 30, &base_dir, &base, &dir, &r);
	cr_assert_eq(harness_out_value(r.out, "jumped"), (uint64_t)jumps);
	uint64_t later = err_value(&r, "later_ns"), later_delayed = err_value(&r, "later_delayed_ns");
	only_profile(dir, path, &d);
	expect_complete(path, &d);
	/* (a) and (b) are independent: each says its own failure */
	cr_expect_leq(d.totals.caused_ns, d.totals.delay_ns,
	              "%s: the holder view charges %.3f s of waiting, but only %.3f s was waited",
	              path, d.totals.caused_ns / 1e9, d.totals.delay_ns / 1e9);
	uint64_t delay, lost, lost_ns;
	uint64_t count = count_in(&d, "jump_later_wait", &delay);
	dump_lost_sum(&d, LC_VIEW_WAIT, &lost, &lost_ns);
	cr_assert_eq(count, 5, "%s: %" PRIu64 " waits on the stack of jump_later_wait, want 5 "
	             "(J measured %.3f s; the sentinel has %" PRIu64 " waits, %.3f s; the totals "
	             "%" PRIu64 " waits, %.3f s)", path, count, later / 1e9, lost, lost_ns / 1e9,
	             d.totals.contentions, d.totals.delay_ns / 1e9);
	harness_assert_wait(delay, later, later_delayed, 0.10, "jump_later_wait (the file)");
	expect_charged_at_most_waited(path, &d);
	char *folded = harness_folded(path, "waiter", NULL);
	harness_assert_wait(harness_folded_sum(folded, "jump_later_wait", NULL), later, later_delayed,
	                    0.10, "jump_later_wait (the symbolizer)");
	free(folded);
	dump_free(&d);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* One jump, 50 ms into J's wait for a lock H holds 300 ms: the alarm-
 * timeout idiom.  (29d2462 left J registered on the abandoned lock: 8.5 s
 * charged for 0.3 s waited; and J stayed "inside a wait", so each of its
 * later waits went to the sentinel, none to jump_later_wait.) */
Test(hostile, siglongjmp_out_of_a_lock_call)
{
	expect_jumps_left_cleanly("longjmp", 1);
}

/* 20 jumps, the alarm 0, 5, ... 95 us after J starts its lock call.  One
 * that arrives while the preload is still at work on the wait jumps out of
 * our own code, with lc_tls.guard up.  8ca5dbb..3ed97dd failed it nearly
 * every run: the wait was not known yet (t->wait), so recorder_abandon did
 * nothing, the wait's cell stayed on the lock and the guard stayed up for
 * good; J's later waits were then re-entrant (in the sentinel), or in no
 * total at all when the jump came before J had a slot.  Now the wait is
 * the thread's from the moment it is sampled, and the interrupted work is
 * repaired (recorder_repair). */
Test(hostile, siglongjmp_at_any_moment_of_the_lock_call)
{
	expect_jumps_left_cleanly("longjmp_any", 20);
}
