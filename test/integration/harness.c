/*
 * harness.c — run real programs under the preload and inspect their dumps
 * (see harness.h).
 *
 * A run forks, puts the child in its own process group (so the watchdog
 * and the clean-up after it reach any process the fixture forked), sends
 * stdout and stderr to anonymous memory files in append mode (no pipe to
 * drain while waiting, nothing left on disk, no line of one process
 * written over another's) and polls for the exit.  An exec that
 * fails is reported back through a close-on-exec pipe, so "could not run"
 * is told apart from "ran and exited 127".  harness_start and
 * harness_finish are the two halves of such a run, for a test that acts on
 * the child in between (reads its stdout so far, signals it).
 *
 * Environment knobs, for people running the tests by hand:
 *   LOCKCONTEND_TEST_PRELOAD=/path/to.so  preload this instead of
 *       build/liblockcontend.so (e.g. a bare forwarding interposer, to
 *       check a fixture or the harness itself)
 *   LOCKCONTEND_TEST_KEEP=1  keep the directories harness_tmpdir made
 *       (they are removed when the test process exits otherwise)
 *   LOCKCONTEND_TEST_SYMBOLIZE=/path  harness_symbolize runs this build of
 *       lockcontend-symbolize (e.g. an ASan one)
 *   LOCKCONTEND_TEST_PRELOAD_FIRST="lib..."  preloaded before the preload
 *       (a sanitizer's runtime, which must come first: `make sanitize`)
 *   LOCKCONTEND_TEST_FIXTURES=dir  harness_fixture looks there instead of
 *       build/test/fixtures (e.g. fixtures built with ThreadSanitizer)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

#define POLL_NS (2 * 1000 * 1000) /* how often a run checks for the exit */

/* ---- paths ---------------------------------------------------------------- */

/* Absolute form of path: realpath when it exists, else cwd + path, so that
 * a message about a missing file still names where it was looked for. */
static void path_absolute(const char *path, char out[PATH_MAX])
{
	char cwd[PATH_MAX];

	if (realpath(path, out))
		return;
	if (path[0] == '/' || !getcwd(cwd, sizeof cwd) ||
	    snprintf(out, PATH_MAX, "%s/%s", cwd, path) >= PATH_MAX)
		snprintf(out, PATH_MAX, "%s", path);
}

const char *harness_preload(void)
{
	static char path[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_PRELOAD");

	path_absolute(over && *over ? over : "build/liblockcontend.so", path);
	return path;
}

/* The strings live as long as the test process (a test asks for a few). */
const char *harness_fixture(const char *name)
{
	const char *over = getenv("LOCKCONTEND_TEST_FIXTURES");
	char rel[PATH_MAX], abs[PATH_MAX];
	char *copy;

	snprintf(rel, sizeof rel, "%s/%s", over && *over ? over : "build/test/fixtures", name);
	path_absolute(rel, abs);
	copy = strdup(abs);
	cr_assert(copy != NULL, "harness_fixture: out of memory");
	return copy;
}

/* ---- temporary directories ---------------------------------------------- */

#define TMPDIRS_MAX 64

static char *tmpdirs[TMPDIRS_MAX];
static size_t ntmpdirs;

/* A directory a test mounted a file system on (test_badenv's tmpfs, in a
 * mount namespace of its own) is let go first: it was left in /tmp. */
static int tmpdir_unlink(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno == EBUSY && umount2(path, MNT_DETACH) == 0)
		remove(path);
	return 0;
}

static void tmpdir_cleanup(void)
{
	const char *keep = getenv("LOCKCONTEND_TEST_KEEP");

	if (keep && *keep && strcmp(keep, "0") != 0)
		return;
	for (size_t i = 0; i < ntmpdirs; i++)
		nftw(tmpdirs[i], tmpdir_unlink, 16, FTW_DEPTH | FTW_PHYS);
}

const char *harness_tmpdir(void)
{
	char templ[] = "/tmp/lockcontend-test.XXXXXX";

	cr_assert(mkdtemp(templ) != NULL, "harness_tmpdir: mkdtemp: %s", strerror(errno));
	char *dir = strdup(templ);
	cr_assert(dir != NULL, "harness_tmpdir: out of memory");
	if (ntmpdirs == 0)
		atexit(tmpdir_cleanup);
	if (ntmpdirs < TMPDIRS_MAX)
		tmpdirs[ntmpdirs++] = dir; /* beyond that: left in /tmp */
	return dir;
}

