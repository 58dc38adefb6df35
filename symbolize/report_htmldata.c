/*
 * report_htmldata.c — the HTML report's data: the profile as one JSON
 * object for the page's viewer (report_html.h has its fields).
 *
 * The flame graphs are built in the browser from the samples, so that a
 * lock filter or a split by lock needs no second copy of them: each
 * sample is written once, its stack as indexes into a table of frames
 * (function, line, inlined), and functions are named once.  10,000 stacks
 * of 20 frames take about 1.5 MB.  What the text report says in words —
 * each dump's header, "Waiting now", contention over time, each lock's
 * details — is written as the text report's own lines (captured from its
 * writers), so the two never disagree.  The lock table's numbers are
 * report_locks.c's rows.
 *
 * A comparison (--diff) is the same data of both runs' dumps in one
 * profile, with what tells the runs apart: each dump's side, each base
 * sample's flag DIFF_FLAG_BASE, each lock's figures in either run (diff.h,
 * matched by name), and "diff": {nbase, match}.  The viewer then draws
 * differential flame graphs.
 *
 * Every string goes through jsonw_string (safe inside <script>).  Out of
 * memory before anything is written, nothing is (the page then says it
 * has no data); out of memory for a frame, the stack gets the first frame
 * in its place and the data says "outOfMemory": true, which the page
 * shows.  The caller sees the stream's error, if any, as for every
 * report.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "grow.h"
#include "jsonw.h"
#include "map64.h"
#include "names.h"
#include "report_html.h"
#include "viewkind.h"

struct frame {
	uint32_t fn; /* function index, or nfunctions + label index */
	uint32_t line;
	bool inlined;
};

struct htmldata {
	const struct report_input *in;
	const struct profile *p;
	FILE *out;
	struct map64 frame_index; /* frame key -> index into frames */
	struct frame *frames;
	size_t nframes, frames_cap;
	struct map64 label_index; /* location -> index into labels */
	char **labels;            /* unsymbolized frames' module+0xoffset */
	size_t nlabels, labels_cap;
	struct map64 lock_index; /* a lock's name (the pointer) -> its row */
	struct report_lockrow *rows;
	struct htmltime_sample *written; /* every sample written, with its index in
	                                  * its view (report_htmltime.c) */
	size_t nwritten, written_cap;
	bool oom;
};

/* A sample of the base run, in a comparison (beside LC_BUCKET_*). */
#define DIFF_FLAG_BASE 4

/* ---- frames ---------------------------------------------------------------------- */

static uint32_t frame_of(struct htmldata *h, uint32_t fn, int64_t line, bool inlined)
{
	uint32_t ln = line < 0 ? 0 : line > 0x7fffffff ? 0x7fffffff : (uint32_t)line;
	uint64_t key = (uint64_t)fn << 32 | (uint64_t)inlined << 31 | ln;
	uint32_t i;
	if (map64_get(&h->frame_index, key, &i))
		return i;
	if (!grow_to((void **)&h->frames, &h->frames_cap, h->nframes + 1, sizeof(*h->frames)) ||
	    !map64_put(&h->frame_index, key, (uint32_t)h->nframes)) {
		h->oom = true;
		return 0;
	}
	h->frames[h->nframes] = (struct frame){fn, ln, inlined};
	return (uint32_t)h->nframes++;
}

/* The function index of an unsymbolized location: its label's. */
static uint32_t label_of(struct htmldata *h, uint32_t loc)
{
	uint32_t i;
	char buf[512];
	if (!map64_get(&h->label_index, loc, &i)) {
		profile_location_label(h->p, &h->p->locations[loc], buf, sizeof(buf));
		char *s = strdup(buf);
		if (!s ||
		    !grow_to((void **)&h->labels, &h->labels_cap, h->nlabels + 1,
		             sizeof(*h->labels)) ||
		    !map64_put(&h->label_index, loc, (uint32_t)h->nlabels)) {
			free(s);
			h->oom = true;
			return 0;
		}
		h->labels[h->nlabels] = s;
		i = (uint32_t)h->nlabels++;
	}
	return (uint32_t)h->p->nfunctions + i;
}

/* ---- samples ----------------------------------------------------------------------- */

/* [lock, count, delay, max, flags, frames outermost first...]: a
 * location's lines are innermost first, the last the real function. */
