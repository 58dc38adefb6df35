/*
 * maps.c — a process's mappings, from /proc/PID/maps (see maps.h).
 *
 * The file is read whole (one buffer, doubled until it fits) and parsed
 * in place: a target with 50 libraries has about 300 lines, a large one
 * thousands; the lookups are binary searches.
 */
#include "maps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char *maps_slurp(pid_t pid, size_t *len, int *err)
{
	char path[64];
	size_t cap = 64 * 1024, got = 0;
	char *buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	for (;;) {
		char *more = realloc(buf, cap + 1);
		if (!more) {
			*err = ENOMEM;
			break;
		}
		buf = more;
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*err = r < 0 ? errno : 0;
			break;
		}
		got += (size_t)r;
		if (got == cap)
			cap *= 2;
	}
	close(fd);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* "start-end perms offset maj:min inode   path" */
static bool maps_parse_line(char *line, struct maps_entry *e)
{
	unsigned long long start, end, off, ino;
	unsigned maj, min;
	char perms[5];
	int pathpos = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj, &min,
	           &ino, &pathpos) < 7)
		return false;
	e->start = start;
	e->end = end;
	e->offset = off;
	e->dev = makedev(maj, min);
	e->ino = (ino_t)ino;
	e->read = perms[0] == 'r';
	e->write = perms[1] == 'w';
	e->exec = perms[2] == 'x';
	e->path = pathpos ? line + pathpos : "";
	return true;
}

int maps_read(pid_t pid, struct maps *m)
{
	size_t len = 0, lines = 0;
	int err = 0;

	memset(m, 0, sizeof(*m));
	m->text = maps_slurp(pid, &len, &err);
	if (!m->text)
		return -err;
	for (size_t i = 0; i < len; i++)
		lines += m->text[i] == '\n';
	m->v = calloc(lines + 1, sizeof(*m->v));
	if (!m->v) {
		maps_free(m);
		return -ENOMEM;
	}
	for (char *p = m->text; *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (maps_parse_line(p, &m->v[m->n]))
			m->n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

void maps_free(struct maps *m)
{
	free(m->v);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

const struct maps_entry *maps_find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

const char *maps_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}
