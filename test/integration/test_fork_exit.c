/*
 * test_fork_exit.c — processes: a forked child gets its own, empty profile
 * (and one forked by a signal handler inside our work leaves its parent's
 * alone);
 * the exit status is the program's, whether or not the dump can be written;
 * a process that uses no lock has no profile made at all (no memory
 * reserved for it: lifecycle.c, issue 13's start-up cost).
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integration/harness.h"

static void run_env(const char *dir, const char *lc, const char *const args[], struct run_result *r)
{
	char env[1024];
	snprintf(env, sizeof(env), "LOCKCONTEND=%s", lc);
	const char *argv[8] = {harness_fixture("scenarios")};
	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	const char *envv[] = {env, NULL};
	cr_assert_eq(harness_run(argv, envv, dir, true, 120, r), 0);
	cr_assert(!r->timed_out, "scenarios %s hung", args[0]);
}

Test(fork, each_child_has_its_own_empty_profile)
{
	const char *dir = harness_tmpdir();
	const char *exe = harness_fixture("scenarios");
	struct run_result r;
	char lc[600];
	snprintf(lc, sizeof(lc), "out=%s/f.%%p.raw", dir);
	run_env(dir, lc, (const char *[]){"fork", "8", NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	char pat[600];
	snprintf(pat, sizeof(pat), "%s/f.*.raw", dir);
	glob_t g;
	cr_assert_eq(glob(pat, 0, NULL, &g), 0);
	cr_assert_eq(g.gl_pathc, 9, "expected parent + 8 children dumps, got %zu", g.gl_pathc);
	int parents = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct dump d;
		char err[256];
		cr_assert_eq(dump_read_file(g.gl_pathv[i], &d, err, sizeof(err)), 0, "%s", err);
		cr_assert(d.complete);
		uint64_t cc, cd, sc, sd;
		harness_sum_function(&d, exe, "child_contend", &cc, &cd);
		harness_sum_function(&d, exe, "fork_spinner", &sc, &sd);
		/* a child prints what it measured itself, with its pid */
		char key[64];
		snprintf(key, sizeof(key), "child %" PRIu64 " waited ", d.meta.pid);
		const char *at = strstr(r.out, key);
		const struct lc_lost_entry *lw = d.lost[LC_VIEW_WAIT];
		if (!at) { /* the parent */
			parents++;
			cr_assert(sc > 0, "parent profile lacks fork_spinner: %" PRIu64 " contentions, "
			          "no_stack %" PRIu64 ", evicted %" PRIu64 ", no_room %" PRIu64,
			          (uint64_t)d.totals.contentions, lw[LC_LOST_NO_STACK].count,
			          lw[LC_LOST_EVICTED].count, lw[LC_LOST_NO_ROOM].count);
		} else {
			cr_assert_eq(cc, 1, "child %" PRIu64 ": %" PRIu64 " contentions in child_contend "
			             "of %" PRIu64 "; no_stack %" PRIu64 ", no_room %" PRIu64,
			             d.meta.pid, cc, (uint64_t)d.totals.contentions,
			             lw[LC_LOST_NO_STACK].count, lw[LC_LOST_NO_ROOM].count);
			unsigned long long own = 0;
			cr_assert(sscanf(at + strlen(key), "%llu", &own) == 1, "no number for pid %" PRIu64
			          " in: %s", d.meta.pid, r.out);
			cr_assert(cd > own * 0.9 && cd < own * 1.1 + 1000000,
			          "child wait %" PRIu64 " ns in the profile, %llu measured", cd, own);
			cr_assert_eq(sc, 0, "child profile must not inherit the parent's events");
		}
		dump_free(&d);
	}
	cr_assert_eq(parents, 1);
	globfree(&g);
	harness_result_free(&r);
}

/* A signal handler forks while its thread is inside our work (at each of
 * its first clock reads and copies in turn: fork_in_work.c), hold=1 so
 * that every unlock takes a hold sample.  The child goes on with that work:
 * it must not crash (its slot was forgotten under it), nor write the
 * parent's file (the parent's holder buckets came out above its totals). */
Test(fork, in_a_handler_on_top_of_our_work)
{
	const char *dir = harness_tmpdir();
	char env[700];
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/w.%%p.raw,hold=1", dir);
	const char *argv[] = {harness_fixture("fork_in_work"), NULL};
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 120, &r), 0);
	cr_assert(!r.timed_out, "fork_in_work hung");
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(harness_out_value(r.out, "forks") > 0, "no fork from inside our work: %s", r.out);
	char pat[700];
	snprintf(pat, sizeof(pat), "%s/w.*.raw", dir);
	glob_t g;
	cr_assert_eq(glob(pat, 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct dump d;
		char err[256];
		cr_assert_eq(dump_read_file(g.gl_pathv[i], &d, err, sizeof(err)), 0, "%s", err);
		cr_assert(d.complete, "%s", g.gl_pathv[i]);
		for (int v = 0; v < LC_NVIEWS; v++)
			cr_assert(dump_view_conserved(&d, (enum lc_view)v), "%s: view %d does not add up",
			          g.gl_pathv[i], v);
		dump_free(&d);
	}
	globfree(&g);
	harness_result_free(&r);
}

