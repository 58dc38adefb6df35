/*
 * core.h — the recorder's process-wide state, shared by its three files:
 *   lifecycle.c  the profile's life in a process: start-up, fork children,
 *                thread exit, the end (at exit or exec);
 *   recorder.c   the path of every event, from a hook to the books
 *                (account.h) and the stack table;
 *   collect.c    reading every slot: the sums at the end, snapshots.
 *
 * State machine of the process (core.state):
 *   NONE -> INITIALIZING -> ARMED -> INITIALIZING -> RUNNING -> DUMPING -> DONE
 *                        \-> OFF (LOCKCONTEND=off, setuid, no memory)
 * ARMED: set up, its start and its name's directory noted, but the
 * profile itself (its memory, tables and module map) is not made yet: it
 * is made by the process's first event worth it, or before its first
 * thread is made (lifecycle.c says why), so a process that never uses a
 * lock pays for none of it.  A process that already had threads at
 * start-up is made RUNNING at once.
 * Only RUNNING records.  The end moves RUNNING -> DUMPING first, then
 * closes every slot (waiting a bounded time for a thread inside one), so
 * from then on the slots, the table and the totals are still: what the
 * end reads is consistent, and an event that ends after that point is in
 * no total and no bucket.  A fork child goes back to INITIALIZING while it
 * starts its own profile.
 *
 * Attached (the library loaded by dlopen into a running program:
 * attach.c), the process starts OFF and a profile lives from
 * lockcontend_attach (OFF or DONE -> INITIALIZING -> RUNNING) to
 * lockcontend_detach (RUNNING -> DUMPING -> DONE), any number of times.
 * Each new profile moves core.gen on.  Every thread's outermost stretch of
 * work in the recorder is then counted (core_enter, core_leave: the
 * inside[] count of the pass it began in), and checks the state again
 * once counted (core_live): the end of a detach moves gen and the pass
 * on, then waits for the old pass's count to drain, so that no thread is
 * still writing the profile it ends, nor touching its memory when it is
 * given back.  A thread learns in its first counted stretch of a new
 * profile that what it held of an older one (its slot, its waits, its
 * hold sample) is gone (core_thread_new).  Loaded as a preload, none of
 * this runs: core_enter is the guard alone.
 */
#ifndef LOCKCONTEND_CORE_H
#define LOCKCONTEND_CORE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "account.h"
#include "arena.h"
#include "config.h"
#include "dumpwrite.h"
#include "filing.h"
#include "initsite.h"
#include "loader.h"
#include "lockstate.h"
#include "modmap.h"
#include "pfile.h"
#include "slots.h"
#include "stacktab.h"

enum { ST_NONE, ST_INITIALIZING, ST_RUNNING, ST_DUMPING, ST_DONE, ST_OFF, ST_ARMED };

#define CORE_CLOSE_WAIT_NS (100 * 1000 * 1000ull) /* the end, for a busy slot or a refresh */

/* The small fields first, then the name, then the large buffers: an armed
 * process (most: they never use a lock) writes the small fields, its
 * start and its name's directory, about 2 KiB from the start, and a fork
 * child its start and directory in the same place — one page, as struct
 * core is 2 KiB-aligned (lifecycle.c).  Every page written is a page
 * fault, and every page a fork child writes is a copy.  exe is read when
 * the profile is begun. */
struct core {
	_Atomic int state;
	bool attach; /* loaded by dlopen, not preloaded: profiles only when attached */
	struct config cfg;
	struct arena arena;
	struct stacktab tab;
	struct slots slots;
	struct modmap modmap;
	struct lockstate locks;
	struct account_books books; /* tab, locks, modmap, cfg.stacks: account.h */
	struct initsite inits;      /* where the program's locks were made */
	_Atomic int filing;         /* FILING_*: in memory, or in its file (filing.c) */
	struct loader loader;       /* our calls into the loader (loader.h) */
	struct lc_rec_meta *meta;   /* its META record */
	struct lc_rec_live *live;   /* its LIVE record */
	size_t arena_fixed;         /* bytes of the fixed regions, kept by a fork child */
	pthread_key_t key;
	bool key_made;
	_Atomic uint32_t gen;           /* profiles begun here after the first (fork children,
	                                 * attaches): a wait begun in an older one ends in none */
	_Atomic uint32_t pass;          /* attached: the count a thread's work is counted in... */
	_Atomic long inside[2];         /* ...threads inside the recorder, by pass parity */
	_Atomic long releasing;         /* attached: charges taken, not noted yet */
	_Atomic int closing;            /* attached: a detach closes the books: no charge */
	pid_t pid;                      /* META.pid: the process that owns the profile */
	struct lc_rec_attach *attached; /* attached: the profile's ATTACH record */
	void (*child)(void);            /* a child made without fork's handlers: its first
	                                 * step (NULL: a profile of its own, as fork's
	                                 * handler makes it; attached: attach.c's) */
	double hold_scale;              /* 1 / log(1 - 1/hold rate): recorder_hold_distance */
	_Atomic int snapshotting;       /* a snapshot is being written (collect.c) */
	/* The process path's directory and start were made for (at start-up,
	 * or by fork's child handler), its directory's length in path */
	pid_t named_pid;
	uint32_t named_dir;
	uint64_t start_mono, start_real;
	char path[PFILE_PATH_MAX];
	char exe[PATH_MAX];
	struct pfile file; /* the profile, written in place */
	/* Deferred waits of threads that exited before they could settle
	 * them (recorder_leave_deferred): the end settles them.  Last, out of
	 * the page an armed process writes. */
	struct lc_deferred left[LC_NDEFERRED]; /* count and delay_ns only */
	_Atomic uint64_t left_when;
};

