/*
 * output.c — -o FILE: replace a regular file atomically, write into
 * anything else a shell's > would write into, refuse the rest (output.h,
 * docs/safety.md).
 *
 * The rule is decided on lstat(): only a name that is a regular file
 * itself (or no file yet) may be renamed over.  Renaming over a FIFO, a
 * device or /dev/stdout (a symbolic link to /proc/self/fd/1) would put a
 * regular file in its place, for every later user of that name; renaming
 * over a symbolic link would cut the link.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeopen.h"

#define PROG "lockcontend-symbolize"

/* What is written into as it is: what a shell's > writes into. */
static bool written_into(mode_t mode)
{
	return S_ISFIFO(mode) || S_ISCHR(mode) || S_ISREG(mode);
}

static int refuse(const char *path, mode_t mode)
{
	fprintf(stderr, PROG ": -o %s: is %s (-o writes a file, a FIFO or a character device)\n",
	        path, safeopen_kind(mode));
	return -1;
}

static int cannot(const char *verb, const char *path, int err)
{
	fprintf(stderr, PROG ": cannot %s %s: %s\n", verb, path, strerror(err));
	return -1;
}

int output_plan(struct output *o, const char *path)
{
	struct stat st;
	*o = (struct output){.path = path};
	if (lstat(path, &st) != 0) {
		/* A new name (or one in a directory that does not exist: the
		 * create says so, as it always did). */
		o->replace = errno == ENOENT;
		return o->replace ? 0 : cannot("write", path, errno);
	}
	if (S_ISREG(st.st_mode)) {
		o->replace = true;
		return 0;
	}
	if (S_ISLNK(st.st_mode) && stat(path, &st) != 0) {
		if (errno != ENOENT)
			return cannot("write", path, errno);
		fprintf(stderr,
		        PROG ": -o %s: is a symbolic link to nothing (a link is followed, "
		             "never replaced)\n",
		        path);
		return -1;
	}
	return written_into(st.st_mode) ? 0 : refuse(path, st.st_mode);
}

/* A temporary file beside path, 0666 less the umask as any file the
 * user's shell would make (mkstemp's own 0600 is for private files). */
static FILE *open_replacement(struct output *o)
{
	size_t len = strlen(o->path) + 16;
	o->tmp = malloc(len);
	if (!o->tmp)
		return cannot("create", o->path, ENOMEM), NULL;
	snprintf(o->tmp, len, "%s.tmpXXXXXX", o->path);
	int fd = mkstemp(o->tmp);
	if (fd >= 0) {
		mode_t um = umask(0);
		umask(um);
		fchmod(fd, 0666 & ~um);
	}
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		cannot("create", o->path, errno);
		if (fd >= 0)
			close(fd), unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	return f;
}

/* The file itself: no O_CREAT (it exists; if it went away, nothing is
 * made in its place), no O_TRUNC but for a regular file at the end of a
 * link, rewritten in place.  A FIFO's open waits here for its reader. */
static FILE *open_in_place(struct output *o)
{
	struct stat st;
	int fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	int err = fd < 0 || fstat(fd, &st) != 0 ? errno : 0;
	if (!err && !written_into(st.st_mode)) {
		close(fd);
		return refuse(o->path, st.st_mode), NULL;
	}
	if (!err && S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0)
		err = errno;
	FILE *f = err ? NULL : fdopen(fd, "w");
	if (!f) {
		cannot("write", o->path, err ? err : errno);
		if (fd >= 0)
			close(fd);
	}
	return f;
}

FILE *output_open(struct output *o)
{
	o->f = o->replace ? open_replacement(o) : open_in_place(o);
	return o->f;
}

int output_close(struct output *o, bool ok)
{
	int rc = 0;
	if (o->f && fclose(o->f) != 0 && ok)
		rc = cannot("write", o->path, errno);
	o->f = NULL;
	if (o->tmp && ok && rc == 0 && rename(o->tmp, o->path) != 0)
		rc = cannot("write", o->path, errno);
	if (o->tmp && !(ok && rc == 0))
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return rc;
}
