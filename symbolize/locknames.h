/*
 * locknames.h — a human name for a lock address, as reports print it.
 *
 *   cache_lock                          a global: the data symbol holding it
 *   pool_locks+0x40                     inside a global array or struct
 *   libapp.so+0x4c10                    in a module whose file is missing
 *                                       (or holds no symbol there)
 *   0x55d0c2a4e2c0 (first contended in worker)
 *                                       heap, stack or TLS: the address and
 *                                       the function that first waited on it
 *   0x55d0c2a4e2c0                      ... when the dump has no LOCK record
 *
 * "first contended in FUNC" is the innermost frame of the LOCK record's
 * stack that is the program's own code: frames in libc, libpthread and
 * libstdc++, and functions named std::*, __gthread*, __glibcxx_*,
 * pthread_*, mtx_* (the lock wrappers inlined into the caller;
 * __glibcxx_rwlock_* are std::shared_mutex's) are passed over; if every
 * frame is, the innermost one is used.  Each frame is looked up in the
 * module that held it in the LOCK record's module epoch
 * (dump_module_in_epoch), as a bucket's: a library unloaded since is not
 * taken for the one loaded at its address afterwards.  Uses the dump's
 * resolver, so it is as thread-unsafe as resolve.h.  The same rule
 * shortens the lock table's one-line stacks (report_locks.c).
 */
#ifndef LOCKCONTEND_LOCKNAMES_H
#define LOCKCONTEND_LOCKNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpread.h"
#include "resolve.h"

/* Is path (a module's) libc, libpthread or libstdc++? */
bool locknames_is_runtime_library(const char *path);

/* Is this function a lock wrapper (std::*, __gthread*, ...), by its
 * (possibly demangled) name or its linkage name? */
bool locknames_is_wrapper(const char *function, const char *system_name);

/* The name of the lock at addr (lock: its LOCK record, or NULL) into buf. */
void locknames_name(struct resolver *r, const struct dump *d, uint64_t addr,
                    const struct dump_lock *lock, char *buf, size_t cap);

#endif
