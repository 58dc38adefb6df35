/*
 * test_diff.c — the comparison of two runs (symbolize/diff.c).
 *
 * Two profiles built by hand as two runs of one program would give them:
 * the same functions at other addresses and in other table orders, one
 * stack in both runs (its lines moved by an edit), one only in the base
 * (vanished), one only in the new run (new), a heap lock named by an
 * address that differs between the runs, and the _NotChargedToHolder
 * pseudo-sample.  The diff must match locks by name (a heap lock's address
 * left out) and stacks by their function names (or, with --match=line, by
 * file:line too), never by address, and carry each run's figures
 * untouched.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "lockcontend/dumpfmt.h"
#include "report.h"

/* ---- two runs ------------------------------------------------------------ */

/* A run: functions, one location per (function, line), samples of one
 * location chain each. */
struct run {
	struct profile p;
	struct prof_function fn[8];
	struct prof_location loc[16];
	struct prof_line line[16];
	struct prof_sample s[8];
	uint32_t locs[8][4];
	struct prof_lock lock[4];
};

static uint32_t run_fn(struct run *r, const char *name, const char *file)
{
	for (uint32_t i = 0; i < r->p.nfunctions; i++)
		if (strcmp(r->fn[i].name, name) == 0)
			return i;
	r->fn[r->p.nfunctions] = (struct prof_function){name, name, file, 1, false};
	return (uint32_t)r->p.nfunctions++;
}

static uint32_t run_loc(struct run *r, const char *name, const char *file, int64_t line,
                        uint64_t addr)
{
	uint32_t i = (uint32_t)r->p.nlocations++;
	r->line[i] = (struct prof_line){run_fn(r, name, file), line};
	r->loc[i] = (struct prof_location){addr, -1, 1, &r->line[i]};
	return i;
}

static const char *run_lock(struct run *r, const char *name)
{
	for (size_t i = 0; i < r->p.nlocks; i++)
		if (strcmp(r->lock[i].name, name) == 0)
			return r->lock[i].name;
	r->lock[r->p.nlocks] = (struct prof_lock){.name = name, .kinds = 1u << LC_KIND_MUTEX};
	return r->lock[r->p.nlocks++].name;
}

/* A sample: frames innermost first as "name:line", on lock (NULL: none). */
static void run_sample(struct run *r, int view, const char *lock, int64_t count, int64_t delay,
                       uint64_t addr, const char *file, const char *const *frames, int n)
{
	size_t i = r->p.nsamples++;
	for (int k = 0; k < n; k++) {
		char name[64];
		const char *colon = strchr(frames[k], ':');
		snprintf(name, sizeof(name), "%.*s", (int)(colon - frames[k]), frames[k]);
		r->locs[i][k] = run_loc(r, strdup(name), file, atoi(colon + 1), addr + 16 * k);
	}
	r->s[i] = (struct prof_sample){.nlocs = (uint32_t)n,
	                               .locs = r->locs[i],
	                               .value = {count, delay},
	                               .view = (uint8_t)view,
	                               .kind = lock ? LC_KIND_MUTEX : PROF_KIND_NONE,
	                               .lock = lock ? run_lock(r, lock) : NULL,
	                               .bucket = lock ? 0 : -1};
}

static void run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->p.functions = r->fn;
	r->p.locations = r->loc;
	r->p.samples = r->s;
	r->p.locks = r->lock;
	r->p.period = 1;
	r->p.kinds = (1u << LC_NKINDS) - 1;
}

static const char *const LOOKUP_BASE[] = {"cache_lookup:62", "worker:82"};
static const char *const LOOKUP_NEW[] = {"cache_lookup:63", "worker:83"};
static const char *const FILL[] = {"cache_fill:46", "cache_lookup:64", "worker:82"};
static const char *const COUNT[] = {"count_request:52", "worker:83"};
static const char *const HEAP[] = {"shard_get:10", "worker:82"};
static const char *const UNCHARGED[] = {PROF_UNCHARGED_NAME ":0"};

/* base: cache_lock waited 300 ms at cache_lookup:62 and 100 ms under
 * cache_fill; a heap lock 5 ms.  new: cache_lock 10 ms at cache_lookup:63
 * (an edit moved it), stats_lock 2 ms (new); cache_fill's stack is gone. */
