/*
 * test_ivlcut.c — the cut of an interval (symbolize/intervals_cut.c,
 * intervals.h), on reads built by hand: one dump whose buckets are the
 * keys, and a whole-run profile per read whose samples point at them.
 *
 * What must hold, read after read: a cut gives each key what it gained
 * since the last, less what is held back; never a negative value; a read
 * that shows less than an earlier one (a torn read of a live file) gives
 * nothing and loses nothing; and the last cut, with nothing held back,
 * makes the cuts of each key add up exactly to its final value.  Samples
 * of other views go, two samples of one key share one delta, the
 * sentinel and the uncharged waiting are keys of their own.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "intervals.h"

#define NKEYS 3

static uint64_t pcs[NKEYS][2] = {{0x1000, 0x2000}, {0x1100, 0x2000}, {0x1200, 0x2000}};
static struct dump_bucket buckets[NKEYS];
static struct dump dump;

static void dump_setup(void)
{
	for (int i = 0; i < NKEYS; i++) {
		buckets[i] = (struct dump_bucket){.lock = 0x5000 + (uint64_t)i * 0x40,
		                                  .nframes = 2,
		                                  .view = LC_VIEW_WAIT,
		                                  .kind = LC_KIND_MUTEX,
		                                  .pcs = pcs[i]};
	}
	dump.buckets = buckets;
	dump.nbuckets = NKEYS;
}

/* A read: sample i of bucket i (bucket -1: the sentinel) with values
 * count[i], delay 1000 * count[i]. */
static struct profile read_of(const int64_t *count, const int64_t *bucket, size_t n, int view)
{
	struct profile p = {0};
	p.samples = calloc(n, sizeof(*p.samples));
	cr_assert(p.samples != NULL);
	p.nsamples = n;
	for (size_t i = 0; i < n; i++) {
		p.samples[i].view = (uint8_t)view;
		p.samples[i].bucket = bucket[i];
		p.samples[i].dump = 0;
		p.samples[i].value[PROF_CONTENTIONS] = count[i];
		p.samples[i].value[PROF_DELAY] = 1000 * count[i];
	}
	return p;
}

/* Cut a read of the three buckets with these counts (held: NULL or what
 * is held back of each); the cut's count per bucket into got. */
static void cut3(struct ivl_state *s, const int64_t count[NKEYS], const int64_t *held,
                 int64_t got[NKEYS])
{
	static const int64_t b[NKEYS] = {0, 1, 2};
	struct profile p = read_of(count, b, NKEYS, LC_VIEW_WAIT), h;
	if (held)
		h = read_of(held, b, NKEYS, LC_VIEW_WAIT);
	cr_assert_eq(ivl_cut(s, &p, &dump, held ? &h : NULL, LC_VIEW_WAIT), 0);
	memset(got, 0, sizeof(int64_t) * NKEYS);
	for (size_t i = 0; i < p.nsamples; i++) {
		cr_assert_gt(p.samples[i].value[PROF_CONTENTIONS], 0, "a sample left with nothing");
		cr_assert_eq(p.samples[i].value[PROF_DELAY], 1000 * p.samples[i].value[PROF_CONTENTIONS]);
		got[p.samples[i].bucket] += p.samples[i].value[PROF_CONTENTIONS];
	}
	free(p.samples);
	if (held)
		free(h.samples);
}

TestSuite(ivlcut, .init = dump_setup);

Test(ivlcut, each_cut_is_what_was_gained)
{
	struct ivl_state s = {0};
	int64_t got[NKEYS];
	cut3(&s, (int64_t[]){5, 0, 1}, NULL, got);
	cr_assert(got[0] == 5 && got[1] == 0 && got[2] == 1);
	cut3(&s, (int64_t[]){8, 2, 1}, NULL, got);
	cr_assert(got[0] == 3 && got[1] == 2 && got[2] == 0);
	cut3(&s, (int64_t[]){8, 2, 1}, NULL, got);
	cr_assert(got[0] == 0 && got[1] == 0 && got[2] == 0);
	cr_assert_eq(s.clamped, 0);
	ivl_state_free(&s);
}

