/*
 * test_locknames.c — lock names (symbolize/locknames.c, resolve.c,
 * profile.c) from a real ELF file: this test program itself.
 *
 * Its globals are the locks: cache_lock (named as is), pool_locks (an
 * array of 64-byte slots: the second lock is "pool_locks+0x40"), and a
 * global whose symbol is a C++ mangled name (demangled to ns::big_lock,
 * or kept with --no-demangle).  The dump describes this process's real
 * modules (dl_iterate_phdr, real build-ids), so libdwfl reads the real
 * symbol tables, and its stacks are return addresses inside this file's
 * functions.  Heap locks (malloc'd blocks, in no module) are named after
 * the program's frame of their stacks (locknames.h), each a case:
 *   - made in: a LOCK_INIT stack wins over the LOCK record's, and a global
 *     stays its symbol even with one;
 *   - plumbing passed over: libc, pthread_*, __glibcxx_*, __gthread*; with
 *     only plumbing, the innermost frame; without a stack, the address;
 *   - the program's wrappers, found from the stacks, both ways: a function
 *     that is the first own frame for two locks from two callers is one
 *     (wrap_lock, the init wrapper mutex_ctor, and guard_ctor, a wrapper of
 *     wrap_lock found in a second round); one lock from two callers
 *     (lone_wrap), or two locks from one caller (shard_init), is not;
 *   - the one pc rule: a frame without a name is module+0xoffset of pc - 1
 *     in the lock's name as in the report's frames.
 * A module whose build-id does not match gives "module+0xoff" and one
 * warning, never a wrong name.  profile_build gives every sample its
 * lock's name and fills the lock table, whose one-line stacks leave the
 * same wrappers out.
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

/* ---- the locks and the functions that "contend" and make them ---------------- */

pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

struct slot {
	pthread_mutex_t m;
	char pad[64 - sizeof(pthread_mutex_t)];
};
struct slot pool_locks[4];

pthread_mutex_t big_lock __asm__("_ZN2ns8big_lockE") = PTHREAD_MUTEX_INITIALIZER;

/* Kept out of line and non-trivial so that a pc inside each is theirs. */
#define FUNCTION(name, op)                                      \
	__attribute__((noinline)) int name(volatile int *x)     \
	{                                                       \
		for (int i = 0; i < 8; i++)                     \
			*x op i + *x;                           \
		return *x;                                      \
	}

FUNCTION(lock_user, +=)
FUNCTION(__gthread_helper_for_test, ^=)
FUNCTION(__glibcxx_helper_for_test, |=)
FUNCTION(pthread_helper_for_test, -=)
FUNCTION(wrap_lock, *=)
FUNCTION(guard_ctor, &=)
FUNCTION(lone_wrap, +=)
FUNCTION(user_a, -=)
FUNCTION(user_b, ^=)
FUNCTION(user_c, |=)
FUNCTION(user_d, *=)
FUNCTION(shard_init, &=)
FUNCTION(cache_init, +=)
FUNCTION(mutex_ctor, -=)
FUNCTION(maker_one, ^=)
FUNCTION(maker_two, |=)

/* A return address inside f (looked up at pc - 1). */
static uint64_t pc_in(int (*f)(volatile int *))
{
	return (uint64_t)(uintptr_t)f + 6;
}

/* ---- the dump ---------------------------------------------------------------- */

enum heap {
	H_USER,     /* libc and three named wrappers, then lock_user */
	H_BARE,     /* no LOCK record */
	H_EMPTY,    /* a LOCK record without frames */
	H_PLUMBING, /* only plumbing */
	H_W1,       /* wrap_lock < user_a */
	H_W2,       /* wrap_lock < user_b */
	H_LONE,     /* lone_wrap < user_a, and < user_b: one lock */
	H_S1,       /* made: shard_init < cache_init */
	H_S2,       /* made: shard_init < cache_init */
	H_M1,       /* made: mutex_ctor < maker_one; contended in lock_user */
	H_M2,       /* made: mutex_ctor < maker_two */
	H_G1,       /* wrap_lock < guard_ctor < user_c */
	H_G2,       /* wrap_lock < guard_ctor < user_d */
	NHEAP
};

