/*
 * report.h — the report writers of lockcontend-symbolize.
 *
 * Each takes the symbolized profile (profile.h) and writes one format to a
 * stdio stream; the caller owns the stream and checks ferror.  The dumps
 * are passed too for what only they know (pid, rate, what was lost, whether
 * a file was complete).
 */
#ifndef LOCKCONTEND_REPORT_H
#define LOCKCONTEND_REPORT_H

#include <stdio.h>

#include "dumpread.h"
#include "profile.h"

struct report_input {
	const struct profile *profile;
	const struct dump *dumps;
	const char *const *paths; /* file of each dump */
	size_t ndumps;
	int top;                  /* rows per table (text) */
	int value;                /* PROF_DELAY or PROF_CONTENTIONS (folded) */
};

void report_text_write(const struct report_input *in, FILE *out);
void report_folded_write(const struct report_input *in, FILE *out);

/* A duration in human units: "812 ns", "3.25 us", "1.50 ms", "2.01 s". */
void report_duration(char *buf, size_t cap, uint64_t ns);

#endif
