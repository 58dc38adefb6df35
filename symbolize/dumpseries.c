/*
 * dumpseries.c — which of a dump's series can be placed in time, and what
 * they add up to (dumpread.h; the format: dumpfmt.h's LC_REC_SERIES, the
 * design: docs/series.md).
 *
 * A SERIES record is one slot's events over time, and its writer adds
 * every event to it and to its slot's totals together.  So a series is
 * used (PLACED) only when, in every view, its entries add up to its SLOT
 * record's count and delay_ns exactly.  A series read while its thread was
 * adding to it, or whose writer died in the middle of a change, does not
 * (the writer's order of stores sees to that: preload/series.h); neither
 * does one whose entries were damaged.  Such a slot's events are then
 * "not placed in time": the reports say how many, and never spread them
 * over intervals.  Placed series plus what is not placed are the totals,
 * by construction.
 */
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"

long dump_slot_at(const struct dump *d, uint64_t off)
{
	size_t lo = 0, hi = d->nslots; /* offsets grow in file order */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->slot_offsets[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->nslots && d->slot_offsets[lo] == off ? (long)lo : -1;
}

/* Do s's entries add up to slot p's totals, every view? */
static bool series_adds_up(const struct dump_series *s, const struct lc_rec_slot *p)
{
	uint64_t count[LC_NVIEWS] = {0}, delay[LC_NVIEWS] = {0};
	for (size_t i = 0; i < s->n; i++) {
		count[s->entries[i].view] += s->entries[i].count;
		delay[s->entries[i].view] += s->entries[i].delay_ns;
	}
	for (int v = 0; v < LC_NVIEWS; v++)
		if (count[v] != p->count[v] || delay[v] != p->delay_ns[v])
			return false;
	return true;
}

void dump_series_check(struct dump *d)
{
	bool *taken = calloc(d->nslots ? d->nslots : 1, sizeof(*taken));
	for (size_t i = 0; i < d->nseries; i++) {
		struct dump_series *s = &d->series[i];
		if (s->state == DUMP_SERIES_BAD)
			continue;
		long k = dump_slot_at(d, s->slot);
		if (k < 0 || !taken || taken[k])
			s->state = DUMP_SERIES_NO_SLOT;
		else if (!series_adds_up(s, &d->slots[k]))
			s->state = DUMP_SERIES_UNEQUAL;
		else
			s->state = DUMP_SERIES_PLACED;
		if (k >= 0 && taken)
			taken[k] = true;
	}
	free(taken);
}

void dump_series_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns)
{
	*count = *delay_ns = 0;
	for (size_t i = 0; i < d->nseries; i++) {
		const struct dump_series *s = &d->series[i];
		for (size_t k = 0; s->state == DUMP_SERIES_PLACED && k < s->n; k++) {
			if (s->entries[k].view != view)
				continue;
			*count += s->entries[k].count;
			*delay_ns += s->entries[k].delay_ns;
		}
	}
}

bool dump_series_unplaced(const struct dump *d, enum lc_view view, uint64_t *count,
                          uint64_t *delay_ns)
{
	uint64_t sc, sd, tc, td;
	dump_series_sum(d, view, &sc, &sd);
	dump_view_totals(d, view, &tc, &td);
	*count = *delay_ns = 0;
	if (!d->have_totals || sc > tc || sd > td)
		return false;
	*count = tc - sc;
	*delay_ns = td - sd;
	return true;
}

const char *dump_series_state_name(enum dump_series_state s)
{
	static const char *const names[] = {
	    [DUMP_SERIES_PLACED] = "placed",
	    [DUMP_SERIES_UNEQUAL] = "unequal",
	    [DUMP_SERIES_BAD] = "bad",
	    [DUMP_SERIES_NO_SLOT] = "no_slot",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
