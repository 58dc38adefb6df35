/*
 * test_modules.c — contention inside a library that was unloaded keeps its
 * names, and a library loaded later at the same address is not taken for
 * it (test/fixtures/dlplugin.c, test/fixtures/plugins/).
 *
 * dlplugin waits in plugin_one.so's plugin_contend(), dlcloses it, loads
 * plugin_two.so (the same code, its function named other_contend) where
 * the first was, and waits there.  Same base, same offset: only the module
 * epochs (dlclose moves the epoch on; a bucket has the epoch of its stack,
 * a LOCK record that of its first stack) tell the two apart.  The fixture
 * checks and prints that the second library did land at the first one's
 * address; the test insists, or it would prove nothing.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

/* Does a folded line (a stack) hold both frames? */
static bool folded_has_both(const char *folded, const char *a, const char *b)
{
	for (const char *p = folded; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);
		cr_assert(line != NULL);
		bool both = strstr(line, a) && strstr(line, b);
		free(line);
		if (both)
			return true;
		p += len + (p[len] == '\n');
	}
	return false;
}

Test(modules, unloaded_library_and_its_successor_at_the_same_address_keep_their_names)
{
	struct run_result r;
	char dump[PATH_MAX];
	harness_profile("dlplugin", NULL, NULL, 30, &r, dump);
	cr_assert_eq(harness_out_value(r.out, "unloaded"), 1, "plugin_one.so stayed loaded:\n%s",
	             r.out);
	cr_assert_eq(harness_out_value(r.out, "same_address"), 1,
	             "plugin_two.so did not land where plugin_one.so was: nothing to tell apart\n%s",
	             r.out);
	cr_assert_eq(harness_out_value(r.out, "same_offset"), 1, "%s", r.out);
	uint64_t one_ns = harness_out_value(r.out, "one_ns");
	uint64_t two_ns = harness_out_value(r.out, "two_ns");

	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof(err)), 0, "%s: %s", dump, err);
	cr_assert(d.complete, "%s", d.warning);
	cr_assert_geq(d.live.epoch, 1, "dlclose did not move the module epoch on");
	uint64_t c1, n1, c2, n2;
	harness_sum_function(&d, harness_fixture("plugin_one.so"), "plugin_contend", &c1, &n1);
	harness_sum_function(&d, harness_fixture("plugin_two.so"), "other_contend", &c2, &n2);
	cr_assert_eq(c1, 4, "plugin_contend: %" PRIu64 " contentions", c1);
	cr_assert_eq(c2, 4, "other_contend: %" PRIu64 " contentions", c2);
	dump_free(&d);

	char *folded = harness_folded(dump, "waiter", NULL);
	/* less at most what a preemption between the program's clock and the
	 * hook's took, which its run delay over the waits bounds */
	harness_assert_wait(harness_folded_sum(folded, "plugin_contend", NULL), one_ns,
	                    harness_out_value(r.out, "one_delayed_ns"), 0.10,
	                    "plugin_contend (unloaded)");
	harness_assert_wait(harness_folded_sum(folded, "other_contend", NULL), two_ns,
	                    harness_out_value(r.out, "two_delayed_ns"), 0.10,
	                    "other_contend (loaded at its address)");
	cr_assert(!folded_has_both(folded, "plugin_contend", "other_contend"),
	          "a stack names both libraries:\n%s", folded);
	free(folded);
	harness_result_free(&r);
}

/* A lock on the heap is named by where it was first contended, inside the
 * library since unloaded: the LOCK record's first frames carry the module
 * epoch they were taken in.  Without it the reader placed them in the
 * library loaded there last, and the report named the lock "0x... (first
 * contended in other_contend)".  (The fixture makes the lock in main with
 * pthread_mutex_init: inits=0, so that its first contention names it.) */
Test(modules, heap_lock_first_contended_in_an_unloaded_library_is_named_by_it)
{
	struct run_result r;
	char dump[PATH_MAX];
	harness_profile("dlplugin", (const char *[]){"heap", NULL}, "inits=0", 30, &r, dump);
	cr_assert_eq(harness_out_value(r.out, "same_address"), 1, "%s", r.out);
	struct run_result s;
	harness_symbolize((const char *[]){dump, NULL}, &s);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	cr_assert(strstr(s.out, "first contended in plugin_contend") != NULL &&
	          strstr(s.out, "first contended in other_contend") == NULL,
	          "the heap lock is named after the wrong library:\n%s", s.out);
	harness_result_free(&s);
	harness_result_free(&r);
}
