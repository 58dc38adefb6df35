/*
 * test_dumpstatus.c — what became of a dump's writer (symbolize/dumpstatus.c).
 *
 * With a fake system (struct dumpstatus_sys): a complete file is exited,
 * exec or snapshot as its LIVE record says (a snapshot at its own time);
 * a file without trailer is live only if the pid's maps list this very
 * file (st_dev and st_ino, or on a filesystem that shows another device
 * there, the inode and the same path), else its writer died (a reused pid,
 * a copy); when maps cannot be read, whether the pid exists decides; pid 0
 * never runs.  The one-line descriptions, with TZ=UTC.  With the real
 * system: this process mapping a dump file MAP_SHARED is its live writer,
 * and no longer once unmapped; a child that exited is a writer that died.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "unit/dumpbuild.h"

/* ---- a fake system ---------------------------------------------------------- */

static const char *fake_maps; /* NULL: maps cannot be read */
static bool fake_alive;
static unsigned maps_opened;

static FILE *open_fake_maps(uint64_t pid)
{
	(void)pid;
	maps_opened++;
	return fake_maps ? fmemopen((void *)fake_maps, strlen(fake_maps), "r") : NULL;
}

static bool fake_is_alive(uint64_t pid)
{
	(void)pid;
	return fake_alive;
}

/* 2.5 s after the dumps' start (dumpbuild.h: 1700000000 s) */
static uint64_t fake_now(void)
{
	return 1700000002500000000ull;
}

static const struct dumpstatus_sys fake = {open_fake_maps, fake_is_alive, fake_now};

static struct dumpbuild b;
static struct dump d;

static void setup(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	fake_maps = NULL;
	fake_alive = false;
	maps_opened = 0;
}

static void teardown(void)
{
	dump_free(&d);
	db_free(&b);
}

TestSuite(dumpstatus, .init = setup, .fini = teardown);

/* A dump of pid 4242 in state `state`, complete or as a running writer
 * leaves it; file identity dev 8:1, inode 77. */
static void parse(uint32_t state, bool complete)
{
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/opt/app", LC_META_STACKS, 0);
	db_live(&b, &(struct lc_rec_live){.state = state, .snapshot_mono_ns = 1000001000});
	if (complete) {
		db_lost(&b, LC_VIEW_WAIT, NULL);
		db_totals(&b, (struct lc_rec_totals){0});
		db_trailer(&b);
	} else {
		db_zeros(&b, 64);
	}
	char err[256];
	cr_assert_eq(dump_parse(b.buf, b.len, &d, err, sizeof(err)), 0, "%s", err);
	d.file_dev = makedev(8, 1);
	d.file_ino = 77;
}

static const char *describe(const struct dump_status *st)
{
	static char line[512];
	dumpstatus_describe(&d, st, line, sizeof(line));
	cr_assert_null(strchr(line, '\n'));
	return line;
}

static struct dump_status status_of(const char *path)
{
	struct dump_status st;
	dumpstatus_of(&d, path, &fake, &st);
	cr_assert_eq(st.read_realtime_ns, fake_now());
	return st;
}

/* ---- complete files ---------------------------------------------------------- */

Test(dumpstatus, complete_files_say_how_they_ended)
{
	parse(LC_LIVE_EXITED, true);
	struct dump_status st = status_of(NULL);
	cr_assert_eq(st.writer, DUMP_WRITER_EXITED);
	cr_assert_str_eq(describe(&st), "complete: written when the program exited");
	cr_assert_str_eq(describe(NULL), "complete: written when the program exited");
	d.live.state = LC_LIVE_EXEC;
	st = status_of(NULL);
	cr_assert_eq(st.writer, DUMP_WRITER_EXEC);
	cr_assert(strstr(describe(&st), "complete: ended by exec()"), "%s", describe(&st));
	d.meta.flags |= LC_META_ATTACHED; /* attached: no new profile after exec */
	cr_assert(strstr(describe(&st), "attached: the new program image is not profiled"), "%s",
	          describe(&st));
	d.meta.flags &= ~LC_META_ATTACHED;
	d.live.state = LC_LIVE_DETACHED;
	st = status_of(NULL);
	cr_assert_eq(st.writer, DUMP_WRITER_DETACHED);
	cr_assert_str_eq(describe(&st), "complete: ended by a detach (the program ran on)");
	d.live.state = LC_LIVE_RUNNING; /* a trailer says more than a stale state */
	cr_assert_eq(status_of(NULL).writer, DUMP_WRITER_EXITED);
	cr_assert_eq(maps_opened, 0, "a complete file needs no process");
}

