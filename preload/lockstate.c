/*
 * lockstate.c — the per-lock table and the holder view's clocks (see
 * lockstate.h for the contract).
 */
#include "lockstate.h"

#include <string.h>

#include "spinflag.h"

_Atomic uint32_t lockstate_filter[LOCKSTATE_FILTER];

#define LOCKSTATE_PROBES 32 /* entries looked at before a lock is refused */

int lockstate_init(struct lockstate *ls, struct arena *a, struct pfile *f, uint64_t nent)
{
	ls->file = f;
	ls->ent = arena_alloc(a, nent * sizeof(*ls->ent));
	ls->mask = nent - 1;
	atomic_store(&ls->refused, 0);
	return ls->ent ? 0 : -1;
}

void lockstate_reset(struct lockstate *ls)
{
	memset((void *)ls->ent, 0, (ls->mask + 1) * sizeof(*ls->ent));
	memset((void *)lockstate_filter, 0, sizeof(lockstate_filter));
	atomic_store(&ls->refused, 0);
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
		if (a == 0 && atomic_compare_exchange_strong(&e->addr, &a, lock)) {
			struct lockrec *r = pfile_record(ls->file, sizeof(*r));
			if (r) {
				r->r.addr = lock;
				r->r.kind = kind;
				pfile_publish(r, LC_REC_LOCK);
				atomic_store_explicit(&e->pub, &r->r, memory_order_release);
			}
			return e;
		}
		if (a == lock)
			return e;
	}
	atomic_fetch_add_explicit(&ls->refused, 1, memory_order_relaxed);
	return NULL;
}

/* The flag is held for a handful of instructions by another thread (never
 * by this one: see the header). */
static void lockent_enter(struct lockent *e)
{
	spinflag_enter(&e->busy);
}

static void lockent_leave(struct lockent *e)
{
	spinflag_leave(&e->busy);
}

uint64_t lockstate_arrive(struct lockent *e, uint64_t t0)
{
	uintptr_t lock = atomic_load_explicit(&e->addr, memory_order_relaxed);
	lockent_enter(e);
	/* A charge made between t0 and now did not count this waiter: its
	 * start is the charge's time, and the gap is nobody's. */
	uint64_t start = e->reset_at > t0 ? e->reset_at : t0;
	e->nwait++;
	e->sum += start;
	lockent_leave(e);
	atomic_fetch_add_explicit(&lockstate_filter[lockstate_filter_index(lock)], 1,
	                          memory_order_relaxed);
	return start - t0;
}

/* Take the waiter out, under the flag; t1 is *t1, or read here when now
 * is given.  Returns the waiting since its last charge. */
static uint64_t lockent_depart(struct lockent *e, uint64_t t0, uint64_t *t1,
                               uint64_t (*now)(void))
{
	uintptr_t lock = atomic_load_explicit(&e->addr, memory_order_relaxed);
	lockent_enter(e);
	if (now)
		*t1 = now(); /* after every charge that counted this waiter */
	uint64_t start = e->reset_at > t0 ? e->reset_at : t0;
	e->nwait--;
	e->sum -= start;
	lockent_leave(e);
	atomic_fetch_sub_explicit(&lockstate_filter[lockstate_filter_index(lock)], 1,
	                          memory_order_relaxed);
	/* With t1 read outside the flag, a charge read after t1 (another
	 * reader's unlock, while this one had its read lock but had not left
	 * yet) may have counted a few ns past t1: nothing is left uncharged. */
	return *t1 > start ? *t1 - start : 0;
}

uint64_t lockstate_depart(struct lockent *e, uint64_t t0, uint64_t t1)
{
	return lockent_depart(e, t0, &t1, NULL);
}

uint64_t lockstate_depart_now(struct lockent *e, uint64_t t0, uint64_t (*now)(void),
                              uint64_t *t1)
{
	return lockent_depart(e, t0, t1, now);
}

uint64_t lockstate_charge(struct lockent *e, uint64_t (*now)(void))
{
	lockent_enter(e);
	uint64_t charge = 0;
	if (e->nwait) {
		/* Read inside the flag: every registered start is then <= T. */
		uint64_t t = now();
		uint64_t all = (uint64_t)e->nwait * t;
		charge = all - e->sum;
		e->sum = all;
		e->reset_at = t;
	}
	lockent_leave(e);
	return charge;
}

void lockstate_count(struct lockent *e, enum lockstate_counter c, uint64_t n)
{
	struct lc_rec_lock *r = atomic_load_explicit(&e->pub, memory_order_acquire);
	if (!r)
		return;
	uint64_t *field = c == LOCKSTATE_TRYLOCK_FAILURES ? &r->trylock_failures
	                  : c == LOCKSTATE_TIMEOUTS       ? &r->timeouts
	                                                  : &r->uncharged_ns;
	atomic_fetch_add_explicit((_Atomic uint64_t *)field, n, memory_order_relaxed);
}

/* The frames and their epoch first, then nframes (release): a reader of
 * the file sees nframes frames that are all there, with their epoch. */
void lockstate_name(struct lockent *e, const uintptr_t *pcs, uint32_t n, uint32_t epoch)
{
	uint32_t expect = 0;
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
		if (atomic_load_explicit(&ls->ent[i].addr, memory_order_acquire))
			fn(&ls->ent[i], ctx);
}

uint64_t lockstate_count_used(const struct lockstate *ls)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i <= ls->mask; i++)
		n += atomic_load_explicit(&ls->ent[i].pub, memory_order_relaxed) != NULL;
	return n;
}
