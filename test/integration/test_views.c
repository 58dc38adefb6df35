/*
 * test_views.c — the holder and hold views against programs that know the truth.
 *
 * The fixtures measure their own waits, when they unlocked and how long
 * they held, with CLOCK_MONOTONIC, and print it.  The symbolizer's folded
 * views must agree: the holder view charges the function that unlocked
 * with every waiter's wait since the previous charge (within 10%), the
 * holder view and _NotChargedToHolder add up to the waiter view (within
 * 5%), hold times are what the program held (within 10%) and only for a
 * lock that was contended; holder=0 and hold=0 turn those views off; and
 * under a mixed load on locks of every kind each view of the raw dump is
 * conserved (buckets + lost = totals), every kind's share adding up to
 * the whole.
 *
 * Sized for a loaded 2-core machine: each test runs its programs for a
 * few hundred milliseconds.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

/* Folded stack sums of one frame, by delay and by count. */
static uint64_t delay_of(const char *folded, const char *frame)
{
	return harness_folded_sum(folded, frame, NULL);
}

/* The one-frame line "NAME VALUE" of folded output (a sentinel): its value,
 * or -1 if there is no such line. */
static int64_t sentinel_line(const char *folded, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = folded; *p;) {
		size_t len = strcspn(p, "\n");
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += len + (p[len] == '\n');
	}
	return -1;
}

/* ---- holder view ------------------------------------------------------------ */

/* One waiter, four holds of 50 ms: the unlocker is charged, not the waiter. */
Test(views, holder_view_charges_the_function_that_unlocked)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("holder", (const char *[]){"4", "1", "50", NULL}, "", 30, &r, dump);
	uint64_t waited = harness_out_value(r.out, "waited_ns");
	uint64_t caused = harness_out_value(r.out, "caused_ns");
	uint64_t delayed = harness_out_value(r.out, "delayed_ns");

	/* W's own measure of its wait also holds the time from H's unlock until
	 * W ran again: not H's doing, _NotChargedToHolder by definition, and
	 * more than 10% of the wait on a loaded machine (25 ms of 228 once). */
	char *holder = harness_folded(dump, "holder", NULL);
	uint64_t charged = delay_of(holder, "hold_cache_for_a_while");
	int64_t uncharged = sentinel_line(holder, "_NotChargedToHolder");
	cr_assert(uncharged >= 0, "no one-frame _NotChargedToHolder line:\n%s", holder);
	/* W's clock and its lock call are apart by a post that wakes H: a
	 * preemption there is in W's measures only, within its run delay */
	harness_assert_wait(charged, caused, delayed, 0.10,
	                    "holder view, hold_cache_for_a_while vs H's unlock - W's lock call");
	harness_assert_wait(charged + (uint64_t)uncharged, waited, delayed, 0.10,
	                    "holder view, hold_cache_for_a_while + _NotChargedToHolder vs W's wait");
	cr_assert(delay_of(holder, "wait_for_cache") < waited / 20,
	          "W's own unlocks ended no one's wait, yet:\n%s", holder);

	char *holder_n = harness_folded(dump, "holder", (const char *[]){"--value=contentions", NULL});
	cr_assert_eq(delay_of(holder_n, "hold_cache_for_a_while"), 4,
	             "4 unlocks ended W's waits:\n%s", holder_n);

	char *waiter = harness_folded(dump, "waiter", NULL);
	harness_assert_wait(delay_of(waiter, "wait_for_cache"), waited, delayed, 0.10,
	                    "waiter view, wait_for_cache");
	cr_assert_eq(delay_of(waiter, "hold_cache_for_a_while"), 0, "H never waited:\n%s", waiter);

	/* Every ns waited is either charged to an unlock or not charged. */
	uint64_t wait_total = harness_folded_sum(waiter, NULL, NULL);
	uint64_t holder_total = harness_folded_sum(holder, NULL, NULL);
	harness_assert_near(holder_total, wait_total, 0.05,
	                    "holder view + _NotChargedToHolder vs the waiter view");
	free(holder);
	free(holder_n);
	free(waiter);
	harness_result_free(&r);
}

