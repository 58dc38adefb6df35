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
 * libstdc++, and functions named std::*, __gthread*, pthread_*, mtx_* (the
 * lock wrappers inlined into the caller) are passed over; if every frame
 * is, the innermost one is used.  Uses the dump's resolver, so it is as
 * thread-unsafe as resolve.h.
 */
#ifndef LOCKCONTEND_LOCKNAMES_H
#define LOCKCONTEND_LOCKNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "dumpread.h"
#include "resolve.h"

/* The name of the lock at addr (lock: its LOCK record, or NULL) into buf. */
void locknames_name(struct resolver *r, const struct dump *d, uint64_t addr,
                    const struct dump_lock *lock, char *buf, size_t cap);

#endif
