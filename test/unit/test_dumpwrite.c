/*
 * test_dumpwrite.c — the profile file's name and creation
 * (preload/dumpwrite.c): dumpwrite_expand's escapes (%p, %e, %%), its
 * overflow (0, never a byte past cap) and exact fit; dumpwrite_create's
 * protocol: a new empty file, mode 0600 whatever the umask, opened
 * read-write (it is mapped), never replacing or following what is at the
 * target (NAME.1, NAME.2 instead; a symlink, even a dangling one, is taken),
 * one-line errors that name the path, and nothing left behind on failure.
 *
 * These lived in test_dump.c for the 2.0 writer (dumpwrite_file), ported
 * as they were to dumpwrite_create when the profile came to be written in
 * place.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dumpwrite.h"

static void assert_one_line(const char *what, const char *s)
{
	cr_assert(s[0], "empty %s", what);
	cr_assert_null(strchr(s, '\n'), "%s spans lines: %s", what, s);
}

/* ---- dumpwrite_expand ---------------------------------------------------- */

static void assert_expands(const char *pattern, uint64_t pid, const char *exe_path,
                           const char *want)
{
	char out[256];
	memset(out, 'Z', sizeof(out));
	size_t n = dumpwrite_expand(pattern, pid, exe_path, out, sizeof(out));
	cr_assert_str_eq(out, want, "\"%s\"", pattern);
	cr_assert_eq(n, strlen(want));
}

Test(dumpwrite, expand_escapes)
{
	assert_expands("lockcontend.%p.raw", 1234, "/x", "lockcontend.1234.raw");
	assert_expands("%p%p", 0, "/x", "00");
	assert_expands("%p", UINT64_MAX, "/x", "18446744073709551615");
	assert_expands("out.%e.raw", 1, "/usr/bin/myprog", "out.myprog.raw");
	assert_expands("%e", 1, "myprog", "myprog");
	assert_expands("%e", 1, NULL, "unknown");
	assert_expands("%e", 1, "", "unknown");
	assert_expands("%e", 1, "/usr/bin/", "unknown");
	assert_expands("100%%.%p", 7, "/x", "100%.7");
	assert_expands("/tmp/%e/%p/x", 9, "/a/b", "/tmp/b/9/x");
}

/* Returns 0 when cut, never writes past cap. */
Test(dumpwrite, expand_overflow_is_zero)
{
	char out[64];
	for (size_t cap = 1; cap <= 20; cap++) {
		memset(out, 'Z', sizeof(out));
		cr_assert_eq(dumpwrite_expand("lockcontend.%p.raw", 1234, "/x", out, cap), 0,
		             "cap %zu", cap);
		cr_assert_eq(out[cap], 'Z', "wrote past cap %zu", cap);
	}
	cr_assert_eq(dumpwrite_expand("%e.%e.%e", 1, "/bin/a-rather-long-name", out, 40), 0);
}

/* "abc" needs 4 bytes with its NUL: it fits in exactly 4. */
Test(dumpwrite, expand_exact_fit)
{
	char out[8];
	cr_assert_eq(dumpwrite_expand("abc", 1, "/x", out, 4), 3);
	cr_assert_str_eq(out, "abc");
	cr_assert_eq(dumpwrite_expand("%p", 12345, "/x", out, 6), 5);
	cr_assert_str_eq(out, "12345");
}

/* ---- dumpwrite_create ---------------------------------------------------- */

static char dir[64];

static void dir_setup(void)
{
	strcpy(dir, "/tmp/lockcontend-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0711); /* an unprivileged child may pass through */
}

static void rm_rf(const char *path)
{
	DIR *dp = opendir(path);
	struct dirent *e;
	while (dp && (e = readdir(dp))) {
		char p[512];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		chmod(p, 0700);
		if (unlink(p) != 0)
			rm_rf(p);
	}
	if (dp)
		closedir(dp);
	rmdir(path);
}

static void dir_teardown(void)
{
	rm_rf(dir);
}

TestSuite(dumpfile, .init = dir_setup, .fini = dir_teardown);

static void put_file(const char *name, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
}

static void assert_content(const char *name, const char *content)
{
	char p[512], got[256] = "";
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "%s is gone", p);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	cr_assert_str_eq(got, content, "%s was changed", p);
}

/* The directory holds exactly `names` (sorted, NULL-terminated). */
static void assert_listing(const char *d, const char *const *names)
{
	struct dirent **list;
	int n = scandir(d, &list, NULL, alphasort), k = 0;
	cr_assert_geq(n, 0);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (strcmp(name, ".") && strcmp(name, "..")) {
			cr_assert_not_null(names[k], "unexpected file %s in %s", name, d);
			cr_assert_str_eq(name, names[k], "unexpected file in %s", d);
			k++;
		}
		free(list[i]);
	}
	free(list);
	cr_assert_null(names[k], "%s is missing from %s", names[k], d);
}

/* A new, empty regular file of this process: the profile to be mapped. */
static void assert_new_file(int fd, const char *path)
{
	struct stat st, fst;
	cr_assert_eq(lstat(path, &st), 0, "%s", path);
	cr_assert_eq(fstat(fd, &fst), 0);
	cr_assert(S_ISREG(st.st_mode) && st.st_ino == fst.st_ino, "%s is not the file opened", path);
	cr_assert_eq(st.st_size, 0);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR, "the profile is mapped read-write");
	close(fd);
}

