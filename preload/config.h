/*
 * config.h — the LOCKCONTEND variable, GODEBUG-style.
 *
 *   LOCKCONTEND=rate=10,depth=32,out=app.%p.raw,stacks=1,verbose=1,arena=64M
 *   LOCKCONTEND=holder=1,hold=100   (the holder view; 1 in 100 acquisitions
 *                                    looked at for a hold-time sample)
 *   LOCKCONTEND=signal=USR2         (a snapshot copy of the profile on SIGUSR2)
 *   LOCKCONTEND=inits=0             (no init sites: heap locks are named by
 *                                    where they were first contended)
 *   LOCKCONTEND=waiting=0           (no WAITING records: nothing written before
 *                                    a thread blocks; no "Waiting now")
 *   LOCKCONTEND=series=100ms        (contention over time in 100 ms
 *                                    intervals; series=0: none)
 *   LOCKCONTEND=cond=1              (condition-variable waits recorded, as
 *                                    kind cond: hooks_cond.c)
 *   LOCKCONTEND=off
 *
 * config_parse is a pure function of its input string: it never reads the
 * environment, never allocates, and reports each problem (an unknown key, a
 * bad value) through the warn callback as one line, then keeps the default
 * for that key; after CONFIG_MAX_WARNINGS lines, one last line says the
 * rest was ignored.  The program always runs on.  Called once, from the
 * constructor or from the first recorded contention, whichever comes first.
 */
#ifndef LOCKCONTEND_CONFIG_H
#define LOCKCONTEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_OUT_MAX 1024

#define CONFIG_DEFAULT_RATE 1
#define CONFIG_DEFAULT_DEPTH 64
#define CONFIG_DEFAULT_HOLD 100
#define CONFIG_MAX_DEPTH 256
#define CONFIG_DEFAULT_OUT "lockcontend.%p.raw"
#define CONFIG_DEFAULT_ARENA (32u << 20)
#define CONFIG_MIN_ARENA (4u << 20)
#define CONFIG_MAX_ARENA (16ull << 30)
#define CONFIG_MAX_WARNINGS 8 /* then one "more bad items ignored" line */

struct config {
	bool enabled;             /* false: LOCKCONTEND=off, forwarding only */
	bool stacks;              /* false: every contention goes to the sentinel */
	bool verbose;             /* one summary line on stderr at exit */
	bool holder;              /* charge unlocks with the waiting they end */
	bool inits;               /* note where locks are initialised (initsite.h) */
	bool waiting;             /* show each thread's wait in progress (waiting.h) */
	bool cond;                /* record condition waits (kind cond); default off */
	uint32_t hold;            /* 1 in hold acquisitions sampled for hold time; 0 off */
	int signal;               /* snapshot on this signal (signal=USR2); 0 off */
	uint32_t rate;            /* record 1 in rate contentions, scaled by rate */
	uint32_t depth;           /* frames per stack, 1..CONFIG_MAX_DEPTH */
	uint64_t arena_bytes;     /* the one mmap reserved at start-up */
	uint64_t series_ns;       /* the series' interval (series.h); 0 off */
	char out[CONFIG_OUT_MAX]; /* output pattern: %p pid, %e exe name, %% */
};

typedef void (*config_warn_fn)(const char *line, void *ctx);

void config_defaults(struct config *c);

/* Parse s (may be NULL or empty: defaults) into c.  Returns the number of
 * bad items (more than the lines printed, past CONFIG_MAX_WARNINGS). */
int config_parse(const char *s, struct config *c, config_warn_fn warn, void *ctx);

#endif
