/*
 * safeopen.c — read-only opens that never block and never read anything
 * but a regular file (see safeopen.h).
 *
 * The file is opened with openat(), not open(): in lockcontend-symbolize
 * open() is openguard.c's, which calls back in here.
 */
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static bool kind_ok(mode_t mode, bool dir_ok)
{
	return S_ISREG(mode) || (dir_ok && S_ISDIR(mode));
}

/* What was opened is what was checked (the name may have changed since the
 * stat), and it blocks again unless the caller asked otherwise. */
static int settle(int fd, int flags, bool dir_ok, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return -1;
	if (!kind_ok(st->st_mode, dir_ok)) {
		errno = ENXIO;
		return -1;
	}
	if (flags & O_NONBLOCK)
		return 0;
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

int safeopen(const char *path, int flags, bool dir_ok, struct stat *st)
{
	if (stat(path, st) != 0)
		return -1;
	if (!kind_ok(st->st_mode, dir_ok)) {
		errno = ENXIO;
		return -1;
	}
	int fd = openat(AT_FDCWD, path, flags | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0 && settle(fd, flags, dir_ok, st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	return fd;
}

int safeopen_regular(const char *path, struct stat *st)
{
	return safeopen(path, O_RDONLY | O_CLOEXEC, false, st);
}

const char *safeopen_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "an unknown kind of file";
	}
}
