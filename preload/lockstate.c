/*
 * lockstate.c — the per-lock table and the holder view's clocks (see
 * lockstate.h for the contract).
 */
#include "lockstate.h"

#include <string.h>

#include "step.h"

_Atomic uint32_t lockstate_filter[LOCKSTATE_FILTER];

#define LOCKSTATE_PROBES 32 /* entries looked at before a lock is refused */

static void lockstate_fold(struct lockent *e, struct lc_rec_lock *r);

int lockstate_init(struct lockstate *ls, struct arena *a, struct pfile *f, uint64_t nent)
{
	ls->file = f;
	ls->arena = a;
	ls->inits = NULL;
	/* on whole lines (struct lockent) */
	ls->ent = arena_alloc_aligned(a, nent * sizeof(*ls->ent), _Alignof(struct lockent));
	ls->mask = nent - 1;
	touched_clear(&ls->touched, ls->ent, (ls->mask + 1) * sizeof(*ls->ent));
	/* waiters counted there by an earlier profile (attached: a detach
	 * lets waits in progress go without leaving) */
	memset((void *)lockstate_filter, 0, sizeof(lockstate_filter));
	atomic_store(&ls->refused, 0);
	return ls->ent ? 0 : -1;
}

void lockstate_reset(struct lockstate *ls)
{
	arena_zero(ls->ent, (ls->mask + 1) * sizeof(*ls->ent));
	touched_clear(&ls->touched, ls->ent, (ls->mask + 1) * sizeof(*ls->ent));
	memset((void *)lockstate_filter, 0, sizeof(lockstate_filter));
	atomic_store(&ls->refused, 0);
}

/* A LOCK_LOST record for lock, its LOCK_NO_CELL and LOCK_UNCHARGED,
 * published, and their claim; NULL: no room (for the second or third, a
 * LOCK_LOST no add finds). */
static struct lockstate_lost *lockstate_lost_make(struct lockstate *ls, uintptr_t lock)
{
	struct lockstate_lost *w = arena_alloc(ls->arena, sizeof(*w));
	struct lc_rec_lock_lost *l = w ? pfile_record(ls->file, sizeof(*l)) : NULL;
	if (!l)
		return NULL;
	l->addr = lock;
	pfile_publish(l, LC_REC_LOCK_LOST);
	/* LOCK_NO_CELL before LOCK_UNCHARGED, which is added to first: a
	 * reader that copies a live file front to back then never finds more
	 * in the first than in the second */
	struct lc_rec_lock_no_cell *n = pfile_record(ls->file, sizeof(*n));
	if (!n)
		return NULL;
	n->addr = lock;
	pfile_publish(n, LC_REC_LOCK_NO_CELL);
	struct lc_rec_lock_uncharged *u = pfile_record(ls->file, sizeof(*u));
	if (!u)
		return NULL;
	u->addr = lock;
	pfile_publish(u, LC_REC_LOCK_UNCHARGED);
	atomic_store_explicit(&w->claim, 0, memory_order_relaxed);
	w->rec = l;
	w->unch = u;
	w->no_cell = n;
	return w;
}

static uint64_t lockstate_home(const struct lockstate *ls, uintptr_t lock)
{
	uint64_t h = (uint64_t)lock * 0xFF51AFD7ED558CCDull;
	return (h ^ (h >> 29)) & ls->mask;
}

struct lockent *lockstate_find(struct lockstate *ls, uintptr_t lock)
{
	uint64_t i = lockstate_home(ls, lock);
	for (int k = 0; k < LOCKSTATE_PROBES; k++, i = (i + 1) & ls->mask) {
		uintptr_t a = atomic_load_explicit(&ls->ent[i].addr, memory_order_acquire);
		if (a == lock)
			return &ls->ent[i];
		if (a == 0)
			return NULL;
	}
	return NULL;
}

