/*
 * loader.h — our calls into the loader, fenced so that they never close a
 * cycle the program does not have, nor leave a fork child stuck.
 *
 * Our one call into the loader is dl_iterate_phdr, from the module map's
 * refresh (modmap.h): it takes the loader's lock, which glibc does not
 * reset in a fork child, and an application's dl_iterate_phdr holds that
 * lock while its callback runs — a callback that may wait for a mutex.
 * Unwinding takes no lock at all (unwind.h: frames are found with
 * _dl_find_object, lock-free), so it is fenced by nothing here but the
 * unsafe child below; it may run in a callback and with mutexes held.
 *
 * The phdr rule.  A refresh waits for the loader's lock, so it never runs
 * with a mutex held (a callback may be waiting for that mutex while its
 * thread holds the loader's lock) nor inside a callback: the recorder
 * refreshes only when the thread holds no mutex, nor a semaphore it may
 * hold (tls.h's lc_holds_nothing), and is outside
 * dl_iterate_phdr (in_phdr, kept by loader_phdr_enter and _leave around
 * the application's calls) — but around the program's own dlclose, which
 * takes the loader's locks itself, in the order the program chose.
 *
 * The fork gate.  Every refresh is a counted stretch (users); fork's
 * prepare handler shuts a gate and waits for the count to drain before the
 * process is copied, or a child could inherit the loader's lock taken for
 * good; a thread that meets the shut gate sleeps until the fork is done
 * (bounded for each fork: then it does without).  The drain is short
 * (LOADER_DRAIN_WAIT_NS) while an application thread is inside
 * dl_iterate_phdr: a refresh may wait for the loader's lock, held by that
 * thread, whose callback waits for a mutex the forking thread holds —
 * waiting longer would only stall all three; otherwise it is longer
 * (LOADER_DRAIN_LONG_NS: a thread preempted on a loaded machine may take
 * that long to finish).  A child that still finds the count above zero —
 * the bound ran out, or it was made without fork's handlers — or that
 * finds an application thread of the parent inside dl_iterate_phdr (its
 * lock is held in the child for good) is unsafe:
 * it never refreshes its module map, which starts empty in a child, and so
 * takes no stack either (its frames could not be named).
 *
 * A stretch is quiet (quiet.h): no cancellation, and signals blocked, for
 * others may wait for us while we hold the loader's lock.  What cannot be
 * done now is done without: the map is refreshed later, or the event has
 * no stack (LC_LOST_NO_STACK).  Every wait here ends.
 */
#ifndef LOCKCONTEND_LOADER_H
#define LOCKCONTEND_LOADER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "quiet.h"
#include "tls.h"

#define LOADER_DRAIN_WAIT_NS (10 * 1000 * 1000ull)  /* fork, for our refreshes... */
#define LOADER_DRAIN_LONG_NS (250 * 1000 * 1000ull) /* ...none in dl_iterate_phdr */
#define LOADER_GATE_WAIT_NS (1000 * 1000 * 1000ull) /* a fork being prepared */

/* A cache line of its own: the recorder's hot fields beside it (struct
 * core) must not bounce with an application's dl_iterate_phdr calls. */
struct loader {
	_Atomic int phdr_callers; /* application threads in dl_iterate_phdr */
	_Atomic int users;        /* our stretches in the loader */
	_Atomic int fork_gate;    /* forks being prepared: shut while above 0 */
	_Atomic int fork_turn;    /* one more each time a fork is done (futex) */
	bool unsafe;              /* a child whose fork caught a user inside */
} __attribute__((aligned(64)));

/* One stretch of ours: how to undo its quiet. */
struct loader_stretch {
	struct quiet q;
};

/* Around an application's dl_iterate_phdr. */
void loader_phdr_enter(struct loader *l, struct lc_tls *t);
void loader_phdr_leave(struct loader *l, struct lc_tls *t);

/* Into a stretch that calls the loader.  False: not now, do without. */
bool loader_enter(struct loader *l, struct lc_tls *t, struct loader_stretch *s);
void loader_leave(struct loader *l, struct lc_tls *t, struct loader_stretch *s);

/* The calling thread's stack into pcs (room for depth + STASH_SLACK): the
 * number of frames, 0 in an unsafe child; *truncated if the stack was
 * deeper.  Lock-free: from anywhere, at any time. */
uint32_t loader_unwind(const struct loader *l, const struct lc_tls *t, uintptr_t *pcs,
                       uint32_t depth, bool *truncated);

/* fork()'s prepare and parent handlers; the child's reset (only the
 * calling thread exists). */
void loader_fork_prepare(struct loader *l, const struct lc_tls *t);
void loader_fork_parent(struct loader *l);
void loader_fork_child(struct loader *l, const struct lc_tls *t);

/* A signal handler jumped out of the thread's stretch: give back its place
 * among the users and its cancel state. */
void loader_repair(struct loader *l, struct lc_tls *t);

#endif
