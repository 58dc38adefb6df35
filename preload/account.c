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

/* What every event adds, wherever it goes next. */
static void account_total(struct lc_rec_slot *p, const struct account_event *e)
{
	int view = e->key.view;
	p->count[view] += e->count;
	p->delay_ns[view] += e->delay_ns;
	p->uncharged_ns += e->uncharged_ns;
	if (e->key.flags & LC_BUCKET_TIMEDOUT)
		p->timeouts += e->count;
}

static void account_lost(struct lc_rec_slot *p, int view, int reason, uint64_t count,
                         uint64_t delay_ns)
{
	p->lost[view][reason].count += count;
	p->lost[view][reason].delay_ns += delay_ns;
}

void account_note(struct slot *sl, const struct account_event *e, uint32_t nframes)
{
	sl->raw_key = e->key;
	sl->raw_count = e->count;
	sl->raw_delay = e->delay_ns;
	sl->raw_max = e->max_ns;
	sl->raw_uncharged = e->uncharged_ns;
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

void account_settle(struct slot *sl, bool stacks, uint64_t *rng)
{
	if (!atomic_load_explicit(&sl->raw_valid, memory_order_acquire))
		return;
	struct account_event e = {.key = sl->raw_key,
	                          .count = sl->raw_count,
	                          .delay_ns = sl->raw_delay,
	                          .uncharged_ns = sl->raw_uncharged};
	int view = e.key.view;
	account_total(sl->pub, &e);
	int reason = account_lost_reason(sl, stacks);
	if (reason >= 0) {
		account_lost(sl->pub, view, reason, e.count, e.delay_ns);
	} else {
		uint64_t lc, ld;
		int old_view = sl->stash.key.view;
		sl->stash.spare_n = sl->raw_nframes;
		sl->stash.spare_key = e.key;
		stash_offer(&sl->stash, e.count, e.delay_ns, sl->raw_max, rng, &lc, &ld);
		/* The loser of the draw is the old event if the stash now
		 * holds the new one's key (equal keys: equal views anyway). */
		if (lc)
			account_lost(sl->pub,
			             event_key_equal(&sl->stash.key, &e.key) ? old_view : view,
			             LC_LOST_EVICTED, lc, ld);
	}
	atomic_store_explicit(&sl->raw_valid, 0, memory_order_release);
}

bool account_publish(struct slot *sl, struct stacktab *tab, const struct modmap *map)
{
	struct stash *st = &sl->stash;
	bool unknown = false;
	if (!stash_full(st))
		return false;
	enum stacktab_result r = stacktab_add(tab, &st->key, stash_frames(st), st->nframes,
	                                      st->count, st->delay_ns, st->max_ns);
	if (r == STACKTAB_FULL)
		account_lost(sl->pub, st->key.view, LC_LOST_ARENA_FULL, st->count, st->delay_ns);
	else if (r == STACKTAB_INSERTED && map)
		unknown = !modmap_covers(map, stash_frames(st), st->nframes);
	stash_clear(st);
	return unknown;
}

bool account_publish_all(struct slot *sl, struct stacktab *tab, const struct modmap *map,
                         bool stacks, uint64_t *rng)
{
	bool unknown = account_publish(sl, tab, map);
	account_settle(sl, stacks, rng);
	return account_publish(sl, tab, map) || unknown;
}

void account_lost_event(struct slot *sl, const struct account_event *e, int reason)
{
	account_total(sl->pub, e);
	account_lost(sl->pub, e->key.view, reason, e->count, e->delay_ns);
}
