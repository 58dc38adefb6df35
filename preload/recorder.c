/*
 * recorder.c — the path of every event, from a hook to the books.
 *
 * A wait: recorder_begin (before the real blocking call, overlapping it)
 * decides whether it is sampled, reads the clock, registers the thread as
 * a waiter on the lock (the holder view, lockstate.h), settles its
 * previous event and takes this one's stack; recorder_end (after it,
 * usually with the lock held) reads the clock, leaves the lock's waiters
 * and notes the event — nothing more, so the critical section is not made
 * longer.  A hold-time look is prepared before the attempt it looks at
 * (recorder_hold_prepare: the draw, the look-up, the clock), and put in
 * place inside the section (recorder_hold_check).  An unlock:
 * recorder_release_begin takes the waiting charged to it and ends a
 * hold-time sample (for a plain mutex the hooks release themselves, both
 * come just after the release, before the wake: recorder_release_held,
 * recorder_release_charge);
 * recorder_release_end takes one stack for both and notes them.  The
 * uncharged part of a wait reaches its lock's record when it is settled
 * (account.c).  Noted events (one per view) are settled (account.h's
 * three stages) before the thread's next wait, which its work overlaps,
 * or before its next event of their view, and published then when due — a thread
 * that repeats one stack adds it up in its view's stash, a thread that
 * holds a mutex publishes only stacks the module map covers — at its
 * exit, or by the end (collect.c).
 * Every contended wait, sampled or not, is shown in the thread slot's
 * WAITING record (waiting.h) from just before it blocks until it ends, so
 * a hung program's profile says who waits for what.
 * Stacks are taken lock-free (unwind.h); the module map learns a new
 * object before the first bucket that points into it is published, under
 * loader.h's rules.
 *
 * Everything here runs inside the guard (tls.h) and preserves errno; a
 * signal handler that jumps out of a wait, or out of our own work, is
 * caught by recorder_abandon (hooks_jump.c).  Every caused nanosecond of a
 * registered wait is charged to an unlock or counted uncharged, so caused
 * + uncharged == waited, but for waits in progress at the end.
 *
 * Attached (core.h), each entry is counted (core_enter) before it looks at
 * the state again (core_live); a charge is counted until it is noted
 * (core.releasing, which a detach waits for); and a thread never waits for
 * the loader on its own, since what it holds of locks taken before the
 * attach is unknown (recorder_loader_ok).
 */
#include "recorder.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>

#include "account.h"
#include "clock.h"
#include "core.h"
#include "lifecycle.h"
#include "ln.h"
#include "stackroom.h"
#include "sys.h"
#include "unwind.h"
#include "waiting.h"

__thread struct lc_tls lc_tls __attribute__((tls_model("initial-exec")));

#define RECORDER_HOLD_STALE_NS (10 * 1000 * 1000 * 1000ull)

uint64_t recorder_now(void)
{
	return clock_mono_ns();
}

/* ---- per-thread slot ---------------------------------------------------- */

static struct slot *recorder_slot(struct lc_tls *t)
{
	if (!t->slot) {
		bool overflow;
		t->slot = slots_acquire(&core.slots, &overflow);
		t->overflow = overflow;
		atomic_fetch_add_explicit(live_u64(&core.live->threads_seen), 1,
		                          memory_order_relaxed);
		if (!overflow)
			pthread_setspecific(core.key, t->slot);
		if (!overflow)
			slots_thread(&core.slots, t->slot,
			             (int32_t)sys_call(SYS_gettid, 0, 0, 0, 0), recorder_now());
		if (!t->rng)
			t->rng = (recorder_now() ^ (uintptr_t)t) | 1;
	}
	return t->slot;
}

/* Enter the slot only while recording: a slot the dumper will not read (it
 * was handed out after the dump began) must not touch the table either.
 * slot_enter's CAS and this load are both sequentially consistent, and so
 * is the dumper's RUNNING -> DUMPING store before it reads the slots.
 * in_slot names the slot before it is entered and until it is left, and
 * the slot holds the thread's tag while it is inside: recorder_repair,
 * wherever a handler jumped out of this, leaves the slot exactly when it
 * is still ours (before, a jump between the two left it busy for good:
 * the thread unread at the end, 1 hostile run in 40). */
static bool recorder_enter(struct slot *sl, bool shared)
{
	uint32_t tag = slot_tag(&lc_tls.slot_tag);
	lc_tls.in_slot = sl;
	if (slot_enter(sl, shared, tag)) {
		if (atomic_load(&core.state) == ST_RUNNING)
			return true;
		slot_leave(sl);
	}
	lc_tls.in_slot = NULL;
	return false;
}

static void recorder_leave(struct slot *sl)
{
	slot_leave(sl);
	lc_tls.in_slot = NULL;
}

/* What each deferral is charged to. */
static const int recorder_deferral_reason[LC_NDEFERRED] = {
    [LC_DEFERRED_REENTRANT] = LC_LOST_REENTRANT,
    [LC_DEFERRED_NO_ROOM] = LC_LOST_NO_ROOM,
    [LC_DEFERRED_NO_FILE] = LC_LOST_NO_FILE,
};

/* The waits recorder_defer counted, into the slot (inside it): they were
 * never registered with their lock, so all of it is uncharged.  The
 * running sums only grow (a handler on top of us may add to them
 * meanwhile); the books take what they have not taken yet, all of them at
 * the time the last one ended: they are rare, and none ended before the
 * thread's previous event. */
static void recorder_settle_deferred(struct lc_tls *t, struct slot *sl)
{
	uint64_t when = atomic_load_explicit(&t->deferred_when, memory_order_relaxed);
	for (int i = 0; i < LC_NDEFERRED; i++) {
		struct lc_deferred *d = &t->deferred[i];
		account_deferred(sl, &core.books, recorder_deferral_reason[i],
		                 atomic_load_explicit(&d->count, memory_order_relaxed),
		                 atomic_load_explicit(&d->delay_ns, memory_order_relaxed), d->taken,
		                 when);
	}
}

/* What a thread without a slot whose waits were deferred leaves in its
 * key: its exit then settles them (lifecycle.c). */
char recorder_deferred_mark;

