/*
 * dumpcount.c — how many stacks a lockcontend dump recorded, in one line.
 *
 * usage: dumpcount FILE
 * prints: dumpcount complete=0|1 buckets=N contentions=C lost=L refused=R
 *                   holder_buckets=H hold_buckets=K conserved=0|1
 *                   end=trailer|zeros|eof|cut in_flight=F
 *   buckets     distinct waiting stacks recorded (LC_REC_BUCKET records of
 *               the wait view: what test 4 compares with its paths)
 *   contentions all waits, those buckets plus the sentinel (dump_sum)
 *   lost        waits charged to the sentinel instead of a stack
 *   refused     distinct new stacks the full arena turned away (any view)
 *   holder_buckets, hold_buckets  the buckets of the two other views: the
 *               unlockers' stacks, charged with the waiting they ended, and
 *               the sampled hold times; they live in the same arena
 *   conserved   every view adds up to its TOTALS (dump_view_conserved)
 *   end         how the records ended: a trailer (complete), zeros or the
 *               end of the file (a live profile, or its writer died), or cut
 *   in_flight   waits the threads counted that are in no stack yet (a file
 *               without trailer has its totals from the threads' slots)
 *
 * It parses with the project's own reader (symbolize/dumpread.c and the
 * names it uses, linked as build/symbolize/dumpread.o and names.o), so the
 * bench never holds a second copy of the format's rules or names;
 * bench/Makefile builds it only once those objects exist.
 */
#include <stdio.h>

#include "dumpread.h"

int main(int argc, char **argv)
{
	struct dump d;
	char err[256];
	uint64_t count, delay, lost, lost_delay, in_flight, in_flight_delay;
	size_t nview[LC_NVIEWS] = {0};
	int conserved = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	if (dump_read_file(argv[1], &d, err, sizeof err)) {
		fprintf(stderr, "dumpcount: %s: %s\n", argv[1], err);
		return 1;
	}
	for (size_t i = 0; i < d.nbuckets; i++)
		nview[d.buckets[i].view]++; /* the reader checked view < LC_NVIEWS */
	for (int v = 0; v < LC_NVIEWS; v++)
		conserved &= dump_view_conserved(&d, (enum lc_view)v);
	dump_sum(&d, LC_VIEW_WAIT, &count, &delay);
	dump_lost_sum(&d, LC_VIEW_WAIT, &lost, &lost_delay);
	dump_view_in_flight(&d, LC_VIEW_WAIT, &in_flight, &in_flight_delay);
	printf("dumpcount complete=%d buckets=%zu contentions=%llu lost=%llu refused=%llu "
	       "holder_buckets=%zu hold_buckets=%zu conserved=%d end=%s in_flight=%llu\n",
	       d.complete, nview[LC_VIEW_WAIT], (unsigned long long)count, (unsigned long long)lost,
	       (unsigned long long)d.totals.stacks_refused, nview[LC_VIEW_HOLDER],
	       nview[LC_VIEW_HOLD], conserved, dump_end_name(d.end), (unsigned long long)in_flight);
	dump_free(&d);
	return 0;
}
