/*
 * test_pfile.c — the profile file's mapping and appender (preload/pfile.c).
 *
 * Tests: pfile_map writes the file header and gives the file its first
 * chunk (or the cap, if smaller); a record is appended PENDING, zeroed and
 * 8-aligned, and pfile_publish gives it its type; after any mix of records,
 * every byte below `used` is in a record with a whole head and the rest is
 * zeros (pfiletest.h walks it); the file grows in whole chunks on disk
 * before a byte of a chunk is handed out (a record straddling a chunk
 * boundary is written without SIGBUS; one record larger than a chunk takes
 * several); the cap is exact; RLIMIT_FSIZE below the next chunk fails the
 * append (EFBIG, kept: later appends fail too) and the program is not killed
 * by SIGXFSZ (in a forked child, whose fate the parent reads); seal makes
 * appends fail, pfile_seal_claim/pfile_seal_write then add whole records and store the
 * first head last (a reader spinning on that head sees the last byte
 * written when it sees the head); pfile_finish truncates the file to `used`
 * and closes it; a fork child maps a new file at the parent's address
 * (pfile_map with `at`) and never writes the parent's.  Eight threads
 * appending records of many sizes across several chunks, with a reader
 * walking the live file meanwhile: no record overlaps another, every head
 * below `used` is whole, and a published record is always complete.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pfiletest.h"

static struct pfile pf;
static char dir[64];

static void setup(void)
{
	memset(&pf, 0, sizeof(pf));
	strcpy(dir, "/tmp/lockcontend-pfile-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	pft_close(&pf);
	DIR *dp = opendir(dir);
	struct dirent *e;
	while (dp && (e = readdir(dp))) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(p);
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
}

TestSuite(pfile, .init = setup, .fini = teardown);

/* A new regular file in the test's directory, opened read-write; its
 * path in path_of (static: the last one made). */
static char path_of[512];
static int new_file(const char *name)
{
	snprintf(path_of, sizeof(path_of), "%s/%s", dir, name);
	int fd = open(path_of, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path_of, strerror(errno));
	return fd;
}

static off_t file_size(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

/* The extent pfile keeps on disk for `used`: its records and the closing
 * reserve, in whole chunks, at most the cap. */
static size_t extent_for(size_t used)
{
	size_t want = (used + PFILE_RESERVE + PFILE_CHUNK - 1) / PFILE_CHUNK * PFILE_CHUNK;
	return want < pf.cap ? want : pf.cap;
}

static uint64_t nrecords(void)
{
	return atomic_load(&pf.records);
}

static const struct lc_rec_head *head_of(const void *payload)
{
	return (const struct lc_rec_head *)payload - 1;
}

Test(pfile, map_writes_the_header_and_the_first_chunk)
{
	pft_open(&pf, 8 * PFILE_CHUNK);
	cr_assert_eq(pfile_used(&pf), sizeof(struct lc_dump_header));
	cr_assert_eq(pf.extent, PFILE_CHUNK);
	cr_assert_eq(file_size(pf.path), PFILE_CHUNK, "the first chunk is not on disk");
	cr_assert_eq(nrecords(), 0);
	struct pft_walk w = pft_walk_file(&pf, NULL, NULL);
	cr_assert_eq(w.records, 0);
	cr_assert(pfile_contains(&pf, pf.base) && pfile_contains(&pf, pf.base + pf.cap - 1));
	cr_assert(!pfile_contains(&pf, pf.base + pf.cap));
	pft_close(&pf);
	pft_open(&pf, 3 * 4096); /* a cap below one chunk: the file is the cap */
	cr_assert_eq(pf.extent, 3 * 4096);
	cr_assert_eq(file_size(pf.path), 3 * 4096);
}

Test(pfile, record_is_pending_zeroed_and_aligned_until_published)
{
	pft_open(&pf, 4 * PFILE_CHUNK);
	size_t before = pfile_used(&pf);
	uint8_t *p = pfile_record(&pf, 21);
	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % 8, 0, "payload not 8-aligned");
	cr_assert_eq(head_of(p)->type, LC_REC_PENDING);
	cr_assert_eq(head_of(p)->size, 21);
	cr_assert_eq((size_t)((char *)p - pf.base), before + sizeof(struct lc_rec_head));
	cr_assert_eq(pfile_used(&pf), before + 8 + 24, "used must cover head and padding");
	cr_assert(pft_zero(p, 24), "a new payload is not zeroed");
	cr_assert_eq(nrecords(), 1);
	memset(p, 0x77, 21);
	struct pft_walk w = pft_walk_file(&pf, NULL, NULL);
	cr_assert_eq(w.by_type[LC_REC_PENDING], 1, "an unpublished record must read PENDING");
	pfile_publish(p, LC_REC_SLOT);
	cr_assert_eq(head_of(p)->type, LC_REC_SLOT);
	cr_assert_eq(head_of(p)->size, 21, "publish changed the size");
	void *q = pfile_record(&pf, 0); /* an empty payload: a head alone */
	cr_assert_not_null(q);
	cr_assert_eq((uint8_t *)q, p + 24 + 8, "records are not back to back");
	pfile_publish(q, LC_REC_LIVE);
	w = pft_walk_file(&pf, NULL, NULL);
	cr_assert_eq(w.records, 2);
	cr_assert_eq(w.by_type[LC_REC_SLOT], 1);
	cr_assert_eq(w.by_type[LC_REC_LIVE], 1);
	cr_assert_eq(w.by_type[LC_REC_PENDING], 0);
	cr_assert_eq(w.end, pfile_used(&pf));
}

