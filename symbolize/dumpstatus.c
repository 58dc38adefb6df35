/*
 * dumpstatus.c — what became of a dump's writer (see dumpstatus.h).
 */
#include "dumpstatus.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>

/* ---- the real system ------------------------------------------------------ */

static FILE *sys_open_maps(uint64_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%" PRIu64 "/maps", pid);
	return fopen(path, "re");
}

static bool sys_alive(uint64_t pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static uint64_t sys_now_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const struct dumpstatus_sys real_sys = {sys_open_maps, sys_alive, sys_now_realtime_ns};

/* ---- is the writer there? ------------------------------------------------- */

/* One maps entry: "lo-hi perms offset major:minor inode   path". */
static bool entry_is_file(const char *line, uint64_t dev, uint64_t ino, const char *real_path)
{
	unsigned int maj, min;
	unsigned long long inode;
	int n = 0;
	if (sscanf(line, "%*x-%*x %*s %*x %x:%x %llu%n", &maj, &min, &inode, &n) != 3 ||
	    inode != ino || ino == 0)
		return false;
	if (maj == major((dev_t)dev) && min == minor((dev_t)dev))
		return true;
	if (!real_path)
		return false;
	const char *p = line + n;
	p += strspn(p, " ");
	size_t len = strcspn(p, "\n");
	return len == strlen(real_path) && memcmp(p, real_path, len) == 0;
}

bool dumpstatus_maps_has(FILE *maps, uint64_t dev, uint64_t ino, const char *real_path)
{
	char line[4096 + 128];
	bool found = false;
	while (!found && fgets(line, sizeof(line), maps)) {
		found = entry_is_file(line, dev, ino, real_path);
		/* a longer line's rest is not an entry of its own */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), maps))
			;
	}
	return found;
}

/* Does the process META names still run with the file mapped? */
static bool writer_runs(const struct dump *d, const char *path, const struct dumpstatus_sys *sys)
{
	uint64_t pid = d->meta.pid;
	if (pid == 0 || pid > INT_MAX)
		return false;
	FILE *maps = sys->open_maps(pid);
	if (!maps)
		return sys->alive(pid);
	char *real = path ? realpath(path, NULL) : NULL;
	bool has = dumpstatus_maps_has(maps, d->file_dev, d->file_ino, real);
	free(real);
	fclose(maps);
	return has;
}

/* The wall-clock time of a CLOCK_MONOTONIC reading of the run, or 0. */
static uint64_t wall_of_mono(const struct lc_rec_meta *m, uint64_t mono)
{
	if (mono < m->start_mono_ns || m->start_realtime_ns == 0)
		return 0;
	return m->start_realtime_ns + (mono - m->start_mono_ns);
}

/* What a complete file's LIVE record says it is. */
static void status_complete(const struct dump *d, struct dump_status *st)
{
	switch (d->live.state) {
	case LC_LIVE_EXEC: st->writer = DUMP_WRITER_EXEC; break;
	case LC_LIVE_DETACHED: st->writer = DUMP_WRITER_DETACHED; break;
	case LC_LIVE_SNAPSHOT:
		st->writer = DUMP_WRITER_SNAPSHOT;
		st->at_realtime_ns = wall_of_mono(&d->meta, d->live.snapshot_mono_ns);
		break;
	default: st->writer = DUMP_WRITER_EXITED; break;
	}
}

void dumpstatus_of(const struct dump *d, const char *path, const struct dumpstatus_sys *sys,
                   struct dump_status *st)
{
	if (!sys)
		sys = &real_sys;
	memset(st, 0, sizeof(*st));
	st->read_realtime_ns = sys->now_realtime_ns();
	if (d->complete) {
		status_complete(d, st);
		return;
	}
	if (d->have_live && (d->live.state == LC_LIVE_EXITED || d->live.state == LC_LIVE_EXEC ||
	                     d->live.state == LC_LIVE_DETACHED)) {
		st->writer = DUMP_WRITER_UNCLOSED;
		return;
	}
	if (writer_runs(d, path, sys)) {
		st->writer = DUMP_WRITER_LIVE;
		st->at_realtime_ns = st->read_realtime_ns;
	} else {
		st->writer = DUMP_WRITER_DIED;
	}
}