Test(exit, status_kept_and_dump_written)
{
	const char *dir = harness_tmpdir();
	struct run_result r;
	char lc[600];
	snprintf(lc, sizeof(lc), "out=%s/%%e.%%p.raw", dir);
	run_env(dir, lc, (const char *[]){"exit", "7", NULL}, &r);
	cr_assert_eq(r.exit_code, 7);
	struct dump d;
	harness_load_dump(dir, "scenarios.*.raw", &d);
	uint64_t c, n;
	harness_sum_function(&d, harness_fixture("scenarios"), "exit_contend", &c, &n);
	cr_assert_eq(c, 1);
	dump_free(&d);
	harness_result_free(&r);
}

Test(exit, unwritable_directory_one_line_and_status_kept)
{
	const char *dir = harness_tmpdir();
	struct run_result r;
	char lc[600];
	snprintf(lc, sizeof(lc), "out=%s/no/such/dir/x.raw", dir);
	run_env(dir, lc, (const char *[]){"exit", "3", NULL}, &r);
	cr_assert_eq(r.exit_code, 3);
	cr_assert(strstr(r.err, "lockcontend: cannot create profile") != NULL, "stderr: %s", r.err);
	cr_assert(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "one line: %s", r.err);
	harness_result_free(&r);
}

Test(exit, existing_file_and_symlink_are_never_overwritten)
{
	const char *dir = harness_tmpdir();
	char target[600], link[600], victim[600];
	snprintf(target, sizeof(target), "%s/taken.raw", dir);
	snprintf(link, sizeof(link), "%s/link.raw", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	FILE *f = fopen(target, "w");
	fputs("mine", f);
	fclose(f);
	f = fopen(victim, "w");
	fputs("victim", f);
	fclose(f);
	cr_assert_eq(symlink(victim, link), 0);
	const char *names[] = {"taken.raw", "link.raw"};
	for (int i = 0; i < 2; i++) {
		struct run_result r;
		char lc[700];
		snprintf(lc, sizeof(lc), "out=%s/%s", dir, names[i]);
		run_env(dir, lc, (const char *[]){"exit", "0", NULL}, &r);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		harness_result_free(&r);
	}
	char buf[16] = {0};
	f = fopen(target, "r");
	cr_assert(fgets(buf, sizeof(buf), f) && strcmp(buf, "mine") == 0, "taken.raw was overwritten");
	fclose(f);
	f = fopen(victim, "r");
	cr_assert(fgets(buf, sizeof(buf), f) && strcmp(buf, "victim") == 0, "symlink was followed");
	fclose(f);
	struct stat st;
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink itself was replaced");
	struct dump d;
	harness_load_dump(dir, "taken.raw.1", &d);
	dump_free(&d);
	harness_load_dump(dir, "link.raw.1", &d);
	dump_free(&d);
	cr_assert_eq(stat(target, &st), 0);
	char p1[700];
	snprintf(p1, sizeof(p1), "%s.1", target);
	cr_assert_eq(stat(p1, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
}

/* Bytes of anonymous, unnamed mappings in a /proc/PID/maps text. */
static unsigned long anon_bytes(const char *maps)
{
	unsigned long sum = 0;
	for (const char *l = maps; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long lo, hi, inode;
		int name = 0;
		if (sscanf(l, "%lx-%lx %*s %*s %*s %lu%n", &lo, &hi, &inode, &name) < 3)
			continue;
		while (l[name] == ' ')
			name++;
		if (inode == 0 && (l[name] == '\n' || l[name] == '\0'))
			sum += hi - lo;
	}
	return sum;
}

/* cat, which takes no lock, shows its own mappings: armed (the default)
 * it has no more anonymous memory than with LOCKCONTEND=off, under 1 MiB
 * apart (the profile's arena and file range, arena=64M each, were 128 MiB
 * more when the profile was made at start-up; a sanitizer's own
 * reservations are the same in both).  The same cat in a shell's fork
 * child: the shell's profile is not made either, nor the child's. */
Test(start, a_process_that_uses_no_lock_makes_no_profile)
{
	const char *dir = harness_tmpdir();
	const char *direct[] = {"/bin/cat", "/proc/self/maps", NULL};
	const char *shell[] = {"/bin/sh", "-c", "/bin/cat /proc/self/maps; exit 0", NULL};
	const char *const *argvs[] = {direct, shell};
	const char *armed[] = {"LOCKCONTEND=arena=64M", NULL};
	const char *off[] = {"LOCKCONTEND=off", NULL};
	const char *lib = strrchr(harness_preload(), '/');
	for (int k = 0; k < 2; k++) {
		struct run_result r, o;
		cr_assert_eq(harness_run(argvs[k], armed, dir, true, 60, &r), 0);
		cr_assert_eq(harness_run(argvs[k], off, dir, true, 60, &o), 0);
		cr_assert(r.exit_code == 0 && o.exit_code == 0, "%s%s", r.err, o.err);
		cr_assert(strstr(r.out, lib ? lib + 1 : harness_preload()) != NULL, "preloaded:\n%s",
		          r.out);
		unsigned long a = anon_bytes(r.out), b = anon_bytes(o.out);
		cr_assert(a < b + (1ul << 20), "%s: %lu KiB of anonymous memory, %lu KiB with off:\n%s",
		          argvs[k][0], a >> 10, b >> 10, r.out);
		cr_assert_eq(harness_count_files(dir, "*.raw"), 0);
		harness_result_free(&r);
		harness_result_free(&o);
	}
}

/* A fork child whose first event is a wait starts its own profile inside
 * that wait (lifecycle_adopt: its file, its tables; 0.4-13 ms here): the
 * wait is timed from before that.  Read in the child's live profile while
 * it waits: its WAITING record's start is before the profile's own.
 * Before, the wait's clock was read after the start (and the profile held
 * 0.4-1 ms less of a 4 ms wait than the child measured; a comparison of
 * the two under ASan at load was not exact enough to tell, this is).  Its
 * holder is its parent, which the profile does not see: the report says
 * the wait was not charged, and does not call it wake-up latency alone. */
Test(fork, a_childs_first_wait_holds_its_profiles_start)
{
	const char *dir = harness_tmpdir();
	char env[PATH_MAX + 64], pat[64], path[PATH_MAX], go[PATH_MAX + 8], err[256];
	/* hold=0: no hold-time look (1 in 100 lock calls, before the attempt)
	 * may start the child's profile before its wait begins */
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/f.%%p.raw,hold=0", dir);
	const char *argv[] = {harness_fixture("handover"), "fork_first_wait", NULL};
	const char *envv[] = {env, NULL};
	struct harness_child c;
	struct run_result r;
	harness_start(argv, envv, dir, true, 60, &c);
	cr_assert(harness_wait_line(&c, "child_waiting"), "the child never waited");
	char *out = harness_output(&c);
	snprintf(pat, sizeof(pat), "f.%" PRIu64 ".raw", harness_out_value(out, "child_pid"));
	free(out);
	harness_one_file(dir, pat, path);
	struct dump d;
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s: %s", path, err);
	const struct dump_waiting *w = NULL;
	for (size_t i = 0; i < d.nwaiting; i++)
		if (d.waiting[i].lock)
			w = &d.waiting[i];
	cr_assert_not_null(w, "the child's live profile shows no wait");
	cr_assert_lt(w->since_ns, d.meta.start_mono_ns,
	             "the wait began at %" PRIu64 ", after the profile it started (%" PRIu64 ")",
	             (uint64_t)w->since_ns, (uint64_t)d.meta.start_mono_ns);
	dump_free(&d);
	snprintf(go, sizeof(go), "%s/go", dir);
	FILE *f = fopen(go, "w");
	cr_assert_not_null(f);
	fclose(f);
	harness_finish(&c, &r);
	cr_assert_eq(r.exit_code, 0, "handover fork_first_wait: %s%s", r.out, r.err);
	char *n = harness_folded(path, "waiter", (const char *[]){"--value=contentions", NULL});
	char *wt = harness_folded(path, "waiter", (const char *[]){"--value=delay", NULL});
	cr_assert_eq(harness_folded_sum(n, "fork_first_take", NULL), 1, "the child's wait:\n%s", n);
	uint64_t got = harness_folded_sum(wt, "fork_first_take", NULL),
	         want = harness_out_value(r.out, "child_wait_ns");
	cr_assert(got > 0 && got <= want, "the child's wait: %" PRIu64 " ns in the profile, %" PRIu64
	          " measured around it", got, want);
	struct run_result t;
	harness_symbolize((const char *[]){path, NULL}, &t);
	cr_assert(strstr(t.out, "not charged to a holder (wake-up latency or unseen holders;"),
	          "%s", t.out);
	harness_result_free(&t);
	free(n);
	free(wt);
	harness_result_free(&r);
}
