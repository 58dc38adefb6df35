/*
 * initsite.c — the table of where locks were initialised (see initsite.h
 * for the contract).
 */
#include "initsite.h"

int initsite_init(struct initsite *is, struct arena *a, uint64_t nent)
{
	is->keys = arena_alloc(a, nent * sizeof(*is->keys));
	is->ent = arena_alloc(a, nent * sizeof(*is->ent));
	is->mask = nent - 1;
	atomic_store(&is->refused, 0);
	return is->keys && is->ent ? 0 : -1;
}

static uint64_t initsite_home(const struct initsite *is, uintptr_t lock)
{
	uint64_t h = (uint64_t)lock * 0xC2B2AE3D27D4EB4Full;
	return (h ^ (h >> 31)) & is->mask;
}

/* The key of lock in its probes, or -1. */
static int64_t initsite_slot(const struct initsite *is, uintptr_t lock)
{
	uint64_t i = initsite_home(is, lock);
	for (int k = 0; k < INITSITE_PROBES; k++, i = (i + 1) & is->mask)
		if (atomic_load_explicit(&is->keys[i], memory_order_acquire) == lock)
			return (int64_t)i;
	return -1;
}

/* A free key in lock's probes, claimed; or -1. */
static int64_t initsite_claim(struct initsite *is, uintptr_t lock)
{
	uint64_t i = initsite_home(is, lock);
	for (int k = 0; k < INITSITE_PROBES; k++, i = (i + 1) & is->mask) {
		uintptr_t free = 0;
		if (atomic_load_explicit(&is->keys[i], memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&is->keys[i], &free, lock))
			return (int64_t)i;
	}
	return -1;
}

/* Relaxed atomic stores and loads of the entry's words: a reader may copy
 * while a writer writes (it then throws the copy away: the sequence
 * moved), and neither may be a data race. */
#define INITSITE_PUT(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define INITSITE_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

void initsite_note(struct initsite *is, uintptr_t lock, const uintptr_t *pcs, uint32_t n,
                   uint32_t epoch)
{
	if (!lock || !n)
		return;
	int64_t i = initsite_slot(is, lock);
	if (i < 0 && (i = initsite_claim(is, lock)) < 0) {
		atomic_fetch_add_explicit(&is->refused, 1, memory_order_relaxed);
		return;
	}
	if (n > LC_LOCK_INIT_FRAMES)
		n = LC_LOCK_INIT_FRAMES;
	struct initsite_entry *e = &is->ent[i];
	/* Only the thread that holds the key writes its entry.  Odd while it
	 * does (even if a writer cut short by a fork left it odd), then even,
	 * and always on: a reader sees any write between its two looks. */
	uint32_t seq = (atomic_load_explicit(&e->seq, memory_order_relaxed) | 1) + 2;
	atomic_store_explicit(&e->seq, seq, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	INITSITE_PUT(e->epoch, epoch);
	INITSITE_PUT(e->nframes, n);
	for (uint32_t k = 0; k < n; k++)
		INITSITE_PUT(e->pcs[k], pcs[k]);
	INITSITE_PUT(e->addr, lock);
	atomic_store_explicit(&e->seq, seq + 1, memory_order_release);
}

void initsite_forget(struct initsite *is, uintptr_t lock)
{
	int64_t i = initsite_slot(is, lock);
	uintptr_t expect = lock;
	if (i >= 0)
		atomic_compare_exchange_strong(&is->keys[i], &expect, 0);
}

bool initsite_find(const struct initsite *is, uintptr_t lock, struct initsite_stack *out)
{
	int64_t i = initsite_slot(is, lock);
	if (i < 0)
		return false;
	const struct initsite_entry *e = &is->ent[i];
	uint32_t seq = atomic_load_explicit(&e->seq, memory_order_acquire);
	if (seq & 1)
		return false;
	uintptr_t addr = INITSITE_GET(e->addr);
	out->epoch = INITSITE_GET(e->epoch);
	out->nframes = INITSITE_GET(e->nframes);
	if (out->nframes == 0 || out->nframes > LC_LOCK_INIT_FRAMES)
		return false;
	for (uint32_t k = 0; k < out->nframes; k++)
		out->pcs[k] = INITSITE_GET(e->pcs[k]);
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&e->seq, memory_order_relaxed) == seq && addr == lock &&
	       atomic_load_explicit(&is->keys[i], memory_order_relaxed) == lock;
}

bool initsite_publish(const struct initsite *is, struct pfile *f, uintptr_t lock)
{
	struct initsite_stack st;
	if (!initsite_find(is, lock, &st))
		return false;
	struct lc_rec_lock_init *r = pfile_record(f, sizeof(*r) + st.nframes * sizeof(uint64_t));
	if (!r)
		return false;
	r->addr = lock;
	r->epoch = st.epoch;
	r->nframes = st.nframes;
	uint64_t *pcs = (uint64_t *)(r + 1);
	for (uint32_t k = 0; k < st.nframes; k++)
		pcs[k] = st.pcs[k];
	pfile_publish(r, LC_REC_LOCK_INIT);
	return true;
}
