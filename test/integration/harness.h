/*
 * harness.h — run real programs under the preload and inspect their dumps.
 *
 * Integration tests are Criterion tests that start fixtures (build/test/
 * fixtures/) as child processes, with or without LD_PRELOAD of
 * build/liblockcontend.so, then read the dump they wrote with dumpread.h,
 * or the symbolizer's reports of it, against what the fixture printed.
 * Paths are resolved from the repository root (tests run from it, via make).
 * Every run has a watchdog: a child that outlives its timeout is killed and
 * the run reports it, so a hang fails the test instead of hanging make.
 */
#ifndef LOCKCONTEND_HARNESS_H
#define LOCKCONTEND_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dumpread.h"

struct run_result {
	int exit_code;      /* exit status, or -1 if killed by a signal */
	int signal;         /* the signal that ended it, 0 if it exited */
	bool timed_out;     /* the watchdog killed it */
	char *out;          /* captured stdout (malloc'd, NUL-terminated) */
	char *err;          /* captured stderr (malloc'd, NUL-terminated) */
};

/* Absolute path of build/liblockcontend.so, build/test/fixtures/<name>. */
const char *harness_preload(void);
const char *harness_fixture(const char *name);

/* A fresh private directory for this test (under /tmp). */
const char *harness_tmpdir(void);

/* Does /proc/PID/maps name a file with `name` in its path (a library
 * loaded into a process)? */
bool harness_maps(pid_t pid, const char *name);

/* Run argv[0] (a path) with argv, in directory cwd (NULL: current), with
 * extra "KEY=value" strings in env (NULL-terminated, may be NULL) added to
 * the inherited environment.  With preload true, LD_PRELOAD is set to the
 * preload.  Kills the child after timeout_s seconds. Returns 0 if the child
 * could be run at all. */
int harness_run(const char *const argv[], const char *const env[], const char *cwd,
                bool preload, int timeout_s, struct run_result *r);
void harness_result_free(struct run_result *r);

/* A run the test acts on while it runs: reads its live profile, signals
 * it, kills it.  harness_start is harness_run's first half (it fails the
 * test if the child cannot be run); harness_finish waits for the end,
 * killing the child's process group at the watchdog's deadline (timeout_s
 * after the start), and fills r as harness_run does. */
struct harness_child {
	pid_t pid;          /* send it signals; never wait for it yourself */
	int out_fd, err_fd; /* the captures */
	int timeout_s;
	double deadline;    /* CLOCK_MONOTONIC seconds */
};

void harness_start(const char *const argv[], const char *const env[], const char *cwd,
                   bool preload, int timeout_s, struct harness_child *c);

/* Wait until the child has printed the line `line` (its stdout is a file:
 * the fixture must fflush); false if it ended or the deadline passed
 * first. */
bool harness_wait_line(struct harness_child *c, const char *line);

/* What the child has printed on stdout so far (malloc'd). */
char *harness_output(const struct harness_child *c);

void harness_finish(struct harness_child *c, struct run_result *r);

/* Wait up to timeout_s seconds for path to exist; false if it did not. */
bool harness_wait_file(const char *path, int timeout_s);

/* The path of the only file in dir whose name matches the glob pattern;
 * fails the test if there is not exactly one. */
void harness_one_file(const char *dir, const char *pattern, char path[PATH_MAX]);

/* How many files in dir match the glob pattern. */
size_t harness_count_files(const char *dir, const char *pattern);

/* harness_one_file for a process still running: its profile is made at its
 * first contention, so wait (timeout_s at most) for a file to appear. */
void harness_await_one_file(const char *dir, const char *pattern, char path[PATH_MAX],
                            int timeout_s);

/* Read the only file in dir whose name matches the glob pattern; fails the
 * test if there is not exactly one. */
void harness_load_dump(const char *dir, const char *pattern, struct dump *d);

/* Symbol lookup in an ELF file via `nm`: [start, end) of function `name`
 * (file-relative addresses); false if absent. */
