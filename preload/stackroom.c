/*
 * stackroom.c — a thread's stack bounds (see stackroom.h).
 */
#include "stackroom.h"

#include <pthread.h>
#include <sys/resource.h>

#include "recorder.h"

extern void *__libc_stack_end; /* the kernel's stack top at start-up (ld.so) */

void stackroom_main(struct lc_tls *t)
{
	struct rlimit rl;
	uintptr_t top = (uintptr_t)__libc_stack_end;
	if (!top || getrlimit(RLIMIT_STACK, &rl) != 0)
		return;
	/* Unlimited: the stack grows until it meets another mapping; 8 MiB
	 * is what a limit would have been. */
	uintptr_t size = rl.rlim_cur == RLIM_INFINITY ? 8u << 20 : (uintptr_t)rl.rlim_cur;
	/* The top holds argv and the environment: a few pages above the
	 * first frame, counted in the limit too. */
	t->stack_hi = top + 64 * 1024;
	t->stack_lo = size < top ? top - size + 64 * 1024 : 0;
}

void stackroom_thread(struct lc_tls *t)
{
	pthread_attr_t a;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	if (pthread_attr_getstack(&a, &addr, &size) == 0) {
		t->stack_lo = (uintptr_t)addr;
		t->stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&a);
}

bool stackroom_enough(const struct lc_tls *t)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	return t->stack_lo && sp <= t->stack_hi && sp > t->stack_lo &&
	       sp - t->stack_lo >= STACKROOM_UNWIND;
}
