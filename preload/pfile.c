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

#define PFILE_FINISH_WAIT_NS (100 * 1000 * 1000ull)

#include "clock.h"
#include "sys.h"

/* ---- who owns the mapping ------------------------------------------------- */

/* One page, wiped to zeros in every child the kernel makes (fork, clone
 * without CLONE_VM); set again by a fork child that makes its own file. */
static _Atomic uint32_t *owner_token;

static void pfile_claim_ownership(struct pfile *f)
{
	f->owner_pid = getpid();
	if (!owner_token) {
		void *p =
		    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return;
		if (madvise(p, 4096, MADV_WIPEONFORK) != 0) {
			munmap(p, 4096); /* an old kernel: ask getpid() instead */
			return;
		}
		owner_token = p;
	}
	atomic_store_explicit(owner_token, 1, memory_order_relaxed);
}

bool pfile_mine(const struct pfile *f)
{
	if (!f->base)
		return false;
	if (owner_token)
		return atomic_load_explicit(owner_token, memory_order_relaxed) != 0;
	return f->owner_pid == getpid();
}

/* ---- the file, by its path ------------------------------------------------ */

/* The file at our path, opened read-write, if it is still the one we made;
 * else a negative errno or PFILE_ENOTOURS.  The caller closes it. */
static int pfile_open(const struct pfile *f)
{
	int fd = sys_open(f->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		return fd == -ENOENT || fd == -ELOOP ? PFILE_ENOTOURS : fd;
	struct stat st;
	if (sys_fstat(fd, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino) {
		sys_close(fd);
		return PFILE_ENOTOURS;
	}
	return fd;
}

/* Write zeros over [from, to) of fd (they allocate blocks, as fallocate
 * would).  Returns 0 or an errno value. */
static int pfile_zero(int fd, size_t from, size_t to)
{
	static const char zeros[4096];
	while (from < to) {
		size_t n = to - from < sizeof(zeros) ? to - from : sizeof(zeros);
		long k = sys_pwrite(fd, zeros, n, (off_t)from);
		if (k == -EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? (int)-k : EIO;
		from += (size_t)k;
	}
	return 0;
}

/* Give the file `to` bytes on disk (fallocate; or zeros written, one thread
 * at a time).  Returns 0 or as pfile_grow. */
static int pfile_grow_to(struct pfile *f, size_t to)
{
	int fd = pfile_open(f);
	if (fd < 0)
		return fd == PFILE_ENOTOURS ? fd : -fd;
	size_t from = atomic_load(&f->extent);
	int e = from < to ? -sys_fallocate(fd, (off_t)from, (off_t)(to - from)) : 0;
	bool zeroing = false;
	if (e == EOPNOTSUPP) {
		e = EAGAIN;
		if (!atomic_exchange(&f->zeroing, 1)) {
			zeroing = true;
			from = atomic_load(&f->extent);
			e = from < to ? pfile_zero(fd, from, to) : 0;
		}
	}
	sys_close(fd);
	/* The extent moves on before another zero-writer may start: one that
	 * read the old extent would write zeros over records handed out. */
	size_t ext = atomic_load(&f->extent);
	while (!e && ext < to && !atomic_compare_exchange_weak(&f->extent, &ext, to))
		;
	if (zeroing)
		atomic_store(&f->zeroing, 0);
	return e;
}

/* Give the file at least `want` bytes on disk, in whole chunks.  No lock:
 * fallocate of a range that is there already changes nothing, so threads
 * that grow at once do no harm.  Returns 0, an errno value, EAGAIN (the
 * zero-write fallback is under way in another thread) or PFILE_ENOTOURS. */
static int pfile_grow(struct pfile *f, size_t want)
{
	size_t from = atomic_load(&f->extent);
	if (from >= want)
		return 0;
	size_t to = (want + PFILE_CHUNK - 1) / PFILE_CHUNK * PFILE_CHUNK;
	if (to > f->cap)
		to = f->cap;
	/* Growing past RLIMIT_FSIZE would raise SIGXFSZ, which kills the
	 * program by default: never try. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && to > rl.rlim_cur)
		return EFBIG;
	/* Counted, then a look at finishing (both sequentially consistent,
	 * as pfile_finish's store and look): a file that was cut to its
	 * records never grows again. */
	atomic_fetch_add(&f->growers, 1);
	int e = EAGAIN;
	if (!atomic_load(&f->finishing))
		e = pfile_grow_to(f, to);
	atomic_fetch_sub(&f->growers, 1);
	return e;
}

/* Keep the first lasting reason the file stopped growing (a signal during
 * fallocate, no descriptor free for a moment: the next append tries
 * again). */
static void pfile_fail(struct pfile *f, int e)
{
	int none = 0;
	if (e != EAGAIN && e != EINTR && e != EMFILE && e != ENFILE && e != ENOMEM)
		atomic_compare_exchange_strong(&f->error, &none, e);
}

/* ---- appending ------------------------------------------------------------ */

static uint64_t head_word(uint32_t type, uint32_t size)
{
	struct lc_rec_head h = {type, size};
	uint64_t w;
	memcpy(&w, &h, sizeof(w));
	return w;
}

static size_t head_span(uint64_t w)
{
	struct lc_rec_head h;
	memcpy(&h, &w, sizeof(h));
	return sizeof(h) + lc_dump_pad(h.size);
}

/* Claim a record of `size` payload bytes (a head of {PENDING, size}, the
 * payload and its padding: n bytes in all) at `used`,
 * below `limit`, with `room` more bytes on disk after them (the closing
 * records' reserve: a full disk must not keep a profile from closing).
 * Returns the offset of the head, or (size_t)-1. */
static size_t pfile_claim(struct pfile *f, uint32_t size, size_t limit, size_t room)
{
	uint64_t mine = head_word(LC_REC_PENDING, size);
	size_t n = sizeof(struct lc_rec_head) + lc_dump_pad(size);
	for (;;) {
		size_t off = atomic_load_explicit(&f->used, memory_order_acquire);
		if (off > limit || n > limit - off) {
			atomic_store(&f->full, true);
			return (size_t)-1;
		}
		if (off + n + room > atomic_load(&f->extent)) {
			size_t want = off + n + room < f->cap ? off + n + room : f->cap;
			int e = want > atomic_load(&f->extent) ? pfile_grow(f, want) : 0;
			if (e) {
				pfile_fail(f, e);
				return (size_t)-1;
			}
			if (off + n > atomic_load(&f->extent))
				continue;
		}
		_Atomic uint64_t *head = (_Atomic uint64_t *)(f->base + off);
		uint64_t seen = 0;
		size_t at = off; /* a failed exchange below overwrites off */
		if (atomic_compare_exchange_strong(head, &seen, mine)) {
			atomic_compare_exchange_strong(&f->used, &off, at + n);
			atomic_fetch_add_explicit(&f->records, 1, memory_order_relaxed);
			return at;
		}
		/* Claimed by another appender that has not moved `used` on yet:
		 * do it for them. */
		atomic_compare_exchange_strong(&f->used, &off, at + head_span(seen));
	}
}

void *pfile_record(struct pfile *f, uint32_t size)
{
	if (!f->base || size > LC_DUMP_MAX_RECORD || atomic_load(&f->sealed) ||
	    atomic_load_explicit(&f->error, memory_order_relaxed) || !pfile_mine(f))
		return NULL;
	size_t off = pfile_claim(f, size, f->cap - PFILE_RESERVE, PFILE_RESERVE);
	if (off == (size_t)-1)
		return NULL;
	/* Sealed meanwhile: the place may lie past the end the dumper cuts
	 * the file to.  Leave it PENDING. */
	if (atomic_load(&f->sealed))
		return NULL;
	return f->base + off + sizeof(struct lc_rec_head);
}

size_t pfile_seal_claim(struct pfile *f, size_t n, int *err)
{
	*err = ENOSPC;
	if (!f->base || n < sizeof(struct lc_rec_head) || n % 8 || n > PFILE_RESERVE)
		return (size_t)-1;
	*err = PFILE_ENOTOURS;
	if (!pfile_mine(f))
		return (size_t)-1;
	/* One claim covers every record: readers skip it whole (PENDING)
	 * until the first head is stored, last. */
	size_t off = pfile_claim(f, (uint32_t)(n - sizeof(struct lc_rec_head)), f->cap, 0);
	if (off == (size_t)-1) {
		int e = atomic_load(&f->error);
		*err = e ? e : ENOSPC;
	}
	return off;
}

void pfile_seal_write(struct pfile *f, size_t off, const void *buf, size_t n)
{
	char *at = f->base + off;
	memcpy(at + sizeof(struct lc_rec_head), (const char *)buf + sizeof(struct lc_rec_head),
	       n - sizeof(struct lc_rec_head));
	uint64_t first;
	memcpy(&first, buf, sizeof(first));
	atomic_store_explicit((_Atomic uint64_t *)at, first, memory_order_release);
}

void pfile_publish(void *payload, uint32_t type)
{
	struct lc_rec_head *h = (struct lc_rec_head *)payload - 1;
	atomic_store_explicit((_Atomic uint32_t *)&h->type, type, memory_order_release);
}

bool pfile_is_published(const void *payload, uint32_t type)
{
	const struct lc_rec_head *h = (const struct lc_rec_head *)payload - 1;
	return atomic_load_explicit((const _Atomic uint32_t *)&h->type, memory_order_acquire) ==
	       type;
}

/* ---- life ----------------------------------------------------------------- */

/* The file header, at the start of a new profile. */
static void pfile_header(struct pfile *f)
{
	struct lc_dump_header *h = (struct lc_dump_header *)f->base;
	h->version_major = LC_DUMP_VERSION_MAJOR;
	h->version_minor = LC_DUMP_VERSION_MINOR;
	h->pointer_size = sizeof(void *);
	h->endian = LC_DUMP_ENDIAN_LITTLE;
	h->header_size = sizeof(struct lc_dump_header);
	memcpy(h->magic, LC_DUMP_MAGIC, sizeof(h->magic));
	atomic_store(&f->used, sizeof(struct lc_dump_header));
}

int pfile_start(struct pfile *f, size_t cap, void *at)
{
	memset(f, 0, sizeof(*f));
	if (cap <= PFILE_RESERVE + sizeof(struct lc_dump_header))
		return ENOSPC;
	void *p = mmap(at, cap, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (at ? MAP_FIXED : 0), -1, 0);
	if (p == MAP_FAILED)
		return errno;
	f->base = p;
	f->cap = cap;
	f->unfiled = true;
	atomic_store(&f->extent, cap); /* memory: nothing to grow */
	pfile_claim_ownership(f);
	pfile_header(f);
	return 0;
}

/* Give fd `to` bytes on disk: fallocate, or zeros written.  0 or an errno. */
static int pfile_allocate(int fd, size_t to)
{
	int e = -sys_fallocate(fd, 0, (off_t)to);
	return e == EOPNOTSUPP ? pfile_zero(fd, 0, to) : e;
}

/* Write [0, n) of the memory into fd. */
static int pfile_copy_out(int fd, const char *from, size_t n)
{
	for (size_t off = 0; off < n;) {
		long k = sys_pwrite(fd, from + off, n - off, (off_t)off);
		if (k == -EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? (int)-k : EIO;
		off += (size_t)k;
	}
	return 0;
}

/* The file's first size: its records so far and the closing reserve, in
 * whole chunks; 0 (with *e) when RLIMIT_FSIZE forbids it (SIGXFSZ). */
static size_t pfile_first_size(const struct pfile *f, int *e)
{
	size_t want = atomic_load(&f->used) + PFILE_RESERVE;
	size_t to = (want + PFILE_CHUNK - 1) / PFILE_CHUNK * PFILE_CHUNK;
	if (to > f->cap)
		to = f->cap;
	struct rlimit rl;
	*e = 0;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && to > rl.rlim_cur)
		*e = EFBIG;
	return *e ? 0 : to;
}

int pfile_settle(struct pfile *f, int fd, const char *path)
{
	size_t len = strlen(path);
	struct stat st;
	int e = 0;
	size_t to = 0;
	if (!f->base || !f->unfiled)
		e = EINVAL;
	else if (len >= sizeof(f->path) || path[0] != '/')
		e = ENAMETOOLONG;
	else if (sys_fstat(fd, &st) != 0)
		e = EBADF;
	else if ((to = pfile_first_size(f, &e)) != 0 && !(e = pfile_allocate(fd, to)))
		e = pfile_copy_out(fd, f->base, atomic_load(&f->used));
	if (!e && mmap(f->base, f->cap, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
	              MAP_FAILED) {
		e = errno;
		/* An older kernel may have unmapped the range first: memory
		 * there again (zeros; the caller gives the profile up), never
		 * a hole a late store would fault on. */
		pfile_blank(f->base, f->cap);
	}
	sys_close(fd);
	if (e)
		return e;
	memcpy(f->path, path, len + 1);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	atomic_store(&f->extent, to);
	f->unfiled = false;
	return 0;
}

int pfile_map(struct pfile *f, int fd, const char *path, size_t cap, void *at)
{
	int e = pfile_start(f, cap, at);
	if (e) {
		sys_close(fd);
		return e;
	}
	return pfile_settle(f, fd, path);
}

void pfile_seal(struct pfile *f)
{
	atomic_store(&f->sealed, true);
}

int pfile_finish(struct pfile *f, size_t len)
{
	if (f->finished || !f->base || f->unfiled || !pfile_mine(f))
		return 0;
	f->finished = true;
	/* No growth from here on: wait (bounded) for a grower under way. */
	uint64_t deadline = 0;
	atomic_store(&f->finishing, true);
	while (atomic_load(&f->growers) && clock_wait_turn(&deadline, PFILE_FINISH_WAIT_NS))
		;
	/* Past the last page of records, private memory from now on: a
	 * thread that claimed a place after the closing records writes it
	 * into memory nobody reads, never into a page the file lost. */
	size_t keep = (len + 4095) & ~(size_t)4095;
	if (keep < f->cap)
		pfile_blank(f->base + keep, f->cap - keep);
	int fd = pfile_open(f);
	if (fd < 0)
		return fd == PFILE_ENOTOURS ? fd : -fd;
	int e = -sys_ftruncate(fd, (off_t)len);
	sys_close(fd);
	return e;
}

void pfile_forget(struct pfile *f)
{
	f->finished = true; /* never cut or grown by this process */
	atomic_store(&f->sealed, true);
}

void pfile_blank(void *at, size_t len)
{
	mmap(at, len, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

void pfile_apart(struct pfile *f)
{
	if (!f->base || f->unfiled)
		return;
	/* the records are all below used, and used within the file */
	size_t n = atomic_load(&f->used), extent = atomic_load(&f->extent);
	if (n > extent)
		n = extent;
	if (n > f->cap)
		n = f->cap;
	void *p = mmap(NULL, f->cap, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p != MAP_FAILED) {
		memcpy(p, f->base, n);
		if (mremap(p, f->cap, f->cap, MREMAP_MAYMOVE | MREMAP_FIXED, f->base) != MAP_FAILED)
			return;
		munmap(p, f->cap);
	}
	pfile_blank(f->base, f->cap);
}

size_t pfile_used(const struct pfile *f)
{
	return atomic_load_explicit(&f->used, memory_order_acquire);
}

bool pfile_contains(const struct pfile *f, const void *p)
{
	return f->base && (const char *)p >= f->base && (const char *)p < f->base + f->cap;
}

uint64_t pfile_walk(const char *base, size_t used)
{
	uint64_t records = 0;
	size_t off = sizeof(struct lc_dump_header);
	while (off + sizeof(struct lc_rec_head) <= used) {
		const struct lc_rec_head *h = (const struct lc_rec_head *)(base + off);
		if (h->type == 0)
			break;
		records++;
		off += sizeof(*h) + lc_dump_pad(h->size);
	}
	return records;
}

const char *pfile_strerror(int e)
{
	if (e == PFILE_ENOTOURS)
		return "the profile file was moved, removed or replaced";
	const char *s = strerrordesc_np(e);
	return s ? s : "error";
}
