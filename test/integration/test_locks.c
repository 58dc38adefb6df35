/*
 * test_locks.c — locks by name: the text report's lock table and pprof labels.
 *
 * A lock that is a global or static is named by its ELF symbol (plus an
 * offset inside an array), any other by its address and the function that
 * made it (its pthread_mutex_init), or with LOCKCONTEND=inits=0 the
 * function that first waited for it, past the program's lock wrappers
 * (lock_makers.cpp: a wrapper class, an init function, static
 * initialisers, overloads).  The fixtures contend known locks for known times;
 * the text report's lock table must name each one, with its contentions
 * and wait (within 10% of what the program measured), its failed trylocks
 * and timed-out timedlocks, per lock; pprof output carries "lock" and
 * "kind" labels that `go tool pprof -tags` lists and `-tagfocus` filters
 * on (Debian's golang-go, installed by make deps).
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

/* ---- the text report's lock table --------------------------------------------- */

/* One row of "Locks by wait": durations in ns, UINT64_MAX where it says "-". */
struct lock_row {
	uint64_t wait_ns, contentions, avg_wait_ns, max_wait_ns, timeouts, trylock_failures;
	uint64_t avg_hold_ns, max_hold_ns;
	char kind[16];
	char name[256];
};

/* A duration as the text report prints it ("230 ns", "31.93 ms", "-") at
 * *p; advances *p past it.  False if there is none. */
static bool parse_duration(const char **p, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char unit[8];
	double v;
	int n = 0;
	while (**p == ' ')
		(*p)++;
	if (**p == '-' && ((*p)[1] == ' ' || (*p)[1] == '\0')) {
		*ns = UINT64_MAX;
		(*p)++;
		return true;
	}
	if (sscanf(*p, "%lf %7s%n", &v, unit, &n) != 2)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].unit) == 0) {
			*ns = (uint64_t)(v * units[i].scale + 0.5);
			*p += n;
			return true;
		}
	return false;
}

static bool parse_count(const char **p, uint64_t *v)
{
	unsigned long long x;
	int n = 0;
	if (sscanf(*p, " %llu%n", &x, &n) != 1)
		return false;
	*v = x;
	*p += n;
	return true;
}

/* "wait wait% contentions avg max timeouts trylock avg-hold max-hold kind lock" */
static bool parse_lock_row(const char *line, struct lock_row *row)
{
	const char *p = line;
	double pct;
	int n = 0, k = 0;
	if (!parse_duration(&p, &row->wait_ns) || sscanf(p, " %lf%%%n", &pct, &n) != 1)
		return false;
	p += n;
	if (!parse_count(&p, &row->contentions) || !parse_duration(&p, &row->avg_wait_ns) ||
	    !parse_duration(&p, &row->max_wait_ns) || !parse_count(&p, &row->timeouts) ||
	    !parse_count(&p, &row->trylock_failures) || !parse_duration(&p, &row->avg_hold_ns) ||
	    !parse_duration(&p, &row->max_hold_ns) || sscanf(p, " %15s %n", row->kind, &k) != 1)
		return false;
	snprintf(row->name, sizeof(row->name), "%s", p + k);
	return row->name[0] != '\0';
}

/* The row of the lock named `name` in the text report's lock table. */
static bool lock_row(const char *report, const char *name, struct lock_row *row)
{
	const char *s = strstr(report, "\nLocks by");
	cr_assert(s != NULL, "no lock table (\"Locks by ...\") in:\n%s", report);
	s = strchr(s + 1, '\n'); /* the title */
	s = s ? strchr(s + 1, '\n') : NULL; /* the column heads */
	for (const char *p = s ? s + 1 : ""; *p && *p != '\n';) {
		size_t len = strcspn(p, "\n");
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		cr_assert(parse_lock_row(line, row), "cannot read lock table row '%s'", line);
		if (strcmp(row->name, name) == 0)
			return true;
		p += len + (p[len] == '\n');
	}
	return false;
}

