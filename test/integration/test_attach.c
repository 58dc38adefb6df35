/*
 * test_attach.c — a running program, profiled from the middle of its run
 * (docs/attach.md): test/fixtures/attach.c loads the library with dlopen
 * and calls lockcontend_attach and lockcontend_detach itself, as an
 * injector would make one of its threads do.  No LD_PRELOAD.
 *
 * Tests, for the program lazily bound and with full RELRO: its output
 * and exit status are those of a run that never attaches; the waits after
 * the attach are in the profile, each function's within 5% of what the
 * program measured and one contention per round — main's, main's on a
 * semaphore (the program's own sem_wait, its GOT slot patched), a thread's made
 * before the attach, one made after, a plugin's loaded after it, one's
 * loaded by dlmopen into the base namespace, and a
 * wait inside dlopen (its stack through the loader to the program's call)
 * — and nothing from before the attach, from after the detach, from a
 * fork child, or from the waits in progress across it (a thread blocked
 * in glibc) or the plugin's constructor's own (run before its slots are
 * patched); locks held across the attach (plain, recursive three times,
 * a condition wait's, a blocked lock's) leave the totals, the holder view
 * and WAITING records whole; the profile is complete, says it was
 * attached, accounts for every slot at the detach, is not written after
 * it, and reads with the symbolizer; a dlopen by bare name from a library
 * with DT_RUNPATH finds the same file attached or not, and the slots of
 * that file, unloaded again, are forgotten; bad settings are
 * EINVAL, a second attach EALREADY, a second detach ENOENT, and the
 * library prints nothing; signal= writes a snapshot when the signal had
 * its default action, which the detach gives back, and leaves alone a
 * signal the program handles; a second attach makes a fresh profile.
 * Loaded and never attached, the library records nothing, whatever
 * LOCKCONTEND says.  exit, _exit and exec while attached end the profile
 * complete.  Hold times are sampled at the rate the settings ask, as
 * preloaded.  Under the preload, a second copy loaded by dlopen stays out
 * (EALREADY).  The library exports its hooks (hooklist.h) and the two
 * entry points, and its static TLS fits what glibc keeps for a late
 * dlopen.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooklist.h"
#include "integration/harness.h"

#define PREFIX "attach-fixture: "

struct attach_run {
	struct run_result r;
	char out1[PATH_MAX], out2[PATH_MAX];
	const char *dir;
};

/* ASan's runtime preloaded (make sanitize): its own dlopen interceptor
 * calls glibc's from itself, so a library its callers find through their
 * DT_RUNPATH is not found, attached or not. */
static bool under_sanitizer(void)
{
	const char *first = getenv("LOCKCONTEND_TEST_PRELOAD_FIRST");
	return first && *first;
}

/* The fixture in `mode`, with the preload's sanitizer runtime first when
 * the suite runs under one (it must come before the library it loads). */
static void run_fixture(const char *fixture, const char *mode, const char *extra_env,
                        struct attach_run *a)
{
	const char *first = getenv("LOCKCONTEND_TEST_PRELOAD_FIRST");
	char preload[PATH_MAX + 16];
	const char *env[3] = {NULL, NULL, NULL};
	size_t n = 0;
	a->dir = harness_tmpdir();
	snprintf(a->out1, sizeof(a->out1), "%s/attach1.raw", a->dir);
	snprintf(a->out2, sizeof(a->out2), "%s/attach2.raw", a->dir);
	if (first && *first) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", first);
		env[n++] = preload;
	}
	env[n++] = extra_env;
	bool end = strcmp(mode, "exit") == 0 || strcmp(mode, "_exit") == 0 ||
	           strcmp(mode, "exec") == 0;
	const char *argv[] = {harness_fixture(fixture), harness_preload(), a->out1,
	                      end ? "-" : a->out2, mode, NULL};
	cr_assert_eq(harness_run(argv, env, a->dir, false, 120, &a->r), 0);
	cr_assert_eq(a->r.exit_code, 0, "%s %s: exit %d, signal %d\n%s", fixture, mode,
	             a->r.exit_code, a->r.signal, a->r.err);
}

/* Every line on stderr is the fixture's own: the library printed none. */
static void assert_quiet(const struct attach_run *a)
{
	for (const char *l = a->r.err; *l;) {
		cr_assert_eq(strncmp(l, PREFIX, strlen(PREFIX)), 0, "a line not the fixture's: %s", l);
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : l + strlen(l);
	}
}

