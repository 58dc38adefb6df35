/*
 * profile.c — build a symbolized profile (profile.h) from raw dumps.
 *
 * Strings are interned in one hash set, so equal names share a pointer and
 * functions and locks can be keyed by pointers.  Locations are keyed by
 * (mapping, address): a return address is resolved once however many
 * stacks and dumps contain it.  A bucket's frames belong to the modules of
 * its epoch (dump_module_in_epoch), so one address in two libraries loaded
 * there one after the other is two locations.  Every bucket of a kept kind becomes a
 * sample; each dump's sentinel (_LostContendedLock) of each view is a
 * sample of its own on a location without mapping, and so is the one
 * _NotChargedToHolder sample, added last.
 *
 * Locks are named per dump (an address means something only in its own
 * process), once per address: a first pass over the buckets and LOCK
 * records collects every address with the kinds it was used as, and only
 * addresses with a kept kind are named and enter the lock table.  Names
 * come after the dump's samples: its wait stacks, with the stacks of its
 * LOCK and LOCK_INIT records (made locations too), show which functions
 * are the program's lock wrappers (locknames.h), and the samples get their
 * lock's name once it is known.
 *
 * Futex condition waits (futexcond.h) are told from futex lock waits
 * before anything else, as the dump's buckets are first looked at: a
 * futex WAIT bucket whose stack the rules call a condition wait is of
 * kind futex-cond, and so is its word when all its classified waits are;
 * every bucket of such a word (its wakes: the HOLDER view), its LOCK
 * record and a thread waiting on it are futex-cond too, as is a HOLDER
 * bucket whose own stack is a condition's notify.  A word with both kinds
 * of waits (a per-thread word: Abseil's, parking_lot's) keeps its wakes
 * futex unless their stacks say notify, and its LOCK record's figures
 * (uncharged waiting, timeouts) go whole to every kind it is shown as.
 * Such a per-thread word is named by the library's frames of its first
 * waiting stack (futexcond_word_name), not as a lock: the word is none.
 */
#include "profile.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "futexcond.h"
#include "grow.h"
#include "lockcontend/dumpfmt.h"
#include "locknames.h"
#include "map64.h"
#include "resolve.h"
#include "strset.h"
#include "viewkind.h"

/* Builder state beside the profile being built. */
struct builder {
	struct profile *p;
	struct strset strs; /* interned strings: the profile's once built */
	struct map64 funcs; /* hash(name,sys,file) -> function, chained by probe */
	struct map64 locs;  /* (mapping, address) -> location */
	struct map64 locks; /* interned name pointer -> lock table index */
	size_t cap_maps, cap_funcs, cap_locs, cap_samples, cap_locks, cap_threads;
	uint64_t uncharged_ns; /* for the _NotChargedToHolder sample */
	struct futexcond_cache fc;
	size_t dump; /* the dump being added */
	bool window; /* cut to a window (profile_window.c) */
};

/* Room for element n (the next one) in a table of the profile. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	return grow_to(arr, cap, n + 1, elem);
}

static const char *intern(struct builder *b, const char *s)
{
	return strset_intern(&b->strs, s);
}

static int64_t add_function(struct builder *b, const struct resolve_frame *f)
{
	const char *name = intern(b, f->function), *sys = intern(b, f->system_name);
	const char *file = intern(b, f->file);
	if (!name || !sys || !file)
		return -1;
	uint64_t key =
	    map64_mix((uintptr_t)name ^ map64_mix((uintptr_t)sys ^ map64_mix((uintptr_t)file)));
	struct profile *p = b->p;
	uint32_t idx;
	for (;; key++) { /* a 64-bit key collision probes on */
		if (!map64_get(&b->funcs, key, &idx))
			break;
		const struct prof_function *fn = &p->functions[idx];
		if (fn->name == name && fn->system_name == sys && fn->file == file)
			return idx;
	}
	if (!grow((void **)&p->functions, &b->cap_funcs, p->nfunctions, sizeof(*p->functions)) ||
	    !map64_put(&b->funcs, key, (uint32_t)p->nfunctions))
		return -1;
	p->functions[p->nfunctions] = (struct prof_function){name, sys, file, 0, false};
	return (int64_t)p->nfunctions++;
}

