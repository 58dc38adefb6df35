/*
 * test_config.c — config_parse, the LOCKCONTEND=... parser (preload/config.c).
 *
 * Tests: the defaults (NULL, "", a dirty struct), every key and its
 * suffixes, `off`, combinations, the limits of rate/depth/arena/out/hold,
 * the holder switch (and that hold and holder, one a prefix of the other,
 * never set each other), the init-site switch (inits), the snapshot signal (USR1, USR2, with or without
 * SIG, a real-time signal number, off or 0; never one a program needs for
 * itself, such as KILL, SEGV or 9), unknown keys (whose warning lists every key, each
 * of which parses) and items without '=', empty items, and junk input.  Every warning is
 * captured through the callback and checked in one place (parse): one
 * line, "LOCKCONTEND: " first, one per bad item up to CONFIG_MAX_WARNINGS
 * and then a single "more bad items ignored".
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define PREFIX "LOCKCONTEND: "
#define MAX_KEPT 16

struct warns {
	int n;                       /* callback calls */
	int multiline;               /* 1 + index of a line holding '\n', or 0 */
	bool bad_prefix;             /* some line did not start with PREFIX */
	size_t longest;
	char line[MAX_KEPT][512];    /* the first MAX_KEPT lines */
};

static void warn_capture(const char *line, void *ctx)
{
	struct warns *w = ctx;
	size_t len = strlen(line);
	if (!w->multiline && (strchr(line, '\n') || strchr(line, '\r')))
		w->multiline = w->n + 1;
	if (strncmp(line, PREFIX, strlen(PREFIX)) != 0)
		w->bad_prefix = true;
	if (len > w->longest)
		w->longest = len;
	if (w->n < MAX_KEPT)
		snprintf(w->line[w->n], sizeof(w->line[0]), "%s", line);
	w->n++;
}

/* s made printable (\xNN for control and non-ASCII bytes), for messages. */
static const char *esc(const char *s, char *buf, size_t cap)
{
	size_t j = 0;
	for (; s && *s && j + 5 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch < 0x7f)
			buf[j++] = (char)ch;
		else
			j += (size_t)snprintf(buf + j, cap - j, "\\x%02x", ch);
	}
	buf[j] = '\0';
	return buf;
}

/* Parse s into *c, check the general warning rules, return the count. */
static int parse(const char *s, struct config *c, struct warns *w)
{
	memset(w, 0, sizeof(*w));
	memset(c, 0xA5, sizeof(*c)); /* config_parse must set every field */
	int r = config_parse(s, c, warn_capture, w);
	int lines = r <= CONFIG_MAX_WARNINGS ? r : CONFIG_MAX_WARNINGS + 1;
	cr_assert_eq(w->n, lines, "%d bad items but %d lines for \"%.60s\"", r, w->n,
	             s ? s : "(null)");
	char e1[128], e2[1024];
	cr_assert(!w->multiline, "warning %d spans several lines for \"%s\": %s", w->multiline,
	          esc(s, e1, sizeof(e1)),
	          esc(w->multiline <= MAX_KEPT ? w->line[w->multiline - 1] : "", e2, sizeof(e2)));
	cr_assert(!w->bad_prefix, "a warning lacks the '" PREFIX "' prefix: %s", w->line[0]);
	return r;
}

static void assert_defaults(const struct config *c)
{
	cr_assert(c->enabled);
	cr_assert(c->stacks);
	cr_assert(!c->verbose);
	cr_assert_eq(c->rate, CONFIG_DEFAULT_RATE);
	cr_assert_eq(c->depth, CONFIG_DEFAULT_DEPTH);
	cr_assert_eq(c->arena_bytes, CONFIG_DEFAULT_ARENA);
	cr_assert_str_eq(c->out, CONFIG_DEFAULT_OUT);
	cr_assert(c->holder, "the holder view is on by default");
	cr_assert_eq(c->hold, CONFIG_DEFAULT_HOLD);
	cr_assert_eq(CONFIG_DEFAULT_HOLD, 100);
	cr_assert_eq(c->signal, 0, "no snapshot signal by default");
	cr_assert(c->inits, "init sites are on by default");
	cr_assert(c->waiting, "waits in progress are shown by default");
	cr_assert_eq(c->series_ns, 1000000000ull, "a series in 1 s intervals by default");
}

