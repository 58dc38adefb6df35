/*
 * openguard.c — lockcontend-symbolize's own open(): the files libdw and
 * libelf open by themselves must not block it either (docs/safety.md).
 *
 * Our code opens what the command line and the dump name through
 * safeopen.h.  But libdwfl looks for a module's separate debug file too:
 * by build-id in the debug directories, by its .gnu_debuglink name beside
 * the module's path (a path from the dump) and in .debug/ there, the dwz
 * file its .gnu_debugaltlink names; and libdw opens that alternate file
 * and split-DWARF .dwo files named in the DWARF.  Each is a plain
 * open(path, O_RDONLY), and a FIFO at any of those names would block the
 * symbolizer forever, a character device feed it forever.  So this
 * executable defines open() and open64(): the dynamic linker binds the
 * libraries' calls to them, as it would bind them to a preload's (the
 * link exports them: Makefile).  A read-only open goes through safeopen()
 * (a regular file or a directory, opened without blocking, else ENXIO);
 * every other open (the symbolizer's output) passes unchanged.
 *
 * Linked into lockcontend-symbolize only; the test programs, which open
 * FIFOs and devices on purpose, keep the C library's open().
 */
#undef _FORTIFY_SOURCE /* its inline open() would clash with ours */

#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "safeopen.h"

static int guarded_open(const char *path, int flags, va_list ap)
{
	struct stat st;
	if ((flags & O_ACCMODE) == O_RDONLY && !(flags & (O_PATH | O_CREAT)))
		return safeopen(path, flags, true, &st);
	mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
	return openat(AT_FDCWD, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int fd = guarded_open(path, flags, ap);
	va_end(ap);
	return fd;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int fd = guarded_open(path, flags, ap);
	va_end(ap);
	return fd;
}
