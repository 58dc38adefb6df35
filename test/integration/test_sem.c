/*
 * test_sem.c — POSIX semaphores (kind sem) against a program that knows
 * the truth (fixtures/sem.c).
 *
 * A binary semaphore used as a mutex: the waiter view of --kind=sem is
 * within 5% of the program's own total wait, the holder view charges the
 * function that posts (give_turn), and every output names the kind (text,
 * pprof labels, the HTML lock table, rawdump, top).  A program built
 * before glibc 2.34, bound to sem_wait@GLIBC_2.2.5, is hooked as well.
 * Threads that contend on a pthread mutex and on a semaphore in turn have
 * each wait counted once, under its own kind.  sem_timedwait and
 * sem_clockwait that time out are timeouts.  A wait cancelled by
 * pthread_cancel or cut by a signal handler (EINTR) leaves the program
 * printing, return code for return code and errno for errno, what it
 * prints without the preload, and a profile whose views add up, whose
 * lock's charges never exceed its waits (a cancelled wait left behind
 * would be charged to the next post), and whose next round is measured
 * right.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

/* The folded view of one kind of lock. */
static char *kind_view(const char *dump, const char *view, const char *kind)
{
	char opt[64];
	snprintf(opt, sizeof(opt), "--kind=%s", kind);
	return harness_folded(dump, view, (const char *[]){opt, NULL});
}

static uint64_t sum_of(const char *folded, const char *frame)
{
	return harness_folded_sum(folded, frame, NULL);
}

/* The run's stdout less the lines that begin with `skip` (measurements). */
static char *without_lines(const char *out, const char *skip)
{
	char *copy = strdup(out), *w = copy;
	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (strncmp(p, skip, strlen(skip)) != 0) {
			memcpy(w, p, len);
			w += len;
		}
		p += len;
	}
	*w = '\0';
	return copy;
}

