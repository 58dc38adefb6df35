/*
 * test_kinds.c — every interposed lock family against programs that know the truth.
 *
 * Read-write locks (read waits are kind rdlock, write waits kind wrlock),
 * spin locks (spinning is waiting, kind spin), C11 mtx_t (kind mutex),
 * C++ std::mutex and std::shared_mutex in class methods (demangled names),
 * and condition variables, whose sleep is never lock contention nor hold
 * time.  Each fixture measures its waits and prints them; the folded
 * views, filtered with --kind, must agree within 10%, and the holder view
 * must charge the function that unlocked.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

static uint64_t delay_of(const char *folded, const char *frame)
{
	return harness_folded_sum(folded, frame, NULL);
}

/* The folded view of one kind of lock. */
static char *kind_view(const char *dump, const char *view, const char *kind)
{
	char opt[64];
	snprintf(opt, sizeof(opt), "--kind=%s", kind);
	return harness_folded(dump, view, (const char *[]){opt, NULL});
}

/* ---- condition variables --------------------------------------------------------- */

/* ~420 ms asleep in pthread_cond_wait, _timedwait and _clockwait with the
 * mutex released: neither contention nor hold time.  The mutex is really
 * contended once (60 ms), so hold=1 samples every critical section after. */
Test(kinds, condvar_sleep_is_neither_wait_nor_hold)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("condvar", (const char *[]){"5", "60", NULL}, "hold=1", 30, &r, dump);
	uint64_t slept = harness_out_value(r.out, "slept_ns");
	uint64_t waited = harness_out_value(r.out, "waited_ns");

	char *waiter = harness_folded(dump, "waiter", NULL);
	uint64_t contended = delay_of(waiter, "contend_once");
	/* less at most what a preemption between the program's clock and the
	 * hook's took, which its run delay over the wait bounds */
	harness_assert_wait(contended, waited, harness_out_value(r.out, "delayed_ns"), 0.10,
	                    "the one real contention, contend_once");
	uint64_t rest = harness_folded_sum(waiter, NULL, NULL) - contended;
	cr_assert(rest < slept / 20,
	          "%" PRIu64 " ns of waits besides contend_once, for %" PRIu64 " ns of cond sleep:\n%s",
	          rest, slept, waiter);

	char *hold = harness_folded(dump, "hold", NULL);
	char *hold_n = harness_folded(dump, "hold", (const char *[]){"--value=contentions", NULL});
	cr_assert(delay_of(hold_n, "consume_items") > 0,
	          "hold=1, queue_lock contended: consume_items' sections are sampled:\n%s", hold_n);
	uint64_t held = harness_folded_sum(hold, NULL, NULL) - delay_of(hold, "hold_queue");
	cr_assert(held < slept / 20,
	          "%" PRIu64 " ns held besides hold_queue, for %" PRIu64 " ns of cond sleep:\n%s", held,
	          slept, hold);
	free(waiter);
	free(hold);
	free(hold_n);
	harness_result_free(&r);
}

/* ---- read-write locks --------------------------------------------------------------- */