struct lockent *lockstate_get(struct lockstate *ls, uintptr_t lock, uint32_t kind)
{
	uint64_t i = lockstate_home(ls, lock);
	for (int k = 0; k < LOCKSTATE_PROBES; k++, i = (i + 1) & ls->mask) {
		struct lockent *e = &ls->ent[i];
		uintptr_t a = atomic_load_explicit(&e->addr, memory_order_acquire);
		if (a == 0)
			touched_mark(&ls->touched, &e->addr); /* addr..pub: one line */
		if (a == 0 && atomic_compare_exchange_strong(&e->addr, &a, lock)) {
			/* Its LOCK_LOST first: a lock with a LOCK record has one,
			 * so a reader never takes "no record" for "lost nothing". */
			struct lockstate_lost *l = lockstate_lost_make(ls, lock);
			struct lockrec *r = l ? pfile_record(ls->file, sizeof(*r)) : NULL;
			if (l)
				atomic_store(&e->lost, l);
			if (r) {
				r->r.addr = lock;
				r->r.kind = kind;
				/* pub first, and counted once the record is
				 * published (lockstate_count_used): a handler
				 * that jumps out in between leaves neither a
				 * LOCK record uncounted nor a count without one
				 * (counts added meanwhile go to a record that is
				 * never read) */
				atomic_store(&e->pub, &r->r);
				lc_step();
				pfile_publish(r, LC_REC_LOCK);
				lockstate_fold(e, &r->r);
				/* the one maker of the entry: once per lock */
				if (ls->inits)
					initsite_publish(ls->inits, ls->file, lock);
			}
			atomic_store_explicit(&e->made, 1, memory_order_release);
			return e;
		}
		if (a == lock)
			return e;
	}
	atomic_fetch_add_explicit(&ls->refused, 1, memory_order_relaxed);
	return NULL;
}

static void lockstate_filter_add(struct lockent *e, int n)
{
	uintptr_t lock = atomic_load_explicit(&e->addr, memory_order_relaxed);
	atomic_fetch_add_explicit(&lockstate_filter[lockstate_filter_index(lock)], (uint32_t)n,
	                          memory_order_relaxed);
}

int lockstate_arrive(struct lockent *e, uint64_t start)
{
	for (int i = 0; i < LOCKSTATE_CELLS; i++) {
		uint64_t free = 0;
		if (atomic_load_explicit(&e->cell[i], memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&e->cell[i], &free, start)) {
			lockstate_filter_add(e, 1);
			return i + 1;
		}
	}
	return 0;
}

uint64_t lockstate_depart(struct lockent *e, int cell, uint64_t (*now)(void), uint64_t *t1)
{
	_Atomic uint64_t *c = &e->cell[cell - 1];
	/* Usually inside the critical section just taken, and both lines
	 * come from other CPUs: the cell, from the unlock that charged it
	 * before waking us, and the filter word, from other threads' arrivals
	 * and unlocks.  Fetched together rather than one after the other
	 * (each locked instruction waits for the one before it): the depart
	 * took 256-511 cycles instead of 512-1023 on this VM (rdtsc-timed,
	 * 2 threads, a 0.4 us section). */
	__builtin_prefetch(&lockstate_filter[lockstate_filter_index(
	                       atomic_load_explicit(&e->addr, memory_order_relaxed))],
	                   1);
	uint64_t s = atomic_load(c);
	/* t1 after the last look: a charge that moved the cell meanwhile
	 * makes the exchange fail, and its time is then <= the next t1. */
	do
		*t1 = now();
	while (!atomic_compare_exchange_weak(c, &s, 0));
	lockstate_filter_add(e, -1);
	return *t1 > s ? *t1 - s : 0;
}

void lockstate_leave(struct lockent *e, int cell)
{
	atomic_store(&e->cell[cell - 1], 0);
	lockstate_filter_add(e, -1);
}

uint64_t lockstate_charge(struct lockent *e, uint64_t (*now)(void))
{
	uint64_t t = now(), charge = 0;
	for (int i = 0; i < LOCKSTATE_CELLS; i++) {
		uint64_t s = atomic_load_explicit(&e->cell[i], memory_order_acquire);
		/* 0: free; s >= t: came after this unlock began, or another
		 * unlock charged it up to a later time already */
		while (s && s < t) {
			if (atomic_compare_exchange_weak(&e->cell[i], &s, t)) {
				charge += t - s;
				break;
			}
		}
	}
	return charge;
}

static _Atomic uint64_t *lockstate_field(struct lc_rec_lock *r, enum lockstate_counter c)
{
	uint64_t *field = c == LOCKSTATE_TRYLOCK_FAILURES ? &r->trylock_failures
	                  : c == LOCKSTATE_TIMEOUTS       ? &r->timeouts
	                                                  : &r->uncharged_ns;
	return (_Atomic uint64_t *)field;
}

/* An add to a counter of e's record.  The claimed adds of uncharged
 * waiting go to the lock's LOCK_UNCHARGED records (lockstate_uncharged_set),
 * so no other thread moves this counter by a read and a store. */
