/*
 * intervals_dir.h — the directory the interval files are written to, and
 * what is kept in it (lockcontend-intervals, docs/intervals.md).
 *
 * The directory must be ours: made 0700 when missing, otherwise a real
 * directory (not a symbolic link) owned by the effective user and
 * writable by nobody else — another user who could write in it could
 * swap a file we are about to remove or ship.  Everything after the check
 * is done relative to the descriptor opened for it (openat, renameat,
 * unlinkat), so a rename of the path afterwards changes nothing.
 *
 * A file is written whole under a temporary name (a dot file: no shipper's
 * `*.pb.gz` glob sees it) created 0600 with O_EXCL|O_NOFOLLOW, flushed to
 * disk, then renamed to its final name: a reader, or a crash of ours at
 * any moment, finds every final name complete, never a half-written file.
 *
 * Final names are EXE.PID.START-END.pb.gz, START and END the interval's
 * wall-clock bounds in Unix nanoseconds.  Only names of exactly that shape
 * are ever removed: after each write the oldest (by START) go while more
 * than `keep` files or more than `max_bytes` bytes are kept, the newest
 * always stays.  A temporary file older than ten minutes (a writer killed
 * between create and rename) goes too.
 *
 * Single-threaded; no global state.
 */
#ifndef LOCKCONTEND_INTERVALS_DIR_H
#define LOCKCONTEND_INTERVALS_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct ivl_dir {
	int fd;
	const char *path;   /* for messages */
	uint64_t keep;      /* files kept at most */
	uint64_t max_bytes; /* bytes kept at most */
	uint64_t removed;   /* files removed so far */
};

/* Open (or make) path as the directory.  0, or -1 with one line in err. */
int ivl_dir_open(struct ivl_dir *dir, const char *path, char *err, size_t errlen);
void ivl_dir_close(struct ivl_dir *dir);

/* Write p's samples of view as EXE.PID.START-END.pb.gz, start and end in
 * Unix ns (exe: a base name, made safe here), then prune.  0, or -1 with
 * one line in err (nothing then left under the final name). */
int ivl_dir_write(struct ivl_dir *dir, const struct profile *p, int view, const char *exe,
                  uint64_t pid, uint64_t start, uint64_t end, char *err, size_t errlen);

/* Remove the oldest files beyond the limits (and stale temporary ones). */
void ivl_dir_prune(struct ivl_dir *dir);

#endif
