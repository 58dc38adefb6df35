/*
 * series.c — a slot's events per interval (see series.h for the rules).
 *
 * The entries are kept in the order their intervals began (a thread's
 * events end in time order), so an event's own entry, if it has one, is
 * among the last: the lookup walks back from the end over the current
 * interval only (a few entries, but for a thread that meets many locks in
 * one interval: at most nentries).  An event that ends out of order (the
 * shared overflow slot) may miss its entry and get a second one: readers
 * add up every entry, and a merge joins them when it meets them.
 *
 * Every change keeps what series.h promises a reader who catches it half
 * done: an entry's place (interval, level, view, flags) is one 8-byte
 * store; an entry moves by being copied to its new place, and merges by
 * being added to the entry it joins, while it is still counted where it
 * was — `used` drops past the copies only at the end.  In between, some
 * event is counted twice, never lost, so the sums show it.
 *
 * The undo (account.c's log, for a signal handler's jump out of an add):
 * an add that only adds to an entry or appends one keeps that entry and
 * `used` first; one that must make room first copies the whole record into
 * its image (a few KiB, word by word: only when the record is full).
 */
#include "series.h"

#include <stdbool.h>

#include "step.h"

#define SERIES_MAX_LEVEL 63 /* interval_ns << 63: every run is one interval */

/* The first eight bytes of an entry, stored at once (may_alias: they are
 * also read as the struct's fields). */
typedef uint64_t __attribute__((may_alias)) series_place_t;
_Static_assert(sizeof(series_place_t) == offsetof(struct lc_series_entry, lock),
               "an entry's place is its first eight bytes");

uint32_t series_entries_for(uint64_t arena_bytes)
{
	uint64_t n = arena_bytes / (256 << 10);
	return n < 32 ? 32 : n > 1024 ? 1024 : (uint32_t)n;
}

static struct lc_series_entry *series_entry(struct lc_rec_series *r, uint32_t i)
{
	return (struct lc_series_entry *)(r + 1) + i;
}

struct lc_rec_series *series_record(struct pfile *f, const void *slot, const struct series_conf *c)
{
	if (!c->interval_ns || !c->nentries)
		return NULL;
	size_t bytes = series_bytes(c->nentries);
	struct lc_rec_series *r =
	    bytes <= LC_DUMP_MAX_RECORD ? pfile_record(f, (uint32_t)bytes) : NULL;
	if (!r)
		return NULL;
	r->slot = (uint64_t)((const char *)slot - f->base) - sizeof(struct lc_rec_head);
	r->interval_ns = c->interval_ns;
	r->nentries = c->nentries;
	pfile_publish(r, LC_REC_SERIES);
	return r;
}

/* Where e is, in one store. */
static void series_place(struct lc_series_entry *e, uint32_t interval, uint8_t level, uint8_t view,
                         uint8_t flags)
{
	struct lc_series_entry k = {
	    .interval = interval, .level = level, .view = view, .flags = flags};
	__atomic_store_n((series_place_t *)e, *(series_place_t *)&k, __ATOMIC_RELAXED);
}

static void series_set_used(struct lc_rec_series *r, uint32_t used)
{
	__atomic_store_n(&r->used, used, __ATOMIC_RELEASE);
}

static bool series_same(const struct lc_series_entry *a, const struct lc_series_entry *b)
{
	return a->interval == b->interval && a->level == b->level && a->view == b->view &&
	       a->flags == b->flags && a->lock == b->lock && a->stack == b->stack;
}

/* dst takes src's counts and then its place (src stays as it is). */
static void series_copy(struct lc_series_entry *dst, const struct lc_series_entry *src)
{
	dst->lock = src->lock;
	dst->stack = src->stack;
	dst->count = src->count;
	dst->delay_ns = src->delay_ns;
	series_place(dst, src->interval, src->level, src->view, src->flags);
}

/* An entry among [0, n) like `like`, looking back from n while the
 * intervals are not older; NULL if none. */