/* Count waits at once (recorder_defer's one, or the end's adoption of
 * the waits left by threads gone: recorder_adopt_left). */
static void recorder_defer_n(struct lc_tls *t, enum lc_deferral why, uint64_t count,
                             uint64_t delay_ns, uint64_t when_ns)
{
	if (!t->slot && !recorder_deferred_pending(t))
		pthread_setspecific(core.key, &recorder_deferred_mark);
	atomic_store_explicit(&t->deferred_when, when_ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->deferred[why].count, count, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->deferred[why].delay_ns, delay_ns, memory_order_relaxed);
}

void recorder_defer(struct lc_tls *t, enum lc_deferral why, uint64_t delay_ns, uint64_t when_ns)
{
	/* Before this process's profile is begun (armed, or a fork child
	 * not begun yet: no room to begin it here) they are counted all the
	 * same, and begin it at the thread's exit if nothing did sooner
	 * (lifecycle.c); not in a child made without fork's handlers, whose
	 * counts are its parent's (they are reset as it begins). */
	if (!core_recording()) {
		int st = atomic_load(&core.state);
		if ((st != ST_ARMED && st != ST_RUNNING) || core.named_pid != getpid())
			return;
	}
	recorder_defer_n(t, why, 1, delay_ns, when_ns);
}

/* A thread that exits with waits deferred but could get no slot for them
 * (the file still being made after its bounded wait for the move: a mover
 * slowed down by a loaded machine, or stopped by a debugger) leaves them
 * to the process (core.left): the end settles them in the slot of the
 * thread that ends the profile (recorder_adopt_left), or they vanished
 * without a trace.  Never blocks; the thread's own sums count as taken. */
void recorder_leave_deferred(struct lc_tls *t)
{
	for (int i = 0; i < LC_NDEFERRED; i++) {
		struct lc_deferred *d = &t->deferred[i];
		uint64_t count = atomic_load_explicit(&d->count, memory_order_relaxed);
		uint64_t delay = atomic_load_explicit(&d->delay_ns, memory_order_relaxed);
		if (count == d->taken[0] && delay == d->taken[1])
			continue;
		/* Not one atomic pair: a thread that leaves its waits while the
		 * end adopts them may part a count from its delay, as a thread
		 * still waiting at the end has waits no slot holds: a thread
		 * racing the end with its waits is not in the profile. */
		atomic_fetch_add(&core.left[i].delay_ns, delay - d->taken[1]);
		atomic_fetch_add(&core.left[i].count, count - d->taken[0]);
		d->taken[0] = count;
		d->taken[1] = delay;
	}
	uint64_t when = atomic_load_explicit(&t->deferred_when, memory_order_relaxed);
	uint64_t seen = atomic_load(&core.left_when);
	while (seen < when && !atomic_compare_exchange_weak(&core.left_when, &seen, when))
		;
}

void recorder_adopt_left(struct lc_tls *t)
{
	uint64_t when = atomic_load(&core.left_when);
	for (int i = 0; i < LC_NDEFERRED; i++) {
		uint64_t count = atomic_exchange(&core.left[i].count, 0);
		uint64_t delay = atomic_exchange(&core.left[i].delay_ns, 0);
		if (count || delay)
			recorder_defer_n(t, (enum lc_deferral)i, count, delay, when);
	}
}

void recorder_forget_left(void)
{
	for (int i = 0; i < LC_NDEFERRED; i++) {
		atomic_store(&core.left[i].count, 0);
		atomic_store(&core.left[i].delay_ns, 0);
	}
	atomic_store(&core.left_when, 0);
}

void recorder_forget_deferred(struct lc_tls *t)
{
	for (int i = 0; i < LC_NDEFERRED; i++) {
		atomic_store(&t->deferred[i].count, 0);
		atomic_store(&t->deferred[i].delay_ns, 0);
		t->deferred[i].taken[0] = t->deferred[i].taken[1] = 0;
	}
	atomic_store(&t->deferred_when, 0);
}

bool recorder_deferred_pending(const struct lc_tls *t)
{
	for (int i = 0; i < LC_NDEFERRED; i++)
		if (atomic_load_explicit(&t->deferred[i].count, memory_order_relaxed) !=
		    t->deferred[i].taken[0])
			return true;
	return false;
}

/* ---- the slow path ------------------------------------------------------ */

/* The noted events into their stashes, in the middle of our own work
 * (at now), and what is due to the table, as a lock holder would publish
 * (no map refresh). */
static void recorder_publish_held(struct lc_tls *t, struct slot *sl, uint64_t now)
{
	(void)account_publish_due(sl, &core.books, &t->rng, true, now);
}

/* The LIVE record's count of refused stacks follows the table's, for
 * readers of a file whose writer died. */
static void recorder_follow_refused(void)
{
	/* Nothing refused, nothing to follow: the LIVE record's line, which
	 * takes an add at every failed trylock, is not read at each publish. */
	uint64_t refused = atomic_load(&core.tab.refused);
	if (refused && refused != atomic_load(live_u64(&core.live->stacks_refused)))
		atomic_store(live_u64(&core.live->stacks_refused), refused);
}

/* Settle and publish everything in the slot (inside it); true when the
 * module map needs a refresh. */
bool recorder_publish_all(struct slot *sl, uint64_t *rng)
{
	bool refresh = account_publish_all(sl, &core.books, rng);
	recorder_follow_refused();
	return refresh;
}

/* May this thread wait for the loader's lock now (loader.h's phdr rule)?
 * Not while it holds a mutex or a semaphore (lc_holds_nothing), nor inside
 * dl_iterate_phdr; and never
 * attached, where its held count says nothing of the locks it took before
 * the attach (unlocked since, they drove it below zero: docs/attach.md).
 * The module map is refreshed there by the attach, around dlopen and
 * dlclose, and at the end. */
static bool recorder_loader_ok(const struct lc_tls *t)
{
	return lc_holds_nothing(t) && !t->in_phdr && !core.attach;
}

/* The owner, inside its slot, before its next event (at now): settle the
 * noted ones and publish what is due (account_publish_due: a thread that
 * repeats itself publishes once a bound).  A thread that holds a mutex (or
 * is attached: above) publishes only what needs no map refresh (the table
 * must never make a lock holder wait on the loader): the rest stays
 * pending. */
