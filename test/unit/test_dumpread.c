/*
 * test_dumpread.c — the dump reader (symbolize/dumpread.c) on version 3
 * dumps built by hand (dumpbuild.h), apart from the preload's writer.
 *
 * Tests: every field of every record type survives the trip (LIVE, SLOT,
 * module epochs and the epochs of a bucket and a LOCK record too), including
 * the three LOST records and LOCK records with and without frames; the checks a reader makes are
 * one-line errors that name the record's offset (a bucket's view out of
 * range, more than LC_LOCK_FIRST_FRAMES frames, a
 * LOCK record shorter than its frames or longer than its room, a module
 * unloaded before it was loaded, a LOST record for a view out of range or
 * for a view already seen, a second LIVE record, a complete file without
 * LIVE); versions 2 and 4 are refused; conservation holds per view and a
 * change in one view breaks only that view's check.
 * WRITER (3.6): its version is read, a byte a terminal would act on as '?';
 * a file without one (3.5 and older) reads as before, its writer unknown;
 * a second one, or one of no bytes or more than LC_DUMP_MAX_VERSION, is
 * corrupt.
 * THREAD (3.7): each thread's own figures are end - base; one still
 * running ends at the next thread's base on its slot, or at the slot's
 * totals now; one on no SLOT record, or whose figures would go down, is
 * not known (0), and the rest of the totals holds it and the threads with
 * no record; a name is cut at 15 bytes, unprintable bytes '?'; a file
 * without THREAD records (3.6 and older) reads as before, every event in
 * the rest; a record shorter or longer than its struct is corrupt.
 *
 * The in-place file: PENDING records are skipped (and counted by the
 * trailer); a head of zeros ends the records, whatever its size says and
 * whatever follows it, and the file is then whole but incomplete, as is one
 * that ends right after a record; only one that ends inside a record (or
 * inside a head that is not zeros) was cut short; zeros after a trailer are
 * allowed.  Without TOTALS, totals and lost are the SLOT records' sums and
 * LIVE's counters (a LOST record read before is replaced), and the buckets
 * may fall short of them by what was in flight.  A frame belongs to the
 * module of its bucket's (or LOCK record's) epoch: two modules at one
 * address, one epoch each.
 * A lock kind this reader does not know (3.9: a later minor version's) is
 * no error: the BUCKET, LOCK or WAITING record is skipped and counted, a
 * bucket's events kept apart so that its view still adds up.
 * Every prefix of a dump is an error or incomplete, never complete.
 * dump_read_file opens a regular file only: a FIFO, a device or a
 * directory is one line, at once (safeopen.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dumpread.h"
#include "safeopen.h"
#include "unit/dumpbuild.h"

#define LOCK_A 0x601040ull
#define LOCK_B 0x7f00deadbe00ull

static struct dumpbuild b;
static size_t at_writer, at_module, at_wait, at_holder, at_lock_a, at_lock_b, at_lost[LC_NVIEWS], at_totals;

static const uint64_t stack1[] = {0x401234, 0x401500, 0x401600};
static const uint64_t stack2[] = {0x402000, 0x401500};
static const struct lc_lost_entry lost_wait[LC_LOST_NREASONS] = {{1, 10}, {0, 0}, {2, 20}};
static const struct lc_lost_entry lost_holder[LC_LOST_NREASONS] = {[LC_LOST_NO_SLOT] = {3, 30}};
static const struct lc_rec_live live = {
    .state = LC_LIVE_EXITED, .epoch = 3, .snapshots = 2, .snapshot_mono_ns = 1500,
    .trylock_failures = 12, .stacks_refused = 1, .locks_refused = 3, .threads_seen = 9,
    .modules_dropped = 4};
static const struct lc_rec_slot slot = {
    .count = {10, 7, 100}, .delay_ns = {5930, 4530, 70000}, .timeouts = 7, .uncharged_ns = 555,
    .lost = {{{1, 10}, {0, 0}, {2, 20}}, {[LC_LOST_NO_SLOT] = {3, 30}}}};

static const struct lc_rec_totals other_totals = {
    .timeouts = 7, .stacks_refused = 1, .threads_unread = 2, .threads_seen = 9,
    .uncharged_ns = 555, .trylock_failures = 12, .locks_refused = 3};

static const struct lc_rec_segment seg[] = {{0x400000, 0x10000, 0, 5, 0},
                                            {0x600000, 0x2000, 0x1000, 6, 0}};
static const uint8_t id[] = {0xde, 0xad, 0xbe, 0xef};

/* What a running writer has written: META, LIVE, a module, buckets of each
 * view, two locks, a slot. */
static void build_records(void)
{
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/opt/app", LC_META_STACKS | LC_META_HOLDER, 100);
	db_live(&b, &live);
	at_writer = db_writer(&b, "0.1.0");
	at_module = db_module_epochs(&b, 0, seg, 2, id, sizeof(id), "/opt/app", 1, 5);
	at_wait = db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, LOCK_A, 5, 5000, 2000,
	                                           0, 2}, stack1, 3);
	db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_RDLOCK, LOCK_B, 2, 900, 800,
	                                 LC_BUCKET_TIMEDOUT, 0}, stack2, 2);
	at_holder = db_bucket(&b, (struct db_bucket){LC_VIEW_HOLDER, LC_KIND_MUTEX, LOCK_A, 4, 4500,
	                                             1500, 0, 0}, stack2, 2);
	db_bucket(&b, (struct db_bucket){LC_VIEW_HOLD, LC_KIND_WRLOCK, LOCK_B, 100, 70000, 3000,
	                                 LC_BUCKET_TRUNCATED, 0}, stack1, 3);
	at_lock_a = db_lock(&b, &(struct lc_rec_lock){LOCK_A, 12, 7, 555, LC_KIND_MUTEX, 3,
	                                              .epoch = 2}, stack1);
	at_lock_b = db_lock(&b, &(struct lc_rec_lock){LOCK_B, 0, 0, 0, LC_KIND_RDLOCK, 0,
	                                              .epoch = 0}, NULL);
	db_slot(&b, &slot);
}

/* A complete dump; `lost_views` says which views get a LOST record (bit per
 * view). */
static void build(uint32_t lost_views)
{
	build_records();
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
	cr_assert(d.buckets == NULL && d.locks == NULL && d.slots == NULL,
	          "a failed parse must leave *d freed");
}

static const char *at_offset(size_t at)
{
	static char s[64];
	snprintf(s, sizeof(s), "at offset %zu", at);
	return s;
}

/* The payload byte at off + 8 + field of the record whose head is at off. */
static uint8_t *field(size_t off, size_t f)
{
	return b.buf + off + sizeof(struct lc_rec_head) + f;
}

static struct lc_rec_head *head_at(size_t off)
{
	return (struct lc_rec_head *)(b.buf + off);
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
	cr_assert_eq(a->epoch, e.epoch);
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
	cr_assert_eq(t->threads_seen, 9);
	cr_assert_eq(t->uncharged_ns, 555);
	cr_assert_eq(t->trylock_failures, 12);
	cr_assert_eq(t->locks, 2);
	cr_assert_eq(t->locks_refused, 3);
}

static void assert_module_and_live(const struct dump *d)
{
	const struct dump_module *m = &d->modules[0];
	cr_assert_eq(d->nmodules, 1);
	cr_assert(m->load_bias == 0 && m->nsegments == 2 && m->build_id_len == 4);
	cr_assert_arr_eq(m->segments, seg, sizeof(seg));
	cr_assert_str_eq(m->path, "/opt/app");
	cr_assert(m->epoch_first == 1 && m->epoch_last == 5);
	cr_assert(d->have_live);
	cr_assert_arr_eq(&d->live, &live, sizeof(live));
	cr_assert_eq(d->nslots, 1);
	cr_assert_arr_eq(&d->slots[0], &slot, sizeof(slot));
}

