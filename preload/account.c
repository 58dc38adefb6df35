/*
 * account.c — the recorder's books (see account.h for the three stages and
 * the conservation rule they keep).
 *
 * Totals and lost counters are plain fields of the slot's record in the
 * profile file, written only inside the slot (slots.h), so a reader of a
 * file whose writer died still finds them in step with each other.
 *
 * A signal handler may jump out of any instruction here (docs/safety.md,
 * 4), and the owner then repairs the books before it leaves the slot
 * (account_repair), so every piece of work is kept in the slot's log
 * (slots.h) in one of two shapes:
 *
 *   - work on the slot alone (settle, a lost or reentrant event, a stash
 *     the full table refused): a copy of what it changes goes to the log
 *     first (UNDO), then it changes the slot in place, taking its input
 *     (a noted event's valid cleared, a reentrant count taken); an add to a lock's
 *     LOCK_LOST, or to its uncharged waiting (LOCK_UNCHARGED), is only set,
 *     and made once the work is SHARED, the one store that commits it.  A
 *     jump before that is undone: the slot as it was, the input still
 *     there for the next settle (an event of the log's own is done again
 *     at once); after it, the adds are finished.
 *   - a publish (PUBLISH): the stash's add to the table is an op that
 *     stacktab_publish, called again, finishes exactly once (claim.h); the
 *     stash is cleared once it is made.
 *
 * Before, a jump between a settle's totals and its stash left the event
 * noted, and it was settled again: twice in the totals, once in a stack.
 *
 * The slot's series (series.h) changes with its totals, in the same work:
 * series_add keeps what it changes in the log's series undo (one entry, or
 * a copy of the whole record before it makes room), which log_undo puts
 * back, so a jump leaves the series as exact as the totals.
 */
#include "account.h"

#include <stdatomic.h>

#include "stash.h"
#include "step.h"

void (*lc_step_hook)(void);

/* The claim (claim.h) of the slot's work: one thread at a time is inside. */
static uintptr_t account_me(const struct slot *sl)
{
	return (uintptr_t)sl;
}

/* ---- the log -------------------------------------------------------------- */

/* Word by word, never a call: a thread may have little stack left here
 * (stackroom.h: the books are kept even where no stack is taken), and
 * AddressSanitizer's memcpy, a deep call, did not fit in one of 16 KiB
 * with 8 KiB used (test_hazards small_thread_stacks_*, under make
 * sanitize). */
static void log_copy(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	for (size_t i = 0; i < n / sizeof(uint64_t); i++)
		d[i] = s[i];
}
/* The slot record's head (every view's totals, timeouts, uncharged), and
 * one view's lost: all a piece of work changes of it. */
#define LOG_HEAD offsetof(struct lc_rec_slot, lost)
_Static_assert(LOG_HEAD % sizeof(uint64_t) == 0, "copied by words");
_Static_assert(sizeof(((struct lc_rec_slot *)0)->lost[0]) % sizeof(uint64_t) == 0,
               "copied by words");
_Static_assert(sizeof(((struct slot_log *)0)->stash) % sizeof(uint64_t) == 0, "copied by words");

/* Work on the slot alone begins: what it may change, as it is, into the
 * log — the record's head, and of one view (every piece of work is about
 * one event, or one stash) its lost and its stash's head (taken: two words
 * of the thread's it changes too, or NULL).  Not the whole record and
 * every stash: this runs once an event. */
static void log_begin(struct slot *sl, uint64_t *taken, int view)
{
	struct slot_log *g = &sl->log;
	g->view = (uint8_t)view;
	log_copy(&g->books, sl->pub, LOG_HEAD);
	log_copy(g->books.lost[view], sl->pub->lost[view], sizeof(g->books.lost[view]));
	log_copy(g->stash, &sl->stash[view], sizeof(g->stash));
	g->raw_valid = atomic_load_explicit(&sl->raw[view].valid, memory_order_relaxed);
	g->taken = taken;
	if (taken) {
		g->taken_old[0] = taken[0];
		g->taken_old[1] = taken[1];
	}
	atomic_store(&g->lock_op.state, LOCKSTATE_OP_IDLE);
	atomic_store(&g->unch_op.state, LOCKSTATE_OP_IDLE);
	series_undo_clear(&g->series);
	lc_step();
	atomic_store(&g->state, SLOT_LOG_UNDO);
	lc_step();
}

