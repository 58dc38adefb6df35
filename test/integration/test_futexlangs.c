/*
 * test_futexlangs.c — real libraries' futex locks, built here: Rust's std
 * (rust_mutex.rs, rustc), Abseil (absl_mutex.cpp, Debian's libabsl) and
 * parking_lot (pl_mutex.rs, Debian's crate, cargo offline).
 *
 * Each wait is contended for certain (the holder keeps the lock until the
 * waiter is seen asleep in the kernel on a futex word inside the lock —
 * inside its own ThreadIdentity for Abseil) and measured by the program
 * itself.  The waiter view (kind futex) must agree within 5% with that
 * measure (less at most the waiting thread's run delay over its waits: a
 * preemption between its clock and the hook's, which under ASan at load
 * took 68 ms of 174), one contention a round, under the waiting function, named as
 * the language names it (Rust demangled from the legacy mangling and from
 * v0's, hash and all gone); the leaf is the library's waiting function.
 * The holder view must charge the function whose unlock (its FUTEX_WAKE)
 * ended the wait, within 10% of the program's own (release start - wait
 * start), less at most the same run delay.
 *
 * An idle wait on a condition variable (Rust's std Condvar, absl::CondVar)
 * is recorded as a futex wait like a lock's, and the symbolizer's rules
 * (symbolize/futexcond.c) show it as kind futex-cond: in no default view,
 * within 5% of the program's own measure under --kind=futex-cond, its
 * notifier charged there in the holder view.  A lock's waits are futex,
 * never futex-cond.  Abseil and parking_lot park a thread on a futex word
 * of the thread's own: such a word is named by the library's lock or
 * condition and the function that called it, never as a lock.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/harness.h"

struct langcase {
	const char *fixture;
	const char *const *args; /* ROUNDS is args' second-last, or the first */
	uint64_t rounds;
	const char *waiter_fn, *leaf_has; /* the waiting function; in the leaf's name */
	const char *holder_fn;            /* the unlocking function */
	const char *measured_key;         /* the program's own measure of the waits */
	bool cond;                        /* a condition wait: kind futex-cond */
	const char *lock_name;            /* the lock's name in the text report; NULL: any */
};

/* Does the stack "f1;...;fn" (NUL-terminated) have a frame named fn? */
static bool has_frame(const char *stack, const char *fn)
{
	size_t n = strlen(fn);
	for (const char *f = stack;;) {
		size_t len = strcspn(f, ";");
		if (len == n && strncmp(f, fn, n) == 0)
			return true;
		if (!f[len])
			return false;
		f += len + 1;
	}
}

/* The leaf frame of each folded line that has frame fn must contain
 * leaf_has. */
static void assert_leaves(const char *folded, const char *fn, const char *leaf_has)
{
	size_t checked = 0;
	for (const char *p = folded; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);
		char *sp = strrchr(line, ' ');
		cr_assert(sp, "not a folded line: %s", line);
		*sp = '\0';
		char *leaf = strrchr(line, ';');
		leaf = leaf ? leaf + 1 : line;
		if (has_frame(line, fn)) {
			cr_assert(strstr(leaf, leaf_has), "leaf '%s' lacks '%s' in\n%s", leaf, leaf_has,
			          folded);
			checked++;
		}
		free(line);
		p += len + (p[len] == '\n');
	}
	cr_assert(checked > 0, "no stack with %s:\n%s", fn, folded);
}

/* No frame left mangled: no _ZN.../_R... name, no legacy ::h<16 hex> hash. */
static void assert_demangled(const char *folded)
{
	cr_assert(!strstr(folded, ";_ZN") && !strstr(folded, ";_R"), "a mangled frame:\n%s", folded);
	for (const char *h = folded; (h = strstr(h, "::h")); h += 3) {
		size_t hex = strspn(h + 3, "0123456789abcdef");
		cr_assert(hex != 16, "a legacy hash left in:\n%s", folded);
	}
}

