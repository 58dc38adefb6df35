/*
 * account.c — the recorder's books (see account.h for the three stages and
 * the conservation rule they keep).
 *
 * Totals and lost counters are plain fields of the slot's record in the
 * profile file, written only inside the slot (slots.h), so a reader of a
 * file whose writer died still finds them in step with each other.
 */
#include "account.h"

#include <stdatomic.h>

#include "stash.h"

/* What every event adds, wherever it goes next: the slot's series (its
 * stack id, 0 if it has none), then its totals — in this order, so that a
 * writer stopped between the two leaves totals short of the series, which
 * a reader sees (series.h). */
static void account_total(struct slot *sl, const struct account_books *b,
                          const struct account_event *e, uint64_t stack)
{
	if (sl->series) {
		struct series_event ev = {.when_ns = e->when_ns,
		                          .lock = e->key.lock,
		                          .stack = stack,
		                          .count = e->count,
		                          .delay_ns = e->delay_ns,
		                          .view = e->key.view};
		series_add(sl->series, b->origin_ns, &ev);
	}
	struct lc_rec_slot *p = sl->pub;
	int view = e->key.view;
	p->count[view] += e->count;
	p->delay_ns[view] += e->delay_ns;
	p->uncharged_ns += e->uncharged_ns;
	if (e->key.flags & LC_BUCKET_TIMEDOUT)
		p->timeouts += e->count;
}

/* An event with no stack: the slot's lost, and its lock's. */
static void account_lost(struct slot *sl, const struct account_books *b,
                         const struct event_key *key, int reason, uint64_t count, uint64_t delay_ns)
{
	struct lc_lost_entry *l = &sl->pub->lost[key->view][reason];
	l->count += count;
	l->delay_ns += delay_ns;
	if (b->locks)
		lockstate_lost(b->locks, key->lock, key->view, reason, count, delay_ns);
}

void account_note(struct slot *sl, const struct account_event *e, uint32_t nframes)
{
	sl->raw_key = e->key;
	sl->raw_count = e->count;
	sl->raw_delay = e->delay_ns;
	sl->raw_max = e->max_ns;
	sl->raw_uncharged = e->uncharged_ns;
	sl->raw_when = e->when_ns;
	sl->raw_nframes = nframes;
	atomic_store_explicit(&sl->raw_valid, 1, memory_order_release);
}

/* Why the noted event goes to the sentinel, or -1: it has a stack. */
static int account_lost_reason(const struct slot *sl, bool stacks)
{
	if (!stacks)
		return LC_LOST_NO_STACKS;
	if (sl->raw_nframes == 0)
		return sl->raw_key.flags & EVENT_NO_ROOM ? LC_LOST_NO_ROOM : LC_LOST_NO_STACK;
	return -1;
}

/* The id the series names the noted event's stack by, as a reader names
 * the bucket it goes to (dumpfmt.h); only hashed when there is a series. */
static uint64_t account_stack_id(struct slot *sl)
{
	_Static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "frames are 64-bit");
	if (!sl->series)
		return 0;
	const struct event_key *k = &sl->raw_key;
	return lc_stack_id((const uint64_t *)stash_spare(&sl->stash), sl->raw_nframes, k->kind,
	                   k->flags, k->epoch);
}

void account_settle(struct slot *sl, const struct account_books *b, uint64_t *rng)
{
	if (!atomic_load_explicit(&sl->raw_valid, memory_order_acquire))
		return;
	struct account_event e = {.key = sl->raw_key,
	                          .count = sl->raw_count,
	                          .delay_ns = sl->raw_delay,
	                          .uncharged_ns = sl->raw_uncharged,
	                          .when_ns = sl->raw_when};
	int reason = account_lost_reason(sl, b->stacks);
	account_total(sl, b, &e, reason >= 0 ? 0 : account_stack_id(sl));
	if (reason >= 0) {
		account_lost(sl, b, &e.key, reason, e.count, e.delay_ns);
	} else {
		uint64_t lc, ld;
		struct event_key old = sl->stash.key;
		sl->stash.spare_n = sl->raw_nframes;
		sl->stash.spare_key = e.key;
		stash_offer(&sl->stash, e.count, e.delay_ns, sl->raw_max, rng, &lc, &ld);
		/* The loser of the draw is the old event if the stash now
		 * holds the new one's key (equal keys: they added up). */
		if (lc)
			account_lost(sl, b, event_key_equal(&sl->stash.key, &e.key) ? &old : &e.key,
			             LC_LOST_EVICTED, lc, ld);
	}
	atomic_store_explicit(&sl->raw_valid, 0, memory_order_release);
}

/* The stash into the table (known: its objects are in the map, no need to
 * look); true when a new bucket points into an object the map lacks. */
static bool account_publish_stash(struct slot *sl, const struct account_books *b, bool known)
{
	struct stash *st = &sl->stash;
	bool unknown = false;
	enum stacktab_result r = stacktab_add(b->tab, &st->key, stash_frames(st), st->nframes,
	                                      st->count, st->delay_ns, st->max_ns);
	if (r == STACKTAB_FULL)
		account_lost(sl, b, &st->key, LC_LOST_ARENA_FULL, st->count, st->delay_ns);
	else if (r == STACKTAB_INSERTED && !known && b->map)
		unknown = !modmap_covers(b->map, stash_frames(st), st->nframes);
	stash_clear(st);
	return unknown;
}

bool account_publish(struct slot *sl, const struct account_books *b)
{
	return stash_full(&sl->stash) && account_publish_stash(sl, b, false);
}

bool account_publish_all(struct slot *sl, const struct account_books *b, uint64_t *rng)
{
	bool unknown = account_publish(sl, b);
	account_settle(sl, b, rng);
	return account_publish(sl, b) || unknown;
}

/* The stash, if its stack has a bucket already (its objects are known: no
 * look at the map), or if every frame is in an object the map knows. */
static void account_publish_known(struct slot *sl, const struct account_books *b)
{
	struct stash *st = &sl->stash;
	if (!stash_full(st))
		return;
	if (stacktab_add_existing(b->tab, &st->key, stash_frames(st), st->nframes, st->count,
	                          st->delay_ns, st->max_ns))
		stash_clear(st);
	else if (!b->map || modmap_covers(b->map, stash_frames(st), st->nframes))
		(void)account_publish_stash(sl, b, true);
}

bool account_publish_held(struct slot *sl, const struct account_books *b, uint64_t *rng)
{
	account_publish_known(sl, b);
	account_settle(sl, b, rng);
	account_publish_known(sl, b);
	return stash_full(&sl->stash);
}

void account_lost_event(struct slot *sl, const struct account_books *b,
                        const struct account_event *e, int reason)
{
	account_total(sl, b, e, 0);
	account_lost(sl, b, &e->key, reason, e->count, e->delay_ns);
}
