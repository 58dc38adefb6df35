/*
 * hooks_thread.c — pthread_create, thrd_create: a new thread learns its
 * stack bounds; pthread_setname_np: a thread's new name is shown with its
 * wait (waiting.h).
 *
 * The unwinder needs several KiB of stack (stackroom.h), and a thread may
 * have been made with very little.  The creating thread knows what the new
 * one gets: the attributes' stack (pthread_attr_setstack) or stack size
 * (theirs, or the process default).  It passes that to the new thread,
 * whose start routine is wrapped: before the program's function runs, the
 * new thread sets its bounds from it and from where glibc put its thread
 * descriptor (stackroom_thread) — no call at all, for a sanitizer's own
 * wrapper may be the function we start, and nothing it intercepts may run
 * before it (and the wrapper is not instrumented).  The wrapper's frame is
 * ours and is left out of every stack (unwind.c); the program's function,
 * its argument, its return value, pthread_exit and cancellation are
 * untouched.
 *
 * Before the first thread is made, the profile is begun if it waits for
 * it (recorder_thread_coming): a profile is always begun while its
 * process has one thread, which lets it learn the module map whatever
 * locks that thread holds (lifecycle.c).
 *
 * What is passed goes through one of a fixed set of start records, taken
 * by compare-and-swap and given back by the new thread as it starts: no
 * allocation.  With none free (HOOKS_STARTS threads starting at once), the
 * thread starts unwrapped, with its bounds unknown: it records without
 * stacks.
 */
#include <threads.h>

#include "hooks.h"
#include "real.h"
#include "stackroom.h"

#define HOOKS_STARTS 256

static struct start {
	_Atomic int taken;
	void *(*fn)(void *);
	int (*c11)(void *); /* thrd_create's */
	void *arg;
	struct stackroom_plan plan;
} starts[HOOKS_STARTS];

static struct start *hooks_start_take(void)
{
	for (int i = 0; i < HOOKS_STARTS; i++) {
		int free = 0;
		if (!atomic_load_explicit(&starts[i].taken, memory_order_relaxed) &&
		    atomic_compare_exchange_strong(&starts[i].taken, &free, 1))
			return &starts[i];
	}
	return NULL;
}

/* The new thread's first code runs before a sanitizer's own thread start
 * (which may be what we start): no instrumentation there either. */
#define HOOKS_FIRST_IN_THREAD __attribute__((no_sanitize_address, no_sanitize_thread))

/* In the new thread: its bounds, the record back, and what to run. */
HOOKS_FIRST_IN_THREAD static struct start hooks_start_open(struct start *p)
{
	struct start s = *p;
	atomic_store_explicit(&p->taken, 0, memory_order_release);
	stackroom_thread(&lc_tls, &s.plan);
	return s;
}

HOOKS_FIRST_IN_THREAD static void *hooks_thread_start(void *p)
{
	struct start s = hooks_start_open(p);
	return s.fn(s.arg);
}

HOOKS_FIRST_IN_THREAD static int hooks_c11_start(void *p)
{
	struct start s = hooks_start_open(p);
	return s.c11(s.arg);
}

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	create_fn create = real_sym_lazy(&real.pthread_create, "pthread_create");
	if (!create)
		return EAGAIN;
	recorder_thread_coming(&lc_tls);
	struct start *s = hooks_start_take();
	if (!s)
		return create(th, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	stackroom_plan(&s->plan, attr);
	int rc = create(th, attr, hooks_thread_start, s);
	if (rc)
		atomic_store(&s->taken, 0);
	return rc;
}

/* glibc's thrd_create makes its thread without the pthread_create symbol,
 * with the default attributes. */
EXPORT int thrd_create(thrd_t *th, thrd_start_t fn, void *arg)
{
	int (*create)(thrd_t *, thrd_start_t, void *) =
	    real_sym_lazy(&real.thrd_create, "thrd_create");
	if (!create)
		return thrd_error;
	recorder_thread_coming(&lc_tls);
	struct start *s = hooks_start_take();
	if (!s)
		return create(th, fn, arg);
	s->c11 = fn;
	s->arg = arg;
	stackroom_plan(&s->plan, NULL);
	int rc = create(th, hooks_c11_start, s);
	if (rc != thrd_success)
		atomic_store(&s->taken, 0);
	return rc;
}

/* A thread that names itself: the name its slot's WAITING record shows
 * (taken from the kernel when the slot was, so only later names need
 * this).  A name given to another thread reaches the record only if that
 * thread takes a slot afterwards: its slot is its own to write. */
EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	int (*setname)(pthread_t, const char *) =
	    real_sym_lazy(&real.setname, "pthread_setname_np");
	if (!setname)
		return ENOSYS;
	int rc = setname(th, name);
	if (rc == 0 && pthread_equal(th, pthread_self()))
		recorder_named(&lc_tls, name);
	return rc;
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(pthread_create);
HOOK_ALIAS(thrd_create);
HOOK_ALIAS(pthread_setname_np);