static void expect_lang(const struct langcase *c)
{
	char dump[PATH_MAX];
	struct run_result r;
	harness_profile(c->fixture, c->args, "", 60, &r, dump);
	uint64_t measured = harness_out_value(r.out, c->measured_key);
	cr_assert_eq(harness_out_value(r.out, "rounds"), c->rounds, "%s", r.out);

	const char *kind = c->cond ? "--kind=futex-cond" : "--kind=futex";
	const char *other = c->cond ? NULL : "--kind=futex-cond"; /* NULL: the default */
	char *waiter = harness_folded(dump, "waiter", (const char *[]){kind, NULL});
	uint64_t delayed = harness_out_value(r.out, "delayed_ns");
	harness_assert_wait(harness_folded_sum(waiter, c->waiter_fn, NULL), measured, delayed, 0.05,
	                    c->waiter_fn);
	assert_leaves(waiter, c->waiter_fn, c->leaf_has);
	char *counts = harness_folded(dump, "waiter",
	                              (const char *[]){kind, "--value=contentions", NULL});
	cr_assert_eq(harness_folded_sum(counts, c->waiter_fn, NULL), c->rounds,
	             "one contention a round:\n%s", counts);
	char *holder = harness_folded(dump, "holder", (const char *[]){kind, NULL});
	if (c->holder_fn)
		harness_assert_wait(harness_folded_sum(holder, c->holder_fn, NULL),
		                    harness_out_value(r.out, "caused_ns"), delayed, 0.10,
		                    c->holder_fn);
	/* and nothing of it in the other kind's views */
	for (int v = 0; v < 2; v++) {
		const char *fn = v ? c->holder_fn : c->waiter_fn;
		char *f = harness_folded(dump, v ? "holder" : "waiter", (const char *[]){other, NULL});
		size_t lines = 0;
		cr_assert_eq(harness_folded_sum(f, fn, &lines), 0, "%s shown %s:\n%s", fn,
		             other ? other : "by default", f);
		cr_assert_eq(lines, 0, "%s", f);
		free(f);
	}

	if (c->cond) { /* the default text report: left out, and says so */
		struct run_result t;
		harness_symbolize((const char *[]){dump, NULL}, &t);
		char note[128];
		snprintf(note, sizeof note, "%" PRIu64 " futex waits the rules call condition waits",
		         c->rounds);
		cr_assert(strstr(t.out, note) && !strstr(t.out, c->waiter_fn), "%s", t.out);
		harness_result_free(&t);
	}

	if (c->lock_name) { /* a per-thread word, named by the library's frames */
		struct run_result t;
		harness_symbolize((const char *[]){kind, dump, NULL}, &t);
		char on[256];
		snprintf(on, sizeof on, " on %s (threads' own futex words) (%s)", c->lock_name,
		         kind + strlen("--kind="));
		cr_assert(strstr(t.out, on), "no '%s' in\n%s", on, t.out);
		harness_result_free(&t);
	}

	struct dump d;
	char err[256];
	cr_assert_eq(dump_read_file(dump, &d, err, sizeof err), 0, "%s", err);
	cr_assert(dump_view_conserved(&d, LC_VIEW_WAIT) && dump_view_conserved(&d, LC_VIEW_HOLDER));
	for (size_t i = 0; i < d.nbuckets; i++)
		cr_assert(d.buckets[i].view != LC_VIEW_WAIT || d.buckets[i].kind == LC_KIND_FUTEX,
		          "a wait of kind %u: only futex waits here", d.buckets[i].kind);
	dump_free(&d);
	free(waiter);
	free(counts);
	free(holder);
	harness_result_free(&r);
}

/* ---- Rust ----------------------------------------------------------------- */

static void expect_rust_mutex(const char *fixture)
{
	expect_lang(&(struct langcase){fixture, (const char *[]){"mutex", "4", "30", NULL}, 4,
	                               "rust_mutex::waiter_blocked", "lock_contended",
	                               "rust_mutex::holder_release", "measured_ns", false, NULL});
}

Test(futexlangs, rust_mutex_legacy_mangling)
{
	expect_rust_mutex("rust_mutex");
}

Test(futexlangs, rust_mutex_v0_mangling)
{
	expect_rust_mutex("rust_mutex_v0");
}