/* The value of "attach-fixture: KEY N" on stderr. */
static uint64_t said(const struct attach_run *a, const char *key)
{
	char want[128];
	snprintf(want, sizeof(want), PREFIX "%s ", key);
	const char *p = strstr(a->r.err, want);
	cr_assert(p, "no '%s' in:\n%s", want, a->r.err);
	return strtoull(p + strlen(want), NULL, 0);
}

static const char *said_word(const struct attach_run *a, const char *key, char *buf, size_t cap)
{
	char want[128];
	snprintf(want, sizeof(want), PREFIX "%s ", key);
	const char *p = strstr(a->r.err, want);
	cr_assert(p, "no '%s' in:\n%s", want, a->r.err);
	snprintf(buf, cap, "%.*s", (int)strcspn(p + strlen(want), "\n"), p + strlen(want));
	return buf;
}

static void load(const char *path, struct dump *d)
{
	char err[256];
	cr_assert_eq(dump_read_file(path, d, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_assert(d->complete, "%s: %s", path, d->warning);
	cr_assert(d->meta.flags & LC_META_ATTACHED, "META says nothing of the attach");
	cr_assert(d->have_attach, "no ATTACH record");
}

/* fn's waits: `rounds` of them, within 5% of what the program measured
 * (said as `what`_ns), less at most the waiting thread's run delay over
 * them (`what`_delayed_ns): a preemption between its clock and the hook's
 * is in its measure only. */
static void assert_waits(const struct dump *d, const char *exe, const char *fn, uint64_t rounds,
                         const struct attach_run *a, const char *what)
{
	char key[64];
	uint64_t count, delay, measured, delayed;
	harness_sum_function(d, exe, fn, &count, &delay);
	cr_assert_eq(count, rounds, "%s: %" PRIu64 " contentions, %" PRIu64 " expected", fn, count,
	             rounds);
	snprintf(key, sizeof(key), "%s_ns", what);
	measured = said(a, key);
	snprintf(key, sizeof(key), "%s_delayed_ns", what);
	delayed = said(a, key);
	harness_assert_wait(delay, measured, delayed, 0.05, fn);
}

static void assert_absent(const struct dump *d, const char *exe, const char *fn)
{
	uint64_t count, delay;
	harness_sum_function(d, exe, fn, &count, &delay);
	cr_assert_eq(count, 0, "%s is in the profile: %" PRIu64 " contentions, %" PRIu64 " ns", fn,
	             count, delay);
}

/* The books: per view, the buckets and the sentinel add up to the totals;
 * per lock, what its unlocks were charged and what no unlock was add up
 * to its waits; no thread is shown waiting at the end. */
static void assert_whole(const struct dump *d)
{
	for (int v = 0; v < LC_NVIEWS; v++) {
		uint64_t sc, sd, tc, td;
		dump_sum(d, (enum lc_view)v, &sc, &sd);
		dump_view_totals(d, (enum lc_view)v, &tc, &td);
		cr_assert(sc == tc && sd == td, "view %d: stacks %" PRIu64 "/%" PRIu64 " ns, totals %" PRIu64
		          "/%" PRIu64 " ns", v, sc, sd, tc, td);
	}
	for (size_t i = 0; i < d->nlocks; i++) {
		const struct dump_lock *l = &d->locks[i];
		uint64_t waited = 0, charged = 0;
		for (size_t k = 0; k < d->nbuckets; k++) {
			const struct dump_bucket *b = &d->buckets[k];
			if (b->lock == l->addr && b->view == LC_VIEW_WAIT)
				waited += b->delay_ns;
			else if (b->lock == l->addr && b->view == LC_VIEW_HOLDER)
				charged += b->delay_ns;
		}
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			waited += l->lost[LC_VIEW_WAIT][r].delay_ns;
			charged += l->lost[LC_VIEW_HOLDER][r].delay_ns;
		}
		cr_assert_eq(charged + l->uncharged_ns, waited,
		             "lock %#" PRIx64 ": charged %" PRIu64 " + not %" PRIu64 " != waited %" PRIu64,
		             l->addr, charged, l->uncharged_ns, waited);
	}
	for (size_t i = 0; i < d->nwaiting; i++)
		cr_assert(!d->waiting[i].torn && d->waiting[i].lock == 0,
		          "thread %d is shown waiting at the end", d->waiting[i].tid);
}

static void assert_symbolized(const char *path)
{
	struct run_result r;
	const char *args[] = {path, NULL};
	harness_symbolize(args, &r);
	cr_assert_eq(r.exit_code, 0, "lockcontend-symbolize %s: %d\n%s", path, r.exit_code, r.err);
	cr_assert(strstr(r.out, "complete: ended by a detach"), "%s", r.out);
	cr_assert(strstr(r.out, "attached to the running program"), "%s", r.out);
	harness_result_free(&r);
}

/* The first profile: the attach to the detach. */
static void check_first(const struct attach_run *a, const char *exe)
{
	struct dump d;
	load(a->out1, &d);
	cr_assert_eq(d.live.state, LC_LIVE_DETACHED);
	assert_waits(&d, exe, "wait_main", 6, a, "main");
	assert_waits(&d, exe, "wait_sem", 3, a, "sem");
	assert_waits(&d, exe, "wait_old", 6, a, "old");
	assert_waits(&d, exe, "wait_new", 6, a, "new");
	assert_waits(&d, exe, "attach_ctor_wait", 1, a, "ctor_prog");
	assert_waits(&d, harness_fixture("attach_plugin.so"), "attach_plugin_wait", 6, a, "plugin");
	assert_waits(&d, harness_fixture("plugin_one.so"), "plugin_contend", 2, a, "dlmopen");
	/* inside dlopen: the stack goes through the loader as far as the
	 * program's own call */
	assert_waits(&d, exe, "load_here", 1, a, "ctor_prog");
	static const char *const none[] = {"before_wait", "blocked_across", "child_wait",
	                                   "detached_wait", "second_wait"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_absent(&d, exe, none[i]);
	assert_absent(&d, harness_fixture("attach_plugin.so"), "ctor_own_wait");
	cr_assert_eq(d.totals.contentions, 30, "%" PRIu64 " contentions", d.totals.contentions);
	assert_whole(&d);
	const struct lc_rec_attach *at = &d.attach;
	/* under ASan libattach_dep.so is not found (under_sanitizer) */
	cr_assert_geq(at->objects, 4, "the program, the runpath library, the plugin...");
	cr_assert_geq(at->later, under_sanitizer() ? 2 : 3,
	              "...and since: the plugin, plugin_one, libattach_dep");
	cr_assert_gt(at->slots, 0);
	cr_assert_eq(at->failed, 0);
	cr_assert_eq(at->restored + at->left + at->forgotten, at->slots,
	             "slots %" PRIu64 ": restored %" PRIu64 ", left %" PRIu64 ", forgotten %" PRIu64,
	             at->slots, at->restored, at->left, at->forgotten);
	cr_assert_eq(at->left, 0);
	if (strstr(a->r.out, "; unloaded\n")) /* under ASan: not found, or kept loaded */
		cr_assert_geq(at->forgotten, 2, "libattach_dep.so's slots, loaded and unloaded since");
	cr_assert_eq(at->flags, LC_ATTACH_DLOPEN | LC_ATTACH_SIGNAL);
	dump_free(&d);
	/* signal=USR2: the snapshot the program raised */
	char snap[PATH_MAX + 8];
	snprintf(snap, sizeof(snap), "%s.snap1", a->out1);
	load(snap, &d);
	cr_assert_eq(d.live.state, LC_LIVE_SNAPSHOT);
	dump_free(&d);
}

/* The second: a fresh profile of its own rounds. */
static void check_second(const struct attach_run *a, const char *exe)
{
	struct dump d;
	load(a->out2, &d);
	assert_waits(&d, exe, "second_wait", 4, a, "second");
	cr_assert_eq(d.attach.flags, LC_ATTACH_DLOPEN, "SIGUSR1 is the program's: not installed");
	cr_assert_eq(d.totals.contentions, 4, "%" PRIu64 " contentions", d.totals.contentions);
	assert_whole(&d);
	dump_free(&d);
}

static void scenario(const char *fixture)
{
	struct attach_run a, plain;
	char h1[64], h2[64];
	run_fixture(fixture, "run", NULL, &a);
	run_fixture(fixture, "noattach", NULL, &plain);
	cr_assert_str_eq(a.r.out, plain.r.out, "attached, the program said otherwise");
	assert_quiet(&a);
	cr_assert_eq(said(&a, "bad_settings"), 22, "EINVAL");
	cr_assert_eq(said(&a, "attach"), 0);
	cr_assert_eq(said(&a, "again"), 114, "EALREADY");
	cr_assert_eq(said(&a, "slot_hooked"), 1);
	cr_assert_eq(said(&a, "detach"), 0);
	cr_assert_eq(said(&a, "detach_again"), 2, "ENOENT");
	cr_assert_eq(said(&a, "usr2_default"), 1, "SIGUSR2's default action back");
	cr_assert(strstr(a.r.out, "usr1 handled 1\n"), "the program's handler: %s", a.r.out);
	cr_assert_eq(said(&a, "attach2"), 0);
	cr_assert_eq(said(&a, "detach2"), 0);
	cr_assert_str_eq(said_word(&a, "hash_at_detach", h1, sizeof(h1)),
	                 said_word(&a, "hash_at_end", h2, sizeof(h2)),
	                 "the profile changed after the detach");
	/* the runpath library's dlopen found the same file, and attached */
	const char *before = strstr(a.r.out, "runpath before: ");
	const char *after = strstr(a.r.out, "runpath after: ");
	cr_assert(before && after);
	cr_assert_eq(strcspn(before + 16, "\n"), strcspn(after + 15, "\n"));
	cr_assert_eq(strncmp(before + 16, after + 15, strcspn(before + 16, "\n")), 0, "%s",
	             a.r.out);
	if (!under_sanitizer())
		cr_assert(strstr(a.r.out, "/attach_rp/libattach_dep.so; "), "%s", a.r.out);
	cr_assert(strstr(a.r.out, "child slots glibc 1\n"), "%s", a.r.out);
	check_first(&a, harness_fixture(fixture));
	check_second(&a, harness_fixture(fixture));
	assert_symbolized(a.out1);
	/* the fork child wrote no profile: these two (and the snapshot) are all */
	glob_t g;
	char pattern[PATH_MAX + 8];
	snprintf(pattern, sizeof(pattern), "%s/*.raw*", a.dir);
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0);
	cr_assert_eq(g.gl_pathc, 3, "%zu files", g.gl_pathc);
	globfree(&g);
	harness_result_free(&a.r);
	harness_result_free(&plain.r);
}

Test(attach, a_lazily_bound_program, .timeout = 240)
{
	scenario("attach");
}

Test(attach, a_program_with_full_relro, .timeout = 240)
{
	scenario("attach_now");
}

/* Not preloaded, the library stays out of the way until attached: no file,
 * not a word, though LOCKCONTEND asks for a profile. */
Test(attach, loaded_but_not_attached_records_nothing, .timeout = 120)
{
	struct attach_run a, plain;
	char env[PATH_MAX + 32];
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/env.raw", harness_tmpdir());
	run_fixture("attach", "load", env, &a);
	run_fixture("attach", "noattach", NULL, &plain);
	cr_assert_str_eq(a.r.out, plain.r.out);
	assert_quiet(&a);
	glob_t g;
	char pattern[PATH_MAX + 8];
	snprintf(pattern, sizeof(pattern), "%s/*.raw*", a.dir);
	cr_assert_eq(glob(pattern, 0, NULL, &g), GLOB_NOMATCH, "a profile was written");
	harness_result_free(&a.r);
	harness_result_free(&plain.r);
}

static void ends(const char *mode, uint32_t state)
{
	struct attach_run a;
	struct dump d;
	run_fixture("attach", mode, NULL, &a);
	assert_quiet(&a);
	cr_assert_eq(said(&a, "attach"), 0);
	load(a.out1, &d);
	cr_assert_eq(d.live.state, state, "%s: LIVE state %u", mode, d.live.state);
	assert_waits(&d, harness_fixture("attach"), "end_wait", 3, &a, "end");
	assert_whole(&d);
	dump_free(&d);
	harness_result_free(&a.r);
}

Test(attach, exit_while_attached_ends_the_profile, .timeout = 120)
{
	ends("exit", LC_LIVE_EXITED);
}

Test(attach, _exit_while_attached_ends_the_profile, .timeout = 120)
{
	ends("_exit", LC_LIVE_EXITED);
}

Test(attach, exec_while_attached_ends_the_profile, .timeout = 120)
{
	ends("exec", LC_LIVE_EXEC);
}

/* Hold times attached are sampled as preloaded (test_views'
 * hold_view_is_unbiased_for_short_lived_threads): short_holds attaches the
 * library to itself first, hold=5, and the hold view's sections of
 * hold_briefly are what it counted, within 15%.  Each attach computes the
 * sampler's scale: computed at a preload's start-up only, an attached
 * profile had none, looked at every acquisition and weighed each look 5. */
Test(attach, hold_times_are_sampled_at_the_rate_asked, .timeout = 120)
{
	const char *first = getenv("LOCKCONTEND_TEST_PRELOAD_FIRST");
	const char *dir = harness_tmpdir();
	char preload[PATH_MAX + 16], lib[PATH_MAX + 32], settings[PATH_MAX + 64], path[PATH_MAX];
	const char *env[4] = {NULL, NULL, NULL, NULL};
	size_t n = 0;
	struct run_result r;
	struct dump d;
	snprintf(path, sizeof(path), "%s/holds.raw", dir);
	if (first && *first) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", first);
		env[n++] = preload;
	}
	snprintf(lib, sizeof(lib), "SHORT_HOLDS_ATTACH=%s", harness_preload());
	snprintf(settings, sizeof(settings), "SHORT_HOLDS_SETTINGS=hold=5,out=%s", path);
	env[n++] = lib;
	env[n++] = settings;
	const char *argv[] = {harness_fixture("short_holds"), "500", "10", "100", NULL};
	cr_assert_eq(harness_run(argv, env, dir, false, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "short_holds: exit %d, signal %d\n%s", r.exit_code, r.signal,
	             r.err);
	load(path, &d);
	cr_assert_eq(d.live.state, LC_LIVE_EXITED);
	cr_assert_eq(d.meta.hold_rate, 5);
	dump_free(&d);
	char *hold_n = harness_folded(path, "hold", (const char *[]){"--value=contentions", NULL});
	harness_assert_near(harness_folded_sum(hold_n, "hold_briefly", NULL),
	                    harness_out_value(r.out, "sections"), 0.15,
	                    "attached, hold view, sections of hold_briefly");
	free(hold_n);
	harness_result_free(&r);
}

/* Under the preload, another copy of the library loaded by dlopen finds
 * the preloaded one recording: it stays out, and says EALREADY. */
Test(attach, a_second_copy_under_the_preload_stays_out, .timeout = 60)
{
	const char *dir = harness_tmpdir();
	char copy[PATH_MAX], cmd[2 * PATH_MAX + 16], env[PATH_MAX + 32];
	struct run_result r;
	snprintf(copy, sizeof(copy), "%s/copy.so", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", harness_preload(), copy);
	cr_assert_eq(system(cmd), 0);
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/pre.%%p.raw", dir);
	const char *argv[] = {harness_fixture("attach"), copy, "-", "-", "twice", NULL};
	const char *envv[] = {env, NULL};
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.err, PREFIX "attach 114\n"), "%s", r.err);
	/* The preloaded copy's profile, if it recorded anything (its file is
	 * made at its first contention): complete, and not an attach's. */
	if (harness_count_files(dir, "pre.*.raw")) {
		struct dump d;
		harness_load_dump(dir, "pre.*.raw", &d);
		cr_assert(d.complete && !(d.meta.flags & LC_META_ATTACHED), "%s", d.warning);
		dump_free(&d);
	}
	harness_result_free(&r);
}