static struct dumpbuild b;
static struct dump d;
static void *heap[NHEAP];
static uint64_t user_stack[5];

static uint64_t heap_at(enum heap h)
{
	return (uintptr_t)heap[h];
}

/* A LOCK record with its first stack (n frames of pcs). */
static void lock_rec(uint64_t addr, const uint64_t *pcs, uint32_t n)
{
	db_lock(&b, &(struct lc_rec_lock){addr, 3, 0, 0, LC_KIND_MUTEX, n, .epoch = 0}, pcs);
}

static void wait_bucket(uint64_t addr, uint64_t delay, const uint64_t *pcs, uint32_t n)
{
	db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, addr, 1, delay, delay, 0, 0},
	          pcs, n);
}

static void stacks_of_heap_locks(void)
{
	uint64_t w1[] = {pc_in(wrap_lock), pc_in(user_a)}, w2[] = {pc_in(wrap_lock), pc_in(user_b)};
	uint64_t l1[] = {pc_in(lone_wrap), pc_in(user_a)}, l2[] = {pc_in(lone_wrap), pc_in(user_b)};
	uint64_t s[] = {pc_in(shard_init), pc_in(cache_init)};
	uint64_t m1[] = {pc_in(mutex_ctor), pc_in(maker_one)};
	uint64_t m2[] = {pc_in(mutex_ctor), pc_in(maker_two)};
	uint64_t g1[] = {pc_in(wrap_lock), pc_in(guard_ctor), pc_in(user_c)};
	uint64_t g2[] = {pc_in(wrap_lock), pc_in(guard_ctor), pc_in(user_d)};
	lock_rec(heap_at(H_USER), user_stack, 5);
	lock_rec(heap_at(H_EMPTY), NULL, 0);
	lock_rec(heap_at(H_PLUMBING), (uint64_t[]){user_stack[1], user_stack[0]}, 2);
	lock_rec(heap_at(H_W1), w1, 2);
	lock_rec(heap_at(H_W2), w2, 2);
	wait_bucket(heap_at(H_W1), 800, w1, 2);
	lock_rec(heap_at(H_LONE), l1, 2);
	wait_bucket(heap_at(H_LONE), 10, l2, 2);
	/* as the writer does: a LOCK record, then the LOCK_INIT record */
	lock_rec(heap_at(H_S1), NULL, 0);
	db_lock_init(&b, heap_at(H_S1), 0, s, 2);
	lock_rec(heap_at(H_S2), NULL, 0);
	db_lock_init(&b, heap_at(H_S2), 0, s, 2);
	lock_rec(heap_at(H_M1), &user_stack[4], 1);
	db_lock_init(&b, heap_at(H_M1), 0, m1, 2);
	lock_rec(heap_at(H_M2), NULL, 0);
	db_lock_init(&b, heap_at(H_M2), 0, m2, 2);
	db_lock_init(&b, (uintptr_t)&cache_lock, 0, m2, 2);
	lock_rec(heap_at(H_G1), g1, 3);
	lock_rec(heap_at(H_G2), g2, 3);
}

static void build(void)
{
	for (int h = 0; h < NHEAP; h++)
		heap[h] = malloc(64);
	user_stack[0] = pc_in((int (*)(volatile int *))(void *)pthread_mutex_lock); /* in libc */
	user_stack[1] = pc_in(pthread_helper_for_test);
	user_stack[2] = pc_in(__glibcxx_helper_for_test);
	user_stack[3] = pc_in(__gthread_helper_for_test);
	user_stack[4] = pc_in(lock_user);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/proc/self/exe", LC_META_STACKS | LC_META_HOLDER, 0);
	db_self_modules(&b);
	const uint64_t globals[] = {(uintptr_t)&cache_lock, (uintptr_t)&pool_locks[1].m,
	                            (uintptr_t)&big_lock, heap_at(H_USER), heap_at(H_BARE)};
	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		wait_bucket(globals[i], 100, &user_stack[4], 1);
	wait_bucket(heap_at(H_USER), 900, user_stack, 5);
	stacks_of_heap_locks();
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
	for (int h = 0; h < NHEAP; h++)
		free(heap[h]);
}

