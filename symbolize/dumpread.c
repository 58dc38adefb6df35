/*
 * dumpread.c — parse a raw dump (see dumpread.h, dumpfmt.h, docs/format.md).
 *
 * Reading is a bounds-checked walk over records.  Every field is found by
 * its struct in dumpfmt.h — offsetof for where it is, sizeof for how wide
 * (RD_FIELD) — and decoded byte by byte as little-endian, so the reader
 * has no offset of its own, and depends neither on the host's byte order
 * nor on the payload's alignment (a payload is never copied as a struct).
 * The one older layout it reads, a 3.0 SLOT, is dumpfmt.h's
 * lc_rec_slot_3_0.  Errors that make the file unusable (wrong magic, another
 * major version, a record that lies about its size inside the file) give -1
 * and one line; a file whose records end without a trailer (at a head of
 * zeros, at the end of the file, or cut inside a record) gives a model with
 * complete == false, `end` saying which, and the reason in warning.  One
 * that ends at the end of the file before its heading is whole (META,
 * LIVE, ATTACH when attached, WRITER: heading_check) is cut too.
 *
 * The writer appends records in place while the program runs (dumpfmt.h),
 * so a file read live may change under the reader: every record is checked
 * on its own, and the only cross-record rules are those a live file keeps
 * (one META, one LIVE, one LOST per view, one TOTALS).
 *
 * Enumerations are checked where they are read (a bucket's view and kind,
 * a lock's kind, a LOST record's view), so every consumer may index arrays
 * with them.  A second LOST record for one view is corrupt: the per-view
 * conservation check would count it twice.  A lock kind past the last this
 * reader knows is a newer minor version's (3.9 added SEM): a BUCKET or
 * LOCK record that carries it is skipped whole once the rest of it checks
 * out, and counted (skipped_kind); a WAITING record is kept, its thread
 * shown not waiting (waiting_unknown_kind).  A skipped bucket's count and
 * delay go to its view's unknown_kind, which dump_sum adds, so the views
 * still add up to the totals.
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

/* More lost reasons than any writer will know: a count past it is corrupt. */
#define READ_MAX_REASONS 64

/* An unsigned little-endian integer of n (at most 8) bytes at p. */
static uint64_t rd_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Field `member` of the dumpfmt.h struct `type` whose bytes start at p: at
 * the field's offset, as wide as the field. */
#define RD_FIELD(p, type, member) rd_le((p) + offsetof(type, member), sizeof(((type *)0)->member))

/* Element i of an array of uint64_t whose bytes start at p (a stack's pcs,
 * a SLOT's per-view counters). */
static uint64_t rd_u64_at(const uint8_t *p, size_t i)
{
	return rd_le(p + i * sizeof(uint64_t), sizeof(uint64_t));
}

_Static_assert(sizeof(((struct lc_rec_slot *)0)->count[0]) == sizeof(uint64_t) &&
                   sizeof(((struct lc_rec_slot *)0)->delay_ns[0]) == sizeof(uint64_t),
               "rd_u64_at reads a slot's per-view counters");

/* Entry i of an array of struct lc_lost_entry whose bytes start at p. */
static struct lc_lost_entry rd_lost_entry(const uint8_t *p, size_t i)
{
	const uint8_t *e = p + i * sizeof(struct lc_lost_entry);
	return (struct lc_lost_entry){.count = RD_FIELD(e, struct lc_lost_entry, count),
	                              .delay_ns = RD_FIELD(e, struct lc_lost_entry, delay_ns)};
}

/* Add a lost entry to reason r of one view.  Reasons this reader does not
 * know (a newer minor version's) are folded into "no stack". */
