/*
 * report_folded.c — folded stacks: "outer;...;inner value", one line per
 * distinct stack, the input of flamegraph.pl, speedscope and inferno.
 *
 * Frames run from the outermost caller to the innermost, inline frames
 * each a frame of their own; unsymbolized ones are module+0xoffset.  The
 * value is the delay in nanoseconds, or contentions with --value.
 * Identical stacks (from several dumps) are merged.
 *
 * One view (report_input.view, the waiters' by default): the sentinel of
 * that view and, in the holder view, _NotChargedToHolder are one-frame
 * lines of their own; _NotChargedToHolder is written even at 0, so the
 * holder view never seems to explain more of the waiting than it does.
 * With lock_frames (--lock-frames) a sample of a lock has the lock's name
 * as its outermost frame, so any flame-graph tool splits by lock; the
 * pseudo-samples, which have no lock, keep their one frame.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

struct line {
	char *stack;
	int64_t value;
};

/* ';' separates frames and the last space the value: keep names clean. */
static void append_frame(char **buf, size_t *len, size_t *cap, const char *name)
{
	size_t n = strlen(name);
	if (*len + n + 2 > *cap) {
		*cap = (*len + n + 2) * 2;
		*buf = realloc(*buf, *cap);
	}
	if (*len)
		(*buf)[(*len)++] = ';';
	for (size_t i = 0; i < n; i++)
		(*buf)[(*len)++] = name[i] == ';' ? ':' : name[i];
	(*buf)[*len] = '\0';
}

static char *folded_stack(const struct profile *p, const struct prof_sample *s, bool lock_frames)
{
	char *buf = NULL, label[512];
	size_t len = 0, cap = 0;
	if (lock_frames && s->lock)
		append_frame(&buf, &len, &cap, s->lock);
	for (uint32_t i = s->nlocs; i-- > 0;) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		if (l->nlines == 0) {
			profile_location_label(p, l, label, sizeof(label));
			append_frame(&buf, &len, &cap, label);
		}
		for (uint32_t k = l->nlines; k-- > 0;)
			append_frame(&buf, &len, &cap, p->functions[l->lines[k].function].name);
	}
	return buf ? buf : strdup("");
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->stack, ((const struct line *)b)->stack);
}

void report_folded_write(const struct report_input *in, FILE *out)
{
	const struct profile *p = in->profile;
	struct line *lines = calloc(p->nsamples ? p->nsamples : 1, sizeof(*lines));
	if (!lines)
		return;
	size_t n = 0;
	int view = in->view < 0 ? LC_VIEW_WAIT : in->view;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		if (s->view != view)
			continue;
		lines[n].stack = folded_stack(p, s, in->lock_frames);
		lines[n].value = s->value[in->value];
		if (lines[n].stack && (lines[n].value > 0 || report_is_uncharged(p, s)))
			n++;
		else
			free(lines[n].stack);
	}
	qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n; i++) {
		int64_t v = lines[i].value;
		while (i + 1 < n && strcmp(lines[i].stack, lines[i + 1].stack) == 0)
			v += lines[++i].value;
		fprintf(out, "%s %" PRId64 "\n", lines[i].stack, v);
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i].stack);
	free(lines);
}
