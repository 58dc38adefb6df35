/*
 * test_env.c — LOCKCONTEND from the user's side: bad values warn once per
 * item on stderr and fall back to defaults, the program runs on; `off`
 * writes nothing; verbose prints one summary line; out= naming a directory
 * writes the default name in it.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>

#include "integration/harness.h"

static void run_exit0(const char *dir, const char *lc, struct run_result *r)
{
	char env[12000];
	snprintf(env, sizeof(env), "LOCKCONTEND=%s", lc);
	const char *argv[] = {harness_fixture("scenarios"), "exit", "0", NULL};
	const char *envv[] = {env, NULL};
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, r), 0);
	cr_assert_eq(r->exit_code, 0, "%s", r->err);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static size_t count_files(const char *dir, const char *pattern)
{
	char pat[700];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/%s", dir, pattern);
	size_t n = glob(pat, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
	globfree(&g);
	return n;
}

Test(env, bad_values_warn_and_use_defaults)
{
	const char *dir = harness_tmpdir();
	struct run_result r;
	run_exit0(dir, "depth=100000,rate=-1,bogus=1,stacks=maybe,out=lc.%p.raw", &r);
	cr_assert_eq(count_lines(r.err, "lockcontend: LOCKCONTEND: "), 4, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.err, "\n"), 4, "one line per bad item: %s", r.err);
	struct dump d;
	harness_load_dump(dir, "lc.*.raw", &d);
	cr_assert_eq(d.meta.depth, 64);
	cr_assert_eq(d.meta.rate, 1);
	cr_assert(d.meta.flags & LC_META_STACKS);
	dump_free(&d);
	harness_result_free(&r);
}

Test(env, ten_kilobytes_of_junk_is_harmless)
{
	const char *dir = harness_tmpdir();
	static char junk[10241];
	for (size_t i = 0; i < sizeof(junk) - 1; i++)
		junk[i] = (char)("ab=,%x9\x01"[i % 8]);
	struct run_result r;
	run_exit0(dir, junk, &r);
	cr_assert(strlen(r.err) > 0);
	cr_assert(count_lines(r.err, "\n") <= 9, "bounded warnings: %s", r.err);
	cr_assert(strstr(r.err, "more bad items ignored") != NULL);
	harness_result_free(&r);
}

Test(env, off_writes_nothing)
{
	const char *dir = harness_tmpdir();
	struct run_result r;
	run_exit0(dir, "off", &r);
	cr_assert_eq(count_files(dir, "*.raw"), 0);
	cr_assert_str_empty(r.err);
	harness_result_free(&r);
}

Test(env, verbose_prints_one_summary_line)
{
	const char *dir = harness_tmpdir();
	struct run_result r;
	run_exit0(dir, "verbose=1,out=v.raw", &r);
	cr_assert(strstr(r.err, "lockcontend: 1 contentions") == r.err, "stderr: %s", r.err);
	cr_assert(strstr(r.err, "/v.raw\n") != NULL, "stderr: %s", r.err); /* absolute */
	cr_assert_eq(count_files(dir, "v.raw"), 1);
	harness_result_free(&r);
}

Test(env, default_name_in_working_directory)
{
	const char *dir = harness_tmpdir();
	struct run_result r;
	run_exit0(dir, "", &r);
	cr_assert_eq(count_files(dir, "lockcontend.*.raw"), 1);
	harness_result_free(&r);
}

/* out= naming a directory means a profile in it, under the default name
 * (before: out=. made "..1" in the working directory, out=/tmp "/tmp.1"):
 * ".", an absolute directory, and a relative name ending in '/'. */
Test(env, out_naming_a_directory_means_a_profile_in_it)
{
	const char *dir = harness_tmpdir();
	char sub[600], lc[700];
	struct run_result r;
	run_exit0(dir, "out=.", &r);
	cr_assert_str_empty(r.err);
	cr_assert_eq(count_files(dir, "lockcontend.*.raw"), 1, "no profile in the directory");
	cr_assert_eq(count_files(dir, "..[0-9]*"), 0, "a file beside it: ..1");
	harness_result_free(&r);
	snprintf(sub, sizeof(sub), "%s/dumps", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(lc, sizeof(lc), "out=%s", sub);
	run_exit0(dir, lc, &r);
	cr_assert_str_empty(r.err);
	cr_assert_eq(count_files(sub, "lockcontend.*.raw"), 1, "no profile in %s", sub);
	harness_result_free(&r);
	run_exit0(dir, "out=dumps/", &r);
	cr_assert_str_empty(r.err);
	cr_assert_eq(count_files(sub, "lockcontend.*.raw"), 2, "no profile in dumps/");
	cr_assert_eq(count_files(dir, "dumps.*"), 0);
	harness_result_free(&r);
}
