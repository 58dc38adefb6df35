/*
 * timeline.c — a dump's contention over time (see timeline.h): the grid of
 * the text report, and the windows of --from and --to.
 *
 * Only placed series are read (their entries add up to their slots'
 * totals: dumpseries.c).  Every number is a sum of whole entries.
 */
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

/* Every entry e of d's placed series. */
#define FOR_PLACED(d, e)                                                           \
	for (size_t si_ = 0; si_ < (d)->nseries; si_++)                            \
		for (const struct dump_series_entry *e = (d)->series[si_].entries; \
		     (d)->series[si_].state == DUMP_SERIES_PLACED &&               \
		     e < (d)->series[si_].entries + (d)->series[si_].n;            \
		     e++)

uint64_t timeline_extent_ns(const struct dump *d)
{
	const struct lc_rec_meta *m = &d->meta;
	if (m->end_mono_ns > m->start_mono_ns)
		return m->end_mono_ns - m->start_mono_ns;
	uint64_t end = 0;
	FOR_PLACED(d, e)
	{
		if (e->end_ns > end)
			end = e->end_ns;
	}
	return end;
}

static int cmp_cell(const void *a, const void *b)
{
	const struct timeline_cell *x = a, *y = b;
	if (x->cell != y->cell)
		return x->cell < y->cell ? -1 : 1;
	if (x->view != y->view)
		return x->view < y->view ? -1 : 1;
	if (x->other != y->other)
		return x->other < y->other ? -1 : 1;
	return x->lock < y->lock ? -1 : x->lock > y->lock;
}

/* Sorted, and equal (cell, view, other, lock) added up. */
static size_t merge_cells(struct timeline_cell *c, size_t n)
{
	qsort(c, n, sizeof(*c), cmp_cell);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && cmp_cell(&c[k - 1], &c[i]) == 0) {
			c[k - 1].count += c[i].count;
			c[k - 1].delay_ns += c[i].delay_ns;
		} else {
			c[k++] = c[i];
		}
	}
	return k;
}

int timeline_build(struct timeline *t, const struct dump *d)
{
	memset(t, 0, sizeof(*t));
	size_t n = 0;
	FOR_PLACED(d, e)
	{
		n++;
		if (e->end_ns - e->start_ns > t->width_ns)
			t->width_ns = e->end_ns - e->start_ns;
	}
	if (!t->width_ns)
		return 0;
	if (!(t->cells = calloc(n, sizeof(*t->cells))))
		return -1;
	uint64_t last = 0;
	FOR_PLACED(d, e)
	{
		t->cells[t->n++] = (struct timeline_cell){.cell = e->start_ns / t->width_ns,
		                                          .lock = e->lock,
		                                          .count = e->count,
		                                          .delay_ns = e->delay_ns,
		                                          .view = e->view,
		                                          .other = e->other};
		last = e->end_ns > last ? e->end_ns : last;
	}
	t->n = merge_cells(t->cells, t->n);
	uint64_t extent = timeline_extent_ns(d);
	extent = extent > last ? extent : last;
	t->ncells = extent / t->width_ns + (extent % t->width_ns != 0);
	return 0;
}

void timeline_free(struct timeline *t)
{
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

bool timeline_widen(const struct dump *d, uint64_t *from, uint64_t *to)
{
	bool widened = false, changed = true;
	while (changed) {
		changed = false;
		FOR_PLACED(d, e)
		{
			if (e->start_ns < *from && *from < e->end_ns) {
				*from = e->start_ns;
				changed = true;
			}
			if (e->start_ns < *to && *to < e->end_ns) {
				*to = e->end_ns;
				changed = true;
			}
		}
		widened |= changed;
	}
	return widened;
}

static int cmp_sum(const void *a, const void *b)
{
	const struct timeline_sum *x = a, *y = b;
	if (x->view != y->view)
		return x->view < y->view ? -1 : 1;
	if (x->other != y->other)
		return x->other < y->other ? -1 : 1;
	if (x->lock != y->lock)
		return x->lock < y->lock ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

int timeline_sums(const struct dump *d, uint64_t from, uint64_t to, struct timeline_sum **out,
                  size_t *n)
{
	size_t cap = 0, k = 0;
	FOR_PLACED(d, e)
	{
		cap++;
	}
	struct timeline_sum *s = calloc(cap ? cap : 1, sizeof(*s));
	*out = s;
	*n = 0;
	if (!s)
		return -1;
	FOR_PLACED(d, e)
	{
		if (e->start_ns < from || e->end_ns > to)
			continue;
		s[k++] = (struct timeline_sum){.lock = e->lock,
		                               .stack = e->stack,
		                               .count = e->count,
		                               .delay_ns = e->delay_ns,
		                               .view = e->view,
		                               .other = e->other};
	}
	qsort(s, k, sizeof(*s), cmp_sum);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m && cmp_sum(&s[m - 1], &s[i]) == 0) {
			s[m - 1].count += s[i].count;
			s[m - 1].delay_ns += s[i].delay_ns;
		} else {
			s[m++] = s[i];
		}
	}
	*n = m;
	return 0;
}

struct timeline_sum *timeline_sum_find(struct timeline_sum *s, size_t n, uint8_t view,
                                       uint64_t lock, uint64_t stack)
{
	struct timeline_sum key = {.lock = lock, .stack = stack, .view = view};
	return bsearch(&key, s, n, sizeof(*s), cmp_sum);
}