static void lost_add(struct lc_lost_entry *view, uint32_t r, struct lc_lost_entry e)
{
	if (r >= LC_LOST_NREASONS)
		r = LC_LOST_NO_STACK;
	view[r].count += e.count;
	view[r].delay_ns += e.delay_ns;
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
	m->pid = RD_FIELD(p, struct lc_rec_meta, pid);
	m->start_realtime_ns = RD_FIELD(p, struct lc_rec_meta, start_realtime_ns);
	m->end_realtime_ns = RD_FIELD(p, struct lc_rec_meta, end_realtime_ns);
	m->start_mono_ns = RD_FIELD(p, struct lc_rec_meta, start_mono_ns);
	m->end_mono_ns = RD_FIELD(p, struct lc_rec_meta, end_mono_ns);
	m->clock = RD_FIELD(p, struct lc_rec_meta, clock);
	m->rate = RD_FIELD(p, struct lc_rec_meta, rate);
	m->depth = RD_FIELD(p, struct lc_rec_meta, depth);
	m->flags = RD_FIELD(p, struct lc_rec_meta, flags);
	m->arena_bytes = RD_FIELD(p, struct lc_rec_meta, arena_bytes);
	m->arena_used = RD_FIELD(p, struct lc_rec_meta, arena_used);
	m->exe_len = RD_FIELD(p, struct lc_rec_meta, exe_len);
	m->hold_rate = RD_FIELD(p, struct lc_rec_meta, hold_rate);
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
		struct lc_rec_segment *seg = &mod->segments[i];
		seg->vaddr = RD_FIELD(p, struct lc_rec_segment, vaddr);
		seg->memsz = RD_FIELD(p, struct lc_rec_segment, memsz);
		seg->offset = RD_FIELD(p, struct lc_rec_segment, offset);
		seg->flags = RD_FIELD(p, struct lc_rec_segment, flags);
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
	mod->id = RD_FIELD(p, struct lc_rec_module, id);
	mod->nsegments = RD_FIELD(p, struct lc_rec_module, nsegments);
	mod->load_bias = RD_FIELD(p, struct lc_rec_module, load_bias);
	mod->build_id_len = RD_FIELD(p, struct lc_rec_module, build_id_len);
	uint32_t path_len = RD_FIELD(p, struct lc_rec_module, path_len);
	mod->epoch_first = RD_FIELD(p, struct lc_rec_module, epoch_first);
	mod->epoch_last = RD_FIELD(p, struct lc_rec_module, epoch_last);
	d->nmodules++; /* counted now so dump_free releases partial data */
	if (mod->nsegments > LC_DUMP_MAX_SEGMENTS || mod->build_id_len > LC_DUMP_MAX_BUILD_ID ||
	    path_len > LC_DUMP_MAX_PATH || mod->epoch_first > mod->epoch_last ||
	    parse_segments(mod, c) != 0 || !cur_take(c, mod->build_id_len, &bid) ||
	    !cur_take(c, path_len, &path))
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
	uint32_t n = RD_FIELD(p, struct lc_rec_bucket, nframes);
	uint32_t view = RD_FIELD(p, struct lc_rec_bucket, view);
	uint32_t kind = RD_FIELD(p, struct lc_rec_bucket, kind);
	if (n == 0 || n > LC_DUMP_MAX_DEPTH || view >= LC_NVIEWS ||
	    !cur_take(c, n * (uint32_t)sizeof(uint64_t), &pcs))
		return -1;
	if (kind >= LC_NKINDS) {
		d->skipped_kind++;
		d->unknown_kind[view].count += RD_FIELD(p, struct lc_rec_bucket, count);
		d->unknown_kind[view].delay_ns += RD_FIELD(p, struct lc_rec_bucket, delay_ns);
		return 0;
	}
	if (!grow_by_256((void **)&d->buckets, d->nbuckets, sizeof(*d->buckets)))
		return -1;
	struct dump_bucket *b = &d->buckets[d->nbuckets];
	b->count = RD_FIELD(p, struct lc_rec_bucket, count);
	b->delay_ns = RD_FIELD(p, struct lc_rec_bucket, delay_ns);
	b->max_ns = RD_FIELD(p, struct lc_rec_bucket, max_ns);
	b->lock = RD_FIELD(p, struct lc_rec_bucket, lock);
	b->flags = RD_FIELD(p, struct lc_rec_bucket, flags);
	b->nframes = n;
	b->view = (uint8_t)view; /* checked < LC_NVIEWS above */
	b->kind = (uint8_t)kind;
	b->epoch = RD_FIELD(p, struct lc_rec_bucket, epoch);
	if (!(b->pcs = malloc(n * sizeof(uint64_t))))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		b->pcs[i] = rd_u64_at(pcs, i);
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
	uint32_t kind = RD_FIELD(p, struct lc_rec_lock, kind);
	uint32_t n = RD_FIELD(p, struct lc_rec_lock, nframes);
	const uint32_t pc_size = sizeof(uint64_t);
	if (n > LC_LOCK_FIRST_FRAMES || !cur_take(c, n * pc_size, &pcs) ||
	    c->left > (LC_LOCK_FIRST_FRAMES - n) * pc_size || !cur_take(c, c->left, &room))
		return -1;
	if (kind >= LC_NKINDS) {
		d->skipped_kind++;
		d->skipped_kind_locks++;
		return 0;
	}
	if (!grow_by_256((void **)&d->locks, d->nlocks, sizeof(*d->locks)))
		return -1;
	struct dump_lock *l = &d->locks[d->nlocks++];
	memset(l, 0, sizeof(*l));
	l->addr = RD_FIELD(p, struct lc_rec_lock, addr);
	l->trylock_failures = RD_FIELD(p, struct lc_rec_lock, trylock_failures);
	l->timeouts = RD_FIELD(p, struct lc_rec_lock, timeouts);
	l->uncharged_ns = RD_FIELD(p, struct lc_rec_lock, uncharged_ns);
	l->kind = kind;
	l->nframes = n;
	l->epoch = RD_FIELD(p, struct lc_rec_lock, epoch);
	for (uint32_t i = 0; i < n; i++)
		l->pcs[i] = rd_u64_at(pcs, i);
	return 0;
}

/* 1..LC_LOCK_INIT_FRAMES frames, filling the record exactly (3.3). */
static int parse_lock_init(struct dump *d, struct cur *c)
{
	const uint8_t *p, *pcs;
	if (!cur_take(c, sizeof(struct lc_rec_lock_init), &p))
		return -1;
	uint32_t n = RD_FIELD(p, struct lc_rec_lock_init, nframes);
	if (n == 0 || n > LC_LOCK_INIT_FRAMES ||
	    !cur_take(c, n * (uint32_t)sizeof(uint64_t), &pcs) ||
	    !grow_by_256((void **)&d->inits, d->ninits, sizeof(*d->inits)))
		return -1;
	struct dump_lock_init *l = &d->inits[d->ninits++];
	memset(l, 0, sizeof(*l));
	l->addr = RD_FIELD(p, struct lc_rec_lock_init, addr);
	l->epoch = RD_FIELD(p, struct lc_rec_lock_init, epoch);
	l->nframes = n;
	for (uint32_t i = 0; i < n; i++)
		l->pcs[i] = rd_u64_at(pcs, i);
	return 0;
}