static void text_report(const char *dump, struct run_result *r)
{
	harness_symbolize((const char *[]){"--top=50", dump, NULL}, r);
	cr_assert_eq(r->exit_code, 0, "lockcontend-symbolize %s: exit %d\n%s", dump, r->exit_code,
	             r->err);
}

/* ---- names ------------------------------------------------------------------------ */

struct named_locks {
	char dump[PATH_MAX];
	char names[3][128]; /* cache_lock, pool_locks+0x.., 0x... (made in ...) */
	uint64_t waited[3];
	uint64_t delayed[3]; /* the waiting thread's run delay over each lock's waits */
	const char *waiter[3];
};

/* lock_names under cfg (LOCKCONTEND): inits=0 names the heap lock after
 * its first waiter, the default after where it was made. */
static void profile_lock_names_with(struct named_locks *l, const char *cfg)
{
	struct run_result r;
	unsigned long long heap = 0;
	bool inits = !strstr(cfg, "inits=0");
	harness_profile("lock_names", (const char *[]){"2", "30", NULL}, cfg, 30, &r, l->dump);
	const char *h = strstr(r.out, "heap_lock 0x");
	cr_assert(h && sscanf(h, "heap_lock %llx", &heap) == 1, "%s", r.out);
	snprintf(l->names[0], sizeof(l->names[0]), "cache_lock");
	snprintf(l->names[1], sizeof(l->names[1]), "pool_locks+%#" PRIx64,
	         harness_out_value(r.out, "pool_offset"));
	snprintf(l->names[2], sizeof(l->names[2]), "%#llx (%s)", heap,
	         inits ? "made in make_heap_lock" : "first contended in wait_for_heap_lock");
	l->waited[0] = harness_out_value(r.out, "waited_cache_ns");
	l->waited[1] = harness_out_value(r.out, "waited_pool_ns");
	l->waited[2] = harness_out_value(r.out, "waited_heap_ns");
	l->delayed[0] = harness_out_value(r.out, "delayed_cache_ns");
	l->delayed[1] = harness_out_value(r.out, "delayed_pool_ns");
	l->delayed[2] = harness_out_value(r.out, "delayed_heap_ns");
	l->waiter[0] = "wait_for_cache";
	l->waiter[1] = "wait_for_pool";
	l->waiter[2] = "wait_for_heap_lock";
	harness_result_free(&r);
}

static void profile_lock_names(struct named_locks *l)
{
	profile_lock_names_with(l, "");
}

Test(locks, text_report_names_globals_array_elements_and_heap_locks)
{
	struct named_locks l;
	struct run_result r;
	profile_lock_names(&l);
	cr_assert_str_eq(l.names[1], "pool_locks+0x28", "x86-64 glibc: a pthread_mutex_t is 40 bytes");
	text_report(l.dump, &r);
	for (int i = 0; i < 3; i++) {
		struct lock_row row;
		cr_assert(lock_row(r.out, l.names[i], &row), "no row for '%s' in:\n%s", l.names[i], r.out);
		cr_assert_eq(row.contentions, 2, "%s: %" PRIu64 " contentions", l.names[i],
		             row.contentions);
		/* two 30 ms waits: a preemption between the program's clock
		 * and the hook's, in its measure only, within its run delay */
		harness_assert_wait(row.wait_ns, l.waited[i], l.delayed[i], 0.10, l.names[i]);
		cr_assert_str_eq(row.kind, "mutex", "%s", l.names[i]);
	}
	harness_result_free(&r);
}

/* inits=0: no init sites, so the heap lock is named after the function
 * that first waited on it; the globals are named as ever. */
Test(locks, without_init_sites_a_heap_lock_is_named_by_its_first_waiter)
{
	struct named_locks l;
	struct run_result r;
	profile_lock_names_with(&l, "inits=0");
	text_report(l.dump, &r);
	for (int i = 0; i < 3; i++) {
		struct lock_row row;
		cr_assert(lock_row(r.out, l.names[i], &row), "no row for '%s' in:\n%s", l.names[i], r.out);
		cr_assert_eq(row.contentions, 2, "%s", l.names[i]);
	}
	cr_assert(!strstr(r.out, "made in"), "an init site with inits=0:\n%s", r.out);
	harness_result_free(&r);
}