/* Records of sizes 0..200, every third left PENDING: the walk finds each
 * one where it was handed out, with its type and size, and nothing else. */
struct expect {
	size_t n, at;
	size_t off[600];
	uint32_t type[600], size[600];
};

static void expect_visit(const struct pft_rec *r, void *ctx)
{
	struct expect *x = ctx;
	cr_assert_lt(x->at, x->n, "more records than were appended");
	cr_assert_eq(r->off, x->off[x->at], "record %zu at %zu, not %zu", x->at, r->off,
	             x->off[x->at]);
	cr_assert_eq(r->type, x->type[x->at], "record %zu: type", x->at);
	cr_assert_eq(r->size, x->size[x->at], "record %zu: size", x->at);
	x->at++;
}

Test(pfile, every_byte_below_used_is_in_a_whole_record)
{
	static struct expect x;
	pft_open(&pf, 4 * PFILE_CHUNK);
	for (uint32_t i = 0; i < 600; i++) {
		uint32_t size = (i * 37) % 201;
		uint8_t *p = pfile_record(&pf, size);
		cr_assert_not_null(p);
		memset(p, 0xC3, size);
		x.off[i] = (size_t)((char *)p - pf.base) - sizeof(struct lc_rec_head);
		x.size[i] = size;
		x.type[i] = i % 3 == 0 ? LC_REC_PENDING : LC_REC_BUCKET + i % 2;
		if (x.type[i] != LC_REC_PENDING)
			pfile_publish(p, x.type[i]);
	}
	x.n = 600;
	struct pft_walk w = pft_walk_file(&pf, expect_visit, &x);
	cr_assert_eq(x.at, 600);
	cr_assert_eq(w.records, nrecords());
	cr_assert_eq(w.end, pfile_used(&pf));
}

/* The extent is always the used bytes rounded up to a chunk, and it is on
 * disk; a record across a chunk boundary can be written whole. */
static void assert_extent(void)
{
	size_t used = pfile_used(&pf);
	size_t want = extent_for(used);
	cr_assert_eq(pf.extent, want, "used %zu, extent %zu: expected %zu", used, pf.extent, want);
	cr_assert_eq(file_size(pf.path), (off_t)pf.extent, "the extent is not on disk");
}