/* The executable segment of a module becomes its mapping (pprof style). */
static int32_t add_mapping(struct builder *b, const struct dump_module *m, bool found)
{
	struct profile *p = b->p;
	const struct lc_rec_segment *seg = m->nsegments ? &m->segments[0] : NULL;
	for (uint32_t i = 0; i < m->nsegments; i++)
		if (m->segments[i].flags & 1 /* PF_X */)
			seg = &m->segments[i];
	struct prof_mapping mp = {.load_bias = m->load_bias, .has_functions = found};
	if (seg) {
		mp.start = m->load_bias + seg->vaddr;
		mp.limit = mp.start + seg->memsz;
		mp.file_offset = seg->offset;
	}
	char id[2 * LC_DUMP_MAX_BUILD_ID + 1] = "";
	for (uint32_t i = 0; i < m->build_id_len; i++)
		snprintf(id + 2 * i, 3, "%02x", m->build_id[i]);
	mp.file = intern(b, m->path);
	mp.build_id = intern(b, id);
	if (!mp.file || !mp.build_id)
		return -2;
	for (size_t i = 0; i < p->nmappings; i++) {
		const struct prof_mapping *o = &p->mappings[i];
		if (o->start == mp.start && o->limit == mp.limit && o->file == mp.file &&
		    o->build_id == mp.build_id) {
			p->mappings[i].has_functions |= found;
			return (int32_t)i;
		}
	}
	if (!grow((void **)&p->mappings, &b->cap_maps, p->nmappings, sizeof(*p->mappings)))
		return -2;
	p->mappings[p->nmappings] = mp;
	return (int32_t)p->nmappings++;
}

/* One lock address of a dump: the kinds it was used as, its LOCK record
 * and, once named, its name. */
struct lockaddr {
	uint64_t addr;
	uint32_t kinds;
	const struct dump_lock *rec; /* NULL: no LOCK record */
	const char *name;            /* NULL: not named (no kept kind) */
};

struct dump_ctx {
	const struct dump *d;
	struct resolver *r;
	int32_t *mod_mapping; /* dump module index -> mapping index */
	struct map64 addrs;   /* lock address -> index into la */
	struct lockaddr *la;
	size_t nla, cap_la;
	uint8_t *bkind;     /* per bucket: the kind it is shown as (classify_futex) */
	uint8_t *wkind;     /* per WAITING record: likewise */
	struct map64 words; /* futex word -> WORD_* bits of its WAIT buckets */
};

enum { WORD_COND = 1, WORD_LOCK = 2 };
#define FUTEX_KINDS (1u << LC_KIND_FUTEX | 1u << NAMES_KIND_FUTEX_COND)

#define SENTINEL_KEY UINT64_MAX
#define UNCHARGED_KEY (UINT64_MAX - 1)

static int64_t new_location(struct builder *b, uint64_t key, uint64_t pc, int32_t mapping,
                            const struct resolve_frame *frames, int n)
{
	struct profile *p = b->p;
	struct prof_line *lines = n ? calloc((size_t)n, sizeof(*lines)) : NULL;
	if (n && !lines)
		return -1;
	for (int i = 0; i < n; i++) {
		int64_t fn = add_function(b, &frames[i]);
		if (fn < 0) {
			free(lines);
			return -1;
		}
		lines[i] = (struct prof_line){(uint32_t)fn, frames[i].line};
	}
	if (!grow((void **)&p->locations, &b->cap_locs, p->nlocations, sizeof(*p->locations)) ||
	    !map64_put(&b->locs, key, (uint32_t)p->nlocations)) {
		free(lines);
		return -1;
	}
	p->locations[p->nlocations] = (struct prof_location){pc, mapping, (uint32_t)n, lines};
	return (int64_t)p->nlocations++;
}

/* The location of pc in module m (the one that held it when its stack was
 * taken; NULL: none). */
static int64_t add_location(struct builder *b, struct dump_ctx *c, const struct dump_module *m,
                            uint64_t pc)
{
	int32_t mapping = m ? c->mod_mapping[m - c->d->modules] : -1;
	uint64_t key = (pc & ((1ull << 48) - 1)) | (uint64_t)(uint32_t)(mapping + 1) << 48;
	uint32_t idx;
	if (map64_get(&b->locs, key, &idx))
		return idx;
	struct resolve_frame frames[RESOLVE_MAX_INLINE];
	int n = c->r && m ? resolver_lookup(c->r, m, pc, frames, RESOLVE_MAX_INLINE) : 0;
	return new_location(b, key, pc, mapping, frames, n);
}

