/*
 * stackscan.h — is a thread at a safe point?  A conservative scan of its
 * live stack against the unsafe set (unsafe.h), with a frame walk as a
 * second opinion on what it finds.
 *
 * The thread is stopped (or blocked in a system call, for a first look
 * that stops nothing).  The scan reads, with process_vm_readv, every
 * 8-byte word from its stack pointer to the end of the mapping that holds
 * it, and looks at its instruction pointer.  A word that points into the
 * set as a return address would, or an instruction pointer in it, is a
 * hit.  Every frame of a function still running has left its return
 * address in that stretch (a call pushes it; a signal frame saves the
 * interrupted instruction pointer there too), so no hit proves the thread
 * is inside none of the set's code.
 *
 * A signal frame (a word equal to libc's __restore_rt, the handler's
 * return address) saves the stack pointer it interrupted: when that is
 * outside what is scanned (a handler on a sigaltstack), the scan goes on
 * from it too, to the end of its own mapping.  At most STACKSCAN_REGIONS
 * stretches and STACKSCAN_MAX_BYTES in all: a larger stack is not proved
 * safe.
 *
 * A hit may be a stale word, left in a frame's unused slots by a call
 * that returned long ago.  So on a hit the frames are walked
 * (framewalk.h): a walk that sees every frame and none in the set
 * overrules the hit (STACKSCAN_STALE); one that finds a frame in the set
 * confirms it; one that cannot finish leaves the hit standing, unproven
 * (STACKSCAN_DOUBT), which the caller treats as unsafe.
 */
#ifndef LOCKCONTEND_ATTACH_STACKSCAN_H
#define LOCKCONTEND_ATTACH_STACKSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "locate.h"
#include "maps.h"
#include "unsafe.h"

#define STACKSCAN_REGIONS 8
#define STACKSCAN_MAX_BYTES (64u << 20)

enum stackscan_verdict {
	STACKSCAN_CLEAN,  /* no word in the set */
	STACKSCAN_STALE,  /* words in the set, none in a live frame */
	STACKSCAN_UNSAFE, /* a live frame, or the pc, in the set */
	STACKSCAN_DOUBT,  /* words in the set, and a walk that could not finish */
};

/* What the scan needs of the target, built before anything is stopped. */
struct stackscan_ctx {
	const struct unsafe_set *u;
	const struct maps *maps;
	const struct objects *objs;
};

/* A thread's registers, as far as they are known. */
struct stackscan_regs {
	uint64_t pc, sp, bp;
	bool bp_known; /* false for a thread looked at without stopping it */
};

struct stackscan {
	enum stackscan_verdict verdict;
	bool clean;    /* CLEAN or STALE */
	char why[320]; /* not CLEAN: "inside malloc", "its stack cannot be read" */
	size_t bytes;  /* how much was read */
	uint64_t stack_start, stack_end; /* the mapping holding sp */
	bool on_main_stack;              /* sp is in [stack], which grows */
	uint64_t hit_at, hit;            /* the first word in the set, and where */
};

void stackscan_thread(const struct stackscan_ctx *c, pid_t tid, const struct stackscan_regs *regs,
                      struct stackscan *r);

#endif
