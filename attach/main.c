/*
 * main.c — lockcontend-attach: start or stop a lockcontend profile in a
 * process that is already running, without restarting it.
 *
 *   lockcontend-attach start PID --lib /abs/liblockcontend.so --settings STRING [--verbose]
 *   lockcontend-attach stop PID [--verbose]
 *
 * start loads the library into PID if it is not there yet (dlopen with
 * RTLD_NOW, called in the target) and calls its lockcontend_attach(STRING),
 * STRING being what LOCKCONTEND would hold ("out=/abs/x.raw,rate=1");
 * stop calls lockcontend_detach() of the library PID has loaded (found by
 * that export in the objects /proc/PID/maps lists).  The wrapper's
 * `lockcontend attach PID` runs it (docs/attach.md).
 *
 * Getting in, in order: refuse what must be left alone (target.h), with
 * nothing touched; find libc's dlopen, dlsym, dlerror and __errno_location
 * in the target and build the unsafe set (locate.h, unsafe.h); stop one
 * thread at a safe point (borrow.h); on it, save errno, call what the
 * command needs (remote.h), put errno back; restore the thread and let it
 * go.  The other threads are never stopped.  --verbose prints how long
 * the borrowed thread was stopped, from PTRACE_INTERRUPT to PTRACE_DETACH:
 *
 *   lockcontend-attach: 4242 stopped 1.3 ms (thread 4250, 1 tries)
 *
 * A failure is one line on stderr, "lockcontend-attach: <what happened
 * and what to do>", and the exit status: 2 for bad input and refusals
 * (nothing in the target changed), 1 for a failure inside the target.
 * Ctrl-C, SIGTERM, SIGHUP and SIGQUIT are held while a thread is borrowed
 * (leaving then would crash the target) and end the search for one.
 * LOCKCONTEND_ATTACH_DEBUG=1 says, on stderr, every thread passed over
 * and why.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "borrow.h"
#include "config.h"
#include "elfimage.h"
#include "fail.h"
#include "locate.h"
#include "remote.h"
#include "target.h"

#define PROG "lockcontend-attach"

struct options {
	bool start; /* else stop */
	pid_t pid;
	const char *lib;
	const char *settings;
	bool verbose, debug;
};

/* What a session did in the target, for the verbose line. */
struct session {
	struct locate loc;
	struct remote r;
	struct borrow_stats stats;
	uint64_t errno_at;
	int saved_errno;
	int result; /* lockcontend_attach's or lockcontend_detach's return */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: " PROG " start PID --lib /abs/liblockcontend.so --settings STRING "
	             "[--verbose]\n"
	             "       " PROG " stop PID [--verbose]\n");
}

static int parse_pid(const char *s, pid_t *pid, struct fail *f)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT32_MAX)
		return fail_set(f, FAIL_REFUSED, "not a process id: '%s'", s);
	*pid = (pid_t)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o, struct fail *f)
{
	static const struct option longs[] = {{"lib", required_argument, NULL, 'l'},
	                                      {"settings", required_argument, NULL, 's'},
	                                      {"verbose", no_argument, NULL, 'v'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	int c;

	opterr = 0;
	/* ":": an option without its value comes back as ':', and is said so */
	while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
		if (c == 'l')
			o->lib = optarg;
		else if (c == 's')
			o->settings = optarg;
		else if (c == 'v')
			o->verbose = true;
		else if (c == 'h') {
			usage(stdout);
			exit(0);
		} else if (c == ':')
			return fail_set(f, FAIL_REFUSED, "option '%s' needs a value (see --help)",
			                argv[optind - 1]);
		else
			return fail_set(f, FAIL_REFUSED, "unknown option '%s' (see --help)",
			                argv[optind - 1]);
	}
	if (argc - optind != 2)
		return fail_set(f, FAIL_REFUSED,
		                "usage: " PROG " start|stop PID [options] (see --help)");
	o->start = strcmp(argv[optind], "start") == 0;
	if (!o->start && strcmp(argv[optind], "stop") != 0)
		return fail_set(f, FAIL_REFUSED, "unknown command '%s': start or stop",
		                argv[optind]);
	if (parse_pid(argv[optind + 1], &o->pid, f) != 0)
		return -1;
	if (o->start && (!o->lib || !o->settings))
		return fail_set(f, FAIL_REFUSED, "start needs --lib PATH and --settings STRING");
	if (!o->start && (o->lib || o->settings))
		return fail_set(f, FAIL_REFUSED, "stop takes no --lib or --settings");
	return 0;
}

/* A warning of config_parse, as a refusal: "unknown key 'x'" without the
 * "LOCKCONTEND: " before it and the "ignored" after it. */
static void settings_warn(const char *line, void *ctx)
{
	static const char *const tails[] = {" ignored", "; using the default"};
	char buf[sizeof(((struct fail *)0)->line)];
	const char *p = strncmp(line, "LOCKCONTEND: ", 13) == 0 ? line + 13 : line;

	snprintf(buf, sizeof(buf), "%s", p);
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		char *t = strstr(buf, tails[i]);
		if (t)
			memmove(t, t + strlen(tails[i]), strlen(t + strlen(tails[i])) + 1);
	}
	fail_set(ctx, FAIL_REFUSED, "bad --settings: %s", buf);
}