/* META: start_mono 1000, start_realtime 1700000000 s; snapshot at mono
 * 1000001000: one second in. */
Test(dumpstatus, a_snapshot_at_its_time)
{
	parse(LC_LIVE_SNAPSHOT, true);
	struct dump_status st = status_of(NULL);
	cr_assert_eq(st.writer, DUMP_WRITER_SNAPSHOT);
	cr_assert_eq(st.at_realtime_ns, 1700000001000000000ull);
	cr_assert_str_eq(describe(&st), "a snapshot taken while it ran (at 2023-11-14 22:13:21 UTC, "
	                                "1.00 s after start)");
	d.live.snapshot_mono_ns = 0; /* before the start: not known */
	st = status_of(NULL);
	cr_assert_str_eq(describe(&st), "a snapshot taken while it ran");
}

/* ---- files without trailer ----------------------------------------------------- */

Test(dumpstatus, live_when_the_process_maps_this_file)
{
	parse(LC_LIVE_RUNNING, false);
	fake_maps = "55d0c2a4e000-55d0c2a50000 r--p 00000000 08:01 12    /usr/bin/app\n"
	            "7f0000000000-7f0000100000 rw-s 00000000 08:01 77    /tmp/app.raw\n";
	struct dump_status st = status_of("/nonexistent/app.raw");
	cr_assert_eq(st.writer, DUMP_WRITER_LIVE);
	cr_assert_eq(st.at_realtime_ns, fake_now());
	cr_assert_str_eq(describe(&st), "live profile of running process 4242, read at 2023-11-14 "
	                                "22:13:22 UTC (2.50 s after start)");
	cr_assert_str_eq(describe(NULL), "no trailer: a live profile, or one whose writer died");
}

static enum dump_writer writer_with_maps(const char *maps, const char *path)
{
	fake_maps = maps;
	return status_of(path).writer;
}

/* Another file with the inode, another device with it: not this file ...
 * unless the path is the file's too (overlayfs shows the real device). */
Test(dumpstatus, died_when_the_pid_maps_something_else)
{
	parse(LC_LIVE_RUNNING, false);
	cr_assert_eq(writer_with_maps("", NULL), DUMP_WRITER_DIED);
	cr_assert_eq(writer_with_maps("7f0000000000-7f0000100000 rw-s 00000000 08:02 77 /x.raw\n",
	                              NULL), DUMP_WRITER_DIED);
	cr_assert_eq(writer_with_maps("7f0000000000-7f0000100000 rw-s 00000000 08:01 78 /x.raw\n",
	                              NULL), DUMP_WRITER_DIED);
	char dir[] = "/tmp/lc_dumpstatus_XXXXXX", path[64], maps[256];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app.raw", dir);
	fclose(fopen(path, "w"));
	snprintf(maps, sizeof(maps), "7f0000000000-7f0000100000 rw-s 00000000 00:2f 77 %s\n", path);
	cr_assert_eq(writer_with_maps(maps, path), DUMP_WRITER_LIVE, "same inode and path");
	snprintf(maps, sizeof(maps), "7f0000000000-7f0000100000 rw-s 00000000 00:2f 77 %s.1\n", path);
	cr_assert_eq(writer_with_maps(maps, path), DUMP_WRITER_DIED, "same inode, other path");
	unlink(path);
	rmdir(dir);
	cr_assert_str_eq(describe(&(struct dump_status){.writer = DUMP_WRITER_DIED}),
	                 "the writer died without a clean exit (killed by a signal, a crash, or exit_group without libc): totals "
	                 "may be short by the events in flight");
}

/* A file whose writer ended (LIVE says exit or exec) but has no trailer:
 * its closing records did not fit, or a copy of it was cut short after
 * its records (the file alone cannot tell which, and the words say
 * both).  Not "died", whatever the pid does. */