static bool recorder_publish(struct lc_tls *t, struct slot *sl, uint64_t now)
{
	recorder_settle_deferred(t, sl);
	bool held = !lc_holds_nothing(t) || core.attach;
	bool refresh = account_publish_due(sl, &core.books, &t->rng, held, now);
	recorder_follow_refused();
	t->pending = account_stashed(sl);
	return refresh;
}

/* A thread without a slot of its own (all taken) records into the shared
 * overflow slot at once: totals and the sentinel, no stack. */
static void recorder_overflow(struct lc_tls *t, const struct event_key *k, uint64_t count,
                              uint64_t delay, uint64_t uncharged, bool no_cell, uint64_t when)
{
	struct slot *sl = t->slot;
	if (!recorder_enter(sl, true))
		return;
	recorder_settle_deferred(t, sl);
	struct account_event e = {.key = *k,
	                          .count = count,
	                          .delay_ns = delay,
	                          .uncharged_ns = uncharged,
	                          .when_ns = when,
	                          .no_cell = no_cell};
	account_lost_event(sl, &core.books, &e, LC_LOST_NO_SLOT);
	recorder_leave(sl);
}

/* Around an application's dl_iterate_phdr (loader.h's phdr rule).  A
 * child made without fork's handlers inherited the count: its own profile
 * (lifecycle_adopt) starts it at zero. */
void recorder_phdr_enter(struct lc_tls *t)
{
	(void)core_running();
	loader_phdr_enter(&core.loader, t);
}

void recorder_phdr_leave(struct lc_tls *t)
{
	loader_phdr_leave(&core.loader, t);
}

/* The module map, refreshed in a loader stretch (above); its entries are
 * published in order, so no handler may stop us halfway either.  A module
 * gone (the epoch moved) takes the unwinder's cached frame rules with it:
 * another object may be loaded at its address. */
void recorder_refresh(uint64_t final_wait_ns)
{
	struct loader_stretch st;
	if (!loader_enter(&core.loader, &lc_tls, &st))
		return;
	_Atomic uint32_t *epoch = live_u32(&core.live->epoch);
	uint32_t before = atomic_load(epoch);
	if (final_wait_ns)
		modmap_refresh_final(&core.modmap, final_wait_ns);
	else
		modmap_refresh(&core.modmap);
	if (atomic_load(epoch) != before)
		unwind_forget();
	loader_leave(&core.loader, &lc_tls, &st);
}

/* A stack into an object the map does not know yet: find it now, so its
 * MODULE record is in the file before the stack's BUCKET or LOCK_INIT (a
 * writer that dies between them would leave bare addresses).  Only with no
 * lock held: dl_iterate_phdr takes the loader's lock. */
static void recorder_cover(struct lc_tls *t, const uintptr_t *pcs, uint32_t n)
{
	if (n && recorder_loader_ok(t) && !modmap_covers(&core.modmap, pcs, n))
		recorder_refresh(0);
}

/* Room on the thread's stack to unwind (stackroom.h).  A thread without
 * bounds looks them up once: attached, any made before the attach;
 * preloaded, the main thread, whose events in a library's constructor come
 * before ours set them (a program's own libraries' constructors run
 * first). */
static bool recorder_room(struct lc_tls *t)
{
	if (__builtin_expect(!t->stack_lo, 0) && !t->stack_asked) {
		t->stack_asked = 1;
		if (core.attach)
			stackroom_learn(t);
		else
			(void)stackroom_learn_main(t);
	}
	return stackroom_enough(t);
}

/* The views of noted events a recorded event needs settled first: a wait
 * settles every one (before its sleep, which the work overlaps); an unlock
 * (after its release: time the thread does not spend arriving at the
 * lock again) settles (every one, then) only when a view it notes has a
 * noted event still, whose spare buffer it needs. */
#define RECORDER_WAIT_SETTLES ((1u << LC_NVIEWS) - 1)

static bool recorder_must_settle(const struct lc_tls *t, const struct slot *sl, unsigned views)
{
	if (views == RECORDER_WAIT_SETTLES)
		return t->pending;
	for (int v = 0; v < LC_NVIEWS; v++)
		if ((views & 1u << v) && account_noted(sl, v))
			return true;
	return false;
}

/* Settle the noted events `views` says (all of them, then, and publish
 * what is due: account.h says when it may), then unwind into the spare
 * buffer of view's stash (s->nframes, s->flags): the bookkeeping every
 * recorded event starts with, at now.  Inside the guard; false when the
 * dump was taken meanwhile (record no more). */
static bool recorder_take_stack(struct lc_tls *t, struct slot *sl, struct recorder_sample *s,
                                int view, unsigned views, uint64_t now)
{
	s->nframes = 0;
	s->flags = 0;
	s->epoch = modmap_epoch(&core.modmap);
	if (t->overflow)
		return true;
	if (!recorder_enter(sl, false))
		return false;
	bool refresh = recorder_must_settle(t, sl, views) && recorder_publish(t, sl, now);
	recorder_leave(sl);
	if (refresh)
		recorder_refresh(0);
	/* The spare buffer is ours outside the slot too: the dumper reads it
	 * only while its view has a noted event, and it has not now.  A nested sample (a signal
	 * handler during our wait) must not touch it: no stack, the event goes to the sentinel. */
	if (core.cfg.stacks && !t->sampling) {
		if (recorder_room(t)) {
			bool truncated;
			s->nframes = loader_unwind(&core.loader, t, stash_spare(&sl->stash[view]),
			                           core.cfg.depth, &truncated);
			s->flags = truncated ? LC_BUCKET_TRUNCATED : 0;
		} else
			s->flags = EVENT_NO_ROOM;
	}
	recorder_cover(t, stash_spare(&sl->stash[view]), s->nframes);
	return true;
}

/* Note a measured event, ended at `when`, in the slot (frames: s->nframes
 * in the spare buffer of its view's stash), nothing more; it is settled
 * before the thread's next wait or next event of its view, at its exit,
 * or by the dumper.  A wait that found no waiter cell (s->no_cell) is
 * counted as such when settled (account_event.no_cell).  Inside the
 * guard. */
