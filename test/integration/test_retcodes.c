/*
 * test_retcodes.c — the preload must not change what a hooked call returns.
 *
 * test/fixtures/retcodes prints the return code and errno of every hooked
 * call on every mutex kind in every state (free, held, owner died, not
 * recoverable, bad deadline, bad clock, ...); test/fixtures/retcodes_more
 * does the same for the rwlock, spin lock, condition variable and C11
 * mtx_/cnd_ hooks.  Their output depends only on glibc and the kernel, so a
 * run under the preload must print exactly what a run without it prints,
 * whatever the preload's configuration.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

#define RUN_TIMEOUT_S 60

/* Run fixture `name` in dir with LOCKCONTEND=config (none if NULL). */
static void retcodes_exec(const char *name, const char *label, bool preload, const char *config,
                          const char *dir, struct run_result *r)
{
	const char *argv[] = { harness_fixture(name), NULL };
	const char *env[] = { NULL, NULL };
	char var[PATH_MAX + 64];

	if (config) {
		snprintf(var, sizeof var, "LOCKCONTEND=%s", config);
		env[0] = var;
	}
	cr_assert_eq(harness_run(argv, env, dir, preload, RUN_TIMEOUT_S, r), 0,
	             "%s: could not run %s%s%s (harness_run says why on stderr)", label, argv[0],
	             preload ? " under " : "", preload ? harness_preload() : "");
	cr_assert(strstr(r->err, "cannot be preloaded") == NULL, "%s: ld.so refused the preload:\n%s",
	          label, r->err);
}

/* How the run ended, in words; NULL if it ran to the end ("<name>: done")
 * and exited 0. */
static const char *retcodes_trouble(const char *name, const struct run_result *r, char *buf,
                                    size_t len)
{
	char last[64];
	snprintf(last, sizeof last, "%s: done\n", name);
	size_t n = strlen(r->out), m = strlen(last);

	if (r->timed_out)
		snprintf(buf, len, "still running after %d s, killed", RUN_TIMEOUT_S);
	else if (r->signal)
		snprintf(buf, len, "killed by signal %d (%s)", r->signal, strsignal(r->signal));
	else if (r->exit_code != 0)
		snprintf(buf, len, "exit status %d", r->exit_code);
	else if (n < m || strcmp(r->out + n - m, last) != 0)
		snprintf(buf, len, "output does not end with \"%s: done\"", name);
	else
		return NULL;
	return buf;
}

/* Length of the line that starts at s, without its newline. */
static int line_len(const char *s)
{
	return (int)strcspn(s, "\n");
}

/* Fail if got differs from want, naming the first line that does. */
static void expect_same_output(const char *label, const char *want, const char *got,
                               const char *trouble)
{
	const char *w = want, *g = got;
	int line = 1;

	if (strcmp(want, got) == 0)
		return;
	for (;;) {
		int wl = line_len(w), gl = line_len(g);
		if (wl != gl || memcmp(w, g, (size_t)wl) != 0 || !w[wl] || !g[gl])
			break;
		w += wl + 1;
		g += gl + 1;
		line++;
	}
	cr_assert_fail("%s: output differs from the run without the preload at line %d%s%s\n"
	               "  without preload: %.*s\n  with preload:    %.*s",
	               label, line, trouble ? "; the run with it: " : "", trouble ? trouble : "",
	               line_len(w), *w ? w : "(end of output)", line_len(g),
	               *g ? g : "(end of output)");
}

/* Fixture `name` without the preload, then with it and LOCKCONTEND=config,
 * both in dir.  A difference is reported before a crash: it says where
 * things went wrong. */
static void retcodes_compare(const char *name, const char *dir, const char *label,
                             const char *config)
{
	struct run_result plain, profiled;
	char why[128];
	const char *trouble;

	retcodes_exec(name, "without preload", false, NULL, dir, &plain);
	trouble = retcodes_trouble(name, &plain, why, sizeof why);
	cr_assert(trouble == NULL, "without preload: %s; stderr:\n%s", trouble, plain.err);
	retcodes_exec(name, label, true, config, dir, &profiled);
	trouble = retcodes_trouble(name, &profiled, why, sizeof why);
	expect_same_output(label, plain.out, profiled.out, trouble);
	cr_assert(trouble == NULL, "%s: %s; stderr:\n%s", label, trouble, profiled.err);
	harness_result_free(&plain);
	harness_result_free(&profiled);
}

