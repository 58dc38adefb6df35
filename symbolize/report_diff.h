/*
 * report_diff.h — the writers of a comparison of two runs
 * (`lockcontend-symbolize --diff BASE... -- NEW...`, docs/diff.md).
 *
 * A comparison has each run as the reports know it (report_input: its
 * profile, dumps, files and what became of their writers) and the matched
 * locks and stacks (diff.h).  The text writer is report_diff.c; the HTML
 * page and pprof take the runs' dumps merged into one profile, each sample
 * marked with its run by its dump's index (nbase: the dumps before it are
 * the base's), so that their frames are one table (report_html.h,
 * report_pprof.h).
 */
#ifndef LOCKCONTEND_REPORT_DIFF_H
#define LOCKCONTEND_REPORT_DIFF_H

#include <stdio.h>

#include "diff.h"
#include "report.h"

struct diff_input {
	struct report_input side[DIFF_NSIDES]; /* each run on its own */
	const struct diff *diff;
	enum diff_match match;
	int top;  /* rows per table */
	int view; /* enum lc_view; < 0: waiter and holder */
};

/* The text comparison: what each run was (and whether their lengths or
 * rates differ), the locks by wait in each run with the change, then per
 * view the stacks that grew and shrank most, new and vanished marked. */
void report_diff_text_write(const struct diff_input *in, FILE *out);

/* The run length of one side, as its profile has it (earliest start to
 * latest end of its dumps); 0: not known (no dump ended cleanly). */
uint64_t report_diff_run_ns(const struct report_input *side);

#endif
