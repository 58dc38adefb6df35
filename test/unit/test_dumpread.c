/*
 * test_dumpread.c — the dump reader (symbolize/dumpread.c) on version 2
 * dumps built by hand (dumpbuild.h), apart from the preload's writer.
 *
 * Tests: every field of every record type survives the trip, including
 * the three LOST records and LOCK records with and without frames; the
 * checks a v2 reader adds are one-line errors that name the record's
 * offset (a bucket's view or kind out of range, a lock's kind, more than
 * LC_LOCK_FIRST_FRAMES frames, a lock record shorter or longer than its
 * frames, a LOST record for a view out of range or for a view already
 * seen); a lock record cut by the end of the file is "cut short" there;
 * version 1 is refused; conservation holds per view and a change in one
 * view breaks only that view's check; every prefix of a v2 dump is an
 * error or incomplete, never complete.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "unit/dumpbuild.h"

#define LOCK_A 0x601040ull
#define LOCK_B 0x7f00deadbe00ull

static struct dumpbuild b;
static size_t at_wait, at_holder, at_lock_a, at_lock_b, at_lost[LC_NVIEWS], at_totals;

static const uint64_t stack1[] = {0x401234, 0x401500, 0x401600};
static const uint64_t stack2[] = {0x402000, 0x401500};
static const struct lc_lost_entry lost_wait[LC_LOST_NREASONS] = {{1, 10}, {0, 0}, {2, 20}};
static const struct lc_lost_entry lost_holder[LC_LOST_NREASONS] = {[LC_LOST_NO_SLOT] = {3, 30}};

static const struct lc_rec_totals other_totals = {
    .timeouts = 7, .stacks_refused = 1, .threads_unread = 2, .threads_seen = 9,
    .uncharged_ns = 555, .trylock_failures = 12, .locks_refused = 3};

/* A dump with every record type and each view; `lost_views` says which
 * views get a LOST record (bit per view). */
static void build(uint32_t lost_views)
{
	static const struct lc_rec_segment seg[] = {{0x400000, 0x10000, 0, 5, 0},
	                                            {0x600000, 0x2000, 0x1000, 6, 0}};
	static const uint8_t id[] = {0xde, 0xad, 0xbe, 0xef};
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/opt/app", LC_META_STACKS | LC_META_HOLDER, 100);
	db_module(&b, 0, seg, 2, id, sizeof(id), "/opt/app");
	at_wait = db_bucket(
	    &b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, LOCK_A, 5, 5000, 2000, 0}, stack1, 3);
	db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_RDLOCK, LOCK_B, 2, 900, 800,
	                                 LC_BUCKET_TIMEDOUT}, stack2, 2);
	at_holder = db_bucket(
	    &b, (struct db_bucket){LC_VIEW_HOLDER, LC_KIND_MUTEX, LOCK_A, 4, 4500, 1500, 0}, stack2, 2);
	db_bucket(&b, (struct db_bucket){LC_VIEW_HOLD, LC_KIND_WRLOCK, LOCK_B, 100, 70000, 3000,
	                                 LC_BUCKET_TRUNCATED}, stack1, 3);
	at_lock_a = db_lock(&b, &(struct lc_rec_lock){LOCK_A, 12, 7, 555, LC_KIND_MUTEX, 3}, stack1);
	at_lock_b = db_lock(&b, &(struct lc_rec_lock){LOCK_B, 0, 0, 0, LC_KIND_RDLOCK, 0}, NULL);
	const struct lc_lost_entry *lost[LC_NVIEWS] = {lost_wait, lost_holder, NULL};
	for (uint32_t v = 0; v < LC_NVIEWS; v++)
		if (lost_views & 1u << v)
			at_lost[v] = db_lost(&b, v, lost[v]);
	at_totals = db_totals(&b, other_totals);
	db_trailer(&b);
}

static void build_all(void)
{
	build(7);
}

static void teardown(void)
{
	db_free(&b);
}

TestSuite(dumpread, .init = build_all, .fini = teardown);

static void parse_ok(const uint8_t *buf, size_t len, struct dump *d)
{
	char err[256] = "";
	cr_assert_eq(dump_parse(buf, len, d, err, sizeof(err)), 0, "%s", err);
}

