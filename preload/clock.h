/*
 * clock.h — the one clock lockcontend measures with: CLOCK_MONOTONIC in
 * nanoseconds (through the vDSO: no syscall, no lock, async-signal-safe).
 */
#ifndef LOCKCONTEND_CLOCK_H
#define LOCKCONTEND_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
