/*
 * main.c — lockcontend-symbolize: raw dumps in, a report out.
 *
 *   lockcontend-symbolize [--format=text|folded|pprof|html] [-o FILE] [--top N]
 *                         [--view=waiter|holder|hold] [--kind=LIST]
 *                         [--value=delay|contentions] [--lock-frames]
 *                         [--sysroot DIR] [--debug-dir DIR]... [--no-demangle]
 *                         [--from TIME] [--to TIME] DUMP...
 *   lockcontend-symbolize --version
 *   lockcontend-symbolize --diff [--format=text|pprof|html] [--match=function|line]
 *                         [options] BASE... -- NEW...
 *
 * Several dumps are merged into one profile.  Folded and pprof output show
 * one view (the waiters' unless --view says otherwise); the text report
 * shows the waiters' and the holders' views, or the one --view names, then
 * the lock table, and each dump's contention over time (report_series.c).
 * The HTML report (report_html.c) is one page with all of that and a
 * flame graph of each view (the one --view names, if given).
 * --kind keeps only those lock kinds, in every format (by default every
 * kind but futex-cond, futex condition waits: futexcond.h); --lock-frames puts
 * each lock's name as the root frame of its stacks in folded and pprof
 * output (and splits the HTML report's graphs by lock at first).
 * --from and --to cut folded and pprof output to a window of the run,
 * after the earliest dump's start (profile_window.c): the values come from
 * the series, and one line per dump on stderr says what the window was
 * there, widened to the series' intervals, and what is in no window.
 * A dump may be a live profile of a running process, or one whose writer
 * died: the text report's header says which (dumpstatus.h), and so does one
 * line on stderr, whatever the format.  Exit status: 0 success (complete,
 * live, snapshot and died files alike, when they were read whole); 1 bad
 * usage or a dump that cannot be read (one line on stderr naming the
 * file); 2 the report was written but a dump was cut short inside a record
 * (partial); 3 the report was written and threads were deadlocked (a
 * cycle of waits in progress: report_waiting.c), so a CI job can fail on
 * it.
 * --diff compares two runs (diff.h, report_diff.h, docs/diff.md): the dumps
 * before "--" are the base run, those after it the new one; the text
 * report says what changed per lock and per stack, the HTML page draws a
 * differential flame graph, pprof holds both runs as `go tool pprof
 * -diff_base` would merge them (the base's samples negated and labelled
 * pprof::base).
 * With -o, a regular FILE (or a new one) is written to a temporary file
 * beside it and renamed over it only when complete; a FIFO, a terminal,
 * /dev/null or /dev/stdout is written into as it is, never replaced; a
 * link is followed; a directory, a socket or a link to nothing is refused
 * before any dump is read (output.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff.h"
#include "dumpread.h"
#include "dumpstatus.h"
#include "duration.h"
#include "optfail.h"
#include "output.h"
#include "profile.h"
#include "report.h"
#include "report_diff.h"
#include "report_pprof.h"
#include "resolve.h"
#include "timeline.h"
#include "viewkind.h"

#define PROG "lockcontend-symbolize"

enum format { FMT_TEXT, FMT_FOLDED, FMT_PPROF, FMT_HTML };

struct options {
	enum format format;
	const char *output;
	int top;
	int value;
	int view;       /* enum lc_view, -1: the format's default */
	uint32_t kinds; /* bit per enum lc_kind */
	bool windowed;  /* --from or --to */
	bool lock_frames;
	bool diff;             /* --diff */
	enum diff_match match; /* --match */
	int nbase;             /* --diff: the dumps before "--" (the base run) */
	struct prof_window window;
	struct resolve_opts resolve;
	const char *debug_dirs[64];
	uint64_t stuck_ns;
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: " PROG " [options] DUMP...\n"
	       "       " PROG " --diff [options] BASE... -- NEW...\n"
	       "  --format=text|folded|pprof|html\n"
	       "                              report (default), folded stacks, gzipped pprof,\n"
	       "                              one HTML page with flame graphs (no network)\n"
	       "  -o, --output=FILE           write FILE instead of stdout (a regular file is\n"
	       "                              replaced atomically; a FIFO or device written into)\n"
	       "  --top=N                     rows per table in the text report (default 20)\n"
	       "  --value=delay|contentions   value of folded stacks (default delay, in ns)\n"
	       "  --lock-frames               folded, pprof: the lock's name as the root frame\n"
	       "                              (html: the graphs split by lock at first)\n"
	       "  --view=waiter|holder|hold   who waited (default), who held the lock they\n"
	       "                              waited for (the unlocking stacks), or sampled\n"
	       "                              hold times; text shows waiter and holder unless set\n"
	       "  --kind=LIST                 only these lock kinds, comma-separated: mutex,\n"
	       "                              rdlock, wrlock, rwlock (both), spin, sem, futex,\n"
	       "                              cond, futex-cond (default all but the condition\n"
	       "                              waits: cond, and futex-cond, futex waits on\n"
	       "                              condition variables by their frames)\n"
	       "  --sysroot=DIR               find the dump's files under DIR\n"
	       "  --debug-dir=DIR             also look for files by build-id in DIR (repeatable)\n"
	       "  --no-demangle               keep C++ and Rust names as in the binary\n"
	       "  --stuck=DURATION            a wait in progress this long is stuck (default 1s)\n"
	       "  --from=TIME, --to=TIME      folded and pprof: only what the series place in\n"
	       "                              this window of the run (90s, 1.5m, 250ms; from\n"
	       "                              its start, default the whole run)\n"
	       "  --version                   print " PROG "'s version and exit\n"
	       "  --diff BASE... -- NEW...    compare two runs: what changed per lock and per\n"
	       "                              stack (text), a differential flame graph (html),\n"
	       "                              both runs as pprof -diff_base merges them (pprof)\n"
	       "  --match=function|line       --diff: match stacks by function names (default)\n"
	       "                              or by function and file:line\n"
	       "exit status: 0 done, 1 bad usage or an unreadable dump, 2 a dump was cut\n"
	       "short (partial report), 3 a deadlock was found\n");
}

