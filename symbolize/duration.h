/*
 * duration.h — a duration as people type it on a command line.
 *
 * "1s", "250ms", "1.5s", "100us", "2m", "30" (seconds): a non-negative
 * decimal number and an optional unit (ns, us, ms, s, m, h).  Anything
 * else is refused, so a typo is one clear line rather than a default.
 */
#ifndef LOCKCONTEND_DURATION_H
#define LOCKCONTEND_DURATION_H

#include <stdint.h>

/* 0 with *ns set, or -1. */
int duration_parse(const char *s, uint64_t *ns);

#endif
