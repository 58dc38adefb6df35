/*
 * locknames.c — name a lock by its address (see locknames.h).
 *
 * A global is named by the ELF symbol that holds it (resolve.c); anything
 * else has only its address, which means little to a reader, so a
 * function of the program goes beside it: the one that made it, else the
 * one that first waited on it.  That function must be the program's own
 * and not a wrapper: the innermost frame is often a lock wrapper inlined
 * into the caller (std::mutex::lock, __gthread_mutex_lock), a C library
 * routine that locks on the caller's behalf, or a one-line wrapper of the
 * program's (RocksDB's port::Mutex::Lock), and naming those would give
 * every heap lock of a program the same name.  The program's wrappers
 * have no telling name: they are found from the stacks (find_round).
 */
#include "locknames.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"

#define LOCKNAMES_FRAMES 64 /* frames of a stack looked at */
#define LOCKNAMES_ROUNDS 4  /* wrappers of wrappers, at most this deep */

/* Libraries whose frames are lock plumbing, not the program's code. */
bool locknames_is_runtime_library(const char *path)
{
	static const char *const prefixes[] = {"libc.so", "libc-", "libpthread", "libstdc++"};
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* Lock wrappers by name; the mangled std:: prefixes catch --no-demangle. */
bool locknames_is_wrapper(const char *function, const char *system_name)
{
	static const char *const names[] = {"std::", "__gthread", "__glibcxx_", "pthread_", "mtx_"};
	static const char *const mangled[] = {"_ZSt", "_ZNSt", "_ZNKSt"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(function, names[i], strlen(names[i])) == 0)
			return true;
	for (size_t i = 0; i < sizeof(mangled) / sizeof(mangled[0]); i++)
		if (strncmp(system_name, mangled[i], strlen(mangled[i])) == 0)
			return true;
	return false;
}

bool locknames_is_plumbing(const struct profile *p, const struct prof_location *l, uint32_t k)
{
	if (l->mapping >= 0 && locknames_is_runtime_library(p->mappings[l->mapping].file))
		return true;
	if (!l->nlines)
		return false;
	const struct prof_function *fn = &p->functions[l->lines[k].function];
	return locknames_is_wrapper(fn->name, fn->system_name);
}

/* ---- a stack's frames ------------------------------------------------------ */

/* One frame: line k of a location (k = 0 if it has no lines). */
struct frame {
	const struct prof_location *l;
	uint32_t k;
};

/* The stack's frames, inline ones each a frame, innermost first. */
static size_t stack_frames(const struct profile *p, const struct locknames_stack *s,
                           struct frame *out)
{
	size_t n = 0;
	for (uint32_t i = 0; i < s->nlocs && n < LOCKNAMES_FRAMES; i++) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		for (uint32_t k = 0; k < (l->nlines ? l->nlines : 1) && n < LOCKNAMES_FRAMES; k++)
			out[n++] = (struct frame){l, k};
	}
	return n;
}

static bool frame_wrapper(const struct frame *f, const bool *wrapper)
{
	return wrapper && f->l->nlines && wrapper[f->l->lines[f->k].function];
}

/* locknames_is_plumbing of every function and mapping of a profile, worked
 * out once: the wrapper search asks it of the first frames of every stack
 * in every round, and its answer is a dozen string compares (a refresh of
 * lockcontend-top spent half its time there). */
struct plumbing {
	bool *fn;  /* per function: a lock wrapper of the runtime by name */
	bool *map; /* per mapping: libc, libpthread, libstdc++ */
};

static int plumbing_build(const struct profile *p, struct plumbing *pl)
{
	pl->fn = calloc(p->nfunctions + 1, sizeof(bool));
	pl->map = calloc(p->nmappings + 1, sizeof(bool));
	if (!pl->fn || !pl->map)
		return -1;
	for (size_t i = 0; i < p->nfunctions; i++)
		pl->fn[i] = locknames_is_wrapper(p->functions[i].name, p->functions[i].system_name);
	for (size_t i = 0; i < p->nmappings; i++)
		pl->map[i] = locknames_is_runtime_library(p->mappings[i].file);
	return 0;
}

static void plumbing_free(struct plumbing *pl)
{
	free(pl->fn);
	free(pl->map);
}

/* locknames_is_plumbing of frame f, as pl has it. */
static bool frame_plumbing(const struct plumbing *pl, const struct frame *f)
{
	if (f->l->mapping >= 0 && pl->map[f->l->mapping])
		return true;
	return f->l->nlines && pl->fn[f->l->lines[f->k].function];
}

