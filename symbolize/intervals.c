/*
 * intervals.c — lockcontend-intervals: a delta profile per interval of a
 * running program, ready to ship to a continuous-profiling backend
 * (Pyroscope, Parca, an OpenTelemetry Collector), from its profile file.
 *
 *   lockcontend-intervals --dir OUT [--interval 60s] [--keep N] [--max-size SIZE]
 *                         [--view waiter|holder|hold] [--match STR] [--while-pid PID]
 *                         [--sysroot DIR] [--debug-dir DIR]... [--no-demangle]
 *                         PID|PROFILE|DIR
 *   lockcontend-intervals --check --dir OUT [the same options] .
 *
 * Who writes the interval files, and why here: a sidecar, never the
 * profiled process.  The profile file is written in place while the
 * program runs (docs/format.md) and is read by anyone, as `lockcontend top`
 * reads it; so everything an interval file needs — the buckets, the
 * series that place events in time, the modules and their build-ids — is
 * already in the file, and the sidecar asks nothing of the program: no
 * thread of ours in it, no allocation, no file, no clock, no lock, nothing
 * that could slow, block or break it, and it can symbolize (the files
 * carry function names and lines, and the mappings' build-ids and
 * addresses for a backend that symbolizes itself).  The preload is
 * unchanged.  The wrapper starts one beside the command (`lockcontend
 * --interval-dir OUT -- CMD`); a program started otherwise is followed by
 * starting it by hand, or from the service manager, with its PID or
 * profile, or the directory its profiles are written to.
 *
 * Each profile followed is read every interval (plus a grace, a twentieth
 * of it and at most 1 s, for events to be settled), and what it gained is
 * written as one gzipped pprof file whose time_nanos and duration_nanos
 * are the interval's: intervals.h says how the cut is made exact (the
 * files of a run sum to its totals, per lock and stack) and placed in time
 * by the series.  Intervals are [k, k+1) × interval after the profile's
 * start, so they tile the run: each starts where the last ended, the first
 * at the start, the last at the run's end (its exit, or the read that
 * found it gone).  A read that comes late covers the intervals it missed
 * in one file.  A file marked ended by a process that still runs is being
 * closed (its threads' last events merged, its closing records written):
 * it is read again shortly, never cut half-closed.  Files, names and what
 * is kept: intervals_dir.h.
 *
 * The target: a profile file; a PID (its profile, found as `lockcontend
 * top` finds it, topfind.h); or a directory, whose profiles (*.raw, and
 * an exec'd image's *.raw.N; with --match only names holding STR) are each
 * followed from when they appear — a process tree's, or a host's (without
 * --match, one that had ended before the watch began is an earlier run's,
 * and is left alone; a profile removed while followed is given up).  A profile is
 * followed until its writer is gone (its last interval written), a PID or
 * PROFILE's run ends the tool with it; a directory is watched until
 * SIGTERM or SIGINT (or until --while-pid's process is gone: the
 * wrapper's shell, so that a killed wrapper leaves no watcher behind),
 * which end every profile followed with a last interval at once (a writer
 * still running then has its intervals end at that read).  --check only
 * checks the options and opens OUT (the wrapper's check before CMD runs).
 *
 * Exit status: 0; 1 bad usage, no profile, the directory not ours, or a
 * file that could not be written (one line each on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "duration.h"
#include "intervals.h"
#include "intervals_dir.h"
#include "optfail.h"
#include "profile.h"
#include "resolve.h"
#include "symcache.h"
#include "topfind.h"
#include "viewkind.h"

#define PROG "lockcontend-intervals"
#define POLL_NS 1000000000ull       /* a watched directory is scanned this often */
#define GRACE_MAX_NS POLL_NS        /* settling time after an interval's end */
#define FINISH_POLL_NS 20000000ull  /* a writer writing its end: read again then */
#define FINISH_MAX_NS 5000000000ull /* ... for so long, when told to stop */
#define DEFAULT_KEEP 1440           /* a day of 60 s intervals */
#define DEFAULT_MAX (256ull << 20)

