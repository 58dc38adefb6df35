/*
 * lifecycle.c — the profile's life in a process: start-up, forks, thread
 * exit, the end.
 *
 * Start-up (the constructor, or lazily the first contention) reads
 * LOCKCONTEND, notes the start and the working directory the profile's
 * name is relative to, and registers fork handlers and the snapshot
 * signal: the process is ARMED (core.h).  Most processes a preload is
 * loaded into never use a lock (a build, a shell script), and on a VM each
 * page a process touches is a page fault of ~20 us: they must cost little
 * more than a bare preload (issue 13: under 1 ms over bench/fwd.c, bench
 * test 9).  So the profile itself — the arena, its memory with the
 * heading, the fixed regions (stack table, slots, lock table, module
 * map), the objects loaded — is made by the process's first event worth
 * it (recorder_start: a contended wait, a failed trylock, a lock made, a
 * thread about to be made), and its file later still, at the first thing
 * worth keeping (filing.c): a process that never contends leaves none.
 *
 * Made before the first thread the program makes, a profile is begun
 * while its process has one thread (or by the constructor, if threads
 * came first) — unless glibc made one itself (a SIGEV_THREAD timer, aio:
 * no pthread_create of ours sees it; __libc_single_threaded does).  Alone,
 * it learns the module map then, whatever locks the thread holds: a
 * refresh waits for the loader's lock, and only another thread could hold
 * that lock and wait for one of ours (loader.h); not alone, only if it
 * holds none.  The map must be known before any stack is published: a
 * thread that always holds a lock when it waits never learns an object
 * itself (account.h).  Nothing else in the making waits for the loader's
 * lock (unwind_init: _dl_find_object).
 *
 * A fork child — with fork's handlers, or without them (lifecycle_adopt:
 * the ownership token tells it at its first call) — starts an empty
 * profile of its own at its first call into the recorder, in memory
 * again, where the parent's was mapped; a thread is never made before, so
 * it has one thread then too.  fork's child handler only forgets the
 * parent's part of the thread and notes the child's start and working
 * directory, by raw system calls: most children exec at once, and a child
 * shares none of its parent's page tables for code, so each page of code
 * it runs is a page fault too.  A thread's exit settles and publishes its
 * slot and gives it back.  The end (exit, _exit, exec) is taken once, by
 * the first caller: collect.c adds up the slots, dumpwrite.c writes the
 * closing records and cuts the file; a profile that never reached its
 * file ends without a word.
 */
#include "core.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"
#include "ln.h"
#include "real.h"
#include "recorder.h"
#include "text.h"
#include "unwind.h"

#define LIFECYCLE_MAX_SLOTS 1024

/* core.h: what start-up writes is its first 2 KiB or so, one page.  Not
 * 4096: .bss would start on a page of its own, and crtstuff's flag there
 * is written at every exit. */
struct core core __attribute__((aligned(2048)));

static uint64_t lifecycle_realtime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- set-up ------------------------------------------------------------ */

static void lifecycle_config_warn(const char *line, void *ctx)
{
	(void)ctx;
	text_warn(line);
}

static void lifecycle_thread_exit(void *arg);
static void lifecycle_atfork_child(void);

static uint64_t lifecycle_heads_for(uint64_t arena_bytes)
{
	uint64_t want = arena_bytes / 512, n = 4096;
	while (n < want && n < (1u << 20))
		n <<= 1;
	return n;
}

/* One lock for every 4 KiB of arena (8192 for the default 32M), a power of
 * two: the table's pages are touched only where locks land. */
static uint64_t lifecycle_locks_for(uint64_t arena_bytes)
{
	uint64_t want = arena_bytes / 4096, n = 256;
	while (n * 2 <= want && n < (1u << 20))
		n <<= 1;
	return n;
}

/* One init site for every 2 KiB of arena (16384 for the default 32M,
 * 1.4 MiB of it), a power of two: locks a program keeps alive at once. */
static uint64_t lifecycle_inits_for(uint64_t arena_bytes)
{
	uint64_t want = arena_bytes / 2048, n = 1024;
	while (n * 2 <= want && n < (1u << 20))
		n <<= 1;
	return n;
}

/* Carve the fixed regions out of the arena (private memory); what a
 * reader needs goes to the profile file. */
