/*
 * fuzz_dumpread.c — libFuzzer target for the raw dump reader
 * (symbolize/dumpread.c).
 *
 * dumpread.h promises that any byte string gives either a model or a
 * one-line error, never a crash.  This target holds it to that: it parses
 * the input, then touches every byte of the model (so AddressSanitizer sees
 * any read of freed or unallocated memory) and checks what the model must
 * say about itself; a broken promise aborts, which libFuzzer reports as a
 * crash.  Built with -fsanitize=fuzzer,address,undefined by `make fuzz`,
 * which starts from the seeds in corpus/ (made by mkcorpus.sh); see
 * docs/testing.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"

/* A failed invariant is a bug in the reader: say which, then crash. */
#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_dumpread: %s:%d: invariant failed: %s\n", \
			        __FILE__, __LINE__, #cond);                          \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* Folding every byte read into a volatile keeps the reads in the binary. */
static volatile uint64_t sink;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = sink;
	for (size_t i = 0; i < n; i++)
		h = h * 31 + b[i];
	sink = h;
}

/* A message the reader produced: terminated inside its buffer, one line. */
static void check_line(const char *s, size_t cap, bool want_empty)
{
	const char *nul = memchr(s, '\0', cap);
	CHECK(nul != NULL);
	CHECK(want_empty ? s[0] == '\0' : s[0] != '\0');
	CHECK(memchr(s, '\n', (size_t)(nul - s)) == NULL);
}

static bool contains(const struct dump_module *m, uint64_t pc)
{
	for (uint32_t s = 0; s < m->nsegments; s++) {
		uint64_t lo = m->load_bias + m->segments[s].vaddr;
		if (pc >= lo && pc - lo < m->segments[s].memsz)
			return true;
	}
	return false;
}

static void walk_module(const struct dump *d, const struct dump_module *m)
{
	CHECK(m->nsegments <= LC_DUMP_MAX_SEGMENTS);
	CHECK(m->build_id_len <= LC_DUMP_MAX_BUILD_ID);
	CHECK(m->path != NULL && strlen(m->path) <= LC_DUMP_MAX_PATH);
	CHECK(m->nsegments == 0 || m->segments != NULL);
	touch(m->build_id, m->build_id_len);
	touch(m->path, strlen(m->path) + 1);
	touch(m->segments, m->nsegments * sizeof(*m->segments));
	/* The first byte of every segment must map to some module (this one
	 * or a later one at the same address: the latest wins). */
	for (uint32_t s = 0; s < m->nsegments; s++) {
		if (m->segments[s].memsz == 0)
			continue;
		const struct dump_module *hit = dump_module_of(d, m->load_bias + m->segments[s].vaddr);
		CHECK(hit >= m && hit < d->modules + d->nmodules);
		CHECK(contains(hit, m->load_bias + m->segments[s].vaddr));
	}
}

static void walk_pcs(const struct dump *d, const uint64_t *pcs, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		const struct dump_module *m = dump_module_of(d, pcs[k]);
		if (!m)
			continue;
		CHECK(m >= d->modules && m < d->modules + d->nmodules && contains(m, pcs[k]));
		touch(m->path, strlen(m->path) + 1);
	}
}

static void walk_bucket(const struct dump *d, const struct dump_bucket *b)
{
	CHECK(b->nframes >= 1 && b->nframes <= LC_DUMP_MAX_DEPTH);
	CHECK(b->view < LC_NVIEWS && b->kind < LC_NKINDS); /* consumers index arrays with them */
	CHECK(b->pcs != NULL);
	touch(b, sizeof(*b));
	touch(b->pcs, b->nframes * sizeof(*b->pcs));
	walk_pcs(d, b->pcs, b->nframes);
}

static void walk_lock(const struct dump *d, const struct dump_lock *l)
{
	CHECK(l->nframes <= LC_LOCK_FIRST_FRAMES && l->kind < LC_NKINDS);
	touch(l, sizeof(*l));
	walk_pcs(d, l->pcs, l->nframes);
	const struct dump_lock *found = dump_lock_of(d, l->addr);
	CHECK(found >= d->locks && found < d->locks + d->nlocks && found->addr == l->addr);
}

