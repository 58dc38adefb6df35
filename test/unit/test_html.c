/*
 * test_html.c — the HTML report's writer (report_html.c,
 * report_htmldata.c, jsonw.c), without a browser (the browser test is
 * test/integration/test_html.c).
 *
 * JSON strings: quotes, backslashes and control characters escaped as
 * JSON wants; '<', '>' and '&' as \u escapes, so that the text inside the
 * page's <script> holds no '<' at all; U+2028 and U+2029 escaped; bytes
 * that are not well-formed UTF-8 (stray continuation bytes, overlong
 * forms, surrogates, past U+10FFFF, cut short) each U+FFFD.
 *
 * The page, of a profile built by hand whose function and lock names hold
 * "</script>", "<!--", quotes, '&', bad UTF-8, U+2028 and a control
 * character: exactly the three "</script" the writer puts there, no
 * "<!--", no '<' between the data's tags; node's JSON.parse (the engine
 * the browsers use) reads the data back and every name is the one written
 * (U+FFFD for each bad byte).  The data's shape: frames outermost first,
 * inlined ones marked, each sample's lock an index into the lock table
 * (in the text report's order), the pseudo-frames' kinds, the locks' lost
 * and uncharged time, --view leaving the other views out, --lock-frames
 * noted, each dump's state from what became of its writer; threads and
 * time: each thread's figures and the rest, and each series entry's cell,
 * lock row, sample (-1 for a stack no bucket has, -2 for OTHER) and
 * thread (-1 where its slot changed hands inside the entry).  The assets
 * hold no "</script", "</style" or "<!--".  Without node, the tests that
 * need it are skipped with one line.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dumpread.h"
#include "dumpstatus.h"
#include "jsonw.h"
#include "profile.h"
#include "report.h"
#include "report_html.h"
#include "viewkind.h"

/* ---- JSON strings --------------------------------------------------------------- */

static char *json_of(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cr_assert_not_null(f);
	jsonw_string(f, s);
	fclose(f);
	return out;
}