Test(retcodes, same_with_preload, .timeout = 300)
{
	const char *dir = harness_tmpdir();
	char config[PATH_MAX + 32];

	snprintf(config, sizeof config, "out=%s/rc.%%p.raw", dir);
	retcodes_compare("retcodes", dir, "LOCKCONTEND=out=<tmp>/rc.%p.raw", config);
}

Test(retcodes, same_with_preload_off, .timeout = 300)
{
	retcodes_compare("retcodes", harness_tmpdir(), "LOCKCONTEND=off", "off");
}

Test(retcodes, same_without_stacks_rate_3, .timeout = 300)
{
	retcodes_compare("retcodes", harness_tmpdir(), "LOCKCONTEND=stacks=0,rate=3",
	                 "stacks=0,rate=3");
}

/* retcodes_more under LOCKCONTEND=config (NULL: unset), in a fresh
 * directory, where the profiled run leaves its dump.  Unless profiling is
 * off, that dump must hold some waits: the hooks were live, so the same
 * output means something. */
static void retcodes_more_compare(const char *label, const char *config)
{
	const char *dir = harness_tmpdir();
	struct dump d;

	retcodes_compare("retcodes_more", dir, label, config);
	if (config && strcmp(config, "off") == 0)
		return;
	harness_load_dump(dir, "lockcontend.*.raw", &d);
	cr_expect(d.have_totals && d.totals.contentions > 0,
	          "%s: the profile of retcodes_more recorded no wait", label);
	dump_free(&d);
}

Test(retcodes_more, same_with_preload, .timeout = 120)
{
	retcodes_more_compare("LOCKCONTEND unset", NULL);
}

Test(retcodes_more, same_with_hold_1, .timeout = 120)
{
	retcodes_more_compare("LOCKCONTEND=hold=1", "hold=1");
}

Test(retcodes_more, same_without_holder_or_hold, .timeout = 120)
{
	retcodes_more_compare("LOCKCONTEND=holder=0,hold=0", "holder=0,hold=0");
}

Test(retcodes_more, same_with_rate_3, .timeout = 120)
{
	retcodes_more_compare("LOCKCONTEND=rate=3", "rate=3");
}

Test(retcodes_more, same_without_stacks, .timeout = 120)
{
	retcodes_more_compare("LOCKCONTEND=stacks=0", "stacks=0");
}

Test(retcodes_more, same_with_preload_off, .timeout = 120)
{
	retcodes_more_compare("LOCKCONTEND=off", "off");
}

/* ---- the mutex after a contended lock ----------------------------------------- */

/* test/fixtures/handover: a normal mutex (PSHARED "0" or "1") released
 * while the lock waits or the recorder works out its wait.  glibc's lock
 * that found the mutex taken returns with its word at 2, so its unlock
 * wakes a sleeper as without us: every round the profile counts as a
 * contention must have left 2, every other one 1, and the owner and user
 * count as glibc's.  The last round sleeps on the word until released: a
 * wait on a process-shared word that its wake misses hangs the fixture. */
static void handover_check(const char *pshared)
{
	char dump[PATH_MAX];
	struct run_result r;
	const char *args[] = {"300", pshared, NULL};

	harness_profile("handover", args, "", 60, &r, dump);
	uint64_t rounds = harness_out_value(r.out, "rounds");
	uint64_t marked = harness_out_value(r.out, "marked");
	uint64_t plain = harness_out_value(r.out, "plain");
	cr_assert_eq(harness_out_value(r.out, "other"), 0, "a word neither 1 nor 2:\n%s", r.out);
	cr_assert_eq(harness_out_value(r.out, "owner_ok"), 1,
	             "owner or users not as glibc's lock leaves them:\n%s", r.out);
	cr_assert_eq(marked + plain, rounds, "%s", r.out);
	char *n = harness_folded(dump, "waiter", (const char *[]){"--value=contentions", NULL});
	uint64_t contended = harness_folded_sum(n, "handover_take", NULL);
	cr_assert_eq(marked, contended,
	             "%" PRIu64 " rounds left the word at 2 (glibc's mark of a lock that waited), "
	             "%" PRIu64 " contentions recorded:\n%s\n%s",
	             marked, contended, r.out, n);
	cr_assert(contended > rounds / 2, "the holder released too early to test: %" PRIu64 " of %" PRIu64,
	          contended, rounds);
	free(n);
	harness_result_free(&r);
}