/* The header, room for `frames` frames, and the closing sequence word
 * (3.4).  A copy whose two sequence words differ, or are odd, was taken
 * while its thread wrote it: kept as torn, its fields not trusted. */
static int parse_waiting(struct dump *d, struct cur *c)
{
	const uint8_t *p, *pcs, *end;
	if (!cur_take(c, sizeof(struct lc_rec_waiting), &p))
		return -1;
	uint32_t frames = RD_FIELD(p, struct lc_rec_waiting, frames);
	if (frames > LC_DUMP_MAX_DEPTH || !cur_take(c, frames * (uint32_t)sizeof(uint64_t), &pcs) ||
	    !cur_take(c, sizeof(uint64_t), &end) ||
	    !grow_by_256((void **)&d->waiting, d->nwaiting, sizeof(*d->waiting)))
		return -1;
	struct dump_waiting *w = &d->waiting[d->nwaiting++];
	memset(w, 0, sizeof(*w));
	uint64_t seq = RD_FIELD(p, struct lc_rec_waiting, seq);
	uint32_t n = RD_FIELD(p, struct lc_rec_waiting, nframes);
	uint32_t kind = RD_FIELD(p, struct lc_rec_waiting, kind);
	w->torn = seq != rd_le(end, sizeof(uint32_t)) || (seq & 1);
	if (w->torn)
		return 0;
	if (n > frames)
		return -1;
	w->tid = (int32_t)RD_FIELD(p, struct lc_rec_waiting, tid);
	w->lock = RD_FIELD(p, struct lc_rec_waiting, lock);
	memcpy(w->name, p + offsetof(struct lc_rec_waiting, name), LC_THREAD_NAME);
	w->name[LC_THREAD_NAME - 1] = '\0';
	if (kind >= LC_NKINDS) {
		/* a wait for a lock of a kind this reader does not know: the
		 * thread is kept, as not waiting, and the wait counted as
		 * skipped (a thread not waiting may keep its last kind) */
		d->waiting_unknown_kind += w->lock != 0;
		w->lock = 0;
		return 0;
	}
	w->since_ns = RD_FIELD(p, struct lc_rec_waiting, since_ns);
	w->owner_tid = (int32_t)RD_FIELD(p, struct lc_rec_waiting, owner_tid);
	w->kind = kind;
	w->epoch = RD_FIELD(p, struct lc_rec_waiting, epoch);
	if (n && !(w->pcs = malloc(n * sizeof(uint64_t))))
		return -1;
	w->nframes = n;
	for (uint32_t i = 0; i < n; i++)
		w->pcs[i] = rd_u64_at(pcs, i);
	return 0;
}

static int parse_lost(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (!cur_take(c, sizeof(struct lc_rec_lost), &p))
		return -1;
	uint32_t view = RD_FIELD(p, struct lc_rec_lost, view);
	uint32_t n = RD_FIELD(p, struct lc_rec_lost, nreasons);
	if (view >= LC_NVIEWS || (d->lost_views & 1u << view) || n > READ_MAX_REASONS ||
	    !cur_take(c, n * (uint32_t)sizeof(struct lc_lost_entry), &p))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		lost_add(d->lost[view], i, rd_lost_entry(p, i));
	d->lost_views |= 1u << view;
	d->have_lost = true;
	return 0;
}

/* A SLOT's lost counters are [view][reason] for as many reasons as its
 * writer knew: LC_LOST_NREASONS_3_0 before format 3.1 (struct
 * lc_rec_slot_3_0), LC_LOST_NREASONS_3_1 up to 3.7, LC_LOST_NREASONS since; the fields before them
 * are laid out alike.  The record's size says how many: a whole number of reasons, each LC_NVIEWS
 * entries.  Reasons this reader does not know are folded into "no stack", as in LOST. */
/* A record whose last field is lost[view][reason] for as many reasons as
 * its size says (a whole number of them, at least min): the record whole
 * into *p, the count of reasons into *nr; false if it is not so. */
static bool take_lost_tail(struct cur *c, uint32_t head, uint32_t min, const uint8_t **p,
                           uint32_t *nr)
{
	const uint32_t per_reason = LC_NVIEWS * sizeof(struct lc_lost_entry);
	*nr = c->left >= head ? (c->left - head) / per_reason : 0;
	return *nr >= min && *nr <= READ_MAX_REASONS && cur_take(c, head + *nr * per_reason, p);
}

/* Those nr reasons a view, from lost (the tail's first byte), into dst. */
static void add_lost_tail(struct lc_lost_entry dst[LC_NVIEWS][LC_LOST_NREASONS],
                          const uint8_t *lost, uint32_t nr)
{
	for (uint32_t v = 0; v < LC_NVIEWS; v++)
		for (uint32_t i = 0; i < nr; i++)
			lost_add(dst[v], i, rd_lost_entry(lost, nr * v + i));
}

