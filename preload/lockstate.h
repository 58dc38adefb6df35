/*
 * lockstate.h — what lockcontend knows about each contended lock.
 *
 * An open-addressing table keyed by the lock's address, carved from the
 * arena at start-up.  An entry is made on a lock's first recorded
 * contention (a sampled wait, or a failed trylock) and kept for the life of
 * the process (a fork child starts empty).  Insertion claims a free entry
 * with a compare-and-swap of its address: no lock, never blocks; a full
 * neighbourhood refuses the lock (locks_refused), and what that lock would
 * have told is then in the totals only.  What a reader needs of a lock is
 * its LC_REC_LOCK record in the profile file (`pub`: counters updated in
 * place, the first contended stack) and its LOCK_LOST record (`lost`: its
 * events that lost their stack; with its LOCK_UNCHARGED, the uncharged
 * waiting added under their claim, and its LOCK_NO_CELL, the part of that
 * waiting whose waiters found no cell), made with the entry, LOCK_LOST
 * first (a lock whose LOCK record is there has its LOCK_LOST too: none
 * means the file had no room, never "lost nothing"), and right after them,
 * if initsite.h knows where the lock was initialised, its LOCK_INIT
 * record; the holder view's clocks are private.
 *
 * The holder view.  Each entry has LOCKSTATE_CELLS waiter cells; a
 * sampled waiter claims a free one (compare-and-swap from 0) and stores
 * its start time there.  An unlock at time T charges, for every cell whose
 * start s < T, the waiting T - s, and moves the cell to T with a
 * compare-and-swap (so each stretch of waiting is charged once, to one
 * unlock, even when unlocks race).  A waiter that leaves at t1 takes its
 * cell back with a compare-and-swap too, reading t1 after its last look at
 * the cell: t1 - s is waiting no unlock was charged for (mostly the wake-up
 * latency after the last charge).  So, per lock, exactly:
 *     sum of charges + sum of uncharged == sum of the registered waits.
 * No flag, no lock: a thread stopped anywhere in here (a collector's
 * suspend handler, a handler that longjmps away) holds up nobody.  A
 * waiter that finds every cell taken is not registered: its whole wait is
 * uncharged, and counted apart as such when it is settled (LOCK_NO_CELL,
 * in the uncharged add: lockstate_uncharged_set), so a reader tells it
 * from the wake-up latency.
 *
 * The filter.  Unlocks must stay cheap, so they look at one counter first:
 * lockstate_filter[hash(lock)] counts the waiters registered on the locks
 * that hash there.  Zero (almost always) means: no charge, no table lookup.
 */
#ifndef LOCKCONTEND_LOCKSTATE_H
#define LOCKCONTEND_LOCKSTATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "claim.h"
#include "initsite.h"
#include "lockcontend/dumpfmt.h"
#include "pfile.h"
#include "touched.h"

#define LOCKSTATE_CELLS 16

/* The per-lock counters of a LOCK record. */
enum lockstate_counter {
	LOCKSTATE_TRYLOCK_FAILURES,
	LOCKSTATE_TIMEOUTS,     /* scaled by rate */
	LOCKSTATE_UNCHARGED_NS, /* scaled by rate */
	LOCKSTATE_NCOUNTERS,
};

/* A LOCK_LOST record, its LOCK_UNCHARGED and LOCK_NO_CELL, and the claim
 * on the counters of all three (claim.h).  A lock whose claim got stuck
 * (its holder stopped in the middle of an add) gets a second set, which
 * later adds find; readers add up the records of one lock. */
struct lockstate_lost {
	_Atomic uintptr_t claim;
	struct lc_rec_lock_lost *rec;
	struct lc_rec_lock_uncharged *unch;
	struct lc_rec_lock_no_cell *no_cell;
};

/* The first line is what a look-up reads (an unlock's, a hold-time
 * sample's, each probe past the entry on its way to another): written when
 * the entry is made and hardly ever after.  The waiter cells, which waiters
 * and charging unlocks write all the time, are on lines of their own: a
 * look-up inside a critical section does not wait for another thread's
 * cache. */
struct lockent {
	_Atomic uintptr_t addr;       /* 0: free */
	_Atomic uint32_t first_state; /* 0 none, 1 being written, 2 written */
	_Atomic uint32_t made;        /* its maker is done with its records (or had no room) */
	/* trylock_failures, timeouts, uncharged_ns, kind, the first stack
	 * and its epoch; NULL until made, or if the file had no room; set
	 * just before the record is published (a jump out in between leaves
	 * it a record never published: lockstate_count_used) */
	struct lc_rec_lock *_Atomic pub;
	_Atomic uint64_t early[LOCKSTATE_NCOUNTERS]; /* counted before pub was published */
	struct lockstate_lost *_Atomic lost;         /* its LOCK_LOST record */
	/* waiters' starts; 0: free */
	_Atomic uint64_t cell[LOCKSTATE_CELLS] __attribute__((aligned(64)));
};

/* The LOCK record with room for the whole first stack. */
struct lockrec {
	struct lc_rec_lock r;
	uint64_t first[LC_LOCK_FIRST_FRAMES];
};

struct lockstate {
	struct lockent *ent;
	struct arena *arena; /* for a lock's second LOCK_LOST */
	struct pfile *file;
	/* where locks were initialised (NULL: init sites off); set by the
	 * owner after lockstate_init, kept by lockstate_reset */
	const struct initsite *inits;
	uint64_t mask;
	_Atomic uint64_t refused; /* locks that found no free entry */
	struct touched touched;   /* pages of ent with an entry (lockstate_count_used) */
};

/* Add n to one counter of e's record (if it has one: a count made while
 * another thread is still making the record waits aside and is moved in
 * when it is published).  Any thread. */
