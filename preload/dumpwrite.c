/*
 * dumpwrite.c — the profile file's name, creation and closing records, and
 * snapshot copies (see dumpwrite.h, docs/format.md).
 */
#include "dumpwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "sys.h"
#include "text.h"

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
		int fd = sys_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (fd != -EEXIST) {
			errno = -fd;
			return -1;
		}
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

/* Try `final`, then `final.1` ... `final.99` while the name is taken:
 * try(name, ctx) returns >= 0 when it took the name, -1 with errno else;
 * EEXIST moves on to the next name.  final holds the name tried last. */
static int dumpwrite_names(char *final, size_t cap, int (*try)(const char *, void *), void *ctx)
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
		int rc = try(final, ctx);
		if (rc >= 0 || errno != EEXIST)
			return rc;
	}
	final[len] = '\0';
	errno = EEXIST;
	return -1;
}

static int try_place(const char *name, void *tmp)
{
	return dumpwrite_place(tmp, name);
}

/* Move tmp to `final` (or final.1 ...) without replacing anything. */
static int dumpwrite_rename(const char *tmp, char *final, size_t cap)
{
	return dumpwrite_names(final, cap, try_place, (void *)tmp);
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

static int try_create(const char *name, void *unused)
{
	(void)unused;
	int fd = sys_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

/* Create `final` itself (the live profile is written in place), or
 * final.1 .. final.99 while the name is taken. */
static int dumpwrite_open_final(char *final, size_t cap)
{
	return dumpwrite_names(final, cap, try_create, NULL);
}

long dumpwrite_dir(const char *pattern, char *path, size_t cap)
{
	if (pattern[0] == '/')
		return 0;
	/* Its length counts the NUL; a directory out of reach comes back as
	 * "(unreachable)/...", which glibc's getcwd refuses too. */
	long n = sys_bare(SYS_getcwd, (long)path, (long)cap, 0);
	if (n <= 1 || path[0] != '/' || (size_t)n + 1 > cap)
		return -1;
	path[n - 1] = '/';
	return n;
}

bool dumpwrite_name_at(const char *pattern, uint64_t pid, const char *exe, char *path, size_t cap,
                       size_t dir)
{
	return dir < cap && dumpwrite_expand(pattern, pid, exe, path + dir, cap - dir) != 0;
}

bool dumpwrite_name(const char *pattern, uint64_t pid, const char *exe, char *path, size_t cap)
{
	long dir = dumpwrite_dir(pattern, path, cap);
	return dir >= 0 && dumpwrite_name_at(pattern, pid, exe, path, cap, (size_t)dir);
}

/* out= naming a directory — one that is there when the profile is made,
 * or any name ending in '/' — means the default name in it
 * (lockcontend.PID.raw), as a user who writes out=/tmp or out=. means;
 * never ".1" beside it (out=. made "./..1", out=/tmp made "/tmp.1").  A
 * symbolic link to a directory is a link, never followed: taken, ".1".
 * False (path unchanged) if the name would not fit. */
static bool dumpwrite_into_dir(char *path, size_t cap, uint64_t pid)
{
	struct stat st;
	size_t len = strlen(path);
	bool slash = len > 0 && path[len - 1] == '/';
	if (!slash && (sys_lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
		return true;
	size_t at = slash ? len : len + 1;
	if (at >= cap ||
	    dumpwrite_expand(CONFIG_DEFAULT_OUT, pid, NULL, path + at, cap - at) == 0) {
		path[len] = '\0';
		return false;
	}
	if (!slash)
		path[len] = '/';
	return true;
}

/* dumpwrite_create_named, for process pid. */
static int dumpwrite_create_for(char *path, size_t path_cap, uint64_t pid, char *err,
                                size_t err_cap)
{
	struct stat st;
	if (!dumpwrite_into_dir(path, path_cap, pid)) {
		dumpwrite_error(err, err_cap, "cannot create profile in directory", path,
		                ENAMETOOLONG);
		errno = ENAMETOOLONG;
		return -1;
	}
	/* out=/dev/null: a device is nobody's profile, and "name.1" beside
	 * it would be a file in /dev. */
	if (lstat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
		struct text t;
		text_init(&t, err, err_cap);
		text_str(&t, "profile '");
		text_str(&t, path);
		text_str(&t, "' is a device: nothing is written");
		errno = ENODEV;
		return -1;
	}
	int fd = dumpwrite_open_final(path, path_cap);
	if (fd < 0)
		dumpwrite_error(err, err_cap, "cannot create profile", path, errno);
	return fd;
}

int dumpwrite_create_named(char *path, size_t path_cap, char *err, size_t err_cap)
{
	/* the process whose profile it is makes its file */
	uint64_t pid = (uint64_t)sys_bare(SYS_getpid, 0, 0, 0);
	return dumpwrite_create_for(path, path_cap, pid, err, err_cap);
}

int dumpwrite_create(const char *pattern, uint64_t pid, const char *exe, char *path,
                     size_t path_cap, char *err, size_t err_cap)
{
	if (!dumpwrite_name(pattern, pid, exe, path, path_cap)) {
		dumpwrite_error(err, err_cap, "cannot create profile", pattern, ENAMETOOLONG);
		errno = ENAMETOOLONG;
		return -1;
	}
	return dumpwrite_create_for(path, path_cap, pid, err, err_cap);
}

/* ---- closing records ------------------------------------------------------ */

/* LOST x LC_NVIEWS, TOTALS, TRAILER, built in `buf` for a file whose first
 * `records` records end at `offset`.  Returns the bytes used. */
static size_t dumpwrite_closing(uint8_t *buf, const struct dump_input *in, uint64_t records,
                                uint64_t offset)
{
	size_t n = 0;
	for (uint32_t v = 0; v < LC_NVIEWS; v++) {
		struct lc_rec_head h = {LC_REC_LOST,
		                        sizeof(struct lc_rec_lost) + sizeof(in->lost[v])};
		struct lc_rec_lost r = {.view = v, .nreasons = LC_LOST_NREASONS};
		memcpy(buf + n, &h, sizeof(h));
		memcpy(buf + n + sizeof(h), &r, sizeof(r));
		memcpy(buf + n + sizeof(h) + sizeof(r), in->lost[v], sizeof(in->lost[v]));
		n += sizeof(h) + lc_dump_pad(h.size);
	}
	struct lc_rec_head h = {LC_REC_TOTALS, sizeof(in->totals)};
	memcpy(buf + n, &h, sizeof(h));
	memcpy(buf + n + sizeof(h), &in->totals, sizeof(in->totals));
	n += sizeof(h) + sizeof(in->totals);
	struct lc_rec_trailer tr = {.records = records + LC_NVIEWS + 1, .bytes = offset + n};
	memcpy(tr.end_magic, LC_DUMP_END_MAGIC, sizeof(tr.end_magic));
	h = (struct lc_rec_head){LC_REC_TRAILER, sizeof(tr)};
	memcpy(buf + n, &h, sizeof(h));
	memcpy(buf + n + sizeof(h), &tr, sizeof(tr));
	return n + sizeof(h) + sizeof(tr);
}

#define CLOSING_MAX                                                                         \
	(LC_NVIEWS *                                                                        \
	     (8 + sizeof(struct lc_rec_lost) + sizeof(((struct dump_input *)0)->lost[0])) + \
	 8 + sizeof(struct lc_rec_totals) + 8 + sizeof(struct lc_rec_trailer))

_Static_assert(CLOSING_MAX <= PFILE_RESERVE, "the closing records fit in the file's reserve");

int dumpwrite_finish(struct pfile *f, const struct dump_input *in)
{
	uint8_t buf[CLOSING_MAX];
	int e;
	pfile_seal(f);
	size_t n = dumpwrite_closing(buf, in, 0, 0);
	size_t off = pfile_seal_claim(f, n, &e);
	if (off == (size_t)-1)
		return e;
	/* Every head before ours, claimed or published, is a record. */
	dumpwrite_closing(buf, in, pfile_walk(f->base, off), off);
	pfile_seal_write(f, off, buf, n);
	return pfile_finish(f, off + n);
}

/* ---- snapshot copies ------------------------------------------------------ */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		long k = sys_write(fd, c, n);
		if (k == -EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? (int)-k : EIO;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* What a snapshot's copy holds, as it wrote it. */
struct snapshot_copy {
	uint64_t records; /* PENDING ones included, as the trailer counts */
	uint64_t buckets, modules, locks;
	size_t end;  /* where the records end in the copy */
	size_t live; /* LIVE.state's offset, or 0 */
};

/* The records below `used`, written to fd as they are.  Each head's type
 * is read once, and the record is written as that read saw it: one still
 * PENDING then is written with a PENDING head of ours, even if its writer
 * publishes it while we copy; one published then stays published (types
 * only go from PENDING to real), its payload whole (the publish is a
 * release store).  So the BUCKET, MODULE and LOCK records counted here are
 * exactly the copy's — the counts a reader checks the TOTALS against —
 * whatever the program's threads make meanwhile.  Every head below `used`
 * is whole (pfile's claim), so the walk never reads a torn one. */
static int snapshot_copy_records(int fd, const char *base, size_t used, struct snapshot_copy *c)
{
	size_t off = sizeof(struct lc_dump_header), run = 0;
	memset(c, 0, sizeof(*c));
	while (off + sizeof(struct lc_rec_head) <= used) {
		uint64_t word =
		    atomic_load_explicit((_Atomic uint64_t *)(base + off), memory_order_acquire);
		struct lc_rec_head h;
		memcpy(&h, &word, sizeof(h));
		if (h.type == 0)
			break;
		c->buckets += h.type == LC_REC_BUCKET;
		c->modules += h.type == LC_REC_MODULE;
		c->locks += h.type == LC_REC_LOCK;
		if (h.type == LC_REC_LIVE)
			c->live = off + sizeof(h) + offsetof(struct lc_rec_live, state);
		if (h.type == LC_REC_PENDING) {
			/* The bytes before it as they are, then its head as read. */
			int e = write_all(fd, base + run, off - run);
			if (!e)
				e = write_all(fd, &h, sizeof(h));
			if (e)
				return e;
			run = off + sizeof(h);
		}
		c->records++;
		off += sizeof(h) + lc_dump_pad(h.size);
	}
	c->end = off;
	return write_all(fd, base + run, off - run);
}

int dumpwrite_snapshot(const struct pfile *f, void (*sums)(struct dump_input *), const char *final,
                       char *err, size_t err_cap)
{
	/* One snapshot at a time (the caller's rule), in a signal handler on
	 * any thread's stack: nothing large on it. */
	static struct dump_input in;
	static char tmp[PFILE_PATH_MAX + 64], path[PFILE_PATH_MAX + 64];
	struct snapshot_copy c;
	uint8_t buf[CLOSING_MAX];
	struct text t;
	text_init(&t, path, sizeof(path));
	text_str(&t, final);
	int fd = dumpwrite_open_temp(path, tmp, sizeof(tmp));
	if (fd < 0) {
		dumpwrite_error(err, err_cap, "cannot write snapshot next to", path, errno);
		return -1;
	}
	uint32_t state = LC_LIVE_SNAPSHOT;
	int e = snapshot_copy_records(fd, f->base, pfile_used(f), &c);
	sums(&in);                     /* after the copy: its stacks never hold more than these */
	in.totals.buckets = c.buckets; /* the records this file holds */
	in.totals.modules = c.modules;
	in.totals.locks = c.locks;
	size_t n = dumpwrite_closing(buf, &in, c.records, c.end);
	if (!e)
		e = write_all(fd, buf, n);
	long k = !e && c.live ? sys_pwrite(fd, &state, sizeof(state), (off_t)c.live) : 0;
	if (k < 0 || (k > 0 && k != sizeof(state)))
		e = k < 0 ? (int)-k : EIO;
	if (sys_close(fd) != 0 && !e)
		e = EIO;
	if (!e && dumpwrite_rename(tmp, path, sizeof(path)) != 0)
		e = errno;
	if (e) {
		unlink(tmp);
		dumpwrite_error(err, err_cap, "cannot write snapshot", path, e);
		return -1;
	}
	return 0;
}
