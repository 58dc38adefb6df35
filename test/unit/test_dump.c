/*
 * test_dump.c — the reader (symbolize/dumpread.c) on a realistic version 3
 * dump: this process's real modules, two dozen buckets of every view, kind
 * and flag up to LC_DUMP_MAX_DEPTH frames, LOCK records with room for their
 * first stack, per-thread SLOT records, a PENDING record, and the closing
 * LOST per view, TOTALS and TRAILER, laid out as the in-place writer does.
 *
 * NOTE: the dump is built with dumpbuild.h, not by the preload's writer.
 * The writer → reader round trip that lived here (a real arena, stack
 * table, lock table and module map through dumpwrite_fd) went with the 2.0
 * writer; the in-place writer (pfile.c, dumpwrite.c) is tested by
 * test_pfile.c, and its files by the integration tests.  A round trip of
 * the new writer's records (stacktab, lockstate, slots, modmap writing in
 * place) into this reader belongs here once that API settles.
 *
 * Tests: every field of the round trip; every prefix of the dump parses as
 * an error or as incomplete, never complete and never past its end (the
 * prefix ends at a PROT_NONE page); a prefix that ends on a record boundary
 * is whole there (no record cut), and so is one followed by zeros, as a
 * live file or one whose writer died is; corruptions (magic, major version,
 * a bucket's nframes, the trailer, bytes after it) are one-line errors.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dumpread.h"
#include "unit/dumpbuild.h"

/* ---- the dump under test ------------------------------------------------ */

#define NSTACKS 24
#define NSLOTS 3

static struct dumpbuild b;
static char exe[4096];
static struct db_bucket keys[NSTACKS];
static uint64_t *stacks[NSTACKS];
static uint32_t depths[NSTACKS];
static struct lc_rec_slot slots[NSLOTS];
static const uint64_t first[] = {0x401234, 0x401500, 0x7f0000001000};
static struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
static size_t at_closing; /* where LOST, TOTALS and TRAILER start */
static size_t at_writer;  /* where the WRITER record starts */

/* Stack i: the next (view, kind) and one of three locks. */
static void add_stack(uint32_t i, uint32_t flags, uint32_t n, uint64_t base, uint64_t count,
                      uint64_t delay)
{
	stacks[i] = malloc(n * sizeof(uint64_t));
	for (uint32_t k = 0; k < n; k++)
		stacks[i][k] = base + k * 0x18;
	depths[i] = n;
	keys[i] = (struct db_bucket){(uint8_t)(i % LC_NVIEWS), (uint8_t)(i % LC_NKINDS),
	                             0x601000 + 0x40 * (i % 3), count, delay, delay / 2 + 1, flags,
	                             i % 4};
	db_bucket(&b, keys[i], stacks[i], n);
}

/* The slots' totals: the buckets and losses, spread over three slots. */
static void add_slots(void)
{
	for (uint32_t i = 0; i < NSTACKS; i++) {
		struct lc_rec_slot *s = &slots[i % NSLOTS];
		s->count[keys[i].view] += keys[i].count;
		s->delay_ns[keys[i].view] += keys[i].delay_ns;
	}
	for (int v = 0; v < LC_NVIEWS; v++) {
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			lost[v][r] = (struct lc_lost_entry){100u * v + 10u * r + 1, 10000u * v + 1000u * r};
			slots[r % NSLOTS].lost[v][r] = lost[v][r];
			slots[r % NSLOTS].count[v] += lost[v][r].count;
			slots[r % NSLOTS].delay_ns[v] += lost[v][r].delay_ns;
		}
	}
	slots[1].timeouts = 3;
	slots[2].uncharged_ns = 4444;
	for (int i = 0; i < NSLOTS; i++)
		db_slot(&b, &slots[i]);
}