/* The waiter view is what folded output shows without --view. */
Test(views, waiter_view_is_the_default)
{
	char dump[PATH_MAX];
	struct run_result r, plain;
	harness_profile("holder", (const char *[]){"2", "1", "20", NULL}, "", 30, &r, dump);
	char *waiter = harness_folded(dump, "waiter", NULL);
	harness_symbolize((const char *[]){"--format=folded", dump, NULL}, &plain);
	cr_assert_eq(plain.exit_code, 0, "%s", plain.err);
	cr_assert_str_eq(plain.out, waiter);
	cr_assert(delay_of(waiter, "wait_for_cache") > 0, "%s", waiter);
	free(waiter);
	harness_result_free(&plain);
	harness_result_free(&r);
}

/* Three waiters blocked on one hold: the holder is charged all three waits. */
Test(views, holder_charge_counts_every_waiter)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("holder", (const char *[]){"2", "3", "80", NULL}, "", 30, &r, dump);
	uint64_t waited = harness_out_value(r.out, "waited_ns");
	uint64_t caused = harness_out_value(r.out, "caused_ns");
	uint64_t delayed = harness_out_value(r.out, "delayed_ns");
	cr_assert(caused > 2 * 3 * 70000000ull, "the fixture did not hold: caused %" PRIu64, caused);

	/* One waiter's share would be a third: far outside 10%. */
	char *holder = harness_folded(dump, "holder", NULL);
	harness_assert_wait(delay_of(holder, "hold_cache_for_a_while"), caused, delayed, 0.10,
	                    "holder view, hold_cache_for_a_while (3 waiters x 2 holds)");

	char *waiter = harness_folded(dump, "waiter", NULL);
	harness_assert_wait(delay_of(waiter, "wait_for_cache"), waited, delayed, 0.10,
	                    "waiter view, wait_for_cache (3 waiters)");
	harness_assert_near(harness_folded_sum(holder, NULL, NULL),
	                    harness_folded_sum(waiter, NULL, NULL), 0.05,
	                    "holder view + _NotChargedToHolder vs the waiter view");
	free(holder);
	free(waiter);
	harness_result_free(&r);
}

/* The mutex locks' no-cell waits (LOCK_NO_CELL, 3.12), each against its
 * uncharged waiting: never more.  Returns their count; *ns their time. */
static uint64_t mutex_no_cell(const struct dump *d, uint64_t *ns)
{
	uint64_t count = 0;
	*ns = 0;
	for (size_t i = 0; i < d->nlocks; i++) {
		const struct dump_lock *l = &d->locks[i];
		cr_assert_leq(l->no_cell_ns, l->uncharged_ns,
		              "lock %#" PRIx64 ": %" PRIu64 " ns of no-cell waits, uncharged %" PRIu64,
		              l->addr, l->no_cell_ns, l->uncharged_ns);
		if (l->kind == LC_KIND_MUTEX) {
			count += l->no_cell_count;
			*ns += l->no_cell_ns;
		}
	}
	cr_assert(d->have_no_cell, "a 3.12 writer's file says how much found no cell");
	cr_assert_leq(d->no_cell_ns, d->totals.uncharged_ns, "the total no-cell waits %" PRIu64
	              " ns, more than the uncharged %" PRIu64, d->no_cell_ns, d->totals.uncharged_ns);
	cr_assert_geq(d->no_cell_count, count, "the total is every lock's");
	return count;
}

/* A herd: 24 waiters blocked at once on one mutex behind a 50 ms hold, two
 * rounds.  The lock registers 16 waiters (LOCKSTATE_CELLS): each round the
 * other 8 find no cell, are not registered, and all their wait is
 * uncharged — counted apart (LOCK_NO_CELL), within the uncharged waiting,
 * and each at least the hold (it was blocked before the hold began: the
 * fixture says when it could not make sure).  The text report splits "not
 * charged to a holder" into the wake-up latency (or unseen holders) and
 * those waits.  Before
 * 3.12, all of it was "wake-up latency, and waits past 16", in one number. */