static void two_runs(struct run *base, struct run *newr)
{
	run_init(base);
	run_init(newr);
	run_sample(base, LC_VIEW_WAIT, "cache_lock", 30, 300000000, 0x401000, "demo.c", LOOKUP_BASE,
	           2);
	run_sample(base, LC_VIEW_WAIT, "cache_lock", 10, 100000000, 0x401100, "demo.c", FILL, 3);
	run_sample(base, LC_VIEW_WAIT, "0x55d0c2a4e2c0 (made in shard_init)", 5, 5000000, 0x401200,
	           "demo.c", HEAP, 2);
	run_sample(base, LC_VIEW_HOLDER, NULL, 0, 7000, 0, "", UNCHARGED, 1);
	/* the new run: other addresses, other table order */
	run_sample(newr, LC_VIEW_WAIT, "stats_lock", 4, 2000000, 0x7f0000402000, "demo_fixed.c", COUNT,
	           2);
	run_sample(newr, LC_VIEW_WAIT, "cache_lock", 3, 10000000, 0x7f0000403000, "demo_fixed.c",
	           LOOKUP_NEW, 2);
	run_sample(newr, LC_VIEW_WAIT, "0x5611aa000040 (made in shard_init)", 1, 1000000,
	           0x7f0000404000, "demo_fixed.c", HEAP, 2);
	run_sample(newr, LC_VIEW_HOLDER, NULL, 0, 3000, 0, "", UNCHARGED, 1);
}

static const struct diff_stack *find_stack(const struct diff *d, int view, const char *lock,
                                           const char *inner)
{
	for (size_t i = 0; i < d->nstacks; i++) {
		const struct diff_stack *s = &d->stacks[i];
		const struct prof_location *l = &s->p->locations[s->s->locs[0]];
		if (s->view == view && ((!lock && !s->lock) || (lock && s->lock && !strcmp(lock, s->lock))) &&
		    strcmp(s->p->functions[l->lines[0].function].name, inner) == 0)
			return s;
	}
	return NULL;
}

static const struct diff_lock *find_lock(const struct diff *d, const char *name)
{
	for (size_t i = 0; i < d->nlocks; i++)
		if (strcmp(d->locks[i].name, name) == 0)
			return &d->locks[i];
	return NULL;
}

/* ---- tests ------------------------------------------------------------------ */

/* name's key is want. */
static void key_is(const char *name, const char *want)
{
	char *k = diff_lock_key(name);
	cr_assert_str_eq(k, want);
	free(k);
}

Test(diff, lock_keys_leave_out_a_heap_locks_address_only)
{
	key_is("cache_lock", "cache_lock");
	key_is("pool_locks+0x40", "pool_locks+0x40");
	key_is("0x55d0c2a4e2c0 (made in Shard::Shard(int))", "(made in Shard::Shard(int))");
	key_is("0x55d0 (first contended in worker)", "(first contended in worker)");
	/* a bare address is all the name there is: kept */
	key_is("0x55d0c2a4e2c0", "0x55d0c2a4e2c0");
}

Test(diff, locks_are_matched_by_name_with_each_runs_figures)
{
	struct run base, newr;
	struct diff d;
	two_runs(&base, &newr);
	cr_assert_eq(diff_build(&d, &base.p, &newr.p, DIFF_MATCH_FUNCTION), 0);
	cr_assert_eq(d.nlocks, 3);
	const struct diff_lock *c = find_lock(&d, "cache_lock"), *s = find_lock(&d, "stats_lock");
	const struct diff_lock *h = find_lock(&d, "(made in shard_init)");
	cr_assert(c && s && h);
	cr_assert_eq(c->v[DIFF_BASE][LC_VIEW_WAIT][PROF_DELAY], 400000000);
	cr_assert_eq(c->v[DIFF_NEW][LC_VIEW_WAIT][PROF_DELAY], 10000000);
	cr_assert_eq(c->v[DIFF_BASE][LC_VIEW_WAIT][PROF_CONTENTIONS], 40);
	cr_assert_eq(c->v[DIFF_NEW][LC_VIEW_WAIT][PROF_CONTENTIONS], 3);
	cr_assert_eq(s->v[DIFF_BASE][LC_VIEW_WAIT][PROF_DELAY], 0, "stats_lock is new");
	cr_assert_eq(s->v[DIFF_NEW][LC_VIEW_WAIT][PROF_DELAY], 2000000);
	cr_assert_eq(h->v[DIFF_BASE][LC_VIEW_WAIT][PROF_DELAY], 5000000, "one heap lock in both");
	cr_assert_eq(h->v[DIFF_NEW][LC_VIEW_WAIT][PROF_DELAY], 1000000);
	cr_assert_str_eq(d.locks[0].name, "cache_lock", "most waiting in either run first");
	cr_assert_eq(d.total[DIFF_BASE][LC_VIEW_WAIT][PROF_DELAY], 405000000);
	cr_assert_eq(d.total[DIFF_NEW][LC_VIEW_WAIT][PROF_DELAY], 13000000);
	diff_free(&d);
}

