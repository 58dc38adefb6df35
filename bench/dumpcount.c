/*
 * dumpcount.c — how many stacks a lockcontend dump recorded, in one line.
 *
 * usage: dumpcount FILE
 * prints: dumpcount complete=0|1 buckets=N contentions=C lost=L refused=R
 *   buckets     distinct stacks recorded (LC_REC_BUCKET records)
 *   contentions all contention, buckets plus the sentinel (dump_sum of the
 *               waiter view)
 *   lost        contention charged to the waiter view's sentinel instead of
 *               a stack
 *   refused     distinct new stacks the full arena turned away
 *
 * It parses with the project's own reader (symbolize/dumpread.c, linked as
 * build/symbolize/dumpread.o), so the bench never holds a second copy of
 * the format's rules; bench/Makefile builds it only once that object exists.
 */
#include <stdio.h>

#include "dumpread.h"

int main(int argc, char **argv)
{
	struct dump d;
	char err[256];
	uint64_t count, delay, lost, lost_delay;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	if (dump_read_file(argv[1], &d, err, sizeof err)) {
		fprintf(stderr, "dumpcount: %s: %s\n", argv[1], err);
		return 1;
	}
	dump_sum(&d, LC_VIEW_WAIT, &count, &delay);
	dump_lost_sum(&d, LC_VIEW_WAIT, &lost, &lost_delay);
	printf("dumpcount complete=%d buckets=%zu contentions=%llu lost=%llu refused=%llu\n",
	       d.complete, d.nbuckets, (unsigned long long)count, (unsigned long long)lost,
	       (unsigned long long)d.totals.stacks_refused);
	dump_free(&d);
	return 0;
}
