/*
 * futexcond.h — which futex waits are condition waits, not lock
 * contention: decided at read time from the waiting stack's frames, by one
 * table of per-library rules (futexcond.c).
 *
 * The recorder cannot tell a futex wait on a lock from one on a condition
 * variable built on futexes (Rust's std Condvar, parking_lot's Condvar,
 * absl::CondVar): it has no symbols, and both are FUTEX_WAIT on a word.
 * The symbolizer has them.  A WAIT stack is a condition wait when, walking
 * from the leaf towards the root, the first frame that a rule knows is a
 * condition-wait frame (Condvar::wait...), not a lock-wait frame
 * (Mutex::lock_contended...): a condition wait re-takes its mutex inside
 * Condvar::wait, and that inner wait is lock contention.  A HOLDER stack
 * likewise: a notify frame before any unlock frame.  What profile.c then
 * does with the answer (the kind futex-cond, per bucket and per word) is
 * told there.
 *
 * Functions are classified once each (a cache per profile, grown as the
 * profile's function table grows).  Names are matched demangled whatever
 * --no-demangle says (so the answer does not depend on it), without their
 * C++ parameter list.  Not thread-safe: one cache per profile build.
 */
#ifndef LOCKCONTEND_FUTEXCOND_H
#define LOCKCONTEND_FUTEXCOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct futexcond_cache {
	int8_t *role; /* per function of the profile: enum in futexcond.c, -1: not yet */
	size_t n;
};

/* Is the stack locs[0..nlocs) (innermost first) of view `view` a
 * condition wait (WAIT) or a condition's notify (HOLDER), by the rules?
 * false too when out of memory (it is then a futex lock's, as before
 * these rules). */
bool futexcond_stack(struct futexcond_cache *c, const struct profile *p, const uint32_t *locs,
                     uint32_t nlocs, int view);

/* A library that parks a thread on a futex word of the thread's own
 * (parking_lot, Abseil) makes each word no lock but a thread's: such a
 * word is named after the first stack that waited on it (locs[0..nlocs),
 * innermost first) by its library's lock or condition and the function
 * that called the library, "a parking_lot lock taken in app::work
 * (threads' own futex words)", into buf.  Words named alike are one lock
 * in the reports: the waits at one call site.  false: no such library's
 * wait in the stack (buf untouched). */
bool futexcond_word_name(struct futexcond_cache *c, const struct profile *p, const uint32_t *locs,
                         uint32_t nlocs, char *buf, size_t cap);

void futexcond_cache_free(struct futexcond_cache *c);

#endif