Test(dumpread, round_trip_every_v3_field)
{
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete, "%s", d.warning);
	cr_assert_eq(d.end, DUMP_END_TRAILER);
	cr_assert_eq(d.records, 3 + 1 + 4 + 2 + 1 + 3 + 1); /* META LIVE WRITER, module, ... */
	cr_assert(d.pending == 0 && d.skipped == 0 && !d.totals_from_slots);
	cr_assert_eq(d.meta.hold_rate, 100);
	cr_assert_eq(d.meta.flags, LC_META_STACKS | LC_META_HOLDER);
	assert_module_and_live(&d);
	cr_assert_eq(d.nbuckets, 4);
	assert_bucket(&d.buckets[0], (struct db_bucket){0, 0, LOCK_A, 5, 5000, 2000, 0, 2}, stack1, 3);
	assert_bucket(&d.buckets[1], (struct db_bucket){0, 1, LOCK_B, 2, 900, 800, 2, 0}, stack2, 2);
	assert_bucket(&d.buckets[2], (struct db_bucket){1, 0, LOCK_A, 4, 4500, 1500, 0, 0}, stack2, 2);
	assert_bucket(&d.buckets[3], (struct db_bucket){2, 2, LOCK_B, 100, 70000, 3000, 1, 0}, stack1,
	              3);
	cr_assert_eq(d.nlocks, 2);
	const struct dump_lock *a = &d.locks[0], *l = &d.locks[1];
	cr_assert(a->addr == LOCK_A && a->trylock_failures == 12 && a->timeouts == 7 &&
	          a->uncharged_ns == 555 && a->kind == LC_KIND_MUTEX && a->nframes == 3 &&
	          a->epoch == 2);
	cr_assert_arr_eq(a->pcs, stack1, sizeof(stack1));
	cr_assert(l->addr == LOCK_B && l->kind == LC_KIND_RDLOCK && l->nframes == 0 &&
	          l->epoch == 0);
	cr_assert_eq(dump_lock_of(&d, LOCK_B), l);
	cr_assert_null(dump_lock_of(&d, LOCK_B + 8));
	cr_assert_eq(d.lost_views, 7);
	cr_assert(d.have_lost && d.have_totals);
	cr_assert_arr_eq(d.lost[LC_VIEW_WAIT], lost_wait, sizeof(lost_wait));
	cr_assert_arr_eq(d.lost[LC_VIEW_HOLDER], lost_holder, sizeof(lost_holder));
	assert_totals(&d.totals);
	cr_assert_eq(d.totals.threads_unread, 2, "a TOTALS record is taken as it is");
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
	for (int v = 0; v < LC_NVIEWS; v++) {
		cr_assert(dump_view_conserved(&d, (enum lc_view)v), "view %d", v);
		cr_assert(dump_view_in_flight(&d, (enum lc_view)v, &c, &t) && c == 0 && t == 0);
	}
	cr_assert(!dump_totals_while_running(&d), "complete, at exit: every stash was merged");
	d.live.state = LC_LIVE_SNAPSHOT;
	cr_assert(dump_totals_while_running(&d), "a snapshot's totals are the slots' as they were");
	d.live.state = LC_LIVE_EXITED;
	d.buckets[2].count++; /* a holder bucket */
	cr_assert(!dump_view_conserved(&d, LC_VIEW_HOLDER));
	cr_assert(!dump_view_in_flight(&d, LC_VIEW_HOLDER, &c, &t), "more in the stacks");
	cr_assert(dump_view_conserved(&d, LC_VIEW_WAIT) && dump_view_conserved(&d, LC_VIEW_HOLD));
	d.buckets[2].count--;
	d.totals.hold_ns++;
	cr_assert(!dump_view_conserved(&d, LC_VIEW_HOLD));
	cr_assert(dump_view_in_flight(&d, LC_VIEW_HOLD, &c, &t) && c == 0 && t == 1);
	cr_assert(dump_view_conserved(&d, LC_VIEW_HOLDER));
	d.have_totals = false;
	cr_assert(!dump_view_conserved(&d, LC_VIEW_WAIT), "no totals: nothing is conserved");
	cr_assert(!dump_view_in_flight(&d, LC_VIEW_WAIT, &c, &t));
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

Test(dumpread, versions_2_and_4_are_refused)
{
	db_free(&b);
	char want[80];
	db_begin(&b, 2, "/x", 0, 0);
	db_trailer(&b);
	snprintf(want, sizeof(want), "version 2.%d is not supported (this reader: 3.x)",
	         LC_DUMP_VERSION_MINOR);
	assert_parse_error(b.buf, b.len, want);
	uint16_t v = 4;
	memcpy(b.buf + 8, &v, 2);
	snprintf(want, sizeof(want), "version 4.%d is not supported (this reader: 3.x)",
	         LC_DUMP_VERSION_MINOR);
	assert_parse_error(b.buf, b.len, want);
}

Test(dumpread, a_header_of_zeros_is_a_file_being_created)
{
	memset(b.buf, 0, sizeof(struct lc_dump_header));
	assert_parse_error(b.buf, b.len, "no dump header yet");
	assert_parse_error(b.buf, sizeof(struct lc_dump_header), "no dump header yet");
	b.buf[3] = 'x';
	assert_parse_error(b.buf, b.len, "bad magic");
}

Test(dumpread, bucket_view_out_of_range)
{
	uint8_t *view = field(at_wait, 40), *kind = field(at_wait, 41);
	*view = LC_NVIEWS;
	assert_parse_error(b.buf, b.len, at_offset(at_wait));
	*view = 0xff;
	assert_parse_error(b.buf, b.len, "corrupt bucket record");
	*view = LC_VIEW_HOLD;
	*kind = LC_KIND_SEM; /* the largest valid values parse */
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.buckets[0].view == LC_VIEW_HOLD && d.buckets[0].kind == LC_KIND_SEM);
	cr_assert_eq(d.skipped_kind, 0);
	dump_free(&d);
}

/* A kind past the last one this reader knows is a newer writer's: the
 * bucket is skipped, not the file refused; its events are counted apart
 * and its view still adds up; the note says how many were skipped.  A
 * bucket whose other fields are wrong is corrupt all the same. */
Test(dumpread, a_bucket_of_an_unknown_kind_is_skipped_and_its_view_adds_up)
{
	uint8_t *kind = field(at_wait, 41);
	for (unsigned k = LC_NKINDS; k <= 0xff; k += 0xff - LC_NKINDS) {
		*kind = (uint8_t)k;
		struct dump d;
		parse_ok(b.buf, b.len, &d);
		cr_assert_eq(d.nbuckets, 3, "kind %u: the bucket is skipped", k);
		cr_assert(d.skipped_kind == 1 && d.skipped_kind_locks == 0);
		cr_assert(dump_records_counted(&d), "a skipped record is there all the same");
		cr_assert(d.unknown_kind[LC_VIEW_WAIT].count == 5 &&
		          d.unknown_kind[LC_VIEW_WAIT].delay_ns == 5000);
		cr_assert(!d.unknown_kind[LC_VIEW_HOLDER].count);
		for (int v = 0; v < LC_NVIEWS; v++)
			cr_assert(dump_view_conserved(&d, (enum lc_view)v), "view %d", v);
		for (size_t i = 0; i < d.nbuckets; i++)
			cr_assert_lt(d.buckets[i].kind, LC_NKINDS);
		char note[512];
		cr_assert(dump_skipped_kind_note(&d, note, sizeof(note)));
		cr_assert(strstr(note, "1 records of a lock kind") && strstr(note, "5 contentions"),
		          "%s", note);
		dump_free(&d);
	}
	uint32_t n = 0;
	memcpy(field(at_wait, 36), &n, 4); /* no frames: corrupt, whatever its kind */
	assert_parse_error(b.buf, b.len, at_offset(at_wait));
}

Test(dumpread, a_lock_of_an_unknown_kind_is_skipped)
{
	uint32_t bad = LC_NKINDS;
	memcpy(field(at_lock_a, 32), &bad, 4);
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.nlocks == 1 && d.locks[0].addr == LOCK_B && d.skipped_kind == 1 &&
	          d.skipped_kind_locks == 1);
	cr_assert(dump_records_counted(&d), "a skipped record is there all the same");
	cr_assert_null(dump_lock_of(&d, LOCK_A));
	char note[512];
	cr_assert(dump_skipped_kind_note(&d, note, sizeof(note)));
	dump_free(&d);
	uint32_t n = LC_LOCK_FIRST_FRAMES + 1; /* more frames than room: corrupt all the same */
	memcpy(field(at_lock_a, 36), &n, 4);
	assert_parse_error(b.buf, b.len, "corrupt lock record");
	assert_parse_error(b.buf, b.len, at_offset(at_lock_a));
}

