/*
 * diff.c — match two runs' profiles lock by lock and stack by stack (see
 * diff.h for what "the same" means and why).
 *
 * Both runs' samples become items (match key, run, sample), sorted by key,
 * so that the items of one stack lie together: each run from then adds its
 * values to the stack's column of its own.  Locks are matched the same way
 * from each run's lock table rows (report_lock_rows), so a lock's figures
 * here are the text report's, stacks and lost events alike.  A stack or a
 * lock one run has and the other does not simply has zeros in that run's
 * column: "new" and "vanished" are read from the zeros by the writers.
 *
 * Everything is allocated here and freed by diff_free; the representative
 * sample of each stack points into the profiles, which outlive the diff.
 */
#include "diff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "report.h"

/* ---- match keys ------------------------------------------------------------ */

char *diff_lock_key(const char *name)
{
	const char *s = name;
	if (s[0] == '0' && s[1] == 'x') {
		const char *p = s + 2;
		while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
			p++;
		if (p > s + 2 && (strncmp(p, " (made in ", 10) == 0 ||
		                  strncmp(p, " (first contended in ", 21) == 0))
			s = p + 1;
	}
	return strdup(s);
}

/* One frame: line k of location l (its label if it has no lines). */
static void key_frame(FILE *f, const struct profile *p, const struct prof_location *l, uint32_t k,
                      enum diff_match m)
{
	char label[512];
	if (!l->nlines) {
		profile_location_label(p, l, label, sizeof(label));
		fprintf(f, "\x1e%s", label);
		return;
	}
	const struct prof_function *fn = &p->functions[l->lines[k].function];
	fprintf(f, "\x1e%s", fn->name);
	if (m == DIFF_MATCH_LINE)
		fprintf(f, "@%s:%" PRId64, fn->file, l->lines[k].line);
}

char *diff_stack_key(const struct profile *p, const struct prof_sample *s, enum diff_match m)
{
	char *buf = NULL, *lock = s->lock ? diff_lock_key(s->lock) : NULL;
	size_t len = 0;
	FILE *f = (!s->lock || lock) ? open_memstream(&buf, &len) : NULL;
	if (!f) {
		free(lock);
		return NULL;
	}
	fprintf(f, "%d\x1f%s\x1f", s->view, lock ? lock : "");
	for (uint32_t i = s->nlocs; i-- > 0;) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		for (uint32_t k = l->nlines ? l->nlines : 1; k-- > 0;)
			key_frame(f, p, l, k, m);
	}
	fclose(f);
	free(lock);
	return buf;
}

double diff_pct(int64_t base, int64_t newv)
{
	return base ? 100.0 * ((double)newv - (double)base) / (double)base : 0;
}

/* ---- stacks ------------------------------------------------------------------ */

struct item {
	char *key;
	int side;
	const struct profile *p;
	const struct prof_sample *s;
};

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->key, ((const struct item *)b)->key);
}

/* Every sample of both runs with something in it (and the uncharged
 * pseudo-sample even at 0) as an item; the number made, or -1. */
static ssize_t collect_items(struct item *items, const struct profile *const sides[DIFF_NSIDES],
                             enum diff_match m)
{
	size_t n = 0;
	for (int side = 0; side < DIFF_NSIDES; side++) {
		const struct profile *p = sides[side];
		for (size_t i = 0; i < p->nsamples; i++) {
			const struct prof_sample *s = &p->samples[i];
			if (s->value[PROF_DELAY] <= 0 && s->value[PROF_CONTENTIONS] <= 0 &&
			    !report_is_uncharged(p, s))
				continue;
			if (!(items[n].key = diff_stack_key(p, s, m)))
				return -1;
			items[n].side = side;
			items[n].p = p;
			items[n++].s = s;
		}
	}
	return (ssize_t)n;
}

/* The stack of items [from, to) (one key): each run's sums. */
static void merge_stack(struct diff_stack *ds, struct item *items, size_t from, size_t to)
{
	memset(ds, 0, sizeof(*ds));
	ds->key = items[from].key;
	items[from].key = NULL; /* the stack's now */
	for (size_t i = from; i < to; i++) {
		const struct prof_sample *s = items[i].s;
		for (int v = 0; v < PROF_NVALUES; v++)
			ds->v[items[i].side][v] += s->value[v];
		if (!ds->s || (items[i].side == DIFF_NEW && ds->p != items[i].p)) {
			ds->p = items[i].p;
			ds->s = s;
		}
	}
	ds->view = ds->s->view;
	ds->uncharged = report_is_uncharged(ds->p, ds->s);
}

/* The lock's key of each stack (its samples' lock is one by the key). */
static int stack_locks(struct diff *d)
{
	for (size_t i = 0; i < d->nstacks; i++) {
		const char *lock = d->stacks[i].s->lock;
		if (lock && !(d->stacks[i].lock = diff_lock_key(lock)))
			return -1;
	}
	return 0;
}

static int build_stacks(struct diff *d, const struct profile *const sides[DIFF_NSIDES],
                        enum diff_match m)
{
	size_t cap = sides[DIFF_BASE]->nsamples + sides[DIFF_NEW]->nsamples;
	struct item *items = calloc(cap ? cap : 1, sizeof(*items));
	ssize_t n = items ? collect_items(items, sides, m) : -1;
	int rc = -1;
	if (n >= 0 && (d->stacks = calloc((size_t)n + 1, sizeof(*d->stacks)))) {
		qsort(items, (size_t)n, sizeof(*items), cmp_item);
		for (size_t i = 0, j; i < (size_t)n; i = j) {
			for (j = i + 1; j < (size_t)n && strcmp(items[i].key, items[j].key) == 0;)
				j++;
			merge_stack(&d->stacks[d->nstacks++], items, i, j);
		}
		rc = 0;
	}
	for (size_t i = 0; items && i < cap; i++)
		free(items[i].key);
	free(items);
	return rc;
}