Test(views, a_herd_past_16_waiters_is_counted_apart_within_the_uncharged)
{
	char dump[PATH_MAX], err[256];
	struct run_result r, t;
	struct dump d;
	harness_profile("holder", (const char *[]){"2", "24", "50", NULL}, "rate=1", 60, &r, dump);
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s: %s", dump, err);
	uint64_t ns, count = mutex_no_cell(&d, &ns);
	cr_assert(count > 0 && ns > 0, "no wait past 16 counted: %" PRIu64 " waits, %" PRIu64 " ns",
	          count, ns);
	if (harness_out_value(r.out, "not_blocked") == 0) {
		cr_assert_eq(count, 2 * (24 - 16), "no-cell waits: %" PRIu64 " of 2 rounds x 8",
		             count);
		cr_assert_geq(ns, count * 50000000ull, "%" PRIu64 " no-cell waits of %" PRIu64
		              " ns, each at least the 50 ms hold", count, ns);
	}
	harness_symbolize((const char *[]){dump, NULL}, &t);
	cr_assert_eq(t.exit_code, 0, "%s", t.err);
	char want[96];
	snprintf(want, sizeof(want), " in %" PRIu64 " waits past 16 at once on one lock\n",
	         d.no_cell_count);
	cr_assert(strstr(t.out, "not charged to a holder: ") && strstr(t.out, " wake-up latency or unseen holders, ") &&
	              strstr(t.out, want),
	          "the headline does not split not charged (%s):\n%s", want, t.out);
	cr_assert(strstr(t.out, " waits past 16 at once)\n"), "the lock table:\n%s", t.out);
	harness_result_free(&t);
	dump_free(&d);
	harness_result_free(&r);
}

/* Two waiters at a time: none past 16, none counted so, and the report
 * says so. */
Test(views, two_waiters_find_a_cell_each)
{
	char dump[PATH_MAX], err[256];
	struct run_result r, t;
	struct dump d;
	harness_profile("holder", (const char *[]){"2", "2", "20", NULL}, "rate=1", 30, &r, dump);
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s: %s", dump, err);
	uint64_t ns, count = mutex_no_cell(&d, &ns);
	cr_assert(count == 0 && ns == 0 && d.no_cell_count == 0 && d.no_cell_ns == 0,
	          "no-cell waits with 2 waiters: %" PRIu64 " waits, %" PRIu64 " ns (all locks: %"
	          PRIu64 ")", count, ns, d.no_cell_count);
	cr_assert(d.totals.uncharged_ns > 0, "the wake-up latency is there all the same");
	harness_symbolize((const char *[]){dump, NULL}, &t);
	cr_assert_eq(t.exit_code, 0, "%s", t.err);
	cr_assert(strstr(t.out, "not charged to a holder (wake-up latency or unseen holders; no "
	                        "wait past 16 at once on one lock)\n"),
	          "%s", t.out);
	harness_result_free(&t);
	dump_free(&d);
	harness_result_free(&r);
}

/* holder=0: waits are recorded as before, no unlock is charged (the dump
 * says so, and the holder view has none). */
Test(views, holder_0_charges_no_unlock)
{
	char dump[PATH_MAX];
	struct run_result r, s;
	harness_profile("holder", (const char *[]){"2", "1", "40", NULL}, "holder=0", 30, &r, dump);
	uint64_t waited = harness_out_value(r.out, "waited_ns");

	char *waiter = harness_folded(dump, "waiter", NULL);
	harness_assert_wait(delay_of(waiter, "wait_for_cache"), waited,
	                    harness_out_value(r.out, "delayed_ns"), 0.10,
	                    "holder=0: waiter view, wait_for_cache");
	/* An error for a dump without the view is fine too; a charge is not. */
	harness_symbolize((const char *[]){"--format=folded", "--view=holder", dump, NULL}, &s);
	size_t lines = 0;
	harness_folded_sum(s.out, "hold_cache_for_a_while", &lines);
	cr_assert_eq(lines, 0, "holder=0, yet the holder view charges:\n%s", s.out);

	char err[256];
	struct dump d;
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s: %s", dump, err);
	cr_assert_eq(d.meta.flags & LC_META_HOLDER, 0, "holder=0, yet the dump says holder on");
	cr_assert_eq(d.totals.caused_count, 0, "holder=0, yet %" PRIu64 " charged unlocks",
	             d.totals.caused_count);
	dump_free(&d);
	free(waiter);
	harness_result_free(&s);
	harness_result_free(&r);
}

/* ---- hold view -------------------------------------------------------------- */