/* s parses without warning; the result is left in *c. */
static void parse_ok(const char *s, struct config *c)
{
	struct warns w;
	cr_assert_eq(parse(s, c, &w), 0, "\"%s\" warned: %s", s, w.line[0]);
}

/* s gives exactly one warning, containing `needle`. */
static void parse_warns_once(const char *s, struct config *c, const char *needle)
{
	struct warns w;
	cr_assert_eq(parse(s, c, &w), 1, "\"%s\": expected one warning, got %d", s, w.n);
	cr_assert(strstr(w.line[0], needle), "\"%s\": warning \"%s\" lacks \"%s\"", s, w.line[0],
	          needle);
}

Test(config, defaults_null_empty_and_dirty_struct)
{
	struct config c;
	parse_ok(NULL, &c);
	assert_defaults(&c);
	parse_ok("", &c);
	assert_defaults(&c);
	struct config d;
	memset(&d, 0x5A, sizeof(d));
	config_defaults(&d);
	assert_defaults(&d);
}

Test(config, rate_and_depth)
{
	struct config c;
	parse_ok("rate=10", &c);
	cr_assert_eq(c.rate, 10);
	parse_ok("rate=1", &c);
	cr_assert_eq(c.rate, 1);
	parse_ok("rate=1000000", &c);
	cr_assert_eq(c.rate, 1000000);
	parse_ok("depth=32", &c);
	cr_assert_eq(c.depth, 32);
	parse_ok("depth=1", &c);
	cr_assert_eq(c.depth, 1);
	parse_ok("depth=256", &c);
	cr_assert_eq(c.depth, 256);
	cr_assert_eq(c.rate, CONFIG_DEFAULT_RATE, "other keys keep their defaults");
}

Test(config, stacks_and_verbose)
{
	struct config c;
	parse_ok("stacks=0", &c);
	cr_assert(!c.stacks);
	parse_ok("stacks=1", &c);
	cr_assert(c.stacks);
	parse_ok("verbose=1", &c);
	cr_assert(c.verbose);
	parse_ok("verbose=0", &c);
	cr_assert(!c.verbose);
	const char *bad[] = {"stacks=2", "stacks=yes", "stacks=", "verbose=true", "verbose=01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value");
		assert_defaults(&c);
	}
}

Test(config, holder_and_hold)
{
	struct config c;
	parse_ok("holder=0", &c);
	cr_assert(!c.holder);
	cr_assert_eq(c.hold, CONFIG_DEFAULT_HOLD, "holder=0 changed hold");
	parse_ok("holder=1", &c);
	cr_assert(c.holder);
	parse_ok("hold=0", &c);
	cr_assert_eq(c.hold, 0, "hold=0 is off, not the default");
	cr_assert(c.holder, "hold=0 changed holder");
	parse_ok("hold=1", &c);
	cr_assert_eq(c.hold, 1);
	parse_ok("hold=250", &c);
	cr_assert_eq(c.hold, 250);
	parse_ok("hold=1000000000", &c);
	cr_assert_eq(c.hold, 1000000000);
	parse_ok("holder=0,hold=0", &c);
	cr_assert(!c.holder);
	cr_assert_eq(c.hold, 0);
	cr_assert_eq(c.rate, CONFIG_DEFAULT_RATE, "other keys keep their defaults");
}

Test(config, holder_bad_values_warn_and_keep_default)
{
	const char *bad[] = {"holder=2", "holder=yes", "holder=", "holder=true", "holder=01",
	                     "holder=-1", "holder= 0"};
	struct config c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for holder");
		assert_defaults(&c);
	}
}

Test(config, hold_bad_values_warn_and_keep_default)
{
	/* 4294967296 would wrap the uint32_t field to 0, which means off */
	const char *bad[] = {"hold=-1",         "hold=abc",   "hold=",     "hold=1000000001",
	                     "hold=4294967296", "hold=99999999999999999999", "hold=+5",
	                     "hold=0x10",       "hold=1e3",   "hold=12a",  "hold= 5"};
	struct config c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for hold");
		cr_assert_eq(c.hold, CONFIG_DEFAULT_HOLD, "%s changed hold to %u", bad[i], c.hold);
		assert_defaults(&c);
	}
}

