/*
 * test_pprof.c — the pprof writer (symbolize/report_pprof.c).
 *
 * A small profile built by hand (two mappings with build-ids, an inline
 * chain, an unsymbolized frame, the _LostContendedLock sentinel without a
 * mapping, three waiter-view samples of which one timed out and one was
 * truncated, one holder-view and one hold-view sample) is written,
 * gunzipped and decoded by a reader of our own below, and every field is
 * compared: header, string table (starts with "", no duplicates), ids,
 * address - 1, lines innermost first, labels (lock=, kind= on every sample
 * of a lock, none on the sentinel).  Each view's file holds that view's
 * samples only, with its sample types (holds/hold in the hold view).  When
 * `go` is installed (`make deps` installs golang-go) `go tool pprof -raw`,
 * `-top`, `-tags` and `-tagfocus=lock=...` must read the same file and show
 * the names, the sentinel, the labels and the exact totals; without go
 * those tests are skipped with a message.
 *
 * With lock frames (--lock-frames), each sample of a lock has one more
 * location, outermost, whose one line is a function named as the lock; the
 * sentinel has none (and go tool pprof -top shows each lock's total).
 *
 * Also: a large profile (buffer growth, string-table rehash, multi-byte
 * lengths), an empty one, indexes out of range and a failing stream give
 * -1 and one line.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lockcontend/dumpfmt.h"
#include "report_pprof.h"

/* ---- the profile under test ----------------------------------------------- */

#define APP_BUILD_ID "aabbccddeeff00112233445566778899aabbccdd"
#define LIB_BUILD_ID "0102030405060708"

static struct prof_mapping maps[] = {
	{ .start = 0x400000, .limit = 0x480000, .file_offset = 0, .file = "/opt/lctest/bin/app",
	  .build_id = APP_BUILD_ID, .has_functions = true },
	{ .start = 0x7f0000001000, .limit = 0x7f0000010000, .file_offset = 0x1000,
	  .file = "/opt/lctest/lib/libworker.so", .build_id = LIB_BUILD_ID, .has_functions = false },
};

enum { FN_HELPER, FN_PUSH, FN_MAIN, FN_LOST };
static struct prof_function funcs[] = {
	[FN_HELPER] = { "lock_helper", "lock_helper", "src/queue.h", 10, false },
	[FN_PUSH] = { "queue_push", "queue_push", "src/queue.c", 30, false },
	[FN_MAIN] = { "worker_main", "worker_main", "src/app.c", 70, false },
	[FN_LOST] = { LC_SENTINEL_NAME, LC_SENTINEL_NAME, "", 0, false },
};

/* lock_helper inlined into queue_push: innermost first. */
static struct prof_line inline_chain[] = { { FN_HELPER, 12 }, { FN_PUSH, 40 } };
static struct prof_line main_line[] = { { FN_MAIN, 77 } };
static struct prof_line lost_line[] = { { FN_LOST, 0 } };

enum { LOC_PUSH, LOC_MAIN, LOC_LIB, LOC_LOST };
static struct prof_location locs[] = {
	[LOC_PUSH] = { 0x401234, 0, 2, inline_chain },
	[LOC_MAIN] = { 0x401500, 0, 1, main_line },
	[LOC_LIB] = { 0x7f0000002345, 1, 0, NULL },
	[LOC_LOST] = { 0, -1, 1, lost_line },
};

static uint32_t stack0[] = { LOC_PUSH, LOC_MAIN };
static uint32_t stack1[] = { LOC_LIB, LOC_MAIN };
static uint32_t stack2[] = { LOC_LOST };

/* The waiter view's three samples, then one of the holder view and one of
 * the hold view. */
static struct prof_sample samples[] = {
	{ 2, stack0, { 5, 5000000 }, LC_BUCKET_TRUNCATED, LC_VIEW_WAIT, LC_KIND_MUTEX,
	  "cache_lock", 0x601040, 2000000, 0, 0 },
	{ 2, stack1, { 3, 1500000 }, LC_BUCKET_TIMEDOUT, LC_VIEW_WAIT, LC_KIND_RDLOCK,
	  "pool_locks+0x40", 0x601100, 900000, 0, 1 },
	{ 1, stack2, { 2, 250000 }, 0, LC_VIEW_WAIT, PROF_KIND_NONE, NULL, 0, 0, 0, -1 },
	{ 2, stack0, { 7, 4000000 }, 0, LC_VIEW_HOLDER, LC_KIND_MUTEX, "cache_lock", 0x601040,
	  1000000, 0, 2 },
	{ 2, stack1, { 40, 800000 }, 0, LC_VIEW_HOLD, LC_KIND_SPIN, "0x7f00deadbe00 (first "
	  "contended in worker_main)", 0x7f00deadbe00, 90000, 0, 3 },
};