static bool lifecycle_layout(void)
{
	uint64_t nslots = core.cfg.arena_bytes / 4 / sizeof(struct slot);
	if (nslots > LIFECYCLE_MAX_SLOTS)
		nslots = LIFECYCLE_MAX_SLOTS;
	struct series_conf series = {.interval_ns = core.cfg.series_ns,
	                             .nentries = series_entries_for(core.cfg.arena_bytes)};
	if (stacktab_init(&core.tab, &core.arena, &core.file,
	                  lifecycle_heads_for(core.cfg.arena_bytes)) != 0 ||
	    slots_init(&core.slots, &core.arena, &core.file, (uint32_t)nslots, core.cfg.waiting,
	               core.cfg.stacks ? core.cfg.depth : 0, &series) != 0 ||
	    lockstate_init(&core.locks, &core.arena, &core.file,
	                   lifecycle_locks_for(core.cfg.arena_bytes)) != 0 ||
	    (core.cfg.inits && initsite_init(&core.inits, &core.arena,
	                                     lifecycle_inits_for(core.cfg.arena_bytes)) != 0) ||
	    modmap_init(&core.modmap, real_dl_iterate_phdr, &core.arena, &core.file,
	                live_u32(&core.live->epoch), core.exe) != 0)
		return false;
	core.books = (struct account_books){.tab = &core.tab,
	                                    .locks = &core.locks,
	                                    .map = &core.modmap,
	                                    .stacks = core.cfg.stacks,
	                                    .origin_ns = core.start_mono};
	core.locks.inits = core.cfg.inits ? &core.inits : NULL;
	core.arena_fixed = arena_used(&core.arena);
	return true;
}

/* One acquisition in hold x rate is looked at for a hold-time sample:
 * rate= is the user's one knob for detail against cost, and a hold sample
 * costs an unwind.  0: off. */