Test(config, waiting_switch)
{
	struct config c;
	parse_ok("waiting=0", &c);
	cr_assert(!c.waiting);
	cr_assert(c.holder && c.stacks && c.inits, "waiting=0 changed another key");
	parse_ok("waiting=1", &c);
	cr_assert(c.waiting);
	const char *bad[] = {"waiting=2", "waiting=yes", "waiting=", "wait=0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, i < 3 ? "bad value for waiting" : "unknown key");
		assert_defaults(&c);
	}
}

/* One key is a prefix of the other: neither may be taken for the other,
 * nor may a near miss be taken for either. */
Test(config, inits_switch)
{
	struct config c;
	parse_ok("inits=0", &c);
	cr_assert(!c.inits);
	cr_assert(c.holder && c.stacks, "inits=0 changed another key");
	parse_ok("inits=1", &c);
	cr_assert(c.inits);
	const char *bad[] = {"inits=2", "inits=no", "inits=", "inits=00", "init=0", "Inits=0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, i < 4 ? "bad value for inits" : "unknown key");
		assert_defaults(&c);
	}
}

/* series= takes a duration with its unit, 1ms to 1h, or 0 / off. */
Test(config, series_intervals_and_off)
{
	struct config c;
	parse_ok("", &c);
	cr_assert_eq(c.series_ns, 1000000000ull, "the default is 1 s");
	const struct {
		const char *item;
		uint64_t ns;
	} ok[] = {{"series=1s", 1000000000ull},     {"series=250ms", 250000000ull},
	          {"series=1ms", 1000000ull},       {"series=2m", 120000000000ull},
	          {"series=1h", 3600000000000ull}, {"series=0", 0},
	          {"series=off", 0}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse_ok(ok[i].item, &c);
		cr_assert_eq(c.series_ns, ok[i].ns, "%s", ok[i].item);
		cr_assert(c.holder && c.stacks && c.inits, "%s changed another key", ok[i].item);
	}
	const char *bad[] = {"series=1",   "series=0ms", "series=2h",  "series=61m",
	                     "series=-1s", "series=1 s", "series=s",   "series=1.5s",
	                     "series=",    "series=1us", "series=1sec"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for series");
		assert_defaults(&c);
	}
}

Test(config, hold_and_holder_are_told_apart)
{
	struct config c;
	parse_ok("hold=7", &c);
	cr_assert(c.holder);
	cr_assert_eq(c.hold, 7);
	const char *unknown[] = {"holde=1", "holders=1", "hol=1", "Hold=1", "HOLDER=0", "hold_=1"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		parse_warns_once(unknown[i], &c, "unknown key");
		assert_defaults(&c);
	}
}

Test(config, signal_names_numbers_and_off)
{
	char rtmin[32], rtmax[32], rt3[32];
	snprintf(rtmin, sizeof(rtmin), "signal=%d", SIGRTMIN);
	snprintf(rtmax, sizeof(rtmax), "signal=%d", SIGRTMAX);
	snprintf(rt3, sizeof(rt3), "signal=%d", SIGRTMIN + 3);
	const struct {
		const char *s;
		int sig;
	} ok[] = {
	    {"signal=USR1", SIGUSR1},    {"signal=USR2", SIGUSR2}, {"signal=SIGUSR1", SIGUSR1},
	    {"signal=SIGUSR2", SIGUSR2}, {rtmin, SIGRTMIN},        {rtmax, SIGRTMAX},
	    {rt3, SIGRTMIN + 3},         {"signal=off", 0},        {"signal=0", 0},
	};
	struct config c;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse_ok(ok[i].s, &c);
		cr_assert_eq(c.signal, ok[i].sig, "%s gave signal %d", ok[i].s, c.signal);
	}
	parse_ok("signal=USR2,signal=off", &c);
	cr_assert_eq(c.signal, 0, "the last item wins");
	parse_ok("signal=USR1,rate=3", &c);
	cr_assert(c.signal == SIGUSR1 && c.rate == 3);
}

