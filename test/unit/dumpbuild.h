/*
 * dumpbuild.h — a small writer of raw dumps (version 3) for the symbolizer's
 * unit tests, built from dumpfmt.h alone.
 *
 * It does not use the preload's writer on purpose: the reader's tests then
 * do not depend on the recorder, and they can write what the real writer
 * never would (a bad view, a duplicate LOST record, totals that do not add
 * up).  The dump grows in memory, one db_* call per record, in the order
 * the test makes them: db_begin writes the header, META and a LIVE record
 * (state EXITED: db_live patches it), db_writer the WRITER record that
 * follows them in a real writer's file (a reader calls a 3.6+ file that
 * ends before it cut short), db_totals writes TOTALS conserved per
 * view from the buckets and LOST records added so far, db_trailer closes
 * the file.  A file left as the writer leaves it while running (or dying)
 * stops before LOST, TOTALS and the trailer, its totals in db_slot records,
 * and may end in zeros (db_zeros).  Like the real writer, db_lock gives a
 * LOCK record room for LC_LOCK_FIRST_FRAMES frames; db_lock_init writes a
 * LOCK_INIT record (3.2).
 * Header-only (static inline) so every test that includes it may use any
 * part of it.  Structs are copied as laid out on the host: x86-64 and
 * aarch64 are little-endian with the format's layout (dumpfmt.h).
 */
#ifndef LOCKCONTEND_TEST_DUMPBUILD_H
#define LOCKCONTEND_TEST_DUMPBUILD_H

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockcontend/dumpfmt.h"

struct dumpbuild {
	uint8_t *buf;
	size_t len, cap;
	uint64_t records;
	uint64_t sum[LC_NVIEWS][2]; /* per view: count, delay of buckets and LOST */
	uint64_t nbuckets, nmodules, nlocks;
	size_t at_live;             /* offset of the LIVE record's head */
};