Test(dumpread, module_unloaded_before_it_was_loaded)
{
	uint32_t first = 6; /* last is 5 */
	memcpy(field(at_module, 24), &first, 4);
	assert_parse_error(b.buf, b.len, "corrupt module record");
	assert_parse_error(b.buf, b.len, at_offset(at_module));
	first = 5; /* loaded and unloaded in one epoch: fine */
	memcpy(field(at_module, 24), &first, 4);
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	dump_free(&d);
}

/* nframes says more than LC_LOCK_FIRST_FRAMES, the record holding them all. */
Test(dumpread, lock_with_more_than_8_frames)
{
	uint64_t pcs[LC_LOCK_FIRST_FRAMES + 1] = {0};
	struct lc_rec_lock l = {.addr = 1, .nframes = LC_LOCK_FIRST_FRAMES + 1};
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	size_t at = db_lock_sized(&b, &l, pcs, sizeof(l) + sizeof(pcs));
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

/* LOCK_LOST records add up per address, whether before or after their
 * LOCK record, and LOCK_UNCHARGED ones (3.11) into the lock's uncharged
 * waiting; one whose size is not a whole number of reasons, or a
 * LOCK_UNCHARGED of another size, is corrupt; one of a lock without a LOCK
 * record is kept apart. */
Test(dumpread, lock_lost_records_add_up_to_their_lock)
{
	struct lc_rec_lock_lost a = {.addr = LOCK_A}, c = {.addr = 0x999};
	a.lost[LC_VIEW_WAIT][LC_LOST_EVICTED] = (struct lc_lost_entry){3, 300};
	a.lost[LC_VIEW_HOLDER][LC_LOST_NO_SLOT] = (struct lc_lost_entry){1, 50};
	struct lc_rec_lock_uncharged u = {.addr = LOCK_A, .uncharged_ns = 7};
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_record(&b, LC_REC_LOCK_LOST, &a, sizeof(a), NULL, 0, NULL, 0);
	db_record(&b, LC_REC_LOCK_UNCHARGED, &u, sizeof(u), NULL, 0, NULL, 0);
	db_lock(&b, &(struct lc_rec_lock){LOCK_A, 0, 0, 5, LC_KIND_MUTEX, 0, .epoch = 0}, NULL);
	db_record(&b, LC_REC_LOCK_LOST, &a, sizeof(a), NULL, 0, NULL, 0);
	db_record(&b, LC_REC_LOCK_UNCHARGED, &u, sizeof(u), NULL, 0, NULL, 0);
	db_record(&b, LC_REC_LOCK_LOST, &c, sizeof(c), NULL, 0, NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	cr_assert_eq(d.nlock_losts, 5);
	const struct dump_lock *l = dump_lock_of(&d, LOCK_A);
	cr_assert_eq(l->lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 6);
	cr_assert_eq(l->lost[LC_VIEW_WAIT][LC_LOST_EVICTED].delay_ns, 600);
	cr_assert_eq(l->lost[LC_VIEW_HOLDER][LC_LOST_NO_SLOT].delay_ns, 100);
	cr_assert_eq(l->lost[LC_VIEW_HOLD][LC_LOST_NO_SLOT].count, 0);
	cr_assert_eq(l->uncharged_ns, 5 + 7 + 7, "the LOCK's and the LOCK_UNCHARGEDs': %llu",
	             (unsigned long long)l->uncharged_ns);
	dump_free(&d);

	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	size_t at = db_record(&b, LC_REC_LOCK_LOST, &a, sizeof(a) - 8, NULL, 0, NULL, 0);
	db_trailer(&b);
	assert_parse_error(b.buf, b.len, at_offset(at));
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	at = db_record(&b, LC_REC_LOCK_UNCHARGED, &u, sizeof(u) - 8, NULL, 0, NULL, 0);
	db_trailer(&b);
	assert_parse_error(b.buf, b.len, at_offset(at));
}

/* LOCK_NO_CELL records (3.12) add up per address into their lock's
 * no-cell waits, and all of them, a lock's without a LOCK record too, into
 * the dump's total; one of another size is corrupt.  A 3.11 file (no such
 * record: its writer did not count them) says it does not know. */
Test(dumpread, lock_no_cell_records_add_up_to_their_lock_and_the_total)
{
	struct lc_rec_lock_lost a = {.addr = LOCK_A};
	struct lc_rec_lock_uncharged u = {.addr = LOCK_A, .uncharged_ns = 700};
	struct lc_rec_lock_no_cell n = {.addr = LOCK_A, .count = 2, .delay_ns = 300};
	struct lc_rec_lock_no_cell other = {.addr = 0x999, .count = 1, .delay_ns = 40};
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", LC_META_HOLDER, 0);
	db_record(&b, LC_REC_LOCK_LOST, &a, sizeof(a), NULL, 0, NULL, 0);
	db_record(&b, LC_REC_LOCK_UNCHARGED, &u, sizeof(u), NULL, 0, NULL, 0);
	db_record(&b, LC_REC_LOCK_NO_CELL, &n, sizeof(n), NULL, 0, NULL, 0);
	db_lock(&b, &(struct lc_rec_lock){LOCK_A, 0, 0, 0, LC_KIND_MUTEX, 0, .epoch = 0}, NULL);
	db_record(&b, LC_REC_LOCK_NO_CELL, &n, sizeof(n), NULL, 0, NULL, 0);
	db_record(&b, LC_REC_LOCK_NO_CELL, &other, sizeof(other), NULL, 0, NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){.uncharged_ns = 740});
	db_trailer(&b);
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	const struct dump_lock *l = dump_lock_of(&d, LOCK_A);
	cr_assert(l->no_cell_count == 4 && l->no_cell_ns == 600, "lock: %llu waits, %llu ns",
	          (unsigned long long)l->no_cell_count, (unsigned long long)l->no_cell_ns);
	cr_assert(d.have_no_cell && d.no_cell_count == 5 && d.no_cell_ns == 640,
	          "total: %llu waits, %llu ns", (unsigned long long)d.no_cell_count,
	          (unsigned long long)d.no_cell_ns);
	dump_free(&d);

	/* the same file as a 3.11 writer's would be (a 3.11 reader skips the
	 * records, as any of a type it does not know) */
	((struct lc_dump_header *)b.buf)->version_minor = 11;
	parse_ok(b.buf, b.len, &d);
	cr_assert(!d.have_no_cell, "a 3.11 file does not say how much found no cell");
	dump_free(&d);

	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	size_t at = db_record(&b, LC_REC_LOCK_NO_CELL, &n, sizeof(n) - 8, NULL, 0, NULL, 0);
	db_trailer(&b);
	assert_parse_error(b.buf, b.len, at_offset(at));
}

/* One LOCK record of `size` payload bytes with nframes 3; parses or not. */
static int parse_lock_of_size(size_t size, struct dump *d)
{
	char err[256];
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_lock_sized(&b, &(struct lc_rec_lock){LOCK_A, 0, 0, 0, LC_KIND_MUTEX, 3, .epoch = 0},
	              stack1, size);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	return dump_parse(b.buf, b.len, d, err, sizeof(err));
}

/* A LOCK record holds its frames and may have room for up to 8, no more;
 * what is past its frames is not read. */
Test(dumpread, lock_record_size_rules)
{
	const size_t base = sizeof(struct lc_rec_lock);
	struct dump d;
	for (size_t size = base + 3 * 8; size <= base + LC_LOCK_FIRST_FRAMES * 8; size += 4) {
		cr_assert_eq(parse_lock_of_size(size, &d), 0, "size %zu refused", size);
		cr_assert(d.complete && d.nlocks == 1 && d.locks[0].nframes == 3);
		cr_assert_arr_eq(d.locks[0].pcs, stack1, sizeof(stack1));
		cr_assert_eq(d.locks[0].pcs[3], 0, "a frame past nframes was read");
		dump_free(&d);
	}
	cr_assert_eq(parse_lock_of_size(base + LC_LOCK_FIRST_FRAMES * 8 + 8, &d), -1,
	             "longer than the room for 8 frames");
	cr_assert_eq(parse_lock_of_size(base + LC_LOCK_FIRST_FRAMES * 8 + 1, &d), -1);
	/* the room's bytes need not be zero: a live writer may fill it first */
	db_free(&b);
	build_all();
	memset(field(at_lock_a, base + 3 * 8), 0x5a, 8);
	parse_ok(b.buf, b.len, &d);
	cr_assert_eq(d.locks[0].nframes, 3);
	dump_free(&d);
}

/* A lock record whose nframes says more than its size holds, or whose size
 * is shorter than the struct itself. */
Test(dumpread, lock_record_shorter_than_its_frames)
{
	head_at(at_lock_b)->size = sizeof(struct lc_rec_lock) + 8; /* room for 1 */
	uint32_t two = 2;
	memcpy(field(at_lock_b, 36), &two, 4);
	assert_parse_error(b.buf, b.len, at_offset(at_lock_b));
	db_free(&b);
	build_all();
	uint32_t *nframes = (uint32_t *)field(at_lock_a, 36);
	*nframes = 9;
	assert_parse_error(b.buf, b.len, at_offset(at_lock_a));
	*nframes = 3;
	head_at(at_lock_b)->size = sizeof(struct lc_rec_lock) - 8; /* shorter than the struct */
	assert_parse_error(b.buf, b.len, at_offset(at_lock_b));
}

Test(dumpread, lock_record_cut_by_the_end_of_the_file)
{
	struct dump d;
	size_t cut = at_lock_a + sizeof(struct lc_rec_head) + sizeof(struct lc_rec_lock) + 8;
	parse_ok(b.buf, cut, &d);
	cr_assert(!d.complete);
	cr_assert_eq(d.end, DUMP_END_CUT);
	cr_assert(strstr(d.warning, "inside a record (lock)"), "%s", d.warning);
	cr_assert_eq(d.stop_offset, at_lock_a);
	cr_assert_eq(d.nlocks, 0);
	cr_assert_eq(d.nbuckets, 4);
	dump_free(&d);
}

/* A dump with LOCK_INIT records (3.3), n frames each, then the closing
 * records; the record of `size` payload bytes when size is not 0. */
static int parse_lock_inits(uint32_t n, size_t size, struct dump *d)
{
	char err[256];
	uint64_t pcs[LC_LOCK_INIT_FRAMES + 1];
	for (uint32_t i = 0; i <= LC_LOCK_INIT_FRAMES; i++)
		pcs[i] = 0x400000 + 16 * i;
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_lock_init(&b, LOCK_A, 3, pcs, 2);
	if (size) {
		struct lc_rec_lock_init r = {.addr = LOCK_B, .epoch = 4, .nframes = n};
		size_t head = size < sizeof(r) ? size : sizeof(r);
		db_record(&b, LC_REC_LOCK_INIT, &r, head, pcs, size - head, NULL, 0);
	} else {
		db_lock_init(&b, LOCK_B, 4, pcs, n);
	}
	db_lock_init(&b, LOCK_A, 5, pcs + 1, 1); /* the last one counts */
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	return dump_parse(b.buf, b.len, d, err, sizeof(err));
}

/* 1 to 8 frames, filling the record exactly; dump_lock_init_of finds the
 * last record of an address. */
Test(dumpread, lock_init_records)
{
	struct dump d;
	for (uint32_t n = 1; n <= LC_LOCK_INIT_FRAMES; n++) {
		cr_assert_eq(parse_lock_inits(n, 0, &d), 0, "%u frames refused", n);
		cr_assert(d.complete && d.ninits == 3);
		const struct dump_lock_init *l = dump_lock_init_of(&d, LOCK_B);
		cr_assert(l && l->epoch == 4 && l->nframes == n);
		cr_assert_eq(l->pcs[n - 1], 0x400000 + 16 * (n - 1));
		l = dump_lock_init_of(&d, LOCK_A);
		cr_assert(l && l->epoch == 5 && l->nframes == 1 && l->pcs[0] == 0x400010);
		cr_assert_null(dump_lock_init_of(&d, 0x12345));
		dump_free(&d);
	}
	const size_t base = sizeof(struct lc_rec_lock_init);
	cr_assert_eq(parse_lock_inits(0, 0, &d), -1, "no frames");
	cr_assert_eq(parse_lock_inits(LC_LOCK_INIT_FRAMES + 1, 0, &d), -1, "more than 8");
	cr_assert_eq(parse_lock_inits(2, base + 3 * 8, &d), -1, "longer than its frames");
	cr_assert_eq(parse_lock_inits(3, base + 2 * 8, &d), -1, "shorter than its frames");
	cr_assert_eq(parse_lock_inits(1, base - 8, &d), -1, "shorter than the struct");
}

/* A dump with one WAITING record (3.4) with room for 3 frames, seq and
 * seq_end as given, then the closing records. */
static int parse_waiting_rec(struct lc_rec_waiting w, uint64_t seq_end, struct dump *d)
{
	char err[256];
	uint64_t tail[4] = {0x400010, 0x400020, 0x400030, seq_end};
	w.frames = 3;
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_record(&b, LC_REC_WAITING, &w, sizeof(w), tail, sizeof(tail), NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	return dump_parse(b.buf, b.len, d, err, sizeof(err));
}

/* A whole copy is read field by field; one whose sequence words are odd or
 * differ was copied while being written: kept as torn, not refused; a
 * whole one whose counts are impossible is corrupt. */
Test(dumpread, waiting_records)
{
	struct dump d;
	struct lc_rec_waiting w = {.seq = 6, .tid = 77, .lock = LOCK_A, .since_ns = 123,
	                           .owner_tid = 78, .kind = LC_KIND_WRLOCK, .epoch = 2,
	                           .nframes = 2, .name = "worker-1"};
	cr_assert_eq(parse_waiting_rec(w, 6, &d), 0);
	cr_assert_eq(d.nwaiting, 1);
	const struct dump_waiting *r = &d.waiting[0];
	cr_assert(!r->torn && r->tid == 77 && r->lock == LOCK_A && r->since_ns == 123);
	cr_assert(r->owner_tid == 78 && r->kind == LC_KIND_WRLOCK && r->epoch == 2);
	cr_assert_str_eq(r->name, "worker-1");
	cr_assert(r->nframes == 2 && r->pcs[0] == 0x400010 && r->pcs[1] == 0x400020);
	dump_free(&d);
	cr_assert_eq(parse_waiting_rec(w, 8, &d), 0, "a torn copy refused");
	cr_assert(d.nwaiting == 1 && d.waiting[0].torn && !d.waiting[0].lock);
	dump_free(&d);
	w.seq = 7;
	cr_assert_eq(parse_waiting_rec(w, 7, &d), 0);
	cr_assert(d.waiting[0].torn, "an odd sequence is a write in progress");
	dump_free(&d);
	w.seq = 6;
	w.nframes = 4;
	cr_assert_eq(parse_waiting_rec(w, 6, &d), -1, "more frames than room");
	w.nframes = 0;
	w.kind = LC_NKINDS;
	cr_assert_eq(parse_waiting_rec(w, 6, &d), 0, "a newer writer's kind is no error");
	cr_assert(d.nwaiting == 1 && d.waiting[0].tid == 77 && !d.waiting[0].lock,
	          "the thread is kept, as not waiting");
	cr_assert_str_eq(d.waiting[0].name, "worker-1");
	cr_assert(d.waiting_unknown_kind == 1 && d.skipped_kind == 0,
	          "its wait is counted, the record kept");
	char note[512];
	cr_assert(dump_skipped_kind_note(&d, note, sizeof(note)), "no note of the unknown wait");
	dump_free(&d);
	w.lock = 0; /* not waiting: its kind is the last wait's, nothing is skipped */
	cr_assert_eq(parse_waiting_rec(w, 6, &d), 0);
	cr_assert(d.nwaiting == 1 && !d.waiting[0].lock && d.waiting_unknown_kind == 0);
	cr_assert(!dump_skipped_kind_note(&d, (char[8]){0}, 8));
	dump_free(&d);
}

/* A 3.1 file (no LOCK_LOST, no LOCK_INIT) reads as it did. */
Test(dumpread, a_3_1_file_reads)
{
	struct dump d;
	((struct lc_dump_header *)b.buf)->version_minor = 1;
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete && d.version_minor == 1 && d.ninits == 0 && d.nlocks > 0);
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

Test(dumpread, second_live_record_and_complete_without_live)
{
	head_at(at_lock_b)->type = LC_REC_LIVE; /* a second one, of the wrong size too */
	assert_parse_error(b.buf, b.len, "corrupt live record");
	db_free(&b);
	build_all();
	head_at(b.at_live)->type = LC_REC_LIVE + 50; /* unknown: skipped, so no LIVE */
	assert_parse_error(b.buf, b.len, "complete but without a live record");
}

/* A profile made by an attach (3.5): its ATTACH record, once. */
Test(dumpread, attach_record)
{
	struct dump d;
	struct lc_rec_attach a = {.objects = 7, .later = 1, .slots = 90, .out_of_reach = 3,
	                          .failed = 2, .restored = 85, .left = 4, .forgotten = 1,
	                          .flags = LC_ATTACH_DLOPEN | LC_ATTACH_SIGNAL};
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", LC_META_ATTACHED, 0);
	db_live(&b, &(struct lc_rec_live){.state = LC_LIVE_DETACHED});
	db_record(&b, LC_REC_ATTACH, &a, sizeof(a), NULL, 0, NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete && d.have_attach);
	cr_assert_eq(memcmp(&d.attach, &a, sizeof(a)), 0);
	cr_assert_eq(d.meta.flags, LC_META_ATTACHED);
	cr_assert_eq(d.live.state, LC_LIVE_DETACHED);
	dump_free(&d);
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", LC_META_ATTACHED, 0);
	db_record(&b, LC_REC_ATTACH, &a, sizeof(a), NULL, 0, NULL, 0);
	db_record(&b, LC_REC_ATTACH, &a, sizeof(a), NULL, 0, NULL, 0);
	db_trailer(&b);
	assert_parse_error(b.buf, b.len, "corrupt attach record");
}

/* A complete file whose records after META and LIVE are these. */
static void writer_file(const void *payload, size_t n, const void *tail, size_t nt, int copies)
{
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	for (int i = 0; i < copies; i++)
		db_record(&b, LC_REC_WRITER, payload, n, tail, nt, NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
}

Test(dumpread, writer_version_is_read_and_an_older_file_has_none)
{
	struct dump d;
	struct lc_rec_writer w = {.version_len = 7};
	writer_file(&w, sizeof(w), "1.2\0334\n5", 7, 1);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete && d.have_writer);
	cr_assert_str_eq(d.writer, "1.2?4?5");
	cr_assert_eq(d.skipped, 0);
	dump_free(&d);
	/* as a 3.5 writer left it: no WRITER */
	writer_file(NULL, 0, NULL, 0, 0);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete && !d.have_writer);
	cr_assert_str_eq(d.writer, "");
	dump_free(&d);
	char longest[LC_DUMP_MAX_VERSION];
	memset(longest, 'v', sizeof(longest));
	w.version_len = sizeof(longest);
	writer_file(&w, sizeof(w), longest, sizeof(longest), 1);
	parse_ok(b.buf, b.len, &d);
	cr_assert_eq(strlen(d.writer), LC_DUMP_MAX_VERSION);
	dump_free(&d);
}

Test(dumpread, writer_records_that_lie_are_corrupt)
{
	char v[LC_DUMP_MAX_VERSION + 1];
	memset(v, 'v', sizeof(v));
	struct lc_rec_writer w = {.version_len = 5};
	writer_file(&w, sizeof(w), v, 5, 2);
	assert_parse_error(b.buf, b.len, "corrupt writer record");
	w.version_len = 0;
	writer_file(&w, sizeof(w), NULL, 0, 1);
	assert_parse_error(b.buf, b.len, "corrupt writer record");
	w.version_len = sizeof(v);
	writer_file(&w, sizeof(w), v, sizeof(v), 1);
	assert_parse_error(b.buf, b.len, "corrupt writer record");
	w.version_len = 6; /* one more than follows */
	writer_file(&w, sizeof(w), v, 5, 1);
	assert_parse_error(b.buf, b.len, "corrupt writer record");
}

/* A record type of a newer minor version is skipped, whatever its size. */
Test(dumpread, unknown_record_type_is_skipped)
{
	struct dump d;
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_record(&b, LC_REC_NTYPES, "abcdefghijk", 11, NULL, 0, NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete);
	cr_assert_eq(d.skipped, 1);
	dump_free(&d);
}

/* ---- the file written in place -------------------------------------------------- */

/* A record being written is skipped, and still counted by the trailer. */
Test(dumpread, pending_records_are_skipped)
{
	struct dump d;
	db_free(&b);
	build_records();
	db_pending(&b, sizeof(struct lc_rec_bucket) + 16);
	db_pending(&b, 0);
	for (uint32_t v = 0; v < LC_NVIEWS; v++)
		db_lost(&b, v, v == 0 ? lost_wait : v == 1 ? lost_holder : NULL);
	db_totals(&b, other_totals);
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete, "%s", d.warning);
	cr_assert_eq(d.pending, 2);
	cr_assert_eq(d.records, 3 + 1 + 4 + 2 + 1 + 2 + 3 + 1);
	cr_assert(d.nbuckets == 4 && d.skipped == 0);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(&d, (enum lc_view)v));
	dump_free(&d);
}

