/*
 * test_topfind.c — a process's profile found from its maps (topfind.c),
 * on maps text the test writes about files it makes.
 *
 * Real files in a temporary directory: two profiles (META pids 100 and
 * 200, the second started later), a text file, a FIFO (which must not be
 * opened, let alone block).  The maps lines name them with their real
 * inodes, as /proc/PID/maps would: the process's own profile is picked by
 * META.pid; a fork child that maps only its parent's is told so; a file
 * replaced since it was mapped (another inode) is not taken; a deleted
 * profile is named; anonymous mappings, pseudo-files and an over-long
 * line are skipped.  And the real thing: this process, which maps no
 * profile, and a pid that does not exist.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "topfind.h"
#include "unit/dumpbuild.h"

static char dir[64], prof100[128], prof200[128], prof200b[128], text[128], fifo[128];

/* A profile's first records, as the preload writes them, by process pid
 * started at start_mono_ns. */
static void write_profile(const char *path, uint64_t pid, uint64_t start_mono_ns)
{
	struct dumpbuild b;
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/bin/app", LC_META_STACKS, 0);
	struct lc_rec_meta *m = (struct lc_rec_meta *)(b.buf + sizeof(struct lc_dump_header) +
	                                               sizeof(struct lc_rec_head));
	m->pid = pid;
	m->start_mono_ns = start_mono_ns;
	db_zeros(&b, 4096);
	FILE *f = fopen(path, "w");
	cr_assert(f && fwrite(b.buf, 1, b.len, f) == b.len && fclose(f) == 0, "%s", path);
	db_free(&b);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lockcontend-test.XXXXXX");
	cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(prof100, sizeof(prof100), "%s/app.100.raw", dir);
	snprintf(prof200, sizeof(prof200), "%s/app.200.raw", dir);
	snprintf(prof200b, sizeof(prof200b), "%s/app.200.raw.1", dir);
	snprintf(text, sizeof(text), "%s/notes.txt", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	write_profile(prof100, 100, 1000);
	write_profile(prof200, 200, 2000);
	write_profile(prof200b, 200, 3000);
	FILE *f = fopen(text, "w");
	cr_assert(f && fputs("LCKCDUMP? no, just words, long enough to be read as a header\n", f) >= 0 &&
	          fclose(f) == 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
}

static void teardown(void)
{
	const char *files[] = {prof100, prof200, prof200b, text, fifo};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(dir);
}

TestSuite(topfind, .init = setup, .fini = teardown);

/* A maps line for path, as the kernel writes it (its real device and
 * inode; `ino` 0: the file's own). */
static void map_line(FILE *f, const char *perms, const char *path, uint64_t ino,
                     const char *suffix)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	fprintf(f, "7f0000000000-7f0000100000 %s 00000000 %02x:%02x %llu                  %s%s\n",
	        perms, major(st.st_dev), minor(st.st_dev),
	        (unsigned long long)(ino ? ino : st.st_ino), path, suffix ? suffix : "");
}

static const char *const noise =
    "55d0c2a4e000-55d0c2a4f000 r--p 00000000 00:00 0 \n"
    "55d0c2a6e000-55d0c2a8f000 rw-p 00000000 00:00 0                          [heap]\n"
    "7ffd1f6dc000-7ffd1f6fd000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd1f7fa000-7ffd1f7fc000 r-xp 00000000 00:00 0                          [vdso]\n";

/* topfind_in_maps over the text f was given; 0 or -1, path or err. */
static int find(FILE *f, uint64_t pid, char *path, char *err)
{
	rewind(f);
	path[0] = err[0] = '\0';
	return topfind_in_maps(f, pid, path, 4096, err, 512);
}

Test(topfind, the_process_own_profile_is_chosen_by_its_meta_pid)
{
	char path[4096], err[512];
	FILE *f = tmpfile();
	fputs(noise, f);
	map_line(f, "rw-s", prof100, 0, NULL); /* a parent's, inherited */
	map_line(f, "r--p", text, 0, NULL);
	map_line(f, "rw-s", prof200, 0, NULL);
	map_line(f, "rw-s", prof200, 0, NULL); /* grown: mapped twice */
	cr_assert_eq(find(f, 200, path, err), 0, "%s", err);
	cr_expect_str_eq(path, prof200);
	cr_assert_eq(find(f, 100, path, err), 0, "%s", err);
	cr_expect_str_eq(path, prof100);
	fclose(f);
}

Test(topfind, of_two_own_profiles_the_later_one)
{
	char path[4096], err[512];
	FILE *f = tmpfile();
	map_line(f, "rw-s", prof200b, 0, NULL);
	map_line(f, "rw-s", prof200, 0, NULL);
	cr_assert_eq(find(f, 200, path, err), 0, "%s", err);
	cr_expect_str_eq(path, prof200b);
	fclose(f);
}

Test(topfind, a_child_that_maps_only_its_parents_profile_is_told_so)
{
	char path[4096], err[512];
	FILE *f = tmpfile();
	map_line(f, "rw-s", prof100, 0, NULL);
	cr_assert_eq(find(f, 101, path, err), -1);
	cr_expect(strstr(err, "process 101 maps the profile of process 100 ("), "%s", err);
	cr_expect(strstr(err, prof100), "%s", err);
	cr_expect(!strchr(err, '\n'), "%s", err);
	fclose(f);
}

Test(topfind, files_that_are_no_profile_are_passed_over)
{
	char path[4096], err[512];
	FILE *f = tmpfile();
	fputs(noise, f);
	map_line(f, "r--p", text, 0, NULL);
	map_line(f, "rw-s", fifo, 0, NULL); /* never opened: it would block */
	map_line(f, "rw-s", prof200, 1, NULL); /* the path names another file now */
	fprintf(f, "7f0000000000-7f0000100000 rw-s 00000000 08:01 12345 /%0*d\n", 9000, 0);
	cr_assert_eq(find(f, 200, path, err), -1);
	cr_expect_str_eq(err,
	                 "process 200 has no lockcontend profile (not started under the preload, "
	                 "or with LOCKCONTEND=off?)");
	fclose(f);
}

Test(topfind, a_deleted_profile_is_named)
{
	char path[4096], err[512], want[256];
	FILE *f = tmpfile();
	map_line(f, "rw-s", prof200, 0, " (deleted)");
	cr_assert_eq(find(f, 200, path, err), -1);
	snprintf(want, sizeof(want), "process 200 maps no profile that can be opened: %s was deleted",
	         prof200);
	cr_expect_str_eq(err, want);
	fclose(f);
}

Test(topfind, the_real_system)
{
	char path[4096], err[512];
	cr_assert_eq(topfind_profile((uint64_t)getpid(), path, sizeof(path), err, sizeof(err)), -1);
	cr_expect(strstr(err, " has no lockcontend profile "), "%s", err);
	cr_assert_eq(topfind_profile(2147483647, path, sizeof(path), err, sizeof(err)), -1);
	cr_expect_str_eq(err, "no process 2147483647");
	cr_assert_eq(topfind_profile(0, path, sizeof(path), err, sizeof(err)), -1);
	cr_expect_str_eq(err, "no process 0");
}