/* stacks=0: every event is charged to the sentinel, which keeps no longest
 * wait or hold; the lock table says "-" for them, never "0 ns" beside an
 * average that is not 0. */
Test(locks, without_stacks_the_longest_wait_and_hold_are_not_known)
{
	struct named_locks l;
	struct run_result r;
	profile_lock_names_with(&l, "stacks=0");
	text_report(l.dump, &r);
	for (int i = 0; i < 2; i++) { /* the globals: the heap lock has no init site name */
		struct lock_row row;
		cr_assert(lock_row(r.out, l.names[i], &row), "no row for '%s' in:\n%s", l.names[i], r.out);
		cr_assert_eq(row.contentions, 2, "%s", l.names[i]);
		cr_assert_eq(row.max_wait_ns, UINT64_MAX, "%s: max wait %" PRIu64 " ns, avg %" PRIu64,
		             l.names[i], row.max_wait_ns, row.avg_wait_ns);
		cr_assert(row.max_hold_ns == UINT64_MAX, "%s: max hold %" PRIu64 " ns", l.names[i],
		          row.max_hold_ns);
	}
	harness_result_free(&r);
}

static void pprof_file(const char *dump, char pb[PATH_MAX])
{
	struct run_result r;
	snprintf(pb, PATH_MAX, "%s.pb.gz", dump);
	harness_symbolize((const char *[]){"--format=pprof", "-o", pb, dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "--format=pprof: %s", r.err);
	harness_result_free(&r);
}

Test(locks, pprof_labels_name_each_lock_and_kind)
{
	struct named_locks l;
	char pb[PATH_MAX];
	profile_lock_names(&l);
	pprof_file(l.dump, pb);
	char *tags = harness_go_pprof("-tags", pb);
	for (int i = 0; i < 3; i++)
		cr_assert(strstr(tags, l.names[i]), "go tool pprof -tags lacks '%s':\n%s", l.names[i],
		          tags);
	cr_assert(strstr(tags, "lock:") && strstr(tags, "kind:"), "no lock or kind label:\n%s", tags);
	cr_assert(strstr(tags, ": mutex\n"), "no kind mutex:\n%s", tags);
	free(tags);
}

/* -tagfocus=lock=cache_lock keeps cache_lock's waits and only them. */
Test(locks, pprof_tagfocus_keeps_one_lock)
{
	struct named_locks l;
	char pb[PATH_MAX];
	profile_lock_names(&l);
	pprof_file(l.dump, pb);
	char *top = harness_go_pprof("-tagfocus=lock=cache_lock -top -unit=ns -sample_index=delay", pb);
	cr_assert(strstr(top, "wait_for_cache"), "cache_lock's waiter is gone:\n%s", top);
	cr_assert(!strstr(top, "wait_for_pool") && !strstr(top, "wait_for_heap_lock"),
	          "other locks' waits kept:\n%s", top);
	/* "Showing nodes accounting for Nns, P% of Nns total": the flat delay
	 * of wait_for_cache, the only waiter left. */
	unsigned long long ns = 0;
	const char *s = strstr(top, "Showing nodes accounting for ");
	cr_assert(s && sscanf(s, "Showing nodes accounting for %lluns", &ns) == 1, "%s", top);
	harness_assert_wait(ns, l.waited[0], l.delayed[0], 0.10,
	                    "-tagfocus=lock=cache_lock: the delay left");
	free(top);
}

/* ---- heap locks: where they were made ------------------------------------------------ */

/* The line of the text report's lock details that starts with `what` under
 * the lock named `name` (malloc'd), or NULL. */
static char *detail_line(const char *report, const char *name, const char *what)
{
	char head[300];
	snprintf(head, sizeof(head), "\n  %s, ", name);
	const char *s = strstr(report, head);
	if (!s)
		return NULL;
	for (s = strchr(s + 1, '\n'); s && strncmp(s + 1, "    ", 4) == 0; s = strchr(s + 1, '\n')) {
		const char *t = s + 1 + strspn(s + 1, " ");
		if (strncmp(t, what, strlen(what)) == 0)
			return strndup(s + 1, strcspn(s + 1, "\n"));
	}
	return NULL;
}

/* The address on the fixture's line "key 0x...". */
static unsigned long long out_addr(const char *out, const char *key)
{
	unsigned long long addr = 0;
	size_t n = strlen(key);
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, n) == 0 && l[n] == ' ' && sscanf(l + n, " %llx", &addr) == 1)
			return addr;
	cr_assert_fail("no line '%s 0x...' in:\n%s", key, out);
	return 0;
}

