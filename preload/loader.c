/*
 * loader.c — the phdr rule and the fork gate (see loader.h).
 *
 * Lock-free counters and one futex word; every wait bounded.  Called inside
 * the recursion guard, from any thread, and from signal handlers (whose own
 * stretch nests: quiet.h restores what it found).
 */
#include "loader.h"

#include "clock.h"
#include "sys.h"
#include "unwind.h"

void loader_phdr_enter(struct loader *l, struct lc_tls *t)
{
	atomic_fetch_add(&l->phdr_callers, 1);
	t->in_phdr++;
}

void loader_phdr_leave(struct loader *l, struct lc_tls *t)
{
	t->in_phdr--;
	atomic_fetch_sub(&l->phdr_callers, 1);
}

/* Wait while a fork is being prepared: asleep, not yielding — on a loaded
 * machine a dozen threads that yield in turn leave the forking thread a
 * dozenth of a CPU, and the fork, with the gate shut, takes hundreds of
 * milliseconds.  Bounded for each fork waited for: a starved thread that
 * sleeps through one fork into the next waits for the next afresh. */
static bool loader_gate_open(struct loader *l)
{
	uint64_t deadline = 0;
	int turn = 0;
	for (;;) {
		int now_turn = atomic_load(&l->fork_turn);
		if (!atomic_load(&l->fork_gate))
			return true;
		uint64_t now = clock_mono_ns();
		if (!deadline || now_turn != turn) {
			deadline = now + LOADER_GATE_WAIT_NS;
			turn = now_turn;
		} else if (now >= deadline) {
			return false;
		}
		sys_futex_wait(&l->fork_turn, turn, deadline - now);
	}
}

bool loader_enter(struct loader *l, struct lc_tls *t, struct loader_stretch *s)
{
	if (l->unsafe)
		return false;
	for (;;) {
		if (!loader_gate_open(l))
			return false;
		quiet_enter(&s->q, true);
		atomic_fetch_add(&l->users, 1);
		t->loader_cancel = s->q.cancel;
		t->in_loader = 1;
		if (!atomic_load(&l->fork_gate))
			return true;
		t->in_loader = 0;
		atomic_fetch_sub(&l->users, 1);
		quiet_leave(&s->q);
	}
}

void loader_leave(struct loader *l, struct lc_tls *t, struct loader_stretch *s)
{
	t->in_loader = 0;
	atomic_fetch_sub(&l->users, 1);
	quiet_leave(&s->q);
}

uint32_t loader_unwind(const struct loader *l, const struct lc_tls *t, uintptr_t *pcs,
                       uint32_t depth, bool *truncated)
{
	*truncated = false;
	return l->unsafe ? 0 : unwind_capture(pcs, depth, t->stack_hi, truncated);
}

/* The forking thread's own stretch (a signal handler that forks from
 * inside it) is not waited for: in the child that thread returns into it
 * and finishes it, holding whatever it held.  The others are, a short
 * while if an application thread is inside dl_iterate_phdr (a refresh may
 * be waiting for the loader's lock, and its holder for us: loader.h),
 * longer otherwise (a refresh preempted on a loaded machine). */
void loader_fork_prepare(struct loader *l, const struct lc_tls *t)
{
	int self = t->in_loader;
	atomic_fetch_add(&l->fork_gate, 1);
	uint64_t start = clock_mono_ns();
	/* the bound is read each turn: a thread that enters dl_iterate_phdr
	 * meanwhile shortens it */
	while (atomic_load(&l->users) > self) {
		uint64_t bound =
		    atomic_load(&l->phdr_callers) ? LOADER_DRAIN_WAIT_NS : LOADER_DRAIN_LONG_NS;
		if (clock_mono_ns() - start > bound)
			break;
		sched_yield();
	}
}

void loader_fork_parent(struct loader *l)
{
	atomic_fetch_sub(&l->fork_gate, 1);
	atomic_fetch_add(&l->fork_turn, 1);
	sys_futex_wake(&l->fork_turn);
}

/* Other threads of the parent were refreshing, inside dl_iterate_phdr, or
 * preparing forks: in the child they are not, and their counts would make
 * the gate wait for nothing.  One that was inside the loader left its lock
 * taken here for good; the calling thread's own stretch (it forked from a
 * handler) goes on and ends. */
void loader_fork_child(struct loader *l, const struct lc_tls *t)
{
	int self = t->in_loader, self_phdr = t->in_phdr ? 1 : 0;
	/* a refresh of ours, or an application's dl_iterate_phdr, under way
	 * in another thread left the loader's lock taken for good */
	if (atomic_load(&l->users) > self || atomic_load(&l->phdr_callers) > self_phdr)
		l->unsafe = true;
	atomic_store(&l->phdr_callers, self_phdr);
	atomic_store(&l->users, self);
	atomic_store(&l->fork_gate, 0);
}

void loader_repair(struct loader *l, struct lc_tls *t)
{
	if (!t->in_loader)
		return;
	t->in_loader = 0;
	atomic_fetch_sub(&l->users, 1);
	pthread_setcancelstate(t->loader_cancel, NULL);
}
