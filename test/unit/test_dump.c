/*
 * test_dump.c — the raw dump: writer (preload/dumpwrite.c) against reader
 * (symbolize/dumpread.c).
 *
 * Tests: a round trip of a version 2 dump built from a real arena, stack
 * table (buckets of every view and kind, on several locks), lock table
 * (with and without a first-contended stack) and module map (this
 * process's own modules) with every field compared, LOST per view; every
 * prefix of that dump parses as an error or as incomplete, never complete
 * and never past its end (the prefix ends at a PROT_NONE page), and the
 * prefixes that end on a record boundary are incomplete at exactly that
 * boundary; corruptions (magic, major version, a bucket's nframes, the
 * trailer, bytes after it) are one-line errors; dumpwrite_expand; and
 * dumpwrite_file's file protocol: mode 0600, never replacing or following
 * what is at the target (NAME.1, NAME.2 instead), one-line errors that name
 * the path, and no temporary file left behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dumpread.h"
#include "dumpwrite.h"
#include "lockstate.h"

/* ---- the dump under test ------------------------------------------------ */

static struct arena arena;
static struct stacktab tab;
static struct modmap mods;
static struct lockstate locks;
static struct dump_input in;
static char exe[4096];
static unsigned nstacks;

/* Each stack gets the next (view, kind) and one of three lock addresses. */
static void add_stack(uint32_t flags, uint32_t n, uintptr_t base, uint64_t count, uint64_t delay)
{
	uintptr_t pcs[LC_DUMP_MAX_DEPTH];
	for (uint32_t i = 0; i < n; i++)
		pcs[i] = base + i * 0x18;
	struct event_key k = {.lock = 0x601000 + 0x40 * (nstacks % 3), .flags = flags,
	                      .view = (uint8_t)(nstacks % LC_NVIEWS),
	                      .kind = (uint8_t)(nstacks % LC_NKINDS)};
	nstacks++;
	cr_assert_eq(stacktab_add(&tab, &k, pcs, n, count, delay, delay / 2 + 1), STACKTAB_INSERTED);
}

/* Two contended locks: one named by its first stack, one not. */
static void add_locks(void)
{
	static const uintptr_t first[] = {0x401234, 0x401500, 0x7f0000001000};
	cr_assert_eq(lockstate_init(&locks, &arena, 64), 0);
	struct lockent *a = lockstate_get(&locks, 0x601000, LC_KIND_MUTEX);
	struct lockent *b = lockstate_get(&locks, 0x7f00deadbe00, LC_KIND_WRLOCK);
	cr_assert(a && b);
	lockstate_name(a, first, 3);
	atomic_store(&a->trylock_failures, 11);
	atomic_store(&a->timeouts, 3);
	atomic_store(&a->uncharged_ns, 4444);
	atomic_store(&b->trylock_failures, UINT64_MAX);
}

static void build_input(void)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_eq(arena_init(&arena, 16 << 20), 0);
	cr_assert_eq(stacktab_init(&tab, &arena, 64), 0);
	cr_assert_eq(modmap_init(&mods, &arena, exe), 0);
	cr_assert(modmap_refresh(&mods));
	nstacks = 0;
	add_stack(0, 1, (uintptr_t)&build_input, 1, 10);
	add_stack(LC_BUCKET_TRUNCATED, 3, 0x401000, 2, 2000);
	add_stack(LC_BUCKET_TRUNCATED | LC_BUCKET_TIMEDOUT, LC_DUMP_MAX_DEPTH, 0x7f0000001000, 3, 3);
	add_stack(LC_BUCKET_TIMEDOUT, 5, 0xffffffffff600000, UINT64_MAX / 3, UINT64_MAX - 5);
	for (uint32_t i = 0; i < 20; i++)
		add_stack(0, 2 + i % 7, 0x500000 + i * 0x1000, i + 1, 1000003ull * i);
	memset(&in, 0, sizeof(in));
	in.meta = (struct lc_rec_meta){
	    .pid = 4242, .start_realtime_ns = 1700000000000000001ull,
	    .end_realtime_ns = 1700000000500000002ull, .start_mono_ns = 123456789,
	    .end_mono_ns = 987654321012, .clock = LC_CLOCK_MONOTONIC, .rate = 10,
	    .depth = LC_DUMP_MAX_DEPTH, .flags = LC_META_STACKS | LC_META_HOLDER,
	    .arena_bytes = 16 << 20, .arena_used = arena_used(&arena), .exe_len = 77777,
	    .hold_rate = 100};
	add_locks();
	in.exe = exe;
	in.modmap = &mods;
	in.tab = &tab;
	in.locks = &locks;
	for (int v = 0; v < LC_NVIEWS; v++)
		for (int r = 0; r < LC_LOST_NREASONS; r++)
			in.lost[v][r] = (struct lc_lost_entry){.count = 100u * v + 10u * r + 1,
			                                       .delay_ns = 10000u * v + 1000u * r + 7};
	in.totals = (struct lc_rec_totals){
	    .contentions = 111, .delay_ns = 222, .timeouts = 3, .buckets = 999, .modules = 999,
	    .stacks_refused = 4, .threads_unread = 5, .threads_seen = 6, .caused_count = 7,
	    .caused_ns = 8, .uncharged_ns = 9, .holds = 10, .hold_ns = 11, .trylock_failures = 12,
	    .locks = 999, .locks_refused = 13};
}