/* lock_makers.cpp: locks of a wrapper class are named by the constructor
 * of what holds them, locks made by an init function by that function, the
 * same whatever wrapper waits on them; locks made by a static initialiser,
 * or whose init site was destroyed with them, by their first waiter past
 * the wrapper; two overloads keep their parameters in the one-line stacks. */
Test(locks, heap_locks_are_named_where_they_were_made)
{
	static const struct {
		const char *key, *how;
	} want[] = {
	    {"cache", "made in Cache::Cache()"},
	    {"registry", "made in Registry::Registry()"},
	    {"table0", "made in table_init(Table*)"},
	    {"table1", "made in table_init(Table*)"},
	    {"hits", "first contended in bump_hits()"},
	    {"misses", "first contended in bump_misses()"},
	    {"recycled", "first contended in bump_recycled()"},
	};
	char dump[PATH_MAX], name[256];
	struct run_result r, t;
	harness_profile("lock_makers", (const char *[]){"20", NULL}, "", 30, &r, dump);
	text_report(dump, &t);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(name, sizeof(name), "%#llx (%s)", out_addr(r.out, want[i].key), want[i].how);
		struct lock_row row;
		cr_expect(lock_row(t.out, name, &row), "no row for '%s' in:\n%s", name, t.out);
		cr_expect_eq(row.contentions, 1, "%s", name);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%#llx (%s)", out_addr(r.out, want[i].key), want[i].how);
		char *line = detail_line(t.out, name, "top waiter");
		cr_assert(line, "no top waiter of %s in:\n%s", name, t.out);
		cr_expect(strstr(line, i ? "  wait_on(Registry&) (lock_makers.cpp:"
		                         : "  wait_on(Cache&) (lock_makers.cpp:"),
		          "an overload without its parameters, or a wrapper first: %s", line);
		free(line);
	}
	for (const char *l = strstr(t.out, "    top waiter"); l; l = strstr(l + 1, "    top waiter")) {
		const char *frame = strstr(l, " waits ");
		cr_assert(frame, "%.*s", (int)strcspn(l, "\n"), l);
		frame += strlen(" waits ") + strspn(frame + strlen(" waits "), " ");
		cr_expect(strncmp(frame, "Mutex::", 7) != 0 && strncmp(frame, "Counter::", 9) != 0,
		          "a wrapper first in a one-line stack: %.*s", (int)strcspn(l, "\n"), l);
	}
	harness_result_free(&t);
	harness_result_free(&r);
}

/* ---- per-lock counters -------------------------------------------------------------- */