uint32_t lifecycle_hold_rate(void)
{
	uint64_t n = (uint64_t)core.cfg.hold * core.cfg.rate;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The version built in (the Makefile's VERSION), as the WRITER record holds it. */
static const char lifecycle_version[] = LOCKCONTEND_VERSION;
_Static_assert(sizeof(lifecycle_version) > 1 &&
                   sizeof(lifecycle_version) - 1 <= LC_DUMP_MAX_VERSION,
               "VERSION fits the WRITER record");

/* META and LIVE, the first records of a new profile file; attached, its
 * ATTACH record after them (filled in by attach.c); then WRITER, which
 * lockcontend wrote it. */
static bool lifecycle_heading(void)
{
	uint32_t exe_len = (uint32_t)strnlen(core.exe, LC_DUMP_MAX_PATH);
	const uint32_t version_len = sizeof(lifecycle_version) - 1;
	core.meta = pfile_record(&core.file, sizeof(*core.meta) + exe_len);
	core.live = pfile_record(&core.file, sizeof(*core.live));
	core.attached = core.attach ? pfile_record(&core.file, sizeof(*core.attached)) : NULL;
	struct lc_rec_writer *w = pfile_record(&core.file, sizeof(*w) + version_len);
	if (!core.meta || !core.live || (core.attach && !core.attached) || !w)
		return false;
	w->version_len = version_len;
	memcpy(w + 1, lifecycle_version, version_len);
	struct lc_rec_meta *m = core.meta;
	core.pid = getpid();
	m->pid = (uint64_t)core.pid;
	m->start_realtime_ns = core.start_real;
	m->start_mono_ns = core.start_mono;
	m->clock = LC_CLOCK_MONOTONIC;
	m->rate = core.cfg.rate;
	m->depth = core.cfg.depth;
	m->flags = (core.cfg.stacks ? LC_META_STACKS : 0) | (core.cfg.holder ? LC_META_HOLDER : 0) |
	           (core.attach ? LC_META_ATTACHED : 0);
	m->hold_rate = lifecycle_hold_rate();
	m->arena_bytes = core.cfg.arena_bytes;
	m->exe_len = exe_len;
	memcpy(m + 1, core.exe, exe_len);
	pfile_publish(core.meta, LC_REC_META);
	pfile_publish(core.live, LC_REC_LIVE);
	if (core.attached)
		pfile_publish(core.attached, LC_REC_ATTACH);
	pfile_publish(w, LC_REC_WRITER);
	return true;
}

/* The profile's name for this process (pid) is relative to the working
 * directory at its start: its directory part is made then (by raw system
 * calls: fork's child handler makes it too), the rest when the profile
 * begins.  False: none (the directory too long, or out of reach). */
static bool lifecycle_name_dir(pid_t pid)
{
	long dir = dumpwrite_dir(core.cfg.out, core.path, sizeof(core.path));
	core.named_pid = dir >= 0 ? pid : 0;
	core.named_dir = dir >= 0 ? (uint32_t)dir : 0;
	return dir >= 0;
}

static void lifecycle_name_warn(void)
{
	text_warn("cannot name the profile (out= too long, or no working directory); "
	          "not profiling, the program runs on");
}

static void lifecycle_read_exe(void);

/* The whole name (as the profile begins), its directory made now unless
 * it was for this process: 0, or ENAMETOOLONG after one line on stderr. */
static int lifecycle_name(pid_t pid)
{
	if (!core.exe[0]) /* one executable until exec: a fork child's is its parent's */
		lifecycle_read_exe();
	if ((core.named_pid == pid || lifecycle_name_dir(pid)) &&
	    dumpwrite_name_at(core.cfg.out, (uint64_t)pid, core.exe, core.path, sizeof(core.path),
	                      core.named_dir))
		return 0;
	core.named_pid = 0;
	lifecycle_name_warn();
	return ENAMETOOLONG;
}

/* The profile's start, by system calls (sys_bare): at start-up the
 * vDSO's pages are not mapped yet, nor in a fork child libc's, and the
 * page faults would cost more than the calls. */
static uint64_t lifecycle_clock_bare(clockid_t clock)
{
	struct timespec ts = {0, 0};
	sys_bare(SYS_clock_gettime, clock, (long)&ts, 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lifecycle_started_now(void)
{
	core.start_mono = lifecycle_clock_bare(CLOCK_MONOTONIC);
	core.start_real = lifecycle_clock_bare(CLOCK_REALTIME);
}

static pid_t lifecycle_getpid(void)
{
	return (pid_t)sys_bare(SYS_getpid, 0, 0, 0);
}

/* Begin the profile in memory (at `at`: a fork child keeps the parent's
 * addresses), named already, with its heading; the file itself is made at
 * the first thing worth keeping (filing.c).  On failure, one line on
 * stderr that says why and that the program runs on; the errno value of
 * the failure is returned (0: done).  One thread at a time: start-up, a
 * fork child, an attach. */
static int lifecycle_begin(void *at)
{
	atomic_store(&core.filing, FILING_NONE);
	recorder_forget_left(); /* a fork child's are its parent's */
	int e = pfile_start(&core.file, core.cfg.arena_bytes, at);
	if (!e && !lifecycle_heading())
		e = ENOSPC;
	if (e)
		text_warn("cannot reserve the profile's memory (see arena=); not profiling, the "
		          "program runs on");
	return e;
}

static void lifecycle_read_exe(void)
{
	long n =
	    sys_bare(SYS_readlink, (long)"/proc/self/exe", (long)core.exe, sizeof(core.exe) - 1);
	if (n > 0) {
		core.exe[n] = '\0';
		return;
	}
	/* No /proc: the name it was started as is better than none. */
	const char *name = program_invocation_name && *program_invocation_name
	                       ? program_invocation_name
	                       : "unknown";
	size_t len = strnlen(name, sizeof(core.exe) - 1);
	memcpy(core.exe, name, len);
	core.exe[len] = '\0';
}

/* What comes before the profile itself: the hold draw's scale, the start
 * and the name's directory.  0, or the errno value of what failed (one
 * line on stderr said so). */
static int lifecycle_arm(void)
{
	/* log1p and a division cost 55 ns here, and each draw is made inside
	 * a critical section: once, now (at start-up, or at each attach) */
	uint32_t hold = lifecycle_hold_rate();
	core.hold_scale = hold > 1 ? 1 / ln_log1p(-1.0 / hold) : 0;
	lifecycle_started_now();
	if (lifecycle_name_dir(lifecycle_getpid()))
		return 0;
	lifecycle_name_warn();
	return ENAMETOOLONG;
}

/* The profile itself, as core.cfg says: the arena, the file and its
 * heading, the fixed regions, the objects loaded now.  `alone`: the
 * process has one thread (lifecycle_start, as glibc counts them).  0, or
 * the errno value of what failed (one line on stderr said so). */
static int lifecycle_make(bool alone)
{
	int e = lifecycle_name(lifecycle_getpid());
	if (e)
		return e;
	/* The private memory first: a process that cannot have it (ulimit -v)
	 * leaves no file behind. */
	if (arena_init(&core.arena, core.cfg.arena_bytes) != 0) {
		text_warn("cannot reserve the arena (see arena=); profiling disabled");
		return ENOMEM;
	}
	e = lifecycle_begin(NULL);
	if (e)
		return e;
	if (!lifecycle_layout()) {
		text_warn("cannot reserve the arena (see arena=); profiling disabled");
		return ENOMEM;
	}
	/* Attached, the file is what the user asked for: made at once. */
	if (core.attach && (e = filing_make_now()) != 0)
		return e;
	if (core.cfg.stacks) {
		unwind_init();
		/* The objects loaded now, known before any stack: a thread
		 * that always holds a lock when it waits never learns one
		 * itself (account.h), and publishes only stacks into these.
		 * Alone, whatever locks this thread holds, no other can hold
		 * the loader's lock and wait for one of them (loader.h); else
		 * not by a thread that holds a lock (a start before the
		 * constructor's, or glibc's own threads about): its first
		 * stack will ask. */
		if (core.attach || (!lc_tls.in_phdr && (alone || lc_holds_nothing(&lc_tls))))
			recorder_refresh(0);
	}
	return 0;
}

static int lifecycle_setup(void)
{
	config_parse(getenv("LOCKCONTEND"), &core.cfg, lifecycle_config_warn, NULL);
	if (!core.cfg.enabled)
		return ST_OFF;
	if (getauxval(AT_SECURE)) {
		text_warn("setuid/setgid program: LOCKCONTEND ignored, nothing recorded");
		return ST_OFF;
	}
	if (lifecycle_arm() != 0)
		return ST_OFF;
	if (pthread_key_create(&core.key, lifecycle_thread_exit) != 0) {
		text_warn("no thread-specific key left; profiling disabled");
		return ST_OFF;
	}
	pthread_atfork(lifecycle_atfork_prepare, lifecycle_atfork_parent, lifecycle_atfork_child);
	if (core.cfg.signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = collect_snapshot;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(core.cfg.signal, &sa, NULL);
	}
	/* One thread (most processes): the profile waits for its first
	 * event (lifecycle_start).  Threads made before us (by another
	 * library's constructor) may be waiting already: made now. */
	if (__libc_single_threaded)
		return ST_ARMED;
	return lifecycle_make(false) == 0 ? ST_RUNNING : ST_OFF;
}

void lifecycle_init(void)
{
	int expect = ST_NONE;
	if (!atomic_compare_exchange_strong(&core.state, &expect, ST_INITIALIZING))
		return;
	lc_guard_in(&lc_tls);
	int saved = errno;
	int st = lifecycle_setup();
	errno = saved;
	lc_tls.guard--;
	atomic_store_explicit(&core.state, st, memory_order_release);
}

bool lifecycle_start(void)
{
	struct lc_tls *t = &lc_tls;
	int expect = ST_ARMED;
	if (t->guard || !atomic_compare_exchange_strong(&core.state, &expect, ST_INITIALIZING))
		return false;
	lc_guard_in(t);
	int saved = errno;
	if (core.named_pid != lifecycle_getpid()) {
		/* a child of an armed process, made without fork's handlers: it
		 * starts now, named from here; this thread's cached id may be
		 * its parent's (hooks.c learns it again) */
		lifecycle_started_now();
		t->tid = 0;
	}
	/* No pthread_create made a thread before (recorder_thread_coming),
	 * but glibc makes its own without it (a SIGEV_THREAD timer, aio),
	 * which may hold the loader's lock in a callback that waits for a
	 * mutex this thread holds: alone only if glibc says so. */
	int e = lifecycle_make(__libc_single_threaded);
	errno = saved;
	t->guard--;
	atomic_store_explicit(&core.state, e ? ST_OFF : ST_RUNNING, memory_order_release);
	return !e;
}

/* The loader's gate is shut only if other threads could enter it: with
 * one, the parent writes none of our memory around the fork, which it
 * shares with the child until the child execs (each page written would
 * be copied).  A move into the file is waited for in the process that
 * owns the profile: a child not begun yet inherited its parent's state,
 * and a move under way there will never end here (lifecycle_begin). */
void lifecycle_atfork_prepare(void)
{
	if (atomic_load(&core.filing) == FILING_BUSY && pfile_mine(&core.file))
		filing_fork_prepare(CORE_CLOSE_WAIT_NS);
	if (!__libc_single_threaded)
		loader_fork_prepare(&core.loader, &lc_tls);
}

/* The gate is shut only if the prepare handler shut it: with one thread
 * nobody else prepares a fork meanwhile. */
void lifecycle_atfork_parent(void)
{
	if (atomic_load(&core.loader.fork_gate))
		loader_fork_parent(&core.loader);
}

/* Waits deferred while this process's profile was not begun (recorder_defer:
 * armed, or a fork child not begun yet) need it now: it is begun, to take
 * them (not in a vfork child, nor in one made without fork's handlers,
 * which counted none). */
static void lifecycle_take_deferred(struct lc_tls *t)
{
	if (recorder_deferred_pending(t) && !t->guard && core.named_pid == lifecycle_getpid())
		(void)recorder_start();
}

/* pthread key destructor: the thread is exiting; publish and free its
 * slot (attached: unless the slot is of a profile that has ended since,
 * which core_enter forgets). */
static void lifecycle_thread_exit(void *arg)
{
	struct lc_tls *t = &lc_tls;
	if (!t->slot && arg == &recorder_deferred_mark)
		lifecycle_take_deferred(t);
	core_enter(t);
	/* A thread without a slot whose waits were deferred (recorder_defer)
	 * gets one now, to settle them in. */
	if (t->slot ? arg == t->slot : arg == &recorder_deferred_mark) {
		/* A wait left by unwinding (pthread_exit and the jumps were
		 * told: hooks_jump.c): its frame is gone, its sample with it. */
		t->wait = NULL;
		t->shown = NULL;
		t->sampling = 0;
		recorder_flush(t);
		/* no slot: the file is still being made (the flush waited for
		 * the move a bounded time); the end settles them */
		if (!t->slot)
			recorder_leave_deferred(t);
		recorder_thread_end(t); /* none if the flush left it no slot */
		if (t->slot)
			slots_release(&core.slots, t->slot);
		t->slot = NULL;
	}
	core_leave(t);
}

/* The one thread of a fork child: what it held of the parent's profile —
 * its slot, its waits, its hold sample, its counts — is forgotten, and
 * its thread id is new. */
static void lifecycle_thread_forget(struct lc_tls *t)
{
	t->slot = NULL;
	t->shown = NULL;
	t->wait = NULL;
	t->in_slot = NULL; /* in_loader stays: loader_fork_child */
	t->pending = 0;
	t->sampling = 0;
	t->hold_lock = 0;
	t->tid = 0;
	recorder_forget_deferred(t);
}

/* A child's own profile, begun at its first call into the recorder
 * (lifecycle_adopt): in a new file mapped where the parent's was (every
 * pointer into it stays valid); the parent's file is never written by the
 * child.  Only syscalls and our own memory here, and at the end one
 * refresh of the module map.  The child has one thread: a thread is never
 * made before its profile is begun (recorder_start, hooks_thread.c), so
 * other threads of the parent, gone, are all it may find in the loader's
 * counts (loader_fork_child), and the lock this one may hold is nobody's
 * to wait for with the loader's lock held: the map is learned whatever it
 * holds. */
static void lifecycle_child_start(void)
{
	struct lc_tls *t = &lc_tls;
	lc_guard_in(t);
	/* Other threads of the child (a raw clone's) see the new file as
	 * theirs as soon as it is mapped: they record nothing until
	 * everything is reset. */
	atomic_store(&core.state, ST_INITIALIZING);
	void *at = core.file.base;
	pfile_forget(&core.file); /* the parent's: not touched */
	pid_t pid = lifecycle_getpid();
	/* fork's child handler named its directory, kept its start and
	 * forgot the parent's part of this thread; made without it, all of
	 * that now */
	bool handled = core.named_pid == pid;
	if (!handled) {
		lifecycle_thread_forget(t);
		lifecycle_started_now();
	}
	core.books.origin_ns = core.start_mono; /* the child's series start then */
	/* In memory again, at the same addresses: the parent's file is out
	 * of the child's reach, and the child's own is made at its first
	 * contention (filing.c). */
	bool ok = lifecycle_name(pid) == 0 && lifecycle_begin(at) == 0;
	if (!ok) {
		/* Keep the addresses, lose the parent's file: a late store of
		 * ours lands in memory nobody reads. */
		pfile_blank(at, core.cfg.arena_bytes);
		atomic_store(&core.state, ST_OFF);
	}
	arena_reset(&core.arena, core.arena_fixed);
	stacktab_reset(&core.tab);
	lockstate_reset(&core.locks);
	t->gen = atomic_fetch_add(&core.gen, 1) + 1;
	modmap_reset(&core.modmap);
	slots_reset(&core.slots);
	if (ok && !slots_overflow(&core.slots)->pub) {
		text_warn("no room in the new profile; profiling disabled in this child");
		atomic_store(&core.state, ST_OFF);
	}
	/* waits deferred before (recorder_defer) are settled at its exit */
	pthread_setspecific(core.key,
	                    recorder_deferred_pending(t) ? &recorder_deferred_mark : NULL);
	loader_fork_child(&core.loader, t);
	int initializing = ST_INITIALIZING;
	atomic_compare_exchange_strong(&core.state, &initializing, ST_RUNNING);
	/* The child's map starts empty: it learns what is loaded now, as at
	 * start-up (its threads may always hold a lock when they wait). */
	if (core.cfg.stacks && !t->in_phdr && !t->in_loader)
		recorder_refresh(0);
	t->guard--;
}

/* fork()'s child handler.  The child's profile is begun by its first call
 * into the recorder (lifecycle_adopt, lifecycle_start) — most children
 * exec or exit first, and it is never made.  Only what belongs to the
 * fork itself is done here: the thread forgets the parent's profile, and
 * the child starts at the fork, with the working directory then for its
 * name's (as the parent's at start-up).  Raw system calls, and one page of ours written (core.h):
 * the child faults in no page of libc's or ours again for them. */
static void lifecycle_atfork_child(void)
{
	int st = atomic_load(&core.state);
	if (st != ST_RUNNING && st != ST_ARMED)
		return;
	/* Forked by a signal handler on top of our work: when the handler
	 * returns, the thread goes on with that work — its slot, its wait,
	 * its unwind — so nothing of it is forgotten now (its slot taken
	 * from under it crashed recorder_note), and the stores it has left
	 * to make land in a copy of the parent's file, never in the file (a
	 * bucket added to twice there did not match its totals).  Not named
	 * now either: the child begins as one made without fork's handlers
	 * (lifecycle_child_start forgets and starts it then). */
	if (lc_tls.guard) {
		pfile_apart(&core.file);
		return;
	}
	lifecycle_thread_forget(&lc_tls);
	lifecycle_started_now();
	/* none (too long): the child's start says so, if it comes */
	(void)lifecycle_name_dir(lifecycle_getpid());
}

/* A fork child's first call into the recorder, whether fork's handlers ran
 * or not (_Fork(), a raw fork or clone system call): it shares the
 * parent's file mapping, but the kernel wiped the ownership token
 * (pfile.h), so it knows, and starts its own profile.  Not from inside our
 * own work (a signal handler that forked), and one thread at a time: the
 * others record nothing meanwhile. */
bool lifecycle_adopt(void)
{
	static _Atomic int adopting;
	if (lc_tls.guard || atomic_exchange(&adopting, 1))
		return false;
	int saved = errno;
	if (!pfile_mine(&core.file))
		(core.child ? core.child : lifecycle_child_start)();
	errno = saved;
	atomic_store(&adopting, 0);
	return core_recording();
}

/* The META record's end, the LIVE state. */
static void lifecycle_close_meta(uint32_t state)
{
	core.meta->end_realtime_ns = lifecycle_realtime();
	core.meta->end_mono_ns = recorder_now();
	core.meta->arena_used = arena_used(&core.arena);
	atomic_store(live_u32(&core.live->state), state);
}

/* One line about the profile file: what, its name, why (e, unless 0). */
static void lifecycle_file_warn(const char *what, int e, const char *then)
{
	static char err[PFILE_PATH_MAX + 256]; /* the dumper's alone */
	struct text tx;
	text_init(&tx, err, sizeof(err));
	text_str(&tx, what);
	text_str(&tx, core.path);
	text_str(&tx, "'");
	if (e) {
		text_str(&tx, ": ");
		text_str(&tx, pfile_strerror(e));
	}
	text_str(&tx, then);
	text_warn(err);
}

static void lifecycle_finish(uint32_t state);
static bool lifecycle_let_go(void);
static bool lifecycle_drained; /* the last detach's threads all left our work */

/* The end of the profile: at exit (library destructor), or before exec().
 * Idempotent: the first caller ends it. */
static bool lifecycle_end(uint32_t state)
{
	struct lc_tls *t = &lc_tls;
	if (!core_running())
		return false;
	recorder_adopt_left(t); /* waits of threads gone before the file was made */
	if (t->slot || recorder_deferred_pending(t))
		recorder_flush(t); /* our own event, stash and re-entrant charges */
	int expect = ST_RUNNING;
	if (!atomic_compare_exchange_strong(&core.state, &expect, ST_DUMPING))
		return false;
	if (state == LC_LIVE_DETACHED)
		lifecycle_drained = lifecycle_let_go();
	lifecycle_finish(state);
	return true;
}

/* The closing records, by the one caller that moved RUNNING to DUMPING. */
static void lifecycle_finish(uint32_t state)
{
	struct lc_tls *t = &lc_tls;
	int saved = errno;
	lc_guard_in(t);
	int filed = filing_close(CORE_CLOSE_WAIT_NS);
	if (filed != FILING_MADE) {
		/* nothing worth keeping: no file, not a word; or a file still
		 * being made, which the end must not write (a mover stopped
		 * or starved past the wait) */
		if (filed == FILING_BUSY)
			lifecycle_file_warn(
			    "profile '", 0,
			    " was still being moved into its file when the program "
			    "ended, and the end gave up waiting for it: it is missing, "
			    "or cut short without its closing records");
		atomic_store(&core.state, ST_DONE);
		t->guard--;
		errno = saved;
		return;
	}
	static struct dump_input in; /* only the first caller gets here */
	memset(&in, 0, sizeof(in));
	collect_slots(&in);
	/* Another thread may be refreshing (it left its slot first): wait for
	 * it a while, then refresh once more ourselves. */
	recorder_refresh(CORE_CLOSE_WAIT_NS);
	collect_counters(&in);
	lifecycle_close_meta(state);
	int grow = atomic_load(&core.file.error);
	int e = dumpwrite_finish(&core.file, &in);
	if (e)
		lifecycle_file_warn("cannot finish profile '", e,
		                    " (what was recorded is in it, without its closing records)");
	else if (grow)
		lifecycle_file_warn("profile '", grow,
		                    ": it stopped growing there, and what came after went to the "
		                    "sentinel (the report says how much)");
	if (!e && core.cfg.verbose)
		collect_summary(&in, core.path);
	atomic_store(&core.state, ST_DONE);
	t->guard--;
	errno = saved;
}

static void lifecycle_end_own(uint32_t state);

void lifecycle_dump(void)
{
	lifecycle_end_own(LC_LIVE_EXITED);
}

/* The end of the profile in this process: a vfork() child shares our
 * memory, and the profile is its parent's. */
static void lifecycle_end_own(uint32_t state)
{
	struct lc_tls *t = &lc_tls;
	lifecycle_take_deferred(t);
	/* not adopting: a child that never recorded ends without a file of
	 * its own, and never the parent's (its pid first: a child that never
	 * began does not even read the ownership token's page) */
	if (core.pid == lifecycle_getpid() && core_recording())
		(void)lifecycle_end(state);
}

void lifecycle_exec(void)
{
	lifecycle_end_own(LC_LIVE_EXEC);
}

void lifecycle_exit(void)
{
	lifecycle_end_own(LC_LIVE_EXITED);
}

/* ---- attached (attach.c) ------------------------------------------------- */

/* How long a detach waits for the threads inside our work to leave it:
 * they never block there, so only a thread stopped (by a debugger, or a
 * signal handler on top of us that waits) takes longer. */
#define LIFECYCLE_DRAIN_NS (1000 * 1000 * 1000ull)
/* ...and for a charge taken to be noted (a few instructions after the
 * real unlock; a thread a handler jumped away meanwhile never notes it). */
#define LIFECYCLE_CLOSE_NS (100 * 1000 * 1000ull)

/* The thread's first counted work in a profile begun since its last: what
 * it held of an older profile — its slot (in an arena given back since),
 * its waits, its hold sample and the look prepared for one, its uncharged
 * contention — is forgotten. */
static void lifecycle_thread_new(struct lc_tls *t)
{
	t->slot = NULL;
	t->overflow = 0;
	t->pending = 0;
	t->sampling = 0;
	t->wait = NULL;
	t->shown = NULL;
	t->in_slot = NULL;
	t->hold_lock = 0;
	t->hold_look = 0;
	recorder_forget_deferred(t);
	t->gen = atomic_load(&core.gen);
}

void core_count_in(struct lc_tls *t)
{
	uint32_t p = atomic_load(&core.pass) & 1;
	atomic_fetch_add(&core.inside[p], 1);
	t->inside = (uint8_t)(p + 1);
	/* after the count (both sequentially consistent): a detach that moved
	 * gen on before it read the count either waits for us or is seen */
	if (t->gen != atomic_load(&core.gen))
		lifecycle_thread_new(t);
}

void core_count_out(struct lc_tls *t)
{
	atomic_fetch_sub(&core.inside[t->inside - 1], 1);
	t->inside = 0;
}

/* Wait (at most max_ns) for the threads counted in the current pass to
 * leave our work; those that enter meanwhile count in the other. */
static bool lifecycle_drain_pass(uint64_t max_ns)
{
	uint32_t p = atomic_fetch_add(&core.pass, 1) & 1;
	uint64_t deadline = 0;
	while (atomic_load(&core.inside[p]) > 0)
		if (!clock_wait_turn(&deadline, max_ns))
			return false;
	return true;
}

/* A detach, the profile stopped (DUMPING): every thread that enters our
 * work from now on forgets it (gen), and those inside are waited for, so
 * that none writes it after its closing records.  False: one is still
 * inside (stopped there). */
static bool lifecycle_let_go(void)
{
	atomic_fetch_add(&core.gen, 1);
	return lifecycle_drain_pass(LIFECYCLE_DRAIN_NS);
}

/* The memory of a profile that ended: no thread is inside our work, and
 * every one forgets the profile before it looks at it again (gen). */
static void lifecycle_release(void)
{
	if (core.arena.base)
		munmap(core.arena.base, core.arena.size);
	memset(&core.arena, 0, sizeof(core.arena));
	if (core.file.base)
		munmap(core.file.base, core.file.cap);
	pfile_forget(&core.file);
	core.file.base = NULL;
	core.meta = NULL;
	core.live = NULL;
	core.attached = NULL;
}

/* Its profile file, out of reach of a thread that may still be inside our
 * work: private memory from now on, where its stores land unread. */
static void lifecycle_keep_apart(void)
{
	if (core.file.base)
		pfile_blank(core.file.base, core.file.cap);
}

int lifecycle_attach(const struct config *cfg)
{
	struct lc_tls *t = &lc_tls;
	int was = atomic_load(&core.state);
	if ((was != ST_OFF && was != ST_DONE) ||
	    !atomic_compare_exchange_strong(&core.state, &was, ST_INITIALIZING))
		return EALREADY;
	/* The last profile's threads: out of our work (both passes), before
	 * its memory goes. */
	atomic_fetch_add(&core.gen, 1);
	if (!lifecycle_drain_pass(LIFECYCLE_DRAIN_NS) ||
	    !lifecycle_drain_pass(LIFECYCLE_DRAIN_NS)) {
		atomic_store(&core.state, was);
		return EBUSY;
	}
	lifecycle_release();
	unwind_forget(); /* objects may have come and gone while detached */
	core.cfg = *cfg;
	atomic_store(&core.releasing, 0);
	atomic_store(&core.closing, 0);
	lc_guard_in(t);
	int e = lifecycle_arm();
	if (!e)
		e = lifecycle_make(false);
	if (!e && !core.key_made && pthread_key_create(&core.key, lifecycle_thread_exit) != 0)
		e = EAGAIN;
	core.key_made |= !e;
	t->guard--;
	if (e) {
		lifecycle_release();
		atomic_store(&core.state, ST_OFF);
		return e;
	}
	atomic_store_explicit(&core.state, ST_RUNNING, memory_order_release);
	return 0;
}

bool lifecycle_detach(void)
{
	/* The charges under way noted first, none taken after: each unlock's
	 * waiting is then charged, or counted as no unlock's, exactly once. */
	uint64_t deadline = 0;
	atomic_store(&core.closing, 1);
	while (atomic_load(&core.releasing) > 0 && clock_wait_turn(&deadline, LIFECYCLE_CLOSE_NS))
		;
	if (!lifecycle_end(LC_LIVE_DETACHED))
		return false;
	if (lifecycle_drained)
		lifecycle_release();
	else
		lifecycle_keep_apart();
	return true;
}

void lifecycle_child_quiet(void)
{
	struct lc_tls *t = &lc_tls;
	atomic_store(&core.state, ST_OFF);
	atomic_fetch_add(&core.gen, 1);
	for (int p = 0; p < 2; p++)
		atomic_store(&core.inside[p], t->inside == p + 1);
	loader_fork_child(&core.loader, t);
	/* Forked from inside our work (a signal handler's fork), the thread
	 * goes on with it: the parent's file must not be its to write. */
	if (t->guard)
		lifecycle_keep_apart();
	else
		lifecycle_release();
	pfile_forget(&core.file);
	t->tid = 0;
}
