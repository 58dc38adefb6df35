/*
 * slots.h — per-thread records that outlive TLS: stash, totals, lost.
 *
 * A thread takes a slot on its first recorded contention and gives it back
 * when it exits (after merging its stash).  Slots live in the arena, not in
 * TLS, so the thread that writes the dump can read the records of threads
 * that are still running.
 *
 * Ownership protocol (the slot's `state` word):
 *   SLOT_IDLE   nobody is inside the record;
 *   busy        any other value: the tag of the thread that is updating it
 *               (never blocks while busy: it only touches memory and the
 *               lock-free table), so a thread that a signal handler jumped
 *               out of can tell the slot it was entering or leaving is
 *               still its own (recorder_repair);
 *   SLOT_CLOSED the dumper took it for good; the owner records no more.
 * The owner moves IDLE->tag->IDLE; the dumper moves IDLE->CLOSED, waiting
 * a bounded time for a busy owner.  All of it only inside the recursion
 * guard, so a signal handler on the owning thread never sees its own slot
 * BUSY.  Totals and lost counters are plain fields written under BUSY and
 * never reset, so a slot reused by a later thread keeps adding to them.
 * They live in the profile file (an LC_REC_SLOT record, `pub`), made when
 * the slot is first handed out, so a reader of a file whose writer died
 * still has them; so does the slot's series (an LC_REC_SERIES record made
 * right after it, `series`: series.h), which goes on through reuse too.
 * Each thread that takes a slot of its own gets a THREAD record
 * (threadrec.h, `thread`): its name, tid and share of those totals.
 * The stash and the noted event are private.
 */
#ifndef LOCKCONTEND_SLOTS_H
#define LOCKCONTEND_SLOTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "event.h"
#include "lockstate.h"
#include "pfile.h"
#include "series.h"
#include "stacktab.h"
#include "stash.h"

/* The books' work under way inside a slot (account.c), kept so that the
 * owner can put the books right when a signal handler jumps out of it
 * (account_repair).  UNDO: the work changes the slot (its record's head
 * and one view's lost, that view's stash's head and noted event's valid,
 * `taken`),
 * whose values before are here; it may
 * set lock_op, an add to a lock's LOCK_LOST, and unch_op, an add to a
 * lock's uncharged waiting (its LOCK_UNCHARGED, and LOCK_NO_CELL), made only once it is SHARED,
 * the work's commit.  PUBLISH: tab_op, the stash's add to the table, is
 * under way.  A slotless event the books take from their caller (ev) is
 * theirs once redo is set, until its work is SHARED: a jump before that
 * does it again. */
enum { SLOT_LOG_IDLE, SLOT_LOG_UNDO, SLOT_LOG_SHARED, SLOT_LOG_PUBLISH };
struct slot_log {
	_Atomic uint32_t state;
	uint32_t raw_valid;
	struct lc_rec_slot books;
	uint8_t view; /* the one view the work changes */
	_Alignas(8) unsigned char stash[offsetof(struct stash, frames)]; /* that view's */
	uint64_t *taken; /* NULL, or two words of its thread's */
	uint64_t taken_old[2];
	_Atomic uint8_t redo; /* ev is the books' until its work is SHARED */
	int8_t ev_reason;
	bool ev_no_cell;
	struct event_key ev_key;
	uint64_t ev_count, ev_delay_ns, ev_uncharged_ns;
	uint64_t ev_when_ns;
	struct lockstate_op lock_op;
	struct lockstate_op unch_op; /* the uncharged waiting of a wait, to its lock */
	struct stacktab_op tab_op;
	uint8_t publishing;        /* PUBLISH: the view whose stash tab_op adds */
	struct series_undo series; /* what the work changed of the series */
};

/* A measured event, noted and not yet settled (account.h).  Written by
 * the owner outside the slot (after a wait, or an unlock) only while valid
 * is 0, then published; settled and cleared inside it, by the owner or the
 * dumper.  One per view: a thread's charged unlock is noted while its last
 * wait still is, and settled with it before its next wait. */
struct slot_raw {
	_Atomic uint32_t valid;
	uint32_t nframes;
	struct event_key key;
	uint32_t no_cell; /* the wait found no waiter cell (account_event) */
	uint64_t count;
	uint64_t delay;
	uint64_t max;
	uint64_t uncharged;
	uint64_t when; /* CLOCK_MONOTONIC when it ended */
};

/* SLOT_BUSY: a tag for callers with no other (tests); a thread's own tags
 * are slot_tag()s. */
enum { SLOT_IDLE = 0, SLOT_BUSY = 1, SLOT_CLOSED = 2 };

/* A tag no other live thread has (neither IDLE nor CLOSED), for *tag (0:
 * none yet). */
