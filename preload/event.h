/*
 * event.h — what identifies a recorded event besides its stack.
 *
 * Two events with equal keys and equal stacks add up in one stash and one
 * table bucket; anything else about them (count, delay, max) is a value.
 * Pure data, no state: included by the stash, the table and the recorder.
 */
#ifndef LOCKCONTEND_EVENT_H
#define LOCKCONTEND_EVENT_H

#include <stdbool.h>
#include <stdint.h>

/* In event_key.flags, never written to the file: the event has no stack
 * because its thread's stack had no room to unwind (stackroom.h). */
#define EVENT_NO_ROOM 0x80000000u

struct event_key {
	uintptr_t lock; /* the lock's address */
	uint32_t flags; /* LC_BUCKET_* */
	uint8_t view;   /* enum lc_view */
	uint8_t kind;   /* enum lc_kind */
	uint16_t reserved;
	uint32_t epoch; /* module epoch when the stack was taken */
};

static inline bool event_key_equal(const struct event_key *a, const struct event_key *b)
{
	return a->lock == b->lock && a->flags == b->flags && a->view == b->view &&
	       a->kind == b->kind && a->epoch == b->epoch;
}

static inline uint64_t event_key_seed(const struct event_key *k)
{
	return (uint64_t)k->lock * 0x9E3779B97F4A7C15ull ^ k->flags ^ ((uint64_t)k->view << 40) ^
	       ((uint64_t)k->kind << 48) ^ ((uint64_t)k->epoch << 20);
}

#endif