/* The location of a pseudo-sample: one function, no mapping, no address. */
static int64_t pseudo_location(struct builder *b, uint64_t key, const char *name)
{
	uint32_t idx;
	if (map64_get(&b->locs, key, &idx))
		return idx;
	struct resolve_frame f = {name, name, "", 0};
	return new_location(b, key, 0, -1, &f, 1);
}

/* Appends s (taking locs, freed on failure). */
static int add_sample(struct builder *b, uint32_t *locs, struct prof_sample s)
{
	struct profile *p = b->p;
	if (!grow((void **)&p->samples, &b->cap_samples, p->nsamples, sizeof(*p->samples))) {
		free(locs);
		return -1;
	}
	s.locs = locs;
	p->samples[p->nsamples++] = s;
	return 0;
}

/* A one-frame pseudo-sample in view v. */
static int add_pseudo(struct builder *b, uint64_t key, const char *name, enum lc_view v,
                      uint64_t count, uint64_t delay)
{
	int64_t l = pseudo_location(b, key, name);
	uint32_t *locs = malloc(sizeof(*locs));
	if (l < 0 || !locs) {
		free(locs);
		return -1;
	}
	locs[0] = (uint32_t)l;
	struct prof_sample s = {
	    .nlocs = 1, .view = v, .kind = PROF_KIND_NONE, .dump = b->dump, .bucket = -1};
	s.value[PROF_CONTENTIONS] = (int64_t)count;
	s.value[PROF_DELAY] = (int64_t)delay;
	return add_sample(b, locs, s);
}

/* The locations of a stack of the dump, malloc'd; NULL out of memory. */
static uint32_t *stack_locs(struct builder *b, struct dump_ctx *c, const uint64_t *pcs, uint32_t n,
                            uint32_t epoch)
{
	uint32_t *locs = malloc((n ? n : 1) * sizeof(*locs));
	for (uint32_t i = 0; locs && i < n; i++) {
		int64_t l = add_location(b, c, dump_frame_module(c->d, pcs[i], epoch), pcs[i]);
		if (l < 0) {
			free(locs);
			return NULL;
		}
		locs[i] = (uint32_t)l;
	}
	return locs;
}

/* A bucket's sample, without its lock's name yet (name_locks). */
static int add_bucket(struct builder *b, struct dump_ctx *c, const struct dump_bucket *bk)
{
	int64_t index = bk - c->d->buckets;
	uint32_t *locs = stack_locs(b, c, bk->pcs, bk->nframes, bk->epoch);
	if (!locs)
		return -1;
	return add_sample(b, locs,
	                  (struct prof_sample){.nlocs = bk->nframes,
	                                       .value = {(int64_t)bk->count, (int64_t)bk->delay_ns},
	                                       .flags = bk->flags,
	                                       .view = bk->view,
	                                       .kind = c->bkind[index],
	                                       .lock_addr = bk->lock,
	                                       .max_ns = (int64_t)bk->max_ns,
	                                       .dump = b->dump,
	                                       .bucket = index});
}

/* ---- futex condition waits (futexcond.h) ------------------------------------ */

/* Is a stack of the dump a condition wait (view WAIT) or notify (HOLDER)
 * by the rules?  1 yes, 0 no, -1 out of memory. */
static int stack_is_cond(struct builder *b, struct dump_ctx *c, const uint64_t *pcs, uint32_t n,
                         uint32_t epoch, int view)
{
	uint32_t *locs = stack_locs(b, c, pcs, n, epoch);
	if (!locs)
		return -1;
	bool cond = futexcond_stack(&b->fc, b->p, locs, n, view);
	free(locs);
	return cond;
}

static bool word_mark(struct dump_ctx *c, uint64_t word, uint32_t bits)
{
	uint32_t old = 0;
	map64_get(&c->words, word, &old);
	return map64_put(&c->words, word, old | bits);
}

/* Were all of the word's classified waits condition waits (and one at
 * least)? */
static bool word_is_cond(const struct dump_ctx *c, uint64_t word)
{
	uint32_t bits = 0;
	return map64_get(&c->words, word, &bits) && bits == WORD_COND;
}

/* The kind of a futex bucket of a view other than WAIT (after those). */
static int other_kind(struct builder *b, struct dump_ctx *c, const struct dump_bucket *bk)
{
	if (word_is_cond(c, bk->lock))
		return NAMES_KIND_FUTEX_COND;
	int cond = bk->view == LC_VIEW_HOLDER
	               ? stack_is_cond(b, c, bk->pcs, bk->nframes, bk->epoch, LC_VIEW_HOLDER)
	               : 0;
	return cond < 0 ? -1 : cond ? NAMES_KIND_FUTEX_COND : LC_KIND_FUTEX;
}