static int fail_usage(const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	return -1;
}

/* --diff: the formats and options a comparison has. */
static int check_diff(const struct options *o)
{
	if (o->nbase < 0)
		return fail_usage("--diff needs the base run's dumps, then --, then the new "
		                  "run's: --diff BASE... -- NEW...",
		                  NULL);
	if (o->nbase == 0)
		return fail_usage("--diff: no base dump before --", NULL);
	if (o->format == FMT_FOLDED)
		return fail_usage("--diff writes text, html or pprof (folded has one value)", NULL);
	if (o->windowed)
		return fail_usage("--diff compares whole runs (no --from, --to)", NULL);
	return 0;
}

/* --diff BASE... -- NEW...: the options and the base's dumps are before the
 * first "--" (getopt's own end of options would lose where it was), the
 * new run's after it.  Moves the new run's dumps to the end of argv's
 * non-options: returns argc without the "--", and sets o->nbase to -1 if
 * there is none. */
static int split_diff(int argc, char **argv, struct options *o)
{
	int dash = -1;
	for (int i = 1; i < argc && dash < 0; i++) {
		if (strcmp(argv[i], "--") == 0)
			dash = i;
	}
	o->nbase = dash < 0 ? -1 : 0;
	if (dash < 0)
		return argc;
	memmove(&argv[dash], &argv[dash + 1], (size_t)(argc - dash) * sizeof(*argv));
	return dash; /* getopt sees up to the new run's dumps */
}

static bool has_diff(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--diff") == 0)
			return true;
	return false;
}