/* A running writer's file: records, then zeros (what the file holds past
 * them), and with `pending` a record being appended. */
static void build_live(bool pending, size_t zeros)
{
	db_free(&b);
	build_records();
	struct lc_rec_live l = live;
	l.state = LC_LIVE_RUNNING;
	db_live(&b, &l);
	if (pending)
		db_pending(&b, sizeof(struct lc_rec_bucket) + 8);
	db_zeros(&b, zeros);
}

static void assert_whole_live(const struct dump *d, enum dump_end end, size_t stop)
{
	cr_assert(!d->complete);
	cr_assert_eq(d->end, end);
	cr_assert_eq(d->stop_offset, stop);
	assert_one_line("warning", d->warning);
	cr_assert(strstr(d->warning, "no trailer"), "%s", d->warning);
	cr_assert(d->totals_from_slots && d->have_totals && d->have_lost);
	cr_assert_eq(d->nbuckets, 4);
	cr_assert_eq(d->nslots, 1);
}

Test(dumpread, a_head_of_zeros_ends_the_records)
{
	struct dump d;
	build_live(true, 4096);
	size_t stop = b.len - 4096;
	parse_ok(b.buf, b.len, &d);
	assert_whole_live(&d, DUMP_END_ZEROS, stop);
	cr_assert_eq(d.pending, 1);
	cr_assert_eq(d.live.state, LC_LIVE_RUNNING);
	dump_free(&d);
	/* the size is stored before the type: a head {0, size} ends them too,
	 * and whatever follows is not read */
	uint32_t size = 48;
	memcpy(b.buf + stop + 4, &size, 4);
	memset(b.buf + stop + 8, 0xee, 200);
	parse_ok(b.buf, b.len, &d);
	assert_whole_live(&d, DUMP_END_ZEROS, stop);
	dump_free(&d);
	/* a head cut by the end of the file: zeros end the records, else cut */
	parse_ok(b.buf, stop + 3, &d);
	cr_assert_eq(d.end, DUMP_END_ZEROS);
	dump_free(&d);
	b.buf[stop] = LC_REC_BUCKET;
	parse_ok(b.buf, stop + 3, &d);
	cr_assert_eq(d.end, DUMP_END_CUT);
	cr_assert(strstr(d.warning, "cut short"), "%s", d.warning);
	dump_free(&d);
}