/* Back to what log_begin saw. */
static void log_undo(struct slot *sl)
{
	struct slot_log *g = &sl->log;
	log_copy(sl->pub, &g->books, LOG_HEAD);
	log_copy(sl->pub->lost[g->view], g->books.lost[g->view], sizeof(g->books.lost[g->view]));
	log_copy(&sl->stash[g->view], g->stash, sizeof(g->stash));
	atomic_store_explicit(&sl->raw[g->view].valid, g->raw_valid, memory_order_relaxed);
	if (g->taken) {
		g->taken[0] = g->taken_old[0];
		g->taken[1] = g->taken_old[1];
	}
	atomic_store(&g->lock_op.state, LOCKSTATE_OP_IDLE);
	atomic_store(&g->unch_op.state, LOCKSTATE_OP_IDLE);
	if (sl->series)
		series_undo(sl->series, sl->series_image, &g->series);
}

/* The work is whole: commit it, then make its adds to locks' records (the
 * LOCK_LOST of an event without a stack, the uncharged waiting of a wait):
 * claimed adds, which a repair finishes. */
static void log_commit(struct slot *sl, const struct account_books *b)
{
	struct slot_log *g = &sl->log;
	lc_step();
	atomic_store(&g->state, SLOT_LOG_SHARED);
	lc_step();
	atomic_store(&g->redo, 0); /* the log's event, if it was one, is in */
	lc_step();
	if (b->locks) {
		lockstate_lost_run(b->locks, &g->lock_op, account_me(sl));
		lockstate_lost_run(b->locks, &g->unch_op, account_me(sl));
	}
	atomic_store(&g->state, SLOT_LOG_IDLE);
	lc_step();
}

/* ---- work on the slot alone --------------------------------------------- */

/* What every event adds, wherever it goes next: the slot's series (its
 * stack id, 0 if it has none), then its totals — in this order, so that a
 * writer stopped between the two leaves totals short of the series, which
 * a reader sees (series.h).  A wait's uncharged part goes to its lock's
 * record too, at the commit: here, as the event is settled, not as it is
 * noted (often inside the critical section after the wait, where the add
 * went to a line every waiter of the lock writes). */
static void account_total(struct slot *sl, const struct account_books *b,
                          const struct account_event *e, uint64_t stack)
{
	if (sl->series) {
		struct series_event ev = {.when_ns = e->when_ns,
		                          .lock = e->key.lock,
		                          .stack = stack,
		                          .count = e->count,
		                          .delay_ns = e->delay_ns,
		                          .view = e->key.view};
		series_add(sl->series, sl->series_image, b->origin_ns, &ev, &sl->log.series);
	}
	struct lc_rec_slot *p = sl->pub;
	int view = e->key.view;
	p->count[view] += e->count;
	lc_step();
	p->delay_ns[view] += e->delay_ns;
	p->uncharged_ns += e->uncharged_ns;
	if (e->key.flags & LC_BUCKET_TIMEDOUT)
		p->timeouts += e->count;
	if ((e->uncharged_ns || e->no_cell) && e->key.lock)
		lockstate_uncharged_set(&sl->log.unch_op, e->key.lock, e->uncharged_ns,
		                        e->no_cell ? e->count : 0,
		                        e->no_cell ? e->uncharged_ns : 0);
	lc_step();
}

/* An event with no stack: the slot's lost, and (at the commit) its
 * lock's. */
static void account_lost(struct slot *sl, const struct event_key *key, int reason, uint64_t count,
                         uint64_t delay_ns)
{
	struct lc_lost_entry *l = &sl->pub->lost[key->view][reason];
	l->count += count;
	lc_step();
	l->delay_ns += delay_ns;
	lockstate_lost_set(&sl->log.lock_op, key->lock, key->view, reason, count, delay_ns);
	lc_step();
}