static void write_sample(struct htmldata *h, const struct prof_sample *s)
{
	const struct profile *p = h->p;
	uint32_t row;
	int64_t lock = -1;
	if (s->lock && map64_get(&h->lock_index, (uintptr_t)s->lock, &row))
		lock = row;
	uint32_t flags = s->flags & (LC_BUCKET_TIMEDOUT | LC_BUCKET_TRUNCATED);
	if (s->dump < h->in->nbase)
		flags |= DIFF_FLAG_BASE;
	fprintf(h->out, "[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRIu32, lock,
	        s->value[PROF_CONTENTIONS], s->value[PROF_DELAY], s->max_ns, flags);
	for (uint32_t i = s->nlocs; i-- > 0;) {
		const struct prof_location *l = &p->locations[s->locs[i]];
		if (!l->nlines)
			fprintf(h->out, ",%" PRIu32,
			        frame_of(h, label_of(h, s->locs[i]), 0, false));
		for (uint32_t k = l->nlines; k-- > 0;)
			fprintf(
			    h->out, ",%" PRIu32,
			    frame_of(h, l->lines[k].function, l->lines[k].line, k + 1 < l->nlines));
	}
	fputc(']', h->out);
}

/* Remember the sample the page knows as index of its view: the
 * timeline's entries name it (out of memory: the timeline lacks it). */
static void note_written(struct htmldata *h, const struct prof_sample *s, uint32_t index)
{
	if (!grow_to((void **)&h->written, &h->written_cap, h->nwritten + 1, sizeof(*h->written)))
		return;
	h->written[h->nwritten++] = (struct htmltime_sample){s, index};
}

static void write_views(struct htmldata *h)
{
	fputs(",\n\"views\":[", h->out);
	for (int v = 0; v < LC_NVIEWS; v++) {
		if (v)
			fputc(',', h->out);
		if (h->in->view >= 0 && h->in->view != v) {
			fputs("null", h->out);
			continue;
		}
		fputs("{\"samples\":[", h->out);
		bool first = true;
		uint32_t index = 0;
		for (size_t i = 0; i < h->p->nsamples; i++) {
			const struct prof_sample *s = &h->p->samples[i];
			if (s->view != v ||
			    (s->value[PROF_DELAY] <= 0 && s->value[PROF_CONTENTIONS] <= 0 &&
			     !report_is_uncharged(h->p, s)))
				continue;
			fputs(first ? "\n" : ",\n", h->out);
			write_sample(h, s);
			note_written(h, s, index++);
			first = false;
		}
		fputs("]}", h->out);
	}
	fputs("]", h->out);
}

static void write_frames(struct htmldata *h)
{
	fputs(",\n\"frames\":[", h->out);
	for (size_t i = 0; i < h->nframes; i++)
		fprintf(h->out, "%s[%" PRIu32 ",%" PRIu32 ",%d]", i ? "," : "", h->frames[i].fn,
		        h->frames[i].line, h->frames[i].inlined);
	fputs("]", h->out);
}

static const char *special_of(const struct prof_function *f)
{
	if (strcmp(f->name, LC_SENTINEL_NAME) == 0)
		return "lost";
	if (strcmp(f->name, PROF_UNCHARGED_NAME) == 0)
		return "uncharged";
	return "";
}

static void write_functions(struct htmldata *h)
{
	fputs(",\n\"fn\":[", h->out);
	for (size_t i = 0; i < h->p->nfunctions + h->nlabels; i++) {
		const struct prof_function *f = i < h->p->nfunctions ? &h->p->functions[i] : NULL;
		fputs(i ? ",\n[" : "\n[", h->out);
		jsonw_string(h->out, f ? f->name : h->labels[i - h->p->nfunctions]);
		fputc(',', h->out);
		jsonw_string(h->out, f ? f->file : "");
		fputc(',', h->out);
		jsonw_string(h->out, f ? special_of(f) : "");
		fputc(']', h->out);
	}
	fputs("]", h->out);
}

/* ---- text, as the text report words it ----------------------------------------------- */

/* text as an array of its lines, the blank ones at either end left out. */
static void write_lines(FILE *out, const char *text)
{
	const char *s = text ? text : "";
	while (*s == '\n')
		s++;
	size_t len = strlen(s);
	while (len && s[len - 1] == '\n')
		len--;
	fputc('[', out);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (s + i)) : len - i;
		char *line = strndup(s + i, n);
		fputs(i ? "," : "", out);
		jsonw_string(out, line ? line : "");
		free(line);
		i += n + 1;
	}
	fputc(']', out);
}