/* Every writer's file holds its heading — META, LIVE, ATTACH (3.5, when
 * attached), WRITER (3.6) — from the moment it exists: one that ends at a
 * record boundary before all of it is a copy cut short (exit 2), not a
 * whole file that "lost nothing" (before: exit 0, "closing records did
 * not fit").  Zeros after the records (a file being made) are still a
 * live file's end; a 3.5 file has no WRITER to miss. */
Test(dumpread, a_file_cut_at_a_boundary_inside_its_heading_is_cut_short)
{
	struct dump d;
	db_free(&b);
	build(7);
	parse_ok(b.buf, at_writer, &d);
	cr_assert_eq(d.end, DUMP_END_CUT);
	assert_one_line("warning", d.warning);
	cr_assert(strstr(d.warning, "cut short before its WRITER record"), "%s", d.warning);
	dump_free(&d);
	parse_ok(b.buf, b.at_live, &d);
	cr_assert_eq(d.end, DUMP_END_CUT);
	cr_assert(strstr(d.warning, "before its LIVE record"), "%s", d.warning);
	dump_free(&d);
	parse_ok(b.buf, at_module, &d); /* the heading whole: a writer that died */
	cr_assert_eq(d.end, DUMP_END_EOF);
	dump_free(&d);
	/* zeros after META and LIVE: a file still being made */
	uint8_t *z = calloc(1, at_writer + 4096);
	memcpy(z, b.buf, at_writer);
	parse_ok(z, at_writer + 4096, &d);
	cr_assert_eq(d.end, DUMP_END_ZEROS);
	dump_free(&d);
	free(z);
	uint16_t minor = 5;
	memcpy(b.buf + offsetof(struct lc_dump_header, version_minor), &minor, 2);
	parse_ok(b.buf, at_writer, &d);
	cr_assert_eq(d.end, DUMP_END_EOF, "a 3.5 file has no WRITER: %s", d.warning);
	dump_free(&d);
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", LC_META_ATTACHED, 0);
	parse_ok(b.buf, b.len, &d);
	cr_assert_eq(d.end, DUMP_END_CUT);
	cr_assert(strstr(d.warning, "before its ATTACH record"), "%s", d.warning);
	dump_free(&d);
}