void account_note(struct slot *sl, const struct account_event *e, uint32_t nframes)
{
	struct slot_raw *r = &sl->raw[e->key.view];
	r->key = e->key;
	r->count = e->count;
	r->delay = e->delay_ns;
	r->max = e->max_ns;
	r->uncharged = e->uncharged_ns;
	r->no_cell = e->no_cell;
	r->when = e->when_ns;
	r->nframes = nframes;
	atomic_store_explicit(&r->valid, 1, memory_order_release);
}

/* Why the noted event r goes to the sentinel, or -1: it has a stack. */
static int account_lost_reason(const struct slot_raw *r, bool stacks)
{
	if (!stacks)
		return LC_LOST_NO_STACKS;
	if (r->nframes == 0)
		return r->key.flags & EVENT_NO_ROOM ? LC_LOST_NO_ROOM : LC_LOST_NO_STACK;
	return -1;
}

/* The id the series names the noted event r's stack by, as a reader
 * names the bucket it goes to (dumpfmt.h); only hashed when there is a
 * series. */
static uint64_t account_stack_id(struct slot *sl, const struct slot_raw *r)
{
	_Static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "frames are 64-bit");
	if (!sl->series)
		return 0;
	const struct event_key *k = &r->key;
	return lc_stack_id((const uint64_t *)stash_spare(&sl->stash[k->view]), r->nframes, k->kind,
	                   k->flags, k->epoch);
}

/* View v's noted event, if any, into totals and its stash or lost. */
static void account_settle_view(struct slot *sl, const struct account_books *b, uint64_t *rng,
                                int v)
{
	struct slot_raw *r = &sl->raw[v];
	if (!atomic_load_explicit(&r->valid, memory_order_acquire))
		return;
	struct account_event e = {.key = r->key,
	                          .count = r->count,
	                          .delay_ns = r->delay,
	                          .uncharged_ns = r->uncharged,
	                          .when_ns = r->when,
	                          .no_cell = r->no_cell};
	int reason = account_lost_reason(r, b->stacks);
	uint64_t stack = reason >= 0 ? 0 : account_stack_id(sl, r);
	log_begin(sl, NULL, v);
	account_total(sl, b, &e, stack);
	if (reason >= 0) {
		account_lost(sl, &e.key, reason, e.count, e.delay_ns);
	} else {
		uint64_t lc, ld;
		struct stash *st = &sl->stash[v];
		struct event_key old = st->key;
		st->spare_n = r->nframes;
		st->spare_key = e.key;
		if (stash_offer(st, e.count, e.delay_ns, r->max, rng, &lc, &ld))
			st->known = 0; /* a new stack: not looked at yet */
		lc_step();
		/* The loser of the draw is the old event if the stash now
		 * holds the new one's key (equal keys: they added up). */
		if (lc)
			account_lost(sl, event_key_equal(&st->key, &e.key) ? &old : &e.key,
			             LC_LOST_EVICTED, lc, ld);
	}
	atomic_store_explicit(&r->valid, 0, memory_order_release);
	log_commit(sl, b);
}

void account_settle(struct slot *sl, const struct account_books *b, uint64_t *rng)
{
	for (int v = 0; v < LC_NVIEWS; v++)
		account_settle_view(sl, b, rng, v);
}

bool account_noted(const struct slot *sl, int v)
{
	return atomic_load_explicit(&sl->raw[v].valid, memory_order_acquire) != 0;
}

/* An event the books take whole from their caller (log.ev, set before
 * log_begin): totals and lost at once. */
static void account_lost_ev(struct slot *sl, const struct account_books *b)
{
	struct slot_log *g = &sl->log;
	struct account_event e = {.key = g->ev_key,
	                          .count = g->ev_count,
	                          .delay_ns = g->ev_delay_ns,
	                          .uncharged_ns = g->ev_uncharged_ns,
	                          .when_ns = g->ev_when_ns,
	                          .no_cell = g->ev_no_cell};
	log_begin(sl, NULL, e.key.view);
	account_total(sl, b, &e, 0);
	account_lost(sl, &e.key, g->ev_reason, e.count, e.delay_ns);
	log_commit(sl, b);
}

