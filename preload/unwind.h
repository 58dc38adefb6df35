/*
 * unwind.h — capture the calling thread's stack with libunwind.
 *
 * Local-only, warmed up once at start-up.  It asks for per-thread caching,
 * but Debian's libunwind 1.6 is built without it and keeps one global
 * cache under a process-wide mutex (loader.h's fork gate says what
 * that means for fork).  Frames that belong to liblockcontend.so itself are
 * dropped, wherever they are (the hooks at the inner end, the thread start
 * wrapper at the outer), so the first frame is the application's call into
 * pthread_mutex_lock.  Call only inside the recursion guard: libunwind may
 * take pthread mutexes and call dl_iterate_phdr, and those calls must go
 * straight to glibc.
 */
#ifndef LOCKCONTEND_UNWIND_H
#define LOCKCONTEND_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "modmap.h"

/* Once, at start-up: caching policy, our own text range (found with
 * iterate: modmap.h), a warm-up. */
void unwind_init(modmap_iterate_fn iterate);

/* Fill buf (room for depth + STASH_SLACK entries) with up to depth return
 * addresses, innermost first.  *truncated is set if the stack was deeper.
 * Returns the number of frames (0 if unwinding failed). */
uint32_t unwind_capture(uintptr_t *buf, uint32_t depth, bool *truncated);

#endif