Test(kinds, rwlock_read_and_write_waits_apart)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("rwlock", (const char *[]){"3", "40", NULL}, "", 30, &r, dump);
	uint64_t rd = harness_out_value(r.out, "rd_waited_ns");
	uint64_t wr = harness_out_value(r.out, "wr_waited_ns");
	uint64_t caused = harness_out_value(r.out, "writer_caused_ns");
	/* each side's clock is read before a post that wakes the other thread,
	 * then its lock call: a preemption there is in its measure only */
	uint64_t rdd = harness_out_value(r.out, "rd_delayed_ns");
	uint64_t wrd = harness_out_value(r.out, "wr_delayed_ns");

	char *rdv = kind_view(dump, "waiter", "rdlock");
	char *wrv = kind_view(dump, "waiter", "wrlock");
	char *rwv = kind_view(dump, "waiter", "rwlock");
	harness_assert_wait(delay_of(rdv, "read_table"), rd, rdd, 0.10, "--kind=rdlock, read_table");
	harness_assert_wait(delay_of(wrv, "update_table"), wr, wrd, 0.10,
	                    "--kind=wrlock, update_table");
	cr_assert_eq(delay_of(rdv, "update_table"), 0, "a write wait as rdlock:\n%s", rdv);
	cr_assert_eq(delay_of(wrv, "read_table"), 0, "a read wait as wrlock:\n%s", wrv);
	harness_assert_wait(delay_of(rwv, "read_table") + delay_of(rwv, "update_table"), rd + wr,
	                    rdd + wrd, 0.10, "--kind=rwlock, both");
	char *mutexv = kind_view(dump, "waiter", "mutex");
	cr_assert_eq(harness_folded_sum(mutexv, "read_table", NULL) +
	                 harness_folded_sum(mutexv, "update_table", NULL),
	             0, "rwlock waits as kind mutex:\n%s", mutexv);

	/* The writer's unlock ended the reader's waits, the reader's the writer's. */
	char *holder = harness_folded(dump, "holder", NULL);
	harness_assert_wait(delay_of(holder, "write_table"), caused, rdd, 0.10,
	                    "holder view, write_table");
	harness_assert_wait(delay_of(holder, "scan_table"), harness_out_value(r.out, "reader_caused_ns"),
	                    wrd, 0.10, "holder view, scan_table");
	free(rdv);
	free(wrv);
	free(rwv);
	free(mutexv);
	free(holder);
	harness_result_free(&r);
}

Test(kinds, rwlock_kinds_are_pprof_labels)
{
	char dump[PATH_MAX], pb[PATH_MAX + 8];
	struct run_result r, s;
	harness_profile("rwlock", (const char *[]){"1", "20", NULL}, "", 30, &r, dump);
	snprintf(pb, sizeof(pb), "%s.pb.gz", dump);
	harness_symbolize((const char *[]){"--format=pprof", "-o", pb, dump, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	char *tags = harness_go_pprof("-tags", pb);
	cr_assert(strstr(tags, ": rdlock\n") && strstr(tags, ": wrlock\n"), "kinds:\n%s", tags);
	cr_assert(strstr(tags, ": table_lock\n"), "lock name:\n%s", tags);
	free(tags);
	harness_result_free(&s);
	harness_result_free(&r);
}

/* ---- spin locks ---------------------------------------------------------------------- */

Test(kinds, spinning_is_waiting)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("spin", (const char *[]){"2", "80", NULL}, "", 30, &r, dump);
	uint64_t spun = harness_out_value(r.out, "spun_ns");
	/* the spinner's clock is read before its lock call: a preemption
	 * there is in its measures only (the wait's and the holder's charge) */
	uint64_t delayed = harness_out_value(r.out, "delayed_ns");

	char *spin = kind_view(dump, "waiter", "spin");
	harness_assert_wait(delay_of(spin, "spin_for_stats"), spun, delayed, 0.10,
	                    "--kind=spin, spin_for_stats");
	char *spin_n = harness_folded(dump, "waiter",
	                              (const char *[]){"--kind=spin", "--value=contentions", NULL});
	cr_assert_eq(delay_of(spin_n, "spin_for_stats"), 2, "two spins; a failed trylock is none:\n%s",
	             spin_n);
	char *mutexv = kind_view(dump, "waiter", "mutex");
	cr_assert_eq(delay_of(mutexv, "spin_for_stats"), 0, "spinning as kind mutex:\n%s", mutexv);
	char *holder = harness_folded(dump, "holder", NULL);
	harness_assert_wait(delay_of(holder, "hold_stats"), harness_out_value(r.out, "caused_ns"),
	                    delayed, 0.10, "holder view, hold_stats");
	free(spin);
	free(spin_n);
	free(mutexv);
	free(holder);
	harness_result_free(&r);
}

/* ---- C11 threads --------------------------------------------------------------------- */

Test(kinds, c11_mtx_lock_waits_and_cnd_wait_sleeps)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("c11", (const char *[]){"3", "50", NULL}, "", 30, &r, dump);
	uint64_t waited = harness_out_value(r.out, "waited_ns");
	uint64_t slept = harness_out_value(r.out, "slept_ns");
	/* c11_wait's clock is read before its mtx_lock: a preemption there is
	 * in its measures only (the wait's and the holder's charge) */
	uint64_t delayed = harness_out_value(r.out, "delayed_ns");

	char *mutexv = kind_view(dump, "waiter", "mutex");
	harness_assert_wait(delay_of(mutexv, "c11_wait"), waited, delayed, 0.10,
	                    "--kind=mutex, c11_wait");
	char *waiter = harness_folded(dump, "waiter", NULL);
	uint64_t rest = harness_folded_sum(waiter, NULL, NULL) - delay_of(waiter, "c11_wait") -
	                delay_of(waiter, "c11_give_up");
	cr_assert(rest < slept / 20,
	          "%" PRIu64 " ns of waits besides c11_wait and c11_give_up, for %" PRIu64
	          " ns of cnd sleep:\n%s",
	          rest, slept, waiter);
	char *holder = harness_folded(dump, "holder", NULL);
	harness_assert_wait(delay_of(holder, "c11_hold"), harness_out_value(r.out, "caused_ns"),
	                    delayed, 0.10, "holder view, c11_hold");
	free(mutexv);
	free(waiter);
	free(holder);
	harness_result_free(&r);
}

