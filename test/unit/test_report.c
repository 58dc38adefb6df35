/*
 * test_report.c — views and kinds in the reports: --view and --kind
 * parsing (viewkind.c), and what the folded and text reports show of a
 * hand-built dump with every view and kind (profile.c, report_*.c).
 *
 * The dump's stacks are functions of this program (so folded lines have
 * names) and its locks its globals.  Checked: folded output is one view,
 * its sentinel a line of its own, the holder view's _NotChargedToHolder
 * always there (even at 0 and past --top in text); a kind filter keeps
 * only those kinds everywhere, drops the kindless sentinel and counts only
 * the kept locks' uncharged wait; the text report's sections per --view,
 * its lock table, and the warning when holders + uncharged stray more than
 * 5% from the total wait; the CLI's one-line errors for bad values.
 *
 * Files written in place: the header's second line says what became of the
 * writer (exited, exec, snapshot, live, died); a file without trailer gives
 * its totals from the threads' slots and says what was still in flight (or
 * that the stacks hold more than the slots: read while it changed), and
 * only a file cut inside a record is called partial.  The CLI exits 0 on a
 * live or died file, with one line on stderr, and 2 on a cut one.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "dumpread.h"
#include "names.h"
#include "profile.h"
#include "report.h"
#include "resolve.h"
#include "unit/dumpbuild.h"
#include "viewkind.h"

/* ---- --view and --kind ------------------------------------------------------- */

Test(viewkind, views_parse_by_name)
{
	cr_assert_eq(viewkind_view_parse("waiter"), LC_VIEW_WAIT);
	cr_assert_eq(viewkind_view_parse("holder"), LC_VIEW_HOLDER);
	cr_assert_eq(viewkind_view_parse("hold"), LC_VIEW_HOLD);
	cr_assert_eq(viewkind_view_parse("wait"), -1);
	cr_assert_eq(viewkind_view_parse(""), -1);
	cr_assert_str_eq(names_view_cli(LC_VIEW_HOLDER), "holder");
}

static uint32_t kinds_of(const char *list)
{
	uint32_t m = 0xdead;
	cr_assert_eq(viewkind_kinds_parse(list, &m), 0, "%s refused", list);
	return m;
}

