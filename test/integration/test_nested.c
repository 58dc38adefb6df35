/*
 * test_nested.c — waits made while the thread holds another lock keep
 * their stacks, and what a lock's events lose is the lock's to report.
 *
 * nested's threads wait for `first` and `second` always holding a lock of
 * their own, and unlock them still holding it, as memcached's workers do.
 * Go's keep-one rule, applied as "publish only while holding nothing",
 * kept one stack per thread there and lost the rest to the draw (on
 * memcached, 52-64% of contentions).  Checked: no event lost to the draw,
 * at most 2% of any view's delay and 10% of its count lost at all; and,
 * per lock, its buckets plus its LOCK_LOST entries are its waits, which
 * its unlocks' charges (with or without a stack) and its uncharged
 * waiting add up to exactly.  The same holds for a fork child's profile,
 * and for profiles begun by a thread that holds a lock (the first thread
 * made: the module map is learned then all the same).
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>

#include "integration/harness.h"

static void run_nested(const char *cfg, struct dump *d)
{
	struct run_result r;
	char path[PATH_MAX], err[256];
	const char *args[] = {"4", "2000", "20", NULL};
	harness_profile("nested", args, cfg, 120, &r, path);
	cr_assert_eq(harness_out_value(r.out, "rounds"), 8000);
	harness_result_free(&r);
	cr_assert_eq(dump_read_file(path, d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d->complete, "dump incomplete: %s", d->warning);
}

/* Per view: what lost its stack (every reason), and the draw's share. */
static void lost_of(const struct dump *d, int view, uint64_t *count, uint64_t *delay)
{
	*count = *delay = 0;
	for (int r = 0; r < LC_LOST_NREASONS; r++) {
		*count += d->lost[view][r].count;
		*delay += d->lost[view][r].delay_ns;
	}
}

Test(nested, waits_made_holding_a_lock_keep_their_stacks)
{
	struct dump d;
	run_nested("", &d);
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t tc, td, lc, ld;
		dump_view_totals(&d, v, &tc, &td);
		lost_of(&d, v, &lc, &ld);
		cr_assert_eq(d.lost[v][LC_LOST_EVICTED].count, 0,
		             "view %d: %" PRIu64 " of %" PRIu64 " events lost the draw", v,
		             d.lost[v][LC_LOST_EVICTED].count, tc);
		cr_assert(lc * 10 <= tc && ld * 50 <= td,
		          "view %d: lost %" PRIu64 " of %" PRIu64 " events, %" PRIu64 " of %" PRIu64
		          " ns",
		          v, lc, tc, ld, td);
	}
	uint64_t waits, wait_ns;
	dump_view_totals(&d, LC_VIEW_WAIT, &waits, &wait_ns);
	cr_assert_gt(waits, 100, "the fixture contends: %" PRIu64 " waits", waits);
	dump_free(&d);
}

/* One lock's events in one view: its buckets, plus its lost entries. */
static void lock_view(const struct dump *d, const struct dump_lock *l, int view, uint64_t *count,
                      uint64_t *delay, uint64_t *lost_delay)
{
	*count = *delay = *lost_delay = 0;
	for (size_t i = 0; i < d->nbuckets; i++)
		if (d->buckets[i].lock == l->addr && d->buckets[i].view == view) {
			*count += d->buckets[i].count;
			*delay += d->buckets[i].delay_ns;
		}
	for (int r = 0; r < LC_LOST_NREASONS; r++) {
		*count += l->lost[view][r].count;
		*delay += l->lost[view][r].delay_ns;
		*lost_delay += l->lost[view][r].delay_ns;
	}
}

/* With stacks=0 every event goes to the sentinel: each lock's LOCK_LOST
 * must then hold all of its waits, and its charges with its uncharged
 * waiting must still add up to them. */
static void check_locks(const struct dump *d, bool all_lost)
{
	uint64_t sum_wait = 0, sum_lost = 0;
	cr_assert_geq(d->nlocks, 2, "first and second were contended");
	for (size_t i = 0; i < d->nlocks; i++) {
		const struct dump_lock *l = &d->locks[i];
		uint64_t wc, wd, wl, hc, hd, hl;
		lock_view(d, l, LC_VIEW_WAIT, &wc, &wd, &wl);
		lock_view(d, l, LC_VIEW_HOLDER, &hc, &hd, &hl);
		cr_assert_eq(hd + l->uncharged_ns, wd,
		             "lock %#" PRIx64 ": charged %" PRIu64 " (%" PRIu64
		             " without a stack) + not charged %" PRIu64 " != waited %" PRIu64,
		             l->addr, hd, hl, l->uncharged_ns, wd);
		if (all_lost)
			cr_assert_eq(wl, wd, "lock %#" PRIx64 ": every wait lost its stack", l->addr);
		sum_wait += wd;
		sum_lost += l->lost[LC_VIEW_WAIT][LC_LOST_NO_STACKS].delay_ns;
	}
	/* contention inside our own work, and waits while the file was being
	 * made, have no lock of the program's */
	uint64_t tc, td;
	dump_view_totals(d, LC_VIEW_WAIT, &tc, &td);
	td -= harness_lockless_waits(d).delay_ns;
	cr_assert_eq(sum_wait, td, "the locks' waits %" PRIu64 " are all the waits %" PRIu64,
	             sum_wait, td);
	if (all_lost)
		cr_assert_eq(sum_lost, d->lost[LC_VIEW_WAIT][LC_LOST_NO_STACKS].delay_ns);
}

