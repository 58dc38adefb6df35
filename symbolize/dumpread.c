/*
 * dumpread.c — parse a raw dump (see dumpread.h, dumpfmt.h, docs/format.md).
 *
 * Reading is a bounds-checked walk over records.  Integers are decoded
 * byte by byte as little-endian, so the reader does not depend on the host
 * or on alignment.  Errors that make the file unusable (wrong magic, another
 * major version, a record that lies about its size inside the file) give -1
 * and one line; a file whose records end without a trailer (at a head of
 * zeros, at the end of the file, or cut inside a record) gives a model with
 * complete == false, `end` saying which, and the reason in warning.
 *
 * The writer appends records in place while the program runs (dumpfmt.h),
 * so a file read live may change under the reader: every record is checked
 * on its own, and the only cross-record rules are those a live file keeps
 * (one META, one LIVE, one LOST per view, one TOTALS).
 *
 * Enumerations are checked where they are read (a bucket's view and kind,
 * a lock's kind, a LOST record's view), so every consumer may index arrays
 * with them.  A second LOST record for one view is corrupt: the per-view
 * conservation check would count it twice.
 */
#include "dumpread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"
#include "safeopen.h"

static uint64_t rd_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A payload being decoded: bounds-checked cursor. */
struct cur {
	const uint8_t *p;
	uint32_t left;
};

