/*
 * remote.c — the remote call primitive (see remote.h).
 *
 * Stops, as waitpid(__WALL) reports them for a PTRACE_SEIZEd thread:
 *   PTRACE_EVENT_STOP, SIGTRAP     our PTRACE_INTERRUPT took
 *   PTRACE_EVENT_STOP, SIGSTOP...  a group stop (someone stopped the
 *                                  process): before a call, the thread is
 *                                  given back to it; during one, the call
 *                                  runs on, and the thread joins the stop
 *                                  when we detach
 *   signal-delivery-stop           a signal is about to be delivered: ours
 *                                  (the return to address 0) is swallowed,
 *                                  any other passed on as it came
 *   exited or killed               the thread, or the whole target, is gone
 */
#include "remote.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

#define XSTATE_MAX (64u << 10)
#define ERESTART_RESTARTBLOCK 516
#define EFLAGS_TF 0x100
#define EFLAGS_DF 0x400

uint64_t remote_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool remote_target_gone(pid_t pid)
{
	struct procfs_status st;
	pid_t *tids = NULL;
	size_t n = 0;

	if (procfs_status(pid, 0, &st) != 0)
		return true;
	if (st.state != 'Z' && st.state != 'X')
		return false;
	/* A zombie leader whose threads run on (main called pthread_exit). */
	bool gone = procfs_tasks(pid, &tids, &n) != 0 || n <= 1;
	free(tids);
	return gone;
}

/* 0 with *status; 1 at the deadline; -1 if the thread is no longer ours. */
static int remote_wait(struct remote *r, uint64_t deadline, int *status)
{
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t w = waitpid(r->tid, status, __WALL | WNOHANG);
		if (w == r->tid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		uint64_t now = remote_now();
		if (now >= deadline)
			return 1;
		struct timespec ts = {(time_t)((deadline - now) / 1000000000u),
		                      (long)((deadline - now) % 1000000000u)};
		sigtimedwait(&chld, NULL, &ts);
	}
}

static void remote_forget(struct remote *r)
{
	r->traced = r->stopped = false;
	free(r->xstate);
	r->xstate = NULL;
	r->xstate_kind = 0;
}

/* The thread is gone: 1 (give up on it) if the target still runs; -1 with
 * f set if the target is gone too. */
static int remote_vanished(struct remote *r, struct fail *f, const char *during)
{
	remote_forget(r);
	if (!remote_target_gone(r->pid)) {
		snprintf(r->skip, sizeof(r->skip), "it exited");
		return 1;
	}
	return fail_set(f, FAIL_TARGET, "%d exited while lockcontend-attach was %s", r->pid,
	                during);
}

int remote_seize(struct remote *r, pid_t pid, pid_t tid)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->tid = tid;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0)
		return -errno;
	r->traced = true;
	return 0;
}