Test(diff, stacks_match_by_function_names_not_addresses_new_and_vanished_apart)
{
	struct run base, newr;
	struct diff d;
	two_runs(&base, &newr);
	cr_assert_eq(diff_build(&d, &base.p, &newr.p, DIFF_MATCH_FUNCTION), 0);
	const struct diff_stack *lookup = find_stack(&d, LC_VIEW_WAIT, "cache_lock", "cache_lookup");
	cr_assert(lookup, "the lookup stack");
	cr_assert_eq(lookup->v[DIFF_BASE][PROF_DELAY], 300000000, "lines moved: still one stack");
	cr_assert_eq(lookup->v[DIFF_NEW][PROF_DELAY], 10000000);
	cr_assert_eq(lookup->p, &newr.p, "shown with the new run's frames");
	const struct diff_stack *fill = find_stack(&d, LC_VIEW_WAIT, "cache_lock", "cache_fill");
	cr_assert(fill && fill->v[DIFF_BASE][PROF_DELAY] == 100000000 &&
	              fill->v[DIFF_NEW][PROF_DELAY] == 0,
	          "cache_fill's stack vanished");
	const struct diff_stack *count = find_stack(&d, LC_VIEW_WAIT, "stats_lock", "count_request");
	cr_assert(count && count->v[DIFF_BASE][PROF_DELAY] == 0 &&
	              count->v[DIFF_NEW][PROF_DELAY] == 2000000,
	          "count_request's stack is new");
	const struct diff_stack *heap =
	    find_stack(&d, LC_VIEW_WAIT, "(made in shard_init)", "shard_get");
	cr_assert(heap && heap->v[DIFF_BASE][PROF_DELAY] == 5000000 &&
	              heap->v[DIFF_NEW][PROF_DELAY] == 1000000,
	          "a heap lock's stack matched across its two addresses");
	const struct diff_stack *un = find_stack(&d, LC_VIEW_HOLDER, NULL, PROF_UNCHARGED_NAME);
	cr_assert(un && un->uncharged && un->v[DIFF_BASE][PROF_DELAY] == 7000 &&
	          un->v[DIFF_NEW][PROF_DELAY] == 3000);
	cr_assert_eq(d.nstacks, 5);
	diff_free(&d);
}

Test(diff, match_by_line_tells_moved_lines_apart)
{
	struct run base, newr;
	struct diff d;
	two_runs(&base, &newr);
	cr_assert_eq(diff_build(&d, &base.p, &newr.p, DIFF_MATCH_LINE), 0);
	size_t lookups = 0;
	for (size_t i = 0; i < d.nstacks; i++) {
		const struct diff_stack *s = &d.stacks[i];
		const struct prof_location *l = &s->p->locations[s->s->locs[0]];
		if (strcmp(s->p->functions[l->lines[0].function].name, "cache_lookup") == 0) {
			lookups++;
			cr_assert((s->v[DIFF_BASE][PROF_DELAY] == 0) != (s->v[DIFF_NEW][PROF_DELAY] == 0),
			          "demo.c:62 and demo_fixed.c:63 are two stacks, each in one run");
		}
	}
	cr_assert_eq(lookups, 2);
	diff_free(&d);
}

Test(diff, stack_keys_are_frames_of_names_and_lines)
{
	struct run r;
	run_init(&r);
	run_sample(&r, LC_VIEW_WAIT, "0xdead (made in f)", 1, 1, 0x1000, "a.c", LOOKUP_BASE, 2);
	char *f = diff_stack_key(&r.p, &r.s[0], DIFF_MATCH_FUNCTION);
	char *l = diff_stack_key(&r.p, &r.s[0], DIFF_MATCH_LINE);
	cr_assert_str_eq(f, "0\x1f(made in f)\x1f\x1eworker\x1e" "cache_lookup");
	cr_assert_str_eq(l, "0\x1f(made in f)\x1f\x1eworker@a.c:82\x1e" "cache_lookup@a.c:62");
	free(f);
	free(l);
}

Test(diff, percentages_of_the_base)
{
	cr_assert_float_eq(diff_pct(200, 50), -75.0, 1e-9);
	cr_assert_float_eq(diff_pct(100, 150), 50.0, 1e-9);
	cr_assert_float_eq(diff_pct(0, 150), 0.0, 1e-9);
}

Test(diff, empty_runs_give_an_empty_diff)
{
	struct run a, b;
	struct diff d;
	run_init(&a);
	run_init(&b);
	cr_assert_eq(diff_build(&d, &a.p, &b.p, DIFF_MATCH_FUNCTION), 0);
	cr_assert_eq(d.nstacks, 0);
	cr_assert_eq(d.nlocks, 0);
	diff_free(&d);
}
