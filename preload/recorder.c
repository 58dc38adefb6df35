/*
 * recorder.c — lockcontend's core: sampling, timing, stashes, merging, dump.
 *
 * State machine of the process-wide recorder (g.state):
 *   NONE -> INITIALIZING -> RUNNING -> DUMPING -> DONE
 *                        \-> OFF (LOCKCONTEND=off, setuid, no memory)
 * Only RUNNING records.  The dump (at exit) moves RUNNING -> DUMPING first,
 * then closes every slot (waiting a bounded time for a thread inside one),
 * so from then on the slots, the table and the totals are still: what the
 * dump reads is consistent, and an event that ends after that point is in
 * no total and no bucket.
 *
 * Conservation: every recorded event (a wait, a charge to an unlock, a
 * hold-time sample) is noted in its slot, then settled (by its thread
 * before its next event or at exit, or by the dumper): that adds (count,
 * delay) to the slot's totals for its view and, in the same slot section,
 * to exactly one of: the thread's stash, the slot's lost counters for that
 * view.  A stash later moves whole into a table bucket or, if the arena is
 * full, into lost.  So at dump time, per view,
 *   sum(buckets) + sum(lost) == sum(slot totals)
 * exactly, which the dump carries for readers to check.  And every sampled
 * wait is split between charges to unlocks and the slot's uncharged_ns
 * (lockstate.h), so caused + uncharged == waited, but for waits in progress
 * at dump time.
 */
#include "recorder.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "arena.h"
#include "clock.h"
#include "config.h"
#include "dumpwrite.h"
#include "pfile.h"
#include "loader.h"
#include "lockstate.h"
#include "modmap.h"
#include "slots.h"
#include "stackroom.h"
#include "stacktab.h"
#include "sys.h"
#include "text.h"
#include "unwind.h"

__thread struct lc_tls lc_tls __attribute__((tls_model("initial-exec")));

enum { ST_NONE, ST_INITIALIZING, ST_RUNNING, ST_DUMPING, ST_DONE, ST_OFF };

#define RECORDER_MAX_SLOTS 1024
#define RECORDER_CLOSE_WAIT_NS (100 * 1000 * 1000ull)
#define RECORDER_HOLD_STALE_NS (10 * 1000 * 1000 * 1000ull)

static struct {
	_Atomic int state;
	struct config cfg;
	struct arena arena;
	struct stacktab tab;
	struct slots slots;
	struct modmap modmap;
	struct lockstate locks;
	struct pfile file;           /* the profile, written in place */
	struct loader loader;        /* our calls into libunwind and the loader */
	struct lc_rec_meta *meta;    /* its META record */
	struct lc_rec_live *live;    /* its LIVE record */
	char path[PFILE_PATH_MAX];
	size_t arena_fixed; /* bytes of the fixed regions, kept by a fork child */
	uint64_t start_mono, start_real;
	pthread_key_t key;
	_Atomic uint32_t fork_gen; /* forks this process has been the child of */
	char exe[PATH_MAX];
} g;

/* The LIVE record's counters are updated in place, atomically. */
static inline _Atomic uint64_t *live_u64(uint64_t *field)
{
	return (_Atomic uint64_t *)field;
}

static inline _Atomic uint32_t *live_u32(uint32_t *field)
{
	return (_Atomic uint32_t *)field;
}

uint64_t recorder_now(void)
{
	return clock_mono_ns();
}

static uint64_t recorder_realtime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Recording, in the process that owns the profile file. */
static bool recorder_recording(void)
{
	return atomic_load_explicit(&g.state, memory_order_acquire) == ST_RUNNING &&
	       pfile_mine(&g.file);
}

static bool recorder_adopt(void);

/* Recording; a child made without fork's handlers (see recorder_adopt)
 * starts its own profile first. */
static bool recorder_running(void)
{
	if (atomic_load_explicit(&g.state, memory_order_acquire) != ST_RUNNING)
		return false;
	return __builtin_expect(pfile_mine(&g.file), 1) || recorder_adopt();
}

/* ---- set-up ------------------------------------------------------------ */

static void recorder_config_warn(const char *line, void *ctx)
{
	(void)ctx;
	text_warn(line);
}

static void recorder_thread_exit(void *arg);
static void recorder_atfork_child(void);
static void recorder_atfork_prepare(void);
static void recorder_atfork_parent(void);
static void recorder_snapshot(int sig);

static uint64_t recorder_heads_for(uint64_t arena_bytes)
{
	uint64_t want = arena_bytes / 512, n = 4096;
	while (n < want && n < (1u << 20))
		n <<= 1;
	return n;
}

/* One lock for every 4 KiB of arena (8192 for the default 32M), a power of
 * two: the table's pages are touched only where locks land. */
static uint64_t recorder_locks_for(uint64_t arena_bytes)
{
	uint64_t want = arena_bytes / 4096, n = 256;
	while (n * 2 <= want && n < (1u << 20))
		n <<= 1;
	return n;
}

/* Carve the fixed regions out of the arena (private memory); what a
 * reader needs goes to the profile file. */
static bool recorder_layout(void)
{
	uint64_t nslots = g.cfg.arena_bytes / 4 / sizeof(struct slot);
	if (nslots > RECORDER_MAX_SLOTS)
		nslots = RECORDER_MAX_SLOTS;
	if (stacktab_init(&g.tab, &g.arena, &g.file, recorder_heads_for(g.cfg.arena_bytes)) != 0 ||
	    slots_init(&g.slots, &g.arena, &g.file, (uint32_t)nslots) != 0 ||
	    lockstate_init(&g.locks, &g.arena, &g.file, recorder_locks_for(g.cfg.arena_bytes)) != 0 ||
	    modmap_init(&g.modmap, &g.arena, &g.file, live_u32(&g.live->epoch), g.exe) != 0)
		return false;
	g.arena_fixed = arena_used(&g.arena);
	return true;
}