Test(dumpread, a_file_ending_after_a_record_is_whole)
{
	struct dump d;
	build_live(false, 0);
	parse_ok(b.buf, b.len, &d);
	assert_whole_live(&d, DUMP_END_EOF, b.len);
	dump_free(&d);
	parse_ok(b.buf, b.len - 8, &d); /* inside the slot */
	cr_assert_eq(d.end, DUMP_END_CUT);
	cr_assert(strstr(d.warning, "inside a record (slot)"), "%s", d.warning);
	dump_free(&d);
}

/* Zeros after a trailer: the writer died before cutting the file to its
 * records.  Anything else there is corrupt. */
Test(dumpread, zeros_after_the_trailer)
{
	struct dump d;
	size_t len = b.len;
	db_zeros(&b, 4096 + 3);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.complete);
	cr_assert_eq(d.stop_offset, b.len);
	dump_free(&d);
	b.buf[len + 100] = 1;
	assert_parse_error(b.buf, b.len, "after the trailer");
}

/* Without TOTALS, the records read are counted as the records' check
 * counts them: those skipped for a kind this reader does not know too. */
Test(dumpread, totals_from_the_slots_count_the_records_skipped_for_their_kind)
{
	struct dump d;
	build_live(false, 64);
	*(uint8_t *)field(at_wait, 41) = LC_NKINDS;
	uint32_t bad = LC_NKINDS;
	memcpy(field(at_lock_a, 32), &bad, 4);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.totals_from_slots && d.skipped_kind == 2 && d.skipped_kind_locks == 1);
	cr_assert(d.totals.buckets == 4 && d.totals.locks == 2, "buckets %llu locks %llu",
	          (unsigned long long)d.totals.buckets, (unsigned long long)d.totals.locks);
	cr_assert(dump_records_counted(&d));
	dump_free(&d);
}

/* Without TOTALS: the sums of the slots, LIVE's counters, the records read. */
Test(dumpread, totals_from_the_slots)
{
	struct dump d;
	build_live(false, 64);
	struct lc_rec_slot more = {.count = {1, 2, 3}, .delay_ns = {10, 20, 30}, .timeouts = 1,
	                           .uncharged_ns = 5, .lost = {[2] = {[LC_LOST_NO_STACK] = {3, 30}}}};
	b.len -= 64;
	db_slot(&b, &more);
	db_zeros(&b, 64);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.totals_from_slots);
	const struct lc_rec_totals *t = &d.totals;
	cr_assert(t->contentions == 11 && t->delay_ns == 5940);
	cr_assert(t->caused_count == 9 && t->caused_ns == 4550);
	cr_assert(t->holds == 103 && t->hold_ns == 70030);
	cr_assert(t->timeouts == 8 && t->uncharged_ns == 560);
	cr_assert(t->buckets == 4 && t->modules == 1 && t->locks == 2);
	cr_assert(t->stacks_refused == 1 && t->locks_refused == 3 && t->threads_seen == 9);
	cr_assert(t->trylock_failures == 12 && t->threads_unread == 0);
	cr_assert_arr_eq(d.lost[LC_VIEW_WAIT], lost_wait, sizeof(lost_wait));
	cr_assert_arr_eq(d.lost[LC_VIEW_HOLDER], lost_holder, sizeof(lost_holder));
	cr_assert(d.lost[LC_VIEW_HOLD][LC_LOST_NO_STACK].count == 3 &&
	          d.lost[LC_VIEW_HOLD][LC_LOST_NO_STACK].delay_ns == 30);
	cr_assert_eq(d.lost_views, 0, "no LOST record was read");
	dump_free(&d);
}

/* A 3.0 writer's SLOT has six lost reasons a view (3.1 added "no room"):
 * read as such, not as a corrupt record, and not shifted. */
Test(dumpread, slot_of_a_3_0_writer_has_six_reasons)
{
	struct dump d;
	struct lc_rec_slot_3_0 old = {.count[LC_VIEW_HOLD] = 4};
	old.lost[LC_VIEW_HOLD][LC_LOST_NO_SLOT] = (struct lc_lost_entry){4, 40};
	build_live(false, 64);
	b.len -= 64;
	db_record(&b, LC_REC_SLOT, &old, sizeof(old), NULL, 0, NULL, 0);
	db_zeros(&b, 64);
	parse_ok(b.buf, b.len, &d);
	const struct lc_rec_slot *last = &d.slots[d.nslots - 1];
	cr_assert_eq(last->count[LC_VIEW_HOLD], 4);
	cr_assert_eq(last->lost[LC_VIEW_HOLD][LC_LOST_NO_SLOT].count, 4);
	cr_assert_eq(last->lost[LC_VIEW_HOLD][LC_LOST_NO_SLOT].delay_ns, 40);
	cr_assert_eq(last->lost[LC_VIEW_HOLD][LC_LOST_NO_ROOM].count, 0);
	dump_free(&d);
}

/* A 3.1 to 3.7 writer's SLOT and LOCK_LOST have seven lost reasons a view
 * (3.8 added "no file"): read as such, not shifted, and a LOCK_LOST of
 * six reasons (there was none before 3.2) is corrupt. */
Test(dumpread, slot_and_lock_lost_of_a_3_7_writer_have_seven_reasons)
{
	struct old_slot {
		uint64_t head[8];
		struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS_3_1];
	} old = {.head = {[2] = 4}}; /* count[LC_VIEW_HOLD] */
	_Static_assert(offsetof(struct old_slot, lost) == offsetof(struct lc_rec_slot, lost),
	               "the fields before lost");
	old.lost[LC_VIEW_HOLD][LC_LOST_NO_ROOM] = (struct lc_lost_entry){4, 40};
	build_live(false, 64);
	b.len -= 64;
	db_record(&b, LC_REC_SLOT, &old, sizeof(old), NULL, 0, NULL, 0);
	db_zeros(&b, 64);
	struct dump d;
	parse_ok(b.buf, b.len, &d);
	const struct lc_rec_slot *last = &d.slots[d.nslots - 1];
	cr_assert_eq(last->count[LC_VIEW_HOLD], 4);
	cr_assert_eq(last->lost[LC_VIEW_HOLD][LC_LOST_NO_ROOM].count, 4);
	cr_assert_eq(last->lost[LC_VIEW_HOLD][LC_LOST_NO_ROOM].delay_ns, 40);
	cr_assert_eq(last->lost[LC_VIEW_HOLD][LC_LOST_NO_FILE].count, 0);
	dump_free(&d);

	struct {
		uint64_t addr;
		struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS_3_1];
	} lost7 = {.addr = LOCK_A};
	lost7.lost[LC_VIEW_WAIT][LC_LOST_NO_ROOM] = (struct lc_lost_entry){2, 20};
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	db_lock(&b, &(struct lc_rec_lock){LOCK_A, 0, 0, 0, LC_KIND_MUTEX, 0, .epoch = 0}, NULL);
	db_record(&b, LC_REC_LOCK_LOST, &lost7, sizeof(lost7), NULL, 0, NULL, 0);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	const struct dump_lock *l = dump_lock_of(&d, LOCK_A);
	cr_assert_eq(l->lost[LC_VIEW_WAIT][LC_LOST_NO_ROOM].delay_ns, 20);
	cr_assert_eq(l->lost[LC_VIEW_WAIT][LC_LOST_NO_FILE].count, 0);
	cr_assert_eq(l->lost[LC_VIEW_HOLDER][LC_LOST_EVICTED].count, 0);
	dump_free(&d);

	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	size_t six = sizeof(lost7) - LC_NVIEWS * sizeof(struct lc_lost_entry);
	size_t at = db_record(&b, LC_REC_LOCK_LOST, &lost7, six, NULL, 0, NULL, 0);
	db_trailer(&b);
	assert_parse_error(b.buf, b.len, at_offset(at));
}

