/*
 * fail.h — the one line a failure prints, and the exit status it means.
 *
 * Every function of lockcontend-attach that can fail takes a struct fail
 * and returns -1 after fail_set; main prints the line, prefixed with the
 * program's name, and exits with the status.  The first fail_set wins: the
 * caller nearest the cause says what happened, and a caller further up
 * that fails only because of it does not bury it under a vaguer line.
 *
 * The statuses: FAIL_REFUSED (2) for bad input and for every refusal, after
 * which nothing in the target has changed; FAIL_TARGET (1) for a failure
 * inside the target (a library that does not load, a call that returns an
 * error, a target that exits or crashes while we work in it).
 */
#ifndef LOCKCONTEND_ATTACH_FAIL_H
#define LOCKCONTEND_ATTACH_FAIL_H

#include <stdbool.h>

#define FAIL_TARGET 1
#define FAIL_REFUSED 2

struct fail {
	int status; /* 0 until fail_set */
	char line[1024];
};

/* Fill f (unless already filled) and return -1. */
int fail_set(struct fail *f, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool fail_is_set(const struct fail *f)
{
	return f->status != 0;
}

#endif
