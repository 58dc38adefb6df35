/*
 * test_slots.c — the per-thread slots (preload/slots.c): acquisition and
 * release, and the walk the dumper makes (recorder_collect).
 *
 * A regression from review: the dumper used to ask for "slot i" of a count
 * read once while the count was re-read per call, so a thread taking its
 * first slot during the dump pushed the shared overflow slot out of the
 * walk.  Now the overflow slot is named apart (slots_overflow) and never
 * moves, whatever slots_used becomes.
 *
 * The per-view records (format 2.0): totals per view and lost[view][reason]
 * survive a release and a reuse of the slot (a later thread adds to them),
 * and slots_reset (a fork child) zeroes them, with the noted event's key and
 * the stash, in every slot handed out and in the overflow slot, and touches
 * no slot beyond those.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>

#include "slots.h"

static struct arena arena;
static struct slots slots;

static void unmap(void)
{
	if (arena.base)
		munmap(arena.base, arena.size);
	memset(&arena, 0, sizeof(arena));
}

TestSuite(slots, .fini = unmap);

Test(slots, overflow_slot_stays_apart_while_slots_are_handed_out)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	cr_assert_eq(slots_init(&slots, &arena, 8), 0);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(!overflow);
	struct slot *b = slots_acquire(&slots, &overflow);
	struct slot *ovf = slots_overflow(&slots);
	uint32_t n = slots_used(&slots);
	cr_assert_eq(n, 2);
	/* the walk has started; a new thread takes a slot meanwhile */
	struct slot *c = slots_acquire(&slots, &overflow);
	cr_assert(ovf == slots_overflow(&slots));
	cr_assert(a != ovf && b != ovf && c != ovf);
	cr_assert_eq(slots_used(&slots), 3);
}

Test(slots, all_taken_gives_the_overflow_slot_and_release_frees_one)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	cr_assert_eq(slots_init(&slots, &arena, 4), 0);
	bool overflow;
	struct slot *got[4];
	for (int i = 0; i < 4; i++) {
		got[i] = slots_acquire(&slots, &overflow);
		cr_assert(!overflow);
	}
	cr_assert(slots_acquire(&slots, &overflow) == slots_overflow(&slots));
	cr_assert(overflow);
	slots_release(&slots, got[2]);
	cr_assert(slots_acquire(&slots, &overflow) == got[2]);
	cr_assert(!overflow);
	cr_assert_eq(slots_used(&slots), 4, "a reused slot does not grow the walk");
}

Test(slots, closed_slot_refuses_its_owner_and_the_shared_wait_is_bounded)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	cr_assert_eq(slots_init(&slots, &arena, 2), 0);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(slot_close(a, 1000000));
	cr_assert(!slot_enter(a, false), "a closed slot must refuse its owner");
	struct slot *ovf = slots_overflow(&slots);
	cr_assert(slot_enter(ovf, true));
	/* BUSY by "another thread" (or this one, in a signal handler): a
	 * second entry must give up after SLOT_SHARED_WAIT_NS, not hang */
	cr_assert(!slot_enter(ovf, true));
	slot_leave(ovf);
	cr_assert(slot_enter(ovf, true));
	slot_leave(ovf);
}

/* The value fill_views puts in lost[v][r] (+1: count, +2: delay_ns). */
static uint64_t lost_value(uint64_t base, int v, int r)
{
	return base + 100 * (uint64_t)v + 2 * (uint64_t)r;
}

/* Distinct non-zero values in every per-view field of sl, from `base`. */
static void fill_views(struct slot *sl, uint64_t base)
{
	for (int v = 0; v < LC_NVIEWS; v++) {
		sl->count[v] = base + 10 * (uint64_t)v + 1;
		sl->delay_ns[v] = base + 10 * (uint64_t)v + 2;
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			sl->lost[v][r].count = lost_value(base, v, r) + 1;
			sl->lost[v][r].delay_ns = lost_value(base, v, r) + 2;
		}
	}
	sl->timeouts = base + 7;
	sl->uncharged_ns = base + 8;
	sl->raw_key = (struct event_key){.lock = 0x1000 + base, .view = LC_VIEW_HOLDER, .kind = 2};
	sl->raw_max = base + 9;
	sl->stash.count = 1;
	sl->stash.max_ns = base + 10;
	sl->stash.key = sl->raw_key;
}