static struct lc_series_entry *series_find(struct lc_rec_series *r, uint32_t n,
                                           const struct lc_series_entry *like)
{
	for (uint32_t i = n; i-- > 0;) {
		struct lc_series_entry *e = series_entry(r, i);
		if (e->level == like->level && e->interval < like->interval)
			break;
		if (series_same(e, like))
			return e;
	}
	return NULL;
}

/* Every entry below level + 1 moved up to it (twice as wide), equal ones
 * merged, the survivors kept in order at the front. */
static void series_raise(struct lc_rec_series *r)
{
	uint8_t level = (uint8_t)(r->level + 1);
	uint32_t n = r->used, kept = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct lc_series_entry *e = series_entry(r, i);
		if (e->level < level) {
			unsigned up = level - e->level;
			series_place(e, up < 32 ? e->interval >> up : 0, level, e->view, e->flags);
		}
		struct lc_series_entry *into = series_find(r, kept, e);
		if (into) {
			into->count += e->count;
			into->delay_ns += e->delay_ns;
			continue;
		}
		if (kept != i)
			series_copy(series_entry(r, kept), e);
		kept++;
	}
	r->level = level;
	series_set_used(r, kept);
}

/* Is everything — every entry and an event at level-0 index idx0 — in one
 * interval of the current level? */
static bool series_one_interval(struct lc_rec_series *r, uint64_t idx0)
{
	uint64_t at = idx0 >> r->level;
	for (uint32_t i = 0; i < r->used; i++) {
		const struct lc_series_entry *e = series_entry(r, i);
		if (e->level != r->level || e->interval != at)
			return false;
	}
	return true;
}

/* The entry with the least delay among those of view v that are not
 * OTHER, in the interval of `last`; NULL if none. */
static struct lc_series_entry *series_smallest(struct lc_rec_series *r, uint8_t v,
                                               const struct lc_series_entry *last)
{
	struct lc_series_entry *best = NULL;
	for (uint32_t i = 0; i < r->used; i++) {
		struct lc_series_entry *e = series_entry(r, i);
		if (e->view == v && !(e->flags & LC_SERIES_OTHER) && e->level == last->level &&
		    e->interval == last->interval && (!best || e->delay_ns < best->delay_ns))
			best = e;
	}
	return best;
}

/* The view with most entries in the interval of `last` that could fold. */
static uint8_t series_fullest_view(struct lc_rec_series *r, const struct lc_series_entry *last)
{
	uint32_t n[LC_NVIEWS] = {0};
	for (uint32_t i = 0; i < r->used; i++) {
		const struct lc_series_entry *e = series_entry(r, i);
		if (!(e->flags & LC_SERIES_OTHER) && e->view < LC_NVIEWS &&
		    e->level == last->level && e->interval == last->interval)
			n[e->view]++;
	}
	uint8_t v = 0;
	for (uint8_t k = 1; k < LC_NVIEWS; k++)
		if (n[k] > n[v])
			v = k;
	return v;
}

/* The last entry takes e's place, and the array ends one sooner. */
static void series_remove(struct lc_rec_series *r, struct lc_series_entry *e)
{
	struct lc_series_entry *last = series_entry(r, r->used - 1);
	if (e != last)
		series_copy(e, last);
	series_set_used(r, r->used - 1);
}

/* The run so far is one interval, and it has too many entries: fold the
 * smallest of the fullest view into its OTHER entry (made from the
 * smallest first) until `keep` remain. */
static void series_fold(struct lc_rec_series *r, uint32_t keep)
{
	while (r->used > keep) {
		struct lc_series_entry last = *series_entry(r, r->used - 1);
		uint8_t v = series_fullest_view(r, &last);
		struct lc_series_entry *s = series_smallest(r, v, &last);
		if (!s)
			return; /* nothing left to fold: cannot happen while keep >= 3 */
		struct lc_series_entry other = {.interval = last.interval,
		                                .level = last.level,
		                                .view = v,
		                                .flags = LC_SERIES_OTHER};
		struct lc_series_entry *o = series_find(r, r->used, &other);
		if (!o) {
			/* OTHER first, then no lock: a reader never reads
			 * "no lock" into it */
			series_place(s, s->interval, s->level, v, LC_SERIES_OTHER);
			s->lock = 0;
			s->stack = 0;
			continue;
		}
		o->count += s->count;
		o->delay_ns += s->delay_ns;
		series_remove(r, s);
	}
}