bool harness_symbol(const char *elf_path, const char *name, uint64_t *start, uint64_t *end);

/* Count and delay of the waiter-view buckets whose stack has a frame
 * inside function `fn` of the executable or library `exe` (as the dump's
 * module map places it in the bucket's module epoch).  The holder and hold
 * views are left out: their stacks are unlocks, and the hold view's values
 * are not waits. */
void harness_sum_function(const struct dump *d, const char *exe, const char *fn,
                          uint64_t *count, uint64_t *delay_ns);

/* The waits that belong to no lock, every nanosecond of them uncharged
 * (docs/format.md, LOCK_LOST): contention inside lockcontend's own work
 * (the lost reason reentrant: a signal handler's on top of it) and waits
 * only timed and counted, one by one, while the profile's file was being
 * made (no_file: a loaded machine may make the process's first contention
 * wait for it past its bound), and the waits of no_room that were only
 * timed and counted (all of no_room but what the locks' LOCK_LOSTs hold:
 * a wait with room for the books but not for a stack has its lock). */
struct lc_lost_entry harness_lockless_waits(const struct dump *d);

/* How many waits of `kind` gave up (the waiter view's buckets flagged
 * TIMEDOUT: a timeout, a cancellation, an interrupted semaphore wait). */
uint64_t harness_gave_up(const struct dump *d, uint32_t kind);

/* Run fixture `name` with args (NULL-terminated) under the preload, with
 * LOCKCONTEND=cfg,out=DIR/name.%p.raw in a fresh DIR; it must exit 0
 * within timeout_s.  *r keeps what it printed (harness_result_free it);
 * the path of its one dump goes to dump. */
void harness_profile(const char *name, const char *const args[], const char *cfg, int timeout_s,
                     struct run_result *r, char dump[PATH_MAX]);

/* The number N of the line "key N" in a fixture's output (what it measured
 * itself); fails the test if there is none. */
uint64_t harness_out_value(const char *out, const char *key);

/* Run build/lockcontend-symbolize (or $LOCKCONTEND_TEST_SYMBOLIZE) with
 * args (NULL-terminated); it must end by itself, never by a signal. */
void harness_symbolize(const char *const args[], struct run_result *r);

/* stdout of `lockcontend-symbolize --format=folded --view=VIEW OPTS... DUMP`
 * (malloc'd; opts NULL-terminated, may be NULL); it must exit 0. */
char *harness_folded(const char *dump, const char *view, const char *const opts[]);

/* Folded stacks ("root;...;leaf VALUE" lines): the sum of VALUE over the
 * lines that have a frame named exactly `frame` (NULL: every line), each
 * line counted once; *lines (if not NULL) gets how many there were.  Fails
 * the test on a line that is not "stack VALUE". */
uint64_t harness_folded_sum(const char *folded, const char *frame, size_t *lines);

/* The output of `go tool pprof ARGS FILE` (stdout and stderr; args are
 * options as the shell reads them, e.g. "-tags"), which must succeed;
 * malloc'd.  HOME and PPROF_TMPDIR point into a private directory. */
char *harness_go_pprof(const char *args, const char *file);

/* Fails the test unless got is within tolerance (0.1: 10%) of want, with
 * a message naming what and both values in ns. */
void harness_assert_near(uint64_t got, uint64_t want, double tolerance, const char *what);

/* The same for a wait the program timed around its own call (want) and
 * its waiting thread's run delay over those timings (delayed: util.h's
 * run_delay_ns).  The profile's wait lies inside the program's, so got is
 * at most want + tolerance; but a preemption between the program's clock
 * and the hook's (10-14 ms at load 8, and nothing bounds it) is in want
 * only, so got may be short by as much as delayed, and no more: got +
 * delayed must reach want - tolerance.  Nothing recorded still fails unless
 * the thread spent nearly all of want kept from a CPU. */
void harness_assert_wait(uint64_t got, uint64_t want, uint64_t delayed, double tolerance,
                         const char *what);

#endif
