/*
 * test_locknames.c — lock names (symbolize/locknames.c, resolve.c) from a
 * real ELF file: this test program itself.
 *
 * Its globals are the locks: cache_lock (named as is), pool_locks (an
 * array of 64-byte slots: the second lock is "pool_locks+0x40"), and a
 * global whose symbol is a C++ mangled name (demangled to ns::big_lock,
 * or kept with --no-demangle).  The dump describes this process's real
 * modules (dl_iterate_phdr, real build-ids), so libdwfl reads the real
 * symbol tables.  A heap lock is named by its address and the innermost
 * frame of its LOCK record's stack that is the program's own: a libc
 * frame and the pthread_*, __glibcxx_* and __gthread* wrappers around it
 * are passed over; with only such frames the innermost one names it;
 * without a LOCK record, the address alone.  A module whose build-id does
 * not match gives "module+0xoff" and one warning, never a wrong name.
 * profile_build gives every sample its lock's name and fills the lock
 * table, whose one-line stacks leave the same wrappers out.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "locknames.h"
#include "profile.h"
#include "report.h"
#include "resolve.h"
#include "unit/dumpbuild.h"
#include "viewkind.h"

/* ---- the locks and the functions that "contend" them ------------------------ */

pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

struct slot {
	pthread_mutex_t m;
	char pad[64 - sizeof(pthread_mutex_t)];
};
struct slot pool_locks[4];

pthread_mutex_t big_lock __asm__("_ZN2ns8big_lockE") = PTHREAD_MUTEX_INITIALIZER;

/* Kept out of line and non-trivial so that a pc inside each is theirs. */
__attribute__((noinline)) int lock_user(volatile int *x)
{
	for (int i = 0; i < 8; i++)
		*x += i * *x;
	return *x;
}

__attribute__((noinline)) int __gthread_helper_for_test(volatile int *x)
{
	for (int i = 0; i < 8; i++)
		*x ^= i + *x;
	return *x;
}

__attribute__((noinline)) int __glibcxx_helper_for_test(volatile int *x)
{
	for (int i = 0; i < 8; i++)
		*x |= i - *x;
	return *x;
}

__attribute__((noinline)) int pthread_helper_for_test(volatile int *x)
{
	for (int i = 0; i < 8; i++)
		*x -= i & *x;
	return *x;
}

/* A return address inside f (looked up at pc - 1). */
static uint64_t pc_in(const void *f)
{
	return (uint64_t)(uintptr_t)f + 6;
}

/* ---- the dump ---------------------------------------------------------------- */

static struct dumpbuild b;
static struct dump d;
static void *heap_lock, *bare_heap_lock;
static uint64_t user_stack[5], plumbing_only[2];

