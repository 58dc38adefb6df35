/*
 * test_stash.c — the per-thread stash and its keep-one rule (preload/stash.c).
 *
 * Tests: the first offer fills the stash; the same stack (and flags) adds;
 * a different stack (frames, depth or flags) triggers the weighted draw,
 * which conserves count and delay exactly (kept + lost + merged == offered,
 * checked after each of 100k random offers against a model of which stack
 * must be kept), favours the larger delay about as often as the rule says
 * (fixed seeds, bounds many standard deviations wide), survives zero delays,
 * and keeps the right frames across the spare/cur buffer flip.  stash_rand
 * never repeats a value back to back and never reaches the zero state.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stash.h"

static struct stash st;

static void stash_setup(void)
{
	memset(&st, 0, sizeof(st));
}

TestSuite(stash, .init = stash_setup);

struct lost {
	uint64_t count, delay;
};

/* Unwind `pcs` into the spare buffer, then offer it. */
static struct lost offer(struct stash *s, const uintptr_t *pcs, uint32_t n, uint32_t flags,
                         uint64_t count, uint64_t delay, uint64_t *rng)
{
	struct lost l = {0xdead, 0xbeef}; /* must be overwritten */
	memcpy(stash_spare(s), pcs, n * sizeof(*pcs));
	s->spare_n = n;
	s->spare_flags = flags;
	stash_offer(s, count, delay, rng, &l.count, &l.delay);
	return l;
}

static void assert_kept(const struct stash *s, const uintptr_t *pcs, uint32_t n, uint32_t flags)
{
	cr_assert_eq(s->nframes, n, "kept %u frames, expected %u", s->nframes, n);
	cr_assert_eq(s->flags, flags);
	cr_assert_arr_eq(stash_frames(s), pcs, n * sizeof(*pcs), "kept the wrong frames");
}

static const uintptr_t A[] = {0x401000, 0x401100, 0x401200, 0x401300};
static const uintptr_t B[] = {0x402000, 0x402100, 0x402200};

Test(stash, first_offer_fills)
{
	uint64_t rng = 1, rng0 = rng;
	cr_assert(!stash_full(&st));
	struct lost l = offer(&st, A, 4, LC_BUCKET_TRUNCATED, 3, 700, &rng);
	cr_assert(l.count == 0 && l.delay == 0, "first offer lost %llu", (unsigned long long)l.count);
	cr_assert(stash_full(&st));
	cr_assert_eq(st.count, 3);
	cr_assert_eq(st.delay_ns, 700);
	assert_kept(&st, A, 4, LC_BUCKET_TRUNCATED);
	cr_assert_eq(rng, rng0, "no draw needed, none made");
}

Test(stash, same_stack_adds)
{
	uint64_t rng = 7;
	offer(&st, A, 4, 0, 1, 100, &rng);
	for (int i = 0; i < 10; i++) {
		struct lost l = offer(&st, A, 4, 0, 2, 50, &rng);
		cr_assert(l.count == 0 && l.delay == 0);
	}
	cr_assert_eq(st.count, 21);
	cr_assert_eq(st.delay_ns, 600);
	assert_kept(&st, A, 4, 0);
}

/* Offer A then `other`; the draw must charge exactly one of them. */
static void assert_one_charged(const uintptr_t *pcs, uint32_t n, uint32_t flags)
{
	uint64_t rng = 99;
	stash_setup();
	offer(&st, A, 4, 0, 1, 100, &rng);
	struct lost l = offer(&st, pcs, n, flags, 1, 100, &rng);
	cr_assert_eq(l.count, 1, "a different stack must be charged, not added");
	cr_assert_eq(l.delay, 100);
	cr_assert_eq(st.count, 1);
}

Test(stash, different_frames_depth_or_flags_do_not_add)
{
	uintptr_t a2[4];
	memcpy(a2, A, sizeof(a2));
	a2[3]++;
	assert_one_charged(a2, 4, 0);             /* last frame differs */
	assert_one_charged(A, 3, 0);              /* a prefix of A */
	assert_one_charged(A, 4, LC_BUCKET_TIMEDOUT); /* same frames, other flags */
	assert_one_charged(B, 3, 0);
}

/* The model: what the stash must hold after each offer. */
struct model {
	int kept; /* index of the kept stack, -1 if empty */
	uint64_t kept_count, kept_delay;
	uint64_t offered_count, offered_delay;
	uint64_t lost_count, lost_delay;
	uint64_t merged_count, merged_delay;
};