bool harness_maps(pid_t pid, const char *name)
{
	char path[64], line[PATH_MAX + 128];
	bool found = false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert(f, "%s: %s", path, strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

/* ---- the child's environment -------------------------------------------- */

/* "KEY=..." has key `key` (given as "KEY" or "KEY=..."). */
static bool env_has_key(const char *entry, const char *key)
{
	size_t n = strcspn(key, "=");

	return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

static bool env_in(const char *entry, const char *const extra[])
{
	for (size_t i = 0; extra && extra[i]; i++)
		if (env_has_key(entry, extra[i]))
			return true;
	return false;
}

/* The inherited environment less LD_PRELOAD and LOCKCONTEND (a test says
 * what it wants; a setting in the shell that runs make must not leak in)
 * and less any key that `extra` sets, then `extra`, then LD_PRELOAD if
 * asked for (the preload first, before an LD_PRELOAD given in extra; only
 * $LOCKCONTEND_TEST_PRELOAD_FIRST comes before it).
 * Built before fork: the child only calls async-signal-safe functions. */
static char **env_build(const char *const extra[], bool preload)
{
	size_t n = 0, k = 0;
	const char *extra_preload = NULL;

	while (environ[n])
		n++;
	for (size_t i = 0; extra && extra[i]; i++)
		n++;
	char **envp = calloc(n + 2, sizeof *envp);
	cr_assert(envp != NULL, "harness_run: out of memory");
	for (char **e = environ; *e; e++)
		if (!env_has_key(*e, "LD_PRELOAD") && !env_has_key(*e, "LOCKCONTEND") &&
		    !env_in(*e, extra))
			envp[k++] = *e;
	for (size_t i = 0; extra && extra[i]; i++) {
		if (preload && env_has_key(extra[i], "LD_PRELOAD"))
			extra_preload = extra[i] + strlen("LD_PRELOAD=");
		else
			envp[k++] = (char *)extra[i];
	}
	if (preload) {
		const char *first = getenv("LOCKCONTEND_TEST_PRELOAD_FIRST");
		char *v = NULL;
		int rc = asprintf(&v, "LD_PRELOAD=%s%s%s%s%s", first && *first ? first : "",
		                  first && *first ? ":" : "", harness_preload(),
		                  extra_preload ? ":" : "", extra_preload ? extra_preload : "");
		cr_assert(rc >= 0, "harness_run: out of memory");
		envp[k++] = v;
	}
	envp[k] = NULL;
	return envp;
}

static void env_free(char **envp, bool preload)
{
	size_t k = 0;

	while (envp[k])
		k++;
	if (preload && k > 0)
		free(envp[k - 1]); /* the LD_PRELOAD string env_build made */
	free(envp);
}

/* ---- running a child ------------------------------------------------------ */

/* Report errno through the status pipe and give up (child side). */
static _Noreturn void child_fail(int status_fd, int err)
{
	ssize_t w = write(status_fd, &err, sizeof err);

	(void)w;
	_exit(127);
}

/* In the forked child: own process group, default signal state, stdin
 * from /dev/null, stdout/stderr to the capture files, nothing else open
 * across exec. */
static _Noreturn void child_exec(const char *const argv[], char **envp, const char *cwd,
                                 int out_fd, int err_fd, int status_fd)
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGALRM };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	setpgid(0, 0);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int in_fd = open("/dev/null", O_RDONLY);
	if (in_fd < 0 || dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		child_fail(status_fd, errno);
	close_range(3, ~0u, CLOSE_RANGE_CLOEXEC); /* best effort: Criterion's own fds */
	if (cwd && chdir(cwd) != 0)
		child_fail(status_fd, errno);
	execve(argv[0], (char *const *)argv, envp);
	child_fail(status_fd, errno);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait for pid, killing its process group at `deadline` (now_s()). */
static int child_wait(pid_t pid, double deadline, int *status, bool *timed_out)
{
	const struct timespec nap = { 0, POLL_NS };

	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_s() >= deadline && !*timed_out) {
			*timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL); /* in case setpgid lost a race */
		}
		nanosleep(&nap, NULL);
	}
}