Test(jsonw, escapes_what_json_and_a_script_element_need)
{
	static const char *const cases[][2] = {
	    {"plain", "\"plain\""},
	    {"", "\"\""},
	    {"q\"b\\s", "\"q\\\"b\\\\s\""},
	    {"</script><!--&", "\"\\u003c/script\\u003e\\u003c!--\\u0026\""},
	    {"t\tn\nr\r\x01\x1f\x7f", "\"t\\tn\\nr\\r\\u0001\\u001f\\u007f\""},
	    {"op<=(a, b)", "\"op\\u003c=(a, b)\""},
	    {"\xc3\xa9t\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x92", "\"\xc3\xa9t\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x92\""},
	    {"ls\xe2\x80\xa8ps\xe2\x80\xa9", "\"ls\\u2028ps\\u2029\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = json_of(cases[i][0]);
		cr_expect_str_eq(got, cases[i][1], "case %zu", i);
		free(got);
	}
	char *null = json_of(NULL);
	cr_expect_str_eq(null, "\"\"");
	free(null);
}

Test(jsonw, bytes_that_are_not_utf8_become_u_fffd_each)
{
	static const char *const cases[][2] = {
	    {"a\xff" "b", "\"a\\ufffdb\""},
	    {"\x80\xbf", "\"\\ufffd\\ufffd\""},         /* stray continuation bytes */
	    {"\xc0\xaf", "\"\\ufffd\\ufffd\""},         /* overlong '/' */
	    {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""}, /* overlong, 3 bytes */
	    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* a surrogate */
	    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* past U+10FFFF */
	    {"\xe2\x82", "\"\\ufffd\\ufffd\""},         /* cut short at the end */
	    {"\xe2\x82x", "\"\\ufffd\\ufffdx\""},       /* cut short by another */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = json_of(cases[i][0]);
		cr_expect_str_eq(got, cases[i][1], "case %zu", i);
		free(got);
	}
	cr_expect_eq(jsonw_utf8_len((const unsigned char *)"\xf0\x9f\x94\x92"), 4);
	cr_expect_eq(jsonw_utf8_len((const unsigned char *)"\xf0\x8f\x94\x92"), 0, "overlong");
	cr_expect_eq(jsonw_utf8_len((const unsigned char *)""), 0);
}

/* ---- the assets ----------------------------------------------------------------------- */

Test(html, assets_hold_nothing_that_ends_their_element)
{
	const char *const assets[] = {html_asset_lib, html_asset_viewer, html_asset_css};
	for (size_t i = 0; i < 3; i++) {
		cr_expect_gt(strlen(assets[i]), 1000, "asset %zu is nearly empty", i);
		for (const char *p = assets[i]; (p = strchr(p, '<')); p++)
			cr_expect(strncasecmp(p, "</script", 8) != 0 && strncasecmp(p, "</style", 7) != 0 &&
			              strncmp(p, "<!--", 4) != 0,
			          "asset %zu: %.40s", i, p);
	}
	cr_expect(strstr(html_asset_lib, "d3-flame-graph 5.0.0") != NULL, "the bundle's licences");
	cr_expect(strstr(html_asset_lib, "Apache License") != NULL);
}

/* ---- a profile by hand ------------------------------------------------------------------ */

enum { F_MAIN, F_INL, F_OUTER, F_EVIL, F_QUOTE, F_BAD, F_SEP, F_LOST, F_UNCH, NF };
static struct prof_function fns[NF] = {
    [F_MAIN] = {"main", "main", "app.c", 1, false},
    [F_INL] = {"inl_helper", "inl_helper", "app.h", 3, false},
    [F_OUTER] = {"outer_fn", "outer_fn", "app.c", 8, false},
    [F_EVIL] = {"evil</script><script>alert(1)</script>", "e", "x.c", 0, false},
    [F_QUOTE] = {"quote\"d 'name' & <b>", "q", "x.c", 0, false},
    [F_BAD] = {"bad\xff\xfeutf8", "b", "x.c", 0, false},
    [F_SEP] = {"line\xe2\x80\xa8sep\x01" "ctl", "s", "x.c", 0, false},
    [F_LOST] = {LC_SENTINEL_NAME, LC_SENTINEL_NAME, "", 0, false},
    [F_UNCH] = {PROF_UNCHARGED_NAME, PROF_UNCHARGED_NAME, "", 0, false},
};
static struct prof_line l_inl[] = {{F_INL, 5}, {F_OUTER, 10}}, l_main[] = {{F_MAIN, 20}},
                        l_evil[] = {{F_EVIL, 1}}, l_quote[] = {{F_QUOTE, 2}},
                        l_bad[] = {{F_BAD, 3}}, l_sep[] = {{F_SEP, 4}},
                        l_lost[] = {{F_LOST, 0}}, l_unch[] = {{F_UNCH, 0}};
enum { L_INL, L_MAIN, L_EVIL, L_QUOTE, L_BAD, L_SEP, L_LIB, L_LOST, L_UNCH, NL };
static struct prof_location locs[NL] = {
    [L_INL] = {0x1010, 0, 2, l_inl},     [L_MAIN] = {0x1020, 0, 1, l_main},
    [L_EVIL] = {0x1030, 0, 1, l_evil},   [L_QUOTE] = {0x1040, 0, 1, l_quote},
    [L_BAD] = {0x1050, 0, 1, l_bad},     [L_SEP] = {0x1060, 0, 1, l_sep},
    [L_LIB] = {0x7f0000002346, 1, 0, NULL}, [L_LOST] = {0, -1, 1, l_lost},
    [L_UNCH] = {0, -1, 1, l_unch},
};
static struct prof_mapping maps[] = {
    {.start = 0x1000, .limit = 0x2000, .file = "/opt/app", .build_id = ""},
    {.start = 0x7f0000001000, .limit = 0x7f0000010000, .file_offset = 0x1000,
     .file = "/opt/lib/libx.so", .build_id = ""},
};
static uint32_t s_inl[] = {L_INL, L_MAIN}, s_odd[] = {L_EVIL, L_QUOTE, L_BAD, L_SEP, L_LIB, L_MAIN},
                s_lost[] = {L_LOST}, s_unch[] = {L_UNCH}, s_main[] = {L_MAIN};
static const char lock_a[] = "<!--lock--></script>", lock_b[] = "plain_lock";
static struct prof_lock locks[2];
static struct prof_sample samples[] = {
    {2, s_inl, {3, 3000}, 0, LC_VIEW_WAIT, LC_KIND_MUTEX, lock_a, 0xa0, 2000, 0, 0},
    {6, s_odd, {1, 100}, LC_BUCKET_TIMEDOUT, LC_VIEW_WAIT, LC_KIND_MUTEX, lock_b, 0xb0, 100, 0, 1},
    {1, s_lost, {1, 50}, 0, LC_VIEW_WAIT, PROF_KIND_NONE, NULL, 0, 0, 0, -1},
    {2, s_inl, {2, 2000}, 0, LC_VIEW_HOLDER, LC_KIND_MUTEX, lock_a, 0xa0, 0, 0, 2},
    {1, s_unch, {0, 40}, 0, LC_VIEW_HOLDER, PROF_KIND_NONE, NULL, 0, 0, SIZE_MAX, -1},
    {1, s_main, {5, 500}, 0, LC_VIEW_HOLD, LC_KIND_MUTEX, lock_a, 0xa0, 200, 0, 3},
};
static struct profile p;

static void build(void)
{
	locks[0] = (struct prof_lock){.name = lock_a, .addr = 0xa0, .kinds = 1u << LC_KIND_MUTEX,
	                              .uncharged_ns = 40, .no_cell_count = 1, .no_cell_ns = 30};
	locks[0].lost[LC_VIEW_WAIT][LC_LOST_EVICTED] = (struct lc_lost_entry){1, 50};
	locks[1] = (struct prof_lock){.name = lock_b, .addr = 0xb0, .kinds = 1u << LC_KIND_MUTEX,
	                              .timeouts = 1};
	p = (struct profile){.mappings = maps, .nmappings = 2, .functions = fns, .nfunctions = NF,
	                     .locations = locs, .nlocations = NL, .samples = samples,
	                     .nsamples = sizeof(samples) / sizeof(samples[0]), .locks = locks,
	                     .nlocks = 2, .kinds = VIEWKIND_ALL_KINDS, .holder_recorded = true,
	                     .period = 1, .no_cell_count = 1, .no_cell_ns = 30};
}

TestSuite(html, .init = build);

/* The page of p (malloc'd), with these dumps and statuses. */
static char *page(int view, bool lock_frames, const struct dump *dumps,
                  const struct dump_status *st, size_t n)
{
	const char *paths[8] = {"a.raw", "b.raw", "c.raw", "d.raw", "e.raw", "f.raw", "g.raw", "h.raw"};
	struct report_input in = {&p, dumps, paths, n, 20, PROF_DELAY, view, st, 0, lock_frames, 0, NULL};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cr_assert_not_null(f);
	report_html_write(&in, f);
	cr_assert_eq(fclose(f), 0);
	return out;
}

static size_t count_ci(const char *s, const char *needle)
{
	size_t n = 0, len = strlen(needle);
	for (; *s; s++)
		n += strncasecmp(s, needle, len) == 0;
	return n;
}

/* The JSON between the data's tags (malloc'd). */
static char *data_of(const char *html)
{
	const char *open = "<script type=\"application/json\" id=\"lc-data\">";
	const char *start = strstr(html, open);
	cr_assert_not_null(start);
	start += strlen(open);
	const char *end = strstr(start, "</script>");
	cr_assert_not_null(end);
	return strndup(start, (size_t)(end - start));
}

Test(html, markup_in_names_never_reaches_the_page_as_markup)
{
	char *html = page(-1, false, NULL, NULL, 0);
	cr_expect_eq(count_ci(html, "</script"), 3, "only our own closing tags");
	cr_expect_eq(count_ci(html, "<!--"), 0);
	char *data = data_of(html);
	cr_expect(strchr(data, '<') == NULL, "a '<' in the data");
	cr_expect(strstr(data, "evil\\u003c/script\\u003e\\u003cscript\\u003ealert(1)") != NULL);
	cr_expect(strstr(data, "\"quote\\\"d 'name' \\u0026 \\u003cb\\u003e\"") != NULL);
	cr_expect(strstr(data, "\"bad\\ufffd\\ufffdutf8\"") != NULL);
	cr_expect(strstr(data, "\"line\\u2028sep\\u0001ctl\"") != NULL);
	cr_expect(strstr(html, "Content-Security-Policy\" content=\"default-src 'none'") != NULL);
	free(data);
	free(html);
}

/* ---- read back by node ------------------------------------------------------------------- */

/* What the node script prints about the page's data (malloc'd): the
 * script gets the data as `d`.  Skips the test without node. */
static char *node_reads(const char *html, const char *script)
{
	if (system("command -v node >/dev/null 2>&1") != 0)
		cr_skip_test("node is not installed (make deps installs nodejs)");
	char dir[] = "/tmp/lc_test_html_XXXXXX", file[64], js[64], cmd[256];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/page.html", dir);
	snprintf(js, sizeof(js), "%s/read.js", dir);
	FILE *f = fopen(file, "w");
	cr_assert(f && fputs(html, f) >= 0 && fclose(f) == 0);
	f = fopen(js, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "const html = require('fs').readFileSync(process.argv[2], 'utf8');\n"
	        "const m = /<script type=\"application\\/json\" id=\"lc-data\">([^<]*)<\\/script>/"
	        ".exec(html);\n"
	        "const d = JSON.parse(m[1]);\n"
	        "const nameOf = (fi) => d.fn[d.frames[fi][0]][0] + (d.frames[fi][2] ? '[i]' : '');\n"
	        "%s\n",
	        script);
	cr_assert_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "node %s %s 2>&1; rm -rf %s", js, file, dir);
	FILE *pipe = popen(cmd, "r");
	cr_assert_not_null(pipe);
	static char out[1 << 16];
	size_t n = fread(out, 1, sizeof(out) - 1, pipe);
	out[n] = '\0';
	cr_assert_eq(pclose(pipe), 0, "node failed:\n%s", out);
	return strdup(out);
}

