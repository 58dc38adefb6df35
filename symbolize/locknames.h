/*
 * locknames.h — a human name for a lock address, as reports print it
 * (docs/names.md has the rule with examples):
 *
 *   cache_lock                          a global: the data symbol holding it
 *   pool_locks+0x40                     inside a global array or struct
 *   libapp.so+0x4c10                    in a module whose file is missing
 *                                       (or holds no symbol there)
 *   0x55d0c2a4e2c0 (made in Shard::Shard(int))
 *                                       heap, stack or TLS, with an init
 *                                       site (a LOCK_INIT record): the
 *                                       program's frame that made it
 *   0x55d0c2a4e2c0 (first contended in worker)
 *                                       ... made by a static initialiser
 *                                       (or before 3.2, or inits=0): the
 *                                       program's frame that first waited
 *   0x55d0c2a4e2c0                      ... when the dump has neither stack
 *   the GIL (CPython)                   a runtime's lock, by its rule (a
 *                                       condition variable CPython's
 *                                       take_gil waits on)
 *
 * "The program's frame" is the innermost frame of the stack that is
 * neither plumbing nor a lock wrapper:
 *   - plumbing: frames in libc, libpthread and libstdc++, and functions
 *     named std::*, __gthread*, __glibcxx_*, pthread_*, mtx_* (the lock
 *     functions and the C++ library's wrappers, often inlined into the
 *     caller);
 *   - a lock wrapper of the program (a function whose only job is to call
 *     the lock function: RocksDB's port::Mutex::Lock, MariaDB's
 *     rw_pr_wrlock), recognised from the dump's own stacks — those that
 *     call a lock function (waits, LOCK records) or an init function
 *     (LOCK_INIT records): a function that is the first frame of the
 *     program's own in the stacks of two or more distinct locks, called
 *     from two or more distinct functions, is a wrapper.  Found wrappers
 *     are then passed over like plumbing, and the search repeats (a
 *     wrapper of a wrapper, such as a scoped guard's constructor) until it
 *     finds no more.  A function that locks the shards of one table, called
 *     from one place, is no wrapper; called from two, it is taken for one
 *     (the name then goes to its callers).
 * If every frame is plumbing or a wrapper, the innermost frame that is not
 * plumbing names it, else the innermost one.  A frame without a symbol is
 * its module+0xoffset at pc - 1, as the report prints it (dumpread.h's one
 * pc rule).
 *
 * Everything works on the profile's locations (profile.h): the stacks are
 * resolved once, with the profile's.  Pure functions of their arguments
 * but for the resolver (data symbols), which is as thread-unsafe as
 * resolve.h.  The same plumbing and wrapper rules shorten the lock table's
 * one-line stacks (report_locks.c).
 */
#ifndef LOCKCONTEND_LOCKNAMES_H
#define LOCKCONTEND_LOCKNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "resolve.h"

/* A stack that calls a lock or init function, as locations of the
 * profile, innermost first. */
struct locknames_stack {
	const uint32_t *locs;
	uint32_t nlocs;
	uint64_t lock; /* the lock's address */
};

/* Is path (a module's) libc, libpthread or libstdc++? */
bool locknames_is_runtime_library(const char *path);

/* Is this function a lock wrapper of the C library or the C++ runtime
 * (std::*, __gthread*, ...), by its (possibly demangled) name or its
 * linkage name? */
bool locknames_is_wrapper(const char *function, const char *system_name);

/* Is line k of location l plumbing (the rules above; k = 0 for a location
 * without lines)? */
bool locknames_is_plumbing(const struct profile *p, const struct prof_location *l, uint32_t k);

/* Set wrapper[f] for every function f of p (p->nfunctions of them) that
 * these stacks show to be a lock wrapper of the program; other entries are
 * left as they are.  Returns 0, or -1 out of memory. */
int locknames_find_wrappers(const struct profile *p, const struct locknames_stack *stacks, size_t n,
                            bool *wrapper);

/* The name of the lock at addr, used as `kinds` (bit per enum lc_kind),
 * into buf: a runtime's lock by its rule (first has a frame of the
 * runtime's lock function: CPython's take_gil for a condition variable is
 * "the GIL (CPython)"), else its data symbol (r; NULL: none looked up),
 * else after init (its LOCK_INIT stack) or first (its LOCK record's first
 * stack), either NULL or empty when the dump has none; wrapper as
 * locknames_find_wrappers left it (NULL: none). */
void locknames_name(struct resolver *r, const struct profile *p, const bool *wrapper, uint64_t addr,
                    uint32_t kinds, const struct locknames_stack *init,
                    const struct locknames_stack *first, char *buf, size_t cap);

#endif