static void free_input(void)
{
	if (arena.base)
		munmap(arena.base, arena.size);
	memset(&arena, 0, sizeof(arena));
}

/* Write the dump into a memfd and read it back into a malloc'd buffer. */
static uint8_t *write_to_mem(size_t *len)
{
	int fd = memfd_create("lockcontend-test", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dumpwrite_fd(fd, &in), 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	uint8_t *buf = malloc(*len);
	cr_assert_eq(pread(fd, buf, *len, 0), (ssize_t)*len);
	close(fd);
	return buf;
}

static void assert_one_line(const char *what, const char *s)
{
	cr_assert(s[0], "empty %s", what);
	cr_assert_null(strchr(s, '\n'), "%s spans lines: %s", what, s);
}

/* Start offsets of the records (after the header), then the file end. */
static size_t record_offsets(const uint8_t *buf, size_t len, uint64_t *off, uint32_t *type,
                             size_t max)
{
	size_t n = 0;
	uint64_t o = sizeof(struct lc_dump_header);
	while (o < len && n < max) {
		struct lc_rec_head h;
		memcpy(&h, buf + o, sizeof(h));
		off[n] = o;
		type[n++] = h.type;
		o += sizeof(h) + lc_dump_pad(h.size);
	}
	cr_assert_eq(o, len, "records do not tile the file");
	return n;
}

TestSuite(dump, .init = build_input, .fini = free_input);

/* ---- round trip ---------------------------------------------------------- */

static void assert_meta(const struct dump *d)
{
	const struct lc_rec_meta *a = &d->meta, *e = &in.meta;
	cr_assert(d->have_meta && d->have_lost && d->have_totals);
	cr_assert_eq(d->version_major, LC_DUMP_VERSION_MAJOR);
	cr_assert_eq(d->version_minor, LC_DUMP_VERSION_MINOR);
	cr_assert_eq(a->pid, e->pid);
	cr_assert_eq(a->start_realtime_ns, e->start_realtime_ns);
	cr_assert_eq(a->end_realtime_ns, e->end_realtime_ns);
	cr_assert_eq(a->start_mono_ns, e->start_mono_ns);
	cr_assert_eq(a->end_mono_ns, e->end_mono_ns);
	cr_assert_eq(a->clock, e->clock);
	cr_assert_eq(a->rate, e->rate);
	cr_assert_eq(a->depth, e->depth);
	cr_assert_eq(a->flags, e->flags);
	cr_assert_eq(a->arena_bytes, e->arena_bytes);
	cr_assert_eq(a->arena_used, e->arena_used);
	cr_assert_eq(a->hold_rate, e->hold_rate);
	cr_assert_eq(a->exe_len, strlen(exe), "exe_len is the writer's, not the input's");
	cr_assert_str_eq(d->exe, exe);
}

static void assert_module(const struct dump_module *a, uint32_t i)
{
	const struct module *e = modmap_at(&mods, i);
	cr_assert_eq(a->id, i);
	cr_assert_eq(a->load_bias, e->load_bias);
	cr_assert_eq(a->build_id_len, e->build_id_len);
	cr_assert_arr_eq(a->build_id, e->build_id, e->build_id_len);
	cr_assert_eq(strlen(a->path), e->path_len);
	cr_assert_arr_eq(a->path, e->path, e->path_len);
	cr_assert_eq(a->nsegments, e->nsegments);
	for (uint32_t s = 0; s < e->nsegments; s++) {
		cr_assert_eq(a->segments[s].vaddr, e->segments[s].vaddr);
		cr_assert_eq(a->segments[s].memsz, e->segments[s].memsz);
		cr_assert_eq(a->segments[s].offset, e->segments[s].offset);
		cr_assert_eq(a->segments[s].flags, e->segments[s].flags);
	}
}

static void assert_modules(const struct dump *d)
{
	uint32_t with_build_id = 0;
	cr_assert_eq(d->nmodules, modmap_count(&mods));
	cr_assert_geq(d->nmodules, 2, "this process has at least itself and libc");
	for (uint32_t i = 0; i < d->nmodules; i++) {
		assert_module(&d->modules[i], i);
		with_build_id += d->modules[i].build_id_len == 20;
	}
	cr_assert_str_eq(d->modules[0].path, exe, "the main program is named by exe_path");
	cr_assert_gt(with_build_id, 0, "no module with a 20-byte GNU build-id");
	cr_assert_eq(dump_module_of(d, (uint64_t)(uintptr_t)&build_input), &d->modules[0]);
}

struct expect {
	const struct stackbucket *b[64];
	bool seen[64];
	size_t n;
};

static void collect(const struct stackbucket *b, void *arg)
{
	struct expect *e = arg;
	cr_assert_lt(e->n, 64);
	e->b[e->n++] = b;
}

static bool bucket_equal(const struct dump_bucket *a, const struct stackbucket *e)
{
	if (a->flags != e->key.flags || a->nframes != e->nframes || a->view != e->key.view ||
	    a->kind != e->key.kind || a->lock != e->key.lock)
		return false;
	for (uint32_t i = 0; i < a->nframes; i++)
		if (a->pcs[i] != e->pcs[i])
			return false;
	return true;
}

static void assert_buckets(const struct dump *d)
{
	struct expect e = {.n = 0};
	stacktab_foreach(&tab, collect, &e);
	cr_assert_eq(d->nbuckets, e.n);
	for (size_t i = 0; i < d->nbuckets; i++) {
		size_t k = 0;
		while (k < e.n && (e.seen[k] || !bucket_equal(&d->buckets[i], e.b[k])))
			k++;
		cr_assert_lt(k, e.n, "dump bucket %zu matches no table bucket", i);
		e.seen[k] = true;
		cr_assert_eq(d->buckets[i].count, e.b[k]->count);
		cr_assert_eq(d->buckets[i].delay_ns, e.b[k]->delay_ns);
		cr_assert_eq(d->buckets[i].max_ns, e.b[k]->max_ns);
	}
}

struct lock_expect {
	const struct lockent *e[8];
	size_t n;
};

static void collect_lock(const struct lockent *e, void *arg)
{
	struct lock_expect *x = arg;
	cr_assert_lt(x->n, 8);
	x->e[x->n++] = e;
}

static void assert_locks(const struct dump *d)
{
	struct lock_expect x = {.n = 0};
	lockstate_foreach(&locks, collect_lock, &x);
	cr_assert_eq(d->nlocks, x.n);
	cr_assert_eq(x.n, 2);
	for (size_t i = 0; i < x.n; i++) {
		const struct lockent *e = x.e[i];
		const struct dump_lock *l = dump_lock_of(d, e->addr);
		cr_assert_not_null(l, "lock %#lx not in the dump", (unsigned long)e->addr);
		cr_assert_eq(l->kind, e->kind);
		cr_assert_eq(l->trylock_failures, e->trylock_failures);
		cr_assert_eq(l->timeouts, e->timeouts);
		cr_assert_eq(l->uncharged_ns, e->uncharged_ns);
		cr_assert_eq(l->nframes, e->first_state == 2 ? e->first_n : 0);
		for (uint32_t k = 0; k < l->nframes; k++)
			cr_assert_eq(l->pcs[k], e->first[k]);
	}
	cr_assert_eq(dump_lock_of(d, 0x601000)->nframes, 3);
}

static void assert_lost_and_totals(const struct dump *d)
{
	cr_assert_eq(d->lost_views, (1u << LC_NVIEWS) - 1, "one LOST record per view");
	for (int v = 0; v < LC_NVIEWS; v++) {
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			cr_assert_eq(d->lost[v][r].count, in.lost[v][r].count, "lost[%d][%d]", v, r);
			cr_assert_eq(d->lost[v][r].delay_ns, in.lost[v][r].delay_ns, "lost[%d][%d]", v, r);
		}
	}
	const struct lc_rec_totals *a = &d->totals, *e = &in.totals;
	cr_assert_eq(a->contentions, e->contentions);
	cr_assert_eq(a->delay_ns, e->delay_ns);
	cr_assert_eq(a->timeouts, e->timeouts);
	cr_assert_eq(a->buckets, d->nbuckets, "totals.buckets is counted by the writer");
	cr_assert_eq(a->modules, d->nmodules, "totals.modules is counted by the writer");
	cr_assert_eq(a->stacks_refused, e->stacks_refused);
	cr_assert_eq(a->threads_unread, e->threads_unread);
	cr_assert_eq(a->threads_seen, e->threads_seen);
	cr_assert_eq(a->caused_count, e->caused_count);
	cr_assert_eq(a->caused_ns, e->caused_ns);
	cr_assert_eq(a->uncharged_ns, e->uncharged_ns);
	cr_assert_eq(a->holds, e->holds);
	cr_assert_eq(a->hold_ns, e->hold_ns);
	cr_assert_eq(a->trylock_failures, e->trylock_failures);
	cr_assert_eq(a->locks, d->nlocks, "totals.locks is counted by the writer");
	cr_assert_eq(a->locks_refused, e->locks_refused);
}