static int parse_slot(struct dump *d, struct cur *c, uint64_t off)
{
	const uint8_t *p;
	const uint32_t head = offsetof(struct lc_rec_slot, lost);
	uint32_t nr;
	if (!take_lost_tail(c, head, LC_LOST_NREASONS_3_0, &p, &nr) ||
	    !grow_by_256((void **)&d->slots, d->nslots, sizeof(*d->slots)) ||
	    !grow_by_256((void **)&d->slot_offsets, d->nslots, sizeof(*d->slot_offsets)))
		return -1;
	d->slot_offsets[d->nslots] = off;
	struct lc_rec_slot *s = &d->slots[d->nslots++];
	memset(s, 0, sizeof(*s));
	for (int v = 0; v < LC_NVIEWS; v++) {
		s->count[v] = rd_u64_at(p + offsetof(struct lc_rec_slot, count), v);
		s->delay_ns[v] = rd_u64_at(p + offsetof(struct lc_rec_slot, delay_ns), v);
	}
	s->timeouts = RD_FIELD(p, struct lc_rec_slot, timeouts);
	s->uncharged_ns = RD_FIELD(p, struct lc_rec_slot, uncharged_ns);
	add_lost_tail(s->lost, p + head, nr);
	return 0;
}

/* One series entry into e; false when it is out of range (a view, a
 * level, flags, or a place past 2^64 ns): then the series is BAD. */
static bool read_series_entry(const uint8_t *p, uint64_t width, struct dump_series_entry *e)
{
	uint32_t interval = RD_FIELD(p, struct lc_series_entry, interval);
	uint32_t level = RD_FIELD(p, struct lc_series_entry, level);
	uint32_t view = RD_FIELD(p, struct lc_series_entry, view);
	uint32_t flags = RD_FIELD(p, struct lc_series_entry, flags);
	*e = (struct dump_series_entry){
	    .lock = RD_FIELD(p, struct lc_series_entry, lock),
	    .stack = RD_FIELD(p, struct lc_series_entry, stack),
	    .count = RD_FIELD(p, struct lc_series_entry, count),
	    .delay_ns = RD_FIELD(p, struct lc_series_entry, delay_ns),
	    .view = (uint8_t)view,
	    .level = (uint8_t)level,
	    .other = (flags & LC_SERIES_OTHER) != 0,
	};
	if (view >= LC_NVIEWS || level > 63 || (flags & ~LC_SERIES_OTHER) ||
	    width > UINT64_MAX >> level ||
	    (width <<= level) > UINT64_MAX / ((uint64_t)interval + 1))
		return false;
	e->start_ns = width * interval;
	e->end_ns = e->start_ns + width;
	if (e->other)
		e->lock = e->stack = 0;
	return true;
}

/* A SERIES record: its head, then `nentries` entries filling it exactly, of
 * which `used` are in use.  Entries change in place while the program
 * runs: one out of range makes the series BAD, not the file corrupt. */
static int parse_series(struct dump *d, struct cur *c)
{
	const uint8_t *p, *ent;
	if (!cur_take(c, sizeof(struct lc_rec_series), &p))
		return -1;
	struct dump_series s = {
	    .slot = RD_FIELD(p, struct lc_rec_series, slot),
	    .interval_ns = RD_FIELD(p, struct lc_rec_series, interval_ns),
	    .nentries = RD_FIELD(p, struct lc_rec_series, nentries),
	    .level = RD_FIELD(p, struct lc_rec_series, level),
	};
	uint32_t used = RD_FIELD(p, struct lc_rec_series, used);
	const uint32_t esize = sizeof(struct lc_series_entry);
	if (!s.interval_ns || used > s.nentries || s.nentries > c->left / esize ||
	    !cur_take(c, s.nentries * esize, &ent) ||
	    !grow_by_256((void **)&d->series, d->nseries, sizeof(*d->series)) ||
	    !(s.entries = calloc(used ? used : 1, sizeof(*s.entries))))
		return -1;
	for (uint32_t i = 0; i < used; i++)
		if (!read_series_entry(ent + i * esize, s.interval_ns, &s.entries[s.n++]))
			s.state = DUMP_SERIES_BAD;
	d->series[d->nseries++] = s;
	return 0;
}

/* A new entry of lock_losts for lock, all zero; NULL: no memory. */
static struct dump_lock_lost *lock_lost_add(struct dump *d, uint64_t lock)
{
	if (!grow_by_256((void **)&d->lock_losts, d->nlock_losts, sizeof(*d->lock_losts)))
		return NULL;
	struct dump_lock_lost *l = &d->lock_losts[d->nlock_losts++];
	memset(l, 0, sizeof(*l));
	l->addr = lock;
	return l;
}

/* A LOCK_LOST record: the lock's address, then [view][reason] entries for
 * as many reasons as its writer knew (the size says, as in a SLOT).  It is
 * added to its lock once every record was read (dump_parse): a reader
 * that starts after the LOCK_LOST was written may find its LOCK after it. */
static int parse_lock_lost(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	const uint32_t head = offsetof(struct lc_rec_lock_lost, lost);
	uint32_t nr;
	struct dump_lock_lost *l;
	if (!take_lost_tail(c, head, LC_LOST_NREASONS_3_1, &p, &nr) ||
	    !(l = lock_lost_add(d, RD_FIELD(p, struct lc_rec_lock_lost, addr))))
		return -1;
	add_lost_tail(l->lost, p + head, nr);
	return 0;
}

/* A LOCK_UNCHARGED record (3.11): the uncharged waiting added under its
 * LOCK_LOST's claim, kept with the LOCK_LOSTs (lost all zero) and added to
 * its lock with them. */
