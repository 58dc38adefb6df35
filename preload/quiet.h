/*
 * quiet.h — run a stretch of our own code that no signal handler or
 * cancellation can cut into.
 *
 * A thread that other threads may wait for — one unwinding (the loader's
 * lock, recorder.c's phdr rule) or refreshing the module map (its entries
 * are published in order) — must not be stopped halfway by the program: a
 * collector's suspend handler that sleeps until the world restarts, a
 * handler that siglongjmps away, pthread_cancel.  So such stretches block
 * every asynchronous signal (synchronous ones — a fault in our code — still
 * arrive: blocking them would only turn a crash into a silent kill) and
 * turn cancellation off.  Two rt_sigprocmask calls: for slow paths only.
 * Signals that arrive meanwhile are delivered when the stretch ends.
 */
#ifndef LOCKCONTEND_QUIET_H
#define LOCKCONTEND_QUIET_H

#include <pthread.h>
#include <signal.h>

struct quiet {
	sigset_t old;
	int cancel;
};

static inline void quiet_enter(struct quiet *q)
{
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, &q->old);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &q->cancel);
}

static inline void quiet_leave(struct quiet *q)
{
	pthread_setcancelstate(q->cancel, NULL);
	pthread_sigmask(SIG_SETMASK, &q->old, NULL);
}

#endif
