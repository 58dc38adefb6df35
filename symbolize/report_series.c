/*
 * report_series.c — the text report's "Contention over time": for each
 * dump with a series (format 3.4, series= on), a sparkline of each busy
 * lock's wait across the run, then the busiest intervals with the locks
 * that waited most in each.
 *
 * Every number is a sum of whole series entries (timeline.h): the grid's
 * cell is as wide as the widest entry, and a sparkline column is a power
 * of two of cells, so no entry is ever split or spread.  A column's mark
 * is its lock's wait there against that lock's own busiest column (each
 * row has its own scale, printed as its peak).  What is not placed in
 * time (a series read while written, or whose writer died in the middle of
 * a change; a slot with no room for one) is said in one line, never drawn.
 * With --kind, only locks of those kinds are shown (the rows without a
 * kind, OTHER and lockcontend's own, are left out).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "timeline.h"
#include "viewkind.h"

#define SERIES_COLUMNS 64 /* at most, in a sparkline */
#define SERIES_ROWS 8     /* locks with a sparkline */
#define SERIES_BUSIEST 10 /* intervals in the table, at most */
#define SERIES_NAME 28    /* columns for a lock's name */

/* One lock of the dump: its wait in each column. */
struct series_row {
	uint64_t lock;
	bool other;
	uint64_t total;
	uint64_t *col;
};

/* A time after the run's start: "0 s", "250 ms", "1.5 s", "2 m 30 s". */
static void series_time(char *buf, size_t cap, uint64_t ns)
{
	if (ns % 1000000000 == 0 && ns < (uint64_t)600000000000)
		snprintf(buf, cap, "%" PRIu64 " s", ns / 1000000000);
	else if (ns < 1000000000)
		snprintf(buf, cap, "%" PRIu64 " ms", ns / 1000000);
	else if (ns < (uint64_t)600000000000)
		snprintf(buf, cap, "%.3g s", (double)ns / 1e9);
	else
		snprintf(buf, cap, "%" PRIu64 " m %" PRIu64 " s", ns / (uint64_t)60000000000,
		         ns / 1000000000 % 60);
}

/* The lock's name as the report prints it; false: a lock --kind leaves out. */
static bool series_lock_name(const struct report_input *in, size_t dump, uint64_t lock, bool other,
                             char *buf, size_t cap)
{
	bool all = viewkind_all_locks(in->profile->kinds);
	const char *name = other || !lock ? NULL : profile_lock_name(in->profile, dump, lock);
	if (other || !lock)
		snprintf(buf, cap, "%s", other ? "(other locks)" : "(lockcontend's own work)");
	else if (name)
		report_name_short(name, buf, cap);
	else
		snprintf(buf, cap, "%#" PRIx64, lock);
	return all || name;
}

/* The WAIT view's locks with their columns (g cells each), busiest first;
 * *n of them.  NULL out of memory. */
static struct series_row *series_rows(const struct timeline *t, uint64_t g, size_t ncols, size_t *n)
{
	struct series_row *r = calloc(t->n ? t->n : 1, sizeof(*r));
	*n = 0;
	for (size_t i = 0; r && i < t->n; i++) {
		const struct timeline_cell *c = &t->cells[i];
		if (c->view != LC_VIEW_WAIT)
			continue;
		size_t k = 0;
		while (k < *n && (r[k].lock != c->lock || r[k].other != c->other))
			k++;
		if (k == *n) {
			r[k] = (struct series_row){.lock = c->lock, .other = c->other};
			if (!(r[k].col = calloc(ncols, sizeof(*r[k].col))))
				return r; /* the rows so far */
			(*n)++;
		}
		r[k].total += c->delay_ns;
		r[k].col[c->cell / g] += c->delay_ns;
	}
	for (size_t i = 0; i < *n; i++) /* busiest first (a few rows: insertion) */
		for (size_t k = i; k > 0 && r[k].total > r[k - 1].total; k--) {
			struct series_row x = r[k];
			r[k] = r[k - 1];
			r[k - 1] = x;
		}
	return r;
}

/* One mark: nothing, or one of eight heights against the peak. */
static const char *series_mark(uint64_t v, uint64_t peak)
{
	static const char *const marks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	if (!v || !peak)
		return " ";
	uint64_t k = (v * 8 - 1) / peak;
	return marks[k > 7 ? 7 : k];
}

static void series_sparklines(const struct report_input *in, size_t dump, struct series_row *r,
                              size_t n, size_t ncols, FILE *out)
{
	char name[256], total[32], peak[32];
	int shown = 0;
	for (size_t i = 0; i < n && shown < SERIES_ROWS; i++) {
		if (!series_lock_name(in, dump, r[i].lock, r[i].other, name, sizeof(name)))
			continue;
		uint64_t top = 0;
		for (size_t c = 0; c < ncols; c++)
			top = r[i].col[c] > top ? r[i].col[c] : top;
		report_duration(total, sizeof(total), r[i].total);
		report_duration(peak, sizeof(peak), top);
		fprintf(out, "  %-*.*s %10s %10s |", SERIES_NAME, SERIES_NAME, name, total, peak);
		for (size_t c = 0; c < ncols; c++)
			fputs(series_mark(r[i].col[c], top), out);
		fprintf(out, "|\n");
		shown++;
	}
}

/* The width of a column: the fewest cells (a power of two) that keep the
 * sparkline within SERIES_COLUMNS. */
static uint64_t series_group(uint64_t ncells)
{
	uint64_t g = 1;
	while ((ncells + g - 1) / g > SERIES_COLUMNS)
		g *= 2;
	return g;
}