Test(pfile, growth_in_chunks_crosses_chunk_boundaries)
{
	pft_open(&pf, 16 * PFILE_CHUNK);
	int straddled = 0;
	while (pfile_used(&pf) < 3 * PFILE_CHUNK + PFILE_CHUNK / 2) {
		uint8_t *p = pfile_record(&pf, 1000);
		cr_assert_not_null(p, "append failed at used %zu: error %d", pfile_used(&pf),
		                   pf.error);
		size_t start = (size_t)((char *)p - pf.base), end = start + 1000;
		if (start / PFILE_CHUNK != (end - 1) / PFILE_CHUNK)
			straddled++;
		memset(p, 0xEE, 1000); /* SIGBUS here if the chunk were not there */
		pfile_publish(p, LC_REC_SLOT);
		assert_extent();
	}
	cr_assert_geq(straddled, 2, "no record crossed a chunk boundary");
	/* The largest record a reader takes: the file grows by two chunks at
	 * once; a larger one is refused. */
	cr_assert_null(pfile_record(&pf, LC_DUMP_MAX_RECORD + 1));
	size_t big = LC_DUMP_MAX_RECORD;
	uint8_t *p = pfile_record(&pf, (uint32_t)big);
	cr_assert_not_null(p);
	memset(p, 0xDD, big);
	pfile_publish(p, LC_REC_BUCKET);
	assert_extent();
	cr_assert_eq(pf.extent, 5 * PFILE_CHUNK);
	struct pft_walk w = pft_walk_file(&pf, NULL, NULL);
	cr_assert_eq(w.by_type[LC_REC_BUCKET], 1);
	cr_assert_eq(w.records, nrecords());
	cr_assert_eq(pf.error, 0);
}

/* A cap that is not a multiple of the chunk: filled to the byte but for
 * the closing records' reserve, then every append fails and nothing is
 * written past it. */
Test(pfile, appends_fail_when_the_cap_is_reached)
{
	size_t cap = PFILE_CHUNK + 3 * 4096, limit = cap - PFILE_RESERVE;
	pft_open(&pf, cap);
	uint64_t n = 0;
	while (pfile_record(&pf, 4088))
		n++;
	size_t used = pfile_used(&pf);
	cr_assert_leq(used, limit);
	cr_assert_lt(limit - used, 4096, "an append failed with %zu bytes free", limit - used);
	cr_assert_eq(pf.extent, cap, "the last chunk is cut at the cap");
	cr_assert_eq(file_size(pf.path), (off_t)cap);
	/* what is left, to the byte */
	uint32_t rest = (uint32_t)(limit - used - sizeof(struct lc_rec_head));
	void *last = pfile_record(&pf, rest);
	cr_assert_not_null(last, "%u bytes fit exactly but were refused", rest);
	pfile_publish(last, LC_REC_SLOT);
	cr_assert_eq(pfile_used(&pf), limit);
	cr_assert_null(pfile_record(&pf, 0), "an append past the cap");
	cr_assert_null(pfile_record(&pf, 8));
	cr_assert_eq(pfile_used(&pf), limit);
	cr_assert_eq(nrecords(), n + 1);
	cr_assert_eq(pf.error, 0, "a full cap is no growth error");
	cr_assert(pf.full, "a full cap is not marked");
	struct pft_walk w = pft_walk_file(&pf, NULL, NULL);
	cr_assert_eq(w.records, n + 1);
	cr_assert_eq(w.end, limit);
	/* and the closing records still fit */
	int e;
	pfile_seal(&pf);
	cr_assert_neq(pfile_seal_claim(&pf, PFILE_RESERVE, &e), (size_t)-1, "no room to close");
}

/* ---- RLIMIT_FSIZE --------------------------------------------------------- */

/* Exit codes of the child below: 0 is success, others say what failed. */
enum {
	FSZ_OK = 0,
	FSZ_MAP = 10,      /* pfile_map failed under a limit above one chunk */
	FSZ_NO_FAIL,       /* appends went past the limit */
	FSZ_WRONG_PLACE,   /* they failed before the chunk boundary */
	FSZ_ERROR,         /* f->error is not EFBIG */
	FSZ_NOT_KEPT,      /* a small append that fits was allowed after the error */
	FSZ_GREW,          /* the file grew past the limit */
	FSZ_FIRST_CHUNK,   /* pfile_map under a limit below one chunk did not fail */
};

static int fsize_child(int fd, int fd2, const char *p1, const char *p2)
{
	struct rlimit rl = {PFILE_CHUNK + PFILE_CHUNK / 2, PFILE_CHUNK + PFILE_CHUNK / 2};
	struct pfile f;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return 99;
	if (pfile_map(&f, fd, p1, 8 * PFILE_CHUNK, NULL) != 0)
		return FSZ_MAP;
	while (pfile_record(&f, 4088))
		if (pfile_used(&f) > rl.rlim_cur)
			return FSZ_NO_FAIL;
	if (pfile_used(&f) + 4096 + PFILE_RESERVE <= PFILE_CHUNK)
		return FSZ_WRONG_PLACE;
	if (f.error != EFBIG)
		return FSZ_ERROR;
	if (pfile_record(&f, 0)) /* fits in the extent, but the error is kept */
		return FSZ_NOT_KEPT;
	struct stat st;
	if (stat(p1, &st) != 0 || st.st_size > (off_t)rl.rlim_cur)
		return FSZ_GREW;
	/* A limit below the first chunk: pfile_map itself fails. */
	rl.rlim_cur = PFILE_CHUNK / 2;
	struct pfile g;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return 99;
	if (pfile_map(&g, fd2, p2, 8 * PFILE_CHUNK, NULL) != EFBIG)
		return FSZ_FIRST_CHUNK;
	return FSZ_OK;
}

