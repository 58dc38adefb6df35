/*
 * test_symbolize.c — build/lockcontend-symbolize on real dumps.
 *
 * Fixtures run under the preload; their dumps go through the symbolizer
 * and the output is checked against what the dump and the sources say:
 * the text report names the waiting function with its exact count, delay
 * and source line; folded stacks add up to the dump's totals; inlined
 * functions are frames of their own; C++ names are demangled (or not);
 * a rebuilt binary never lends its names (build-id check), and
 * --debug-dir / --sysroot find the right file again; several dumps merge;
 * bad, truncated and corrupted files give exit 1 or 2 with one line on
 * stderr and never a crash, as do bad options in every tool; a FIFO or a device named as a dump, a module's
 * file or a debug file never blocks it; -o replaces a regular file
 * atomically and writes into a FIFO, /dev/null or /dev/stdout, follows a
 * link, refuses a directory (docs/safety.md).
 *
 * LOCKCONTEND_TEST_SYMBOLIZE=/path/to/lockcontend-symbolize runs these
 * tests against another build of the symbolizer.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "integration/harness.h"

/* ---- helpers: running things --------------------------------------------- */

/* build/lockcontend-symbolize, or $LOCKCONTEND_TEST_SYMBOLIZE (to check
 * another build of it by hand). */
static const char *symbolizer(void)
{
	static char path[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_SYMBOLIZE");
	const char *want = over && *over ? over : "build/lockcontend-symbolize";
	cr_assert(realpath(want, path) != NULL, "%s: %s (run make all)", want, strerror(errno));
	return path;
}

/* Run the symbolizer with args (NULL-terminated), killed after watchdog_s
 * seconds; it must end by itself, never by a signal. */
static void symbolize_within(int watchdog_s, const char *const args[], struct run_result *r)
{
	const char *argv[32] = {symbolizer()};
	for (size_t i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	cr_assert_eq(harness_run(argv, NULL, NULL, false, watchdog_s, r), 0);
	cr_assert(!r->timed_out, "the symbolizer hung (killed after %d s)", watchdog_s);
	cr_assert_eq(r->signal, 0, "the symbolizer died of signal %d; stderr: %s", r->signal, r->err);
}

static void symbolize(const char *const args[], struct run_result *r)
{
	symbolize_within(60, args, r);
}

/* What must end at once (a refusal, a small dump): a hang fails sooner. */
#define PROMPT_S 20

/* Run exe ARGS under the preload with its dumps going to dir/tag.%p.raw. */
static void profile(const char *exe, const char *const args[], const char *dir, const char *tag)
{
	char env[PATH_MAX + 64];
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/%s.%%p.raw", dir, tag);
	const char *argv[8] = {exe};
	for (size_t i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, &r), 0);
	cr_assert(!r.timed_out, "%s hung", exe);
	cr_assert_eq(r.exit_code, 0, "%s failed: %s%s", exe, r.out, r.err);
	harness_result_free(&r);
}

/* The one dump dir/tag.*.raw, copied into path. */
static void one_dump(const char *dir, const char *tag, char path[PATH_MAX])
{
	char pat[PATH_MAX];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/%s.*.raw", dir, tag);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no dump %s", pat);
	cr_assert_eq(g.gl_pathc, 1, "%zu dumps match %s", g.gl_pathc, pat);
	snprintf(path, PATH_MAX, "%s", g.gl_pathv[0]);
	globfree(&g);
}

/* Profile a fixture by name; its dump's path goes to path. */
static void fixture_dump(const char *name, const char *const args[], char path[PATH_MAX])
{
	const char *dir = harness_tmpdir();
	profile(harness_fixture(name), args, dir, name);
	one_dump(dir, name, path);
}

static void read_dump(const char *path, struct dump *d)
{
	char err[256];
	cr_assert_eq(dump_read_file(path, d, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_assert(d->complete, "%s: %s", path, d->warning);
}

/* ---- helpers: files ------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	cr_assert(fd >= 0 && fstat(fd, &st) == 0, "%s: %s", path, strerror(errno));
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	cr_assert(buf != NULL);
	cr_assert_eq(read(fd, buf, (size_t)st.st_size), st.st_size, "short read of %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void spit(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len, "short write of %s", path);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *buf = slurp(from, &len);
	unlink(to); /* never write through into a file being run */
	spit(to, buf, len, 0755);
	free(buf);
}

static void mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

/* 1-based number of the first line containing needle after the first line
 * containing after (NULL: from the top); fails the test if absent. */
static int source_line(const char *file, const char *after, const char *needle)
{
	FILE *f = fopen(file, "r");
	cr_assert(f != NULL, "%s: %s", file, strerror(errno));
	char line[1024];
	int n = 0, found = 0;
	bool armed = after == NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		n++;
		if (armed && strstr(line, needle))
			found = n;
		if (after && strstr(line, after))
			armed = true;
	}
	fclose(f);
	cr_assert(found, "%s: no '%s' after '%s'", file, needle, after ? after : "the top");
	return found;
}

/* ---- helpers: reading the text report ------------------------------------ */

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* report_text.c's duration format, to compare strings exactly. */
static void fmt_duration(char *buf, size_t cap, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, cap, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, cap, "%.2f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, cap, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.2f s", (double)ns / 1e9);
}

/* The "Top functions" row of fn: its flat wait as printed ("12.34 ms")
 * and its contentions.  False if fn has no row. */
static bool function_row(const char *out, const char *fn, char flat[32], int64_t *contentions)
{
	const char *s = strstr(out, "\nTop functions");
	const char *end = s ? strstr(s, "\nTop stacks") : NULL;
	char want[512];
	snprintf(want, sizeof(want), "  %s\n", fn);
	for (const char *p = s ? strstr(s, want) : NULL; p && p < end; p = strstr(p + 1, want)) {
		const char *bol = p;
		while (bol > out && bol[-1] != '\n')
			bol--;
		char v[16], unit[16];
		if (sscanf(bol, "%15s %15s %*s %*s %*s %*s %*s %" SCNd64, v, unit, contentions) != 3)
			continue;
		snprintf(flat, 32, "%s %s", v, unit);
		return true;
	}
	return false;
}

struct stack {
	char frames[64][512];
	size_t n;
};

