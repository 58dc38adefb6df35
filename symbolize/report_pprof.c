/*
 * report_pprof.c — encode a profile as profile.proto and gzip it (see
 * report_pprof.h; the schema is google/pprof proto/profile.proto).
 *
 * The message is built in one growable byte buffer, then compressed to the
 * FILE in chunks.  A submessage is written in place and its key and length
 * are put in front of it afterwards (msg_end moves the body up by the few
 * bytes they take), as Go's runtime/pprof encoder does: no sizing pass.
 *
 * Out-of-memory is sticky: once the buffer or the string table fails to
 * grow, later writes do nothing and the caller checks once at the end.
 * Indexes in the profile are all checked before anything is encoded, so the
 * encoder itself never reads outside a table.
 *
 * Conventions, from Go's writer and the comments in profile.proto:
 *  - ids are table index + 1; 0 means "none" and, being proto3's default,
 *    is never written: a location without a mapping has no mapping_id;
 *  - string_table[0] is ""; every other string appears once (interned by
 *    content, so equal strings from different tables share an index);
 *  - location.line[0] is the innermost inlined function and the last line
 *    the function it was inlined into; sample.location_id[0] is the leaf;
 *  - location.address is the recorded return address minus one, inside the
 *    call instruction, as Go writes it (runtime.Frame.PC): pprof looks the
 *    address up as is when it symbolizes a mapping that we could not;
 *  - a mapping gets has_functions when we found its symbols, and none of
 *    the other has_* flags, like Go's;
 *  - only the samples of one view are written; the mappings, locations and
 *    functions are all written (pprof ignores those no sample uses);
 *  - a comparison (report_pprof_write_diff) is what `go tool pprof
 *    -diff_base` makes of two profiles before it reports: the base run's
 *    samples negated and labelled pprof::base=true (its fetch.go), so
 *    pprof reads the change, and its percentages are of the base's total;
 *  - lock frames (report_pprof.h) come after the profile's own: lock i's
 *    function and location have ids nfunctions + i + 1 and
 *    nlocations + i + 1.
 */
#include "report_pprof.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lockcontend/dumpfmt.h"
#include "map64.h"
#include "names.h"

/* Field numbers of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
};
enum { VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2 };
enum { SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3 };
enum { LABEL_KEY = 1, LABEL_STR = 2 };
enum {
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
};
enum { LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4 };
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2 };
enum {
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
	FUNCTION_START_LINE = 5,
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };
enum { VARINT_MAX = 10 };

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- byte buffer and wire format ---------------------------------------- */

struct pbuf {
	uint8_t *data;
	size_t len, cap;
	bool oom;
};

static bool pbuf_reserve(struct pbuf *b, size_t n)
{
	if (b->oom)
		return false;
	if (n <= b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	uint8_t *data = realloc(b->data, cap);
	if (!data) {
		b->oom = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

static size_t varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static void pb_varint(struct pbuf *b, uint64_t v)
{
	if (pbuf_reserve(b, VARINT_MAX))
		b->len += varint_put(b->data + b->len, v);
}

/* A varint field; 0 is proto3's default and is left out, as Go does. */
static void pb_uint64(struct pbuf *b, int field, uint64_t v)
{
	if (v == 0)
		return;
	pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(b, v);
}

/* int64 goes on the wire as its two's complement (ten bytes if negative). */
static void pb_int64(struct pbuf *b, int field, int64_t v)
{
	pb_uint64(b, field, (uint64_t)v);
}

static void pb_bytes(struct pbuf *b, int field, const char *s, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_LEN);
	pb_varint(b, n);
	if (n > 0 && pbuf_reserve(b, n)) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	}
}

/* Submessages and packed fields: write the body, then msg_end puts the key
 * and the body's length in front of it. */
static size_t msg_begin(const struct pbuf *b)
{
	return b->len;
}

static void msg_end(struct pbuf *b, int field, size_t start)
{
	uint8_t head[2 * VARINT_MAX];
	if (b->oom)
		return;
	size_t body = b->len - start;
	size_t n = varint_put(head, (uint64_t)field << 3 | WIRE_LEN);
	n += varint_put(head + n, body);
	if (!pbuf_reserve(b, n))
		return;
	memmove(b->data + start + n, b->data + start, body);
	memcpy(b->data + start, head, n);
	b->len += n;
}

/* ---- string table -------------------------------------------------------- */

/* Open addressing on the strings' contents; slots hold index + 1. */
struct strtab {
	const char **strs; /* strs[0] is "" */
	size_t n, cap;
	uint32_t *slots;
	size_t nslots; /* a power of two, more than twice n */
	bool oom;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3u;
	return h;
}

static bool strtab_rehash(struct strtab *st, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 1; i < st->n; i++) {
		size_t j = str_hash(st->strs[i]) & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)i + 1;
	}
	free(st->slots);
	st->slots = slots;
	st->nslots = nslots;
	return true;
}

