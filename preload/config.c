/*
 * config.c — parse LOCKCONTEND (see config.h).
 *
 * Each comma-separated item is key=value; a bare "off" disables profiling.
 * A bad item warns and leaves that key at its default; the others still
 * apply.  No allocation: items are parsed in place from the input string.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "series.h"
#include "text.h"

struct item {
	const char *key;
	size_t key_len;
	const char *val; /* NULL when the item has no '=' */
	size_t val_len;
};

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = true;
	c->stacks = true;
	c->verbose = false;
	c->holder = true;
	c->inits = true;
	c->waiting = true;
	c->rate = CONFIG_DEFAULT_RATE;
	c->hold = CONFIG_DEFAULT_HOLD;
	c->depth = CONFIG_DEFAULT_DEPTH;
	c->arena_bytes = CONFIG_DEFAULT_ARENA;
	c->series_ns = SERIES_DEFAULT_NS;
	memcpy(c->out, CONFIG_DEFAULT_OUT, sizeof(CONFIG_DEFAULT_OUT));
}

static bool item_is(const struct item *it, const char *key)
{
	return it->key_len == strlen(key) && memcmp(it->key, key, it->key_len) == 0;
}

/* Decimal digits only, no sign, no overflow past max. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* A size in bytes with an optional K, M or G suffix (powers of 1024). */
static bool parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t mult = 1;
	if (n > 0) {
		switch (s[n - 1]) {
		case 'k':
		case 'K':
			mult = 1ull << 10;
			n--;
			break;
		case 'm':
		case 'M':
			mult = 1ull << 20;
			n--;
			break;
		case 'g':
		case 'G':
			mult = 1ull << 30;
			n--;
			break;
		}
	}
	uint64_t v;
	if (!parse_u64(s, n, CONFIG_MAX_ARENA, &v) || v > CONFIG_MAX_ARENA / mult)
		return false;
	*out = v * mult;
	return true;
}

/* A duration with its unit, ms, s, m or h ("100ms", "1s", "2m"), from
 * SERIES_MIN_NS to SERIES_MAX_NS; 0 or off: none. */
static bool parse_series(const char *s, size_t n, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {{"ms", 1000000ull},
	             {"s", 1000000000ull},
	             {"m", 60000000000ull},
	             {"h", 3600000000000ull}};
	if ((n == 1 && s[0] == '0') || (n == 3 && memcmp(s, "off", 3) == 0)) {
		*out = 0;
		return true;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t u = strlen(units[i].unit);
		uint64_t v;
		if (n > u && memcmp(s + n - u, units[i].unit, u) == 0 &&
		    parse_u64(s, n - u, UINT64_MAX / units[i].ns, &v) &&
		    v * units[i].ns >= SERIES_MIN_NS && v * units[i].ns <= SERIES_MAX_NS) {
			*out = v * units[i].ns;
			return true;
		}
	}
	return false;
}

/* USR1, USR2 (or SIGUSR1...), or a real-time signal number; 0 or "off"
 * for none.  Signals a program needs for itself (SEGV, KILL, ...) are
 * refused. */
static bool parse_signal(const struct item *it, int *out)
{
	const char *v = it->val;
	size_t n = it->val_len;
	uint64_t num;
	if (n > 3 && memcmp(v, "SIG", 3) == 0) {
		v += 3;
		n -= 3;
	}
	if ((n == 3 && memcmp(v, "off", 3) == 0) || (n == 1 && v[0] == '0')) {
		*out = 0;
	} else if (n == 4 && memcmp(v, "USR1", 4) == 0) {
		*out = SIGUSR1;
	} else if (n == 4 && memcmp(v, "USR2", 4) == 0) {
		*out = SIGUSR2;
	} else if (parse_u64(v, n, 64, &num) && (int)num >= SIGRTMIN && (int)num <= SIGRTMAX) {
		*out = (int)num;
	} else {
		return false;
	}
	return true;
}

static bool parse_bool(const struct item *it, bool *out)
{
	if (it->val_len != 1 || (it->val[0] != '0' && it->val[0] != '1'))
		return false;
	*out = it->val[0] == '1';
	return true;
}

/* %p, %e and %% are the only escapes; anything else is a typo. */
static bool out_pattern_valid(const char *s, size_t n)
{
	if (n == 0 || n >= CONFIG_OUT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0')
			return false;
		if (s[i] != '%')
			continue;
		if (i + 1 == n || (s[i + 1] != 'p' && s[i + 1] != 'e' && s[i + 1] != '%'))
			return false;
		i++;
	}
	return true;
}