static int parse_args(int *argcp, char **argv, struct options *o)
{
	int argc = *argcp, nall = argc;
	if (has_diff(argc, argv)) {
		argc = split_diff(argc, argv, o); /* getopt's part: up to the "--" */
		nall = o->nbase < 0 ? argc : *argcp - 1;
	}
	static const struct option longopts[] = {
	    {"format", required_argument, 0, 'f'},  {"output", required_argument, 0, 'o'},
	    {"top", required_argument, 0, 't'},     {"value", required_argument, 0, 'v'},
	    {"sysroot", required_argument, 0, 's'}, {"debug-dir", required_argument, 0, 'd'},
	    {"no-demangle", no_argument, 0, 'n'},   {"help", no_argument, 0, 'h'},
	    {"view", required_argument, 0, 'w'},    {"kind", required_argument, 0, 'k'},
	    {"stuck", required_argument, 0, 'S'},   {"from", required_argument, 0, 'F'},
	    {"to", required_argument, 0, 'T'},      {"lock-frames", no_argument, 0, 'L'},
	    {"diff", no_argument, 0, 'D'},          {"match", required_argument, 0, 'M'},
	    {"version", no_argument, 0, 'V'},       {0, 0, 0, 0}};
	int c;
	char *end;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "text") == 0)
				o->format = FMT_TEXT;
			else if (strcmp(optarg, "folded") == 0)
				o->format = FMT_FOLDED;
			else if (strcmp(optarg, "pprof") == 0)
				o->format = FMT_PPROF;
			else if (strcmp(optarg, "html") == 0)
				o->format = FMT_HTML;
			else
				return fail_usage("unknown --format (text, folded, pprof, html)",
				                  optarg);
			break;
		case 'o': o->output = optarg; break;
		case 't':
			o->top = (int)strtol(optarg, &end, 10);
			if (*end || o->top <= 0)
				return fail_usage("--top needs a positive number", optarg);
			break;
		case 'v':
			if (strcmp(optarg, "delay") == 0)
				o->value = PROF_DELAY;
			else if (strcmp(optarg, "contentions") == 0)
				o->value = PROF_CONTENTIONS;
			else
				return fail_usage("unknown --value (delay, contentions)", optarg);
			break;
		case 'w':
			if ((o->view = viewkind_view_parse(optarg)) < 0)
				return fail_usage("unknown --view (waiter, holder, hold)", optarg);
			break;
		case 'k':
			if (viewkind_kinds_parse(optarg, &o->kinds) != 0)
				return fail_usage(
				    "bad --kind (a comma list of mutex, rdlock, wrlock, rwlock, "
				    "spin, sem, futex, cond, futex-cond)",
				    optarg);
			break;
		case 'F':
		case 'T':
			if (duration_parse(optarg,
			                   c == 'F' ? &o->window.from_ns : &o->window.to_ns) != 0)
				return fail_usage("bad time for --from or --to (90s, 1.5m, 250ms)",
				                  optarg);
			o->windowed = true;
			break;
		case 's': o->resolve.sysroot = optarg; break;
		case 'd':
			if (o->resolve.ndebug_dirs == 64)
				return fail_usage("too many --debug-dir", NULL);
			o->debug_dirs[o->resolve.ndebug_dirs++] = optarg;
			break;
		case 'n': o->resolve.demangle = false; break;
		case 'L': o->lock_frames = true; break;
		case 'D': o->diff = true; break;
		case 'M':
			if (strcmp(optarg, "function") == 0)
				o->match = DIFF_MATCH_FUNCTION;
			else if (strcmp(optarg, "line") == 0)
				o->match = DIFF_MATCH_LINE;
			else
				return fail_usage("unknown --match (function, line)", optarg);
			break;
		case 'S':
			if (duration_parse(optarg, &o->stuck_ns) != 0 || !o->stuck_ns)
				return fail_usage("--stuck needs a duration such as 1s or 500ms",
				                  optarg);
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf(PROG " " LOCKCONTEND_VERSION "\n"); exit(0);
		default: optfail_say(PROG, c, argv); return -1;
		}
	}
	*argcp = nall;
	if (o->diff && o->nbase == 0) {
		o->nbase = argc - optind;
		if (nall == argc)
			return fail_usage("--diff: no new dump after --", NULL);
	}
	if (o->diff && check_diff(o) != 0)
		return -1;
	if (optind >= nall)
		return fail_usage("no dump given (see --help)", NULL);
	if (o->windowed && (o->format == FMT_TEXT || o->format == FMT_HTML))
		return fail_usage("--from and --to cut folded and pprof output; the text and html "
		                  "reports show the whole run, and its contention over time",
		                  NULL);
	if (o->lock_frames && o->format == FMT_TEXT)
		return fail_usage("--lock-frames is for folded, pprof and html output; the text "
		                  "report names each stack's lock",
		                  NULL);
	if (o->windowed && o->window.to_ns <= o->window.from_ns)
		return fail_usage("--to must come after --from", NULL);
	return 0;
}

