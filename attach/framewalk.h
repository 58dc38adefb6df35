/*
 * framewalk.h — a precise walk over a stopped thread's frames, with the
 * unwind tables of the objects it runs in.
 *
 * The conservative scan (stackscan.h) cannot tell a return address of a
 * live frame from a stale one left in a frame's unused slots, and a stale
 * address into the loader or malloc sits for ever in many main threads
 * (a buffer in main's frame over what the loader's start-up left on the
 * stack).  When the scan finds one, this walk is its second opinion: from
 * the thread's rip, rsp and rbp it steps out frame by frame, with each
 * frame's CFI rule (preload/cfi.h reads it from the FDE), through signal
 * frames (a return address equal to libc's __restore_rt: the interrupted
 * registers are in the ucontext above it), to the outermost frame, whose
 * return address the CFI calls undefined (_start, clone3).  It checks
 * every frame's pc against the unsafe set.
 *
 * The walk is COMPLETE only when it reaches the outermost frame with every
 * step understood: every pc in an object we have read, with an FDE and a
 * rule of the kinds cfi.h follows, every CFA above the last.  Anything
 * else (JIT code, a frame without unwind tables, a CFA given by an
 * expression, a library loaded after we looked) is INCOMPLETE, and the
 * scan's verdict stands.
 */
#ifndef LOCKCONTEND_ATTACH_FRAMEWALK_H
#define LOCKCONTEND_ATTACH_FRAMEWALK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "locate.h"
#include "unsafe.h"

#define FRAMEWALK_MAX_FRAMES 4096

enum framewalk_end {
	FRAMEWALK_COMPLETE,   /* every frame seen, none in the set */
	FRAMEWALK_UNSAFE,     /* a frame in the set */
	FRAMEWALK_INCOMPLETE, /* a step not understood: no verdict */
};

struct framewalk {
	enum framewalk_end end;
	unsigned frames;
	const struct unsafe_range *hit; /* FRAMEWALK_UNSAFE */
	char why[96];                   /* FRAMEWALK_INCOMPLETE: where it stopped */
};

/* Walk thread tid from rip, rsp and rbp (rbp_known false: not known, a
 * frame whose CFA needs it ends the walk). */
void framewalk_thread(const struct objects *objs, const struct unsafe_set *u, pid_t tid,
                      uint64_t rip, uint64_t rsp, uint64_t rbp, bool rbp_known,
                      struct framewalk *w);

#endif