/* Signals the program needs for itself (or glibc does: the real-time
 * signals below SIGRTMIN) are refused, and so is anything not a signal. */
Test(config, signal_bad_values_warn_and_keep_default)
{
	char below[32], above[32];
	snprintf(below, sizeof(below), "signal=%d", SIGRTMIN - 1);
	snprintf(above, sizeof(above), "signal=%d", SIGRTMAX + 1);
	const char *bad[] = {"signal=KILL", "signal=SIGKILL", "signal=SEGV", "signal=SIGSEGV",
	                     "signal=9",    "signal=10",      "signal=12",   "signal=junk",
	                     "signal=",     "signal=SIG",     "signal=USR3", "signal=-1",
	                     "signal=USR2x", "signal=SIGSIGUSR2", below,        above,
	                     "signal=99999999999999999999999"};
	struct config c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for signal");
		cr_assert_eq(c.signal, 0, "%s set signal %d", bad[i], c.signal);
		assert_defaults(&c);
	}
	struct warns w;
	cr_assert_eq(parse("signal=USR2,signal=KILL", &c, &w), 1);
	cr_assert_eq(c.signal, SIGUSR2, "a bad item undid a good one");
}

Test(config, out_patterns)
{
	struct config c;
	parse_ok("out=app.%p.raw", &c);
	cr_assert_str_eq(c.out, "app.%p.raw");
	parse_ok("out=/tmp/%e-%p-100%%.raw", &c);
	cr_assert_str_eq(c.out, "/tmp/%e-%p-100%%.raw");
	parse_ok("out=plain", &c);
	cr_assert_str_eq(c.out, "plain");
	/* The longest pattern that fits with its NUL, and one byte more. */
	char s[16 + CONFIG_OUT_MAX];
	strcpy(s, "out=");
	memset(s + 4, 'x', CONFIG_OUT_MAX - 1);
	s[4 + CONFIG_OUT_MAX - 1] = '\0';
	parse_ok(s, &c);
	cr_assert_eq(strlen(c.out), CONFIG_OUT_MAX - 1);
	strcat(s, "x");
	parse_warns_once(s, &c, "bad value for out");
	assert_defaults(&c);
}

Test(config, out_bad_escapes_warn)
{
	struct config c;
	const char *bad[] = {"out=app.%x.raw", "out=app.raw%", "out=%", "out=%P", "out="};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for out");
		cr_assert_str_eq(c.out, CONFIG_DEFAULT_OUT, "\"%s\" changed out", bad[i]);
	}
}

Test(config, arena_sizes_and_suffixes)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} ok[] = {
	    {"arena=64M", 64ull << 20},     {"arena=64m", 64ull << 20},
	    {"arena=4096K", 4ull << 20},    {"arena=4096k", 4ull << 20},
	    {"arena=1G", 1ull << 30},       {"arena=2g", 2ull << 30},
	    {"arena=4194304", 4ull << 20},  {"arena=16G", CONFIG_MAX_ARENA},
	    {"arena=5000000", 5000000},
	};
	struct config c;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse_ok(ok[i].s, &c);
		cr_assert_eq(c.arena_bytes, ok[i].bytes, "%s gave %llu", ok[i].s,
		             (unsigned long long)c.arena_bytes);
	}
}

Test(config, arena_out_of_range_warns)
{
	const char *bad[] = {"arena=1M",  "arena=4095K", "arena=4194303", "arena=0",
	                     "arena=17G", "arena=99999999999999999999G", "arena=64X",
	                     "arena=M",   "arena=",    "arena=-64M",  "arena=64MB"};
	struct config c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for arena");
		cr_assert_eq(c.arena_bytes, CONFIG_DEFAULT_ARENA, "%s changed the arena", bad[i]);
	}
}

Test(config, depth_limits_warn_and_keep_default)
{
	const char *bad[] = {"depth=257", "depth=0", "depth=100000", "depth=-1", "depth=",
	                     "depth=12a", "depth=99999999999999999999999"};
	struct config c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for depth");
		cr_assert_eq(c.depth, CONFIG_DEFAULT_DEPTH, "%s changed depth to %u", bad[i], c.depth);
	}
}

