/*
 * test_slots.c — the per-thread slots (preload/slots.c): acquisition and
 * release, and the walk the dumper makes (recorder_collect).
 *
 * A regression from review: the dumper used to ask for "slot i" of a count
 * read once while the count was re-read per call, so a thread taking its
 * first slot during the dump pushed the shared overflow slot out of the
 * walk.  Now the overflow slot is named apart (slots_overflow) and never
 * moves, whatever slots_used becomes.
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