#define TOTAL_CONTENTIONS 10
#define TOTAL_DELAY 6750000

static struct profile small_profile(void)
{
	return (struct profile){
		.mappings = maps, .nmappings = 2, .functions = funcs, .nfunctions = 4,
		.locations = locs, .nlocations = 4, .samples = samples, .nsamples = 5,
		.time_nanos = 1700000000000000000ull, .duration_nanos = 2000000000ull, .period = 1,
	};
}

/* ---- files --------------------------------------------------------------- */

static char dir[] = "/tmp/lc_test_pprof_XXXXXX";
static char path[sizeof(dir) + 32];

static void dir_setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/profile.pb.gz", dir);
}

static void dir_teardown(void)
{
	char cmd[sizeof(dir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(pprof, .init = dir_setup, .fini = dir_teardown);

static bool lock_frames; /* --lock-frames */

static void write_view(const struct profile *p, int view)
{
	char err[256] = "";
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(report_pprof_write(p, view, lock_frames, f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(fclose(f), 0);
}

static void write_profile(const struct profile *p)
{
	write_view(p, LC_VIEW_WAIT);
}

/* The whole file, gunzipped. */
static uint8_t *gunzip_file(const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	cr_assert_not_null(f);
	static uint8_t in[1 << 20];
	size_t inlen = fread(in, 1, sizeof(in), f);
	cr_assert(feof(f) && inlen > 0);
	fclose(f);
	cr_assert_eq(in[0], 0x1f, "gzip magic");
	cr_assert_eq(in[1], 0x8b, "gzip magic");

	z_stream zs = { 0 };
	cr_assert_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	size_t cap = 1 << 16, n = 0;
	uint8_t *out = malloc(cap);
	zs.next_in = in;
	zs.avail_in = (uInt)inlen;
	int rc;
	do {
		if (n == cap)
			cr_assert_not_null(out = realloc(out, cap *= 2));
		zs.next_out = out + n;
		zs.avail_out = (uInt)(cap - n);
		rc = inflate(&zs, Z_NO_FLUSH);
		cr_assert(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
		n = cap - zs.avail_out;
	} while (rc != Z_STREAM_END);
	cr_assert_eq(zs.avail_in, 0, "bytes after the gzip stream");
	inflateEnd(&zs);
	*len = n;
	return out;
}

/* ---- a tiny protobuf reader ---------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		cr_assert_lt(r->p, r->end, "varint runs off the end");
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	cr_assert_fail("varint longer than ten bytes");
	return 0;
}

/* The next field's key; false at the end of the message. */
static bool rd_key(struct rd *r, int *field, int *wire)
{
	if (r->p == r->end)
		return false;
	uint64_t key = rd_varint(r);
	*field = (int)(key >> 3);
	*wire = (int)(key & 7);
	cr_assert(*wire == 0 || *wire == 2, "field %d: wire type %d", *field, *wire);
	return true;
}

static struct rd rd_sub(struct rd *r)
{
	uint64_t n = rd_varint(r);
	cr_assert_leq(n, (uint64_t)(r->end - r->p), "length runs off the end");
	struct rd sub = { r->p, r->p + n };
	r->p += n;
	return sub;
}

/* A repeated varint field, packed (wire 2) or not (wire 0). */
static size_t rd_repeated(struct rd *r, int wire, uint64_t *out, size_t n, size_t cap)
{
	if (wire == 0) {
		cr_assert_lt(n, cap);
		out[n++] = rd_varint(r);
		return n;
	}
	struct rd sub = rd_sub(r);
	while (sub.p < sub.end) {
		cr_assert_lt(n, cap);
		out[n++] = rd_varint(&sub);
	}
	return n;
}

/* ---- the decoded profile ------------------------------------------------- */

enum { MAXN = 6000, MAXLOCS = 300 };

struct dvt {
	int64_t type, unit;
};
struct dlabel {
	int64_t key, str, num;
};
struct dsample {
	uint64_t locs[MAXLOCS];
	size_t nlocs;
	uint64_t values[4];
	size_t nvalues;
	struct dlabel labels[8];
	size_t nlabels;
};
struct dmapping {
	uint64_t id, start, limit, offset;
	int64_t file, build_id;
	bool has[4]; /* has_functions, filenames, line_numbers, inline_frames */
};
struct dline {
	uint64_t function_id;
	int64_t line;
};
struct dlocation {
	uint64_t id, mapping_id, address;
	struct dline lines[8];
	size_t nlines;
};
struct dfunction {
	uint64_t id;
	int64_t name, system_name, filename, start_line;
};
struct decoded {
	struct dvt sample_type[4], period_type;
	size_t nsample_type;
	struct dsample samples[8];
	size_t nsamples;
	struct dmapping mappings[4];
	size_t nmappings;
	struct dlocation locations[MAXN];
	size_t nlocations;
	struct dfunction functions[MAXN];
	size_t nfunctions;
	char *strings[MAXN + 64];
	size_t nstrings;
	int64_t time_nanos, duration_nanos, period;
};

static struct decoded d; /* too big for the stack */

static struct dvt dec_value_type(struct rd r)
{
	struct dvt vt = { 0, 0 };
	int f, w;
	while (rd_key(&r, &f, &w)) {
		cr_assert(w == 0 && (f == 1 || f == 2), "ValueType field %d", f);
		*(f == 1 ? &vt.type : &vt.unit) = (int64_t)rd_varint(&r);
	}
	return vt;
}

static struct dlabel dec_label(struct rd r)
{
	struct dlabel l = { 0, 0, 0 };
	int f, w;
	while (rd_key(&r, &f, &w)) {
		cr_assert(w == 0 && f >= 1 && f <= 3, "Label field %d", f);
		int64_t v = (int64_t)rd_varint(&r);
		*(f == 1 ? &l.key : f == 2 ? &l.str : &l.num) = v;
	}
	return l;
}

static void dec_sample(struct rd r, struct dsample *s)
{
	int f, w;
	while (rd_key(&r, &f, &w)) {
		if (f == 1)
			s->nlocs = rd_repeated(&r, w, s->locs, s->nlocs, MAXLOCS);
		else if (f == 2)
			s->nvalues = rd_repeated(&r, w, s->values, s->nvalues, 4);
		else if (f == 3 && w == 2 && s->nlabels < 8)
			s->labels[s->nlabels++] = dec_label(rd_sub(&r));
		else
			cr_assert_fail("Sample field %d", f);
	}
}

static void dec_mapping(struct rd r, struct dmapping *m)
{
	int f, w;
	while (rd_key(&r, &f, &w)) {
		cr_assert(w == 0 && f >= 1 && f <= 10, "Mapping field %d", f);
		uint64_t v = rd_varint(&r);
		switch (f) {
		case 1: m->id = v; break;
		case 2: m->start = v; break;
		case 3: m->limit = v; break;
		case 4: m->offset = v; break;
		case 5: m->file = (int64_t)v; break;
		case 6: m->build_id = (int64_t)v; break;
		default: m->has[f - 7] = v != 0; break;
		}
	}
}

static struct dline dec_line(struct rd r)
{
	struct dline l = { 0, 0 };
	int f, w;
	while (rd_key(&r, &f, &w)) {
		cr_assert(w == 0 && (f == 1 || f == 2), "Line field %d", f);
		uint64_t v = rd_varint(&r);
		if (f == 1)
			l.function_id = v;
		else
			l.line = (int64_t)v;
	}
	return l;
}

static void dec_location(struct rd r, struct dlocation *l)
{
	int f, w;
	while (rd_key(&r, &f, &w)) {
		if (f == 4 && w == 2) {
			cr_assert_lt(l->nlines, 8);
			l->lines[l->nlines++] = dec_line(rd_sub(&r));
			continue;
		}
		cr_assert(w == 0 && f >= 1 && f <= 3, "Location field %d", f);
		uint64_t v = rd_varint(&r);
		*(f == 1 ? &l->id : f == 2 ? &l->mapping_id : &l->address) = v;
	}
}

static void dec_function(struct rd r, struct dfunction *fn)
{
	int f, w;
	while (rd_key(&r, &f, &w)) {
		cr_assert(w == 0 && f >= 1 && f <= 5, "Function field %d", f);
		uint64_t v = rd_varint(&r);
		if (f == 1)
			fn->id = v;
		else
			*(f == 2 ? &fn->name : f == 3 ? &fn->system_name
			  : f == 4 ? &fn->filename : &fn->start_line) = (int64_t)v;
	}
}

static void dec_string(struct rd r)
{
	cr_assert_lt(d.nstrings, MAXN + 64);
	size_t n = (size_t)(r.end - r.p);
	char *s = malloc(n + 1);
	memcpy(s, r.p, n);
	s[n] = '\0';
	cr_assert_eq(strlen(s), n, "NUL inside a string");
	d.strings[d.nstrings++] = s;
}

/* One field of Profile: a submessage, a string or an int64. */
static void dec_profile_field(struct rd *r, int f, int w)
{
	if (w == 0) {
		int64_t v = (int64_t)rd_varint(r);
		cr_assert(f == 9 || f == 10 || f == 12, "Profile varint field %d", f);
		*(f == 9 ? &d.time_nanos : f == 10 ? &d.duration_nanos : &d.period) = v;
		return;
	}
	struct rd sub = rd_sub(r);
	switch (f) {
	case 1: cr_assert_lt(d.nsample_type, 4); d.sample_type[d.nsample_type++] = dec_value_type(sub); break;
	case 2: cr_assert_lt(d.nsamples, 8); dec_sample(sub, &d.samples[d.nsamples++]); break;
	case 3: cr_assert_lt(d.nmappings, 4); dec_mapping(sub, &d.mappings[d.nmappings++]); break;
	case 4: cr_assert_lt(d.nlocations, MAXN); dec_location(sub, &d.locations[d.nlocations++]); break;
	case 5: cr_assert_lt(d.nfunctions, MAXN); dec_function(sub, &d.functions[d.nfunctions++]); break;
	case 6: dec_string(sub); break;
	case 11: d.period_type = dec_value_type(sub); break;
	default: cr_assert_fail("Profile field %d", f);
	}
}

static void decode_file(void)
{
	size_t len;
	uint8_t *buf = gunzip_file(path, &len);
	memset(&d, 0, sizeof(d));
	struct rd r = { buf, buf + len };
	int f, w;
	while (rd_key(&r, &f, &w))
		dec_profile_field(&r, f, w);
	free(buf);
}

/* The string at index i of the decoded table. */
static const char *str(int64_t i)
{
	cr_assert(i >= 0 && (size_t)i < d.nstrings, "string index %ld of %zu", (long)i, d.nstrings);
	return d.strings[i];
}

/* ---- decoding our own output --------------------------------------------- */

Test(pprof, header_and_string_table)
{
	struct profile p = small_profile();
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.nsample_type, 2);
	cr_assert_str_eq(str(d.sample_type[0].type), "contentions");
	cr_assert_str_eq(str(d.sample_type[0].unit), "count");
	cr_assert_str_eq(str(d.sample_type[1].type), "delay");
	cr_assert_str_eq(str(d.sample_type[1].unit), "nanoseconds");
	cr_assert_str_eq(str(d.period_type.type), "contentions");
	cr_assert_str_eq(str(d.period_type.unit), "count");
	cr_assert_eq(d.period, 1);
	cr_assert_eq(d.time_nanos, 1700000000000000000ll);
	cr_assert_eq(d.duration_nanos, 2000000000ll);

	cr_assert_gt(d.nstrings, 0);
	cr_assert_str_eq(d.strings[0], "");
	for (size_t i = 0; i < d.nstrings; i++)
		for (size_t j = i + 1; j < d.nstrings; j++)
			cr_assert_str_neq(d.strings[i], d.strings[j], "string %zu == %zu", i, j);
}

Test(pprof, mappings_and_functions)
{
	struct profile p = small_profile();
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.nmappings, 2);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(d.mappings[i].id, i + 1);
		cr_assert_eq(d.mappings[i].start, maps[i].start);
		cr_assert_eq(d.mappings[i].limit, maps[i].limit);
		cr_assert_eq(d.mappings[i].offset, maps[i].file_offset);
		cr_assert_str_eq(str(d.mappings[i].file), maps[i].file);
		cr_assert_str_eq(str(d.mappings[i].build_id), maps[i].build_id);
		cr_assert_eq(d.mappings[i].has[0], maps[i].has_functions);
		/* Like Go: only has_functions, never the other three. */
		cr_assert(!d.mappings[i].has[1] && !d.mappings[i].has[2] && !d.mappings[i].has[3]);
	}
	cr_assert_eq(d.nfunctions, 4);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(d.functions[i].id, i + 1);
		cr_assert_str_eq(str(d.functions[i].name), funcs[i].name);
		cr_assert_str_eq(str(d.functions[i].system_name), funcs[i].system_name);
		cr_assert_str_eq(str(d.functions[i].filename), funcs[i].file);
		cr_assert_eq(d.functions[i].start_line, funcs[i].start_line);
	}
	/* Interned by content: name and system_name share one entry. */
	cr_assert_eq(d.functions[FN_PUSH].name, d.functions[FN_PUSH].system_name);
	cr_assert_eq(d.functions[FN_LOST].filename, 0, "\"\" is index 0");
}

Test(pprof, locations)
{
	struct profile p = small_profile();
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.nlocations, 4);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(d.locations[i].id, i + 1);

	const struct dlocation *push = &d.locations[LOC_PUSH];
	cr_assert_eq(push->mapping_id, 1);
	cr_assert_eq(push->address, 0x401233, "return address - 1, inside the call");
	cr_assert_eq(push->nlines, 2);
	cr_assert_eq(push->lines[0].function_id, FN_HELPER + 1, "innermost (inlined) first");
	cr_assert_eq(push->lines[0].line, 12);
	cr_assert_eq(push->lines[1].function_id, FN_PUSH + 1, "the real function last");
	cr_assert_eq(push->lines[1].line, 40);

	cr_assert_eq(d.locations[LOC_MAIN].address, 0x4014ff);
	cr_assert_eq(d.locations[LOC_MAIN].nlines, 1);
	cr_assert_eq(d.locations[LOC_MAIN].lines[0].function_id, FN_MAIN + 1);

	const struct dlocation *lib = &d.locations[LOC_LIB];
	cr_assert_eq(lib->mapping_id, 2);
	cr_assert_eq(lib->address, 0x7f0000002344);
	cr_assert_eq(lib->nlines, 0, "unsymbolized: no lines");

	const struct dlocation *lost = &d.locations[LOC_LOST];
	cr_assert_eq(lost->mapping_id, 0, "no mapping: field left out");
	cr_assert_eq(lost->address, 0);
	cr_assert_eq(lost->nlines, 1);
	cr_assert_str_eq(str(d.functions[lost->lines[0].function_id - 1].name), LC_SENTINEL_NAME);
	cr_assert_eq(lost->lines[0].line, 0);
}

static void expect_label(const struct dsample *s, size_t i, const char *key, const char *value)
{
	cr_assert_lt(i, s->nlabels);
	cr_assert_str_eq(str(s->labels[i].key), key);
	cr_assert_str_eq(str(s->labels[i].str), value);
	cr_assert_eq(s->labels[i].num, 0);
}

Test(pprof, samples)
{
	struct profile p = small_profile();
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.nsamples, 3, "the waiter view's samples only");
	for (size_t i = 0; i < 3; i++) {
		const struct dsample *s = &d.samples[i];
		cr_assert_eq(s->nlocs, samples[i].nlocs);
		for (size_t j = 0; j < s->nlocs; j++)
			cr_assert_eq(s->locs[j], samples[i].locs[j] + 1, "sample %zu loc %zu", i, j);
		cr_assert_eq(s->nvalues, 2);
		cr_assert_eq(s->values[0], (uint64_t)samples[i].value[PROF_CONTENTIONS]);
		cr_assert_eq(s->values[1], (uint64_t)samples[i].value[PROF_DELAY]);
	}
}

