/*
 * intervals_cut.c — the cut of one interval (intervals.h): what each key
 * gained since the last cut, from a read's whole-run profile less what its
 * series place after the interval.
 *
 * A key is what makes a bucket a bucket across reads of one file: its
 * view, its lock's address and its stack id (lc_stack_id: frames, kind,
 * flags, module epoch).  A bucket keeps its place and its key in the file
 * for good, so a key's value in successive reads only grows.  The
 * pseudo-samples — a dump's sentinel (_LostContendedLock) and the holder
 * view's uncharged waiting — have a key each per view.  Two samples of one
 * read with one key (not made by profile_build today) would be summed, and
 * the delta given to the first.
 *
 * The table of shipped values is a plain open-addressing hash, grown at
 * half full; it lives as long as the profile is followed (a key per
 * bucket: as big as the profile's bucket count).
 */
#include <stdlib.h>
#include <string.h>

#include "intervals.h"

enum { PSEUDO_NONE, PSEUDO_SENTINEL, PSEUDO_UNCHARGED };

struct ivl_key {
	uint64_t lock, stack;
	uint8_t view, pseudo;
};

struct ivl_slot {
	struct ivl_key key;
	bool used;
	int64_t shipped[PROF_NVALUES];
	/* this cut's, for the keys it meets */
	int64_t have[PROF_NVALUES], held[PROF_NVALUES];
	bool given;   /* a sample got this cut's delta */
	uint64_t cut; /* the cut these belong to */
};

static uint64_t key_hash(const struct ivl_key *k)
{
	uint64_t h = k->lock * 0x9e3779b97f4a7c15u ^ k->stack;
	h ^= ((uint64_t)k->view << 8 | k->pseudo) * 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	return h * 0xc4ceb9fe1a85ec53u;
}

static bool key_eq(const struct ivl_key *a, const struct ivl_key *b)
{
	return a->lock == b->lock && a->stack == b->stack && a->view == b->view &&
	       a->pseudo == b->pseudo;
}

static struct ivl_slot *table_find(struct ivl_slot *slots, size_t cap, const struct ivl_key *k)
{
	for (size_t i = key_hash(k) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slots[i].used || key_eq(&slots[i].key, k))
			return &slots[i];
}

static int table_grow(struct ivl_state *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256;
	struct ivl_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].used)
			*table_find(slots, cap, &s->slots[i].key) = s->slots[i];
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

/* The slot of k, made (and this cut's values zeroed) as needed; NULL out
 * of memory. */
static struct ivl_slot *table_get(struct ivl_state *s, const struct ivl_key *k, uint64_t cut)
{
	if ((s->n + 1) * 2 > s->cap && table_grow(s) != 0)
		return NULL;
	struct ivl_slot *sl = table_find(s->slots, s->cap, k);
	if (!sl->used) {
		memset(sl, 0, sizeof(*sl));
		sl->used = true;
		sl->key = *k;
		s->n++;
	}
	if (sl->cut != cut) {
		memset(sl->have, 0, sizeof(sl->have));
		memset(sl->held, 0, sizeof(sl->held));
		sl->given = false;
		sl->cut = cut;
	}
	return sl;
}

static struct ivl_key sample_key(const struct prof_sample *ps, const struct dump *d)
{
	struct ivl_key k = {.view = ps->view};
	if (ps->bucket < 0) {
		k.pseudo = ps->dump == SIZE_MAX ? PSEUDO_UNCHARGED : PSEUDO_SENTINEL;
		return k;
	}
	const struct dump_bucket *bk = &d->buckets[ps->bucket];
	k.lock = bk->lock;
	k.stack = lc_stack_id(bk->pcs, bk->nframes, bk->kind, bk->flags, bk->epoch);
	return k;
}

/* Add p's samples of `view` to this cut's `have` (or `held`) values. */
static int table_add(struct ivl_state *s, const struct profile *p, const struct dump *d, int view,
                     bool held, uint64_t cut)
{
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *ps = &p->samples[i];
		if (ps->view != view)
			continue;
		struct ivl_key k = sample_key(ps, d);
		struct ivl_slot *sl = table_get(s, &k, cut);
		if (!sl)
			return -1;
		for (int v = 0; v < PROF_NVALUES; v++)
			(held ? sl->held : sl->have)[v] += ps->value[v];
	}
	return 0;
}

/* This cut's delta of one slot, shipped at once. */
static int64_t slot_take(struct ivl_slot *sl, int v)
{
	int64_t have = sl->have[v] - sl->held[v];
	int64_t delta = have > sl->shipped[v] ? have - sl->shipped[v] : 0;
	sl->shipped[v] += delta;
	return delta;
}

/* Samples with nothing in this interval go (their locations stay: pprof
 * ignores those no sample uses). */
static void samples_compact(struct profile *p)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		struct prof_sample *ps = &p->samples[i];
		if (!ps->value[PROF_CONTENTIONS] && !ps->value[PROF_DELAY]) {
			free(ps->locs);
			continue;
		}
		p->samples[kept++] = *ps;
	}
	p->nsamples = kept;
}

int ivl_cut(struct ivl_state *s, struct profile *whole, const struct dump *d,
            const struct profile *held, int view)
{
	uint64_t cut = ++s->cuts;
	if (table_add(s, whole, d, view, false, cut) != 0 ||
	    (held && table_add(s, held, d, view, true, cut) != 0))
		return -1;
	for (size_t i = 0; i < whole->nsamples; i++) {
		struct prof_sample *ps = &whole->samples[i];
		struct ivl_slot *sl = NULL;
		if (ps->view == view) {
			struct ivl_key k = sample_key(ps, d);
			sl = table_find(s->slots, s->cap, &k);
		}
		bool take = sl && !sl->given;
		for (int v = 0; v < PROF_NVALUES; v++)
			ps->value[v] = take ? slot_take(sl, v) : 0;
		ps->max_ns = 0; /* a longest wait has no interval */
		if (take)
			sl->given = true;
	}
	for (size_t i = 0; !held && i < s->cap; i++) {
		/* The last cut: a key shipped more than it has in the end (never,
		 * if buckets only grow) is said, not hidden. */
		const struct ivl_slot *sl = &s->slots[i];
		int64_t have = sl->used && sl->cut == cut ? sl->have[PROF_DELAY] : 0;
		if (sl->used && sl->shipped[PROF_DELAY] > have)
			s->clamped++;
	}
	samples_compact(whole);
	return 0;
}

void ivl_state_free(struct ivl_state *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}