/* ---- C++ ------------------------------------------------------------------------------- */

Test(kinds, cxx_methods_are_named_in_waiter_and_holder_views)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("cache", (const char *[]){"3", "40", NULL}, "", 30, &r, dump);
	/* each waiting method reads its clock, then posts the holder awake,
	 * then locks: a preemption there is in its measures only */
	uint64_t lookupd = harness_out_value(r.out, "lookup_delayed_ns");
	uint64_t peekd = harness_out_value(r.out, "peek_delayed_ns");

	char *waiter = harness_folded(dump, "waiter", NULL);
	harness_assert_wait(delay_of(waiter, "Cache::lookup(int)"),
	                    harness_out_value(r.out, "lookup_waited_ns"), lookupd, 0.10,
	                    "waiter view, Cache::lookup(int) (std::mutex)");
	harness_assert_wait(delay_of(waiter, "Cache::peek(int) const"),
	                    harness_out_value(r.out, "peek_waited_ns"), peekd, 0.10,
	                    "waiter view, Cache::peek(int) const (std::shared_mutex)");
	cr_assert(!strstr(waiter, "_ZN5Cache"), "mangled names:\n%s", waiter);

	char *holder = harness_folded(dump, "holder", NULL);
	harness_assert_wait(delay_of(holder, "Cache::refill(int)"),
	                    harness_out_value(r.out, "refill_caused_ns"), lookupd, 0.10,
	                    "holder view, Cache::refill(int)");
	harness_assert_wait(delay_of(holder, "Cache::rebuild(int)"),
	                    harness_out_value(r.out, "rebuild_caused_ns"), peekd, 0.10,
	                    "holder view, Cache::rebuild(int)");

	/* A shared reader waiting for an exclusive writer is a read wait. */
	char *rdv = kind_view(dump, "waiter", "rdlock");
	cr_assert(delay_of(rdv, "Cache::peek(int) const") > 0, "peek is not kind rdlock:\n%s", rdv);
	cr_assert_eq(delay_of(rdv, "Cache::lookup(int)"), 0, "std::mutex as rdlock:\n%s", rdv);
	free(waiter);
	free(holder);
	free(rdv);
	harness_result_free(&r);
}
