/*
 * test_topview.c — lockcontend-top's screen (topview.c) from dumps the test
 * writes: two reads of one profile a second apart.
 *
 * The first read has heap locks A (2 waits, 1 us) and B (1 wait, 5 us);
 * the second, A with 10 more waits and 8 us more (2 of those waits and
 * 1 us of it lost their stack: its LOCK_LOST record), B unchanged, and C,
 * new, with 3 waits of 100 ns.  The screen lists A, C, B: by wait in the
 * interval (B's total is the largest but it did not wait); rates per
 * second of the reads' clock; what the lock lost counted as the text
 * report counts it.  Without a previous read the interval columns are
 * dashes.  The header says what became of the writer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "profile.h"
#include "report.h"
#include "resolve.h"
#include "topview.h"
#include "unit/dumpbuild.h"
#include "viewkind.h"

#define LOCK_A 0x1000
#define LOCK_B 0x2000
#define LOCK_C 0x3000
#define SECOND 1000000000ull

struct read {
	struct dump d;
	struct profile p;
	struct topview_read r;
	struct dump_status st;
};

static void bucket(struct dumpbuild *b, uint64_t lock, uint64_t count, uint64_t delay,
                   uint64_t pc)
{
	db_bucket(b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, lock, count, delay, delay, 0, 0},
	          &pc, 1);
	db_lock(b, &(struct lc_rec_lock){.addr = lock, .kind = LC_KIND_MUTEX}, NULL);
}

/* A profile of the one process, read at `at` (the reader's clock), with
 * its writer `writer`; second: the later read. */
static void take(struct read *x, bool second, uint64_t at, enum dump_writer writer)
{
	struct dumpbuild b;
	char err[256];
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/bin/app", LC_META_STACKS, 0);
	bucket(&b, LOCK_A, second ? 10 : 2, second ? 8000 : 1000, 0x10);
	bucket(&b, LOCK_B, 1, 5000, 0x20);
	if (second) {
		struct lc_rec_lock_lost l = {.addr = LOCK_A};
		l.lost[LC_VIEW_WAIT][LC_LOST_NO_SLOT] = (struct lc_lost_entry){2, 1000};
		db_record(&b, LC_REC_LOCK_LOST, &l, sizeof(l), NULL, 0, NULL, 0);
		db_lost(&b, LC_VIEW_WAIT,
		        (struct lc_lost_entry[LC_LOST_NREASONS]){[LC_LOST_NO_SLOT] = {2, 1000}});
		bucket(&b, LOCK_C, 3, 300, 0x30);
	} else {
		db_lost(&b, LC_VIEW_WAIT, NULL);
	}
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	cr_assert_eq(dump_parse(b.buf, b.len, &x->d, err, sizeof(err)), 0, "%s", err);
	db_free(&b);
	struct resolve_opts o = {.demangle = true};
	cr_assert_eq(profile_build(&x->p, &x->d, 1, &o, VIEWKIND_ALL_KINDS, NULL), 0);
	cr_assert_eq(topview_take(&x->r, &x->p, &x->d, at), 0);
	x->st = (struct dump_status){.writer = writer};
}

static void drop(struct read *x)
{
	topview_free(&x->r);
	profile_free(&x->p);
	dump_free(&x->d);
}

/* The screen of cur against prev (NULL: none), `rows` locks at most. */
static char *screen(struct read *cur, struct read *prev, int rows, const char *note)
{
	const char *paths[] = {"app.raw"};
	struct report_input in = {&cur->p,    &cur->d, paths,    1, rows, PROF_DELAY, -1,
	                          &cur->st, 0,       false, 0, NULL};
	struct topview_screen s = {&in, prev ? &prev->r : NULL, &cur->r, note};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	topview_write(&s, f);
	fclose(f);
	return out;
}

Test(topview, a_read_sums_each_lock_with_what_it_lost)
{
	struct read x;
	take(&x, true, SECOND, DUMP_WRITER_LIVE);
	cr_assert_eq(x.r.nlocks, 3);
	cr_expect_eq(x.r.locks[0].addr, LOCK_A);
	cr_expect_eq(x.r.locks[0].count, 12);
	cr_expect_eq(x.r.locks[0].delay_ns, 9000);
	cr_expect_eq(x.r.locks[2].addr, LOCK_C);
	cr_expect_eq(x.r.locks[2].count, 3);
	cr_expect_eq(x.r.contentions, 16);
	cr_expect_eq(x.r.delay_ns, 14300);
	drop(&x);
}

Test(topview, the_locks_are_ordered_by_wait_in_the_interval)
{
	struct read a, b;
	take(&a, false, 10 * SECOND, DUMP_WRITER_LIVE);
	take(&b, true, 11 * SECOND, DUMP_WRITER_LIVE);
	char *out = screen(&b, &a, 20, NULL);
	const char *ra = strstr(out, "     8.00 us     8.00 us/s          10.0      9.00 us           12"
	                             "  mutex   0x1000\n");
	const char *rc = strstr(out, "      300 ns      300 ns/s           3.0       300 ns            3"
	                             "  mutex   0x3000\n");
	const char *rb = strstr(out, "        0 ns        0 ns/s           0.0      5.00 us            1"
	                             "  mutex   0x2000\n");
	cr_expect(ra && rc && rb && ra < rc && rc < rb, "%s", out);
	cr_expect(strstr(out, "\nLocks by wait in the last 1.00 s\n"), "%s", out);
	cr_expect(strstr(out, "  16 contentions, 14.30 us waited in all; in the last 1.00 s: 13.0 "
	                      "contentions/s, 8.30 us waited per second\n"),
	          "%s", out);
	cr_expect(strstr(out, "Waiting now: no thread waits for a lock\n"), "%s", out);
	free(out);
	out = screen(&b, &a, 2, NULL);
	cr_expect(strstr(out, "  ... 1 more locks (--rows)\n") && !strstr(out, "0x2000\n"), "%s",
	          out);
	free(out);
	drop(&a);
	drop(&b);
}

Test(topview, without_an_interval_only_totals)
{
	struct read b;
	take(&b, true, 11 * SECOND, DUMP_WRITER_DIED);
	char *out = screen(&b, NULL, 20, "not running: its totals only");
	cr_expect(strstr(out, "lockcontend top: pid 4242 /bin/app: died without a clean exit "
	                      "(killed, or crashed)\n  profile app.raw\n  16 contentions, "
	                      "14.30 us waited in all\n  not running: its totals only\n"),
	          "%s", out);
	cr_expect(strstr(out, "\nLocks by wait in all (no interval yet)\n"), "%s", out);
	cr_expect(strstr(out, "           -             -             -      9.00 us           12"
	                      "  mutex   0x1000\n"),
	          "%s", out);
	cr_expect(!strstr(out, "DEADLOCK"), "%s", out);
	free(out);
	drop(&b);
}

Test(topview, the_header_says_what_became_of_the_writer)
{
	struct read b;
	take(&b, true, 3 * SECOND + 1000, DUMP_WRITER_LIVE);
	char *out = screen(&b, NULL, 20, NULL);
	cr_expect(strstr(out, "lockcontend top: pid 4242 /bin/app: live, 3.00 s so far\n"), "%s",
	          out);
	free(out);
	b.st.writer = DUMP_WRITER_EXITED;
	out = screen(&b, NULL, 20, NULL);
	cr_expect(strstr(out, ": exited after 2.00 s\n"), "%s", out);
	free(out);
	drop(&b);
}