/* dump_sum is a view's sentinel plus its buckets (wrapping, as unsigned),
 * and the views together are every bucket and every lost entry. */
static void check_sums(const struct dump *d)
{
	uint64_t all_c = 0, all_t = 0, bc = 0, bt = 0;
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t c, t, lc, lt;
		dump_sum(d, (enum lc_view)v, &c, &t);
		dump_lost_sum(d, (enum lc_view)v, &lc, &lt);
		for (size_t i = 0; i < d->nbuckets; i++) {
			if (d->buckets[i].view == v) {
				lc += d->buckets[i].count;
				lt += d->buckets[i].delay_ns;
			}
		}
		CHECK(c == lc && t == lt);
		CHECK(!dump_view_conserved(d, (enum lc_view)v) || d->have_totals);
		all_c += c;
		all_t += t;
	}
	for (size_t i = 0; i < d->nbuckets; i++) {
		bc += d->buckets[i].count;
		bt += d->buckets[i].delay_ns;
	}
	for (int v = 0; v < LC_NVIEWS; v++) {
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			bc += d->lost[v][r].count;
			bt += d->lost[v][r].delay_ns;
		}
	}
	CHECK(all_c == bc && all_t == bt);
}

static void check_model(const struct dump *d, size_t len)
{
	CHECK(d->have_meta && d->exe != NULL && d->meta.exe_len <= LC_DUMP_MAX_PATH);
	touch(d->exe, (size_t)d->meta.exe_len + 1);
	CHECK(d->version_major == LC_DUMP_VERSION_MAJOR);
	CHECK(d->nmodules == 0 || d->modules != NULL);
	CHECK(d->nbuckets == 0 || d->buckets != NULL);
	CHECK(d->nlocks == 0 || d->locks != NULL);
	/* One LOST record per view at most, and have_lost says whether any. */
	CHECK(d->lost_views < 1u << LC_NVIEWS && d->have_lost == (d->lost_views != 0));
	/* Every record before the trailer is counted exactly once (1: meta). */
	CHECK(d->records == 1 + d->nmodules + d->nbuckets + d->nlocks +
	                        (size_t)__builtin_popcount(d->lost_views) + d->have_totals +
	                        d->skipped);
	check_line(d->warning, sizeof(d->warning), d->complete);
	if (d->complete)
		CHECK(d->have_lost && d->have_totals && d->stop_offset == len);
	else /* records start at 16 and are padded to 8 */
		CHECK(d->stop_offset >= 16 && d->stop_offset <= len && d->stop_offset % 8 == 0);
	for (size_t i = 0; i < d->nmodules; i++)
		walk_module(d, &d->modules[i]);
	for (size_t i = 0; i < d->nbuckets; i++)
		walk_bucket(d, &d->buckets[i]);
	for (size_t i = 0; i < d->nlocks; i++)
		walk_lock(d, &d->locks[i]);
	check_sums(d);
}

/* A failed parse leaves nothing behind (dump_free zeroes the model). */
static void check_failure(const struct dump *d, const char *err, size_t errlen)
{
	static const struct dump zero;
	check_line(err, errlen, false);
	CHECK(memcmp(d, &zero, sizeof(zero)) == 0);
}

/* Parse len bytes; 1 if the result is a complete dump. */
static int parse_once(const uint8_t *data, size_t len)
{
	struct dump d;
	char err[256];
	memset(err, 0xa5, sizeof(err)); /* an unterminated message shows */
	int rc = dump_parse(data, len, &d, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		check_failure(&d, err, sizeof(err));
		return 0;
	}
	check_model(&d, len);
	int complete = d.complete;
	dump_free(&d);
	return complete;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!parse_once(data, size))
		return 0;
	/* A complete dump (so more than a header) cut by one byte must never
	 * read as complete; the copy is exactly size - 1 bytes so ASan
	 * catches a read past it. */
	uint8_t *cut = malloc(size - 1);
	CHECK(cut != NULL);
	memcpy(cut, data, size - 1);
	CHECK(parse_once(cut, size - 1) == 0);
	free(cut);
	return 0;
}