/* hold=1: ten 20 ms sections of a lock contended once have their mean. */
Test(views, hold_view_has_the_sections_of_a_contended_lock)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("hold_time", (const char *[]){"10", "20", NULL}, "hold=1", 30, &r, dump);
	uint64_t held = harness_out_value(r.out, "held_ns");
	uint64_t sections = harness_out_value(r.out, "sections");

	char *hold = harness_folded(dump, "hold", NULL);
	char *hold_n = harness_folded(dump, "hold", (const char *[]){"--value=contentions", NULL});
	uint64_t n = delay_of(hold_n, "long_critical_section");
	cr_assert_eq(n, sections, "hold=1 samples every section: %" PRIu64 " of %" PRIu64 "\n%s", n,
	             sections, hold_n);
	harness_assert_near(delay_of(hold, "long_critical_section") / n, held / sections, 0.10,
	                    "hold view, mean hold of long_critical_section");
	size_t quiet = 0;
	harness_folded_sum(hold_n, "quiet_critical_section", &quiet);
	cr_assert_eq(quiet, 0, "quiet_lock was never contended, yet it has hold samples:\n%s", hold_n);
	free(hold);
	free(hold_n);
	harness_result_free(&r);
}

/* Sections entered after a wait, most of whose waits are not sampled
 * (rate=4, so hold looks 1 in 4 acquisitions too; the lock is known as
 * contended by a failed trylock): each is timed from the end of its wait,
 * sampled or not, shown in the WAITING record (recorder_end) or not
 * (waiting=0: hooks_wait).  The hold-time look is prepared before the
 * attempt; timed from then, a section after an unsampled wait said wait +
 * hold, and the mean came out about 1.75x.  The mean of the sampled
 * sections lies between the shortest section the program saw and the
 * longest any can have been (hold_after_wait.c): compared with the mean
 * of all 48, one stall of 100 ms in a sampled round (or in one not
 * sampled) on a loaded machine moved it 1.25x (0.68x).  Waits of 40 ms
 * against sections of 8: timed from the wait's start, a section would be
 * 48 ms, above that bound unless a round stalled 40 ms.  48 rounds: no
 * sample at all once in a million runs. */
Test(views, a_hold_after_a_wait_starts_when_the_wait_ends)
{
	const char *cfgs[] = {"hold=1,rate=4", "hold=1,rate=4,waiting=0"};
	for (int i = 0; i < 2; i++) {
		char dump[PATH_MAX];
		struct run_result r;
		harness_profile("hold_after_wait", (const char *[]){"48", "8", "40", NULL}, cfgs[i],
		                60, &r, dump);
		char *hold = harness_folded(dump, "hold", NULL);
		char *hold_n =
		    harness_folded(dump, "hold", (const char *[]){"--value=contentions", NULL});
		uint64_t n = delay_of(hold_n, "hold_after_wait");
		cr_assert_gt(n, 0, "%s: no sample of hold_after_wait's sections:\n%s", cfgs[i], hold_n);
		uint64_t mean = delay_of(hold, "hold_after_wait") / n;
		uint64_t low = harness_out_value(r.out, "held_min_ns");
		uint64_t high = harness_out_value(r.out, "held_max_ns");
		cr_assert(mean >= low * 0.95 && mean <= high * 1.05,
		          "%s: hold view, mean section of hold_after_wait %" PRIu64
		          " ns, the program's sections %" PRIu64 " ns to %" PRIu64
		          " ns (allowed 0.95x-1.05x of those)",
		          cfgs[i], mean, low, high);
		free(hold);
		free(hold_n);
		harness_result_free(&r);
	}
}

/* 500 threads, each living for 10 holds of 100 us of a once-contended lock:
 * sampled 1 in 5, the hold view's sections are the truth within 15% (about
 * 1000 samples: 5 standard deviations).  A sampler that always took a
 * thread's first acquisition (and weighed it 5 times) said 1.5x.  The time
 * held is unbiased too, but on a loaded machine a few holds preempted for
 * milliseconds make most of it, and whether the 1 in 5 catches them moves
 * the estimate (0.74 once, under two sanitized test runs at once; 1.44
 * once in 15 at load 6-16).  So the time held, less the threads' time kept
 * from a CPU around the holds (the fixture's held_delayed_ns), is held to
 * 40%, and the estimate may be above it by at most five times that time
 * (every preemption sampled, each weighed 5), below it by none of it.  On
 * a quiet machine 1.5x still fails. */