static void recorder_note(struct lc_tls *t, const struct recorder_sample *s,
                          const struct event_key *k, uint64_t count, uint64_t delay, uint64_t max,
                          uint64_t uncharged, uint64_t when)
{
	struct slot *sl = t->slot;
	if (t->overflow) {
		recorder_overflow(t, k, count, delay, uncharged, s->no_cell, when);
		return;
	}
	if (account_noted(sl, k->view)) {
		/* a signal handler's event was noted during our wait */
		if (!recorder_enter(sl, false))
			return; /* the dump was taken */
		recorder_publish_held(t, sl, when);
		recorder_leave(sl);
	}
	struct account_event e = {.key = *k,
	                          .count = count,
	                          .delay_ns = delay,
	                          .max_ns = max,
	                          .uncharged_ns = uncharged,
	                          .when_ns = when,
	                          .no_cell = s->no_cell};
	account_note(sl, &e, s->nframes);
	t->pending = 1;
}

static void recorder_hold_waited(struct lc_tls *t, uintptr_t lock, struct lockent *e, uint64_t t1);

bool recorder_start(void)
{
	int st = atomic_load_explicit(&core.state, memory_order_acquire);
	if (st == ST_NONE) {
		lifecycle_init();
		st = atomic_load_explicit(&core.state, memory_order_acquire);
	}
	if (st == ST_ARMED)
		(void)lifecycle_start();
	return core_running();
}

void recorder_thread_coming(struct lc_tls *t)
{
	if (!t->guard)
		(void)recorder_start();
}

/* The wait, shown in the slot's WAITING record until it ends (waiting.h):
 * by the thread's outermost wait only (a signal handler's wait on top of
 * it leaves the record to it), never by a thread in the shared overflow
 * slot. */
static void recorder_show(struct lc_tls *t, struct recorder_sample *s, uint64_t since,
                          const uintptr_t *pcs, uint32_t n)
{
	if (t->shown || t->overflow || !t->slot || !t->slot->waiting)
		return;
	waiting_show(t->slot->waiting, s->lock, s->kind, since,
	             waiting_owner((void *)s->lock, s->kind), pcs, n, s->epoch);
	s->shown = 1;
	t->shown = s;
}

/* The shown wait ended (or was left by a jump).  After a fork (from a
 * handler during the wait) the record is the parent's no more: the
 * child's file is mapped at the same place, so not a byte is written. */
static void recorder_unshow(struct lc_tls *t, struct recorder_sample *s)
{
	if (!s->shown)
		return;
	s->shown = 0;
	if (t->shown == s)
		t->shown = NULL;
	if (t->slot && t->slot->waiting && core_recording() &&
	    s->gen == atomic_load_explicit(&core.gen, memory_order_relaxed))
		waiting_clear(t->slot->waiting);
}

void recorder_named(struct lc_tls *t, const char *name)
{
	int saved = errno;
	core_enter(t);
	if (t->slot && !t->overflow && core_recording())
		slots_named(t->slot, name);
	core_leave(t);
	errno = saved;
}

/* Before the wait (which it overlaps): read the clock, register as a
 * waiter on the lock (the holder view), settle the previous event and
 * unwind (recorder_take_stack). */
void recorder_begin(struct lc_tls *t, struct recorder_sample *s, const void *lock, uint32_t kind)
{
	s->active = 0;
	s->shown = 0;
	s->unfiled = 0;
	s->moved = 0;
	s->ent = NULL;
	s->cell = 0;
	s->no_cell = 0;
	s->before_cell = 0;
	/* The process's first contention starts the profile (lifecycle_start:
	 * the arena, the tables; tens of ms under load), and a thread's first
	 * event makes its slot (and the slot's record in the file), and the
	 * process's first the file itself, and a fork child's first event
	 * its own profile (lifecycle_adopt: 0.7-13 ms here): the wait has
	 * begun already, and its clock is read before all of that — before
	 * a start by system call, outside the guard: no clock_gettime of the
	 * program's (an interposed one may lock) is called from here. */
	int st = atomic_load_explicit(&core.state, memory_order_relaxed);
	bool starts =
	    st == ST_NONE || st == ST_ARMED || (st == ST_RUNNING && !pfile_mine(&core.file));
	uint64_t early = starts ? clock_mono_ns_raw() : 0;
	bool started = early != 0;
	if (!recorder_start())
		return;
	int saved = errno;
	core_enter(t);
	if (!early && !t->slot)
		early = recorder_now();
	/* A contended wait is worth keeping: the profile's file is made now
	 * if it was not (filing.c).  If it could not be made yet (another
	 * thread makes it, too slowly), the wait is only timed, and deferred
	 * (recorder_end). */
	if (!core_live() || !core_filed()) {
		s->unfiled = core_live() && core_recording();
		s->t0 = early ? early : recorder_now();
		core_leave(t);
		errno = saved;
		return;
	}
	struct slot *sl = recorder_slot(t);
	s->rate = core.cfg.rate;
	s->lock = (uintptr_t)lock;
	s->kind = kind;
	s->epoch = 0;
	s->gen = atomic_load_explicit(&core.gen, memory_order_relaxed);
	if (s->rate > 1 && stash_rand(&t->rng) % s->rate != 0)
		goto out;
	s->t0 = early ? early : recorder_now();
	s->nframes = 0;
	s->flags = 0;
	s->epoch = modmap_epoch(&core.modmap);
	/* The wait is the thread's from here on: a handler that jumps out of
	 * what follows ends it (recorder_abandon). */
	s->outer = t->wait; /* a signal handler's wait inside ours */
	t->wait = s;
	s->ent = lockstate_get(&core.locks, s->lock, kind);
	/* Registered as waiting since t0, when the lock was found taken: an
	 * unlock that read its time after t0 and finds the cell ended that
	 * waiting, registered or not yet (a second clock read here cost
	 * ~70 ns before every wait on this VM).  But a wait that started the
	 * profile is registered from now: the lock may have changed hands
	 * during the start, and the next unlock would be charged for the
	 * holders before it; that stretch is uncharged (before_cell). */
	if (s->ent && core.cfg.holder) {
		uint64_t since = started ? recorder_now() : s->t0;
		s->no_cell = (s->cell = lockstate_arrive(s->ent, since)) == 0;
		s->before_cell = s->cell ? since - s->t0 : 0;
	}
	if (!recorder_take_stack(t, sl, s, LC_VIEW_WAIT, RECORDER_WAIT_SETTLES, s->t0))
		goto out;
	const uintptr_t *pcs = stash_spare(&sl->stash[LC_VIEW_WAIT]);
	if (s->ent && s->nframes)
		lockstate_name(s->ent, pcs, s->nframes, s->epoch);
	s->active = 1;
	recorder_show(t, s, s->t0, pcs, s->nframes);
out:
	if (!s->active && t->wait == s) {
		t->wait = s->outer;
		if (s->cell)
			lockstate_leave(s->ent, s->cell);
	}
	if (!s->active && core_recording()) /* not sampled: shown, with no stack */
		recorder_show(t, s, recorder_now(), NULL, 0);
	t->sampling += s->active;
	core_leave(t);
	errno = saved;
}

