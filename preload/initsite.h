/*
 * initsite.h — where each live lock of the program was initialised.
 *
 * A heap lock means little by its address; the function that made it (a
 * cache shard's constructor, tdc_init) tells what it is, where the
 * function that first waited on it is often a wrapper.  So every
 * pthread_mutex_init, pthread_rwlock_init, pthread_spin_init and mtx_init
 * (hooks_init.c) notes its stack here, keyed by the lock's address, and
 * the lock's destroy forgets it (the memory may be another lock's next).
 * Most locks are never contended: their stacks stay here, in private
 * memory, and never reach the profile.  When a lock is first contended,
 * lockstate_get makes its LOCK record and initsite_publish appends the
 * init stack as an LC_REC_LOCK_INIT record right after it.
 *
 * A fixed table carved from the arena at start-up: a key array of lock
 * addresses (0: free) and, beside it, one entry per key with the stack.
 * A lock's place is within INITSITE_PROBES keys of its home; every one of
 * them is looked at (a forget leaves a hole, no tombstone), 16 keys in two
 * cache lines, so a destroy costs a few loads.  No lock, no allocation,
 * nothing that blocks:
 *   - note: a key that already holds the lock (initialised again without a
 *     destroy) is reused, else a free one is claimed with a compare-and-
 *     swap from 0; the entry is then written under its sequence number
 *     (odd while being written, seqlock style), its own copy of the
 *     address last;
 *   - forget: compare-and-swap of the key from the lock back to 0;
 *   - find: the key, the sequence even and unchanged around the copy, the
 *     key still the lock and the entry's copy of the address the lock.
 * A lock's init happens before any other thread can contend it (the
 * program must publish the lock after making it), so find races with note
 * only in a program that destroys or re-initialises a lock while another
 * thread uses it; then find says "none" rather than copy a torn stack.  A
 * table whose probes are all taken refuses the lock (refused): it is named
 * as if it had no init site.
 *
 * A fork child keeps the table (its locks are its parent's, at the same
 * addresses); an entry a parent's thread was writing at the fork stays odd,
 * and unread, until that lock is destroyed.
 */
#ifndef LOCKCONTEND_INITSITE_H
#define LOCKCONTEND_INITSITE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "lockcontend/dumpfmt.h"
#include "pfile.h"

#define INITSITE_PROBES 16

struct initsite_entry {
	_Atomic uint32_t seq; /* odd while being written */
	uint32_t epoch;       /* module epoch when the stack was taken */
	uint32_t nframes;
	uint32_t reserved;
	uintptr_t addr; /* the lock this stack is of */
	uintptr_t pcs[LC_LOCK_INIT_FRAMES];
};

struct initsite {
	_Atomic uintptr_t *keys; /* lock addresses; 0: free */
	struct initsite_entry *ent;
	uint64_t mask;
	_Atomic uint64_t refused; /* inits that found no free key */
};

/* A lock's init stack, as find copies it. */
struct initsite_stack {
	uint32_t epoch;
	uint32_t nframes; /* 1..LC_LOCK_INIT_FRAMES */
	uintptr_t pcs[LC_LOCK_INIT_FRAMES];
};

/* nent (a power of two) keys and entries from the arena.  0, or -1 when
 * the arena has no room. */
int initsite_init(struct initsite *is, struct arena *a, uint64_t nent);

/* The lock was initialised here: n (1..LC_LOCK_INIT_FRAMES; more are cut)
 * frames taken in module epoch `epoch`.  Any thread; never blocks. */
void initsite_note(struct initsite *is, uintptr_t lock, const uintptr_t *pcs, uint32_t n,
                   uint32_t epoch);

/* The lock was destroyed.  Any thread; never blocks. */
void initsite_forget(struct initsite *is, uintptr_t lock);

/* The lock's init stack into *out; false if none is known (or it was being
 * written meanwhile). */
bool initsite_find(const struct initsite *is, uintptr_t lock, struct initsite_stack *out);

/* If the lock's init stack is known, append it to f as an LC_REC_LOCK_INIT
 * record.  True if one was written. */
bool initsite_publish(const struct initsite *is, struct pfile *f, uintptr_t lock);

#endif
