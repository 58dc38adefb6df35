/*
 * test_install.c — `make install`, the installed command, its man pages and
 * its bash completion, and `make uninstall`.
 *
 * The man pages cannot drift from the tools: every option that
 * `lockcontend --help`, `lockcontend top --help` and `lockcontend-symbolize
 * --help` print is named in its page (as roff writes it, \-\-name), every
 * key preload/config.c knows (its keys[] table) and `off` head an entry of
 * lockcontend(1)'s ENVIRONMENT, and groff renders both pages without a
 * warning (-ww).
 *
 * Then the whole install, as a user gets it: make install into a DESTDIR
 * under this test's directory, nothing in the source tree moved or hidden,
 * and the installed `lockcontend -- known_wait` (a copy of the fixture
 * beside the DESTDIR) run with a PATH of the DESTDIR's bin and the system's
 * only, from a directory outside the tree: the report names the fixture's
 * waiting function and the version that recorded it, and the profile it
 * kept has the installed library in its module map — not build/'s;
 * `lockcontend top` runs the installed lockcontend-top.  The command works
 * through a symbolic link too; `man -l` renders both
 * installed pages at 80 columns without a warning; the completion file
 * sources in bash and completes an option; make uninstall then leaves no
 * file in the DESTDIR (its directories may stay).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integration/harness.h"

#define PAGE_RUN "man/lockcontend.1"
#define PAGE_SYMBOLIZE "man/lockcontend-symbolize.1"

/* a then b, in out (cap bytes), or the test fails. */
static void join(char *out, size_t cap, const char *a, const char *b)
{
	cr_assert((size_t)snprintf(out, cap, "%s%s", a, b) < cap, "path too long: %s%s", a, b);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	do {
		if (len + 4096 + 1 > cap)
			cr_assert((buf = realloc(buf, cap = cap * 2 + 8192)) != NULL);
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Run argv (argv[0] a path) from the repository root; it must exit 0. */
static char *run_ok(const char *const argv[], const char *const env[], const char *cwd,
                    int timeout_s)
{
	struct run_result r;
	cr_assert_eq(harness_run(argv, env, cwd, false, timeout_s, &r), 0);
	cr_assert(!r.timed_out, "%s hung", argv[0]);
	cr_assert_eq(r.exit_code, 0, "%s %s: exit %d\n%s%s", argv[0], argv[1] ? argv[1] : "",
	             r.exit_code, r.out, r.err);
	char *out = r.out;
	r.out = NULL;
	harness_result_free(&r);
	return out;
}

/* Every option word in a --help text: a word that starts with - or --
 * after a blank, '[', '(', ',' or '|', up to a character that is not a
 * letter, a digit or a '-' ("--format=text" gives --format). */
static size_t help_options(const char *help, char opts[][32], size_t max)
{
	size_t n = 0;
	for (const char *p = help; *p; p++) {
		if (*p != '-' || (p > help && !strchr(" \t\n[(,|", p[-1])))
			continue;
		size_t len = strspn(p, "-"), more;
		if (len > 2 || !((p[len] >= 'a' && p[len] <= 'z') || (p[len] >= 'A' && p[len] <= 'Z')))
			continue;
		more = strspn(p + len, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
		cr_assert(n < max && len + more < 32, "too many options, or one too long");
		memcpy(opts[n], p, len + more);
		opts[n++][len + more] = '\0';
		p += len + more - 1;
	}
	return n;
}

/* An option as roff writes it in the page: each '-' as "\-". */
static bool page_names_option(const char *page, const char *opt)
{
	char roff[80];
	size_t k = 0;
	for (const char *c = opt; *c && k + 3 < sizeof(roff); c++) {
		if (*c == '-')
			roff[k++] = '\\';
		roff[k++] = *c;
	}
	roff[k] = '\0';
	return strstr(page, roff) != NULL;
}

static void assert_page_names_help(const char *page_path, const char *const argv[])
{
	char *page = read_text(page_path), *help = run_ok(argv, NULL, NULL, 30);
	char opts[128][32];
	size_t n = help_options(help, opts, 128);
	cr_assert_gt(n, 5, "%s --help: only %zu options found:\n%s", argv[0], n, help);
	for (size_t i = 0; i < n; i++)
		cr_expect(page_names_option(page, opts[i]), "%s does not name %s (from %s %s)",
		          page_path, opts[i], argv[0], argv[1]);
	free(help);
	free(page);
}

/* The keys of preload/config.c's table of known keys, "rate", "depth", ... */
static size_t config_keys(char keys[][32], size_t max)
{
	char *src = read_text("preload/config.c");
	char *at = strstr(src, "keys[] = {"), *end = at ? strstr(at, "};") : NULL;
	cr_assert(at && end, "preload/config.c: no keys[] table");
	size_t n = 0;
	for (char *q = strchr(at, '"'); q && q < end; q = strchr(q, '"')) {
		char *close = strchr(q + 1, '"');
		cr_assert(close && close - q - 1 < 32 && n < max);
		memcpy(keys[n], q + 1, (size_t)(close - q - 1));
		keys[n++][close - q - 1] = '\0';
		q = close + 1;
	}
	free(src);
	return n;
}

/* An entry of the page (.B, .BI or .BR) that starts with `word`. */
static bool page_has_entry(const char *page, const char *word)
{
	static const char *const macros[] = {"\n.B ", "\n.BI ", "\n.BR "};
	char want[64];
	for (size_t i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "%s%s", macros[i], word);
		if (strstr(page, want))
			return true;
	}
	return false;
}

Test(install, man_pages_name_every_option_and_every_key)
{
	assert_page_names_help(PAGE_RUN, (const char *[]){"scripts/lockcontend", "--help", NULL});
	assert_page_names_help(PAGE_RUN,
	                       (const char *[]){"scripts/lockcontend", "top", "--help", NULL});
	assert_page_names_help(PAGE_SYMBOLIZE,
	                       (const char *[]){"build/lockcontend-symbolize", "--help", NULL});
	char keys[64][32], want[40];
	size_t n = config_keys(keys, 64);
	cr_assert_gt(n, 10, "preload/config.c: only %zu keys", n);
	char *page = read_text(PAGE_RUN);
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%s=", keys[i]);
		cr_expect(page_has_entry(page, want), "%s has no entry for LOCKCONTEND's %s",
		          PAGE_RUN, want);
	}
	cr_expect(page_has_entry(page, "off\n"), "%s has no entry for LOCKCONTEND=off", PAGE_RUN);
	free(page);
}

/* groff's every warning on (-ww), no output (-z): nothing on stderr. */
Test(install, man_pages_render_without_warnings)
{
	for (const char *const *page = (const char *const[]){PAGE_RUN, PAGE_SYMBOLIZE, NULL}; *page;
	     page++) {
		struct run_result r;
		const char *argv[] = {"/usr/bin/groff", "-man", "-ww", "-z", *page, NULL};
		cr_assert_eq(harness_run(argv, NULL, NULL, false, 30, &r), 0);
		cr_assert_eq(r.exit_code, 0, "groff %s: exit %d\n%s", *page, r.exit_code, r.err);
		cr_assert_str_eq(r.err, "", "groff %s warns:\n%s", *page, r.err);
		harness_result_free(&r);
	}
}

/* ---- the install itself ----------------------------------------------------------- */

struct install {
	char dest[PATH_MAX];   /* the DESTDIR */
	char bin[PATH_MAX];    /* DESTDIR/usr/local/bin */
	char path[PATH_MAX * 2]; /* PATH=bin and the system's, no build tree */
	char version[64];
};

static void make_target(const char *target, const struct install *in)
{
	char destdir[PATH_MAX + 16];
	snprintf(destdir, sizeof(destdir), "DESTDIR=%s", in->dest);
	/* MAKEFLAGS emptied: a make check's jobserver is not this make's */
	const char *env[] = {"MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", NULL};
	free(run_ok((const char *[]){"/usr/bin/make", "--no-print-directory", "-s", target,
	                             "PREFIX=/usr/local", destdir, NULL},
	            env, NULL, 600));
}

static void install_setup(struct install *in)
{
	const char *tmp = harness_tmpdir();
	snprintf(in->dest, sizeof(in->dest), "%s/dest", tmp);
	join(in->bin, sizeof(in->bin), in->dest, "/usr/local/bin");
	snprintf(in->path, sizeof(in->path), "PATH=%s:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
	         in->bin);
	char *v = read_text("VERSION");
	v[strcspn(v, "\n")] = '\0';
	snprintf(in->version, sizeof(in->version), "%s", v);
	free(v);
	make_target("install", in);
}

/* Run `NAME ARGS...` as a shell would find NAME on the install's PATH, in
 * directory cwd, with TMPDIR there too. */
static void run_installed(const struct install *in, const char *cwd, const char *const args[],
                          struct run_result *r)
{
	char tmpdir[PATH_MAX + 8];
	snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s", cwd);
	const char *argv[24] = {"/usr/bin/env", in->path, tmpdir};
	for (size_t i = 0; args[i] && i < 20; i++)
		argv[i + 3] = args[i];
	cr_assert_eq(harness_run(argv, NULL, cwd, false, 120, r), 0);
	cr_assert(!r->timed_out, "%s hung", args[0]);
}

static int any_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_D || flag == FTW_DP)
		return 0;
	cr_expect_fail("make uninstall left %s", path);
	return 0;
}