/* lock= and kind= on every sample of a lock, then the flags; none on the
 * sentinel, which is about no lock. */
Test(pprof, labels)
{
	struct profile p = small_profile();
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.samples[0].nlabels, 3);
	expect_label(&d.samples[0], 0, "lock", "cache_lock");
	expect_label(&d.samples[0], 1, "kind", "mutex");
	expect_label(&d.samples[0], 2, "truncated", "true");
	cr_assert_eq(d.samples[1].nlabels, 3);
	expect_label(&d.samples[1], 0, "lock", "pool_locks+0x40");
	expect_label(&d.samples[1], 1, "kind", "rdlock");
	expect_label(&d.samples[1], 2, "timedout", "true");
	cr_assert_eq(d.samples[2].nlabels, 0);
}

Test(pprof, both_flags_give_both_labels)
{
	struct profile p = small_profile();
	struct prof_sample s = { 1, stack2, { 1, 1 }, LC_BUCKET_TIMEDOUT | LC_BUCKET_TRUNCATED,
		                 LC_VIEW_WAIT, PROF_KIND_NONE, NULL, 0, 0, 0, -1 };
	p.samples = &s;
	p.nsamples = 1;
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.samples[0].nlabels, 2);
	expect_label(&d.samples[0], 0, "timedout", "true");
	expect_label(&d.samples[0], 1, "truncated", "true");
}

