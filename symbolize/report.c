/*
 * report.c — what the report writers share (see report.h): durations in
 * human units, percentages, the key that merges identical symbolized
 * stacks, and the test for the _NotChargedToHolder pseudo-sample.
 *
 * The text report (report_text.c) and its lock table (report_locks.c) both
 * use these, so they live here rather than in either: each report file
 * then depends on this one, not on the other's job.  Pure functions of
 * their arguments, no state; report_stack_key allocates its result.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

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