/* One line per dump: what the window was in it, and what no window has. */
static void note_window(const struct profile *p, char **paths)
{
	for (size_t i = 0; i < p->ndumps; i++) {
		const struct prof_window_dump *w = &p->window_dumps[i];
		char from[32], to[32], dur[32];
		if (!w->has_series) {
			fprintf(stderr,
			        PROG ": %s: no series (series=0, or a format before 3.4): "
			             "nothing of it is in the window\n",
			        paths[i]);
			continue;
		}
		if (w->from_ns)
			report_duration(from, sizeof(from), w->from_ns);
		else
			snprintf(from, sizeof(from), "the start");
		if (w->to_ns == UINT64_MAX)
			snprintf(to, sizeof(to), "the end");
		else
			report_duration(to, sizeof(to), w->to_ns);
		fprintf(stderr, PROG ": %s: window from %s to %s of its run%s", paths[i], from, to,
		        w->widened ? " (widened to its series' intervals)" : "");
		report_duration(dur, sizeof(dur), w->unplaced_delay[LC_VIEW_WAIT]);
		if (w->unplaced_count[LC_VIEW_WAIT] || w->unplaced_delay[LC_VIEW_WAIT])
			fprintf(stderr,
			        "; %" PRIu64 " contentions (%s) not placed in time are in no "
			        "window",
			        w->unplaced_count[LC_VIEW_WAIT], dur);
		fprintf(stderr, "\n");
	}
}

/* One line on stderr for a dump that is not simply complete. */
static void note_status(const char *path, const struct dump *d, const struct dump_status *st)
{
	char line[512];
	if (dump_skipped_kind_note(d, line, sizeof(line)))
		fprintf(stderr, PROG ": note: %s: %s\n", path, line);
	if (d->end == DUMP_END_CUT) {
		fprintf(stderr, PROG ": warning: %s: %s; the report is partial\n", path,
		        d->warning);
		return;
	}
	if (st->writer != DUMP_WRITER_LIVE && st->writer != DUMP_WRITER_DIED &&
	    st->writer != DUMP_WRITER_UNCLOSED)
		return;
	dumpstatus_describe(d, st, line, sizeof(line));
	fprintf(stderr, PROG ": %s: %s: %s\n", st->writer == DUMP_WRITER_LIVE ? "note" : "warning",
	        path, line);
}

/* Read every dump and ask what became of its writer; returns -1 (after one
 * line naming the file) if one is unusable, else 0, setting *partial if one
 * was cut short. */
static int read_dumps(char **paths, size_t n, struct dump *dumps, struct dump_status *status,
                      bool *partial)
{
	char err[512];
	for (size_t i = 0; i < n; i++) {
		if (dump_read_file(paths[i], &dumps[i], err, sizeof(err)) != 0) {
			fprintf(stderr, PROG ": %s: %s\n", paths[i], err);
			for (size_t k = 0; k < i; k++)
				dump_free(&dumps[k]);
			return -1;
		}
		dumpstatus_of(&dumps[i], paths[i], NULL, &status[i]);
		note_status(paths[i], &dumps[i], &status[i]);
		*partial |= dumps[i].end == DUMP_END_CUT;
	}
	return 0;
}