Test(pfile, fsize_limit_fails_appends_and_never_raises_sigxfsz)
{
	char p1[512];
	int fd = new_file("limited");
	snprintf(p1, sizeof(p1), "%s", path_of);
	int fd2 = new_file("limited2");
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(fsize_child(fd, fd2, p1, path_of));
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(!WIFSIGNALED(st), "the child was killed by signal %d (%s)", WTERMSIG(st),
	          strsignal(WTERMSIG(st)));
	cr_assert(WIFEXITED(st));
	cr_assert_neq(WEXITSTATUS(st), 99, "setrlimit failed in the child");
	cr_assert_eq(WEXITSTATUS(st), FSZ_OK, "child failed: code %d (see enum in the test)",
	             WEXITSTATUS(st));
	cr_assert_leq(file_size(p1), PFILE_CHUNK + PFILE_CHUNK / 2);
	close(fd);
	close(fd2);
}

/* ---- seal, closing records, finish ---------------------------------------- */

/* n bytes of records in buf: `count` records of `size`, types from t0. */
static size_t build_records(uint8_t *buf, uint32_t count, uint32_t size, uint32_t t0,
                            uint8_t fill)
{
	size_t n = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct lc_rec_head h = {t0 + i % 3, size};
		memcpy(buf + n, &h, sizeof(h));
		memset(buf + n + sizeof(h), fill, size);
		memset(buf + n + sizeof(h) + size, 0, lc_dump_pad(size) - size);
		n += sizeof(h) + lc_dump_pad(size);
	}
	return n;
}

Test(pfile, seal_fails_appends_and_sealed_appends_add_whole_records)
{
	pft_open(&pf, 4 * PFILE_CHUNK);
	void *p = pfile_record(&pf, 40);
	pfile_publish(p, LC_REC_META);
	size_t used = pfile_used(&pf);
	pfile_seal(&pf);
	cr_assert_null(pfile_record(&pf, 8), "an append after the seal");
	cr_assert_eq(pfile_used(&pf), used);
	cr_assert_eq(nrecords(), 1);
	uint8_t buf[1024];
	int e;
	size_t n = build_records(buf, 3, 60, LC_REC_LOST, 0x11);
	size_t off = pfile_seal_claim(&pf, n, &e);
	cr_assert_eq(off, used, "claimed at %zu, not at the end %zu", off, used);
	pfile_seal_write(&pf, off, buf, n);
	cr_assert_eq(pfile_used(&pf), used + n);
	cr_assert_arr_eq(pf.base + used, buf, n, "the sealed records were not copied as given");
	struct pft_walk w = pft_walk_file(&pf, NULL, NULL);
	cr_assert_eq(w.records, 4);
	cr_assert_eq(w.by_type[LC_REC_LOST] + w.by_type[LC_REC_TOTALS] + w.by_type[LC_REC_TRAILER],
	             3);
	cr_assert_null(pfile_record(&pf, 8), "still sealed");
}

Test(pfile, sealed_append_that_does_not_fit_changes_nothing)
{
	pft_open(&pf, 2 * 4096);
	int e;
	size_t used = pfile_used(&pf);
	pfile_seal(&pf);
	cr_assert_eq(pfile_seal_claim(&pf, PFILE_RESERVE + 8, &e), (size_t)-1,
	             "more than the reserve into a %zu-byte cap", pf.cap);
	cr_assert_eq(pfile_used(&pf), used);
	cr_assert_eq(nrecords(), 0);
	pft_walk_file(&pf, NULL, NULL); /* zeros after used: nothing copied */
}

/* A reader spinning on the first head of a sealed append: when it sees the
 * head's real type (PENDING while claimed), every byte after it must be
 * there (the head is stored last). */
