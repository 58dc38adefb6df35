/*
 * dumpwrite.h — write a raw dump (format: include/lockcontend/dumpfmt.h).
 *
 * Runs at exit inside the recursion guard, with the recorder stopped: it
 * uses no malloc and no stdio, only open/write/renameat2 on a static
 * buffer.  Not reentrant (one static buffer): only the dumper calls it.
 *
 * File protocol: the dump is written to a temporary file in the target's
 * directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), then renamed into place
 * with RENAME_NOREPLACE, so a reader never sees a half-written file under
 * the final name and nobody's file is ever overwritten: if the name is
 * taken, ".1", ".2", ... are tried.
 */
#ifndef LOCKCONTEND_DUMPWRITE_H
#define LOCKCONTEND_DUMPWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "lockcontend/dumpfmt.h"
#include "lockstate.h"
#include "modmap.h"
#include "stacktab.h"

struct dump_input {
	struct lc_rec_meta meta;  /* exe_len is filled in by the writer */
	const char *exe;
	const struct modmap *modmap;
	const struct stacktab *tab;
	const struct lockstate *locks;
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
	struct lc_rec_totals totals; /* buckets, modules, locks are counted here */
};

/* Expand %p (pid), %e (basename of exe) and %% in pattern.  Returns the
 * length, or 0 if the result does not fit in cap. */
size_t dumpwrite_expand(const char *pattern, uint64_t pid, const char *exe, char *out, size_t cap);

/* Write the whole dump to fd.  Returns 0, or an errno value. */
int dumpwrite_fd(int fd, const struct dump_input *in);

/* Expand pattern, write, rename into place.  On success returns 0 and the
 * final name in path; on failure returns -1 with one line in err. */
int dumpwrite_file(const char *pattern, const struct dump_input *in, char *path, size_t path_cap,
                   char *err, size_t err_cap);

#endif