Test(viewkind, kind_lists)
{
	const uint32_t rd = 1u << LC_KIND_RDLOCK, wr = 1u << LC_KIND_WRLOCK;
	cr_assert_eq(kinds_of("mutex"), 1u << LC_KIND_MUTEX);
	cr_assert_eq(kinds_of("rwlock"), rd | wr);
	cr_assert_eq(kinds_of("spin,rdlock"), 1u << LC_KIND_SPIN | rd);
	cr_assert_eq(kinds_of("mutex,rwlock,spin,sem,futex"), VIEWKIND_DEFAULT_KINDS);
	cr_assert_eq(kinds_of("mutex,rwlock,spin,sem,futex,cond,futex-cond"), VIEWKIND_ALL_KINDS);
	cr_assert_eq(kinds_of("futex-cond"), 1u << NAMES_KIND_FUTEX_COND);
	cr_assert_eq(kinds_of("cond"), 1u << LC_KIND_COND);
	cr_assert(viewkind_all_locks(VIEWKIND_DEFAULT_KINDS) && viewkind_all_locks(VIEWKIND_ALL_KINDS));
	cr_assert(!viewkind_all_locks(1u << NAMES_KIND_FUTEX_COND | 1u << LC_KIND_FUTEX));
	cr_assert(!viewkind_all_locks(1u << LC_KIND_COND) &&
	          !viewkind_all_locks(VIEWKIND_DEFAULT_KINDS & ~(1u << LC_KIND_SEM)));
	cr_assert_eq(kinds_of("futex"), 1u << LC_KIND_FUTEX);
	cr_assert_eq(kinds_of("sem"), 1u << LC_KIND_SEM);
	static const char *const bad[] = {"", "bogus", "mutex,", ",mutex", "mutex,,spin", "MUTEX",
	                                  "mutexx", "rw", "futex-", "?"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t m = 0xdead;
		cr_assert_eq(viewkind_kinds_parse(bad[i], &m), -1, "\"%s\" accepted", bad[i]);
		cr_assert_eq(m, 0xdead, "\"%s\" changed the mask", bad[i]);
	}
	char buf[64];
	viewkind_kinds_format(rd | wr | 1u << LC_KIND_SPIN, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rwlock, spin");
	viewkind_kinds_format(wr, buf, sizeof(buf));
	cr_assert_str_eq(buf, "wrlock");
	viewkind_kinds_format(1u << LC_KIND_SEM | 1u << LC_KIND_MUTEX, buf, sizeof(buf));
	cr_assert_str_eq(buf, "mutex, sem");
	viewkind_kinds_format(1u << NAMES_KIND_FUTEX_COND | 1u << LC_KIND_FUTEX, buf, sizeof(buf));
	cr_assert_str_eq(buf, "futex, futex-cond");
	cr_assert_str_eq(report_kinds_label(1u << NAMES_KIND_FUTEX_COND), "futex-cond");
}

/* ---- the dump -------------------------------------------------------------------- */

pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
pthread_spinlock_t stats_lock;

#define FN(name)                                                   \
	__attribute__((noinline)) int name(volatile int *x)        \
	{                                                          \
		for (int i = 0; i < 8; i++)                        \
			*x += i * *x + 1;                          \
		return *x;                                         \
	}
FN(app_main)
FN(cache_get)
FN(cache_put)
FN(table_read)
FN(table_write)
FN(stats_add)

static uint64_t pc_in(int (*f)(volatile int *))
{
	return (uint64_t)(uintptr_t)f + 6;
}

static struct dumpbuild b;
static struct dump d;

/* Uncharged wait per lock (LOCK records) and in all (TOTALS). */
#define UNCHARGED_CACHE 300
#define UNCHARGED_TABLE 40
#define UNCHARGED_ALL 400

static void bucket(uint8_t view, uint8_t kind, const volatile void *lock, uint64_t count,
                   uint64_t delay, int (*f)(volatile int *))
{
	uint64_t pcs[2] = {pc_in(f), pc_in(app_main)};
	db_bucket(&b, (struct db_bucket){view, kind, (uintptr_t)lock, count, delay, delay / count,
	                                 0, 0}, pcs, 2);
}

/* waits 5000 + 900 + 100 + 300 + lost 50 = 6350; caused 5950 + 400 uncharged. */
static void build_records(uint64_t caused)
{
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/proc/self/exe", LC_META_STACKS | LC_META_HOLDER, 10);
	db_self_modules(&b);
	bucket(LC_VIEW_WAIT, LC_KIND_MUTEX, &cache_lock, 5, 5000, cache_get);
	bucket(LC_VIEW_WAIT, LC_KIND_RDLOCK, &table_lock, 2, 900, table_read);
	bucket(LC_VIEW_WAIT, LC_KIND_WRLOCK, &table_lock, 1, 100, table_write);
	bucket(LC_VIEW_WAIT, LC_KIND_SPIN, &stats_lock, 3, 300, stats_add);
	bucket(LC_VIEW_HOLDER, LC_KIND_MUTEX, &cache_lock, 4, caused - 950, cache_put);
	bucket(LC_VIEW_HOLDER, LC_KIND_WRLOCK, &table_lock, 1, 950, table_write);
	bucket(LC_VIEW_HOLD, LC_KIND_MUTEX, &cache_lock, 10, 1000, cache_put);
	db_lock(&b, &(struct lc_rec_lock){(uintptr_t)&cache_lock, 0, 0, UNCHARGED_CACHE, 0, 0,
	                                  .epoch = 0}, NULL);
	db_lock(&b, &(struct lc_rec_lock){(uintptr_t)&table_lock, 2, 0, UNCHARGED_TABLE, 1, 0,
	                                  .epoch = 0}, NULL);
}

static void parse(void)
{
	char err[256];
	cr_assert_eq(dump_parse(b.buf, b.len, &d, err, sizeof(err)), 0, "%s", err);
}

static void build_with(uint64_t caused)
{
	build_records(caused);
	db_lost(&b, LC_VIEW_WAIT, (struct lc_lost_entry[LC_LOST_NREASONS]){[LC_LOST_EVICTED] = {1, 50}});
	db_lost(&b, LC_VIEW_HOLDER, NULL);
	db_lost(&b, LC_VIEW_HOLD, NULL);
	db_totals(&b, (struct lc_rec_totals){.uncharged_ns = UNCHARGED_ALL, .trylock_failures = 2});
	db_trailer(&b);
	parse();
}

/* The same as a running writer leaves it: no LOST, TOTALS, trailer; the
 * thread's slot counts `wait_more` contentions (of 500 ns each) more than
 * the waiter view's stacks and sentinel hold (in flight, or if negative,
 * fewer). */
static void build_live(int64_t wait_more)
{
	build_records(5950);
	struct lc_rec_slot s = {.count = {12 + (uint64_t)wait_more, 5, 10},
	                        .delay_ns = {6350 + 500 * (uint64_t)wait_more, 5950, 1000},
	                        .uncharged_ns = UNCHARGED_ALL,
	                        .lost = {{[LC_LOST_EVICTED] = {1, 50}}}};
	db_slot(&b, &s);
	db_live(&b, &(struct lc_rec_live){.state = LC_LIVE_RUNNING, .trylock_failures = 2});
	db_zeros(&b, 256);
	parse();
}

static void build(void)
{
	build_with(5950);
}

static void teardown(void)
{
	dump_free(&d);
	db_free(&b);
}

TestSuite(report, .init = build, .fini = teardown);

/* ---- running the reports ---------------------------------------------------------- */

enum fmt { FOLDED, TEXT };

static const struct dump_status *status; /* of the dump, for the report */
static bool lock_frames;                 /* --lock-frames */

/* The report of the dump, kinds kept, view shown; a malloc'd string. */
static char *report(enum fmt fmt, int view, uint32_t kinds, int top, int value)
{
	struct profile p;
	struct resolve_opts o = {.demangle = true};
	cr_assert_eq(profile_build(&p, &d, 1, &o, kinds, NULL), 0);
	const char *path = "test.raw";
	struct report_input in = {&p, &d, &path, 1, top, value, view, status, 0, lock_frames, 0, NULL};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (fmt == FOLDED)
		report_folded_write(&in, f);
	else
		report_text_write(&in, f);
	fclose(f);
	profile_free(&p);
	return out;
}

static char *folded(int view, uint32_t kinds)
{
	return report(FOLDED, view, kinds, 20, PROF_DELAY);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void expect_lines(const char *out, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_expect(strstr(out, want[i]), "missing \"%s\" in:\n%s", want[i], out);
	cr_assert_eq(count_lines(out), n, "%zu lines expected:\n%s", n, out);
}

/* ---- folded ----------------------------------------------------------------------- */

Test(report, folded_default_is_the_waiter_view)
{
	char *out = folded(-1, VIEWKIND_ALL_KINDS);
	static const char *const want[] = {
	    "app_main;cache_get 5000\n", "app_main;table_read 900\n", "app_main;table_write 100\n",
	    "app_main;stats_add 300\n", "_LostContendedLock 50\n"};
	expect_lines(out, want, 5);
	free(out);
}

Test(report, folded_holder_view_has_not_charged_line)
{
	char *out = folded(LC_VIEW_HOLDER, VIEWKIND_ALL_KINDS);
	static const char *const want[] = {"app_main;cache_put 5000\n", "app_main;table_write 950\n",
	                                   "_NotChargedToHolder 400\n"};
	expect_lines(out, want, 3);
	free(out);
	/* 0 contentions, yet there: the line is never dropped */
	out = report(FOLDED, LC_VIEW_HOLDER, VIEWKIND_ALL_KINDS, 20, PROF_CONTENTIONS);
	cr_assert(strstr(out, "_NotChargedToHolder 0\n"), "%s", out);
	free(out);
}

Test(report, folded_lock_frames_put_each_stack_under_its_lock)
{
	lock_frames = true;
	char *out = folded(-1, VIEWKIND_ALL_KINDS);
	static const char *const want[] = {"cache_lock;app_main;cache_get 5000\n",
	                                   "table_lock;app_main;table_read 900\n",
	                                   "table_lock;app_main;table_write 100\n",
	                                   "stats_lock;app_main;stats_add 300\n",
	                                   "_LostContendedLock 50\n"};
	expect_lines(out, want, 5);
	free(out);
	out = folded(LC_VIEW_HOLDER, VIEWKIND_ALL_KINDS);
	static const char *const holders[] = {"cache_lock;app_main;cache_put 5000\n",
	                                      "table_lock;app_main;table_write 950\n",
	                                      "_NotChargedToHolder 400\n"};
	expect_lines(out, holders, 3);
	free(out);
	lock_frames = false;
}

Test(report, folded_hold_view)
{
	char *out = folded(LC_VIEW_HOLD, VIEWKIND_ALL_KINDS);
	static const char *const want[] = {"app_main;cache_put 1000\n"};
	expect_lines(out, want, 1);
	free(out);
}

/* rwlock keeps rdlock and wrlock samples; the sentinel (no kind) goes; the
 * uncharged wait is the kept lock's own. */
Test(report, kind_filter_keeps_only_those_kinds)
{
	uint32_t rw;
	cr_assert_eq(viewkind_kinds_parse("rwlock", &rw), 0);
	char *out = folded(LC_VIEW_WAIT, rw);
	static const char *const wait[] = {"app_main;table_read 900\n", "app_main;table_write 100\n"};
	expect_lines(out, wait, 2);
	free(out);
	out = folded(LC_VIEW_HOLDER, rw);
	static const char *const holder[] = {"app_main;table_write 950\n", "_NotChargedToHolder 40\n"};
	expect_lines(out, holder, 2);
	free(out);
	out = folded(LC_VIEW_WAIT, 1u << LC_KIND_SPIN);
	static const char *const spin[] = {"app_main;stats_add 300\n"};
	expect_lines(out, spin, 1);
	free(out);
}

/* ---- text ------------------------------------------------------------------------- */

Test(report, text_default_shows_waiters_holders_and_locks)
{
	char *out = report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	const char *w = strstr(out, "\nWaiters: "), *h = strstr(out, "\nHolders: ");
	const char *l = strstr(out, "\nLocks by wait");
	cr_assert(w && h && l && w < h && h < l, "sections out of order:\n%s", out);
	cr_assert(!strstr(out, "\nHold times: "), "%s", out);
	cr_assert(strstr(out, "holders: 5 unlocks charged 5.95 us of it; 400 ns not charged"), "%s",
	          out);
	cr_assert(!strstr(out, "WARNING"), "holders + uncharged == waits, yet:\n%s", out);
	cr_assert(strstr(out, "on cache_lock in 5 contentions\n"), "%s", out);
	cr_assert(strstr(out, "not charged to any unlock"), "%s", out);
	/* the lock table: cache_lock first (most wait), with its kinds */
	const char *cache = strstr(l, "  mutex   cache_lock\n");
	const char *table = strstr(l, "  rwlock  table_lock\n");
	cr_assert(cache && table && cache < table, "lock table:\n%s", l);
	cr_assert(strstr(l, "  spin    stats_lock\n"), "%s", l);
	cr_assert(strstr(l, "top holder"), "%s", l);
	free(out);
}

/* cache_lock lost 30 ns of waiting and 20 ns of charges to no_slot: its
 * row counts them, its details say so, and charged + not charged still
 * add up to its wait. */
Test(report, the_lock_table_says_what_each_lock_lost)
{
	teardown();
	build_records(5950);
	struct lc_rec_lock_lost l = {.addr = (uintptr_t)&cache_lock};
	l.lost[LC_VIEW_WAIT][LC_LOST_NO_SLOT] = (struct lc_lost_entry){1, 30};
	l.lost[LC_VIEW_HOLDER][LC_LOST_NO_SLOT] = (struct lc_lost_entry){1, 20};
	db_record(&b, LC_REC_LOCK_LOST, &l, sizeof(l), NULL, 0, NULL, 0);
	db_lost(&b, LC_VIEW_WAIT, (struct lc_lost_entry[LC_LOST_NREASONS]){[LC_LOST_NO_SLOT] = {1, 30}});
	db_lost(&b, LC_VIEW_HOLDER, (struct lc_lost_entry[LC_LOST_NREASONS]){[LC_LOST_NO_SLOT] = {1, 20}});
	db_lost(&b, LC_VIEW_HOLD, NULL);
	db_totals(&b, (struct lc_rec_totals){.uncharged_ns = UNCHARGED_ALL});
	db_trailer(&b);
	parse();
	char *out = report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	cr_assert(strstr(out, "  cache_lock, mutex: 5.03 us waited in 6 contentions (30 ns of it "
	                      "without a stack: no_slot 30 ns); unlocks charged 5.02 us (20 ns of "
	                      "it without a stack: no_slot 20 ns), 300 ns not charged\n"),
	          "%s", out);
	cr_assert(strstr(out, "  table_lock, rwlock: 1.00 us waited in 3 contentions; unlocks "
	                      "charged 950 ns, 40 ns not charged\n"),
	          "%s", out);
	free(out);
}

/* A tiny average hold with a long wait: the preemption hint, on that lock
 * only. */
Test(report, a_tiny_hold_with_a_long_wait_gets_a_hint)
{
	teardown();
	build_records(5950);
	bucket(LC_VIEW_WAIT, LC_KIND_MUTEX, &cache_lock, 1, 5000000, cache_put);
	db_lost(&b, LC_VIEW_WAIT, NULL);
	db_lost(&b, LC_VIEW_HOLDER, NULL);
	db_lost(&b, LC_VIEW_HOLD, NULL);
	db_totals(&b, (struct lc_rec_totals){.uncharged_ns = UNCHARGED_ALL});
	db_trailer(&b);
	parse();
	char *out = report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	const char *hint = strstr(out, "    hint: held 100 ns on average, yet a wait lasted 5.00 ms");
	cr_assert(hint, "%s", out);
	cr_assert(!strstr(hint + strlen("    hint:"), "hint:"), "one hint only:\n%s", out);
	free(out);
	teardown();
	build(); /* the same lock with 1 us waits: no hint */
	out = report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	cr_assert(!strstr(out, "hint:"), "%s", out);
	free(out);
}

Test(report, text_view_shows_that_view_and_the_locks)
{
	char *out = report(TEXT, LC_VIEW_HOLD, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	cr_assert(strstr(out, "\nHold times: "), "%s", out);
	cr_assert(strstr(out, "Top stacks by hold time"), "%s", out);
	cr_assert(!strstr(out, "\nWaiters: ") && !strstr(out, "\nHolders: "), "%s", out);
	cr_assert(strstr(out, "\nLocks by wait"), "%s", out);
	free(out);
}

/* --top=1: the holder view's first stack, and _NotChargedToHolder anyway. */
Test(report, not_charged_is_shown_past_top)
{
	char *out = report(TEXT, LC_VIEW_HOLDER, VIEWKIND_ALL_KINDS, 1, PROF_DELAY);
	cr_assert(strstr(out, "  #1  5.00 us"), "%s", out);
	cr_assert(strstr(out, "  #3  400 ns"), "%s", out);
	cr_assert(!strstr(out, "  #2  "), "%s", out);
	cr_assert(strstr(out, "  _NotChargedToHolder\n"), "no function row:\n%s", out);
	free(out);
}

Test(report, text_kind_filter_says_so)
{
	char *out = report(TEXT, -1, 1u << LC_KIND_SPIN, 20, PROF_DELAY);
	cr_assert(strstr(out, "only spin locks (--kind)"), "%s", out);
	cr_assert(!strstr(out, "cache_lock") && !strstr(out, "table_lock"), "%s", out);
	cr_assert(strstr(out, "stats_lock"), "%s", out);
	free(out);
}

/* A newer writer's kind: skipped, and the header says how much of the
 * total wait is on no stack shown; the views still add up (no warning). */
Test(report, text_says_what_an_unknown_kind_left_out)
{
	teardown();
	build_records(5950);
	bucket(LC_VIEW_WAIT, LC_NKINDS + 2, &cache_lock, 7, 700, cache_get);
	db_lost(&b, LC_VIEW_WAIT, (struct lc_lost_entry[LC_LOST_NREASONS]){[LC_LOST_EVICTED] = {1, 50}});
	db_lost(&b, LC_VIEW_HOLDER, NULL);
	db_lost(&b, LC_VIEW_HOLD, NULL);
	db_totals(&b, (struct lc_rec_totals){.contentions = 19, .delay_ns = 7050,
	                                     .uncharged_ns = UNCHARGED_ALL + 700, .caused_count = 5,
	                                     .caused_ns = 5950, .holds = 10, .hold_ns = 1000});
	db_trailer(&b);
	parse();
	cr_assert(dump_view_conserved(&d, LC_VIEW_WAIT));
	char *out = report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	cr_assert(strstr(out, "1 records of a lock kind this reader does not know") &&
	          strstr(out, "their 7 contentions, 0.001 ms of waiting, are in the totals"),
	          "%s", out);
	cr_assert(!strstr(out, "WARNING"), "the views add up:\n%s", out);
	free(out);
}

/* caused 5000 + 400 uncharged against 6350 waited: 15% off. */
Test(report, text_warns_when_holders_do_not_add_up)
{
	teardown();
	build_with(5000);
	char *out = report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	cr_assert(strstr(out, "  WARNING: holders + not charged = 5.40 us, 15.0% off the total wait "
	                      "6.35 us"), "%s", out);
	free(out);
	teardown();
	build_with(5700); /* 6100: 3.9% off, within 5% */
	out = report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
	cr_assert(!strstr(out, "WARNING"), "%s", out);
	free(out);
}

/* ---- files written in place ----------------------------------------------------------- */

static char *text(void)
{
	return report(TEXT, -1, VIEWKIND_ALL_KINDS, 20, PROF_DELAY);
}

/* The report's second line, its first about the dump. */
static void assert_second_line(const char *out, const char *want)
{
	const char *l = strchr(out, '\n');
	cr_assert_not_null(l);
	size_t n = strcspn(l + 1, "\n");
	cr_assert(strlen(want) == n && strncmp(l + 1, want, n) == 0, "want \"%s\":\n%s", want, out);
}

Test(report, header_says_what_became_of_the_writer)
{
	setenv("TZ", "UTC", 1);
	tzset();
	static const struct {
		struct dump_status st;
		const char *line;
	} cases[] = {
	    {{DUMP_WRITER_EXITED, 0, 0}, "  complete: written when the program exited"},
	    {{DUMP_WRITER_EXEC, 0, 0},
	     "  complete: ended by exec() (the new program image writes a profile of its own)"},
	    {{DUMP_WRITER_DETACHED, 0, 0}, "  complete: ended by a detach (the program ran on)"},
	    {{DUMP_WRITER_SNAPSHOT, 0, 1700000001000000000ull},
	     "  a snapshot taken while it ran (at 2023-11-14 22:13:21 UTC, 1.00 s after start)"},
	    {{DUMP_WRITER_LIVE, 1700000002500000000ull, 1700000002500000000ull},
	     "  live profile of running process 4242, read at 2023-11-14 22:13:22 UTC (2.50 s after "
	     "start)"},
	    {{DUMP_WRITER_DIED, 0, 0},
	     "  the writer died without a clean exit (killed by a signal, a crash, or exit_group without libc): totals may be short "
	     "by the events in flight"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		status = &cases[i].st;
		char *out = text();
		assert_second_line(out, cases[i].line);
		cr_assert(!strstr(out, "partial"), "%s", out);
		free(out);
	}
	status = NULL;
	char *out = text();
	assert_second_line(out, "  complete: written when the program exited");
	free(out);
}

/* A profile made by an attach says what it reached, and at the detach
 * what became of its slots; the others say nothing of it. */
Test(report, an_attached_profile_says_what_it_reached)
{
	char *out = text();
	cr_assert(!strstr(out, "attached"), "%s", out);
	free(out);
	d.meta.flags |= LC_META_ATTACHED;
	d.attach = (struct lc_rec_attach){
	    .objects = 7, .later = 2, .slots = 90, .out_of_reach = 3, .restored = 85, .left = 4,
	    .forgotten = 1};
	d.live.state = LC_LIVE_DETACHED;
	out = text();
	const char *want[] = {
	    "  attached to the running program: 90 GOT slots in 7 objects (2 loaded since); waits "
	    "begun before the attach are not counted\n",
	    "  3 references to hooked functions stored in data were out of reach: calls through "
	    "them were not seen\n",
	    "  at the detach: 85 slots given back, 4 changed since left as they were, 1 in objects "
	    "unloaded\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(out, want[i]), "missing \"%s\" in:\n%s", want[i], out);
	cr_assert(!strstr(out, "could not be rewritten"), "%s", out);
	free(out);
}

Test(report, live_totals_and_what_was_in_flight)
{
	teardown();
	build_live(3);
	status = &(struct dump_status){DUMP_WRITER_LIVE, 1700000002500000000ull, 0};
	char *out = text();
	status = NULL;
	cr_assert(strstr(out, "\n  ran 2.00 s; "), "%s", out);
	cr_assert(strstr(out, "\n  15 contentions, 7.85 us total wait (the threads' running totals)\n"),
	          "%s", out);
	cr_assert(strstr(out, "\n  3 contentions (1.50 us) were in flight, not in any stack\n"), "%s",
	          out);
	cr_assert(strstr(out, "charged to _LostContendedLock: 1 lost the one-stack"), "%s", out);
	cr_assert(!strstr(out, "holder view: ") && !strstr(out, "hold view: "), "%s", out);
	cr_assert(strstr(out, "trylock failures: 2\n"), "%s", out);
	cr_assert(!strstr(out, "partial"), "%s", out);
	free(out);
	/* a META without end: the run's length is what the read says */
	teardown();
	build_live(0);
	d.meta.end_mono_ns = 0;
	status = &(struct dump_status){DUMP_WRITER_LIVE, 1700000002500000000ull, 0};
	out = text();
	status = NULL;
	cr_assert(strstr(out, "\n  running for 2.50 s so far; "), "%s", out);
	cr_assert(!strstr(out, "in flight"), "nothing in flight:\n%s", out);
	free(out);
}

/* A snapshot's totals are the slots' sums as they were: in flight too.  Its
 * META has no end: it ran until the snapshot. */
Test(report, a_snapshot_says_what_was_in_flight)
{
	teardown();
	build_records(5950);
	static const struct lc_lost_entry evicted[LC_LOST_NREASONS] = {[LC_LOST_EVICTED] = {1, 50}};
	db_lost(&b, LC_VIEW_WAIT, evicted);
	db_lost(&b, LC_VIEW_HOLDER, NULL);
	db_lost(&b, LC_VIEW_HOLD, NULL);
	size_t at = db_totals(&b, (struct lc_rec_totals){.uncharged_ns = UNCHARGED_ALL});
	struct lc_rec_totals *t = (struct lc_rec_totals *)(b.buf + at + sizeof(struct lc_rec_head));
	t->contentions += 2;
	t->delay_ns += 700;
	db_trailer(&b);
	db_live(&b, &(struct lc_rec_live){.state = LC_LIVE_SNAPSHOT, .snapshot_mono_ns = 1500001000});
	parse();
	d.meta.end_mono_ns = 0;
	char *out = text();
	cr_assert(strstr(out, "\n  a snapshot taken while it ran"), "%s", out);
	cr_assert(strstr(out, "\n  ran 1.50 s until the snapshot; "), "%s", out);
	cr_assert(strstr(out, "\n  2 contentions (700 ns) were in flight, not in any stack\n"), "%s",
	          out);
	free(out);
	d.live.state = LC_LIVE_EXITED; /* at exit, every stash was merged */
	out = text();
	cr_assert(!strstr(out, "in flight"), "%s", out);
	free(out);
}

/* The stacks hold 2 more than the slot: the file changed while it was read. */
Test(report, stacks_beyond_the_slots_are_not_in_flight)
{
	teardown();
	build_live(-2);
	char *out = text();
	cr_assert(strstr(out, "\n  WARNING: the stacks hold 12 contentions (6.35 us), the threads' "
	                      "totals 10 (5.35 us): the file changed while it was read\n"), "%s", out);
	cr_assert(!strstr(out, "in flight"), "%s", out);
	free(out);
}

/* Cut inside the slot: partial, whatever the writer did, and the first line
 * says so; the totals are a floor (slots past the cut are unknown), nothing
 * is claimed lost or not, and the stacks beyond every total are the cut's
 * doing, not a change while reading. */
Test(report, a_file_cut_inside_a_record_is_partial)
{
	teardown();
	build_live(0);
	dump_free(&d);
	char err[256];
	size_t cut = b.len - 256 - 100;
	cr_assert_eq(dump_parse(b.buf, cut, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.end, DUMP_END_CUT);
	status = &(struct dump_status){DUMP_WRITER_DIED, 0, 0};
	char *out = text();
	status = NULL;
	char want[256];
	size_t slot = b.len - 256 - sizeof(struct lc_rec_slot) - sizeof(struct lc_rec_head);
	snprintf(want, sizeof(want), "  WARNING: the dump is cut short inside a record (slot) at byte "
	                             "%zu (no trailer); this is a partial profile", slot);
	assert_second_line(out, want);
	cr_assert(!strstr(out, "writer died"), "a copy cut short is no writer's doing:\n%s", out);
	cr_assert(strstr(out, "\n  at least 0 contentions, 0 ns total wait (the threads' slots read "
	                      "before the cut)\n"), "%s", out);
	cr_assert(!strstr(out, "nothing lost"), "the slots past the cut are unknown:\n%s", out);
	cr_assert(!strstr(out, "changed while it was read"), "%s", out);
	free(out);
}

/* ---- the command line --------------------------------------------------------------- */

/* Exit status and stderr of lockcontend-symbolize ARGS (no dump needed:
 * bad options are refused first). */
static int run_cli(const char *args, char *err, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "build/lockcontend-symbolize %s /nonexistent.raw 2>&1 >/dev/null",
	         args);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	size_t n = fread(err, 1, cap - 1, f);
	err[n] = '\0';
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run the symbolizer on the first len bytes of the dump; exit status, and
 * stderr in err. */
static int run_cli_on(size_t len, char *err, size_t cap)
{
	char dir[] = "/tmp/lc_test_report_XXXXXX", path[64], cmd[256];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app.raw", dir);
	FILE *f = fopen(path, "wb");
	cr_assert(f && fwrite(b.buf, 1, len, f) == len && fclose(f) == 0);
	snprintf(cmd, sizeof(cmd), "build/lockcontend-symbolize %s 2>&1 >/dev/null", path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(err, 1, cap - 1, p);
	err[n] = '\0';
	int st = pclose(p);
	unlink(path);
	rmdir(dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* pid 4242 is not writing this file: its writer died.  Exit 0, one line;
 * cut inside a record: exit 2. */
Test(cli, died_is_exit_0_and_cut_is_exit_2)
{
	if (access("build/lockcontend-symbolize", X_OK) != 0)
		cr_skip_test("run from the repository root after make build/lockcontend-symbolize");
	char err[1024];
	build_live(0);
	cr_assert_eq(run_cli_on(b.len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert(strstr(err, "warning: ") && strstr(err, "the writer died without a clean exit"),
	          "%s", err);
	cr_assert_eq(run_cli_on(b.len - 256 - 100, err, sizeof(err)), 2, "%s", err);
	cr_assert(strstr(err, "cut short inside a record (slot)"), "%s", err);
	dump_free(&d);
	db_free(&b);
	build();
	cr_assert_eq(run_cli_on(b.len, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(err, "");
	dump_free(&d);
	db_free(&b);
}

Test(cli, bad_view_or_kind_is_one_line_and_exit_1)
{
	if (access("build/lockcontend-symbolize", X_OK) != 0)
		cr_skip_test("run from the repository root after make build/lockcontend-symbolize");
	static const char *const bad[] = {"--view=wait", "--view=", "--kind=mutex,bogus", "--kind="};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512];
		cr_assert_eq(run_cli(bad[i], err, sizeof(err)), 1, "%s: %s", bad[i], err);
		cr_assert_eq(count_lines(err), 1, "%s:\n%s", bad[i], err);
		cr_assert(strstr(err, bad[i][2] == 'v' ? "--view" : "--kind"), "%s", err);
	}
}

/* --lock-frames is for folded, pprof and html; --from and --to not for
 * html (it shows the whole run); a format misspelt.  One line, exit 1. */
Test(cli, options_a_format_cannot_take_are_one_line_and_exit_1)
{
	if (access("build/lockcontend-symbolize", X_OK) != 0)
		cr_skip_test("run from the repository root after make build/lockcontend-symbolize");
	static const char *const bad[][2] = {{"--lock-frames", "--lock-frames is for folded"},
	                                     {"--format=html --from 1s", "--from and --to cut"},
	                                     {"--format=htm", "unknown --format (text, folded, "
	                                                      "pprof, html)"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512];
		cr_assert_eq(run_cli(bad[i][0], err, sizeof(err)), 1, "%s: %s", bad[i][0], err);
		cr_assert_eq(count_lines(err), 1, "%s:\n%s", bad[i][0], err);
		cr_assert(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
	}
}
