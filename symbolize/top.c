/*
 * top.c — lockcontend-top: a live view of a running process's locks, from
 * its profile file alone.
 *
 *   lockcontend-top [--interval D] [--once] [--rows N] [--stuck D]
 *                   [--sysroot DIR] [--debug-dir DIR]... [--no-demangle] PID|PROFILE
 *
 * PROFILE is a profile file (an argument that names an existing file is
 * one); PID a process started under the preload, whose profile is found in
 * its /proc/PID/maps (topfind.h).  Every interval (default 1 s) the file
 * is read again, symbolized and compared with the previous read
 * (topview.h): the locks by wait in the interval, the threads waiting now,
 * a banner when some are deadlocked.  Nothing is asked of the process: no
 * signal, no ptrace, nothing it waits for; reading the file costs it
 * nothing.
 *
 * Each read builds the whole profile again, but through one resolver cache
 * (symcache.h) kept for the session: after the first read no address is
 * looked up twice and no file is opened, so a refresh costs the parse and
 * the profile's own bookkeeping (bench test 7: tens of ms for 10,000
 * stacks, against seconds for the first).  Resolver warnings go to stderr,
 * once per module for the session.
 *
 * On a terminal each screen replaces the last (ANSI home and clear, cut
 * to the window's height); otherwise screens follow one another, a blank
 * line apart.  --once prints one screen for scripts and tests: two reads an
 * interval apart, or, when the writer no longer runs, its totals at once.
 * The view ends by itself after the screen that finds the writer gone;
 * Ctrl-C (SIGINT) or SIGTERM ends it at once.
 *
 * A process under the preload that has not contended yet has no profile
 * file: "no contention recorded yet" on stdout; --once ends there (status
 * 0), else the view waits for the file, an interval at a time.
 *
 * Exit status: 0; 1 bad usage, no such process, no profile, or a file
 * that is not one (one line on stderr); 3 the last screen showed a deadlock
 * (not after Ctrl-C), as lockcontend-symbolize's.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "duration.h"
#include "optfail.h"
#include "profile.h"
#include "report.h"
#include "resolve.h"
#include "symcache.h"
#include "topfind.h"
#include "topview.h"
#include "viewkind.h"

#define PROG "lockcontend-top"
#define ROWS_PIPE 20 /* lock rows when stdout is not a terminal */
#define EXIT_DEADLOCK 3

struct options {
	uint64_t interval_ns;
	bool once;
	int rows; /* 0: to fit */
	uint64_t stuck_ns;
	struct resolve_opts resolve;
	const char *debug_dirs[64];
	const char *target;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [options] PID|PROFILE\n"
	           "  --interval=DURATION  time between reads (default 1s)\n"
	           "  --once               one screen: two reads an interval apart, then exit\n"
	           "  --rows=N             locks listed (default: to fit the terminal, or 20)\n"
	           "  --stuck=DURATION     a wait in progress this long is stuck (default 1s)\n"
	           "  --sysroot=DIR        find the program's files under DIR\n"
	           "  --debug-dir=DIR      also look for files by build-id in DIR (repeatable)\n"
	           "  --no-demangle        keep C++ names as in the binary\n"
	           "exit status: 0 done, 1 bad usage or no profile to read, 3 the last screen\n"
	           "showed a deadlock\n");
}

static int fail_usage(const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	return -1;
}

