/*
 * names.c — the names of the dump format's enumerations (see names.h).
 *
 * One table per enumeration, indexed by its values with designated
 * initializers, so a name sits next to the value it names whatever the
 * order.  Each table's length is checked against its enumeration's count
 * (LC_REC_NTYPES, LC_NVIEWS, LC_NKINDS, LC_LOST_NREASONS, LC_LIVE_NSTATES)
 * at compile time: a value added to dumpfmt.h without a name here does not
 * build.  A hole in the middle of a table is caught by test_formatdoc,
 * which compares every name with docs/format.md's tables.
 */
#include "names.h"

#include <stddef.h>

#define NAMES_LEN(table) (sizeof(table) / sizeof((table)[0]))

/* Type 0 is no record: a head of zeros ends the records. */
static const char *const rec_types[] = {
    [LC_REC_META] = "meta",
    [LC_REC_MODULE] = "module",
    [LC_REC_BUCKET] = "bucket",
    [LC_REC_LOST] = "lost",
    [LC_REC_TOTALS] = "totals",
    [LC_REC_TRAILER] = "trailer",
    [LC_REC_LOCK] = "lock",
    [LC_REC_PENDING] = "pending",
    [LC_REC_SLOT] = "slot",
    [LC_REC_LIVE] = "live",
    [LC_REC_LOCK_LOST] = "lock_lost",
    [LC_REC_LOCK_INIT] = "lock_init",
    [LC_REC_WAITING] = "waiting",
    [LC_REC_SERIES] = "series",
    [LC_REC_ATTACH] = "attach",
    [LC_REC_WRITER] = "writer",
    [LC_REC_THREAD] = "thread",
    [LC_REC_LOCK_UNCHARGED] = "lock_uncharged",
    [LC_REC_LOCK_NO_CELL] = "lock_no_cell",
};
_Static_assert(NAMES_LEN(rec_types) == LC_REC_NTYPES, "a name for every record type");

static const struct {
	const char *format; /* lockcontend-rawdump's, docs/format.md's (in capitals) */
	const char *cli;    /* --view's and the reports' */
} views[] = {
    [LC_VIEW_WAIT] = {"wait", "waiter"},
    [LC_VIEW_HOLDER] = {"holder", "holder"},
    [LC_VIEW_HOLD] = {"hold", "hold"},
};
_Static_assert(NAMES_LEN(views) == LC_NVIEWS, "a name for every view");

static const char *const kinds[] = {
    [LC_KIND_MUTEX] = "mutex", [LC_KIND_RDLOCK] = "rdlock", [LC_KIND_WRLOCK] = "wrlock",
    [LC_KIND_SPIN] = "spin",   [LC_KIND_SEM] = "sem",       [LC_KIND_FUTEX] = "futex",
    [LC_KIND_COND] = "cond",
};
_Static_assert(NAMES_LEN(kinds) == LC_NKINDS, "a name for every lock kind");

static const struct {
	const char *name; /* lockcontend-rawdump's, docs/format.md's */
	const char *why;  /* the text report's explanation */
} lost[] = {
    [LC_LOST_EVICTED] = {"evicted",
                         "lost the one-stack-per-thread draw (a thread that holds a lock "
                         "keeps its stacks into a newly loaded object one at a time until it "
                         "holds none; a mutex unlocked by another thread than its locker "
                         "counts as held)"},
    [LC_LOST_ARENA_FULL] = {"arena_full",
                            "no room for a new stack (the arena was full: raise arena=; or "
                            "the profile file stopped growing: a line at exit said why)"},
    [LC_LOST_REENTRANT] = {"reentrant", "inside lockcontend's own work"},
    [LC_LOST_NO_STACKS] = {"no_stacks", "stacks=0"},
    [LC_LOST_NO_STACK] = {"no_stack", "no stack could be unwound"},
    [LC_LOST_NO_SLOT] = {"no_slot", "more live threads than slots"},
    [LC_LOST_NO_ROOM] = {"no_room", "the thread's stack had no room to unwind on"},
    [LC_LOST_NO_FILE] = {"no_file",
                         "the profile's file was still being made (for longer than a wait "
                         "for it lasts: 100 ms)"},
};
_Static_assert(NAMES_LEN(lost) == LC_LOST_NREASONS, "a name for every lost reason");

static const char *const live_states[] = {
    [LC_LIVE_RUNNING] = "running",   [LC_LIVE_EXITED] = "exited",     [LC_LIVE_EXEC] = "exec",
    [LC_LIVE_SNAPSHOT] = "snapshot", [LC_LIVE_DETACHED] = "detached",
};
_Static_assert(NAMES_LEN(live_states) == LC_LIVE_NSTATES, "a name for every LIVE state");

/* Clock 0 is none: META.clock is 1 in every file written so far. */
static const char *const clocks[] = {
    [LC_CLOCK_MONOTONIC] = "monotonic",
};

/* table[i], or the fallback when i is past the table or names nothing. */
static const char *names_at(const char *const *table, size_t n, uint32_t i, const char *fallback)
{
	return i < n && table[i] ? table[i] : fallback;
}

const char *names_rec_type(uint32_t type)
{
	return names_at(rec_types, NAMES_LEN(rec_types), type, "unknown");
}

const char *names_view(uint32_t view)
{
	return view < NAMES_LEN(views) && views[view].format ? views[view].format : "?";
}

const char *names_view_cli(uint32_t view)
{
	return view < NAMES_LEN(views) && views[view].cli ? views[view].cli : "?";
}

const char *names_kind(uint32_t kind)
{
	if (kind == NAMES_KIND_FUTEX_COND)
		return "futex-cond";
	return names_at(kinds, NAMES_LEN(kinds), kind, "?");
}

const char *names_lost(uint32_t reason)
{
	return reason < NAMES_LEN(lost) && lost[reason].name ? lost[reason].name : "?";
}

const char *names_lost_why(uint32_t reason)
{
	return reason < NAMES_LEN(lost) && lost[reason].why ? lost[reason].why : "?";
}

const char *names_live_state(uint32_t state)
{
	return names_at(live_states, NAMES_LEN(live_states), state, "unknown");
}

const char *names_clock(uint32_t clock)
{
	return names_at(clocks, NAMES_LEN(clocks), clock, "unknown");
}
