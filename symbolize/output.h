/*
 * output.h — where -o FILE's report goes, and how it gets there.
 *
 * Only a regular file, or a name that does not exist yet, is replaced:
 * the report goes to a temporary file beside it, renamed over it once
 * whole (mode 0666 less the umask), so no reader sees half a report and a
 * failure leaves the old file as it was.  Anything else that exists is
 * written into as it is and never replaced: a FIFO (the open waits for a
 * reader, as a shell's > does), a terminal, /dev/null, /dev/stdout, a
 * process substitution's /dev/fd/N.  A symbolic link is followed, never
 * replaced: what it names gets the same rule, except that a regular file
 * there is rewritten in place (truncated, then written: the link, and the
 * file's inode, owner and mode stay; not atomic).  Refused, with one line:
 * a directory, a socket, a block device, a link to nothing.
 * (docs/safety.md)
 *
 * output_plan looks at FILE before any dump is read, so a refusal comes
 * first; output_open opens it only when the report is ready, so a bad dump
 * ends the run before the open of a FIFO could wait for a reader that
 * never comes.  Each failing call prints one line on stderr.
 */
#ifndef LOCKCONTEND_OUTPUT_H
#define LOCKCONTEND_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct output {
	const char *path;
	bool replace; /* write tmp, rename it over path */
	char *tmp;    /* the temporary file, while it exists */
	FILE *f;
};

/* What to do with path; -1 if it cannot be an output. */
int output_plan(struct output *o, const char *path);

/* Open the stream the report is written to; NULL after the line. */
FILE *output_open(struct output *o);

/* Close the stream; if ok, the report is complete: rename the temporary
 * file over path; otherwise remove it.  -1 if closing or renaming failed. */
int output_close(struct output *o, bool ok);

#endif
