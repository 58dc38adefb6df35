/*
 * dumpstatus.h — what became of a dump's writer, in one line for people.
 *
 * The parser (dumpread.h) says only whether the file has its trailer and
 * what its LIVE record claims.  A complete file ended at exit, by exec(),
 * or is a snapshot taken while the program ran (LIVE.state).  A file
 * without a trailer is a live profile only if the process in META.pid
 * still runs AND still has this very file mapped: its st_dev and st_ino
 * are among the entries of /proc/<pid>/maps (or, where a filesystem such
 * as overlayfs shows another device there, its inode with the same path).
 * A reused pid, or a copy of a live profile, is then not taken for the
 * writer.  Only when maps cannot be read (another user's process, hidepid)
 * does kill(pid, 0) decide alone.  Otherwise the writer died without a
 * clean exit (SIGKILL, a crash, _exit).
 *
 * The system is reached through struct dumpstatus_sys, which tests replace
 * (NULL: the real one).  Not for signal handlers; thread-safe.
 */
#ifndef LOCKCONTEND_DUMPSTATUS_H
#define LOCKCONTEND_DUMPSTATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dumpread.h"

enum dump_writer {
	DUMP_WRITER_EXITED,   /* complete: written when the program exited */
	DUMP_WRITER_EXEC,     /* complete: ended by exec() */
	DUMP_WRITER_SNAPSHOT, /* complete: a copy taken on request while it ran */
	DUMP_WRITER_DETACHED, /* complete: ended by a detach, the program ran on */
	DUMP_WRITER_LIVE,     /* no trailer: its process runs and has it mapped */
	DUMP_WRITER_DIED,     /* no trailer: the writer is gone */
	DUMP_WRITER_UNCLOSED, /* no trailer, though the writer ended (exit,
	                       * exec or detach): its closing records did not
	                       * fit (disk full, file size limit), or a copy
	                       * of the file was cut short after its records */
};                            /* the complete ones first, up to DETACHED */

struct dump_status {
	enum dump_writer writer;
	uint64_t read_realtime_ns; /* CLOCK_REALTIME when the status was taken */
	uint64_t at_realtime_ns;   /* SNAPSHOT: when it was taken; LIVE: when read;
	                            * 0 when not known */
};

struct dumpstatus_sys {
	FILE *(*open_maps)(uint64_t pid); /* /proc/<pid>/maps, or NULL */
	bool (*alive)(uint64_t pid);      /* kill(pid, 0) finds it (or EPERM) */
	uint64_t (*now_realtime_ns)(void);
};

/* The status of d, read from the file `path` by dump_read_file (its
 * file_dev and file_ino).  sys NULL: the real system. */
void dumpstatus_of(const struct dump *d, const char *path, const struct dumpstatus_sys *sys,
                   struct dump_status *st);

/* Does maps (the text of /proc/<pid>/maps) map the file (dev, ino)?
 * real_path (may be NULL): the file's canonical path, for an entry whose
 * device differs but whose inode and path are the file's. */
bool dumpstatus_maps_has(FILE *maps, uint64_t dev, uint64_t ino, const char *real_path);

/* One line (no newline) saying what the file is: "live profile of running
 * process 4242, read at 2023-11-14 22:13:22 UTC (2.00 s after start)".
 * st NULL (no system asked): a file without trailer is "a live profile, or
 * one whose writer died".  A file cut inside a record is a partial profile
 * whatever its writer did: the line says that (a copy cut short is no
 * writer's doing). */
void dumpstatus_describe(const struct dump *d, const struct dump_status *st, char *buf, size_t cap);

#endif