Test(html, json_parse_reads_back_every_name)
{
	char *html = page(-1, false, NULL, NULL, 0);
	char *out = node_reads(html, "for (const f of d.fn) console.log(JSON.stringify(f));\n"
	                             "for (const l of d.locks) console.log(JSON.stringify(l.name));");
	static const char *const want[] = {
	    "[\"evil</script><script>alert(1)</script>\",\"x.c\",\"\"]\n",
	    "[\"quote\\\"d 'name' & <b>\",\"x.c\",\"\"]\n",
	    "[\"bad\xef\xbf\xbd\xef\xbf\xbdutf8\",\"x.c\",\"\"]\n",
	    "[\"line\xe2\x80\xa8sep\\u0001ctl\",\"x.c\",\"\"]\n",
	    "[\"" LC_SENTINEL_NAME "\",\"\",\"lost\"]\n",
	    "[\"" PROF_UNCHARGED_NAME "\",\"\",\"uncharged\"]\n",
	    "[\"libx.so+0x7f0000002345\",\"\",\"\"]\n",
	    "\"<!--lock--></script>\"\n\"plain_lock\"\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(out, want[i]) != NULL, "no %s in:\n%s", want[i], out);
	free(out);
	free(html);
}

Test(html, samples_are_stacks_outermost_first_on_indexed_locks)
{
	char *html = page(-1, true, NULL, NULL, 0);
	char *out = node_reads(
	    html, "d.views.forEach((v, i) => v.samples.forEach((s) => console.log(i, s[0], s[1], "
	          "s[2], s[3], s[4], s.slice(5).map(nameOf).join(';'))));\n"
	          "for (const l of d.locks) console.log(l.name, l.kind, l.wait, l.count, l.maxWait, "
	          "l.timeouts, l.holds, l.hold, l.maxHold, l.caused, l.uncharged, "
	          "JSON.stringify(l.noCell), JSON.stringify(l.lost));\n"
	          "console.log('lockFrames', d.lockFrames, 'holderRecorded', d.holderRecorded, "
	          "'noCell', JSON.stringify(d.noCell));");
	static const char *const want[] = {
	    "0 0 3 3000 2000 0 main;outer_fn;inl_helper[i]\n",
	    "0 1 1 100 100 2 main;libx.so+0x7f0000002345;line\xe2\x80\xa8sep\x01" "ctl;"
	    "bad\xef\xbf\xbd\xef\xbf\xbdutf8;quote\"d 'name' & <b>;"
	    "evil</script><script>alert(1)</script>\n",
	    "0 -1 1 50 0 0 " LC_SENTINEL_NAME "\n",
	    "1 0 2 2000 0 0 main;outer_fn;inl_helper[i]\n",
	    "1 -1 0 40 0 0 " PROF_UNCHARGED_NAME "\n",
	    "2 0 5 500 200 0 main\n",
	    "<!--lock--></script> mutex 3050 4 2000 0 5 500 200 2000 40 [1,30] [[1,50],[0,0],[0,0]]\n",
	    "plain_lock mutex 100 1 100 1 0 0 0 0 0 [0,0] [[0,0],[0,0],[0,0]]\n",
	    "lockFrames true holderRecorded true noCell [1,30]\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(out, want[i]) != NULL, "no %s in:\n%s", want[i], out);
	free(out);
	free(html);
}

Test(html, a_view_asked_for_leaves_the_others_out)
{
	char *html = page(LC_VIEW_HOLDER, false, NULL, NULL, 0);
	char *out = node_reads(html, "console.log(d.views.map((v) => v === null ? 'null' : "
	                             "v.samples.length).join(','));");
	cr_expect_str_eq(out, "null,2,null\n");
	free(out);
	free(html);
}

Test(html, each_dump_says_what_became_of_its_writer)
{
	static struct dump dumps[8];
	static struct dump_status st[8];
	static const enum dump_writer writers[] = {
	    DUMP_WRITER_EXITED, DUMP_WRITER_EXEC, DUMP_WRITER_SNAPSHOT, DUMP_WRITER_DETACHED,
	    DUMP_WRITER_LIVE,   DUMP_WRITER_DIED, DUMP_WRITER_UNCLOSED, DUMP_WRITER_DIED};
	for (size_t i = 0; i < 8; i++) {
		dumps[i] = (struct dump){.exe = "/opt/app", .complete = writers[i] <= DUMP_WRITER_DETACHED,
		                         .end = i == 7 ? DUMP_END_CUT : DUMP_END_TRAILER};
		dumps[i].meta.pid = 100 + i;
		dumps[i].meta.rate = 1;
		st[i] = (struct dump_status){.writer = writers[i]};
	}
	char *html = page(-1, false, dumps, st, 8);
	char *out = node_reads(html, "console.log(d.title);\n"
	                             "for (const x of d.dumps) console.log(x.pid, x.state, x.partial, "
	                             "x.header.length > 2, x.header[0]);\n"
	                             "console.log(d.notes[0]);");
	static const char *const want[] = {
	    "8 dumps: /opt/app (pid 100), /opt/app (pid 101), /opt/app (pid 102), ...\n",
	    "100 complete false true /opt/app (pid 100) from a.raw\n",
	    "101 exec false true", "102 snapshot false true", "103 detached false true",
	    "104 live false true", "105 died false true", "106 unclosed false true",
	    "107 died true true", "all 8 dumps: 5 contentions, 3.15 us total wait\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(out, want[i]) != NULL, "no %s in:\n%s", want[i], out);
	free(out);
	free(html);
}

/* ---- threads and time (report_htmltime.c) ---------------------------------------- */

/* One dump whose buckets are the samples' (bucket 0: samples[0], bucket 1:
 * samples[1]), a slot with a placed series and two threads on it in
 * turn, and a thread on another slot. */
static uint64_t pcs0[] = {0x1100, 0x1200}, pcs1[] = {0x1300};
static struct dump_bucket tbuckets[] = {
    {.count = 3, .delay_ns = 3000, .lock = 0xa0, .nframes = 2, .view = LC_VIEW_WAIT,
     .kind = LC_KIND_MUTEX, .pcs = pcs0},
    {.count = 1, .delay_ns = 100, .lock = 0xb0, .flags = LC_BUCKET_TIMEDOUT, .nframes = 1,
     .view = LC_VIEW_WAIT, .kind = LC_KIND_MUTEX, .pcs = pcs1},
};
static uint64_t toffsets[] = {4096, 8192};
static struct lc_rec_slot tslots[2];
static struct dump_series_entry tentries[4];
static struct dump_series tseries;
static struct dump_thread tthreads[3];

static void threads_dump(struct dump *d)
{
	const uint64_t ms = 1000000, at = 5000 * ms;
	uint64_t id0 = lc_stack_id(pcs0, 2, LC_KIND_MUTEX, 0, 0);
	uint64_t id1 = lc_stack_id(pcs1, 1, LC_KIND_MUTEX, LC_BUCKET_TIMEDOUT, 0);
	/* 0-10 ms: bucket 0 (thread "first"); 30-40 ms: bucket 1 (the slot
	 * changed hands at 35 ms: not told apart); 50-60: a stack with no
	 * bucket; 60-70: OTHER */
	tentries[0] = (struct dump_series_entry){0, 10 * ms, 0xa0, id0, 3, 3000, LC_VIEW_WAIT, 0, 0};
	tentries[1] = (struct dump_series_entry){30 * ms, 40 * ms, 0xb0, id1, 1, 100, LC_VIEW_WAIT, 0, 0};
	tentries[2] = (struct dump_series_entry){50 * ms, 60 * ms, 0xa0, 42, 2, 20, LC_VIEW_WAIT, 0, 0};
	tentries[3] = (struct dump_series_entry){60 * ms, 70 * ms, 0, 0, 1, 7, LC_VIEW_WAIT, 0, true};
	tseries = (struct dump_series){.slot = 4096, .interval_ns = 10 * ms, .nentries = 4,
	                               .entries = tentries, .n = 4, .state = DUMP_SERIES_PLACED};
	tthreads[0] = (struct dump_thread){.slot = 4096, .tid = 11, .ended = true, .start_ns = at,
	                                   .end_ns = at + 35 * ms, .name = "first",
	                                   .state = DUMP_THREAD_OK};
	tthreads[0].count[LC_VIEW_WAIT] = 4;
	tthreads[0].delay_ns[LC_VIEW_WAIT] = 3100;
	tthreads[1] = (struct dump_thread){.slot = 4096, .tid = 12, .start_ns = at + 35 * ms,
	                                   .name = "second", .state = DUMP_THREAD_OK};
	tthreads[1].count[LC_VIEW_WAIT] = 3;
	tthreads[1].delay_ns[LC_VIEW_WAIT] = 27;
	tthreads[2] = (struct dump_thread){.slot = 8192, .tid = 13, .start_ns = at, .name = "<b>x",
	                                   .state = DUMP_THREAD_OK};
	*d = (struct dump){.exe = "/opt/app", .complete = true, .buckets = tbuckets, .nbuckets = 2,
	                   .slots = tslots, .slot_offsets = toffsets, .nslots = 2,
	                   .series = &tseries, .nseries = 1, .threads = tthreads, .nthreads = 3,
	                   .have_totals = true};
	d->meta.pid = 7;
	d->meta.rate = 1;
	d->meta.start_mono_ns = at;
	d->meta.end_mono_ns = at + 80 * ms;
	d->totals.contentions = 8;
	d->totals.delay_ns = 3200;
}

Test(html, threads_and_timeline_entries_name_their_sample_lock_and_thread)
{
	static struct dump d;
	threads_dump(&d);
	char *html = page(-1, false, &d, NULL, 1);
	char *out = node_reads(
	    html, "for (const t of d.threads) console.log(t.dump, t.tid, t.name, t.ended, t.count, "
	          "t.wait);\n"
	          "console.log('rest', JSON.stringify(d.threadsRest), d.threadsKnown, d.threadsFit);\n"
	          "const t = d.timeline[0];\n"
	          "console.log('grid', d.timeline.length, t.dump, t.width, t.ncells, t.e.length);\n"
	          "for (let k = 0; k < t.e.length; k += 7) console.log('e', t.e.slice(k, k + 7)"
	          ".join(' '));");
	static const char *const want[] = {
	    "0 11 first true 4 3100\n", "0 12 second false 3 27\n", "0 13 <b>x false 0 0\n",
	    "rest [[1,73],[0,0],[0,0]] true true\n", "grid 1 0 10000000 8 28\n",
	    /* cell view lock sample thread count delay */
	    "e 0 0 0 0 0 3 3000\n", /* lock_a is row 0, samples[0] index 0, thread "first" */
	    "e 3 0 1 1 -1 1 100\n", /* the slot changed hands inside the cell */
	    "e 5 0 0 -1 1 2 20\n",  /* no bucket has its stack: -1; thread "second" */
	    "e 6 0 -1 -2 1 1 7\n",  /* OTHER: no lock, no stack */
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(out, want[i]) != NULL, "no %s in:\n%s", want[i], out);
	free(out);
	free(html);
}