static void assert_one_line(const char *what, const char *s)
{
	cr_assert(s[0], "empty %s", what);
	cr_assert_null(strchr(s, '\n'), "%s spans lines: %s", what, s);
}

/* Parsing fails with one line that contains needle; *d is left freed. */
static void assert_parse_error(const uint8_t *buf, size_t len, const char *needle)
{
	struct dump d;
	char err[256] = "";
	cr_assert_eq(dump_parse(buf, len, &d, err, sizeof(err)), -1, "parsed; expected \"%s\"",
	             needle);
	assert_one_line("error", err);
	cr_assert(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
	cr_assert(d.buckets == NULL && d.locks == NULL, "a failed parse must leave *d freed");
}

static const char *at_offset(size_t at)
{
	static char s[64];
	snprintf(s, sizeof(s), "at offset %zu", at);
	return s;
}

/* ---- round trip ------------------------------------------------------------ */

static void assert_bucket(const struct dump_bucket *a, struct db_bucket e, const uint64_t *pcs,
                          uint32_t n)
{
	cr_assert_eq(a->view, e.view);
	cr_assert_eq(a->kind, e.kind);
	cr_assert_eq(a->lock, e.lock);
	cr_assert_eq(a->count, e.count);
	cr_assert_eq(a->delay_ns, e.delay_ns);
	cr_assert_eq(a->max_ns, e.max_ns);
	cr_assert_eq(a->flags, e.flags);
	cr_assert_eq(a->nframes, n);
	cr_assert_arr_eq(a->pcs, pcs, n * sizeof(*pcs));
}

static void assert_totals(const struct lc_rec_totals *t)
{
	cr_assert_eq(t->contentions, 5 + 2 + 1 + 2);
	cr_assert_eq(t->delay_ns, 5000 + 900 + 10 + 20);
	cr_assert_eq(t->caused_count, 4 + 3);
	cr_assert_eq(t->caused_ns, 4500 + 30);
	cr_assert_eq(t->holds, 100);
	cr_assert_eq(t->hold_ns, 70000);
	cr_assert_eq(t->timeouts, 7);
	cr_assert_eq(t->buckets, 4);
	cr_assert_eq(t->modules, 1);
	cr_assert_eq(t->stacks_refused, 1);
	cr_assert_eq(t->threads_unread, 2);
	cr_assert_eq(t->threads_seen, 9);
	cr_assert_eq(t->uncharged_ns, 555);
	cr_assert_eq(t->trylock_failures, 12);
	cr_assert_eq(t->locks, 2);
	cr_assert_eq(t->locks_refused, 3);
}

Test(dumpread, round_trip_every_v2_field)
{
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete, "%s", d.warning);
	cr_assert_eq(d.records, 1 + 1 + 4 + 2 + 3 + 1);
	cr_assert_eq(d.meta.hold_rate, 100);
	cr_assert_eq(d.meta.flags, LC_META_STACKS | LC_META_HOLDER);
	cr_assert_eq(d.nbuckets, 4);
	assert_bucket(&d.buckets[0], (struct db_bucket){0, 0, LOCK_A, 5, 5000, 2000, 0}, stack1, 3);
	assert_bucket(&d.buckets[1], (struct db_bucket){0, 1, LOCK_B, 2, 900, 800, 2}, stack2, 2);
	assert_bucket(&d.buckets[2], (struct db_bucket){1, 0, LOCK_A, 4, 4500, 1500, 0}, stack2, 2);
	assert_bucket(&d.buckets[3], (struct db_bucket){2, 2, LOCK_B, 100, 70000, 3000, 1}, stack1, 3);
	cr_assert_eq(d.nlocks, 2);
	const struct dump_lock *a = &d.locks[0], *l = &d.locks[1];
	cr_assert(a->addr == LOCK_A && a->trylock_failures == 12 && a->timeouts == 7 &&
	          a->uncharged_ns == 555 && a->kind == LC_KIND_MUTEX && a->nframes == 3);
	cr_assert_arr_eq(a->pcs, stack1, sizeof(stack1));
	cr_assert(l->addr == LOCK_B && l->kind == LC_KIND_RDLOCK && l->nframes == 0);
	cr_assert_eq(dump_lock_of(&d, LOCK_B), l);
	cr_assert_null(dump_lock_of(&d, LOCK_B + 8));
	cr_assert_eq(d.lost_views, 7);
	cr_assert(d.have_lost);
	cr_assert_arr_eq(d.lost[LC_VIEW_WAIT], lost_wait, sizeof(lost_wait));
	cr_assert_arr_eq(d.lost[LC_VIEW_HOLDER], lost_holder, sizeof(lost_holder));
	assert_totals(&d.totals);
	dump_free(&d);
}

