/*
 * stackroom.h — how much stack a thread has left, before we unwind on it.
 *
 * Unwinding takes several KiB of stack (libunwind: about 5 KiB once warm,
 * 7.7 KiB the first time in a process), on top of whatever the program has
 * used when it calls a lock.  A thread made with a small stack (16 KiB is
 * allowed) that already used half of it would die of SIGSEGV inside the
 * unwinder.  So every thread's stack bounds are known before it records:
 *   - the main thread's, at start-up: the top the kernel gave it
 *     (__libc_stack_end) and RLIMIT_STACK below it;
 *   - every thread made by pthread_create or thrd_create, as it starts:
 *     both are interposed (hooks_thread.c) and the new thread asks glibc
 *     (pthread_getattr_np) before it runs the program's function;
 *   - any other thread (glibc's own, a raw clone): unknown.
 * A thread unwinds only when the stack pointer lies inside its bounds with
 * STACKROOM_UNWIND bytes below it; otherwise its event goes to the
 * sentinel, reason "no stack room".  A signal handler on an alternate stack
 * is outside the bounds: no unwind either.
 */
#ifndef LOCKCONTEND_STACKROOM_H
#define LOCKCONTEND_STACKROOM_H

#include <stdbool.h>
#include <stdint.h>

/* Measured (libunwind 1.6, x86-64): 7.7 KiB at most for unw_backtrace,
 * our frames above it, and a margin. */
#define STACKROOM_UNWIND (10 * 1024)

struct lc_tls;

/* The calling thread is the process's main thread: bounds from the kernel's
 * start-up stack and RLIMIT_STACK. */
void stackroom_main(struct lc_tls *t);

/* The calling thread, as it starts: bounds from glibc (it allocates: call
 * it only outside the lock hooks). */
void stackroom_thread(struct lc_tls *t);

/* Is there room to unwind here? */
bool stackroom_enough(const struct lc_tls *t);

#endif
