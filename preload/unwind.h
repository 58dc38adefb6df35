/*
 * unwind.h — capture the calling thread's stack, taking no lock.
 *
 * A stack is taken while the program waits, before the thread sleeps on
 * its lock: a lock the unwinder took would be one more wait in the
 * program, and slow unwinding delays the waiter.  So the unwinder is ours:
 * a walk from frame to frame by each frame's rule (cfi.h: where the CFA,
 * the return address and the caller's rbp are), read from the object's
 * .eh_frame once per pc and cached by pc in a lock-free table (unwind.c);
 * about 150 ns for 23 frames once cached.  Where the walk meets a rule it
 * does not follow (a signal frame, a CFA given by an expression) or has
 * no stack bounds, the whole stack goes to our own copy of libgcc's
 * unwinder (_Unwind_Backtrace, linked in with -static-libgcc and hidden:
 * about 5 us for 23 frames).  Neither takes a lock or allocates: unwind
 * tables are found with _Unwind_Find_FDE of that copy, which asks glibc's
 * _dl_find_object (2.35 and later: lock-free, async-signal-safe), never
 * dl_iterate_phdr, whose lock the program's threads take (gcc 12's
 * unwind-dw2-fde-dip.c); its one mutex guards frames registered with
 * __register_frame_info (JITs), and nothing registers any with our copy:
 * the program's registrations go to its own libgcc_s.  So an unwind waits
 * for nobody, from any thread, in a signal handler, in a fork child,
 * while another thread is inside dl_iterate_phdr or dlopen.  libgcc's one
 * lazy step (the register sizes, behind pthread_once) is done at
 * start-up.  Frames of code that only the program's libgcc knows (a
 * JIT's) end our stack there, as any frame without unwind tables does.
 *
 * Frames that belong to liblockcontend.so itself are dropped, wherever they
 * are (the hooks at the inner end, the thread start wrapper at the outer),
 * so the first frame is the application's call into pthread_mutex_lock.
 * A frame interrupted by a signal is stored one byte past the interrupted
 * instruction: every other frame is a return address, and the symbolizer
 * looks up pc - 1 (symbolize/resolve.c).
 */
#ifndef LOCKCONTEND_UNWIND_H
#define LOCKCONTEND_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "modmap.h"

/* Once, at start-up: our own object's range (by _dl_find_object: no lock
 * taken, so with any mutex held), a warm-up. */
void unwind_init(void);

/* A module went: the cached frame rules may be another object's now. */
void unwind_forget(void);

/* The frame just inside one that returns to `ret` is left out too: the
 * `ret` an attached dlopen is made to return through (hooks_dlopen.c), a
 * byte of the calling object's code that is no call of the program's. */
void unwind_trampoline(uintptr_t ret);

/* Fill buf (room for depth + STASH_SLACK entries) with up to depth return
 * addresses, innermost first.  stack_hi: the top of the calling thread's
 * stack (stackroom.h), the most the walk may read; 0 (unknown): libgcc's
 * unwinder only.  *truncated is set if the stack was deeper.  Returns the
 * number of frames (0 if unwinding failed). */
uint32_t unwind_capture(uintptr_t *buf, uint32_t depth, uintptr_t stack_hi, bool *truncated);

#endif