/* Word by word, never a call (as account.c's log: little stack may be
 * left here). */
static void series_copy_words(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	for (size_t i = 0; i < n / sizeof(uint64_t); i++)
		d[i] = s[i];
}
_Static_assert(sizeof(struct lc_rec_series) % 8 == 0 && sizeof(struct lc_series_entry) % 8 == 0,
               "copied by words");

/* Before an add changes entry `at` (an append: at == used) and `used`. */
static void series_keep_entry(struct lc_rec_series *r, struct series_undo *u, uint32_t at)
{
	if (atomic_load_explicit(&u->state, memory_order_relaxed) != SERIES_UNDO_NONE)
		return; /* the whole record is kept already */
	const struct lc_series_entry *e = series_entry(r, at);
	u->at = at;
	u->used = r->used;
	u->count = e->count;
	u->delay_ns = e->delay_ns;
	atomic_store_explicit(&u->state, SERIES_UNDO_ENTRY, memory_order_release);
	lc_step();
}

/* Before an add makes room: the whole record into the image. */
static void series_keep_whole(struct lc_rec_series *r, struct lc_rec_series *image,
                              struct series_undo *u)
{
	if (!image || atomic_load_explicit(&u->state, memory_order_relaxed) != SERIES_UNDO_NONE)
		return;
	series_copy_words(image, r, series_bytes(r->used));
	atomic_store_explicit(&u->state, SERIES_UNDO_WHOLE, memory_order_release);
	lc_step();
}

void series_undo(struct lc_rec_series *r, const struct lc_rec_series *image, struct series_undo *u)
{
	switch (atomic_load_explicit(&u->state, memory_order_acquire)) {
	case SERIES_UNDO_ENTRY: {
		struct lc_series_entry *e = series_entry(r, u->at);
		e->count = u->count;
		e->delay_ns = u->delay_ns;
		series_set_used(r, u->used);
		break;
	}
	case SERIES_UNDO_WHOLE:
		r->level = image->level;
		series_copy_words(r + 1, image + 1, series_bytes(image->used) - sizeof(*r));
		series_set_used(r, image->used);
		break;
	}
	series_undo_clear(u);
}

/* Room for one entry: wider intervals, then folding (see series.h). */
static void series_make_room(struct lc_rec_series *r, uint64_t idx0)
{
	uint32_t keep = r->nentries - r->nentries / 4;
	while (r->level < SERIES_MAX_LEVEL && ((idx0 >> r->level) > UINT32_MAX ||
	                                       (r->used > keep && !series_one_interval(r, idx0))))
		series_raise(r);
	if (r->used == r->nentries)
		series_fold(r, keep);
}

void series_add(struct lc_rec_series *r, struct lc_rec_series *image, uint64_t origin_ns,
                const struct series_event *ev, struct series_undo *u)
{
	uint64_t idx0 = (ev->when_ns > origin_ns ? ev->when_ns - origin_ns : 0) / r->interval_ns;
	for (;;) {
		uint64_t idx = idx0 >> r->level;
		if (idx <= UINT32_MAX) {
			struct lc_series_entry like = {.interval = (uint32_t)idx,
			                               .level = (uint8_t)r->level,
			                               .view = ev->view,
			                               .lock = ev->lock,
			                               .stack = ev->stack};
			struct lc_series_entry *e = series_find(r, r->used, &like);
			if (e) {
				series_keep_entry(r, u, (uint32_t)(e - series_entry(r, 0)));
				e->count += ev->count;
				lc_step();
				e->delay_ns += ev->delay_ns;
				return;
			}
			if (r->used < r->nentries) {
				series_keep_entry(r, u, r->used);
				like.count = ev->count;
				like.delay_ns = ev->delay_ns;
				series_copy(series_entry(r, r->used), &like);
				lc_step();
				series_set_used(r, r->used + 1);
				return;
			}
		}
		series_keep_whole(r, image, u);
		series_make_room(r, idx0);
	}
}