struct spinner {
	const _Atomic uint32_t *head;
	const uint8_t *last;   /* the last payload byte of the append */
	_Atomic int ready;
	uint8_t want;
	bool saw_head, early;  /* early: the head was there before the last byte */
};

static void *spin_on_head(void *arg)
{
	struct spinner *s = arg;
	atomic_store(&s->ready, 1);
	for (long i = 0; i < 2000000000L; i++) {
		uint32_t type = atomic_load_explicit(s->head, memory_order_acquire);
		if (type != 0 && type != LC_REC_PENDING) {
			s->saw_head = true;
			s->early = *(volatile const uint8_t *)s->last != s->want;
			return NULL;
		}
	}
	return NULL;
}

Test(pfile, sealed_append_stores_the_first_head_last, .timeout = 60)
{
	static uint8_t buf[PFILE_RESERVE];
	pft_open(&pf, 32 * PFILE_CHUNK);
	pfile_seal(&pf);
	for (int round = 0; round < 12; round++) {
		uint8_t fill = (uint8_t)(0x40 + round);
		size_t n = build_records(buf, 8, 504, LC_REC_LOST, fill);
		size_t off = pfile_used(&pf);
		/* 4088 is a multiple of 8: the last byte is payload, not padding */
		struct spinner s = {.head = (const _Atomic uint32_t *)(pf.base + off),
		                    .last = (const uint8_t *)pf.base + off + n - 1, .want = fill};
		pthread_t th;
		cr_assert_eq(pthread_create(&th, NULL, spin_on_head, &s), 0);
		while (!atomic_load(&s.ready))
			;
		int e;
		cr_assert_eq(pfile_seal_claim(&pf, n, &e), off);
		pfile_seal_write(&pf, off, buf, n);
		pthread_join(th, NULL);
		cr_assert(s.saw_head);
		cr_assert(!s.early, "round %d: the first head was visible before the last byte",
		          round);
	}
	struct pft_walk w = pft_walk_file(&pf, NULL, NULL);
	cr_assert_eq(w.records, 12 * 8);
}

Test(pfile, finish_truncates_the_file_to_used_and_keeps_no_descriptor)
{
	char p[512];
	int fd = new_file("fin");
	snprintf(p, sizeof(p), "%s/fin", dir);
	cr_assert_eq(pfile_map(&pf, fd, p, 8 * PFILE_CHUNK, NULL), 0);
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "the mapping keeps a descriptor open");
	for (int i = 0; i < 300; i++)
		pfile_publish(pfile_record(&pf, 4000), LC_REC_BUCKET);
	size_t used = pfile_used(&pf);
	cr_assert_gt(pf.extent, used);
	cr_assert_eq(pfile_finish(&pf, used), 0);
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_size, (off_t)used, "size %lld, used %zu", (long long)st.st_size, used);
	/* the mapping stays: a late store below used is harmless */
	struct pft_walk w = pft_walk(pf.base, used, used, NULL, NULL);
	cr_assert_eq(w.records, 300);
	pf.base[used - 1] = 0;
	cr_assert_eq(pfile_finish(&pf, used), 0, "a second finish");
}

/* ---- a fork child's file, at the parent's address ------------------------- */

enum { AT_OK = 0, AT_MAP = 20, AT_ADDR, AT_OLD_VISIBLE, AT_RECORD, AT_PARENT_GONE };

static int at_child(void *at, const char *path_b)
{
	pfile_forget(&pf);
	int fd = open(path_b, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || pfile_map(&pf, fd, path_b, pf.cap, at) != 0)
		return AT_MAP;
	if (pf.base != at)
		return AT_ADDR;
	if (pfile_used(&pf) != sizeof(struct lc_dump_header) ||
	    !pft_zero((uint8_t *)at + 16, 4096))
		return AT_OLD_VISIBLE;
	uint64_t *r = pfile_record(&pf, 64);
	if ((char *)r != (char *)at + 16 + 8)
		return AT_RECORD;
	for (int i = 0; i < 8; i++)
		r[i] = 0xC0FFEE00u + (unsigned)i;
	pfile_publish(r, LC_REC_LOCK);
	return AT_OK;
}

