/*
 * names.h — the one table of names for the dump format's enumerations
 * (include/lockcontend/dumpfmt.h): record types, views, lock kinds, lost
 * reasons, LIVE states and META's clock.
 *
 * Every tool that prints or parses one of these names takes it from here:
 * the reader's errors (dumpread.c), lockcontend-rawdump, --view and --kind
 * (viewkind.c), the reports' headers and labels, pprof's "kind" label.
 * docs/format.md spells the same names (in capitals for record types,
 * views, kinds and states), and test/unit/test_formatdoc.c checks that it
 * does.
 *
 * A view has two words: the format's ("wait", as lockcontend-rawdump
 * prints it) and the command line's ("waiter", as --view and the reports
 * say it: a report reader asks who waited and who held, and "wait" alone
 * reads as a verb).  The other views are spelled alike in both.
 *
 * Each function takes a raw value, which may come from a corrupt file: out
 * of range it gives the fallback its comment names, never NULL.  Pure
 * functions, no state.
 */
#ifndef LOCKCONTEND_NAMES_H
#define LOCKCONTEND_NAMES_H

#include <stdint.h>

#include "lockcontend/dumpfmt.h"

/* "meta", "module", "bucket", ... "live", "lock_init" (enum lc_rec_type);
 * "unknown". */
const char *names_rec_type(uint32_t type);

/* The format's word for a view: "wait", "holder", "hold"; "?". */
const char *names_view(uint32_t view);

/* The command line's word for a view: "waiter", "holder", "hold"; "?". */
const char *names_view_cli(uint32_t view);

/* The one kind no file holds: a futex wait (or wake) that the
 * symbolizer's rules call a condition wait (futexcond.h), decided at read
 * time from its stack; recorded as LC_KIND_FUTEX.  A bit of the kind
 * masks (viewkind.h) and a prof_sample's kind like the others. */
#define NAMES_KIND_FUTEX_COND 16

/* "mutex", "rdlock", "wrlock", "spin", "sem", "futex" (enum lc_kind),
 * "futex-cond" (NAMES_KIND_FUTEX_COND); "?". */
const char *names_kind(uint32_t kind);

/* "evicted", "arena_full", ... "no_room" (enum lc_lost_reason); "?". */
const char *names_lost(uint32_t reason);

/* Why a lost reason lost its events, as the text report explains it to
 * people ("more live threads than slots"); "?". */
const char *names_lost_why(uint32_t reason);

/* "running", "exited", "exec", "snapshot" (enum lc_live_state); "unknown". */
const char *names_live_state(uint32_t state);

/* "monotonic" (enum lc_clock); "unknown". */
const char *names_clock(uint32_t clock);

#endif