/* One acquisition in hold x rate is looked at for a hold-time sample:
 * rate= is the user's one knob for detail against cost, and a hold sample
 * costs an unwind.  0: off. */
static uint32_t recorder_hold_rate(void)
{
	uint64_t n = (uint64_t)g.cfg.hold * g.cfg.rate;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* META and LIVE, the first records of a new profile file. */
static bool recorder_heading(void)
{
	uint32_t exe_len = (uint32_t)strnlen(g.exe, LC_DUMP_MAX_PATH);
	g.meta = pfile_record(&g.file, sizeof(*g.meta) + exe_len);
	g.live = pfile_record(&g.file, sizeof(*g.live));
	if (!g.meta || !g.live)
		return false;
	struct lc_rec_meta *m = g.meta;
	m->pid = (uint64_t)getpid();
	m->start_realtime_ns = g.start_real;
	m->start_mono_ns = g.start_mono;
	m->clock = LC_CLOCK_MONOTONIC;
	m->rate = g.cfg.rate;
	m->depth = g.cfg.depth;
	m->flags = (g.cfg.stacks ? LC_META_STACKS : 0) | (g.cfg.holder ? LC_META_HOLDER : 0);
	m->hold_rate = recorder_hold_rate();
	m->arena_bytes = g.cfg.arena_bytes;
	m->exe_len = exe_len;
	memcpy(m + 1, g.exe, exe_len);
	pfile_publish(g.meta, LC_REC_META);
	pfile_publish(g.live, LC_REC_LIVE);
	return true;
}

/* Create and map the profile file (at `at`: a fork child keeps the
 * parent's addresses), and write its heading.  On failure, one line on
 * stderr that names the file and why, and says the program runs on. */
static bool recorder_open_file(void *at)
{
	static char err[PFILE_PATH_MAX + 256]; /* start-up or a fork child: one thread */
	struct text t;
	int fd = dumpwrite_create(g.cfg.out, (uint64_t)getpid(), g.exe, g.path, sizeof(g.path), err,
	                          sizeof(err));
	int e = fd < 0 ? -1 : pfile_map(&g.file, fd, g.path, g.cfg.arena_bytes, at);
	if (!e && !recorder_heading())
		e = g.file.error ? g.file.error : ENOSPC;
	if (!e)
		return true;
	if (e > 0) {
		text_init(&t, err, sizeof(err));
		text_str(&t, "cannot write profile '");
		text_str(&t, g.path);
		text_str(&t, "': ");
		text_str(&t, pfile_strerror(e));
		unlink(g.path); /* ours, made a moment ago, and empty */
		pfile_forget(&g.file);
	}
	t = (struct text){.buf = err, .cap = sizeof(err), .len = strlen(err)};
	text_str(&t, "; not profiling, the program runs on");
	text_warn(err);
	return false;
}

static void recorder_read_exe(void)
{
	ssize_t n = readlink("/proc/self/exe", g.exe, sizeof(g.exe) - 1);
	if (n > 0) {
		g.exe[n] = '\0';
		return;
	}
	/* No /proc: the name it was started as is better than none. */
	const char *name = program_invocation_name && *program_invocation_name
	                       ? program_invocation_name
	                       : "unknown";
	size_t len = strnlen(name, sizeof(g.exe) - 1);
	memcpy(g.exe, name, len);
	g.exe[len] = '\0';
}

static int recorder_setup(void)
{
	config_parse(getenv("LOCKCONTEND"), &g.cfg, recorder_config_warn, NULL);
	if (!g.cfg.enabled)
		return ST_OFF;
	if (getauxval(AT_SECURE)) {
		text_warn("setuid/setgid program: LOCKCONTEND ignored, nothing recorded");
		return ST_OFF;
	}
	recorder_read_exe();
	g.start_mono = recorder_now();
	g.start_real = recorder_realtime();
	/* The private memory first: a process that cannot have it (ulimit -v)
	 * leaves no file behind. */
	if (arena_init(&g.arena, g.cfg.arena_bytes) != 0) {
		text_warn("cannot reserve the arena (see arena=); profiling disabled");
		return ST_OFF;
	}
	if (!recorder_open_file(NULL))
		return ST_OFF;
	if (!recorder_layout()) {
		text_warn("cannot reserve the arena (see arena=); profiling disabled");
		return ST_OFF;
	}
	if (g.cfg.stacks)
		unwind_init();
	if (pthread_key_create(&g.key, recorder_thread_exit) != 0) {
		text_warn("no thread-specific key left; profiling disabled");
		return ST_OFF;
	}
	pthread_atfork(recorder_atfork_prepare, recorder_atfork_parent, recorder_atfork_child);
	if (g.cfg.signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = recorder_snapshot;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(g.cfg.signal, &sa, NULL);
	}
	return ST_RUNNING;
}

void recorder_init(void)
{
	int expect = ST_NONE;
	if (!atomic_compare_exchange_strong(&g.state, &expect, ST_INITIALIZING))
		return;
	lc_guard_in(&lc_tls);
	int saved = errno;
	int st = recorder_setup();
	errno = saved;
	lc_tls.guard--;
	atomic_store_explicit(&g.state, st, memory_order_release);
}

/* ---- per-thread slot ---------------------------------------------------- */

static struct slot *recorder_slot(struct lc_tls *t)
{
	if (!t->slot) {
		bool overflow;
		t->slot = slots_acquire(&g.slots, &overflow);
		t->overflow = overflow;
		atomic_fetch_add_explicit(live_u64(&g.live->threads_seen), 1, memory_order_relaxed);
		if (!overflow)
			pthread_setspecific(g.key, t->slot);
		if (!t->rng)
			t->rng = (recorder_now() ^ (uintptr_t)t) | 1;
	}
	return t->slot;
}

/* Enter the slot only while recording: a slot the dumper will not read (it
 * was handed out after the dump began) must not touch the table either.
 * slot_enter's CAS and this load are both sequentially consistent, and so
 * is the dumper's RUNNING -> DUMPING store before it reads the slots. */
static bool recorder_enter(struct slot *sl, bool shared)
{
	if (!slot_enter(sl, shared))
		return false;
	if (atomic_load(&g.state) == ST_RUNNING) {
		lc_tls.in_slot = sl; /* for recorder_repair */
		return true;
	}
	slot_leave(sl);
	return false;
}

static void recorder_leave(struct slot *sl)
{
	lc_tls.in_slot = NULL;
	slot_leave(sl);
}

/* Contention met inside our own work, into the slot (inside it): it was
 * never registered with its lock, so all of it is uncharged. */
static void recorder_settle_reentrant(struct lc_tls *t, struct slot *sl)
{
	if (!atomic_load_explicit(&t->reent_count, memory_order_relaxed))
		return;
	struct account_event e = {.key.view = LC_VIEW_WAIT};
	e.count = atomic_exchange_explicit(&t->reent_count, 0, memory_order_relaxed);
	e.delay_ns = atomic_exchange_explicit(&t->reent_delay, 0, memory_order_relaxed);
	e.uncharged_ns = e.delay_ns;
	account_lost_event(sl, &e, LC_LOST_REENTRANT);
}

void recorder_reentrant(struct lc_tls *t, uint64_t delay_ns)
{
	if (!recorder_recording())
		return;
	atomic_fetch_add_explicit(&t->reent_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->reent_delay, delay_ns, memory_order_relaxed);
}

/* ---- the slow path ------------------------------------------------------ */

static void recorder_settle(struct lc_tls *t, struct slot *sl)
{
	account_settle(sl, g.cfg.stacks, &t->rng);
}

/* Settle and publish everything in the slot (inside it); true when the
 * module map needs a refresh.  The LIVE record's count of refused stacks
 * follows the table's, for readers of a file whose writer died. */
static bool recorder_publish_all(struct slot *sl, uint64_t *rng)
{
	bool refresh = account_publish_all(sl, &g.tab, &g.modmap, g.cfg.stacks, rng);
	uint64_t refused = atomic_load(&g.tab.refused);
	if (refused != atomic_load(live_u64(&g.live->stacks_refused)))
		atomic_store(live_u64(&g.live->stacks_refused), refused);
	return refresh;
}

/* The owner, inside its slot, before its next event: settle the noted one
 * and, if the thread holds no mutex (the table must never make a lock
 * holder wait on the loader, below), publish. */
static bool recorder_publish(struct lc_tls *t, struct slot *sl)
{
	recorder_settle_reentrant(t, sl);
	if (lc_held(t) > 0) {
		/* not safe to publish: the noted event joins the stash, by
		 * the keep-one rule if the stash is full */
		recorder_settle(t, sl);
		t->pending = 1;
		return false;
	}
	bool refresh = recorder_publish_all(sl, &t->rng);
	t->pending = 0;
	return refresh;
}

/* A thread without a slot of its own (all taken) records into the shared
 * overflow slot at once: totals and the sentinel, no stack. */
static void recorder_overflow(struct lc_tls *t, const struct event_key *k, uint64_t count,
                              uint64_t delay, uint64_t uncharged)
{
	struct slot *sl = t->slot;
	if (!recorder_enter(sl, true))
		return;
	recorder_settle_reentrant(t, sl);
	struct account_event e = {
	    .key = *k, .count = count, .delay_ns = delay, .uncharged_ns = uncharged};
	account_lost_event(sl, &e, LC_LOST_NO_SLOT);
	recorder_leave(sl);
}

/* Around an application's dl_iterate_phdr (loader.h's phdr rules).  A
 * child made without fork's handlers inherited the count: its own profile
 * (recorder_adopt) starts it at zero. */
void recorder_phdr_enter(struct lc_tls *t)
{
	(void)recorder_running();
	loader_phdr_enter(&g.loader, t);
}

void recorder_phdr_leave(struct lc_tls *t)
{
	loader_phdr_leave(&g.loader, t);
}

static void recorder_atfork_prepare(void)
{
	loader_fork_prepare(&g.loader);
}

static void recorder_atfork_parent(void)
{
	loader_fork_parent(&g.loader);
}

/* The module map, refreshed in a loader stretch (above); its entries are
 * published in order, so no handler may stop us halfway either. */
static void recorder_refresh(uint64_t final_wait_ns)
{
	struct loader_stretch st;
	if (!loader_enter(&g.loader, &lc_tls, true, &st))
		return;
	if (final_wait_ns)
		modmap_refresh_final(&g.modmap, final_wait_ns);
	else
		modmap_refresh(&g.modmap);
	loader_leave(&g.loader, &lc_tls, &st);
}

/* Settle the previous event, merge the stash if the thread holds no mutex,
 * then unwind into the stash's spare buffer (s->nframes, s->flags): the
 * bookkeeping every recorded event starts with.  Inside the guard; false
 * when the dump was taken meanwhile (record no more). */
static bool recorder_take_stack(struct lc_tls *t, struct slot *sl, struct recorder_sample *s)
{
	s->nframes = 0;
	s->flags = 0;
	s->epoch = atomic_load_explicit(live_u32(&g.live->epoch), memory_order_acquire);
	if (t->overflow)
		return true;
	if (!recorder_enter(sl, false))
		return false;
	bool refresh = t->pending && recorder_publish(t, sl);
	recorder_leave(sl);
	if (refresh)
		recorder_refresh(0);
	/* The spare buffer is ours outside the slot too: the dumper reads it
	 * only while raw_valid says it holds a noted event, and it does not
	 * now.  A nested sample (a signal handler during our wait) must not
	 * touch it: no stack, the event goes to the sentinel. */
	if (g.cfg.stacks && !t->sampling) {
		if (stackroom_enough(t)) {
			bool truncated;
			s->nframes = loader_unwind(&g.loader, t, stash_spare(&sl->stash), g.cfg.depth,
			                           &truncated);
			s->flags = truncated ? LC_BUCKET_TRUNCATED : 0;
		} else
			s->flags = EVENT_NO_ROOM;
	}
	/* A stack into an object the map does not know yet: find it now, so
	 * its MODULE record is in the file before the stack's BUCKET (a writer
	 * that dies between them would leave bare addresses).  Only with no
	 * lock held: dl_iterate_phdr takes the loader's lock. */
	if (s->nframes && lc_held(t) <= 0 && !t->in_phdr &&
	    !modmap_covers(&g.modmap, stash_spare(&sl->stash), s->nframes))
		recorder_refresh(0);
	return true;
}

/* Note a measured event in the slot (frames: s->nframes in the spare
 * buffer), nothing more; it is settled before the thread's next event, at
 * its exit, or by the dumper.  Inside the guard. */
static void recorder_note(struct lc_tls *t, const struct recorder_sample *s,
                          const struct event_key *k, uint64_t count, uint64_t delay,
                          uint64_t max, uint64_t uncharged)
{
	struct slot *sl = t->slot;
	if (t->overflow) {
		recorder_overflow(t, k, count, delay, uncharged);
		return;
	}
	if (atomic_load_explicit(&sl->raw_valid, memory_order_acquire)) {
		/* a signal handler's event was noted during our wait */
		if (!recorder_enter(sl, false))
			return; /* the dump was taken */
		recorder_settle(t, sl);
		recorder_leave(sl);
	}
	struct account_event e = {
	    .key = *k, .count = count, .delay_ns = delay, .max_ns = max, .uncharged_ns = uncharged};
	account_note(sl, &e, s->nframes);
	t->pending = 1;
}

/* Running, after a lazy start-up if the constructor has not run yet. */
static bool recorder_start(void)
{
	if (atomic_load_explicit(&g.state, memory_order_acquire) == ST_NONE)
		recorder_init();
	return recorder_running();
}

/* Before the wait (which it overlaps): read the clock, register as a
 * waiter on the lock (the holder view), settle the previous event and
 * unwind (recorder_take_stack). */
void recorder_begin(struct lc_tls *t, struct recorder_sample *s, const void *lock, uint32_t kind)
{
	s->active = 0;
	s->ent = NULL;
	s->cell = 0;
	s->gap = 0;
	if (!recorder_start())
		return;
	int saved = errno;
	lc_guard_in(t);
	/* A thread's first event makes its slot (and the slot's record in
	 * the file) first: the wait has begun already. */
	uint64_t early = t->slot ? 0 : recorder_now();
	struct slot *sl = recorder_slot(t);
	s->rate = g.cfg.rate;
	s->lock = (uintptr_t)lock;
	s->kind = kind;
	if (s->rate > 1 && stash_rand(&t->rng) % s->rate != 0)
		goto out;
	s->t0 = early ? early : recorder_now();
	s->nframes = 0;
	s->flags = 0;
	s->epoch = atomic_load_explicit(live_u32(&g.live->epoch), memory_order_acquire);
	s->fork_gen = atomic_load_explicit(&g.fork_gen, memory_order_relaxed);
	/* The wait is the thread's from here on: a handler that jumps out of
	 * what follows ends it (recorder_abandon). */
	s->outer = t->wait; /* a signal handler's wait inside ours */
	t->wait = s;
	s->ent = lockstate_get(&g.locks, s->lock, kind);
	if (s->ent && g.cfg.holder) {
		/* registered from now on; the moment before is nobody's */
		uint64_t start = recorder_now();
		s->cell = lockstate_arrive(s->ent, start);
		s->gap = s->cell ? start - s->t0 : 0;
	}
	if (!recorder_take_stack(t, sl, s))
		goto out;
	if (s->ent && s->nframes)
		lockstate_name(s->ent, stash_spare(&sl->stash), s->nframes, s->epoch);
	s->active = 1;
out:
	if (!s->active && t->wait == s) {
		t->wait = s->outer;
		if (s->cell)
			lockstate_leave(s->ent, s->cell);
	}
	t->sampling += s->active;
	t->guard--;
	errno = saved;
}

/* Right after the wait, usually with the lock now held: read the clock,
 * leave the lock's waiters, note the event — the critical section is not
 * made longer than that. */
void recorder_end(struct lc_tls *t, struct recorder_sample *s, enum recorder_outcome o)
{
	uint64_t t1, uncharged = 0;
	int saved = errno, cell = s->cell;
	lc_guard_in(t);
	/* Taken first: a handler that jumps out below must not leave the
	 * cell twice (recorder_abandon ends what is still t->wait). */
	s->cell = 0;
	if (s->active && t->sampling)
		t->sampling--;
	if (s->fork_gen != atomic_load_explicit(&g.fork_gen, memory_order_relaxed)) {
		if (t->wait == s)
			t->wait = s->outer;
		goto out; /* a fork (from a signal handler) during the wait reset us */
	}
	/* A registered waiter reads its end as it leaves its cell: charges
	 * and uncharged then add up to the wait exactly. */
	if (cell)
		uncharged = s->gap + lockstate_depart(s->ent, cell, recorder_now, &t1);
	else
		uncharged = (t1 = recorder_now()) - s->t0;
	if (t->wait == s)
		t->wait = s->outer;
	if (!t->slot || o == RECORDER_DISCARD)
		goto out; /* an error, not a wait */
	struct event_key k = {
	    .lock = s->lock,
	    .flags = s->flags | (o == RECORDER_TIMEDOUT ? LC_BUCKET_TIMEDOUT : 0),
	    .view = LC_VIEW_WAIT,
	    .kind = (uint8_t)s->kind,
	    .epoch = s->epoch,
	};
	if (o == RECORDER_TIMEDOUT && s->ent)
		lockstate_count(s->ent, LOCKSTATE_TIMEOUTS, s->rate);
	if (s->ent)
		lockstate_count(s->ent, LOCKSTATE_UNCHARGED_NS, uncharged * s->rate);
	recorder_note(t, s, &k, s->rate, (t1 - s->t0) * s->rate, t1 - s->t0, uncharged * s->rate);
out:
	t->guard--;
	errno = saved;
}

/* A handler that interrupted our own work (the guard is up) leaves it for
 * good: what that work held is given back — its slot (left as it was: at
 * worst one event counted twice or not at all), its place among the
 * loader's users — and the guard comes down.  Everything else it touched
 * is lock-free and whole at every instruction.  A handler that jumps only
 * inside itself (its buffer on the stack above where our work began:
 * guard_frame) leaves our work alone. */
static void recorder_repair(struct lc_tls *t)
{
	if (t->in_slot)
		recorder_leave(t->in_slot);
	loader_repair(&g.loader, t);
	t->guard = 0;
}

/* The thread leaves its waits for good without returning through
 * recorder_end: a signal handler longjmps away, or the thread exits from
 * one.  Each wait it leaves ends now, counted as a wait that gave up (timed
 * out): its own event, its cell given back, nothing else touched.  A jump
 * whose buffer lies on the stack between here and a wait's frame was set
 * inside a handler running on top of that wait: the jump stays there, and
 * the wait goes on.  From inside our own work (a wait being begun or
 * ended), that work is repaired first. */
void recorder_abandon(struct lc_tls *t, const void *jmpbuf, const void *here)
{
	bool on_stack = jmpbuf && (uintptr_t)jmpbuf >= (uintptr_t)here;
	if (t->guard) {
		if (on_stack && (uintptr_t)jmpbuf < t->guard_frame)
			return; /* the handler jumps inside itself, on top of our work */
		recorder_repair(t);
	}
	while (t->wait && !(on_stack && (uintptr_t)jmpbuf < (uintptr_t)t->wait))
		recorder_end(t, t->wait, RECORDER_TIMEDOUT);
	if (!t->wait)
		t->sampling = 0;
}

/* ---- acquisitions and releases ------------------------------------------ */

/* Acquisitions from one look to the next: geometric with mean `hold`, so
 * each acquisition is looked at with probability 1/hold whatever came
 * before it — memoryless, so it does not matter when a thread started or
 * how long it lives (a thread's first acquisition was once always looked
 * at, and weighed `hold` times: 100x too much for short-lived threads),
 * and it cannot lock onto a program's own period. */
static uint32_t recorder_hold_distance(struct lc_tls *t)
{
	uint32_t hold = recorder_hold_rate();
	if (!hold)
		return UINT32_MAX;
	if (hold == 1)
		return 1;
	if (!t->rng)
		t->rng = (recorder_now() ^ (uintptr_t)t) | 1;
	double u = (double)((stash_rand(&t->rng) >> 11) + 1) * 0x1p-53; /* (0, 1] */
	double d = 1 + floor(log(u) / log1p(-1.0 / hold));
	return d < (double)UINT32_MAX ? (uint32_t)d : UINT32_MAX;
}

/* Start a hold-time sample of this critical section, if it is free to. */
static void recorder_hold_start(struct lc_tls *t, const void *lock, uint32_t kind)
{
	/* A sample whose lock was released by another thread (or whose
	 * unlock we never saw) would block sampling for good: give up on it
	 * after a while. */
	if (t->hold_lock && recorder_now() - t->hold_t0 > RECORDER_HOLD_STALE_NS)
		t->hold_lock = 0;
	/* One critical section at a time; only locks that were contended. */
	if (!t->hold_lock && g.cfg.hold && lockstate_find(&g.locks, (uintptr_t)lock)) {
		t->hold_lock = (uintptr_t)lock;
		t->hold_kind = kind;
		t->hold_t0 = recorder_now();
	}
}

void recorder_hold_check(struct lc_tls *t, const void *lock, uint32_t kind)
{
	/* Our own locking (the unwinder's, the loader's) must not count:
	 * around the places it happens, the countdown is put back as it was
	 * (loader_enter, loader_leave); elsewhere, look at the next
	 * acquisition. */
	if (t->guard) {
		t->hold_next = 1;
		return;
	}
	if (!recorder_running()) {
		t->hold_next = 4096; /* looked at again after a while */
		return;
	}
	lc_guard_in(t);
	bool sample = true;
	if (!t->hold_drawn) {
		/* The thread's first acquisition: where its first look falls
		 * is drawn like every other (this one is it only if d == 1). */
		t->hold_drawn = 1;
		uint32_t d = recorder_hold_distance(t);
		sample = d == 1;
		t->hold_next = d - 1;
	}
	if (sample) {
		t->hold_next = recorder_hold_distance(t);
		recorder_hold_start(t, lock, kind);
	}
	t->guard--;
}

void recorder_release_begin(struct lc_tls *t, struct recorder_release *r, const void *lock,
                            uint32_t kind)
{
	r->active = 0;
	r->caused = 0;
	r->held = 0;
	r->lock = (uintptr_t)lock;
	r->kind = kind;
	bool timed = t->hold_lock == (uintptr_t)lock;
	if (timed)
		t->hold_lock = 0;
	if (t->guard || !recorder_running())
		return;
	int saved = errno;
	lc_guard_in(t);
	if (timed) {
		r->held = recorder_now() - t->hold_t0;
		r->hold_rate = recorder_hold_rate();
		r->kind = t->hold_kind; /* how it was taken (read or write) */
		r->active = 1;
	}
	struct lockent *e;
	if (g.cfg.holder && lockstate_maybe_waited(r->lock) &&
	    (e = lockstate_find(&g.locks, r->lock))) {
		r->caused = lockstate_charge(e, recorder_now);
		r->rate = g.cfg.rate;
		r->active |= r->caused != 0;
	}
	t->guard--;
	errno = saved;
}

/* After the release: one unwind serves both events (the charge and the
 * hold time) of this unlock; the second is noted after the first was
 * settled, from a copy of the frames. */
void recorder_release_end(struct lc_tls *t, struct recorder_release *r)
{
	if (!r->active || t->guard || !recorder_running())
		return;
	int saved = errno;
	lc_guard_in(t);
	struct slot *sl = recorder_slot(t);
	struct recorder_sample s = {0};
	if (!recorder_take_stack(t, sl, &s))
		goto out;
	struct event_key k = {
	    .lock = r->lock, .flags = s.flags, .kind = (uint8_t)r->kind, .epoch = s.epoch};
	if (r->caused) {
		k.view = LC_VIEW_HOLDER;
		recorder_note(t, &s, &k, r->rate, r->caused * r->rate, r->caused, 0);
	}
	if (r->held) {
		if (r->caused && !t->overflow && s.nframes) {
			uintptr_t copy[s.nframes];
			memcpy(copy, stash_spare(&sl->stash), sizeof(copy));
			if (!recorder_enter(sl, false))
				goto out;
			recorder_settle(t, sl);
			recorder_leave(sl);
			memcpy(stash_spare(&sl->stash), copy, sizeof(copy));
		}
		k.view = LC_VIEW_HOLD;
		recorder_note(t, &s, &k, r->hold_rate, r->held * r->hold_rate, r->held, 0);
	}
out:
	t->guard--;
	errno = saved;
}

void recorder_trylock_failed(struct lc_tls *t, const void *lock, uint32_t kind)
{
	if (t->guard || !recorder_running())
		return;
	lc_guard_in(t);
	struct lockent *e = lockstate_get(&g.locks, (uintptr_t)lock, kind);
	if (e)
		lockstate_count(e, LOCKSTATE_TRYLOCK_FAILURES, 1);
	atomic_fetch_add_explicit(live_u64(&g.live->trylock_failures), 1, memory_order_relaxed);
	t->guard--;
}

void recorder_flush(struct lc_tls *t)
{
	if (!pfile_mine(&g.file))
		return; /* a child that never recorded: the slot is its parent's */
	int saved = errno;
	lc_guard_in(t);
	struct slot *sl = t->slot;
	bool refresh = false;
	if (sl && recorder_enter(sl, t->overflow)) {
		recorder_settle_reentrant(t, sl);
		if (!t->overflow)
			refresh = recorder_publish_all(sl, &t->rng);
		recorder_leave(sl);
	}
	if (refresh)
		recorder_refresh(0);
	t->pending = 0; /* or the slot was closed: the dump has been taken */
	t->guard--;
	errno = saved;
}

/* pthread key destructor: the thread is exiting; merge and free its slot. */
static void recorder_thread_exit(void *arg)
{
	struct lc_tls *t = &lc_tls;
	if (arg != t->slot || !t->slot)
		return;
	/* A wait left by unwinding (pthread_exit and the jumps were told:
	 * hooks_jump.c): its frame is gone, its sample with it. */
	t->wait = NULL;
	t->sampling = 0;
	recorder_flush(t);
	lc_guard_in(t);
	slots_release(&g.slots, t->slot);
	t->slot = NULL;
	t->guard--;
}

/* A child starts an empty profile of its own, in a new file mapped where
 * the parent's was (every pointer into it stays valid); the parent's file
 * is never written by the child.  Only syscalls and our own memory here:
 * other threads of the parent do not exist in the child. */
static void recorder_child_start(void)
{
	struct lc_tls *t = &lc_tls;
	lc_guard_in(t);
	/* Other threads of the child (a raw fork's may have made some) see
	 * the new file as theirs as soon as it is mapped: they record
	 * nothing until everything is reset. */
	atomic_store(&g.state, ST_INITIALIZING);
	void *at = g.file.base;
	pfile_forget(&g.file); /* the parent's: not touched */
	g.start_mono = recorder_now();
	g.start_real = recorder_realtime();
	bool ok = recorder_open_file(at);
	if (!ok) {
		/* Keep the addresses, lose the parent's file: a late store of
		 * ours lands in memory nobody reads. */
		mmap(at, g.cfg.arena_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		atomic_store(&g.state, ST_OFF);
	}
	arena_reset(&g.arena, g.arena_fixed);
	stacktab_reset(&g.tab);
	lockstate_reset(&g.locks);
	atomic_fetch_add(&g.fork_gen, 1);
	modmap_reset(&g.modmap);
	slots_reset(&g.slots);
	if (ok && !slots_overflow(&g.slots)->pub) {
		text_warn("no room in the new profile; profiling disabled in this child");
		atomic_store(&g.state, ST_OFF);
	}
	t->slot = NULL;
	t->pending = 0;
	t->sampling = 0;
	t->hold_lock = 0;
	t->tid = 0; /* a new thread id */
	atomic_store(&t->reent_count, 0);
	atomic_store(&t->reent_delay, 0);
	pthread_setspecific(g.key, NULL);
	loader_fork_child(&g.loader, t);
	t->wait = NULL;
	t->in_slot = NULL;
	t->in_loader = 0;
	int initializing = ST_INITIALIZING;
	atomic_compare_exchange_strong(&g.state, &initializing, ST_RUNNING);
	t->guard--;
}

/* fork()'s child handler. */
static void recorder_atfork_child(void)
{
	if (atomic_load(&g.state) == ST_RUNNING && !pfile_mine(&g.file))
		recorder_child_start();
}

/* A child made without fork's handlers — _Fork(), a raw fork or clone
 * system call — shares the parent's file mapping; the kernel wiped the
 * ownership token (pfile.h), so it knows at its first call into the
 * recorder and starts its own profile, as fork's handler would have.  Not
 * from inside our own work (a signal handler that forked), and one thread
 * at a time: the others record nothing meanwhile. */
static bool recorder_adopt(void)
{
	static _Atomic int adopting;
	if (lc_tls.guard || atomic_exchange(&adopting, 1))
		return false;
	if (!pfile_mine(&g.file))
		recorder_child_start();
	atomic_store(&adopting, 0);
	return recorder_recording();
}

/* ---- the dump ----------------------------------------------------------- */

/* Add one slot's totals and lost counters to in. */
static void recorder_sum_slot(struct dump_input *in, const struct lc_rec_slot *p)
{
	in->totals.contentions += p->count[LC_VIEW_WAIT];
	in->totals.delay_ns += p->delay_ns[LC_VIEW_WAIT];
	in->totals.timeouts += p->timeouts;
	in->totals.caused_count += p->count[LC_VIEW_HOLDER];
	in->totals.caused_ns += p->delay_ns[LC_VIEW_HOLDER];
	in->totals.uncharged_ns += p->uncharged_ns;
	in->totals.holds += p->count[LC_VIEW_HOLD];
	in->totals.hold_ns += p->delay_ns[LC_VIEW_HOLD];
	for (int v = 0; v < LC_NVIEWS; v++)
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			in->lost[v][r].count += p->lost[v][r].count;
			in->lost[v][r].delay_ns += p->lost[v][r].delay_ns;
		}
}

/* The counters that belong to no slot, into in and the LIVE record. */
static void recorder_counters(struct dump_input *in)
{
	struct lc_rec_live *l = g.live;
	atomic_store(live_u64(&l->stacks_refused), atomic_load(&g.tab.refused));
	atomic_store(live_u64(&l->locks_refused), atomic_load(&g.locks.refused));
	atomic_store(live_u64(&l->modules_dropped), atomic_load(&g.modmap.dropped));
	in->totals.stacks_refused = atomic_load(live_u64(&l->stacks_refused));
	in->totals.locks_refused = atomic_load(live_u64(&l->locks_refused));
	in->totals.threads_seen = atomic_load(live_u64(&l->threads_seen));
	in->totals.trylock_failures = atomic_load(live_u64(&l->trylock_failures));
	in->totals.buckets = atomic_load(&g.tab.nbuckets);
	in->totals.modules = modmap_count(&g.modmap);
	in->totals.locks = lockstate_count_used(&g.locks);
}

static void recorder_collect(struct dump_input *in)
{
	uint64_t rng = recorder_now() | 1; /* for keep-one draws of others' events */
	/* Every slot ever handed out, then the shared overflow slot. */
	uint32_t n = slots_used(&g.slots);
	for (uint32_t i = 0; i <= n; i++) {
		struct slot *sl = i < n ? &g.slots.slot[i] : slots_overflow(&g.slots);
		if (!sl->pub)
			continue; /* never handed out */
		if (!slot_close(sl, RECORDER_CLOSE_WAIT_NS)) {
			const struct lc_rec_slot *p = sl->pub;
			if (p->count[LC_VIEW_WAIT] || p->count[LC_VIEW_HOLDER] || p->count[LC_VIEW_HOLD])
				in->totals.threads_unread++;
			continue;
		}
		recorder_publish_all(sl, &rng); /* the module map is refreshed once, below */
		recorder_sum_slot(in, sl->pub);
	}
}

/* The META record's end, the LIVE state. */
static void recorder_close_meta(uint32_t state)
{
	g.meta->end_realtime_ns = recorder_realtime();
	g.meta->end_mono_ns = recorder_now();
	g.meta->arena_used = arena_used(&g.arena);
	atomic_store(live_u32(&g.live->state), state);
}

static void recorder_summary(const struct dump_input *in, const char *path)
{
	char buf[1024 + 256];
	struct text t;
	uint64_t lost_count = 0;
	for (int r = 0; r < LC_LOST_NREASONS; r++)
		lost_count += in->lost[LC_VIEW_WAIT][r].count;
	text_init(&t, buf, sizeof(buf));
	text_u64(&t, in->totals.contentions);
	text_str(&t, " contentions, ");
	text_duration(&t, in->totals.delay_ns);
	text_str(&t, " total wait, ");
	text_u64(&t, atomic_load(&g.tab.nbuckets));
	text_str(&t, " stacks, ");
	text_u64(&t, lost_count);
	text_str(&t, " lost; profile ");
	text_str(&t, path);
	text_warn(buf);
}

/* One line about the profile file: what, its name, why. */
static void recorder_file_warn(const char *what, int e, const char *then)
{
	static char err[PFILE_PATH_MAX + 256]; /* the dumper's alone */
	struct text tx;
	text_init(&tx, err, sizeof(err));
	text_str(&tx, what);
	text_str(&tx, g.path);
	text_str(&tx, "': ");
	text_str(&tx, pfile_strerror(e));
	text_str(&tx, then);
	text_warn(err);
}

/* The end of the profile: at exit (library destructor), or before exec().
 * Idempotent: the first caller ends it. */
static void recorder_end_profile(uint32_t state)
{
	struct lc_tls *t = &lc_tls;
	if (!recorder_running())
		return;
	if (t->slot)
		recorder_flush(t); /* our own event, stash and re-entrant charges */
	int expect = ST_RUNNING;
	if (!atomic_compare_exchange_strong(&g.state, &expect, ST_DUMPING))
		return;
	int saved = errno;
	lc_guard_in(t);
	static struct dump_input in; /* only the first caller gets here */
	memset(&in, 0, sizeof(in));
	recorder_collect(&in);
	/* Another thread may be refreshing (it left its slot first): wait for
	 * it a while, then refresh once more ourselves. */
	recorder_refresh(RECORDER_CLOSE_WAIT_NS);
	recorder_counters(&in);
	recorder_close_meta(state);
	int grow = atomic_load(&g.file.error);
	int e = dumpwrite_finish(&g.file, &in);
	if (e)
		recorder_file_warn("cannot finish profile '", e,
		                   " (what was recorded is in it, without its closing records)");
	else if (grow)
		recorder_file_warn("profile '", grow,
		                   ": it stopped growing there, and what came after went to the "
		                   "sentinel (the report says how much)");
	if (!e && g.cfg.verbose)
		recorder_summary(&in, g.path);
	atomic_store(&g.state, ST_DONE);
	t->guard--;
	errno = saved;
}

static void recorder_end_own(uint32_t state);

void recorder_dump(void)
{
	recorder_end_own(LC_LIVE_EXITED);
}

/* The end of the profile in this process: a vfork() child shares our
 * memory, and the profile is its parent's. */
static void recorder_end_own(uint32_t state)
{
	/* not adopting: a child that never recorded ends without a file of
	 * its own, and never the parent's */
	if (recorder_recording() && (pid_t)g.meta->pid == getpid())
		recorder_end_profile(state);
}

void recorder_exec(void)
{
	recorder_end_own(LC_LIVE_EXEC);
}

void recorder_exit(void)
{
	recorder_end_own(LC_LIVE_EXITED);
}

/* ---- module epochs ---------------------------------------------------------- */

/* Around dlclose: the map learns what is loaded before (so an object about
 * to go is in it) and what went after (marking it gone, moving the epoch
 * on).  A refresh under way elsewhere is waited for a while: it may have
 * begun before the object went. */
void recorder_dlclose(struct lc_tls *t)
{
	if (t->guard || !recorder_running())
		return;
	int saved = errno;
	lc_guard_in(t);
	recorder_refresh(RECORDER_CLOSE_WAIT_NS);
	t->guard--;
	errno = saved;
}

/* ---- snapshots on request ------------------------------------------------- */

/* The signal handler of signal=: mark the point in LIVE, and write a
 * complete copy of the file as it is (closed with the slots' sums as they
 * are: events in flight may make them differ a little from the buckets).
 * Only reads of our memory, open/write/rename: async-signal-safe.  One at
 * a time; none once the end has begun. */
static _Atomic int snapshotting;

/* The slots' sums as they are, read after the file was copied: the
 * copy's stacks never hold more than its totals (what came in between is
 * in flight). */
static void recorder_snapshot_sums(struct dump_input *in)
{
	memset(in, 0, sizeof(*in));
	uint32_t n = slots_used(&g.slots);
	for (uint32_t i = 0; i <= n; i++) {
		struct slot *sl = i < n ? &g.slots.slot[i] : slots_overflow(&g.slots);
		if (sl->pub)
			recorder_sum_slot(in, sl->pub);
	}
	recorder_counters(in);
}

static void recorder_snapshot(int sig)
{
	(void)sig;
	int saved = errno;
	struct lc_tls *t = &lc_tls;
	if (!recorder_recording() || atomic_exchange(&snapshotting, 1)) {
		errno = saved;
		return;
	}
	lc_guard_in(t);
	uint64_t nth = atomic_fetch_add(live_u64(&g.live->snapshots), 1) + 1;
	atomic_store(live_u64(&g.live->snapshot_mono_ns), recorder_now());
	static char path[PFILE_PATH_MAX + 32], err[PFILE_PATH_MAX + 128]; /* one at a time */
	struct text tx;
	text_init(&tx, path, sizeof(path));
	text_str(&tx, g.path);
	text_str(&tx, ".snap");
	text_u64(&tx, nth);
	if (dumpwrite_snapshot(&g.file, recorder_snapshot_sums, path, err, sizeof(err)) != 0)
		text_warn(err);
	t->guard--;
	atomic_store(&snapshotting, 0);
	errno = saved;
}