static int parse_lock_uncharged(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	struct dump_lock_lost *l;
	if (!cur_take(c, sizeof(struct lc_rec_lock_uncharged), &p) ||
	    !(l = lock_lost_add(d, RD_FIELD(p, struct lc_rec_lock_uncharged, addr))))
		return -1;
	l->uncharged_ns = RD_FIELD(p, struct lc_rec_lock_uncharged, uncharged_ns);
	return 0;
}

/* A LOCK_NO_CELL record (3.12): of the lock's uncharged waiting, the waits
 * that found no waiter cell, kept with the LOCK_LOSTs and added to its
 * lock with them, and to the dump's total. */
static int parse_lock_no_cell(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	struct dump_lock_lost *l;
	if (!cur_take(c, sizeof(struct lc_rec_lock_no_cell), &p) ||
	    !(l = lock_lost_add(d, RD_FIELD(p, struct lc_rec_lock_no_cell, addr))))
		return -1;
	l->no_cell_count = RD_FIELD(p, struct lc_rec_lock_no_cell, count);
	l->no_cell_ns = RD_FIELD(p, struct lc_rec_lock_no_cell, delay_ns);
	d->no_cell_count += l->no_cell_count;
	d->no_cell_ns += l->no_cell_ns;
	return 0;
}

static int cmp_lock_lost(const void *a, const void *b)
{
	uint64_t x = ((const struct dump_lock_lost *)a)->addr;
	uint64_t y = ((const struct dump_lock_lost *)b)->addr;
	return x < y ? -1 : x > y;
}

/* Every LOCK_LOST record into its lock's lost: sorted by address, then
 * looked up once per lock (a file may hold a million locks).  A record
 * whose lock has no LOCK record (it did not fit) is left in lock_losts. */
static void locks_add_lost(struct dump *d)
{
	if (!d->nlock_losts)
		return;
	qsort(d->lock_losts, d->nlock_losts, sizeof(*d->lock_losts), cmp_lock_lost);
	for (size_t i = 0; i < d->nlocks; i++) {
		struct dump_lock *k = &d->locks[i];
		size_t lo = 0, hi = d->nlock_losts;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (d->lock_losts[mid].addr < k->addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < d->nlock_losts && d->lock_losts[lo].addr == k->addr; lo++) {
			k->uncharged_ns += d->lock_losts[lo].uncharged_ns;
			k->no_cell_count += d->lock_losts[lo].no_cell_count;
			k->no_cell_ns += d->lock_losts[lo].no_cell_ns;
			for (int v = 0; v < LC_NVIEWS; v++)
				for (int r = 0; r < LC_LOST_NREASONS; r++)
					lost_add(k->lost[v], (uint32_t)r,
					         d->lock_losts[lo].lost[v][r]);
		}
	}
}

_Static_assert(sizeof(struct lc_rec_slot_3_0) ==
                   offsetof(struct lc_rec_slot, lost) +
                       LC_LOST_NREASONS_3_0 * LC_NVIEWS * sizeof(struct lc_lost_entry),
               "parse_slot's rule reads a 3.0 slot");

static int parse_live(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (d->have_live || !cur_take(c, sizeof(struct lc_rec_live), &p))
		return -1;
	struct lc_rec_live *l = &d->live;
	l->state = RD_FIELD(p, struct lc_rec_live, state);
	l->epoch = RD_FIELD(p, struct lc_rec_live, epoch);
	l->snapshots = RD_FIELD(p, struct lc_rec_live, snapshots);
	l->snapshot_mono_ns = RD_FIELD(p, struct lc_rec_live, snapshot_mono_ns);
	l->trylock_failures = RD_FIELD(p, struct lc_rec_live, trylock_failures);
	l->stacks_refused = RD_FIELD(p, struct lc_rec_live, stacks_refused);
	l->locks_refused = RD_FIELD(p, struct lc_rec_live, locks_refused);
	l->threads_seen = RD_FIELD(p, struct lc_rec_live, threads_seen);
	l->modules_dropped = RD_FIELD(p, struct lc_rec_live, modules_dropped);
	d->have_live = true;
	return 0;
}

static int parse_attach(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (d->have_attach || !cur_take(c, sizeof(struct lc_rec_attach), &p))
		return -1;
	struct lc_rec_attach *a = &d->attach;
	a->objects = RD_FIELD(p, struct lc_rec_attach, objects);
	a->later = RD_FIELD(p, struct lc_rec_attach, later);
	a->slots = RD_FIELD(p, struct lc_rec_attach, slots);
	a->out_of_reach = RD_FIELD(p, struct lc_rec_attach, out_of_reach);
	a->failed = RD_FIELD(p, struct lc_rec_attach, failed);
	a->restored = RD_FIELD(p, struct lc_rec_attach, restored);
	a->left = RD_FIELD(p, struct lc_rec_attach, left);
	a->forgotten = RD_FIELD(p, struct lc_rec_attach, forgotten);
	a->flags = RD_FIELD(p, struct lc_rec_attach, flags);
	a->reserved = RD_FIELD(p, struct lc_rec_attach, reserved);
	d->have_attach = true;
	return 0;
}

/* The version is printed as it is: a byte a terminal would act on is a
 * '?' (a damaged or hostile file must not move the cursor). */
