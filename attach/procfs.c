/*
 * procfs.c — what /proc says about a process and its threads (see procfs.h).
 *
 * Files are read whole into a stack buffer with one read loop, never with
 * stdio: a status file is about 1.5 KiB and a syscall line 150 bytes, and
 * the thread loop reads one of each per thread of a target that may have
 * hundreds.
 */
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read path into buf (NUL-terminated); the length, or -errno. */
static ssize_t procfs_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The value after "key:" on its line of a status file, or NULL. */
static const char *status_field(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = text; *p;) {
		if (strncmp(p, key, n) == 0 && p[n] == ':')
			return p + n + 1;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return NULL;
}

static void status_ids(const char *v, unsigned out[4])
{
	for (int i = 0; i < 4; i++) {
		char *end;
		out[i] = v ? (unsigned)strtoul(v, &end, 10) : 0;
		v = v ? end : NULL;
	}
}

static void status_groups(const char *v, struct procfs_status *st)
{
	st->ngroups = 0;
	while (v && st->ngroups < PROCFS_GROUPS_MAX) {
		char *end;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v < '0' || *v > '9')
			break;
		st->groups[st->ngroups++] = (gid_t)strtoul(v, &end, 10);
		v = end;
	}
}

int procfs_status(pid_t pid, pid_t tid, struct procfs_status *st)
{
	char path[64], buf[4096];
	const char *v;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ssize_t n = procfs_read(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	memset(st, 0, sizeof(*st));
	if ((v = status_field(buf, "Name")))
		sscanf(v, " %63[^\n]", st->name);
	if ((v = status_field(buf, "State")))
		sscanf(v, " %c", &st->state);
	if ((v = status_field(buf, "Tgid")))
		st->tgid = (pid_t)strtol(v, NULL, 10);
	if ((v = status_field(buf, "TracerPid")))
		st->tracer = (pid_t)strtol(v, NULL, 10);
	status_ids(status_field(buf, "Uid"), st->uid);
	status_ids(status_field(buf, "Gid"), st->gid);
	status_groups(status_field(buf, "Groups"), st);
	return st->state ? 0 : -EINVAL;
}

int procfs_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];
	size_t cap = 64;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	*n = 0;
	*tids = malloc(cap * sizeof(**tids));
	while (*tids && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (*n == cap) {
			pid_t *more = realloc(*tids, (cap *= 2) * sizeof(**tids));
			if (!more) {
				free(*tids);
				*tids = NULL;
				break;
			}
			*tids = more;
		}
		(*tids)[(*n)++] = (pid_t)strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return *tids ? 0 : -ENOMEM;
}

int procfs_syscall(pid_t pid, pid_t tid, struct procfs_syscall *sc)
{
	char path[64], buf[512];
	unsigned long long a[8];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	ssize_t n = procfs_read(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	memset(sc, 0, sizeof(*sc));
	if (strncmp(buf, "running", 7) == 0) {
		sc->where = PROCFS_RUNNING;
		return 0;
	}
	int k = sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &sc->nr, &a[0], &a[1],
	               &a[2], &a[3], &a[4], &a[5], &a[6], &a[7]);
	if (k == 3 && sc->nr == -1) {
		sc->where = PROCFS_BLOCKED;
		sc->sp = a[0];
		sc->pc = a[1];
		return 0;
	}
	if (k != 9)
		return -EINVAL;
	sc->where = PROCFS_IN_SYSCALL;
	for (int i = 0; i < 6; i++)
		sc->args[i] = a[i];
	sc->sp = a[6];
	sc->pc = a[7];
	return 0;
}

int procfs_auxv(pid_t pid, unsigned long type, uint64_t *value)
{
	char path[64];
	uint64_t v[2];
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (read(fd, v, sizeof(v)) == (ssize_t)sizeof(v) && v[0] != 0)
		if (v[0] == type) {
			*value = v[1];
			rc = 0;
			break;
		}
	close(fd);
	return rc;
}

int procfs_same_fs(pid_t pid, bool *same, const char **what)
{
	char path[64], mine[128], theirs[128];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	ssize_t n1 = readlink("/proc/self/ns/mnt", mine, sizeof(mine) - 1);
	ssize_t n2 = readlink(path, theirs, sizeof(theirs) - 1);
	if (n1 < 0 || n2 < 0)
		return -errno;
	mine[n1] = theirs[n2] = '\0';
	*same = strcmp(mine, theirs) == 0;
	*what = "mount namespace";
	if (!*same)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	if (stat("/", &a) != 0 || stat(path, &b) != 0)
		return -errno;
	*same = a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	*what = "root directory (chroot)";
	return 0;
}

int procfs_owner(pid_t pid, uid_t *uid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (stat(path, &st) != 0)
		return -errno;
	*uid = st.st_uid;
	return 0;
}

int procfs_yama_scope(void)
{
	char buf[32];

	if (procfs_read("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}