static void assert_round_trip(const struct dump *d, size_t len)
{
	cr_assert(d->complete, "warning: %s", d->warning);
	cr_assert_str_eq(d->warning, "");
	cr_assert_eq(d->stop_offset, len);
	cr_assert_eq(d->skipped, 0);
	cr_assert_eq(d->records, 1 + d->nmodules + d->nbuckets + d->nlocks + LC_NVIEWS + 1,
	             "meta, modules, buckets, locks, lost per view, totals");
	assert_meta(d);
	assert_modules(d);
	assert_buckets(d);
	assert_locks(d);
	assert_lost_and_totals(d);
}

Test(dump, round_trip_every_field)
{
	size_t len;
	uint8_t *buf = write_to_mem(&len);
	struct dump d;
	char err[256] = "";
	cr_assert_eq(dump_parse(buf, len, &d, err, sizeof(err)), 0, "%s", err);
	assert_round_trip(&d, len);
	dump_free(&d);
	free(buf);
}

Test(dump, empty_table_and_no_modules)
{
	in.tab = NULL;
	in.modmap = NULL;
	in.locks = NULL;
	in.exe = NULL;
	size_t len;
	uint8_t *buf = write_to_mem(&len);
	struct dump d;
	char err[256] = "";
	cr_assert_eq(dump_parse(buf, len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.complete);
	cr_assert_eq(d.nbuckets + d.nmodules + d.nlocks + d.totals.buckets + d.totals.modules +
	             d.totals.locks, 0);
	cr_assert_str_eq(d.exe, "");
	cr_assert_eq(d.lost[LC_VIEW_HOLD][LC_LOST_NO_SLOT].count,
	             in.lost[LC_VIEW_HOLD][LC_LOST_NO_SLOT].count);
	dump_free(&d);
	free(buf);
}

/* ---- truncation ---------------------------------------------------------- */

/* A region whose end touches a PROT_NONE page: reading past it faults. */
struct guarded {
	uint8_t *base;
	size_t size; /* readable bytes, then one guard page */
};

static struct guarded guarded_new(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct guarded g = {.size = (len + page - 1) / page * page};
	if (g.size == 0)
		g.size = page;
	g.base = mmap(NULL, g.size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(g.base, MAP_FAILED);
	cr_assert_eq(mprotect(g.base + g.size, page, PROT_NONE), 0);
	return g;
}

/* Parse the first k bytes of buf, placed flush against the guard page. */
static int parse_prefix(struct guarded *g, const uint8_t *buf, size_t k, struct dump *d,
                        char *err, size_t errlen)
{
	uint8_t *p = g->base + g->size - k;
	memcpy(p, buf, k);
	err[0] = '\0';
	return dump_parse(p, k, d, err, errlen);
}

static size_t index_of(const uint64_t *off, size_t n, uint64_t v)
{
	size_t i = 0;
	while (i < n && off[i] != v)
		i++;
	return i;
}

/* An incomplete parse stopped at a record start, with the records before it. */
static void assert_incomplete(const struct dump *d, size_t k, const uint64_t *off,
                              const uint32_t *type, size_t nrec)
{
	cr_assert(!d->complete, "prefix %zu parsed as complete", k);
	assert_one_line("warning", d->warning);
	cr_assert_leq(d->stop_offset, k);
	size_t i = index_of(off, nrec, d->stop_offset);
	cr_assert_lt(i, nrec, "prefix %zu: stop_offset %llu is not a record start", k,
	             (unsigned long long)d->stop_offset);
	cr_assert_eq(d->records, i, "prefix %zu: %zu records, expected %zu", k, d->records, i);
	size_t nb = 0;
	for (size_t j = 0; j < i; j++)
		nb += type[j] == LC_REC_BUCKET;
	cr_assert_eq(d->nbuckets, nb, "prefix %zu", k);
}

Test(dump, every_prefix_is_an_error_or_incomplete, .timeout = 60)
{
	size_t len, nrec;
	uint8_t *buf = write_to_mem(&len);
	uint64_t off[256];
	uint32_t type[256];
	nrec = record_offsets(buf, len, off, type, 256);
	struct guarded g = guarded_new(len);
	size_t errors = 0, incomplete = 0;
	for (size_t k = 0; k < len; k++) {
		struct dump d;
		char err[256];
		if (parse_prefix(&g, buf, k, &d, err, sizeof(err)) != 0) {
			assert_one_line("error", err);
			cr_assert_lt(k, off[1], "prefix %zu (metadata whole) is an error: %s", k, err);
			errors++;
			continue;
		}
		cr_assert_geq(k, off[1], "prefix %zu parsed without its metadata", k);
		assert_incomplete(&d, k, off, type, nrec);
		dump_free(&d);
		incomplete++;
	}
	struct dump d;
	char err[256];
	cr_assert_eq(parse_prefix(&g, buf, len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.complete, "the whole dump flush against the guard page");
	dump_free(&d);
	cr_assert(errors > 0 && incomplete > 0);
	munmap(g.base, g.size + (size_t)sysconf(_SC_PAGESIZE));
	free(buf);
}

Test(dump, prefix_at_each_record_boundary_is_incomplete_there)
{
	size_t len, nrec;
	uint8_t *buf = write_to_mem(&len);
	uint64_t off[256];
	uint32_t type[256];
	nrec = record_offsets(buf, len, off, type, 256);
	cr_assert_eq(type[0], LC_REC_META);
	cr_assert_eq(type[nrec - 1], LC_REC_TRAILER);
	struct guarded g = guarded_new(len);
	struct dump d;
	char err[256];
	cr_assert_eq(parse_prefix(&g, buf, off[0], &d, err, sizeof(err)), -1,
	             "a header alone has no metadata");
	assert_one_line("error", err);
	for (size_t i = 1; i < nrec; i++) {
		cr_assert_eq(parse_prefix(&g, buf, off[i], &d, err, sizeof(err)), 0,
		             "boundary %zu (offset %llu): %s", i, (unsigned long long)off[i], err);
		cr_assert(!d.complete);
		cr_assert_eq(d.stop_offset, off[i]);
		cr_assert_eq(d.records, i);
		assert_one_line("warning", d.warning);
		dump_free(&d);
	}
	munmap(g.base, g.size + (size_t)sysconf(_SC_PAGESIZE));
	free(buf);
}

/* ---- corruption ---------------------------------------------------------- */

static void assert_parse_error(const uint8_t *buf, size_t len, const char *needle)
{
	struct dump d;
	char err[256] = "";
	cr_assert_eq(dump_parse(buf, len, &d, err, sizeof(err)), -1, "parsed; expected \"%s\"",
	             needle);
	assert_one_line("error", err);
	cr_assert(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
	cr_assert_null(d.buckets, "a failed parse must leave *d freed");
}

static uint64_t first_of_type(const uint8_t *buf, size_t len, uint32_t t)
{
	uint64_t off[256];
	uint32_t type[256];
	size_t n = record_offsets(buf, len, off, type, 256);
	for (size_t i = 0; i < n; i++)
		if (type[i] == t)
			return off[i];
	cr_assert_fail("no record of type %u", t);
	return 0;
}

Test(dump, bad_magic_and_version)
{
	size_t len;
	uint8_t *buf = write_to_mem(&len);
	buf[3] ^= 0x20;
	assert_parse_error(buf, len, "magic");
	buf[3] ^= 0x20;
	uint16_t v = LC_DUMP_VERSION_MAJOR + 1;
	memcpy(buf + 8, &v, 2);
	assert_parse_error(buf, len, "version 3.0 is not supported");
	v = 1; /* the old format: not read at all */
	memcpy(buf + 8, &v, 2);
	assert_parse_error(buf, len, "version 1.0 is not supported");
	free(buf);
}

Test(dump, bucket_with_more_frames_than_bytes)
{
	size_t len;
	uint8_t *buf = write_to_mem(&len);
	uint64_t at = first_of_type(buf, len, LC_REC_BUCKET);
	uint32_t *nframes = (uint32_t *)(buf + at + sizeof(struct lc_rec_head) + 36);
	char needle[64];
	snprintf(needle, sizeof(needle), "offset %llu", (unsigned long long)at);
	const uint32_t bad[] = {*nframes + 1, 0, LC_DUMP_MAX_DEPTH + 1, UINT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t good = *nframes;
		*nframes = bad[i];
		assert_parse_error(buf, len, needle);
		*nframes = good;
	}
	free(buf);
}

/* A well-formed record whose nframes is 0: the format says 1..256. */
Test(dump, bucket_without_frames)
{
	size_t len;
	uint8_t *buf = write_to_mem(&len);
	uint64_t at = first_of_type(buf, len, LC_REC_BUCKET); /* after meta and modules */
	struct {
		struct lc_rec_head h;
		struct lc_rec_bucket b;
	} rec = {{LC_REC_BUCKET, sizeof(struct lc_rec_bucket)}, {.count = 1, .delay_ns = 1}};
	memcpy(buf + at, &rec, sizeof(rec));
	char needle[64];
	snprintf(needle, sizeof(needle), "offset %llu", (unsigned long long)at);
	assert_parse_error(buf, at + sizeof(rec), needle);
	free(buf);
}

Test(dump, bad_trailer_and_bytes_after_it)
{
	size_t len;
	uint8_t *buf = write_to_mem(&len);
	uint64_t at = first_of_type(buf, len, LC_REC_TRAILER);
	uint8_t *records = buf + at + sizeof(struct lc_rec_head);
	records[0] ^= 1;
	assert_parse_error(buf, len, "trailer");
	records[0] ^= 1;
	uint8_t *longer = calloc(1, len + 8);
	memcpy(longer, buf, len);
	assert_parse_error(longer, len + 8, "after the trailer");
	assert_parse_error(longer, len + 1, "after the trailer");
	free(longer);
	free(buf);
}

/* ---- dumpwrite_expand ---------------------------------------------------- */

static void assert_expands(const char *pattern, uint64_t pid, const char *exe_path,
                           const char *want)
{
	char out[256];
	memset(out, 'Z', sizeof(out));
	size_t n = dumpwrite_expand(pattern, pid, exe_path, out, sizeof(out));
	cr_assert_str_eq(out, want, "\"%s\"", pattern);
	cr_assert_eq(n, strlen(want));
}

Test(dump, expand_escapes)
{
	assert_expands("lockcontend.%p.raw", 1234, "/x", "lockcontend.1234.raw");
	assert_expands("%p%p", 0, "/x", "00");
	assert_expands("%p", UINT64_MAX, "/x", "18446744073709551615");
	assert_expands("out.%e.raw", 1, "/usr/bin/myprog", "out.myprog.raw");
	assert_expands("%e", 1, "myprog", "myprog");
	assert_expands("%e", 1, NULL, "unknown");
	assert_expands("%e", 1, "", "unknown");
	assert_expands("%e", 1, "/usr/bin/", "unknown");
	assert_expands("100%%.%p", 7, "/x", "100%.7");
	assert_expands("/tmp/%e/%p/x", 9, "/a/b", "/tmp/b/9/x");
}

/* Returns 0 when cut, never writes past cap. */
Test(dump, expand_overflow_is_zero)
{
	char out[64];
	for (size_t cap = 1; cap <= 20; cap++) {
		memset(out, 'Z', sizeof(out));
		cr_assert_eq(dumpwrite_expand("lockcontend.%p.raw", 1234, "/x", out, cap), 0,
		             "cap %zu", cap);
		cr_assert_eq(out[cap], 'Z', "wrote past cap %zu", cap);
	}
	cr_assert_eq(dumpwrite_expand("%e.%e.%e", 1, "/bin/a-rather-long-name", out, 40), 0);
}

/* "abc" needs 4 bytes with its NUL: it fits in exactly 4. */
Test(dump, expand_exact_fit)
{
	char out[8];
	cr_assert_eq(dumpwrite_expand("abc", 1, "/x", out, 4), 3);
	cr_assert_str_eq(out, "abc");
	cr_assert_eq(dumpwrite_expand("%p", 12345, "/x", out, 6), 5);
	cr_assert_str_eq(out, "12345");
}

/* ---- dumpwrite_file ------------------------------------------------------ */

static char dir[64];

static void dir_setup(void)
{
	build_input();
	strcpy(dir, "/tmp/lockcontend-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0711); /* an unprivileged child may pass through */
}

static void rm_rf(const char *path)
{
	DIR *dp = opendir(path);
	struct dirent *e;
	while (dp && (e = readdir(dp))) {
		char p[512];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		chmod(p, 0700);
		if (unlink(p) != 0)
			rm_rf(p);
	}
	if (dp)
		closedir(dp);
	rmdir(path);
}

static void dir_teardown(void)
{
	rm_rf(dir);
	free_input();
}

TestSuite(dumpfile, .init = dir_setup, .fini = dir_teardown);

static void put_file(const char *name, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
}

static void assert_content(const char *name, const char *content)
{
	char p[512], got[256] = "";
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "%s is gone", p);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	cr_assert_str_eq(got, content, "%s was changed", p);
}

/* The directory holds exactly `names` (sorted, NULL-terminated). */
static void assert_listing(const char *d, const char *const *names)
{
	struct dirent **list;
	int n = scandir(d, &list, NULL, alphasort), k = 0;
	cr_assert_geq(n, 0);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (strcmp(name, ".") && strcmp(name, "..")) {
			cr_assert_not_null(names[k], "unexpected file %s in %s", name, d);
			cr_assert_str_eq(name, names[k], "unexpected file in %s", d);
			k++;
		}
		free(list[i]);
	}
	free(list);
	cr_assert_null(names[k], "%s is missing from %s", names[k], d);
}

static void assert_valid_dump(const char *path)
{
	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_assert(d.complete, "%s: %s", path, d.warning);
	cr_assert_eq(d.nbuckets, atomic_load(&tab.nbuckets));
	dump_free(&d);
}

static int write_file(const char *name, char *path, char *err)
{
	char pattern[512];
	snprintf(pattern, sizeof(pattern), "%s/%s", dir, name);
	path[0] = err[0] = '\0';
	return dumpwrite_file(pattern, &in, path, 4096 + 64, err, 512);
}

Test(dumpfile, writes_a_0600_file_at_the_expanded_name)
{
	char path[4096 + 64], err[512], want[512];
	mode_t old = umask(0); /* 0600 must come from the writer, not the umask */
	int rc = write_file("prof.%p.raw", path, err);
	umask(old);
	cr_assert_eq(rc, 0, "%s", err);
	snprintf(want, sizeof(want), "%s/prof.4242.raw", dir);
	cr_assert_str_eq(path, want);
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	assert_valid_dump(path);
	assert_listing(dir, (const char *const[]){"prof.4242.raw", NULL});
}

Test(dumpfile, existing_file_is_kept_and_dump_lands_at_dot_1)
{
	char path[4096 + 64], err[512], want[512];
	put_file("prof.raw", "precious");
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/prof.raw.1", dir);
	cr_assert_str_eq(path, want);
	assert_content("prof.raw", "precious");
	assert_valid_dump(path);
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/prof.raw.2", dir);
	cr_assert_str_eq(path, want);
	assert_listing(dir, (const char *const[]){"prof.raw", "prof.raw.1", "prof.raw.2", NULL});
}

Test(dumpfile, symlink_at_target_is_neither_followed_nor_replaced)
{
	char path[4096 + 64], err[512], link_path[512], target[64];
	put_file("victim", "victim data");
	snprintf(link_path, sizeof(link_path), "%s/prof.raw", dir);
	cr_assert_eq(symlink("victim", link_path), 0);
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	cr_assert(strstr(path, "/prof.raw.1"), "landed at %s", path);
	assert_content("victim", "victim data");
	ssize_t n = readlink(link_path, target, sizeof(target) - 1);
	cr_assert_eq(n, 6, "the symlink was replaced");
	target[n] = '\0';
	cr_assert_str_eq(target, "victim");
	assert_valid_dump(path);
	assert_listing(dir, (const char *const[]){"prof.raw", "prof.raw.1", "victim", NULL});
}

Test(dumpfile, dangling_symlink_is_not_followed)
{
	char path[4096 + 64], err[512], link_path[512];
	snprintf(link_path, sizeof(link_path), "%s/prof.raw", dir);
	cr_assert_eq(symlink("ghost", link_path), 0);
	cr_assert_eq(write_file("prof.raw", path, err), 0, "%s", err);
	cr_assert(strstr(path, "/prof.raw.1"), "landed at %s", path);
	assert_listing(dir, (const char *const[]){"prof.raw", "prof.raw.1", NULL});
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(dumpfile, every_name_taken_fails_cleanly)
{
	char path[4096 + 64], err[512], name[64];
	static char names[100][16];
	const char *listing[101];
	put_file("prof.raw", "0");
	for (int i = 1; i < 100; i++) {
		snprintf(name, sizeof(name), "prof.raw.%d", i);
		put_file(name, "x");
	}
	cr_assert_eq(write_file("prof.raw", path, err), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, "/prof.raw"), "error does not name the target: %s", err);
	for (int i = 0; i < 100; i++) /* alphasort order: .1 .10 .11 ... */
		snprintf(names[i], sizeof(names[i]), i ? "prof.raw.%d" : "prof.raw", i);
	qsort(names + 1, 99, sizeof(names[0]), cmp_str);
	for (int i = 0; i < 100; i++)
		listing[i] = names[i];
	listing[100] = NULL;
	assert_listing(dir, listing);
	assert_content("prof.raw", "0");
}

/* Run dumpwrite_file as `nobody` if we are root (root writes anywhere). */
static int write_file_unprivileged(const char *pattern, char *err, size_t cap)
{
	char path[4096 + 64];
	if (geteuid() != 0)
		return dumpwrite_file(pattern, &in, path, sizeof(path), err, cap);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int rc = 99;
		close(fds[0]);
		if (setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0)
			rc = dumpwrite_file(pattern, &in, path, sizeof(path), err, cap);
		if (write(fds[1], &rc, sizeof(rc)) != sizeof(rc) ||
		    write(fds[1], err, strlen(err) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	int rc = -2;
	cr_assert_eq(read(fds[0], &rc, sizeof(rc)), (ssize_t)sizeof(rc));
	ssize_t n = read(fds[0], err, cap - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, NULL, 0);
	if (rc == 99)
		cr_skip_test("cannot drop root privileges to test an unwritable directory");
	return rc;
}

Test(dumpfile, unwritable_directory_fails_with_the_path)
{
	char sub[128], pattern[160], err[512] = "";
	snprintf(sub, sizeof(sub), "%s/ro", dir);
	cr_assert_eq(mkdir(sub, 0555), 0);
	chmod(sub, 0555);
	snprintf(pattern, sizeof(pattern), "%s/prof.raw", sub);
	cr_assert_eq(write_file_unprivileged(pattern, err, sizeof(err)), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, pattern), "error does not name %s: %s", pattern, err);
	assert_listing(sub, (const char *const[]){NULL});
}

Test(dumpfile, missing_directory_fails_with_the_path)
{
	char path[4096 + 64], err[512];
	cr_assert_eq(write_file("nope/prof.raw", path, err), -1);
	assert_one_line("error", err);
	cr_assert(strstr(err, "/nope/prof.raw"), "%s", err);
	assert_listing(dir, (const char *const[]){NULL});
}