/* A stream to capture a writer's text; *buf after fclose (may be NULL). */
static FILE *capture(char **buf, size_t *len)
{
	*buf = NULL;
	return open_memstream(buf, len);
}

static const char *state_of(const struct dump *d, const struct dump_status *st)
{
	if (!st)
		return d->complete ? "complete" : "unknown";
	switch (st->writer) {
	case DUMP_WRITER_EXITED: return "complete";
	case DUMP_WRITER_EXEC: return "exec";
	case DUMP_WRITER_SNAPSHOT: return "snapshot";
	case DUMP_WRITER_DETACHED: return "detached";
	case DUMP_WRITER_LIVE: return "live";
	case DUMP_WRITER_DIED: return "died";
	case DUMP_WRITER_UNCLOSED: return "unclosed";
	}
	return "unknown";
}

static void write_dump(struct htmldata *h, size_t i)
{
	const struct report_input *in = h->in;
	const struct dump *d = &in->dumps[i];
	const struct dump_status *st = in->status ? &in->status[i] : NULL;
	char *text;
	size_t len;
	FILE *f = capture(&text, &len);
	if (f) {
		report_dump_header_write(d, in->paths[i], st, f);
		fclose(f);
	}
	fprintf(h->out, "%s\n{\"exe\":", i ? "," : "");
	jsonw_string(h->out, d->exe);
	fprintf(h->out, ",\"pid\":%" PRIu64 ",\"path\":", d->meta.pid);
	jsonw_string(h->out, in->paths[i]);
	fprintf(h->out, ",\"state\":\"%s\",\"partial\":%s,", state_of(d, st),
	        d->end == DUMP_END_CUT ? "true" : "false");
	if (in->nbase)
		fprintf(h->out, "\"side\":\"%s\",", i < in->nbase ? "base" : "new");
	fputs("\"header\":", h->out);
	write_lines(h->out, f ? text : NULL);
	fputc('}', h->out);
	free(text);
}

/* "EXE (pid N)", or "N dumps: EXE (pid N), ..." */
static void write_title(struct htmldata *h)
{
	char *text;
	size_t len;
	FILE *f = capture(&text, &len);
	if (!f)
		return;
	size_t nb = h->in->nbase;
	if (nb)
		fprintf(f, "comparison: %s (pid %" PRIu64 ")%s -> %s (pid %" PRIu64 ")%s",
		        h->in->dumps[0].exe, h->in->dumps[0].meta.pid, nb > 1 ? ", ..." : "",
		        h->in->dumps[nb].exe, h->in->dumps[nb].meta.pid,
		        h->in->ndumps - nb > 1 ? ", ..." : "");
	else if (h->in->ndumps != 1)
		fprintf(f, "%zu dumps: ", h->in->ndumps);
	for (size_t i = 0; !nb && i < h->in->ndumps && i < 3; i++)
		fprintf(f, "%s%s (pid %" PRIu64 ")", i ? ", " : "", h->in->dumps[i].exe,
		        h->in->dumps[i].meta.pid);
	fprintf(f, "%s", !nb && h->in->ndumps > 3 ? ", ..." : "");
	fclose(f);
	fputs("\"title\":", h->out);
	jsonw_string(h->out, text);
	free(text);
}

/* A comparison's notes: each run's waiting, and how frames are matched. */
static void diff_notes(struct htmldata *h, FILE *f)
{
	const struct diff *d = h->in->diff;
	static const char *const side[DIFF_NSIDES] = {"base", "new"};
	char wait[32];
	for (int i = 0; d && i < DIFF_NSIDES; i++) {
		report_duration(wait, sizeof(wait),
		                (uint64_t)d->total[i][LC_VIEW_WAIT][PROF_DELAY]);
		fprintf(f, "%s run: %" PRId64 " contentions, %s total wait\n", side[i],
		        d->total[i][LC_VIEW_WAIT][PROF_CONTENTIONS], wait);
	}
	fprintf(f, "the graphs are the new run's, coloured by the change from the base run: red "
	           "grew, blue shrank, orange is new (widths from the base run show what "
	           "vanished); frames are matched by function name\n");
}