TestSuite(locknames, .init = build, .fini = teardown);

/* ---- the names in the profile ---------------------------------------------------- */

static struct profile prof;

static void profile_of(bool demangle, FILE *warn)
{
	struct resolve_opts o = {.demangle = demangle};
	cr_assert_eq(profile_build(&prof, &d, 1, &o, VIEWKIND_ALL_KINDS, warn), 0);
}

/* The name the lock table gives the lock at addr. */
static const char *table_name(uint64_t addr)
{
	for (size_t i = 0; i < prof.nlocks; i++)
		if (prof.locks[i].addr == addr)
			return prof.locks[i].name;
	cr_assert_fail("no lock at %#" PRIx64 " in the table", addr);
	return NULL;
}

/* The name of a lock, with the profile built as asked. */
static const char *name_of(uint64_t addr, bool demangle, FILE *warn)
{
	static char buf[512];
	profile_of(demangle, warn);
	snprintf(buf, sizeof(buf), "%s", table_name(addr));
	profile_free(&prof);
	return buf;
}

/* "0x<heap lock> (how fn)" */
static void expect_heap(enum heap h, const char *how, const char *fn)
{
	char want[256];
	snprintf(want, sizeof(want), "0x%" PRIx64 " (%s %s)", heap_at(h), how, fn);
	cr_expect_str_eq(table_name(heap_at(h)), want, "heap lock %d", h);
}

static bool function_is_wrapper(const char *name)
{
	bool found = false, wrapper = false;
	for (size_t i = 0; i < prof.nfunctions; i++) {
		if (strcmp(prof.functions[i].name, name) != 0)
			continue;
		found = true;
		wrapper |= prof.functions[i].wrapper;
	}
	cr_assert(found, "no function %s in the profile", name);
	return wrapper;
}

Test(locknames, global_is_named_by_its_symbol_even_with_an_init_site)
{
	cr_assert_str_eq(name_of((uintptr_t)&cache_lock, true, NULL), "cache_lock");
}

Test(locknames, inside_a_global_array_is_symbol_plus_offset)
{
	cr_assert_str_eq(name_of((uintptr_t)&pool_locks[1].m, true, NULL), "pool_locks+0x40");
}

Test(locknames, cxx_names_are_demangled_unless_asked_not_to)
{
	cr_assert_str_eq(name_of((uintptr_t)&big_lock, true, NULL), "ns::big_lock");
	cr_assert_str_eq(name_of((uintptr_t)&big_lock, false, NULL), "_ZN2ns8big_lockE");
}

Test(locknames, heap_lock_is_named_by_its_first_contender_past_the_plumbing)
{
	profile_of(true, NULL);
	expect_heap(H_USER, "first contended in", "lock_user");
	/* only libc and wrappers: the innermost frame of the program's */
	expect_heap(H_PLUMBING, "first contended in", "pthread_helper_for_test");
	profile_free(&prof);
}

Test(locknames, heap_lock_without_a_stack_is_its_address)
{
	char want[64];
	profile_of(true, NULL);
	snprintf(want, sizeof(want), "0x%" PRIx64, heap_at(H_BARE));
	cr_expect_str_eq(table_name(heap_at(H_BARE)), want, "no LOCK record");
	snprintf(want, sizeof(want), "0x%" PRIx64, heap_at(H_EMPTY));
	cr_expect_str_eq(table_name(heap_at(H_EMPTY)), want, "a LOCK record without frames");
	profile_free(&prof);
}