static void assert_views(const struct slot *sl, uint64_t base)
{
	for (int v = 0; v < LC_NVIEWS; v++) {
		cr_assert_eq(sl->count[v], base + 10 * (uint64_t)v + 1, "count[%d]", v);
		cr_assert_eq(sl->delay_ns[v], base + 10 * (uint64_t)v + 2, "delay_ns[%d]", v);
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			cr_assert_eq(sl->lost[v][r].count, lost_value(base, v, r) + 1,
			             "lost[%d][%d].count", v, r);
			cr_assert_eq(sl->lost[v][r].delay_ns, lost_value(base, v, r) + 2,
			             "lost[%d][%d].delay_ns", v, r);
		}
	}
	cr_assert_eq(sl->timeouts, base + 7);
	cr_assert_eq(sl->uncharged_ns, base + 8);
	cr_assert_eq(sl->raw_key.lock, 0x1000 + base);
	cr_assert_eq(sl->raw_max, base + 9);
	cr_assert_eq(sl->stash.max_ns, base + 10);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void assert_views_zero(const struct slot *sl, const char *which)
{
	cr_assert(all_zero(sl->count, sizeof(sl->count)), "%s: count[] not reset", which);
	cr_assert(all_zero(sl->delay_ns, sizeof(sl->delay_ns)), "%s: delay_ns[] not reset", which);
	cr_assert(all_zero(sl->lost, sizeof(sl->lost)), "%s: lost[][] not reset", which);
	cr_assert(sl->timeouts == 0 && sl->uncharged_ns == 0, "%s: timeouts/uncharged", which);
	cr_assert(all_zero(&sl->raw_key, sizeof(sl->raw_key)), "%s: raw_key not reset", which);
	cr_assert(sl->raw_max == 0, "%s: raw_max not reset", which);
	cr_assert(!stash_full(&sl->stash) && sl->stash.max_ns == 0, "%s: stash not reset", which);
	cr_assert(all_zero(&sl->stash.key, sizeof(sl->stash.key)), "%s: stash key", which);
}

Test(slots, per_view_totals_and_lost_survive_release_and_reuse)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	cr_assert_eq(slots_init(&slots, &arena, 1), 0);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	fill_views(a, 1000);
	slots_release(&slots, a);
	struct slot *b = slots_acquire(&slots, &overflow);
	cr_assert(b == a && !overflow, "the only slot was not reused");
	assert_views(b, 1000);
	/* the cells are apart: raising one view's lost reason moves no other */
	b->lost[LC_VIEW_HOLDER][LC_LOST_EVICTED].count += 5;
	cr_assert_eq(b->lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 1001);
	cr_assert_eq(b->lost[LC_VIEW_HOLD][LC_LOST_EVICTED].count, 1201);
	cr_assert_eq(b->lost[LC_VIEW_HOLDER][LC_LOST_EVICTED + 1].count, 1103);
}

Test(slots, reset_zeroes_every_view_in_handed_out_and_overflow_slots_only)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	cr_assert_eq(slots_init(&slots, &arena, 8), 0);
	bool overflow;
	struct slot *got[3];
	for (int i = 0; i < 3; i++) {
		got[i] = slots_acquire(&slots, &overflow);
		fill_views(got[i], 1000 * (uint64_t)(i + 1));
	}
	fill_views(slots_overflow(&slots), 9000);
	/* Never handed out: reset must leave it alone (a fork child would
	 * fault in the whole array).  Written here only to see that. */
	struct slot *beyond = &slots.slot[6];
	fill_views(beyond, 7000);
	slots_reset(&slots);
	cr_assert_eq(slots_used(&slots), 0);
	for (int i = 0; i < 3; i++)
		assert_views_zero(got[i], "handed-out slot");
	assert_views_zero(slots_overflow(&slots), "overflow slot");
	assert_views(beyond, 7000);
}
