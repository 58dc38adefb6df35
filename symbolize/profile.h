/*
 * profile.h — a symbolized contention profile in memory, shaped like pprof's
 * profile.proto, built by resolve.c from one or more raw dumps and read by
 * every report writer (report_text.c, report_folded.c, report_pprof.c).
 *
 * Tables are arrays indexed from 0; ids in pprof are index + 1.  Strings
 * are owned by the profile (interned: equal strings share one pointer).
 * A location is one distinct return address; its lines are the inline
 * chain at pc - 1, innermost first, the last line being the real function.
 * The sentinel _LostContendedLock is a location of its own with no mapping.
 */
#ifndef LOCKCONTEND_PROFILE_H
#define LOCKCONTEND_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct prof_mapping {
	uint64_t start, limit; /* runtime address range (text segment) */
	uint64_t file_offset;  /* file offset that maps at start */
	const char *file;      /* path as recorded (or as found on disk) */
	const char *build_id;  /* hex, "" if none */
	bool has_functions;    /* symbols were found for it */
	uint64_t load_bias;    /* runtime - ELF address (not in pprof) */
};

struct prof_function {
	const char *name;        /* demangled (unless --no-demangle) */
	const char *system_name; /* linkage name as in the binary */
	const char *file;        /* source file, "" if unknown */
	int64_t start_line;      /* 0 if unknown */
};

struct prof_line {
	uint32_t function;  /* index into functions */
	int64_t line;       /* 0 if unknown */
};

struct prof_location {
	uint64_t address;  /* the return address as recorded */
	int32_t mapping;   /* index into mappings, -1 if none (sentinel, unknown) */
	uint32_t nlines;   /* 0: unsymbolized (shown as module+0xoffset) */
	struct prof_line *lines; /* innermost first */
};

/* Sample value indexes, as Go writes a mutex profile. */
enum { PROF_CONTENTIONS = 0, PROF_DELAY = 1, PROF_NVALUES = 2 };

struct prof_sample {
	uint32_t nlocs;
	uint32_t *locs;    /* indexes into locations, innermost first */
	int64_t value[PROF_NVALUES];
	uint32_t flags;    /* LC_BUCKET_* (truncated, timed out) */
};

struct profile {
	struct prof_mapping *mappings;
	size_t nmappings;
	struct prof_function *functions;
	size_t nfunctions;
	struct prof_location *locations;
	size_t nlocations;
	struct prof_sample *samples;
	size_t nsamples;
	uint64_t time_nanos;     /* start of the earliest dump (wall clock) */
	uint64_t duration_nanos; /* from the earliest start to the latest end */
	int64_t period;          /* 1: values are already scaled by rate */
	char **strings;          /* every string above, owned (a hash set: */
	size_t nstrings_cap;     /* nstrings_cap slots, NULL where empty) */
};

struct dump;
struct resolve_opts;

/* Symbolize and merge ndumps dumps into p (zeroed first).  Each distinct
 * return address is resolved once.  Warnings (one line each) go to warn.
 * Returns 0, or -1 on allocation failure. */
int profile_build(struct profile *p, const struct dump *dumps, size_t ndumps,
                  const struct resolve_opts *o, FILE *warn);
void profile_free(struct profile *p);

/* "module+0xoffset" for an unsymbolized location (ELF address, as
 * eu-addr2line takes it), or "0xaddress" without a mapping. */
void profile_location_label(const struct profile *p, const struct prof_location *l, char *buf,
                            size_t cap);

#endif