/* A LOCK_INIT stack names a heap lock "made in", over its first stack. */
Test(locknames, heap_lock_with_an_init_site_is_named_where_it_was_made)
{
	profile_of(true, NULL);
	expect_heap(H_M1, "made in", "maker_one");
	expect_heap(H_M2, "made in", "maker_two");
	profile_free(&prof);
}

/* Two locks, two callers: a wrapper, passed over; one lock from two
 * callers, or two locks from one caller: no wrapper. */
Test(locknames, program_wrappers_are_found_from_the_stacks_both_ways)
{
	profile_of(true, NULL);
	expect_heap(H_W1, "first contended in", "user_a");
	expect_heap(H_W2, "first contended in", "user_b");
	cr_expect(function_is_wrapper("wrap_lock"));
	cr_expect(function_is_wrapper("mutex_ctor"), "an init wrapper");
	expect_heap(H_LONE, "first contended in", "lone_wrap");
	cr_expect(!function_is_wrapper("lone_wrap"), "one lock");
	expect_heap(H_S1, "made in", "shard_init");
	expect_heap(H_S2, "made in", "shard_init");
	cr_expect(!function_is_wrapper("shard_init"), "one caller");
	cr_expect(!function_is_wrapper("user_a") && !function_is_wrapper("maker_one"));
	profile_free(&prof);
}

/* guard_ctor calls only wrap_lock: once wrap_lock is passed over, it is
 * the first own frame of two locks from two callers. */
Test(locknames, a_wrapper_of_a_wrapper_is_found_in_a_second_round)
{
	profile_of(true, NULL);
	cr_expect(function_is_wrapper("guard_ctor"));
	expect_heap(H_G1, "first contended in", "user_c");
	expect_heap(H_G2, "first contended in", "user_d");
	profile_free(&prof);
}

/* The pure rule, on the profile: no wrapper without two stacks. */
Test(locknames, find_wrappers_needs_two_locks_and_two_callers)
{
	profile_of(true, NULL);
	bool *w = calloc(prof.nfunctions, sizeof(*w));
	cr_assert_eq(locknames_find_wrappers(&prof, NULL, 0, w), 0);
	for (size_t i = 0; i < prof.nfunctions; i++)
		cr_expect(!w[i], "%s found a wrapper without stacks", prof.functions[i].name);
	free(w);
	profile_free(&prof);
}

/* A rebuilt program (another build-id) lends no names: module+0xoff and a
 * warning naming the file; a frame without a name is labelled at pc - 1 in
 * a lock's name and in the report's frames alike (before, the lock said
 * +0x...1 where its frame said +0x...2). */