Test(config, rate_limits_warn_and_keep_default)
{
	/* 4294967296 does not fit the uint32_t field: it must not wrap to 0. */
	const char *bad[] = {"rate=0",   "rate=-1",         "rate=abc", "rate=99999999999999999999",
	                     "rate=",    "rate=4294967296", "rate=+5",  "rate= 5",
	                     "rate=0x10"};
	struct config c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_warns_once(bad[i], &c, "bad value for rate");
		cr_assert_eq(c.rate, CONFIG_DEFAULT_RATE, "%s changed rate to %u", bad[i], c.rate);
	}
}

Test(config, off_alone_and_with_other_keys)
{
	struct config c;
	parse_ok("off", &c);
	cr_assert(!c.enabled);
	parse_ok("rate=5,off", &c);
	cr_assert(!c.enabled);
	cr_assert_eq(c.rate, 5, "keys next to off still apply");
	parse_ok("off,depth=8", &c);
	cr_assert(!c.enabled);
	cr_assert_eq(c.depth, 8);
	parse_warns_once("off=1", &c, "unknown key 'off'");
	cr_assert(c.enabled, "off=1 is not off");
	parse_warns_once("OFF", &c, "unknown key");
	cr_assert(c.enabled);
}

Test(config, all_keys_combined)
{
	struct config c;
	parse_ok("rate=10,depth=32,out=app.%p.raw,stacks=0,verbose=1,arena=64M,holder=0,hold=7,"
	         "signal=USR1,inits=0",
	         &c);
	cr_assert(c.enabled);
	cr_assert(!c.inits);
	cr_assert_eq(c.signal, SIGUSR1);
	cr_assert(!c.holder);
	cr_assert_eq(c.hold, 7);
	cr_assert_eq(c.rate, 10);
	cr_assert_eq(c.depth, 32);
	cr_assert_str_eq(c.out, "app.%p.raw");
	cr_assert(!c.stacks);
	cr_assert(c.verbose);
	cr_assert_eq(c.arena_bytes, 64ull << 20);
}

Test(config, bad_items_do_not_spoil_good_ones)
{
	struct config c;
	struct warns w;
	cr_assert_eq(parse("rate=0,depth=16,arena=1K,verbose=1", &c, &w), 2);
	cr_assert_eq(c.rate, CONFIG_DEFAULT_RATE);
	cr_assert_eq(c.depth, 16);
	cr_assert_eq(c.arena_bytes, CONFIG_DEFAULT_ARENA);
	cr_assert(c.verbose);
	cr_assert(strstr(w.line[0], "rate") && strstr(w.line[1], "arena"), "%s / %s", w.line[0],
	          w.line[1]);
}

Test(config, unknown_keys_warn_and_others_apply)
{
	struct config c;
	struct warns w;
	cr_assert_eq(parse("bogus=1,rate=7,Depth=3,frobnicate", &c, &w), 3);
	cr_assert_eq(c.rate, 7);
	cr_assert_eq(c.depth, CONFIG_DEFAULT_DEPTH, "keys are case-sensitive");
	cr_assert(strstr(w.line[0], "unknown key 'bogus'"), "%s", w.line[0]);
	cr_assert(strstr(w.line[1], "unknown key 'Depth'"), "%s", w.line[1]);
	cr_assert(strstr(w.line[2], "unknown key 'frobnicate'"), "%s", w.line[2]);
	parse_warns_once(" rate=5", &c, "unknown key");
	cr_assert_eq(c.rate, CONFIG_DEFAULT_RATE);
}

/* A valid value for each key the unknown-key warning may name. */
static const char *valid_item(const char *key)
{
	static const struct {
		const char *key, *item;
	} v[] = {{"rate", "rate=2"},       {"depth", "depth=8"},   {"stacks", "stacks=0"},
	         {"verbose", "verbose=1"}, {"out", "out=x.raw"},   {"arena", "arena=8M"},
	         {"holder", "holder=0"},   {"hold", "hold=3"},     {"signal", "signal=USR2"},
	         {"inits", "inits=0"},     {"waiting", "waiting=0"},
	         {"series", "series=250ms"}, {"cond", "cond=1"}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(v[i].key, key) == 0)
			return v[i].item;
	return NULL;
}