/* Right after the wait, usually with the lock now held: read the clock,
 * leave the lock's waiters, note the event — the critical section is not
 * made longer than that. */
void recorder_moved(struct lc_tls *t, struct recorder_sample *s, const void *lock)
{
	s->lock = (uintptr_t)lock;
	s->moved = 1;
	if (!s->active)
		return;
	int saved = errno;
	core_enter(t);
	if (s->gen == atomic_load_explicit(&core.gen, memory_order_relaxed))
		lockstate_get(&core.locks, s->lock, s->kind);
	core_leave(t);
	errno = saved;
}

void recorder_end(struct lc_tls *t, struct recorder_sample *s, enum recorder_outcome o)
{
	uint64_t t1, uncharged = 0;
	int saved = errno, cell = s->cell;
	core_enter(t);
	recorder_unshow(t, s);
	if (s->unfiled) {
		t1 = recorder_now();
		if (o != RECORDER_DISCARD)
			recorder_defer(t, LC_DEFERRED_NO_FILE, t1 - s->t0, t1);
		if (o == RECORDER_ACQUIRED)
			recorder_hold_waited(t, s->lock, lockstate_find(&core.locks, s->lock), t1);
		goto out;
	}
	if (!s->active && t->wait != s) {
		/* shown only: not sampled (a wait begun but interrupted on
		 * its way in is t->wait and ends below); a hold-time look
		 * prepared for this lock times its section from now (in the
		 * profile the wait began in: attached, a new one's first work
		 * forgot the look) */
		if (o == RECORDER_ACQUIRED && t->hold_look == s->lock &&
		    s->gen == atomic_load_explicit(&core.gen, memory_order_relaxed))
			recorder_hold_waited(t, s->lock, lockstate_find(&core.locks, s->lock),
			                     recorder_now());
		goto out;
	}
	/* Taken first: a handler that jumps out below must not leave the
	 * cell twice (recorder_abandon ends what is still t->wait). */
	s->cell = 0;
	if (s->active && t->sampling)
		t->sampling--;
	if (s->gen != atomic_load_explicit(&core.gen, memory_order_relaxed)) {
		if (t->wait == s)
			t->wait = s->outer;
		goto out; /* a fork (from a signal handler), or a detach, during the wait */
	}
	/* A registered waiter reads its end as it leaves its cell: charges
	 * and uncharged then add up to the wait exactly. */
	if (cell)
		uncharged = lockstate_depart(s->ent, cell, recorder_now, &t1) + s->before_cell;
	else
		uncharged = (t1 = recorder_now()) - s->t0;
	if (t->wait == s)
		t->wait = s->outer;
	if (o == RECORDER_ACQUIRED)
		recorder_hold_waited(t, s->lock, s->ent, t1);
	if (!t->slot || o == RECORDER_DISCARD)
		goto out; /* an error, not a wait */
	struct event_key k = {
	    .lock = s->lock,
	    .flags = s->flags | (o == RECORDER_TIMEDOUT ? LC_BUCKET_TIMEDOUT : 0),
	    .view = LC_VIEW_WAIT,
	    .kind = (uint8_t)s->kind,
	    .epoch = s->epoch,
	};
	struct lockent *to = s->moved ? lockstate_find(&core.locks, s->lock) : s->ent;
	if (o == RECORDER_TIMEDOUT && to)
		lockstate_count(to, LOCKSTATE_TIMEOUTS, s->rate);
	recorder_note(t, s, &k, s->rate, (t1 - s->t0) * s->rate, t1 - s->t0, uncharged * s->rate,
	              t1);
out:
	core_leave(t);
	errno = saved;
}

void recorder_end_open(struct lc_tls *t, struct recorder_sample *s, enum recorder_outcome o)
{
	bool open = s->shown || s->unfiled;
	for (struct recorder_sample *w = t->wait; s->active && w && !open; w = w->outer)
		open = w == s;
	if (open)
		recorder_end(t, s, o);
}

/* A handler that interrupted our own work (the guard is up) leaves it for
 * good: what that work held is given back — its slot, whose books are put
 * right first (account_repair: nothing counted twice or lost), its place
 * among the loader's users — and the guard comes down.  Everything else it
 * touched is lock-free and whole at every instruction.  A handler that jumps only
 * inside itself (its buffer on the stack above where our work began:
 * guard_frame) leaves our work alone. */
