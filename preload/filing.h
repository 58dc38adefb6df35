/*
 * filing.h — the profile file, made at the first thing worth keeping
 * (filing.c tells the story).
 */
#ifndef LOCKCONTEND_FILING_H
#define LOCKCONTEND_FILING_H

#include <stdbool.h>
#include <stdint.h>

/* core.filing: where the profile is. */
enum {
	FILING_NONE, /* in memory: no file yet */
	FILING_BUSY, /* moving into its file (one thread) */
	FILING_MADE, /* in its file, mapped */
	FILING_OFF,  /* never a file: its creation failed, or the end came first */
};

/* The slow path of core_filed(): make the file now (or wait, a bounded
 * time, for the thread making it).  Inside the guard.  True once the
 * profile is in its file. */
bool filing_make(void);

/* The same, as an errno value (0: in its file): an attach makes its file at
 * once and says why it could not. */
int filing_make_now(void);

/* The end: no file is made from now on.  The state then: FILING_MADE (the
 * profile is in its file), FILING_OFF (none was made), or FILING_BUSY (a
 * move is still under way after max_ns: the end must not write, and the
 * file, if the mover ever finishes, has no closing records). */
int filing_close(uint64_t max_ns);

/* fork's prepare handler: a move under way is waited for (max_ns at most),
 * so that the child inherits no descriptor of ours. */
void filing_fork_prepare(uint64_t max_ns);

#endif
