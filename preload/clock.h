/*
 * clock.h — the one clock lockcontend measures with: CLOCK_MONOTONIC in
 * nanoseconds (through the vDSO: no syscall, no lock, async-signal-safe).
 */
#ifndef LOCKCONTEND_CLOCK_H
#define LOCKCONTEND_CLOCK_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "sys.h"

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same clock by a system call, nothing between us and the kernel: for
 * a thread with little stack left (stackroom_tight), where a sanitizer's
 * clock_gettime interceptor, 2.1 KiB of stack under AddressSanitizer, may
 * not fit.  Slower than the vDSO (a syscall), and only used there. */
static inline uint64_t clock_mono_ns_raw(void)
{
	struct timespec ts = {0, 0};
	sys_call(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One turn of a wait that must end: every wait of ours for another thread
 * is bounded (docs/safety.md).  The first turn (*deadline 0) starts the
 * clock; each gives up the CPU; false once max_ns have passed. */
static inline bool clock_wait_turn(uint64_t *deadline, uint64_t max_ns)
{
	uint64_t now = clock_mono_ns();
	if (!*deadline)
		*deadline = now + max_ns;
	else if (now > *deadline)
		return false;
	sched_yield();
	return true;
}

#endif
