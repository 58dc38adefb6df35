/*
 * test_dumpwrite.c — the profile file's name and creation
 * (preload/dumpwrite.c): dumpwrite_expand's escapes (%p, %e, %%), its
 * overflow (0, never a byte past cap) and exact fit; dumpwrite_create's
 * protocol: a new empty file, mode 0600 whatever the umask, opened
 * read-write (it is mapped), never replacing or following what is at the
 * target (NAME.1, NAME.2 instead; a symlink, even a dangling one, a
 * directory or a FIFO is taken), close-on-exec, one-line errors that name
 * the path (or the pattern that does not fit), and nothing left behind on
 * failure.
 *
 * The closing records, on a real profile file (pfiletest.h) made as the
 * recorder makes one (META, LIVE, buckets, a SLOT, a PENDING record):
 * dumpwrite_finish appends LOST for each view, TOTALS and a TRAILER that
 * counts every record before it (the PENDING one too) and says where it
 * starts, truncates the file to its records and seals it; without room
 * for them it fails and leaves the records whole, without a piece of a
 * closing record.  dumpwrite_snapshot writes a complete copy (mode 0600,
 * the profile's bytes, LIVE state SNAPSHOT, the closing records) and the
 * profile goes on untouched and unsealed; a snapshot never replaces or
 * follows what holds its name (NAME.1 ...), leaves no temporary file even
 * when every name is taken, and fails with one line naming the path.
 *
 * These lived in test_dump.c for the 2.0 writer (dumpwrite_file), ported
 * as they were to dumpwrite_create when the profile came to be written in
 * place.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dumpwrite.h"
#include "pfiletest.h"

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

/* More of dumpwrite_create: whatever else holds the name is taken (a FIFO:
 * never opened, so never blocked on), the fd is not inherited across exec,
 * and a pattern that does not fit is one line naming it. */
Test(dumpfile, fifo_at_target_is_taken)
{
	char path[4096 + 64], err[512], p[512];
	snprintf(p, sizeof(p), "%s/prof.raw", dir);
	cr_assert_eq(mkfifo(p, 0600), 0);
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	cr_assert(strstr(path, "/prof.raw.1"), "landed at %s", path);
	assert_listing(dir, (const char *const[]){"prof.raw", "prof.raw.1", NULL});
}

/* A directory as the name (out=/tmp, out=., out=dumps/) means the default
 * name in it, never ".1" beside it: out=. made "./..1", out=/tmp
 * "/tmp.1".  A name ending in '/' is a directory even when it is not
 * there (then the create fails, naming the file it would have made). */
Test(dumpfile, a_directory_as_the_name_gets_the_default_name_in_it)
{
	char path[4096 + 64], err[512], p[512];
	snprintf(p, sizeof(p), "%s/prof.raw", dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	snprintf(p, sizeof(p), "%s/prof.raw/lockcontend.4242.raw", dir);
	cr_assert_str_eq(path, p);
	cr_assert_eq(write_file(".", path, err), 0, "%s", err);
	snprintf(p, sizeof(p), "%s/./lockcontend.4242.raw", dir);
	cr_assert_str_eq(path, p);
	cr_assert_eq(write_file("prof.raw/", path, err), 0, "%s", err);
	snprintf(p, sizeof(p), "%s/prof.raw/lockcontend.4242.raw.1", dir);
	cr_assert_str_eq(path, p);
	assert_listing(dir, (const char *const[]){"lockcontend.4242.raw", "prof.raw", NULL});
	/* a link to a directory is a link: never followed, taken */
	char link[512];
	snprintf(p, sizeof(p), "%s/prof.raw", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(symlink(p, link), 0);
	cr_assert_eq(write_file("link", path, err), 0, "%s", err);
	cr_assert(strstr(path, "/link.1"), "landed at %s", path);
	cr_assert_eq(write_file("nodir/", path, err), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, "/nodir/lockcontend.4242.raw"), "%s", err);
}

Test(dumpfile, fd_is_close_on_exec)
{
	char pattern[512], path[4096 + 64], err[512];
	snprintf(pattern, sizeof(pattern), "%s/prof.raw", dir);
	int fd = dumpwrite_create(pattern, 1, "/x", path, sizeof(path), err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "an exec'd program would inherit the profile");
	close(fd);
}

Test(dumpfile, pattern_too_long_fails_with_the_pattern)
{
	char path[64], err[512];
	const char *pattern = "/tmp/a-long-name-that-does-not-fit.%p.raw";
	cr_assert_eq(dumpwrite_create(pattern, 1, "/x", path, sizeof(path) - 40, err, sizeof(err)),
	             -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, pattern), "error does not name the pattern: %s", err);
	assert_listing(dir, (const char *const[]){NULL});
}

