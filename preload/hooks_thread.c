/*
 * hooks_thread.c — pthread_create, thrd_create: a new thread learns its
 * stack bounds.
 *
 * The unwinder needs several KiB of stack (stackroom.h), and a thread may
 * have been made with very little.  glibc knows a thread's bounds, but
 * asking it allocates, which no lock hook may do; so each new thread asks
 * once, as it starts, before the program's function runs: the start
 * routine is wrapped.  The wrapper's frame is ours, and is left out of
 * every stack (unwind.c); the program's function, its argument, its return
 * value, pthread_exit and cancellation are untouched.  If the small record
 * that carries them cannot be allocated, the thread starts as it would
 * have, with its bounds unknown (it records without stacks).
 */
#include <stdlib.h>
#include <threads.h>

#include "hooks.h"
#include "real.h"
#include "stackroom.h"

struct start {
	void *(*fn)(void *);
	int (*c11)(void *); /* thrd_create's */
	void *arg;
};

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static void *hooks_thread_start(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	stackroom_thread(&lc_tls);
	return s.fn(s.arg);
}

static int hooks_c11_start(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	stackroom_thread(&lc_tls);
	return s.c11(s.arg);
}

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
	create_fn create = real_sym_lazy(&real.pthread_create, "pthread_create");
	if (!create)
		return EAGAIN;
	struct start *s = malloc(sizeof(*s));
	if (!s)
		return create(th, attr, fn, arg);
	*s = (struct start){.fn = fn, .arg = arg};
	int rc = create(th, attr, hooks_thread_start, s);
	if (rc)
		free(s);
	return rc;
}

/* glibc's thrd_create makes its thread without the pthread_create symbol. */
EXPORT int thrd_create(thrd_t *th, thrd_start_t fn, void *arg)
{
	int (*create)(thrd_t *, thrd_start_t, void *) = real_sym_lazy(&real.thrd_create,
	                                                              "thrd_create");
	if (!create)
		return thrd_error;
	struct start *s = malloc(sizeof(*s));
	if (!s)
		return create(th, fn, arg);
	*s = (struct start){.c11 = fn, .arg = arg};
	int rc = create(th, hooks_c11_start, s);
	if (rc != thrd_success)
		free(s);
	return rc;
}
