/*
 * slots.c — per-thread records and their ownership protocol (see slots.h).
 */
#include "slots.h"

#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "clock.h"
#include "sys.h"
#include "threadrec.h"
#include "waiting.h"

/* The slot's SLOT record, then its series (none if the file has no room
 * for it: its events are then in no series).  False when there is no room
 * for the SLOT record. */
static bool slot_record(struct slots *s, struct slot *sl)
{
	struct lc_rec_slot *r = pfile_record(s->file, sizeof(*r));
	if (!r)
		return false;
	pfile_publish(r, LC_REC_SLOT);
	sl->series = series_record(s->file, r, &s->series);
	/* private room for the undo of a change that makes room (series.h);
	 * the arena full: no undo for that, the series is kept all the same */
	sl->series_image =
	    sl->series ? arena_alloc(s->arena, series_bytes(s->series.nentries)) : NULL;
	sl->pub = r;
	return true;
}

int slots_init(struct slots *s, struct arena *a, struct pfile *f, uint32_t nslots, bool waiting,
               uint32_t frames, const struct series_conf *series)
{
	s->file = f;
	s->arena = a;
	s->waiting = waiting;
	s->frames = frames;
	s->series = series ? *series : (struct series_conf){0};
	s->slot = arena_alloc(a, (size_t)(nslots + 1) * sizeof(struct slot));
	s->nslots = nslots;
	if (!s->slot || !slot_record(s, &s->slot[nslots]))
		return -1;
	atomic_store(&s->hwm, 0);
	atomic_store(&s->hint, 0);
	atomic_store(&s->threads_seen, 0);
	atomic_store(&s->thread_records, 0);
	return s->slot ? 0 : -1;
}

void slots_reset(struct slots *s)
{
	/* Only slots ever handed out hold data: leave the others untouched, so
	 * a fork child does not fault in the whole array. */
	memset(s->slot, 0, atomic_load(&s->hwm) * sizeof(struct slot));
	memset(&s->slot[s->nslots], 0, sizeof(struct slot));
	(void)slot_record(s, &s->slot[s->nslots]); /* in the new file; pub NULL: no room */
	atomic_store(&s->hwm, 0);
	atomic_store(&s->hint, 0);
	atomic_store(&s->threads_seen, 0);
	atomic_store(&s->thread_records, 0);
}

/* Slot i is below the high-water mark (it may be handed out). */
static void slots_cover(struct slots *s, uint32_t i)
{
	uint32_t hwm = atomic_load(&s->hwm);
	while (hwm < i + 1 && !atomic_compare_exchange_weak(&s->hwm, &hwm, i + 1))
		;
}

struct slot *slots_acquire(struct slots *s, bool *overflow)
{
	uint32_t start = atomic_load_explicit(&s->hint, memory_order_relaxed);
	bool room = true; /* for a new slot's record, as far as we know */
	atomic_fetch_add_explicit(&s->threads_seen, 1, memory_order_relaxed);
	for (uint32_t k = 0; k < s->nslots; k++) {
		uint32_t i = (start + k) % s->nslots;
		uint32_t expect = 0;
		if (atomic_load_explicit(&s->slot[i].in_use, memory_order_relaxed) != 0)
			continue;
		/* Above the mark, no slot has a record: useless without room
		 * for one; else the mark first, then the claim, so that a fork
		 * that stops this thread between the two, or while the
		 * record is made, leaves the child a slot it clears
		 * (slots_reset). */
		if (i >= atomic_load(&s->hwm)) {
			if (!room)
				continue;
			slots_cover(s, i);
		}
		if (atomic_compare_exchange_strong(&s->slot[i].in_use, &expect, 1)) {
			/* Ours now: its record is made on first use.  No room for
			 * one: look on for a free slot that has its record. */
			if (!s->slot[i].pub && (!room || !slot_record(s, &s->slot[i]))) {
				atomic_store(&s->slot[i].in_use, 0);
				room = false;
				continue;
			}
			if (s->waiting && !s->slot[i].waiting) /* none if no room: nothing shown */
				s->slot[i].waiting = waiting_record(s->file, s->frames);
			atomic_store_explicit(&s->hint, (i + 1) % s->nslots, memory_order_relaxed);
			*overflow = false;
			return &s->slot[i];
		}
	}
	*overflow = true;
	return &s->slot[s->nslots];
}

