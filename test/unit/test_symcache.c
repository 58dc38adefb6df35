/*
 * test_symcache.c — the resolver's cache (symcache.c, resolve.c): what a
 * resolver learnt answers the next one, without its files.
 *
 * The dump describes this test program as a copy of it in a temporary
 * directory, at this process's load bias, with one wait in
 * cached_wait_here() on the global cached_lock.  A profile built with a
 * cache names both; once the copy is deleted, a second profile built from
 * the same cache still does (no file is opened: every answer is cached),
 * while one built without it can only print module+offset and warns.  A
 * module whose file never existed is warned about once per cache, not once
 * per profile (lockcontend-top builds one every refresh).  Last, the hash
 * table under the cache and the profile (map64.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dumpread.h"
#include "map64.h"
#include "profile.h"
#include "resolve.h"
#include "symcache.h"
#include "unit/dumpbuild.h"
#include "viewkind.h"

pthread_mutex_t cached_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) int cached_wait_here(volatile int *x)
{
	for (int i = 0; i < 8; i++)
		*x += i * *x + 1;
	return *x;
}

static char dir[64], copy[128];
static struct dumpbuild b;

/* A MODULE record for this program, as `path`, if info is the program. */
static int add_program(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *path = arg;
	struct lc_rec_segment seg[LC_DUMP_MAX_SEGMENTS];
	uint8_t id[LC_DUMP_MAX_BUILD_ID];
	uint32_t n = 0;
	(void)size;
	if (info->dlpi_name[0])
		return 0;
	for (int i = 0; i < info->dlpi_phnum && n < LC_DUMP_MAX_SEGMENTS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD)
			seg[n++] = (struct lc_rec_segment){ph->p_vaddr, ph->p_memsz, ph->p_offset,
			                                   ph->p_flags, 0};
	}
	db_module(&b, info->dlpi_addr, seg, n, id, db_build_id(info, id), path);
	return 1;
}

static void copy_self(void)
{
	char cmd[512];
	snprintf(dir, sizeof(dir), "/tmp/lockcontend-test.XXXXXX");
	cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(copy, sizeof(copy), "%s/app", dir);
	snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe %s", (int)getpid(), copy);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* The dump: this program as its copy (and, with missing, a module whose
 * file does not exist), one wait in cached_wait_here on cached_lock. */
static void build(struct dump *d, bool missing)
{
	uint64_t pc = (uint64_t)(uintptr_t)cached_wait_here + 6;
	uint64_t lock = (uint64_t)(uintptr_t)&cached_lock;
	static const uint8_t fake_id[4] = {1, 2, 3, 4};
	static const struct lc_rec_segment fake_seg = {0x1000, 0x1000, 0, 5, 0};
	db_begin(&b, LC_DUMP_VERSION_MAJOR, copy, LC_META_STACKS, 0);
	cr_assert_eq(dl_iterate_phdr(add_program, copy), 1);
	uint64_t elsewhere = 0x7e0000001010;
	if (missing)
		db_module(&b, 0x7e0000000000, &fake_seg, 1, fake_id, 4, "/nonexistent/libgone.so");
	db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, lock, 1, 100, 100, 0, 0},
	          &pc, 1);
	if (missing)
		db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, lock, 1, 50, 50, 0, 0},
		          &elsewhere, 1);
	db_lock(&b, &(struct lc_rec_lock){lock, 0, 0, 0, LC_KIND_MUTEX, 1, .epoch = 0}, &pc);
	db_lost(&b, LC_VIEW_WAIT, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	char err[256];
	cr_assert_eq(dump_parse(b.buf, b.len, d, err, sizeof(err)), 0, "%s", err);
	db_free(&b);
}

/* Build a profile of d; *fn and *lock get the wait's function and lock
 * names (owned by p), warnings go to warn. */
static void names(struct profile *p, const struct dump *d, struct symcache *cache, FILE *warn,
                  const char **fn, const char **lock)
{
	struct resolve_opts o = {.demangle = true, .cache = cache};
	cr_assert_eq(profile_build(p, d, 1, &o, VIEWKIND_ALL_KINDS, warn), 0);
	*fn = *lock = NULL;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		const struct prof_location *l = &p->locations[s->locs[0]];
		if (s->view != LC_VIEW_WAIT || !s->lock || s->value[PROF_DELAY] != 100)
			continue;
		*lock = s->lock;
		*fn = l->nlines ? p->functions[l->lines[l->nlines - 1].function].name : "";
	}
	cr_assert(*fn && *lock, "no sample of the wait");
}

static void cleanup(void)
{
	unlink(copy);
	rmdir(dir);
}

TestSuite(symcache, .init = copy_self, .fini = cleanup);