/* Wait for the stop PTRACE_INTERRUPT asked for: 0, 1 (gave it back), -1. */
static int remote_wait_interrupt(struct remote *r, struct fail *f)
{
	uint64_t deadline = r->t_stop + REMOTE_STOP_NS;
	int status;

	for (;;) {
		int rc = remote_wait(r, deadline, &status);
		if (rc == 1)
			return fail_set(
			    f, FAIL_TARGET,
			    "thread %d of %d did not stop within %.0f s (an uninterruptible "
			    "sleep?); nothing was changed",
			    r->tid, r->pid, REMOTE_STOP_NS / 1e9);
		if (rc < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return remote_vanished(r, f, "stopping a thread");
		int event = status >> 16, sig = WSTOPSIG(status);
		if (event == PTRACE_EVENT_STOP && sig == SIGTRAP)
			return 0;
		if (event == PTRACE_EVENT_STOP) { /* a group stop: it stays in it */
			remote_leave(r);
			snprintf(r->skip, sizeof(r->skip), "it is stopped (%s)", strsignal(sig));
			return 1;
		}
		/* A signal came first: deliver it, ours is still pending. */
		if (ptrace(PTRACE_CONT, r->tid, 0, (void *)(long)(event ? 0 : sig)) != 0)
			return remote_vanished(r, f, "stopping a thread");
	}
}

int remote_stop(struct remote *r, struct fail *f)
{
	r->t_stop = remote_now();
	if (ptrace(PTRACE_INTERRUPT, r->tid, 0, 0) != 0)
		return remote_vanished(r, f, "stopping a thread");
	int rc = remote_wait_interrupt(r, f);
	if (rc != 0)
		return rc;
	r->stopped = true;
	if (ptrace(PTRACE_GETREGS, r->tid, 0, &r->saved) != 0)
		return remote_vanished(r, f, "reading a thread's registers");
	r->in_restartblock =
	    (int64_t)r->saved.orig_rax >= 0 && (int64_t)r->saved.rax == -ERESTART_RESTARTBLOCK;
	r->scratch = r->saved.rsp - REMOTE_RED_ZONE;
	return 0;
}

/* The extended state (x87, SSE, AVX...) as interrupted; a called function
 * may use any of it. */
static int remote_save_xstate(struct remote *r, struct fail *f)
{
	struct iovec iov;

	r->xstate = malloc(XSTATE_MAX);
	if (!r->xstate)
		return fail_set(f, FAIL_TARGET, "out of memory");
	iov = (struct iovec){r->xstate, XSTATE_MAX};
	if (ptrace(PTRACE_GETREGSET, r->tid, (void *)NT_X86_XSTATE, &iov) == 0) {
		r->xstate_len = iov.iov_len;
		r->xstate_kind = 1;
		return 0;
	}
	if (ptrace(PTRACE_GETFPREGS, r->tid, 0, r->xstate) == 0) {
		r->xstate_len = sizeof(struct user_fpregs_struct);
		r->xstate_kind = 2;
		return 0;
	}
	return fail_set(f, FAIL_TARGET, "cannot read the floating-point state of thread %d: %s",
	                r->tid, strerror(errno));
}

static int remote_restore_xstate(struct remote *r)
{
	struct iovec iov = {r->xstate, r->xstate_len};

	if (r->xstate_kind == 1)
		return (int)ptrace(PTRACE_SETREGSET, r->tid, (void *)NT_X86_XSTATE, &iov);
	if (r->xstate_kind == 2)
		return (int)ptrace(PTRACE_SETFPREGS, r->tid, 0, r->xstate);
	return 0;
}

int remote_write(struct remote *r, uint64_t addr, const void *data, size_t len)
{
	struct iovec local = {(void *)data, len}, remote = {(void *)addr, len};

	return process_vm_writev(r->tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

int remote_push(struct remote *r, const void *data, size_t len, uint64_t *addr, struct fail *f)
{
	uint64_t at = (r->scratch - len) & ~15ull;

	if (remote_write(r, at, data, len) != 0)
		return fail_set(f, FAIL_TARGET, "cannot write to the stack of thread %d of %d: %s",
		                r->tid, r->pid, strerror(errno));
	r->scratch = at;
	*addr = at;
	return 0;
}

int remote_read(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)addr, len};

	return process_vm_readv(r->tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

int remote_read_string(struct remote *r, uint64_t addr, char *buf, size_t cap)
{
	size_t got = 0;

	while (got + 1 < cap) { /* a page at a time: the string may end at one */
		size_t room = 4096 - ((addr + got) & 4095), want = cap - 1 - got;
		size_t len = want < room ? want : room;
		if (remote_read(r, addr + got, buf + got, len) != 0)
			break;
		void *nul = memchr(buf + got, '\0', len);
		got += len;
		if (nul)
			return 0;
	}
	buf[got] = '\0';
	return got ? 0 : -1;
}

/* ---- calls ----------------------------------------------------------------- */

/* The registers for fn(args), on a frame below everything pushed: rsp is
 * 8 off a 16-byte boundary at the entry, as after a call, and the return
 * address there is 0. */
static int remote_call_regs(struct remote *r, uint64_t fn, const uint64_t *args, int nargs,
                            struct user_regs_struct *regs, struct fail *f)
{
	static const uint64_t zero = 0;
	uint64_t ret_at = ((r->scratch - 64) & ~15ull) - 8;
	unsigned long long *slots[] = {&regs->rdi, &regs->rsi, &regs->rdx,
	                               &regs->rcx, &regs->r8,  &regs->r9};

	if (remote_write(r, ret_at, &zero, sizeof(zero)) != 0)
		return fail_set(f, FAIL_TARGET, "cannot write to the stack of thread %d of %d: %s",
		                r->tid, r->pid, strerror(errno));
	*regs = r->saved;
	regs->rip = fn;
	regs->rsp = ret_at;
	regs->rax = 0; /* no vector registers for a variadic callee */
	regs->orig_rax = (uint64_t)-1;
	regs->eflags &= ~(uint64_t)(EFLAGS_TF | EFLAGS_DF);
	for (int i = 0; i < nargs && i < 6; i++)
		*slots[i] = args[i];
	return 0;
}

/* A thread that ends in a call ends with its process, almost always (an
 * exit or a fatal signal): give the rest of it REMOTE_DEATH_NS to go. */
static bool remote_gone_soon(pid_t pid)
{
	uint64_t deadline = remote_now() + REMOTE_DEATH_NS;
	const struct timespec nap = {0, 5 * 1000 * 1000};

	while (!remote_target_gone(pid)) {
		if (remote_now() >= deadline)
			return false;
		nanosleep(&nap, NULL);
	}
	return true;
}

/* The thread (or the whole target) ended during a call. */
static int remote_died(struct remote *r, int status, bool have_status, const char *what,
                       struct fail *f)
{
	char how[64] = "";

	remote_forget(r);
	if (have_status && WIFSIGNALED(status))
		snprintf(how, sizeof(how), ", killed by SIG%s", sigabbrev_np(WTERMSIG(status)));
	else if (have_status && WIFEXITED(status))
		snprintf(how, sizeof(how), ", exit status %d", WEXITSTATUS(status));
	if (r->fault_sig)
		return fail_set(
		    f, FAIL_TARGET,
		    "%d crashed in %s: SIG%s at address %#llx (pc %#llx), delivered to it%s",
		    r->pid, what, sigabbrev_np(r->fault_sig), (unsigned long long)r->fault_addr,
		    (unsigned long long)r->fault_pc, how);
	if (!remote_gone_soon(r->pid))
		return fail_set(f, FAIL_TARGET, "thread %d of %d ended while running %s%s", r->tid,
		                r->pid, what, how);
	return fail_set(f, FAIL_TARGET, "%d exited while running %s%s", r->pid, what, how);
}

static bool remote_is_fault(int sig, const siginfo_t *si)
{
	return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	        sig == SIGTRAP) &&
	       si->si_code > 0; /* raised by the kernel, not sent */
}

/* A signal-delivery-stop during a call: 0 the call returned (*ret); 1
 * the signal was passed on; -1 the thread is gone. */
static int remote_on_signal(struct remote *r, int sig, const char *what, uint64_t *ret,
                            struct fail *f)
{
	siginfo_t si;
	struct user_regs_struct cur;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GETSIGINFO, r->tid, 0, &si) != 0 ||
	    ptrace(PTRACE_GETREGS, r->tid, 0, &cur) != 0)
		return remote_died(r, 0, false, what, f);
	if (sig == SIGSEGV && si.si_code > 0 && si.si_addr == NULL && cur.rip == 0) {
		*ret = cur.rax;
		return 0;
	}
	if ((int64_t)cur.orig_rax >= 0 && (int64_t)cur.rax == -ERESTART_RESTARTBLOCK)
		r->inner_restartblock = true;
	if (remote_is_fault(sig, &si) && !r->fault_sig) {
		r->fault_sig = sig;
		r->fault_addr = (uint64_t)si.si_addr;
		r->fault_pc = cur.rip;
	}
	r->signals++;
	if (ptrace(PTRACE_CONT, r->tid, 0, (void *)(long)sig) != 0)
		return remote_died(r, 0, false, what, f);
	return 1;
}

