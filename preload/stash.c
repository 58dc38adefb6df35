/*
 * stash.c — the keep-one rule (see stash.h for the contract).
 */
#include "stash.h"

#include <string.h>

uint64_t stash_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

bool stash_same(const struct stash *s)
{
	return event_key_equal(&s->key, &s->spare_key) && s->nframes == s->spare_n &&
	       memcmp(s->frames[s->cur], s->frames[s->cur ^ 1], s->nframes * sizeof(uintptr_t)) ==
	           0;
}

static void stash_take_spare(struct stash *s, uint64_t count, uint64_t delay_ns, uint64_t max_ns)
{
	s->cur ^= 1;
	s->nframes = s->spare_n;
	s->key = s->spare_key;
	s->count = count;
	s->delay_ns = delay_ns;
	s->max_ns = max_ns;
}

bool stash_offer(struct stash *s, uint64_t count, uint64_t delay_ns, uint64_t max_ns, uint64_t *rng,
                 uint64_t *lost_count, uint64_t *lost_delay)
{
	*lost_count = 0;
	*lost_delay = 0;
	if (!stash_full(s)) {
		stash_take_spare(s, count, delay_ns, max_ns);
		return true;
	}
	if (stash_same(s)) {
		s->count += count;
		s->delay_ns += delay_ns;
		s->max_ns = max_ns > s->max_ns ? max_ns : s->max_ns;
		return false;
	}
	/* +1: a zero delay is possible and must not divide by zero. */
	uint64_t old_score = stash_rand(rng) % (s->delay_ns + 1);
	uint64_t new_score = stash_rand(rng) % (delay_ns + 1);
	if (old_score > new_score) {
		*lost_count = count;
		*lost_delay = delay_ns;
		return false;
	}
	*lost_count = s->count;
	*lost_delay = s->delay_ns;
	stash_take_spare(s, count, delay_ns, max_ns);
	return true;
}

void stash_clear(struct stash *s)
{
	s->count = 0;
	s->delay_ns = 0;
	s->max_ns = 0;
	s->nframes = 0;
	s->key = (struct event_key){0};
}
