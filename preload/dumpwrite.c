/*
 * dumpwrite.c — the raw dump writer (see dumpwrite.h, docs/format.md).
 */
#include "dumpwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "text.h"

struct writer {
	int fd;
	int error;        /* first errno met; later writes are skipped */
	uint64_t offset;  /* bytes written so far (flushed or buffered) */
	uint64_t records;
	size_t len;
	uint8_t buf[64 * 1024];
};

static struct writer w; /* one dump at a time: only the dumper writes */

static void writer_flush(struct writer *wr)
{
	size_t off = 0;
	while (off < wr->len && !wr->error) {
		ssize_t n = write(wr->fd, wr->buf + off, wr->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			wr->error = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	wr->len = 0;
}

static void writer_put(struct writer *wr, const void *p, size_t n)
{
	const uint8_t *src = p;
	wr->offset += n;
	while (n) {
		size_t room = sizeof(wr->buf) - wr->len;
		size_t k = n < room ? n : room;
		memcpy(wr->buf + wr->len, src, k);
		wr->len += k;
		src += k;
		n -= k;
		if (wr->len == sizeof(wr->buf))
			writer_flush(wr);
	}
}

static void record_begin(struct writer *wr, uint32_t type, uint32_t size)
{
	struct lc_rec_head h = {.type = type, .size = size};
	writer_put(wr, &h, sizeof(h));
}

static void record_end(struct writer *wr, uint32_t size)
{
	static const uint8_t zeros[8];
	writer_put(wr, zeros, lc_dump_pad(size) - size);
	wr->records++;
}

static void write_header(struct writer *wr)
{
	struct lc_dump_header h = {
	    .version_major = LC_DUMP_VERSION_MAJOR,
	    .version_minor = LC_DUMP_VERSION_MINOR,
	    .pointer_size = sizeof(void *),
	    .endian = LC_DUMP_ENDIAN_LITTLE,
	    .header_size = sizeof(struct lc_dump_header),
	};
	memcpy(h.magic, LC_DUMP_MAGIC, sizeof(h.magic));
	writer_put(wr, &h, sizeof(h));
}

static void write_meta(struct writer *wr, const struct dump_input *in)
{
	struct lc_rec_meta m = in->meta;
	m.exe_len = (uint32_t)strnlen(in->exe ? in->exe : "", LC_DUMP_MAX_PATH);
	uint32_t size = sizeof(m) + m.exe_len;
	record_begin(wr, LC_REC_META, size);
	writer_put(wr, &m, sizeof(m));
	writer_put(wr, in->exe, m.exe_len);
	record_end(wr, size);
}

static void write_module(struct writer *wr, uint32_t id, const struct module *mod)
{
	struct lc_rec_module r = {
	    .id = id,
	    .nsegments = mod->nsegments,
	    .load_bias = mod->load_bias,
	    .build_id_len = mod->build_id_len,
	    .path_len = mod->path_len,
	};
	uint32_t size = sizeof(r) + r.nsegments * sizeof(struct lc_rec_segment) + r.build_id_len +
	                r.path_len;
	record_begin(wr, LC_REC_MODULE, size);
	writer_put(wr, &r, sizeof(r));
	writer_put(wr, mod->segments, r.nsegments * sizeof(struct lc_rec_segment));
	writer_put(wr, mod->build_id, r.build_id_len);
	writer_put(wr, mod->path, r.path_len);
	record_end(wr, size);
}

struct bucket_ctx {
	struct writer *wr;
	uint64_t n;
};

static void write_bucket(const struct stackbucket *b, void *arg)
{
	struct bucket_ctx *ctx = arg;
	struct lc_rec_bucket r = {
	    .count = atomic_load_explicit(&b->count, memory_order_relaxed),
	    .delay_ns = atomic_load_explicit(&b->delay_ns, memory_order_relaxed),
	    .max_ns = atomic_load_explicit(&b->max_ns, memory_order_relaxed),
	    .lock = b->key.lock,
	    .flags = b->key.flags,
	    .nframes = b->nframes,
	    .view = b->key.view,
	    .kind = b->key.kind,
	};
	uint32_t size = sizeof(r) + r.nframes * sizeof(uint64_t);
	record_begin(ctx->wr, LC_REC_BUCKET, size);
	writer_put(ctx->wr, &r, sizeof(r));
	for (uint32_t i = 0; i < r.nframes; i++) {
		uint64_t pc = b->pcs[i];
		writer_put(ctx->wr, &pc, sizeof(pc));
	}
	record_end(ctx->wr, size);
	ctx->n++;
}

static void write_lock(const struct lockent *e, void *arg)
{
	struct bucket_ctx *ctx = arg;
	bool named = atomic_load_explicit(&e->first_state, memory_order_acquire) == 2;
	struct lc_rec_lock r = {
	    .addr = atomic_load_explicit(&e->addr, memory_order_relaxed),
	    .trylock_failures = atomic_load_explicit(&e->trylock_failures, memory_order_relaxed),
	    .timeouts = atomic_load_explicit(&e->timeouts, memory_order_relaxed),
	    .uncharged_ns = atomic_load_explicit(&e->uncharged_ns, memory_order_relaxed),
	    .kind = e->kind,
	    .nframes = named ? e->first_n : 0,
	};
	uint32_t size = sizeof(r) + r.nframes * sizeof(uint64_t);
	record_begin(ctx->wr, LC_REC_LOCK, size);
	writer_put(ctx->wr, &r, sizeof(r));
	for (uint32_t i = 0; i < r.nframes; i++) {
		uint64_t pc = e->first[i];
		writer_put(ctx->wr, &pc, sizeof(pc));
	}
	record_end(ctx->wr, size);
	ctx->n++;
}

static void write_lost(struct writer *wr, const struct dump_input *in, uint32_t view)
{
	struct lc_rec_lost r = {.view = view, .nreasons = LC_LOST_NREASONS};
	uint32_t size = sizeof(r) + sizeof(in->lost[view]);
	record_begin(wr, LC_REC_LOST, size);
	writer_put(wr, &r, sizeof(r));
	writer_put(wr, in->lost[view], sizeof(in->lost[view]));
	record_end(wr, size);
}

static void write_tail(struct writer *wr, const struct lc_rec_totals *totals)
{
	record_begin(wr, LC_REC_TOTALS, sizeof(*totals));
	writer_put(wr, totals, sizeof(*totals));
	record_end(wr, sizeof(*totals));
	struct lc_rec_trailer tr = {.records = wr->records, .bytes = wr->offset};
	memcpy(tr.end_magic, LC_DUMP_END_MAGIC, sizeof(tr.end_magic));
	record_begin(wr, LC_REC_TRAILER, sizeof(tr));
	writer_put(wr, &tr, sizeof(tr));
	wr->records++;
}

int dumpwrite_fd(int fd, const struct dump_input *in)
{
	struct writer *wr = &w;
	wr->fd = fd;
	wr->error = 0;
	wr->offset = 0;
	wr->records = 0;
	wr->len = 0;
	struct lc_rec_totals totals = in->totals;
	write_header(wr);
	write_meta(wr, in);
	uint32_t nmods = in->modmap ? modmap_count(in->modmap) : 0;
	for (uint32_t i = 0; i < nmods; i++)
		write_module(wr, i, modmap_at(in->modmap, i));
	struct bucket_ctx ctx = {.wr = wr};
	if (in->tab)
		stacktab_foreach(in->tab, write_bucket, &ctx);
	struct bucket_ctx lctx = {.wr = wr};
	if (in->locks)
		lockstate_foreach(in->locks, write_lock, &lctx);
	for (uint32_t v = 0; v < LC_NVIEWS; v++)
		write_lost(wr, in, v);
	totals.buckets = ctx.n;
	totals.locks = lctx.n;
	totals.modules = nmods;
	write_tail(wr, &totals);
	writer_flush(wr);
	return wr->error;
}

/* Append s[0..n) whole, or fail: a cut name must not be used. */
static bool expand_put(struct text *t, const char *s, size_t n)
{
	if (t->cap == 0 || n > t->cap - 1 - t->len)
		return false;
	text_strn(t, s, n);
	return true;
}

size_t dumpwrite_expand(const char *pattern, uint64_t pid, const char *exe, char *out, size_t cap)
{
	struct text t, num;
	char digits[24];
	const char *base = exe ? strrchr(exe, '/') : NULL;
	base = base ? base + 1 : (exe ? exe : "");
	text_init(&t, out, cap);
	for (const char *p = pattern; *p; p++) {
		const char *s = p;
		size_t n = 1;
		if (p[0] == '%' && p[1] == 'p') {
			text_init(&num, digits, sizeof(digits));
			text_u64(&num, pid);
			s = digits;
			n = num.len;
			p++;
		} else if (p[0] == '%' && p[1] == 'e') {
			s = base[0] ? base : "unknown";
			n = strlen(s);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			p++; /* s = "%" already, one byte */
		}
		if (!expand_put(&t, s, n))
			return 0; /* would be cut: refuse rather than write elsewhere */
	}
	return t.len;
}

/* "<dir>/.<base>.tmp<pid>.<n>": same directory, so rename() is atomic. */
static int dumpwrite_open_temp(const char *final, char *tmp, size_t cap)
{
	const char *slash = strrchr(final, '/');
	size_t dirlen = slash ? (size_t)(slash - final) + 1 : 0;
	for (unsigned n = 0; n < 100; n++) {
		struct text t;
		text_init(&t, tmp, cap);
		text_strn(&t, final, dirlen);
		text_str(&t, ".");
		text_str(&t, final + dirlen);
		text_str(&t, ".tmp");
		text_u64(&t, (uint64_t)getpid());
		text_str(&t, ".");
		text_u64(&t, n);
		if (t.len + 1 >= cap) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Move tmp to `final` without replacing anything; fall back to link+unlink
 * where the filesystem has no RENAME_NOREPLACE. */
static int dumpwrite_place(const char *tmp, const char *final)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(tmp, final) != 0)
		return -1;
	unlink(tmp);
	return 0;
}

/* Try `final`, then `final.1` ... `final.99` while the name is taken. */
static int dumpwrite_rename(const char *tmp, char *final, size_t cap)
{
	size_t len = strlen(final);
	for (unsigned n = 0; n < 100; n++) {
		if (n) {
			/* Append ".n" to the original name, kept in place. */
			struct text t = {.buf = final, .cap = cap, .len = len};
			text_str(&t, ".");
			text_u64(&t, n);
			if (t.len + 1 >= cap)
				break;
		}
		if (dumpwrite_place(tmp, final) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	final[len] = '\0';
	errno = EEXIST;
	return -1;
}

static void dumpwrite_error(char *err, size_t cap, const char *what, const char *path, int e)
{
	struct text t;
	text_init(&t, err, cap);
	text_str(&t, what);
	text_str(&t, " '");
	text_str(&t, path);
	text_str(&t, "': ");
	const char *desc = strerrordesc_np(e);
	text_str(&t, desc ? desc : "unknown error");
}

int dumpwrite_file(const char *pattern, const struct dump_input *in, char *path, size_t path_cap,
                   char *err, size_t err_cap)
{
	char tmp[4096 + 64];
	if (!dumpwrite_expand(pattern, in->meta.pid, in->exe, path, path_cap)) {
		dumpwrite_error(err, err_cap, "cannot write profile", pattern, ENAMETOOLONG);
		return -1;
	}
	int fd = dumpwrite_open_temp(path, tmp, sizeof(tmp));
	if (fd < 0) {
		dumpwrite_error(err, err_cap, "cannot create profile next to", path, errno);
		return -1;
	}
	int e = dumpwrite_fd(fd, in);
	if (close(fd) != 0 && !e)
		e = errno;
	if (!e && dumpwrite_rename(tmp, path, path_cap) != 0)
		e = errno;
	if (e) {
		unlink(tmp);
		dumpwrite_error(err, err_cap, "cannot write profile", path, e);
		return -1;
	}
	return 0;
}