/* What the library exports: every hook hooklist.h names (the table an
 * attach patches with), and lockcontend_attach and lockcontend_detach. */
Test(attach, the_library_exports_its_hooks_and_two_entry_points)
{
#define NAME(n) #n,
	static const char *const hooks[] = {HOOKLIST(NAME) "lockcontend_attach",
	                                    "lockcontend_detach"};
	size_t nhooks = sizeof(hooks) / sizeof(hooks[0]), seen = 0;
	char cmd[PATH_MAX + 64], line[256];
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", harness_preload());
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	while (fgets(line, sizeof(line), p)) {
		char name[200];
		if (sscanf(line, "%*s %*s %199s", name) != 1)
			continue;
		bool known = false;
		for (size_t i = 0; i < nhooks; i++)
			known |= strcmp(hooks[i], name) == 0;
		cr_expect(known, "%s is exported but not in hooklist.h", name);
		seen++;
	}
	pclose(p);
	cr_assert_eq(seen, nhooks, "%zu exported, %zu named", seen, nhooks);
}

/* A library loaded by dlopen takes its initial-exec TLS from what glibc
 * keeps spare (about 1.7 KiB where nothing else took it): ours stays small. */
Test(attach, the_static_tls_block_is_small)
{
	char cmd[PATH_MAX + 64], line[256];
	unsigned long memsz = 0;
	snprintf(cmd, sizeof(cmd), "readelf -lW '%s'", harness_preload());
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, " TLS %*s %*s %*s %*s %lx", &memsz) == 1)
			break;
	pclose(p);
	cr_assert_gt(memsz, 0, "no PT_TLS");
	cr_assert_leq(memsz, 256, "%lu bytes of static TLS", memsz);
}
