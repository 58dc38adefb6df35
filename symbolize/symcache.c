/*
 * symcache.c — the resolver's answers kept across resolvers (symcache.h).
 *
 * Modules are few (tens, a few hundred for a large program): a list,
 * searched by identity.  Each module has two open-addressing tables, pc ->
 * its frames (a run of one growing array) and lock address -> data symbol;
 * every string is interned once in the cache, so a cached frame is a few
 * pointers and an answer copied out stays valid while the cache lives.
 */
#include "symcache.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "map64.h"
#include "resolve.h"
#include "strset.h"

struct pc_run {
	uint32_t first; /* into frames */
	int32_t n;
};

struct data_answer {
	int rc;
	const char *name;
};

struct cmod {
	struct symcache_module pub; /* first: a symcache_module is a cmod */
	struct dump_module id;      /* path and segments owned */
	struct map64 pcs, data;
	struct pc_run *runs;
	size_t nruns, cap_runs;
	struct resolve_frame *frames;
	size_t nframes, cap_frames;
	struct data_answer *answers;
	size_t nanswers, cap_answers;
};

struct symcache {
	struct cmod **mods;
	size_t nmods, cap_mods;
	struct strset strs; /* interned */
};

static const char *intern(struct symcache *c, const char *s)
{
	return strset_intern(&c->strs, s);
}

/* ---- modules ------------------------------------------------------------------ */

struct symcache *symcache_new(void)
{
	return calloc(1, sizeof(struct symcache));
}

static void cmod_free(struct cmod *m)
{
	free(m->id.path);
	free(m->id.segments);
	map64_free(&m->pcs);
	map64_free(&m->data);
	free(m->runs);
	free(m->frames);
	free(m->answers);
	free(m);
}

void symcache_free(struct symcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nmods; i++)
		cmod_free(c->mods[i]);
	strset_free(&c->strs);
	free(c->mods);
	free(c);
}

/* The same object at the same place: what resolve.c reads once. */
static bool same_module(const struct dump_module *a, const struct dump_module *b)
{
	return a->load_bias == b->load_bias && a->nsegments == b->nsegments &&
	       a->build_id_len == b->build_id_len &&
	       memcmp(a->build_id, b->build_id, a->build_id_len) == 0 &&
	       strcmp(a->path, b->path) == 0 &&
	       memcmp(a->segments, b->segments, a->nsegments * sizeof(*a->segments)) == 0;
}

static struct cmod *cmod_new(const struct dump_module *m)
{
	struct cmod *cm = calloc(1, sizeof(*cm));
	if (!cm)
		return NULL;
	cm->pub.found = -1;
	cm->id = *m;
	cm->id.path = strdup(m->path);
	cm->id.segments = malloc((m->nsegments ? m->nsegments : 1) * sizeof(*m->segments));
	if (!cm->id.path || !cm->id.segments) {
		cmod_free(cm);
		return NULL;
	}
	memcpy(cm->id.segments, m->segments, m->nsegments * sizeof(*m->segments));
	return cm;
}

struct symcache_module *symcache_module(struct symcache *c, const struct dump_module *m)
{
	for (size_t i = c->nmods; i-- > 0;)
		if (same_module(&c->mods[i]->id, m))
			return &c->mods[i]->pub;
	struct cmod *cm = NULL;
	if (!grow_to((void **)&c->mods, &c->cap_mods, c->nmods + 1, sizeof(*c->mods)) ||
	    !(cm = cmod_new(m)))
		return NULL;
	c->mods[c->nmods++] = cm;
	return &cm->pub;
}

/* ---- answers ------------------------------------------------------------------ */

int symcache_frames(const struct symcache_module *m, uint64_t pc,
                    const struct resolve_frame **frames)
{
	const struct cmod *cm = (const struct cmod *)m;
	uint32_t i;
	if (!map64_get(&cm->pcs, pc, &i))
		return -1;
	*frames = cm->frames + cm->runs[i].first;
	return cm->runs[i].n;
}

int symcache_put_frames(struct symcache *c, struct symcache_module *m, uint64_t pc,
                        const struct resolve_frame *frames, int n)
{
	struct cmod *cm = (struct cmod *)m;
	uint32_t i;
	if (map64_get(&cm->pcs, pc, &i))
		return 0;
	if (!grow_to((void **)&cm->frames, &cm->cap_frames, cm->nframes + (size_t)n,
	             sizeof(*cm->frames)) ||
	    !grow_to((void **)&cm->runs, &cm->cap_runs, cm->nruns + 1, sizeof(*cm->runs)))
		return -1;
	struct resolve_frame *f = cm->frames + cm->nframes;
	for (int k = 0; k < n; k++) {
		f[k] = (struct resolve_frame){intern(c, frames[k].function),
		                              intern(c, frames[k].system_name),
		                              intern(c, frames[k].file), frames[k].line};
		if (!f[k].function || !f[k].system_name || !f[k].file)
			return -1;
	}
	if (!map64_put(&cm->pcs, pc, (uint32_t)cm->nruns))
		return -1;
	cm->runs[cm->nruns++] = (struct pc_run){(uint32_t)cm->nframes, n};
	cm->nframes += (size_t)n;
	return 0;
}

bool symcache_data(const struct symcache_module *m, uint64_t addr, int *rc, const char **name)
{
	const struct cmod *cm = (const struct cmod *)m;
	uint32_t i;
	if (!map64_get(&cm->data, addr, &i))
		return false;
	*rc = cm->answers[i].rc;
	*name = cm->answers[i].name;
	return true;
}

int symcache_put_data(struct symcache *c, struct symcache_module *m, uint64_t addr, int rc,
                      const char *name)
{
	struct cmod *cm = (struct cmod *)m;
	uint32_t i;
	if (map64_get(&cm->data, addr, &i))
		return 0;
	const char *s = intern(c, name);
	if (!s ||
	    !grow_to((void **)&cm->answers, &cm->cap_answers, cm->nanswers + 1,
	             sizeof(*cm->answers)) ||
	    !map64_put(&cm->data, addr, (uint32_t)cm->nanswers))
		return -1;
	cm->answers[cm->nanswers++] = (struct data_answer){rc, s};
	return 0;
}