extern struct core core;

/* The LIVE record's counters are updated in place, atomically. */
static inline _Atomic uint64_t *live_u64(uint64_t *field)
{
	return (_Atomic uint64_t *)field;
}

static inline _Atomic uint32_t *live_u32(uint32_t *field)
{
	return (_Atomic uint32_t *)field;
}

/* Attached: a thread's outermost work, counted; and a new profile's first
 * work, after the thread forgets the old one's (lifecycle.c). */
void core_count_in(struct lc_tls *t);
void core_count_out(struct lc_tls *t);

/* Into the recorder's work (the guard up), and out of it. */
static inline void core_enter(struct lc_tls *t)
{
	bool outermost = !t->guard;
	lc_guard_in(t);
	if (outermost && core.attach)
		core_count_in(t);
}

static inline void core_leave(struct lc_tls *t)
{
	if (t->guard == 1 && t->inside)
		core_count_out(t);
	t->guard--;
}

/* Recording, in the process that owns the profile file. */
static inline bool core_recording(void)
{
	return atomic_load_explicit(&core.state, memory_order_acquire) == ST_RUNNING &&
	       pfile_mine(&core.file);
}

bool lifecycle_adopt(void);

/* The profile is in its file, made now if it was not (filing.c): before
 * the first record of a thing worth keeping.  Inside the guard. */
static inline bool core_filed(void)
{
	return atomic_load_explicit(&core.filing, memory_order_acquire) == FILING_MADE ||
	       filing_make();
}

/* After core_enter: still recording, now that a detach would wait for us
 * (a preload's profile ends only at exit or exec: no check). */
static inline bool core_live(void)
{
	return !core.attach || core_recording();
}

/* ARMED: the profile waits for its first event (recorder_start). */
static inline bool core_armed(void)
{
	return atomic_load_explicit(&core.state, memory_order_acquire) == ST_ARMED;
}

/* Recording; a fork child (see lifecycle_adopt) starts its own profile
 * first. */
static inline bool core_running(void)
{
	if (atomic_load_explicit(&core.state, memory_order_acquire) != ST_RUNNING)
		return false;
	return __builtin_expect(pfile_mine(&core.file), 1) || lifecycle_adopt();
}

/* recorder.c: the clock; settle and publish a whole slot (inside it: true
 * when the module map needs a refresh); refresh the map (final_wait_ns: how
 * long to wait for a refresh under way elsewhere, 0 none). */
uint64_t recorder_now(void);
/* Running, its profile begun first if it waits for it: after a lazy
 * set-up (a contention before the constructor), an armed process's
 * (lifecycle_start), a fork child's (lifecycle_adopt).  From the events
 * worth it: a contended wait, a failed trylock, a lock made (its init
 * site), a thread about to be made. */
bool recorder_start(void);
bool recorder_publish_all(struct slot *sl, uint64_t *rng);
void recorder_refresh(uint64_t final_wait_ns);

/* collect.c: every slot's sums into in, closing each (the end); the
 * counters that belong to no slot; the verbose= line; the handler of
 * signal=. */
void collect_slots(struct dump_input *in);
void collect_counters(struct dump_input *in);
void collect_summary(const struct dump_input *in, const char *path);
void collect_snapshot(int sig);

/* lifecycle.c: one acquisition in hold x rate is looked at for a
 * hold-time sample. */
uint32_t lifecycle_hold_rate(void);

#endif
