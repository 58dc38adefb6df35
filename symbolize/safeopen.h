/*
 * safeopen.h — open a file named by untrusted input for reading, never
 * blocking and never reading what is not a regular file.
 *
 * The symbolizer reads paths from its command line and from the dump (a
 * module's recorded path, then the build-id and debug-file lookups made
 * from it).  open(2) of a FIFO for reading waits for a writer that may
 * never come, and a character device (/dev/zero, /dev/urandom, a tty) reads
 * forever or waits for input.  So every such open goes through here
 * (docs/safety.md): stat first (nothing is opened unless the name is a
 * regular file, so no device's open side effect and no FIFO's writer let
 * through), then open with O_NONBLOCK and O_NOCTTY, fstat again (the name
 * may have changed in between: the open cannot have blocked, and what was
 * opened is checked, not what was named), and O_NONBLOCK cleared unless
 * the caller asked for it.
 *
 * Plain C, no allocation; safe from any thread.  openguard.c applies the
 * same check to the opens libdw and libelf make themselves.
 */
#ifndef LOCKCONTEND_SAFEOPEN_H
#define LOCKCONTEND_SAFEOPEN_H

#include <stdbool.h>
#include <sys/stat.h>

/* Open path with `flags` (an O_RDONLY open: O_CLOEXEC and the like may be
 * added) if it is a regular file, or a directory when dir_ok.  Returns the
 * fd with *st its fstat, or -1 with errno: the open's or stat's own, or
 * ENXIO when the path exists but is of another kind (*st then says which,
 * safeopen_kind names it). */
int safeopen(const char *path, int flags, bool dir_ok, struct stat *st);

/* safeopen(path, O_RDONLY | O_CLOEXEC, false, st): a regular file only. */
int safeopen_regular(const char *path, struct stat *st);

/* "a directory", "a FIFO", "a character device", "a block device",
 * "a socket", "a regular file", "a symbolic link" or "an unknown kind of
 * file", for a message. */
const char *safeopen_kind(mode_t mode);

#endif
