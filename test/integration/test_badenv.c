/*
 * test_badenv.c — the preload in a hostile environment: where the profile
 * cannot go (a missing or unwritable directory, a symlink or a file in its
 * place, a file size limit, a full or read-only file system), absurd
 * LOCKCONTEND values, a set-user-ID program.
 *
 * Whatever happens, the program (test/fixtures/badenv.c) prints what it
 * prints without the preload and exits with the same status, never killed
 * (SIGXFSZ); stderr holds exactly the lockcontend lines said here — one for
 * a profile that cannot be made or finished, none for a name that is taken
 * (the profile goes to NAME.1), one per bad item; and nothing but the
 * profile is created, followed or overwritten.  Runs as nobody use setpriv
 * (as root); the file system cases mount a tmpfs in a mount namespace of
 * the test's own, and are skipped, saying why, where that is not allowed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integration/harness.h"

#define NOBODY 65534
#define SETPRIV "/usr/bin/setpriv"
#define ENV "/usr/bin/env"
#define MANY_LOCKS "12000" /* about 1.3 MB of LOCK records, arena=64M */

/* ---- running it ---- */

/* argv for the fixture (or `exe`) with one optional argument. */
static void fixture_argv(const char *exe, const char *arg, const char *argv[3])
{
	argv[0] = exe ? exe : harness_fixture("badenv");
	argv[1] = arg;
	argv[2] = NULL;
}

static void run_plain(const char *exe, const char *arg, const char *cwd, struct run_result *r)
{
	const char *argv[3];
	fixture_argv(exe, arg, argv);
	cr_assert_eq(harness_run(argv, NULL, cwd, false, 60, r), 0);
}

static void run_profiled(const char *lc, const char *arg, const char *cwd, struct run_result *r)
{
	static char env[12 * 1024];
	const char *argv[3];
	snprintf(env, sizeof(env), "LOCKCONTEND=%s", lc);
	const char *envv[] = {env, NULL};
	fixture_argv(NULL, arg, argv);
	cr_assert_eq(harness_run(argv, envv, cwd, true, 60, r), 0);
}

/* The LD_PRELOAD that harness_run gives a preloaded run (env_build). */
static const char *preload_list(void)
{
	static char list[2 * PATH_MAX + 2];
	const char *first = getenv("LOCKCONTEND_TEST_PRELOAD_FIRST");
	snprintf(list, sizeof(list), "%s%s%s", first && *first ? first : "",
	         first && *first ? ":" : "", harness_preload());
	return list;
}

/* Run exe as nobody (setpriv), through env with `lc` (NULL: no
 * LOCKCONTEND) and, if preload, LD_PRELOAD. */
