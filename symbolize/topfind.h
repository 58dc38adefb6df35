/*
 * topfind.h — the profile file a running process writes, found from its
 * pid without a word to it (no signal, no ptrace).
 *
 * The preload maps its profile MAP_SHARED for the whole run (docs/
 * format.md, "Written in place"), so the file is among the file mappings
 * of /proc/<pid>/maps.  Each regular file mapped there is looked at: it
 * must still be the file mapped (same inode at that path: a file renamed
 * over since is not it), start with the LCKCDUMP header and a META record,
 * and that META's pid must be the process's own.  The pid check matters
 * for a fork child that could not make a profile of its own: it maps
 * its parent's, which is not its profile.  Among several of its own (not
 * made by the preload, but possible), the one that started last.  A file
 * deleted since (" (deleted)" in maps) cannot be opened by its name and
 * is named in the error.  A process that maps the library but no profile
 * has not contended yet: the preload makes its file at the first
 * contention (preload/filing.c), so that is no error (TOPFIND_NOT_YET).
 *
 * Paths are opened with safeopen (never a FIFO or a device, never
 * blocking).  Not for signal handlers; thread-safe.
 */
#ifndef LOCKCONTEND_TOPFIND_H
#define LOCKCONTEND_TOPFIND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TOPFIND_NOT_YET 1

/* The profile of process pid into path.  0; TOPFIND_NOT_YET with one line
 * (no newline) in err: it runs under the preload, and has not contended
 * yet; or -1 with one line in err: no such process, maps not readable, no
 * profile. */
int topfind_profile(uint64_t pid, char *path, size_t cap, char *err, size_t errlen);

/* The same from the text of pid's maps (tests give their own). */
int topfind_in_maps(FILE *maps, uint64_t pid, char *path, size_t cap, char *err, size_t errlen);

#endif