/* The slots count what the stacks do not hold yet: in flight, not corrupt. */
Test(dumpread, events_in_flight)
{
	struct dump d;
	uint64_t c, t;
	build_live(false, 8);
	parse_ok(b.buf, b.len, &d);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(&d, (enum lc_view)v), "view %d", v);
	dump_free(&d);
	struct lc_rec_slot s = slot;
	s.count[LC_VIEW_WAIT] += 4;
	s.delay_ns[LC_VIEW_WAIT] += 4000;
	s.delay_ns[LC_VIEW_HOLD] += 1;
	memcpy(b.buf + b.len - 8 - sizeof(s), &s, sizeof(s));
	parse_ok(b.buf, b.len, &d);
	cr_assert(!dump_view_conserved(&d, LC_VIEW_WAIT));
	cr_assert(dump_view_in_flight(&d, LC_VIEW_WAIT, &c, &t) && c == 4 && t == 4000);
	cr_assert(dump_view_in_flight(&d, LC_VIEW_HOLD, &c, &t) && c == 0 && t == 1);
	cr_assert(dump_view_in_flight(&d, LC_VIEW_HOLDER, &c, &t) && c == 0 && t == 0);
	cr_assert(dump_totals_while_running(&d));
	d.buckets[0].count += 5; /* more in the stacks than counted: not in flight */
	cr_assert(!dump_view_in_flight(&d, LC_VIEW_WAIT, &c, &t) && c == 0 && t == 0);
	dump_free(&d);
}

/* A writer that died while closing the file: a LOST record but no TOTALS.
 * Both come from the slots then. */
Test(dumpread, lost_without_totals_comes_from_the_slots)
{
	struct dump d;
	build_live(false, 0);
	db_lost(&b, LC_VIEW_WAIT, (struct lc_lost_entry[LC_LOST_NREASONS]){{1000, 1000}});
	db_zeros(&b, 16);
	parse_ok(b.buf, b.len, &d);
	cr_assert(d.totals_from_slots);
	cr_assert_eq(d.lost_views, 1u << LC_VIEW_WAIT);
	cr_assert_arr_eq(d.lost[LC_VIEW_WAIT], lost_wait, sizeof(lost_wait));
	dump_free(&d);
	/* ... but a TOTALS record, written last before the trailer, is used */
	build_live(false, 0);
	for (uint32_t v = 0; v < LC_NVIEWS; v++)
		db_lost(&b, v, v == 0 ? lost_wait : v == 1 ? lost_holder : NULL);
	db_totals(&b, other_totals);
	db_zeros(&b, 16);
	parse_ok(b.buf, b.len, &d);
	cr_assert(!d.complete && !d.totals_from_slots && d.have_totals);
	cr_assert_eq(d.totals.threads_unread, 2);
	dump_free(&d);
}

/* ---- module epochs --------------------------------------------------------------- */

/* Two libraries at one address: A in epochs 0..1, B from 2 on.  A LOCK
 * record's first frames have their epoch as a bucket's do. */
Test(dumpread, a_frame_belongs_to_the_module_of_its_epoch)
{
	static const struct lc_rec_segment lib[] = {{0, 0x5000, 0, 5, 0}};
	const uint64_t bias = 0x7f0000000000ull, pc = bias + 0x1234;
	struct dump d;
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", LC_META_STACKS, 0);
	db_module_epochs(&b, bias, lib, 1, NULL, 0, "/lib/liba.so", 0, 1);
	db_module_epochs(&b, bias, lib, 1, NULL, 0, "/lib/libb.so", 2, UINT32_MAX);
	db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, 1, 1, 10, 10, 0, 1}, &pc, 1);
	db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, 1, 1, 10, 10, 0, 2}, &pc, 1);
	db_lock(&b, &(struct lc_rec_lock){.addr = 1, .nframes = 1, .epoch = 1}, &pc);
	db_lock(&b, &(struct lc_rec_lock){.addr = 2, .nframes = 1, .epoch = 2}, &pc);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	const struct dump_module *a = &d.modules[0], *lb = &d.modules[1];
	cr_assert_eq(dump_module_in_epoch(&d, pc, d.buckets[0].epoch), a);
	cr_assert_eq(dump_module_in_epoch(&d, pc, d.buckets[1].epoch), lb);
	cr_assert(d.locks[0].epoch == 1 && d.locks[1].epoch == 2);
	cr_assert_eq(dump_module_in_epoch(&d, d.locks[0].pcs[0], d.locks[0].epoch), a);
	cr_assert_eq(dump_module_in_epoch(&d, d.locks[1].pcs[0], d.locks[1].epoch), lb);
	cr_assert_eq(dump_module_in_epoch(&d, pc, 0), a);
	cr_assert_eq(dump_module_in_epoch(&d, pc, 1000), lb);
	cr_assert_null(dump_module_in_epoch(&d, bias + 0x5000, 1), "past the segment");
	cr_assert_eq(dump_module_of(&d, pc), lb, "no epoch: the one loaded last");
	dump_free(&d);
	/* the same, B listed first: the epochs decide, not the order */
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", LC_META_STACKS, 0);
	db_module_epochs(&b, bias, lib, 1, NULL, 0, "/lib/libb.so", 2, UINT32_MAX);
	db_module_epochs(&b, bias, lib, 1, NULL, 0, "/lib/liba.so", 0, 1);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	cr_assert_str_eq(dump_module_in_epoch(&d, pc, 1)->path, "/lib/liba.so");
	cr_assert_str_eq(dump_module_in_epoch(&d, pc, 3)->path, "/lib/libb.so");
	cr_assert_str_eq(dump_module_of(&d, pc)->path, "/lib/libb.so");
	dump_free(&d);
}

/* A library loaded between a dlclose() and the refresh after it is
 * recorded from the next epoch (3 here), though a stack taken in that
 * window carries the one before (2, when A had gone at the end of 1):
 * nothing else holds the pc in epoch 2, so B does; in epoch 1, A does. */
Test(dumpread, a_stack_from_just_before_its_module_was_found_falls_to_the_next_epoch)
{
	static const struct lc_rec_segment lib[] = {{0, 0x5000, 0, 5, 0}};
	const uint64_t bias = 0x7f0000000000ull, pc = bias + 0x1234;
	struct dump d;
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", LC_META_STACKS, 0);
	db_module_epochs(&b, bias, lib, 1, NULL, 0, "/lib/liba.so", 0, 1);
	db_module_epochs(&b, bias, lib, 1, NULL, 0, "/lib/libb.so", 3, UINT32_MAX);
	db_lost(&b, 0, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	cr_assert_str_eq(dump_module_in_epoch(&d, pc, 1)->path, "/lib/liba.so");
	cr_assert_str_eq(dump_module_in_epoch(&d, pc, 2)->path, "/lib/libb.so");
	cr_assert_str_eq(dump_module_in_epoch(&d, pc, 3)->path, "/lib/libb.so");
	cr_assert_null(dump_module_in_epoch(&d, bias + 0x5000, 2), "past the segment");
	dump_free(&d);
}

/* ---- truncation ------------------------------------------------------------ */

/* Every prefix is an error or incomplete, never complete; incomplete ones
 * are whole exactly when they end at a record boundary. */
Test(dumpread, every_prefix_is_an_error_or_incomplete)
{
	size_t errors = 0, incomplete = 0, boundaries = 0;
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
			/* whole at a record boundary past the heading (META, LIVE,
			 * WRITER), which every writer's file holds: cut before */
			bool heading = d.stop_offset > at_writer;
			cr_assert_eq(d.end == DUMP_END_EOF, d.stop_offset == k && heading, "prefix %zu",
			             k);
			cr_assert(d.end == DUMP_END_EOF || d.end == DUMP_END_CUT, "prefix %zu", k);
			boundaries += d.end == DUMP_END_EOF;
			dump_free(&d);
			incomplete++;
		}
		free(copy);
	}
	cr_assert(errors > 0 && incomplete > 0);
	cr_assert_eq(boundaries, 13, "a prefix at every record start after WRITER");
}