/* known_wait, copied out of the build tree, under the installed command. */
static void profile_known_wait(const struct install *in, const char *work)
{
	char exe[PATH_MAX], out[PATH_MAX + 8], want[128];
	join(exe, sizeof(exe), work, "/known_wait");
	free(run_ok((const char *[]){"/bin/cp", harness_fixture("known_wait"), exe, NULL}, NULL,
	            NULL, 30));
	snprintf(out, sizeof(out), "%s/kept", work);
	struct run_result r;
	run_installed(in, work,
	              (const char *[]){"lockcontend", "--out", out, "--", exe, "5", "20", NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "installed lockcontend: exit %d\n%s%s", r.exit_code, r.out,
	             r.err);
	cr_assert(strstr(r.out, "waiter_blocked (test/fixtures/known_wait.c:"), "%s", r.out);
	cr_assert(strstr(r.out, " in 5 contentions"), "%s", r.out);
	snprintf(want, sizeof(want), "; recorded by lockcontend %s\n", in->version);
	cr_assert(strstr(r.out, want), "no \"%s\" in\n%s", want, r.out);
	harness_result_free(&r);
	/* the library the profile says was loaded: the installed one */
	char dump[PATH_MAX], lib[PATH_MAX + 64];
	harness_one_file(out, "known_wait.*.raw", dump);
	run_installed(in, work, (const char *[]){"lockcontend-rawdump", dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	snprintf(lib, sizeof(lib), " %s/usr/local/lib/lockcontend/liblockcontend.so ", in->dest);
	cr_assert(strstr(r.out, lib), "the profile's modules have no%s:\n%s", lib, r.out);
	snprintf(want, sizeof(want), "\nwriter %s\n", in->version);
	cr_assert(strstr(r.out, want), "%s", r.out);
	harness_result_free(&r);
}

/* `lockcontend top` runs the installed lockcontend-top (PREFIX/lib/lockcontend/). */
static void assert_top_is_installed(const struct install *in, const char *work)
{
	struct run_result r;
	run_installed(in, work, (const char *[]){"lockcontend", "top", "--help", NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "installed lockcontend top --help: exit %d\n%s", r.exit_code,
	             r.err);
	cr_assert(strstr(r.out, "usage: lockcontend-top"), "%s", r.out);
	harness_result_free(&r);
}

static void assert_version_through_a_link(const struct install *in, const char *work)
{
	char link[PATH_MAX], target[PATH_MAX + 16], want[128];
	join(link, sizeof(link), work, "/lc-link");
	snprintf(target, sizeof(target), "%s/lockcontend", in->bin);
	cr_assert_eq(symlink(target, link), 0, "%s", strerror(errno));
	char *out = run_ok((const char *[]){link, "--version", NULL}, NULL, work, 30);
	snprintf(want, sizeof(want), "lockcontend %s\n", in->version);
	cr_assert_str_eq(out, want);
	free(out);
}

static void assert_installed_pages_render(const struct install *in, const char *work)
{
	static const char *const pages[] = {"lockcontend.1", "lockcontend-symbolize.1"};
	for (size_t i = 0; i < 2; i++) {
		char page[PATH_MAX];
		struct run_result r;
		char man1[PATH_MAX];
		join(man1, sizeof(man1), in->dest, "/usr/local/share/man/man1/");
		join(page, sizeof(page), man1, pages[i]);
		run_installed(in, work, (const char *[]){"MANWIDTH=80", "man", "-l", page, NULL}, &r);
		cr_assert_eq(r.exit_code, 0, "man -l %s: exit %d\n%s", page, r.exit_code, r.err);
		cr_assert_str_eq(r.err, "", "man -l %s warns:\n%s", page, r.err);
		cr_assert(strstr(r.out, "SYNOPSIS") && strstr(r.out, "--version"), "%s", r.out);
		harness_result_free(&r);
	}
}

/* Sourced as bash-completion would, by either name; `lockcontend --fo`
 * completes to --format. */
static void assert_completion_sources(const struct install *in, const char *work)
{
	static const char script[] =
	    "set -e; for f in \"$1/lockcontend\" \"$1/lockcontend-symbolize\"; do source \"$f\"; done\n"
	    "complete -p lockcontend >/dev/null; complete -p lockcontend-symbolize >/dev/null\n"
	    "COMP_WORDS=(lockcontend --fo); COMP_CWORD=1; _lockcontend; echo \"${COMPREPLY[*]}\"\n";
	char dir[PATH_MAX];
	join(dir, sizeof(dir), in->dest, "/usr/local/share/bash-completion/completions");
	char *out = run_ok((const char *[]){"/bin/bash", "-c", script, "bash", dir, NULL}, NULL,
	                   work, 30);
	cr_assert_str_eq(out, "--format\n");
	free(out);
}

Test(install, installed_command_runs_alone_and_uninstall_removes_it, .timeout = 900)
{
	struct install in;
	install_setup(&in);
	char work[PATH_MAX];
	snprintf(work, sizeof(work), "%s/work", harness_tmpdir());
	cr_assert_eq(mkdir(work, 0700), 0, "%s", strerror(errno));
	profile_known_wait(&in, work);
	assert_top_is_installed(&in, work);
	assert_version_through_a_link(&in, work);
	assert_installed_pages_render(&in, work);
	assert_completion_sources(&in, work);
	make_target("uninstall", &in);
	cr_assert_eq(nftw(in.dest, any_file, 16, FTW_PHYS), 0);
}
