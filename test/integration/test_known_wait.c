/*
 * test_known_wait.c — the profile reports the waits a program really had.
 *
 * known_wait measures its own blocking time around pthread_mutex_lock in
 * waiter_blocked(); the dump must charge that function the same delay
 * (within 5%) and exactly one contention per round.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

static uint64_t measured_ns(const char *out)
{
	unsigned long long ns = 0;
	int rounds = 0;
	cr_assert(sscanf(out, "measured_ns %llu rounds %d", &ns, &rounds) == 2, "output: %s", out);
	return ns;
}

static uint64_t delayed_ns; /* the last run's: known_wait's delayed_ns */

static void run_known_wait(const char *cfg, const char *rounds, const char *hold_ms,
                           struct dump *d, uint64_t *measured)
{
	const char *dir = harness_tmpdir();
	char env[512];
	snprintf(env, sizeof(env), "LOCKCONTEND=%s%sout=%s/kw.%%p.raw", cfg, cfg[0] ? "," : "", dir);
	const char *argv[] = {harness_fixture("known_wait"), rounds, hold_ms, NULL};
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "known_wait failed: %s", r.err);
	*measured = measured_ns(r.out);
	delayed_ns = harness_out_value(r.out, "delayed_ns");
	harness_result_free(&r);
	harness_load_dump(dir, "kw.*.raw", d);
	cr_assert(d->complete, "dump incomplete: %s", d->warning);
}

Test(known_wait, waiter_delay_within_5_percent)
{
	struct dump d;
	uint64_t measured, count, delay;
	run_known_wait("", "10", "30", &d, &measured);
	harness_sum_function(&d, harness_fixture("known_wait"), "waiter_blocked", &count, &delay);
	cr_assert_eq(count, 10, "contentions in waiter_blocked: %" PRIu64, count);
	/* less at most what a preemption between its clock and the hook's
	 * took, which its run delay bounds */
	harness_assert_wait(delay, measured, delayed_ns, 0.05, "waiter_blocked delay");
	uint64_t sc, sd;
	dump_sum(&d, LC_VIEW_WAIT, &sc, &sd);
	cr_assert_eq(sc, d.totals.contentions);
	cr_assert_eq(sd, d.totals.delay_ns);
	dump_free(&d);
}

Test(known_wait, stacks_off_charges_the_sentinel)
{
	struct dump d;
	uint64_t measured;
	run_known_wait("stacks=0", "5", "30", &d, &measured);
	cr_assert_eq(d.nbuckets, 0, "stacks=0 must record no stack");
	cr_assert_eq(d.meta.flags & LC_META_STACKS, 0);
	cr_assert_eq(d.lost[LC_VIEW_WAIT][LC_LOST_NO_STACKS].count, 5);
	harness_assert_wait(d.lost[LC_VIEW_WAIT][LC_LOST_NO_STACKS].delay_ns, measured, delayed_ns,
	                    0.05, "sentinel delay");
	cr_assert_eq(d.totals.delay_ns, d.lost[LC_VIEW_WAIT][LC_LOST_NO_STACKS].delay_ns);
	dump_free(&d);
}

Test(known_wait, rate_scales_count_and_delay)
{
	/* rate=2: each recorded event counts 2 and twice its delay; over 40
	 * rounds the estimate is noisy, so check the scaling, not the sum. */
	struct dump d;
	uint64_t measured;
	run_known_wait("rate=2", "40", "5", &d, &measured);
	cr_assert_eq(d.meta.rate, 2);
	/* Contention inside lockcontend's own work (a signal handler's on top
	 * of it), and waits while the file was being made, are counted one
	 * by one. */
	uint64_t own = harness_lockless_waits(&d).count;
	cr_assert_eq((d.totals.contentions - own) % 2, 0, "%" PRIu64 " contentions, %" PRIu64
	             " of them without a lock", d.totals.contentions, own);
	cr_assert(d.totals.contentions > 0 && d.totals.contentions <= 80,
	          "contentions %" PRIu64, d.totals.contentions);
	for (size_t i = 0; i < d.nbuckets; i++)
		cr_assert_eq(d.buckets[i].count % 2, 0);
	/* each recorded wait is scaled by 2, so a contention's mean delay is
	 * the mean of the waits recorded: near the program's own mean wait.
	 * Its own, not the 5 ms hold: on a loaded machine a wait outlasts the
	 * hold (it was 7.3 ms under ASan at load 7, where a bound of 7 ms
	 * failed); and half the waits, drawn at random, leave room either way. */
	double per = (double)d.totals.delay_ns / (double)d.totals.contentions;
	double own_per = (double)measured / 40;
	cr_assert(per > 0.7 * own_per && per < 1.4 * own_per && per > 4.5e6,
	          "delay per contention %.0f ns, the program's own mean wait %.0f ns", per, own_per);
	dump_free(&d);
}

/* The module map names the executable with the build-id the file has. */
Test(known_wait, module_map_has_the_executable_build_id)
{
	struct dump d;
	uint64_t measured;
	run_known_wait("", "1", "5", &d, &measured);
	char exe[4096];
	cr_assert(realpath(harness_fixture("known_wait"), exe));
	const struct dump_module *m = NULL;
	for (size_t i = 0; i < d.nmodules; i++)
		if (strcmp(d.modules[i].path, exe) == 0)
			m = &d.modules[i];
	cr_assert(m, "no module for %s", exe);
	char cmd[4200], line[512], want[200] = "";
	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", exe);
	FILE *p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (sscanf(line, " Build ID: %199s", want) == 1)
			break;
	pclose(p);
	char got[200] = "";
	for (uint32_t k = 0; k < m->build_id_len; k++)
		snprintf(got + 2 * k, 3, "%02x", m->build_id[k]);
	cr_assert(want[0], "readelf found no build-id");
	cr_assert_str_eq(got, want);
	/* every frame of the waiter's stack is inside a known module */
	for (size_t i = 0; i < d.nbuckets; i++)
		for (uint32_t k = 0; k < d.buckets[i].nframes; k++)
			cr_assert(dump_module_of(&d, d.buckets[i].pcs[k]), "frame %#" PRIx64 " unmapped",
			          d.buckets[i].pcs[k]);
	dump_free(&d);
}