Test(retcodes, a_contended_lock_leaves_the_word_as_glibcs_waiter_does, .timeout = 120)
{
	handover_check("0");
}

Test(retcodes, a_contended_pshared_lock_leaves_the_word_as_glibcs_waiter_does, .timeout = 120)
{
	handover_check("1");
}

/* A handover run whose child is made by _Fork (`mode`), into dump: the
 * line `key` the child prints must say `want` (`what`: what else is
 * wrong). */
static void handover_fork(const char *mode, const char *key, uint64_t want, const char *what,
                          char *dump, struct run_result *r)
{
	harness_profile("handover", (const char *[]){mode, NULL}, "", 60, r, dump);
	cr_assert_eq(harness_out_value(r->out, key), want, "%s:\n%s", what, r->out);
}

/* A child of _Fork (no fork handler: the preload's cached thread id is
 * its parent's, and forgotten when the child's profile starts) that
 * waits for a process-shared mutex owns it afterwards, as under glibc.
 * Before: owner 0, or the parent's thread id. */
Test(retcodes, a_fork_child_owns_the_mutex_it_waited_for, .timeout = 120)
{
	char dump[PATH_MAX];
	struct run_result r;
	handover_fork("fork", "fork_owner_ok", 1,
	              "the child's contended lock did not leave it the owner", dump, &r);
	char *n = harness_folded(dump, "waiter", (const char *[]){"--value=contentions", NULL});
	cr_assert_eq(harness_folded_sum(n, "fork_round", NULL), 1, "the child's one wait:\n%s", n);
	free(n);
	harness_result_free(&r);
}

/* The thread that called _Fork, which had locked before (the preload
 * cached its id), takes a plain mutex in the child: the preload takes it
 * inline, and must store the child's id as its owner, as glibc's lock does
 * (a WAITING record and top show it as the holder).  Before the preload
 * followed _Fork: the parent's id, until that thread waited or its
 * profile started. */
Test(retcodes, a_fork_childs_inline_lock_stores_its_own_id, .timeout = 120)
{
	char dump[PATH_MAX];
	struct run_result r;
	handover_fork("fork_checked", "fork_plain_owner_ok", 1,
	              "the child's plain mutex has another thread's id as its owner", dump, &r);
	harness_result_free(&r);
}

/* The same child, with an error-checking mutex its forking thread took
 * through glibc while another thread of the child waits for it: the
 * unlock is a release (glibc's owner is the child's id, which the preload
 * compares with), so the wait is charged to fork_checked_release.  Before:
 * the preload compared the owner with the parent's id it had cached,
 * took the unlock for one that glibc refuses, and charged nothing. */
Test(retcodes, a_fork_childs_release_of_a_checked_mutex_is_charged, .timeout = 120)
{
	char dump[PATH_MAX];
	struct run_result r;
	handover_fork("fork_checked", "fork_checked_status", 0, "the child", dump, &r);
	char *w = harness_folded(dump, "waiter", (const char *[]){"--value=contentions", NULL});
	char *h = harness_folded(dump, "holder", (const char *[]){"--value=contentions", NULL});
	cr_assert_eq(harness_folded_sum(w, "checked_waiter", NULL), 1, "the child's one wait:\n%s", w);
	cr_assert_eq(harness_folded_sum(h, "fork_checked_release", NULL), 1,
	             "the release that ended it, charged:\n%s", h);
	free(w);
	free(h);
	harness_result_free(&r);
}