#define NSTACKS 6
static uintptr_t stacks[NSTACKS][LC_DUMP_MAX_DEPTH];
static const uint32_t depths[NSTACKS] = {1, 2, 2, 16, LC_DUMP_MAX_DEPTH, 5};
static const uint32_t sflags[NSTACKS] = {0, 0, LC_BUCKET_TIMEDOUT, 0, LC_BUCKET_TRUNCATED, 0};

/* Six distinct stacks; 1 and 2 differ only in their flags. */
static void make_stacks(void)
{
	for (int k = 0; k < NSTACKS; k++)
		for (uint32_t i = 0; i < LC_DUMP_MAX_DEPTH; i++)
			stacks[k][i] = 0x400000 + 0x10 * i + (uintptr_t)(k == 2 ? 1 : k);
}

static bool stash_holds(int k)
{
	return st.nframes == depths[k] && st.flags == sflags[k] &&
	       memcmp(stash_frames(&st), stacks[k], depths[k] * sizeof(uintptr_t)) == 0;
}

/* Which of the two survived, and was the other one charged in full? */
static void model_draw(struct model *m, int k, uint64_t cnt, uint64_t dly, struct lost l)
{
	if (stash_holds(m->kept)) {
		cr_assert(l.count == cnt && l.delay == dly, "old kept, but new not charged");
	} else {
		cr_assert(stash_holds(k), "the stash holds neither the old nor the new stack");
		cr_assert(l.count == m->kept_count && l.delay == m->kept_delay,
		          "new kept, but old not charged");
		m->kept = k;
		m->kept_count = cnt;
		m->kept_delay = dly;
	}
}

static void model_step(struct model *m, int k, uint64_t cnt, uint64_t dly, struct lost l)
{
	m->offered_count += cnt;
	m->offered_delay += dly;
	m->lost_count += l.count;
	m->lost_delay += l.delay;
	if (m->kept < 0 || m->kept == k) {
		cr_assert(l.count == 0 && l.delay == 0, "charged an empty stash or the same stack");
		cr_assert(stash_holds(k), "the stash does not hold the stack just offered");
		m->kept = k;
		m->kept_count += cnt;
		m->kept_delay += dly;
	} else {
		model_draw(m, k, cnt, dly, l);
	}
	cr_assert(st.count == m->kept_count && st.delay_ns == m->kept_delay);
	cr_assert_eq(st.count + m->lost_count + m->merged_count, m->offered_count,
	             "count not conserved");
	cr_assert_eq(st.delay_ns + m->lost_delay + m->merged_delay, m->offered_delay,
	             "delay not conserved");
}

Test(stash, conservation_and_right_frames_over_100k_offers)
{
	struct model m = {.kept = -1};
	uint64_t rng = 0x9E3779B97F4A7C15ull;
	make_stacks();
	srandom(42);
	for (int i = 0; i < 100000; i++) {
		int k = (int)(random() % NSTACKS);
		uint64_t cnt = 1 + (uint64_t)(random() % 10);
		uint64_t dly = (random() % 8 == 0) ? 0 : (uint64_t)random() % 5000000;
		struct lost l = offer(&st, stacks[k], depths[k], sflags[k], cnt, dly, &rng);
		model_step(&m, k, cnt, dly, l);
		if (random() % 50 == 0) { /* a merge into the table */
			m.merged_count += st.count;
			m.merged_delay += st.delay_ns;
			stash_clear(&st);
			cr_assert(!stash_full(&st));
			m.kept = -1;
			m.kept_count = m.kept_delay = 0;
		}
	}
	cr_assert_gt(m.lost_count, 0, "the draw never charged anything");
}

/* Fraction of trials where the *new* event is the one charged. */
static double new_lost_rate(uint64_t old_delay, uint64_t new_delay, int trials, uint64_t seed)
{
	uint64_t rng = seed;
	int new_lost = 0;
	for (int i = 0; i < trials; i++) {
		stash_setup();
		offer(&st, A, 4, 0, 1, old_delay, &rng);
		struct lost l = offer(&st, B, 3, 0, 1, new_delay, &rng);
		cr_assert_eq(l.count, 1);
		if (st.nframes == 4) { /* A, the old one, stayed */
			new_lost++;
			assert_kept(&st, A, 4, 0);
			cr_assert(st.delay_ns == old_delay && l.delay == new_delay);
		} else {
			assert_kept(&st, B, 3, 0);
			cr_assert(st.delay_ns == new_delay && l.delay == old_delay);
		}
	}
	return (double)new_lost / trials;
}

/* Expected ~94.9%; one standard deviation over 10k trials is ~0.2%. */
Test(stash, larger_old_usually_survives)
{
	double p = new_lost_rate(1000, 100, 10000, 12345);
	cr_assert_gt(p, 0.85, "new (100ns) lost only %.3f of draws against old (1000ns)", p);
	cr_assert_lt(p, 0.99, "new lost %.3f: the draw is not random", p);
}

