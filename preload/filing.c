/*
 * filing.c — the profile file, made at the first thing worth keeping.
 *
 * Most processes of a build or a shell script never wait for a lock: they
 * must leave no file behind, and cost as little as a bare preload.  So a
 * profile is not even made before their first use of a lock that needs it
 * (lifecycle.c), and then starts in memory (pfile_start, private anonymous
 * pages over the
 * range the file will be mapped at), with everything that comes before
 * the first contention: its heading (META, LIVE, WRITER), the shared
 * overflow slot's record, the module map.  The first thing worth keeping
 * makes the file — a contended wait (recorder_begin: the first waiting
 * thread too) or a failed trylock (recorder_trylock_failed); every other
 * record follows from one of those (a thread's slot, a lock, a bucket, a
 * hold sample of a contended lock).  A lock's init site alone is not worth
 * a file: it stays in private memory (initsite.h) and is written when its
 * lock first contends.  A process that never contends ends without a file
 * (lifecycle.c), prints nothing, and the wrapper has nothing to report.
 *
 * The move (filing_move) creates the file under the name made at start-up
 * (dumpwrite_create_named: O_EXCL, O_NOFOLLOW, mode 0600, never anybody
 * else's file), gives it its first chunks on disk, copies the records so
 * far into it and maps it MAP_SHARED over the same range (pfile_settle):
 * every pointer into the profile stays valid, and from then on the file is
 * the profile, written even if the process is killed.
 *
 * Invariant: nobody writes the profile while it moves, or the store lands
 * in memory the file never sees.  Who writes it before the file exists:
 *   - the events that make the file wait for it first (core_filed): one
 *     thread moves the profile (core.filing NONE -> BUSY -> MADE), the
 *     others wait for it a bounded time (FILING_WAIT_NS).  If it is not
 *     done by then (or the move could not start), a wait is only timed
 *     and counted in the thread's TLS (recorder_defer), and charged to
 *     the sentinel as no_file once the thread next records or exits — a
 *     thread that exits with such waits makes the file for them, or waits
 *     for the move (bounded) and, still not done, leaves them to the
 *     process: the end settles them (recorder_leave_deferred); a failed
 *     trylock is not counted then (a count, not a wait: rare, and said in
 *     docs/format.md's no_file);
 *   - module map refreshes (dlopen, dlclose, a lock's init site): the move
 *     holds the map's refresh flag (modmap_hold), so a refresh meanwhile is
 *     not made, and is made by a later one;
 *   - the end (lifecycle.c) and snapshots (collect.c): the end closes the
 *     filing first (NONE -> OFF, or waits for a move under way, and if it
 *     is still under way then, writes nothing and says so in one line); a
 *     snapshot is taken only of a profile in its file.
 *
 * Locking rules (docs/safety.md 3): the move runs quiet (quiet.h: signals
 * blocked, no cancellation), so no handler can stop the thread others wait
 * for; every wait for it is bounded; a thread inside dl_iterate_phdr (the
 * loader's lock, which a refresh holding the flag may be waiting for)
 * never waits.  Its system calls are raw (sys.h) and its descriptor is
 * closed within the move; fork's prepare handler waits (bounded) for a
 * move under way, so a child inherits no descriptor of ours.  A fork
 * child starts in memory again (lifecycle.c), with a name of its own.
 */
#include "filing.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "core.h"
#include "quiet.h"
#include "text.h"

#define FILING_WAIT_NS (100 * 1000 * 1000ull)

/* Create the file and move the profile into it: 0, or an errno value after
 * one line on stderr (as at start-up before: the program runs on). */
static int filing_settle(void)
{
	static char err[PFILE_PATH_MAX + 256]; /* one mover at a time */
	struct text t;
	int fd = dumpwrite_create_named(core.path, sizeof(core.path), err, sizeof(err));
	int e = fd < 0 ? (errno ? errno : EIO) : pfile_settle(&core.file, fd, core.path);
	if (!e)
		return 0;
	if (fd >= 0) {
		text_init(&t, err, sizeof(err));
		text_str(&t, "cannot write profile '");
		text_str(&t, core.path);
		text_str(&t, "': ");
		text_str(&t, pfile_strerror(e));
		unlink(core.path); /* ours, made a moment ago */
	}
	t = (struct text){.buf = err, .cap = sizeof(err), .len = strlen(err)};
	text_str(&t, "; not profiling, the program runs on");
	text_warn(err);
	return e;
}

/* The move, by the thread that set BUSY (quiet already): core.filing's
 * next state, and the errno value of a failure in *e. */
static int filing_move(int *e)
{
	int next = FILING_NONE; /* a refresh kept the flag: try again later */
	*e = EAGAIN;
	if (modmap_hold(&core.modmap, lc_tls.in_phdr ? 0 : FILING_WAIT_NS)) {
		*e = filing_settle();
		next = *e ? FILING_OFF : FILING_MADE;
		modmap_unhold(&core.modmap);
	}
	return next;
}

/* Wait (max_ns at most) while a move is under way; the state then. */
static int filing_wait(uint64_t max_ns)
{
	uint64_t deadline = 0;
	int now;
	while ((now = atomic_load(&core.filing)) == FILING_BUSY && max_ns &&
	       clock_wait_turn(&deadline, max_ns))
		;
	return now;
}

int filing_make_now(void)
{
	/* Quiet from the claim to the state after the move: a handler that
	 * jumped away in between would leave BUSY for good (every later event
	 * waiting, and the end never closing the file). */
	struct quiet q;
	int expect = FILING_NONE, e = 0;
	quiet_enter(&q, true);
	bool mover = atomic_compare_exchange_strong(&core.filing, &expect, FILING_BUSY);
	if (mover) {
		int next = filing_move(&e);
		atomic_store(&core.filing, next);
		if (next == FILING_OFF) {
			int running = ST_RUNNING; /* the end may have begun: it sees OFF */
			atomic_compare_exchange_strong(&core.state, &running, ST_OFF);
		}
		expect = next;
	}
	quiet_leave(&q);
	if (!mover && expect == FILING_BUSY)
		expect = filing_wait(lc_tls.in_phdr ? 0 : FILING_WAIT_NS);
	return expect == FILING_MADE ? 0 : e ? e : EAGAIN;
}

bool filing_make(void)
{
	int saved = errno;
	bool made = filing_make_now() == 0;
	errno = saved;
	return made;
}

int filing_close(uint64_t max_ns)
{
	int expect = FILING_NONE;
	if (atomic_compare_exchange_strong(&core.filing, &expect, FILING_OFF))
		return FILING_OFF;
	return filing_wait(max_ns);
}

void filing_fork_prepare(uint64_t max_ns)
{
	(void)filing_wait(max_ns);
}