void account_lost_event(struct slot *sl, const struct account_books *b,
                        const struct account_event *e, int reason)
{
	struct slot_log *g = &sl->log;
	g->ev_key = e->key;
	g->ev_count = e->count;
	g->ev_delay_ns = e->delay_ns;
	g->ev_uncharged_ns = e->uncharged_ns;
	g->ev_when_ns = e->when_ns;
	g->ev_no_cell = e->no_cell;
	g->ev_reason = (int8_t)reason;
	atomic_store(&g->redo, 1); /* from here on the books have it */
	account_lost_ev(sl, b);
}

void account_deferred(struct slot *sl, const struct account_books *b, int reason, uint64_t count,
                      uint64_t delay_ns, uint64_t taken[2], uint64_t when_ns)
{
	if (count == taken[0] && delay_ns == taken[1])
		return;
	struct account_event e = {.key.view = LC_VIEW_WAIT,
	                          .count = count - taken[0],
	                          .delay_ns = delay_ns - taken[1],
	                          .when_ns = when_ns};
	e.uncharged_ns = e.delay_ns; /* never registered with its lock */
	log_begin(sl, taken, LC_VIEW_WAIT);
	account_total(sl, b, &e, 0);
	account_lost(sl, &e.key, reason, e.count, e.delay_ns);
	taken[0] = count;
	taken[1] = delay_ns;
	log_commit(sl, b);
}

/* View v's stash, which the full table refused: into lost (ARENA_FULL). */
static void account_refused(struct slot *sl, const struct account_books *b, int v)
{
	struct stash *st = &sl->stash[v];
	log_begin(sl, NULL, v);
	account_lost(sl, &st->key, LC_LOST_ARENA_FULL, st->count, st->delay_ns);
	stash_clear(st);
	log_commit(sl, b);
}

/* ---- publishing ---------------------------------------------------------- */

/* The stash of view v's add to the table (only to a bucket that is there,
 * or not); once made, the stash is cleared.  Called again after a jump out
 * of it (the log names the stash), it finishes the add under way. */
static enum stacktab_result account_add_stash(struct slot *sl, const struct account_books *b, int v,
                                              bool only_existing)
{
	struct slot_log *g = &sl->log;
	struct stash *st = &sl->stash[v];
	g->publishing = (uint8_t)v;
	atomic_store(&g->state, SLOT_LOG_PUBLISH);
	lc_step();
	enum stacktab_result r =
	    stacktab_publish(b->tab, &g->tab_op, account_me(sl), &st->key, stash_frames(st),
	                     st->nframes, st->count, st->delay_ns, st->max_ns, only_existing);
	if (r == STACKTAB_ADDED || r == STACKTAB_INSERTED) {
		lc_step();
		stash_clear(st);
	}
	lc_step();
	stacktab_op_clear(&g->tab_op);
	atomic_store(&g->state, SLOT_LOG_IDLE);
	lc_step();
	return r;
}

/* Are all of the stash's frames in objects the map knows?  The map is
 * looked at once a stack (stash.known, cleared when a new stack comes). */
static bool account_known(const struct account_books *b, struct stash *st)
{
	if (!st->known && (!b->map || modmap_covers(b->map, stash_frames(st), st->nframes)))
		st->known = 1;
	return st->known;
}

/* View v's stash into the table; true when a new bucket points into an
 * object the map lacks. */
static bool account_publish_stash(struct slot *sl, const struct account_books *b, int v)
{
	struct stash *st = &sl->stash[v];
	enum stacktab_result r = account_add_stash(sl, b, v, false);
	if (r == STACKTAB_FULL)
		account_refused(sl, b, v);
	return r == STACKTAB_INSERTED && !account_known(b, st);
}

/* View v's stash, if its stack has a bucket already (its objects are
 * known: no look at the map), or if every frame is in an object the map
 * knows. */
static void account_publish_known(struct slot *sl, const struct account_books *b, int v)
{
	if (account_add_stash(sl, b, v, true) == STACKTAB_ABSENT && account_known(b, &sl->stash[v]))
		(void)account_publish_stash(sl, b, v);
}

/* View v's stash, if full, as the thread may publish (held: only what the
 * map knows); true when the map needs a refresh.  The time it went is
 * the view's, for the coalescing bound. */
