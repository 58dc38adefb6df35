/*
 * test_html.c — the HTML report (--format=html) in a real browser.
 *
 * A profile of test/fixtures/html_report.c (two locks, an inlined frame, a
 * function and a lock named like markup) is symbolized to one HTML file,
 * which a headless Chromium loads from file:// (cdp.h: the DevTools
 * protocol on a pipe).  Checked, as a user would see it: the page draws
 * with no uncaught exception, no console error, no log error and no
 * request but for itself; the waiting functions are frames of the flame
 * graphs and the locks rows of the table; a real click on a frame zooms to
 * it and "reset zoom" back; typing in the search box highlights frames and
 * says their share; the tooltip says time, share and count; each column
 * sorts the lock table (both ways) and a click on a lock filters the
 * graphs to it; a stack cut at depth= hangs under a frame that says so;
 * names holding "</script>", "<!--" and quotes stay text (no script of
 * theirs runs, no element of theirs exists); screenshots are not blank.
 * Threads and time (test/fixtures/named_threads.c, series=10ms): the
 * threads table names alpha, beta and gamma with their waits, "by thread"
 * roots the waiter graph at alpha and gamma and the holder graph at beta,
 * the timeline draws a bar per lock and interval, and a range dragged
 * across it makes the lock table's wait smaller (and "whole run" gives it
 * back).  And the size and speed goals: a synthetic profile of 10,000
 * stacks (bench/mkdump.c) gives a file under 5 MB that is loaded and
 * drawn with under 2 s of the browser's CPU (the best of three loads).
 *
 * Without a browser (none on PATH, no $LOCKCONTEND_TEST_CHROMIUM) each
 * test is skipped with one line saying so; `make deps` installs Debian's
 * chromium, so CI runs them.  Deadlines are long (cdp.h): a slow load is
 * waited for, never raced with a fixed sleep.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "integration/cdp.h"
#include "integration/harness.h"
#include "integration/pngstat.h"

/* As the fixture's assembler names them (html_report.c). */
#define MARKUP_FN "markup</script><script>window.lcPwned=1</script><b id=\"pwn\">&'"
#define MARKUP_LOCK "<!--<script>lock</script><i id=\"pwn2\">\"&amp;"

static struct cdp browser;
static char dir[PATH_MAX];

static void teardown(void)
{
	if (browser.pid)
		cdp_close(&browser);
}

TestSuite(html, .fini = teardown);

/* The fixture's profile (hold times sampled at every acquisition, and cfg
 * if not NULL) as an HTML report, with an extra option; its path. */
static void report_of(const char *cfg, const char *opt, char html[PATH_MAX])
{
	char dump[PATH_MAX], settings[256];
	struct run_result r;
	snprintf(settings, sizeof(settings), "hold=1%s%s", cfg ? "," : "", cfg ? cfg : "");
	harness_profile("html_report", (const char *[]){"8", NULL}, settings, 60, &r, dump);
	harness_result_free(&r);
	snprintf(dir, sizeof(dir), "%s", dump);
	*strrchr(dir, '/') = '\0';
	cr_assert(snprintf(html, PATH_MAX, "%s/report.html", dir) < PATH_MAX);
	const char *args[] = {"--format=html",   "-o", html, opt ? opt : dump,
	                      opt ? dump : NULL, NULL};
	harness_symbolize(args, &r);
	cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
	harness_result_free(&r);
}

static void report_of_fixture(const char *opt, char html[PATH_MAX])
{
	report_of(NULL, opt, html);
}

/* Open html in the browser and wait until the page says it is drawn; the
 * test is skipped when there is no browser. */
static void open_page(const char *html)
{
	const char *b = cdp_browser();
	if (!b)
		cr_skip_test("no chromium on PATH (make deps installs it; or set "
		             "LOCKCONTEND_TEST_CHROMIUM): the browser test is skipped");
	if (!browser.pid)
		cdp_open(&browser, b, dir, 1280, 900);
	char url[PATH_MAX + 8];
	snprintf(url, sizeof(url), "file://%s", html);
	cdp_navigate(&browser, url);
	cr_assert(cdp_wait_true(&browser, "document.documentElement.dataset.lcReady === '1'",
	                        CDP_TIMEOUT_S),
	          "the page never said it was drawn; what it did:\n%s", cdp_errors(&browser));
}

static void assert_clean(void)
{
	cr_assert_str_empty(cdp_errors(&browser), "the page did what it must not:\n%s",
	                    cdp_errors(&browser));
}

