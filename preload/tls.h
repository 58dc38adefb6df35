/*
 * tls.h — what each thread of the program carries for lockcontend.
 *
 * One initial-exec TLS block (no __tls_get_addr, no allocation, readable
 * from a signal handler), written only by its own thread.  The fast path
 * of the hooks touches the first words (locks, unlocks, guard, hold_next);
 * the rest belongs to the recorder (recorder.c), the loader rules
 * (loader.c) and the stack bounds (stackroom.c).
 *
 * The guard: every piece of lockcontend's own work runs with guard > 0,
 * so a pthread call made meanwhile — by dlsym, or a signal handler on top
 * of us — goes straight to glibc and is never recorded as the
 * application's.
 *
 * 240 bytes (0xf0), which a library loaded by dlopen takes from the static
 * TLS glibc keeps spare for it (docs/attach.md: about 1.7 KiB in a
 * process that loaded no other such library): fields added for an attach
 * fill the padding, and test_attach keeps the library's whole TLS (this
 * and a word of the unwinder's) at most 256 bytes.
 */
#ifndef LOCKCONTEND_TLS_H
#define LOCKCONTEND_TLS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct slot;

/* Waits never registered with their lock, counted where they happen and
 * folded into the thread's slot later (recorder_defer, account_deferred),
 * by why they could not be recorded: */
enum lc_deferral {
	LC_DEFERRED_REENTRANT, /* met inside our own work (the guard was up) */
	LC_DEFERRED_NO_ROOM,   /* too little stack for the books (stackroom_tight) */
	LC_DEFERRED_NO_FILE,   /* the profile's file was being made (filing.c) */
	LC_NDEFERRED,
};

/* One reason's running sums: they only grow (a signal handler on the
 * thread may add to them at any time); the books take the rest. */
struct lc_deferred {
	_Atomic uint64_t count;
	_Atomic uint64_t delay_ns;
	uint64_t taken[2]; /* what the books have taken of them (account_deferred) */
};

struct hooks_cancel_note;

struct lc_tls {
	uint32_t locks;        /* interposed mutexes acquired by this thread ... */
	uint32_t unlocks;      /* ... and released: held = locks - unlocks */
	int32_t tid;           /* gettid(), cached for the inline fast path; 0: not yet */
	uint32_t guard;        /* > 0 while inside lockcontend */
	uintptr_t guard_frame; /* where the outermost guarded work began */
	uint32_t hold_next;    /* acquisitions until the next hold-time check */
	uint16_t hold_kind;    /* enum lc_kind of the timed critical section */
	uint16_t sems;         /* semaphores taken less those posted, 0..UINT16_MAX (lc_sem_*) */
	uintptr_t hold_lock;   /* the lock whose critical section is timed, or 0 */
	uint64_t hold_t0;
	uintptr_t hold_look;   /* the lock the next look was prepared for, or 0 */
	uint64_t hold_look_t0; /* its section starts then; 0: not to be timed */
	uint8_t pending;       /* an event to settle or a stash to publish */
	uint8_t sampling;      /* between recorder_begin and recorder_end */
	uint8_t overflow;      /* slot is the shared overflow slot (no stash) */
	uint8_t in_phdr;       /* inside an application's dl_iterate_phdr */
	uint8_t hold_drawn;    /* hold_next was drawn once (it starts at 0) */
	uint8_t inside;      /* attached: 1 + the pass its outermost work is counted in (core.h) */
	uint8_t stack_asked; /* its stack bounds were looked up (recorder_room) */
	uint8_t in_loader;   /* counted among the loader's users (loader.h) */
	struct slot *slot;
	struct recorder_sample *wait;          /* the recorded wait in progress, if any */
	struct hooks_cancel_note *cancel_note; /* our innermost cleanup (hooks.h) */
	struct recorder_sample *shown;         /* the wait its slot's WAITING record shows */
	struct slot *in_slot; /* the slot this thread is inside (recorder_repair) */
	uint32_t slot_tag;    /* what its slot's state holds then (slots.h); 0: none yet */
	uint32_t hold_spare;  /* the distance after the prepared look; 0: none */
	int loader_cancel;    /* the cancel state to restore if it never returns */
	uint32_t gen;         /* attached: the profile (core.gen) its slot and waits are of */
	uintptr_t stack_lo, stack_hi; /* the thread's stack (stackroom.h); 0: unknown */
	uint64_t rng;
	struct lc_deferred deferred[LC_NDEFERRED];
	_Atomic uint64_t deferred_when; /* when the last of them ended (the series) */
};

extern __thread struct lc_tls lc_tls __attribute__((tls_model("initial-exec")));

/* Into our own work (the guard goes up), noting where the outermost such
 * work began: recorder_abandon tells a handler's jump inside itself from
 * one out of our work. */
static inline __attribute__((always_inline)) void lc_guard_in(struct lc_tls *t)
{
	if (!t->guard++)
		t->guard_frame = (uintptr_t)__builtin_frame_address(0);
}

/* Mutexes the thread holds.  Two counters rather than one: lock and unlock
 * each add to their own, so an uncontended lock/unlock loop carries no
 * read-modify-write chain through one memory word (that chain alone cost
 * more than glibc's whole single-threaded lock).  A mutex unlocked by a
 * thread other than its locker makes a count negative: <= 0 means "holds
 * nothing we know of". */
static inline int32_t lc_held(const struct lc_tls *t)
{
	return (int32_t)(t->locks - t->unlocks);
}

/* Does the thread hold nothing we know of: no mutex (lc_held), and no
 * semaphore?  A semaphore has no owner: a binary one used as a mutex is
 * held from its sem_wait to its sem_post, but one that counts events is
 * taken by one thread and posted by another.  So `sems` counts the
 * semaphores the thread took (sem_wait and its variants, sem_trywait)
 * less those it posted, and stops at 0 rather than go below: a consumer
 * that only takes counts as holding one for good, which only makes it
 * careful (it never waits for the loader: loader.h), and a producer that
 * only posts never makes a later take look like none. */
static inline bool lc_holds_nothing(const struct lc_tls *t)
{
	return lc_held(t) <= 0 && !t->sems;
}

/* The count stays in 16 bits (the TLS block has no room for more): it
 * sticks at its top as it does at 0, where it only means "may hold one". */
static inline void lc_sem_taken(struct lc_tls *t)
{
	t->sems += t->sems != UINT16_MAX;
}

static inline void lc_sem_posted(struct lc_tls *t)
{
	t->sems -= t->sems != 0;
}

#endif