static bool account_out(struct slot *sl, const struct account_books *b, int v, bool held,
                        uint64_t now_ns)
{
	struct stash *st = &sl->stash[v];
	bool unknown = false;
	if (!stash_full(st))
		return false;
	if (held)
		account_publish_known(sl, b, v);
	else
		unknown = account_publish_stash(sl, b, v);
	if (!stash_full(st))
		st->published_ns = now_ns;
	return unknown;
}

/* A noted event's view: is its stash full with another stack?  Then that
 * goes out first, so the two never compete for the one place. */
static bool account_make_room(struct slot *sl, const struct account_books *b, bool held,
                              uint64_t now_ns)
{
	bool unknown = false;
	for (int v = 0; v < LC_NVIEWS; v++) {
		const struct slot_raw *r = &sl->raw[v];
		struct stash *st = &sl->stash[v];
		if (!atomic_load_explicit(&r->valid, memory_order_acquire) ||
		    account_lost_reason(r, b->stacks) >= 0 || !stash_full(st))
			continue;
		st->spare_n = r->nframes; /* inputs of the settle, which sets them again */
		st->spare_key = r->key;
		if (!stash_same(st))
			unknown |= account_out(sl, b, v, held, now_ns);
	}
	return unknown;
}

/* Is view v's stash due now: its view last published a bound ago, or
 * (a thread that may refresh the map) its stack points into an object the
 * map does not know, so the refresh comes now (the stack was taken while
 * the thread held a lock), not after a draw it might lose to a later
 * stack taken holding one. */
static bool account_due(struct slot *sl, const struct account_books *b, int v, bool held,
                        uint64_t now_ns)
{
	struct stash *st = &sl->stash[v];
	if (now_ns - st->published_ns >= ACCOUNT_COALESCE_NS)
		return true;
	return !held && stash_full(st) && !account_known(b, st);
}

bool account_publish_due(struct slot *sl, const struct account_books *b, uint64_t *rng, bool held,
                         uint64_t now_ns)
{
	bool unknown = account_make_room(sl, b, held, now_ns);
	account_settle(sl, b, rng);
	for (int v = 0; v < LC_NVIEWS; v++)
		if (account_due(sl, b, v, held, now_ns))
			unknown |= account_out(sl, b, v, held, now_ns);
	return unknown;
}

bool account_publish(struct slot *sl, const struct account_books *b)
{
	bool unknown = false;
	for (int v = 0; v < LC_NVIEWS; v++)
		unknown |= account_out(sl, b, v, false, 0);
	return unknown;
}

bool account_publish_all(struct slot *sl, const struct account_books *b, uint64_t *rng)
{
	bool unknown = account_publish(sl, b);
	account_settle(sl, b, rng);
	return account_publish(sl, b) || unknown;
}

bool account_stashed(const struct slot *sl)
{
	for (int v = 0; v < LC_NVIEWS; v++)
		if (stash_full(&sl->stash[v]))
			return true;
	return false;
}

bool account_publish_held(struct slot *sl, const struct account_books *b, uint64_t *rng)
{
	for (int v = 0; v < LC_NVIEWS; v++)
		(void)account_out(sl, b, v, true, 0);
	account_settle(sl, b, rng);
	for (int v = 0; v < LC_NVIEWS; v++)
		(void)account_out(sl, b, v, true, 0);
	return account_stashed(sl);
}

/* ---- after a jump ---------------------------------------------------------- */

void account_repair(struct slot *sl, const struct account_books *b)
{
	struct slot_log *g = &sl->log;
	switch (atomic_load(&g->state)) {
	case SLOT_LOG_IDLE:
		if (atomic_load(&g->redo)) /* taken, not begun */
			account_lost_ev(sl, b);
		break;
	case SLOT_LOG_UNDO:
		log_undo(sl);
		atomic_store(&g->state, SLOT_LOG_IDLE);
		if (atomic_load(&g->redo)) /* the event was the log's alone: again */
			account_lost_ev(sl, b);
		break;
	case SLOT_LOG_SHARED: log_commit(sl, b); break;
	case SLOT_LOG_PUBLISH: /* the stash is as the add began */
		if (atomic_load(&g->tab_op.state) == STACKTAB_OP_IDLE)
			atomic_store(&g->state, SLOT_LOG_IDLE); /* nothing made */
		else
			(void)account_add_stash(sl, b, g->publishing, false);
		break;
	}
}