/* A capture file: every process of the run writes to it through one open
 * file description, so it is in append mode.  Without it, two processes
 * writing at once (two fork children of test_stress printing their lines)
 * could write at the same offset: a memfd's offset, unlike a regular
 * file's, is not locked across a write, and one line overwrote the other
 * ("10 child lines for 11 forks"; 8 processes writing 20,000 lines each
 * kept 41,223 of 160,000 lines). */
static int capture_create(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd >= 0 && fcntl(fd, F_SETFL, O_APPEND) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole of a capture file, NUL-terminated. */
static char *capture_read(int fd)
{
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		st.st_size = 0;
	buf = malloc((size_t)st.st_size + 1);
	cr_assert(buf != NULL, "harness_run: out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	return buf;
}

/* Fork and exec; 0 with *pid, or -1 after printing why (exec errors come
 * back through the pipe, which closes without a word on success). */
static int child_start(const char *const argv[], char **envp, const char *cwd, int out_fd,
                       int err_fd, pid_t *pid)
{
	int status[2], err = 0;

	if (pipe2(status, O_CLOEXEC) != 0)
		return fprintf(stderr, "harness_run: pipe: %s\n", strerror(errno)), -1;
	*pid = fork();
	if (*pid == 0)
		child_exec(argv, envp, cwd, out_fd, err_fd, status[1]);
	close(status[1]);
	if (*pid < 0) {
		close(status[0]);
		return fprintf(stderr, "harness_run: fork: %s\n", strerror(errno)), -1;
	}
	setpgid(*pid, *pid); /* also here: no window where the group is missing */
	ssize_t n;
	while ((n = read(status[0], &err, sizeof err)) < 0 && errno == EINTR)
		;
	close(status[0]);
	if (n == (ssize_t)sizeof err) {
		waitpid(*pid, NULL, 0);
		fprintf(stderr, "harness_run: cannot run %s (cwd %s): %s\n", argv[0],
		        cwd ? cwd : ".", strerror(err));
		return -1;
	}
	return 0;
}

/* Start a captured run; 0 with c filled, or -1 (nothing left to clean). */
static int run_start(const char *const argv[], const char *const env[], const char *cwd,
                     bool preload, int timeout_s, struct harness_child *c)
{
	memset(c, 0, sizeof *c);
	c->pid = -1;
	c->deadline = now_s() + timeout_s;
	c->timeout_s = timeout_s;
	c->out_fd = capture_create("harness-stdout");
	c->err_fd = capture_create("harness-stderr");
	if (c->out_fd >= 0 && c->err_fd >= 0) {
		char **envp = env_build(env, preload);
		int rc = child_start(argv, envp, cwd, c->out_fd, c->err_fd, &c->pid);
		env_free(envp, preload);
		if (rc == 0)
			return 0;
	} else {
		fprintf(stderr, "harness_run: memfd_create: %s\n", strerror(errno));
	}
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->pid = -1;
	return -1;
}

/* Wait for a started run to end (killing it at its deadline), then collect
 * its status and output; 0 once the child has ended. */
static int run_finish(struct harness_child *c, struct run_result *r)
{
	int status = 0, rc = -1;

	r->timed_out = false;
	if (c->pid > 0 && child_wait(c->pid, c->deadline, &status, &r->timed_out) == 0) {
		kill(-c->pid, SIGKILL); /* whatever the fixture forked and left */
		r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		rc = 0;
	}
	r->out = capture_read(c->out_fd);
	r->err = capture_read(c->err_fd);
	close(c->out_fd);
	close(c->err_fd);
	c->pid = -1;
	return rc;
}

/* Run with stdout and stderr captured; 0 once the child has ended. */
static int run_captured(const char *const argv[], const char *const env[], const char *cwd,
                        bool preload, int timeout_s, struct run_result *r)
{
	struct harness_child c;

	if (run_start(argv, env, cwd, preload, timeout_s, &c) != 0)
		return -1;
	return run_finish(&c, r);
}

int harness_run(const char *const argv[], const char *const env[], const char *cwd,
                bool preload, int timeout_s, struct run_result *r)
{
	int rc = -1;

	memset(r, 0, sizeof *r);
	r->exit_code = -1;
	if (preload && access(harness_preload(), R_OK) != 0)
		/* ld.so would only warn and run the program unprofiled. */
		fprintf(stderr, "harness_run: preload %s: %s\n", harness_preload(), strerror(errno));
	else
		rc = run_captured(argv, env, cwd, preload, timeout_s, r);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	return rc;
}

void harness_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ---- runs the test acts on while they run ------------------------------- */

void harness_start(const char *const argv[], const char *const env[], const char *cwd,
                   bool preload, int timeout_s, struct harness_child *c)
{
	cr_assert(!preload || access(harness_preload(), R_OK) == 0, "harness_start: preload %s: %s",
	          harness_preload(), strerror(errno));
	cr_assert_eq(run_start(argv, env, cwd, preload, timeout_s, c), 0, "cannot run %s", argv[0]);
}

/* Has the child's stdout (so far) a line that is exactly `line`? */
static bool capture_has_line(int fd, const char *line)
{
	char *out = capture_read(fd);
	size_t n = strlen(line);
	bool found = false;

	for (const char *p = out; *p && !found;) {
		size_t len = strcspn(p, "\n");
		found = len == n && memcmp(p, line, n) == 0 && p[len] == '\n';
		p += len + (p[len] == '\n');
	}
	free(out);
	return found;
}

bool harness_wait_line(struct harness_child *c, const char *line)
{
	const struct timespec nap = { 0, POLL_NS };

	for (;;) {
		if (capture_has_line(c->out_fd, line))
			return true;
		siginfo_t si = { 0 }; /* si_pid stays 0 while it runs */
		if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == c->pid)
			return capture_has_line(c->out_fd, line); /* ended: a last look */
		if (now_s() >= c->deadline)
			return false;
		nanosleep(&nap, NULL);
	}
}

char *harness_output(const struct harness_child *c)
{
	return capture_read(c->out_fd);
}

void harness_finish(struct harness_child *c, struct run_result *r)
{
	memset(r, 0, sizeof *r);
	r->exit_code = -1;
	int rc = run_finish(c, r);
	cr_assert_eq(rc, 0, "harness_finish: cannot wait for the child");
}

bool harness_wait_file(const char *path, int timeout_s)
{
	const struct timespec nap = { 0, POLL_NS };
	double deadline = now_s() + timeout_s;

	while (access(path, F_OK) != 0) {
		if (now_s() >= deadline)
			return false;
		nanosleep(&nap, NULL);
	}
	return true;
}

/* ---- dumps ----------------------------------------------------------------- */

void harness_one_file(const char *dir, const char *pattern, char path[PATH_MAX])
{
	char pat[PATH_MAX], names[512] = "";
	glob_t g;

	snprintf(pat, sizeof pat, "%s/%s", dir, pattern);
	int rc = glob(pat, 0, NULL, &g);
	size_t n = rc == 0 ? g.gl_pathc : 0;
	for (size_t i = 0; i < n && strlen(names) < sizeof names - 64; i++) {
		strcat(names, i ? ", " : ": ");
		strncat(names, g.gl_pathv[i], sizeof names - strlen(names) - 1);
	}
	if (n == 1)
		snprintf(path, PATH_MAX, "%s", g.gl_pathv[0]);
	if (rc == 0)
		globfree(&g);
	cr_assert(n == 1, "expected exactly one file matching %s, found %zu%s", pat, n, names);
}

size_t harness_count_files(const char *dir, const char *pattern)
{
	char pat[PATH_MAX];
	glob_t g;

	snprintf(pat, sizeof pat, "%s/%s", dir, pattern);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	size_t n = g.gl_pathc;
	globfree(&g);
	return n;
}

void harness_await_one_file(const char *dir, const char *pattern, char path[PATH_MAX],
                            int timeout_s)
{
	const struct timespec nap = { 0, POLL_NS };
	double deadline = now_s() + timeout_s;

	while (harness_count_files(dir, pattern) == 0 && now_s() < deadline)
		nanosleep(&nap, NULL);
	harness_one_file(dir, pattern, path);
}

void harness_load_dump(const char *dir, const char *pattern, struct dump *d)
{
	char path[PATH_MAX], err[256];

	harness_one_file(dir, pattern, path);
	if (dump_read_file(path, d, err, sizeof err) != 0)
		cr_assert_fail("%s: %s", path, err);
}

/* Shell-quote s into out ('...' with ' as '\''); false if it does not fit. */
static bool shell_quote(const char *s, char *out, size_t len)
{
	size_t k = 0;

	if (len < 3)
		return false;
	out[k++] = '\'';
	for (; *s; s++) {
		const char *piece = *s == '\'' ? "'\\''" : NULL;
		size_t plen = piece ? 4 : 1;
		if (k + plen + 2 > len)
			return false;
		if (piece)
			memcpy(out + k, piece, plen);
		else
			out[k] = *s;
		k += plen;
	}
	out[k++] = '\'';
	out[k] = '\0';
	return true;
}

bool harness_symbol(const char *elf_path, const char *name, uint64_t *start, uint64_t *end)
{
	char quoted[2 * PATH_MAX], cmd[2 * PATH_MAX + 64], line[1024];
	bool found = false;

	if (!shell_quote(elf_path, quoted, sizeof quoted))
		return false;
	snprintf(cmd, sizeof cmd, "nm -S --defined-only %s 2>/dev/null", quoted);
	FILE *p = popen(cmd, "r");
	if (!p)
		return false;
	/* "<addr> <size> <type> <name>"; a symbol without a size has three
	 * fields and cannot give an end, so it does not count. */
	while (fgets(line, sizeof line, p)) {
		char addr[32], size[32], type[8], sym[sizeof line];
		if (found || sscanf(line, "%31s %31s %7s %1023s", addr, size, type, sym) != 4)
			continue;
		if (strlen(type) != 1 || !strchr("TtWwi", type[0]) || strcmp(sym, name) != 0)
			continue;
		*start = strtoull(addr, NULL, 16);
		*end = *start + strtoull(size, NULL, 16);
		found = true;
	}
	pclose(p);
	return found;
}

/* Is m the file exe (want: exe's realpath)? Same path, or same file once
 * both resolve. */
static bool module_is(const struct dump_module *m, const char *exe, const char *want)
{
	char have[PATH_MAX];

	if (!m || !m->path)
		return false;
	if (strcmp(m->path, exe) == 0 || strcmp(m->path, want) == 0)
		return true;
	return realpath(m->path, have) && strcmp(have, want) == 0;
}

/* Does the dump's module map list exe at all? */
static bool dump_has_module(const struct dump *d, const char *exe, const char *want)
{
	for (size_t i = 0; i < d->nmodules; i++)
		if (module_is(&d->modules[i], exe, want))
			return true;
	return false;
}

struct lc_lost_entry harness_lockless_waits(const struct dump *d)
{
	const struct lc_lost_entry *w = d->lost[LC_VIEW_WAIT];
	struct lc_lost_entry n = {
	    .count = w[LC_LOST_REENTRANT].count + w[LC_LOST_NO_FILE].count + w[LC_LOST_NO_ROOM].count,
	    .delay_ns = w[LC_LOST_REENTRANT].delay_ns + w[LC_LOST_NO_FILE].delay_ns +
	                w[LC_LOST_NO_ROOM].delay_ns};
	for (size_t i = 0; i < d->nlocks; i++) {
		n.count -= d->locks[i].lost[LC_VIEW_WAIT][LC_LOST_NO_ROOM].count;
		n.delay_ns -= d->locks[i].lost[LC_VIEW_WAIT][LC_LOST_NO_ROOM].delay_ns;
	}
	return n;
}

uint64_t harness_gave_up(const struct dump *d, uint32_t kind)
{
	uint64_t n = 0;
	for (size_t i = 0; i < d->nbuckets; i++)
		if (d->buckets[i].kind == kind && d->buckets[i].view == LC_VIEW_WAIT &&
		    (d->buckets[i].flags & LC_BUCKET_TIMEDOUT))
			n += d->buckets[i].count;
	return n;
}

/* A frame counts where it belongs: to the module that held its address in
 * the bucket's module epoch (a library unloaded and another loaded at its
 * address are told apart). */
void harness_sum_function(const struct dump *d, const char *exe, const char *fn,
                          uint64_t *count, uint64_t *delay_ns)
{
	uint64_t start = 0, end = 0;
	char want[PATH_MAX];

	*count = *delay_ns = 0;
	cr_assert(harness_symbol(exe, fn, &start, &end), "%s: no function %s (nm -S)", exe, fn);
	if (!realpath(exe, want))
		snprintf(want, sizeof want, "%s", exe);
	cr_assert(dump_has_module(d, exe, want), "the dump's module map (%zu modules) has no %s",
	          d->nmodules, exe);
	for (size_t i = 0; i < d->nbuckets; i++) {
		const struct dump_bucket *b = &d->buckets[i];
		if (b->view != LC_VIEW_WAIT)
			continue;
		for (uint32_t f = 0; f < b->nframes; f++) {
			/* A return address: the call is the byte before it. */
			uint64_t pc = b->pcs[f];
			const struct dump_module *m =
			    pc ? dump_module_in_epoch(d, pc - 1, b->epoch) : NULL;
			uint64_t addr = pc - 1 - (m ? m->load_bias : 0);
			if (module_is(m, exe, want) && addr >= start && addr < end) {
				*count += b->count;
				*delay_ns += b->delay_ns;
				break; /* a bucket counts once, however deep the recursion */
			}
		}
	}
}

/* ---- profiles and reports --------------------------------------------------- */

void harness_profile(const char *name, const char *const args[], const char *cfg, int timeout_s,
                     struct run_result *r, char dump[PATH_MAX])
{
	const char *dir = harness_tmpdir();
	const char *argv[16] = { harness_fixture(name) };
	char env[PATH_MAX + 256], pat[PATH_MAX];
	glob_t g;

	for (size_t i = 0; args && args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	snprintf(env, sizeof env, "LOCKCONTEND=%s%sout=%s/%s.%%p.raw", cfg ? cfg : "",
	         cfg && *cfg ? "," : "", dir, name);
	const char *envv[] = { env, NULL };
	cr_assert_eq(harness_run(argv, envv, dir, true, timeout_s, r), 0, "cannot run %s", name);
	cr_assert(!r->timed_out, "%s hung (killed after %d s); stdout:\n%s", name, timeout_s, r->out);
	cr_assert_eq(r->exit_code, 0, "%s exited %d (signal %d):\n%s%s", name, r->exit_code,
	             r->signal, r->out, r->err);
	snprintf(pat, sizeof pat, "%s/%s.*.raw", dir, name);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "%s wrote no dump %s; stderr:\n%s", name, pat, r->err);
	cr_assert_eq(g.gl_pathc, 1, "%zu dumps match %s", g.gl_pathc, pat);
	snprintf(dump, PATH_MAX, "%s", g.gl_pathv[0]);
	globfree(&g);
}

uint64_t harness_out_value(const char *out, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		unsigned long long v;
		if (strncmp(p, key, n) == 0 && p[n] == ' ' && sscanf(p + n, " %llu", &v) == 1)
			return v;
		p += len + (p[len] == '\n');
	}
	cr_assert_fail("no '%s N' line in the fixture's output:\n%s", key, out);
	return 0;
}