/* Make room for one more string, in the array and in the hash. */
static bool strtab_grow(struct strtab *st)
{
	if (st->n >= UINT32_MAX - 1)
		return false;
	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 256;
		const char **strs = realloc(st->strs, cap * sizeof(*strs));
		if (!strs)
			return false;
		st->strs = strs;
		st->cap = cap;
	}
	if (2 * (st->n + 1) >= st->nslots)
		return strtab_rehash(st, st->nslots ? 2 * st->nslots : 512);
	return true;
}

/* The index of s in the string table, adding it if new; NULL is "".  The
 * table keeps the pointer: s must outlive the encoding. */
static int64_t strtab_intern(struct strtab *st, const char *s)
{
	if (!s || !*s || st->oom)
		return 0;
	if (!strtab_grow(st)) {
		st->oom = true;
		return 0;
	}
	size_t j = str_hash(s) & (st->nslots - 1);
	for (; st->slots[j]; j = (j + 1) & (st->nslots - 1)) {
		if (strcmp(st->strs[st->slots[j] - 1], s) == 0)
			return st->slots[j] - 1;
	}
	st->slots[j] = (uint32_t)st->n + 1;
	st->strs[st->n] = s;
	return (int64_t)st->n++;
}

static bool strtab_init(struct strtab *st)
{
	memset(st, 0, sizeof(*st));
	if (!strtab_grow(st))
		return false;
	st->strs[st->n++] = "";
	return true;
}

static void strtab_free(struct strtab *st)
{
	free(st->strs);
	free(st->slots);
}

/* ---- profile messages ---------------------------------------------------- */

struct enc {
	struct pbuf pb;
	struct strtab st;
	const struct profile *p;
	int view;
	bool lock_frames;
	size_t nbase;       /* samples of dumps before it are the base run's */
	struct map64 locks; /* a lock's name (the pointer) -> its index */
};

/* The location id of s's lock frame, 0 if it has none. */
static uint64_t lock_location_id(const struct enc *e, const struct prof_sample *s)
{
	uint32_t i;
	if (!e->lock_frames || !s->lock || !map64_get(&e->locks, (uintptr_t)s->lock, &i))
		return 0;
	return e->p->nlocations + i + 1;
}

static void enc_value_type(struct enc *e, int field, const char *type, const char *unit)
{
	size_t m = msg_begin(&e->pb);
	pb_int64(&e->pb, VALUETYPE_TYPE, strtab_intern(&e->st, type));
	pb_int64(&e->pb, VALUETYPE_UNIT, strtab_intern(&e->st, unit));
	msg_end(&e->pb, field, m);
}

static void enc_label(struct enc *e, const char *key, const char *str)
{
	size_t m = msg_begin(&e->pb);
	pb_int64(&e->pb, LABEL_KEY, strtab_intern(&e->st, key));
	pb_int64(&e->pb, LABEL_STR, strtab_intern(&e->st, str));
	msg_end(&e->pb, SAMPLE_LABEL, m);
}

static void enc_sample(struct enc *e, const struct prof_sample *s)
{
	size_t m = msg_begin(&e->pb);
	uint64_t lock_loc = lock_location_id(e, s);
	if (s->nlocs > 0 || lock_loc) {
		size_t packed = msg_begin(&e->pb);
		for (uint32_t i = 0; i < s->nlocs; i++)
			pb_varint(&e->pb, (uint64_t)s->locs[i] + 1);
		if (lock_loc)
			pb_varint(&e->pb, lock_loc);
		msg_end(&e->pb, SAMPLE_LOCATION_ID, packed);
	}
	bool base = s->dump < e->nbase;
	size_t packed = msg_begin(&e->pb);
	for (int i = 0; i < PROF_NVALUES; i++)
		pb_varint(&e->pb, (uint64_t)(base ? -s->value[i] : s->value[i]));
	msg_end(&e->pb, SAMPLE_VALUE, packed);
	if (base)
		enc_label(e, "pprof::base", "true");
	if (s->lock)
		enc_label(e, "lock", s->lock);
	if (s->kind != PROF_KIND_NONE)
		enc_label(e, "kind", names_kind(s->kind));
	if (s->flags & LC_BUCKET_TIMEDOUT)
		enc_label(e, "timedout", "true");
	if (s->flags & LC_BUCKET_TRUNCATED)
		enc_label(e, "truncated", "true");
	msg_end(&e->pb, PROFILE_SAMPLE, m);
}