Test(views, hold_view_is_unbiased_for_short_lived_threads)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("short_holds", (const char *[]){"500", "10", "100", NULL}, "hold=5", 60, &r,
	                dump);
	char *hold = harness_folded(dump, "hold", NULL);
	char *hold_n = harness_folded(dump, "hold", (const char *[]){"--value=contentions", NULL});
	harness_assert_near(delay_of(hold_n, "hold_briefly"), harness_out_value(r.out, "sections"),
	                    0.15, "hold view, sections of hold_briefly");
	uint64_t held = harness_out_value(r.out, "held_ns");
	uint64_t kept = harness_out_value(r.out, "held_delayed_ns");
	uint64_t pure = held > kept ? held - kept : 0, got = delay_of(hold, "hold_briefly");
	cr_assert(got >= 0.60 * (double)pure && got <= 1.40 * (double)pure + 5.0 * (double)kept,
	          "hold view, time held in hold_briefly: %" PRIu64 " ns, the program held %" PRIu64
	          " ns, %" PRIu64 " of them around holds kept from a CPU:\n%s",
	          got, held, kept, hold);
	free(hold);
	free(hold_n);
	harness_result_free(&r);
}

/* hold=0: no hold samples at all (the dump says it sampled none, and
 * there are none), the waits as before. */
Test(views, hold_0_samples_no_hold)
{
	char dump[PATH_MAX], err[256];
	struct run_result r, s;
	struct dump d;
	harness_profile("hold_time", (const char *[]){"3", "20", NULL}, "hold=0", 30, &r, dump);
	char *waiter = harness_folded(dump, "waiter", NULL);
	/* less at most what a preemption between the program's clock and the
	 * hook's took, which its run delay over the wait bounds */
	harness_assert_wait(delay_of(waiter, "first_contention"), harness_out_value(r.out, "waited_ns"),
	                    harness_out_value(r.out, "waited_delayed_ns"), 0.10,
	                    "hold=0: waiter view, first_contention");
	harness_symbolize((const char *[]){"--format=folded", "--view=hold", dump, NULL}, &s);
	size_t lines = 0;
	harness_folded_sum(s.out, "long_critical_section", &lines);
	cr_assert_eq(lines, 0, "hold=0, yet:\n%s", s.out);

	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s: %s", dump, err);
	cr_assert_eq(d.meta.hold_rate, 0, "hold=0, yet the dump says 1 in %u", d.meta.hold_rate);
	cr_assert_eq(d.totals.holds, 0, "hold=0, yet %" PRIu64 " holds", d.totals.holds);
	for (size_t i = 0; i < d.nbuckets; i++)
		cr_assert_neq(d.buckets[i].view, LC_VIEW_HOLD, "hold=0, yet a hold-view bucket");
	dump_free(&d);
	free(waiter);
	harness_result_free(&s);
	harness_result_free(&r);
}

/* ---- conservation ------------------------------------------------------------ */

/* Sum over folded lines that are not sentinels. */
static uint64_t stacks_only(const char *folded)
{
	return harness_folded_sum(folded, NULL, NULL) -
	       harness_folded_sum(folded, "_LostContendedLock", NULL) -
	       harness_folded_sum(folded, "_NotChargedToHolder", NULL);
}

enum { WAIT, HOLDER, HOLD, NVIEWS };
static const char *const raw_views[NVIEWS] = {"wait", "holder", "hold"};

/* lockcontend-rawdump's lines about one dump, added up here, apart from
 * its own check lines. */
struct raw_sums {
	uint64_t count[NVIEWS], delay[NVIEWS];     /* buckets + sentinel */
	uint64_t want_count[NVIEWS], want_delay[NVIEWS]; /* from TOTALS */
	uint64_t delay_ns, caused_ns, uncharged_ns;  /* TOTALS */
	uint64_t locks_uncharged_ns, locks_trylock_failures, trylock_failures;
	uint64_t reentrant_ns; /* lost wait reentrant: waits registered with no lock */
	uint64_t locks_refused;
	int conserved; /* "check VIEW ...: conserved" lines */
};

static int raw_view(const char *name)
{
	for (int v = 0; v < NVIEWS; v++)
		if (strcmp(name, raw_views[v]) == 0)
			return v;
	cr_assert_fail("rawdump: unknown view '%s'", name);
	return 0;
}