/* The settings as the library will parse them (preload/config.c), and
 * with an absolute out=: refused here, before anything is loaded. */
static int settings_check(const char *s, struct fail *f)
{
	struct config c;

	config_defaults(&c);
	if (config_parse(s, &c, settings_warn, f) != 0)
		return fail_set(f, FAIL_REFUSED, "bad --settings '%s'", s);
	if (c.out[0] != '/')
		return fail_set(
		    f, FAIL_REFUSED,
		    "--settings needs out=/absolute/path: the target creates the file, from "
		    "its own working directory");
	return 0;
}

/* ---- in the target ------------------------------------------------------- */

static int call(struct session *s, uint64_t fn, uint64_t a0, uint64_t a1, const char *what,
                uint64_t *ret, struct fail *f)
{
	const uint64_t args[2] = {a0, a1};

	return remote_call(&s->r, fn, args, 2, what, ret, f);
}

static int push_string(struct session *s, const char *str, uint64_t *addr, struct fail *f)
{
	return remote_push(&s->r, str, strlen(str) + 1, addr, f);
}

/* errno as the thread had it: our calls may set it. */
static int errno_save(struct session *s, struct fail *f)
{
	if (call(s, s->loc.errno_location, 0, 0, "__errno_location", &s->errno_at, f) != 0)
		return -1;
	if (remote_read(&s->r, s->errno_at, &s->saved_errno, sizeof(int)) != 0)
		return fail_set(f, FAIL_TARGET, "cannot read errno of thread %d", s->r.tid);
	return 0;
}

static int errno_restore(struct session *s, struct fail *f)
{
	if (remote_write(&s->r, s->errno_at, &s->saved_errno, sizeof(int)) != 0)
		return fail_set(f, FAIL_TARGET, "cannot restore errno of thread %d", s->r.tid);
	return 0;
}

/* No message, or one we cannot read: say so rather than nothing. */
static void read_dlerror(struct session *s, char *text, size_t cap)
{
	uint64_t msg = 0;
	struct fail ignore = {0};

	if (call(s, s->loc.dlerror, 0, 0, "dlerror", &msg, &ignore) != 0 || msg == 0 ||
	    remote_read_string(&s->r, msg, text, cap) != 0)
		snprintf(text, cap, "dlerror gave no message");
}

/* dlopen's answer when the library's initial-exec TLS block (or a
 * dependency's) does not fit in what is left of glibc's static TLS surplus,
 * where a library loaded late gets it: the libraries the program loaded
 * have used it.  dlopen then loaded nothing, so this is a refusal.  (A
 * target that set a locale glibc has translations for gets the message
 * translated: a failure with its text, as before.) */
static bool static_tls_full(const char *dlerror_text)
{
	return strstr(dlerror_text, "cannot allocate memory in static TLS block") != NULL;
}