/* A stack's frames one at a time, as stack_frames lists them (and no more
 * of them): the wrapper search needs only the first few of each stack. */
struct frame_iter {
	const struct locknames_stack *s;
	uint32_t i, k; /* the next frame: line k of location i */
	size_t seen;
};

static bool frame_next(const struct profile *p, struct frame_iter *it, struct frame *f)
{
	while (it->i < it->s->nlocs && it->seen < LOCKNAMES_FRAMES) {
		const struct prof_location *l = &p->locations[it->s->locs[it->i]];
		if (it->k < (l->nlines ? l->nlines : 1)) {
			*f = (struct frame){l, it->k++};
			it->seen++;
			return true;
		}
		it->i++;
		it->k = 0;
	}
	return false;
}

/* The first frame that is neither plumbing nor (wrapper: non-NULL) a
 * wrapper, or n. */
static size_t first_own(const struct profile *p, const struct frame *f, size_t n,
                        const bool *wrapper)
{
	size_t i = 0;
	while (i < n && (locknames_is_plumbing(p, f[i].l, f[i].k) || frame_wrapper(&f[i], wrapper)))
		i++;
	return i;
}

/* A frame's function, the same pointer for every entry of one name
 * (interned); a frame without lines stands for itself. */
static const void *frame_function(const struct profile *p, const struct frame *f)
{
	return f->l->nlines ? (const void *)p->functions[f->l->lines[f->k].function].name
	                    : (const void *)f->l;
}

/* ---- wrappers ------------------------------------------------------------------ */

/* A call of a lock or init function: the program's first frame, the
 * function that called it, the lock. */
struct call {
	const void *fn, *caller;
	uint64_t lock;
};

/* A function's calls in a round, grouped in a hash table by fn: its first
 * call's lock and caller, and whether a later call had another. */
struct fn_calls {
	const void *fn; /* NULL: an empty slot */
	const void *caller;
	uint64_t lock;
	bool locks, callers;
};

/* The calls of this round: each stack's first own frame, wrappers found
 * so far passed over.  Frames without a symbol are no candidates. */
static size_t collect_calls(const struct profile *p, const struct plumbing *pl,
                            const struct locknames_stack *s, size_t n, const bool *wrapper,
                            struct call *calls)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		struct frame_iter it = {.s = &s[i]};
		struct frame f, next;
		bool found;
		while ((found = frame_next(p, &it, &f)) &&
		       (frame_plumbing(pl, &f) || frame_wrapper(&f, wrapper)))
			;
		if (!found || !f.l->nlines)
			continue;
		calls[m++] = (struct call){
		    frame_function(p, &f),
		    frame_next(p, &it, &next) ? frame_function(p, &next) : NULL, s[i].lock};
	}
	return m;
}

/* Mark every entry of function name fn a wrapper; how many were not yet. */
static size_t mark_wrapper(const struct profile *p, const void *fn, bool *wrapper)
{
	size_t added = 0;
	for (size_t f = 0; f < p->nfunctions; f++) {
		if (p->functions[f].name == fn && !wrapper[f]) {
			wrapper[f] = true;
			added++;
		}
	}
	return added;
}

/* One round: mark every function (every entry of its name) whose calls
 * reach two locks from two callers.  Two distinct values among a
 * function's calls is one that differs from its first call's, so each
 * function needs only its first call and two flags: tab, `cap` slots (a
 * power of two above the number of calls), groups them.  Returns how many
 * entries it marked. */
static size_t find_round(const struct profile *p, const struct call *c, size_t n,
                         struct fn_calls *tab, size_t cap, bool *wrapper)
{
	size_t added = 0;
	memset(tab, 0, cap * sizeof(*tab));
	for (size_t i = 0; i < n; i++) {
		uint64_t h = (uint64_t)(uintptr_t)c[i].fn * 0x9e3779b97f4a7c15ull;
		size_t j = (size_t)(h >> 32) & (cap - 1);
		while (tab[j].fn && tab[j].fn != c[i].fn)
			j = (j + 1) & (cap - 1);
		if (!tab[j].fn) {
			tab[j] = (struct fn_calls){c[i].fn, c[i].caller, c[i].lock, false, false};
			continue;
		}
		tab[j].locks |= c[i].lock != tab[j].lock;
		tab[j].callers |= c[i].caller != tab[j].caller;
	}
	for (size_t j = 0; j < cap; j++)
		if (tab[j].fn && tab[j].locks && tab[j].callers)
			added += mark_wrapper(p, tab[j].fn, wrapper);
	return added;
}