/* An expression's value (malloc'd). */
static char *js(const char *expr)
{
	return cdp_eval(&browser, expr);
}

/* The same, with one string put into it (fmt has one %s). */
static char *jsf(const char *fmt, const char *arg)
{
	char expr[4096];
	snprintf(expr, sizeof(expr), fmt, arg);
	return cdp_eval(&browser, expr);
}

/* The names of the frames drawn in a graph, one a line (malloc'd). */
static char *frames_of(const char *view)
{
	return jsf("[...document.querySelectorAll('#lc-graph-%s g.frame')]"
	           ".map((g) => g.getAttribute('name')).join('\\n')",
	           view);
}

static bool has_line(const char *lines, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = lines; (p = strstr(p, line)); p++)
		if ((p == lines || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* The centre of the first frame of a graph named `name`, scrolled into
 * view: "x y width svgwidth". */
static void frame_box(const char *view, const char *name, double box[4])
{
	char expr[1024];
	char *q = cdp_quote(name);
	snprintf(expr, sizeof(expr),
	         "(() => { const g = [...document.querySelectorAll('#lc-graph-%s g.frame')]"
	         ".find((g) => g.getAttribute('name') === %s); if (!g) return 'none';"
	         " g.scrollIntoView({block: 'center'}); const r = g.querySelector('rect')"
	         ".getBoundingClientRect(); const s = g.ownerSVGElement.getBoundingClientRect();"
	         " return [r.x + Math.min(r.width / 2, 20), r.y + r.height / 2, r.width, s.width]"
	         ".join(' '); })()",
	         view, q);
	free(q);
	char *v = cdp_eval(&browser, expr);
	cr_assert(sscanf(v, "%lf %lf %lf %lf", &box[0], &box[1], &box[2], &box[3]) == 4,
	          "no frame %s in the %s graph", name, view);
	free(v);
}

Test(html, page_loads_clean_with_the_functions_and_locks)
{
	char html[PATH_MAX];
	report_of_fixture(NULL, html);
	open_page(html);
	char *waiter = frames_of("waiter"), *holder = frames_of("holder"),
	     *hold = frames_of("hold");
	static const char *const want[] = {"take_table [inlined]", "update_table", "table_worker",
	                                   "markup_wait",          MARKUP_FN,      "markup_waiter"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(has_line(waiter, want[i]), "no frame %s in the waiter graph:\n%s",
		          want[i], waiter);
	cr_expect(has_line(holder, "update_table") && has_line(holder, "markup_hold"),
	          "the holder graph:\n%s", holder);
	cr_expect(has_line(hold, "update_table"), "the hold graph:\n%s", hold);
	char *locks = js("[...document.querySelectorAll('#lc-lock-table tbody tr')]"
	                 ".map((tr) => tr.lastChild.textContent).join('\\n')");
	cr_expect(has_line(locks, "table_lock") && has_line(locks, MARKUP_LOCK), "locks:\n%s",
	          locks);
	char *badge = js("document.querySelector('#lc-header .badge').textContent");
	cr_expect_str_eq(badge, "complete");
	char *inl = js("[...document.querySelectorAll('#lc-graph-waiter g.frame')]"
	               ".find((g) => g.getAttribute('name') === 'take_table [inlined]')"
	               ".querySelector('rect').getAttribute('fill')");
	cr_expect(strncmp(inl, "rgb(", 4) == 0 && strcmp(inl, "#e600e6") != 0, "%s", inl);
	assert_clean();
	free(waiter);
	free(holder);
	free(hold);
	free(locks);
	free(badge);
	free(inl);
}

/* The expression: the first frame named name in the waiter graph is at
 * least (or less than) `share` of the graph's width. */
static char *wider_than(const char *name, const char *cmp, double share)
{
	char *q = cdp_quote(name), *expr = NULL;
	cr_assert(asprintf(&expr,
	                   "(() => { const g = [...document.querySelectorAll('#lc-graph-waiter "
	                   "g.frame')].find((g) => g.getAttribute('name') === %s); return g && "
	                   "g.querySelector('rect').getBoundingClientRect().width %s %g * "
	                   "g.ownerSVGElement.getBoundingClientRect().width; })()",
	                   q, cmp, share) > 0);
	free(q);
	return expr;
}

Test(html, a_click_on_a_frame_zooms_to_it)
{
	char html[PATH_MAX];
	double box[4];
	report_of_fixture(NULL, html);
	open_page(html);
	char *narrow = wider_than("table_worker", "<", 0.99),
	     *full = wider_than("table_worker", ">=", 0.99);
	cr_assert(cdp_wait_true(&browser, narrow, 30), "table_worker is as wide as the graph");
	frame_box("waiter", "table_worker", box);
	cdp_click(&browser, box[0], box[1]);
	cr_assert(cdp_wait_true(&browser, full, 30), "the click did not zoom to table_worker");
	char *said = js("document.querySelector('#lc-view-waiter .zoom').textContent");
	cr_expect_str_eq(said, "zoomed to table_worker");
	char *faded = js("document.querySelectorAll('#lc-graph-waiter g.frame.fade').length");
	cr_expect(atoi(faded) >= 1, "no caller shown faded");
	char *reset =
	    js("(() => { const b = document.querySelector('#lc-view-waiter .reset');"
	       " b.scrollIntoView({block: 'center'}); const r = b.getBoundingClientRect();"
	       " return r.x + r.width / 2 + ' ' + (r.y + r.height / 2); })()");
	cr_assert(sscanf(reset, "%lf %lf", &box[0], &box[1]) == 2);
	cdp_click(&browser, box[0], box[1]);
	cr_assert(cdp_wait_true(&browser, narrow, 30), "reset zoom left table_worker full width");
	assert_clean();
	free(narrow);
	free(full);
	free(said);
	free(faded);
	free(reset);
}

Test(html, search_highlights_frames_and_says_their_share)
{
	char html[PATH_MAX];
	double box[4];
	report_of_fixture(NULL, html);
	open_page(html);
	free(js("document.getElementById('lc-search').focus()"));
	cdp_type(&browser, "update_tab");
	cr_assert(cdp_wait_true(&browser,
	                        "document.querySelector('#lc-view-waiter .search-result')"
	                        ".dataset.share !== undefined",
	                        30),
	          "no search result shown");
	char *said = js("document.querySelector('#lc-view-waiter .search-result').textContent");
	char *share = js("document.querySelector('#lc-view-waiter .search-result').dataset.share");
	cr_expect(strstr(said, "1 function, ") && strstr(said, "% of the wait"), "%s", said);
	cr_expect(atof(share) > 0.5 && atof(share) < 1.0, "update_table's share %s: %s", share,
	          said);
	char *lit = js("[...document.querySelectorAll('#lc-graph-waiter g.frame')].filter((g) => "
	               "g.querySelector('rect').getAttribute('fill') === '#e600e6')"
	               ".map((g) => g.getAttribute('name')).join(',')");
	cr_expect_str_eq(lit, "update_table", "highlighted: %s", lit);
	/* the pseudo-frame of the holder view, found like any other */
	free(js("(document.getElementById('lc-search').value = '')"));
	cdp_type(&browser, "_NotChargedToHolder");
	cr_assert(cdp_wait_true(&browser,
	                        "/NotCharged/.test(document.querySelector('#lc-view-holder "
	                        ".search-result').textContent)",
	                        30));
	char *unch = js("document.querySelector('#lc-view-holder .search-result').textContent");
	cr_expect(strstr(unch, "1 function, ") != NULL, "%s", unch);
	/* the tooltip of a frame under the mouse */
	frame_box("waiter", "update_table", box);
	cdp_mouse_move(&browser, box[0], box[1]);
	cr_assert(cdp_wait_true(&browser,
	                        "document.getElementById('lc-tip').style.display === 'block'", 30),
	          "no tooltip");
	char *tip = js("document.getElementById('lc-tip').innerText");
	cr_expect(strstr(tip, "update_table") && strstr(tip, "html_report.c:") &&
	              strstr(tip, "% of the view") && strstr(tip, " contentions") &&
	              strstr(tip, "wait: "),
	          "tooltip:\n%s", tip);
	assert_clean();
	free(said);
	free(share);
	free(lit);
	free(unch);
	free(tip);
}

/* The column's raw values, top row first, after a click on its head. */
static char *sort_by_column(int col)
{
	char expr[512];
	snprintf(expr, sizeof(expr),
	         "(() => { const th = document.querySelectorAll('#lc-lock-table th')[%d];"
	         " th.scrollIntoView({block: 'center'}); const r = th.getBoundingClientRect();"
	         " return r.x + r.width / 2 + ' ' + (r.y + r.height / 2); })()",
	         col);
	char *at = cdp_eval(&browser, expr);
	double x, y;
	cr_assert(sscanf(at, "%lf %lf", &x, &y) == 2);
	free(at);
	cdp_click(&browser, x, y);
	snprintf(
	    expr, sizeof(expr),
	    "document.querySelectorAll('#lc-lock-table th')[%d].getAttribute('aria-sort') + '|' + "
	    "[...document.querySelectorAll('#lc-lock-table tbody tr')].map((tr) => "
	    "tr.children[%d].dataset.v).join('|')",
	    col, col);
	return cdp_eval(&browser, expr);
}

/* "descending|3|1" or "ascending|a|b": in that order? (numbers as
 * numbers; "" is a dash, last either way). */
static bool sorted(const char *got, bool text)
{
	char buf[4096], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", got);
	char *dir_ = strtok_r(buf, "|", &save), *prev = NULL;
	bool down = strcmp(dir_, "descending") == 0;
	for (char *v = strtok_r(NULL, "|", &save); v; prev = v, v = strtok_r(NULL, "|", &save)) {
		if (!prev)
			continue;
		int c = text ? strcmp(prev, v) : (atof(prev) > atof(v)) - (atof(prev) < atof(v));
		if (down ? c < 0 : c > 0)
			return false;
	}
	return true;
}

Test(html, lock_table_sorts_by_every_column_and_filters_the_graphs)
{
	char html[PATH_MAX];
	report_of_fixture(NULL, html);
	open_page(html);
	char *n = js("document.querySelectorAll('#lc-lock-table th').length");
	cr_assert_eq(atoi(n), 11, "%s columns", n);
	for (int col = 0; col < 11; col++) {
		bool text = col >= 9; /* kind, lock */
		char *first = sort_by_column(col), *second = sort_by_column(col);
		cr_expect(strncmp(first, text ? "ascending|" : "descending|", text ? 10 : 11) == 0,
		          "column %d, first click: %s", col, first);
		cr_expect(strncmp(second, text ? "descending|" : "ascending|", text ? 11 : 10) == 0,
		          "column %d, second click: %s", col, second);
		cr_expect(sorted(first, text) && sorted(second, text), "column %d: %s, then %s",
		          col, first, second);
		free(first);
		free(second);
	}
	/* a click on the markup lock's row: its stacks only */
	char *q = cdp_quote(MARKUP_LOCK);
	char expr[1024];
	snprintf(expr, sizeof(expr),
	         "(() => { const tr = [...document.querySelectorAll('#lc-lock-table tbody tr')]"
	         ".find((tr) => tr.lastChild.textContent === %s); tr.scrollIntoView({block: "
	         "'center'}); const r = tr.getBoundingClientRect(); return r.x + 40 + ' ' + (r.y + "
	         "r.height / 2); })()",
	         q);
	char *at = cdp_eval(&browser, expr);
	double x, y;
	cr_assert(sscanf(at, "%lf %lf", &x, &y) == 2);
	cdp_click(&browser, x, y);
	snprintf(expr, sizeof(expr),
	         "document.getElementById('lc-filter').textContent === "
	         "'showing only ' + %s",
	         q);
	cr_assert(cdp_wait_true(&browser, expr, 30), "the click did not filter");
	char *waiter = frames_of("waiter");
	cr_expect(has_line(waiter, "markup_wait") && !has_line(waiter, "update_table"),
	          "filtered to the markup lock:\n%s", waiter);
	char *details = js("document.getElementById('lc-lock-details').textContent");
	cr_expect(strstr(details, "top waiter") && strstr(details, "markup_wait"), "%s", details);
	/* split by lock, then every lock again */
	free(js("(document.getElementById('lc-split').click(), "
	        "document.getElementById('lc-all-locks').click())"));
	free(waiter);
	waiter = frames_of("waiter");
	cr_expect(has_line(waiter, "table_lock") && has_line(waiter, "update_table"),
	          "split by lock, all locks:\n%s", waiter);
	assert_clean();
	free(n);
	free(q);
	free(at);
	free(waiter);
	free(details);
}

Test(html, names_that_look_like_markup_stay_text)
{
	char html[PATH_MAX];
	report_of_fixture(NULL, html);
	/* in the file: the three closing tags we wrote, and no "<!--" */
	FILE *f = fopen(html, "r");
	cr_assert(f != NULL);
	static char text[8 << 20];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	size_t closing = 0;
	for (const char *p = text; (p = strstr(p, "</script")); p++)
		closing++;
	cr_expect_eq(closing, 3, "%zu </script in the file", closing);
	cr_expect(strstr(text, "<!--") == NULL);
	open_page(html);
	char *pwned = js("[typeof window.lcPwned, document.getElementById('pwn'), "
	                 "document.getElementById('pwn2')].join(',')");
	cr_expect_str_eq(pwned, "undefined,,", "a name ran or made an element: %s", pwned);
	char *waiter = frames_of("waiter");
	cr_expect(has_line(waiter, MARKUP_FN), "%s", waiter);
	char *q = cdp_quote(MARKUP_LOCK);
	char *row = jsf("[...document.querySelectorAll('#lc-lock-table tbody tr')].some((tr) => "
	                "tr.lastChild.textContent === %s)",
	                q);
	cr_expect_str_eq(row, "true");
	char *title = js("document.title");
	cr_expect(strstr(title, "Lock contention: ") && strstr(title, "html_report"), "%s", title);
	assert_clean();
	free(pwned);
	free(waiter);
	free(q);
	free(row);
	free(title);
}

Test(html, a_truncated_stack_hangs_under_a_cut_frame)
{
	char html[PATH_MAX];
	report_of("depth=3", NULL, html);
	open_page(html);
	char *waiter = frames_of("waiter");
	cr_expect(has_line(waiter, "[deeper frames cut at depth=]") &&
	              has_line(waiter, "update_table") && !has_line(waiter, "__clone3"),
	          "depth=3:\n%s", waiter);
	char *under = js("[...document.querySelectorAll('#lc-graph-waiter g.frame')].find((g) => "
	                 "g.getAttribute('name') === 'table_worker').__data__.ancestors()"
	                 ".map((d) => d.data.n).join(' < ')");
	cr_expect(
	    strstr(under, "table_worker < start_thread < [deeper frames cut at depth=] < all"),
	    "%s", under);
	assert_clean();
	free(waiter);
	free(under);
}

/* A screenshot's colours; it is kept in dir as name. */
static void shot_stats(const char *clip, const char *name, struct png_stats *st)
{
	size_t len;
	char err[256], path[PATH_MAX];
	unsigned char *png = cdp_screenshot(&browser, clip, &len);
	cr_assert(snprintf(path, sizeof(path), "%s/%s", dir, name) < PATH_MAX);
	FILE *f = fopen(path, "w");
	if (f) {
		fwrite(png, 1, len, f);
		fclose(f);
	}
	cr_assert_eq(png_stats(png, len, st, err, sizeof(err)), 0, "%s: %s", path, err);
	free(png);
}

Test(html, screenshots_are_not_blank)
{
	char html[PATH_MAX];
	struct png_stats st;
	report_of_fixture(NULL, html);
	open_page(html);
	shot_stats(NULL, "page.png", &st);
	cr_expect(st.width == 1280 && st.height == 900, "%zux%zu", st.width, st.height);
	cr_expect(st.colours >= 16 && st.pixels - st.background >= st.pixels / 20,
	          "the page looks blank: %zu colours, %zu of %zu pixels the background", st.colours,
	          st.background, st.pixels);
	char *clip =
	    js("(() => { const s = document.querySelector('#lc-graph-waiter svg');"
	       " s.scrollIntoView({block: 'center'}); const r = s.getBoundingClientRect();"
	       " return JSON.stringify({x: r.x + scrollX, y: r.y + scrollY, width: r.width,"
	       " height: r.height, scale: 1}); })()");
	shot_stats(clip, "waiter-graph.png", &st);
	cr_expect(st.colours >= 8 && st.pixels - st.background >= st.pixels / 4,
	          "the waiter graph looks blank: %zu colours, %zu of %zu pixels the background",
	          st.colours, st.background, st.pixels);
	assert_clean();
	free(clip);
}

/* The C++ library with full DWARF that gcc installs (long names: the
 * size's worst case), else the symbolizer itself. */
static void mkdump_binary(char path[PATH_MAX])
{
	FILE *p = popen("${CC:-gcc} -print-file-name=libasan.so 2>/dev/null", "r");
	char line[PATH_MAX] = "";
	if (p) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	line[strcspn(line, "\n")] = '\0';
	if (line[0] != '/' || !realpath(line, path))
		cr_assert(realpath("build/lockcontend-symbolize", path) != NULL);
}

/* The CPU time the browser has used, in seconds: every process of its
 * process group (cdp_open makes one), and what the group's leader reaped
 * of children that ended.  The 2 s goal is the browser's own work to load
 * and draw the page: by the clock, a loaded machine (make check beside
 * other jobs on 2 CPUs) took 2.1-70 s for the same 0.5-1 s of it. */
static double browser_cpu_s(void)
{
	DIR *d = opendir("/proc");
	cr_assert(d != NULL);
	unsigned long long ticks = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[300], buf[1024];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		const char *p = strrchr(buf, ')'); /* the name may hold anything */
		int pid = atoi(e->d_name), pgrp;
		unsigned long long ut, st, cut, cst;
		if (!p ||
		    sscanf(p + 2, "%*c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
		           &pgrp, &ut, &st, &cut, &cst) != 5 ||
		    pgrp != browser.pid)
			continue;
		ticks += ut + st + (pid == browser.pid ? cut + cst : 0);
	}
	closedir(d);
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

Test(html, ten_thousand_stacks_under_5_mb_drawn_under_2_s)
{
	char bin[PATH_MAX], dump[PATH_MAX], addrs[PATH_MAX], html[PATH_MAX];
	struct run_result r;
	mkdump_binary(bin);
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	cr_assert(snprintf(dump, sizeof(dump), "%s/big.raw", dir) < PATH_MAX &&
	          snprintf(addrs, sizeof(addrs), "%s/addrs", dir) < PATH_MAX &&
	          snprintf(html, sizeof(html), "%s/big.html", dir) < PATH_MAX);
	const char *mk[] = {harness_fixture("mkdump"),
	                    "-n",
	                    "10000",
	                    "-d",
	                    "20",
	                    "-a",
	                    "2500",
	                    bin,
	                    dump,
	                    addrs,
	                    NULL};
	cr_assert_eq(harness_run(mk, NULL, NULL, false, 120, &r), 0);
	cr_assert_eq(r.exit_code, 0, "mkdump: %s%s", r.out, r.err);
	harness_result_free(&r);
	harness_symbolize((const char *[]){"--format=html", "-o", html, dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	harness_result_free(&r);
	struct stat sb;
	cr_assert_eq(stat(html, &sb), 0);
	cr_expect_lt(sb.st_size, 5 << 20, "10,000 stacks: %lld bytes of HTML",
	             (long long)sb.st_size);
	double best = 1e9, cpu[3], ms[3];
	open_page(html); /* the browser up, and its counters on */
	for (int i = 0; i < 3; i++) {
		double before = browser_cpu_s();
		open_page(html);
		cpu[i] = 1000 * (browser_cpu_s() - before);
		best = cpu[i] < best ? cpu[i] : best;
		char *v = js("window.lcReport.renderMs");
		ms[i] = atof(v);
		free(v);
	}
	char *frames = js("document.querySelectorAll('#lc-graph-waiter g.frame').length");
	cr_expect_gt(atoi(frames), 100, "%s frames drawn", frames);
	cr_expect_lt(best, 2000,
	             "loaded and drawn in %.0f, %.0f, %.0f ms of the page's CPU (%lld bytes)",
	             cpu[0], cpu[1], cpu[2], (long long)sb.st_size);
	fprintf(stderr,
	        "html: 10,000 stacks: %lld bytes, loaded and drawn in %.0f, %.0f, %.0f ms of CPU"
	        " (%.0f, %.0f, %.0f ms by the clock)\n",
	        (long long)sb.st_size, cpu[0], cpu[1], cpu[2], ms[0], ms[1], ms[2]);
	assert_clean();
	free(frames);
}

/* ---- threads and time --------------------------------------------------------- */

/* named_threads' profile (series of 10 ms) as a page, open. */
static void open_named_threads(void)
{
	char dump[PATH_MAX], html[PATH_MAX];
	struct run_result r;
	harness_profile("named_threads", (const char *[]){"12", "20", NULL}, "series=10ms", 60, &r,
	                dump);
	harness_result_free(&r);
	snprintf(dir, sizeof(dir), "%s", dump);
	*strrchr(dir, '/') = '\0';
	cr_assert(snprintf(html, PATH_MAX, "%s/threads.html", dir) < PATH_MAX);
	harness_symbolize((const char *[]){"--format=html", "-o", html, dump, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
	harness_result_free(&r);
	open_page(html);
}

/* The centre of an element (scrolled into view): "x y". */
static void centre_of(const char *selector, double xy[2])
{
	char *v = jsf("(() => { const e = document.querySelector('%s'); if (!e) return 'none';"
	              " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
	              " return (r.x + r.width / 2) + ' ' + (r.y + r.height / 2); })()",
	              selector);
	cr_assert(sscanf(v, "%lf %lf", &xy[0], &xy[1]) == 2, "no %s on the page", selector);
	free(v);
}

Test(html, threads_table_and_the_graphs_by_thread)
{
	open_named_threads();
	char *rows = js("[...document.querySelectorAll('#lc-thread-table tbody tr')]"
	                ".map((tr) => tr.lastChild.textContent).join('\\n')");
	cr_expect(has_line(rows, "alpha") && has_line(rows, "beta") && has_line(rows, "gamma"),
	          "the threads table:\n%s", rows);
	cr_expect(!strstr(rows, "gamma0"), "gamma's first name:\n%s", rows);
	/* beta made every wait: the one with most wait caused; alpha waited */
	char *caused = js("[...document.querySelectorAll('#lc-thread-table tbody tr')]"
	                  ".find((tr) => tr.lastChild.textContent === 'beta')"
	                  ".children[2].dataset.v");
	char *waited = js("[...document.querySelectorAll('#lc-thread-table tbody tr')]"
	                  ".find((tr) => tr.lastChild.textContent === 'alpha')"
	                  ".children[0].dataset.v");
	cr_expect(atof(caused) > 100e6 && atof(waited) > 100e6, "beta caused %s, alpha waited %s",
	          caused, waited);
	double xy[2];
	centre_of("#lc-by-thread", xy);
	cdp_click(&browser, xy[0], xy[1]);
	cr_assert(cdp_wait_true(&browser,
	                        "[...document.querySelectorAll('#lc-graph-waiter g.frame')]"
	                        ".some((g) => g.getAttribute('name').startsWith('alpha (tid '))",
	                        30),
	          "by thread: no alpha frame in the waiter graph:\n%s", frames_of("waiter"));
	char *waiter = frames_of("waiter"), *holder = frames_of("holder");
	cr_expect(strstr(waiter, "\ngamma (tid ") || strncmp(waiter, "gamma (tid ", 11) == 0,
	          "the waiter graph:\n%s", waiter);
	cr_expect(strstr(holder, "beta (tid "), "the holder graph:\n%s", holder);
	cr_expect(!strstr(waiter, "beta (tid "), "beta never waited:\n%s", waiter);
	cr_expect(has_line(waiter, "waiter"), "the stacks above the threads:\n%s", waiter);
	assert_clean();
	free(rows);
	free(caused);
	free(waited);
	free(waiter);
	free(holder);
}

/* The lock table's wait of the lock named `lock`, in ns. */
static double lock_wait(void)
{
	char *v = js("[...document.querySelectorAll('#lc-lock-table tbody tr')]"
	             ".find((tr) => tr.lastChild.textContent === 'lock').children[0].dataset.v");
	double w = atof(v);
	free(v);
	return w;
}

Test(html, a_range_of_the_timeline_filters_the_lock_table)
{
	open_named_threads();
	char *bars = js("document.querySelectorAll('#lc-timeline-svg rect.lc-tl-bar').length");
	cr_expect_gt(atoi(bars), 3, "%s bars in the timeline", bars);
	double whole = lock_wait();
	cr_assert_gt(whole, 100e6, "the lock's wait: %.0f ns", whole);
	/* From the left edge to the middle one of the bars (by count, not by
	 * time: under load the run's start-up can take most of its time line,
	 * and a fixed share of it could hold no wait or all of them). */
	char *box = js("(() => { const s = document.getElementById('lc-timeline-svg');"
	               " s.scrollIntoView({block: 'center'}); const r = s.getBoundingClientRect();"
	               " const xs = [...new Set([...s.querySelectorAll('rect.lc-tl-bar')].map((b) =>"
	               " { const q = b.getBoundingClientRect(); return q.x + q.width / 2; }))]"
	               ".sort((a, b) => a - b);"
	               " return r.x + ' ' + r.y + ' ' + r.height + ' ' + xs[(xs.length >> 1) - 1]; })()");
	double x, y, h, mid;
	cr_assert(sscanf(box, "%lf %lf %lf %lf", &x, &y, &h, &mid) == 4, "%s", box);
	cdp_drag(&browser, x + 1, y + h / 3, mid, y + h / 3);
	cr_assert(cdp_wait_true(&browser,
	                        "document.getElementById('lc-range').textContent"
	                        ".startsWith('showing ') && !document.getElementById('lc-whole-run')"
	                        ".disabled",
	                        30),
	          "the drag chose no range");
	double part = lock_wait();
	char *shown = js("document.getElementById('lc-range').textContent");
	cr_expect(part > 0 && part < whole * 0.9, "the range's wait %.0f of %.0f ns (%s; dragged %s)",
	          part, whole, shown, box);
	free(shown);
	char *total = js("document.querySelector('#lc-view-waiter .total').textContent");
	cr_expect(strstr(total, "of wait"), "%s", total);
	double xy[2];
	centre_of("#lc-whole-run", xy);
	cdp_click(&browser, xy[0], xy[1]);
	cr_assert(cdp_wait_true(&browser, "document.getElementById('lc-whole-run').disabled", 30));
	cr_expect(lock_wait() == whole, "the whole run again: %.0f, was %.0f", lock_wait(), whole);
	assert_clean();
	free(bars);
	free(box);
	free(total);
}

/* ---- a comparison (--diff) ---------------------------------------------------- */

/* known_wait HOLD_MS profiled as NAME.PID.raw in dir (its path). */
static void known_run(const char *name, const char *hold_ms, char dump[PATH_MAX])
{
	char env[PATH_MAX + 64], pat[PATH_MAX];
	snprintf(env, sizeof(env), "LOCKCONTEND=out=%s/%s.%%p.raw", dir, name);
	const char *argv[] = {harness_fixture("known_wait"), "6", hold_ms, NULL};
	const char *envv[] = {env, NULL};
	struct run_result r;
	cr_assert_eq(harness_run(argv, envv, dir, true, 60, &r), 0);
	cr_assert_eq(r.exit_code, 0, "known_wait: %s", r.err);
	harness_result_free(&r);
	snprintf(pat, sizeof(pat), "%s.*.raw", name);
	harness_one_file(dir, pat, dump);
}

/* The fills of the frames named name in a graph, one a line. */
static char *fills_of(const char *view, const char *name)
{
	char expr[1024];
	snprintf(expr, sizeof(expr),
	         "[...document.querySelectorAll('#lc-graph-%s g.frame')]"
	         ".filter((g) => g.getAttribute('name') === '%s')"
	         ".map((g) => g.querySelector('rect').getAttribute('fill')).join('\\n')",
	         view, name);
	return js(expr);
}

/* A comparison of a run waiting 6 x 120 ms with one waiting 6 x 5 ms: the
 * page draws clean, its waiting frame is drawn in d3-flame-graph's
 * differential blue (shrank: rgb(r,r,220), r < 220), its tooltip says both
 * runs, the lock table has both runs' waits, and the base widths draw.
 * (A wait is its holder's time: under ASan at load the 5 ms holds made
 * waits of 35 ms, more than a 30 ms base's.) */
Test(html, a_comparison_draws_frames_coloured_by_their_change)
{
	char base[PATH_MAX], newr[PATH_MAX], html[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", harness_tmpdir());
	known_run("base", "120", base);
	known_run("new", "5", newr);
	cr_assert(snprintf(html, PATH_MAX, "%s/diff.html", dir) < PATH_MAX);
	const char *args[] = {"--diff", "--format=html", "-o", html, base, "--", newr, NULL};
	struct run_result r;
	harness_symbolize(args, &r);
	cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
	harness_result_free(&r);
	open_page(html);
	char *on = js("document.documentElement.dataset.lcDiff");
	cr_expect_str_eq(on, "1");
	char *fills = fills_of("waiter", "waiter_blocked");
	int red, green, blue;
	cr_assert(sscanf(fills, "rgb(%d,%d,%d)", &red, &green, &blue) == 3, "fills: %s", fills);
	cr_expect(red == green && red < 220 && blue == 220, "waiter_blocked shrank, not %s", fills);
	double box[4];
	frame_box("waiter", "waiter_blocked", box);
	cdp_mouse_move(&browser, box[0], box[1]);
	cr_assert(cdp_wait_true(&browser,
	                        "document.getElementById('lc-tip').style.display === 'block'", 30),
	          "no tooltip");
	char *tip = js("document.getElementById('lc-tip').innerText");
	cr_expect(strstr(tip, "base run: ") && strstr(tip, "new run: ") && strstr(tip, "change: -"),
	          "tooltip:\n%s", tip);
	char *heads = js("[...document.querySelectorAll('#lc-lock-table th')]"
	                 ".map((th) => th.textContent).join(',')");
	cr_expect(strstr(heads, "base wait,new wait,change,change%"), "%s", heads);
	char *row = js("document.querySelector('#lc-lock-table tbody tr').textContent");
	cr_expect(strstr(row, "vanished") == NULL && strstr(row, "lock"), "%s", row);
	free(js("document.getElementById('lc-base-width').click()"));
	char *based = fills_of("waiter", "waiter_blocked");
	cr_expect(strncmp(based, "rgb(", 4) == 0, "drawn at the base's widths: %s", based);
	assert_clean();
	free(on);
	free(fills);
	free(tip);
	free(heads);
	free(row);
	free(based);
}