/* The size of lib's initial-exec TLS block (PT_TLS), 0 if it has none. */
static unsigned long long lib_tls_size(const char *lib)
{
	struct elf_image img;
	struct fail ignore = {0};
	unsigned long long size = 0;

	if (elf_open(&img, lib, &ignore) != 0)
		return 0;
	const Elf64_Phdr *tls = elf_phdr(&img, PT_TLS);
	size = tls ? tls->p_memsz : 0;
	elf_close(&img);
	return size;
}

/* dlopen(lib, RTLD_NOW), then dlsym(handle, "lockcontend_attach"). */
static int load_library(struct session *s, const char *lib, uint64_t *fn, struct fail *f)
{
	uint64_t a_lib, a_name, handle;
	char text[512];

	if (push_string(s, lib, &a_lib, f) != 0 ||
	    push_string(s, "lockcontend_attach", &a_name, f) != 0 ||
	    call(s, s->loc.dlopen, a_lib, RTLD_NOW, "dlopen", &handle, f) != 0)
		return -1;
	if (handle == 0) {
		read_dlerror(s, text, sizeof(text));
		if (static_tls_full(text))
			return fail_set(
			    f, FAIL_REFUSED,
			    "%d has too little static TLS left for the library (%s): the "
			    "libraries it loaded have used glibc's surplus, and the library's "
			    "initial-exec TLS block is %llu bytes; nothing was changed. Start the "
			    "program with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=1024 (512 "
			    "bytes more than glibc's default) to attach to it, or profile it from "
			    "its start (lockcontend -- CMD)",
			    s->r.pid, text, lib_tls_size(lib));
		return fail_set(f, FAIL_TARGET, "%d could not load the library: %s", s->r.pid,
		                text);
	}
	if (call(s, s->loc.dlsym, handle, a_name, "dlsym", fn, f) != 0)
		return -1;
	if (*fn == 0) {
		read_dlerror(s, text, sizeof(text));
		return fail_set(
		    f, FAIL_TARGET,
		    "%s has no lockcontend_attach (%s): not a lockcontend library that can "
		    "attach; it stays loaded in %d, unused",
		    lib, text, s->r.pid);
	}
	return 0;
}

static int session_start(struct session *s, const struct options *o, const char *lib, uint64_t fn,
                         struct fail *f)
{
	uint64_t a_set, ret;
	int rc = errno_save(s, f);

	if (rc == 0 && !fn)
		rc = load_library(s, lib, &fn, f);
	if (rc == 0)
		rc = push_string(s, o->settings, &a_set, f);
	if (rc == 0)
		rc = call(s, fn, a_set, 0, "lockcontend_attach", &ret, f);
	if (rc == 0)
		s->result = (int)ret;
	if (s->r.traced && s->errno_at && errno_restore(s, f) != 0)
		rc = -1;
	return rc;
}

static int session_stop(struct session *s, uint64_t fn, struct fail *f)
{
	uint64_t ret;
	int rc = errno_save(s, f);

	if (rc == 0)
		rc = call(s, fn, 0, 0, "lockcontend_detach", &ret, f);
	if (rc == 0)
		s->result = (int)ret;
	if (s->r.traced && s->errno_at && errno_restore(s, f) != 0)
		rc = -1;
	return rc;
}

/* EAGAIN: the borrowed thread was inside the library's own work (a hook
 * of an earlier attach, still recording or leaving); EBUSY: a thread is
 * still inside the last profile's.  Neither changed anything: borrow
 * again (another thread, or the same one later), up to BUSY_ROUNDS times. */
#define BUSY_ROUNDS 200
#define BUSY_PAUSE_NS (10 * 1000 * 1000)

static bool session_busy(const struct session *s)
{
	return s->result == EAGAIN || s->result == EBUSY;
}

