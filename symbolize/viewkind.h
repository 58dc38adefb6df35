/*
 * viewkind.h — the parsing of --view and --kind, and a kind set as the
 * reports print it, for the CLI, the report writers and the tests.
 *
 * A view is an enum lc_view (dumpfmt.h): the waiter's (WAIT), the
 * unlocker's (HOLDER) and the sampled critical sections (HOLD); on the
 * command line they are "waiter", "holder" and "hold" (names_view_cli).
 * A kind set is a bit mask, bit k for enum lc_kind k, each kind named by
 * names_kind.  The names themselves are names.h's.  Pure functions, no
 * state.
 */
#ifndef LOCKCONTEND_VIEWKIND_H
#define LOCKCONTEND_VIEWKIND_H

#include <stddef.h>
#include <stdint.h>

#include "lockcontend/dumpfmt.h"
#include "names.h"

/* The lock kinds a file holds: every kind but condition waits. */
#define VIEWKIND_LOCK_KINDS (((1u << LC_NKINDS) - 1) & ~(1u << LC_KIND_COND))
/* And the condition waits: cond (pthread condition variables, recorded
 * with cond=1) and futex-cond, the kind the symbolizer gives a futex
 * condition wait (names.h, futexcond.h).  Neither is lock contention. */
#define VIEWKIND_ALL_KINDS (((1u << LC_NKINDS) - 1) | 1u << NAMES_KIND_FUTEX_COND)
/* What the reports show unless --kind says otherwise: every lock kind,
 * not the condition waits (an idle wait is no contention). */
#define VIEWKIND_DEFAULT_KINDS VIEWKIND_LOCK_KINDS

/* Is every lock kind kept (the default, or all with condition waits)?
 * Then nothing is filtered out but condition waits: the sentinel and
 * every lock's uncharged waiting are shown. */
static inline int viewkind_all_locks(uint32_t mask)
{
	return (mask & VIEWKIND_LOCK_KINDS) == VIEWKIND_LOCK_KINDS;
}

/* The view named s ("waiter", "holder", "hold"), or -1. */
int viewkind_view_parse(const char *s);

/* A comma list of mutex, rdlock, wrlock, rwlock (= rdlock,wrlock), spin,
 * sem, futex, cond, futex-cond into *mask.  Returns 0, or -1 (an empty
 * list, an empty item or an unknown name) with *mask unchanged.  The
 * condition waits are kinds like the others here; only the default leaves
 * them out. */
int viewkind_kinds_parse(const char *list, uint32_t *mask);

/* A kind set as people read it: "mutex, rwlock, spin" (rdlock and wrlock
 * together are one rwlock); "" for none. */
void viewkind_kinds_format(uint32_t mask, char *buf, size_t cap);

#endif
