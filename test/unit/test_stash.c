/*
 * test_stash.c — the per-thread stash and its keep-one rule (preload/stash.c).
 *
 * Tests: the first offer fills the stash; the same stack and event key
 * adds; a different stack (frames or depth) or key (lock, view, kind,
 * flags or module epoch) triggers the weighted draw, which charges the loser's own count
 * and delay and keeps the winner's key, frames and max, and conserves count
 * and delay exactly (kept + lost + merged == offered, checked after each of
 * 100k random offers against a model of which event must be kept, max
 * included); max_ns is a max, not a sum or the last value; the draw favours
 * the larger delay about as often as the rule says (fixed seeds, bounds many
 * standard deviations wide), survives zero delays, and keeps the right
 * frames across the spare/cur buffer flip.  stash_rand never repeats a value
 * back to back and never reaches the zero state.
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

#define LOCK_A 0x7f0000001000u
#define LOCK_B 0x7f0000002040u

/* The key most tests use: a wait for LOCK_A, a mutex, these flags. */
static struct event_key wait_key(uint32_t flags)
{
	return (struct event_key){
	    .lock = LOCK_A, .flags = flags, .view = LC_VIEW_WAIT, .kind = LC_KIND_MUTEX};
}

/* Unwind `pcs` into the spare buffer, then offer it under `key`. */
static struct lost offer_key(struct stash *s, const uintptr_t *pcs, uint32_t n,
                             struct event_key key, uint64_t count, uint64_t delay,
                             uint64_t max, uint64_t *rng)
{
	struct lost l = {0xdead, 0xbeef}; /* must be overwritten */
	memcpy(stash_spare(s), pcs, n * sizeof(*pcs));
	s->spare_n = n;
	s->spare_key = key;
	stash_offer(s, count, delay, max, rng, &l.count, &l.delay);
	return l;
}

/* One wait per offer: its max is its delay. */
static struct lost offer(struct stash *s, const uintptr_t *pcs, uint32_t n, uint32_t flags,
                         uint64_t count, uint64_t delay, uint64_t *rng)
{
	return offer_key(s, pcs, n, wait_key(flags), count, delay, delay, rng);
}

static bool key_eq(const struct event_key *a, const struct event_key *b)
{
	return a->lock == b->lock && a->flags == b->flags && a->view == b->view &&
	       a->kind == b->kind && a->epoch == b->epoch;
}

static void assert_kept_key(const struct stash *s, const uintptr_t *pcs, uint32_t n,
                            struct event_key key)
{
	cr_assert_eq(s->nframes, n, "kept %u frames, expected %u", s->nframes, n);
	cr_assert(key_eq(&s->key, &key),
	          "kept key {lock %#lx flags %u view %u kind %u epoch %u}, expected "
	          "{%#lx %u %u %u %u}",
	          (unsigned long)s->key.lock, s->key.flags, s->key.view, s->key.kind,
	          s->key.epoch, (unsigned long)key.lock, key.flags, key.view, key.kind, key.epoch);
	cr_assert_arr_eq(stash_frames(s), pcs, n * sizeof(*pcs), "kept the wrong frames");
}

