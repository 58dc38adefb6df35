/*
 * account.h — where every measured event goes: the three stages of the
 * recorder's path, and the books they keep.
 *
 * As in Go's runtime/mprof.go, a contended wait (or a charge to an unlock,
 * or a hold-time sample) is measured where it happens and written down
 * later, when writing is safe:
 *
 *   note     right after the wait, often with the lock now held (or after
 *            an unlock): the event (key, count, delay, its stack already in
 *            its view's stash's spare buffer) is put in its thread's slot
 *            as it is, nothing more;
 *   settle   inside the slot, before the thread's next wait (or its next
 *            event of the same view: one noted event per view), at its exit,
 *            or by the dumper: the event is added to the slot's totals for
 *            its view and then to exactly one of: the thread's stash for
 *            that view (the keep-one rule: stash.h, the loser goes to lost
 *            as EVICTED), or the slot's lost counters, with the reason it
 *            has no stack;
 *   publish  inside the slot, before the thread's next event (when the
 *            noted event brings another stack, or its view last published
 *            a bound ago: account_publish_due, which coalesces a thread's
 *            repeated event), at its exit, or by the dumper: a stash moves
 *            whole into a table bucket or, if the arena is full, into lost
 *            (ARENA_FULL).  The table
 *            takes no lock, so a thread may publish while it holds a mutex
 *            (its waits are nested: memcached's workers wait for the slab
 *            lock holding an item lock) — but only a stack whose objects
 *            the module map knows, since learning a new one takes the
 *            loader's lock; such a stack waits in the stash until the
 *            thread holds nothing, and only then can the keep-one draw
 *            lose an event.
 *
 * Every event added to a slot's totals is added, in the same place
 * (account_total), to the slot's series: the interval it ended in, its
 * view, lock and stack id (series.h).  So the series adds up to the totals
 * exactly, per view, by construction; the log undoes a series' change with
 * the rest of the work's.
 *
 * Two shortcuts write the totals and lost at once: contention met inside
 * our own work (REENTRANT) and events of a thread with no slot of its own
 * (NO_SLOT, the shared overflow slot).
 *
 * Conservation, per view, after every noted event was settled and every
 * stash published:
 *   sum(buckets) + sum(lost) == slot totals       (count and delay)
 * exactly (test_account.c), which the dump carries for readers to check;
 * and per lock, what it lost is in its LOCK_LOST record as well, so a
 * lock's buckets plus its losses are all of its events.
 * Timed-out waits and uncharged waiting are counted in totals alone, and
 * uncharged waiting in its lock's records too, as the event is settled
 * (a claimed add at the commit to its LOCK_UNCHARGED, under the claim of
 * the lock's LOCK_LOST, and in the same add, for a wait that found no
 * waiter cell, to its LOCK_NO_CELL).
 *
 * Every step may be jumped out of by a signal handler; account_repair
 * then puts the books right (account.c says how).
 *
 * Pure bookkeeping on memory the caller owns: the slot (inside it, but
 * account_note, which only its owner calls while its view has no noted
 * event), the
 * lock-free table and lock records (claimed adds: claim.h, whose bounded
 * wait is the only system call, sched_yield).  No locks, no allocation.
 */
#ifndef LOCKCONTEND_ACCOUNT_H
#define LOCKCONTEND_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "lockstate.h"
#include "modmap.h"
#include "slots.h"
#include "stacktab.h"

/* Where the books are kept: the table of stacks; the per-lock records of
 * what lost its stack (NULL: none kept); the module map (NULL: never asks
 * for a refresh, and knows every object); stacks false when stacks=0 (every
 * event to the sentinel); the time the series count intervals from (the
 * profile's start, META.start_mono_ns). */
struct account_books {
	struct stacktab *tab;
	struct lockstate *locks;
	const struct modmap *map;
	bool stacks;
	uint64_t origin_ns;
};

