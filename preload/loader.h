/*
 * loader.h — our calls into libunwind and the loader, fenced so that they
 * never close a cycle the program does not have, nor leave a fork child
 * stuck.
 *
 * Two locks we do not own are involved.  libunwind (as Debian builds it: no
 * per-thread cache) takes a process-wide mutex of its own in every unwind,
 * and may call dl_iterate_phdr, which takes the loader's lock; glibc resets
 * neither in a fork child.
 *
 * The phdr rules.  A thread inside an application's dl_iterate_phdr
 * callback holds the loader's lock and may wait for a mutex, so:
 *   - a thread inside a dl_iterate_phdr callback never unwinds;
 *   - a thread that holds a mutex unwinds only while no application thread
 *     is inside dl_iterate_phdr: the caller announces itself and waits for
 *     such unwinds to end (loader_phdr_enter), the unwinder announces
 *     itself and then looks (both sequentially consistent, so one of the
 *     two always sees the other).
 *
 * The fork gate.  Every stretch of ours that calls libunwind or the loader
 * is counted (users); fork's prepare handler shuts a gate and waits for
 * the count to drain before the process is copied; a thread that meets the
 * shut gate sleeps until the fork is done (bounded for each fork: then it
 * does without).  The drain is short (LOADER_DRAIN_WAIT_NS) while an
 * application thread is inside dl_iterate_phdr: an unwinder may itself
 * wait for the loader's lock, held by that thread, whose callback waits
 * for a mutex the forking thread holds — waiting longer would only stall
 * all three; otherwise it is longer (LOADER_DRAIN_LONG_NS: an unwinder
 * preempted on a loaded machine once outlasted 10 ms, and the child lost
 * every stack).  A child that still finds the count
 * above zero — the bound ran out, or it was made without fork's handlers —
 * never calls either (unsafe): its events have no stack and its module map
 * stays as it is.
 *
 * A stretch is quiet (quiet.h): no cancellation, and signals blocked where
 * others may wait for it.  What cannot be done now is done without: the
 * event has no stack (LC_LOST_NO_STACK).  Every wait here ends.
 */
#ifndef LOCKCONTEND_LOADER_H
#define LOCKCONTEND_LOADER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "quiet.h"
#include "tls.h"

#define LOADER_DRAIN_WAIT_NS (10 * 1000 * 1000ull)  /* fork, for our unwinders... */
#define LOADER_DRAIN_LONG_NS (250 * 1000 * 1000ull) /* ...none in dl_iterate_phdr */
#define LOADER_GATE_WAIT_NS (1000 * 1000 * 1000ull) /* a fork; an unwinder with a mutex */

/* A cache line of its own: every unwind writes `users`, and the recorder's
 * hot fields beside it (struct core) would bounce between the threads. */
struct loader {
	_Atomic int phdr_callers;     /* application threads in dl_iterate_phdr */
	_Atomic int locked_unwinders; /* threads unwinding with a mutex held */
	_Atomic int users;            /* our stretches in libunwind or the loader */
	_Atomic int fork_gate;        /* forks being prepared: shut while above 0 */
	_Atomic int fork_turn;        /* one more each time a fork is done (futex) */
	bool unsafe;                  /* a child whose fork caught a user inside */
} __attribute__((aligned(64)));

/* One stretch of ours: how to undo its quiet, and the thread's
 * hold-sample countdown kept aside (our own locking inside must not move
 * it: recorder_hold_check). */
struct loader_stretch {
	struct quiet q;
	uint32_t hold_next;
};

/* Around an application's dl_iterate_phdr. */
void loader_phdr_enter(struct loader *l, struct lc_tls *t);
void loader_phdr_leave(struct loader *l, struct lc_tls *t);

/* Into a stretch that calls libunwind or the loader (signals: block them,
 * others may wait for us).  False: not now, do without. */
bool loader_enter(struct loader *l, struct lc_tls *t, bool signals, struct loader_stretch *s);
void loader_leave(struct loader *l, struct lc_tls *t, struct loader_stretch *s);

/* The calling thread's stack into pcs (room for depth + STASH_SLACK), if
 * the rules above allow it now: the number of frames, 0 if not;
 * *truncated if the stack was deeper. */
uint32_t loader_unwind(struct loader *l, struct lc_tls *t, uintptr_t *pcs, uint32_t depth,
                       bool *truncated);

/* fork()'s prepare and parent handlers; the child's reset (only the
 * calling thread exists). */
void loader_fork_prepare(struct loader *l, const struct lc_tls *t);
void loader_fork_parent(struct loader *l);
void loader_fork_child(struct loader *l, const struct lc_tls *t);

/* A signal handler jumped out of the thread's stretch: give back its place
 * among the users and its cancel state. */
void loader_repair(struct loader *l, struct lc_tls *t);

#endif