static void recorder_repair(struct lc_tls *t)
{
	struct slot *sl = t->in_slot;
	if (sl && t->slot_tag && atomic_load(&sl->state) == t->slot_tag) {
		account_repair(sl, &core.books);
		recorder_leave(sl);
	}
	t->in_slot = NULL;
	loader_repair(&core.loader, t);
	if (t->inside)
		core_count_out(t);
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
	if (t->guard) {
		if (!recorder_jump_leaves(jmpbuf, here, t->guard_frame))
			return; /* the handler jumps inside itself, on top of our work */
		recorder_repair(t);
	}
	core_enter(t);
	while (t->wait && recorder_jump_leaves(jmpbuf, here, (uintptr_t)t->wait))
		recorder_end(t, t->wait, RECORDER_TIMEDOUT);
	if (!t->wait)
		t->sampling = 0;
	/* A wait shown but not sampled is on no list: its frame tells */
	if (t->shown && recorder_jump_leaves(jmpbuf, here, (uintptr_t)t->shown))
		recorder_unshow(t, t->shown);
	core_leave(t);
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
	uint32_t hold = lifecycle_hold_rate();
	if (!hold)
		return UINT32_MAX;
	if (hold == 1)
		return 1;
	if (!t->rng)
		t->rng = (recorder_now() ^ (uintptr_t)t) | 1;
	double u = (double)((stash_rand(&t->rng) >> 11) + 1) * 0x1p-53; /* (0, 1] */
	double x = ln_log(u) * core.hold_scale; /* >= 0: both factors <= 0 */
	return x < (double)(UINT32_MAX - 1) ? (uint32_t)x + 1 : UINT32_MAX; /* 1 + floor(x) */
}

/* A sample whose lock was released by another thread (or whose unlock we
 * never saw) would block sampling for good: it is given up after a while. */
static void recorder_hold_unstick(struct lc_tls *t, uint64_t now)
{
	if (t->hold_lock && now - t->hold_t0 > RECORDER_HOLD_STALE_NS)
		t->hold_lock = 0;
}

/* Before an attempt whose acquisition will be looked at (outside any
 * critical section): the distance to the look after it, and, if the lock
 * was contended and no other section is being timed, the time the section
 * will be timed from.  The thread's first look is drawn here too. */
void recorder_hold_prepare(struct lc_tls *t, const void *lock)
{
	t->hold_look = 0;
	if (t->guard || stackroom_tight(t))
		return; /* recorder_hold_check does without */
	/* Armed, no lock has been contended (that would have begun the
	 * profile): the looks are drawn all the same, none is timed. */
	bool running = core_running();
	if (!running && !core_armed())
		return;
	core_enter(t);
	if (running && !core_live())
		goto out; /* attached: a detach began (the look-up is its memory) */
	if (!t->hold_drawn) {
		/* The thread's first acquisition: where its first look falls
		 * is drawn like every other (this one is it only if d == 1). */
		t->hold_drawn = 1;
		uint32_t d = recorder_hold_distance(t);
		if (d > 1) {
			t->hold_next = d;
			goto out;
		}
	}
	if (!t->hold_spare)
		t->hold_spare = recorder_hold_distance(t);
	if (t->hold_lock)
		recorder_hold_unstick(t, recorder_now());
	if (!t->hold_lock) {
		t->hold_look = (uintptr_t)lock;
		t->hold_look_t0 =
		    running && core.cfg.hold && lockstate_find(&core.locks, (uintptr_t)lock)
		        ? recorder_now()
		        : 0;
	}
out:
	core_leave(t);
}

/* The prepared look's attempt had to wait for the lock: its section starts
 * when the wait ended (t1), and the lock was contended if it has an entry
 * now.  Inside the guard. */
static void recorder_hold_waited(struct lc_tls *t, uintptr_t lock, struct lockent *e, uint64_t t1)
{
	if (t->hold_look == lock)
		t->hold_look_t0 = core.cfg.hold && e ? t1 : 0;
}

/* The same after a wait that was not recorded (rate > 1): the clock is
 * read now, with the lock held, for 1 in hold x rate of those waits. */
void recorder_hold_unrecorded(struct lc_tls *t, const void *lock)
{
	if (t->hold_look != (uintptr_t)lock)
		return;
	if (t->guard || !core_running()) {
		t->hold_look = 0;
		return;
	}
	core_enter(t); /* attached: a new profile's first work forgets the look */
	if (core_live())
		recorder_hold_waited(t, (uintptr_t)lock,
		                     lockstate_find(&core.locks, (uintptr_t)lock), recorder_now());
	else
		t->hold_look = 0;
	core_leave(t);
}

/* A look at an acquisition no recorder_hold_prepare came before (none
 * should; or the recorder was not running then): drawn and started here,
 * inside the critical section. */
static void recorder_hold_unprepared(struct lc_tls *t, const void *lock, uint32_t kind)
{
	bool tight = stackroom_tight(t), running = !tight && core_running();
	if (tight || (!running && !core_armed())) { /* armed: drawn, never timed */
		t->hold_next = 4096;                /* looked at again after a while */
		return;
	}
	core_enter(t);
	if (running && !core_live()) {
		t->hold_next = 4096;
		goto out;
	}
	bool sample = true;
	if (!t->hold_drawn) {
		t->hold_drawn = 1;
		uint32_t d = recorder_hold_distance(t);
		sample = d == 1;
		t->hold_next = d - 1;
	}
	if (sample) {
		t->hold_next = recorder_hold_distance(t);
		uint64_t now = recorder_now();
		recorder_hold_unstick(t, now);
		if (running && !t->hold_lock && core.cfg.hold &&
		    lockstate_find(&core.locks, (uintptr_t)lock)) {
			t->hold_lock = (uintptr_t)lock;
			t->hold_kind = kind;
			t->hold_t0 = now;
		}
	}
out:
	core_leave(t);
}

/* The looked-at acquisition, inside its critical section: what was
 * prepared is put in place, nothing is computed. */
void recorder_hold_check(struct lc_tls *t, const void *lock, uint32_t kind)
{
	uintptr_t look = t->hold_look;
	t->hold_look = 0;
	/* A lock taken inside our own work (a signal handler's, on top of
	 * it) is not the program's section to time: look at the next
	 * acquisition. */
	if (t->guard) {
		t->hold_next = 1;
		return;
	}
	if (!t->hold_spare || !t->hold_drawn) {
		recorder_hold_unprepared(t, lock, kind);
		return;
	}
	t->hold_next = t->hold_spare;
	t->hold_spare = 0;
	if (look == (uintptr_t)lock && t->hold_look_t0 && !t->hold_lock) {
		t->hold_lock = look;
		t->hold_kind = kind;
		t->hold_t0 = t->hold_look_t0;
	}
}

