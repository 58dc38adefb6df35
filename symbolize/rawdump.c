/*
 * rawdump.c — lockcontend-rawdump: print a raw dump as text, unsymbolized.
 *
 *   lockcontend-rawdump FILE...
 *
 * A debugging aid and the tests' window into a dump until (and beside) the
 * symbolizer: every record, frames as module+0xoffset, and a conservation
 * check of buckets + sentinel against the independent totals.
 * Exit status: 0 all files complete and conserved, 1 a file could not be
 * read (one line on stderr), 2 a file was cut short or did not add up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dumpread.h"

static const char *const lost_names[LC_LOST_NREASONS] = {
    "evicted", "arena_full", "reentrant", "no_stacks", "no_stack", "no_slot",
};

static void print_frame(const struct dump *d, uint64_t pc)
{
	const struct dump_module *m = dump_module_of(d, pc);
	if (m)
		printf(" %#" PRIx64 "(%s+%#" PRIx64 ")", pc, m->path, pc - m->load_bias);
	else
		printf(" %#" PRIx64 "(?)", pc);
}

static void print_modules(const struct dump *d)
{
	for (size_t i = 0; i < d->nmodules; i++) {
		const struct dump_module *m = &d->modules[i];
		printf("module %u bias %#" PRIx64 " build-id ", m->id, m->load_bias);
		for (uint32_t k = 0; k < m->build_id_len; k++)
			printf("%02x", m->build_id[k]);
		printf("%s %s segments %u\n", m->build_id_len ? "" : "-", m->path, m->nsegments);
	}
}

static void print_buckets(const struct dump *d)
{
	for (size_t i = 0; i < d->nbuckets; i++) {
		const struct dump_bucket *b = &d->buckets[i];
		printf("bucket count %" PRIu64 " delay_ns %" PRIu64 " flags%s%s%s frames %u:", b->count,
		       b->delay_ns, b->flags ? "" : " -", b->flags & LC_BUCKET_TRUNCATED ? " truncated" : "",
		       b->flags & LC_BUCKET_TIMEDOUT ? " timedout" : "", b->nframes);
		for (uint32_t k = 0; k < b->nframes; k++)
			print_frame(d, b->pcs[k]);
		printf("\n");
	}
}

/* Returns true if buckets + sentinel equal the totals. */
static bool print_summary(const struct dump *d)
{
	uint64_t lc, ld, sc, sd;
	dump_lost_sum(d, &lc, &ld);
	printf("sentinel %s count %" PRIu64 " delay_ns %" PRIu64 "\n", LC_SENTINEL_NAME, lc, ld);
	for (int r = 0; r < LC_LOST_NREASONS; r++)
		printf("lost %s count %" PRIu64 " delay_ns %" PRIu64 "\n", lost_names[r], d->lost[r].count,
		       d->lost[r].delay_ns);
	const struct lc_rec_totals *t = &d->totals;
	printf("totals contentions %" PRIu64 " delay_ns %" PRIu64 " timeouts %" PRIu64
	       " buckets %" PRIu64 " modules %" PRIu64 " stacks_refused %" PRIu64
	       " threads_unread %" PRIu64 " threads_seen %" PRIu64 "\n",
	       t->contentions, t->delay_ns, t->timeouts, t->buckets, t->modules, t->stacks_refused,
	       t->threads_unread, t->threads_seen);
	dump_sum(d, &sc, &sd);
	bool ok = d->have_totals && sc == t->contentions && sd == t->delay_ns &&
	          t->buckets == d->nbuckets && t->modules == d->nmodules;
	printf("check buckets+sentinel count %" PRIu64 " delay_ns %" PRIu64 ": %s\n", sc, sd,
	       ok ? "conserved" : "MISMATCH");
	return ok;
}

static int rawdump_file(const char *path)
{
	struct dump d;
	char err[512];
	if (dump_read_file(path, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "lockcontend-rawdump: %s: %s\n", path, err);
		return 1;
	}
	const struct lc_rec_meta *m = &d.meta;
	printf("file %s\nversion %u.%u %s\n", path, d.version_major, d.version_minor,
	       d.complete ? "complete" : "INCOMPLETE");
	if (!d.complete)
		printf("warning %s\n", d.warning);
	printf("pid %" PRIu64 " exe %s\n", m->pid, d.exe);
	printf("duration_ns %" PRIu64 " rate %u depth %u stacks %s clock %s\n",
	       m->end_mono_ns - m->start_mono_ns, m->rate, m->depth,
	       m->flags & LC_META_STACKS ? "on" : "off",
	       m->clock == LC_CLOCK_MONOTONIC ? "monotonic" : "unknown");
	printf("arena used %" PRIu64 " of %" PRIu64 "\n", m->arena_used, m->arena_bytes);
	print_modules(&d);
	print_buckets(&d);
	bool ok = d.complete ? print_summary(&d) : (print_summary(&d), false);
	dump_free(&d);
	return ok ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "usage: lockcontend-rawdump FILE...\n");
		return argc < 2 ? 1 : 0;
	}
	int worst = 0;
	for (int i = 1; i < argc; i++) {
		int rc = rawdump_file(argv[i]);
		if (rc == 1 || (rc == 2 && worst == 0))
			worst = rc;
	}
	return worst;
}