static inline void db_put(struct dumpbuild *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->buf = realloc(b->buf, b->cap);
		if (!b->buf)
			abort();
	}
	if (p && n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

/* A record from up to three parts; returns the offset of its head. */
static inline size_t db_record(struct dumpbuild *b, uint32_t type, const void *a, size_t na,
                               const void *c, size_t nc, const void *e, size_t ne)
{
	static const uint8_t zero[8];
	size_t at = b->len, size = na + nc + ne;
	struct lc_rec_head h = {type, (uint32_t)size};
	db_put(b, &h, sizeof(h));
	db_put(b, a, na);
	db_put(b, c, nc);
	db_put(b, e, ne);
	db_put(b, zero, lc_dump_pad((uint32_t)size) - size);
	b->records++;
	return at;
}

/* The header (of version `major`), META, and LIVE (state EXITED). */
static inline void db_begin(struct dumpbuild *b, uint16_t major, const char *exe, uint32_t flags,
                            uint32_t hold_rate)
{
	memset(b, 0, sizeof(*b));
	struct lc_dump_header h = {.version_major = major, .version_minor = LC_DUMP_VERSION_MINOR,
	                           .pointer_size = 8, .endian = LC_DUMP_ENDIAN_LITTLE,
	                           .header_size = sizeof(h)};
	memcpy(h.magic, LC_DUMP_MAGIC, 8);
	db_put(b, &h, sizeof(h));
	struct lc_rec_meta m = {
	    .pid = 4242, .start_realtime_ns = 1700000000000000000ull,
	    .end_realtime_ns = 1700000002000000000ull, .start_mono_ns = 1000,
	    .end_mono_ns = 2000001000, .clock = LC_CLOCK_MONOTONIC, .rate = 1, .depth = 64,
	    .flags = flags, .arena_bytes = 1 << 22, .arena_used = 1 << 12,
	    .exe_len = (uint32_t)strlen(exe), .hold_rate = hold_rate};
	db_record(b, LC_REC_META, &m, sizeof(m), exe, m.exe_len, NULL, 0);
	struct lc_rec_live l = {.state = LC_LIVE_EXITED};
	b->at_live = db_record(b, LC_REC_LIVE, &l, sizeof(l), NULL, 0, NULL, 0);
}

/* A WRITER record (3.6) saying version: the real writer's third record,
 * after META and LIVE.  Returns the offset of its head. */
static inline size_t db_writer(struct dumpbuild *b, const char *version)
{
	struct lc_rec_writer w = {.version_len = (uint32_t)strlen(version)};
	return db_record(b, LC_REC_WRITER, &w, sizeof(w), version, w.version_len, NULL, 0);
}

/* Replace the LIVE record's payload. */
static inline void db_live(struct dumpbuild *b, const struct lc_rec_live *l)
{
	memcpy(b->buf + b->at_live + sizeof(struct lc_rec_head), l, sizeof(*l));
}

/* A module loaded in epochs [first, last] (last UINT32_MAX: still). */
static inline size_t db_module_epochs(struct dumpbuild *b, uint64_t bias,
                                      const struct lc_rec_segment *seg, uint32_t nseg,
                                      const uint8_t *build_id, uint32_t id_len, const char *path,
                                      uint32_t first, uint32_t last)
{
	struct lc_rec_module m = {.id = (uint32_t)b->nmodules++, .nsegments = nseg,
	                          .load_bias = bias, .build_id_len = id_len,
	                          .path_len = (uint32_t)strlen(path), .epoch_first = first,
	                          .epoch_last = last};
	size_t at = b->len;
	struct lc_rec_head h = {LC_REC_MODULE,
	                        (uint32_t)(sizeof(m) + nseg * sizeof(*seg) + id_len + m.path_len)};
	db_put(b, &h, sizeof(h));
	db_put(b, &m, sizeof(m));
	db_put(b, seg, nseg * sizeof(*seg));
	db_put(b, build_id, id_len);
	db_put(b, path, m.path_len);
	static const uint8_t zero[8];
	db_put(b, zero, lc_dump_pad(h.size) - h.size);
	b->records++;
	return at;
}

/* A module loaded since epoch 0 and never unloaded. */
static inline size_t db_module(struct dumpbuild *b, uint64_t bias, const struct lc_rec_segment *seg,
                               uint32_t nseg, const uint8_t *build_id, uint32_t id_len,
                               const char *path)
{
	return db_module_epochs(b, bias, seg, nseg, build_id, id_len, path, 0, UINT32_MAX);
}

struct db_bucket {
	uint8_t view, kind;
	uint64_t lock, count, delay_ns, max_ns;
	uint32_t flags;
	uint32_t epoch;
};

static inline size_t db_bucket(struct dumpbuild *b, struct db_bucket k, const uint64_t *pcs,
                               uint32_t n)
{
	struct lc_rec_bucket r = {.count = k.count, .delay_ns = k.delay_ns, .max_ns = k.max_ns,
	                          .lock = k.lock, .flags = k.flags, .nframes = n, .view = k.view,
	                          .kind = k.kind, .epoch = k.epoch};
	if (k.view < LC_NVIEWS) {
		b->sum[k.view][0] += k.count;
		b->sum[k.view][1] += k.delay_ns;
	}
	b->nbuckets++;
	return db_record(b, LC_REC_BUCKET, &r, sizeof(r), pcs, n * sizeof(*pcs), NULL, 0);
}

/* A LOCK record of `size` payload bytes: its frames, then zeros. */
static inline size_t db_lock_sized(struct dumpbuild *b, const struct lc_rec_lock *l,
                                   const uint64_t *pcs, size_t size)
{
	static const uint8_t zero[LC_DUMP_MAX_DEPTH * 8];
	size_t frames = l->nframes * sizeof(*pcs);
	if (size < sizeof(*l) + frames || size - sizeof(*l) - frames > sizeof(zero))
		abort();
	size_t rest = size - sizeof(*l) - frames;
	b->nlocks++;
	return db_record(b, LC_REC_LOCK, l, sizeof(*l), pcs, frames, zero, rest);
}

/* A LOCK record as the writer makes it: room for LC_LOCK_FIRST_FRAMES. */
static inline size_t db_lock(struct dumpbuild *b, const struct lc_rec_lock *l, const uint64_t *pcs)
{
	return db_lock_sized(b, l, pcs, sizeof(*l) + LC_LOCK_FIRST_FRAMES * sizeof(uint64_t));
}

/* A LOCK_INIT record (3.2): where the lock at addr was initialised. */
static inline size_t db_lock_init(struct dumpbuild *b, uint64_t addr, uint32_t epoch,
                                  const uint64_t *pcs, uint32_t n)
{
	struct lc_rec_lock_init r = {.addr = addr, .epoch = epoch, .nframes = n};
	return db_record(b, LC_REC_LOCK_INIT, &r, sizeof(r), pcs, n * sizeof(*pcs), NULL, 0);
}

static inline size_t db_slot(struct dumpbuild *b, const struct lc_rec_slot *s)
{
	return db_record(b, LC_REC_SLOT, s, sizeof(*s), NULL, 0, NULL, 0);
}

/* A record still being written: PENDING, `size` bytes of payload that is
 * not yet anything. */
static inline size_t db_pending(struct dumpbuild *b, size_t size)
{
	uint8_t junk[256];
	memset(junk, 0xa5, sizeof(junk));
	return db_record(b, LC_REC_PENDING, junk, size < sizeof(junk) ? size : sizeof(junk), NULL, 0,
	                 NULL, 0);
}

/* n bytes of zeros: what follows the records of a file still being written. */
static inline void db_zeros(struct dumpbuild *b, size_t n)
{
	static const uint8_t zero[4096];
	for (; n > sizeof(zero); n -= sizeof(zero))
		db_put(b, zero, sizeof(zero));
	db_put(b, zero, n);
}

/* LOST of one view; entries may be NULL (all zero). */
static inline size_t db_lost(struct dumpbuild *b, uint32_t view,
                             const struct lc_lost_entry *entries)
{
	struct lc_lost_entry e[LC_LOST_NREASONS] = {{0, 0}};
	struct lc_rec_lost r = {.view = view, .nreasons = LC_LOST_NREASONS};
	if (entries)
		memcpy(e, entries, sizeof(e));
	for (int i = 0; i < LC_LOST_NREASONS && view < LC_NVIEWS; i++) {
		b->sum[view][0] += e[i].count;
		b->sum[view][1] += e[i].delay_ns;
	}
	return db_record(b, LC_REC_LOST, &r, sizeof(r), e, sizeof(e), NULL, 0);
}

/* TOTALS conserved per view from what was added (t may preset the other
 * fields; its per-view sums and record counts are overwritten). */
static inline size_t db_totals(struct dumpbuild *b, struct lc_rec_totals t)
{
	t.contentions = b->sum[LC_VIEW_WAIT][0];
	t.delay_ns = b->sum[LC_VIEW_WAIT][1];
	t.caused_count = b->sum[LC_VIEW_HOLDER][0];
	t.caused_ns = b->sum[LC_VIEW_HOLDER][1];
	t.holds = b->sum[LC_VIEW_HOLD][0];
	t.hold_ns = b->sum[LC_VIEW_HOLD][1];
	t.buckets = b->nbuckets;
	t.modules = b->nmodules;
	t.locks = b->nlocks;
	return db_record(b, LC_REC_TOTALS, &t, sizeof(t), NULL, 0, NULL, 0);
}

static inline size_t db_trailer(struct dumpbuild *b)
{
	struct lc_rec_trailer t = {.records = b->records, .bytes = b->len};
	memcpy(t.end_magic, LC_DUMP_END_MAGIC, 8);
	return db_record(b, LC_REC_TRAILER, &t, sizeof(t), NULL, 0, NULL, 0);
}

/* The GNU build-id note among a loaded object's PT_NOTE segments. */
static inline uint32_t db_build_id(const struct dl_phdr_info *info, uint8_t *out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const uint8_t *desc = p + sizeof(*n) + ((n->n_namesz + 3) & ~3u);
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    memcmp(p + sizeof(*n), "GNU", 4) == 0 && n->n_descsz <= LC_DUMP_MAX_BUILD_ID) {
				memcpy(out, desc, n->n_descsz);
				return n->n_descsz;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static inline int db_add_self_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct dumpbuild *b = arg;
	struct lc_rec_segment seg[LC_DUMP_MAX_SEGMENTS];
	uint8_t id[LC_DUMP_MAX_BUILD_ID];
	char exe[4096];
	uint32_t n = 0;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum && n < LC_DUMP_MAX_SEGMENTS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD)
			seg[n++] = (struct lc_rec_segment){ph->p_vaddr, ph->p_memsz, ph->p_offset,
			                                   ph->p_flags, 0};
	}
	const char *path = info->dlpi_name;
	if (!path[0]) { /* the main program */
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[len > 0 ? len : 0] = '\0';
		path = exe;
	}
	if (n && path[0])
		db_module(b, info->dlpi_addr, seg, n, id, db_build_id(info, id), path);
	return 0;
}

/* A MODULE record for every object loaded in this process, as the
 * preload's module map would write them. */
static inline void db_self_modules(struct dumpbuild *b)
{
	dl_iterate_phdr(db_add_self_module, b);
}

static inline void db_free(struct dumpbuild *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

#endif
