/*
 * hooks_thread.c — pthread_create: a new thread learns its stack bounds.
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

#include "hooks.h"
#include "real.h"
#include "stackroom.h"

struct start {
	void *(*fn)(void *);
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

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
	create_fn create = real_sym_lazy(&real.pthread_create, "pthread_create");
	if (!create)
		return EAGAIN;
	struct start *s = malloc(sizeof(*s));
	if (!s)
		return create(th, attr, fn, arg);
	*s = (struct start){fn, arg};
	int rc = create(th, attr, hooks_thread_start, s);
	if (rc)
		free(s);
	return rc;
}