Test(pfile, fork_child_maps_its_own_file_at_the_parent_address)
{
	char pb[512];
	snprintf(pb, sizeof(pb), "%s/child", dir);
	int pfd = new_file("parent");
	cr_assert_eq(pfile_map(&pf, pfd, path_of, 4 * PFILE_CHUNK, NULL), 0);
	uint64_t *r = pfile_record(&pf, 64);
	for (int i = 0; i < 8; i++)
		r[i] = 0xDADA0000u + (unsigned)i;
	pfile_publish(r, LC_REC_SLOT);
	static uint8_t before[8192];
	memcpy(before, pf.base, sizeof(before));
	size_t used = pfile_used(&pf);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(at_child(pf.base, pb));
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == AT_OK, "child: status %#x", st);
	cr_assert_arr_eq(pf.base, before, sizeof(before), "the child wrote the parent's file");
	cr_assert_eq(pfile_used(&pf), used);
	/* The child's file: the header and its one record, at the same offset. */
	int fd = open(pb, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	static uint8_t img[PFILE_CHUNK];
	cr_assert_eq(pread(fd, img, sizeof(img), 0), (ssize_t)sizeof(img));
	close(fd);
	struct pft_walk w = pft_walk(img, 16 + 8 + 64, sizeof(img), NULL, NULL);
	cr_assert_eq(w.records, 1);
	cr_assert_eq(w.by_type[LC_REC_LOCK], 1);
	uint64_t first;
	memcpy(&first, img + 24, 8);
	cr_assert_eq(first, 0xC0FFEE00u);
}

/* ---- threads ----------------------------------------------------------------- */

#define NWRITERS 8
#define PER_WRITER 20000
#define TYPE0 100 /* writer t publishes type TYPE0 + t */

/* Mostly small records, so appends are frequent and collide; every
 * sixteenth up to 600 bytes more, so the file crosses several chunks. */
static uint32_t rec_size(uint32_t t, uint32_t i)
{
	return 8 + (i % 16 ? i % 5 * 4 : (t * 7 + i * 13) % 600);
}

static uint8_t rec_fill(uint32_t t, uint32_t i)
{
	return (uint8_t)(t * 31 + i + 1);
}

struct writer {
	uint32_t id;
	pthread_barrier_t *start;
	struct reader *reader;
	uint32_t failed;
};

/* A reader walking the live file while the writers append. */
struct reader {
	_Atomic int stop, gone;
	_Atomic uint64_t walks;
	uint64_t seen_published, seen_pending;
	int bad;      /* first failure: 1..3 rec_check, 4 zero head, 5 past used */
	size_t bad_off;
};

/* Writer 0 waits halfway until the reader has made a whole walk begun after
 * that point, so at least one walk is of a live file holding records,
 * whatever the scheduler does: on a loaded machine the reader was once
 * first run after every writer had finished (r.walks was 0). */
static void writer_meet_reader(const struct writer *w, uint32_t i)
{
	if (w->id != 0 || i != PER_WRITER / 2)
		return;
	uint64_t n = atomic_load(&w->reader->walks);
	while (atomic_load(&w->reader->walks) < n + 2 && !atomic_load(&w->reader->gone))
		sched_yield();
}

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	pthread_barrier_wait(w->start);
	for (uint32_t i = 0; i < PER_WRITER; i++) {
		writer_meet_reader(w, i);
		uint32_t size = rec_size(w->id, i);
		uint8_t *p = pfile_record(&pf, size);
		if (!p) {
			w->failed++;
			continue;
		}
		uint64_t tag = (uint64_t)w->id << 32 | i;
		memcpy(p, &tag, 8);
		memset(p + 8, rec_fill(w->id, i), size - 8);
		pfile_publish(p, TYPE0 + w->id);
	}
	return NULL;
}

