/*
 * viewkind.c — --view and --kind, and kind sets as people read them (see
 * viewkind.h).
 *
 * The words are names.h's: the command line's word for each view
 * ("waiter", not the format's "wait"), and each kind's name.  "rwlock" is
 * the one word of the command line that names no single value: both
 * rwlock kinds.  "futex-cond" is a kind no file holds (names.h): the
 * futex waits the symbolizer calls condition waits.
 */
#include "viewkind.h"

#include <stdio.h>
#include <string.h>

#include "names.h"

int viewkind_view_parse(const char *s)
{
	for (int v = 0; v < LC_NVIEWS; v++)
		if (strcmp(s, names_view_cli((uint32_t)v)) == 0)
			return v;
	return -1;
}

/* The bits of one item of a --kind list, 0 if unknown. */
static uint32_t kind_bits(const char *item, size_t len)
{
	if (len == 6 && strncmp(item, "rwlock", 6) == 0)
		return 1u << LC_KIND_RDLOCK | 1u << LC_KIND_WRLOCK;
	for (int k = 0; k < 32; k++) {
		if (!(VIEWKIND_ALL_KINDS & 1u << k))
			continue;
		const char *name = names_kind((uint32_t)k);
		if (strlen(name) == len && strncmp(item, name, len) == 0)
			return 1u << k;
	}
	return 0;
}

int viewkind_kinds_parse(const char *list, uint32_t *mask)
{
	uint32_t m = 0;
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		uint32_t bits = kind_bits(p, len);
		if (!bits)
			return -1;
		m |= bits;
		p += len;
		if (!*p)
			break;
	}
	*mask = m;
	return 0;
}

void viewkind_kinds_format(uint32_t mask, char *buf, size_t cap)
{
	static const uint32_t rw = 1u << LC_KIND_RDLOCK | 1u << LC_KIND_WRLOCK;
	size_t n = 0;
	buf[0] = '\0';
	for (int k = 0; k < 32 && n < cap; k++) {
		if (!(mask & VIEWKIND_ALL_KINDS & 1u << k) ||
		    (k == LC_KIND_WRLOCK && (mask & rw) == rw))
			continue;
		const char *name =
		    k == LC_KIND_RDLOCK && (mask & rw) == rw ? "rwlock" : names_kind((uint32_t)k);
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", name);
	}
}
