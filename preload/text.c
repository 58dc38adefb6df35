/*
 * text.c — fixed-buffer text building (see text.h).  No malloc, no stdio,
 * no locale: safe in hooks, signal handlers and exit-time code.
 */
#include "text.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void text_init(struct text *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->cap = cap;
	t->len = 0;
	if (cap)
		buf[0] = '\0';
}

void text_strn(struct text *t, const char *s, size_t n)
{
	if (t->cap == 0)
		return;
	size_t room = t->cap - 1 - t->len;
	if (n > room)
		n = room;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

void text_str(struct text *t, const char *s)
{
	text_strn(t, s, strlen(s));
}

void text_u64(struct text *t, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	text_strn(t, tmp + i, sizeof(tmp) - (size_t)i);
}

/* Two decimals, rounded down: enough to read, exact enough to compare. */
static void text_fixed2(struct text *t, uint64_t v, uint64_t unit, const char *name)
{
	text_u64(t, v / unit);
	text_str(t, ".");
	uint64_t frac = (v % unit) * 100 / unit;
	if (frac < 10)
		text_str(t, "0");
	text_u64(t, frac);
	text_str(t, name);
}

void text_duration(struct text *t, uint64_t ns)
{
	if (ns < 1000) {
		text_u64(t, ns);
		text_str(t, " ns");
	} else if (ns < 1000000) {
		text_fixed2(t, ns, 1000, " us");
	} else if (ns < 1000000000) {
		text_fixed2(t, ns, 1000000, " ms");
	} else {
		text_fixed2(t, ns, 1000000000, " s");
	}
}

bool text_quiet;

void text_warn(const char *line)
{
	if (text_quiet)
		return;
	char buf[1024];
	struct text t;
	int saved = errno;
	text_init(&t, buf, sizeof(buf) - 1);
	text_str(&t, "lockcontend: ");
	text_str(&t, line);
	buf[t.len++] = '\n';
	size_t off = 0;
	while (off < t.len) {
		ssize_t n = write(STDERR_FILENO, buf + off, t.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	errno = saved;
}