/* Is a published record what its writer wrote?  0 if so, else why. */
static int rec_check(uint32_t type, uint32_t size, const uint8_t *p)
{
	uint64_t tag;
	memcpy(&tag, p, 8);
	uint32_t t = (uint32_t)(tag >> 32), i = (uint32_t)tag;
	if (type != TYPE0 + t || t >= NWRITERS || i >= PER_WRITER)
		return 1;
	if (size != rec_size(t, i))
		return 2;
	for (uint32_t k = 8; k < size; k++)
		if (p[k] != rec_fill(t, i))
			return 3;
	return 0;
}

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	while (!atomic_load(&r->stop) && !r->bad) {
		size_t used = pfile_used(&pf), off = sizeof(struct lc_dump_header);
		while (off < used && !r->bad) {
			const struct lc_rec_head *h = (const struct lc_rec_head *)(pf.base + off);
			const _Atomic uint32_t *tp = (const _Atomic uint32_t *)&h->type;
			uint32_t type = atomic_load_explicit(tp, memory_order_acquire);
			uint32_t size = h->size;
			if (type == 0) {
				r->bad = 4;
			} else if (off + 8 + lc_dump_pad(size) > used) {
				r->bad = 5;
			} else if (type == LC_REC_PENDING) {
				r->seen_pending++;
			} else {
				r->seen_published++;
				r->bad = rec_check(type, size, (const uint8_t *)(h + 1));
			}
			if (r->bad)
				r->bad_off = off;
			off += 8 + lc_dump_pad(size);
		}
		atomic_fetch_add(&r->walks, 1);
	}
	atomic_store(&r->gone, 1);
	return NULL;
}

struct tally {
	uint8_t seen[NWRITERS][PER_WRITER];
	int bad;
	size_t bad_off;
};

static void tally_visit(const struct pft_rec *rec, void *ctx)
{
	struct tally *t = ctx;
	int why = rec_check(rec->type, rec->size, rec->payload);
	if (why && !t->bad) {
		t->bad = why;
		t->bad_off = rec->off;
	}
	if (!why) {
		uint64_t tag;
		memcpy(&tag, rec->payload, 8);
		t->seen[tag >> 32][(uint32_t)tag]++;
	}
}

/* One race on a fresh file: eight writers, one live reader, then a walk. */
static void race_round(int round)
{
	static struct tally t;
	memset(&t, 0, sizeof(t));
	pft_open(&pf, 32 * PFILE_CHUNK);
	pthread_t th[NWRITERS], rd;
	struct writer w[NWRITERS];
	struct reader r = {0};
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, NWRITERS);
	cr_assert_eq(pthread_create(&rd, NULL, reader_run, &r), 0);
	for (uint32_t i = 0; i < NWRITERS; i++) {
		w[i] = (struct writer){.id = i, .start = &start, .reader = &r};
		cr_assert_eq(pthread_create(&th[i], NULL, writer_run, &w[i]), 0);
	}
	for (int i = 0; i < NWRITERS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].failed, 0, "writer %d: %u appends failed (error %d, full %d, mine %d)",
		             i, w[i].failed, pf.error, pf.full, pfile_mine(&pf));
	}
	atomic_store(&r.stop, 1);
	pthread_join(rd, NULL);
	pthread_barrier_destroy(&start);
	cr_assert_eq(r.bad, 0, "round %d: the live reader found %s at offset %zu", round,
	             r.bad == 4 ? "a zero head below used"
	             : r.bad == 5 ? "a record past used"
	                          : "a published record not as written",
	             r.bad_off);
	cr_assert_gt(r.walks, 0);
	cr_assert_gt(r.seen_published, 0, "the reader's walks saw no record");
	struct pft_walk wk = pft_walk_file(&pf, tally_visit, &t);
	cr_assert_eq(t.bad, 0, "round %d: record at %zu is not as written (%d): records overlap",
	             round, t.bad_off, t.bad);
	cr_assert_eq(wk.records, (uint64_t)NWRITERS * PER_WRITER, "round %d", round);
	cr_assert_eq(wk.other, (uint64_t)NWRITERS * PER_WRITER, "a record was left PENDING");
	cr_assert_eq(nrecords(), wk.records);
	for (int i = 0; i < NWRITERS; i++)
		for (int k = 0; k < PER_WRITER; k++)
			cr_assert_eq(t.seen[i][k], 1, "writer %d record %d seen %d times", i, k,
			             t.seen[i][k]);
	cr_assert_gt(pfile_used(&pf), 4 * PFILE_CHUNK, "the test did not cross chunks");
	cr_assert_eq(pf.extent, extent_for(pfile_used(&pf)));
	pft_close(&pf);
}

/* Without the append flag, 5 of 6 single rounds failed on a 2-CPU machine:
 * five rounds. */
Test(pfile, concurrent_appends_never_overlap, .timeout = 60)
{
	for (int round = 0; round < 5; round++)
		race_round(round);
}