void slots_thread(struct slots *s, struct slot *sl, int32_t tid, uint64_t now_ns)
{
	char name[LC_THREAD_NAME] = "";
	if (sys_call(SYS_prctl, PR_GET_NAME, (long)name, 0, 0) != 0)
		name[0] = '\0';
	name[LC_THREAD_NAME - 1] = '\0';
	if (sl->waiting)
		waiting_thread(sl->waiting, tid, name);
	sl->thread = NULL;
	uint32_t n = atomic_load_explicit(&s->thread_records, memory_order_relaxed);
	while (n < SLOTS_THREAD_RECORDS &&
	       !atomic_compare_exchange_weak(&s->thread_records, &n, n + 1))
		;
	if (n < SLOTS_THREAD_RECORDS)
		sl->thread = threadrec_make(s->file, sl->pub, tid, name, now_ns);
}

void slots_named(struct slot *sl, const char *name)
{
	if (sl->waiting)
		waiting_name(sl->waiting, name);
	if (sl->thread)
		threadrec_name(sl->thread, name);
}

void slots_thread_end(struct slot *sl, const char *name, uint64_t now_ns)
{
	if (!sl->thread)
		return;
	threadrec_name(sl->thread, name); /* named by another thread since? */
	threadrec_end(sl->thread, sl->pub, now_ns);
	sl->thread = NULL;
}

void slots_release(struct slots *s, struct slot *sl)
{
	if (sl == &s->slot[s->nslots])
		return;
	if (sl->waiting)
		waiting_thread(sl->waiting, 0, ""); /* nobody's, until it is taken again */
	/* not ended (the profile ended first): a reader takes the slot's
	 * totals, which nobody adds to any more, as its end */
	sl->thread = NULL;
	atomic_store_explicit(&sl->in_use, 0, memory_order_release);
}

uint32_t slot_tag(uint32_t *tag)
{
	static _Atomic uint32_t tags;
	if (!*tag) /* 4n + 5: never IDLE nor CLOSED */
		*tag = atomic_fetch_add_explicit(&tags, 1, memory_order_relaxed) * 4 + 5;
	return *tag;
}

bool slot_enter(struct slot *sl, bool shared, uint32_t tag)
{
	uint64_t deadline = 0;
	for (;;) {
		uint32_t expect = SLOT_IDLE;
		if (atomic_compare_exchange_strong(&sl->state, &expect, tag))
			return true;
		if (expect == SLOT_CLOSED || !shared)
			return false;
		/* overflow slot: another slotless thread is inside, or this
		 * thread itself (a signal handler): never wait for ever */
		if (!clock_wait_turn(&deadline, SLOT_SHARED_WAIT_NS))
			return false;
	}
}

void slot_leave(struct slot *sl)
{
	atomic_store_explicit(&sl->state, SLOT_IDLE, memory_order_release);
}

bool slot_close(struct slot *sl, uint64_t max_ns)
{
	uint64_t deadline = 0;
	for (;;) {
		uint32_t expect = SLOT_IDLE;
		if (atomic_compare_exchange_strong_explicit(&sl->state, &expect, SLOT_CLOSED,
		                                            memory_order_acquire,
		                                            memory_order_relaxed))
			return true;
		if (expect == SLOT_CLOSED || !clock_wait_turn(&deadline, max_ns))
			return false;
	}
}

uint32_t slots_used(const struct slots *s)
{
	return atomic_load(&s->hwm);
}

struct slot *slots_overflow(const struct slots *s)
{
	return &s->slot[s->nslots];
}