static int parse_duration(const char *opt, const char *arg, uint64_t *ns)
{
	if (duration_parse(arg, ns) != 0 || *ns < 1000000)
		return fail_usage(opt, arg);
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {{"interval", required_argument, 0, 'i'},
	                                         {"once", no_argument, 0, '1'},
	                                         {"rows", required_argument, 0, 'r'},
	                                         {"stuck", required_argument, 0, 'S'},
	                                         {"sysroot", required_argument, 0, 's'},
	                                         {"debug-dir", required_argument, 0, 'd'},
	                                         {"no-demangle", no_argument, 0, 'n'},
	                                         {"help", no_argument, 0, 'h'},
	                                         {0, 0, 0, 0}};
	int c;
	char *end;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case 'i':
			rc = parse_duration("--interval needs a duration of 1ms or more", optarg,
			                    &o->interval_ns);
			break;
		case '1': o->once = true; break;
		case 'r':
			o->rows = (int)strtol(optarg, &end, 10);
			if (*end || o->rows <= 0)
				rc = fail_usage("--rows needs a positive number", optarg);
			break;
		case 'S':
			rc = parse_duration("--stuck needs a duration of 1ms or more", optarg,
			                    &o->stuck_ns);
			break;
		case 's': o->resolve.sysroot = optarg; break;
		case 'd':
			if (o->resolve.ndebug_dirs == 64)
				return fail_usage("too many --debug-dir", NULL);
			o->debug_dirs[o->resolve.ndebug_dirs++] = optarg;
			break;
		case 'n': o->resolve.demangle = false; break;
		case 'h': usage(stdout); exit(0);
		default: optfail_say(PROG, c, argv); return -1;
		}
		if (rc != 0)
			return -1;
	}
	if (optind == argc)
		return fail_usage("no PID or PROFILE given (see --help)", NULL);
	if (optind + 1 != argc)
		return fail_usage("one PID or PROFILE, not more", argv[optind + 1]);
	o->target = argv[optind];
	return 0;
}

static uint64_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One read of the file: the dump, what became of its writer, its profile
 * and what the screen needs of it. */
struct snap {
	struct dump d;
	struct dump_status st;
	struct profile p;
	struct topview_read r;
};

/* 0, or -1 after one line on stderr. */
static int snap_take(const struct options *o, const char *path, struct snap *s)
{
	char err[512];
	memset(s, 0, sizeof(*s));
	uint64_t at = now_mono();
	if (dump_read_file(path, &s->d, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, err);
		return -1;
	}
	dumpstatus_of(&s->d, path, NULL, &s->st);
	if (profile_build(&s->p, &s->d, 1, &o->resolve, VIEWKIND_DEFAULT_KINDS, stderr) != 0) {
		dump_free(&s->d);
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	if (topview_take(&s->r, &s->p, &s->d, at) != 0) {
		profile_free(&s->p);
		dump_free(&s->d);
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	return 0;
}

/* The dump and profile go; the read stays (the next interval's start). */
static void snap_drop(struct snap *s)
{
	profile_free(&s->p);
	dump_free(&s->d);
}

static bool snap_live(const struct snap *s)
{
	return s->st.writer == DUMP_WRITER_LIVE;
}

/* The terminal's height, or 0 when stdout is not a terminal. */
static int terminal_rows(void)
{
	struct winsize ws;
	if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0)
		return 0;
	return ws.ws_row > 0 ? ws.ws_row : 24;
}

/* At most `lines` lines of text (0: all), the last cut one saying so. */
static void lines_write(const char *text, int lines, FILE *out)
{
	const char *p = text;
	for (int n = 1; lines && *p; n++) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		if (n == lines && nl[1]) {
			fprintf(out, "... (more below: a taller window shows it)\n");
			return;
		}
		fwrite(p, 1, (size_t)(nl + 1 - p), out);
		p = nl + 1;
	}
	fputs(p, out);
}

/* Show one screen of s, against prev (NULL: no interval); *shown: a screen
 * was shown before (then a blank line comes first, off a terminal). */
static void screen_show(const struct options *o, const char *path, const struct snap *s,
                        const struct topview_read *prev, const char *note, bool *shown)
{
	int height = terminal_rows();
	int rows = o->rows ? o->rows : height ? (height - 8) / 2 : ROWS_PIPE;
	const char *paths[] = {path};
	struct report_input in = {&s->p,      &s->d, paths,  1,           rows < 5 ? 5 : rows,
	                          PROF_DELAY, -1,    &s->st, o->stuck_ns, false,
	                          0,          NULL};
	struct topview_screen sc = {&in, prev, &s->r, note};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f) {
		topview_write(&sc, f);
		fclose(f);
	}
	if (height)
		fputs("\033[H\033[2J", stdout);
	else if (*shown)
		fputs("\n", stdout);
	*shown = true;
	lines_write(text ? text : "out of memory\n", height ? height - 1 : 0, stdout);
	fflush(stdout);
	free(text);
}

