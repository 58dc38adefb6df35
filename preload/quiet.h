/*
 * quiet.h — run a stretch of our own code that no cancellation, and where
 * others may wait for it no signal handler, can cut into.
 *
 * A thread that other threads may wait for must not be stopped halfway by
 * the program: a collector's suspend handler that sleeps until the world
 * restarts, a handler that siglongjmps away, pthread_cancel.  Cancellation
 * is turned off in every stretch of ours that calls out to the loader:
 * cheap, no system call.  Asynchronous signals are blocked only where
 * someone may wait for us — inside the loader's dl_iterate_phdr (its lock)
 * and the module map's ordered publication — because blocking costs two
 * rt_sigprocmask calls, about 2 us here; an unwind takes no lock
 * (unwind.h) and is not blocked.  Synchronous signals (a fault in our
 * code) still arrive: blocking them would only turn a crash into a silent
 * kill.  Signals that arrive meanwhile are delivered when the stretch ends.
 */
#ifndef LOCKCONTEND_QUIET_H
#define LOCKCONTEND_QUIET_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

struct quiet {
	sigset_t old;
	int cancel;
	bool masked;
};

static inline void quiet_enter(struct quiet *q, bool signals)
{
	q->masked = signals;
	if (signals) {
		sigset_t all;
		sigfillset(&all);
		sigdelset(&all, SIGSEGV);
		sigdelset(&all, SIGBUS);
		sigdelset(&all, SIGFPE);
		sigdelset(&all, SIGILL);
		sigdelset(&all, SIGTRAP);
		sigdelset(&all, SIGSYS);
		pthread_sigmask(SIG_BLOCK, &all, &q->old);
	}
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &q->cancel);
}

static inline void quiet_leave(struct quiet *q)
{
	pthread_setcancelstate(q->cancel, NULL);
	if (q->masked)
		pthread_sigmask(SIG_SETMASK, &q->old, NULL);
}

#endif