static bool cur_take(struct cur *c, uint32_t n, const uint8_t **out)
{
	if (n > c->left)
		return false;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static char *dup_str(const uint8_t *p, uint32_t n)
{
	char *s = malloc((size_t)n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int parse_meta(struct dump *d, struct cur *c)
{
	const uint8_t *p, *exe;
	if (d->have_meta || !cur_take(c, sizeof(struct lc_rec_meta), &p))
		return -1;
	struct lc_rec_meta *m = &d->meta;
	m->pid = rd_u64(p);
	m->start_realtime_ns = rd_u64(p + 8);
	m->end_realtime_ns = rd_u64(p + 16);
	m->start_mono_ns = rd_u64(p + 24);
	m->end_mono_ns = rd_u64(p + 32);
	m->clock = rd_u32(p + 40);
	m->rate = rd_u32(p + 44);
	m->depth = rd_u32(p + 48);
	m->flags = rd_u32(p + 52);
	m->arena_bytes = rd_u64(p + 56);
	m->arena_used = rd_u64(p + 64);
	m->exe_len = rd_u32(p + 72);
	m->hold_rate = rd_u32(p + 76);
	if (m->exe_len > LC_DUMP_MAX_PATH || !cur_take(c, m->exe_len, &exe))
		return -1;
	if (!(d->exe = dup_str(exe, m->exe_len)))
		return -1;
	d->have_meta = true;
	return 0;
}

static int parse_segments(struct dump_module *mod, struct cur *c)
{
	const uint8_t *p;
	mod->segments = calloc(mod->nsegments ? mod->nsegments : 1, sizeof(*mod->segments));
	if (!mod->segments)
		return -1;
	for (uint32_t i = 0; i < mod->nsegments; i++) {
		if (!cur_take(c, sizeof(struct lc_rec_segment), &p))
			return -1;
		mod->segments[i].vaddr = rd_u64(p);
		mod->segments[i].memsz = rd_u64(p + 8);
		mod->segments[i].offset = rd_u64(p + 16);
		mod->segments[i].flags = rd_u32(p + 24);
	}
	return 0;
}

/* A module unloaded before it was loaded is corrupt. */
static int parse_module(struct dump *d, struct cur *c)
{
	const uint8_t *p, *bid, *path;
	if (!cur_take(c, sizeof(struct lc_rec_module), &p))
		return -1;
	struct dump_module *mods = realloc(d->modules, (d->nmodules + 1) * sizeof(*mods));
	if (!mods)
		return -1;
	d->modules = mods;
	struct dump_module *mod = &mods[d->nmodules];
	memset(mod, 0, sizeof(*mod));
	mod->id = rd_u32(p);
	mod->nsegments = rd_u32(p + 4);
	mod->load_bias = rd_u64(p + 8);
	mod->build_id_len = rd_u32(p + 16);
	uint32_t path_len = rd_u32(p + 20);
	mod->epoch_first = rd_u32(p + 24);
	mod->epoch_last = rd_u32(p + 28);
	d->nmodules++; /* counted now so dump_free releases partial data */
	if (mod->nsegments > LC_DUMP_MAX_SEGMENTS || mod->build_id_len > LC_DUMP_MAX_BUILD_ID ||
	    path_len > LC_DUMP_MAX_PATH || mod->epoch_first > mod->epoch_last ||
	    parse_segments(mod, c) != 0 ||
	    !cur_take(c, mod->build_id_len, &bid) || !cur_take(c, path_len, &path))
		return -1;
	memcpy(mod->build_id, bid, mod->build_id_len);
	return (mod->path = dup_str(path, path_len)) ? 0 : -1;
}

/* Room for one more element in an array grown 256 at a time. */
static bool grow_by_256(void **arr, size_t n, size_t elem)
{
	if (n % 256 != 0)
		return true;
	void *a = realloc(*arr, (n + 256) * elem);
	if (a)
		*arr = a;
	return a != NULL;
}

static int parse_bucket(struct dump *d, struct cur *c)
{
	const uint8_t *p, *pcs;
	if (!cur_take(c, sizeof(struct lc_rec_bucket), &p))
		return -1;
	uint32_t n = rd_u32(p + 36);
	uint8_t view = p[40], kind = p[41];
	if (n == 0 || n > LC_DUMP_MAX_DEPTH || view >= LC_NVIEWS || kind >= LC_NKINDS ||
	    !cur_take(c, n * 8u, &pcs) ||
	    !grow_by_256((void **)&d->buckets, d->nbuckets, sizeof(*d->buckets)))
		return -1;
	struct dump_bucket *b = &d->buckets[d->nbuckets];
	b->count = rd_u64(p);
	b->delay_ns = rd_u64(p + 8);
	b->max_ns = rd_u64(p + 16);
	b->lock = rd_u64(p + 24);
	b->flags = rd_u32(p + 32);
	b->nframes = n;
	b->view = view;
	b->kind = kind;
	b->epoch = rd_u32(p + 44);
	if (!(b->pcs = malloc(n * sizeof(uint64_t))))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		b->pcs[i] = rd_u64(pcs + 8 * i);
	d->nbuckets++;
	return 0;
}

/* The record has room for LC_LOCK_FIRST_FRAMES frames: it may be longer
 * than its nframes need, never longer than that room.  The spare bytes are
 * not checked, nor the epoch of no frames: a live file's first stack and
 * its epoch are written before its count. */
static int parse_lock(struct dump *d, struct cur *c)
{
	const uint8_t *p, *pcs, *room;
	if (!cur_take(c, sizeof(struct lc_rec_lock), &p))
		return -1;
	uint32_t kind = rd_u32(p + 32), n = rd_u32(p + 36);
	if (kind >= LC_NKINDS || n > LC_LOCK_FIRST_FRAMES || !cur_take(c, n * 8u, &pcs) ||
	    c->left > (LC_LOCK_FIRST_FRAMES - n) * 8u || !cur_take(c, c->left, &room) ||
	    !grow_by_256((void **)&d->locks, d->nlocks, sizeof(*d->locks)))
		return -1;
	struct dump_lock *l = &d->locks[d->nlocks++];
	memset(l, 0, sizeof(*l));
	l->addr = rd_u64(p);
	l->trylock_failures = rd_u64(p + 8);
	l->timeouts = rd_u64(p + 16);
	l->uncharged_ns = rd_u64(p + 24);
	l->kind = kind;
	l->nframes = n;
	l->epoch = rd_u32(p + 40);
	for (uint32_t i = 0; i < n; i++)
		l->pcs[i] = rd_u64(pcs + 8 * i);
	return 0;
}

static int parse_lost(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (!cur_take(c, sizeof(struct lc_rec_lost), &p))
		return -1;
	uint32_t view = rd_u32(p), n = rd_u32(p + 4);
	if (view >= LC_NVIEWS || (d->lost_views & 1u << view) || n > 64 ||
	    !cur_take(c, n * (uint32_t)sizeof(struct lc_lost_entry), &p))
		return -1;
	/* Reasons this reader does not know are folded into "no stack". */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t r = i < LC_LOST_NREASONS ? i : LC_LOST_NO_STACK;
		d->lost[view][r].count += rd_u64(p + 16 * i);
		d->lost[view][r].delay_ns += rd_u64(p + 16 * i + 8);
	}
	d->lost_views |= 1u << view;
	d->have_lost = true;
	return 0;
}

/* A SLOT's lost counters are [view][reason] for as many reasons as its
 * writer knew: 6 before format 3.1, 7 since.  Reasons this reader does not
 * know are folded into "no stack", as in LOST. */
static int parse_slot(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	uint32_t head = offsetof(struct lc_rec_slot, lost), row = LC_NVIEWS * 16;
	uint32_t nr = c->left >= head ? (c->left - head) / row : 0;
	if (nr < LC_LOST_NO_SLOT + 1 || nr > 64 || !cur_take(c, head + nr * row, &p) ||
	    !grow_by_256((void **)&d->slots, d->nslots, sizeof(*d->slots)))
		return -1;
	struct lc_rec_slot *s = &d->slots[d->nslots++];
	memset(s, 0, sizeof(*s));
	for (int v = 0; v < LC_NVIEWS; v++) {
		s->count[v] = rd_u64(p + 8 * v);
		s->delay_ns[v] = rd_u64(p + 24 + 8 * v);
	}
	s->timeouts = rd_u64(p + 48);
	s->uncharged_ns = rd_u64(p + 56);
	for (uint32_t v = 0; v < LC_NVIEWS; v++) {
		for (uint32_t i = 0; i < nr; i++) {
			const uint8_t *e = p + head + 16 * (nr * v + i);
			uint32_t r = i < LC_LOST_NREASONS ? i : LC_LOST_NO_STACK;
			s->lost[v][r].count += rd_u64(e);
			s->lost[v][r].delay_ns += rd_u64(e + 8);
		}
	}
	return 0;
}

static int parse_live(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (d->have_live || !cur_take(c, sizeof(struct lc_rec_live), &p))
		return -1;
	d->live = (struct lc_rec_live){
	    .state = rd_u32(p), .epoch = rd_u32(p + 4), .snapshots = rd_u64(p + 8),
	    .snapshot_mono_ns = rd_u64(p + 16), .trylock_failures = rd_u64(p + 24),
	    .stacks_refused = rd_u64(p + 32), .locks_refused = rd_u64(p + 40),
	    .threads_seen = rd_u64(p + 48), .modules_dropped = rd_u64(p + 56)};
	d->have_live = true;
	return 0;
}

static int parse_totals(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (d->have_totals || !cur_take(c, sizeof(struct lc_rec_totals), &p))
		return -1;
	uint64_t v[16];
	for (int i = 0; i < 16; i++)
		v[i] = rd_u64(p + 8 * i);
	d->totals = (struct lc_rec_totals){v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6],  v[7],
	                                   v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]};
	d->have_totals = true;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int parse_header(const uint8_t *buf, size_t len, struct dump *d, char *err, size_t errlen)
{
	if (len < sizeof(struct lc_dump_header)) {
		set_err(err, errlen, len ? "too short for a lockcontend dump (%zu bytes)"
		                         : "empty file, not a lockcontend dump", len);
		return -1;
	}
	if (all_zero(buf, sizeof(struct lc_dump_header))) {
		set_err(err, errlen, "no dump header yet, only zeros (a profile being created, or not "
		                     "a lockcontend dump)");
		return -1;
	}
	if (memcmp(buf, LC_DUMP_MAGIC, 8) != 0) {
		set_err(err, errlen, "not a lockcontend dump (bad magic at offset 0)");
		return -1;
	}
	d->version_major = rd_u16(buf + 8);
	d->version_minor = rd_u16(buf + 10);
	if (d->version_major != LC_DUMP_VERSION_MAJOR) {
		set_err(err, errlen, "dump format version %u.%u is not supported (this reader: %u.x)",
		        d->version_major, d->version_minor, LC_DUMP_VERSION_MAJOR);
		return -1;
	}
	if (buf[12] != 8 || buf[13] != LC_DUMP_ENDIAN_LITTLE ||
	    rd_u16(buf + 14) != sizeof(struct lc_dump_header)) {
		set_err(err, errlen, "unsupported dump layout (pointer size %u, endian %u) at offset 12",
		        buf[12], buf[13]);
		return -1;
	}
	return 0;
}

static int parse_trailer(struct dump *d, const uint8_t *buf, uint32_t size, uint64_t off,
                         size_t len, char *err, size_t errlen)
{
	const uint8_t *p = buf + off + sizeof(struct lc_rec_head);
	if (size != sizeof(struct lc_rec_trailer) || memcmp(p + 16, LC_DUMP_END_MAGIC, 8) != 0 ||
	    rd_u64(p) != d->records || rd_u64(p + 8) != off) {
		set_err(err, errlen, "corrupt trailer at offset %llu (records or size do not match)",
		        (unsigned long long)off);
		return -1;
	}
	/* Zeros may follow: the file was not cut to its records (the writer
	 * died between its trailer and that last step). */
	uint64_t end = off + sizeof(struct lc_rec_head) + lc_dump_pad(size);
	if (!all_zero(buf + end, len - end)) {
		set_err(err, errlen, "unexpected bytes after the trailer at offset %llu",
		        (unsigned long long)end);
		return -1;
	}
	d->complete = true;
	d->end = DUMP_END_TRAILER;
	return 0;
}

/* 0 or -1; *known tells whether the record must fill its payload exactly. */
static int parse_record(struct dump *d, uint32_t type, struct cur *c, bool *known)
{
	*known = true;
	switch (type) {
	case LC_REC_META: return parse_meta(d, c);
	case LC_REC_MODULE: return parse_module(d, c);
	case LC_REC_BUCKET: return parse_bucket(d, c);
	case LC_REC_LOST: return parse_lost(d, c);
	case LC_REC_TOTALS: return parse_totals(d, c);
	case LC_REC_LOCK: return parse_lock(d, c);
	case LC_REC_SLOT: return parse_slot(d, c);
	case LC_REC_LIVE: return parse_live(d, c);
	case LC_REC_PENDING: *known = false; d->pending++; return 0;
	default: *known = false; d->skipped++; return 0;
	}
}

/* The records end without a trailer: how, and where. */
static int records_end(struct dump *d, enum dump_end end, const char *what, uint64_t off)
{
	d->end = end;
	if (end == DUMP_END_CUT)
		snprintf(d->warning, sizeof(d->warning),
		         "the dump is cut short inside a record (%s) at byte %llu (no trailer)", what,
		         (unsigned long long)off);
	else
		snprintf(d->warning, sizeof(d->warning),
		         "no trailer: the records end at byte %llu%s (a live profile, or its writer "
		         "died)", (unsigned long long)off,
		         end == DUMP_END_ZEROS ? "" : ", the end of the file");
	return 0;
}

/* Walk the records; returns 0 (complete, or ended without a trailer) or
 * -1 (corrupt).  A head of type 0 ends them whatever its size says: the
 * writer stores the size first. */
static int parse_records(const uint8_t *buf, size_t len, struct dump *d, char *err, size_t errlen)
{
	uint64_t off = sizeof(struct lc_dump_header);
	for (;;) {
		d->stop_offset = off;
		if (len == off)
			return records_end(d, DUMP_END_EOF, NULL, off);
		if (len - off < sizeof(struct lc_rec_head))
			return records_end(d, all_zero(buf + off, len - off) ? DUMP_END_ZEROS : DUMP_END_CUT,
			                   "its head", off);
		uint32_t type = rd_u32(buf + off), size = rd_u32(buf + off + 4);
		if (type == 0)
			return records_end(d, DUMP_END_ZEROS, NULL, off);
		if (size > LC_DUMP_MAX_RECORD) {
			set_err(err, errlen, "corrupt record header at offset %llu (type %u, size %u)",
			        (unsigned long long)off, type, size);
			return -1;
		}
		uint64_t body = off + sizeof(struct lc_rec_head);
		if (len - body < lc_dump_pad(size))
			return records_end(d, DUMP_END_CUT, names_rec_type(type), off);
		if (type == LC_REC_TRAILER)
			return parse_trailer(d, buf, size, off, len, err, errlen);
		struct cur c = {.p = buf + body, .left = size};
		bool known;
		if (parse_record(d, type, &c, &known) != 0 || (known && c.left != 0)) {
			set_err(err, errlen, "corrupt %s record at offset %llu", names_rec_type(type),
			        (unsigned long long)off);
			return -1;
		}
		d->records++;
		off = body + lc_dump_pad(size);
	}
}

/* A file without TOTALS (no clean end): totals and lost from the slots'
 * sums and LIVE's counters.  LOST records read before (a writer that died
 * while closing the file) are replaced, so both come from one source. */
static void totals_from_slots(struct dump *d)
{
	struct lc_rec_totals *t = &d->totals;
	memset(d->lost, 0, sizeof(d->lost));
	for (size_t i = 0; i < d->nslots; i++) {
		const struct lc_rec_slot *s = &d->slots[i];
		t->contentions += s->count[LC_VIEW_WAIT];
		t->delay_ns += s->delay_ns[LC_VIEW_WAIT];
		t->caused_count += s->count[LC_VIEW_HOLDER];
		t->caused_ns += s->delay_ns[LC_VIEW_HOLDER];
		t->holds += s->count[LC_VIEW_HOLD];
		t->hold_ns += s->delay_ns[LC_VIEW_HOLD];
		t->timeouts += s->timeouts;
		t->uncharged_ns += s->uncharged_ns;
		for (int v = 0; v < LC_NVIEWS; v++) {
			for (int r = 0; r < LC_LOST_NREASONS; r++) {
				d->lost[v][r].count += s->lost[v][r].count;
				d->lost[v][r].delay_ns += s->lost[v][r].delay_ns;
			}
		}
	}
	t->buckets = d->nbuckets;
	t->modules = d->nmodules;
	t->locks = d->nlocks;
	t->stacks_refused = d->live.stacks_refused;
	t->threads_seen = d->live.threads_seen;
	t->trylock_failures = d->live.trylock_failures;
	t->locks_refused = d->live.locks_refused;
	d->have_totals = d->have_lost = d->totals_from_slots = true;
}

int dump_parse(const uint8_t *buf, size_t len, struct dump *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (parse_header(buf, len, d, err, errlen) != 0 || parse_records(buf, len, d, err, errlen) != 0)
		goto fail;
	if (!d->have_meta) {
		set_err(err, errlen, "the dump ends before its metadata (cut short at byte %llu)",
		        (unsigned long long)d->stop_offset);
		goto fail;
	}
	if (d->complete && (!d->have_lost || !d->have_totals || !d->have_live)) {
		set_err(err, errlen, "corrupt dump: complete but without %s record",
		        !d->have_lost ? "a lost" : !d->have_totals ? "a totals" : "a live");
		goto fail;
	}
	if (d->complete)
		d->stop_offset = len;
	else if (!d->have_totals)
		totals_from_slots(d);
	else
		d->have_lost = true; /* a TOTALS record: views without LOST lost nothing */
	return 0;
fail:
	dump_free(d);
	return -1;
}

/* Read fd to its end into a malloc'd *buf: a live profile grows while it
 * is read, and what was appended meanwhile is read too.  Returns 0 or an
 * errno value. */
static int read_all(int fd, size_t hint, uint8_t **buf, size_t *len)
{
	size_t cap = hint + 4096, got = 0;
	uint8_t *b = malloc(cap);
	for (;;) {
		if (b && got == cap) {
			uint8_t *nb = cap < SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
			if (!nb)
				free(b);
			b = nb;
			cap *= 2;
		}
		if (!b)
			return ENOMEM;
		ssize_t n = read(fd, b + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(b);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	return 0;
}

int dump_read_file(const char *path, struct dump *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	/* A FIFO or a device named as a dump would block the open or never
	 * end the read: refused before it is opened (safeopen.h). */
	struct stat st;
	int fd = safeopen_regular(path, &st);
	if (fd < 0 && errno == ENXIO && S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "is a directory, not a dump");
		return -1;
	}
	if (fd < 0 && errno == ENXIO) {
		set_err(err, errlen, "not a regular file but %s", safeopen_kind(st.st_mode));
		return -1;
	}
	if (fd < 0) {
		set_err(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	size_t len = 0;
	uint8_t *buf = NULL;
	int e = read_all(fd, (size_t)st.st_size, &buf, &len);
	close(fd);
	if (e) {
		set_err(err, errlen, "cannot read: %s", strerror(e));
		return -1;
	}
	int rc = dump_parse(buf, len, d, err, errlen);
	free(buf);
	if (rc == 0) {
		d->file_dev = (uint64_t)st.st_dev;
		d->file_ino = (uint64_t)st.st_ino;
	}
	return rc;
}

const char *dump_end_name(enum dump_end end)
{
	static const char *const names[] = {
	    [DUMP_END_TRAILER] = "trailer",
	    [DUMP_END_ZEROS] = "zeros",
	    [DUMP_END_EOF] = "eof",
	    [DUMP_END_CUT] = "cut",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == DUMP_NENDS, "a name for every end");
	return (unsigned)end < sizeof(names) / sizeof(names[0]) ? names[end] : "?";
}

void dump_free(struct dump *d)
{
	free(d->exe);
	for (size_t i = 0; i < d->nmodules; i++) {
		free(d->modules[i].path);
		free(d->modules[i].segments);
	}
	free(d->modules);
	for (size_t i = 0; i < d->nbuckets; i++)
		free(d->buckets[i].pcs);
	free(d->buckets);
	free(d->locks);
	free(d->slots);
	memset(d, 0, sizeof(*d));
}

static bool module_holds(const struct dump_module *m, uint64_t pc)
{
	for (uint32_t s = 0; s < m->nsegments; s++) {
		uint64_t lo = m->load_bias + m->segments[s].vaddr;
		if (pc >= lo && pc - lo < m->segments[s].memsz)
			return true;
	}
	return false;
}

const struct dump_module *dump_module_in_epoch(const struct dump *d, uint64_t pc, uint32_t epoch)
{
	for (size_t i = d->nmodules; i-- > 0;) {
		const struct dump_module *m = &d->modules[i];
		if (m->epoch_first <= epoch && epoch <= m->epoch_last && module_holds(m, pc))
			return m;
	}
	/* An object loaded between a dlclose() and the refresh after it is
	 * recorded in the next epoch, though a stack in it may carry the one
	 * before: when nothing else holds pc, that next epoch's module does. */
	for (size_t i = d->nmodules; i-- > 0;) {
		const struct dump_module *m = &d->modules[i];
		if (epoch != UINT32_MAX && m->epoch_first == epoch + 1 && module_holds(m, pc))
			return m;
	}
	return NULL;
}

const struct dump_module *dump_module_of(const struct dump *d, uint64_t pc)
{
	/* The latest epoch wins: a module loaded later at the same address
	 * replaced the earlier one.  Ties (one object listed twice): the last. */
	const struct dump_module *best = NULL;
	for (size_t i = 0; i < d->nmodules; i++) {
		const struct dump_module *m = &d->modules[i];
		if (!module_holds(m, pc))
			continue;
		if (!best || m->epoch_last > best->epoch_last ||
		    (m->epoch_last == best->epoch_last && m->epoch_first >= best->epoch_first))
			best = m;
	}
	return best;
}

void dump_lost_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns)
{
	*count = *delay_ns = 0;
	for (int r = 0; r < LC_LOST_NREASONS; r++) {
		*count += d->lost[view][r].count;
		*delay_ns += d->lost[view][r].delay_ns;
	}
}

void dump_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns)
{
	dump_lost_sum(d, view, count, delay_ns);
	for (size_t i = 0; i < d->nbuckets; i++) {
		if (d->buckets[i].view != view)
			continue;
		*count += d->buckets[i].count;
		*delay_ns += d->buckets[i].delay_ns;
	}
}

void dump_view_totals(const struct dump *d, enum lc_view view, uint64_t *count,
                      uint64_t *delay_ns)
{
	const struct lc_rec_totals *t = &d->totals;
	*count = view == LC_VIEW_WAIT ? t->contentions : view == LC_VIEW_HOLDER ? t->caused_count
	                                                                         : t->holds;
	*delay_ns = view == LC_VIEW_WAIT ? t->delay_ns : view == LC_VIEW_HOLDER ? t->caused_ns
	                                                                         : t->hold_ns;
}

bool dump_view_conserved(const struct dump *d, enum lc_view view)
{
	uint64_t sc, sd, tc, td;
	dump_sum(d, view, &sc, &sd);
	dump_view_totals(d, view, &tc, &td);
	return d->have_totals && sc == tc && sd == td;
}

bool dump_totals_while_running(const struct dump *d)
{
	return d->totals_from_slots || (d->complete && d->live.state == LC_LIVE_SNAPSHOT);
}

bool dump_view_in_flight(const struct dump *d, enum lc_view view, uint64_t *count,
                         uint64_t *delay_ns)
{
	uint64_t sc, sd, tc, td;
	dump_sum(d, view, &sc, &sd);
	dump_view_totals(d, view, &tc, &td);
	*count = *delay_ns = 0;
	if (!d->have_totals || sc > tc || sd > td)
		return false;
	*count = tc - sc;
	*delay_ns = td - sd;
	return true;
}

const struct dump_lock *dump_lock_of(const struct dump *d, uint64_t addr)
{
	for (size_t i = d->nlocks; i-- > 0;)
		if (d->locks[i].addr == addr)
			return &d->locks[i];
	return NULL;
}