/* One cell of the grid, all its locks: the table's row. */
struct series_cell {
	uint64_t cell, wait, count, charged;
};

static int cmp_busy(const void *a, const void *b)
{
	const struct series_cell *x = a, *y = b;
	if (x->wait != y->wait)
		return x->wait > y->wait ? -1 : 1;
	return x->cell < y->cell ? -1 : x->cell > y->cell;
}

/* The three locks that waited most in one cell, "name 1.2 ms, ...". */
static void series_cell_locks(const struct report_input *in, size_t dump, const struct timeline *t,
                              uint64_t cell, char *buf, size_t cap)
{
	const struct timeline_cell *best[3] = {NULL, NULL, NULL};
	for (size_t i = 0; i < t->n; i++) {
		const struct timeline_cell *c = &t->cells[i];
		if (c->cell != cell || c->view != LC_VIEW_WAIT || !c->delay_ns)
			continue;
		for (int k = 0; k < 3; k++)
			if (!best[k] || c->delay_ns > best[k]->delay_ns) {
				memmove(&best[k + 1], &best[k], (size_t)(2 - k) * sizeof(best[0]));
				best[k] = c;
				break;
			}
	}
	size_t len = 0;
	buf[0] = '\0';
	for (int k = 0; k < 3 && best[k] && len < cap; k++) {
		char name[256], d[32];
		if (!series_lock_name(in, dump, best[k]->lock, best[k]->other, name, sizeof(name)))
			continue;
		report_duration(d, sizeof(d), best[k]->delay_ns);
		len += (size_t)snprintf(buf + len, cap - len, "%s%s %s", len ? ", " : "", name, d);
	}
}

/* The busiest cells by wait (every lock), most first. */
static void series_busiest(const struct report_input *in, size_t dump, const struct timeline *t,
                           FILE *out)
{
	struct series_cell *c = calloc(t->n ? t->n : 1, sizeof(*c));
	size_t n = 0;
	for (size_t i = 0; c && i < t->n; i++) {
		const struct timeline_cell *tc = &t->cells[i];
		if (!n || c[n - 1].cell != tc->cell)
			c[n++] = (struct series_cell){.cell = tc->cell};
		if (tc->view == LC_VIEW_WAIT) {
			c[n - 1].wait += tc->delay_ns;
			c[n - 1].count += tc->count;
		} else if (tc->view == LC_VIEW_HOLDER) {
			c[n - 1].charged += tc->delay_ns;
		}
	}
	if (!c)
		return;
	qsort(c, n, sizeof(*c), cmp_busy);
	int rows = in->top < SERIES_BUSIEST ? in->top : SERIES_BUSIEST;
	fprintf(out, "  %-19s %10s %11s %10s  %s\n", "busiest intervals", "wait", "contentions",
	        "charged", "most waited for");
	for (size_t i = 0; i < n && (int)i < rows && c[i].wait; i++) {
		char from[32], to[32], wait[32], charged[32], locks[512];
		series_time(from, sizeof(from), c[i].cell * t->width_ns);
		series_time(to, sizeof(to), (c[i].cell + 1) * t->width_ns);
		report_duration(wait, sizeof(wait), c[i].wait);
		report_duration(charged, sizeof(charged), c[i].charged);
		series_cell_locks(in, dump, t, c[i].cell, locks, sizeof(locks));
		fprintf(out, "  %8s - %-8s %10s %11" PRIu64 " %10s  %s\n", from, to, wait,
		        c[i].count, charged, locks);
	}
	free(c);
}

/* What the series do not place in time, if anything. */
static void series_unplaced(const struct dump *d, FILE *out)
{
	uint64_t count, delay;
	char dur[32];
	if (!dump_series_unplaced(d, LC_VIEW_WAIT, &count, &delay)) {
		fprintf(out,
		        "  (the series hold more than the totals: the file changed while it was "
		        "read)\n");
		return;
	}
	if (!count && !delay) {
		fprintf(out, "  every contention is placed in time\n");
		return;
	}
	report_duration(dur, sizeof(dur), delay);
	fprintf(out,
	        "  %" PRIu64 " contentions (%s) are not placed in time: their thread was recording "
	        "as the file was read, or its writer died in the middle of it, or the file had no "
	        "room for its series\n",
	        count, dur);
}

static void series_dump(const struct report_input *in, size_t i, FILE *out)
{
	const struct dump *d = &in->dumps[i];
	struct timeline t;
	char width[32], end[32];
	if (timeline_build(&t, d) != 0)
		return;
	fprintf(out, "\nContention over time (pid %" PRIu64 ")\n", d->meta.pid);
	if (t.width_ns) {
		uint64_t g = series_group(t.ncells), ncols = (t.ncells + g - 1) / g;
		size_t n = 0;
		struct series_row *r = series_rows(&t, g, ncols, &n);
		series_time(width, sizeof(width), t.width_ns * g);
		series_time(end, sizeof(end), ncols * g * t.width_ns);
		fprintf(out, "  %-*s %10s %10s |wait per %s, from 0 to %s\n", SERIES_NAME, "lock",
		        "wait", "peak", width, end);
		series_sparklines(in, i, r, n, ncols, out);
		for (size_t k = 0; r && k < n; k++)
			free(r[k].col);
		free(r);
		series_busiest(in, i, &t, out);
	} else {
		fprintf(out, "  no series could be placed in time\n");
	}
	series_unplaced(d, out);
	timeline_free(&t);
}

void report_series_write(const struct report_input *in, FILE *out)
{
	for (size_t i = 0; i < in->ndumps; i++)
		if (in->dumps[i].nseries)
			series_dump(in, i, out);
}