void lockstate_count(struct lockent *e, enum lockstate_counter c, uint64_t n);

#define LOCKSTATE_FILTER 1024
extern _Atomic uint32_t lockstate_filter[LOCKSTATE_FILTER] __attribute__((visibility("hidden")));

static inline uint32_t lockstate_filter_index(uintptr_t lock)
{
	return (uint32_t)(((uint64_t)lock * 0x9E3779B97F4A7C15ull) >> 54) & (LOCKSTATE_FILTER - 1);
}

/* May a sampled waiter be waiting for this lock?  One relaxed load. */
static inline bool lockstate_maybe_waited(uintptr_t lock)
{
	return atomic_load_explicit(&lockstate_filter[lockstate_filter_index(lock)],
	                            memory_order_relaxed) != 0;
}

/* nent (a power of two) entries from the arena; records go to f; no init
 * sites until ls->inits is set. */
int lockstate_init(struct lockstate *ls, struct arena *a, struct pfile *f, uint64_t nent);
/* Forget every lock (a fork child); only while no other thread runs. */
void lockstate_reset(struct lockstate *ls);

/* The lock's entry, made if need be (kind is kept from the first call);
 * NULL when the table has no room for it. */
struct lockent *lockstate_get(struct lockstate *ls, uintptr_t lock, uint32_t kind);
/* The lock's entry if it has one (it was contended), else NULL. */
struct lockent *lockstate_find(struct lockstate *ls, uintptr_t lock);

/* A sampled waiter registers, waiting since `start` (> 0).  Returns its
 * cell (1..LOCKSTATE_CELLS), or 0 when every cell is taken. */
int lockstate_arrive(struct lockent *e, uint64_t start);

/* The waiter in `cell` leaves: *t1 is read from now() after the last
 * charge that counted it.  Returns its waiting no unlock was charged for
 * (t1 minus its cell's start). */
uint64_t lockstate_depart(struct lockent *e, int cell, uint64_t (*now)(void), uint64_t *t1);

/* The waiter in `cell` leaves, counting nothing (its wait was not
 * recorded after all). */
void lockstate_leave(struct lockent *e, int cell);

/* An unlock of e's lock: read the clock, charge and move on every waiter
 * that started before it.  Returns the waiting charged (ns, not scaled),
 * 0 if nobody waited. */
uint64_t lockstate_charge(struct lockent *e, uint64_t (*now)(void));

/* Events of `lock` that reached no stack (enum lc_lost_reason `reason`,
 * count and delay scaled): into its LOCK_LOST record, a claimed add
 * (claim.h).  Nothing for a lock without an entry or a record; an entry
 * another thread is still making is waited for.  Any thread; waits at
 * most CLAIM_WAIT_NS (for the claim, and for the maker).
 *
 * In two steps for a thread that may be jumped out of: lockstate_lost_set
 * says what to add (nothing is done), lockstate_lost_run adds it, and run
 * again on the same op after a jump out of it, finishes that add, exactly
 * once.  me: the caller's claim; op in memory the caller owns.
 *
 * lockstate_uncharged_set asks the same of a settled wait's uncharged
 * waiting (scaled), into the LOCK_UNCHARGED record made with the lock's
 * LOCK_LOST, under the same claim (3.11); a reader adds it to the LOCK
 * record's.  A wait that found no cell (lockstate_arrive returned 0) adds
 * its count and its uncharged waiting, which is all of it, to the
 * LOCK_NO_CELL made with them too (3.12), in the same claimed add, after
 * the uncharged: a reader never finds more there than uncharged.  A
 * claim stuck past CLAIM_WAIT_NS moves every later add to a second set of
 * records, its claim and its own counters: the stuck
 * holder's add still lands when it resumes, once (until 3.10 the uncharged
 * waiting went to the LOCK record's one counter under whichever claim was
 * current, and the holder's compare-and-swap then failed: its add was
 * lost). */
enum { LOCKSTATE_OP_IDLE, LOCKSTATE_OP_FIND, LOCKSTATE_OP_ADD };
enum { LOCKSTATE_OP_LOST, LOCKSTATE_OP_UNCHARGED };
struct lockstate_op {
	_Atomic uint32_t state;
	uint8_t what; /* LOCKSTATE_OP_LOST or _UNCHARGED */
	uint8_t view, reason;
	uintptr_t lock;
	uint64_t count, delay_ns; /* _UNCHARGED: count is the uncharged ns */
	uint64_t no_cell;         /* _UNCHARGED: waits that found no cell (scaled);
	                           * their ns are delay_ns */
	struct claim_add add;
};
void lockstate_lost_set(struct lockstate_op *op, uintptr_t lock, int view, int reason,
                        uint64_t count, uint64_t delay_ns);
void lockstate_uncharged_set(struct lockstate_op *op, uintptr_t lock, uint64_t uncharged_ns,
                             uint64_t no_cell_count, uint64_t no_cell_ns);
void lockstate_lost_run(struct lockstate *ls, struct lockstate_op *op, uintptr_t me);
void lockstate_lost(struct lockstate *ls, uintptr_t lock, int view, int reason, uint64_t count,
                    uint64_t delay_ns);

/* Keep the stack where the lock was first contended, once, with the
 * module epoch it was taken in (its frames are in the modules of that
 * epoch, as a bucket's). */
void lockstate_name(struct lockent *e, const uintptr_t *pcs, uint32_t n, uint32_t epoch);

/* Entries with a LOCK record. */
uint64_t lockstate_count_used(const struct lockstate *ls);

/* Call fn for every entry in use, in no particular order. */
void lockstate_foreach(const struct lockstate *ls, void (*fn)(const struct lockent *, void *),
                       void *ctx);

#endif
