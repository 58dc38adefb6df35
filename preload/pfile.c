/*
 * pfile.c — the profile file's mapping and its appender (see pfile.h).
 */
#include "pfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spinflag.h"

static void pfile_enter(struct pfile *f)
{
	spinflag_enter(&f->busy);
}

static void pfile_leave(struct pfile *f)
{
	spinflag_leave(&f->busy);
}

/* Give the file bytes [extent, want) on disk.  fallocate where the
 * filesystem has it, else zeros written (which allocate blocks too). */
static int pfile_grow(struct pfile *f, size_t want)
{
	size_t to = (want + PFILE_CHUNK - 1) / PFILE_CHUNK * PFILE_CHUNK;
	if (to > f->cap)
		to = f->cap;
	if (to < want)
		return ENOSPC;
	/* Growing past RLIMIT_FSIZE would raise SIGXFSZ, which kills the
	 * program by default: never try. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && to > rl.rlim_cur)
		return EFBIG;
	if (fallocate(f->fd, 0, (off_t)f->extent, (off_t)(to - f->extent)) == 0) {
		f->extent = to;
		return 0;
	}
	if (errno != EOPNOTSUPP)
		return errno;
	static const char zeros[4096];
	while (f->extent < to) {
		ssize_t n = pwrite(f->fd, zeros, sizeof(zeros), (off_t)f->extent);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		f->extent += (size_t)n;
	}
	return 0;
}

static void *pfile_append(struct pfile *f, uint32_t size)
{
	size_t n = sizeof(struct lc_rec_head) + lc_dump_pad(size);
	void *payload = NULL;
	pfile_enter(f);
	size_t off = atomic_load_explicit(&f->used, memory_order_relaxed);
	if (!atomic_load_explicit(&f->sealed, memory_order_relaxed) && !f->error &&
	    n <= f->cap - off) {
		int e = off + n > f->extent ? pfile_grow(f, off + n) : 0;
		if (e) {
			f->error = e;
		} else {
			struct lc_rec_head *h = (struct lc_rec_head *)(f->base + off);
			h->size = size;
			atomic_store_explicit((_Atomic uint32_t *)&h->type, LC_REC_PENDING,
			                      memory_order_relaxed);
			atomic_store_explicit(&f->used, off + n, memory_order_release);
			atomic_fetch_add_explicit(&f->records, 1, memory_order_relaxed);
			payload = h + 1;
		}
	}
	pfile_leave(f);
	return payload;
}

void *pfile_record(struct pfile *f, uint32_t size)
{
	return f->base ? pfile_append(f, size) : NULL;
}

int pfile_append_sealed(struct pfile *f, const void *buf, size_t n, uint64_t records)
{
	size_t off = pfile_used(f);
	if (!f->base || n < sizeof(struct lc_rec_head) || n > f->cap - off)
		return ENOSPC;
	int e = off + n > f->extent ? pfile_grow(f, off + n) : 0;
	if (e)
		return e;
	memcpy(f->base + off + sizeof(struct lc_rec_head), (const char *)buf + sizeof(struct lc_rec_head),
	       n - sizeof(struct lc_rec_head));
	const struct lc_rec_head *first = buf;
	struct lc_rec_head *h = (struct lc_rec_head *)(f->base + off);
	h->size = first->size;
	atomic_store_explicit((_Atomic uint32_t *)&h->type, first->type, memory_order_release);
	atomic_store_explicit(&f->used, off + n, memory_order_release);
	atomic_fetch_add(&f->records, records);
	return 0;
}

void pfile_publish(void *payload, uint32_t type)
{
	struct lc_rec_head *h = (struct lc_rec_head *)payload - 1;
	atomic_store_explicit((_Atomic uint32_t *)&h->type, type, memory_order_release);
}

int pfile_map(struct pfile *f, int fd, size_t cap, void *at)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->cap = cap;
	void *p = mmap(at, cap, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), fd, 0);
	if (p == MAP_FAILED)
		return errno;
	f->base = p;
	int e = pfile_grow(f, sizeof(struct lc_dump_header));
	if (e)
		return e;
	struct lc_dump_header *h = (struct lc_dump_header *)f->base;
	h->version_major = LC_DUMP_VERSION_MAJOR;
	h->version_minor = LC_DUMP_VERSION_MINOR;
	h->pointer_size = sizeof(void *);
	h->endian = LC_DUMP_ENDIAN_LITTLE;
	h->header_size = sizeof(struct lc_dump_header);
	memcpy(h->magic, LC_DUMP_MAGIC, sizeof(h->magic));
	atomic_store(&f->used, sizeof(struct lc_dump_header));
	return 0;
}

void pfile_seal(struct pfile *f)
{
	pfile_enter(f);
	atomic_store(&f->sealed, true);
	pfile_leave(f);
}

int pfile_finish(struct pfile *f)
{
	int e = 0;
	if (f->fd < 0)
		return 0;
	if (ftruncate(f->fd, (off_t)pfile_used(f)) != 0)
		e = errno;
	close(f->fd);
	f->fd = -1;
	return e;
}

void pfile_forget(struct pfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

size_t pfile_used(const struct pfile *f)
{
	return atomic_load_explicit(&f->used, memory_order_acquire);
}

bool pfile_contains(const struct pfile *f, const void *p)
{
	return f->base && (const char *)p >= f->base && (const char *)p < f->base + f->cap;
}