/* One measured event: count and delay scaled by its rate; max its
 * longest single wait, unscaled; uncharged (scaled) the part of a wait no
 * unlock was charged for; no_cell: a wait on a lock with an entry that
 * found every waiter cell taken (holder view on), so all of it is
 * uncharged, and its lock's LOCK_NO_CELL counts it; when
 * (CLOCK_MONOTONIC) it ended, for the series. */
struct account_event {
	struct event_key key;
	uint64_t count;
	uint64_t delay_ns;
	uint64_t max_ns;
	uint64_t uncharged_ns;
	uint64_t when_ns;
	bool no_cell;
};

/* Stage 1: the event, whose nframes frames are in the spare buffer of its
 * view's stash (0: it has none; key.flags EVENT_NO_ROOM says why).  An
 * event of its view noted before must have been settled. */
void account_note(struct slot *sl, const struct account_event *e, uint32_t nframes);

/* Stage 2: the noted events, if any, into totals and their views' stashes
 * or lost. */
void account_settle(struct slot *sl, const struct account_books *b, uint64_t *rng);

/* Is an event of view v noted and not yet settled (its stash's spare
 * buffer holds its frames)? */
bool account_noted(const struct slot *sl, int v);

/* Stage 3: every stash that is full into the table.  True when a new bucket's
 * frames point into an object the map does not know yet: the caller
 * refreshes the map once it has left the slot. */
bool account_publish(struct slot *sl, const struct account_books *b);

/* All three at once for a thread that may publish: every stash first (so
 * the noted event never competes with one for its place), then the noted
 * event through its view's stash.  True as account_publish. */
bool account_publish_all(struct slot *sl, const struct account_books *b, uint64_t *rng);

/* The same for a thread that holds a mutex, which must not wait for the
 * loader (a map refresh): only stashes whose every frame is in an object
 * the map knows are published (the MODULE record must precede its BUCKET);
 * one that is not stays in the stash for later.  True when one stays. */
bool account_publish_held(struct slot *sl, const struct account_books *b, uint64_t *rng);

/* The thread's own publish before its next event (now_ns), which
 * coalesces: the noted event is settled into its view's stash, which
 * first goes to the table only if it holds another stack; then a stash is
 * published only if its view last was ACCOUNT_COALESCE_NS or more before
 * now.  So a thread that repeats the same wait (or the same charged
 * unlock) adds it up in its stash, and the table, whose lines every
 * thread writes, is touched once a bound per view, not once an event;
 * events far apart still go at once.  held: as account_publish_held, only
 * what the map knows (and never true).  True as account_publish. */
#define ACCOUNT_COALESCE_NS (10 * 1000 * 1000ull)
bool account_publish_due(struct slot *sl, const struct account_books *b, uint64_t *rng, bool held,
                         uint64_t now_ns);

/* Is any stash full (published by a later event, the exit or the end)? */
bool account_stashed(const struct slot *sl);

/* An event of a thread with no slot: totals and lost (reason) at once. */
void account_lost_event(struct slot *sl, const struct account_books *b,
                        const struct account_event *e, int reason);

/* Waits never registered with their lock (recorder_defer: met inside our
 * own work, or with too little stack for the books, or while the file was
 * being made): count and delay_ns are the thread's running sums for one
 * reason (they only grow, a signal handler on the thread may add to them
 * at any time), taken what the books have taken of them: the rest into
 * totals and lost (reason) at once, all uncharged, and taken moves up; in
 * the series at when_ns, when the last of them ended. */
void account_deferred(struct slot *sl, const struct account_books *b, int reason, uint64_t count,
                      uint64_t delay_ns, uint64_t taken[2], uint64_t when_ns);

/* The owner left the work above for good in the middle (a signal handler
 * jumped out of it, at any instruction: recorder_repair), inside the slot,
 * which it still holds: put the books right before the slot is left.
 * Work that had not reached its commit is undone (its input, a noted event
 * or the stash, is still there for later), or done again at once (a
 * slotless event, which was the log's alone); work past it is finished.
 * Nothing is counted twice or lost. */
void account_repair(struct slot *sl, const struct account_books *b);

#endif