static void recorder_release_clear(struct recorder_release *r, const void *lock, uint32_t kind)
{
	r->active = 0;
	r->caused = 0;
	r->held = 0;
	r->when = 0;
	r->hold_open = 0;
	r->lock = (uintptr_t)lock;
	r->kind = kind;
	r->counted = 0;
	r->charge_open = 0;
}

/* A hold sample's end alone: nothing to do inside the section;
 * recorder_release_held reads the end, and recorder_release_end checks
 * what the guard is. */
static void recorder_release_sample(struct lc_tls *t, struct recorder_release *r, uint32_t gen)
{
	r->hold_t0 = t->hold_t0;
	r->hold_open = 1;
	r->kind = t->hold_kind; /* how it was taken (read or write) */
	r->active = 1;
	r->gen = gen; /* attached: the profile the sample began in */
}

void recorder_release_timed(struct lc_tls *t, struct recorder_release *r, const void *lock)
{
	recorder_release_clear(r, lock, 0);
	t->hold_lock = 0;
	if (!stackroom_tight(t)) /* else the sample is dropped, as in release_begin */
		recorder_release_sample(t, r, t->gen);
}

/* The waiting this unlock ends, charged to it (lockstate_charge) in the
 * profile it is charged in (r->gen).  Attached, a charge is counted from
 * before it is taken until it is noted, and none is taken once a detach
 * is closing the books: the waiting it would have charged is then
 * uncharged, not lost.  Inside the guard, the profile live. */
static void recorder_release_take(struct recorder_release *r)
{
	bool count = core.attach;
	if (count)
		atomic_fetch_add(&core.releasing, 1);
	struct lockent *e;
	if (!(count && atomic_load(&core.closing)) && (e = lockstate_find(&core.locks, r->lock))) {
		r->caused = lockstate_charge(e, recorder_now);
		r->rate = core.cfg.rate;
		r->active |= r->caused != 0;
	}
	if (count && r->caused)
		r->counted = 1;
	else if (count)
		atomic_fetch_sub(&core.releasing, 1);
}

void recorder_release_begin(struct lc_tls *t, struct recorder_release *r, const void *lock,
                            uint32_t kind, bool late)
{
	recorder_release_clear(r, lock, kind);
	bool timed = t->hold_lock == (uintptr_t)lock;
	uint32_t gen = t->gen;
	if (timed)
		t->hold_lock = 0;
	/* No room for the books (stackroom.h): released alone, the sample
	 * dropped, and the waiting this unlock ended left uncharged. */
	if (stackroom_tight(t))
		return;
	bool waited = core.cfg.holder && lockstate_maybe_waited(r->lock);
	if (late) {
		/* Nothing more inside the section: the sample's end and the
		 * charge come after the release (release_held, release_charge). */
		if (timed)
			recorder_release_sample(t, r, gen);
		r->charge_open = waited;
		return;
	}
	if (t->guard || !core_running())
		return;
	int saved = errno;
	core_enter(t);
	if (!core_live())
		goto out;
	r->gen = t->gen;
	if (timed && gen == t->gen) { /* else begun in the profile before this one (attached) */
		r->when = recorder_now();
		r->held = r->when - t->hold_t0;
		r->kind = t->hold_kind; /* how it was taken (read or write) */
		r->active = 1;
	}
	if (waited)
		recorder_release_take(r);
out:
	core_leave(t);
	errno = saved;
}

/* After the release (late), before a sleeper is woken: it cannot leave
 * its cell before it is charged, unless it took the lock in between — its
 * waiting since the last charge is then its own uncharged part, and a
 * thread that took and released the lock meanwhile charged what it ended,
 * up to its own time (cells move by compare-and-swap: each stretch of
 * waiting is charged once, whoever comes first).  A charge read after the
 * release may count as this unlock's the short stretch after it. */
void recorder_release_charge(struct lc_tls *t, struct recorder_release *r)
{
	if (!r->charge_open)
		return;
	r->charge_open = 0;
	if (t->guard || !core_running())
		return;
	int saved = errno;
	core_enter(t);
	if (core_live()) {
		if (r->active && r->gen != t->gen) {
			r->active = 0; /* a sample begun in the profile before this one */
			r->held = 0;
		}
		r->gen = t->gen;
		recorder_release_take(r);
	}
	core_leave(t);
	errno = saved;
}

/* Right after the release, before a sleeper is woken: a hold-time
 * sample's end.  Nothing else: no guard is needed, errno is untouched. */
void recorder_release_held(struct recorder_release *r)
{
	if (r->hold_open) {
		r->when = recorder_now();
		r->held = r->when - r->hold_t0;
		r->held += !r->held; /* a sample, however short */
		r->hold_open = 0;
	}
}

/* After the release: one unwind serves both events (the charge and the
 * hold time) of this unlock; the second is noted after the first was
 * settled, from a copy of the frames.  Their time, for the series, is the
 * hold sample's end, or read now (after the release: no critical section
 * is made longer by it). */
static void recorder_release_note(struct lc_tls *t, struct recorder_release *r);

void recorder_release_end(struct lc_tls *t, struct recorder_release *r)
{
	if (r->active && !t->guard && core_running())
		recorder_release_note(t, r);
	/* attached: a detach waits for a charge to be noted (lifecycle.c) */
	if (r->counted && r->gen == atomic_load(&core.gen))
		atomic_fetch_sub(&core.releasing, 1);
	r->counted = 0;
}