Test(dumpstatus, ended_without_room_for_the_closing_records)
{
	parse(LC_LIVE_EXITED, false);
	cr_assert_eq(writer_with_maps("", NULL), DUMP_WRITER_UNCLOSED);
	cr_assert_str_eq(describe(&(struct dump_status){.writer = DUMP_WRITER_UNCLOSED}),
	                 "ended at exit, but its closing records are missing (they did not fit: "
	                 "disk full or a file size limit; or a copy of the file was cut short "
	                 "after its last record): totals are the threads' own");
	parse(LC_LIVE_EXEC, false);
	cr_assert_eq(writer_with_maps("", NULL), DUMP_WRITER_UNCLOSED);
	parse(LC_LIVE_DETACHED, false);
	cr_assert_eq(writer_with_maps("", NULL), DUMP_WRITER_UNCLOSED);
	struct dump_status st = {.writer = DUMP_WRITER_UNCLOSED};
	cr_assert(strstr(describe(&st), "ended at a detach,"), "%s", describe(&st));
}

/* A maps line longer than the reader's buffer is one entry, not two. */
Test(dumpstatus, a_long_maps_line_is_one_entry)
{
	parse(LC_LIVE_RUNNING, false);
	size_t n = 9000;
	char *maps = malloc(n + 200);
	int k = snprintf(maps, n + 200, "7f0000000000-7f0000100000 rw-s 00000000 08:02 5 /");
	memset(maps + k, 'a', n);
	snprintf(maps + k + n, 200, "7f0000000000-7f0000100000 rw-s 00000000 08:01 77 /x\n");
	/* the entry is inside the long line's path: not an entry */
	cr_assert_eq(writer_with_maps(maps, NULL), DUMP_WRITER_DIED);
	snprintf(maps + k + n, 200, "\n7f0000000000-7f0000100000 rw-s 00000000 08:01 77 /x\n");
	cr_assert_eq(writer_with_maps(maps, NULL), DUMP_WRITER_LIVE);
	free(maps);
}

Test(dumpstatus, without_maps_the_pid_decides)
{
	parse(LC_LIVE_RUNNING, false);
	fake_alive = true;
	cr_assert_eq(status_of(NULL).writer, DUMP_WRITER_LIVE);
	fake_alive = false;
	cr_assert_eq(status_of(NULL).writer, DUMP_WRITER_DIED);
	d.meta.pid = 0;
	fake_alive = true;
	maps_opened = 0;
	cr_assert_eq(status_of(NULL).writer, DUMP_WRITER_DIED, "pid 0 is no process");
	cr_assert_eq(maps_opened, 0);
}

/* ---- the real system -------------------------------------------------------------- */

static char dir[] = "/tmp/lc_dumpstatus_XXXXXX";
static char path[64];

/* The dump file of this process (or of pid), written and parsed back. */
static void write_and_read(uint64_t pid)
{
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/opt/app", LC_META_STACKS, 0);
	uint64_t p64 = pid;
	memcpy(b.buf + sizeof(struct lc_dump_header) + sizeof(struct lc_rec_head), &p64, 8);
	db_live(&b, &(struct lc_rec_live){.state = LC_LIVE_RUNNING});
	db_zeros(&b, 4096 - b.len % 4096);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app.raw", dir);
	int fd = open(path, O_CREAT | O_RDWR | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b.buf, b.len), (ssize_t)b.len);
	close(fd);
	char err[256];
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s", err);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(d.file_dev == st.st_dev && d.file_ino == st.st_ino);
}

static void remove_file(void)
{
	unlink(path);
	rmdir(dir);
}

Test(dumpstatus, this_process_mapping_the_file_is_its_live_writer)
{
	write_and_read((uint64_t)getpid());
	int fd = open(path, O_RDWR);
	void *map = mmap(NULL, b.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(map, MAP_FAILED);
	struct dump_status st;
	dumpstatus_of(&d, path, NULL, &st);
	cr_assert_eq(st.writer, DUMP_WRITER_LIVE);
	munmap(map, b.len);
	dumpstatus_of(&d, path, NULL, &st);
	cr_assert_eq(st.writer, DUMP_WRITER_DIED, "this pid runs, but no longer writes the file");
	remove_file();
}

Test(dumpstatus, a_child_that_exited_is_a_writer_that_died)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	write_and_read((uint64_t)pid);
	struct dump_status st;
	dumpstatus_of(&d, path, NULL, &st);
	cr_assert_eq(st.writer, DUMP_WRITER_DIED);
	remove_file();
}