Test(ivlcut, a_torn_read_gives_nothing_and_loses_nothing)
{
	struct ivl_state s = {0};
	int64_t got[NKEYS], sum[NKEYS] = {0};
	const int64_t reads[][NKEYS] = {{5, 4, 0}, {3, 4, 0}, {2, 9, 1}, {9, 9, 2}};
	static const int64_t none[NKEYS] = {0};
	for (size_t r = 0; r < 4; r++) {
		cut3(&s, reads[r], r < 3 ? none : NULL, got); /* the last holds nothing back */
		for (int k = 0; k < NKEYS; k++)
			sum[k] += got[k];
	}
	cr_assert(sum[0] == 9 && sum[1] == 9 && sum[2] == 2, "%lld %lld %lld",
	          (long long)sum[0], (long long)sum[1], (long long)sum[2]);
	cr_assert_eq(s.clamped, 0);
	ivl_state_free(&s);
}

Test(ivlcut, held_back_events_come_in_a_later_cut)
{
	struct ivl_state s = {0};
	int64_t got[NKEYS], sum[NKEYS] = {0};
	cut3(&s, (int64_t[]){10, 3, 0}, (int64_t[]){4, 5, 2}, got); /* held > have: 0 */
	cr_assert(got[0] == 6 && got[1] == 0 && got[2] == 0);
	for (int k = 0; k < NKEYS; k++)
		sum[k] += got[k];
	cut3(&s, (int64_t[]){12, 6, 1}, (int64_t[]){1, 0, 0}, got);
	cr_assert(got[0] == 5 && got[1] == 6 && got[2] == 1);
	for (int k = 0; k < NKEYS; k++)
		sum[k] += got[k];
	cut3(&s, (int64_t[]){12, 6, 1}, NULL, got); /* the last: nothing held */
	for (int k = 0; k < NKEYS; k++)
		sum[k] += got[k];
	cr_assert(sum[0] == 12 && sum[1] == 6 && sum[2] == 1);
	ivl_state_free(&s);
}

/* Random reads, each at most the final value and some below earlier ones,
 * random holds: the cuts always add up to the final values. */
Test(ivlcut, any_reads_add_up_to_the_last)
{
	srand(13);
	for (int run = 0; run < 200; run++) {
		struct ivl_state s = {0};
		int64_t final[NKEYS], sum[NKEYS] = {0}, got[NKEYS], have[NKEYS], held[NKEYS];
		for (int k = 0; k < NKEYS; k++)
			final[k] = rand() % 1000;
		for (int r = 0; r < 1 + rand() % 20; r++) {
			for (int k = 0; k < NKEYS; k++) {
				have[k] = final[k] ? rand() % (final[k] + 1) : 0;
				held[k] = rand() % 50;
			}
			cut3(&s, have, held, got);
			for (int k = 0; k < NKEYS; k++)
				sum[k] += got[k];
		}
		cut3(&s, final, NULL, got);
		for (int k = 0; k < NKEYS; k++)
			cr_assert_eq(sum[k] + got[k], final[k], "run %d key %d", run, k);
		cr_assert_eq(s.clamped, 0);
		ivl_state_free(&s);
	}
}

Test(ivlcut, other_views_go_and_one_key_shares_one_delta)
{
	struct ivl_state s = {0};
	/* buckets 0, 0 again (one key twice), the sentinel, and a holder-view
	 * sample that must go */
	struct profile p = read_of((int64_t[]){2, 3, 4, 7}, (int64_t[]){0, 0, -1, 1}, 4,
	                           LC_VIEW_WAIT);
	p.samples[3].view = LC_VIEW_HOLDER;
	cr_assert_eq(ivl_cut(&s, &p, &dump, NULL, LC_VIEW_WAIT), 0);
	cr_assert_eq(p.nsamples, 2, "%zu samples kept", p.nsamples);
	cr_assert_eq(p.samples[0].bucket, 0);
	cr_assert_eq(p.samples[0].value[PROF_CONTENTIONS], 5);
	cr_assert_eq(p.samples[1].bucket, -1);
	cr_assert_eq(p.samples[1].value[PROF_CONTENTIONS], 4);
	free(p.samples);
	/* the uncharged waiting (dump SIZE_MAX) is not the sentinel */
	p = read_of((int64_t[]){4, 6}, (int64_t[]){-1, -1}, 2, LC_VIEW_WAIT);
	p.samples[1].dump = SIZE_MAX;
	cr_assert_eq(ivl_cut(&s, &p, &dump, NULL, LC_VIEW_WAIT), 0);
	cr_assert_eq(p.nsamples, 1, "the sentinel gained nothing; the uncharged is new");
	cr_assert_eq(p.samples[0].value[PROF_CONTENTIONS], 6);
	free(p.samples);
	ivl_state_free(&s);
}