static void lockstate_add(struct lc_rec_lock *r, enum lockstate_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(lockstate_field(r, c), n, memory_order_relaxed);
}

/* Move what was counted before the record was there into it.  Both the
 * entry's maker (after publishing pub) and a counter that finds pub
 * published after it counted aside do this; the exchange makes sure each
 * count moves once. */
static void lockstate_fold(struct lockent *e, struct lc_rec_lock *r)
{
	for (int c = 0; c < LOCKSTATE_NCOUNTERS; c++) {
		uint64_t n = atomic_exchange(&e->early[c], 0);
		if (n)
			lockstate_add(r, c, n);
	}
}

void lockstate_count(struct lockent *e, enum lockstate_counter c, uint64_t n)
{
	struct lc_rec_lock *r = atomic_load_explicit(&e->pub, memory_order_acquire);
	if (r) {
		lockstate_add(r, c, n);
		return;
	}
	/* The entry is being made (its record is not published yet): count
	 * aside, then look again (both sequentially consistent, like the
	 * maker's publish and fold: one of the two sees the other). */
	atomic_fetch_add(&e->early[c], n);
	if ((r = atomic_load(&e->pub)))
		lockstate_fold(e, r);
}

void lockstate_lost_set(struct lockstate_op *op, uintptr_t lock, int view, int reason,
                        uint64_t count, uint64_t delay_ns)
{
	op->what = LOCKSTATE_OP_LOST;
	op->lock = lock;
	op->view = (uint8_t)view;
	op->reason = (uint8_t)reason;
	op->count = count;
	op->delay_ns = delay_ns;
	atomic_store(&op->state, LOCKSTATE_OP_FIND);
}

/* The lock's LOCK_LOST now, and its entry; NULL: it has none.  An entry
 * whose maker (another thread, in lockstate_get) has claimed its address
 * but not yet made its records is waited for, a bounded time: the records
 * take it microseconds unless it was stopped.  Before, such a lock's add
 * was given up: a wait or a charge made on a lock in its first moments,
 * and settled at once, was missing from its LOCK_LOST (test_nested's
 * stacks=0 run, 1 in 50 under ASan). */
static struct lockstate_lost *lockstate_lost_of(struct lockstate *ls, uintptr_t lock,
                                                struct lockent **e)
{
	*e = lock ? lockstate_find(ls, lock) : NULL;
	if (!*e)
		return NULL;
	uint64_t deadline = 0;
	while (!atomic_load_explicit(&(*e)->made, memory_order_acquire) &&
	       clock_wait_turn(&deadline, CLAIM_WAIT_NS))
		;
	return atomic_load_explicit(&(*e)->lost, memory_order_acquire);
}

void lockstate_uncharged_set(struct lockstate_op *op, uintptr_t lock, uint64_t uncharged_ns,
                             uint64_t no_cell_count, uint64_t no_cell_ns)
{
	op->what = LOCKSTATE_OP_UNCHARGED;
	op->lock = lock;
	op->count = uncharged_ns;
	op->no_cell = no_cell_count;
	op->delay_ns = no_cell_ns;
	atomic_store(&op->state, LOCKSTATE_OP_FIND);
}

/* The op's add, under w's claim: to one of w's LOCK_LOST entries, or to
 * w's LOCK_UNCHARGED and (the waits that found no cell) its LOCK_NO_CELL,
 * the uncharged first.  Each counter of the set is guarded by its claim
 * alone, so a claim stuck past CLAIM_WAIT_NS (a second set takes the
 * later adds) never has its holder's add undone. */
static void lockstate_op_aim(struct lockstate_op *op, struct lockstate_lost *w, uintptr_t me)
{
	if (op->what == LOCKSTATE_OP_UNCHARGED) {
		/* a registered waiter's add does not touch LOCK_NO_CELL */
		bool nc = op->no_cell || op->delay_ns;
		claim_add_set_more(&op->add, &w->claim, me, &w->unch->uncharged_ns,
		                   nc ? &w->no_cell->count : NULL, NULL,
		                   nc ? &w->no_cell->delay_ns : NULL, op->count, op->no_cell, 0,
		                   op->delay_ns);
		return;
	}
	struct lc_lost_entry *l = &w->rec->lost[op->view][op->reason];
	claim_add_set(&op->add, &w->claim, me, &l->count, &l->delay_ns, NULL, op->count,
	              op->delay_ns, 0);
}