static void run_nobody(const char *exe, const char *lc, bool preload, const char *cwd,
                       struct run_result *r)
{
	static char lcenv[PATH_MAX + 64], ldenv[2 * PATH_MAX + 16], uid[32], gid[32];
	const char *argv[12] = {SETPRIV, uid, gid, "--clear-groups", ENV};
	size_t n = 5;
	snprintf(uid, sizeof(uid), "--reuid=%d", NOBODY);
	snprintf(gid, sizeof(gid), "--regid=%d", NOBODY);
	snprintf(lcenv, sizeof(lcenv), "LOCKCONTEND=%s", lc ? lc : "");
	snprintf(ldenv, sizeof(ldenv), "LD_PRELOAD=%s", preload_list());
	if (lc)
		argv[n++] = lcenv;
	if (preload)
		argv[n++] = ldenv;
	argv[n++] = exe;
	argv[n] = NULL;
	cr_assert_eq(access(SETPRIV, X_OK), 0, SETPRIV ": %s", strerror(errno));
	cr_assert_eq(harness_run(argv, NULL, cwd, false, 60, r), 0);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* r did what base did, and said `lines` lines, each lockcontend's; the
 * first (if any) contains `want`. */
static void expect_same(const struct run_result *base, const struct run_result *r, int lines,
                        const char *want)
{
	cr_assert(!r->timed_out && r->signal == 0, "killed by signal %d%s; stderr:\n%s", r->signal,
	          r->timed_out ? " (hung)" : "", r->err);
	cr_assert_eq(r->exit_code, base->exit_code, "exit %d, %d without the preload; stderr:\n%s",
	             r->exit_code, base->exit_code, r->err);
	cr_assert_str_eq(r->out, base->out, "stdout differs from the run without the preload");
	cr_assert_eq(count_lines(r->err), lines, "want %d line(s) on stderr, got:\n%s", lines, r->err);
	for (const char *p = r->err; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		cr_assert(strncmp(p, "lockcontend: ", 13) == 0, "a line not ours:\n%s", r->err);
	if (want)
		cr_assert(strstr(r->err, want) != NULL, "want '%s' in:\n%s", want, r->err);
}

/* Entries of dir, but . and .. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	cr_assert(d != NULL, "%s: %s", dir, strerror(errno));
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void expect_file(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cr_assert_str_eq(buf, text, "%s was changed", path);
}

static void expect_profile(const char *path, bool complete)
{
	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_assert_eq(d.complete, complete, "%s: complete %d (%s)", path, d.complete, d.warning);
	dump_free(&d);
}

/* ---- where the profile cannot go ---- */

Test(badenv, missing_directory)
{
	const char *dir = harness_tmpdir();
	char lc[PATH_MAX + 64], want[PATH_MAX + 128], missing[PATH_MAX];
	struct run_result base, r;
	snprintf(missing, sizeof(missing), "%s/no", dir);
	snprintf(lc, sizeof(lc), "out=%s/such/x.raw", missing);
	snprintf(want, sizeof(want), "cannot create profile '%s/such/x.raw': No such file or directory; "
	         "not profiling, the program runs on\n", missing);
	run_plain(NULL, NULL, dir, &base);
	run_profiled(lc, NULL, dir, &r);
	expect_same(&base, &r, 1, want);
	cr_assert_eq(access(missing, F_OK), -1, "the preload made %s", missing);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* A directory the program may enter but not write: as nobody. */
Test(badenv, unwritable_directory)
{
	const char *dir = harness_tmpdir();
	char ro[PATH_MAX], lc[PATH_MAX + 64];
	struct run_result base, r;
	if (geteuid() != 0)
		cr_skip_test("needs root to run the program as nobody (setpriv)");
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(mkdir(ro, 0555), 0);
	snprintf(lc, sizeof(lc), "out=%s/x.raw", ro);
	run_nobody(harness_fixture("badenv"), NULL, false, dir, &base);
	cr_assert_eq(base.exit_code, 3, "badenv as nobody: exit %d\n%s", base.exit_code, base.err);
	run_nobody(harness_fixture("badenv"), lc, true, dir, &r);
	expect_same(&base, &r, 1, "': Permission denied; not profiling, the program runs on\n");
	cr_assert_eq(dir_entries(ro), 0);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* A symlink in the profile's place — to a file, to nowhere, to a
 * directory — is never followed: the profile is NAME.1, silently. */
Test(badenv, symlink_is_never_followed)
{
	const char *dir = harness_tmpdir();
	static const char *const names[] = {"tofile.raw", "dangling.raw", "todir.raw"};
	char victim[PATH_MAX], absent[PATH_MAX], sub[PATH_MAX], path[PATH_MAX], lc[PATH_MAX + 64];
	struct run_result base;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(absent, sizeof(absent), "%s/absent", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	write_file(victim, "victim");
	cr_assert_eq(mkdir(sub, 0755), 0);
	const char *targets[] = {victim, absent, sub};
	run_plain(NULL, NULL, dir, &base);
	for (int i = 0; i < 3; i++) {
		struct run_result r;
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		cr_assert_eq(symlink(targets[i], path), 0);
		snprintf(lc, sizeof(lc), "out=%s", path);
		run_profiled(lc, NULL, dir, &r);
		expect_same(&base, &r, 0, NULL);
		cr_assert(lstat(path, &st) == 0 && S_ISLNK(st.st_mode), "%s was replaced", path);
		snprintf(path, sizeof(path), "%s/%s.1", dir, names[i]);
		expect_profile(path, true);
		harness_result_free(&r);
	}
	expect_file(victim, "victim");
	cr_assert_eq(access(absent, F_OK), -1, "the dangling link was followed: %s made", absent);
	cr_assert_eq(dir_entries(sub), 0, "the link to a directory was followed");
	harness_result_free(&base);
}

/* NAME and NAME.1 taken: the profile is NAME.2, both files as they were. */
Test(badenv, existing_file_is_never_overwritten)
{
	const char *dir = harness_tmpdir();
	char taken[PATH_MAX], taken1[PATH_MAX + 8], taken2[PATH_MAX + 8], lc[PATH_MAX + 64];
	struct run_result base, r;
	struct stat st;
	snprintf(taken, sizeof(taken), "%s/taken.raw", dir);
	snprintf(taken1, sizeof(taken1), "%s.1", taken);
	snprintf(taken2, sizeof(taken2), "%s.2", taken);
	write_file(taken, "mine");
	write_file(taken1, "mine too");
	snprintf(lc, sizeof(lc), "out=%s", taken);
	run_plain(NULL, NULL, dir, &base);
	run_profiled(lc, NULL, dir, &r);
	expect_same(&base, &r, 0, NULL);
	expect_file(taken, "mine");
	expect_file(taken1, "mine too");
	expect_profile(taken2, true);
	cr_assert(stat(taken2, &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o",
	          st.st_mode & 0777);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* ---- a file size limit: SIGXFSZ must never reach the program ---- */

static void fsize_limit(rlim_t bytes, struct rlimit *old)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, old), 0);
	rl = *old;
	rl.rlim_cur = bytes;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0, "setrlimit: %s", strerror(errno));
}

/* Below the first 1 MiB chunk: no profile at all, one line, nothing left. */
Test(badenv, file_size_limit_below_one_chunk)
{
	const char *dir = harness_tmpdir();
	char lc[PATH_MAX + 64];
	struct run_result base, r;
	struct rlimit old;
	snprintf(lc, sizeof(lc), "out=%s/x.raw", dir);
	run_plain(NULL, NULL, dir, &base);
	fsize_limit(512 * 1024, &old);
	run_profiled(lc, NULL, dir, &r);
	setrlimit(RLIMIT_FSIZE, &old);
	expect_same(&base, &r, 1, "x.raw': File too large; not profiling, the program runs on\n");
	cr_assert_eq(dir_entries(dir), 0, "a file was left behind");
	harness_result_free(&base);
	harness_result_free(&r);
}

/* Under an address-space limit (ulimit -v) the arena cannot be had: one
 * line, and no file at all (the arena is reserved before the file is made;
 * it used to leave a 1 MiB profile with no trailer, and its descriptor
 * open). */
Test(badenv, address_space_limit_leaves_no_file)
{
	const char *dir = harness_tmpdir();
	char lc[PATH_MAX + 64];
	struct run_result base, r;
	struct rlimit old, rl;
	snprintf(lc, sizeof(lc), "arena=1G,out=%s/x.raw", dir);
	run_plain(NULL, NULL, dir, &base);
	cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
	rl = old;
	rl.rlim_cur = 512u << 20;
	cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0, "setrlimit: %s", strerror(errno));
	run_profiled(lc, NULL, dir, &r);
	setrlimit(RLIMIT_AS, &old);
	expect_same(&base, &r, 1, "cannot reserve the arena");
	cr_assert_eq(dir_entries(dir), 0, "a file was left behind");
	harness_result_free(&base);
	harness_result_free(&r);
}

/* out=/dev/null: a device is nobody's profile; one line, and no
 * /dev/null.1 beside it (as root, the name loop used to make one). */
Test(badenv, device_as_the_profile_is_refused)
{
	const char *dir = harness_tmpdir();
	struct run_result base, r;
	struct stat st;
	if (lstat("/dev/null.1", &st) == 0 && S_ISREG(st.st_mode))
		unlink("/dev/null.1"); /* left by an older build */
	run_plain(NULL, NULL, dir, &base);
	run_profiled("out=/dev/null", NULL, dir, &r);
	expect_same(&base, &r, 1, "profile '/dev/null' is a device: nothing is written");
	cr_assert_neq(lstat("/dev/null.1", &st), 0, "/dev/null.1 was made");
	cr_assert_eq(dir_entries(dir), 0, "a file was left behind");
	harness_result_free(&base);
	harness_result_free(&r);
}

/* Reached while running (12000 LOCK records need a second chunk): the
 * program runs on; at exit one line says the profile could not be
 * finished; what was recorded is there, within the limit. */
Test(badenv, file_size_limit_reached_while_running)
{
	const char *dir = harness_tmpdir();
	char lc[PATH_MAX + 64], path[PATH_MAX];
	struct run_result base, r;
	struct rlimit old;
	struct stat st;
	snprintf(path, sizeof(path), "%s/x.raw", dir);
	snprintf(lc, sizeof(lc), "arena=64M,out=%s", path);
	run_plain(NULL, MANY_LOCKS, dir, &base);
	fsize_limit(1536 * 1024, &old);
	run_profiled(lc, MANY_LOCKS, dir, &r);
	setrlimit(RLIMIT_FSIZE, &old);
	expect_same(&base, &r, 1, "profile '");
	cr_assert(strstr(r.err, "': File too large: it stopped growing there") != NULL, "%s", r.err);
	cr_assert(stat(path, &st) == 0 && st.st_size <= 1536 * 1024, "size %lld",
	          (long long)st.st_size);
	expect_profile(path, true); /* the closing records' room was kept */
	harness_result_free(&base);
	harness_result_free(&r);
}

/* ---- full and read-only file systems: a tmpfs of our own ---- */

/* A mount namespace of this test process's own (Criterion runs each test
 * in a process of its own): mounts vanish with it.  Skips if refused. */
static void own_mounts(void)
{
	if (unshare(CLONE_NEWNS) != 0)
		cr_skip_test("cannot make a mount namespace (%s): the tmpfs cases need one",
		             strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
}

static void tmpfs_at(const char *dir, const char *opts)
{
	cr_assert_eq(mkdir(dir, 0755), 0);
	if (mount("lockcontend-test", dir, "tmpfs", 0, opts) != 0)
		cr_skip_test("cannot mount a tmpfs (%s): skipped", strerror(errno));
}

/* Fill the file system at dir to the last byte. */
static void fill(const char *dir)
{
	char path[PATH_MAX + 16], block[4096];
	memset(block, 'x', sizeof(block));
	snprintf(path, sizeof(path), "%s/filler", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	for (size_t n = sizeof(block); n > 0;) {
		ssize_t w = write(fd, block, n);
		if (w < 0 && errno == ENOSPC && n > 1)
			n /= 2;
		else if (w < 0)
			break;
	}
	cr_assert_eq(errno, ENOSPC);
	close(fd);
}

Test(badenv, full_file_system)
{
	const char *dir = harness_tmpdir();
	char mnt[PATH_MAX], lc[PATH_MAX + 64];
	struct run_result base, r;
	own_mounts();
	snprintf(mnt, sizeof(mnt), "%s/full", dir);
	tmpfs_at(mnt, "size=2m,mode=0755");
	fill(mnt);
	snprintf(lc, sizeof(lc), "out=%s/x.raw", mnt);
	run_plain(NULL, NULL, dir, &base);
	run_profiled(lc, NULL, dir, &r);
	expect_same(&base, &r, 1, "x.raw': No space left on device; not profiling, the program runs on\n");
	cr_assert_eq(dir_entries(mnt), 1, "a file was left behind");
	harness_result_free(&base);
	harness_result_free(&r);
}

/* Room for the first chunk only: full while running. */
Test(badenv, file_system_full_while_running)
{
	const char *dir = harness_tmpdir();
	char mnt[PATH_MAX], path[PATH_MAX + 16], lc[PATH_MAX + 64];
	struct run_result base, r;
	own_mounts();
	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	tmpfs_at(mnt, "size=1536k,mode=0755");
	snprintf(path, sizeof(path), "%s/x.raw", mnt);
	snprintf(lc, sizeof(lc), "arena=64M,out=%s", path);
	run_plain(NULL, MANY_LOCKS, dir, &base);
	run_profiled(lc, MANY_LOCKS, dir, &r);
	expect_same(&base, &r, 1, "profile '");
	cr_assert(strstr(r.err, "': No space left on device: it stopped growing there") != NULL,
	          "%s", r.err);
	expect_profile(path, true); /* the closing records' room was kept */
	harness_result_free(&base);
	harness_result_free(&r);
}

/* Read-only: what root cannot write either. */
Test(badenv, read_only_file_system)
{
	const char *dir = harness_tmpdir();
	char mnt[PATH_MAX], lc[PATH_MAX + 64];
	struct run_result base, r;
	own_mounts();
	snprintf(mnt, sizeof(mnt), "%s/ro", dir);
	tmpfs_at(mnt, "size=2m,mode=0755");
	cr_assert_eq(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, "size=2m"), 0, "%s",
	             strerror(errno));
	snprintf(lc, sizeof(lc), "out=%s/x.raw", mnt);
	run_plain(NULL, NULL, dir, &base);
	run_profiled(lc, NULL, dir, &r);
	expect_same(&base, &r, 1, "x.raw': Read-only file system; not profiling, the program runs on\n");
	harness_result_free(&base);
	harness_result_free(&r);
}

/* ---- absurd LOCKCONTEND values ---- */

Test(badenv, absurd_values_warn_and_change_nothing)
{
	const char *dir = harness_tmpdir();
	char lc[PATH_MAX + 128];
	struct run_result base, r;
	struct dump d;
	snprintf(lc, sizeof(lc), "depth=100000,rate=-1,hold=-5,signal=KILL,out=%s/a.raw", dir);
	run_plain(NULL, NULL, dir, &base);
	run_profiled(lc, NULL, dir, &r);
	expect_same(&base, &r, 4, NULL);
	static const char *const bad[] = {"depth: '100000'", "rate: '-1'", "hold: '-5'",
	                                  "signal: 'KILL'"};
	for (int i = 0; i < 4; i++)
		cr_assert(strstr(r.err, bad[i]) != NULL, "no warning about %s:\n%s", bad[i], r.err);
	harness_load_dump(dir, "a.raw", &d);
	cr_assert(d.meta.depth == 64 && d.meta.rate == 1 && d.meta.hold_rate == 100,
	          "depth %u rate %u hold %u: not the defaults", d.meta.depth, d.meta.rate,
	          d.meta.hold_rate);
	dump_free(&d);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* interval=60s, as issue 13 first spelled it: no key of the library's
 * (the interval files are a sidecar's, docs/intervals.md); one line saying
 * where they come from, the program as without it, the profile as usual. */
Test(badenv, interval_is_one_line_and_changes_nothing)
{
	const char *dir = harness_tmpdir();
	char lc[PATH_MAX + 128];
	struct run_result base, r;
	struct dump d;
	snprintf(lc, sizeof(lc), "interval=60s,out=%s/a.raw", dir);
	run_plain(NULL, NULL, dir, &base);
	run_profiled(lc, NULL, dir, &r);
	expect_same(&base, &r, 1, NULL);
	cr_assert(strstr(r.err, "'interval' ignored") && strstr(r.err, "lockcontend intervals"),
	          "%s", r.err);
	harness_load_dump(dir, "a.raw", &d);
	cr_assert(d.meta.depth == 64 && d.meta.rate == 1, "not the defaults");
	dump_free(&d);
	harness_result_free(&base);
	harness_result_free(&r);
}

/* 10 KB of bytes 1..255 (a fixed draw): a few lines, then one saying the
 * rest was ignored; the program as without it. */
Test(badenv, ten_kilobytes_of_junk_change_nothing)
{
	const char *dir = harness_tmpdir();
	static char junk[10 * 1024 + 1];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	struct run_result base, r;
	for (size_t i = 0; i < sizeof(junk) - 1; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		junk[i] = (char)(i % 7 == 3 ? ',' : i % 11 == 5 ? '=' : 1 + s % 255);
	}
	run_plain(NULL, NULL, dir, &base);
	run_profiled(junk, NULL, dir, &r);
	cr_assert(count_lines(r.err) >= 2 && count_lines(r.err) <= 9, "%d lines:\n%s",
	          count_lines(r.err), r.err);
	expect_same(&base, &r, count_lines(r.err), "lockcontend: LOCKCONTEND: more bad items ignored\n");
	cr_assert_eq(dir_entries(dir), 1, "the profile, and nothing else, in the working directory");
	harness_result_free(&base);
	harness_result_free(&r);
}

/* ---- set-user-ID ---- */

/* A copy of exe in dir (made searchable), root's and set-user-ID; false if
 * that is not possible here (not root). */
static bool setuid_copy(const char *exe, const char *dir, char copy[PATH_MAX])
{
	char cmd[3 * PATH_MAX];
	if (geteuid() != 0)
		return false;
	snprintf(copy, PATH_MAX, "%s/suid", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", exe, copy);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chown(copy, 0, 0), 0);
	cr_assert_eq(chmod(copy, 04755), 0);
	return true;
}

/* A directory anyone may write: the profile would land there. */
static void open_dir(const char *dir, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/w", dir);
	cr_assert_eq(mkdir(out, 0777), 0);
	cr_assert_eq(chmod(out, 0777), 0);
}

/* The loader drops LD_PRELOAD in a secure (set-user-ID) process: out= is
 * never reached, nothing is said. */
Test(badenv, setuid_program_writes_nothing)
{
	const char *dir = harness_tmpdir();
	char suid[PATH_MAX], w[PATH_MAX], lc[PATH_MAX + 64];
	struct run_result base, r;
	if (!setuid_copy(harness_fixture("badenv"), dir, suid))
		cr_skip_test("needs root to make a set-user-ID copy and run it as nobody");
	open_dir(dir, w);
	snprintf(lc, sizeof(lc), "out=%s/x.raw", w);
	run_nobody(suid, NULL, false, dir, &base);
	if (strncmp(base.out, "secure 1\n", 9) != 0)
		cr_skip_test("the copy did not run set-user-ID (a nosuid mount?): %s", base.out);
	run_nobody(suid, lc, true, dir, &r);
	expect_same(&base, &r, 0, NULL);
	cr_assert_eq(dir_entries(w), 0, "a set-user-ID run wrote a profile");
	harness_result_free(&base);
	harness_result_free(&r);
}

/* Linked with the preload (badenv_linked), the secure process does load
 * it: the preload itself sees AT_SECURE, says so in one line and records
 * nothing. */
Test(badenv, setuid_program_linked_with_the_preload_writes_nothing)
{
	const char *dir = harness_tmpdir();
	char suid[PATH_MAX], w[PATH_MAX], lc[PATH_MAX + 64];
	struct run_result base, r;
	if (!setuid_copy(harness_fixture("badenv_linked"), dir, suid))
		cr_skip_test("needs root to make a set-user-ID copy and run it as nobody");
	open_dir(dir, w);
	snprintf(lc, sizeof(lc), "out=%s/x.raw", w);
	run_nobody(suid, "off", false, dir, &base);
	if (strncmp(base.out, "secure 1\n", 9) != 0)
		cr_skip_test("the copy did not run set-user-ID (a nosuid mount?): %s", base.out);
	run_nobody(suid, lc, false, dir, &r);
	expect_same(&base, &r, 1,
	            "lockcontend: setuid/setgid program: LOCKCONTEND ignored, nothing recorded\n");
	cr_assert_eq(dir_entries(w), 0, "a set-user-ID run wrote a profile");
	harness_result_free(&base);
	harness_result_free(&r);
}