static void build_input(void)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	db_begin(&b, LC_DUMP_VERSION_MAJOR, exe, LC_META_STACKS | LC_META_HOLDER, 100);
	db_live(&b, &(struct lc_rec_live){.state = LC_LIVE_EXITED, .epoch = 3, .threads_seen = 6,
	                                  .trylock_failures = 12, .stacks_refused = 4,
	                                  .locks_refused = 13});
	at_writer = db_writer(&b, "0.1.0");
	db_self_modules(&b);
	add_stack(0, 0, 1, (uint64_t)(uintptr_t)&build_input, 1, 10);
	add_stack(1, LC_BUCKET_TRUNCATED, 3, 0x401000, 2, 2000);
	add_stack(2, LC_BUCKET_TRUNCATED | LC_BUCKET_TIMEDOUT, LC_DUMP_MAX_DEPTH, 0x7f0000001000, 3,
	          3);
	add_stack(3, LC_BUCKET_TIMEDOUT, 5, 0xffffffffff600000, UINT64_MAX / 3, UINT64_MAX / 4);
	db_lock(&b, &(struct lc_rec_lock){0x601000, 11, 3, 4444, LC_KIND_MUTEX, 3, .epoch = 2},
	        first);
	db_pending(&b, sizeof(struct lc_rec_bucket) + 8); /* a thread was killed mid-append */
	for (uint32_t i = 4; i < NSTACKS; i++)
		add_stack(i, 0, 2 + i % 7, 0x500000 + i * 0x1000, i + 1, 1000003ull * i);
	db_lock(&b, &(struct lc_rec_lock){0x601040, UINT64_MAX, 0, 0, LC_KIND_WRLOCK, 0, .epoch = 0},
	        NULL);
	add_slots();
	at_closing = b.len;
	for (uint32_t v = 0; v < LC_NVIEWS; v++)
		db_lost(&b, v, lost[v]);
	db_totals(&b, (struct lc_rec_totals){.timeouts = 3, .stacks_refused = 4, .threads_seen = 6,
	                                     .uncharged_ns = 4444, .trylock_failures = 12,
	                                     .locks_refused = 13});
	db_trailer(&b);
}

static void free_input(void)
{
	for (int i = 0; i < NSTACKS; i++)
		free(stacks[i]);
	memset(slots, 0, sizeof(slots));
	db_free(&b);
}

static void assert_one_line(const char *what, const char *s)
{
	cr_assert(s[0], "empty %s", what);
	cr_assert_null(strchr(s, '\n'), "%s spans lines: %s", what, s);
}

/* Start offsets of the records (after the header), then the file end. */
static size_t record_offsets(const uint8_t *buf, size_t len, uint64_t *off, uint32_t *type,
                             size_t max)
{
	size_t n = 0;
	uint64_t o = sizeof(struct lc_dump_header);
	while (o < len && n < max) {
		struct lc_rec_head h;
		memcpy(&h, buf + o, sizeof(h));
		off[n] = o;
		type[n++] = h.type;
		o += sizeof(h) + lc_dump_pad(h.size);
	}
	cr_assert_eq(o, len, "records do not tile the file");
	return n;
}

TestSuite(dump, .init = build_input, .fini = free_input);

/* ---- round trip ---------------------------------------------------------- */

static void assert_meta_and_live(const struct dump *d)
{
	cr_assert(d->have_meta && d->have_live && d->have_lost && d->have_totals);
	cr_assert_eq(d->version_major, LC_DUMP_VERSION_MAJOR);
	cr_assert_eq(d->version_minor, LC_DUMP_VERSION_MINOR);
	cr_assert_eq(d->meta.pid, 4242);
	cr_assert_eq(d->meta.hold_rate, 100);
	cr_assert_eq(d->meta.flags, LC_META_STACKS | LC_META_HOLDER);
	cr_assert_str_eq(d->exe, exe);
	cr_assert(d->live.state == LC_LIVE_EXITED && d->live.epoch == 3 &&
	          d->live.threads_seen == 6 && d->live.trylock_failures == 12);
}

static void assert_modules(const struct dump *d)
{
	uint32_t with_build_id = 0;
	cr_assert_eq(d->nmodules, b.nmodules);
	cr_assert_geq(d->nmodules, 2, "this process has at least itself and libc");
	for (uint32_t i = 0; i < d->nmodules; i++) {
		const struct dump_module *m = &d->modules[i];
		cr_assert_eq(m->id, i);
		cr_assert(m->epoch_first == 0 && m->epoch_last == UINT32_MAX);
		cr_assert_gt(m->nsegments, 0);
		with_build_id += m->build_id_len == 20;
	}
	cr_assert_str_eq(d->modules[0].path, exe, "the main program is named by its path");
	cr_assert_gt(with_build_id, 0, "no module with a 20-byte GNU build-id");
	const uint64_t pc = (uint64_t)(uintptr_t)&build_input;
	cr_assert_eq(dump_module_of(d, pc), &d->modules[0]);
	cr_assert_eq(dump_module_in_epoch(d, pc, d->buckets[0].epoch), &d->modules[0]);
}