static void write_notes(struct htmldata *h)
{
	const struct profile *p = h->p;
	char *text, wait[32], kinds[64];
	size_t len;
	FILE *f = capture(&text, &len);
	if (!f)
		return;
	if (h->in->nbase) {
		diff_notes(h, f);
	} else if (h->in->ndumps > 1) {
		int64_t count = 0, total = 0;
		for (size_t i = 0; i < p->nsamples; i++)
			if (p->samples[i].view == LC_VIEW_WAIT) {
				count += p->samples[i].value[PROF_CONTENTIONS];
				total += p->samples[i].value[PROF_DELAY];
			}
		report_duration(wait, sizeof(wait), (uint64_t)total);
		fprintf(f, "all %zu dumps: %" PRId64 " contentions, %s total wait\n", h->in->ndumps,
		        count, wait);
	}
	if (!viewkind_all_locks(p->kinds)) {
		viewkind_kinds_format(p->kinds, kinds, sizeof(kinds));
		fprintf(
		    f,
		    "only %s locks (--kind) below; the totals above are for every kind, and %s, "
		    "which has no kind, is left out\n",
		    kinds, LC_SENTINEL_NAME);
	}
	fclose(f);
	fputs(",\n\"notes\":", h->out);
	write_lines(h->out, text);
	free(text);
}

/* "waiting" and "series": the text report's sections. */
static void write_sections(struct htmldata *h, const struct report_names *rn)
{
	char *text;
	size_t len;
	FILE *f = capture(&text, &len);
	if (f) {
		report_waiting_write(h->in, rn, f);
		fclose(f);
	}
	fputs(",\n\"waiting\":", h->out);
	write_lines(h->out, f ? text : NULL);
	free(text);
	fprintf(h->out, ",\n\"deadlocks\":%zu", report_deadlocks(h->p));
	f = capture(&text, &len);
	if (f) {
		report_series_write(h->in, f);
		fclose(f);
	}
	fputs(",\n\"series\":", h->out);
	write_lines(h->out, f ? text : NULL);
	free(text);
}

/* ---- locks ------------------------------------------------------------------------------- */

/* In a comparison, a lock's figures in each run: [wait, contentions,
 * caused, unlocks, hold, holds], matched by name (diff.h). */
static void write_lock_diff(struct htmldata *h, const char *name)
{
	const struct diff *d = h->in->diff;
	char *key = d ? diff_lock_key(name) : NULL;
	const struct diff_lock *l = NULL;
	for (size_t i = 0; key && i < d->nlocks && !l; i++)
		if (strcmp(d->locks[i].name, key) == 0)
			l = &d->locks[i];
	free(key);
	if (!l)
		return;
	fputs(",\"diff\":[", h->out);
	for (int s = 0; s < DIFF_NSIDES; s++) {
		const int64_t(*v)[PROF_NVALUES] = l->v[s];
		fprintf(
		    h->out,
		    "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
		    s ? "," : "", v[LC_VIEW_WAIT][PROF_DELAY], v[LC_VIEW_WAIT][PROF_CONTENTIONS],
		    v[LC_VIEW_HOLDER][PROF_DELAY], v[LC_VIEW_HOLDER][PROF_CONTENTIONS],
		    v[LC_VIEW_HOLD][PROF_DELAY], v[LC_VIEW_HOLD][PROF_CONTENTIONS]);
	}
	fputc(']', h->out);
}