/* Each view's file: its samples, its sample and period types. */
static void expect_view(int view, const char *count, const char *value, size_t sample)
{
	struct profile p = small_profile();
	write_view(&p, view);
	decode_file();
	cr_assert_eq(d.nsample_type, 2);
	cr_assert_str_eq(str(d.sample_type[0].type), count);
	cr_assert_str_eq(str(d.sample_type[0].unit), "count");
	cr_assert_str_eq(str(d.sample_type[1].type), value);
	cr_assert_str_eq(str(d.sample_type[1].unit), "nanoseconds");
	cr_assert_str_eq(str(d.period_type.type), count);
	cr_assert_eq(d.nsamples, 1, "view %d", view);
	cr_assert_eq(d.samples[0].values[0], (uint64_t)samples[sample].value[PROF_CONTENTIONS]);
	cr_assert_eq(d.samples[0].values[1], (uint64_t)samples[sample].value[PROF_DELAY]);
	expect_label(&d.samples[0], 0, "lock", samples[sample].lock);
}

Test(pprof, each_view_has_its_samples_and_types)
{
	expect_view(LC_VIEW_HOLDER, "contentions", "delay", 3);
	expect_view(LC_VIEW_HOLD, "holds", "hold", 4);
	expect_label(&d.samples[0], 1, "kind", "spin");
}