/* c->bkind and c->wkind: the kind each bucket and WAITING record is shown
 * as, futex-cond for a futex condition wait (this file's story). */
static int classify_futex(struct builder *b, struct dump_ctx *c)
{
	const struct dump *d = c->d;
	c->bkind = malloc(d->nbuckets + 1);
	c->wkind = malloc(d->nwaiting + 1);
	if (!c->bkind || !c->wkind)
		return -1;
	for (size_t i = 0; i < d->nbuckets; i++) {
		const struct dump_bucket *bk = &d->buckets[i];
		c->bkind[i] = (uint8_t)bk->kind;
		if (bk->kind != LC_KIND_FUTEX || bk->view != LC_VIEW_WAIT)
			continue;
		int cond = stack_is_cond(b, c, bk->pcs, bk->nframes, bk->epoch, LC_VIEW_WAIT);
		if (cond < 0 || !word_mark(c, bk->lock, cond ? WORD_COND : WORD_LOCK))
			return -1;
		if (cond)
			c->bkind[i] = NAMES_KIND_FUTEX_COND;
	}
	for (size_t i = 0; i < d->nbuckets; i++) {
		const struct dump_bucket *bk = &d->buckets[i];
		int k = bk->kind == LC_KIND_FUTEX && bk->view != LC_VIEW_WAIT ? other_kind(b, c, bk)
		                                                              : c->bkind[i];
		if (k < 0)
			return -1;
		c->bkind[i] = (uint8_t)k;
	}
	for (size_t i = 0; i < d->nwaiting; i++) {
		const struct dump_waiting *w = &d->waiting[i];
		int cond = w->kind != LC_KIND_FUTEX || w->torn ? 0
		           : word_is_cond(c, w->lock)
		               ? 1
		               : stack_is_cond(b, c, w->pcs, w->nframes, w->epoch, LC_VIEW_WAIT);
		if (cond < 0)
			return -1;
		c->wkind[i] = cond ? NAMES_KIND_FUTEX_COND : (uint8_t)w->kind;
	}
	return 0;
}

/* The kind a LOCK record is shown as. */
static uint32_t lock_kind(const struct dump_ctx *c, const struct dump_lock *l)
{
	return l->kind == LC_KIND_FUTEX && word_is_cond(c, l->addr) ? NAMES_KIND_FUTEX_COND
	                                                            : l->kind;
}

/* ---- locks ---------------------------------------------------------------- */

/* The entry of addr in c->la, added if new; NULL on allocation failure. */
static struct lockaddr *lockaddr_get(struct dump_ctx *c, uint64_t addr)
{
	uint32_t idx;
	if (map64_get(&c->addrs, addr, &idx))
		return &c->la[idx];
	if (!grow((void **)&c->la, &c->cap_la, c->nla, sizeof(*c->la)) ||
	    !map64_put(&c->addrs, addr, (uint32_t)c->nla))
		return NULL;
	c->la[c->nla] = (struct lockaddr){.addr = addr};
	return &c->la[c->nla++];
}

static int collect_lock_addrs(struct dump_ctx *c)
{
	const struct dump *d = c->d;
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct lockaddr *a = lockaddr_get(c, d->buckets[i].lock);
		if (!a)
			return -1;
		a->kinds |= 1u << c->bkind[i];
	}
	for (size_t i = 0; i < d->nlocks; i++) {
		struct lockaddr *a = lockaddr_get(c, d->locks[i].addr);
		if (!a)
			return -1;
		a->kinds |= 1u << lock_kind(c, &d->locks[i]);
		a->rec = &d->locks[i]; /* the last record wins, as dump_lock_of */
	}
	for (size_t i = 0; i < d->nwaiting; i++) {
		const struct dump_waiting *w = &d->waiting[i];
		struct lockaddr *a = w->torn || !w->lock ? NULL : lockaddr_get(c, w->lock);
		if (a)
			a->kinds |= 1u << c->wkind[i];
		else if (!w->torn && w->lock)
			return -1;
	}
	return 0;
}