static void raw_line(const char *line, struct raw_sums *s)
{
	char view[16], kind[16], verdict[16];
	unsigned long long a, b, c, d, e, f;
	if (sscanf(line, "bucket %15s %15s lock %*s count %llu delay_ns %llu", view, kind, &a,
	           &b) == 4 ||
	    sscanf(line, "sentinel %15s _LostContendedLock count %llu delay_ns %llu", view, &a,
	           &b) == 3) {
		s->count[raw_view(view)] += a;
		s->delay[raw_view(view)] += b;
	} else if (sscanf(line, "totals contentions %llu delay_ns %llu", &a, &b) == 2) {
		s->want_count[WAIT] = a;
		s->want_delay[WAIT] = s->delay_ns = b;
	} else if (sscanf(line,
	                  "totals caused_count %llu caused_ns %llu uncharged_ns %llu holds %llu "
	                  "hold_ns %llu trylock_failures %llu",
	                  &a, &b, &c, &d, &e, &f) == 6) {
		s->want_count[HOLDER] = a;
		s->want_delay[HOLDER] = s->caused_ns = b;
		s->uncharged_ns = c;
		s->want_count[HOLD] = d;
		s->want_delay[HOLD] = e;
		s->trylock_failures = f;
	} else if (sscanf(line, "lock %*s %15s trylock_failures %llu timeouts %llu uncharged_ns %llu",
	                  kind, &a, &b, &c) == 4) {
		s->locks_trylock_failures += a;
		s->locks_uncharged_ns += c;
	} else if (sscanf(line, "lost wait reentrant count %*u delay_ns %llu", &a) == 1) {
		s->reentrant_ns = a;
	} else if (sscanf(line, "live state %*s epoch %*u snapshots %*u snapshot_mono_ns %*u "
	                        "trylock_failures %*u stacks_refused %*u locks_refused %llu",
	                  &a) == 1) {
		s->locks_refused = a;
	} else if (sscanf(line, "check %15s buckets+sentinel count %*u delay_ns %*u: %15s", view,
	                  verdict) == 2) {
		s->conserved += strcmp(verdict, "conserved") == 0;
	}
}

