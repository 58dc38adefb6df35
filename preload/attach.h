/*
 * attach.h — profiling a program that is already running (docs/attach.md).
 *
 * An injector (lockcontend attach PID) borrows one of the program's
 * threads, has it dlopen this library and call lockcontend_attach(SETTINGS)
 * (hooks_attach.c), and later lockcontend_detach() the same way.  Loaded
 * so, the library is behind glibc in every symbol search: its constructor
 * sees that (attach_interposed) and does nothing but remember it
 * (attach_mode).  An attach starts a profile as the preload's start-up
 * does (lifecycle.c), then rewrites the program's GOT slots to the hooks
 * (gotpatch.h); a detach gives the slots back, then ends the profile as
 * an exit would.  Both may be repeated; the library is never unloaded.
 *
 * The attach lock serialises attach, detach, the passes that patch
 * objects loaded later (attach_loaded, after the program's dlopen and
 * dlclose) and fork.  It is never taken inside our own work (the guard
 * up), nor held while a thread could wait for a lock of the program.
 */
#ifndef LOCKCONTEND_ATTACH_H
#define LOCKCONTEND_ATTACH_H

#include <stdbool.h>

/* The constructor's question: are our hooks what the program's calls
 * reach?  True when the library was preloaded (or linked in) ahead of
 * glibc, false when it came by dlopen. */
bool attach_interposed(void);

/* The constructor's answer when it is not: nothing recorded, nothing
 * printed, until lockcontend_attach. */
void attach_mode(void);

/* The library's two entry points (hooks_attach.c), and their work: the
 * return values are theirs, plus EAGAIN when called from inside our own
 * work (the injector borrowed a thread stopped in it: another thread, or
 * later).  `self` is lockcontend_attach's own address: another copy of
 * the library found first in the global scope (preloaded from another
 * path) is recording already. */
int lockcontend_attach(const char *settings);
int lockcontend_detach(void);
int attach_start(const char *settings, const void *self);
int attach_stop(void);

/* After the program's dlopen or dlclose: objects loaded are patched,
 * objects gone forgotten.  Nothing when not attached. */
void attach_loaded(void);

#endif