Test(pprof, empty_profile)
{
	struct profile p = { .period = 1 };
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.nsample_type, 2);
	cr_assert_eq(d.nsamples + d.nmappings + d.nlocations + d.nfunctions, 0);
	cr_assert_eq(d.nstrings, 5, "\"\", contentions, count, delay, nanoseconds");
}

/* Thousands of distinct names (string table rehashes, buffer grows several
 * times) and a 256-frame sample (lengths need two-byte varints). */
Test(pprof, large_profile)
{
	enum { N = 5000, DEPTH = LC_DUMP_MAX_DEPTH };
	static struct prof_function fns[N];
	static struct prof_location lcs[N];
	static struct prof_line lns[N];
	static char names[N][32];
	static uint32_t stack[DEPTH];
	for (uint32_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "function_%u", i);
		fns[i] = (struct prof_function){ names[i], names[i], "big.c", i, false };
		lns[i] = (struct prof_line){ i, (int64_t)i * 3 };
		lcs[i] = (struct prof_location){ 0x400000 + 16 * (uint64_t)i + 1, 0, 1, &lns[i] };
	}
	for (uint32_t i = 0; i < DEPTH; i++)
		stack[i] = N - 1 - i;
	struct prof_sample s = { DEPTH, stack, { 1, INT64_MAX }, 0, LC_VIEW_WAIT, PROF_KIND_NONE,
		                 NULL, 0, 0, 0, -1 };
	struct profile p = { .mappings = maps, .nmappings = 1, .functions = fns, .nfunctions = N,
		             .locations = lcs, .nlocations = N, .samples = &s, .nsamples = 1,
		             .period = 1 };
	write_profile(&p);
	decode_file();
	cr_assert_eq(d.nfunctions, N);
	cr_assert_eq(d.nlocations, N);
	cr_assert_eq(d.nstrings, 5 + 2 + 1 + N, "header, mapping, big.c, names");
	for (uint32_t i = 0; i < N; i++) {
		cr_assert_str_eq(str(d.functions[i].name), names[i]);
		cr_assert_eq(d.functions[i].start_line, i);
		cr_assert_eq(d.locations[i].address, 0x400000 + 16 * (uint64_t)i);
		cr_assert_eq(d.locations[i].lines[0].line, (int64_t)i * 3);
	}
	cr_assert_eq(d.samples[0].nlocs, DEPTH);
	for (uint32_t i = 0; i < DEPTH; i++)
		cr_assert_eq(d.samples[0].locs[i], N - i);
	cr_assert_eq(d.samples[0].values[1], (uint64_t)INT64_MAX);
}