/* The fixture in `mode` without the preload: what it prints by itself. */
static char *plain_output(const char *mode)
{
	struct run_result r;
	const char *argv[] = {harness_fixture("sem"), mode, NULL};
	cr_assert_eq(harness_run(argv, NULL, NULL, false, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "sem %s without the preload: %s", mode, r.err);
	char *out = strdup(r.out);
	harness_result_free(&r);
	return out;
}

/* Every lock's holder charges and uncharged waiting add up to its waits:
 * a wait that left its cell behind would be charged again. */
static void expect_locks_add_up(const struct dump *d)
{
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert(dump_view_conserved(d, (enum lc_view)v), "view %d does not add up", v);
	for (size_t i = 0; i < d->nlocks; i++) {
		const struct dump_lock *l = &d->locks[i];
		uint64_t waited = 0, caused = 0;
		for (size_t k = 0; k < d->nbuckets; k++) {
			const struct dump_bucket *b = &d->buckets[k];
			if (b->lock != l->addr)
				continue;
			if (b->view == LC_VIEW_WAIT)
				waited += b->delay_ns;
			else if (b->view == LC_VIEW_HOLDER)
				caused += b->delay_ns;
		}
		cr_assert_eq(caused + l->uncharged_ns, waited,
		             "lock %#" PRIx64 ": %" PRIu64 " charged + %" PRIu64
		             " uncharged, %" PRIu64 " waited",
		             l->addr, caused, l->uncharged_ns, waited);
		cr_assert_eq(l->kind, LC_KIND_SEM);
	}
}

/* ---- a binary semaphore as a mutex ------------------------------------------------- */

Test(sem, a_binary_semaphore_is_a_mutex_in_every_view)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("sem", (const char *[]){"mutex", "3", "20", "5", NULL}, "", 60, &r, dump);
	uint64_t waited = harness_out_value(r.out, "waited_ns");

	char *sem = kind_view(dump, "waiter", "sem");
	/* less at most what preemptions between the threads' clocks and the
	 * hook's took, which their run delay over the waits bounds */
	harness_assert_wait(sum_of(sem, "take_turn"), waited, harness_out_value(r.out, "delayed_ns"),
	                    0.05, "--kind=sem, take_turn");
	char *mutex = kind_view(dump, "waiter", "mutex");
	cr_assert_eq(sum_of(mutex, NULL), 0, "semaphore waits as kind mutex:\n%s", mutex);

	/* Charged to the post that ended the waiting; the rest is latency. */
	char *holder = kind_view(dump, "holder", "sem");
	uint64_t posted = sum_of(holder, "give_turn"), all = sum_of(holder, NULL);
	cr_assert(posted > waited * 9 / 10, "give_turn charged %" PRIu64 " of %" PRIu64 ":\n%s",
	          posted, waited, holder);
	cr_assert_eq(all, posted + sum_of(holder, "_NotChargedToHolder"),
	             "something besides give_turn charged:\n%s", holder);

	struct run_result s;
	harness_symbolize((const char *[]){dump, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	cr_assert(strstr(s.out, "on turn (sem) in "), "the text report's stacks:\n%s", s.out);
	harness_result_free(&s);

	char pb[PATH_MAX + 8], html[PATH_MAX + 8];
	snprintf(pb, sizeof(pb), "%s.pb.gz", dump);
	harness_symbolize((const char *[]){"--format=pprof", "-o", pb, dump, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	harness_result_free(&s);
	char *tags = harness_go_pprof("-tags", pb);
	cr_assert(strstr(tags, ": sem\n") && strstr(tags, ": turn\n"), "pprof labels:\n%s", tags);
	free(tags);

	snprintf(html, sizeof(html), "%s.html", dump);
	harness_symbolize((const char *[]){"--format=html", "-o", html, dump, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	harness_result_free(&s);
	FILE *f = fopen(html, "r");
	cr_assert_not_null(f);
	char *page = calloc(1, 8 << 20);
	size_t n = fread(page, 1, (8 << 20) - 1, f);
	fclose(f);
	page[n] = '\0';
	cr_assert(strstr(page, "\"kind\":\"sem\""), "the HTML lock table names no sem");
	free(page);

	const char *raw[] = {"build/lockcontend-rawdump", dump, NULL};
	cr_assert_eq(harness_run(raw, NULL, NULL, false, 60, &s), 0);
	cr_assert(strstr(s.out, "bucket wait sem lock ") && strstr(s.out, "bucket holder sem lock "),
	          "%s", s.out);
	harness_result_free(&s);
	const char *top[] = {"build/lockcontend-top", "--once", dump, NULL};
	cr_assert_eq(harness_run(top, NULL, NULL, false, 60, &s), 0);
	cr_assert(strstr(s.out, "  sem     turn\n"), "top's lock table:\n%s", s.out);
	harness_result_free(&s);

	free(sem);
	free(mutex);
	free(holder);
	harness_result_free(&r);
}

/* A program linked before glibc 2.34 calls sem_wait@GLIBC_2.2.5 (the
 * premise is checked): the same hooks take its calls. */
Test(sem, a_program_bound_to_the_old_symbol_versions_is_hooked)
{
#if defined(__x86_64__)
	struct run_result o;
	const char *objdump[] = {"/usr/bin/objdump", "-T", harness_fixture("sem_old"), NULL};
	cr_assert_eq(harness_run(objdump, NULL, NULL, false, 60, &o), 0);
	cr_assert(strstr(o.out, "(GLIBC_2.2.5) sem_wait\n") &&
	              strstr(o.out, "(GLIBC_2.2.5) sem_post\n"),
	          "sem_old is not bound to the old versions:\n%s", o.out);
	harness_result_free(&o);
#endif
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("sem_old", (const char *[]){"mutex", "2", "15", "5", NULL}, "", 60, &r, dump);
	char *sem = kind_view(dump, "waiter", "sem");
	harness_assert_wait(sum_of(sem, "take_turn"), harness_out_value(r.out, "waited_ns"),
	                    harness_out_value(r.out, "delayed_ns"), 0.05,
	                    "sem_wait@GLIBC_2.2.5, take_turn");
	char *holder = kind_view(dump, "holder", "sem");
	cr_assert(sum_of(holder, "give_turn") > 0, "sem_post@GLIBC_2.2.5 not charged:\n%s", holder);
	free(sem);
	free(holder);
	harness_result_free(&r);
}

/* Mutex and semaphore waits of the same threads: each counted once, under
 * its kind (glibc's mutexes do not go through the semaphore hooks, nor the
 * other way round). */
Test(sem, mutex_and_semaphore_waits_are_each_counted_once)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("sem", (const char *[]){"both", "3", "15", "4", NULL}, "", 60, &r, dump);
	uint64_t m = harness_out_value(r.out, "mutex_waited_ns");
	uint64_t s = harness_out_value(r.out, "sem_waited_ns");
	char *mv = kind_view(dump, "waiter", "mutex"), *sv = kind_view(dump, "waiter", "sem");
	harness_assert_wait(sum_of(mv, "take_mutex"), m, harness_out_value(r.out, "mutex_delayed_ns"),
	                    0.05, "--kind=mutex, take_mutex");
	harness_assert_wait(sum_of(sv, "take_turn"), s, harness_out_value(r.out, "sem_delayed_ns"),
	                    0.05, "--kind=sem, take_turn");
	cr_assert_eq(sum_of(mv, NULL), sum_of(mv, "take_mutex"), "more than take_mutex:\n%s", mv);
	cr_assert_eq(sum_of(sv, NULL), sum_of(sv, "take_turn"), "more than take_turn:\n%s", sv);
	char *all = harness_folded(dump, "waiter", NULL);
	cr_assert_eq(sum_of(all, NULL), sum_of(mv, NULL) + sum_of(sv, NULL),
	             "the kinds do not add up to the whole view:\n%s", all);
	free(mv);
	free(sv);
	free(all);
	harness_result_free(&r);
}

/* ---- giving up ---------------------------------------------------------------------- */

Test(sem, timed_and_clock_waits_that_time_out_are_timeouts)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("sem", (const char *[]){"timeout", "200", NULL}, "", 60, &r, dump);
	cr_assert(strstr(r.out, "timedwait -1 Connection timed out\n") &&
	              strstr(r.out, "clockwait -1 Connection timed out\n"),
	          "%s", r.out);
	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s", err);
	uint64_t timedout = harness_gave_up(&d, LC_KIND_SEM);
	cr_assert_eq(timedout, 2, "two timed-out sem waits, %" PRIu64 " in buckets", timedout);
	cr_assert_eq(d.totals.timeouts, 2);
	cr_assert(d.nlocks == 1 && d.locks[0].timeouts == 2 && d.locks[0].kind == LC_KIND_SEM);
	expect_locks_add_up(&d);
	dump_free(&d);
	/* Each waited its 50 ms, less what a preemption before the wait took
	 * of them (the deadline is read first), and more by its wake-up: the
	 * kernel's count of the thread's time kept from a CPU meanwhile is
	 * allowed for, both ways.  The process's first wait is the one cut
	 * short, its thread's time slice spent on starting up: 5 runs in 40
	 * on a loaded core recorded 27 ms of it with 43 ms kept from a CPU,
	 * once 1 ms with 80. */
	char *sem = kind_view(dump, "waiter", "sem");
	uint64_t timed = harness_out_value(r.out, "timedwait_delayed_ns"),
	         clocked = harness_out_value(r.out, "clockwait_delayed_ns"),
	         t = sum_of(sem, "wait_timed"), c = sum_of(sem, "wait_clocked");
	cr_assert(t + timed >= 40000000 && c + clocked >= 40000000 && t <= 55000000 + timed &&
	              c <= 55000000 + clocked,
	          "each waited its 50 ms (%" PRIu64 " and %" PRIu64 " ns kept from a CPU):\n%s",
	          timed, clocked, sem);
	free(sem);
	harness_result_free(&r);
}

/* pthread_cancel in sem_wait, a cancellation pending at a sem_wait on a
 * free semaphore (acted on, as glibc's own sem_wait does), and a handler
 * that calls pthread_exit during a wait: the program prints what it prints
 * alone; each wait gave up once, its cell is gone (the next post is
 * charged with the next wait only). */
Test(sem, a_cancelled_wait_leaves_nothing_behind)
{
	char *plain = plain_output("cancel");
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("sem", (const char *[]){"cancel", NULL}, "", 60, &r, dump);
	/* less the measurements: after_waited_ns, after_delayed_ns */
	char *a = without_lines(plain, "after_"), *b = without_lines(r.out, "after_");
	cr_assert_str_eq(b, a, "with the preload:\n%s\nwithout:\n%s", r.out, plain);
	cr_assert(strstr(b, "cancelled in the wait 1\ncancelled before the wait 1, value 1\n"
	                    "exited from a handler in the wait 1\n"),
	          "%s", b);

	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s", err);
	expect_locks_add_up(&d);
	dump_free(&d);
	char *waiter = kind_view(dump, "waiter", "sem"), *holder = kind_view(dump, "holder", "sem");
	/* one 20 ms wait, 5%: 1 ms for a preemption between the program's
	 * clock and the hook's, which its run delay bounds instead */
	harness_assert_wait(sum_of(waiter, "wait_after"), harness_out_value(r.out, "after_waited_ns"),
	                    harness_out_value(r.out, "after_delayed_ns"), 0.05,
	                    "the round after the cancellation, wait_after");
	cr_assert(sum_of(waiter, "wait_forever") > 0, "the cancelled wait is counted:\n%s", waiter);
	char *counts = harness_folded(dump, "waiter", (const char *[]){"--value=contentions", NULL});
	cr_assert(sum_of(counts, "wait_forever") == 1 && sum_of(counts, "wait_exiting") == 1 &&
	              sum_of(counts, NULL) == 3,
	          "each wait that gave up counted once (a handler's pthread_exit runs the "
	          "cancellation's cleanup too):\n%s",
	          counts);
	free(counts);
	cr_assert_leq(sum_of(holder, "post_after"), sum_of(waiter, "wait_after"),
	              "post_after charged with the cancelled wait too:\n%s\n%s", holder, waiter);
	free(waiter);
	free(holder);
	free(a);
	free(b);
	free(plain);
	harness_result_free(&r);
}

/* A handler interrupts sem_wait (EINTR), with and without SA_RESTART; a
 * program retries; every call's return code and errno in every state
 * (free, at 0, bad timeouts, contended, overflowing): the same lines with
 * and without the preload, and the profile adds up. */
Test(sem, eintr_and_every_return_code_as_without_the_preload)
{
	char *plain = plain_output("eintr");
	cr_assert(strstr(plain, "interrupted (no SA_RESTART): -1 Interrupted system call\n"),
	          "the premise: %s", plain);
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile("sem", (const char *[]){"eintr", NULL}, "", 60, &r, dump);
	cr_assert_str_eq(r.out, plain, "with the preload:\n%s\nwithout:\n%s", r.out, plain);
	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s", err);
	expect_locks_add_up(&d);
	uint64_t gave_up = harness_gave_up(&d, LC_KIND_SEM);
	/* two EINTRs (the first and the retried wait) and two ETIMEDOUTs */
	cr_assert_eq(gave_up, 4, "waits that gave up: %" PRIu64, gave_up);
	dump_free(&d);
	free(plain);
	harness_result_free(&r);
}