static void write_lock(struct htmldata *h, const struct report_names *rn, size_t i)
{
	const struct report_lockrow *r = &h->rows[i];
	const int64_t(*v)[PROF_NVALUES] = r->v;
	FILE *out = h->out;
	fprintf(out, "%s\n{\"name\":", i ? "," : "");
	jsonw_string(out, r->lock->name);
	fprintf(out, ",\"kind\":\"%s\"", report_kinds_label(r->lock->kinds));
	fprintf(out, ",\"wait\":%" PRId64 ",\"count\":%" PRId64 ",\"maxWait\":%" PRId64,
	        v[LC_VIEW_WAIT][PROF_DELAY], v[LC_VIEW_WAIT][PROF_CONTENTIONS],
	        r->max[LC_VIEW_WAIT]);
	fprintf(out, ",\"timeouts\":%" PRIu64 ",\"trylock\":%" PRIu64, r->lock->timeouts,
	        r->lock->trylock_failures);
	fprintf(out, ",\"holds\":%" PRId64 ",\"hold\":%" PRId64 ",\"maxHold\":%" PRId64,
	        v[LC_VIEW_HOLD][PROF_CONTENTIONS], v[LC_VIEW_HOLD][PROF_DELAY],
	        r->max[LC_VIEW_HOLD]);
	fprintf(out, ",\"caused\":%" PRId64 ",\"causedCount\":%" PRId64 ",\"uncharged\":%" PRIu64,
	        v[LC_VIEW_HOLDER][PROF_DELAY], v[LC_VIEW_HOLDER][PROF_CONTENTIONS],
	        r->lock->uncharged_ns);
	fprintf(out, ",\"noCell\":[%" PRIu64 ",%" PRIu64 "]", r->lock->no_cell_count,
	        r->lock->no_cell_ns);
	fputs(",\"lost\":[", out);
	for (int view = 0; view < LC_NVIEWS; view++) {
		uint64_t count = 0;
		for (int k = 0; k < LC_LOST_NREASONS; k++)
			count += r->lock->lost[view][k].count;
		fprintf(out, "%s[%" PRIu64 ",%" PRId64 "]", view ? "," : "", count, r->lost[view]);
	}
	fputs("]", out);
	write_lock_diff(h, r->lock->name);
	fputs(",\"details\":", out);
	char *text;
	size_t len;
	FILE *f = capture(&text, &len);
	if (f) {
		report_lock_details_write(h->p, rn, r, f);
		fclose(f);
	}
	write_lines(out, f ? text : NULL);
	free(text);
	fputc('}', out);
}

static void write_locks(struct htmldata *h, const struct report_names *rn)
{
	fputs(",\n\"locks\":[", h->out);
	for (size_t i = 0; h->rows && i < h->p->nlocks; i++)
		write_lock(h, rn, i);
	fputs("]", h->out);
}

static bool index_locks(struct htmldata *h)
{
	h->rows = report_lock_rows(h->p);
	if (!h->rows)
		return false;
	for (size_t i = 0; i < h->p->nlocks; i++)
		if (!map64_put(&h->lock_index, (uintptr_t)h->rows[i].lock->name, (uint32_t)i))
			return false;
	return true;
}

static void htmldata_free(struct htmldata *h)
{
	map64_free(&h->frame_index);
	map64_free(&h->label_index);
	map64_free(&h->lock_index);
	free(h->frames);
	for (size_t i = 0; i < h->nlabels; i++)
		free(h->labels[i]);
	free(h->labels);
	free(h->rows);
	free(h->written);
}

void report_htmldata_write(const struct report_input *in, FILE *out)
{
	struct htmldata h = {.in = in, .p = in->profile, .out = out};
	struct report_names rn;
	if (report_names_build(&rn, h.p) != 0)
		return;
	if (!index_locks(&h)) {
		htmldata_free(&h);
		report_names_free(&rn);
		return;
	}
	fputs("{\"format\":1,", out);
	write_title(&h);
	fputs(",\n\"dumps\":[", out);
	for (size_t i = 0; i < in->ndumps; i++)
		write_dump(&h, i);
	fputs("]", out);
	write_notes(&h);
	write_sections(&h, &rn);
	fprintf(out, ",\n\"holderRecorded\":%s,\"lockFrames\":%s",
	        h.p->holder_recorded ? "true" : "false", in->lock_frames ? "true" : "false");
	if (h.p->no_cell_unknown)
		fputs(",\"noCell\":null", out);
	else
		fprintf(out, ",\"noCell\":[%" PRIu64 ",%" PRIu64 "]", h.p->no_cell_count,
		        h.p->no_cell_ns);
	write_locks(&h, &rn);
	write_views(&h);
	write_frames(&h);
	write_functions(&h);
	if (!in->nbase)
		report_htmltime_write(&(struct htmltime){.in = in,
		                                         .out = out,
		                                         .written = h.written,
		                                         .nwritten = h.nwritten,
		                                         .lock_index = &h.lock_index});
	if (in->nbase)
		fprintf(out, ",\n\"diff\":{\"nbase\":%zu}", in->nbase);
	fprintf(out, ",\n\"outOfMemory\":%s}", h.oom ? "true" : "false");
	htmldata_free(&h);
	report_names_free(&rn);
}
