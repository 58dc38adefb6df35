/*
 * dumpread.h — parse a raw lockcontend dump into memory.
 *
 * No libdw, no global state: the symbolizer, the raw printer, the tests and
 * the fuzz target all use it.  Every length in the file is checked against
 * the bytes that are really there and against the limits of dumpfmt.h, so
 * any byte string gives either a model or a one-line error, never a crash.
 *
 * A file without its trailer (cut short) still parses: `complete` is false
 * and `stop_offset` says where the last whole record ended.
 *
 * Version 2 (and only 2): buckets carry a view (enum lc_view) and a lock
 * kind, both checked against their enums; LOST comes once per view, and
 * totals are conserved per view (dump_view_totals, dump_sum).  A view with
 * no LOST record has lost nothing (lost[view] stays zero).
 */
#ifndef LOCKCONTEND_DUMPREAD_H
#define LOCKCONTEND_DUMPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lockcontend/dumpfmt.h"

struct dump_module {
	uint32_t id;
	uint64_t load_bias;
	uint32_t build_id_len;
	uint8_t build_id[LC_DUMP_MAX_BUILD_ID];
	char *path;
	uint32_t nsegments;
	struct lc_rec_segment *segments;
};

struct dump_bucket {
	uint64_t count;
	uint64_t delay_ns;
	uint64_t max_ns;  /* longest single event, not scaled */
	uint64_t lock;    /* the lock's address */
	uint32_t flags;   /* LC_BUCKET_* */
	uint32_t nframes;
	uint8_t view;     /* enum lc_view, < LC_NVIEWS */
	uint8_t kind;     /* enum lc_kind, < LC_NKINDS */
	uint64_t *pcs;    /* innermost first, return addresses */
};

/* LC_REC_LOCK: one contended lock. */
struct dump_lock {
	uint64_t addr;
	uint64_t trylock_failures;
	uint64_t timeouts;
	uint64_t uncharged_ns;
	uint32_t kind;    /* enum lc_kind of its first contention, < LC_NKINDS */
	uint32_t nframes; /* 0..LC_LOCK_FIRST_FRAMES */
	uint64_t pcs[LC_LOCK_FIRST_FRAMES]; /* where it was first contended */
};

struct dump {
	uint16_t version_major, version_minor;
	struct lc_rec_meta meta;
	char *exe;
	struct dump_module *modules;
	size_t nmodules;
	struct dump_bucket *buckets;
	size_t nbuckets;
	struct dump_lock *locks;
	size_t nlocks;
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
	uint32_t lost_views;    /* bit v: the LOST record of view v was read */
	struct lc_rec_totals totals;
	bool have_meta, have_lost, have_totals; /* have_lost: any LOST record */
	bool complete;          /* a valid trailer ended the file */
	uint64_t stop_offset;   /* where parsing stopped (file size if complete) */
	size_t records;         /* records read, trailer excluded */
	size_t skipped;         /* records of unknown type, skipped */
	char warning[256];      /* why the file is incomplete, "" if complete */
};

/* Parse `len` bytes.  Returns 0 with *d filled (possibly incomplete; check
 * d->complete), or -1 with a one-line reason in err (no trailing newline)
 * and *d freed.  The caller frees a successful result with dump_free. */
int dump_parse(const uint8_t *buf, size_t len, struct dump *d, char *err, size_t errlen);

/* Read and parse a file; errors name the problem (not the file). */
int dump_read_file(const char *path, struct dump *d, char *err, size_t errlen);

void dump_free(struct dump *d);

/* The module whose PT_LOAD segments contain pc, or NULL. */
const struct dump_module *dump_module_of(const struct dump *d, uint64_t pc);

/* Sum of one view's buckets plus its sentinel (every lost reason). */
void dump_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns);

/* One view's sentinel sums only. */
void dump_lost_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns);

/* What TOTALS says one view must add up to: contentions and delay_ns
 * (WAIT), caused_count and caused_ns (HOLDER), holds and hold_ns (HOLD). */
void dump_view_totals(const struct dump *d, enum lc_view view, uint64_t *count,
                      uint64_t *delay_ns);

/* The conservation check of one view: dump_sum == dump_view_totals.  False
 * without a TOTALS record. */
bool dump_view_conserved(const struct dump *d, enum lc_view view);

/* The LOCK record of the lock at addr, or NULL (the last one if several). */
const struct dump_lock *dump_lock_of(const struct dump *d, uint64_t addr);

#endif