static void assert_buckets(const struct dump *d)
{
	cr_assert_eq(d->nbuckets, NSTACKS);
	for (size_t i = 0; i < NSTACKS; i++) {
		const struct dump_bucket *a = &d->buckets[i];
		const struct db_bucket *e = &keys[i];
		cr_assert(a->view == e->view && a->kind == e->kind && a->lock == e->lock &&
		          a->flags == e->flags && a->epoch == e->epoch, "bucket %zu", i);
		cr_assert(a->count == e->count && a->delay_ns == e->delay_ns && a->max_ns == e->max_ns,
		          "bucket %zu", i);
		cr_assert_eq(a->nframes, depths[i]);
		cr_assert_arr_eq(a->pcs, stacks[i], depths[i] * sizeof(uint64_t));
	}
}

static void assert_locks_and_slots(const struct dump *d)
{
	cr_assert_eq(d->nlocks, 2);
	const struct dump_lock *a = dump_lock_of(d, 0x601000), *l = dump_lock_of(d, 0x601040);
	cr_assert(a && l);
	cr_assert(a->trylock_failures == 11 && a->timeouts == 3 && a->uncharged_ns == 4444 &&
	          a->kind == LC_KIND_MUTEX && a->nframes == 3 && a->epoch == 2);
	cr_assert_arr_eq(a->pcs, first, sizeof(first));
	cr_assert(l->trylock_failures == UINT64_MAX && l->kind == LC_KIND_WRLOCK &&
	          l->nframes == 0 && l->epoch == 0);
	cr_assert_eq(d->nslots, NSLOTS);
	cr_assert_arr_eq(d->slots, slots, sizeof(slots));
}

static void assert_lost_and_totals(const struct dump *d)
{
	cr_assert_eq(d->lost_views, (1u << LC_NVIEWS) - 1, "one LOST record per view");
	cr_assert_arr_eq(d->lost, lost, sizeof(lost));
	const struct lc_rec_totals *t = &d->totals;
	cr_assert(t->buckets == NSTACKS && t->modules == d->nmodules && t->locks == 2);
	cr_assert(t->timeouts == 3 && t->stacks_refused == 4 && t->threads_seen == 6);
	cr_assert(t->uncharged_ns == 4444 && t->trylock_failures == 12 && t->locks_refused == 13);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(d, (enum lc_view)v), "view %d", v);
}