/* ---- errors --------------------------------------------------------------- */

/* The small profile with its lock table: the names are the samples' own
 * pointers, as profile.c interns them. */
static struct prof_lock locks[3];

static struct profile profile_with_locks(void)
{
	struct profile p = small_profile();
	samples[3].lock = samples[0].lock; /* one cache_lock */
	locks[0] = (struct prof_lock){.name = samples[0].lock, .addr = 0x601040};
	locks[1] = (struct prof_lock){.name = samples[1].lock, .addr = 0x601100};
	locks[2] = (struct prof_lock){.name = samples[4].lock, .addr = 0x7f00deadbe00};
	p.locks = locks;
	p.nlocks = 3;
	return p;
}

Test(pprof, lock_frames_put_each_lock_at_the_root)
{
	struct profile p = profile_with_locks();
	lock_frames = true;
	write_view(&p, LC_VIEW_WAIT);
	lock_frames = false;
	decode_file();
	cr_assert_eq(d.nsamples, 3);
	cr_assert_eq(d.samples[0].nlocs, 3);
	cr_expect_eq(d.samples[0].locs[0], LOC_PUSH + 1);
	cr_expect_eq(d.samples[0].locs[2], p.nlocations + 0 + 1, "cache_lock's frame, outermost");
	cr_expect_eq(d.samples[1].locs[2], p.nlocations + 1 + 1, "pool_locks+0x40's");
	cr_expect_eq(d.samples[2].nlocs, 1, "the sentinel has no lock frame");
	cr_assert_eq(d.nlocations, p.nlocations + 3);
	cr_assert_eq(d.nfunctions, p.nfunctions + 3);
	for (size_t i = 0; i < 3; i++) {
		const struct dlocation *l = &d.locations[p.nlocations + i];
		const struct dfunction *fn = &d.functions[p.nfunctions + i];
		cr_expect_eq(l->id, p.nlocations + i + 1);
		cr_expect_eq(l->mapping_id, 0);
		cr_expect_eq(l->address, 0);
		cr_assert_eq(l->nlines, 1);
		cr_expect_eq(l->lines[0].function_id, p.nfunctions + i + 1);
		cr_expect_eq(fn->id, p.nfunctions + i + 1);
		cr_expect_str_eq(str(fn->name), locks[i].name);
		cr_expect_str_eq(str(fn->system_name), locks[i].name);
	}
	/* without the option, as before */
	write_view(&p, LC_VIEW_WAIT);
	decode_file();
	cr_expect_eq(d.samples[0].nlocs, 2);
	cr_expect_eq(d.nlocations, p.nlocations);
}