/* Sleep until the CLOCK_MONOTONIC time `at`; false if told to stop. */
static bool sleep_until(uint64_t at)
{
	struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return !stop;
}

/* The screens, until the writer is gone (or, --once, one).  Returns the
 * exit status. */
static int run(const struct options *o, const char *path)
{
	struct snap s;
	char note[128], every[32];
	bool shown = false;
	if (snap_take(o, path, &s) != 0)
		return 1;
	report_duration(every, sizeof(every), o->interval_ns);
	snprintf(note, sizeof(note), "rates from the next read, in %s", every);
	if (!snap_live(&s))
		screen_show(o, path, &s, NULL, "not running: its totals only", &shown);
	else if (!o->once)
		screen_show(o, path, &s, NULL, note, &shown);
	int status = report_deadlocks(&s.p) ? EXIT_DEADLOCK : 0;
	struct topview_read prev = s.r;
	bool live = snap_live(&s);
	snap_drop(&s);
	/* Reads start an interval apart; one that took longer (the first, which
	 * resolves every address) is followed by the next at once. */
	for (uint64_t next = prev.mono_ns + o->interval_ns; live && sleep_until(next);) {
		if (snap_take(o, path, &s) != 0) {
			status = 1;
			break;
		}
		live = snap_live(&s);
		screen_show(o, path, &s, &prev, live ? NULL : "the writer is gone: its last screen",
		            &shown);
		status = report_deadlocks(&s.p) ? EXIT_DEADLOCK : 0;
		topview_free(&prev);
		prev = s.r;
		snap_drop(&s);
		if (o->once)
			break;
		next = prev.mono_ns + o->interval_ns;
	}
	topview_free(&prev);
	return stop ? 0 : status;
}

static bool sleep_until(uint64_t at);
static uint64_t now_mono(void);

/* A process under the preload that has not contended yet has no profile
 * file (it is made at the first contention): say so on stdout, and with
 * --once stop there (1); else look again every interval until it has one
 * (0), or it ends without one (1, said on stdout too). */
static int await_profile(const struct options *o, uint64_t pid, char *path, size_t cap,
                         const char *first)
{
	char err[PATH_MAX + 256];
	printf(PROG ": %s\n", first);
	fflush(stdout);
	if (o->once)
		return 1;
	int rc = TOPFIND_NOT_YET;
	while (rc == TOPFIND_NOT_YET && sleep_until(now_mono() + o->interval_ns))
		rc = topfind_profile(pid, path, cap, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (!stop)
		printf(PROG ": process %" PRIu64 " ended with no contention recorded: no profile\n",
		       pid);
	return 1;
}

/* The profile to read: the file named, else the profile of the process
 * whose pid it is.  0; 1 when there is none and none is an answer
 * (await_profile); or -1 after one line on stderr. */
static int find_target(const struct options *o, const char *target, char *path, size_t cap)
{
	struct stat st;
	char err[PATH_MAX + 256], *end;
	if (stat(target, &st) == 0 || errno != ENOENT) {
		snprintf(path, cap, "%s", target); /* dump_read_file says what is wrong */
		return 0;
	}
	unsigned long long pid = strtoull(target, &end, 10);
	if (!*target || *end || target[0] == '-') {
		fprintf(stderr, PROG ": %s: no such file, and not a process id\n", target);
		return -1;
	}
	int rc = topfind_profile(pid, path, cap, err, sizeof(err));
	if (rc == TOPFIND_NOT_YET)
		return await_profile(o, pid, path, cap, err);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {.interval_ns = 1000000000u};
	char path[PATH_MAX];
	o.resolve.demangle = true;
	o.resolve.debug_dirs = o.debug_dirs;
	if (parse_args(argc, argv, &o) != 0)
		return 1;
	unsetenv("DEBUGINFOD_URLS"); /* never reach out to the network unasked */
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int found = find_target(&o, o.target, path, sizeof(path));
	if (found != 0)
		return found < 0 ? 1 : 0;
	if (!(o.resolve.cache = symcache_new())) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	int status = run(&o, path);
	symcache_free(o.resolve.cache);
	return status;
}