static int parse_writer(struct dump *d, struct cur *c)
{
	const uint8_t *p, *v;
	if (d->have_writer || !cur_take(c, sizeof(struct lc_rec_writer), &p))
		return -1;
	uint32_t n = RD_FIELD(p, struct lc_rec_writer, version_len);
	if (n == 0 || n > LC_DUMP_MAX_VERSION || !cur_take(c, n, &v))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		d->writer[i] = v[i] < 0x20 || v[i] > 0x7e ? '?' : (char)v[i];
	d->writer[n] = '\0';
	d->have_writer = true;
	return 0;
}

/* A THREAD record (3.7), whole; its figures are worked out once every
 * SLOT is read (dumpthreads.c).  The name is cut at its first NUL (or
 * 15 bytes), its unprintable bytes '?' as a writer's version's. */
static int parse_thread(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (!cur_take(c, sizeof(struct lc_rec_thread), &p) ||
	    !grow_by_256((void **)&d->threads, d->nthreads, sizeof(*d->threads)))
		return -1;
	struct dump_thread *t = &d->threads[d->nthreads++];
	memset(t, 0, sizeof(*t));
	t->slot = RD_FIELD(p, struct lc_rec_thread, slot);
	t->tid = (int32_t)RD_FIELD(p, struct lc_rec_thread, tid);
	t->ended = RD_FIELD(p, struct lc_rec_thread, flags) & LC_THREAD_ENDED;
	t->start_ns = RD_FIELD(p, struct lc_rec_thread, start_ns);
	t->end_ns = RD_FIELD(p, struct lc_rec_thread, end_ns);
	const uint8_t *name = p + offsetof(struct lc_rec_thread, name);
	for (int i = 0; i < LC_THREAD_NAME - 1 && name[i]; i++)
		t->name[i] = name[i] < 0x20 || name[i] > 0x7e ? '?' : (char)name[i];
	for (int v = 0; v < LC_NVIEWS; v++) {
		t->base_count[v] = rd_u64_at(p + offsetof(struct lc_rec_thread, base_count), v);
		t->base_delay_ns[v] =
		    rd_u64_at(p + offsetof(struct lc_rec_thread, base_delay_ns), v);
		t->end_count[v] = rd_u64_at(p + offsetof(struct lc_rec_thread, end_count), v);
		t->end_delay_ns[v] = rd_u64_at(p + offsetof(struct lc_rec_thread, end_delay_ns), v);
	}
	return 0;
}