/* Both profiles (the parent's, the fork child's) kept the stacks of their
 * nested waits; `held`: nested's own argument, or NULL (with it, hold=0:
 * see nested.c). */
static void run_fork(const char *held)
{
	const char *dir = harness_tmpdir();
	char env[PATH_MAX + 64], pattern[PATH_MAX + 16], err[256];
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/nested.%%p.raw%s", dir,
	         held ? ",hold=0" : "");
	const char *argv[] = {harness_fixture("nested"), "4", "2000", "20", "fork", held, NULL};
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 120, &r), 0);
	cr_assert_eq(r.exit_code, 0, "nested failed: %s", r.err);
	cr_assert_eq(harness_out_value(r.out, "child_status"), 0);
	harness_result_free(&r);
	snprintf(pattern, sizeof(pattern), "%s/nested.*.raw", dir);
	glob_t g;
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0);
	cr_assert_eq(g.gl_pathc, 2, "a profile for the parent and one for the child");
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct dump d;
		cr_assert_eq(dump_read_file(g.gl_pathv[i], &d, err, sizeof(err)), 0, "%s", err);
		uint64_t tc, td;
		dump_view_totals(&d, LC_VIEW_WAIT, &tc, &td);
		cr_assert_gt(tc, 0, "%s: no wait recorded", g.gl_pathv[i]);
		for (int v = 0; v < LC_NVIEWS; v++)
			cr_assert_eq(d.lost[v][LC_LOST_EVICTED].count, 0,
			             "%s view %d: %" PRIu64 " events lost the draw", g.gl_pathv[i], v,
			             d.lost[v][LC_LOST_EVICTED].count);
		dump_free(&d);
	}
	globfree(&g);
}

/* A fork child's profile starts with an empty module map: it learns the
 * loaded objects at once, so its nested waits keep their stacks too. */
Test(nested, a_fork_child_keeps_its_stacks_too)
{
	run_fork(NULL);
}

/* The profile is begun by the first thread made (lifecycle.c), here by a
 * thread that holds a lock then: it learns the module map all the same,
 * since no other thread exists yet.  Were the map left to the first
 * thread that holds nothing, the workers (always holding a lock when they
 * wait) would publish no stack and lose their events to the draw. */
Test(nested, a_profile_begun_holding_a_lock_keeps_its_stacks)
{
	struct dump d;
	struct run_result r;
	char path[PATH_MAX], err[256];
	const char *args[] = {"4", "2000", "20", "held", NULL};
	harness_profile("nested", args, "", 120, &r, path);
	cr_assert_eq(harness_out_value(r.out, "rounds"), 8000);
	harness_result_free(&r);
	cr_assert_eq(dump_read_file(path, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.complete, "dump incomplete: %s", d.warning);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert_eq(d.lost[v][LC_LOST_EVICTED].count, 0,
		             "view %d: %" PRIu64 " events lost the draw", v,
		             d.lost[v][LC_LOST_EVICTED].count);
	uint64_t waits, wait_ns;
	dump_view_totals(&d, LC_VIEW_WAIT, &waits, &wait_ns);
	cr_assert_gt(waits, 100, "the fixture contends: %" PRIu64 " waits", waits);
	dump_free(&d);
}

/* The same in a fork child, whose profile is begun at its first thread,
 * made while it holds a lock (the parent's was begun before the fork). */
Test(nested, a_fork_child_begun_holding_a_lock_keeps_its_stacks)
{
	run_fork("held");
}

Test(nested, each_lock_accounts_for_its_waits)
{
	struct dump d;
	run_nested("", &d);
	check_locks(&d, false);
	dump_free(&d);
}

Test(nested, each_lock_says_what_it_lost)
{
	struct dump d;
	run_nested("stacks=0", &d);
	check_locks(&d, true);
	dump_free(&d);
}