Test(dump, round_trip_every_field)
{
	struct dump d;
	char err[256] = "";
	cr_assert_eq(dump_parse(b.buf, b.len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.complete, "warning: %s", d.warning);
	cr_assert_str_eq(d.warning, "");
	cr_assert_eq(d.stop_offset, b.len);
	cr_assert(d.skipped == 0 && d.pending == 1 && !d.totals_from_slots);
	cr_assert_eq(d.records, 3 + d.nmodules + d.nbuckets + d.nlocks + 1 + NSLOTS + LC_NVIEWS + 1,
	             "meta, live, writer, modules, buckets, locks, pending, slots, lost per view, "
	             "totals");
	cr_assert(d.have_writer);
	cr_assert_str_eq(d.writer, "0.1.0");
	assert_meta_and_live(&d);
	assert_modules(&d);
	assert_buckets(&d);
	assert_locks_and_slots(&d);
	assert_lost_and_totals(&d);
	dump_free(&d);
}

/* The same records as the writer leaves them while running: the slots'
 * sums are the totals the closing records would have said. */
Test(dump, without_its_closing_records_the_slots_say_the_same)
{
	struct dump d, whole;
	char err[256] = "";
	cr_assert_eq(dump_parse(b.buf, b.len, &whole, err, sizeof(err)), 0, "%s", err);
	memset(b.buf + at_closing, 0, b.len - at_closing);
	cr_assert_eq(dump_parse(b.buf, b.len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(!d.complete && d.end == DUMP_END_ZEROS && d.totals_from_slots);
	cr_assert_eq(d.stop_offset, at_closing);
	cr_assert_arr_eq(d.lost, whole.lost, sizeof(d.lost));
	whole.totals.threads_unread = 0;
	cr_assert_arr_eq(&d.totals, &whole.totals, sizeof(d.totals));
	dump_free(&d);
	dump_free(&whole);
}

/* ---- truncation ---------------------------------------------------------- */

/* A region whose end touches a PROT_NONE page: reading past it faults. */
struct guarded {
	uint8_t *base;
	size_t size; /* readable bytes, then one guard page */
};

static struct guarded guarded_new(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct guarded g = {.size = (len + page - 1) / page * page};
	if (g.size == 0)
		g.size = page;
	g.base = mmap(NULL, g.size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(g.base, MAP_FAILED);
	cr_assert_eq(mprotect(g.base + g.size, page, PROT_NONE), 0);
	return g;
}

static void guarded_free(struct guarded *g)
{
	munmap(g->base, g->size + (size_t)sysconf(_SC_PAGESIZE));
}

/* Parse the first k bytes of buf, placed flush against the guard page. */
static int parse_prefix(struct guarded *g, const uint8_t *buf, size_t k, struct dump *d,
                        char *err, size_t errlen)
{
	uint8_t *p = g->base + g->size - k;
	memcpy(p, buf, k);
	err[0] = '\0';
	return dump_parse(p, k, d, err, errlen);
}

static size_t index_of(const uint64_t *off, size_t n, uint64_t v)
{
	size_t i = 0;
	while (i < n && off[i] != v)
		i++;
	return i;
}

/* An incomplete parse stopped at a record start, with the records before
 * it; whole (no record cut) exactly when the prefix ends there, past the
 * writer's heading (META, LIVE, WRITER): one that ends at a record
 * boundary before WRITER's end is cut short, as a live file never is. */
static void assert_incomplete(const struct dump *d, size_t k, const uint64_t *off,
                              const uint32_t *type, size_t nrec)
{
	cr_assert(!d->complete, "prefix %zu parsed as complete", k);
	assert_one_line("warning", d->warning);
	cr_assert_leq(d->stop_offset, k);
	size_t i = index_of(off, nrec, d->stop_offset);
	cr_assert_lt(i, nrec, "prefix %zu: stop_offset %llu is not a record start", k,
	             (unsigned long long)d->stop_offset);
	cr_assert_eq(d->records, i, "prefix %zu: %zu records, expected %zu", k, d->records, i);
	bool heading = d->stop_offset > at_writer;
	cr_assert_eq(d->end, d->stop_offset == k && heading ? DUMP_END_EOF : DUMP_END_CUT,
	             "prefix %zu", k);
	if (d->stop_offset == k && !heading)
		cr_assert(strstr(d->warning, "cut short before its"), "prefix %zu: %s", k, d->warning);
	size_t nb = 0;
	for (size_t j = 0; j < i; j++)
		nb += type[j] == LC_REC_BUCKET;
	cr_assert_eq(d->nbuckets, nb, "prefix %zu", k);
}

Test(dump, every_prefix_is_an_error_or_incomplete, .timeout = 60)
{
	uint64_t off[256];
	uint32_t type[256];
	size_t nrec = record_offsets(b.buf, b.len, off, type, 256);
	struct guarded g = guarded_new(b.len);
	size_t errors = 0, incomplete = 0;
	for (size_t k = 0; k < b.len; k++) {
		struct dump d;
		char err[256];
		if (parse_prefix(&g, b.buf, k, &d, err, sizeof(err)) != 0) {
			assert_one_line("error", err);
			cr_assert_lt(k, off[1], "prefix %zu (metadata whole) is an error: %s", k, err);
			errors++;
			continue;
		}
		cr_assert_geq(k, off[1], "prefix %zu parsed without its metadata", k);
		assert_incomplete(&d, k, off, type, nrec);
		dump_free(&d);
		incomplete++;
	}
	struct dump d;
	char err[256];
	cr_assert_eq(parse_prefix(&g, b.buf, b.len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.complete, "the whole dump flush against the guard page");
	dump_free(&d);
	cr_assert(errors > 0 && incomplete > 0);
	guarded_free(&g);
}

/* What a file still being written holds: whole records, then zeros. */
Test(dump, each_record_boundary_then_zeros_is_a_whole_live_file)
{
	uint64_t off[256];
	uint32_t type[256];
	size_t nrec = record_offsets(b.buf, b.len, off, type, 256);
	cr_assert_eq(type[0], LC_REC_META);
	cr_assert_eq(type[nrec - 1], LC_REC_TRAILER);
	struct guarded g = guarded_new(b.len + 64);
	struct dump d;
	char err[256];
	cr_assert_eq(parse_prefix(&g, b.buf, off[0], &d, err, sizeof(err)), -1,
	             "a header alone has no metadata");
	assert_one_line("error", err);
	uint8_t *copy = calloc(1, b.len + 64);
	for (size_t i = 1; i < nrec; i++) {
		memcpy(copy, b.buf, off[i]);
		memset(copy + off[i], 0, b.len + 64 - off[i]);
		cr_assert_eq(parse_prefix(&g, copy, off[i] + 64, &d, err, sizeof(err)), 0,
		             "boundary %zu (offset %llu): %s", i, (unsigned long long)off[i], err);
		cr_assert(!d.complete && d.end == DUMP_END_ZEROS);
		cr_assert_eq(d.stop_offset, off[i]);
		cr_assert_eq(d.records, i);
		cr_assert(d.have_totals && d.have_lost);
		cr_assert_eq(d.totals_from_slots, i <= index_of(off, nrec, at_closing) + LC_NVIEWS,
		             "boundary %zu: a TOTALS record read is used", i);
		assert_one_line("warning", d.warning);
		dump_free(&d);
	}
	free(copy);
	guarded_free(&g);
}

/* ---- corruption ---------------------------------------------------------- */

static void assert_parse_error(const uint8_t *buf, size_t len, const char *needle)
{
	struct dump d;
	char err[256] = "";
	cr_assert_eq(dump_parse(buf, len, &d, err, sizeof(err)), -1, "parsed; expected \"%s\"",
	             needle);
	assert_one_line("error", err);
	cr_assert(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
	cr_assert_null(d.buckets, "a failed parse must leave *d freed");
}

static uint64_t first_of_type(uint32_t t)
{
	uint64_t off[256];
	uint32_t type[256];
	size_t n = record_offsets(b.buf, b.len, off, type, 256);
	for (size_t i = 0; i < n; i++)
		if (type[i] == t)
			return off[i];
	cr_assert_fail("no record of type %u", t);
	return 0;
}

Test(dump, bad_magic_and_version)
{
	b.buf[3] ^= 0x20;
	assert_parse_error(b.buf, b.len, "magic");
	b.buf[3] ^= 0x20;
	char want[64];
	uint16_t v = LC_DUMP_VERSION_MAJOR + 1;
	memcpy(b.buf + 8, &v, 2);
	snprintf(want, sizeof(want), "version %d.%d is not supported", v, LC_DUMP_VERSION_MINOR);
	assert_parse_error(b.buf, b.len, want);
	v = 2; /* the format written at exit: not read at all */
	memcpy(b.buf + 8, &v, 2);
	snprintf(want, sizeof(want), "version %d.%d is not supported", v, LC_DUMP_VERSION_MINOR);
	assert_parse_error(b.buf, b.len, want);
}

Test(dump, bucket_with_more_frames_than_bytes)
{
	uint64_t at = first_of_type(LC_REC_BUCKET);
	uint32_t *nframes = (uint32_t *)(b.buf + at + sizeof(struct lc_rec_head) + 36);
	char needle[64];
	snprintf(needle, sizeof(needle), "offset %llu", (unsigned long long)at);
	const uint32_t bad[] = {*nframes + 1, 0, LC_DUMP_MAX_DEPTH + 1, UINT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t good = *nframes;
		*nframes = bad[i];
		assert_parse_error(b.buf, b.len, needle);
		*nframes = good;
	}
}

/* A well-formed record whose nframes is 0: the format says 1..256. */
Test(dump, bucket_without_frames)
{
	uint64_t at = first_of_type(LC_REC_BUCKET); /* after meta, live and modules */
	struct {
		struct lc_rec_head h;
		struct lc_rec_bucket b;
	} rec = {{LC_REC_BUCKET, sizeof(struct lc_rec_bucket)}, {.count = 1, .delay_ns = 1}};
	memcpy(b.buf + at, &rec, sizeof(rec));
	char needle[64];
	snprintf(needle, sizeof(needle), "offset %llu", (unsigned long long)at);
	assert_parse_error(b.buf, at + sizeof(rec), needle);
}

Test(dump, bad_trailer_and_bytes_after_it)
{
	uint64_t at = first_of_type(LC_REC_TRAILER);
	uint8_t *records = b.buf + at + sizeof(struct lc_rec_head);
	records[0] ^= 1;
	assert_parse_error(b.buf, b.len, "trailer");
	records[0] ^= 1;
	uint8_t *longer = calloc(1, b.len + 8);
	memcpy(longer, b.buf, b.len);
	longer[b.len + 7] = '\n';
	assert_parse_error(longer, b.len + 8, "after the trailer");
	longer[b.len] = 1;
	assert_parse_error(longer, b.len + 1, "after the trailer");
	free(longer);
}