/* ---- per-view sums and conservation ------------------------------------------ */

Test(dumpread, sums_and_conservation_are_per_view)
{
	struct dump d;
	uint64_t c, t;
	parse_ok(b.buf, b.len, &d);
	dump_sum(&d, LC_VIEW_WAIT, &c, &t);
	cr_assert(c == 10 && t == 5930, "wait %lu %lu", (unsigned long)c, (unsigned long)t);
	dump_lost_sum(&d, LC_VIEW_HOLDER, &c, &t);
	cr_assert(c == 3 && t == 30);
	dump_sum(&d, LC_VIEW_HOLD, &c, &t);
	cr_assert(c == 100 && t == 70000);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(&d, (enum lc_view)v), "view %d", v);
	d.buckets[2].count++; /* a holder bucket */
	cr_assert(!dump_view_conserved(&d, LC_VIEW_HOLDER));
	cr_assert(dump_view_conserved(&d, LC_VIEW_WAIT) && dump_view_conserved(&d, LC_VIEW_HOLD));
	d.buckets[2].count--;
	d.totals.hold_ns++;
	cr_assert(!dump_view_conserved(&d, LC_VIEW_HOLD));
	cr_assert(dump_view_conserved(&d, LC_VIEW_HOLDER));
	d.have_totals = false;
	cr_assert(!dump_view_conserved(&d, LC_VIEW_WAIT), "no totals: nothing is conserved");
	dump_free(&d);
}

/* A dump with a LOST record for the waiter view only: the others lost
 * nothing, and it is still complete. */
Test(dumpread, views_without_lost_record_lost_nothing)
{
	struct dump d;
	db_free(&b);
	build(1u << LC_VIEW_WAIT);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete);
	cr_assert_eq(d.lost_views, 1u << LC_VIEW_WAIT);
	uint64_t c, t;
	dump_lost_sum(&d, LC_VIEW_HOLDER, &c, &t);
	cr_assert(c == 0 && t == 0);
	cr_assert(dump_view_conserved(&d, LC_VIEW_HOLDER));
	dump_free(&d);
}

/* ---- checks ------------------------------------------------------------------ */

Test(dumpread, version_1_is_refused)
{
	db_free(&b);
	db_begin(&b, 1, "/x", 0, 0);
	db_trailer(&b);
	assert_parse_error(b.buf, b.len, "version 1.0 is not supported (this reader: 2.x)");
}

/* The payload byte at off + 8 + field of the record whose head is at off. */
static uint8_t *field(size_t off, size_t f)
{
	return b.buf + off + sizeof(struct lc_rec_head) + f;
}

Test(dumpread, bucket_view_and_kind_out_of_range)
{
	uint8_t *view = field(at_wait, 40), *kind = field(at_wait, 41);
	*view = LC_NVIEWS;
	assert_parse_error(b.buf, b.len, at_offset(at_wait));
	*view = 0xff;
	assert_parse_error(b.buf, b.len, "corrupt bucket record");
	*view = LC_VIEW_HOLD;
	*kind = LC_NKINDS;
	assert_parse_error(b.buf, b.len, at_offset(at_wait));
	*kind = LC_KIND_SPIN; /* the largest valid values parse */
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.buckets[0].view == LC_VIEW_HOLD && d.buckets[0].kind == LC_KIND_SPIN);
	dump_free(&d);
}

Test(dumpread, lock_kind_out_of_range)
{
	uint32_t bad = LC_NKINDS;
	memcpy(field(at_lock_a, 32), &bad, 4);
	assert_parse_error(b.buf, b.len, "corrupt lock record");
	assert_parse_error(b.buf, b.len, at_offset(at_lock_a));
}

