/*
 * dumpwrite.h — the profile file's name and creation, its closing records,
 * and snapshot copies (format: include/lockcontend/dumpfmt.h).
 *
 * The profile is written in place (pfile.h).  Its name is made at start-up
 * (relative to the working directory then); its file is created at the
 * first thing worth keeping (filing.c) under that name,
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: a
 * name that is taken gets ".1", ".2", ... and nobody's file is ever
 * followed or overwritten; a name that is a directory (not a link to one)
 * means lockcontend.PID.raw in it.  A reader tells a complete file (it ends with a
 * TRAILER) from a live one or one whose writer died (dumpfmt.h).
 *
 * No malloc, no stdio: open/write/rename and stack buffers only, so the
 * snapshot copy may run in a signal handler.  dumpwrite_finish runs once,
 * in the dumper, with the recorder stopped.
 */
#ifndef LOCKCONTEND_DUMPWRITE_H
#define LOCKCONTEND_DUMPWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lockcontend/dumpfmt.h"
#include "pfile.h"

/* What the closing records say: the sums over every slot and the
 * counters that belong to none. */
struct dump_input {
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
	struct lc_rec_totals totals;
};

/* Expand %p (pid), %e (basename of exe) and %% in pattern.  Returns the
 * length, or 0 if the result does not fit in cap. */
size_t dumpwrite_expand(const char *pattern, uint64_t pid, const char *exe, char *out, size_t cap);

/* The profile's name for pattern, absolute (the working directory now):
 * false if it does not fit in cap. */
bool dumpwrite_name(const char *pattern, uint64_t pid, const char *exe, char *path, size_t cap);

/* The same in two steps: the directory (the working directory now and a
 * '/' for a relative pattern, nothing for an absolute one: its length, or
 * -1 if it does not fit or is out of reach), by the raw system call alone
 * (a fork child's handler makes it: no libc code, whose pages the child
 * would fault in again); then the name after its `dir` bytes. */
long dumpwrite_dir(const char *pattern, char *path, size_t cap);
bool dumpwrite_name_at(const char *pattern, uint64_t pid, const char *exe, char *path, size_t cap,
                       size_t dir);

/* Create the profile file named path (dumpwrite_name's), or path.1 ...
 * path.99 while the name is taken (path then holds the name used): fd, or
 * -1 with errno set and one line in err, as dumpwrite_create.  A path that
 * is a directory then (or ends in '/') gets the default name in it:
 * DIR/lockcontend.PID.raw, PID this process's. */
int dumpwrite_create_named(char *path, size_t path_cap, char *err, size_t err_cap);

/* Create the profile file for pattern (read-write, mode 0600).  Returns the
 * fd with the name in path, or -1 with errno set (ENODEV: the name is a
 * device) and one line in err. */
int dumpwrite_create(const char *pattern, uint64_t pid, const char *exe, char *path,
                     size_t path_cap, char *err, size_t err_cap);

/* At the end: seal the file, append LOST per view, TOTALS and TRAILER,
 * truncate and close it.  Returns 0 or an errno value. */
int dumpwrite_finish(struct pfile *f, const struct dump_input *in);

/* A complete copy of the file as it is now, closed with what `sums` fills
 * in (called after the records were copied; the record counts are the
 * copy's own), placed at `final` (or
 * final.1 ...) through a temporary file.  One at a time.  Returns 0, or -1
 * with one line in err. */
int dumpwrite_snapshot(const struct pfile *f, void (*sums)(struct dump_input *), const char *final,
                       char *err, size_t err_cap);

#endif
