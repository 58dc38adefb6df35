/*
 * remote.h — calling a function in another process, on one of its threads,
 * with ptrace: the remote call primitive.
 *
 *   remote_seize    PTRACE_SEIZE the one thread (nothing else is traced)
 *   remote_stop     PTRACE_INTERRUPT it and wait for the stop; its
 *                   registers and extended state (xmm, ymm: NT_X86_XSTATE)
 *                   are saved as interrupted
 *   remote_push     write bytes below its stack's red zone (a string)
 *   remote_call     run fn(args) on it and wait for the return
 *   remote_release  put every register back as interrupted and detach
 *
 * A call sets rip to the function, the arguments in rdi, rsi..., rsp
 * below what was pushed, 16-byte aligned as at a call, with a return
 * address of 0 pushed, and orig_rax to -1 (no system call to restart on
 * top of the call); the thread runs until the function returns to 0 and
 * faults there, which the tracer sees as a SIGSEGV at address 0 with rip 0
 * and never delivers.  Any other signal that reaches the thread meanwhile
 * is passed on to it as it came (its handler runs inside the call, as it
 * would inside any function); a fault of the call itself is delivered, not
 * hidden, and the call fails.  Release restores the registers and the
 * extended state saved at the stop; if the thread was stopped inside a
 * system call, the kernel then restarts it exactly as after any stop
 * (orig_rax and rax are back: -ERESTARTSYS and kin re-run the call).
 *
 * A system call interrupted with -ERESTART_RESTARTBLOCK (nanosleep, a
 * futex wait with a timeout) restarts through the thread's restart_block,
 * which a system call of ours could replace only if it were itself
 * interrupted so: the primitive notes when that happens, and release
 * then returns -EINTR from the thread's own call (what a signal would
 * have done) rather than restarting it with the wrong block.
 *
 * Every wait is bounded but the call's: a call is never abandoned, since
 * the thread cannot be given back in the middle of dlopen (its registers
 * put back, it would go on with the loader's lock held; left alone, it
 * would return to address 0 and crash the target).  Past REMOTE_WARN_NS
 * a line says what we wait for.  A target that exits or is killed ends
 * every wait.  Callers block SIGCHLD (the waits take it with
 * sigtimedwait).
 */
#ifndef LOCKCONTEND_ATTACH_REMOTE_H
#define LOCKCONTEND_ATTACH_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "fail.h"

#define REMOTE_STOP_NS (2000ull * 1000 * 1000)  /* for the interrupt to take */
#define REMOTE_WARN_NS (10000ull * 1000 * 1000) /* and said to be slow after this */
#define REMOTE_DEATH_NS (2000ull * 1000 * 1000) /* for a crashed target to die */
#define REMOTE_RED_ZONE 128

struct remote {
	pid_t pid, tid;
	bool traced;                   /* we are its tracer */
	bool stopped;                  /* it is in a stop of ours */
	struct user_regs_struct saved; /* as interrupted: what release restores */
	unsigned char *xstate;         /* NT_X86_XSTATE (or the fxsave area) */
	size_t xstate_len;
	int xstate_kind;            /* 0 none, 1 NT_X86_XSTATE, 2 PTRACE_GETFPREGS */
	bool changed;               /* a call replaced the registers */
	uint64_t scratch;           /* the lowest byte pushed so far */
	uint64_t t_stop, t_release; /* CLOCK_MONOTONIC ns of INTERRUPT and DETACH */
	bool in_restartblock;       /* stopped in a -ERESTART_RESTARTBLOCK call */
	bool inner_restartblock;    /* a call's own system call was interrupted so */
	unsigned signals;           /* signals passed on during calls */
	int fault_sig;              /* a fault of a call, delivered */
	uint64_t fault_addr, fault_pc;
	char skip[128]; /* why remote_stop gave the thread back */
};

uint64_t remote_now(void);

/* 0, or -errno of PTRACE_SEIZE (-EPERM, -ESRCH): nothing happened. */
int remote_seize(struct remote *r, pid_t pid, pid_t tid);

/* Interrupt and wait for the stop: 0 stopped (registers saved); 1 given
 * back untouched, r->skip says why (a group stop, the thread exited); -1
 * with f set when the thread would not stop in REMOTE_STOP_NS (the caller
 * exits: the kernel then drops our pending stop) or the target exited. */
int remote_stop(struct remote *r, struct fail *f);

/* Copy len bytes below what was pushed before; *addr where they went. */
int remote_push(struct remote *r, const void *data, size_t len, uint64_t *addr, struct fail *f);

/* Write len bytes at addr of the target (errno, put back). */
int remote_write(struct remote *r, uint64_t addr, const void *data, size_t len);

/* Read len bytes of the target at addr; a string: up to cap-1 bytes or
 * the first NUL, NUL-terminated. */
int remote_read(struct remote *r, uint64_t addr, void *buf, size_t len);
int remote_read_string(struct remote *r, uint64_t addr, char *buf, size_t cap);

/* fn(args[0..nargs-1]) on the thread; *ret its rax.  what names the call
 * in messages ("dlopen"). */
int remote_call(struct remote *r, uint64_t fn, const uint64_t *args, int nargs, const char *what,
                uint64_t *ret, struct fail *f);

/* Restore the registers and extended state as interrupted, and detach. */
int remote_release(struct remote *r, struct fail *f);

/* Detach without restoring anything (the thread is lost to us, or was
 * never changed), if we still trace it. */
void remote_leave(struct remote *r);

/* "the target exited (status 3)" when it did; false if it still runs. */
bool remote_target_gone(pid_t pid);

#endif