/* An op that cannot be made as asked ends: a lost add is given up (the
 * slot's lost has it); uncharged waiting is counted anyway, aside if the
 * lock's records are still being made (lockstate_count), but its part
 * that found no cell is not (the lock has no LOCK_NO_CELL to take it: it
 * stays within the uncharged, short).  The op is idle
 * first: a jump out of the count loses it, never counts it twice. */
static void lockstate_op_give_up(struct lockstate_op *op, struct lockent *e)
{
	atomic_store(&op->state, LOCKSTATE_OP_IDLE);
	if (e && op->what == LOCKSTATE_OP_UNCHARGED)
		lockstate_count(e, LOCKSTATE_UNCHARGED_NS, op->count);
}

void lockstate_lost_run(struct lockstate *ls, struct lockstate_op *op, uintptr_t me)
{
	struct lockent *e;
	struct lockstate_lost *w;
	for (;;) {
		uint32_t st = atomic_load(&op->state);
		if (st == LOCKSTATE_OP_IDLE)
			return;
		if (st == LOCKSTATE_OP_FIND) {
			/* no record to add to (yet) */
			if (!(w = lockstate_lost_of(ls, op->lock, &e))) {
				lockstate_op_give_up(op, e);
				return;
			}
			lockstate_op_aim(op, w, me);
			lc_step();
			atomic_store(&op->state, LOCKSTATE_OP_ADD);
			lc_step();
		}
		if (claim_add_run(&op->add)) {
			atomic_store(&op->state, LOCKSTATE_OP_IDLE);
			return;
		}
		/* Its claim is stuck, nothing added: a second record, which
		 * every later add finds (unless another thread made one). */
		if ((w = lockstate_lost_of(ls, op->lock, &e)) && &w->claim == op->add.claim) {
			struct lockstate_lost *more = lockstate_lost_make(ls, op->lock);
			if (!more) { /* no room: the slot's lost alone has it */
				lockstate_op_give_up(op, e);
				return;
			}
			atomic_compare_exchange_strong(&e->lost, &w, more);
		}
		atomic_store(&op->state, LOCKSTATE_OP_FIND);
	}
}

void lockstate_lost(struct lockstate *ls, uintptr_t lock, int view, int reason, uint64_t count,
                    uint64_t delay_ns)
{
	struct lockstate_op op = {0};
	lockstate_lost_set(&op, lock, view, reason, count, delay_ns);
	lockstate_lost_run(ls, &op, (uintptr_t)&op);
}

/* The frames and their epoch first, then nframes (release): a reader of
 * the file sees nframes frames that are all there, with their epoch. */
void lockstate_name(struct lockent *e, const uintptr_t *pcs, uint32_t n, uint32_t epoch)
{
	uint32_t expect = 0;
	/* A look before the claim: a named lock (almost every wait's) costs
	 * no locked instruction on a line every waiter reads. */
	if (atomic_load_explicit(&e->first_state, memory_order_relaxed) != 0)
		return;
	struct lc_rec_lock *r = atomic_load_explicit(&e->pub, memory_order_acquire);
	if (n == 0 || !r || !atomic_compare_exchange_strong(&e->first_state, &expect, 1))
		return;
	if (n > LC_LOCK_FIRST_FRAMES)
		n = LC_LOCK_FIRST_FRAMES;
	memcpy(((struct lockrec *)r)->first, pcs, n * sizeof(*pcs));
	r->epoch = epoch;
	atomic_store_explicit((_Atomic uint32_t *)&r->nframes, n, memory_order_release);
	atomic_store_explicit(&e->first_state, 2, memory_order_release);
}

void lockstate_foreach(const struct lockstate *ls, void (*fn)(const struct lockent *, void *),
                       void *ctx)
{
	for (uint64_t i = 0; i <= ls->mask; i++)
		if (touched_maybe(&ls->touched, &ls->ent[i].addr) &&
		    atomic_load_explicit(&ls->ent[i].addr, memory_order_acquire))
			fn(&ls->ent[i], ctx);
}

uint64_t lockstate_count_used(const struct lockstate *ls)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i <= ls->mask; i++) {
		const struct lc_rec_lock *r =
		    touched_maybe(&ls->touched, &ls->ent[i].addr)
		        ? atomic_load_explicit(&ls->ent[i].pub, memory_order_acquire)
		        : NULL;
		n += r && pfile_is_published(r, LC_REC_LOCK);
	}
	return n;
}