uint32_t slot_tag(uint32_t *tag);

struct slot {
	_Atomic uint32_t state;
	_Atomic uint32_t in_use; /* owned by a live thread */
	/* Totals per view (enum lc_view), scaled by the sampling rates: what
	 * was measured, wherever it went (a stash, the table, the sentinel);
	 * waits that timed out; waiting no unlock was charged for; lost. */
	struct lc_rec_slot *pub;
	struct lc_rec_waiting *waiting; /* its thread's wait in progress (waiting.h),
	                                 * written by that thread alone; NULL: no room */
	struct lc_rec_thread *thread;   /* its thread now (threadrec.h); NULL: none
	                                 * (no room, past the cap, or given back) */
	/* The same events over time (series.h); NULL: series=0, or the
	 * file had no room for it.  series_image: private room for a copy
	 * of it, the undo of a change that makes room (NULL: none). */
	struct lc_rec_series *series;
	struct lc_rec_series *series_image;
	/* The last measured event of each view, not yet settled into that
	 * view's stash; its frames are in the stash's spare buffer. */
	struct slot_raw raw[LC_NVIEWS];
	struct stash stash[LC_NVIEWS]; /* one per view: a thread's waits and
	                                * its charged unlocks alternate */
	struct slot_log log;
};

struct slots {
	struct slot *slot; /* nslots of them, plus one overflow slot */
	struct pfile *file;
	uint32_t nslots;
	bool waiting;          /* slots get WAITING records (waiting=1) */
	uint32_t frames;       /* room for a waiting stack in each WAITING record */
	_Atomic uint32_t hwm;  /* slots ever handed out, or being: [0, hwm) (raised
	                        * before the claim, so a fork child that clears
	                        * [0, hwm) clears a parent thread's claim under way) */
	_Atomic uint32_t hint; /* where the next search starts */
	_Atomic uint64_t threads_seen;
	_Atomic uint32_t thread_records; /* THREAD records made, up to SLOTS_THREAD_RECORDS */
	struct series_conf series;       /* each slot's series is made so */
	struct arena *arena;             /* where the series' undo images are */
};

/* The overflow slot's record is made at once: -1 if there is no room.
 * Each slot's records (SLOT and its SERIES as `series` says, NULL or
 * interval 0: none; then with `waiting` a WAITING record with room for
 * `frames` frames) are made when it is first handed out; the shared
 * overflow slot shows no wait, but has a series. */
int slots_init(struct slots *s, struct arena *a, struct pfile *f, uint32_t nslots, bool waiting,
               uint32_t frames, const struct series_conf *series);

/* Forget every slot (a fork child); only while no other thread runs. */
void slots_reset(struct slots *s);

/* A free slot for the calling thread, or the shared overflow slot when all
 * are taken or the file has no room for a new slot's record (never NULL).
 * *overflow tells which. */
struct slot *slots_acquire(struct slots *s, bool *overflow);
void slots_release(struct slots *s, struct slot *sl);

/* The calling thread (tid) has just taken sl (not the overflow slot) at
 * now_ns: its name is read (one prctl), its WAITING record says who owns
 * the slot and, up to SLOTS_THREAD_RECORDS in a profile, it gets a THREAD
 * record (a program that makes threads for ever must not fill its file
 * with them; later threads' events are the totals' rest). */
#define SLOTS_THREAD_RECORDS 4096
void slots_thread(struct slots *s, struct slot *sl, int32_t tid, uint64_t now_ns);

/* The slot's thread renamed itself. */
void slots_named(struct slot *sl, const char *name);

/* The slot's thread exits at now_ns, named `name`: its THREAD record's end.
 * Only inside the slot (busy with its tag): the dumper settles a closed
 * slot's last event into its totals, so outside it they may be moving. */
void slots_thread_end(struct slot *sl, const char *name, uint64_t now_ns);

/* Owner side: busy with `tag`.  slot_enter fails when the dumper has
 * closed the slot; the overflow slot is shared, so there it yields while
 * another thread is busy, and gives up (the event is not recorded) after
 * SLOT_SHARED_WAIT_NS. */
#define SLOT_SHARED_WAIT_NS (10 * 1000 * 1000ull)
bool slot_enter(struct slot *sl, bool shared, uint32_t tag);
void slot_leave(struct slot *sl);

/* Dumper side: close one slot, waiting at most max_ns for a BUSY owner. */
bool slot_close(struct slot *sl, uint64_t max_ns);

/* Slots [0, slots_used) have been handed out; the shared overflow slot is
 * apart.  Read slots_used once and walk that many. */
uint32_t slots_used(const struct slots *s);
struct slot *slots_overflow(const struct slots *s);

#endif