static bool item_apply(const struct item *it, struct config *c)
{
	uint64_t v;
	if (item_is(it, "rate")) {
		if (!parse_u64(it->val, it->val_len, 1000000000, &v) || v == 0)
			return false;
		c->rate = (uint32_t)v;
	} else if (item_is(it, "depth")) {
		if (!parse_u64(it->val, it->val_len, CONFIG_MAX_DEPTH, &v) || v == 0)
			return false;
		c->depth = (uint32_t)v;
	} else if (item_is(it, "hold")) {
		if (!parse_u64(it->val, it->val_len, 1000000000, &v))
			return false;
		c->hold = (uint32_t)v;
	} else if (item_is(it, "signal")) {
		return parse_signal(it, &c->signal);
	} else if (item_is(it, "holder")) {
		return parse_bool(it, &c->holder);
	} else if (item_is(it, "inits")) {
		return parse_bool(it, &c->inits);
	} else if (item_is(it, "waiting")) {
		return parse_bool(it, &c->waiting);
	} else if (item_is(it, "cond")) {
		return parse_bool(it, &c->cond);
	} else if (item_is(it, "stacks")) {
		return parse_bool(it, &c->stacks);
	} else if (item_is(it, "verbose")) {
		return parse_bool(it, &c->verbose);
	} else if (item_is(it, "out")) {
		if (!out_pattern_valid(it->val, it->val_len))
			return false;
		memcpy(c->out, it->val, it->val_len);
		c->out[it->val_len] = '\0';
	} else if (item_is(it, "series")) {
		return parse_series(it->val, it->val_len, &c->series_ns);
	} else if (item_is(it, "arena")) {
		if (!parse_size(it->val, it->val_len, &v) || v < CONFIG_MIN_ARENA)
			return false;
		c->arena_bytes = v;
	} else {
		return false;
	}
	return true;
}

static bool key_known(const struct item *it)
{
	static const char *const keys[] = {"rate",    "depth",  "stacks", "verbose", "out",
	                                   "arena",   "holder", "hold",   "signal",  "inits",
	                                   "waiting", "series", "cond"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (item_is(it, keys[i]))
			return true;
	return false;
}

/* Control characters (a newline read from a file) would break the line. */
static void text_printable(struct text *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		text_strn(t, ch < 0x20 || ch == 0x7f ? "?" : &s[i], 1);
	}
}

static void item_warn(const struct item *it, config_warn_fn warn, void *ctx)
{
	char buf[256];
	struct text t;
	text_init(&t, buf, sizeof(buf));
	text_str(&t, "LOCKCONTEND: ");
	if (item_is(it, "interval")) {
		/* Per-interval profiles are a sidecar's work, never the
		 * program's (docs/intervals.md): say where they are. */
		text_str(&t, "'interval' ignored: interval files are written beside the "
		             "program by lockcontend --interval-dir or lockcontend intervals "
		             "(docs/intervals.md)");
	} else if (!key_known(it)) {
		text_str(&t, "unknown key '");
		text_printable(&t, it->key, it->key_len > 64 ? 64 : it->key_len);
		text_str(&t, "' ignored (keys: rate depth stacks verbose out arena holder hold "
		             "signal inits waiting series cond, or off)");
	} else if (!it->val) {
		text_str(&t, "'");
		text_printable(&t, it->key, it->key_len);
		text_str(&t, "' needs a value; using the default");
	} else {
		text_str(&t, "bad value for ");
		text_printable(&t, it->key, it->key_len);
		text_str(&t, ": '");
		text_printable(&t, it->val, it->val_len > 64 ? 64 : it->val_len);
		text_str(&t, it->val_len > 64 ? "...'" : "'");
		text_str(&t, "; using the default");
	}
	if (warn)
		warn(buf, ctx);
}

int config_parse(const char *s, struct config *c, config_warn_fn warn, void *ctx)
{
	int warnings = 0;
	config_defaults(c);
	if (!s)
		return 0;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		struct item it = {.key = s, .key_len = n};
		const char *eq = memchr(s, '=', n);
		if (eq) {
			it.key_len = (size_t)(eq - s);
			it.val = eq + 1;
			it.val_len = n - it.key_len - 1;
		}
		if (n == 0) {
			/* empty item ("a=1,,b=2" or a trailing comma): harmless */
		} else if (!eq && n == 3 && memcmp(s, "off", 3) == 0) {
			c->enabled = false;
		} else if (!eq || !item_apply(&it, c)) {
			/* A few lines help; a screenful of them for a mangled
			 * variable does not. */
			if (warnings < CONFIG_MAX_WARNINGS)
				item_warn(&it, warn, ctx);
			else if (warnings == CONFIG_MAX_WARNINGS && warn)
				warn("LOCKCONTEND: more bad items ignored", ctx);
			warnings++;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return warnings;
}