/* The warning's key list names holder, hold and signal, and every key it
 * names is one the parser takes. */
Test(config, unknown_key_warning_lists_every_key)
{
	struct config c;
	struct warns w;
	cr_assert_eq(parse("bogus=1", &c, &w), 1);
	const char *list = strstr(w.line[0], "(keys: ");
	cr_assert(list, "no key list in: %s", w.line[0]);
	char keys[256];
	snprintf(keys, sizeof(keys), "%s", list + strlen("(keys: "));
	char *end = strstr(keys, ", or off)");
	cr_assert(end, "the list does not end with ', or off)': %s", w.line[0]);
	*end = '\0';
	int named = 0;
	bool holder = false, hold = false, sig = false;
	for (char *save, *k = strtok_r(keys, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
		const char *item = valid_item(k);
		cr_assert(item, "the list names '%s', which this test does not know", k);
		parse_ok(item, &c);
		named++;
		holder |= strcmp(k, "holder") == 0;
		hold |= strcmp(k, "hold") == 0;
		sig |= strcmp(k, "signal") == 0;
	}
	cr_assert(holder && hold && sig, "holder, hold or signal missing from: %s", w.line[0]);
	cr_assert_eq(named, 13, "%d keys named: %s", named, w.line[0]);
}

/* interval= is no key of the library's (docs/intervals.md: the interval
 * files are a sidecar's): one line that says where they are, the rest of
 * the variable still applies, every value left at its default. */
Test(config, interval_says_where_interval_files_come_from)
{
	const char *items[] = {"interval=60s", "interval=0", "interval=bogus", "interval"};
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		struct config c;
		struct warns w;
		cr_assert_eq(parse(items[i], &c, &w), 1, "%s", items[i]);
		cr_assert_eq(w.n, 1, "%s: %d lines", items[i], w.n);
		cr_assert(strstr(w.line[0], "'interval' ignored") &&
		              strstr(w.line[0], "lockcontend intervals") &&
		              strstr(w.line[0], "docs/intervals.md"),
		          "%s", w.line[0]);
		assert_defaults(&c);
	}
	struct config c;
	struct warns w;
	cr_assert_eq(parse("rate=7,interval=60s,series=100ms", &c, &w), 1);
	cr_assert_eq(c.rate, 7);
	cr_assert_eq(c.series_ns, 100000000u);
}

Test(config, items_without_value)
{
	struct config c;
	const char *keys[] = {"rate",   "depth", "stacks", "verbose", "out",
	                      "arena",  "holder", "hold",  "signal",  "inits", "waiting"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		parse_warns_once(keys[i], &c, "needs a value");
		assert_defaults(&c);
	}
	struct warns w;
	cr_assert_eq(parse("rate=3,verbose", &c, &w), 1);
	cr_assert_eq(c.rate, 3);
	cr_assert(!c.verbose);
}

Test(config, empty_items_and_trailing_commas_are_silent)
{
	struct config c;
	parse_ok(",", &c);
	assert_defaults(&c);
	parse_ok(",,,", &c);
	assert_defaults(&c);
	parse_ok("rate=3,", &c);
	cr_assert_eq(c.rate, 3);
	parse_ok(",,rate=3,,depth=9,,", &c);
	cr_assert_eq(c.rate, 3);
	cr_assert_eq(c.depth, 9);
}

Test(config, null_callback_still_counts)
{
	struct config c;
	cr_assert_eq(config_parse("bogus,rate=0,depth=4", &c, NULL, NULL), 2);
	cr_assert_eq(c.depth, 4);
	cr_assert_eq(config_parse("a,b,c,d,e,f,g,h,i,j,k,rate=2", &c, NULL, NULL), 11);
	cr_assert_eq(c.rate, 2);
}

/* Exactly CONFIG_MAX_WARNINGS bad items: all reported, no summary line;
 * one more: the summary line replaces its report, later keys still apply. */
