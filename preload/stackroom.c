/*
 * stackroom.c — a thread's stack bounds (see stackroom.h).
 */
#include "stackroom.h"

#include <pthread.h>
#include <sys/resource.h>

#include "procmaps.h"
#include "sys.h"
#include "tls.h"

/* A glibc thread's descriptor and static TLS sit at the top of its stack
 * mapping: 2.3 KiB of descriptor, and the static TLS below it. */
#define STACKROOM_TCB_TOP (64 * 1024)

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

void stackroom_plan(struct stackroom_plan *p, const pthread_attr_t *attr)
{
	pthread_attr_t def;
	void *addr;
	size_t size;
	p->addr = 0;
	p->size = 0;
	if (!attr) {
		if (pthread_getattr_default_np(&def) != 0)
			return;
		if (pthread_attr_getstacksize(&def, &size) == 0)
			p->size = size;
		pthread_attr_destroy(&def);
		return;
	}
	/* glibc answers stackaddr - stacksize, and a stackaddr of 0 when the
	 * program set none: then the sum is 0. */
	if (pthread_attr_getstack(attr, &addr, &size) == 0 && (uintptr_t)addr + size != 0) {
		p->addr = (uintptr_t)addr;
		p->size = size;
	} else if (pthread_attr_getstacksize(attr, &size) == 0) {
		p->size = size;
	}
}

/* Runs before a sanitizer's thread start: not instrumented. */
__attribute__((no_sanitize_address, no_sanitize_thread)) void stackroom_thread(
    struct lc_tls *t, const struct stackroom_plan *p)
{
	if (p->addr) {
		t->stack_lo = p->addr;
		t->stack_hi = p->addr + p->size;
		return;
	}
	uintptr_t tcb = (uintptr_t)__builtin_thread_pointer();
	if (!p->size || tcb + 4096 < p->size)
		return;
	t->stack_lo = tcb + 4096 - p->size;
	t->stack_hi = tcb;
}

bool stackroom_learn_main(struct lc_tls *t)
{
	if (sys_call(SYS_gettid, 0, 0, 0, 0) != getpid())
		return false;
	stackroom_main(t);
	/* a fork child's thread is its main thread, its stack elsewhere */
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (sp > t->stack_hi || sp <= t->stack_lo)
		t->stack_lo = t->stack_hi = 0;
	return true;
}

void stackroom_learn(struct lc_tls *t)
{
	if (stackroom_learn_main(t))
		return;
	struct procmaps_vma v;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t tcb = (uintptr_t)__builtin_thread_pointer();
	/* Only a stack glibc made (or one the program mapped for it alone):
	 * a stack carved from a larger mapping (the heap) has no bounds we
	 * can trust, and records without stacks. */
	if (!procmaps_find(sp, &v) || tcb < v.lo || tcb >= v.hi || v.hi - tcb > STACKROOM_TCB_TOP)
		return;
	t->stack_lo = v.lo;
	t->stack_hi = v.hi;
}

bool stackroom_enough(const struct lc_tls *t)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	return t->stack_lo && sp <= t->stack_hi && sp > t->stack_lo &&
	       sp - t->stack_lo >= STACKROOM_UNWIND;
}

bool stackroom_tight(const struct lc_tls *t)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	return t->stack_lo && sp <= t->stack_hi &&
	       (sp <= t->stack_lo || sp - t->stack_lo < STACKROOM_BOOKS);
}