/* ---- locks ---------------------------------------------------------------------- */

struct lockitem {
	char *key;
	int side;
	const struct report_lockrow *row;
};

static int cmp_lockitem(const void *a, const void *b)
{
	return strcmp(((const struct lockitem *)a)->key, ((const struct lockitem *)b)->key);
}

static int64_t lock_weight(const struct diff_lock *l)
{
	int64_t b = l->v[DIFF_BASE][LC_VIEW_WAIT][PROF_DELAY];
	int64_t n = l->v[DIFF_NEW][LC_VIEW_WAIT][PROF_DELAY];
	return b > n ? b : n;
}

/* Most waiting in either run first, then by name. */
static int cmp_lock(const void *a, const void *b)
{
	const struct diff_lock *x = a, *y = b;
	int64_t wx = lock_weight(x), wy = lock_weight(y);
	if (wx != wy)
		return wx > wy ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void merge_lock(struct diff_lock *dl, struct lockitem *items, size_t from, size_t to)
{
	memset(dl, 0, sizeof(*dl));
	dl->name = items[from].key;
	items[from].key = NULL;
	for (size_t i = from; i < to; i++) {
		const struct report_lockrow *r = items[i].row;
		dl->kinds[items[i].side] |= r->lock->kinds;
		for (int v = 0; v < LC_NVIEWS; v++)
			for (int k = 0; k < PROF_NVALUES; k++)
				dl->v[items[i].side][v][k] += r->v[v][k];
	}
}

static int build_locks(struct diff *d, const struct profile *const sides[DIFF_NSIDES])
{
	struct report_lockrow *rows[DIFF_NSIDES] = {report_lock_rows(sides[0]),
	                                            report_lock_rows(sides[1])};
	size_t cap = sides[0]->nlocks + sides[1]->nlocks, n = 0;
	struct lockitem *items = calloc(cap ? cap : 1, sizeof(*items));
	int rc = items && rows[0] && rows[1] ? 0 : -1;
	for (int side = 0; rc == 0 && side < DIFF_NSIDES; side++)
		for (size_t i = 0; rc == 0 && i < sides[side]->nlocks; i++) {
			items[n] = (struct lockitem){diff_lock_key(rows[side][i].lock->name), side,
			                             &rows[side][i]};
			rc = items[n++].key ? 0 : -1;
		}
	if (rc == 0 && !(d->locks = calloc(n + 1, sizeof(*d->locks))))
		rc = -1;
	if (rc == 0) {
		qsort(items, n, sizeof(*items), cmp_lockitem);
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && strcmp(items[i].key, items[j].key) == 0;)
				j++;
			merge_lock(&d->locks[d->nlocks++], items, i, j);
		}
		qsort(d->locks, d->nlocks, sizeof(*d->locks), cmp_lock);
	}
	for (size_t i = 0; i < n; i++)
		free(items[i].key);
	free(items);
	free(rows[0]);
	free(rows[1]);
	return rc;
}

/* ---- both runs in one profile ----------------------------------------------------- */

/* The uncharged pseudo-sample's delay in p, 0 without one. */
static int64_t uncharged_of(const struct profile *p)
{
	for (size_t i = 0; i < p->nsamples; i++)
		if (report_is_uncharged(p, &p->samples[i]))
			return p->samples[i].value[PROF_DELAY];
	return 0;
}

int diff_split_uncharged(struct profile *all, size_t nbase, const struct profile *base,
                         const struct profile *newp)
{
	for (size_t i = 0; i < all->nsamples; i++) {
		struct prof_sample *s = &all->samples[i];
		if (!report_is_uncharged(all, s))
			continue;
		struct prof_sample *v = realloc(all->samples, (all->nsamples + 1) * sizeof(*v));
		uint32_t *locs = malloc(sizeof(*locs));
		if (!v || !locs) {
			if (v)
				all->samples = v;
			free(locs);
			return -1;
		}
		all->samples = v;
		s = &v[i];
		locs[0] = s->locs[0];
		v[all->nsamples] = *s;
		v[all->nsamples].locs = locs;
		v[all->nsamples].dump = 0;
		v[all->nsamples++].value[PROF_DELAY] = uncharged_of(base);
		s->dump = nbase;
		s->value[PROF_DELAY] = uncharged_of(newp);
		return 0;
	}
	return 0;
}

/* ---- entry points ---------------------------------------------------------------- */

static void add_totals(struct diff *d, const struct profile *const sides[DIFF_NSIDES])
{
	for (int side = 0; side < DIFF_NSIDES; side++)
		for (size_t i = 0; i < sides[side]->nsamples; i++) {
			const struct prof_sample *s = &sides[side]->samples[i];
			for (int k = 0; k < PROF_NVALUES && s->view < LC_NVIEWS; k++)
				d->total[side][s->view][k] += s->value[k];
		}
}

int diff_build(struct diff *d, const struct profile *base, const struct profile *newp,
               enum diff_match m)
{
	const struct profile *const sides[DIFF_NSIDES] = {base, newp};
	memset(d, 0, sizeof(*d));
	if (build_stacks(d, sides, m) != 0 || stack_locks(d) != 0 || build_locks(d, sides) != 0) {
		diff_free(d);
		return -1;
	}
	add_totals(d, sides);
	return 0;
}

void diff_free(struct diff *d)
{
	for (size_t i = 0; i < d->nstacks; i++) {
		free(d->stacks[i].key);
		free(d->stacks[i].lock);
	}
	for (size_t i = 0; i < d->nlocks; i++)
		free(d->locks[i].name);
	free(d->stacks);
	free(d->locks);
	memset(d, 0, sizeof(*d));
}
