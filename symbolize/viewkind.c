/*
 * viewkind.c — view and kind names, --view and --kind (see viewkind.h).
 *
 * The command line says "waiter" where the format says WAIT: a report
 * reader asks who waited and who held, and "wait" alone reads as a verb.
 */
#include "viewkind.h"

#include <stdio.h>
#include <string.h>

static const char *const view_names[LC_NVIEWS] = {"waiter", "holder", "hold"};
static const char *const kind_names[LC_NKINDS] = {"mutex", "rdlock", "wrlock", "spin"};

const char *viewkind_view_name(int view)
{
	return view >= 0 && view < LC_NVIEWS ? view_names[view] : "?";
}

int viewkind_view_parse(const char *s)
{
	for (int v = 0; v < LC_NVIEWS; v++)
		if (strcmp(s, view_names[v]) == 0)
			return v;
	return -1;
}

const char *viewkind_kind_name(int kind)
{
	return kind >= 0 && kind < LC_NKINDS ? kind_names[kind] : "?";
}

/* The bits of one item of a --kind list, 0 if unknown. */
static uint32_t kind_bits(const char *item, size_t len)
{
	if (len == 6 && strncmp(item, "rwlock", 6) == 0)
		return 1u << LC_KIND_RDLOCK | 1u << LC_KIND_WRLOCK;
	for (int k = 0; k < LC_NKINDS; k++)
		if (strlen(kind_names[k]) == len && strncmp(item, kind_names[k], len) == 0)
			return 1u << k;
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
	for (int k = 0; k < LC_NKINDS && n < cap; k++) {
		if (!(mask & 1u << k) || (k == LC_KIND_WRLOCK && (mask & rw) == rw))
			continue;
		const char *name = k == LC_KIND_RDLOCK && (mask & rw) == rw ? "rwlock" : kind_names[k];
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", name);
	}
}