/* The lock table entry named `name`, added if new. */
static struct prof_lock *lock_entry(struct builder *b, const char *name, uint64_t addr)
{
	struct profile *p = b->p;
	uint32_t idx;
	if (map64_get(&b->locks, (uintptr_t)name, &idx))
		return &p->locks[idx];
	if (!grow((void **)&p->locks, &b->cap_locks, p->nlocks, sizeof(*p->locks)) ||
	    !map64_put(&b->locks, (uintptr_t)name, (uint32_t)p->nlocks))
		return NULL;
	p->locks[p->nlocks] = (struct prof_lock){.name = name, .addr = addr};
	return &p->locks[p->nlocks++];
}

/* The stack of a LOCK or LOCK_INIT record as locations: *locs malloc'd. */
static int record_stack(struct builder *b, struct dump_ctx *c, const uint64_t *pcs, uint32_t n,
                        uint32_t epoch, uint64_t lock, struct locknames_stack *s)
{
	uint32_t *locs = malloc((n ? n : 1) * sizeof(*locs));
	*s = (struct locknames_stack){.locs = locs, .nlocs = n, .lock = lock};
	for (uint32_t i = 0; locs && i < n; i++) {
		int64_t l = add_location(b, c, dump_frame_module(c->d, pcs[i], epoch), pcs[i]);
		if (l < 0)
			return -1;
		locs[i] = (uint32_t)l;
	}
	return locs ? 0 : -1;
}

/* The stacks that call a lock or init function: the dump's wait samples
 * (from `first` on), then its LOCK records' first stacks, then its
 * LOCK_INIT records' (locknames.h), into *out (malloc'd; *nrec of them are
 * the records', whose locs are malloc'd too). */