static void enc_mapping(struct enc *e, size_t i)
{
	const struct prof_mapping *map = &e->p->mappings[i];
	size_t m = msg_begin(&e->pb);
	pb_uint64(&e->pb, MAPPING_ID, i + 1);
	pb_uint64(&e->pb, MAPPING_MEMORY_START, map->start);
	pb_uint64(&e->pb, MAPPING_MEMORY_LIMIT, map->limit);
	pb_uint64(&e->pb, MAPPING_FILE_OFFSET, map->file_offset);
	pb_int64(&e->pb, MAPPING_FILENAME, strtab_intern(&e->st, map->file));
	pb_int64(&e->pb, MAPPING_BUILD_ID, strtab_intern(&e->st, map->build_id));
	pb_uint64(&e->pb, MAPPING_HAS_FUNCTIONS, map->has_functions);
	msg_end(&e->pb, PROFILE_MAPPING, m);
}

static void enc_location(struct enc *e, size_t i)
{
	const struct prof_location *loc = &e->p->locations[i];
	size_t m = msg_begin(&e->pb);
	pb_uint64(&e->pb, LOCATION_ID, i + 1);
	pb_uint64(&e->pb, LOCATION_MAPPING_ID, (uint64_t)(loc->mapping + 1));
	/* Return address - 1: inside the call, as Go writes it. */
	pb_uint64(&e->pb, LOCATION_ADDRESS, loc->address ? loc->address - 1 : 0);
	for (uint32_t j = 0; j < loc->nlines; j++) {
		size_t line = msg_begin(&e->pb);
		pb_uint64(&e->pb, LINE_FUNCTION_ID, (uint64_t)loc->lines[j].function + 1);
		pb_int64(&e->pb, LINE_LINE, loc->lines[j].line);
		msg_end(&e->pb, LOCATION_LINE, line);
	}
	msg_end(&e->pb, PROFILE_LOCATION, m);
}

static void enc_function(struct enc *e, size_t i)
{
	const struct prof_function *fn = &e->p->functions[i];
	size_t m = msg_begin(&e->pb);
	pb_uint64(&e->pb, FUNCTION_ID, i + 1);
	pb_int64(&e->pb, FUNCTION_NAME, strtab_intern(&e->st, fn->name));
	pb_int64(&e->pb, FUNCTION_SYSTEM_NAME, strtab_intern(&e->st, fn->system_name));
	pb_int64(&e->pb, FUNCTION_FILENAME, strtab_intern(&e->st, fn->file));
	pb_int64(&e->pb, FUNCTION_START_LINE, fn->start_line);
	msg_end(&e->pb, PROFILE_FUNCTION, m);
}

/* Lock i's frame: a function named as the lock, and a location without a
 * mapping or address whose one line is that function. */
static void enc_lock_frame(struct enc *e, size_t i)
{
	const struct profile *p = e->p;
	size_t m = msg_begin(&e->pb);
	pb_uint64(&e->pb, LOCATION_ID, p->nlocations + i + 1);
	size_t line = msg_begin(&e->pb);
	pb_uint64(&e->pb, LINE_FUNCTION_ID, p->nfunctions + i + 1);
	msg_end(&e->pb, LOCATION_LINE, line);
	msg_end(&e->pb, PROFILE_LOCATION, m);
	m = msg_begin(&e->pb);
	pb_uint64(&e->pb, FUNCTION_ID, p->nfunctions + i + 1);
	pb_int64(&e->pb, FUNCTION_NAME, strtab_intern(&e->st, p->locks[i].name));
	pb_int64(&e->pb, FUNCTION_SYSTEM_NAME, strtab_intern(&e->st, p->locks[i].name));
	msg_end(&e->pb, PROFILE_FUNCTION, m);
}

/* The whole Profile message.  The string table goes last, once every
 * string has been interned; field order does not matter to readers. */
static void enc_profile(struct enc *e)
{
	const struct profile *p = e->p;
	bool hold = e->view == LC_VIEW_HOLD;
	enc_value_type(e, PROFILE_SAMPLE_TYPE, hold ? "holds" : "contentions", "count");
	enc_value_type(e, PROFILE_SAMPLE_TYPE, hold ? "hold" : "delay", "nanoseconds");
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].view == e->view)
			enc_sample(e, &p->samples[i]);
	for (size_t i = 0; i < p->nmappings; i++)
		enc_mapping(e, i);
	for (size_t i = 0; i < p->nlocations; i++)
		enc_location(e, i);
	for (size_t i = 0; i < p->nfunctions; i++)
		enc_function(e, i);
	for (size_t i = 0; e->lock_frames && i < p->nlocks; i++)
		enc_lock_frame(e, i);
	pb_uint64(&e->pb, PROFILE_TIME_NANOS, p->time_nanos);
	pb_uint64(&e->pb, PROFILE_DURATION_NANOS, p->duration_nanos);
	enc_value_type(e, PROFILE_PERIOD_TYPE, hold ? "holds" : "contentions", "count");
	pb_int64(&e->pb, PROFILE_PERIOD, p->period);
	for (size_t i = 0; i < e->st.n; i++)
		pb_bytes(&e->pb, PROFILE_STRING_TABLE, e->st.strs[i], strlen(e->st.strs[i]));
}