/* What lockcontend_attach or lockcontend_detach returned, as the exit. */
static int session_result(const struct session *s, const struct options *o, struct fail *f)
{
	pid_t pid = o->pid;

	if (s->result == 0)
		return 0;
	if (session_busy(s))
		return fail_set(f, FAIL_TARGET,
		                "%d: every thread borrowed (%d times) was inside lockcontend's own "
		                "work; nothing was changed, try again",
		                pid, BUSY_ROUNDS + 1);
	if (o->start && s->result == EALREADY)
		return fail_set(f, FAIL_REFUSED,
		                "%d is already being profiled by lockcontend (started under the "
		                "preload, or attached)",
		                pid);
	if (o->start && s->result == EINVAL)
		return fail_set(f, FAIL_REFUSED, "the library in %d refused the settings '%s'", pid,
		                o->settings);
	if (o->start)
		return fail_set(
		    f, FAIL_TARGET,
		    "%d could not create its profile: %s (out= must name a file that %d's "
		    "user can create)",
		    pid, strerror(s->result), pid);
	if (s->result == ENOENT)
		return fail_set(
		    f, FAIL_REFUSED,
		    "lockcontend is not attached to %d (a profile started under the preload "
		    "ends when the program does)",
		    pid);
	return fail_set(f, FAIL_TARGET, "lockcontend_detach in %d failed: %s", pid,
	                strerror(s->result));
}

static void debug_set(const struct options *o, const struct locate *l)
{
	if (o->debug)
		fprintf(stderr,
		        PROG ": debug: unsafe set: %zu ranges (%zu listed, %zu reached by jumps), "
		             "%zu objects read, libc %s\n",
		        l->unsafe.n, l->unsafe.listed, l->unsafe.reached, l->objects.n,
		        l->libc->file);
}

static int run(const struct options *o, struct session *s, struct fail *f)
{
	struct procfs_status st;
	char lib[PATH_MAX];
	uint64_t fn = 0;

	if (o->start && settings_check(o->settings, f) != 0)
		return -1;
	if (target_check(o->pid, &st, f) != 0)
		return -1;
	if (o->start && target_check_lib(&st, o->lib, lib, sizeof(lib), f) != 0)
		return -1;
	if (locate_target(&s->loc, o->pid, o->start ? "lockcontend_attach" : "lockcontend_detach",
	                  f) != 0)
		return -1;
	fn = s->loc.export;
	if (o->start && !fn && s->loc.other)
		return fail_set(
		    f, FAIL_REFUSED,
		    "%d already has %s loaded, without lockcontend_attach (an older build, "
		    "preloaded?): a second copy would record beside it",
		    o->pid, s->loc.other);
	debug_set(o, &s->loc);
	if (!o->start && !fn)
		return fail_set(f, FAIL_REFUSED,
		                "%d has no lockcontend library loaded: nothing to stop", o->pid);
	int rc;
	for (int round = 0;; round++) {
		if (borrow_thread(&s->loc, o->debug, &s->r, &s->stats, f) != 0)
			return -1;
		rc = o->start ? session_start(s, o, lib, fn, f) : session_stop(s, fn, f);
		if (s->r.traced && remote_release(&s->r, f) != 0)
			rc = -1;
		if (rc != 0 || !session_busy(s) || round == BUSY_ROUNDS)
			break;
		/* the thread we borrowed was inside the library's own work, or a
		 * thread still is: another borrow, a moment later */
		struct timespec ts = {0, BUSY_PAUSE_NS};
		nanosleep(&ts, NULL);
	}
	return rc == 0 ? session_result(s, o, f) : -1;
}

/* Held while we work: SIGCHLD for the waits (remote.h), and what would
 * end us while a thread is borrowed; a closed stderr must not kill us. */
static void signals_hold(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would change what waits see */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct fail f = {0};
	struct session s;
	const char *debug = getenv("LOCKCONTEND_ATTACH_DEBUG");

	memset(&s, 0, sizeof(s));
	o.debug = debug && *debug && strcmp(debug, "0") != 0;
	if (parse_options(argc, argv, &o, &f) != 0) {
		fprintf(stderr, PROG ": %s\n", f.line);
		return f.status;
	}
	signals_hold();
	int rc = run(&o, &s, &f);
	locate_free(&s.loc);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", f.line);
		return f.status ? f.status : FAIL_TARGET;
	}
	if (o.verbose)
		fprintf(stderr, PROG ": %d stopped %.1f ms (thread %d, %u tries)\n", o.pid,
		        (s.r.t_release - s.r.t_stop) / 1e6, s.r.tid, s.stats.tries);
	return 0;
}