/* The report of in, or with --diff the comparison din (in is then both
 * runs' dumps in one profile, the base's first). */
static int write_report(const struct options *o, const struct report_input *in,
                        const struct diff_input *din, FILE *out)
{
	char err[256];
	switch (o->format) {
	case FMT_TEXT:
		if (din)
			report_diff_text_write(din, out);
		else
			report_text_write(in, out);
		break;
	case FMT_FOLDED: report_folded_write(in, out); break;
	case FMT_HTML: report_html_write(in, out); break;
	case FMT_PPROF:
		if (report_pprof_write_diff(in->profile, in->nbase,
		                            in->view < 0 ? LC_VIEW_WAIT : in->view, in->lock_frames,
		                            out, err, sizeof(err)) != 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		break;
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", o->output ? o->output : "output",
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* -o FILE (output.h): opened only now that the report is ready. */
static int write_to_file(const struct options *o, struct output *out, const struct report_input *in,
                         const struct diff_input *din)
{
	FILE *f = output_open(out);
	if (!f)
		return -1;
	int rc = write_report(o, in, din, f);
	return output_close(out, rc == 0) != 0 || rc != 0 ? -1 : 0;
}

/* --diff: each run's profile and the two matched (the text comparison);
 * both runs' dumps in one profile, each sample's run known by its dump
 * (the page and pprof: one table of frames).  0, or -1 after a line. */
struct diff_run {
	struct profile side[DIFF_NSIDES], all;
	struct diff diff;
	bool built[3]; /* side[0], side[1], all: to be freed */
};

static int diff_prepare(const struct options *o, struct diff_run *r, const struct dump *dumps,
                        size_t n)
{
	size_t nb = (size_t)o->nbase;
	if (!(r->built[0] =
	          profile_build(&r->side[0], dumps, nb, &o->resolve, o->kinds, stderr) == 0) ||
	    !(r->built[1] = profile_build(&r->side[1], dumps + nb, n - nb, &o->resolve, o->kinds,
	                                  stderr) == 0))
		return -1;
	/* The page and pprof: the same dumps again, their warnings said once */
	char *quiet_text = NULL;
	size_t quiet_len = 0;
	FILE *quiet = o->format != FMT_TEXT ? open_memstream(&quiet_text, &quiet_len) : NULL;
	if (o->format != FMT_TEXT) {
		r->built[2] =
		    quiet && profile_build(&r->all, dumps, n, &o->resolve, o->kinds, quiet) == 0;
		if (quiet)
			fclose(quiet);
		free(quiet_text);
		if (!r->built[2] ||
		    diff_split_uncharged(&r->all, nb, &r->side[0], &r->side[1]) != 0)
			return -1;
	}
	return diff_build(&r->diff, &r->side[0], &r->side[1], o->match);
}

static void diff_run_free(struct diff_run *r)
{
	struct profile *ps[3] = {&r->side[0], &r->side[1], &r->all};
	for (int i = 0; i < 3; i++)
		if (r->built[i])
			profile_free(ps[i]);
	diff_free(&r->diff); /* zeroed if never built */
}

static int run_diff(const struct options *o, struct output *out, const struct dump *dumps,
                    const struct dump_status *status, char **paths, size_t n)
{
	struct diff_run r = {0};
	size_t nb = (size_t)o->nbase;
	if (diff_prepare(o, &r, dumps, n) != 0) {
		fprintf(stderr, PROG ": out of memory\n");
		diff_run_free(&r);
		return -1;
	}
	struct report_input all = {.profile = &r.all,
	                           .dumps = dumps,
	                           .paths = (const char *const *)paths,
	                           .ndumps = n,
	                           .top = o->top,
	                           .view = o->view,
	                           .status = status,
	                           .stuck_ns = o->stuck_ns,
	                           .lock_frames = o->lock_frames,
	                           .nbase = nb,
	                           .diff = &r.diff};
	struct diff_input din = {
	    .side = {all, all}, .diff = &r.diff, .match = o->match, .top = o->top, .view = o->view};
	for (int s = 0; s < DIFF_NSIDES; s++) {
		din.side[s].profile = &r.side[s];
		din.side[s].dumps = s ? dumps + nb : dumps;
		din.side[s].paths = (const char *const *)(s ? paths + nb : paths);
		din.side[s].ndumps = s ? n - nb : nb;
		din.side[s].status = s ? status + nb : status;
		din.side[s].nbase = 0;
	}
	int rc = out ? write_to_file(o, out, &all, &din) : write_report(o, &all, &din, stdout);
	diff_run_free(&r);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {.format = FMT_TEXT,
	                    .top = 20,
	                    .value = PROF_DELAY,
	                    .view = -1,
	                    .kinds = VIEWKIND_DEFAULT_KINDS,
	                    .window = {0, UINT64_MAX}};
	o.resolve.demangle = true;
	o.resolve.debug_dirs = o.debug_dirs;
	struct output out;
	if (parse_args(&argc, argv, &o) != 0 || (o.output && output_plan(&out, o.output) != 0))
		return 1;
	if (o.format == FMT_PPROF && !o.output && isatty(STDOUT_FILENO)) {
		fprintf(stderr,
		        PROG ": not writing a binary pprof profile to a terminal; use -o FILE\n");
		return 1;
	}
	unsetenv("DEBUGINFOD_URLS"); /* never reach out to the network unasked */
	size_t n = (size_t)(argc - optind);
	struct dump *dumps = calloc(n, sizeof(*dumps));
	struct dump_status *status = calloc(n, sizeof(*status));
	bool partial = false;
	size_t deadlocks = 0;
	if (!dumps || !status || read_dumps(argv + optind, n, dumps, status, &partial) != 0) {
		free(dumps);
		free(status);
		return 1;
	}
	if (o.diff) {
		int rc = run_diff(&o, o.output ? &out : NULL, dumps, status, argv + optind, n);
		for (size_t i = 0; i < n; i++)
			dump_free(&dumps[i]);
		free(dumps);
		free(status);
		return rc != 0 ? 1 : partial ? 2 : 0;
	}
	struct profile p;
	int rc = profile_build_window(&p, dumps, n, &o.resolve, o.kinds,
	                              o.windowed ? &o.window : NULL, stderr);
	if (rc != 0) {
		fprintf(stderr, PROG ": out of memory\n");
	} else {
		struct report_input in = {.profile = &p,
		                          .dumps = dumps,
		                          .paths = (const char *const *)(argv + optind),
		                          .ndumps = n,
		                          .top = o.top,
		                          .value = o.value,
		                          .view = o.view,
		                          .status = status,
		                          .stuck_ns = o.stuck_ns,
		                          .lock_frames = o.lock_frames};
		if (o.windowed)
			note_window(&p, argv + optind);
		rc = o.output ? write_to_file(&o, &out, &in, NULL)
		              : write_report(&o, &in, NULL, stdout);
		deadlocks = report_deadlocks(&p);
		if (deadlocks && o.format != FMT_TEXT && o.format != FMT_HTML)
			fprintf(stderr,
			        PROG ": %zu deadlock%s: threads wait for each other (the text "
			             "report names them)\n",
			        deadlocks, deadlocks == 1 ? "" : "s");
		profile_free(&p);
	}
	for (size_t i = 0; i < n; i++)
		dump_free(&dumps[i]);
	free(dumps);
	free(status);
	return rc != 0 ? 1 : deadlocks ? 3 : partial ? 2 : 0;
}