static void build(void)
{
	heap_lock = malloc(64);
	bare_heap_lock = malloc(64);
	user_stack[0] = pc_in((const void *)pthread_mutex_lock); /* in libc */
	user_stack[1] = pc_in((const void *)pthread_helper_for_test);
	user_stack[2] = pc_in((const void *)__glibcxx_helper_for_test);
	user_stack[3] = pc_in((const void *)__gthread_helper_for_test);
	user_stack[4] = pc_in((const void *)lock_user);
	plumbing_only[0] = user_stack[1];
	plumbing_only[1] = user_stack[0];
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/proc/self/exe", LC_META_STACKS | LC_META_HOLDER, 0);
	db_self_modules(&b);
	const uint64_t locks[] = {(uintptr_t)&cache_lock, (uintptr_t)&pool_locks[1].m,
	                          (uintptr_t)&big_lock, (uintptr_t)heap_lock,
	                          (uintptr_t)bare_heap_lock};
	for (size_t i = 0; i < sizeof(locks) / sizeof(locks[0]); i++)
		db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, locks[i], 1, 100, 100, 0, 0},
		          &user_stack[4], 1);
	db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, (uintptr_t)heap_lock, 1, 900,
	                                 900, 0, 0}, user_stack, 5);
	db_lock(&b, &(struct lc_rec_lock){(uintptr_t)heap_lock, 3, 0, 0, LC_KIND_MUTEX, 5,
	                                  .epoch = 0}, user_stack);
	db_lost(&b, LC_VIEW_WAIT, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	char err[256];
	cr_assert_eq(dump_parse(b.buf, b.len, &d, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	dump_free(&d);
	db_free(&b);
	free(heap_lock);
	free(bare_heap_lock);
}

TestSuite(locknames, .init = build, .fini = teardown);

/* The name locknames gives addr (its LOCK record: lock, may be NULL). */
static const char *name_of(uint64_t addr, const struct dump_lock *lock, bool demangle,
                           FILE *warn)
{
	static char buf[512];
	struct resolve_opts o = {.demangle = demangle};
	struct resolver *r = resolver_open(&d, &o, warn);
	cr_assert_not_null(r);
	locknames_name(r, &d, addr, lock, buf, sizeof(buf));
	resolver_close(r);
	return buf;
}

static const char *name_of_global(const void *addr)
{
	return name_of((uintptr_t)addr, NULL, true, NULL);
}

Test(locknames, global_is_named_by_its_symbol)
{
	cr_assert_str_eq(name_of_global(&cache_lock), "cache_lock");
}

Test(locknames, inside_a_global_array_is_symbol_plus_offset)
{
	cr_assert_str_eq(name_of_global(&pool_locks[1].m), "pool_locks+0x40");
	cr_assert_str_eq(name_of_global(&pool_locks[0].m), "pool_locks");
	cr_assert_str_eq(name_of_global((const char *)&pool_locks[3] + 8), "pool_locks+0xc8");
}

Test(locknames, cxx_names_are_demangled_unless_asked_not_to)
{
	cr_assert_str_eq(name_of_global(&big_lock), "ns::big_lock");
	cr_assert_str_eq(name_of((uintptr_t)&big_lock, NULL, false, NULL), "_ZN2ns8big_lockE");
}

Test(locknames, heap_lock_is_named_by_its_first_contender)
{
	char want[128];
	const struct dump_lock *rec = dump_lock_of(&d, (uintptr_t)heap_lock);
	cr_assert_not_null(rec);
	snprintf(want, sizeof(want), "0x%" PRIxPTR " (first contended in lock_user)",
	         (uintptr_t)heap_lock);
	cr_assert_str_eq(name_of((uintptr_t)heap_lock, rec, true, NULL), want);
}

/* Only libc and wrappers: the innermost frame is the name after all. */
Test(locknames, only_plumbing_falls_back_to_the_innermost_frame)
{
	char want[128];
	struct dump_lock rec = {.addr = (uintptr_t)heap_lock, .nframes = 2};
	memcpy(rec.pcs, plumbing_only, sizeof(plumbing_only));
	snprintf(want, sizeof(want), "0x%" PRIxPTR " (first contended in pthread_helper_for_test)",
	         (uintptr_t)heap_lock);
	cr_assert_str_eq(name_of((uintptr_t)heap_lock, &rec, true, NULL), want);
}

Test(locknames, heap_lock_without_record_is_its_address)
{
	char want[64];
	snprintf(want, sizeof(want), "0x%" PRIxPTR, (uintptr_t)bare_heap_lock);
	cr_assert_str_eq(name_of((uintptr_t)bare_heap_lock, NULL, true, NULL), want);
	struct dump_lock empty = {.addr = (uintptr_t)bare_heap_lock};
	cr_assert_str_eq(name_of((uintptr_t)bare_heap_lock, &empty, true, NULL), want);
}

/* A rebuilt program (another build-id) lends no names: module+0xoff and a
 * warning naming the file. */
Test(locknames, module_without_matching_build_id_gives_module_offset)
{
	char want[128], *log = NULL;
	size_t loglen = 0;
	cr_assert_gt(d.modules[0].build_id_len, 0, "this test program has no build-id");
	d.modules[0].build_id[0] ^= 0xff;
	const char *base = strrchr(d.modules[0].path, '/') + 1;
	snprintf(want, sizeof(want), "%s+%#" PRIx64, base,
	         (uint64_t)(uintptr_t)&cache_lock - d.modules[0].load_bias);
	FILE *warn = open_memstream(&log, &loglen);
	cr_assert_str_eq(name_of((uintptr_t)&cache_lock, NULL, true, warn), want);
	fclose(warn);
	cr_assert(strstr(log, d.modules[0].path) && strstr(log, "build-id"), "warning: %s", log);
	free(log);
}

/* ---- in the profile ------------------------------------------------------------ */

static const struct prof_lock *table_entry(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->nlocks; i++)
		if (strcmp(p->locks[i].name, name) == 0)
			return &p->locks[i];
	return NULL;
}

Test(locknames, profile_names_every_sample_and_fills_the_lock_table)
{
	struct profile p;
	struct resolve_opts o = {.demangle = true};
	cr_assert_eq(profile_build(&p, &d, 1, &o, VIEWKIND_ALL_KINDS, NULL), 0);
	cr_assert_eq(p.nlocks, 5);
	const struct prof_lock *cache = table_entry(&p, "cache_lock");
	cr_assert_not_null(cache);
	cr_assert_eq(cache->addr, (uintptr_t)&cache_lock);
	cr_assert_eq(cache->kinds, 1u << LC_KIND_MUTEX);
	cr_assert_not_null(table_entry(&p, "pool_locks+0x40"));
	cr_assert_not_null(table_entry(&p, "ns::big_lock"));
	size_t named = 0;
	for (size_t i = 0; i < p.nsamples; i++) {
		const struct prof_sample *s = &p.samples[i];
		if (s->view != LC_VIEW_WAIT)
			continue;
		const struct prof_lock *l = table_entry(&p, s->lock);
		cr_assert_not_null(l, "sample %zu: lock %s not in the table", i, s->lock);
		cr_assert_eq(l->name, s->lock, "one interned string for both");
		cr_assert_eq(s->lock_addr, l->addr);
		named++;
		if (s->lock_addr == (uintptr_t)heap_lock)
			cr_assert_eq(l->trylock_failures, 3, "the LOCK record's counters");
	}
	cr_assert_eq(named, 6);
	profile_free(&p);
}

/* The heap lock's top waiter (900 ns, through libc and three wrappers)
 * starts at lock_user in the lock details. */
Test(locknames, lock_details_leave_the_wrappers_out)
{
	struct profile p;
	struct resolve_opts o = {.demangle = true};
	cr_assert_eq(profile_build(&p, &d, 1, &o, VIEWKIND_ALL_KINDS, NULL), 0);
	const char *path = "x.raw";
	struct report_input in = {&p, &d, &path, 1, 20, PROF_DELAY, -1, NULL};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	report_locks_write(&in, f);
	fclose(f);
	const char *top = strstr(out, " 900 ns in 1 waits ");
	cr_assert_not_null(top, "%s", out);
	const char *frame = top + strlen(" 900 ns in 1 waits ");
	frame += strspn(frame, " ");
	cr_assert(strncmp(frame, "lock_user (test_locknames.c:", 28) == 0, "%s", top);
	cr_assert(!strstr(out, "helper_for_test"), "a wrapper in the lock details:\n%s", out);
	free(out);
	profile_free(&p);
}