/* ---- checks, compression, entry point ------------------------------------ */

static int profile_check(const struct profile *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->nsamples; i++) {
		for (uint32_t j = 0; j < p->samples[i].nlocs; j++) {
			if (p->samples[i].locs[j] >= p->nlocations) {
				set_err(err, errlen, "pprof: sample %zu: location %u out of range",
				        i, p->samples[i].locs[j]);
				return -1;
			}
		}
	}
	for (size_t i = 0; i < p->nlocations; i++) {
		const struct prof_location *loc = &p->locations[i];
		if (loc->mapping < -1 ||
		    (loc->mapping >= 0 && (size_t)loc->mapping >= p->nmappings)) {
			set_err(err, errlen, "pprof: location %zu: mapping %d out of range", i,
			        loc->mapping);
			return -1;
		}
		for (uint32_t j = 0; j < loc->nlines; j++) {
			if (loc->lines[j].function >= p->nfunctions) {
				set_err(err, errlen,
				        "pprof: location %zu: function %u out of range", i,
				        loc->lines[j].function);
				return -1;
			}
		}
	}
	return 0;
}

static int write_chunk(FILE *out, const uint8_t *buf, size_t n, char *err, size_t errlen)
{
	if (n > 0 && fwrite(buf, 1, n, out) != n) {
		set_err(err, errlen, "pprof: write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* gzip (deflate with a gzip header: windowBits 15 + 16) data to out. */
static int gzip_write(const uint8_t *data, size_t len, FILE *out, char *err, size_t errlen)
{
	z_stream zs;
	uint8_t chunk[16384];
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		set_err(err, errlen, "pprof: zlib: deflateInit2 failed");
		return -1;
	}
	size_t left = len; /* bytes not yet handed to zlib (avail_in is 32 bits) */
	int rc = Z_OK;
	while (rc != Z_STREAM_END) {
		if (zs.avail_in == 0 && left > 0) {
			uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
			zs.next_in = (Bytef *)(uintptr_t)(data + (len - left));
			zs.avail_in = n;
			left -= n;
		}
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		rc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_ERROR) {
			set_err(err, errlen, "pprof: zlib: deflate failed");
			break;
		}
		if (write_chunk(out, chunk, sizeof(chunk) - zs.avail_out, err, errlen) < 0) {
			rc = Z_STREAM_ERROR;
			break;
		}
	}
	deflateEnd(&zs);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* Each lock's index by its name's pointer (samples share it). */
static bool locks_index(struct enc *e)
{
	for (size_t i = 0; e->lock_frames && i < e->p->nlocks; i++)
		if (!map64_put(&e->locks, (uintptr_t)e->p->locks[i].name, (uint32_t)i))
			return false;
	return true;
}

int report_pprof_write(const struct profile *p, int view, bool lock_frames, FILE *out, char *err,
                       size_t errlen)
{
	return report_pprof_write_diff(p, 0, view, lock_frames, out, err, errlen);
}

int report_pprof_write_diff(const struct profile *p, size_t nbase, int view, bool lock_frames,
                            FILE *out, char *err, size_t errlen)
{
	if (profile_check(p, err, errlen) < 0)
		return -1;
	struct enc e = {.p = p, .view = view, .lock_frames = lock_frames, .nbase = nbase};
	int ret = -1;
	if (!strtab_init(&e.st) || !locks_index(&e)) {
		set_err(err, errlen, "pprof: out of memory");
		strtab_free(&e.st);
		map64_free(&e.locks);
		return -1;
	}
	enc_profile(&e);
	if (e.pb.oom || e.st.oom) {
		set_err(err, errlen, "pprof: out of memory");
	} else if (gzip_write(e.pb.data, e.pb.len, out, err, errlen) == 0) {
		if (fflush(out) != 0 || ferror(out))
			set_err(err, errlen, "pprof: write: %s", strerror(errno));
		else
			ret = 0;
	}
	free(e.pb.data);
	strtab_free(&e.st);
	map64_free(&e.locks);
	return ret;
}