void harness_symbolize(const char *const args[], struct run_result *r)
{
	static char path[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_SYMBOLIZE");
	const char *want = over && *over ? over : "build/lockcontend-symbolize";
	const char *argv[32];
	size_t n = 0;

	cr_assert(realpath(want, path) != NULL, "%s: %s (run make all)", want, strerror(errno));
	argv[n++] = path;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	cr_assert_eq(harness_run(argv, NULL, NULL, false, 60, r), 0);
	cr_assert(!r->timed_out, "the symbolizer hung");
	cr_assert_eq(r->signal, 0, "the symbolizer died of signal %d; stderr: %s", r->signal, r->err);
}

char *harness_folded(const char *dump, const char *view, const char *const opts[])
{
	char format[] = "--format=folded", viewopt[64];
	const char *args[24] = { format, viewopt };
	size_t n = 2;
	struct run_result r;

	snprintf(viewopt, sizeof viewopt, "--view=%s", view);
	for (size_t i = 0; opts && opts[i] && n < 22; i++)
		args[n++] = opts[i];
	args[n++] = dump;
	args[n] = NULL;
	harness_symbolize(args, &r);
	cr_assert_eq(r.exit_code, 0, "lockcontend-symbolize --format=folded %s %s: exit %d\n%s",
	             viewopt, dump, r.exit_code, r.err);
	free(r.err);
	return r.out;
}

/* Does the stack "f1;f2;...;fn" have a frame named exactly frame? */
static bool stack_has_frame(const char *stack, size_t len, const char *frame)
{
	size_t flen = strlen(frame);

	for (const char *f = stack; f < stack + len;) {
		const char *semi = memchr(f, ';', (size_t)(stack + len - f));
		size_t n = semi ? (size_t)(semi - f) : (size_t)(stack + len - f);
		if (n == flen && memcmp(f, frame, n) == 0)
			return true;
		if (!semi)
			break;
		f = semi + 1;
	}
	return false;
}

uint64_t harness_folded_sum(const char *folded, const char *frame, size_t *lines)
{
	uint64_t sum = 0;
	size_t matched = 0;

	for (const char *p = folded; *p;) {
		size_t len = strcspn(p, "\n");
		const char *sp = p + len;
		while (sp > p && sp[-1] != ' ')
			sp--;
		char *end;
		cr_assert(sp > p + 1 && p[len] == '\n', "not a folded line: '%.*s'", (int)len, p);
		uint64_t v = strtoull(sp, &end, 10);
		cr_assert(end == p + len && end > sp, "bad value in '%.*s'", (int)len, p);
		if (!frame || stack_has_frame(p, (size_t)(sp - 1 - p), frame)) {
			sum += v;
			matched++;
		}
		p += len + 1;
	}
	if (lines)
		*lines = matched;
	return sum;
}

void harness_assert_near(uint64_t got, uint64_t want, double tolerance, const char *what)
{
	double ratio = want ? (double)got / (double)want : 0;

	cr_assert(want > 0 && ratio >= 1 - tolerance && ratio <= 1 + tolerance,
	          "%s: profile %" PRIu64 " ns vs measured %" PRIu64
	          " ns (ratio %.3f, allowed %.2f-%.2f)",
	          what, got, want, ratio, 1 - tolerance, 1 + tolerance);
}

void harness_assert_wait(uint64_t got, uint64_t want, uint64_t delayed, double tolerance,
                         const char *what)
{
	double ratio = want ? (double)got / (double)want : 0,
	       lifted = want ? (double)(got + delayed) / (double)want : 0;

	cr_assert(want > 0 && lifted >= 1 - tolerance && ratio <= 1 + tolerance,
	          "%s: profile %" PRIu64 " ns vs measured %" PRIu64 " ns, %" PRIu64
	          " ns of it kept from a CPU (ratio %.3f, %.3f with it; allowed %.2f-%.2f)",
	          what, got, want, delayed, ratio, lifted, 1 - tolerance, 1 + tolerance);
}

char *harness_go_pprof(const char *args, const char *file)
{
	const char *tmp = harness_tmpdir();
	char quoted[2 * PATH_MAX], cmd[3 * PATH_MAX + 1024];
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);

	cr_assert(out != NULL && shell_quote(file, quoted, sizeof quoted), "harness_go_pprof: %s",
	          file);
	snprintf(cmd, sizeof cmd, "HOME=%s PPROF_TMPDIR=%s go tool pprof %s %s 2>&1", tmp, tmp, args,
	         quoted);
	FILE *p = popen(cmd, "r");
	cr_assert(p != NULL, "cannot run %s", cmd);
	for (size_t n; (n = fread(out + len, 1, cap - len - 1, p)) > 0;) {
		len += n;
		if (len + 1 == cap) {
			out = realloc(out, cap *= 2);
			cr_assert(out != NULL, "harness_go_pprof: out of memory");
		}
	}
	out[len] = '\0';
	int rc = pclose(p);
	cr_assert_eq(rc, 0, "%s: exit status %#x\n%s", cmd, rc, out);
	return out;
}