static void assert_kept(const struct stash *s, const uintptr_t *pcs, uint32_t n, uint32_t flags)
{
	assert_kept_key(s, pcs, n, wait_key(flags));
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
static void assert_one_charged(const uintptr_t *pcs, uint32_t n, struct event_key key)
{
	uint64_t rng = 99;
	stash_setup();
	offer(&st, A, 4, 0, 1, 100, &rng);
	struct lost l = offer_key(&st, pcs, n, key, 1, 100, 100, &rng);
	cr_assert_eq(l.count, 1, "a different stack or key must be charged, not added");
	cr_assert_eq(l.delay, 100);
	cr_assert_eq(st.count, 1);
}

Test(stash, different_frames_or_depth_do_not_add)
{
	uintptr_t a2[4];
	memcpy(a2, A, sizeof(a2));
	a2[3]++;
	assert_one_charged(a2, 4, wait_key(0)); /* last frame differs */
	assert_one_charged(A, 3, wait_key(0));  /* a prefix of A */
	assert_one_charged(B, 3, wait_key(0));
}

/* The same frames as the kept event, a key differing in one field. */
Test(stash, same_frames_other_lock_view_kind_flags_or_epoch_do_not_add)
{
	struct event_key k[6];
	for (int i = 0; i < 6; i++)
		k[i] = wait_key(0);
	k[0].lock = LOCK_B;
	k[1].view = LC_VIEW_HOLDER;
	k[2].view = LC_VIEW_HOLD;
	k[3].kind = LC_KIND_RDLOCK;
	k[4].flags = LC_BUCKET_TIMEDOUT;
	k[5].epoch = 1; /* the same addresses after a dlclose: maybe another object */
	for (int i = 0; i < 6; i++)
		assert_one_charged(A, 4, k[i]);
	/* and the control: an equal key, built apart, adds */
	uint64_t rng = 99;
	stash_setup();
	offer(&st, A, 4, 0, 1, 100, &rng);
	struct lost l = offer_key(&st, A, 4, wait_key(0), 1, 100, 100, &rng);
	cr_assert_eq(l.count, 0, "an equal key was charged");
	cr_assert_eq(st.count, 2);
}

/* max_ns is the longest single event: a max, not a sum, nor the last. */
Test(stash, max_is_kept_as_a_max)
{
	static const uint64_t mx[] = {50, 300, 100, 0, 299};
	uint64_t rng = 7;
	offer_key(&st, A, 4, wait_key(0), 1, 50, mx[0], &rng);
	cr_assert_eq(st.max_ns, 50, "first offer: max %llu", (unsigned long long)st.max_ns);
	for (size_t i = 1; i < sizeof(mx) / sizeof(mx[0]); i++) {
		struct lost l = offer_key(&st, A, 4, wait_key(0), 1, mx[i], mx[i], &rng);
		cr_assert_eq(l.count, 0);
		cr_assert_eq(st.max_ns, 300, "after max %llu: max %llu", (unsigned long long)mx[i],
		             (unsigned long long)st.max_ns);
	}
	cr_assert_eq(st.delay_ns, 749, "delays add up while the max does not");
	stash_clear(&st);
	cr_assert_eq(st.max_ns, 0, "clear kept the max");
	offer_key(&st, B, 3, wait_key(0), 1, 20, 20, &rng);
	cr_assert_eq(st.max_ns, 20, "a refilled stash kept an old max");
}

/* Same frames, keys differing only in the lock, and counts, delays and
 * maxes that tell the two events apart: whichever survives, the stash holds
 * all of its own (key, count, delay, max) and the other is charged in full.
 * Both outcomes must occur over the trials. */
Test(stash, keep_one_charges_the_loser_and_keeps_the_winner_whole)
{
	struct event_key old_key = wait_key(0), new_key = wait_key(0);
	new_key.lock = LOCK_B;
	uint64_t rng = 0x5DEECE66Dull;
	int old_kept = 0, new_kept = 0;
	for (int i = 0; i < 2000; i++) {
		stash_setup();
		offer_key(&st, A, 4, old_key, 3, 3000, 2500, &rng);
		struct lost l = offer_key(&st, A, 4, new_key, 5, 5000, 1200, &rng);
		if (st.key.lock == LOCK_A) {
			old_kept++;
			assert_kept_key(&st, A, 4, old_key);
			cr_assert(l.count == 5 && l.delay == 5000, "old kept, lost %llu/%llu",
			          (unsigned long long)l.count, (unsigned long long)l.delay);
			cr_assert(st.count == 3 && st.delay_ns == 3000 && st.max_ns == 2500,
			          "old kept, but not whole: %llu/%llu/%llu",
			          (unsigned long long)st.count, (unsigned long long)st.delay_ns,
			          (unsigned long long)st.max_ns);
		} else {
			new_kept++;
			assert_kept_key(&st, A, 4, new_key);
			cr_assert(l.count == 3 && l.delay == 3000, "new kept, lost %llu/%llu",
			          (unsigned long long)l.count, (unsigned long long)l.delay);
			cr_assert(st.count == 5 && st.delay_ns == 5000 && st.max_ns == 1200,
			          "new kept, but not whole: %llu/%llu/%llu",
			          (unsigned long long)st.count, (unsigned long long)st.delay_ns,
			          (unsigned long long)st.max_ns);
		}
	}
	cr_assert(old_kept > 100 && new_kept > 100, "old kept %d, new kept %d of 2000", old_kept,
	          new_kept);
}

/* The model: what the stash must hold after each offer. */
struct model {
	int kept; /* index of the kept event, -1 if empty */
	uint64_t kept_count, kept_delay, kept_max;
	uint64_t offered_count, offered_delay;
	uint64_t lost_count, lost_delay;
	uint64_t merged_count, merged_delay;
};

/* Ten events: six frame sets; 1 and 2 share frames and differ in their
 * flags; 5 to 9 share frames and differ in lock, view, kind or epoch. */
#define NFRAMESETS 6
#define NEVENTS 10
static uintptr_t stacks[NFRAMESETS][LC_DUMP_MAX_DEPTH];
static const struct {
	int frames;
	uint32_t depth;
	struct event_key key;
} ev[NEVENTS] = {
    {0, 1, {.lock = LOCK_A}},
    {1, 2, {.lock = LOCK_A}},
    {1, 2, {.lock = LOCK_A, .flags = LC_BUCKET_TIMEDOUT}},
    {3, 16, {.lock = LOCK_A}},
    {4, LC_DUMP_MAX_DEPTH, {.lock = LOCK_A, .flags = LC_BUCKET_TRUNCATED}},
    {5, 5, {.lock = LOCK_A}},
    {5, 5, {.lock = LOCK_B}},
    {5, 5, {.lock = LOCK_A, .view = LC_VIEW_HOLDER}},
    {5, 5, {.lock = LOCK_A, .kind = LC_KIND_WRLOCK}},
    {5, 5, {.lock = LOCK_A, .epoch = 3}},
};

static void make_stacks(void)
{
	for (int k = 0; k < NFRAMESETS; k++)
		for (uint32_t i = 0; i < LC_DUMP_MAX_DEPTH; i++)
			stacks[k][i] = 0x400000 + 0x10 * i + (uintptr_t)k;
}

static bool stash_holds(int k)
{
	return st.nframes == ev[k].depth && key_eq(&st.key, &ev[k].key) &&
	       memcmp(stash_frames(&st), stacks[ev[k].frames],
	              ev[k].depth * sizeof(uintptr_t)) == 0;
}

/* Which of the two survived, and was the other one charged in full? */
static void model_draw(struct model *m, int k, uint64_t cnt, uint64_t dly, uint64_t mx,
                       struct lost l)
{
	if (stash_holds(m->kept)) {
		cr_assert(l.count == cnt && l.delay == dly, "old kept, but new not charged");
	} else {
		cr_assert(stash_holds(k), "the stash holds neither the old nor the new event");
		cr_assert(l.count == m->kept_count && l.delay == m->kept_delay,
		          "new kept, but old not charged");
		m->kept = k;
		m->kept_count = cnt;
		m->kept_delay = dly;
		m->kept_max = mx;
	}
}

static void model_step(struct model *m, int k, uint64_t cnt, uint64_t dly, uint64_t mx,
                       struct lost l)
{
	m->offered_count += cnt;
	m->offered_delay += dly;
	m->lost_count += l.count;
	m->lost_delay += l.delay;
	if (m->kept < 0 || m->kept == k) {
		cr_assert(l.count == 0 && l.delay == 0, "charged an empty stash or the same event");
		cr_assert(stash_holds(k), "the stash does not hold the event just offered");
		m->kept = k;
		m->kept_count += cnt;
		m->kept_delay += dly;
		m->kept_max = mx > m->kept_max ? mx : m->kept_max;
	} else {
		model_draw(m, k, cnt, dly, mx, l);
	}
	cr_assert(st.count == m->kept_count && st.delay_ns == m->kept_delay);
	cr_assert_eq(st.max_ns, m->kept_max, "max %llu, expected %llu",
	             (unsigned long long)st.max_ns, (unsigned long long)m->kept_max);
	cr_assert_eq(st.count + m->lost_count + m->merged_count, m->offered_count,
	             "count not conserved");
	cr_assert_eq(st.delay_ns + m->lost_delay + m->merged_delay, m->offered_delay,
	             "delay not conserved");
}

Test(stash, conservation_and_right_frames_over_100k_offers)
{
	struct model m = {.kept = -1};
	uint64_t rng = 0x9E3779B97F4A7C15ull;
	int same = 0;
	make_stacks();
	srandom(42);
	for (int i = 0; i < 100000; i++) {
		int k = (int)(random() % NEVENTS);
		uint64_t cnt = 1 + (uint64_t)(random() % 10);
		uint64_t dly = (random() % 8 == 0) ? 0 : (uint64_t)random() % 5000000;
		uint64_t mx = (uint64_t)random() % 5000000;
		same += m.kept == k;
		struct lost l = offer_key(&st, stacks[ev[k].frames], ev[k].depth, ev[k].key, cnt,
		                          dly, mx, &rng);
		model_step(&m, k, cnt, dly, mx, l);
		if (random() % 50 == 0) { /* a merge into the table */
			m.merged_count += st.count;
			m.merged_delay += st.delay_ns;
			stash_clear(&st);
			cr_assert(!stash_full(&st));
			cr_assert_eq(st.max_ns, 0);
			m.kept = -1;
			m.kept_count = m.kept_delay = m.kept_max = 0;
		}
	}
	cr_assert_gt(m.lost_count, 0, "the draw never charged anything");
	cr_assert_gt(same, 1000, "only %d offers added to the kept event", same);
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
