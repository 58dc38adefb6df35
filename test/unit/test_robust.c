/*
 * test_robust.c — the symbolizer survives a damaged real profile.
 *
 * Real profiles (the fuzz seeds test/fuzz/corpus/known_wait.raw, complete,
 * and died.raw, whose writer died: mkcorpus.sh makes them under the
 * preload; and the same two of a 3.0 writer, kept) are cut at every record
 * boundary and one byte either side, and take a few thousand seeded random
 * damages (several bit flips, a byte run overwritten, a cut); the 3.0
 * complete one, a sixth of a current one's size (no series, threads or
 * writer), has every single bit flipped in turn.  Each
 * result is parsed; whatever parses goes on through the whole symbolizer
 * (what became of its writer, libdwfl, the lock names, the text, HTML,
 * folded and pprof reports) — all of it for the cuts and a sample of the
 * rest, so the test stays quick.  The reader must return, with one line if
 * it refuses; nothing may crash.  Built as a unit test it checks that much;
 * `make fuzz` also builds and runs it with AddressSanitizer and
 * UndefinedBehaviorSanitizer (build/fuzz/test_robust), which catch any
 * read out of bounds or of freed memory on the way.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "profile.h"
#include "report.h"
#include "report_pprof.h"
#include "resolve.h"
#include "viewkind.h"

/* ---- the real profiles ------------------------------------------------------ */

static uint8_t *real;
static size_t real_len;

/* test/fuzz/corpus/NAME, found from this file's own path. */
static void load(const char *name)
{
	char path[4096];
	const char *unit = strstr(__FILE__, "unit/test_robust.c");
	cr_assert_not_null(unit);
	snprintf(path, sizeof(path), "%.*sfuzz/corpus/%s", (int)(unit - __FILE__), __FILE__, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		cr_skip_test("no %s (run from the repository root)", path);
	real = malloc(1 << 20);
	real_len = fread(real, 1, 1 << 20, f);
	fclose(f);
	cr_assert_gt(real_len, 16, "%s is empty", path);
}

static void unload(void)
{
	free(real);
	real = NULL;
}

TestSuite(robust, .fini = unload);

/* Record starts, the first after the header, while they tile the file. */
static size_t record_starts(uint64_t *off, size_t max)
{
	size_t n = 0;
	uint64_t o = sizeof(struct lc_dump_header);
	while (o + 8 <= real_len && n < max) {
		uint32_t type, size;
		memcpy(&type, real + o, 4);
		memcpy(&size, real + o + 4, 4);
		if (type == 0)
			break;
		off[n++] = o;
		o += 8 + lc_dump_pad(size);
	}
	cr_assert_gt(n, 10, "not a real profile: %zu records", n);
	return n;
}

/* ---- the whole symbolizer ------------------------------------------------------ */

static FILE *no_maps(uint64_t pid)
{
	(void)pid;
	return NULL;
}

static bool not_alive(uint64_t pid)
{
	(void)pid;
	return false;
}

static uint64_t fixed_now(void)
{
	return 1700000002500000000ull;
}

static const struct dumpstatus_sys fake = {no_maps, not_alive, fixed_now};

/* Every report of d, into a memory stream that is thrown away. */
static void symbolize(const struct dump *d)
{
	struct dump_status st;
	dumpstatus_of(d, NULL, &fake, &st);
	struct profile p;
	struct resolve_opts o = {.demangle = true};
	cr_assert_eq(profile_build(&p, d, 1, &o, VIEWKIND_ALL_KINDS, NULL), 0);
	const char *path = "damaged.raw";
	char *out = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct report_input in = {&p, d, &path, 1, 5, PROF_DELAY, -1, &st, 0, false, 0, NULL};
	report_text_write(&in, f);
	report_html_write(&in, f);
	in.view = LC_VIEW_HOLDER;
	report_folded_write(&in, f);
	for (int v = 0; v < LC_NVIEWS; v++)
		report_pprof_write(&p, v, false, f, err, sizeof(err));
	fclose(f);
	free(out);
	profile_free(&p);
}

struct tally {
	size_t parsed, refused, symbolized;
};

/* Parse len bytes of buf (a copy exactly that long); symbolize it too if
 * asked and it parses. */
static void try_one(const uint8_t *buf, size_t len, bool full, struct tally *t)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	struct dump d;
	char err[256];
	memset(err, 0xa5, sizeof(err));
	if (dump_parse(copy, len, &d, err, sizeof(err)) != 0) {
		cr_assert(memchr(err, '\0', sizeof(err)) && err[0] && !strchr(err, '\n'),
		          "not one line");
		t->refused++;
	} else {
		t->parsed++;
		if (full) {
			symbolize(&d);
			t->symbolized++;
		}
		dump_free(&d);
	}
	free(copy);
}

/* ---- the damages ----------------------------------------------------------------- */

static void cuts(void)
{
	uint64_t off[512];
	size_t n = record_starts(off, 512);
	struct tally t = {0};
	for (size_t i = 0; i < n; i++)
		for (int64_t k = -1; k <= 1; k++)
			if ((int64_t)off[i] + k >= 0 && off[i] + (uint64_t)k <= real_len)
				try_one(real, off[i] + (uint64_t)k, true, &t);
	try_one(real, real_len, true, &t);
	cr_assert_gt(t.symbolized, n, "most cuts parse: %zu of %zu", t.symbolized, 3 * n);
}

Test(robust, cut_at_every_record_boundary)
{
	load("known_wait.raw");
	cuts();
	unload();
	load("died.raw");
	cuts();
	unload();
	load("known_wait-3.0.raw");
	cuts();
	unload();
	load("died-3.0.raw");
	cuts();
}

Test(robust, every_bit_flipped, .timeout = 120)
{
	load("known_wait-3.0.raw");
	struct tally t = {0};
	uint8_t *buf = malloc(real_len);
	for (size_t bit = 0; bit < real_len * 8; bit++) {
		memcpy(buf, real, real_len);
		buf[bit / 8] ^= (uint8_t)(1u << bit % 8);
		try_one(buf, real_len, bit % 509 == 0, &t);
	}
	free(buf);
	cr_assert(t.parsed > 0 && t.refused > 0, "parsed %zu, refused %zu", t.parsed, t.refused);
}

/* xorshift64*: the same damages every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

/* A few bit flips, sometimes a run of random bytes, sometimes a cut. */
static size_t damage(uint8_t *buf, size_t len)
{
	for (int n = 1 + (int)(rnd() % 8); n > 0; n--) {
		size_t at = rnd() % len;
		buf[at] ^= (uint8_t)(1u << rnd() % 8);
	}
	if (rnd() % 4 == 0) {
		size_t at = rnd() % len, run = 1 + rnd() % 16;
		for (size_t i = at; i < len && i < at + run; i++)
			buf[i] = (uint8_t)rnd();
	}
	return rnd() % 3 == 0 ? rnd() % (len + 1) : len;
}

static void random_damages(const char *name, int rounds)
{
	load(name);
	struct tally t = {0};
	uint8_t *buf = malloc(real_len);
	for (int i = 0; i < rounds; i++) {
		memcpy(buf, real, real_len);
		size_t len = damage(buf, real_len);
		try_one(buf, len, i % 64 == 0, &t);
	}
	free(buf);
	unload();
	cr_assert(t.parsed > 0 && t.refused > 0, "%s: parsed %zu, refused %zu", name, t.parsed,
	          t.refused);
}

Test(robust, seeded_random_damage, .timeout = 120)
{
	random_damages("known_wait.raw", 3000);
	random_damages("died.raw", 3000);
}