Test(locknames, module_without_matching_build_id_gives_module_offset_at_pc_minus_one)
{
	char want[512], label[256], *log = NULL;
	size_t loglen = 0;
	cr_assert_gt(d.modules[0].build_id_len, 0, "this test program has no build-id");
	d.modules[0].build_id[0] ^= 0xff;
	const char *base = strrchr(d.modules[0].path, '/') + 1;
	FILE *warn = open_memstream(&log, &loglen);
	profile_of(true, warn);
	fclose(warn);
	snprintf(want, sizeof(want), "%s+%#" PRIx64, base,
	         (uint64_t)(uintptr_t)&cache_lock - d.modules[0].load_bias);
	cr_expect_str_eq(table_name((uintptr_t)&cache_lock), want);
	cr_assert(strstr(log, d.modules[0].path) && strstr(log, "build-id"), "warning: %s", log);
	/* user_stack[1] is the first frame past libc: unnamed now */
	snprintf(label, sizeof(label), "%s+%#" PRIx64, base,
	         user_stack[1] - 1 - d.modules[0].load_bias);
	snprintf(want, sizeof(want), "0x%" PRIx64 " (first contended in %s)", heap_at(H_PLUMBING),
	         label);
	cr_expect_str_eq(table_name(heap_at(H_PLUMBING)), want);
	bool printed = false;
	for (size_t i = 0; i < prof.nlocations; i++) {
		char l[256];
		if (prof.locations[i].address != user_stack[1])
			continue;
		profile_location_label(&prof, &prof.locations[i], l, sizeof(l));
		cr_expect_str_eq(l, label, "the frame's label");
		printed = true;
	}
	cr_expect(printed, "no location at user_stack[1]");
	profile_free(&prof);
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
	cr_assert_eq(p.nlocks, 3 + NHEAP);
	const struct prof_lock *cache = table_entry(&p, "cache_lock");
	cr_assert_not_null(cache);
	cr_assert_eq(cache->addr, (uintptr_t)&cache_lock);
	cr_assert_eq(cache->kinds, 1u << LC_KIND_MUTEX);
	cr_assert_not_null(table_entry(&p, "pool_locks+0x40"));
	cr_assert_not_null(table_entry(&p, "ns::big_lock"));
	size_t named = 0;
	for (size_t i = 0; i < p.nsamples; i++) {
		const struct prof_sample *s = &p.samples[i];
		if (s->view != LC_VIEW_WAIT || s->kind == PROF_KIND_NONE)
			continue;
		cr_assert_not_null(s->lock, "sample %zu has no lock name", i);
		const struct prof_lock *l = table_entry(&p, s->lock);
		cr_assert_not_null(l, "sample %zu: lock %s not in the table", i, s->lock);
		cr_assert_eq(l->name, s->lock, "one interned string for both");
		cr_assert_eq(s->lock_addr, l->addr);
		named++;
		if (s->lock_addr == heap_at(H_USER))
			cr_assert_eq(l->trylock_failures, 3, "the LOCK record's counters");
	}
	cr_assert_eq(named, 8);
	profile_free(&p);
}

/* The lock details' one-line stacks start at the program's own frame:
 * H_USER's top waiter (900 ns, through libc and three named wrappers) at
 * lock_user, H_W1's (800 ns, through wrap_lock) at user_a. */
Test(locknames, lock_details_leave_the_wrappers_out)
{
	struct profile p;
	struct resolve_opts o = {.demangle = true};
	cr_assert_eq(profile_build(&p, &d, 1, &o, VIEWKIND_ALL_KINDS, NULL), 0);
	const char *path = "x.raw";
	struct report_input in = {&p, &d, &path, 1, 20, PROF_DELAY, -1, NULL, 0, false, 0, NULL};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	report_locks_write(&in, f);
	fclose(f);
	const char *want[][2] = {{" 900 ns in 1 waits ", "lock_user (test_locknames.c:"},
	                         {" 800 ns in 1 waits ", "user_a (test_locknames.c:"}};
	for (size_t i = 0; i < 2; i++) {
		const char *top = strstr(out, want[i][0]);
		cr_assert_not_null(top, "%s", out);
		const char *frame = top + strlen(want[i][0]);
		frame += strspn(frame, " ");
		cr_expect(strncmp(frame, want[i][1], strlen(want[i][1])) == 0, "%s", top);
	}
	for (const char *l = strstr(out, "top waiter"); l; l = strstr(l + 1, "top waiter")) {
		const char *frame = strstr(l, " waits ");
		cr_assert_not_null(frame);
		frame += strlen(" waits ") + strspn(frame + strlen(" waits "), " ");
		size_t first = strcspn(frame, " \n"); /* the first frame's name */
		cr_expect(!memmem(frame, first, "helper_for_test", 15),
		          "a named wrapper first: %.*s", (int)strcspn(l, "\n"), l);
		cr_expect(strncmp(frame, "wrap_lock", 9) != 0, "a found wrapper first: %.*s",
		          (int)strcspn(l, "\n"), l);
	}
	free(out);
	profile_free(&p);
}