/* ---- dump_read_file and safeopen: only a regular file is opened ---------- */

/* A FIFO named as a dump blocked open(2), waiting for a writer that never
 * came; a character device would be read forever.  The timeout makes a
 * hang a failure.  A regular file is opened blocking, as asked. */
Test(dumpfile, fifo_device_and_directory_are_refused_without_blocking, .timeout = 10)
{
	char dir[] = "/tmp/test_dumpread.XXXXXX", fifo[64];
	cr_assert(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
	const struct {
		const char *path, *why;
	} cases[] = {{fifo, "a FIFO"},
	             {"/dev/zero", "a character device"},
	             {"/dev/urandom", "a character device"},
	             {dir, "is a directory"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dump d;
		char err[256] = "";
		cr_assert_eq(dump_read_file(cases[i].path, &d, err, sizeof(err)), -1, "%s",
		             cases[i].path);
		assert_one_line("error", err);
		cr_assert(strstr(err, cases[i].why), "%s: '%s' does not say '%s'", cases[i].path, err,
		          cases[i].why);
	}
	struct stat st;
	int fd = safeopen_regular("/proc/self/exe", &st);
	cr_assert(fd >= 0 && S_ISREG(st.st_mode), "/proc/self/exe: %s", strerror(errno));
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0, "left non-blocking");
	close(fd);
	unlink(fifo);
	rmdir(dir);
}

/* ---- THREAD (3.7) ----------------------------------------------------------- */

static size_t thread_rec(uint64_t slot_at, int32_t tid, const char *name, bool ended,
                         uint64_t base_c, uint64_t base_d, uint64_t end_c, uint64_t end_d)
{
	struct lc_rec_thread t = {
	    .slot = slot_at, .tid = tid, .start_ns = 100, .end_ns = ended ? 200 : 0};
	t.flags = ended ? LC_THREAD_ENDED : 0;
	memcpy(t.name, name, strnlen(name, LC_THREAD_NAME));
	t.base_count[LC_VIEW_WAIT] = base_c;
	t.base_delay_ns[LC_VIEW_WAIT] = base_d;
	t.end_count[LC_VIEW_WAIT] = end_c;
	t.end_delay_ns[LC_VIEW_WAIT] = end_d;
	t.base_count[LC_VIEW_HOLDER] = base_c; /* the holder view goes the same way */
	t.end_count[LC_VIEW_HOLDER] = end_c;
	return db_record(&b, LC_REC_THREAD, &t, sizeof(t), NULL, 0, NULL, 0);
}

/* A TOTALS record as it is (db_totals makes the buckets' sums). */
static void threads_totals(uint64_t contentions, uint64_t delay_ns)
{
	struct lc_rec_totals t = {.contentions = contentions, .delay_ns = delay_ns};
	db_record(&b, LC_REC_TOTALS, &t, sizeof(t), NULL, 0, NULL, 0);
}

/* One slot used by three threads in turn (the first ended, the second
 * killed before it could end, the last still running), a thread on no
 * slot, one whose figures go down, and 2 contentions of 200 ns in
 * threads with no record. */
static void threads_file(void)
{
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	struct lc_rec_slot sl = {0};
	sl.count[LC_VIEW_WAIT] = sl.count[LC_VIEW_HOLDER] = 10;
	sl.delay_ns[LC_VIEW_WAIT] = 1000;
	size_t at = db_slot(&b, &sl);
	struct lc_rec_slot empty = {0};
	size_t other = db_slot(&b, &empty);
	thread_rec(at, 11, "alpha", true, 0, 0, 4, 300);
	thread_rec(at, 12, "beta\x1b[2Jxxxxxxxxxxxxxx", false, 4, 300, 0, 0);
	thread_rec(at, 13, "gamma", false, 7, 450, 0, 0);
	thread_rec(12345, 14, "lost", true, 0, 0, 1, 1);
	thread_rec(other, 15, "down", true, 5, 500, 3, 100);
	db_lost(&b, 0, NULL);
	threads_totals(12, 1200);
	db_trailer(&b);
}

Test(dumpread, threads_are_their_share_of_their_slot)
{
	struct dump d;
	threads_file();
	parse_ok(b.buf, b.len, &d);
	cr_assert_eq(d.nthreads, 5);
	cr_assert_eq(d.skipped, 0);
	const struct dump_thread *t = d.threads;
	cr_assert_str_eq(t[0].name, "alpha");
	cr_assert(t[0].ended && t[0].tid == 11 && t[0].state == DUMP_THREAD_OK);
	cr_assert_eq(t[0].count[LC_VIEW_WAIT], 4);
	cr_assert_eq(t[0].delay_ns[LC_VIEW_WAIT], 300);
	cr_assert_eq(t[0].count[LC_VIEW_HOLDER], 4);
	/* not ended, followed on its slot: up to the next thread's base */
	cr_assert_str_eq(t[1].name, "beta?[2Jxxxxxxx");
	cr_assert(!t[1].ended && t[1].state == DUMP_THREAD_OK);
	cr_assert_eq(t[1].count[LC_VIEW_WAIT], 3);
	cr_assert_eq(t[1].delay_ns[LC_VIEW_WAIT], 150);
	/* the last on its slot, running: up to the slot's totals now */
	cr_assert_eq(t[2].count[LC_VIEW_WAIT], 3);
	cr_assert_eq(t[2].delay_ns[LC_VIEW_WAIT], 550);
	cr_assert_eq(t[3].state, DUMP_THREAD_NO_SLOT);
	cr_assert_eq(t[4].state, DUMP_THREAD_BAD);
	cr_assert_eq(t[3].count[LC_VIEW_WAIT] + t[4].count[LC_VIEW_WAIT], 0);
	uint64_t rc, rd;
	cr_assert(dump_threads_rest(&d, LC_VIEW_WAIT, &rc, &rd));
	cr_assert_eq(rc, 2);
	cr_assert_eq(rd, 200);
	dump_free(&d);
}

Test(dumpread, a_file_without_threads_has_every_event_in_the_rest)
{
	struct dump d;
	db_free(&b);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
	struct lc_rec_slot sl = {0};
	sl.count[LC_VIEW_WAIT] = 3;
	sl.delay_ns[LC_VIEW_WAIT] = 30;
	db_slot(&b, &sl);
	db_lost(&b, 0, NULL);
	threads_totals(3, 30);
	db_trailer(&b);
	parse_ok(b.buf, b.len, &d);
	cr_assert_eq(d.nthreads, 0);
	uint64_t rc, rd;
	cr_assert(dump_threads_rest(&d, LC_VIEW_WAIT, &rc, &rd));
	cr_assert(rc == 3 && rd == 30);
	dump_free(&d);
}

Test(dumpread, thread_records_of_the_wrong_size_are_corrupt)
{
	struct lc_rec_thread t = {0};
	uint8_t more[8] = {0};
	for (int longer = 0; longer < 2; longer++) {
		db_free(&b);
		db_begin(&b, LC_DUMP_VERSION_MAJOR, "/x", 0, 0);
		db_record(&b, LC_REC_THREAD, &t, longer ? sizeof(t) : sizeof(t) - 8, more,
		          longer ? sizeof(more) : 0, NULL, 0);
		db_lost(&b, 0, NULL);
		db_totals(&b, (struct lc_rec_totals){0});
		db_trailer(&b);
		assert_parse_error(b.buf, b.len, "corrupt thread record");
	}
}
