/*
 * borrow.h — choosing the thread to borrow, and stopping it at a safe
 * point.
 *
 * One thread of the target is stopped at a time, and only one is kept:
 * the others run on untouched.  Threads are taken from /proc/PID/task in
 * order of preference, from what /proc says before anything is stopped:
 *
 *   1. blocked in a system call that restarts exactly (read on a pipe, a
 *      futex wait without timeout, accept, wait4...): it loses nothing
 *      while it is borrowed, and its stack, frozen, is scanned before it
 *      is stopped (stackscan.h), so one in malloc is not even stopped
 *      (one whose scan is in doubt comes after the others of its kind);
 *   2. running, or blocked outside a system call;
 *   3. blocked in a call that restarts through the kernel's restart_block
 *      (nanosleep, a timed futex wait): exact too unless one of our calls
 *      is itself interrupted so (remote.h), taken from the second round
 *      on, or at once when there is no thread of kinds 1 and 2;
 *   4. blocked in a call that a stop ends with EINTR (epoll_wait,
 *      sigtimedwait): the program sees an EINTR, as after any stop,
 *      taken only in the second half of the time, or at once when there
 *      is no other kind of thread.
 *
 * No thread is borrowed while another is blocked (in a system call other
 * than a futex wait) inside the unsafe set: it may hold a lock the calls
 * will wait for, until the program's own threads move, and the borrowed
 * one cannot (a dl_iterate_phdr callback or a fork handler reading a pipe
 * the main thread writes).  A blocked thread whose first look is in doubt
 * is stopped a moment to settle it; the verdict is kept while /proc shows
 * it blocked at the same sp and pc.  At the end, such a thread is named.
 *
 * Never: zombies, stopped or traced threads, threads in an uninterruptible
 * sleep.  A thread stopped is borrowed if its registers and stack pass
 * the scan and it has BORROW_MIN_STACK of stack left (the main thread's
 * grows); otherwise it is given back at once, untouched.  When a round
 * over the threads finds none, the target runs 2-20 ms and a round
 * starts again, up to BORROW_BUDGET_NS or BORROW_MAX_TRIES stops.
 */
#ifndef LOCKCONTEND_ATTACH_BORROW_H
#define LOCKCONTEND_ATTACH_BORROW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fail.h"
#include "locate.h"
#include "remote.h"

#define BORROW_BUDGET_NS (2000ull * 1000 * 1000)
#define BORROW_MAX_TRIES 500
#define BORROW_MIN_STACK (64u << 10)

struct borrow_stats {
	unsigned tries; /* threads stopped, the borrowed one included */
	unsigned rounds;
};

/* A thread of the target stopped at a safe point, in *r.  debug: a line
 * on stderr per thread tried or passed over. */
int borrow_thread(const struct locate *l, bool debug, struct remote *r, struct borrow_stats *stats,
                  struct fail *f);

#endif