Test(stash, larger_new_usually_survives)
{
	double p = 1.0 - new_lost_rate(100, 1000, 10000, 54321);
	cr_assert_gt(p, 0.85, "old (100ns) lost only %.3f of draws against new (1000ns)", p);
	cr_assert_lt(p, 0.99, "old lost %.3f: the draw is not random", p);
}

Test(stash, equal_delays_are_a_coin_toss)
{
	double p = new_lost_rate(5000, 5000, 10000, 777);
	cr_assert(p > 0.40 && p < 0.60, "equal delays: new lost %.3f", p);
}

Test(stash, zero_delays_do_not_crash)
{
	static const uint64_t d[][2] = {{0, 0}, {0, 5}, {5, 0}, {0, UINT64_MAX - 1}};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		uint64_t rng = 3;
		stash_setup();
		offer(&st, A, 4, 0, 2, d[i][0], &rng);
		struct lost l = offer(&st, B, 3, 0, 3, d[i][1], &rng);
		cr_assert_eq(st.count + l.count, 5);
		cr_assert_eq(st.delay_ns + l.delay, d[i][0] + d[i][1]);
	}
}

Test(stash, buffer_flip_keeps_the_winner_and_spare_is_the_other_buffer)
{
	uint64_t rng = 11;
	int flips = 0;
	offer(&st, A, 4, 0, 1, 10, &rng);
	for (int i = 0; i < 200; i++) {
		cr_assert_neq(stash_spare(&st), stash_frames(&st), "spare aliases the kept stack");
		const uintptr_t *pcs = i % 2 ? A : B;
		uint32_t n = i % 2 ? 4 : 3, before = st.nframes;
		offer(&st, pcs, n, 0, 1, (uint64_t)(i % 7) * 100, &rng);
		if (st.nframes == 4)
			assert_kept(&st, A, 4, 0);
		else
			assert_kept(&st, B, 3, 0);
		flips += st.nframes != before;
	}
	cr_assert(flips > 20 && flips < 180, "%d flips in 200 draws", flips);
	/* Overwriting the spare (the next unwind) never touches the kept one. */
	uintptr_t keep[4];
	uint32_t n = st.nframes;
	memcpy(keep, stash_frames(&st), n * sizeof(uintptr_t));
	memset(stash_spare(&st), 0xEE, (LC_DUMP_MAX_DEPTH + STASH_SLACK) * sizeof(uintptr_t));
	cr_assert_arr_eq(stash_frames(&st), keep, n * sizeof(uintptr_t));
}

Test(stash, clear_empties_and_next_offer_fills)
{
	uint64_t rng = 5;
	offer(&st, A, 4, 0, 4, 400, &rng);
	stash_clear(&st);
	cr_assert(!stash_full(&st));
	cr_assert_eq(st.delay_ns, 0);
	struct lost l = offer(&st, B, 3, LC_BUCKET_TIMEDOUT, 1, 9, &rng);
	cr_assert_eq(l.count, 0, "an emptied stash charged something");
	assert_kept(&st, B, 3, LC_BUCKET_TIMEDOUT);
	cr_assert_eq(st.count, 1);
	cr_assert_eq(st.delay_ns, 9);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

Test(stash_rand, never_repeats_back_to_back)
{
	uint64_t seeds[64] = {1, 2, 3, UINT64_MAX, 1ull << 63, 0x9E3779B97F4A7C15ull};
	uint64_t s = 88172645463325252ull;
	for (int i = 6; i < 64; i++)
		seeds[i] = stash_rand(&s) | 1;
	for (int i = 0; i < 64; i++) {
		uint64_t state = seeds[i], prev = stash_rand(&state);
		for (int k = 0; k < 100000; k++) {
			uint64_t v = stash_rand(&state);
			cr_assert_neq(state, 0, "state reached 0 from seed %llx", (unsigned long long)seeds[i]);
			cr_assert_neq(v, prev, "value repeated from seed %llx", (unsigned long long)seeds[i]);
			prev = v;
		}
	}
}

Test(stash_rand, no_value_repeats_in_a_window)
{
	static uint64_t v[1 << 17];
	uint64_t state = 1;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		v[i] = stash_rand(&state);
	qsort(v, sizeof(v) / sizeof(v[0]), sizeof(v[0]), cmp_u64);
	for (size_t i = 1; i < sizeof(v) / sizeof(v[0]); i++)
		cr_assert_neq(v[i], v[i - 1], "value %llx came twice", (unsigned long long)v[i]);
}
