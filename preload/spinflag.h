/*
 * spinflag.h — a flag held for a few stores, never across a call.
 *
 * For data that several threads update together in a handful of
 * instructions (a lock entry's waiter clocks, the profile file's append
 * point).  The holder never blocks and never calls out while holding it,
 * so a waiter spins briefly, then yields.  Callers must make sure a thread
 * never waits for a flag it holds itself: every user takes it inside the
 * recursion guard, where a signal handler's lock calls go straight to
 * glibc.
 */
#ifndef LOCKCONTEND_SPINFLAG_H
#define LOCKCONTEND_SPINFLAG_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

static inline void spinflag_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static inline void spinflag_enter(_Atomic uint32_t *flag)
{
	for (unsigned spins = 0; atomic_exchange_explicit(flag, 1, memory_order_acquire);) {
		if (++spins < 64)
			spinflag_relax();
		else
			sched_yield();
	}
}

static inline void spinflag_leave(_Atomic uint32_t *flag)
{
	atomic_store_explicit(flag, 0, memory_order_release);
}

#endif
