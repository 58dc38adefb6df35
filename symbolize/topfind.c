/*
 * topfind.c — a running process's profile, from its maps (see topfind.h).
 *
 * A profile is mapped read-write and shared ("rw-s"), possibly as several
 * entries (it grows in chunks), so each inode is looked at once.  Only the
 * first bytes of a candidate are read: the header, the META record's head
 * and META itself, which the preload writes before anything else.
 */
#include "topfind.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockcontend/dumpfmt.h"
#include "safeopen.h"

#define DELETED " (deleted)"

/* One maps entry: "lo-hi perms offset major:minor inode   path". */
struct entry {
	char perms[8];
	uint64_t ino;
	char *path; /* into the line; NULL: anonymous or a pseudo-file */
	bool deleted;
};

static bool entry_parse(char *line, struct entry *e)
{
	unsigned long long ino;
	int n = 0;
	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%*x-%*x %7s %*x %*x:%*x %llu%n", e->perms, &ino, &n) != 2 || !ino)
		return false;
	char *p = line + n;
	p += strspn(p, " ");
	p[strcspn(p, "\n")] = '\0';
	size_t len = strlen(p), dl = strlen(DELETED);
	if (p[0] != '/')
		return false;
	if (len > dl && strcmp(p + len - dl, DELETED) == 0) {
		e->deleted = true;
		p[len - dl] = '\0';
	}
	e->ino = ino;
	e->path = p;
	return true;
}

/* The head of a profile as the preload writes it first. */
struct head {
	struct lc_dump_header h;
	struct lc_rec_head r;
	struct lc_rec_meta m;
};

/* Is the file at path, still inode ino, a profile?  Its META then. */
static bool profile_meta(const char *path, uint64_t ino, struct lc_rec_meta *m)
{
	struct stat st;
	struct head hd;
	int fd = safeopen_regular(path, &st);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, &hd, sizeof(hd), 0);
	close(fd);
	if (st.st_ino != ino || n != (ssize_t)sizeof(hd) ||
	    memcmp(hd.h.magic, LC_DUMP_MAGIC, sizeof(hd.h.magic)) != 0 || hd.r.type != LC_REC_META)
		return false;
	*m = hd.m;
	return true;
}

/* What the walk over maps found. */
struct found {
	uint64_t *seen; /* inodes looked at */
	size_t nseen, cap;
	bool mine, other, deleted, library; /* library: liblockcontend is mapped */
	uint64_t start, other_pid;
	char other_path[PATH_MAX], deleted_path[PATH_MAX];
};

/* Has the inode been looked at already?  If not, it is now. */
static bool seen_before(struct found *f, uint64_t ino)
{
	for (size_t i = 0; i < f->nseen; i++)
		if (f->seen[i] == ino)
			return true;
	if (f->nseen == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		uint64_t *s = realloc(f->seen, cap * sizeof(*s));
		if (!s)
			return true; /* out of memory: look no further at it */
		f->seen = s;
		f->cap = cap;
	}
	f->seen[f->nseen++] = ino;
	return false;
}

/* Is the entry the preload itself (liblockcontend*.so)? */
static bool entry_is_library(const struct entry *e)
{
	const char *base = strrchr(e->path, '/');
	base = base ? base + 1 : e->path;
	return strncmp(base, "liblockcontend", 14) == 0 && strstr(base, ".so");
}

static void entry_look(struct found *f, const struct entry *e, uint64_t pid, char *path, size_t cap)
{
	struct lc_rec_meta m;
	f->library |= entry_is_library(e);
	if (e->deleted) {
		if (strchr(e->perms, 's') && !f->deleted) /* shared, as a profile is mapped */
			snprintf(f->deleted_path, sizeof(f->deleted_path), "%s", e->path);
		f->deleted |= strchr(e->perms, 's') != NULL;
		return;
	}
	if (seen_before(f, e->ino) || !profile_meta(e->path, e->ino, &m))
		return;
	if (m.pid != pid) {
		f->other = true;
		f->other_pid = m.pid;
		snprintf(f->other_path, sizeof(f->other_path), "%s", e->path);
	} else if (!f->mine || m.start_mono_ns > f->start) {
		f->mine = true;
		f->start = m.start_mono_ns;
		snprintf(path, cap, "%s", e->path);
	}
}

int topfind_in_maps(FILE *maps, uint64_t pid, char *path, size_t cap, char *err, size_t errlen)
{
	char line[PATH_MAX + 256];
	struct found f = {0};
	struct entry e;
	while (fgets(line, sizeof(line), maps)) {
		bool whole = strchr(line, '\n') != NULL;
		if (whole && entry_parse(line, &e))
			entry_look(&f, &e, pid, path, cap);
		/* a longer line's rest is not an entry of its own */
		while (!whole && fgets(line, sizeof(line), maps))
			whole = strchr(line, '\n') != NULL;
	}
	free(f.seen);
	if (f.mine)
		return 0;
	if (f.other)
		snprintf(err, errlen,
		         "process %" PRIu64 " maps the profile of process %" PRIu64
		         " (%s), none of its own: a fork child whose profile could not be made?",
		         pid, f.other_pid, f.other_path);
	else if (f.deleted)
		snprintf(err, errlen,
		         "process %" PRIu64 " maps no profile that can be opened: %s was deleted",
		         pid, f.deleted_path);
	else if (f.library) {
		snprintf(err, errlen,
		         "process %" PRIu64 ": no contention recorded yet (its profile file is "
		         "made at its first contention)",
		         pid);
		return TOPFIND_NOT_YET;
	} else
		snprintf(err, errlen,
		         "process %" PRIu64 " has no lockcontend profile (not started under the "
		         "preload, or with LOCKCONTEND=off?)",
		         pid);
	return -1;
}

int topfind_profile(uint64_t pid, char *path, size_t cap, char *err, size_t errlen)
{
	char maps_path[64];
	if (pid == 0 || pid > INT_MAX) {
		snprintf(err, errlen, "no process %" PRIu64, pid);
		return -1;
	}
	snprintf(maps_path, sizeof(maps_path), "/proc/%" PRIu64 "/maps", pid);
	FILE *maps = fopen(maps_path, "re");
	if (!maps && (errno == ENOENT || errno == ESRCH)) {
		snprintf(err, errlen, "no process %" PRIu64, pid);
		return -1;
	}
	if (!maps) {
		snprintf(err, errlen, "cannot read %s: %s%s", maps_path, strerror(errno),
		         errno == EACCES ? " (another user's process?)" : "");
		return -1;
	}
	int rc = topfind_in_maps(maps, pid, path, cap, err, errlen);
	fclose(maps);
	return rc;
}