/* 0 with the new file checked and closed, or -1. */
static int write_file(const char *name, char *path, char *err)
{
	char pattern[512];
	snprintf(pattern, sizeof(pattern), "%s/%s", dir, name);
	path[0] = err[0] = '\0';
	int fd = dumpwrite_create(pattern, 4242, "/usr/bin/app", path, 4096 + 64, err, 512);
	if (fd < 0)
		return -1;
	assert_new_file(fd, path);
	return 0;
}

Test(dumpfile, writes_a_0600_file_at_the_expanded_name)
{
	char path[4096 + 64], err[512], want[512];
	mode_t old = umask(0); /* 0600 must come from the writer, not the umask */
	int rc = write_file("prof.%p.raw", path, err);
	umask(old);
	cr_assert_eq(rc, 0, "%s", err);
	snprintf(want, sizeof(want), "%s/prof.4242.raw", dir);
	cr_assert_str_eq(path, want);
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	assert_listing(dir, (const char *const[]){"prof.4242.raw", NULL});
}

Test(dumpfile, existing_file_is_kept_and_profile_lands_at_dot_1)
{
	char path[4096 + 64], err[512], want[512];
	put_file("prof.raw", "precious");
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/prof.raw.1", dir);
	cr_assert_str_eq(path, want);
	assert_content("prof.raw", "precious");
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/prof.raw.2", dir);
	cr_assert_str_eq(path, want);
	assert_listing(dir, (const char *const[]){"prof.raw", "prof.raw.1", "prof.raw.2", NULL});
}

Test(dumpfile, symlink_at_target_is_neither_followed_nor_replaced)
{
	char path[4096 + 64], err[512], link_path[512], target[64];
	put_file("victim", "victim data");
	snprintf(link_path, sizeof(link_path), "%s/prof.raw", dir);
	cr_assert_eq(symlink("victim", link_path), 0);
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	cr_assert(strstr(path, "/prof.raw.1"), "landed at %s", path);
	assert_content("victim", "victim data");
	ssize_t n = readlink(link_path, target, sizeof(target) - 1);
	cr_assert_eq(n, 6, "the symlink was replaced");
	target[n] = '\0';
	cr_assert_str_eq(target, "victim");
	assert_listing(dir, (const char *const[]){"prof.raw", "prof.raw.1", "victim", NULL});
}

Test(dumpfile, dangling_symlink_is_not_followed)
{
	char path[4096 + 64], err[512], link_path[512];
	snprintf(link_path, sizeof(link_path), "%s/prof.raw", dir);
	cr_assert_eq(symlink("ghost", link_path), 0);
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	cr_assert(strstr(path, "/prof.raw.1"), "landed at %s", path);
	assert_listing(dir, (const char *const[]){"prof.raw", "prof.raw.1", NULL});
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(dumpfile, every_name_taken_fails_cleanly)
{
	char path[4096 + 64], err[512], name[64];
	static char names[100][16];
	const char *listing[101];
	put_file("prof.raw", "0");
	for (int i = 1; i < 100; i++) {
		snprintf(name, sizeof(name), "prof.raw.%d", i);
		put_file(name, "x");
	}
	cr_assert_eq(write_file("prof.raw", path, err), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, "/prof.raw"), "error does not name the target: %s", err);
	for (int i = 0; i < 100; i++) /* alphasort order: .1 .10 .11 ... */
		snprintf(names[i], sizeof(names[i]), i ? "prof.raw.%d" : "prof.raw", i);
	qsort(names + 1, 99, sizeof(names[0]), cmp_str);
	for (int i = 0; i < 100; i++)
		listing[i] = names[i];
	listing[100] = NULL;
	assert_listing(dir, listing);
	assert_content("prof.raw", "0");
}

static int create_closed(const char *pattern, char *path, size_t path_cap, char *err, size_t cap)
{
	int fd = dumpwrite_create(pattern, 4242, "/usr/bin/app", path, path_cap, err, cap);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

/* Run dumpwrite_create as `nobody` if we are root (root writes anywhere). */
static int write_file_unprivileged(const char *pattern, char *err, size_t cap)
{
	char path[4096 + 64];
	if (geteuid() != 0)
		return create_closed(pattern, path, sizeof(path), err, cap);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int rc = 99;
		close(fds[0]);
		if (setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0)
			rc = create_closed(pattern, path, sizeof(path), err, cap);
		if (write(fds[1], &rc, sizeof(rc)) != sizeof(rc) ||
		    write(fds[1], err, strlen(err) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	int rc = -2;
	cr_assert_eq(read(fds[0], &rc, sizeof(rc)), (ssize_t)sizeof(rc));
	ssize_t n = read(fds[0], err, cap - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, NULL, 0);
	if (rc == 99)
		cr_skip_test("cannot drop root privileges to test an unwritable directory");
	return rc;
}

Test(dumpfile, unwritable_directory_fails_with_the_path)
{
	char sub[128], pattern[160], err[512] = "";
	snprintf(sub, sizeof(sub), "%s/ro", dir);
	cr_assert_eq(mkdir(sub, 0555), 0);
	chmod(sub, 0555);
	snprintf(pattern, sizeof(pattern), "%s/prof.raw", sub);
	cr_assert_eq(write_file_unprivileged(pattern, err, sizeof(err)), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, pattern), "error does not name %s: %s", pattern, err);
	assert_listing(sub, (const char *const[]){NULL});
}

Test(dumpfile, missing_directory_fails_with_the_path)
{
	char path[4096 + 64], err[512];
	cr_assert_eq(write_file("nope/prof.raw", path, err), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, "/nope/prof.raw"), "%s", err);
	assert_listing(dir, (const char *const[]){NULL});
}