Test(symcache, the_cache_names_what_the_deleted_file_named)
{
	struct symcache *cache = symcache_new();
	struct dump d1, d2, d3;
	struct profile p1, p2, p3;
	const char *fn, *lock;
	build(&d1, false);
	names(&p1, &d1, cache, NULL, &fn, &lock);
	cr_assert_str_eq(fn, "cached_wait_here");
	cr_assert_str_eq(lock, "cached_lock");

	cr_assert_eq(unlink(copy), 0);
	build(&d2, false);
	names(&p2, &d2, cache, NULL, &fn, &lock);
	cr_expect_str_eq(fn, "cached_wait_here", "the cache did not answer");
	cr_expect_str_eq(lock, "cached_lock", "the cache did not answer");

	char *log = NULL;
	size_t len = 0;
	FILE *warn = open_memstream(&log, &len);
	build(&d3, false);
	names(&p3, &d3, NULL, warn, &fn, &lock);
	fclose(warn);
	cr_expect_str_eq(fn, "", "without the cache nor the file, no name");
	cr_expect(strstr(log, "no file for "), "no warning: %s", log);
	free(log);
	profile_free(&p1);
	profile_free(&p2);
	profile_free(&p3);
	dump_free(&d1);
	dump_free(&d2);
	dump_free(&d3);
	symcache_free(cache);
}

/* The number of warnings two profiles of d give, with a cache or not. */
static size_t warnings_of_two(bool cached)
{
	struct symcache *cache = cached ? symcache_new() : NULL;
	char *log = NULL;
	size_t len = 0, n = 0;
	FILE *warn = open_memstream(&log, &len);
	for (int i = 0; i < 2; i++) {
		struct dump d;
		struct profile p;
		const char *fn, *lock;
		build(&d, true);
		names(&p, &d, cache, warn, &fn, &lock);
		cr_assert_str_eq(fn, "cached_wait_here");
		profile_free(&p);
		dump_free(&d);
	}
	fclose(warn);
	for (const char *s = log; (s = strstr(s, "libgone.so")); s++)
		n++;
	free(log);
	symcache_free(cache);
	return n;
}

Test(symcache, a_missing_file_is_warned_about_once_per_cache)
{
	cr_expect_eq(warnings_of_two(false), 2, "without a cache: once per profile");
	cr_expect_eq(warnings_of_two(true), 1, "with a cache: once");
}

/* A module is the same entry only if it is the same object at the same
 * place; answers are kept per entry. */
Test(symcache, modules_are_told_apart_by_place_and_build_id)
{
	struct lc_rec_segment seg = {0x1000, 0x1000, 0, 5, 0};
	struct dump_module a = {.load_bias = 0x400000, .build_id_len = 2, .build_id = {1, 2},
	                        .path = "/bin/app", .nsegments = 1, .segments = &seg};
	struct dump_module moved = a, rebuilt = a, again = a;
	moved.load_bias = 0x500000;
	rebuilt.build_id[1] = 3;
	struct symcache *c = symcache_new();
	struct symcache_module *ma = symcache_module(c, &a);
	cr_assert_not_null(ma);
	cr_expect_eq(ma->found, -1);
	cr_expect_eq(symcache_module(c, &again), ma);
	cr_expect_neq(symcache_module(c, &moved), ma);
	cr_expect_neq(symcache_module(c, &rebuilt), ma);

	const struct resolve_frame *got;
	char fn[32];
	for (uint64_t pc = 1; pc <= 10000; pc++) {
		snprintf(fn, sizeof(fn), "f%u", (unsigned)(pc % 100));
		struct resolve_frame f[2] = {{fn, fn, "a.c", (int)pc}, {"outer", "outer", "", 0}};
		cr_assert_eq(symcache_put_frames(c, ma, pc, f, pc % 3 ? 2 : 0), 0);
	}
	cr_expect_eq(symcache_frames(ma, 0, &got), -1);
	cr_expect_eq(symcache_frames(symcache_module(c, &moved), 7, &got), -1);
	for (uint64_t pc = 1; pc <= 10000; pc++) {
		int n = symcache_frames(ma, pc, &got);
		cr_assert_eq(n, pc % 3 ? 2 : 0, "pc %u", (unsigned)pc);
		snprintf(fn, sizeof(fn), "f%u", (unsigned)(pc % 100));
		if (n)
			cr_assert(!strcmp(got[0].function, fn) && got[0].line == (int)pc &&
			          !strcmp(got[1].function, "outer"));
	}
	int rc;
	const char *name;
	cr_expect(!symcache_data(ma, 0x400010, &rc, &name));
	cr_assert_eq(symcache_put_data(c, ma, 0x400010, 1, "table+0x10"), 0);
	cr_assert(symcache_data(ma, 0x400010, &rc, &name));
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(name, "table+0x10");
	symcache_free(c);
}

/* The tables under the cache and the profile: many keys (grown many
 * times), replaced values, absent keys, and key 0. */
Test(map64, keys_grow_replace_and_miss)
{
	struct map64 m = {0};
	uint32_t v = 7;
	cr_assert(!map64_get(&m, 0, &v) && v == 7, "an empty map has nothing");
	for (uint32_t i = 0; i < 100000; i++)
		cr_assert(map64_put(&m, (uint64_t)i * 4096, i));
	cr_assert(map64_put(&m, 4096, 42), "replaced");
	cr_assert_eq(m.n, 100000u);
	cr_assert(map64_get(&m, 0, &v) && v == 0);
	cr_assert(map64_get(&m, 4096, &v) && v == 42);
	cr_assert(map64_get(&m, 99999ull * 4096, &v) && v == 99999);
	cr_assert(!map64_get(&m, 4095, &v) && !map64_get(&m, 100000ull * 4096, &v));
	map64_free(&m);
	cr_assert(!map64_get(&m, 4096, &v) && m.cap == 0, "freed is empty again");
}