static int naming_stacks(struct builder *b, struct dump_ctx *c, size_t first,
                         struct locknames_stack **out, size_t *n, size_t *nrec)
{
	const struct dump *d = c->d;
	const struct profile *p = b->p;
	struct locknames_stack *s =
	    calloc(p->nsamples - first + d->nlocks + d->ninits + 1, sizeof(*s));
	*out = s;
	*n = *nrec = 0;
	if (!s)
		return -1;
	for (size_t i = first; i < p->nsamples; i++) {
		const struct prof_sample *ps = &p->samples[i];
		if (ps->view == LC_VIEW_WAIT && ps->kind != PROF_KIND_NONE)
			s[(*n)++] = (struct locknames_stack){ps->locs, ps->nlocs, ps->lock_addr};
	}
	for (size_t i = 0; i < d->nlocks + d->ninits; i++) {
		const struct dump_lock *l = i < d->nlocks ? &d->locks[i] : NULL;
		const struct dump_lock_init *in = l ? NULL : &d->inits[i - d->nlocks];
		int rc = l ? record_stack(b, c, l->pcs, l->nframes, l->epoch, l->addr, &s[*n])
		           : record_stack(b, c, in->pcs, in->nframes, in->epoch, in->addr, &s[*n]);
		(*n)++;
		(*nrec)++;
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The last stack in s[from, to) of the lock at addr with frames, or NULL. */
static const struct locknames_stack *stack_of(const struct locknames_stack *s, size_t from,
                                              size_t to, uint64_t addr)
{
	for (size_t i = to; i-- > from;)
		if (s[i].lock == addr && s[i].nlocs)
			return &s[i];
	return NULL;
}

/* Name every address with a kept kind and enter it in the lock table. */
static int name_addrs(struct builder *b, struct dump_ctx *c, const bool *wrapper,
                      const struct locknames_stack *s, size_t records_at, size_t n)
{
	char name[1024];
	size_t inits_at = records_at + c->d->nlocks;
	for (size_t i = 0; i < c->nla; i++) {
		struct lockaddr *a = &c->la[i];
		if (!(a->kinds & b->p->kinds))
			continue;
		const struct locknames_stack *first = stack_of(s, records_at, inits_at, a->addr);
		if (!(a->kinds & FUTEX_KINDS) || !first ||
		    !futexcond_word_name(&b->fc, b->p, first->locs, first->nlocs, name,
		                         sizeof(name)))
			locknames_name(c->r, b->p, wrapper, a->addr, a->kinds,
			               stack_of(s, inits_at, n, a->addr), first, name,
			               sizeof(name));
		struct prof_lock *l =
		    (a->name = intern(b, name)) ? lock_entry(b, a->name, a->addr) : NULL;
		if (!l)
			return -1;
		l->kinds |= a->kinds & b->p->kinds;
		if (a->rec) {
			l->trylock_failures += a->rec->trylock_failures;
			l->timeouts += a->rec->timeouts;
			l->uncharged_ns += a->rec->uncharged_ns;
			l->no_cell_count += a->rec->no_cell_count;
			l->no_cell_ns += a->rec->no_cell_ns;
			for (int v = 0; v < LC_NVIEWS; v++)
				for (int r = 0; r < LC_LOST_NREASONS; r++) {
					l->lost[v][r].count += a->rec->lost[v][r].count;
					l->lost[v][r].delay_ns += a->rec->lost[v][r].delay_ns;
				}
		}
	}
	return 0;
}

/* The dump's samples (from `first` on) get their lock's name. */
static void name_samples(struct builder *b, struct dump_ctx *c, size_t first)
{
	for (size_t i = first; i < b->p->nsamples; i++) {
		struct prof_sample *s = &b->p->samples[i];
		uint32_t idx;
		/* collect_lock_addrs entered every bucket's lock */
		if (s->kind != PROF_KIND_NONE && map64_get(&c->addrs, s->lock_addr, &idx))
			s->lock = c->la[idx].name;
	}
}

/* Find the dump's lock wrappers, name its locks, then its samples' locks. */
static int name_locks(struct builder *b, struct dump_ctx *c, size_t first)
{
	struct locknames_stack *s = NULL;
	size_t n = 0, nrec = 0;
	bool *wrapper = NULL;
	int rc = naming_stacks(b, c, first, &s, &n, &nrec);
	if (rc == 0 && !(wrapper = calloc(b->p->nfunctions + 1, sizeof(*wrapper))))
		rc = -1;
	if (rc == 0)
		rc = locknames_find_wrappers(b->p, s, n, wrapper);
	if (rc == 0)
		rc = name_addrs(b, c, wrapper, s, n - nrec, n);
	if (rc == 0)
		name_samples(b, c, first);
	for (size_t i = 0; rc == 0 && i < b->p->nfunctions; i++)
		b->p->functions[i].wrapper |= wrapper[i];
	for (size_t i = n - nrec; s && i < n; i++)
		free((void *)s[i].locs);
	free(s);
	free(wrapper);
	return rc;
}

/* The dump's threads as it was read, each with the lock it waited for
 * (after the locks are named). */
static int add_threads(struct builder *b, struct dump_ctx *c, uint32_t dump)
{
	struct profile *p = b->p;
	for (size_t i = 0; i < c->d->nwaiting; i++) {
		const struct dump_waiting *w = &c->d->waiting[i];
		bool waits = w->lock && (p->kinds & 1u << c->wkind[i]);
		uint32_t idx;
		p->threads_torn += w->torn;
		if (w->torn || !w->tid)
			continue;
		if (!grow((void **)&p->threads, &b->cap_threads, p->nthreads, sizeof(*p->threads)))
			return -1;
		struct prof_thread *t = &p->threads[p->nthreads];
		*t = (struct prof_thread){.dump = dump, .tid = w->tid, .name = intern(b, w->name)};
		p->nthreads++;
		if (!t->name)
			return -1;
		if (!waits)
			continue;
		t->lock_addr = w->lock;
		t->kind = c->wkind[i];
		t->since_ns = w->since_ns;
		t->owner_tid = w->owner_tid;
		if (!map64_get(&c->addrs, w->lock, &idx) || !(t->lock = c->la[idx].name))
			return -1;
		struct locknames_stack st;
		int rc = record_stack(b, c, w->pcs, w->nframes, w->epoch, w->lock, &st);
		t->locs = (uint32_t *)st.locs;
		t->nlocs = w->nframes;
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The dump's named lock addresses, by address, for profile_lock_name. */
static int cmp_addr_name(const void *a, const void *b)
{
	uint64_t x = ((const struct prof_addr_name *)a)->addr;
	uint64_t y = ((const struct prof_addr_name *)b)->addr;
	return x < y ? -1 : x > y;
}

static int keep_names(struct builder *b, const struct dump_ctx *c)
{
	struct prof_dump_names *dn = &b->p->dump_names[b->dump];
	if (!(dn->v = calloc(c->nla ? c->nla : 1, sizeof(*dn->v))))
		return -1;
	for (size_t i = 0; i < c->nla; i++)
		if (c->la[i].name)
			dn->v[dn->n++] = (struct prof_addr_name){c->la[i].addr, c->la[i].name};
	qsort(dn->v, dn->n, sizeof(*dn->v), cmp_addr_name);
	return 0;
}

const char *profile_lock_name(const struct profile *p, size_t dump, uint64_t addr)
{
	if (dump >= p->ndumps)
		return NULL;
	const struct prof_dump_names *dn = &p->dump_names[dump];
	struct prof_addr_name key = {.addr = addr};
	const struct prof_addr_name *f = bsearch(&key, dn->v, dn->n, sizeof(*dn->v), cmp_addr_name);
	return f ? f->name : NULL;
}

/* ---- a dump ---------------------------------------------------------------- */

static int add_mappings(struct builder *b, struct dump_ctx *c)
{
	const struct dump *d = c->d;
	for (size_t i = 0; i < d->nmodules; i++) {
		c->mod_mapping[i] =
		    add_mapping(b, &d->modules[i], resolver_module_found(c->r, &d->modules[i]));
		if (c->mod_mapping[i] < -1)
			return -1;
	}
	return 0;
}

static int add_samples(struct builder *b, struct dump_ctx *c)
{
	const struct dump *d = c->d;
	for (size_t i = 0; i < d->nbuckets; i++) {
		const struct dump_bucket *bk = &d->buckets[i];
		if (!(b->p->kinds & 1u << c->bkind[i])) {
			if (c->bkind[i] == NAMES_KIND_FUTEX_COND && bk->view == LC_VIEW_WAIT)
				b->p->futexcond_out += bk->count;
			if (c->bkind[i] == LC_KIND_COND && bk->view == LC_VIEW_WAIT)
				b->p->cond_left_out += bk->count;
			continue;
		}
		if (add_bucket(b, c, bk) != 0)
			return -1;
	}
	/* The sentinels have no kind: a kind filter leaves them out.  Cut to
	 * a window, each view has one, to hold what the window has under no
	 * bucket (profile_window.c). */
	for (int v = 0; v < LC_NVIEWS && viewkind_all_locks(b->p->kinds); v++) {
		uint64_t lc, ld;
		dump_lost_sum(d, (enum lc_view)v, &lc, &ld);
		if ((lc || ld || b->window) &&
		    add_pseudo(b, SENTINEL_KEY, LC_SENTINEL_NAME, (enum lc_view)v, lc, ld) != 0)
			return -1;
	}
	return 0;
}

/* a - b, or 0 (a total less what is left out of it) */
static uint64_t sub_floor(uint64_t a, uint64_t b)
{
	return b < a ? a - b : 0;
}

/* What this dump adds to _NotChargedToHolder: all of it (less the
 * condition waits' — cond and futex-cond — when they are left out, as by
 * default), or with a
 * kind filter what the LOCK records of kept locks say; and the same of
 * its part that found no waiter cell (p->no_cell_*). */
static void add_uncharged(struct builder *b, const struct dump_ctx *c)
{
	const struct dump *d = c->d;
	struct profile *p = b->p;
	p->no_cell_unknown |= (d->meta.flags & LC_META_HOLDER) && !d->have_no_cell;
	if (viewkind_all_locks(p->kinds)) {
		uint64_t left_out = 0, nc_count = 0, nc_ns = 0;
		for (size_t i = 0; i < d->nlocks; i++) {
			uint32_t k = lock_kind(c, &d->locks[i]);
			if ((k == NAMES_KIND_FUTEX_COND || k == LC_KIND_COND) &&
			    !(p->kinds & 1u << k)) {
				left_out += d->locks[i].uncharged_ns;
				nc_count += d->locks[i].no_cell_count;
				nc_ns += d->locks[i].no_cell_ns;
			}
		}
		b->uncharged_ns += sub_floor(d->totals.uncharged_ns, left_out);
		p->no_cell_count += sub_floor(d->no_cell_count, nc_count);
		p->no_cell_ns += sub_floor(d->no_cell_ns, nc_ns);
		return;
	}
	for (size_t i = 0; i < c->nla; i++)
		if (c->la[i].name && c->la[i].rec) {
			b->uncharged_ns += c->la[i].rec->uncharged_ns;
			p->no_cell_count += c->la[i].rec->no_cell_count;
			p->no_cell_ns += c->la[i].rec->no_cell_ns;
		}
}

static int add_dump(struct builder *b, const struct dump *d, uint32_t index,
                    const struct resolve_opts *o, FILE *warn)
{
	struct dump_ctx c = {.d = d, .r = resolver_open(d, o, warn)};
	c.mod_mapping = calloc(d->nmodules ? d->nmodules : 1, sizeof(*c.mod_mapping));
	int rc = c.r && c.mod_mapping ? 0 : -1;
	if (rc == 0)
		rc = add_mappings(b, &c);
	size_t first = b->p->nsamples;
	if (rc == 0)
		rc = classify_futex(b, &c);
	if (rc == 0)
		rc = collect_lock_addrs(&c);
	if (rc == 0)
		rc = add_samples(b, &c);
	if (rc == 0)
		rc = name_locks(b, &c, first);
	if (rc == 0)
		rc = add_threads(b, &c, index);
	if (rc == 0)
		rc = keep_names(b, &c);
	if (rc == 0)
		add_uncharged(b, &c);
	b->p->holder_recorded |= (d->meta.flags & LC_META_HOLDER) != 0;
	free(c.mod_mapping);
	free(c.la);
	free(c.bkind);
	free(c.wkind);
	map64_free(&c.addrs);
	map64_free(&c.words);
	resolver_close(c.r);
	return rc;
}

int profile_build(struct profile *p, const struct dump *dumps, size_t ndumps,
                  const struct resolve_opts *o, uint32_t kinds, FILE *warn)
{
	return profile_build_window(p, dumps, ndumps, o, kinds, NULL, warn);
}

int profile_build_window(struct profile *p, const struct dump *dumps, size_t ndumps,
                         const struct resolve_opts *o, uint32_t kinds, const struct prof_window *w,
                         FILE *warn)
{
	struct builder b = {.p = p, .window = w != NULL};
	memset(p, 0, sizeof(*p));
	p->period = 1;
	p->kinds = kinds & VIEWKIND_ALL_KINDS;
	p->ndumps = ndumps;
	uint64_t start = UINT64_MAX, end = 0;
	int rc = (p->dump_names = calloc(ndumps ? ndumps : 1, sizeof(*p->dump_names))) ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < ndumps; i++) {
		b.dump = i;
		rc = add_dump(&b, &dumps[i], (uint32_t)i, o, warn);
		if (dumps[i].meta.start_realtime_ns < start)
			start = dumps[i].meta.start_realtime_ns;
		if (dumps[i].meta.end_realtime_ns > end)
			end = dumps[i].meta.end_realtime_ns;
	}
	/* Never dropped, even at zero: the holder view says what it lacks.
	 * But a window has no uncharged waiting to show (no series holds it). */
	b.dump = SIZE_MAX;
	if (rc == 0 && !w)
		rc = add_pseudo(&b, UNCHARGED_KEY, PROF_UNCHARGED_NAME, LC_VIEW_HOLDER, 0,
		                b.uncharged_ns);
	p->time_nanos = ndumps ? start : 0;
	p->duration_nanos = end > start ? end - start : 0;
	if (rc == 0 && w)
		rc = profile_window_apply(p, dumps, w);
	/* The interned strings now belong to the profile (profile_free). */
	p->strings = b.strs.slot;
	p->nstrings_cap = b.strs.cap;
	map64_free(&b.funcs);
	map64_free(&b.locs);
	map64_free(&b.locks);
	futexcond_cache_free(&b.fc);
	if (rc != 0)
		profile_free(p);
	return rc;
}

void profile_free(struct profile *p)
{
	for (size_t i = 0; i < p->nlocations; i++)
		free(p->locations[i].lines);
	for (size_t i = 0; i < p->nsamples; i++)
		free(p->samples[i].locs);
	for (size_t i = 0; i < p->nthreads; i++)
		free(p->threads[i].locs);
	free(p->threads);
	for (size_t i = 0; i < p->nstrings_cap; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->mappings);
	free(p->functions);
	free(p->locations);
	free(p->samples);
	free(p->locks);
	for (size_t i = 0; p->dump_names && i < p->ndumps; i++)
		free(p->dump_names[i].v);
	free(p->dump_names);
	free(p->window_dumps);
	memset(p, 0, sizeof(*p));
}

void profile_location_label(const struct profile *p, const struct prof_location *l, char *buf,
                            size_t cap)
{
	if (l->mapping < 0) {
		snprintf(buf, cap, "%#" PRIx64, dump_frame_addr(l->address));
		return;
	}
	const struct prof_mapping *m = &p->mappings[l->mapping];
	const char *base = strrchr(m->file, '/');
	snprintf(buf, cap, "%s+%#" PRIx64, base ? base + 1 : m->file,
	         dump_frame_addr(l->address) - m->load_bias);
}
