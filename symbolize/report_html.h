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
 *              hold, maxHold, caused, causedCount, uncharged, lost: [[count,
 *              delay] per view], details: [lines]}], in the text report's
 *              order (most waiting first)
 * A comparison (--diff) adds: "diff": {nbase}, each dump's "side" (base
 * or new), flag 4 on the base run's samples, and each lock's "diff":
 * [[wait, contentions, caused, unlocks, hold, holds] of the base run, the
 * same of the new], matched by name (diff.h).
 * Times are nanoseconds.  A later format adds fields (threads, a time
 * series, a second profile to compare); the viewer ignores those it does
 * not know. */
void report_htmldata_write(const struct report_input *in, FILE *out);

/* The assets (html_assets.c), each NUL-terminated: d3 and d3-flame-graph
 * with their licences (symbolize/html/bundle.sh), the viewer's script and
 * its style sheet.  None holds "</script" or "</style". */
extern const char html_asset_lib[], html_asset_viewer[], html_asset_css[];

#endif