Test(config, warnings_are_capped)
{
	char s[256] = "";
	struct config c;
	struct warns w;
	for (int i = 0; i < CONFIG_MAX_WARNINGS; i++)
		snprintf(s + strlen(s), sizeof(s) - strlen(s), "bad%d,", i);
	cr_assert_eq(parse(s, &c, &w), CONFIG_MAX_WARNINGS);
	cr_assert(strstr(w.line[CONFIG_MAX_WARNINGS - 1], "unknown key"), "%s",
	          w.line[CONFIG_MAX_WARNINGS - 1]);
	strcat(s, "rate=,bad99,depth=5");
	cr_assert_eq(parse(s, &c, &w), CONFIG_MAX_WARNINGS + 2);
	cr_assert_eq(w.n, CONFIG_MAX_WARNINGS + 1);
	cr_assert(strstr(w.line[CONFIG_MAX_WARNINGS], "more bad items ignored"), "%s",
	          w.line[CONFIG_MAX_WARNINGS]);
	cr_assert_eq(c.depth, 5, "items after the cap are still applied");
	cr_assert_eq(c.rate, CONFIG_DEFAULT_RATE);
}

/* A value read from a file often keeps its newline; the warning must not. */
Test(config, control_characters_stay_on_one_line)
{
	struct config c;
	struct warns w;
	const char *bad[] = {"rate=1\n", "foo\nbar=1", "out=a%\nb", "depth=3\r\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &c, &w), 1);
}

Test(config, huge_single_item_gives_one_short_warning)
{
	static char s[10 * 1024 + 8];
	struct config c;
	struct warns w;
	memset(s, 'k', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	cr_assert_eq(parse(s, &c, &w), 1);
	cr_assert_lt(w.longest, 256, "a %zu-byte warning", w.longest);
	memcpy(s, "out=", 4);
	cr_assert_eq(parse(s, &c, &w), 1);
	cr_assert_lt(w.longest, 256, "a %zu-byte warning", w.longest);
	assert_defaults(&c);
}

/* 10 KB of random bytes from `alphabet` (NULL: any byte but NUL). */
static void make_junk(char *s, size_t n, const char *alphabet, unsigned seed)
{
	srandom(seed);
	size_t na = alphabet ? strlen(alphabet) : 255;
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)random() % na;
		s[i] = alphabet ? alphabet[k] : (char)(k + 1);
	}
	s[n] = '\0';
}

static int count_items(const char *s)
{
	int n = 0;
	for (const char *p = s; *p;) {
		size_t len = strcspn(p, ",");
		n += len > 0;
		p += len + (p[len] == ',');
	}
	return n;
}

static void check_junk(const char *junk)
{
	struct config c;
	struct warns w;
	int r = parse(junk, &c, &w);
	cr_assert_gt(r, CONFIG_MAX_WARNINGS, "junk gave only %d bad items", r);
	cr_assert_leq(r, count_items(junk), "more bad items than items");
	cr_assert_eq(w.n, CONFIG_MAX_WARNINGS + 1);
	cr_assert(strstr(w.line[CONFIG_MAX_WARNINGS], "more bad items ignored"), "last line: %s",
	          w.line[CONFIG_MAX_WARNINGS]);
	cr_assert_lt(w.longest, 256, "a %zu-byte warning", w.longest);
	assert_defaults(&c);
}

Test(config, ten_kb_of_printable_junk)
{
	static char junk[10 * 1024 + 1];
	make_junk(junk, sizeof(junk) - 1, "abcdefghijklmnopqrstuvwxyz=,,,%%019KMG _-./", 1);
	check_junk(junk);
	make_junk(junk, sizeof(junk) - 1, "ratedphoufvbsckn=,0123456789%", 2);
	check_junk(junk);
}

Test(config, ten_kb_of_binary_junk)
{
	static char junk[10 * 1024 + 1];
	make_junk(junk, sizeof(junk) - 1, NULL, 3);
	check_junk(junk);
}

/* Condition waits are recorded only when asked (hooks_cond.c). */
Test(config, cond_is_off_unless_asked)
{
	struct config c;
	struct warns w;
	cr_assert_eq(parse("", &c, &w), 0);
	cr_assert(!c.cond);
	cr_assert_eq(parse("cond=1", &c, &w), 0);
	cr_assert(c.cond);
	cr_assert_eq(parse("cond=2", &c, &w), 1);
	cr_assert(!c.cond, "a bad value keeps the default");
}
