/*
 * stackroom.h — how much stack a thread has left, before we unwind on it.
 *
 * Unwinding takes a few KiB of stack (unwind.h: the walk under 1 KiB,
 * libgcc's unwinder 1.3 KiB, 4.5 KiB when its first call also resolves
 * lazily bound symbols, which the library, linked -z now, never does), on
 * top of whatever the program has used when it calls a lock.  A thread
 * made with a small stack (16 KiB is allowed) that already used most of
 * it would die of SIGSEGV inside the unwinder.  So every thread's stack
 * bounds are known before it records:
 *   - the main thread's, at start-up: the top the kernel gave it
 *     (__libc_stack_end) and RLIMIT_STACK below it — or at its first
 *     event, if that came first: the constructors of the program's own
 *     libraries run before ours (stackroom_learn_main);
 *   - every thread made by pthread_create or thrd_create, as it starts:
 *     both are interposed (hooks_thread.c); the creator passes on the
 *     stack the attributes give it (stackroom_plan), and the new thread
 *     places it: the program's own memory (pthread_attr_setstack) is where
 *     it says; a stack glibc made is STACKSIZE bytes below glibc's thread
 *     descriptor, which sits at the stack's top (the thread pointer, at
 *     most 4 KiB below the top: counted as if it were 4 KiB, so the room
 *     is never over-estimated; the guard page is below STACKSIZE);
 *   - a thread that existed before an attach (docs/attach.md), which no
 *     wrapper saw start: the main thread as above; any other from the
 *     mapping that holds its stack pointer (procmaps.h), if that mapping
 *     is a stack glibc made (its thread descriptor in the mapping's top
 *     64 KiB); looked up once, by its first event (stackroom_learn);
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

/* Measured (x86-64, painting the stack): 2.1 KiB at most below the
 * caller of unwind_capture, walk or libgcc (test_unwind holds it to half
 * of this); 10 KiB, set when libunwind needed 7.7, leaves our frames above
 * it a wide margin. */
#define STACKROOM_UNWIND (10 * 1024)

/* The recorder's work without an unwind (settling and publishing the
 * previous event, the holder view's clocks and charges, the series) takes
 * stack too.  Measured on test/fixtures/small_stack.c's 16 KiB threads,
 * bound now (LD_BIND_NOW=1: the program's lazy binding is not the deepest
 * call), x86-64: an unlock's publish of the previous event reached 1.3 to
 * 1.5 KiB below the program's call (-O2); under AddressSanitizer a wait's
 * end took more than the 3.2 KiB it had (larger frames, and the
 * clock_gettime interceptor's 2.1 KiB).  Below STACKROOM_BOOKS (2.5 to 3x
 * those) a wait is only timed, by syscall, and counted, as no_room when
 * the thread has room again or at its exit; an unlock only releases
 * (stackroom_tight).  The room is counted from stack_lo, itself a low
 * estimate. */
#if defined(__SANITIZE_ADDRESS__)
#define STACKROOM_BOOKS (8 * 1024)
#else
#define STACKROOM_BOOKS (4 * 1024)
#endif

#include <pthread.h>
#include <stddef.h>

struct lc_tls;

/* What a new thread's stack will be, as its creator knows it. */
struct stackroom_plan {
	uintptr_t addr; /* the program's own stack, or 0: glibc makes one */
	size_t size;
};

/* The calling thread is the process's main thread: bounds from the kernel's
 * start-up stack and RLIMIT_STACK. */
void stackroom_main(struct lc_tls *t);

/* In the creator: the stack attr (NULL: the defaults) gives. */
void stackroom_plan(struct stackroom_plan *p, const pthread_attr_t *attr);

/* In the new thread, first thing: its bounds from the plan.  Calls
 * nothing. */
void stackroom_thread(struct lc_tls *t, const struct stackroom_plan *p);

/* Attached: the bounds of a thread no wrapper saw start (it existed before
 * the attach), found now.  Reads /proc/self/maps: once per thread. */
void stackroom_learn(struct lc_tls *t);

/* The calling thread's bounds if it is the process's main thread (true);
 * left unknown if its stack pointer is not inside them (a fork child of a
 * thread no wrapper saw start). */
bool stackroom_learn_main(struct lc_tls *t);

/* Is there room to unwind here? */
bool stackroom_enough(const struct lc_tls *t);

/* Is there too little room for the recorder's own work here (known bounds,
 * less than STACKROOM_BOOKS below the stack pointer, or below the bounds'
 * low end, which is a lower estimate of the room)?  Unknown bounds, or a
 * stack pointer above them (a signal handler's alternate stack): false. */
bool stackroom_tight(const struct lc_tls *t);

#endif
