/*
 * report.c — what the report writers share (see report.h): durations in
 * human units, percentages, the key that merges identical symbolized
 * stacks, and the test for the _NotChargedToHolder pseudo-sample.
 *
 * The text report (report_text.c), its lock table (report_locks.c), its
 * "Waiting now" (report_waiting.c) and lockcontend-top (topview.c) use
 * these, so they live here rather than in any of them: each report file
 * then depends on this one, not on another's job.  Pure functions of
 * their arguments, no state; report_stack_key allocates its result.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "locknames.h"
#include "names.h"
#include "report.h"
#include "viewkind.h"

#define LINE_FRAMES 3 /* frames of a one-line stack */

void report_duration(char *buf, size_t cap, uint64_t ns)
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

const char *report_kinds_label(uint32_t kinds)
{
	static const uint32_t rw = 1u << LC_KIND_RDLOCK | 1u << LC_KIND_WRLOCK;
	if ((kinds & rw) == rw)
		return (kinds & ~rw) ? "mixed" : "rwlock";
	for (int k = 0; k < 32; k++)
		if (kinds == 1u << k && (VIEWKIND_ALL_KINDS & 1u << k))
			return names_kind((uint32_t)k);
	return kinds ? "mixed" : "-";
}

double report_pct(int64_t v, int64_t total)
{
	return total > 0 ? 100.0 * (double)v / (double)total : 0;
}

/* Flags, then each frame as function:line (or its label when it was not
 * symbolized): two samples whose stacks print alike get the same key even
 * if their pcs differ (the same code in several processes). */
char *report_stack_key(const struct profile *p, const struct prof_sample *s)
{
	char *buf = NULL, label[512];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "%x", s->flags);
	for (uint32_t i = 0; i < s->nlocs; i++) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		if (!l->nlines) {
			profile_location_label(p, l, label, sizeof(label));
			fprintf(f, ";%s", label);
		}
		for (uint32_t k = 0; k < l->nlines; k++)
			fprintf(f, ";%u:%" PRId64, l->lines[k].function, l->lines[k].line);
	}
	fclose(f);
	return buf;
}

bool report_is_uncharged(const struct profile *p, const struct prof_sample *s)
{
	if (s->view != LC_VIEW_HOLDER || s->lock || s->nlocs != 1)
		return false;
	const struct prof_location *l = &p->locations[s->locs[0]];
	return l->mapping < 0 && l->nlines == 1 &&
	       strcmp(p->functions[l->lines[0].function].name, PROF_UNCHARGED_NAME) == 0;
}

void report_stack_write(const struct profile *p, const struct report_names *rn,
                        const uint32_t *locs, uint32_t nlocs, FILE *out)
{
	char label[512];
	for (uint32_t i = 0; i < nlocs; i++) {
		const struct prof_location *l = &p->locations[locs[i]];
		if (!l->nlines) {
			profile_location_label(p, l, label, sizeof(label));
			fprintf(out, "      %s\n", label);
		}
		for (uint32_t k = 0; k < l->nlines; k++) {
			const struct prof_function *f = &p->functions[l->lines[k].function];
			const char *name = rn->frame[l->lines[k].function];
			if (f->file[0])
				fprintf(out, "      %s (%s:%" PRId64 ")%s\n", name, f->file,
				        l->lines[k].line, k + 1 < l->nlines ? " [inlined]" : "");
			else
				fprintf(out, "      %s%s\n", name,
				        k + 1 < l->nlines ? " [inlined]" : "");
		}
	}
}

/* One frame of a stack: line k of a location (k = 0 if unsymbolized). */
struct frame_ref {
	const struct prof_location *l;
	uint32_t k;
};

static size_t stack_frames(const struct profile *p, const uint32_t *locs, uint32_t nlocs,
                           struct frame_ref *out, size_t max)
{
	size_t n = 0;
	for (uint32_t i = 0; i < nlocs; i++) {
		const struct prof_location *l = &p->locations[locs[i]];
		for (uint32_t k = 0; k < (l->nlines ? l->nlines : 1) && n < max; k++)
			out[n++] = (struct frame_ref){l, k};
	}
	return n;
}

/* A frame in libc & co., or a lock wrapper: the C++ runtime's, or (with
 * wrappers) one the stacks showed to be the program's (locknames.h). */
static bool is_plumbing(const struct profile *p, struct frame_ref f, bool wrappers)
{
	return locknames_is_plumbing(p, f.l, f.k) ||
	       (wrappers && f.l->nlines && p->functions[f.l->lines[f.k].function].wrapper);
}

/* The first frame of the program's own, as locknames.h picks the one that
 * names a lock: past plumbing and wrappers; if that leaves none, past
 * plumbing; if that leaves none, the innermost. */
static size_t first_own(const struct profile *p, const struct frame_ref *f, size_t n)
{
	for (int wrappers = 1; wrappers >= 0; wrappers--) {
		size_t i = 0;
		while (i < n && is_plumbing(p, f[i], wrappers))
			i++;
		if (i < n)
			return i;
	}
	return 0;
}

void report_stack_line(const struct profile *p, const struct report_names *rn, const uint32_t *locs,
                       uint32_t nlocs, FILE *out)
{
	struct frame_ref f[512];
	char name[512];
	size_t n = stack_frames(p, locs, nlocs, f, 512), first = first_own(p, f, n);
	for (size_t i = first; i < n && i < first + LINE_FRAMES; i++) {
		fprintf(out, "%s", i > first ? " < " : "");
		if (!f[i].l->nlines) {
			profile_location_label(p, f[i].l, name, sizeof(name));
			fprintf(out, "%s", name);
			continue;
		}
		uint32_t fi = f[i].l->lines[f[i].k].function;
		const struct prof_function *fn = &p->functions[fi];
		const char *base = strrchr(fn->file, '/');
		fprintf(out, "%s", rn->brief[fi]);
		if (i == first && fn->file[0])
			fprintf(out, " (%s:%" PRId64 ")", base ? base + 1 : fn->file,
			        f[i].l->lines[f[i].k].line);
	}
	fprintf(out, "%s\n", n > first + LINE_FRAMES ? " < ..." : "");
}
