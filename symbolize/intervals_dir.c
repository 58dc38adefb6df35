/*
 * intervals_dir.c — the interval files' directory: checked as ours, files
 * written under a temporary name and renamed, the oldest removed beyond
 * the limits (see intervals_dir.h for the rules and why).
 */
#include "intervals_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report_pprof.h"

#define TMP_PREFIX ".lockcontend-tmp."
#define TMP_STALE_S 600
#define SUFFIX ".pb.gz"

int ivl_dir_open(struct ivl_dir *dir, const char *path, char *err, size_t errlen)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	dir->path = path;
	dir->fd = open(path, flags);
	if (dir->fd < 0 && errno == ENOENT && mkdir(path, 0700) == 0)
		dir->fd = open(path, flags);
	if (dir->fd < 0) {
		bool link = (errno == ELOOP || errno == ENOTDIR) && lstat(path, &st) == 0 &&
		            S_ISLNK(st.st_mode);
		snprintf(err, errlen, "%s: %s", path,
		         link ? "a symbolic link (name the directory itself)" : strerror(errno));
		return -1;
	}
	if (fstat(dir->fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen,
		         "%s: not ours alone (owner uid %u, mode %04o): name a directory only "
		         "you can write",
		         path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(dir->fd);
		dir->fd = -1;
		return -1;
	}
	return 0;
}

void ivl_dir_close(struct ivl_dir *dir)
{
	if (dir->fd >= 0)
		close(dir->fd);
	dir->fd = -1;
}

/* exe's base name, with only [A-Za-z0-9_+-] (others '_'), at most 64. */
static void safe_name(const char *exe, char *out, size_t cap)
{
	const char *slash = strrchr(exe, '/');
	const char *s = slash ? slash + 1 : exe;
	size_t n = 0;
	for (; *s && n + 1 < cap && n < 64; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
		out[n++] = ok ? c : '_';
	}
	if (n == 0 && cap > 4)
		n = (size_t)snprintf(out, cap, "prog");
	out[n] = '\0';
}

/* p to the new file fd (closed here), flushed to disk.  0 or -1. */
static int file_fill(int fd, const struct profile *p, int view, char *err, size_t errlen)
{
	FILE *f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "fdopen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	int rc = report_pprof_write(p, view, false, f, err, errlen);
	if (rc == 0 && fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "fsync: %s", strerror(errno));
		rc = -1;
	}
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "close: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}

int ivl_dir_write(struct ivl_dir *dir, const struct profile *p, int view, const char *exe,
                  uint64_t pid, uint64_t start, uint64_t end, char *err, size_t errlen)
{
	static unsigned seq;
	char base[72], name[256], tmp[320], why[256] = "";
	safe_name(exe, base, sizeof(base));
	snprintf(name, sizeof(name), "%s.%llu.%llu-%llu" SUFFIX, base, (unsigned long long)pid,
	         (unsigned long long)start, (unsigned long long)end);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d.%u.%s", (int)getpid(), seq++, name);
	int fd = openat(dir->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: %s", dir->path, tmp, strerror(errno));
		return -1;
	}
	if (file_fill(fd, p, view, why, sizeof(why)) != 0 ||
	    renameat(dir->fd, tmp, dir->fd, name) != 0) {
		if (!why[0])
			snprintf(why, sizeof(why), "rename: %s", strerror(errno));
		snprintf(err, errlen, "%s/%s: %s", dir->path, name, why);
		unlinkat(dir->fd, tmp, 0);
		return -1;
	}
	ivl_dir_prune(dir);
	return 0;
}

/* ---- what is kept -------------------------------------------------------- */

struct kept {
	uint64_t start, bytes;
	char name[256];
};

/* START of a final name EXE.PID.START-END.pb.gz, or false. */
static bool name_start(const char *name, uint64_t *start)
{
	size_t n = strlen(name), s = strlen(SUFFIX);
	if (name[0] == '.' || n <= s || n >= 256 || strcmp(name + n - s, SUFFIX) != 0)
		return false;
	const char *dot = NULL;
	for (const char *c = name; c < name + n - s; c++)
		if (*c == '.')
			dot = c;
	if (!dot)
		return false;
	char *end;
	errno = 0;
	unsigned long long a = strtoull(dot + 1, &end, 10);
	if (end == dot + 1 || *end != '-' || errno)
		return false;
	const char *b = end + 1;
	strtoull(b, &end, 10);
	if (end == b || end != name + n - s || errno)
		return false;
	*start = a;
	return true;
}

static int kept_cmp(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A temporary file left by a writer that died before its rename. */
static void tmp_prune(struct ivl_dir *dir, const char *name, const struct stat *st)
{
	if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
	    st->st_mtime + TMP_STALE_S < time(NULL))
		unlinkat(dir->fd, name, 0);
}

/* The final names in the directory, regular files only. */
static struct kept *kept_list(struct ivl_dir *dir, size_t *n)
{
	int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct kept *v = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (struct dirent *e; (e = readdir(d));) {
		struct stat st;
		uint64_t start;
		if (fstatat(dir->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		tmp_prune(dir, e->d_name, &st);
		if (!name_start(e->d_name, &start))
			continue;
		if (*n == cap) {
			struct kept *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[*n].start = start;
		v[*n].bytes = (uint64_t)st.st_size;
		snprintf(v[*n].name, sizeof(v[*n].name), "%s", e->d_name);
		(*n)++;
	}
	closedir(d);
	return v;
}

void ivl_dir_prune(struct ivl_dir *dir)
{
	size_t n;
	struct kept *v = kept_list(dir, &n);
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += v[i].bytes;
	qsort(v, n, sizeof(*v), kept_cmp);
	for (size_t i = 0; n - i > 1 && (n - i > dir->keep || bytes > dir->max_bytes); i++) {
		if (unlinkat(dir->fd, v[i].name, 0) == 0)
			dir->removed++;
		bytes -= v[i].bytes;
	}
	free(v);
}