int locknames_find_wrappers(const struct profile *p, const struct locknames_stack *stacks, size_t n,
                            bool *wrapper)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	struct call *calls = malloc((n ? n : 1) * sizeof(*calls));
	struct fn_calls *tab = malloc(cap * sizeof(*tab));
	struct plumbing pl;
	int rc = plumbing_build(p, &pl) == 0 && calls && tab ? 0 : -1;
	for (int round = 0; rc == 0 && round < LOCKNAMES_ROUNDS; round++) {
		size_t m = collect_calls(p, &pl, stacks, n, wrapper, calls);
		if (!find_round(p, calls, m, tab, cap, wrapper))
			break;
	}
	plumbing_free(&pl);
	free(calls);
	free(tab);
	return rc;
}

/* ---- names ------------------------------------------------------------------------ */

static void frame_name(const struct profile *p, const struct frame *f, char *buf, size_t cap)
{
	if (f->l->nlines)
		snprintf(buf, cap, "%s", p->functions[f->l->lines[f->k].function].name);
	else
		profile_location_label(p, f->l, buf, cap);
}

/* The frame that names a lock after stack s (locknames.h); false if s has
 * none. */
static bool naming_frame(const struct profile *p, const bool *wrapper,
                         const struct locknames_stack *s, char *buf, size_t cap)
{
	struct frame f[LOCKNAMES_FRAMES];
	size_t n = s ? stack_frames(p, s, f) : 0, i;
	if (!n)
		return false;
	if ((i = first_own(p, f, n, wrapper)) == n && (i = first_own(p, f, n, NULL)) == n)
		i = 0;
	frame_name(p, &f[i], buf, cap);
	return true;
}

/* ---- runtimes' locks -------------------------------------------------------------- */

/* A runtime that builds its lock out of a condition variable (or a futex)
 * has it waited for in one function of its own, whatever the lock's
 * address: a lock used as one of `kinds` whose first waiting stack has a
 * frame of `function` (or of a compiler's clone of it, "take_gil.lto_priv.0",
 * "take_gil.cold") is called `name`, in every output.  One row per
 * runtime; docs/names.md lists them. */
static const struct runtime_rule {
	uint32_t kinds; /* bit per enum lc_kind */
	const char *function;
	const char *name;
} runtime_rules[] = {
    {1u << LC_KIND_COND, "take_gil", "the GIL (CPython)"}, /* Python/ceval_gil.c */
};

/* Is name function, or a clone of it (a suffix after a dot)? */
static bool function_is(const char *name, const char *function)
{
	size_t n = strlen(function);
	return strncmp(name, function, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/* The rule's name for a lock used as `kinds` first waited for in s, or
 * NULL. */
static const char *runtime_name(const struct profile *p, uint32_t kinds,
                                const struct locknames_stack *s)
{
	struct frame f[LOCKNAMES_FRAMES];
	size_t n = s ? stack_frames(p, s, f) : 0;
	for (size_t r = 0; r < sizeof(runtime_rules) / sizeof(runtime_rules[0]); r++) {
		if (!(kinds & runtime_rules[r].kinds))
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!f[i].l->nlines)
				continue;
			const struct prof_function *fn =
			    &p->functions[f[i].l->lines[f[i].k].function];
			if (function_is(fn->name, runtime_rules[r].function) ||
			    function_is(fn->system_name, runtime_rules[r].function))
				return runtime_rules[r].name;
		}
	}
	return NULL;
}

void locknames_name(struct resolver *r, const struct profile *p, const bool *wrapper, uint64_t addr,
                    uint32_t kinds, const struct locknames_stack *init,
                    const struct locknames_stack *first, char *buf, size_t cap)
{
	char fn[1024];
	const char *runtime = runtime_name(p, kinds, first);
	if (runtime) {
		snprintf(buf, cap, "%s", runtime);
		return;
	}
	if (r && resolver_data_symbol(r, addr, buf, cap) >= 0)
		return;
	if (naming_frame(p, wrapper, init, fn, sizeof(fn)))
		snprintf(buf, cap, "0x%" PRIx64 " (made in %s)", addr, fn);
	else if (naming_frame(p, wrapper, first, fn, sizeof(fn)))
		snprintf(buf, cap, "0x%" PRIx64 " (first contended in %s)", addr, fn);
	else
		snprintf(buf, cap, "0x%" PRIx64, addr);
}