static void remote_warn_slow(const struct remote *r, const char *what, uint64_t ns)
{
	fprintf(stderr,
	        "lockcontend-attach: %d: thread %d has been in %s for %.0f s (waiting for a lock "
	        "another thread holds?); waiting on, since leaving now would crash the target\n",
	        r->pid, r->tid, what, ns / 1e9);
}

static int remote_call_wait(struct remote *r, const char *what, uint64_t *ret, struct fail *f)
{
	uint64_t start = remote_now(), deadline = start + REMOTE_WARN_NS;
	int status;

	for (;;) {
		int rc = remote_wait(r, deadline, &status);
		if (rc == 1) {
			remote_warn_slow(r, what, remote_now() - start);
			deadline = UINT64_MAX;
			continue;
		}
		if (rc < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return remote_died(r, status, rc == 0, what, f);
		if (status >> 16 != 0) { /* a group stop: the call runs on */
			if (ptrace(PTRACE_CONT, r->tid, 0, 0) != 0)
				return remote_died(r, 0, false, what, f);
			continue;
		}
		rc = remote_on_signal(r, WSTOPSIG(status), what, ret, f);
		if (rc != 1)
			return rc;
	}
}

int remote_call(struct remote *r, uint64_t fn, const uint64_t *args, int nargs, const char *what,
                uint64_t *ret, struct fail *f)
{
	struct user_regs_struct regs;

	if (!r->xstate_kind && remote_save_xstate(r, f) != 0)
		return -1;
	if (remote_call_regs(r, fn, args, nargs, &regs, f) != 0)
		return -1;
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &regs) != 0)
		return remote_died(r, 0, false, what, f);
	r->changed = true;
	/* From our interrupt stop, or the last call's SIGSEGV: nothing to deliver. */
	if (ptrace(PTRACE_CONT, r->tid, 0, 0) != 0)
		return remote_died(r, 0, false, what, f);
	return remote_call_wait(r, what, ret, f);
}

/* ---- giving it back -------------------------------------------------------------- */

int remote_release(struct remote *r, struct fail *f)
{
	if (!r->traced)
		return 0;
	if (r->changed) {
		struct user_regs_struct regs = r->saved;
		if (r->in_restartblock && r->inner_restartblock) {
			regs.rax = (uint64_t)-EINTR; /* its restart_block is no longer its own */
			regs.orig_rax = (uint64_t)-1;
		}
		if (ptrace(PTRACE_SETREGS, r->tid, 0, &regs) != 0)
			return remote_died(r, 0, false, "its own code again (restoring registers)",
			                   f);
		if (remote_restore_xstate(r) != 0) {
			fail_set(
			    f, FAIL_TARGET,
			    "could not restore the floating-point state of thread %d of %d: %s",
			    r->tid, r->pid, strerror(errno));
			remote_leave(r);
			return -1;
		}
	}
	if (ptrace(PTRACE_DETACH, r->tid, 0, 0) != 0)
		return remote_died(r, 0, false, "its own code again (detaching)", f);
	r->t_release = remote_now();
	remote_forget(r);
	return 0;
}

void remote_leave(struct remote *r)
{
	if (r->traced && ptrace(PTRACE_DETACH, r->tid, 0, 0) == 0)
		r->t_release = remote_now();
	remote_forget(r);
}