static void rawdump_sums(const char *dump, struct raw_sums *s)
{
	char exe[PATH_MAX];
	struct run_result r;
	cr_assert(realpath("build/lockcontend-rawdump", exe), "no build/lockcontend-rawdump");
	cr_assert_eq(harness_run((const char *[]){exe, dump, NULL}, NULL, NULL, false, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "lockcontend-rawdump: exit %d\n%s%s", r.exit_code, r.out, r.err);
	memset(s, 0, sizeof(*s));
	char *save = NULL;
	for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		raw_line(line, s);
	harness_result_free(&r);
}

/* 8 threads, 4 locks (mutex, rwlock, spin lock, C11 mtx), every view on:
 * each view's buckets and lost add up to its totals; each kind's stacks
 * add up to all the stacks. */
Test(views, every_view_is_conserved_under_a_mixed_load)
{
	char dump[PATH_MAX];
	struct run_result r;
	struct raw_sums s;
	harness_profile("mixed", (const char *[]){"8", "300", NULL}, "hold=1", 60, &r, dump);
	harness_result_free(&r);

	rawdump_sums(dump, &s);
	for (int v = 0; v < NVIEWS; v++) {
		cr_assert(s.count[v] > 0, "%s view: no event in 8 threads x 300 ms", raw_views[v]);
		cr_assert_eq(s.count[v], s.want_count[v], "%s view: buckets+lost count %" PRIu64
		             ", totals %" PRIu64, raw_views[v], s.count[v], s.want_count[v]);
		cr_assert_eq(s.delay[v], s.want_delay[v], "%s view: buckets+lost %" PRIu64
		             " ns, totals %" PRIu64, raw_views[v], s.delay[v], s.want_delay[v]);
	}
	cr_assert_eq(s.conserved, NVIEWS, "rawdump's own checks: %d views conserved", s.conserved);

	static const char *const views[] = {"waiter", "holder", "hold"};
	static const char *const kinds[] = {"--kind=mutex", "--kind=rdlock", "--kind=wrlock",
	                                    "--kind=spin"};
	for (size_t v = 0; v < 3; v++) {
		char *all = harness_folded(dump, views[v], (const char *[]){"--value=contentions", NULL});
		uint64_t whole = stacks_only(all), parts = 0;
		for (size_t k = 0; k < 4; k++) {
			char *one = harness_folded(dump, views[v],
			                           (const char *[]){"--value=contentions", kinds[k], NULL});
			uint64_t part = stacks_only(one);
			if (v == 0)
				cr_assert(part > 0, "no %s contention in 8 threads x 300 ms", kinds[k] + 7);
			parts += part;
			free(one);
		}
		cr_assert_eq(parts, whole, "%s view: the kinds' stacks add up to %" PRIu64 ", all %" PRIu64,
		             views[v], parts, whole);
		free(all);
	}
}

/* The relations between the views and the lock records that the dump
 * format states (include/lockcontend/dumpfmt.h): every ns waited is either
 * charged to an unlock or not charged (no wait is in progress: every thread
 * was joined before the dump), and the locks' records add up to the totals
 * (none was refused) but for the waits met inside lockcontend's own work
 * (re-entrant: they register with no lock, so they are all uncharged). */
Test(views, waiting_is_charged_or_uncharged_exactly_once)
{
	char dump[PATH_MAX];
	struct run_result r;
	struct raw_sums s;
	harness_profile("mixed", (const char *[]){"8", "300", NULL}, "hold=1", 60, &r, dump);
	harness_result_free(&r);

	rawdump_sums(dump, &s);
	cr_assert(s.caused_ns > 0 && s.trylock_failures > 0, "too little contention");
	cr_assert_eq(s.caused_ns + s.uncharged_ns, s.delay_ns,
	             "caused %" PRIu64 " + uncharged %" PRIu64 " = %" PRIu64 " ns, waited %" PRIu64,
	             s.caused_ns, s.uncharged_ns, s.caused_ns + s.uncharged_ns, s.delay_ns);
	cr_assert_eq(s.locks_refused, 0, "a lock was refused: the sums below cannot hold");
	cr_assert_eq(s.locks_uncharged_ns + s.reentrant_ns, s.uncharged_ns,
	             "the locks' uncharged_ns %" PRIu64 " + re-entrant waits %" PRIu64
	             " = %" PRIu64 ", totals %" PRIu64,
	             s.locks_uncharged_ns, s.reentrant_ns, s.locks_uncharged_ns + s.reentrant_ns,
	             s.uncharged_ns);
	cr_assert_eq(s.locks_trylock_failures, s.trylock_failures,
	             "the locks' trylock_failures add up to %" PRIu64 ", totals %" PRIu64,
	             s.locks_trylock_failures, s.trylock_failures);
}

/* A plain mutex's unlock charges the waiting it ended after its release
 * (recorder_release_charge): charge_window holds that window open while
 * another thread takes the mutex, holds it until a third sleeps on it,
 * and releases it.  That release, first, is charged the waiter's 5 x 20 ms;
 * main's, after it, only what was left; and every nanosecond waited is
 * still charged or uncharged exactly once. */
Test(views, a_release_between_an_unlock_and_its_charge_is_charged_once)
{
	char dump[PATH_MAX];
	struct run_result r;
	struct raw_sums s;
	harness_profile("charge_window", (const char *[]){"5", NULL}, "hold=0", 60, &r, dump);
	cr_assert(strstr(r.out, "windows 5 rounds 5"), "the window was not met:\n%s", r.out);
	harness_result_free(&r);

	char *holder = harness_folded(dump, "holder", NULL);
	uint64_t barger = delay_of(holder, "barger_unlock"), main_ = delay_of(holder, "main_unlock");
	cr_assert(barger >= 5 * 20 * 1000000ull * 9 / 10,
	          "barger_unlock charged %" PRIu64 " ns, not the waiter's 5 x 20 ms:\n%s", barger,
	          holder);
	cr_assert(main_ < barger, "main_unlock charged %" PRIu64 " ns, more than the barger:\n%s",
	          main_, holder);
	free(holder);

	rawdump_sums(dump, &s);
	cr_assert_eq(s.caused_ns + s.uncharged_ns, s.delay_ns,
	             "caused %" PRIu64 " + uncharged %" PRIu64 " = %" PRIu64 " ns, waited %" PRIu64,
	             s.caused_ns, s.uncharged_ns, s.caused_ns + s.uncharged_ns, s.delay_ns);
	cr_assert_eq(s.locks_uncharged_ns, s.uncharged_ns,
	             "the lock's uncharged_ns %" PRIu64 ", totals %" PRIu64, s.locks_uncharged_ns,
	             s.uncharged_ns);
	cr_assert_eq(s.conserved, NVIEWS, "rawdump's own checks: %d views conserved", s.conserved);
}