static void expect_error(const struct profile *p, const char *want)
{
	char err[256] = "";
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(report_pprof_write(p, LC_VIEW_WAIT, false, f, err, sizeof(err)), -1);
	fclose(f);
	cr_assert_str_eq(err, want);
	cr_assert_null(strchr(err, '\n'));
}

Test(pprof, indexes_out_of_range)
{
	struct profile p = small_profile();
	uint32_t bad_stack[] = { LOC_MAIN, 4 };
	struct prof_sample bad_sample = { 2, bad_stack, { 1, 1 }, 0, 0, 0, NULL, 0, 0, 0, -1 };
	p.samples = &bad_sample;
	p.nsamples = 1;
	expect_error(&p, "pprof: sample 0: location 4 out of range");

	p = small_profile();
	p.nmappings = 1; /* LOC_LIB uses mapping 1 */
	expect_error(&p, "pprof: location 2: mapping 1 out of range");

	p = small_profile();
	p.nfunctions = 3; /* LOC_LOST uses function 3 */
	expect_error(&p, "pprof: location 3: function 3 out of range");
}

Test(pprof, write_error)
{
	struct profile p = small_profile();
	char err[256] = "";
	FILE *f = fopen("/dev/full", "wb");
	cr_assert_not_null(f);
	cr_assert_eq(report_pprof_write(&p, LC_VIEW_WAIT, false, f, err, sizeof(err)), -1);
	fclose(f);
	cr_assert_str_eq(err, "pprof: write: No space left on device");
}

/* ---- go tool pprof -------------------------------------------------------- */

static bool have_go(void)
{
	return system("command -v go >/dev/null 2>&1") == 0;
}

/* Run `go tool pprof ARGS path` with HOME and caches in our directory;
 * returns its stdout (stderr goes to a file, shown if it fails). */
static char *run_pprof(const char *args)
{
	char cmd[1024], outfile[sizeof(dir) + 16];
	snprintf(outfile, sizeof(outfile), "%s/pprof.out", dir);
	snprintf(cmd, sizeof(cmd),
	         "cd '%1$s' && HOME='%1$s' PPROF_TMPDIR='%1$s' PPROF_BINARY_PATH='%1$s' "
	         "GOCACHE='%1$s/gocache' GOPATH='%1$s/gopath' GOFLAGS= "
	         "go tool pprof %2$s '%3$s' >'%4$s' 2>'%1$s/pprof.err' || cat '%1$s/pprof.err' >&2",
	         dir, args, path, outfile);
	static char out[16384];
	memset(out, 0, sizeof(out));
	int rc = system(cmd);
	FILE *f = fopen(outfile, "r");
	cr_assert_not_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	fclose(f);
	out[n] = '\0';
	cr_assert_eq(rc, 0, "go tool pprof %s failed", args);
	cr_assert_gt(n, 0, "go tool pprof %s printed nothing", args);
	return out;
}

/* flat and cum of the -top row that ends with "  name". */
static void top_row(const char *out, const char *name, char *flat, char *cum)
{
	for (const char *line = out; *line; line = strchr(line, '\n') + 1) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		size_t nl = strlen(name);
		if (len > nl + 2 && memcmp(line + len - nl - 2, "  ", 2) == 0 &&
		    memcmp(line + len - nl, name, nl) == 0) {
			cr_assert_eq(sscanf(line, "%31s %*s %*s %31s", flat, cum), 2);
			return;
		}
		if (!eol)
			break;
	}
	cr_assert_fail("no -top row for %s in:\n%s", name, out);
}

static void expect_top_row(const char *out, const char *name, const char *flat, const char *cum)
{
	char f[32], c[32];
	top_row(out, name, f, c);
	cr_expect_str_eq(f, flat, "%s flat", name);
	cr_expect_str_eq(c, cum, "%s cum", name);
}