/* ---- in words --------------------------------------------------------------- */

/* "2023-11-14 22:13:22 UTC" and, if known, "2.00 s" since the start. */
static void format_at(const struct lc_rec_meta *m, uint64_t at, char *when, size_t wcap,
                      char *since, size_t scap)
{
	time_t secs = (time_t)(at / 1000000000u);
	struct tm tm;
	when[0] = since[0] = '\0';
	if (localtime_r(&secs, &tm))
		strftime(when, wcap, "%Y-%m-%d %H:%M:%S %Z", &tm);
	if (m->start_realtime_ns && at >= m->start_realtime_ns)
		snprintf(since, scap, "%.2f s", (double)(at - m->start_realtime_ns) / 1e9);
}

static void describe_snapshot(const struct dump *d, uint64_t at, char *buf, size_t cap)
{
	char when[64], since[32];
	if (!at) {
		snprintf(buf, cap, "a snapshot taken while it ran");
		return;
	}
	format_at(&d->meta, at, when, sizeof(when), since, sizeof(since));
	if (since[0])
		snprintf(buf, cap, "a snapshot taken while it ran (at %s, %s after start)", when,
		         since);
	else
		snprintf(buf, cap, "a snapshot taken while it ran (at %s)", when);
}

static void describe_live(const struct dump *d, uint64_t at, char *buf, size_t cap)
{
	char when[64], since[32];
	format_at(&d->meta, at, when, sizeof(when), since, sizeof(since));
	int n = snprintf(buf, cap, "live profile of running process %" PRIu64 ", read at %s",
	                 d->meta.pid, when);
	if (since[0] && n > 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, " (%s after start)", since);
}

void dumpstatus_describe(const struct dump *d, const struct dump_status *st, char *buf, size_t cap)
{
	struct dump_status own = {0};
	if (d->end == DUMP_END_CUT) {
		snprintf(buf, cap, "WARNING: %s; this is a partial profile", d->warning);
		return;
	}
	if (!st && !d->complete) {
		snprintf(buf, cap, "no trailer: a live profile, or one whose writer died");
		return;
	}
	if (!st) {
		status_complete(d, &own);
		st = &own;
	}
	switch (st->writer) {
	case DUMP_WRITER_EXITED:
		snprintf(buf, cap, "complete: written when the program exited");
		break;
	case DUMP_WRITER_EXEC:
		snprintf(buf, cap, "%s",
		         d->meta.flags & LC_META_ATTACHED
		             ? "complete: ended by exec() (attached: the new program image is not "
		               "profiled)"
		             : "complete: ended by exec() (the new program image writes a profile "
		               "of its own)");
		break;
	case DUMP_WRITER_DETACHED:
		snprintf(buf, cap, "complete: ended by a detach (the program ran on)");
		break;
	case DUMP_WRITER_SNAPSHOT: describe_snapshot(d, st->at_realtime_ns, buf, cap); break;
	case DUMP_WRITER_LIVE: describe_live(d, st->at_realtime_ns, buf, cap); break;
	case DUMP_WRITER_DIED:
		snprintf(buf, cap,
		         "the writer died without a clean exit (killed by a signal, a crash, "
		         "or exit_group without libc): totals may be short by the events "
		         "in flight");
		break;
	case DUMP_WRITER_UNCLOSED:
		snprintf(buf, cap,
		         "ended at %s, but its closing records are missing (they did not "
		         "fit: disk full or a file size limit; or a copy of the file was cut "
		         "short after its last record): totals are the threads' own",
		         d->live.state == LC_LIVE_EXEC       ? "exec()"
		         : d->live.state == LC_LIVE_DETACHED ? "a detach"
		                                             : "exit");
		break;
	}
}
