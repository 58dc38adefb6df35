/*
 * pfiletest.h — a profile file (preload/pfile.h) for the preload's unit
 * tests, and a walk that checks what pfile.h promises of its bytes.
 *
 * pft_open maps a new file in /tmp (pfile.h reopens it by its absolute path;
 * pft_close removes it);
 * pft_walk reads a file image the way a reader does and fails the test
 * unless, below `used`, it is the file header and then whole records with
 * non-zero heads that end inside `used`, and from `used` to `end` it is
 * zeros.  It calls fn for every record (PENDING ones too, so a test can
 * count what a lost race left).  pft_walk_file does that on a pfile, up to
 * what it has on disk.  Header-only (static inline), like dumpbuild.h;
 * include it after <criterion/criterion.h>.
 */
#ifndef LOCKCONTEND_TEST_PFILETEST_H
#define LOCKCONTEND_TEST_PFILETEST_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lockcontend/dumpfmt.h"
#include "pfile.h"

struct pft_rec {
	uint32_t type;
	uint32_t size;
	size_t off;          /* of the head */
	const void *payload; /* size bytes */
};

struct pft_walk {
	uint64_t records;         /* every head, PENDING included */
	uint64_t by_type[16];     /* for types below 16 (the LC_REC_* ones) */
	uint64_t other;           /* types 16 and above */
	size_t end;               /* where the last record ends */
};

typedef void (*pft_fn)(const struct pft_rec *r, void *ctx);

/* A new pfile on a new file in /tmp, cap bytes reserved. */
static inline void pft_open(struct pfile *f, size_t cap)
{
	char path[] = "/tmp/lockcontend-unit-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp");
	int e = pfile_map(f, fd, path, cap, NULL);
	cr_assert_eq(e, 0, "pfile_map: %s", strerror(e));
}

/* Unmap, and remove the file. */
static inline void pft_close(struct pfile *f)
{
	if (f->base) {
		munmap(f->base, f->cap);
		unlink(f->path);
	}
	memset(f, 0, sizeof(*f));
}

static inline bool pft_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Walk the image base[0, used); base[used, end) must be zeros. */
static inline struct pft_walk pft_walk(const void *image, size_t used, size_t end, pft_fn fn,
                                       void *ctx)
{
	const uint8_t *base = image;
	struct pft_walk w = {0};
	const struct lc_dump_header *fh = image;
	cr_assert_geq(used, sizeof(*fh), "used %zu: no room for the file header", used);
	cr_assert(memcmp(fh->magic, LC_DUMP_MAGIC, 8) == 0, "bad magic");
	cr_assert(fh->version_major == LC_DUMP_VERSION_MAJOR &&
	              fh->version_minor == LC_DUMP_VERSION_MINOR &&
	              fh->header_size == sizeof(*fh) && fh->pointer_size == sizeof(void *) &&
	              fh->endian == LC_DUMP_ENDIAN_LITTLE,
	          "bad file header");
	size_t off = sizeof(*fh);
	while (off < used) {
		struct lc_rec_head h;
		cr_assert_leq(off + sizeof(h), used, "record %llu at %zu: head cut by used %zu",
		              (unsigned long long)w.records, off, used);
		memcpy(&h, base + off, sizeof(h));
		cr_assert_neq(h.type, 0, "record %llu at %zu (used %zu): zero head below used",
		              (unsigned long long)w.records, off, used);
		size_t len = sizeof(h) + lc_dump_pad(h.size);
		cr_assert_leq(len, used - off, "record %llu at %zu (type %u size %u) ends past %zu",
		              (unsigned long long)w.records, off, h.type, h.size, used);
		cr_assert(pft_zero(base + off + sizeof(h) + h.size, lc_dump_pad(h.size) - h.size),
		          "record at %zu: padding not zero", off);
		struct pft_rec r = {h.type, h.size, off, base + off + sizeof(h)};
		if (fn)
			fn(&r, ctx);
		w.records++;
		if (h.type < 16)
			w.by_type[h.type]++;
		else
			w.other++;
		off += len;
	}
	w.end = off;
	cr_assert(pft_zero(base + used, end - used), "bytes after used (%zu) are not zero", used);
	return w;
}

static inline struct pft_walk pft_walk_file(const struct pfile *f, pft_fn fn, void *ctx)
{
	return pft_walk(f->base, pfile_used(f), f->extent, fn, ctx);
}

/* The n-th published record of `type` in f (0-based), or NULL. */
struct pft_nth {
	uint32_t type;
	uint64_t n;
	const void *found;
};

static inline void pft_nth_visit(const struct pft_rec *r, void *ctx)
{
	struct pft_nth *q = ctx;
	if (r->type == q->type && q->n-- == 0)
		q->found = r->payload;
}

static inline const void *pft_nth(const struct pfile *f, uint32_t type, uint64_t n)
{
	struct pft_nth q = {type, n, NULL};
	pft_walk_file(f, pft_nth_visit, &q);
	return q.found;
}

#endif