static int parse_totals(struct dump *d, struct cur *c)
{
	const uint8_t *p;
	if (d->have_totals || !cur_take(c, sizeof(struct lc_rec_totals), &p))
		return -1;
	struct lc_rec_totals *t = &d->totals;
	t->contentions = RD_FIELD(p, struct lc_rec_totals, contentions);
	t->delay_ns = RD_FIELD(p, struct lc_rec_totals, delay_ns);
	t->timeouts = RD_FIELD(p, struct lc_rec_totals, timeouts);
	t->buckets = RD_FIELD(p, struct lc_rec_totals, buckets);
	t->modules = RD_FIELD(p, struct lc_rec_totals, modules);
	t->stacks_refused = RD_FIELD(p, struct lc_rec_totals, stacks_refused);
	t->threads_unread = RD_FIELD(p, struct lc_rec_totals, threads_unread);
	t->threads_seen = RD_FIELD(p, struct lc_rec_totals, threads_seen);
	t->caused_count = RD_FIELD(p, struct lc_rec_totals, caused_count);
	t->caused_ns = RD_FIELD(p, struct lc_rec_totals, caused_ns);
	t->uncharged_ns = RD_FIELD(p, struct lc_rec_totals, uncharged_ns);
	t->holds = RD_FIELD(p, struct lc_rec_totals, holds);
	t->hold_ns = RD_FIELD(p, struct lc_rec_totals, hold_ns);
	t->trylock_failures = RD_FIELD(p, struct lc_rec_totals, trylock_failures);
	t->locks = RD_FIELD(p, struct lc_rec_totals, locks);
	t->locks_refused = RD_FIELD(p, struct lc_rec_totals, locks_refused);
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

/* The magics fill their fields exactly, without a terminator. */
_Static_assert(sizeof(LC_DUMP_MAGIC) - 1 == sizeof(((struct lc_dump_header *)0)->magic),
               "header magic");
_Static_assert(sizeof(LC_DUMP_END_MAGIC) - 1 == sizeof(((struct lc_rec_trailer *)0)->end_magic),
               "trailer magic");

/* The only layout written: 8-byte pointers (x86-64, aarch64), little-endian. */
static int parse_header(const uint8_t *buf, size_t len, struct dump *d, char *err, size_t errlen)
{
	if (len < sizeof(struct lc_dump_header)) {
		set_err(err, errlen,
		        len ? "too short for a lockcontend dump (%zu bytes)"
		            : "empty file, not a lockcontend dump",
		        len);
		return -1;
	}
	if (all_zero(buf, sizeof(struct lc_dump_header))) {
		set_err(err, errlen,
		        "no dump header yet, only zeros (a profile being created, or not "
		        "a lockcontend dump)");
		return -1;
	}
	if (memcmp(buf + offsetof(struct lc_dump_header, magic), LC_DUMP_MAGIC,
	           sizeof(LC_DUMP_MAGIC) - 1) != 0) {
		set_err(err, errlen, "not a lockcontend dump (bad magic at offset %zu)",
		        offsetof(struct lc_dump_header, magic));
		return -1;
	}
	d->version_major = RD_FIELD(buf, struct lc_dump_header, version_major);
	d->version_minor = RD_FIELD(buf, struct lc_dump_header, version_minor);
	if (d->version_major != LC_DUMP_VERSION_MAJOR) {
		set_err(err, errlen,
		        "dump format version %u.%u is not supported (this reader: %u.x)",
		        d->version_major, d->version_minor, LC_DUMP_VERSION_MAJOR);
		return -1;
	}
	unsigned pointer_size = RD_FIELD(buf, struct lc_dump_header, pointer_size);
	unsigned endian = RD_FIELD(buf, struct lc_dump_header, endian);
	if (pointer_size != 8 || endian != LC_DUMP_ENDIAN_LITTLE ||
	    RD_FIELD(buf, struct lc_dump_header, header_size) != sizeof(struct lc_dump_header)) {
		set_err(err, errlen,
		        "unsupported dump layout (pointer size %u, endian %u) at offset %zu",
		        pointer_size, endian, offsetof(struct lc_dump_header, pointer_size));
		return -1;
	}
	return 0;
}

static int parse_trailer(struct dump *d, const uint8_t *buf, uint32_t size, uint64_t off,
                         size_t len, char *err, size_t errlen)
{
	const uint8_t *p = buf + off + sizeof(struct lc_rec_head);
	if (size != sizeof(struct lc_rec_trailer) ||
	    memcmp(p + offsetof(struct lc_rec_trailer, end_magic), LC_DUMP_END_MAGIC,
	           sizeof(LC_DUMP_END_MAGIC) - 1) != 0 ||
	    RD_FIELD(p, struct lc_rec_trailer, records) != d->records ||
	    RD_FIELD(p, struct lc_rec_trailer, bytes) != off) {
		set_err(err, errlen,
		        "corrupt trailer at offset %llu (records or size do not match)",
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

/* 0 or -1; *known tells whether the record must fill its payload exactly.
 * off: where its head is. */
static int parse_record(struct dump *d, uint32_t type, struct cur *c, uint64_t off, bool *known)
{
	*known = true;
	switch (type) {
	case LC_REC_META: return parse_meta(d, c);
	case LC_REC_MODULE: return parse_module(d, c);
	case LC_REC_BUCKET: return parse_bucket(d, c);
	case LC_REC_LOST: return parse_lost(d, c);
	case LC_REC_TOTALS: return parse_totals(d, c);
	case LC_REC_LOCK: return parse_lock(d, c);
	case LC_REC_SLOT: return parse_slot(d, c, off);
	case LC_REC_LIVE: return parse_live(d, c);
	case LC_REC_LOCK_LOST: return parse_lock_lost(d, c);
	case LC_REC_LOCK_UNCHARGED: return parse_lock_uncharged(d, c);
	case LC_REC_LOCK_NO_CELL: return parse_lock_no_cell(d, c);
	case LC_REC_LOCK_INIT: return parse_lock_init(d, c);
	case LC_REC_WAITING: return parse_waiting(d, c);
	case LC_REC_SERIES: return parse_series(d, c);
	case LC_REC_ATTACH: return parse_attach(d, c);
	case LC_REC_WRITER: return parse_writer(d, c);
	case LC_REC_THREAD: return parse_thread(d, c);
	case LC_REC_PENDING:
		*known = false;
		d->pending++;
		return 0;
	default:
		*known = false;
		d->skipped++;
		return 0;
	}
}

/* The records end without a trailer: how, and where. */
static int records_end(struct dump *d, enum dump_end end, const char *what, uint64_t off)
{
	d->end = end;
	if (end == DUMP_END_CUT)
		snprintf(d->warning, sizeof(d->warning),
		         "the dump is cut short inside a record (%s) at byte %llu (no trailer)",
		         what, (unsigned long long)off);
	else
		snprintf(
		    d->warning, sizeof(d->warning),
		    "no trailer: the records end at byte %llu%s (a live profile, or its writer "
		    "died)",
		    (unsigned long long)off, end == DUMP_END_ZEROS ? "" : ", the end of the file");
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
			return records_end(
			    d, all_zero(buf + off, len - off) ? DUMP_END_ZEROS : DUMP_END_CUT,
			    "its head", off);
		uint32_t type = RD_FIELD(buf + off, struct lc_rec_head, type);
		uint32_t size = RD_FIELD(buf + off, struct lc_rec_head, size);
		if (type == 0)
			return records_end(d, DUMP_END_ZEROS, NULL, off);
		if (size > LC_DUMP_MAX_RECORD) {
			set_err(err, errlen,
			        "corrupt record header at offset %llu (type %u, size %u)",
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
		if (parse_record(d, type, &c, off, &known) != 0 || (known && c.left != 0)) {
			set_err(err, errlen, "corrupt %s record at offset %llu",
			        names_rec_type(type), (unsigned long long)off);
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
	/* the records read, those skipped for their kind too (as
	 * dump_records_counted counts them) */
	t->buckets = d->nbuckets + d->skipped_kind - d->skipped_kind_locks;
	t->modules = d->nmodules;
	t->locks = d->nlocks + d->skipped_kind_locks;
	t->stacks_refused = d->live.stacks_refused;
	t->threads_seen = d->live.threads_seen;
	t->trylock_failures = d->live.trylock_failures;
	t->locks_refused = d->live.locks_refused;
	d->have_totals = d->have_lost = d->totals_from_slots = true;
}

/* The heading the writer puts in every file before it exists — META, LIVE,
 * ATTACH (3.5, in an attached profile), WRITER (3.6) — is copied into the
 * file whole when the file is made, into room given it first (zeros):
 * records that end at the end of the file before all of it are a copy cut
 * at a record boundary, never a live file or one whose writer died.  The
 * record missing, or NULL. */
static const char *heading_missing(const struct dump *d)
{
	if (!d->have_live)
		return "LIVE";
	if (d->version_minor >= 5 && (d->meta.flags & LC_META_ATTACHED) && !d->have_attach)
		return "ATTACH";
	if (d->version_minor >= 6 && !d->have_writer)
		return "WRITER";
	return NULL;
}

static void heading_check(struct dump *d)
{
	const char *missing = d->end == DUMP_END_EOF ? heading_missing(d) : NULL;
	if (!missing)
		return;
	d->end = DUMP_END_CUT;
	snprintf(d->warning, sizeof(d->warning),
	         "the dump is cut short before its %s record at byte %llu (no trailer; a "
	         "%u.%u writer puts it in every file)",
	         missing, (unsigned long long)d->stop_offset, d->version_major, d->version_minor);
}

int dump_parse(const uint8_t *buf, size_t len, struct dump *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (parse_header(buf, len, d, err, errlen) != 0 ||
	    parse_records(buf, len, d, err, errlen) != 0)
		goto fail;
	if (!d->have_meta) {
		set_err(err, errlen, "the dump ends before its metadata (cut short at byte %llu)",
		        (unsigned long long)d->stop_offset);
		goto fail;
	}
	if (d->complete && (!d->have_lost || !d->have_totals || !d->have_live)) {
		set_err(err, errlen, "corrupt dump: complete but without %s record",
		        !d->have_lost     ? "a lost"
		        : !d->have_totals ? "a totals"
		                          : "a live");
		goto fail;
	}
	heading_check(d);
	locks_add_lost(d);
	d->have_no_cell = d->version_minor >= 12; /* LOCK_NO_CELL came with 3.12 */
	if (d->complete)
		d->stop_offset = len;
	else if (!d->have_totals)
		totals_from_slots(d);
	else
		d->have_lost = true; /* a TOTALS record: views without LOST lost nothing */
	dump_series_check(d);
	dump_threads_check(d);
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
	free(d->lock_losts);
	free(d->inits);
	free(d->slots);
	for (size_t i = 0; i < d->nwaiting; i++)
		free(d->waiting[i].pcs);
	free(d->waiting);
	free(d->slot_offsets);
	for (size_t i = 0; i < d->nseries; i++)
		free(d->series[i].entries);
	free(d->series);
	free(d->threads);
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

const struct dump_module *dump_frame_module(const struct dump *d, uint64_t pc, uint32_t epoch)
{
	return dump_module_in_epoch(d, dump_frame_addr(pc), epoch);
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
	*count += d->unknown_kind[view].count;
	*delay_ns += d->unknown_kind[view].delay_ns;
	for (size_t i = 0; i < d->nbuckets; i++) {
		if (d->buckets[i].view != view)
			continue;
		*count += d->buckets[i].count;
		*delay_ns += d->buckets[i].delay_ns;
	}
}

void dump_view_totals(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns)
{
	const struct lc_rec_totals *t = &d->totals;
	*count = view == LC_VIEW_WAIT     ? t->contentions
	         : view == LC_VIEW_HOLDER ? t->caused_count
	                                  : t->holds;
	*delay_ns = view == LC_VIEW_WAIT     ? t->delay_ns
	            : view == LC_VIEW_HOLDER ? t->caused_ns
	                                     : t->hold_ns;
}

bool dump_skipped_kind_note(const struct dump *d, char *buf, size_t cap)
{
	if (!d->skipped_kind && !d->waiting_unknown_kind)
		return false;
	const struct lc_lost_entry *w = &d->unknown_kind[LC_VIEW_WAIT];
	snprintf(buf, cap,
	         "%zu records of a lock kind this reader does not know (the file is format "
	         "%u.%u, this reader %u.%u%s) were skipped; their %llu contentions, %.3f ms of "
	         "waiting, are in the totals but on no stack shown",
	         d->skipped_kind + d->waiting_unknown_kind, d->version_major, d->version_minor,
	         LC_DUMP_VERSION_MAJOR, LC_DUMP_VERSION_MINOR,
	         d->version_minor > LC_DUMP_VERSION_MINOR ? ": a newer lockcontend wrote it" : "",
	         (unsigned long long)w->count, (double)w->delay_ns / 1e6);
	return true;
}

bool dump_view_conserved(const struct dump *d, enum lc_view view)
{
	uint64_t sc, sd, tc, td;
	dump_sum(d, view, &sc, &sd);
	dump_view_totals(d, view, &tc, &td);
	return d->have_totals && sc == tc && sd == td;
}

bool dump_records_counted(const struct dump *d)
{
	const struct lc_rec_totals *t = &d->totals;
	size_t locks = d->nlocks + d->skipped_kind_locks;
	size_t buckets = d->nbuckets + d->skipped_kind - d->skipped_kind_locks;
	return d->have_totals && t->buckets == buckets && t->modules == d->nmodules &&
	       t->locks == locks;
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

const struct dump_lock_init *dump_lock_init_of(const struct dump *d, uint64_t addr)
{
	for (size_t i = d->ninits; i-- > 0;)
		if (d->inits[i].addr == addr)
			return &d->inits[i];
	return NULL;
}