Test(pprof, go_tool_pprof_top)
{
	if (!have_go())
		cr_skip_test("go is not installed (make deps installs golang-go)");
	struct profile p = small_profile();
	write_profile(&p);

	const char *out = run_pprof("-top -unit=ns -sample_index=delay");
	cr_assert(strstr(out, "Type: delay\n"), "%s", out);
	cr_assert(strstr(out, "Build ID: " APP_BUILD_ID "\n"), "%s", out);
	cr_assert(strstr(out, "Showing nodes accounting for 6750000ns, 100% of 6750000ns total"),
	          "%s", out);
	expect_top_row(out, "lock_helper (inline)", "5000000ns", "5000000ns");
	expect_top_row(out, "queue_push", "0", "5000000ns");
	expect_top_row(out, "[libworker.so]", "1500000ns", "1500000ns");
	expect_top_row(out, "worker_main", "0", "6500000ns");
	expect_top_row(out, LC_SENTINEL_NAME, "250000ns", "250000ns");

	out = run_pprof("-top -sample_index=contentions");
	cr_assert(strstr(out, "Type: contentions\n"), "%s", out);
	cr_assert(strstr(out, "Showing nodes accounting for 10, 100% of 10 total"), "%s", out);
	expect_top_row(out, "lock_helper (inline)", "5", "5");
	expect_top_row(out, "worker_main", "0", "8");
	expect_top_row(out, LC_SENTINEL_NAME, "2", "2");
}

Test(pprof, go_tool_pprof_top_with_lock_frames)
{
	if (!have_go())
		cr_skip_test("go is not installed (make deps installs golang-go)");
	struct profile p = profile_with_locks();
	lock_frames = true;
	write_profile(&p);
	lock_frames = false;
	const char *out = run_pprof("-top -unit=ns -sample_index=delay");
	expect_top_row(out, "cache_lock", "0", "5000000ns");
	expect_top_row(out, "pool_locks+0x40", "0", "1500000ns");
	expect_top_row(out, LC_SENTINEL_NAME, "250000ns", "250000ns");
}

/* Sum the values of the sample lines ("  5    5000000: 1 2 ") of -raw. */
static void raw_totals(const char *out, long long *count, long long *delay)
{
	const char *start = strstr(out, "Samples:\n");
	const char *end = strstr(out, "Locations\n");
	cr_assert(start && end && start < end, "%s", out);
	*count = *delay = 0;
	for (const char *line = start; line < end; line = strchr(line, '\n') + 1) {
		long long c, dl;
		char colon;
		if (sscanf(line, " %lld %lld%c", &c, &dl, &colon) == 3 && colon == ':') {
			*count += c;
			*delay += dl;
		}
	}
}

Test(pprof, go_tool_pprof_raw)
{
	if (!have_go())
		cr_skip_test("go is not installed (make deps installs golang-go)");
	struct profile p = small_profile();
	write_profile(&p);
	const char *out = run_pprof("-raw");
	static const char *const want[] = {
		"PeriodType: contentions count\n",
		"Period: 1\n",
		"contentions/count delay/nanoseconds\n",
		"truncated:[true]",
		"timedout:[true]",
		": 0x401233 M=1 lock_helper src/queue.h:12 s=10\n",
		"             queue_push src/queue.c:40 s=30\n",
		": 0x4014ff M=1 worker_main src/app.c:77 s=70\n",
		": 0x7f0000002344 M=2 \n",
		": 0x0 " LC_SENTINEL_NAME " :0 s=0\n",
		"1: 0x400000/0x480000/0x0 /opt/lctest/bin/app " APP_BUILD_ID " [FN]\n",
		"2: 0x7f0000001000/0x7f0000010000/0x1000 /opt/lctest/lib/libworker.so " LIB_BUILD_ID " \n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(out, want[i]), "missing \"%s\" in:\n%s", want[i], out);
	long long count, delay;
	raw_totals(out, &count, &delay);
	cr_assert_eq(count, TOTAL_CONTENTIONS);
	cr_assert_eq(delay, TOTAL_DELAY);
}

/* -tags lists both labels with their values; -tagfocus=lock=NAME keeps that
 * lock's samples only, so the totals are that lock's. */
Test(pprof, go_tool_pprof_tags_and_tagfocus)
{
	if (!have_go())
		cr_skip_test("go is not installed (make deps installs golang-go)");
	struct profile p = small_profile();
	write_profile(&p);
	const char *out = run_pprof("-tags -sample_index=contentions");
	static const char *const want[] = {
		" lock: Total 8.0\n", "5.0 (62.50%): cache_lock\n", "3.0 (37.50%): pool_locks+0x40\n",
		" kind: Total 8.0\n", "5.0 (62.50%): mutex\n", "3.0 (37.50%): rdlock\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(out, want[i]), "missing \"%s\" in:\n%s", want[i], out);

	out = run_pprof("-top -unit=ns -sample_index=delay -tagfocus=lock=cache_lock");
	cr_assert(strstr(out, "Showing nodes accounting for 5000000ns, 74.07% of 6750000ns total"),
	          "%s", out);
	cr_assert(!strstr(out, "libworker.so"), "another lock's stack:\n%s", out);
	out = run_pprof("-top -sample_index=contentions -tagfocus=kind=rdlock");
	cr_assert(strstr(out, "Showing nodes accounting for 3, 30.00% of 10 total"), "%s", out);
}
