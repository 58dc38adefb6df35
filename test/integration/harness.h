/*
 * harness.h — run real programs under the preload and inspect their dumps.
 *
 * Integration tests are Criterion tests that start fixtures (build/test/
 * fixtures/) as child processes, with or without LD_PRELOAD of
 * build/liblockcontend.so, then read the dump they wrote with dumpread.h.
 * Paths are resolved from the repository root (tests run from it, via make).
 * Every run has a watchdog: a child that outlives its timeout is killed and
 * the run reports it, so a hang fails the test instead of hanging make.
 */
#ifndef LOCKCONTEND_HARNESS_H
#define LOCKCONTEND_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

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

/* Run argv[0] (a path) with argv, in directory cwd (NULL: current), with
 * extra "KEY=value" strings in env (NULL-terminated, may be NULL) added to
 * the inherited environment.  With preload true, LD_PRELOAD is set to the
 * preload.  Kills the child after timeout_s seconds. Returns 0 if the child
 * could be run at all. */
int harness_run(const char *const argv[], const char *const env[], const char *cwd,
                bool preload, int timeout_s, struct run_result *r);
void harness_result_free(struct run_result *r);

/* Read the only file in dir whose name matches the glob pattern; fails the
 * test if there is not exactly one. */
void harness_load_dump(const char *dir, const char *pattern, struct dump *d);

/* Symbol lookup in an ELF file via `nm`: [start, end) of function `name`
 * (file-relative addresses); false if absent. */
bool harness_symbol(const char *elf_path, const char *name, uint64_t *start, uint64_t *end);

/* Count and delay of the waiter-view buckets whose stack has a frame
 * inside function `fn` of the executable `exe` (as recorded in the dump's
 * module map).  The holder and hold views are left out: their stacks are
 * unlocks, and the hold view's values are not waits. */
void harness_sum_function(const struct dump *d, const char *exe, const char *fn,
                          uint64_t *count, uint64_t *delay_ns);

#endif