/* Stack #k of the "Top stacks" section, one frame per line, trimmed. */
static void top_stack(const char *out, int k, struct stack *st)
{
	char head[32];
	snprintf(head, sizeof(head), "\n  #%d  ", k);
	const char *p = strstr(out, head);
	cr_assert(p != NULL, "no stack #%d in:\n%s", k, out);
	p = strchr(p + 1, '\n');
	st->n = 0;
	while (p && strncmp(p, "\n      ", 7) == 0 && st->n < 64) {
		p += 7;
		size_t len = strcspn(p, "\n");
		snprintf(st->frames[st->n++], 512, "%.*s", (int)len, p);
		p += len;
	}
	cr_assert(st->n > 0, "stack #%d has no frames:\n%s", k, out);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "fn (...FILE:LINE)" with FILE:LINE at the end (the path may be relative
 * to the build directory or absolute). */
static void assert_frame(const char *frame, const char *fn, const char *file, int line,
                         const char *tail)
{
	char want[512];
	snprintf(want, sizeof(want), "%s:%d)%s", file, line, tail);
	cr_assert(strncmp(frame, fn, strlen(fn)) == 0 && strncmp(frame + strlen(fn), " (", 2) == 0,
	          "frame '%s' is not %s", frame, fn);
	cr_assert(has_suffix(frame, want), "frame '%s' does not end in '%s'", frame, want);
}

/* ---- known truth ------------------------------------------------------------ */

Test(symbolize, known_wait_text_report_has_exact_counts_delay_and_lines)
{
	char path[PATH_MAX], flat[32], want[32];
	struct dump d;
	struct run_result r;
	int64_t contentions = 0;
	uint64_t count, delay;
	fixture_dump("known_wait", (const char *[]){"5", "20", NULL}, path);
	read_dump(path, &d);
	harness_sum_function(&d, harness_fixture("known_wait"), "waiter_blocked", &count, &delay);
	cr_assert_eq(count, 5, "the dump itself: %" PRIu64 " contentions", count);

	symbolize((const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert(function_row(r.out, "waiter_blocked", flat, &contentions), "%s", r.out);
	fmt_duration(want, sizeof(want), delay);
	cr_assert_eq(contentions, 5, "row says %" PRId64 " contentions", contentions);
	cr_assert_str_eq(flat, want, "flat delay %s, dump says %" PRIu64 " ns", flat, delay);

	const char *src = "test/fixtures/known_wait.c";
	int lock_line = source_line(src, "waiter_blocked(void)", "pthread_mutex_lock(");
	int call_line = source_line(src, "int main(", "waiter_blocked()");
	struct stack st;
	top_stack(r.out, 1, &st);
	cr_assert(st.n >= 2);
	assert_frame(st.frames[0], "waiter_blocked", src, lock_line, "");
	assert_frame(st.frames[1], "main", src, call_line, "");
	dump_free(&d);
	harness_result_free(&r);
}

/* ---- folded ------------------------------------------------------------------ */

/* Check every line is "f1;...;fn VALUE" and return the sum of values;
 * *inner gets the innermost frame of the line with the largest value. */
static int64_t folded_sum(const char *out, char inner[512])
{
	int64_t sum = 0, best = -1;
	for (const char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		char line[8192];
		cr_assert(len < sizeof(line) && p[len] == '\n', "bad line in:\n%s", out);
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		char *sp = strrchr(line, ' ');
		cr_assert(sp && sp > line && sp[1], "no 'stack value' in '%s'", line);
		char *end;
		int64_t v = strtoll(sp + 1, &end, 10);
		cr_assert(*end == '\0' && v > 0, "bad value in '%s'", line);
		*sp = '\0';
		cr_assert(!strstr(line, ";;") && line[0] != ';' && sp[-1] != ';', "empty frame: %s", line);
		if (v > best) {
			const char *semi = strrchr(line, ';');
			snprintf(inner, 512, "%.511s", semi ? semi + 1 : line);
			best = v;
		}
		sum += v;
		p += len + 1;
	}
	return sum;
}

Test(symbolize, folded_values_sum_to_the_dump_totals)
{
	char path[PATH_MAX], inner[512] = "";
	struct dump d;
	struct run_result r;
	fixture_dump("known_wait", (const char *[]){"5", "20", NULL}, path);
	read_dump(path, &d);

	symbolize((const char *[]){"--format=folded", path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "main;waiter_blocked "), "no main;waiter_blocked in:\n%s", r.out);
	int64_t sum = folded_sum(r.out, inner);
	cr_assert_eq((uint64_t)sum, d.totals.delay_ns, "folded %" PRId64 " ns, dump %" PRIu64, sum,
	             d.totals.delay_ns);
	cr_assert_str_eq(inner, "waiter_blocked");
	harness_result_free(&r);

	symbolize((const char *[]){"--format=folded", "--value=contentions", path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	sum = folded_sum(r.out, inner);
	cr_assert_eq((uint64_t)sum, d.totals.contentions, "folded %" PRId64 ", dump %" PRIu64, sum,
	             d.totals.contentions);
	cr_assert(strstr(r.out, "main;waiter_blocked 5\n"), "%s", r.out);
	dump_free(&d);
	harness_result_free(&r);
}

/* ---- inline frames, C++ ------------------------------------------------------ */

Test(symbolize, inlined_function_is_a_frame_of_its_own)
{
	char path[PATH_MAX];
	struct run_result r;
	uint64_t lo, hi;
	cr_assert(!harness_symbol(harness_fixture("inline_wait"), "take_slot", &lo, &hi),
	          "take_slot was not inlined: the fixture proves nothing");
	fixture_dump("inline_wait", (const char *[]){"3", "20", NULL}, path);
	symbolize((const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);

	const char *src = "test/fixtures/inline_wait.c";
	int lock_line = source_line(src, "void take_slot(void)", "pthread_mutex_lock(");
	int call_line = source_line(src, "void wait_for_slot(void)", "take_slot();");
	struct stack st;
	top_stack(r.out, 1, &st);
	cr_assert(st.n >= 3, "%s", r.out);
	assert_frame(st.frames[0], "take_slot", src, lock_line, " [inlined]");
	assert_frame(st.frames[1], "wait_for_slot", src, call_line, "");
	cr_assert(strncmp(st.frames[2], "main (", 6) == 0, "then main, not '%s'", st.frames[2]);
	harness_result_free(&r);

	symbolize((const char *[]){"--format=folded", path, NULL}, &r);
	cr_assert(strstr(r.out, ";main;wait_for_slot;take_slot "), "folded:\n%s", r.out);
	harness_result_free(&r);
}

Test(symbolize, cxx_names_are_demangled_unless_asked_not_to)
{
	char path[PATH_MAX], flat[32];
	struct run_result r;
	int64_t contentions = 0;
	fixture_dump("ring_buffer", (const char *[]){"4", "10", NULL}, path);

	symbolize((const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(function_row(r.out, "ring::Buffer::push(int)", flat, &contentions), "%s", r.out);
	cr_assert_eq(contentions, 4);
	cr_assert(strstr(r.out, "      ring::Buffer::push(int) ("), "no stack frame:\n%s", r.out);
	cr_assert(!strstr(r.out, "_ZN4ring6Buffer4pushEi"), "%s", r.out);
	harness_result_free(&r);

	symbolize((const char *[]){"--no-demangle", path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(function_row(r.out, "_ZN4ring6Buffer4pushEi", flat, &contentions), "%s", r.out);
	cr_assert_eq(contentions, 4);
	cr_assert(!strstr(r.out, "ring::Buffer::push"), "demangled anyway:\n%s", r.out);
	harness_result_free(&r);

	symbolize((const char *[]){"--format=folded", path, NULL}, &r);
	cr_assert(strstr(r.out, ";main;ring::Buffer::push(int);"), "folded:\n%s", r.out);
	harness_result_free(&r);
}

/* ---- finding the right binary ------------------------------------------------ */

/* known_wait copied to dir/kw and profiled there; *d is its dump. */
static void profile_copy(const char *dir, char exe[PATH_MAX], char path[PATH_MAX], struct dump *d)
{
	snprintf(exe, PATH_MAX, "%s/kw", dir);
	copy_file(harness_fixture("known_wait"), exe);
	profile(exe, (const char *[]){"2", "10", NULL}, dir, "kw");
	one_dump(dir, "kw", path);
	read_dump(path, d);
}

static const struct dump_module *module_named(const struct dump *d, const char *path)
{
	for (size_t i = 0; i < d->nmodules; i++)
		if (strcmp(d->modules[i].path, path) == 0)
			return &d->modules[i];
	cr_assert_fail("the dump has no module %s", path);
	return NULL;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

/* Stack #1 (the one bucket) names waiter_blocked, then main. */
static void assert_named(const char *out)
{
	struct stack st;
	top_stack(out, 1, &st);
	cr_assert(st.n >= 2);
	cr_assert(strncmp(st.frames[0], "waiter_blocked (", 16) == 0, "'%s'", st.frames[0]);
	cr_assert(strncmp(st.frames[1], "main (", 6) == 0, "'%s'", st.frames[1]);
}

/* The report out of profile_copy's dump d has the waiter's one stack first,
 * and its frames in the module exe print as kw+0xoffset (of pc - 1): never a
 * name. */
static void assert_kw_unnamed(const char *out, const struct dump *d, const char *exe)
{
	char label[64];
	const struct dump_module *m = module_named(d, exe);
	const struct dump_bucket *w = NULL;
	for (size_t i = 0; i < d->nbuckets; i++)
		if (d->buckets[i].view == LC_VIEW_WAIT) {
			cr_assert_null(w, "one waiter stack");
			w = &d->buckets[i];
		}
	cr_assert_not_null(w);
	struct stack st;
	top_stack(out, 1, &st);
	cr_assert_eq(st.n, w->nframes, "%s", out);
	for (uint32_t f = 0; f < w->nframes; f++) {
		if (dump_frame_module(d, w->pcs[f], w->epoch) != m)
			continue;
		/* the one pc rule: the offset of pc - 1, where it was looked up */
		snprintf(label, sizeof(label), "kw+%#" PRIx64, w->pcs[f] - 1 - m->load_bias);
		cr_assert_str_eq(st.frames[f], label, "frame %u", f);
	}
}

Test(symbolize, rebuilt_binary_lends_no_names)
{
	char dir[PATH_MAX], exe[PATH_MAX], path[PATH_MAX], id[129];
	struct dump d;
	struct run_result r;
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	profile_copy(dir, exe, path, &d);
	copy_file(harness_fixture("scenarios"), exe); /* "rebuilt": another build-id */

	symbolize((const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	assert_kw_unnamed(r.out, &d, exe);
	const struct dump_module *m = module_named(&d, exe);
	hex(m->build_id, m->build_id_len, id);
	cr_assert_eq(count_lines(r.err), 1, "one warning, got:\n%s", r.err);
	cr_assert(strstr(r.err, exe) && strstr(r.err, "build-id") && strstr(r.err, id), "%s", r.err);
	dump_free(&d);
	harness_result_free(&r);
}

Test(symbolize, debug_dir_finds_the_binary_by_build_id)
{
	char dir[PATH_MAX], exe[PATH_MAX], path[PATH_MAX], id[129], byid[PATH_MAX * 2];
	struct dump d;
	struct run_result r;
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	profile_copy(dir, exe, path, &d);
	copy_file(harness_fixture("scenarios"), exe);
	const struct dump_module *m = module_named(&d, exe);
	cr_assert(m->build_id_len > 2);
	hex(m->build_id, m->build_id_len, id);
	snprintf(byid, sizeof(byid), "%s/dbg/.build-id/%.2s", dir, id);
	mkdirs(byid);
	snprintf(byid, sizeof(byid), "%s/dbg/.build-id/%.2s/%s", dir, id, id + 2);
	copy_file(harness_fixture("known_wait"), byid);

	snprintf(byid, sizeof(byid), "%s/dbg", dir);
	symbolize((const char *[]){"--debug-dir", byid, path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	assert_named(r.out);
	cr_assert(!strstr(r.err, exe), "still a warning:\n%s", r.err);
	dump_free(&d);
	harness_result_free(&r);
}

Test(symbolize, sysroot_prefixes_the_recorded_paths)
{
	char dir[PATH_MAX], exe[PATH_MAX], path[PATH_MAX], root[PATH_MAX + 16], moved[PATH_MAX * 3];
	struct dump d;
	struct run_result r;
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	profile_copy(dir, exe, path, &d);
	snprintf(root, sizeof(root), "%s/sysroot", dir);
	snprintf(moved, sizeof(moved), "%s%s", root, dir);
	mkdirs(moved);
	snprintf(moved, sizeof(moved), "%s%s", root, exe);
	copy_file(exe, moved);
	cr_assert_eq(unlink(exe), 0);

	symbolize((const char *[]){path, NULL}, &r); /* the control: gone, no names */
	cr_assert(strstr(r.err, exe) && !strstr(r.out, "waiter_blocked"), "%s%s", r.out, r.err);
	harness_result_free(&r);

	symbolize((const char *[]){"--sysroot", root, path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	assert_named(r.out);
	cr_assert(!strstr(r.err, exe), "still a warning:\n%s", r.err);
	dump_free(&d);
	harness_result_free(&r);
}

/* ---- merging ------------------------------------------------------------------ */

Test(symbolize, merged_dumps_add_up_and_each_is_listed)
{
	const char *dir = harness_tmpdir();
	char pat[PATH_MAX], line[64];
	glob_t g;
	struct run_result r;
	profile(harness_fixture("scenarios"), (const char *[]){"fork", "2", NULL}, dir, "sc");
	snprintf(pat, sizeof(pat), "%s/sc.*.raw", dir);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0);
	cr_assert_eq(g.gl_pathc, 3, "parent + 2 children, got %zu dumps", g.gl_pathc);
	uint64_t total = 0;
	const char *args[8] = {"--top=100"};
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct dump d;
		read_dump(g.gl_pathv[i], &d);
		total += d.totals.contentions;
		dump_free(&d);
		args[i + 1] = g.gl_pathv[i];
	}
	symbolize(args, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	/* one header for the three: their totals and a row each */
	snprintf(line, sizeof(line), "3 processes contended: %" PRIu64 " contentions,", total);
	cr_assert(strstr(r.out, line), "want '%s' in:\n%s", line, r.out);
	cr_assert(strstr(r.out, "\nProcesses by wait (3;"), "no process table:\n%s", r.out);
	harness_result_free(&r);

	symbolize((const char *[]){"--format=folded", "--value=contentions", args[1], args[2],
	                           args[3], NULL}, &r);
	char inner[512];
	cr_assert_eq((uint64_t)folded_sum(r.out, inner), total);
	globfree(&g);
	harness_result_free(&r);
}

Test(symbolize, identical_stacks_from_several_dumps_are_one_stack)
{
	/* Two forked children wait once each on the same stack (same binary,
	 * same addresses): "Top stacks" must rank it once with both waits, as
	 * the folded output does, not list it twice at half its weight. */
	const char *dir = harness_tmpdir();
	char pat[PATH_MAX];
	glob_t g;
	struct run_result r;
	profile(harness_fixture("scenarios"), (const char *[]){"fork", "2", NULL}, dir, "sc");
	snprintf(pat, sizeof(pat), "%s/sc.*.raw", dir);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0);
	cr_assert_eq(g.gl_pathc, 3);
	symbolize((const char *[]){"--top=100", g.gl_pathv[0], g.gl_pathv[1], g.gl_pathv[2], NULL},
	          &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	const char *stacks = strstr(r.out, "\nTop stacks");
	cr_assert(stacks != NULL);
	const char *frame = strstr(stacks, "\n      child_contend (");
	cr_assert(frame != NULL, "no child_contend stack:\n%s", r.out);
	cr_assert(!strstr(frame + 1, "\n      child_contend ("), "listed twice:\n%s", stacks);
	const char *head = frame;
	while (head > stacks && strncmp(head, "\n  #", 4) != 0)
		head--;
	char line[256];
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(head + 1, "\n"), head + 1);
	cr_assert(has_suffix(line, " in 2 contentions"), "'%s': not both children's waits:\n%s",
	          line, stacks);
	globfree(&g);
	harness_result_free(&r);
}

/* ---- bad input ---------------------------------------------------------------- */

/* Exit 1, nothing on stdout, one stderr line naming path and saying why. */
static void assert_rejected(const char *path, const char *why)
{
	struct run_result r;
	symbolize_within(PROMPT_S, (const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 1, "exit %d for %s; stderr: %s", r.exit_code, path, r.err);
	cr_assert_str_empty(r.out);
	cr_assert_eq(count_lines(r.err), 1, "one line, got:\n%s", r.err);
	cr_assert(strstr(r.err, path), "'%s' does not name %s", r.err, path);
	cr_assert(strstr(r.err, why), "'%s' does not say '%s'", r.err, why);
	harness_result_free(&r);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(symbolize, bad_files_are_one_line_errors)
{
	const char *dir = harness_tmpdir();
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/missing.raw", dir);
	assert_rejected(p, "No such file");
	snprintf(p, sizeof(p), "%s/empty.raw", dir);
	spit(p, "", 0, 0644);
	assert_rejected(p, "empty");
	assert_rejected(dir, "directory");
	uint8_t junk[4096];
	uint64_t seed = 0x5eed;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)xorshift(&seed);
	snprintf(p, sizeof(p), "%s/random.raw", dir);
	spit(p, junk, sizeof(junk), 0644);
	assert_rejected(p, "not a lockcontend dump");
}

/* Bad usage of every tool is one line on stderr (getopt's own line and the
 * whole usage after it, before), nothing on stdout, and a non-zero exit. */
static void assert_bad_usage(const char *const argv[], const char *says)
{
	struct run_result r;
	cr_assert_eq(harness_run(argv, NULL, NULL, false, PROMPT_S, &r), 0);
	cr_assert(!r.timed_out && r.signal == 0, "%s %s hung or died", argv[0], argv[1]);
	cr_assert_neq(r.exit_code, 0, "%s %s: exit 0", argv[0], argv[1]);
	cr_assert_str_empty(r.out, "%s %s: %s", argv[0], argv[1], r.out);
	const char *nl = strchr(r.err, '\n');
	cr_assert(nl && !nl[1], "%s %s: not one line:\n%s", argv[0], argv[1], r.err);
	cr_assert(strstr(r.err, says), "%s %s: '%s' not said:\n%s", argv[0], argv[1], says, r.err);
	harness_result_free(&r);
}

Test(symbolize, bad_options_are_one_line_in_every_tool)
{
	static const char *const tools[] = {"lockcontend-symbolize", "lockcontend-top",
	                                    "lockcontend-intervals", "lockcontend-rawdump"};
	char exe[PATH_MAX];
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		snprintf(exe, sizeof(exe), "build/%s", tools[i]);
		assert_bad_usage((const char *[]){exe, "--bogus", "x", NULL},
		                 "unknown option --bogus");
		assert_bad_usage((const char *[]){exe, "-Q", "x", NULL}, "unknown option -Q");
	}
	assert_bad_usage((const char *[]){"build/lockcontend-symbolize", "x", "--format", NULL},
	                 "--format needs a value");
	assert_bad_usage((const char *[]){"build/lockcontend-symbolize", "-o", NULL},
	                 "-o needs a value");
	assert_bad_usage((const char *[]){"build/lockcontend-top", "--rows", NULL},
	                 "--rows needs a value");
	assert_bad_usage((const char *[]){"build/lockcontend-top", "--once=1", "x", NULL},
	                 "--once takes no value");
	assert_bad_usage((const char *[]){"build/lockcontend-intervals", "x", "--dir", NULL},
	                 "--dir needs a value");
	assert_bad_usage((const char *[]){"build/lockcontend-rawdump", NULL}, "no dump given");
	assert_bad_usage((const char *[]){"build/lockcontend-attach", "start", "1", "--lib", NULL},
	                 "'--lib' needs a value");
	assert_bad_usage((const char *[]){"build/lockcontend-attach", "--bogus", NULL},
	                 "unknown option '--bogus'");
}

/* ---- untrusted paths: a FIFO or a device never blocks it ---------------------- */

/* docs/safety.md: whatever the command line or a dump names, the
 * symbolizer reads only a regular file, and never blocks to find out.  It
 * hung in open(2) of a FIFO, named as the dump or as a module's file; the
 * PROMPT_S watchdog makes that a failure. */

static void make_fifo(const char *path)
{
	cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo %s: %s", path, strerror(errno));
}

Test(symbolize, fifo_or_device_as_a_dump_is_refused_at_once)
{
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof(fifo), "%s/dump.raw", harness_tmpdir());
	make_fifo(fifo);
	assert_rejected(fifo, "a FIFO");
	assert_rejected("/dev/zero", "a character device");
	assert_rejected("/dev/urandom", "a character device");
}

/* The dump d of profile_copy through the symbolizer with opts, within
 * PROMPT_S: exit 0, kw's frames as kw+0xoffset, and one warning naming
 * `missing`, the file it could not use. */
static void assert_kw_missing(const char *const opts[], const char *path, const struct dump *d,
                              const char *exe, const char *missing)
{
	const char *args[8];
	size_t n = 0;
	struct run_result r;
	for (; opts[n]; n++)
		args[n] = opts[n];
	args[n++] = path;
	args[n] = NULL;
	symbolize_within(PROMPT_S, args, &r);
	cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
	assert_kw_unnamed(r.out, d, exe);
	char want[PATH_MAX * 2];
	snprintf(want, sizeof(want), "no file for %s with build-id", missing);
	const char *w = strstr(r.err, want);
	cr_assert(w && !strstr(w + 1, want), "not one warning for %s:\n%s", missing, r.err);
	harness_result_free(&r);
}

Test(symbolize, module_file_that_is_a_fifo_or_a_device_is_a_missing_module)
{
	char dir[PATH_MAX], exe[PATH_MAX], path[PATH_MAX], p[PATH_MAX * 3], root[PATH_MAX + 16];
	char id[129];
	struct dump d;
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	profile_copy(dir, exe, path, &d);

	/* the module's recorded path, and build-id files in a --debug-dir */
	const struct dump_module *m = module_named(&d, exe);
	cr_assert(m->build_id_len > 2);
	hex(m->build_id, m->build_id_len, id);
	cr_assert_eq(unlink(exe), 0);
	make_fifo(exe);
	snprintf(p, sizeof(p), "%s/dbg/.build-id/%.2s", dir, id);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/dbg/.build-id/%.2s/%s", dir, id, id + 2);
	make_fifo(p);
	snprintf(p, sizeof(p), "%s/dbg/.build-id/%.2s/%s.debug", dir, id, id + 2);
	make_fifo(p);
	snprintf(p, sizeof(p), "%s/dbg", dir);
	assert_kw_missing((const char *[]){"--debug-dir", p, NULL}, path, &d, exe, exe);

	/* under --sysroot: a FIFO, then a link to /dev/zero */
	snprintf(p, sizeof(p), "%s/fifo-root%s", dir, dir);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/fifo-root%s", dir, exe);
	make_fifo(p);
	snprintf(root, sizeof(root), "%s/fifo-root", dir);
	assert_kw_missing((const char *[]){"--sysroot", root, NULL}, path, &d, exe, p);
	snprintf(p, sizeof(p), "%s/zero-root%s", dir, dir);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/zero-root%s", dir, exe);
	cr_assert_eq(symlink("/dev/zero", p), 0, "%s: %s", p, strerror(errno));
	snprintf(root, sizeof(root), "%s/zero-root", dir);
	assert_kw_missing((const char *[]){"--sysroot", root, NULL}, path, &d, exe, p);
	dump_free(&d);
}

/* Run /usr/bin/objcopy ARGS; it must succeed. */
static void objcopy(const char *const args[])
{
	const char *argv[8] = {"/usr/bin/objcopy"};
	struct run_result r;
	for (size_t i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	cr_assert_eq(harness_run(argv, NULL, NULL, false, 30, &r), 0);
	cr_assert_eq(r.exit_code, 0, "objcopy failed: %s", r.err);
	harness_result_free(&r);
}

Test(symbolize, debug_file_that_is_a_fifo_is_never_opened)
{
	/* A binary without DWARF: libdwfl itself looks for its debug file,
	 * by the .gnu_debuglink name beside it and in .debug/ there, with a
	 * plain open() (openguard.c); FIFOs there blocked it forever.  The
	 * names come from the ELF symbol table instead. */
	char dir[PATH_MAX], exe[PATH_MAX + 8], dbg[PATH_MAX + 32], link[PATH_MAX + 64], path[PATH_MAX];
	struct run_result r;
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(exe, sizeof(exe), "%s/kw", dir);
	snprintf(dbg, sizeof(dbg), "%s/kw.debug", dir);
	snprintf(link, sizeof(link), "--add-gnu-debuglink=%s", dbg);
	copy_file(harness_fixture("known_wait"), exe);
	objcopy((const char *[]){"--strip-debug", exe, NULL});
	spit(dbg, "not ELF", 7, 0644); /* objcopy reads it for its CRC */
	objcopy((const char *[]){link, exe, NULL});
	cr_assert_eq(unlink(dbg), 0);
	make_fifo(dbg);
	snprintf(dbg, sizeof(dbg), "%s/.debug", dir);
	mkdirs(dbg);
	snprintf(dbg, sizeof(dbg), "%s/.debug/kw.debug", dir);
	make_fifo(dbg);
	profile(exe, (const char *[]){"2", "10", NULL}, dir, "kw");
	one_dump(dir, "kw", path);

	symbolize_within(PROMPT_S, (const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
	struct stack st;
	top_stack(r.out, 1, &st);
	cr_assert(st.n >= 2 && !strcmp(st.frames[0], "waiter_blocked") && !strcmp(st.frames[1], "main"),
	          "not named from the symbol table:\n%s", r.out);
	harness_result_free(&r);
}

/* A stripped program's frames are module+0x...: the report says so once,
 * which object, and how to get names; a program with names gets no note. */
Test(symbolize, a_stripped_program_gets_a_note_on_names)
{
	char dir[PATH_MAX], exe[PATH_MAX + 8], path[PATH_MAX];
	struct run_result r;
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(exe, sizeof(exe), "%s/kw", dir);
	copy_file(harness_fixture("known_wait"), exe);
	objcopy((const char *[]){"--strip-all", exe, NULL});
	profile(exe, (const char *[]){"2", "10", NULL}, dir, "kw");
	one_dump(dir, "kw", path);
	symbolize_within(PROMPT_S, (const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
	const char *note = strstr(r.out, "\nNames: ");
	cr_assert(note, "no note on names:\n%s", r.out);
	cr_assert(strstr(note, exe) && strstr(note, "stripped") && strstr(note, "--debug-dir"),
	          "%s", note);
	harness_result_free(&r);

	fixture_dump("known_wait", (const char *[]){"2", "10", NULL}, path);
	symbolize_within(PROMPT_S, (const char *[]){path, NULL}, &r);
	cr_assert(!strstr(r.out, "\nNames: "), "a note with names there:\n%s", r.out);
	harness_result_free(&r);
}

Test(symbolize, newer_major_version_is_refused)
{
	char path[PATH_MAX];
	size_t len;
	fixture_dump("known_wait", (const char *[]){"1", "10", NULL}, path);
	uint8_t *buf = slurp(path, &len);
	cr_assert_eq(buf[8], LC_DUMP_VERSION_MAJOR, "version_major is byte 8");
	buf[8] = LC_DUMP_VERSION_MAJOR + 1;
	spit(path, buf, len, 0644);
	free(buf);
	char want[32];
	snprintf(want, sizeof(want), "version %d", LC_DUMP_VERSION_MAJOR + 1);
	assert_rejected(path, want);
}

Test(symbolize, unreadable_file_is_refused)
{
	/* root reads a mode-000 file anyway (CAP_DAC_OVERRIDE), and these
	 * tests usually run as root in the build container: nothing to test. */
	if (geteuid() == 0)
		cr_skip_test("running as root: chmod 000 does not make a file unreadable");
	char path[PATH_MAX];
	fixture_dump("known_wait", (const char *[]){"1", "10", NULL}, path);
	cr_assert_eq(chmod(path, 0), 0);
	assert_rejected(path, "Permission denied");
}

/* ---- truncation and corruption -------------------------------------------------- */

/* File offset of the last BUCKET record's head in a dump image. */
static uint64_t last_bucket_offset(const uint8_t *buf, size_t len)
{
	uint64_t off = sizeof(struct lc_dump_header), found = 0;
	while (off + sizeof(struct lc_rec_head) <= len) {
		uint32_t type, size;
		memcpy(&type, buf + off, 4);
		memcpy(&size, buf + off + 4, 4);
		if (type == LC_REC_BUCKET)
			found = off;
		off += sizeof(struct lc_rec_head) + lc_dump_pad(size);
	}
	cr_assert(found, "no bucket record");
	return found;
}

/* A scenarios timeout dump (two buckets) cut inside its last bucket. */
static void cut_dump(char path[PATH_MAX], uint64_t *cut_at)
{
	size_t len;
	fixture_dump("scenarios", (const char *[]){"timeout", "1", "10", NULL}, path);
	uint8_t *buf = slurp(path, &len);
	*cut_at = last_bucket_offset(buf, len);
	spit(path, buf, *cut_at + sizeof(struct lc_rec_head) + 12, 0644);
	free(buf);
}

Test(symbolize, dump_cut_inside_a_bucket_gives_a_partial_report)
{
	char path[PATH_MAX], at[64];
	uint64_t off;
	struct run_result r;
	cut_dump(path, &off);
	symbolize((const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
	snprintf(at, sizeof(at), "byte %" PRIu64, off);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, path) && strstr(r.err, at), "'%s' lacks %s", r.err, at);
	cr_assert(strstr(r.out, "partial"), "the report does not say it is partial:\n%s", r.out);
	bool timed = strstr(r.out, "      timeout_timedlock (") != NULL;
	bool clock = strstr(r.out, "      timeout_clocklock (") != NULL;
	cr_assert(timed != clock, "exactly the first bucket's stack:\n%s", r.out);
	harness_result_free(&r);
}

Test(symbolize, partial_report_claims_no_totals_it_never_read)
{
	/* Cut before its LOST and TOTALS records, the dump cannot say what
	 * was lost nor how many contentions there were in all: the slots read
	 * before the cut give a floor, no more. */
	char path[PATH_MAX];
	uint64_t off;
	struct run_result r;
	cut_dump(path, &off);
	symbolize((const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(!strstr(r.out, "nothing lost"), "claims nothing was lost:\n%s", r.out);
	cr_assert(!strstr(r.out, "  0 contentions, 0 ns total wait"), "claims no wait:\n%s", r.out);
	cr_assert(strstr(r.out, "  at least "), "the totals are not a floor:\n%s", r.out);
	harness_result_free(&r);
}

/* File offset of the first record of type `type` in a dump image. */
static uint64_t first_record_offset(const uint8_t *buf, size_t len, uint32_t type)
{
	uint64_t off = sizeof(struct lc_dump_header);
	while (off + sizeof(struct lc_rec_head) <= len) {
		uint32_t t, size;
		memcpy(&t, buf + off, 4);
		memcpy(&size, buf + off + 4, 4);
		if (t == type)
			return off;
		off += sizeof(struct lc_rec_head) + lc_dump_pad(size);
	}
	cr_assert_fail("no record of type %u", type);
	return 0;
}

/* A real dump cut exactly where its WRITER record starts (after META and
 * LIVE, a record boundary) is cut short: exit 2 and a partial report, as a
 * cut inside a record.  Before, it read as complete but unclosed: exit 0,
 * "closing records did not fit", "nothing lost". */
/* A real dump cut where its WRITER record starts, or right after it. */
static void dump_cut_at_writer(char path[PATH_MAX], bool after_it)
{
	size_t len;
	fixture_dump("scenarios", (const char *[]){"timeout", "1", "10", NULL}, path);
	uint8_t *buf = slurp(path, &len);
	uint64_t at = first_record_offset(buf, len, LC_REC_WRITER);
	if (after_it) {
		uint32_t size;
		memcpy(&size, buf + at + 4, 4);
		at += sizeof(struct lc_rec_head) + lc_dump_pad(size);
	}
	spit(path, buf, at, 0644);
	free(buf);
}

Test(symbolize, dump_cut_at_a_boundary_before_writer_is_cut_short)
{
	char path[PATH_MAX];
	struct run_result r;
	dump_cut_at_writer(path, false);
	symbolize((const char *[]){path, NULL}, &r);
	cr_assert_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "cut short before its WRITER record"), "%s", r.err);
	cr_assert(!strstr(r.err, "did not fit"), "%s", r.err);
	cr_assert(strstr(r.out, "partial"), "the report does not say it is partial:\n%s", r.out);
	cr_assert(!strstr(r.out, "nothing lost"), "claims nothing was lost:\n%s", r.out);
	harness_result_free(&r);
	cr_assert_eq(harness_run((const char *[]){"build/lockcontend-rawdump", path, NULL}, NULL,
	                         NULL, false, PROMPT_S, &r),
	             0);
	cr_assert_eq(r.exit_code, 2, "rawdump: exit %d: %s", r.exit_code, r.err);
	harness_result_free(&r);
}

/* The same dump cut right after its WRITER record: its heading is whole
 * and LIVE says the program exited, but the closing records are missing.
 * The file cannot tell a copy cut there from a writer whose closing
 * records did not fit, and the report says both, not only the second. */
Test(symbolize, dump_cut_after_its_writer_says_the_closing_records_are_missing)
{
	char path[PATH_MAX];
	struct run_result r;
	dump_cut_at_writer(path, true);
	symbolize((const char *[]){path, NULL}, &r);
	cr_assert(strstr(r.out, "closing records are missing") && strstr(r.out, "cut short after"),
	          "exit %d:\n%s%s", r.exit_code, r.out, r.err);
	harness_result_free(&r);
}

/* Does a file of n bytes of buf end right after a whole record?  (It is
 * then whole, if incomplete: what a writer that died leaves.) */
static bool at_record_boundary(const uint8_t *buf, size_t len, size_t n)
{
	uint64_t off = sizeof(struct lc_dump_header);
	while (off < n && off + sizeof(struct lc_rec_head) <= len) {
		uint32_t size;
		memcpy(&size, buf + off + 4, 4);
		off += sizeof(struct lc_rec_head) + lc_dump_pad(size);
	}
	return off == n;
}

Test(symbolize, corrupted_dumps_never_crash_it)
{
	const char *dir = harness_tmpdir();
	char src[PATH_MAX], path[PATH_MAX], out[PATH_MAX];
	static const char *const fmts[] = {"--format=text", "--format=folded", "--format=pprof"};
	size_t len;
	uint64_t seed = 0x10c4c0de;
	fixture_dump("scenarios", (const char *[]){"timeout", "1", "10", NULL}, src);
	uint8_t *orig = slurp(src, &len), *buf = malloc(len);
	snprintf(path, sizeof(path), "%s/fz.raw", dir);
	snprintf(out, sizeof(out), "%s/fz.out", dir);
	for (int i = 0; i < 200; i++) {
		bool cut = i % 2 == 0;
		size_t n = cut ? xorshift(&seed) % len : len;
		memcpy(buf, orig, len);
		for (int k = cut ? 0 : 1 + (int)(xorshift(&seed) % 4); k > 0; k--)
			buf[xorshift(&seed) % len] ^= (uint8_t)(1u << (xorshift(&seed) % 8));
		spit(path, buf, n, 0644);
		struct run_result r;
		symbolize((const char *[]){fmts[i % 3], "-o", out, path, NULL}, &r);
		bool whole = !cut || at_record_boundary(orig, len, n);
		cr_assert(r.exit_code == 1 || r.exit_code == 2 || (whole && r.exit_code == 0),
		          "case %d (%s at %zu): exit %d\n%s", i, cut ? "cut" : "flips", n, r.exit_code,
		          r.err);
		if (r.exit_code == 1)
			cr_assert(count_lines(r.err) == 1 && strstr(r.err, path), "case %d: %s", i, r.err);
		harness_result_free(&r);
	}
	free(orig);
	free(buf);
}

/* ---- -o --------------------------------------------------------------------------- */

/* Names in dir, comma-separated. */
static void list_dir(const char *dir, char *buf, size_t cap)
{
	DIR *d = opendir(dir);
	cr_assert(d != NULL, "%s: %s", dir, strerror(errno));
	buf[0] = '\0';
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "," : "", e->d_name);
	closedir(d);
}

static void assert_gzip(const char *file)
{
	size_t len;
	uint8_t *b = slurp(file, &len);
	cr_assert(len > 20 && b[0] == 0x1f && b[1] == 0x8b, "%s is not gzip", file);
	free(b);
	const char *gz = access("/bin/gzip", X_OK) == 0 ? "/bin/gzip" : "/usr/bin/gzip";
	struct run_result r;
	cr_assert_eq(harness_run((const char *[]){gz, "-t", file, NULL}, NULL, NULL, false, 30, &r), 0);
	cr_assert_eq(r.exit_code, 0, "gzip -t %s: %s", file, r.err);
	harness_result_free(&r);
}

Test(symbolize, pprof_output_file_is_gzip_and_written_whole)
{
	char path[PATH_MAX], odir[PATH_MAX], file[PATH_MAX + 32], names[1024];
	struct run_result r;
	fixture_dump("known_wait", (const char *[]){"2", "10", NULL}, path);
	snprintf(odir, sizeof(odir), "%s", harness_tmpdir());
	snprintf(file, sizeof(file), "%s/p.pb.gz", odir);
	spit(file, "old", 3, 0644); /* replaced, not appended to */

	symbolize((const char *[]){"--format=pprof", "-o", file, path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_empty(r.out);
	assert_gzip(file);
	list_dir(odir, names, sizeof(names));
	cr_assert_str_eq(names, "p.pb.gz", "leftovers beside the output: %s", names);
	harness_result_free(&r);

	snprintf(file, sizeof(file), "%s/no/such/dir/p.pb.gz", odir);
	symbolize((const char *[]){"--format=pprof", "-o", file, path, NULL}, &r);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(count_lines(r.err) == 1 && strstr(r.err, file), "%s", r.err);
	list_dir(odir, names, sizeof(names));
	cr_assert_str_eq(names, "p.pb.gz", "leftovers: %s", names);
	harness_result_free(&r);
}

Test(symbolize, output_file_mode_follows_the_umask)
{
	/* -o FILE is a file like any the user's shell would create: 0666 less
	 * the umask, not the 0600 of a private temporary file. */
	char path[PATH_MAX], file[PATH_MAX + 16];
	struct stat st;
	struct run_result r;
	fixture_dump("known_wait", (const char *[]){"1", "10", NULL}, path);
	snprintf(file, sizeof(file), "%s/report.txt", harness_tmpdir());
	mode_t old = umask(022);
	symbolize((const char *[]){"-o", file, path, NULL}, &r);
	umask(old);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644, "mode %03o", st.st_mode & 0777);
	harness_result_free(&r);
}

/* ---- -o: only a regular file is replaced ---------------------------------------- */

/* docs/safety.md: -o renames its temporary file over a regular file only
 * (or a new name).  It renamed over anything: a FIFO, /dev/null, even
 * /dev/stdout as root, leaving a regular file there for every later user;
 * over a symbolic link, cutting it. */

/* The text report of dump, as printed on stdout (malloc'd). */
static char *report_of(const char *dump)
{
	struct run_result r;
	symbolize_within(PROMPT_S, (const char *[]){dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	free(r.err);
	return r.out;
}

/* Nothing left in dir but the n names in want (no temporary file). */
static void assert_only(const char *dir, const char *const want[], size_t n)
{
	char names[4096];
	size_t seen = 0;
	list_dir(dir, names, sizeof(names));
	for (char *save, *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known |= strcmp(name, want[i]) == 0;
		cr_assert(known, "left in %s: %s", dir, name);
		seen++;
	}
	cr_assert_eq(seen, n, "%zu names in %s, not %zu", seen, dir, n);
}

Test(symbolize, output_regular_file_is_replaced_whole)
{
	/* As it always was: a new file renamed over the old one (another
	 * inode), 0666 less the umask, whatever the old file's mode. */
	char path[PATH_MAX], dir[PATH_MAX], file[PATH_MAX + 16];
	struct stat before, after;
	struct run_result r;
	fixture_dump("known_wait", (const char *[]){"1", "10", NULL}, path);
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(file, sizeof(file), "%s/report.txt", dir);
	spit(file, "old", 3, 0600);
	cr_assert_eq(stat(file, &before), 0);
	mode_t old = umask(022);
	symbolize_within(PROMPT_S, (const char *[]){"-o", file, path, NULL}, &r);
	umask(old);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(stat(file, &after), 0);
	cr_assert_neq(after.st_ino, before.st_ino, "written into, not replaced");
	cr_assert_eq(after.st_mode & 0777, 0644, "mode %03o", after.st_mode & 0777);
	size_t len;
	char *got = (char *)slurp(file, &len), *want = report_of(path);
	cr_assert(len == strlen(want) && memcmp(got, want, len) == 0, "not the report:\n%.*s",
	          (int)len, got);
	assert_only(dir, (const char *[]){"report.txt"}, 1);
	free(got);
	free(want);
	harness_result_free(&r);
}

Test(symbolize, output_into_a_fifo_is_written_not_replaced)
{
	char path[PATH_MAX], dir[PATH_MAX], fifo[PATH_MAX + 16], missing[PATH_MAX + 16];
	struct harness_child reader;
	struct run_result r, rr;
	struct stat st;
	fixture_dump("known_wait", (const char *[]){"1", "10", NULL}, path);
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(fifo, sizeof(fifo), "%s/report.fifo", dir);
	make_fifo(fifo);
	harness_start((const char *[]){"/bin/cat", fifo, NULL}, NULL, NULL, false, PROMPT_S, &reader);
	symbolize_within(PROMPT_S, (const char *[]){"-o", fifo, path, NULL}, &r);
	harness_finish(&reader, &rr);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert(!rr.timed_out, "nothing came through the FIFO; stderr: %s", r.err);
	char *want = report_of(path);
	cr_assert_str_eq(rr.out, want);
	cr_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
	assert_only(dir, (const char *[]){"report.fifo"}, 1);
	free(want);
	harness_result_free(&r);
	harness_result_free(&rr);

	/* a dump that cannot be read ends the run before the FIFO is opened:
	 * no reader, and no wait for one */
	snprintf(missing, sizeof(missing), "%s/missing.raw", dir);
	symbolize_within(PROMPT_S, (const char *[]){"-o", fifo, missing, NULL}, &r);
	cr_assert_eq(r.exit_code, 1);
	cr_assert(count_lines(r.err) == 1 && strstr(r.err, missing), "%s", r.err);
	harness_result_free(&r);
}

/* `sh -c CMD sh SYMBOLIZER DUMP`, as nobody when the tests run as root:
 * nobody may not create files in /dev, so a regression fails here instead
 * of replacing the system's /dev/null or /dev/stdout for everyone. */
static void sh_unprivileged(const char *cmd, const char *dump, struct run_result *r)
{
	const char *argv[12];
	size_t n = 0;
	if (geteuid() == 0) {
		argv[n++] = "/usr/bin/setpriv";
		argv[n++] = "--reuid=65534";
		argv[n++] = "--regid=65534";
		argv[n++] = "--clear-groups";
	}
	const char *sh[] = {"/bin/sh", "-c", cmd, "sh", symbolizer(), dump, NULL};
	for (size_t i = 0; i < sizeof(sh) / sizeof(sh[0]); i++)
		argv[n++] = sh[i];
	cr_assert_eq(harness_run(argv, NULL, NULL, false, PROMPT_S, r), 0);
	cr_assert(!r->timed_out, "%s hung", cmd);
}

Test(symbolize, output_into_dev_null_or_dev_stdout_is_written_not_replaced)
{
	char path[PATH_MAX], dir[PATH_MAX], dump[PATH_MAX + 16];
	struct run_result r;
	struct stat st;
	fixture_dump("known_wait", (const char *[]){"1", "10", NULL}, path);
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(dump, sizeof(dump), "%s/kw.raw", dir);
	copy_file(path, dump); /* for nobody to read */
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chmod(dump, 0644), 0);
	char *want = report_of(dump);

	sh_unprivileged("\"$1\" -o /dev/null \"$2\"", dump, &r);
	cr_assert_eq(r.exit_code, 0, "-o /dev/null: %s", r.err);
	cr_assert(r.out[0] == '\0' && r.err[0] == '\0', "%s%s", r.out, r.err);
	cr_assert(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null was replaced");
	harness_result_free(&r);

	/* stdout a pipe, as in `-o /dev/stdout | gzip`; and a process
	 * substitution's /dev/fd/N */
	static const char *const cmds[] = {
	    "{ \"$1\" -o /dev/stdout \"$2\"; echo status $? >&2; } | cat",
	    "{ \"$1\" -o /dev/fd/3 \"$2\" 3>&1 >/dev/null; echo status $? >&2; } | cat"};
	for (size_t i = 0; i < 2; i++) {
		sh_unprivileged(cmds[i], dump, &r);
		cr_assert_str_eq(r.err, "status 0\n", "%s", cmds[i]);
		cr_assert_str_eq(r.out, want, "%s", cmds[i]);
		harness_result_free(&r);
	}
	cr_assert(lstat("/dev/stdout", &st) == 0 && S_ISLNK(st.st_mode), "/dev/stdout was replaced");
	free(want);
}

Test(symbolize, output_through_a_symlink_rewrites_its_file_and_keeps_the_link)
{
	char path[PATH_MAX], dir[PATH_MAX], link[PATH_MAX + 16], file[PATH_MAX + 16], to[64];
	struct run_result r;
	struct stat st;
	fixture_dump("known_wait", (const char *[]){"1", "10", NULL}, path);
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(link, sizeof(link), "%s/link.txt", dir);
	snprintf(file, sizeof(file), "%s/target.txt", dir);
	static char old[65536];
	memset(old, 'x', sizeof(old)); /* longer than the report: it must be cut */
	spit(file, old, sizeof(old), 0600);
	cr_assert_eq(symlink("target.txt", link), 0);

	symbolize_within(PROMPT_S, (const char *[]){"-o", link, path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	ssize_t n = readlink(link, to, sizeof(to) - 1);
	cr_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && n == 10, "the link was replaced");
	cr_assert(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600, "the file was replaced");
	size_t len;
	char *got = (char *)slurp(file, &len), *want = report_of(path);
	cr_assert(len == strlen(want) && memcmp(got, want, len) == 0, "not the report (%zu bytes)",
	          len);
	assert_only(dir, (const char *[]){"link.txt", "target.txt"}, 2);
	free(got);
	free(want);
	harness_result_free(&r);
}

Test(symbolize, output_directory_socket_or_dangling_link_is_refused_before_any_dump_is_read)
{
	char dir[PATH_MAX], missing[PATH_MAX + 16], sock[PATH_MAX + 16], link[PATH_MAX + 16];
	struct run_result r;
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	snprintf(missing, sizeof(missing), "%s/missing.raw", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", sock,
	          strerror(errno));
	close(fd);
	snprintf(link, sizeof(link), "%s/link.txt", dir);
	cr_assert_eq(symlink("nowhere.txt", link), 0);
	const struct {
		const char *out, *why;
	} cases[] = {{dir, "is a directory"},
	             {sock, "is a socket"},
	             {link, "is a symbolic link to nothing"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		symbolize_within(PROMPT_S, (const char *[]){"-o", cases[i].out, missing, NULL}, &r);
		cr_assert_eq(r.exit_code, 1, "-o %s: exit %d", cases[i].out, r.exit_code);
		cr_assert(count_lines(r.err) == 1 && strstr(r.err, cases[i].out) &&
		              strstr(r.err, cases[i].why) && !strstr(r.err, missing),
		          "not one line about -o %s: %s", cases[i].out, r.err);
		harness_result_free(&r);
	}
	assert_only(dir, (const char *[]){"sock", "link.txt"}, 2); /* nothing made at the link's end */
}

/* ---- pprof, read by the real consumer ------------------------------------ */

/* A real dump, as pprof: `go tool pprof -top` names the waiting function
 * with the dump's exact delay and contentions (-unit=ns keeps the numbers
 * exact).  Debian's golang-go is installed by make deps. */
Test(symbolize, go_tool_pprof_reads_a_real_profile)
{
	char path[PATH_MAX], pb[PATH_MAX + 8], cmd[3 * PATH_MAX];
	const char *kw[] = {"3", "10", NULL};
	fixture_dump("known_wait", kw, path);
	struct dump d;
	read_dump(path, &d);
	snprintf(pb, sizeof(pb), "%s.pb.gz", path);
	struct run_result r;
	symbolize((const char *[]){"--format=pprof", "-o", pb, path, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	harness_result_free(&r);
	const char *tmp = harness_tmpdir();
	const char *idx[] = {"delay", "contentions"};
	uint64_t want[] = {d.totals.delay_ns, d.totals.contentions};
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd),
		         "HOME=%s PPROF_TMPDIR=%s go tool pprof -top -unit=ns -sample_index=%s '%s' 2>&1",
		         tmp, tmp, idx[i], pb);
		FILE *p = popen(cmd, "r");
		cr_assert(p, "cannot run go tool pprof");
		char out[8192] = "", line[512], total[64];
		while (fgets(line, sizeof(line), p))
			strncat(out, line, sizeof(out) - strlen(out) - 1);
		cr_assert_eq(pclose(p), 0, "go tool pprof failed:\n%s", out);
		/* -unit=ns suffixes every value with ns, the counts too */
		snprintf(total, sizeof(total), "100%% of %" PRIu64 "ns total", want[i]);
		cr_assert(strstr(out, total), "pprof -top (%s) lacks '%s':\n%s", idx[i], total, out);
		cr_assert(strstr(out, "waiter_blocked"), "pprof -top lacks waiter_blocked:\n%s", out);
	}
	dump_free(&d);
}
