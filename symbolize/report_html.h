/*
 * report_html.h — what the HTML report's two halves share: the page
 * (report_html.c) and the data it carries (report_htmldata.c), and the
 * scripts and style sheet built into the symbolizer (html_assets.c).
 *
 * report_html_write (report.h) is the entry point; these are its parts,
 * exported for it and for the tests.
 */
#ifndef LOCKCONTEND_REPORT_HTML_H
#define LOCKCONTEND_REPORT_HTML_H

#include <stdio.h>

#include "map64.h"
#include "report.h"

/* The viewer's data, one JSON object (jsonw.h: safe inside <script>).
 * Format 1, read by symbolize/html/viewer.js:
 *   format     1
 *   title      "EXE (pid N)", or "N dumps: EXE, ..."
 *   dumps      [{exe, pid, path, state, partial, header: [lines]}]: state is
 *              complete, exec, snapshot, detached, live, died, unclosed or
 *              unknown (no status asked); header as the text report words it
 *   notes      [lines]: the all-dumps total, the --kind filter
 *   waiting    [lines] of the text report's "Waiting now", deadlocks first
 *   deadlocks  how many
 *   series     [lines] of its contention over time
 *   holderRecorded, lockFrames   booleans
 *   noCell     [count, delay] of _NotChargedToHolder's waiting, the waits
 *              that found no free waiter cell on their lock (past 16 at
 *              once; the rest is wake-up latency); null: a dump before 3.12
 *              does not say
 *   fn         [[name, file, special]]: every function, then the labels of
 *              unsymbolized frames (module+0xoffset, file ""); special is
 *              "lost" (_LostContendedLock), "uncharged" (_NotChargedToHolder)
 *              or ""
 *   frames     [[fn, line, inlined]]: a frame of a stack (inlined 1: inlined
 *              into the frame outside it)
 *   views      [waiter, holder, hold], each {samples: [[lock, count, delay,
 *              max, flags, frame...]]} with the frames outermost first,
 *              lock an index into locks (-1: a pseudo-sample), flags
 *              LC_BUCKET_TRUNCATED (1) and LC_BUCKET_TIMEDOUT (2); null for
 *              a view --view left out
 *   outOfMemory  true if a frame could not be stored (its stacks are wrong)
 *   locks      [{name, kind, wait, count, maxWait, timeouts, trylock, holds,
 *              hold, maxHold, caused, causedCount, uncharged, noCell: [count,
 *              delay] of uncharged past 16 at once, lost: [[count,
 *              delay] per view], details: [lines]}], in the text report's
 *              order (most waiting first)
 * A comparison (--diff) adds: "diff": {nbase}, each dump's "side" (base
 * or new), flag 4 on the base run's samples, and each lock's "diff":
 * [[wait, contentions, caused, unlocks, hold, holds] of the base run, the
 * same of the new], matched by name (diff.h).
 * Threads and time (report_htmltime.c):
 *   threads    [{dump, tid, name, ended, count, wait, causedCount, caused,
 *              holds, hold}]: each thread whose own figures are known
 *              (THREAD records, 3.7), in file order
 *   threadsRest  per view, [count, delay] of no thread above (threads that
 *              shared the overflow slot, a file before 3.7...)
 *   threadsKnown a dump had THREAD records; threadsFit: the rest could be
 *              worked out (false: the file changed while it was read)
 *   timeline   [{dump, width, ncells, unplaced: [count, delay], e: [cell,
 *              view, lock, sample, thread, count, delay, ...]}]: a dump's
 *              placed series entries, 7 numbers each, on a grid of ncells
 *              cells `width` ns wide from its start; sample indexes
 *              views[view].samples (-1: no bucket has its stack; -2: an
 *              OTHER entry, stacks not told apart), lock the
 *              locks (-1: none), thread the threads (-1: not told apart)
 * Times are nanoseconds.  A later format adds fields; the viewer ignores
 * those it does not know. */
void report_htmldata_write(const struct report_input *in, FILE *out);

/* What report_htmltime_write needs of report_htmldata.c: the samples it
 * wrote (each with its index in its view's samples) and the lock rows by
 * name (the name's pointer, as in the samples). */
struct htmltime_sample {
	const struct prof_sample *s;
	uint32_t index;
};
struct htmltime {
	const struct report_input *in;
	FILE *out;
	const struct htmltime_sample *written;
	size_t nwritten;
	const struct map64 *lock_index;
};
void report_htmltime_write(const struct htmltime *ht);

/* The assets (html_assets.c), each NUL-terminated: d3 and d3-flame-graph
 * with their licences (symbolize/html/bundle.sh), the viewer's script and
 * its style sheet.  None holds "</script" or "</style". */
extern const char html_asset_lib[], html_asset_viewer[], html_asset_css[];

#endif