struct options {
	uint64_t interval_ns;
	int view;
	const char *match;
	const char *out;
	struct resolve_opts resolve;
	const char *debug_dirs[64];
	const char *target;
	struct ivl_dir *dir;
	long while_pid;       /* watching: stop when it is gone (0: never) */
	uint64_t watch_since; /* watching: CLOCK_REALTIME at our start */
	bool check;           /* --check: the options and OUT only */
};

/* One profile followed. */
struct follower {
	char path[PATH_MAX];
	struct ivl_state st;
	bool started, done;
	unsigned fails;
	uint64_t start_mono, start_real, pid, next_mono;
	char exe[PATH_MAX];
};

static volatile sig_atomic_t stop;
static int failures;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t grace_ns(const struct options *o)
{
	uint64_t g = o->interval_ns / 20;
	return g < GRACE_MAX_NS ? g : GRACE_MAX_NS;
}

/* ---- one cut ------------------------------------------------------------- */

/* Cut f's next interval, [cut_ns, to_ns) after its start, out of read d
 * and write it; hold: hold back what the series place after to_ns. */
static void cut_write(const struct options *o, struct follower *f, const struct dump *d,
                      uint64_t to_ns, bool hold)
{
	struct profile whole, held;
	char err[PATH_MAX + 256];
	struct prof_window w = {to_ns, UINT64_MAX};
	bool have_held = hold && d->nseries > 0;
	int rc = profile_build(&whole, d, 1, &o->resolve, VIEWKIND_DEFAULT_KINDS, stderr);
	if (rc == 0 && have_held &&
	    profile_build_window(&held, d, 1, &o->resolve, VIEWKIND_DEFAULT_KINDS, &w, stderr) !=
	        0) {
		profile_free(&whole);
		rc = -1;
	}
	if (rc == 0 && ivl_cut(&f->st, &whole, d, have_held ? &held : NULL, o->view) != 0)
		rc = -1;
	if (rc != 0) {
		fprintf(stderr, PROG ": %s: out of memory\n", f->path);
		failures++;
		f->done = true;
		return;
	}
	whole.time_nanos = f->start_real + f->st.cut_ns;
	whole.duration_nanos = to_ns - f->st.cut_ns;
	bool empty = to_ns == f->st.cut_ns && whole.nsamples == 0; /* nothing, no time */
	if (!empty &&
	    ivl_dir_write(o->dir, &whole, o->view, f->exe, f->pid, f->start_real + f->st.cut_ns,
	                  f->start_real + to_ns, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		failures++;
	}
	f->st.cut_ns = to_ns;
	if (have_held)
		profile_free(&held);
	profile_free(&whole);
}

/* ---- following one profile ----------------------------------------------- */

/* Done with f: its table goes (a watcher may follow thousands in turn). */
static void follower_end(struct follower *f, bool done)
{
	if (!done)
		return;
	f->done = true;
	ivl_state_free(&f->st);
}

/* Its first read: false (and done, nothing written) for a profile found
 * in a watched directory that ended before we started: an earlier run's,
 * whose intervals were another watcher's to write.  Not with --match,
 * which names the files to follow (the wrapper's: this run's, some of
 * which may have ended before we got going). */
static bool follower_begin(const struct options *o, struct follower *f, const struct dump *d,
                           const struct dump_status *ds)
{
	if (o->watch_since && !o->match && ds->writer != DUMP_WRITER_LIVE &&
	    d->meta.start_realtime_ns < o->watch_since) {
		follower_end(f, true);
		return false;
	}
	f->started = true;
	f->start_mono = d->meta.start_mono_ns;
	f->start_real = d->meta.start_realtime_ns;
	f->pid = d->meta.pid;
	snprintf(f->exe, sizeof(f->exe), "%s", d->exe ? d->exe : "");
	return true;
}

/* The run's end after its start: the dump's own for a complete one, else
 * this read's (the writer died, or still runs). */
static uint64_t run_end(const struct follower *f, const struct dump *d, uint64_t now)
{
	uint64_t end = d->complete && d->meta.end_mono_ns > f->start_mono
	                   ? d->meta.end_mono_ns - f->start_mono
	                   : now - f->start_mono;
	return end > f->st.cut_ns ? end : f->st.cut_ns;
}

/* Does process pid run (a zombie does not)?  Its end may still be being
 * written into its file: the preload marks the file ended, then writes
 * its closing records and trailer. */
static bool process_runs(uint64_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%llu/stat", (unsigned long long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pid && pid <= INT_MAX && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Read f's file; write the interval due, or (its writer gone, or final)
 * the last one.  False when the writer is writing its end: read again in
 * a moment. */
static bool follower_tick(const struct options *o, struct follower *f, bool final)
{
	struct dump d;
	struct dump_status ds;
	char err[512];
	uint64_t now = now_mono();
	if (dump_read_file(f->path, &d, err, sizeof(err)) != 0) {
		/* A file just made may not have its heading yet; one removed
		 * (by its owner) is given up. */
		bool gone = access(f->path, F_OK) != 0 && errno == ENOENT;
		if (++f->fails == 3 || final || gone)
			fprintf(stderr, PROG ": %s: %s\n", f->path, err);
		f->next_mono = now + POLL_NS;
		follower_end(f, final || gone);
		return true;
	}
	dumpstatus_of(&d, f->path, NULL, &ds);
	if (ds.writer != DUMP_WRITER_LIVE && !d.complete && process_runs(d.meta.pid)) {
		f->next_mono = now + FINISH_POLL_NS;
		dump_free(&d);
		return false;
	}
	if (!f->started && !follower_begin(o, f, &d, &ds)) {
		dump_free(&d);
		return true;
	}
	uint64_t elapsed = now > f->start_mono ? now - f->start_mono : 0;
	if (ds.writer == DUMP_WRITER_LIVE && !final) {
		uint64_t settled = elapsed > grace_ns(o) ? elapsed - grace_ns(o) : 0;
		uint64_t due = settled / o->interval_ns * o->interval_ns;
		if (due > f->st.cut_ns)
			cut_write(o, f, &d, due, true);
		f->next_mono = f->start_mono + f->st.cut_ns + o->interval_ns + grace_ns(o);
	} else {
		cut_write(o, f, &d, run_end(f, &d, now), false);
		if (f->st.clamped)
			fprintf(stderr,
			        PROG ": %s: %llu stacks had shipped more than the run's end holds "
			             "(a bug: please report)\n",
			        f->path, (unsigned long long)f->st.clamped);
		follower_end(f, true);
	}
	dump_free(&d);
	return true;
}

/* ---- the targets --------------------------------------------------------- */

static struct follower *followers;
static size_t nfollowers;

static struct follower *follower_add(const char *path)
{
	for (size_t i = 0; i < nfollowers; i++)
		if (strcmp(followers[i].path, path) == 0)
			return NULL;
	struct follower *v = realloc(followers, (nfollowers + 1) * sizeof(*v));
	if (!v)
		return NULL;
	followers = v;
	struct follower *f = &followers[nfollowers++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	return f;
}

/* A profile's name in a watched directory: NAME.raw, or an exec'd image's
 * NAME.raw.N (not a snapshot's copy, NAME.raw.snapN). */
static bool profile_name(const char *name, const char *match)
{
	const char *raw = strstr(name, ".raw");
	if (name[0] == '.' || !raw || (match && !strstr(name, match)))
		return false;
	while (strstr(raw + 1, ".raw"))
		raw = strstr(raw + 1, ".raw");
	const char *tail = raw + 4;
	if (*tail == '\0')
		return true;
	if (*tail++ != '.' || !*tail)
		return false;
	return strspn(tail, "0123456789") == strlen(tail);
}

/* New profiles in the watched directory. */
static void watch_scan(const struct options *o)
{
	DIR *d = opendir(o->target);
	char path[PATH_MAX];
	struct stat st;
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (!profile_name(e->d_name, o->match))
			continue;
		snprintf(path, sizeof(path), "%s/%s", o->target, e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			follower_add(path);
	}
	closedir(d);
}

/* The target's one profile (a file, or a pid's), or watch mode (a
 * directory).  0, 1 watching, or -1 after one line on stderr. */
static int target_find(const struct options *o)
{
	struct stat st;
	char path[PATH_MAX], err[PATH_MAX + 256], *end;
	if (stat(o->target, &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	if (stat(o->target, &st) == 0 || errno != ENOENT) {
		follower_add(o->target); /* dump_read_file says what is wrong */
		return 0;
	}
	unsigned long long pid = strtoull(o->target, &end, 10);
	if (!*o->target || *end || o->target[0] == '-') {
		fprintf(stderr, PROG ": %s: no such file, and not a process id\n", o->target);
		return -1;
	}
	if (topfind_profile(pid, path, sizeof(path), err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	follower_add(path);
	return 0;
}

static void sleep_for(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	nanosleep(&ts, NULL);
}

/* Sleep until the CLOCK_MONOTONIC time `at`; false if told to stop. */
static bool sleep_until(uint64_t at)
{
	struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return !stop;
}

static bool parent_alive(const struct options *o)
{
	return !o->while_pid || kill((pid_t)o->while_pid, 0) == 0 || errno != ESRCH;
}

/* Follow until every profile is done (one target) or told to stop
 * (watching); then a last interval for each still followed. */
static void run(const struct options *o, bool watch)
{
	for (;;) {
		if (watch)
			watch_scan(o);
		uint64_t now = now_mono(), next = now + (watch ? POLL_NS : o->interval_ns);
		bool left = false;
		for (size_t i = 0; i < nfollowers; i++) {
			struct follower *f = &followers[i];
			if (!f->done && now >= f->next_mono)
				follower_tick(o, f, false);
			if (!f->done && f->next_mono < next)
				next = f->next_mono;
			left |= !f->done;
		}
		if ((!watch && !left) || !sleep_until(next) || !parent_alive(o))
			break;
	}
	if (watch)
		watch_scan(o);
	/* A writer still writing its end gets FINISH_MAX_NS to finish. */
	uint64_t give_up = now_mono() + FINISH_MAX_NS;
	for (size_t i = 0; i < nfollowers; i++)
		while (!followers[i].done && !follower_tick(o, &followers[i], true) &&
		       now_mono() < give_up)
			sleep_for(FINISH_POLL_NS);
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: " PROG " --dir OUT [options] PID|PROFILE|DIR\n"
	        "  --dir=OUT            write the interval files here (made 0700 if missing;\n"
	        "                       must be yours and writable by you alone)\n"
	        "  --interval=DURATION  one file per interval (default 60s)\n"
	        "  --keep=N             files kept in OUT at most, oldest removed (default 1440)\n"
	        "  --max-size=SIZE      bytes kept in OUT at most, K M G (default 256M)\n"
	        "  --view=VIEW          waiter (default), holder or hold\n"
	        "  --match=STR          DIR: only profiles whose name holds STR\n"
	        "  --sysroot=DIR        find the program's files under DIR\n"
	        "  --debug-dir=DIR      also look for files by build-id in DIR (repeatable)\n"
	        "  --no-demangle        keep C++ and Rust names as in the binary\n"
	        "  --while-pid=PID      DIR: also stop when process PID is gone\n"
	        "  --check              check the options and OUT, then exit\n"
	        "DIR: follow every profile written there until SIGTERM or SIGINT.\n"
	        "exit status: 0 done, 1 bad usage, no profile, or a file not written\n");
}

static int fail_usage(const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	return -1;
}

/* A size with an optional K, M or G (powers of 1024), at least 1. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = *end == 'K' || *end == 'k'   ? 10
	            : *end == 'M' || *end == 'm' ? 20
	            : *end == 'G' || *end == 'g' ? 30
	                                         : 0;
	if (shift)
		end++;
	if (end == s || *end || errno || s[0] == '-' || v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_opt(int c, const char *arg, struct options *o)
{
	char *end;
	switch (c) {
	case 'i':
		if (duration_parse(arg, &o->interval_ns) != 0 || o->interval_ns < 10000000)
			return fail_usage("--interval needs a duration of 10ms or more", arg);
		return 0;
	case 'k':
		o->dir->keep = strtoull(arg, &end, 10);
		if (*end || !*arg || arg[0] == '-' || o->dir->keep == 0)
			return fail_usage("--keep needs a positive number", arg);
		return 0;
	case 'm':
		if (parse_size(arg, &o->dir->max_bytes) != 0)
			return fail_usage("--max-size needs a size such as 100M", arg);
		return 0;
	case 'v':
		if ((o->view = viewkind_view_parse(arg)) < 0)
			return fail_usage("--view is waiter, holder or hold", arg);
		return 0;
	case 'o': o->out = arg; return 0;
	case 'M': o->match = arg; return 0;
	case 's': o->resolve.sysroot = arg; return 0;
	case 'd':
		if (o->resolve.ndebug_dirs == 64)
			return fail_usage("too many --debug-dir", NULL);
		o->debug_dirs[o->resolve.ndebug_dirs++] = arg;
		return 0;
	case 'n': o->resolve.demangle = false; return 0;
	case 'c': o->check = true; return 0;
	case 'w':
		o->while_pid = strtol(arg, &end, 10);
		if (*end || o->while_pid <= 0)
			return fail_usage("--while-pid needs a process id", arg);
		return 0;
	case 'h': usage(stdout); exit(0);
	default: usage(stderr); return -1;
	}
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {{"dir", required_argument, 0, 'o'},
	                                         {"interval", required_argument, 0, 'i'},
	                                         {"keep", required_argument, 0, 'k'},
	                                         {"max-size", required_argument, 0, 'm'},
	                                         {"view", required_argument, 0, 'v'},
	                                         {"match", required_argument, 0, 'M'},
	                                         {"sysroot", required_argument, 0, 's'},
	                                         {"debug-dir", required_argument, 0, 'd'},
	                                         {"no-demangle", no_argument, 0, 'n'},
	                                         {"help", no_argument, 0, 'h'},
	                                         {"check", no_argument, 0, 'c'},
	                                         {"while-pid", required_argument, 0, 'w'},
	                                         {0, 0, 0, 0}};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == ':' || c == '?') {
			optfail_say(PROG, c, argv);
			return -1;
		}
		if (parse_opt(c, optarg, o) != 0)
			return -1;
	}
	if (!o->out)
		return fail_usage("--dir OUT is needed: where the interval files go", NULL);
	if (optind == argc)
		return fail_usage("no PID, PROFILE or DIR given (see --help)", NULL);
	if (optind + 1 != argc)
		return fail_usage("one PID, PROFILE or DIR, not more", argv[optind + 1]);
	o->target = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct ivl_dir dir = {.fd = -1, .keep = DEFAULT_KEEP, .max_bytes = DEFAULT_MAX};
	struct options o = {.interval_ns = 60000000000ull, .view = LC_VIEW_WAIT, .dir = &dir};
	char err[PATH_MAX + 256];
	o.resolve.demangle = true;
	o.resolve.debug_dirs = o.debug_dirs;
	if (parse_args(argc, argv, &o) != 0)
		return 1;
	int watch = o.check ? 1 : target_find(&o);
	if (watch < 0)
		return 1;
	if (ivl_dir_open(&dir, o.out, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (o.check) {
		ivl_dir_close(&dir);
		return 0;
	}
	unsetenv("DEBUGINFOD_URLS"); /* never reach out to the network unasked */
	/* A signal ignored when we started stays ignored: a shell's background
	 * job (the wrapper's) ignores Ctrl-C, which is the command's to take. */
	struct sigaction sa = {.sa_handler = on_stop}, old;
	for (int sig = SIGINT; sig; sig = sig == SIGINT ? SIGTERM : 0)
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sig, &sa, NULL);
	if (!(o.resolve.cache = symcache_new())) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (watch == 1) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		o.watch_since = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	run(&o, watch == 1);
	symcache_free(o.resolve.cache);
	ivl_dir_close(&dir);
	for (size_t i = 0; i < nfollowers; i++)
		ivl_state_free(&followers[i].st);
	free(followers);
	return failures ? 1 : 0;
}