/* ---- dumpwrite_finish and dumpwrite_snapshot, on a real profile file ------ */

static struct pfile pf;
static char profile[4096 + 64];
static struct lc_rec_live *live;
static struct dump_input in;

static void close_teardown(void)
{
	if (pf.base)
		munmap(pf.base, pf.cap);
	memset(&pf, 0, sizeof(pf));
	rm_rf(dir);
}

TestSuite(dumpclose, .init = dir_setup, .fini = close_teardown);

/* Distinct values in every field of the closing records' input. */
static void fill_input(void)
{
	uint64_t *w = (uint64_t *)&in;
	for (size_t i = 0; i < sizeof(in) / 8; i++)
		w[i] = 1000 + 7 * i;
}

/* A profile as the recorder starts one: created by dumpwrite_create,
 * mapped (cap bytes), META, LIVE, two buckets, a SLOT and one record left
 * PENDING (a lost insert race).  Returns the number of records. */
static uint64_t make_profile(size_t cap)
{
	char pattern[512], err[512];
	snprintf(pattern, sizeof(pattern), "%s/prof.raw", dir);
	int fd = dumpwrite_create(pattern, 4242, "/usr/bin/app", profile, sizeof(profile), err,
	                          sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(pfile_map(&pf, fd, profile, cap, NULL), 0);
	struct lc_rec_meta *m = pfile_record(&pf, sizeof(*m) + 12);
	cr_assert_not_null(m);
	m->pid = 4242;
	m->exe_len = 12;
	memcpy(m + 1, "/usr/bin/app", 12);
	pfile_publish(m, LC_REC_META);
	live = pfile_record(&pf, sizeof(*live));
	live->state = LC_LIVE_RUNNING;
	live->epoch = 3;
	pfile_publish(live, LC_REC_LIVE);
	for (int i = 0; i < 2; i++) {
		struct lc_rec_bucket *b = pfile_record(&pf, sizeof(*b) + 2 * 8);
		b->count = 10u + (unsigned)i;
		b->nframes = 2;
		pfile_publish(b, LC_REC_BUCKET);
	}
	cr_assert_not_null(pfile_record(&pf, sizeof(struct lc_rec_bucket) + 8)); /* PENDING */
	pfile_publish(pfile_record(&pf, sizeof(struct lc_rec_slot)), LC_REC_SLOT);
	fill_input();
	return 6;
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", path);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* The image's records after the first `before` are LOST for each view,
 * TOTALS (`want`) and TRAILER, from `in`, and the trailer ends the image. */
struct closing {
	const struct lc_rec_totals *want;
	uint64_t before, at;
	int lost, totals, trailer;
	uint64_t trailer_off;
};

static void closing_visit(const struct pft_rec *r, void *ctx)
{
	struct closing *c = ctx;
	if (c->at++ < c->before) {
		cr_assert(r->type != LC_REC_LOST && r->type != LC_REC_TOTALS &&
		              r->type != LC_REC_TRAILER,
		          "a closing record (type %u) among the profile's", r->type);
		return;
	}
	if (c->lost < LC_NVIEWS) {
		cr_assert_eq(r->type, LC_REC_LOST, "record %llu: type %u, LOST expected",
		             (unsigned long long)c->at - 1, r->type);
		const struct lc_rec_lost *l = r->payload;
		cr_assert_eq(r->size, sizeof(*l) + sizeof(in.lost[0]));
		cr_assert_eq(l->view, (uint32_t)c->lost, "LOST for view %u in place %d", l->view,
		             c->lost);
		cr_assert_eq(l->nreasons, LC_LOST_NREASONS);
		cr_assert_arr_eq(l + 1, in.lost[c->lost], sizeof(in.lost[0]), "LOST %d", c->lost);
		c->lost++;
	} else if (!c->totals) {
		cr_assert_eq(r->type, LC_REC_TOTALS, "type %u, TOTALS expected", r->type);
		cr_assert_eq(r->size, sizeof(in.totals));
		cr_assert_arr_eq(r->payload, c->want, sizeof(in.totals), "TOTALS");
		c->totals = 1;
	} else {
		cr_assert(!c->trailer, "a record after the trailer");
		cr_assert_eq(r->type, LC_REC_TRAILER, "type %u, TRAILER expected", r->type);
		const struct lc_rec_trailer *t = r->payload;
		cr_assert_eq(r->size, sizeof(*t));
		cr_assert_eq(t->records, c->at - 1, "the trailer counts %llu records, not %llu",
		             (unsigned long long)t->records, (unsigned long long)c->at - 1);
		cr_assert_eq(t->bytes, r->off, "the trailer says it starts at %llu, not %zu",
		             (unsigned long long)t->bytes, r->off);
		cr_assert(memcmp(t->end_magic, LC_DUMP_END_MAGIC, 8) == 0, "end magic");
		c->trailer = 1;
		c->trailer_off = r->off;
	}
}

static void assert_closed_with(const uint8_t *img, size_t len, uint64_t before,
                               const struct lc_rec_totals *totals)
{
	struct closing c = {.want = totals, .before = before};
	struct pft_walk w = pft_walk(img, len, len, closing_visit, &c);
	cr_assert(c.lost == LC_NVIEWS && c.totals && c.trailer, "closing records missing");
	cr_assert_eq(w.end, len, "bytes after the trailer");
	cr_assert_eq(c.trailer_off + 8 + sizeof(struct lc_rec_trailer), len);
}

static void assert_closed(const uint8_t *img, size_t len, uint64_t before)
{
	assert_closed_with(img, len, before, &in.totals);
}

/* A snapshot's TOTALS: `in`'s, but its record counts are the copy's own
 * (make_profile's two BUCKETs, its PENDING one not among them). */
static void assert_snapshot_closed(const uint8_t *img, size_t len, uint64_t before)
{
	struct lc_rec_totals t = in.totals;
	t.buckets = 2;
	t.modules = 0;
	t.locks = 0;
	assert_closed_with(img, len, before, &t);
}

Test(dumpclose, finish_appends_lost_totals_trailer_and_truncates)
{
	uint64_t n = make_profile(8 * PFILE_CHUNK);
	size_t used = pfile_used(&pf);
	cr_assert_eq(dumpwrite_finish(&pf, &in), 0);
	cr_assert_null(pfile_record(&pf, 8), "an append after finish");
	size_t len;
	uint8_t *img = read_whole(profile, &len);
	cr_assert_eq(len, pfile_used(&pf), "the file is %zu bytes, its records %zu", len,
	             pfile_used(&pf));
	cr_assert_arr_eq(img, pf.base, used, "finish changed the profile's records");
	assert_closed(img, len, n);
	struct pft_walk w = pft_walk(img, len, len, NULL, NULL);
	cr_assert_eq(w.by_type[LC_REC_PENDING], 1, "the PENDING record is kept, and counted");
	free(img);
}

/* Threads that keep appending while the profile is closed: whatever they
 * claim after the closing records is not in the file, and the file never
 * grows again after it was cut (it once did: fallocate after the
 * ftruncate, a PENDING head after the trailer, and the reader refused the
 * whole profile).  Small records, so the appenders cross chunks often. */
static _Atomic int closing_stop;

static void *append_until_stopped(void *arg)
{
	while (!atomic_load(&closing_stop)) {
		void *p = pfile_record(&pf, 1000);
		if (p)
			pfile_publish(p, LC_REC_SLOT);
	}
	return arg;
}

Test(dumpclose, finish_while_others_append_leaves_nothing_after_the_trailer, .timeout = 120)
{
	for (int round = 0; round < 40; round++) {
		make_profile(64 * PFILE_CHUNK);
		pthread_t th[3];
		atomic_store(&closing_stop, 0);
		for (int i = 0; i < 3; i++)
			cr_assert_eq(pthread_create(&th[i], NULL, append_until_stopped, NULL), 0);
		struct timespec ts = {0, (round % 8) * 250 * 1000};
		nanosleep(&ts, NULL);
		cr_assert_eq(dumpwrite_finish(&pf, &in), 0);
		atomic_store(&closing_stop, 1);
		for (int i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		size_t len;
		uint8_t *img = read_whole(profile, &len);
		struct pft_walk w = pft_walk(img, len, len, NULL, NULL);
		cr_assert_eq(w.end, len, "round %d: %zu bytes after the records", round, len - w.end);
		cr_assert_eq(w.by_type[LC_REC_TRAILER], 1, "round %d: no trailer", round);
		free(img);
		munmap(pf.base, pf.cap);
		memset(&pf, 0, sizeof(pf));
		unlink(profile);
	}
}

/* An arena filled to the last byte still closes its profile: the closing
 * records have a reserve of their own (it once failed with "No space left
 * on device", and the report blamed the disk). */
Test(dumpclose, finish_after_the_arena_filled_up_still_closes_the_profile)
{
	uint64_t n = make_profile(4 * 4096);
	while (pfile_record(&pf, 0))
		n++;
	cr_assert(pf.full, "the arena never filled up");
	size_t used = pfile_used(&pf);
	cr_assert_eq(dumpwrite_finish(&pf, &in), 0, "a full arena could not be closed");
	size_t len;
	uint8_t *img = read_whole(profile, &len);
	cr_assert_gt(len, used);
	cr_assert_arr_eq(img, pf.base, used, "finish changed the profile's records");
	assert_closed(img, len, n);
	free(img);
}

/* The sums a snapshot is closed with: `in`, and how often they were asked
 * for (once per snapshot, after the copy). */
static int sums_calls;
static void snapshot_sums(struct dump_input *out)
{
	sums_calls++;
	*out = in;
}

/* "snap.raw" in the test's directory. */
static int snapshot(const char *name, char *err)
{
	char final[512];
	snprintf(final, sizeof(final), "%s/%s", dir, name);
	err[0] = '\0';
	return dumpwrite_snapshot(&pf, snapshot_sums, final, err, 512);
}

/* A complete copy, closed with `in`, its LIVE state SNAPSHOT; the profile
 * itself goes on: unchanged, unsealed, still RUNNING. */
Test(dumpclose, snapshot_is_a_complete_copy_and_the_profile_goes_on)
{
	char err[512], p[512];
	uint64_t n = make_profile(8 * PFILE_CHUNK);
	size_t used = pfile_used(&pf);
	static uint8_t before[4096];
	memcpy(before, pf.base, sizeof(before));
	mode_t old = umask(0);
	int rc = snapshot("snap.raw", err);
	umask(old);
	cr_assert_eq(rc, 0, "%s", err);
	snprintf(p, sizeof(p), "%s/snap.raw", dir);
	struct stat st;
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	size_t len;
	uint8_t *img = read_whole(p, &len);
	assert_snapshot_closed(img, len, n);
	struct lc_rec_live copy;
	size_t live_off = (size_t)((char *)live - pf.base);
	memcpy(&copy, img + live_off, sizeof(copy));
	cr_assert_eq(copy.state, LC_LIVE_SNAPSHOT, "the copy says %u", copy.state);
	cr_assert_eq(copy.epoch, 3);
	/* the rest of the records are the profile's, byte for byte */
	cr_assert_arr_eq(img, pf.base, live_off);
	cr_assert_arr_eq(img + live_off + 4, pf.base + live_off + 4, used - live_off - 4);
	free(img);
	cr_assert_eq(live->state, LC_LIVE_RUNNING, "the snapshot changed the live profile");
	cr_assert_arr_eq(pf.base, before, sizeof(before));
	cr_assert_eq(pfile_used(&pf), used);
	void *more = pfile_record(&pf, 8);
	cr_assert_not_null(more, "the profile was sealed by a snapshot");
	pfile_publish(more, LC_REC_SLOT);
	pft_walk_file(&pf, NULL, NULL);
	assert_listing(dir, (const char *const[]){"prof.raw", "snap.raw", NULL});
}

/* A snapshot never replaces or follows what holds its name, and leaves no
 * temporary file; each one sees the records made since the last. */
Test(dumpclose, snapshots_never_overwrite_and_leave_no_temporary)
{
	char err[512], p[512], lnk[512];
	uint64_t n = make_profile(8 * PFILE_CHUNK);
	snprintf(lnk, sizeof(lnk), "%s/snap.raw.1", dir);
	cr_assert_eq(symlink("prof.raw", lnk), 0);
	cr_assert_eq(snapshot("snap.raw", err), 0, "%s", err);
	pfile_publish(pfile_record(&pf, 24), LC_REC_SLOT);
	in.totals.contentions = 99;
	cr_assert_eq(snapshot("snap.raw", err), 0, "%s", err);
	assert_listing(dir, (const char *const[]){"prof.raw", "snap.raw", "snap.raw.1",
	                                          "snap.raw.2", NULL});
	char target[64];
	ssize_t k = readlink(lnk, target, sizeof(target) - 1);
	cr_assert_eq(k, 8, "the symlink was replaced");
	size_t len;
	snprintf(p, sizeof(p), "%s/snap.raw.2", dir);
	uint8_t *img = read_whole(p, &len);
	assert_snapshot_closed(img, len, n + 1);
	free(img);
	/* the profile was not touched through the symlink */
	struct stat st;
	cr_assert_eq(stat(profile, &st), 0);
	cr_assert_eq(st.st_size, (off_t)pf.extent);
}

Test(dumpclose, snapshot_failure_is_one_line_naming_the_path)
{
	char err[512];
	make_profile(8 * PFILE_CHUNK);
	cr_assert_eq(snapshot("nope/snap.raw", err), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, "/nope/snap.raw"), "error does not name the path: %s", err);
	assert_listing(dir, (const char *const[]){"prof.raw", NULL});
	cr_assert_not_null(pfile_record(&pf, 8), "a failed snapshot sealed the profile");
}

Test(dumpclose, snapshot_with_every_name_taken_fails_cleanly)
{
	char err[512], name[64];
	make_profile(8 * PFILE_CHUNK);
	put_file("snap.raw", "0");
	for (int i = 1; i < 100; i++) {
		snprintf(name, sizeof(name), "snap.raw.%d", i);
		put_file(name, "x");
	}
	cr_assert_eq(snapshot("snap.raw", err), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, "/snap.raw"), "error does not name the target: %s", err);
	assert_content("snap.raw", "0");
	assert_content("snap.raw.99", "x");
	DIR *dp = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.' || strlen(e->d_name) > 2) {
			cr_assert(!strstr(e->d_name, ".tmp"), "a temporary file is left: %s",
			          e->d_name);
			files++;
		}
	closedir(dp);
	cr_assert_eq(files, 101, "%d files: the profile and the 100 names", files);
}