Test(locks, trylock_failures_and_timeouts_are_counted_per_lock)
{
	char dump[PATH_MAX];
	struct run_result r, t;
	struct lock_row row;
	harness_profile("lock_counters", (const char *[]){"7", "2", "20", NULL}, "", 30, &r, dump);
	uint64_t failures = harness_out_value(r.out, "trylock_failures");
	uint64_t timeouts = harness_out_value(r.out, "timeouts");
	cr_assert(failures == 7 && timeouts == 2, "the fixture itself: %s", r.out);

	text_report(dump, &t);
	cr_assert(lock_row(t.out, "cache_lock", &row), "no cache_lock row in:\n%s", t.out);
	cr_assert_eq(row.trylock_failures, failures, "cache_lock: %" PRIu64 " trylock failures",
	             row.trylock_failures);
	cr_assert_eq(row.timeouts, timeouts, "cache_lock: %" PRIu64 " timeouts", row.timeouts);
	/* a timed-out timedlock waited; a failed trylock did not */
	cr_assert_eq(row.contentions, timeouts, "cache_lock: %" PRIu64 " contentions",
	             row.contentions);
	/* less what a preemption took from it before the hook read its clock
	 * (the deadline is read first): the kernel's count of the thread's
	 * time kept from a CPU over the timed waits, not a wider margin */
	uint64_t delayed = harness_out_value(r.out, "timeouts_delayed_ns");
	cr_assert(row.max_wait_ns + delayed >= 19000000 && row.max_wait_ns < 200000000,
	          "cache_lock: the longest wait is a 20 ms timeout, not %" PRIu64 " ns (%" PRIu64
	          " ns kept from a CPU)",
	          row.max_wait_ns, delayed);

	cr_assert(lock_row(t.out, "log_lock", &row), "no log_lock row in:\n%s", t.out);
	cr_assert_eq(row.contentions, 1);
	cr_assert(row.trylock_failures == 0 && row.timeouts == 0,
	          "log_lock: %" PRIu64 " trylock failures, %" PRIu64 " timeouts: not per lock",
	          row.trylock_failures, row.timeouts);
	harness_result_free(&t);
	harness_result_free(&r);
}

/* C11: a failed mtx_trylock and a timed-out mtx_timedlock on table_mtx. */
Test(locks, c11_trylock_failures_and_timeouts_are_counted)
{
	char dump[PATH_MAX];
	struct run_result r, t;
	struct lock_row row;
	harness_profile("c11", (const char *[]){"2", "40", NULL}, "", 30, &r, dump);
	cr_assert(harness_out_value(r.out, "trylock_busy") == 1 &&
	              harness_out_value(r.out, "timeouts") == 1,
	          "the fixture itself: %s", r.out);
	text_report(dump, &t);
	cr_assert(lock_row(t.out, "table_mtx", &row), "no table_mtx row in:\n%s", t.out);
	cr_assert_eq(row.trylock_failures, 1, "table_mtx: %" PRIu64 " trylock failures",
	             row.trylock_failures);
	cr_assert_eq(row.timeouts, 1, "table_mtx: %" PRIu64 " timeouts", row.timeouts);
	cr_assert_eq(row.contentions, 3, "2 mtx_lock waits and the timed-out one, not %" PRIu64,
	             row.contentions);
	cr_assert_str_eq(row.kind, "mutex");
	harness_result_free(&t);
	harness_result_free(&r);
}

/* ---- hold times in the lock table ------------------------------------------------------ */

Test(locks, text_report_has_hold_avg_and_max)
{
	char dump[PATH_MAX];
	struct run_result r, t;
	struct lock_row row;
	harness_profile("hold_time", (const char *[]){"10", "20", NULL}, "hold=1", 30, &r, dump);
	uint64_t held = harness_out_value(r.out, "held_ns");
	uint64_t max = harness_out_value(r.out, "held_max_ns");
	uint64_t sections = harness_out_value(r.out, "sections");

	text_report(dump, &t);
	cr_assert(lock_row(t.out, "work_lock", &row), "no work_lock row in:\n%s", t.out);
	cr_assert(row.avg_hold_ns != UINT64_MAX, "work_lock: no hold time:\n%s", t.out);
	/* Every section of work_lock lasts ~HOLD_MS, the first contention's
	 * two included. */
	harness_assert_near(row.avg_hold_ns, held / sections, 0.15, "work_lock: average hold");
	cr_assert(row.max_hold_ns >= 20000000 && row.max_hold_ns >= max * 95 / 100,
	          "work_lock: max hold %" PRIu64 " ns, the program held it %" PRIu64 " ns",
	          row.max_hold_ns, max);
	cr_assert(!lock_row(t.out, "quiet_lock", &row), "quiet_lock was never contended:\n%s", t.out);
	harness_result_free(&t);
	harness_result_free(&r);
}