/* nframes says more than LC_LOCK_FIRST_FRAMES, the record holding them all. */
Test(dumpread, lock_with_more_than_8_frames)
{
	uint64_t pcs[LC_LOCK_FIRST_FRAMES + 1] = {0};
	struct lc_rec_lock l = {.addr = 1, .nframes = LC_LOCK_FIRST_FRAMES + 1};
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	size_t at = db_lock(&b, &l, pcs);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	assert_parse_error(b.buf, b.len, at_offset(at));
	l.nframes = LC_LOCK_FIRST_FRAMES; /* 8 exactly is fine */
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_lock(&b, &l, pcs);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	cr_assert_eq(d.locks[0].nframes, LC_LOCK_FIRST_FRAMES);
	dump_free(&d);
}

/* A lock record whose nframes disagrees with its size, either way. */
Test(dumpread, lock_record_shorter_or_longer_than_its_frames)
{
	uint32_t *nframes = (uint32_t *)field(at_lock_a, 36);
	*nframes = 4; /* the record holds 3 */
	assert_parse_error(b.buf, b.len, at_offset(at_lock_a));
	*nframes = 2; /* one frame left over */
	assert_parse_error(b.buf, b.len, at_offset(at_lock_a));
	*nframes = 3;
	struct lc_rec_head *h = (struct lc_rec_head *)(b.buf + at_lock_b);
	h->size = sizeof(struct lc_rec_lock) - 8; /* shorter than the struct itself */
	assert_parse_error(b.buf, b.len, at_offset(at_lock_b));
}

Test(dumpread, lock_record_cut_by_the_end_of_the_file)
{
	struct dump d;
	size_t cut = at_lock_a + sizeof(struct lc_rec_head) + sizeof(struct lc_rec_lock) + 8;
	parse_ok(b.buf, cut, &d);
	cr_assert(!d.complete);
	cr_assert(strstr(d.warning, "inside a record (lock)"), "%s", d.warning);
	cr_assert_eq(d.stop_offset, at_lock_a);
	cr_assert_eq(d.nlocks, 0);
	cr_assert_eq(d.nbuckets, 4);
	dump_free(&d);
}

Test(dumpread, lost_view_out_of_range)
{
	uint32_t bad = LC_NVIEWS;
	memcpy(field(at_lost[LC_VIEW_HOLD], 0), &bad, 4);
	assert_parse_error(b.buf, b.len, "corrupt lost record");
	assert_parse_error(b.buf, b.len, at_offset(at_lost[LC_VIEW_HOLD]));
}

Test(dumpread, duplicate_lost_for_one_view)
{
	uint32_t wait = LC_VIEW_WAIT;
	memcpy(field(at_lost[LC_VIEW_HOLDER], 0), &wait, 4); /* two for the waiter view */
	assert_parse_error(b.buf, b.len, "corrupt lost record");
	assert_parse_error(b.buf, b.len, at_offset(at_lost[LC_VIEW_HOLDER]));
}

Test(dumpread, complete_without_any_lost_record)
{
	db_free(&b);
	build(0);
	assert_parse_error(b.buf, b.len, "without a lost record");
}

/* A record type of a newer minor version is skipped, whatever its size. */
Test(dumpread, unknown_record_type_is_skipped)
{
	struct dump d;
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_record(&b, LC_REC_LOCK + 1, "abcdefghijk", 11, NULL, 0, NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete);
	cr_assert_eq(d.skipped, 1);
	dump_free(&d);
}

/* ---- truncation ------------------------------------------------------------ */

Test(dumpread, every_prefix_is_an_error_or_incomplete)
{
	size_t errors = 0, incomplete = 0;
	for (size_t k = 0; k < b.len; k++) {
		uint8_t *copy = malloc(k ? k : 1); /* exactly k bytes: ASan sees overreads */
		memcpy(copy, b.buf, k);
		struct dump d;
		char err[256] = "";
		if (dump_parse(copy, k, &d, err, sizeof(err)) != 0) {
			assert_one_line("error", err);
			errors++;
		} else {
			cr_assert(!d.complete, "prefix %zu parsed as complete", k);
			assert_one_line("warning", d.warning);
			cr_assert_leq(d.stop_offset, k);
			dump_free(&d);
			incomplete++;
		}
		free(copy);
	}
	cr_assert(errors > 0 && incomplete > 0);
}