Test(futexlangs, rust_rwlock_reader_waits_for_writer)
{
	expect_lang(&(struct langcase){"rust_mutex", (const char *[]){"rwlock", "4", "30", NULL}, 4,
	                               "rust_mutex::reader_blocked", "read_contended",
	                               "rust_mutex::writer_release", "measured_ns", false, NULL});
}

/* Both builds' names come demangled, by the Rust demangler: the symbols
 * really are v0 in one (_R...) and legacy in the other (_ZN...17h...E). */
Test(futexlangs, rust_names_demangled_legacy_and_v0)
{
	const char *fixture[] = {"rust_mutex", "rust_mutex_v0"};
	const char *raw[] = {";_ZN10rust_mutex14waiter_blocked17h", ";_RNvCs"};
	for (int i = 0; i < 2; i++) {
		char dump[PATH_MAX];
		struct run_result r;
		harness_profile(fixture[i], (const char *[]){"mutex", "2", "20", NULL}, "", 60, &r,
		                dump);
		for (int v = 0; v < 2; v++) {
			char *f = harness_folded(dump, v ? "holder" : "waiter", NULL);
			assert_demangled(f);
			cr_assert(strstr(f, v ? ";rust_mutex::holder_release" : ";rust_mutex::waiter_blocked;"),
			          "%s:\n%s", fixture[i], f);
			free(f);
		}
		char *mangled = harness_folded(dump, "waiter", (const char *[]){"--no-demangle", NULL});
		cr_assert(strstr(mangled, raw[i]), "%s's raw symbols are not %s:\n%s", fixture[i],
		          raw[i] + 1, mangled);
		free(mangled);
		harness_result_free(&r);
	}
}

/* An idle Condvar::wait: futex-cond, under Condvar::wait, charged to the
 * notifier (std's futex Condvar sleeps on a word of its own). */
Test(futexlangs, rust_condvar_idle_wait_is_futex_cond)
{
	expect_lang(&(struct langcase){"rust_mutex", (const char *[]){"condvar", "3", "30", NULL}, 3,
	                               "rust_mutex::idle_wait", "Condvar",
	                               "rust_mutex::notifier", "idle_ns", true, NULL});
}

/* ---- Abseil --------------------------------------------------------------- */

Test(futexlangs, absl_mutex_waits_on_its_thread_futex)
{
	expect_lang(&(struct langcase){"absl_mutex", (const char *[]){"4", "30", NULL}, 4,
	                               "waiter_blocked()", "Waiter::Wait", "holder_release()",
	                               "measured_ns", false, "an absl::Mutex taken in waiter_blocked()"});
}

/* An idle absl::CondVar wait: futex-cond (its thread's own word, the same
 * a Mutex wait sleeps on: told apart by the stack), the Signal charged. */
Test(futexlangs, absl_condvar_idle_wait_is_futex_cond)
{
	expect_lang(&(struct langcase){"absl_mutex", (const char *[]){"condvar", "3", "30", NULL}, 3,
	                               "idle_wait(int)", "Waiter::Wait", "notifier(int)", "idle_ns",
	                               true, "an absl::CondVar waited for in idle_wait(int)"});
}

/* ---- parking_lot ------------------------------------------------------------ */

/* parking_lot parks a thread on a word of its own: the lock is named by
 * the call site of lock(), not by the word. */
Test(futexlangs, parking_lot_mutex_waits_on_its_thread_word)
{
	expect_lang(&(struct langcase){"pl_mutex", (const char *[]){"mutex", "4", "30", NULL}, 4,
	                               "pl_mutex::waiter_blocked", "futex_wait",
	                               "pl_mutex::holder_release", "measured_ns", false,
	                               "a parking_lot lock taken in pl_mutex::waiter_blocked"});
}

Test(futexlangs, parking_lot_condvar_idle_wait_is_futex_cond)
{
	expect_lang(&(struct langcase){"pl_mutex", (const char *[]){"condvar", "3", "30", NULL}, 3,
	                               "pl_mutex::idle_wait", "futex_wait", "pl_mutex::notifier",
	                               "idle_ns", true,
	                               "a parking_lot Condvar waited for in pl_mutex::idle_wait"});
}