static void recorder_release_note(struct lc_tls *t, struct recorder_release *r)
{
	int saved = errno;
	core_enter(t);
	if (!core_live() || (core.attach && r->gen != t->gen))
		goto out; /* charged in a profile that has ended since */
	uint64_t when = r->when ? r->when : recorder_now();
	/* No core_filed here: both events need the lock's entry (a charge a
	 * registered waiter's cell, a hold sample a look-up that found it),
	 * and entries are made only once the file is (recorder_begin,
	 * recorder_trylock_failed; a fork child forgets both): the slot is
	 * made in the file, never in memory that its move would replace. */
	struct slot *sl = recorder_slot(t);
	struct recorder_sample s = {0};
	unsigned views =
	    (r->caused ? 1u << LC_VIEW_HOLDER : 0) | (r->held ? 1u << LC_VIEW_HOLD : 0);
	if (!recorder_take_stack(t, sl, &s, r->caused ? LC_VIEW_HOLDER : LC_VIEW_HOLD, views, when))
		goto out;
	/* One stack for both, copied while neither view has a noted event:
	 * once the charge is noted, the dumper may settle it, which flips its
	 * stash's buffers (a review found the copy made after the note). */
	if (r->caused && r->held && !t->overflow && s.nframes)
		memcpy(stash_spare(&sl->stash[LC_VIEW_HOLD]),
		       stash_spare(&sl->stash[LC_VIEW_HOLDER]), s.nframes * sizeof(uintptr_t));
	struct event_key k = {
	    .lock = r->lock, .flags = s.flags, .kind = (uint8_t)r->kind, .epoch = s.epoch};
	if (r->caused) {
		k.view = LC_VIEW_HOLDER;
		recorder_note(t, &s, &k, r->rate, r->caused * r->rate, r->caused, 0, when);
	}
	if (r->held) {
		uint32_t hold_rate = lifecycle_hold_rate();
		k.view = LC_VIEW_HOLD;
		recorder_note(t, &s, &k, hold_rate, r->held * hold_rate, r->held, 0, when);
	}
out:
	core_leave(t);
	errno = saved;
}

void recorder_trylock_failed(struct lc_tls *t, const void *lock, uint32_t kind)
{
	if (t->guard || !recorder_start())
		return;
	core_enter(t);
	if (core_live() && core_filed()) { /* worth keeping: filing.c */
		struct lockent *e = lockstate_get(&core.locks, (uintptr_t)lock, kind);
		if (e)
			lockstate_count(e, LOCKSTATE_TRYLOCK_FAILURES, 1);
		atomic_fetch_add_explicit(live_u64(&core.live->trylock_failures), 1,
		                          memory_order_relaxed);
	}
	core_leave(t);
}

void recorder_flush(struct lc_tls *t)
{
	if (!pfile_mine(&core.file))
		return; /* a child that never recorded: the slot is its parent's */
	int saved = errno;
	core_enter(t);
	/* deferred waits (recorder_defer) need a slot now, and a file */
	if (!t->slot && recorder_deferred_pending(t) && core_live() && core_running() &&
	    core_filed())
		(void)recorder_slot(t);
	struct slot *sl = t->slot;
	bool refresh = false;
	if (sl && recorder_enter(sl, t->overflow)) {
		recorder_settle_deferred(t, sl);
		if (core.attach && !t->overflow) { /* no loader: what needs it waits for the end */
			(void)account_publish_held(sl, &core.books, &t->rng);
			recorder_follow_refused();
		} else if (!t->overflow)
			refresh = recorder_publish_all(sl, &t->rng);
		recorder_leave(sl);
	}
	if (refresh)
		recorder_refresh(0);
	t->pending = 0; /* or the slot was closed: the dump has been taken */
	core_leave(t);
	errno = saved;
}

void recorder_thread_end(struct lc_tls *t)
{
	struct slot *sl = t->slot;
	char name[LC_THREAD_NAME] = "";
	if (!sl || t->overflow || !sl->thread || !pfile_mine(&core.file))
		return;
	if (sys_call(SYS_prctl, PR_GET_NAME, (long)name, 0, 0) != 0)
		return; /* no name: no end either, the slot's totals stand in */
	name[LC_THREAD_NAME - 1] = '\0';
	int saved = errno;
	core_enter(t);
	if (recorder_enter(sl, false)) {
		slots_thread_end(sl, name, recorder_now());
		recorder_leave(sl);
	}
	core_leave(t);
	errno = saved;
}

/* ---- where locks are made ----------------------------------------------------- */

/* The stack of an init call into the init-site table: a few frames (enough
 * to pass the program's lock wrappers), taken as a wait's are (loader.h's
 * rules, the stack-room check), stamped with the module epoch. */
void recorder_lock_made(struct lc_tls *t, const void *lock)
{
	if (t->guard || !core.cfg.inits || !core.cfg.stacks || !recorder_start())
		return;
	int saved = errno;
	core_enter(t);
	/* attached: counted now, the settings read again (a new profile may
	 * have begun, without init sites) */
	if (core.attach && !(core_recording() && core.cfg.inits && core.cfg.stacks))
		goto out;
	if (recorder_room(t)) {
		uintptr_t pcs[LC_LOCK_INIT_FRAMES + STASH_SLACK];
		bool truncated;
		uint32_t depth =
		    core.cfg.depth < LC_LOCK_INIT_FRAMES ? core.cfg.depth : LC_LOCK_INIT_FRAMES;
		uint32_t epoch = modmap_epoch(&core.modmap);
		uint32_t n = loader_unwind(&core.loader, t, pcs, depth, &truncated);
		if (n) {
			recorder_cover(t, pcs, n);
			initsite_note(&core.inits, (uintptr_t)lock, pcs, n, epoch);
		}
	}
out:
	core_leave(t);
	errno = saved;
}

/* No guard needed: a compare-and-swap of one key, nothing that recurses.
 * With inits=0 the table was never made.  Attached, counted all the same
 * (the table is the profile's memory). */
void recorder_lock_gone(struct lc_tls *t, const void *lock)
{
	if (!core.attach) {
		if (core_running() && core.cfg.inits)
			initsite_forget(&core.inits, (uintptr_t)lock);
		return;
	}
	core_enter(t);
	if (core_recording() && core.cfg.inits)
		initsite_forget(&core.inits, (uintptr_t)lock);
	core_leave(t);
}

/* ---- module epochs ---------------------------------------------------------- */

/* Around dlclose: the map learns what is loaded before (so an object about
 * to go is in it) and what went after (marking it gone, moving the epoch
 * on).  A refresh under way elsewhere is waited for a while: it may have
 * begun before the object went (or, after a dlopen, before it came). */
void recorder_dlclose(struct lc_tls *t)
{
	if (t->guard || !core_running())
		return;
	int saved = errno;
	core_enter(t);
	if (core_live())
		recorder_refresh(CORE_CLOSE_WAIT_NS);
	core_leave(t);
	errno = saved;
}
